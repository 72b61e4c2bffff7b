//! How long a closed connection may wait on its peer
//! (`socket::CLOSE_TIMEOUT`): counted by the stack from the peer's last
//! word, not by smoltcp's socket timeout, which counts from the last
//! segment that moved its state. With smoltcp's, a server that closed a
//! connection quiet for longer than the timeout sent an RST instead of its
//! FIN, and a close in LAST-ACK whose last data met a run of losses was
//! reset while the peer was still sending duplicate ACKs for it (the rare
//! short echo of tests/tap/lossy_link.sh).

mod common;

use common::{Watched, ipv4_tcp_frame, segment, watched_connection};
use layernet::Duration;
use layernet::host::sim::{HostId, SimNet, endpoint, host_ip, host_mac};
use layernet::link::segment::Faults;
use layernet::socket::{CLOSE_TIMEOUT, TcpListener, TcpStream};
use smoltcp::phy::{Device, TxToken};
use smoltcp::wire::{EthernetFrame, Ipv4Packet, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber};

/// Host `s` accepted a connection to its port 9 from host `c`.
struct Connected {
    net: SimNet,
    s: HostId,
    c: HostId,
    client: TcpStream,
    server: TcpStream,
    /// Kept, as a server keeps it: its slots stay armed.
    _listener: TcpListener,
}

fn connected(seed: u64) -> Connected {
    let (mut net, s, c) = SimNet::pair(seed).expect("two hosts");
    let mut listener = TcpListener::bind(net.stack(s), 9, 1).expect("bind");
    let client = TcpStream::connect(net.stack(c), endpoint(s, 9)).expect("connect");
    net.run_for(Duration::from_millis(10));
    let (server, _) = listener.accept(net.stack(s)).expect("accept");
    Connected {
        net,
        s,
        c,
        client,
        server,
        _listener: listener,
    }
}

#[test]
fn a_close_after_a_long_silence_sends_its_fin() {
    for quiet in [1, 29, 31, 120] {
        let Connected {
            mut net,
            s,
            c,
            mut client,
            mut server,
            ..
        } = connected(3);
        server.send(net.stack(s), b"hello").expect("send");
        net.run_for(Duration::from_millis(10));
        let mut buf = [0u8; 16];
        assert_eq!(client.recv(net.stack(c), &mut buf), Ok(5));
        net.run_for(Duration::from_secs(quiet));
        server.close(net.stack(s));
        net.run_for(Duration::from_millis(50));
        assert_eq!(
            client.recv(net.stack(c), &mut buf),
            Ok(0),
            "closed after {quiet} s of quiet: the end of the stream, not a reset"
        );
        assert_eq!(net.stack(s).counters().tcp_resets_tx, 0, "after {quiet} s");
    }
}

/// The client's last segment the server received: its sequence number
/// past the segment (and its FIN), and what it acknowledged.
fn after_last_from(frames: &[Vec<u8>], port: u16) -> Option<(u32, u32)> {
    frames.iter().rev().find_map(|f| {
        let eth = EthernetFrame::new_checked(&f[..]).ok()?;
        let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
        let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
        (tcp.src_port() == port && tcp.ack()).then(|| {
            let len = tcp.payload().len() as u32 + u32::from(tcp.fin());
            (
                (tcp.seq_number().0 as u32).wrapping_add(len),
                tcp.ack_number().0 as u32,
            )
        })
    })
}

#[test]
fn a_close_whose_peer_still_speaks_waits_for_it() {
    let Watched {
        mut net,
        hosts: (s, _),
        mut server,
        client,
        peer,
        seen,
    } = watched_connection(b"ping");
    let mut buf = [0u8; 16];
    assert_eq!(server.recv(net.stack(s), &mut buf), Ok(4));
    // The client closes: the server reads the end, then answers and closes
    // into LAST-ACK. From here every frame the hosts send is lost.
    client.close(net.stack(1));
    net.run_for(Duration::from_millis(10));
    assert_eq!(server.recv(net.stack(s), &mut buf), Ok(0));
    let (seq, ack) = after_last_from(&seen.borrow(), peer.port).expect("the client's FIN");
    let mut wire = net
        .raw_port(3, host_mac(1))
        .expect("a port for the client's words");
    net.set_faults(Faults::loss(100));
    let free = net.stack(s).free_tcp_sockets();
    server.send(net.stack(s), b"pong").expect("send");
    server.close(net.stack(s));
    // The client asks for the answer again and again (a duplicate ACK, as
    // a peer does for each retransmission that arrives past a hole), for
    // longer than CLOSE_TIMEOUT.
    let dup_ack = ipv4_tcp_frame(
        (host_mac(1), host_ip(1).address()),
        (host_mac(0), host_ip(0).address()),
        &TcpRepr {
            ack_number: Some(TcpSeqNumber(ack as i32)),
            window_len: 4096,
            ..segment((peer.port, 7), TcpControl::None, seq, &[])
        },
    );
    let heard = seen.borrow().len();
    let mut waited = Duration::ZERO;
    while waited < CLOSE_TIMEOUT + Duration::from_secs(20) {
        net.run_for(Duration::from_secs(5));
        waited += Duration::from_secs(5);
        if let Some(tx) = wire.transmit(net.now()) {
            tx.consume(dup_ack.len(), |b| b.copy_from_slice(&dup_ack));
        }
    }
    net.run_for(Duration::from_millis(10));
    assert!(
        seen.borrow().len() > heard + 8,
        "the server heard the duplicate ACKs"
    );
    assert_eq!(
        net.stack(s).counters().tcp_resets_tx,
        0,
        "{} s into the close, its peer still speaking: not reset",
        waited.secs()
    );
    assert_eq!(
        net.stack(s).free_tcp_sockets(),
        free,
        "the socket still closing"
    );
    // Once the peer falls silent, the close gives up CLOSE_TIMEOUT later.
    net.run_for(CLOSE_TIMEOUT + Duration::from_secs(1));
    gave_up(&mut net, s, free, "after the silence");
}

/// Host `s` reset its one closing connection and has the socket back
/// (`free` counted while it was closing).
fn gave_up(net: &mut SimNet, s: HostId, free: usize, when: &str) {
    assert_eq!(net.stack(s).counters().tcp_resets_tx, 1, "reset {when}");
    assert_eq!(
        net.stack(s).free_tcp_sockets(),
        free + 1,
        "the socket back {when}"
    );
}

#[test]
fn a_peer_that_only_probes_does_not_hold_a_close() {
    let Connected {
        mut net,
        s,
        c,
        mut client,
        server,
        ..
    } = connected(4);
    // The client never closes, and probes the connection every 10 s: a
    // keep-alive sits before the server's RCV.NXT and is no word.
    client.set_keepalive(net.stack(c), Some(Duration::from_secs(10)));
    net.run_for(Duration::from_millis(10)); // the listener's slot re-armed
    let free = net.stack(s).free_tcp_sockets();
    server.close(net.stack(s));
    net.run_for(CLOSE_TIMEOUT + Duration::from_secs(5));
    gave_up(&mut net, s, free, "though the peer kept probing");
}

#[test]
fn a_close_long_after_the_last_poll_starts_its_count_at_the_next() {
    let Connected {
        mut net, s, server, ..
    } = connected(6);
    // A loop that runs its services before it polls, after a while with
    // nothing due: the close comes longer than CLOSE_TIMEOUT after the
    // stack's last poll (and before its neighbour entry expires, so that
    // the FIN goes out at once).
    let later = net.now() + CLOSE_TIMEOUT + Duration::from_secs(15);
    let sent = net.stack(s).counters().tcp_tx;
    server.close(net.stack(s));
    net.poll(s, later);
    let counted = net.stack(s).counters();
    assert_eq!(counted.tcp_resets_tx, 0, "the close is not cut short");
    assert!(counted.tcp_tx > sent, "its FIN went out");
}
