//! The classic UDP chat (port 6868): each peer binds port 6868, sends with
//! `sendto` and receives with `recvfrom`.
//!
//! Run it with `cargo run --example udp_chat`. On layernet's simulated
//! Ethernet segment a background chat room on 192.168.69.1:6868 relays each
//! message, as `[sender-ip:port] text`, to the other peers; this program is
//! two peers, A on 192.168.69.2 and B on 192.168.69.3. A says hello, B
//! says hi, A reads B's message and answers, B reads the answer. It prints
//! what each peer receives (`... from 192.168.69.1:6868: [192.168.69.3:6868]
//! hi, this is B`) and the room's log, and exits with code 0 if both
//! messages arrived intact.
//!
//! The classic peer sits in `input()` and cannot receive meanwhile; here a
//! datagram waits in the socket's buffer until its peer calls `recv_from`,
//! and every `recv_from` has a timeout, so no peer misses a message or hangs.

use std::error::Error;

use layernet::app::chat::ChatRoom;
use layernet::app::ports;
use layernet::host::blocking::{Net, UdpSocket};
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::{Duration, IpAddress, IpEndpoint};

fn main() -> Result<(), Box<dyn Error>> {
    let mut sim = SimNet::new(1, Faults::NONE);
    let (room_host, a_host, b_host) = (sim.add_host()?, sim.add_host()?, sim.add_host()?);
    let room = ChatRoom::<8>::bind(sim.stack(room_host), ports::CHAT)?;
    sim.serve(room_host, Box::new(room));
    let net = Net::new(sim);
    let room = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::CHAT);

    // udp_socket = socket(AF_INET, SOCK_DGRAM); udp_socket.bind(("", 6868))
    let mut a = net.host(a_host).udp_bind(ports::CHAT)?;
    let mut b = net.host(b_host).udp_bind(ports::CHAT)?;
    a.set_timeout(Some(Duration::from_secs(2)));
    b.set_timeout(Some(Duration::from_secs(2)));

    // send_msg: udp_socket.sendto(send_content.encode("utf-8"), (ip, port))
    a.send_to(b"hello", room)?;
    let pause = |ms| net.with(|sim| sim.run_for(Duration::from_millis(ms)));
    pause(10); // "hello" reaches the room, which now knows A
    b.send_to(b"hi, this is B", room)?;
    pause(1000); // A is busy for a second: the relay waits in A's socket
    expect("A", &mut a, "[192.168.69.3:6868] hi, this is B")?;
    a.send_to(b"hi B, A here", room)?; // A answers: relayed to B
    expect("B", &mut b, "[192.168.69.2:6868] hi B, A here")?;

    // udp_socket.close()
    a.close();
    b.close();
    net.with(|sim| sim.drain_logs(&mut |_, line| println!("room log: {line}")));
    Ok(())
}

/// recv_msg: recv_data = udp_socket.recvfrom(1024); print it; check it.
fn expect(who: &str, peer: &mut UdpSocket<SimNet>, want: &str) -> Result<(), Box<dyn Error>> {
    let mut buf = [0u8; 1024];
    let (n, from) = peer.recv_from(&mut buf)?;
    let text = String::from_utf8_lossy(&buf[..n]);
    println!("{who} got from {from}: {text}");
    if text != want {
        return Err(format!("{who} expected {want:?}").into());
    }
    Ok(())
}
