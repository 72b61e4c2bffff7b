//! The classic TCP echo server (port 7, RFC 862): listen, then serve one
//! client after another, sending back every byte until the client closes.
//!
//! Run it with `cargo run --example tcp_echo_server`. The server is this
//! program, on host 192.168.69.1 of layernet's simulated Ethernet segment;
//! three background echo clients on 192.168.69.2 connect at once and wait in
//! the listen backlog for their turn. It prints `Connected by <addr>` and the
//! bytes echoed for each client, and ends when no client came for 5 s
//! (virtual time): exit code 0 if all three were served.

use std::error::Error;

use layernet::app::echo::EchoClient;
use layernet::app::ports;
use layernet::host::blocking::Net;
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::socket;
use layernet::{Duration, IpAddress, IpEndpoint};

const MESSAGES: [&[u8]; 3] = [b"Hello, world", b"echo, echo, echo", b"bye"];

fn main() -> Result<(), Box<dyn Error>> {
    let mut sim = SimNet::new(1, Faults::NONE);
    let (server, client) = (sim.add_host()?, sim.add_host()?);
    let addr = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::ECHO);
    for msg in MESSAGES {
        sim.serve(client, Box::new(EchoClient::<64>::new(addr, msg)));
    }
    let net = Net::new(sim);

    // s = socket(AF_INET, SOCK_STREAM); s.bind(('', 7)); s.listen(5)
    let mut s = net.host(server).tcp_listen(ports::ECHO, 5)?;
    // s.settimeout(5): so that the program ends once the clients are done
    s.set_timeout(Some(Duration::from_secs(5)));
    let (mut served, mut total) = (0, 0);
    loop {
        // conn, addr = s.accept()
        let (mut conn, addr) = match s.accept() {
            Ok(accepted) => accepted,
            Err(socket::Error::TimedOut) => break,
            Err(e) => return Err(e.into()),
        };
        // print('Connected by', addr)
        println!("Connected by {addr}");
        conn.set_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 1024];
        let mut echoed = 0;
        loop {
            // data = conn.recv(1024); if not data: break
            let n = conn.recv(&mut buf)?;
            if n == 0 {
                break;
            }
            // conn.sendall(data)
            conn.sendall(&buf[..n])?;
            echoed += n;
        }
        // conn.close()
        conn.close();
        println!("  echoed {echoed} bytes to {addr}, closed");
        served += 1;
        total += echoed;
    }
    println!("no client for 5 s: served {served} clients, {total} bytes");
    let expected: usize = MESSAGES.iter().map(|m| m.len()).sum();
    if served != MESSAGES.len() || total != expected {
        return Err(format!("expected {} clients and {expected} bytes", MESSAGES.len()).into());
    }
    Ok(())
}
