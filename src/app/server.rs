//! The skeleton every TCP server shares: a listener, up to `N` accepted
//! connections, and the log ring. Each poll accepts while there is room,
//! steps every connection, and closes and removes the finished ones;
//! shutdown stops listening and closes what is left.
//!
//! Layer: app. Depends on [`crate::socket`] and [`super::LogRing`] only;
//! no std, no alloc (the connections live in a `heapless::Vec`).
//!
//! A server keeps a [`Connections`] beside its own state (its counters,
//! its clock, its storage) and says what one connection does in a closure
//! ([`Connections::step`]). A server whose step needs the whole server
//! (the file service's reaches its storage and policy through methods on
//! `self`) steps by index instead ([`Connections::step_by_index`]).

use super::{LOG_LINES, LogRing};
use crate::IpEndpoint;
use crate::net::Stack;
use crate::socket::{Error, TcpListener, TcpStream};

/// What one step of a connection came to.
///
/// # Example
///
/// ```
/// use layernet::app::server::Step;
/// assert_eq!(Step::from_parts(true, false), Step::Progress);
/// assert_eq!(Step::from_parts(false, true), Step::Done, "finishing is progress");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing could be done now.
    Idle,
    /// Something moved; the connection stays.
    Progress,
    /// The connection is finished: close it and free its place.
    Done,
}

impl Step {
    /// From the (progress, finished) pair a step computed.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::server::Step;
    /// assert_eq!(Step::from_parts(false, false), Step::Idle);
    /// ```
    pub fn from_parts(progress: bool, done: bool) -> Step {
        match (progress, done) {
            (_, true) => Step::Done,
            (true, false) => Step::Progress,
            (false, false) => Step::Idle,
        }
    }
}

/// A server's connection: something that holds an accepted stream, which
/// the skeleton closes when the connection is finished or shut down.
///
/// # Example
///
/// ```
/// use layernet::app::server::Connection;
/// use layernet::socket::TcpStream;
/// struct Greeted {
///     stream: TcpStream,
///     sent: usize,
/// }
/// impl Connection for Greeted {
///     fn into_stream(self) -> TcpStream {
///         self.stream
///     }
/// }
/// ```
pub trait Connection {
    /// Give up the stream, to be closed gracefully.
    fn into_stream(self) -> TcpStream;
}

/// A listener, the connections it accepted (at most `N`) and the log ring
/// of `LOG` lines: the part of a TCP server that every server repeats.
///
/// # Example
/// A server that sends `bye\n` to each client and closes:
/// ```
/// use layernet::app::server::{Connection, Connections, Step};
/// use layernet::app::{Service, greeting::GreetingClient};
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::Stack;
/// use layernet::socket::{Error, TcpStream};
/// use layernet::Instant;
///
/// struct Conn(TcpStream);
/// impl Connection for Conn {
///     fn into_stream(self) -> TcpStream {
///         self.0
///     }
/// }
/// struct Bye(Connections<Conn, 2>);
/// impl Service for Bye {
///     fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
///         let accepted = self.0.accept(stack, 2, |stream, peer, _stack, log| {
///             log.push(format_args!("bye: connected by {peer}"));
///             Conn(stream)
///         });
///         let stepped = self.0.step(stack, |c, stack, _log| match c.0.send(stack, b"bye\n") {
///             Ok(_) | Err(_) => Step::Done, // a 4-byte reply fits any buffer
///         });
///         accepted | stepped
///     }
///     fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
///         self.0.drain_log(sink);
///     }
///     fn shutdown(&mut self, stack: &mut Stack<'_>) {
///         self.0.shutdown(stack);
///     }
/// }
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let server = Bye(Connections::bind(net.stack(a), 4000, 2)?);
/// net.serve(a, Box::new(server));
/// let mut client = GreetingClient::<8>::new(endpoint(a, 4000));
/// assert!(net.run_client(b, &mut client, layernet::Duration::from_secs(5)));
/// assert_eq!(client.received(), b"bye\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped skeleton keeps its listener and connections: call `Connections::shutdown` first"]
pub struct Connections<C, const N: usize, const LOG: usize = LOG_LINES> {
    listener: TcpListener,
    /// The open connections; servers in this crate index them directly
    /// so that a step can borrow one beside the log.
    pub(crate) conns: heapless::Vec<C, N>,
    pub(crate) log: LogRing<LOG>,
}

impl<C: Connection, const N: usize, const LOG: usize> Connections<C, N, LOG> {
    /// Listen on `port` with `backlog` slots.
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`]: [`Error::AddrInUse`] if the port is
    /// taken, [`Error::InvalidInput`] for port 0 or a backlog of 0 or over
    /// 255, [`Error::NoBufferSpace`] if the stack serves too many ports
    /// already.
    ///
    /// # Example
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::{Error, TcpStream};
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let first = Connections::<Conn, 1>::bind(net.stack(a), 7, 1)?;
    /// let again = Connections::<Conn, 1>::bind(net.stack(a), 7, 1);
    /// assert_eq!((first.len(), again.err()), (0, Some(Error::AddrInUse)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16, backlog: usize) -> Result<Self, Error> {
        Ok(Self::new(TcpListener::bind(stack, port, backlog)?))
    }

    /// The skeleton around a listener already bound. A server builds its
    /// own struct around this, not around [`Connections::bind`]'s
    /// `Result`: the log ring is kilobytes, and a `Result` of it is built
    /// once and then copied into the server (a board's start-up stack
    /// grew 3 KiB that way).
    ///
    /// # Example
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::{TcpListener, TcpStream};
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let listener = TcpListener::bind(net.stack(a), 7, 2)?;
    /// let server = Connections::<Conn, 2>::new(listener);
    /// assert!(server.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(always)]
    pub fn new(listener: TcpListener) -> Self {
        Connections {
            listener,
            conns: heapless::Vec::new(),
            log: LogRing::new(),
        }
    }

    /// Accept waiting clients while fewer than `limit` (at most `N`)
    /// connections are open; `open` makes each one's state from its stream
    /// and peer (and may set socket options, or log).
    /// True if any was accepted.
    ///
    /// # Example
    /// See [`Connections`].
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut server = Connections::<Conn, 1>::bind(net.stack(a), 7, 1)?;
    /// assert!(!server.accept(net.stack(a), 1, |s, _, _, _| Conn(s)), "nobody is waiting");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(
        &mut self,
        stack: &mut Stack<'_>,
        limit: usize,
        mut open: impl FnMut(TcpStream, IpEndpoint, &mut Stack<'_>, &mut LogRing<LOG>) -> C,
    ) -> bool {
        let mut accepted = false;
        while self.conns.len() < limit.min(N) {
            let Ok((stream, peer)) = self.listener.accept(stack) else {
                break;
            };
            let conn = open(stream, peer, stack, &mut self.log);
            // Room was checked above: the push cannot fail.
            let _ = self.conns.push(conn);
            accepted = true;
        }
        accepted
    }

    /// Step every connection once; close and remove those whose step says
    /// [`Step::Done`]. True if anything moved.
    ///
    /// # Example
    /// See [`Connections`].
    /// ```
    /// use layernet::app::server::{Connection, Connections, Step};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut server = Connections::<Conn, 1>::bind(net.stack(a), 7, 1)?;
    /// assert!(!server.step(net.stack(a), |_, _, _| Step::Done), "no connection to step");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn step(
        &mut self,
        stack: &mut Stack<'_>,
        mut step: impl FnMut(&mut C, &mut Stack<'_>, &mut LogRing<LOG>) -> Step,
    ) -> bool {
        // Written out rather than through `step_by_index`: the board's
        // firmware inlines every server's poll, and this shape is the
        // smallest of those tried (both profiles below their size before
        // the skeleton).
        let mut progress = false;
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            match step(c, stack, &mut self.log) {
                Step::Idle => i += 1,
                Step::Progress => {
                    progress = true;
                    i += 1;
                }
                Step::Done => {
                    self.remove(i, stack);
                    progress = true;
                }
            }
        }
        progress
    }

    /// [`Connections::step`] for a server whose step needs all of itself:
    /// `conns` finds the skeleton in `owner`, `step` advances connection
    /// `i`, and `closing` sees connection `i` once more before it is
    /// removed and its stream closed.
    ///
    /// # Example
    /// ```
    /// use layernet::app::server::{Connection, Connections, Step};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// struct Server { conns: Connections<Conn, 1>, closed: u32 }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut server = Server { conns: Connections::bind(net.stack(a), 7, 1)?, closed: 0 };
    /// let moved = Connections::step_by_index(
    ///     &mut server,
    ///     net.stack(a),
    ///     |s| &mut s.conns,
    ///     |_, _, _| Step::Done,
    ///     |s, _, _| s.closed += 1,
    /// );
    /// assert_eq!((moved, server.closed), (false, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn step_by_index<T: ?Sized>(
        owner: &mut T,
        stack: &mut Stack<'_>,
        conns: impl Fn(&mut T) -> &mut Self,
        mut step: impl FnMut(&mut T, usize, &mut Stack<'_>) -> Step,
        mut closing: impl FnMut(&mut T, usize, &mut Stack<'_>),
    ) -> bool {
        let mut progress = false;
        let mut i = 0;
        while i < conns(owner).conns.len() {
            match step(owner, i, stack) {
                Step::Idle => i += 1,
                Step::Progress => {
                    progress = true;
                    i += 1;
                }
                Step::Done => {
                    closing(owner, i, stack);
                    conns(owner).remove(i, stack);
                    progress = true;
                }
            }
        }
        progress
    }

    /// Close connection `i` gracefully and free its place (the last
    /// connection takes it). Nothing if there is no connection `i`.
    ///
    /// # Example
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut server = Connections::<Conn, 1>::bind(net.stack(a), 7, 1)?;
    /// server.remove(0, net.stack(a));
    /// assert!(server.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove(&mut self, i: usize, stack: &mut Stack<'_>) {
        if i < self.conns.len() {
            self.conns.swap_remove(i).into_stream().close(stack);
        }
    }

    /// Stop listening and close every connection gracefully.
    ///
    /// # Example
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut server = Connections::<Conn, 1>::bind(net.stack(a), 7, 1)?;
    /// server.shutdown(net.stack(a));
    /// assert!(server.is_empty());
    /// assert!(!server.accept(net.stack(a), 1, |s, _, _, _| Conn(s)), "not listening");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&mut self, stack: &mut Stack<'_>) {
        self.stop_listening(stack);
        while let Some(c) = self.conns.pop() {
            c.into_stream().close(stack);
        }
    }

    /// Stop listening, and leave the connections to the caller (a server
    /// that lets responses finish closes them itself).
    ///
    /// # Example
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut server = Connections::<Conn, 1>::bind(net.stack(a), 7, 1)?;
    /// server.stop_listening(net.stack(a));
    /// assert!(!server.accept(net.stack(a), 1, |s, _, _, _| Conn(s)), "not listening");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop_listening(&mut self, stack: &mut Stack<'_>) {
        self.listener.stop(stack);
    }

    /// Hand the log's lines to `sink`, oldest first.
    ///
    /// # Example
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut server = Connections::<Conn, 1>::bind(net.stack(a), 7, 1)?;
    /// server.log().push(format_args!("ready"));
    /// let mut lines = Vec::new();
    /// server.drain_log(&mut |l| lines.push(l.to_owned()));
    /// assert_eq!(lines, ["ready"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.log.drain(sink);
    }

    /// The log ring, for lines of the server's own.
    ///
    /// # Example
    /// See [`Connections::drain_log`].
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut server = Connections::<Conn, 1, 0>::bind(net.stack(a), 7, 1)?;
    /// server.log().push(format_args!("kept nowhere"));
    /// assert_eq!(server.log().dropped(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log(&mut self) -> &mut LogRing<LOG> {
        &mut self.log
    }

    /// Connections open now.
    ///
    /// # Example
    /// See [`Connections::bind`].
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// assert_eq!(Connections::<Conn, 3>::bind(net.stack(a), 7, 1)?.len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// No connection is open.
    ///
    /// # Example
    /// See [`Connections::remove`].
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// assert!(Connections::<Conn, 3>::bind(net.stack(a), 7, 1)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// The open connections, for a server's deadlines
    /// ([`super::Service::poll_at`]).
    ///
    /// # Example
    /// ```
    /// use layernet::app::server::{Connection, Connections};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::TcpStream;
    /// struct Conn(TcpStream, layernet::Instant);
    /// impl Connection for Conn {
    ///     fn into_stream(self) -> TcpStream { self.0 }
    /// }
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let server = Connections::<Conn, 3>::bind(net.stack(a), 7, 1)?;
    /// assert_eq!(server.iter().map(|c| c.1).min(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> core::slice::Iter<'_, C> {
        self.conns.iter()
    }
}
