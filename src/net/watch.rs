//! The device as smoltcp sees it from inside [`Stack::poll`](super::Stack::poll):
//! the real device, plus a look at every frame sent.
//!
//! Layer: net (private). smoltcp sends from both ingress (an RST, an ARP
//! reply, an ACK it owes) and egress, and only the device sees those
//! frames, so the stack lends smoltcp this wrapper instead of the device.
//! Received frames need no wrapping: the stack has already looked at each
//! one through [`Link::peek`](crate::link::Link::peek) before smoltcp takes
//! it.

use smoltcp::phy::{Device, DeviceCapabilities, TxToken};
use smoltcp::time::Instant;

use super::TcpEntry;
use super::frame::Frame;
use super::observe::{Counters, Direction, Observer};
use super::seen::Seen;
use super::track::Segment;

/// What a sent frame updates: the counters, connection tracking and the
/// observer lent to this poll, if any.
pub(super) struct Sent<'w, 'o> {
    observer: Option<&'w mut (dyn Observer + 'o)>,
    counters: &'w mut Counters,
    seen: &'w mut Seen,
    tcp: &'w mut [TcpEntry],
    now: Instant,
}

impl<'w, 'o> Sent<'w, 'o> {
    pub(super) fn new(
        observer: Option<&'w mut (dyn Observer + 'o)>,
        counters: &'w mut Counters,
        seen: &'w mut Seen,
        tcp: &'w mut [TcpEntry],
        now: Instant,
    ) -> Self {
        Sent {
            observer,
            counters,
            seen,
            tcp,
            now,
        }
    }

    /// Count and track `frame`; a retransmission it reveals is returned,
    /// for the caller to tell once the token is spent: a capture between
    /// this wrapper and the device shows the frame when the token
    /// returns, and the event must follow its frame, not precede it.
    fn record(&mut self, frame: &[u8]) -> Option<super::observe::Event> {
        let parsed = Frame::parse(frame);
        self.counters.tally(Direction::Tx, parsed.as_ref());
        self.seen.frame(self.now, Direction::Tx, parsed.as_ref());
        if let Some(observer) = self.observer.as_deref_mut() {
            observer.frame(self.now, Direction::Tx, frame);
        }
        let segment = Segment::in_frame(Direction::Tx, parsed.as_ref())?;
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
/// Checksums of sent frames are still computed as the device asks.
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
        tx_only(&mut caps.checksum.tcp);
        tx_only(&mut caps.checksum.udp);
        tx_only(&mut caps.checksum.icmpv4);
        caps
    }
}
