//! The blocking, Python-shaped socket API over the simulated network:
//! refused and reset connections, timeouts, non-blocking mode, half-close,
//! std::io adapters, UDP, address conflicts and names.

use std::io::{BufRead, BufReader, Write};

use layernet::app::echo::EchoServer;
use layernet::app::ports;
use layernet::host::blocking::Net;
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::net::EPHEMERAL_FIRST;
use layernet::socket::{self, Error};
use layernet::{Duration, IpAddress, IpEndpoint, Ipv4Address};

fn sim(hosts: usize) -> SimNet {
    let mut sim = SimNet::new(21, Faults::NONE);
    for _ in 0..hosts {
        sim.add_host().unwrap();
    }
    sim
}

fn at(host: u8, port: u16) -> IpEndpoint {
    IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, host)), port)
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let net = Net::new(sim(2));
    let err = net
        .host(1)
        .tcp_connect(at(1, 9999), Some(Duration::from_secs(5)))
        .err();
    assert_eq!(err, Some(Error::Refused));
    let io: std::io::Error = Error::Refused.into();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(net.with(|s| s.segment().census().tcp_rst), 1);
}

#[test]
fn connect_to_nobody_times_out() {
    let net = Net::new(sim(2));
    let start = net.now();
    let err = net
        .host(1)
        .tcp_connect(at(99, 80), Some(Duration::from_secs(3)))
        .err();
    assert_eq!(err, Some(Error::TimedOut));
    let waited = net.now() - start;
    println!("connect gave up after {} ms virtual", waited.total_millis());
    assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(4));
    assert_eq!(
        net.with(|s| s.stack(1).free_tcp_sockets()),
        24,
        "the socket went back to the pool"
    );
}

#[test]
fn accept_times_out_and_non_blocking_returns_at_once() {
    let net = Net::new(sim(2));
    let mut l = net.host(0).tcp_listen(5000, 2).unwrap();
    l.set_timeout(Some(Duration::from_millis(250)));
    let start = net.now();
    assert_eq!(l.accept().err(), Some(Error::TimedOut));
    assert!(net.now() - start >= Duration::from_millis(250));
    l.set_timeout(Some(Duration::ZERO));
    let start = net.now();
    assert_eq!(l.accept().err(), Some(Error::WouldBlock));
    assert_eq!(net.now(), start, "non-blocking: no time passed");
}

#[test]
fn peer_reset_is_reported() {
    let net = Net::new(sim(2));
    let mut l = net
        .with(|s| socket::TcpListener::bind(s.stack(0), 5001, 1))
        .unwrap();
    let mut c = net.host(1).tcp_connect(at(1, 5001), None).unwrap();
    net.with(|s| {
        let (stream, peer) = l.accept(s.stack(0)).expect("established");
        assert_eq!(
            peer.addr,
            IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 2))
        );
        stream.abort(s.stack(0));
    });
    c.set_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(&mut buf), Err(Error::Reset));
    assert_eq!(c.send(b"x"), Err(Error::Reset));
}

#[test]
fn half_close_delivers_end_of_file_and_the_other_half_still_works() {
    let net = Net::new(sim(2));
    let mut l = net.host(0).tcp_listen(5002, 1).unwrap();
    let mut c = net.host(1).tcp_connect(at(1, 5002), None).unwrap();
    let (mut s, _) = l.accept().unwrap();
    c.sendall(b"request").unwrap();
    c.shutdown();
    let mut buf = [0u8; 32];
    let mut got = Vec::new();
    loop {
        let n = s.recv(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"request");
    s.sendall(b"answer").unwrap();
    s.close();
    let mut back = Vec::new();
    loop {
        let n = c.recv(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        back.extend_from_slice(&buf[..n]);
    }
    assert_eq!(back, b"answer");
    // We shut our sending half down: sending again is EPIPE, not a reset.
    assert!(
        matches!(c.send(b"more"), Err(Error::Closed)),
        "{:?}",
        c.send(b"more")
    );
}

#[test]
fn std_io_read_and_write_work_on_a_stream() {
    let mut sim = sim(2);
    let server = EchoServer::<2>::bind(sim.stack(0), ports::ECHO, 2).unwrap();
    sim.serve(0, Box::new(server));
    let net = Net::new(sim);
    let mut c = net.host(1).tcp_connect(at(1, ports::ECHO), None).unwrap();
    assert_eq!(c.peer_addr(), Some(at(1, ports::ECHO)));
    let local = c.local_addr().unwrap();
    assert_eq!(
        local.addr,
        IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 2))
    );
    assert!(
        local.port >= EPHEMERAL_FIRST,
        "ephemeral port {}",
        local.port
    );
    c.write_all(b"first line\nsecond line\n").unwrap();
    c.flush().unwrap();
    let mut lines = BufReader::new(c).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "first line");
    assert_eq!(lines.next().unwrap().unwrap(), "second line");
}

#[test]
fn udp_sendto_recvfrom_and_ephemeral_ports() {
    let net = Net::new(sim(2));
    let mut a = net.host(0).udp_bind(7777).unwrap();
    let mut b = net.host(1).udp_bind(0).unwrap();
    assert!(b.local_port() >= EPHEMERAL_FIRST);
    b.send_to(b"ping over udp", at(1, 7777)).unwrap();
    let mut buf = [0u8; 64];
    a.set_timeout(Some(Duration::from_secs(2)));
    let (n, from) = a.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping over udp");
    assert_eq!(from, at(2, b.local_port()));
    a.send_to(&buf[..n], from).unwrap();
    b.set_timeout(Some(Duration::from_secs(2)));
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"ping over udp"[..], at(1, 7777)));
    // A short buffer truncates, as recvfrom(bufsize) does.
    b.send_to(b"0123456789", at(1, 7777)).unwrap();
    let mut small = [0u8; 4];
    let (n, _) = a.recv_from(&mut small).unwrap();
    assert_eq!(&small[..n], b"0123");
    a.set_timeout(Some(Duration::from_millis(100)));
    assert_eq!(a.recv_from(&mut buf).err(), Some(Error::TimedOut));
}

#[test]
fn address_in_use_and_bad_arguments() {
    let net = Net::new(sim(1));
    let h = net.host(0);
    let _u = h.udp_bind(6000).unwrap();
    assert_eq!(h.udp_bind(6000).err(), Some(Error::AddrInUse));
    let _l = h.tcp_listen(6000, 1).unwrap();
    assert_eq!(h.tcp_listen(6000, 1).err(), Some(Error::AddrInUse));
    assert_eq!(h.tcp_listen(0, 1).err(), Some(Error::InvalidInput));
    assert_eq!(h.tcp_listen(6001, 0).err(), Some(Error::InvalidInput));
    assert_eq!(h.tcp_listen(6001, 1000).err(), Some(Error::InvalidInput));
    assert_eq!(
        h.tcp_connect(at(1, 0), None).err(),
        Some(Error::InvalidInput)
    );
}

#[test]
fn closed_listener_frees_its_port_and_sockets() {
    let net = Net::new(sim(1));
    let h = net.host(0);
    let free = net.with(|s| s.stack(0).free_tcp_sockets());
    let l = h.tcp_listen(6100, 4).unwrap();
    assert_eq!(net.with(|s| s.stack(0).free_tcp_sockets()), free - 4);
    drop(l);
    net.with(|s| s.run_for(Duration::from_millis(10)));
    assert_eq!(net.with(|s| s.stack(0).free_tcp_sockets()), free);
    assert!(h.tcp_listen(6100, 4).is_ok());
}

/// A blocking call whose exchange completes while the network settles must
/// return without the virtual clock jumping to its deadline (smoltcp does
/// not report the ARP request it sends for a waiting socket; the simulation
/// counts frames on the wire as progress).
#[test]
fn a_blocking_connect_takes_no_virtual_time_on_an_instant_link() {
    let mut s = sim(2);
    let _l = socket::TcpListener::bind(s.stack(0), 7000, 1).unwrap();
    let net = Net::new(s);
    let start = net.now();
    let c = net
        .host(1)
        .tcp_connect(at(1, 7000), Some(Duration::from_secs(5)));
    let took = net.now() - start;
    println!("connect (with ARP) took {} ms virtual", took.total_millis());
    assert!(c.is_ok());
    assert!(
        took < Duration::from_millis(100),
        "the clock jumped: {took}"
    );
}
