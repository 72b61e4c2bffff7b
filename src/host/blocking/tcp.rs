//! Blocking TCP: a listening socket and a connected stream with
//! `std::io::Read`/`Write`.
//!
//! Layer: host (std). Uses [`crate::socket`] and this module's [`Host`]
//! (the stack behind a shared handle, and its driver).

use std::io;

use super::{Driver, Host};
use crate::net::Stack;
use crate::socket::{self, Error};
use crate::{Duration, IpEndpoint};

/// A blocking listening socket.
///
/// # Example
///
/// ```
/// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
/// let (sim, a, b) = SimNet::pair(1)?;
/// let net = Net::new(sim);
/// let mut listener = net.host(a).tcp_listen(7, 2)?;
/// let first = net.host(b).tcp_connect(endpoint(a, 7), None)?;
/// let second = net.host(b).tcp_connect(endpoint(a, 7), None)?;
/// let peers = [listener.accept()?.1, listener.accept()?.1];
/// assert_eq!(peers, [first.local_addr().ok_or("?")?, second.local_addr().ok_or("?")?]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TcpListener<N: Driver> {
    pub(super) host: Host<N>,
    pub(super) inner: Option<socket::TcpListener>,
    pub(super) timeout: Option<Duration>,
}

impl<N: Driver> TcpListener<N> {
    /// `settimeout`: how long `accept` waits (`None`: until a client comes).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// use layernet::{Duration, Instant, socket::Error};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut listener = net.host(a).tcp_listen(80, 1)?;
    /// listener.set_timeout(Some(Duration::from_secs(3)));
    /// assert_eq!(listener.accept().err(), Some(Error::TimedOut));
    /// assert_eq!(net.now(), Instant::from_secs(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `accept()`: the next connection and its peer.
    ///
    /// # Errors
    /// [`Error::TimedOut`] when no client came within the timeout (or
    /// [`MAX_WAITS`](super::MAX_WAITS) rounds), [`Error::WouldBlock`] at once when the timeout
    /// is zero.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint, host_ip}};
    /// use layernet::IpAddress;
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut listener = net.host(a).tcp_listen(7, 1)?;
    /// let _client = net.host(b).tcp_connect(endpoint(a, 7), None)?;
    /// let (stream, peer) = listener.accept()?;
    /// assert_eq!(peer.addr, IpAddress::Ipv4(host_ip(b).address()));
    /// assert_eq!(stream.peer_addr(), Some(peer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(&mut self) -> Result<(TcpStream<N>, IpEndpoint), Error> {
        let listener = self.inner.as_mut().ok_or(Error::NotConnected)?;
        let (inner, peer) = self.host.block(self.timeout, |s| listener.accept(s))?;
        Ok((
            TcpStream {
                host: self.host.clone(),
                inner: Some(inner),
                timeout: None,
            },
            peer,
        ))
    }

    /// The port listened on (`getsockname`).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let listener = Net::new(sim).host(a).tcp_listen(21566, 1)?;
    /// assert_eq!(listener.local_port(), 21566);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.inner.as_ref().map_or(0, |l| l.local_port())
    }

    /// `close()`: stop listening; connections not yet accepted are reset.
    /// The same happens on drop.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// net.host(a).tcp_listen(80, 1)?.close();
    /// // The listening sockets are freed when the stack next runs.
    /// net.with(|sim| sim.run_for(layernet::Duration::from_millis(1)));
    /// assert!(net.host(a).tcp_listen(80, 1).is_ok(), "the port is free again");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) {}

    /// `gettimeout()`: how long `accept` waits, as
    /// [`TcpListener::set_timeout`] set it (`None`: until a client comes).
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// use layernet::{Duration, socket::Error};
    ///
    /// let (sim, host, _) = SimNet::pair(17)?;
    /// let mut server = Net::new(sim).host(host).tcp_listen(8080, 5)?;
    /// server.set_timeout(Some(Duration::from_secs(2)));
    /// assert_eq!(server.timeout(), Some(Duration::from_secs(2)));
    /// assert_eq!(server.accept().err(), Some(Error::TimedOut)); // nobody came
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

impl<N: Driver> Drop for TcpListener<N> {
    fn drop(&mut self) {
        if let (Some(l), Ok(mut net)) = (self.inner.take(), self.host.net.inner.try_borrow_mut()) {
            l.close(net.stack(self.host.id));
        }
    }
}

/// A blocking TCP connection; closed gracefully when dropped.
///
/// # Example
/// `std::io::Read` and `Write`, so the usual adapters work:
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
/// let (sim, a, b) = SimNet::pair(1)?;
/// let net = Net::new(sim);
/// let mut listener = net.host(a).tcp_listen(25, 1)?;
/// let mut client = net.host(b).tcp_connect(endpoint(a, 25), None)?;
/// writeln!(client, "HELO layernet")?;
/// let mut line = String::new();
/// BufReader::new(listener.accept()?.0).read_line(&mut line)?;
/// assert_eq!(line, "HELO layernet\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TcpStream<N: Driver> {
    pub(super) host: Host<N>,
    pub(super) inner: Option<socket::TcpStream>,
    pub(super) timeout: Option<Duration>,
}

impl<N: Driver> TcpStream<N> {
    /// `settimeout`: bound every later send/recv (`Some(ZERO)`: non-blocking).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// use layernet::{Duration, socket::Error};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let _l = net.host(a).tcp_listen(80, 1)?;
    /// let mut s = net.host(b).tcp_connect(endpoint(a, 80), None)?;
    /// s.set_timeout(Some(Duration::ZERO)); // non-blocking
    /// let before = net.now();
    /// assert_eq!(s.recv(&mut [0u8; 8]), Err(Error::WouldBlock));
    /// assert_eq!(net.now(), before, "no time passed");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `gettimeout`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// use layernet::Duration;
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let _l = net.host(a).tcp_listen(80, 1)?;
    /// let mut s = net.host(b).tcp_connect(endpoint(a, 80), None)?;
    /// assert_eq!(s.timeout(), None, "blocking by default");
    /// s.set_timeout(Some(Duration::from_secs(30)));
    /// assert_eq!(s.timeout(), Some(Duration::from_secs(30)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn op<T>(
        &mut self,
        f: impl FnMut(&mut socket::TcpStream, &mut Stack<'static>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut f = f;
        let stream = self.inner.as_mut().ok_or(Error::NotConnected)?;
        self.host.block(self.timeout, |s| f(stream, s))
    }

    /// `send(data)`: waits until some of `data` fits, returns how much did.
    ///
    /// # Errors
    /// [`Error::Closed`] after our own [`TcpStream::shutdown`], [`Error::Reset`]
    /// when the peer reset the connection, [`Error::TimedOut`] when nothing fit
    /// within the timeout, [`Error::WouldBlock`] at once when the timeout is zero.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// use layernet::socket::Error;
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let _l = net.host(a).tcp_listen(80, 1)?;
    /// let mut s = net.host(b).tcp_connect(endpoint(a, 80), None)?;
    /// assert_eq!(s.send(b"request")?, 7);
    /// s.shutdown();
    /// assert_eq!(s.send(b"more"), Err(Error::Closed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.op(|t, s| t.send(s, data))
    }

    /// `sendall(data)`: waits until all of `data` is queued.
    ///
    /// # Errors
    /// Those of [`TcpStream::send`]; on an error, an unknown part of `data`
    /// was queued.
    ///
    /// # Example
    /// More than the socket buffers hold, sent while the peer reads:
    /// ```
    /// use std::io::Read;
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut listener = net.host(a).tcp_listen(80, 1)?;
    /// let mut s = net.host(b).tcp_connect(endpoint(a, 80), None)?;
    /// let (mut peer, _) = listener.accept()?;
    /// s.sendall(&[b'z'; 6000])?;
    /// s.close();
    /// let mut all = Vec::new();
    /// peer.read_to_end(&mut all)?;
    /// assert_eq!(all.len(), 6000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sendall(&mut self, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let n = self.send(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// `recv(bufsize)`: waits for at least one byte; `Ok(0)` at end of file.
    ///
    /// # Errors
    /// [`Error::TimedOut`] when nothing came within the timeout,
    /// [`Error::WouldBlock`] at once when the timeout is zero, [`Error::Reset`]
    /// when the peer reset the connection.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// use layernet::{Duration, socket::Error};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let _l = net.host(a).tcp_listen(80, 1)?;
    /// let mut s = net.host(b).tcp_connect(endpoint(a, 80), None)?;
    /// s.set_timeout(Some(Duration::from_millis(500)));
    /// assert_eq!(s.recv(&mut [0u8; 16]), Err(Error::TimedOut), "the server says nothing");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.op(|t, s| t.recv(s, buf))
    }

    /// `shutdown(SHUT_WR)`: send FIN after the queued data.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut listener = net.host(a).tcp_listen(80, 1)?;
    /// let mut s = net.host(b).tcp_connect(endpoint(a, 80), None)?;
    /// let (mut peer, _) = listener.accept()?;
    /// s.shutdown(); // the peer reads end of file; we can still read its answer
    /// assert_eq!(peer.recv(&mut [0u8; 4])?, 0);
    /// peer.sendall(b"bye")?;
    /// let mut buf = [0u8; 4];
    /// let n = s.recv(&mut buf)?;
    /// assert_eq!(&buf[..n], b"bye");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&mut self) {
        if let Some(t) = self.inner.as_mut() {
            self.host.with_stack(|s| t.shutdown(s));
        }
    }

    /// `getpeername()`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let _l = net.host(a).tcp_listen(443, 1)?;
    /// let s = net.host(b).tcp_connect(endpoint(a, 443), None)?;
    /// assert_eq!(s.peer_addr(), Some(endpoint(a, 443)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_addr(&self) -> Option<IpEndpoint> {
        let t = self.inner.as_ref()?;
        self.host.with_stack(|s| t.peer_addr(s))
    }

    /// `getsockname()`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint, host_ip}};
    /// use layernet::IpAddress;
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let _l = net.host(a).tcp_listen(80, 1)?;
    /// let me = net.host(b).tcp_connect(endpoint(a, 80), None)?.local_addr().ok_or("closed")?;
    /// assert_eq!(me.addr, IpAddress::Ipv4(host_ip(b).address()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self) -> Option<IpEndpoint> {
        let t = self.inner.as_ref()?;
        self.host.with_stack(|s| t.local_addr(s))
    }

    /// `setsockopt(TCP_NODELAY)`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut listener = net.host(a).tcp_listen(80, 1)?;
    /// let mut s = net.host(b).tcp_connect(endpoint(a, 80), None)?;
    /// s.set_nodelay(true); // small writes go out at once, not held for Nagle
    /// for key in [b"u", b"p"] {
    ///     s.sendall(key)?;
    /// }
    /// let (mut peer, _) = listener.accept()?;
    /// let mut got = [0u8; 2];
    /// std::io::Read::read_exact(&mut peer, &mut got)?;
    /// assert_eq!(&got, b"up");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_nodelay(&mut self, nodelay: bool) {
        if let Some(t) = self.inner.as_mut() {
            self.host.with_stack(|s| t.set_nodelay(s, nodelay));
        }
    }

    /// `close()`: graceful; the same happens on drop.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut listener = net.host(a).tcp_listen(80, 1)?;
    /// let s = net.host(b).tcp_connect(endpoint(a, 80), None)?;
    /// s.close();
    /// let (mut peer, _) = listener.accept()?;
    /// assert_eq!(peer.recv(&mut [0u8; 1])?, 0, "a FIN, not a reset");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(mut self) {
        self.release();
    }

    fn release(&mut self) {
        if let (Some(t), Ok(mut net)) = (self.inner.take(), self.host.net.inner.try_borrow_mut()) {
            t.close(net.stack(self.host.id));
        }
    }

    /// `setblocking(flag)`: `false` makes every later send/recv return
    /// [`Error::WouldBlock`] at once instead of waiting (the same as
    /// `set_timeout(Some(Duration::ZERO))`); `true` waits without a time
    /// limit (`set_timeout(None)`), as Python's `setblocking` does.
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// use layernet::socket::Error;
    ///
    /// let (sim, srv, cli) = SimNet::pair(11)?;
    /// let net = Net::new(sim);
    /// let _listener = net.host(srv).tcp_listen(7, 1)?;
    /// let mut stream = net.host(cli).tcp_connect(endpoint(srv, 7), None)?;
    /// stream.set_blocking(false);
    /// assert_eq!(stream.recv(&mut [0u8; 8]), Err(Error::WouldBlock));
    /// assert_eq!(stream.timeout(), Some(layernet::Duration::ZERO));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_blocking(&mut self, blocking: bool) {
        self.timeout = if blocking { None } else { Some(Duration::ZERO) };
    }

    /// `setsockopt(SO_KEEPALIVE)`: after this much silence smoltcp sends a
    /// keep-alive probe (`None`: off, the default).
    ///
    /// ```
    /// # use layernet::host::{blocking::Net, sim::*};
    /// # let (sim, s, c) = SimNet::pair(12)?;
    /// let net = Net::new(sim);
    /// let _server = net.host(s).tcp_listen(80, 2)?;
    /// let mut conn = net.host(c).tcp_connect(endpoint(s, 80), None)?;
    /// conn.set_keepalive(Some(layernet::Duration::from_secs(30)));
    /// assert_eq!(conn.keepalive().map(|d| d.secs()), Some(30));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_keepalive(&mut self, interval: Option<Duration>) {
        if let Some(t) = self.inner.as_mut() {
            self.host.with_stack(|s| t.set_keepalive(s, interval));
        }
    }

    /// `getsockopt(SO_KEEPALIVE)`: the interval set by
    /// [`TcpStream::set_keepalive`], `None` when off.
    ///
    /// ```
    /// # let (sim, a, b) = layernet::host::sim::SimNet::pair(13)?;
    /// # let net = layernet::host::blocking::Net::new(sim);
    /// # let _l = net.host(a).tcp_listen(22, 1)?;
    /// let stream = net.host(b).tcp_connect(layernet::host::sim::endpoint(a, 22), None)?;
    /// assert_eq!(stream.keepalive(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keepalive(&self) -> Option<Duration> {
        let t = self.inner.as_ref()?;
        self.host.with_stack(|s| t.keepalive(s))
    }

    /// `getsockopt(TCP_NODELAY)`: true when Nagle's algorithm is off.
    ///
    /// ```
    /// # use layernet::host::sim::{SimNet, endpoint};
    /// let (sim, server, client) = SimNet::pair(14)?;
    /// let net = layernet::host::blocking::Net::new(sim);
    /// let _listening = net.host(server).tcp_listen(23, 1)?;
    /// let mut telnet = net.host(client).tcp_connect(endpoint(server, 23), None)?;
    /// telnet.set_nodelay(true); // keystrokes go out one by one
    /// assert!(telnet.nodelay());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn nodelay(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|t| self.host.with_stack(|s| t.nodelay(s)))
    }
}

impl<N: Driver> Drop for TcpStream<N> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<N: Driver> io::Read for TcpStream<N> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.recv(buf)?)
    }
}

impl<N: Driver> io::Write for TcpStream<N> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.send(buf)?)
    }

    /// Waits until the peer has acknowledged everything written.
    fn flush(&mut self) -> io::Result<()> {
        Ok(self.op(|t, s| {
            if t.send_queue(s) == 0 {
                Ok(())
            } else {
                Err(Error::WouldBlock)
            }
        })?)
    }
}
