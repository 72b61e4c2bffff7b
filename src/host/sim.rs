//! The simulated network on the host: a segment, several stacks, the
//! services they run, and a scheduler on a virtual clock.
//!
//! Layer: host (std). Uses every core layer.
//!
//! The scheduler polls every stack and service at the current virtual time
//! until nothing moves, then jumps the clock to the earliest next event: a
//! frame becoming deliverable, a smoltcp timer (retransmission, delayed
//! ACK, TIME-WAIT), or an application deadline (the time-echo's idle
//! flush). No real time passes, so a run is fast and, given the seed,
//! exactly repeatable.
//!
//! Each host is a stack, its port on the segment (behind its fault wrapper
//! and a capture that shows what it sends: [`SimNet::trace`]), its services
//! and, when watched, its observer of the stack's events (lent to each
//! poll: [`SimNet::observe`]); every
//! round turns each host once ([`crate::run::turn_observed`]), in order, so
//! that none runs ahead of the others at one instant.
//!
//! Setup allocates (the resources are leaked to get `'static` stacks, one
//! `Box` per service and per observer); stepping does not.
//!
//! Why this file is over the project's 800-line guide: it is one type,
//! [`SimNet`], and nearly half of its lines are the docs and runnable examples on its
//! methods (setup, stepping, faults, observers), which read best beside
//! the method they show. Splitting its `impl` by concern (setup apart from
//! the scheduler) is the next step if it grows.

#[cfg(feature = "async")]
mod asynch;

use std::cell::{Ref, RefCell};

use crate::app::Service;
use crate::host::recorder::{HostObserver, LinkRecorder, SharedRecorder};
use crate::link::capture::Captured;
use crate::link::faults::{FaultStats, Faulty, Ways};
use crate::link::rng::Rng;
use crate::link::segment::{Faults, Stats, StdPort, StdSegment};
use crate::net::{Config, ConfigError, Memory, Observer, Resources, Stack, profile};
use crate::run;
use crate::{Duration, EthernetAddress, Instant, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr};

/// Frames a simulated host's fault wrapper holds at most (delayed or held
/// back for reordering), as many as a port of the segment queues; a copy
/// beyond them is lost and counted as overflow.
pub const SIM_HOLD: usize = 64;

/// The device type of every simulated host: its port on the segment,
/// behind the fault wrapper that rolls the network's [`Faults`] for the
/// frames it sends (passed straight through while there are none). The
/// hosts' wrappers draw from one generator, seeded with the network's
/// seed, in the order their frames are sent: a seed gives the rolls it
/// gave when the segment rolled the faults itself.
///
/// # Example
///
/// ```
/// use layernet::host::sim::{SimNet, SimPort, host_mac};
/// let (mut net, _, _) = SimNet::pair(1)?;
/// // A bare port at free position 2: a station that only sends and listens.
/// let port: Option<SimPort> = net.raw_port(2, host_mac(2));
/// assert!(port.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type SimPort =
    Faulty<StdPort<'static>, SIM_HOLD, 1514, &'static RefCell<Rng>, Option<LinkRecorder>>;
/// The stack type of every simulated host.
///
/// # Example
///
/// ```
/// use layernet::host::sim::{SimNet, SimStack, host_mac};
/// let (mut net, _, b) = SimNet::pair(1)?;
/// let stack: &mut SimStack = net.stack(b);
/// assert_eq!(stack.mac(), host_mac(b));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type SimStack = Stack<'static>;
/// A service that runs on a simulated host.
///
/// # Example
///
/// ```
/// use layernet::app::{echo::EchoServer, greeting::GreetingServer};
/// use layernet::host::sim::{SimNet, SimService};
/// let (mut net, a, _) = SimNet::pair(1)?;
/// let services: Vec<Box<SimService>> = vec![
///     Box::new(EchoServer::<1>::bind(net.stack(a), 7, 1)?),
///     Box::new(GreetingServer::<1>::bind(net.stack(a), 1234, 1, b"hi\n")?),
/// ];
/// services.into_iter().for_each(|s| net.serve(a, s));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type SimService = dyn Service;

/// Index of a host on the segment.
///
/// # Example
///
/// ```
/// use layernet::host::sim::{HostId, SimNet, host_ip};
/// let (mut net, _, _) = SimNet::pair(1)?;
/// let third: HostId = net.add_host()?;
/// assert_eq!((third, host_ip(third).address().octets()[3]), (2, 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type HostId = usize;

/// Most rounds of polling at one instant before the clock moves on anyway
/// (a guard against two services that keep each other busy for ever).
const SETTLE_ROUNDS: usize = 10_000;

struct SimHost {
    stack: SimStack,
    /// The port behind the capture that shows what the host sends
    /// (see [`SimNet::trace`]; nothing while no sink is attached).
    port: Captured<SimPort, Option<LinkRecorder>>,
    services: Vec<Box<SimService>>,
    /// Lent to each poll of the stack (see [`SimNet::observe`]).
    observer: Option<Box<dyn Observer>>,
}

impl SimHost {
    /// Poll the stack, lending it the port and the observer.
    fn poll(&mut self, now: Instant) -> bool {
        let observer = self.observer.as_deref_mut();
        turn(&mut self.stack, &mut self.port, observer, &mut [], now)
    }
}

/// A host whose stack lives in a [`crate::socket::asynch::Shared`] cell.
#[cfg(feature = "async")]
struct AsyncHost {
    shared: &'static crate::socket::asynch::Shared<'static>,
    port: SimPort,
}

/// Poll `stack` and `services` once ([`run::turn_observed`]): through the
/// capture while it has a sink, else past it, which saves the capture's
/// look at every frame in the untraced runs that benchmarks time (a few
/// percent of the greeting's connections per second on one client). The
/// fault wrapper is passed the same way while it only hands frames
/// through ([`Faulty::passes_through`]): its tokens cost every frame
/// about a hundred instructions for nothing.
fn turn(
    stack: &mut SimStack,
    port: &mut Captured<SimPort, Option<LinkRecorder>>,
    observer: Option<&mut (dyn Observer + 'static)>,
    services: &mut [Box<SimService>],
    now: Instant,
) -> bool {
    if port.sink().is_some() {
        return run::turn_observed(stack, port, observer, services, now);
    }
    let faulty = port.inner_mut();
    if faulty.passes_through() {
        run::turn_observed(stack, faulty.inner_mut(), observer, services, now)
    } else {
        run::turn_observed(stack, faulty, observer, services, now)
    }
}

/// The simulated network: see the module doc.
///
/// # Example
/// The same seed gives the same run, frame for frame:
/// ```
/// use layernet::app::greeting::{GreetingClient, GreetingServer};
/// use layernet::host::sim::{SimNet, endpoint};
/// let run = |seed| -> Result<u64, Box<dyn std::error::Error>> {
///     let (mut net, a, b) = SimNet::pair(seed)?;
///     let server = GreetingServer::<1>::bind(net.stack(a), 1234, 1, b"hello\n")?;
///     net.serve(a, Box::new(server));
///     net.run_client(b, &mut GreetingClient::<8>::new(endpoint(a, 1234)), layernet::Duration::from_secs(5));
///     Ok(net.segment().fingerprint())
/// };
/// assert_eq!(run(42)?, run(42)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SimNet {
    segment: &'static RefCell<StdSegment>,
    faults: Faults,
    dice: &'static RefCell<Rng>,
    hosts: Vec<SimHost>,
    /// Hosts whose stack async sockets share (see `asynch.rs`); their
    /// positions follow the plain hosts'.
    #[cfg(feature = "async")]
    async_hosts: Vec<AsyncHost>,
    now: Instant,
    seed: u64,
    steps: u64,
}

/// The address of simulated host `i`: 192.168.69.(i+1)/24.
///
/// # Example
///
/// ```
/// use layernet::host::sim::host_ip;
/// assert_eq!(host_ip(2).to_string(), "192.168.69.3/24");
/// ```
pub fn host_ip(i: HostId) -> Ipv4Cidr {
    Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, (i + 1) as u8), 24)
}

/// The endpoint `port` on simulated host `i`, for `connect` and `send_to`.
///
/// # Example
///
/// ```
/// use layernet::host::sim::endpoint;
/// assert_eq!(endpoint(0, 7).to_string(), "192.168.69.1:7");
/// ```
pub fn endpoint(i: HostId, port: u16) -> IpEndpoint {
    IpEndpoint::new(IpAddress::Ipv4(host_ip(i).address()), port)
}

/// The MAC of simulated host `i`: 02:00:00:00:00:(i+1).
///
/// # Example
///
/// ```
/// use layernet::host::sim::host_mac;
/// assert!(host_mac(0).is_unicast() && host_mac(0).is_local());
/// assert_eq!(host_mac(1).as_bytes()[5], 2);
/// ```
pub fn host_mac(i: HostId) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, (i + 1) as u8])
}

impl SimNet {
    /// An empty segment whose hosts send with `faults`; every random choice
    /// derives from `seed`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::link::segment::Faults;
    /// let mut net = SimNet::new(9, Faults { drop_pct: 10, ..Faults::NONE });
    /// assert_eq!(net.hosts(), 0);
    /// assert_eq!(net.add_host()?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(seed: u64, faults: Faults) -> Self {
        let segment = Box::leak(Box::new(RefCell::new(StdSegment::new())));
        SimNet {
            segment,
            faults,
            dice: Box::leak(Box::new(RefCell::new(Rng::new(seed)))),
            hosts: Vec::new(),
            #[cfg(feature = "async")]
            async_hosts: Vec::new(),
            now: Instant::ZERO,
            seed,
            steps: 0,
        }
    }

    /// A fault-free segment with two hosts, 0 (192.168.69.1) and 1
    /// (192.168.69.2): the usual start of an example.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (net, a, b) = SimNet::pair(1)?;
    /// assert_eq!((net.hosts(), a, b), (2, 0, 1));
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// None in practice: those of [`SimNet::add_host`], which two hosts never meet.
    pub fn pair(seed: u64) -> Result<(SimNet, HostId, HostId), ConfigError> {
        let mut net = SimNet::new(seed, Faults::NONE);
        let a = net.add_host()?;
        let b = net.add_host()?;
        Ok((net, a, b))
    }

    /// Add a host with the default addresses for its position and the
    /// host-sized resources.
    ///
    /// # Errors
    /// [`ConfigError::BadAddress`] when the segment has no free position (it
    /// takes four stations).
    ///
    /// # Example
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::net::ConfigError;
    /// let (mut net, _, _) = SimNet::pair(1)?;
    /// assert_eq!((net.add_host()?, net.add_host()?), (2, 3));
    /// assert_eq!(net.add_host(), Err(ConfigError::BadAddress));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_host(&mut self) -> Result<HostId, ConfigError> {
        let resources: &'static mut profile::Host<'static> = Box::leak(Box::default());
        let i = self.hosts.len();
        self.add_host_with(Config::new(host_mac(i), host_ip(i)), resources)
    }

    /// Add a host with its own configuration and resources. Its seed is
    /// derived from the network's seed and its position.
    ///
    /// # Errors
    /// [`ConfigError::BadAddress`] when the segment has no free position, and
    /// those of [`Stack::new`] for `config` (a multicast MAC, a bad address, an
    /// unreachable gateway).
    ///
    /// # Example
    /// A host with the small resource profile and an address of its own:
    /// ```
    /// use layernet::host::sim::{SimNet, host_mac};
    /// use layernet::net::{Config, ConfigError, profile};
    /// use layernet::{Ipv4Address, Ipv4Cidr};
    /// use layernet::link::segment::Faults;
    /// let mut net = SimNet::new(1, Faults::NONE);
    /// let ip = Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 5), 8);
    /// let tiny: &'static mut profile::Tiny<'static> = Box::leak(Box::default());
    /// let host = net.add_host_with(Config::new(host_mac(0), ip), tiny)?;
    /// assert_eq!(net.stack(host).ipv4_addr(), Ipv4Address::new(10, 0, 0, 5));
    /// let multicast = Config::new(layernet::EthernetAddress([1, 0, 0, 0, 0, 1]), ip);
    /// let tiny: &'static mut profile::Tiny<'static> = Box::leak(Box::default());
    /// assert_eq!(net.add_host_with(multicast, tiny), Err(ConfigError::MacNotUnicast));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_host_with<const S: usize, const T: usize, const U: usize, const B: usize>(
        &mut self,
        config: Config,
        resources: &'static mut Resources<'static, S, T, U, B>,
    ) -> Result<HostId, ConfigError> {
        self.add_host_memory(config, resources.memory())
    }

    /// [`SimNet::add_host_with`] on memory lent as slices, such as
    /// [`crate::host::memory::Sizes::leak`] makes.
    ///
    /// # Errors
    /// As [`SimNet::add_host_with`].
    ///
    /// # Example
    /// ```
    /// use layernet::host::{memory::Sizes, sim::{SimNet, host_ip, host_mac}};
    /// use layernet::net::Config;
    /// let mut net = SimNet::new(1, layernet::link::segment::Faults::NONE);
    /// let memory = Sizes { tcp_sockets: 40, tcp_buffer: 128 * 1024 }.leak()?;
    /// let host = net.add_host_memory(Config::new(host_mac(0), host_ip(0)), memory)?;
    /// assert_eq!(net.stack(host).free_tcp_sockets(), 40);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_host_memory(
        &mut self,
        mut config: Config,
        memory: Memory<'static>,
    ) -> Result<HostId, ConfigError> {
        let i = self.hosts.len();
        if self.async_hosts_count() > 0 {
            // Position `i` is an async host's.
            return Err(ConfigError::BadAddress);
        }
        config.seed = self.host_seed(i);
        let mut port = self.port(i, config.mac).ok_or(ConfigError::BadAddress)?;
        let stack = Stack::with_memory(config, &mut port, memory, self.now)?;
        self.hosts.push(SimHost {
            stack,
            // Each frame shown once, by its sender, as the faults roll it.
            port: Captured::new(port, None).with_ways(Ways::Outbound),
            services: Vec::new(),
            observer: None,
        });
        Ok(i)
    }

    /// The seed of the host at position `i`, from the network's seed.
    fn host_seed(&self, i: usize) -> u64 {
        self.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(i as u64 + 1)
    }

    /// How many async hosts follow the plain ones.
    fn async_hosts_count(&self) -> usize {
        #[cfg(feature = "async")]
        return self.async_hosts.len();
        #[cfg(not(feature = "async"))]
        0
    }

    /// Number of hosts.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, _, _) = SimNet::pair(1)?;
    /// net.add_host()?;
    /// assert_eq!(net.hosts(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// Host `host`'s stack.
    ///
    /// # Panics
    /// If `host` was not returned by `add_host` (a programming error).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, host_ip};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// assert_eq!(net.stack(b).ipv4_addr(), host_ip(b).address());
    /// assert_ne!(net.stack(a).mac(), net.stack(b).mac());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stack(&mut self, host: HostId) -> &mut SimStack {
        &mut self.hosts[host].stack
    }

    /// Host `host`'s stack and its port on the segment, for code that
    /// polls the stack itself (see [`crate::run`]).
    ///
    /// # Panics
    /// If `host` was not returned by `add_host` (a programming error).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{link::Link, socket::UdpSocket};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let now = net.now();
    /// let (stack, port) = net.host(a);
    /// UdpSocket::bind(stack, 0)?.send_to(stack, b"?", endpoint(b, 9))?;
    /// stack.poll(port, now); // the ARP request leaves
    /// assert!(net.host(b).1.poll_at().is_some(), "and is on its way to b");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn host(&mut self, host: HostId) -> (&mut SimStack, &mut SimPort) {
        let h = &mut self.hosts[host];
        (&mut h.stack, h.port.inner_mut())
    }

    /// Poll host `host`'s stack once at `now` (its services not), lending it
    /// its port: to walk through an exchange frame by frame.
    ///
    /// # Panics
    /// If `host` was not returned by `add_host` (a programming error).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Instant, socket::UdpSocket};
    ///
    /// let (mut net, a, b) = SimNet::pair(0)?;
    /// let t = Instant::from_millis(1);
    /// assert!(!net.poll(b, t), "nothing to do");
    /// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"?", endpoint(b, 9))?;
    /// net.poll(a, t); // the ARP request leaves
    /// assert!(net.poll(b, t), "it comes in; the reply goes out");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll(&mut self, host: HostId, now: Instant) -> bool {
        self.hosts[host].poll(now)
    }

    /// Report every host's frames and events to `recorder`, host `i`
    /// under `labels[i]` (or `h<i+1>`). Each frame is shown once, by its
    /// sender; receivers report what they did with it as events.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{sim::SimNet, recorder::Recorder};
    /// use layernet::{Duration, socket::Ping, trace::Style};
    /// let file = tempfile::NamedTempFile::new()?;
    /// let recorder = Recorder::new(Some(Style::Brief), Box::new(file.reopen()?), false).shared();
    /// let (mut net, server, client) = SimNet::pair(3)?;
    /// net.trace(&recorder, &["server"]); // the client goes unnamed
    /// let (mut ping, to) = (Ping::new(net.stack(client)), net.stack(server).ipv4_addr());
    /// ping.send(net.stack(client), to, 1, b"")?;
    /// net.run_for(Duration::from_millis(20));
    /// recorder.borrow_mut().finish()?;
    /// let text = std::fs::read_to_string(file.path())?;
    /// assert!(text.contains(" h2 tx ARP who-has 192.168.69.1"), "{text}");
    /// assert!(text.contains(" server tx ARP 192.168.69.1 is-at"), "{text}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trace(&mut self, recorder: &SharedRecorder, labels: &[&str]) {
        for (i, host) in self.hosts.iter_mut().enumerate() {
            let label = labels
                .get(i)
                .map_or_else(|| format!("h{}", i + 1), |l| (*l).to_string());
            // Frames from the link (the capture, and the fault wrapper's
            // verdicts under it); events from the stack.
            let link = LinkRecorder::new(&label, recorder.clone());
            *host.port.inner_mut().witness_mut() = Some(link.clone());
            *host.port.sink_mut() = Some(link);
            host.observer = Some(Box::new(HostObserver::new(&label, recorder.clone())));
        }
    }

    /// Show `observer` every frame and event of `host`'s stack from now
    /// on (every poll the network makes lends it, see
    /// [`Stack::poll_observed`]; a poll through [`SimNet::host`] is the
    /// caller's), in place of the one it had, which is returned. `None`
    /// detaches it.
    ///
    /// # Panics
    /// If `host` was not returned by `add_host` (a programming error).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::net::{Direction, Event, Observer};
    /// use layernet::{Duration, Instant, socket::Ping};
    /// use std::{cell::Cell, rc::Rc};
    /// struct CountSent(Rc<Cell<u32>>);
    /// impl Observer for CountSent {
    ///     fn frame(&mut self, _: Instant, way: Direction, _: &[u8]) {
    ///         self.0.set(self.0.get() + u32::from(way == Direction::Tx));
    ///     }
    ///     fn event(&mut self, _: Instant, _: Event) {}
    /// }
    /// let (mut net, a, b) = SimNet::pair(9)?;
    /// let sent = Rc::new(Cell::new(0));
    /// net.observe(a, Some(Box::new(CountSent(sent.clone()))));
    /// let (mut ping, to) = (Ping::new(net.stack(a)), net.stack(b).ipv4_addr());
    /// ping.send(net.stack(a), to, 1, b"")?;
    /// net.run_for(Duration::from_millis(20));
    /// assert_eq!(sent.get(), 2, "ARP request, echo request");
    /// assert!(net.observe(a, None).is_some(), "handed back");
    /// ping.send(net.stack(a), to, 2, b"")?;
    /// net.run_for(Duration::from_millis(20));
    /// assert_eq!(sent.get(), 2, "detached");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe(
        &mut self,
        host: HostId,
        observer: Option<Box<dyn Observer>>,
    ) -> Option<Box<dyn Observer>> {
        core::mem::replace(&mut self.hosts[host].observer, observer)
    }

    /// Run `service` on `host` from now on.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, ping::Pinger};
    /// use layernet::host::sim::{SimNet, host_ip};
    /// use std::{cell::RefCell, rc::Rc};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// // A client served like a server: the network runs it; the Rc keeps a view.
    /// let ping = Rc::new(RefCell::new(Pinger::new(host_ip(a).address(), 2, layernet::Duration::from_millis(5))));
    /// net.serve(b, Box::new(ping.clone()));
    /// net.run_for(layernet::Duration::from_secs(1));
    /// assert_eq!(ping.borrow().outcome(), Outcome::Done);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serve(&mut self, host: HostId, service: Box<SimService>) {
        self.hosts[host].services.push(service);
    }

    /// The virtual time.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::{Duration, Instant};
    /// let (mut net, _, _) = SimNet::pair(1)?;
    /// assert_eq!(net.now(), Instant::ZERO);
    /// net.run_for(Duration::from_secs(3600)); // an hour, at once
    /// assert_eq!(net.now(), Instant::from_secs(3600));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Scheduler steps taken (each one a jump of the virtual clock).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ping::Pinger;
    /// use layernet::host::sim::{SimNet, host_ip};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let mut ping = Pinger::new(host_ip(a).address(), 3, layernet::Duration::from_secs(1));
    /// net.run_client(b, &mut ping, layernet::Duration::from_secs(10));
    /// // Requests at 0, 1 and 2 s, each answered at once: two jumps of the clock.
    /// assert_eq!(net.steps(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The segment, for the switch's statistics, its census and its
    /// fingerprint (the fault counts are [`SimNet::stats`]').
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ping::Pinger;
    /// use layernet::host::sim::{SimNet, host_ip};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// net.run_client(a, &mut Pinger::new(host_ip(b).address(), 1, layernet::Duration::from_secs(1)), layernet::Duration::from_secs(5));
    /// let census = net.segment().census();
    /// assert_eq!((census.arp_requests, census.icmp_echo_requests, census.icmp_echo_replies), (1, 1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn segment(&self) -> Ref<'_, StdSegment> {
        self.segment.borrow()
    }

    /// What became of the frames: the switch's counts with every host's
    /// fault counts added ([`Stats::with_faults`]).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, link::segment::Faults, socket::UdpSocket};
    /// let (mut net, a, b) = SimNet::pair(8)?;
    /// net.set_faults(Faults::loss(100));
    /// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"lost", endpoint(b, 9))?;
    /// net.run_for(Duration::from_secs(1));
    /// let s = net.stats();
    /// assert!(s.offered > 0 && s.dropped == s.offered && s.delivered == 0, "{s:?}");
    /// assert_eq!(net.segment().stats().offered, 0, "nothing reached the switch");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        let faults = self.hosts.iter().fold(FaultStats::default(), |sum, h| {
            sum.plus(&h.port.inner().stats())
        });
        self.segment.borrow().stats().with_faults(&faults)
    }

    /// The fault model the hosts send with.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, link::segment::Faults};
    /// let (mut net, _, _) = SimNet::pair(1)?;
    /// assert_eq!(net.faults(), Faults::NONE);
    /// net.set_faults(Faults { reorder_pct: 10, ..Faults::loss(2) });
    /// assert_eq!(net.faults().reorder_pct, 10);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn faults(&self) -> Faults {
        self.faults
    }

    /// Station `index`'s port, behind a fault wrapper with the network's
    /// faults and its shared generator.
    fn port(&self, index: usize, mac: EthernetAddress) -> Option<SimPort> {
        let port = StdPort::new(self.segment, index, mac)?;
        let port = Faulty::with_dice(port, self.faults, self.dice).with_ways(Ways::Outbound);
        Some(port.with_witness(None))
    }

    /// Attach a bare port (no stack) at segment position `index` with
    /// address `mac`: a station for tests to inject or capture raw frames.
    /// What it sends meets the faults in force when it was attached.
    /// `None` if the position is taken by a host or out of range.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, host_mac};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// assert!(net.raw_port(a, host_mac(a)).is_none(), "a host sits there");
    /// assert!(net.raw_port(99, host_mac(99)).is_none(), "the segment has four positions");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn raw_port(&mut self, index: usize, mac: EthernetAddress) -> Option<SimPort> {
        if index < self.hosts.len() + self.async_hosts_count() {
            return None;
        }
        self.port(index, mac)
    }

    /// Change the fault model every host sends with, from now on (frames
    /// already held keep their fate).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, echo::{EchoClient, EchoServer}};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::link::segment::Faults;
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let server = EchoServer::<1>::bind(net.stack(a), 7, 1)?;
    /// net.serve(a, Box::new(server));
    /// net.set_faults(Faults::loss(100)); // the cable is cut
    /// let mut client = EchoClient::<4>::new(endpoint(a, 7), b"lost");
    /// assert!(!net.run_client(b, &mut client, layernet::Duration::from_secs(3)));
    /// assert_eq!(client.outcome(), Outcome::Running, "still retrying");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
        for h in self.hosts.iter_mut() {
            h.port.inner_mut().set_faults(faults);
        }
    }

    /// Hand every service's log lines to `sink`, with the host's index.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::echo::{EchoClient, EchoServer};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let server = EchoServer::<1>::bind(net.stack(a), 7, 1)?;
    /// net.serve(a, Box::new(server));
    /// net.run_client(b, &mut EchoClient::<2>::new(endpoint(a, 7), b"hi"), layernet::Duration::from_secs(5));
    /// let mut lines = Vec::new();
    /// net.drain_logs(&mut |host, line| lines.push(format!("{host}: {line}")));
    /// assert!(lines[0].starts_with("0: echo: connected by 192.168.69.2:"), "{lines:?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn drain_logs(&mut self, sink: &mut dyn FnMut(HostId, &str)) {
        for (i, h) in self.hosts.iter_mut().enumerate() {
            for s in h.services.iter_mut() {
                s.drain_log(&mut |line| sink(i, line));
            }
        }
    }

    /// Poll every stack and service (and `extra`) at the current time until
    /// nothing moves. True if anything did.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::TcpStream;
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// assert!(!net.settle(&mut []), "idle hosts: nothing to do");
    /// let _stream = TcpStream::connect(net.stack(b), endpoint(a, 80))?;
    /// assert!(net.settle(&mut []), "an ARP request went out");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn settle(&mut self, extra: &mut [(HostId, &mut SimService)]) -> bool {
        let now = self.now;
        let mut moved = false;
        for _ in 0..SETTLE_ROUNDS {
            // A frame sent counts as progress even when smoltcp does not say
            // so (it does not report the ARP request it sends for a socket
            // waiting on a neighbour).
            let offered = self.offered();
            let mut progress = false;
            // Extra services take their host's turn after its own: a stack
            // poll costs a walk over its sockets, and a poll after each of
            // a bench's sixteen clients made sixteen. What they write goes
            // out in the next round's poll, as the host's own services' does.
            for (i, h) in self.hosts.iter_mut().enumerate() {
                let observer = h.observer.as_deref_mut();
                progress |= turn(
                    &mut h.stack,
                    &mut h.port,
                    observer,
                    &mut h.services[..],
                    now,
                );
                for (_, s) in extra.iter_mut().filter(|(host, _)| *host == i) {
                    progress |= s.poll(&mut h.stack, now);
                }
            }
            #[cfg(feature = "async")]
            {
                progress |= self.poll_async_hosts(now);
            }
            progress |= self.offered() != offered;
            if !progress {
                return moved;
            }
            moved = true;
        }
        moved
    }

    /// A count that moves whenever a frame is sent, held by a fault
    /// wrapper or handed on by one to the segment: a frame released into
    /// the segment must count as progress, so that its receiver is polled
    /// again at this instant.
    fn offered(&self) -> u64 {
        let held: u64 = self
            .hosts
            .iter()
            .map(|h| h.port.inner().stats().offered)
            .sum();
        #[cfg(feature = "async")]
        let held = held + self.async_hosts_offered();
        self.segment.borrow().stats().offered + held
    }

    /// The earliest time anything wants to run.
    fn next_event(&mut self, extra: &[(HostId, &mut SimService)]) -> Option<Instant> {
        let now = self.now;
        // Frames on their way to a raw port count too.
        let mut next = self.segment.borrow().next_delivery();
        for h in self.hosts.iter_mut() {
            next = earliest(
                next,
                run::wake_at(&mut h.stack, &h.port, &h.services[..], now),
            );
        }
        for (_, s) in extra.iter() {
            next = earliest(next, s.poll_at());
        }
        #[cfg(feature = "async")]
        {
            next = earliest(next, self.async_hosts_next(now));
        }
        next
    }

    /// Settle, then move the clock to the next event if it is not later
    /// than `limit` (returns true), or to `limit` (returns false).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ping::Pinger;
    /// use layernet::host::sim::{SimNet, SimService, host_ip};
    /// use layernet::{Duration, Instant};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let mut ping = Pinger::new(host_ip(a).address(), 2, Duration::from_secs(1));
    /// let mut extra: [(usize, &mut SimService); 1] = [(b, &mut ping)];
    /// // The second request is due at 1 s: the clock jumps there, not to the limit.
    /// while net.now() < Instant::from_millis(900) {
    ///     assert!(net.step(Instant::from_secs(5), &mut extra));
    /// }
    /// assert_eq!(net.now(), Instant::from_secs(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn step(&mut self, limit: Instant, extra: &mut [(HostId, &mut SimService)]) -> bool {
        let _ = self.settle(extra);
        self.steps += 1;
        match self.next_event(extra) {
            Some(t) if t <= limit => {
                // A deadline already due that polling did not clear (smoltcp
                // says "now" while it waits on ARP): let a millisecond pass
                // rather than spin.
                self.now = if t > self.now {
                    t
                } else {
                    self.now + Duration::from_millis(1)
                };
                true
            }
            _ => {
                self.now = self.now.max(limit);
                false
            }
        }
    }

    /// Run until `done` says so or `timeout` of virtual time has passed,
    /// polling `extra` services as well. Returns whether `done` became true.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::echo::{EchoClient, EchoServer};
    /// use layernet::host::sim::{SimNet, SimService, endpoint};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let mut server = EchoServer::<2>::bind(net.stack(a), 7, 2)?;
    /// let mut client = EchoClient::<5>::new(endpoint(a, 7), b"hello");
    /// let mut both: [(usize, &mut SimService); 2] = [(a, &mut server), (b, &mut client)];
    /// let done = net.run_until(layernet::Duration::from_secs(5), &mut both, |s| s[1].1.is_done());
    /// assert!(done && server.served() == 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_until(
        &mut self,
        timeout: Duration,
        extra: &mut [(HostId, &mut SimService)],
        mut done: impl FnMut(&mut [(HostId, &mut SimService)]) -> bool,
    ) -> bool {
        let limit = self.now + timeout;
        loop {
            let _ = self.settle(extra);
            if done(extra) {
                return true;
            }
            if self.now >= limit {
                return false;
            }
            self.step(limit, extra);
        }
    }

    /// Run one client service on `host` until it is done or `timeout`
    /// passes. Returns whether it finished.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ping::Pinger;
    /// use layernet::host::sim::SimNet;
    /// use layernet::{Duration, Ipv4Address};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let mut ping = Pinger::new(Ipv4Address::new(192, 168, 69, 50), 1, Duration::from_millis(1));
    /// // Nobody answers, and the pinger waits 2 s for a reply: not done in 1 s.
    /// assert!(!net.run_client(a, &mut ping, Duration::from_secs(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_client(&mut self, host: HostId, client: &mut SimService, timeout: Duration) -> bool {
        self.run_until(timeout, &mut [(host, client)], |extra| {
            extra.iter().all(|(_, s)| s.is_done())
        })
    }

    /// Let `duration` of virtual time pass, everything running.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::{Error, TcpStream};
    /// let (mut net, a, b) = SimNet::pair(1)?;
    /// let mut stream = TcpStream::connect(net.stack(b), endpoint(a, 80))?;
    /// net.run_for(layernet::Duration::from_millis(5));
    /// assert_eq!(stream.poll_connect(net.stack(b)), Err(Error::Refused));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(duration, &mut [], |_| false);
    }
}

/// A service shared with its creator, so that the creator can read its
/// results after the network ran it.
impl<S: Service> Service for std::rc::Rc<RefCell<S>> {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        self.borrow_mut().poll(stack, now)
    }

    fn poll_at(&self) -> Option<Instant> {
        self.borrow().poll_at()
    }

    fn is_done(&self) -> bool {
        self.borrow().is_done()
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.borrow_mut().drain_log(sink);
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::UdpSocket;

    #[test]
    fn a_delayed_frame_arrives_at_its_due_time_whichever_host_holds_it() {
        // ARP request 0 -> 1, reply 1 -> 0 (held by the host with the
        // higher index, received by the lower), datagram 0 -> 1: each
        // crossing takes exactly the delay, as when the segment held them.
        let mut net = SimNet::new(
            4,
            Faults {
                delay: Duration::from_millis(50),
                ..Faults::NONE
            },
        );
        let (a, b) = (net.add_host().unwrap(), net.add_host().unwrap());
        let mut tx = UdpSocket::bind(net.stack(a), 0).unwrap();
        let mut rx = UdpSocket::bind(net.stack(b), 9).unwrap();
        tx.send_to(net.stack(a), b"late", endpoint(b, 9)).unwrap();
        let mut buf = [0u8; 8];
        loop {
            net.settle(&mut []);
            if rx.recv_from(net.stack(b), &mut buf).is_ok() {
                break;
            }
            assert!(net.step(Instant::from_secs(1), &mut []), "at {}", net.now());
        }
        assert_eq!(net.now(), Instant::from_millis(150));
    }
}
