//! The stack's sockets as rows of a table, for a live view of the stack
//! (the file service's `/_stack`): each TCP connection's state, ends,
//! queues and window, and each UDP socket's port; the neighbours and the
//! last frames the stack keeps for such a view ([`super::seen`]).
//! Read-only; the socket rows are read from smoltcp's sockets when asked.
//!
//! Layer: net. Depends on the pool (`memory.rs`) and smoltcp's sockets.

use smoltcp::socket::{tcp, udp};
use smoltcp::wire::IpEndpoint;

use super::Stack;

/// One TCP socket in use, as a live view shows it.
///
/// ```
/// use layernet::{Duration, host::sim::{SimNet, endpoint}, net::TcpRow, socket::{TcpListener, TcpStream}};
/// let (mut net, s, c) = SimNet::pair(4)?;
/// let _l = TcpListener::bind(net.stack(s), 9, 1)?;
/// let mut out = TcpStream::connect(net.stack(c), endpoint(s, 9))?;
/// net.run_for(Duration::from_millis(10));
/// out.send(net.stack(c), b"unread")?;
/// net.run_for(Duration::from_millis(10));
/// let stack = net.stack(s);
/// let row: TcpRow = (0..stack.tcp_slots()).find_map(|i| stack.tcp_row(i)).ok_or("no row")?;
/// assert_eq!(row.recv_queue, 6, "received, not yet read");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRow {
    /// Its TCP state (RFC 9293's names: `smoltcp`'s `Display` of it).
    pub state: tcp::State,
    /// This end.
    pub local: Option<IpEndpoint>,
    /// The peer.
    pub remote: Option<IpEndpoint>,
    /// Bytes written and not yet acknowledged.
    pub send_queue: usize,
    /// Bytes received and not yet read.
    pub recv_queue: usize,
    /// Room left in the receive buffer: the window this end offers.
    pub window: usize,
}

impl Stack<'_> {
    /// TCP pool entries: the rows [`Stack::tcp_row`] can name.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// assert!(net.stack(a).tcp_slots() > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tcp_slots(&self) -> usize {
        self.tcp.len()
    }

    /// Pool entry `index` as a row, if its socket is a connection: not
    /// free, not listening, not closed.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::{TcpListener, TcpStream}};
    /// let (mut net, s, c) = SimNet::pair(2)?;
    /// let _l = TcpListener::bind(net.stack(s), 7, 1)?;
    /// let _conn = TcpStream::connect(net.stack(c), endpoint(s, 7))?;
    /// net.run_for(Duration::from_millis(10));
    /// let stack = net.stack(c);
    /// let rows: Vec<_> = (0..stack.tcp_slots()).filter_map(|i| stack.tcp_row(i)).collect();
    /// assert_eq!(rows.len(), 1);
    /// assert_eq!(rows[0].state.to_string(), "ESTABLISHED");
    /// assert_eq!(rows[0].remote, Some(endpoint(s, 7)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tcp_row(&self, index: usize) -> Option<TcpRow> {
        let entry = self.tcp.get(index)?;
        if entry.parked {
            return None;
        }
        let socket = self.sockets.get::<tcp::Socket>(entry.handle());
        let state = socket.state();
        if matches!(state, tcp::State::Closed | tcp::State::Listen) {
            return None;
        }
        Some(TcpRow {
            state,
            local: socket.local_endpoint(),
            remote: socket.remote_endpoint(),
            send_queue: socket.send_queue(),
            recv_queue: socket.recv_queue(),
            window: socket.recv_capacity() - socket.recv_queue(),
        })
    }

    /// The ports of the UDP sockets in use, in pool order.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::UdpSocket};
    /// let (mut net, a, _) = SimNet::pair(3)?;
    /// let _s = UdpSocket::bind(net.stack(a), 6868)?;
    /// let ports: Vec<u16> = net.stack(a).udp_ports().collect();
    /// assert_eq!(ports, [6868]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn udp_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.udp
            .iter()
            .filter(|e| e.in_use && !e.parked)
            .map(|e| self.sockets.get::<udp::Socket>(e.handle()).endpoint().port)
    }

    /// The neighbours the stack has learnt and not yet forgotten: a copy
    /// of smoltcp's ARP and NDP cache. Empty without the `live` feature.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, socket::Ping};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let to = net.stack(b).ipv4_addr();
    /// let mut ping = Ping::new(net.stack(a));
    /// ping.send(net.stack(a), to, 1, b"hi")?;
    /// net.run_for(Duration::from_millis(20));
    /// let macs: Vec<_> = net.stack(a).neighbors().map(|n| n.mac).collect();
    /// assert_eq!(macs, [net.stack(b).mac()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn neighbors(&self) -> impl Iterator<Item = super::Neighbor> + '_ {
        self.seen.neighbors(self.now)
    }

    /// The last frames received and sent ([`super::RECENT`] at most),
    /// oldest first. The stack notes frames only while someone reads
    /// them: for [`super::WATCHED_MS`] after each call. Empty without the
    /// `live` feature.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, net::Direction, socket::Ping};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let to = net.stack(b).ipv4_addr();
    /// assert_eq!(net.stack(a).recent_frames().count(), 0, "not watched yet");
    /// let mut ping = Ping::new(net.stack(a));
    /// ping.send(net.stack(a), to, 1, b"hi")?;
    /// net.run_for(Duration::from_millis(20));
    /// let frames: Vec<_> = net.stack(a).recent_frames().collect();
    /// // who-has, its reply, the echo request and its reply.
    /// assert_eq!(frames.len(), 4, "{frames:?}");
    /// assert_eq!(frames[0].direction, Direction::Tx);
    /// assert!(frames.windows(2).all(|w| w[0].id < w[1].id));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recent_frames(&self) -> impl Iterator<Item = super::FrameNote> + '_ {
        self.seen.recent(self.now)
    }
}
