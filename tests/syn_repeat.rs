//! A SYN repeated for a connection the stack already holds (the client's
//! retransmission, or a duplicate on the wire) must not open a second
//! connection with the same four numbers: smoltcp hands a segment to the
//! first socket that accepts it, and a socket in LISTEN accepts any SYN for
//! its port. The gate drops it, as the connection's own socket would.

mod common;

use common::{ipv4_tcp_frame, segment};
use layernet::host::sim::{SimNet, host_ip, host_mac};
use layernet::socket::TcpListener;
use layernet::{Duration, EthernetAddress, Ipv4Address};
use smoltcp::phy::{Device, TxToken};
use smoltcp::wire::{TcpControl, TcpRepr};

const PROBE_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x66]);
const PROBE_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 66);

/// A SYN from the probe's port 40000 to the server's port 80.
fn syn() -> Vec<u8> {
    let tcp = TcpRepr {
        window_len: 8192,
        max_seg_size: Some(1460),
        ..segment((40000, 80), TcpControl::Syn, 1000, &[])
    };
    ipv4_tcp_frame(
        (PROBE_MAC, PROBE_IP),
        (host_mac(0), host_ip(0).address()),
        &tcp,
    )
}

#[test]
fn a_repeated_syn_opens_no_second_connection() -> Result<(), Box<dyn std::error::Error>> {
    let (mut net, a, _) = SimNet::pair(5)?;
    let _listener = TcpListener::bind(net.stack(a), 80, 8)?;
    let mut probe = net.raw_port(3, PROBE_MAC).ok_or("port 3 taken")?;
    net.run_for(Duration::from_millis(5));
    let free = net.stack(a).free_tcp_sockets();
    let frame = syn();
    let repeats = 6;
    for _ in 0..=repeats {
        let now = net.now();
        probe
            .transmit(now)
            .ok_or("probe cannot send")?
            .consume(frame.len(), |f| f.copy_from_slice(&frame));
        net.run_for(Duration::from_millis(5));
    }
    let counters = net.stack(a).counters();
    println!(
        "{} SYNs for one connection: {} dropped as repeats, {} free sockets of {free} before",
        repeats + 1,
        counters.syn_dropped_repeat,
        net.stack(a).free_tcp_sockets()
    );
    assert_eq!(counters.syn_dropped_repeat, repeats);
    assert_eq!(
        net.stack(a).free_tcp_sockets(),
        free - 1,
        "one connection in the handshake, the listener's LISTEN sockets re-armed from the pool"
    );
    Ok(())
}
