//! Application layer: the classic programs as poll-driven state machines.
//!
//! Layer: app, the top one. Depends only on [`crate::socket`] (and the
//! [`crate::net::Stack`] it borrows) and on address and time types; it
//! never touches smoltcp's sockets or wire formats.
//!
//! Each server keeps a fixed number of connections with fixed buffers
//! (const generics) and serves them all in one [`Service::poll`]: nothing
//! blocks, nothing allocates. A host runs them from its event loop, a board
//! from its main loop, the simulation from its scheduler.

pub mod chat;
pub mod clock;
pub mod echo;
pub mod files;
pub mod greeting;
pub mod iperf3;
pub mod mdns;
pub mod ping;
pub mod server;
pub mod services;
pub mod sntp;
pub mod storage;
pub mod time_echo;
pub mod transport;
pub mod writer;

use crate::net::Stack;
use crate::socket::{Error, TcpStream};
use smoltcp::time::Instant;

/// Ports of the classic services.
pub mod ports {
    /// TCP echo (RFC 862).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{echo::EchoServer, ports};
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let _server = EchoServer::<1>::bind(net.stack(a), ports::ECHO, 1)?;
    /// assert!(EchoServer::<1>::bind(net.stack(a), ports::ECHO, 1).is_err(), "port taken");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const ECHO: u16 = 7;
    /// TCP greeting.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{greeting::GreetingClient, ports};
    /// use layernet::host::sim::endpoint;
    /// let client = GreetingClient::<64>::new(endpoint(0, ports::GREETING));
    /// assert!(client.received().is_empty());
    /// ```
    pub const GREETING: u16 = 1234;
    /// TCP time-stamped echo.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ports;
    /// use layernet::host::sim::endpoint;
    /// assert_eq!(endpoint(0, ports::TIME_ECHO).to_string(), "192.168.69.1:21566");
    /// ```
    pub const TIME_ECHO: u16 = 21566;
    /// UDP chat.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{chat::ChatRoom, ports};
    /// use layernet::host::sim::SimNet;
    /// let (mut net, room_host, _) = SimNet::pair(3)?;
    /// let room = ChatRoom::<4>::bind(net.stack(room_host), ports::CHAT)?;
    /// assert_eq!(room.received(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const CHAT: u16 = 6868;
    /// HTTP file service.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ports;
    /// // The file service is HTTP on an unprivileged port, away from 8080.
    /// assert!(ports::FILES > 1024 && ports::FILES != 8080);
    /// ```
    pub const FILES: u16 = 7878;
    /// The file service over TLS (HTTPS), when the host gives it a
    /// certificate (`serve --tls-cert` or `--tls-self-signed`).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ports;
    /// // 443's unprivileged echo, as 7878 is the file service's own.
    /// assert_eq!(ports::FILES_TLS % 1000, 443);
    /// ```
    pub const FILES_TLS: u16 = 7443;
    /// iperf3 (its control and data connections alike).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ports;
    /// use layernet::app::services::by_port;
    /// // iperf3's own default, so `iperf3 -c HOST` needs no `-p`.
    /// assert_eq!(by_port(ports::IPERF3).map(|e| e.name), Some("iperf3"));
    /// ```
    pub const IPERF3: u16 = 5201;
}

/// A line an application wants shown (what the classic programs print).
///
/// # Example
///
/// ```
/// use layernet::app::{Log, LogLine};
/// let mut log = Log::new();
/// // A line too long is cut where the capacity ends.
/// log.push(format_args!("{}{}", "a".repeat(150), "b".repeat(100)));
/// let mut kept = String::new();
/// log.drain(&mut |l| kept = l.to_owned());
/// assert_eq!(kept.len(), LogLine::new().capacity());
/// assert!(kept.starts_with(&"a".repeat(150)) && kept.ends_with('b'));
/// ```
pub type LogLine = heapless::String<192>;

/// How many log lines an application keeps until the host drains them,
/// unless its `LOG` parameter says otherwise (see [`LogRing`]); older lines
/// are dropped first.
///
/// # Example
///
/// ```
/// use layernet::app::{LOG_LINES, Log};
/// let mut log = Log::new();
/// for i in 0..LOG_LINES + 2 {
///     log.push(format_args!("line {i}"));
/// }
/// assert_eq!(log.dropped(), 2);
/// ```
pub const LOG_LINES: usize = 16;

/// A fixed queue of up to `LINES` log lines. Each server takes its ring's
/// length as its last const generic (`LOG`, [`LOG_LINES`] unless chosen),
/// so a board whose main loop drains the lines after every poll can keep
/// one or two, or none: a line is [`LogLine`]'s 192 bytes plus a length,
/// the biggest part of a small server's RAM.
///
/// With `LINES == 0` nothing is formatted or kept; every line counts as
/// dropped.
///
/// # Example
///
/// ```
/// use layernet::app::{LogLine, LogRing};
/// let mut none: LogRing<0> = LogRing::new();
/// none.push(format_args!("echo: connected by {}", "192.168.69.2:49152"));
/// none.drain(&mut |_| panic!("a ring of 0 lines keeps nothing"));
/// assert_eq!(none.dropped(), 1);
/// assert!(size_of::<LogRing<0>>() < size_of::<LogRing<1>>());
/// assert!(size_of::<LogRing<1>>() < 2 * size_of::<LogLine>());
/// ```
#[derive(Debug)]
pub struct LogRing<const LINES: usize> {
    /// Oldest first. A `heapless::Vec`, not heapless's `Deque` or
    /// `HistoryBuffer`: both refuse 0 lines at compile time, and the
    /// firmware keeps none. Dropping the oldest line shifts the rest, but
    /// only when nobody drained in time.
    lines: heapless::Vec<LogLine, LINES>,
    dropped: u32,
}

/// The log ring of [`LOG_LINES`] lines that every client, and every server
/// unless its `LOG` parameter says otherwise, keeps.
///
/// # Example
///
/// ```
/// use layernet::app::Log;
/// let mut log = Log::default();
/// log.push(format_args!("echo: connected by {}", "192.168.69.2:49152"));
/// let mut seen = Vec::new();
/// log.drain(&mut |line| seen.push(line.to_owned()));
/// assert_eq!(seen, ["echo: connected by 192.168.69.2:49152"]);
/// ```
pub type Log = LogRing<LOG_LINES>;

/// A line that keeps the head of a piece too long for it, cut at a
/// character boundary.
struct Cut<'l>(&'l mut LogLine);

impl core::fmt::Write for Cut<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.0.capacity() - self.0.len();
        let mut end = s.len().min(room);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        // The head fits by construction; a full line ignores the rest.
        let _ = self.0.push_str(&s[..end]);
        Ok(())
    }
}

impl<const LINES: usize> Default for LogRing<LINES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const LINES: usize> LogRing<LINES> {
    /// An empty log.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::Log;
    /// // `const`: a board can keep its log in a static.
    /// static EMPTY: Log = Log::new();
    /// assert_eq!(EMPTY.dropped(), 0);
    /// ```
    pub const fn new() -> Self {
        LogRing {
            lines: heapless::Vec::new(),
            dropped: 0,
        }
    }

    /// Append a line built with `format_args!`; a line too long is cut.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::Log;
    /// let mut log = Log::new();
    /// log.push(format_args!("{} + {} = {}", 1, 2, 1 + 2));
    /// log.push(format_args!("{}", "x".repeat(500)));
    /// let mut got = Vec::new();
    /// log.drain(&mut |l| got.push(l.to_string()));
    /// assert_eq!(got[0], "1 + 2 = 3");
    /// assert_eq!(got[1].len(), layernet::app::LogLine::new().capacity());
    /// ```
    pub fn push(&mut self, args: core::fmt::Arguments<'_>) {
        if LINES == 0 {
            // No room at all: not even worth formatting.
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let Some(line) = self.fresh_line() else {
            return;
        };
        // `Cut` takes what fits of every piece, so one long piece (a peer's
        // line in the chat) is cut, not lost whole.
        let _ = core::fmt::write(&mut Cut(line), args);
    }

    /// Append `head` followed by `peer`'s address and port: the line every
    /// server writes for each connection ("echo: connected by
    /// 192.168.69.2:49152"), an IPv4 peer's written without `core::fmt`,
    /// whose machinery cost a greeting connection about 500 instructions
    /// (half as much again as the line's bytes).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::Log;
    /// use layernet::{IpEndpoint, Ipv4Address};
    /// let mut log = Log::new();
    /// let peer = IpEndpoint::new(Ipv4Address::new(192, 168, 69, 2).into(), 49152);
    /// log.push_peer("echo: connected by ", peer);
    /// let mut got = Vec::new();
    /// log.drain(&mut |l| got.push(l.to_string()));
    /// assert_eq!(got, ["echo: connected by 192.168.69.2:49152"]);
    /// ```
    pub fn push_peer(&mut self, head: &str, peer: crate::IpEndpoint) {
        if LINES == 0 {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        #[allow(irrefutable_let_patterns)]
        let crate::IpAddress::Ipv4(addr) = peer.addr else {
            self.push(format_args!("{head}{}", crate::socket::EndpointText(peer)));
            return;
        };
        // Written where the ring keeps it, not built aside and moved in.
        let Some(line) = self.fresh_line() else {
            return;
        };
        let _ = core::fmt::Write::write_str(&mut Cut(line), head);
        crate::socket::write_v4(line, addr, peer.port);
    }

    /// A new empty line at the end of the ring, the oldest dropped if the
    /// ring is full; `None` for a ring of no lines (its callers count
    /// that drop themselves, before any formatting).
    fn fresh_line(&mut self) -> Option<&mut LogLine> {
        if LINES == 0 {
            return None;
        }
        if self.lines.is_full() {
            self.lines.remove(0);
            self.dropped = self.dropped.saturating_add(1);
        }
        self.lines.push(LogLine::new()).ok()?;
        self.lines.last_mut()
    }

    /// Hand every line to `sink`, oldest first.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::Log;
    /// let mut log = Log::new();
    /// log.push(format_args!("first"));
    /// log.push(format_args!("second"));
    /// let mut order = Vec::new();
    /// log.drain(&mut |l| order.push(l.len()));
    /// log.drain(&mut |_| panic!("drained already"));
    /// assert_eq!(order, [5, 6]);
    /// ```
    pub fn drain(&mut self, sink: &mut dyn FnMut(&str)) {
        for line in self.lines.drain(..) {
            sink(&line);
        }
    }

    /// Lines lost because nobody drained the log in time.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::Log;
    /// let mut log = Log::new();
    /// for _ in 0..20 {
    ///     log.push(format_args!("tick"));
    /// }
    /// assert_eq!(log.dropped(), 20 - layernet::app::LOG_LINES as u32);
    /// ```
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Whether the next line pushed would drop the oldest.
    ///
    /// ```
    /// use layernet::app::LogRing;
    /// let mut log: LogRing<1> = LogRing::new();
    /// assert!(!log.is_full());
    /// log.push(format_args!("one"));
    /// assert!(log.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.lines.is_full()
    }
}

/// Something the event loop runs: a server or a client.
///
/// # Example
/// A service of one's own: it finishes when the virtual clock reaches one
/// second, and asks to be woken then through [`Service::poll_at`].
/// ```
/// use layernet::app::Service;
/// use layernet::host::sim::{SimNet, SimPort};
/// use layernet::net::Stack;
/// use layernet::{Duration, Instant};
///
/// struct Alarm(bool);
/// impl Service for Alarm {
///     fn poll(&mut self, _stack: &mut Stack<'_>, now: Instant) -> bool {
///         let ring = !self.0 && now >= Instant::from_secs(1);
///         self.0 |= ring;
///         ring
///     }
///     fn poll_at(&self) -> Option<Instant> {
///         (!self.0).then(|| Instant::from_secs(1))
///     }
///     fn is_done(&self) -> bool {
///         self.0
///     }
/// }
/// let (mut net, a, _) = SimNet::pair(1)?;
/// assert!(net.run_client(a, &mut Alarm(false), Duration::from_secs(5)));
/// assert_eq!(net.now(), Instant::from_secs(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Service {
    /// Do whatever can be done now without waiting. True if anything happened.
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool;

    /// The application's own next deadline (for example the time-stamped
    /// echo's idle flush). The event loop wakes at the earlier of this and
    /// the stack's own deadline.
    fn poll_at(&self) -> Option<Instant> {
        None
    }

    /// For clients: the exchange is over (successfully or not).
    fn is_done(&self) -> bool {
        false
    }

    /// Hand the lines the application wants printed to `sink`.
    fn drain_log(&mut self, _sink: &mut dyn FnMut(&str)) {}

    /// Stop taking new work and close every connection gracefully (a
    /// server stops listening; uploads in progress are abandoned).
    fn shutdown(&mut self, _stack: &mut Stack<'_>) {}
}

/// A service lent by reference (a client the caller keeps, run for a
/// while beside the host's own services).
impl<T: Service + ?Sized> Service for &mut T {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        (**self).poll(stack, now)
    }

    fn poll_at(&self) -> Option<Instant> {
        (**self).poll_at()
    }

    fn is_done(&self) -> bool {
        (**self).is_done()
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        (**self).drain_log(sink);
    }

    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        (**self).shutdown(stack);
    }
}

/// A boxed service, as a host keeps a list of different ones.
#[cfg(feature = "std")]
impl<T: Service + ?Sized> Service for std::boxed::Box<T> {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        (**self).poll(stack, now)
    }

    fn poll_at(&self) -> Option<Instant> {
        (**self).poll_at()
    }

    fn is_done(&self) -> bool {
        (**self).is_done()
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        (**self).drain_log(sink);
    }

    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        (**self).shutdown(stack);
    }
}

/// Where a client exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
///
/// # Example
/// A client whose server is not there ends `Failed` (the peer's RST):
/// ```
/// use layernet::app::{Outcome, echo::EchoClient};
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::socket::Error;
/// let (mut net, a, b) = SimNet::pair(2)?;
/// let mut client = EchoClient::<8>::new(endpoint(a, 9999), b"anyone?");
/// assert_eq!(client.outcome(), Outcome::Running);
/// net.run_client(b, &mut client, layernet::Duration::from_secs(5));
/// assert_eq!(client.outcome(), Outcome::Failed(Error::Refused));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum Outcome {
    /// Still going.
    Running,
    /// Finished and verified.
    Done,
    /// Failed with this socket error.
    Failed(crate::socket::Error),
    /// Finished, but the bytes received were not the bytes expected.
    Mismatch,
}

/// A client's TCP connection: started on the first poll, usable once the
/// handshake is done. The preamble every client shares: poll it first in
/// the client's own [`Service::poll`], and go on once it is
/// [`Dialing::Ready`].
///
/// # Example
/// A client that sends one line and is done once it is queued:
/// ```
/// use layernet::app::echo::EchoServer;
/// use layernet::app::{Dial, Dialing, Service};
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::Stack;
/// use layernet::Instant;
///
/// struct Hello {
///     dial: Dial,
///     sent: bool,
///     done: bool,
/// }
/// impl Service for Hello {
///     fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
///         match self.dial.poll(stack) {
///             Dialing::Started => true,
///             Dialing::Waiting => false,
///             Dialing::Failed(_) => {
///                 self.done = true;
///                 true
///             }
///             Dialing::Ready(stream) => {
///                 self.sent = stream.send(stack, b"hello\n").is_ok();
///                 self.done = true;
///                 self.dial.close(stack);
///                 true
///             }
///         }
///     }
///     fn is_done(&self) -> bool {
///         self.done
///     }
/// }
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let echo = EchoServer::<1>::bind(net.stack(a), 7, 1)?;
/// net.serve(a, Box::new(echo));
/// let mut hello = Hello { dial: Dial::new(endpoint(a, 7)), sent: false, done: false };
/// assert!(net.run_client(b, &mut hello, layernet::Duration::from_secs(5)));
/// assert!(hello.sent && !hello.dial.is_connected(), "sent, then closed");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a dropped dial keeps its connection's socket: call `Dial::close` or `Dial::abort` first"]
pub struct Dial {
    server: crate::IpEndpoint,
    stream: Option<TcpStream>,
    connected: bool,
}

/// Where a [`Dial`] stands.
///
/// # Example
/// Nobody listens: the first poll starts the handshake, a later one
/// reports the peer's refusal.
/// ```
/// use layernet::app::{Dial, Dialing};
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::socket::Error;
/// let (mut net, a, b) = SimNet::pair(2)?;
/// let mut dial = Dial::new(endpoint(a, 9));
/// assert!(matches!(dial.poll(net.stack(b)), Dialing::Started));
/// net.run_for(layernet::Duration::from_millis(50));
/// assert!(matches!(dial.poll(net.stack(b)), Dialing::Failed(Error::Refused)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub enum Dialing<'a> {
    /// The connection request was just made.
    Started,
    /// The handshake is under way.
    Waiting,
    /// Connected: use the stream.
    Ready(&'a mut TcpStream),
    /// Refused, reset, or no socket free.
    Failed(Error),
}

impl Dial {
    /// A connection to `server`, not started yet (the first
    /// [`Dial::poll`] starts it).
    ///
    /// # Example
    /// ```
    /// use layernet::app::Dial;
    /// use layernet::host::sim::endpoint;
    /// // `const`: a board can keep its client in a static.
    /// const DIAL: Dial = Dial::new(layernet::IpEndpoint {
    ///     addr: layernet::IpAddress::v4(192, 168, 69, 1),
    ///     port: 7,
    /// });
    /// assert_eq!(DIAL.server(), endpoint(0, 7));
    /// ```
    pub const fn new(server: crate::IpEndpoint) -> Self {
        Dial {
            server,
            stream: None,
            connected: false,
        }
    }

    /// The endpoint this connects to.
    ///
    /// # Example
    /// ```
    /// use layernet::app::Dial;
    /// use layernet::host::sim::endpoint;
    /// assert_eq!(Dial::new(endpoint(1, 80)).server().port, 80);
    /// ```
    pub fn server(&self) -> crate::IpEndpoint {
        self.server
    }

    /// Whether the handshake completed (and the stream was not given up
    /// since).
    ///
    /// # Example
    /// See [`Dial`].
    /// ```
    /// use layernet::app::Dial;
    /// use layernet::host::sim::endpoint;
    /// assert!(!Dial::new(endpoint(1, 80)).is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Start the connection (on the first call), then follow the
    /// handshake; once connected, every call hands out the stream.
    ///
    /// # Example
    /// See [`Dial`] and [`Dialing`].
    /// ```
    /// use layernet::app::{Dial, Dialing};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(3)?;
    /// let mut dial = Dial::new(endpoint(a, 9));
    /// assert!(matches!(dial.poll(net.stack(b)), Dialing::Started));
    /// assert!(matches!(dial.poll(net.stack(b)), Dialing::Waiting), "no answer yet");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll(&mut self, stack: &mut Stack<'_>) -> Dialing<'_> {
        if self.stream.is_none() {
            return match TcpStream::connect(stack, self.server) {
                Ok(s) => {
                    self.stream = Some(s);
                    Dialing::Started
                }
                Err(e) => Dialing::Failed(e),
            };
        }
        let Some(stream) = self.stream.as_mut() else {
            return Dialing::Failed(Error::NotConnected);
        };
        if !self.connected {
            match stream.poll_connect(stack) {
                Ok(()) => self.connected = true,
                Err(Error::WouldBlock) => return Dialing::Waiting,
                Err(e) => return Dialing::Failed(e),
            }
        }
        Dialing::Ready(stream)
    }

    /// Close gracefully, if open.
    ///
    /// # Example
    /// ```
    /// use layernet::app::{Dial, Dialing};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let mut dial = Dial::new(endpoint(a, 9));
    /// dial.poll(net.stack(b));
    /// dial.close(net.stack(b));
    /// // A closed dial starts over.
    /// assert!(matches!(dial.poll(net.stack(b)), Dialing::Started));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(&mut self, stack: &mut Stack<'_>) {
        if let Some(s) = self.stream.take() {
            s.close(stack);
        }
        self.connected = false;
    }

    /// Reset the connection, if open.
    ///
    /// # Example
    /// ```
    /// use layernet::app::Dial;
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(5)?;
    /// let free = net.stack(b).free_tcp_sockets();
    /// let mut dial = Dial::new(endpoint(a, 9));
    /// dial.poll(net.stack(b));
    /// dial.abort(net.stack(b));
    /// net.run_for(layernet::Duration::from_millis(10));
    /// assert_eq!(net.stack(b).free_tcp_sockets(), free, "the socket is back");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abort(&mut self, stack: &mut Stack<'_>) {
        if let Some(s) = self.stream.take() {
            s.abort(stack);
        }
        self.connected = false;
    }
}

/// Move `buf[n..len]` to the front; returns the new length.
pub(crate) fn consume_front(buf: &mut [u8], len: usize, n: usize) -> usize {
    let n = n.min(len);
    buf.copy_within(n..len, 0);
    len - n
}

#[cfg(test)]
mod tests {
    use super::LogRing;

    fn drained<const N: usize>(log: &mut LogRing<N>) -> heapless::Vec<u32, 8> {
        let mut out = heapless::Vec::new();
        log.drain(&mut |line| {
            let _ = out.push(line.parse().unwrap_or(u32::MAX));
        });
        out
    }

    #[test]
    fn a_ring_keeps_the_newest_lines_across_its_end() {
        let mut log = LogRing::<3>::new();
        for i in 0..2 {
            log.push(format_args!("{i}"));
        }
        assert_eq!(drained(&mut log), [0, 1]);
        // The head now sits mid-ring: the next lines wrap past the end.
        for i in 2..7 {
            log.push(format_args!("{i}"));
        }
        assert_eq!(drained(&mut log), [4, 5, 6]);
        assert_eq!(log.dropped(), 2);
        assert!(drained(&mut log).is_empty());
    }

    #[test]
    fn a_ring_of_one_line_keeps_the_last() {
        let mut log = LogRing::<1>::new();
        for i in 0..4 {
            log.push(format_args!("{i}"));
        }
        assert_eq!(drained(&mut log), [3]);
        assert_eq!(log.dropped(), 3);
    }
}
