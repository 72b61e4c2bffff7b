//! listen(backlog): backlog + 2 clients at once. The first `backlog` are
//! served at once, the other two once a slot frees, none is lost, no RST
//! goes out, and the gate dropped their first SYNs.

use layernet::app::echo::{EchoClient, EchoServer};
use layernet::app::{Outcome, Service, ports};
use layernet::host::sim::{HostId, SimNet, SimService};
use layernet::link::segment::Faults;
use layernet::{Duration, Instant, IpAddress, IpEndpoint};

const BACKLOG: usize = 3;

#[test]
fn backlog_plus_two_clients_are_all_served_without_a_reset() {
    let mut net = SimNet::new(3, Faults::NONE);
    for _ in 0..3 {
        net.add_host().unwrap();
    }
    // The server handles BACKLOG connections at a time; BACKLOG sockets listen.
    let server = EchoServer::<BACKLOG>::bind(net.stack(0), ports::ECHO, BACKLOG).unwrap();
    net.serve(0, Box::new(server));
    let to = IpEndpoint::new(IpAddress::Ipv4(net.stack(0).ipv4_addr()), ports::ECHO);
    // Warm the ARP caches so that every client's SYN leaves at the same instant.
    let mut warm = EchoClient::<8>::new(to, b"warm");
    assert!(net.run_client(1, &mut warm, Duration::from_secs(5)));
    assert!(net.run_client(
        2,
        &mut EchoClient::<8>::new(to, b"warm"),
        Duration::from_secs(5)
    ));
    net.run_for(Duration::from_secs(1));

    let before = net.segment().census();
    let dropped_before = net.stack(0).counters().syn_dropped_busy;
    let start = net.now();
    let messages: Vec<Vec<u8>> = (0..BACKLOG + 2)
        .map(|i| vec![b'A' + i as u8; 500])
        .collect();
    let mut clients: Vec<EchoClient<500>> =
        messages.iter().map(|m| EchoClient::new(to, m)).collect();
    let mut done_at: Vec<Option<Instant>> = vec![None; clients.len()];
    for _ in 0..10_000 {
        {
            let mut extra: Vec<(HostId, &mut SimService)> = clients
                .iter_mut()
                .enumerate()
                .map(|(i, c)| (1 + i % 2, c as &mut SimService))
                .collect();
            net.run_until(Duration::from_millis(5), &mut extra, |_| false);
        }
        for (i, c) in clients.iter().enumerate() {
            if done_at[i].is_none() && Service::is_done(c) {
                done_at[i] = Some(net.now());
            }
        }
        if done_at.iter().all(Option::is_some) || net.now() - start > Duration::from_secs(120) {
            break;
        }
    }
    net.run_for(Duration::from_secs(2));

    let mut times: Vec<i64> = done_at
        .iter()
        .map(|t| t.map_or(-1, |t| (t - start).total_millis() as i64))
        .collect();
    println!("clients done after (ms virtual): {times:?}");
    for (c, m) in clients.iter().zip(&messages) {
        assert_eq!(c.outcome(), Outcome::Done, "a client was lost");
        assert_eq!(c.received(), m.as_slice());
    }
    times.sort();
    let census = net.segment().census().since(&before);
    let dropped = net.stack(0).counters().syn_dropped_busy - dropped_before;
    println!(
        "SYNs sent {}, dropped by the gate {dropped}, RSTs {}",
        census.tcp_syn, census.tcp_rst
    );
    assert_eq!(census.tcp_rst, 0, "no RST went out");
    assert!(
        dropped >= 2,
        "the gate dropped the SYNs that found no free slot: {dropped}"
    );
    assert!(
        census.tcp_syn >= (BACKLOG + 2 + 2) as u64,
        "the dropped SYNs were retransmitted"
    );
    // The first BACKLOG were served at once; the last two only after a SYN
    // retransmission (smoltcp's first RTO is about a second).
    assert!(
        times[BACKLOG - 1] < 200,
        "first {BACKLOG} served at once: {times:?}"
    );
    assert!(
        times[BACKLOG] >= 500,
        "the others waited for a free slot: {times:?}"
    );
}

#[test]
fn a_syn_for_a_closed_port_is_still_reset() {
    let mut net = SimNet::new(3, Faults::NONE);
    net.add_host().unwrap();
    net.add_host().unwrap();
    let to = IpEndpoint::new(IpAddress::Ipv4(net.stack(0).ipv4_addr()), 4444);
    let mut c = EchoClient::<8>::new(to, b"x");
    assert!(net.run_client(1, &mut c, Duration::from_secs(10)));
    assert_eq!(
        c.outcome(),
        Outcome::Failed(layernet::socket::Error::Refused)
    );
    assert_eq!(net.segment().census().tcp_rst, 1);
    assert_eq!(net.stack(0).counters().syn_dropped_busy, 0);
}

/// The server closes first, so its side of every connection ends in
/// TIME-WAIT. With only two TCP sockets in the pool, those sockets must be
/// re-armed at once (the trade-off in docs/layers.md), or the third client
/// would wait minutes.
#[test]
fn time_wait_sockets_are_reused_at_once_by_a_tiny_pool() {
    use layernet::app::greeting::{DEFAULT_GREETING, GreetingClient, GreetingServer};
    use layernet::host::sim::{host_ip, host_mac};
    use layernet::net::{Config, Resources};

    let mut net = SimNet::new(4, Faults::NONE);
    let tiny: &'static mut Resources<'static, 4, 2, 1, 256> = Box::leak(Box::default());
    net.add_host_with(Config::new(host_mac(0), host_ip(0)), tiny)
        .unwrap();
    net.add_host().unwrap();
    let server =
        GreetingServer::<1>::bind(net.stack(0), ports::GREETING, 1, DEFAULT_GREETING).unwrap();
    net.serve(0, Box::new(server));
    let to = IpEndpoint::new(IpAddress::Ipv4(net.stack(0).ipv4_addr()), ports::GREETING);
    let start = net.now();
    for i in 0..6 {
        let mut c = GreetingClient::<64>::new(to);
        assert!(
            net.run_client(1, &mut c, Duration::from_secs(30)),
            "client {i}"
        );
        assert_eq!(c.received(), DEFAULT_GREETING, "client {i}");
    }
    let took = net.now() - start;
    println!(
        "6 greetings through a 2-socket pool in {} ms virtual",
        took.total_millis()
    );
    assert!(
        took < Duration::from_secs(10),
        "sockets in TIME-WAIT were not reused: {took}"
    );
    assert_eq!(net.segment().census().tcp_rst, 0);
}

/// Linux's accept queue: a connection whose handshake completed waits in
/// its listening slot until the service takes it, however long the
/// service is busy. Here the echo service holds 2 connections and 3 more
/// clients wait, each with its message sent, for twice HANDSHAKE_TIMEOUT
/// (the half-open limit, which must not apply to them): none is reset, and
/// each is answered once the service frees a place.
#[test]
fn accepted_connections_wait_for_a_busy_service_without_a_reset() {
    use layernet::net::HANDSHAKE_TIMEOUT;
    use layernet::socket::{Error, TcpStream};

    const SERVED: usize = 2;
    const CLIENTS: usize = 5;
    let mut net = SimNet::new(5, Faults::NONE);
    net.add_host().unwrap();
    net.add_host().unwrap();
    let server = EchoServer::<SERVED>::bind(net.stack(0), ports::ECHO, CLIENTS - SERVED).unwrap();
    net.serve(0, Box::new(server));
    let to = IpEndpoint::new(IpAddress::Ipv4(net.stack(0).ipv4_addr()), ports::ECHO);
    let before = net.segment().census();
    let mut streams: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(net.stack(1), to).unwrap())
        .collect();
    let mut sent = [false; CLIENTS];
    let mut echoed: Vec<Vec<u8>> = vec![Vec::new(); CLIENTS];
    let message = |i: usize| vec![b'a' + i as u8; 100];
    // Drive the clients in 10 ms steps: send once connected, read what
    // comes back, and hold every connection open until told to close.
    let step = |net: &mut SimNet,
                streams: &mut [TcpStream],
                sent: &mut [bool],
                echoed: &mut [Vec<u8>]|
     -> Result<(), Error> {
        net.run_for(Duration::from_millis(10));
        for (i, s) in streams.iter_mut().enumerate() {
            match s.poll_connect(net.stack(1)) {
                Ok(()) => {}
                Err(Error::WouldBlock) => continue,
                Err(e) => return Err(e),
            }
            if !sent[i] {
                sent[i] = s.send(net.stack(1), &message(i))? == 100;
            }
            if echoed[i].len() >= 100 {
                continue;
            }
            let mut buf = [0u8; 256];
            match s.recv(net.stack(1), &mut buf) {
                Ok(n) => echoed[i].extend_from_slice(&buf[..n]),
                Err(Error::WouldBlock) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    };
    let waited = HANDSHAKE_TIMEOUT * 2;
    let start = net.now();
    while net.now() - start < waited {
        step(&mut net, &mut streams, &mut sent, &mut echoed)
            .expect("no client was reset while it waited");
    }
    let served: Vec<usize> = (0..CLIENTS).filter(|&i| echoed[i] == message(i)).collect();
    println!("served after {waited}: {served:?}");
    assert_eq!(served.len(), SERVED, "the service holds {SERVED}");
    assert!(
        (0..CLIENTS).all(|i| sent[i]),
        "every handshake completed and every message went out"
    );
    // The service frees its places as its clients leave; the waiting ones
    // follow, in turn.
    let mut closed = [false; CLIENTS];
    for _ in 0..2_000 {
        step(&mut net, &mut streams, &mut sent, &mut echoed).expect("no client was reset");
        for i in 0..CLIENTS {
            if !closed[i] && echoed[i] == message(i) {
                closed[i] = true;
                streams[i].shutdown(net.stack(1));
            }
        }
        if closed.iter().all(|c| *c) {
            break;
        }
    }
    net.run_for(Duration::from_secs(1));
    for (i, got) in echoed.iter().enumerate() {
        assert_eq!(*got, message(i), "client {i} was answered");
    }
    let census = net.segment().census().since(&before);
    println!(
        "SYNs {}, RSTs {}, SYNs the gate dropped {}",
        census.tcp_syn,
        census.tcp_rst,
        net.stack(0).counters().syn_dropped_busy
    );
    assert_eq!(census.tcp_rst, 0, "no connection was reset");
}

/// A host-sized pool parks its free sockets outside smoltcp's set and takes
/// them back as connections come and go: rounds of clients are all served,
/// and once the pool is quiet again every free socket is parked.
#[test]
fn a_host_sized_pool_parks_free_sockets_and_takes_them_back() {
    use layernet::host::memory::Sizes;
    use layernet::host::sim::{host_ip, host_mac};
    use layernet::net::Config;

    let mut net = SimNet::new(11, Faults::NONE);
    let sizes = Sizes {
        tcp_sockets: 12,
        tcp_buffer: 4096,
    };
    for i in 0..2 {
        let config = Config::new(host_mac(i), host_ip(i));
        net.add_host_memory(config, sizes.leak().unwrap()).unwrap();
    }
    let server = EchoServer::<4>::bind(net.stack(0), ports::ECHO, 4).unwrap();
    net.serve(0, Box::new(server));
    let to = IpEndpoint::new(IpAddress::Ipv4(net.stack(0).ipv4_addr()), ports::ECHO);
    assert_eq!(net.stack(0).parked_tcp_sockets(), 12 - 4, "four listen");
    let before = net.segment().census();
    for round in 0..3u8 {
        for i in 0..10u8 {
            let message = [b'a' + i; 300];
            let mut client = EchoClient::<300>::new(to, &message);
            assert!(net.run_client(1, &mut client, Duration::from_secs(10)));
            assert_eq!(client.outcome(), Outcome::Done, "round {round}, client {i}");
            assert_eq!(client.received(), &message[..]);
        }
        // TIME-WAIT ends, closes finish: the pools are quiet again.
        net.run_for(Duration::from_secs(30));
        for host in 0..2 {
            let stack = net.stack(host);
            println!(
                "round {round}, host {host}: {} free, {} parked, {} open",
                stack.free_tcp_sockets(),
                stack.parked_tcp_sockets(),
                stack.open_tcp_sockets()
            );
            assert_eq!(stack.parked_tcp_sockets(), stack.free_tcp_sockets());
        }
        assert_eq!(net.stack(0).free_tcp_sockets(), 12 - 4);
        assert_eq!(net.stack(1).free_tcp_sockets(), 12);
    }
    let census = net.segment().census().since(&before);
    assert_eq!(census.tcp_rst, 0, "no RST went out");
}

/// A stream aborted just before an accept re-arms the listener: the
/// aborted socket's RST must still go out. The re-arm takes the lowest
/// free socket, which the aborted stream's just became; made to listen
/// before the next egress, it would forget the connection it was to reset.
#[test]
fn a_stream_aborted_before_an_accept_still_resets_its_peer() {
    use layernet::socket::{Error, TcpListener, TcpStream};
    let (mut net, s, c) = SimNet::pair(12).unwrap();
    let to = layernet::host::sim::endpoint(s, 9);
    let mut listener = TcpListener::bind(net.stack(s), 9, 1).unwrap();
    let mut a = TcpStream::connect(net.stack(c), to).unwrap();
    net.run_for(Duration::from_millis(10));
    assert_eq!(a.poll_connect(net.stack(c)), Ok(()));
    let (victim, _) = listener.accept(net.stack(s)).unwrap();
    // B takes the socket the first accept armed.
    let mut b = TcpStream::connect(net.stack(c), to).unwrap();
    net.run_for(Duration::from_millis(10));
    // No poll between the abort and the accept that re-arms.
    victim.abort(net.stack(s));
    let (mut second, _) = listener.accept(net.stack(s)).unwrap();
    net.run_for(Duration::from_millis(10));
    assert_eq!(
        a.recv(net.stack(c), &mut [0; 8]),
        Err(Error::Reset),
        "the aborted stream's peer was never reset"
    );
    // The other connection is untouched.
    assert_eq!(b.send(net.stack(c), b"hi"), Ok(2));
    net.run_for(Duration::from_millis(10));
    let mut got = [0; 2];
    assert_eq!(second.recv(net.stack(s), &mut got), Ok(2));
    assert_eq!(&got, b"hi");
}

/// An idle socket stays in smoltcp's set for a second after it closes (a
/// busy host takes it back meanwhile), then parks within a tick of the
/// stack's clock (131 ms) at the first poll after that: the stack keeps
/// no due time, it looks once a tick.
#[test]
fn a_closed_socket_parks_a_second_after_its_close_within_a_tick() {
    use layernet::host::memory::Sizes;
    use layernet::host::sim::{host_ip, host_mac};
    use layernet::net::Config;
    use layernet::socket::TcpListener;

    let mut net = SimNet::new(5, Faults::NONE);
    let sized = Sizes {
        tcp_sockets: 8,
        tcp_buffer: 4096,
    }
    .leak()
    .unwrap();
    let host = net
        .add_host_memory(Config::new(host_mac(0), host_ip(0)), sized)
        .unwrap();
    let listener = TcpListener::bind(net.stack(host), 80, 2).unwrap();
    assert_eq!(net.stack(host).parked_tcp_sockets(), 8 - 2, "two listen");
    net.poll(host, Instant::from_millis(5));
    listener.close(net.stack(host));
    // The poll that sees the two close: their idle time starts here.
    let closed = Instant::from_millis(2_003);
    net.poll(host, closed);
    let mut parked_at = None;
    for ms in (10..=2_000).step_by(10) {
        let now = closed + Duration::from_millis(ms);
        net.poll(host, now);
        if net.stack(host).parked_tcp_sockets() == 8 {
            parked_at = Some(now);
            break;
        }
        assert_eq!(net.stack(host).parked_tcp_sockets(), 8 - 2, "at {now}");
    }
    let parked_at = parked_at.expect("both parked within two seconds");
    let idle = parked_at - closed;
    assert!(idle >= Duration::from_secs(1), "parked after {idle}");
    // A tick of 131 ms, and the 10 ms between polls.
    assert!(
        idle <= Duration::from_millis(1_000 + 131 + 10),
        "parked after {idle}"
    );
}
