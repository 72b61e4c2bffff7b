//! `layernet iperf3 -c HOST`: an iperf3 client over the userspace stack,
//! for any iperf3 server (Linux's `iperf3 -s`, or `serve --services
//! iperf3`).
//!
//! Layer: host (the binary). The protocol's pieces shared with the server
//! are the core's ([`layernet::app::iperf3`]: the state bytes, the cookie's
//! size, the JSON reader and the results writer, UDP's header, counts and
//! pacing); this file runs the client's side of the exchange on blocking
//! sockets and prints the figures.

use std::fmt::Write as _;

use layernet::app::iperf3::control::{COOKIE_SIZE, StreamResult, results_json, state, stream_id};
use layernet::app::iperf3::json::{self, Value, Writer};
use layernet::app::iperf3::udp::{self, Pacer, Receiver};
use layernet::host::blocking::{Driver, Host, Net, TcpStream, UdpSocket};
use layernet::host::tap_net::TapNet;
use layernet::socket::Error;
use layernet::{Duration, Instant, IpEndpoint};

use crate::args::Iperf3Args;

/// How long the control connection may wait for the server's next step.
const WAIT: Duration = Duration::from_secs(10);
/// UDP's datagram size by default (iperf3's, for an Ethernet path).
const UDP_LEN: u32 = 1460;
/// TCP's write size by default (iperf3's).
const TCP_LEN: u32 = 128 * 1024;
/// Most datagrams sent or read per stream per round, so that every stream
/// and the stack get their turn.
const BURST: usize = 32;

enum Stream {
    Tcp(TcpStream<TapNet>),
    Udp(UdpSocket<TapNet>),
}

/// One side's figures: bytes, and UDP's counts.
#[derive(Default, Clone, Copy)]
struct Side {
    bytes: u64,
    packets: u64,
    lost: u64,
    jitter_ns: u64,
}

fn failed(what: &str, e: Error) -> String {
    format!("{what}: {e}")
}

/// A cookie as iperf3 makes them: 36 characters of base32 and a NUL.
fn cookie() -> [u8; COOKIE_SIZE] {
    use std::hash::{BuildHasher, Hasher};
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut c = [0u8; COOKIE_SIZE];
    let state = std::collections::hash_map::RandomState::new();
    for (i, b) in c[..COOKIE_SIZE - 1].iter_mut().enumerate() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        h.write_u128(std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos()));
        *b = ALPHABET[(h.finish() % 32) as usize];
    }
    c
}

/// The next state byte; the server's refusals and errors as messages.
fn read_state(ctl: &mut TcpStream<TapNet>) -> Result<u8, String> {
    let mut b = [0u8; 1];
    match ctl.recv(&mut b) {
        Ok(1) => {}
        Ok(_) => return Err("the server closed the control connection".into()),
        Err(e) => return Err(failed("control connection", e)),
    }
    match b[0] {
        state::ACCESS_DENIED => Err("the server is busy running a test. try again later".into()),
        state::SERVER_ERROR => {
            let mut code = [0u8; 8];
            read_exact(ctl, &mut code)?;
            let n = i32::from_be_bytes([code[0], code[1], code[2], code[3]]);
            Err(format!("the server reported iperf3 error {n}"))
        }
        s => Ok(s),
    }
}

fn expect(ctl: &mut TcpStream<TapNet>, want: u8, name: &str) -> Result<(), String> {
    match read_state(ctl)? {
        s if s == want => Ok(()),
        s => Err(format!(
            "expected {name} from the server, got state {}",
            s as i8
        )),
    }
}

fn read_exact(ctl: &mut TcpStream<TapNet>, buf: &mut [u8]) -> Result<(), String> {
    let mut got = 0;
    while got < buf.len() {
        match ctl.recv(&mut buf[got..]) {
            Ok(0) => return Err("the server closed the control connection".into()),
            Ok(n) => got += n,
            Err(e) => return Err(failed("control connection", e)),
        }
    }
    Ok(())
}

fn send_framed(ctl: &mut TcpStream<TapNet>, body: &[u8]) -> Result<(), String> {
    let len = u32::try_from(body.len()).map_err(|_| "JSON too long".to_string())?;
    ctl.sendall(&len.to_be_bytes())
        .and_then(|()| ctl.sendall(body))
        .map_err(|e| failed("control connection", e))
}

/// Open the test's `n`-th stream.
fn open_stream(
    host: &Host<TapNet>,
    ep: IpEndpoint,
    a: &Iperf3Args,
    cookie: &[u8; COOKIE_SIZE],
) -> Result<Stream, String> {
    if !a.udp {
        let mut s = host
            .tcp_connect(ep, Some(WAIT))
            .map_err(|e| failed("data connection", e))?;
        s.set_timeout(Some(WAIT));
        s.sendall(cookie)
            .map_err(|e| failed("data connection", e))?;
        s.set_timeout(Some(Duration::ZERO));
        return Ok(Stream::Tcp(s));
    }
    let mut s = host.udp_bind(0).map_err(|e| failed("UDP socket", e))?;
    s.set_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 2048];
    // iperf3 sends its connect message once; a few tries ride out a loss.
    for _ in 0..3 {
        s.send_to(&udp::CONNECT_MSG.to_ne_bytes(), ep)
            .map_err(|e| failed("UDP connect", e))?;
        for _ in 0..64 {
            match s.recv_from(&mut buf) {
                Ok((n, from)) if from == ep && udp::is_connect_reply(&buf[..n]) => {
                    s.set_timeout(Some(Duration::ZERO));
                    return Ok(Stream::Udp(s));
                }
                Ok(_) => {}
                Err(Error::TimedOut) => break,
                Err(e) => return Err(failed("UDP connect", e)),
            }
        }
    }
    Err(format!("no answer to UDP's connect message from {ep}"))
}

/// Move data on every stream for `len` until `end`: returns each stream's
/// figures (sent, or received with `-R`).
fn run_streams(
    net: &Net<TapNet>,
    streams: &mut [Stream],
    ep: IpEndpoint,
    a: &Iperf3Args,
    len: usize,
    rate: u64,
    end: Instant,
) -> Result<Vec<Side>, String> {
    let start = net.now();
    let mut pacers = vec![Pacer::new(rate, start); streams.len()];
    let mut rx = vec![Receiver::new(); streams.len()];
    let mut tcp = vec![0u64; streams.len()];
    let mut buf = vec![0x5au8; len.max(2048)];
    loop {
        let now = net.now();
        if now >= end {
            break;
        }
        let mut moved = false;
        let mut due = end;
        for (i, s) in streams.iter_mut().enumerate() {
            match (s, a.reverse) {
                (Stream::Tcp(s), false) => match s.send(&buf[..len]) {
                    Ok(n) => (tcp[i], moved) = (tcp[i] + n as u64, true),
                    Err(Error::WouldBlock) => {}
                    Err(e) => return Err(failed("data connection", e)),
                },
                (Stream::Tcp(s), true) => match s.recv(&mut buf) {
                    Ok(0) => {}
                    Ok(n) => (tcp[i], moved) = (tcp[i] + n as u64, true),
                    Err(Error::WouldBlock) => {}
                    Err(e) => return Err(failed("data connection", e)),
                },
                (Stream::Udp(s), false) => {
                    for _ in 0..BURST {
                        if !pacers[i].due(len, now) {
                            due = due.min(pacers[i].next(len));
                            break;
                        }
                        udp::write_header(&mut buf[..len], now, pacers[i].next_seq(), false);
                        match s.send_to(&buf[..len], ep) {
                            Ok(()) => {
                                pacers[i].sent(len);
                                moved = true;
                            }
                            Err(Error::WouldBlock) => break,
                            Err(e) => return Err(failed("UDP stream", e)),
                        }
                    }
                }
                (Stream::Udp(s), true) => {
                    for _ in 0..BURST {
                        match s.recv_from(&mut buf) {
                            Ok((n, _)) => {
                                rx[i].take(&buf[..n], n, net.now(), false);
                                moved = true;
                            }
                            Err(Error::WouldBlock) => break,
                            Err(e) => return Err(failed("UDP stream", e)),
                        }
                    }
                }
            }
        }
        if !moved {
            net.with(|t| t.wait(due));
        }
    }
    Ok((0..streams.len())
        .map(|i| match (a.udp, a.reverse) {
            (false, _) => Side {
                bytes: tcp[i],
                ..Side::default()
            },
            (true, false) => Side {
                bytes: pacers[i].bytes,
                packets: pacers[i].packets,
                ..Side::default()
            },
            (true, true) => Side {
                bytes: rx[i].bytes,
                packets: rx[i].packets,
                lost: rx[i].lost,
                jitter_ns: rx[i].jitter_ns(),
            },
        })
        .collect())
}

/// The server's figures per stream, from its results JSON.
fn server_sides(results: &[u8], n: usize) -> Vec<Side> {
    let mut sides = vec![Side::default(); n];
    let Some(Value::Nested(streams)) = json::field(results, "streams") else {
        return sides;
    };
    for item in json::items(streams) {
        let Value::Nested(o) = item else { continue };
        let num = |k| json::field(o, k).and_then(|v| v.as_i64()).unwrap_or(0);
        let Some(i) = (0..n).find(|&i| i64::try_from(stream_id(i)) == Ok(num("id"))) else {
            continue;
        };
        let jitter = match json::field(o, "jitter") {
            Some(Value::Number(t)) => std::str::from_utf8(t)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .unwrap_or(0.0),
            _ => 0.0,
        };
        sides[i] = Side {
            bytes: u64::try_from(num("bytes")).unwrap_or(0),
            packets: u64::try_from(num("packets")).unwrap_or(0),
            lost: u64::try_from(num("errors")).unwrap_or(0),
            jitter_ns: (jitter * 1e9) as u64,
        };
    }
    sides
}

pub(crate) fn run(
    net: &Net<TapNet>,
    host: &Host<TapNet>,
    ep: IpEndpoint,
    a: &Iperf3Args,
) -> Result<(), String> {
    let len = a.length.unwrap_or(if a.udp { UDP_LEN } else { TCP_LEN });
    if a.udp && len as usize > layernet::app::iperf3::MAX_DATAGRAM {
        return Err(format!(
            "-l {len}: UDP datagrams here are at most {} bytes",
            layernet::app::iperf3::MAX_DATAGRAM
        ));
    }
    let rate = a.rate.unwrap_or(if a.udp { 1_000_000 } else { 0 });
    let mut ctl = host
        .tcp_connect(ep, Some(WAIT))
        .map_err(|e| format!("unable to connect to the server {ep}: {e}"))?;
    ctl.set_timeout(Some(WAIT));
    ctl.set_nodelay(true);
    let cookie = cookie();
    ctl.sendall(&cookie)
        .map_err(|e| failed("control connection", e))?;
    expect(&mut ctl, state::PARAM_EXCHANGE, "PARAM_EXCHANGE")?;
    let params = format!(
        "{{\"{}\":true,\"omit\":0,\"time\":{},\"num\":0,\"blockcount\":0,\"parallel\":{},{}\"len\":{len},\
         \"bandwidth\":{rate},\"pacing_timer\":1000,\"client_version\":\"3.12\"}}",
        if a.udp { "udp" } else { "tcp" },
        a.time,
        a.parallel,
        if a.reverse { "\"reverse\":true," } else { "" },
    );
    send_framed(&mut ctl, params.as_bytes())?;
    expect(&mut ctl, state::CREATE_STREAMS, "CREATE_STREAMS")?;
    let mut streams = (0..a.parallel)
        .map(|_| open_stream(host, ep, a, &cookie))
        .collect::<Result<Vec<_>, _>>()?;
    expect(&mut ctl, state::TEST_START, "TEST_START")?;
    expect(&mut ctl, state::TEST_RUNNING, "TEST_RUNNING")?;
    let start = net.now();
    let mine = run_streams(
        net,
        &mut streams,
        ep,
        a,
        len as usize,
        rate,
        start + Duration::from_secs(u64::from(a.time)),
    )?;
    let ms = (net.now() - start).total_millis().max(1);
    ctl.sendall(&[state::TEST_END])
        .map_err(|e| failed("control connection", e))?;
    // With -R the server's last data may still come: keep reading it (a
    // server blocked on a full pipe would not hear the control
    // connection) while waiting for EXCHANGE_RESULTS.
    let mut late = vec![0u64; streams.len()];
    ctl.set_timeout(Some(Duration::ZERO));
    let deadline = net.now() + WAIT;
    let mut b = [0u8; 1];
    let mut sink = [0u8; 16384];
    loop {
        match ctl.recv(&mut b) {
            Ok(1) if b[0] == state::EXCHANGE_RESULTS => break,
            Ok(1) => {
                return Err(format!(
                    "expected EXCHANGE_RESULTS, got state {}",
                    b[0] as i8
                ));
            }
            Ok(_) => return Err("the server closed the control connection".into()),
            Err(Error::WouldBlock) => {}
            Err(e) => return Err(failed("control connection", e)),
        }
        if net.now() >= deadline {
            return Err("no EXCHANGE_RESULTS from the server".into());
        }
        let mut moved = false;
        for (i, s) in streams.iter_mut().enumerate() {
            if let Stream::Tcp(s) = s
                && let Ok(n) = s.recv(&mut sink)
            {
                late[i] += n as u64;
                moved |= n > 0;
            }
        }
        if !moved {
            // The clock is read before `with` takes the network.
            let until = net.now() + Duration::from_millis(10);
            net.with(|t| t.wait(until));
        }
    }
    ctl.set_timeout(Some(WAIT));
    let mut mine = mine;
    if a.reverse && !a.udp {
        for (m, l) in mine.iter_mut().zip(&late) {
            m.bytes += l;
        }
    }
    let ours: Vec<StreamResult> = mine
        .iter()
        .map(|s| StreamResult {
            bytes: s.bytes,
            jitter_ns: s.jitter_ns,
            errors: s.lost,
            packets: s.packets,
        })
        .collect();
    let mut out = vec![0u8; 512 + 256 * ours.len()];
    let n = {
        let mut w = Writer::new(&mut out);
        results_json(&mut w, &ours, !a.reverse, ms).map_err(|_| "results too long".to_string())?;
        w.len()
    };
    send_framed(&mut ctl, &out[..n])?;
    let mut len4 = [0u8; 4];
    read_exact(&mut ctl, &mut len4)?;
    let body_len = u32::from_be_bytes(len4) as usize;
    if body_len > 1 << 20 {
        return Err(format!("the server's results are {body_len} bytes long"));
    }
    let mut body = vec![0u8; body_len];
    read_exact(&mut ctl, &mut body)?;
    expect(&mut ctl, state::DISPLAY_RESULTS, "DISPLAY_RESULTS")?;
    ctl.sendall(&[state::IPERF_DONE])
        .map_err(|e| failed("control connection", e))?;
    let theirs = server_sides(&body, streams.len());
    for s in streams {
        match s {
            Stream::Tcp(s) => s.close(),
            Stream::Udp(s) => s.close(),
        }
    }
    ctl.close();
    let (sent, received) = if a.reverse {
        (theirs, mine)
    } else {
        (mine, theirs)
    };
    let secs = ms as f64 / 1000.0;
    if a.json {
        println!("{}", json_report(a, len, secs, &sent, &received));
    } else {
        print!("{}", text_report(a, secs, &sent, &received));
    }
    Ok(())
}

fn sum(sides: &[Side]) -> Side {
    sides.iter().fold(Side::default(), |t, s| Side {
        bytes: t.bytes + s.bytes,
        packets: t.packets + s.packets,
        lost: t.lost + s.lost,
        jitter_ns: t.jitter_ns.max(s.jitter_ns),
    })
}

/// Bytes as iperf3 prints them (powers of 1024).
fn bytes_text(b: u64) -> String {
    let b = b as f64;
    match b {
        _ if b >= 1024.0 * 1024.0 * 1024.0 => format!("{:.2} GBytes", b / 1024f64.powi(3)),
        _ if b >= 1024.0 * 1024.0 => format!("{:.2} MBytes", b / 1024f64.powi(2)),
        _ => format!("{:.2} KBytes", b / 1024.0),
    }
}

/// Bits per second as iperf3 prints them (powers of 1000).
fn rate_text(bps: f64) -> String {
    match bps {
        _ if bps >= 1e9 => format!("{:.2} Gbits/sec", bps / 1e9),
        _ if bps >= 1e6 => format!("{:.2} Mbits/sec", bps / 1e6),
        _ => format!("{:.2} Kbits/sec", bps / 1e3),
    }
}

fn text_report(a: &Iperf3Args, secs: f64, sent: &[Side], received: &[Side]) -> String {
    let mut out = String::new();
    let udp_cols = if a.udp {
        "  Jitter    Lost/Total Datagrams"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "[ ID] Interval           Transfer     Bitrate{udp_cols}"
    );
    let mut line = |id: &str, s: &Side, packets: u64, role: &str| {
        let udp = if a.udp {
            let pct = if packets == 0 {
                0.0
            } else {
                100.0 * s.lost as f64 / packets as f64
            };
            format!(
                "  {:.3} ms  {}/{} ({:.2}%)",
                s.jitter_ns as f64 / 1e6,
                s.lost,
                packets,
                pct
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "[{id}]   0.00-{secs:.2}  sec  {}  {}{udp}  {role}",
            bytes_text(s.bytes),
            rate_text(s.bytes as f64 * 8.0 / secs),
        );
    };
    let rows: Vec<(String, Side, Side)> = if sent.len() > 1 {
        vec![("SUM".to_string(), sum(sent), sum(received))]
    } else {
        vec![(
            format!("{:>3}", stream_id(0) + 4),
            sent.first().copied().unwrap_or_default(),
            received.first().copied().unwrap_or_default(),
        )]
    };
    for (id, s, r) in rows {
        // The loss is the receiver's count, against what was sent.
        let lost = Side {
            lost: r.lost,
            jitter_ns: r.jitter_ns,
            ..s
        };
        line(&id, &lost, s.packets, "sender");
        line(&id, &r, s.packets, "receiver");
    }
    out
}

fn json_report(a: &Iperf3Args, len: u32, secs: f64, sent: &[Side], received: &[Side]) -> String {
    let (s, r) = (sum(sent), sum(received));
    let bps = |b: u64| b as f64 * 8.0 / secs;
    let pct = if s.packets == 0 {
        0.0
    } else {
        100.0 * r.lost as f64 / s.packets as f64
    };
    let udp = |x: &Side| {
        if a.udp {
            format!(
                ",\"jitter_ms\":{},\"lost_packets\":{},\"packets\":{},\"lost_percent\":{pct}",
                r.jitter_ns as f64 / 1e6,
                r.lost,
                x.packets.max(s.packets)
            )
        } else {
            String::new()
        }
    };
    let streams: Vec<String> = sent
        .iter()
        .zip(received)
        .enumerate()
        .map(|(i, (x, y))| {
            format!(
                "{{\"id\":{},\"sender\":{{\"bytes\":{},\"bits_per_second\":{}}},\
                 \"receiver\":{{\"bytes\":{},\"bits_per_second\":{}}}}}",
                stream_id(i),
                x.bytes,
                bps(x.bytes),
                y.bytes,
                bps(y.bytes)
            )
        })
        .collect();
    format!(
        "{{\"start\":{{\"test_start\":{{\"protocol\":\"{}\",\"num_streams\":{},\"blksize\":{len},\
         \"duration\":{},\"reverse\":{}}}}},\"end\":{{\"streams\":[{}],\
         \"sum_sent\":{{\"seconds\":{secs},\"bytes\":{},\"bits_per_second\":{}{}}},\
         \"sum_received\":{{\"seconds\":{secs},\"bytes\":{},\"bits_per_second\":{}{}}}}}}}",
        if a.udp { "UDP" } else { "TCP" },
        a.parallel,
        a.time,
        u8::from(a.reverse),
        streams.join(","),
        s.bytes,
        bps(s.bytes),
        udp(&s),
        r.bytes,
        bps(r.bytes),
        udp(&r),
    )
}
