//! Wall-clock time for the time-stamped echo.
//!
//! Layer: app. Depends on nothing but `core` and smoltcp's `Instant`.
//!
//! The core never reads a clock: a [`WallClock`] turns the stack's
//! monotonic `now` into a civil date and time. The simulation uses
//! [`FixedEpoch`] (a fixed start date plus virtual time, so runs repeat);
//! the host supplies local time; a board supplies its RTC, or uptime.

use core::fmt;
use smoltcp::time::Instant;

/// A civil date and time, shown as `YYYY-MM-DD HH:MM:SS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
///
/// # Example
///
/// ```
/// use layernet::app::clock::DateTime;
/// let moon = DateTime { year: 1969, month: 7, day: 20, hour: 20, minute: 17, second: 40 };
/// assert_eq!(moon.to_string(), "1969-07-20 20:17:40");
/// assert!(moon < DateTime::from_unix(0), "ordered by time");
/// ```
pub struct DateTime {
    /// Year (proleptic Gregorian).
    pub year: i32,
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
    /// 0-23.
    pub hour: u8,
    /// 0-59.
    pub minute: u8,
    /// 0-59 (60 on a leap second, if the source has one).
    pub second: u8,
}

impl DateTime {
    /// The UTC date and time `secs` seconds after 1970-01-01 00:00:00.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::clock::DateTime;
    /// assert_eq!(DateTime::from_unix(0).to_string(), "1970-01-01 00:00:00");
    /// assert_eq!(DateTime::from_unix(951_782_400).to_string(), "2000-02-29 00:00:00");
    /// assert_eq!(DateTime::from_unix(-1).year, 1969);
    /// ```
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days: exact for every day in range.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
        }
    }
}

impl DateTime {
    /// The text `Display` shows, written digit by digit instead of through
    /// `core::fmt` (`{:04}-{:02}-{:02} {:02}:{:02}:{:02}`), so that the
    /// time-stamped echo links no formatting machinery: the tiny firmware
    /// build has none (docs/performance.md).
    pub(crate) fn text(&self) -> DateText {
        let mut t = DateText {
            bytes: [0; DATE_TEXT_MAX],
            len: 0,
        };
        // `{:04}` counts the sign in the width: -5 is "-005".
        if self.year < 0 {
            t.push(b'-');
            t.number(self.year.unsigned_abs(), 3);
        } else {
            t.number(self.year.unsigned_abs(), 4);
        }
        for (sep, n) in [
            (b'-', self.month),
            (b'-', self.day),
            (b' ', self.hour),
            (b':', self.minute),
            (b':', self.second),
        ] {
            t.push(sep);
            t.number(n.into(), 2);
        }
        t
    }
}

/// The longest text of a [`DateTime`]: an 11-character year
/// (`-2147483648`) and five fields of up to 3 digits, each after a
/// separator.
const DATE_TEXT_MAX: usize = 11 + 5 * 4;

/// A [`DateTime`]'s text, in ASCII.
pub(crate) struct DateText {
    bytes: [u8; DATE_TEXT_MAX],
    len: usize,
}

impl DateText {
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `n` in decimal, zero-padded to `width` digits.
    fn number(&mut self, mut n: u32, width: usize) {
        let mut digits = [b'0'; 10];
        let mut used = 0;
        while n > 0 || used == 0 {
            digits[used] = b'0' + (n % 10) as u8;
            n /= 10;
            used += 1;
        }
        for _ in used..width {
            self.push(b'0');
        }
        for &d in digits[..used].iter().rev() {
            self.push(d);
        }
    }

    /// The text's bytes (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        // ASCII by construction.
        f.write_str(core::str::from_utf8(text.as_bytes()).unwrap_or_default())
    }
}

/// Turns the stack's monotonic time into a date and time.
///
/// # Example
///
/// ```
/// use layernet::app::clock::{DateTime, WallClock};
/// use layernet::Instant;
/// /// A board without a calendar: it shows its uptime as a date in 1970.
/// struct Uptime;
/// impl WallClock for Uptime {
///     fn datetime(&mut self, now: Instant) -> DateTime {
///         DateTime::from_unix(now.secs())
///     }
/// }
/// assert_eq!(Uptime.datetime(Instant::from_secs(3_661)).to_string(), "1970-01-01 01:01:01");
/// ```
pub trait WallClock {
    /// The date and time at stack time `now`.
    fn datetime(&mut self, now: Instant) -> DateTime;
}

/// A clock that starts at a fixed Unix time when the stack's time is zero:
/// the simulation's clock (runs repeat exactly) and a board's without RTC.
#[derive(Debug, Clone, Copy)]
///
/// # Example
///
/// ```
/// use layernet::app::clock::{FixedEpoch, WallClock};
/// use layernet::Instant;
/// let mut clock = FixedEpoch { epoch: 1_000_000_000 }; // 2001-09-09 01:46:40
/// let later = clock.datetime(Instant::from_secs(20));
/// assert_eq!((later.minute, later.second), (47, 0));
/// ```
pub struct FixedEpoch {
    /// Unix seconds at `Instant::ZERO`.
    pub epoch: i64,
}

impl FixedEpoch {
    /// 2024-01-01 00:00:00, the simulation's start.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::clock::{FixedEpoch, WallClock};
    /// use layernet::Instant;
    /// let start = FixedEpoch::SIMULATION.datetime(Instant::ZERO);
    /// assert_eq!(start.to_string(), "2024-01-01 00:00:00");
    /// ```
    pub const SIMULATION: FixedEpoch = FixedEpoch {
        epoch: 1_704_067_200,
    };
}

impl WallClock for FixedEpoch {
    fn datetime(&mut self, now: Instant) -> DateTime {
        DateTime::from_unix(self.epoch + now.secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    fn show(d: DateTime) -> heapless::String<32> {
        let mut s = heapless::String::new();
        write!(s, "{d}").unwrap();
        s
    }

    #[test]
    fn known_dates() {
        assert_eq!(show(DateTime::from_unix(0)), "1970-01-01 00:00:00");
        assert_eq!(
            show(DateTime::from_unix(951_782_400)),
            "2000-02-29 00:00:00"
        );
        assert_eq!(
            show(DateTime::from_unix(1_704_067_199)),
            "2023-12-31 23:59:59"
        );
        assert_eq!(show(DateTime::from_unix(-1)), "1969-12-31 23:59:59");
        assert_eq!(
            show(DateTime::from_unix(4_102_444_800)),
            "2100-01-01 00:00:00"
        );
    }

    /// The text written digit by digit is what `core::fmt` wrote before,
    /// also for fields out of their range and years of any width or sign.
    #[test]
    fn text_matches_core_fmt() {
        let odd = [
            (1969, 7, 20, 20, 17, 40),
            (0, 1, 1, 0, 0, 0),
            (-5, 12, 31, 23, 59, 60),
            (-1234, 1, 2, 3, 4, 5),
            (12_345, 255, 99, 200, 100, 7),
            (i32::MIN, 0, 0, 0, 0, 0),
            (i32::MAX, 255, 255, 255, 255, 255),
        ];
        for (year, month, day, hour, minute, second) in odd {
            let d = DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
            };
            let mut want: heapless::String<40> = heapless::String::new();
            write!(
                want,
                "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"
            )
            .unwrap();
            assert_eq!(core::str::from_utf8(d.text().as_bytes()), Ok(want.as_str()));
            let mut shown: heapless::String<40> = heapless::String::new();
            write!(shown, "{d}").unwrap();
            assert_eq!(shown, want);
        }
    }

    #[test]
    fn fixed_epoch_follows_virtual_time() {
        let mut c = FixedEpoch::SIMULATION;
        assert_eq!(
            show(c.datetime(Instant::from_millis(3_723_500))),
            "2024-01-01 01:02:03"
        );
    }
}
