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
use super::observe::{Counters, Direction, Event, Observer};

/// What a sent frame updates: the counters, the pool's sequence records
/// and the observer.
pub(super) struct Sent<'w, 'a> {
    observer: Option<&'w mut (dyn Observer + 'a)>,
    counters: &'w mut Counters,
    tcp: &'w mut [TcpEntry],
    now: Instant,
}

impl<'w, 'a> Sent<'w, 'a> {
    pub(super) fn new(
        observer: Option<&'w mut (dyn Observer + 'a)>,
        counters: &'w mut Counters,
        tcp: &'w mut [TcpEntry],
        now: Instant,
    ) -> Self {
        Sent {
            observer,
            counters,
            tcp,
            now,
        }
    }

    fn record(&mut self, frame: &[u8]) {
        let segment = self
            .counters
            .tally(Direction::Tx, Frame::parse(frame).as_ref());
        if let Some(observer) = self.observer.as_deref_mut() {
            observer.frame(self.now, Direction::Tx, frame);
        }
        let Some(segment) = segment else {
            return;
        };
        if segment.rst {
            return;
        }
        let entry = self.tcp.iter_mut().find(|e| e.watch.holds(&segment));
        let Some(entry) = entry else {
            return;
        };
        if let Some(ack) = segment.ack {
            entry.watch.acked(ack);
        }
        entry.watch.last_tx = self.now;
        if entry.watch.sent(segment.seq, segment.len) {
            self.counters.tcp_retransmits += 1;
            let isn = entry.watch.isn.unwrap_or(segment.seq);
            if let (Some(observer), Some(local)) = (self.observer.as_deref_mut(), entry.watch.local)
            {
                observer.event(
                    self.now,
                    Event::Retransmit {
                        local,
                        remote: segment.remote,
                        rel_seq: segment.seq.wrapping_sub(isn),
                        len: segment.len,
                    },
                );
            }
        }
    }
}

pub(super) struct Watch<'w, 'a, D> {
    device: &'w mut D,
    sent: Sent<'w, 'a>,
}

impl<'w, 'a, D> Watch<'w, 'a, D> {
    pub(super) fn new(device: &'w mut D, sent: Sent<'w, 'a>) -> Self {
        Watch { device, sent }
    }
}

pub(super) struct WatchTx<'t, 'w, 'a, T> {
    inner: T,
    sent: &'t mut Sent<'w, 'a>,
}

impl<T: TxToken> TxToken for WatchTx<'_, '_, '_, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let sent = self.sent;
        self.inner.consume(len, |buf| {
            let result = f(buf);
            sent.record(buf);
            result
        })
    }

    fn set_meta(&mut self, meta: smoltcp::phy::PacketMeta) {
        self.inner.set_meta(meta);
    }
}

impl<'w, 'a, D: Device> Device for Watch<'w, 'a, D> {
    type RxToken<'t>
        = D::RxToken<'t>
    where
        Self: 't;
    type TxToken<'t>
        = WatchTx<'t, 'w, 'a, D::TxToken<'t>>
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
