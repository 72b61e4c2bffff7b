//! IPv6 beside IPv4 in the simulation, no root needed: link-local
//! addresses from the MAC, static addresses, neighbour discovery, ICMPv6
//! echo, TCP and UDP services reached over IPv6, and SLAAC from a
//! hand-made router's advertisement.

use layernet::app::Outcome;
use layernet::app::echo::{EchoClient, EchoServer};
use layernet::app::ping::Pinger;
use layernet::host::sim::{SimNet, host_mac};
use layernet::link::segment::Faults;
use layernet::net::{Config, ConfigError, link_local, profile};
use layernet::socket::UdpSocket;
use layernet::{
    Duration, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr,
};
use smoltcp::phy::{ChecksumCapabilities, Device, RxToken, TxToken};
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet, Icmpv6Repr, IpProtocol,
    Ipv6Packet, Ipv6Repr, NdiscPrefixInfoFlags, NdiscPrefixInformation, NdiscRepr,
    NdiscRouterFlags,
};

fn v6(text: &str) -> Ipv6Address {
    text.parse().unwrap_or(Ipv6Address::UNSPECIFIED)
}

fn at(addr: Ipv6Address, port: u16) -> IpEndpoint {
    IpEndpoint::new(IpAddress::Ipv6(addr), port)
}

/// Host `i` of a segment, with a static IPv6 address `ip6` beside its IPv4.
fn host(net: &mut SimNet, i: u8, ip6: Option<Ipv6Cidr>) -> Result<usize, ConfigError> {
    let ip = Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, i), 24);
    let config = Config {
        ip6,
        ..Config::new(host_mac(usize::from(i) - 1), ip)
    };
    net.add_host_with(config, Box::leak(Box::new(profile::Tiny::new())))
}

#[test]
fn link_local_addresses_come_from_the_mac() {
    let (mut net, a, b) = SimNet::pair(1).expect("pair");
    for h in [a, b] {
        let addrs: Vec<Ipv6Cidr> = net.stack(h).ipv6_addrs().collect();
        assert_eq!(addrs, [link_local(host_mac(h))], "host {h}");
    }
    assert_eq!(
        link_local(host_mac(a)).address(),
        v6("fe80::ff:fe00:1"),
        "02:00:00:00:00:01 with its universal/local bit flipped"
    );
}

#[test]
fn echo_and_ping_over_link_local_addresses() {
    let (mut net, a, b) = SimNet::pair(2).expect("pair");
    let server_ll = link_local(host_mac(a)).address();
    let server = EchoServer::<2>::bind(net.stack(a), 7, 2).expect("bind");
    net.serve(a, Box::new(server));

    // The first segment waits for neighbour discovery (NS out, NA back).
    let mut client = EchoClient::<64>::new(at(server_ll, 7), b"over IPv6");
    assert!(net.run_client(b, &mut client, Duration::from_secs(5)));
    assert_eq!(client.outcome(), Outcome::Done);
    assert_eq!(client.received(), b"over IPv6");

    let mut ping = Pinger::new(server_ll, 3, Duration::from_millis(100));
    assert!(net.run_client(b, &mut ping, Duration::from_secs(5)));
    assert_eq!((ping.outcome(), ping.replies()), (Outcome::Done, 3));

    let (ca, cb) = (net.stack(a).counters(), net.stack(b).counters());
    println!("server: {ca:?}\nclient: {cb:?}");
    assert!(
        cb.ndp_tx >= 1 && cb.ndp_rx >= 1,
        "the client solicited, the server advertised"
    );
    assert!(
        ca.icmpv6_rx >= 4,
        "3 echo requests and a solicitation reached the server"
    );
    assert!(
        ca.ipv6_tx > 0 && ca.tcp_tx > 0 && ca.ipv4_tx == 0,
        "no IPv4 was needed"
    );
    assert_eq!(ca.dropped_total() + cb.dropped_total(), 0);
    // The copy of the neighbour cache (the live view's NDP table): each
    // learnt the other's link-local address by NDP, at its MAC.
    let client_ll = link_local(host_mac(b)).address();
    for (h, peer, mac) in [(a, client_ll, host_mac(b)), (b, server_ll, host_mac(a))] {
        let learnt: Vec<_> = net.stack(h).neighbors().map(|n| (n.ip, n.mac)).collect();
        assert!(learnt.contains(&(peer.into(), mac)), "host {h}: {learnt:?}");
    }
}

#[test]
fn static_addresses_carry_udp_and_tcp_and_ipv4_still_works() {
    let mut net = SimNet::new(3, Faults::NONE);
    let prefix = |a| Some(Ipv6Cidr::new(v6(a), 64));
    let a = host(&mut net, 1, prefix("fd00::1")).expect("a");
    let b = host(&mut net, 2, prefix("fd00::2")).expect("b");
    let addrs: Vec<Ipv6Address> = net.stack(a).ipv6_addrs().map(|c| c.address()).collect();
    assert_eq!(addrs, [v6("fe80::ff:fe00:1"), v6("fd00::1")]);

    let mut rx = UdpSocket::bind(net.stack(a), 5000).expect("bind");
    let mut tx = UdpSocket::bind(net.stack(b), 0).expect("bind");
    tx.send_to(net.stack(b), b"datagram", at(v6("fd00::1"), 5000))
        .expect("send");
    net.run_for(Duration::from_millis(50));
    let mut buf = [0u8; 16];
    let (n, from) = rx.recv_from(net.stack(a), &mut buf).expect("a datagram");
    assert_eq!(&buf[..n], b"datagram");
    assert_eq!(
        from.addr,
        IpAddress::Ipv6(v6("fd00::2")),
        "sent from b's global address"
    );

    let server = EchoServer::<2>::bind(net.stack(a), 7, 2).expect("bind");
    net.serve(a, Box::new(server));
    for to in [
        at(v6("fd00::1"), 7),
        IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 1)), 7),
    ] {
        let mut client = EchoClient::<16>::new(to, b"both families");
        assert!(
            net.run_client(b, &mut client, Duration::from_secs(5)),
            "{to}"
        );
        assert_eq!(client.received(), b"both families", "{to}");
    }
}

#[test]
fn a_multicast_static_address_is_refused() {
    let mut net = SimNet::new(4, Faults::NONE);
    let refused = host(&mut net, 1, Some(Ipv6Cidr::new(v6("ff02::1"), 64)));
    assert_eq!(refused, Err(ConfigError::BadIpv6Address));
    assert!(
        ConfigError::BadIpv6Address
            .to_string()
            .contains("IPv6 address")
    );
}

const ROUTER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x99]);

/// The router's advertisement of `prefix`/64 to all nodes, as a frame.
fn advertisement(prefix: Ipv6Address, valid: u64) -> Vec<u8> {
    let router = link_local(ROUTER_MAC).address();
    let all_nodes = smoltcp::wire::IPV6_LINK_LOCAL_ALL_NODES;
    let ndisc = Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
        hop_limit: 64,
        flags: NdiscRouterFlags::empty(),
        router_lifetime: Duration::from_secs(1800),
        reachable_time: Duration::ZERO,
        retrans_time: Duration::ZERO,
        lladdr: Some(ROUTER_MAC.into()),
        mtu: None,
        prefix_info: Some(NdiscPrefixInformation {
            prefix_len: 64,
            flags: NdiscPrefixInfoFlags::ON_LINK | NdiscPrefixInfoFlags::ADDRCONF,
            valid_lifetime: Duration::from_secs(valid),
            preferred_lifetime: Duration::from_secs(valid),
            prefix,
        }),
    });
    let to_all = EthernetAddress([0x33, 0x33, 0, 0, 0, 1]);
    router_frame((router, all_nodes), to_all, &ndisc)
}

/// `message` from the router's port, `addrs` (source, destination) to the
/// Ethernet address `to`, hop limit 255 as neighbour discovery wants.
fn router_frame(
    addrs: (Ipv6Address, Ipv6Address),
    to: EthernetAddress,
    message: &Icmpv6Repr,
) -> Vec<u8> {
    let ip = Ipv6Repr {
        src_addr: addrs.0,
        dst_addr: addrs.1,
        next_header: IpProtocol::Icmpv6,
        payload_len: message.buffer_len(),
        hop_limit: 255,
    };
    let eth = EthernetRepr {
        src_addr: ROUTER_MAC,
        dst_addr: to,
        ethertype: EthernetProtocol::Ipv6,
    };
    let mut frame = vec![0u8; eth.buffer_len() + ip.buffer_len() + message.buffer_len()];
    let mut e = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.emit(&mut e);
    let mut packet = Ipv6Packet::new_unchecked(e.payload_mut());
    ip.emit(&mut packet);
    let mut icmp = Icmpv6Packet::new_unchecked(packet.payload_mut());
    let caps = ChecksumCapabilities::default();
    message.emit(&addrs.0, &addrs.1, &mut icmp, &caps);
    frame
}

/// The ICMPv6 message `frame` carries, with its Ethernet and IPv6
/// destinations.
fn icmpv6_in(frame: &[u8]) -> Option<(EthernetAddress, Ipv6Address, Icmpv6Repr<'_>)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let start = 14 + 40;
    let payload = frame.get(start..start + usize::from(ip.payload_len()))?;
    let icmp = Icmpv6Packet::new_checked(payload).ok()?;
    let repr = Icmpv6Repr::parse(&src, &dst, &icmp, &ChecksumCapabilities::default()).ok()?;
    Some((eth.dst_addr(), dst, repr))
}

/// Router solicitations among `frames`.
fn solicitations(frames: &[Vec<u8>]) -> usize {
    let rs = |f: &&Vec<u8>| {
        matches!(
            icmpv6_in(f),
            Some((_, _, Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { .. })))
        )
    };
    frames.iter().filter(rs).count()
}

#[test]
fn slaac_takes_an_address_from_a_router_advertisement_and_drops_it_when_it_expires() {
    let mut net = SimNet::new(5, Faults::NONE);
    let config = Config {
        slaac: true,
        ..Config::new(
            host_mac(0),
            Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 1), 24),
        )
    };
    let h = net
        .add_host_with(config, Box::leak(Box::new(profile::Tiny::new())))
        .expect("host");
    let mut router = net.raw_port(1, ROUTER_MAC).expect("router port");
    let mut heard = Vec::new();
    let now = |net: &SimNet| net.now();
    for _ in 0..50 {
        net.run_for(Duration::from_millis(100));
        while let Some((rx, _)) = router.receive(now(&net)) {
            rx.consume(|f| heard.push(f.to_vec()));
        }
        if solicitations(&heard) > 0 {
            break;
        }
    }
    assert!(solicitations(&heard) > 0, "a router solicitation went out");

    let prefix = v6("fd00:1::");
    let ra = advertisement(prefix, 30);
    if let Some(tx) = router.transmit(now(&net)) {
        tx.consume(ra.len(), |buf| buf.copy_from_slice(&ra));
    }
    net.run_for(Duration::from_secs(1));
    let expected = Ipv6Cidr::new(v6("fd00:1::ff:fe00:1"), 64);
    let addrs: Vec<Ipv6Cidr> = net.stack(h).ipv6_addrs().collect();
    assert_eq!(addrs, [link_local(host_mac(0)), expected]);

    // Nobody renews it: 30 s later the address is gone, the link-local stays.
    net.run_for(Duration::from_secs(35));
    let addrs: Vec<Ipv6Cidr> = net.stack(h).ipv6_addrs().collect();
    assert_eq!(addrs, [link_local(host_mac(0))]);
}

#[test]
fn the_demo_runs_its_ipv6_exchange_when_named() {
    use layernet::host::demo::{Options, run};
    let report = run(Options {
        only: Some("ipv6"),
        ..Options::default()
    })
    .expect("demo");
    let e = &report.exchanges[0];
    println!("{}: {} ({})", e.name, e.route, e.detail);
    assert!(report.all_ok(), "{}", e.detail);
    assert_eq!(e.route, "fe80::ff:fe00:3 -> [fe80::ff:fe00:1]:7");
    assert!(e.census.nd_solicits >= 1 && e.census.nd_adverts >= 1);
    let default = run(Options::default()).expect("demo");
    assert!(
        default.exchanges.iter().all(|e| e.name != "ipv6"),
        "only when named"
    );
}

/// A neighbour solicitation for `target` from `src` (outside every prefix
/// of the stack's), sent by the router port.
fn solicitation(src: Ipv6Address, target: Ipv6Address) -> Vec<u8> {
    let group = v6(&format!("ff02::1:ff00:{:x}", target.octets()[15]));
    let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
        target_addr: target,
        lladdr: Some(ROUTER_MAC.into()),
    });
    let to = EthernetAddress([0x33, 0x33, 0xff, 0, 0, target.octets()[15]]);
    router_frame((src, group), to, &ns)
}

#[test]
fn a_solicitation_from_outside_our_prefixes_is_answered_as_rfc_4861_says() {
    let (mut net, a, _) = SimNet::pair(6).expect("pair");
    let ours = link_local(host_mac(a)).address();
    let mut router = net.raw_port(2, ROUTER_MAC).expect("port");
    let ns = solicitation(v6("fd00::100"), ours);
    if let Some(tx) = router.transmit(net.now()) {
        tx.consume(ns.len(), |buf| buf.copy_from_slice(&ns));
    }
    net.run_for(Duration::from_millis(10));
    let mut adverts = Vec::new();
    while let Some((rx, _)) = router.receive(net.now()) {
        rx.consume(|f| {
            if let Some((
                mac,
                to,
                Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert { target_addr, .. }),
            )) = icmpv6_in(f)
            {
                adverts.push((mac, to, target_addr));
            }
        });
    }
    assert_eq!(
        adverts,
        [(ROUTER_MAC, v6("fd00::100"), ours)],
        "one answer, to the sender"
    );
}
