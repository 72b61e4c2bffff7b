//! Each resource profile's static RAM, known at compile time: printed (run
//! with `--nocapture`) and held to its budget.

use layernet::link::lan9118::{Lan9118, Mmio};
use layernet::net::{Stack, profile};

#[test]
fn profile_sizes() {
    let rows = [
        ("tiny", size_of::<profile::Tiny>(), 16 * 1024),
        ("board", size_of::<profile::Board>(), 32 * 1024),
        // The AN386's board build: the board profile and iperf3's sockets.
        ("board+iperf3", size_of::<profile::BoardIperf3>(), 48 * 1024),
        // The board profile with DHCP and DNS: two socket slots, and the
        // DNS query table the caller lends beside it.
        (
            "board+names",
            size_of::<profile::BoardNames>() + names_table(),
            32 * 1024,
        ),
        ("host", size_of::<profile::Host>(), 512 * 1024),
    ];
    for (name, bytes, budget) in rows {
        println!(
            "profile {name:<12} resources: {bytes:>6} bytes ({:.1} KiB)",
            bytes as f64 / 1024.0
        );
        assert!(bytes < budget, "{name}: {bytes} bytes, budget {budget}");
    }
    println!(
        "BoardNames {} + DnsStorage {} bytes",
        size_of::<profile::BoardNames>(),
        names_table()
    );
    // Beside the resources a board keeps the stack itself (smoltcp's
    // interface, the pool's book-keeping) and its driver beside it.
    let stack = size_of::<Stack<'static>>();
    println!(
        "Stack + Lan9118: {:>6} bytes, of which the driver {}",
        stack + size_of::<Lan9118<Mmio>>(),
        size_of::<Lan9118<Mmio>>()
    );
    // The tiny firmware's driver keeps 596-byte frames instead of 1536.
    println!(
        "Stack + Lan9118<_, 596>: {:>6} bytes, of which the driver {}",
        stack + size_of::<Lan9118<Mmio, 596>>(),
        size_of::<Lan9118<Mmio, 596>>()
    );
}

/// The DNS query table's size (none without the `names` feature).
fn names_table() -> usize {
    #[cfg(feature = "names")]
    return size_of::<layernet::net::DnsStorage>();
    #[cfg(not(feature = "names"))]
    0
}
