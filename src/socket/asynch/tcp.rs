//! Async TCP: a connected stream ([`TcpStream`], with its split halves
//! [`TcpReader`] and [`TcpWriter`]) and a listener whose `accept` is a
//! future ([`TcpListener`]).
//!
//! Layer: socket. Depends on the shared stack cell and its wakers
//! ([`super::Shared`]), this layer's non-blocking TCP sockets and the stack
//! ([`crate::net`]); never on applications or the host. no_std, no alloc.

use core::cell::RefCell;
use core::future::poll_fn;
use core::task::{Context, Poll};

use smoltcp::wire::IpEndpoint;

use super::{Shared, register};
use crate::net::Stack;
use crate::socket::Error;

/// Which of a smoltcp socket's wakers an operation waits on.
#[derive(Clone, Copy)]
enum Wait {
    Recv,
    Send,
    Both,
}

/// A connected TCP stream for async code: `embedded_io_async::Read` and
/// `Write` (its `flush` waits for the peer's acknowledgement of
/// everything written). It wraps the core's [`crate::socket::TcpStream`], so
/// every non-blocking call stays at hand ([`TcpStream::with`]).
///
/// `read` waits for at least one byte and returns `Ok(0)` at end of file;
/// `write` waits for room for one byte; both fail with the stream's own
/// error ([`Error::Reset`], [`Error::Closed`], [`Error::Aborted`]). There is
/// no time limit: a timeout is the executor's (race the future against its
/// timer), or the stream's keep-alive ([`crate::socket::TcpStream::set_keepalive`]).
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
    stream: RefCell<Option<crate::socket::TcpStream>>,
}

impl<'s, 'a> TcpStream<'s, 'a> {
    /// Connect to `remote` and wait for the handshake.
    ///
    /// # Errors
    ///
    /// Those of [`crate::socket::TcpStream::connect`] ([`Error::NoBufferSpace`],
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
        let stream = shared.with(|stack| crate::socket::TcpStream::connect(stack, remote))?;
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
    pub fn new(shared: &'s Shared<'a>, stream: crate::socket::TcpStream) -> Self {
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
    pub fn with<R>(
        &mut self,
        f: impl FnOnce(&mut crate::socket::TcpStream, &mut Stack<'a>) -> R,
    ) -> R {
        let stream = self.stream.get_mut();
        self.shared.with(|stack| match stream.as_mut() {
            Some(s) => f(s, stack),
            // Unreachable: only the consuming calls take the stream. A
            // stale key answers every call as a stream the stack took back.
            None => f(
                &mut crate::socket::TcpStream::accepted(crate::net::Key::STALE),
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
    /// ([`crate::socket::TcpStream::close`]).
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
    pub fn into_inner(mut self) -> Option<crate::socket::TcpStream> {
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
        op: impl FnOnce(&mut crate::socket::TcpStream, &mut Stack<'a>) -> Result<T, Error>,
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
    listener: crate::socket::TcpListener,
}

impl<'s, 'a> TcpListener<'s, 'a> {
    /// Listen on `port` with a queue of `backlog`
    /// ([`crate::socket::TcpListener::bind`], with its errors).
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
        let listener =
            shared.with(|stack| crate::socket::TcpListener::bind(stack, port, backlog))?;
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
