//! No panic on any frame: random bytes, and valid frames with bytes
//! mutated and their checksums recomputed (so they get past the checksum
//! checks into the deeper parsers), thrown at a stack that is serving. It
//! must still serve afterwards, over IPv4 and over IPv6. The IPv6 frames
//! reach a stack that takes SLAAC addresses from router advertisements.

use layernet::app::echo::{EchoClient, EchoServer};
use layernet::app::{Outcome, ports};
use layernet::host::sim::{SimNet, host_ip, host_mac};
use layernet::link::rng::Rng;
use layernet::link::segment::Faults;
use layernet::net::{Config, link_local, profile};
use layernet::{Duration, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv6Address};
use smoltcp::phy::{ChecksumCapabilities, Device, TxToken};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet,
    Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, NdiscPrefixInfoFlags,
    NdiscPrefixInformation, NdiscRepr, NdiscRouterFlags, RawHardwareAddress, TcpControl, TcpPacket,
    TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};

const ATTACKER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x66]);
const ATTACKER_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 66);
const VICTIM_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);

fn ipv4_frame(
    proto: IpProtocol,
    payload_len: usize,
    emit: impl FnOnce(&mut [u8], &Ipv4Repr),
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: ATTACKER_IP,
        dst_addr: VICTIM_IP,
        next_header: proto,
        payload_len,
        hop_limit: 64,
    };
    let mut f = vec![0u8; 14 + 20 + payload_len];
    let eth = EthernetRepr {
        src_addr: ATTACKER_MAC,
        dst_addr: host_mac(0),
        ethertype: EthernetProtocol::Ipv4,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ip.emit(
        &mut Ipv4Packet::new_unchecked(&mut f[14..]),
        &ChecksumCapabilities::default(),
    );
    emit(&mut f[34..], &ip);
    f
}

/// An IPv6 frame from the attacker's link-local address to `dst`, with
/// room for `len` bytes of `next` that `emit` writes (given the source).
fn ipv6_frame(
    dst: Ipv6Address,
    next: IpProtocol,
    len: usize,
    emit: impl FnOnce(&mut [u8], Ipv6Address),
) -> Vec<u8> {
    let ip = Ipv6Repr {
        src_addr: link_local(ATTACKER_MAC).address(),
        dst_addr: dst,
        next_header: next,
        payload_len: len,
        // Neighbour discovery is only taken from the link itself.
        hop_limit: 255,
    };
    let mut f = vec![0u8; 14 + ip.buffer_len() + len];
    let [.., a, b, c, d] = dst.octets();
    let eth = EthernetRepr {
        src_addr: ATTACKER_MAC,
        dst_addr: if dst.is_multicast() {
            EthernetAddress([0x33, 0x33, a, b, c, d])
        } else {
            host_mac(0)
        },
        ethertype: EthernetProtocol::Ipv6,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut f[14..]));
    emit(&mut f[54..], ip.src_addr);
    f
}

fn victim_ll() -> Ipv6Address {
    link_local(host_mac(0)).address()
}

fn icmpv6(dst: Ipv6Address, repr: Icmpv6Repr<'_>) -> Vec<u8> {
    ipv6_frame(dst, IpProtocol::Icmpv6, repr.buffer_len(), |buf, src| {
        let caps = ChecksumCapabilities::default();
        repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(buf), &caps)
    })
}

fn echo_request_v6() -> Vec<u8> {
    let data = b"hostile ping";
    icmpv6(
        victim_ll(),
        Icmpv6Repr::EchoRequest {
            ident: 0x4c4e,
            seq_no: 1,
            data,
        },
    )
}

/// A solicitation for the victim's link-local address, to its
/// solicited-node group.
fn neighbour_solicitation() -> Vec<u8> {
    let mut group = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    group[13..].copy_from_slice(&victim_ll().octets()[13..]);
    let ns = NdiscRepr::NeighborSolicit {
        target_addr: victim_ll(),
        lladdr: Some(RawHardwareAddress::from(ATTACKER_MAC)),
    };
    icmpv6(Ipv6Address::from(group), Icmpv6Repr::Ndisc(ns))
}

/// A router advertisement of a prefix for SLAAC, to all nodes; `fd00:N::`
/// with N random unless given.
fn router_advertisement(rng: &mut Rng, prefix: Option<Ipv6Address>, prefix_len: u8) -> Vec<u8> {
    let random = Ipv6Address::new(0xfd00, rng.below(4) as u16, 0, 0, 0, 0, 0, 0);
    let ra = NdiscRepr::RouterAdvert {
        hop_limit: 64,
        flags: NdiscRouterFlags::empty(),
        router_lifetime: Duration::from_secs(rng.below(2000)),
        reachable_time: Duration::ZERO,
        retrans_time: Duration::ZERO,
        lladdr: Some(RawHardwareAddress::from(ATTACKER_MAC)),
        mtu: Some(1500),
        prefix_info: Some(NdiscPrefixInformation {
            prefix_len,
            flags: NdiscPrefixInfoFlags::ON_LINK | NdiscPrefixInfoFlags::ADDRCONF,
            valid_lifetime: Duration::from_secs(30 + rng.below(100)),
            preferred_lifetime: Duration::from_secs(30),
            prefix: prefix.unwrap_or(random),
        }),
    };
    let all_nodes = smoltcp::wire::IPV6_LINK_LOCAL_ALL_NODES;
    icmpv6(all_nodes, Icmpv6Repr::Ndisc(ra))
}

fn tcp_syn(rng: &mut Rng) -> Vec<u8> {
    let repr = syn_repr(rng);
    ipv4_frame(IpProtocol::Tcp, repr.buffer_len(), |buf, ip| {
        repr.emit(
            &mut TcpPacket::new_unchecked(buf),
            &IpAddress::Ipv4(ip.src_addr),
            &IpAddress::Ipv4(ip.dst_addr),
            &ChecksumCapabilities::default(),
        )
    })
}

fn tcp_syn_v6(rng: &mut Rng) -> Vec<u8> {
    let repr = syn_repr(rng);
    let dst = victim_ll();
    ipv6_frame(dst, IpProtocol::Tcp, repr.buffer_len(), |buf, src| {
        repr.emit(
            &mut TcpPacket::new_unchecked(buf),
            &IpAddress::Ipv6(src),
            &IpAddress::Ipv6(dst),
            &ChecksumCapabilities::default(),
        )
    })
}

fn syn_repr(rng: &mut Rng) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 40000 + (rng.below(1000) as u16),
        dst_port: [ports::ECHO, 80, 1][rng.below(3) as usize],
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(rng.next_u64() as i32),
        ack_number: None,
        window_len: 1024,
        window_scale: Some(7),
        max_seg_size: Some(1460),
        sack_permitted: true,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: b"payload!",
    }
}

fn udp(rng: &mut Rng) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: 5000,
        dst_port: [ports::CHAT, 53, 6868][rng.below(3) as usize],
    };
    let payload = b"datagram";
    ipv4_frame(
        IpProtocol::Udp,
        repr.header_len() + payload.len(),
        |buf, ip| {
            repr.emit(
                &mut UdpPacket::new_unchecked(buf),
                &IpAddress::Ipv4(ip.src_addr),
                &IpAddress::Ipv4(ip.dst_addr),
                payload.len(),
                |p| p.copy_from_slice(payload),
                &ChecksumCapabilities::default(),
            )
        },
    )
}

fn arp() -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: ATTACKER_MAC,
        source_protocol_addr: ATTACKER_IP,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: VICTIM_IP,
    };
    let mut f = vec![0u8; 14 + repr.buffer_len()];
    EthernetRepr {
        src_addr: ATTACKER_MAC,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    repr.emit(&mut ArpPacket::new_unchecked(&mut f[14..]));
    f
}

/// Recompute the IPv4 header checksum and the TCP/UDP/ICMPv6 checksum
/// where the mutated lengths still allow it, so the frame reaches the deep
/// parsers. The EtherType picks the IP version, as the stack's does.
fn fix_checksums(f: &mut [u8]) {
    let ipv6 = f.get(12..14) == Some(&[0x86, 0xdd][..]);
    let Some(ip_bytes) = f.get_mut(14..) else {
        return;
    };
    if ipv6 {
        let Ok(mut ip) = Ipv6Packet::new_checked(&mut *ip_bytes) else {
            return;
        };
        let (src, dst, proto) = (ip.src_addr(), ip.dst_addr(), ip.next_header());
        if proto == IpProtocol::Icmpv6 {
            if let Ok(mut icmp) = Icmpv6Packet::new_checked(ip.payload_mut()) {
                icmp.fill_checksum(&src, &dst);
            }
            return;
        }
        fix_transport(proto, ip.payload_mut(), (src.into(), dst.into()));
        return;
    }
    let Ok(mut ip) = Ipv4Packet::new_checked(&mut *ip_bytes) else {
        return;
    };
    ip.fill_checksum();
    let (src, dst, proto) = (ip.src_addr(), ip.dst_addr(), ip.next_header());
    fix_transport(proto, ip.payload_mut(), (src.into(), dst.into()));
}

fn fix_transport(proto: IpProtocol, payload: &mut [u8], (src, dst): (IpAddress, IpAddress)) {
    match proto {
        IpProtocol::Tcp => {
            if let Ok(mut t) = TcpPacket::new_checked(payload) {
                t.fill_checksum(&src, &dst);
            }
        }
        IpProtocol::Udp => {
            if let Ok(mut u) = UdpPacket::new_checked(payload) {
                u.fill_checksum(&src, &dst);
            }
        }
        _ => {}
    }
}

/// Host 0, the victim: the usual address, and SLAAC on so that router
/// advertisements reach smoltcp's address configuration.
fn slaac_victim(net: &mut SimNet) {
    let config = Config {
        slaac: true,
        ..Config::new(host_mac(0), host_ip(0))
    };
    let memory: &'static mut profile::Host<'static> = Box::leak(Box::default());
    net.add_host_with(config, memory).unwrap();
}

#[test]
fn random_and_mutated_frames_never_panic_and_service_goes_on() {
    let mut net = SimNet::new(99, Faults::NONE);
    slaac_victim(&mut net);
    net.add_host().unwrap();
    let server = EchoServer::<4>::bind(net.stack(0), ports::ECHO, 4).unwrap();
    net.serve(0, Box::new(server));
    let mut attacker = net.raw_port(3, ATTACKER_MAC).unwrap();
    let mut rng = Rng::new(12345);
    const FRAMES: usize = 20_000;
    for i in 0..FRAMES {
        let mut f = match i % 9 {
            0 => {
                let len = rng.below(200) as usize;
                let mut f: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                if f.len() >= 14 {
                    f[..6].copy_from_slice(&host_mac(0).0);
                    let ethertype = [[0x08, 0x00], [0x08, 0x06], [0x86, 0xdd]];
                    f[12..14].copy_from_slice(&ethertype[i % 3]);
                }
                f
            }
            1 => tcp_syn(&mut rng),
            2 => tcp_syn_v6(&mut rng),
            3 => udp(&mut rng),
            4 => arp(),
            5 => echo_request_v6(),
            6 => neighbour_solicitation(),
            7 => router_advertisement(&mut rng, None, 64),
            _ => [tcp_syn, tcp_syn_v6][i % 2](&mut rng),
        };
        // Mutate a few bytes past the Ethernet addresses, sometimes cut the frame.
        for _ in 0..1 + rng.below(4) {
            if f.len() > 12 {
                let at = 12 + rng.below(f.len() as u64 - 12) as usize;
                f[at] = rng.next_u64() as u8;
            }
        }
        if rng.percent(10) {
            let keep = rng.below(f.len() as u64 + 1) as usize;
            f.truncate(keep);
        }
        if rng.percent(70) {
            fix_checksums(&mut f);
        }
        let now = net.now();
        if let Some(tx) = attacker.transmit(now) {
            tx.consume(f.len(), |buf| buf.copy_from_slice(&f));
        }
        if i % 16 == 0 {
            net.run_for(Duration::from_millis(1));
            while attacker.receive(net.now()).is_some() {}
        }
    }
    net.run_for(Duration::from_secs(5));
    let stats = net.stats();
    println!(
        "{FRAMES} hostile frames offered; segment: {stats:?}; gate {:?}",
        net.stack(0).counters()
    );

    // The stack still serves a real client, byte for byte.
    let to = IpEndpoint::new(IpAddress::Ipv4(VICTIM_IP), ports::ECHO);
    let mut client = EchoClient::<1000>::new(to, &[b'z'; 1000]);
    let start = net.now();
    assert!(net.run_client(1, &mut client, Duration::from_secs(120)));
    assert_eq!(client.outcome(), Outcome::Done);
    assert_eq!(client.received(), [b'z'; 1000]);
    // Half-open connections from the flood held the slots until
    // HANDSHAKE_TIMEOUT; the client's retransmitted SYN got in after that.
    println!(
        "real client served {} ms (virtual) after the flood",
        (net.now() - start).total_millis()
    );

    // And over IPv6, to the link-local address, after neighbour discovery.
    let to = IpEndpoint::new(IpAddress::Ipv6(victim_ll()), ports::ECHO);
    let mut client = EchoClient::<1000>::new(to, &[b'6'; 1000]);
    assert!(net.run_client(1, &mut client, Duration::from_secs(120)));
    assert_eq!(client.outcome(), Outcome::Done);
    assert_eq!(client.received(), [b'6'; 1000]);
    let seen = net.stack(0).counters();
    assert!(
        seen.ipv6_rx > 1000 && seen.ndp_rx > 1000 && seen.icmpv6_tx > 0,
        "IPv6 reached the stack and it answered: {seen:?}"
    );
}

/// smoltcp 0.14's SLAAC asserts that an advertised prefix is at most 128
/// bits long, and the interface that the address it derives is unicast: one
/// such advertisement would bring the stack down.
#[test]
fn a_prefix_too_long_or_multicast_is_dropped_not_a_panic() {
    let mut net = SimNet::new(7, Faults::NONE);
    slaac_victim(&mut net);
    let mut router = net.raw_port(1, ATTACKER_MAC).unwrap();
    let mut rng = Rng::new(7);
    let multicast = Ipv6Address::new(0xff00, 1, 0x200, 0, 0, 0, 0, 0);
    let cases = [(None, 129), (None, 255), (Some(multicast), 64), (None, 64)];
    for (prefix, prefix_len) in cases {
        let ra = router_advertisement(&mut rng, prefix, prefix_len);
        if let Some(tx) = router.transmit(net.now()) {
            tx.consume(ra.len(), |buf| buf.copy_from_slice(&ra));
        }
        net.run_for(Duration::from_millis(10));
    }
    // Past the SLAAC update (a poll's maintenance) that would have panicked.
    net.run_for(Duration::from_secs(1));
    let seen = net.stack(0).counters();
    assert_eq!((seen.ndp_rx, seen.dropped_malformed), (4, 3));
    assert_eq!(net.stack(0).ipv6_addrs().count(), 2, "the /64 was taken");
}
