//! The demo's exchanges, one function each: every classic pair (and a
//! closed port, and IPv6) run on the ready network, each measured and
//! verified byte for byte.
//!
//! Layer: host (std). Depends on the library's clients and servers, the
//! simulated segment and its parent's [`Setup`](super::Setup).

use std::fmt::Write as _;

use crate::app::chat::{ChatPeer, ChatRoom};
use crate::app::echo::EchoClient;
use crate::app::greeting::{DEFAULT_GREETING, GreetingClient};
use crate::app::ping::Pinger;
use crate::app::services::Kind;
use crate::app::time_echo::{PREFIX_LEN, TimeEchoClient};
use crate::app::{Outcome, ports};
use crate::host::blocking::Net;
use crate::host::file_client as host_files;
use crate::host::sim::{HostId, SimNet};
use crate::link::segment::{Census, Stats};
use crate::socket::{Error, TcpStream};
use crate::{Duration, Instant, IpAddress, IpEndpoint};

use super::{
    CLIENT_A, CLIENT_B, CLOSE_GRACE, CLOSED_PORT, Exchange, SERVER, Setup, TIME_ECHO_LINES,
    demo_file,
};

/// Upper bound of virtual time per exchange (a liveness bound, generous:
/// TCP's backoff under loss can take a while).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(120);

/// The message the echo exchange sends: long enough for several segments.
fn echo_message() -> [u8; 3000] {
    let mut m = [0u8; 3000];
    for (i, b) in m.iter_mut().enumerate() {
        *b = b"layernet echoes every byte, RFC 862. "[i % 37];
    }
    m
}

/// Lines the time-echo client sends: two with newlines, one without (it is
pub(super) fn server_endpoint(net: &mut SimNet, port: u16) -> IpEndpoint {
    IpEndpoint::new(IpAddress::Ipv4(net.stack(SERVER).ipv4_addr()), port)
}

fn ip_of(net: &mut SimNet, host: HostId) -> IpAddress {
    IpAddress::Ipv4(net.stack(host).ipv4_addr())
}

/// Measures one exchange: virtual time, census and stats deltas.
struct Meter {
    start: Instant,
    census: Census,
    stats: Stats,
}

impl Meter {
    fn start(net: &SimNet) -> Self {
        Meter {
            start: net.now(),
            census: net.segment().census(),
            stats: net.stats(),
        }
    }

    /// Let the exchange's closing segments finish, then take the figures.
    fn finish(
        self,
        net: &mut SimNet,
        name: &'static str,
        route: String,
        ok: bool,
        bytes: u64,
        detail: String,
    ) -> Exchange {
        net.run_for(CLOSE_GRACE);
        let s = net.stats();
        let seg = net.segment();
        let b = self.stats;
        Exchange {
            name,
            route,
            ok,
            bytes,
            elapsed: net.now() - self.start,
            census: seg.census().since(&self.census),
            stats: s.since(&b),
            detail,
            check: "byte for byte".into(),
        }
    }
}

fn outcome_text(o: Outcome) -> String {
    match o {
        Outcome::Running => "did not finish in time".into(),
        Outcome::Done => "verified".into(),
        Outcome::Failed(e) => format!("failed: {e}"),
        Outcome::Mismatch => "bytes differ".into(),
    }
}
pub(super) fn closed_port(s: &mut Setup) -> Exchange {
    let net = &mut s.net;
    let meter = Meter::start(net);
    let to = server_endpoint(net, CLOSED_PORT);
    let mut outcome = Err(Error::WouldBlock);
    if let Ok(mut stream) = TcpStream::connect(net.stack(CLIENT_B), to) {
        // ARP, SYN, RST: well under a second even with retransmitted SYNs.
        for _ in 0..300 {
            net.run_for(Duration::from_millis(10));
            outcome = stream.poll_connect(net.stack(CLIENT_B));
            if outcome != Err(Error::WouldBlock) {
                break;
            }
        }
        stream.abort(net.stack(CLIENT_B));
    }
    let ok = outcome == Err(Error::Refused);
    let detail = match outcome {
        Err(Error::Refused) => "refused: the server answered the SYN with RST".to_string(),
        other => format!("expected a refusal, got {other:?}"),
    };
    let route = format!("{} -> {}", ip_of(net, CLIENT_B), to);
    let mut e = meter.finish(net, "closed-port", route, ok, 0, detail);
    e.check = "RST as expected".into();
    e
}

/// Client B pings the server's link-local address twice, then echoes a
/// line to its echo port over IPv6: nobody configured an IPv6 address.
pub(super) fn ipv6(s: &mut Setup) -> Exchange {
    let net = &mut s.net;
    let meter = Meter::start(net);
    let server = crate::net::link_local(net.stack(SERVER).mac()).address();
    let mut pinger = Pinger::new(server, 2, Duration::from_millis(200));
    net.run_client(CLIENT_B, &mut pinger, EXCHANGE_TIMEOUT);
    let to = IpEndpoint::new(IpAddress::Ipv6(server), ports::ECHO);
    let message = b"hello over IPv6";
    let mut client = EchoClient::<64>::new(to, message);
    net.run_client(CLIENT_B, &mut client, EXCHANGE_TIMEOUT);
    let echoed = client.outcome() == Outcome::Done && client.received() == message;
    let ok = pinger.outcome() == Outcome::Done && echoed;
    let detail = format!(
        "{}/{} ICMPv6 echo replies; echo {}",
        pinger.replies(),
        pinger.sent(),
        if echoed {
            "identical".into()
        } else {
            outcome_text(client.outcome())
        }
    );
    let me = crate::net::link_local(net.stack(CLIENT_B).mac()).address();
    let route = format!("{me} -> {}", crate::socket::EndpointText(to));
    let bytes = 2 * message.len() as u64 + u64::from(pinger.replies()) * 2 * 32;
    meter.finish(net, "ipv6", route, ok, bytes, detail)
}

pub(super) fn ping(s: &mut Setup) -> Exchange {
    let net = &mut s.net;
    let meter = Meter::start(net);
    let target = net.stack(SERVER).ipv4_addr();
    // Up to 16 requests, done at 4 replies: on a lossy link some are lost,
    // as with `ping -c`, and that is not a failure of the stack.
    let mut pinger = Pinger::new(target, 16, Duration::from_millis(200));
    pinger.want(4);
    net.run_client(CLIENT_A, &mut pinger, EXCHANGE_TIMEOUT);
    let ok = pinger.outcome() == Outcome::Done;
    let detail = format!(
        "{}/{} replies, mean rtt {} ms ({})",
        pinger.replies(),
        pinger.sent(),
        pinger.mean_rtt().total_millis(),
        outcome_text(pinger.outcome())
    );
    let route = format!("{} -> {}", ip_of(net, CLIENT_A), target);
    let bytes = u64::from(pinger.replies()) * 2 * 32;
    let mut e = meter.finish(net, "ping", route, ok, bytes, detail);
    e.check = format!("{}/{} echo replies", pinger.replies(), pinger.sent());
    e
}

pub(super) fn echo(s: &mut Setup) -> Exchange {
    let net = &mut s.net;
    let meter = Meter::start(net);
    let server = server_endpoint(net, ports::ECHO);
    let message = echo_message();
    let mut client = EchoClient::<3000>::new(server, &message);
    net.run_client(CLIENT_A, &mut client, EXCHANGE_TIMEOUT);
    let ok = client.outcome() == Outcome::Done && client.received() == message.as_slice();
    let detail = format!(
        "sent {} bytes, received {} bytes back, {}",
        message.len(),
        client.received().len(),
        if ok {
            "identical".into()
        } else {
            outcome_text(client.outcome())
        }
    );
    let route = format!("{} -> {}", ip_of(net, CLIENT_A), server);
    let bytes = (message.len() + client.received().len()) as u64;
    meter.finish(net, Kind::Echo.entry().name, route, ok, bytes, detail)
}

pub(super) fn greeting(s: &mut Setup) -> Exchange {
    let net = &mut s.net;
    let meter = Meter::start(net);
    let server = server_endpoint(net, ports::GREETING);
    let mut client = GreetingClient::<256>::new(server);
    net.run_client(CLIENT_B, &mut client, EXCHANGE_TIMEOUT);
    let ok = client.outcome() == Outcome::Done && client.received() == DEFAULT_GREETING;
    let detail = format!(
        "received {:?} then end of file ({})",
        String::from_utf8_lossy(client.received()),
        outcome_text(client.outcome())
    );
    let route = format!("{} -> {}", ip_of(net, CLIENT_B), server);
    meter.finish(
        net,
        Kind::Greeting.entry().name,
        route,
        ok,
        client.received().len() as u64,
        detail,
    )
}

pub(super) fn time_echo(s: &mut Setup) -> Exchange {
    let net = &mut s.net;
    let meter = Meter::start(net);
    let server = server_endpoint(net, ports::TIME_ECHO);
    let mut client = TimeEchoClient::<4, 128>::new(server, &TIME_ECHO_LINES);
    net.run_client(CLIENT_A, &mut client, EXCHANGE_TIMEOUT);
    let ok = client.outcome() == Outcome::Done && client.replies().len() == TIME_ECHO_LINES.len();
    let mut detail = String::new();
    for r in client.replies() {
        let _ = write!(detail, "{:?} ", String::from_utf8_lossy(r));
    }
    if !ok {
        detail.push_str(&outcome_text(client.outcome()));
    }
    let sent: usize = TIME_ECHO_LINES.iter().map(|l| l.len()).sum();
    let got: usize = client.replies().iter().map(|r| r.len()).sum();
    let route = format!("{} -> {}", ip_of(net, CLIENT_A), server);
    debug_assert!(got == 0 || got > PREFIX_LEN);
    meter.finish(
        net,
        Kind::TimeEcho.entry().name,
        route,
        ok,
        (sent + got) as u64,
        detail.trim_end().to_string(),
    )
}

/// Say `text` from `peer` until `arrived` holds, at most 5 times, 1 s
/// apart: UDP does not retransmit, so on a lossy link the chat user would
/// say it again too.
fn say_until(
    net: &mut SimNet,
    room: &mut ChatRoom<8>,
    peers: [&mut ChatPeer<8>; 2],
    speaker: usize,
    text: &[u8],
    mut arrived: impl FnMut(&ChatRoom<8>, &mut ChatPeer<8>, &mut ChatPeer<8>) -> bool,
) -> (bool, u32) {
    let [a, b] = peers;
    for attempt in 1..=5 {
        let said = if speaker == 0 {
            a.say(text)
        } else {
            b.say(text)
        };
        if said.is_err() {
            return (false, attempt);
        }
        // Look every 50 ms whether it arrived; give up on this try after 1 s.
        for _ in 0..20 {
            let mut extra: [(HostId, &mut crate::host::sim::SimService); 3] = [
                (SERVER, &mut *room),
                (CLIENT_A, &mut *a),
                (CLIENT_B, &mut *b),
            ];
            net.run_until(Duration::from_millis(50), &mut extra, |_| false);
            if arrived(room, a, b) {
                return (true, attempt);
            }
        }
    }
    (false, 5)
}

pub(super) fn chat(s: &mut Setup) -> Exchange {
    let Setup {
        net,
        room,
        peer_a,
        peer_b,
        ..
    } = s;
    let meter = Meter::start(net);
    let a_ep = IpEndpoint::new(ip_of(net, CLIENT_A), ports::CHAT);
    let b_ep = IpEndpoint::new(ip_of(net, CLIENT_B), ports::CHAT);
    let room_ep = server_endpoint(net, ports::CHAT);
    let mut tries = 0;

    // A joins by speaking; nobody else is there to hear it.
    let heard = room.received();
    let (ok1, t) = say_until(
        net,
        room,
        [&mut *peer_a, &mut *peer_b],
        0,
        b"hello, this is A",
        |r, _, _| r.received() > heard,
    );
    tries += t;
    // B speaks; the room relays to A, not back to B.
    let want_a = format!("[{b_ep}] hi A, B here");
    let (ok2, t) = say_until(
        net,
        room,
        [&mut *peer_a, &mut *peer_b],
        1,
        b"hi A, B here",
        |_, a, _| a.received_count() > 0,
    );
    tries += t;
    let got_a = peer_a.take_received();
    // A answers; the room relays to B.
    let want_b = format!("[{a_ep}] bye B");
    let (ok3, t) = say_until(
        net,
        room,
        [&mut *peer_a, &mut *peer_b],
        0,
        b"bye B",
        |_, _, b| b.received_count() > 0,
    );
    tries += t;
    let got_b = peer_b.take_received();

    let check = |got: &Option<crate::app::chat::Message>, want: &str| {
        got.as_ref()
            .is_some_and(|(from, m)| *from == room_ep && m.as_slice() == want.as_bytes())
    };
    // Retries may deliver a message twice; anything else left over is wrong.
    let leftovers = std::iter::from_fn(|| peer_a.take_received())
        .chain(std::iter::from_fn(|| peer_b.take_received()))
        .filter(|(_, m)| m.as_slice() != want_a.as_bytes() && m.as_slice() != want_b.as_bytes())
        .count();
    let ok =
        ok1 && ok2 && ok3 && check(&got_a, &want_a) && check(&got_b, &want_b) && leftovers == 0;
    let detail = format!(
        "A got {:?}, B got {:?}; room received {}, relayed {}; {} datagram(s) said",
        got_a
            .as_ref()
            .map(|(_, m)| String::from_utf8_lossy(m).into_owned())
            .unwrap_or_default(),
        got_b
            .as_ref()
            .map(|(_, m)| String::from_utf8_lossy(m).into_owned())
            .unwrap_or_default(),
        room.received(),
        room.relayed(),
        tries
    );
    let bytes = (16 + 12 + 5 + want_a.len() + want_b.len()) as u64;
    let route = format!("{} <-> {} <-> {}", a_ep, room_ep, b_ep);
    meter.finish(net, Kind::Chat.entry().name, route, ok, bytes, detail)
}

/// Upload the demo file from client B, download it to client A, compare.
pub(super) fn files(s: &mut Setup) -> Exchange {
    let meter = Meter::start(&s.net);
    let server = server_endpoint(&mut s.net, ports::FILES);
    let (b, a) = (ip_of(&mut s.net, CLIENT_B), ip_of(&mut s.net, CLIENT_A));
    let content = demo_file(s.seed);
    let mut back = Vec::with_capacity(content.len());
    let (up, down) = {
        let net = Net::new(&mut s.net);
        let up = host_files::put(
            &net.host(CLIENT_B),
            server,
            "demo.bin",
            &mut &content[..],
            content.len() as u64,
            &mut |_, _| {},
        );
        let down = host_files::get(
            &net.host(CLIENT_A),
            server,
            "demo.bin",
            0,
            &mut back,
            &mut |_, _| {},
        );
        (up, down)
    };
    let (ok, detail) = match (&up, &down) {
        (Ok(u), Ok(d)) => {
            let same = u.sha256 == d.sha256 && back == content;
            (
                same,
                format!(
                    "PUT {} bytes -> {} {}, GET -> {} {} bytes; sha256 up {} down {}: {}",
                    u.bytes,
                    u.status,
                    reason_of(u.status),
                    d.status,
                    d.bytes,
                    &host_files::hex(&u.sha256)[..16],
                    &host_files::hex(&d.sha256)[..16],
                    if same { "match" } else { "DIFFER" }
                ),
            )
        }
        (Err(e), _) => (false, format!("upload failed: {e}")),
        (_, Err(e)) => (false, format!("download failed: {e}")),
    };
    let route = format!("{b} -> {server} -> {a}");
    let bytes = (content.len() + back.len()) as u64;
    let mut e = meter.finish(
        &mut s.net,
        Kind::Files.entry().name,
        route,
        ok,
        bytes,
        detail,
    );
    if let (Ok(u), Ok(d)) = (&up, &down) {
        let (u, d) = (host_files::hex(&u.sha256), host_files::hex(&d.sha256));
        e.check = format!(
            "sha256 {}.. {} {}..",
            &u[..12],
            if u == d { "=" } else { "!=" },
            &d[..12]
        );
    }
    e
}

fn reason_of(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        _ => "",
    }
}
