//! TCP greeting: the server sends one greeting to each client that
//! connects, then closes gracefully; the client reads until end of file.
//!
//! Layer: app. Uses [`crate::socket`] only.

use smoltcp::time::Instant;

use super::server::{Connection, Connections, Step};
use super::{Dial, Dialing, LOG_LINES, Outcome, Service};
use crate::IpEndpoint;
use crate::net::Stack;
use crate::socket::{Error, TcpListener, TcpStream};

/// The classic program's greeting.
///
/// # Example
///
/// ```
/// use layernet::app::greeting::{DEFAULT_GREETING, GreetingClient, GreetingServer};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let server = GreetingServer::<1>::bind(net.stack(a), 1234, 1, DEFAULT_GREETING)?;
/// net.serve(a, Box::new(server));
/// let mut client = GreetingClient::<64>::new(endpoint(a, 1234));
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert_eq!(client.received(), b"connect successfully!\r\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_GREETING: &[u8] = b"connect successfully!\r\n";

/// Longest greeting a server holds.
///
/// # Example
///
/// ```
/// use layernet::app::greeting::{GREETING_MAX, GreetingClient, GreetingServer};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, a, b) = SimNet::pair(2)?;
/// let long = [b'!'; 300];
/// let server = GreetingServer::<1>::bind(net.stack(a), 1234, 1, &long)?;
/// net.serve(a, Box::new(server));
/// let mut client = GreetingClient::<512>::new(endpoint(a, 1234));
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert_eq!(client.received().len(), GREETING_MAX);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const GREETING_MAX: usize = 256;

struct Conn {
    stream: TcpStream,
    sent: usize,
}

impl Connection for Conn {
    fn into_stream(self) -> TcpStream {
        self.stream
    }
}

/// Greeting server: up to `CONNS` clients being greeted at once.
///
/// # Example
///
/// ```
/// use layernet::app::greeting::{GreetingClient, GreetingServer};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, a, b) = SimNet::pair(3)?;
/// let server = GreetingServer::<2>::bind(net.stack(a), 4000, 2, b"welcome\n")?;
/// net.serve(a, Box::new(server));
/// for _ in 0..2 {
///     let mut client = GreetingClient::<16>::new(endpoint(a, 4000));
///     assert!(net.run_client(b, &mut client, layernet::Duration::from_secs(5)));
///     assert_eq!(client.received(), b"welcome\n");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped server keeps its listener and connections: call `Service::shutdown` first"]
pub struct GreetingServer<const CONNS: usize, const LOG: usize = LOG_LINES> {
    server: Connections<Conn, CONNS, LOG>,
    greeting: heapless::Vec<u8, GREETING_MAX>,
    served: u64,
}

impl<const CONNS: usize, const LOG: usize> GreetingServer<CONNS, LOG> {
    /// Listen on `port` and greet with `greeting` (cut to [`GREETING_MAX`] bytes).
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`]: [`Error::AddrInUse`] if the port is taken,
    /// [`Error::InvalidInput`] for port 0 or a backlog of 0 or over 255,
    /// [`Error::NoBufferSpace`] if the stack serves too many ports already.
    ///
    /// # Example
    /// ```
    /// use layernet::app::greeting::GreetingServer;
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::Error;
    /// let (mut net, a, _) = SimNet::pair(4)?;
    /// let no_backlog = GreetingServer::<1>::bind(net.stack(a), 1234, 0, b"hi\n");
    /// assert_eq!(no_backlog.err(), Some(Error::InvalidInput));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(
        stack: &mut Stack<'_>,
        port: u16,
        backlog: usize,
        greeting: &[u8],
    ) -> Result<Self, Error> {
        let mut g = heapless::Vec::new();
        let _ = g.extend_from_slice(&greeting[..greeting.len().min(GREETING_MAX)]);
        Ok(GreetingServer {
            server: Connections::new(TcpListener::bind(stack, port, backlog)?),
            greeting: g,
            served: 0,
        })
    }

    /// Clients greeted (completely) so far.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::greeting::{GreetingClient, GreetingServer};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(5)?;
    /// let server = Rc::new(RefCell::new(GreetingServer::<1>::bind(net.stack(a), 1234, 1, b"hey\n")?));
    /// net.serve(a, Box::new(server.clone()));
    /// assert_eq!(server.borrow().served(), 0);
    /// net.run_client(b, &mut GreetingClient::<8>::new(endpoint(a, 1234)), layernet::Duration::from_secs(5));
    /// assert_eq!(server.borrow().served(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn served(&self) -> u64 {
        self.served
    }
}

impl<const CONNS: usize, const LOG: usize> Service for GreetingServer<CONNS, LOG> {
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
        let accepted = self.server.accept(stack, CONNS, |stream, peer, _, log| {
            log.push_peer("greeting: connected by ", peer);
            Conn { stream, sent: 0 }
        });
        let (greeting, served) = (&self.greeting, &mut self.served);
        // Finished connections close gracefully: the greeting still in the
        // send buffer goes out before the FIN.
        let stepped = self.server.step(stack, |c, stack, _| {
            let (progress, finished) = match c.stream.send(stack, &greeting[c.sent..]) {
                Ok(n) => {
                    c.sent += n;
                    (n > 0, c.sent == greeting.len())
                }
                Err(Error::WouldBlock) => (false, false),
                Err(_) => (true, true),
            };
            // Counted only if all of it went.
            if finished && c.sent == greeting.len() {
                *served += 1;
            }
            Step::from_parts(progress, finished)
        });
        accepted | stepped
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.server.drain_log(sink);
    }

    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        self.server.shutdown(stack);
    }
}

/// Greeting client: connects and keeps what arrives (up to `MAX` bytes)
/// until the server closes.
///
/// # Example
///
/// ```
/// use layernet::app::{Outcome, greeting::{DEFAULT_GREETING, GreetingClient, GreetingServer}};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, a, b) = SimNet::pair(6)?;
/// let server = GreetingServer::<1>::bind(net.stack(a), 1234, 1, DEFAULT_GREETING)?;
/// net.serve(a, Box::new(server));
/// // MAX = 8 is too small for the 23-byte greeting.
/// let mut client = GreetingClient::<8>::new(endpoint(a, 1234));
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert_eq!(client.outcome(), Outcome::Mismatch);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct GreetingClient<const MAX: usize = 256> {
    dial: Dial,
    received: heapless::Vec<u8, MAX>,
    outcome: Outcome,
}

impl<const MAX: usize> GreetingClient<MAX> {
    /// A client for the greeting server at `server`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, greeting::GreetingClient};
    /// use layernet::host::sim::endpoint;
    /// let client: GreetingClient = GreetingClient::new(endpoint(0, 1234));
    /// assert_eq!(client.outcome(), Outcome::Running);
    /// ```
    pub fn new(server: IpEndpoint) -> Self {
        GreetingClient {
            dial: Dial::new(server),
            received: heapless::Vec::new(),
            outcome: Outcome::Running,
        }
    }

    /// What the server sent.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::greeting::{GreetingClient, GreetingServer};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(7)?;
    /// let server = GreetingServer::<1>::bind(net.stack(a), 99, 1, "grüß dich\n".as_bytes())?;
    /// net.serve(a, Box::new(server));
    /// let mut client = GreetingClient::<32>::new(endpoint(a, 99));
    /// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
    /// assert_eq!(std::str::from_utf8(client.received())?, "grüß dich\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    /// How the exchange ended (`Done` once the server closed).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, greeting::GreetingClient};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::Error;
    /// let (mut net, a, b) = SimNet::pair(8)?;
    /// let mut client = GreetingClient::<32>::new(endpoint(a, 1234)); // nobody listens
    /// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
    /// assert_eq!(client.outcome(), Outcome::Failed(Error::Refused));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
}

impl<const MAX: usize> Service for GreetingClient<MAX> {
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
        if self.outcome != Outcome::Running {
            return false;
        }
        let stream = match self.dial.poll(stack) {
            Dialing::Ready(s) => s,
            Dialing::Started => return true,
            Dialing::Waiting => return false,
            Dialing::Failed(e) => {
                self.outcome = Outcome::Failed(e);
                return true;
            }
        };
        let mut progress = false;
        let mut buf = [0u8; 128];
        loop {
            match stream.recv(stack, &mut buf) {
                Ok(0) => {
                    self.outcome = Outcome::Done;
                    break;
                }
                Ok(n) => {
                    if self.received.extend_from_slice(&buf[..n]).is_err() {
                        self.outcome = Outcome::Mismatch;
                        break;
                    }
                    progress = true;
                }
                Err(Error::WouldBlock) => break,
                Err(e) => {
                    self.outcome = Outcome::Failed(e);
                    break;
                }
            }
        }
        if self.outcome != Outcome::Running {
            self.dial.close(stack);
            progress = true;
        }
        progress
    }

    fn is_done(&self) -> bool {
        self.outcome != Outcome::Running
    }
}
