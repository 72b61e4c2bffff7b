//! What a port of layernet to a board provides, in one place. (The module
//! was called `port`, which also meant TCP ports and the segment's switch
//! ports; "board" says the one thing.)
//!
//! Layer: beside the core, like `host`: it names the traits the core
//! already takes from outside and adds the two a board needs on top. Nothing
//! in the core imports it.
//!
//! | a port provides | trait | host | board (`firmware/`) |
//! |---|---|---|---|
//! | the NIC driver | smoltcp's `phy::Device` and [`Link`] | TAP, simulated segment | [`crate::link::lan9118::Lan9118`], [`crate::link::stellaris::Stellaris`] |
//! | a monotonic clock | [`Clock`] | `std::time::Instant` | SysTick, tickless (`firmware/src/clock.rs`) |
//! | entropy for sequence numbers and ports | [`Entropy`] | the OS | timer jitter (weak; see docs/porting.md) |
//! | a wall clock, optional | [`WallClock`] | local time | [`Uptime`] (no RTC) |
//! | storage for the file service, optional | [`Storage`] | a directory | [`crate::app::storage::RamStore`] |
//!
//! The core never calls a clock or an entropy source itself: the main loop
//! reads [`Clock::now`] and passes it to every `poll`, and puts one
//! [`Entropy::seed`] into [`crate::net::Config::seed`]. The traits are small
//! on purpose, in the style of embedded-hal: one method each.
//!
//! ```
//! use layernet::board::{Clock, Counter32};
//! use layernet::Instant;
//! /// A board's 1 MHz timer register, here a plain variable.
//! struct Timer<'a> { raw: &'a core::cell::Cell<u32>, ext: Counter32 }
//! impl Clock for Timer<'_> {
//!     fn now(&mut self) -> Instant {
//!         self.ext.update(self.raw.get())
//!     }
//! }
//! let raw = core::cell::Cell::new(0);
//! let mut clock = Timer { raw: &raw, ext: Counter32::new(1_000_000) };
//! raw.set(2_500_000);
//! assert_eq!(clock.now(), Instant::from_millis(2_500));
//! ```

pub use crate::app::clock::WallClock;
pub use crate::app::storage::Storage;
pub use crate::link::Link;

use crate::app::clock::DateTime;
use smoltcp::time::Instant;

/// A monotonic clock: the `now` every `poll` takes.
///
/// ```
/// use layernet::{Instant, board::Clock};
/// struct Fixed;
/// impl Clock for Fixed {
///     fn now(&mut self) -> Instant { Instant::from_secs(1) }
/// }
/// assert_eq!(Fixed.now().secs(), 1);
/// ```
pub trait Clock {
    /// The current time; never less than the last value returned.
    ///
    /// ```
    /// use layernet::board::{Clock, Counter32};
    /// let mut c = Counter32::new(1000);
    /// struct Ms<'a>(&'a mut Counter32, u32);
    /// impl Clock for Ms<'_> {
    ///     fn now(&mut self) -> layernet::Instant { self.0.update(self.1) }
    /// }
    /// assert_eq!(Ms(&mut c, 1500).now().total_millis(), 1500);
    /// ```
    fn now(&mut self) -> Instant;
}

/// A source of entropy for the stack's seed (initial sequence numbers,
/// ephemeral ports).
///
/// ```
/// use layernet::board::Entropy;
/// struct Dice;
/// impl Entropy for Dice {
///     fn seed(&mut self) -> u64 { 4 } // chosen by a fair roll
/// }
/// let config = layernet::net::Config { seed: Dice.seed(), ..Default::default() };
/// assert_eq!(config.seed, 4);
/// ```
pub trait Entropy {
    /// 64 bits that an attacker cannot guess (as well as the board can).
    ///
    /// ```
    /// use layernet::board::Entropy;
    /// struct Zero;
    /// impl Entropy for Zero { fn seed(&mut self) -> u64 { 0 } }
    /// assert_eq!(Zero.seed(), 0, "deterministic: fine for tests, not for a network");
    /// ```
    fn seed(&mut self) -> u64;
}

/// A wall clock for boards without a calendar: the time-stamped echo
/// stamps the uptime, shown as a date in 1970.
///
/// ```
/// use layernet::board::{Uptime, WallClock};
/// let stamp = Uptime.datetime(layernet::Instant::from_secs(90_061));
/// assert_eq!(stamp.to_string(), "1970-01-02 01:01:01");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Uptime;

impl WallClock for Uptime {
    fn datetime(&mut self, now: Instant) -> DateTime {
        DateTime::from_unix(now.secs())
    }
}

/// Extends a wrapping 32-bit hardware counter to a 64-bit [`Instant`].
/// Call [`Counter32::update`] at least once per wrap period (171.8 s for
/// the LAN9118's 25 MHz `FREE_RUN`); a board that wakes every millisecond
/// does so with room to spare.
///
/// ```
/// use layernet::board::Counter32;
/// let mut c = Counter32::new(25_000_000);
/// c.update(u32::MAX - 24_999);
/// assert_eq!(c.update(0).total_micros(), 171_798_691, "after the wrap, still counting up");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Counter32 {
    hz: u64,
    last: u32,
    ticks: u64,
}

impl Counter32 {
    /// A counter that ticks `hz` times a second and reads 0 now.
    ///
    /// # Panics
    ///
    /// If `hz` is 0 (a programming error).
    ///
    /// ```
    /// use layernet::board::Counter32;
    /// assert_eq!(Counter32::new(1_000).update(0), layernet::Instant::ZERO);
    /// ```
    pub const fn new(hz: u32) -> Self {
        assert!(hz > 0, "a counter that does not tick");
        Counter32 {
            hz: hz as u64,
            last: 0,
            ticks: 0,
        }
    }

    /// Take the counter's raw value and return the time since it read 0.
    ///
    /// ```
    /// use layernet::board::Counter32;
    /// let mut c = Counter32::new(1_000);
    /// assert_eq!(c.update(1_234).total_millis(), 1_234);
    /// assert_eq!(c.update(1_234).total_millis(), 1_234, "unchanged: same time");
    /// ```
    pub fn update(&mut self, raw: u32) -> Instant {
        self.ticks += u64::from(raw.wrapping_sub(self.last));
        self.last = raw;
        let micros = self.ticks / self.hz * 1_000_000 + self.ticks % self.hz * 1_000_000 / self.hz;
        Instant::from_micros(micros as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_survives_many_wraps() {
        let mut c = Counter32::new(25_000_000);
        let mut raw = 0u32;
        let step = 1_000_000_000u32; // 40 s of ticks
        for _ in 0..100 {
            raw = raw.wrapping_add(step);
            c.update(raw);
        }
        assert_eq!(c.update(raw).secs(), 4_000);
    }
}
