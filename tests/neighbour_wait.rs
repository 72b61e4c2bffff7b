//! A socket that waits for its neighbour, learnt at an instant the stack
//! already walked: smoltcp does not dispatch a socket whose next hop is
//! unknown, so a timer of its that expired meanwhile fires only when the
//! ARP reply comes. The stack walks every socket once an instant (see
//! `Stack::walked_now`); the poll that learns a neighbour walks again, so
//! connection tracking, which the gate reads instead of the sockets, sees
//! that change before the next frame. The test suite's debug builds check
//! tracking against every socket on every segment: without the second
//! walk, the segment below finds tracking behind and the check fails.

mod common;

use common::{ipv4_tcp_frame, segment};
use layernet::host::sim::{SimNet, endpoint, host_ip, host_mac};
use layernet::link::segment::Faults;
use layernet::socket::{Error, TcpStream};
use layernet::{Duration, Instant};
use smoltcp::phy::{Device, TxToken};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr, TcpControl,
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

#[test]
fn a_socket_that_times_out_once_its_neighbour_is_known_is_tracked_at_once() {
    let mut net = SimNet::new(3, Faults::NONE);
    let a = net.add_host().expect("a host");
    // Host 1's place on the segment, as a bare station that answers when
    // the test says.
    let mut peer = net.raw_port(1, host_mac(1)).expect("a free position");
    let mut send = |at: Instant, frame: &[u8]| {
        let tx = peer.transmit(at).expect("room on the segment");
        tx.consume(frame.len(), |b| b.copy_from_slice(frame));
    };

    let t0 = net.now();
    let mut stream = TcpStream::connect(net.stack(a), endpoint(1, 80)).expect("connect");
    stream.set_timeout(net.stack(a), Some(Duration::from_millis(200)));
    net.poll(a, t0); // the ARP request; the SYN waits, silent for a second
    let t = t0 + Duration::from_millis(200);
    net.poll(a, t); // this instant's walk: the socket, not dispatched, is as it was
    assert_eq!(stream.poll_connect(net.stack(a)), Err(Error::WouldBlock));

    // At the same instant, the answer: the socket is dispatched, and its
    // timer, expired, closes it.
    send(t, &arp_reply());
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
