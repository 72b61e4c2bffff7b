//! The client commands: echo, greeting, time-echo, chat, get, put, ping,
//! over the blocking sockets on the TAP link.
//!
//! This file opens the client's stack and runs a command; the target's
//! lookup is in `resolve.rs`, and the commands by group in `services.rs`
//! (echo, greeting, time-echo, chat), `files.rs` (get, put) and `ping.rs`
//! (iperf3 is the binary's `iperf3` module).
//!
//! Layer: host (std).

use std::io::{self, IsTerminal};

use indicatif::{ProgressBar, ProgressStyle};
use layernet::app::ports;
use layernet::host::blocking::Net;
use layernet::host::tap_net::TapNet;
use layernet::link::tap::TapDevice;
use layernet::net::Resources;
use layernet::socket::Error;
use layernet::{Duration, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr};

use crate::args::{Command, Global, IpMode};
use crate::net::{Capture, open_tap_with, report_faults};

mod files;
mod ping;
mod resolve;
mod services;

use files::{get, put, tls_for};
use ping::ping;
pub(crate) use resolve::is_host_name;
use resolve::{endpoint, lookup, url, wait_for_lease};
use services::{chat, echo, greeting, time_echo};

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

/// How long a client lets its connections finish closing before it exits.
const CLOSE_LINGER: Duration = Duration::from_secs(2);
