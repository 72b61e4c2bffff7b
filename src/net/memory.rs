//! The memory a stack runs on, lent by the caller: the pool's entries,
//! the socket buffers as const generics (`Resources`, the `profile`s) or
//! as slices sized once at start-up (`Memory`).
//!
//! Layer: net. Depends on smoltcp's socket and storage types only.

use super::*;

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
    pub(super) handle: Option<SocketHandle>,
    /// The socket waits in the stack's spare set (only ever while idle).
    pub(super) parked: bool,
    pub(crate) owner: Owner,
    /// What the stack tracks of this socket's connection (see `track.rs`).
    pub(crate) track: track::Tracked,
    /// The service port its bytes count for (see [`AppCounters`]).
    pub(crate) service: u16,
    /// Bumped each time the entry stops being a stream's (see [`Key`]):
    /// a handle that names an older generation reaches nothing.
    pub(super) generation: u32,
    /// The layer above or the pool may have changed the socket since the
    /// last walk over every socket: the next poll looks at it first, for
    /// the changes the application made (listen, connect, close), instead
    /// of at every socket. (A flag here, in the entry's padding, rather
    /// than a mask in the stack, which would grow the firmware's RAM.)
    pub(super) touched: bool,
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
        track: track::Tracked::NEW,
        service: 0,
        generation: 0,
        touched: false,
    };

    pub(crate) fn handle(&self) -> SocketHandle {
        self.handle.unwrap_or_default()
    }

    /// In the pool and closed when last seen: it stays closed until the
    /// layer above takes it, which changes its owner first. The walks over
    /// the pool that run for every frame skip it without a look at its
    /// socket (the gate's find that its closed state matches nothing).
    pub(crate) fn idle(&self) -> bool {
        self.owner == Owner::Free && self.track.state == tcp::State::Closed
    }

    /// The stream lets go (or the stack takes it back): smoltcp finishes
    /// the close, and the stream's handle goes stale.
    pub(super) fn disown(&mut self) {
        self.owner = Owner::Closing;
        self.generation = self.generation.wrapping_add(1);
    }

    /// Whether `key` (of this entry's index) still names this entry's stream.
    pub(super) fn holds(&self, key: Key) -> bool {
        self.owner == Owner::Stream && self.generation == key.generation
    }

    /// A stream takes the entry: its key.
    pub(super) fn key(&self, index: usize) -> Key {
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
    pub(super) handle: Option<SocketHandle>,
    pub(crate) in_use: bool,
    /// The socket waits in the stack's spare set, as a parked TCP one
    /// does (only ever while not in use).
    pub(super) parked: bool,
    /// Bumped each time the socket is closed (see [`Key`]).
    pub(super) generation: u32,
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
        parked: false,
        generation: 0,
    };

    pub(super) fn handle(&self) -> SocketHandle {
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
    pub(super) rx: [u8; ICMP_BUFFER],
    pub(super) tx: [u8; ICMP_BUFFER],
    pub(super) rx_meta: [icmp::PacketMetadata; ICMP_PACKETS],
    pub(super) tx_meta: [icmp::PacketMetadata; ICMP_PACKETS],
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
/// use layernet::link::segment::{StdPort, StdSegment};
/// use layernet::net::{Config, Resources, Stack};
///
/// type Small<'a> = Resources<'a, 4, 2, 1, 512>;
/// assert!(core::mem::size_of::<Small>() < 9 * 1024, "IPv6 addresses in every socket included");
/// let wire = RefCell::new(StdSegment::new());
/// let mut memory = Small::new();
/// let mut nic = StdPort::new(&wire, 0, Config::default().mac).ok_or("port")?;
/// let stack = Stack::new(Config::default(), &mut nic, &mut memory, layernet::Instant::ZERO)?;
/// assert_eq!(stack.free_tcp_sockets(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Resources<'a, const SOCKETS: usize, const TCP: usize, const UDP: usize, const BUF: usize>
{
    pub(super) sockets: [SocketStorage<'a>; SOCKETS],
    /// Receive then transmit buffer of each TCP socket: flattened, the
    /// byte slice [`Memory`] cuts in the same order.
    pub(super) tcp: [[[u8; BUF]; 2]; TCP],
    pub(super) udp: [[[u8; BUF]; 2]; UDP],
    pub(super) udp_meta: [[[udp::PacketMetadata; UDP_PACKETS]; 2]; UDP],
    pub(super) icmp: IcmpBuffers,
    pub(super) tcp_entries: [TcpEntry; TCP],
    pub(super) udp_entries: [UdpEntry; UDP],
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

    /// UDP sockets (`UDP`) and socket slots (`SOCKETS`), as constants: a
    /// board that keeps a profile's sizes but lays its memory out in
    /// statics of its own (zeroed buffers in .bss, see the firmware) cuts
    /// them by these.
    ///
    /// ```
    /// use layernet::net::{IcmpBuffers, Memory, TcpEntry, UdpEntry, UDP_PACKETS, profile};
    /// use smoltcp::iface::SocketStorage;
    /// use smoltcp::socket::udp::PacketMetadata;
    /// type P<'a> = profile::Tiny<'a>;
    /// const TCP: usize = P::TCP_SOCKETS;
    /// const UDP: usize = P::UDP_SOCKETS;
    /// let mut sockets = [SocketStorage::EMPTY; P::SOCKET_SLOTS];
    /// let mut tcp = [TcpEntry::EMPTY; TCP];
    /// let mut tcp_bytes = [0u8; 2 * TCP * P::TCP_BUFFER];
    /// let mut udp = [UdpEntry::EMPTY; UDP];
    /// let mut udp_bytes = [0u8; 2 * UDP * P::TCP_BUFFER];
    /// let mut udp_meta = [PacketMetadata::EMPTY; 2 * UDP_PACKETS * UDP];
    /// let mut icmp = IcmpBuffers::EMPTY;
    /// let memory = Memory::new(
    ///     &mut sockets, &mut tcp, &mut tcp_bytes, &mut udp, &mut udp_bytes, &mut udp_meta, &mut icmp,
    /// )?;
    /// assert_eq!((memory.tcp_sockets(), memory.tcp_buffer()), (TCP, P::TCP_BUFFER));
    /// # Ok::<(), layernet::net::MemoryError>(())
    /// ```
    pub const UDP_SOCKETS: usize = UDP;

    /// Socket slots (`SOCKETS`), as a constant; see [`Self::UDP_SOCKETS`].
    pub const SOCKET_SLOTS: usize = SOCKETS;

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
/// use layernet::link::segment::{StdPort, StdSegment};
/// use layernet::net::{Config, IcmpBuffers, Memory, Stack, TcpEntry};
/// use smoltcp::iface::SocketStorage;
///
/// let mut sockets: Vec<SocketStorage> = (0..9).map(|_| SocketStorage::EMPTY).collect();
/// let mut tcp = [TcpEntry::EMPTY; 8];
/// let mut bytes = vec![0u8; 8 * 2 * 128 * 1024];
/// let mut icmp = IcmpBuffers::EMPTY;
/// let memory = Memory::new(&mut sockets, &mut tcp, &mut bytes, &mut [], &mut [], &mut [], &mut icmp)?;
/// assert_eq!((memory.tcp_sockets(), memory.tcp_buffer()), (8, 128 * 1024));
/// let wire = RefCell::new(StdSegment::new());
/// let mut nic = StdPort::new(&wire, 0, Config::default().mac).ok_or("port")?;
/// let stack = Stack::with_memory(Config::default(), &mut nic, memory, layernet::Instant::ZERO)?;
/// assert_eq!(stack.free_tcp_sockets(), 8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Memory<'a> {
    pub(super) sockets: &'a mut [SocketStorage<'a>],
    /// Where free TCP sockets wait outside smoltcp's set (see
    /// [`Memory::with_spare`]); empty: they stay in it.
    pub(super) spare: &'a mut [SocketStorage<'a>],
    pub(super) tcp: &'a mut [TcpEntry],
    pub(super) tcp_buffers: &'a mut [u8],
    pub(super) udp: &'a mut [UdpEntry],
    pub(super) udp_buffers: &'a mut [u8],
    pub(super) udp_meta: &'a mut [udp::PacketMetadata],
    pub(super) icmp: &'a mut IcmpBuffers,
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

impl MemoryError {
    /// The error's text, as `Display` shows it: a board's firmware can
    /// print it without `core::fmt` (the tiny build links none).
    ///
    /// ```
    /// use layernet::net::MemoryError;
    /// assert_eq!(MemoryError::NoTcp.as_str(), "the stack needs at least one TCP socket");
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
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
        }
    }
}

impl core::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for MemoryError {}

impl<'a> Memory<'a> {
    /// Room for free TCP sockets outside smoltcp's socket set: smoltcp
    /// visits every socket of its set for each segment it sends, so a
    /// host's pool of a hundred sockets, most of them free, would cost
    /// every segment a hundred visits. With one slot here per TCP socket, a
    /// free socket waits here until the pool hands it out; fewer slots
    /// park fewer. Slots beyond one per TCP socket take closed UDP sockets
    /// as well. Boards, with pools of a dozen, leave it empty.
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
    /// listening slot: 12 TCP sockets), 512 bytes each way, and three UDP
    /// sockets (chat, SNTP, mDNS): the profile layernet's firmware serves.
    ///
    /// ```
    /// use layernet::net::profile::{Board, Tiny};
    /// assert!(size_of::<Tiny>() < size_of::<Board>());
    /// assert!(size_of::<Board>() < 32 * 1024);
    /// ```
    pub type Board<'a> = Resources<'a, 16, 12, 3, 512>;
    /// The board profile plus the iperf3 server (TCP only; its UDP tests
    /// find no socket to spare): its 3 connections (the control
    /// connection, one data stream, one being checked or refused), a
    /// listening slot, and 3 more for a test's connections finishing their
    /// close while the next test opens its own: 19 TCP sockets. The
    /// firmware's board build on the AN386 serves it; the LM3S6965's 64
    /// KiB have no room for it.
    ///
    /// ```
    /// use layernet::net::profile::{Board, BoardIperf3};
    /// let (mut board, mut iperf3) = (Board::new(), BoardIperf3::new());
    /// let more = iperf3.memory().tcp_sockets() - board.memory().tcp_sockets();
    /// assert_eq!(more, 7, "3 connections, a listening slot, 3 closing");
    /// assert!(size_of::<BoardIperf3>() - size_of::<Board>() < 12 * 1024);
    /// ```
    pub type BoardIperf3<'a> = Resources<'a, 23, 19, 3, 512>;
    /// The board profile with room for DHCP and DNS (two more socket
    /// slots; the DNS queries are lent apart, see `DnsStorage`).
    ///
    /// ```
    /// use layernet::net::profile::{Board, BoardNames};
    /// assert!(size_of::<BoardNames>() - size_of::<Board>() < 1024, "two socket slots");
    /// ```
    pub type BoardNames<'a> = Resources<'a, 18, 12, 3, 512>;
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
