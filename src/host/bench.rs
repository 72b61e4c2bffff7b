//! `layernet bench`: the figures of issue 9 that need no privileges.
//!
//! Layer: host (std). Uses the core stack, the simulated segment, the
//! greeting application and, for the comparison, bare smoltcp.
//!
//! - **Bulk TCP over the simulated segment**, at MTU 1500 and 9000, measured
//!   in wall time: the virtual clock makes the run CPU-bound, so the figure
//!   is what the code costs, not what a link allows. The peer moves the same
//!   bytes between two bare smoltcp `Interface` + `tcp::Socket` pairs over
//!   the same segment type, with the same buffer sizes; the ratio is what
//!   layernet's gate, socket pool and observers cost.
//! - **Connections per second** against the greeting server with 1, 4 and
//!   16 concurrent clients, over [`SimNet`]. The peer serves and makes the
//!   same greeting connections between two bare smoltcp hosts on the same
//!   segment type.
//! - **Memory**: `size_of` of the stack, its per-socket parts, each
//!   application and the buffers, for the tiny and host profiles.
//! - **Heap allocations after setup**, when the caller can count them (only
//!   a binary can install a counting global allocator; `layernet` does).
//!
//! Both sides of a comparison run in the same invocation, alternating, and
//! each figure is the median of the runs: the build machines are shared.

use core::cell::RefCell;
use std::time::Instant as WallInstant;

use smoltcp::iface::{self, Interface, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpCidr};

use crate::app::greeting::{DEFAULT_GREETING, GreetingClient, GreetingServer};
use crate::app::{Outcome, Service};
use crate::host::sim::{SimNet, SimService, endpoint, host_ip, host_mac};
use crate::link::Link;
use crate::link::sim::{Faults, Port, Segment, StdPort, StdSegment};
use crate::net::{Config, Resources, Stack};
use crate::socket::{TcpListener, TcpStream};
use crate::{Duration, Instant, IpEndpoint};

/// The groups of figures, as `--only` names them.
///
/// # Example
///
/// ```
/// use layernet::host::bench::GROUPS;
/// assert!(GROUPS.contains(&"sim-transfer"));
/// ```
pub const GROUPS: [&str; 3] = ["sim-transfer", "connections", "memory"];

/// Bytes each way in every TCP socket of the bulk transfer, on both sides.
/// 64 KiB: a full unscaled window, so the sender is never window-bound on a
/// link with no delay.
///
/// # Example
///
/// ```
/// use layernet::host::bench::BULK_BUFFER;
/// assert!(BULK_BUFFER > usize::from(u16::MAX), "smoltcp scales the window by 1");
/// ```
pub const BULK_BUFFER: usize = 65536;

/// Frames each station's queue on the bench's segment holds (as the
/// simulated network's own segment).
const QUEUE: usize = 64;

/// Virtual time a transfer may take before it counts as stalled.
const STALL_LIMIT: Duration = Duration::from_secs(600);

/// One measured figure, and the peer it is compared with.
///
/// # Example
///
/// ```
/// use layernet::host::bench::Figure;
/// let f = Figure::with_peer("x", 2.0, "Gbit/s", "smoltcp", 4.0);
/// assert_eq!(f.ratio, Some(0.5));
/// assert!(f.to_json().contains(r#""peer":"smoltcp""#));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// What was measured, dotted (`sim.tcp.mtu1500`).
    pub name: String,
    /// The median of the runs.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// What it is compared with, if anything.
    pub peer: Option<String>,
    /// The peer's median, in the same unit.
    pub peer_value: Option<f64>,
    /// `value / peer_value`.
    pub ratio: Option<f64>,
}

impl Figure {
    /// A figure with no peer.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::bench::Figure;
    /// let f = Figure::alone("mem.tiny.stack", 4208.0, "B");
    /// assert!(f.peer.is_none() && f.ratio.is_none());
    /// ```
    pub fn alone(name: &str, value: f64, unit: &'static str) -> Figure {
        Figure {
            name: name.to_string(),
            value,
            unit,
            peer: None,
            peer_value: None,
            ratio: None,
        }
    }

    /// A figure beside its peer's; the ratio is ours over theirs.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::bench::Figure;
    /// let f = Figure::with_peer("conns", 900.0, "conn/s", "linux", 1000.0);
    /// assert_eq!((f.peer_value, f.ratio), (Some(1000.0), Some(0.9)));
    /// ```
    pub fn with_peer(
        name: &str,
        value: f64,
        unit: &'static str,
        peer: &str,
        peer_value: f64,
    ) -> Figure {
        Figure {
            peer: Some(peer.to_string()),
            peer_value: Some(peer_value),
            ratio: (peer_value != 0.0).then(|| value / peer_value),
            ..Figure::alone(name, value, unit)
        }
    }

    /// One JSON object on one line, with every field (`null` where absent).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::bench::Figure;
    /// let json = Figure::alone("a\"b", 1.5, "B").to_json();
    /// assert_eq!(json, r#"{"name":"a\"b","value":1.5,"unit":"B","peer":null,"peer_value":null,"ratio":null}"#);
    /// ```
    pub fn to_json(&self) -> String {
        let number = |v: Option<f64>| match v {
            Some(v) if v.is_finite() => format!("{v}"),
            _ => "null".to_string(),
        };
        let peer = self.peer.as_deref().map_or("null".to_string(), json_string);
        format!(
            r#"{{"name":{},"value":{},"unit":{},"peer":{},"peer_value":{},"ratio":{}}}"#,
            json_string(&self.name),
            number(Some(self.value)),
            json_string(self.unit),
            peer,
            number(self.peer_value),
            number(self.ratio),
        )
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The figures as an aligned text table.
///
/// # Example
///
/// ```
/// use layernet::host::bench::{Figure, table};
/// let text = table(&[Figure::with_peer("sim.tcp", 1.0, "Gbit/s", "smoltcp", 2.0)]);
/// assert!(text.lines().nth(2).is_some_and(|l| l.contains("0.50")), "{text}");
/// ```
pub fn table(figures: &[Figure]) -> String {
    let rows: Vec<[String; 5]> = figures
        .iter()
        .map(|f| {
            [
                f.name.clone(),
                format!("{} {}", pretty(f.value), f.unit),
                f.peer.clone().unwrap_or_default(),
                f.peer_value
                    .map(|v| format!("{} {}", pretty(v), f.unit))
                    .unwrap_or_default(),
                f.ratio.map(|r| format!("{r:.2}")).unwrap_or_default(),
            ]
        })
        .collect();
    let head = ["figure", "layernet", "peer", "peer value", "ratio"].map(String::from);
    let mut widths = head.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[String; 5]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == 0 || i == 2 {
                s.push_str(&format!("{cell:<w$}  "));
            } else {
                s.push_str(&format!("{cell:>w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&head);
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

/// Three significant figures or more, no exponent.
fn pretty(v: f64) -> String {
    if (v.fract() == 0.0 && v.abs() < 1e15) || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// What to measure, and how often.
///
/// # Example
///
/// ```
/// use layernet::host::bench::Options;
/// let o = Options { runs: 1, quick: true, ..Options::default() };
/// assert_eq!(o.transfer_bytes(), 1 << 20);
/// assert_eq!(Options::default().transfer_bytes(), 16 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs of each side; each figure is their median.
    pub runs: usize,
    /// Smaller sizes (1 MiB transfers, fewer connections): for tests.
    pub quick: bool,
    /// Only this group (one of [`GROUPS`]).
    pub only: Option<String>,
    /// Heap allocations so far, if the binary counts them.
    pub allocations: Option<fn() -> usize>,
    /// Only this bulk transfer (one of [`TRANSFERS`]' names); all if `None`.
    pub transfer: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runs: 5,
            quick: false,
            only: None,
            allocations: None,
            transfer: None,
        }
    }
}

impl Options {
    /// Bytes in one bulk transfer.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(layernet::host::bench::Options::default().transfer_bytes(), 16 * 1024 * 1024);
    /// ```
    pub fn transfer_bytes(&self) -> u64 {
        if self.quick { 1 << 20 } else { 16 << 20 }
    }

    fn connections(&self) -> u64 {
        if self.quick { 48 } else { 2000 }
    }

    fn wants(&self, group: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == group)
    }
}

/// Run the benchmark, handing each figure to `report` as soon as it is
/// known.
///
/// # Errors
/// A transfer that stalls or delivers wrong bytes, an unknown `only`, or a
/// setup failure: the message says which.
///
/// # Example
///
/// ```
/// use layernet::host::bench::{Options, run};
/// let mut names = Vec::new();
/// let only = Some("memory".to_string());
/// run(&Options { runs: 1, quick: true, only, ..Options::default() }, &mut |f| names.push(f.name.clone()))?;
/// assert!(names.contains(&"mem.tiny.resources".to_string()));
/// # Ok::<(), String>(())
/// ```
pub fn run(options: &Options, report: &mut dyn FnMut(&Figure)) -> Result<(), String> {
    if let Some(only) = &options.only
        && !GROUPS.contains(&only.as_str())
    {
        return Err(format!(
            "unknown group '{only}': use one of {}",
            GROUPS.join(", ")
        ));
    }
    let runs = options.runs.max(1);
    let mut allocations = Vec::new();
    if options.wants("sim-transfer") {
        for (name, mtu, pool) in TRANSFERS
            .into_iter()
            .filter(|(n, _, _)| options.transfer.as_deref().is_none_or(|o| o == *n))
        {
            let bytes = options.transfer_bytes();
            let sides = transfer_pair((mtu, pool), bytes, runs, options.allocations)?;
            allocations.extend(sides.allocations);
            report(&Figure::with_peer(
                name,
                median(sides.ours),
                "Gbit/s",
                "smoltcp-only",
                median(sides.theirs),
            ));
        }
    }
    if options.wants("connections") {
        for clients in [1usize, 4, 16] {
            let (mut rates, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let (rate, allocs) =
                    connections(clients, options.connections(), options.allocations)?;
                rates.push(rate);
                allocations.extend(allocs);
                theirs.push(smoltcp_connections(clients, options.connections())?);
            }
            let name = format!("sim.greeting.conns.c{clients}");
            report(&Figure::with_peer(
                &name,
                median(rates),
                "conn/s",
                "smoltcp-only",
                median(theirs),
            ));
        }
    }
    if options.wants("memory") {
        for f in memory() {
            report(&f);
        }
    }
    if let Some(most) = allocations.iter().max() {
        report(&Figure::alone(
            "heap.allocations-after-setup",
            *most as f64,
            "allocs",
        ));
    }
    Ok(())
}

/// The median (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn gbits(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 * 8.0 / seconds.max(1e-9) / 1e9
}

/// What alternating runs measured: layernet's rates and the peer's (Gbit/s)
/// and the allocations layernet's transfers made after setup.
struct Sides {
    ours: Vec<f64>,
    theirs: Vec<f64>,
    allocations: Vec<usize>,
}

/// The bulk transfers measured: (figure name, MTU, layernet's pool has the
/// host profile's socket count). The smallest pool is the like-for-like
/// comparison; the host-sized one shows what the stack's per-socket
/// book-keeping costs when every frame walks 24 TCP entries instead of 2.
///
/// # Example
///
/// ```
/// use layernet::host::bench::TRANSFERS;
/// assert!(TRANSFERS.iter().any(|(name, mtu, _)| *name == "sim.tcp.mtu9000" && *mtu == 9000));
/// ```
pub const TRANSFERS: [(&str, usize, bool); 3] = [
    ("sim.tcp.mtu1500", 1500, false),
    ("sim.tcp.mtu9000", 9000, false),
    ("sim.tcp.mtu1500.pool24", 1500, true),
];

/// Alternating runs of layernet and the smoltcp-only peer.
fn transfer_pair(
    (mtu, host_pool): (usize, bool),
    bytes: u64,
    runs: usize,
    counter: Option<fn() -> usize>,
) -> Result<Sides, String> {
    let (mut ours, mut theirs, mut allocs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (secs, a) = match (mtu, host_pool) {
            (1500, false) => layernet_transfer::<1514, 4, 2, 1>(bytes, counter)?,
            (1500, true) => layernet_transfer::<1514, 29, 24, 4>(bytes, counter)?,
            _ => layernet_transfer::<9014, 4, 2, 1>(bytes, counter)?,
        };
        ours.push(gbits(bytes, secs));
        allocs.extend(a);
        let secs = match mtu {
            1500 => smoltcp_transfer::<1514>(bytes)?,
            _ => smoltcp_transfer::<9014>(bytes)?,
        };
        theirs.push(gbits(bytes, secs));
    }
    Ok(Sides {
        ours,
        theirs,
        allocations: allocs,
    })
}

/// The bytes a sender sends: a pattern whose period (251) is prime to every
/// buffer and segment size, so a misplaced chunk shows.
fn pattern() -> Vec<u8> {
    (0..BULK_BUFFER + 251).map(|i| (i % 251) as u8).collect()
}

/// One end of a bulk transfer's application: what it sent or received so
/// far, and the check that the bytes arrive in order.
struct Tally {
    sent: u64,
    received: u64,
    total: u64,
    wrong: bool,
}

impl Tally {
    fn new(total: u64) -> Self {
        Tally {
            sent: 0,
            received: 0,
            total,
            wrong: false,
        }
    }

    /// What the sender offers next (empty when all was sent).
    fn next<'p>(&self, pattern: &'p [u8]) -> &'p [u8] {
        let start = (self.sent % 251) as usize;
        let left = (self.total - self.sent).min(BULK_BUFFER as u64) as usize;
        &pattern[start..start + left]
    }

    /// Count `chunk` in; checks its first byte only, which is enough to
    /// see a lost or repeated chunk without paying per byte.
    fn got(&mut self, chunk: &[u8]) {
        if chunk
            .first()
            .is_some_and(|b| u64::from(*b) != self.received % 251)
        {
            self.wrong = true;
        }
        self.received += chunk.len() as u64;
    }
}

/// The two ends of a bulk transfer, whichever stack they run on: the one
/// driver below times layernet and bare smoltcp alike.
trait Ends {
    /// Poll both stacks at `now`; true if anything moved.
    fn poll(&mut self, now: Instant) -> bool;
    /// The earliest time either stack wants to be polled.
    fn next(&mut self, now: Instant) -> Option<Instant>;
    /// The connection is up at both ends.
    fn connected(&mut self) -> bool;
    /// Queue bytes at the sending end; how many were taken.
    fn send(&mut self, data: &[u8]) -> usize;
    /// Read bytes at the receiving end; how many (0: none yet).
    fn recv(&mut self, buf: &mut [u8]) -> usize;
}

/// Run `ends` on a virtual clock until `done`: poll at the current time
/// until nothing moves, then jump to the next event.
fn drive<E: Ends>(
    ends: &mut E,
    now: &mut Instant,
    step: &mut dyn FnMut(&mut E, Instant) -> bool,
    done: &mut dyn FnMut(&mut E) -> bool,
) -> Result<(), String> {
    let limit = *now + STALL_LIMIT;
    loop {
        while step(ends, *now) {
            if done(ends) {
                return Ok(());
            }
        }
        if done(ends) {
            return Ok(());
        }
        *now = match ends.next(*now) {
            Some(t) if t > *now => t,
            _ => *now + Duration::from_millis(1),
        };
        if *now > limit {
            return Err("the transfer stalled".into());
        }
    }
}

/// Connect, then move `bytes` and time it: the wall time of the transfer
/// after the connection is up, and the heap allocations in that time if
/// `counter` counts them.
fn timed<E: Ends>(
    ends: &mut E,
    bytes: u64,
    counter: Option<fn() -> usize>,
) -> Result<(f64, Option<usize>), String> {
    let mut now = Instant::ZERO;
    drive(ends, &mut now, &mut |e, t| e.poll(t), &mut |e| {
        e.connected()
    })?;
    let pattern = pattern();
    let mut buf = vec![0u8; BULK_BUFFER];
    let tally = RefCell::new(Tally::new(bytes));
    let mut move_bytes = |e: &mut E, t: Instant| {
        let mut progress = e.poll(t);
        let mut tally = tally.borrow_mut();
        let offer = tally.next(&pattern);
        if !offer.is_empty() {
            let n = e.send(offer);
            tally.sent += n as u64;
            progress |= n > 0;
        }
        loop {
            let n = e.recv(&mut buf);
            if n == 0 {
                break;
            }
            tally.got(&buf[..n]);
            progress = true;
        }
        progress
    };
    let before = counter.map(|c| c());
    let start = WallInstant::now();
    let result = drive(ends, &mut now, &mut move_bytes, &mut |_| {
        tally.borrow().received >= bytes
    });
    let secs = start.elapsed().as_secs_f64();
    let allocations = counter.zip(before).map(|(c, before)| c() - before);
    result?;
    let tally = tally.borrow();
    if tally.wrong || tally.received != bytes {
        return Err(format!(
            "{} of {bytes} bytes arrived, in order: {}",
            tally.received, !tally.wrong
        ));
    }
    Ok((secs, allocations))
}

type BenchPort<'s, const M: usize> = Port<'s, 2, QUEUE, M>;

fn segment<const M: usize>() -> Box<RefCell<Segment<2, QUEUE, M>>> {
    Box::new(RefCell::new(Segment::new(1, Faults::NONE)))
}

/// Two layernet stacks and a `TcpStream` from the first to the second.
struct LayernetEnds<'x, 'a, D: Link> {
    a: &'x mut Stack<'a>,
    b: &'x mut Stack<'a>,
    links: (&'x mut D, &'x mut D),
    listener: TcpListener,
    tx: TcpStream,
    rx: Option<TcpStream>,
}

impl<D: Link> Ends for LayernetEnds<'_, '_, D> {
    fn poll(&mut self, now: Instant) -> bool {
        self.a.poll(self.links.0, now) | self.b.poll(self.links.1, now)
    }

    fn next(&mut self, now: Instant) -> Option<Instant> {
        earliest(self.a.poll_at(now), self.b.poll_at(now))
    }

    fn connected(&mut self) -> bool {
        if self.rx.is_none() {
            self.rx = self.listener.accept(self.b).ok().map(|(s, _)| s);
        }
        self.rx.is_some() && self.tx.poll_connect(self.a).is_ok()
    }

    fn send(&mut self, data: &[u8]) -> usize {
        self.tx.send(self.a, data).unwrap_or(0)
    }

    fn recv(&mut self, buf: &mut [u8]) -> usize {
        match &mut self.rx {
            Some(rx) => rx.recv(self.b, buf).unwrap_or(0),
            None => 0,
        }
    }
}

/// [`timed`] for layernet's ends. Never inlined, so that
/// scripts/bench-cpu.sh can count its instructions apart, setup excluded
/// (callgrind's `--toggle-collect`).
#[inline(never)]
fn timed_layernet<D: Link>(
    ends: &mut LayernetEnds<'_, '_, D>,
    bytes: u64,
    counter: Option<fn() -> usize>,
) -> Result<(f64, Option<usize>), String> {
    timed(ends, bytes, counter)
}

/// [`timed`] for bare smoltcp's ends, never inlined as [`timed_layernet`].
#[inline(never)]
fn timed_smoltcp<D: Link>(
    ends: &mut (Bare<'_, D>, Bare<'_, D>),
    bytes: u64,
) -> Result<f64, String> {
    timed(ends, bytes, None).map(|(secs, _)| secs)
}

/// `bytes` from one layernet stack to another through `TcpStream`s.
fn layernet_transfer<const M: usize, const S: usize, const T: usize, const U: usize>(
    bytes: u64,
    counter: Option<fn() -> usize>,
) -> Result<(f64, Option<usize>), String> {
    let wire = segment::<M>();
    let mut ra = Box::new(Resources::<S, T, U, BULK_BUFFER>::new());
    let mut rb = Box::new(Resources::<S, T, U, BULK_BUFFER>::new());
    let (ra, rb) = (&mut *ra, &mut *rb);
    let (ca, cb) = (
        Config::new(host_mac(0), host_ip(0)),
        Config::new(host_mac(1), host_ip(1)),
    );
    let port = |i, c: &Config| BenchPort::<M>::new(&wire, i, c.mac).ok_or("no port");
    let (mut pa, mut pb) = (port(0, &ca)?, port(1, &cb)?);
    let mut a = Stack::new(ca, &mut pa, ra, Instant::ZERO).map_err(|e| e.to_string())?;
    let mut b = Stack::new(cb, &mut pb, rb, Instant::ZERO).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(&mut b, 9, 1).map_err(|e| e.to_string())?;
    let tx = TcpStream::connect(&mut a, endpoint(1, 9)).map_err(|e| e.to_string())?;
    let mut ends = LayernetEnds {
        a: &mut a,
        b: &mut b,
        links: (&mut pa, &mut pb),
        listener,
        tx,
        rx: None,
    };
    timed_layernet(&mut ends, bytes, counter).map_err(|e| format!("layernet transfer: {e}"))
}

/// A bare smoltcp interface for host `i` of the bench's segments: its MAC,
/// its address, a seed of its own.
fn bare_interface<D: Link>(device: &mut D, i: usize) -> Interface {
    let mut config = iface::Config::new(HardwareAddress::Ethernet(host_mac(i)));
    config.random_seed = i as u64 + 1;
    let mut iface = Interface::new(config, device, Instant::ZERO);
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::Ipv4(host_ip(i)));
    });
    iface
}

/// One bare smoltcp host: an interface and a socket set of one TCP socket.
struct Bare<'a, D> {
    device: D,
    iface: Interface,
    sockets: SocketSet<'a>,
    handle: iface::SocketHandle,
}

impl<'a, D: Link> Bare<'a, D> {
    fn new(
        mut device: D,
        i: usize,
        storage: &'a mut [SocketStorage<'a>],
        buffers: &'a mut [u8],
    ) -> Self {
        let iface = bare_interface(&mut device, i);
        let mut sockets = SocketSet::new(storage);
        let (rx, tx) = buffers.split_at_mut(BULK_BUFFER);
        let socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
        let handle = sockets.add(socket);
        Bare {
            device,
            iface,
            sockets,
            handle,
        }
    }

    fn poll(&mut self, now: Instant) -> bool {
        self.iface.poll(now, &mut self.device, &mut self.sockets)
            == iface::PollResult::SocketStateChanged
    }

    fn next(&mut self, now: Instant) -> Option<Instant> {
        self.iface.poll_at(now, &self.sockets)
    }

    fn socket(&mut self) -> &mut tcp::Socket<'a> {
        self.sockets.get_mut::<tcp::Socket>(self.handle)
    }
}

impl<D: Link> Ends for (Bare<'_, D>, Bare<'_, D>) {
    fn poll(&mut self, now: Instant) -> bool {
        self.0.poll(now) | self.1.poll(now)
    }

    fn next(&mut self, now: Instant) -> Option<Instant> {
        earliest(self.0.next(now), self.1.next(now))
    }

    fn connected(&mut self) -> bool {
        self.0.socket().may_send() && self.1.socket().may_recv()
    }

    fn send(&mut self, data: &[u8]) -> usize {
        self.0.socket().send_slice(data).unwrap_or(0)
    }

    fn recv(&mut self, buf: &mut [u8]) -> usize {
        self.1.socket().recv_slice(buf).unwrap_or(0)
    }
}

/// The same transfer between two bare smoltcp hosts on the same segment
/// type with the same buffers.
fn smoltcp_transfer<const M: usize>(bytes: u64) -> Result<f64, String> {
    let wire = segment::<M>();
    let mut storage = [[SocketStorage::EMPTY; 1], [SocketStorage::EMPTY; 1]];
    let mut buffers = [vec![0u8; 2 * BULK_BUFFER], vec![0u8; 2 * BULK_BUFFER]];
    let ([s0, s1], [b0, b1]) = (&mut storage, &mut buffers);
    let port = |i| BenchPort::<M>::new(&wire, i, host_mac(i)).ok_or("no port");
    let mut ends = (
        Bare::new(port(0)?, 0, s0, b0),
        Bare::new(port(1)?, 1, s1, b1),
    );
    ends.1
        .socket()
        .listen(9)
        .map_err(|e| format!("listen: {e:?}"))?;
    let cx = ends.0.iface.context();
    let socket = ends.0.sockets.get_mut::<tcp::Socket>(ends.0.handle);
    socket
        .connect(cx, endpoint(1, 9), crate::net::EPHEMERAL_FIRST)
        .map_err(|e| format!("connect: {e:?}"))?;
    timed_smoltcp(&mut ends, bytes).map_err(|e| format!("smoltcp transfer: {e}"))
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A greeting client that starts over each time it finishes, until it has
/// made `target` connections.
struct Repeat {
    server: IpEndpoint,
    client: GreetingClient<64>,
    served: u64,
    failed: u64,
    target: u64,
}

impl Service for Repeat {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        if self.served + self.failed >= self.target {
            return false;
        }
        let progress = Service::poll(&mut self.client, stack, now);
        match self.client.outcome() {
            Outcome::Running => progress,
            Outcome::Done if self.client.received() == DEFAULT_GREETING => {
                self.served += 1;
                self.client = GreetingClient::new(self.server);
                true
            }
            _ => {
                self.failed += 1;
                self.client = GreetingClient::new(self.server);
                true
            }
        }
    }

    fn is_done(&self) -> bool {
        self.served + self.failed >= self.target
    }
}

/// `total` greeting connections from `clients` concurrent clients: the
/// rate in wall time, and the allocations in that time.
fn connections(
    clients: usize,
    total: u64,
    counter: Option<fn() -> usize>,
) -> Result<(f64, Option<usize>), String> {
    let (mut net, a, b) = SimNet::pair(7).map_err(|e| e.to_string())?;
    let server = GreetingServer::<16>::bind(net.stack(a), 1234, 8, DEFAULT_GREETING)
        .map_err(|e| e.to_string())?;
    net.serve(a, Box::new(server));
    let each = total.div_ceil(clients as u64);
    let mut repeats: Vec<Repeat> = (0..clients)
        .map(|_| Repeat {
            server: endpoint(a, 1234),
            client: GreetingClient::new(endpoint(a, 1234)),
            served: 0,
            failed: 0,
            target: each,
        })
        .collect();
    let mut extra: Vec<(usize, &mut SimService)> = repeats
        .iter_mut()
        .map(|r| (b, r as &mut SimService))
        .collect();
    let before = counter.map(|c| c());
    let start = WallInstant::now();
    let finished = net.run_until(Duration::from_secs(3600), &mut extra, |s| {
        s.iter().all(|(_, r)| r.is_done())
    });
    let secs = start.elapsed().as_secs_f64();
    let allocations = counter.zip(before).map(|(c, before)| c() - before);
    drop(extra);
    let served: u64 = repeats.iter().map(|r| r.served).sum();
    if !finished || served == 0 {
        return Err(format!(
            "greeting connections: {served} of {} served",
            each * clients as u64
        ));
    }
    Ok((served as f64 / secs.max(1e-9), allocations))
}

/// Listening sockets of the bare greeting server: the layernet server's
/// backlog.
const GREETING_BACKLOG: usize = 8;

/// Bytes each way in every socket of the bare greeting hosts: the host
/// profile's.
const GREETING_BUFFER: usize = 8192;

/// One bare smoltcp host on the simulated network's own segment type, with
/// a TCP socket of [`GREETING_BUFFER`] bytes each way in each of its
/// `storage` slots.
struct BareHost<'a> {
    device: StdPort<'a>,
    iface: Interface,
    sockets: SocketSet<'a>,
    handles: Vec<iface::SocketHandle>,
}

impl<'a> BareHost<'a> {
    fn new(
        wire: &'a RefCell<StdSegment>,
        i: usize,
        storage: &'a mut [SocketStorage<'a>],
        buffers: &'a mut [u8],
    ) -> Result<Self, String> {
        let mut device = StdPort::new(wire, i, host_mac(i)).ok_or("no port")?;
        let iface = bare_interface(&mut device, i);
        let mut set = SocketSet::new(storage);
        let handles = buffers
            .chunks_mut(2 * GREETING_BUFFER)
            .map(|b| {
                let (rx, tx) = b.split_at_mut(GREETING_BUFFER);
                let buffer = tcp::SocketBuffer::new;
                set.add(tcp::Socket::new(buffer(rx), buffer(tx)))
            })
            .collect();
        Ok(BareHost {
            device,
            iface,
            sockets: set,
            handles,
        })
    }

    fn poll(&mut self, now: Instant) -> bool {
        self.iface.poll(now, &mut self.device, &mut self.sockets)
            == iface::PollResult::SocketStateChanged
    }
}

/// The greeting server in bare smoltcp: every socket listens on the port,
/// sends the greeting once connected, closes, and listens again once it
/// is closed or in TIME-WAIT (smoltcp lets a socket in TIME-WAIT listen;
/// layernet's pool sets such a socket aside and listens with another).
fn serve_greetings(host: &mut BareHost<'_>, greeted: &mut [bool]) -> bool {
    let mut progress = false;
    for (handle, greeted) in host.handles.iter().zip(greeted.iter_mut()) {
        let socket = host.sockets.get_mut::<tcp::Socket>(*handle);
        match socket.state() {
            tcp::State::Closed | tcp::State::TimeWait => {
                *greeted = false;
                progress |= socket.listen(1234).is_ok();
            }
            _ if !*greeted && socket.may_send() => {
                // The buffer is empty and larger than the greeting.
                let _ = socket.send_slice(DEFAULT_GREETING);
                *greeted = true;
                socket.close();
                progress = true;
            }
            _ => {}
        }
    }
    progress
}

/// One bare greeting client: its socket's connections so far and what the
/// current one has read.
#[derive(Default)]
struct BareClient {
    got: Vec<u8>,
    open: bool,
    served: u64,
    failed: u64,
}

/// Drive the bare clients: read to end of stream and close; once a socket
/// is closed, count the greeting it read (or not) and connect again, from
/// the next local port, until each client has been served `each` times.
/// A SYN that finds every listening socket taken gets smoltcp's RST: the
/// client counts a failure and tries again (layernet's gate drops such a
/// SYN instead, and the client's retransmission gets in later).
fn greeting_clients(
    host: &mut BareHost<'_>,
    clients: &mut [BareClient],
    each: u64,
    next_port: &mut u16,
) -> bool {
    let mut progress = false;
    let cx = host.iface.context();
    for (handle, client) in host.handles.iter().zip(clients.iter_mut()) {
        let socket = host.sockets.get_mut::<tcp::Socket>(*handle);
        let mut buf = [0u8; 64];
        while let Ok(n @ 1..) = socket.recv_slice(&mut buf) {
            client.got.extend_from_slice(&buf[..n]);
            progress = true;
        }
        if socket.state() == tcp::State::CloseWait {
            socket.close();
            progress = true;
        }
        if socket.state() != tcp::State::Closed {
            continue;
        }
        if client.open {
            client.open = false;
            if client.got == DEFAULT_GREETING {
                client.served += 1;
            } else {
                client.failed += 1;
            }
            client.got.clear();
            progress = true;
        }
        if client.served < each {
            *next_port = next_port
                .checked_add(1)
                .unwrap_or(crate::net::EPHEMERAL_FIRST);
            client.open = socket.connect(cx, endpoint(0, 1234), *next_port).is_ok();
            progress |= client.open;
        }
    }
    progress
}

/// The same `total` greeting connections from `clients` concurrent clients
/// between two bare smoltcp hosts on the simulated network's segment type:
/// the rate in wall time.
fn smoltcp_connections(clients: usize, total: u64) -> Result<f64, String> {
    let wire = Box::new(RefCell::new(StdSegment::new(7, Faults::NONE)));
    let mut storage: Vec<_> = (0..GREETING_BACKLOG + clients)
        .map(|_| SocketStorage::EMPTY)
        .collect();
    let mut buffers = vec![0u8; storage.len() * 2 * GREETING_BUFFER];
    let (server_slots, client_slots) = storage.split_at_mut(GREETING_BACKLOG);
    let (server_buffers, client_buffers) =
        buffers.split_at_mut(GREETING_BACKLOG * 2 * GREETING_BUFFER);
    let mut server = BareHost::new(&wire, 0, server_slots, server_buffers)?;
    let mut client_host = BareHost::new(&wire, 1, client_slots, client_buffers)?;
    let mut greeted = [false; GREETING_BACKLOG];
    let each = total.div_ceil(clients as u64);
    let mut states: Vec<BareClient> = (0..clients).map(|_| BareClient::default()).collect();
    let mut next_port = crate::net::EPHEMERAL_FIRST;
    let mut now = Instant::ZERO;
    let limit = now + Duration::from_secs(3600);
    let done = |c: &[BareClient]| c.iter().all(|c| c.served >= each);
    let start = WallInstant::now();
    while !done(&states) {
        if states.iter().any(|c| c.failed > 10 * each) {
            return Err("bare greeting connections: most refused".into());
        }
        let mut progress = serve_greetings(&mut server, &mut greeted);
        progress |= greeting_clients(&mut client_host, &mut states, each, &mut next_port);
        progress |= server.poll(now) | client_host.poll(now);
        if progress {
            continue;
        }
        let next = earliest(
            server.iface.poll_at(now, &server.sockets),
            client_host.iface.poll_at(now, &client_host.sockets),
        );
        now = match next {
            Some(t) if t > now => t,
            _ => now + Duration::from_millis(1),
        };
        if now > limit {
            return Err("bare greeting connections stalled".into());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let served: u64 = states.iter().map(|c| c.served).sum();
    if served == 0 {
        return Err("bare greeting connections: none served".into());
    }
    Ok(served as f64 / secs.max(1e-9))
}

/// The port on which [`SinkSource`] sends bytes to whoever connects.
pub const SOURCE_PORT: u16 = 1234;
/// The port on which [`SinkSource`] reads and discards what it is sent.
pub const SINK_PORT: u16 = 1235;

/// Socket-level throughput over a real link, as smoltcp's `benchmark`
/// example measures it: a connection to [`SOURCE_PORT`] gets zeros as fast
/// as the stack takes them, one to [`SINK_PORT`] has everything read and
/// dropped. One connection at a time on each. `layernet bench
/// --sink-source` serves it on TAP for scripts/bench-tap.sh.
///
/// # Example
///
/// ```
/// use layernet::host::bench::{SINK_PORT, SinkSource};
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::socket::TcpStream;
/// let (mut net, a, b) = SimNet::pair(4)?;
/// let service = SinkSource::bind(net.stack(a))?;
/// net.serve(a, Box::new(service));
/// let mut to_sink = TcpStream::connect(net.stack(b), endpoint(a, SINK_PORT))?;
/// net.run_for(layernet::Duration::from_millis(10));
/// assert_eq!(to_sink.send(net.stack(b), &[1; 5000])?, 5000);
/// net.run_for(layernet::Duration::from_millis(10));
/// assert_eq!(to_sink.send_queue(net.stack(b)), 0, "all taken");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SinkSource {
    source: TcpListener,
    sink: TcpListener,
    out: Option<TcpStream>,
    into: Option<TcpStream>,
}

/// What the source sends: zeros, as smoltcp's benchmark does.
static ZEROS: [u8; 8192] = [0; 8192];

impl SinkSource {
    /// Listen on both ports.
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`]: a port taken, or no free socket.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::bench::SinkSource;
    /// let (mut net, a, _) = layernet::host::sim::SimNet::pair(5)?;
    /// let _one = SinkSource::bind(net.stack(a))?;
    /// assert!(SinkSource::bind(net.stack(a)).is_err(), "the ports are taken");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>) -> Result<Self, crate::socket::Error> {
        Ok(SinkSource {
            source: TcpListener::bind(stack, SOURCE_PORT, 1)?,
            sink: TcpListener::bind(stack, SINK_PORT, 1)?,
            out: None,
            into: None,
        })
    }
}

impl Service for SinkSource {
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
        let mut progress = false;
        if self.out.is_none() {
            self.out = self.source.accept(stack).ok().map(|(s, _)| s);
        }
        if self.into.is_none() {
            self.into = self.sink.accept(stack).ok().map(|(s, _)| s);
        }
        if let Some(out) = &mut self.out {
            loop {
                match out.send(stack, &ZEROS) {
                    Ok(n) if n > 0 => progress = true,
                    Ok(_) | Err(crate::socket::Error::WouldBlock) => break,
                    Err(_) => {
                        if let Some(s) = self.out.take() {
                            s.abort(stack);
                        }
                        progress = true;
                        break;
                    }
                }
            }
        }
        if let Some(into) = &mut self.into {
            let mut buf = [0u8; 8192];
            loop {
                match into.recv(stack, &mut buf) {
                    Ok(n) if n > 0 => progress = true,
                    Err(crate::socket::Error::WouldBlock) => break,
                    _ => {
                        if let Some(s) = self.into.take() {
                            s.close(stack);
                        }
                        progress = true;
                        break;
                    }
                }
            }
        }
        progress
    }
}

/// The memory table: `size_of` of each component for the tiny and the host
/// profile, in bytes.
fn memory() -> Vec<Figure> {
    use crate::app::chat::ChatRoom;
    use crate::app::echo::EchoServer;
    use crate::app::time_echo::TimeEchoServer;
    use crate::host::clock::LocalClock;
    use crate::host::sim::SimStack;
    use crate::net::profile::{Host, Tiny};
    use crate::port::Uptime;
    use core::mem::size_of;

    // The tiny profile's applications, as the firmware's tiny build sizes
    // them (no log lines kept), and its stack with the 596-byte-frame driver.
    type TinyNic = crate::link::lan9118::Lan9118<crate::link::lan9118::Mmio, 596>;
    let tiny = [
        ("resources", size_of::<Tiny>()),
        ("tcp-socket-buffers", size_of::<[[u8; 256]; 2]>()),
        ("echo", size_of::<EchoServer<2, 256, 0>>()),
        ("greeting", size_of::<GreetingServer<2, 0>>()),
        ("time-echo", size_of::<TimeEchoServer<Uptime, 2, 128, 0>>()),
        ("chat", size_of::<ChatRoom<4, 0>>()),
        (
            "stack-with-lan9118",
            size_of::<Stack<'static>>() + size_of::<TinyNic>(),
        ),
    ];
    // The host profile's, as `layernet serve` sizes them.
    let host = [
        ("resources", size_of::<Host>()),
        ("tcp-socket-buffers", size_of::<[[u8; 8192]; 2]>()),
        ("echo", size_of::<EchoServer<8>>()),
        ("greeting", size_of::<GreetingServer<8>>()),
        ("time-echo", size_of::<TimeEchoServer<LocalClock, 8>>()),
        ("chat", size_of::<ChatRoom<8>>()),
        ("files", size_of::<crate::host::ServedFiles>()),
    ];
    let shared = [
        ("stack-on-sim-port", size_of::<SimStack>()),
        ("sim-port", size_of::<crate::host::sim::SimPort>()),
        ("tcp-entry", size_of::<crate::net::TcpEntry>()),
        ("udp-entry", size_of::<crate::net::UdpEntry>()),
        ("smoltcp-tcp-socket", size_of::<tcp::Socket>()),
        ("socket-storage", size_of::<SocketStorage>()),
    ];
    let mut figures = Vec::new();
    let mut add = |prefix: &str, rows: &[(&str, usize)]| {
        for (name, bytes) in rows {
            figures.push(Figure::alone(
                &format!("mem.{prefix}.{name}"),
                *bytes as f64,
                "B",
            ));
        }
    };
    add("tiny", &tiny);
    let sum = |leave_out: &[&str]| -> usize {
        tiny.iter()
            .filter(|(n, _)| *n != "tcp-socket-buffers" && !leave_out.contains(n))
            .map(|(_, b)| b)
            .sum()
    };
    add(
        "tiny",
        &[
            ("resources-and-apps", sum(&["stack-with-lan9118"])),
            ("everything", sum(&[])),
        ],
    );
    add("host", &host);
    add("any", &shared);
    figures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_transfers_deliver_every_byte() {
        assert!(layernet_transfer::<1514, 4, 2, 1>(200_000, None).is_ok());
        assert!(smoltcp_transfer::<9014>(200_000).is_ok());
    }

    #[test]
    fn bare_greeting_clients_are_all_served() {
        // 16 clients against 8 listening sockets: refusals are retried.
        for clients in [1, 16] {
            assert!(smoltcp_connections(clients, 64).is_ok_and(|rate| rate > 0.0));
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
