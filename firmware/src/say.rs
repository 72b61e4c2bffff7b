//! The firmware's own log lines (listening, status, stack, failures),
//! written digit by digit instead of through `core::fmt`, and sent to the
//! host through semihosting in one write per line.
//!
//! `core::fmt` (its `write`, the padding `Formatter` and the integer
//! `Display`s) cost the tiny build about 5 KiB of flash; with these lines
//! and the services' stamps and tags written by hand it links none
//! (docs/performance.md). One write per line: tests/qemu/firmware_peers.sh
//! reads the log while QEMU writes it, and a line written in pieces could
//! be read half-done.

use core::cell::Cell;

use cortex_m::interrupt::{self, Mutex};
use cortex_m_semihosting::hio::{self, HostStream};
use layernet::{EthernetAddress, Ipv4Address};

/// The longest line kept: a service's log line (192 bytes) and more; the
/// status line is about 170. A longer line is cut.
const LINE_MAX: usize = 256;

/// The host's stdout, opened at the first line.
static STDOUT: Mutex<Cell<Option<HostStream>>> = Mutex::new(Cell::new(None));

/// A line being written.
pub struct Line {
    bytes: [u8; LINE_MAX],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    pub fn new() -> Self {
        Line {
            bytes: [0; LINE_MAX],
            len: 0,
        }
    }

    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        for &b in s.as_bytes() {
            self.byte(b);
        }
        self
    }

    /// `n` in decimal, as `{}` shows it.
    pub fn dec(&mut self, n: u64) -> &mut Self {
        self.dec_width(n, 1)
    }

    /// `n` in decimal, zero-padded to `width` digits (`{:0width$}`).
    pub fn dec_width(&mut self, mut n: u64, width: usize) -> &mut Self {
        let mut digits = [b'0'; 20];
        let mut used = 0;
        loop {
            let (q, r) = div10(n);
            digits[used] = b'0' + r;
            used += 1;
            n = q;
            if n == 0 {
                break;
            }
        }
        for _ in used..width {
            self.byte(b'0');
        }
        for &d in digits[..used].iter().rev() {
            self.byte(d);
        }
        self
    }

    /// A signed `n` in decimal, as `{}` shows it.
    pub fn int(&mut self, n: i64) -> &mut Self {
        if n < 0 {
            self.byte(b'-');
        }
        self.dec(n.unsigned_abs())
    }

    /// `n` as `{:#010x}` shows it: `0x` and 8 hex digits.
    pub fn hex32(&mut self, n: u32) -> &mut Self {
        self.str("0x");
        for shift in (0..8).rev() {
            self.byte(hex_digit((n >> (shift * 4)) as u8));
        }
        self
    }

    /// `a.b.c.d`, as smoltcp's `Display` shows it.
    pub fn ip(&mut self, a: Ipv4Address) -> &mut Self {
        for (i, octet) in a.octets().into_iter().enumerate() {
            if i > 0 {
                self.byte(b'.');
            }
            self.dec(octet.into());
        }
        self
    }

    /// `02-00-00-00-00-01`, as smoltcp's `Display` shows it.
    #[cfg_attr(not(feature = "lm3s6965"), allow(dead_code))]
    pub fn mac(&mut self, m: EthernetAddress) -> &mut Self {
        for (i, b) in m.0.into_iter().enumerate() {
            if i > 0 {
                self.byte(b'-');
            }
            self.byte(hex_digit(b >> 4));
            self.byte(hex_digit(b));
        }
        self
    }

    /// Send the line and a newline to the host (a line cut at
    /// `LINE_MAX` still ends in one).
    pub fn print(&mut self) {
        if self.len == LINE_MAX {
            self.len -= 1;
        }
        self.byte(b'\n');
        let line = &self.bytes[..self.len];
        interrupt::free(|cs| {
            let out = STDOUT.borrow(cs);
            let stream = match out.get() {
                Some(stream) => Some(stream),
                None => hio::hstdout().ok(),
            };
            if let Some(mut stream) = stream {
                out.set(Some(stream));
                // Nothing to do if the host does not take it.
                let _ = stream.write_all(line);
            }
        });
    }
}

/// One line of text.
pub fn line(s: &str) {
    Line::new().str(s).print();
}

/// `n / 10` and `n % 10` with 32-bit divisions only: a 64-bit one is a
/// call into compiler-builtins' long division on these cores. The high
/// word is divided first, then the rest 16 bits at a time, each step's
/// dividend (remainder < 10, shifted, plus 16 bits) fitting 32 bits.
fn div10(n: u64) -> (u64, u8) {
    let (hi, lo) = ((n >> 32) as u32, n as u32);
    let (q_hi, r) = (hi / 10, hi % 10);
    let mid = (r << 16) | (lo >> 16);
    let (q_mid, r) = (mid / 10, mid % 10);
    let low = (r << 16) | (lo & 0xffff);
    let (q_low, r) = (low / 10, low % 10);
    (
        (u64::from(q_hi) << 32) | (u64::from(q_mid) << 16) | u64::from(q_low),
        r as u8,
    )
}

fn hex_digit(nibble: u8) -> u8 {
    b"0123456789abcdef"[usize::from(nibble & 0xf)]
}

/// An error's text without `core::fmt`: the start-up errors the firmware
/// can meet, each with its library's `as_str`.
pub trait Why {
    fn why(&self) -> &'static str;
}

impl Why for &'static str {
    fn why(&self) -> &'static str {
        self
    }
}

impl Why for layernet::socket::Error {
    fn why(&self) -> &'static str {
        self.as_str()
    }
}

impl Why for layernet::net::ConfigError {
    fn why(&self) -> &'static str {
        self.as_str()
    }
}

impl Why for layernet::net::MemoryError {
    fn why(&self) -> &'static str {
        self.as_str()
    }
}

impl Why for crate::board::NicError {
    fn why(&self) -> &'static str {
        self.as_str()
    }
}
