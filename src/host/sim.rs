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
//! Setup allocates (the resources are leaked to get `'static` stacks, one
//! `Box` per service); stepping does not.

use std::cell::{Ref, RefCell};

use crate::app::Service;
use crate::link::sim::{Faults, StdPort, StdSegment};
use crate::net::{Config, ConfigError, Resources, Stack, profile};
use crate::{Duration, EthernetAddress, Instant, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr};

/// The device type of every simulated host.
pub type SimPort = StdPort<'static>;
/// The stack type of every simulated host.
pub type SimStack = Stack<'static, SimPort>;
/// A service that runs on a simulated host.
pub type SimService = dyn Service<SimPort>;

/// Index of a host on the segment.
pub type HostId = usize;

/// Most rounds of polling at one instant before the clock moves on anyway
/// (a guard against two services that keep each other busy for ever).
const SETTLE_ROUNDS: usize = 10_000;

struct SimHost {
    stack: SimStack,
    services: Vec<Box<SimService>>,
}

/// The simulated network: see the module doc.
pub struct SimNet {
    segment: &'static RefCell<StdSegment>,
    hosts: Vec<SimHost>,
    now: Instant,
    seed: u64,
    steps: u64,
}

/// The address of simulated host `i`: 192.168.69.(i+1)/24.
pub fn host_ip(i: HostId) -> Ipv4Cidr {
    Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, (i + 1) as u8), 24)
}

/// The endpoint `port` on simulated host `i`, for `connect` and `send_to`.
///
/// ```
/// use layernet::host::sim::endpoint;
/// assert_eq!(endpoint(0, 7).to_string(), "192.168.69.1:7");
/// ```
pub fn endpoint(i: HostId, port: u16) -> IpEndpoint {
    IpEndpoint::new(IpAddress::Ipv4(host_ip(i).address()), port)
}

/// The MAC of simulated host `i`: 02:00:00:00:00:(i+1).
pub fn host_mac(i: HostId) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, (i + 1) as u8])
}

impl SimNet {
    /// An empty segment with `faults`; every random choice derives from `seed`.
    pub fn new(seed: u64, faults: Faults) -> Self {
        let segment = Box::leak(Box::new(RefCell::new(StdSegment::new(seed, faults))));
        SimNet {
            segment,
            hosts: Vec::new(),
            now: Instant::ZERO,
            seed,
            steps: 0,
        }
    }

    /// A fault-free segment with two hosts, 0 (192.168.69.1) and 1
    /// (192.168.69.2): the usual start of an example.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (net, a, b) = SimNet::pair(1)?;
    /// assert_eq!((net.hosts(), a, b), (2, 0, 1));
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn pair(seed: u64) -> Result<(SimNet, HostId, HostId), ConfigError> {
        let mut net = SimNet::new(seed, Faults::NONE);
        let a = net.add_host()?;
        let b = net.add_host()?;
        Ok((net, a, b))
    }

    /// Add a host with the default addresses for its position and the
    /// host-sized resources.
    pub fn add_host(&mut self) -> Result<HostId, ConfigError> {
        let resources: &'static mut profile::Host<'static> = Box::leak(Box::default());
        let i = self.hosts.len();
        self.add_host_with(Config::new(host_mac(i), host_ip(i)), resources)
    }

    /// Add a host with its own configuration and resources. Its seed is
    /// derived from the network's seed and its position.
    pub fn add_host_with<const S: usize, const T: usize, const U: usize, const B: usize>(
        &mut self,
        mut config: Config,
        resources: &'static mut Resources<'static, S, T, U, B>,
    ) -> Result<HostId, ConfigError> {
        let i = self.hosts.len();
        config.seed = self
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(i as u64 + 1);
        let port = StdPort::new(self.segment, i, config.mac).ok_or(ConfigError::BadAddress)?;
        let stack = Stack::new(config, port, resources, self.now)?;
        self.hosts.push(SimHost {
            stack,
            services: Vec::new(),
        });
        Ok(i)
    }

    /// Number of hosts.
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// Host `host`'s stack.
    ///
    /// # Panics
    /// If `host` was not returned by `add_host` (a programming error).
    pub fn stack(&mut self, host: HostId) -> &mut SimStack {
        &mut self.hosts[host].stack
    }

    /// Report every host's frames and events to `recorder`, host `i`
    /// under `labels[i]` (or `h<i+1>`). Each frame is shown once, by its
    /// sender; receivers report what they did with it as events.
    pub fn trace(&mut self, recorder: &crate::host::trace::SharedRecorder, labels: &[&str]) {
        for (i, host) in self.hosts.iter_mut().enumerate() {
            let label = labels
                .get(i)
                .map_or_else(|| format!("h{}", i + 1), |l| (*l).to_string());
            let observer = crate::host::trace::HostObserver::new(&label, recorder.clone(), false);
            // The stack wants its observer for as long as it lives, which
            // is the rest of the run: the simulated network leaks its setup
            // the same way.
            host.stack.set_observer(Some(Box::leak(Box::new(observer))));
        }
    }

    /// Run `service` on `host` from now on.
    pub fn serve(&mut self, host: HostId, service: Box<SimService>) {
        self.hosts[host].services.push(service);
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Scheduler steps taken (each one a jump of the virtual clock).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The segment, for its statistics, census and fingerprint.
    pub fn segment(&self) -> Ref<'_, StdSegment> {
        self.segment.borrow()
    }

    /// Attach a bare port (no stack) at segment position `index` with
    /// address `mac`: a station for tests to inject or capture raw frames.
    /// `None` if the position is taken by a host or out of range.
    pub fn raw_port(&mut self, index: usize, mac: EthernetAddress) -> Option<SimPort> {
        if index < self.hosts.len() {
            return None;
        }
        StdPort::new(self.segment, index, mac)
    }

    /// Change the segment's fault model.
    pub fn set_faults(&mut self, faults: Faults) {
        self.segment.borrow_mut().set_faults(faults);
    }

    /// Hand every service's log lines to `sink`, with the host's index.
    pub fn drain_logs(&mut self, sink: &mut dyn FnMut(HostId, &str)) {
        for (i, h) in self.hosts.iter_mut().enumerate() {
            for s in h.services.iter_mut() {
                s.drain_log(&mut |line| sink(i, line));
            }
        }
    }

    /// Poll every stack and service (and `extra`) at the current time until
    /// nothing moves. True if anything did.
    pub fn settle(&mut self, extra: &mut [(HostId, &mut SimService)]) -> bool {
        let now = self.now;
        let mut moved = false;
        for _ in 0..SETTLE_ROUNDS {
            // A frame sent counts as progress even when smoltcp does not say
            // so (it does not report the ARP request it sends for a socket
            // waiting on a neighbour).
            let offered = self.segment.borrow().stats().offered;
            let mut progress = false;
            for h in self.hosts.iter_mut() {
                progress |= h.stack.poll(now);
                for s in h.services.iter_mut() {
                    progress |= s.poll(&mut h.stack, now);
                }
            }
            for (host, s) in extra.iter_mut() {
                if let Some(h) = self.hosts.get_mut(*host) {
                    progress |= s.poll(&mut h.stack, now);
                    progress |= h.stack.poll(now);
                }
            }
            progress |= self.segment.borrow().stats().offered != offered;
            if !progress {
                return moved;
            }
            moved = true;
        }
        moved
    }

    /// The earliest time anything wants to run.
    fn next_event(&mut self, extra: &[(HostId, &mut SimService)]) -> Option<Instant> {
        let now = self.now;
        let mut next = self.segment.borrow().next_delivery();
        for h in self.hosts.iter_mut() {
            next = earliest(next, h.stack.poll_at(now));
            for s in h.services.iter() {
                next = earliest(next, s.poll_at());
            }
        }
        for (_, s) in extra.iter() {
            next = earliest(next, s.poll_at());
        }
        next
    }

    /// Settle, then move the clock to the next event if it is not later
    /// than `limit` (returns true), or to `limit` (returns false).
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
    pub fn run_client(&mut self, host: HostId, client: &mut SimService, timeout: Duration) -> bool {
        self.run_until(timeout, &mut [(host, client)], |extra| {
            extra.iter().all(|(_, s)| s.is_done())
        })
    }

    /// Let `duration` of virtual time pass, everything running.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(duration, &mut [], |_| false);
    }
}

/// A service shared with its creator, so that the creator can read its
/// results after the network ran it.
impl<D: crate::link::Link, S: Service<D>> Service<D> for std::rc::Rc<RefCell<S>> {
    fn poll(&mut self, stack: &mut Stack<'_, D>, now: Instant) -> bool {
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
