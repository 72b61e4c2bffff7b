//! The gate: what every received frame passes before smoltcp sees it.
//!
//! Layer: net. Looks at one received frame with smoltcp's `wire` module and
//! at the pool's state; never changes either.
//!
//! Two jobs. First, the SYN gate: a connection request (SYN without ACK)
//! addressed to this stack is dropped, silently, only when its port has a
//! listener and none of that listener's sockets is in LISTEN and no socket
//! already holds the connection (a retransmitted SYN of a handshake in
//! progress must reach its socket). A SYN for a port nobody listens on
//! still gets smoltcp's RST, as it should.
//!
//! Second, the frame checks smoltcp would make silently (lengths,
//! checksums, addresses, fragments, and its TCP, UDP, ICMP and ICMPv6
//! parsers' own refusals), made here first so that each drop has
//! a reason and a counter that is true: the gate drops what it counts, and
//! smoltcp only ever sees frames it would accept. The checks follow
//! smoltcp's own: a frame the gate admits but smoltcp still refuses is a
//! gap in this list, not a silent drop elsewhere. A few checks go further
//! than smoltcp: a frame whose sender claims this stack's own address (an
//! IP source, the land attack, or an ARP sender) is dropped too; so is UDP
//! over IPv6 without a checksum, which smoltcp takes; a solicited-node
//! group must be one of ours in all its 128 bits (smoltcp compares the last
//! 16 only, whatever the prefix); and a router advertisement's prefix
//! longer than 128 bits or in multicast space, on which smoltcp 0.14's
//! SLAAC panics, is dropped as malformed.

use smoltcp::iface::SocketSet;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{
    ArpRepr, EthernetAddress, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, IpAddress, IpEndpoint,
    IpProtocol, Ipv4Cidr, Ipv4Packet, TcpPacket, UdpPacket, UdpRepr,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Message, Icmpv6Repr, Ipv6Address, Ipv6Packet, NdiscRepr};

use super::frame::{Frame, Ip, L4, Net};
use super::observe::{Direction, DropReason, Event, Transport};
use super::track::Segment;
use super::{Listener, Owner, TcpEntry, UdpEntry};
use crate::link::checksum;

/// The gate's decision on one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand the frame to smoltcp; it may come with a note for the trace.
    Admit(Option<NoSocket>),
    /// Drop it, for this reason.
    Drop(DropReason),
}

/// The one note an admitted frame carries: a TCP segment or UDP datagram
/// for a port no socket holds ([`Event::NoSocket`], which it becomes for
/// the trace). A third of an [`Event`]'s size: the verdict is handed up
/// through three calls on every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoSocket {
    pub(crate) transport: Transport,
    pub(crate) to: IpEndpoint,
}

impl From<NoSocket> for Event {
    fn from(NoSocket { transport, to }: NoSocket) -> Self {
        Event::NoSocket { transport, to }
    }
}

/// Who this stack is, for the address checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Us {
    pub(crate) mac: EthernetAddress,
    pub(crate) cidr: Ipv4Cidr,
    /// Our IPv6 unicast addresses (link-local, static, SLAAC), in the
    /// interface's order; `None` past the last.
    #[cfg(feature = "ipv6")]
    pub(crate) v6: [Option<Ipv6Address>; super::MAX_V6_ADDRS],
    /// DHCP runs: a server's offer comes to the address it offers, which
    /// is not ours yet.
    #[cfg(feature = "names")]
    pub(crate) dhcp: bool,
    /// DNS runs: answers come to a port smoltcp's DNS socket chose.
    #[cfg(feature = "names")]
    pub(crate) dns: bool,
}

/// The pool, for the socket checks. The TCP entries' tracking is up to
/// date with their sockets whenever the gate reads them: the stack looks
/// at every socket a change may have reached (the application's, a
/// segment's, a re-arm's) before the next frame comes to the gate, so the
/// walks here read the entries alone, without a look into smoltcp's set
/// per socket. (The test suite's debug builds check this on every
/// segment, for every entry in use.)
pub(crate) struct Pool<'p, 's> {
    pub(crate) sockets: &'p SocketSet<'s>,
    pub(crate) tcp: &'p [TcpEntry],
    pub(crate) udp: &'p [UdpEntry],
    pub(crate) listeners: &'p [Option<Listener>],
}

/// The gate's answer on one frame: the verdict and what the stack needs
/// to know after smoltcp has taken the frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admission {
    pub(crate) verdict: Verdict,
    /// A quiet segment (see [`admit`]).
    pub(crate) quiet: bool,
    /// The TCP entries (bit `i` for entry `i` of [`Pool::tcp`]) that could
    /// take the frame, as smoltcp hands a segment to the first socket that
    /// accepts it, and only such a socket can change state: the stack looks
    /// at these alone afterwards. All bits set: every entry (an entry past
    /// the 64th matched).
    pub(crate) reached: u64,
    /// The admitted TCP segment, read once here for connection tracking,
    /// and the entry that holds its connection (tracking's record matched
    /// both its endpoints), if any: the stack need not look for either
    /// again.
    pub(crate) segment: Option<(Segment, Option<usize>)>,
    /// Hand smoltcp this IPv4 segment as its FIN alone (see
    /// `watch::fin_only`): its data is all old and its FIN the next thing
    /// expected, and smoltcp 0.14 judges a segment on its data only, so it
    /// would call the whole segment out of the window and ignore the FIN
    /// (docs/reliability.md, "FIN handling under loss"). Tracking's
    /// RCV.NXT can run ahead of smoltcp's (a segment smoltcp cut at its
    /// window counts whole until our next ACK): then the FIN alone comes
    /// after a hole, smoltcp ignores it and takes none of the segment's
    /// data, and the peer sends both again (a retransmission more, no
    /// data lost).
    pub(crate) fin_only: bool,
}

/// The bit of TCP entry `i` in [`Admission::reached`].
#[inline]
pub(crate) fn entry_bit(i: usize) -> u64 {
    if i < 64 { 1 << i } else { u64::MAX }
}

#[cfg(test)]
pub(crate) fn inspect(frame: &[u8], us: Us, pool: &Pool<'_, '_>) -> Verdict {
    admit(Frame::parse(frame).as_ref(), &us, pool).verdict
}

/// The verdict on `frame`, the entries it may reach, and whether it is a
/// quiet segment: a TCP ACK
/// without SYN, FIN or RST that only ESTABLISHED sockets (or none) could
/// take. smoltcp hands a segment to a socket holding its endpoints (a
/// listening one refuses an ACK), and an ESTABLISHED socket stays so on
/// such a segment (only a FIN or an RST move it): after it no socket's
/// state can have changed, which spares the stack its walk over them. The
/// pool walk below looks at every socket that could take it anyway.
pub(crate) fn admit(frame: Option<&Frame<'_>>, us: &Us, pool: &Pool<'_, '_>) -> Admission {
    let mut reach = Reach {
        quiet: false,
        reached: 0,
        segment: None,
        fin_only: false,
    };
    let verdict = match check(frame, us, pool, &mut reach) {
        Ok(note) => Verdict::Admit(note),
        Err(reason) => Verdict::Drop(reason),
    };
    Admission {
        verdict,
        quiet: reach.quiet,
        reached: reach.reached,
        segment: reach.segment,
        fin_only: reach.fin_only,
    }
}

/// What the TCP check learns beside its verdict (see [`Admission`]).
struct Reach {
    quiet: bool,
    reached: u64,
    segment: Option<(Segment, Option<usize>)>,
    fin_only: bool,
}

fn check(
    frame: Option<&Frame<'_>>,
    us: &Us,
    pool: &Pool<'_, '_>,
    reach: &mut Reach,
) -> Result<Option<NoSocket>, DropReason> {
    let frame = frame.ok_or(DropReason::Malformed)?;
    let dst = frame.eth.dst_addr();
    if dst != us.mac && !dst.is_broadcast() && !dst.is_multicast() {
        return Err(DropReason::NotForUs);
    }
    match &frame.net {
        Net::Arp(arp) => {
            let arp = arp.as_ref().ok_or(DropReason::Malformed)?;
            if ArpRepr::parse(arp).is_err() {
                // Not Ethernet/IPv4 ARP (or an unknown operation): smoltcp
                // would ignore it.
                return Err(DropReason::Unsupported);
            }
            // Someone claiming our own address: smoltcp would answer it and
            // map our address to the claimant's MAC in its cache.
            if arp.source_protocol_addr() == us.cidr.address().octets() {
                return Err(DropReason::Malformed);
            }
            if arp.target_protocol_addr() != us.cidr.address().octets() {
                return Err(DropReason::NotForUs);
            }
            Ok(None)
        }
        Net::Ipv4(ip) => check_ipv4(ip.as_ref().ok_or(DropReason::Malformed)?, us, pool, reach),
        #[cfg(feature = "ipv6")]
        Net::Ipv6(ip) => check_ipv6(ip.as_ref().ok_or(DropReason::Malformed)?, us, pool, reach),
        Net::Other => Err(DropReason::Unsupported),
    }
}

fn check_ipv4(
    parsed: &Ip<'_, Ipv4Packet<&[u8]>>,
    us: &Us,
    pool: &Pool<'_, '_>,
    reach: &mut Reach,
) -> Result<Option<NoSocket>, DropReason> {
    let ip = &parsed.packet;
    if ip.version() != 4 {
        return Err(DropReason::Malformed);
    }
    if !ipv4_header_verifies(ip) {
        return Err(DropReason::BadChecksum);
    }
    let dst = ip.dst_addr();
    let ours = us.cidr.address();
    // Computed once per frame: it is a mask and a compare on every one.
    let subnet_broadcast = us.cidr.broadcast();
    let broadcast = dst.is_broadcast() || Some(dst) == subnet_broadcast;
    #[cfg(feature = "names")]
    let dhcp = us.dhcp && to_dhcp_client(parsed);
    #[cfg(not(feature = "names"))]
    let dhcp = false;
    if !(dst == ours || broadcast || dst.is_multicast() || dhcp) {
        return Err(DropReason::NotForUs);
    }
    if ip.more_frags() || ip.frag_offset() != 0 {
        return Err(DropReason::Fragment);
    }
    let src = ip.src_addr();
    // No station can send from a broadcast or multicast address (smoltcp
    // ignores those), nor from ours: that is the land attack, a frame that
    // would have the stack answer itself.
    if src == ours || src.is_broadcast() || src.is_multicast() || Some(src) == subnet_broadcast {
        return Err(DropReason::Malformed);
    }
    let (src_ip, dst_ip) = parsed.addrs();
    match parsed.protocol {
        IpProtocol::Icmp => {
            let icmp =
                Icmpv4Packet::new_checked(ip.payload()).map_err(|_| DropReason::Malformed)?;
            if !icmp.verify_checksum() {
                return Err(DropReason::BadChecksum);
            }
            if Icmpv4Repr::parse(&icmp, &ChecksumCapabilities::ignored()).is_err() {
                // smoltcp reads echo, unreachable and time-exceeded only.
                return Err(match icmp.msg_type() {
                    Icmpv4Message::EchoRequest
                    | Icmpv4Message::EchoReply
                    | Icmpv4Message::DstUnreachable
                    | Icmpv4Message::TimeExceeded => DropReason::Malformed,
                    _ => DropReason::Unsupported,
                });
            }
            Ok(None)
        }
        IpProtocol::Tcp => check_tcp(&parsed.l4, (src_ip, dst_ip), dst == ours, pool, reach),
        IpProtocol::Udp => check_udp(&parsed.l4, (src_ip, dst_ip), us, pool),
        _ => Err(DropReason::Unsupported),
    }
}

/// Whether the header checksum of `ip` holds. Hosts sum the header a word
/// at a time ([`checksum::header_verifies`]); the firmware keeps
/// smoltcp's routine, which it links anyway for ICMP and UDP (the other
/// would be flash it has no room for).
#[inline]
fn ipv4_header_verifies(ip: &Ipv4Packet<&[u8]>) -> bool {
    if cfg!(target_os = "none") {
        return ip.verify_checksum();
    }
    let header = ip.as_ref().get(..usize::from(ip.header_len()));
    header.is_some_and(checksum::header_verifies)
}

/// A TCP segment from `addrs.0` to `addrs.1`, over either IP version;
/// `to_us` says the destination is one of our unicast addresses.
fn check_tcp(
    l4: &L4<'_>,
    (src_ip, dst_ip): (IpAddress, IpAddress),
    to_us: bool,
    pool: &Pool<'_, '_>,
    reach: &mut Reach,
) -> Result<Option<NoSocket>, DropReason> {
    let L4::Tcp(Some(tcp)) = l4 else {
        return Err(DropReason::Malformed);
    };
    if !checksum::verifies(&src_ip, &dst_ip, IpProtocol::Tcp, tcp.as_ref()) {
        return Err(DropReason::BadChecksum);
    }
    if !to_us {
        // smoltcp takes no TCP to a broadcast or multicast address.
        return Err(DropReason::NotForUs);
    }
    // Options that do not parse (a length of 0 or 1, or past the
    // header), port 0, SYN with FIN or RST: smoltcp's own parser
    // refuses them, silently; here they are counted.
    if !tcp_repr_parses(tcp) {
        return Err(DropReason::Malformed);
    }
    let from = IpEndpoint::new(src_ip, tcp.src_port());
    let port = tcp.dst_port();
    if tcp.syn() && !tcp.ack() {
        match syn_meets(pool, from, port) {
            SynMeets::Busy => return Err(DropReason::BusyPool),
            SynMeets::Connection => return Err(DropReason::SynRepeat),
            SynMeets::Room => {}
        }
    }
    let mut found = false;
    let mut holder = None;
    let mut plain_ack = tcp.ack() && !(tcp.syn() || tcp.fin() || tcp.rst());
    for (i, entry) in pool.tcp.iter().enumerate() {
        // An idle entry is closed as tracking last saw it: it matches
        // nothing, without a test of its own.
        let (state, matches) = tracked_match(entry, port, from);
        // The test suite runs with debug assertions: there, every
        // segment proves that tracking kept up with every socket (an idle
        // one's may wait in the spare set, out of `pool.sockets`).
        debug_assert!(
            entry.idle() || (state, matches) == socket_match(pool, entry, port, from),
            "connection tracking fell behind the socket of TCP entry {i}"
        );
        if !matches {
            continue;
        }
        found = true;
        reach.reached |= entry_bit(i);
        // Tracking's endpoints matched both ends (not a listener's port
        // alone): `Tracked::holds`, which the first such entry answers.
        if holder.is_none() && !matches!(state, tcp::State::Listen | tcp::State::Closed) {
            holder = Some(i);
            // A FIN after data this connection already holds, in a state
            // that has not had the peer's FIN yet: see `Admission::fin_only`.
            reach.fin_only = tcp.fin()
                && src_ip.version() == smoltcp::wire::IpVersion::Ipv4
                && matches!(
                    state,
                    tcp::State::Established | tcp::State::FinWait1 | tcp::State::FinWait2
                )
                && {
                    let data = tcp.payload().len() as u32;
                    data > 0
                        && entry
                            .track
                            .fin_next_after_old_data((tcp.seq_number().0 as u32).wrapping_add(data))
                };
        }
        plain_ack &= matches!(state, tcp::State::Listen | tcp::State::Established);
        // RFC 5961 3.2, for a synchronised connection: smoltcp takes
        // an RST anywhere in the window; only the exact next
        // sequence number may reset it. (The RFC's challenge ACK is
        // not sent: the drop is counted instead.)
        let synchronised = !matches!(
            state,
            tcp::State::Listen | tcp::State::SynSent | tcp::State::SynReceived
        );
        if tcp.rst() && synchronised && !entry.track.rst_in_sequence(tcp.seq_number().0 as u32) {
            return Err(DropReason::RstNotExact);
        }
    }
    reach.quiet = plain_ack;
    reach.segment = Some((Segment::of(tcp, Direction::Rx, (src_ip, dst_ip)), holder));
    Ok((!found).then_some(NoSocket {
        transport: Transport::Tcp,
        to: IpEndpoint::new(dst_ip, port),
    }))
}

/// Whether the socket of `entry` could take a segment from `from` to our
/// `port` (a superset of smoltcp's `accepts`, which also checks our
/// address and refuses an ACK or RST in LISTEN), and its state: what
/// [`tracked_match`] answers from tracking's record, which debug builds
/// check against it.
#[inline]
fn socket_match(
    pool: &Pool<'_, '_>,
    entry: &TcpEntry,
    port: u16,
    from: IpEndpoint,
) -> (tcp::State, bool) {
    let socket = pool.sockets.get::<tcp::Socket>(entry.handle());
    let state = socket.state();
    let matches = match state {
        tcp::State::Closed => false,
        tcp::State::Listen => socket.listen_endpoint().port == port,
        _ => {
            socket.local_endpoint().is_some_and(|l| l.port == port)
                && socket.remote_endpoint() == Some(from)
        }
    };
    (state, matches)
}

/// [`socket_match`] from what connection tracking recorded of the socket
/// at its last look (see [`Pool`]).
#[inline]
fn tracked_match(entry: &TcpEntry, port: u16, from: IpEndpoint) -> (tcp::State, bool) {
    let track = &entry.track;
    let matches = match track.state {
        tcp::State::Closed => false,
        tcp::State::Listen => track.local.is_some_and(|l| l.port == port),
        // The remote port first, as `Tracked::holds` does: a server's
        // connections all share our port, and most of the entries this
        // walk passes over differ there.
        _ => {
            track.remote.is_some_and(|r| r.port == from.port)
                && track.local.is_some_and(|l| l.port == port)
                && track.remote.is_some_and(|r| r.addr == from.addr)
        }
    };
    (track.state, matches)
}

/// What smoltcp 0.14's `TcpRepr::parse` refuses in a segment whose
/// length and checksum hold, without building the `TcpRepr` it would
/// throw away: a zero port, more than one of SYN, FIN and RST, an option
/// that does not parse. The same answer, for a fifth of the instructions
/// (the whole parse ran once per received frame, just to say yes).
pub(crate) fn tcp_repr_parses(tcp: &TcpPacket<&[u8]>) -> bool {
    let controls = u8::from(tcp.syn()) + u8::from(tcp.fin()) + u8::from(tcp.rst());
    tcp.src_port() != 0 && tcp.dst_port() != 0 && controls <= 1 && options_parse(tcp.options())
}

/// smoltcp's `TcpOption::parse`, run over the whole option list as its
/// `TcpRepr::parse` does, answering only whether every option parses.
fn options_parse(mut options: &[u8]) -> bool {
    while let Some(&kind) = options.first() {
        let len = match kind {
            0 => return true,
            1 => 1,
            _ => {
                let Some(&len) = options.get(1) else {
                    return false;
                };
                let len = usize::from(len);
                // Kinds 2 to 5 (MSS, window scale, SACK permitted, SACK
                // ranges) have fixed or stepped lengths; the rest any
                // length that fits.
                let fits = match kind {
                    2 => len == 4,
                    3 => len == 3,
                    4 => len == 2,
                    5 => len >= 10 && (len - 2) % 8 == 0,
                    _ => len >= 2,
                };
                if !fits || len > options.len() {
                    return false;
                }
                len
            }
        };
        options = &options[len..];
    }
    true
}

#[cfg(test)]
mod repr_equivalence {
    use super::tcp_repr_parses;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{IpAddress, Ipv4Address, TcpPacket, TcpRepr};

    /// Random headers with option lists built mostly from real option
    /// kinds and lengths near the valid ones: the cheap check and
    /// smoltcp's parser must agree on every one.
    #[test]
    fn agrees_with_smoltcps_parser() {
        let ip = IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, 1));
        let caps = ChecksumCapabilities::ignored();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut refused, mut taken) = (0, 0);
        for _ in 0..200_000 {
            let mut segment = [0u8; 64];
            for chunk in segment.chunks_mut(8) {
                chunk.copy_from_slice(&next().to_le_bytes()[..chunk.len()]);
            }
            let words = 5 + (next() % 11) as u8;
            segment[12] = words << 4;
            let roll = next();
            // Ports: mostly set, sometimes zero.
            if roll % 16 == 0 {
                segment[0..2].fill(0);
            }
            if roll % 16 == 1 {
                segment[2..4].fill(0);
            }
            let mut at = 20;
            while at < usize::from(words) * 4 {
                let kind = [0, 1, 2, 3, 4, 5, 8, 30][(next() % 8) as usize];
                let len = [0, 1, 2, 3, 4, 10, 18, 26, 34, 9][(next() % 10) as usize];
                segment[at] = kind;
                segment[at + 1] = if next() % 4 == 0 { next() as u8 } else { len };
                at += usize::from(segment[at + 1].max(1));
            }
            let packet = TcpPacket::new_unchecked(&segment[..]);
            if packet.check_len().is_err() {
                continue;
            }
            let smoltcp = TcpRepr::parse(&packet, &ip, &ip, &caps).is_ok();
            assert_eq!(tcp_repr_parses(&packet), smoltcp, "{segment:02x?}");
            if smoltcp { taken += 1 } else { refused += 1 }
        }
        assert!(refused > 10_000 && taken > 10_000, "{refused} {taken}");
    }
}

/// A UDP datagram from `addrs.0` to `addrs.1`, over either IP version.
fn check_udp(
    l4: &L4<'_>,
    (src_ip, dst_ip): (IpAddress, IpAddress),
    us: &Us,
    pool: &Pool<'_, '_>,
) -> Result<Option<NoSocket>, DropReason> {
    let L4::Udp(Some(udp)) = l4 else {
        return Err(DropReason::Malformed);
    };
    // A zero checksum means "none" over IPv4 only; IPv6 requires one (RFC
    // 8200 8.1). smoltcp's verify_checksum takes zero as "none" over both,
    // so the IPv6 case is refused here, before it.
    let valid = match udp.checksum() {
        0 => matches!(src_ip, IpAddress::Ipv4(_)),
        _ => udp.verify_checksum(&src_ip, &dst_ip),
    };
    if !valid {
        return Err(DropReason::BadChecksum);
    }
    UdpRepr::parse(udp, &src_ip, &dst_ip, &ChecksumCapabilities::ignored())
        .map_err(|_| DropReason::Malformed)?;
    let port = udp.dst_port();
    let found = for_smoltcp(us, udp)
        || pool.udp.iter().any(|entry| {
            entry.in_use
                && pool
                    .sockets
                    .get::<udp::Socket>(entry.handle())
                    .endpoint()
                    .port
                    == port
        });
    Ok((!found).then_some(NoSocket {
        transport: Transport::Udp,
        to: IpEndpoint::new(dst_ip, port),
    }))
}

/// An IPv6 packet: smoltcp's own acceptance rules (our unicast addresses,
/// all-nodes, the solicited-node groups of our addresses; no multicast,
/// unspecified or own source), with each refusal counted. Extension headers are not
/// spoken here: smoltcp would read a hop-by-hop header (MLD queries carry
/// one), but this stack joins no multicast group that needs MLD.
#[cfg(feature = "ipv6")]
fn check_ipv6(
    parsed: &Ip<'_, Ipv6Packet<&[u8]>>,
    us: &Us,
    pool: &Pool<'_, '_>,
    reach: &mut Reach,
) -> Result<Option<NoSocket>, DropReason> {
    let ip = &parsed.packet;
    if ip.version() != 6 {
        return Err(DropReason::Malformed);
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let mut ours = us.v6.iter().flatten();
    let to_us = ours.clone().any(|a| *a == dst);
    let group = dst == smoltcp::wire::IPV6_LINK_LOCAL_ALL_NODES
        || (dst.octets()[..13] == SOLICITED_NODE_PREFIX
            && ours.clone().any(|a| a.octets()[13..] == dst.octets()[13..]));
    if !(to_us || group) {
        return Err(DropReason::NotForUs);
    }
    // A multicast source never is legitimate, and our own is the land
    // attack again.
    if src.is_multicast() || ours.any(|a| *a == src) {
        return Err(DropReason::Malformed);
    }
    // The unspecified source is legitimate only in ICMPv6 (duplicate
    // address detection, MLD reports), which this stack does not do:
    // smoltcp refuses every packet from it.
    if src.is_unspecified() {
        return Err(match parsed.protocol {
            IpProtocol::Icmpv6 => DropReason::Unsupported,
            _ => DropReason::Malformed,
        });
    }
    let (src_ip, dst_ip) = parsed.addrs();
    match parsed.protocol {
        IpProtocol::Icmpv6 => {
            let L4::Icmpv6(Some(icmp)) = &parsed.l4 else {
                return Err(DropReason::Malformed);
            };
            if !icmp.verify_checksum(&src, &dst) {
                return Err(DropReason::BadChecksum);
            }
            let repr = Icmpv6Repr::parse(&src, &dst, icmp, &ChecksumCapabilities::ignored())
                .map_err(|_| match icmp.msg_type() {
                    Icmpv6Message::Unknown(_) => DropReason::Unsupported,
                    _ => DropReason::Malformed,
                })?;
            if let Icmpv6Repr::Ndisc(ndisc) = repr {
                // RFC 4861 7.1: neighbour discovery from off the link (hop
                // limit not 255) is invalid, and so is a solicitation or
                // advertisement for a multicast target or with a link-layer
                // address that is not a station's (smoltcp ignores those), or
                // a prefix longer than an address or in multicast space
                // (smoltcp's SLAAC panics on either).
                if ip.hop_limit() != 255 || !ndisc_valid(&ndisc) {
                    return Err(DropReason::Malformed);
                }
            }
            Ok(None)
        }
        IpProtocol::Tcp => check_tcp(&parsed.l4, (src_ip, dst_ip), to_us, pool, reach),
        IpProtocol::Udp => check_udp(&parsed.l4, (src_ip, dst_ip), us, pool),
        IpProtocol::Ipv6Frag => Err(DropReason::Fragment),
        _ => Err(DropReason::Unsupported),
    }
}

/// A neighbour solicitation's or advertisement's link-layer address
/// option is a unicast Ethernet address, and then its target is a unicast
/// address (the checks smoltcp makes before it answers or fills its cache);
/// a router advertisement's prefix is no longer than 128 bits and not
/// multicast (smoltcp's SLAAC builds an `Ipv6Cidr` from it, which panics
/// past 128, and an address, which panics the interface when multicast).
#[cfg(feature = "ipv6")]
fn ndisc_valid(ndisc: &NdiscRepr<'_>) -> bool {
    let (target_addr, lladdr) = match ndisc {
        NdiscRepr::NeighborSolicit {
            target_addr,
            lladdr,
        }
        | NdiscRepr::NeighborAdvert {
            target_addr,
            lladdr,
            ..
        } => (target_addr, lladdr),
        NdiscRepr::RouterAdvert { prefix_info, .. } => {
            return prefix_info.is_none_or(|p| p.prefix_len <= 128 && !p.prefix.is_multicast());
        }
        _ => return true,
    };
    lladdr.is_none_or(|l| {
        l.as_bytes().len() == 6
            && EthernetAddress::from_bytes(l.as_bytes()).is_unicast()
            && !target_addr.is_multicast()
            && !target_addr.is_unspecified()
    })
}

/// ff02::1:ff00:0/104, the solicited-node multicast prefix (RFC 4291
/// 2.7.1); the last 24 bits are those of the solicited unicast address.
#[cfg(feature = "ipv6")]
const SOLICITED_NODE_PREFIX: [u8; 13] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff];

/// A datagram for smoltcp's own DHCP or DNS socket, which the pool does
/// not hold.
#[cfg(feature = "names")]
fn for_smoltcp(us: &Us, udp: &UdpPacket<&[u8]>) -> bool {
    (us.dhcp && udp.dst_port() == DHCP_CLIENT) || (us.dns && udp.src_port() == 53)
}

#[cfg(not(feature = "names"))]
fn for_smoltcp(_: &Us, _: &UdpPacket<&[u8]>) -> bool {
    false
}

/// The DHCP client's UDP port.
#[cfg(feature = "names")]
const DHCP_CLIENT: u16 = 68;

/// A UDP datagram to the DHCP client's port.
#[cfg(feature = "names")]
fn to_dhcp_client(ip: &Ip<'_, Ipv4Packet<&[u8]>>) -> bool {
    matches!(&ip.l4, L4::Udp(Some(u)) if u.dst_port() == DHCP_CLIENT)
}

/// What a SYN (without ACK) finds in the pool.
enum SynMeets {
    /// A socket in LISTEN for its port, or no listener at all (smoltcp
    /// answers RST): smoltcp may have it.
    Room,
    /// A listener whose every slot is taken.
    Busy,
    /// A socket that already holds this connection (a retransmitted or
    /// duplicated SYN). smoltcp's socket for it would ignore a SYN without
    /// ACK, but smoltcp hands a segment to the first socket in its set
    /// that accepts it, and a socket in LISTEN accepts any SYN for its
    /// port: had one come first, it would open a second connection for the
    /// same four numbers, and the client would meet two sequence spaces
    /// and a reset. So the gate drops it, as the right socket would.
    Connection,
}

/// A SYN from `from` for `port`: see [`SynMeets`].
fn syn_meets(pool: &Pool<'_, '_>, from: IpEndpoint, port: u16) -> SynMeets {
    let listener = pool
        .listeners
        .iter()
        .position(|l| l.is_some_and(|l| l.port == port));
    let mut listening = false;
    // Idle entries are closed: neither listening nor the SYN's.
    for entry in pool.tcp {
        // Tracking is up to date (see `Pool`): no look into smoltcp's
        // set for each socket.
        let (state, matches) = tracked_match(entry, port, from);
        let same = matches && state != tcp::State::Listen;
        debug_assert!(
            entry.idle() || {
                let socket = pool.sockets.get::<tcp::Socket>(entry.handle());
                let was = socket.local_endpoint().is_some_and(|l| l.port == port)
                    && socket.remote_endpoint() == Some(from);
                socket.state() == state && (state == tcp::State::Listen || was == same)
            },
            "connection tracking fell behind a socket before a SYN"
        );
        if state == tcp::State::Listen {
            listening |= listener.is_some_and(|n| entry.owner == Owner::Slot(n as u8));
            continue;
        }
        // A SYN after TIME-WAIT may start the next connection of the same
        // four numbers (RFC 6191), as before.
        if same && state != tcp::State::TimeWait {
            return SynMeets::Connection;
        }
        if same {
            return SynMeets::Room;
        }
    }
    if listener.is_some() && !listening {
        SynMeets::Busy
    } else {
        SynMeets::Room
    }
}

#[cfg(test)]
mod tests;
