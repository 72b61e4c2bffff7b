//! RFC 5961 section 3.2 in layernet's gate: on an established connection
//! an RST resets it only at the exact next sequence number; one merely in
//! the window (which smoltcp alone would accept) is dropped and counted.

mod common;

use common::{Watched, ipv4_tcp_frame, segment, watched_connection};
use layernet::Duration;
use layernet::EthernetAddress;
use layernet::host::sim::{SimNet, host_ip, host_mac};
use layernet::socket::Error;
use smoltcp::phy::{Device, TxToken};
use smoltcp::wire::{EthernetFrame, Ipv4Packet, TcpControl, TcpPacket};

/// An RST from the client's address and port to the server's, at `seq`.
fn forged_rst(client_port: u16, seq: u32) -> Vec<u8> {
    let tcp = segment((client_port, 7), TcpControl::Rst, seq, &[]);
    ipv4_tcp_frame(
        (
            EthernetAddress([0x02, 0, 0, 0, 0, 0x66]),
            host_ip(1).address(),
        ),
        (host_mac(0), host_ip(0).address()),
        &tcp,
    )
}

/// The sequence number the server expects next from `port`: the end of
/// the last segment the client sent it.
fn expected_next(frames: &[Vec<u8>], port: u16) -> u32 {
    let mut next = 0;
    for f in frames {
        let Ok(eth) = EthernetFrame::new_checked(&f[..]) else {
            continue;
        };
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            continue;
        };
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            continue;
        };
        if tcp.src_port() == port {
            let len = tcp.payload().len() as u32 + u32::from(tcp.syn()) + u32::from(tcp.fin());
            next = (tcp.seq_number().0 as u32).wrapping_add(len);
        }
    }
    next
}

#[test]
fn only_the_exact_sequence_number_resets_a_connection() {
    let Watched {
        mut net,
        hosts: (server, client),
        server: mut s,
        client: mut c,
        peer,
        seen,
    } = watched_connection(b"abc");
    let mut buf = [0u8; 8];
    assert_eq!(s.recv(net.stack(server), &mut buf), Ok(3));

    let next = expected_next(&seen.borrow(), peer.port);
    let mut attacker = net
        .raw_port(3, EthernetAddress([0x02, 0, 0, 0, 0, 0x66]))
        .expect("port");
    let mut inject = |net: &mut SimNet, frame: Vec<u8>| {
        if let Some(tx) = attacker.transmit(net.now()) {
            tx.consume(frame.len(), |b| b.copy_from_slice(&frame));
        }
        net.run_for(Duration::from_millis(10));
    };

    // In the window (smoltcp alone would take it) but 100 past the exact number.
    inject(&mut net, forged_rst(peer.port, next.wrapping_add(100)));
    assert_eq!(net.stack(server).counters().dropped_rst_not_exact, 1);
    assert_eq!(s.recv(net.stack(server), &mut buf), Err(Error::WouldBlock));
    // The connection still carries data both ways.
    c.send(net.stack(client), b"d")
        .expect("send after the forged RST");
    net.run_for(Duration::from_millis(300));
    assert_eq!(s.recv(net.stack(server), &mut buf), Ok(1));

    // The exact number: the RFC says reset, and it does.
    let next = expected_next(&seen.borrow(), peer.port);
    inject(&mut net, forged_rst(peer.port, next));
    assert_eq!(s.recv(net.stack(server), &mut buf), Err(Error::Reset));
    assert_eq!(net.stack(server).counters().dropped_rst_not_exact, 1);
}
