//! The ladder (sequence) diagram: one column per host, one arrow per
//! frame, time running down the page.
//!
//! Layer: host (std). Depends on [`super::flow`] for what each segment
//! means, [`super::filter`] for which frames to draw and [`super::svg`].
//! Without colour the marks still read: a retransmission is a dashed
//! arrow labelled RETRANSMISSION, a lost frame a dashed arrow that ends
//! short at a cross, ARP dotted, UDP dash-dotted, a reset thick.

use std::net::IpAddr;

use super::capture::Verdict;
use super::decode::{L4, Summary, service_of};
use super::filter::Matcher;
use super::flow::{Analysis, Item, TcpNote};
use super::svg::Svg;

/// Most frames one ladder draws; past it a note says how to narrow it.
pub(crate) const MAX_FRAMES: usize = 1500;
/// Quiet time after which the ladder folds the gap (microseconds).
pub(crate) const FOLD_MICROS: i64 = 200_000;

const LEFT: f64 = 220.0;
const SPACING: f64 = 440.0;
const TOP: f64 = 90.0;
const ROW: f64 = 56.0;
const FOLD: f64 = 30.0;
const SLOPE: f64 = 12.0;

/// The ladder of the frames of `analysis` that `matcher` passes.
///
/// # Errors
/// No frame passes the filter.
pub(crate) fn draw(
    analysis: &Analysis,
    matcher: &mut Matcher,
    title: &str,
) -> Result<String, String> {
    let mut chosen: Vec<&Item> = Vec::new();
    for item in &analysis.items {
        if matcher.matches_summary(item.frame.number, &item.summary) && ends(item).is_some() {
            chosen.push(item);
        }
    }
    if chosen.is_empty() {
        return Err("no ARP or IP frame matches the filter".into());
    }
    let more = chosen.len().saturating_sub(MAX_FRAMES);
    chosen.truncate(MAX_FRAMES);
    let mut hosts: Vec<IpAddr> = Vec::new();
    for item in &chosen {
        if let Some((a, b)) = ends(item) {
            for h in [a, b] {
                if !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
        }
    }
    let x_of = |h: IpAddr| LEFT + SPACING * hosts.iter().position(|x| *x == h).unwrap_or(0) as f64;
    let width = LEFT + SPACING * (hosts.len().max(2) - 1) as f64 + 180.0;
    let mut svg = Svg::new(width, 0.0);
    svg.text(12.0, 24.0, "start", "h", title);
    svg.text(12.0, 42.0, "start", "s",
        "time runs down; solid: delivered; dashed and short with a cross: lost on the wire; dotted: ARP; dash-dot: UDP; thick: reset");
    for h in &hosts {
        svg.text(x_of(*h), 70.0, "middle", "b", &h.to_string());
    }
    svg.text(12.0, 70.0, "start", "b", "time (s)  frame");
    let mut y = TOP;
    let mut folds: Vec<(f64, f64)> = Vec::new();
    let mut last_time: Option<i64> = None;
    for item in &chosen {
        let Some((from, to)) = ends(item) else {
            continue;
        };
        if let Some(t) = last_time
            && item.frame.micros.saturating_sub(t) >= FOLD_MICROS
        {
            let gap = item.frame.micros.saturating_sub(t) as f64 / 1e6;
            folds.push((y, gap));
            y += FOLD;
        }
        last_time = Some(item.frame.micros);
        let (x1, x2) = (x_of(from), x_of(to));
        let seconds = item.frame.micros as f64 / 1e6;
        svg.text(
            12.0,
            y + 10.0,
            "start",
            "ms",
            &format!("{seconds:.6}  #{}", item.frame.number),
        );
        let (label, detail, class) = describe(item);
        let lost = item.frame.verdict == Some(Verdict::Dropped);
        let (x2, y2) = if x1 == x2 {
            (x1 + 60.0, y + SLOPE)
        } else if lost {
            (x1 + (x2 - x1) * 0.55, y + SLOPE * 0.55)
        } else {
            (x2, y + SLOPE)
        };
        let class = if lost { "lost" } else { class };
        if lost {
            svg.line(x1, y, x2, y2, class);
            svg.line(x2 - 6.0, y2 - 6.0, x2 + 6.0, y2 + 6.0, "thick");
            svg.line(x2 - 6.0, y2 + 6.0, x2 + 6.0, y2 - 6.0, "thick");
        } else {
            svg.arrow(x1, y, x2, y2, class);
        }
        let mid = (x1 + x_of(to)) / 2.0;
        let mid = if x1 == x_of(to) { x1 + 70.0 } else { mid };
        let anchor = if x1 == x_of(to) { "start" } else { "middle" };
        svg.text(mid, y - 5.0, anchor, "t", &label);
        svg.text(mid, y + SLOPE + 13.0, anchor, "s", &detail);
        y += ROW;
    }
    if more > 0 {
        svg.text(12.0, y + 10.0, "start", "b",
            &format!("... and {more} more frames: narrow the picture with --filter frames=A..B, port=, conn="));
        y += ROW;
    }
    for h in &hosts {
        svg.line(x_of(*h), 78.0, x_of(*h), y, "thin");
    }
    for (fy, gap) in folds {
        let mut zig = Vec::new();
        let mut x = 8.0;
        let mut up = true;
        while x < width - 8.0 {
            zig.push((x, fy + if up { 6.0 } else { 14.0 }));
            up = !up;
            x += 12.0;
        }
        svg.polyline(&zig, "thin");
        svg.text(
            width - 12.0,
            fy + 4.0,
            "end",
            "s",
            &format!("{gap:.3} s with no frame (folded)"),
        );
    }
    svg.set_height(y + 20.0);
    Ok(svg.finish(title))
}

/// The two hosts a frame goes between: for ARP, the asker and the one
/// asked for.
fn ends(item: &Item) -> Option<(IpAddr, IpAddr)> {
    match &item.summary {
        Summary::Arp {
            request: true,
            sender,
            target,
        } => Some((*sender, *target)),
        Summary::Arp {
            request: false,
            sender,
            target,
        } => Some((*sender, *target)),
        Summary::Ip { src, dst, .. } => Some((*src, *dst)),
        Summary::Other(_) => None,
    }
}

/// The label above the arrow, the detail beneath it, and the line style.
fn describe(item: &Item) -> (String, String, &'static str) {
    let verdict = item
        .frame
        .verdict
        .map(|v| {
            format!(
                "  [{}{}]",
                if v == Verdict::Dropped { "✕ " } else { "" },
                v.as_str()
            )
        })
        .unwrap_or_default();
    match (&item.summary, &item.tcp) {
        (
            Summary::Arp {
                request: true,
                target,
                sender,
            },
            _,
        ) => (
            format!("ARP who has {target}? tell {sender}{verdict}"),
            "broadcast".into(),
            "arp",
        ),
        (
            Summary::Arp {
                request: false,
                sender,
                ..
            },
            _,
        ) => (
            format!("ARP {sender} is here{verdict}"),
            "reply".into(),
            "arp",
        ),
        (Summary::Ip { .. }, Some(note)) => tcp_label(note, &verdict),
        (Summary::Ip { l4, .. }, None) => match l4 {
            L4::Udp { sport, dport, len } => {
                let service = service_of(*sport, *dport)
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                (
                    format!("UDP len {len}{verdict}"),
                    format!("{sport} → {dport}{service}"),
                    "udp",
                )
            }
            L4::Icmp { v6, kind, code } => (
                format!("{}{verdict}", icmp_name(*v6, *kind, *code)),
                format!("type {kind} code {code}"),
                "solid",
            ),
            L4::Other(what) => (format!("{what}{verdict}"), String::new(), "solid"),
            L4::Tcp(_) => (format!("TCP{verdict}"), String::new(), "solid"),
        },
        (Summary::Other(what), _) => (what.clone(), String::new(), "solid"),
    }
}

fn tcp_label(note: &TcpNote, verdict: &str) -> (String, String, &'static str) {
    let s = &note.segment;
    let mut label = format!("[{}] seq {}", s.flags(), note.rel_seq);
    if s.ack_flag {
        label.push_str(&format!(" ack {}", note.rel_ack));
    }
    label.push_str(&format!(" win {}", note.window));
    if s.len > 0 {
        label.push_str(&format!(" len {}", s.len));
    }
    if let Some(tls) = &s.tls {
        // The records, as the trace names them; a long run is cut.
        let mut text: String = tls.chars().take(72).collect();
        if text.len() < tls.len() {
            text.push('…');
        }
        label.push_str(&format!("  TLS {text}"));
    }
    let mut marks = Vec::new();
    if note.retransmission {
        marks.push("RETRANSMISSION".to_string());
    }
    if note.dup_ack > 0 {
        marks.push(format!("DUP ACK #{}", note.dup_ack));
    }
    if note.zero_window {
        marks.push("ZERO WINDOW".to_string());
    }
    if s.rst {
        marks.push("RESET".to_string());
    }
    if !marks.is_empty() {
        label = format!("{}  {label}", marks.join(" "));
    }
    label.push_str(verdict);
    let service = service_of(s.sport, s.dport)
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let mut detail = vec![format!("{} → {}{service}", s.sport, s.dport)];
    if let Some(m) = s.mss {
        detail.push(format!("mss {m}"));
    }
    if let Some(w) = s.wscale {
        detail.push(format!("ws {w} (×{})", 1u32 << w.min(14)));
    }
    if s.sack_ok {
        detail.push("sackOK".into());
    }
    if let Some((v, e)) = s.timestamp {
        detail.push(format!("ts {v} ecr {e}"));
    }
    if !s.sacks.is_empty() {
        detail.push(format!("{} SACK block(s)", s.sacks.len()));
    }
    if let Some(shift) = note.shift
        && shift > 0
    {
        detail.push(format!("win field {} << {shift}", s.window));
    }
    let class = if s.rst {
        "rst"
    } else if note.retransmission {
        "retx"
    } else if note.dup_ack > 0 || note.zero_window {
        "dashed"
    } else {
        "solid"
    };
    (label, detail.join(" · "), class)
}

/// ICMP and ICMPv6 message names.
fn icmp_name(v6: bool, kind: u8, code: u8) -> String {
    let name = match (v6, kind) {
        (false, 0) => "ICMP echo reply",
        (false, 8) => "ICMP echo request",
        (false, 3) => match code {
            3 => "ICMP port unreachable",
            _ => "ICMP destination unreachable",
        },
        (false, 11) => "ICMP time exceeded",
        (true, 1) => "ICMPv6 destination unreachable",
        (true, 128) => "ICMPv6 echo request",
        (true, 129) => "ICMPv6 echo reply",
        (true, 133) => "NDP router solicitation",
        (true, 134) => "NDP router advertisement",
        (true, 135) => "NDP neighbour solicitation",
        (true, 136) => "NDP neighbour advertisement",
        (true, _) => "ICMPv6",
        (false, _) => "ICMP",
    };
    name.to_string()
}
