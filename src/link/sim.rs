//! A simulated Ethernet segment: N stations in one process, fixed-capacity
//! frame queues, a virtual clock and a seeded fault model.
//!
//! Layer: link. Depends on smoltcp's `phy`, `time` and `wire` (to classify
//! frames for the census and to aim corruption at checksummed bytes) and on
//! [`super::rng`]; nothing above.
//!
//! # Model
//!
//! The segment behaves like a switch with a static table: a unicast frame
//! goes to the port whose MAC it names, a broadcast or multicast frame to
//! every other port, a frame for an unknown MAC nowhere (counted). Each port
//! has an inbound queue of `QUEUE` slots of `MTU` bytes, all inline: the
//! segment never allocates, so it runs on a microcontroller as well.
//!
//! Time is whatever the caller passes to `receive`/`transmit`: a frame sent
//! at `t` becomes deliverable at `t + delay` (plus a little more when it is
//! chosen for reordering, so that later frames overtake it). Nothing reads a
//! real clock, and all randomness comes from the seed, so the same seed and
//! the same callers give the same frame sequence, bit for bit; the
//! [`Segment::fingerprint`] proves it.
//!
//! # Faults
//!
//! Rolled per offered frame, in this order: drop, corrupt, duplicate,
//! reorder. Corruption flips one bit inside the IPv4 packet, where the IPv4
//! header checksum or the ICMP/TCP/UDP checksum covers it: a single flipped
//! bit always changes a ones'-complement sum, so the receiver always detects
//! it. ARP has no checksum of its own (a real NIC's FCS would catch the
//! flip), so a corrupted ARP frame is dropped as an FCS error would drop it,
//! and counted as corrupted. Frames larger than the configured MTU are
//! dropped and counted as oversize.

use core::cell::RefCell;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetAddress, EthernetFrame, EthernetProtocol, Icmpv4Message,
    Icmpv4Packet, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, Ipv6Packet};

use super::Link;
use super::rng::Rng;

/// Length of an Ethernet II header (no FCS: the segment models a NIC that
/// checks and strips it).
///
/// ```
/// use layernet::link::sim::{ETHERNET_HEADER_LEN, Faults, StdSegment};
/// let wire = StdSegment::new(0, Faults::NONE);
/// assert_eq!(wire.mtu() + ETHERNET_HEADER_LEN, 1514, "a full Ethernet frame");
/// ```
pub const ETHERNET_HEADER_LEN: usize = 14;

/// The fault model of a segment. Rates are whole percentages (0 to 100).
///
/// # Example
///
/// A slow wire: 50 ms each way, so the ARP exchange and the datagram take
/// 150 ms between them:
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{Duration, link::sim::Faults, socket::{Error, UdpSocket}};
///
/// let mut net = SimNet::new(4, Faults { delay: Duration::from_millis(50), ..Faults::NONE });
/// let (a, b) = (net.add_host()?, net.add_host()?);
/// let (mut tx, mut rx) = (UdpSocket::bind(net.stack(a), 0)?, UdpSocket::bind(net.stack(b), 9)?);
/// tx.send_to(net.stack(a), b"late", endpoint(b, 9))?;
/// net.run_for(Duration::from_millis(120));
/// let mut buf = [0u8; 8];
/// assert_eq!(rx.recv_from(net.stack(b), &mut buf).err(), Some(Error::WouldBlock));
/// net.run_for(Duration::from_millis(40));
/// assert_eq!(rx.recv_from(net.stack(b), &mut buf)?.0, 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    /// Frames lost outright.
    pub drop_pct: u8,
    /// Frames with one bit flipped (see the module doc).
    pub corrupt_pct: u8,
    /// Frames delivered twice.
    pub duplicate_pct: u8,
    /// Frames held back so that later ones overtake them.
    pub reorder_pct: u8,
    /// Latency added to every frame.
    pub delay: Duration,
}

impl Faults {
    /// A perfect wire: nothing lost, nothing late. Also the `Default`, and
    /// what [`SimNet::pair`](../../host/sim/struct.SimNet.html#method.pair) uses.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, link::sim::Faults};
    /// let (net, _, _) = SimNet::pair(3)?;
    /// assert_eq!(net.segment().faults(), Faults::NONE);
    /// assert_eq!(Faults::default(), Faults::NONE);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub const NONE: Faults = Faults {
        drop_pct: 0,
        corrupt_pct: 0,
        duplicate_pct: 0,
        reorder_pct: 0,
        delay: Duration::from_millis(0),
    };

    /// Only frame loss, at `pct` percent.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, link::sim::Faults, socket::UdpSocket};
    ///
    /// let (mut net, a, b) = SimNet::pair(8)?;
    /// net.set_faults(Faults::loss(100));
    /// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"lost", endpoint(b, 9))?;
    /// net.run_for(Duration::from_secs(1));
    /// let stats = net.segment().stats();
    /// assert!(stats.dropped > 0 && stats.delivered == 0, "{stats:?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn loss(pct: u8) -> Faults {
        Faults {
            drop_pct: pct,
            ..Faults::NONE
        }
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults::NONE
    }
}

/// What the segment did with the frames offered to it.
///
/// # Example
///
/// On a perfect wire between two stations every frame arrives once:
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{Duration, socket::TcpStream};
///
/// let (mut net, _server, client) = SimNet::pair(5)?;
/// let _refused = TcpStream::connect(net.stack(client), endpoint(0, 80))?;
/// net.run_for(Duration::from_millis(10));
/// let s = net.segment().stats();
/// assert_eq!((s.offered, s.delivered, s.dropped), (4, 4, 0)); // ARP x2, SYN, RST
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames stations handed to the segment.
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Frames placed in a receiving port's queue (a broadcast counts once per port).
    pub delivered: u64,
    /// Frames lost to the drop rate.
    pub dropped: u64,
    /// Frames with a bit flipped (or, for ARP, dropped as an FCS error).
    pub corrupted: u64,
    /// Frames delivered twice.
    pub duplicated: u64,
    /// Frames held back for reordering.
    pub reordered: u64,
    /// Frames larger than the MTU, dropped.
    pub oversize: u64,
    /// Frames dropped because the receiving port's queue was full.
    pub overflow: u64,
    /// Unicast frames for a MAC no port has.
    pub unknown_destination: u64,
}

impl Stats {
    /// The counts accumulated since `earlier` was taken (each count
    /// saturates at 0 should `earlier` be the later one).
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, socket::Ping};
    ///
    /// let (mut net, a, b) = SimNet::pair(6)?;
    /// let before = net.segment().stats();
    /// let to = net.stack(b).ipv4_addr();
    /// Ping::new(net.stack(a)).send(net.stack(a), to, 1, b"ping")?;
    /// net.run_for(Duration::from_millis(10));
    /// let ping = net.segment().stats().since(&before);
    /// assert_eq!(ping.delivered, 4, "ARP request and reply, echo request and reply");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn since(&self, earlier: &Stats) -> Stats {
        Stats {
            offered: self.offered.saturating_sub(earlier.offered),
            offered_bytes: self.offered_bytes.saturating_sub(earlier.offered_bytes),
            delivered: self.delivered.saturating_sub(earlier.delivered),
            dropped: self.dropped.saturating_sub(earlier.dropped),
            corrupted: self.corrupted.saturating_sub(earlier.corrupted),
            duplicated: self.duplicated.saturating_sub(earlier.duplicated),
            reordered: self.reordered.saturating_sub(earlier.reordered),
            oversize: self.oversize.saturating_sub(earlier.oversize),
            overflow: self.overflow.saturating_sub(earlier.overflow),
            unknown_destination: self
                .unknown_destination
                .saturating_sub(earlier.unknown_destination),
        }
    }
}

/// The offered frames, classified by protocol: what the wire carried.
///
/// # Example
///
/// A ping on the wire, as a capture would show it:
///
/// ```
/// use layernet::{Duration, host::sim::*, socket::Ping};
///
/// let (mut net, a, b) = SimNet::pair(7)?;
/// let mut ping = Ping::new(net.stack(a));
/// ping.send(net.stack(a), host_ip(b).address(), 1, &[0; 32])?;
/// net.run_for(Duration::from_millis(10));
/// let c = net.segment().census();
/// assert_eq!((c.arp_requests, c.arp_replies), (1, 1));
/// assert_eq!((c.icmp_echo_requests, c.icmp_echo_replies, c.tcp_segments), (1, 1, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// ARP who-has.
    pub arp_requests: u64,
    /// ARP is-at.
    pub arp_replies: u64,
    /// ICMP echo requests.
    pub icmp_echo_requests: u64,
    /// ICMP echo replies.
    pub icmp_echo_replies: u64,
    /// All TCP segments.
    pub tcp_segments: u64,
    /// SYN without ACK (connection requests).
    pub tcp_syn: u64,
    /// SYN with ACK.
    pub tcp_syn_ack: u64,
    /// Segments carrying FIN.
    pub tcp_fin: u64,
    /// Segments carrying RST.
    pub tcp_rst: u64,
    /// TCP payload bytes (retransmissions included).
    pub tcp_payload_bytes: u64,
    /// UDP datagrams.
    pub udp_datagrams: u64,
    /// UDP payload bytes.
    pub udp_payload_bytes: u64,
    /// Neighbour solicitations (IPv6's who-has).
    #[cfg(feature = "ipv6")]
    pub nd_solicits: u64,
    /// Neighbour advertisements (IPv6's is-at).
    #[cfg(feature = "ipv6")]
    pub nd_adverts: u64,
    /// Frames none of the above (or not parseable).
    pub other: u64,
}

impl Census {
    /// The counts accumulated since `earlier` was taken (each count
    /// saturates at 0 should `earlier` be the later one).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, srv, cli) = SimNet::pair(2)?;
    /// let _listener = TcpListener::bind(net.stack(srv), 7, 1)?;
    /// let start = net.segment().census();
    /// let _conn = TcpStream::connect(net.stack(cli), endpoint(srv, 7))?;
    /// net.run_for(Duration::from_millis(10));
    /// let handshake = net.segment().census().since(&start);
    /// assert_eq!((handshake.tcp_syn, handshake.tcp_syn_ack, handshake.tcp_segments), (1, 1, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn since(&self, earlier: &Census) -> Census {
        Census {
            arp_requests: self.arp_requests.saturating_sub(earlier.arp_requests),
            arp_replies: self.arp_replies.saturating_sub(earlier.arp_replies),
            icmp_echo_requests: self
                .icmp_echo_requests
                .saturating_sub(earlier.icmp_echo_requests),
            icmp_echo_replies: self
                .icmp_echo_replies
                .saturating_sub(earlier.icmp_echo_replies),
            tcp_segments: self.tcp_segments.saturating_sub(earlier.tcp_segments),
            tcp_syn: self.tcp_syn.saturating_sub(earlier.tcp_syn),
            tcp_syn_ack: self.tcp_syn_ack.saturating_sub(earlier.tcp_syn_ack),
            tcp_fin: self.tcp_fin.saturating_sub(earlier.tcp_fin),
            tcp_rst: self.tcp_rst.saturating_sub(earlier.tcp_rst),
            tcp_payload_bytes: self
                .tcp_payload_bytes
                .saturating_sub(earlier.tcp_payload_bytes),
            udp_datagrams: self.udp_datagrams.saturating_sub(earlier.udp_datagrams),
            udp_payload_bytes: self
                .udp_payload_bytes
                .saturating_sub(earlier.udp_payload_bytes),
            #[cfg(feature = "ipv6")]
            nd_solicits: self.nd_solicits.saturating_sub(earlier.nd_solicits),
            #[cfg(feature = "ipv6")]
            nd_adverts: self.nd_adverts.saturating_sub(earlier.nd_adverts),
            other: self.other.saturating_sub(earlier.other),
        }
    }

    fn count(&mut self, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            self.other += 1;
            return;
        };
        match eth.ethertype() {
            EthernetProtocol::Arp => match ArpPacket::new_checked(eth.payload()) {
                Ok(arp) if arp.operation() == ArpOperation::Request => self.arp_requests += 1,
                Ok(arp) if arp.operation() == ArpOperation::Reply => self.arp_replies += 1,
                _ => self.other += 1,
            },
            EthernetProtocol::Ipv4 => match Ipv4Packet::new_checked(eth.payload()) {
                Ok(ip) => self.count_ip(ip.next_header(), ip.payload()),
                Err(_) => self.other += 1,
            },
            #[cfg(feature = "ipv6")]
            EthernetProtocol::Ipv6 => match Ipv6Packet::new_checked(eth.payload()) {
                Ok(ip) => self.count_ip(ip.next_header(), ip.payload()),
                Err(_) => self.other += 1,
            },
            _ => self.other += 1,
        }
    }

    fn count_ip(&mut self, protocol: IpProtocol, payload: &[u8]) {
        match protocol {
            #[cfg(feature = "ipv6")]
            IpProtocol::Icmpv6 => match Icmpv6Packet::new_checked(payload).map(|p| p.msg_type()) {
                Ok(Icmpv6Message::EchoRequest) => self.icmp_echo_requests += 1,
                Ok(Icmpv6Message::EchoReply) => self.icmp_echo_replies += 1,
                Ok(Icmpv6Message::NeighborSolicit) => self.nd_solicits += 1,
                Ok(Icmpv6Message::NeighborAdvert) => self.nd_adverts += 1,
                _ => self.other += 1,
            },
            IpProtocol::Icmp => match Icmpv4Packet::new_checked(payload) {
                Ok(icmp) if icmp.msg_type() == Icmpv4Message::EchoRequest => {
                    self.icmp_echo_requests += 1
                }
                Ok(icmp) if icmp.msg_type() == Icmpv4Message::EchoReply => {
                    self.icmp_echo_replies += 1
                }
                _ => self.other += 1,
            },
            IpProtocol::Tcp => match TcpPacket::new_checked(payload) {
                Ok(tcp) => {
                    self.tcp_segments += 1;
                    match (tcp.syn(), tcp.ack()) {
                        (true, false) => self.tcp_syn += 1,
                        (true, true) => self.tcp_syn_ack += 1,
                        _ => {}
                    }
                    self.tcp_fin += u64::from(tcp.fin());
                    self.tcp_rst += u64::from(tcp.rst());
                    self.tcp_payload_bytes += tcp.payload().len() as u64;
                }
                Err(_) => self.other += 1,
            },
            IpProtocol::Udp => match UdpPacket::new_checked(payload) {
                Ok(udp) => {
                    self.udp_datagrams += 1;
                    self.udp_payload_bytes += udp.payload().len() as u64;
                }
                Err(_) => self.other += 1,
            },
            _ => self.other += 1,
        }
    }
}

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
/// use layernet::link::sim::{Faults, Port, Segment};
/// use layernet::{EthernetAddress as Mac, Instant};
/// use smoltcp::phy::{Device, TxToken};
///
/// let hub = RefCell::new(Segment::<3, 4, 600>::new(11, Faults::NONE));
/// let mac = |i: u8| Mac([2, 0, 0, 0, 1, i]);
/// let mut ports: Vec<_> = (0..3).filter_map(|i| Port::new(&hub, i, mac(i as u8))).collect();
/// let tx = ports[0].transmit(Instant::ZERO).ok_or("no tx")?;
/// tx.consume(64, |frame| frame[..6].copy_from_slice(&Mac::BROADCAST.0));
/// assert_eq!(hub.borrow().stats().delivered, 2);
/// # Ok::<(), &str>(())
/// ```
pub struct Segment<const PORTS: usize, const QUEUE: usize, const MTU: usize> {
    rng: Rng,
    faults: Faults,
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
/// use layernet::link::sim::{Faults, StdSegment};
/// let standard = StdSegment::new(0, Faults::NONE);
/// assert_eq!(standard.mtu(), 1500);
/// assert_eq!(standard.next_delivery(), None, "nothing queued yet");
/// ```
pub type StdSegment = Segment<4, 64, 1514>;

/// A port on a [`StdSegment`]: the device of every simulated host.
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::sim::{Faults, StdPort, StdSegment};
/// use layernet::EthernetAddress;
///
/// let wire = RefCell::new(StdSegment::new(0, Faults::NONE));
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
    /// A segment whose faults are drawn from `seed`. The IP MTU starts at the
    /// largest the slots allow (`MTU - 14`).
    ///
    /// ```
    /// use layernet::link::sim::{Faults, Segment, Stats};
    /// let small = Segment::<2, 8, 1000>::new(1, Faults::loss(5));
    /// assert_eq!(small.mtu(), 986);
    /// assert_eq!((small.faults().drop_pct, small.stats()), (5, Stats::default()));
    /// ```
    pub fn new(seed: u64, faults: Faults) -> Self {
        Segment {
            rng: Rng::new(seed),
            faults,
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
    /// use layernet::link::sim::{Faults, StdSegment};
    /// let mut wire = StdSegment::new(0, Faults::NONE);
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

    /// Change the fault model from now on; frames already queued keep
    /// their fate.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::{EthernetAddress, Instant, link::sim::{Faults, Port, StdSegment}};
    /// use smoltcp::phy::{Device, TxToken};
    ///
    /// let wire = RefCell::new(StdSegment::new(0, Faults::NONE));
    /// let mut port = Port::new(&wire, 0, EthernetAddress([2, 0, 0, 0, 0, 1])).ok_or("port")?;
    /// wire.borrow_mut().set_faults(Faults::loss(100));
    /// port.transmit(Instant::ZERO).ok_or("tx")?.consume(60, |f| f.fill(0xff));
    /// assert_eq!(wire.borrow().stats().dropped, 1);
    /// # Ok::<(), &str>(())
    /// ```
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// The fault model in force.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, link::sim::Faults};
    /// let (mut net, _, _) = SimNet::pair(1)?;
    /// net.set_faults(Faults { reorder_pct: 10, ..Faults::loss(2) });
    /// assert_eq!(net.segment().faults().reorder_pct, 10);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn faults(&self) -> Faults {
        self.faults
    }

    /// What happened to the frames so far.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::{link::sim::*, EthernetAddress, Instant};
    /// use smoltcp::phy::{Device, TxToken};
    ///
    /// let wire = RefCell::new(Segment::<2, 4, 1514>::new(0, Faults::NONE));
    /// wire.borrow_mut().set_mtu(576);
    /// let mut nic = Port::new(&wire, 1, EthernetAddress([2, 0, 0, 0, 0, 2])).ok_or("port")?;
    /// nic.transmit(Instant::ZERO).ok_or("tx")?.consume(700, |f| f.fill(0xff));
    /// assert_eq!(wire.borrow().stats().oversize, 1, "700 > 576 + 14");
    /// # Ok::<(), &str>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The offered frames by protocol.
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

    /// A hash of every frame offered so far, with its sender and time: equal
    /// fingerprints mean equal frame sequences.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, link::sim::Faults, socket::TcpStream};
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
    /// (`None`: no frame is queued).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, link::sim::Faults, socket::UdpSocket};
    ///
    /// let (mut net, a, b) = SimNet::pair(9)?;
    /// net.set_faults(Faults { delay: Duration::from_millis(3), ..Faults::NONE });
    /// let now = net.now();
    /// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"x", endpoint(b, 7))?;
    /// net.poll(a, now); // sends the ARP request
    /// assert_eq!(net.segment().next_delivery(), Some(now + Duration::from_millis(3)));
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
    /// use layernet::{EthernetAddress, link::sim::{Faults, Segment}};
    /// let mut two = Segment::<2, 4, 1514>::new(0, Faults::NONE);
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

    /// A station's frame enters the wire: count it, roll the faults, and queue
    /// it at its destinations.
    fn offer(&mut self, from: usize, now: Instant, frame: &mut [u8]) {
        self.stats.offered += 1;
        self.stats.offered_bytes += frame.len() as u64;
        self.census.count(frame);
        let mut h = fnv(self.fingerprint, &(from as u64).to_le_bytes());
        h = fnv(h, &now.total_millis().to_le_bytes());
        self.fingerprint = fnv(h, frame);

        let Roll {
            drop,
            corrupt,
            duplicate,
            reorder,
            flip,
            hold,
        } = self.faults.roll(&mut self.rng);

        if frame.len() > self.ip_mtu + ETHERNET_HEADER_LEN {
            self.stats.oversize += 1;
            return;
        }
        if drop {
            self.stats.dropped += 1;
            return;
        }
        if corrupt {
            self.stats.corrupted += 1;
            if !flip_checksummed_bit(frame, flip) {
                return;
            }
        }
        let mut at = now + self.faults.delay;
        if reorder {
            self.stats.reordered += 1;
            at += Duration::from_millis(hold);
        }
        if duplicate {
            self.stats.duplicated += 1;
        }
        let copies = if duplicate { 2 } else { 1 };

        let dst = EthernetFrame::new_checked(&*frame).map(|f| f.dst_addr());
        let Ok(dst) = dst else {
            self.stats.unknown_destination += 1;
            return;
        };
        if dst.is_unicast() {
            match self.macs.iter().position(|m| *m == Some(dst)) {
                Some(port) if port != from => {
                    for _ in 0..copies {
                        self.enqueue(port, at, frame);
                    }
                }
                _ => self.stats.unknown_destination += 1,
            }
        } else {
            for port in 0..PORTS {
                if port != from && self.macs[port].is_some() {
                    for _ in 0..copies {
                        self.enqueue(port, at, frame);
                    }
                }
            }
        }
    }
}

/// What the fault model decided for one frame: [`Faults::roll`].
///
/// ```
/// use layernet::link::{rng::Rng, sim::Faults};
/// let roll = Faults { reorder_pct: 100, ..Faults::NONE }.roll(&mut Rng::new(3));
/// assert!(roll.reorder && (1..=4).contains(&roll.hold));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roll {
    /// Lose it.
    pub drop: bool,
    /// Flip one checksummed bit ([`flip_checksummed_bit`] with `flip`).
    pub corrupt: bool,
    /// Deliver it twice.
    pub duplicate: bool,
    /// Hold it back `hold` milliseconds more, so later frames overtake it.
    pub reorder: bool,
    /// Which bit to flip, if corrupted.
    pub flip: u64,
    /// Milliseconds a reordered frame is held back (1 to 4).
    pub hold: u64,
}

impl Faults {
    /// Roll every fault for one frame from `rng`. Every roll is drawn,
    /// whatever the outcome, so the draws per frame are fixed and a seed
    /// replays exactly; the TAP link's fault layer uses the same model.
    ///
    /// ```
    /// use layernet::link::{rng::Rng, sim::Faults};
    /// let mut rng = Rng::new(1);
    /// let never = Faults::NONE.roll(&mut rng);
    /// assert!(!never.drop && !never.corrupt && !never.duplicate && !never.reorder);
    /// assert!(Faults::loss(100).roll(&mut rng).drop);
    /// ```
    pub fn roll(&self, rng: &mut Rng) -> Roll {
        Roll {
            drop: rng.percent(self.drop_pct),
            corrupt: rng.percent(self.corrupt_pct),
            duplicate: rng.percent(self.duplicate_pct),
            reorder: rng.percent(self.reorder_pct),
            flip: rng.next_u64(),
            hold: rng.below(4) + 1,
        }
    }
}

/// Flip one bit of an IPv4 frame inside the bytes its checksums cover,
/// chosen by `roll`. Returns false when the frame is not IPv4 (then it is
/// to be dropped, as a NIC's FCS check would drop it).
///
/// ```
/// use layernet::link::sim::flip_checksummed_bit;
/// let mut arp = [0u8; 42];
/// arp[12..14].copy_from_slice(&[0x08, 0x06]);
/// assert!(!flip_checksummed_bit(&mut arp, 7), "no checksum covers ARP");
/// ```
pub fn flip_checksummed_bit(frame: &mut [u8], roll: u64) -> bool {
    let covered = match EthernetFrame::new_checked(&*frame) {
        Ok(eth) if eth.ethertype() == EthernetProtocol::Ipv4 => {
            match Ipv4Packet::new_checked(eth.payload()) {
                Ok(ip) => usize::from(ip.total_len()),
                Err(_) => return false,
            }
        }
        _ => return false,
    };
    if covered == 0 {
        return false;
    }
    let bit = (roll % (covered as u64 * 8)) as usize;
    if let Some(byte) = frame.get_mut(ETHERNET_HEADER_LEN + bit / 8) {
        *byte ^= 1 << (bit % 8);
    }
    true
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
/// use layernet::link::sim::{Faults, Port, Segment};
/// use layernet::net::{Config, Stack, profile};
///
/// let wire = RefCell::new(Segment::<2, 16, 1514>::new(1, Faults::NONE));
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
    /// use layernet::{EthernetAddress, link::sim::{Faults, Port, StdSegment}};
    ///
    /// let wire = RefCell::new(StdSegment::new(0, Faults::NONE));
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
    /// use layernet::{host::sim::SimNet, link::sim::Faults};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let wire = net.host(a).1.segment();
    /// assert_eq!(wire.borrow().faults(), Faults::NONE);
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
        self.segment.borrow().next_delivery_to(self.index)
    }

    fn discard(&mut self, _now: Instant) {
        self.rx_len = None;
    }
}

/// Receive token: the frame already sits in the port's buffer.
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::sim::{Faults, Port, Segment};
/// use layernet::{EthernetAddress as Mac, Instant};
/// use smoltcp::phy::{Device, RxToken, TxToken};
///
/// let lan = RefCell::new(Segment::<2, 2, 128>::new(0, Faults::NONE));
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
/// use layernet::{EthernetAddress, Instant, link::sim::*};
/// use smoltcp::phy::{Device, TxToken as _};
///
/// let seg = RefCell::new(Segment::<1, 1, 64>::new(0, Faults::NONE));
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
mod tests {
    use super::*;
    use smoltcp::phy::{RxToken as _, TxToken as _};

    type Seg = Segment<3, 8, 1514>;

    const A: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
    const C: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 3]);

    fn frame(dst: EthernetAddress, src: EthernetAddress, fill: u8) -> [u8; 60] {
        let mut f = [fill; 60];
        f[..6].copy_from_slice(&dst.0);
        f[6..12].copy_from_slice(&src.0);
        f[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental EtherType
        f
    }

    fn send<const P: usize, const Q: usize, const M: usize>(
        port: &mut Port<'_, P, Q, M>,
        now: Instant,
        bytes: &[u8],
    ) {
        if let Some(tx) = port.transmit(now) {
            tx.consume(bytes.len(), |buf| buf.copy_from_slice(bytes));
        }
    }

    fn recv<const P: usize, const Q: usize, const M: usize>(
        port: &mut Port<'_, P, Q, M>,
        now: Instant,
    ) -> Option<[u8; 60]> {
        let (rx, _) = port.receive(now)?;
        rx.consume(|f| {
            let mut out = [0; 60];
            out.copy_from_slice(&f[..60]);
            Some(out)
        })
    }

    #[test]
    fn unicast_reaches_only_its_port_and_broadcast_reaches_all_others() {
        let seg = RefCell::new(Seg::new(1, Faults::NONE));
        let mut a = Port::new(&seg, 0, A).unwrap();
        let mut b = Port::new(&seg, 1, B).unwrap();
        let mut c = Port::new(&seg, 2, C).unwrap();
        let t = Instant::from_millis(0);
        send(&mut a, t, &frame(B, A, 1));
        assert_eq!(recv(&mut b, t).map(|f| f[20]), Some(1));
        assert!(recv(&mut c, t).is_none());
        send(&mut a, t, &frame(EthernetAddress::BROADCAST, A, 2));
        assert_eq!(recv(&mut b, t).map(|f| f[20]), Some(2));
        assert_eq!(recv(&mut c, t).map(|f| f[20]), Some(2));
        assert!(recv(&mut a, t).is_none(), "a sender never hears itself");
        assert_eq!(seg.borrow().stats().delivered, 3);
    }

    #[test]
    fn delay_holds_frames_until_due_and_order_is_kept() {
        let faults = Faults {
            delay: Duration::from_millis(5),
            ..Faults::NONE
        };
        let seg = RefCell::new(Seg::new(1, faults));
        let mut a = Port::new(&seg, 0, A).unwrap();
        let mut b = Port::new(&seg, 1, B).unwrap();
        send(&mut a, Instant::from_millis(0), &frame(B, A, 1));
        send(&mut a, Instant::from_millis(0), &frame(B, A, 2));
        assert_eq!(seg.borrow().next_delivery(), Some(Instant::from_millis(5)));
        assert!(recv(&mut b, Instant::from_millis(4)).is_none());
        assert_eq!(
            recv(&mut b, Instant::from_millis(5)).map(|f| f[20]),
            Some(1)
        );
        assert_eq!(
            recv(&mut b, Instant::from_millis(5)).map(|f| f[20]),
            Some(2)
        );
    }

    #[test]
    fn full_queue_overflows_and_is_counted() {
        let seg = RefCell::new(Seg::new(1, Faults::NONE));
        let mut a = Port::new(&seg, 0, A).unwrap();
        let _b = Port::new(&seg, 1, B).unwrap();
        for i in 0..10 {
            send(&mut a, Instant::ZERO, &frame(B, A, i));
        }
        let s = seg.borrow().stats();
        assert_eq!((s.delivered, s.overflow), (8, 2));
    }

    #[test]
    fn oversize_frames_are_dropped() {
        let seg = RefCell::new(Seg::new(1, Faults::NONE));
        seg.borrow_mut().set_mtu(576);
        let mut a = Port::new(&seg, 0, A).unwrap();
        let _b = Port::new(&seg, 1, B).unwrap();
        let mut big = [0u8; 700];
        big[..14].copy_from_slice(&frame(B, A, 0)[..14]);
        send(&mut a, Instant::ZERO, &big);
        assert_eq!(seg.borrow().stats().oversize, 1);
        assert_eq!(a.capabilities().max_transmission_unit, 590);
    }

    #[test]
    fn corruption_flips_exactly_one_bit_inside_the_ip_packet() {
        // A minimal IPv4 header (20 bytes, total length 28) plus 8 bytes.
        let mut f = [0u8; 60];
        f[..14].copy_from_slice(&frame(B, A, 0)[..14]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        for roll in 0..500u64 {
            let mut g = f;
            assert!(flip_checksummed_bit(&mut g, roll.wrapping_mul(0x9E37_79B9)));
            let diff: u32 = f.iter().zip(&g).map(|(x, y)| (x ^ y).count_ones()).sum();
            assert_eq!(diff, 1);
            let at = f.iter().zip(&g).position(|(x, y)| x != y).unwrap();
            assert!((14..14 + 28).contains(&at), "flip at {at}");
        }
        let mut arp = frame(B, A, 0);
        assert!(!flip_checksummed_bit(&mut arp, 3));
    }

    #[test]
    fn peek_then_receive_gives_the_same_frame_and_discard_drops_it() {
        let seg = RefCell::new(Seg::new(1, Faults::NONE));
        let mut a = Port::new(&seg, 0, A).unwrap();
        let mut b = Port::new(&seg, 1, B).unwrap();
        send(&mut a, Instant::ZERO, &frame(B, A, 7));
        send(&mut a, Instant::ZERO, &frame(B, A, 8));
        assert_eq!(b.peek(Instant::ZERO).map(|f| f[20]), Some(7));
        b.discard(Instant::ZERO);
        assert_eq!(b.peek(Instant::ZERO).map(|f| f[20]), Some(8));
        assert_eq!(recv(&mut b, Instant::ZERO).map(|f| f[20]), Some(8));
        assert!(b.peek(Instant::ZERO).is_none());
    }

    #[test]
    fn fault_counters_follow_the_rates() {
        let faults = Faults {
            drop_pct: 20,
            corrupt_pct: 0,
            duplicate_pct: 10,
            reorder_pct: 10,
            delay: Duration::from_millis(0),
        };
        let seg = RefCell::new(Segment::<2, 4, 1514>::new(9, faults));
        let mut a = Port::new(&seg, 0, A).unwrap();
        let mut b = Port::new(&seg, 1, B).unwrap();
        for i in 0..1000u32 {
            send(
                &mut a,
                Instant::from_millis(i64::from(i) * 10),
                &frame(B, A, 0),
            );
            while recv(&mut b, Instant::from_millis(i64::from(i) * 10 + 9)).is_some() {}
        }
        let s = seg.borrow().stats();
        assert_eq!(s.offered, 1000);
        assert!((150..250).contains(&s.dropped), "{s:?}");
        assert!(s.duplicated > 50 && s.reordered > 50, "{s:?}");
        // A dropped frame is never duplicated: the counters count what happened.
        assert_eq!(s.delivered, 1000 - s.dropped + s.duplicated);
    }
}
