//! The client commands: echo, greeting, time-echo, chat, get, put, ping,
//! over the blocking sockets on the TAP link.
//!
//! Layer: host (std).

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::sync::mpsc;

use indicatif::{ProgressBar, ProgressStyle};
use layernet::app::mdns::wire::Name;
use layernet::app::mdns::{MDNS_GROUP, MDNS_PORT, address_in, one_shot_query};
use layernet::app::ports;
use layernet::host::blocking::{Host, Net};
use layernet::host::file_client::{self, FileError, Options};
use layernet::host::tap_net::TapNet;
use layernet::host::tls_client::TlsClient;
use layernet::link::tap::TapDevice;
use layernet::net::{NameError, Resources};
use layernet::socket::{Error, Ping, UdpSocket};
use layernet::{
    Duration, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr, Ipv6Address,
};

use crate::args::{Command, Global, IpMode};
use crate::net::{Capture, dhcp_line, open_tap_with, report_faults};

/// A client's address unless `--ip` says otherwise: beside a `serve` with
/// the global defaults (192.168.69.1), never on top of it.
const CLIENT_IP: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 2), 24);
/// A client's MAC unless `--mac` says otherwise (serve's is ...:01).
const CLIENT_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

/// Give a client command its own defaults for `--ip` and `--mac` where the
/// command line left them out: with the global ones (a server's), a client
/// on the same segment as a `serve` would take its address and MAC.
pub(crate) fn client_defaults(
    global: &mut Global,
    command: Option<&Command>,
    matches: &clap::ArgMatches,
) {
    if matches!(
        command,
        None | Some(Command::Demo(_) | Command::Serve(_) | Command::Bench(_) | Command::Diagram(_))
    ) {
        return;
    }
    // A global option given after the command name is recorded in the
    // command's matches.
    let given = |id: &str| {
        std::iter::once(matches)
            .chain(matches.subcommand().map(|(_, m)| m))
            .filter_map(|m| m.value_source(id))
            .any(|s| s != clap::parser::ValueSource::DefaultValue)
    };
    if !given("ip") {
        global.ip = IpMode::Static(CLIENT_IP);
    }
    if !given("mac") {
        global.mac = CLIENT_MAC;
    }
}

/// Each client TCP socket's buffers, each way: a window that a TAP link's
/// bandwidth-delay product fits in (smoltcp scales the window past 64 KiB).
/// The host profile's 8 KiB would cap a download at a few tens of MB/s.
const CLIENT_BUFFER: usize = 256 * 1024;

/// A client's sockets: one TCP connection at a time (two while the last
/// one closes), chat's UDP socket, ICMP, and the name service's.
type ClientResources =
    Resources<'static, { 2 + 2 + 1 + layernet::net::NAME_SOCKETS }, 2, 2, CLIENT_BUFFER>;

/// ARP probes sent before a client's first frame (RFC 5227 sends 3 over
/// 1 to 2 s; a command-line client cannot wait that long).
const PROBES: u32 = 2;
/// Time between probes, and waited after the last for an answer.
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// The client's stack on the TAP, after making sure (for a static address)
/// that nobody else on the segment has its address.
/// `tcp_sockets`: more TCP sockets than the fixed few (iperf3's parallel
/// streams), each with the same large buffers.
fn open_client(
    global: &Global,
    capture: &Capture,
    tcp_sockets: Option<usize>,
) -> Result<TapNet, String> {
    open_tap_with(global, capture, |config, mut device| {
        if global.ip != IpMode::Dhcp {
            probe_address(&mut device, config.mac, config.ip.address())?;
        }
        if let Some(tcp_sockets) = tcp_sockets {
            let sizes = layernet::host::memory::Sizes {
                tcp_sockets,
                tcp_buffer: CLIENT_BUFFER,
            };
            return TapNet::sized(config, device, sizes);
        }
        let resources: &'static mut ClientResources = Box::leak(Box::default());
        TapNet::with_resources(config, device, resources)
    })
}

/// RFC 5227's address conflict detection, before the stack exists: ARP
/// probes (sender address 0.0.0.0, so that no neighbour's cache changes)
/// for `ip`; an ARP packet from another MAC that claims `ip`, answers for
/// it or probes for it too is a conflict, reported in one line.
///
/// Linux answers probes for its addresses. smoltcp (so a layernet
/// `serve`) ignores ARP from 0.0.0.0 and is not found this way.
fn probe_address(
    device: &mut TapDevice,
    mac: EthernetAddress,
    ip: Ipv4Address,
) -> Result<(), String> {
    use smoltcp::phy::{Device, RxToken, TxToken};
    use smoltcp::wire::{ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol};
    let start = std::time::Instant::now();
    let now = || layernet::Instant::from_micros(start.elapsed().as_micros() as i64);
    let probe = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: Ipv4Address::UNSPECIFIED,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: ip,
    };
    let eth = smoltcp::wire::EthernetRepr {
        src_addr: mac,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    };
    let len = eth.buffer_len() + probe.buffer_len();
    let claimant = |frame: &[u8]| -> Option<EthernetAddress> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        if eth.ethertype() != EthernetProtocol::Arp {
            return None;
        }
        let arp = ArpPacket::new_checked(eth.payload()).ok()?;
        let ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr: from,
            source_protocol_addr: sender,
            target_protocol_addr: target,
            ..
        } = ArpRepr::parse(&arp).ok()?
        else {
            return None;
        };
        let probing_too =
            sender.is_unspecified() && target == ip && operation == ArpOperation::Request;
        (from != mac && (sender == ip || probing_too)).then_some(from)
    };
    let name = device.name().to_string();
    for round in 1..=PROBES {
        if let Some(tx) = device.transmit(now()) {
            tx.consume(len, |buf| {
                let mut frame = EthernetFrame::new_unchecked(buf);
                eth.emit(&mut frame);
                probe.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
            });
        }
        let until = start + PROBE_WAIT * round;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            device
                .wait(Some(left))
                .map_err(|e| format!("{name}: {e}"))?;
            while let Some((rx, _)) = device.receive(now()) {
                if let Some(EthernetAddress(m)) = rx.consume(claimant) {
                    let other = format!(
                        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                        m[0], m[1], m[2], m[3], m[4], m[5]
                    );
                    return Err(format!(
                        "{ip} is already in use on {name} by {other}: give this client another address with --ip (and --mac)"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// How long a client waits for one reply or one connection.
const WAIT: Duration = Duration::from_secs(10);

/// A server as given on the command line: an IPv4 address or a host
/// name, and a port.
#[derive(Debug, Clone)]
struct Target {
    host: String,
    port: u16,
}

/// Letters, digits and hyphens in dot-separated labels (RFC 1123), and
/// not all digits: `300.1.1.1` is a bad address, not a name.
pub(crate) fn is_host_name(s: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    s.len() <= 253
        && s.split('.').all(label_ok)
        && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// `HOST[:PORT]`: HOST an IPv4 address, an IPv6 address (in brackets when
/// a port follows, as in URLs: `[fd00::1]:7`), or a host name.
fn endpoint(s: &str, default_port: u16) -> Result<Target, String> {
    let bad_port = || format!("bad port in {s:?}");
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{s:?}: no closing ']' after the IPv6 address"))?;
        let port = match after {
            "" => default_port,
            _ => after
                .strip_prefix(':')
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(bad_port)?,
        };
        if host.parse::<Ipv6Address>().is_err() {
            return Err(format!("{host:?} is not an IPv6 address"));
        }
        (host, port)
    } else if s.parse::<Ipv6Address>().is_ok() {
        // A bare IPv6 address: its colons are not a port separator.
        (s, default_port)
    } else {
        let (host, port) = match s.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad_port())?),
            None => (s, default_port),
        };
        if host.parse::<Ipv4Address>().is_err() && !is_host_name(host) {
            return Err(format!("{host:?} is neither an IP address nor a host name"));
        }
        (host, port)
    };
    if port == 0 {
        return Err(bad_port());
    }
    Ok(Target {
        host: host.to_string(),
        port,
    })
}

/// `[http://|https://]HOST[:PORT][/NAME]`.
fn url(s: &str) -> Result<(Target, Option<String>), String> {
    let (s, port) = match s.strip_prefix("https://") {
        Some(rest) => (rest, ports::FILES_TLS),
        None => (s.strip_prefix("http://").unwrap_or(s), ports::FILES),
    };
    let (server, name) = match s.split_once('/') {
        Some((server, name)) if !name.is_empty() => (server, Some(name.to_string())),
        Some((server, _)) => (server, None),
        None => (s, None),
    };
    Ok((endpoint(server, port)?, name))
}

/// The address of `host`: itself if it is one, else from `--host`, else
/// from DNS (waiting for a DHCP lease first if the server comes from it).
fn lookup(net: &Net<TapNet>, global: &Global, host: &str) -> Result<IpAddress, String> {
    if let Ok(ip) = host.parse::<IpAddress>() {
        return Ok(ip);
    }
    let wanted = host.to_ascii_lowercase();
    if let Some((_, ip)) = global.hosts.iter().find(|(name, _)| *name == wanted) {
        return Ok(*ip);
    }
    if let Some(local) = mdns_name(host) {
        return net.with(|t| mdns_lookup(t, host, &local));
    }
    net.with(|t| {
        let deadline = t.now() + WAIT;
        let query = loop {
            match t.stack().resolve(host) {
                // The server may come with the lease still on its way.
                Err(NameError::NoServer) if global.ip == IpMode::Dhcp && t.now() < deadline => {
                    t.run_once(deadline);
                }
                Err(e) => return Err(format!("{host}: {e}")),
                Ok(q) => break q,
            }
        };
        // A first, then AAAA, as a dual-stack getaddrinfo() would.
        let mut query = query;
        let mut asked_aaaa = false;
        loop {
            match t.stack().resolved(query) {
                Ok(Some(ip)) => return Ok(ip),
                Ok(None) if t.now() < deadline => {
                    t.run_once(deadline);
                }
                Ok(None) => return Err(format!("{host}: no answer from the DNS server")),
                Err(NameError::Failed) if !asked_aaaa => {
                    asked_aaaa = true;
                    query = t
                        .stack()
                        .resolve_ipv6(host)
                        .map_err(|e| format!("{host}: {e}"))?;
                }
                Err(e) => return Err(format!("{host}: {e}")),
            }
        }
    })
}

/// How long a `.local` name is asked for by mDNS, and how often.
const MDNS_WAIT: Duration = Duration::from_secs(3);
const MDNS_RETRY: Duration = Duration::from_secs(1);

/// `host` as an mDNS name, if it is one (it ends with `.local`).
fn mdns_name(host: &str) -> Option<Name> {
    let lower = host.trim_end_matches('.').to_ascii_lowercase();
    lower
        .ends_with(".local")
        .then(|| Name::from_parts(&[&lower]))
        .flatten()
}

/// The address of `name` by mDNS: a one-shot query to 224.0.0.251:5353
/// from an ephemeral port, once a second for [`MDNS_WAIT`]; the
/// responder answers by unicast (RFC 6762 5.1, 6.7).
fn mdns_lookup(t: &mut TapNet, host: &str, name: &Name) -> Result<IpAddress, String> {
    let mut socket = UdpSocket::bind(t.stack(), 0).map_err(|e| format!("{host}: {e}"))?;
    let id = t.stack().random_below(0x1_0000) as u16;
    let mut query = [0u8; 300];
    let n = one_shot_query(&mut query, id, name).map_err(|_| format!("{host}: name too long"))?;
    let group = IpEndpoint::new(IpAddress::Ipv4(MDNS_GROUP), MDNS_PORT);
    let deadline = t.now() + MDNS_WAIT;
    let mut next = t.now();
    let mut found = None;
    while found.is_none() && t.now() < deadline && t.failure().is_none() {
        if t.now() >= next {
            let _ = socket.send_to(t.stack(), &query[..n], group);
            next = t.now() + MDNS_RETRY;
        }
        t.run_once(next.min(deadline));
        let mut buf = [0u8; 1500];
        while let Ok((len, _)) = socket.recv_from(t.stack(), &mut buf) {
            if let Some(ip) = address_in(&buf[..len], id, name) {
                found = Some(IpAddress::Ipv4(ip));
                break;
            }
        }
    }
    socket.close(t.stack());
    found.ok_or_else(|| {
        format!(
            "{host}: no answer by mDNS in {} s",
            MDNS_WAIT.total_millis() / 1000
        )
    })
}

/// With `--ip dhcp`, wait (a bounded time) for the lease and say what it is.
fn wait_for_lease(net: &Net<TapNet>, global: &Global) -> Result<(), String> {
    if global.ip != IpMode::Dhcp {
        return Ok(());
    }
    net.with(|t| {
        let deadline = t.now() + WAIT;
        while t.now() < deadline && t.failure().is_none() {
            while let Some(event) = t.stack().take_dhcp_event() {
                if !global.quiet {
                    eprintln!("{}", dhcp_line(event));
                }
            }
            if t.stack().lease().is_some() {
                return Ok(());
            }
            t.run_once(deadline);
        }
        Err("no DHCP lease (no server answered)".to_string())
    })
}

fn failed(e: Error) -> String {
    e.to_string()
}

fn bar(total: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    }
}

/// How a client command failed: exit 2 for a usage mistake, 1 otherwise.
pub(crate) enum Failure {
    Usage(String),
    Runtime(String),
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Runtime(s)
    }
}

impl From<&str> for Failure {
    fn from(s: &str) -> Self {
        Failure::Runtime(s.to_string())
    }
}

pub(crate) fn run(global: &Global, command: Command) -> Result<(), Failure> {
    // Arguments first: a usage mistake should not need a TAP device.
    let target = match &command {
        Command::Echo { server, .. } => Some(endpoint(server, ports::ECHO)),
        Command::Greeting { server } => Some(endpoint(server, ports::GREETING)),
        Command::TimeEcho { server } => Some(endpoint(server, ports::TIME_ECHO)),
        Command::Chat { room, .. } => Some(endpoint(room, ports::CHAT)),
        Command::Get { url: u, .. } | Command::Put { url: u, .. } => Some(url(u).map(|(ep, _)| ep)),
        Command::Ping { host, .. } => Some(endpoint(host, 1)),
        Command::Iperf3(a) => Some(endpoint(&a.host, a.port)),
        _ => None,
    }
    .transpose()
    .map_err(Failure::Usage)?;
    if let Command::Get { url: u, .. } = &command
        && !u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))
            .unwrap_or(u)
            .contains('/')
    {
        return Err(Failure::Usage(
            "give the file's name, HOST[:PORT]/NAME, or HOST[:PORT]/ for the listing".into(),
        ));
    }
    let capture = Capture::new(global).map_err(Failure::Runtime)?;
    if let Command::Iperf3(a) = &command
        && a.udp
        && usize::from(a.parallel) > layernet::host::memory::UDP_SOCKETS
    {
        return Err(Failure::Usage(format!(
            "-u -P {}: at most {} UDP streams",
            a.parallel,
            layernet::host::memory::UDP_SOCKETS
        )));
    }
    // iperf3: the control connection, the streams, and as many again
    // finishing their close.
    let tcp_sockets = match &command {
        Command::Iperf3(a) => Some(2 * (usize::from(a.parallel) + 1)),
        _ => None,
    };
    let net = Net::new(open_client(global, &capture, tcp_sockets).map_err(Failure::Runtime)?);
    let host = net.host(0);
    let ep = wait_for_lease(&net, global).and_then(|()| match &target {
        Some(t) => lookup(&net, global, &t.host).map(|ip| IpEndpoint::new(ip, t.port)),
        None => Ok(IpEndpoint::new(
            IpAddress::Ipv4(Ipv4Address::UNSPECIFIED),
            1,
        )),
    });
    let result = ep.and_then(|ep| match command {
        Command::Echo { message, .. } => echo(&host, ep, message),
        Command::Greeting { .. } => greeting(&host, ep),
        Command::TimeEcho { .. } => time_echo(&host, ep),
        Command::Chat { port, linger, .. } => chat(&host, ep, port, linger),
        Command::Get {
            url: u,
            output,
            resume,
            user,
            cacert,
            fingerprint,
        } => tls_for(&u, cacert.as_deref(), fingerprint.as_deref())
            .and_then(|tls| get(&host, ep, &u, output, resume, user.as_deref(), tls.as_ref())),
        Command::Put {
            file,
            url: u,
            user,
            cacert,
            fingerprint,
        } => tls_for(&u, cacert.as_deref(), fingerprint.as_deref())
            .and_then(|tls| put(&host, ep, &file, &u, user.as_deref(), tls.as_ref())),
        Command::Ping { count, .. } => ping(&net, ep.addr, count),
        Command::Iperf3(a) => crate::iperf3::run(&net, &host, ep, &a),
        Command::Demo(_) | Command::Serve(_) | Command::Bench(_) | Command::Diagram(_) => {
            Err("not a client command".to_string())
        }
    });
    // The process owns the stack: if it exits now, a FIN still queued never
    // leaves and the server is left waiting. Let the closes finish first.
    net.with(|t| {
        let deadline = t.now() + CLOSE_LINGER;
        t.run_until(|t| t.now() >= deadline || t.stack().open_tcp_sockets() == 0);
    });
    net.with(|t| report_faults(global, t));
    let (counters, apps) = net.with(|t| (t.stack().counters(), t.stack().app_counters().to_vec()));
    capture.report(&[("layernet", counters, &apps)]);
    capture.finish().map_err(Failure::Runtime)?;
    // A dead link explains a timeout better than the timeout does.
    if let Some(failure) = net.with(|t| t.failure().map(str::to_string)) {
        return Err(Failure::Runtime(failure));
    }
    result.map_err(Failure::Runtime)
}

/// Print and mark the replies that came for requests sent and not yet
/// answered; returns how many.
fn take_replies(
    t: &mut TapNet,
    ping: &mut Ping,
    sent_at: &[Option<layernet::Instant>],
    answered: &mut [bool],
) -> u16 {
    let mut new = 0;
    while let Ok((from, s, len)) = ping.recv(t.stack()) {
        let i = usize::from(s);
        let (Some(Some(at)), Some(false)) = (sent_at.get(i), answered.get(i)) else {
            continue;
        };
        let rtt = t.now() - *at;
        println!(
            "{} bytes from {from}: icmp_seq={s} time={}.{:03} ms",
            len + 8,
            rtt.total_micros() / 1000,
            rtt.total_micros() % 1000
        );
        answered[i] = true;
        new += 1;
    }
    new
}

/// How long a client lets its connections finish closing before it exits.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

fn echo(host: &Host<TapNet>, ep: IpEndpoint, message: Option<String>) -> Result<(), String> {
    let mut s = host.tcp_connect(ep, Some(WAIT)).map_err(failed)?;
    s.set_timeout(Some(WAIT));
    let lines: Box<dyn Iterator<Item = io::Result<String>>> = match message {
        Some(m) => Box::new(std::iter::once(Ok(m))),
        None => Box::new(io::stdin().lock().lines()),
    };
    let mut out = io::stdout().lock();
    for line in lines {
        let data = format!("{}\n", line.map_err(|e| format!("stdin: {e}"))?);
        s.sendall(data.as_bytes()).map_err(failed)?;
        let mut back = vec![0u8; data.len()];
        s.read_exact(&mut back).map_err(|e| e.to_string())?;
        let _ = out.write_all(&back);
        let _ = out.flush();
    }
    s.close();
    Ok(())
}

fn greeting(host: &Host<TapNet>, ep: IpEndpoint) -> Result<(), String> {
    let mut s = host.tcp_connect(ep, Some(WAIT)).map_err(failed)?;
    s.set_timeout(Some(WAIT));
    let mut got = Vec::new();
    s.read_to_end(&mut got).map_err(|e| e.to_string())?;
    let _ = io::stdout().write_all(&got);
    Ok(())
}

fn time_echo(host: &Host<TapNet>, ep: IpEndpoint) -> Result<(), String> {
    let mut s = host.tcp_connect(ep, Some(WAIT)).map_err(failed)?;
    s.set_timeout(Some(WAIT));
    for line in io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.is_empty() {
            break;
        }
        s.sendall(format!("{line}\n").as_bytes()).map_err(failed)?;
        let mut reply = Vec::new();
        let mut b = [0u8; 1];
        while reply.last() != Some(&b'\n') {
            if s.recv(&mut b).map_err(failed)? == 0 {
                return Err("the server closed the connection".into());
            }
            reply.push(b[0]);
        }
        print!("{}", String::from_utf8_lossy(&reply));
        let _ = io::stdout().flush();
    }
    s.close();
    Ok(())
}

fn chat(host: &Host<TapNet>, room: IpEndpoint, port: u16, linger: f64) -> Result<(), String> {
    let mut sock = host.udp_bind(port).map_err(failed)?;
    sock.set_timeout(Some(Duration::from_millis(20)));
    // stdin is read on its own thread so that datagrams print while the
    // user types: the classic program could not receive while in input().
    let (tx, rx) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            match line {
                Ok(l) => {
                    if tx.send(Some(l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(None);
    });
    let linger = std::time::Duration::from_secs_f64(linger.clamp(0.0, 3600.0));
    let mut ended: Option<std::time::Instant> = None;
    let mut buf = [0u8; 2048];
    loop {
        while let Ok(line) = rx.try_recv() {
            match line {
                Some(l) => sock.send_to(l.as_bytes(), room).map_err(failed)?,
                None => ended = Some(std::time::Instant::now()),
            }
        }
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let from = layernet::socket::EndpointText(from);
                println!("[{from}] {}", layernet::app::chat::Text(&buf[..n]));
                let _ = io::stdout().flush();
            }
            Err(Error::TimedOut) => {}
            Err(e) => return Err(e.to_string()),
        }
        if ended.is_some_and(|t| t.elapsed() >= linger) {
            return Ok(());
        }
    }
}

fn show(e: FileError) -> String {
    e.to_string()
}

/// TLS settings for an `https://` URL (`None` for plain HTTP).
fn tls_for(
    u: &str,
    cacert: Option<&std::path::Path>,
    fingerprint: Option<&str>,
) -> Result<Option<TlsClient>, String> {
    if !u.starts_with("https://") {
        if cacert.is_some() || fingerprint.is_some() {
            return Err("--cacert and --fingerprint are for https:// URLs".into());
        }
        return Ok(None);
    }
    let (target, _) = url(u)?;
    TlsClient::new(&target.host, cacert, fingerprint).map(Some)
}

fn get(
    host: &Host<TapNet>,
    ep: IpEndpoint,
    u: &str,
    output: Option<std::path::PathBuf>,
    resume: bool,
    user: Option<&str>,
    tls: Option<&TlsClient>,
) -> Result<(), String> {
    let (_, name) = url(u)?;
    let Some(name) = name else {
        return list(host, ep, output, user, tls);
    };
    let dest = output.unwrap_or_else(|| {
        let base = name.rsplit('/').next().unwrap_or("download");
        std::path::PathBuf::from(if base.is_empty() { "download" } else { base })
    });
    let pb = bar(None);
    let options = Options {
        user,
        tls,
        ..Options::default()
    };
    let t = file_client::get_file_with(
        host,
        ep,
        &name,
        &dest,
        resume,
        &options,
        &mut |done, total| {
            if let Some(t) = total {
                pb.set_length(t);
            }
            pb.set_position(done);
        },
    )
    .map_err(show)?;
    pb.finish_and_clear();
    let from = if t.resumed_from > 0 {
        format!(" (resumed from {})", t.resumed_from)
    } else {
        String::new()
    };
    println!(
        "saved {}: {} bytes{from}, sha256 {}",
        dest.display(),
        t.bytes,
        file_client::hex(&t.sha256)
    );
    Ok(())
}

/// `get IP/`: the listing as text (`name size` lines from layernet), on
/// stdout or into `-o FILE`.
fn list(
    host: &Host<TapNet>,
    ep: IpEndpoint,
    output: Option<std::path::PathBuf>,
    user: Option<&str>,
    tls: Option<&TlsClient>,
) -> Result<(), String> {
    let options = Options {
        user,
        accept: Some("text/plain"),
        tls,
    };
    if let Some(dest) = output {
        file_client::get_file_with(host, ep, "", &dest, false, &options, &mut |_, _| {})
            .map_err(show)?;
        return Ok(());
    }
    let mut out = io::stdout().lock();
    file_client::get_with(host, ep, "", 0, &options, &mut out, &mut |_, _| {}).map_err(show)?;
    out.flush().map_err(|e| format!("stdout: {e}"))
}

fn put(
    host: &Host<TapNet>,
    ep: IpEndpoint,
    file: &std::path::Path,
    u: &str,
    user: Option<&str>,
    tls: Option<&TlsClient>,
) -> Result<(), String> {
    let (_, name) = url(u)?;
    let name = match name {
        Some(n) => n,
        None => file
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("give a name: IP[:PORT]/NAME")?
            .to_string(),
    };
    let mut f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let len = f
        .metadata()
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    let pb = bar(Some(len));
    let options = Options {
        user,
        tls,
        ..Options::default()
    };
    let t = file_client::put_with(host, ep, &name, &options, &mut f, len, &mut |done, _| {
        pb.set_position(done)
    })
    .map_err(show)?;
    pb.finish_and_clear();
    println!(
        "stored {name}: {} {} bytes, sha256 {}",
        t.status,
        t.bytes,
        file_client::hex(&t.sha256)
    );
    Ok(())
}

fn ping(net: &Net<TapNet>, target: IpAddress, count: u16) -> Result<(), String> {
    const PAYLOAD: &[u8] = b"layernet ping payload 0123456789abcdef0123456789";
    net.with(|t| {
        let mut ping = Ping::new(t.stack());
        println!("PING {target}: {} data bytes", PAYLOAD.len());
        // When each request left, and whether its reply came. A reply that
        // comes after its second is up still counts, as BSD's ping counts
        // it: the first request to a new neighbour waits for ARP, and ARP's
        // retry comes a second later.
        let mut sent_at: Vec<Option<layernet::Instant>> = vec![None; usize::from(count)];
        let mut answered = vec![false; usize::from(count)];
        let mut received = 0u16;
        for seq in 0..count {
            let start = t.now();
            let next = start + Duration::from_secs(1);
            for _ in 0..100 {
                match ping.send(t.stack(), target, seq, PAYLOAD) {
                    Ok(()) => {
                        sent_at[usize::from(seq)] = Some(start);
                        break;
                    }
                    Err(Error::WouldBlock) => {
                        t.run_once(t.now() + Duration::from_millis(10));
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            while t.now() < next && !answered[usize::from(seq)] {
                t.run_once(next);
                received += take_replies(t, &mut ping, &sent_at, &mut answered);
            }
            if !answered[usize::from(seq)] {
                println!("Request timeout for icmp_seq {seq}");
            }
            if seq + 1 < count {
                while t.now() < next {
                    t.run_once(next);
                    received += take_replies(t, &mut ping, &sent_at, &mut answered);
                }
            }
        }
        // Replies still on their way get one more second.
        let linger = t.now() + Duration::from_secs(1);
        while t.now() < linger && answered.iter().any(|a| !a) {
            t.run_once(linger);
            received += take_replies(t, &mut ping, &sent_at, &mut answered);
        }
        let loss = 100 * u32::from(count - received) / u32::from(count);
        println!("{count} packets transmitted, {received} received, {loss}% packet loss");
        if received == 0 {
            Err(format!("no reply from {target}"))
        } else {
            Ok(())
        }
    })
}
