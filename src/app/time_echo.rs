//! TCP time-stamped echo: every line comes back as
//! `[YYYY-MM-DD HH:MM:SS]:<line>\n`.
//!
//! Layer: app. Uses [`crate::socket`] and a [`WallClock`].
//!
//! A line ends at `\n` (a `\r` before it is not echoed). A partial line
//! with no newline is answered, without a newline added, once
//! [`IDLE_FLUSH`] passes with no more data: the classic Python client sends
//! without a newline and waits for its answer. A partial line that fills
//! the connection's buffer is answered as if it had ended. The idle flush is
//! an application deadline, reported by [`Service::poll_at`], so the event
//! loop (or the simulation) wakes for it.

use smoltcp::time::{Duration, Instant};

use super::clock::WallClock;
use super::server::{Connection, Connections, Step};
use super::{Dial, Dialing, LOG_LINES, Outcome, Service, consume_front};
use crate::IpEndpoint;
use crate::net::Stack;
use crate::socket::{Error, TcpListener, TcpStream};

/// Quiet time after which a partial line is answered.
///
/// # Example
///
/// ```
/// use layernet::app::{clock::FixedEpoch, time_echo::*};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let server = TimeEchoServer::<_, 1>::bind(net.stack(a), 21566, 1, FixedEpoch::SIMULATION)?;
/// net.serve(a, Box::new(server));
/// let mut client = TimeEchoClient::<1, 64>::new(endpoint(a, 21566), &[b"no newline"]);
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert!(net.now() >= layernet::Instant::ZERO + IDLE_FLUSH, "answered after the quiet");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const IDLE_FLUSH: Duration = Duration::from_millis(100);

/// Length of `[YYYY-MM-DD HH:MM:SS]:`.
///
/// # Example
///
/// ```
/// use layernet::app::time_echo::PREFIX_LEN;
/// let reply = b"[2024-01-01 00:00:00]:hello\n";
/// assert_eq!(&reply[PREFIX_LEN..], b"hello\n");
/// ```
pub const PREFIX_LEN: usize = 22;

/// The reply being sent: prefix, then `body` bytes of the line buffer, then
/// maybe a newline; afterwards `consume` bytes leave the line buffer.
#[derive(Clone, Copy)]
struct Reply {
    prefix: [u8; PREFIX_LEN],
    body: usize,
    newline: bool,
    consume: usize,
    sent: usize,
}

impl Reply {
    fn total(&self) -> usize {
        PREFIX_LEN + self.body + usize::from(self.newline)
    }
}

struct Conn<const LINE: usize> {
    stream: TcpStream,
    line: [u8; LINE],
    len: usize,
    last_rx: Instant,
    eof: bool,
    reply: Option<Reply>,
}

impl<const LINE: usize> Connection for Conn<LINE> {
    fn into_stream(self) -> TcpStream {
        self.stream
    }
}

/// Time-stamped echo server: `CONNS` clients at once, lines up to `LINE` bytes.
///
/// # Example
///
/// ```
/// use layernet::app::{clock::FixedEpoch, time_echo::{TimeEchoClient, TimeEchoServer}};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, a, b) = SimNet::pair(2)?;
/// let clock = FixedEpoch::SIMULATION; // 2024-01-01 at virtual time zero
/// let server = TimeEchoServer::<_, 2>::bind(net.stack(a), 21566, 2, clock)?;
/// net.serve(a, Box::new(server));
/// let mut client = TimeEchoClient::<1, 64>::new(endpoint(a, 21566), &[b"one\r\n"]);
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert_eq!(client.replies()[0], b"[2024-01-01 00:00:00]:one\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped server keeps its listener and connections: call `Service::shutdown` first"]
pub struct TimeEchoServer<
    C: WallClock,
    const CONNS: usize,
    const LINE: usize = 256,
    const LOG: usize = LOG_LINES,
> {
    server: Connections<Conn<LINE>, CONNS, LOG>,
    clock: C,
    replies: u64,
}

/// `[YYYY-MM-DD HH:MM:SS]:`, padded with spaces or cut to [`PREFIX_LEN`];
/// written without `core::fmt` (see `DateTime::text`).
fn stamp<C: WallClock>(clock: &mut C, now: Instant) -> [u8; PREFIX_LEN] {
    let text = clock.datetime(now).text();
    let mut out = [b' '; PREFIX_LEN];
    let pieces: [&[u8]; 3] = [b"[", text.as_bytes(), b"]:"];
    for (slot, &b) in out.iter_mut().zip(pieces.iter().flat_map(|p| p.iter())) {
        *slot = b;
    }
    out
}

impl<C: WallClock, const CONNS: usize, const LINE: usize, const LOG: usize>
    TimeEchoServer<C, CONNS, LINE, LOG>
{
    /// Listen on `port`; stamp replies with `clock`.
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`]: [`Error::AddrInUse`] if the port is taken,
    /// [`Error::InvalidInput`] for port 0 or a backlog of 0 or over 255,
    /// [`Error::NoBufferSpace`] if the stack serves too many ports already.
    ///
    /// # Example
    /// ```
    /// use layernet::app::{clock::FixedEpoch, time_echo::TimeEchoServer};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::Error;
    /// let (mut net, a, _) = SimNet::pair(3)?;
    /// let first = TimeEchoServer::<_, 1>::bind(net.stack(a), 21566, 1, FixedEpoch { epoch: 0 })?;
    /// let second = TimeEchoServer::<_, 1>::bind(net.stack(a), 21566, 1, FixedEpoch { epoch: 0 });
    /// assert_eq!((first.replies(), second.err()), (0, Some(Error::AddrInUse)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16, backlog: usize, clock: C) -> Result<Self, Error> {
        Ok(TimeEchoServer {
            server: Connections::new(TcpListener::bind(stack, port, backlog)?),
            clock,
            replies: 0,
        })
    }

    /// Replies sent so far.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::{clock::FixedEpoch, time_echo::{TimeEchoClient, TimeEchoServer}};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let server = TimeEchoServer::<_, 1>::bind(net.stack(a), 5000, 1, FixedEpoch::SIMULATION)?;
    /// let server = Rc::new(RefCell::new(server));
    /// net.serve(a, Box::new(server.clone()));
    /// let mut client = TimeEchoClient::<2, 64>::new(endpoint(a, 5000), &[b"a\n", b"b\n"]);
    /// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
    /// assert_eq!(server.borrow().replies(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replies(&self) -> u64 {
        self.replies
    }
}

impl<const LINE: usize> Conn<LINE> {
    /// The reply due now, if any.
    fn next_reply<C: WallClock>(&self, now: Instant, clock: &mut C) -> Option<Reply> {
        let line = &self.line[..self.len];
        let (body, newline, consume) = if let Some(i) = line.iter().position(|&b| b == b'\n') {
            let body = if i > 0 && line[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            (body, true, i + 1)
        } else if self.len == LINE {
            (LINE, true, LINE)
        } else if self.len > 0 && (self.eof || now >= self.last_rx + IDLE_FLUSH) {
            (self.len, false, self.len)
        } else {
            return None;
        };
        Some(Reply {
            prefix: stamp(clock, now),
            body,
            newline,
            consume,
            sent: 0,
        })
    }

    /// Push the current reply into the socket; true when it is all queued.
    fn send_reply(&mut self, stack: &mut Stack<'_>) -> Result<bool, Error> {
        let Some(mut r) = self.reply else {
            return Ok(true);
        };
        while r.sent < r.total() {
            let chunk: &[u8] = if r.sent < PREFIX_LEN {
                &r.prefix[r.sent..]
            } else if r.sent < PREFIX_LEN + r.body {
                &self.line[r.sent - PREFIX_LEN..r.body]
            } else {
                b"\n"
            };
            match self.stream.send(stack, chunk) {
                Ok(n) => r.sent += n,
                Err(Error::WouldBlock) => break,
                Err(e) => return Err(e),
            }
        }
        if r.sent == r.total() {
            self.len = consume_front(&mut self.line, self.len, r.consume);
            self.reply = None;
            Ok(true)
        } else {
            self.reply = Some(r);
            Ok(false)
        }
    }
}

impl<const LINE: usize> Conn<LINE> {
    /// Send what is due, stamp what is complete, read what fits;
    /// [`Step::Done`] once the client closed and everything was answered,
    /// or the connection broke.
    fn step<C: WallClock>(
        &mut self,
        stack: &mut Stack<'_>,
        now: Instant,
        clock: &mut C,
        replies: &mut u64,
    ) -> Step {
        let mut progress = false;
        let mut dead = false;
        // Bounded: each round either queues a reply, reads, or stops.
        for _ in 0..4 * LINE {
            match self.send_reply(stack) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => {
                    dead = true;
                    break;
                }
            }
            if let Some(r) = self.next_reply(now, clock) {
                self.reply = Some(r);
                *replies += 1;
                progress = true;
                continue;
            }
            if self.eof || self.len == LINE {
                break;
            }
            match self.stream.recv(stack, &mut self.line[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.len += n;
                    self.last_rx = now;
                }
                Err(Error::WouldBlock) => break,
                Err(_) => {
                    dead = true;
                    break;
                }
            }
            progress = true;
        }
        Step::from_parts(
            progress,
            dead || (self.eof && self.len == 0 && self.reply.is_none()),
        )
    }
}

impl<C: WallClock, const CONNS: usize, const LINE: usize, const LOG: usize> Service
    for TimeEchoServer<C, CONNS, LINE, LOG>
{
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let accepted = self.server.accept(stack, CONNS, |stream, peer, _, log| {
            log.push_peer("time-echo: connected by ", peer);
            Conn {
                stream,
                line: [0; LINE],
                len: 0,
                last_rx: now,
                eof: false,
                reply: None,
            }
        });
        let (clock, replies) = (&mut self.clock, &mut self.replies);
        let stepped = self
            .server
            .step(stack, |c, stack, _| c.step(stack, now, clock, replies));
        accepted | stepped
    }

    fn poll_at(&self) -> Option<Instant> {
        self.server
            .iter()
            .filter(|c| c.reply.is_none() && c.len > 0 && !c.line[..c.len].contains(&b'\n'))
            .map(|c| c.last_rx + IDLE_FLUSH)
            .min()
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.server.drain_log(sink);
    }

    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        self.server.shutdown(stack);
    }
}

/// True if `reply` is `[YYYY-MM-DD HH:MM:SS]:` followed by `body` and,
/// if `newline`, a `\n`.
///
/// # Example
///
/// ```
/// use layernet::app::time_echo::is_reply_to;
/// assert!(is_reply_to(b"[2031-12-24 18:30:05]:hi\n", b"hi", true));
/// assert!(is_reply_to(b"[2031-12-24 18:30:05]:hi", b"hi", false));
/// assert!(!is_reply_to(b"[yesterday]:hi\n", b"hi", true));
/// ```
pub fn is_reply_to(reply: &[u8], body: &[u8], newline: bool) -> bool {
    const SHAPE: &[u8; PREFIX_LEN] = b"[dddd-dd-dd dd:dd:dd]:";
    let expect_len = PREFIX_LEN + body.len() + usize::from(newline);
    reply.len() == expect_len
        && reply[..PREFIX_LEN].iter().zip(SHAPE).all(|(&b, &s)| {
            if s == b'd' {
                b.is_ascii_digit()
            } else {
                b == s
            }
        })
        && &reply[PREFIX_LEN..PREFIX_LEN + body.len()] == body
        && (!newline || reply[expect_len - 1] == b'\n')
}

/// Time-stamped echo client: sends each of its lines in turn and collects
/// the reply to each before sending the next. A line that ends in `\n` is
/// answered with a newline; one that does not is answered after the
/// server's idle flush, without one.
///
/// # Example
///
/// ```
/// use layernet::app::{Outcome, clock::FixedEpoch, time_echo::*};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, a, b) = SimNet::pair(5)?;
/// let server = TimeEchoServer::<_, 1>::bind(net.stack(a), 21566, 1, FixedEpoch::SIMULATION)?;
/// net.serve(a, Box::new(server));
/// let lines: [&[u8]; 2] = [b"with\n", b"without"];
/// let mut client = TimeEchoClient::<2, 64>::new(endpoint(a, 21566), &lines);
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert!(client.outcome() == Outcome::Done && is_reply_to(&client.replies()[1], b"without", false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TimeEchoClient<const LINES: usize = 4, const MAX: usize = 128> {
    dial: Dial,
    lines: heapless::Vec<heapless::Vec<u8, MAX>, LINES>,
    current: usize,
    sent: usize,
    reply: heapless::Vec<u8, MAX>,
    replies: heapless::Vec<heapless::Vec<u8, MAX>, LINES>,
    outcome: Outcome,
}

impl<const LINES: usize, const MAX: usize> TimeEchoClient<LINES, MAX> {
    /// A client that will send `lines` (at most `LINES`, each cut to fit a
    /// reply in `MAX` bytes).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, time_echo::TimeEchoClient};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(6)?;
    /// // LINES = 1: only the first line is kept. Nobody listens, so it fails.
    /// let mut client = TimeEchoClient::<1, 32>::new(endpoint(a, 21566), &[b"x\n", b"y\n"]);
    /// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
    /// assert!(matches!(client.outcome(), Outcome::Failed(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(server: IpEndpoint, lines: &[&[u8]]) -> Self {
        let mut v = heapless::Vec::new();
        for l in lines.iter().take(LINES) {
            let mut line = heapless::Vec::new();
            let room = MAX.saturating_sub(PREFIX_LEN + 1);
            let _ = line.extend_from_slice(&l[..l.len().min(room)]);
            let _ = v.push(line);
        }
        TimeEchoClient {
            dial: Dial::new(server),
            lines: v,
            current: 0,
            sent: 0,
            reply: heapless::Vec::new(),
            replies: heapless::Vec::new(),
            outcome: Outcome::Running,
        }
    }

    /// The replies received, one per line sent.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{clock::FixedEpoch, time_echo::*};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(7)?;
    /// let at_1999 = FixedEpoch { epoch: 946_684_799 }; // 1999-12-31 23:59:59
    /// let server = TimeEchoServer::<_, 1>::bind(net.stack(a), 21566, 1, at_1999)?;
    /// net.serve(a, Box::new(server));
    /// let mut client = TimeEchoClient::<1, 64>::new(endpoint(a, 21566), &[b"y2k?\n"]);
    /// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
    /// assert_eq!(client.replies().len(), 1);
    /// assert!(client.replies()[0].starts_with(b"[1999-12-31 23:59:59]:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replies(&self) -> &[heapless::Vec<u8, MAX>] {
        &self.replies
    }

    /// How the exchange ended.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, time_echo::TimeEchoClient};
    /// use layernet::host::sim::endpoint;
    /// // An empty exchange is not over before it starts: it connects first.
    /// let client = TimeEchoClient::<1, 32>::new(endpoint(0, 21566), &[]);
    /// assert_eq!(client.outcome(), Outcome::Running);
    /// ```
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// What the reply to `line` must be: its body and whether a newline ends it.
    fn expected(line: &[u8]) -> (&[u8], bool) {
        match line.strip_suffix(b"\n") {
            Some(body) => (body.strip_suffix(b"\r").unwrap_or(body), true),
            None => (line, false),
        }
    }

    fn finish(&mut self, stack: &mut Stack<'_>, outcome: Outcome) {
        self.outcome = outcome;
        self.dial.close(stack);
    }
}

impl<const LINES: usize, const MAX: usize> Service for TimeEchoClient<LINES, MAX> {
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
        if self.outcome != Outcome::Running {
            return false;
        }
        let stream = match self.dial.poll(stack) {
            Dialing::Ready(s) => s,
            Dialing::Started => return true,
            Dialing::Waiting => return false,
            Dialing::Failed(e) => {
                self.finish(stack, Outcome::Failed(e));
                return true;
            }
        };
        let Some(line) = self.lines.get(self.current) else {
            self.finish(stack, Outcome::Done);
            return true;
        };
        let mut progress = false;
        if self.sent < line.len() {
            match stream.send(stack, &line[self.sent..]) {
                Ok(n) => {
                    self.sent += n;
                    progress |= n > 0;
                }
                Err(Error::WouldBlock) => {}
                Err(e) => {
                    self.finish(stack, Outcome::Failed(e));
                    return true;
                }
            }
        }
        let (body, newline) = Self::expected(line);
        let want = PREFIX_LEN + body.len() + usize::from(newline);
        let mut buf = [0u8; 64];
        while self.reply.len() < want {
            let n = (want - self.reply.len()).min(buf.len());
            match stream.recv(stack, &mut buf[..n]) {
                Ok(0) => {
                    self.finish(stack, Outcome::Mismatch);
                    return true;
                }
                Ok(n) => {
                    let _ = self.reply.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(Error::WouldBlock) => break,
                Err(e) => {
                    self.finish(stack, Outcome::Failed(e));
                    return true;
                }
            }
        }
        if self.reply.len() == want {
            if !is_reply_to(&self.reply, body, newline) {
                self.finish(stack, Outcome::Mismatch);
                return true;
            }
            let _ = self.replies.push(core::mem::take(&mut self.reply));
            self.current += 1;
            self.sent = 0;
            progress = true;
        }
        progress
    }

    fn is_done(&self) -> bool {
        self.outcome != Outcome::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_shape() {
        assert!(is_reply_to(b"[2024-01-01 00:00:00]:hi\n", b"hi", true));
        assert!(is_reply_to(b"[2024-01-01 00:00:00]:hi", b"hi", false));
        assert!(!is_reply_to(b"[2024-01-01 00:00:00]:hi", b"hi", true));
        assert!(!is_reply_to(b"[2024-01-01T00:00:00]:hi\n", b"hi", true));
        assert!(!is_reply_to(b"[2024-01-01 00:00:00]:ho\n", b"hi", true));
        assert!(!is_reply_to(b"", b"", false));
    }
}
