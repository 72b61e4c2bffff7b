//! The classic TCP greeting server (port 1234): accept a client, send it
//! `connect successfully!`, close, and wait for the next one.
//!
//! Run it with `cargo run --example greeting_server`. The server is this
//! program, on host 192.168.69.1 of layernet's simulated Ethernet segment;
//! two background greeting clients on 192.168.69.2 connect at once. It
//! prints `Connected by <addr>` per client and ends when no client came for
//! 5 s (virtual time): exit code 0 if both were greeted.

use std::error::Error;

use layernet::app::greeting::{DEFAULT_GREETING, GreetingClient};
use layernet::app::ports;
use layernet::host::blocking::Net;
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::socket;
use layernet::{Duration, IpAddress, IpEndpoint};

const CLIENTS: usize = 2;

fn main() -> Result<(), Box<dyn Error>> {
    let mut sim = SimNet::new(1, Faults::NONE);
    let (server, client) = (sim.add_host()?, sim.add_host()?);
    let addr = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::GREETING);
    for _ in 0..CLIENTS {
        sim.serve(client, Box::new(GreetingClient::<256>::new(addr)));
    }
    let net = Net::new(sim);

    // serversocket = socket(AF_INET, SOCK_STREAM)
    // serversocket.bind((host, 1234)); serversocket.listen(5)
    let mut serversocket = net.host(server).tcp_listen(ports::GREETING, 5)?;
    // serversocket.settimeout(5): so that the program ends when nobody comes
    serversocket.set_timeout(Some(Duration::from_secs(5)));
    let mut served = 0;
    loop {
        // clientsocket, addr = serversocket.accept()
        let (mut clientsocket, addr) = match serversocket.accept() {
            Ok(accepted) => accepted,
            Err(socket::Error::TimedOut) => break,
            Err(e) => return Err(e.into()),
        };
        // print("connection address: %s" % str(addr))
        println!("Connected by {addr}");
        // clientsocket.send(msg.encode('utf-8')): sendall, so that none is lost
        clientsocket.set_timeout(Some(Duration::from_secs(5)));
        clientsocket.sendall(DEFAULT_GREETING)?;
        // clientsocket.close(): graceful, the greeting goes out before the FIN
        clientsocket.close();
        served += 1;
    }
    println!("no client for 5 s: greeted {served} clients");
    if served != CLIENTS {
        return Err(format!("expected {CLIENTS} clients, greeted {served}").into());
    }
    Ok(())
}
