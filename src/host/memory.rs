//! Socket memory sized at start-up: the host's way to lend a stack its
//! [`Memory`], from two numbers (TCP sockets, bytes each way).
//!
//! Layer: host (std). Allocates once, before the first poll; the stack
//! allocates nothing after.
//!
//! Every part is allocated in place, as zeroed vectors made into leaked
//! boxed slices: no multi-megabyte value passes through the thread's
//! stack, and the buffers come from `calloc` (fresh zero pages from the
//! kernel), so a buffer costs resident memory only once bytes pass through
//! it. smoltcp's ring buffers start over at offset 0 whenever they empty,
//! so a socket carrying small requests touches a page or two of its
//! buffers; a bulk transfer touches all of them.

use smoltcp::iface::SocketStorage;
use smoltcp::socket::udp;

use crate::net::{
    IcmpBuffers, MAX_TCP_BUFFER, MIN_BUFFER, Memory, NAME_SOCKETS, TcpEntry, UDP_PACKETS, UdpEntry,
    profile,
};

/// UDP sockets of a host stack (the chat room, clients' datagram sockets),
/// as in `net::profile::Host`.
///
/// ```
/// use layernet::host::memory::{Sizes, UDP_SOCKETS};
/// use layernet::host::sim::{SimNet, host_ip, host_mac};
/// use layernet::socket::UdpSocket;
/// let mut net = SimNet::new(1, layernet::link::segment::Faults::NONE);
/// let a = net.add_host_memory(layernet::net::Config::new(host_mac(0), host_ip(0)), Sizes::HOST.leak()?)?;
/// let all: Vec<_> = (0..UDP_SOCKETS as u16).map(|p| UdpSocket::bind(net.stack(a), 5000 + p)).collect();
/// assert!(all.iter().all(Result::is_ok));
/// assert!(UdpSocket::bind(net.stack(a), 6000).is_err(), "no fifth");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const UDP_SOCKETS: usize = 4;
/// Each UDP socket's buffer, each way.
///
/// ```
/// use layernet::host::memory::UDP_BUFFER;
/// assert!(UDP_BUFFER >= 1500, "a full-sized datagram fits");
/// ```
pub const UDP_BUFFER: usize = 8192;
/// Most TCP sockets a host stack may have: far more than `serve` asks for,
/// and every poll walks the pool.
///
/// ```
/// use layernet::host::memory::{MAX_TCP_SOCKETS, Sizes};
/// let too_many = Sizes { tcp_sockets: MAX_TCP_SOCKETS + 1, tcp_buffer: 4096 };
/// assert!(too_many.leak().is_err());
/// ```
pub const MAX_TCP_SOCKETS: usize = 4096;

/// How much socket memory a host stack gets: the TCP pool's size and each
/// TCP socket's buffer, each way. UDP, ICMP and the DHCP and DNS slots are
/// fixed ([`UDP_SOCKETS`] of [`UDP_BUFFER`]).
///
/// # Example
///
/// ```
/// use layernet::host::memory::Sizes;
/// let sizes = Sizes { tcp_sockets: 100, tcp_buffer: 256 * 1024 };
/// assert_eq!(sizes.tcp_bytes(), Some(100 * 2 * 256 * 1024));
/// let memory = sizes.leak()?; // 50 MiB of address space, none of it touched yet
/// assert_eq!((memory.tcp_sockets(), memory.tcp_buffer()), (100, 256 * 1024));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// TCP sockets in the pool: listening slots, accepted and outgoing
    /// connections alike.
    pub tcp_sockets: usize,
    /// Each TCP socket's buffer, each way, in bytes: the receive buffer is
    /// the largest window it advertises.
    pub tcp_buffer: usize,
}

impl Sizes {
    /// The sizes of `net::profile::Host` (24 TCP sockets of 8 KiB), read
    /// from the profile itself.
    ///
    /// ```
    /// use layernet::host::memory::Sizes;
    /// use layernet::net::profile;
    /// let mut host = Box::new(profile::Host::new());
    /// let fixed = host.memory();
    /// let sized = Sizes::HOST.leak()?;
    /// assert_eq!((fixed.tcp_sockets(), fixed.tcp_buffer()), (sized.tcp_sockets(), sized.tcp_buffer()));
    /// # Ok::<(), String>(())
    /// ```
    pub const HOST: Sizes = Sizes {
        tcp_sockets: profile::Host::TCP_SOCKETS,
        tcp_buffer: profile::Host::TCP_BUFFER,
    };

    /// Bytes of every TCP buffer together, both ways (`None` past
    /// `usize`).
    ///
    /// ```
    /// use layernet::host::memory::Sizes;
    /// assert_eq!(Sizes::HOST.tcp_bytes(), Some(24 * 2 * 8192));
    /// assert_eq!(Sizes { tcp_sockets: usize::MAX, tcp_buffer: 2 }.tcp_bytes(), None);
    /// ```
    pub fn tcp_bytes(&self) -> Option<usize> {
        self.tcp_sockets
            .checked_mul(self.tcp_buffer)?
            .checked_mul(2)
    }

    /// Allocate the memory, once, and keep it for the rest of the process
    /// (a stack on it lives as long as the program).
    ///
    /// # Errors
    ///
    /// One line when a size is out of range: no TCP socket or more than
    /// [`MAX_TCP_SOCKETS`], a buffer under 64 bytes or over 1 GiB, or
    /// buffers together past the address space.
    ///
    /// ```
    /// use layernet::host::memory::Sizes;
    /// let none = Sizes { tcp_sockets: 0, tcp_buffer: 8192 }.leak().err().ok_or("accepted")?;
    /// assert!(none.contains("TCP socket"), "{none}");
    /// let small = Sizes { tcp_sockets: 4, tcp_buffer: 10 }.leak().err().ok_or("accepted")?;
    /// assert!(small.contains("64 bytes"), "{small}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn leak(self) -> Result<Memory<'static>, String> {
        if !(1..=MAX_TCP_SOCKETS).contains(&self.tcp_sockets) {
            return Err(format!(
                "{} TCP sockets: a stack takes from 1 to {MAX_TCP_SOCKETS}",
                self.tcp_sockets
            ));
        }
        if !(MIN_BUFFER..=MAX_TCP_BUFFER).contains(&self.tcp_buffer) {
            return Err(format!(
                "a TCP buffer of {} bytes: it takes from {MIN_BUFFER} bytes to 1 GiB each way",
                self.tcp_buffer
            ));
        }
        let tcp_bytes = self
            .tcp_bytes()
            .filter(|b| isize::try_from(*b).is_ok())
            .ok_or_else(|| {
                format!(
                    "{} TCP sockets of {} bytes each way do not fit in the address space",
                    self.tcp_sockets, self.tcp_buffer
                )
            })?;
        let slots = self.tcp_sockets + UDP_SOCKETS + 1 + NAME_SOCKETS;
        let sockets: Vec<SocketStorage<'static>> =
            (0..slots).map(|_| SocketStorage::EMPTY).collect();
        // A slot per TCP and UDP socket where it waits while free, out of
        // the way of smoltcp's per-segment walk (net::Memory::with_spare).
        let spare: Vec<SocketStorage<'static>> = (0..self.tcp_sockets + UDP_SOCKETS)
            .map(|_| SocketStorage::EMPTY)
            .collect();
        Memory::new(
            Box::leak(sockets.into_boxed_slice()),
            Box::leak(vec![TcpEntry::EMPTY; self.tcp_sockets].into_boxed_slice()),
            // `vec![0; n]` asks the allocator for zeroed memory in one
            // call (calloc): nothing is written, no page is touched.
            Box::leak(vec![0u8; tcp_bytes].into_boxed_slice()),
            Box::leak(vec![UdpEntry::EMPTY; UDP_SOCKETS].into_boxed_slice()),
            Box::leak(vec![0u8; UDP_SOCKETS * 2 * UDP_BUFFER].into_boxed_slice()),
            Box::leak(
                vec![udp::PacketMetadata::EMPTY; UDP_SOCKETS * 2 * UDP_PACKETS].into_boxed_slice(),
            ),
            Box::leak(Box::new(IcmpBuffers::EMPTY)),
        )
        .map(|memory| memory.with_spare(Box::leak(spare.into_boxed_slice())))
        .map_err(|e| e.to_string())
    }
}
