//! A FIN that comes with data the receiver already holds: a sender's
//! retransmission of its last segment, after the data got through but
//! not the FIN. smoltcp 0.14 judges the segment on its data alone, finds
//! it all old, and ignores the FIN with it, though the FIN's sequence
//! number is the next one expected (RFC 9293 counts the FIN in the
//! segment's length). layernet's gate has smoltcp take such a segment as
//! its FIN alone (`gate::Admission::fin_only`), so the connection ends
//! as the sender meant. See docs/reliability.md, "FIN handling under
//! loss".

mod common;

use common::{Watched, ipv4_tcp_frame, segment, watched_connection};
use layernet::Duration;
use layernet::host::sim::{host_ip, host_mac};
use layernet::socket::Error;
use smoltcp::phy::{Device, TxToken};
use smoltcp::wire::{EthernetFrame, Ipv4Packet, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber};

/// Of the last segment from `port` the server received: where its data
/// ended and what it acknowledged.
fn last_from(frames: &[Vec<u8>], port: u16) -> Option<(u32, u32)> {
    frames.iter().rev().find_map(|f| {
        let eth = EthernetFrame::new_checked(&f[..]).ok()?;
        let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
        let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
        (tcp.src_port() == port && tcp.ack()).then(|| {
            let end = (tcp.seq_number().0 as u32).wrapping_add(tcp.payload().len() as u32);
            (end, tcp.ack_number().0 as u32)
        })
    })
}

/// The client's segment from `port` with `data` ending at `end`, the FIN,
/// and an ACK of `ack`.
fn data_and_fin(port: u16, end: u32, ack: u32, data: &[u8]) -> Vec<u8> {
    let seq = end.wrapping_sub(data.len() as u32);
    let tcp = TcpRepr {
        ack_number: Some(TcpSeqNumber(ack as i32)),
        window_len: 4096,
        ..segment((port, 7), TcpControl::Fin, seq, data)
    };
    ipv4_tcp_frame(
        (host_mac(1), host_ip(1).address()),
        (host_mac(0), host_ip(0).address()),
        &tcp,
    )
}

#[test]
fn a_fin_after_data_already_held_ends_the_stream() {
    let Watched {
        mut net,
        hosts: (server, _),
        server: mut s,
        peer,
        seen,
        ..
    } = watched_connection(b"abcdef");
    let mut buf = [0u8; 16];
    assert_eq!(s.recv(net.stack(server), &mut buf), Ok(6));
    assert_eq!(s.recv(net.stack(server), &mut buf), Err(Error::WouldBlock));

    // The last three bytes again, now with the FIN, as a retransmission
    // after a lost FIN would bring them (the real client knows nothing of
    // it; the server is what is watched).
    let (end, ack) = last_from(&seen.borrow(), peer.port).expect("a segment from the client");
    let frame = data_and_fin(peer.port, end, ack, b"def");
    let mut wire = net.raw_port(3, host_mac(1)).expect("port");
    if let Some(tx) = wire.transmit(net.now()) {
        tx.consume(frame.len(), |b| b.copy_from_slice(&frame));
    }
    net.run_for(Duration::from_millis(10));
    assert_eq!(
        s.recv(net.stack(server), &mut buf),
        Ok(0),
        "the FIN ends the stream, and no byte is read twice"
    );
}
