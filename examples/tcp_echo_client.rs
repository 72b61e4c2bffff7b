//! The classic TCP echo client: connect to the echo server on port 7, send
//! a message, read the same bytes back, print them, close.
//!
//! Run it with `cargo run --example tcp_echo_client` (or add your own
//! messages: `cargo run --example tcp_echo_client -- "one" "two"`). This
//! program runs on host 192.168.69.2 of layernet's simulated Ethernet
//! segment; a background echo server listens on 192.168.69.1:7. It prints
//! `Received <text>` for each message and the server's log, and exits with
//! code 0 if every echo matched.

use std::error::Error;
use std::io::Read;

use layernet::app::echo::EchoServer;
use layernet::app::ports;
use layernet::host::blocking::Net;
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::{Duration, IpAddress, IpEndpoint};

fn main() -> Result<(), Box<dyn Error>> {
    let mut messages: Vec<String> = std::env::args().skip(1).collect();
    if messages.is_empty() {
        messages = vec!["Hello, world".into(), "layernet echoes every byte".into()];
    }
    let mut sim = SimNet::new(1, Faults::NONE);
    let (server, client) = (sim.add_host()?, sim.add_host()?);
    let echo = EchoServer::<4>::bind(sim.stack(server), ports::ECHO, 4)?;
    sim.serve(server, Box::new(echo));
    let net = Net::new(sim);

    // s = socket(AF_INET, SOCK_STREAM); s.connect(('192.168.69.1', 7))
    let addr = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::ECHO);
    let timeout = Some(Duration::from_secs(5));
    let mut s = net.host(client).tcp_connect(addr, timeout)?;
    s.set_timeout(timeout);
    for msg in &messages {
        // s.sendall(msg), then data = s.recv(1024) until all of it is back
        // (a piece at a time, so that a long message cannot fill both ways)
        let mut data = vec![0u8; msg.len()];
        for (out, back) in msg.as_bytes().chunks(1024).zip(data.chunks_mut(1024)) {
            s.sendall(out)?;
            s.read_exact(back)?;
        }
        // print('Received', data)
        println!("Received {}", String::from_utf8_lossy(&data));
        if data != msg.as_bytes() {
            return Err(format!("echo mismatch: sent {msg:?}").into());
        }
    }
    // s.close()
    s.close();

    // Let the server see the close, then show what it logged.
    net.with(|sim| {
        sim.run_for(Duration::from_millis(10));
        sim.drain_logs(&mut |_, line| println!("server log: {line}"));
    });
    Ok(())
}
