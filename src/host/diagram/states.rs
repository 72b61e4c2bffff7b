//! The TCP state diagram of RFC 793 (figure 6), with the transitions one
//! connection took drawn over it in order: the client's as thick solid
//! arrows numbered c1, c2, ..., the server's as thick dashed arrows
//! numbered s1, s2, ...; a legend lists each with the frame that caused it.
//!
//! Layer: host (std). Depends on [`super::flow`] (which infers the states
//! from the segments) and [`super::svg`].

use super::flow::{Conn, State};
use super::svg::Svg;

const W: f64 = 1000.0;
const BOX_W: f64 = 130.0;
const BOX_H: f64 = 36.0;

/// Where each state sits; CLOSED is drawn twice, at the top where
/// connections begin and at the bottom where they end.
fn place(state: State, end: bool) -> (f64, f64) {
    match state {
        State::Closed if end => (830.0, 900.0),
        State::Closed => (500.0, 90.0),
        State::Listen => (500.0, 200.0),
        State::SynReceived => (200.0, 330.0),
        State::SynSent => (800.0, 330.0),
        State::Established => (500.0, 450.0),
        State::FinWait1 => (200.0, 580.0),
        State::CloseWait => (800.0, 580.0),
        State::FinWait2 => (200.0, 760.0),
        State::Closing => (470.0, 660.0),
        State::LastAck => (800.0, 760.0),
        State::TimeWait => (470.0, 860.0),
    }
}

/// The figure's arrows: from, to, label.
const EDGES: [(State, State, &str); 20] = [
    (State::Closed, State::Listen, "passive OPEN"),
    (State::Closed, State::SynSent, "active OPEN / snd SYN"),
    (State::Listen, State::SynReceived, "rcv SYN / snd SYN,ACK"),
    (State::Listen, State::SynSent, "SEND / snd SYN"),
    (State::Listen, State::Closed, "CLOSE"),
    (State::SynSent, State::Closed, "CLOSE"),
    (State::SynReceived, State::Listen, "rcv RST"),
    (State::SynSent, State::SynReceived, "rcv SYN / snd ACK"),
    (State::SynReceived, State::Established, "rcv ACK of SYN"),
    (State::SynSent, State::Established, "rcv SYN,ACK / snd ACK"),
    (State::SynReceived, State::FinWait1, "CLOSE / snd FIN"),
    (State::Established, State::FinWait1, "CLOSE / snd FIN"),
    (State::Established, State::CloseWait, "rcv FIN / snd ACK"),
    (State::FinWait1, State::FinWait2, "rcv ACK of FIN"),
    (State::FinWait1, State::Closing, "rcv FIN / snd ACK"),
    (State::FinWait2, State::TimeWait, "rcv FIN / snd ACK"),
    (State::Closing, State::TimeWait, "rcv ACK of FIN"),
    (State::CloseWait, State::LastAck, "CLOSE / snd FIN"),
    (State::LastAck, State::Closed, "rcv ACK of FIN"),
    (State::TimeWait, State::Closed, "timeout = 2MSL"),
];

const ALL: [State; 11] = [
    State::Closed,
    State::Listen,
    State::SynReceived,
    State::SynSent,
    State::Established,
    State::FinWait1,
    State::CloseWait,
    State::FinWait2,
    State::Closing,
    State::LastAck,
    State::TimeWait,
];

/// Which CLOSED box an arrow between `from` and `to` uses.
fn ends(from: State, to: State) -> ((f64, f64), (f64, f64)) {
    let into_end =
        to == State::Closed && !matches!(from, State::Listen | State::SynSent | State::Closed);
    (place(from, false), place(to, into_end))
}

/// Where the segment from the centre `a` towards `b` leaves `a`'s box.
fn clip(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let sx = if dx == 0.0 {
        f64::INFINITY
    } else {
        (BOX_W / 2.0 + 4.0) / dx.abs()
    };
    let sy = if dy == 0.0 {
        f64::INFINITY
    } else {
        (BOX_H / 2.0 + 4.0) / dy.abs()
    };
    let s = sx.min(sy).min(1.0);
    (a.0 + dx * s, a.1 + dy * s)
}

/// An arrow's two ends, moved sideways by `shift` so that two arrows
/// between the same boxes do not overlap.
fn segment(from: State, to: State, shift: f64) -> ((f64, f64), (f64, f64)) {
    let (a, b) = ends(from, to);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (px, py) = (-dy / len * shift, dx / len * shift);
    let a = (a.0 + px, a.1 + py);
    let b = (b.0 + px, b.1 + py);
    (clip(a, b), clip(b, a))
}

fn shift_of(from: State, to: State) -> f64 {
    // Pairs drawn both ways get pulled apart.
    let back = EDGES.iter().any(|(f, t, _)| *f == to && *t == from);
    if back { 9.0 } else { 0.0 }
}

/// The state diagram with `conn`'s transitions.
pub(crate) fn draw(conn: &Conn, title: &str) -> String {
    let legend_rows = conn.transitions.len() + 4;
    let height = 960.0 + 20.0 * legend_rows as f64;
    let mut svg = Svg::new(W + 40.0, height);
    svg.text(12.0, 24.0, "start", "h", title);
    svg.text(12.0, 42.0, "start", "s",
        "RFC 793's TCP states; thick solid arrows (c1, c2, ...): the client's path; thick dashed (s1, s2, ...): the server's; thin: not taken");
    for (from, to, label) in EDGES {
        let (a, b) = segment(from, to, shift_of(from, to));
        svg.arrow(a.0, a.1, b.0, b.1, "thin");
        let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        let shift = shift_of(from, to);
        if shift > 0.0 {
            // One of a pair: its label on its own side of the pair.
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let px = -dy / len;
            let anchor = if px >= 0.0 { "start" } else { "end" };
            svg.text(
                mx + px * 12.0,
                my + dx / len * 12.0 + 4.0,
                anchor,
                "s",
                label,
            );
        } else {
            let anchor = if (b.0 - a.0).abs() < 1.0 {
                "start"
            } else {
                "middle"
            };
            svg.text(mx + 6.0, my - 4.0, anchor, "s", label);
        }
    }
    let visited: Vec<State> = conn
        .transitions
        .iter()
        .flat_map(|t| [t.from, t.to])
        .collect();
    for state in ALL {
        for end in [false, true] {
            if end && state != State::Closed {
                continue;
            }
            let (x, y) = place(state, end);
            let class = if visited.contains(&state) {
                "visited"
            } else {
                "state"
            };
            svg.rounded(x - BOX_W / 2.0, y - BOX_H / 2.0, BOX_W, BOX_H, class);
            svg.text(x, y + 5.0, "middle", "b", state.name());
        }
    }
    if conn.saw_open {
        // The server's passive open leaves no frame; it happened before.
        let (a, b) = segment(
            State::Closed,
            State::Listen,
            shift_of(State::Closed, State::Listen),
        );
        svg.arrow(a.0, a.1, b.0, b.1, "hi2");
        let (bx, by) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        svg.circle(bx, by, 12.0, "dot");
        svg.text(bx, by + 4.0, "middle", "s b", "s0");
    }
    let mut counts = [0usize; 2];
    for t in &conn.transitions {
        counts[t.side] += 1;
        let tag = format!("{}{}", ["c", "s"][t.side], counts[t.side]);
        let on_figure = EDGES.iter().any(|(f, to, _)| *f == t.from && *to == t.to);
        let (a, b) = if on_figure {
            segment(t.from, t.to, shift_of(t.from, t.to))
        } else {
            // Not an arrow of the figure (a reset): straight to CLOSED.
            let a = place(t.from, false);
            let b = place(State::Closed, true);
            (clip(a, b), clip(b, a))
        };
        let class = ["hi", "hi2"][t.side];
        svg.arrow(a.0, a.1, b.0, b.1, class);
        let along = [0.35, 0.65][t.side];
        let (bx, by) = (a.0 + (b.0 - a.0) * along, a.1 + (b.1 - a.1) * along);
        svg.circle(bx, by, 12.0, "dot");
        svg.text(bx, by + 4.0, "middle", "s b", &tag);
    }
    let mut y = 960.0;
    svg.text(
        12.0,
        y,
        "start",
        "b",
        &format!(
            "client {} (active open)   server {} (passive open)",
            conn.client, conn.server
        ),
    );
    y += 20.0;
    if conn.saw_open {
        svg.text(
            12.0,
            y,
            "start",
            "s",
            "s0: the server was in LISTEN before its first frame (passive OPEN leaves no frame)",
        );
    } else {
        svg.text(
            12.0,
            y,
            "start",
            "s",
            "the capture starts after the handshake: both ends are taken to begin in ESTABLISHED",
        );
    }
    y += 20.0;
    let mut counts = [0usize; 2];
    for t in &conn.transitions {
        counts[t.side] += 1;
        let tag = format!("{}{}", ["c", "s"][t.side], counts[t.side]);
        let who = ["client", "server"][t.side];
        svg.text(
            12.0,
            y,
            "start",
            "m",
            &format!(
                "{tag:<4} frame #{:<6} {who}  {} → {}   ({})",
                t.frame,
                t.from.name(),
                t.to.name(),
                t.why
            ),
        );
        y += 20.0;
    }
    if conn.transitions.is_empty() {
        svg.text(
            12.0,
            y,
            "start",
            "m",
            "no state changed in the frames captured",
        );
    }
    svg.finish(title)
}
