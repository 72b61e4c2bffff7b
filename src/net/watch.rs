//! The device as smoltcp sees it from inside [`Stack::poll`](super::Stack::poll):
//! the real device, plus a look at every frame sent (which also fills in
//! a sent TCP segment's checksum: see [`GateChecked`]).
//!
//! Layer: net (private). smoltcp sends from both ingress (an RST, an ARP
//! reply, an ACK it owes) and egress, and only the device sees those
//! frames, so the stack lends smoltcp this wrapper instead of the device.
//! Received frames need no wrapping: the stack has already looked at each
//! one through [`Link::peek`](crate::link::Link::peek) before smoltcp takes
//! it.

use smoltcp::phy::{Device, DeviceCapabilities, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::IpProtocol;

use super::TcpEntry;
use super::frame::{Addrs, Frame, Ip, L4, Net};
use super::observe::{Counters, Direction, Observer};
use super::seen::Seen;
use super::track::Segment;
use crate::link::checksum;

/// Whether the stack, rather than smoltcp, computes the checksum of each
/// TCP segment it sends when the device does not (see [`GateChecked`]).
/// Not on a bare-metal target (the firmware): there smoltcp computes them,
/// as it did before the stack's word-wide sum, with its own routine, which
/// its UDP, ICMP and IPv4 headers keep linked anyway. The stack's fill cost
/// the tiny firmware builds 108 / 72 B of flash (AN386 / LM3S6965), for
/// segments of at most 256 bytes; hosts (and their CPU figures) keep the
/// fill.
pub(super) const STACK_FILLS_TCP: bool = cfg!(not(target_os = "none"));

/// What a sent frame updates: the counters, connection tracking and the
/// observer lent to this poll, if any.
pub(super) struct Sent<'w, 'o> {
    observer: Option<&'w mut (dyn Observer + 'o)>,
    counters: &'w mut Counters,
    seen: &'w mut Seen,
    tcp: &'w mut [TcpEntry],
    /// Whether to compute each sent TCP segment's checksum (smoltcp is
    /// told not to: see [`GateChecked`]).
    fills_tcp: bool,
    now: Instant,
}

impl<'w, 'o> Sent<'w, 'o> {
    pub(super) fn new(
        observer: Option<&'w mut (dyn Observer + 'o)>,
        counters: &'w mut Counters,
        seen: &'w mut Seen,
        tcp: &'w mut [TcpEntry],
        fills_tcp: bool,
        now: Instant,
    ) -> Self {
        Sent {
            observer,
            counters,
            seen,
            tcp,
            fills_tcp,
            now,
        }
    }

    /// Count and track `frame`, and fill in its TCP checksum if the stack
    /// computes them; a retransmission it reveals is returned, for the
    /// caller to tell once the token is spent: a capture between this
    /// wrapper and the device shows the frame when the token returns, and
    /// the event must follow its frame, not precede it.
    fn record(&mut self, frame: &mut [u8]) -> Option<super::observe::Event> {
        let parsed = Frame::parse(frame);
        self.counters.tally(Direction::Tx, parsed.as_ref());
        self.seen.frame(self.now, Direction::Tx, parsed.as_ref());
        // The segment's looks before the checksum's: in this order the
        // firmware inlines `Segment::in_frame` once (the other order made
        // two calls of an outlined copy: 264 B of flash on the AN386).
        let segment = Segment::in_frame(Direction::Tx, parsed.as_ref());
        // `fills_tcp` implies the constant; testing it too lets the
        // firmware's build drop the fill altogether.
        let fill = match &parsed {
            Some(parsed) if STACK_FILLS_TCP && self.fills_tcp => tcp_checksum(parsed, frame),
            _ => None,
        };
        // The one parse ends here; the bytes may change.
        if let Some((at, value)) = fill
            && let Some(field) = frame.get_mut(at..at + 2)
        {
            field.copy_from_slice(&value.to_be_bytes());
        }
        if let Some(observer) = self.observer.as_deref_mut() {
            observer.frame(self.now, Direction::Tx, frame);
        }
        let segment = segment?;
        // smoltcp resets connections it no longer has: no entry's.
        if segment.rst {
            return None;
        }
        let entry = self.tcp.iter_mut().find(|e| e.track.holds(&segment))?;
        let event = entry.track.sent(&segment, self.now)?;
        self.counters.tcp_retransmits += 1;
        Some(event)
    }

    fn tell(&mut self, event: Option<super::observe::Event>) {
        if let (Some(event), Some(observer)) = (event, self.observer.as_deref_mut()) {
            observer.event(self.now, event);
        }
    }
}

/// Where the checksum of the TCP segment in `parsed` (whose bytes are
/// `frame`) goes, as an offset into `frame`, and its value. smoltcp left
/// the field zero, as it does when the device computes it.
fn tcp_checksum(parsed: &Frame<'_>, frame: &[u8]) -> Option<(usize, u16)> {
    let (tcp, (src, dst)) = match &parsed.net {
        Net::Ipv4(Some(Ip {
            packet,
            l4: L4::Tcp(Some(tcp)),
            ..
        })) => (tcp, packet.addrs()),
        #[cfg(feature = "ipv6")]
        Net::Ipv6(Some(Ip {
            packet,
            l4: L4::Tcp(Some(tcp)),
            ..
        })) => (tcp, packet.addrs()),
        _ => return None,
    };
    let segment: &[u8] = tcp.as_ref();
    // The segment is a sub-slice of the frame: its start's distance from
    // the frame's is its offset. The checksum is bytes 16-17 of the header.
    let at = (segment.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)? + 16;
    Some((
        at,
        checksum::complement(&src, &dst, IpProtocol::Tcp, segment),
    ))
}

pub(super) struct Watch<'w, 'o, D> {
    device: &'w mut D,
    sent: Sent<'w, 'o>,
}

impl<'w, 'o, D> Watch<'w, 'o, D> {
    pub(super) fn new(device: &'w mut D, sent: Sent<'w, 'o>) -> Self {
        Watch { device, sent }
    }
}

pub(super) struct WatchTx<'t, 'w, 'o, T> {
    inner: T,
    sent: &'t mut Sent<'w, 'o>,
}

impl<T: TxToken> TxToken for WatchTx<'_, '_, '_, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let sent = self.sent;
        let mut event = None;
        let result = self.inner.consume(len, |buf| {
            let result = f(buf);
            event = sent.record(buf);
            result
        });
        sent.tell(event);
        result
    }

    fn set_meta(&mut self, meta: smoltcp::phy::PacketMeta) {
        self.inner.set_meta(meta);
    }
}

impl<'w, 'o, D: Device> Device for Watch<'w, 'o, D> {
    type RxToken<'t>
        = D::RxToken<'t>
    where
        Self: 't;
    type TxToken<'t>
        = WatchTx<'t, 'w, 'o, D::TxToken<'t>>
    where
        Self: 't;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let Watch { device, sent } = self;
        device
            .receive(timestamp)
            .map(|(rx, tx)| (rx, WatchTx { inner: tx, sent }))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        let Watch { device, sent } = self;
        device
            .transmit(timestamp)
            .map(|tx| WatchTx { inner: tx, sent })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }
}

/// The device as smoltcp's `Interface` sees it when it is created (it reads
/// the capabilities once, then): the real device, except that received
/// checksums count as verified. The gate verifies every checksum of each
/// frame before smoltcp may take it, and drops a bad one with its own
/// reason; smoltcp's verifying again read every payload a second time
/// (5% of the instructions of a bulk transfer, scripts/bench-cpu.sh).
/// Checksums of sent frames are computed as the device asks, those of TCP
/// segments by [`WatchTx`] rather than by smoltcp (except on the firmware:
/// [`STACK_FILLS_TCP`]): the stack's word-wide
/// sum ([`checksum::sum`]) takes about 0.27 instructions a byte on x86-64
/// where smoltcp's takes 0.58, and a bulk sender sums every byte it sends.
pub(super) struct GateChecked<'d, D>(pub(super) &'d mut D);

impl<D: Device> Device for GateChecked<'_, D> {
    type RxToken<'t>
        = D::RxToken<'t>
    where
        Self: 't;
    type TxToken<'t>
        = D::TxToken<'t>
    where
        Self: 't;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.0.receive(timestamp)
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.0.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        use smoltcp::phy::Checksum;
        let tx_only = |c: &mut Checksum| {
            *c = match *c {
                Checksum::Both | Checksum::Tx => Checksum::Tx,
                Checksum::Rx | Checksum::None => Checksum::None,
            }
        };
        let mut caps = self.0.capabilities();
        tx_only(&mut caps.checksum.ipv4);
        if STACK_FILLS_TCP {
            // Computed by the stack when the device wants them (`fills_tcp`).
            caps.checksum.tcp = Checksum::None;
        } else {
            tx_only(&mut caps.checksum.tcp);
        }
        tx_only(&mut caps.checksum.udp);
        tx_only(&mut caps.checksum.icmpv4);
        caps
    }
}
