//! Host side (feature `std`): the simulated network driver, blocking
//! sockets, the wall clock and the demo.
//!
//! Layer: host, beside the core rather than above it. It may use every
//! layer and `std`; nothing in the core imports it.

pub mod bench;
pub mod blocking;
pub mod clock;
pub mod demo;
pub mod dirstore;
pub mod files;
pub mod memory;
pub mod sim;
pub mod tap;
pub mod trace;
