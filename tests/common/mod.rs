//! What the tests that forge TCP segments share: a frame built from
//! smoltcp's `Repr`s, and an observer that keeps the frames a host
//! received. Each test binary uses part of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use layernet::net::{Direction, Event, Observer};
use layernet::{EthernetAddress, Instant, IpAddress, Ipv4Address};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket,
    TcpRepr,
};

/// An Ethernet frame from `(src_mac, src)` to `(dst_mac, dst)` carrying
/// `tcp`, its checksums complete.
pub fn ipv4_tcp_frame(
    (src_mac, src): (EthernetAddress, Ipv4Address),
    (dst_mac, dst): (EthernetAddress, Ipv4Address),
    tcp: &TcpRepr<'_>,
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let mut f = vec![0u8; 14 + 20 + tcp.buffer_len()];
    let eth = EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype: EthernetProtocol::Ipv4,
    };
    let caps = ChecksumCapabilities::default();
    eth.emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[14..]), &caps);
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut f[34..]),
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        &caps,
    );
    f
}

/// Keeps every frame its host received.
pub struct SeenRx(pub Rc<RefCell<Vec<Vec<u8>>>>);

impl Observer for SeenRx {
    fn frame(&mut self, _: Instant, direction: Direction, frame: &[u8]) {
        if direction == Direction::Rx {
            self.0.borrow_mut().push(frame.to_vec());
        }
    }
    fn event(&mut self, _: Instant, _: Event) {}
}
