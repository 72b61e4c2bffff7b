//! An mDNS responder with DNS-SD (RFC 6762, RFC 6763): it answers for
//! `NAME.local` (A, and AAAA for each IPv6 address the stack has) and
//! advertises the services it is told of, so that `ping layernet.local`,
//! `dig -p 5353 @224.0.0.251 layernet.local` and a DNS-SD browser find the
//! stack without knowing its address.
//!
//! What it does, as RFC 6762 asks:
//!
//! - it joins 224.0.0.251 and binds UDP port 5353;
//! - it **probes** (section 8.1): after a random wait of up to 250 ms,
//!   three queries for its name, 250 ms apart, each proposing its address
//!   in the authority section. A response naming it meanwhile is a
//!   conflict: it takes `NAME-2` (then `-3`...), logs one line saying so,
//!   and probes again. A simultaneous probe for the same name is settled
//!   by comparing the proposed records (section 8.2): the lesser waits a
//!   second and probes again;
//! - it **announces** (section 8.3) twice, 1 s apart, every record in one
//!   response, unique ones with the cache-flush bit;
//! - it **answers** queries for its records: multicast to the group, or,
//!   for a legacy query (source port not 5353, as `dig` sends), unicast to
//!   the asker with the query's ID and question and TTLs of at most 10 s
//!   (section 6.7). A name it owns asked for a type it lacks gets an NSEC
//!   saying which types it has (section 6.1);
//! - a response from another host giving its name another address after
//!   it announced sends it back to probing (section 9).
//!
//! Simplifications: no delay before multicast answers (section 6's 20-120
//! ms), no known-answer suppression, no goodbye on shutdown; it speaks
//! over IPv4 only (the AAAA records are answered there).
//!
//! DNS-SD (RFC 6763): each [`Advert`] gives a PTR from
//! `_services._dns-sd._udp.local` to its type, a PTR from its type to the
//! instance (named as the host: `layernet._http._tcp.local`), the
//! instance's SRV (port, host) and TXT. [`advert`] has the types of the
//! classic services.
//!
//! This file holds the responder's state and its [`Service`] loop; the
//! probing and announcing are in `probe.rs`, the answers to queries in
//! `answer.rs`, and the client-side lookup ([`one_shot_query`],
//! [`address_in`]) in `lookup.rs`.
//!
//! Layer: app. Depends on [`crate::socket::UdpSocket`], on
//! [`crate::net::Stack`] (its addresses, the multicast group) and on
//! [`wire`]; no heap.

mod answer;
mod lookup;
mod probe;
pub mod wire;

pub use lookup::{address_in, one_shot_query};

use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};

use super::services::Kind;
use super::{LOG_LINES, LogRing, Service};
use crate::net::Stack;
use crate::socket::{Error, UdpSocket};
use wire::{
    CLASS_IN, CLASS_TOP, FLAGS_RESPONSE, Full, Name, Rdata, Reader, Section, TYPE_A, TYPE_AAAA,
    TYPE_ANY, TYPE_PTR, TYPE_SRV, TYPE_TXT, Writer,
};

/// mDNS's UDP port.
pub const MDNS_PORT: u16 = 5353;
/// mDNS's IPv4 group.
pub const MDNS_GROUP: Ipv4Address = Ipv4Address::new(224, 0, 0, 251);
/// The host name `serve` answers for unless told otherwise.
pub const DEFAULT_HOSTNAME: &str = "layernet";
/// Services one responder advertises at most.
pub const MAX_ADVERTS: usize = 8;
/// The largest message it sends or reads (one Ethernet frame's room).
pub const MAX_MESSAGE: usize = 1232;
/// The longest host name it takes: a label's 63 bytes less room for
/// `-NNN`.
pub const MAX_HOSTNAME: usize = 59;

/// Between probes, and the longest random wait before the first.
const PROBE_GAP: Duration = Duration::from_millis(250);
/// Probes before the name counts as ours.
const PROBES: u8 = 3;
/// Between announcements.
const ANNOUNCE_GAP: Duration = Duration::from_secs(1);
/// Announcements.
const ANNOUNCES: u8 = 2;
/// How long the loser of a simultaneous probe waits (RFC 6762 8.2).
const TIEBREAK_WAIT: Duration = Duration::from_secs(1);
/// After this many conflicts, probe at most once a second (RFC 6762 8.1
/// asks for 5 s after 15 conflicts in 10 s; this is simpler and gentler).
const CONFLICTS_BEFORE_SLOWING: u16 = 15;
/// The highest suffix tried (`NAME-999`).
const MAX_SUFFIX: u16 = 999;
/// TTL of records naming the host (A, AAAA, SRV): RFC 6762 section 10.
const HOST_TTL: u32 = 120;
/// TTL of the other records (PTR, TXT).
const OTHER_TTL: u32 = 4500;
/// The most a legacy (unicast) answer may say (RFC 6762 6.7).
const LEGACY_TTL: u32 = 10;
/// Datagrams taken per poll.
const BURST: usize = 8;
/// IPv6 addresses answered as AAAA.
const MAX_V6: usize = 3;

/// A service to advertise: its DNS-SD type (`_http._tcp`), port and TXT
/// strings.
///
/// ```
/// use layernet::app::mdns::{Advert, advert};
/// use layernet::app::services::Kind;
/// assert_eq!(advert(Kind::Files), Advert { service_type: "_http._tcp", port: 7878, txt: &["path=/"] });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    /// `_service._tcp` or `_service._udp` (RFC 6763 section 7).
    pub service_type: &'static str,
    /// The port it listens on.
    pub port: u16,
    /// Its TXT record's strings (none: one empty string).
    pub txt: &'static [&'static str],
}

/// The DNS-SD advert of a classic service: `_http._tcp` for the files
/// (a browser's own type), `_iperf3._tcp` for iperf3, and for the others
/// types of their own (docs/protocols.md lists them).
///
/// ```
/// use layernet::app::{mdns::advert, services::ALL};
/// let types: Vec<&str> = ALL.iter().map(|e| advert(e.kind).service_type).collect();
/// assert_eq!(types, ["_echo._tcp", "_greeting._tcp", "_time-echo._tcp", "_layernet-chat._udp", "_http._tcp", "_iperf3._tcp"]);
/// ```
pub const fn advert(kind: Kind) -> Advert {
    let service_type = match kind {
        Kind::Echo => "_echo._tcp",
        Kind::Greeting => "_greeting._tcp",
        Kind::TimeEcho => "_time-echo._tcp",
        Kind::Chat => "_layernet-chat._udp",
        Kind::Files => "_http._tcp",
        Kind::Iperf3 => "_iperf3._tcp",
    };
    let txt: &'static [&'static str] = match kind {
        // RFC 6763 appendix: `path` is where an HTTP service starts.
        Kind::Files => &["path=/"],
        _ => &[],
    };
    Advert {
        service_type,
        port: kind.entry().port,
        txt,
    }
}

/// Why a host name was refused.
///
/// ```
/// use layernet::app::mdns::{BadHostname, Responder};
/// let refused = Responder::<0>::new("my_host").err();
/// assert_eq!(refused, Some(BadHostname));
/// assert!(BadHostname.to_string().contains("letters, digits and hyphens"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHostname;

impl core::fmt::Display for BadHostname {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "a host name is 1 to {MAX_HOSTNAME} letters, digits and hyphens, \
             not starting or ending with a hyphen"
        )
    }
}

impl core::error::Error for BadHostname {}

/// Where the responder stands.
///
/// ```
/// use layernet::app::mdns::{Phase, Responder};
/// let responder = Responder::<0>::new("board")?;
/// assert_eq!(responder.phase(), Phase::Starting);
/// # Ok::<(), layernet::app::mdns::BadHostname>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not bound yet, or waiting for an IPv4 address.
    Starting,
    /// Sent this many probes of the name.
    Probing(u8),
    /// Sent this many announcements.
    Announcing(u8),
    /// The name is ours; answering.
    Ready,
}

/// One of our records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rec {
    A,
    Aaaa(usize),
    /// `_services._dns-sd._udp.local` PTR to advert i's type.
    Types(usize),
    /// Advert i's type PTR to its instance.
    Ptr(usize),
    Srv(usize),
    Txt(usize),
    /// The host name's NSEC (which types it has).
    HostNsec,
}

/// Records one answer holds at most.
const MAX_RECORDS: usize = 4 * MAX_ADVERTS + MAX_V6 + 2;

/// The responder, a [`Service`]. Its log says when the name is its own,
/// and each conflict (`mdns: layernet.local is taken, now
/// layernet-2.local`).
///
/// # Example
///
/// Two stacks that both want `layernet`: the one that comes second
/// finds the first answering its probe and takes `layernet-2`.
///
/// ```
/// use layernet::{Duration, host::sim::SimNet, app::mdns::{Phase, Responder}};
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let first: Responder = Responder::new("layernet")?;
/// net.serve(a, Box::new(first));
/// net.run_for(Duration::from_secs(4));
/// let second: Responder = Responder::new("layernet")?;
/// net.serve(b, Box::new(second));
/// net.run_for(Duration::from_secs(4));
/// let mut lines = Vec::new();
/// net.drain_logs(&mut |host, line| lines.push((host, line.to_owned())));
/// assert!(lines.contains(&(b, "mdns: layernet.local is taken, now layernet-2.local".into())), "{lines:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Responder<const LOG: usize = LOG_LINES> {
    base: heapless::String<MAX_HOSTNAME>,
    /// 1: the base name; 2 and on: `base-N`.
    suffix: u16,
    adverts: heapless::Vec<Advert, MAX_ADVERTS>,
    socket: Option<UdpSocket>,
    phase: Phase,
    next: Instant,
    /// The address announced (a new lease means announcing again).
    announced: Option<Ipv4Address>,
    /// The first record of an announcement still to send: one that the
    /// socket's buffer cannot take whole (a board's 512-byte UDP buffer,
    /// with 6 services) goes out in several messages, one per poll.
    rest: Option<usize>,
    conflicts: u16,
    log: LogRing<LOG>,
}

impl<const LOG: usize> Responder<LOG> {
    /// A responder for `hostname.local`, advertising nothing yet.
    ///
    /// # Errors
    ///
    /// [`BadHostname`] unless `hostname` is 1 to [`MAX_HOSTNAME`] letters,
    /// digits and hyphens, not starting or ending with a hyphen.
    ///
    /// ```
    /// use layernet::app::mdns::Responder;
    /// let r: Responder = Responder::new("Kitchen-Board")?;
    /// assert_eq!(r.hostname().as_str(), "Kitchen-Board");
    /// assert!(Responder::<0>::new("-x").is_err() && Responder::<0>::new("a.b").is_err());
    /// # Ok::<(), layernet::app::mdns::BadHostname>(())
    /// ```
    pub fn new(hostname: &str) -> Result<Self, BadHostname> {
        let good = !hostname.is_empty()
            && hostname.len() <= MAX_HOSTNAME
            && hostname
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !hostname.starts_with('-')
            && !hostname.ends_with('-');
        if !good {
            return Err(BadHostname);
        }
        let mut base = heapless::String::new();
        base.push_str(hostname).map_err(|_| BadHostname)?;
        Ok(Responder {
            base,
            suffix: 1,
            adverts: heapless::Vec::new(),
            socket: None,
            phase: Phase::Starting,
            next: Instant::ZERO,
            announced: None,
            rest: None,
            conflicts: 0,
            log: LogRing::new(),
        })
    }

    /// Advertise `advert` too (DNS-SD).
    ///
    /// # Errors
    ///
    /// [`Error::NoBufferSpace`] past [`MAX_ADVERTS`]; [`Error::InvalidInput`]
    /// for a type that is not `_name._tcp` or `_name._udp`, or already
    /// advertised.
    ///
    /// ```
    /// use layernet::app::{mdns::{Responder, advert}, services::Kind};
    /// let mut r: Responder = Responder::new("layernet")?;
    /// r.advertise(advert(Kind::Files))?;
    /// assert!(r.advertise(advert(Kind::Files)).is_err(), "once each");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn advertise(&mut self, advert: Advert) -> Result<(), Error> {
        let ok_type = Name::from_parts(&[advert.service_type, "local"]).is_some()
            && advert.service_type.starts_with('_')
            && (advert.service_type.ends_with("._tcp") || advert.service_type.ends_with("._udp"))
            && advert.service_type.matches('.').count() == 1;
        if !ok_type
            || self
                .adverts
                .iter()
                .any(|a| a.service_type.eq_ignore_ascii_case(advert.service_type))
        {
            return Err(Error::InvalidInput);
        }
        self.adverts.push(advert).map_err(|_| Error::NoBufferSpace)
    }

    /// The host name answered for now (`layernet`, or `layernet-2` after
    /// a conflict), without `.local`.
    ///
    /// ```
    /// use layernet::app::mdns::Responder;
    /// let r: Responder = Responder::new("layernet")?;
    /// assert_eq!(r.hostname().as_str(), "layernet");
    /// # Ok::<(), layernet::app::mdns::BadHostname>(())
    /// ```
    pub fn hostname(&self) -> heapless::String<63> {
        let mut name = heapless::String::new();
        let _ = name.push_str(&self.base);
        if self.suffix > 1 {
            let _ = core::fmt::Write::write_fmt(&mut name, format_args!("-{}", self.suffix));
        }
        name
    }

    /// Where it stands: probing, announcing, answering.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, app::mdns::{Phase, Responder}};
    /// let (mut net, a, _) = SimNet::pair(2)?;
    /// let mut r: Responder = Responder::new("layernet")?;
    /// net.run_client(a, &mut r, Duration::from_millis(600));
    /// assert!(matches!(r.phase(), Phase::Probing(_)), "{:?}", r.phase());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn phase(&self) -> Phase {
        self.phase
    }

    fn host_name(&self) -> Option<Name> {
        Name::from_parts(&[&self.hostname(), "local"])
    }

    fn bind(&mut self, stack: &mut Stack<'_>, now: Instant) {
        let mut socket = match UdpSocket::bind(stack, MDNS_PORT) {
            Ok(s) => s,
            Err(e) => {
                self.log.push(format_args!(
                    "mdns: no UDP socket on port {MDNS_PORT} ({e})"
                ));
                self.next = now + Duration::from_secs(60);
                return;
            }
        };
        // RFC 6762 section 11: sent with TTL 255.
        let _ = socket.set_hop_limit(stack, Some(255));
        self.socket = Some(socket);
        // Without the `mdns` feature smoltcp keeps no groups: only
        // unicast queries reach the socket.
        #[cfg(feature = "mdns")]
        if let Err(e) = stack.join_multicast_group(MDNS_GROUP) {
            self.log
                .push(format_args!("mdns: cannot join {MDNS_GROUP} ({e})"));
        }
    }

    /// Our IPv6 addresses, for AAAA.
    fn v6(stack: &Stack<'_>) -> [Option<[u8; 16]>; MAX_V6] {
        #[allow(unused_mut)]
        let mut out = [None; MAX_V6];
        #[cfg(feature = "ipv6")]
        for (slot, cidr) in out.iter_mut().zip(stack.ipv6_addrs()) {
            *slot = Some(cidr.address().octets());
        }
        #[cfg(not(feature = "ipv6"))]
        let _ = stack;
        out
    }

    /// Queue `msg`; false if the socket's queue is full for now.
    fn send(&mut self, stack: &mut Stack<'_>, msg: &[u8], to: IpEndpoint) -> bool {
        let Some(socket) = &mut self.socket else {
            return true;
        };
        match socket.send_to(stack, msg, to) {
            Ok(()) => true,
            Err(Error::WouldBlock) => false,
            Err(e) => {
                self.log
                    .push(format_args!("mdns: cannot send to {to} ({e})"));
                true
            }
        }
    }

    /// The longest message the socket can ever queue: a message is built
    /// to fit it, since a longer one could never be sent.
    fn limit(&self, stack: &mut Stack<'_>) -> usize {
        self.socket
            .as_ref()
            .map_or(MAX_MESSAGE, |s| s.send_capacity(stack))
            .min(MAX_MESSAGE)
    }

    fn group() -> IpEndpoint {
        IpEndpoint::new(IpAddress::Ipv4(MDNS_GROUP), MDNS_PORT)
    }

    /// Write one of our records.
    fn write(
        &self,
        w: &mut Writer<'_>,
        section: Section,
        rec: Rec,
        legacy: bool,
        stack: &Stack<'_>,
        v6: &[Option<[u8; 16]>; MAX_V6],
    ) -> Result<(), Full> {
        let host = self.host_name().ok_or(Full)?;
        let label = self.hostname();
        let unique = if legacy {
            CLASS_IN
        } else {
            CLASS_IN | CLASS_TOP
        };
        let ttl = |t: u32| if legacy { t.min(LEGACY_TTL) } else { t };
        let advert = |i: usize| self.adverts.get(i).ok_or(Full);
        let type_name = |i: usize| -> Result<Name, Full> {
            Name::from_parts(&[advert(i)?.service_type, "local"]).ok_or(Full)
        };
        let instance = |i: usize| -> Result<Name, Full> {
            Name::from_parts(&[&label, advert(i)?.service_type, "local"]).ok_or(Full)
        };
        match rec {
            Rec::A => w.record(
                section,
                &host,
                unique,
                ttl(HOST_TTL),
                Rdata::A(stack.ipv4_addr().octets()),
            ),
            Rec::Aaaa(i) => {
                let a = v6.get(i).copied().flatten().ok_or(Full)?;
                w.record(section, &host, unique, ttl(HOST_TTL), Rdata::Aaaa(a))
            }
            Rec::HostNsec => {
                let has_v6 = v6.iter().any(Option::is_some);
                let types: &[u16] = if has_v6 {
                    &[TYPE_A, TYPE_AAAA]
                } else {
                    &[TYPE_A]
                };
                w.record(
                    section,
                    &host,
                    unique,
                    ttl(HOST_TTL),
                    Rdata::Nsec { next: &host, types },
                )
            }
            Rec::Types(i) => {
                let services = Name::from_parts(&["_services._dns-sd._udp.local"]).ok_or(Full)?;
                let target = type_name(i)?;
                w.record(
                    section,
                    &services,
                    CLASS_IN,
                    ttl(OTHER_TTL),
                    Rdata::Ptr(&target),
                )
            }
            Rec::Ptr(i) => {
                let target = instance(i)?;
                w.record(
                    section,
                    &type_name(i)?,
                    CLASS_IN,
                    ttl(OTHER_TTL),
                    Rdata::Ptr(&target),
                )
            }
            Rec::Srv(i) => w.record(
                section,
                &instance(i)?,
                unique,
                ttl(HOST_TTL),
                Rdata::Srv {
                    port: advert(i)?.port,
                    target: &host,
                },
            ),
            Rec::Txt(i) => w.record(
                section,
                &instance(i)?,
                unique,
                ttl(OTHER_TTL),
                Rdata::Txt(advert(i)?.txt),
            ),
        }
    }
}

impl<const LOG: usize> Service for Responder<LOG> {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        if self.socket.is_none() {
            if now < self.next {
                return false;
            }
            self.bind(stack, now);
            if self.socket.is_none() {
                return false;
            }
        }
        let mut moved = false;
        let mut buf = [0u8; MAX_MESSAGE];
        for _ in 0..BURST {
            let Some(socket) = &mut self.socket else {
                break;
            };
            let (n, from) = match socket.recv_from(stack, &mut buf) {
                Ok(got) => got,
                Err(Error::Truncated) => continue,
                Err(_) => break,
            };
            moved = true;
            self.handle(stack, &buf[..n], from, now);
        }
        if let Some(start) = self.rest {
            self.send_announcement(stack, start);
            moved = true;
        }
        moved | self.tick(stack, now)
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.rest.is_some() {
            // The rest of an announcement: as soon as the queue has room.
            return Some(Instant::ZERO);
        }
        match self.phase {
            Phase::Ready => None,
            _ => Some(self.next),
        }
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
