//! What every command that opens a link shares: the trace, capture and
//! counters the options ask for, the TAP link and the stack's
//! configuration, and the lines that report DHCP and the link's faults.
//!
//! Layer: host (std), the binary. Depends on the library's host side
//! (TAP, trace) and on the parsed options in `args.rs`.

use layernet::Duration;
use layernet::host::recorder::{Format, Recorder, SharedRecorder, apps_table, counters_table};
use layernet::host::tap_net::TapNet;
use layernet::link::tap::TapDevice;
use layernet::net::{AppCounters, Config, Counters, DEFAULT_IP, DhcpEvent, DnsStorage, Lease};
use layernet::trace::Style;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// Standard output carries the capture (`--pcap -`): what the commands
/// print there goes to stderr instead.
static STDOUT_IS_CAPTURE: AtomicBool = AtomicBool::new(false);

/// Whether `--pcap` names standard output.
pub(crate) fn pcap_to_stdout(global: &Global) -> bool {
    global.pcap.as_deref() == Some(std::path::Path::new("-"))
}

/// Print one line of a command's own output: on stdout, or on stderr
/// while stdout carries the capture (so `serve --pcap - | tshark -r -`
/// reads frames only, and the access log stays on the terminal).
pub(crate) fn out_line(line: std::fmt::Arguments<'_>) {
    if STDOUT_IS_CAPTURE.load(Ordering::Relaxed) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

use crate::args::{Global, Ip6Mode, IpMode, Link, TraceStyle};

/// The trace, the capture file and the counters the options asked for.
pub(crate) struct Capture {
    pub(crate) recorder: Option<SharedRecorder>,
    pub(crate) counters: bool,
}

impl Capture {
    /// The trace and the capture, as the options ask: classic pcap, or
    /// pcapng with the verdicts of `--faults` when there are faults.
    pub(crate) fn new(global: &Global) -> Result<Capture, String> {
        let format = match global.faults {
            Some(_) => Format::PcapNg,
            None => Format::Pcap,
        };
        Capture::with_format(global, format)
    }

    /// [`Capture::new`], the capture in `format` (pcapng where the
    /// simulated wire's verdicts are to be kept).
    pub(crate) fn with_format(global: &Global, format: Format) -> Result<Capture, String> {
        let style = global.trace.map(|t| match t {
            TraceStyle::Full => Style::Full,
            TraceStyle::Brief => Style::Brief,
        });
        let recorder = if style.is_some() || global.pcap.is_some() {
            let colour = std::io::stderr().is_terminal();
            let mut recorder = Recorder::new(style, Box::new(std::io::stderr()), colour);
            if let Some(filter) = &global.trace_filter {
                recorder.filter_trace(filter.clone());
            }
            if pcap_to_stdout(global) {
                // A descriptor of our own on stdout, buffered by us:
                // `Stdout` would flush at every newline byte of the
                // binary stream. Flushed after every round of polls.
                let fd = std::os::fd::AsFd::as_fd(&std::io::stdout())
                    .try_clone_to_owned()
                    .map_err(|e| format!("--pcap -: {e}"))?;
                let out = std::io::BufWriter::new(std::fs::File::from(fd));
                recorder
                    .capture_into(Box::new(out), format)
                    .map_err(|e| format!("--pcap -: {e}"))?;
                STDOUT_IS_CAPTURE.store(true, Ordering::Relaxed);
            } else if let Some(path) = &global.pcap {
                std::fs::File::create(path)
                    .map_err(|e| e.to_string())
                    .and_then(|f| {
                        let out = Box::new(std::io::BufWriter::new(f));
                        recorder.capture_into(out, format)
                    })
                    .map_err(|e| format!("--pcap {}: {e}", path.display()))?;
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
    pub(crate) fn report(&self, hosts: &[(&str, Counters, &[AppCounters])]) {
        if self.counters {
            print_counters(hosts);
        }
    }

    /// Write out the trace and the capture so far (`serve` on SIGUSR1; a
    /// TAP host also does it after every round of polls). A failure waits
    /// for [`Capture::finish`].
    pub(crate) fn flush(&self) {
        if let Some(r) = &self.recorder {
            let _ = r.borrow_mut().flush();
        }
    }

    /// Flush the trace and the capture file.
    pub(crate) fn finish(&self) -> Result<(), String> {
        match &self.recorder {
            Some(r) => r.borrow_mut().finish(),
            None => Ok(()),
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
pub(crate) fn print_counters(hosts: &[(&str, Counters, &[AppCounters])]) {
    let layers: Vec<(&str, Counters)> = hosts.iter().map(|(n, c, _)| (*n, *c)).collect();
    let apps: Vec<(&str, &[AppCounters])> = hosts.iter().map(|(n, _, a)| (*n, *a)).collect();
    eprint!("{}\n{}", counters_table(&layers), apps_table(&apps));
}

pub(crate) fn open_tap(global: &Global, capture: &Capture) -> Result<TapNet, String> {
    open_tap_with(global, capture, TapNet::new)
}

/// [`open_tap`], with `new` making the stack from the configuration.
pub(crate) fn open_tap_with(
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

pub(crate) fn lease_extras(l: Lease) -> String {
    let mut s = String::new();
    if let Some(r) = l.router {
        s += &format!(", router {r}");
    }
    if let Some(d) = l.dns {
        s += &format!(", dns {d}");
    }
    if let Some(t) = l.ntp {
        s += &format!(", ntp {t}");
    }
    s
}
