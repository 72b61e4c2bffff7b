//! No panic on any frame: random bytes, and valid frames with bytes
//! mutated and their checksums recomputed (so they get past the checksum
//! checks into the deeper parsers), thrown at a stack that is serving. It
//! must still serve afterwards.

use layernet::app::echo::{EchoClient, EchoServer};
use layernet::app::{Outcome, ports};
use layernet::host::sim::{SimNet, host_mac};
use layernet::link::rng::Rng;
use layernet::link::sim::Faults;
use layernet::{Duration, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address};
use smoltcp::phy::{ChecksumCapabilities, Device, TxToken};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol,
    Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};

const ATTACKER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x66]);
const ATTACKER_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 66);
const VICTIM_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);

fn ipv4_frame(
    proto: IpProtocol,
    payload_len: usize,
    emit: impl FnOnce(&mut [u8], &Ipv4Repr),
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: ATTACKER_IP,
        dst_addr: VICTIM_IP,
        next_header: proto,
        payload_len,
        hop_limit: 64,
    };
    let mut f = vec![0u8; 14 + 20 + payload_len];
    let eth = EthernetRepr {
        src_addr: ATTACKER_MAC,
        dst_addr: host_mac(0),
        ethertype: EthernetProtocol::Ipv4,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ip.emit(
        &mut Ipv4Packet::new_unchecked(&mut f[14..]),
        &ChecksumCapabilities::default(),
    );
    emit(&mut f[34..], &ip);
    f
}

fn tcp_syn(rng: &mut Rng) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: 40000 + (rng.below(1000) as u16),
        dst_port: [ports::ECHO, 80, 1][rng.below(3) as usize],
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(rng.next_u64() as i32),
        ack_number: None,
        window_len: 1024,
        window_scale: Some(7),
        max_seg_size: Some(1460),
        sack_permitted: true,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: b"payload!",
    };
    ipv4_frame(IpProtocol::Tcp, repr.buffer_len(), |buf, ip| {
        repr.emit(
            &mut TcpPacket::new_unchecked(buf),
            &IpAddress::Ipv4(ip.src_addr),
            &IpAddress::Ipv4(ip.dst_addr),
            &ChecksumCapabilities::default(),
        )
    })
}

fn udp(rng: &mut Rng) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: 5000,
        dst_port: [ports::CHAT, 53, 6868][rng.below(3) as usize],
    };
    let payload = b"datagram";
    ipv4_frame(
        IpProtocol::Udp,
        repr.header_len() + payload.len(),
        |buf, ip| {
            repr.emit(
                &mut UdpPacket::new_unchecked(buf),
                &IpAddress::Ipv4(ip.src_addr),
                &IpAddress::Ipv4(ip.dst_addr),
                payload.len(),
                |p| p.copy_from_slice(payload),
                &ChecksumCapabilities::default(),
            )
        },
    )
}

fn arp() -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: ATTACKER_MAC,
        source_protocol_addr: ATTACKER_IP,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: VICTIM_IP,
    };
    let mut f = vec![0u8; 14 + repr.buffer_len()];
    EthernetRepr {
        src_addr: ATTACKER_MAC,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    repr.emit(&mut ArpPacket::new_unchecked(&mut f[14..]));
    f
}

/// Recompute the IPv4 header checksum and the TCP/UDP checksum where the
/// mutated lengths still allow it, so the frame reaches the deep parsers.
fn fix_checksums(f: &mut [u8]) {
    let Some(ip_bytes) = f.get_mut(14..) else {
        return;
    };
    let Ok(mut ip) = Ipv4Packet::new_checked(&mut *ip_bytes) else {
        return;
    };
    ip.fill_checksum();
    let (src, dst, proto) = (ip.src_addr(), ip.dst_addr(), ip.next_header());
    let payload = ip.payload_mut();
    match proto {
        IpProtocol::Tcp => {
            if let Ok(mut t) = TcpPacket::new_checked(payload) {
                t.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst));
            }
        }
        IpProtocol::Udp => {
            if let Ok(mut u) = UdpPacket::new_checked(payload) {
                u.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst));
            }
        }
        _ => {}
    }
}

#[test]
fn random_and_mutated_frames_never_panic_and_service_goes_on() {
    let mut net = SimNet::new(99, Faults::NONE);
    net.add_host().unwrap();
    net.add_host().unwrap();
    let server = EchoServer::<4>::bind(net.stack(0), ports::ECHO, 4).unwrap();
    net.serve(0, Box::new(server));
    let mut attacker = net.raw_port(3, ATTACKER_MAC).unwrap();
    let mut rng = Rng::new(12345);
    const FRAMES: usize = 20_000;
    for i in 0..FRAMES {
        let mut f = match i % 5 {
            0 => {
                let len = rng.below(200) as usize;
                let mut f: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                if f.len() >= 14 {
                    f[..6].copy_from_slice(&host_mac(0).0);
                    f[12..14].copy_from_slice(&[0x08, [0x00, 0x06][i % 2]]);
                }
                f
            }
            1 | 2 => tcp_syn(&mut rng),
            3 => udp(&mut rng),
            _ => arp(),
        };
        // Mutate a few bytes past the Ethernet addresses, sometimes cut the frame.
        for _ in 0..1 + rng.below(4) {
            if f.len() > 12 {
                let at = 12 + rng.below(f.len() as u64 - 12) as usize;
                f[at] = rng.next_u64() as u8;
            }
        }
        if rng.percent(10) {
            let keep = rng.below(f.len() as u64 + 1) as usize;
            f.truncate(keep);
        }
        if rng.percent(70) {
            fix_checksums(&mut f);
        }
        let now = net.now();
        if let Some(tx) = attacker.transmit(now) {
            tx.consume(f.len(), |buf| buf.copy_from_slice(&f));
        }
        if i % 16 == 0 {
            net.run_for(Duration::from_millis(1));
            while attacker.receive(net.now()).is_some() {}
        }
    }
    net.run_for(Duration::from_secs(5));
    let stats = net.segment().stats();
    println!(
        "{FRAMES} hostile frames offered; segment: {stats:?}; gate {:?}",
        net.stack(0).counters()
    );

    // The stack still serves a real client, byte for byte.
    let to = IpEndpoint::new(IpAddress::Ipv4(VICTIM_IP), ports::ECHO);
    let mut client = EchoClient::<1000>::new(to, &[b'z'; 1000]);
    let start = net.now();
    assert!(net.run_client(1, &mut client, Duration::from_secs(120)));
    assert_eq!(client.outcome(), Outcome::Done);
    // Half-open connections from the flood held the slots until
    // HANDSHAKE_TIMEOUT; the client's retransmitted SYN got in after that.
    println!(
        "real client served {} ms (virtual) after the flood",
        (net.now() - start).total_millis()
    );
}
