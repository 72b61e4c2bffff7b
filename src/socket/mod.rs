//! Transport layer: Berkeley/Python-style sockets over smoltcp's TCP, UDP
//! and ICMP sockets.
//!
//! Layer: socket. Depends on [`crate::net`] (the stack and its pool) and on
//! smoltcp's socket types; never on applications or the host.
//!
//! # Who owns the stack
//!
//! The core is non-blocking and owns nothing: a [`TcpListener`], a
//! [`TcpStream`] or a [`UdpSocket`] is a small value naming a socket in the
//! stack's pool, and every operation borrows the stack: `stream.recv(&mut
//! stack, &mut buf)`. An operation that cannot finish now returns
//! [`Error::WouldBlock`]; nothing spins. That shape costs no memory, needs
//! no locking and no `RefCell`, and fits a microcontroller main loop where
//! the one stack is polled between applications.
//!
//! Blocking calls, timeouts and `std::io::Read`/`Write` need the stack
//! without an explicit argument. On the host they live in
//! `crate::host::blocking`, where a shared handle to the driver (the stack
//! or the whole simulated network) stands in for the argument and drives
//! the network while it waits. A connected stream's whole API is already
//! "given a stack, do this", so the same core serves `embedded_io` by
//! pairing a stream with a `&mut Stack` ([`io`]), and, with the `async`
//! feature, `embedded_io_async` on an executor by putting the stack in a
//! `RefCell` that the run loop and the socket futures borrow in turn
//! (`asynch`, woken through smoltcp's socket wakers).
//!
//! | Python | layernet (non-blocking core) |
//! |---|---|
//! | `s.bind(addr); s.listen(n)` | [`TcpListener::bind`]`(stack, port, n)` |
//! | `s.accept()` | [`TcpListener::accept`] |
//! | `s.connect(addr)` | [`TcpStream::connect`] then [`TcpStream::poll_connect`] |
//! | `s.send(b)` / `s.recv(n)` | [`TcpStream::send`] / [`TcpStream::recv`] |
//! | `s.shutdown(SHUT_WR)` / `s.close()` | [`TcpStream::shutdown`] / [`TcpStream::close`] |
//! | `s.sendto(b, a)` / `s.recvfrom(n)` | [`UdpSocket::send_to`] / [`UdpSocket::recv_from`] |
//! | `s.getsockname()` / `s.getpeername()` | `local_addr` / `peer_addr` |
//! | `TCP_NODELAY`, `SO_KEEPALIVE`, `settimeout` | `set_nodelay`, `set_keepalive`, `set_timeout` |

#[cfg(feature = "async")]
pub mod asynch;
mod error;
pub mod io;
mod listener;
mod ping;
mod stream;
mod stream_options;
mod udp;

pub use error::Error;
pub use listener::TcpListener;
pub use ping::{PING_WINDOW, Ping};
pub use stream::{CLOSE_TIMEOUT, TcpStream};
pub use udp::UdpSocket;

#[cfg(feature = "ipv6")]
use smoltcp::wire::IpAddress;
use smoltcp::wire::IpEndpoint;

/// An endpoint as users write one: `192.168.69.1:7`, or `[fd00::1]:7` with
/// an IPv6 address in brackets (as in URLs, RFC 3986), which smoltcp's own
/// `Display` leaves out (`fd00::1:7` reads as an address).
///
/// ```
/// use layernet::{IpEndpoint, Ipv4Address, socket::EndpointText};
/// let v4 = IpEndpoint::new(Ipv4Address::new(192, 168, 69, 1).into(), 7);
/// assert_eq!(EndpointText(v4).to_string(), "192.168.69.1:7");
/// let wide = IpEndpoint::new(Ipv4Address::new(255, 0, 10, 100).into(), 65535);
/// assert_eq!(EndpointText(wide).to_string(), "255.0.10.100:65535");
/// # #[cfg(feature = "ipv6")] {
/// let v6 = IpEndpoint::new("fd00::1".parse::<layernet::Ipv6Address>()?.into(), 7);
/// assert_eq!(EndpointText(v6).to_string(), "[fd00::1]:7");
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointText(pub IpEndpoint);

impl EndpointText {
    /// An IPv4 endpoint's text, written without `core::fmt`: through
    /// `core::fmt`, an address and port cost about a thousand
    /// instructions, a tenth of a greeting connection's work in the stack,
    /// and the chat's tag would link the formatting machinery into a
    /// firmware build that has none.
    pub(crate) fn v4(addr: smoltcp::wire::Ipv4Address, port: u16) -> Ascii {
        let mut text = Ascii(heapless::String::new());
        write_v4(&mut text.0, addr, port);
        text
    }
}

/// Append an IPv4 endpoint's text (`192.168.69.2:49152`) to `out`, as much
/// as fits: a byte at a time, each octet's digits without a loop or a
/// division by a variable (the log line of every connection is made so).
pub(crate) fn write_v4<const N: usize>(
    out: &mut heapless::String<N>,
    addr: smoltcp::wire::Ipv4Address,
    port: u16,
) {
    let mut push = |b: u8| {
        let _ = out.push(char::from(b));
    };
    for (i, octet) in addr.octets().into_iter().enumerate() {
        if i > 0 {
            push(b'.');
        }
        if octet >= 100 {
            push(b'0' + octet / 100);
        }
        if octet >= 10 {
            push(b'0' + octet / 10 % 10);
        }
        push(b'0' + octet % 10);
    }
    push(b':');
    let mut digits = [0u8; 5];
    let mut start = digits.len();
    let mut n = port;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    for &d in digits.get(start..).unwrap_or_default() {
        push(d);
    }
}

impl core::fmt::Display for EndpointText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.addr {
            #[cfg(feature = "ipv6")]
            IpAddress::Ipv6(a) => write!(f, "[{a}]:{}", self.0.port),
            smoltcp::wire::IpAddress::Ipv4(a) => {
                f.write_str(EndpointText::v4(a, self.0.port).as_str())
            }
            #[allow(unreachable_patterns)]
            a => write!(f, "{a}:{}", self.0.port),
        }
    }
}

/// Room for the longest IPv4 endpoint, `255.255.255.255:65535`.
pub(crate) struct Ascii(heapless::String<21>);

impl Ascii {
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }
}
