//! How deep the call stack went: the free RAM between the statics and the
//! stack pointer is painted with a pattern at boot, and the deepest word
//! no longer holding it marks the high-water line.
//!
//! cortex-m-rt puts the stack at the top of RAM (`_stack_start`) growing
//! down towards the end of the statics (`_stack_end`); everything between
//! is the stack's reserve.

use core::ptr::addr_of;

const PAINT: u32 = 0xDEAD_BEEF;
/// Words left unpainted just below the stack pointer at the time of
/// painting: the frame of `paint` itself and its caller's.
const MARGIN_WORDS: usize = 64;

// Symbols of cortex-m-rt's linker script: only their addresses are used.
#[allow(unsafe_code)]
unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

fn bounds() -> (usize, usize) {
    (
        addr_of!(_stack_start) as usize,
        addr_of!(_stack_end) as usize,
    )
}

/// Bytes the stack may grow to: from the top of RAM to the end of the statics.
pub fn reserve() -> usize {
    let (top, bottom) = bounds();
    top - bottom
}

/// Fill the unused part of the stack's reserve with the pattern.
#[allow(unsafe_code)]
pub fn paint() {
    let (_, bottom) = bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let end = sp - MARGIN_WORDS * 4;
    let mut p = bottom;
    while p < end {
        // Safety: [bottom, sp - margin) is RAM that belongs to nobody yet:
        // above the statics, below every live stack frame.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// The deepest the stack has reached so far, in bytes from its top.
#[allow(unsafe_code)]
pub fn used() -> usize {
    let (top, bottom) = bounds();
    let mut p = bottom;
    while p < top {
        // Safety: reads of RAM inside the stack's reserve, word-aligned.
        if unsafe { core::ptr::read_volatile(p as *const u32) } != PAINT {
            break;
        }
        p += 4;
    }
    top - p
}
