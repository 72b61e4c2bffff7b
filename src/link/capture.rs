//! Link middleware: a capture that shows every frame crossing any link.
//!
//! Layer: link. Depends on smoltcp's `phy` and `time` and on
//! [`super::Link`]; nothing above. No std, no allocation: the frame is
//! lent to the [`Sink`] where it already lies, in the inner link's buffer.
//!
//! [`Captured`] sits between a link and the stack, as smoltcp's `Tracer`
//! and `PcapWriter` do, and works over any [`Link`]: a port of the
//! simulated segment, the TAP device, the LAN9118 driver, a
//! [`super::faults::Faulty`] wrapper (inside it the capture shows the
//! stack's frames; outside, what the faults let through). A received frame
//! is shown once, when it is first looked at (a frame the SYN gate
//! discards after a [`Link::peek`] is shown too); a sent frame when
//! smoltcp has built it. What the sink does with it (a pcap record, a
//! trace line, a count) is the sink's business.

use smoltcp::phy::{self, Device, DeviceCapabilities};
use smoltcp::time::Instant;

use super::{Link, Ways};

/// Where a [`Captured`] link sends what it sees. `inbound` is true for a
/// frame from the link, false for one the stack sends.
///
/// ```
/// use layernet::link::capture::Sink;
/// use layernet::Instant;
///
/// /// Counts bytes each way.
/// #[derive(Default)]
/// struct Bytes { rx: usize, tx: usize }
/// impl Sink for Bytes {
///     fn frame(&mut self, _now: Instant, inbound: bool, frame: &[u8]) {
///         if inbound { self.rx += frame.len() } else { self.tx += frame.len() }
///     }
/// }
/// let mut b = Bytes::default();
/// b.frame(Instant::ZERO, true, &[0; 60]);
/// assert_eq!((b.rx, b.tx), (60, 0));
/// ```
pub trait Sink {
    /// A frame crossed the link at `now`.
    fn frame(&mut self, now: Instant, inbound: bool, frame: &[u8]);
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn frame(&mut self, now: Instant, inbound: bool, frame: &[u8]) {
        (**self).frame(now, inbound, frame);
    }
}

/// A sink that may be attached later (a host's link is made before
/// anyone asks for a trace): nothing is shown while it is `None`.
///
/// ```
/// use layernet::link::capture::Sink;
/// struct Count(u32);
/// impl Sink for Count {
///     fn frame(&mut self, _: layernet::Instant, _: bool, _: &[u8]) { self.0 += 1 }
/// }
/// let mut later: Option<Count> = None;
/// later.frame(layernet::Instant::ZERO, true, &[0; 60]);
/// later = Some(Count(0));
/// later.frame(layernet::Instant::ZERO, true, &[0; 60]);
/// assert_eq!(later.map(|c| c.0), Some(1));
/// ```
impl<S: Sink> Sink for Option<S> {
    #[inline]
    fn frame(&mut self, now: Instant, inbound: bool, frame: &[u8]) {
        if let Some(sink) = self {
            sink.frame(now, inbound, frame);
        }
    }
}

/// Any link, every frame of its [`Ways`] shown to a [`Sink`] on its way.
/// See the module doc.
///
/// # Example
///
/// The LAN9118 driver, its frames counted both ways:
///
/// ```
/// use layernet::link::capture::{Captured, Sink};
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use layernet::{Instant, link::Link};
/// use smoltcp::phy::{Device, TxToken};
///
/// #[derive(Default)]
/// struct Count([u32; 2]);
/// impl Sink for Count {
///     fn frame(&mut self, _: Instant, inbound: bool, _: &[u8]) {
///         self.0[usize::from(inbound)] += 1;
///     }
/// }
/// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// let mut nic = Captured::new(nic, Count::default());
/// nic.inner_mut().registers().deliver(&[1; 60])?;
/// assert!(nic.peek(Instant::ZERO).is_some());
/// assert!(nic.peek(Instant::ZERO).is_some(), "looked at twice, shown once");
/// nic.discard(Instant::ZERO);
/// nic.transmit(Instant::ZERO).ok_or("FIFO full")?.consume(60, |f| f.fill(2));
/// assert_eq!(nic.sink().0, [1, 1], "one sent, one received");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Captured<L, S> {
    inner: L,
    sink: S,
    ways: Ways,
    /// The frame the inner link shows next was already shown.
    shown: bool,
}

impl<L: Link, S: Sink> Captured<L, S> {
    /// Show `inner`'s frames, both ways, to `sink`.
    ///
    /// ```
    /// use layernet::link::{Ways, capture::{Captured, Sink}};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// struct Nowhere;
    /// impl Sink for Nowhere {
    ///     fn frame(&mut self, _: layernet::Instant, _: bool, _: &[u8]) {}
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// assert_eq!(Captured::new(nic, Nowhere).ways(), Ways::Both);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: L, sink: S) -> Self {
        Captured {
            inner,
            sink,
            ways: Ways::Both,
            shown: false,
        }
    }

    /// Show only the frames `ways` names ([`Ways::Outbound`] on every
    /// station of a shared segment shows each frame once, by its sender).
    ///
    /// ```
    /// use layernet::link::{Ways, capture::{Captured, Sink}};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// struct Nowhere;
    /// impl Sink for Nowhere {
    ///     fn frame(&mut self, _: layernet::Instant, _: bool, _: &[u8]) {}
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let sent_only = Captured::new(nic, Nowhere).with_ways(Ways::Outbound);
    /// assert_eq!(sent_only.ways(), Ways::Outbound);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_ways(mut self, ways: Ways) -> Self {
        self.ways = ways;
        self
    }

    /// The directions shown.
    ///
    /// ```
    /// use layernet::link::{Ways, capture::{Captured, Sink}};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// struct Nowhere;
    /// impl Sink for Nowhere {
    ///     fn frame(&mut self, _: layernet::Instant, _: bool, _: &[u8]) {}
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let received_only = Captured::new(nic, Nowhere).with_ways(Ways::Inbound);
    /// assert_eq!(received_only.ways(), Ways::Inbound);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ways(&self) -> Ways {
        self.ways
    }

    /// The sink.
    ///
    /// ```
    /// use layernet::link::capture::{Captured, Sink};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// struct Last(usize);
    /// impl Sink for Last {
    ///     fn frame(&mut self, _: layernet::Instant, _: bool, f: &[u8]) { self.0 = f.len() }
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// assert_eq!(Captured::new(nic, Last(0)).sink().0, 0, "nothing crossed yet");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// The sink, mutably (to flush a file, to reset a count).
    ///
    /// ```
    /// use layernet::link::capture::{Captured, Sink};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// struct Count(u32);
    /// impl Sink for Count {
    ///     fn frame(&mut self, _: layernet::Instant, _: bool, _: &[u8]) { self.0 += 1 }
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let mut nic = Captured::new(nic, Count(5));
    /// nic.sink_mut().0 = 0;
    /// assert_eq!(nic.sink().0, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// The wrapped link.
    ///
    /// ```
    /// use layernet::link::capture::{Captured, Sink};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// struct Nowhere;
    /// impl Sink for Nowhere {
    ///     fn frame(&mut self, _: layernet::Instant, _: bool, _: &[u8]) {}
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let nic = Captured::new(nic, Nowhere);
    /// assert_eq!(nic.inner().mac_address(), layernet::net::DEFAULT_MAC);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// The wrapped link, mutably (frames taken from it directly are not
    /// shown).
    ///
    /// ```
    /// use layernet::link::capture::{Captured, Sink};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// struct Nowhere;
    /// impl Sink for Nowhere {
    ///     fn frame(&mut self, _: layernet::Instant, _: bool, _: &[u8]) {}
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let mut nic = Captured::new(nic, Nowhere);
    /// nic.inner_mut().registers().deliver(&[0; 60])?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inner_mut(&mut self) -> &mut L {
        &mut self.inner
    }
}

impl<L: Link, S: Sink> Link for Captured<L, S> {
    fn peek(&mut self, now: Instant) -> Option<&[u8]> {
        let frame = self.inner.peek(now)?;
        if !self.shown && self.ways.includes(true) {
            self.sink.frame(now, true, frame);
        }
        self.shown = true;
        Some(frame)
    }

    fn discard(&mut self, now: Instant) {
        self.shown = false;
        self.inner.discard(now);
    }

    fn poll_at(&self) -> Option<Instant> {
        self.inner.poll_at()
    }
}

/// Transmit token: the inner link's, shown to the sink once smoltcp has
/// built the frame.
///
/// ```
/// use layernet::link::capture::{Captured, CapturedTx, Sink};
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use smoltcp::phy::{Device, TxToken};
/// struct First(u8);
/// impl Sink for First {
///     fn frame(&mut self, _: layernet::Instant, _: bool, f: &[u8]) { self.0 = f[0] }
/// }
/// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// let mut nic = Captured::new(nic, First(0));
/// let tx: CapturedTx<'_, _, _> = nic.transmit(layernet::Instant::ZERO).ok_or("full")?;
/// tx.consume(60, |f| f.fill(0x42));
/// assert_eq!(nic.sink().0, 0x42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CapturedTx<'a, T, S> {
    token: T,
    sink: &'a mut S,
    show: bool,
    now: Instant,
}

impl<T: phy::TxToken, S: Sink> phy::TxToken for CapturedTx<'_, T, S> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let CapturedTx {
            token,
            sink,
            show,
            now,
        } = self;
        token.consume(len, |frame| {
            let r = f(frame);
            if show {
                sink.frame(now, false, frame);
            }
            r
        })
    }

    fn set_meta(&mut self, meta: phy::PacketMeta) {
        self.token.set_meta(meta);
    }
}

impl<L: Link, S: Sink> Device for Captured<L, S> {
    type RxToken<'a>
        = L::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = CapturedTx<'a, L::TxToken<'a>, S>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        // Shown on the way, through the look `peek` gives at the frame the
        // receive hands out: the inner link's own token goes to smoltcp.
        Link::peek(self, now)?;
        self.shown = false;
        let (rx, tx) = self.inner.receive(now)?;
        let tx = CapturedTx {
            token: tx,
            sink: &mut self.sink,
            show: self.ways.includes(false),
            now,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        let token = self.inner.transmit(now)?;
        Some(CapturedTx {
            token,
            sink: &mut self.sink,
            show: self.ways.includes(false),
            now,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::faults::{Faults, Faulty};
    use crate::link::segment::{Port, Segment};
    use core::cell::RefCell;
    use smoltcp::phy::{RxToken as _, TxToken as _};
    use smoltcp::time::Duration;
    use smoltcp::wire::EthernetAddress;

    const A: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    /// The last few frames seen: (time in ms, inbound, first payload byte).
    #[derive(Default)]
    struct Log(heapless::Vec<(i64, bool, u8), 8>);

    impl Sink for Log {
        fn frame(&mut self, now: Instant, inbound: bool, frame: &[u8]) {
            let _ = self.0.push((now.total_millis(), inbound, frame[14]));
        }
    }

    fn frame(dst: EthernetAddress, src: EthernetAddress, fill: u8) -> [u8; 60] {
        let mut f = [fill; 60];
        f[..6].copy_from_slice(&dst.0);
        f[6..12].copy_from_slice(&src.0);
        f[12..14].copy_from_slice(&[0x88, 0xb5]);
        f
    }

    #[test]
    fn both_ways_once_each_and_the_tokens_still_work() {
        let seg = RefCell::new(Segment::<2, 4, 1514>::new());
        let mut a = Captured::new(Port::new(&seg, 0, A).unwrap(), Log::default());
        let mut b = Port::new(&seg, 1, B).unwrap();
        let t = Instant::from_millis(3);
        let f = frame(B, A, 7);
        a.transmit(t)
            .unwrap()
            .consume(60, |buf| buf.copy_from_slice(&f));
        let (rx, _) = b.receive(t).unwrap();
        assert_eq!(rx.consume(|got| got[14]), 7, "the frame went on");
        let f = frame(A, B, 8);
        b.transmit(t)
            .unwrap()
            .consume(60, |buf| buf.copy_from_slice(&f));
        assert!(a.peek(t).is_some());
        let (rx, tx) = a.receive(t).unwrap();
        assert_eq!(rx.consume(|got| got[14]), 8);
        let f = frame(B, A, 9);
        tx.consume(60, |buf| buf.copy_from_slice(&f));
        assert_eq!(a.sink().0, [(3, false, 7), (3, true, 8), (3, false, 9)]);
    }

    #[test]
    fn outside_a_fault_wrapper_it_shows_what_the_faults_let_through() {
        let seg = RefCell::new(Segment::<2, 4, 1514>::new());
        let late = Faults {
            delay: Duration::from_millis(5),
            ..Faults::NONE
        };
        let port = Faulty::<_, 4, 1514>::new(Port::new(&seg, 0, A).unwrap(), late, 1);
        let mut a = Captured::new(port, Log::default()).with_ways(Ways::Inbound);
        let mut b = Port::new(&seg, 1, B).unwrap();
        let f = frame(A, B, 4);
        b.transmit(Instant::ZERO)
            .unwrap()
            .consume(60, |buf| buf.copy_from_slice(&f));
        assert!(a.peek(Instant::ZERO).is_none(), "held by the faults");
        assert_eq!(Link::poll_at(&a), Some(Instant::from_millis(5)));
        assert!(a.peek(Instant::from_millis(5)).is_some());
        a.discard(Instant::from_millis(5));
        assert_eq!(a.sink().0, [(5, true, 4)], "shown when it came out");
    }
}
