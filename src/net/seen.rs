//! What the stack has seen lately, for a live view: a copy of smoltcp's
//! neighbour cache (ARP and NDP) and a ring of the last frames, each in
//! one line.
//!
//! Layer: net. Depends on the one parse of each frame ([`super::frame`])
//! and smoltcp's `wire` types; no heap.
//!
//! smoltcp keeps its neighbour cache private, so the stack keeps its own
//! copy: it learns from the same frames, by the same rules (an ARP packet
//! aimed at us from a unicast sender on our network; a neighbour
//! solicitation or advertisement that carries a link-layer address), and
//! forgets after the same minute. The copy is only read by people: the
//! stack still sends by smoltcp's cache.
//!
//! Both tables cost RAM (about 1.6 KiB), so they are kept only with the
//! `live` feature, which the host has; without it [`Seen`] is empty and
//! the live view shows empty tables. Noting a frame costs about 200
//! instructions, 2% of a bulk transfer's, so the ring is written only
//! while someone watches: for [`WATCHED_MS`] after the last read of it.
//! An unwatched stack pays one comparison per frame.

use core::fmt;

use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress, Ipv4Address};

use super::frame::Frame;
use super::observe::Direction;

/// Entries of the copy of the neighbour cache: smoltcp's own count
/// (`IFACE_NEIGHBOR_CACHE_COUNT`, 8 unless a build changes it).
pub const NEIGHBORS: usize = smoltcp::config::IFACE_NEIGHBOR_CACHE_COUNT;

/// Frames the ring of recent frames holds.
pub const RECENT: usize = 32;

/// How long after the last read of the recent frames the stack goes on
/// noting them: a live view that asks twice a second keeps it noting.
pub const WATCHED_MS: i64 = 10_000;

/// How long smoltcp keeps a neighbour (its `Cache::ENTRY_LIFETIME`).
const LIFETIME_MS: i64 = 60_000;

/// One neighbour: an address and the MAC it was last seen at.
///
/// ```
/// use layernet::{Duration, host::sim::SimNet, socket::Ping};
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let to = net.stack(b).ipv4_addr();
/// let mut ping = Ping::new(net.stack(a));
/// ping.send(net.stack(a), to, 1, b"hi")?;
/// net.run_for(Duration::from_millis(20));
/// // a asked for b's MAC: b learnt a's from the request, a b's from the reply.
/// let learnt: Vec<_> = net.stack(b).neighbors().collect();
/// assert_eq!(learnt.len(), 1);
/// assert_eq!(learnt[0].ip, net.stack(a).ipv4_addr().into());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbor {
    /// The neighbour's IP address (IPv4 by ARP, IPv6 by NDP).
    pub ip: IpAddress,
    /// Its link-layer address.
    pub mac: EthernetAddress,
    /// When a frame last told us.
    pub seen: Instant,
}

/// One frame the stack received or sent, as a ladder draws it.
///
/// ```
/// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::{TcpListener, TcpStream}};
/// let (mut net, s, c) = SimNet::pair(2)?;
/// let _l = TcpListener::bind(net.stack(s), 7, 1)?;
/// // Frames are noted while someone reads them: this read starts it.
/// assert_eq!(net.stack(s).recent_frames().count(), 0);
/// let _conn = TcpStream::connect(net.stack(c), endpoint(s, 7))?;
/// net.run_for(Duration::from_millis(10));
/// let lines: Vec<String> = net.stack(s).recent_frames().map(|f| f.to_string()).collect();
/// assert!(lines.iter().any(|l| l.contains("[SYN, ACK]")), "{lines:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameNote {
    /// Counts every frame noted since the stack started: a view that
    /// asks again skips the ones it already drew.
    pub id: u32,
    /// When the stack received or sent it.
    pub at: Instant,
    /// Received or sent.
    pub direction: Direction,
    /// The other end: the source of a received frame, the destination of
    /// a sent one (for ARP, the sender's or target's protocol address);
    /// `None` when the frame carries no IP address that could be read.
    pub peer: Option<IpAddress>,
    /// What it carries.
    pub what: What,
}

/// What a noted frame carries: just what one line of a ladder says.
///
/// ```
/// use layernet::{Duration, host::sim::SimNet, net::What, socket::Ping};
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let to = net.stack(b).ipv4_addr();
/// let _ = net.stack(a).recent_frames(); // watch from now on
/// let mut ping = Ping::new(net.stack(a));
/// ping.send(net.stack(a), to, 1, b"hi")?;
/// net.run_for(Duration::from_millis(20));
/// let first = net.stack(a).recent_frames().next().ok_or("no frame")?;
/// assert_eq!(first.what, What::Arp { request: true, about: to });
/// assert_eq!(first.to_string(), format!("ARP who-has {to}"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// An ARP request (`who-has` the address) or reply (the address
    /// `is-at` the sender's MAC).
    Arp {
        /// A request, not a reply.
        request: bool,
        /// The address asked for, or answered for.
        about: Ipv4Address,
    },
    /// A TCP segment.
    Tcp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// FIN, SYN, RST, PSH, ACK, URG in the header's bit order.
        flags: u8,
        /// Sequence number (absolute: the ring may not hold the SYN).
        seq: u32,
        /// Acknowledgment number.
        ack: u32,
        /// Payload bytes.
        len: u16,
    },
    /// A UDP datagram.
    Udp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// Payload bytes.
        len: u16,
    },
    /// ICMP or ICMPv6, by type.
    Icmp {
        /// ICMPv6, not ICMPv4.
        v6: bool,
        /// The message type.
        kind: u8,
    },
    /// Anything else, by EtherType.
    Other {
        /// The EtherType.
        ethertype: u16,
    },
}

impl fmt::Display for FrameNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.what {
            What::Arp {
                request: true,
                about,
            } => write!(f, "ARP who-has {about}")?,
            What::Arp {
                request: false,
                about,
            } => write!(f, "ARP reply {about} is-at")?,
            What::Tcp {
                src,
                dst,
                flags,
                seq,
                ack,
                len,
            } => {
                write!(f, "TCP {src} \u{2192} {dst} [")?;
                let names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG"];
                let mut first = true;
                for (bit, name) in names.iter().enumerate() {
                    if flags & (1 << bit) != 0 {
                        f.write_str(if first { "" } else { ", " })?;
                        f.write_str(name)?;
                        first = false;
                    }
                }
                write!(f, "] seq {seq}")?;
                if flags & 0x10 != 0 {
                    write!(f, " ack {ack}")?;
                }
                write!(f, " len {len}")?;
            }
            What::Udp { src, dst, len } => write!(f, "UDP {src} \u{2192} {dst} len {len}")?,
            What::Icmp { v6: false, kind } => write!(f, "ICMP type {kind}")?,
            What::Icmp { v6: true, kind } => write!(f, "ICMPv6 type {kind}")?,
            What::Other { ethertype } => write!(f, "EtherType {ethertype:#06x}")?,
        }
        Ok(())
    }
}

/// The two tables; empty and free without the `live` feature.
#[derive(Default)]
pub(crate) struct Seen {
    #[cfg(feature = "live")]
    neighbors: heapless::Vec<Neighbor, NEIGHBORS>,
    #[cfg(feature = "live")]
    recent: heapless::HistoryBuf<FrameNote, RECENT>,
    #[cfg(feature = "live")]
    noted: u32,
    /// Until when frames are noted (µs on the stack's clock, which needs
    /// no division to compare): moved on by
    /// each read, which only has `&self`, hence the cell.
    #[cfg(feature = "live")]
    watched_until: core::cell::Cell<i64>,
}

impl Seen {
    /// Note `frame`, received or sent at `now`.
    #[inline]
    pub(crate) fn frame(&mut self, now: Instant, direction: Direction, frame: Option<&Frame<'_>>) {
        #[cfg(feature = "live")]
        if let Some(frame) = frame
            && now.total_micros() < self.watched_until.get()
        {
            let (peer, what) = live::describe(direction, frame);
            self.noted = self.noted.wrapping_add(1);
            self.recent.write(FrameNote {
                id: self.noted,
                at: now,
                direction,
                peer,
                what,
            });
        }
        #[cfg(not(feature = "live"))]
        let _ = (now, direction, frame);
    }

    /// Whether [`Seen::frame`] notes frames at `now` (someone reads the
    /// live view): when not, a frame's summary need not be read for it.
    #[inline]
    pub(crate) fn noting(&self, now: Instant) -> bool {
        #[cfg(feature = "live")]
        return now.total_micros() < self.watched_until.get();
        #[cfg(not(feature = "live"))]
        {
            let _ = now;
            false
        }
    }

    /// Learn that `ip` is at `mac`, as smoltcp just did.
    #[inline]
    pub(crate) fn learn(&mut self, now: Instant, ip: IpAddress, mac: EthernetAddress) {
        #[cfg(feature = "live")]
        {
            let fresh = Neighbor { ip, mac, seen: now };
            if let Some(known) = self.neighbors.iter_mut().find(|n| n.ip == ip) {
                *known = fresh;
            } else if let Err(fresh) = self.neighbors.push(fresh) {
                // Full: smoltcp evicts the entry that expires first, the
                // oldest.
                if let Some(oldest) = self.neighbors.iter_mut().min_by_key(|n| n.seen) {
                    *oldest = fresh;
                }
            }
        }
        #[cfg(not(feature = "live"))]
        let _ = (now, ip, mac);
    }

    /// The neighbours not yet forgotten at `now`.
    pub(crate) fn neighbors(&self, now: Instant) -> impl Iterator<Item = Neighbor> + '_ {
        #[cfg(feature = "live")]
        let all = self.neighbors.iter();
        #[cfg(not(feature = "live"))]
        let all = core::iter::empty::<&Neighbor>();
        all.filter(move |n| (now - n.seen).total_millis() < LIFETIME_MS as u64)
            .copied()
    }

    /// The last frames, oldest first; noting goes on for
    /// [`WATCHED_MS`] after `now`.
    pub(crate) fn recent(&self, now: Instant) -> impl Iterator<Item = FrameNote> + '_ {
        #[cfg(feature = "live")]
        self.watched_until
            .set(now.total_micros().saturating_add(WATCHED_MS * 1000));
        #[cfg(not(feature = "live"))]
        let _ = now;
        #[cfg(feature = "live")]
        let all = self.recent.oldest_ordered();
        #[cfg(not(feature = "live"))]
        let all = core::iter::empty::<&FrameNote>();
        all.copied()
    }
}

/// Reading a frame into a note, and NDP's neighbour learning.
#[cfg(feature = "live")]
mod live {
    use smoltcp::wire::{ArpOperation, IpAddress, Ipv4Address};

    use super::super::frame::{Frame, L4, Net};
    use super::super::observe::Direction;
    use super::What;

    pub(super) fn describe(direction: Direction, frame: &Frame<'_>) -> (Option<IpAddress>, What) {
        let pick = |(src, dst): (IpAddress, IpAddress)| match direction {
            Direction::Rx => src,
            Direction::Tx => dst,
        };
        match &frame.net {
            Net::Arp(Some(arp)) => {
                let request = arp.operation() == ArpOperation::Request;
                let v4 = |bytes: &[u8]| -> Option<Ipv4Address> {
                    Some(Ipv4Address::from_octets(bytes.try_into().ok()?))
                };
                let (source, target) = (
                    v4(arp.source_protocol_addr()),
                    v4(arp.target_protocol_addr()),
                );
                let peer = match direction {
                    Direction::Rx => source,
                    Direction::Tx => target,
                };
                let about = if request { target } else { source };
                (
                    peer.map(IpAddress::Ipv4),
                    What::Arp {
                        request,
                        about: about.unwrap_or(Ipv4Address::UNSPECIFIED),
                    },
                )
            }
            Net::Ipv4(Some(ip)) => (Some(pick(ip.addrs())), transport(&ip.l4, ip.protocol)),
            #[cfg(feature = "ipv6")]
            Net::Ipv6(Some(ip)) => (Some(pick(ip.addrs())), transport(&ip.l4, ip.protocol)),
            _ => (
                None,
                What::Other {
                    ethertype: frame.eth.ethertype().into(),
                },
            ),
        }
    }

    fn transport(l4: &L4<'_>, protocol: smoltcp::wire::IpProtocol) -> What {
        use smoltcp::wire::IpProtocol;
        match l4 {
            L4::Tcp(Some(tcp)) => {
                let header = usize::from(tcp.header_len());
                let flags = u8::from(tcp.fin())
                    | u8::from(tcp.syn()) << 1
                    | u8::from(tcp.rst()) << 2
                    | u8::from(tcp.psh()) << 3
                    | u8::from(tcp.ack()) << 4
                    | u8::from(tcp.urg()) << 5;
                What::Tcp {
                    src: tcp.src_port(),
                    dst: tcp.dst_port(),
                    flags,
                    seq: tcp.seq_number().0 as u32,
                    ack: tcp.ack_number().0 as u32,
                    len: u16::try_from(tcp.as_ref().len().saturating_sub(header))
                        .unwrap_or(u16::MAX),
                }
            }
            L4::Udp(Some(udp)) => What::Udp {
                src: udp.src_port(),
                dst: udp.dst_port(),
                len: udp.len().saturating_sub(8),
            },
            #[cfg(feature = "ipv6")]
            L4::Icmpv6(Some(icmp)) => What::Icmp {
                v6: true,
                kind: icmp.msg_type().into(),
            },
            _ => match protocol {
                IpProtocol::Icmp => What::Icmp { v6: false, kind: 0 },
                other => What::Other {
                    ethertype: u8::from(other).into(),
                },
            },
        }
    }

    /// The neighbour a received NDP message teaches smoltcp, by its rules:
    /// a solicitation's or advertisement's link-layer option, from a
    /// unicast address, about a unicast target.
    #[cfg(feature = "ipv6")]
    pub(crate) fn ndp_fill(
        frame: Option<&Frame<'_>>,
    ) -> Option<(IpAddress, smoltcp::wire::EthernetAddress)> {
        use smoltcp::wire::NdiscRepr;
        let (src, repr) = super::super::ndp::ndisc(frame?)?;
        let (lladdr, target) = match repr {
            NdiscRepr::NeighborSolicit {
                lladdr,
                target_addr,
            } => (lladdr, target_addr),
            NdiscRepr::NeighborAdvert {
                lladdr,
                target_addr,
                ..
            } => (lladdr, target_addr),
            _ => return None,
        };
        // A hostile option can claim any length; only six bytes are a MAC.
        let mac = smoltcp::wire::EthernetAddress(lladdr?.as_bytes().try_into().ok()?);
        let unicast = |a: smoltcp::wire::Ipv6Address| !a.is_multicast() && !a.is_unspecified();
        (mac.is_unicast() && unicast(target) && unicast(src)).then_some((IpAddress::Ipv6(src), mac))
    }
}

#[cfg(all(feature = "live", feature = "ipv6"))]
pub(crate) use live::ndp_fill;
