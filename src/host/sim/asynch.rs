//! Async hosts on the simulated network: a stack in a [`Shared`] cell for
//! the async sockets ([`crate::socket::asynch`]), polled by the same
//! scheduler as every other host, and [`SimNet::block_on`], which runs a
//! future on the virtual clock.
//!
//! Layer: host (std). Uses the net layer's stack, the socket layer's
//! [`Shared`] and the simulated network.
//!
//! `block_on` polls its future only when a waker fired (or at the start):
//! a socket future that forgot to register its waker would wait until the
//! timeout, so the tests that run on it show the wakers do their work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::{AsyncHost, HostId, SimNet, host_ip, host_mac};
use crate::net::{Config, ConfigError, Stack, profile};
use crate::socket::asynch::Shared;
use crate::{Duration, Instant};

/// Most rounds of `block_on` (a poll of the future or a move of the
/// network) before it gives up: a guard against a future that wakes
/// itself for ever at one instant.
const MAX_ROUNDS: u64 = 50_000_000;

/// A waker that raises a flag.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl SimNet {
    /// Add a host whose stack (host-sized resources, the default addresses
    /// for its position) lives in a [`Shared`] cell, for async sockets.
    /// The scheduler polls it as it polls every host (through
    /// [`Shared::poll`], which wakes its socket futures); its services, if
    /// any, run in the caller's futures (via [`Shared::with`]). It is not
    /// traced. Add the plain hosts first: a plain host added after an async
    /// one would take the async host's position.
    ///
    /// # Errors
    /// [`ConfigError::BadAddress`] when the segment has no free position.
    ///
    /// # Example
    /// ```
    /// use layernet::host::sim::{SimNet, host_ip};
    /// let (mut net, _, _) = SimNet::pair(1)?;
    /// let (id, shared) = net.add_async_host()?;
    /// assert_eq!(shared.with(|s| s.ipv4_addr()), host_ip(id).address());
    /// assert!(net.add_host().is_err(), "plain hosts come first");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_async_host(&mut self) -> Result<(HostId, &'static Shared<'static>), ConfigError> {
        let i = self.hosts.len() + self.async_hosts.len();
        let resources: &'static mut profile::Host<'static> = Box::leak(Box::default());
        let mut config = Config::new(host_mac(i), host_ip(i));
        config.seed = self.host_seed(i);
        let mut port = self.port(i, config.mac).ok_or(ConfigError::BadAddress)?;
        let stack = Stack::new(config, &mut port, resources, self.now)?;
        let shared: &'static Shared<'static> = Box::leak(Box::new(Shared::new(stack)));
        self.async_hosts.push(AsyncHost { shared, port });
        Ok((i, shared))
    }

    /// Run `future` to completion on the virtual clock, or give up after
    /// `timeout` of virtual time (`None`). The future is polled at the
    /// start and then only when a waker fires; while it waits, the network
    /// runs as in [`SimNet::run_until`], the async hosts with it. Several
    /// tasks run as one future (`futures::join!`).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::UdpSocket};
    /// let mut net = SimNet::new(1, Default::default());
    /// let (_, a) = net.add_async_host()?;
    /// let (b, _) = net.add_async_host()?;
    /// let mut u = UdpSocket::bind(a, 0)?;
    /// let sent = net.block_on(u.send_to(b"hi", endpoint(b, 9)), Duration::from_secs(1));
    /// assert_eq!(sent, Some(Ok(())));
    /// let mut buf = [0u8; 4];
    /// let never = net.block_on(u.recv_from(&mut buf), Duration::from_secs(3));
    /// assert!(never.is_none() && net.now().secs() >= 3, "nobody answers");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn block_on<F: Future>(&mut self, future: F, timeout: Duration) -> Option<F::Output> {
        let limit = self.now + timeout;
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        for _ in 0..MAX_ROUNDS {
            if flag.0.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    return Some(out);
                }
                continue;
            }
            // Nothing woke the future: let the network move, at this
            // instant first, then on to the next event.
            if self.settle(&mut []) {
                continue;
            }
            if self.now >= limit {
                return None;
            }
            self.step(limit, &mut []);
        }
        None
    }

    /// Run the network beside an executor: `tasks` runs the executor's
    /// ready tasks until none can move (`LocalPool::run_until_stalled`)
    /// and says whether the work is done; between its calls the network
    /// runs, at this instant while anything moves, then on to the next
    /// event. Returns whether `tasks` said done within `timeout` of
    /// virtual time. [`SimNet::block_on`] is this for one future.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use futures::{executor::LocalPool, task::LocalSpawnExt};
    /// use layernet::{Duration, host::sim::{SimNet, endpoint}, socket::asynch::UdpSocket};
    /// let mut net = SimNet::new(1, Default::default());
    /// let (a, sa) = net.add_async_host()?;
    /// let (_, sb) = net.add_async_host()?;
    /// let mut pool = LocalPool::new();
    /// let heard = Rc::new(Cell::new(0));
    /// let (mut rx, mut tx) = (UdpSocket::bind(sa, 9)?, UdpSocket::bind(sb, 0)?);
    /// let h = heard.clone();
    /// pool.spawner().spawn_local(async move {
    ///     let mut buf = [0u8; 8];
    ///     if let Ok((n, _)) = rx.recv_from(&mut buf).await { h.set(n) }
    /// })?;
    /// pool.spawner().spawn_local(async move { tx.send_to(b"hello", endpoint(a, 9)).await.ok(); })?;
    /// let done = net.run_tasks(Duration::from_secs(1), || {
    ///     pool.run_until_stalled();
    ///     heard.get() > 0
    /// });
    /// assert!(done && heard.get() == 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_tasks(&mut self, timeout: Duration, mut tasks: impl FnMut() -> bool) -> bool {
        let limit = self.now + timeout;
        for _ in 0..MAX_ROUNDS {
            if tasks() {
                return true;
            }
            if self.settle(&mut []) {
                continue;
            }
            if self.now >= limit {
                return false;
            }
            self.step(limit, &mut []);
        }
        false
    }

    /// Poll every async host once at `now`; true if any moved.
    pub(super) fn poll_async_hosts(&mut self, now: Instant) -> bool {
        let mut moved = false;
        for h in self.async_hosts.iter_mut() {
            moved |= h.shared.poll(&mut h.port, now);
        }
        moved
    }

    /// The earliest deadline of the async hosts (their stacks and ports).
    pub(super) fn async_hosts_next(&self, now: Instant) -> Option<Instant> {
        self.async_hosts
            .iter()
            .flat_map(|h| [h.shared.poll_at(now), h.port.poll_at()])
            .flatten()
            .min()
    }

    /// Frames the async hosts' fault wrappers took (see `offered`).
    pub(super) fn async_hosts_offered(&self) -> u64 {
        self.async_hosts
            .iter()
            .map(|h| h.port.stats().offered)
            .sum()
    }
}
