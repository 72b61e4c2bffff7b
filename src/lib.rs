//! # layernet
//!
//! A userspace TCP/IP toolkit on [smoltcp]: the classic socket programs of
//! network-programming courses (UDP chat, TCP echo, time-stamped echo,
//! greeting, a file service) rebuilt on a stack that owns its own MAC and IP
//! address, with fixed buffers, no heap in the core, and every layer in view.
//!
//! # The layers, top-down
//!
//! Each layer uses only the ones below it. The core ([`run`], [`app`], [`socket`],
//! [`net`], [`link`]) is `no_std` and needs no allocator; time, memory and
//! randomness come from outside: every `poll` takes `now`, every socket
//! buffer is lent by the caller through [`net::Resources`], and every seed
//! is a [`net::Config`] field.
//!
//! ## The run loop: [`run`]
//!
//! One loop for every host: [`run::turn`] polls a stack, then its
//! services; [`run::settle`] turns until nothing moves; [`run::wake_at`]
//! says when to come back (the stack's timers, a frame the link holds back,
//! the services' deadlines). The simulated network, the TAP host and the
//! firmware drive it and differ only in how they sleep.
//!
//! ## Applications: [`app`]
//!
//! The classic programs as poll-driven state machines, each an
//! [`app::Service`]: [`app::echo::EchoServer`], [`app::greeting`],
//! [`app::time_echo`], the UDP [`app::chat`], [`app::ping`] and the HTTP/1.1
//! [`app::files`] service over a [`app::storage::Storage`]. A service serves
//! a fixed number of connections with fixed buffers; one
//! [`poll`](app::Service::poll) does what can be done now and never blocks.
//!
//! ## Sockets: [`socket`]
//!
//! Berkeley/Python-style sockets. [`socket::TcpListener::bind`] is `bind`
//! and `listen(backlog)` in one, then [`accept`](socket::TcpListener::accept);
//! [`socket::TcpStream::connect`], [`send`](socket::TcpStream::send),
//! [`recv`](socket::TcpStream::recv), [`shutdown`](socket::TcpStream::shutdown)
//! and [`close`](socket::TcpStream::close); [`socket::UdpSocket`] with
//! `send_to`/`recv_from`; one [`socket::Error`]. A socket is a small value
//! naming a slot in the stack's pool: every call borrows the stack and
//! returns [`socket::Error::WouldBlock`] instead of waiting.
//! [`socket::io::StreamIo`] makes a connected stream an `embedded_io`
//! reader and writer.
//!
//! ## The stack: [`net`]
//!
//! A [`net::Stack`] owns smoltcp's interface (ARP, IPv4, ICMP echo) and the
//! socket storage lent to it as [`net::Resources`] (counts and buffer sizes
//! as const generics; [`net::profile`] has a board-sized and a host-sized
//! set); the device is lent to each poll. [`net::Stack::poll`] feeds smoltcp one frame at a
//! time through the SYN [`net::gate`], which drops, rather than resets, a
//! connection request for a listener whose backlog is full.
//!
//! ## The link: [`link`]
//!
//! smoltcp `phy::Device` adapters that also implement [`link::Link`] (a look
//! at the next frame before smoltcp takes it): the simulated Ethernet
//! segment [`link::segment::Segment`], with seeded loss, corruption,
//! duplication, reordering and delay, and on the host a Linux TAP device.
//!
#![cfg_attr(
    feature = "std",
    doc = r#"## The host: [`host`] (feature `std`)

Beside the core rather than above it, and imported by none of it:
[`host::sim::SimNet`] runs several stacks and their services on one
segment on a virtual clock (exactly repeatable from a seed),
[`host::blocking`] has Python-shaped blocking sockets with timeouts and
`std::io::Read`/`Write`, [`host::tap_net`] drives a stack over a TAP device on
the wall clock, and [`host::file_client`] and [`host::demo`] serve the CLI.

# An echo server and its client

The application layer's [`app::echo::EchoServer`] runs as a service on
host 0 of a simulated segment; a blocking client on host 1 writes to it
through `std::io`, and the network runs (on its virtual clock) while the
client waits:

```
use std::io::{Read, Write};
use layernet::app::echo::EchoServer;
use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};

let (mut sim, server, client) = SimNet::pair(7)?;
let echo = EchoServer::<4>::bind(sim.stack(server), 7, 4)?;
sim.serve(server, Box::new(echo));
let net = Net::new(sim);
let mut stream = net.host(client).tcp_connect(endpoint(server, 7), None)?;
stream.write_all(b"through every layer")?;
let mut back = [0u8; 19];
stream.read_exact(&mut back)?;
assert_eq!(&back, b"through every layer");
let wire = net.with(|sim| sim.segment().census());
assert_eq!((wire.arp_requests, wire.tcp_syn), (1, 1));
# Ok::<(), Box<dyn std::error::Error>>(())
```

# The socket table

[`socket_table`] takes the Python socket object's methods one by one
(`bind`, `listen`, `accept`, `connect`, `recv`, `send`, `setsockopt`,
`fileno`, `makefile`, ...): what layernet calls each, what smoltcp does
underneath, what goes on the wire, and where a fixed-memory stack differs.
"#
)]
#![cfg_attr(
    not(feature = "std"),
    doc = r#"## The host (feature `std`)

Built with the `std` feature, `layernet::host` adds the simulated network on
a virtual clock, Python-shaped blocking sockets with `std::io`, the TAP
driver and the CLI, with a runnable echo example and the Python socket
table (`docs/socket-api.md`) in this documentation.
"#
)]
#![cfg_attr(not(feature = "std"), no_std)]
// Examples teach: one that drops a socket unused would teach a leak.
#![doc(test(attr(deny(unused_must_use))))]
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod board;
pub mod link;
pub mod net;
pub mod run;
pub mod socket;
pub mod trace;

#[cfg(feature = "std")]
pub mod host;

// Documentation only, no items: docs/socket-api.md in the rendered docs,
// and its examples among the doc tests (they need the simulated network,
// hence `std`).
#[cfg(feature = "std")]
#[doc = include_str!("../docs/socket-api.md")]
pub mod socket_table {}

/// Re-exported so that callers name smoltcp's time and address types
/// without depending on smoltcp themselves.
pub use smoltcp::time::{Duration, Instant};
pub use smoltcp::wire::{EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr};
#[cfg(feature = "ipv6")]
pub use smoltcp::wire::{Ipv6Address, Ipv6Cidr};
