//! Handles that outlive their socket: a stream the stack took back, a
//! stopped listener, and several pings sharing a stack's one ICMP socket.
//! A stale handle must fail plainly and never reach the connection that
//! reuses its slot.

use layernet::app::Outcome;
use layernet::app::ping::Pinger;
use layernet::host::sim::{SimNet, SimService, endpoint, host_ip};
use layernet::socket::{Error, TcpListener, TcpStream};
use layernet::{Duration, Instant};

const SETTLE: Duration = Duration::from_millis(20);

/// Client A is aborted by its stack; client B then takes the same pool
/// slot. A's old handle gets `Aborted` for every call, its close does not
/// touch B, and B's data arrives whole.
#[test]
fn stale_stream_never_reaches_the_next_connection() -> Result<(), Box<dyn std::error::Error>> {
    let (mut net, srv, cli) = SimNet::pair(21)?;
    let mut listener = TcpListener::bind(net.stack(srv), 7, 2)?;
    let mut a = TcpStream::connect(net.stack(cli), endpoint(srv, 7))?;
    net.run_for(SETTLE);
    a.poll_connect(net.stack(cli))?;
    let (mut server_a, _) = listener.accept(net.stack(srv))?;

    net.stack(cli).abort_all_tcp();
    net.run_for(SETTLE);
    assert_eq!(
        server_a.recv(net.stack(srv), &mut [0; 8]),
        Err(Error::Reset),
        "the peer saw the abort's RST"
    );

    let mut b = TcpStream::connect(net.stack(cli), endpoint(srv, 7))?;
    assert_eq!(a.slot(), b.slot(), "B reuses A's slot");
    net.run_for(SETTLE);
    b.poll_connect(net.stack(cli))?;
    let (mut server_b, _) = listener.accept(net.stack(srv))?;
    server_b.send(net.stack(srv), b"for B only")?;
    net.run_for(SETTLE);

    // Every use of A's handle fails, and reads or writes nothing of B's.
    assert_eq!(a.poll_connect(net.stack(cli)), Err(Error::Aborted));
    assert_eq!(a.recv(net.stack(cli), &mut [0; 32]), Err(Error::Aborted));
    assert_eq!(a.send(net.stack(cli), b"from A"), Err(Error::Aborted));
    assert_eq!(
        a.recv_with(net.stack(cli), |d| (d.len(), ())),
        Err(Error::Aborted)
    );
    assert_eq!(
        a.send_with(net.stack(cli), |buf| (buf.len(), ())),
        Err(Error::Aborted)
    );
    assert_eq!(
        a.recv_queue(net.stack(cli)),
        0,
        "B's queued bytes are not A's"
    );
    assert_eq!(a.peer_addr(net.stack(cli)), None);
    assert!(!a.is_open(net.stack(cli)));
    a.set_nodelay(net.stack(cli), true);
    assert!(!b.nodelay(net.stack(cli)), "A's option did not land on B");
    a.close(net.stack(cli));
    net.run_for(SETTLE);

    assert!(b.is_open(net.stack(cli)), "A's close left B open");
    let mut buf = [0u8; 32];
    let n = b.recv(net.stack(cli), &mut buf)?;
    assert_eq!(&buf[..n], b"for B only");
    assert_eq!(
        server_b.recv(net.stack(srv), &mut buf),
        Err(Error::WouldBlock),
        "nothing of A's reached B's peer, no FIN either"
    );
    b.send(net.stack(cli), b"still B")?;
    net.run_for(SETTLE);
    let n = server_b.recv(net.stack(srv), &mut buf)?;
    assert_eq!(&buf[..n], b"still B");
    Ok(())
}

/// The same on the accepting side: the server's stack aborts an accepted
/// stream, the next accepted connection lands in its slot, and the old
/// handle reaches nothing.
#[test]
fn stale_accepted_stream_after_abort_all() -> Result<(), Box<dyn std::error::Error>> {
    let (mut net, srv, cli) = SimNet::pair(22)?;
    let mut listener = TcpListener::bind(net.stack(srv), 80, 1)?;
    let _first = TcpStream::connect(net.stack(cli), endpoint(srv, 80))?;
    net.run_for(SETTLE);
    let (mut old, _) = listener.accept(net.stack(srv))?;
    net.stack(srv).abort_all_tcp();
    assert_eq!(old.recv(net.stack(srv), &mut [0; 4]), Err(Error::Aborted));
    net.run_for(SETTLE);

    // The listener armed the next free slot when it accepted; the one
    // after that is the aborted stream's.
    let mut accepted = Vec::new();
    for _ in 0..2 {
        let mut client = TcpStream::connect(net.stack(cli), endpoint(srv, 80))?;
        net.run_for(SETTLE);
        client.send(net.stack(cli), b"hello")?;
        net.run_for(SETTLE);
        accepted.push((client, listener.accept(net.stack(srv))?.0));
    }
    let (_, mut new) = accepted
        .into_iter()
        .find(|(_, s)| s.slot() == old.slot())
        .ok_or("no connection reused the aborted stream's slot")?;
    assert_eq!(old.recv(net.stack(srv), &mut [0; 8]), Err(Error::Aborted));
    old.abort(net.stack(srv));
    net.run_for(SETTLE);
    let mut buf = [0u8; 8];
    let n = new.recv(net.stack(srv), &mut buf)?;
    assert_eq!(
        &buf[..n],
        b"hello",
        "the old handle's abort did not reset it"
    );
    Ok(())
}

/// A stopped listener's handle does not accept for the listener that
/// took its place on the same port.
#[test]
fn stopped_listener_does_not_accept_for_its_successor() -> Result<(), Box<dyn std::error::Error>> {
    let (mut net, srv, cli) = SimNet::pair(23)?;
    let mut old = TcpListener::bind(net.stack(srv), 25, 1)?;
    old.stop(net.stack(srv));
    net.poll(srv, Instant::ZERO);
    let mut new = TcpListener::bind(net.stack(srv), 25, 1)?;
    let _client = TcpStream::connect(net.stack(cli), endpoint(srv, 25))?;
    net.run_for(SETTLE);
    assert_eq!(old.accept(net.stack(srv)).err(), Some(Error::InvalidInput));
    old.stop(net.stack(srv)); // a second stop must not stop the new one
    assert!(new.accept(net.stack(srv)).is_ok());
    Ok(())
}

/// Two pingers on one stack at once, to the same host with the same
/// sequence numbers, and a third to another host: every one gets all its
/// replies.
///
/// The stack's one ICMP socket queues `net::ICMP_PACKETS` replies for all its
/// pings together, so the pings here send in step, a reply each per round.
/// A ping to each host first learns its MAC: smoltcp sends at most one ARP
/// request a second per interface, so `c`'s would wait a second behind
/// `b`'s while the requests pile up and their replies then come at once.
#[test]
fn pings_sharing_a_stack_each_get_their_replies() -> Result<(), Box<dyn std::error::Error>> {
    let (mut net, a, b) = SimNet::pair(24)?;
    let c = net.add_host()?;
    let interval = Duration::from_millis(10);
    for target in [b, c] {
        let mut warm = Pinger::new(host_ip(target).address(), 1, interval);
        assert!(net.run_client(a, &mut warm, Duration::from_secs(5)));
    }
    let mut one = Pinger::new(host_ip(b).address(), 8, interval);
    let mut two = Pinger::new(host_ip(b).address(), 8, interval);
    let mut three = Pinger::new(host_ip(c).address(), 5, interval);
    let mut all: [(usize, &mut SimService); 3] = [(a, &mut one), (a, &mut two), (a, &mut three)];
    let done = net.run_until(Duration::from_secs(10), &mut all, |s| {
        s.iter().all(|(_, p)| p.is_done())
    });
    assert!(done);
    for (p, want) in [(&one, 8), (&two, 8), (&three, 5)] {
        assert_eq!(
            (p.outcome(), p.sent(), p.replies()),
            (Outcome::Done, want, want)
        );
    }
    let census = net.segment().census();
    assert_eq!(
        (census.icmp_echo_requests, census.icmp_echo_replies),
        (23, 23)
    );
    Ok(())
}
