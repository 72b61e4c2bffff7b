//! `layernet serve`: the table of services on the TAP link until SIGINT
//! or SIGTERM, then a graceful shutdown.
//!
//! Layer: host (std), the binary. Depends on the library's servers and
//! host side, and on `args.rs` and `net.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use layernet::app::LOG_LINES;
use layernet::app::chat::ChatRoom;
use layernet::app::echo::EchoServer;
use layernet::app::files::{Access, Limits, Policy};
use layernet::app::greeting::{DEFAULT_GREETING, GreetingServer};
use layernet::app::iperf3::Iperf3Server;
use layernet::app::mdns::{self, Responder};
use layernet::app::ports;
use layernet::app::services::{self, Kind, Transport};
use layernet::app::sntp::{NTP_PORT, Offset, Sntp, SntpClock};
use layernet::app::time_echo::TimeEchoServer;
use layernet::host::auth::Users;
use layernet::host::dirstore::DirStore;
use layernet::host::local_clock::LocalClock;
use layernet::host::memory::Sizes;
use layernet::host::tap_net::{TapNet, TapService};
use layernet::host::tls::{self, TlsWrap};
use layernet::host::{ServedFiles, ServedFilesTls};
use layernet::net::{DhcpEvent, Stack};
use layernet::socket::EndpointText;
use layernet::{Duration, IpAddress, IpEndpoint, Ipv6Cidr};

use crate::args::{Global, Ip6Mode, IpMode, ServeArgs, ServiceName};
use crate::client;
use crate::net::{Capture, dhcp_line, open_tap_with, out_line, print_counters, report_faults};

/// The file service as `serve` runs it. Its connection table is a value
/// of about half a megabyte: built in a frame of its own (never inlined
/// into `main`, whose frame every command shares) and boxed at once.
#[inline(never)]
pub(crate) fn file_server(
    stack: &mut Stack<'static>,
    backlog: usize,
    store: DirStore,
    limits: Limits,
    policy: Policy,
    conns: usize,
    quiet: bool,
) -> Result<Box<TapService>, layernet::socket::Error> {
    let server = ServedFiles::bind(stack, Kind::Files.entry().port, backlog, store, limits)?
        .with_policy(policy)
        .with_max_connections(conns)
        .with_access_log(!quiet);
    Ok(Box::new(server))
}

/// The file service with HTTPS on 7443 (through `wrap`), and HTTP on
/// 7878 beside it unless `--tls-only`: one connection table, store and
/// policy for both.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn tls_file_server(
    stack: &mut Stack<'static>,
    backlog: usize,
    store: DirStore,
    limits: Limits,
    policy: Policy,
    conns: usize,
    quiet: bool,
    wrap: TlsWrap,
    plain_too: bool,
) -> Result<Box<TapService>, layernet::socket::Error> {
    let server = ServedFilesTls::bind_with(stack, ports::FILES_TLS, backlog, store, limits, wrap)?
        .with_policy(policy)
        .with_max_connections(conns)
        .with_access_log(!quiet);
    let server = if plain_too {
        server.also_plain(stack, Kind::Files.entry().port, backlog)?
    } else {
        server
    };
    Ok(Box::new(server))
}

/// What `--tls-cert`/`--tls-key` name, read before the link is opened:
/// a bad file is a one-line error and exit 1.
pub(crate) fn tls_from_files(args: &ServeArgs) -> Result<Option<TlsWrap>, String> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => TlsWrap::from_pem_files(cert, key).map(Some),
        _ => Ok(None),
    }
}

/// `--tls-self-signed`: a certificate for the stack's addresses and
/// layernet.local, written where a client can read it; its fingerprint
/// and path printed.
pub(crate) fn tls_self_signed(
    stack: &Stack<'static>,
    args: &ServeArgs,
    root: &std::path::Path,
) -> Result<TlsWrap, String> {
    let mut names: Vec<String> = vec![SELF_SIGNED_NAME.to_string()];
    let v4 = stack.ipv4_addr();
    if !v4.is_unspecified() {
        names.push(v4.to_string());
    }
    names.extend(stack.ipv6_addrs().map(|c| c.address().to_string()));
    let made = tls::self_signed(&names)?;
    let out = match &args.tls_cert_out {
        Some(path) => path.clone(),
        None => default_cert_out(root)?,
    };
    std::fs::write(&out, &made.cert_pem)
        .map_err(|e| format!("--tls-cert-out {}: {e}", out.display()))?;
    out_line(format_args!("tls: sha256 fingerprint {}", made.fingerprint));
    out_line(format_args!(
        "tls: self-signed certificate for {} written to {}",
        names.join(", "),
        out.display()
    ));
    TlsWrap::from_pem(made.cert_pem.as_bytes(), made.key_pem.as_bytes())
}

/// The DNS name a self-signed certificate carries beside the addresses.
pub(crate) const SELF_SIGNED_NAME: &str = "layernet.local";

/// `ROOT-cert.pem` beside the served directory: outside it, so that the
/// listing does not show it.
fn default_cert_out(root: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("--root {}: {e}", root.display()))?;
    match (root.parent(), root.file_name()) {
        (Some(parent), Some(name)) => {
            Ok(parent.join(format!("{}-cert.pem", name.to_string_lossy())))
        }
        _ => Err("--tls-self-signed with / as the root: say where with --tls-cert-out FILE".into()),
    }
}

/// What `--writable`, `--auth` and `--auth-reads` ask of the file service.
pub(crate) fn file_policy(args: &ServeArgs) -> Result<Policy, String> {
    const REFUSAL: &str =
        "403 Forbidden: uploads are off; start serve with --writable, or --auth USER:PASS";
    if args.writable {
        return Ok(Policy::WRITABLE);
    }
    if args.auth.is_empty() {
        return Ok(Policy {
            refusal: REFUSAL,
            ..Policy::READ_ONLY
        });
    }
    let mut users = Users::default();
    for spec in &args.auth {
        users.add(spec)?;
    }
    // The users live as long as the process, as the server does.
    let users: &'static Users = Box::leak(Box::new(users));
    Ok(Policy {
        reads: if args.auth_reads {
            Access::Users
        } else {
            Access::Anyone
        },
        writes: Access::Users,
        users: Some(users),
        refusal: REFUSAL,
    })
}

/// One line a service logged: the file service's access lines on stdout
/// (with the date, as `python3 -m http.server` prints them), the rest on
/// stderr with `-v`.
pub(crate) fn log_line(line: &str, verbose: bool) {
    if let Some(access) = line.strip_prefix("access: ") {
        let (peer, rest) = access.split_once(' ').unwrap_or((access, ""));
        let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S");
        out_line(format_args!("{peer} [{now}] {rest}"));
    } else if line.starts_with("sntp: ") || line.starts_with("mdns: ") {
        // Where the time-echo's stamps now come from, as `dhcp:` says
        // where the address came from; the name mDNS answers for (and a
        // conflict that changed it).
        out_line(format_args!("{line}"));
    } else if verbose {
        eprintln!("{line}");
    }
}

/// Connections each of echo, greeting and time-echo serves at once (their
/// servers are `XServer::<8>`).
pub(crate) const SMALL_CONNS: usize = 8;
/// Their accept queues (listening slots).
pub(crate) const SMALL_BACKLOG: usize = 4;
/// The file service's accept queue is as long as its connections, within
/// these bounds: a burst of new clients finds places to finish their
/// handshakes in, and every poll walks the slots.
pub(crate) const FILE_BACKLOG: std::ops::RangeInclusive<usize> = 8..=64;

/// Connections the iperf3 server holds: the control connection, up to 16
/// data streams (`iperf3 -P 16`) and one being checked or refused.
pub(crate) const IPERF3_CONNS: usize = 18;
/// Its accept queue: a test's data streams connect all at once.
pub(crate) const IPERF3_BACKLOG: usize = 8;
/// Its control buffer: the results of 16 streams fit.
pub(crate) const IPERF3_BUF: usize = 4096;

/// The file service's accept queue for `file_conns` connections.
pub(crate) fn file_backlog(file_conns: usize) -> usize {
    file_conns.clamp(*FILE_BACKLOG.start(), *FILE_BACKLOG.end())
}

/// TCP sockets `serve` needs for `services`: each TCP service's
/// connections and accept queue, and a quarter more of the file service's
/// connections for those finishing their close (FIN-WAIT, LAST-ACK), so
/// that the accept queue re-arms at once while they do.
pub(crate) fn tcp_pool(
    services: &[ServiceName],
    file_conns: usize,
    file_listeners: usize,
) -> usize {
    services
        .iter()
        .map(|s| match (s.0.transport, s.0.kind) {
            (Transport::Udp, _) => 0,
            // HTTPS beside HTTP: a second accept queue (the listeners
            // share the connections).
            (Transport::Tcp, Kind::Files) => {
                file_conns + file_listeners * file_backlog(file_conns) + file_conns / 4
            }
            // As many again for a test's streams finishing their close
            // while the next test opens its own.
            (Transport::Tcp, Kind::Iperf3) => 2 * IPERF3_CONNS + IPERF3_BACKLOG,
            (Transport::Tcp, _) => SMALL_CONNS + SMALL_BACKLOG,
        })
        .sum::<usize>()
        .max(1)
}

/// How `serve` builds each service of the table: sized for a host, boxed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    kind: Kind,
    stack: &mut Stack<'static>,
    args: &ServeArgs,
    global: &Global,
    policy: Policy,
    file_conns: usize,
    utc: Option<&'static Offset>,
    tls_files: &mut Option<TlsWrap>,
) -> Result<Box<TapService>, String> {
    let port = kind.entry().port;
    let service: Box<TapService> = match kind {
        Kind::Echo => Box::new(
            EchoServer::<SMALL_CONNS>::bind(stack, port, SMALL_BACKLOG)
                .map_err(|e| e.to_string())?,
        ),
        Kind::Greeting => {
            let text = if args.greeting.is_empty() {
                DEFAULT_GREETING
            } else {
                args.greeting.as_bytes()
            };
            Box::new(
                GreetingServer::<SMALL_CONNS>::bind(stack, port, SMALL_BACKLOG, text)
                    .map_err(|e| e.to_string())?,
            )
        }
        Kind::TimeEcho => match utc {
            // --ntp: the server's UTC once it has answered, this
            // machine's clock until then.
            Some(offset) => Box::new(
                TimeEchoServer::<_, SMALL_CONNS>::bind(
                    stack,
                    port,
                    SMALL_BACKLOG,
                    SntpClock::new(offset, LocalClock),
                )
                .map_err(|e| e.to_string())?,
            ),
            None => Box::new(
                TimeEchoServer::<_, SMALL_CONNS>::bind(stack, port, SMALL_BACKLOG, LocalClock)
                    .map_err(|e| e.to_string())?,
            ),
        },
        Kind::Files => {
            let root = match &args.root {
                Some(r) => r.clone(),
                None => std::env::current_dir().map_err(|e| format!("current directory: {e}"))?,
            };
            let store = DirStore::open(&root).map_err(|e| match e.kind() {
                // "is served by another layernet (pid N)": one sentence.
                std::io::ErrorKind::ResourceBusy => format!("--root {} {e}", root.display()),
                _ => format!("--root {}: {e}", root.display()),
            })?;
            let limits = Limits {
                max_body: args.max_upload,
                idle: Duration::from_secs(args.idle_timeout.max(1)),
                ..Limits::default()
            };
            let wrap = match tls_files.take() {
                Some(wrap) => Some(wrap),
                None if args.tls_self_signed => Some(tls_self_signed(stack, args, &root)?),
                None => None,
            };
            if let Some(wrap) = wrap {
                return tls_file_server(
                    stack,
                    file_backlog(file_conns),
                    store,
                    limits,
                    policy,
                    file_conns,
                    global.quiet,
                    wrap,
                    !args.tls_only,
                )
                .map_err(|e| e.to_string());
            }
            file_server(
                stack,
                file_backlog(file_conns),
                store,
                limits,
                policy,
                file_conns,
                global.quiet,
            )
            .map_err(|e| e.to_string())?
        }
        Kind::Chat => Box::new(ChatRoom::<8>::bind(stack, port).map_err(|e| e.to_string())?),
        Kind::Iperf3 => Box::new(
            Iperf3Server::<IPERF3_CONNS, IPERF3_BUF>::bind(stack, port, IPERF3_BACKLOG)
                .map_err(|e| e.to_string())?,
        ),
    };
    Ok(service)
}

pub(crate) fn serve(global: &Global, args: ServeArgs) -> Result<(), client::Failure> {
    let file_conns = usize::from(args.max_connections);
    let tls_wanted = args.tls_cert.is_some() || args.tls_self_signed;
    let file_listeners = if tls_wanted && !args.tls_only { 2 } else { 1 };
    let sizes = Sizes {
        tcp_sockets: tcp_pool(&args.services, file_conns, file_listeners),
        tcp_buffer: args.socket_buffer,
    };
    // Bad --auth values are usage errors, found before the link is opened.
    let policy = file_policy(&args).map_err(client::Failure::Usage)?;
    if args.tls_only && !tls_wanted {
        return Err(client::Failure::Usage(
            "--tls-only needs --tls-cert FILE --tls-key FILE or --tls-self-signed".into(),
        ));
    }
    // So are bad certificate files, but they exit 1, as a missing --root does.
    let mut tls_files = tls_from_files(&args)?;
    let capture = Capture::new(global)?;
    let mut net = open_tap_with(global, &capture, |config, device| {
        TapNet::sized(config, device, sizes)
    })?;
    let ip = net.stack().ipv4_addr();
    let mut started: Vec<&services::Entry> = Vec::new();
    // Shared by the SNTP client and the time-echo's clock for the whole
    // run: set up once, before the first poll.
    // With DHCP the lease may name a time server (option 42) for
    // the client to ask when --ntp named none.
    let utc: Option<&'static Offset> = (args.ntp.is_some() || global.ip == IpMode::Dhcp)
        .then(|| &*Box::leak(Box::new(Offset::new())));
    for &ServiceName(entry) in &args.services {
        let service = build(
            entry.kind,
            net.stack(),
            &args,
            global,
            policy,
            file_conns,
            utc,
            &mut tls_files,
        )?;
        net.serve(service);
        started.push(entry);
    }
    let mut asking_time = false;
    if let (Some(server), Some(offset)) = (args.ntp, utc) {
        let server = IpEndpoint::new(IpAddress::Ipv4(*server.ip()), server.port());
        net.serve(Box::new(Sntp::<'static, LOG_LINES>::new(server, offset)));
        asking_time = true;
    }
    // NAME.local, and DNS-SD for each service started.
    let mut responder =
        Responder::<LOG_LINES>::new(&args.hostname).map_err(|e| format!("--hostname: {e}"))?;
    for entry in &started {
        responder
            .advertise(mdns::advert(entry.kind))
            .map_err(|e| format!("mdns: {e}"))?;
    }
    net.serve(Box::new(responder));
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("signal handler: {e}"))?;
    }
    let dump = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&dump))
        .map_err(|e| format!("signal handler: {e}"))?;
    let files_tls = tls_wanted && started.iter().any(|e| e.kind == Kind::Files);
    let listening = |ip: IpAddress| {
        for entry in &started {
            if entry.kind == Kind::Files && files_tls {
                if !args.tls_only {
                    out_line(format_args!(
                        "listening on {} ({})",
                        EndpointText(IpEndpoint::new(ip, entry.port)),
                        entry.name
                    ));
                }
                out_line(format_args!(
                    "listening on {} ({}, https)",
                    EndpointText(IpEndpoint::new(ip, ports::FILES_TLS)),
                    entry.name
                ));
                continue;
            }
            out_line(format_args!(
                "listening on {} ({})",
                EndpointText(IpEndpoint::new(ip, entry.port)),
                entry.name
            ));
        }
    };
    if global.ip != IpMode::Dhcp {
        listening(ip.into());
    }
    // Every service listens on every address of either family; the IPv6
    // ones can change under SLAAC, and each change is reported.
    let mut v6: Vec<Ipv6Cidr> = Vec::new();
    // With DHCP, nothing is listed before the lease: the services' lines,
    // IPv6 ones included, follow `dhcp: bound`.
    let mut v6_listed = global.ip != IpMode::Dhcp;
    let mut v6_changes = |net: &mut TapNet, listed: bool| {
        if !listed {
            return;
        }
        let now: Vec<Ipv6Cidr> = net.stack().ipv6_addrs().collect();
        for gone in v6.iter().filter(|c| !now.contains(c)) {
            out_line(format_args!("slaac: {gone} expired"));
        }
        for new in now.iter().filter(|c| !v6.contains(c)) {
            if !new.address().is_unicast_link_local() && global.ip6 == Some(Ip6Mode::Slaac) {
                out_line(format_args!("slaac: {new}"));
            }
            listening(new.address().into());
        }
        v6 = now;
    };
    v6_changes(&mut net, v6_listed);
    let verbose = global.verbose > 0 && !global.quiet;
    net.run_until(|net| {
        while let Some(event) = net.stack().take_dhcp_event() {
            out_line(format_args!("{}", dhcp_line(event)));
            if let DhcpEvent::Bound(lease) = event {
                listening(lease.address.address().into());
                v6_listed = true;
                // The lease's time server, once: a later lease's would
                // be a second client beside the first.
                if let (Some(ntp), Some(offset), false) = (lease.ntp, utc, asking_time) {
                    let server = IpEndpoint::new(IpAddress::Ipv4(ntp), NTP_PORT);
                    net.serve(Box::new(Sntp::<'static, LOG_LINES>::new(server, offset)));
                    asking_time = true;
                }
            }
        }
        v6_changes(net, v6_listed);
        net.drain_logs(&mut |line| log_line(line, verbose));
        if dump.swap(false, Ordering::Relaxed) {
            // The capture is flushed after every round of polls anyway;
            // SIGUSR1 makes sure of it, beside the counters.
            capture.flush();
            let stack = net.stack();
            print_counters(&[("layernet", stack.counters(), stack.app_counters())]);
        }
        stop.load(Ordering::Relaxed)
    });

    // Graceful: stop listening, let open connections finish within the
    // grace period, then reset what is left and exit 0.
    net.shutdown();
    let grace = Duration::from_millis((args.grace.clamp(0.0, 3600.0) * 1000.0) as u64);
    let deadline = net.now() + grace;
    net.run_until(|net| net.now() >= deadline || net.stack().open_tcp_sockets() == 0);
    if let Some(failure) = net.failure() {
        return Err(client::Failure::Runtime(failure.to_string()));
    }
    let left = net.stack().open_tcp_sockets();
    net.stack().abort_all_tcp();
    let flush = net.now() + Duration::from_millis(50);
    net.run_until(|net| net.now() >= flush);
    if !global.quiet {
        eprintln!("layernet serve: stopped ({left} connection(s) reset after the grace period)");
    }
    report_faults(global, &mut net);
    let stack = net.stack();
    capture.report(&[("layernet", stack.counters(), stack.app_counters())]);
    capture.finish().map_err(client::Failure::Runtime)
}
