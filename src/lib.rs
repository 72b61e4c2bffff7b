//! # layernet
//!
//! A userspace TCP/IP toolkit on [smoltcp]: the classic socket programs of
//! network-programming courses (UDP chat, TCP echo, time-stamped echo, greeting)
//! rebuilt on a stack that owns its own MAC and IP address, with fixed buffers,
//! no heap in the core, and every layer in view.
//!
//! The layers, top-down (each may use only the ones below it):
//!
//! - [`app`]: the classic programs as poll-driven state machines.
//! - [`socket`]: a Berkeley/Python-style socket layer (bind, listen with a
//!   backlog, accept, connect, send, recv, sendto, recvfrom, close).
//! - [`net`]: the stack itself: smoltcp's interface (ARP, IPv4, ICMP), the
//!   caller-owned socket storage, the device, and the SYN gate that turns a
//!   full backlog into silence instead of resets.
//! - [`link`]: `phy::Device` adapters: a simulated Ethernet segment with
//!   seeded fault injection.
//! - `host` (feature `std`): the simulated network driver, blocking sockets,
//!   the wall clock, the demo and the CLI. Nothing below imports it.
//!
//! Time, memory and randomness come from outside: every `poll` takes `now`,
//! every socket buffer is lent by the caller through [`net::Resources`], and
//! every seed is a [`net::Config`] field.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod link;
pub mod net;
pub mod socket;

#[cfg(feature = "std")]
pub mod host;

/// docs/socket-api.md, the Python socket table row by row: compiled here so
/// that `cargo test --doc` runs every example in it.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../docs/socket-api.md")]
pub struct SocketApiDoc;

/// Re-exported so that callers name smoltcp's time and address types
/// without depending on smoltcp themselves.
pub use smoltcp::time::{Duration, Instant};
pub use smoltcp::wire::{EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr};
