//! A bound UDP socket, [`UdpSocket`]: `sendto` and `recvfrom`.
//!
//! Layer: socket. Depends on [`crate::net`] (the stack, its pool and its
//! per-service counters) and smoltcp's UDP socket; never on applications or
//! the host. no_std, no alloc.

use smoltcp::socket::udp;
use smoltcp::wire::IpEndpoint;

use super::Error;
use crate::net::{Key, Stack, Transport};

/// A bound UDP socket.
///
/// # Example
///
/// A datagram echo: the server answers whoever wrote, at the address
/// `recv_from` gave:
///
/// ```
/// use layernet::{Duration, host::sim::*, socket::UdpSocket};
///
/// let (mut net, srv, cli) = SimNet::pair(1)?;
/// let mut server = UdpSocket::bind(net.stack(srv), 7)?;
/// let mut client = UdpSocket::bind(net.stack(cli), 0)?;
/// client.send_to(net.stack(cli), b"ping", endpoint(srv, 7))?;
/// net.run_for(Duration::from_millis(10));
/// let mut buf = [0u8; 64];
/// let (n, from) = server.recv_from(net.stack(srv), &mut buf)?;
/// server.send_to(net.stack(srv), &buf[..n], from)?;
/// net.run_for(Duration::from_millis(10));
/// assert_eq!(client.recv_from(net.stack(cli), &mut buf)?, (4, endpoint(srv, 7)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a dropped UDP socket keeps its pool socket and port: call `close`"]
pub struct UdpSocket {
    pub(super) key: Key,
    port: u16,
}

impl UdpSocket {
    /// Bind `port` (0: an ephemeral port).
    ///
    /// # Errors
    ///
    /// [`Error::AddrInUse`] if another UDP socket of this stack has the port
    /// (or, for 0, no ephemeral port is free); [`Error::NoBufferSpace`] when
    /// the pool has no free UDP socket.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::{Error, UdpSocket}};
    ///
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let _dns = UdpSocket::bind(net.stack(a), 53)?;
    /// assert_eq!(UdpSocket::bind(net.stack(a), 53).err(), Some(Error::AddrInUse));
    /// let mut more = Vec::new();
    /// while let Ok(socket) = UdpSocket::bind(net.stack(a), 0) {
    ///     more.push(socket);
    /// }
    /// assert_eq!(more.len(), 3, "a host-sized stack has 4 UDP sockets");
    /// let err = UdpSocket::bind(net.stack(a), 0).err();
    /// assert_eq!(err, Some(Error::NoBufferSpace));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16) -> Result<Self, Error> {
        let port = match port {
            0 => stack.ephemeral_port(true).ok_or(Error::AddrInUse)?,
            p => p,
        };
        let key = stack.take_udp(port)?;
        Ok(UdpSocket { key, port })
    }

    /// The bound port (`getsockname`); for `bind(0)`, the port chosen.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::UdpSocket};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let (fixed, any) = (UdpSocket::bind(net.stack(a), 69)?, UdpSocket::bind(net.stack(a), 0)?);
    /// assert_eq!(fixed.local_port(), 69);
    /// assert_ne!(any.local_port(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.port
    }

    /// The longest datagram [`Self::send_to`] can ever queue: the
    /// socket's send buffer (what the stack's profile gives each socket).
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::UdpSocket};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let s = UdpSocket::bind(net.stack(a), 6868)?;
    /// assert_eq!(s.send_capacity(net.stack(a)), 8192, "a host-sized stack's buffers");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_capacity(&self, stack: &mut Stack<'_>) -> usize {
        stack
            .udp_socket(self.key)
            .map_or(0, |s| s.payload_send_capacity())
    }

    /// Queue one datagram to `to` (`sendto`); it leaves when the stack is
    /// polled.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] when the send queue is full;
    /// [`Error::NoBufferSpace`] when the datagram can never fit;
    /// [`Error::InvalidInput`] for port 0 or an unspecified address.
    ///
    /// `sendto` and `recvfrom`, as in the classic UDP chat:
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::{Error, UdpSocket}};
    ///
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let mut sa = UdpSocket::bind(net.stack(a), 6868)?;
    /// let mut sb = UdpSocket::bind(net.stack(b), 6868)?;
    /// sa.send_to(net.stack(a), b"hi", endpoint(b, 6868))?;
    /// let huge = sa.send_to(net.stack(a), &[0; 9000], endpoint(b, 6868));
    /// assert_eq!(huge, Err(Error::NoBufferSpace), "larger than the 8 KiB buffer");
    /// net.run_for(Duration::from_millis(10));
    /// let mut buf = [0u8; 64];
    /// let (n, from) = sb.recv_from(net.stack(b), &mut buf)?;
    /// assert_eq!((&buf[..n], from), (&b"hi"[..], endpoint(a, 6868)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_to(
        &mut self,
        stack: &mut Stack<'_>,
        data: &[u8],
        to: IpEndpoint,
    ) -> Result<(), Error> {
        if to.port == 0 || to.addr.is_unspecified() {
            return Err(Error::InvalidInput);
        }
        let socket = stack.udp_socket(self.key).ok_or(Error::NotConnected)?;
        if data.len() > socket.payload_send_capacity() {
            return Err(Error::NoBufferSpace);
        }
        let local = socket.endpoint().port;
        match socket.send_slice(data, to) {
            Ok(()) => {
                stack.count_app(
                    Transport::Udp,
                    service_port(local, to.port),
                    0,
                    0,
                    data.len(),
                );
                Ok(())
            }
            Err(udp::SendError::BufferFull) => Err(Error::WouldBlock),
            Err(udp::SendError::Unaddressable) => Err(Error::InvalidInput),
        }
    }

    /// The next datagram (`recvfrom`): the bytes copied into `buf` and the
    /// sender. A datagram longer than `buf` is cut and its tail lost, as with
    /// Python's `recvfrom(bufsize)`.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] when no datagram is waiting;
    /// [`Error::Truncated`] if smoltcp reports one it had to cut.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{Error, UdpSocket}};
    ///
    /// let (mut net, a, b) = SimNet::pair(2)?;
    /// let mut rx = UdpSocket::bind(net.stack(b), 514)?;
    /// let mut tx = UdpSocket::bind(net.stack(a), 0)?;
    /// tx.send_to(net.stack(a), b"a long log line", endpoint(b, 514))?;
    /// net.run_for(Duration::from_millis(10));
    /// let mut small = [0u8; 6];
    /// assert_eq!(rx.recv_from(net.stack(b), &mut small)?.0, 6);
    /// assert_eq!(&small, b"a long");
    /// let next = rx.recv_from(net.stack(b), &mut small);
    /// assert_eq!(next, Err(Error::WouldBlock), "the tail is gone");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_from(
        &mut self,
        stack: &mut Stack<'_>,
        buf: &mut [u8],
    ) -> Result<(usize, IpEndpoint), Error> {
        let socket = stack.udp_socket(self.key).ok_or(Error::NotConnected)?;
        match socket.recv() {
            Ok((data, meta)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                let local = socket.endpoint().port;
                let from = meta.endpoint;
                stack.count_app(Transport::Udp, service_port(local, from.port), 0, n, 0);
                Ok((n, from))
            }
            Err(udp::RecvError::Exhausted) => Err(Error::WouldBlock),
            Err(udp::RecvError::Truncated) => Err(Error::Truncated),
        }
    }

    /// The IP time-to-live of the datagrams this socket sends (`None`:
    /// smoltcp's default of 64). mDNS sends with 255 (RFC 6762 section 11),
    /// so that a receiver can tell a datagram from off the link.
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] if the socket is no longer in the pool.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::UdpSocket};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut mdns = UdpSocket::bind(net.stack(a), 5353)?;
    /// mdns.set_hop_limit(net.stack(a), Some(255))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_hop_limit(&mut self, stack: &mut Stack<'_>, ttl: Option<u8>) -> Result<(), Error> {
        let socket = stack.udp_socket(self.key).ok_or(Error::NotConnected)?;
        socket.set_hop_limit(ttl.filter(|t| *t > 0));
        Ok(())
    }

    /// Unbind and return the socket to the pool; the port can be bound again
    /// at once.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::UdpSocket};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let first = UdpSocket::bind(net.stack(a), 5353)?;
    /// first.close(net.stack(a));
    /// assert_eq!(UdpSocket::bind(net.stack(a), 5353)?.local_port(), 5353);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self, stack: &mut Stack<'_>) {
        stack.release_udp(self.key);
    }

    /// What stands for `fileno()`: the socket's slot in its stack's UDP
    /// pool, `0..U` for [`Resources`](crate::net::Resources)`<_, _, U, _>`
    /// (a numbering apart from the TCP pool's [`TcpStream::slot`](super::TcpStream::slot)).
    ///
    /// ```
    /// let (mut net, a, _) = layernet::host::sim::SimNet::pair(8)?;
    /// let first = layernet::socket::UdpSocket::bind(net.stack(a), 5353)?;
    /// let second = layernet::socket::UdpSocket::bind(net.stack(a), 0)?;
    /// assert_ne!(first.slot(), second.slot());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slot(&self) -> usize {
        self.key.index
    }
}

/// The port that names a datagram's service: ours if we bound a
/// well-known one (a server), else the peer's (a client on an ephemeral
/// port).
fn service_port(local: u16, peer: u16) -> u16 {
    if local < crate::net::EPHEMERAL_FIRST {
        local
    } else {
        peer
    }
}
