//! Link layer: smoltcp `phy::Device` adapters.
//!
//! Layer: link, the bottom one. It may depend on smoltcp's `phy`, `time` and
//! `wire` modules and on nothing else of layernet; it knows nothing of
//! sockets or applications.
//!
//! Beside the devices (the simulated segment's ports, the TAP, the
//! LAN9118, the Stellaris MAC) are wrappers that work over any of them and compose:
//! [`faults::Faulty`] (loss, corruption, duplication, reordering, delay)
//! and [`capture::Captured`] (every frame shown to a sink).
//!
//! Every device here also implements [`Link`], which lets the network layer
//! look at the next received frame before smoltcp consumes it (the SYN gate
//! in [`crate::net`] needs that) without copying it a second time.

pub mod bus;
pub mod capture;
pub(crate) mod checksum;
pub mod faults;
pub mod lan9118;
pub mod rng;
pub mod segment;
pub mod stellaris;
#[cfg(feature = "std")]
pub mod tap;

use smoltcp::phy::Device;
use smoltcp::time::Instant;

/// Length of an Ethernet II header (no FCS: every link here models a NIC
/// that checks and strips it).
///
/// ```
/// use layernet::link::{ETHERNET_HEADER_LEN, segment::StdSegment};
/// let wire = StdSegment::new();
/// assert_eq!(wire.mtu() + ETHERNET_HEADER_LEN, 1514, "a full Ethernet frame");
/// ```
pub const ETHERNET_HEADER_LEN: usize = 14;

/// Which frames a link wrapper acts on: the fault wrapper
/// ([`faults::Faulty`]) rolls for them, the capture ([`capture::Captured`])
/// shows them.
///
/// ```
/// use layernet::link::Ways;
/// assert_eq!(Ways::default(), Ways::Both);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ways {
    /// Frames from the link and frames to it (a real link's `--faults`).
    #[default]
    Both,
    /// Only the frames the stack sends (the simulated network's model:
    /// each frame rolled for, or shown, once, by its sender).
    Outbound,
    /// Only the frames the link delivers.
    Inbound,
}

impl Ways {
    /// Whether frames of this way (`inbound`: from the link) are included.
    pub(crate) fn includes(self, inbound: bool) -> bool {
        match self {
            Ways::Both => true,
            Ways::Outbound => !inbound,
            Ways::Inbound => inbound,
        }
    }
}

/// A device whose next received frame can be inspected before it is consumed.
///
/// smoltcp's `RxToken` hands a frame out exactly once, to a closure; a gate
/// that wants to say "drop this one" before the interface sees it needs a
/// look first. Devices that already hold the frame in a buffer (a queue, a
/// TAP read buffer, a NIC FIFO copied out) can offer that look for free.
///
/// # Example
///
/// Code generic over the link, here counting the frames a station has
/// waiting (a third station on the simulated segment hears host 0's ARP
/// broadcast):
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::link::Link;
/// use layernet::{Duration, EthernetAddress, Instant, socket::UdpSocket};
///
/// fn drain<L: Link>(link: &mut L, now: Instant) -> usize {
///     let mut n = 0;
///     while link.peek(now).is_some() {
///         link.discard(now);
///         n += 1;
///     }
///     n
/// }
///
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let mut probe = net.raw_port(2, EthernetAddress([2, 0, 0, 0, 0, 9])).ok_or("taken")?;
/// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"x", endpoint(b, 9))?;
/// net.run_for(Duration::from_millis(5));
/// assert_eq!(drain(&mut probe, net.now()), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Link: Device {
    /// The frame that the next `receive` at `now` would hand out, if any
    /// (`None` is not a failure: nothing is due yet). Peeking twice shows
    /// the same frame.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, EthernetAddress, link::Link, socket::UdpSocket};
    ///
    /// let (mut net, a, _) = SimNet::pair(2)?;
    /// let mut probe = net.raw_port(3, EthernetAddress([2, 0, 0, 0, 0, 7])).ok_or("taken")?;
    /// let mut udp = UdpSocket::bind(net.stack(a), 5000)?;
    /// udp.send_to(net.stack(a), b"?", endpoint(1, 53))?;
    /// net.run_for(Duration::from_millis(2));
    /// let frame = probe.peek(net.now()).ok_or("no frame")?;
    /// assert_eq!(frame[..6], [0xff; 6], "an ARP request goes to everyone");
    /// assert_eq!(frame[12..14], [0x08, 0x06]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn peek(&mut self, now: Instant) -> Option<&[u8]>;
    /// Throw away the frame that [`Link::peek`] showed (no-op if none).
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::link::{Link, segment::{Port, Segment}};
    /// use layernet::{EthernetAddress, Instant};
    /// use smoltcp::phy::{Device, TxToken};
    ///
    /// let wire = RefCell::new(Segment::<2, 8, 1514>::new());
    /// let mut a = Port::new(&wire, 0, EthernetAddress([2, 0, 0, 0, 0, 1])).ok_or("0")?;
    /// let mut b = Port::new(&wire, 1, EthernetAddress([2, 0, 0, 0, 0, 2])).ok_or("1")?;
    /// a.transmit(Instant::ZERO).ok_or("tx")?.consume(60, |f| f.fill(0xff));
    /// assert!(b.peek(Instant::ZERO).is_some());
    /// b.discard(Instant::ZERO);
    /// assert!(b.peek(Instant::ZERO).is_none(), "the frame is gone");
    /// # Ok::<(), &str>(())
    /// ```
    fn discard(&mut self, now: Instant);

    /// When a frame the link holds back becomes due, if any: one a fault
    /// wrapper ([`faults::Faulty`]) delays, one waiting at a port of the
    /// simulated segment. Nothing else would wake an event loop for it: no
    /// descriptor turns readable and the stack has no timer for it.
    /// [`crate::run::wake_at`] reads it. `None`, the default: nothing held.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::link::{Link, faults::{Faults, Faulty}, segment::{Port, Segment}};
    /// use layernet::{Duration, EthernetAddress, Instant};
    /// use smoltcp::phy::{Device, TxToken};
    ///
    /// let wire = RefCell::new(Segment::<2, 8, 1514>::new());
    /// let a = Port::new(&wire, 0, EthernetAddress([2, 0, 0, 0, 0, 1])).ok_or("0")?;
    /// let b = Port::new(&wire, 1, EthernetAddress([2, 0, 0, 0, 0, 2])).ok_or("1")?;
    /// let slow = Faults { delay: Duration::from_millis(3), ..Faults::NONE };
    /// let mut a = Faulty::<_, 4, 1514>::new(a, slow, 1);
    /// assert_eq!((a.poll_at(), b.poll_at()), (None, None), "nothing on the way");
    /// a.transmit(Instant::ZERO).ok_or("tx")?.consume(60, |f| f.fill(0xff));
    /// assert_eq!(a.poll_at(), Some(Instant::from_millis(3)), "held by a's faults");
    /// a.flush(Instant::from_millis(3));
    /// assert_eq!(b.poll_at(), Some(Instant::from_millis(3)), "waiting at b's port");
    /// # Ok::<(), &str>(())
    /// ```
    fn poll_at(&self) -> Option<Instant> {
        None
    }
}

/// A NIC that can wake a sleeping core when a frame arrives: the two
/// calls a board's sleep needs from its driver (`firmware/` sleeps in
/// `wfi` until this interrupt or its timer).
///
/// A board enables the interrupt once. Before each sleep, with the core's
/// interrupts masked, it calls [`RxInterrupt::rx_ready`]: that clears the
/// NIC's receive-interrupt status, and says whether a frame is already
/// waiting, one that came in after the last poll (then the board polls
/// instead of sleeping, since its interrupt was just cleared). Otherwise any
/// frame that arrives from then on raises the interrupt, and `wfi` returns.
///
/// ```
/// use layernet::link::{Link, RxInterrupt, stellaris::{Stellaris, fake::FakeStellaris}};
/// let mut nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
/// nic.set_rx_interrupt(true);
/// assert!(!nic.rx_ready(), "nothing came in: sleep");
/// nic.registers().deliver(&[0xff; 60])?;
/// assert!(nic.registers().irq(), "the frame raised the interrupt");
/// assert!(nic.rx_ready(), "a frame waits: poll, do not sleep");
/// assert!(!nic.registers().irq(), "and the interrupt is cleared");
/// assert!(nic.peek(layernet::Instant::ZERO).is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RxInterrupt {
    /// Let the NIC raise its interrupt line when a frame arrives (or stop
    /// it: the state after bring-up, for a polled board).
    ///
    /// ```
    /// use layernet::link::{RxInterrupt, lan9118::{Lan9118, fake::FakeLan9118}};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.set_rx_interrupt(true);
    /// nic.registers().deliver(&[0xff; 60])?;
    /// assert!(nic.registers().irq());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn set_rx_interrupt(&mut self, on: bool);

    /// Clear the receive-interrupt status; true if a received frame waits
    /// (in the NIC or in the driver's buffer).
    ///
    /// ```
    /// use layernet::link::{RxInterrupt, lan9118::{Lan9118, fake::FakeLan9118}};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.set_rx_interrupt(true);
    /// assert!(!nic.rx_ready());
    /// nic.registers().deliver(&[0xff; 60])?;
    /// assert!(nic.rx_ready() && !nic.registers().irq());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn rx_ready(&mut self) -> bool;
}
