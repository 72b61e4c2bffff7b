//! The firmware's time and its sleep, the same on both boards (any
//! Cortex-M with SysTick and an NVIC): tickless.
//!
//! SysTick counts the core clock (`board::CPU_HZ`) down from a reload
//! value that [`SysTickClock::sleep`] sets to the time left until the run
//! loop's next deadline (`run::wake_at`: smoltcp's timers, the services'
//! own, the status line's), at most 2^24 cycles (0.67 s at 25 MHz, 0.34 s
//! at 50 MHz), since the counter has 24 bits. Time is the cycles of the
//! periods SysTick finished (`BASE`, added up by its interrupt) plus how
//! far the current one has run. Between two turns of the run loop the
//! core sleeps in `wfi` until SysTick's interrupt or the NIC's receive
//! interrupt ([`RxInterrupt`]), and each wake-up is counted for the
//! status line. (Until issue 21 SysTick ticked at 1 kHz, and the core
//! woke 1,000 times a second to look at the NIC.)

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::{NVIC, SCB, SYST, syst::SystClkSource};
use cortex_m_rt::exception;
use layernet::board::Clock;
use layernet::link::RxInterrupt;
use layernet::{Duration, Instant};

use crate::board;

/// SysTick's counter is 24 bits wide.
const MAX_PERIOD: u32 = 1 << 24;
const CYCLES_PER_US: u64 = board::CPU_HZ as u64 / 1_000_000;

/// Cycles of the SysTick periods finished (or cut short by a new
/// deadline) since start.
static BASE: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));
/// Times the core left `wfi`.
static WAKES: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    interrupt::free(|cs| {
        let base = BASE.borrow(cs);
        base.set(base.get() + u64::from(SYST::get_reload()) + 1);
    });
}

/// The NIC's interrupt line, as the NVIC numbers it.
#[derive(Clone, Copy)]
struct NicLine;

// Safety: `number` is the board's NIC line, which the NVIC has, and
// which the vector table covers (src/vectors.rs; checked below).
#[allow(unsafe_code)]
unsafe impl cortex_m::interrupt::InterruptNumber for NicLine {
    fn number(self) -> u16 {
        board::NIC_IRQ
    }
}

/// The NIC's line must have an entry in the vector table.
const _: () = assert!((board::NIC_IRQ as usize) < board::IRQ_LINES);

/// Every device interrupt lands here (the vector table of src/vectors.rs);
/// the NIC's is the only one enabled. It only woke the core: the line is
/// masked until the next sleep, since the NIC holds it up while frames
/// wait, and the run loop reads them.
#[allow(unsafe_code)]
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == board::NIC_IRQ as i16 {
        NVIC::mask(NicLine);
    }
}

/// Cycles since start: `BASE` plus how far the current period has run.
/// Call inside a critical section.
fn cycles(base: u64) -> u64 {
    let reload = u64::from(SYST::get_reload());
    // The counter reads zero just after it was cleared (nothing run yet)
    // and, for one clock, as it wraps (then the interrupt is pending).
    let run = |current: u32| match current {
        0 => 0,
        c => reload + 1 - u64::from(c),
    };
    let current = SYST::get_current();
    if SCB::is_pendst_pending() {
        // It wrapped, maybe after the read above, and the interrupt has
        // not added the period yet: read again.
        base + reload + 1 + run(SYST::get_current())
    } else {
        base + run(current)
    }
}

/// The port's clock and sleep: SysTick, tickless.
pub struct SysTickClock {
    syst: SYST,
    last: Instant,
}

impl SysTickClock {
    /// Start SysTick from the core clock, at its longest period.
    pub fn start(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(MAX_PERIOD - 1);
        syst.clear_current();
        syst.enable_counter();
        syst.enable_interrupt();
        SysTickClock {
            syst,
            last: Instant::ZERO,
        }
    }

    /// Sleep until `wake` (none: as long as SysTick can) or until a frame
    /// arrives, whichever is first. A frame that came in since the last
    /// poll ([`RxInterrupt::rx_ready`]) means no sleep at all. A deadline
    /// already past sleeps a millisecond: the loop just ran and found
    /// nothing to do, so running it again at once would spin.
    pub fn sleep(&mut self, nic: &mut impl RxInterrupt, wake: Option<Instant>) {
        interrupt::free(|cs| {
            if nic.rx_ready() {
                return;
            }
            let base = BASE.borrow(cs);
            let now = cycles(base.get());
            let left = wake.map_or(Duration::from_secs(3600), |w| {
                let now = Instant::from_micros((now / CYCLES_PER_US) as i64);
                if w > now {
                    w - now
                } else {
                    Duration::from_millis(1)
                }
            });
            let period =
                (left.total_micros() * CYCLES_PER_US).clamp(CYCLES_PER_US, u64::from(MAX_PERIOD));
            // Cut the current period short: what it ran goes to BASE, a
            // wrap not yet counted too (its pending interrupt is dropped,
            // it would add the period again), and the counter restarts
            // with the new period at the next clock.
            base.set(now);
            SCB::clear_pendst();
            self.syst.set_reload(period as u32 - 1);
            self.syst.clear_current();
            // Safety: unmasking the NIC's line breaks no critical section:
            // its handler only masks the line again.
            #[allow(unsafe_code)]
            unsafe {
                NVIC::unmask(NicLine)
            };
            // With interrupts masked, `wfi` still returns when one is
            // pending: a frame arriving between `rx_ready` and here is not
            // slept through. Its handler runs when the critical section
            // ends.
            cortex_m::asm::wfi();
            WAKES.fetch_add(1, Ordering::Relaxed);
        });
    }
}

impl Clock for SysTickClock {
    fn now(&mut self) -> Instant {
        let cycles = interrupt::free(|cs| cycles(BASE.borrow(cs).get()));
        let now = Instant::from_micros((cycles / CYCLES_PER_US) as i64);
        self.last = self.last.max(now);
        self.last
    }
}

/// Wake-ups so far.
pub fn wakes() -> u32 {
    WAKES.load(Ordering::Relaxed)
}
