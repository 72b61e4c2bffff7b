//! The classic TCP greeting client: connect to port 1234, read what the
//! server says until it closes, print it.
//!
//! Run it with `cargo run --example greeting_client`. This program runs on
//! host 192.168.69.2 of layernet's simulated Ethernet segment; a background
//! greeting server listens on 192.168.69.1:1234. It prints the greeting
//! (`connect successfully!`) and the server's log, and exits with code 0 if
//! the greeting is the one the server sends.

use std::error::Error;

use layernet::app::greeting::{DEFAULT_GREETING, GreetingServer};
use layernet::app::ports;
use layernet::host::blocking::Net;
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::{Duration, IpAddress, IpEndpoint};

fn main() -> Result<(), Box<dyn Error>> {
    let mut sim = SimNet::new(1, Faults::NONE);
    let (server, client) = (sim.add_host()?, sim.add_host()?);
    let greeter =
        GreetingServer::<4>::bind(sim.stack(server), ports::GREETING, 5, DEFAULT_GREETING)?;
    sim.serve(server, Box::new(greeter));
    let net = Net::new(sim);

    // s = socket(AF_INET, SOCK_STREAM); s.connect((host, 1234))
    let addr = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::GREETING);
    let mut s = net
        .host(client)
        .tcp_connect(addr, Some(Duration::from_secs(5)))?;
    s.set_timeout(Some(Duration::from_secs(5)));
    // msg = s.recv(1024): one recv may return only part of it, so read
    // until recv returns 0 (the server closed: end of file)
    let mut msg = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = s.recv(&mut buf)?;
        if n == 0 {
            break;
        }
        msg.extend_from_slice(&buf[..n]);
    }
    // s.close()
    s.close();
    // print(msg.decode('utf-8'))
    println!("{}", String::from_utf8_lossy(&msg).trim_end());

    net.with(|sim| sim.drain_logs(&mut |_, line| println!("server log: {line}")));
    if msg != DEFAULT_GREETING {
        return Err(format!("unexpected greeting {:?}", String::from_utf8_lossy(&msg)).into());
    }
    Ok(())
}
