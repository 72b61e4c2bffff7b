//! The host's wall clock: local time, for the time-stamped echo on a real link.
//!
//! Layer: host (std).

use crate::app::clock::{DateTime, WallClock};
use chrono::{Datelike, Local, Timelike};
use smoltcp::time::Instant;

/// Local wall-clock time, read when a reply is stamped.
#[derive(Debug, Clone, Copy, Default)]
///
/// # Example
///
/// ```
/// use layernet::app::clock::WallClock;
/// use layernet::host::local_clock::LocalClock;
/// // The stack's time does not matter: the host's clock is read.
/// let now = LocalClock.datetime(layernet::Instant::ZERO);
/// assert!(now.year >= 2024 && (1..=12).contains(&now.month));
/// ```
pub struct LocalClock;

impl WallClock for LocalClock {
    fn datetime(&mut self, _now: Instant) -> DateTime {
        let t = Local::now();
        DateTime {
            year: t.year(),
            month: t.month() as u8,
            day: t.day() as u8,
            hour: t.hour() as u8,
            minute: t.minute() as u8,
            second: t.second().min(60) as u8,
        }
    }
}
