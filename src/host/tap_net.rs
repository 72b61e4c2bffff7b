//! One stack on a TAP link, on the real clock: the event loop.
//!
//! Layer: host (std). Uses every core layer and [`crate::link::tap`].
//!
//! Each round polls the stack and the services until nothing moves, then
//! sleeps in `poll(2)` on the TAP descriptor until a frame arrives or the
//! earliest deadline comes (smoltcp's timers, the applications' own); an
//! idle stack wakes only for those, and at most ten times a second to look
//! at its stop flag. Time is counted from the loop's start on the monotonic
//! clock. A device that fails stops the loop with [`TapNet::failure`] set.

use std::io::Read;

use crate::app::Service;
use crate::host::blocking::Driver;
use crate::host::memory::Sizes;
use crate::host::recorder::{HostObserver, LinkRecorder, SharedRecorder};
use crate::link::capture::Captured;
use crate::link::faults::Faults;
use crate::link::faults::Faulty;
use crate::link::rng::Rng;
use crate::link::tap::{FAULT_QUEUE, TAP_FRAME_MAX, TapDevice};
use crate::net::{Config, Memory, Observer, Resources, Stack};
use crate::run;
use crate::{Duration, Instant};

/// A service on the TAP host.
///
/// # Example
///
/// ```
/// use layernet::app::echo::EchoServer;
/// use layernet::host::tap_net::{TapNet, TapService};
/// use layernet::link::tap::TapDevice;
/// // Only where a TAP device tap0 exists (scripts/tap-netns.sh makes one).
/// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
/// let mut tap = TapNet::new(layernet::net::Config::default(), device)?;
/// let echo: Box<TapService> = Box::new(EchoServer::<4>::bind(tap.stack(), 7, 4)?);
/// tap.serve(echo);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type TapService = dyn Service;

/// The TAP device behind its fault wrapper, whose verdicts go to the
/// capture when there is one ([`crate::link::tap::FaultyTap`] with a
/// witness).
///
/// ```
/// use layernet::host::tap_net::{TapLink, TapNet};
/// use layernet::link::tap::TapDevice;
/// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
/// let tap = TapNet::new(Default::default(), device)?;
/// let link: &TapLink = tap.link();
/// assert!(link.witness().is_none(), "no capture asked for");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type TapLink = Faulty<TapDevice, FAULT_QUEUE, TAP_FRAME_MAX, Rng, Option<LinkRecorder>>;

/// Most rounds of polling before the loop sleeps anyway.
const SETTLE_ROUNDS: usize = 1000;

/// The TAP host: its stack, its services, its clock.
///
/// # Example
/// Without the device there is no TapNet, and the error says what to do:
/// ```
/// use layernet::link::tap::TapDevice;
/// let missing = TapDevice::open("layernet-none0").err().ok_or("it exists?")?;
/// assert!(missing.to_string().contains("ip tuntap add dev layernet-none0 mode tap"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TapNet {
    stack: Stack<'static>,
    /// Behind the fault wrapper, which passes every frame straight
    /// through until `--faults` asks for some, and the capture, which
    /// shows both ways what the stack sends and takes (see [`TapNet::trace`]).
    device: Captured<TapLink, Option<LinkRecorder>>,
    services: Vec<Box<TapService>>,
    /// Lent to each poll of the stack (see [`TapNet::trace`]).
    observer: Option<Box<dyn Observer>>,
    start: std::time::Instant,
    failure: Option<String>,
}

/// Eight bytes from the operating system's entropy: a real link's stack
/// must not reuse sequence numbers and ports across runs.
///
/// # Example
///
/// ```
/// use layernet::host::tap_net::os_seed;
/// // 64 random bits: two draws agree once in 2^64.
/// assert_ne!(os_seed(), os_seed());
/// ```
pub fn os_seed() -> u64 {
    let mut b = [0u8; 8];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if ok.is_err() {
        // No /dev/urandom: the clock is a poor but varying seed.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        return t ^ u64::from(std::process::id()).rotate_left(32);
    }
    u64::from_le_bytes(b)
}

impl TapNet {
    /// A stack with `config` (seeded from the OS) on `device`, with the
    /// host profile's sockets ([`Sizes::HOST`]: 24 TCP sockets of 8 KiB
    /// each way), as the clients use.
    ///
    /// # Errors
    /// The message of the [`crate::net::ConfigError`] when `config` is not
    /// usable (a multicast MAC, a bad address, an unreachable gateway).
    ///
    /// # Example
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// use layernet::net::Config;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let multicast = Config { mac: layernet::EthernetAddress([1, 0, 0, 0, 0, 1]), ..Config::default() };
    /// let refused = TapNet::new(multicast, device).err().ok_or("accepted a multicast MAC")?;
    /// assert!(refused.contains("unicast"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: Config, device: TapDevice) -> Result<TapNet, String> {
        TapNet::sized(config, device, Sizes::HOST)
    }

    /// [`TapNet::new`] with `sizes.tcp_sockets` TCP sockets of
    /// `sizes.tcp_buffer` bytes each way, allocated now, once (see
    /// [`crate::host::memory`]): `layernet serve` sizes its pool from its
    /// services and `--max-connections`, its buffers from `--socket-buffer`.
    ///
    /// # Errors
    /// As [`TapNet::new`], and the message of [`Sizes::leak`] for sizes out
    /// of range.
    ///
    /// # Example
    /// ```
    /// use layernet::host::{memory::Sizes, tap_net::TapNet};
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let sizes = Sizes { tcp_sockets: 100, tcp_buffer: 256 * 1024 };
    /// let mut tap = TapNet::sized(Default::default(), device, sizes)?;
    /// assert_eq!(tap.stack().free_tcp_sockets(), 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sized(config: Config, device: TapDevice, sizes: Sizes) -> Result<TapNet, String> {
        TapNet::with_memory(config, device, sizes.leak()?)
    }

    /// [`TapNet::new`] with other socket memory than the host profile's:
    /// `layernet bench --sink-source --socket-buffers 64k` gives its sockets
    /// the 64 KiB buffers of smoltcp's own `benchmark` example.
    ///
    /// # Errors
    /// As [`TapNet::new`].
    ///
    /// # Example
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// use layernet::net::Resources;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let big: &'static mut Resources<'static, 4, 2, 1, 65535> = Box::leak(Box::default());
    /// let mut tap = TapNet::with_resources(Default::default(), device, big)?;
    /// assert_eq!(tap.stack().free_tcp_sockets(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_resources<const S: usize, const T: usize, const U: usize, const B: usize>(
        config: Config,
        device: TapDevice,
        resources: &'static mut Resources<'static, S, T, U, B>,
    ) -> Result<TapNet, String> {
        TapNet::with_memory(config, device, resources.memory())
    }

    /// [`TapNet::new`] on memory the caller lent as slices.
    ///
    /// # Errors
    /// As [`TapNet::new`].
    ///
    /// # Example
    /// ```
    /// use layernet::host::{memory::Sizes, tap_net::TapNet};
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let memory = Sizes { tcp_sockets: 6, tcp_buffer: 1 << 20 }.leak()?;
    /// let mut tap = TapNet::with_memory(Default::default(), device, memory)?;
    /// assert_eq!(tap.stack().free_tcp_sockets(), 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_memory(
        mut config: Config,
        device: TapDevice,
        memory: Memory<'static>,
    ) -> Result<TapNet, String> {
        config.seed = os_seed();
        let start = std::time::Instant::now();
        // No faults until asked (TapNet::set_faults): every frame passes
        // straight through the wrapper.
        let device = Faulty::new(device, Faults::NONE, os_seed()).with_witness(None);
        let mut device = Captured::new(device, None);
        let stack = Stack::with_memory(config, &mut device, memory, Instant::ZERO)
            .map_err(|e| e.to_string())?;
        Ok(TapNet {
            stack,
            device,
            services: Vec::new(),
            observer: None,
            start,
            failure: None,
        })
    }

    /// The stack.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// use layernet::net::Config;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let config = Config::default();
    /// let mut tap = TapNet::new(config, device)?;
    /// assert_eq!(tap.stack().ipv4_addr(), config.ip.address());
    /// assert_eq!(tap.device().name(), "tap0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stack(&mut self) -> &mut Stack<'static> {
        &mut self.stack
    }

    /// The TAP device, for its name and statistics.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let tap = TapNet::new(Default::default(), device)?;
    /// assert_eq!(tap.device().stats().rx_frames, 0, "nothing read before the first poll");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn device(&self) -> &TapDevice {
        self.device.inner().inner()
    }

    /// The TAP device behind its fault wrapper, for what the wrapper did
    /// (its `stats`) and when it next releases a frame.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let tap = TapNet::new(Default::default(), device)?;
    /// assert_eq!(tap.link().stats().offered, 0, "no faults: nothing rolled for");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn link(&self) -> &TapLink {
        self.device.inner()
    }

    /// Put `faults` on the link, both ways, from now on (the seed is the
    /// operating system's): frames from the kernel are dropped, corrupted,
    /// duplicated, reordered and delayed before the stack sees them, and
    /// frames from the stack before the kernel does. What the wrapper did
    /// is [`TapNet::link`]'s `stats`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::{faults::Faults, tap::TapDevice};
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let mut tap = TapNet::new(Default::default(), device)?;
    /// tap.set_faults(Faults::loss(5));
    /// assert_eq!(tap.link().faults(), Faults::loss(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_faults(&mut self, faults: Faults) {
        self.device.inner_mut().set_faults(faults);
    }

    /// Report every frame (both ways) and every event to `recorder`
    /// under `label`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::{tap_net::TapNet, recorder::Recorder};
    /// use layernet::{Duration, link::tap::TapDevice, trace::Style};
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let mut tap = TapNet::new(Default::default(), device)?;
    /// let recorder = Recorder::new(Some(Style::Full), Box::new(std::io::stderr()), true).shared();
    /// tap.trace(&recorder, "layernet");
    /// // The stack's observer, the capture's sink and the fault wrapper's witness.
    /// assert_eq!(std::rc::Rc::strong_count(&recorder), 4);
    /// tap.run_once(tap.now() + Duration::from_millis(10));
    /// recorder.borrow_mut().finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trace(&mut self, recorder: &SharedRecorder, label: &str) {
        // Frames from the link, both ways, and what `--faults` did to
        // them; events from the stack.
        let link = LinkRecorder::new(label, recorder.clone());
        *self.device.inner_mut().witness_mut() = Some(link.clone());
        *self.device.sink_mut() = Some(link);
        self.observer = Some(Box::new(HostObserver::new(label, recorder.clone())));
    }

    /// Write out the trace and the capture so far (see
    /// [`crate::host::recorder::Recorder::flush`]); the loop does it after
    /// every round of polls, so that a capture can be followed live and a
    /// killed process loses at most the frames of the round it was in. A
    /// capture that fails stops capturing; the error waits for the
    /// recorder's `finish`.
    fn flush_capture(device: &Captured<TapLink, Option<LinkRecorder>>) {
        if let Some(link) = device.sink() {
            let _ = link.recorder().borrow_mut().flush();
        }
    }

    /// Run `service` from now on.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{chat::ChatRoom, ports};
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(tap0) = TapDevice::open("tap0") else { return Ok(()) };
    /// let mut net = TapNet::new(Default::default(), tap0)?;
    /// let room = ChatRoom::<8>::bind(net.stack(), ports::CHAT)?;
    /// net.serve(Box::new(room)); // polled from now on by run_once and run_until
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serve(&mut self, service: Box<TapService>) {
        self.services.push(service);
    }

    /// Time since the loop started.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let tap = TapNet::new(Default::default(), device)?;
    /// let t0 = tap.now();
    /// std::thread::sleep(std::time::Duration::from_millis(20));
    /// assert!(tap.now() - t0 >= layernet::Duration::from_millis(20), "the real clock");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as i64)
    }

    /// Hand the services' log lines to `sink`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::greeting::{DEFAULT_GREETING, GreetingServer};
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let mut tap = TapNet::new(Default::default(), device)?;
    /// let greeter = GreetingServer::<2>::bind(tap.stack(), 1234, 2, DEFAULT_GREETING)?;
    /// tap.serve(Box::new(greeter));
    /// tap.drain_logs(&mut |line| assert!(line.starts_with("greeting: connected by")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn drain_logs(&mut self, sink: &mut dyn FnMut(&str)) {
        for s in self.services.iter_mut() {
            s.drain_log(sink);
        }
    }

    /// Ask every service to close its connections and stop listening.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::echo::EchoServer;
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let mut tap = TapNet::new(Default::default(), device)?;
    /// let echo = EchoServer::<2>::bind(tap.stack(), 7, 2)?;
    /// tap.serve(Box::new(echo));
    /// tap.shutdown(); // what `layernet serve` does on SIGINT
    /// let limit = tap.now();
    /// tap.run_once(limit); // the listener's sockets return to the pool
    /// assert!(EchoServer::<2>::bind(tap.stack(), 7, 2).is_ok(), "port 7 is free");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&mut self) {
        for s in self.services.iter_mut() {
            s.shutdown(&mut self.stack);
        }
    }

    /// One round: settle, then sleep until a frame, the next deadline, or
    /// `limit`, whichever comes first. Returns true if something moved.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let mut tap = TapNet::new(Default::default(), device)?;
    /// let limit = tap.now() + layernet::Duration::from_millis(50);
    /// while tap.now() < limit && tap.failure().is_none() {
    ///     tap.run_once(limit); // sleeps until a frame, a deadline or `limit`
    /// }
    /// assert!(tap.now() < limit + layernet::Duration::from_millis(40), "not much later");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_once(&mut self, limit: Instant) -> bool {
        let start = self.start;
        let clock = || Instant::from_micros(start.elapsed().as_micros() as i64);
        let services = &mut self.services[..];
        if run::settle_observed(
            &mut self.stack,
            &mut self.device,
            self.observer.as_deref_mut(),
            services,
            clock,
            SETTLE_ROUNDS,
        ) {
            Self::flush_capture(&self.device);
            return true;
        }
        Self::flush_capture(&self.device);
        let now = clock();
        let wake = run::wake_at(&mut self.stack, &self.device, services, now)
            .map_or(limit, |t| t.min(limit));
        let sleep = if wake > now {
            Some((wake - now).into())
        } else {
            Some(std::time::Duration::ZERO)
        };
        let tap = self.device.inner().inner();
        match tap.wait(sleep) {
            Err(e) if e.kind() != std::io::ErrorKind::Interrupted => {
                self.failure = Some(format!("TAP device {}: {e}", tap.name()));
                // Do not spin on a dead descriptor: blocking callers still
                // reach their deadlines, one short sleep at a time.
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            _ => {}
        }
        false
    }

    /// Why the link stopped working, if it did.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let tap = TapNet::new(Default::default(), device)?;
    /// assert_eq!(tap.failure(), None, "a fresh device works");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Run until `stop` says so, sleeping between events.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::tap_net::TapNet;
    /// use layernet::link::tap::TapDevice;
    /// let Ok(device) = TapDevice::open("tap0") else { return Ok(()) };
    /// let mut tap = TapNet::new(Default::default(), device)?;
    /// let end = tap.now() + layernet::Duration::from_millis(200);
    /// tap.run_until(|t| t.now() >= end);
    /// assert!(tap.now() >= end || tap.failure().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_until(&mut self, mut stop: impl FnMut(&mut TapNet) -> bool) {
        while self.failure.is_none() && !stop(self) {
            let limit = self.now() + Duration::from_millis(100);
            self.run_once(limit);
        }
    }
}

impl Driver for TapNet {
    fn stack(&mut self, _host: usize) -> &mut Stack<'static> {
        &mut self.stack
    }

    fn now(&self) -> Instant {
        TapNet::now(self)
    }

    fn wait(&mut self, deadline: Instant) {
        self.run_once(deadline);
    }
}
