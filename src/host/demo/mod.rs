//! The demo: every classic pair over the simulated segment, verified byte
//! for byte, with an account of what each layer did.
//!
//! Layer: host (std).
//!
//! [`run`] does the work and returns the results without printing, so that
//! a test can run it under a counting allocator; [`print_report`] shows it.
//!
//! This file keeps the options, the network's setup and the run; each
//! exchange is a function in `exchanges.rs`, and the printed account is
//! `report.rs`'s.

use crate::Duration;
use crate::app::chat::{ChatPeer, ChatRoom};
use crate::app::clock::FixedEpoch;
use crate::app::echo::EchoServer;
use crate::app::files::{FileServer, Limits, Policy};
use crate::app::greeting::{DEFAULT_GREETING, GreetingServer};
use crate::app::ports;
use crate::app::services::{self, Kind};
use crate::app::time_echo::TimeEchoServer;
use crate::host::dirstore::DirStore;
use crate::host::sim::{HostId, SimNet, SimService};
use crate::link::segment::{Census, Faults, Stats};
use crate::net::ConfigError;
use crate::socket::Error;

use self::exchanges::{
    chat, closed_port, echo, files, greeting, ipv6, ping, server_endpoint, time_echo,
};

/// Demo settings.
#[derive(Debug, Clone, Copy)]
///
/// # Example
///
/// ```
/// use layernet::host::demo::Options;
/// use layernet::link::segment::Faults;
/// let rough = Options { faults: Faults { reorder_pct: 5, ..Faults::NONE }, seed: 3, only: None };
/// assert_eq!(Options::default().seed, 1);
/// assert_eq!(rough.faults.drop_pct, Options::default().faults.drop_pct);
/// ```
pub struct Options {
    /// The segment's fault model (the CLI sets only the drop rate; the
    /// link latency is always at least [`LINK_LATENCY`]).
    pub faults: Faults,
    /// Seed for every random choice.
    pub seed: u64,
    /// Run only the exchange of this name (one of [`EXCHANGES`]); `None`
    /// runs the default set.
    pub only: Option<&'static str>,
}

/// Every exchange the demo knows, in the order it runs them. The last two
/// run only when asked for by name: `closed-port` shows what a connection
/// to a port nobody listens on puts on the wire (an RST), and `ipv6` the
/// same services over IPv6 link-local addresses (neighbour discovery,
/// ICMPv6 echo, TCP echo).
///
/// # Example
///
/// ```
/// use layernet::host::demo::{EXCHANGES, Options, run};
/// // `layernet demo --only echo`
/// let only = EXCHANGES.iter().copied().find(|name| *name == "echo");
/// let report = run(Options { only, ..Options::default() })?;
/// assert_eq!(report.exchanges.len(), 1);
/// assert!(report.exchanges[0].name == "echo" && report.all_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const EXCHANGES: [&str; 8] = [
    "ping",
    Kind::Echo.entry().name,
    Kind::Greeting.entry().name,
    Kind::TimeEcho.entry().name,
    Kind::Chat.entry().name,
    Kind::Files.entry().name,
    "closed-port",
    "ipv6",
];

/// The exchanges that run only when named.
const ON_REQUEST: [&str; 2] = ["closed-port", "ipv6"];

/// The port `closed-port` connects to: nothing listens there.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{CLOSED_PORT, Options, run};
/// let refused = run(Options { only: Some("closed-port"), ..Options::default() })?;
/// let exchange = &refused.exchanges[0];
/// assert!(exchange.route.ends_with(&format!(":{CLOSED_PORT}")), "{}", exchange.route);
/// assert!(exchange.ok, "the refusal is the expected outcome: {}", exchange.detail);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CLOSED_PORT: u16 = 4444;

impl Options {
    /// `loss` percent of frames dropped, everything drawn from `seed`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::demo::Options;
    /// let o = Options::with_loss(10, 7); // `layernet demo --loss 10 --seed 7`
    /// assert_eq!((o.faults.drop_pct, o.faults.corrupt_pct, o.seed), (10, 0, 7));
    /// ```
    pub fn with_loss(loss: u8, seed: u64) -> Self {
        Options {
            faults: Faults::loss(loss),
            seed,
            only: None,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::with_loss(0, 1)
    }
}

/// How one exchange went.
#[derive(Debug, Clone)]
///
/// # Example
///
/// ```
/// use layernet::host::demo::{Options, run};
/// let report = run(Options::default())?;
/// let echo = report.exchanges.iter().find(|e| e.name == "echo").ok_or("no echo")?;
/// assert!(echo.ok && echo.bytes == 6000, "3000 bytes each way: {echo:?}");
/// assert_eq!((echo.census.tcp_syn, echo.census.tcp_rst), (1, 0), "one connection, no reset");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Exchange {
    /// Its name: ping, echo, greeting, time-echo, chat.
    pub name: &'static str,
    /// Who talked to whom.
    pub route: String,
    /// Verified byte for byte.
    pub ok: bool,
    /// Application bytes both ways.
    pub bytes: u64,
    /// Virtual time it took.
    pub elapsed: Duration,
    /// What the wire carried meanwhile.
    pub census: Census,
    /// What the segment did meanwhile.
    pub stats: Stats,
    /// The application's own account (or why it failed).
    pub detail: String,
    /// How the result was verified, for the table.
    pub check: String,
}

/// Everything the demo found.
#[derive(Debug, Clone)]
///
/// # Example
///
/// ```
/// use layernet::host::demo::{Options, run};
/// // A seed replays the run exactly: the same frames in the same order.
/// let (first, again) = (run(Options::with_loss(3, 11))?, run(Options::with_loss(3, 11))?);
/// assert_eq!(first.fingerprint, again.fingerprint);
/// assert_eq!(first.elapsed, again.elapsed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Report {
    /// The settings.
    pub options: Options,
    /// One entry per exchange, in order.
    pub exchanges: Vec<Exchange>,
    /// Segment totals.
    pub stats: Stats,
    /// SYNs the server's gate dropped.
    pub syn_dropped: u64,
    /// Hash of every frame offered to the segment, in order.
    pub fingerprint: u64,
    /// Total virtual time.
    pub elapsed: Duration,
}

impl Report {
    /// True if every exchange was verified.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::demo::{Options, run};
    /// let lossy = run(Options::with_loss(5, 2))?;
    /// assert!(lossy.stats.dropped > 0, "frames were lost");
    /// assert!(lossy.all_ok(), "and TCP made up for it");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_ok(&self) -> bool {
        self.exchanges.iter().all(|e| e.ok)
    }
}

const SERVER: HostId = 0;
const CLIENT_A: HostId = 1;
const CLIENT_B: HostId = 2;
/// Time given to an exchange's FIN/ACK exchange before its figures are
/// taken (its virtual time includes it).
const CLOSE_GRACE: Duration = Duration::from_millis(20);

/// One-way latency of the demo's segment: a small LAN's.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{LINK_LATENCY, Options, setup};
/// let s = setup(Options::default())?; // asks for no delay at all
/// assert_eq!(s.net.faults().delay, LINK_LATENCY);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const LINK_LATENCY: Duration = Duration::from_millis(1);
/// answered after the idle flush).
///
/// # Example
///
/// ```
/// use layernet::app::{clock::FixedEpoch, time_echo::{TimeEchoClient, TimeEchoServer, is_reply_to}};
/// use layernet::host::{demo::TIME_ECHO_LINES, sim::{SimNet, endpoint}};
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let server = TimeEchoServer::<_, 1>::bind(net.stack(a), 21566, 1, FixedEpoch::SIMULATION)?;
/// net.serve(a, Box::new(server));
/// let mut client = TimeEchoClient::<3, 64>::new(endpoint(a, 21566), &TIME_ECHO_LINES);
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert!(is_reply_to(&client.replies()[1], b"layernet time echo", true), "no \\r");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const TIME_ECHO_LINES: [&[u8]; 3] = [b"hello\n", b"layernet time echo\r\n", b"no newline"];

/// A directory removed when dropped: where the demo's file server keeps
/// its files.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{Options, setup};
/// let s = setup(Options::default())?;
/// let dir = s.files_dir.path().to_path_buf();
/// assert!(dir.is_dir());
/// drop(s);
/// assert!(!dir.exists(), "removed with the setup");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(seed: u64) -> std::io::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "layernet-demo-{}-{seed}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&path)?;
        Ok(TempDir(path))
    }

    /// The directory.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::demo::{Options, setup};
    /// let s = setup(Options::with_loss(0, 77))?;
    /// assert!(s.files_dir.path().starts_with(std::env::temp_dir()));
    /// assert_eq!(std::fs::read_dir(s.files_dir.path())?.count(), 0, "empty before the run");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Size of the file the demo uploads and downloads.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{DEMO_FILE_LEN, demo_file};
/// assert_eq!(demo_file(5).len(), DEMO_FILE_LEN); // one MiB
/// ```
pub const DEMO_FILE_LEN: usize = 1 << 20;

/// The demo file's content, drawn from the seed.
///
/// # Example
///
/// ```
/// use layernet::host::demo::demo_file;
/// assert_eq!(demo_file(1)[..64], demo_file(1)[..64]);
/// assert_ne!(demo_file(1)[..64], demo_file(2)[..64]);
/// ```
pub fn demo_file(seed: u64) -> Vec<u8> {
    let mut rng = crate::link::rng::Rng::new(seed ^ 0x66_696c_6573);
    let mut v = Vec::with_capacity(DEMO_FILE_LEN);
    while v.len() < DEMO_FILE_LEN {
        v.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    v
}

/// The ready network: server services on host 0, two idle client hosts.
///
/// # Example
/// An exchange of one's own on the demo network, beside the demo's:
/// ```
/// use layernet::app::{echo::EchoClient, ports};
/// use layernet::host::{demo::{Options, setup}, sim::endpoint};
/// let mut s = setup(Options::default())?;
/// let mut client = EchoClient::<16>::new(endpoint(0, ports::ECHO), b"mine, not the demo's");
/// assert!(s.net.run_client(2, &mut client, layernet::Duration::from_secs(5)));
/// assert_eq!(client.received(), b"mine, not the de");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Setup {
    /// The network.
    pub net: SimNet,
    /// The chat room, kept outside the network so its counters can be read.
    pub room: ChatRoom<8>,
    /// Chat peer on host 1.
    pub peer_a: ChatPeer<8>,
    /// Chat peer on host 2.
    pub peer_b: ChatPeer<8>,
    /// The file server's directory.
    pub files_dir: TempDir,
    /// The seed, for the demo file.
    seed: u64,
}

/// How the demo builds each service of the table on the server host: 4
/// connections each. The chat room stays with the caller (its counters are
/// read at the end), so it lands in `room` instead of on the network; the
/// file service takes `store`.
fn demo_server(
    entry: &services::Entry,
    s: &mut crate::net::Stack<'_>,
    store: &mut Option<DirStore>,
    room: &mut Option<ChatRoom<8>>,
) -> Result<Option<Box<SimService>>, Error> {
    let port = entry.port;
    Ok(Some(match entry.kind {
        Kind::Echo => Box::new(EchoServer::<4>::bind(s, port, 4)?),
        Kind::Greeting => Box::new(GreetingServer::<4>::bind(s, port, 4, DEFAULT_GREETING)?),
        Kind::TimeEcho => Box::new(TimeEchoServer::<_, 4>::bind(
            s,
            port,
            4,
            FixedEpoch::SIMULATION,
        )?),
        Kind::Files => {
            let store = store.take().ok_or(Error::InvalidInput)?;
            Box::new(
                FileServer::<_, 4>::bind(s, port, 4, store, Limits::default())?
                    .with_policy(Policy::WRITABLE),
            )
        }
        Kind::Chat => {
            *room = Some(ChatRoom::<8>::bind(s, port)?);
            return Ok(None);
        }
        // The demo has no iperf3 client to exchange with (the real one
        // runs in tests/tap/iperf3.sh).
        Kind::Iperf3 => return Ok(None),
    }))
}

/// Build the demo network (allocates; the exchanges afterwards do not).
///
/// # Errors
/// A one-line message when a host cannot be added, the temporary directory
/// cannot be made or opened as a store, or a server cannot bind its port.
///
/// # Example
/// ```
/// use layernet::host::demo::{Options, setup};
/// let mut s = setup(Options::default())?;
/// assert_eq!(s.net.hosts(), 3);
/// assert_eq!(s.net.stack(0).open_tcp_sockets(), 0, "listening only, nobody connected");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn setup(options: Options) -> Result<Setup, String> {
    let faults = Faults {
        delay: options.faults.delay.max(LINK_LATENCY),
        ..options.faults
    };
    let mut net = SimNet::new(options.seed, faults);
    for _ in 0..3 {
        net.add_host().map_err(|e: ConfigError| e.to_string())?;
    }
    let files_dir = TempDir::new(options.seed).map_err(|e| format!("temporary directory: {e}"))?;
    // Versions from 1, not from the clock: the files' ETags are in the
    // frames, which are the same in every run of a seed.
    let store = DirStore::open(files_dir.path())
        .map_err(|e| format!("file store: {e}"))?
        .with_first_version(1);
    let mut store = Some(store);
    let mut room = None;
    for entry in &services::ALL {
        let server = demo_server(entry, net.stack(SERVER), &mut store, &mut room)
            .map_err(|e| e.to_string())?;
        if let Some(server) = server {
            net.serve(SERVER, server);
        }
    }
    let room = room.ok_or("the demo has no chat room")?;
    let room_ep = server_endpoint(&mut net, ports::CHAT);
    let peer = |net: &mut SimNet, host| {
        ChatPeer::<8>::bind(net.stack(host), ports::CHAT, room_ep).map_err(|e| e.to_string())
    };
    let peer_a = peer(&mut net, CLIENT_A)?;
    let peer_b = peer(&mut net, CLIENT_B)?;
    Ok(Setup {
        net,
        room,
        peer_a,
        peer_b,
        files_dir,
        seed: options.seed,
    })
}

/// One exchange, run on a ready network.
type ExchangeFn = fn(&mut Setup) -> Exchange;

/// Run every exchange on a ready network.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{Options, run_exchanges, setup};
/// let options = Options::with_loss(0, 4);
/// let mut s = setup(options)?;
/// let report = run_exchanges(&mut s, options);
/// let names: Vec<_> = report.exchanges.iter().map(|e| e.name).collect();
/// assert_eq!(names, ["ping", "echo", "greeting", "time-echo", "chat", "files"]);
/// assert!(s.room.received() > 0, "the room is the caller's to read");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_exchanges(setup: &mut Setup, options: Options) -> Report {
    let start = setup.net.now();
    let runs: [(&str, ExchangeFn); 8] = [
        ("ping", ping),
        (Kind::Echo.entry().name, echo),
        (Kind::Greeting.entry().name, greeting),
        (Kind::TimeEcho.entry().name, time_echo),
        (Kind::Chat.entry().name, chat),
        (Kind::Files.entry().name, files),
        ("closed-port", closed_port),
        ("ipv6", ipv6),
    ];
    let mut exchanges = Vec::new();
    for (name, run) in runs {
        let wanted = match options.only {
            Some(only) => only == name,
            None => !ON_REQUEST.contains(&name),
        };
        if wanted {
            exchanges.push(run(setup));
        }
    }
    // Let the last FINs and TIME-WAITs play out so the totals are complete.
    setup.net.run_for(Duration::from_secs(1));
    let net = &mut setup.net;
    let stats = net.stats();
    let fingerprint = net.segment().fingerprint();
    Report {
        options,
        exchanges,
        stats,
        fingerprint,
        syn_dropped: net.stack(SERVER).counters().syn_dropped_busy,
        elapsed: net.now() - start,
    }
}

/// Build the network and run every exchange.
///
/// # Errors
/// Those of [`setup`]; a failed exchange is not an error but a
/// [`Report`] with [`Report::all_ok`] false.
///
/// # Example
/// ```
/// use layernet::host::demo::{Options, run};
/// let report = run(Options::default())?;
/// assert!(report.all_ok() && report.syn_dropped == 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run(options: Options) -> Result<Report, String> {
    let mut s = setup(options)?;
    Ok(run_exchanges(&mut s, options))
}

mod exchanges;
mod report;

pub use self::report::{format_report, print_report};
