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
//! This file holds what the sockets share: the stack cell ([`Shared`]) and
//! its wakers. The TCP stream and listener are in `tcp.rs`, the UDP socket
//! in `udp.rs`; all are re-exported here.
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
use core::task::Waker;

use smoltcp::time::Instant;

use crate::link::Link;
use crate::net::{MAX_LISTENERS, Stack};

mod tcp;
mod udp;

pub use tcp::{TcpListener, TcpReader, TcpStream, TcpWriter};
pub use udp::UdpSocket;

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
