//! The fault wrapper over ports of a plain segment.

use super::*;
use crate::link::segment::{Port, Segment};
use core::cell::RefCell;
use smoltcp::phy::{RxToken as _, TxToken as _};
use smoltcp::wire::EthernetAddress;

type Seg = Segment<3, 8, 1514>;
type Out<'s> = Faulty<Port<'s, 3, 8, 1514>, 8, 1514>;

const A: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

fn frame(dst: EthernetAddress, src: EthernetAddress, fill: u8) -> [u8; 60] {
    let mut f = [fill; 60];
    f[..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&src.0);
    f[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    f
}

fn send<D: Device>(dev: &mut D, now: Instant, bytes: &[u8]) {
    if let Some(tx) = dev.transmit(now) {
        tx.consume(bytes.len(), |buf| buf.copy_from_slice(bytes));
    }
}

fn recv<D: Device>(dev: &mut D, now: Instant) -> Option<[u8; 60]> {
    let (rx, _) = dev.receive(now)?;
    rx.consume(|f| {
        let mut out = [0; 60];
        out.copy_from_slice(&f[..60]);
        Some(out)
    })
}

fn outbound<'s>(seg: &'s RefCell<Seg>, faults: Faults, seed: u64) -> Out<'s> {
    let port = Port::new(seg, 0, A).unwrap();
    Faulty::new(port, faults, seed).with_ways(Ways::Outbound)
}

#[test]
fn delay_holds_frames_until_due_and_order_is_kept() {
    let faults = Faults {
        delay: Duration::from_millis(5),
        ..Faults::NONE
    };
    let seg = RefCell::new(Seg::new());
    let mut a = outbound(&seg, faults, 1);
    let mut b = Port::new(&seg, 1, B).unwrap();
    send(&mut a, Instant::from_millis(0), &frame(B, A, 1));
    send(&mut a, Instant::from_millis(0), &frame(B, A, 2));
    assert_eq!(a.poll_at(), Some(Instant::from_millis(5)));
    a.flush(Instant::from_millis(4));
    assert!(recv(&mut b, Instant::from_millis(4)).is_none());
    a.flush(Instant::from_millis(5));
    assert_eq!(a.poll_at(), None);
    assert_eq!(
        recv(&mut b, Instant::from_millis(5)).map(|f| f[20]),
        Some(1)
    );
    assert_eq!(
        recv(&mut b, Instant::from_millis(5)).map(|f| f[20]),
        Some(2)
    );
}

#[test]
fn no_faults_pass_straight_through_without_rolling() {
    let seg = RefCell::new(Seg::new());
    let mut a = outbound(&seg, Faults::NONE, 1);
    let mut b = Faulty::<_, 2, 1514>::new(Port::new(&seg, 1, B).unwrap(), Faults::NONE, 2);
    send(&mut a, Instant::ZERO, &frame(B, A, 3));
    assert_eq!(b.peek(Instant::ZERO).map(|f| f[20]), Some(3));
    b.discard(Instant::ZERO);
    assert!(b.peek(Instant::ZERO).is_none());
    send(&mut a, Instant::ZERO, &frame(B, A, 4));
    assert_eq!(recv(&mut b, Instant::ZERO).map(|f| f[20]), Some(4));
    assert_eq!(
        (a.stats(), b.stats()),
        (FaultStats::default(), FaultStats::default())
    );
    assert_eq!(seg.borrow().stats().delivered, 2);
}

#[test]
fn fault_counters_follow_the_rates() {
    let faults = Faults {
        drop_pct: 20,
        corrupt_pct: 0,
        duplicate_pct: 10,
        reorder_pct: 10,
        delay: Duration::from_millis(0),
    };
    let seg = RefCell::new(Seg::new());
    let mut a = outbound(&seg, faults, 9);
    let mut b = Port::new(&seg, 1, B).unwrap();
    let mut received = 0;
    for i in 0..1000u32 {
        send(
            &mut a,
            Instant::from_millis(i64::from(i) * 10),
            &frame(B, A, 0),
        );
        a.flush(Instant::from_millis(i64::from(i) * 10 + 9));
        while recv(&mut b, Instant::from_millis(i64::from(i) * 10 + 9)).is_some() {
            received += 1;
        }
    }
    let s = seg.borrow().stats().with_faults(&a.stats());
    assert_eq!(s.offered, 1000);
    assert!((150..250).contains(&s.dropped), "{s:?}");
    assert!(s.duplicated > 50 && s.reordered > 50, "{s:?}");
    // A dropped frame is never duplicated: the counters count what happened.
    assert_eq!(s.delivered, 1000 - s.dropped + s.duplicated);
    assert_eq!(received, s.delivered);
}

#[test]
fn both_ways_rolls_for_frames_from_the_link_too() {
    let seg = RefCell::new(Seg::new());
    let mut a = Port::new(&seg, 0, A).unwrap();
    let b = Port::new(&seg, 1, B).unwrap();
    let mut b = Faulty::<_, 8, 1514>::new(b, Faults::loss(100), 4);
    send(&mut a, Instant::ZERO, &frame(B, A, 1));
    assert!(b.peek(Instant::ZERO).is_none(), "lost on the way in");
    assert_eq!((b.stats().offered, b.stats().dropped), (1, 1));
    b.set_faults(Faults {
        delay: Duration::from_millis(3),
        ..Faults::NONE
    });
    send(&mut a, Instant::ZERO, &frame(B, A, 2));
    assert!(
        b.peek(Instant::ZERO).is_none(),
        "held from the moment it is seen"
    );
    assert!(recv(&mut b, Instant::from_millis(2)).is_none());
    assert_eq!(b.poll_at(), Some(Instant::from_millis(3)));
    assert_eq!(
        recv(&mut b, Instant::from_millis(3)).map(|f| f[20]),
        Some(2)
    );
}

#[test]
fn a_full_hold_queue_loses_the_frame_and_counts_it() {
    let seg = RefCell::new(Seg::new());
    let late = Faults {
        delay: Duration::from_millis(1),
        ..Faults::NONE
    };
    let port = Port::new(&seg, 0, A).unwrap();
    let mut a = Faulty::<_, 2, 1514>::new(port, late, 1);
    let _b = Port::new(&seg, 1, B).unwrap();
    for i in 0..3 {
        send(&mut a, Instant::ZERO, &frame(B, A, i));
    }
    assert_eq!((a.stats().offered, a.stats().overflow), (3, 1));
}

#[test]
fn corruption_flips_exactly_one_bit_inside_the_ip_packet() {
    // A minimal IPv4 header (20 bytes, total length 28) plus 8 bytes.
    let mut f = [0u8; 60];
    f[..14].copy_from_slice(&frame(B, A, 0)[..14]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&28u16.to_be_bytes());
    for roll in 0..500u64 {
        let mut g = f;
        assert!(flip_checksummed_bit(&mut g, roll.wrapping_mul(0x9E37_79B9)));
        let diff: u32 = f.iter().zip(&g).map(|(x, y)| (x ^ y).count_ones()).sum();
        assert_eq!(diff, 1);
        let at = f.iter().zip(&g).position(|(x, y)| x != y).unwrap();
        assert!((14..14 + 28).contains(&at), "flip at {at}");
    }
    let mut arp = frame(B, A, 0);
    assert!(!flip_checksummed_bit(&mut arp, 3));
}
