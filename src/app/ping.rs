//! Ping: ICMP echo requests and their replies.
//!
//! Layer: app. Uses [`crate::socket::Ping`].

use smoltcp::time::{Duration, Instant};

use super::{Log, Outcome, Service};
use crate::Ipv4Address;
use crate::link::Link;
use crate::net::Stack;
use crate::socket::{Error, Ping};

/// How long to wait for the last reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends `count` echo requests `interval` apart and counts the replies.
pub struct Pinger {
    target: Ipv4Address,
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
    pub fn new(target: Ipv4Address, count: u16, interval: Duration) -> Self {
        Pinger {
            target,
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
    pub fn want(&mut self, want: u16) {
        self.want = want.min(self.count);
    }

    /// Replies received.
    pub fn replies(&self) -> u16 {
        self.replies
    }

    /// Requests sent.
    pub fn sent(&self) -> u16 {
        self.sent
    }

    /// Mean round-trip time of the replies.
    pub fn mean_rtt(&self) -> Duration {
        if self.replies == 0 {
            Duration::ZERO
        } else {
            self.rtt_total / u32::from(self.replies)
        }
    }

    /// `Done` once `want` requests were answered; `Failed(TimedOut)` if
    /// fewer were, [`REPLY_TIMEOUT`] after the last request.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
}

impl<D: Link> Service<D> for Pinger {
    fn poll(&mut self, stack: &mut Stack<'_, D>, now: Instant) -> bool {
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
