//! The classic time-stamped echo client: connect to port 21566, send each
//! line typed, print the server's `[YYYY-MM-DD HH:MM:SS]:<line>` reply; an
//! empty line quits.
//!
//! Run it with `cargo run --example time_echo_client` (or give the lines:
//! `cargo run --example time_echo_client -- "one" "two" "" "not sent"`).
//! This program runs on host 192.168.69.2 of layernet's simulated Ethernet
//! segment; a background time-echo server listens on 192.168.69.1:21566 with
//! the simulation's clock (it starts at 2024-01-01 00:00:00). It prints each
//! reply and exits with code 0 if every reply had the right shape.

use std::error::Error;
use std::io::Read;

use layernet::app::clock::FixedEpoch;
use layernet::app::ports;
use layernet::app::time_echo::{PREFIX_LEN, TimeEchoServer, is_reply_to};
use layernet::host::blocking::Net;
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::{Duration, IpAddress, IpEndpoint};

/// The server's line buffer: a longer line would be answered in pieces.
const LINE: usize = 256;

fn main() -> Result<(), Box<dyn Error>> {
    let mut lines: Vec<String> = std::env::args().skip(1).collect();
    if lines.is_empty() {
        lines = vec!["hello".into(), "what time is it?".into(), String::new()];
    }
    let mut sim = SimNet::new(1, Faults::NONE);
    let (server, client) = (sim.add_host()?, sim.add_host()?);
    let clock = FixedEpoch::SIMULATION;
    let stamper =
        TimeEchoServer::<_, 4, LINE>::bind(sim.stack(server), ports::TIME_ECHO, 5, clock)?;
    sim.serve(server, Box::new(stamper));
    let net = Net::new(sim);

    // tcpCliSock = socket(AF_INET, SOCK_STREAM); tcpCliSock.connect(ADDR)
    let addr = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::TIME_ECHO);
    let mut tcp_cli_sock = net
        .host(client)
        .tcp_connect(addr, Some(Duration::from_secs(5)))?;
    tcp_cli_sock.set_timeout(Some(Duration::from_secs(5)));
    for line in &lines {
        // data = input('>>').strip(); if not data: break
        let data = line.trim();
        println!(">>{data}");
        if data.is_empty() {
            break;
        }
        if data.len() >= LINE || data.contains('\n') {
            return Err(format!("one line of fewer than {LINE} bytes, please").into());
        }
        // tcpCliSock.send(data): no newline, so the server answers it after
        // 100 ms without more data, and without a newline
        tcp_cli_sock.sendall(data.as_bytes())?;
        // data = tcpCliSock.recv(BUFSIZ): read until the whole reply is in
        let mut reply = vec![0u8; PREFIX_LEN + data.len()];
        tcp_cli_sock.read_exact(&mut reply)?;
        // print(data.decode('utf-8'))
        println!("{}", String::from_utf8_lossy(&reply));
        if !is_reply_to(&reply, data.as_bytes(), false) {
            return Err("the reply is not [YYYY-MM-DD HH:MM:SS]:<line>".into());
        }
    }
    // tcpCliSock.close()
    tcp_cli_sock.close();
    Ok(())
}
