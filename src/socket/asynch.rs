//! Async sockets for code that runs on an executor: `embedded-io-async`'s
//! `Read` and `Write` for a connected stream, an async accept and connect,
//! and UDP `send_to`/`recv_from`, all woken by the run loop (feature
//! `async`).
//!
//! Layer: socket. Depends on [`crate::net`] (the stack), [`crate::link`]
//! (the device a poll borrows), this layer's non-blocking sockets and
//! smoltcp's socket wakers; never on applications or the host. no_std, no
//! alloc.
//!
//! # The borrow shape
//!
//! The non-blocking core borrows the stack in every call; a future cannot
//! hold a `&mut Stack` across an await while the run loop polls the same
//! stack. So the stack goes into a [`Shared`]: a `RefCell` that the run
//! loop and every socket future borrow *briefly*, never across an await.
//! A socket operation borrows it, tries the non-blocking call, and if that
//! would block registers the task's waker with the smoltcp socket
//! (`register_recv_waker`/`register_send_waker`) in the same borrow, so no
//! poll can slip in between the try and the registration; then it returns
//! `Pending`. The run loop's [`Shared::poll`] borrows the stack to poll it;
//! smoltcp wakes the registered tasks from inside that poll (data or an
//! acknowledgement came, the state changed, a reset), and the executor
//! polls them once the run loop has given the stack back.
//!
//! An accept waits on no one socket (the pool hands the listener's slots
//! around), so [`Shared`] keeps one waker per listener and [`Shared::poll`]
//! wakes them after any poll that moved something: the accept then looks
//! again. One task accepts on a listener at a time (a second would take the
//! first's place).
//!
//! The other way round, a socket operation that gave the stack work
//! (queued data, opened the receive window, a connect or a close) wakes
//! the run loop's own task, if it registered one
//! ([`Shared::register_runner`]). A loop that polls after every round of
//! the executor (a board's `loop { run tasks; poll; sleep }`, or the
//! simulated network's `block_on`) needs none.
//!
//! Everything is single-threaded: [`Shared`] is neither `Send` nor `Sync`,
//! like smoltcp itself. A borrow that is already held panics (a
//! programming error: [`Shared::with`]'s closure must not reach the same
//! [`Shared`]); no frame can cause one.
//!
//! # Example
//!
//! An echo server and its client as two futures on one simulated
//! segment: the client sends 20 000 bytes in chunks of 4000 and reads
//! each chunk back, so both sides wait for the other many times over:
//!
//! ```
//! use embedded_io_async::{Read, Write};
//! use layernet::{Duration, host::sim::{SimNet, endpoint}};
//! use layernet::socket::asynch::{TcpListener, TcpStream};
//!
//! let mut net = SimNet::new(1, Default::default());
//! let (s, server) = net.add_async_host()?;
//! let (c, client) = net.add_async_host()?;
//! let mut listener = TcpListener::bind(server, 7, 1)?;
//! let serve = async {
//!     let (mut conn, _) = listener.accept().await?;
//!     let mut buf = [0u8; 1000];
//!     loop {
//!         let n = conn.read(&mut buf).await?;
//!         if n == 0 {
//!             break; // end of file
//!         }
//!         conn.write_all(&buf[..n]).await?;
//!     }
//!     conn.close();
//!     Ok::<_, layernet::socket::Error>(())
//! };
//! let sent: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
//! let talk = async {
//!     let mut stream = TcpStream::connect(client, endpoint(s, 7)).await?;
//!     let (mut back, mut buf) = (Vec::new(), [0u8; 1000]);
//!     for chunk in sent.chunks(4000) {
//!         stream.write_all(chunk).await?;
//!         let want = back.len() + chunk.len();
//!         while back.len() < want {
//!             let n = stream.read(&mut buf).await?;
//!             back.extend_from_slice(&buf[..n]);
//!         }
//!     }
//!     stream.shutdown();
//!     assert_eq!(stream.read(&mut buf).await?, 0, "the server closed too");
//!     Ok::<_, layernet::socket::Error>(back)
//! };
//! let (served, back) = net
//!     .block_on(async { futures::join!(serve, talk) }, Duration::from_secs(10))
//!     .ok_or("timed out")?;
//! served?;
//! assert!(back? == sent, "every byte echoed, in order");
//! # let _ = c;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::cell::{Cell, RefCell};
use core::future::poll_fn;
use core::task::{Context, Poll, Waker};

use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;

use super::Error;
use crate::link::Link;
use crate::net::{MAX_LISTENERS, Stack};

/// A stack shared between the run loop and the async sockets: a `RefCell`
/// each borrows briefly, never across an await (see the module doc), with
/// the wakers that are not smoltcp's: the run loop's and one per listener.
///
/// # Example
///
/// A board's loop on a simple executor: run the tasks until none can move,
/// poll the stack (which wakes the tasks that can now), sleep until the
/// next deadline or interrupt. Here one round, on the simulated network's
/// segment:
///
/// ```
/// use layernet::host::sim::{SimNet, host_ip, host_mac};
/// use layernet::net::{Config, Stack, profile};
/// use layernet::socket::asynch::Shared;
/// use layernet::Instant;
///
/// let (mut net, _, _) = SimNet::pair(1)?;
/// let mut port = net.raw_port(2, host_mac(2)).ok_or("taken")?;
/// let mut memory = profile::Tiny::new();
/// let config = Config::new(host_mac(2), host_ip(2));
/// let shared = Shared::new(Stack::new(config, &mut port, &mut memory, Instant::ZERO)?);
/// // ... run the tasks ...
/// shared.poll(&mut port, Instant::from_millis(1));
/// let sleep_until = shared.poll_at(Instant::from_millis(1));
/// assert_eq!(sleep_until, None, "no socket: nothing to wait for");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Shared<'a> {
    stack: RefCell<Stack<'a>>,
    /// The run loop's task, woken when a socket operation gave the stack work.
    runner: Cell<Option<Waker>>,
    /// Per listener (by its index in the stack), the task waiting to accept.
    accept: [Cell<Option<Waker>>; MAX_LISTENERS],
}

impl<'a> Shared<'a> {
    /// Share `stack`.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, host_ip, host_mac};
    /// use layernet::net::{Config, Stack, profile};
    /// use layernet::{Instant, socket::asynch::Shared};
    /// let (mut net, _, _) = SimNet::pair(1)?;
    /// let mut port = net.raw_port(2, host_mac(2)).ok_or("taken")?;
    /// let mut memory = profile::Tiny::new();
    /// let stack = Stack::new(Config::new(host_mac(2), host_ip(2)), &mut port, &mut memory, Instant::ZERO)?;
    /// let shared = Shared::new(stack);
    /// assert_eq!(shared.with(|s| s.ipv4_addr()), host_ip(2).address());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(stack: Stack<'a>) -> Self {
        Shared {
            stack: RefCell::new(stack),
            runner: Cell::new(None),
            accept: [const { Cell::new(None) }; MAX_LISTENERS],
        }
    }

    /// Borrow the stack for `f`: the non-blocking core's whole API (a
    /// service's poll, counters, the pool's state) is there. The borrow
    /// ends with `f`; nothing may hold it across an await. The run loop
    /// polls the stack through [`Shared::poll`], not here: only that poll
    /// tells the pending accepts to look again.
    ///
    /// # Panics
    ///
    /// If `f` reaches this same `Shared` again (a programming error).
    ///
    /// ```
    /// let mut net = layernet::host::sim::SimNet::new(1, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// let free = shared.with(|stack| stack.free_tcp_sockets());
    /// assert!(free > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with<R>(&self, f: impl FnOnce(&mut Stack<'a>) -> R) -> R {
        f(&mut self.stack.borrow_mut())
    }

    /// The run loop's poll ([`Stack::poll`]): frames in and out, timers;
    /// smoltcp wakes the socket futures that can now move, and after a
    /// poll that moved anything the pending accepts look again. True if
    /// anything moved.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, host_ip, host_mac, endpoint};
    /// use layernet::net::{Config, Stack, profile};
    /// use layernet::{Instant, socket::{UdpSocket, asynch::Shared}};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut port = net.raw_port(2, host_mac(2)).ok_or("taken")?;
    /// let mut memory = profile::Tiny::new();
    /// let stack = Stack::new(Config::new(host_mac(2), host_ip(2)), &mut port, &mut memory, Instant::ZERO)?;
    /// let shared = Shared::new(stack);
    /// shared.with(|s| UdpSocket::bind(s, 0)?.send_to(s, b"?", endpoint(a, 9)))?;
    /// shared.poll(&mut port, Instant::ZERO);
    /// assert_eq!(net.segment().stats().offered, 1, "the ARP request left");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll<D: Link>(&self, device: &mut D, now: Instant) -> bool {
        let moved = self.with(|stack| stack.poll(device, now));
        if moved {
            for slot in self.accept.iter() {
                if let Some(waker) = slot.take() {
                    waker.wake();
                }
            }
        }
        moved
    }

    /// When the run loop must poll next without a frame coming in
    /// ([`Stack::poll_at`]); `None`: only a frame or a socket operation
    /// (see [`Shared::register_runner`]) can make work.
    ///
    /// ```
    /// use layernet::{Instant, host::sim::{SimNet, endpoint}, socket::UdpSocket};
    /// let mut net = SimNet::new(1, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// assert_eq!(shared.poll_at(Instant::ZERO), None);
    /// shared.with(|s| UdpSocket::bind(s, 0)?.send_to(s, b"?", endpoint(3, 9)))?;
    /// assert_eq!(shared.poll_at(Instant::ZERO), Some(Instant::ZERO), "a datagram to send");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.with(|stack| stack.poll_at(now))
    }

    /// Register the run loop's task: a socket operation that gives the
    /// stack work (queues data, opens the receive window, connects or
    /// closes) wakes it once, so that a run loop that sleeps in a task of
    /// its own (select over the device, a timer at [`Shared::poll_at`] and
    /// this) polls at once. Register again after each wake.
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
    /// use std::task::{Wake, Waker};
    /// use embedded_io_async::Write;
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}};
    /// use layernet::socket::asynch::{TcpListener, TcpStream};
    ///
    /// struct Flag(AtomicBool);
    /// impl Wake for Flag {
    ///     fn wake(self: Arc<Self>) { self.0.store(true, Ordering::SeqCst) }
    /// }
    /// let mut net = SimNet::new(1, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let mut l = TcpListener::bind(server, 9, 1)?;
    /// let mut out = net.block_on(TcpStream::connect(client, endpoint(s, 9)), Duration::from_secs(1))
    ///     .ok_or("no connection")??;
    /// let runner = Arc::new(Flag(AtomicBool::new(false)));
    /// client.register_runner(&Waker::from(runner.clone()));
    /// net.block_on(out.write_all(b"work"), Duration::ZERO).ok_or("full")??;
    /// assert!(runner.0.load(Ordering::SeqCst), "the run loop was told");
    /// # drop(l);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register_runner(&self, waker: &Waker) {
        register(&self.runner, waker);
    }

    /// Give the stack back (after the tasks that use it are done).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, host_ip, host_mac};
    /// use layernet::net::{Config, Stack, profile};
    /// use layernet::{Instant, socket::asynch::Shared};
    /// let (mut net, _, _) = SimNet::pair(1)?;
    /// let mut port = net.raw_port(2, host_mac(2)).ok_or("taken")?;
    /// let mut memory = profile::Tiny::new();
    /// let stack = Stack::new(Config::new(host_mac(2), host_ip(2)), &mut port, &mut memory, Instant::ZERO)?;
    /// let mut stack = Shared::new(stack).into_inner();
    /// stack.poll(&mut port, Instant::ZERO);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(self) -> Stack<'a> {
        self.stack.into_inner()
    }

    /// Wake the run loop's task, if it registered one.
    fn kick(&self) {
        if let Some(waker) = self.runner.take() {
            waker.wake();
        }
    }
}

/// Keep `waker` in `slot`, without a clone if it wakes the task already there.
fn register(slot: &Cell<Option<Waker>>, waker: &Waker) {
    let keep = slot.take().filter(|old| old.will_wake(waker));
    slot.set(Some(keep.unwrap_or_else(|| waker.clone())));
}

/// Which of a smoltcp socket's wakers an operation waits on.
#[derive(Clone, Copy)]
enum Wait {
    Recv,
    Send,
    Both,
}

/// A connected TCP stream for async code: `embedded_io_async::Read` and
/// `Write` (its `flush` waits for the peer's acknowledgement of
/// everything written). It wraps the core's [`super::TcpStream`], so
/// every non-blocking call stays at hand ([`TcpStream::with`]).
///
/// `read` waits for at least one byte and returns `Ok(0)` at end of file;
/// `write` waits for room for one byte; both fail with the stream's own
/// error ([`Error::Reset`], [`Error::Closed`], [`Error::Aborted`]). There is
/// no time limit: a timeout is the executor's (race the future against its
/// timer), or the stream's keep-alive ([`super::TcpStream::set_keepalive`]).
///
/// Dropped without [`TcpStream::close`] or [`TcpStream::abort`], it closes
/// gracefully, as `close` does (unless the stack is borrowed at that
/// moment, when the socket stays in use: close it explicitly there).
///
/// # Example
///
/// ```
/// use embedded_io_async::{Read, Write};
/// use layernet::{Duration, host::sim::{SimNet, endpoint}};
/// use layernet::socket::asynch::{TcpListener, TcpStream};
///
/// let mut net = SimNet::new(2, Default::default());
/// let (s, server) = net.add_async_host()?;
/// let (_, client) = net.add_async_host()?;
/// let mut l = TcpListener::bind(server, 25, 1)?;
/// let greet = async {
///     let (mut conn, _) = l.accept().await?;
///     conn.write_all(b"220 ready\r\n").await?;
///     conn.flush().await?;
///     conn.close();
///     Ok::<_, layernet::socket::Error>(())
/// };
/// let hear = async {
///     let mut s = TcpStream::connect(client, endpoint(s, 25)).await?;
///     let mut banner = [0u8; 11];
///     s.read_exact(&mut banner).await.map_err(|_| layernet::socket::Error::Reset)?;
///     Ok::<_, layernet::socket::Error>(banner)
/// };
/// let (g, h) = net.block_on(async { futures::join!(greet, hear) }, Duration::from_secs(5))
///     .ok_or("timed out")?;
/// g?;
/// assert_eq!(&h?, b"220 ready\r\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TcpStream<'s, 'a> {
    shared: &'s Shared<'a>,
    /// `None` only once `close`, `abort` or `into_inner` took it. In a
    /// cell so that the two halves of [`TcpStream::split`] can each borrow
    /// it for one try (never across an await).
    stream: RefCell<Option<super::TcpStream>>,
}

impl<'s, 'a> TcpStream<'s, 'a> {
    /// Connect to `remote` and wait for the handshake.
    ///
    /// # Errors
    ///
    /// Those of [`super::TcpStream::connect`] ([`Error::NoBufferSpace`],
    /// [`Error::AddrInUse`], [`Error::InvalidInput`]), then
    /// [`Error::Refused`] if the peer resets the attempt or it times out;
    /// the socket then goes back to the pool.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::{Error, asynch::TcpStream}};
    /// let mut net = SimNet::new(3, Default::default());
    /// let (_, lonely) = net.add_async_host()?;
    /// let (far, _) = net.add_async_host()?;
    /// let free = lonely.with(|s| s.free_tcp_sockets());
    /// let attempt = net.block_on(TcpStream::connect(lonely, endpoint(far, 81)), Duration::from_secs(1));
    /// assert_eq!(attempt.ok_or("timed out")?.err(), Some(Error::Refused), "nobody listens on 81");
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(lonely.with(|s| s.free_tcp_sockets()), free, "its socket is back");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn connect(shared: &'s Shared<'a>, remote: IpEndpoint) -> Result<Self, Error> {
        let stream = shared.with(|stack| super::TcpStream::connect(stack, remote))?;
        shared.kick();
        let stream = TcpStream {
            shared,
            stream: RefCell::new(Some(stream)),
        };
        match poll_fn(|cx| stream.poll_op(cx, Wait::Both, |s, stack| s.poll_connect(stack))).await {
            Ok(()) => Ok(stream),
            Err(e) => {
                stream.abort();
                Err(e)
            }
        }
    }

    /// Wrap a connected stream of the core (accepted or connected by
    /// non-blocking code) for async use.
    ///
    /// ```
    /// use embedded_io_async::Write;
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket};
    /// let mut net = SimNet::new(4, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let _l = server.with(|st| socket::TcpListener::bind(st, 9, 1))?;
    /// let core = client.with(|st| socket::TcpStream::connect(st, endpoint(s, 9)))?;
    /// net.run_for(Duration::from_millis(10));
    /// let mut stream = socket::asynch::TcpStream::new(client, core);
    /// net.block_on(stream.write_all(b"hi"), Duration::from_secs(1)).ok_or("timed out")??;
    /// assert_eq!(stream.with(|s, st| s.send_queue(st)), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(shared: &'s Shared<'a>, stream: super::TcpStream) -> Self {
        TcpStream {
            shared,
            stream: RefCell::new(Some(stream)),
        }
    }

    /// Run `f` on the core stream and the stack, borrowed for the call:
    /// addresses, options, queue sizes, `recv_with`.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::{TcpListener, TcpStream}};
    /// let mut net = SimNet::new(5, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let _l = TcpListener::bind(server, 22, 1)?;
    /// let mut ssh = net.block_on(TcpStream::connect(client, endpoint(s, 22)), Duration::from_secs(1))
    ///     .ok_or("timed out")??;
    /// ssh.with(|s, st| s.set_nodelay(st, true));
    /// assert_eq!(ssh.with(|s, st| s.peer_addr(st)), Some(endpoint(s, 22)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with<R>(&mut self, f: impl FnOnce(&mut super::TcpStream, &mut Stack<'a>) -> R) -> R {
        let stream = self.stream.get_mut();
        self.shared.with(|stack| match stream.as_mut() {
            Some(s) => f(s, stack),
            // Unreachable: only the consuming calls take the stream. A
            // stale key answers every call as a stream the stack took back.
            None => f(
                &mut super::TcpStream::accepted(crate::net::Key::STALE),
                stack,
            ),
        })
    }

    /// Send FIN after the queued data (`shutdown(SHUT_WR)`); reading goes on.
    ///
    /// ```
    /// use embedded_io_async::{Read, Write};
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::{Error, asynch::*}};
    /// let mut net = SimNet::new(6, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let mut l = TcpListener::bind(server, 9, 1)?;
    /// let both = async {
    ///     let mut out = TcpStream::connect(client, endpoint(s, 9)).await?;
    ///     let (mut inc, _) = l.accept().await?;
    ///     out.shutdown();
    ///     assert_eq!(out.write(b"x").await, Err(Error::Closed));
    ///     inc.read(&mut [0; 4]).await // end of file
    /// };
    /// assert_eq!(net.block_on(both, Duration::from_secs(1)), Some(Ok(0)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&mut self) {
        self.with(|s, stack| s.shutdown(stack));
        self.shared.kick();
    }

    /// Close gracefully: queued data is still delivered, then FIN
    /// ([`super::TcpStream::close`]).
    ///
    /// ```
    /// use embedded_io_async::{Read, Write};
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::*};
    /// let mut net = SimNet::new(7, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let mut l = TcpListener::bind(server, 9, 1)?;
    /// let both = async {
    ///     let mut out = TcpStream::connect(client, endpoint(s, 9)).await?;
    ///     out.write_all(b"last words").await?;
    ///     out.close();
    ///     let (mut inc, _) = l.accept().await?;
    ///     let mut buf = [0u8; 16];
    ///     let n = inc.read(&mut buf).await?;
    ///     Ok::<_, layernet::socket::Error>((n, inc.read(&mut buf).await?))
    /// };
    /// assert_eq!(net.block_on(both, Duration::from_secs(1)), Some(Ok((10, 0))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(mut self) {
        if let Some(s) = self.stream.get_mut().take() {
            self.shared.with(|stack| s.close(stack));
            self.shared.kick();
        }
    }

    /// Reset the connection at once (RST) and give the socket back.
    ///
    /// ```
    /// use embedded_io_async::Read;
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::{Error, asynch::*}};
    /// let mut net = SimNet::new(8, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let mut l = TcpListener::bind(server, 9, 1)?;
    /// let both = async {
    ///     let rude = TcpStream::connect(client, endpoint(s, 9)).await?;
    ///     let (mut victim, _) = l.accept().await?;
    ///     rude.abort();
    ///     victim.read(&mut [0; 8]).await
    /// };
    /// assert_eq!(net.block_on(both, Duration::from_secs(1)), Some(Err(Error::Reset)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abort(mut self) {
        if let Some(s) = self.stream.get_mut().take() {
            self.shared.with(|stack| s.abort(stack));
            self.shared.kick();
        }
    }

    /// The core stream, for non-blocking code again; nothing is closed.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::{TcpListener, TcpStream}};
    /// let mut net = SimNet::new(9, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let _l = TcpListener::bind(server, 9, 1)?;
    /// let a = net.block_on(TcpStream::connect(client, endpoint(s, 9)), Duration::from_secs(1))
    ///     .ok_or("timed out")??;
    /// let core = a.into_inner().ok_or("taken")?;
    /// client.with(|st| core.close(st));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(mut self) -> Option<super::TcpStream> {
        self.stream.get_mut().take()
    }

    /// Split into a reading and a writing half, for two tasks (or two
    /// branches of a `join`) that read and write at once: a peer that
    /// echoes while it reads needs both, or each side's buffers fill and
    /// both wait. Each half waits on its own smoltcp waker.
    ///
    /// ```
    /// use embedded_io_async::{Read, Write};
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::*};
    /// let mut net = SimNet::new(21, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let mut l = TcpListener::bind(server, 9, 1)?;
    /// let talk = async {
    ///     let mut out = TcpStream::connect(client, endpoint(s, 9)).await?;
    ///     let (mut inc, _) = l.accept().await?;
    ///     let (mut r, mut w) = out.split();
    ///     let mut got = [0u8; 5];
    ///     let (sent, _, heard) = futures::join!(
    ///         w.write_all(b"hello"),
    ///         async { let mut b = [0u8; 5]; inc.read_exact(&mut b).await.ok(); inc.write_all(&b).await },
    ///         r.read_exact(&mut got),
    ///     );
    ///     sent?;
    ///     heard.map_err(|_| layernet::socket::Error::Reset)?;
    ///     Ok::<_, layernet::socket::Error>(got)
    /// };
    /// assert_eq!(net.block_on(talk, Duration::from_secs(1)), Some(Ok(*b"hello")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split(&mut self) -> (TcpReader<'_, 's, 'a>, TcpWriter<'_, 's, 'a>) {
        (TcpReader { stream: self }, TcpWriter { stream: self })
    }

    /// Try `op`; if it would block, register the task with the socket's
    /// `wait` waker(s) in the same borrow of the stack and return `Pending`.
    fn poll_op<T>(
        &self,
        cx: &mut Context<'_>,
        wait: Wait,
        op: impl FnOnce(&mut super::TcpStream, &mut Stack<'a>) -> Result<T, Error>,
    ) -> Poll<Result<T, Error>> {
        let mut held = self.stream.borrow_mut();
        let Some(stream) = held.as_mut() else {
            return Poll::Ready(Err(Error::NotConnected));
        };
        let done = self.shared.with(|stack| match op(stream, stack) {
            Err(Error::WouldBlock) => match stack.tcp_socket_io(stream.key) {
                Some(socket) => {
                    match wait {
                        Wait::Recv => socket.register_recv_waker(cx.waker()),
                        Wait::Send => socket.register_send_waker(cx.waker()),
                        Wait::Both => {
                            socket.register_recv_waker(cx.waker());
                            socket.register_send_waker(cx.waker());
                        }
                    }
                    Poll::Pending
                }
                // No socket to wait on: the stack took it back.
                None => Poll::Ready(Err(Error::Aborted)),
            },
            done => Poll::Ready(done),
        });
        if matches!(done, Poll::Ready(Ok(_))) {
            // Data queued or the window opened: the run loop has work.
            self.shared.kick();
        }
        done
    }
}

impl Drop for TcpStream<'_, '_> {
    fn drop(&mut self) {
        if let Some(s) = self.stream.get_mut().take()
            && let Ok(mut stack) = self.shared.stack.try_borrow_mut()
        {
            s.close(&mut stack);
            drop(stack);
            self.shared.kick();
        }
    }
}

impl embedded_io_async::ErrorType for TcpStream<'_, '_> {
    type Error = Error;
}

impl embedded_io_async::Read for TcpStream<'_, '_> {
    /// Waits for at least one byte; `Ok(0)` at end of file or for an empty
    /// `buf`.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        poll_fn(|cx| self.poll_op(cx, Wait::Recv, |s, stack| s.recv(stack, buf))).await
    }
}

impl embedded_io_async::Write for TcpStream<'_, '_> {
    /// Waits until at least one byte fits in the send buffer.
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        poll_fn(|cx| self.poll_op(cx, Wait::Send, |s, stack| s.send(stack, buf))).await
    }

    /// Waits until the peer has acknowledged everything written.
    async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_op(cx, Wait::Send, |s, stack| s.flushed(stack))).await
    }
}

/// The reading half of a [`TcpStream`] ([`TcpStream::split`]):
/// `embedded_io_async::Read`.
///
/// ```
/// use embedded_io_async::Read;
/// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::*};
/// let mut net = SimNet::new(22, Default::default());
/// let (s, server) = net.add_async_host()?;
/// let (_, client) = net.add_async_host()?;
/// let mut l = TcpListener::bind(server, 9, 1)?;
/// let eof = async {
///     let mut out = TcpStream::connect(client, endpoint(s, 9)).await?;
///     l.accept().await?.0.close();
///     let (mut r, _) = out.split();
///     r.read(&mut [0; 4]).await
/// };
/// assert_eq!(net.block_on(eof, Duration::from_secs(1)), Some(Ok(0)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TcpReader<'h, 's, 'a> {
    stream: &'h TcpStream<'s, 'a>,
}

/// The writing half of a [`TcpStream`] ([`TcpStream::split`]):
/// `embedded_io_async::Write`.
///
/// ```
/// use embedded_io_async::Write;
/// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::*};
/// let mut net = SimNet::new(23, Default::default());
/// let (s, server) = net.add_async_host()?;
/// let (_, client) = net.add_async_host()?;
/// let _l = TcpListener::bind(server, 9, 1)?;
/// let sent = async {
///     let mut out = TcpStream::connect(client, endpoint(s, 9)).await?;
///     let (_, mut w) = out.split();
///     w.write_all(b"acknowledged").await?;
///     w.flush().await
/// };
/// assert_eq!(net.block_on(sent, Duration::from_secs(1)), Some(Ok(())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TcpWriter<'h, 's, 'a> {
    stream: &'h TcpStream<'s, 'a>,
}

impl embedded_io_async::ErrorType for TcpReader<'_, '_, '_> {
    type Error = Error;
}

impl embedded_io_async::ErrorType for TcpWriter<'_, '_, '_> {
    type Error = Error;
}

impl embedded_io_async::Read for TcpReader<'_, '_, '_> {
    /// As [`TcpStream`]'s `read`.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let stream = self.stream;
        poll_fn(|cx| stream.poll_op(cx, Wait::Recv, |s, stack| s.recv(stack, buf))).await
    }
}

impl embedded_io_async::Write for TcpWriter<'_, '_, '_> {
    /// As [`TcpStream`]'s `write`.
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        let stream = self.stream;
        poll_fn(|cx| stream.poll_op(cx, Wait::Send, |s, stack| s.send(stack, buf))).await
    }

    /// As [`TcpStream`]'s `flush`.
    async fn flush(&mut self) -> Result<(), Error> {
        let stream = self.stream;
        poll_fn(|cx| stream.poll_op(cx, Wait::Send, |s, stack| s.flushed(stack))).await
    }
}

impl TcpWriter<'_, '_, '_> {
    /// Send FIN after the queued data; the reading half reads on.
    ///
    /// ```
    /// use embedded_io_async::Read;
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::*};
    /// let mut net = SimNet::new(24, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let mut l = TcpListener::bind(server, 9, 1)?;
    /// let both = async {
    ///     let mut out = TcpStream::connect(client, endpoint(s, 9)).await?;
    ///     let (mut inc, _) = l.accept().await?;
    ///     out.split().1.shutdown();
    ///     inc.read(&mut [0; 4]).await
    /// };
    /// assert_eq!(net.block_on(both, Duration::from_secs(1)), Some(Ok(0)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&mut self) {
        let shared = self.stream.shared;
        if let Some(s) = self.stream.stream.borrow_mut().as_mut() {
            shared.with(|stack| s.shutdown(stack));
        }
        shared.kick();
    }
}

/// A listening TCP port whose `accept` is a future.
///
/// # Example
///
/// ```
/// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::{TcpListener, TcpStream}};
/// let mut net = SimNet::new(10, Default::default());
/// let (s, server) = net.add_async_host()?;
/// let (c, client) = net.add_async_host()?;
/// let mut web = TcpListener::bind(server, 80, 2)?;
/// let both = async {
///     let _out = TcpStream::connect(client, endpoint(s, 80)).await?;
///     let (_conn, peer) = web.accept().await?;
///     Ok::<_, layernet::socket::Error>(peer.addr)
/// };
/// assert_eq!(net.block_on(both, Duration::from_secs(1)), Some(Ok(endpoint(c, 0).addr)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped listener keeps listening: call `close`"]
pub struct TcpListener<'s, 'a> {
    shared: &'s Shared<'a>,
    listener: super::TcpListener,
}

impl<'s, 'a> TcpListener<'s, 'a> {
    /// Listen on `port` with a queue of `backlog`
    /// ([`super::TcpListener::bind`], with its errors).
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::{Error, asynch::TcpListener}};
    /// let mut net = SimNet::new(11, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// let _web = TcpListener::bind(shared, 80, 4)?;
    /// assert_eq!(TcpListener::bind(shared, 80, 4).err(), Some(Error::AddrInUse));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(shared: &'s Shared<'a>, port: u16, backlog: usize) -> Result<Self, Error> {
        let listener = shared.with(|stack| super::TcpListener::bind(stack, port, backlog))?;
        Ok(TcpListener { shared, listener })
    }

    /// Wait for the next established connection; its stream and peer.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] once the listener was stopped.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::{TcpListener, TcpStream}};
    /// let mut net = SimNet::new(12, Default::default());
    /// let (s, server) = net.add_async_host()?;
    /// let (_, client) = net.add_async_host()?;
    /// let mut l = TcpListener::bind(server, 7, 1)?;
    /// let nobody = net.block_on(l.accept(), Duration::from_secs(2));
    /// assert!(nobody.is_none(), "no client within 2 s");
    /// let _out = client.with(|st| layernet::socket::TcpStream::connect(st, endpoint(s, 7)))?;
    /// let (conn, _) = net.block_on(l.accept(), Duration::from_secs(1)).ok_or("timed out")??;
    /// conn.close();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn accept(&mut self) -> Result<(TcpStream<'s, 'a>, IpEndpoint), Error> {
        let shared = self.shared;
        let listener = &mut self.listener;
        let slot = shared.accept.get(listener.key.index);
        let (stream, peer) = poll_fn(|cx| {
            shared.with(|stack| match listener.accept(stack) {
                Err(Error::WouldBlock) => match slot {
                    Some(slot) => {
                        register(slot, cx.waker());
                        Poll::Pending
                    }
                    None => Poll::Ready(Err(Error::InvalidInput)),
                },
                done => Poll::Ready(done),
            })
        })
        .await?;
        Ok((TcpStream::new(shared, stream), peer))
    }

    /// The port listened on.
    ///
    /// ```
    /// let mut net = layernet::host::sim::SimNet::new(13, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// let l = layernet::socket::asynch::TcpListener::bind(shared, 8080, 1)?;
    /// assert_eq!(l.local_port(), 8080);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.listener.local_port()
    }

    /// Stop listening; connections not yet accepted are reset.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::asynch::TcpListener};
    /// let mut net = SimNet::new(14, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// TcpListener::bind(shared, 80, 1)?.close();
    /// net.run_for(layernet::Duration::from_millis(1));
    /// assert!(TcpListener::bind(shared, 80, 1).is_ok(), "the port is free again");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) {
        let TcpListener { shared, listener } = self;
        shared.with(|stack| listener.close(stack));
    }
}

/// A bound UDP socket whose `send_to` and `recv_from` are futures.
///
/// # Example
///
/// ```
/// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::UdpSocket};
/// let mut net = SimNet::new(15, Default::default());
/// let (s, server) = net.add_async_host()?;
/// let (c, client) = net.add_async_host()?;
/// let (mut srv, mut cli) = (UdpSocket::bind(server, 7)?, UdpSocket::bind(client, 0)?);
/// let both = async {
///     cli.send_to(b"ping", endpoint(s, 7)).await?;
///     let mut buf = [0u8; 64];
///     let (n, from) = srv.recv_from(&mut buf).await?;
///     srv.send_to(&buf[..n], from).await?;
///     cli.recv_from(&mut buf).await
/// };
/// assert_eq!(net.block_on(both, Duration::from_secs(1)), Some(Ok((4, endpoint(s, 7)))));
/// # let _ = c;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped UDP socket keeps its pool socket and port: call `close`"]
pub struct UdpSocket<'s, 'a> {
    shared: &'s Shared<'a>,
    socket: super::UdpSocket,
}

impl<'s, 'a> UdpSocket<'s, 'a> {
    /// Bind `port` (0: an ephemeral port) ([`super::UdpSocket::bind`]).
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::{Error, asynch::UdpSocket}};
    /// let mut net = SimNet::new(16, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// let _dns = UdpSocket::bind(shared, 53)?;
    /// assert_eq!(UdpSocket::bind(shared, 53).err(), Some(Error::AddrInUse));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(shared: &'s Shared<'a>, port: u16) -> Result<Self, Error> {
        let socket = shared.with(|stack| super::UdpSocket::bind(stack, port))?;
        Ok(UdpSocket { shared, socket })
    }

    /// The bound port.
    ///
    /// ```
    /// let mut net = layernet::host::sim::SimNet::new(17, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// let any = layernet::socket::asynch::UdpSocket::bind(shared, 0)?;
    /// assert_ne!(any.local_port(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.socket.local_port()
    }

    /// Queue one datagram to `to`, waiting while the send queue is full.
    ///
    /// # Errors
    ///
    /// As [`super::UdpSocket::send_to`], less [`Error::WouldBlock`].
    ///
    /// ```
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::{Error, asynch::UdpSocket}};
    /// let mut net = SimNet::new(18, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// let mut u = UdpSocket::bind(shared, 0)?;
    /// let huge = net.block_on(u.send_to(&[0; 9000], endpoint(3, 9)), Duration::from_secs(1));
    /// assert_eq!(huge, Some(Err(Error::NoBufferSpace)), "never fits the 8 KiB buffer");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn send_to(&mut self, data: &[u8], to: IpEndpoint) -> Result<(), Error> {
        let shared = self.shared;
        let socket = &mut self.socket;
        let done = poll_fn(|cx| {
            shared.with(|stack| match socket.send_to(stack, data, to) {
                Err(Error::WouldBlock) => match stack.udp_socket(socket.key) {
                    Some(s) => {
                        s.register_send_waker(cx.waker());
                        Poll::Pending
                    }
                    None => Poll::Ready(Err(Error::NotConnected)),
                },
                done => Poll::Ready(done),
            })
        })
        .await;
        if done.is_ok() {
            shared.kick();
        }
        done
    }

    /// Wait for the next datagram: the bytes copied into `buf` (a longer
    /// datagram is cut) and the sender.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if smoltcp reports a datagram it had to cut.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, socket::asynch::UdpSocket};
    /// let mut net = SimNet::new(19, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// let mut quiet = UdpSocket::bind(shared, 514)?;
    /// let mut buf = [0u8; 16];
    /// assert!(net.block_on(quiet.recv_from(&mut buf), Duration::from_secs(1)).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn recv_from(&mut self, buf: &mut [u8]) -> Result<(usize, IpEndpoint), Error> {
        let shared = self.shared;
        let socket = &mut self.socket;
        poll_fn(|cx| {
            shared.with(|stack| match socket.recv_from(stack, buf) {
                Err(Error::WouldBlock) => match stack.udp_socket(socket.key) {
                    Some(s) => {
                        s.register_recv_waker(cx.waker());
                        Poll::Pending
                    }
                    None => Poll::Ready(Err(Error::NotConnected)),
                },
                done => Poll::Ready(done),
            })
        })
        .await
    }

    /// Unbind and give the socket back.
    ///
    /// ```
    /// let mut net = layernet::host::sim::SimNet::new(20, Default::default());
    /// let (_, shared) = net.add_async_host()?;
    /// layernet::socket::asynch::UdpSocket::bind(shared, 5353)?.close();
    /// assert!(layernet::socket::asynch::UdpSocket::bind(shared, 5353).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) {
        let UdpSocket { shared, socket } = self;
        shared.with(|stack| socket.close(stack));
    }
}
