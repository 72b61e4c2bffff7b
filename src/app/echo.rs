//! TCP echo (RFC 862): the server sends back every byte it receives; the
//! client sends a message and checks that the same bytes come back.
//!
//! Layer: app. Uses [`crate::socket`] only.

use smoltcp::time::Instant;

use super::{Dial, Dialing, Log, Outcome, Service, consume_front};
use crate::IpEndpoint;
use crate::link::Link;
use crate::net::Stack;
use crate::socket::{Error, TcpListener, TcpStream};

struct Conn<const BUF: usize> {
    stream: TcpStream,
    peer: IpEndpoint,
    buf: [u8; BUF],
    len: usize,
    eof: bool,
}

/// Echo server: up to `CONNS` clients at once, `BUF` bytes in flight each.
pub struct EchoServer<const CONNS: usize, const BUF: usize = 512> {
    listener: TcpListener,
    conns: heapless::Vec<Conn<BUF>, CONNS>,
    served: u64,
    echoed: u64,
    log: Log,
}

impl<const CONNS: usize, const BUF: usize> EchoServer<CONNS, BUF> {
    /// Listen on `port` with `backlog` slots.
    pub fn bind<D: Link>(
        stack: &mut Stack<'_, D>,
        port: u16,
        backlog: usize,
    ) -> Result<Self, Error> {
        Ok(EchoServer {
            listener: TcpListener::bind(stack, port, backlog)?,
            conns: heapless::Vec::new(),
            served: 0,
            echoed: 0,
            log: Log::new(),
        })
    }

    /// Connections accepted so far.
    pub fn served(&self) -> u64 {
        self.served
    }

    /// Bytes echoed so far.
    pub fn echoed(&self) -> u64 {
        self.echoed
    }

    /// Connections open now.
    pub fn active(&self) -> usize {
        self.conns.len()
    }
}

impl<D: Link, const CONNS: usize, const BUF: usize> Service<D> for EchoServer<CONNS, BUF> {
    fn poll(&mut self, stack: &mut Stack<'_, D>, _now: Instant) -> bool {
        let mut progress = false;
        while !self.conns.is_full() {
            match self.listener.accept(stack) {
                Ok((stream, peer)) => {
                    self.log.push(format_args!("echo: connected by {peer}"));
                    self.served += 1;
                    let _ = self.conns.push(Conn {
                        stream,
                        peer,
                        buf: [0; BUF],
                        len: 0,
                        eof: false,
                    });
                    progress = true;
                }
                Err(_) => break,
            }
        }
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            let mut dead = false;
            // Read only what we have room to hold: the rest waits in the
            // socket, and TCP's window tells the client to slow down.
            loop {
                if c.len > 0 {
                    match c.stream.send(stack, &c.buf[..c.len]) {
                        Ok(n) => {
                            c.len = consume_front(&mut c.buf, c.len, n);
                            self.echoed += n as u64;
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
            if dead || (c.eof && c.len == 0) {
                let c = self.conns.swap_remove(i);
                self.log.push(format_args!("echo: {} closed", c.peer));
                c.stream.close(stack);
                progress = true;
            } else {
                i += 1;
            }
        }
        progress
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.log.drain(sink);
    }

    fn shutdown(&mut self, stack: &mut Stack<'_, D>) {
        self.listener.stop(stack);
        while let Some(c) = self.conns.pop() {
            c.stream.close(stack);
        }
    }
}

/// Echo client: sends `message` (up to `MSG` bytes), reads until the same
/// number of bytes came back, compares, closes.
pub struct EchoClient<const MSG: usize = 1024> {
    dial: Dial,
    message: heapless::Vec<u8, MSG>,
    sent: usize,
    received: heapless::Vec<u8, MSG>,
    outcome: Outcome,
}

impl<const MSG: usize> EchoClient<MSG> {
    /// A client that will send `message` (cut to `MSG` bytes) to `server`.
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
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The bytes that came back.
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    fn fail<D: Link>(&mut self, stack: &mut Stack<'_, D>, e: Error) {
        self.outcome = Outcome::Failed(e);
        self.dial.abort(stack);
    }
}

impl<D: Link, const MSG: usize> Service<D> for EchoClient<MSG> {
    fn poll(&mut self, stack: &mut Stack<'_, D>, _now: Instant) -> bool {
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
