//! The trace, the capture file and the counter tables on the host.
//!
//! Layer: host (std). Sends what it is shown to a shared [`Recorder`]: the
//! layered text of [`crate::trace`] on stderr (or any writer), a pcap or
//! pcapng capture, or both. Several stacks (the hosts of a simulated
//! segment) share one recorder, so one trace and one capture hold the
//! whole segment.
//!
//! Frames come from the link, through a [`LinkRecorder`]: it is the
//! [`Sink`] of a [`crate::link::capture::Captured`] wrapper around the
//! host's link (so the trace and the capture work over a simulated port,
//! the TAP or any other link alike), and the [`Witness`] of a
//! [`crate::link::faults::Faulty`] wrapper, which tells it what the wire
//! did to each frame. Events come from the stack, through a
//! [`HostObserver`] lent to each poll; it sees no frames.
//!
//! On a simulated segment every frame is shown once, when its sender puts
//! it on the wire; what the receiver made of it follows as events. On a TAP
//! link the one stack shows both directions.
//!
//! # The capture's two formats
//!
//! Without faults the capture is classic pcap (Ethernet, microseconds).
//! When the run can lose frames on purpose (faults on the simulated
//! segment or the TAP: [`Format::PcapNg`]), it is pcapng: one interface (Ethernet,
//! nanosecond timestamps), one Enhanced Packet Block per frame, and a frame
//! the faults hit carries one comment option per fault, each exactly
//! `layernet: dropped`, `layernet: corrupted`, `layernet: duplicated` or
//! `layernet: reordered` ([`VERDICTS`]). A lost frame is still written,
//! as its sender sent it, so that a reader sees what never arrived; each
//! frame is written once, a duplicated one too. On a TAP link with
//! `--faults` (faults both ways) the frames the stack sends are marked the
//! same way; of those from the kernel, one dropped before the stack saw
//! it is written with `layernet: dropped`, and the others as the stack
//! took them, unmarked (a corrupted one with its flipped bit).
//!
//! # Folding
//!
//! A run of `CLOSED -> LISTEN` changes of one host at one instant, with
//! nothing else between (a server's start-up: one socket per backlog slot
//! per service), prints as one line: the first change, and how many
//! sockets on which ports (`tcp 192.168.69.1 CLOSED -> LISTEN, 16
//! sockets: 4 on :7, 4 on :1234, ...`). A single change prints as it
//! always did.
//!
//! Why this file is over the project's 800-line guide: it is one concern,
//! turning what the link and the stack show into a trace, a capture and
//! the counter tables, around one type, [`Recorder`], whose two front
//! ends ([`LinkRecorder`], [`HostObserver`]) are thin; about 40% of its
//! lines are the docs and runnable examples on each output, which read
//! best beside the code they show. The counter tables are the seam to
//! split along if it grows.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::rc::Rc;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::{DataLink, Endianness};

use crate::Instant;
use crate::host::diagram::filter::{Filter, Matcher};
use crate::link::capture::Sink;
use crate::link::faults::{Fate, Witness};
use crate::net::{
    AppCounters, Counters, Direction, DropReason, Event, Observer, TcpState, Transport,
};
use crate::socket::EndpointText;
use crate::trace::{Decoder, Style};

/// The comments a pcapng record carries for what the simulated wire did to
/// its frame, in the order [`Fate`]'s faults are rolled: dropped,
/// corrupted, duplicated, reordered. Readers match them exactly.
///
/// ```
/// use layernet::host::recorder::VERDICTS;
/// assert_eq!(VERDICTS[0], "layernet: dropped");
/// assert!(VERDICTS.iter().all(|v| v.starts_with("layernet: ")));
/// ```
pub const VERDICTS: [&str; 4] = [
    "layernet: dropped",
    "layernet: corrupted",
    "layernet: duplicated",
    "layernet: reordered",
];

/// The comments for `fate`, in [`VERDICTS`]' order.
fn verdicts(fate: Fate) -> impl Iterator<Item = &'static str> {
    [
        fate.dropped,
        fate.corrupted,
        fate.duplicated,
        fate.reordered,
    ]
    .into_iter()
    .zip(VERDICTS)
    .filter_map(|(hit, v)| hit.then_some(v))
}

/// The capture's file format (see the module doc).
///
/// ```
/// use layernet::host::recorder::Format;
/// assert_ne!(Format::Pcap, Format::PcapNg);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap: no room for a verdict.
    Pcap,
    /// pcapng, with the wire's verdicts as packet comments.
    PcapNg,
}

/// tcpdump's snapshot length, not the crate's 65,535: a TAP with offloads
/// carries 64 KiB IP packets, 65,549-byte frames, which the writer refuses
/// beyond the length its header announces.
const SNAPLEN: u32 = 262_144;

/// The capture's output, shared between its writer and [`Recorder::flush`]
/// (classic pcap's writer lends no access to what it writes into).
#[derive(Clone)]
struct Out(Rc<RefCell<Box<dyn Write>>>);

impl Write for Out {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(bytes)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

struct Capture {
    writer: Writer,
    out: Out,
}

enum Writer {
    Pcap(PcapWriter<Out>),
    PcapNg(PcapNgWriter<Out>),
}

impl Capture {
    fn open(out: Box<dyn Write>, format: Format) -> Result<Capture, String> {
        let out = Out(Rc::new(RefCell::new(out)));
        let writer = Capture::writer(out.clone(), format)?;
        Ok(Capture { writer, out })
    }

    fn writer(out: Out, format: Format) -> Result<Writer, String> {
        match format {
            Format::Pcap => {
                let header = PcapHeader {
                    snaplen: SNAPLEN,
                    endianness: Endianness::native(),
                    ..PcapHeader::default()
                };
                let w = PcapWriter::with_header(out, header).map_err(|e| e.to_string())?;
                Ok(Writer::Pcap(w))
            }
            Format::PcapNg => {
                let mut w = PcapNgWriter::new(out).map_err(|e| e.to_string())?;
                // Nanoseconds, as the crate writes them (and reads them
                // back whatever the interface says): tshark needs to be told.
                let interface = InterfaceDescriptionBlock {
                    linktype: DataLink::ETHERNET,
                    snaplen: SNAPLEN,
                    options: vec![InterfaceDescriptionOption::IfTsResol(9)],
                };
                w.write_pcapng_block(interface).map_err(|e| e.to_string())?;
                Ok(Writer::PcapNg(w))
            }
        }
    }

    fn write(&mut self, now: Instant, frame: &[u8], fate: Fate) -> Result<(), String> {
        let micros = u64::try_from(now.total_micros()).unwrap_or(0);
        let at = std::time::Duration::from_micros(micros);
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        match &mut self.writer {
            Writer::Pcap(w) => w
                .write_packet(&PcapPacket::new(at, len, frame))
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Writer::PcapNg(w) => {
                let options = verdicts(fate)
                    .map(|v| EnhancedPacketOption::Comment(v.into()))
                    .collect();
                let packet = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: at,
                    original_len: len,
                    data: frame.into(),
                    options,
                };
                w.write_pcapng_block(packet)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A sent frame waiting for the fault wrapper's verdict, which comes
/// right after the capture saw it (see [`Recorder::fate`]).
struct Pending {
    now: Instant,
    frame: Vec<u8>,
}

/// Start-up `CLOSED -> LISTEN` changes being folded into one line.
struct Listening {
    now: Instant,
    host: String,
    first: Event,
    /// (local endpoint, sockets), in the order first seen.
    ports: Vec<(crate::IpEndpoint, usize)>,
}

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
/// recorder.borrow_mut().flush()?;
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
    capture: Option<Capture>,
    pending: Option<Pending>,
    listening: Option<Listening>,
    /// Something was written since the last flush.
    dirty: bool,
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
/// // Per host: its observer, its capture's sink and its fault wrapper's witness.
/// assert_eq!(std::rc::Rc::strong_count(&recorder), 1 + 2 * 3);
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
    /// use layernet::host::recorder::{LinkRecorder, Recorder};
    /// use layernet::{Instant, link::capture::Sink, trace::Style};
    /// let file = tempfile::NamedTempFile::new()?;
    /// let recorder = Recorder::new(Some(Style::Full), Box::new(file.reopen()?), true).shared();
    /// let mut tap = LinkRecorder::new("tap0", recorder.clone());
    /// tap.frame(Instant::from_secs(1), true, &[0; 3]);
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
            capture: None,
            pending: None,
            listening: None,
            dirty: false,
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
    /// use layernet::host::recorder::{LinkRecorder, Recorder};
    /// use layernet::{Instant, link::capture::Sink, trace::Style};
    /// let file = tempfile::NamedTempFile::new()?;
    /// let mut recorder = Recorder::new(Some(Style::Brief), Box::new(file.reopen()?), false);
    /// recorder.filter_trace("frames=2".parse()?);
    /// let recorder = recorder.shared();
    /// let mut h = LinkRecorder::new("h", recorder.clone());
    /// for ms in 0..3 {
    ///     h.frame(Instant::from_millis(ms), true, &[0; 60]);
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
    /// use layernet::host::recorder::{LinkRecorder, Recorder};
    /// use layernet::{Instant, link::capture::Sink};
    /// let dir = tempfile::tempdir()?;
    /// let mut recorder = Recorder::new(None, Box::new(std::io::sink()), false);
    /// let nowhere = recorder.capture_to(&dir.path().join("missing/x.pcap")).err();
    /// assert!(nowhere.is_some_and(|e| e.contains("x.pcap")));
    /// let path = dir.path().join("one.pcap");
    /// recorder.capture_to(&path)?;
    /// let recorder = recorder.shared();
    /// let mut h1 = LinkRecorder::new("h1", recorder.clone());
    /// h1.frame(Instant::ZERO, false, &[0xff; 60]);
    /// // As big as a TAP with offloads makes them: a 64 KiB IP packet.
    /// h1.frame(Instant::ZERO, false, &vec![0xff; 65_535 + 14]);
    /// recorder.borrow_mut().finish()?;
    /// let pcap = std::fs::read(&path)?;
    /// assert_eq!(pcap[..4], [0xd4, 0xc3, 0xb2, 0xa1], "classic pcap, microseconds");
    /// assert_eq!(pcap.len(), 24 + 16 + 60 + 16 + 65_549, "file header, then records and frames");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn capture_to(&mut self, path: &Path) -> Result<(), String> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.capture_into(Box::new(BufWriter::new(file)), Format::Pcap)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Also write every frame to `out` in `format` (a file, a pipe,
    /// standard output), its header now.
    ///
    /// # Errors
    /// The header cannot be written.
    ///
    /// # Example
    ///
    /// A frame the simulated wire lost, in pcapng with its verdict:
    ///
    /// ```
    /// use layernet::host::recorder::{Format, LinkRecorder, Recorder};
    /// use layernet::link::{capture::Sink, faults::{Fate, Witness}};
    /// use layernet::Instant;
    /// use pcap_file::pcapng::{Block, PcapNgReader};
    /// use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let mut recorder = Recorder::new(None, Box::new(std::io::sink()), false);
    /// recorder.capture_into(Box::new(file.reopen()?), Format::PcapNg)?;
    /// let recorder = recorder.shared();
    /// let mut h1 = LinkRecorder::new("h1", recorder.clone());
    /// h1.frame(Instant::ZERO, false, &[1; 60]); // the capture sees it sent,
    /// h1.fate(Instant::ZERO, false, &[1; 60], Fate { dropped: true, ..Fate::CLEAN }); // the wire loses it
    /// recorder.borrow_mut().finish()?;
    /// let mut reader = PcapNgReader::new(std::fs::File::open(file.path())?)?;
    /// let mut comments = Vec::new();
    /// while let Some(block) = reader.next_block() {
    ///     if let Block::EnhancedPacket(p) = block? {
    ///         for o in &p.options {
    ///             if let EnhancedPacketOption::Comment(c) = o { comments.push(c.to_string()) }
    ///         }
    ///     }
    /// }
    /// assert_eq!(comments, ["layernet: dropped"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn capture_into(&mut self, out: Box<dyn Write>, format: Format) -> Result<(), String> {
        self.capture = Some(Capture::open(out, format)?);
        self.dirty = true;
        Ok(())
    }

    /// Share it.
    ///
    /// # Example
    ///
    /// Frame numbers run across every link that reports to it:
    ///
    /// ```
    /// use layernet::host::recorder::{LinkRecorder, Recorder};
    /// use layernet::{Instant, link::capture::Sink, trace::Style};
    /// let file = tempfile::NamedTempFile::new()?;
    /// let shared = Recorder::new(Some(Style::Brief), Box::new(file.reopen()?), false).shared();
    /// let mut a = LinkRecorder::new("a", shared.clone());
    /// let mut b = LinkRecorder::new("b", shared.clone());
    /// a.frame(Instant::ZERO, false, &[]);
    /// b.frame(Instant::from_millis(1), false, &[]);
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

    /// Write out what is held back (a sent frame's record waiting for its
    /// verdict, folded `LISTEN` lines) and flush the text and the capture,
    /// so that a reader following the file or the pipe sees every frame
    /// so far. Cheap when nothing was written since the last flush: the
    /// TAP host calls it after every round of polls.
    ///
    /// # Errors
    /// The first write that failed so far, or this flush (reported once).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::recorder::{LinkRecorder, Recorder};
    /// use layernet::{Instant, link::capture::Sink};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("live.pcap");
    /// let mut recorder = Recorder::new(None, Box::new(std::io::sink()), false);
    /// recorder.capture_to(&path)?;
    /// let recorder = recorder.shared();
    /// LinkRecorder::new("h1", recorder.clone()).frame(Instant::ZERO, true, &[0; 60]);
    /// recorder.borrow_mut().flush()?;
    /// assert_eq!(std::fs::metadata(&path)?.len(), 24 + 16 + 60, "on disk before the end");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&mut self) -> Result<(), String> {
        self.write_out();
        match &self.failure {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// [`Recorder::flush`]'s work; a failure is kept for [`Recorder::finish`].
    fn write_out(&mut self) {
        self.settle();
        if std::mem::take(&mut self.dirty) {
            if let Some(capture) = self.capture.as_mut()
                && let Err(e) = capture.flush()
            {
                self.failure.get_or_insert(format!("pcap: {e}"));
                self.capture = None;
            }
            if let Err(e) = self.out.flush() {
                self.failure.get_or_insert(format!("trace: {e}"));
                self.style = None;
            }
        }
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
    /// use layernet::host::recorder::{LinkRecorder, Recorder};
    /// use layernet::{Instant, link::capture::Sink, trace::Style};
    /// struct Full;
    /// impl std::io::Write for Full {
    ///     fn write(&mut self, _: &[u8]) -> std::io::Result<usize> { Err(std::io::ErrorKind::StorageFull.into()) }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let recorder = Recorder::new(Some(Style::Brief), Box::new(Full), false).shared();
    /// LinkRecorder::new("h1", recorder.clone()).frame(Instant::ZERO, true, &[1]);
    /// let failed = recorder.borrow_mut().finish().err().ok_or("a full disk went unnoticed")?;
    /// assert!(failed.starts_with("trace: "), "{failed}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(&mut self) -> Result<(), String> {
        self.dirty = true;
        self.write_out();
        self.capture = None;
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Write out what is held back, in the order it came.
    fn settle(&mut self) {
        if let Some(p) = self.pending.take() {
            self.record(p.now, &p.frame, Fate::CLEAN);
        }
        if let Some(l) = self.listening.take() {
            self.print_listening(l);
        }
    }

    fn record(&mut self, now: Instant, frame: &[u8], fate: Fate) {
        let Some(capture) = self.capture.as_mut() else {
            return;
        };
        self.dirty = true;
        if let Err(e) = capture.write(now, frame, fate) {
            self.failure.get_or_insert(format!("pcap: {e}"));
            self.capture = None;
        }
    }

    fn emit(&mut self, text: &str, colour: &str) {
        self.dirty = true;
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
        self.settle();
        self.frames += 1;
        // A sent frame in pcapng waits for its verdict: the fault
        // wrapper under the capture rolls for it once the capture has
        // seen it (and says nothing when no faults are on: the next
        // record, event or flush writes it clean).
        if let Some(Capture {
            writer: Writer::PcapNg(_),
            ..
        }) = self.capture
            && direction == Direction::Tx
        {
            self.pending = Some(Pending {
                now,
                frame: frame.to_vec(),
            });
        } else {
            self.record(now, frame, Fate::CLEAN);
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

    /// What the fault wrapper did to a frame (see the module doc).
    fn fate(&mut self, now: Instant, inbound: bool, frame: &[u8], fate: Fate) {
        let pending = self.pending.take();
        match pending {
            // The frame the capture just saw leave: its record, with the verdict.
            Some(p) if !inbound && p.frame == frame => self.record(p.now, &p.frame, fate),
            other => {
                self.pending = other;
                // A sent frame was recorded when the capture saw it (in
                // classic pcap, which has no room for a verdict). A
                // received one dropped before the stack saw it (faults on
                // frames from the link, the TAP's `--faults`) has only
                // this record; one that went on, corrupted or not, is
                // recorded as the stack takes it.
                if inbound && fate.dropped {
                    self.settle();
                    self.record(now, frame, fate);
                }
            }
        }
    }

    fn event(&mut self, now: Instant, host: &str, event: &Event) {
        if let Some(p) = self.pending.take() {
            self.record(p.now, &p.frame, Fate::CLEAN);
        }
        if self.style.is_none() || !self.event_passes(event) {
            return;
        }
        if let Event::State {
            local,
            from: TcpState::Closed,
            to: TcpState::Listen,
            ..
        } = *event
        {
            let l = self.listening.get_or_insert_with(|| Listening {
                now,
                host: host.to_string(),
                first: *event,
                ports: Vec::new(),
            });
            if l.now == now && l.host == host {
                match l.ports.iter_mut().find(|(e, _)| *e == local) {
                    Some((_, n)) => *n += 1,
                    None => l.ports.push((local, 1)),
                }
                return;
            }
        }
        if let Some(l) = self.listening.take() {
            self.print_listening(l);
            // This change may begin the next run.
            if matches!(
                event,
                Event::State {
                    from: TcpState::Closed,
                    to: TcpState::Listen,
                    ..
                }
            ) {
                return self.event(now, host, event);
            }
        }
        self.print_event(now, host, event);
    }

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

    fn print_event(&mut self, now: Instant, host: &str, event: &Event) {
        let mut text = String::new();
        let head = format_args!("  * {} {host}:", seconds(now));
        let _ = self.decoder.write_event(&mut text, head, event);
        let colour = match event {
            Event::Dropped(_) | Event::NoSocket { .. } => RED,
            _ => YELLOW,
        };
        self.emit(&text, colour);
    }

    /// One line for a run of `CLOSED -> LISTEN` changes: the first as it
    /// always printed when it is alone, else the address, and how many
    /// sockets listen on which ports.
    fn print_listening(&mut self, l: Listening) {
        let [(first, n), ..] = l.ports.as_slice() else {
            return;
        };
        if l.ports.len() == 1 && *n == 1 {
            return self.print_event(l.now, &l.host, &l.first);
        }
        let sockets: usize = l.ports.iter().map(|(_, n)| n).sum();
        let each: Vec<String> = l
            .ports
            .iter()
            .map(|(e, n)| match e.addr == first.addr {
                true => format!("{n} on :{}", e.port),
                false => format!("{n} on {}", EndpointText(*e)),
            })
            .collect();
        let text = format!(
            "  * {} {}: tcp {} CLOSED -> LISTEN, {sockets} sockets: {}\n",
            seconds(l.now),
            l.host,
            first.addr,
            each.join(", ")
        );
        self.emit(&text, YELLOW);
    }
}

/// One link's view into a shared recorder: the [`Sink`] of the
/// [`crate::link::capture::Captured`] wrapper around a host's link, and
/// the [`Witness`] of its fault wrapper.
///
/// # Example
///
/// The LAN9118 driver (its fake registers here), captured like any link:
///
/// ```
/// use layernet::host::recorder::{LinkRecorder, Recorder};
/// use layernet::link::{capture::Captured, lan9118::{Lan9118, fake::FakeLan9118}};
/// use layernet::{Instant, link::Link};
/// let recorder = Recorder::new(None, Box::new(std::io::sink()), false).shared();
/// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// let mut nic = Captured::new(nic, LinkRecorder::new("board", recorder.clone()));
/// nic.inner_mut().registers().deliver(&[0xff; 60])?;
/// assert!(nic.peek(Instant::ZERO).is_some());
/// assert_eq!(recorder.borrow().frames(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct LinkRecorder {
    label: Rc<str>,
    recorder: SharedRecorder,
}

impl LinkRecorder {
    /// Report as `label`. Which directions are shown is the capture
    /// wrapper's choice ([`crate::link::capture::Captured::with_ways`]).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::recorder::{LinkRecorder, Recorder};
    /// use layernet::{Instant, link::capture::Sink};
    /// let recorder = Recorder::new(None, Box::new(std::io::sink()), false).shared();
    /// let mut h1 = LinkRecorder::new("h1", recorder.clone());
    /// h1.frame(Instant::ZERO, true, &[0; 60]);
    /// h1.frame(Instant::ZERO, false, &[0; 60]);
    /// assert_eq!(recorder.borrow().frames(), 2);
    /// ```
    pub fn new(label: &str, recorder: SharedRecorder) -> Self {
        LinkRecorder {
            label: label.into(),
            recorder,
        }
    }
}

impl LinkRecorder {
    /// The recorder it reports to (to flush it between polls).
    ///
    /// ```
    /// use layernet::host::recorder::{LinkRecorder, Recorder};
    /// let recorder = Recorder::new(None, Box::new(std::io::sink()), false).shared();
    /// let link = LinkRecorder::new("tap0", recorder.clone());
    /// assert!(std::rc::Rc::ptr_eq(link.recorder(), &recorder));
    /// ```
    pub fn recorder(&self) -> &SharedRecorder {
        &self.recorder
    }
}

impl Sink for LinkRecorder {
    fn frame(&mut self, now: Instant, inbound: bool, frame: &[u8]) {
        let direction = if inbound {
            Direction::Rx
        } else {
            Direction::Tx
        };
        self.recorder
            .borrow_mut()
            .frame(now, &self.label, direction, frame);
    }
}

impl Witness for LinkRecorder {
    fn fate(&mut self, now: Instant, inbound: bool, frame: &[u8], fate: Fate) {
        self.recorder.borrow_mut().fate(now, inbound, frame, fate);
    }
}

/// One stack's events into a shared recorder (the frames come from its
/// link, through a [`LinkRecorder`]).
///
/// # Example
///
/// Attached by hand to one stack:
///
/// ```
/// use layernet::host::{sim::SimNet, recorder::{HostObserver, Recorder}};
/// use layernet::{Duration, socket::TcpStream, trace::Style};
/// let file = tempfile::NamedTempFile::new()?;
/// let recorder = Recorder::new(Some(Style::Brief), Box::new(file.reopen()?), false).shared();
/// let (mut net, a, b) = SimNet::pair(8)?;
/// net.observe(b, Some(Box::new(HostObserver::new("b", recorder.clone()))));
/// let _s = TcpStream::connect(net.stack(b), layernet::host::sim::endpoint(a, 7))?;
/// net.run_for(Duration::from_millis(20));
/// recorder.borrow_mut().finish()?;
/// let text = std::fs::read_to_string(file.path())?;
/// assert!(text.contains(" b: tcp 192.168.69.2:"), "{text}");
/// assert_eq!(recorder.borrow().frames(), 0, "no frames: nobody captures the link");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HostObserver {
    label: String,
    recorder: SharedRecorder,
}

impl HostObserver {
    /// Report as `label`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::recorder::{HostObserver, Recorder};
    /// use layernet::{Instant, net::{Direction, Observer}};
    /// let recorder = Recorder::new(None, Box::new(std::io::sink()), false).shared();
    /// let mut h1 = HostObserver::new("h1", recorder.clone());
    /// h1.frame(Instant::ZERO, Direction::Tx, &[0; 60]);
    /// assert_eq!(recorder.borrow().frames(), 0, "frames are the link's to show");
    /// ```
    pub fn new(label: &str, recorder: SharedRecorder) -> Self {
        HostObserver {
            label: label.to_string(),
            recorder,
        }
    }
}

impl Observer for HostObserver {
    /// Frames are shown by the link's capture, not here.
    fn frame(&mut self, _: Instant, _: Direction, _: &[u8]) {}

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
