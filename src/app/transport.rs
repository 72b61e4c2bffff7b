//! The byte transport a server's connection reads and writes through: the
//! accepted [`TcpStream`] itself, or a layer over it that the host adds
//! (TLS, in `crate::host::tls`). The file service is written against
//! [`Transport`], so that HTTPS is the same state machine over another
//! transport; in the core the transport is always the plain stream.
//!
//! Layer: app. Depends on [`crate::socket`] only; no std, no alloc. A
//! layer over the stream keeps its own buffers on its own side (the
//! host's heap for rustls), never in the core.

use crate::net::Stack;
use crate::socket::{Error, TcpStream};

/// What a connection moves its bytes through. The methods mean what
/// [`TcpStream`]'s do; a layer over the stream answers them in plaintext
/// and moves its records in [`Transport::pump`].
///
/// Every byte a transport accepts from `send` or `send_with` is in the TCP
/// send buffer when the call returns (a layer may accept less than asked,
/// and nothing while its own records wait): closing the stream then still
/// delivers all of it, as for the plain stream.
///
/// # Example
///
/// ```
/// use layernet::app::transport::Transport;
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::socket::{TcpListener, TcpStream};
/// use layernet::Duration;
/// fn greet<T: Transport>(t: &mut T, stack: &mut layernet::net::Stack<'_>) -> bool {
///     t.send(stack, b"hi").is_ok()
/// }
/// let (mut net, s, c) = SimNet::pair(1)?;
/// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
/// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
/// net.run_for(Duration::from_millis(10));
/// assert!(greet(&mut out, net.stack(c)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Transport {
    /// Move what the layer has to move without being asked (handshake
    /// records, queued records, a close it owes); true if anything moved.
    /// The plain stream has nothing to do.
    ///
    /// # Errors
    /// A layer that failed for good (a bad record, an alert): the
    /// connection is over.
    ///
    /// ```
    /// use layernet::app::transport::Transport;
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::{TcpListener, TcpStream};
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert_eq!(out.pump(net.stack(c)), Ok(false));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn pump(&mut self, stack: &mut Stack<'_>) -> Result<bool, Error> {
        let _ = stack;
        Ok(false)
    }
    /// As [`TcpStream::send`].
    ///
    /// # Errors
    /// As [`TcpStream::send`].
    ///
    /// ```
    /// # use layernet::app::transport::Transport;
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// # use layernet::socket::{Error, TcpListener, TcpStream};
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert_eq!(Transport::send(&mut out, net.stack(c), b"early"), Err(Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn send(&mut self, stack: &mut Stack<'_>, data: &[u8]) -> Result<usize, Error>;
    /// As [`TcpStream::recv`].
    ///
    /// # Errors
    /// As [`TcpStream::recv`].
    ///
    /// ```
    /// # use layernet::app::transport::Transport;
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// # use layernet::socket::{Error, TcpStream};
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert_eq!(Transport::recv(&mut out, net.stack(c), &mut [0; 4]), Err(Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn recv(&mut self, stack: &mut Stack<'_>, buf: &mut [u8]) -> Result<usize, Error>;
    /// As [`TcpStream::send_with`]: `fill` writes into the free space (of
    /// the send buffer, or of the layer's plaintext buffer).
    ///
    /// # Errors
    /// As [`TcpStream::send_with`].
    ///
    /// ```
    /// # use layernet::app::transport::Transport;
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// # use layernet::socket::{Error, TcpStream};
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert_eq!(Transport::send_with(&mut out, net.stack(c), |_| (0, ())), Err(Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn send_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        fill: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Result<R, Error>;
    /// As [`TcpStream::recv_with`]: `take` reads what came (in plaintext).
    ///
    /// # Errors
    /// As [`TcpStream::recv_with`].
    ///
    /// ```
    /// # use layernet::app::transport::Transport;
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// # use layernet::socket::{Error, TcpStream};
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert_eq!(Transport::recv_with(&mut out, net.stack(c), |d| (d.len(), ())), Err(Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn recv_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        take: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Result<Option<R>, Error>;
    /// As [`TcpStream::can_send`]: some bytes would be taken now.
    ///
    /// ```
    /// # use layernet::app::transport::Transport;
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// # use layernet::socket::TcpStream;
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert!(!Transport::can_send(&out, net.stack(c)), "still connecting");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn can_send(&self, stack: &Stack<'_>) -> bool;
    /// As [`TcpStream::is_open`].
    ///
    /// ```
    /// # use layernet::app::transport::Transport;
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// # use layernet::socket::TcpStream;
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert!(Transport::is_open(&out, net.stack(c)), "SYN-SENT is open");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn is_open(&self, stack: &Stack<'_>) -> bool;
    /// As [`TcpStream::shutdown`]; a layer first sends what it owes (TLS's
    /// close_notify), and the FIN follows it.
    ///
    /// ```
    /// # use layernet::app::transport::Transport;
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// # use layernet::socket::{Error, TcpStream};
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// Transport::shutdown(&mut out, net.stack(c));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn shutdown(&mut self, stack: &mut Stack<'_>);
    /// The stream under the layer, to be closed.
    ///
    /// ```
    /// # use layernet::app::transport::Transport;
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// # use layernet::socket::TcpStream;
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// out.into_stream().close(net.stack(c));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn into_stream(self) -> TcpStream;
}

impl Transport for TcpStream {
    fn send(&mut self, stack: &mut Stack<'_>, data: &[u8]) -> Result<usize, Error> {
        TcpStream::send(self, stack, data)
    }
    fn recv(&mut self, stack: &mut Stack<'_>, buf: &mut [u8]) -> Result<usize, Error> {
        TcpStream::recv(self, stack, buf)
    }
    fn send_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        fill: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Result<R, Error> {
        TcpStream::send_with(self, stack, fill)
    }
    fn recv_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        take: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Result<Option<R>, Error> {
        TcpStream::recv_with(self, stack, take)
    }
    fn can_send(&self, stack: &Stack<'_>) -> bool {
        TcpStream::can_send(self, stack)
    }
    fn is_open(&self, stack: &Stack<'_>) -> bool {
        TcpStream::is_open(self, stack)
    }
    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        TcpStream::shutdown(self, stack);
    }
    fn into_stream(self) -> TcpStream {
        self
    }
}

/// How a server turns an accepted stream into its [`Transport`]: `wrap`
/// for its main listener, `plain` for a plain listener beside it (HTTP on
/// 7878 beside HTTPS on 7443 in one file server).
///
/// # Example
///
/// ```
/// use layernet::app::transport::{Plain, Wrap};
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::socket::TcpStream;
/// let (mut net, s, c) = SimNet::pair(1)?;
/// let tcp = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
/// let same: TcpStream = Plain.wrap(tcp);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Wrap {
    /// The transport of every connection.
    type Stream: Transport;
    /// A stream accepted on the main listener.
    ///
    /// ```
    /// use layernet::app::transport::{Plain, Wrap};
    /// fn takes<W: Wrap>(_: W) {}
    /// takes(Plain);
    /// ```
    fn wrap(&mut self, tcp: TcpStream) -> Self::Stream;
    /// A stream accepted on a plain listener beside it.
    ///
    /// ```
    /// use layernet::app::transport::{Plain, Wrap};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::TcpStream;
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let tcp = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// let _: TcpStream = Plain.plain(tcp);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn plain(&mut self, tcp: TcpStream) -> Self::Stream;
}

/// No layer: every connection is the TCP stream itself.
///
/// ```
/// use layernet::app::transport::Plain;
/// let _ = Plain;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Wrap for Plain {
    type Stream = TcpStream;
    fn wrap(&mut self, tcp: TcpStream) -> TcpStream {
        tcp
    }
    fn plain(&mut self, tcp: TcpStream) -> TcpStream {
        tcp
    }
}
