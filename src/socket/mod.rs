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
//! "given a stack, do this", so the same core serves `embedded_io` later by
//! pairing a stream with a `&mut Stack`.
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

pub mod io;

use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::time::Duration;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress, IpEndpoint};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Packet, Icmpv6Repr};

use crate::net::{Key, PoolError, Stack, Transport};

/// How long a closed connection may take to finish its close before the
/// pool takes its socket back anyway: a peer that never sends its FIN would
/// otherwise hold a FIN-WAIT-2 socket for ever.
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

/// An endpoint as users write one: `192.168.69.1:7`, or `[fd00::1]:7` with
/// an IPv6 address in brackets (as in URLs, RFC 3986), which smoltcp's own
/// `Display` leaves out (`fd00::1:7` reads as an address).
///
/// ```
/// use layernet::{IpEndpoint, Ipv4Address, socket::EndpointText};
/// let v4 = IpEndpoint::new(Ipv4Address::new(192, 168, 69, 1).into(), 7);
/// assert_eq!(EndpointText(v4).to_string(), "192.168.69.1:7");
/// # #[cfg(feature = "ipv6")] {
/// let v6 = IpEndpoint::new("fd00::1".parse::<layernet::Ipv6Address>()?.into(), 7);
/// assert_eq!(EndpointText(v6).to_string(), "[fd00::1]:7");
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointText(pub IpEndpoint);

impl core::fmt::Display for EndpointText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.addr {
            #[cfg(feature = "ipv6")]
            IpAddress::Ipv6(a) => write!(f, "[{a}]:{}", self.0.port),
            #[allow(unreachable_patterns)]
            a => write!(f, "{a}:{}", self.0.port),
        }
    }
}

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

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
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
        })
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

/// A listening TCP port with a backlog: `bind` + `listen` in one.
///
/// # Example
///
/// `s.bind(('', 7)); s.listen(2)`: two clients connect at once, both are
/// accepted:
///
/// ```
/// use layernet::{Duration, host::sim::*, socket::{TcpListener, TcpStream}};
///
/// let (mut net, server, c1) = SimNet::pair(1)?;
/// let c2 = net.add_host()?;
/// let mut listener = TcpListener::bind(net.stack(server), 7, 2)?;
/// let _s1 = TcpStream::connect(net.stack(c1), endpoint(server, 7))?;
/// let _s2 = TcpStream::connect(net.stack(c2), endpoint(server, 7))?;
/// net.run_for(Duration::from_millis(20));
/// let (_, p1) = listener.accept(net.stack(server))?;
/// let (_, p2) = listener.accept(net.stack(server))?;
/// assert_ne!(p1.addr, p2.addr, "one connection from each client");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a dropped listener keeps listening and keeps its backlog's sockets: call `close` (or `stop`)"]
pub struct TcpListener {
    key: Key,
    port: u16,
}

impl TcpListener {
    /// Listen on `port` with a queue of `backlog` sockets, so up to
    /// `backlog` clients can be connecting or waiting for `accept` at once.
    /// Up to [`crate::net::LISTEN_AHEAD`] of them wait in LISTEN; the
    /// stack arms another whenever a SYN finds none listening.
    /// When all are busy a further SYN is dropped (not reset) and the client
    /// retries.
    ///
    /// # Errors
    ///
    /// [`Error::AddrInUse`] if the port is taken, [`Error::InvalidInput`] for
    /// port 0 or a backlog of 0 or over 255, [`Error::NoBufferSpace`] if the
    /// stack serves too many ports already.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::{Error, TcpListener}};
    ///
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let _web = TcpListener::bind(net.stack(a), 80, 2)?;
    /// assert_eq!(TcpListener::bind(net.stack(a), 80, 2).err(), Some(Error::AddrInUse));
    /// assert_eq!(TcpListener::bind(net.stack(a), 81, 0).err(), Some(Error::InvalidInput));
    /// assert_eq!(TcpListener::bind(net.stack(a), 0, 1).err(), Some(Error::InvalidInput));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16, backlog: usize) -> Result<Self, Error> {
        let backlog = u8::try_from(backlog).map_err(|_| Error::InvalidInput)?;
        let key = stack.add_listener(port, backlog)?;
        Ok(TcpListener { key, port })
    }

    /// The next established connection and its peer. Its slot listens again
    /// at once if the pool has a free socket.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] while no connection is ready;
    /// [`Error::InvalidInput`] after [`TcpListener::stop`].
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::{Error, TcpListener, TcpStream};
    /// use layernet::Duration;
    ///
    /// let (mut net, server, client) = SimNet::pair(1)?;
    /// let mut listener = TcpListener::bind(net.stack(server), 7, 2)?;
    /// let _stream = TcpStream::connect(net.stack(client), endpoint(server, 7))?;
    /// assert_eq!(listener.accept(net.stack(server)).err(), Some(Error::WouldBlock));
    /// net.run_for(Duration::from_millis(10)); // ARP, SYN, SYN-ACK, ACK
    /// let (_conn, peer) = listener.accept(net.stack(server))?;
    /// assert_eq!(peer.addr, endpoint(client, 0).addr);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(&mut self, stack: &mut Stack<'_>) -> Result<(TcpStream, IpEndpoint), Error> {
        if !stack.is_listener(self.key) {
            return Err(Error::InvalidInput);
        }
        let (key, peer) = stack.take_accepted(self.key).ok_or(Error::WouldBlock)?;
        Ok((TcpStream { key }, peer))
    }

    /// The port listened on (`getsockname`).
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::TcpListener};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let listener = TcpListener::bind(net.stack(a), 8080, 4)?;
    /// assert_eq!(listener.local_port(), 8080);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.port
    }

    /// Stop listening; connections not yet accepted are reset, and a later
    /// connection request gets a reset too.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*};
    /// use layernet::socket::{Error, TcpListener, TcpStream};
    ///
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// TcpListener::bind(net.stack(s), 7, 1)?.close(net.stack(s));
    /// let mut late = TcpStream::connect(net.stack(c), endpoint(s, 7))?;
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(late.poll_connect(net.stack(c)), Err(Error::Refused));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(mut self, stack: &mut Stack<'_>) {
        self.stop(stack);
    }

    /// Stop listening but keep the value (for a server that shuts down in
    /// place); `accept` then fails with [`Error::InvalidInput`]. The port is
    /// free for a new listener once the stack has been polled (the pool
    /// takes its sockets back there).
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::{Error, TcpListener}};
    ///
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut old = TcpListener::bind(net.stack(a), 25, 1)?;
    /// old.stop(net.stack(a));
    /// assert_eq!(old.accept(net.stack(a)).err(), Some(Error::InvalidInput));
    /// net.poll(a, layernet::Instant::ZERO);
    /// assert!(TcpListener::bind(net.stack(a), 25, 1).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop(&mut self, stack: &mut Stack<'_>) {
        stack.remove_listener(self.key);
    }
}

/// A TCP connection, accepted or connected.
///
/// It names its pooled socket by place and generation. Once the stack takes
/// the socket back ([`Stack::abort_all_tcp`](crate::net::Stack::abort_all_tcp))
/// the value is stale: the calls that return a `Result` fail with
/// [`Error::Aborted`], the others read as a closed socket or do nothing, and
/// none reaches the connection that takes the slot next.
///
/// # Example
///
/// An echo round trip: the client sends, the server sends the bytes back:
///
/// ```
/// use layernet::{Duration, host::sim::*, socket::*};
///
/// let (mut net, s, c) = SimNet::pair(1)?;
/// let mut listener = TcpListener::bind(net.stack(s), 7, 1)?;
/// let mut client = TcpStream::connect(net.stack(c), endpoint(s, 7))?;
/// net.run_for(Duration::from_millis(10));
/// let (mut server, _) = listener.accept(net.stack(s))?;
/// client.send(net.stack(c), b"echo me")?;
/// net.run_for(Duration::from_millis(10));
/// let mut buf = [0u8; 32];
/// let n = server.recv(net.stack(s), &mut buf)?;
/// server.send(net.stack(s), &buf[..n])?;
/// net.run_for(Duration::from_millis(10));
/// assert_eq!(client.recv(net.stack(c), &mut buf)?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a dropped stream keeps its pool socket for good: call `close` or `abort`"]
pub struct TcpStream {
    key: Key,
}

impl TcpStream {
    /// Start connecting to `remote` from an ephemeral port; the handshake
    /// runs as the stack is polled. See [`TcpStream::poll_connect`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for port 0 or an unspecified address,
    /// [`Error::NoBufferSpace`] when the pool has no free socket,
    /// [`Error::AddrInUse`] when no ephemeral port is free.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, net::EPHEMERAL_FIRST, socket::{Error, TcpListener, TcpStream}};
    ///
    /// let (mut net, server, client) = SimNet::pair(1)?;
    /// let _l = TcpListener::bind(net.stack(server), 22, 1)?;
    /// let no_port = TcpStream::connect(net.stack(client), endpoint(server, 0));
    /// assert_eq!(no_port.err(), Some(Error::InvalidInput));
    /// let mut ssh = TcpStream::connect(net.stack(client), endpoint(server, 22))?;
    /// net.run_for(Duration::from_millis(10));
    /// ssh.poll_connect(net.stack(client))?;
    /// assert!(ssh.local_addr(net.stack(client)).is_some_and(|me| me.port >= EPHEMERAL_FIRST));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect(stack: &mut Stack<'_>, remote: IpEndpoint) -> Result<Self, Error> {
        if remote.port == 0 || remote.addr.is_unspecified() {
            return Err(Error::InvalidInput);
        }
        let port = stack.ephemeral_port(false).ok_or(Error::AddrInUse)?;
        let key = stack.take_free_tcp().ok_or(Error::NoBufferSpace)?;
        let Some((socket, cx)) = stack.tcp_socket_and_context(key) else {
            return Err(Error::NoBufferSpace);
        };
        if socket.connect(cx, remote, port).is_err() {
            stack.release_tcp(key);
            return Err(Error::InvalidInput);
        }
        if let Some(entry) = stack.tcp_entry(key) {
            entry.service = remote.port;
        }
        stack.count_app(Transport::Tcp, remote.port, 1, 0, 0);
        Ok(TcpStream { key })
    }

    /// Whether the handshake begun by [`TcpStream::connect`] is done: `Ok`
    /// once it is (and from then on).
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] while it runs; [`Error::Refused`] if the peer
    /// reset it (nobody listens on that port) or it timed out.
    ///
    /// A connection to a port nobody listens on is refused (the peer's RST):
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{Error, TcpStream}};
    ///
    /// let (mut net, _server, client) = SimNet::pair(1)?;
    /// let mut s = TcpStream::connect(net.stack(client), endpoint(0, 4444))?;
    /// assert_eq!(s.poll_connect(net.stack(client)), Err(Error::WouldBlock));
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(s.poll_connect(net.stack(client)), Err(Error::Refused));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_connect(&mut self, stack: &mut Stack<'_>) -> Result<(), Error> {
        self.live(stack)?;
        let state = self.state(stack);
        match state {
            tcp::State::SynSent | tcp::State::SynReceived => Err(Error::WouldBlock),
            tcp::State::Closed | tcp::State::Listen => Err(self.send_closed_error(stack)),
            _ => {
                if let Some(e) = stack.tcp_entry(self.key) {
                    e.established = true;
                }
                Ok(())
            }
        }
    }

    /// `Err(Aborted)` once the stack took the socket back: the handle is
    /// stale, and its slot may serve another connection by now.
    fn live(&self, stack: &Stack<'_>) -> Result<(), Error> {
        if stack.tcp_live(self.key) {
            Ok(())
        } else {
            Err(Error::Aborted)
        }
    }

    fn state(&self, stack: &Stack<'_>) -> tcp::State {
        stack
            .tcp_socket_ref(self.key)
            .map_or(tcp::State::Closed, |s| s.state())
    }

    /// Whether this stream's state lets it queue data: `WouldBlock` while
    /// the handshake runs, the closed stream's error after it.
    fn may_send_now(&self, stack: &mut Stack<'_>) -> Result<(), Error> {
        match self.state(stack) {
            tcp::State::SynSent | tcp::State::SynReceived => Err(Error::WouldBlock),
            tcp::State::Closed | tcp::State::Listen | tcp::State::TimeWait => {
                Err(self.send_closed_error(stack))
            }
            _ => Ok(()),
        }
    }

    /// What sending on a stream in CLOSED or TIME-WAIT means: our own
    /// shutdown (EPIPE), a reset, or a connection that never came about.
    fn send_closed_error(&self, stack: &mut Stack<'_>) -> Error {
        match stack.tcp_entry(self.key) {
            Some(e) if e.shut => Error::Closed,
            Some(e) if e.established => Error::Reset,
            _ => Error::Refused,
        }
    }

    /// What receiving on a stream in CLOSED means: end of file if the
    /// peer's FIN was read, else a reset or a refusal.
    fn recv_closed(&self, stack: &mut Stack<'_>) -> Result<usize, Error> {
        match stack.tcp_entry(self.key) {
            Some(e) if e.eof => Ok(0),
            Some(e) if e.established => Err(Error::Reset),
            _ => Err(Error::Refused),
        }
    }

    fn mark_eof(&self, stack: &mut Stack<'_>) -> Result<usize, Error> {
        if let Some(e) = stack.tcp_entry(self.key) {
            e.eof = true;
        }
        Ok(0)
    }

    /// Queue as much of `data` as fits in the socket's send buffer and
    /// return how much that was (possibly less than `data.len()`, as a
    /// Berkeley `send` may).
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] when nothing fits (or the handshake still runs);
    /// [`Error::Closed`] after our own shutdown (EPIPE); [`Error::Reset`];
    /// [`Error::Refused`] for a connection that never came about.
    ///
    /// A host-sized socket takes 8 KiB, then is full until the peer acknowledges:
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{Error, TcpListener as L, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let _l = L::bind(net.stack(s), 9, 1)?;
    /// let mut bulk = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(bulk.send(net.stack(c), &[7; 20_000])?, 8192);
    /// assert_eq!(bulk.send(net.stack(c), b"more"), Err(Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(&mut self, stack: &mut Stack<'_>, data: &[u8]) -> Result<usize, Error> {
        self.live(stack)?;
        self.may_send_now(stack)?;
        let socket = stack.tcp_socket(self.key).ok_or(Error::NotConnected)?;
        match socket.send_slice(data) {
            Ok(0) if !data.is_empty() => Err(Error::WouldBlock),
            Ok(n) => {
                stack.count_tcp(self.key, 0, n);
                Ok(n)
            }
            Err(tcp::SendError::InvalidState) => Err(Error::Closed),
        }
    }

    /// Copy received bytes into `buf` and return how many. `Ok(0)` means the
    /// peer closed its sending half and everything was read (end of file), or
    /// `buf` is empty.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] while nothing is there yet; [`Error::Reset`] if
    /// the peer reset the connection; [`Error::Refused`] if it never came
    /// about.
    ///
    /// The data, then end of file once the peer has shut down:
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(2)?;
    /// let mut greeter = TcpListener::bind(net.stack(s), 17, 1)?;
    /// let mut reader = TcpStream::connect(net.stack(c), endpoint(s, 17))?;
    /// net.run_for(Duration::from_millis(10));
    /// let (mut conn, _) = greeter.accept(net.stack(s))?;
    /// conn.send(net.stack(s), b"bye")?;
    /// conn.shutdown(net.stack(s));
    /// net.run_for(Duration::from_millis(10));
    /// let mut buf = [0u8; 8];
    /// assert_eq!(reader.recv(net.stack(c), &mut buf)?, 3);
    /// assert_eq!(reader.recv(net.stack(c), &mut buf)?, 0, "end of file");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv(&mut self, stack: &mut Stack<'_>, buf: &mut [u8]) -> Result<usize, Error> {
        self.live(stack)?;
        if buf.is_empty() {
            return Ok(0);
        }
        let state = self.state(stack);
        let socket = stack.tcp_socket(self.key).ok_or(Error::NotConnected)?;
        match socket.recv_slice(buf) {
            Ok(0) => match state {
                tcp::State::SynSent | tcp::State::SynReceived => Err(Error::WouldBlock),
                _ if socket.may_recv() => Err(Error::WouldBlock),
                tcp::State::Closed => self.recv_closed(stack),
                _ => self.mark_eof(stack),
            },
            Ok(n) => {
                stack.count_tcp(self.key, n, 0);
                Ok(n)
            }
            Err(tcp::RecvError::Finished) => self.mark_eof(stack),
            Err(tcp::RecvError::InvalidState) => match state {
                tcp::State::SynSent | tcp::State::SynReceived => Err(Error::WouldBlock),
                // The peer's FIN came and both closes finished: end of file.
                tcp::State::TimeWait | tcp::State::LastAck | tcp::State::CloseWait => {
                    self.mark_eof(stack)
                }
                _ => self.recv_closed(stack),
            },
        }
    }

    /// Let `fill` write straight into the free part of the send buffer: it
    /// gets the largest contiguous free slice (the buffer is a ring, so a
    /// second call may find more at its start) and returns how many bytes
    /// it wrote there, and a value handed back. Nothing is staged in
    /// between: a file server reads from storage into this slice.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::send`]: [`Error::WouldBlock`] when the buffer is full
    /// (then `fill` is not called) or the handshake still runs.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(1)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// let offered = out.send_with(net.stack(c), |free| {
    ///     free[..5].copy_from_slice(b"hello");
    ///     (5, free.len())
    /// })?;
    /// assert_eq!((offered, out.send_queue(net.stack(c))), (8192, 5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        fill: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Result<R, Error> {
        self.live(stack)?;
        self.may_send_now(stack)?;
        let socket = stack.tcp_socket(self.key).ok_or(Error::NotConnected)?;
        if socket.send_queue() >= socket.send_capacity() {
            return Err(Error::WouldBlock);
        }
        match socket.send(|free| {
            let (n, r) = fill(free);
            // A closure that claims more than it was given is a bug; cap it
            // rather than let smoltcp panic.
            let n = n.min(free.len());
            (n, (n, r))
        }) {
            Ok((n, r)) => {
                stack.count_tcp(self.key, 0, n);
                Ok(r)
            }
            Err(tcp::SendError::InvalidState) => Err(Error::Closed),
        }
    }

    /// Let `take` read straight from the receive buffer: it gets the
    /// received bytes (the largest contiguous run; a second call may find
    /// more) and returns how many it consumed, and a value handed back.
    /// `Ok(None)` is end of file: the peer closed its sending half and
    /// everything was read.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::recv`]: [`Error::WouldBlock`] while nothing is there
    /// (then `take` is not called), [`Error::Reset`], [`Error::Refused`].
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(2)?;
    /// let mut l = TcpListener::bind(net.stack(s), 17, 1)?;
    /// let mut client = TcpStream::connect(net.stack(c), endpoint(s, 17))?;
    /// net.run_for(Duration::from_millis(10));
    /// let (mut conn, _) = l.accept(net.stack(s))?;
    /// client.send(net.stack(c), b"line one\nrest")?;
    /// client.shutdown(net.stack(c));
    /// net.run_for(Duration::from_millis(10));
    /// // Consume up to the newline only; the rest stays queued.
    /// let line = conn.recv_with(net.stack(s), |data| {
    ///     let n = data.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    ///     (n, data[..n].to_vec())
    /// })?;
    /// assert_eq!(line.as_deref(), Some(&b"line one\n"[..]));
    /// assert_eq!(conn.recv_queue(net.stack(s)), 4);
    /// assert!(conn.recv_with(net.stack(s), |d| (d.len(), ()))?.is_some());
    /// assert_eq!(conn.recv_with(net.stack(s), |d| (d.len(), ()))?, None, "end of file");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        take: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Result<Option<R>, Error> {
        self.live(stack)?;
        let socket = stack.tcp_socket(self.key).ok_or(Error::NotConnected)?;
        if socket.recv_queue() > 0
            && let Ok((n, r)) = socket.recv(|data| {
                let (n, r) = take(data);
                let n = n.min(data.len());
                (n, (n, r))
            })
        {
            stack.count_tcp(self.key, n, 0);
            return Ok(Some(r));
        }
        // Nothing queued: the answer is what `recv` says of an empty buffer
        // (it consumes nothing here), so both calls agree on EOF and errors.
        match self.recv(stack, &mut [0u8; 1]) {
            Ok(0) => Ok(None),
            Ok(_) => Err(Error::WouldBlock),
            Err(e) => Err(e),
        }
    }

    /// Bytes queued but not yet acknowledged by the peer.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(3)?;
    /// let _sink = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// out.send(net.stack(c), b"12345")?;
    /// assert_eq!(out.send_queue(net.stack(c)), 5);
    /// net.run_for(Duration::from_millis(50));
    /// assert_eq!(out.send_queue(net.stack(c)), 0, "acknowledged");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_queue(&self, stack: &Stack<'_>) -> usize {
        stack.tcp_socket_ref(self.key).map_or(0, |s| s.send_queue())
    }

    /// Bytes received and waiting to be read.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(4)?;
    /// let mut l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// let (inbox, _) = l.accept(net.stack(s))?;
    /// assert_eq!(inbox.recv_queue(net.stack(s)), 0);
    /// out.send(net.stack(c), b"abc")?;
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(inbox.recv_queue(net.stack(s)), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_queue(&self, stack: &Stack<'_>) -> usize {
        stack.tcp_socket_ref(self.key).map_or(0, |s| s.recv_queue())
    }

    /// True if some data fits in the send buffer now (false while the
    /// handshake runs and while the buffer is full).
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(5)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut w = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert!(!w.can_send(net.stack(c)), "still connecting");
    /// net.run_for(Duration::from_millis(10));
    /// assert!(w.can_send(net.stack(c)));
    /// w.send(net.stack(c), &[0; 10_000])?;
    /// assert!(!w.can_send(net.stack(c)), "full");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn can_send(&self, stack: &Stack<'_>) -> bool {
        stack.tcp_socket_ref(self.key).is_some_and(|s| s.can_send())
    }

    /// True while the peer may still send (its FIN has not arrived).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::*};
    ///
    /// let (mut net, s, c) = SimNet::pair(6)?;
    /// let mut l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let talker = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// let (ear, _) = l.accept(net.stack(s))?;
    /// assert!(ear.may_recv(net.stack(s)));
    /// talker.close(net.stack(c));
    /// net.run_for(Duration::from_millis(10));
    /// assert!(!ear.may_recv(net.stack(s)), "the FIN came");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn may_recv(&self, stack: &Stack<'_>) -> bool {
        stack.tcp_socket_ref(self.key).is_some_and(|s| s.may_recv())
    }

    /// True while both halves may still carry data or the peer may still send
    /// (from the first SYN on, until the connection is over).
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, host::sim::endpoint, socket::TcpStream};
    ///
    /// let (mut net, _, c) = SimNet::pair(7)?;
    /// let attempt = TcpStream::connect(net.stack(c), endpoint(0, 81))?;
    /// assert!(attempt.is_open(net.stack(c)), "SYN-SENT is open");
    /// net.run_for(Duration::from_millis(10));
    /// assert!(!attempt.is_open(net.stack(c)), "refused: closed");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_open(&self, stack: &Stack<'_>) -> bool {
        stack.tcp_socket_ref(self.key).is_some_and(|s| s.is_open())
    }

    /// Send FIN after the queued data: no more sending, receiving goes on
    /// (`shutdown(SHUT_WR)`).
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::*};
    ///
    /// let (mut net, s, c) = SimNet::pair(8)?;
    /// let mut l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut half = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// half.shutdown(net.stack(c));
    /// assert_eq!(half.send(net.stack(c), b"x"), Err(Error::Closed));
    /// let (mut other, _) = l.accept(net.stack(s))?;
    /// other.send(net.stack(s), b"still heard")?;
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(half.recv(net.stack(c), &mut [0; 32])?, 11);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&mut self, stack: &mut Stack<'_>) {
        if let Some(s) = stack.tcp_socket(self.key) {
            s.close();
        }
        if let Some(e) = stack.tcp_entry(self.key) {
            e.shut = true;
        }
    }

    /// Close gracefully: queued data is still delivered, then FIN. The
    /// socket returns to the pool once the close has finished (at most
    /// [`CLOSE_TIMEOUT`] later).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(9)?;
    /// let mut l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut last = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// last.send(net.stack(c), b"last words")?;
    /// last.close(net.stack(c));
    /// net.run_for(Duration::from_millis(10));
    /// let (mut got, _) = l.accept(net.stack(s))?;
    /// let mut buf = [0u8; 16];
    /// assert_eq!(got.recv(net.stack(s), &mut buf)?, 10);
    /// assert_eq!(got.recv(net.stack(s), &mut buf)?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self, stack: &mut Stack<'_>) {
        if let Some(s) = stack.tcp_socket(self.key) {
            s.close();
            if s.timeout().is_none() {
                s.set_timeout(Some(CLOSE_TIMEOUT));
            }
        }
        stack.release_tcp(self.key);
    }

    /// Reset the connection at once (RST) and return the socket to the pool.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{Error, TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(10)?;
    /// let mut l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let rude = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// let (mut victim, _) = l.accept(net.stack(s))?;
    /// rude.abort(net.stack(c));
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(victim.recv(net.stack(s), &mut [0; 8]), Err(Error::Reset));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abort(self, stack: &mut Stack<'_>) {
        if let Some(s) = stack.tcp_socket(self.key) {
            s.abort();
        }
        stack.release_tcp(self.key);
    }

    /// Our address and port (`getsockname`).
    ///
    /// # Errors
    ///
    /// `None` once the connection is over (refused, reset or closed).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(11)?;
    /// let mut l = TcpListener::bind(net.stack(s), 8000, 1)?;
    /// let _dial = TcpStream::connect(net.stack(c), endpoint(s, 8000))?;
    /// net.run_for(Duration::from_millis(10));
    /// let (answered, _) = l.accept(net.stack(s))?;
    /// assert_eq!(answered.local_addr(net.stack(s)), Some(endpoint(s, 8000)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self, stack: &Stack<'_>) -> Option<IpEndpoint> {
        stack.tcp_socket_ref(self.key)?.local_endpoint()
    }

    /// The peer's address and port (`getpeername`).
    ///
    /// # Errors
    ///
    /// `None` once the connection is over (refused, reset or closed).
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::TcpStream};
    ///
    /// let (mut net, _, c) = SimNet::pair(12)?;
    /// let s = TcpStream::connect(net.stack(c), endpoint(0, 443))?;
    /// assert_eq!(s.peer_addr(net.stack(c)), Some(endpoint(0, 443)));
    /// net.run_for(Duration::from_millis(10)); // nobody listens: refused
    /// assert_eq!(s.peer_addr(net.stack(c)), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_addr(&self, stack: &Stack<'_>) -> Option<IpEndpoint> {
        stack.tcp_socket_ref(self.key)?.remote_endpoint()
    }

    /// `TCP_NODELAY`: true sends small segments at once (Nagle off); false
    /// (the default) holds a small segment back while earlier data is
    /// unacknowledged.
    ///
    /// ```
    /// use layernet::{Duration, Instant, host::sim::*, socket::*};
    ///
    /// let (mut net, s, c) = SimNet::pair(13)?;
    /// let _l = TcpListener::bind(net.stack(s), 23, 1)?;
    /// let mut keys = TcpStream::connect(net.stack(c), endpoint(s, 23))?;
    /// net.run_for(Duration::from_millis(10));
    /// keys.set_nodelay(net.stack(c), true);
    /// for key in [b"l", b"s"] {
    ///     keys.send(net.stack(c), key)?;
    ///     net.poll(c, Instant::from_millis(10));
    /// }
    /// assert_eq!(net.segment().census().tcp_payload_bytes, 2, "both left at once");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_nodelay(&mut self, stack: &mut Stack<'_>, nodelay: bool) {
        if let Some(s) = stack.tcp_socket(self.key) {
            s.set_nagle_enabled(!nodelay);
        }
    }

    /// `SO_KEEPALIVE` with its interval (smoltcp sends a probe after this
    /// much idle time); `None` turns it off (the default).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(14)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut idle = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// idle.set_keepalive(net.stack(c), Some(Duration::from_secs(1)));
    /// let quiet = net.segment().census().tcp_segments;
    /// net.run_for(Duration::from_secs(5));
    /// assert!(net.segment().census().tcp_segments >= quiet + 4, "probes and their ACKs");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_keepalive(&mut self, stack: &mut Stack<'_>, interval: Option<Duration>) {
        if let Some(s) = stack.tcp_socket(self.key) {
            s.set_keep_alive(interval);
        }
    }

    /// Abort the connection when the peer stays silent this long (smoltcp's
    /// socket timeout; the blocking layer's per-call timeouts are separate).
    /// `None` (the default for a connected stream) waits for ever.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, link::sim::Faults, socket::*};
    ///
    /// let (mut net, s, c) = SimNet::pair(15)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut t = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// t.poll_connect(net.stack(c))?;
    /// t.set_timeout(net.stack(c), Some(Duration::from_secs(2)));
    /// net.set_faults(Faults::loss(100)); // the peer goes silent
    /// t.send(net.stack(c), b"anyone?")?;
    /// net.run_for(Duration::from_secs(3));
    /// assert_eq!(t.send(net.stack(c), b"?"), Err(Error::Reset));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_timeout(&mut self, stack: &mut Stack<'_>, timeout: Option<Duration>) {
        if let Some(s) = stack.tcp_socket(self.key) {
            s.set_timeout(timeout);
        }
    }

    /// `getsockopt(TCP_NODELAY)`: true when small segments go out at once
    /// (Nagle's algorithm off). A stream starts with Nagle on, as a
    /// Berkeley socket does.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::TcpStream;
    ///
    /// let (mut net, _, client) = SimNet::pair(2)?;
    /// let mut s = TcpStream::connect(net.stack(client), endpoint(0, 7))?;
    /// assert!(!s.nodelay(net.stack(client)));
    /// s.set_nodelay(net.stack(client), true);
    /// assert!(s.nodelay(net.stack(client)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn nodelay(&self, stack: &Stack<'_>) -> bool {
        self.read_socket(stack, false, |s| !s.nagle_enabled())
    }

    /// `getsockopt(SO_KEEPALIVE)`: the keep-alive interval, `None` when off
    /// (the default).
    ///
    /// ```
    /// # let (mut net, _, b) = layernet::host::sim::SimNet::pair(3)?;
    /// let to = layernet::host::sim::endpoint(0, 80);
    /// let mut s = layernet::socket::TcpStream::connect(net.stack(b), to)?;
    /// let minute = Some(layernet::Duration::from_secs(60));
    /// s.set_keepalive(net.stack(b), minute);
    /// assert_eq!(s.keepalive(net.stack(b)), minute);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keepalive(&self, stack: &Stack<'_>) -> Option<Duration> {
        stack.tcp_socket_ref(self.key)?.keep_alive()
    }

    /// The silence after which smoltcp aborts the connection (see
    /// [`TcpStream::set_timeout`]); `None` when it waits for ever. Not
    /// Python's `gettimeout`: the core never blocks, so it has no per-call
    /// timeout.
    ///
    /// ```
    /// # use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::TcpStream};
    /// # let (mut net, _, host) = SimNet::pair(4)?;
    /// let mut stream = TcpStream::connect(net.stack(host), endpoint(0, 21))?;
    /// assert_eq!(stream.timeout(net.stack(host)), None);
    /// stream.set_timeout(net.stack(host), Some(Duration::from_secs(5)));
    /// assert_eq!(stream.timeout(net.stack(host)), Some(Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(&self, stack: &Stack<'_>) -> Option<Duration> {
        stack.tcp_socket_ref(self.key)?.timeout()
    }

    /// `getsockopt(SO_RCVBUF)`: the receive buffer's size in bytes, fixed
    /// when the stack's [`Resources`](crate::net::Resources) were declared
    /// (there is no `setsockopt(SO_RCVBUF)`: the memory is laid out at
    /// build time). It bounds the window the peer may fill.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, _, c) = SimNet::pair(5)?;
    /// let s = layernet::socket::TcpStream::connect(net.stack(c), endpoint(0, 9))?;
    /// // The simulated hosts use `net::profile::Host`: 8 KiB each way.
    /// assert_eq!(s.recv_capacity(net.stack(c)), 8192);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_capacity(&self, stack: &Stack<'_>) -> usize {
        self.read_socket(stack, 0, tcp::Socket::recv_capacity)
    }

    /// `getsockopt(SO_SNDBUF)`: the send buffer's size in bytes, fixed
    /// like [`TcpStream::recv_capacity`]. [`TcpStream::send`] accepts at most
    /// this much that is not yet acknowledged.
    ///
    /// ```
    /// # use layernet::host::sim::*;
    /// let (mut net, _s, c) = SimNet::pair(6)?;
    /// let s = layernet::socket::TcpStream::connect(net.stack(c), endpoint(0, 9))?;
    /// // Both sizes come from the one `BUF` parameter of `Resources`.
    /// assert_eq!(s.send_capacity(net.stack(c)), s.recv_capacity(net.stack(c)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_capacity(&self, stack: &Stack<'_>) -> usize {
        self.read_socket(stack, 0, tcp::Socket::send_capacity)
    }

    /// What stands for `fileno()` on a stack without file descriptors: the
    /// stream's slot in its stack's TCP pool, `0..T` for a stack of
    /// [`Resources`](crate::net::Resources)`<_, T, _, _>`. No two live
    /// streams of one stack share a slot, so it can index a per-connection
    /// table; after [`TcpStream::close`] the slot may serve another stream.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::TcpStream;
    ///
    /// let (mut net, _, me) = SimNet::pair(7)?;
    /// let one = TcpStream::connect(net.stack(me), endpoint(0, 1000))?;
    /// let two = TcpStream::connect(net.stack(me), endpoint(0, 1001))?;
    /// assert_ne!(one.slot(), two.slot());
    /// assert!(two.slot() < 24); // `profile::Host` has 24 TCP sockets
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slot(&self) -> usize {
        self.key.index
    }

    /// `read` applied to the stream's smoltcp socket, or `default` if its
    /// slot is gone.
    fn read_socket<'a, T>(
        &self,
        stack: &Stack<'a>,
        default: T,
        read: impl FnOnce(&tcp::Socket<'a>) -> T,
    ) -> T {
        stack.tcp_socket_ref(self.key).map_or(default, read)
    }
}

/// A bound UDP socket.
///
/// # Example
///
/// A datagram echo: the server answers whoever wrote, at the address
/// `recv_from` gave:
///
/// ```
/// use layernet::{Duration, host::sim::*, socket::UdpSocket};
///
/// let (mut net, srv, cli) = SimNet::pair(1)?;
/// let mut server = UdpSocket::bind(net.stack(srv), 7)?;
/// let mut client = UdpSocket::bind(net.stack(cli), 0)?;
/// client.send_to(net.stack(cli), b"ping", endpoint(srv, 7))?;
/// net.run_for(Duration::from_millis(10));
/// let mut buf = [0u8; 64];
/// let (n, from) = server.recv_from(net.stack(srv), &mut buf)?;
/// server.send_to(net.stack(srv), &buf[..n], from)?;
/// net.run_for(Duration::from_millis(10));
/// assert_eq!(client.recv_from(net.stack(cli), &mut buf)?, (4, endpoint(srv, 7)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a dropped UDP socket keeps its pool socket and port: call `close`"]
pub struct UdpSocket {
    key: Key,
    port: u16,
}

impl UdpSocket {
    /// Bind `port` (0: an ephemeral port).
    ///
    /// # Errors
    ///
    /// [`Error::AddrInUse`] if another UDP socket of this stack has the port
    /// (or, for 0, no ephemeral port is free); [`Error::NoBufferSpace`] when
    /// the pool has no free UDP socket.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::{Error, UdpSocket}};
    ///
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let _dns = UdpSocket::bind(net.stack(a), 53)?;
    /// assert_eq!(UdpSocket::bind(net.stack(a), 53).err(), Some(Error::AddrInUse));
    /// let mut more = Vec::new();
    /// while let Ok(socket) = UdpSocket::bind(net.stack(a), 0) {
    ///     more.push(socket);
    /// }
    /// assert_eq!(more.len(), 3, "a host-sized stack has 4 UDP sockets");
    /// let err = UdpSocket::bind(net.stack(a), 0).err();
    /// assert_eq!(err, Some(Error::NoBufferSpace));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16) -> Result<Self, Error> {
        let port = match port {
            0 => stack.ephemeral_port(true).ok_or(Error::AddrInUse)?,
            p => p,
        };
        let key = stack.take_udp(port)?;
        Ok(UdpSocket { key, port })
    }

    /// The bound port (`getsockname`); for `bind(0)`, the port chosen.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::UdpSocket};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let (fixed, any) = (UdpSocket::bind(net.stack(a), 69)?, UdpSocket::bind(net.stack(a), 0)?);
    /// assert_eq!(fixed.local_port(), 69);
    /// assert_ne!(any.local_port(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.port
    }

    /// Queue one datagram to `to` (`sendto`); it leaves when the stack is
    /// polled.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] when the send queue is full;
    /// [`Error::NoBufferSpace`] when the datagram can never fit;
    /// [`Error::InvalidInput`] for port 0 or an unspecified address.
    ///
    /// `sendto` and `recvfrom`, as in the classic UDP chat:
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{Error, UdpSocket}};
    ///
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let mut sa = UdpSocket::bind(net.stack(a), 6868)?;
    /// let mut sb = UdpSocket::bind(net.stack(b), 6868)?;
    /// sa.send_to(net.stack(a), b"hi", endpoint(b, 6868))?;
    /// let huge = sa.send_to(net.stack(a), &[0; 9000], endpoint(b, 6868));
    /// assert_eq!(huge, Err(Error::NoBufferSpace), "larger than the 8 KiB buffer");
    /// net.run_for(Duration::from_millis(10));
    /// let mut buf = [0u8; 64];
    /// let (n, from) = sb.recv_from(net.stack(b), &mut buf)?;
    /// assert_eq!((&buf[..n], from), (&b"hi"[..], endpoint(a, 6868)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_to(
        &mut self,
        stack: &mut Stack<'_>,
        data: &[u8],
        to: IpEndpoint,
    ) -> Result<(), Error> {
        if to.port == 0 || to.addr.is_unspecified() {
            return Err(Error::InvalidInput);
        }
        let socket = stack.udp_socket(self.key).ok_or(Error::NotConnected)?;
        if data.len() > socket.payload_send_capacity() {
            return Err(Error::NoBufferSpace);
        }
        let local = socket.endpoint().port;
        match socket.send_slice(data, to) {
            Ok(()) => {
                stack.count_app(
                    Transport::Udp,
                    service_port(local, to.port),
                    0,
                    0,
                    data.len(),
                );
                Ok(())
            }
            Err(udp::SendError::BufferFull) => Err(Error::WouldBlock),
            Err(udp::SendError::Unaddressable) => Err(Error::InvalidInput),
        }
    }

    /// The next datagram (`recvfrom`): the bytes copied into `buf` and the
    /// sender. A datagram longer than `buf` is cut and its tail lost, as with
    /// Python's `recvfrom(bufsize)`.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] when no datagram is waiting;
    /// [`Error::Truncated`] if smoltcp reports one it had to cut.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{Error, UdpSocket}};
    ///
    /// let (mut net, a, b) = SimNet::pair(2)?;
    /// let mut rx = UdpSocket::bind(net.stack(b), 514)?;
    /// let mut tx = UdpSocket::bind(net.stack(a), 0)?;
    /// tx.send_to(net.stack(a), b"a long log line", endpoint(b, 514))?;
    /// net.run_for(Duration::from_millis(10));
    /// let mut small = [0u8; 6];
    /// assert_eq!(rx.recv_from(net.stack(b), &mut small)?.0, 6);
    /// assert_eq!(&small, b"a long");
    /// let next = rx.recv_from(net.stack(b), &mut small);
    /// assert_eq!(next, Err(Error::WouldBlock), "the tail is gone");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_from(
        &mut self,
        stack: &mut Stack<'_>,
        buf: &mut [u8],
    ) -> Result<(usize, IpEndpoint), Error> {
        let socket = stack.udp_socket(self.key).ok_or(Error::NotConnected)?;
        match socket.recv() {
            Ok((data, meta)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                let local = socket.endpoint().port;
                let from = meta.endpoint;
                stack.count_app(Transport::Udp, service_port(local, from.port), 0, n, 0);
                Ok((n, from))
            }
            Err(udp::RecvError::Exhausted) => Err(Error::WouldBlock),
            Err(udp::RecvError::Truncated) => Err(Error::Truncated),
        }
    }

    /// Unbind and return the socket to the pool; the port can be bound again
    /// at once.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::UdpSocket};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let first = UdpSocket::bind(net.stack(a), 5353)?;
    /// first.close(net.stack(a));
    /// assert_eq!(UdpSocket::bind(net.stack(a), 5353)?.local_port(), 5353);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self, stack: &mut Stack<'_>) {
        stack.release_udp(self.key);
    }

    /// What stands for `fileno()`: the socket's slot in its stack's UDP
    /// pool, `0..U` for [`Resources`](crate::net::Resources)`<_, _, U, _>`
    /// (a numbering apart from the TCP pool's [`TcpStream::slot`]).
    ///
    /// ```
    /// let (mut net, a, _) = layernet::host::sim::SimNet::pair(8)?;
    /// let first = layernet::socket::UdpSocket::bind(net.stack(a), 5353)?;
    /// let second = layernet::socket::UdpSocket::bind(net.stack(a), 0)?;
    /// assert_ne!(first.slot(), second.slot());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slot(&self) -> usize {
        self.key.index
    }
}

/// The port that names a datagram's service: ours if we bound a
/// well-known one (a server), else the peer's (a client on an ephemeral
/// port).
fn service_port(local: u16, peer: u16) -> u16 {
    if local < crate::net::EPHEMERAL_FIRST {
        local
    } else {
        peer
    }
}

/// ICMP echo ("ping") through the stack's one ICMP socket.
///
/// Any number of pings can share a stack. smoltcp binds an ICMP socket to
/// one echo identifier, so every ping of a stack sends with the identifier
/// of the first one used, and each ping sends its sequence numbers shifted
/// into a range of its own (the first ping's are unshifted, what `send` was
/// given). A ping claims a reply by the sequence numbers of its
/// [`PING_WINDOW`] latest requests; a reply one ping reads for another waits
/// in the stack until that one asks.
///
/// # Example
///
/// A round trip on a wire with 5 ms of latency takes 20 ms: ARP request
/// and reply, echo request and reply:
///
/// ```
/// use layernet::{Duration, host::sim::*, link::sim::Faults, socket::Ping};
///
/// let mut net = SimNet::new(1, Faults { delay: Duration::from_millis(5), ..Faults::NONE });
/// let (a, b) = (net.add_host()?, net.add_host()?);
/// let mut ping = Ping::new(net.stack(a));
/// ping.send(net.stack(a), host_ip(b).address(), 1, b"abcdefgh")?;
/// net.run_for(Duration::from_millis(19));
/// assert!(ping.recv(net.stack(a)).is_err(), "not yet");
/// net.run_for(Duration::from_millis(1));
/// assert_eq!(ping.recv(net.stack(a))?, (host_ip(b).address().into(), 1, 8));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Ping {
    /// Drawn at `new`; the stack's echo identifier if this ping binds it.
    ident: u16,
    /// Added to a sequence number on the wire, taken off a reply's.
    shift: u16,
    /// Wire sequence numbers of the latest requests (the first `filled`),
    /// overwritten in turn from `next`.
    sent: [u16; PING_WINDOW],
    filled: u8,
    next: u8,
}

/// How many of its latest requests a [`Ping`] claims replies for; a reply
/// to an older one is dropped as a stray.
///
/// ```
/// use layernet::{Duration, host::sim::*, socket::{PING_WINDOW, Ping}};
///
/// let (mut net, a, b) = SimNet::pair(5)?;
/// let mut p = Ping::new(net.stack(a));
/// for seq in 0..=PING_WINDOW as u16 {
///     p.send(net.stack(a), host_ip(b).address(), seq, b"")?;
///     net.run_for(Duration::from_millis(5));
/// }
/// // Seq 0's reply waited, unread, until the window moved past it.
/// assert_eq!(p.recv(net.stack(a))?.1, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const PING_WINDOW: usize = 16;

/// How far apart the sequence ranges of a stack's pings lie.
const PING_SHIFT: u16 = 0x1000;

impl Ping {
    /// An echo client with an identifier drawn from the stack's generator.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, socket::Ping};
    /// let (mut net, a, b) = SimNet::pair(2)?;
    /// let (mut p, to) = (Ping::new(net.stack(a)), net.stack(b).ipv4_addr());
    /// p.send(net.stack(a), to, 0, b"")?;
    /// net.run_for(Duration::from_millis(5));
    /// assert_eq!(p.recv(net.stack(a))?.0, to.into());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(stack: &mut Stack<'_>) -> Self {
        let ident = stack.random() as u16;
        Ping {
            ident,
            shift: stack.next_ping().wrapping_mul(PING_SHIFT),
            sent: [0; PING_WINDOW],
            filled: 0,
            next: 0,
        }
    }

    /// The sequence number `send` was given for wire sequence number
    /// `wire`, if it is one of this ping's latest requests.
    fn claims(&self, wire: u16) -> Option<u16> {
        let sent = self.sent.get(..usize::from(self.filled))?;
        sent.contains(&wire).then(|| wire.wrapping_sub(self.shift))
    }

    fn remember(&mut self, wire: u16) {
        if let Some(slot) = self.sent.get_mut(usize::from(self.next)) {
            *slot = wire;
        }
        self.next = (self.next + 1) % PING_WINDOW as u8;
        self.filled = (self.filled + 1).min(PING_WINDOW as u8);
    }

    /// Queue echo request `seq` to `to` carrying `payload`; it leaves when the
    /// stack is polled.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] when the ICMP send queue is full (or the request
    /// is larger than its buffer, [`crate::net::ICMP_BUFFER`]);
    /// [`Error::InvalidInput`] for an address it cannot send to;
    /// [`Error::AddrInUse`] if the stack's ICMP socket cannot be bound.
    ///
    /// An address nobody has: the request is queued, no reply ever comes:
    ///
    /// ```
    /// use layernet::{Duration, Ipv4Address, host::sim::SimNet, socket::{Error, Ping}};
    ///
    /// let (mut net, a, _) = SimNet::pair(3)?;
    /// let mut p = Ping::new(net.stack(a));
    /// p.send(net.stack(a), Ipv4Address::new(192, 168, 69, 200), 1, b"hello?")?;
    /// net.run_for(Duration::from_secs(3));
    /// assert_eq!(p.recv(net.stack(a)), Err(Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(
        &mut self,
        stack: &mut Stack<'_>,
        to: impl Into<IpAddress>,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), Error> {
        let to = to.into();
        let caps = smoltcp::phy::ChecksumCapabilities::default();
        let (_, ident) = stack.icmp_socket(self.ident).ok_or(Error::AddrInUse)?;
        let wire = seq.wrapping_add(self.shift);
        match to {
            IpAddress::Ipv4(_) => {
                let repr = Icmpv4Repr::EchoRequest {
                    ident,
                    seq_no: wire,
                    data: payload,
                };
                let buf = Self::queue(stack, self.ident, repr.buffer_len(), to)?;
                repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &caps);
            }
            #[cfg(feature = "ipv6")]
            IpAddress::Ipv6(dst) => {
                let repr = Icmpv6Repr::EchoRequest {
                    ident,
                    seq_no: wire,
                    data: payload,
                };
                // ICMPv6's checksum covers the addresses: pick the source
                // smoltcp will send from before writing the message.
                let src = stack.ipv6_source_for(&dst);
                let buf = Self::queue(stack, self.ident, repr.buffer_len(), to)?;
                repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(buf), &caps);
            }
        }
        self.remember(wire);
        Ok(())
    }

    /// Room for one message of `len` bytes to `to` in the ICMP send queue.
    fn queue<'s>(
        stack: &'s mut Stack<'_>,
        ident: u16,
        len: usize,
        to: IpAddress,
    ) -> Result<&'s mut [u8], Error> {
        let (socket, _) = stack.icmp_socket(ident).ok_or(Error::AddrInUse)?;
        socket.send(len, to).map_err(|e| match e {
            icmp::SendError::BufferFull => Error::WouldBlock,
            icmp::SendError::Unaddressable => Error::InvalidInput,
        })
    }

    /// The next echo reply for us: (from, sequence number, payload length).
    /// Other ICMP messages and replies to nobody's request are skipped; a
    /// reply to another ping of this stack is kept for that one.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] while no reply is waiting; [`Error::AddrInUse`]
    /// if the stack's ICMP socket cannot be bound.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::Ping};
    ///
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let mut p = Ping::new(net.stack(a));
    /// for seq in 1..=3 {
    ///     p.send(net.stack(a), host_ip(b).address(), seq, &[0; 56])?;
    /// }
    /// net.run_for(Duration::from_millis(10));
    /// let mut seqs = Vec::new();
    /// while let Ok((_, seq, _)) = p.recv(net.stack(a)) {
    ///     seqs.push(seq);
    /// }
    /// assert_eq!(seqs, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Two pings on one stack, to the same host with the same sequence
    /// numbers: each gets the replies to its own requests, whichever reads
    /// first:
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::Ping};
    ///
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let to = host_ip(b).address();
    /// let (mut one, mut two) = (Ping::new(net.stack(a)), Ping::new(net.stack(a)));
    /// one.send(net.stack(a), to, 1, b"one")?;
    /// two.send(net.stack(a), to, 1, b"two!")?;
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(two.recv(net.stack(a))?, (to.into(), 1, 4));
    /// assert_eq!(one.recv(net.stack(a))?, (to.into(), 1, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv(&mut self, stack: &mut Stack<'_>) -> Result<(IpAddress, u16, usize), Error> {
        if let Some(r) = stack.take_echo(|wire| self.claims(wire).is_some()) {
            let seq = r.seq.wrapping_sub(self.shift);
            return Ok((r.from, seq, usize::from(r.len)));
        }
        loop {
            let (socket, ident) = stack.icmp_socket(self.ident).ok_or(Error::AddrInUse)?;
            let Ok((data, from)) = socket.recv() else {
                return Err(Error::WouldBlock);
            };
            let Some((id, wire, len)) = echo_reply(data, from) else {
                continue;
            };
            if id != ident {
                continue;
            }
            if let Some(seq) = self.claims(wire) {
                return Ok((from, seq, len));
            }
            // Another ping's (or nobody's: the stash lets those go in turn).
            let len = u16::try_from(len).unwrap_or(u16::MAX);
            stack.stash_echo(crate::net::EchoReply {
                from,
                seq: wire,
                len,
            });
        }
    }
}

/// An echo reply's identifier, sequence number and payload length; `None`
/// for any other message.
fn echo_reply(data: &[u8], from: IpAddress) -> Option<(u16, u16, usize)> {
    // The gate has checked every checksum on the way in.
    let caps = smoltcp::phy::ChecksumCapabilities::ignored();
    match from {
        IpAddress::Ipv4(_) => {
            let packet = Icmpv4Packet::new_checked(data).ok()?;
            match Icmpv4Repr::parse(&packet, &caps) {
                Ok(Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                }) => Some((ident, seq_no, data.len())),
                _ => None,
            }
        }
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(src) => {
            let packet = Icmpv6Packet::new_checked(data).ok()?;
            // The destination only enters the checksum, not checked here.
            let dst = smoltcp::wire::Ipv6Address::UNSPECIFIED;
            match Icmpv6Repr::parse(&src, &dst, &packet, &caps) {
                Ok(Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                }) => Some((ident, seq_no, data.len())),
                _ => None,
            }
        }
    }
}
