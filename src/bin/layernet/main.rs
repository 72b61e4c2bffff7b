//! The `layernet` command line.
//!
//! Layer: host (std). With no command it runs the demo.
//!
//! Exit codes: 0 success, 1 runtime failure (one line on stderr), 2 usage.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, Parser, Subcommand, ValueEnum};
use layernet::app::chat::ChatRoom;
use layernet::app::echo::EchoServer;
use layernet::app::files::{Access, Limits, Policy};
use layernet::app::greeting::{DEFAULT_GREETING, GreetingServer};
use layernet::app::ports;
use layernet::app::services::{self, Kind, Transport};
use layernet::app::time_echo::TimeEchoServer;
use layernet::host::ServedFiles;
use layernet::host::auth::Users;
use layernet::host::clock::LocalClock;
use layernet::host::demo;
use layernet::host::dirstore::DirStore;
use layernet::host::memory::Sizes;
use layernet::host::tap::{TapNet, TapService};
use layernet::host::trace::{Recorder, SharedRecorder, apps_table, counters_table};
use layernet::link::segment::Faults;
use layernet::link::tap::TapDevice;
use layernet::net::{AppCounters, Counters, Stack};
use layernet::net::{Config, DEFAULT_IP, DhcpEvent, DnsStorage, Lease};
use layernet::socket::EndpointText;
use layernet::trace::Style;
use layernet::{Duration, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr, Ipv6Cidr};
use std::io::IsTerminal;

/// layernet: a userspace TCP/IP stack on smoltcp, with the classic socket
/// programs (echo, greeting, time-stamped echo, UDP chat, file service) on top.
#[derive(Parser, Debug)]
#[command(name = "layernet", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Options every command takes, before or after its name.
#[derive(Args, Debug)]
struct Global {
    /// The link: `sim` (a simulated segment) or `tap:NAME` (a Linux TAP
    /// device). Default tap:tap0, except for `demo`, which is simulated.
    #[arg(long, global = true, value_parser = parse_link)]
    link: Option<Link>,
    /// The stack's IPv4 address and prefix, or `dhcp` to take them (and
    /// the default route and DNS server) from a DHCP server. Clients
    /// (every command but serve, demo and bench) default to
    /// 192.168.69.2/24, so that they never take a server's address.
    #[arg(long, global = true, default_value = "192.168.69.1/24", value_parser = parse_ip_mode)]
    ip: IpMode,
    /// IPv6 beside the link-local address every stack derives from its
    /// MAC: a static `ADDR/PREFIX` (e.g. fd00::1/64), or `slaac` to take
    /// an address and default route from router advertisements.
    #[arg(long, global = true, value_name = "ADDR/PREFIX|slaac", value_parser = parse_ip6_mode)]
    ip6: Option<Ip6Mode>,
    /// With `--ip dhcp`: treat leases as at most this many seconds long
    /// (renewal at half of it), to see renewals and expiry sooner.
    #[arg(long, global = true, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(4..=86400))]
    dhcp_max_lease: Option<u64>,
    /// The DNS server clients ask for host names (default: the one the
    /// DHCP lease names).
    #[arg(long, global = true, value_name = "ADDR")]
    dns: Option<Ipv4Address>,
    /// A static host name, as a line of /etc/hosts: NAME=ADDR (repeatable);
    /// asked before DNS.
    #[arg(long = "host", global = true, value_name = "NAME=ADDR", value_parser = parse_host_entry)]
    hosts: Vec<(String, IpAddress)>,
    /// The stack's MAC address (unicast). Clients default to
    /// 02:00:00:00:00:02.
    #[arg(long, global = true, default_value = "02:00:00:00:00:01", value_parser = parse_mac)]
    mac: EthernetAddress,
    /// Default route.
    #[arg(long, global = true)]
    gateway: Option<Ipv4Address>,
    /// More output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Trace every frame layer by layer, and the stack's events between
    /// frames, on stderr; `--trace=brief` prints one line per frame.
    #[arg(long, global = true, value_enum, num_args = 0..=1, require_equals = true,
          default_missing_value = "full", value_name = "STYLE")]
    trace: Option<TraceStyle>,
    /// Write every frame, both ways, to FILE in classic pcap format (for
    /// `tshark -r` and Wireshark); on the simulated segment, all hosts'
    /// frames with their virtual timestamps.
    #[arg(long, global = true, value_name = "FILE")]
    pcap: Option<std::path::PathBuf>,
    /// Print the per-layer counters on stderr at exit (`serve`: also on
    /// SIGUSR1). `--trace` implies it.
    #[arg(long, global = true)]
    counters: bool,
    /// Faults on the link, both ways, as on the simulated segment:
    /// `drop=5,corrupt=1,dup=2,reorder=5,delay=2ms` (percentages; any
    /// subset). On TAP a seeded wrapper between the kernel and the stack;
    /// for the demo, the same wrapper on each simulated host's port.
    #[arg(long, global = true, value_parser = parse_faults, value_name = "SPEC")]
    faults: Option<Faults>,
    /// Attach to the TAP with virtio-net headers and the kernel's
    /// checksum and TCP segmentation offloads: TCP moves in segments of up
    /// to 64 KiB, one syscall each, instead of one per frame.
    #[arg(long, global = true)]
    tap_offload: bool,
}

/// `drop=5,corrupt=1,dup=2,reorder=5,delay=2ms`: each part optional.
fn parse_faults(s: &str) -> Result<Faults, String> {
    let mut faults = Faults::NONE;
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}': expected KEY=VALUE"))?;
        let pct = || match value.parse::<u8>() {
            Ok(p) if p <= 100 => Ok(p),
            _ => Err(format!(
                "{key}={value}: expected a percentage from 0 to 100"
            )),
        };
        match key {
            "drop" => faults.drop_pct = pct()?,
            "corrupt" => faults.corrupt_pct = pct()?,
            "dup" => faults.duplicate_pct = pct()?,
            "reorder" => faults.reorder_pct = pct()?,
            "delay" => {
                let ms = value
                    .strip_suffix("ms")
                    .unwrap_or(value)
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| *ms <= 10_000)
                    .ok_or_else(|| {
                        format!("delay={value}: expected milliseconds like 2ms (at most 10000ms)")
                    })?;
                faults.delay = Duration::from_millis(ms);
            }
            _ => {
                return Err(format!(
                    "unknown fault '{key}': use drop, corrupt, dup, reorder, delay"
                ));
            }
        }
    }
    Ok(faults)
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum TraceStyle {
    /// A header line and one line per layer.
    Full,
    /// One line per frame.
    Brief,
}

/// The trace, the capture file and the counters the options asked for.
pub(crate) struct Capture {
    recorder: Option<SharedRecorder>,
    counters: bool,
}

impl Capture {
    fn new(global: &Global) -> Result<Capture, String> {
        let style = global.trace.map(|t| match t {
            TraceStyle::Full => Style::Full,
            TraceStyle::Brief => Style::Brief,
        });
        let recorder = if style.is_some() || global.pcap.is_some() {
            let colour = std::io::stderr().is_terminal();
            let mut recorder = Recorder::new(style, Box::new(std::io::stderr()), colour);
            if let Some(path) = &global.pcap {
                recorder
                    .capture_to(path)
                    .map_err(|e| format!("--pcap {e}"))?;
            }
            Some(recorder.shared())
        } else {
            None
        };
        Ok(Capture {
            recorder,
            counters: global.counters || global.trace.is_some(),
        })
    }

    /// Print the counters (if asked for) of the named stacks.
    fn report(&self, hosts: &[(&str, Counters, &[AppCounters])]) {
        if self.counters {
            print_counters(hosts);
        }
    }

    /// Flush the trace and the capture file.
    fn finish(&self) -> Result<(), String> {
        match &self.recorder {
            Some(r) => r.borrow_mut().finish(),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Link {
    Sim,
    Tap(String),
}

fn parse_link(s: &str) -> Result<Link, String> {
    match s {
        "sim" => Ok(Link::Sim),
        _ => match s.strip_prefix("tap:") {
            Some(name) if !name.is_empty() => Ok(Link::Tap(name.to_string())),
            _ => Err("expected sim or tap:NAME".into()),
        },
    }
}

/// How the stack gets its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpMode {
    Static(Ipv4Cidr),
    Dhcp,
}

fn parse_ip_mode(s: &str) -> Result<IpMode, String> {
    if s == "dhcp" {
        return Ok(IpMode::Dhcp);
    }
    parse_cidr(s)
        .map(IpMode::Static)
        .map_err(|e| format!("{e}, or dhcp"))
}

/// How the stack gets an IPv6 address besides its link-local one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ip6Mode {
    Static(Ipv6Cidr),
    Slaac,
}

fn parse_ip6_mode(s: &str) -> Result<Ip6Mode, String> {
    if s == "slaac" {
        return Ok(Ip6Mode::Slaac);
    }
    let cidr = s
        .parse::<Ipv6Cidr>()
        .map_err(|_| format!("{s:?}: expected an IPv6 ADDR/PREFIX such as fd00::1/64, or slaac"))?;
    let a = cidr.address();
    if a.is_unspecified() || a.is_multicast() || a.is_loopback() {
        return Err(format!("{s:?}: the IPv6 address must be a unicast address"));
    }
    Ok(Ip6Mode::Static(cidr))
}

/// `NAME=ADDR`.
fn parse_host_entry(s: &str) -> Result<(String, IpAddress), String> {
    let (name, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=ADDR"))?;
    if !client::is_host_name(name) {
        return Err(format!("{name:?} is not a host name"));
    }
    let addr = addr
        .parse::<IpAddress>()
        .map_err(|_| format!("{addr:?} is not an IPv4 or IPv6 address"))?;
    Ok((name.to_ascii_lowercase(), addr))
}

fn parse_cidr(s: &str) -> Result<Ipv4Cidr, String> {
    s.parse::<Ipv4Cidr>()
        .map_err(|_| "expected an IPv4 address with a prefix, like 192.168.69.1/24".into())
}

/// Seconds: finite, not negative, at most an hour.
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err("expected seconds from 0 to 3600".into()),
    }
}

fn parse_mac(s: &str) -> Result<EthernetAddress, String> {
    let mac = s
        .parse::<EthernetAddress>()
        .map_err(|_| "expected a MAC address like 02:00:00:00:00:01".to_string())?;
    if mac.is_unicast() {
        Ok(mac)
    } else {
        Err("the MAC address must be unicast".into())
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every classic exchange (ping, echo, greeting, time-echo, chat,
    /// files) over a simulated Ethernet segment and verify each byte for
    /// byte. Needs no privileges; exits 0 only if every exchange is verified.
    Demo(DemoArgs),
    /// Serve the classic services on the link until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// TCP echo client: send MESSAGE (or each line of stdin), print what comes back.
    Echo {
        /// The server: IP[:PORT] (port 7 by default); IPv6 as [ADDR]:PORT.
        server: String,
        /// What to send; without it, each line of stdin.
        message: Option<String>,
    },
    /// TCP greeting client: print what the server sends until it closes.
    Greeting {
        /// The server: IP[:PORT] (port 1234 by default).
        server: String,
    },
    /// Time-stamped echo client: send each line of stdin, print each reply;
    /// an empty line quits.
    TimeEcho {
        /// The server: IP[:PORT] (port 21566 by default).
        server: String,
    },
    /// UDP chat peer: lines of stdin go to the room, datagrams that arrive
    /// are printed as `[ip:port] text`, both at once.
    Chat {
        /// The room: IP[:PORT] (port 6868 by default).
        room: String,
        /// Local UDP port.
        #[arg(long, default_value_t = ports::CHAT)]
        port: u16,
        /// Seconds to keep listening after stdin ends.
        #[arg(long, default_value_t = 1.0, value_parser = parse_seconds)]
        linger: f64,
    },
    /// Download IP[:PORT]/NAME from a file service (any HTTP server);
    /// IP[:PORT]/ prints the listing (asked for as text/plain).
    Get {
        /// IP[:PORT]/NAME (port 7878 by default); IPv6 as [ADDR]:PORT/NAME;
        /// IP[:PORT]/ for the listing.
        url: String,
        /// Where to save it (default: NAME).
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
        /// Continue a partial download (as curl -C -).
        #[arg(short = 'C', long = "continue")]
        resume: bool,
        /// Send HTTP Basic credentials (for `serve --auth-reads`).
        #[arg(long, value_name = "USER:PASS")]
        user: Option<String>,
    },
    /// Upload FILE to IP[:PORT][/NAME] (NAME defaults to FILE's name).
    Put {
        /// The file to send.
        file: std::path::PathBuf,
        /// IP[:PORT][/NAME] (port 7878 by default).
        url: String,
        /// Send HTTP Basic credentials (for `serve --auth USER:PASS`).
        #[arg(long, value_name = "USER:PASS")]
        user: Option<String>,
    },
    /// Measure: bulk TCP over the simulated segment beside bare smoltcp,
    /// greeting connections per second, memory per component, heap
    /// allocations after setup. Needs no privileges (the TAP figures are
    /// scripts/bench-tap.sh's).
    Bench(BenchArgs),
    /// ICMP echo: print each reply's round-trip time, like ping.
    Ping {
        /// The host: an IPv4 or IPv6 address, or a host name.
        host: String,
        /// How many requests.
        #[arg(short = 'c', long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1000))]
        count: u16,
    },
}

#[derive(Args, Debug, Default)]
struct DemoArgs {
    /// Run only this exchange (`closed-port`, not in the default run,
    /// connects to a port nobody listens on).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(demo::EXCHANGES))]
    only: Option<String>,
    /// Percentage of frames the simulated segment loses (0-100).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    loss: u8,
    /// Seed of every random choice (faults, sequence numbers, ports): the
    /// same seed replays the same frames.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Runs of each side of every comparison; each figure is their median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    runs: u16,
    /// Smaller sizes (1 MiB transfers, 48 connections), for tests.
    #[arg(long)]
    quick: bool,
    /// One JSON object per figure per line instead of the table.
    #[arg(long)]
    json: bool,
    /// Only this group of figures.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(bench::GROUPS))]
    only: Option<String>,
    /// Measure nothing: serve the socket-level sink (port 1235) and source
    /// (port 1234) on the TAP link until SIGINT/SIGTERM, for
    /// scripts/bench-tap.sh's Linux client.
    #[arg(long)]
    sink_source: bool,
    /// The sink and source's socket buffers, each way: `host` is the host
    /// profile's 8 KiB; `64k` is smoltcp's `benchmark` example's 65,535
    /// bytes; any other SIZE (`128k`, `1m`, bytes) is taken as it is, as
    /// `serve --socket-buffer` takes it.
    #[arg(long, default_value = "host", value_name = "host|64k|SIZE",
          value_parser = parse_bench_buffers, requires = "sink_source")]
    socket_buffers: BenchBuffers,
    /// Only this bulk transfer (scripts/bench-cpu.sh counts each apart).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(
        bench::TRANSFERS.map(|(name, _, _)| name)))]
    transfer: Option<String>,
}

/// The sink and source's socket memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BenchBuffers {
    /// The host profile's (as `TapNet::new`).
    Host,
    /// Each TCP socket's buffer, each way.
    Bytes(usize),
}

fn parse_bench_buffers(s: &str) -> Result<BenchBuffers, String> {
    match s {
        "host" => Ok(BenchBuffers::Host),
        // smoltcp's `benchmark` example's size, so that the two compare.
        "64k" => Ok(BenchBuffers::Bytes(65535)),
        _ => parse_socket_buffer(s).map(BenchBuffers::Bytes),
    }
}

/// Smallest and largest `--socket-buffer`: below 4 KiB a window holds two
/// full segments; above 16 MiB one connection could pin 32 MiB.
const SOCKET_BUFFER_RANGE: std::ops::RangeInclusive<usize> = 4 << 10..=16 << 20;

/// A size such as `256k`, `1m` or `65536` (bytes); k and m are 1024 and
/// 1024 * 1024, in either case, and may be followed by `ib` or `b`.
fn parse_size(s: &str) -> Option<usize> {
    let lower = s.trim().to_ascii_lowercase();
    let bare = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (digits, unit) = match bare.as_bytes().last() {
        Some(b'k') => (&bare[..bare.len() - 1], 1usize << 10),
        Some(b'm') => (&bare[..bare.len() - 1], 1 << 20),
        _ => (bare, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

/// `--socket-buffer SIZE`, within [`SOCKET_BUFFER_RANGE`].
fn parse_socket_buffer(s: &str) -> Result<usize, String> {
    match parse_size(s) {
        Some(n) if SOCKET_BUFFER_RANGE.contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: expected a size from 4k to 16m bytes each way, like 256k or 1m"
        )),
    }
}

/// Counts heap allocations for `layernet bench`'s "allocations after
/// setup" figure; every call goes on to the system allocator unchanged.
struct CountingAlloc;

static ALLOCATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter has no effect on the memory handed out.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { std::alloc::System.alloc(layout) }
    }
    // Forwarded rather than left to the default (alloc, then write zeros):
    // the system's calloc hands out fresh zero pages untouched, so the
    // host's socket buffers cost resident memory only once used.
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from `System.alloc`, `alloc_zeroed` or `realloc`.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// `layernet bench --sink-source`: the sink and source on TAP until a signal.
fn sink_source(global: &Global, buffers: BenchBuffers) -> Result<(), String> {
    let capture = Capture::new(global)?;
    let mut net = match buffers {
        // Two listening slots, two connections and spares.
        BenchBuffers::Bytes(tcp_buffer) => open_tap_with(global, &capture, |config, device| {
            let sizes = Sizes {
                tcp_sockets: 6,
                tcp_buffer,
            };
            TapNet::sized(config, device, sizes)
        })?,
        BenchBuffers::Host => open_tap(global, &capture)?,
    };
    let service = bench::SinkSource::bind(net.stack()).map_err(|e| e.to_string())?;
    net.serve(Box::new(service));
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    println!("sink on port 1235, source on port 1234");
    net.run_until(|_| stop.load(Ordering::Relaxed));
    match net.failure() {
        Some(f) => Err(f.to_string()),
        None => Ok(()),
    }
}

/// The bench thread's stack: two hosts' resources and a segment of
/// jumbo frames may sit on it before they are boxed.
const BENCH_STACK: usize = 64 << 20;

fn run_bench(args: BenchArgs) -> ExitCode {
    use std::io::Write;
    let options = bench::Options {
        runs: usize::from(args.runs),
        quick: args.quick,
        only: args.only,
        allocations: Some(allocations),
        transfer: args.transfer,
    };
    let mut figures = Vec::new();
    let mut out = std::io::stdout();
    // The bulk transfers make `Resources` with 64 KiB sockets (3 MB for the
    // 24-socket pool) and box them; the optimiser does not always build
    // them in place, and the main thread's 8 MiB overflowed. A thread of
    // its own with room to spare.
    let result = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("bench".into())
            .stack_size(BENCH_STACK)
            .spawn_scoped(scope, || {
                bench::run(&options, &mut |f| {
                    if args.json {
                        let _ = writeln!(out, "{}", f.to_json());
                        let _ = out.flush();
                    }
                    figures.push(f.clone());
                })
            })
            .map_err(|e| format!("bench thread: {e}"))?
            .join()
            .map_err(|_| "the bench thread panicked".to_string())?
    });
    if !args.json {
        let _ = write!(out, "{}", bench::table(&figures));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("layernet bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A service named on the command line: a row of the library's table
/// ([`services::ALL`]), so the names and ports are the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ServiceName(&'static services::Entry);

/// The services `serve` runs unless told, in the order it starts them and
/// prints their `listening on` lines; `--help` lists the names in this
/// order too.
const DEFAULT_SERVICES: &str = "echo,greeting,time-echo,files,chat";

impl ValueEnum for ServiceName {
    fn value_variants<'a>() -> &'a [Self] {
        static VARIANTS: std::sync::OnceLock<Vec<ServiceName>> = std::sync::OnceLock::new();
        VARIANTS.get_or_init(|| {
            let mut all: Vec<ServiceName> = services::ALL.iter().map(ServiceName).collect();
            // Stable: a service not started by default keeps its place
            // in the table, after the default ones.
            all.sort_by_key(|s| {
                DEFAULT_SERVICES
                    .split(',')
                    .position(|name| name == s.0.name)
                    .unwrap_or(usize::MAX)
            });
            all
        })
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name))
    }
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Which services to run (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = DEFAULT_SERVICES
    )]
    services: Vec<ServiceName>,
    /// Directory the file service serves (default: the current directory).
    #[arg(long)]
    root: Option<std::path::PathBuf>,
    /// Largest upload accepted, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    max_upload: u64,
    /// Let anyone upload and delete files (by default the file service is
    /// read-only: PUT and DELETE get 403).
    #[arg(long, conflicts_with = "auth")]
    writable: bool,
    /// Let USER upload and delete with HTTP Basic credentials: USER:PASS,
    /// or USER:sha256:HEX with the password's SHA-256 (repeatable).
    #[arg(long, value_name = "USER:PASS")]
    auth: Vec<String>,
    /// With --auth: reads (GET, HEAD, the listing) need credentials too.
    #[arg(long, requires = "auth")]
    auth_reads: bool,
    /// What the greeting service sends.
    #[arg(long, default_value = "connect successfully!\r\n")]
    greeting: String,
    /// Seconds a file-service request may take to arrive (then 408), and a
    /// kept-alive connection may stay quiet (then it is closed).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86400))]
    idle_timeout: u64,
    /// Connections the file service serves at once. Its accept queue holds
    /// as many more (at least 8, at most 64) that wait for a place; past
    /// those a new client's SYN goes unanswered until one frees (its TCP
    /// retries).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=layernet::host::SERVED_FILE_CONNECTIONS as i64))]
    max_connections: u16,
    /// Each TCP socket's buffer, each way (`256k`, `1m`, or bytes; 4k to
    /// 16m): the receive buffer is the largest window offered (scaled past
    /// 64 KiB). Memory is taken as it is used.
    #[arg(long, default_value = "256k", value_name = "SIZE", value_parser = parse_socket_buffer)]
    socket_buffer: usize,
    /// Seconds given to open connections to close after SIGINT/SIGTERM.
    #[arg(long, default_value_t = 1.0, value_parser = parse_seconds)]
    grace: f64,
}

fn main() -> ExitCode {
    // Like every Unix filter, end quietly when the reader of our output goes
    // away (`layernet ping ... | head -1`) instead of panicking on EPIPE.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    client::client_defaults(&mut cli.global, cli.command.as_ref(), &matches);
    if cli.global.link == Some(Link::Sim)
        && !matches!(
            cli.command,
            None | Some(Command::Demo(_) | Command::Bench(_))
        )
    {
        eprintln!(
            "layernet: this command needs a real link: --link tap:NAME (a lone simulated stack has no peers)"
        );
        return ExitCode::from(2);
    }
    if cli.global.ip == IpMode::Dhcp && cli.global.gateway.is_some() {
        eprintln!(
            "layernet: with --ip dhcp the default route comes from the lease; drop --gateway"
        );
        return ExitCode::from(2);
    }
    if cli.global.ip != IpMode::Dhcp && cli.global.dhcp_max_lease.is_some() {
        eprintln!("layernet: --dhcp-max-lease needs --ip dhcp");
        return ExitCode::from(2);
    }
    match cli.command {
        None => run_demo(&cli.global, DemoArgs::default_run()),
        Some(Command::Demo(a)) => run_demo(&cli.global, a),
        Some(Command::Bench(a)) if a.sink_source => {
            match sink_source(&cli.global, a.socket_buffers) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("layernet bench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Bench(a)) => run_bench(a),
        Some(Command::Serve(a)) => match serve(&cli.global, a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(client::Failure::Usage(e)) => {
                eprintln!("layernet serve: {e}");
                ExitCode::from(2)
            }
            Err(client::Failure::Runtime(e)) => {
                eprintln!("layernet serve: {e}");
                ExitCode::FAILURE
            }
        },
        Some(command) => {
            let name = client_name(&command);
            match client::run(&cli.global, command) {
                Ok(()) => ExitCode::SUCCESS,
                Err(client::Failure::Usage(e)) => {
                    eprintln!("layernet {name}: {e}");
                    ExitCode::from(2)
                }
                Err(client::Failure::Runtime(e)) => {
                    eprintln!("layernet {name}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn client_name(c: &Command) -> &'static str {
    match c {
        Command::Demo(_) => "demo",
        Command::Serve(_) => "serve",
        Command::Echo { .. } => Kind::Echo.entry().name,
        Command::Greeting { .. } => Kind::Greeting.entry().name,
        Command::TimeEcho { .. } => Kind::TimeEcho.entry().name,
        Command::Chat { .. } => Kind::Chat.entry().name,
        Command::Get { .. } => "get",
        Command::Put { .. } => "put",
        Command::Ping { .. } => "ping",
        Command::Bench(_) => "bench",
    }
}

impl DemoArgs {
    fn default_run() -> Self {
        DemoArgs {
            only: None,
            loss: 0,
            seed: 1,
        }
    }
}

/// What the TAP link's fault wrapper did, one line on stderr (only when
/// `--faults` put faults on it).
pub(crate) fn report_faults(global: &Global, net: &mut TapNet) {
    if global.quiet || global.faults.is_none() {
        return;
    }
    let s = net.link().stats();
    eprintln!(
        "faults: {} frames offered, {} dropped, {} corrupted, {} duplicated, {} reordered, {} over the queue",
        s.offered, s.dropped, s.corrupted, s.duplicated, s.reordered, s.overflow
    );
}

/// The per-layer and per-application tables, on stderr.
fn print_counters(hosts: &[(&str, Counters, &[AppCounters])]) {
    let layers: Vec<(&str, Counters)> = hosts.iter().map(|(n, c, _)| (*n, *c)).collect();
    let apps: Vec<(&str, &[AppCounters])> = hosts.iter().map(|(n, _, a)| (*n, *a)).collect();
    eprint!("{}\n{}", counters_table(&layers), apps_table(&apps));
}

/// The demo's hosts, as the trace and the counters name them.
const DEMO_HOSTS: [&str; 3] = ["server", "client-a", "client-b"];

fn run_demo(global: &Global, args: DemoArgs) -> ExitCode {
    if let Some(Link::Tap(_)) = global.link {
        eprintln!("layernet demo: the demo runs on the simulated segment; drop --link");
        return ExitCode::from(2);
    }
    let capture = match Capture::new(global) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("layernet demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut options = demo::Options::with_loss(args.loss, args.seed);
    if let Some(faults) = global.faults {
        if args.loss != 0 {
            eprintln!("layernet demo: give --loss or --faults, not both");
            return ExitCode::from(2);
        }
        options.faults = faults;
    }
    options.only = demo::EXCHANGES
        .iter()
        .copied()
        .find(|name| Some(*name) == args.only.as_deref());
    let mut setup = match demo::setup(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("layernet: demo setup failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(recorder) = &capture.recorder {
        setup.net.trace(recorder, &DEMO_HOSTS);
    }
    let report = demo::run_exchanges(&mut setup, options);
    if !global.quiet {
        demo::print_report(&report);
    }
    let mut stacks = Vec::new();
    for (i, name) in DEMO_HOSTS.iter().enumerate() {
        let stack = setup.net.stack(i);
        stacks.push((*name, stack.counters(), stack.app_counters().to_vec()));
    }
    let rows: Vec<(&str, Counters, &[AppCounters])> = stacks
        .iter()
        .map(|(n, c, a)| (*n, *c, a.as_slice()))
        .collect();
    capture.report(&rows);
    if let Err(e) = capture.finish() {
        eprintln!("layernet demo: {e}");
        return ExitCode::FAILURE;
    }
    if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub(crate) fn open_tap(global: &Global, capture: &Capture) -> Result<TapNet, String> {
    open_tap_with(global, capture, TapNet::new)
}

/// [`open_tap`], with `new` making the stack from the configuration.
fn open_tap_with(
    global: &Global,
    capture: &Capture,
    new: impl FnOnce(Config, TapDevice) -> Result<TapNet, String>,
) -> Result<TapNet, String> {
    let name = match &global.link {
        None => "tap0".to_string(),
        Some(Link::Tap(name)) => name.clone(),
        Some(Link::Sim) => {
            return Err(
                "serving needs a real link: --link tap:NAME (the simulated segment has no peers)"
                    .into(),
            );
        }
    };
    let device = if global.tap_offload {
        if global.faults.is_some() {
            // The fault wrapper would roll once per 64 KiB segment, not per
            // frame on the wire: its percentages would mean something else.
            return Err(
                "--faults is not supported with --tap-offload (faults would hit whole 64 KiB segments, not frames): drop one of them"
                    .into(),
            );
        }
        TapDevice::open_offload(&name)
    } else {
        TapDevice::open(&name)
    }
    .map_err(|e| e.to_string())?;
    let ip = match global.ip {
        IpMode::Static(cidr) => cidr,
        // A placeholder the stack drops at once for the lease.
        IpMode::Dhcp => DEFAULT_IP,
    };
    let mut config = Config::new(global.mac, ip);
    config.gateway = global.gateway;
    match global.ip6 {
        Some(Ip6Mode::Static(cidr)) => config.ip6 = Some(cidr),
        Some(Ip6Mode::Slaac) => config.slaac = true,
        None => {}
    }
    let mut net = new(config, device)?;
    if let Some(faults) = global.faults {
        net.set_faults(faults);
    }
    if let Some(recorder) = &capture.recorder {
        net.trace(recorder, "layernet");
    }
    if global.ip == IpMode::Dhcp {
        let max = global.dhcp_max_lease.map(Duration::from_secs);
        net.stack().start_dhcp(max).map_err(|e| e.to_string())?;
    }
    if global.ip == IpMode::Dhcp || global.dns.is_some() {
        // The stack lives until the process exits; so does its query table.
        let queries: &'static mut DnsStorage = Box::leak(Box::default());
        net.stack()
            .start_dns(queries, global.dns)
            .map_err(|e| e.to_string())?;
    }
    Ok(net)
}

/// One line for a change of the DHCP lease.
pub(crate) fn dhcp_line(event: DhcpEvent) -> String {
    match event {
        DhcpEvent::Bound(l) => format!(
            "dhcp: bound {} via {}{}",
            l.address,
            l.server,
            lease_extras(l)
        ),
        DhcpEvent::Renewed(l) => format!("dhcp: renewed {} via {}", l.address, l.server),
        DhcpEvent::Lost => "dhcp: lease lost, no address; looking for a server".to_string(),
    }
}

fn lease_extras(l: Lease) -> String {
    let mut s = String::new();
    if let Some(r) = l.router {
        s += &format!(", router {r}");
    }
    if let Some(d) = l.dns {
        s += &format!(", dns {d}");
    }
    s
}

/// The file service as `serve` runs it. Its connection table is a value
/// of about half a megabyte: built in a frame of its own (never inlined
/// into `main`, whose frame every command shares) and boxed at once.
#[inline(never)]
fn file_server(
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

/// What `--writable`, `--auth` and `--auth-reads` ask of the file service.
fn file_policy(args: &ServeArgs) -> Result<Policy, String> {
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
fn log_line(line: &str, verbose: bool) {
    if let Some(access) = line.strip_prefix("access: ") {
        let (peer, rest) = access.split_once(' ').unwrap_or((access, ""));
        let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S");
        println!("{peer} [{now}] {rest}");
    } else if verbose {
        eprintln!("{line}");
    }
}

/// Connections each of echo, greeting and time-echo serves at once (their
/// servers are `XServer::<8>`).
const SMALL_CONNS: usize = 8;
/// Their accept queues (listening slots).
const SMALL_BACKLOG: usize = 4;
/// The file service's accept queue is as long as its connections, within
/// these bounds: a burst of new clients finds places to finish their
/// handshakes in, and every poll walks the slots.
const FILE_BACKLOG: std::ops::RangeInclusive<usize> = 8..=64;

/// The file service's accept queue for `file_conns` connections.
fn file_backlog(file_conns: usize) -> usize {
    file_conns.clamp(*FILE_BACKLOG.start(), *FILE_BACKLOG.end())
}

/// TCP sockets `serve` needs for `services`: each TCP service's
/// connections and accept queue, and a quarter more of the file service's
/// connections for those finishing their close (FIN-WAIT, LAST-ACK), so
/// that the accept queue re-arms at once while they do.
fn tcp_pool(services: &[ServiceName], file_conns: usize) -> usize {
    services
        .iter()
        .map(|s| match (s.0.transport, s.0.kind) {
            (Transport::Udp, _) => 0,
            (Transport::Tcp, Kind::Files) => file_conns + file_backlog(file_conns) + file_conns / 4,
            (Transport::Tcp, _) => SMALL_CONNS + SMALL_BACKLOG,
        })
        .sum::<usize>()
        .max(1)
}

/// How `serve` builds each service of the table: sized for a host, boxed.
fn build(
    kind: Kind,
    stack: &mut Stack<'static>,
    args: &ServeArgs,
    global: &Global,
    policy: Policy,
    file_conns: usize,
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
        Kind::TimeEcho => Box::new(
            TimeEchoServer::<_, SMALL_CONNS>::bind(stack, port, SMALL_BACKLOG, LocalClock)
                .map_err(|e| e.to_string())?,
        ),
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
    };
    Ok(service)
}

fn serve(global: &Global, args: ServeArgs) -> Result<(), client::Failure> {
    let file_conns = usize::from(args.max_connections);
    let sizes = Sizes {
        tcp_sockets: tcp_pool(&args.services, file_conns),
        tcp_buffer: args.socket_buffer,
    };
    // Bad --auth values are usage errors, found before the link is opened.
    let policy = file_policy(&args).map_err(client::Failure::Usage)?;
    let capture = Capture::new(global)?;
    let mut net = open_tap_with(global, &capture, |config, device| {
        TapNet::sized(config, device, sizes)
    })?;
    let ip = net.stack().ipv4_addr();
    let mut started: Vec<&services::Entry> = Vec::new();
    for &ServiceName(entry) in &args.services {
        let service = build(entry.kind, net.stack(), &args, global, policy, file_conns)?;
        net.serve(service);
        started.push(entry);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("signal handler: {e}"))?;
    }
    let dump = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&dump))
        .map_err(|e| format!("signal handler: {e}"))?;
    let listening = |ip: IpAddress| {
        for entry in &started {
            println!(
                "listening on {} ({})",
                EndpointText(IpEndpoint::new(ip, entry.port)),
                entry.name
            );
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
            println!("slaac: {gone} expired");
        }
        for new in now.iter().filter(|c| !v6.contains(c)) {
            if !new.address().is_unicast_link_local() && global.ip6 == Some(Ip6Mode::Slaac) {
                println!("slaac: {new}");
            }
            listening(new.address().into());
        }
        v6 = now;
    };
    v6_changes(&mut net, v6_listed);
    let verbose = global.verbose > 0 && !global.quiet;
    net.run_until(|net| {
        while let Some(event) = net.stack().take_dhcp_event() {
            println!("{}", dhcp_line(event));
            if let DhcpEvent::Bound(lease) = event {
                listening(lease.address.address().into());
                v6_listed = true;
            }
        }
        v6_changes(net, v6_listed);
        net.drain_logs(&mut |line| log_line(line, verbose));
        if dump.swap(false, Ordering::Relaxed) {
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

mod bench;
mod client;
