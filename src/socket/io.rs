//! `embedded-io` for a connected stream: the blocking `Read`/`Write` that
//! embedded code already uses, on a no_std stack.
//!
//! Layer: socket. Depends on [`crate::net`], this module's [`TcpStream`] and
//! the `embedded-io` traits; no_std, no alloc.
//!
//! embedded-io's `Read` and `Write` block: they have no "would block". The
//! core never blocks on its own, so [`StreamIo`] pairs a stream with its
//! stack and an `idle` function that it calls whenever the stream cannot
//! move: on a board, poll the stack with the board's clock (and sleep until
//! the next interrupt); in a test, advance the simulated network. Each call
//! gives up with [`Error::TimedOut`] after a bounded number of idle rounds,
//! so nothing can wait for ever. `ReadReady`/`WriteReady` give the
//! non-blocking view. On the host, `host::blocking::TcpStream` implements
//! `std::io::Read`/`Write` the same way over its driver.

use super::{Error, TcpStream};
use crate::net::Stack;

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as K;
        match self {
            Error::Refused => K::ConnectionRefused,
            Error::Reset => K::ConnectionReset,
            Error::TimedOut => K::TimedOut,
            Error::AddrInUse => K::AddrInUse,
            Error::NotConnected => K::NotConnected,
            Error::Closed => K::BrokenPipe,
            Error::InvalidInput => K::InvalidInput,
            Error::Truncated => K::InvalidData,
            Error::Aborted => K::ConnectionAborted,
            _ => K::Other,
        }
    }
}

/// Idle rounds one blocking call waits at most, unless told otherwise
/// ([`StreamIo::with_idle_limit`]).
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::socket::{Error, TcpListener, TcpStream, io::{DEFAULT_IDLE_LIMIT, StreamIo}};
/// use layernet::Duration;
/// use embedded_io::Read;
///
/// let (mut net, s, c) = SimNet::pair(1)?;
/// let _l = TcpListener::bind(net.stack(s), 7, 1)?;
/// let mut quiet = TcpStream::connect(net.stack(c), endpoint(s, 7))?;
/// net.run_for(Duration::from_millis(10));
/// let mut rounds = 0;
/// let mut io = StreamIo::new(&mut quiet, net.stack(c), |_| rounds += 1);
/// assert_eq!(io.read(&mut [0; 1]), Err(Error::TimedOut), "nothing ever comes");
/// drop(io);
/// assert_eq!(rounds, DEFAULT_IDLE_LIMIT);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_IDLE_LIMIT: u32 = 1_000_000;

/// A connected [`TcpStream`] with its stack, as an `embedded_io` reader and
/// writer. `idle` runs whenever the stream cannot move; it must make the
/// network progress (poll the stack with a later time).
///
/// Its `read` waits for at least one byte, `write` for room for one,
/// `flush` for the peer's acknowledgement of everything written; each
/// fails with [`Error::TimedOut`] after the idle limit, or with the
/// stream's own error ([`Error::Reset`], [`Error::Closed`], ...).
///
/// # Example
///
/// An SMTP-like exchange on the client's side. Here `idle` polls only the
/// client's stack, enough for data already received and for writes that
/// fit the send buffer:
///
/// ```
/// use embedded_io::{Read, Write};
/// use layernet::{Duration, host::sim::*, socket::{TcpListener, TcpStream, io::StreamIo}};
///
/// let (mut net, s, c) = SimNet::pair(2)?;
/// let mut l = TcpListener::bind(net.stack(s), 25, 1)?;
/// let mut stream = TcpStream::connect(net.stack(c), endpoint(s, 25))?;
/// net.run_for(Duration::from_millis(10));
/// let (mut server, _) = l.accept(net.stack(s))?;
/// server.send(net.stack(s), b"220 ready")?;
/// net.run_for(Duration::from_millis(10));
/// let (stack, port) = net.host(c);
/// let mut io = StreamIo::new(&mut stream, stack, |st| {
///     st.poll(port, st.now() + Duration::from_millis(1));
/// });
/// let mut banner = [0u8; 9];
/// io.read_exact(&mut banner)?;
/// io.write_all(b"HELO")?;
/// net.run_for(Duration::from_millis(10));
/// assert_eq!((&banner, server.recv(net.stack(s), &mut [0; 8])?), (b"220 ready", 4));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StreamIo<'s, 'st, 'a, F: FnMut(&mut Stack<'a>)> {
    stream: &'s mut TcpStream,
    stack: &'st mut Stack<'a>,
    idle: F,
    limit: u32,
}

impl<'s, 'st, 'a, F: FnMut(&mut Stack<'a>)> StreamIo<'s, 'st, 'a, F> {
    /// Pair `stream` with `stack`; `idle` is called while an operation would
    /// block. The idle limit is [`DEFAULT_IDLE_LIMIT`].
    ///
    /// ```
    /// use embedded_io::{ReadReady, WriteReady};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream, io::StreamIo}};
    ///
    /// let (mut net, s, c) = SimNet::pair(3)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut fresh = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// let mut io = StreamIo::new(&mut fresh, net.stack(c), |_| {});
    /// assert!(io.write_ready()? && !io.read_ready()?, "room to write, nothing to read");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(stream: &'s mut TcpStream, stack: &'st mut Stack<'a>, idle: F) -> Self {
        StreamIo {
            stream,
            stack,
            idle,
            limit: DEFAULT_IDLE_LIMIT,
        }
    }

    /// Give up a call after `rounds` idle rounds (with [`Error::TimedOut`]).
    ///
    /// Here `flush` waits for an acknowledgement that cannot come (the
    /// peer's stack is not polled), and gives up after 3 rounds:
    ///
    /// ```
    /// use embedded_io::Write;
    /// use layernet::{Duration, host::sim::*, socket::*};
    ///
    /// let (mut net, s, c) = SimNet::pair(4)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// let (stack, port) = net.host(c);
    /// let mut io = io::StreamIo::new(&mut out, stack, |st| {
    ///     st.poll(port, st.now() + Duration::from_millis(100));
    /// })
    /// .with_idle_limit(3);
    /// io.write_all(b"unheard")?;
    /// assert_eq!(io.flush(), Err(Error::TimedOut));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_idle_limit(mut self, rounds: u32) -> Self {
        self.limit = rounds;
        self
    }

    /// Retry `op` until it does not block, idling in between.
    fn block<T>(
        &mut self,
        mut op: impl FnMut(&mut TcpStream, &mut Stack<'a>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        for _ in 0..self.limit {
            match op(self.stream, self.stack) {
                Err(Error::WouldBlock) => (self.idle)(self.stack),
                done => return done,
            }
        }
        Err(Error::TimedOut)
    }
}

impl<'a, F: FnMut(&mut Stack<'a>)> embedded_io::ErrorType for StreamIo<'_, '_, 'a, F> {
    type Error = Error;
}

impl<'a, F: FnMut(&mut Stack<'a>)> embedded_io::Read for StreamIo<'_, '_, 'a, F> {
    /// Waits for at least one byte; `Ok(0)` only at end of file (or for an
    /// empty `buf`), as embedded-io defines.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.block(|s, st| s.recv(st, buf))
    }
}

impl<'a, F: FnMut(&mut Stack<'a>)> embedded_io::Write for StreamIo<'_, '_, 'a, F> {
    /// Waits until at least one byte fits in the send buffer.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        self.block(|s, st| s.send(st, buf))
    }

    /// Waits until the peer has acknowledged everything written.
    fn flush(&mut self) -> Result<(), Error> {
        self.block(|s, st| {
            if s.send_queue(st) == 0 {
                Ok(())
            } else {
                Err(Error::WouldBlock)
            }
        })
    }
}

impl<'a, F: FnMut(&mut Stack<'a>)> embedded_io::ReadReady for StreamIo<'_, '_, 'a, F> {
    fn read_ready(&mut self) -> Result<bool, Error> {
        // Data waiting, or the end of the stream: either way read won't block.
        Ok(self.stream.recv_queue(self.stack) > 0 || !self.stream.may_recv(self.stack))
    }
}

impl<'a, F: FnMut(&mut Stack<'a>)> embedded_io::WriteReady for StreamIo<'_, '_, 'a, F> {
    fn write_ready(&mut self) -> Result<bool, Error> {
        Ok(self.stream.can_send(self.stack))
    }
}

#[cfg(test)]
mod tests {
    use core::cell::{Cell, RefCell};

    use embedded_io::{Read, ReadReady, Write, WriteReady};

    use super::*;
    use crate::app::echo::EchoServer;
    use crate::link::segment::{Port, Segment};
    use crate::net::{Config, Resources};
    use crate::{EthernetAddress, Instant, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr};

    #[test]
    fn embedded_io_read_and_write_over_two_stacks() {
        let seg = RefCell::new(Segment::<2, 32, 1514>::new());
        let (mac_s, mac_c) = (
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            EthernetAddress([2, 0, 0, 0, 0, 2]),
        );
        let mut res_s: Resources<'_, 5, 3, 1, 2048> = Resources::new();
        let mut res_c: Resources<'_, 5, 3, 1, 2048> = Resources::new();
        let ip = |n| Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, n), 24);
        let mut port_s = Port::new(&seg, 0, mac_s).unwrap();
        let mut port_c = Port::new(&seg, 1, mac_c).unwrap();
        let mut server = Stack::new(
            Config::new(mac_s, ip(1)),
            &mut port_s,
            &mut res_s,
            Instant::ZERO,
        )
        .unwrap();
        let mut client = Stack::new(
            Config::new(mac_c, ip(2)),
            &mut port_c,
            &mut res_c,
            Instant::ZERO,
        )
        .unwrap();
        let mut echo = EchoServer::<1, 256>::bind(&mut server, 7, 1).unwrap();
        let now = Cell::new(0i64);
        // The idle function a board would have: time moves on, everything polls.
        let mut idle = |c: &mut Stack<'_>| {
            now.set(now.get() + 1);
            let t = Instant::from_millis(now.get());
            c.poll(&mut port_c, t);
            crate::run::settle(
                &mut server,
                &mut port_s,
                core::slice::from_mut(&mut echo),
                || t,
                2,
            );
        };
        let to = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 1)), 7);
        let mut stream = TcpStream::connect(&mut client, to).unwrap();
        for _ in 0..1000 {
            match stream.poll_connect(&mut client) {
                Err(Error::WouldBlock) => idle(&mut client),
                r => {
                    r.unwrap();
                    break;
                }
            }
        }
        let mut io = StreamIo::new(&mut stream, &mut client, idle).with_idle_limit(10_000);
        assert!(io.write_ready().unwrap());
        let message = [b'e'; 1500];
        io.write_all(&message).unwrap();
        io.flush().unwrap();
        let mut back = [0u8; 1500];
        io.read_exact(&mut back).unwrap();
        assert_eq!(back, message);
        assert!(!io.read_ready().unwrap(), "nothing more to read");
        // With nothing coming, a read gives up after its idle rounds.
        let mut io = io.with_idle_limit(50);
        assert_eq!(io.read(&mut back[..1]), Err(Error::TimedOut));
        assert_eq!(
            embedded_io::Error::kind(&Error::Reset),
            embedded_io::ErrorKind::ConnectionReset
        );
    }
}
