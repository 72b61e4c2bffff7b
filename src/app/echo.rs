//! TCP echo (RFC 862): the server sends back every byte it receives; the
//! client sends a message and checks that the same bytes come back.
//!
//! Layer: app. Uses [`crate::socket`] only.

use smoltcp::time::Instant;

use super::server::{Connection, Connections, Step};
use super::{Dial, Dialing, LOG_LINES, Outcome, Service, consume_front};
use crate::IpEndpoint;
use crate::net::Stack;
use crate::socket::{Error, TcpListener, TcpStream};

struct Conn<const BUF: usize> {
    stream: TcpStream,
    peer: IpEndpoint,
    buf: [u8; BUF],
    len: usize,
    eof: bool,
}

impl<const BUF: usize> Connection for Conn<BUF> {
    fn into_stream(self) -> TcpStream {
        self.stream
    }
}

/// Echo server: up to `CONNS` clients at once, `BUF` bytes in flight each.
///
/// # Example
///
/// ```
/// use layernet::app::echo::{EchoClient, EchoServer};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, server, client) = SimNet::pair(7)?;
/// let echo = EchoServer::<2>::bind(net.stack(server), 7, 2)?;
/// net.serve(server, Box::new(echo));
/// let mut c = EchoClient::<64>::new(endpoint(server, 7), b"ping? pong!");
/// assert!(net.run_client(client, &mut c, layernet::Duration::from_secs(5)));
/// assert_eq!(c.received(), b"ping? pong!");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped server keeps its listener and connections: call `Service::shutdown` first"]
pub struct EchoServer<const CONNS: usize, const BUF: usize = 512, const LOG: usize = LOG_LINES> {
    server: Connections<Conn<BUF>, CONNS, LOG>,
    served: u64,
    echoed: u64,
}

impl<const CONNS: usize, const BUF: usize, const LOG: usize> EchoServer<CONNS, BUF, LOG> {
    /// Listen on `port` with `backlog` slots.
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`]: [`Error::AddrInUse`] if the port is taken,
    /// [`Error::InvalidInput`] for port 0 or a backlog of 0 or over 255,
    /// [`Error::NoBufferSpace`] if the stack serves too many ports already.
    ///
    /// # Example
    /// ```
    /// use layernet::app::echo::EchoServer;
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::Error;
    /// let (mut net, host, _) = SimNet::pair(1)?;
    /// let port_zero = EchoServer::<2>::bind(net.stack(host), 0, 2);
    /// assert_eq!(port_zero.err(), Some(Error::InvalidInput));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16, backlog: usize) -> Result<Self, Error> {
        Ok(EchoServer {
            server: Connections::new(TcpListener::bind(stack, port, backlog)?),
            served: 0,
            echoed: 0,
        })
    }

    /// Connections accepted so far.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::echo::{EchoClient, EchoServer};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(3)?;
    /// let server = Rc::new(RefCell::new(EchoServer::<1>::bind(net.stack(a), 7, 1)?));
    /// net.serve(a, Box::new(Rc::clone(&server)));
    /// for text in [&b"one"[..], b"two"] {
    ///     net.run_client(b, &mut EchoClient::<8>::new(endpoint(a, 7), text), layernet::Duration::from_secs(5));
    /// }
    /// assert_eq!(server.borrow().served(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn served(&self) -> u64 {
        self.served
    }

    /// Bytes echoed so far.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::echo::{EchoClient, EchoServer};
    /// use layernet::host::sim::{SimNet, SimService, endpoint};
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let mut server = EchoServer::<1>::bind(net.stack(a), 7, 1)?;
    /// let mut client = EchoClient::<2048>::new(endpoint(a, 7), &[b'x'; 2000]);
    /// let mut both: [(usize, &mut SimService); 2] = [(a, &mut server), (b, &mut client)];
    /// net.run_until(layernet::Duration::from_secs(5), &mut both, |s| s[1].1.is_done());
    /// assert_eq!(server.echoed(), 2000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn echoed(&self) -> u64 {
        self.echoed
    }

    /// Connections open now.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::echo::EchoServer;
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(5)?;
    /// let server = Rc::new(RefCell::new(EchoServer::<2>::bind(sim.stack(a), 7, 2)?));
    /// sim.serve(a, Box::new(Rc::clone(&server)));
    /// let net = Net::new(sim);
    /// let stream = net.host(b).tcp_connect(endpoint(a, 7), None)?;
    /// net.with(|sim| sim.run_for(layernet::Duration::from_millis(10)));
    /// assert_eq!(server.borrow().active(), 1);
    /// drop(stream); // a graceful close: the server closes its side too
    /// net.with(|sim| sim.run_for(layernet::Duration::from_millis(10)));
    /// assert_eq!(server.borrow().active(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn active(&self) -> usize {
        self.server.len()
    }
}

impl<const CONNS: usize, const BUF: usize, const LOG: usize> Service
    for EchoServer<CONNS, BUF, LOG>
{
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
        let served = &mut self.served;
        let accepted = self
            .server
            .accept(stack, CONNS, |mut stream, peer, stack, log| {
                // An echo is a reply: with Nagle, the short tail of a message
                // longer than one segment would wait for the client's ACK of
                // the head, which the client delays (40 ms on Linux) while it
                // waits for the rest.
                stream.set_nodelay(stack, true);
                log.push_peer("echo: connected by ", peer);
                *served += 1;
                Conn {
                    stream,
                    peer,
                    buf: [0; BUF],
                    len: 0,
                    eof: false,
                }
            });
        let echoed = &mut self.echoed;
        let stepped = self.server.step(stack, |c, stack, log| {
            let step = echo_step(c, stack, echoed);
            if step == Step::Done {
                log.push(format_args!("echo: {} closed", c.peer));
            }
            step
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

/// Send back what is held, read what fits; [`Step::Done`] once the client
/// closed and everything went back, or the connection broke.
fn echo_step<const BUF: usize>(c: &mut Conn<BUF>, stack: &mut Stack<'_>, echoed: &mut u64) -> Step {
    let mut progress = false;
    let mut dead = false;
    // Read only what we have room to hold: the rest waits in the socket,
    // and TCP's window tells the client to slow down.
    loop {
        if c.len > 0 {
            match c.stream.send(stack, &c.buf[..c.len]) {
                Ok(n) => {
                    c.len = consume_front(&mut c.buf, c.len, n);
                    *echoed += n as u64;
                    progress |= n > 0;
                }
                Err(Error::WouldBlock) => {}
                Err(_) => dead = true,
            }
        }
        if dead || c.eof || c.len == BUF {
            break;
        }
        match c.stream.recv(stack, &mut c.buf[c.len..]) {
            Ok(0) => {
                c.eof = true;
                progress = true;
            }
            Ok(n) => {
                c.len += n;
                progress = true;
                continue;
            }
            Err(Error::WouldBlock) => {}
            Err(_) => dead = true,
        }
        break;
    }
    Step::from_parts(progress, dead || (c.eof && c.len == 0))
}

/// Echo client: sends `message` (up to `MSG` bytes), reads until the same
/// number of bytes came back, compares, closes.
///
/// # Example
///
/// ```
/// use layernet::app::echo::{EchoClient, EchoServer};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, a, b) = SimNet::pair(8)?;
/// let server = EchoServer::<1>::bind(net.stack(a), 7, 1)?;
/// net.serve(a, Box::new(server));
/// // MSG = 4: the message is cut to its first four bytes.
/// let mut client = EchoClient::<4>::new(endpoint(a, 7), b"abcdef");
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert_eq!(client.received(), b"abcd");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EchoClient<const MSG: usize = 1024> {
    dial: Dial,
    message: heapless::Vec<u8, MSG>,
    sent: usize,
    received: heapless::Vec<u8, MSG>,
    outcome: Outcome,
}

impl<const MSG: usize> EchoClient<MSG> {
    /// A client that will send `message` (cut to `MSG` bytes) to `server`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, echo::EchoClient};
    /// use layernet::host::sim::endpoint;
    /// // Nothing happens until the client is polled.
    /// let client = EchoClient::<16>::new(endpoint(0, 7), b"later");
    /// assert_eq!((client.outcome(), client.received()), (Outcome::Running, &b""[..]));
    /// ```
    pub fn new(server: IpEndpoint, message: &[u8]) -> Self {
        let mut m = heapless::Vec::new();
        let _ = m.extend_from_slice(&message[..message.len().min(MSG)]);
        EchoClient {
            dial: Dial::new(server),
            message: m,
            sent: 0,
            received: heapless::Vec::new(),
            outcome: Outcome::Running,
        }
    }

    /// How the exchange ended (or `Running`).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, echo::EchoClient, greeting::GreetingServer};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(9)?;
    /// // Not an echo server: what comes back is a greeting, not our bytes.
    /// let server = GreetingServer::<1>::bind(net.stack(a), 7, 1, b"hello there\n")?;
    /// net.serve(a, Box::new(server));
    /// let mut client = EchoClient::<8>::new(endpoint(a, 7), b"howdy");
    /// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
    /// assert_eq!(client.outcome(), Outcome::Mismatch);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The bytes that came back.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::echo::{EchoClient, EchoServer};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(10)?;
    /// let server = EchoServer::<1, 64>::bind(net.stack(a), 7, 1)?;
    /// net.serve(a, Box::new(server));
    /// let message = [7u8; 300]; // more than the server's 64-byte buffer
    /// let mut client = EchoClient::<300>::new(endpoint(a, 7), &message);
    /// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
    /// assert_eq!(client.received(), &message[..]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    fn fail(&mut self, stack: &mut Stack<'_>, e: Error) {
        self.outcome = Outcome::Failed(e);
        self.dial.abort(stack);
    }
}

impl<const MSG: usize> Service for EchoClient<MSG> {
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
        if self.outcome != Outcome::Running {
            return false;
        }
        let stream = match self.dial.poll(stack) {
            Dialing::Ready(s) => s,
            Dialing::Started => return true,
            Dialing::Waiting => return false,
            Dialing::Failed(e) => {
                self.fail(stack, e);
                return true;
            }
        };
        let mut progress = false;
        if self.sent < self.message.len() {
            match stream.send(stack, &self.message[self.sent..]) {
                Ok(n) => {
                    self.sent += n;
                    progress |= n > 0;
                }
                Err(Error::WouldBlock) => {}
                Err(e) => {
                    self.fail(stack, e);
                    return true;
                }
            }
        }
        let mut buf = [0u8; 256];
        loop {
            let want = (self.message.len() - self.received.len()).min(buf.len());
            if want == 0 {
                break;
            }
            match stream.recv(stack, &mut buf[..want]) {
                Ok(0) => {
                    self.outcome = Outcome::Mismatch;
                    break;
                }
                Ok(n) => {
                    let _ = self.received.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(Error::WouldBlock) => break,
                Err(e) => {
                    self.fail(stack, e);
                    return true;
                }
            }
        }
        if self.received.len() == self.message.len() || self.outcome == Outcome::Mismatch {
            if self.outcome == Outcome::Running {
                self.outcome = if self.received == self.message {
                    Outcome::Done
                } else {
                    Outcome::Mismatch
                };
            }
            self.dial.close(stack);
            progress = true;
        }
        progress
    }

    fn is_done(&self) -> bool {
        self.outcome != Outcome::Running
    }
}
