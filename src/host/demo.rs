//! The demo: every classic pair over the simulated segment, verified byte
//! for byte, with an account of what each layer did.
//!
//! Layer: host (std).
//!
//! [`run`] does the work and returns the results without printing, so that
//! a test can run it under a counting allocator; [`print_report`] shows it.

use std::fmt::Write as _;

use crate::app::chat::{ChatPeer, ChatRoom};
use crate::app::clock::FixedEpoch;
use crate::app::echo::{EchoClient, EchoServer};
use crate::app::files::{FileServer, Limits, Policy};
use crate::app::greeting::{DEFAULT_GREETING, GreetingClient, GreetingServer};
use crate::app::ping::Pinger;
use crate::app::services::{self, Kind};
use crate::app::time_echo::{PREFIX_LEN, TimeEchoClient, TimeEchoServer};
use crate::app::{Outcome, ports};
use crate::host::blocking::Net;
use crate::host::dirstore::DirStore;
use crate::host::files as host_files;
use crate::host::sim::{HostId, SimNet, SimService};
use crate::link::segment::{Census, Faults, Stats};
use crate::net::ConfigError;
use crate::socket::{Error, TcpStream};
use crate::{Duration, Instant, IpAddress, IpEndpoint};

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
    let store = DirStore::open(files_dir.path()).map_err(|e| format!("file store: {e}"))?;
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

fn server_endpoint(net: &mut SimNet, port: u16) -> IpEndpoint {
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

fn closed_port(s: &mut Setup) -> Exchange {
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
fn ipv6(s: &mut Setup) -> Exchange {
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

fn ping(s: &mut Setup) -> Exchange {
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

fn echo(s: &mut Setup) -> Exchange {
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

fn greeting(s: &mut Setup) -> Exchange {
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

fn time_echo(s: &mut Setup) -> Exchange {
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

fn chat(s: &mut Setup) -> Exchange {
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
fn files(s: &mut Setup) -> Exchange {
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

/// The demo's printed account.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{Options, format_report, run};
/// let text = format_report(&run(Options::with_loss(2, 8))?);
/// assert!(text.starts_with("layernet demo: simulated Ethernet segment, seed 8, frame loss 2%"));
/// assert!(text.trim_end().ends_with("all exchanges verified byte for byte"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn format_report(r: &Report) -> String {
    let mut out = String::new();
    let o = r.options;
    let f = o.faults;
    let _ = write!(
        out,
        "layernet demo: simulated Ethernet segment, seed {}, frame loss {}%",
        o.seed, f.drop_pct
    );
    if f.corrupt_pct + f.duplicate_pct + f.reorder_pct > 0 {
        let _ = write!(
            out,
            ", corrupt {}%, duplicate {}%, reorder {}%",
            f.corrupt_pct, f.duplicate_pct, f.reorder_pct
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  192.168.69.1 02:00:00:00:00:01 server: echo :7, greeting :1234, time-echo :21566, chat :6868, files :7878"
    );
    let _ = writeln!(out, "  192.168.69.2 02:00:00:00:00:02 client A");
    let _ = writeln!(out, "  192.168.69.3 02:00:00:00:00:03 client B");
    for e in &r.exchanges {
        let c = &e.census;
        let _ = writeln!(out, "\n== {}: {} ==", e.name, e.route);
        let arp = if c.nd_solicits + c.nd_adverts > 0 {
            format!(
                "NDP: {} neighbour solicitations, {} advertisements",
                c.nd_solicits, c.nd_adverts
            )
        } else if c.arp_requests + c.arp_replies == 0 {
            "ARP: nothing to resolve (cache already filled)".to_string()
        } else {
            format!("ARP: {} who-has, {} is-at", c.arp_requests, c.arp_replies)
        };
        let _ = writeln!(
            out,
            "  L2  {}; {} frames on the wire, {} lost",
            arp, e.stats.offered, e.stats.dropped
        );
        if c.icmp_echo_requests + c.icmp_echo_replies > 0 {
            let icmp = if e.name == "ipv6" { "ICMPv6" } else { "ICMP" };
            let _ = writeln!(
                out,
                "  L3  {icmp}: {} echo requests, {} echo replies",
                c.icmp_echo_requests, c.icmp_echo_replies
            );
        }
        if c.tcp_segments > 0 {
            let _ = writeln!(
                out,
                "  L4  TCP: handshake {} SYN / {} SYN-ACK; {} segments carrying {} payload bytes; close {} FIN; {} RST",
                c.tcp_syn, c.tcp_syn_ack, c.tcp_segments, c.tcp_payload_bytes, c.tcp_fin, c.tcp_rst
            );
        }
        if c.udp_datagrams > 0 {
            let _ = writeln!(
                out,
                "  L4  UDP: {} datagrams carrying {} payload bytes",
                c.udp_datagrams, c.udp_payload_bytes
            );
        }
        let _ = writeln!(out, "  L7  {}", e.detail);
    }
    let _ = writeln!(
        out,
        "\n{:<10} {:<6} {:>8} {:>14}  verified",
        "exchange", "result", "bytes", "virtual time"
    );
    for e in &r.exchanges {
        let _ = writeln!(
            out,
            "{:<10} {:<6} {:>8} {:>11} ms  {}",
            e.name,
            if e.ok { "OK" } else { "FAIL" },
            e.bytes,
            e.elapsed.total_millis(),
            e.check
        );
    }
    let s = &r.stats;
    let _ = writeln!(
        out,
        "\nsegment: {} frames offered, {} delivered, {} dropped, {} corrupted, {} duplicated, {} reordered; {} ms virtual",
        s.offered,
        s.delivered,
        s.dropped,
        s.corrupted,
        s.duplicated,
        s.reordered,
        r.elapsed.total_millis()
    );
    let _ = writeln!(
        out,
        "{}",
        if r.all_ok() {
            "all exchanges verified byte for byte"
        } else {
            "SOME EXCHANGES FAILED"
        }
    );
    out
}

/// Print the report to standard output.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{Options, print_report, run};
/// let report = run(Options::with_loss(1, 6))?;
/// print_report(&report); // what `layernet demo --loss 1 --seed 6` shows
/// assert!(report.all_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn print_report(r: &Report) {
    print!("{}", format_report(r));
}
