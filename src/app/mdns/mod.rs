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
//! Layer: app. Depends on [`crate::socket::UdpSocket`], on
//! [`crate::net::Stack`] (its addresses, the multicast group) and on
//! [`wire`]; no heap.

pub mod wire;

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

/// Write a one-shot query for `host`'s A record (RFC 6762 section 5.1)
/// into `buf`: what a client that only wants an address sends to
/// 224.0.0.251:5353 from an ephemeral port. Responders answer it by
/// unicast to that port, with `id` (the legacy rule of section 6.7), so
/// the client need not join the group. The message's length.
///
/// # Errors
///
/// [`Full`] if `buf` cannot hold it.
///
/// ```
/// use layernet::app::mdns::{address_in, one_shot_query, wire::Name};
/// let host = Name::from_parts(&["layernet.local"]).ok_or("name")?;
/// let mut buf = [0u8; 64];
/// let n = one_shot_query(&mut buf, 0x4242, &host).map_err(|_| "full")?;
/// assert_eq!(&buf[..2], &[0x42, 0x42]);
/// assert_eq!(address_in(&buf[..n], 0x4242, &host), None, "a query, not an answer");
/// # Ok::<(), &str>(())
/// ```
pub fn one_shot_query(buf: &mut [u8], id: u16, host: &Name) -> Result<usize, Full> {
    let mut w = Writer::new(buf, id, 0)?;
    w.question(host, TYPE_A, CLASS_IN)?;
    Ok(w.finish())
}

/// The address an answer to [`one_shot_query`] `id` gives `host`: its
/// first A record for that name (in any section), if the message is a
/// response with that ID.
///
/// ```
/// use layernet::app::mdns::{address_in, wire::*};
/// use layernet::Ipv4Address;
/// let host = Name::from_parts(&["layernet.local"]).ok_or("name")?;
/// let mut buf = [0u8; 128];
/// let mut w = Writer::new(&mut buf, 7, FLAGS_RESPONSE).map_err(|_| "full")?;
/// w.record(Section::Answer, &host, CLASS_IN, 10, Rdata::A([192, 168, 69, 1])).map_err(|_| "full")?;
/// let n = w.finish();
/// assert_eq!(address_in(&buf[..n], 7, &host), Some(Ipv4Address::new(192, 168, 69, 1)));
/// assert_eq!(address_in(&buf[..n], 8, &host), None, "another query's answer");
/// # Ok::<(), &str>(())
/// ```
pub fn address_in(msg: &[u8], id: u16, host: &Name) -> Option<Ipv4Address> {
    let mut reader = Reader::new(msg)?;
    let header = reader.header();
    if !header.is_response() || header.id != id || header.flags & 0xf != 0 {
        return None;
    }
    while let Some(r) = reader.next_record() {
        if r.rtype == TYPE_A
            && r.class & !CLASS_TOP == CLASS_IN
            && reader.name_is(r.name, host)
            && let [a, b, c, d] = *r.rdata
        {
            return Some(Ipv4Address::new(a, b, c, d));
        }
    }
    None
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

    /// Start probing the current name after a wait of `wait` plus up to
    /// 250 ms at random.
    fn probe_from(&mut self, stack: &mut Stack<'_>, now: Instant, wait: Duration) {
        self.phase = Phase::Probing(0);
        self.announced = None;
        self.rest = None;
        let jitter = stack.random_below(PROBE_GAP.total_millis());
        self.next = now + wait + Duration::from_millis(jitter);
    }

    fn conflict(&mut self, stack: &mut Stack<'_>, now: Instant) {
        let old = self.hostname();
        self.conflicts = self.conflicts.saturating_add(1);
        if self.suffix < MAX_SUFFIX {
            self.suffix += 1;
        }
        self.log.push(format_args!(
            "mdns: {old}.local is taken, now {}.local",
            self.hostname()
        ));
        let wait = if self.conflicts > CONFLICTS_BEFORE_SLOWING {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        self.probe_from(stack, now, wait);
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

    /// The probe: a QU question for the name (type ANY), our address
    /// records in the authority section.
    fn send_probe(&mut self, stack: &mut Stack<'_>) {
        let Some(host) = self.host_name() else {
            return;
        };
        let mut buf = [0u8; MAX_MESSAGE];
        let Ok(mut w) = Writer::new(&mut buf, 0, 0) else {
            return;
        };
        let _ = w.question(&host, TYPE_ANY, CLASS_IN | CLASS_TOP);
        let v6 = Self::v6(stack);
        let _ = self.write(&mut w, Section::Authority, Rec::A, false, stack, &v6);
        for i in (0..MAX_V6).filter(|i| v6[*i].is_some()) {
            let _ = self.write(&mut w, Section::Authority, Rec::Aaaa(i), false, stack, &v6);
        }
        let n = w.finish();
        self.send(stack, &buf[..n], Self::group());
    }

    /// An unsolicited response with every record (RFC 6762 8.3), from
    /// record `start` on: as many as one message the socket can take
    /// holds; the rest are left in `rest`, for the next poll (RFC 6762
    /// 6: a response may be split across several messages).
    fn send_announcement(&mut self, stack: &mut Stack<'_>, start: usize) {
        let limit = self.limit(stack);
        let mut buf = [0u8; MAX_MESSAGE];
        let Ok(mut w) = Writer::new(&mut buf[..limit], 0, FLAGS_RESPONSE) else {
            return;
        };
        let v6 = Self::v6(stack);
        let mut rest = None;
        for (i, rec) in self.all_records(&v6).enumerate().skip(start) {
            if self
                .write(&mut w, Section::Answer, rec, false, stack, &v6)
                .is_err()
            {
                // A record that no message can hold alone is skipped;
                // any other starts the next message.
                if !w.is_empty() {
                    rest = Some(i);
                    break;
                }
            }
        }
        if w.is_empty() {
            self.rest = None;
            return;
        }
        let n = w.finish();
        // A full queue (the message before this one not yet out): the
        // same records, next poll.
        self.rest = if self.send(stack, &buf[..n], Self::group()) {
            rest
        } else {
            Some(start)
        };
    }

    fn all_records(&self, v6: &[Option<[u8; 16]>; MAX_V6]) -> impl Iterator<Item = Rec> + '_ {
        let n = self.adverts.len();
        let v6: heapless::Vec<usize, MAX_V6> = (0..MAX_V6).filter(|i| v6[*i].is_some()).collect();
        core::iter::once(Rec::A)
            .chain(v6.into_iter().map(Rec::Aaaa))
            .chain((0..n).flat_map(|i| [Rec::Types(i), Rec::Ptr(i), Rec::Srv(i), Rec::Txt(i)]))
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

    /// What our records answer `(name at pos, qtype)`: answers, and the
    /// additional records that go with them (RFC 6763 section 12).
    fn matches(
        &self,
        reader: &Reader<'_>,
        pos: usize,
        qtype: u16,
        has_v6: &[usize],
        answers: &mut heapless::Vec<Rec, MAX_RECORDS>,
        extra: &mut heapless::Vec<Rec, MAX_RECORDS>,
    ) {
        let add = |list: &mut heapless::Vec<Rec, MAX_RECORDS>, rec: Rec| {
            if !list.contains(&rec) {
                let _ = list.push(rec);
            }
        };
        let wants = |t: u16| qtype == t || qtype == TYPE_ANY;
        if let Some(host) = self.host_name()
            && reader.name_is(pos, &host)
        {
            let before = answers.len();
            if wants(TYPE_A) {
                add(answers, Rec::A);
            }
            if wants(TYPE_AAAA) {
                for &i in has_v6 {
                    add(answers, Rec::Aaaa(i));
                }
            }
            if answers.len() == before {
                // Ours, but not of that type: say which types there are.
                add(extra, Rec::HostNsec);
            } else if qtype == TYPE_A {
                for &i in has_v6 {
                    add(extra, Rec::Aaaa(i));
                }
            } else if qtype == TYPE_AAAA {
                add(extra, Rec::A);
            }
            return;
        }
        if (wants(TYPE_PTR))
            && let Some(services) = Name::from_parts(&["_services._dns-sd._udp.local"])
            && reader.name_is(pos, &services)
        {
            for i in 0..self.adverts.len() {
                add(answers, Rec::Types(i));
            }
            return;
        }
        let label = self.hostname();
        for (i, advert) in self.adverts.iter().enumerate() {
            let Some(type_name) = Name::from_parts(&[advert.service_type, "local"]) else {
                continue;
            };
            let instance_asked = Name::from_parts(&[&label, advert.service_type, "local"])
                .is_some_and(|n| reader.name_is(pos, &n));
            if reader.name_is(pos, &type_name) {
                if wants(TYPE_PTR) {
                    add(answers, Rec::Ptr(i));
                    for rec in [Rec::Srv(i), Rec::Txt(i), Rec::A] {
                        add(extra, rec);
                    }
                    for &v in has_v6 {
                        add(extra, Rec::Aaaa(v));
                    }
                }
            } else if instance_asked {
                if wants(TYPE_SRV) {
                    add(answers, Rec::Srv(i));
                }
                if wants(TYPE_TXT) {
                    add(answers, Rec::Txt(i));
                }
                add(extra, Rec::A);
                for &v in has_v6 {
                    add(extra, Rec::Aaaa(v));
                }
            }
        }
    }

    /// One datagram from `from`.
    fn handle(&mut self, stack: &mut Stack<'_>, msg: &[u8], from: IpEndpoint, now: Instant) {
        let Some(mut reader) = Reader::new(msg) else {
            return;
        };
        let header = reader.header();
        if header.opcode() != 0 {
            return;
        }
        let Some(host) = self.host_name() else {
            return;
        };
        if header.is_response() {
            // RFC 6762 section 6: a response with a nonzero RCODE is
            // ignored.
            if header.flags & 0xf != 0 {
                return;
            }
            self.response(stack, &mut reader, &host, now);
            return;
        }
        match self.phase {
            Phase::Probing(_) => {
                self.tiebreak(stack, &mut reader, &host, now);
                return;
            }
            Phase::Starting => return,
            Phase::Announcing(_) | Phase::Ready => {}
        }
        let legacy = from.port != MDNS_PORT;
        let v6 = Self::v6(stack);
        let has_v6: heapless::Vec<usize, MAX_V6> =
            (0..MAX_V6).filter(|i| v6[*i].is_some()).collect();
        let mut answers = heapless::Vec::new();
        let mut extra = heapless::Vec::new();
        let mut questions: heapless::Vec<wire::Question, 8> = heapless::Vec::new();
        while let Some(q) = reader.next_question() {
            if q.class & !CLASS_TOP != CLASS_IN && q.class & !CLASS_TOP != 255 {
                continue;
            }
            let before = (answers.len(), extra.len());
            self.matches(&reader, q.name, q.qtype, &has_v6, &mut answers, &mut extra);
            if (answers.len(), extra.len()) != before {
                let _ = questions.push(q);
            }
        }
        if answers.is_empty() && extra.is_empty() {
            return;
        }
        let limit = self.limit(stack);
        let mut buf = [0u8; MAX_MESSAGE];
        let id = if legacy { header.id } else { 0 };
        // What does not fit the socket's buffer is left out (additional
        // records first), not the whole answer.
        let Ok(mut w) = Writer::new(&mut buf[..limit], id, FLAGS_RESPONSE) else {
            return;
        };
        if legacy {
            // RFC 6762 6.7: the question repeated, as a unicast DNS
            // resolver expects.
            for q in &questions {
                let _ = w.copy_question(&reader, q);
            }
        }
        for &rec in &answers {
            if self
                .write(&mut w, Section::Answer, rec, legacy, stack, &v6)
                .is_err()
            {
                break;
            }
        }
        for &rec in extra.iter().filter(|r| !answers.contains(r)) {
            if self
                .write(&mut w, Section::Additional, rec, legacy, stack, &v6)
                .is_err()
            {
                break;
            }
        }
        let n = w.finish();
        let to = if legacy { from } else { Self::group() };
        self.send(stack, &buf[..n], to);
    }

    /// A response from another host: a record for our name is a conflict
    /// while probing; one giving it another address later means probing
    /// again (RFC 6762 section 9).
    fn response(
        &mut self,
        stack: &mut Stack<'_>,
        reader: &mut Reader<'_>,
        host: &Name,
        now: Instant,
    ) {
        let ours = stack.ipv4_addr().octets();
        let mut claimed = false;
        let mut other_address = false;
        while let Some(r) = reader.next_record() {
            if r.section == Section::Authority || !reader.name_is(r.name, host) {
                continue;
            }
            claimed = true;
            if r.rtype == TYPE_A && r.rdata != ours {
                other_address = true;
            }
        }
        match self.phase {
            Phase::Probing(_) if claimed => self.conflict(stack, now),
            Phase::Announcing(_) | Phase::Ready if other_address => {
                self.log.push(format_args!(
                    "mdns: another host answers for {host}: probing again"
                ));
                self.probe_from(stack, now, Duration::ZERO);
            }
            _ => {}
        }
    }

    /// Another host probing for our name at the same time: the one whose
    /// proposed record is lexicographically later wins (RFC 6762 8.2);
    /// the loser waits a second and probes again.
    fn tiebreak(
        &mut self,
        stack: &mut Stack<'_>,
        reader: &mut Reader<'_>,
        host: &Name,
        now: Instant,
    ) {
        let ours = stack.ipv4_addr().octets();
        let mut lost = false;
        while let Some(r) = reader.next_record() {
            if r.section != Section::Authority || !reader.name_is(r.name, host) {
                continue;
            }
            // Class, then type, then data, as the RFC orders them; our
            // first record is the A record (class IN, type 1).
            let theirs = (r.class & !CLASS_TOP, r.rtype, r.rdata);
            let mine = (CLASS_IN, TYPE_A, &ours[..]);
            if theirs > mine {
                lost = true;
            }
            break;
        }
        if lost {
            self.probe_from(stack, now, TIEBREAK_WAIT);
        }
    }

    /// The timers: probes, announcements, a new address.
    fn tick(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        if self.phase == Phase::Ready {
            if self.announced != Some(stack.ipv4_addr()) {
                // A new lease: the name is probed again for it.
                self.probe_from(stack, now, Duration::ZERO);
            }
            return false;
        }
        if now < self.next {
            return false;
        }
        match self.phase {
            Phase::Starting => {
                if stack.ipv4_addr().is_unspecified() {
                    self.next = now + Duration::from_secs(1);
                    return false;
                }
                self.probe_from(stack, now, Duration::ZERO);
            }
            Phase::Probing(n) if n < PROBES => {
                self.send_probe(stack);
                self.phase = Phase::Probing(n + 1);
                self.next = now + PROBE_GAP;
            }
            Phase::Probing(_) => {
                self.send_announcement(stack, 0);
                self.announced = Some(stack.ipv4_addr());
                self.log.push(format_args!(
                    "mdns: answering for {}.local ({})",
                    self.hostname(),
                    stack.ipv4_addr()
                ));
                self.phase = Phase::Announcing(1);
                self.next = now + ANNOUNCE_GAP;
            }
            Phase::Announcing(n) => {
                self.send_announcement(stack, 0);
                if n + 1 >= ANNOUNCES {
                    self.phase = Phase::Ready;
                } else {
                    self.phase = Phase::Announcing(n + 1);
                    self.next = now + ANNOUNCE_GAP;
                }
            }
            Phase::Ready => {}
        }
        true
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
