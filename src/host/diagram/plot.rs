//! The time-sequence graph (Stevens, tcptrace) of one direction of one
//! connection: each data segment a vertical bar from its first to its last
//! sequence number at the time it was sent, the receiver's ACK line
//! beneath and the edge of its window above.
//!
//! Layer: host (std). Depends on [`super::flow`] and [`super::svg`].
//! Without colour: sent segments are solid bars, retransmissions dashed
//! bars marked R, lost segments end at a cross, the ACK line is a solid
//! step line and the window edge a dotted one.

use super::capture::Verdict;
use super::flow::{Conn, Item};
use super::svg::Svg;

const W: f64 = 1000.0;
const H: f64 = 660.0;
const X0: f64 = 100.0;
const X1: f64 = 960.0;
const Y0: f64 = 580.0;
const Y1: f64 = 80.0;

/// A round figure near `range / 6` for tick spacing.
fn tick(range: f64) -> f64 {
    let raw = (range / 6.0).max(1e-9);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// The plot of the data `conn` sent in its busier direction, over the
/// frames `items` (the connection's, as the filter chose them).
///
/// # Errors
/// No payload moved in the frames chosen.
pub(crate) fn draw(
    conn: &Conn,
    index: usize,
    items: &[&Item],
    title: &str,
) -> Result<String, String> {
    let ours: Vec<&Item> = items
        .iter()
        .copied()
        .filter(|i| i.tcp.as_ref().is_some_and(|t| t.conn == index))
        .collect();
    let bytes = |dir: usize| -> u64 {
        ours.iter()
            .filter_map(|i| i.tcp.as_ref())
            .filter(|t| t.dir == dir)
            .map(|t| t.segment.len as u64)
            .sum()
    };
    let dir = usize::from(bytes(1) > bytes(0));
    if bytes(dir) == 0 {
        return Err(
            "no data moved in the chosen frames of that connection: nothing to plot".into(),
        );
    }
    let (sender, receiver) = if dir == 0 {
        (conn.client, conn.server)
    } else {
        (conn.server, conn.client)
    };
    let t_min = ours.iter().map(|i| i.frame.micros).min().unwrap_or(0);
    let t_max = ours
        .iter()
        .map(|i| i.frame.micros)
        .max()
        .unwrap_or(0)
        .max(t_min.saturating_add(1));
    let data_top = ours
        .iter()
        .filter_map(|i| i.tcp.as_ref())
        .filter(|t| t.dir == dir)
        .map(|t| u64::from(t.rel_seq) + t.segment.len as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    let window_top = ours
        .iter()
        .filter_map(|i| i.tcp.as_ref())
        .filter(|t| t.dir != dir && t.segment.ack_flag)
        .map(|t| u64::from(t.rel_ack) + t.window)
        .max()
        .unwrap_or(0);
    // The window can dwarf a short transfer; show it up to twice the data.
    let y_max = (data_top as f64 * 1.1).max((window_top as f64).min(data_top as f64 * 2.0));
    // In floating point: a damaged file's times may be far apart.
    let x_of = |t: i64| X0 + (t as f64 - t_min as f64) / (t_max as f64 - t_min as f64) * (X1 - X0);
    let y_of = |s: f64| Y0 - (s.min(y_max) / y_max) * (Y0 - Y1);
    let mut svg = Svg::new(W, H);
    svg.text(12.0, 24.0, "start", "h", title);
    svg.text(12.0, 42.0, "start", "s", &format!(
        "data from {sender} to {receiver}: solid bars sent, dashed bars marked R retransmitted, bars ending at a cross lost on the wire"));
    svg.text(12.0, 56.0, "start", "s",
        "solid step line: the receiver's ACK; dotted step line: the edge of its window (ACK + window); sequence numbers relative to the first");
    // Axes and grid.
    svg.line(X0, Y0, X1, Y0, "solid");
    svg.line(X0, Y0, X0, Y1, "solid");
    let span = (t_max as f64 - t_min as f64) / 1e6;
    let step = tick(span);
    let mut t = 0.0;
    while t <= span + 1e-9 {
        let x = X0 + t / span.max(1e-9) * (X1 - X0);
        svg.line(x, Y0, x, Y1, "grid");
        svg.text(x, Y0 + 16.0, "middle", "s", &format!("{t:.3}"));
        t += step;
    }
    svg.text(
        (X0 + X1) / 2.0,
        Y0 + 36.0,
        "middle",
        "t",
        "time since the connection's first frame (s)",
    );
    let step = tick(y_max);
    let mut s = 0.0;
    while s <= y_max {
        let y = y_of(s);
        svg.line(X0, y, X1, y, "grid");
        svg.text(X0 - 6.0, y + 4.0, "end", "s", &format!("{s:.0}"));
        s += step;
    }
    svg.text(20.0, Y1 - 10.0, "start", "t", "sequence number (bytes)");
    // ACK and window step lines.
    let mut acks = Vec::new();
    let mut edge = Vec::new();
    for item in &ours {
        let Some(t) = item
            .tcp
            .as_ref()
            .filter(|t| t.dir != dir && t.segment.ack_flag)
        else {
            continue;
        };
        if item.frame.verdict == Some(Verdict::Dropped) {
            continue;
        }
        let x = x_of(item.frame.micros);
        let ack = f64::from(t.rel_ack);
        let win = ack + t.window as f64;
        if let Some(&(_, y)) = acks.last() {
            acks.push((x, y));
        }
        acks.push((x, y_of(ack)));
        if let Some(&(_, y)) = edge.last() {
            edge.push((x, y));
        }
        edge.push((x, y_of(win)));
    }
    for line in [&mut acks, &mut edge] {
        if let Some(&(_, y)) = line.last() {
            line.push((X1, y));
        }
    }
    svg.polyline(&acks, "solid");
    svg.polyline(&edge, "dotted");
    let mut retransmitted = 0;
    let mut lost = 0;
    for item in &ours {
        let Some(t) = item
            .tcp
            .as_ref()
            .filter(|t| t.dir == dir && t.segment.len > 0)
        else {
            continue;
        };
        let x = x_of(item.frame.micros);
        let (lo, hi) = (
            f64::from(t.rel_seq),
            f64::from(t.rel_seq) + t.segment.len as f64,
        );
        let (ylo, yhi) = (y_of(lo), y_of(hi));
        let dropped = item.frame.verdict == Some(Verdict::Dropped);
        let class = if dropped {
            "lost"
        } else if t.retransmission {
            "retx"
        } else {
            "thick"
        };
        svg.line(x, ylo, x, yhi.min(ylo - 2.0), class);
        if t.retransmission {
            retransmitted += 1;
            svg.text(x + 3.0, yhi - 3.0, "start", "s b", "R");
        }
        if dropped {
            lost += 1;
            svg.line(x - 4.0, yhi - 4.0, x + 4.0, yhi + 4.0, "solid");
            svg.line(x - 4.0, yhi + 4.0, x + 4.0, yhi - 4.0, "solid");
        }
    }
    if window_top as f64 > y_max {
        svg.text(
            X1,
            Y1 - 6.0,
            "end",
            "s",
            &format!("the window's edge reaches {window_top}: above the top, drawn along it"),
        );
    }
    svg.text(
        X1,
        H - 20.0,
        "end",
        "s",
        &format!(
            "{} payload bytes sent, retransmissions included; {retransmitted} retransmitted segment(s); {lost} marked lost by the capture",
            bytes(dir)
        ),
    );
    Ok(svg.finish(title))
}
