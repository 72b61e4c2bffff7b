//! A simulated Ethernet segment: N stations in one process, a plain switch
//! with fixed-capacity frame queues on a virtual clock.
//!
//! Layer: link. Depends on smoltcp's `phy`, `time` and `wire` (to classify
//! frames for the census); nothing above.
//!
//! # Model
//!
//! The segment behaves like a switch with a static table: a unicast frame
//! goes to the port whose MAC it names, a broadcast or multicast frame to
//! every other port, a frame for an unknown MAC nowhere (counted). Each port
//! has an inbound queue of `QUEUE` slots of `MTU` bytes, all inline: the
//! segment never allocates, so it runs on a microcontroller as well.
//! Frames larger than the configured MTU are dropped and counted as
//! oversize.
//!
//! Time is whatever the caller passes to `receive`/`transmit`, and nothing
//! reads a real clock, so the same callers give the same frame sequence,
//! bit for bit; the [`Segment::fingerprint`] proves it.
//!
//! # Faults
//!
//! The segment has none of its own: loss, corruption, duplication,
//! reordering and delay are the [`super::faults::Faulty`] wrapper's, which
//! works over any link. The simulated network
//! ([`crate::host::sim::SimNet`]) puts one on each host's port, rolling for
//! the frames that host sends, each with its own seed drawn from the
//! network's; [`Faults`] is re-exported here for the paths that name it.
//!
//! What the segment counts ([`Stats`], [`Census`]) is in `counts.rs`, its
//! tests in `tests.rs`.

use core::cell::RefCell;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, EthernetFrame};

use super::Link;

pub use self::counts::{Census, Stats};
pub use super::ETHERNET_HEADER_LEN;
pub use super::faults::{Faults, Roll, flip_checksummed_bit};

mod counts;

/// One queued frame, stored inline.
struct Slot<const MTU: usize> {
    used: bool,
    at: Instant,
    seq: u64,
    len: usize,
    data: [u8; MTU],
}

impl<const MTU: usize> Slot<MTU> {
    const EMPTY: Self = Slot {
        used: false,
        at: Instant::ZERO,
        seq: 0,
        len: 0,
        data: [0; MTU],
    };
}

/// The shared medium. `PORTS` stations, `QUEUE` frames of at most `MTU`
/// bytes (Ethernet header included) waiting at each port.
///
/// Stations reach it through [`Port`]s, which hold a `&RefCell<Segment>`:
/// one thread, many devices, no heap.
///
/// # Example
///
/// A three-station segment without the host helpers: a broadcast reaches
/// both other stations.
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::segment::{Port, Segment};
/// use layernet::{EthernetAddress as Mac, Instant};
/// use smoltcp::phy::{Device, TxToken};
///
/// let hub = RefCell::new(Segment::<3, 4, 600>::new());
/// let mac = |i: u8| Mac([2, 0, 0, 0, 1, i]);
/// let mut ports: Vec<_> = (0..3).filter_map(|i| Port::new(&hub, i, mac(i as u8))).collect();
/// let tx = ports[0].transmit(Instant::ZERO).ok_or("no tx")?;
/// tx.consume(64, |frame| frame[..6].copy_from_slice(&Mac::BROADCAST.0));
/// assert_eq!(hub.borrow().stats().delivered, 2);
/// # Ok::<(), &str>(())
/// ```
pub struct Segment<const PORTS: usize, const QUEUE: usize, const MTU: usize> {
    ip_mtu: usize,
    macs: [Option<EthernetAddress>; PORTS],
    queues: [[Slot<MTU>; QUEUE]; PORTS],
    seq: u64,
    stats: Stats,
    census: Census,
    fingerprint: u64,
}

/// The segment the demo, the examples and the tests use: 4 ports, 64 frames
/// each, standard Ethernet frames.
///
/// ```
/// use layernet::link::segment::StdSegment;
/// let standard = StdSegment::new();
/// assert_eq!(standard.mtu(), 1500);
/// assert_eq!(standard.next_delivery(), None, "nothing queued yet");
/// ```
pub type StdSegment = Segment<4, 64, 1514>;

impl<const PORTS: usize, const QUEUE: usize, const MTU: usize> Default
    for Segment<PORTS, QUEUE, MTU>
{
    fn default() -> Self {
        Self::new()
    }
}

/// A port on a [`StdSegment`]: the device of every simulated host.
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::segment::{StdPort, StdSegment};
/// use layernet::EthernetAddress;
///
/// let wire = RefCell::new(StdSegment::new());
/// let last: Option<StdPort<'_>> = StdPort::new(&wire, 3, EthernetAddress([2, 0, 0, 0, 0, 4]));
/// assert!(last.is_some());
/// assert!(StdPort::new(&wire, 4, EthernetAddress([2, 0, 0, 0, 0, 5])).is_none(), "only 4 ports");
/// ```
pub type StdPort<'s> = Port<'s, 4, 64, 1514>;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

impl<const PORTS: usize, const QUEUE: usize, const MTU: usize> Segment<PORTS, QUEUE, MTU> {
    /// An empty segment. The IP MTU starts at the largest the slots allow
    /// (`MTU - 14`).
    ///
    /// ```
    /// use layernet::link::segment::{Segment, Stats};
    /// let small = Segment::<2, 8, 1000>::new();
    /// assert_eq!(small.mtu(), 986);
    /// assert_eq!(small.stats(), Stats::default());
    /// ```
    pub fn new() -> Self {
        Segment {
            ip_mtu: MTU.saturating_sub(ETHERNET_HEADER_LEN),
            macs: [None; PORTS],
            queues: core::array::from_fn(|_| [Slot::EMPTY; QUEUE]),
            seq: 0,
            stats: Stats::default(),
            census: Census::default(),
            fingerprint: FNV_OFFSET,
        }
    }

    /// Set the IP MTU (frames above `mtu + 14` bytes are dropped). Clamped to
    /// what the slots can hold and to the IPv4 minimum of 576.
    ///
    /// ```
    /// use layernet::link::segment::StdSegment;
    /// let mut wire = StdSegment::new();
    /// wire.set_mtu(1280);
    /// assert_eq!(wire.mtu(), 1280);
    /// wire.set_mtu(100);
    /// assert_eq!(wire.mtu(), 576);
    /// wire.set_mtu(9000);
    /// assert_eq!(wire.mtu(), 1500);
    /// ```
    pub fn set_mtu(&mut self, mtu: usize) {
        self.ip_mtu = mtu.clamp(576, MTU.saturating_sub(ETHERNET_HEADER_LEN));
    }

    /// The IP MTU in force; every port offers smoltcp frames of this plus
    /// the Ethernet header.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use smoltcp::phy::Device;
    ///
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let mtu = net.segment().mtu();
    /// assert_eq!(net.host(a).1.capabilities().max_transmission_unit, mtu + 14);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn mtu(&self) -> usize {
        self.ip_mtu
    }

    /// What the switch did with the frames so far (the fault counts stay 0:
    /// see [`Stats`]).
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::{link::segment::*, EthernetAddress, Instant};
    /// use smoltcp::phy::{Device, TxToken};
    ///
    /// let wire = RefCell::new(Segment::<2, 4, 1514>::new());
    /// wire.borrow_mut().set_mtu(576);
    /// let mut nic = Port::new(&wire, 1, EthernetAddress([2, 0, 0, 0, 0, 2])).ok_or("port")?;
    /// nic.transmit(Instant::ZERO).ok_or("tx")?.consume(700, |f| f.fill(0xff));
    /// assert_eq!(wire.borrow().stats().oversize, 1, "700 > 576 + 14");
    /// # Ok::<(), &str>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The frames switched so far, by protocol (see [`Census`]).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::UdpSocket};
    ///
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let mut chat = UdpSocket::bind(net.stack(a), 6868)?;
    /// chat.send_to(net.stack(a), b"hello", endpoint(b, 6868))?;
    /// net.run_for(Duration::from_millis(5));
    /// let census = net.segment().census();
    /// assert_eq!((census.udp_datagrams, census.udp_payload_bytes), (1, 5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn census(&self) -> Census {
        self.census
    }

    /// A hash of every frame the segment was handed so far (after the
    /// senders' faults), with its sender and time: equal fingerprints mean
    /// equal frame sequences.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, link::segment::Faults, socket::TcpStream};
    ///
    /// let run = |seed| -> Result<u64, Box<dyn std::error::Error>> {
    ///     let mut net = SimNet::new(seed, Faults::loss(20));
    ///     let (_, c) = (net.add_host()?, net.add_host()?);
    ///     let _dialing = TcpStream::connect(net.stack(c), endpoint(0, 1234))?;
    ///     net.run_for(Duration::from_secs(2));
    ///     Ok(net.segment().fingerprint())
    /// };
    /// assert_eq!(run(1)?, run(1)?, "same seed, same frames");
    /// assert_ne!(run(1)?, run(2)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The earliest time at which any queued frame becomes deliverable
    /// (`None`: no frame is queued). A switch delays nothing: a frame is
    /// deliverable from the moment it was sent (a delay is the fault
    /// wrapper's, and its [`Link::poll_at`] says when a held frame is due).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, link::{Link, segment::Faults}, socket::UdpSocket};
    ///
    /// let (mut net, a, b) = SimNet::pair(9)?;
    /// let now = net.now();
    /// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"x", endpoint(b, 7))?;
    /// net.poll(a, now); // sends the ARP request
    /// assert_eq!(net.segment().next_delivery(), Some(now));
    /// net.run_for(Duration::from_millis(5));
    /// net.set_faults(Faults { delay: Duration::from_millis(3), ..Faults::NONE });
    /// let now = net.now();
    /// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"y", endpoint(b, 7))?;
    /// net.poll(a, now); // the datagram, held by a's fault wrapper
    /// assert_eq!(net.segment().next_delivery(), None);
    /// assert_eq!(net.host(a).1.poll_at(), Some(now + Duration::from_millis(3)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queues
            .iter()
            .flat_map(|q| q.iter())
            .filter(|s| s.used)
            .map(|s| s.at)
            .min()
    }

    /// When the next frame queued for station `index` is due, if any.
    pub(crate) fn next_delivery_to(&self, index: usize) -> Option<Instant> {
        self.queues
            .get(index)?
            .iter()
            .filter(|s| s.used)
            .map(|s| s.at)
            .min()
    }

    /// Attach station `index` with hardware address `mac`: unicast frames
    /// for `mac` go to that station's queue. [`Port::new`] calls it.
    ///
    /// # Errors
    ///
    /// `None` if `index` is not below `PORTS`.
    ///
    /// ```
    /// use layernet::{EthernetAddress, link::segment::Segment};
    /// let mut two = Segment::<2, 4, 1514>::new();
    /// assert_eq!(two.attach(1, EthernetAddress([2, 0, 0, 0, 0, 2])), Some(()));
    /// assert_eq!(two.attach(2, EthernetAddress([2, 0, 0, 0, 0, 3])), None);
    /// ```
    pub fn attach(&mut self, index: usize, mac: EthernetAddress) -> Option<()> {
        *self.macs.get_mut(index)? = Some(mac);
        Some(())
    }

    /// The deliverable frame at `port` that is due first, as a slot index.
    fn due(&self, port: usize, now: Instant) -> Option<usize> {
        let queue = self.queues.get(port)?;
        queue
            .iter()
            .enumerate()
            .filter(|(_, s)| s.used && s.at <= now)
            .min_by_key(|(_, s)| (s.at, s.seq))
            .map(|(i, _)| i)
    }

    /// Move the next due frame for `port` into `buf`; returns its length.
    fn take(&mut self, port: usize, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let i = self.due(port, now)?;
        let slot = self.queues.get_mut(port)?.get_mut(i)?;
        slot.used = false;
        let len = slot.len.min(buf.len());
        buf[..len].copy_from_slice(&slot.data[..len]);
        Some(len)
    }

    fn enqueue(&mut self, port: usize, at: Instant, frame: &[u8]) {
        self.seq += 1;
        let seq = self.seq;
        let Some(queue) = self.queues.get_mut(port) else {
            return;
        };
        match queue.iter_mut().find(|s| !s.used) {
            Some(slot) if frame.len() <= MTU => {
                slot.used = true;
                slot.at = at;
                slot.seq = seq;
                slot.len = frame.len();
                slot.data[..frame.len()].copy_from_slice(frame);
                self.stats.delivered += 1;
            }
            _ => self.stats.overflow += 1,
        }
    }

    /// A station's frame enters the wire: count it and queue it at its
    /// destinations.
    fn offer(&mut self, from: usize, now: Instant, frame: &[u8]) {
        self.stats.offered += 1;
        self.stats.offered_bytes += frame.len() as u64;
        self.census.count(frame);
        let mut h = fnv(self.fingerprint, &(from as u64).to_le_bytes());
        h = fnv(h, &now.total_millis().to_le_bytes());
        self.fingerprint = fnv(h, frame);

        if frame.len() > self.ip_mtu + ETHERNET_HEADER_LEN {
            self.stats.oversize += 1;
            return;
        }
        let at = now;

        let dst = EthernetFrame::new_checked(frame).map(|f| f.dst_addr());
        let Ok(dst) = dst else {
            self.stats.unknown_destination += 1;
            return;
        };
        if dst.is_unicast() {
            match self.macs.iter().position(|m| *m == Some(dst)) {
                Some(port) if port != from => self.enqueue(port, at, frame),
                _ => self.stats.unknown_destination += 1,
            }
        } else {
            for port in 0..PORTS {
                if port != from && self.macs[port].is_some() {
                    self.enqueue(port, at, frame);
                }
            }
        }
    }
}

/// One station's attachment to a [`Segment`]: a smoltcp `phy::Device`.
///
/// A received frame is copied once, from the segment's queue into the port's
/// own buffer (the segment sits behind a `RefCell` shared by all stations,
/// so a token cannot keep a borrow of it); a transmitted frame is built in
/// place by smoltcp and copied once into each receiving queue.
///
/// # Example
///
/// A stack on a port, no host helpers needed (this is how a no_std test
/// wires one up):
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::segment::{Port, Segment};
/// use layernet::net::{Config, Stack, profile};
///
/// let wire = RefCell::new(Segment::<2, 16, 1514>::new());
/// let config = Config::default();
/// let mut port = Port::new(&wire, 0, config.mac).ok_or("no such port")?;
/// let mut memory = profile::Tiny::new();
/// let stack = Stack::new(config, &mut port, &mut memory, layernet::Instant::ZERO)?;
/// assert_eq!(stack.ipv4_addr(), config.ip.address());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Port<'s, const PORTS: usize, const QUEUE: usize, const MTU: usize> {
    segment: &'s RefCell<Segment<PORTS, QUEUE, MTU>>,
    index: usize,
    rx: [u8; MTU],
    rx_len: Option<usize>,
    tx: [u8; MTU],
}

impl<'s, const PORTS: usize, const QUEUE: usize, const MTU: usize> Port<'s, PORTS, QUEUE, MTU> {
    /// Attach station `index` (0-based, below `PORTS`) with address `mac`.
    ///
    /// # Errors
    ///
    /// `None` if `index` is out of range or the segment is borrowed.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::{EthernetAddress, link::segment::{Port, StdSegment}};
    ///
    /// let wire = RefCell::new(StdSegment::new());
    /// let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
    /// let busy = wire.borrow();
    /// assert!(Port::new(&wire, 0, mac).is_none(), "the segment is borrowed");
    /// drop(busy);
    /// assert!(Port::new(&wire, 0, mac).is_some());
    /// ```
    pub fn new(
        segment: &'s RefCell<Segment<PORTS, QUEUE, MTU>>,
        index: usize,
        mac: EthernetAddress,
    ) -> Option<Self> {
        segment.try_borrow_mut().ok()?.attach(index, mac)?;
        Some(Port {
            segment,
            index,
            rx: [0; MTU],
            rx_len: None,
            tx: [0; MTU],
        })
    }

    /// The segment this port is attached to.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, link::segment::Faults};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let wire = net.host(a).1.inner().segment();
    /// assert_eq!((wire.borrow().mtu(), net.faults()), (1500, Faults::NONE));
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn segment(&self) -> &'s RefCell<Segment<PORTS, QUEUE, MTU>> {
        self.segment
    }

    fn fill(&mut self, now: Instant) {
        if self.rx_len.is_none()
            && let Ok(mut seg) = self.segment.try_borrow_mut()
        {
            self.rx_len = seg.take(self.index, now, &mut self.rx);
        }
    }
}

impl<const PORTS: usize, const QUEUE: usize, const MTU: usize> Link
    for Port<'_, PORTS, QUEUE, MTU>
{
    fn peek(&mut self, now: Instant) -> Option<&[u8]> {
        self.fill(now);
        let len = self.rx_len?;
        self.rx.get(..len)
    }

    fn poll_at(&self) -> Option<Instant> {
        self.segment.try_borrow().ok()?.next_delivery_to(self.index)
    }

    fn discard(&mut self, _now: Instant) {
        self.rx_len = None;
    }
}

/// Receive token: the frame already sits in the port's buffer.
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::segment::{Port, Segment};
/// use layernet::{EthernetAddress as Mac, Instant};
/// use smoltcp::phy::{Device, RxToken, TxToken};
///
/// let lan = RefCell::new(Segment::<2, 2, 128>::new());
/// let (x_mac, y_mac) = (Mac([2, 0, 0, 0, 0, 10]), Mac([2, 0, 0, 0, 0, 11]));
/// let mut x = Port::new(&lan, 0, x_mac).ok_or("x")?;
/// let mut y = Port::new(&lan, 1, y_mac).ok_or("y")?;
/// let tx = x.transmit(Instant::ZERO).ok_or("tx")?;
/// tx.consume(42, |f| f[..6].copy_from_slice(&y_mac.0)); // unicast to y
/// let (rx, _reply) = y.receive(Instant::ZERO).ok_or("nothing came")?;
/// assert_eq!(rx.consume(|frame| frame.len()), 42);
/// # Ok::<(), &str>(())
/// ```
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Transmit token: smoltcp builds the frame in the port's buffer, then the
/// segment takes it.
///
/// ```
/// use core::cell::RefCell;
/// use layernet::{EthernetAddress, Instant, link::segment::*};
/// use smoltcp::phy::{Device, TxToken as _};
///
/// let seg = RefCell::new(Segment::<1, 1, 64>::new());
/// let mut lone = Port::new(&seg, 0, EthernetAddress([2, 0, 0, 0, 0, 1])).ok_or("port")?;
/// let token: TxToken<'_, '_, 1, 1, 64> = lone.transmit(Instant::ZERO).ok_or("tx")?;
/// token.consume(60, |f| f.fill(0));
/// let (stats, census) = (seg.borrow().stats(), seg.borrow().census());
/// assert_eq!((stats.offered, stats.unknown_destination, census.other), (1, 1, 1));
/// # Ok::<(), &str>(())
/// ```
pub struct TxToken<'a, 's, const PORTS: usize, const QUEUE: usize, const MTU: usize> {
    segment: &'s RefCell<Segment<PORTS, QUEUE, MTU>>,
    index: usize,
    now: Instant,
    buf: &'a mut [u8; MTU],
}

impl<const PORTS: usize, const QUEUE: usize, const MTU: usize> phy::TxToken
    for TxToken<'_, '_, PORTS, QUEUE, MTU>
{
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // smoltcp never asks for more than `capabilities()` allows, which is
        // at most MTU; clamping keeps a misbehaving caller from panicking us.
        let len = len.min(MTU);
        let frame = &mut self.buf[..len];
        let r = f(frame);
        if let Ok(mut seg) = self.segment.try_borrow_mut() {
            seg.offer(self.index, self.now, frame);
        }
        r
    }
}

impl<'s, const PORTS: usize, const QUEUE: usize, const MTU: usize> Device
    for Port<'s, PORTS, QUEUE, MTU>
{
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, 's, PORTS, QUEUE, MTU>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.fill(now);
        let len = self.rx_len.take()?;
        Some((
            RxToken {
                frame: &self.rx[..len],
            },
            TxToken {
                segment: self.segment,
                index: self.index,
                now,
                buf: &mut self.tx,
            },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        Some(TxToken {
            segment: self.segment,
            index: self.index,
            now,
            buf: &mut self.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        let mtu = self
            .segment
            .try_borrow()
            .map(|s| s.mtu())
            .unwrap_or(MTU.saturating_sub(ETHERNET_HEADER_LEN));
        caps.max_transmission_unit = mtu + ETHERNET_HEADER_LEN;
        caps.max_burst_size = Some(QUEUE / 2);
        caps
    }
}

#[cfg(test)]
mod tests;
