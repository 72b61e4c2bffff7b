//! A listening TCP port with a backlog: [`TcpListener`], `bind` + `listen`
//! + `accept`.
//!
//! Layer: socket. Depends on [`crate::net`] (the stack and its pool),
//! smoltcp's TCP socket and this layer's [`TcpStream`] and [`Error`]; never
//! on applications or the host. no_std, no alloc.

use smoltcp::wire::IpEndpoint;

use super::{Error, TcpStream};
use crate::net::{Key, Stack};

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
    pub(super) key: Key,
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
        Ok((TcpStream::accepted(key), peer))
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
