//! The bulk TCP transfers over the simulated segment: layernet's two
//! stacks against two bare smoltcp `Interface` + `tcp::Socket` pairs, with
//! the same segment type and buffer sizes, timed in wall time.
//! scripts/bench-cpu.sh counts the instructions of [`timed_layernet`] and
//! [`timed_smoltcp`] (by name: keep them, and keep them never inlined).
//!
//! Layer: the command-line binary (std). Uses the library's stack, socket
//! layer and simulated segment, and smoltcp directly.

use core::cell::RefCell;
use std::time::Instant as WallInstant;

use smoltcp::iface::{self, Interface, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpCidr};

use layernet::host::sim::{endpoint, host_ip, host_mac};
use layernet::link::Link;
use layernet::link::segment::{Port, Segment};
use layernet::net::{Config, Resources, Stack};
use layernet::socket::{TcpListener, TcpStream};
use layernet::{Duration, Instant};

use super::{earliest, gbits};

/// Bytes each way in every TCP socket of the bulk transfer, on both sides.
/// 64 KiB: a full unscaled window, so the sender is never window-bound on a
/// link with no delay.
pub const BULK_BUFFER: usize = 65536;

/// Frames each station's queue on the bench's segment holds (as the
/// simulated network's own segment).
const QUEUE: usize = 64;

/// Virtual time a transfer may take before it counts as stalled.
const STALL_LIMIT: Duration = Duration::from_secs(600);

/// What alternating runs measured: layernet's rates and the peer's (Gbit/s)
/// and the allocations layernet's transfers made after setup.
pub(super) struct Sides {
    pub(super) ours: Vec<f64>,
    pub(super) theirs: Vec<f64>,
    pub(super) allocations: Vec<usize>,
}

/// The bulk transfers measured: (figure name, MTU, layernet's pool has the
/// host profile's socket count). The smallest pool is the like-for-like
/// comparison; the host-sized one shows what the stack's per-socket
/// book-keeping costs when every frame walks 24 TCP entries instead of 2.
pub const TRANSFERS: [(&str, usize, bool); 3] = [
    ("sim.tcp.mtu1500", 1500, false),
    ("sim.tcp.mtu9000", 9000, false),
    ("sim.tcp.mtu1500.pool24", 1500, true),
];

/// Alternating runs of layernet and the smoltcp-only peer.
pub(super) fn transfer_pair(
    (mtu, host_pool): (usize, bool),
    bytes: u64,
    runs: usize,
    counter: Option<fn() -> usize>,
) -> Result<Sides, String> {
    let (mut ours, mut theirs, mut allocs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (secs, a) = match (mtu, host_pool) {
            (1500, false) => layernet_transfer::<1514, 4, 2, 1>(bytes, counter)?,
            (1500, true) => layernet_transfer::<1514, 29, 24, 4>(bytes, counter)?,
            _ => layernet_transfer::<9014, 4, 2, 1>(bytes, counter)?,
        };
        ours.push(gbits(bytes, secs));
        allocs.extend(a);
        let secs = match mtu {
            1500 => smoltcp_transfer::<1514>(bytes)?,
            _ => smoltcp_transfer::<9014>(bytes)?,
        };
        theirs.push(gbits(bytes, secs));
    }
    Ok(Sides {
        ours,
        theirs,
        allocations: allocs,
    })
}

/// The bytes a sender sends: a pattern whose period (251) is prime to every
/// buffer and segment size, so a misplaced chunk shows.
fn pattern() -> Vec<u8> {
    (0..BULK_BUFFER + 251).map(|i| (i % 251) as u8).collect()
}

/// One end of a bulk transfer's application: what it sent or received so
/// far, and the check that the bytes arrive in order.
struct Tally {
    sent: u64,
    received: u64,
    total: u64,
    wrong: bool,
}

impl Tally {
    fn new(total: u64) -> Self {
        Tally {
            sent: 0,
            received: 0,
            total,
            wrong: false,
        }
    }

    /// What the sender offers next (empty when all was sent).
    fn next<'p>(&self, pattern: &'p [u8]) -> &'p [u8] {
        let start = (self.sent % 251) as usize;
        let left = (self.total - self.sent).min(BULK_BUFFER as u64) as usize;
        &pattern[start..start + left]
    }

    /// Count `chunk` in; checks its first byte only, which is enough to
    /// see a lost or repeated chunk without paying per byte.
    fn got(&mut self, chunk: &[u8]) {
        if chunk
            .first()
            .is_some_and(|b| u64::from(*b) != self.received % 251)
        {
            self.wrong = true;
        }
        self.received += chunk.len() as u64;
    }
}

/// The two ends of a bulk transfer, whichever stack they run on: the one
/// driver below times layernet and bare smoltcp alike.
trait Ends {
    /// Poll both stacks at `now`; true if anything moved.
    fn poll(&mut self, now: Instant) -> bool;
    /// The earliest time either stack wants to be polled.
    fn next(&mut self, now: Instant) -> Option<Instant>;
    /// The connection is up at both ends.
    fn connected(&mut self) -> bool;
    /// Queue bytes at the sending end; how many were taken.
    fn send(&mut self, data: &[u8]) -> usize;
    /// Read bytes at the receiving end; how many (0: none yet).
    fn recv(&mut self, buf: &mut [u8]) -> usize;
}

/// Run `ends` on a virtual clock until `done`: poll at the current time
/// until nothing moves, then jump to the next event.
fn drive<E: Ends>(
    ends: &mut E,
    now: &mut Instant,
    step: &mut dyn FnMut(&mut E, Instant) -> bool,
    done: &mut dyn FnMut(&mut E) -> bool,
) -> Result<(), String> {
    let limit = *now + STALL_LIMIT;
    loop {
        while step(ends, *now) {
            if done(ends) {
                return Ok(());
            }
        }
        if done(ends) {
            return Ok(());
        }
        *now = match ends.next(*now) {
            Some(t) if t > *now => t,
            _ => *now + Duration::from_millis(1),
        };
        if *now > limit {
            return Err("the transfer stalled".into());
        }
    }
}

/// Connect, then move `bytes` and time it: the wall time of the transfer
/// after the connection is up, and the heap allocations in that time if
/// `counter` counts them.
fn timed<E: Ends>(
    ends: &mut E,
    bytes: u64,
    counter: Option<fn() -> usize>,
) -> Result<(f64, Option<usize>), String> {
    let mut now = Instant::ZERO;
    drive(ends, &mut now, &mut |e, t| e.poll(t), &mut |e| {
        e.connected()
    })?;
    let pattern = pattern();
    let mut buf = vec![0u8; BULK_BUFFER];
    let tally = RefCell::new(Tally::new(bytes));
    let mut move_bytes = |e: &mut E, t: Instant| {
        let mut progress = e.poll(t);
        let mut tally = tally.borrow_mut();
        let offer = tally.next(&pattern);
        if !offer.is_empty() {
            let n = e.send(offer);
            tally.sent += n as u64;
            progress |= n > 0;
        }
        loop {
            let n = e.recv(&mut buf);
            if n == 0 {
                break;
            }
            tally.got(&buf[..n]);
            progress = true;
        }
        progress
    };
    let before = counter.map(|c| c());
    let start = WallInstant::now();
    let result = drive(ends, &mut now, &mut move_bytes, &mut |_| {
        tally.borrow().received >= bytes
    });
    let secs = start.elapsed().as_secs_f64();
    let allocations = counter.zip(before).map(|(c, before)| c() - before);
    result?;
    let tally = tally.borrow();
    if tally.wrong || tally.received != bytes {
        return Err(format!(
            "{} of {bytes} bytes arrived, in order: {}",
            tally.received, !tally.wrong
        ));
    }
    Ok((secs, allocations))
}

type BenchPort<'s, const M: usize> = Port<'s, 2, QUEUE, M>;

fn segment<const M: usize>() -> Box<RefCell<Segment<2, QUEUE, M>>> {
    Box::new(RefCell::new(Segment::new()))
}

/// Two layernet stacks and a `TcpStream` from the first to the second.
struct LayernetEnds<'x, 'a, D: Link> {
    a: &'x mut Stack<'a>,
    b: &'x mut Stack<'a>,
    links: (&'x mut D, &'x mut D),
    listener: TcpListener,
    tx: TcpStream,
    rx: Option<TcpStream>,
}

impl<D: Link> Ends for LayernetEnds<'_, '_, D> {
    fn poll(&mut self, now: Instant) -> bool {
        self.a.poll(self.links.0, now) | self.b.poll(self.links.1, now)
    }

    fn next(&mut self, now: Instant) -> Option<Instant> {
        earliest(self.a.poll_at(now), self.b.poll_at(now))
    }

    fn connected(&mut self) -> bool {
        if self.rx.is_none() {
            self.rx = self.listener.accept(self.b).ok().map(|(s, _)| s);
        }
        self.rx.is_some() && self.tx.poll_connect(self.a).is_ok()
    }

    fn send(&mut self, data: &[u8]) -> usize {
        self.tx.send(self.a, data).unwrap_or(0)
    }

    fn recv(&mut self, buf: &mut [u8]) -> usize {
        match &mut self.rx {
            Some(rx) => rx.recv(self.b, buf).unwrap_or(0),
            None => 0,
        }
    }
}

/// [`timed`] for layernet's ends. Never inlined, so that
/// scripts/bench-cpu.sh can count its instructions apart, setup excluded
/// (callgrind's `--toggle-collect`).
#[inline(never)]
fn timed_layernet<D: Link>(
    ends: &mut LayernetEnds<'_, '_, D>,
    bytes: u64,
    counter: Option<fn() -> usize>,
) -> Result<(f64, Option<usize>), String> {
    timed(ends, bytes, counter)
}

/// [`timed`] for bare smoltcp's ends, never inlined as [`timed_layernet`].
#[inline(never)]
fn timed_smoltcp<D: Link>(
    ends: &mut (Bare<'_, D>, Bare<'_, D>),
    bytes: u64,
) -> Result<f64, String> {
    timed(ends, bytes, None).map(|(secs, _)| secs)
}

/// `bytes` from one layernet stack to another through `TcpStream`s.
fn layernet_transfer<const M: usize, const S: usize, const T: usize, const U: usize>(
    bytes: u64,
    counter: Option<fn() -> usize>,
) -> Result<(f64, Option<usize>), String> {
    let wire = segment::<M>();
    let mut ra = Box::new(Resources::<S, T, U, BULK_BUFFER>::new());
    let mut rb = Box::new(Resources::<S, T, U, BULK_BUFFER>::new());
    let (ra, rb) = (&mut *ra, &mut *rb);
    let (ca, cb) = (
        Config::new(host_mac(0), host_ip(0)),
        Config::new(host_mac(1), host_ip(1)),
    );
    let port = |i, c: &Config| BenchPort::<M>::new(&wire, i, c.mac).ok_or("no port");
    let (mut pa, mut pb) = (port(0, &ca)?, port(1, &cb)?);
    let mut a = Stack::new(ca, &mut pa, ra, Instant::ZERO).map_err(|e| e.to_string())?;
    let mut b = Stack::new(cb, &mut pb, rb, Instant::ZERO).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(&mut b, 9, 1).map_err(|e| e.to_string())?;
    let tx = TcpStream::connect(&mut a, endpoint(1, 9)).map_err(|e| e.to_string())?;
    let mut ends = LayernetEnds {
        a: &mut a,
        b: &mut b,
        links: (&mut pa, &mut pb),
        listener,
        tx,
        rx: None,
    };
    timed_layernet(&mut ends, bytes, counter).map_err(|e| format!("layernet transfer: {e}"))
}

/// A bare smoltcp interface for host `i` of the bench's segments: its MAC,
/// its address, a seed of its own.
pub(super) fn bare_interface<D: Link>(device: &mut D, i: usize) -> Interface {
    let mut config = iface::Config::new(HardwareAddress::Ethernet(host_mac(i)));
    config.random_seed = i as u64 + 1;
    let mut iface = Interface::new(config, device, Instant::ZERO);
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::Ipv4(host_ip(i)));
    });
    iface
}

/// One bare smoltcp host: an interface and a socket set of one TCP socket.
struct Bare<'a, D> {
    device: D,
    iface: Interface,
    sockets: SocketSet<'a>,
    handle: iface::SocketHandle,
}

impl<'a, D: Link> Bare<'a, D> {
    fn new(
        mut device: D,
        i: usize,
        storage: &'a mut [SocketStorage<'a>],
        buffers: &'a mut [u8],
    ) -> Self {
        let iface = bare_interface(&mut device, i);
        let mut sockets = SocketSet::new(storage);
        let (rx, tx) = buffers.split_at_mut(BULK_BUFFER);
        let socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
        let handle = sockets.add(socket);
        Bare {
            device,
            iface,
            sockets,
            handle,
        }
    }

    fn poll(&mut self, now: Instant) -> bool {
        self.iface.poll(now, &mut self.device, &mut self.sockets)
            == iface::PollResult::SocketStateChanged
    }

    fn next(&mut self, now: Instant) -> Option<Instant> {
        self.iface.poll_at(now, &self.sockets)
    }

    fn socket(&mut self) -> &mut tcp::Socket<'a> {
        self.sockets.get_mut::<tcp::Socket>(self.handle)
    }
}

impl<D: Link> Ends for (Bare<'_, D>, Bare<'_, D>) {
    fn poll(&mut self, now: Instant) -> bool {
        self.0.poll(now) | self.1.poll(now)
    }

    fn next(&mut self, now: Instant) -> Option<Instant> {
        earliest(self.0.next(now), self.1.next(now))
    }

    fn connected(&mut self) -> bool {
        self.0.socket().may_send() && self.1.socket().may_recv()
    }

    fn send(&mut self, data: &[u8]) -> usize {
        self.0.socket().send_slice(data).unwrap_or(0)
    }

    fn recv(&mut self, buf: &mut [u8]) -> usize {
        self.1.socket().recv_slice(buf).unwrap_or(0)
    }
}

/// The same transfer between two bare smoltcp hosts on the same segment
/// type with the same buffers.
fn smoltcp_transfer<const M: usize>(bytes: u64) -> Result<f64, String> {
    let wire = segment::<M>();
    let mut storage = [[SocketStorage::EMPTY; 1], [SocketStorage::EMPTY; 1]];
    let mut buffers = [vec![0u8; 2 * BULK_BUFFER], vec![0u8; 2 * BULK_BUFFER]];
    let ([s0, s1], [b0, b1]) = (&mut storage, &mut buffers);
    let port = |i| BenchPort::<M>::new(&wire, i, host_mac(i)).ok_or("no port");
    let mut ends = (
        Bare::new(port(0)?, 0, s0, b0),
        Bare::new(port(1)?, 1, s1, b1),
    );
    ends.1
        .socket()
        .listen(9)
        .map_err(|e| format!("listen: {e:?}"))?;
    let cx = ends.0.iface.context();
    let socket = ends.0.sockets.get_mut::<tcp::Socket>(ends.0.handle);
    socket
        .connect(cx, endpoint(1, 9), layernet::net::EPHEMERAL_FIRST)
        .map_err(|e| format!("connect: {e:?}"))?;
    timed_smoltcp(&mut ends, bytes).map_err(|e| format!("smoltcp transfer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_transfers_deliver_every_byte() {
        assert!(layernet_transfer::<1514, 4, 2, 1>(200_000, None).is_ok());
        assert!(smoltcp_transfer::<9014>(200_000).is_ok());
    }

    // The examples of the library's `host::bench` docs, as they were.

    #[test]
    fn a_bulk_buffer_is_a_full_unscaled_window() {
        assert!(
            BULK_BUFFER > usize::from(u16::MAX),
            "smoltcp scales the window by 1"
        );
    }

    #[test]
    fn transfers_include_jumbo_frames() {
        assert!(
            TRANSFERS
                .iter()
                .any(|(name, mtu, _)| *name == "sim.tcp.mtu9000" && *mtu == 9000)
        );
    }
}
