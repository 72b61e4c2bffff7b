//! SNTP (RFC 4330): ask a time server for UTC, then now and then again,
//! and keep the offset between the stack's clock and UTC, for a wall clock
//! ([`SntpClock`]) that the time-echo server reads. A board that boots at
//! 1970 then stamps lines with today's date.
//!
//! One request at a time, from an ephemeral UDP port, to the server's port
//! 123. A reply counts only if it answers that request (its originate
//! timestamp is the transmit timestamp sent, RFC 4330 section 5), comes
//! from a server (mode 4) that is synchronised (leap indicator not 3,
//! stratum 1 to 15) and carries a transmit time. A kiss-of-death (stratum
//! 0) or silence backs off. The offset is the RFC's
//! `((T2 - T1) + (T3 - T4)) / 2`, with T1 and T4 read from the stack's
//! clock, so it maps [`Instant`]s to UTC milliseconds.
//!
//! Layer: app. Depends on [`crate::socket::UdpSocket`] and
//! [`super::clock`]; no heap.

use core::cell::Cell;
use core::fmt::Write as _;

use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpEndpoint;

use super::clock::{DateTime, WallClock};
use super::{LOG_LINES, LogRing, Service};
use crate::net::Stack;
use crate::socket::{Error, UdpSocket};

/// NTP's UDP port.
pub const NTP_PORT: u16 = 123;
/// Seconds from NTP's epoch (1900) to Unix's (1970).
const NTP_TO_UNIX: i64 = 2_208_988_800;
/// An NTP packet without extensions or authentication.
const PACKET: usize = 48;
/// The first tries, until an answer: this often, then doubling.
const RETRY: Duration = Duration::from_secs(2);
/// The longest wait between tries when nobody answers.
const RETRY_MAX: Duration = Duration::from_secs(64);
/// Once synchronised, how often to ask again (RFC 4330 asks for no less
/// than 15 s; clocks of boards drift by seconds a day).
const RESYNC: Duration = Duration::from_secs(1024);

/// The offset an [`Sntp`] client keeps: UTC milliseconds at
/// `Instant::ZERO`, once a server has answered. Shared by reference
/// between the client and the clocks that read it.
///
/// ```
/// use layernet::app::sntp::Offset;
/// let offset = Offset::new();
/// assert_eq!(offset.get(), None, "nobody answered yet");
/// ```
#[derive(Debug, Default)]
pub struct Offset(Cell<Option<i64>>);

impl Offset {
    /// No time yet.
    pub const fn new() -> Self {
        Offset(Cell::new(None))
    }

    /// UTC milliseconds at `Instant::ZERO`, if known.
    ///
    /// ```
    /// use layernet::app::sntp::Offset;
    /// assert!(Offset::default().get().is_none());
    /// ```
    pub fn get(&self) -> Option<i64> {
        self.0.get()
    }

    /// The UTC time at `now`, in milliseconds since 1970, if known.
    ///
    /// ```
    /// use layernet::{Instant, app::sntp::Offset};
    /// let offset = Offset::new();
    /// assert_eq!(offset.unix_millis(Instant::from_secs(5)), None);
    /// ```
    pub fn unix_millis(&self, now: Instant) -> Option<i64> {
        self.get().map(|o| o + now.total_millis())
    }
}

/// A wall clock that reads an [`Offset`] once there is one, and `F`
/// before that (a board's [`crate::board::Uptime`], say).
///
/// ```
/// use layernet::{Instant, app::clock::{FixedEpoch, WallClock}, app::sntp::{Offset, SntpClock}};
/// let offset = Offset::new();
/// let mut clock = SntpClock::new(&offset, FixedEpoch { epoch: 0 });
/// assert_eq!(clock.datetime(Instant::from_secs(61)).minute, 1, "the fallback until synchronised");
/// ```
pub struct SntpClock<'o, F> {
    offset: &'o Offset,
    fallback: F,
}

impl<'o, F: WallClock> SntpClock<'o, F> {
    /// A clock on `offset`, with `fallback` until it is known.
    ///
    /// ```
    /// use layernet::{Instant, app::clock::WallClock, app::sntp::{Offset, SntpClock}, board::Uptime};
    /// let offset = Offset::new();
    /// // A board without a real-time clock: 1970 until a server answers.
    /// let mut clock = SntpClock::new(&offset, Uptime);
    /// assert_eq!(clock.datetime(Instant::from_secs(5)).year, 1970);
    /// ```
    pub fn new(offset: &'o Offset, fallback: F) -> Self {
        SntpClock { offset, fallback }
    }
}

impl<F: WallClock> WallClock for SntpClock<'_, F> {
    fn datetime(&mut self, now: Instant) -> DateTime {
        match self.offset.unix_millis(now) {
            Some(ms) => DateTime::from_unix(ms.div_euclid(1000)),
            None => self.fallback.datetime(now),
        }
    }
}

/// The SNTP client, a [`Service`]: it asks `server` and keeps `offset`.
/// Its log says when it synchronised, from whom, and by how much.
///
/// # Example
///
/// No server answers on a simulated segment; the client keeps asking,
/// less and less often, and the offset stays unknown:
///
/// ```
/// use layernet::{Duration, app::sntp::{NTP_PORT, Offset, Sntp}, host::sim::{SimNet, endpoint}};
/// let (mut net, server, client) = SimNet::pair(3)?;
/// let offset: &'static Offset = Box::leak(Box::new(Offset::new()));
/// let sntp: Sntp<'static> = Sntp::new(endpoint(server, NTP_PORT), offset);
/// net.serve(client, Box::new(sntp));
/// net.run_for(Duration::from_secs(5));
/// assert!(offset.get().is_none(), "nothing listens on port 123 there");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Sntp<'o, const LOG: usize = LOG_LINES> {
    server: IpEndpoint,
    offset: &'o Offset,
    socket: Option<UdpSocket>,
    /// When the next request goes out.
    next: Instant,
    /// The request in flight: when it left, and the transmit timestamp
    /// it carried (the reply must echo it).
    pending: Option<(Instant, [u8; 8])>,
    /// The current wait between tries without an answer.
    backoff: Duration,
    log: LogRing<LOG>,
}

impl<'o, const LOG: usize> Sntp<'o, LOG> {
    /// A client of `server` (port [`NTP_PORT`], as a rule), keeping
    /// `offset`. It binds its socket at its first poll.
    ///
    /// ```
    /// use layernet::app::sntp::{NTP_PORT, Offset, Sntp};
    /// use layernet::{IpAddress, IpEndpoint, Ipv4Address};
    /// let offset = Offset::new();
    /// let server = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 100)), NTP_PORT);
    /// let sntp: Sntp<'_> = Sntp::new(server, &offset);
    /// assert_eq!(sntp.server().port, 123);
    /// ```
    pub fn new(server: IpEndpoint, offset: &'o Offset) -> Self {
        Sntp {
            server,
            offset,
            socket: None,
            next: Instant::ZERO,
            pending: None,
            backoff: RETRY,
            log: LogRing::new(),
        }
    }

    /// The server asked.
    ///
    /// ```
    /// use layernet::{app::sntp::{Offset, Sntp}, host::sim::endpoint};
    /// let offset = Offset::new();
    /// let sntp: Sntp<'_> = Sntp::new(endpoint(0, 123), &offset);
    /// assert_eq!(sntp.server(), endpoint(0, 123));
    /// ```
    pub fn server(&self) -> IpEndpoint {
        self.server
    }

    fn request(&mut self, stack: &mut Stack<'_>, now: Instant) {
        let socket = match &mut self.socket {
            Some(s) => s,
            None => match UdpSocket::bind(stack, 0) {
                Ok(s) => self.socket.insert(s),
                Err(e) => {
                    self.log.push(format_args!("sntp: no UDP socket ({e})"));
                    self.next = now + RETRY_MAX;
                    return;
                }
            },
        };
        // The transmit timestamp only has to come back unchanged: the
        // stack's clock in NTP's format, which no other client sends.
        let ms = now.total_millis().max(0) as u64;
        let mut stamp = [0u8; 8];
        stamp[..4].copy_from_slice(&((ms / 1000) as u32).to_be_bytes());
        stamp[4..].copy_from_slice(&((((ms % 1000) << 32) / 1000) as u32).to_be_bytes());
        let mut packet = [0u8; PACKET];
        packet[0] = (4 << 3) | 3; // LI 0, version 4, mode 3 (client)
        packet[40..48].copy_from_slice(&stamp);
        match socket.send_to(stack, &packet, self.server) {
            Ok(()) => self.pending = Some((now, stamp)),
            Err(Error::WouldBlock) => {}
            Err(e) => self
                .log
                .push(format_args!("sntp: {} unreachable ({e})", self.server)),
        }
        self.next = now + self.backoff;
        self.backoff = (self.backoff * 2).min(RETRY_MAX);
    }

    /// Take a reply, if it answers the pending request.
    fn receive(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let Some(socket) = &mut self.socket else {
            return false;
        };
        let mut buf = [0u8; PACKET];
        let mut moved = false;
        // Bounded: the socket's queue holds a few datagrams at most.
        for _ in 0..8 {
            let (n, from) = match socket.recv_from(stack, &mut buf) {
                Ok(got) => got,
                Err(Error::Truncated) => continue,
                Err(_) => break,
            };
            moved = true;
            let Some((sent, stamp)) = self.pending else {
                continue;
            };
            if from != self.server || n < PACKET {
                continue;
            }
            match parse_reply(&buf, &stamp) {
                Reply::Time {
                    received,
                    transmitted,
                } => {
                    let t1 = sent.total_millis();
                    let t4 = now.total_millis();
                    let offset = ((received - t1) + (transmitted - t4)) / 2;
                    let first = self.offset.get().is_none();
                    self.offset.0.set(Some(offset));
                    self.pending = None;
                    self.backoff = RETRY;
                    self.next = now + RESYNC;
                    let mut line: heapless::String<96> = heapless::String::new();
                    let _ = write!(
                        line,
                        "sntp: {} UTC from {} (round trip {} ms)",
                        DateTime::from_unix((offset + t4).div_euclid(1000)),
                        from.addr,
                        t4 - t1,
                    );
                    if first {
                        let _ = line.push_str(", first time");
                    }
                    self.log.push(format_args!("{line}"));
                }
                Reply::KissOfDeath => {
                    // RFC 4330 section 8: stop asking this server so often.
                    self.pending = None;
                    self.backoff = RETRY_MAX;
                    self.next = now + RETRY_MAX;
                    self.log.push(format_args!(
                        "sntp: {} says go away (kiss-of-death)",
                        from.addr
                    ));
                }
                Reply::Ignored => {}
            }
        }
        moved
    }
}

/// What a datagram from the server says.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// The server's receive (T2) and transmit (T3) times, in Unix ms.
    Time {
        received: i64,
        transmitted: i64,
    },
    KissOfDeath,
    /// Not an answer to the request, or not one to trust.
    Ignored,
}

fn parse_reply(p: &[u8; PACKET], sent: &[u8; 8]) -> Reply {
    let leap = p[0] >> 6;
    let version = (p[0] >> 3) & 7;
    let mode = p[0] & 7;
    let stratum = p[1];
    if mode != 4 || !(1..=4).contains(&version) || p[24..32] != sent[..] {
        return Reply::Ignored;
    }
    if stratum == 0 {
        return Reply::KissOfDeath;
    }
    let (Some(received), Some(transmitted)) = (ntp_millis(&p[32..40]), ntp_millis(&p[40..48]))
    else {
        return Reply::Ignored;
    };
    if leap == 3 || stratum > 15 {
        return Reply::Ignored;
    }
    Reply::Time {
        received,
        transmitted,
    }
}

/// An NTP timestamp as Unix milliseconds; `None` for zero (no time). The
/// era is taken as the one that holds 1970 to 2106, as RFC 4330 section 3
/// suggests for the years around now.
fn ntp_millis(t: &[u8]) -> Option<i64> {
    let secs = u32::from_be_bytes([t[0], t[1], t[2], t[3]]);
    let frac = u32::from_be_bytes([t[4], t[5], t[6], t[7]]);
    if secs == 0 && frac == 0 {
        return None;
    }
    // Era 1 (from 2036) when the top bit is clear, era 0 otherwise.
    let secs = if secs & 0x8000_0000 == 0 {
        i64::from(secs) + (1 << 32)
    } else {
        i64::from(secs)
    };
    Some((secs - NTP_TO_UNIX) * 1000 + ((i64::from(frac) * 1000) >> 32))
}

impl<const LOG: usize> Service for Sntp<'_, LOG> {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let moved = self.receive(stack, now);
        if now >= self.next {
            self.request(stack, now);
            return true;
        }
        moved
    }

    fn poll_at(&self) -> Option<Instant> {
        Some(self.next)
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.log.drain(sink);
    }

    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        if let Some(s) = self.socket.take() {
            s.close(stack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(sent: [u8; 8], stratum: u8, t2: u32, t3: u32) -> [u8; PACKET] {
        let mut p = [0u8; PACKET];
        p[0] = (4 << 3) | 4;
        p[1] = stratum;
        p[24..32].copy_from_slice(&sent);
        p[32..36].copy_from_slice(&t2.to_be_bytes());
        p[40..44].copy_from_slice(&t3.to_be_bytes());
        p
    }

    // 2026-12-05 00:00:00 UTC in NTP seconds.
    const T: u32 = (1_764_892_800 + NTP_TO_UNIX) as u32;

    #[test]
    fn a_good_reply_gives_both_times() {
        let sent = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            parse_reply(&reply(sent, 2, T, T + 1), &sent),
            Reply::Time {
                received: 1_764_892_800_000,
                transmitted: 1_764_892_801_000
            }
        );
    }

    #[test]
    fn replies_not_to_trust() {
        let sent = [9; 8];
        // Not our request's.
        assert_eq!(parse_reply(&reply([8; 8], 2, T, T), &sent), Reply::Ignored);
        // Kiss-of-death.
        assert_eq!(
            parse_reply(&reply(sent, 0, T, T), &sent),
            Reply::KissOfDeath
        );
        // Unsynchronised (leap indicator 3), or no transmit time.
        let mut p = reply(sent, 2, T, T);
        p[0] |= 3 << 6;
        assert_eq!(parse_reply(&p, &sent), Reply::Ignored);
        assert_eq!(parse_reply(&reply(sent, 2, T, 0), &sent), Reply::Ignored);
        // A client's packet, not a server's.
        let mut p = reply(sent, 2, T, T);
        p[0] = (4 << 3) | 3;
        assert_eq!(parse_reply(&p, &sent), Reply::Ignored);
    }

    #[test]
    fn the_era_of_2036() {
        // NTP second 1 of era 1 is 2036-02-07 06:28:17 UTC.
        assert_eq!(
            ntp_millis(&[0, 0, 0, 1, 0, 0, 0, 0]),
            Some(2_085_978_497_000)
        );
        assert_eq!(ntp_millis(&[0; 8]), None);
    }
}
