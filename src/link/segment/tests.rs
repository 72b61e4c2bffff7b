//! The segment's own tests: switching, queues, the census and the
//! fingerprint.

use super::*;
use smoltcp::phy::{RxToken as _, TxToken as _};

type Seg = Segment<3, 8, 1514>;

const A: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const C: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 3]);

fn frame(dst: EthernetAddress, src: EthernetAddress, fill: u8) -> [u8; 60] {
    let mut f = [fill; 60];
    f[..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&src.0);
    f[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    f
}

fn send<const P: usize, const Q: usize, const M: usize>(
    port: &mut Port<'_, P, Q, M>,
    now: Instant,
    bytes: &[u8],
) {
    if let Some(tx) = port.transmit(now) {
        tx.consume(bytes.len(), |buf| buf.copy_from_slice(bytes));
    }
}

fn recv<const P: usize, const Q: usize, const M: usize>(
    port: &mut Port<'_, P, Q, M>,
    now: Instant,
) -> Option<[u8; 60]> {
    let (rx, _) = port.receive(now)?;
    rx.consume(|f| {
        let mut out = [0; 60];
        out.copy_from_slice(&f[..60]);
        Some(out)
    })
}

#[test]
fn unicast_reaches_only_its_port_and_broadcast_reaches_all_others() {
    let seg = RefCell::new(Seg::new());
    let mut a = Port::new(&seg, 0, A).unwrap();
    let mut b = Port::new(&seg, 1, B).unwrap();
    let mut c = Port::new(&seg, 2, C).unwrap();
    let t = Instant::from_millis(0);
    send(&mut a, t, &frame(B, A, 1));
    assert_eq!(recv(&mut b, t).map(|f| f[20]), Some(1));
    assert!(recv(&mut c, t).is_none());
    send(&mut a, t, &frame(EthernetAddress::BROADCAST, A, 2));
    assert_eq!(recv(&mut b, t).map(|f| f[20]), Some(2));
    assert_eq!(recv(&mut c, t).map(|f| f[20]), Some(2));
    assert!(recv(&mut a, t).is_none(), "a sender never hears itself");
    assert_eq!(seg.borrow().stats().delivered, 3);
}

#[test]
fn full_queue_overflows_and_is_counted() {
    let seg = RefCell::new(Seg::new());
    let mut a = Port::new(&seg, 0, A).unwrap();
    let _b = Port::new(&seg, 1, B).unwrap();
    for i in 0..10 {
        send(&mut a, Instant::ZERO, &frame(B, A, i));
    }
    let s = seg.borrow().stats();
    assert_eq!((s.delivered, s.overflow), (8, 2));
}

#[test]
fn oversize_frames_are_dropped() {
    let seg = RefCell::new(Seg::new());
    seg.borrow_mut().set_mtu(576);
    let mut a = Port::new(&seg, 0, A).unwrap();
    let _b = Port::new(&seg, 1, B).unwrap();
    let mut big = [0u8; 700];
    big[..14].copy_from_slice(&frame(B, A, 0)[..14]);
    send(&mut a, Instant::ZERO, &big);
    assert_eq!(seg.borrow().stats().oversize, 1);
    assert_eq!(a.capabilities().max_transmission_unit, 590);
}

#[test]
fn peek_then_receive_gives_the_same_frame_and_discard_drops_it() {
    let seg = RefCell::new(Seg::new());
    let mut a = Port::new(&seg, 0, A).unwrap();
    let mut b = Port::new(&seg, 1, B).unwrap();
    send(&mut a, Instant::ZERO, &frame(B, A, 7));
    send(&mut a, Instant::ZERO, &frame(B, A, 8));
    assert_eq!(b.peek(Instant::ZERO).map(|f| f[20]), Some(7));
    b.discard(Instant::ZERO);
    assert_eq!(b.peek(Instant::ZERO).map(|f| f[20]), Some(8));
    assert_eq!(recv(&mut b, Instant::ZERO).map(|f| f[20]), Some(8));
    assert!(b.peek(Instant::ZERO).is_none());
}
