//! Async UDP: a bound socket whose `send_to` and `recv_from` are futures
//! ([`UdpSocket`]).
//!
//! Layer: socket. Depends on the shared stack cell ([`super::Shared`]) and
//! this layer's non-blocking UDP socket; never on applications or the host.
//! no_std, no alloc.

use core::future::poll_fn;
use core::task::Poll;

use smoltcp::wire::IpEndpoint;

use super::Shared;
use crate::socket::Error;

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
    socket: crate::socket::UdpSocket,
}

impl<'s, 'a> UdpSocket<'s, 'a> {
    /// Bind `port` (0: an ephemeral port) ([`crate::socket::UdpSocket::bind`]).
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
        let socket = shared.with(|stack| crate::socket::UdpSocket::bind(stack, port))?;
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
    /// As [`crate::socket::UdpSocket::send_to`], less [`Error::WouldBlock`].
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
