//! What the TCP segments of a capture mean together: connections, which
//! end is the client, relative sequence numbers, scaled windows,
//! retransmissions, duplicate ACKs, zero windows, and the RFC 793 states
//! each end went through, inferred from the segments alone.
//!
//! Layer: host (std). Depends on [`super::capture`] and [`super::decode`].
//! The analysis always runs over the whole capture; filters only choose
//! what is drawn, so a retransmission is still one when its original is
//! outside the frame range.

use std::net::SocketAddr;

use super::capture::{Frame, Verdict};
use super::decode::{L4, Segment, Summary, decode};

/// An RFC 793 connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub(crate) enum State {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl State {
    /// As RFC 793 spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RCVD",
            State::Established => "ESTAB",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

/// One end's change of state, and the frame that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transition {
    /// 0: the client (active opener), 1: the server.
    pub(crate) side: usize,
    /// Before.
    pub(crate) from: State,
    /// After.
    pub(crate) to: State,
    /// The frame's number in the capture.
    pub(crate) frame: u64,
    /// The event and action, as the RFC's diagram labels its arrows.
    pub(crate) why: &'static str,
}

/// One TCP connection seen in the capture.
#[derive(Debug, Clone)]
pub(crate) struct Conn {
    /// The end that sent the first SYN (or, joined late, the client by
    /// port).
    pub(crate) client: SocketAddr,
    /// The other end.
    pub(crate) server: SocketAddr,
    /// Whether the capture holds the opening SYN (else states start at
    /// ESTABLISHED and sequence numbers are relative to the first seen).
    pub(crate) saw_open: bool,
    /// Every state change, in order.
    pub(crate) transitions: Vec<Transition>,
    /// Payload bytes each way: [client to server, server to client].
    pub(crate) bytes: [u64; 2],
    isn: [Option<u32>; 2],
    syn_wscale: [Option<Option<u8>>; 2],
    high: [Option<u32>; 2],
    last_ack: [Option<(u32, u16)>; 2],
    dups: [u32; 2],
    fin_seq: [Option<u32>; 2],
    states: [State; 2],
}

/// A frame with what the analysis says about it.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The frame as read.
    pub(crate) frame: Frame,
    /// Its headers.
    pub(crate) summary: Summary,
    /// For a TCP segment: its place in its connection.
    pub(crate) tcp: Option<TcpNote>,
}

/// A TCP segment within its connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct TcpNote {
    /// Index into [`Analysis::conns`].
    pub(crate) conn: usize,
    /// 0: sent by the client, 1: by the server.
    pub(crate) dir: usize,
    /// Sequence number relative to the sender's initial one.
    pub(crate) rel_seq: u32,
    /// Acknowledgment number relative to the receiver's initial one.
    pub(crate) rel_ack: u32,
    /// The window in bytes, scaled when both SYNs agreed on scaling.
    pub(crate) window: u64,
    /// The shift applied to the window field, if scaling is in effect.
    pub(crate) shift: Option<u8>,
    /// It carries sequence space sent before.
    pub(crate) retransmission: bool,
    /// The Nth duplicate ACK (0: not one).
    pub(crate) dup_ack: u32,
    /// It advertises a zero window.
    pub(crate) zero_window: bool,
    /// The segment.
    pub(crate) segment: Segment,
}

/// A whole capture, analysed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Analysis {
    /// Every frame, in order.
    pub(crate) items: Vec<Item>,
    /// Every TCP connection, in order of first frame.
    pub(crate) conns: Vec<Conn>,
}

/// `a` is after `b` in sequence space (RFC 1982 comparison).
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Analyse `frames`.
pub(crate) fn analyse(frames: Vec<Frame>) -> Analysis {
    let mut a = Analysis::default();
    for frame in frames {
        let summary = decode(&frame.data);
        let tcp = match &summary {
            Summary::Ip {
                src,
                dst,
                l4: L4::Tcp(seg),
            } => {
                let from = SocketAddr::new(*src, seg.sport);
                let to = SocketAddr::new(*dst, seg.dport);
                Some(a.segment(from, to, seg, frame.number, frame.verdict))
            }
            _ => None,
        };
        a.items.push(Item {
            frame,
            summary,
            tcp,
        });
    }
    a
}

impl Analysis {
    fn segment(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        seg: &Segment,
        number: u64,
        verdict: Option<Verdict>,
    ) -> TcpNote {
        let index = self
            .conns
            .iter()
            .position(|c| (c.client, c.server) == (from, to) || (c.client, c.server) == (to, from))
            .unwrap_or_else(|| {
                self.conns.push(new_conn(from, to, seg));
                self.conns.len() - 1
            });
        let c = &mut self.conns[index];
        let dir = usize::from(from != c.client);
        let other = 1 - dir;
        if seg.syn {
            c.isn[dir] = Some(seg.seq);
            c.syn_wscale[dir] = Some(seg.wscale);
        }
        // Joined late: sequence numbers count from the first seen each way
        // (an ACK tells the other end's next number before its data does).
        let isn = *c.isn[dir].get_or_insert(seg.seq);
        if seg.ack_flag && c.isn[other].is_none() {
            c.isn[other] = Some(seg.ack);
        }
        let end = seg.seq.wrapping_add(seg.seq_len());
        // A copy the wire made (`layernet: duplicated`) is not the
        // sender's retransmission; its label says what it is.
        let retransmission = seg.seq_len() > 0
            && verdict != Some(Verdict::Duplicated)
            && c.high[dir].is_some_and(|high| !after(end, high));
        if c.high[dir].is_none_or(|high| after(end, high)) {
            c.high[dir] = Some(end);
        }
        c.bytes[dir] += seg.len as u64;
        // Scaling holds only when both SYNs carried the option (RFC 7323),
        // and never for the SYNs' own windows.
        let shift = match (c.syn_wscale[0], c.syn_wscale[1]) {
            (Some(Some(x)), Some(Some(y))) if !seg.syn => Some(if dir == 0 { x } else { y }),
            _ => None,
        };
        let window = u64::from(seg.window) << shift.unwrap_or(0).min(14);
        let pure_ack = seg.ack_flag && seg.seq_len() == 0 && !seg.rst;
        // As Wireshark counts them: an empty ACK repeating the sender's
        // last acknowledgment and window.
        let dup_ack =
            if pure_ack && !seg.syn && !seg.fin && c.last_ack[dir] == Some((seg.ack, seg.window)) {
                c.dups[dir] += 1;
                c.dups[dir]
            } else {
                c.dups[dir] = 0;
                0
            };
        if seg.ack_flag && !seg.rst {
            c.last_ack[dir] = Some((seg.ack, seg.window));
        }
        let rel_ack = seg.ack.wrapping_sub(c.isn[other].unwrap_or(0));
        let delivered = verdict != Some(Verdict::Dropped);
        c.step(dir, seg, number, delivered);
        TcpNote {
            conn: index,
            dir,
            rel_seq: seg.seq.wrapping_sub(isn),
            rel_ack,
            window,
            shift,
            retransmission,
            dup_ack,
            zero_window: seg.window == 0 && !seg.rst && !seg.syn,
            segment: seg.clone(),
        }
    }
}

fn new_conn(from: SocketAddr, to: SocketAddr, seg: &Segment) -> Conn {
    let opening = seg.syn && !seg.ack_flag;
    // Joined late: the end on a well-known or lower port is the server.
    let from_is_client = if seg.syn {
        !seg.ack_flag
    } else if crate::app::services::by_port(to.port()).is_some() {
        true
    } else if crate::app::services::by_port(from.port()).is_some() {
        false
    } else {
        to.port() < from.port()
    };
    let (client, server) = if from_is_client {
        (from, to)
    } else {
        (to, from)
    };
    let states = if opening {
        [State::Closed, State::Listen]
    } else {
        [State::Established, State::Established]
    };
    Conn {
        client,
        server,
        saw_open: seg.syn,
        transitions: Vec::new(),
        bytes: [0; 2],
        isn: [None; 2],
        syn_wscale: [None; 2],
        high: [None; 2],
        last_ack: [None; 2],
        dups: [0; 2],
        fin_seq: [None; 2],
        states,
    }
}

impl Conn {
    fn go(&mut self, side: usize, to: State, frame: u64, why: &'static str) {
        let from = self.states[side];
        if from != to {
            self.states[side] = to;
            self.transitions.push(Transition {
                side,
                from,
                to,
                frame,
                why,
            });
        }
    }

    /// One segment from `s` to the other end: what sending it does to
    /// the sender, then (unless the wire lost it) what receiving it does
    /// to the receiver.
    fn step(&mut self, s: usize, seg: &Segment, frame: u64, delivered: bool) {
        use State::*;
        let r = 1 - s;
        if seg.rst {
            self.go(s, Closed, frame, "snd RST");
            if delivered {
                let to = if self.states[r] == Listen {
                    Listen
                } else {
                    Closed
                };
                self.go(r, to, frame, "rcv RST");
            }
            return;
        }
        if (self.states[s], seg.syn, seg.ack_flag) == (Closed, true, false) {
            self.go(s, SynSent, frame, "active OPEN / snd SYN");
        }
        if seg.fin {
            self.fin_seq[s] = Some(seg.seq.wrapping_add(seg.len as u32 + u32::from(seg.syn)));
            match self.states[s] {
                Established | SynReceived => self.go(s, FinWait1, frame, "CLOSE / snd FIN"),
                CloseWait => self.go(s, LastAck, frame, "CLOSE / snd FIN"),
                _ => {}
            }
        }
        if !delivered {
            return;
        }
        match (self.states[r], seg.syn, seg.ack_flag) {
            (Listen, true, false) => self.go(r, SynReceived, frame, "rcv SYN / snd SYN,ACK"),
            (SynSent, true, true) => self.go(r, Established, frame, "rcv SYN,ACK / snd ACK"),
            (SynSent, true, false) => self.go(r, SynReceived, frame, "rcv SYN / snd ACK"),
            _ => {}
        }
        if seg.ack_flag {
            let acks_syn = self.isn[r].is_some_and(|isn| seg.ack == isn.wrapping_add(1));
            let acks_fin = self.fin_seq[r].is_some_and(|fin| !after(fin.wrapping_add(1), seg.ack));
            match self.states[r] {
                SynReceived if acks_syn || !seg.syn => {
                    self.go(r, Established, frame, "rcv ACK of SYN")
                }
                FinWait1 if acks_fin => self.go(r, FinWait2, frame, "rcv ACK of FIN"),
                Closing if acks_fin => self.go(r, TimeWait, frame, "rcv ACK of FIN"),
                LastAck if acks_fin => self.go(r, Closed, frame, "rcv ACK of FIN"),
                _ => {}
            }
        }
        if seg.fin {
            match self.states[r] {
                Established => self.go(r, CloseWait, frame, "rcv FIN / snd ACK"),
                FinWait1 => self.go(r, Closing, frame, "rcv FIN / snd ACK"),
                FinWait2 => self.go(r, TimeWait, frame, "rcv FIN / snd ACK"),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends() -> (SocketAddr, SocketAddr) {
        let client = SocketAddr::from(([10, 0, 0, 2], 50000));
        let server = SocketAddr::from(([10, 0, 0, 1], 80));
        (client, server)
    }

    fn seg(seq: u32, ack: Option<u32>, window: u16, len: usize) -> Segment {
        Segment {
            sport: 0,
            dport: 0,
            seq,
            ack: ack.unwrap_or(0),
            ack_flag: ack.is_some(),
            window,
            len,
            ..Segment::default()
        }
    }

    /// A handshake with window scaling both ways, then data, a lost
    /// segment, its retransmission, duplicate ACKs and a zero window.
    #[test]
    fn scaled_windows_retransmissions_dup_acks_and_zero_windows() {
        let (c, s) = ends();
        let mut a = Analysis::default();
        let syn = Segment {
            syn: true,
            wscale: Some(7),
            ..seg(1000, None, 64240, 0)
        };
        let n = a.segment(c, s, &syn, 1, None);
        assert_eq!(
            (n.rel_seq, n.window, n.shift),
            (0, 64240, None),
            "a SYN's window is never scaled"
        );
        let syn_ack = Segment {
            syn: true,
            wscale: Some(3),
            ..seg(5000, Some(1001), 65535, 0)
        };
        a.segment(s, c, &syn_ack, 2, None);
        let n = a.segment(c, s, &seg(1001, Some(5001), 502, 0), 3, None);
        assert_eq!(
            (n.rel_seq, n.rel_ack, n.window, n.shift),
            (1, 1, 502 << 7, Some(7))
        );
        let n = a.segment(s, c, &seg(5001, Some(1001), 100, 100), 4, None);
        assert_eq!((n.window, n.retransmission), (800, false));
        // Segment 5 is lost on the wire; the client acknowledges 101 again.
        a.segment(
            s,
            c,
            &seg(5101, Some(1001), 100, 100),
            5,
            Some(Verdict::Dropped),
        );
        a.segment(s, c, &seg(5201, Some(1001), 100, 100), 6, None);
        let first = a.segment(c, s, &seg(1001, Some(5101), 502, 0), 7, None);
        let dup = a.segment(c, s, &seg(1001, Some(5101), 502, 0), 8, None);
        assert_eq!((first.dup_ack, dup.dup_ack), (0, 1));
        let retx = a.segment(s, c, &seg(5101, Some(1001), 100, 100), 9, None);
        assert!(retx.retransmission && retx.rel_seq == 101);
        let zero = a.segment(c, s, &seg(1001, Some(5301), 0, 0), 10, None);
        assert!(zero.zero_window && zero.dup_ack == 0);
        assert_eq!(a.conns.len(), 1);
        assert_eq!(a.conns[0].client, c);
        assert_eq!(a.conns[0].bytes, [0, 400]);
    }

    /// Both ends' states through an open and a close the server begins,
    /// and a lost FIN that does not move its receiver.
    #[test]
    fn states_follow_the_segments_and_skip_lost_ones() {
        use State::*;
        let (c, s) = ends();
        let mut a = Analysis::default();
        a.segment(
            c,
            s,
            &Segment {
                syn: true,
                ..seg(0, None, 100, 0)
            },
            1,
            None,
        );
        a.segment(
            s,
            c,
            &Segment {
                syn: true,
                ..seg(0, Some(1), 100, 0)
            },
            2,
            None,
        );
        a.segment(c, s, &seg(1, Some(1), 100, 0), 3, None);
        let fin = Segment {
            fin: true,
            ..seg(1, Some(1), 100, 5)
        };
        a.segment(s, c, &fin, 4, Some(Verdict::Dropped));
        assert_eq!(
            a.conns[0].states,
            [Established, FinWait1],
            "the client never saw the FIN"
        );
        a.segment(s, c, &fin, 5, None);
        a.segment(
            c,
            s,
            &Segment {
                fin: true,
                ..seg(1, Some(7), 100, 0)
            },
            6,
            None,
        );
        a.segment(s, c, &seg(7, Some(2), 100, 0), 7, None);
        let path: Vec<(usize, State, State, u64)> = a.conns[0]
            .transitions
            .iter()
            .map(|t| (t.side, t.from, t.to, t.frame))
            .collect();
        assert_eq!(
            path,
            [
                (0, Closed, SynSent, 1),
                (1, Listen, SynReceived, 1),
                (0, SynSent, Established, 2),
                (1, SynReceived, Established, 3),
                (1, Established, FinWait1, 4),
                (0, Established, CloseWait, 5),
                (0, CloseWait, LastAck, 6),
                (1, FinWait1, FinWait2, 6),
                (1, FinWait2, TimeWait, 6),
                (0, LastAck, Closed, 7),
            ]
        );
    }
}
