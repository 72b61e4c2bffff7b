//! A socket that waits for its neighbour, learnt at an instant the stack
//! already walked: smoltcp does not dispatch a socket whose next hop is
//! unknown, so a timer of its that expired meanwhile fires only when the
//! ARP reply comes. The stack walks every socket once an instant (see
//! `Stack::walked_now`); the poll that learns a neighbour walks again, so
//! connection tracking, which the gate reads instead of the sockets, sees
//! that change before the next frame. The test suite's debug builds check
//! tracking against every socket on every segment: without the second
//! walk, the segment below finds tracking behind and the check fails.
//! The same over IPv6, where a neighbour advertisement teaches smoltcp
//! the neighbour (and, say, an echo request does not).

mod common;

use common::{ipv4_tcp_frame, segment};
use layernet::host::sim::{SimNet, SimPort, endpoint, host_ip, host_mac};
use layernet::link::segment::Faults;
use layernet::net::link_local;
use layernet::socket::{Error, TcpStream};
use layernet::{Duration, Instant, IpEndpoint};
use smoltcp::phy::{ChecksumCapabilities, Device, TxToken};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet,
    Icmpv6Repr, IpProtocol, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr, TcpControl,
};

/// The peer's ARP reply to host 0's question for host 1's address.
fn arp_reply() -> Vec<u8> {
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Reply,
        source_hardware_addr: host_mac(1),
        source_protocol_addr: host_ip(1).address(),
        target_hardware_addr: host_mac(0),
        target_protocol_addr: host_ip(0).address(),
    };
    let mut f = vec![0u8; 14 + arp.buffer_len()];
    EthernetRepr {
        src_addr: host_mac(1),
        dst_addr: host_mac(0),
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    arp.emit(&mut ArpPacket::new_unchecked(&mut f[14..]));
    f
}

/// Host 1's neighbour advertisement of its link-local address, to host
/// 0's, as the answer to host 0's solicitation.
fn neighbour_advert() -> Vec<u8> {
    let (src, dst) = (
        link_local(host_mac(1)).address(),
        link_local(host_mac(0)).address(),
    );
    let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
        target_addr: src,
        lladdr: Some(host_mac(1).into()),
    });
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: na.buffer_len(),
        hop_limit: 255,
    };
    let mut f = vec![0u8; 14 + ip.buffer_len() + na.buffer_len()];
    EthernetRepr {
        src_addr: host_mac(1),
        dst_addr: host_mac(0),
        ethertype: EthernetProtocol::Ipv6,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    let mut packet = Ipv6Packet::new_unchecked(&mut f[14..]);
    ip.emit(&mut packet);
    let caps = ChecksumCapabilities::default();
    na.emit(
        &src,
        &dst,
        &mut Icmpv6Packet::new_unchecked(packet.payload_mut()),
        &caps,
    );
    f
}

/// Host 0 connects to `to` (host 1's place, a bare station) with a 200 ms
/// timeout; the station's `answer` teaches host 0 the neighbour at the
/// instant the timer expires, after that instant's walk; then a SYN to
/// host 0 has the gate read tracking for every entry. The connection must
/// end refused, and the debug builds' checks must find tracking current.
fn times_out_once_its_neighbour_is_known(to: IpEndpoint, answer: &[u8]) {
    let mut net = SimNet::new(3, Faults::NONE);
    let a = net.add_host().expect("a host");
    let mut peer: SimPort = net.raw_port(1, host_mac(1)).expect("a free position");
    let mut send = |at: Instant, frame: &[u8]| {
        let tx = peer.transmit(at).expect("room on the segment");
        tx.consume(frame.len(), |b| b.copy_from_slice(frame));
    };

    let t0 = net.now();
    let mut stream = TcpStream::connect(net.stack(a), to).expect("connect");
    stream.set_timeout(net.stack(a), Some(Duration::from_millis(200)));
    net.poll(a, t0); // the question for the neighbour; the SYN waits, silent for a second
    let t = t0 + Duration::from_millis(200);
    net.poll(a, t); // this instant's walk: the socket, not dispatched, is as it was
    assert_eq!(stream.poll_connect(net.stack(a)), Err(Error::WouldBlock));

    // At the same instant, the answer: the socket is dispatched, and its
    // timer, expired, closes it.
    send(t, answer);
    net.poll(a, t);

    // Any segment now: the gate reads tracking for every entry.
    let syn = segment((5555, 80), TcpControl::Syn, 1, &[]);
    send(
        t,
        &ipv4_tcp_frame(
            (host_mac(1), host_ip(1).address()),
            (host_mac(0), host_ip(0).address()),
            &syn,
        ),
    );
    net.poll(a, t);
    assert_eq!(
        stream.poll_connect(net.stack(a)),
        Err(Error::Refused),
        "the connection timed out before it came about"
    );
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the stale tracking shows only through the debug builds' checks"
)]
fn a_socket_that_times_out_once_its_neighbour_is_known_is_tracked_at_once() {
    times_out_once_its_neighbour_is_known(endpoint(1, 80), &arp_reply());
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the stale tracking shows only through the debug builds' checks"
)]
fn the_same_when_a_neighbour_advertisement_teaches_it() {
    let to = IpEndpoint::new(link_local(host_mac(1)).address().into(), 80);
    times_out_once_its_neighbour_is_known(to, &neighbour_advert());
}
