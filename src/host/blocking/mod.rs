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
//!
//! By concern: this file holds the driver, the shared handle and a host's
//! view of it; `tcp` the listener and the stream, `udp` the datagram
//! socket.

mod tcp;
mod udp;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;

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
