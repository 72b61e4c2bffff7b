//! Network layer: one [`Stack`] owns smoltcp's interface (ARP, IPv4, ICMP
//! echo) and the socket storage the caller lent it. The device is not in
//! it: each [`Stack::poll`] borrows one, as smoltcp's `Interface::poll`
//! does, so that sockets, services and hosts name the stack's type without
//! the device's.
//!
//! Layer: net. Depends on smoltcp and on [`crate::link`]; knows nothing of
//! the socket API's shape or of applications.
//!
//! # The pool and the gate
//!
//! smoltcp has one connection per TCP socket and answers a SYN that finds no
//! listening socket with RST. A Berkeley `listen(backlog)` promises
//! something else: up to `backlog` connections wait to be accepted, and when
//! the queue is full a further SYN goes unanswered (Linux drops it; the
//! client retransmits and gets in once a place frees). So the stack keeps
//! every TCP socket in a pool, a listener (see [`crate::socket::TcpListener`]) gives `backlog` of them to its
//! queue (up to [`LISTEN_AHEAD`] listen ahead of the next SYN, the rest are
//! armed as SYNs come), and [`Stack::poll`] feeds smoltcp one frame at a time through a
//! gate ([`gate`]) that drops, and counts, a SYN for a listening port whose
//! slots are all taken. One frame at a time means two SYNs cannot race for
//! the last slot: the first one turns it into SYN-RECEIVED before the second
//! one is looked at. A SYN for a port nobody listens on still gets its RST.
//!
//! The slots are the accept queue: a connection whose handshake completed
//! waits in its slot until the service accepts it, with no timer (only a
//! half-open one gives its slot up, after [`HANDSHAKE_TIMEOUT`]). An
//! accepted connection leaves its slot at once (the listener takes a free
//! socket to listen again). A socket the application closed goes back
//! to the pool as soon as it reaches CLOSED or TIME-WAIT. Re-arming a
//! TIME-WAIT socket is the trade-off that keeps a small pool serving: the
//! socket stays in TIME-WAIT (answering a retransmitted FIN) until the pool
//! needs it, and only then is reset; a peer whose last ACK was lost and
//! whose FIN arrives after that gets an RST instead of an ACK, after all
//! its data was delivered.

pub mod gate;
#[cfg(feature = "names")]
mod names;
#[cfg(feature = "ipv6")]
mod ndp;
pub mod observe;
mod watch;

#[cfg(feature = "names")]
pub use names::{DNS_QUERIES, DhcpEvent, DnsStorage, Lease, NameError, Query};

/// Socket slots DHCP and DNS take beyond `TCP + UDP + 1`: a
/// [`Resources`] whose `SOCKETS` is `TCP + UDP + 1 + NAME_SOCKETS`
/// can run both (with the `names` feature).
///
/// Four TCP sockets, one UDP socket, the ICMP socket, and DHCP and DNS:
///
/// ```
/// use layernet::net::{NAME_SOCKETS, Resources};
/// let _room: Resources<'_, { 4 + 1 + 1 + NAME_SOCKETS }, 4, 1, 256> = Resources::new();
/// ```
pub const NAME_SOCKETS: usize = 2;

pub use observe::{Counters, Direction, DropReason, Event, Observer, TcpState, Transport};

use managed::ManagedSlice;
use smoltcp::iface::{
    self, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet, SocketStorage,
};
use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv4Cidr,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Ipv6Address, Ipv6Cidr};

use crate::link::Link;
use crate::link::rng::Rng;

/// How many frames one [`Stack::poll`] takes in before it lets egress run:
/// bounds the work per call, as smoltcp's own `poll_ingress_single` advises.
///
/// ```
/// use layernet::host::sim::SimNet;
/// use layernet::net::INGRESS_BURST;
/// use layernet::{EthernetAddress, Instant};
/// use smoltcp::phy::{Device, TxToken};
///
/// let (mut net, a, _) = SimNet::pair(0)?;
/// let mut noise = net.raw_port(2, EthernetAddress([2, 0, 0, 0, 0, 0x66])).ok_or("taken")?;
/// for _ in 0..INGRESS_BURST + 10 {
///     noise.transmit(Instant::ZERO).ok_or("tx")?.consume(60, |f| f.fill(0xff));
/// }
/// net.poll(a, Instant::ZERO);
/// // Broadcast junk the gate drops, but each one was taken in.
/// assert_eq!(net.stack(a).counters().frames_rx, INGRESS_BURST as u64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const INGRESS_BURST: usize = 64;
/// How many egress rounds one [`Stack::poll`] runs at most: each round
/// lets every socket send one packet, so one poll sends a full UDP queue.
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::{EGRESS_BURST, UDP_PACKETS};
/// use layernet::{Duration, socket::UdpSocket};
///
/// let (mut net, a, b) = SimNet::pair(0)?;
/// let mut udp = UdpSocket::bind(net.stack(a), 0)?;
/// udp.send_to(net.stack(a), b"resolve", endpoint(b, 9))?;
/// net.run_for(Duration::from_millis(5)); // ARP is done
/// let before = net.segment().stats().offered;
/// for i in 0..UDP_PACKETS {
///     udp.send_to(net.stack(a), &[i as u8], endpoint(b, 9))?;
/// }
/// let now = net.now();
/// net.poll(a, now);
/// assert!(UDP_PACKETS <= EGRESS_BURST);
/// assert_eq!(net.segment().stats().offered - before, UDP_PACKETS as u64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const EGRESS_BURST: usize = 64;
/// How long a half-open connection (SYN-RECEIVED) may hold a listening
/// slot without hearing from its peer. Without it, spoofed SYNs that never
/// complete their handshake would hold every slot for ever (a SYN flood);
/// a real client on a lossy link retransmits its SYN well within it, which
/// restarts the count. Once the handshake completes the limit is lifted:
/// the connection waits in its slot until the service accepts it.
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::HANDSHAKE_TIMEOUT;
/// use layernet::socket::{TcpListener, TcpStream};
/// use layernet::{Duration, link::sim::Faults};
///
/// let mut net = SimNet::new(3, Faults { delay: Duration::from_millis(10), ..Faults::NONE });
/// let (srv, cli) = (net.add_host()?, net.add_host()?);
/// let _listener = TcpListener::bind(net.stack(srv), 80, 1)?;
/// let _client = TcpStream::connect(net.stack(cli), endpoint(srv, 80))?;
/// net.run_for(Duration::from_millis(35)); // the SYN is in, the SYN-ACK on its way
/// net.set_faults(Faults::loss(100)); // and the client's ACK will be lost
/// let armed = net.stack(srv).counters().slots_armed;
/// net.run_for(HANDSHAKE_TIMEOUT - Duration::from_secs(1));
/// assert_eq!(net.stack(srv).counters().slots_armed, armed, "still held");
/// net.run_for(Duration::from_secs(2));
/// assert_eq!(net.stack(srv).counters().slots_armed, armed + 1, "the slot listens again");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection with data waiting to be sent or acknowledged may
/// send nothing before the stack nudges it.
///
/// smoltcp 0.14 can leave a connection with data to send and no timer
/// running, and then it waits for ever. The lossy-link soak found two ways:
/// - a fast retransmit sets the timer idle before the segment goes out, an
///   ACK of part of the data in flight then leaves it idle, and if the rest
///   of the peer's window is smaller than one segment, Nagle's algorithm
///   holds it back, so nothing is sent that would re-arm the timer
///   (smoltcp's PR #1020 discusses the same timer);
/// - a reordered old ACK advertising a zero window arrives after the
///   window update, and smoltcp starts its zero-window probe only on an ACK
///   that finds the timer idle or acknowledges data: the window stays
///   closed and nobody probes it.
///
/// The nudge, for one egress round, turns Nagle off (the held-back segment
/// goes out, and sending data re-arms smoltcp's timer) and keep-alive on (a
/// keep-alive probe goes out whatever the window says, and the peer's
/// answer carries its real window). Both are restored at once. A nudge that
/// was not needed sends a small segment a little early, or one probe.
///
/// ```
/// use layernet::net::STALL_KICK;
/// // Longer than a round trip on any link layernet serves, far shorter
/// // than the file service's stall limit.
/// assert!(STALL_KICK.total_millis() >= 1000 && STALL_KICK.secs() < 30);
/// ```
pub const STALL_KICK: Duration = Duration::from_secs(2);

/// Sockets a listener keeps in LISTEN ahead of the next SYN, at most.
///
/// The rest of its backlog is armed when a SYN finds none of them
/// listening (the stack arms one and hands the SYN on), so a burst of
/// clients still fills the whole accept queue. Fewer idle sockets in LISTEN
/// means fewer for smoltcp to walk on every segment it receives or sends:
/// a file service with a backlog of 64 kept 64 of them in its set.
///
/// ```
/// use layernet::host::sim::SimNet;
/// use layernet::net::LISTEN_AHEAD;
/// use layernet::socket::TcpListener;
///
/// let (mut net, a, _) = SimNet::pair(0)?;
/// let free = net.stack(a).free_tcp_sockets();
/// let _listener = TcpListener::bind(net.stack(a), 80, 16)?;
/// assert_eq!(net.stack(a).free_tcp_sockets(), free - LISTEN_AHEAD);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const LISTEN_AHEAD: usize = 4;

/// Most listening ports one stack serves at once.
///
/// ```
/// use layernet::{host::sim::SimNet, net::MAX_LISTENERS, socket::{Error, TcpListener}};
///
/// let (mut net, a, _) = SimNet::pair(0)?;
/// let mut all = Vec::new();
/// for port in 1..=MAX_LISTENERS as u16 {
///     all.push(TcpListener::bind(net.stack(a), port, 1)?);
/// }
/// assert_eq!(TcpListener::bind(net.stack(a), 100, 1).err(), Some(Error::NoBufferSpace));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_LISTENERS: usize = 8;
/// Datagrams each UDP socket can queue each way.
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{net::UDP_PACKETS, socket::{Error, UdpSocket}};
///
/// let (mut net, a, _) = SimNet::pair(0)?;
/// let mut udp = UdpSocket::bind(net.stack(a), 7000)?;
/// for _ in 0..UDP_PACKETS {
///     udp.send_to(net.stack(a), b"queued", endpoint(1, 7000))?; // nothing polls
/// }
/// let full = udp.send_to(net.stack(a), b"one more", endpoint(1, 7000));
/// assert_eq!(full, Err(Error::WouldBlock));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const UDP_PACKETS: usize = 8;
/// Echo requests/replies the stack's ICMP socket can queue each way.
///
/// ```
/// use layernet::{host::sim::SimNet, net::ICMP_PACKETS, socket::{Error, Ping}};
///
/// let (mut net, a, b) = SimNet::pair(0)?;
/// let to = net.stack(b).ipv4_addr();
/// let mut ping = Ping::new(net.stack(a));
/// for seq in 0..ICMP_PACKETS as u16 {
///     ping.send(net.stack(a), to, seq, b"abc")?;
/// }
/// assert_eq!(ping.send(net.stack(a), to, 99, b"abc"), Err(Error::WouldBlock));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const ICMP_PACKETS: usize = 4;
/// Payload bytes of the ICMP socket's buffers, each way: an echo request
/// (8-byte header and payload) must fit.
///
/// ```
/// use layernet::{host::sim::*, net::ICMP_BUFFER, socket::Ping};
///
/// let (mut net, a, b) = SimNet::pair(0)?;
/// let mut ping = Ping::new(net.stack(a));
/// let largest = [0u8; ICMP_BUFFER - 8];
/// ping.send(net.stack(a), host_ip(b).address(), 1, &largest)?;
/// assert!(ping.send(net.stack(a), host_ip(b).address(), 2, &[0; ICMP_BUFFER]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const ICMP_BUFFER: usize = 1024;
/// First port of the ephemeral range (IANA, RFC 6335): `bind(0)` and
/// `connect` draw their local port from here to 65535.
///
/// ```
/// use layernet::{host::sim::SimNet, net::EPHEMERAL_FIRST, socket::UdpSocket};
/// let (mut net, a, _) = SimNet::pair(0)?;
/// let any = UdpSocket::bind(net.stack(a), 0)?;
/// assert!(any.local_port() >= EPHEMERAL_FIRST);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const EPHEMERAL_FIRST: u16 = 49152;

/// The default MAC address, as in smoltcp's examples.
///
/// ```
/// use layernet::net::{Config, DEFAULT_MAC};
/// assert!(DEFAULT_MAC.is_unicast() && DEFAULT_MAC.is_local());
/// assert_eq!(Config::default().mac, DEFAULT_MAC);
/// ```
pub const DEFAULT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
/// The default address of the stack, as in smoltcp's examples; also
/// simulated host 0's.
///
/// ```
/// use layernet::{host::sim::SimNet, net::DEFAULT_IP};
/// let (mut net, first, _) = SimNet::pair(0)?;
/// assert_eq!(net.stack(first).ipv4_addr(), DEFAULT_IP.address());
/// assert_eq!(DEFAULT_IP.prefix_len(), 24);
/// # Ok::<(), layernet::net::ConfigError>(())
/// ```
pub const DEFAULT_IP: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 1), 24);

/// IPv6 addresses an interface can hold with the `ipv6` feature (smoltcp's
/// `iface-max-addr-count-4`), the IPv4 one included.
#[cfg(feature = "ipv6")]
pub(crate) const MAX_V6_ADDRS: usize = 3;

/// The link-local address derived from `mac` (RFC 4291 appendix A:
/// EUI-64 with the universal/local bit flipped), as Linux derives its own
/// by default.
///
/// ```
/// use layernet::{EthernetAddress, net::link_local};
/// let ll = link_local(EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
/// assert_eq!(ll.to_string(), "fe80::5054:ff:fe12:3456/64");
/// ```
#[cfg(feature = "ipv6")]
pub fn link_local(mac: EthernetAddress) -> Ipv6Cidr {
    let m = mac.0;
    let word = |a: u8, b: u8| u16::from_be_bytes([a, b]);
    let address = Ipv6Address::new(
        0xfe80,
        0,
        0,
        0,
        word(m[0] ^ 0x02, m[1]),
        word(m[2], 0xff),
        word(0xfe, m[3]),
        word(m[4], m[5]),
    );
    Ipv6Cidr::new(address, 64)
}

/// How a stack presents itself on the link.
///
/// # Example
///
/// A host on another network, with a default route:
///
/// ```
/// use layernet::net::{Config, profile};
/// use layernet::{EthernetAddress, Ipv4Address, Ipv4Cidr, host::sim::SimNet, link::sim::Faults};
///
/// let ip = Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24);
/// let config = Config {
///     gateway: Some(Ipv4Address::new(10, 0, 0, 1)),
///     ..Config::new(EthernetAddress([2, 0, 0, 0, 0, 0x10]), ip)
/// };
/// let mut net = SimNet::new(1, Faults::NONE);
/// let host = net.add_host_with(config, Box::leak(Box::new(profile::Tiny::new())))?;
/// assert_eq!(net.stack(host).ipv4_addr(), Ipv4Address::new(10, 0, 0, 2));
/// # Ok::<(), layernet::net::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Hardware address; must be unicast.
    pub mac: EthernetAddress,
    /// IPv4 address and prefix.
    pub ip: Ipv4Cidr,
    /// Default route, if any.
    pub gateway: Option<Ipv4Address>,
    /// Seeds smoltcp's initial sequence numbers and layernet's ephemeral
    /// ports: a fixed value in the simulation, OS entropy on a real link.
    pub seed: u64,
    /// A static IPv6 address and prefix, beside the link-local address
    /// every stack derives from its MAC.
    #[cfg(feature = "ipv6")]
    pub ip6: Option<Ipv6Cidr>,
    /// Solicit router advertisements and configure an address from each
    /// advertised on-link prefix (SLAAC, RFC 4862), with a default route
    /// through the router.
    #[cfg(feature = "ipv6")]
    pub slaac: bool,
}

impl Config {
    /// A configuration with no gateway and seed 0; `const`, so a board can
    /// keep its configuration in a constant.
    ///
    /// ```
    /// use layernet::net::Config;
    /// use layernet::{EthernetAddress, Ipv4Address, Ipv4Cidr};
    ///
    /// const BOARD: Config = Config::new(
    ///     EthernetAddress([2, 0, 0, 0, 0, 0x42]),
    ///     Ipv4Cidr::new(Ipv4Address::new(172, 16, 0, 9), 16),
    /// );
    /// assert_eq!((BOARD.gateway, BOARD.seed), (None, 0));
    /// ```
    pub const fn new(mac: EthernetAddress, ip: Ipv4Cidr) -> Self {
        Config {
            mac,
            ip,
            gateway: None,
            seed: 0,
            #[cfg(feature = "ipv6")]
            ip6: None,
            #[cfg(feature = "ipv6")]
            slaac: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(DEFAULT_MAC, DEFAULT_IP)
    }
}

/// Why a stack could not be built. Its `Display` says what is required.
///
/// # Example
///
/// ```
/// use layernet::net::{Config, ConfigError, profile};
/// use layernet::{Ipv4Address, host::sim::SimNet, link::sim::Faults};
///
/// let far = Config { gateway: Some(Ipv4Address::new(10, 9, 9, 9)), ..Config::default() };
/// let mut net = SimNet::new(0, Faults::NONE);
/// let refused = net.add_host_with(far, Box::leak(Box::default()) as &mut profile::Tiny);
/// assert_eq!(refused, Err(ConfigError::GatewayUnreachable));
/// assert!(ConfigError::GatewayUnreachable.to_string().contains("inside the stack's own network"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The MAC address is multicast or broadcast.
    MacNotUnicast,
    /// The IPv4 address is unspecified, multicast or broadcast.
    BadAddress,
    /// The gateway is not inside the configured network.
    GatewayUnreachable,
    /// The static IPv6 address is unspecified, loopback or multicast.
    #[cfg(feature = "ipv6")]
    BadIpv6Address,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ConfigError::MacNotUnicast => "the MAC address must be unicast (first octet even)",
            ConfigError::BadAddress => "the IPv4 address must be a unicast host address",
            ConfigError::GatewayUnreachable => {
                "the gateway must lie inside the stack's own network"
            }
            #[cfg(feature = "ipv6")]
            ConfigError::BadIpv6Address => "the IPv6 address must be a unicast address",
        })
    }
}

impl core::error::Error for ConfigError {}

/// What one pooled TCP socket is doing for the layer above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// In the pool, ready to listen or connect.
    Free,
    /// Listening (or handshaking, or waiting to be accepted) for listener `n`.
    Slot(u8),
    /// Handed out as a stream.
    Stream,
    /// The stream was closed; smoltcp is finishing the close.
    Closing,
}

/// Book-keeping for one pooled TCP socket: the pool's own part of
/// [`Memory`], one per TCP socket, opaque to the caller, who only provides
/// the room ([`TcpEntry::EMPTY`]).
///
/// ```
/// use layernet::net::TcpEntry;
/// let room = [TcpEntry::EMPTY; 4];
/// assert!(size_of_val(&room) < 4 * 256, "a few dozen bytes each");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TcpEntry {
    /// Set by [`Stack::new`]; `None` only in unused [`Resources`]. A handle
    /// into the spare set while `parked`, into smoltcp's set otherwise.
    handle: Option<SocketHandle>,
    /// The socket waits in the stack's spare set (only ever while idle).
    parked: bool,
    pub(crate) owner: Owner,
    /// The connection reached ESTABLISHED at least once.
    pub(crate) established: bool,
    /// This side shut its sending half down (FIN queued).
    pub(crate) shut: bool,
    /// The peer's FIN was read (end of file seen).
    pub(crate) eof: bool,
    /// What the stack last saw of this socket, for the observer.
    pub(crate) watch: observe::Watched,
    /// The service port its bytes count for (see [`AppCounters`]).
    pub(crate) service: u16,
    /// Bumped each time the entry stops being a stream's (see [`Key`]):
    /// a handle that names an older generation reaches nothing.
    generation: u32,
}

impl TcpEntry {
    /// An entry before [`Stack::new`] takes it.
    ///
    /// ```
    /// use layernet::net::TcpEntry;
    /// let pool: Vec<TcpEntry> = vec![TcpEntry::EMPTY; 100]; // room for 100 TCP sockets
    /// assert_eq!(pool.len(), 100);
    /// ```
    pub const EMPTY: TcpEntry = TcpEntry {
        handle: None,
        parked: false,
        owner: Owner::Free,
        established: false,
        shut: false,
        eof: false,
        watch: observe::Watched::NEW,
        service: 0,
        generation: 0,
    };

    pub(crate) fn handle(&self) -> SocketHandle {
        self.handle.unwrap_or_default()
    }

    /// In the pool and closed when last seen: it stays closed until the
    /// layer above takes it, which changes its owner first. The walks over
    /// the pool that run for every frame skip it without a look at its
    /// socket.
    pub(crate) fn idle(&self) -> bool {
        self.owner == Owner::Free && self.watch.state == tcp::State::Closed
    }

    /// The stream lets go (or the stack takes it back): smoltcp finishes
    /// the close, and the stream's handle goes stale.
    fn disown(&mut self) {
        self.owner = Owner::Closing;
        self.generation = self.generation.wrapping_add(1);
    }

    /// Whether `key` (of this entry's index) still names this entry's stream.
    fn holds(&self, key: Key) -> bool {
        self.owner == Owner::Stream && self.generation == key.generation
    }

    /// A stream takes the entry: its key.
    fn key(&self, index: usize) -> Key {
        Key {
            index,
            generation: self.generation,
        }
    }
}

/// Book-keeping for one pooled UDP socket, as [`TcpEntry`] is for TCP.
///
/// ```
/// use layernet::net::{TcpEntry, UdpEntry};
/// assert!(size_of::<UdpEntry>() < size_of::<TcpEntry>());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UdpEntry {
    handle: Option<SocketHandle>,
    pub(crate) in_use: bool,
    /// Bumped each time the socket is closed (see [`Key`]).
    generation: u32,
}

impl UdpEntry {
    /// An entry before [`Stack::new`] takes it.
    ///
    /// ```
    /// use layernet::net::UdpEntry;
    /// let pool = [UdpEntry::EMPTY; 4];
    /// assert_eq!(pool.len(), 4);
    /// ```
    pub const EMPTY: UdpEntry = UdpEntry {
        handle: None,
        in_use: false,
        generation: 0,
    };

    fn handle(&self) -> SocketHandle {
        self.handle.unwrap_or_default()
    }
}

/// The buffers of the stack's one ICMP socket (ping), of fixed size:
/// [`ICMP_PACKETS`] echoes of up to [`ICMP_BUFFER`] bytes each way.
///
/// ```
/// use layernet::net::{ICMP_BUFFER, IcmpBuffers};
/// assert!(size_of::<IcmpBuffers>() > 2 * ICMP_BUFFER);
/// ```
pub struct IcmpBuffers {
    rx: [u8; ICMP_BUFFER],
    tx: [u8; ICMP_BUFFER],
    rx_meta: [icmp::PacketMetadata; ICMP_PACKETS],
    tx_meta: [icmp::PacketMetadata; ICMP_PACKETS],
}

impl IcmpBuffers {
    /// Zeroed buffers.
    ///
    /// ```
    /// use layernet::net::IcmpBuffers;
    /// let ping = Box::new(IcmpBuffers::EMPTY);
    /// assert!(size_of_val(&*ping) > 2048);
    /// ```
    pub const EMPTY: IcmpBuffers = IcmpBuffers {
        rx: [0; ICMP_BUFFER],
        tx: [0; ICMP_BUFFER],
        rx_meta: [icmp::PacketMetadata::EMPTY; ICMP_PACKETS],
        tx_meta: [icmp::PacketMetadata::EMPTY; ICMP_PACKETS],
    };
}

/// All the memory a [`Stack`] uses, owned by the caller: `TCP` TCP sockets
/// and `UDP` UDP sockets with `BUF` bytes each way, plus one ICMP socket for
/// ping. `SOCKETS` must be `TCP + UDP + 1` (Rust cannot yet add const
/// generics in a type), or `TCP + UDP + 1 + NAME_SOCKETS` for a stack that
/// may run DHCP and DNS ([`NAME_SOCKETS`]); a wrong value fails to compile
/// when `new` is used.
///
/// Its size is known at compile time: `core::mem::size_of::<Resources<..>>()`.
/// Place it in a `static`, on the stack, or (on a host) in a leaked `Box`.
/// A host that chooses its sizes at run time lends slices instead
/// ([`Memory`]); a `Resources` is cut into the same slices
/// ([`Resources::memory`]).
///
/// # Example
///
/// Two TCP sockets and one UDP socket of 512 bytes each way:
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::sim::{Faults, StdPort, StdSegment};
/// use layernet::net::{Config, Resources, Stack};
///
/// type Small<'a> = Resources<'a, 4, 2, 1, 512>;
/// assert!(core::mem::size_of::<Small>() < 9 * 1024, "IPv6 addresses in every socket included");
/// let wire = RefCell::new(StdSegment::new(0, Faults::NONE));
/// let mut memory = Small::new();
/// let mut nic = StdPort::new(&wire, 0, Config::default().mac).ok_or("port")?;
/// let stack = Stack::new(Config::default(), &mut nic, &mut memory, layernet::Instant::ZERO)?;
/// assert_eq!(stack.free_tcp_sockets(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Resources<'a, const SOCKETS: usize, const TCP: usize, const UDP: usize, const BUF: usize>
{
    sockets: [SocketStorage<'a>; SOCKETS],
    /// Receive then transmit buffer of each TCP socket: flattened, the
    /// byte slice [`Memory`] cuts in the same order.
    tcp: [[[u8; BUF]; 2]; TCP],
    udp: [[[u8; BUF]; 2]; UDP],
    udp_meta: [[[udp::PacketMetadata; UDP_PACKETS]; 2]; UDP],
    icmp: IcmpBuffers,
    tcp_entries: [TcpEntry; TCP],
    udp_entries: [UdpEntry; UDP],
}

impl<'a, const SOCKETS: usize, const TCP: usize, const UDP: usize, const BUF: usize>
    Resources<'a, SOCKETS, TCP, UDP, BUF>
{
    /// TCP sockets in the pool (`TCP`), as a constant: a host that sizes
    /// its pool at run time starts from a profile's.
    ///
    /// ```
    /// use layernet::host::memory::Sizes;
    /// use layernet::net::profile;
    /// // The tiny profile's pool, sized at run time instead of in the type.
    /// let (sockets, buffer) = (profile::Tiny::TCP_SOCKETS, profile::Tiny::TCP_BUFFER);
    /// let sized = Sizes { tcp_sockets: sockets, tcp_buffer: buffer }.leak()?;
    /// let mut fixed = profile::Tiny::new();
    /// assert_eq!(sized.tcp_sockets(), fixed.memory().tcp_sockets());
    /// # Ok::<(), String>(())
    /// ```
    pub const TCP_SOCKETS: usize = TCP;

    /// Each TCP socket's buffer, each way (`BUF`), as a constant.
    ///
    /// ```
    /// use layernet::net::profile;
    /// assert!(profile::Tiny::TCP_BUFFER < profile::Board::TCP_BUFFER);
    /// ```
    pub const TCP_BUFFER: usize = BUF;

    /// Zeroed resources. A `SOCKETS` other than `TCP + UDP + 1` (plus
    /// [`NAME_SOCKETS`] or not), no TCP socket or buffers under 64 bytes
    /// fail to compile.
    ///
    /// ```
    /// use layernet::net::{Resources, profile};
    /// let host_sized = Box::new(profile::Host::new()); // too big for a thread's stack frame
    /// let tiny: Resources<'_, 3, 1, 1, 64> = Resources::new();
    /// assert!(size_of_val(&tiny) < size_of_val(&*host_sized));
    /// ```
    pub const fn new() -> Self {
        const {
            assert!(
                SOCKETS == TCP + UDP + 1 || SOCKETS == TCP + UDP + 1 + NAME_SOCKETS,
                "SOCKETS must be TCP + UDP + 1, or that plus NAME_SOCKETS"
            )
        };
        const {
            assert!(
                TCP > 0 && BUF >= MIN_BUFFER,
                "at least one TCP socket of 64 bytes"
            )
        };
        Resources {
            sockets: [SocketStorage::EMPTY; SOCKETS],
            tcp: [[[0; BUF]; 2]; TCP],
            udp: [[[0; BUF]; 2]; UDP],
            udp_meta: [[[udp::PacketMetadata::EMPTY; UDP_PACKETS]; 2]; UDP],
            icmp: IcmpBuffers::EMPTY,
            tcp_entries: [TcpEntry::EMPTY; TCP],
            udp_entries: [UdpEntry::EMPTY; UDP],
        }
    }

    /// The same memory as slices, as [`Stack::with_memory`] takes it
    /// ([`Stack::new`] goes this way).
    ///
    /// ```
    /// use layernet::net::profile;
    /// let mut board = profile::Board::new();
    /// let memory = board.memory();
    /// assert_eq!((memory.tcp_sockets(), memory.tcp_buffer()), (12, 512));
    /// ```
    pub fn memory(&'a mut self) -> Memory<'a> {
        Memory {
            sockets: &mut self.sockets,
            // A board's pool is small: its free sockets stay in the set.
            spare: &mut [],
            tcp: &mut self.tcp_entries,
            tcp_buffers: self.tcp.as_flattened_mut().as_flattened_mut(),
            udp: &mut self.udp_entries,
            udp_buffers: self.udp.as_flattened_mut().as_flattened_mut(),
            udp_meta: self.udp_meta.as_flattened_mut().as_flattened_mut(),
            icmp: &mut self.icmp,
        }
    }
}

/// The smallest socket buffer, each way, that [`Resources`] and [`Memory`]
/// take: room for one full-sized option-laden TCP header's worth of data.
///
/// ```
/// use layernet::host::memory::Sizes;
/// use layernet::net::MIN_BUFFER;
/// assert!(Sizes { tcp_sockets: 1, tcp_buffer: MIN_BUFFER }.leak().is_ok());
/// assert!(Sizes { tcp_sockets: 1, tcp_buffer: MIN_BUFFER - 1 }.leak().is_err());
/// ```
pub const MIN_BUFFER: usize = 64;

/// The largest TCP receive buffer (1 GiB): a window scale of 14, RFC 7323's
/// limit (smoltcp refuses more).
///
/// ```
/// use layernet::host::memory::Sizes;
/// use layernet::net::MAX_TCP_BUFFER;
/// // Refused before anything is allocated.
/// let over = Sizes { tcp_sockets: 1, tcp_buffer: MAX_TCP_BUFFER + 1 }.leak();
/// assert!(over.err().is_some_and(|e| e.contains("1 GiB")));
/// ```
pub const MAX_TCP_BUFFER: usize = 1 << 30;

/// All the memory a [`Stack`] uses, lent as slices: what [`Resources`]
/// holds in arrays of sizes fixed at compile time, for a caller that
/// chooses the sizes at run time (as smoltcp's `SocketSet` takes a borrowed
/// slice). The stack allocates nothing: a host allocates these slices once
/// at start-up (`layernet::host::memory`), a board may cut them from a
/// static arena.
///
/// - `sockets`: one slot per socket: every TCP and UDP socket, the ICMP
///   socket, and [`NAME_SOCKETS`] more for DHCP and DNS, if wanted;
/// - `tcp`: one [`TcpEntry`] per TCP socket;
/// - `tcp_buffers`: cut into `tcp.len()` equal pieces, in turn; each
///   socket's piece is its receive buffer, then its transmit buffer of the
///   same size (bytes left over are not used);
/// - `udp`, `udp_buffers`: the same for UDP sockets (there may be none);
///   `udp_meta` holds `2 * UDP_PACKETS` entries per UDP socket.
///
/// A TCP socket's receive buffer is its largest window; past 64 KiB smoltcp
/// offers window scaling in its SYN, with the shift the buffer needs.
///
/// # Example
///
/// Eight TCP sockets of 128 KiB each way, no UDP:
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::sim::{Faults, StdPort, StdSegment};
/// use layernet::net::{Config, IcmpBuffers, Memory, Stack, TcpEntry};
/// use smoltcp::iface::SocketStorage;
///
/// let mut sockets: Vec<SocketStorage> = (0..9).map(|_| SocketStorage::EMPTY).collect();
/// let mut tcp = [TcpEntry::EMPTY; 8];
/// let mut bytes = vec![0u8; 8 * 2 * 128 * 1024];
/// let mut icmp = IcmpBuffers::EMPTY;
/// let memory = Memory::new(&mut sockets, &mut tcp, &mut bytes, &mut [], &mut [], &mut [], &mut icmp)?;
/// assert_eq!((memory.tcp_sockets(), memory.tcp_buffer()), (8, 128 * 1024));
/// let wire = RefCell::new(StdSegment::new(0, Faults::NONE));
/// let mut nic = StdPort::new(&wire, 0, Config::default().mac).ok_or("port")?;
/// let stack = Stack::with_memory(Config::default(), &mut nic, memory, layernet::Instant::ZERO)?;
/// assert_eq!(stack.free_tcp_sockets(), 8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Memory<'a> {
    sockets: &'a mut [SocketStorage<'a>],
    /// Where free TCP sockets wait outside smoltcp's set (see
    /// [`Memory::with_spare`]); empty: they stay in it.
    spare: &'a mut [SocketStorage<'a>],
    tcp: &'a mut [TcpEntry],
    tcp_buffers: &'a mut [u8],
    udp: &'a mut [UdpEntry],
    udp_buffers: &'a mut [u8],
    udp_meta: &'a mut [udp::PacketMetadata],
    icmp: &'a mut IcmpBuffers,
}

/// Why slices do not make a [`Memory`]. Its `Display` says what is needed.
///
/// ```
/// use layernet::net::{IcmpBuffers, Memory, MemoryError, TcpEntry};
/// use smoltcp::iface::SocketStorage;
/// let (mut sockets, mut tcp) = ([SocketStorage::EMPTY; 2], [TcpEntry::EMPTY]);
/// let (mut bytes, mut icmp) = ([0u8; 100], IcmpBuffers::EMPTY);
/// let refused = Memory::new(&mut sockets, &mut tcp, &mut bytes, &mut [], &mut [], &mut [], &mut icmp);
/// assert_eq!(refused.err(), Some(MemoryError::TcpBuffer));
/// assert!(MemoryError::TcpBuffer.to_string().contains("64 bytes"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryError {
    /// No TCP socket: the pool needs at least one.
    NoTcp,
    /// A TCP socket's buffer, each way, is under [`MIN_BUFFER`] or over
    /// [`MAX_TCP_BUFFER`].
    TcpBuffer,
    /// A UDP socket's buffer, each way, is under [`MIN_BUFFER`], or its
    /// packet metadata is short of `2 * UDP_PACKETS`.
    UdpBuffer,
    /// Fewer socket slots than TCP and UDP sockets plus the ICMP one.
    Sockets,
}

impl core::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MemoryError::NoTcp => "the stack needs at least one TCP socket",
            MemoryError::TcpBuffer => {
                "each TCP socket needs from 64 bytes to 1 GiB of buffer each way"
            }
            MemoryError::UdpBuffer => {
                "each UDP socket needs 64 bytes of buffer each way and 2 * UDP_PACKETS metadata entries"
            }
            MemoryError::Sockets => {
                "the socket slots must be at least the TCP and UDP sockets plus one for ICMP"
            }
        })
    }
}

impl core::error::Error for MemoryError {}

impl<'a> Memory<'a> {
    /// Room for free TCP sockets outside smoltcp's socket set: smoltcp
    /// visits every socket of its set for each segment it sends, so a
    /// host's pool of a hundred sockets, most of them free, would cost
    /// every segment a hundred visits. With one slot here per TCP socket, a
    /// free socket waits here until the pool hands it out; fewer slots
    /// park fewer. Boards, with pools of a dozen, leave it empty.
    ///
    /// ```
    /// use layernet::net::{IcmpBuffers, Memory, TcpEntry};
    /// use smoltcp::iface::SocketStorage;
    /// let (mut sockets, mut spare) = ([SocketStorage::EMPTY; 3], [SocketStorage::EMPTY; 2]);
    /// let (mut tcp, mut bytes, mut icmp) = ([TcpEntry::EMPTY; 2], [0u8; 2 * 2 * 128], IcmpBuffers::EMPTY);
    /// let memory = Memory::new(&mut sockets, &mut tcp, &mut bytes, &mut [], &mut [], &mut [], &mut icmp)?
    ///     .with_spare(&mut spare);
    /// assert_eq!(memory.tcp_sockets(), 2);
    /// # Ok::<(), layernet::net::MemoryError>(())
    /// ```
    pub fn with_spare(mut self, spare: &'a mut [SocketStorage<'a>]) -> Self {
        self.spare = spare;
        self
    }

    /// Memory from the caller's slices (see [`Memory`] for how each is cut).
    ///
    /// # Errors
    ///
    /// A [`MemoryError`] when the slices cannot hold the sockets they
    /// promise.
    ///
    /// ```
    /// use layernet::net::{IcmpBuffers, Memory, MemoryError, TcpEntry};
    /// use smoltcp::iface::SocketStorage;
    /// let mut sockets = [SocketStorage::EMPTY; 2]; // two TCP sockets need three slots
    /// let mut tcp = [TcpEntry::EMPTY; 2];
    /// let mut bytes = [0u8; 2 * 2 * 128];
    /// let mut icmp = IcmpBuffers::EMPTY;
    /// let short = Memory::new(&mut sockets, &mut tcp, &mut bytes, &mut [], &mut [], &mut [], &mut icmp);
    /// assert_eq!(short.err(), Some(MemoryError::Sockets));
    /// ```
    pub fn new(
        sockets: &'a mut [SocketStorage<'a>],
        tcp: &'a mut [TcpEntry],
        tcp_buffers: &'a mut [u8],
        udp: &'a mut [UdpEntry],
        udp_buffers: &'a mut [u8],
        udp_meta: &'a mut [udp::PacketMetadata],
        icmp: &'a mut IcmpBuffers,
    ) -> Result<Memory<'a>, MemoryError> {
        if tcp.is_empty() {
            return Err(MemoryError::NoTcp);
        }
        let each = tcp_buffers.len() / tcp.len() / 2;
        if !(MIN_BUFFER..=MAX_TCP_BUFFER).contains(&each) {
            return Err(MemoryError::TcpBuffer);
        }
        if !udp.is_empty()
            && (udp_buffers.len() / udp.len() / 2 < MIN_BUFFER
                || udp_meta.len() / udp.len() < 2 * UDP_PACKETS)
        {
            return Err(MemoryError::UdpBuffer);
        }
        if sockets.len() < tcp.len() + udp.len() + 1 {
            return Err(MemoryError::Sockets);
        }
        Ok(Memory {
            spare: &mut [],
            sockets,
            tcp,
            tcp_buffers,
            udp,
            udp_buffers,
            udp_meta,
            icmp,
        })
    }

    /// TCP sockets in the pool.
    ///
    /// ```
    /// use layernet::net::profile;
    /// assert_eq!(profile::Tiny::new().memory().tcp_sockets(), 9);
    /// ```
    pub fn tcp_sockets(&self) -> usize {
        self.tcp.len()
    }

    /// Each TCP socket's buffer, each way, in bytes.
    ///
    /// ```
    /// use layernet::net::profile;
    /// assert_eq!(profile::Tiny::new().memory().tcp_buffer(), 256);
    /// ```
    pub fn tcp_buffer(&self) -> usize {
        self.tcp_buffers.len() / self.tcp.len().max(1) / 2
    }
}

impl<const SOCKETS: usize, const TCP: usize, const UDP: usize, const BUF: usize> Default
    for Resources<'_, SOCKETS, TCP, UDP, BUF>
{
    fn default() -> Self {
        Self::new()
    }
}

/// Ready-made resource sizes, one type each: a profile is a choice of const
/// generics, not a set of cfg switches, and its RAM is its `size_of`
/// (tests/profiles.rs prints each one).
pub mod profile {
    use super::Resources;
    /// The smallest useful board: echo, greeting and time-echo with 2
    /// connections each (3 services x (2 streams + 1 listening) = 9 TCP
    /// sockets) and the chat room (one UDP socket), 256 bytes each way.
    /// The firmware's tiny build holds it, its stack and its services in
    /// under 16 KiB (docs/performance.md).
    ///
    /// ```
    /// use layernet::net::profile::Tiny;
    /// assert!(size_of::<Tiny>() < 16 * 1024);
    /// ```
    pub type Tiny<'a> = Resources<'a, 11, 9, 1, 256>;
    /// The tiny profile plus the file service (2 connections and a
    /// listening slot: 12 TCP sockets), 512 bytes each way: the profile
    /// layernet's firmware serves.
    ///
    /// ```
    /// use layernet::net::profile::{Board, Tiny};
    /// assert!(size_of::<Tiny>() < size_of::<Board>());
    /// assert!(size_of::<Board>() < 32 * 1024);
    /// ```
    pub type Board<'a> = Resources<'a, 15, 12, 2, 512>;
    /// The board profile with room for DHCP and DNS (two more socket
    /// slots; the DNS queries are lent apart, see `DnsStorage`).
    ///
    /// ```
    /// use layernet::net::profile::{Board, BoardNames};
    /// assert!(size_of::<BoardNames>() - size_of::<Board>() < 1024, "two socket slots");
    /// ```
    pub type BoardNames<'a> = Resources<'a, 17, 12, 2, 512>;
    /// A host-sized stack: 24 TCP and 4 UDP sockets of 8 KiB each way, and
    /// room for DHCP and DNS. Every simulated host added by
    /// `SimNet::add_host` has one.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(a).free_tcp_sockets(), 24);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub type Host<'a> = Resources<'a, 31, 24, 4, 8192>;
}

/// A listening port and how many of its slots to keep ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listener {
    pub(crate) port: u16,
    pub(crate) backlog: u8,
    /// Which listener of the stack's life this is (see [`Key`]): a stopped
    /// listener's handle must not accept for a new one in the same place.
    /// 16 bits, as a stack makes few listeners (and each of
    /// `MAX_LISTENERS` places would cost 4 bytes more with 32).
    pub(crate) generation: u16,
}

/// What a socket handle holds to name its pooled socket: the entry's index
/// and the entry's generation when the handle took it. The pool bumps an
/// entry's generation whenever it takes the socket back (a stream closed
/// or aborted, [`Stack::abort_all_tcp`], a UDP socket closed), so a handle
/// kept past that reaches nothing, never the connection that reuses the
/// entry: every pool call below checks the generation first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) index: usize,
    generation: u32,
}

/// Most services whose traffic the stack tallies apart; traffic of
/// services beyond them goes uncounted per service.
///
/// # Example
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{net::MAX_APPS, socket::TcpStream};
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let _dialled = (1..=10)
///     .map(|port| TcpStream::connect(net.stack(a), endpoint(b, port)))
///     .collect::<Result<Vec<_>, _>>()?;
/// let apps = net.stack(a).app_counters();
/// assert_eq!(apps.len(), MAX_APPS);
/// assert_eq!(apps.last().map(|app| app.port), Some(8), "ports 9 and 10 went uncounted");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_APPS: usize = 8;

/// What one service moved: the bytes the application wrote and read
/// through the socket layer (not the wire's, which count retransmissions
/// and headers). A service is named by its well-known port: the local one
/// of a server's sockets, the remote one of a client's.
///
/// # Example
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::{AppCounters, Transport};
/// use layernet::{Duration, socket::{TcpListener, TcpStream}};
/// let (mut net, srv, cli) = SimNet::pair(4)?;
/// let mut listener = TcpListener::bind(net.stack(srv), 80, 1)?;
/// let mut stream = TcpStream::connect(net.stack(cli), endpoint(srv, 80))?;
/// net.run_for(Duration::from_millis(10));
/// stream.send(net.stack(cli), b"GET /")?;
/// net.run_for(Duration::from_millis(10));
/// let (mut conn, _) = listener.accept(net.stack(srv))?;
/// let mut buf = [0u8; 16];
/// assert_eq!(conn.recv(net.stack(srv), &mut buf)?, 5);
/// let web = AppCounters { port: 80, transport: Transport::Tcp, connections: 1, bytes_in: 5, bytes_out: 0 };
/// assert_eq!(net.stack(srv).app_counters(), [web]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppCounters {
    /// The service's port.
    pub port: u16,
    /// TCP or UDP.
    pub transport: Transport,
    /// TCP connections accepted or opened (UDP: 0).
    pub connections: u64,
    /// Bytes the application read.
    pub bytes_in: u64,
    /// Bytes the application wrote.
    pub bytes_out: u64,
}

/// The stack: smoltcp's interface, the socket set built on the caller's
/// [`Resources`], and the pool book-keeping. Everything happens in
/// [`Stack::poll`], on the device lent to it; nothing reads a clock.
///
/// # Example
///
/// Two stacks on one segment, driven by hand with a millisecond clock, as
/// a board's main loop would (the host's `SimNet` does this for you):
///
/// ```
/// use core::cell::RefCell;
/// use layernet::host::sim::{host_ip, host_mac};
/// use layernet::link::sim::{Faults, StdPort, StdSegment};
/// use layernet::net::{Config, Stack, profile};
/// use layernet::{Instant, socket::Ping};
///
/// let wire = RefCell::new(StdSegment::new(1, Faults::NONE));
/// let (ca, cb) = (Config::new(host_mac(0), host_ip(0)), Config::new(host_mac(1), host_ip(1)));
/// let (mut ra, mut rb) = (profile::Tiny::new(), profile::Tiny::new());
/// let mut pa = StdPort::new(&wire, 0, ca.mac).ok_or("a")?;
/// let mut pb = StdPort::new(&wire, 1, cb.mac).ok_or("b")?;
/// let mut a = Stack::new(ca, &mut pa, &mut ra, Instant::ZERO)?;
/// let mut b = Stack::new(cb, &mut pb, &mut rb, Instant::ZERO)?;
/// let mut ping = Ping::new(&mut a);
/// ping.send(&mut a, b.ipv4_addr(), 1, b"hi")?;
/// for ms in 0..10 {
///     a.poll(&mut pa, Instant::from_millis(ms));
///     b.poll(&mut pb, Instant::from_millis(ms));
/// }
/// assert_eq!(ping.recv(&mut a)?, (b.ipv4_addr().into(), 1, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Stack<'a> {
    iface: Interface,
    sockets: SocketSet<'a>,
    /// Free TCP sockets parked outside `sockets` (see [`Memory::with_spare`]),
    /// and how many more fit.
    spare: SocketSet<'a>,
    spare_room: usize,
    tcp: &'a mut [TcpEntry],
    udp: &'a mut [UdpEntry],
    icmp: SocketHandle,
    /// The echo identifier the ICMP socket is bound to (the first ping's),
    /// which every ping of this stack sends with.
    icmp_ident: Option<u16>,
    /// Pings made so far (each sends in its own range of sequence numbers).
    pings_made: u16,
    /// Echo replies one ping took off the shared socket for another.
    echo_stash: heapless::Vec<EchoReply, ICMP_PACKETS>,
    listeners: heapless::Vec<Option<Listener>, MAX_LISTENERS>,
    /// Listeners made so far: the next one's generation.
    listeners_made: u16,
    rng: Rng,
    counters: Counters,
    now: Instant,
    ip: Ipv4Address,
    cidr: Ipv4Cidr,
    observer: Option<&'a mut (dyn Observer + 'a)>,
    apps: heapless::Vec<AppCounters, MAX_APPS>,
    #[cfg(feature = "names")]
    names: names::Names,
}

impl<'a> Stack<'a> {
    /// Build a stack on `device` with `config`, using the caller's `resources`
    /// for every socket. `now` is the current time on the caller's clock.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MacNotUnicast`] for a multicast or broadcast MAC,
    /// [`ConfigError::BadAddress`] for an unspecified, multicast or
    /// broadcast IPv4 address (the network's broadcast address included),
    /// [`ConfigError::GatewayUnreachable`] for a gateway outside the network.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::net::{Config, ConfigError, Stack, profile};
    /// use layernet::{EthernetAddress, Instant, link::sim::*};
    ///
    /// let wire = RefCell::new(StdSegment::new(0, Faults::NONE));
    /// let group = EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]);
    /// let mut port = StdPort::new(&wire, 0, group).ok_or("port")?;
    /// let mut space = profile::Tiny::new();
    /// let config = Config { mac: group, ..Config::default() };
    /// let built = Stack::new(config, &mut port, &mut space, Instant::ZERO);
    /// assert_eq!(built.err(), Some(ConfigError::MacNotUnicast));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn new<D: Link, const S: usize, const T: usize, const U: usize, const B: usize>(
        config: Config,
        device: &mut D,
        resources: &'a mut Resources<'a, S, T, U, B>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        Stack::with_memory(config, device, resources.memory(), now)
    }

    /// [`Stack::new`] on memory lent as slices, sized at run time.
    ///
    /// # Errors
    ///
    /// As [`Stack::new`].
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::net::{Config, Stack, profile};
    /// use layernet::{Instant, link::sim::*};
    ///
    /// let wire = RefCell::new(StdSegment::new(0, Faults::NONE));
    /// let mut port = StdPort::new(&wire, 0, Config::default().mac).ok_or("port")?;
    /// let mut space = profile::Tiny::new();
    /// let stack = Stack::with_memory(Config::default(), &mut port, space.memory(), Instant::ZERO)?;
    /// assert_eq!(stack.free_tcp_sockets(), 9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_memory<D: Link>(
        config: Config,
        device: &mut D,
        memory: Memory<'a>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        if !config.mac.is_unicast() {
            return Err(ConfigError::MacNotUnicast);
        }
        let ip = config.ip.address();
        if ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_broadcast()
            || Some(ip) == config.ip.broadcast()
        {
            return Err(ConfigError::BadAddress);
        }
        if let Some(gw) = config.gateway
            && !config.ip.contains_addr(&gw)
        {
            return Err(ConfigError::GatewayUnreachable);
        }

        #[cfg(feature = "ipv6")]
        if let Some(ip6) = config.ip6 {
            let a = ip6.address();
            if a.is_unspecified() || a.is_loopback() || a.is_multicast() || ip6.prefix_len() > 128 {
                return Err(ConfigError::BadIpv6Address);
            }
        }

        let mut iface_config = iface::Config::new(HardwareAddress::Ethernet(config.mac));
        #[cfg(feature = "ipv6")]
        {
            iface_config.slaac = config.slaac;
        }
        // smoltcp derives its TCP initial sequence numbers from this seed; left
        // at 0 every boot would reuse the same ISNs.
        iface_config.random_seed = config.seed;
        let mut iface = Interface::new(iface_config, &mut watch::GateChecked(device), now);
        iface.update_ip_addrs(|addrs| {
            // Capacity is at least one address; the push cannot fail on an empty list.
            let _ = addrs.push(IpCidr::Ipv4(config.ip));
            // The ipv6 feature makes room for four: these two fit.
            #[cfg(feature = "ipv6")]
            {
                let _ = addrs.push(IpCidr::Ipv6(link_local(config.mac)));
                if let Some(ip6) = config.ip6 {
                    let _ = addrs.push(IpCidr::Ipv6(ip6));
                }
            }
        });
        if let Some(gw) = config.gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }

        let Memory {
            sockets,
            spare,
            tcp: tcp_entries,
            tcp_buffers,
            udp: udp_entries,
            udp_buffers,
            udp_meta,
            icmp,
        } = memory;
        #[cfg(feature = "names")]
        let name_sockets = sockets.len() - tcp_entries.len() - udp_entries.len() - 1;
        // A slot still holding a socket would leave the set short of room
        // (its `add` panics when full): the set starts empty.
        for slot in sockets.iter_mut() {
            *slot = SocketStorage::EMPTY;
        }
        let mut set = SocketSet::new(ManagedSlice::Borrowed(sockets));
        let each = tcp_buffers.len() / tcp_entries.len() / 2;
        for (buffers, entry) in tcp_buffers
            .chunks_exact_mut(2 * each)
            .zip(tcp_entries.iter_mut())
        {
            let (rx, tx) = buffers.split_at_mut(each);
            let socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
            *entry = TcpEntry {
                handle: Some(set.add(socket)),
                ..TcpEntry::EMPTY
            };
        }
        if !udp_entries.is_empty() {
            let each = udp_buffers.len() / udp_entries.len() / 2;
            let bytes = udp_buffers.chunks_exact_mut(2 * each);
            let meta = udp_meta.chunks_exact_mut(2 * UDP_PACKETS);
            for ((buffers, meta), entry) in bytes.zip(meta).zip(udp_entries.iter_mut()) {
                let (rx, tx) = buffers.split_at_mut(each);
                let (rx_meta, tx_meta) = meta.split_at_mut(UDP_PACKETS);
                let socket = udp::Socket::new(
                    udp::PacketBuffer::new(rx_meta, rx),
                    udp::PacketBuffer::new(tx_meta, tx),
                );
                *entry = UdpEntry {
                    handle: Some(set.add(socket)),
                    ..UdpEntry::EMPTY
                };
            }
        }
        let icmp = set.add(icmp::Socket::new(
            icmp::PacketBuffer::new(&mut icmp.rx_meta[..], &mut icmp.rx[..]),
            icmp::PacketBuffer::new(&mut icmp.tx_meta[..], &mut icmp.tx[..]),
        ));

        let mut listeners = heapless::Vec::new();
        for _ in 0..MAX_LISTENERS {
            let _ = listeners.push(None);
        }
        let spare_room = spare.len();
        for slot in spare.iter_mut() {
            *slot = SocketStorage::EMPTY;
        }
        let mut stack = Stack {
            iface,
            sockets: set,
            spare: SocketSet::new(ManagedSlice::Borrowed(spare)),
            spare_room,
            tcp: tcp_entries,
            udp: udp_entries,
            icmp,
            icmp_ident: None,
            pings_made: 0,
            echo_stash: heapless::Vec::new(),
            listeners,
            listeners_made: 0,
            rng: Rng::new(config.seed ^ 0x6c61_7965_726e_6574),
            counters: Counters::default(),
            now,
            ip,
            cidr: config.ip,
            observer: None,
            apps: heapless::Vec::new(),
            #[cfg(feature = "names")]
            names: names::Names::new(name_sockets),
        };
        stack.park_idle();
        Ok(stack)
    }

    /// Run the stack at time `now`: take in up to [`INGRESS_BURST`] frames,
    /// one at a time through the gate, send what the sockets have queued,
    /// and return finished sockets to the pool. Returns true if anything
    /// happened (a frame in or out, a socket re-armed; smoltcp does not
    /// count the ARP request it sends for a socket waiting on a neighbour).
    ///
    /// The device is lent for the call, as smoltcp's `Interface::poll`
    /// takes it: nothing else of the stack names its type.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Instant, socket::UdpSocket};
    ///
    /// let (mut net, a, b) = SimNet::pair(0)?;
    /// let t = Instant::from_millis(1);
    /// let (stack, port) = net.host(a);
    /// UdpSocket::bind(stack, 0)?.send_to(stack, b"?", endpoint(b, 9))?;
    /// stack.poll(port, t); // the ARP request leaves
    /// assert!(!stack.poll(port, t), "nothing more to do until the reply");
    /// assert_eq!(net.segment().stats().offered, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll<D: Link>(&mut self, device: &mut D, now: Instant) -> bool {
        self.now = now;
        let mut progress = false;
        // Changes the application made since the last poll (listen,
        // connect, close) show up as transitions here, before any frame.
        self.watch_states();
        self.iface.poll_maintenance(now);
        let us = gate::Us {
            mac: self.mac(),
            cidr: self.cidr,
            #[cfg(feature = "ipv6")]
            v6: self.v6_for_gate(),
            #[cfg(feature = "names")]
            dhcp: self.names.dhcp_active(),
            #[cfg(feature = "names")]
            dns: self.names.dns_active(),
        };
        // A SYN that finds its listener with none in LISTEN (see
        // LISTEN_AHEAD) goes to the gate a second time, after a re-arm;
        // the frame stays at the head of the link meanwhile, and its tally
        // is kept so that it counts once.
        let mut asked_again: Option<Option<observe::Segment>> = None;
        for _ in 0..INGRESS_BURST {
            let Some(frame) = device.peek(now) else {
                break;
            };
            let second = asked_again.take();
            let again = second.is_some();
            let segment = match second {
                Some(segment) => segment,
                None => {
                    #[cfg(feature = "names")]
                    self.names.see(frame);
                    self.counters.tally(Direction::Rx, frame)
                }
            };
            let pool = gate::Pool {
                sockets: &self.sockets,
                tcp: self.tcp,
                udp: self.udp,
                listeners: &self.listeners,
            };
            let (verdict, quiet) = gate::admit(frame, &us, &pool);
            if !again && matches!(verdict, gate::Verdict::Drop(DropReason::BusyPool)) {
                asked_again = Some(segment);
                self.rearm();
                continue;
            }
            let fill = observe::arp_fill(frame, self.ip, |ip| self.cidr.contains_addr(&ip));
            if let Some(observer) = self.observer.as_deref_mut() {
                observer.frame(now, Direction::Rx, frame);
            }
            let note = match verdict {
                gate::Verdict::Drop(reason) => {
                    device.discard(now);
                    self.counters.dropped(reason);
                    self.notify(Event::Dropped(reason));
                    progress = true;
                    continue;
                }
                gate::Verdict::Admit(note) => note,
            };
            if let Some(segment) = segment {
                let entry = self.tcp.iter_mut().find(|e| e.watch.holds(&segment));
                if let Some(entry) = entry {
                    entry.watch.received(&segment);
                }
            }
            if let Some(Event::NoSocket { transport, .. }) = note {
                match transport {
                    Transport::Tcp => self.counters.tcp_no_socket += 1,
                    Transport::Udp => self.counters.udp_no_socket += 1,
                }
            }
            #[cfg(feature = "ipv6")]
            let unrouted = ndp::unrouted(frame, self.iface.ip_addrs());
            if let Some(event) = fill {
                self.notify(event);
            }
            if let Some(event) = note {
                self.notify(event);
            }
            let result = self.ingress_once(device, now);
            #[cfg(feature = "ipv6")]
            if let Some(ns) = unrouted {
                self.answer_unrouted(device, ns);
            }
            // After a quiet segment (see `gate::admit`) the walk would
            // find nothing new (1.2% of a bulk transfer's instructions).
            if !quiet {
                self.watch_states();
            }
            match result {
                PollIngressSingleResult::None => break,
                _ => {
                    self.counters.frames_in += 1;
                    progress = true;
                }
            }
        }
        for _ in 0..EGRESS_BURST {
            let result = self.egress_once(device, now);
            // An observer sees each state change between the frames that
            // caused it; without one, the walk after the burst records the
            // same changes (segments are matched by endpoints, which a
            // burst does not change) at a pool walk per burst, not per
            // segment.
            if self.observer.is_some() {
                self.watch_states();
            }
            match result {
                PollResult::None => break,
                PollResult::SocketStateChanged => progress = true,
            }
        }
        #[cfg(feature = "names")]
        self.dhcp_after_poll(device);
        progress |= self.kick_stalled(device, now);
        progress |= self.rearm();
        self.watch_states();
        self.park_idle();
        progress
    }

    /// One received frame into smoltcp, through the watching device.
    fn ingress_once<D: Link>(&mut self, device: &mut D, now: Instant) -> PollIngressSingleResult {
        let observer = self.observer.as_deref_mut();
        let sent = watch::Sent::new(observer, &mut self.counters, self.tcp, now);
        let mut device = watch::Watch::new(device, sent);
        self.iface
            .poll_ingress_single(now, &mut device, &mut self.sockets)
    }

    /// One egress round of smoltcp, through the watching device.
    fn egress_once<D: Link>(&mut self, device: &mut D, now: Instant) -> PollResult {
        let observer = self.observer.as_deref_mut();
        let sent = watch::Sent::new(observer, &mut self.counters, self.tcp, now);
        let mut device = watch::Watch::new(device, sent);
        self.iface.poll_egress(now, &mut device, &mut self.sockets)
    }

    /// See [`STALL_KICK`].
    fn kick_stalled<D: Link>(&mut self, device: &mut D, now: Instant) -> bool {
        let mut kicked = false;
        for entry in self.tcp.iter_mut() {
            // A pooled socket is closed or in TIME-WAIT: it sends nothing.
            if entry.owner == Owner::Free {
                continue;
            }
            let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
            let sending = matches!(
                socket.state(),
                tcp::State::Established | tcp::State::CloseWait
            );
            if !sending
                || socket.send_queue() == 0
                || !socket.nagle_enabled()
                || now < entry.watch.last_tx + STALL_KICK
            {
                continue;
            }
            let queued = socket.send_queue();
            entry.watch.keep_alive_before = socket.keep_alive();
            socket.set_nagle_enabled(false);
            socket.set_keep_alive(Some(STALL_KICK));
            entry.watch.last_tx = now;
            entry.watch.kicked = true;
            self.counters.tcp_stall_kicks += 1;
            kicked = true;
            if let (Some(observer), Some(local), Some(remote)) = (
                self.observer.as_deref_mut(),
                entry.watch.local,
                entry.watch.remote,
            ) {
                let event = Event::StallKick {
                    local,
                    remote,
                    queued,
                };
                observer.event(now, event);
            }
        }
        if !kicked {
            return false;
        }
        let _ = self.egress_once(device, now);
        for entry in self.tcp.iter_mut() {
            if entry.watch.kicked && !entry.parked {
                entry.watch.kicked = false;
                let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
                socket.set_nagle_enabled(true);
                socket.set_keep_alive(entry.watch.keep_alive_before);
            }
        }
        true
    }

    /// What each service moved, in the order they first moved something.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::net::Transport;
    /// use layernet::socket::{TcpStream, UdpSocket};
    /// let (mut net, a, b) = SimNet::pair(3)?;
    /// let mut dns = UdpSocket::bind(net.stack(a), 0)?;
    /// dns.send_to(net.stack(a), b"query", endpoint(b, 53))?;
    /// let _web = TcpStream::connect(net.stack(a), endpoint(b, 80))?;
    /// let seen: Vec<_> = net.stack(a).app_counters().iter().map(|s| (s.port, s.transport, s.bytes_out)).collect();
    /// assert_eq!(seen, [(53, Transport::Udp, 5), (80, Transport::Tcp, 0)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn app_counters(&self) -> &[AppCounters] {
        &self.apps
    }

    /// Add to the counters of the service on `port`.
    pub(crate) fn count_app(
        &mut self,
        transport: Transport,
        port: u16,
        connections: u64,
        bytes_in: usize,
        bytes_out: usize,
    ) {
        let found = self
            .apps
            .iter()
            .position(|a| a.port == port && a.transport == transport);
        let index = match found {
            Some(i) => i,
            None => {
                let fresh = AppCounters {
                    port,
                    transport,
                    connections: 0,
                    bytes_in: 0,
                    bytes_out: 0,
                };
                if self.apps.push(fresh).is_err() {
                    return;
                }
                self.apps.len() - 1
            }
        };
        let app = &mut self.apps[index];
        app.connections += connections;
        app.bytes_in += bytes_in as u64;
        app.bytes_out += bytes_out as u64;
    }

    /// Count bytes moved by the stream `key` for its service.
    pub(crate) fn count_tcp(&mut self, key: Key, bytes_in: usize, bytes_out: usize) {
        if let Some(port) = self.tcp_entry(key).map(|e| e.service) {
            self.count_app(Transport::Tcp, port, 0, bytes_in, bytes_out);
        }
    }

    /// Attach `observer`: from the next [`Stack::poll`] on it sees every
    /// frame and every event (see [`observe`]). One at a time; `None`
    /// detaches it.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::net::{Direction, Event, Observer};
    /// use layernet::{Duration, Instant, socket::Ping};
    /// use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    /// static SENT: AtomicU32 = AtomicU32::new(0);
    /// struct CountSent;
    /// impl Observer for CountSent {
    ///     fn frame(&mut self, _: Instant, way: Direction, _: &[u8]) { SENT.fetch_add(u32::from(way == Direction::Tx), Relaxed); }
    ///     fn event(&mut self, _: Instant, _: Event) {}
    /// }
    /// let (mut net, a, b) = SimNet::pair(9)?;
    /// // A SimNet stack lives as long as the program, so its observer must too.
    /// net.stack(a).set_observer(Some(Box::leak(Box::new(CountSent))));
    /// let (mut ping, to) = (Ping::new(net.stack(a)), net.stack(b).ipv4_addr());
    /// ping.send(net.stack(a), to, 1, b"")?;
    /// net.run_for(Duration::from_millis(20));
    /// assert_eq!(SENT.load(Relaxed), 2, "ARP request, echo request");
    /// net.stack(a).set_observer(None);
    /// ping.send(net.stack(a), to, 2, b"")?;
    /// net.run_for(Duration::from_millis(20));
    /// assert_eq!(SENT.load(Relaxed), 2, "detached");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_observer(&mut self, observer: Option<&'a mut (dyn Observer + 'a)>) {
        self.observer = observer;
    }

    fn notify(&mut self, event: Event) {
        if let Some(observer) = self.observer.as_deref_mut() {
            observer.event(self.now, event);
        }
    }

    /// Compare every TCP socket's state with the one recorded last time;
    /// report and record the differences.
    fn watch_states(&mut self) {
        for entry in self.tcp.iter_mut() {
            // This runs after every frame, for every socket in the pool.
            if entry.idle() {
                continue;
            }
            let socket = self.sockets.get::<tcp::Socket>(entry.handle());
            let state = socket.state();
            let watch = &mut entry.watch;
            // A socket that stays closed has no endpoints, one that stays
            // listening keeps its port, and one that stays established keeps
            // the ones already recorded (a new connection passes through
            // other states, each seen by a poll): nothing to refresh. A
            // host's pool holds dozens of listening slots.
            if state == watch.state
                && matches!(
                    state,
                    tcp::State::Closed | tcp::State::Listen | tcp::State::Established
                )
            {
                continue;
            }
            if let Some(local) = socket.local_endpoint() {
                watch.local = Some(local);
            } else if state == tcp::State::Listen {
                let port = socket.listen_endpoint().port;
                watch.local = Some(IpEndpoint::new(self.ip.into(), port));
            }
            if let Some(remote) = socket.remote_endpoint() {
                watch.remote = Some(remote);
            }
            if state == watch.state {
                continue;
            }
            let from = watch.state;
            watch.state = state;
            watch.last_tx = self.now;
            if observe::fresh_state(state) {
                watch.isn = None;
                watch.sent_end = None;
                watch.rcv_next = None;
                if state == tcp::State::Listen {
                    watch.remote = None;
                }
            }
            let local = watch.local.unwrap_or(IpEndpoint::new(self.ip.into(), 0));
            let event = Event::State {
                local,
                remote: watch.remote,
                from,
                to: state,
            };
            if let Some(observer) = self.observer.as_deref_mut() {
                observer.event(self.now, event);
            }
        }
    }

    /// When smoltcp next wants to be polled (`None`: only when a frame comes).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::TcpStream};
    ///
    /// let (mut net, _, c) = SimNet::pair(0)?;
    /// let now = net.now();
    /// assert_eq!(net.stack(c).poll_at(now), None, "an idle stack sleeps");
    /// let _s = TcpStream::connect(net.stack(c), endpoint(0, 7))?;
    /// assert!(net.stack(c).poll_at(now).is_some_and(|t| t <= now + Duration::from_secs(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let smoltcp = self.iface.poll_at(now, &self.sockets);
        // The stall nudge has deadlines of its own (see STALL_KICK).
        let kick = self
            .tcp
            .iter()
            .filter(|e| !e.parked)
            .filter(|e| {
                let socket = self.sockets.get::<tcp::Socket>(e.handle());
                matches!(
                    socket.state(),
                    tcp::State::Established | tcp::State::CloseWait
                ) && socket.send_queue() > 0
                    && socket.nagle_enabled()
            })
            .map(|e| e.watch.last_tx + STALL_KICK)
            .min();
        match (smoltcp, kick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The time of the last [`Stack::poll`].
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// net.run_for(Duration::from_millis(250));
    /// assert_eq!(net.stack(a).now().total_millis(), 250);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The stack's IPv4 address (without the prefix).
    ///
    /// ```
    /// use layernet::{Ipv4Address, host::sim::SimNet};
    /// let (mut net, _, second) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(second).ipv4_addr(), Ipv4Address::new(192, 168, 69, 2));
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn ipv4_addr(&self) -> Ipv4Address {
        self.ip
    }

    /// The stack's IPv6 addresses: the link-local one first, then the
    /// static one and any SLAAC has configured, as they stand now (SLAAC
    /// adds and removes them as router advertisements come and expire).
    ///
    /// ```
    /// use layernet::{Ipv6Address, host::sim::SimNet};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let ll: Vec<Ipv6Address> = net.stack(a).ipv6_addrs().map(|c| c.address()).collect();
    /// // From MAC 02:00:00:00:00:01, its universal/local bit flipped (EUI-64).
    /// assert_eq!(ll, ["fe80::ff:fe00:1".parse::<Ipv6Address>()?]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "ipv6")]
    pub fn ipv6_addrs(&self) -> impl Iterator<Item = Ipv6Cidr> + '_ {
        self.iface.ip_addrs().iter().filter_map(|a| match a {
            IpCidr::Ipv6(c) => Some(*c),
            #[allow(unreachable_patterns)]
            _ => None,
        })
    }

    /// Our IPv6 unicast addresses for the gate, in a fixed array.
    #[cfg(feature = "ipv6")]
    fn v6_for_gate(&self) -> [Option<Ipv6Address>; MAX_V6_ADDRS] {
        let mut out = [None; MAX_V6_ADDRS];
        for (slot, cidr) in out.iter_mut().zip(self.ipv6_addrs()) {
            *slot = Some(cidr.address());
        }
        out
    }

    /// The stack's hardware address.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, host_mac};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(a).mac(), host_mac(a));
    /// assert_eq!(net.stack(a).mac().to_string(), "02-00-00-00-00-01");
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn mac(&self) -> EthernetAddress {
        match self.iface.hardware_addr() {
            HardwareAddress::Ethernet(mac) => mac,
        }
    }

    /// What the stack counted.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::TcpListener};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let _ftp = TcpListener::bind(net.stack(a), 21, 3)?;
    /// assert_eq!(net.stack(a).counters().slots_armed, 3, "three sockets in LISTEN");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// TCP connections still open (neither closed, listening, nor in TIME-WAIT).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(0)?;
    /// let mut l = TcpListener::bind(net.stack(s), 5, 1)?;
    /// assert_eq!(net.stack(s).open_tcp_sockets(), 0, "LISTEN does not count");
    /// let conn = TcpStream::connect(net.stack(c), endpoint(s, 5))?;
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!((net.stack(s).open_tcp_sockets(), net.stack(c).open_tcp_sockets()), (1, 1));
    /// conn.close(net.stack(c));
    /// l.accept(net.stack(s))?.0.close(net.stack(s));
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(net.stack(s).open_tcp_sockets() + net.stack(c).open_tcp_sockets(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_tcp_sockets(&self) -> usize {
        self.tcp
            .iter()
            .filter(|e| !e.parked)
            .filter(|e| {
                let state = self.sockets.get::<tcp::Socket>(e.handle()).state();
                !matches!(
                    state,
                    tcp::State::Closed | tcp::State::Listen | tcp::State::TimeWait
                )
            })
            .count()
    }

    /// Reset every open TCP connection (the end of a shutdown's grace
    /// period); their sockets return to the pool. The streams' handles go
    /// stale: every call on them fails with
    /// [`Error::Aborted`](crate::socket::Error::Aborted) or does nothing,
    /// whoever takes their slots next.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{Error, TcpListener, TcpStream}};
    ///
    /// let (mut net, server, client) = SimNet::pair(0)?;
    /// let mut l = TcpListener::bind(net.stack(server), 443, 1)?;
    /// let mut stream = TcpStream::connect(net.stack(client), endpoint(server, 443))?;
    /// net.run_for(Duration::from_millis(10));
    /// stream.poll_connect(net.stack(client))?;
    /// let (mut mine, _) = l.accept(net.stack(server))?;
    /// net.stack(server).abort_all_tcp();
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(stream.recv(net.stack(client), &mut [0; 4]), Err(Error::Reset));
    /// assert_eq!(mine.send(net.stack(server), b"late"), Err(Error::Aborted));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abort_all_tcp(&mut self) {
        for entry in self.tcp.iter_mut().filter(|e| !e.parked) {
            let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
            if !matches!(
                socket.state(),
                tcp::State::Closed | tcp::State::Listen | tcp::State::TimeWait
            ) {
                socket.abort();
            }
            if entry.owner == Owner::Stream {
                entry.disown();
            }
        }
    }

    /// Free TCP sockets waiting outside smoltcp's socket set (see
    /// [`Memory::with_spare`]); 0 on a stack without spare slots.
    ///
    /// ```
    /// use layernet::host::{memory::Sizes, sim::{SimNet, host_ip, host_mac}};
    /// use layernet::{link::sim::Faults, net::Config};
    /// let mut net = SimNet::new(1, Faults::NONE);
    /// let sized = Sizes { tcp_sockets: 8, tcp_buffer: 4096 }.leak()?;
    /// let host = net.add_host_memory(Config::new(host_mac(0), host_ip(0)), sized)?;
    /// assert_eq!(net.stack(host).parked_tcp_sockets(), 8, "all free, all parked");
    /// let board = net.add_host()?;
    /// assert_eq!(net.stack(board).parked_tcp_sockets(), 0, "a profile's pool stays in the set");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parked_tcp_sockets(&self) -> usize {
        self.tcp.iter().filter(|e| e.parked).count()
    }

    /// TCP sockets in the pool that nobody uses.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::TcpListener};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let all = net.stack(a).free_tcp_sockets();
    /// let web = TcpListener::bind(net.stack(a), 80, 4)?;
    /// assert_eq!(net.stack(a).free_tcp_sockets(), all - 4);
    /// web.close(net.stack(a));
    /// net.poll(a, layernet::Instant::ZERO);
    /// assert_eq!(net.stack(a).free_tcp_sockets(), all);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_tcp_sockets(&self) -> usize {
        self.tcp.iter().filter(|e| e.owner == Owner::Free).count()
    }

    // ---- pool management, for the socket layer ----

    /// Move idle pool sockets (free and closed) out of smoltcp's set into
    /// the spare one, while it has room: smoltcp's egress then visits only
    /// the sockets in use. Nothing reads a parked socket: every walk over
    /// the pool that looks at sockets skips idle entries or free ones, and
    /// an entry leaves the pool only through [`Stack::unpark`].
    fn park_idle(&mut self) {
        if self.spare_room == 0 {
            return;
        }
        for entry in self.tcp.iter_mut() {
            if self.spare_room == 0 {
                break;
            }
            if entry.parked || !entry.idle() || entry.handle.is_none() {
                continue;
            }
            let socket = self.sockets.remove(entry.handle());
            // The spare set has a slot per parked socket (spare_room).
            entry.handle = Some(self.spare.add(socket));
            entry.parked = true;
            self.spare_room -= 1;
        }
    }

    /// Bring pool socket `index` back into smoltcp's set before the pool
    /// hands it out. There is room: it left a slot there when it parked,
    /// and the set holds at most the sockets it was sized for.
    fn unpark(&mut self, index: usize) {
        let Some(entry) = self.tcp.get_mut(index) else {
            return;
        };
        if !entry.parked {
            return;
        }
        let socket = self.spare.remove(entry.handle());
        entry.handle = Some(self.sockets.add(socket));
        entry.parked = false;
        self.spare_room += 1;
    }

    /// Keep up to [`LISTEN_AHEAD`] sockets in LISTEN for every listener
    /// whose queue is short of its backlog, and take back those whose close
    /// has finished.
    fn rearm(&mut self) -> bool {
        let mut changed = false;
        // Per listener: its sockets (in LISTEN, in a handshake, or waiting
        // to be accepted), and those of them in LISTEN.
        let mut queued = [0usize; MAX_LISTENERS];
        let mut listening = [0usize; MAX_LISTENERS];
        for entry in self.tcp.iter_mut() {
            if !matches!(entry.owner, Owner::Closing | Owner::Slot(_)) {
                continue;
            }
            let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
            match entry.owner {
                Owner::Closing
                    if matches!(socket.state(), tcp::State::Closed | tcp::State::TimeWait) =>
                {
                    entry.owner = Owner::Free;
                    changed = true;
                }
                Owner::Slot(n) if socket.state() == tcp::State::Closed => {
                    // A handshake that was reset or timed out: listen again.
                    let port = self.listeners.get(usize::from(n)).copied().flatten();
                    match port {
                        Some(l) if socket.listen(l.port).is_ok() => {
                            self.counters.slots_armed += 1;
                        }
                        _ => entry.owner = Owner::Free,
                    }
                    changed = true;
                }
                // The handshake completed: the connection now waits in the
                // accept queue, as long as the service takes to accept it
                // (Linux's accept queue has no timer either). The
                // half-open limit must not reset it; an ESTABLISHED one
                // waiting past HANDSHAKE_TIMEOUT was reset here before.
                Owner::Slot(_)
                    if socket.timeout().is_some()
                        && !matches!(
                            socket.state(),
                            tcp::State::Listen | tcp::State::SynReceived
                        ) =>
                {
                    socket.set_timeout(None);
                }
                _ => {}
            }
            if let Owner::Slot(n) = entry.owner {
                let n = usize::from(n);
                if let (Some(q), Some(l)) = (queued.get_mut(n), listening.get_mut(n)) {
                    *q += 1;
                    *l += usize::from(socket.state() == tcp::State::Listen);
                }
            }
        }
        // Free sockets are searched from where the last one was found: the
        // pool is walked once per call, however many are armed.
        let mut from = 0;
        for (n, (&queued, &listening)) in queued.iter().zip(&listening).enumerate() {
            let Some(Some(listener)) = self.listeners.get(n).copied() else {
                continue;
            };
            let backlog = usize::from(listener.backlog);
            let room = backlog.saturating_sub(queued);
            let short = backlog.min(LISTEN_AHEAD).saturating_sub(listening);
            for _ in 0..room.min(short) {
                let Some(found) = self.tcp[from..].iter().position(|e| e.owner == Owner::Free)
                else {
                    return changed;
                };
                let index = from + found;
                from = index + 1;
                self.unpark(index);
                let entry = &mut self.tcp[index];
                let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
                fresh(socket, Some(HANDSHAKE_TIMEOUT));
                if socket.listen(listener.port).is_err() {
                    break;
                }
                entry.owner = Owner::Slot(n as u8);
                entry.established = false;
                entry.shut = false;
                entry.eof = false;
                self.counters.slots_armed += 1;
                changed = true;
            }
        }
        changed
    }

    pub(crate) fn add_listener(&mut self, port: u16, backlog: u8) -> Result<Key, PoolError> {
        if port == 0 || backlog == 0 {
            return Err(PoolError::Invalid);
        }
        if self.listeners.iter().flatten().any(|l| l.port == port) || self.tcp_port_in_use(port) {
            return Err(PoolError::InUse);
        }
        let n = self
            .listeners
            .iter()
            .position(Option::is_none)
            .ok_or(PoolError::Exhausted)?;
        let generation = self.listeners_made;
        self.listeners_made = generation.wrapping_add(1);
        self.listeners[n] = Some(Listener {
            port,
            backlog,
            generation,
        });
        self.rearm();
        Ok(Key {
            index: n,
            generation: u32::from(generation),
        })
    }

    /// Stop listener `key`; nothing if it stopped already.
    pub(crate) fn remove_listener(&mut self, key: Key) {
        if !self.is_listener(key) {
            return;
        }
        let n = key.index as u8;
        if let Some(l) = self.listeners.get_mut(key.index) {
            *l = None;
        }
        for entry in self.tcp.iter_mut() {
            if entry.owner == Owner::Slot(n) {
                // Connections not yet accepted are refused, as closing a
                // listening Berkeley socket resets its queue.
                self.sockets.get_mut::<tcp::Socket>(entry.handle()).abort();
                entry.owner = Owner::Closing;
            }
        }
    }

    /// A connection of listener `n` that is ready to be accepted: it leaves
    /// the slot (which re-arms at once) and becomes a stream.
    pub(crate) fn take_accepted(&mut self, listener: Key) -> Option<(Key, IpEndpoint)> {
        if !self.is_listener(listener) {
            return None;
        }
        let n = listener.index as u8;
        let index = self.tcp.iter().position(|e| {
            e.owner == Owner::Slot(n) && {
                let s = self.sockets.get::<tcp::Socket>(e.handle());
                // CLOSE-WAIT too: a client may send and close before we accept.
                matches!(s.state(), tcp::State::Established | tcp::State::CloseWait)
            }
        })?;
        let port = match self.listeners.get(listener.index) {
            Some(Some(l)) => l.port,
            _ => 0,
        };
        let entry = &mut self.tcp[index];
        let key = entry.key(index);
        entry.owner = Owner::Stream;
        entry.established = true;
        entry.service = port;
        let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
        // The handshake is over: the stream's owner decides on timeouts.
        socket.set_timeout(None);
        let remote = socket.remote_endpoint()?;
        self.count_app(Transport::Tcp, port, 1, 0, 0);
        self.rearm();
        Some((key, remote))
    }

    /// Whether listener `key` still listens (it was not stopped).
    pub(crate) fn is_listener(&self, key: Key) -> bool {
        matches!(
            self.listeners.get(key.index),
            Some(Some(l)) if u32::from(l.generation) == key.generation
        )
    }

    /// A free socket for an outgoing connection.
    pub(crate) fn take_free_tcp(&mut self) -> Option<Key> {
        let index = self.tcp.iter().position(|e| e.owner == Owner::Free)?;
        self.unpark(index);
        let entry = &mut self.tcp[index];
        entry.owner = Owner::Stream;
        entry.established = false;
        entry.shut = false;
        entry.eof = false;
        fresh(self.sockets.get_mut::<tcp::Socket>(entry.handle()), None);
        Some(entry.key(index))
    }

    /// The stream `key` is done with; smoltcp finishes its close. Nothing
    /// if the stack took it back already.
    pub(crate) fn release_tcp(&mut self, key: Key) {
        if let Some(e) = self.tcp_entry(key) {
            e.disown();
        }
        self.rearm();
    }

    /// The entry of stream `key`; `None` once the stream's handle is stale.
    pub(crate) fn tcp_entry(&mut self, key: Key) -> Option<&mut TcpEntry> {
        self.tcp.get_mut(key.index).filter(|e| e.holds(key))
    }

    /// The socket of stream `key`; `None` once the stream's handle is stale.
    pub(crate) fn tcp_socket(&mut self, key: Key) -> Option<&mut tcp::Socket<'a>> {
        let handle = self.tcp_socket_handle(key)?;
        Some(self.sockets.get_mut::<tcp::Socket>(handle))
    }

    pub(crate) fn tcp_socket_ref(&self, key: Key) -> Option<&tcp::Socket<'a>> {
        let handle = self.tcp_socket_handle(key)?;
        Some(self.sockets.get::<tcp::Socket>(handle))
    }

    /// Whether `key` still names its stream.
    pub(crate) fn tcp_live(&self, key: Key) -> bool {
        self.tcp.get(key.index).is_some_and(|e| e.holds(key))
    }

    fn tcp_socket_handle(&self, key: Key) -> Option<SocketHandle> {
        // A stream's socket is never parked: only free ones are.
        let entry = self.tcp.get(key.index).filter(|e| e.holds(key))?;
        (!entry.parked).then(|| entry.handle())
    }

    /// Socket and interface context together, for `connect`.
    pub(crate) fn tcp_socket_and_context(
        &mut self,
        key: Key,
    ) -> Option<(&mut tcp::Socket<'a>, &mut iface::Context)> {
        let handle = self.tcp_socket_handle(key)?;
        Some((
            self.sockets.get_mut::<tcp::Socket>(handle),
            self.iface.context(),
        ))
    }

    fn tcp_port_in_use(&self, port: u16) -> bool {
        self.tcp.iter().filter(|e| e.owner != Owner::Free).any(|e| {
            let s = self.sockets.get::<tcp::Socket>(e.handle());
            s.local_endpoint().is_some_and(|ep| ep.port == port) || s.listen_endpoint().port == port
        })
    }

    fn udp_port_in_use(&self, port: u16) -> bool {
        self.udp.iter().any(|e| {
            e.in_use && self.sockets.get::<udp::Socket>(e.handle()).endpoint().port == port
        })
    }

    /// A port from 49152-65535 that no socket of this stack uses, drawn from
    /// the seeded generator (random, as RFC 6056 advises, yet reproducible).
    pub(crate) fn ephemeral_port(&mut self, udp: bool) -> Option<u16> {
        let span = u64::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        let start = self.rng.below(span);
        (0..span).find_map(|i| {
            let port = EPHEMERAL_FIRST + ((start + i) % span) as u16;
            let busy = if udp {
                self.udp_port_in_use(port)
            } else {
                self.tcp_port_in_use(port)
                    || self.listeners.iter().flatten().any(|l| l.port == port)
            };
            (!busy).then_some(port)
        })
    }

    pub(crate) fn take_udp(&mut self, port: u16) -> Result<Key, PoolError> {
        if self.udp_port_in_use(port) {
            return Err(PoolError::InUse);
        }
        let index = self
            .udp
            .iter()
            .position(|e| !e.in_use)
            .ok_or(PoolError::Exhausted)?;
        let socket = self
            .sockets
            .get_mut::<udp::Socket>(self.udp[index].handle());
        socket.bind(port).map_err(|_| PoolError::Invalid)?;
        let entry = &mut self.udp[index];
        entry.in_use = true;
        Ok(Key {
            index,
            generation: entry.generation,
        })
    }

    /// Close UDP socket `key`; nothing if it is closed already.
    pub(crate) fn release_udp(&mut self, key: Key) {
        let Some(e) = self.udp.get_mut(key.index) else {
            return;
        };
        if e.in_use && e.generation == key.generation {
            self.sockets.get_mut::<udp::Socket>(e.handle()).close();
            e.in_use = false;
            e.generation = e.generation.wrapping_add(1);
        }
    }

    /// UDP socket `key`; `None` once it is closed.
    pub(crate) fn udp_socket(&mut self, key: Key) -> Option<&mut udp::Socket<'a>> {
        let handle = self
            .udp
            .get(key.index)
            .filter(|e| e.in_use && e.generation == key.generation)?
            .handle();
        Some(self.sockets.get_mut::<udp::Socket>(handle))
    }

    /// The stack's one ICMP socket and the echo identifier it is bound to:
    /// `ident` if this is its first use, the first user's otherwise (smoltcp
    /// binds a socket once, to one identifier).
    pub(crate) fn icmp_socket(&mut self, ident: u16) -> Option<(&mut icmp::Socket<'a>, u16)> {
        let socket = self.sockets.get_mut::<icmp::Socket>(self.icmp);
        let bound = match self.icmp_ident {
            Some(bound) => bound,
            None => {
                socket.bind(icmp::Endpoint::Ident(ident)).ok()?;
                self.icmp_ident = Some(ident);
                ident
            }
        };
        Some((socket, bound))
    }

    /// A number for a new ping of this stack: 0 for the first.
    pub(crate) fn next_ping(&mut self) -> u16 {
        let n = self.pings_made;
        self.pings_made = n.wrapping_add(1);
        n
    }

    /// Keep `reply`, read off the shared ICMP socket by a ping it is not
    /// for, until its own ping asks. The oldest goes when full: the stash
    /// holds no more than the socket's own queue would, and a reply nobody
    /// claims (a duplicate, or one for a ping dropped) must not stay.
    pub(crate) fn stash_echo(&mut self, reply: EchoReply) {
        if self.echo_stash.is_full() {
            self.echo_stash.remove(0);
        }
        let _ = self.echo_stash.push(reply);
    }

    /// The oldest stashed reply whose sequence number `mine` claims.
    pub(crate) fn take_echo(&mut self, mine: impl Fn(u16) -> bool) -> Option<EchoReply> {
        let i = self.echo_stash.iter().position(|r| mine(r.seq))?;
        Some(self.echo_stash.remove(i))
    }

    /// The address smoltcp sends from to `dst`.
    #[cfg(feature = "ipv6")]
    pub(crate) fn ipv6_source_for(&self, dst: &Ipv6Address) -> Ipv6Address {
        self.iface.get_source_address_ipv6(dst)
    }

    /// Send a frame of layernet's own (not smoltcp's) of `len` bytes, written
    /// by `fill`, through the watching device so that the counters and the
    /// observer see it like any other.
    #[cfg(any(feature = "names", feature = "ipv6"))]
    fn send_own<D: Link>(&mut self, device: &mut D, len: usize, fill: impl FnOnce(&mut [u8])) {
        let now = self.now;
        let observer = self.observer.as_deref_mut();
        let sent = watch::Sent::new(observer, &mut self.counters, self.tcp, now);
        let mut device = watch::Watch::new(device, sent);
        if let Some(token) = smoltcp::phy::Device::transmit(&mut device, now) {
            smoltcp::phy::TxToken::consume(token, len, fill);
        }
    }

    /// Draw a random number from the stack's seeded generator.
    pub(crate) fn random(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

/// Options a previous user of a pooled socket may have set go back to
/// their defaults.
fn fresh(socket: &mut tcp::Socket<'_>, timeout: Option<Duration>) {
    socket.set_timeout(timeout);
    socket.set_keep_alive(None);
    socket.set_nagle_enabled(true);
}

/// An echo reply as a ping reads it: who answered, its sequence number as
/// sent on the wire, and its payload's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EchoReply {
    pub(crate) from: IpAddress,
    pub(crate) seq: u16,
    pub(crate) len: u16,
}

/// Why the pool could not give a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolError {
    InUse,
    Exhausted,
    Invalid,
}
