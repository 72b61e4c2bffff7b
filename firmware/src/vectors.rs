//! The device part of the vector table: one entry per interrupt line of
//! the board's NVIC (`board::IRQ_LINES`), each `DefaultHandler` (see
//! [`crate::clock`]), placed by cortex-m-rt after the 16 core exceptions.
//!
//! Without a device crate cortex-m-rt lays out 240 lines (960 bytes); the
//! boards have far fewer (QEMU models 32 on the AN386 and 64 on the
//! LM3S6965), and a smaller table is flash the tiny build needs
//! (docs/performance.md). A line beyond the table cannot be taken:
//! `clock` checks at compile time that the NIC's line is inside it.

use crate::board;

// cortex-m-rt's `#[exception] fn DefaultHandler` (in `clock`) exports this
// symbol; only its address is taken here.
#[allow(unsafe_code)]
unsafe extern "C" {
    fn DefaultHandler();
}

/// The vector table's device entries, where cortex-m-rt's linker script
/// puts `.vector_table.interrupts` (right after the core exceptions).
// Safety of the attributes: the name and section are the ones cortex-m-rt's
// `device` feature asks for, and no other item in the program defines them
// (no device crate is linked).
#[allow(unsafe_code)]
#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
static __INTERRUPTS: [unsafe extern "C" fn(); board::IRQ_LINES] =
    [DefaultHandler; board::IRQ_LINES];
