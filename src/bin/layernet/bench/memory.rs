//! The memory table: `size_of` of the stack, its per-socket parts, each
//! application and the buffers, for the tiny and the host profile.
//!
//! Layer: the command-line binary (std). Names the library's types of
//! every layer, and uses none of them at run time.

use smoltcp::iface::SocketStorage;
use smoltcp::socket::tcp;

use layernet::app::greeting::GreetingServer;
use layernet::net::Stack;

use super::Figure;

/// The memory table: `size_of` of each component for the tiny and the host
/// profile, in bytes.
pub(super) fn memory() -> Vec<Figure> {
    use core::mem::size_of;
    use layernet::app::chat::ChatRoom;
    use layernet::app::echo::EchoServer;
    use layernet::app::time_echo::TimeEchoServer;
    use layernet::board::Uptime;
    use layernet::host::local_clock::LocalClock;
    use layernet::host::sim::SimStack;
    use layernet::net::profile::{Host, Tiny};

    // The tiny profile's applications, as the firmware's tiny build sizes
    // them (no log lines kept), and its stack with the 596-byte-frame driver.
    type TinyNic = layernet::link::lan9118::Lan9118<layernet::link::lan9118::Mmio, 596>;
    let tiny = [
        ("resources", size_of::<Tiny>()),
        ("tcp-socket-buffers", size_of::<[[u8; 256]; 2]>()),
        ("echo", size_of::<EchoServer<2, 256, 0>>()),
        ("greeting", size_of::<GreetingServer<2, 0>>()),
        ("time-echo", size_of::<TimeEchoServer<Uptime, 2, 128, 0>>()),
        ("chat", size_of::<ChatRoom<4, 0>>()),
        (
            "stack-with-lan9118",
            size_of::<Stack<'static>>() + size_of::<TinyNic>(),
        ),
    ];
    // The host profile's, as `layernet serve` sizes them.
    let host = [
        ("resources", size_of::<Host>()),
        ("tcp-socket-buffers", size_of::<[[u8; 8192]; 2]>()),
        ("echo", size_of::<EchoServer<8>>()),
        ("greeting", size_of::<GreetingServer<8>>()),
        ("time-echo", size_of::<TimeEchoServer<LocalClock, 8>>()),
        ("chat", size_of::<ChatRoom<8>>()),
        ("files", size_of::<layernet::host::ServedFiles>()),
    ];
    let shared = [
        ("stack-on-sim-port", size_of::<SimStack>()),
        ("sim-port", size_of::<layernet::host::sim::SimPort>()),
        ("tcp-entry", size_of::<layernet::net::TcpEntry>()),
        ("udp-entry", size_of::<layernet::net::UdpEntry>()),
        ("smoltcp-tcp-socket", size_of::<tcp::Socket>()),
        ("socket-storage", size_of::<SocketStorage>()),
    ];
    let mut figures = Vec::new();
    let mut add = |prefix: &str, rows: &[(&str, usize)]| {
        for (name, bytes) in rows {
            figures.push(Figure::alone(
                &format!("mem.{prefix}.{name}"),
                *bytes as f64,
                "B",
            ));
        }
    };
    add("tiny", &tiny);
    let sum = |leave_out: &[&str]| -> usize {
        tiny.iter()
            .filter(|(n, _)| *n != "tcp-socket-buffers" && !leave_out.contains(n))
            .map(|(_, b)| b)
            .sum()
    };
    add(
        "tiny",
        &[
            ("resources-and-apps", sum(&["stack-with-lan9118"])),
            ("everything", sum(&[])),
        ],
    );
    add("host", &host);
    add("any", &shared);
    figures
}
