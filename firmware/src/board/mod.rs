//! The board: everything the firmware does differently on its two boards,
//! and nothing else. `main` and the other modules use only what is here,
//! under the same names on both:
//!
//! - `NAME`, `CPU_HZ` (what SysTick counts), `NIC_IRQ` (the NIC's NVIC
//!   line) and `IRQ_LINES` (the device lines in the vector table);
//! - `init()`: clocks and power, before anything else;
//! - `Nic<FRAME>`, its error `NicError`, and `nic()`, which brings it up;
//! - `hello()`, the first log line; `jitter()`, raw entropy; `stats()`.
//!
//! The AN386 (`an386.rs`) is the default; `--features lm3s6965` picks the
//! LM3S6965 (`lm3s6965.rs`), and build.rs its memory map.

#[cfg(not(feature = "lm3s6965"))]
mod an386;
#[cfg(not(feature = "lm3s6965"))]
pub use an386::*;

#[cfg(feature = "lm3s6965")]
mod lm3s6965;
#[cfg(feature = "lm3s6965")]
pub use lm3s6965::*;

/// What the status line shows of the NIC driver's counters, which differ
/// a little between the drivers.
pub struct NicStats {
    pub rx_frames: u64,
    pub tx_frames: u64,
    pub rx_errors: u64,
    pub tx_full: u64,
}
