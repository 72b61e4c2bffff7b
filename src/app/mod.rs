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
pub mod ping;
pub mod storage;
pub mod time_echo;

use crate::link::Link;
use crate::net::Stack;
use crate::socket::{Error, TcpStream};
use smoltcp::time::Instant;

/// Ports of the classic services.
pub mod ports {
    /// TCP echo (RFC 862).
    pub const ECHO: u16 = 7;
    /// TCP greeting.
    pub const GREETING: u16 = 1234;
    /// TCP time-stamped echo.
    pub const TIME_ECHO: u16 = 21566;
    /// UDP chat.
    pub const CHAT: u16 = 6868;
    /// HTTP file service.
    pub const FILES: u16 = 7878;
}

/// A line an application wants shown (what the classic programs print).
pub type LogLine = heapless::String<192>;

/// How many log lines an application keeps until the host drains them;
/// older lines are dropped first.
pub const LOG_LINES: usize = 16;

/// A fixed queue of log lines.
#[derive(Debug, Default)]
pub struct Log {
    lines: heapless::Deque<LogLine, LOG_LINES>,
    dropped: u32,
}

impl Log {
    /// An empty log.
    pub const fn new() -> Self {
        Log {
            lines: heapless::Deque::new(),
            dropped: 0,
        }
    }

    /// Append a line built with `format_args!`; a line too long is cut.
    pub fn push(&mut self, args: core::fmt::Arguments<'_>) {
        let mut line = LogLine::new();
        // A full line stops the formatter; what fitted is kept.
        let _ = core::fmt::write(&mut line, args);
        if self.lines.is_full() {
            self.lines.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        let _ = self.lines.push_back(line);
    }

    /// Hand every line to `sink`, oldest first.
    pub fn drain(&mut self, sink: &mut dyn FnMut(&str)) {
        while let Some(line) = self.lines.pop_front() {
            sink(&line);
        }
    }

    /// Lines lost because nobody drained the log in time.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}

/// Something the event loop runs: a server or a client.
pub trait Service<D: Link> {
    /// Do whatever can be done now without waiting. True if anything happened.
    fn poll(&mut self, stack: &mut Stack<'_, D>, now: Instant) -> bool;

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
    fn shutdown(&mut self, _stack: &mut Stack<'_, D>) {}
}

/// Where a client exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
/// handshake is done. The preamble every client shares.
pub(crate) struct Dial {
    server: crate::IpEndpoint,
    stream: Option<TcpStream>,
    connected: bool,
}

/// Where a [`Dial`] stands.
pub(crate) enum Dialing<'a> {
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
    pub(crate) const fn new(server: crate::IpEndpoint) -> Self {
        Dial {
            server,
            stream: None,
            connected: false,
        }
    }

    pub(crate) fn poll<D: Link>(&mut self, stack: &mut Stack<'_, D>) -> Dialing<'_> {
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
    pub(crate) fn close<D: Link>(&mut self, stack: &mut Stack<'_, D>) {
        if let Some(s) = self.stream.take() {
            s.close(stack);
        }
    }

    /// Reset the connection, if open.
    pub(crate) fn abort<D: Link>(&mut self, stack: &mut Stack<'_, D>) {
        if let Some(s) = self.stream.take() {
            s.abort(stack);
        }
    }
}

/// Move `buf[n..len]` to the front; returns the new length.
pub(crate) fn consume_front(buf: &mut [u8], len: usize, n: usize) -> usize {
    let n = n.min(len);
    buf.copy_within(n..len, 0);
    len - n
}
