//! Ping: ICMP echo requests and their replies.
//!
//! Layer: app. Uses [`crate::socket::Ping`].

use smoltcp::time::{Duration, Instant};

use super::{Log, Outcome, Service};
use crate::IpAddress;
use crate::net::Stack;
use crate::socket::{Error, Ping};

/// How long to wait for the last reply.
///
/// # Example
///
/// ```
/// use layernet::app::{Outcome, ping::{Pinger, REPLY_TIMEOUT}};
/// use layernet::host::sim::SimNet;
/// use layernet::{Duration, Ipv4Address};
/// let (mut net, a, _) = SimNet::pair(1)?;
/// let mut nobody = Pinger::new(Ipv4Address::new(192, 168, 69, 99), 1, Duration::from_secs(1));
/// net.run_client(a, &mut nobody, Duration::from_secs(10));
/// assert!(matches!(nobody.outcome(), Outcome::Failed(_)));
/// assert_eq!(net.now(), layernet::Instant::ZERO + REPLY_TIMEOUT);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends `count` echo requests `interval` apart and counts the replies.
///
/// # Example
///
/// ```
/// use layernet::app::{Outcome, ping::Pinger};
/// use layernet::host::sim::{SimNet, host_ip};
/// let (mut net, a, b) = SimNet::pair(2)?;
/// let mut ping = Pinger::new(host_ip(a).address(), 3, layernet::Duration::from_millis(100));
/// assert!(net.run_client(b, &mut ping, layernet::Duration::from_secs(5)));
/// assert_eq!((ping.outcome(), ping.sent(), ping.replies()), (Outcome::Done, 3, 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pinger {
    target: IpAddress,
    ping: Option<Ping>,
    count: u16,
    want: u16,
    interval: Duration,
    sent: u16,
    replies: u16,
    next: Instant,
    sent_at: [Option<Instant>; 16],
    rtt_total: Duration,
    outcome: Outcome,
    log: Log,
}

impl Pinger {
    /// Ping `target` `count` times (at most 16).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ping::Pinger;
    /// use layernet::host::sim::{SimNet, host_ip};
    /// let (mut net, a, b) = SimNet::pair(3)?;
    /// // Asked for 100, sends 16: the count is capped.
    /// let mut ping = Pinger::new(host_ip(a).address(), 100, layernet::Duration::from_millis(10));
    /// net.run_client(b, &mut ping, layernet::Duration::from_secs(5));
    /// assert_eq!(ping.sent(), 16);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(target: impl Into<IpAddress>, count: u16, interval: Duration) -> Self {
        Pinger {
            target: target.into(),
            ping: None,
            count: count.min(16),
            want: count.min(16),
            interval,
            sent: 0,
            replies: 0,
            next: Instant::ZERO,
            sent_at: [None; 16],
            rtt_total: Duration::ZERO,
            outcome: Outcome::Running,
            log: Log::new(),
        }
    }

    /// Stop once `want` replies came (at most the count): on a lossy link,
    /// send up to `count` requests to get `want` answers.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, ping::Pinger};
    /// use layernet::host::sim::{SimNet, host_ip};
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let mut ping = Pinger::new(host_ip(b).address(), 8, layernet::Duration::from_millis(50));
    /// ping.want(2); // like `ping -c 8`, but happy with two answers
    /// net.run_client(a, &mut ping, layernet::Duration::from_secs(5));
    /// assert_eq!((ping.outcome(), ping.sent()), (Outcome::Done, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn want(&mut self, want: u16) {
        self.want = want.min(self.count);
    }

    /// Replies received.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ping::Pinger;
    /// use layernet::host::sim::{SimNet, host_ip};
    /// use layernet::link::segment::Faults;
    /// let (mut net, a, b) = SimNet::pair(5)?;
    /// net.set_faults(Faults::loss(100)); // every frame lost
    /// let mut ping = Pinger::new(host_ip(a).address(), 2, layernet::Duration::from_millis(10));
    /// net.run_client(b, &mut ping, layernet::Duration::from_secs(5));
    /// assert_eq!((ping.sent(), ping.replies()), (2, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replies(&self) -> u16 {
        self.replies
    }

    /// Requests sent.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ping::Pinger;
    /// use layernet::{Duration, Ipv4Address};
    /// // Nothing is sent before the first poll.
    /// let ping = Pinger::new(Ipv4Address::new(10, 0, 0, 1), 4, Duration::from_secs(1));
    /// assert_eq!((ping.sent(), ping.replies()), (0, 0));
    /// ```
    pub fn sent(&self) -> u16 {
        self.sent
    }

    /// Mean round-trip time of the replies.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::ping::Pinger;
    /// use layernet::host::sim::{SimNet, host_ip};
    /// use layernet::link::segment::Faults;
    /// use layernet::Duration;
    /// let (mut net, a, b) = SimNet::pair(6)?;
    /// net.set_faults(Faults { delay: Duration::from_millis(5), ..Faults::NONE });
    /// let mut ping = Pinger::new(host_ip(a).address(), 2, Duration::from_millis(100));
    /// net.run_client(b, &mut ping, Duration::from_secs(5));
    /// assert!(ping.mean_rtt() >= Duration::from_millis(10), "5 ms each way");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mean_rtt(&self) -> Duration {
        if self.replies == 0 {
            Duration::ZERO
        } else {
            self.rtt_total / u32::from(self.replies)
        }
    }

    /// `Done` once `want` requests were answered; `Failed(TimedOut)` if
    /// fewer were, [`REPLY_TIMEOUT`] after the last request.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{Outcome, ping::Pinger};
    /// use layernet::host::sim::{SimNet, host_ip};
    /// use layernet::link::segment::Faults;
    /// let (mut net, a, b) = SimNet::pair(7)?;
    /// net.set_faults(Faults::loss(30));
    /// let mut ping = Pinger::new(host_ip(a).address(), 16, layernet::Duration::from_millis(10));
    /// ping.want(4); // some requests or replies are lost, four answers do
    /// net.run_client(b, &mut ping, layernet::Duration::from_secs(10));
    /// assert_eq!((ping.outcome(), ping.replies()), (Outcome::Done, 4));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
}

impl Service for Pinger {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        if self.outcome != Outcome::Running {
            return false;
        }
        let ping = self.ping.get_or_insert_with(|| Ping::new(stack));
        let mut progress = false;
        if self.sent < self.count && self.replies < self.want && now >= self.next {
            match ping.send(
                stack,
                self.target,
                self.sent,
                b"layernet ping payload 0123456789",
            ) {
                Ok(()) => {
                    self.sent_at[usize::from(self.sent)] = Some(now);
                    self.sent += 1;
                    self.next = now + self.interval;
                    progress = true;
                }
                Err(Error::WouldBlock) => {}
                Err(e) => self.outcome = Outcome::Failed(e),
            }
        }
        while let Ok((from, seq, len)) = ping.recv(stack) {
            progress = true;
            let Some(at) = self
                .sent_at
                .get_mut(usize::from(seq))
                .and_then(Option::take)
            else {
                continue; // a duplicate or a stray reply
            };
            self.replies += 1;
            self.rtt_total += now - at;
            self.log.push(format_args!(
                "{len} bytes from {from}: icmp_seq={seq} time={} ms",
                (now - at).total_millis()
            ));
        }
        if self.replies >= self.want {
            self.outcome = Outcome::Done;
        } else if self.sent == self.count && now >= self.next - self.interval + REPLY_TIMEOUT {
            self.outcome = Outcome::Failed(Error::TimedOut);
        }
        progress
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.outcome != Outcome::Running {
            None
        } else if self.sent < self.count {
            Some(self.next)
        } else {
            Some(self.next - self.interval + REPLY_TIMEOUT)
        }
    }

    fn is_done(&self) -> bool {
        self.outcome != Outcome::Running
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.log.drain(sink);
    }
}
