//! Connection tracking: what the stack keeps of each TCP connection beside
//! smoltcp's socket, because smoltcp 0.14 does not say it: our RCV.NXT (the
//! gate's RFC 5961 check lets only an RST at exactly that number reset a
//! connection), the highest sequence number sent (a segment that sends
//! nothing new is a retransmission), when the connection last sent (the
//! stall kick's timer, see [`STALL_KICK`](super::STALL_KICK)) and its state
//! at the last look (a state transition is a difference from it).
//!
//! Layer: net. Depends on smoltcp's TCP socket and `wire` types and on the
//! one parse of each frame ([`super::frame`]). The gate and the stack read
//! it; it never calls an observer: what it notices it returns as an
//! [`Event`], and the stack hands that on.
//!
//! Everything here is derived from what crosses the device, never guessed
//! from flags alone:
//! - a TCP state transition is a socket whose `state()` differs from the
//!   one recorded at the previous look; the stack looks before and after
//!   every single-frame ingress, after every egress round and at the end
//!   of every poll;
//! - a retransmission is an outgoing segment whose sequence range ends at
//!   or before the highest one its connection already sent;
//! - RCV.NXT is the acknowledgement number of the last segment we sent,
//!   moved on by the in-order segments admitted since.

use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address, TcpPacket};

use super::frame::{Addrs, Frame, Ip, L4, Net};
use super::observe::{Direction, Event, TcpState};
use super::{CLOSE_TIMEOUT, STALL_KICK};

/// The clock a close's silence is counted on: 1,024 microseconds a tick,
/// a shift rather than a 64-bit division (a library call on the
/// firmware's cores).
const COARSE_SHIFT: u32 = 10;

/// [`CLOSE_TIMEOUT`] on the [`coarse`] clock, rounded up.
const CLOSE_TICKS: u32 = (CLOSE_TIMEOUT.total_micros().div_ceil(1 << COARSE_SHIFT)) as u32;

/// `now` on the clock a close's silence is counted on, wrapping.
#[inline]
fn coarse(now: Instant) -> u32 {
    (now.total_micros() >> COARSE_SHIFT) as u32
}

/// What a TCP segment to or from this stack covers, for retransmission
/// detection and the exact-RST check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub(crate) local_port: u16,
    pub(crate) remote: IpEndpoint,
    pub(crate) seq: u32,
    /// Sequence space covered: payload, plus one each for SYN and FIN.
    pub(crate) len: u32,
    pub(crate) ack: Option<u32>,
    pub(crate) syn: bool,
    pub(crate) rst: bool,
}

impl Segment {
    /// The TCP segment `frame` carries, seen in `direction`; `None` for
    /// anything else, an IPv4 fragment or a header too short to read.
    /// Only frames this stack sent, or that the gate admitted (TCP only to
    /// one of our own addresses), are tracked, so the local address needs
    /// no check.
    #[inline]
    pub(crate) fn in_frame(direction: Direction, frame: Option<&Frame<'_>>) -> Option<Segment> {
        match &frame?.net {
            Net::Ipv4(Some(ip)) => Segment::in_ip(direction, ip),
            #[cfg(feature = "ipv6")]
            Net::Ipv6(Some(ip)) => Segment::in_ip(direction, ip),
            _ => None,
        }
    }

    #[inline]
    fn in_ip<P: Addrs>(direction: Direction, ip: &Ip<'_, P>) -> Option<Segment> {
        match &ip.l4 {
            L4::Tcp(Some(tcp)) => Some(Segment::of(tcp, direction, ip.addrs())),
            _ => None,
        }
    }

    /// The segment `tcp` (between `addrs`: source, destination).
    #[inline]
    pub(crate) fn of(
        tcp: &TcpPacket<&[u8]>,
        direction: Direction,
        (src, dst): (IpAddress, IpAddress),
    ) -> Self {
        let (remote, local_port, remote_port) = match direction {
            Direction::Tx => (dst, tcp.src_port(), tcp.dst_port()),
            Direction::Rx => (src, tcp.dst_port(), tcp.src_port()),
        };
        let len = tcp.payload().len() as u32 + u32::from(tcp.syn()) + u32::from(tcp.fin());
        Segment {
            local_port,
            remote: IpEndpoint::new(remote, remote_port),
            seq: tcp.seq_number().0 as u32,
            len,
            ack: tcp.ack().then_some(tcp.ack_number().0 as u32),
            syn: tcp.syn(),
            rst: tcp.rst(),
        }
    }
}

/// `a` comes after `b` in sequence space (RFC 793's modular comparison).
pub(crate) fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// What the stack tracks of one pooled TCP socket's connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tracked {
    pub(crate) state: TcpState,
    pub(crate) local: Option<IpEndpoint>,
    pub(crate) remote: Option<IpEndpoint>,
    /// Initial sequence number of our side, once sent.
    isn: Option<u32>,
    /// End of the highest sequence range sent.
    sent_end: Option<u32>,
    /// The peer's next sequence number as far as the frames show (our
    /// RCV.NXT): the latest of our ACKs and the in-order data since.
    rcv_next: Option<u32>,
    /// When this connection last sent a segment, or changed state.
    last_tx: Instant,
    /// Nagle is off and keep-alive on for one egress round (see
    /// [`Tracked::kick`]); the keep-alive interval to restore.
    kicked: bool,
    keep_alive_before: Option<Duration>,
    /// The stream was closed and the stack, not smoltcp, limits how long
    /// the close may wait on a silent peer (see [`CLOSE_TIMEOUT`]).
    closing: bool,
    /// When the peer last spoke, or the close, whichever came later, on
    /// the [`coarse`] clock, wrapping: the silence it measures is at most
    /// [`CLOSE_TIMEOUT`] long whenever it is read, and 4 bytes fit where
    /// the entry had padding.
    heard: u32,
}

impl Tracked {
    pub(crate) const NEW: Tracked = Tracked {
        state: TcpState::Closed,
        local: None,
        remote: None,
        isn: None,
        sent_end: None,
        rcv_next: None,
        last_tx: Instant::ZERO,
        kicked: false,
        keep_alive_before: None,
        closing: false,
        heard: 0,
    };

    /// When this connection last sent a segment or changed state (for an
    /// idle socket: when it closed).
    pub(crate) fn last_change(&self) -> Instant {
        self.last_tx
    }

    /// This connection's endpoints, as last recorded, are those of
    /// `segment` (seen from this stack's side).
    #[inline]
    pub(crate) fn holds(&self, segment: &Segment) -> bool {
        // The remote port first: it tells a server's connections apart,
        // which all share the local port, before the addresses are read.
        self.remote.is_some_and(|r| r.port == segment.remote.port)
            && self.local.is_some_and(|l| l.port == segment.local_port)
            && self.remote.is_some_and(|r| r.addr == segment.remote.addr)
    }

    /// Whether a segment whose data ends at `end` (its FIN not counted)
    /// brings only data this connection already holds, so that its FIN is
    /// the next thing expected: `end` is exactly our RCV.NXT, when known.
    pub(crate) fn fin_next_after_old_data(&self, end: u32) -> bool {
        self.rcv_next == Some(end)
    }

    /// Whether an RST at sequence number `seq` may reset this connection
    /// once it is synchronised (RFC 5961 section 3.2): only at exactly
    /// RCV.NXT, when it is known.
    pub(crate) fn rst_in_sequence(&self, seq: u32) -> bool {
        self.rcv_next.is_none_or(|next| next == seq)
    }

    /// Learn the peer's next sequence number from a segment it sent that
    /// the gate admitted.
    pub(crate) fn received(&mut self, segment: &Segment) {
        if segment.rst {
            return;
        }
        let end = segment.seq.wrapping_add(segment.len);
        match self.rcv_next {
            // Only the SYN that opens the connection: smoltcp ignores a SYN
            // on a synchronised one, which must not move the number.
            None if segment.syn => self.rcv_next = Some(end),
            // In order (it covers the next expected byte): the expected
            // number moves to its end. smoltcp drops a segment without ACK
            // on a synchronised connection; so does this count.
            Some(next)
                if segment.ack.is_some()
                    && !seq_after(segment.seq, next)
                    && seq_after(end, next) =>
            {
                self.rcv_next = Some(end)
            }
            _ => {}
        }
    }

    /// Record a segment this connection sent at `now` (not an RST: smoltcp
    /// sends those for connections it no longer has), found by
    /// [`Tracked::holds`]. Its ACK names our
    /// RCV.NXT exactly, and corrects a guess from [`Tracked::received`]
    /// that went too far (a segment smoltcp cut to its window). Returns the
    /// [`Event::Retransmit`] if it covers nothing new.
    pub(crate) fn sent(&mut self, segment: &Segment, now: Instant) -> Option<Event> {
        if let Some(ack) = segment.ack {
            self.rcv_next = Some(ack);
        }
        self.last_tx = now;
        if segment.len == 0 {
            return None;
        }
        let end = segment.seq.wrapping_add(segment.len);
        let isn = *self.isn.get_or_insert(segment.seq);
        match self.sent_end {
            Some(max) if !seq_after(end, max) => Some(Event::Retransmit {
                // The stack finds a segment's connection by its recorded
                // endpoints ([`Tracked::holds`]): they are known.
                local: self.local?,
                remote: segment.remote,
                rel_seq: segment.seq.wrapping_sub(isn),
                len: segment.len,
            }),
            _ => {
                self.sent_end = Some(end);
                None
            }
        }
    }

    /// Look at `socket` at `now`; on a state change, record it and return
    /// the [`Event::State`]. `ip` is our address, for a listener's local
    /// endpoint.
    pub(crate) fn look(
        &mut self,
        socket: &tcp::Socket<'_>,
        ip: Ipv4Address,
        now: Instant,
    ) -> Option<Event> {
        let state = socket.state();
        // A socket that stays closed has no endpoints, one that stays
        // listening on the port recorded keeps it, and one that stays
        // established keeps the ones already recorded (a new connection
        // passes through other states, each seen by a poll): nothing to
        // refresh. A host's pool holds dozens of listening slots. (A slot
        // of a stopped listener can be armed for another port before any
        // look sees it closed: the gate reads the port recorded here.)
        let stays = match state {
            tcp::State::Closed | tcp::State::Established => true,
            tcp::State::Listen => self.local.map(|l| l.port) == Some(socket.listen_endpoint().port),
            _ => false,
        };
        if state == self.state && stays {
            return None;
        }
        if let Some(local) = socket.local_endpoint() {
            self.local = Some(local);
        } else if state == tcp::State::Listen {
            let port = socket.listen_endpoint().port;
            self.local = Some(IpEndpoint::new(ip.into(), port));
        }
        if let Some(remote) = socket.remote_endpoint() {
            self.remote = Some(remote);
        }
        if state == self.state {
            return None;
        }
        let from = self.state;
        self.state = state;
        self.last_tx = now;
        // These states start a new connection's sequence space.
        if matches!(
            state,
            TcpState::Closed | TcpState::Listen | TcpState::SynSent
        ) {
            self.isn = None;
            self.sent_end = None;
            self.rcv_next = None;
            self.closing = false;
            if state == tcp::State::Listen {
                self.remote = None;
            }
        }
        Some(Event::State {
            local: self.local.unwrap_or(IpEndpoint::new(ip.into(), 0)),
            remote: self.remote,
            from,
            to: state,
        })
    }

    /// The stream was closed at `now`: if `watch`, the stack limits the
    /// close's wait on a silent peer to [`CLOSE_TIMEOUT`] from here
    /// (otherwise a timeout of the owner's, smoltcp's, does).
    pub(crate) fn close_watch(&mut self, watch: bool, now: Instant) {
        self.closing = watch;
        self.heard(now);
    }

    /// Whether the stack watches this connection's close.
    #[inline]
    pub(crate) fn closing(&self) -> bool {
        self.closing
    }

    /// A watched close's silence counts from `now`: the peer spoke, or
    /// the first poll after the close came (the close itself knew only
    /// the time of the poll before it, which may be long past).
    #[inline]
    pub(crate) fn heard(&mut self, now: Instant) {
        self.heard = coarse(now);
    }

    /// The peer sent `segment`, which the gate admitted, at `now`: a word
    /// for a watched close, unless it sits before our RCV.NXT. A
    /// keep-alive probe does (RCV.NXT - 1), and so does a retransmission
    /// of what we hold: a peer that only probes must not hold a closing
    /// socket for ever. Called before [`Tracked::received`] moves
    /// RCV.NXT.
    #[inline]
    pub(crate) fn heard_from(&mut self, segment: &Segment, now: Instant) {
        if !self
            .rcv_next
            .is_some_and(|next| seq_after(next, segment.seq))
        {
            self.heard(now);
        }
    }

    /// How long the peer has been silent at `now`, on the [`coarse`] clock.
    fn silent(&self, now: Instant) -> u32 {
        coarse(now).wrapping_sub(self.heard)
    }

    /// When a watched close gives up on its peer: [`CLOSE_TIMEOUT`] after
    /// the last word heard (at `now` or before).
    pub(crate) fn close_at(&self, now: Instant) -> Option<Instant> {
        let left = CLOSE_TICKS.saturating_sub(self.silent(now));
        self.waits_on_peer()
            .then(|| now + Duration::from_micros(u64::from(left) << COARSE_SHIFT))
    }

    /// Whether a watched close has waited [`CLOSE_TIMEOUT`] on a silent
    /// peer at `now`.
    pub(crate) fn close_due(&self, now: Instant) -> bool {
        self.waits_on_peer() && self.silent(now) >= CLOSE_TICKS
    }

    /// A watched close, in a state that still waits on the peer (not
    /// TIME-WAIT, where smoltcp's own timer ends it, nor closed).
    fn waits_on_peer(&self) -> bool {
        self.closing && !matches!(self.state, TcpState::Closed | TcpState::TimeWait)
    }

    /// When `socket` is due a stall kick, if it can stall at all: it has
    /// data waiting and Nagle on (see [`STALL_KICK`]).
    pub(crate) fn kick_at(&self, socket: &tcp::Socket<'_>) -> Option<Instant> {
        let sending = matches!(
            socket.state(),
            tcp::State::Established | tcp::State::CloseWait
        );
        (sending && socket.send_queue() > 0 && socket.nagle_enabled())
            .then_some(self.last_tx + STALL_KICK)
    }

    /// If `socket` is due at `now`, nudge it for one egress round (see
    /// [`STALL_KICK`]) and say so; [`Tracked::unkick`] restores it.
    pub(crate) fn kick(&mut self, socket: &mut tcp::Socket<'_>, now: Instant) -> bool {
        if self.kick_at(socket).is_none_or(|due| now < due) {
            return false;
        }
        self.keep_alive_before = socket.keep_alive();
        socket.set_nagle_enabled(false);
        socket.set_keep_alive(Some(STALL_KICK));
        self.last_tx = now;
        self.kicked = true;
        true
    }

    /// The egress round after a kick is over: Nagle and keep-alive back
    /// as they were.
    pub(crate) fn unkick(&mut self, socket: &mut tcp::Socket<'_>) {
        if self.kicked {
            self.kicked = false;
            socket.set_nagle_enabled(true);
            socket.set_keep_alive(self.keep_alive_before);
        }
    }

    /// Whether [`Tracked::unkick`] has anything to restore.
    pub(crate) fn kicked(&self) -> bool {
        self.kicked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(seq: u32, len: u32, ack: Option<u32>) -> Segment {
        Segment {
            local_port: 80,
            remote: IpEndpoint::new(Ipv4Address::new(10, 0, 0, 2).into(), 4000),
            seq,
            len,
            ack,
            syn: false,
            rst: false,
        }
    }

    #[test]
    fn sequence_space_wraps() {
        assert!(seq_after(1, u32::MAX));
        assert!(!seq_after(u32::MAX, 1));
        assert!(!seq_after(7, 7));
    }

    #[test]
    fn a_segment_that_sends_nothing_new_is_a_retransmission() {
        let mut c = Tracked {
            local: Some(IpEndpoint::new(Ipv4Address::new(10, 0, 0, 1).into(), 80)),
            ..Tracked::NEW
        };
        let now = Instant::ZERO;
        assert!(c.sent(&segment(u32::MAX - 1, 4, None), now).is_none());
        assert!(
            c.sent(&segment(2, 0, Some(9)), now).is_none(),
            "a bare ACK sends nothing"
        );
        let again = c.sent(&segment(u32::MAX - 1, 4, None), now);
        assert!(matches!(
            again,
            Some(Event::Retransmit {
                rel_seq: 0,
                len: 4,
                ..
            })
        ));
        assert!(
            c.rst_in_sequence(9) && !c.rst_in_sequence(10),
            "the ACK named RCV.NXT"
        );
    }

    #[test]
    fn only_in_order_data_moves_rcv_next() {
        let mut c = Tracked::NEW;
        assert!(c.rst_in_sequence(12345), "unknown: smoltcp decides");
        c.received(&Segment {
            syn: true,
            ..segment(100, 1, None)
        });
        c.received(&segment(150, 10, Some(1)));
        assert!(c.rst_in_sequence(101), "out of order: still 101");
        c.received(&segment(101, 10, Some(1)));
        c.received(&segment(105, 2, None));
        assert!(c.rst_in_sequence(111), "in order, then one without ACK");
    }
}
