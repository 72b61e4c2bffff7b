//! What a socket operation can fail with: [`Error`], in the terms of the
//! Berkeley API, and how the pool's own errors map onto it.
//!
//! Layer: socket. Depends on [`crate::net`] (for [`PoolError`]) only;
//! no_std, no alloc.

use crate::net::PoolError;

/// What a socket operation can fail with, in the terms of the Berkeley API.
///
/// # Example
///
/// [`Error::WouldBlock`] is the one to expect in a poll loop; the others end
/// the operation. Each has a one-line message:
///
/// ```
/// use layernet::{host::sim::SimNet, socket::{Error, UdpSocket}};
///
/// let (mut net, a, _) = SimNet::pair(1)?;
/// let mut udp = UdpSocket::bind(net.stack(a), 6868)?;
/// match udp.recv_from(net.stack(a), &mut [0; 16]) {
///     Err(Error::WouldBlock) => {} // nothing yet: poll the stack, try again
///     other => panic!("unexpected {other:?}"),
/// }
/// let taken = UdpSocket::bind(net.stack(a), 6868).err().ok_or("bound twice")?;
/// assert_eq!(taken.to_string(), "address already in use");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Not possible now; poll the stack and try again (EAGAIN).
    WouldBlock,
    /// The peer answered the connection request with a reset (ECONNREFUSED).
    Refused,
    /// The peer reset an established connection (ECONNRESET).
    Reset,
    /// A blocking call's time limit passed (ETIMEDOUT).
    TimedOut,
    /// The port is already bound or listened on (EADDRINUSE).
    AddrInUse,
    /// The pool has no free socket, or the datagram cannot fit (ENOBUFS).
    NoBufferSpace,
    /// The stream is not connected (yet) (ENOTCONN).
    NotConnected,
    /// This side already shut its sending half down (EPIPE).
    Closed,
    /// A bad argument: port 0 where one is needed, an unspecified address,
    /// a zero backlog (EINVAL).
    InvalidInput,
    /// smoltcp dropped a datagram that did not fit its buffer.
    Truncated,
    /// The stack took this stream's socket back
    /// ([`Stack::abort_all_tcp`](crate::net::Stack::abort_all_tcp)), so the
    /// handle names nothing any more (ECONNABORTED). Its slot may already
    /// serve another connection, which the old handle never reaches.
    Aborted,
}

impl Error {
    /// The error's text, as `Display` shows it: a board's firmware can
    /// print it without `core::fmt` (the tiny build links none).
    ///
    /// ```
    /// assert_eq!(layernet::socket::Error::Refused.as_str(), "connection refused");
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            Error::WouldBlock => "operation would block",
            Error::Refused => "connection refused",
            Error::Reset => "connection reset by peer",
            Error::TimedOut => "timed out",
            Error::AddrInUse => "address already in use",
            Error::NoBufferSpace => "no buffer space available",
            Error::NotConnected => "not connected",
            Error::Closed => "sending half already shut down",
            Error::InvalidInput => "invalid argument",
            Error::Truncated => "datagram truncated",
            Error::Aborted => "connection aborted by the stack",
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for Error {}

impl From<PoolError> for Error {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::InUse => Error::AddrInUse,
            PoolError::Exhausted => Error::NoBufferSpace,
            PoolError::Invalid => Error::InvalidInput,
        }
    }
}
