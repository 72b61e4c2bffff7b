//! The mDNS responder on the simulated segment: its probes and
//! announcements as RFC 6762 times them (read off the frames it sends),
//! its answers to a legacy unicast query and to DNS-SD browsing, and the
//! conflicts of two stacks that want the same name. Then a property test:
//! no bytes make the DNS reader panic.

use std::cell::RefCell;
use std::rc::Rc;

use layernet::app::mdns::wire::{
    CLASS_IN, Name, Reader, Section, TYPE_A, TYPE_PTR, TYPE_SRV, Writer,
};
use layernet::app::mdns::{Phase, Responder, advert};
use layernet::app::services::Kind;
use layernet::host::sim::{SimNet, host_ip};
use layernet::net::{Direction, Event, Observer};
use layernet::socket::UdpSocket;
use layernet::{Duration, Instant, IpAddress, IpEndpoint, Ipv4Address};
use proptest::prelude::*;
use smoltcp::wire::{EthernetFrame, IpProtocol, Ipv4Packet, UdpPacket};

/// Every mDNS datagram a host sends: when, to where, and its bytes.
type Sent = Rc<RefCell<Vec<(Instant, Ipv4Address, Vec<u8>)>>>;

struct MdnsFrames(Sent);

impl Observer for MdnsFrames {
    fn frame(&mut self, now: Instant, way: Direction, frame: &[u8]) {
        if way != Direction::Tx {
            return;
        }
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        if ip.next_header() != IpProtocol::Udp {
            return;
        }
        let Ok(udp) = UdpPacket::new_checked(ip.payload()) else {
            return;
        };
        if udp.src_port() == 5353 {
            self.0
                .borrow_mut()
                .push((now, ip.dst_addr(), udp.payload().to_vec()));
        }
    }
    fn event(&mut self, _: Instant, _: Event) {}
}

fn name(s: &str) -> Name {
    Name::from_parts(&[s]).expect("a valid name")
}

fn group() -> Ipv4Address {
    Ipv4Address::new(224, 0, 0, 251)
}

#[test]
fn probes_three_times_then_announces_twice() {
    let (mut net, a, _) = SimNet::pair(5).unwrap();
    let sent: Sent = Rc::default();
    net.observe(a, Some(Box::new(MdnsFrames(sent.clone()))));
    let mut responder: Responder = Responder::new("layernet").unwrap();
    responder.advertise(advert(Kind::Files)).unwrap();
    let responder = Rc::new(RefCell::new(responder));
    net.serve(a, Box::new(responder.clone()));
    net.run_for(Duration::from_secs(5));
    assert_eq!(responder.borrow().phase(), Phase::Ready);

    let sent = sent.borrow();
    let host = name("layernet.local");
    let mut probes = Vec::new();
    let mut announcements = Vec::new();
    for (at, to, msg) in sent.iter() {
        assert_eq!(*to, group(), "all multicast");
        let mut r = Reader::new(msg).unwrap();
        let h = r.header();
        if h.is_response() {
            announcements.push(*at);
            // Every record: A, the link-local AAAA, and the file service's four.
            assert_eq!(h.answers, 6, "{h:?}");
            let a = r.next_record().unwrap();
            assert!(r.name_is(a.name, &host));
            assert_eq!((a.rtype, a.rdata), (TYPE_A, &[192, 168, 69, 1][..]));
            assert_eq!(a.class, CLASS_IN | 0x8000, "cache-flush: a unique record");
        } else {
            probes.push(*at);
            let q = r.next_question().unwrap();
            assert!(r.name_is(q.name, &host) && q.unicast_response());
            let proposed = r.next_record().unwrap();
            assert_eq!(proposed.section, Section::Authority);
            assert_eq!(proposed.rdata, &[192, 168, 69, 1]);
        }
    }
    println!("probes at {probes:?}, announcements at {announcements:?}");
    assert_eq!(probes.len(), 3);
    assert_eq!(announcements.len(), 2);
    assert!(probes[0] <= Instant::from_millis(250), "{probes:?}");
    for pair in probes.windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::from_millis(250));
    }
    assert_eq!(announcements[0] - probes[2], Duration::from_millis(250));
    assert_eq!(announcements[1] - announcements[0], Duration::from_secs(1));
}

/// A query as `dig -p 5353 @224.0.0.251 NAME` sends it: from an
/// ephemeral port, with an ID, one question.
fn legacy_query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf, id, 0x0100).unwrap();
    w.question(&name(qname), qtype, CLASS_IN).unwrap();
    let n = w.finish();
    buf[..n].to_vec()
}

fn ask(net: &mut SimNet, from: usize, query: &[u8]) -> Option<(Vec<u8>, IpEndpoint)> {
    let mut socket = UdpSocket::bind(net.stack(from), 0).unwrap();
    let to = IpEndpoint::new(IpAddress::Ipv4(group()), 5353);
    socket.send_to(net.stack(from), query, to).unwrap();
    net.run_for(Duration::from_millis(100));
    let mut buf = [0u8; 1500];
    let got = socket.recv_from(net.stack(from), &mut buf).ok();
    socket.close(net.stack(from));
    got.map(|(n, peer)| (buf[..n].to_vec(), peer))
}

#[test]
fn answers_a_legacy_query_by_unicast_with_its_id() {
    let (mut net, a, b) = SimNet::pair(6).unwrap();
    let responder: Responder = Responder::new("layernet").unwrap();
    net.serve(a, Box::new(responder));
    // Not before the name is ours.
    net.run_for(Duration::from_millis(300));
    assert!(ask(&mut net, b, &legacy_query(7, "layernet.local", TYPE_A)).is_none());
    net.run_for(Duration::from_secs(3));

    let (reply, from) =
        ask(&mut net, b, &legacy_query(0xbeef, "LayerNet.Local", TYPE_A)).expect("a unicast reply");
    assert_eq!(from, IpEndpoint::new(host_ip(a).address().into(), 5353));
    let mut r = Reader::new(&reply).unwrap();
    let h = r.header();
    assert_eq!((h.id, h.questions, h.answers), (0xbeef, 1, 1));
    let q = r.next_question().unwrap();
    assert!(r.name_is(q.name, &name("layernet.local")));
    let ans = r.next_record().unwrap();
    assert_eq!(
        (ans.rtype, ans.class, ans.rdata),
        (TYPE_A, CLASS_IN, &[192, 168, 69, 1][..])
    );
    assert!(
        ans.ttl <= 10,
        "legacy answers live 10 s at most: {}",
        ans.ttl
    );

    // A name it does not own: silence.
    assert!(ask(&mut net, b, &legacy_query(1, "other.local", TYPE_A)).is_none());
}

#[test]
fn dns_sd_browse_and_resolve() {
    let (mut net, a, b) = SimNet::pair(7).unwrap();
    let mut responder: Responder = Responder::new("layernet").unwrap();
    for kind in [Kind::Echo, Kind::Files, Kind::Chat] {
        responder.advertise(advert(kind)).unwrap();
    }
    net.serve(a, Box::new(responder));
    net.run_for(Duration::from_secs(3));

    let (reply, _) = ask(
        &mut net,
        b,
        &legacy_query(1, "_services._dns-sd._udp.local", TYPE_PTR),
    )
    .expect("the service types");
    let mut r = Reader::new(&reply).unwrap();
    let mut types = Vec::new();
    while let Some(rec) = r.next_record() {
        for t in [
            "_echo._tcp.local",
            "_http._tcp.local",
            "_layernet-chat._udp.local",
        ] {
            if rec.rtype == TYPE_PTR && r.name_is(rec.rdata_at, &name(t)) {
                types.push(t);
            }
        }
    }
    assert_eq!(
        types,
        [
            "_echo._tcp.local",
            "_http._tcp.local",
            "_layernet-chat._udp.local"
        ]
    );

    let (reply, _) =
        ask(&mut net, b, &legacy_query(2, "_http._tcp.local", TYPE_PTR)).expect("the instance");
    let mut r = Reader::new(&reply).unwrap();
    let instance = name("layernet._http._tcp.local");
    let (mut ptr, mut srv_port, mut addr) = (false, None, None);
    while let Some(rec) = r.next_record() {
        match rec.rtype {
            TYPE_PTR => ptr |= r.name_is(rec.rdata_at, &instance),
            TYPE_SRV if r.name_is(rec.name, &instance) => {
                srv_port = Some(u16::from_be_bytes([rec.rdata[4], rec.rdata[5]]));
                assert!(r.name_is(rec.rdata_at + 6, &name("layernet.local")));
            }
            TYPE_A => addr = Some(rec.rdata.to_vec()),
            _ => {}
        }
    }
    assert!(ptr);
    assert_eq!(srv_port, Some(7878));
    assert_eq!(
        addr,
        Some(vec![192, 168, 69, 1]),
        "the host's address, additional"
    );
}

fn lines(net: &mut SimNet) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    net.drain_logs(&mut |host, line| lines.push((host, line.to_owned())));
    lines
}

#[test]
fn the_second_of_two_takes_name_2() {
    let (mut net, a, b) = SimNet::pair(8).unwrap();
    let first = Rc::new(RefCell::new(Responder::<16>::new("layernet").unwrap()));
    net.serve(a, Box::new(first.clone()));
    net.run_for(Duration::from_secs(4));
    let second = Rc::new(RefCell::new(Responder::<16>::new("layernet").unwrap()));
    net.serve(b, Box::new(second.clone()));
    net.run_for(Duration::from_secs(5));
    let lines = lines(&mut net);
    println!("{lines:?}");
    assert_eq!(first.borrow().hostname().as_str(), "layernet");
    assert_eq!(second.borrow().hostname().as_str(), "layernet-2");
    assert_eq!(second.borrow().phase(), Phase::Ready);
    let taken: Vec<_> = lines
        .iter()
        .filter(|(_, l)| l.contains("is taken"))
        .collect();
    assert_eq!(
        taken,
        [&(
            b,
            "mdns: layernet.local is taken, now layernet-2.local".to_owned()
        )]
    );
    // Each answers for its own name.
    let (reply, from) =
        ask(&mut net, a, &legacy_query(3, "layernet-2.local", TYPE_A)).expect("an answer");
    assert_eq!(from.addr, IpAddress::from(host_ip(b).address()));
    let mut r = Reader::new(&reply).unwrap();
    assert_eq!(
        r.next_record().map(|x| x.rdata.to_vec()),
        Some(vec![192, 168, 69, 2])
    );
}

#[test]
fn two_at_once_end_with_two_names() {
    let (mut net, a, b) = SimNet::pair(9).unwrap();
    let ra = Rc::new(RefCell::new(Responder::<16>::new("layernet").unwrap()));
    let rb = Rc::new(RefCell::new(Responder::<16>::new("layernet").unwrap()));
    net.serve(a, Box::new(ra.clone()));
    net.serve(b, Box::new(rb.clone()));
    net.run_for(Duration::from_secs(10));
    let lines = lines(&mut net);
    println!("{lines:?}");
    let names = [ra.borrow().hostname(), rb.borrow().hostname()];
    assert_ne!(names[0], names[1], "{lines:?}");
    assert!(names.iter().any(|n| n.as_str() == "layernet"), "{names:?}");
    assert_eq!(
        (ra.borrow().phase(), rb.borrow().phase()),
        (Phase::Ready, Phase::Ready)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Whatever arrives, reading it ends without a panic, and every name
    /// offset it hands out compares without one.
    #[test]
    fn no_bytes_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Some(mut r) = Reader::new(&bytes) {
            let target = name("layernet.local");
            while let Some(q) = r.next_question() {
                let _ = r.name_is(q.name, &target);
                let _ = r.labels_before(q.name, &target);
            }
            while let Some(rec) = r.next_record() {
                let _ = r.name_is(rec.name, &target);
                let _ = r.name_is(rec.rdata_at, &target);
            }
        }
    }
}

proptest! {
    // Each case runs a segment for 3 virtual seconds.
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A real query with its bytes changed here and there: the
    /// responder's own reading of it, over the segment, never panics.
    #[test]
    fn mangled_queries_reach_a_responder_safely(
        flips in proptest::collection::vec((0usize..64, any::<u8>()), 1..8)
    ) {
        let mut q = legacy_query(5, "_http._tcp.local", TYPE_PTR);
        for (at, b) in flips {
            let n = q.len();
            q[at % n] = b;
        }
        let (mut net, a, b) = SimNet::pair(3).unwrap();
        let mut responder: Responder = Responder::new("layernet").unwrap();
        responder.advertise(advert(Kind::Files)).unwrap();
        net.serve(a, Box::new(responder));
        net.run_for(Duration::from_secs(3));
        let _ = ask(&mut net, b, &q);
    }
}
