//! iperf3's UDP streams, both ends: the connect handshake, the header of
//! each data datagram, the receiver's counts (packets, loss, out of
//! order, jitter) and the sender's pacing. Bytes and clocks in, figures
//! out; no sockets (the server in [`super`] and the host's client wire
//! them to theirs).
//!
//! Layer: app. Depends on `core` and smoltcp's time only; no std, no
//! alloc.
//!
//! As iperf3 3.12's `iperf_udp.c` does it:
//! - a stream opens with one datagram of 4 bytes from the client to the
//!   server's port; the server answers from that port with 4 bytes. Both
//!   are a C `int` in the sender's byte order: 3.12 sends 0x36373839 and
//!   takes 0x39383736 or the legacy 987654321 (older clients send
//!   123456789);
//! - each data datagram starts with the send time (seconds, microseconds,
//!   32 bits each) and a sequence number from 1 (32 bits, or 64 with
//!   `--udp-counters-64bit`), all big-endian;
//! - the receiver counts a gap in the sequence as lost, a number at or
//!   under the highest seen as out of order (and one loss fewer), and
//!   keeps RFC 3550's jitter: `J += (|D| - J) / 16`.

use smoltcp::time::{Duration, Instant};

/// iperf3 3.12's connect message, as a C `int`.
pub const CONNECT_MSG: u32 = 0x3637_3839;
/// Its reply.
pub const CONNECT_REPLY: u32 = 0x3938_3736;
/// The connect message of iperf3 before 3.11.
pub const LEGACY_CONNECT_MSG: u32 = 123_456_789;
/// Its reply, which 3.12 still takes.
pub const LEGACY_CONNECT_REPLY: u32 = 987_654_321;

/// The reply to a stream's first datagram `msg`, in the byte order the
/// client wrote it in (iperf3 writes a native `int`; the server cannot
/// know the client's machine but by its message).
///
/// ```
/// use layernet::app::iperf3::udp::{connect_reply, CONNECT_MSG, CONNECT_REPLY};
/// // An x86 client (little-endian) and a big-endian one.
/// assert_eq!(connect_reply(&CONNECT_MSG.to_le_bytes()), CONNECT_REPLY.to_le_bytes());
/// assert_eq!(connect_reply(&CONNECT_MSG.to_be_bytes()), CONNECT_REPLY.to_be_bytes());
/// assert_eq!(connect_reply(&123_456_789u32.to_le_bytes()), 987_654_321u32.to_le_bytes());
/// ```
pub fn connect_reply(msg: &[u8]) -> [u8; 4] {
    let word = match msg {
        [a, b, c, d, ..] => [*a, *b, *c, *d],
        _ => [0; 4],
    };
    if u32::from_be_bytes(word) == CONNECT_MSG {
        CONNECT_REPLY.to_be_bytes()
    } else if u32::from_be_bytes(word) == LEGACY_CONNECT_MSG {
        LEGACY_CONNECT_REPLY.to_be_bytes()
    } else if u32::from_le_bytes(word) == LEGACY_CONNECT_MSG {
        LEGACY_CONNECT_REPLY.to_le_bytes()
    } else {
        // 3.12 in little-endian (x86, ARM), or a message iperf3 never
        // sends: the reply of today's clients on today's machines.
        CONNECT_REPLY.to_le_bytes()
    }
}

/// Whether `reply` (a datagram the client received) is the server's
/// answer to [`CONNECT_MSG`], in either byte order, legacy or not.
///
/// ```
/// use layernet::app::iperf3::udp::{is_connect_reply, CONNECT_REPLY};
/// assert!(is_connect_reply(&CONNECT_REPLY.to_le_bytes()));
/// assert!(is_connect_reply(&987_654_321u32.to_be_bytes()));
/// assert!(!is_connect_reply(&[0; 16]));
/// ```
pub fn is_connect_reply(reply: &[u8]) -> bool {
    let Ok(word) = <[u8; 4]>::try_from(reply) else {
        return false;
    };
    [CONNECT_REPLY, LEGACY_CONNECT_REPLY]
        .iter()
        .any(|r| r.to_le_bytes() == word || r.to_be_bytes() == word)
}

/// The header's length: 12 bytes, or 16 with 64-bit counters.
///
/// ```
/// assert_eq!(layernet::app::iperf3::udp::header_len(true), 16);
/// ```
pub fn header_len(counters64: bool) -> usize {
    if counters64 { 16 } else { 12 }
}

/// Write a data datagram's header (send time `now`, sequence number
/// `seq`) at the start of `datagram`; false if it is shorter than the
/// header.
///
/// ```
/// use layernet::app::iperf3::udp::{read_header, write_header};
/// use layernet::Instant;
/// let mut d = [0u8; 64];
/// assert!(write_header(&mut d, Instant::from_micros(3_000_250), 7, false));
/// assert_eq!(&d[..12], [0, 0, 0, 3, 0, 0, 0, 250, 0, 0, 0, 7]);
/// assert_eq!(read_header(&d, false), Some((3_000_250, 7)));
/// ```
pub fn write_header(datagram: &mut [u8], now: Instant, seq: u64, counters64: bool) -> bool {
    let Some(head) = datagram.get_mut(..header_len(counters64)) else {
        return false;
    };
    let us = now.total_micros().max(0);
    let secs = u32::try_from(us / 1_000_000).unwrap_or(u32::MAX);
    let micros = u32::try_from(us % 1_000_000).unwrap_or(0);
    head[..4].copy_from_slice(&secs.to_be_bytes());
    head[4..8].copy_from_slice(&micros.to_be_bytes());
    if counters64 {
        head[8..16].copy_from_slice(&seq.to_be_bytes());
    } else {
        // iperf3 wraps its 32-bit counter too.
        head[8..12].copy_from_slice(&(seq as u32).to_be_bytes());
    }
    true
}

/// A data datagram's send time (in microseconds) and sequence number, or
/// `None` if it is shorter than the header.
///
/// ```
/// use layernet::app::iperf3::udp::read_header;
/// assert_eq!(read_header(&[0; 11], false), None);
/// let mut d = [0u8; 16];
/// d[15] = 9;
/// assert_eq!(read_header(&d, true), Some((0, 9)));
/// ```
pub fn read_header(datagram: &[u8], counters64: bool) -> Option<(i64, u64)> {
    let head = datagram.get(..header_len(counters64))?;
    let word = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let us = i64::from(word(0)) * 1_000_000 + i64::from(word(4));
    let seq = if counters64 {
        (u64::from(word(8)) << 32) | u64::from(word(12))
    } else {
        u64::from(word(8))
    };
    Some((us, seq))
}

/// A receiver's counts for one stream, as iperf3's `iperf_udp_recv`
/// keeps them.
///
/// # Example
///
/// ```
/// use layernet::app::iperf3::udp::{write_header, Receiver};
/// use layernet::Instant;
/// let mut r = Receiver::new();
/// let mut d = [0u8; 100];
/// for (seq, sent_ms, arrived_ms) in [(1, 0, 5), (2, 10, 15), (4, 30, 37), (3, 20, 38)] {
///     write_header(&mut d, Instant::from_millis(sent_ms), seq, false);
///     r.take(&d, d.len(), Instant::from_millis(arrived_ms), false);
/// }
/// assert_eq!((r.packets, r.lost, r.out_of_order, r.bytes), (4, 0, 1, 400));
/// assert!(r.jitter_ns() > 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Receiver {
    /// Bytes of data datagrams (whole, headers included).
    pub bytes: u64,
    /// The highest sequence number seen: what iperf3 reports as the
    /// packets of the stream.
    pub packets: u64,
    /// Datagrams missing from the sequence (less those that came late).
    pub lost: u64,
    /// Datagrams that came after a later one.
    pub out_of_order: u64,
    /// The last transit time (arrival less send time), microseconds.
    transit: i64,
    /// RFC 3550's jitter in nanoseconds, times 16 (its integer form).
    jitter16: u64,
}

impl Receiver {
    /// Nothing received.
    ///
    /// ```
    /// assert_eq!(layernet::app::iperf3::udp::Receiver::new().packets, 0);
    /// ```
    pub const fn new() -> Self {
        Receiver {
            bytes: 0,
            packets: 0,
            lost: 0,
            out_of_order: 0,
            transit: 0,
            jitter16: 0,
        }
    }

    /// Count a data datagram of `len` bytes whose first bytes are
    /// `datagram`, arrived at `now`; one too short for a header counts
    /// its bytes alone.
    ///
    /// ```
    /// use layernet::app::iperf3::udp::{write_header, Receiver};
    /// use layernet::Instant;
    /// let mut r = Receiver::new();
    /// let mut d = [0u8; 16];
    /// write_header(&mut d, Instant::ZERO, 5, false);
    /// r.take(&d, 1460, Instant::from_millis(1), false);
    /// assert_eq!((r.packets, r.lost), (5, 4), "1 to 4 never came");
    /// ```
    pub fn take(&mut self, datagram: &[u8], len: usize, now: Instant, counters64: bool) {
        let first = self.bytes == 0;
        self.bytes = self.bytes.saturating_add(len as u64);
        let Some((sent, seq)) = read_header(datagram, counters64) else {
            return;
        };
        if seq > self.packets {
            self.lost = self.lost.saturating_add(seq - self.packets - 1);
            self.packets = seq;
        } else {
            self.out_of_order = self.out_of_order.saturating_add(1);
            self.lost = self.lost.saturating_sub(1);
        }
        // Saturating throughout: the send time is the peer's word.
        let transit = now.total_micros().saturating_sub(sent);
        if first {
            self.transit = transit;
        }
        let d = transit
            .saturating_sub(self.transit)
            .unsigned_abs()
            .saturating_mul(1000);
        self.transit = transit;
        // J += (|D| - J) / 16, with J kept times 16 (RFC 3550 A.8).
        self.jitter16 = self
            .jitter16
            .saturating_add(d)
            .saturating_sub(self.jitter16.saturating_add(8) / 16);
    }

    /// The jitter, in nanoseconds.
    ///
    /// ```
    /// assert_eq!(layernet::app::iperf3::udp::Receiver::new().jitter_ns(), 0);
    /// ```
    pub fn jitter_ns(&self) -> u64 {
        self.jitter16 / 16
    }
}

/// A year, in microseconds: how far ahead [`Pacer::next`] looks at most.
const YEAR_US: u64 = 365 * 24 * 3600 * 1_000_000;

/// A sender's pace: `rate` bits per second from `start` (0: as fast as
/// the socket takes them), as iperf3's throttle keeps each stream.
///
/// # Example
///
/// ```
/// use layernet::app::iperf3::udp::Pacer;
/// use layernet::{Duration, Instant};
/// let mut p = Pacer::new(8_000_000, Instant::ZERO); // 1 MB/s
/// assert!(!p.due(1000, Instant::ZERO), "nothing may go at the start");
/// assert!(p.due(1000, Instant::from_millis(1)));
/// p.sent(1000);
/// assert!(!p.due(1000, Instant::from_millis(1)));
/// assert_eq!(p.next(1000), Instant::from_millis(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacer {
    rate: u64,
    start: Instant,
    /// Bytes sent since `start`.
    pub bytes: u64,
    /// Datagrams sent: the last sequence number.
    pub packets: u64,
}

impl Pacer {
    /// A stream starting at `start`.
    ///
    /// ```
    /// use layernet::app::iperf3::udp::Pacer;
    /// assert_eq!(Pacer::new(0, layernet::Instant::ZERO).packets, 0);
    /// ```
    pub const fn new(rate: u64, start: Instant) -> Self {
        Pacer {
            rate,
            start,
            bytes: 0,
            packets: 0,
        }
    }

    /// Whether `len` more bytes may go at `now`.
    ///
    /// ```
    /// use layernet::app::iperf3::udp::Pacer;
    /// use layernet::Instant;
    /// assert!(Pacer::new(0, Instant::ZERO).due(65_000, Instant::ZERO), "no limit");
    /// ```
    pub fn due(&self, len: usize, now: Instant) -> bool {
        self.rate == 0 || now >= self.next(len)
    }

    /// When `len` more bytes may go.
    ///
    /// ```
    /// use layernet::app::iperf3::udp::Pacer;
    /// use layernet::Instant;
    /// let p = Pacer::new(1_000_000, Instant::from_secs(1));
    /// assert_eq!(p.next(125), Instant::from_millis(1_001), "1000 bits at 1 Mbit/s: 1 ms");
    /// ```
    pub fn next(&self, len: usize) -> Instant {
        if self.rate == 0 {
            return self.start;
        }
        let bits = u128::from(self.bytes.saturating_add(len as u64)) * 8;
        let us = bits * 1_000_000 / u128::from(self.rate);
        // At most a year ahead: an Instant cannot overflow.
        let us = u64::try_from(us).unwrap_or(u64::MAX).min(YEAR_US);
        self.start + Duration::from_micros(us)
    }

    /// A datagram of `len` bytes went: returns its sequence number.
    ///
    /// ```
    /// use layernet::app::iperf3::udp::Pacer;
    /// let mut p = Pacer::new(0, layernet::Instant::ZERO);
    /// assert_eq!((p.sent(100), p.sent(100), p.bytes), (1, 2, 200));
    /// ```
    pub fn sent(&mut self, len: usize) -> u64 {
        self.bytes = self.bytes.saturating_add(len as u64);
        self.packets = self.packets.saturating_add(1);
        self.packets
    }

    /// The sequence number the next datagram carries.
    ///
    /// ```
    /// use layernet::app::iperf3::udp::Pacer;
    /// assert_eq!(Pacer::new(0, layernet::Instant::ZERO).next_seq(), 1);
    /// ```
    pub fn next_seq(&self) -> u64 {
        self.packets.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::{Receiver, write_header};
    use smoltcp::time::Instant;

    #[test]
    fn jitter_follows_rfc3550() {
        // Transit alternates 1 ms and 3 ms: |D| is 2 ms each time after
        // the first, and J approaches it from below.
        let mut r = Receiver::new();
        let mut d = [0u8; 12];
        for i in 0..200u64 {
            let sent = Instant::from_millis(i as i64 * 10);
            let transit = if i % 2 == 0 { 1 } else { 3 };
            write_header(&mut d, sent, i + 1, false);
            r.take(
                &d,
                12,
                sent + smoltcp::time::Duration::from_millis(transit),
                false,
            );
        }
        let j = r.jitter_ns();
        assert!((1_990_000..=2_000_000).contains(&j), "{j}");
        assert_eq!((r.packets, r.lost, r.out_of_order), (200, 0, 0));
    }

    #[test]
    fn short_and_odd_datagrams_do_not_panic() {
        let mut r = Receiver::new();
        for n in 0..20 {
            r.take(&[0xff; 20][..n], n, Instant::ZERO, n % 2 == 0);
        }
        r.take(&[0; 16], 16, Instant::from_micros(i64::MAX / 2), true);
        assert!(r.bytes > 0);
    }
}
