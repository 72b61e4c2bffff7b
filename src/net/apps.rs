//! What each service moved through the socket layer, per port.
//!
//! Layer: net. Fed by the socket layer's calls; read by the host's tables.

use super::*;

/// Most services whose traffic the stack tallies apart; traffic of
/// services beyond them goes uncounted per service.
///
/// # Example
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{net::MAX_APPS, socket::TcpStream};
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let _dialled = (1..=10)
///     .map(|port| TcpStream::connect(net.stack(a), endpoint(b, port)))
///     .collect::<Result<Vec<_>, _>>()?;
/// let apps = net.stack(a).app_counters();
/// assert_eq!(apps.len(), MAX_APPS);
/// assert_eq!(apps.last().map(|app| app.port), Some(8), "ports 9 and 10 went uncounted");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_APPS: usize = 8;

/// What one service moved: the bytes the application wrote and read
/// through the socket layer (not the wire's, which count retransmissions
/// and headers). A service is named by its well-known port: the local one
/// of a server's sockets, the remote one of a client's.
///
/// # Example
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::{AppCounters, Transport};
/// use layernet::{Duration, socket::{TcpListener, TcpStream}};
/// let (mut net, srv, cli) = SimNet::pair(4)?;
/// let mut listener = TcpListener::bind(net.stack(srv), 80, 1)?;
/// let mut stream = TcpStream::connect(net.stack(cli), endpoint(srv, 80))?;
/// net.run_for(Duration::from_millis(10));
/// stream.send(net.stack(cli), b"GET /")?;
/// net.run_for(Duration::from_millis(10));
/// let (mut conn, _) = listener.accept(net.stack(srv))?;
/// let mut buf = [0u8; 16];
/// assert_eq!(conn.recv(net.stack(srv), &mut buf)?, 5);
/// let web = AppCounters { port: 80, transport: Transport::Tcp, connections: 1, bytes_in: 5, bytes_out: 0 };
/// assert_eq!(net.stack(srv).app_counters(), [web]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppCounters {
    /// The service's port.
    pub port: u16,
    /// TCP or UDP.
    pub transport: Transport,
    /// TCP connections accepted or opened (UDP: 0).
    pub connections: u64,
    /// Bytes the application read.
    pub bytes_in: u64,
    /// Bytes the application wrote.
    pub bytes_out: u64,
}

impl Stack<'_> {
    /// What each service moved, in the order they first moved something.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::net::Transport;
    /// use layernet::socket::{TcpStream, UdpSocket};
    /// let (mut net, a, b) = SimNet::pair(3)?;
    /// let mut dns = UdpSocket::bind(net.stack(a), 0)?;
    /// dns.send_to(net.stack(a), b"query", endpoint(b, 53))?;
    /// let _web = TcpStream::connect(net.stack(a), endpoint(b, 80))?;
    /// let seen: Vec<_> = net.stack(a).app_counters().iter().map(|s| (s.port, s.transport, s.bytes_out)).collect();
    /// assert_eq!(seen, [(53, Transport::Udp, 5), (80, Transport::Tcp, 0)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn app_counters(&self) -> &[AppCounters] {
        &self.apps
    }

    /// Add to the counters of the service on `port`.
    pub(crate) fn count_app(
        &mut self,
        transport: Transport,
        port: u16,
        connections: u64,
        bytes_in: usize,
        bytes_out: usize,
    ) {
        let found = self
            .apps
            .iter()
            .position(|a| a.port == port && a.transport == transport);
        let index = match found {
            Some(i) => i,
            None => {
                let fresh = AppCounters {
                    port,
                    transport,
                    connections: 0,
                    bytes_in: 0,
                    bytes_out: 0,
                };
                if self.apps.push(fresh).is_err() {
                    return;
                }
                self.apps.len() - 1
            }
        };
        let app = &mut self.apps[index];
        app.connections += connections;
        app.bytes_in += bytes_in as u64;
        app.bytes_out += bytes_out as u64;
    }

    /// Count bytes moved by the stream `key` for its service.
    pub(crate) fn count_tcp(&mut self, key: Key, bytes_in: usize, bytes_out: usize) {
        if let Some(port) = self.tcp_entry(key).map(|e| e.service) {
            self.count_app(Transport::Tcp, port, 0, bytes_in, bytes_out);
        }
    }
}
