//! Tests of the DNS message reader and writer (moved out of `wire.rs`
//! to keep that file on its one concern).

use super::*;

#[test]
fn compression_points_back_and_reads_again() {
    let host = Name::from_parts(&["layernet", "local"]).unwrap();
    let inst = Name::from_parts(&["layernet", "_http._tcp", "local"]).unwrap();
    let ty = Name::from_parts(&["_http._tcp", "local"]).unwrap();
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf, 0, FLAGS_RESPONSE).unwrap();
    w.record(Section::Answer, &ty, CLASS_IN, 4500, Rdata::Ptr(&inst))
        .unwrap();
    w.record(
        Section::Additional,
        &inst,
        CLASS_IN,
        120,
        Rdata::Srv {
            port: 7878,
            target: &host,
        },
    )
    .unwrap();
    let n = w.finish();
    // Uncompressed it would be over 100 bytes.
    assert!(n < 90, "{n}");
    let mut r = Reader::new(&buf[..n]).unwrap();
    let ptr = r.next_record().unwrap();
    assert!(r.name_is(ptr.name, &ty));
    assert!(r.name_is(ptr.rdata_at, &inst));
    let srv = r.next_record().unwrap();
    assert!(r.name_is(srv.name, &inst));
    assert!(r.name_is(srv.rdata_at + 6, &host));
    assert_eq!(r.labels_before(srv.name, &ty), Some(1));
    assert!(r.next_record().is_none());
}

#[test]
fn forward_and_looping_pointers_are_refused() {
    // 12: pointer to 14; 14: label "a", then pointer to 14 again.
    let msg = [
        0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 1, b'a', 0xc0, 14,
    ];
    let mut r = Reader::new(&msg).unwrap();
    assert!(r.next_question().is_none());
    let a = Name::from_parts(&["a"]).unwrap();
    assert!(!r.name_is(14, &a));
}
