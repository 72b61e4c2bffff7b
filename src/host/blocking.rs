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

use crate::host::sim::SimNet;
use crate::net::Stack;
use crate::socket::{self, Error};
use crate::{Duration, Instant, IpEndpoint};

/// Most driver rounds one blocking call without a timeout waits.
///
/// # Example
///
/// ```
/// use layernet::host::{blocking::Net, sim::SimNet};
/// use layernet::socket::Error;
/// let (sim, a, _) = SimNet::pair(1)?;
/// let net = Net::new(sim);
/// let mut lonely = net.host(a).tcp_listen(80, 1)?;
/// // No timeout and no client: the wait ends anyway, in virtual time.
/// assert_eq!(lonely.accept().err(), Some(Error::TimedOut));
/// assert!(net.now().secs() > 3600, "after many idle rounds");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_WAITS: u32 = 100_000;

/// How far one wait may go when the call has no deadline.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// What runs the network while a blocking call waits.
///
/// # Example
/// A borrowed [`SimNet`] is a driver: lend it to blocking sockets, then use
/// it directly again.
/// ```
/// use layernet::host::blocking::{Driver, Net};
/// use layernet::host::sim::{SimNet, endpoint, host_ip};
/// use layernet::Duration;
/// let (mut sim, a, b) = SimNet::pair(1)?;
/// {
///     let net = Net::new(&mut sim);
///     let _listener = net.host(a).tcp_listen(80, 1)?;
///     net.host(b).tcp_connect(endpoint(a, 80), None)?;
/// }
/// assert_eq!(Driver::stack(&mut sim, b).ipv4_addr(), host_ip(b).address());
/// let later = Driver::now(&sim) + Duration::from_secs(60);
/// while Driver::now(&sim) < later {
///     sim.wait(later); // the closing handshake, then straight to `later`
/// }
/// assert_eq!(Driver::now(&sim), later);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Driver {
    /// Host `host`'s stack.
    fn stack(&mut self, host: usize) -> &mut Stack<'static>;
    /// The driver's clock.
    fn now(&self) -> Instant;
    /// Run the network until `deadline` or until something may have changed.
    fn wait(&mut self, deadline: Instant);
}

impl Driver for SimNet {
    fn stack(&mut self, host: usize) -> &mut Stack<'static> {
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
    fn stack(&mut self, host: usize) -> &mut Stack<'static> {
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
            Error::Aborted => io::ErrorKind::ConnectionAborted,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// A shared handle to a driver: the network the blocking sockets use.
///
/// # Example
///
/// ```
/// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
/// let (sim, a, b) = SimNet::pair(1)?;
/// let net = Net::new(sim);
/// let (server, client) = (net.host(a), net.host(b));
/// let mut listener = server.tcp_listen(80, 1)?;
/// let mut out = client.tcp_connect(endpoint(a, 80), None)?;
/// let (mut inc, _) = listener.accept()?;
/// out.sendall(b"GET /")?;
/// let mut buf = [0u8; 8];
/// let n = inc.recv(&mut buf)?;
/// assert_eq!(&buf[..n], b"GET /");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, _, _) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let again = net.clone(); // the same network, shared
    /// assert_eq!(again.with(|sim| sim.hosts()), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(driver: N) -> Self {
        Net {
            inner: Rc::new(RefCell::new(driver)),
        }
    }

    /// Blocking sockets on host `id`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// // The same port on two hosts: separate stacks, no conflict.
    /// let (_x, _y) = (net.host(a).udp_bind(5000)?, net.host(b).udp_bind(5000)?);
    /// assert!(net.host(a).udp_bind(5000).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let _refused = net.host(b).tcp_connect(endpoint(a, 80), None);
    /// let resets = net.with(|sim| sim.segment().census().tcp_rst);
    /// assert_eq!(resets, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with<R>(&self, f: impl FnOnce(&mut N) -> R) -> R {
        f(&mut self.inner.borrow_mut())
    }

    /// The driver's clock.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// use layernet::{Duration, Instant};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut udp = net.host(a).udp_bind(9)?;
    /// udp.set_timeout(Some(Duration::from_millis(250)));
    /// let _ = udp.recv_from(&mut [0u8; 4]);
    /// assert_eq!(net.now(), Instant::from_millis(250));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn now(&self) -> Instant {
        self.inner.borrow().now()
    }
}

/// One host's blocking socket factory.
///
/// # Example
///
/// ```
/// use layernet::host::{blocking::{Host, Net}, sim::SimNet};
/// let (sim, a, _) = SimNet::pair(1)?;
/// let me: Host<SimNet> = Net::new(sim).host(a);
/// let udp = me.udp_bind(0)?; // an ephemeral port
/// assert!(udp.local_port() >= 49152);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
        mut op: impl FnMut(&mut Stack<'static>) -> Result<T, Error>,
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

    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<'static>) -> R) -> R {
        f(self.net.inner.borrow_mut().stack(self.id))
    }

    /// `bind((addr, port))` + `listen(backlog)` for TCP.
    ///
    /// # Errors
    /// Those of [`socket::TcpListener::bind`]: [`Error::AddrInUse`] if the port
    /// is taken, [`Error::InvalidInput`] for port 0 or a backlog of 0 or over
    /// 255, [`Error::NoBufferSpace`] if the stack serves too many ports already.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// use layernet::socket::Error;
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let host = Net::new(sim).host(a);
    /// let listener = host.tcp_listen(8080, 4)?;
    /// assert_eq!(listener.local_port(), 8080);
    /// assert_eq!(host.tcp_listen(8080, 4).err(), Some(Error::AddrInUse));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// # Errors
    /// [`Error::Refused`] when the peer resets the attempt (nobody listens),
    /// [`Error::TimedOut`] when the handshake does not finish in time,
    /// [`Error::InvalidInput`] for port 0 or an unspecified address,
    /// [`Error::NoBufferSpace`] when the stack has no free TCP socket.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// use layernet::socket::Error;
    /// use layernet::Duration;
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let client = Net::new(sim).host(b);
    /// assert_eq!(client.tcp_connect(endpoint(a, 81), None).err(), Some(Error::Refused));
    /// // Host 3 does not exist: no ARP answer, no handshake.
    /// let nowhere = client.tcp_connect(endpoint(3, 80), Some(Duration::from_secs(2)));
    /// assert_eq!(nowhere.err(), Some(Error::TimedOut));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// # Errors
    /// [`Error::AddrInUse`] if the port is taken (or, for port 0, no ephemeral
    /// port is free), [`Error::NoBufferSpace`] if every UDP socket of the
    /// stack is in use.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let host = Net::new(sim).host(a);
    /// let sockets: Result<Vec<_>, _> = (1..=10).map(|p| host.udp_bind(p)).collect();
    /// assert!(sockets.is_err(), "the host profile has fewer UDP sockets than ten");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    host: Host<N>,
    inner: Option<socket::TcpListener>,
    timeout: Option<Duration>,
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
    /// [`MAX_WAITS`] rounds), [`Error::WouldBlock`] at once when the timeout
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
    host: Host<N>,
    inner: Option<socket::TcpStream>,
    timeout: Option<Duration>,
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

/// A blocking UDP socket.
///
/// # Example
///
/// ```
/// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
/// let (sim, a, b) = SimNet::pair(1)?;
/// let net = Net::new(sim);
/// let mut room = net.host(a).udp_bind(6868)?;
/// let mut peer = net.host(b).udp_bind(6868)?;
/// peer.send_to(b"hello room", endpoint(a, 6868))?;
/// let mut buf = [0u8; 64];
/// let (n, from) = room.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"hello room"[..], endpoint(b, 6868)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UdpSocket<N: Driver> {
    host: Host<N>,
    inner: Option<socket::UdpSocket>,
    timeout: Option<Duration>,
}

impl<N: Driver> UdpSocket<N> {
    /// `settimeout`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// use layernet::{Duration, socket::Error};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let mut udp = Net::new(sim).host(a).udp_bind(6868)?;
    /// udp.set_timeout(Some(Duration::from_secs(1)));
    /// assert_eq!(udp.recv_from(&mut [0u8; 8]).err(), Some(Error::TimedOut));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `sendto(data, addr)`: waits while the send queue is full.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for port 0 or an unspecified address,
    /// [`Error::NoBufferSpace`] for a datagram larger than the send buffer,
    /// [`Error::TimedOut`] when the send queue stayed full through the timeout,
    /// [`Error::WouldBlock`] at once when it is full and the timeout is zero.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// use layernet::socket::Error;
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let mut udp = Net::new(sim).host(a).udp_bind(0)?;
    /// assert_eq!(udp.send_to(b"x", endpoint(b, 0)), Err(Error::InvalidInput));
    /// assert_eq!(udp.send_to(&vec![0; 100_000], endpoint(b, 9)), Err(Error::NoBufferSpace));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_to(&mut self, data: &[u8], to: IpEndpoint) -> Result<(), Error> {
        let u = self.inner.as_mut().ok_or(Error::NotConnected)?;
        self.host.block(self.timeout, |s| u.send_to(s, data, to))
    }

    /// `recvfrom(bufsize)`: waits for a datagram.
    ///
    /// # Errors
    /// [`Error::TimedOut`] when no datagram came within the timeout,
    /// [`Error::WouldBlock`] at once when the timeout is zero.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut rx = net.host(a).udp_bind(6868)?;
    /// let mut tx = net.host(b).udp_bind(0)?;
    /// tx.send_to(&[1; 100], endpoint(a, 6868))?;
    /// let mut small = [0u8; 10];
    /// // Python's recvfrom(10): the rest of the datagram is lost.
    /// assert_eq!(rx.recv_from(&mut small)?.0, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_from(&mut self, buf: &mut [u8]) -> Result<(usize, IpEndpoint), Error> {
        let u = self.inner.as_mut().ok_or(Error::NotConnected)?;
        self.host.block(self.timeout, |s| u.recv_from(s, buf))
    }

    /// The bound port (`getsockname`).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let host = Net::new(sim).host(a);
    /// let (x, y) = (host.udp_bind(0)?, host.udp_bind(0)?);
    /// assert_ne!(x.local_port(), y.local_port(), "two ephemeral ports");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.inner.as_ref().map_or(0, |u| u.local_port())
    }

    /// `close()`: unbind; the same happens on drop.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut rx = net.host(a).udp_bind(53)?;
    /// rx.close();
    /// let mut rx = net.host(a).udp_bind(53)?; // the port can be bound again
    /// let mut tx = net.host(b).udp_bind(0)?; // kept open until its datagram left
    /// tx.send_to(b"q", endpoint(a, 53))?;
    /// assert_eq!(rx.recv_from(&mut [0u8; 4])?.0, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
