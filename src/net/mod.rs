//! Network layer: one [`Stack`] owns smoltcp's interface (ARP, IPv4, ICMP
//! echo), the socket storage the caller lent it, and the device.
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
//! every TCP socket in a pool, a listener (see [`crate::socket::TcpListener`]) keeps `backlog` of them in
//! LISTEN, and [`Stack::poll`] feeds smoltcp one frame at a time through a
//! gate ([`gate`]) that drops, and counts, a SYN for a listening port whose
//! slots are all taken. One frame at a time means two SYNs cannot race for
//! the last slot: the first one turns it into SYN-RECEIVED before the second
//! one is looked at. A SYN for a port nobody listens on still gets its RST.
//!
//! An accepted connection leaves its slot at once (the listener takes a
//! free socket to listen again). A socket the application closed goes back
//! to the pool as soon as it reaches CLOSED or TIME-WAIT. Re-arming a
//! TIME-WAIT socket is the trade-off that keeps a small pool serving: the
//! socket stays in TIME-WAIT (answering a retransmitted FIN) until the pool
//! needs it, and only then is reset; a peer whose last ACK was lost and
//! whose FIN arrives after that gets an RST instead of an ACK, after all
//! its data was delivered.

pub mod gate;
pub mod observe;
mod watch;

pub use observe::{Counters, Direction, DropReason, Event, Observer, TcpState, Transport};

use managed::ManagedSlice;
use smoltcp::iface::{
    self, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet, SocketStorage,
};
use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv4Cidr};

use crate::link::Link;
use crate::link::rng::Rng;

/// How many frames one [`Stack::poll`] takes in before it lets egress run:
/// bounds the work per call, as smoltcp's own `poll_ingress_single` advises.
pub const INGRESS_BURST: usize = 64;
/// How many egress rounds one [`Stack::poll`] runs at most.
pub const EGRESS_BURST: usize = 64;
/// How long a half-open connection (SYN-RECEIVED) may hold a listening
/// slot without hearing from its peer. Without it, spoofed SYNs that never
/// complete their handshake would hold every slot for ever (a SYN flood);
/// a real client on a lossy link retransmits its SYN well within it, which
/// restarts the count.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most listening ports one stack serves at once.
pub const MAX_LISTENERS: usize = 8;
/// Datagrams each UDP socket can queue each way.
pub const UDP_PACKETS: usize = 8;
/// Echo requests/replies the stack's ICMP socket can queue each way.
pub const ICMP_PACKETS: usize = 4;
/// Payload bytes of the ICMP socket's buffers, each way.
pub const ICMP_BUFFER: usize = 1024;
/// First port of the ephemeral range (IANA, RFC 6335).
pub const EPHEMERAL_FIRST: u16 = 49152;

/// The default MAC address, as in smoltcp's examples.
pub const DEFAULT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
/// The default address of the stack, as in smoltcp's examples.
pub const DEFAULT_IP: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 1), 24);

/// How a stack presents itself on the link.
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
}

impl Config {
    /// A configuration with no gateway and seed 0.
    pub const fn new(mac: EthernetAddress, ip: Ipv4Cidr) -> Self {
        Config {
            mac,
            ip,
            gateway: None,
            seed: 0,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(DEFAULT_MAC, DEFAULT_IP)
    }
}

/// Why a stack could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The MAC address is multicast or broadcast.
    MacNotUnicast,
    /// The IPv4 address is unspecified, multicast or broadcast.
    BadAddress,
    /// The gateway is not inside the configured network.
    GatewayUnreachable,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ConfigError::MacNotUnicast => "the MAC address must be unicast (first octet even)",
            ConfigError::BadAddress => "the IPv4 address must be a unicast host address",
            ConfigError::GatewayUnreachable => {
                "the gateway must lie inside the stack's own network"
            }
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

/// Book-keeping for one pooled TCP socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpEntry {
    /// Set once by [`Stack::new`]; `None` only in unused [`Resources`].
    handle: Option<SocketHandle>,
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
}

impl TcpEntry {
    const EMPTY: TcpEntry = TcpEntry {
        handle: None,
        owner: Owner::Free,
        established: false,
        shut: false,
        eof: false,
        watch: observe::Watched::NEW,
        service: 0,
    };

    pub(crate) fn handle(&self) -> SocketHandle {
        self.handle.unwrap_or_default()
    }
}

/// Book-keeping for one pooled UDP socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UdpEntry {
    handle: Option<SocketHandle>,
    pub(crate) in_use: bool,
}

impl UdpEntry {
    fn handle(&self) -> SocketHandle {
        self.handle.unwrap_or_default()
    }
}

/// Buffers of one TCP socket.
pub struct TcpBuffers<const BUF: usize> {
    rx: [u8; BUF],
    tx: [u8; BUF],
}

/// Buffers of one UDP socket.
pub struct UdpBuffers<const BUF: usize> {
    rx: [u8; BUF],
    tx: [u8; BUF],
    rx_meta: [udp::PacketMetadata; UDP_PACKETS],
    tx_meta: [udp::PacketMetadata; UDP_PACKETS],
}

struct IcmpBuffers {
    rx: [u8; ICMP_BUFFER],
    tx: [u8; ICMP_BUFFER],
    rx_meta: [icmp::PacketMetadata; ICMP_PACKETS],
    tx_meta: [icmp::PacketMetadata; ICMP_PACKETS],
}

/// All the memory a [`Stack`] uses, owned by the caller: `TCP` TCP sockets
/// and `UDP` UDP sockets with `BUF` bytes each way, plus one ICMP socket for
/// ping. `SOCKETS` must be `TCP + UDP + 1` (Rust cannot yet add const
/// generics in a type); a wrong value fails to compile when `new` is used.
///
/// Its size is known at compile time: `core::mem::size_of::<Resources<..>>()`.
/// Place it in a `static`, on the stack, or (on a host) in a leaked `Box`.
pub struct Resources<'a, const SOCKETS: usize, const TCP: usize, const UDP: usize, const BUF: usize>
{
    sockets: [SocketStorage<'a>; SOCKETS],
    tcp: [TcpBuffers<BUF>; TCP],
    udp: [UdpBuffers<BUF>; UDP],
    icmp: IcmpBuffers,
    tcp_entries: [TcpEntry; TCP],
    udp_entries: [UdpEntry; UDP],
}

impl<const SOCKETS: usize, const TCP: usize, const UDP: usize, const BUF: usize>
    Resources<'_, SOCKETS, TCP, UDP, BUF>
{
    /// Zeroed resources.
    pub const fn new() -> Self {
        const { assert!(SOCKETS == TCP + UDP + 1, "SOCKETS must be TCP + UDP + 1") };
        const { assert!(TCP > 0 && BUF >= 64, "at least one TCP socket of 64 bytes") };
        Resources {
            sockets: [SocketStorage::EMPTY; SOCKETS],
            tcp: [const {
                TcpBuffers {
                    rx: [0; BUF],
                    tx: [0; BUF],
                }
            }; TCP],
            udp: [const {
                UdpBuffers {
                    rx: [0; BUF],
                    tx: [0; BUF],
                    rx_meta: [udp::PacketMetadata::EMPTY; UDP_PACKETS],
                    tx_meta: [udp::PacketMetadata::EMPTY; UDP_PACKETS],
                }
            }; UDP],
            icmp: IcmpBuffers {
                rx: [0; ICMP_BUFFER],
                tx: [0; ICMP_BUFFER],
                rx_meta: [icmp::PacketMetadata::EMPTY; ICMP_PACKETS],
                tx_meta: [icmp::PacketMetadata::EMPTY; ICMP_PACKETS],
            },
            tcp_entries: [TcpEntry::EMPTY; TCP],
            udp_entries: [const {
                UdpEntry {
                    handle: None,
                    in_use: false,
                }
            }; UDP],
        }
    }
}

impl<const SOCKETS: usize, const TCP: usize, const UDP: usize, const BUF: usize> Default
    for Resources<'_, SOCKETS, TCP, UDP, BUF>
{
    fn default() -> Self {
        Self::new()
    }
}

/// Ready-made resource sizes.
pub mod profile {
    use super::Resources;
    /// A microcontroller-sized stack: 6 TCP and 2 UDP sockets of 1 KiB each way
    /// (about 21 KiB in all).
    pub type Tiny<'a> = Resources<'a, 9, 6, 2, 1024>;
    /// A host-sized stack: 24 TCP and 4 UDP sockets of 8 KiB each way.
    pub type Host<'a> = Resources<'a, 29, 24, 4, 8192>;
}

/// A listening port and how many of its slots to keep ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listener {
    pub(crate) port: u16,
    pub(crate) backlog: u8,
}

/// Most services whose traffic the stack tallies apart; traffic of
/// services beyond them goes uncounted per service.
pub const MAX_APPS: usize = 8;

/// What one service moved: the bytes the application wrote and read
/// through the socket layer (not the wire's, which count retransmissions
/// and headers). A service is named by its well-known port: the local one
/// of a server's sockets, the remote one of a client's.
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
/// [`Resources`], the device, and the pool book-keeping. Everything happens
/// in [`Stack::poll`]; nothing reads a clock.
pub struct Stack<'a, D: Link> {
    device: D,
    iface: Interface,
    sockets: SocketSet<'a>,
    tcp: &'a mut [TcpEntry],
    udp: &'a mut [UdpEntry],
    icmp: SocketHandle,
    icmp_bound: bool,
    listeners: heapless::Vec<Option<Listener>, MAX_LISTENERS>,
    rng: Rng,
    counters: Counters,
    now: Instant,
    ip: Ipv4Address,
    cidr: Ipv4Cidr,
    observer: Option<&'a mut (dyn Observer + 'a)>,
    apps: heapless::Vec<AppCounters, MAX_APPS>,
}

impl<'a, D: Link> Stack<'a, D> {
    /// Build a stack on `device` with `config`, using the caller's `resources`
    /// for every socket. `now` is the current time on the caller's clock.
    pub fn new<const S: usize, const T: usize, const U: usize, const B: usize>(
        config: Config,
        mut device: D,
        resources: &'a mut Resources<'a, S, T, U, B>,
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

        let mut iface_config = iface::Config::new(HardwareAddress::Ethernet(config.mac));
        // smoltcp derives its TCP initial sequence numbers from this seed; left
        // at 0 every boot would reuse the same ISNs.
        iface_config.random_seed = config.seed;
        let mut iface = Interface::new(iface_config, &mut device, now);
        iface.update_ip_addrs(|addrs| {
            // Capacity is at least one address; the push cannot fail on an empty list.
            let _ = addrs.push(IpCidr::Ipv4(config.ip));
        });
        if let Some(gw) = config.gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }

        let Resources {
            sockets,
            tcp,
            udp,
            icmp,
            tcp_entries,
            udp_entries,
        } = resources;
        let mut set = SocketSet::new(ManagedSlice::Borrowed(&mut sockets[..]));
        for (buffers, entry) in tcp.iter_mut().zip(tcp_entries.iter_mut()) {
            let socket = tcp::Socket::new(
                tcp::SocketBuffer::new(&mut buffers.rx[..]),
                tcp::SocketBuffer::new(&mut buffers.tx[..]),
            );
            *entry = TcpEntry {
                handle: Some(set.add(socket)),
                ..TcpEntry::EMPTY
            };
        }
        for (buffers, entry) in udp.iter_mut().zip(udp_entries.iter_mut()) {
            let socket = udp::Socket::new(
                udp::PacketBuffer::new(&mut buffers.rx_meta[..], &mut buffers.rx[..]),
                udp::PacketBuffer::new(&mut buffers.tx_meta[..], &mut buffers.tx[..]),
            );
            entry.handle = Some(set.add(socket));
            entry.in_use = false;
        }
        let icmp = set.add(icmp::Socket::new(
            icmp::PacketBuffer::new(&mut icmp.rx_meta[..], &mut icmp.rx[..]),
            icmp::PacketBuffer::new(&mut icmp.tx_meta[..], &mut icmp.tx[..]),
        ));

        let mut listeners = heapless::Vec::new();
        for _ in 0..MAX_LISTENERS {
            let _ = listeners.push(None);
        }
        Ok(Stack {
            device,
            iface,
            sockets: set,
            tcp: &mut tcp_entries[..],
            udp: &mut udp_entries[..],
            icmp,
            icmp_bound: false,
            listeners,
            rng: Rng::new(config.seed ^ 0x6c61_7965_726e_6574),
            counters: Counters::default(),
            now,
            ip,
            cidr: config.ip,
            observer: None,
            apps: heapless::Vec::new(),
        })
    }

    /// Run the stack at time `now`: take in up to [`INGRESS_BURST`] frames,
    /// one at a time through the gate, send what the sockets have queued,
    /// and return finished sockets to the pool. Returns true if anything
    /// happened (a frame in or out, a socket re-armed).
    pub fn poll(&mut self, now: Instant) -> bool {
        self.now = now;
        let mut progress = false;
        // Changes the application made since the last poll (listen,
        // connect, close) show up as transitions here, before any frame.
        self.watch_states();
        self.iface.poll_maintenance(now);
        let us = gate::Us {
            mac: self.mac(),
            cidr: self.cidr,
        };
        for _ in 0..INGRESS_BURST {
            let Some(frame) = self.device.peek(now) else {
                break;
            };
            self.counters.tally(Direction::Rx, frame);
            let pool = gate::Pool {
                sockets: &self.sockets,
                tcp: self.tcp,
                udp: self.udp,
                listeners: &self.listeners,
            };
            let verdict = gate::inspect(frame, us, &pool);
            let fill = observe::arp_fill(frame, self.ip, |ip| self.cidr.contains_addr(&ip));
            if let Some(observer) = self.observer.as_deref_mut() {
                observer.frame(now, Direction::Rx, frame);
            }
            let note = match verdict {
                gate::Verdict::Drop(reason) => {
                    self.device.discard(now);
                    self.counters.dropped(reason);
                    self.notify(Event::Dropped(reason));
                    progress = true;
                    continue;
                }
                gate::Verdict::Admit(note) => note,
            };
            if let Some(Event::NoSocket { transport, .. }) = note {
                match transport {
                    Transport::Tcp => self.counters.tcp_no_socket += 1,
                    Transport::Udp => self.counters.udp_no_socket += 1,
                }
            }
            for event in [fill, note].into_iter().flatten() {
                self.notify(event);
            }
            let mut device = watch::Watch {
                device: &mut self.device,
                sent: watch::Sent {
                    observer: self.observer.as_deref_mut(),
                    counters: &mut self.counters,
                    tcp: self.tcp,
                    ip: self.ip,
                    now,
                },
            };
            let result = self
                .iface
                .poll_ingress_single(now, &mut device, &mut self.sockets);
            self.watch_states();
            match result {
                PollIngressSingleResult::None => break,
                _ => {
                    self.counters.frames_in += 1;
                    progress = true;
                }
            }
        }
        for _ in 0..EGRESS_BURST {
            let mut device = watch::Watch {
                device: &mut self.device,
                sent: watch::Sent {
                    observer: self.observer.as_deref_mut(),
                    counters: &mut self.counters,
                    tcp: self.tcp,
                    ip: self.ip,
                    now,
                },
            };
            let result = self.iface.poll_egress(now, &mut device, &mut self.sockets);
            self.watch_states();
            match result {
                PollResult::None => break,
                PollResult::SocketStateChanged => progress = true,
            }
        }
        progress |= self.rearm();
        self.watch_states();
        progress
    }

    /// What each service moved, in the order they first moved something.
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

    /// Count bytes moved by the stream at `index` for its service.
    pub(crate) fn count_tcp(&mut self, index: usize, bytes_in: usize, bytes_out: usize) {
        if let Some(port) = self.tcp.get(index).map(|e| e.service) {
            self.count_app(Transport::Tcp, port, 0, bytes_in, bytes_out);
        }
    }

    /// Attach `observer`: from the next [`Stack::poll`] on it sees every
    /// frame and every event (see [`observe`]). One at a time; `None`
    /// detaches it.
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
            let socket = self.sockets.get::<tcp::Socket>(entry.handle());
            let state = socket.state();
            let watch = &mut entry.watch;
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
            if observe::fresh_state(state) {
                watch.isn = None;
                watch.sent_end = None;
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
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        self.iface.poll_at(now, &self.sockets)
    }

    /// The time of the last [`Stack::poll`].
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The stack's IPv4 address.
    pub fn ipv4_addr(&self) -> Ipv4Address {
        self.ip
    }

    /// The stack's hardware address.
    pub fn mac(&self) -> EthernetAddress {
        match self.iface.hardware_addr() {
            HardwareAddress::Ethernet(mac) => mac,
        }
    }

    /// What the stack counted.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The device, for its own statistics.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// TCP connections still open (neither closed, listening, nor in TIME-WAIT).
    pub fn open_tcp_sockets(&self) -> usize {
        self.tcp
            .iter()
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
    /// period); their sockets return to the pool.
    pub fn abort_all_tcp(&mut self) {
        for entry in self.tcp.iter_mut() {
            let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
            if !matches!(
                socket.state(),
                tcp::State::Closed | tcp::State::Listen | tcp::State::TimeWait
            ) {
                socket.abort();
            }
            if entry.owner == Owner::Stream {
                entry.owner = Owner::Closing;
            }
        }
    }

    /// TCP sockets in the pool that nobody uses.
    pub fn free_tcp_sockets(&self) -> usize {
        self.tcp.iter().filter(|e| e.owner == Owner::Free).count()
    }

    // ---- pool management, for the socket layer ----

    /// Put free sockets into LISTEN for every listener short of its backlog,
    /// and take back those whose close has finished.
    fn rearm(&mut self) -> bool {
        let mut changed = false;
        for entry in self.tcp.iter_mut() {
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
                _ => {}
            }
        }
        for n in 0..self.listeners.len() {
            let Some(Some(listener)) = self.listeners.get(n).copied() else {
                continue;
            };
            let slot = Owner::Slot(n as u8);
            let mut have = self.tcp.iter().filter(|e| e.owner == slot).count();
            while have < usize::from(listener.backlog) {
                let Some(entry) = self.tcp.iter_mut().find(|e| e.owner == Owner::Free) else {
                    break;
                };
                let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
                fresh(socket, Some(HANDSHAKE_TIMEOUT));
                if socket.listen(listener.port).is_err() {
                    break;
                }
                entry.owner = slot;
                entry.established = false;
                entry.shut = false;
                entry.eof = false;
                self.counters.slots_armed += 1;
                have += 1;
                changed = true;
            }
        }
        changed
    }

    pub(crate) fn add_listener(&mut self, port: u16, backlog: u8) -> Result<u8, PoolError> {
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
        self.listeners[n] = Some(Listener { port, backlog });
        self.rearm();
        Ok(n as u8)
    }

    pub(crate) fn remove_listener(&mut self, n: u8) {
        if let Some(l) = self.listeners.get_mut(usize::from(n)) {
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
    pub(crate) fn take_accepted(&mut self, n: u8) -> Option<(usize, IpEndpoint)> {
        let index = self.tcp.iter().position(|e| {
            e.owner == Owner::Slot(n) && {
                let s = self.sockets.get::<tcp::Socket>(e.handle());
                // CLOSE-WAIT too: a client may send and close before we accept.
                matches!(s.state(), tcp::State::Established | tcp::State::CloseWait)
            }
        })?;
        let port = match self.listeners.get(usize::from(n)) {
            Some(Some(l)) => l.port,
            _ => 0,
        };
        let entry = &mut self.tcp[index];
        entry.owner = Owner::Stream;
        entry.established = true;
        entry.service = port;
        let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
        // The handshake is over: the stream's owner decides on timeouts.
        socket.set_timeout(None);
        let remote = socket.remote_endpoint()?;
        self.count_app(Transport::Tcp, port, 1, 0, 0);
        self.rearm();
        Some((index, remote))
    }

    pub(crate) fn is_listener(&self, n: u8, port: u16) -> bool {
        matches!(self.listeners.get(usize::from(n)), Some(Some(l)) if l.port == port)
    }

    /// A free socket for an outgoing connection.
    pub(crate) fn take_free_tcp(&mut self) -> Option<usize> {
        let index = self.tcp.iter().position(|e| e.owner == Owner::Free)?;
        let entry = &mut self.tcp[index];
        entry.owner = Owner::Stream;
        entry.established = false;
        entry.shut = false;
        entry.eof = false;
        fresh(self.sockets.get_mut::<tcp::Socket>(entry.handle()), None);
        Some(index)
    }

    /// The stream at `index` is done with; smoltcp finishes its close.
    pub(crate) fn release_tcp(&mut self, index: usize) {
        if let Some(e) = self.tcp.get_mut(index) {
            e.owner = Owner::Closing;
        }
        self.rearm();
    }

    pub(crate) fn tcp_entry(&mut self, index: usize) -> Option<&mut TcpEntry> {
        self.tcp.get_mut(index)
    }

    pub(crate) fn tcp_socket(&mut self, index: usize) -> Option<&mut tcp::Socket<'a>> {
        let handle = self.tcp.get(index)?.handle();
        Some(self.sockets.get_mut::<tcp::Socket>(handle))
    }

    pub(crate) fn tcp_socket_ref(&self, index: usize) -> Option<&tcp::Socket<'a>> {
        let handle = self.tcp.get(index)?.handle();
        Some(self.sockets.get::<tcp::Socket>(handle))
    }

    /// Socket and interface context together, for `connect`.
    pub(crate) fn tcp_socket_and_context(
        &mut self,
        index: usize,
    ) -> Option<(&mut tcp::Socket<'a>, &mut iface::Context)> {
        let handle = self.tcp.get(index)?.handle();
        Some((
            self.sockets.get_mut::<tcp::Socket>(handle),
            self.iface.context(),
        ))
    }

    fn tcp_port_in_use(&self, port: u16) -> bool {
        self.tcp.iter().any(|e| {
            let s = self.sockets.get::<tcp::Socket>(e.handle());
            e.owner != Owner::Free
                && (s.local_endpoint().is_some_and(|ep| ep.port == port)
                    || s.listen_endpoint().port == port)
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

    pub(crate) fn take_udp(&mut self, port: u16) -> Result<usize, PoolError> {
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
        self.udp[index].in_use = true;
        Ok(index)
    }

    pub(crate) fn release_udp(&mut self, index: usize) {
        if let Some(e) = self.udp.get_mut(index) {
            self.sockets.get_mut::<udp::Socket>(e.handle()).close();
            e.in_use = false;
        }
    }

    pub(crate) fn udp_socket(&mut self, index: usize) -> Option<&mut udp::Socket<'a>> {
        let handle = self.udp.get(index).filter(|e| e.in_use)?.handle();
        Some(self.sockets.get_mut::<udp::Socket>(handle))
    }

    /// The stack's one ICMP socket, bound to echo identifier `ident`.
    pub(crate) fn icmp_socket(&mut self, ident: u16) -> Option<&mut icmp::Socket<'a>> {
        let socket = self.sockets.get_mut::<icmp::Socket>(self.icmp);
        if !self.icmp_bound {
            socket.bind(icmp::Endpoint::Ident(ident)).ok()?;
            self.icmp_bound = true;
        }
        Some(socket)
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

/// Why the pool could not give a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolError {
    InUse,
    Exhausted,
    Invalid,
}
