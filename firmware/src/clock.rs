//! The firmware's time and its sleep, the same on both boards (any
//! Cortex-M): SysTick interrupts at 1 kHz from the core clock
//! (`board::CPU_HZ`), counted in a 32-bit millisecond count that
//! [`Counter32`] extends to 64 bits; between two turns of the run loop the
//! core sleeps in `wfi` until the next interrupt, and each wake-up is
//! counted for the status line.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::exception;
use layernet::Instant;
use layernet::board::{Clock, Counter32};

const TICK_HZ: u32 = 1_000;

/// Milliseconds since SysTick started; wraps after 49.7 days, which
/// [`Counter32`] turns into a 64-bit time.
static TICKS: AtomicU32 = AtomicU32::new(0);
/// Times the core left `wfi`.
static WAKES: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

/// Start SysTick at 1 kHz from a core clock of `cpu_hz`.
pub fn start(mut syst: SYST, cpu_hz: u32) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(cpu_hz / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_counter();
    syst.enable_interrupt();
}

/// The port's clock: SysTick's millisecond count.
pub struct SysTickClock(Counter32);

impl SysTickClock {
    pub fn new() -> Self {
        SysTickClock(Counter32::new(TICK_HZ))
    }
}

impl Clock for SysTickClock {
    fn now(&mut self) -> Instant {
        self.0.update(TICKS.load(Ordering::Relaxed))
    }
}

/// Sleep until the next interrupt (SysTick's: at most 1 ms); frames that
/// arrive meanwhile wait in the NIC's FIFO.
pub fn sleep() {
    cortex_m::asm::wfi();
    WAKES.fetch_add(1, Ordering::Relaxed);
}

/// Wake-ups so far.
pub fn wakes() -> u32 {
    WAKES.load(Ordering::Relaxed)
}
