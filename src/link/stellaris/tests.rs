//! The driver against the register-level fake.

use super::fake::FakeStellaris;
use super::*;
use smoltcp::phy::{RxToken as _, TxToken as _};

const MAC: EthernetAddress = EthernetAddress([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
const T: Instant = Instant::ZERO;

fn up() -> Stellaris<FakeStellaris> {
    Stellaris::new(FakeStellaris::new(), MAC).unwrap()
}

/// A frame of `len` bytes whose byte `i` is `seed + i`.
fn frame(len: usize, seed: u8) -> heapless::Vec<u8, 2048> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn received(nic: &mut Stellaris<FakeStellaris>) -> Option<heapless::Vec<u8, 2048>> {
    let (rx, _) = nic.receive(T)?;
    Some(rx.consume(|f| f.iter().copied().collect()))
}

#[test]
fn bring_up_programs_the_mac() {
    let mut nic = up();
    let regs = nic.registers();
    assert_eq!(
        regs.read(reg::IA0),
        0x3322_1102,
        "octets 0-3, least significant first"
    );
    assert_eq!(regs.read(reg::IA1), 0x5544);
    assert_eq!(regs.read(reg::IM), 0, "polled: every source masked");
    assert_eq!(regs.read(reg::RCTL), reg::RCTL_RXEN | reg::RCTL_BADCRC);
    assert_eq!(
        regs.read(reg::TCTL),
        reg::TCTL_TXEN | reg::TCTL_PADEN | reg::TCTL_CRC | reg::TCTL_DUPLEX
    );
    assert_eq!(regs.read(reg::THR), reg::THR_OFF);
}

#[test]
fn a_missing_mac_is_reported() {
    let mut gone = FakeStellaris::new();
    gone.unplug();
    let err = Stellaris::new(gone, MAC).unwrap_err();
    assert_eq!(err.reason(), InitError::NoMac);
}

#[test]
fn several_frames_in_order_every_length_mod_4() {
    let mut nic = up();
    // Lengths that leave 0, 1, 2 and 3 bytes in the last word, queued
    // together as the FIFO holds them.
    let lens = [60, 61, 62, 63, 64, 14];
    for (i, len) in lens.iter().enumerate() {
        nic.registers().deliver(&frame(*len, i as u8 * 40)).unwrap();
    }
    assert_eq!(nic.registers().read(reg::NP), lens.len() as u32);
    for (i, len) in lens.iter().enumerate() {
        let got = received(&mut nic).unwrap_or_else(|| panic!("frame {i}"));
        assert_eq!(got, frame(*len, i as u8 * 40), "frame {i} of {len} bytes");
    }
    assert!(received(&mut nic).is_none());
    assert_eq!(nic.stats().rx_frames, lens.len() as u64);
    assert_eq!(nic.stats().rx_errors, 0);
}

#[test]
fn a_full_size_frame_fits_the_default_buffer() {
    let mut nic = up();
    nic.registers().deliver(&frame(1514, 3)).unwrap();
    assert_eq!(received(&mut nic).unwrap(), frame(1514, 3));
}

#[test]
fn peek_then_discard() {
    let mut nic = up();
    nic.registers().deliver(&frame(60, 1)).unwrap();
    nic.registers().deliver(&frame(70, 2)).unwrap();
    assert_eq!(nic.peek(T).map(<[u8]>::len), Some(60));
    assert_eq!(
        nic.peek(T).map(<[u8]>::len),
        Some(60),
        "peeking twice shows the same"
    );
    nic.discard(T);
    assert_eq!(nic.peek(T).map(<[u8]>::len), Some(70));
}

#[test]
fn too_long_or_too_short_frames_are_dropped_and_the_next_one_kept() {
    let mut nic = Stellaris::<_, 128>::with_frame(FakeStellaris::new(), MAC).unwrap();
    nic.registers().deliver(&frame(200, 0)).unwrap();
    nic.registers().deliver(&frame(10, 0)).unwrap();
    nic.registers().deliver(&frame(124, 9)).unwrap();
    let (rx, _) = nic.receive(T).unwrap();
    assert_eq!(rx.consume(|f| f.to_vec()), frame(124, 9).to_vec());
    assert_eq!(nic.stats().rx_errors, 2);
    assert_eq!(
        nic.registers().read(reg::NP),
        0,
        "both read out of the FIFO"
    );
}

#[test]
fn a_bad_length_prefix_clears_the_fifo_and_reception_goes_on() {
    let mut nic = up();
    nic.registers()
        .deliver_claiming(&frame(60, 0), 0xFFFF)
        .unwrap();
    nic.registers().deliver(&frame(60, 1)).unwrap();
    assert!(received(&mut nic).is_none(), "the FIFO lost its place");
    assert_eq!(nic.stats().rx_errors, 1);
    assert_eq!(nic.registers().read(reg::NP), 0, "cleared");
    assert_ne!(
        nic.registers().read(reg::RCTL) & reg::RCTL_RXEN,
        0,
        "receiver on again"
    );
    nic.registers().deliver(&frame(61, 2)).unwrap();
    assert_eq!(received(&mut nic).unwrap(), frame(61, 2));
    // A prefix shorter than itself and the FCS is as impossible.
    nic.registers().deliver_claiming(&frame(60, 0), 3).unwrap();
    assert!(received(&mut nic).is_none());
    assert_eq!(nic.stats().rx_errors, 2);
}

#[test]
fn every_prefix_value_is_survived() {
    // Whatever the first word says, the driver neither panics nor reads
    // past its buffer; the frame after a clear is received.
    for claimed in (0..=0xFFFF)
        .step_by(97)
        .chain([0, 1, 5, 6, 19, 20, 1538, 2048, 2049])
    {
        let mut nic = Stellaris::<_, 128>::with_frame(FakeStellaris::new(), MAC).unwrap();
        nic.registers()
            .deliver_claiming(&frame(100, 0), claimed)
            .unwrap();
        while nic.receive(T).is_some() {}
        nic.registers()
            .write(reg::RCTL, reg::RCTL_RXEN | reg::RCTL_RSTFIFO);
        nic.registers().deliver(&frame(60, 5)).unwrap();
        let (rx, _) = nic
            .receive(T)
            .unwrap_or_else(|| panic!("after prefix {claimed}"));
        assert_eq!(rx.consume(|f| f.len()), 60);
    }
}

#[test]
fn an_overflow_is_counted_and_what_fit_is_received() {
    let mut nic = up();
    // 2 KiB of FIFO: three 600-byte frames fit, the fourth overflows.
    for i in 0..4 {
        nic.registers().deliver(&frame(600, i)).unwrap();
    }
    for i in 0..3 {
        assert_eq!(received(&mut nic).unwrap(), frame(600, i));
    }
    assert!(received(&mut nic).is_none());
    assert_eq!(nic.stats().rx_overflows, 1);
    assert_eq!(
        nic.registers().read(reg::RIS_IACK) & reg::INT_FOV,
        0,
        "acknowledged"
    );
    nic.registers().deliver(&frame(600, 7)).unwrap();
    assert_eq!(received(&mut nic).unwrap(), frame(600, 7), "room again");
    assert_eq!(nic.stats().rx_overflows, 1);
}

#[test]
fn transmit_writes_the_length_prefix_and_the_words() {
    let mut nic = up();
    for len in [14, 42, 61, 62, 63, 64, 1514] {
        let tx = nic.transmit(T).unwrap();
        tx.consume(len, |f| f.copy_from_slice(&frame(len, len as u8)));
        let sent = nic.registers().take_sent().unwrap();
        let want = frame(len, len as u8);
        assert_eq!(&sent[..len], &want[..], "{len} bytes");
        assert_eq!(sent.len(), len.max(60), "padded to 60 by the MAC");
    }
    assert_eq!(nic.stats().tx_frames, 7);
}

#[test]
fn a_busy_transmitter_refuses_tokens_and_drops_replies() {
    let mut nic = up();
    nic.registers().set_tx_busy(true);
    assert!(nic.transmit(T).is_none());
    assert_eq!(nic.stats().tx_full, 1);
    nic.registers().deliver(&frame(60, 0)).unwrap();
    let (_, tx) = nic.receive(T).unwrap();
    tx.consume(60, |f| f.fill(1));
    assert_eq!(nic.stats().tx_full, 2, "the reply waited, then was dropped");
    assert!(nic.registers().take_sent().is_none());
    nic.registers().set_tx_busy(false);
    nic.transmit(T).unwrap().consume(60, |f| f.fill(2));
    assert!(nic.registers().take_sent().is_some());
}

#[test]
fn runts_are_not_sent() {
    let mut nic = up();
    nic.transmit(T).unwrap().consume(10, |f| f.fill(0));
    assert!(nic.registers().take_sent().is_none());
    assert_eq!(nic.stats().tx_errors, 1);
}

#[test]
fn the_receive_interrupt_wakes_and_is_cleared() {
    let mut nic = up();
    nic.registers().deliver(&frame(60, 0)).unwrap();
    assert!(!nic.registers().irq(), "masked after bring-up");
    nic.set_rx_interrupt(true);
    assert!(nic.registers().irq(), "a frame was waiting");
    assert!(nic.rx_ready());
    assert!(!nic.registers().irq());
    while nic.receive(T).is_some() {}
    assert!(!nic.rx_ready(), "nothing left: the board may sleep");
    nic.registers().deliver(&frame(60, 1)).unwrap();
    assert!(nic.registers().irq());
    nic.set_rx_interrupt(false);
    assert!(!nic.registers().irq());
}

#[test]
fn the_stack_pings_through_the_driver() {
    use crate::net::{Config, Resources, Stack};
    use smoltcp::wire::{
        ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr,
        Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr,
    };
    let config = Config::default();
    let mut nic = Stellaris::new(FakeStellaris::new(), config.mac).unwrap();
    let mut memory: Resources<'_, 3, 1, 1, 256> = Resources::new();
    let mut stack = Stack::new(config, &mut nic, &mut memory, T).unwrap();
    // The peer asks for the board's address (so the stack learns the
    // peer's), then pings it.
    let peer_mac = EthernetAddress([2, 0, 0, 0, 0, 0x64]);
    let peer_ip = Ipv4Address::new(192, 168, 69, 100);
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: peer_mac,
        source_protocol_addr: peer_ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: config.ip.address(),
    };
    let mut request = [0u8; 14 + 28];
    let mut f = EthernetFrame::new_unchecked(&mut request[..]);
    EthernetRepr {
        src_addr: peer_mac,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut f);
    arp.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
    nic.registers().deliver(&request).unwrap();
    for _ in 0..4 {
        stack.poll(&mut nic, T);
    }
    let answer = nic.registers().take_sent().expect("an ARP reply");
    assert_eq!(
        EthernetFrame::new_checked(&answer[..]).unwrap().dst_addr(),
        peer_mac
    );
    let icmp = Icmpv4Repr::EchoRequest {
        ident: 1,
        seq_no: 1,
        data: b"ping",
    };
    let ip = Ipv4Repr {
        src_addr: peer_ip,
        dst_addr: config.ip.address(),
        next_header: IpProtocol::Icmp,
        payload_len: icmp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: peer_mac,
        dst_addr: config.mac,
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut bytes = [0u8; 14 + 20 + 12];
    let mut f = EthernetFrame::new_unchecked(&mut bytes[..]);
    eth.emit(&mut f);
    let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut p, &Default::default());
    icmp.emit(
        &mut Icmpv4Packet::new_unchecked(p.payload_mut()),
        &Default::default(),
    );
    nic.registers().deliver(&bytes).unwrap();
    for _ in 0..4 {
        stack.poll(&mut nic, T);
    }
    // Past the MLD reports an IPv6 stack with multicast sends for its
    // groups (to 33:33:...).
    let reply = core::iter::from_fn(|| nic.registers().take_sent())
        .find(|f| !f.starts_with(&[0x33, 0x33]))
        .expect("an echo reply");
    let f = EthernetFrame::new_checked(&reply[..]).unwrap();
    assert_eq!(f.dst_addr(), peer_mac);
    let p = Ipv4Packet::new_checked(f.payload()).unwrap();
    let r = Icmpv4Packet::new_checked(p.payload()).unwrap();
    assert_eq!(r.msg_type(), smoltcp::wire::Icmpv4Message::EchoReply);
}

/// A bus whose every read is a random word: the driver must neither panic
/// nor hand out more than its buffer, whatever the registers say.
struct Chaos(u64);

impl Registers for Chaos {
    fn read(&mut self, _offset: u32) -> u32 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
    fn write(&mut self, _offset: u32, _value: u32) {}
}

#[test]
fn any_register_value_is_survived() {
    for seed in 1..200u64 {
        // Built directly: bring-up would (rightly) refuse a bus whose
        // MACIA0 does not read back.
        let mut chaos = Stellaris::<Chaos, 128> {
            mac: MAC,
            rx: [0; 128],
            rx_len: None,
            out: Out {
                regs: Chaos(seed),
                buf: [0; 128],
                stats: Stats::default(),
            },
        };
        for _ in 0..50 {
            if let Some(f) = chaos.peek(T) {
                assert!(f.len() <= 128 - FCS_LEN);
            }
            if let Some((rx, tx)) = chaos.receive(T) {
                let n = rx.consume(|f| f.len());
                assert!((HEADER_LEN..=128 - FCS_LEN).contains(&n), "{n}");
                tx.consume(60, |f| f.fill(1));
            }
            if let Some(tx) = chaos.transmit(T) {
                tx.consume(1000, |f| assert!(f.len() <= 128 - FCS_LEN));
            }
            let _ = chaos.rx_ready();
        }
    }
}
