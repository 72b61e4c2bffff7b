//! Link layer: smoltcp `phy::Device` adapters.
//!
//! Layer: link, the bottom one. It may depend on smoltcp's `phy`, `time` and
//! `wire` modules and on nothing else of layernet; it knows nothing of
//! sockets or applications.
//!
//! Every device here also implements [`Link`], which lets the network layer
//! look at the next received frame before smoltcp consumes it (the SYN gate
//! in [`crate::net`] needs that) without copying it a second time.

pub mod rng;
pub mod sim;
#[cfg(feature = "std")]
pub mod tap;

use smoltcp::phy::Device;
use smoltcp::time::Instant;

/// A device whose next received frame can be inspected before it is consumed.
///
/// smoltcp's `RxToken` hands a frame out exactly once, to a closure; a gate
/// that wants to say "drop this one" before the interface sees it needs a
/// look first. Devices that already hold the frame in a buffer (a queue, a
/// TAP read buffer, a NIC FIFO copied out) can offer that look for free.
pub trait Link: Device {
    /// The frame that the next `receive` at `now` would hand out, if any.
    fn peek(&mut self, now: Instant) -> Option<&[u8]>;
    /// Throw away the frame that [`Link::peek`] showed (no-op if none).
    fn discard(&mut self, now: Instant);
}
