//! Every application over the simulated segment: servers with several
//! clients at once, the time-echo's framing and idle flush, the chat room's
//! relay rules, ping, and partial sends through tiny socket buffers.

use layernet::app::chat::{ChatPeer, ChatRoom};
use layernet::app::clock::FixedEpoch;
use layernet::app::echo::{EchoClient, EchoServer};
use layernet::app::greeting::{DEFAULT_GREETING, GreetingClient, GreetingServer};
use layernet::app::ping::Pinger;
use layernet::app::time_echo::{IDLE_FLUSH, TimeEchoClient, TimeEchoServer, is_reply_to};
use layernet::app::{Outcome, Service, ports};
use layernet::host::blocking::Net;
use layernet::host::sim::{HostId, SimNet, SimService, host_ip, host_mac};
use layernet::link::segment::Faults;
use layernet::net::{Config, Resources};
use layernet::{Duration, IpAddress, IpEndpoint};

fn net(hosts: usize) -> SimNet {
    let mut net = SimNet::new(11, Faults::NONE);
    for _ in 0..hosts {
        net.add_host().expect("host");
    }
    net
}

fn ep(net: &mut SimNet, host: HostId, port: u16) -> IpEndpoint {
    IpEndpoint::new(IpAddress::Ipv4(net.stack(host).ipv4_addr()), port)
}

const LIVENESS: Duration = Duration::from_secs(60);

#[test]
fn echo_serves_several_clients_at_once() {
    let mut net = net(3);
    let server = EchoServer::<4>::bind(net.stack(0), ports::ECHO, 4).unwrap();
    net.serve(0, Box::new(server));
    let to = ep(&mut net, 0, ports::ECHO);
    let messages: Vec<Vec<u8>> = (0..4u8)
        .map(|i| vec![b'a' + i; 1000 + 700 * usize::from(i)])
        .collect();
    let mut clients: Vec<EchoClient<4000>> =
        messages.iter().map(|m| EchoClient::new(to, m)).collect();
    let mut extra: Vec<(HostId, &mut SimService)> = clients
        .iter_mut()
        .enumerate()
        .map(|(i, c)| (1 + i % 2, c as &mut SimService))
        .collect();
    let finished = net.run_until(LIVENESS, &mut extra, |e| e.iter().all(|(_, c)| c.is_done()));
    drop(extra);
    println!(
        "4 echo clients done after {} ms virtual",
        net.now().total_millis()
    );
    assert!(finished);
    for (c, m) in clients.iter().zip(&messages) {
        assert_eq!(c.outcome(), Outcome::Done);
        assert_eq!(c.received(), m.as_slice());
    }
}

#[test]
fn greeting_is_sent_then_closed_gracefully() {
    let mut net = net(2);
    let server =
        GreetingServer::<2>::bind(net.stack(0), ports::GREETING, 2, DEFAULT_GREETING).unwrap();
    net.serve(0, Box::new(server));
    let to = ep(&mut net, 0, ports::GREETING);
    let before = net.segment().census();
    for _ in 0..3 {
        let mut c = GreetingClient::<256>::new(to);
        assert!(net.run_client(1, &mut c, LIVENESS));
        assert_eq!(c.outcome(), Outcome::Done);
        assert_eq!(c.received(), b"connect successfully!\r\n");
    }
    net.run_for(Duration::from_secs(1));
    let c = net.segment().census().since(&before);
    assert_eq!((c.tcp_syn, c.tcp_rst), (3, 0), "{c:?}");
    assert_eq!(
        c.tcp_fin, 6,
        "both sides closed each connection with a FIN: {c:?}"
    );
}

#[test]
fn greeting_is_configurable() {
    let mut net = net(2);
    let server = GreetingServer::<2>::bind(net.stack(0), 4000, 2, b"welcome\n").unwrap();
    net.serve(0, Box::new(server));
    let mut c = GreetingClient::<256>::new(ep(&mut net, 0, 4000));
    assert!(net.run_client(1, &mut c, LIVENESS));
    assert_eq!(c.received(), b"welcome\n");
}

#[test]
fn time_echo_answers_lines_and_strips_carriage_returns() {
    let mut net = net(2);
    let server =
        TimeEchoServer::<_, 2>::bind(net.stack(0), ports::TIME_ECHO, 2, FixedEpoch::SIMULATION)
            .unwrap();
    net.serve(0, Box::new(server));
    let lines: [&[u8]; 3] = [b"one\n", b"two\r\n", b"\n"];
    let mut c = TimeEchoClient::<4, 128>::new(ep(&mut net, 0, ports::TIME_ECHO), &lines);
    assert!(net.run_client(1, &mut c, LIVENESS));
    assert_eq!(c.outcome(), Outcome::Done);
    let replies: Vec<&[u8]> = c.replies().iter().map(|r| r.as_slice()).collect();
    assert_eq!(replies[0], b"[2024-01-01 00:00:00]:one\n");
    assert!(
        is_reply_to(replies[1], b"two", true),
        "{:?}",
        String::from_utf8_lossy(replies[1])
    );
    assert!(is_reply_to(replies[2], b"", true));
}

/// Drive the time-echo server with a blocking client to see when replies come.
#[test]
fn time_echo_flushes_a_partial_line_after_100_ms_of_quiet() {
    let mut sim = net(2);
    let server =
        TimeEchoServer::<_, 2>::bind(sim.stack(0), ports::TIME_ECHO, 2, FixedEpoch::SIMULATION)
            .unwrap();
    sim.serve(0, Box::new(server));
    let to = ep(&mut sim, 0, ports::TIME_ECHO);
    let net = Net::new(sim);
    let mut s = net.host(1).tcp_connect(to, None).unwrap();
    s.set_nodelay(true);

    // Two pieces 60 ms apart: still one line, answered once, 100 ms after the last.
    s.sendall(b"par").unwrap();
    let first_sent = net.now();
    s.set_timeout(Some(Duration::from_millis(60)));
    let mut buf = [0u8; 128];
    assert_eq!(
        s.recv(&mut buf),
        Err(layernet::socket::Error::TimedOut),
        "nothing before the flush"
    );
    s.sendall(b"tial").unwrap();
    let last_sent = net.now();
    s.set_timeout(Some(Duration::from_secs(5)));
    let mut got = Vec::new();
    while got.len() < 22 + 7 {
        let n = s.recv(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    let waited = net.now() - last_sent;
    println!(
        "partial line answered {} ms after its last byte ({} ms after its first)",
        waited.total_millis(),
        (net.now() - first_sent).total_millis()
    );
    assert!(
        is_reply_to(&got, b"partial", false),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(waited >= IDLE_FLUSH, "flushed too early: {waited}");
    assert!(
        waited < IDLE_FLUSH + Duration::from_millis(50),
        "flushed late: {waited}"
    );
}

#[test]
fn time_echo_answers_a_full_buffer_as_a_line() {
    let mut sim = net(2);
    // A 16-byte line buffer: 20 bytes without a newline overflow it.
    let server =
        TimeEchoServer::<_, 1, 16>::bind(sim.stack(0), ports::TIME_ECHO, 1, FixedEpoch::SIMULATION)
            .unwrap();
    sim.serve(0, Box::new(server));
    let to = ep(&mut sim, 0, ports::TIME_ECHO);
    let net = Net::new(sim);
    let mut s = net.host(1).tcp_connect(to, None).unwrap();
    s.sendall(b"0123456789abcdefXYZ\n").unwrap();
    s.set_timeout(Some(Duration::from_secs(5)));
    let mut got = Vec::new();
    let mut buf = [0u8; 128];
    while got.len() < (22 + 16 + 1) + (22 + 3 + 1) {
        let n = s.recv(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        is_reply_to(&got[..39], b"0123456789abcdef", true),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(is_reply_to(&got[39..], b"XYZ", true));
}

#[test]
fn chat_room_relays_to_the_others_only() {
    let mut net = net(4);
    let room_ep = ep(&mut net, 0, ports::CHAT);
    let mut room = ChatRoom::<8>::bind(net.stack(0), ports::CHAT).unwrap();
    let mut peers: Vec<ChatPeer<8>> = (1..4)
        .map(|h| ChatPeer::bind(net.stack(h), ports::CHAT, room_ep).unwrap())
        .collect();
    // Everyone says hello once, so the room knows all three.
    for (i, p) in peers.iter_mut().enumerate() {
        p.say(format!("hello from {i}").as_bytes()).unwrap();
    }
    let run = |net: &mut SimNet, room: &mut ChatRoom<8>, peers: &mut Vec<ChatPeer<8>>| {
        let (a, rest) = peers.split_at_mut(1);
        let (b, c) = rest.split_at_mut(1);
        let mut extra: [(HostId, &mut SimService); 4] =
            [(0, room), (1, &mut a[0]), (2, &mut b[0]), (3, &mut c[0])];
        net.run_until(Duration::from_secs(1), &mut extra, |_| false);
    };
    run(&mut net, &mut room, &mut peers);
    assert_eq!(room.received(), 3);
    for p in peers.iter_mut() {
        while p.take_received().is_some() {}
    }
    peers[1].say(b"only for the others").unwrap();
    run(&mut net, &mut room, &mut peers);
    let sender = IpEndpoint::new(IpAddress::Ipv4(host_ip(2).address()), ports::CHAT);
    let want = format!("[{sender}] only for the others");
    for (i, p) in peers.iter_mut().enumerate() {
        let got = p.take_received();
        if i == 1 {
            assert!(got.is_none(), "the sender got its own message back");
        } else {
            let (from, m) = got.expect("relayed message");
            assert_eq!(from, room_ep);
            assert_eq!(m.as_slice(), want.as_bytes());
        }
    }
    let mut lines = Vec::new();
    Service::drain_log(&mut room, &mut |l| lines.push(l.to_string()));
    assert!(
        lines.contains(&format!("[{sender}] only for the others")),
        "{lines:?}"
    );
}

#[test]
fn chat_room_forgets_peers_silent_for_five_minutes() {
    let mut net = net(3);
    let room_ep = ep(&mut net, 0, ports::CHAT);
    let mut room = ChatRoom::<8>::bind(net.stack(0), ports::CHAT).unwrap();
    let mut a = ChatPeer::<8>::bind(net.stack(1), ports::CHAT, room_ep).unwrap();
    let mut b = ChatPeer::<8>::bind(net.stack(2), ports::CHAT, room_ep).unwrap();
    a.say(b"I was here").unwrap();
    let mut extra: [(HostId, &mut SimService); 3] = [(0, &mut room), (1, &mut a), (2, &mut b)];
    net.run_until(Duration::from_secs(301), &mut extra, |_| false);
    b.say(b"anyone?").unwrap();
    let mut extra: [(HostId, &mut SimService); 3] = [(0, &mut room), (1, &mut a), (2, &mut b)];
    net.run_until(Duration::from_secs(1), &mut extra, |_| false);
    assert_eq!(room.received(), 2);
    assert!(
        a.take_received().is_none(),
        "A fell silent over 5 minutes ago"
    );
}

#[test]
fn ping_gets_every_reply() {
    let mut net = net(2);
    let target = net.stack(0).ipv4_addr();
    let mut p = Pinger::new(target, 5, Duration::from_millis(100));
    assert!(net.run_client(1, &mut p, LIVENESS));
    assert_eq!(p.outcome(), Outcome::Done);
    assert_eq!((p.sent(), p.replies()), (5, 5));
    let c = net.segment().census();
    assert_eq!((c.icmp_echo_requests, c.icmp_echo_replies), (5, 5));
}

#[test]
fn ping_to_nobody_times_out() {
    let mut net = net(2);
    let mut p = Pinger::new(
        layernet::Ipv4Address::new(192, 168, 69, 77),
        2,
        Duration::from_millis(100),
    );
    assert!(net.run_client(1, &mut p, LIVENESS));
    assert_eq!(
        p.outcome(),
        Outcome::Failed(layernet::socket::Error::TimedOut)
    );
}

/// Socket buffers of 64 bytes, a message of 3000: every send is partial,
/// and the whole message still arrives intact.
#[test]
fn partial_sends_through_tiny_buffers() {
    let mut sim = SimNet::new(5, Faults::NONE);
    let tiny: &'static mut Resources<'static, 4, 2, 1, 64> = Box::leak(Box::default());
    sim.add_host_with(Config::new(host_mac(0), host_ip(0)), tiny)
        .unwrap();
    let tiny: &'static mut Resources<'static, 4, 2, 1, 64> = Box::leak(Box::default());
    sim.add_host_with(Config::new(host_mac(1), host_ip(1)), tiny)
        .unwrap();
    let server = EchoServer::<1, 32>::bind(sim.stack(0), ports::ECHO, 1).unwrap();
    sim.serve(0, Box::new(server));
    let to = ep(&mut sim, 0, ports::ECHO);
    let net = Net::new(sim);
    let mut s = net.host(1).tcp_connect(to, None).unwrap();
    let message: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    // Send and receive in turn, as an echo client with small buffers must
    // (a sendall of everything first would fill both windows and stall).
    s.set_timeout(Some(Duration::from_millis(10)));
    let (mut sent, mut partial, mut back) = (0, 0, Vec::new());
    let mut buf = [0u8; 100];
    for _ in 0..100_000 {
        if back.len() == message.len() {
            break;
        }
        if sent < message.len() {
            match s.send(&message[sent..]) {
                Ok(n) => {
                    assert!(n <= 64, "more than the send buffer holds: {n}");
                    partial += usize::from(n < message.len() - sent);
                    sent += n;
                }
                Err(layernet::socket::Error::TimedOut) => {}
                Err(e) => panic!("send: {e}"),
            }
        }
        match s.recv(&mut buf) {
            Ok(0) => panic!("early end of file"),
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(layernet::socket::Error::TimedOut) => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
    println!(
        "{partial} partial sends for {} bytes, {} ms virtual",
        message.len(),
        net.now().total_millis()
    );
    assert!(partial >= 3000 / 64 - 1, "sends were partial: {partial}");
    assert_eq!(back, message);
}

#[test]
fn a_server_pool_bigger_than_the_stack_pool_is_bounded_by_the_stack() {
    let mut sim = SimNet::new(5, Faults::NONE);
    let small: &'static mut Resources<'static, 4, 2, 1, 256> = Box::leak(Box::default());
    sim.add_host_with(Config::new(host_mac(0), host_ip(0)), small)
        .unwrap();
    sim.add_host().unwrap();
    // Two TCP sockets in all: a listener with backlog 2 takes both.
    let mut l = layernet::socket::TcpListener::bind(sim.stack(0), 9, 2).unwrap();
    assert_eq!(sim.stack(0).free_tcp_sockets(), 0);
    assert_eq!(
        layernet::socket::TcpListener::bind(sim.stack(0), 9, 1).unwrap_err(),
        layernet::socket::Error::AddrInUse
    );
    assert!(matches!(
        l.accept(sim.stack(0)),
        Err(layernet::socket::Error::WouldBlock)
    ));
}

/// A time server for the SNTP test: answers each request with a fixed
/// UTC time (2030-01-01 00:00:00), echoing the request's transmit time.
struct FakeNtp {
    socket: layernet::socket::UdpSocket,
    answered: u32,
}

impl Service for FakeNtp {
    fn poll(&mut self, stack: &mut layernet::net::Stack<'_>, _now: layernet::Instant) -> bool {
        let mut buf = [0u8; 48];
        let Ok((n, from)) = self.socket.recv_from(stack, &mut buf) else {
            return false;
        };
        assert_eq!((n, buf[0] & 7), (48, 3), "a client's request");
        let t: u32 = (1_893_456_000u64 + 2_208_988_800) as u32; // 2030-01-01 in NTP seconds
        let mut reply = [0u8; 48];
        reply[0] = (4 << 3) | 4;
        reply[1] = 2;
        reply[24..32].copy_from_slice(&buf[40..48]);
        reply[32..36].copy_from_slice(&t.to_be_bytes());
        reply[40..44].copy_from_slice(&t.to_be_bytes());
        self.socket.send_to(stack, &reply, from).expect("reply");
        self.answered += 1;
        true
    }
}

#[test]
fn sntp_sets_the_time_echo_clock() {
    use layernet::app::sntp::{NTP_PORT, Offset, Sntp, SntpClock};
    let mut net = net(2);
    let socket = layernet::socket::UdpSocket::bind(net.stack(0), NTP_PORT).unwrap();
    net.serve(
        0,
        Box::new(FakeNtp {
            socket,
            answered: 0,
        }),
    );
    let offset: &'static Offset = Box::leak(Box::new(Offset::new()));
    let server = ep(&mut net, 0, NTP_PORT);
    let sntp: Sntp<'static> = Sntp::new(server, offset);
    net.serve(1, Box::new(sntp));
    let clock = SntpClock::new(offset, FixedEpoch::SIMULATION);
    let echo = TimeEchoServer::<_, 2>::bind(net.stack(1), ports::TIME_ECHO, 2, clock).unwrap();
    net.serve(1, Box::new(echo));
    net.run_for(Duration::from_secs(1));
    let at = offset
        .unix_millis(net.now())
        .expect("synchronised within a second");
    assert!((1_893_456_000_000..1_893_456_002_000).contains(&at), "{at}");
    let lines: [&[u8]; 1] = [b"when?\n"];
    let mut c = TimeEchoClient::<1, 128>::new(ep(&mut net, 1, ports::TIME_ECHO), &lines);
    assert!(net.run_client(0, &mut c, LIVENESS));
    let reply = String::from_utf8_lossy(c.replies()[0].as_slice()).to_string();
    assert!(
        reply.starts_with("[2030-01-01 00:00:0"),
        "the server's time, not the simulation's 2024: {reply}"
    );
}
