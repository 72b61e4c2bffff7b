//! A blocking UDP socket: `sendto`, `recvfrom` with a timeout.
//!
//! Layer: host (std). Uses [`crate::socket`] and this module's [`Host`]
//! (the stack behind a shared handle, and its driver).

use super::{Driver, Host};
use crate::socket::{self, Error};
use crate::{Duration, IpEndpoint};

/// A blocking UDP socket.
///
/// # Example
///
/// ```
/// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
/// let (sim, a, b) = SimNet::pair(1)?;
/// let net = Net::new(sim);
/// let mut room = net.host(a).udp_bind(6868)?;
/// let mut peer = net.host(b).udp_bind(6868)?;
/// peer.send_to(b"hello room", endpoint(a, 6868))?;
/// let mut buf = [0u8; 64];
/// let (n, from) = room.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"hello room"[..], endpoint(b, 6868)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UdpSocket<N: Driver> {
    pub(super) host: Host<N>,
    pub(super) inner: Option<socket::UdpSocket>,
    pub(super) timeout: Option<Duration>,
}

impl<N: Driver> UdpSocket<N> {
    /// `settimeout`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// use layernet::{Duration, socket::Error};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let mut udp = Net::new(sim).host(a).udp_bind(6868)?;
    /// udp.set_timeout(Some(Duration::from_secs(1)));
    /// assert_eq!(udp.recv_from(&mut [0u8; 8]).err(), Some(Error::TimedOut));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `sendto(data, addr)`: waits while the send queue is full.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for port 0 or an unspecified address,
    /// [`Error::NoBufferSpace`] for a datagram larger than the send buffer,
    /// [`Error::TimedOut`] when the send queue stayed full through the timeout,
    /// [`Error::WouldBlock`] at once when it is full and the timeout is zero.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// use layernet::socket::Error;
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let mut udp = Net::new(sim).host(a).udp_bind(0)?;
    /// assert_eq!(udp.send_to(b"x", endpoint(b, 0)), Err(Error::InvalidInput));
    /// assert_eq!(udp.send_to(&vec![0; 100_000], endpoint(b, 9)), Err(Error::NoBufferSpace));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_to(&mut self, data: &[u8], to: IpEndpoint) -> Result<(), Error> {
        let u = self.inner.as_mut().ok_or(Error::NotConnected)?;
        self.host.block(self.timeout, |s| u.send_to(s, data, to))
    }

    /// `recvfrom(bufsize)`: waits for a datagram.
    ///
    /// # Errors
    /// [`Error::TimedOut`] when no datagram came within the timeout,
    /// [`Error::WouldBlock`] at once when the timeout is zero.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut rx = net.host(a).udp_bind(6868)?;
    /// let mut tx = net.host(b).udp_bind(0)?;
    /// tx.send_to(&[1; 100], endpoint(a, 6868))?;
    /// let mut small = [0u8; 10];
    /// // Python's recvfrom(10): the rest of the datagram is lost.
    /// assert_eq!(rx.recv_from(&mut small)?.0, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_from(&mut self, buf: &mut [u8]) -> Result<(usize, IpEndpoint), Error> {
        let u = self.inner.as_mut().ok_or(Error::NotConnected)?;
        self.host.block(self.timeout, |s| u.recv_from(s, buf))
    }

    /// The bound port (`getsockname`).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, a, _) = SimNet::pair(1)?;
    /// let host = Net::new(sim).host(a);
    /// let (x, y) = (host.udp_bind(0)?, host.udp_bind(0)?);
    /// assert_ne!(x.local_port(), y.local_port(), "two ephemeral ports");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.inner.as_ref().map_or(0, |u| u.local_port())
    }

    /// `close()`: unbind; the same happens on drop.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (sim, a, b) = SimNet::pair(1)?;
    /// let net = Net::new(sim);
    /// let mut rx = net.host(a).udp_bind(53)?;
    /// rx.close();
    /// let mut rx = net.host(a).udp_bind(53)?; // the port can be bound again
    /// let mut tx = net.host(b).udp_bind(0)?; // kept open until its datagram left
    /// tx.send_to(b"q", endpoint(a, 53))?;
    /// assert_eq!(rx.recv_from(&mut [0u8; 4])?.0, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) {}

    /// `gettimeout()`: what [`UdpSocket::set_timeout`] set (`None`: block).
    ///
    /// ```
    /// # let (sim, peer, _) = layernet::host::sim::SimNet::pair(15)?;
    /// let net = layernet::host::blocking::Net::new(sim);
    /// let mut udp = net.host(peer).udp_bind(6868)?;
    /// assert_eq!(udp.timeout(), None);
    /// udp.set_timeout(Some(layernet::Duration::from_millis(250)));
    /// assert_eq!(udp.timeout().map(|t| t.total_millis()), Some(250));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// `setblocking(flag)`: `false` makes `recv_from`/`send_to` fail with
    /// [`Error::WouldBlock`] at once instead of waiting; `true` waits
    /// (without a time limit).
    ///
    /// ```
    /// # use layernet::host::{blocking::Net, sim::SimNet};
    /// let (sim, _, me) = SimNet::pair(16)?;
    /// let mut chat = Net::new(sim).host(me).udp_bind(0)?;
    /// chat.set_blocking(false);
    /// let mut inbox = [0u8; 64];
    /// assert_eq!(chat.recv_from(&mut inbox).err(), Some(layernet::socket::Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_blocking(&mut self, blocking: bool) {
        self.timeout = if blocking { None } else { Some(Duration::ZERO) };
    }
}

impl<N: Driver> Drop for UdpSocket<N> {
    fn drop(&mut self) {
        if let (Some(u), Ok(mut net)) = (self.inner.take(), self.host.net.inner.try_borrow_mut()) {
            u.close(net.stack(self.host.id));
        }
    }
}
