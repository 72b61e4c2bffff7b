//! listen(backlog): backlog + 2 clients at once. The first `backlog` are
//! served at once, the other two once a slot frees, none is lost, no RST
//! goes out, and the gate dropped their first SYNs.

use layernet::app::echo::{EchoClient, EchoServer};
use layernet::app::{Outcome, Service, ports};
use layernet::host::sim::{HostId, SimNet, SimService};
use layernet::link::sim::Faults;
use layernet::{Duration, Instant, IpAddress, IpEndpoint};

const BACKLOG: usize = 3;

#[test]
fn backlog_plus_two_clients_are_all_served_without_a_reset() {
    let mut net = SimNet::new(3, Faults::NONE);
    for _ in 0..3 {
        net.add_host().unwrap();
    }
    // The server handles BACKLOG connections at a time; BACKLOG sockets listen.
    let server = EchoServer::<BACKLOG>::bind(net.stack(0), ports::ECHO, BACKLOG).unwrap();
    net.serve(0, Box::new(server));
    let to = IpEndpoint::new(IpAddress::Ipv4(net.stack(0).ipv4_addr()), ports::ECHO);
    // Warm the ARP caches so that every client's SYN leaves at the same instant.
    let mut warm = EchoClient::<8>::new(to, b"warm");
    assert!(net.run_client(1, &mut warm, Duration::from_secs(5)));
    assert!(net.run_client(
        2,
        &mut EchoClient::<8>::new(to, b"warm"),
        Duration::from_secs(5)
    ));
    net.run_for(Duration::from_secs(1));

    let before = net.segment().census();
    let dropped_before = net.stack(0).counters().syn_dropped_busy;
    let start = net.now();
    let messages: Vec<Vec<u8>> = (0..BACKLOG + 2)
        .map(|i| vec![b'A' + i as u8; 500])
        .collect();
    let mut clients: Vec<EchoClient<500>> =
        messages.iter().map(|m| EchoClient::new(to, m)).collect();
    let mut done_at: Vec<Option<Instant>> = vec![None; clients.len()];
    for _ in 0..10_000 {
        {
            let mut extra: Vec<(HostId, &mut SimService)> = clients
                .iter_mut()
                .enumerate()
                .map(|(i, c)| (1 + i % 2, c as &mut SimService))
                .collect();
            net.run_until(Duration::from_millis(5), &mut extra, |_| false);
        }
        for (i, c) in clients.iter().enumerate() {
            if done_at[i].is_none() && Service::<layernet::host::sim::SimPort>::is_done(c) {
                done_at[i] = Some(net.now());
            }
        }
        if done_at.iter().all(Option::is_some) || net.now() - start > Duration::from_secs(120) {
            break;
        }
    }
    net.run_for(Duration::from_secs(2));

    let mut times: Vec<i64> = done_at
        .iter()
        .map(|t| t.map_or(-1, |t| (t - start).total_millis() as i64))
        .collect();
    println!("clients done after (ms virtual): {times:?}");
    for (c, m) in clients.iter().zip(&messages) {
        assert_eq!(c.outcome(), Outcome::Done, "a client was lost");
        assert_eq!(c.received(), m.as_slice());
    }
    times.sort();
    let census = net.segment().census().since(&before);
    let dropped = net.stack(0).counters().syn_dropped_busy - dropped_before;
    println!(
        "SYNs sent {}, dropped by the gate {dropped}, RSTs {}",
        census.tcp_syn, census.tcp_rst
    );
    assert_eq!(census.tcp_rst, 0, "no RST went out");
    assert!(
        dropped >= 2,
        "the gate dropped the SYNs that found no free slot: {dropped}"
    );
    assert!(
        census.tcp_syn >= (BACKLOG + 2 + 2) as u64,
        "the dropped SYNs were retransmitted"
    );
    // The first BACKLOG were served at once; the last two only after a SYN
    // retransmission (smoltcp's first RTO is about a second).
    assert!(
        times[BACKLOG - 1] < 200,
        "first {BACKLOG} served at once: {times:?}"
    );
    assert!(
        times[BACKLOG] >= 500,
        "the others waited for a free slot: {times:?}"
    );
}

#[test]
fn a_syn_for_a_closed_port_is_still_reset() {
    let mut net = SimNet::new(3, Faults::NONE);
    net.add_host().unwrap();
    net.add_host().unwrap();
    let to = IpEndpoint::new(IpAddress::Ipv4(net.stack(0).ipv4_addr()), 4444);
    let mut c = EchoClient::<8>::new(to, b"x");
    assert!(net.run_client(1, &mut c, Duration::from_secs(10)));
    assert_eq!(
        c.outcome(),
        Outcome::Failed(layernet::socket::Error::Refused)
    );
    assert_eq!(net.segment().census().tcp_rst, 1);
    assert_eq!(net.stack(0).counters().syn_dropped_busy, 0);
}
