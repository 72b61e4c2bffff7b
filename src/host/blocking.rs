//! Blocking sockets with timeouts, in the shape of Python's `socket`
//! object, over the non-blocking core.
//!
//! Layer: host (std). Uses [`crate::socket`] and a [`Driver`].
//!
//! A blocking call tries the non-blocking operation; while it would block,
//! it lets the driver run the network (every stack and service of the
//! simulation, on its virtual clock; later the TAP loop on the real one)
//! until something may have changed, then tries again. The stack is
//! reached through a shared handle ([`Net`], an `Rc<RefCell<_>>`: one
//! thread, like smoltcp itself), so a [`TcpStream`] needs no stack
//! argument and implements `std::io::Read` and `Write`.
//!
//! Timeouts follow Python's `settimeout`: `None` blocks (bounded by
//! [`MAX_WAITS`] rounds of the driver, so a program waiting for a peer that
//! will never come ends instead of hanging), `Some(ZERO)` is non-blocking
//! (`setblocking(False)`: [`Error::WouldBlock`] at once), any other value
//! bounds the call in the driver's time.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use crate::host::sim::{SimNet, SimPort};
use crate::link::Link;
use crate::net::Stack;
use crate::socket::{self, Error};
use crate::{Duration, Instant, IpEndpoint};

/// Most driver rounds one blocking call without a timeout waits.
pub const MAX_WAITS: u32 = 100_000;

/// How far one wait may go when the call has no deadline.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// What runs the network while a blocking call waits.
pub trait Driver {
    /// The device under the stacks.
    type Device: Link;
    /// Host `host`'s stack.
    fn stack(&mut self, host: usize) -> &mut Stack<'static, Self::Device>;
    /// The driver's clock.
    fn now(&self) -> Instant;
    /// Run the network until `deadline` or until something may have changed.
    fn wait(&mut self, deadline: Instant);
}

impl Driver for SimNet {
    type Device = SimPort;

    fn stack(&mut self, host: usize) -> &mut Stack<'static, SimPort> {
        SimNet::stack(self, host)
    }

    fn now(&self) -> Instant {
        SimNet::now(self)
    }

    fn wait(&mut self, deadline: Instant) {
        // If polling alone moved something, the caller's operation may now
        // succeed: let it try before any virtual time passes.
        if !self.settle(&mut []) {
            self.step(deadline, &mut []);
        }
    }
}

/// A borrowed driver drives too: blocking sockets can be used on a network
/// for a while and the network handed back afterwards.
impl<D: Driver> Driver for &mut D {
    type Device = D::Device;

    fn stack(&mut self, host: usize) -> &mut Stack<'static, D::Device> {
        (**self).stack(host)
    }

    fn now(&self) -> Instant {
        (**self).now()
    }

    fn wait(&mut self, deadline: Instant) {
        (**self).wait(deadline)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::WouldBlock => io::ErrorKind::WouldBlock,
            Error::Refused => io::ErrorKind::ConnectionRefused,
            Error::Reset => io::ErrorKind::ConnectionReset,
            Error::TimedOut => io::ErrorKind::TimedOut,
            Error::AddrInUse => io::ErrorKind::AddrInUse,
            Error::NotConnected => io::ErrorKind::NotConnected,
            Error::Closed => io::ErrorKind::BrokenPipe,
            Error::InvalidInput => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// A shared handle to a driver: the network the blocking sockets use.
pub struct Net<N: Driver> {
    inner: Rc<RefCell<N>>,
}

impl<N: Driver> Clone for Net<N> {
    fn clone(&self) -> Self {
        Net {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<N: Driver> Net<N> {
    /// Share `driver`.
    pub fn new(driver: N) -> Self {
        Net {
            inner: Rc::new(RefCell::new(driver)),
        }
    }

    /// Blocking sockets on host `id`.
    pub fn host(&self, id: usize) -> Host<N> {
        Host {
            net: self.clone(),
            id,
        }
    }

    /// Do something with the driver itself (statistics, services).
    ///
    /// # Panics
    /// If called from inside another `with` (a programming error).
    pub fn with<R>(&self, f: impl FnOnce(&mut N) -> R) -> R {
        f(&mut self.inner.borrow_mut())
    }

    /// The driver's clock.
    pub fn now(&self) -> Instant {
        self.inner.borrow().now()
    }
}

/// One host's blocking socket factory.
pub struct Host<N: Driver> {
    net: Net<N>,
    id: usize,
}

impl<N: Driver> Clone for Host<N> {
    fn clone(&self) -> Self {
        Host {
            net: self.net.clone(),
            id: self.id,
        }
    }
}

impl<N: Driver> Host<N> {
    /// Run a non-blocking operation until it does not block, the timeout
    /// passes, or [`MAX_WAITS`] rounds went by.
    fn block<T>(
        &self,
        timeout: Option<Duration>,
        mut op: impl FnMut(&mut Stack<'static, N::Device>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut net = self.net.inner.borrow_mut();
        let deadline = timeout.map(|t| net.now() + t);
        for _ in 0..MAX_WAITS {
            match op(net.stack(self.id)) {
                Err(Error::WouldBlock) => {}
                done => return done,
            }
            let now = net.now();
            match deadline {
                Some(_) if timeout == Some(Duration::ZERO) => return Err(Error::WouldBlock),
                Some(d) if now >= d => return Err(Error::TimedOut),
                Some(d) => net.wait(d),
                None => net.wait(now + IDLE_WAIT),
            }
        }
        Err(Error::TimedOut)
    }

    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<'static, N::Device>) -> R) -> R {
        f(self.net.inner.borrow_mut().stack(self.id))
    }

    /// `bind((addr, port))` + `listen(backlog)` for TCP.
    pub fn tcp_listen(&self, port: u16, backlog: usize) -> Result<TcpListener<N>, Error> {
        let inner = self.with_stack(|s| socket::TcpListener::bind(s, port, backlog))?;
        Ok(TcpListener {
            host: self.clone(),
            inner: Some(inner),
            timeout: None,
        })
    }

    /// `connect(remote)`: waits for the handshake, at most `timeout` (without
    /// one, 75 s: BSD's connection-establishment timer).
    pub fn tcp_connect(
        &self,
        remote: IpEndpoint,
        timeout: Option<Duration>,
    ) -> Result<TcpStream<N>, Error> {
        let mut inner = self.with_stack(|s| socket::TcpStream::connect(s, remote))?;
        let connected = self.block(timeout.or(Some(Duration::from_secs(75))), |s| {
            inner.poll_connect(s)
        });
        match connected {
            Ok(()) => Ok(TcpStream {
                host: self.clone(),
                inner: Some(inner),
                timeout: None,
            }),
            Err(e) => {
                self.with_stack(|s| inner.abort(s));
                Err(e)
            }
        }
    }

    /// `bind((addr, port))` for UDP (0: an ephemeral port).
    pub fn udp_bind(&self, port: u16) -> Result<UdpSocket<N>, Error> {
        let inner = self.with_stack(|s| socket::UdpSocket::bind(s, port))?;
        Ok(UdpSocket {
            host: self.clone(),
            inner: Some(inner),
            timeout: None,
        })
    }
}

/// A blocking listening socket.
pub struct TcpListener<N: Driver> {
    host: Host<N>,
    inner: Option<socket::TcpListener>,
    timeout: Option<Duration>,
}

impl<N: Driver> TcpListener<N> {
    /// `settimeout`: how long `accept` waits (`None`: until a client comes).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `accept()`: the next connection and its peer.
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
    pub fn local_port(&self) -> u16 {
        self.inner.as_ref().map_or(0, |l| l.local_port())
    }

    /// `close()`: stop listening; connections not yet accepted are reset.
    /// The same happens on drop.
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
pub struct TcpStream<N: Driver> {
    host: Host<N>,
    inner: Option<socket::TcpStream>,
    timeout: Option<Duration>,
}

impl<N: Driver> TcpStream<N> {
    /// `settimeout`: bound every later send/recv (`Some(ZERO)`: non-blocking).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `gettimeout`.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn op<T>(
        &mut self,
        f: impl FnMut(&mut socket::TcpStream, &mut Stack<'static, N::Device>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut f = f;
        let stream = self.inner.as_mut().ok_or(Error::NotConnected)?;
        self.host.block(self.timeout, |s| f(stream, s))
    }

    /// `send(data)`: waits until some of `data` fits, returns how much did.
    pub fn send(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.op(|t, s| t.send(s, data))
    }

    /// `sendall(data)`: waits until all of `data` is queued.
    pub fn sendall(&mut self, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let n = self.send(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// `recv(bufsize)`: waits for at least one byte; `Ok(0)` at end of file.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.op(|t, s| t.recv(s, buf))
    }

    /// `shutdown(SHUT_WR)`: send FIN after the queued data.
    pub fn shutdown(&mut self) {
        if let Some(t) = self.inner.as_mut() {
            self.host.with_stack(|s| t.shutdown(s));
        }
    }

    /// `getpeername()`.
    pub fn peer_addr(&self) -> Option<IpEndpoint> {
        let t = self.inner.as_ref()?;
        self.host.with_stack(|s| t.peer_addr(s))
    }

    /// `getsockname()`.
    pub fn local_addr(&self) -> Option<IpEndpoint> {
        let t = self.inner.as_ref()?;
        self.host.with_stack(|s| t.local_addr(s))
    }

    /// `setsockopt(TCP_NODELAY)`.
    pub fn set_nodelay(&mut self, nodelay: bool) {
        if let Some(t) = self.inner.as_mut() {
            self.host.with_stack(|s| t.set_nodelay(s, nodelay));
        }
    }

    /// `close()`: graceful; the same happens on drop.
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

/// A blocking UDP socket.
pub struct UdpSocket<N: Driver> {
    host: Host<N>,
    inner: Option<socket::UdpSocket>,
    timeout: Option<Duration>,
}

impl<N: Driver> UdpSocket<N> {
    /// `settimeout`.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `sendto(data, addr)`: waits while the send queue is full.
    pub fn send_to(&mut self, data: &[u8], to: IpEndpoint) -> Result<(), Error> {
        let u = self.inner.as_mut().ok_or(Error::NotConnected)?;
        self.host.block(self.timeout, |s| u.send_to(s, data, to))
    }

    /// `recvfrom(bufsize)`: waits for a datagram.
    pub fn recv_from(&mut self, buf: &mut [u8]) -> Result<(usize, IpEndpoint), Error> {
        let u = self.inner.as_mut().ok_or(Error::NotConnected)?;
        self.host.block(self.timeout, |s| u.recv_from(s, buf))
    }

    /// The bound port (`getsockname`).
    pub fn local_port(&self) -> u16 {
        self.inner.as_ref().map_or(0, |u| u.local_port())
    }

    /// `close()`: unbind; the same happens on drop.
    pub fn close(self) {}

    /// `gettimeout()`: what [`UdpSocket::set_timeout`] set (`None`: block).
    ///
    /// ```
    /// # let (sim, peer, _) = layernet::host::sim::SimNet::pair(15)?;
    /// let net = layernet::host::blocking::Net::new(sim);
    /// let mut udp = net.host(peer).udp_bind(6868)?;
    /// assert_eq!(udp.timeout(), None);
    /// udp.set_timeout(Some(layernet::Duration::from_millis(250)));
    /// assert_eq!(udp.timeout().map(|t| t.total_millis()), Some(250));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// `setblocking(flag)`: `false` makes `recv_from`/`send_to` fail with
    /// [`Error::WouldBlock`] at once instead of waiting; `true` waits
    /// (without a time limit).
    ///
    /// ```
    /// # use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, _, me) = SimNet::pair(16)?;
    /// let mut chat = Net::new(sim).host(me).udp_bind(0)?;
    /// chat.set_blocking(false);
    /// let mut inbox = [0u8; 64];
    /// assert_eq!(chat.recv_from(&mut inbox).err(), Some(layernet::socket::Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_blocking(&mut self, blocking: bool) {
        self.timeout = if blocking { None } else { Some(Duration::ZERO) };
    }
}

impl<N: Driver> Drop for UdpSocket<N> {
    fn drop(&mut self) {
        if let (Some(u), Ok(mut net)) = (self.inner.take(), self.host.net.inner.try_borrow_mut()) {
            u.close(net.stack(self.host.id));
        }
    }
}
