//! Arbitrary bytes into the services' parsers, through the stack as a
//! client would send them: the file service's HTTP request parser, the
//! time-stamped echo's line assembler and the chat room's datagram
//! handler. None may panic, and each must answer a normal request after
//! every hostile one (one network per property, so what the garbage left
//! behind is there for the next case too).

use std::cell::RefCell;
use std::rc::Rc;

use layernet::Duration;
use layernet::app::chat::{ChatPeer, ChatRoom};
use layernet::app::clock::FixedEpoch;
use layernet::app::files::{FileServer, Limits, Policy};
use layernet::app::ports;
use layernet::app::storage::RamStore;
use layernet::app::time_echo::{TimeEchoServer, is_reply_to};
use layernet::host::blocking::{Net, TcpStream};
use layernet::host::sim::{SimNet, endpoint};
use layernet::socket::Error;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const CASES: u32 = 256;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything the server sends until it closes, resets or goes quiet for
/// `quiet` (virtual time).
fn read_to_end(s: &mut TcpStream<SimNet>, quiet: Duration) -> Vec<u8> {
    s.set_timeout(Some(quiet));
    let mut all = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n @ 1..) = s.recv(&mut buf) {
        all.extend_from_slice(&buf[..n]);
    }
    all
}

/// Send `bytes` on a fresh connection, say we are done, and return the
/// answer. The server may close early (a 400 mid-request): errors are
/// part of the answer, not a failure.
fn hostile_exchange(net: &Net<SimNet>, port: u16, bytes: &[u8], quiet: Duration) -> Vec<u8> {
    let Ok(mut s) = net.host(1).tcp_connect(endpoint(0, port), None) else {
        return Vec::new();
    };
    s.set_timeout(Some(Duration::from_secs(5)));
    let _ = s.sendall(bytes);
    s.shutdown();
    let answer = read_to_end(&mut s, quiet);
    s.close();
    answer
}

/// Requests that start like HTTP and go wrong somewhere, or bytes from
/// nowhere.
fn http_garbage() -> impl Strategy<Value = Vec<u8>> {
    let starts = prop::sample::select(vec![
        "",
        "GET /",
        "GET / HTTP/1.1\r\n",
        "HEAD /x HTTP/1.0\r\nRange: bytes=",
        "PUT /f HTTP/1.1\r\nContent-Length: ",
        "PUT /g HTTP/1.1\r\nContent-Length: 4\r\n\r\n",
        "DELETE /",
        "GET /%",
    ]);
    let ends = prop::sample::select(vec!["", "\r\n", "\r\n\r\n", "\n\n"]);
    (starts, vec(any::<u8>(), 0..700), ends)
        .prop_map(|(start, middle, end)| [start.as_bytes(), &middle, end.as_bytes()].concat())
}

#[test]
fn http_parser_survives_arbitrary_requests() {
    let (mut sim, server, _) = SimNet::pair(21).expect("two hosts");
    let store = RamStore::<4, 4096>::new();
    let files =
        FileServer::<_, 2>::bind(sim.stack(server), ports::FILES, 2, store, Limits::default())
            .expect("bind")
            .with_policy(Policy::WRITABLE);
    sim.serve(server, Box::new(files));
    let net = Net::new(sim);
    let statuses = RefCell::new(std::collections::BTreeMap::new());
    runner()
        .run(&http_garbage(), |request| {
            let answer = hostile_exchange(&net, ports::FILES, &request, Duration::from_secs(40));
            // Whatever came back is HTTP: a status line first.
            prop_assert!(
                answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
                "{:?}",
                shown(&answer)
            );
            if answer.len() >= 12 {
                *statuses
                    .borrow_mut()
                    .entry(shown(&answer[9..12]))
                    .or_insert(0) += 1;
            }
            let normal = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
            let listing = hostile_exchange(&net, ports::FILES, normal, Duration::from_secs(5));
            prop_assert!(
                listing.starts_with(b"HTTP/1.1 200"),
                "{:?}",
                shown(&listing)
            );
            Ok(())
        })
        .expect("no case fails");
    println!("{CASES} hostile requests; statuses {:?}", statuses.borrow());
}

#[test]
fn time_echo_line_assembler_survives_arbitrary_bytes() {
    let (mut sim, server, _) = SimNet::pair(22).expect("two hosts");
    let echo = TimeEchoServer::<_, 2>::bind(
        sim.stack(server),
        ports::TIME_ECHO,
        2,
        FixedEpoch::SIMULATION,
    )
    .expect("bind");
    sim.serve(server, Box::new(echo));
    let net = Net::new(sim);
    // Lines, CRs and NULs are the assembler's business: weight them in.
    let byte = prop_oneof![any::<u8>(), Just(b'\n'), Just(b'\r'), Just(0u8)];
    runner()
        .run(&vec(byte, 0..1200), |bytes| {
            let answer = hostile_exchange(&net, ports::TIME_ECHO, &bytes, Duration::from_secs(2));
            // Every byte sent comes back, behind its stamps.
            prop_assert!(answer.len() >= bytes.len());
            let mut s = net
                .host(1)
                .tcp_connect(endpoint(0, ports::TIME_ECHO), None)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            s.sendall(b"still there?\n")
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut line = Vec::new();
            let mut buf = [0u8; 64];
            s.set_timeout(Some(Duration::from_secs(2)));
            while !line.ends_with(b"\n") {
                match s.recv(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => line.extend_from_slice(&buf[..n]),
                }
            }
            s.close();
            prop_assert!(
                is_reply_to(&line, b"still there?", true),
                "{:?}",
                shown(&line)
            );
            Ok(())
        })
        .expect("no case fails");
}

#[test]
fn chat_room_survives_arbitrary_datagrams() {
    let (mut sim, server, talker) = SimNet::pair(23).expect("two hosts");
    let listener_host = sim.add_host().expect("third host");
    let room = Rc::new(RefCell::new(
        ChatRoom::<4>::bind(sim.stack(server), ports::CHAT).expect("room"),
    ));
    sim.serve(server, Box::new(Rc::clone(&room)));
    let room_at = endpoint(server, ports::CHAT);
    let listener =
        ChatPeer::<8>::bind(sim.stack(listener_host), ports::CHAT, room_at).expect("peer");
    let listener = Rc::new(RefCell::new(listener));
    sim.serve(listener_host, Box::new(Rc::clone(&listener)));
    let net = Net::new(sim);
    listener.borrow_mut().say(b"here").expect("say");
    net.with(|sim| sim.run_for(Duration::from_millis(100)));
    let garbage = RefCell::new(net.host(talker).udp_bind(5000).expect("udp"));
    let datagrams = std::cell::Cell::new(0u64);
    runner()
        .run(&vec(vec(any::<u8>(), 0..1472), 1..5), |batch| {
            for d in &batch {
                match garbage.borrow_mut().send_to(d, room_at) {
                    Ok(()) | Err(Error::WouldBlock) => {}
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                }
            }
            datagrams.set(datagrams.get() + batch.len() as u64);
            garbage
                .borrow_mut()
                .send_to(b"hello", room_at)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            net.with(|sim| sim.run_for(Duration::from_millis(200)));
            let mut last = None;
            while let Some((_, m)) = listener.borrow_mut().take_received() {
                last = Some(m);
            }
            let relayed = last.ok_or_else(|| TestCaseError::fail("nothing relayed"))?;
            prop_assert!(relayed.ends_with(b"] hello"), "{:?}", shown(&relayed));
            Ok(())
        })
        .expect("no case fails");
    net.with(|sim| sim.drain_logs(&mut |_, _| {}));
    println!(
        "{} hostile datagrams; the room received {}",
        datagrams.get(),
        room.borrow().received()
    );
}

#[test]
fn trace_decoder_survives_arbitrary_frames() {
    use layernet::trace::{Decoder, Style};
    // An Ethernet header for the victim, then an IPv4 header start whose
    // protocol is TCP, UDP or ICMP, so the bytes reach the deep decoders.
    let prefix = prop::sample::select(vec![
        vec![],
        vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06],
        vec![
            2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 60, 0, 0, 0, 0, 64, 6,
        ],
        vec![
            2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 60, 0, 0, 0, 0, 64, 17,
        ],
        vec![
            2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x46, 0, 1, 0, 0, 0, 0, 0, 64, 1,
        ],
    ]);
    let decoder = RefCell::new(Decoder::new());
    runner()
        .run(&(prefix, vec(any::<u8>(), 0..200)), |(prefix, tail)| {
            let frame = [prefix, tail].concat();
            for style in [Style::Brief, Style::Full] {
                let mut out = String::new();
                let head = format_args!("#1");
                decoder
                    .borrow_mut()
                    .write_frame(&mut out, style, head, &frame)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(out.starts_with("#1") && out.ends_with('\n'), "{out:?}");
            }
            Ok(())
        })
        .expect("no case fails");
}
