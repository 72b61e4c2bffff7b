//! `layernet bench`: the figures of issue 9 that need no privileges.
//!
//! Layer: the command-line binary (std). Uses the library's core stack, its
//! simulated segment and network, the greeting application and, for the
//! comparison, bare smoltcp. Nothing in the library uses it, so it lives in
//! the binary (issue 17 item 9). tests/bench.rs runs it as `layernet
//! bench`; rustdoc does not run a binary's doc tests, so its examples are
//! the unit tests at the end of each file.
//!
//! By concern: this file holds the figures, their table and JSON, the
//! options and the run; `transfer` the bulk TCP transfers (and the
//! functions scripts/bench-cpu.sh counts), `connections` the greeting
//! connections, `memory` the memory table, `sink_source` the TAP
//! throughput service.
//!
//!
//! - **Bulk TCP over the simulated segment**, at MTU 1500 and 9000, measured
//!   in wall time: the virtual clock makes the run CPU-bound, so the figure
//!   is what the code costs, not what a link allows. The peer moves the same
//!   bytes between two bare smoltcp `Interface` + `tcp::Socket` pairs over
//!   the same segment type, with the same buffer sizes; the ratio is what
//!   layernet's gate, socket pool and observers cost.
//! - **Connections per second** against the greeting server with 1, 4 and
//!   16 concurrent clients, over [`SimNet`](layernet::host::sim::SimNet). The peer serves and makes the
//!   same greeting connections between two bare smoltcp hosts on the same
//!   segment type.
//! - **Memory**: `size_of` of the stack, its per-socket parts, each
//!   application and the buffers, for the tiny and host profiles.
//! - **Heap allocations after setup**, when the caller can count them (only
//!   a binary can install a counting global allocator; `layernet` does).
//!
//! Both sides of a comparison run in the same invocation, alternating, and
//! each figure is the median of the runs: the build machines are shared.

mod connections;
mod memory;
mod sink_source;
mod transfer;

pub use sink_source::SinkSource;
pub use transfer::TRANSFERS;

use layernet::Instant;

use connections::{SAME_SOCKETS, connections, smoltcp_connections};
use memory::memory;
use transfer::transfer_pair;

/// The groups of figures, as `--only` names them.
pub const GROUPS: [&str; 3] = ["sim-transfer", "connections", "memory"];

/// One measured figure, and the peer it is compared with.
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
            let (mut rates, mut theirs, mut fewer) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                let (rate, allocs) =
                    connections(clients, options.connections(), options.allocations)?;
                rates.push(rate);
                allocations.extend(allocs);
                let total = options.connections();
                theirs.push(smoltcp_connections(clients, total, SAME_SOCKETS)?);
                fewer.push(smoltcp_connections(clients, total, 0)?);
            }
            let name = format!("sim.greeting.conns.c{clients}");
            let ours = median(rates);
            let peer = median(theirs);
            report(&Figure::with_peer(
                &name,
                ours,
                "conn/s",
                "smoltcp-only",
                peer,
            ));
            // The peer as it was before issue 17: only the sockets it uses
            // (8 listening, one per client), so a shorter egress walk.
            report(&Figure::with_peer(
                &format!("{name}.fewer-sockets"),
                ours,
                "conn/s",
                "smoltcp-8+clients",
                median(fewer),
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

/// The earlier of two deadlines, either if only one is set.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    // The examples of the library's `host::bench` docs, as they were.

    #[test]
    fn groups_name_the_sim_transfer() {
        assert!(GROUPS.contains(&"sim-transfer"));
    }

    #[test]
    fn a_figure_with_a_peer_has_a_ratio_and_json() {
        let f = Figure::with_peer("x", 2.0, "Gbit/s", "smoltcp", 4.0);
        assert_eq!(f.ratio, Some(0.5));
        assert!(f.to_json().contains(r#""peer":"smoltcp""#));
        let f = Figure::with_peer("conns", 900.0, "conn/s", "linux", 1000.0);
        assert_eq!((f.peer_value, f.ratio), (Some(1000.0), Some(0.9)));
    }

    #[test]
    fn a_figure_alone_has_no_peer() {
        let f = Figure::alone("mem.tiny.stack", 4208.0, "B");
        assert!(f.peer.is_none() && f.ratio.is_none());
    }

    #[test]
    fn json_has_every_field_and_escapes() {
        let json = Figure::alone("a\"b", 1.5, "B").to_json();
        assert_eq!(
            json,
            r#"{"name":"a\"b","value":1.5,"unit":"B","peer":null,"peer_value":null,"ratio":null}"#
        );
    }

    #[test]
    fn the_table_shows_the_ratio() {
        let text = table(&[Figure::with_peer("sim.tcp", 1.0, "Gbit/s", "smoltcp", 2.0)]);
        assert!(
            text.lines().nth(2).is_some_and(|l| l.contains("0.50")),
            "{text}"
        );
    }

    #[test]
    fn quick_transfers_are_smaller() {
        let o = Options {
            runs: 1,
            quick: true,
            ..Options::default()
        };
        assert_eq!(o.transfer_bytes(), 1 << 20);
        assert_eq!(Options::default().transfer_bytes(), 16 << 20);
        assert_eq!(Options::default().transfer_bytes(), 16 * 1024 * 1024);
    }

    #[test]
    fn run_reports_the_memory_group() -> Result<(), String> {
        let mut names = Vec::new();
        let only = Some("memory".to_string());
        run(
            &Options {
                runs: 1,
                quick: true,
                only,
                ..Options::default()
            },
            &mut |f| names.push(f.name.clone()),
        )?;
        assert!(names.contains(&"mem.tiny.resources".to_string()));
        Ok(())
    }
}
