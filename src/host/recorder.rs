//! The trace, the capture file and the counter tables on the host.
//!
//! Layer: host (std). Implements [`Observer`] for one stack and sends what
//! it sees to a shared [`Recorder`]: the layered text of
//! [`crate::trace`] on stderr (or any writer), a classic pcap file, or
//! both. Several stacks (the hosts of a simulated segment) share one
//! recorder, so one trace and one pcap file hold the whole segment.
//!
//! On a simulated segment every frame is shown once, when its sender puts
//! it on the wire; what the receiver made of it follows as events. On a TAP
//! link the one stack shows both directions.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::rc::Rc;

use pcap_file::Endianness;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

use crate::Instant;
use crate::host::diagram::filter::{Filter, Matcher};
use crate::net::{AppCounters, Counters, Direction, DropReason, Event, Observer, Transport};
use crate::trace::{Decoder, Style};

/// Where the trace goes and in what form.
///
/// # Example
///
/// ```
/// use layernet::host::{sim::SimNet, recorder::Recorder};
/// use layernet::{Duration, socket::Ping, trace::Style};
/// use std::{cell::RefCell, io::{self, Write}, rc::Rc};
/// // Any writer will do; this one keeps the text where we can read it.
/// #[derive(Clone, Default)]
/// struct Text(Rc<RefCell<Vec<u8>>>);
/// impl Write for Text {
///     fn write(&mut self, bytes: &[u8]) -> io::Result<usize> { self.0.borrow_mut().write(bytes) }
///     fn flush(&mut self) -> io::Result<()> { Ok(()) }
/// }
/// let text = Text::default();
/// let recorder = Recorder::new(Some(Style::Brief), Box::new(text.clone()), false).shared();
/// let (mut net, a, b) = SimNet::pair(5)?;
/// net.trace(&recorder, &["a", "b"]);
/// let to = net.stack(b).ipv4_addr();
/// Ping::new(net.stack(a)).send(net.stack(a), to, 1, b"hi")?;
/// net.run_for(Duration::from_millis(20));
/// let text = String::from_utf8(text.0.take())?;
/// let icmp: Vec<_> = text.lines().filter(|l| l.contains("ICMP")).collect();
/// assert_eq!(icmp.len(), 2, "{text}");
/// assert!(icmp[0].contains(" a tx ") && icmp[1].contains(" b tx "), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Recorder {
    decoder: Decoder,
    style: Option<Style>,
    out: Box<dyn Write>,
    colour: bool,
    pcap: Option<PcapWriter<BufWriter<File>>>,
    frames: u64,
    failure: Option<String>,
    /// `--trace-filter`: which frames the text shows (the pcap keeps all).
    matcher: Option<Matcher>,
    /// Whether the last frame passed the filter: the events after a frame
    /// are shown with it.
    shown: bool,
}

/// A recorder shared by the stacks that report to it.
///
/// # Example
///
/// ```
/// use layernet::host::{sim::SimNet, recorder::{Recorder, SharedRecorder}};
/// let (mut net, _, _) = SimNet::pair(1)?;
/// let recorder: SharedRecorder = Recorder::new(None, Box::new(std::io::sink()), false).shared();
/// net.trace(&recorder, &["server", "client"]);
/// // One handle per host's observer, and ours to finish it with.
/// assert_eq!(std::rc::Rc::strong_count(&recorder), 3);
/// recorder.borrow_mut().finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type SharedRecorder = Rc<RefCell<Recorder>>;

/// `now` as seconds with microseconds, the way tshark prints relative time.
///
/// # Example
///
/// ```
/// use layernet::{Instant, host::recorder::seconds};
/// assert_eq!(seconds(Instant::from_micros(61_000_250)), "61.000250");
/// assert_eq!(seconds(Instant::from_millis(-5)), "0.000000", "never before the start");
/// ```
pub fn seconds(now: Instant) -> String {
    let micros = now.total_micros().max(0);
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

const BOLD_CYAN: &str = "\x1b[1;36m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

impl Recorder {
    /// A recorder writing the text trace in `style` (none: no text) to
    /// `out`, in colour if `colour`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::recorder::{HostObserver, Recorder};
    /// use layernet::{Instant, net::{Direction, Observer}, trace::Style};
    /// let file = tempfile::NamedTempFile::new()?;
    /// let recorder = Recorder::new(Some(Style::Full), Box::new(file.reopen()?), true).shared();
    /// let mut tap = HostObserver::new("tap0", recorder.clone(), true);
    /// tap.frame(Instant::from_secs(1), Direction::Rx, &[0; 3]);
    /// recorder.borrow_mut().finish()?;
    /// let text = std::fs::read_to_string(file.path())?;
    /// assert!(text.starts_with("\x1b[1;36m#1 1.000000 tap0 rx  3 bytes\x1b[0m\n"), "{text:?}");
    /// assert!(text.contains("\n    L2  malformed: 3 bytes"), "layer lines stay plain: {text:?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(style: Option<Style>, out: Box<dyn Write>, colour: bool) -> Self {
        Recorder {
            decoder: Decoder::new(),
            style,
            out,
            colour,
            pcap: None,
            frames: 0,
            failure: None,
            matcher: None,
            shown: true,
        }
    }

    /// Show in the text trace only the frames `filter` passes (numbered
    /// as without it), and the events that follow each of them; the
    /// capture file still gets every frame.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::recorder::{HostObserver, Recorder};
    /// use layernet::{Instant, net::{Direction, Observer}, trace::Style};
    /// let file = tempfile::NamedTempFile::new()?;
    /// let mut recorder = Recorder::new(Some(Style::Brief), Box::new(file.reopen()?), false);
    /// recorder.filter_trace("frames=2".parse()?);
    /// let recorder = recorder.shared();
    /// let mut h = HostObserver::new("h", recorder.clone(), true);
    /// for ms in 0..3 {
    ///     h.frame(Instant::from_millis(ms), Direction::Rx, &[0; 60]);
    /// }
    /// recorder.borrow_mut().finish()?;
    /// let text = std::fs::read_to_string(file.path())?;
    /// assert!(text.starts_with("#2 0.001000 h rx") && text.lines().count() == 1, "{text}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filter_trace(&mut self, filter: Filter) {
        self.matcher = Some(Matcher::new(filter));
    }

    /// Also write every frame to a classic pcap file (Ethernet link type,
    /// microsecond timestamps) at `path`, created or truncated now.
    ///
    /// # Errors
    /// The file cannot be created or its header written.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::recorder::{HostObserver, Recorder};
    /// use layernet::{Instant, net::{Direction, Observer}};
    /// let dir = tempfile::tempdir()?;
    /// let mut recorder = Recorder::new(None, Box::new(std::io::sink()), false);
    /// let nowhere = recorder.capture_to(&dir.path().join("missing/x.pcap")).err();
    /// assert!(nowhere.is_some_and(|e| e.contains("x.pcap")));
    /// let path = dir.path().join("one.pcap");
    /// recorder.capture_to(&path)?;
    /// let recorder = recorder.shared();
    /// let mut h1 = HostObserver::new("h1", recorder.clone(), false);
    /// h1.frame(Instant::ZERO, Direction::Tx, &[0xff; 60]);
    /// // As big as a TAP with offloads makes them: a 64 KiB IP packet.
    /// h1.frame(Instant::ZERO, Direction::Tx, &vec![0xff; 65_535 + 14]);
    /// recorder.borrow_mut().finish()?;
    /// let pcap = std::fs::read(&path)?;
    /// assert_eq!(pcap[..4], [0xd4, 0xc3, 0xb2, 0xa1], "classic pcap, microseconds");
    /// assert_eq!(pcap.len(), 24 + 16 + 60 + 16 + 65_549, "file header, then records and frames");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn capture_to(&mut self, path: &Path) -> Result<(), String> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // tcpdump's snapshot length, not the crate's 65,535: a TAP with
        // offloads carries 64 KiB IP packets, 65,549-byte frames, which the
        // writer refuses beyond the length its header announces.
        let header = PcapHeader {
            snaplen: 262_144,
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(BufWriter::new(file), header)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        self.pcap = Some(writer);
        Ok(())
    }

    /// Share it.
    ///
    /// # Example
    ///
    /// Frame numbers run across every stack that reports to it:
    ///
    /// ```
    /// use layernet::host::recorder::{HostObserver, Recorder};
    /// use layernet::{Instant, net::{Direction, Observer}, trace::Style};
    /// let file = tempfile::NamedTempFile::new()?;
    /// let shared = Recorder::new(Some(Style::Brief), Box::new(file.reopen()?), false).shared();
    /// let mut a = HostObserver::new("a", shared.clone(), false);
    /// let mut b = HostObserver::new("b", shared.clone(), false);
    /// a.frame(Instant::ZERO, Direction::Tx, &[]);
    /// b.frame(Instant::from_millis(1), Direction::Tx, &[]);
    /// shared.borrow_mut().finish()?;
    /// let text = std::fs::read_to_string(file.path())?;
    /// assert!(text.starts_with("#1 0.000000 a tx ") && text.contains("\n#2 0.001000 b tx "), "{text}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shared(self) -> SharedRecorder {
        Rc::new(RefCell::new(self))
    }

    /// Frames recorded so far.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{sim::{SimNet, endpoint}, recorder::Recorder};
    /// use layernet::{Duration, socket::UdpSocket};
    /// let recorder = Recorder::new(None, Box::new(std::io::sink()), false).shared();
    /// let (mut net, a, b) = SimNet::pair(7)?;
    /// net.trace(&recorder, &[]);
    /// let mut udp = UdpSocket::bind(net.stack(a), 0)?;
    /// udp.send_to(net.stack(a), b"one datagram", endpoint(b, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// // ARP request, ARP reply, the datagram, ICMP port unreachable: even
    /// // with no text to write, each frame is counted once.
    /// assert_eq!(recorder.borrow().frames(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Flush the text and close the capture file (later frames are not
    /// captured).
    ///
    /// # Errors
    /// The first write that failed, or the flush.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::recorder::{HostObserver, Recorder};
    /// use layernet::{Instant, net::{Direction, Observer}, trace::Style};
    /// struct Full;
    /// impl std::io::Write for Full {
    ///     fn write(&mut self, _: &[u8]) -> std::io::Result<usize> { Err(std::io::ErrorKind::StorageFull.into()) }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let recorder = Recorder::new(Some(Style::Brief), Box::new(Full), false).shared();
    /// HostObserver::new("h1", recorder.clone(), true).frame(Instant::ZERO, Direction::Rx, &[1]);
    /// let failed = recorder.borrow_mut().finish().err().ok_or("a full disk went unnoticed")?;
    /// assert!(failed.starts_with("trace: "), "{failed}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(&mut self) -> Result<(), String> {
        if let Some(pcap) = self.pcap.take()
            && let Err(e) = pcap.into_writer().flush()
        {
            self.failure.get_or_insert(format!("pcap: {e}"));
        }
        if let Err(e) = self.out.flush() {
            self.failure.get_or_insert(format!("trace: {e}"));
        }
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn emit(&mut self, text: &str, colour: &str) {
        let result = if self.colour {
            // Colour each line on its own so a pager keeps it.
            text.lines()
                .try_for_each(|line| writeln!(self.out, "{colour}{line}{RESET}"))
        } else {
            self.out.write_all(text.as_bytes())
        };
        if let Err(e) = result {
            self.failure.get_or_insert(format!("trace: {e}"));
            // Nobody reads it any more; stop formatting for nothing.
            self.style = None;
        }
    }

    fn frame(&mut self, now: Instant, host: &str, direction: Direction, frame: &[u8]) {
        self.frames += 1;
        if let Some(pcap) = self.pcap.as_mut() {
            let micros = u64::try_from(now.total_micros()).unwrap_or(0);
            let at = std::time::Duration::from_micros(micros);
            let packet = PcapPacket::new(at, frame.len() as u32, frame);
            if let Err(e) = pcap.write_packet(&packet) {
                self.failure.get_or_insert(format!("pcap: {e}"));
                self.pcap = None;
            }
        }
        let Some(style) = self.style else {
            return;
        };
        if let Some(matcher) = self.matcher.as_mut() {
            self.shown = matcher.matches(self.frames, frame);
            if !self.shown {
                return;
            }
        }
        let dir = match direction {
            Direction::Rx => "rx",
            Direction::Tx => "tx",
        };
        let mut text = String::new();
        let head = format_args!("#{} {} {host} {dir}", self.frames, seconds(now));
        let _ = self.decoder.write_frame(&mut text, style, head, frame);
        if style == Style::Full {
            // The header line stands out; the layer lines stay plain.
            let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
            let first = format!("{first}\n");
            self.emit(&first, BOLD_CYAN);
            let plain = self.colour;
            self.colour = false;
            self.emit(rest, "");
            self.colour = plain;
        } else {
            self.emit(&text, "");
        }
    }

    fn event(&mut self, now: Instant, host: &str, event: &Event) {
        if self.style.is_none() || !self.event_passes(event) {
            return;
        }
        let mut text = String::new();
        let head = format_args!("  * {} {host}:", seconds(now));
        let _ = self.decoder.write_event(&mut text, head, event);
        let colour = match event {
            Event::Dropped(_) | Event::NoSocket { .. } => RED,
            _ => YELLOW,
        };
        self.emit(&text, colour);
    }
}

impl Recorder {
    /// With `--trace-filter`: an event about a connection passes by its
    /// ends (it often comes after another host's frame); any other event
    /// goes with the frame before it.
    fn event_passes(&self, event: &Event) -> bool {
        let Some(matcher) = &self.matcher else {
            return true;
        };
        let socket = |e: &crate::IpEndpoint| std::net::SocketAddr::new(e.addr.into(), e.port);
        match event {
            Event::State { local, remote, .. } => {
                matcher.passes_ends(self.frames, socket(local), remote.as_ref().map(socket))
            }
            Event::Retransmit { local, remote, .. } | Event::StallKick { local, remote, .. } => {
                matcher.passes_ends(self.frames, socket(local), Some(socket(remote)))
            }
            _ => self.shown,
        }
    }
}

/// One stack's view into a shared recorder.
///
/// # Example
///
/// Attached by hand to one stack that shows both directions, as a TAP
/// link's is:
///
/// ```
/// use layernet::host::{sim::SimNet, recorder::{HostObserver, Recorder}};
/// use layernet::{Duration, socket::Ping};
/// let recorder = Recorder::new(None, Box::new(std::io::sink()), false).shared();
/// let (mut net, a, b) = SimNet::pair(8)?;
/// let watcher = HostObserver::new("b", recorder.clone(), true);
/// net.observe(b, Some(Box::new(watcher)));
/// let target = net.stack(b).ipv4_addr();
/// Ping::new(net.stack(a)).send(net.stack(a), target, 3, b"")?;
/// net.run_for(Duration::from_millis(20));
/// assert_eq!(recorder.borrow().frames(), 4, "two frames in, two answers out");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HostObserver {
    label: String,
    recorder: SharedRecorder,
    show_rx: bool,
}

impl HostObserver {
    /// Report as `label`; show received frames only if `show_rx` (on a
    /// simulated segment the sender already showed them).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::recorder::{HostObserver, Recorder};
    /// use layernet::{Instant, net::{Direction, Observer}};
    /// let recorder = Recorder::new(None, Box::new(std::io::sink()), false).shared();
    /// let mut sender_only = HostObserver::new("h1", recorder.clone(), false);
    /// sender_only.frame(Instant::ZERO, Direction::Rx, &[0; 60]);
    /// assert_eq!(recorder.borrow().frames(), 0, "received frames are skipped");
    /// sender_only.frame(Instant::ZERO, Direction::Tx, &[0; 60]);
    /// assert_eq!(recorder.borrow().frames(), 1);
    /// ```
    pub fn new(label: &str, recorder: SharedRecorder, show_rx: bool) -> Self {
        HostObserver {
            label: label.to_string(),
            recorder,
            show_rx,
        }
    }
}

impl Observer for HostObserver {
    fn frame(&mut self, now: Instant, direction: Direction, frame: &[u8]) {
        if direction == Direction::Rx && !self.show_rx {
            return;
        }
        self.recorder
            .borrow_mut()
            .frame(now, &self.label, direction, frame);
    }

    fn event(&mut self, now: Instant, event: Event) {
        self.recorder.borrow_mut().event(now, &self.label, &event);
    }
}

/// The per-layer counter table for the named stacks, one column each.
///
/// # Example
///
/// ```
/// use layernet::{host::recorder::counters_table, net::Counters};
/// let client = Counters { tcp_rx: 3, tcp_tx: 4, ..Counters::default() };
/// let server = Counters { tcp_rx: 4, tcp_tx: 3, dropped_fragment: 2, ..Counters::default() };
/// let table = counters_table(&[("client", client), ("server", server)]);
/// let row = |start: &str| table.lines().find(|l| l.starts_with(start)).unwrap_or_default();
/// assert!(row("layer").ends_with("client          server"), "{table}");
/// assert!(row("TCP   segments rx/tx").ends_with("3/4             4/3"), "{table}");
/// assert!(row("gate  drop: fragment").ends_with(" 0               2"), "{table}");
/// ```
pub fn counters_table(hosts: &[(&str, Counters)]) -> String {
    type Row = (
        &'static str,
        &'static str,
        fn(&Counters) -> (u64, Option<u64>),
    );
    let rows: [Row; 15] = [
        ("link", "frames rx/tx", |c| (c.frames_rx, Some(c.frames_tx))),
        ("link", "dropped", |c| (c.dropped_total(), None)),
        ("ARP", "requests rx/tx", |c| {
            (c.arp_requests_rx, Some(c.arp_requests_tx))
        }),
        ("ARP", "replies rx/tx", |c| {
            (c.arp_replies_rx, Some(c.arp_replies_tx))
        }),
        ("IPv4", "packets rx/tx", |c| (c.ipv4_rx, Some(c.ipv4_tx))),
        ("IPv4", "bad checksums", |c| (c.ipv4_bad_checksum, None)),
        ("ICMP", "messages rx/tx", |c| (c.icmp_rx, Some(c.icmp_tx))),
        ("TCP", "segments rx/tx", |c| (c.tcp_rx, Some(c.tcp_tx))),
        ("TCP", "retransmissions", |c| (c.tcp_retransmits, None)),
        ("TCP", "quiet with data: nudged", |c| {
            (c.tcp_stall_kicks, None)
        }),
        ("TCP", "resets rx/tx", |c| {
            (c.tcp_resets_rx, Some(c.tcp_resets_tx))
        }),
        ("TCP", "no socket", |c| (c.tcp_no_socket, None)),
        ("TCP", "SYNs dropped (backlog)", |c| {
            (c.syn_dropped_busy, None)
        }),
        ("UDP", "datagrams rx/tx", |c| (c.udp_rx, Some(c.udp_tx))),
        ("UDP", "no socket", |c| (c.udp_no_socket, None)),
    ];
    // The IPv6 rows only when some host saw IPv6, so an IPv4-only table
    // stays as short as it was.
    #[cfg(feature = "ipv6")]
    let v6_rows: [Row; 3] = [
        ("IPv6", "packets rx/tx", |c| (c.ipv6_rx, Some(c.ipv6_tx))),
        ("ICMP6", "messages rx/tx", |c| {
            (c.icmpv6_rx, Some(c.icmpv6_tx))
        }),
        ("NDP", "messages rx/tx", |c| (c.ndp_rx, Some(c.ndp_tx))),
    ];
    #[cfg(feature = "ipv6")]
    let v6_rows = match hosts.iter().any(|(_, c)| c.ipv6_rx + c.ipv6_tx > 0) {
        true => &v6_rows[..],
        false => &[],
    };
    #[cfg(not(feature = "ipv6"))]
    let v6_rows: &[Row] = &[];
    let (v4_part, rest) = rows.split_at(7);
    let mut out = String::new();
    let _ = write!(out, "{:<6}{:<34}", "layer", "counter");
    for (name, _) in hosts {
        let _ = write!(out, "{name:>16}");
    }
    out.push('\n');
    for (layer, label, get) in v4_part.iter().chain(v6_rows).chain(rest) {
        let _ = write!(out, "{layer:<6}{label:<34}");
        for (_, c) in hosts {
            let cell = match get(c) {
                (a, Some(b)) => format!("{a}/{b}"),
                (a, None) => a.to_string(),
            };
            let _ = write!(out, "{cell:>16}");
        }
        out.push('\n');
    }
    let reasons = [
        DropReason::Malformed,
        DropReason::BadChecksum,
        DropReason::NotForUs,
        DropReason::Fragment,
        DropReason::Unsupported,
        DropReason::RstNotExact,
        DropReason::SynRepeat,
    ];
    for reason in reasons {
        let _ = write!(
            out,
            "{:<6}{:<34}",
            "gate",
            format!("drop: {}", reason.as_str())
        );
        for (_, c) in hosts {
            let n = match reason {
                DropReason::Malformed => c.dropped_malformed,
                DropReason::BadChecksum => c.dropped_bad_checksum,
                DropReason::NotForUs => c.dropped_not_for_us,
                DropReason::Fragment => c.dropped_fragment,
                DropReason::RstNotExact => c.dropped_rst_not_exact,
                DropReason::SynRepeat => c.syn_dropped_repeat,
                _ => c.dropped_unsupported,
            };
            let _ = write!(out, "{n:>16}");
        }
        out.push('\n');
    }
    out
}

/// The per-application table: for each named stack, what each service
/// moved through the socket layer.
///
/// # Example
///
/// ```
/// use layernet::host::recorder::apps_table;
/// use layernet::net::{AppCounters, Transport};
/// let echo = AppCounters { port: 7, transport: Transport::Tcp, connections: 2, bytes_in: 10, bytes_out: 10 };
/// let dns = AppCounters { port: 53, transport: Transport::Udp, bytes_in: 0, bytes_out: 30, ..echo };
/// let table = apps_table(&[("client", &[echo, dns][..])]);
/// let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
/// assert_eq!(rows[0], ["client", "echo", "tcp/7", "2", "10", "10"]);
/// assert_eq!(rows[1], ["client", "other", "udp/53", "-", "0", "30"]);
/// ```
pub fn apps_table(hosts: &[(&str, &[AppCounters])]) -> String {
    let mut out = format!(
        "{:<12}{:<22}{:>12}{:>14}{:>14}\n",
        "host", "application", "connections", "bytes in", "bytes out"
    );
    for (host, apps) in hosts {
        for app in *apps {
            let transport = match app.transport {
                Transport::Tcp => "tcp",
                Transport::Udp => "udp",
            };
            let name = crate::trace::service_name(app.port).unwrap_or("other");
            let label = format!("{name} {transport}/{}", app.port);
            let connections = match app.transport {
                Transport::Tcp => app.connections.to_string(),
                Transport::Udp => "-".into(),
            };
            let _ = writeln!(
                out,
                "{host:<12}{label:<22}{connections:>12}{:>14}{:>14}",
                app.bytes_in, app.bytes_out
            );
        }
    }
    out
}
