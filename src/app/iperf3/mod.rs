//! An iperf3 server, compatible with the `iperf3` client that Linux
//! distributions ship (3.12 and later): `iperf3 -c HOST`, `-R` (the server
//! sends), `-P N` parallel streams, `-t`, `-n`, `--json`, and UDP (`-u -b
//! RATE`, either way, with loss and jitter). A second client while a test
//! runs gets ACCESS_DENIED, as from iperf3's own server.
//!
//! Layer: app. Depends on [`crate::socket`], the server skeleton
//! ([`super::server::Connections`]) and its own parts: [`control`] (the
//! control connection's state machine, bytes in and out, no sockets) and
//! [`json`] (the few fields iperf3 exchanges) and [`udp`] (UDP streams'
//! datagrams and figures). No std, no alloc: one test's state is a fixed
//! [`control::Control`] buffer and a count per stream.
//!
//! Every connection comes to the one port: the first, while no test runs,
//! is the control connection; while the control connection waits for its
//! data streams (CREATE_STREAMS), each new one must open with the test's
//! cookie and becomes a data stream; any other gets ACCESS_DENIED and is
//! closed. The connections are one table (the skeleton's), each with its
//! role, because they are not independent: the control connection's state
//! says what a data stream does (wait, receive, send, close).
//!
//! A UDP test's streams come to a UDP socket on the same port, bound for
//! the test alone (from CREATE_STREAMS to TEST_END): each new sender's
//! first datagram opens a stream and is answered from that port; the
//! stream is its sender's address from then on.
//!
//! Not supported (refused with iperf3's "not implemented" error, so the
//! client says so): `--bidir`, SCTP. Not measured (reported as 0): CPU
//! use, retransmissions.

pub mod control;
pub mod json;
pub mod udp;

use smoltcp::time::{Duration, Instant};

use self::control::{COOKIE_SIZE, Control, Phase, StreamResult, errno, state};
use self::udp::{Pacer, Receiver};
use super::server::{Connection, Connections};
use super::{LOG_LINES, Service};
use crate::IpEndpoint;
use crate::net::Stack;
use crate::socket::{EndpointText, Error, TcpListener, TcpStream, UdpSocket};

/// A test in which nothing moved for this long is abandoned (a client
/// that vanished without a FIN would otherwise keep every later one out).
pub const IDLE: Duration = Duration::from_secs(30);

/// Bytes a reverse test's streams send: a fixed pattern, never what an
/// earlier connection left in the pooled socket's ring.
const FILL: u8 = 0x5a;

/// The largest UDP datagram this server sends or counts whole: one that
/// fits an Ethernet frame unfragmented (iperf3's own UDP default is 1460).
pub const MAX_DATAGRAM: usize = 1472;

/// Datagrams read or sent per poll at most, so that other services get
/// their turn.
const UDP_BURST: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The test's control connection.
    Control,
    /// A new connection during CREATE_STREAMS, until its cookie is in.
    Candidate { cookie: [u8; COOKIE_SIZE], got: u8 },
    /// The test's `index`-th data stream (from 0).
    Data { index: u16 },
    /// Send ACCESS_DENIED and close.
    Refuse,
}

struct Conn {
    stream: TcpStream,
    peer: IpEndpoint,
    role: Role,
}

impl Connection for Conn {
    fn into_stream(self) -> TcpStream {
        self.stream
    }
}

/// What a step decided for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Keep(bool),
    /// Close gracefully (queued bytes go first).
    Close,
    /// Reset: the connection failed, or its test is gone.
    Abort,
}

/// The iperf3 server: up to `CONNS` connections (the control connection,
/// up to `CONNS - 2` data streams, and one being checked or refused), a
/// control buffer of `BUF` bytes (parameters in, results out: 2 KiB holds
/// the results of 14 streams) and a log of `LOG` lines.
///
/// # Example
///
/// ```
/// use layernet::app::iperf3::Iperf3Server;
/// use layernet::app::ports;
/// use layernet::host::sim::SimNet;
/// let (mut net, a, _) = SimNet::pair(1)?;
/// let server = Iperf3Server::<6>::bind(net.stack(a), ports::IPERF3, 2)?;
/// assert_eq!((server.max_streams(), server.tests()), (4, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped server keeps its listener and connections: call `Service::shutdown` first"]
pub struct Iperf3Server<
    const CONNS: usize = 10,
    const BUF: usize = 2048,
    const LOG: usize = LOG_LINES,
> {
    server: Connections<Conn, CONNS, LOG>,
    /// The test under way, if any.
    control: Option<Control<BUF>>,
    /// Data streams of this test so far.
    streams: u16,
    /// Bytes each stream received (or sent, with `-R`).
    bytes: [u64; CONNS],
    /// Bytes sent by all streams (for `-n` with `-R`).
    sent_total: u64,
    /// The port (a UDP test's streams come to it too).
    port: u16,
    /// A UDP test's socket, while its streams run.
    udp: Option<UdpSocket>,
    /// A UDP test's streams: their senders, in order.
    udp_peers: [Option<IpEndpoint>; CONNS],
    /// What each UDP stream received...
    rx: [Receiver; CONNS],
    /// ...or sent, with `-R`.
    tx: [Pacer; CONNS],
    /// When anything last moved.
    last: Instant,
    tests: u64,
    refused: u64,
}

impl<const CONNS: usize, const BUF: usize, const LOG: usize> Iperf3Server<CONNS, BUF, LOG> {
    /// Listen on `port` (iperf3's is [`super::ports::IPERF3`]) with
    /// `backlog` listening slots.
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`].
    ///
    /// ```
    /// use layernet::app::iperf3::Iperf3Server;
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let _first = Iperf3Server::<4>::bind(net.stack(a), 5201, 2)?;
    /// assert!(Iperf3Server::<4>::bind(net.stack(a), 5201, 2).is_err(), "port taken");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16, backlog: usize) -> Result<Self, Error> {
        Ok(Iperf3Server {
            server: Connections::new(TcpListener::bind(stack, port, backlog)?),
            control: None,
            streams: 0,
            bytes: [0; CONNS],
            sent_total: 0,
            port,
            udp: None,
            udp_peers: [None; CONNS],
            rx: [Receiver::new(); CONNS],
            tx: [Pacer::new(0, Instant::ZERO); CONNS],
            last: Instant::ZERO,
            tests: 0,
            refused: 0,
        })
    }

    /// The most data streams a test may ask for (`-P`).
    ///
    /// ```
    /// use layernet::app::iperf3::Iperf3Server;
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let server = Iperf3Server::<4>::bind(net.stack(a), 5201, 2)?;
    /// assert_eq!(server.max_streams(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_streams(&self) -> u16 {
        u16::try_from(CONNS.saturating_sub(2)).unwrap_or(u16::MAX)
    }

    /// Tests started (control connections accepted).
    ///
    /// ```
    /// use layernet::app::iperf3::Iperf3Server;
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let server = Iperf3Server::<4>::bind(net.stack(a), 5201, 2)?;
    /// assert_eq!(server.tests(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tests(&self) -> u64 {
        self.tests
    }

    /// Connections refused with ACCESS_DENIED.
    ///
    /// ```
    /// use layernet::app::iperf3::Iperf3Server;
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let server = Iperf3Server::<4>::bind(net.stack(a), 5201, 2)?;
    /// assert_eq!(server.refused(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Whether a test is under way.
    ///
    /// ```
    /// use layernet::app::iperf3::Iperf3Server;
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let server = Iperf3Server::<4>::bind(net.stack(a), 5201, 2)?;
    /// assert_eq!(server.busy(), false);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn busy(&self) -> bool {
        self.control.is_some()
    }

    fn accept(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let max = self.max_streams();
        let control = &mut self.control;
        let streams = &mut self.streams;
        let bytes = &mut self.bytes;
        let sent_total = &mut self.sent_total;
        let udp_peers = &mut self.udp_peers;
        let rx = &mut self.rx;
        let tests = &mut self.tests;
        let accepted = self
            .server
            .accept(stack, CONNS, |mut stream, peer, stack, log| {
                let role = match control {
                    None => {
                        *control = Some(Control::new(max));
                        *streams = 0;
                        *bytes = [0; CONNS];
                        *sent_total = 0;
                        *udp_peers = [None; CONNS];
                        *rx = [Receiver::new(); CONNS];
                        *tests += 1;
                        log.push(format_args!("iperf3: test from {}", EndpointText(peer)));
                        Role::Control
                    }
                    Some(c) if c.phase() == Phase::CreateStreams => Role::Candidate {
                        cookie: [0; COOKIE_SIZE],
                        got: 0,
                    },
                    Some(_) => Role::Refuse,
                };
                if matches!(role, Role::Control | Role::Refuse) {
                    // State bytes are single bytes the peer waits for.
                    stream.set_nodelay(stack, true);
                }
                Conn { stream, peer, role }
            });
        if accepted {
            self.last = now;
        }
        accepted
    }

    /// The test is over (or abandoned): every other connection is reset
    /// by its next step.
    fn end_test(&mut self, peer: IpEndpoint, how: &str) {
        if let Some(c) = &self.control {
            let p = c.params();
            let n = usize::from(self.streams).min(CONNS);
            let total: u64 = if !p.udp {
                self.bytes.iter().sum()
            } else if p.reverse {
                self.tx[..n].iter().map(|t| t.bytes).sum()
            } else {
                self.rx[..n].iter().map(|r| r.bytes).sum()
            };
            let ms = c.elapsed_ms().max(1);
            let mbps = total.saturating_mul(8) / ms / 1000;
            self.server.log.push(format_args!(
                "iperf3: {} {how}: {} stream(s), {} bytes {} in {}.{:03} s ({mbps} Mbit/s)",
                EndpointText(peer),
                self.streams,
                total,
                if p.reverse { "sent" } else { "received" },
                ms / 1000,
                ms % 1000
            ));
            if p.udp && !p.reverse {
                let (mut lost, mut packets, mut late) = (0, 0, 0);
                for r in &self.rx[..n] {
                    (lost, packets, late) =
                        (lost + r.lost, packets + r.packets, late + r.out_of_order);
                }
                let jitter = self.rx[..n]
                    .iter()
                    .map(|r| r.jitter_ns())
                    .max()
                    .unwrap_or(0);
                self.server.log.push(format_args!(
                    "iperf3: UDP: {lost}/{packets} datagrams lost, {late} out of order, jitter {}.{:03} ms",
                    jitter / 1_000_000,
                    jitter / 1000 % 1000
                ));
            }
        }
        self.control = None;
    }

    fn step_control(&mut self, i: usize, stack: &mut Stack<'_>, now: Instant) -> Verdict {
        let Some(ctl) = self.control.as_mut() else {
            return Verdict::Close;
        };
        let c = &mut self.server.conns[i];
        let mut progress = false;
        let mut eof = false;
        for _ in 0..2 {
            if flush(ctl, &mut c.stream, stack).is_err() {
                return Verdict::Abort;
            }
            // Twice: the ring may hold more past its end.
            match c.stream.recv_with(stack, |data| {
                let n = ctl.take(data, now);
                (n, n)
            }) {
                Ok(Some(n)) => progress |= n > 0,
                Ok(None) => eof = true,
                Err(Error::WouldBlock) => {}
                Err(_) => return Verdict::Abort,
            }
            if ctl.phase() == Phase::CreateStreams && ctl.params().udp && self.udp.is_none() {
                // Bound before CREATE_STREAMS goes out: a client told to
                // create its streams sends its first datagram at once, and
                // a closed port's ICMP error would reach it before this
                // server's own (with no UDP socket to spare, as on a board).
                bind_udp(&mut self.udp, stack, self.port, &mut self.server.log, ctl);
            }
            if ctl.phase() == Phase::WriteResults {
                let mut out = [StreamResult::default(); CONNS];
                let n = results(
                    ctl.params(),
                    self.streams,
                    &self.bytes,
                    &self.rx,
                    &self.tx,
                    &mut out,
                );
                ctl.write_results(&out[..n]);
            }
        }
        if flush(ctl, &mut c.stream, stack).is_err() {
            return Verdict::Abort;
        }
        let peer = c.peer;
        match ctl.phase() {
            Phase::Finished => {
                self.end_test(peer, "done");
                Verdict::Close
            }
            Phase::Failed if ctl.pending().is_empty() => {
                self.end_test(peer, "ended early");
                Verdict::Close
            }
            _ if eof => {
                self.end_test(peer, "closed early");
                Verdict::Close
            }
            _ => Verdict::Keep(progress),
        }
    }

    fn step_data(&mut self, i: usize, index: u16, stack: &mut Stack<'_>) -> Verdict {
        let c = &mut self.server.conns[i];
        let idx = usize::from(index).min(CONNS - 1);
        let (phase, params) = match &self.control {
            Some(ctl) => (ctl.phase(), *ctl.params()),
            None => return Verdict::Abort,
        };
        match phase {
            Phase::CreateStreams | Phase::Running => {}
            // Closed, not reset, even with `-R`: iperf3's client goes on
            // draining its streams after TEST_END (so that a sender blocked
            // on a full pipe still hears the control connection), and a
            // reset there is its "unable to read from stream socket".
            _ => return Verdict::Close,
        }
        let mut progress = false;
        if phase == Phase::Running && params.reverse {
            for _ in 0..2 {
                let left = if params.bytes == 0 {
                    u64::MAX
                } else {
                    params.bytes.saturating_sub(self.sent_total)
                };
                if left == 0 {
                    break;
                }
                match c.stream.send_with(stack, |free| {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(free.len());
                    free[..n].fill(FILL);
                    (n, n)
                }) {
                    Ok(n) => {
                        self.bytes[idx] += n as u64;
                        self.sent_total += n as u64;
                        progress |= n > 0;
                    }
                    Err(Error::WouldBlock) => break,
                    Err(_) => return Verdict::Abort,
                }
            }
        }
        for _ in 0..2 {
            match c.stream.recv_with(stack, |data| (data.len(), data.len())) {
                Ok(Some(n)) => {
                    if !params.reverse {
                        self.bytes[idx] += n as u64;
                    }
                    progress |= n > 0;
                }
                // The client stopped sending; its TEST_END follows on the
                // control connection.
                Ok(None) => return Verdict::Close,
                Err(Error::WouldBlock) => break,
                Err(_) => return Verdict::Abort,
            }
        }
        Verdict::Keep(progress)
    }

    fn step_candidate(&mut self, i: usize, stack: &mut Stack<'_>, now: Instant) -> Verdict {
        let c = &mut self.server.conns[i];
        let Role::Candidate {
            mut cookie,
            mut got,
        } = c.role
        else {
            return Verdict::Close;
        };
        let Some(ctl) = self
            .control
            .as_mut()
            .filter(|c| c.phase() == Phase::CreateStreams)
        else {
            c.role = Role::Refuse;
            return Verdict::Keep(true);
        };
        let from = usize::from(got).min(COOKIE_SIZE);
        match c.stream.recv(stack, &mut cookie[from..]) {
            Ok(0) => return Verdict::Close,
            Ok(n) => got = u8::try_from(from + n).unwrap_or(u8::MAX),
            Err(Error::WouldBlock) => return Verdict::Keep(false),
            Err(_) => return Verdict::Abort,
        }
        if usize::from(got) < COOKIE_SIZE {
            c.role = Role::Candidate { cookie, got };
            return Verdict::Keep(true);
        }
        if !ctl.is_cookie(&cookie) || self.streams >= ctl.params().streams {
            // Another client's control connection, most likely.
            c.role = Role::Refuse;
            return Verdict::Keep(true);
        }
        c.role = Role::Data {
            index: self.streams,
        };
        self.streams += 1;
        if self.streams == ctl.params().streams {
            ctl.streams_ready(now);
        }
        Verdict::Keep(true)
    }

    fn step_refuse(&mut self, i: usize, stack: &mut Stack<'_>) -> Verdict {
        let c = &mut self.server.conns[i];
        // A full buffer on a fresh connection cannot be: if the byte does
        // not go, the connection is closed all the same.
        let _ = c.stream.send(stack, &[state::ACCESS_DENIED]);
        self.refused += 1;
        self.server.log.push(format_args!(
            "iperf3: refused {} (a test is under way)",
            EndpointText(c.peer)
        ));
        Verdict::Close
    }
}

impl<const CONNS: usize, const BUF: usize, const LOG: usize> Iperf3Server<CONNS, BUF, LOG> {
    /// A UDP test's datagrams: bind the port when its streams are asked
    /// for, open a stream per new sender, count what comes, pace what
    /// goes (`-R`), and unbind once the test stops running.
    fn step_udp(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let phase = self.control.as_ref().map(|c| (c.phase(), *c.params()));
        let p = match phase {
            Some((Phase::CreateStreams | Phase::Running, p)) if p.udp => p,
            _ => {
                if let Some(s) = self.udp.take() {
                    s.close(stack);
                }
                return false;
            }
        };
        let Some(ctl) = self.control.as_mut() else {
            return false;
        };
        if self.udp.is_none()
            && !bind_udp(&mut self.udp, stack, self.port, &mut self.server.log, ctl)
        {
            return true;
        }
        let Some(sock) = self.udp.as_mut() else {
            return false;
        };
        let mut progress = false;
        let mut buf = [0u8; MAX_DATAGRAM];
        for _ in 0..UDP_BURST {
            let (n, from) = match sock.recv_from(stack, &mut buf) {
                Ok(got) => got,
                Err(Error::WouldBlock) => break,
                // A datagram cut by the stack: nothing to count by.
                Err(_) => continue,
            };
            progress = true;
            let streams = usize::from(self.streams).min(CONNS);
            match self.udp_peers[..streams]
                .iter()
                .position(|e| *e == Some(from))
            {
                Some(i) if ctl.phase() == Phase::Running && !p.reverse => {
                    self.rx[i].take(&buf[..n], n, now, p.counters64);
                }
                Some(_) => {}
                None if ctl.phase() == Phase::CreateStreams && self.streams < p.streams => {
                    // A new stream: iperf3's "connect" datagram.
                    if sock
                        .send_to(stack, &udp::connect_reply(&buf[..n]), from)
                        .is_err()
                    {
                        continue;
                    }
                    self.udp_peers[streams] = Some(from);
                    self.streams += 1;
                    if self.streams == p.streams {
                        ctl.streams_ready(now);
                        self.tx = [Pacer::new(p.rate, now); CONNS];
                    }
                }
                // Another sender's datagrams: not this test's.
                None => {}
            }
        }
        if ctl.phase() == Phase::Running && p.reverse {
            let len = usize::try_from(p.len)
                .unwrap_or(MAX_DATAGRAM)
                .clamp(udp::header_len(p.counters64), MAX_DATAGRAM);
            let streams = usize::from(self.streams).min(CONNS);
            let mut budget = UDP_BURST;
            // Round the streams while any is due and the socket takes it.
            'send: while budget > 0 {
                let mut sent = false;
                for i in 0..streams {
                    let (Some(to), tx) = (self.udp_peers[i], &mut self.tx[i]) else {
                        continue;
                    };
                    let over = p.bytes != 0 && self.sent_total >= p.bytes;
                    if over || !tx.due(len, now) {
                        continue;
                    }
                    buf[..len].fill(FILL);
                    udp::write_header(&mut buf[..len], now, tx.next_seq(), p.counters64);
                    match sock.send_to(stack, &buf[..len], to) {
                        Ok(()) => {
                            tx.sent(len);
                            self.sent_total += len as u64;
                            sent = true;
                            budget -= 1;
                            if budget == 0 {
                                break 'send;
                            }
                        }
                        Err(_) => break 'send,
                    }
                }
                if !sent {
                    break;
                }
            }
            progress |= budget < UDP_BURST;
        }
        progress
    }

    /// When the next datagram of a `-u -R` test is due.
    fn udp_due(&self) -> Option<Instant> {
        let c = self.control.as_ref()?;
        let p = c.params();
        if !(p.udp && p.reverse && c.phase() == Phase::Running) {
            return None;
        }
        let len = usize::try_from(p.len).unwrap_or(MAX_DATAGRAM);
        let n = usize::from(self.streams).min(CONNS);
        self.tx[..n].iter().map(|t| t.next(len)).min()
    }
}

/// The results of a test's first `streams` streams, as iperf3's server
/// reports them, into `out`; returns how many.
fn results(
    p: &control::Params,
    streams: u16,
    bytes: &[u64],
    rx: &[Receiver],
    tx: &[Pacer],
    out: &mut [StreamResult],
) -> usize {
    let n = usize::from(streams)
        .min(out.len())
        .min(bytes.len())
        .min(rx.len())
        .min(tx.len());
    for (i, r) in out[..n].iter_mut().enumerate() {
        *r = match (p.udp, p.reverse) {
            (false, _) => StreamResult {
                bytes: bytes[i],
                ..StreamResult::default()
            },
            (true, false) => StreamResult {
                bytes: rx[i].bytes,
                jitter_ns: rx[i].jitter_ns(),
                errors: rx[i].lost,
                packets: rx[i].packets,
            },
            (true, true) => StreamResult {
                bytes: tx[i].bytes,
                packets: tx[i].packets,
                ..StreamResult::default()
            },
        };
    }
    n
}

/// Send what the control connection has pending.
fn flush<const BUF: usize>(
    ctl: &mut Control<BUF>,
    stream: &mut TcpStream,
    stack: &mut Stack<'_>,
) -> Result<(), Error> {
    while !ctl.pending().is_empty() {
        match stream.send(stack, ctl.pending()) {
            Ok(n) => ctl.sent(n),
            Err(Error::WouldBlock) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl<const CONNS: usize, const BUF: usize, const LOG: usize> Service
    for Iperf3Server<CONNS, BUF, LOG>
{
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let mut progress = self.accept(stack, now);
        // The control connection first: what it learns (TEST_END, the end
        // of the test) is what the data streams act on in the same poll.
        let mut i = 0;
        let mut pass = 0;
        while pass < 2 {
            while i < self.server.conns.len() {
                let role = self.server.conns[i].role;
                let verdict = match (pass, role) {
                    (0, Role::Control) => self.step_control(i, stack, now),
                    (0, _) | (_, Role::Control) => Verdict::Keep(false),
                    (_, Role::Data { index }) => self.step_data(i, index, stack),
                    (_, Role::Candidate { .. }) => self.step_candidate(i, stack, now),
                    (_, Role::Refuse) => self.step_refuse(i, stack),
                };
                match verdict {
                    Verdict::Keep(p) => {
                        progress |= p;
                        i += 1;
                    }
                    Verdict::Close => {
                        self.server.remove(i, stack);
                        progress = true;
                    }
                    Verdict::Abort => {
                        if role == Role::Control {
                            let peer = self.server.conns[i].peer;
                            self.end_test(peer, "failed");
                        }
                        self.server.conns.swap_remove(i).stream.abort(stack);
                        progress = true;
                    }
                }
            }
            pass += 1;
            i = 0;
        }
        progress |= self.step_udp(stack, now);
        // TEST_START may have become due in the second pass or by UDP:
        // send it now rather than on the next wake-up.
        if let Some(ctl) = self.control.as_mut()
            && let Some(c) = self
                .server
                .conns
                .iter_mut()
                .find(|c| c.role == Role::Control)
        {
            let before = ctl.pending().len();
            let _ = flush(ctl, &mut c.stream, stack);
            progress |= ctl.pending().len() != before;
        }
        if progress {
            self.last = now;
        } else if self.control.is_some() && now >= self.last + IDLE {
            self.server.log.push(format_args!(
                "iperf3: test abandoned: idle for {} s",
                IDLE.secs()
            ));
            self.control = None;
            // The next poll resets every connection of the test.
            while let Some(c) = self.server.conns.pop() {
                c.stream.abort(stack);
            }
            return true;
        }
        progress
    }

    fn poll_at(&self) -> Option<Instant> {
        let idle = self.control.as_ref().map(|_| self.last + IDLE);
        match (idle, self.udp_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.server.drain_log(sink);
    }

    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        self.control = None;
        if let Some(s) = self.udp.take() {
            s.close(stack);
        }
        self.server.shutdown(stack);
    }
}

/// Bind a UDP test's port into `udp`. Without a socket to spare the test
/// fails with iperf3's own error, and the log says why; `false` then.
fn bind_udp<const BUF: usize, const LOG: usize>(
    udp: &mut Option<UdpSocket>,
    stack: &mut Stack<'_>,
    port: u16,
    log: &mut super::LogRing<LOG>,
    ctl: &mut Control<BUF>,
) -> bool {
    match UdpSocket::bind(stack, port) {
        Ok(s) => {
            *udp = Some(s);
            true
        }
        Err(e) => {
            log.push(format_args!("iperf3: no UDP socket for a test: {e}"));
            ctl.fail(errno::IESTREAMLISTEN);
            false
        }
    }
}
