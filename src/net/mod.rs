//! Network layer: one [`Stack`] owns smoltcp's interface (ARP, IPv4, ICMP
//! echo) and the socket storage the caller lent it. The device is not in
//! it: each [`Stack::poll`] borrows one, as smoltcp's `Interface::poll`
//! does, so that sockets, services and hosts name the stack's type without
//! the device's.
//!
//! Layer: net. Depends on smoltcp and on [`crate::link`]; knows nothing of
//! the socket API's shape or of applications.
//!
//! Where things are: this file has the tunables and the [`Stack`] itself;
//! `config.rs` how a stack presents itself ([`Config`]); `memory.rs` the
//! caller's memory ([`Resources`], [`Memory`], [`profile`]); `stack.rs`
//! construction; `poll.rs` [`Stack::poll`] (the gate, smoltcp's ingress and
//! egress, the stall kick, the state watcher, [`Stack::poll_at`]);
//! `accessors.rs` the small accessors (clock, addresses, counters);
//! `pool.rs` the socket pool the socket layer calls (listeners, re-arming,
//! parking, handles' keys, ports, the shared ICMP socket); `apps.rs` the
//! per-service counters; `frame.rs` the one parse of each frame; [`gate`]
//! the checks on it; `track.rs` connection tracking (the sequence numbers
//! the gate's RST check and the stall kick need, state changes and
//! retransmissions); [`observe`] counters, events and the [`Observer`]
//! they go to; `watch.rs` the device wrapper that sees every sent frame;
//! `names.rs` DHCP and DNS; `ndp.rs` the neighbour solicitations smoltcp
//! leaves unanswered.
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

mod accessors;
mod apps;
mod config;
pub(crate) mod frame;
pub mod gate;
mod memory;
#[cfg(feature = "names")]
mod names;
#[cfg(feature = "ipv6")]
mod ndp;
pub mod observe;
mod poll;
mod pool;
mod seen;
mod stack;
mod table;
mod track;
mod watch;

pub use apps::{AppCounters, MAX_APPS};
#[cfg(feature = "ipv6")]
pub(crate) use config::MAX_V6_ADDRS;
#[cfg(feature = "ipv6")]
pub use config::link_local;
pub use config::{Config, ConfigError, DEFAULT_IP, DEFAULT_MAC, JoinError};
pub(crate) use memory::Owner;
pub use memory::{
    IcmpBuffers, MAX_TCP_BUFFER, MIN_BUFFER, Memory, MemoryError, Resources, TcpEntry, UdpEntry,
    profile,
};
pub(crate) use pool::{EchoReply, Key, Listener, PoolError};

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
pub use seen::{FrameNote, NEIGHBORS, Neighbor, RECENT, WATCHED_MS, What};
pub use table::TcpRow;

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
/// use layernet::{Duration, link::segment::Faults};
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

/// How long a closed connection may go without a word from its peer
/// before the pool takes its socket back anyway, with an RST: a peer that
/// never sends its FIN, or has gone, would otherwise hold a FIN-WAIT-2 or
/// LAST-ACK socket for ever. A segment of the connection that the gate
/// admits is a word, unless it starts before our RCV.NXT (a keep-alive
/// probe does), and the first poll after the close starts the count.
///
/// The stack counts it, not smoltcp's socket timeout, which counts from
/// the last segment that moved its state: set at the close, it reset a
/// connection whose peer had been quiet longer than the timeout (an idle
/// connection closed by its server sent an RST instead of its FIN), and in
/// LAST-ACK it ignored the peer's duplicate ACKs, so a close whose last
/// data met a run of losses was reset while the peer was still asking for
/// it (the echo over tests/tap/lossy_link.sh lost its tail so, rarely).
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::socket::{CLOSE_TIMEOUT, TcpListener, TcpStream};
/// use layernet::Duration;
///
/// let (mut net, srv, cli) = SimNet::pair(1)?;
/// let mut l = TcpListener::bind(net.stack(srv), 7, 1)?;
/// let leaving = TcpStream::connect(net.stack(cli), endpoint(srv, 7))?;
/// net.run_for(Duration::from_millis(10));
/// let _silent = l.accept(net.stack(srv))?; // never closes: no FIN comes back
/// leaving.close(net.stack(cli));
/// let all = net.stack(cli).free_tcp_sockets() + 1;
/// net.run_for(CLOSE_TIMEOUT + Duration::from_secs(1));
/// assert_eq!(net.stack(cli).free_tcp_sockets(), all);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

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
/// use layernet::link::segment::{StdPort, StdSegment};
/// use layernet::net::{Config, Stack, profile};
/// use layernet::{Instant, socket::Ping};
///
/// let wire = RefCell::new(StdSegment::new());
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
    /// A socket changed state or owner since the last re-arm in
    /// [`Stack::poll`]: only then can re-arming or parking find work, and
    /// both walk the pool.
    pool_moved: bool,
    /// The walk over every TCP socket ran at [`Stack::now`]: a later poll
    /// at the same instant skips it (see [`Stack::poll`]). smoltcp's egress
    /// changes a state only when a timer expires, and a timer that did not
    /// expire at this instant's first egress cannot expire at a later one
    /// at the same instant: ingress, the application and the pool set
    /// timers later than now, and the looks at the sockets a segment
    /// reached or the application touched see every other change. Unless
    /// the first egress did not dispatch a socket because the device had
    /// no room ([`Stack::walk_next`]), or a socket waited for a neighbour
    /// that a later poll at the same instant learns (an ARP fill, a
    /// neighbour solicitation or advertisement): that poll walks again.
    walked_now: bool,
    /// The last egress round ended short (the device had no room for a
    /// frame), so sockets after that point were not dispatched, and their
    /// timers may expire at a later egress at this same instant: the next
    /// poll walks again after its egress (see [`Stack::walked_now`]).
    walk_next: bool,
    /// An entry may wait to be parked ([`Stack::park_idle`]): the first
    /// poll of each parking tick (`pool::new_tick`) parks those idle long enough.
    park_due: bool,
    /// Every TCP entry from this index on is idle ([`TcpEntry::idle`]):
    /// the walks that skip idle entries stop here. The pool hands out the
    /// lowest free entry, so the entries in use stay near the start.
    ///
    /// It is never past the pool's end, but the walks take their slice
    /// through `pool::live` (an empty slice otherwise), not by indexing:
    /// each index's panic path, kept live by the run loop the firmware
    /// inlines, cost its tiny builds 148 / 364 B of flash (AN386 /
    /// LM3S6965) over the ten walks.
    tcp_live: usize,
    tcp: &'a mut [TcpEntry],
    udp: &'a mut [UdpEntry],
    /// The ICMP socket, made when the first ping asks for it: until then
    /// its buffers wait here and its slot in the set stays free, so that
    /// smoltcp's egress, which visits every socket in the set on every
    /// round, does not visit one that nobody uses (about 100 instructions
    /// a frame of a bulk transfer, scripts/bench-cpu.sh).
    icmp: Icmp<'a>,
    /// The buffers of the UDP sockets not yet made (see [`UdpStore`]).
    udp_store: UdpStore<'a>,
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
    /// Neighbours and recent frames, for a live view.
    seen: seen::Seen,
    /// The stack, not smoltcp, computes the TCP checksums it sends (see
    /// [`watch::GateChecked`]); false when the device computes them.
    fills_tcp: bool,
    now: Instant,
    /// The IPv4 address and prefix; the address alone is
    /// [`Stack::ipv4_addr`] (no copy of its own: 4 bytes of static RAM on
    /// the firmware).
    cidr: Ipv4Cidr,
    apps: heapless::Vec<AppCounters, MAX_APPS>,
    #[cfg(feature = "names")]
    names: names::Names,
}

/// The buffers of the UDP entries whose sockets are not made yet: a UDP
/// socket is made the first time its entry is taken, from the next
/// `each`-byte halves and [`UDP_PACKETS`] metadata entries each way, and
/// stays made (parked in the spare set while closed, where there is one).
struct UdpStore<'a> {
    bytes: &'a mut [u8],
    meta: &'a mut [udp::PacketMetadata],
    each: usize,
}

/// The stack's one ICMP socket: its buffers until the first ping, then
/// its handle (see [`Stack::icmp_socket`]).
enum Icmp<'a> {
    Unmade(&'a mut IcmpBuffers),
    Made(SocketHandle),
}
