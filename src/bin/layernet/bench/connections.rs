//! Connections per second against the greeting server, with 1, 4 and 16
//! concurrent clients: layernet over the simulated network against two
//! bare smoltcp hosts on the same segment type.
//!
//! Layer: the command-line binary (std). Uses the library's simulated
//! network and greeting application, and smoltcp directly.

use core::cell::RefCell;
use std::time::Instant as WallInstant;

use smoltcp::iface::{self, Interface, SocketSet, SocketStorage};
use smoltcp::socket::tcp;

use layernet::app::greeting::{DEFAULT_GREETING, GreetingClient, GreetingServer};
use layernet::app::{Outcome, Service};
use layernet::host::memory::Sizes;
use layernet::host::sim::{SimNet, SimService, endpoint, host_ip, host_mac};
use layernet::link::segment::{Faults, StdPort, StdSegment};
use layernet::net::{Config, Stack};
use layernet::{Duration, Instant, IpEndpoint};

use super::earliest;
use super::transfer::bare_interface;

/// A greeting client that starts over each time it finishes, until it has
/// made `target` connections.
struct Repeat {
    server: IpEndpoint,
    client: GreetingClient<64>,
    served: u64,
    failed: u64,
    target: u64,
}

impl Service for Repeat {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        if self.served + self.failed >= self.target {
            return false;
        }
        let progress = Service::poll(&mut self.client, stack, now);
        match self.client.outcome() {
            Outcome::Running => progress,
            Outcome::Done if self.client.received() == DEFAULT_GREETING => {
                self.served += 1;
                self.client = GreetingClient::new(self.server);
                true
            }
            _ => {
                self.failed += 1;
                self.client = GreetingClient::new(self.server);
                true
            }
        }
    }

    fn is_done(&self) -> bool {
        self.served + self.failed >= self.target
    }
}

/// A server whose log is read after every poll, as `layernet serve` reads
/// every service's after each round; here nobody prints it. Unread, the
/// ring would fill after 16 connections and every line after would first
/// shift the 16 kept ones: work no host that reads its log does.
struct Drained<S>(S);

impl<S: Service> Service for Drained<S> {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let progress = self.0.poll(stack, now);
        self.0.drain_log(&mut |_| {});
        progress
    }

    fn poll_at(&self) -> Option<Instant> {
        self.0.poll_at()
    }

    fn is_done(&self) -> bool {
        self.0.is_done()
    }

    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        self.0.shutdown(stack);
    }
}

/// `total` greeting connections from `clients` concurrent clients: the
/// rate in wall time, and the allocations in that time.
pub(super) fn connections(
    clients: usize,
    total: u64,
    counter: Option<fn() -> usize>,
) -> Result<(f64, Option<usize>), String> {
    // Sized as the host profile, as `layernet` sizes a host's stack: free
    // sockets wait outside smoltcp's set (`Memory::with_spare`), which
    // `SimNet::add_host`'s fixed-size profile has no room for.
    let mut net = SimNet::new(7, Faults::NONE);
    let add = |net: &mut SimNet, i| {
        let config = Config::new(host_mac(i), host_ip(i));
        net.add_host_memory(config, Sizes::HOST.leak()?)
            .map_err(|e| e.to_string())
    };
    let (a, b) = (add(&mut net, 0)?, add(&mut net, 1)?);
    let server = GreetingServer::<16>::bind(net.stack(a), 1234, 8, DEFAULT_GREETING)
        .map_err(|e| e.to_string())?;
    net.serve(a, Box::new(Drained(server)));
    let each = total.div_ceil(clients as u64);
    let mut repeats: Vec<Repeat> = (0..clients)
        .map(|_| Repeat {
            server: endpoint(a, 1234),
            client: GreetingClient::new(endpoint(a, 1234)),
            served: 0,
            failed: 0,
            target: each,
        })
        .collect();
    let mut extra: Vec<(usize, &mut SimService)> = repeats
        .iter_mut()
        .map(|r| (b, r as &mut SimService))
        .collect();
    let before = counter.map(|c| c());
    let (finished, secs) = timed_layernet(&mut net, &mut extra);
    let allocations = counter.zip(before).map(|(c, before)| c() - before);
    drop(extra);
    let served: u64 = repeats.iter().map(|r| r.served).sum();
    if !finished || served == 0 {
        return Err(format!(
            "greeting connections: {served} of {} served",
            each * clients as u64
        ));
    }
    Ok((served as f64 / secs.max(1e-9), allocations))
}

/// The timed part of [`connections`], never inlined so that callgrind's
/// `--toggle-collect` can count it apart from the setup: whether every
/// client finished, and the wall time it took.
#[inline(never)]
fn timed_layernet(net: &mut SimNet, extra: &mut [(usize, &mut SimService)]) -> (bool, f64) {
    let start = WallInstant::now();
    let finished = net.run_until(Duration::from_secs(3600), extra, |s| {
        s.iter().all(|(_, r)| r.is_done())
    });
    (finished, start.elapsed().as_secs_f64())
}

/// TCP sockets in each bare host's set for the main comparison: as many as
/// layernet's hosts have in their pools.
pub(super) const SAME_SOCKETS: usize = Sizes::HOST.tcp_sockets;

/// Listening sockets of the bare greeting server: the layernet server's
/// backlog.
const GREETING_BACKLOG: usize = 8;

/// Bytes each way in every socket of the bare greeting hosts: the host
/// profile's.
const GREETING_BUFFER: usize = 8192;

/// One bare smoltcp host on the simulated network's own segment type, with
/// a TCP socket of [`GREETING_BUFFER`] bytes each way in each of its
/// `storage` slots.
struct BareHost<'a> {
    device: StdPort<'a>,
    iface: Interface,
    sockets: SocketSet<'a>,
    handles: Vec<iface::SocketHandle>,
}

impl<'a> BareHost<'a> {
    fn new(
        wire: &'a RefCell<StdSegment>,
        i: usize,
        storage: &'a mut [SocketStorage<'a>],
        buffers: &'a mut [u8],
    ) -> Result<Self, String> {
        let mut device = StdPort::new(wire, i, host_mac(i)).ok_or("no port")?;
        let iface = bare_interface(&mut device, i);
        let mut set = SocketSet::new(storage);
        let handles = buffers
            .chunks_mut(2 * GREETING_BUFFER)
            .map(|b| {
                let (rx, tx) = b.split_at_mut(GREETING_BUFFER);
                let buffer = tcp::SocketBuffer::new;
                set.add(tcp::Socket::new(buffer(rx), buffer(tx)))
            })
            .collect();
        Ok(BareHost {
            device,
            iface,
            sockets: set,
            handles,
        })
    }

    fn poll(&mut self, now: Instant) -> bool {
        self.iface.poll(now, &mut self.device, &mut self.sockets)
            == iface::PollResult::SocketStateChanged
    }
}

/// The greeting server in bare smoltcp: every socket listens on the port,
/// sends the greeting once connected, closes, and listens again once it
/// is closed or in TIME-WAIT (smoltcp lets a socket in TIME-WAIT listen;
/// layernet's pool sets such a socket aside and listens with another).
fn serve_greetings(host: &mut BareHost<'_>, greeted: &mut [bool]) -> bool {
    let mut progress = false;
    for (handle, greeted) in host.handles.iter().zip(greeted.iter_mut()) {
        let socket = host.sockets.get_mut::<tcp::Socket>(*handle);
        match socket.state() {
            tcp::State::Closed | tcp::State::TimeWait => {
                *greeted = false;
                progress |= socket.listen(1234).is_ok();
            }
            _ if !*greeted && socket.may_send() => {
                // The buffer is empty and larger than the greeting.
                let _ = socket.send_slice(DEFAULT_GREETING);
                *greeted = true;
                socket.close();
                progress = true;
            }
            _ => {}
        }
    }
    progress
}

/// One bare greeting client: its socket's connections so far and what the
/// current one has read.
#[derive(Default)]
struct BareClient {
    got: Vec<u8>,
    open: bool,
    served: u64,
    failed: u64,
}

/// Drive the bare clients: read to end of stream and close; once a socket
/// is closed, count the greeting it read (or not) and connect again, from
/// the next local port, until each client has been served `each` times.
/// A SYN that finds every listening socket taken gets smoltcp's RST: the
/// client counts a failure and tries again (layernet's gate drops such a
/// SYN instead, and the client's retransmission gets in later).
fn greeting_clients(
    host: &mut BareHost<'_>,
    clients: &mut [BareClient],
    each: u64,
    next_port: &mut u16,
) -> bool {
    let mut progress = false;
    let cx = host.iface.context();
    for (handle, client) in host.handles.iter().zip(clients.iter_mut()) {
        let socket = host.sockets.get_mut::<tcp::Socket>(*handle);
        let mut buf = [0u8; 64];
        while let Ok(n @ 1..) = socket.recv_slice(&mut buf) {
            client.got.extend_from_slice(&buf[..n]);
            progress = true;
        }
        if socket.state() == tcp::State::CloseWait {
            socket.close();
            progress = true;
        }
        if socket.state() != tcp::State::Closed {
            continue;
        }
        if client.open {
            client.open = false;
            if client.got == DEFAULT_GREETING {
                client.served += 1;
            } else {
                client.failed += 1;
            }
            client.got.clear();
            progress = true;
        }
        if client.served < each {
            *next_port = next_port
                .checked_add(1)
                .unwrap_or(layernet::net::EPHEMERAL_FIRST);
            client.open = socket.connect(cx, endpoint(0, 1234), *next_port).is_ok();
            progress |= client.open;
        }
    }
    progress
}

/// The same `total` greeting connections from `clients` concurrent clients
/// between two bare smoltcp hosts on the simulated network's segment type:
/// the rate in wall time. Each host has `pool` sockets in its set, or as
/// many as it uses if that is more: the server's [`GREETING_BACKLOG`]
/// serve, the client's first `clients` connect, the rest stay closed (as
/// smoltcp's egress visits every socket of the set, a comparison with
/// layernet's pool must give both the same count).
pub(super) fn smoltcp_connections(clients: usize, total: u64, pool: usize) -> Result<f64, String> {
    let wire = Box::new(RefCell::new(StdSegment::new()));
    let (server_count, client_count) = (pool.max(GREETING_BACKLOG), pool.max(clients));
    let mut storage: Vec<_> = (0..server_count + client_count)
        .map(|_| SocketStorage::EMPTY)
        .collect();
    let mut buffers = vec![0u8; storage.len() * 2 * GREETING_BUFFER];
    let (server_slots, client_slots) = storage.split_at_mut(server_count);
    let (server_buffers, client_buffers) = buffers.split_at_mut(server_count * 2 * GREETING_BUFFER);
    let mut server = BareHost::new(&wire, 0, server_slots, server_buffers)?;
    let mut client_host = BareHost::new(&wire, 1, client_slots, client_buffers)?;
    let each = total.div_ceil(clients as u64);
    let mut states: Vec<BareClient> = (0..clients).map(|_| BareClient::default()).collect();
    let secs = timed_smoltcp(&mut server, &mut client_host, &mut states, each)?;
    let served: u64 = states.iter().map(|c| c.served).sum();
    if served == 0 {
        return Err("bare greeting connections: none served".into());
    }
    Ok(served as f64 / secs.max(1e-9))
}

/// The timed part of [`smoltcp_connections`], never inlined as
/// [`timed_layernet`]: the wall time until every client was served `each`
/// times.
#[inline(never)]
fn timed_smoltcp(
    server: &mut BareHost<'_>,
    client_host: &mut BareHost<'_>,
    states: &mut [BareClient],
    each: u64,
) -> Result<f64, String> {
    let mut greeted = [false; GREETING_BACKLOG];
    let mut next_port = layernet::net::EPHEMERAL_FIRST;
    let mut now = Instant::ZERO;
    let limit = now + Duration::from_secs(3600);
    let done = |c: &[BareClient]| c.iter().all(|c| c.served >= each);
    let start = WallInstant::now();
    while !done(states) {
        if states.iter().any(|c| c.failed > 10 * each) {
            return Err("bare greeting connections: most refused".into());
        }
        let mut progress = serve_greetings(server, &mut greeted);
        progress |= greeting_clients(client_host, states, each, &mut next_port);
        progress |= server.poll(now) | client_host.poll(now);
        if progress {
            continue;
        }
        let next = earliest(
            server.iface.poll_at(now, &server.sockets),
            client_host.iface.poll_at(now, &client_host.sockets),
        );
        now = match next {
            Some(t) if t > now => t,
            _ => now + Duration::from_millis(1),
        };
        if now > limit {
            return Err("bare greeting connections stalled".into());
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_greeting_clients_are_all_served() {
        // 16 clients against 8 listening sockets: refusals are retried.
        for clients in [1, 16] {
            assert!(smoltcp_connections(clients, 64, 0).is_ok_and(|rate| rate > 0.0));
        }
    }
}
