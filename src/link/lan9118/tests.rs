//! The driver against the register-level fake.

use super::fake::FakeLan9118;
use super::*;
use smoltcp::phy::{RxToken as _, TxToken as _};
use smoltcp::time::Duration;

const MAC: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);

fn up() -> Lan9118<FakeLan9118> {
    Lan9118::new(FakeLan9118::new(), MAC).unwrap()
}

/// A frame of `len` bytes whose byte `i` is `seed + i`.
fn frame(len: usize, seed: u8) -> heapless::Vec<u8, FRAME_BUFFER> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

#[test]
fn reset_and_ready() {
    let mut nic = up();
    assert_eq!(nic.id_rev(), 0x0118_0001);
    // The reset was requested with the must-be-one bit and the default
    // TX FIFO size, and has completed.
    let hw_cfg = nic.registers().read(reg::HW_CFG);
    assert_eq!(hw_cfg & reg::HW_CFG_SRST, 0);
    assert_ne!(hw_cfg & reg::HW_CFG_MBO, 0);
    assert_eq!(nic.registers().read(reg::TX_CFG), reg::TX_CFG_TX_ON);
    assert_eq!(nic.registers().read(reg::INT_EN), 0);
}

#[test]
fn missing_or_stuck_chip_is_reported() {
    let mut gone = FakeLan9118::new();
    gone.unplug();
    let err = Lan9118::new(gone, MAC).unwrap_err();
    assert_eq!(err.reason(), InitError::NoChip);
    let mut stuck = FakeLan9118::new();
    stuck.never_ready();
    assert_eq!(
        Lan9118::new(stuck, MAC).unwrap_err().reason(),
        InitError::NotReady
    );
}

#[test]
fn mac_address_goes_through_mac_csr() {
    let mut nic = Lan9118::new(
        FakeLan9118::new(),
        EthernetAddress([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]),
    )
    .unwrap();
    // ADDRL holds the first four octets, least significant first.
    assert_eq!(nic.registers().mac_csr(reg::ADDRL as usize), 0x3322_1102);
    assert_eq!(nic.registers().mac_csr(reg::ADDRH as usize), 0x0000_5544);
}

#[test]
fn mac_cr_enables_tx_rx_full_duplex() {
    let mut nic = up();
    let cr = nic.registers().mac_csr(reg::MAC_CR as usize);
    assert_eq!(
        cr,
        reg::MAC_CR_TXEN | reg::MAC_CR_RXEN | reg::MAC_CR_FDPX,
        "{cr:#x}"
    );
    nic.set_multicast(Multicast::Hash(1 << 40 | 1 << 3))
        .unwrap();
    let fake = nic.registers();
    assert_eq!(fake.mac_csr(reg::HASHH as usize), 1 << 8);
    assert_eq!(fake.mac_csr(reg::HASHL as usize), 1 << 3);
    assert_ne!(fake.mac_csr(reg::MAC_CR as usize) & reg::MAC_CR_HPFILT, 0);
    nic.set_multicast(Multicast::None).unwrap();
    assert_eq!(
        nic.registers().mac_csr(reg::MAC_CR as usize),
        cr,
        "back to the state after new"
    );
}

#[test]
fn multicast_hash_matches_the_known_bits() {
    // Linux's smsc911x computes ether_crc(addr) >> 26; the values were
    // checked against zlib's CRC-32, bit-reversed and not inverted.
    assert_eq!(
        Multicast::hash_bit(EthernetAddress([1, 0, 0x5e, 0, 0, 1])),
        0x1f
    );
    assert_eq!(
        Multicast::hash_bit(EthernetAddress([0x33, 0x33, 0, 0, 0, 1])),
        0x3e
    );
    assert_eq!(Multicast::hash_bit(EthernetAddress([0xff; 6])), 0x3f);
}

#[test]
fn transmit_writes_command_words_and_data() {
    let mut nic = up();
    let data = frame(61, 0x10);
    let tx = nic.transmit(Instant::ZERO).unwrap();
    tx.consume(data.len(), |buf| buf.copy_from_slice(&data));
    let fake = nic.registers();
    let (a, b) = fake.last_commands().unwrap();
    assert_eq!(a, reg::TX_CMD_A_FIRST | reg::TX_CMD_A_LAST | 61, "{a:#x}");
    assert_eq!(b & 0xFFFF, 61);
    assert_eq!(b >> 16, 1, "the first frame's tag");
    assert_eq!(fake.take_sent().unwrap(), data);
    // Its status word was read back, so the status FIFO stays empty.
    assert_eq!(fake.read(reg::TX_FIFO_INF) >> 16, 0);
    assert_eq!(nic.stats().tx_frames, 1);
}

#[test]
fn receive_strips_the_fcs() {
    let mut nic = up();
    let data = frame(75, 3);
    nic.registers().deliver(&data).unwrap();
    assert_eq!(nic.peek(Instant::ZERO).map(|f| f.len()), Some(75));
    let (rx, _) = nic.receive(Instant::ZERO).unwrap();
    rx.consume(|f| assert_eq!(f, &data[..]));
    assert!(nic.receive(Instant::ZERO).is_none());
    assert_eq!(nic.registers().read(reg::RX_FIFO_INF), 0, "FIFOs drained");
    assert_eq!(nic.stats().rx_frames, 1);
}

#[test]
fn error_frame_is_read_out_and_dropped() {
    let mut nic = up();
    nic.registers().deliver_bad(&frame(99, 0)).unwrap();
    let good = frame(64, 0x80);
    nic.registers().deliver(&good).unwrap();
    assert_eq!(nic.peek(Instant::ZERO), Some(&good[..]));
    nic.discard(Instant::ZERO);
    assert!(nic.peek(Instant::ZERO).is_none());
    let stats = nic.stats();
    assert_eq!((stats.rx_errors, stats.rx_frames), (1, 1));
}

#[test]
fn receiver_off_drops_everything() {
    // What `new` prevents: with RXEN clear (the reset state) the MAC
    // drops every frame.
    let mut fake = FakeLan9118::new();
    fake.deliver(&frame(60, 0)).unwrap();
    assert_eq!(fake.dropped(), 1);
    let mut nic = Lan9118::new(fake, MAC).unwrap();
    nic.registers().deliver(&frame(60, 0)).unwrap();
    assert_eq!(nic.registers().dropped(), 1);
    assert!(nic.peek(Instant::ZERO).is_some());
}

#[test]
fn frames_come_out_in_order_and_peek_is_stable() {
    let mut nic = up();
    for seed in [1, 2, 3] {
        nic.registers()
            .deliver(&frame(60 + seed as usize, seed))
            .unwrap();
    }
    assert_eq!(nic.peek(Instant::ZERO).map(|f| f[0]), Some(1));
    assert_eq!(nic.peek(Instant::ZERO).map(|f| f[0]), Some(1));
    for seed in [1u8, 2, 3] {
        let (rx, _) = nic.receive(Instant::ZERO).unwrap();
        rx.consume(|f| assert_eq!((f[0], f.len()), (seed, 60 + seed as usize)));
    }
}

#[test]
fn link_status_comes_from_the_phy() {
    assert!(up().link_up().unwrap());
}

#[test]
fn the_driver_serves_a_stack() {
    use crate::net::{Config, Resources, Stack};
    use smoltcp::wire::{
        ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr,
        Ipv4Address,
    };
    let config = Config::new(MAC, crate::net::DEFAULT_IP);
    let mut memory: Resources<'_, 3, 1, 1, 256> = Resources::new();
    let mut nic = up();
    let mut stack = Stack::new(config, &mut nic, &mut memory, Instant::ZERO).unwrap();
    // An ARP request for the stack's address gets a reply through the FIFOs.
    let peer = EthernetAddress([2, 0, 0, 0, 0, 0x64]);
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: peer,
        source_protocol_addr: Ipv4Address::new(192, 168, 69, 100),
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: config.ip.address(),
    };
    let mut buf = [0u8; 42];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: peer,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut eth);
    arp.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    nic.registers().deliver(&buf).unwrap();
    stack.poll(&mut nic, Instant::from_millis(1));
    let reply = nic.registers().take_sent().unwrap();
    let eth = EthernetFrame::new_checked(&reply[..]).unwrap();
    assert_eq!(eth.dst_addr(), peer);
    let repr = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
    assert!(matches!(
        repr,
        ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Reply,
            ..
        }
    ));
}

/// An ARP request from `peer` for `target`, as it arrives on the wire.
fn arp_request(peer: EthernetAddress, target: smoltcp::wire::Ipv4Address) -> [u8; 42] {
    use smoltcp::wire::{
        ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr,
        Ipv4Address,
    };
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: peer,
        source_protocol_addr: Ipv4Address::new(192, 168, 69, 100),
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let mut buf = [0u8; 42];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: peer,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut eth);
    arp.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    buf
}

#[test]
fn the_fault_wrapper_drops_and_delays_the_drivers_frames() {
    use crate::link::faults::{Faults, Faulty};
    let mut nic = Faulty::<_, 8, 1514>::new(up(), Faults::loss(100), 3);
    // Lost on the way in: read out of the FIFO, never handed to the stack.
    nic.inner_mut().registers().deliver(&frame(60, 1)).unwrap();
    assert!(nic.peek(Instant::ZERO).is_none());
    assert_eq!(nic.inner_mut().registers().read(reg::RX_FIFO_INF), 0);
    // Lost on the way out: the FIFO never sees it.
    let tx = nic.transmit(Instant::ZERO).unwrap();
    tx.consume(60, |f| f.fill(0xab));
    assert!(nic.inner_mut().registers().take_sent().is_none());
    assert_eq!((nic.stats().offered, nic.stats().dropped), (2, 2));

    nic.set_faults(Faults {
        delay: Duration::from_millis(10),
        ..Faults::NONE
    });
    let tx = nic.transmit(Instant::ZERO).unwrap();
    tx.consume(60, |f| f.fill(0xcd));
    nic.inner_mut().registers().deliver(&frame(61, 2)).unwrap();
    assert!(
        nic.peek(Instant::ZERO).is_none(),
        "held from the moment it is read"
    );
    assert_eq!(nic.poll_at(), Some(Instant::from_millis(10)));
    assert!(nic.peek(Instant::from_millis(9)).is_none(), "held");
    assert!(nic.inner_mut().registers().take_sent().is_none(), "held");
    let (rx, _) = nic.receive(Instant::from_millis(10)).unwrap();
    rx.consume(|f| assert_eq!((f.len(), f[0]), (61, 2)));
    let sent = nic.inner_mut().registers().take_sent().unwrap();
    assert_eq!(sent, [0xcd; 60], "out once due");
    assert_eq!(nic.poll_at(), None);
}

#[test]
fn a_stack_on_the_wrapped_driver_answers_late() {
    use crate::link::faults::{Faults, Faulty};
    use crate::net::{Config, Resources, Stack};
    let config = Config::new(MAC, crate::net::DEFAULT_IP);
    let slow = Faults {
        delay: Duration::from_millis(20),
        ..Faults::NONE
    };
    let mut nic =
        Faulty::<_, 8, 1514>::new(up(), slow, 5).with_ways(crate::link::faults::Ways::Outbound);
    let mut memory: Resources<'_, 3, 1, 1, 256> = Resources::new();
    let mut stack = Stack::new(config, &mut nic, &mut memory, Instant::ZERO).unwrap();
    let peer = EthernetAddress([2, 0, 0, 0, 0, 0x64]);
    let request = arp_request(peer, config.ip.address());
    nic.inner_mut().registers().deliver(&request).unwrap();
    stack.poll(&mut nic, Instant::from_millis(1));
    assert!(
        nic.inner_mut().registers().take_sent().is_none(),
        "the reply is held"
    );
    assert_eq!(nic.poll_at(), Some(Instant::from_millis(21)));
    stack.poll(&mut nic, Instant::from_millis(21));
    let reply = nic.inner_mut().registers().take_sent().unwrap();
    assert_eq!(reply[..6], peer.0, "the ARP reply, 20 ms late");
}

#[test]
fn a_capture_over_the_faulty_driver_shows_what_the_stack_sends() {
    use crate::link::capture::{Captured, Sink};
    use crate::link::faults::{Faults, Faulty};
    use crate::net::{Config, Resources, Stack};
    /// When each frame was shown, and which way.
    #[derive(Default)]
    struct Seen(heapless::Vec<(i64, bool), 4>);
    impl Sink for Seen {
        fn frame(&mut self, now: Instant, inbound: bool, frame: &[u8]) {
            // Not the MLD reports an IPv6 stack with multicast sends
            // for its groups (to 33:33:...): this test follows the ARP.
            if frame.starts_with(&[0x33, 0x33]) {
                return;
            }
            let _ = self.0.push((now.total_millis(), inbound));
        }
    }
    let config = Config::new(MAC, crate::net::DEFAULT_IP);
    let slow = Faults {
        delay: Duration::from_millis(20),
        ..Faults::NONE
    };
    // The capture between the faults and the chip: it sees what crosses
    // the wire, when it does.
    let nic = Captured::new(up(), Seen::default());
    let mut nic =
        Faulty::<_, 8, 1514>::new(nic, slow, 5).with_ways(crate::link::faults::Ways::Outbound);
    let mut memory: Resources<'_, 3, 1, 1, 256> = Resources::new();
    let mut stack = Stack::new(config, &mut nic, &mut memory, Instant::ZERO).unwrap();
    let peer = EthernetAddress([2, 0, 0, 0, 0, 0x64]);
    let request = arp_request(peer, config.ip.address());
    let chip = nic.inner_mut().inner_mut().registers();
    chip.deliver(&request).unwrap();
    stack.poll(&mut nic, Instant::from_millis(1));
    stack.poll(&mut nic, Instant::from_millis(21));
    assert_eq!(
        nic.inner().sink().0,
        [(1, true), (21, false)],
        "the reply crossed at 21 ms"
    );
    assert!(
        nic.inner_mut()
            .inner_mut()
            .registers()
            .take_sent()
            .is_some()
    );
}

#[test]
fn the_receive_interrupt_wakes_and_is_cleared() {
    use crate::link::RxInterrupt;
    let mut nic = up();
    nic.registers().deliver(&frame(60, 0)).unwrap();
    assert!(!nic.registers().irq(), "off after bring-up");
    nic.set_rx_interrupt(true);
    assert_eq!(
        nic.registers().read(reg::IRQ_CFG),
        reg::IRQ_CFG_EN_HIGH,
        "pin on, active high, push-pull"
    );
    assert!(nic.registers().irq(), "a frame was waiting");
    assert!(nic.rx_ready(), "and is reported");
    assert!(!nic.registers().irq(), "the status is cleared");
    let (rx, _) = nic.receive(Instant::ZERO).unwrap();
    rx.consume(|_| ());
    assert!(!nic.rx_ready(), "nothing left: the board may sleep");
    nic.registers().deliver(&frame(60, 1)).unwrap();
    assert!(nic.registers().irq(), "a new frame raises it again");
    nic.set_rx_interrupt(false);
    assert!(!nic.registers().irq());
}
