//! DHCP in the simulation, no root needed: a hand-made server on a raw
//! port of the segment grants a lease, renews it, stops answering (the
//! lease is lost) and answers again (bound again).

use layernet::host::sim::{SimNet, SimPort};
use layernet::net::DhcpEvent;
use layernet::{Duration, EthernetAddress, Instant, Ipv4Address, Ipv4Cidr};
use smoltcp::phy::{ChecksumCapabilities, Device, RxToken, TxToken};
use smoltcp::wire::{
    DhcpMessageType, DhcpPacket, DhcpRepr, EthernetFrame, EthernetProtocol, EthernetRepr,
    IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
};

const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x67]);
const SERVER: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);
const OFFERED: Ipv4Address = Ipv4Address::new(192, 168, 69, 55);
/// The lease the server grants, in seconds.
const LEASE: u32 = 20;

/// What a client asked: its message type, transaction and MAC.
fn request(frame: &[u8]) -> Option<(DhcpMessageType, u32, EthernetAddress)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    if ip.next_header() != IpProtocol::Udp || udp.dst_port() != 67 {
        return None;
    }
    let packet = DhcpPacket::new_checked(udp.payload()).ok()?;
    let dhcp = DhcpRepr::parse(&packet).ok()?;
    Some((
        dhcp.message_type,
        dhcp.transaction_id,
        dhcp.client_hardware_address,
    ))
}

/// The server's answer of type `kind` to transaction `xid` of `client`,
/// written into `buf`; its length.
fn reply(buf: &mut [u8], kind: DhcpMessageType, xid: u32, client: EthernetAddress) -> usize {
    let dhcp = DhcpRepr {
        message_type: kind,
        transaction_id: xid,
        secs: 0,
        client_hardware_address: client,
        client_ip: Ipv4Address::UNSPECIFIED,
        your_ip: OFFERED,
        server_ip: Ipv4Address::UNSPECIFIED,
        router: Some(SERVER),
        subnet_mask: Some(Ipv4Address::new(255, 255, 255, 0)),
        relay_agent_ip: Ipv4Address::UNSPECIFIED,
        broadcast: false,
        requested_ip: None,
        client_identifier: None,
        server_identifier: Some(SERVER),
        parameter_request_list: None,
        dns_servers: None,
        max_size: None,
        lease_duration: Some(LEASE),
        renew_duration: None,
        rebind_duration: None,
        additional_options: &[],
    };
    let ip = ip_header(dhcp.buffer_len());
    let eth = EthernetRepr {
        src_addr: SERVER_MAC,
        dst_addr: client,
        ethertype: EthernetProtocol::Ipv4,
    };
    let caps = ChecksumCapabilities::default();
    let mut frame = EthernetFrame::new_unchecked(buf);
    eth.emit(&mut frame);
    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet, &caps);
    let udp = UdpRepr {
        src_port: 67,
        dst_port: 68,
    };
    let (src, dst) = (SERVER.into(), OFFERED.into());
    let mut datagram = UdpPacket::new_unchecked(packet.payload_mut());
    udp.emit(
        &mut datagram,
        &src,
        &dst,
        dhcp.buffer_len(),
        |b| {
            dhcp.emit(&mut DhcpPacket::new_unchecked(b))
                .expect("the buffer fits");
        },
        &caps,
    );
    14 + 20 + 8 + dhcp.buffer_len()
}

fn ip_header(dhcp_len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: SERVER,
        dst_addr: OFFERED,
        next_header: IpProtocol::Udp,
        payload_len: 8 + dhcp_len,
        hop_limit: 64,
    }
}

/// Answer every DISCOVER with an OFFER and every REQUEST with an ACK.
fn serve(port: &mut SimPort, now: Instant) {
    while let Some((rx, _)) = port.receive(now) {
        let Some((kind, xid, client)) = rx.consume(request) else {
            continue;
        };
        let answer = match kind {
            DhcpMessageType::Discover => DhcpMessageType::Offer,
            DhcpMessageType::Request => DhcpMessageType::Ack,
            _ => continue,
        };
        let Some(tx) = port.transmit(now) else {
            continue;
        };
        let mut frame = [0u8; 1500];
        let len = reply(&mut frame, answer, xid, client);
        tx.consume(len, |buf| buf.copy_from_slice(&frame[..len]));
    }
}

/// Run `seconds` of virtual time in 10 ms steps, the server answering if
/// `answering`; the lease changes seen.
fn run(net: &mut SimNet, port: &mut SimPort, seconds: u64, answering: bool) -> Vec<DhcpEvent> {
    let mut seen = Vec::new();
    for _ in 0..seconds * 100 {
        net.run_for(Duration::from_millis(10));
        if answering {
            serve(port, net.now());
        } else {
            while port.receive(net.now()).is_some() {}
        }
        seen.extend(std::iter::from_fn(|| net.stack(0).take_dhcp_event()));
    }
    seen
}

#[test]
fn a_lease_is_granted_renewed_lost_and_granted_again() {
    let (mut net, a, _) = SimNet::pair(7).expect("two hosts");
    let mut server = net.raw_port(3, SERVER_MAC).expect("position 3 is free");
    net.stack(a)
        .start_dhcp(None)
        .expect("the host profile has room");
    let bound = run(&mut net, &mut server, 1, true);
    let address = Ipv4Cidr::new(OFFERED, 24);
    let lease = net.stack(a).lease().expect("a lease");
    assert_eq!(
        (lease.address, lease.router, lease.server),
        (address, Some(SERVER), SERVER)
    );
    assert_eq!(bound, [DhcpEvent::Bound(lease)]);
    assert_eq!(net.stack(a).ipv4_addr(), OFFERED);

    // Renewal at half the lease: an ACK that changes nothing still shows.
    let renewed = run(&mut net, &mut server, LEASE.into(), true);
    assert!(renewed.contains(&DhcpEvent::Renewed(lease)), "{renewed:?}");

    // Silence: renewing and rebinding go unanswered until the lease expires.
    let lost = run(&mut net, &mut server, LEASE.into(), false);
    assert_eq!(lost, [DhcpEvent::Lost]);
    assert_eq!(net.stack(a).ipv4_addr(), Ipv4Address::UNSPECIFIED);
    assert_eq!(net.stack(a).lease(), None);

    // The server is back: the next DISCOVER gets an answer.
    let again = run(&mut net, &mut server, 15, true);
    assert_eq!(again, [DhcpEvent::Bound(lease)]);
}
