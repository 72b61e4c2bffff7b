//! The command line's grammar: the commands, their options and the
//! parsers of option values, as clap derives them. Nothing here runs a
//! command.
//!
//! Layer: host (std), the binary. Depends on clap and on the library's
//! types that options name (addresses, faults, the table of services).

use clap::{Args, Parser, Subcommand, ValueEnum};
use layernet::app::ports;
use layernet::app::services;
use layernet::host::demo;
use layernet::host::diagram::Picture;
use layernet::host::diagram::filter::Filter;
use layernet::link::segment::Faults;
use layernet::{Duration, EthernetAddress, IpAddress, Ipv4Address, Ipv4Cidr, Ipv6Cidr};

use crate::bench;
use crate::client;

/// layernet: a userspace TCP/IP stack on smoltcp, with the classic socket
/// programs (echo, greeting, time-stamped echo, UDP chat, file service) on top.
#[derive(Parser, Debug)]
#[command(name = "layernet", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Options every command takes, before or after its name.
#[derive(Args, Debug)]
pub(crate) struct Global {
    /// The link: `sim` (a simulated segment) or `tap:NAME` (a Linux TAP
    /// device). Default tap:tap0, except for `demo`, which is simulated.
    #[arg(long, global = true, value_parser = parse_link)]
    pub(crate) link: Option<Link>,
    /// The stack's IPv4 address and prefix, or `dhcp` to take them (and
    /// the default route and DNS server) from a DHCP server. Clients
    /// (every command but serve, demo and bench) default to
    /// 192.168.69.2/24, so that they never take a server's address.
    #[arg(long, global = true, default_value = "192.168.69.1/24", value_parser = parse_ip_mode)]
    pub(crate) ip: IpMode,
    /// IPv6 beside the link-local address every stack derives from its
    /// MAC: a static `ADDR/PREFIX` (e.g. fd00::1/64), or `slaac` to take
    /// an address and default route from router advertisements.
    #[arg(long, global = true, value_name = "ADDR/PREFIX|slaac", value_parser = parse_ip6_mode)]
    pub(crate) ip6: Option<Ip6Mode>,
    /// With `--ip dhcp`: treat leases as at most this many seconds long
    /// (renewal at half of it), to see renewals and expiry sooner.
    #[arg(long, global = true, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(4..=86400))]
    pub(crate) dhcp_max_lease: Option<u64>,
    /// The DNS server clients ask for host names (default: the one the
    /// DHCP lease names).
    #[arg(long, global = true, value_name = "ADDR")]
    pub(crate) dns: Option<Ipv4Address>,
    /// A static host name, as a line of /etc/hosts: NAME=ADDR (repeatable);
    /// asked before DNS.
    #[arg(long = "host", global = true, value_name = "NAME=ADDR", value_parser = parse_host_entry)]
    pub(crate) hosts: Vec<(String, IpAddress)>,
    /// The stack's MAC address (unicast). Clients default to
    /// 02:00:00:00:00:02.
    #[arg(long, global = true, default_value = "02:00:00:00:00:01", value_parser = parse_mac)]
    pub(crate) mac: EthernetAddress,
    /// Default route.
    #[arg(long, global = true)]
    pub(crate) gateway: Option<Ipv4Address>,
    /// More output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Trace every frame layer by layer, and the stack's events between
    /// frames, on stderr; `--trace=brief` prints one line per frame.
    #[arg(long, global = true, value_enum, num_args = 0..=1, require_equals = true,
          default_missing_value = "full", value_name = "STYLE")]
    pub(crate) trace: Option<TraceStyle>,
    /// Show only the frames (and the events after them) that pass SPEC,
    /// as `diagram --filter` takes it: host=IP,port=N,service=NAME,
    /// conn=N|IP:PORT-IP:PORT,frames=A..B (any subset).
    #[arg(long, global = true, value_name = "SPEC", requires = "trace")]
    pub(crate) trace_filter: Option<Filter>,
    /// Write every frame, both ways, to FILE (`-`: stdout, for `serve` and
    /// `demo`, whose own lines then go to stderr) for `tshark -r` and
    /// Wireshark, written out after every round of polls and on SIGUSR1;
    /// on the simulated segment, all hosts' frames with their virtual
    /// timestamps. Classic pcap; pcapng with faults (`--faults`, the
    /// demo's `--loss`), each frame the wire lost or changed marked with a
    /// comment.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) pcap: Option<std::path::PathBuf>,
    /// Print the per-layer counters on stderr at exit (`serve`: also on
    /// SIGUSR1). `--trace` implies it.
    #[arg(long, global = true)]
    pub(crate) counters: bool,
    /// Faults on the link, both ways, as on the simulated segment:
    /// `drop=5,corrupt=1,dup=2,reorder=5,delay=2ms` (percentages; any
    /// subset). On TAP a seeded wrapper between the kernel and the stack;
    /// for the demo, the same wrapper on each simulated host's port.
    #[arg(long, global = true, value_parser = parse_faults, value_name = "SPEC")]
    pub(crate) faults: Option<Faults>,
    /// Attach to the TAP with virtio-net headers and the kernel's
    /// checksum and TCP segmentation offloads: TCP moves in segments of up
    /// to 64 KiB, one syscall each, instead of one per frame.
    #[arg(long, global = true)]
    pub(crate) tap_offload: bool,
}

/// `drop=5,corrupt=1,dup=2,reorder=5,delay=2ms`: each part optional.
pub(crate) fn parse_faults(s: &str) -> Result<Faults, String> {
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
pub(crate) enum TraceStyle {
    /// A header line and one line per layer.
    Full,
    /// One line per frame.
    Brief,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Link {
    Sim,
    Tap(String),
}

pub(crate) fn parse_link(s: &str) -> Result<Link, String> {
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

pub(crate) fn parse_ip_mode(s: &str) -> Result<IpMode, String> {
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

pub(crate) fn parse_ip6_mode(s: &str) -> Result<Ip6Mode, String> {
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
pub(crate) fn parse_host_entry(s: &str) -> Result<(String, IpAddress), String> {
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

pub(crate) fn parse_cidr(s: &str) -> Result<Ipv4Cidr, String> {
    s.parse::<Ipv4Cidr>()
        .map_err(|_| "expected an IPv4 address with a prefix, like 192.168.69.1/24".into())
}

/// Seconds: finite, not negative, at most an hour.
pub(crate) fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err("expected seconds from 0 to 3600".into()),
    }
}

pub(crate) fn parse_mac(s: &str) -> Result<EthernetAddress, String> {
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
pub(crate) enum Command {
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
        /// IP[:PORT]/NAME (port 7878 by default; https://IP[:PORT]/NAME is
        /// HTTPS, port 7443); IPv6 as [ADDR]:PORT/NAME;
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
        /// For https:// URLs: trust the CA (or self-signed certificate)
        /// in this PEM file.
        #[arg(long, value_name = "FILE")]
        cacert: Option<std::path::PathBuf>,
        /// For https:// URLs: trust the certificate with this SHA-256
        /// fingerprint (64 hex digits, colons allowed), whoever signed it.
        #[arg(long, value_name = "SHA256HEX", conflicts_with = "cacert")]
        fingerprint: Option<String>,
    },
    /// Upload FILE to IP[:PORT][/NAME] (NAME defaults to FILE's name).
    Put {
        /// The file to send.
        file: std::path::PathBuf,
        /// IP[:PORT][/NAME] (port 7878 by default; https:// for HTTPS on
        /// 7443).
        url: String,
        /// Send HTTP Basic credentials (for `serve --auth USER:PASS`).
        #[arg(long, value_name = "USER:PASS")]
        user: Option<String>,
        /// For https:// URLs: trust the CA (or self-signed certificate)
        /// in this PEM file.
        #[arg(long, value_name = "FILE")]
        cacert: Option<std::path::PathBuf>,
        /// For https:// URLs: trust the certificate with this SHA-256
        /// fingerprint (64 hex digits, colons allowed), whoever signed it.
        #[arg(long, value_name = "SHA256HEX", conflicts_with = "cacert")]
        fingerprint: Option<String>,
    },
    /// Measure: bulk TCP over the simulated segment beside bare smoltcp,
    /// greeting connections per second, memory per component, heap
    /// allocations after setup. Needs no privileges (the TAP figures are
    /// scripts/bench-tap.sh's).
    Bench(BenchArgs),
    /// Draw a capture file (classic pcap or pcapng, from `--pcap`,
    /// tcpdump, tshark or Wireshark) as a standalone SVG picture.
    Diagram(DiagramArgs),
    /// iperf3 client: measure against any iperf3 server (`iperf3 -s`, or
    /// `serve --services iperf3`); prints iperf3's sender and receiver
    /// summary lines, or with --json iperf3's `end` figures.
    Iperf3(Iperf3Args),
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
pub(crate) struct DemoArgs {
    /// Run only this exchange (`closed-port`, not in the default run,
    /// connects to a port nobody listens on).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(demo::EXCHANGES))]
    pub(crate) only: Option<String>,
    /// Percentage of frames the simulated segment loses (0-100).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub(crate) loss: u8,
    /// Seed of every random choice (faults, sequence numbers, ports): the
    /// same seed replays the same frames.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

/// `layernet diagram PICTURE INPUT [-o OUTPUT] [--filter SPEC]`.
#[derive(Args, Debug)]
pub(crate) struct DiagramArgs {
    /// ladder: one column per host, one arrow per frame; anatomy: the
    /// first frame that passes the filter, layer by layer; states: the TCP
    /// state diagram with the first connection's path; plot: the
    /// time-sequence graph of the busiest connection.
    #[arg(value_enum)]
    pub(crate) picture: PictureName,
    /// The capture file (`-`: standard input).
    pub(crate) input: std::path::PathBuf,
    /// Where to write the SVG (default, or `-`: standard output). Written
    /// whole or not at all.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<std::path::PathBuf>,
    /// Only the frames that pass SPEC: host=IP,port=N,service=NAME,
    /// conn=N|IP:PORT-IP:PORT,frames=A..B (any subset, all must hold;
    /// service names are those `serve --services` takes; conn=N is the
    /// Nth TCP connection in the file; frames counts from 1, both ends
    /// included).
    #[arg(long, value_name = "SPEC", default_value = "")]
    pub(crate) filter: Filter,
}

/// The pictures `layernet diagram` draws.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PictureName {
    /// One column per host, one arrow per frame, time running down.
    Ladder,
    /// One frame as nested boxes, with offsets, values and hex.
    Anatomy,
    /// RFC 793's state diagram with one connection's transitions.
    States,
    /// Sequence numbers against time: segments, ACKs, window.
    Plot,
}

impl From<PictureName> for Picture {
    fn from(p: PictureName) -> Picture {
        match p {
            PictureName::Ladder => Picture::Ladder,
            PictureName::Anatomy => Picture::Anatomy,
            PictureName::States => Picture::States,
            PictureName::Plot => Picture::Plot,
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Runs of each side of every comparison; each figure is their median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(crate) runs: u16,
    /// Smaller sizes (1 MiB transfers, 48 connections), for tests.
    #[arg(long)]
    pub(crate) quick: bool,
    /// One JSON object per figure per line instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Only this group of figures.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(bench::GROUPS))]
    pub(crate) only: Option<String>,
    /// Measure nothing: serve the socket-level sink (port 1235) and source
    /// (port 1234) on the TAP link until SIGINT/SIGTERM, for
    /// scripts/bench-tap.sh's Linux client.
    #[arg(long)]
    pub(crate) sink_source: bool,
    /// The sink and source's socket buffers, each way: `host` is the host
    /// profile's 8 KiB; `64k` is smoltcp's `benchmark` example's 65,535
    /// bytes; any other SIZE (`128k`, `1m`, bytes) is taken as it is, as
    /// `serve --socket-buffer` takes it.
    #[arg(long, default_value = "host", value_name = "host|64k|SIZE",
          value_parser = parse_bench_buffers, requires = "sink_source")]
    pub(crate) socket_buffers: BenchBuffers,
    /// Only this bulk transfer (scripts/bench-cpu.sh counts each apart).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(
        bench::TRANSFERS.map(|(name, _, _)| name)))]
    pub(crate) transfer: Option<String>,
}

/// The sink and source's socket memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BenchBuffers {
    /// The host profile's (as `TapNet::new`).
    Host,
    /// Each TCP socket's buffer, each way.
    Bytes(usize),
}

pub(crate) fn parse_bench_buffers(s: &str) -> Result<BenchBuffers, String> {
    match s {
        "host" => Ok(BenchBuffers::Host),
        // smoltcp's `benchmark` example's size, so that the two compare.
        "64k" => Ok(BenchBuffers::Bytes(65535)),
        _ => parse_socket_buffer(s).map(BenchBuffers::Bytes),
    }
}

/// Smallest and largest `--socket-buffer`: below 4 KiB a window holds two
/// full segments; above 16 MiB one connection could pin 32 MiB.
pub(crate) const SOCKET_BUFFER_RANGE: std::ops::RangeInclusive<usize> = 4 << 10..=16 << 20;

/// A size such as `256k`, `1m` or `65536` (bytes); k and m are 1024 and
/// 1024 * 1024, in either case, and may be followed by `ib` or `b`.
pub(crate) fn parse_size(s: &str) -> Option<usize> {
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
pub(crate) fn parse_socket_buffer(s: &str) -> Result<usize, String> {
    match parse_size(s) {
        Some(n) if SOCKET_BUFFER_RANGE.contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: expected a size from 4k to 16m bytes each way, like 256k or 1m"
        )),
    }
}
/// A service named on the command line: a row of the library's table
/// ([`services::ALL`]), so the names and ports are the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServiceName(pub(crate) &'static services::Entry);

/// The services `serve` runs unless told, in the order it starts them and
/// prints their `listening on` lines; `--help` lists the names in this
/// order too.
pub(crate) const DEFAULT_SERVICES: &str = "echo,greeting,time-echo,files,chat";

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
pub(crate) struct ServeArgs {
    /// Which services to run (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = DEFAULT_SERVICES
    )]
    pub(crate) services: Vec<ServiceName>,
    /// Directory the file service serves (default: the current directory).
    #[arg(long)]
    pub(crate) root: Option<std::path::PathBuf>,
    /// Largest upload accepted, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    pub(crate) max_upload: u64,
    /// Let anyone upload and delete files (by default the file service is
    /// read-only: PUT and DELETE get 403).
    #[arg(long, conflicts_with = "auth")]
    pub(crate) writable: bool,
    /// Let USER upload and delete with HTTP Basic credentials: USER:PASS,
    /// or USER:sha256:HEX with the password's SHA-256 (repeatable).
    #[arg(long, value_name = "USER:PASS")]
    pub(crate) auth: Vec<String>,
    /// With --auth: reads (GET, HEAD, the listing) need credentials too.
    #[arg(long, requires = "auth")]
    pub(crate) auth_reads: bool,
    /// What the greeting service sends.
    #[arg(long, default_value = "connect successfully!\r\n")]
    pub(crate) greeting: String,
    /// Seconds a file-service request may take to arrive (then 408), and a
    /// kept-alive connection may stay quiet (then it is closed).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub(crate) idle_timeout: u64,
    /// Connections the file service serves at once. Its accept queue holds
    /// as many more (at least 8, at most 64) that wait for a place; past
    /// those a new client's SYN goes unanswered until one frees (its TCP
    /// retries).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=layernet::host::SERVED_FILE_CONNECTIONS as i64))]
    pub(crate) max_connections: u16,
    /// Each TCP socket's buffer, each way (`256k`, `1m`, or bytes; 4k to
    /// 16m): the receive buffer is the largest window offered (scaled past
    /// 64 KiB). Memory is taken as it is used.
    #[arg(long, default_value = "256k", value_name = "SIZE", value_parser = parse_socket_buffer)]
    pub(crate) socket_buffer: usize,
    /// Seconds given to open connections to close after SIGINT/SIGTERM.
    #[arg(long, default_value_t = 1.0, value_parser = parse_seconds)]
    pub(crate) grace: f64,
    /// HTTPS on 7443 too (beside HTTP on 7878): this certificate chain,
    /// PEM, leaf first.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub(crate) tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert, PEM.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<std::path::PathBuf>,
    /// HTTPS on 7443 too, with a certificate made at start-up for the
    /// stack's addresses and layernet.local: its SHA-256 fingerprint is
    /// printed, the certificate written where --tls-cert-out says.
    #[arg(long)]
    pub(crate) tls_self_signed: bool,
    /// Where --tls-self-signed writes its certificate, for clients to
    /// trust (default: beside the root, ROOT-cert.pem).
    #[arg(long, value_name = "FILE", requires = "tls_self_signed")]
    pub(crate) tls_cert_out: Option<std::path::PathBuf>,
    /// HTTPS only: no plain HTTP on 7878 (needs --tls-cert or
    /// --tls-self-signed).
    #[arg(long)]
    pub(crate) tls_only: bool,
    /// Ask this SNTP server (IPv4 ADDR or ADDR:PORT, port 123 by default)
    /// for UTC, and stamp the time-echo service's lines with it instead of
    /// this machine's clock.
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_ntp_server)]
    pub(crate) ntp: Option<std::net::SocketAddrV4>,
    /// The name mDNS answers for, as NAME.local (letters, digits and
    /// hyphens); the running services are advertised by DNS-SD under it.
    /// Another host with the name makes serve take NAME-2 (and says so).
    #[arg(long, default_value = layernet::app::mdns::DEFAULT_HOSTNAME, value_name = "NAME", value_parser = parse_hostname)]
    pub(crate) hostname: String,
}

/// `--hostname NAME`: what the mDNS responder takes.
pub(crate) fn parse_hostname(s: &str) -> Result<String, String> {
    layernet::app::mdns::Responder::<0>::new(s)
        .map(|_| s.to_owned())
        .map_err(|e| e.to_string())
}

/// `--ntp ADDR[:PORT]`: an IPv4 address, port 123 unless given.
pub(crate) fn parse_ntp_server(s: &str) -> Result<std::net::SocketAddrV4, String> {
    if let Ok(addr) = s.parse::<std::net::Ipv4Addr>() {
        return Ok(std::net::SocketAddrV4::new(
            addr,
            layernet::app::sntp::NTP_PORT,
        ));
    }
    s.parse::<std::net::SocketAddrV4>()
        .map_err(|_| format!("'{s}' is not an IPv4 address or ADDR:PORT"))
}

impl DemoArgs {
    pub(crate) fn default_run() -> Self {
        DemoArgs {
            only: None,
            loss: 0,
            seed: 1,
        }
    }
}

/// `layernet iperf3`: iperf3's own client flags, the few it needs.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Iperf3Args {
    /// The server (an address or a host name).
    #[arg(short = 'c', long = "client", value_name = "HOST")]
    pub(crate) host: String,
    /// The server's port.
    #[arg(short, long, default_value_t = layernet::app::ports::IPERF3)]
    pub(crate) port: u16,
    /// Seconds to send for.
    #[arg(short, long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub(crate) time: u32,
    /// Reverse: the server sends.
    #[arg(short = 'R', long)]
    pub(crate) reverse: bool,
    /// Parallel streams.
    #[arg(short = 'P', long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub(crate) parallel: u16,
    /// UDP instead of TCP.
    #[arg(short, long)]
    pub(crate) udp: bool,
    /// Bits per second per stream, with K, M or G (UDP's default 1M; TCP:
    /// no limit).
    #[arg(short = 'b', long = "bitrate", value_parser = parse_rate, value_name = "RATE")]
    pub(crate) rate: Option<u64>,
    /// Bytes per write (per datagram with UDP: 1460 by default, at most
    /// 1472).
    #[arg(short = 'l', long = "length", value_parser = clap::value_parser!(u32).range(16..=131072))]
    pub(crate) length: Option<u32>,
    /// Print iperf3's JSON (the `start` and `end` figures) instead.
    #[arg(short = 'J', long)]
    pub(crate) json: bool,
}

/// `10M`, `1.5G`, `800K`, `1000000`: bits per second (as iperf3's `-b`,
/// in powers of 1000).
pub(crate) fn parse_rate(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1e3),
        Some((i, 'm' | 'M')) => (&s[..i], 1e6),
        Some((i, 'g' | 'G')) => (&s[..i], 1e9),
        _ => (s, 1.0),
    };
    match num.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * mult < 1e12 => Ok((n * mult) as u64),
        _ => Err(format!("{s:?}: give bits per second, as 10M, 800K or 1G")),
    }
}
