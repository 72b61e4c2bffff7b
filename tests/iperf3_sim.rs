//! The iperf3 service over the simulated segment, driven by a client made
//! of bare streams that speaks iperf3 3.12's control protocol byte for
//! byte: a test each way with two streams, and a second client refused
//! while a test runs. (The real `iperf3` runs in tests/tap/iperf3.sh.)

use layernet::app::iperf3::Iperf3Server;
use layernet::app::iperf3::control::{COOKIE_SIZE, state};
use layernet::app::iperf3::{json, udp};
use layernet::app::ports;
use layernet::host::sim::{SimNet, endpoint};
use layernet::socket::{Error, TcpStream, UdpSocket};
use layernet::{Duration, IpEndpoint};

const SERVER: usize = 0;
const CLIENT: usize = 1;
const TICK: Duration = Duration::from_millis(5);

fn setup(seed: u64) -> (SimNet, IpEndpoint) {
    let (mut net, a, b) = SimNet::pair(seed).expect("two hosts");
    assert_eq!((a, b), (SERVER, CLIENT));
    let server = Iperf3Server::<6>::bind(net.stack(SERVER), ports::IPERF3, 4).expect("bind");
    net.serve(SERVER, Box::new(server));
    (net, endpoint(SERVER, ports::IPERF3))
}

fn connect(net: &mut SimNet, to: IpEndpoint) -> TcpStream {
    let mut s = TcpStream::connect(net.stack(CLIENT), to).expect("connect");
    for _ in 0..200 {
        net.run_for(TICK);
        if s.poll_connect(net.stack(CLIENT)).is_ok() {
            return s;
        }
    }
    panic!("no connection");
}

fn send_all(net: &mut SimNet, s: &mut TcpStream, mut data: &[u8]) {
    for _ in 0..2000 {
        if data.is_empty() {
            return;
        }
        match s.send(net.stack(CLIENT), data) {
            Ok(n) => data = &data[n..],
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("send: {e}"),
        }
        net.run_for(TICK);
    }
    panic!("send stuck");
}

fn read_exact(net: &mut SimNet, s: &mut TcpStream, buf: &mut [u8]) {
    let mut got = 0;
    for _ in 0..2000 {
        if got == buf.len() {
            return;
        }
        match s.recv(net.stack(CLIENT), &mut buf[got..]) {
            Ok(0) => panic!("end of file after {got} bytes"),
            Ok(n) => got += n,
            Err(Error::WouldBlock) => net.run_for(TICK),
            Err(e) => panic!("recv: {e}"),
        }
    }
    panic!("read stuck at {got} of {}", buf.len());
}

fn expect_state(net: &mut SimNet, s: &mut TcpStream, want: u8) {
    let mut b = [0u8; 1];
    read_exact(net, s, &mut b);
    assert_eq!(b[0], want, "state byte");
}

fn framed(json: &str) -> Vec<u8> {
    let mut v = (json.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(json.as_bytes());
    v
}

/// One whole test with `streams` streams; returns the server's results.
fn run_test(
    net: &mut SimNet,
    to: IpEndpoint,
    streams: usize,
    reverse: bool,
    cookie: &[u8; COOKIE_SIZE],
) -> String {
    let mut ctl = connect(net, to);
    send_all(net, &mut ctl, cookie);
    expect_state(net, &mut ctl, state::PARAM_EXCHANGE);
    let params = format!(
        r#"{{"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":{streams},{}"len":131072,"pacing_timer":1000,"client_version":"3.12"}}"#,
        if reverse { r#""reverse":true,"# } else { "" }
    );
    send_all(net, &mut ctl, &framed(&params));
    expect_state(net, &mut ctl, state::CREATE_STREAMS);
    let mut data: Vec<TcpStream> = (0..streams).map(|_| connect(net, to)).collect();
    for d in &mut data {
        send_all(net, d, cookie);
    }
    expect_state(net, &mut ctl, state::TEST_START);
    expect_state(net, &mut ctl, state::TEST_RUNNING);
    let mut moved = 0usize;
    for _ in 0..100 {
        for d in &mut data {
            if reverse {
                let mut buf = [0u8; 4096];
                while let Ok(n) = d.recv(net.stack(CLIENT), &mut buf) {
                    assert!(n > 0 && buf[..n].iter().all(|&b| b == buf[0]));
                    moved += n;
                }
            } else if let Ok(n) = d.send(net.stack(CLIENT), &[7u8; 4096]) {
                moved += n;
            }
        }
        net.run_for(TICK);
    }
    assert!(moved > 0, "nothing moved");
    let body = finish(net, ctl);
    for d in data {
        d.close(net.stack(CLIENT));
    }
    net.run_for(Duration::from_millis(200));
    let results = String::from_utf8(body).expect("utf-8");
    assert_eq!(
        json::field(results.as_bytes(), "sender_has_retransmits").and_then(|v| v.as_i64()),
        Some(if reverse { 0 } else { -1 })
    );
    if !reverse {
        // The server counted what it received: every byte sent arrived.
        let total: u64 = results
            .split(r#""bytes":"#)
            .skip(1)
            .filter_map(|s| s.split(',').next()?.parse::<u64>().ok())
            .sum();
        assert_eq!(total, moved as u64, "{results}");
    }
    results
}

#[test]
fn a_test_each_way_with_two_streams() {
    let (mut net, to) = setup(20);
    let up = run_test(&mut net, to, 2, false, &[b'a'; COOKIE_SIZE]);
    assert!(
        up.contains(r#"{"id":1,"#) && up.contains(r#"{"id":3,"#),
        "{up}"
    );
    let down = run_test(&mut net, to, 2, true, &[b'b'; COOKIE_SIZE]);
    assert!(down.contains(r#""streams":[{"id":1,"bytes":"#), "{down}");
    assert!(!down.contains(r#""bytes":0,"#), "every stream sent: {down}");
}

#[test]
fn a_second_client_is_refused_while_a_test_waits() {
    let (mut net, to) = setup(21);
    let mut first = connect(&mut net, to);
    send_all(&mut net, &mut first, &[b'c'; COOKIE_SIZE]);
    expect_state(&mut net, &mut first, state::PARAM_EXCHANGE);
    let mut second = connect(&mut net, to);
    send_all(&mut net, &mut second, &[b'd'; COOKIE_SIZE]);
    expect_state(&mut net, &mut second, state::ACCESS_DENIED);
    // During CREATE_STREAMS a wrong cookie is refused too.
    send_all(
        &mut net,
        &mut first,
        &framed(r#"{"tcp":true,"parallel":1}"#),
    );
    expect_state(&mut net, &mut first, state::CREATE_STREAMS);
    let mut third = connect(&mut net, to);
    send_all(&mut net, &mut third, &[b'e'; COOKIE_SIZE]);
    expect_state(&mut net, &mut third, state::ACCESS_DENIED);
    // The first client gives up; the server takes the next test.
    first.abort(net.stack(CLIENT));
    net.run_for(Duration::from_millis(100));
    run_test(&mut net, to, 1, false, &[b'f'; COOKIE_SIZE]);
}

#[test]
fn too_many_streams_is_iperf3s_error() {
    let (mut net, to) = setup(22);
    let mut ctl = connect(&mut net, to);
    send_all(&mut net, &mut ctl, &[b'g'; COOKIE_SIZE]);
    expect_state(&mut net, &mut ctl, state::PARAM_EXCHANGE);
    send_all(&mut net, &mut ctl, &framed(r#"{"tcp":true,"parallel":5}"#));
    let mut reply = [0u8; 9];
    read_exact(&mut net, &mut ctl, &mut reply);
    assert_eq!(reply, [state::SERVER_ERROR, 0, 0, 0, 6, 0, 0, 0, 0]);
}

/// No UDP socket to spare (as on a board): a UDP test gets iperf3's
/// "unable to start stream listener" in place of CREATE_STREAMS, so the
/// client never sends a datagram to a closed port and reports that
/// instead; a TCP test runs after it.
#[test]
fn a_udp_test_without_a_udp_socket_is_iperf3s_error() {
    let (mut net, to) = setup(24);
    let mut taken = Vec::new();
    while let Ok(s) = UdpSocket::bind(net.stack(SERVER), 0) {
        taken.push(s);
    }
    assert!(!taken.is_empty(), "the host profile has UDP sockets");
    let mut ctl = connect(&mut net, to);
    send_all(&mut net, &mut ctl, &[b'u'; COOKIE_SIZE]);
    expect_state(&mut net, &mut ctl, state::PARAM_EXCHANGE);
    send_all(
        &mut net,
        &mut ctl,
        &framed(r#"{"udp":true,"parallel":1,"time":1,"bandwidth":1000000,"len":1000}"#),
    );
    let mut reply = [0u8; 9];
    read_exact(&mut net, &mut ctl, &mut reply);
    // IESTREAMLISTEN is 202.
    assert_eq!(reply, [state::SERVER_ERROR, 0, 0, 0, 202, 0, 0, 0, 0]);
    run_test(&mut net, to, 1, false, &[b'v'; COOKIE_SIZE]);
}

#[test]
fn a_silent_client_is_given_up_after_the_idle_time() {
    let (mut net, to) = setup(23);
    let mut silent = connect(&mut net, to);
    send_all(&mut net, &mut silent, &[b'h'; COOKIE_SIZE]);
    expect_state(&mut net, &mut silent, state::PARAM_EXCHANGE);
    // Nothing more from it, not even a FIN: the server waits IDLE, then
    // resets the test and takes the next client.
    net.run_for(layernet::app::iperf3::IDLE + Duration::from_secs(1));
    let mut buf = [0u8; 1];
    assert!(matches!(
        silent.recv(net.stack(CLIENT), &mut buf),
        Err(Error::Reset)
    ));
    run_test(&mut net, to, 1, true, &[b'i'; COOKIE_SIZE]);
}

/// A UDP test's control exchange up to TEST_RUNNING, its stream opened by
/// iperf3 3.12's connect datagram; returns the control connection and the
/// client's UDP socket.
fn udp_test_start(
    net: &mut SimNet,
    to: IpEndpoint,
    params: &str,
    cookie: &[u8; COOKIE_SIZE],
) -> (TcpStream, UdpSocket) {
    let mut ctl = connect(net, to);
    send_all(net, &mut ctl, cookie);
    expect_state(net, &mut ctl, state::PARAM_EXCHANGE);
    send_all(net, &mut ctl, &framed(params));
    expect_state(net, &mut ctl, state::CREATE_STREAMS);
    let mut sock = UdpSocket::bind(net.stack(CLIENT), 0).expect("udp");
    sock.send_to(net.stack(CLIENT), &udp::CONNECT_MSG.to_le_bytes(), to)
        .expect("connect datagram");
    net.run_for(Duration::from_millis(20));
    let mut buf = [0u8; 64];
    let (n, from) = sock.recv_from(net.stack(CLIENT), &mut buf).expect("reply");
    assert_eq!(from, to, "answered from the server's port");
    assert_eq!(&buf[..n], udp::CONNECT_REPLY.to_le_bytes());
    expect_state(net, &mut ctl, state::TEST_START);
    expect_state(net, &mut ctl, state::TEST_RUNNING);
    (ctl, sock)
}

/// TEST_END, results both ways, IPERF_DONE: the server's results.
fn finish(net: &mut SimNet, mut ctl: TcpStream) -> Vec<u8> {
    send_all(net, &mut ctl, &[state::TEST_END]);
    expect_state(net, &mut ctl, state::EXCHANGE_RESULTS);
    send_all(
        net,
        &mut ctl,
        &framed(
            r#"{"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[]}"#,
        ),
    );
    let mut len = [0u8; 4];
    read_exact(net, &mut ctl, &mut len);
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    read_exact(net, &mut ctl, &mut body);
    expect_state(net, &mut ctl, state::DISPLAY_RESULTS);
    send_all(net, &mut ctl, &[state::IPERF_DONE]);
    ctl.close(net.stack(CLIENT));
    net.run_for(Duration::from_millis(100));
    body
}

/// The first stream's `key` in a result.
fn stream_field(results: &[u8], key: &str) -> String {
    let text = String::from_utf8_lossy(results);
    let at = text.find(&format!(r#""{key}":"#)).expect(key) + key.len() + 3;
    text[at..]
        .split([',', '}'])
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn udp_loss_reordering_and_jitter_are_counted() {
    let (mut net, to) = setup(24);
    let (ctl, mut sock) = udp_test_start(
        &mut net,
        to,
        r#"{"udp":true,"time":1,"parallel":1,"len":200,"bandwidth":1000000,"client_version":"3.12"}"#,
        &[b'u'; COOKIE_SIZE],
    );
    // 5 is lost; 3 comes after 4. Sent 10 ms apart, each in transit for
    // 1 ms, except 4 (3 ms): the jitter is not zero.
    for (seq, at_ms) in [(1u64, 0i64), (2, 10), (4, 30), (3, 20), (6, 50)] {
        let mut d = [0u8; 200];
        let sent = layernet::Instant::from_millis(at_ms) + Duration::from_secs(1000);
        udp::write_header(&mut d, sent, seq, false);
        sock.send_to(net.stack(CLIENT), &d, to).expect("send");
        net.run_for(Duration::from_millis(if seq == 4 { 3 } else { 1 }));
    }
    let results = finish(&mut net, ctl);
    sock.close(net.stack(CLIENT));
    assert_eq!(stream_field(&results, "bytes"), "1000");
    assert_eq!(
        stream_field(&results, "packets"),
        "6",
        "the highest number seen"
    );
    assert_eq!(
        stream_field(&results, "errors"),
        "1",
        "5 lost; 3 late, not lost"
    );
    let jitter: f64 = stream_field(&results, "jitter").parse().expect("jitter");
    assert!(jitter > 0.0 && jitter < 1.0, "{jitter} s");
}

#[test]
fn udp_reverse_sends_numbered_datagrams_at_the_rate() {
    let (mut net, to) = setup(25);
    let (ctl, mut sock) = udp_test_start(
        &mut net,
        to,
        r#"{"udp":true,"reverse":true,"time":1,"parallel":1,"len":1000,"bandwidth":800000}"#,
        &[b'v'; COOKIE_SIZE],
    );
    // 800 kbit/s of 1000-byte datagrams: 100 a second, 50 in half a second.
    let mut r = udp::Receiver::new();
    let mut buf = [0u8; 1500];
    for _ in 0..100 {
        net.run_for(Duration::from_millis(5));
        while let Ok((n, _)) = sock.recv_from(net.stack(CLIENT), &mut buf) {
            r.take(&buf[..n], n, net.now(), false);
        }
    }
    assert!(
        (45..=55).contains(&r.packets),
        "{} datagrams in 0.5 s",
        r.packets
    );
    assert_eq!((r.lost, r.out_of_order), (0, 0));
    let results = finish(&mut net, ctl);
    sock.close(net.stack(CLIENT));
    let sent: u64 = stream_field(&results, "packets").parse().expect("packets");
    assert!(sent >= r.packets, "{sent} sent, {} received", r.packets);
}
