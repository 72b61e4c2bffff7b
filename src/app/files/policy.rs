//! Who may read and who may write: the file service's access policy, a
//! value the owner of the server states (the CLI from its flags, a board
//! in its firmware), and the per-peer brake on wrong passwords.
//!
//! Layer: app. Depends on nothing but `core`, heapless and smoltcp's
//! address and time types.

use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpAddress;

/// Who may do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone on the network.
    Anyone,
    /// Only clients with the credentials of a user [`Policy::users`] knows
    /// (HTTP Basic); others get 401.
    Users,
    /// Nobody: 403 with [`Policy::refusal`] as the body.
    Nobody,
}

/// Checks a user name and password. The host's implementation compares
/// SHA-256 digests in constant time; a board may compare against a
/// constant.
///
/// # Example
///
/// ```
/// use layernet::app::files::{Authenticate, ct_eq};
/// struct One;
/// impl Authenticate for One {
///     fn check(&self, user: &[u8], password: &[u8]) -> bool {
///         // Both compared, whatever the first says: no early exit to time.
///         ct_eq(user, b"admin") & ct_eq(password, b"s3cret")
///     }
/// }
/// assert!(One.check(b"admin", b"s3cret") && !One.check(b"admin", b"guess"));
/// ```
pub trait Authenticate {
    /// True if `password` is `user`'s.
    fn check(&self, user: &[u8], password: &[u8]) -> bool;
}

/// Byte strings equal, in time that depends on their lengths only, not on
/// where they first differ.
///
/// # Example
///
/// ```
/// use layernet::app::files::ct_eq;
/// assert!(ct_eq(b"same", b"same"));
/// assert!(!ct_eq(b"same", b"sane") && !ct_eq(b"same", b"sam"));
/// ```
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    // black_box keeps the optimiser from turning the fold into an early exit.
    core::hint::black_box(diff) == 0
}

/// The file service's access policy.
///
/// # Example
///
/// ```
/// use layernet::app::files::{Access, Policy};
/// // The default: anyone reads, nobody writes.
/// assert_eq!(Policy::default().writes, Access::Nobody);
/// assert_eq!(Policy::WRITABLE.writes, Access::Anyone);
/// ```
#[derive(Clone, Copy)]
pub struct Policy {
    /// Who may GET and HEAD.
    pub reads: Access,
    /// Who may PUT and DELETE.
    pub writes: Access,
    /// The users' check, for [`Access::Users`]; without one, nobody
    /// passes it.
    pub users: Option<&'static (dyn Authenticate + Sync)>,
    /// The one-line body of a 403 for a write that [`Access::Nobody`]
    /// refuses: it should say how to allow writes.
    pub refusal: &'static str,
}

impl core::fmt::Debug for Policy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Policy")
            .field("reads", &self.reads)
            .field("writes", &self.writes)
            .field("users", &self.users.is_some())
            .finish()
    }
}

impl Policy {
    /// Anyone reads, nobody writes: what `python3 -m http.server` and
    /// miniserve do unless told otherwise.
    pub const READ_ONLY: Policy = Policy {
        reads: Access::Anyone,
        writes: Access::Nobody,
        users: None,
        refusal: "403 Forbidden: this server is read-only",
    };
    /// Anyone reads and writes: the classic course's server.
    pub const WRITABLE: Policy = Policy {
        reads: Access::Anyone,
        writes: Access::Anyone,
        users: None,
        refusal: "",
    };

    pub(crate) fn rule(&self, writes: bool) -> Access {
        if writes { self.writes } else { self.reads }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::READ_ONLY
    }
}

/// Peers whose wrong passwords are remembered at once; a new one takes the
/// place of the one quiet longest.
const PEERS: usize = 16;
/// The first wrong password is answered at once; each further one waits
/// twice as long as the last, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);
/// A peer quiet this long starts afresh.
const FORGET: Duration = Duration::from_secs(600);

/// Wrong passwords per peer address, and how long the next answer to that
/// peer waits: guessing costs time, a typo almost none.
#[derive(Debug)]
pub(crate) struct Throttle {
    peers: heapless::Vec<(IpAddress, u32, Instant), PEERS>,
    failures: u64,
}

impl Throttle {
    pub(crate) const fn new() -> Self {
        Throttle {
            peers: heapless::Vec::new(),
            failures: 0,
        }
    }

    /// Every wrong password so far.
    pub(crate) fn failures(&self) -> u64 {
        self.failures
    }

    /// Count a wrong password from `peer` at `now`; returns how long the
    /// 401 should wait.
    pub(crate) fn fail(&mut self, peer: IpAddress, now: Instant) -> Duration {
        self.failures += 1;
        let count = match self.peers.iter_mut().find(|(a, ..)| *a == peer) {
            Some(entry) => {
                entry.1 = if now >= entry.2 + FORGET {
                    1
                } else {
                    entry.1.saturating_add(1)
                };
                entry.2 = now;
                entry.1
            }
            None => {
                if self.peers.is_full()
                    && let Some(oldest) = (0..self.peers.len()).min_by_key(|&i| self.peers[i].2)
                {
                    self.peers.swap_remove(oldest);
                }
                let _ = self.peers.push((peer, 1, now));
                1
            }
        };
        if count <= 1 {
            return Duration::ZERO;
        }
        let shift = (count - 2).min(8);
        (FIRST_DELAY * (1u32 << shift)).min(MAX_DELAY)
    }

    /// `peer` got in: its count starts afresh.
    pub(crate) fn pass(&mut self, peer: IpAddress) {
        if let Some(i) = self.peers.iter().position(|(a, ..)| *a == peer) {
            self.peers.swap_remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::Ipv4Address;

    #[test]
    fn guesses_slow_down_per_peer() {
        let mut t = Throttle::new();
        let a = IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, 1));
        let b = IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, 2));
        let now = Instant::from_secs(1);
        let delays: heapless::Vec<u64, 8> = (0..6).map(|_| t.fail(a, now).total_millis()).collect();
        assert_eq!(delays, [0, 250, 500, 1000, 2000, 4000]);
        assert_eq!(t.fail(b, now), Duration::ZERO, "another peer is not slowed");
        for _ in 0..10 {
            t.fail(a, now);
        }
        assert_eq!(t.fail(a, now), MAX_DELAY);
        assert_eq!(
            t.fail(a, now + FORGET),
            Duration::ZERO,
            "forgotten after a quiet spell"
        );
        t.fail(a, now + FORGET);
        t.pass(a);
        assert_eq!(
            t.fail(a, now + FORGET),
            Duration::ZERO,
            "a success starts afresh"
        );
        assert_eq!(t.failures(), 21);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut t = Throttle::new();
        for i in 0..100u8 {
            let peer = IpAddress::Ipv4(Ipv4Address::new(10, 0, 1, i));
            t.fail(peer, Instant::from_secs(i64::from(i)));
        }
        assert_eq!(t.peers.len(), PEERS);
    }
}
