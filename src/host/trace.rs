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

use pcap_file::pcap::{PcapPacket, PcapWriter};

use crate::Instant;
use crate::net::{AppCounters, Counters, Direction, DropReason, Event, Observer, Transport};
use crate::trace::{Decoder, Style};

/// Where the trace goes and in what form.
pub struct Recorder {
    decoder: Decoder,
    style: Option<Style>,
    out: Box<dyn Write>,
    colour: bool,
    pcap: Option<PcapWriter<BufWriter<File>>>,
    frames: u64,
    failure: Option<String>,
}

/// A recorder shared by the stacks that report to it.
pub type SharedRecorder = Rc<RefCell<Recorder>>;

/// `now` as seconds with microseconds, the way tshark prints relative time.
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
    pub fn new(style: Option<Style>, out: Box<dyn Write>, colour: bool) -> Self {
        Recorder {
            decoder: Decoder::new(),
            style,
            out,
            colour,
            pcap: None,
            frames: 0,
            failure: None,
        }
    }

    /// Also write every frame to a classic pcap file (Ethernet link type,
    /// microsecond timestamps) at `path`, created or truncated now.
    ///
    /// # Errors
    /// The file cannot be created or its header written.
    pub fn capture_to(&mut self, path: &Path) -> Result<(), String> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let writer = PcapWriter::new(BufWriter::new(file))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        self.pcap = Some(writer);
        Ok(())
    }

    /// Share it.
    pub fn shared(self) -> SharedRecorder {
        Rc::new(RefCell::new(self))
    }

    /// Frames recorded so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Flush the text and close the capture file (later frames are not
    /// captured).
    ///
    /// # Errors
    /// The first write that failed, or the flush.
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
        if self.style.is_none() {
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

/// One stack's view into a shared recorder.
pub struct HostObserver {
    label: String,
    recorder: SharedRecorder,
    show_rx: bool,
}

impl HostObserver {
    /// Report as `label`; show received frames only if `show_rx` (on a
    /// simulated segment the sender already showed them).
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
pub fn counters_table(hosts: &[(&str, Counters)]) -> String {
    type Row = (
        &'static str,
        &'static str,
        fn(&Counters) -> (u64, Option<u64>),
    );
    let rows: [Row; 14] = [
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
    let mut out = String::new();
    let _ = write!(out, "{:<6}{:<28}", "layer", "counter");
    for (name, _) in hosts {
        let _ = write!(out, "{name:>16}");
    }
    out.push('\n');
    for (layer, label, get) in &rows {
        let _ = write!(out, "{layer:<6}{label:<28}");
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
    ];
    for reason in reasons {
        let _ = write!(
            out,
            "{:<6}{:<28}",
            "gate",
            format!("drop: {}", reason.as_str())
        );
        for (_, c) in hosts {
            let n = match reason {
                DropReason::Malformed => c.dropped_malformed,
                DropReason::BadChecksum => c.dropped_bad_checksum,
                DropReason::NotForUs => c.dropped_not_for_us,
                DropReason::Fragment => c.dropped_fragment,
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
