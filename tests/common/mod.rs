//! What the tests that forge TCP segments share: a segment and a frame
//! built from smoltcp's `Repr`s, and an observer that keeps the frames a host
//! received. Each test binary uses part of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use layernet::host::sim::{HostId, SimNet, endpoint};
use layernet::net::{Direction, Event, Observer};
use layernet::socket::{TcpListener, TcpStream};
use layernet::{Duration, EthernetAddress, Instant, IpAddress, IpEndpoint, Ipv4Address};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl,
    TcpPacket, TcpRepr, TcpSeqNumber,
};

/// A TCP segment from `src_port` to `dst_port` with `control`, sequence
/// number `seq` and `payload`, no ACK, a zero window and no options: the
/// tests set what else they need with `..segment(..)`.
pub fn segment<'a>(
    (src_port, dst_port): (u16, u16),
    control: TcpControl,
    seq: u32,
    payload: &'a [u8],
) -> TcpRepr<'a> {
    TcpRepr {
        src_port,
        dst_port,
        control,
        seq_number: TcpSeqNumber(seq as i32),
        ack_number: None,
        window_len: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload,
    }
}

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

/// Two hosts, the second connected to port 7 of the first, which keeps
/// the frames it receives: the connection has carried `data` from the
/// client and the server has not read it yet.
pub struct Watched {
    pub net: SimNet,
    /// The server's host and the client's.
    pub hosts: (HostId, HostId),
    pub server: TcpStream,
    pub client: TcpStream,
    /// The client's end, as the server sees it.
    pub peer: IpEndpoint,
    /// The frames the server received.
    pub seen: Rc<RefCell<Vec<Vec<u8>>>>,
}

pub fn watched_connection(data: &[u8]) -> Watched {
    let (mut net, server, client) = SimNet::pair(5).expect("two hosts");
    let seen = Rc::new(RefCell::new(Vec::new()));
    net.observe(server, Some(Box::new(SeenRx(Rc::clone(&seen)))));
    let mut listener = TcpListener::bind(net.stack(server), 7, 1).expect("bind");
    let mut c = TcpStream::connect(net.stack(client), endpoint(server, 7)).expect("connect");
    net.run_for(Duration::from_millis(10));
    let (s, peer) = listener.accept(net.stack(server)).expect("accept");
    c.send(net.stack(client), data).expect("send");
    net.run_for(Duration::from_millis(300));
    Watched {
        net,
        hosts: (server, client),
        server: s,
        client: c,
        peer,
        seen,
    }
}
