//! A connected [`TcpStream`]'s addresses (`getsockname`, `getpeername`),
//! options (`TCP_NODELAY`, `SO_KEEPALIVE`, a timeout) and buffer sizes.
//!
//! Layer: socket. Depends on [`crate::net`] (the stack) and smoltcp's TCP
//! socket; never on applications or the host. no_std, no alloc.

use smoltcp::socket::tcp;
use smoltcp::time::Duration;
use smoltcp::wire::IpEndpoint;

use super::TcpStream;
use crate::net::Stack;

impl TcpStream {
    /// Our address and port (`getsockname`).
    ///
    /// # Errors
    ///
    /// `None` once the connection is over (refused, reset or closed).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(11)?;
    /// let mut l = TcpListener::bind(net.stack(s), 8000, 1)?;
    /// let _dial = TcpStream::connect(net.stack(c), endpoint(s, 8000))?;
    /// net.run_for(Duration::from_millis(10));
    /// let (answered, _) = l.accept(net.stack(s))?;
    /// assert_eq!(answered.local_addr(net.stack(s)), Some(endpoint(s, 8000)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self, stack: &Stack<'_>) -> Option<IpEndpoint> {
        stack.tcp_socket_ref(self.key)?.local_endpoint()
    }

    /// The peer's address and port (`getpeername`).
    ///
    /// # Errors
    ///
    /// `None` once the connection is over (refused, reset or closed).
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::TcpStream};
    ///
    /// let (mut net, _, c) = SimNet::pair(12)?;
    /// let s = TcpStream::connect(net.stack(c), endpoint(0, 443))?;
    /// assert_eq!(s.peer_addr(net.stack(c)), Some(endpoint(0, 443)));
    /// net.run_for(Duration::from_millis(10)); // nobody listens: refused
    /// assert_eq!(s.peer_addr(net.stack(c)), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_addr(&self, stack: &Stack<'_>) -> Option<IpEndpoint> {
        stack.tcp_socket_ref(self.key)?.remote_endpoint()
    }

    /// `TCP_NODELAY`: true sends small segments at once (Nagle off); false
    /// (the default) holds a small segment back while earlier data is
    /// unacknowledged.
    ///
    /// ```
    /// use layernet::{Duration, Instant, host::sim::*, socket::*};
    ///
    /// let (mut net, s, c) = SimNet::pair(13)?;
    /// let _l = TcpListener::bind(net.stack(s), 23, 1)?;
    /// let mut keys = TcpStream::connect(net.stack(c), endpoint(s, 23))?;
    /// net.run_for(Duration::from_millis(10));
    /// keys.set_nodelay(net.stack(c), true);
    /// for key in [b"l", b"s"] {
    ///     keys.send(net.stack(c), key)?;
    ///     net.poll(c, Instant::from_millis(10));
    /// }
    /// assert_eq!(net.segment().census().tcp_payload_bytes, 2, "both left at once");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_nodelay(&mut self, stack: &mut Stack<'_>, nodelay: bool) {
        if let Some(s) = stack.tcp_socket_io(self.key) {
            s.set_nagle_enabled(!nodelay);
        }
    }

    /// `SO_KEEPALIVE` with its interval (smoltcp sends a probe after this
    /// much idle time); `None` turns it off (the default).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(14)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut idle = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// idle.set_keepalive(net.stack(c), Some(Duration::from_secs(1)));
    /// let quiet = net.segment().census().tcp_segments;
    /// net.run_for(Duration::from_secs(5));
    /// assert!(net.segment().census().tcp_segments >= quiet + 4, "probes and their ACKs");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_keepalive(&mut self, stack: &mut Stack<'_>, interval: Option<Duration>) {
        if let Some(s) = stack.tcp_socket_io(self.key) {
            s.set_keep_alive(interval);
        }
    }

    /// Abort the connection when the peer stays silent this long (smoltcp's
    /// socket timeout; the blocking layer's per-call timeouts are separate).
    /// `None` (the default for a connected stream) waits for ever.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, link::segment::Faults, socket::*};
    ///
    /// let (mut net, s, c) = SimNet::pair(15)?;
    /// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
    /// let mut t = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
    /// net.run_for(Duration::from_millis(10));
    /// t.poll_connect(net.stack(c))?;
    /// t.set_timeout(net.stack(c), Some(Duration::from_secs(2)));
    /// net.set_faults(Faults::loss(100)); // the peer goes silent
    /// t.send(net.stack(c), b"anyone?")?;
    /// net.run_for(Duration::from_secs(3));
    /// assert_eq!(t.send(net.stack(c), b"?"), Err(Error::Reset));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_timeout(&mut self, stack: &mut Stack<'_>, timeout: Option<Duration>) {
        // Touched: a shorter timeout can close the socket at the next
        // egress, at this instant too (see `Stack::walked_now`).
        if let Some(s) = stack.tcp_socket(self.key) {
            s.set_timeout(timeout);
        }
    }

    /// `getsockopt(TCP_NODELAY)`: true when small segments go out at once
    /// (Nagle's algorithm off). A stream starts with Nagle on, as a
    /// Berkeley socket does.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::TcpStream;
    ///
    /// let (mut net, _, client) = SimNet::pair(2)?;
    /// let mut s = TcpStream::connect(net.stack(client), endpoint(0, 7))?;
    /// assert!(!s.nodelay(net.stack(client)));
    /// s.set_nodelay(net.stack(client), true);
    /// assert!(s.nodelay(net.stack(client)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn nodelay(&self, stack: &Stack<'_>) -> bool {
        self.read_socket(stack, false, |s| !s.nagle_enabled())
    }

    /// `getsockopt(SO_KEEPALIVE)`: the keep-alive interval, `None` when off
    /// (the default).
    ///
    /// ```
    /// # let (mut net, _, b) = layernet::host::sim::SimNet::pair(3)?;
    /// let to = layernet::host::sim::endpoint(0, 80);
    /// let mut s = layernet::socket::TcpStream::connect(net.stack(b), to)?;
    /// let minute = Some(layernet::Duration::from_secs(60));
    /// s.set_keepalive(net.stack(b), minute);
    /// assert_eq!(s.keepalive(net.stack(b)), minute);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keepalive(&self, stack: &Stack<'_>) -> Option<Duration> {
        stack.tcp_socket_ref(self.key)?.keep_alive()
    }

    /// The silence after which smoltcp aborts the connection (see
    /// [`TcpStream::set_timeout`]); `None` when it waits for ever. Not
    /// Python's `gettimeout`: the core never blocks, so it has no per-call
    /// timeout.
    ///
    /// ```
    /// # use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::TcpStream};
    /// # let (mut net, _, host) = SimNet::pair(4)?;
    /// let mut stream = TcpStream::connect(net.stack(host), endpoint(0, 21))?;
    /// assert_eq!(stream.timeout(net.stack(host)), None);
    /// stream.set_timeout(net.stack(host), Some(Duration::from_secs(5)));
    /// assert_eq!(stream.timeout(net.stack(host)), Some(Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(&self, stack: &Stack<'_>) -> Option<Duration> {
        stack.tcp_socket_ref(self.key)?.timeout()
    }

    /// `getsockopt(SO_RCVBUF)`: the receive buffer's size in bytes, fixed
    /// when the stack's [`Resources`](crate::net::Resources) were declared
    /// (there is no `setsockopt(SO_RCVBUF)`: the memory is laid out at
    /// build time). It bounds the window the peer may fill.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, _, c) = SimNet::pair(5)?;
    /// let s = layernet::socket::TcpStream::connect(net.stack(c), endpoint(0, 9))?;
    /// // The simulated hosts use `net::profile::Host`: 8 KiB each way.
    /// assert_eq!(s.recv_capacity(net.stack(c)), 8192);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_capacity(&self, stack: &Stack<'_>) -> usize {
        self.read_socket(stack, 0, tcp::Socket::recv_capacity)
    }

    /// `getsockopt(SO_SNDBUF)`: the send buffer's size in bytes, fixed
    /// like [`TcpStream::recv_capacity`]. [`TcpStream::send`] accepts at most
    /// this much that is not yet acknowledged.
    ///
    /// ```
    /// # use layernet::host::sim::*;
    /// let (mut net, _s, c) = SimNet::pair(6)?;
    /// let s = layernet::socket::TcpStream::connect(net.stack(c), endpoint(0, 9))?;
    /// // Both sizes come from the one `BUF` parameter of `Resources`.
    /// assert_eq!(s.send_capacity(net.stack(c)), s.recv_capacity(net.stack(c)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_capacity(&self, stack: &Stack<'_>) -> usize {
        self.read_socket(stack, 0, tcp::Socket::send_capacity)
    }

    /// What stands for `fileno()` on a stack without file descriptors: the
    /// stream's slot in its stack's TCP pool, `0..T` for a stack of
    /// [`Resources`](crate::net::Resources)`<_, T, _, _>`. No two live
    /// streams of one stack share a slot, so it can index a per-connection
    /// table; after [`TcpStream::close`] the slot may serve another stream.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::TcpStream;
    ///
    /// let (mut net, _, me) = SimNet::pair(7)?;
    /// let one = TcpStream::connect(net.stack(me), endpoint(0, 1000))?;
    /// let two = TcpStream::connect(net.stack(me), endpoint(0, 1001))?;
    /// assert_ne!(one.slot(), two.slot());
    /// assert!(two.slot() < 24); // `profile::Host` has 24 TCP sockets
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slot(&self) -> usize {
        self.key.index
    }
}
