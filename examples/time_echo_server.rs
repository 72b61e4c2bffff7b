//! The classic time-stamped echo server (port 21566): every chunk a client
//! sends comes back as `[YYYY-MM-DD HH:MM:SS]:<chunk>`.
//!
//! Run it with `cargo run --example time_echo_server`. The server is this
//! program, on host 192.168.69.1 of layernet's simulated Ethernet segment,
//! stamping with the simulation's clock (it starts at 2024-01-01 00:00:00);
//! a background time-echo client on 192.168.69.2 sends three lines, each
//! after the reply to the one before. It prints what it receives and sends,
//! and ends when no client came for 5 s (virtual time): exit code 0 if
//! every line was answered.
//!
//! Like the classic, this answers per `recv()`'d chunk; the client sends its
//! lines without a newline and one at a time, so a chunk is a line. The
//! server that frames lines itself is `layernet::app::time_echo::TimeEchoServer`.

use std::error::Error;

use layernet::app::clock::{FixedEpoch, WallClock};
use layernet::app::ports;
use layernet::app::time_echo::TimeEchoClient;
use layernet::host::blocking::Net;
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::socket;
use layernet::{Duration, IpAddress, IpEndpoint};

const LINES: [&[u8]; 3] = [b"hello", b"what time is it?", b"bye"];

fn main() -> Result<(), Box<dyn Error>> {
    let mut sim = SimNet::new(1, Faults::NONE);
    let (server, client) = (sim.add_host()?, sim.add_host()?);
    let addr = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::TIME_ECHO);
    sim.serve(
        client,
        Box::new(TimeEchoClient::<4, 128>::new(addr, &LINES)),
    );
    let net = Net::new(sim);
    let mut clock = FixedEpoch::SIMULATION;

    // tcpS = socket(AF_INET, SOCK_STREAM); tcpS.bind(ADDR); tcpS.listen(10)
    let mut tcp_s = net.host(server).tcp_listen(ports::TIME_ECHO, 10)?;
    tcp_s.set_timeout(Some(Duration::from_secs(5)));
    let mut received: Vec<Vec<u8>> = Vec::new();
    loop {
        // conn, addr = tcpS.accept()
        let (mut conn, addr) = match tcp_s.accept() {
            Ok(accepted) => accepted,
            Err(socket::Error::TimedOut) => break,
            Err(e) => return Err(e.into()),
        };
        println!("Connected by {addr}");
        conn.set_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 1024];
        loop {
            // data = conn.recv(BUFSIZ), and on an exception: client gone
            let n = match conn.recv(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    println!("client {addr} disconnected: {e}");
                    break;
                }
            };
            // if not data: break
            if n == 0 {
                break;
            }
            let data = &buf[..n];
            println!("client sent: {}", String::from_utf8_lossy(data));
            // msg1 = '[%s]:%s' % (time.strftime("%Y-%m-%d %X"), data)
            let mut msg = format!("[{}]:", clock.datetime(net.now())).into_bytes();
            msg.extend_from_slice(data);
            // conn.send(msg1): sendall, so that none of it is lost
            conn.sendall(&msg)?;
            println!("replied:     {}", String::from_utf8_lossy(&msg));
            received.push(data.to_vec());
        }
        // conn.close()
        conn.close();
    }
    println!("no client for 5 s: answered {} lines", received.len());
    // The client sends a line only after checking the reply to the one before.
    if received != LINES {
        return Err(format!("expected the client's {} lines in order", LINES.len()).into());
    }
    Ok(())
}
