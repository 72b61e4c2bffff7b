//! The gate's verdicts on crafted frames, and the counters a stack keeps
//! for them.

use super::*;
use smoltcp::iface::SocketStorage;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, EthernetRepr, Ipv4Address, Ipv4Repr, TcpControl, TcpRepr,
    TcpSeqNumber,
};

const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const OURS: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);
const PEER: Ipv4Address = Ipv4Address::new(192, 168, 69, 2);

fn us() -> Us {
    Us {
        mac: MAC,
        cidr: Ipv4Cidr::new(OURS, 24),
        #[cfg(feature = "ipv6")]
        v6: [Some(crate::net::link_local(MAC).address()), None, None],
        #[cfg(feature = "names")]
        dhcp: false,
        #[cfg(feature = "names")]
        dns: false,
    }
}

/// A TCP segment from port 40000 to port 7, without options or data.
fn segment(control: TcpControl) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 40000,
        dst_port: 7,
        control,
        seq_number: TcpSeqNumber(1000),
        ack_number: None,
        window_len: 1024,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    }
}

/// An Ethernet frame holding a TCP segment PEER:40000 -> `dst`:7.
fn tcp_frame(dst: Ipv4Address, control: TcpControl, buf: &mut [u8; 54]) {
    let tcp = segment(control);
    let ip = Ipv4Repr {
        src_addr: PEER,
        dst_addr: dst,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.header_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        dst_addr: MAC,
        ethertype: EthernetProtocol::Ipv4,
    };
    let caps = ChecksumCapabilities::default();
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet, &caps);
    let mut segment = TcpPacket::new_unchecked(packet.payload_mut());
    tcp.emit(&mut segment, &PEER.into(), &dst.into(), &caps);
}

fn verdict(frame: &[u8]) -> Verdict {
    let mut storage: [SocketStorage; 1] = Default::default();
    let sockets = SocketSet::new(&mut storage[..]);
    let pool = Pool {
        sockets: &sockets,
        tcp: &[],
        udp: &[],
        listeners: &[],
    };
    inspect(frame, us(), &pool)
}

#[test]
fn garbage_is_malformed() {
    assert_eq!(verdict(&[]), Verdict::Drop(DropReason::Malformed));
    assert_eq!(verdict(&[0xff; 13]), Verdict::Drop(DropReason::Malformed));
    let mut frame = [0u8; 54];
    frame[..6].copy_from_slice(&MAC.0);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    frame[14] = 0x44; // IPv4 header length 4 words: under the minimum
    assert_eq!(verdict(&frame), Verdict::Drop(DropReason::Malformed));
}

#[test]
fn a_syn_to_a_closed_port_is_admitted_with_a_note() {
    let mut frame = [0u8; 54];
    tcp_frame(OURS, TcpControl::Syn, &mut frame);
    let to = IpEndpoint::new(OURS.into(), 7);
    let note = NoSocket {
        transport: Transport::Tcp,
        to,
    };
    assert_eq!(verdict(&frame), Verdict::Admit(Some(note)));
}

#[test]
fn checksums_addresses_and_fragments_have_their_reasons() {
    let mut frame = [0u8; 54];
    tcp_frame(OURS, TcpControl::Syn, &mut frame);
    let mut bad = frame;
    bad[53] ^= 1; // inside the TCP header: its checksum no longer holds
    assert_eq!(verdict(&bad), Verdict::Drop(DropReason::BadChecksum));
    let mut bad = frame;
    bad[22] ^= 1; // the TTL: the IPv4 header checksum no longer holds
    assert_eq!(verdict(&bad), Verdict::Drop(DropReason::BadChecksum));

    tcp_frame(
        Ipv4Address::new(192, 168, 69, 9),
        TcpControl::Syn,
        &mut frame,
    );
    assert_eq!(verdict(&frame), Verdict::Drop(DropReason::NotForUs));
    let mut other_mac = frame;
    other_mac[5] = 9;
    assert_eq!(verdict(&other_mac), Verdict::Drop(DropReason::NotForUs));

    tcp_frame(OURS, TcpControl::Syn, &mut frame);
    frame[20] = 0x20; // more fragments; the header checksum must follow
    let mut packet = Ipv4Packet::new_unchecked(&mut frame[14..]);
    packet.fill_checksum();
    assert_eq!(verdict(&frame), Verdict::Drop(DropReason::Fragment));
}

/// IPv6 frames from a peer's link-local address, and the counters a
/// stack would keep for them.
#[cfg(feature = "ipv6")]
mod v6 {
    use super::*;
    use crate::net::Counters;
    use crate::net::observe::Direction;
    use smoltcp::time::Duration;
    use smoltcp::wire::{
        Icmpv6Packet, Ipv6Repr, NdiscPrefixInfoFlags, NdiscPrefixInformation, NdiscRepr,
        NdiscRouterFlags, RawHardwareAddress,
    };

    const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    fn ours() -> Ipv6Address {
        crate::net::link_local(MAC).address()
    }

    fn peer() -> Ipv6Address {
        crate::net::link_local(PEER_MAC).address()
    }

    fn addr(text: &str) -> Ipv6Address {
        text.parse().unwrap_or(Ipv6Address::UNSPECIFIED)
    }

    /// An Ethernet frame with an IPv6 header `src` -> `dst` and room
    /// for `len` bytes of `next`, which `fill` writes.
    fn frame(
        (src, dst): (Ipv6Address, Ipv6Address),
        next: IpProtocol,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Vec<u8> {
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: next,
            payload_len: len,
            hop_limit: 255,
        };
        let mut f = vec![0u8; 14 + ip.buffer_len() + len];
        let eth = EthernetRepr {
            src_addr: PEER_MAC,
            // Multicast groups go to a multicast MAC; the gate admits
            // any multicast MAC and judges by the IPv6 address.
            dst_addr: if dst.is_multicast() {
                EthernetAddress([0x33, 0x33, 0, 0, 0, 1])
            } else {
                MAC
            },
            ethertype: EthernetProtocol::Ipv6,
        };
        let mut e = EthernetFrame::new_unchecked(&mut f[..]);
        eth.emit(&mut e);
        let mut packet = Ipv6Packet::new_unchecked(e.payload_mut());
        ip.emit(&mut packet);
        fill(packet.payload_mut());
        f
    }

    fn icmp(addrs: (Ipv6Address, Ipv6Address), repr: Icmpv6Repr<'_>) -> Vec<u8> {
        frame(addrs, IpProtocol::Icmpv6, repr.buffer_len(), |buf| {
            let mut packet = Icmpv6Packet::new_unchecked(buf);
            let caps = ChecksumCapabilities::default();
            repr.emit(&addrs.0, &addrs.1, &mut packet, &caps);
        })
    }

    fn echo(addrs: (Ipv6Address, Ipv6Address)) -> Vec<u8> {
        let repr = Icmpv6Repr::EchoRequest {
            ident: 1,
            seq_no: 2,
            data: b"ping",
        };
        icmp(addrs, repr)
    }

    fn syn(addrs: (Ipv6Address, Ipv6Address)) -> Vec<u8> {
        let tcp = segment(TcpControl::Syn);
        frame(addrs, IpProtocol::Tcp, tcp.buffer_len(), |buf| {
            let caps = ChecksumCapabilities::default();
            let (src, dst) = (addrs.0.into(), addrs.1.into());
            tcp.emit(&mut TcpPacket::new_unchecked(buf), &src, &dst, &caps);
        })
    }

    fn datagram(addrs: (Ipv6Address, Ipv6Address)) -> Vec<u8> {
        let udp = UdpRepr {
            src_port: 5000,
            dst_port: 6868,
        };
        frame(addrs, IpProtocol::Udp, udp.header_len() + 2, |buf| {
            let caps = ChecksumCapabilities::default();
            let (src, dst) = (addrs.0.into(), addrs.1.into());
            let mut packet = UdpPacket::new_unchecked(buf);
            udp.emit(
                &mut packet,
                &src,
                &dst,
                2,
                |p| p.copy_from_slice(b"hi"),
                &caps,
            );
        })
    }

    fn solicitation(target: Ipv6Address, lladdr: EthernetAddress) -> Vec<u8> {
        let mut group = SOLICITED_NODE_PREFIX.to_vec();
        group.extend_from_slice(&target.octets()[13..]);
        let group = Ipv6Address::from(<[u8; 16]>::try_from(group).unwrap_or([0; 16]));
        let ns = NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: Some(RawHardwareAddress::from(lladdr)),
        };
        icmp((peer(), group), Icmpv6Repr::Ndisc(ns))
    }

    /// A router's advertisement of `prefix`/`prefix_len` to all nodes.
    fn advertisement(prefix: Ipv6Address, prefix_len: u8) -> Vec<u8> {
        let ra = NdiscRepr::RouterAdvert {
            hop_limit: 64,
            flags: NdiscRouterFlags::empty(),
            router_lifetime: Duration::from_secs(1800),
            reachable_time: Duration::ZERO,
            retrans_time: Duration::ZERO,
            lladdr: None,
            mtu: None,
            prefix_info: Some(NdiscPrefixInformation {
                prefix_len,
                flags: NdiscPrefixInfoFlags::ADDRCONF,
                valid_lifetime: Duration::from_secs(60),
                preferred_lifetime: Duration::from_secs(60),
                prefix,
            }),
        };
        let all_nodes = smoltcp::wire::IPV6_LINK_LOCAL_ALL_NODES;
        icmp((peer(), all_nodes), Icmpv6Repr::Ndisc(ra))
    }

    /// The verdict, and the counters the stack keeps for the frame:
    /// tallied as received, then the drop (if any) counted.
    fn judged(frame: &[u8]) -> (Verdict, Counters) {
        let mut counters = Counters::default();
        counters.tally(Direction::Rx, Frame::parse(frame).as_ref());
        let verdict = verdict(frame);
        if let Verdict::Drop(reason) = verdict {
            counters.dropped(reason);
        }
        (verdict, counters)
    }

    fn dropped(frame: &[u8], reason: DropReason) -> Counters {
        let (verdict, counters) = judged(frame);
        assert_eq!(verdict, Verdict::Drop(reason));
        assert_eq!((counters.ipv6_rx, counters.dropped_total()), (1, 1));
        counters
    }

    /// The last byte of the IPv6 payload (in the transport's data or
    /// checksum-covered header), flipped.
    fn flip_last(mut f: Vec<u8>) -> Vec<u8> {
        if let Some(b) = f.last_mut() {
            *b ^= 0x40;
        }
        f
    }

    #[test]
    fn echo_to_our_addresses_and_groups_is_admitted() {
        let solicited = addr("ff02::1:ff00:1");
        let all_nodes = smoltcp::wire::IPV6_LINK_LOCAL_ALL_NODES;
        for dst in [ours(), solicited, all_nodes] {
            let (verdict, counters) = judged(&echo((peer(), dst)));
            assert_eq!(verdict, Verdict::Admit(None), "{dst}");
            assert_eq!((counters.ipv6_rx, counters.icmpv6_rx), (1, 1), "{dst}");
            assert_eq!((counters.ndp_rx, counters.dropped_total()), (0, 0));
        }
        let (verdict, counters) = judged(&solicitation(ours(), PEER_MAC));
        assert_eq!(verdict, Verdict::Admit(None));
        assert_eq!(counters.ndp_rx, 1);
    }

    #[test]
    fn echo_with_a_bad_checksum() {
        let c = dropped(&flip_last(echo((peer(), ours()))), DropReason::BadChecksum);
        assert_eq!((c.icmpv6_rx, c.dropped_bad_checksum), (1, 1));
    }

    #[test]
    fn groups_and_addresses_not_ours() {
        // MLDv2 routers, all routers, another address's solicited-node
        // group, and an address sharing our last 16 bits (smoltcp's
        // own solicited-node test compares only those).
        let others = ["ff02::16", "ff02::2", "ff02::1:ff00:2", "fd99::ff:fe00:1"];
        for dst in others.map(addr) {
            let c = dropped(&echo((peer(), dst)), DropReason::NotForUs);
            assert_eq!(c.dropped_not_for_us, 1, "{dst}");
            dropped(&syn((peer(), dst)), DropReason::NotForUs);
        }
    }

    #[test]
    fn sources_no_station_has() {
        for src in [ours(), addr("ff02::1"), addr("ff05::2")] {
            let c = dropped(&echo((src, ours())), DropReason::Malformed);
            assert_eq!(c.dropped_malformed, 1, "{src}");
            dropped(&syn((src, ours())), DropReason::Malformed);
        }
        let unspecified = Ipv6Address::UNSPECIFIED;
        dropped(&syn((unspecified, ours())), DropReason::Malformed);
        // Duplicate address detection: legitimate, not done here.
        dropped(&echo((unspecified, ours())), DropReason::Unsupported);
    }

    #[test]
    fn extension_headers() {
        // Hop-by-hop, PadN to its 8 bytes, then ICMPv6 (MLD's shape).
        let hop = frame((peer(), ours()), IpProtocol::HopByHop, 8, |b| {
            b.copy_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
        });
        dropped(&hop, DropReason::Unsupported);
        // A first fragment of a TCP segment.
        let fragment = frame((peer(), ours()), IpProtocol::Ipv6Frag, 8, |b| {
            b.copy_from_slice(&[6, 0, 0, 1, 0, 0, 0, 7]);
        });
        let c = dropped(&fragment, DropReason::Fragment);
        assert_eq!(c.dropped_fragment, 1);
        let routing = frame((peer(), ours()), IpProtocol::Ipv6Route, 8, |_| {});
        dropped(&routing, DropReason::Unsupported);
    }

    #[test]
    fn tcp_and_udp_over_ipv6() {
        let (verdict, c) = judged(&syn((peer(), ours())));
        let to = IpEndpoint::new(ours().into(), 7);
        let transport = Transport::Tcp;
        assert_eq!(verdict, Verdict::Admit(Some(NoSocket { transport, to })));
        assert_eq!((c.ipv6_rx, c.tcp_rx, c.ipv4_rx), (1, 1, 0));

        let c = dropped(&flip_last(syn((peer(), ours()))), DropReason::BadChecksum);
        assert_eq!((c.tcp_rx, c.dropped_bad_checksum), (1, 1));
        let c = dropped(
            &flip_last(datagram((peer(), ours()))),
            DropReason::BadChecksum,
        );
        assert_eq!(c.udp_rx, 1);

        // Checksum 0, "none" over IPv4, is invalid over IPv6.
        let mut none = datagram((peer(), ours()));
        let at = 14 + 40 + 6;
        none[at..at + 2].fill(0);
        dropped(&none, DropReason::BadChecksum);
    }

    #[test]
    fn neighbour_discovery_smoltcp_would_ignore() {
        let mut off_link = solicitation(ours(), PEER_MAC);
        off_link[14 + 7] = 64; // hop limit: not in the checksum
        let c = dropped(&off_link, DropReason::Malformed);
        assert_eq!(c.ndp_rx, 1);
        let group = EthernetAddress([1, 0, 0x5e, 0, 0, 1]);
        dropped(&solicitation(ours(), group), DropReason::Malformed);
        let target = addr("ff02::1");
        dropped(&solicitation(target, PEER_MAC), DropReason::Malformed);
        // Not addressed to a group of ours: another station's business.
        dropped(&solicitation(peer(), PEER_MAC), DropReason::NotForUs);

        // A 129-bit prefix or a multicast one: smoltcp's SLAAC would
        // panic on it.
        let malformed = Some(DropReason::Malformed);
        let cases = [("fd00::", 64, None), ("fd00::", 128, None)];
        let refused = [("fd00::", 129, malformed), ("ff00::", 64, malformed)];
        for (prefix, prefix_len, verdict) in cases.into_iter().chain(refused) {
            let ra = advertisement(addr(prefix), prefix_len);
            match verdict {
                None => assert_eq!(judged(&ra).0, Verdict::Admit(None), "/{prefix_len}"),
                Some(reason) => _ = dropped(&ra, reason),
            }
        }
    }
}
