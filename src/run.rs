//! The run loop: one stack, its link and its services, polled until nothing
//! moves, then asleep until the next deadline or frame.
//!
//! Layer: the top of the core. It depends on [`crate::link`] (the
//! [`Link`] the frames come through), [`crate::net`] (the [`Stack`]) and
//! [`crate::app`] (the [`Service`]s); nothing depends on it but the hosts
//! and the boards, which all drive it the same way and differ only in how
//! they sleep:
//!
//! - the simulated network ([`crate::host::sim`]) turns every host once
//!   per round at one virtual instant, then jumps the clock to the
//!   earliest [`wake_at`];
//! - the TAP host ([`crate::host::tap_net`]) [`settle`]s, then sleeps in
//!   `poll(2)` on the TAP descriptor until a frame or [`wake_at`];
//! - a board (`firmware/`) settles, then waits for its next interrupt.
//!
//! The device is lent to each call, as smoltcp's `Interface::poll` takes
//! it: sockets and services borrow the [`Stack`] alone, and never name the
//! device's type. So is an observer, for a host that has one
//! ([`turn_observed`], [`settle_observed`]): the stack keeps neither.
//!
//! ```
//! use core::cell::RefCell;
//! use layernet::app::echo::{EchoClient, EchoServer};
//! use layernet::link::segment::{StdPort, StdSegment};
//! use layernet::net::{Config, Stack, profile};
//! use layernet::{Duration, EthernetAddress, Instant, Ipv4Address, Ipv4Cidr, IpEndpoint, run};
//!
//! // Two stacks on one segment, each with its own link and one service.
//! let wire = RefCell::new(StdSegment::new());
//! let (mac_a, mac_b) = (EthernetAddress([2, 0, 0, 0, 0, 1]), EthernetAddress([2, 0, 0, 0, 0, 2]));
//! let ip_b = Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 2), 24);
//! let (mut port_a, mut port_b) = (
//!     StdPort::new(&wire, 0, mac_a).ok_or("port")?,
//!     StdPort::new(&wire, 1, mac_b).ok_or("port")?,
//! );
//! let (mut mem_a, mut mem_b) = (profile::Tiny::new(), profile::Tiny::new());
//! let mut a = Stack::new(Config::default(), &mut port_a, &mut mem_a, Instant::ZERO)?;
//! let mut b = Stack::new(Config::new(mac_b, ip_b), &mut port_b, &mut mem_b, Instant::ZERO)?;
//! let mut server = [EchoServer::<1>::bind(&mut a, 7, 1)?];
//! let server_at = IpEndpoint::new(Config::default().ip.address().into(), 7);
//! let mut client = [EchoClient::<5>::new(server_at, b"hello")];
//!
//! // The loop every host runs, here on a clock that jumps to each deadline.
//! let mut now = Instant::ZERO;
//! for _ in 0..100 {
//!     while run::turn(&mut a, &mut port_a, &mut server[..], now)
//!         | run::turn(&mut b, &mut port_b, &mut client[..], now)
//!     {}
//!     if client[0].outcome() != layernet::app::Outcome::Running {
//!         break;
//!     }
//!     let wake = [
//!         run::wake_at(&mut a, &port_a, &server[..], now),
//!         run::wake_at(&mut b, &port_b, &client[..], now),
//!     ];
//!     now = wake.into_iter().flatten().min().unwrap_or(now + Duration::from_millis(1)).max(now);
//! }
//! assert_eq!(client[0].outcome(), layernet::app::Outcome::Done);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::app::Service;
use crate::link::Link;
use crate::net::{Observer, Stack};
use smoltcp::time::Instant;

/// The services one stack runs, however the host keeps them: a slice of
/// services, a slice of boxes (on a host), or a board's fixed set.
///
/// A board keeps each service in a static of its own type, and names them
/// once, here:
///
/// ```
/// use layernet::app::{Service, echo::EchoServer, greeting::GreetingServer};
/// use layernet::host::sim::SimNet;
/// use layernet::{Instant, run::{self, Services}};
///
/// struct Board {
///     echo: EchoServer<1>,
///     greeting: GreetingServer<1>,
/// }
///
/// impl Services for Board {
///     fn each(&mut self, f: &mut dyn FnMut(&mut dyn Service)) {
///         f(&mut self.echo);
///         f(&mut self.greeting);
///     }
///     fn poll_at(&self) -> Option<Instant> {
///         [self.echo.poll_at(), self.greeting.poll_at()].into_iter().flatten().min()
///     }
/// }
///
/// let (mut net, a, _) = SimNet::pair(1)?;
/// let (stack, port) = net.host(a);
/// let mut board = Board {
///     echo: EchoServer::bind(stack, 7, 1)?,
///     greeting: GreetingServer::bind(stack, 1234, 1, b"hi\n")?,
/// };
/// run::settle(stack, port, &mut board, || Instant::ZERO, 10);
/// assert_eq!(run::wake_at(stack, port, &board, Instant::ZERO), None, "nothing to wait for");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Services {
    /// Call `f` on each service, in order.
    fn each(&mut self, f: &mut dyn FnMut(&mut dyn Service));

    /// The earliest of the services' own deadlines.
    fn poll_at(&self) -> Option<Instant>;
}

impl<S: Service> Services for [S] {
    fn each(&mut self, f: &mut dyn FnMut(&mut dyn Service)) {
        for s in self.iter_mut() {
            f(s);
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        self.iter().filter_map(Service::poll_at).min()
    }
}

/// One turn: poll the stack, then each service. True if anything moved.
///
/// A host with several stacks (the simulated segment) turns each in
/// order, round after round, so that no stack runs ahead of the others
/// at one instant; a host with one stack calls [`settle`].
///
/// ```
/// use layernet::app::greeting::{GreetingClient, GreetingServer};
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{Duration, run};
///
/// let (mut net, a, b) = SimNet::pair(2)?;
/// let mut server = [GreetingServer::<1>::bind(net.stack(a), 1234, 1, b"hi\n")?];
/// let mut client = [GreetingClient::<8>::new(endpoint(a, 1234))];
/// let mut now = net.now();
/// for _ in 0..20 {
///     // Every host once per round, until a round moves nothing.
///     let (stack, port) = net.host(a);
///     let mut moved = run::turn(stack, port, &mut server[..], now);
///     let (stack, port) = net.host(b);
///     moved |= run::turn(stack, port, &mut client[..], now);
///     if !moved {
///         now += Duration::from_millis(1); // the segment delivers in the next millisecond
///     }
/// }
/// assert_eq!(client[0].received(), b"hi\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn turn<D: Link, S: Services + ?Sized>(
    stack: &mut Stack<'_>,
    device: &mut D,
    services: &mut S,
    now: Instant,
) -> bool {
    turn_observed(stack, device, None, services, now)
}

/// [`turn`], lending `observer` (if any) to the stack's poll
/// ([`Stack::poll_observed`]): the loop's owner keeps its observer, as it
/// keeps the device.
///
/// ```
/// use layernet::app::echo::EchoServer;
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::{Direction, Event, Observer};
/// use layernet::{Instant, run, socket::UdpSocket};
///
/// struct Sent(usize);
/// impl Observer for Sent {
///     fn frame(&mut self, _: Instant, way: Direction, _: &[u8]) { self.0 += usize::from(way == Direction::Tx) }
///     fn event(&mut self, _: Instant, _: Event) {}
/// }
/// let (mut net, a, b) = SimNet::pair(2)?;
/// let (stack, port) = net.host(a);
/// UdpSocket::bind(stack, 0)?.send_to(stack, b"?", endpoint(b, 9))?;
/// let (mut sent, mut no_services): (_, [EchoServer<1>; 0]) = (Sent(0), []);
/// run::turn_observed(stack, port, Some(&mut sent), &mut no_services[..], Instant::ZERO);
/// assert_eq!(sent.0, 1, "the ARP request for b");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn turn_observed<D: Link, S: Services + ?Sized>(
    stack: &mut Stack<'_>,
    device: &mut D,
    observer: Option<&mut (dyn Observer + '_)>,
    services: &mut S,
    now: Instant,
) -> bool {
    let mut moved = match observer {
        Some(observer) => stack.poll_observed(device, observer, now),
        None => stack.poll(device, now),
    };
    services.each(&mut |s| moved |= s.poll(stack, now));
    moved
}

/// Turn until nothing moves, or for `rounds` turns at most (a guard
/// against two services that keep each other busy for ever), reading the
/// clock before each. The last turn polled the stack after the services,
/// so what they wrote has gone out. True if anything moved.
///
/// ```
/// use layernet::app::echo::EchoServer;
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{run, socket::UdpSocket, Instant};
///
/// let (mut net, a, b) = SimNet::pair(1)?;
/// let (stack, port) = net.host(a);
/// let mut echo = [EchoServer::<1>::bind(stack, 7, 1)?];
/// run::settle(stack, port, &mut echo[..], || Instant::ZERO, 10);
/// UdpSocket::bind(stack, 0)?.send_to(stack, b"?", endpoint(b, 9))?;
/// run::settle(stack, port, &mut echo[..], || Instant::ZERO, 10);
/// assert_eq!(net.segment().stats().offered, 1, "the ARP request for b left");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn settle<D: Link, S: Services + ?Sized>(
    stack: &mut Stack<'_>,
    device: &mut D,
    services: &mut S,
    clock: impl FnMut() -> Instant,
    rounds: usize,
) -> bool {
    settle_observed(stack, device, None, services, clock, rounds)
}

/// [`settle`], lending `observer` (if any) to every poll (see
/// [`turn_observed`]).
///
/// ```
/// use layernet::app::echo::EchoServer;
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::{Direction, Event, Observer, TcpState};
/// use layernet::{Instant, run};
///
/// struct States(Vec<TcpState>);
/// impl Observer for States {
///     fn frame(&mut self, _: Instant, _: Direction, _: &[u8]) {}
///     fn event(&mut self, _: Instant, event: Event) {
///         if let Event::State { to, .. } = event { self.0.push(to) }
///     }
/// }
/// let (mut net, a, _) = SimNet::pair(1)?;
/// let (stack, port) = net.host(a);
/// let mut echo = [EchoServer::<1>::bind(stack, 7, 1)?];
/// let mut states = States(Vec::new());
/// run::settle_observed(stack, port, Some(&mut states), &mut echo[..], || Instant::ZERO, 10);
/// assert_eq!(states.0, [TcpState::Listen], "the echo server's socket listens");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn settle_observed<D: Link, S: Services + ?Sized>(
    stack: &mut Stack<'_>,
    device: &mut D,
    mut observer: Option<&mut (dyn Observer + '_)>,
    services: &mut S,
    mut clock: impl FnMut() -> Instant,
    rounds: usize,
) -> bool {
    let mut moved = false;
    for _ in 0..rounds {
        if !turn_observed(stack, device, observer.as_deref_mut(), services, clock()) {
            break;
        }
        moved = true;
    }
    moved
}

/// When the loop must run next: the earliest of the stack's deadline
/// (smoltcp's timers and the stall kick), a frame the link holds back
/// ([`Link::poll_at`]) and the services' own deadlines. `None`: only a
/// received frame can make work.
///
/// A client whose SYN went nowhere wakes for its retransmission:
///
/// ```
/// use layernet::app::echo::EchoClient;
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{Duration, Instant, link::segment::Faults, run};
///
/// let (mut net, a, b) = SimNet::pair(3)?;
/// net.set_faults(Faults::loss(100));
/// let mut client = [EchoClient::<4>::new(endpoint(a, 7), b"ping")];
/// let (stack, port) = net.host(b);
/// run::settle(stack, port, &mut client[..], || Instant::ZERO, 10);
/// let wake = run::wake_at(stack, port, &client[..], Instant::ZERO).ok_or("no deadline")?;
/// assert!(wake > Instant::ZERO && wake <= Instant::ZERO + Duration::from_secs(3), "{wake}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn wake_at<D: Link, S: Services + ?Sized>(
    stack: &mut Stack<'_>,
    device: &D,
    services: &S,
    now: Instant,
) -> Option<Instant> {
    [stack.poll_at(now), device.poll_at(), services.poll_at()]
        .into_iter()
        .flatten()
        .min()
}
