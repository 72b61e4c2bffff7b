//! A connected TCP stream, [`TcpStream`]: connecting, sending, receiving
//! and closing. Its addresses, options and buffer sizes are in
//! `stream_options.rs`.
//!
//! Layer: socket. Depends on [`crate::net`] (the stack and its pool) and
//! smoltcp's TCP socket; never on applications or the host. no_std, no
//! alloc. What tells EPIPE from ECONNRESET once the socket is closed is the
//! stream's own ([`TcpStream`] keeps it): the net layer neither stores nor
//! reads it.

use smoltcp::socket::tcp;
use smoltcp::wire::IpEndpoint;

use super::Error;
use crate::net::{Key, Stack, Transport};

pub use crate::net::CLOSE_TIMEOUT;

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
    /// The pool slot and its generation.
    pub(super) key: Key,
    past: Past,
}

/// What a stream's past tells once its socket is CLOSED, where smoltcp's
/// state alone cannot: whether sending fails for our own shutdown (EPIPE),
/// a reset (ECONNRESET) or a connection that never came about
/// (ECONNREFUSED), and whether receiving is at end of file or reset.
/// Berkeley semantics, so the socket layer's: the pool knows none of it.
#[derive(Debug, Clone, Copy, Default)]
struct Past {
    /// The connection reached ESTABLISHED at least once.
    established: bool,
    /// This side shut its sending half down (FIN queued).
    shut: bool,
    /// The peer's FIN was read (end of file seen).
    eof: bool,
}

impl TcpStream {
    /// The stream for a connection the listener accepted: established.
    pub(super) fn accepted(key: Key) -> Self {
        let past = Past {
            established: true,
            ..Past::default()
        };
        TcpStream { key, past }
    }

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
        Ok(TcpStream {
            key,
            past: Past::default(),
        })
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
            tcp::State::Closed | tcp::State::Listen => Err(self.send_closed_error()),
            _ => {
                self.past.established = true;
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
    fn may_send_now(&self, state: tcp::State) -> Result<(), Error> {
        match state {
            tcp::State::SynSent | tcp::State::SynReceived => Err(Error::WouldBlock),
            tcp::State::Closed | tcp::State::Listen | tcp::State::TimeWait => {
                Err(self.send_closed_error())
            }
            _ => Ok(()),
        }
    }

    /// What sending on a stream in CLOSED or TIME-WAIT means: our own
    /// shutdown (EPIPE), a reset, or a connection that never came about.
    fn send_closed_error(&self) -> Error {
        match self.past {
            Past { shut: true, .. } => Error::Closed,
            Past {
                established: true, ..
            } => Error::Reset,
            _ => Error::Refused,
        }
    }

    /// What receiving on a stream in CLOSED means: end of file if the
    /// peer's FIN was read, else a reset or a refusal.
    fn recv_closed(&self) -> Result<usize, Error> {
        match self.past {
            Past { eof: true, .. } => Ok(0),
            Past {
                established: true, ..
            } => Err(Error::Reset),
            _ => Err(Error::Refused),
        }
    }

    fn mark_eof(&mut self) -> Result<usize, Error> {
        self.past.eof = true;
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
        // One lookup of the socket for the state and the send: a live
        // stream's socket is never parked.
        let socket = stack.tcp_socket_io(self.key).ok_or(Error::NotConnected)?;
        self.may_send_now(socket.state())?;
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
        // One lookup of the socket for the state and the read (a client
        // reads a few times a connection; each lookup checks the key).
        let socket = stack.tcp_socket_io(self.key).ok_or(Error::NotConnected)?;
        let state = socket.state();
        match socket.recv_slice(buf) {
            Ok(0) => match state {
                tcp::State::SynSent | tcp::State::SynReceived => Err(Error::WouldBlock),
                _ if socket.may_recv() => Err(Error::WouldBlock),
                tcp::State::Closed => self.recv_closed(),
                _ => self.mark_eof(),
            },
            Ok(n) => {
                stack.count_tcp(self.key, n, 0);
                Ok(n)
            }
            Err(tcp::RecvError::Finished) => self.mark_eof(),
            Err(tcp::RecvError::InvalidState) => match state {
                tcp::State::SynSent | tcp::State::SynReceived => Err(Error::WouldBlock),
                // The peer's FIN came and both closes finished: end of file.
                tcp::State::TimeWait | tcp::State::LastAck | tcp::State::CloseWait => {
                    self.mark_eof()
                }
                _ => self.recv_closed(),
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
        let socket = stack.tcp_socket_io(self.key).ok_or(Error::NotConnected)?;
        self.may_send_now(socket.state())?;
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
        let socket = stack.tcp_socket_io(self.key).ok_or(Error::NotConnected)?;
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

    /// Bytes the send buffer takes now: its free space once the
    /// connection may send, 0 before (while connecting) and after the
    /// sending half is shut. A layer over the stream (TLS) sizes its
    /// records by it, so that a record it makes always fits.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(5)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut w = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// assert_eq!(w.send_room(net.stack(c)), 0, "still connecting");
    /// net.run_for(Duration::from_millis(10));
    /// w.send(net.stack(c), &[0; 1000])?;
    /// assert_eq!(w.send_room(net.stack(c)), 8192 - 1000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_room(&self, stack: &Stack<'_>) -> usize {
        stack.tcp_socket_ref(self.key).map_or(0, |s| {
            if s.may_send() {
                s.send_capacity().saturating_sub(s.send_queue())
            } else {
                0
            }
        })
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
        self.past.shut = true;
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
        let own_timeout = stack.tcp_socket(self.key).map(|s| {
            s.close();
            s.timeout().is_some()
        });
        // Not smoltcp's timeout: see [`CLOSE_TIMEOUT`]. A timeout the
        // owner set stays in charge.
        if let Some(own) = own_timeout {
            stack.watch_close(self.key, !own);
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

    /// Whether everything written has been acknowledged: `Ok` once the
    /// send queue is empty, [`Error::WouldBlock`] while it is not (or the
    /// handshake still runs), the closed stream's error if a reset or a
    /// refusal emptied it. After our own shutdown an empty queue is `Ok`.
    #[cfg(feature = "async")]
    pub(super) fn flushed(&self, stack: &Stack<'_>) -> Result<(), Error> {
        self.live(stack)?;
        match self.state(stack) {
            tcp::State::SynSent | tcp::State::SynReceived => Err(Error::WouldBlock),
            tcp::State::Closed | tcp::State::Listen if !self.past.shut => {
                Err(self.send_closed_error())
            }
            _ if self.send_queue(stack) > 0 => Err(Error::WouldBlock),
            _ => Ok(()),
        }
    }

    /// `read` applied to the stream's smoltcp socket, or `default` if its
    /// slot is gone.
    pub(super) fn read_socket<'a, T>(
        &self,
        stack: &Stack<'a>,
        default: T,
        read: impl FnOnce(&tcp::Socket<'a>) -> T,
    ) -> T {
        stack.tcp_socket_ref(self.key).map_or(default, read)
    }
}
