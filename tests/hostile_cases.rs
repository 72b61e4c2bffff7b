//! Crafted frames, one per known attack class, each with its expected
//! outcome written beside it: the gate's drop reason whose counter must
//! rise, smoltcp's silent refusal, or the exact reply the victim sends (an
//! RST with the right numbers, an ACK, an ICMP reply of the right size).
//! After the table a normal client must still be served.
//!
//! The frames are built byte by byte (not with smoltcp's `emit`, which
//! only writes valid headers); the replies are read with smoltcp's `wire`
//! parsers from an observer on the victim, so each case sees exactly what
//! the victim put on the wire in answer.

use std::cell::RefCell;
use std::rc::Rc;

use layernet::app::echo::{EchoClient, EchoServer};
use layernet::app::{Outcome, ports};
use layernet::host::sim::{SimNet, SimPort, endpoint, host_ip, host_mac};
use layernet::net::{Counters, Direction, DropReason, Event, Observer};
use layernet::socket::{TcpListener, UdpSocket};
use layernet::{Duration, EthernetAddress, Instant};
use smoltcp::phy::{Device, TxToken};
use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, Icmpv4Packet, IpProtocol, Ipv4Packet, TcpPacket,
};

const ATTACKER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x66]);
const ATTACKER: [u8; 4] = [192, 168, 69, 66];
const VICTIM_HOST: usize = 0;
/// A listener the test never reads from: its replies are bare ACKs, with
/// no echoed data mixed in.
const SINK: u16 = 9;
/// Nobody listens here (TCP or UDP).
const CLOSED: u16 = 4444;
/// The attacker's port for its one real connection (to [`SINK`]).
const CONN_PORT: u16 = 40001;

fn victim() -> [u8; 4] {
    host_ip(VICTIM_HOST).address().octets()
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;

// ---- frame builders -------------------------------------------------

fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for chunk in chunks {
        for pair in chunk.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            sum += hi | pair.get(1).map_or(0, |&lo| u32::from(lo));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = host_mac(VICTIM_HOST).0.to_vec();
    f.extend_from_slice(&ATTACKER_MAC.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 packet from `src` to the victim in an Ethernet frame, every
/// field right; `options` must be a multiple of 4 bytes.
fn ip_from(src: [u8; 4], proto: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let header_len = 20 + options.len();
    let total = (header_len + payload.len()) as u16;
    let mut h = vec![0x40 | (header_len / 4) as u8, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&victim());
    h.extend_from_slice(options);
    let sum = checksum(&[&h]);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    ethernet(0x0800, &h)
}

fn ip(proto: u8, payload: &[u8]) -> Vec<u8> {
    ip_from(ATTACKER, proto, &[], payload)
}

/// Change IPv4 header bytes, then make the header checksum right again
/// over the header length now declared (as far as the frame reaches), so
/// that only the change itself is wrong.
fn patch_ip(mut f: Vec<u8>, edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    edit(&mut f[14..]);
    let declared = usize::from(f[14] & 0x0f) * 4;
    let end = (14 + declared.max(20)).min(f.len());
    f[24..26].fill(0);
    let sum = checksum(&[&f[14..end]]);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    f
}

/// The same packet to the subnet's broadcast address (the Ethernet frame
/// still to the victim alone: the other host would answer too). A TCP
/// checksum is made right for the new pseudo-header.
fn to_broadcast(f: Vec<u8>) -> Vec<u8> {
    const ALL: [u8; 4] = [192, 168, 69, 255];
    let mut f = patch_ip(f, |h| h[16..20].copy_from_slice(&ALL));
    if f[23] == 6 {
        f[50..52].fill(0);
        let len = (f.len() - 34) as u16;
        let pseudo = [&ATTACKER[..], &ALL, &[0, 6], &len.to_be_bytes()].concat();
        let sum = checksum(&[&pseudo, &f[34..]]);
        f[50..52].copy_from_slice(&sum.to_be_bytes());
    }
    f
}

/// `frag` is the flags-and-offset field (0x2000: more fragments).
fn fragment(frag: u16, payload: &[u8]) -> Vec<u8> {
    patch_ip(ip(1, payload), |h| {
        h[6..8].copy_from_slice(&frag.to_be_bytes())
    })
}

fn pseudo(src: [u8; 4], proto: u8, len: usize) -> Vec<u8> {
    let mut p = src.to_vec();
    p.extend_from_slice(&victim());
    p.extend_from_slice(&[0, proto]);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p
}

struct Seg<'a> {
    src: [u8; 4],
    from: u16,
    to: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    options: &'a [u8],
    urgent: u16,
    payload: &'a [u8],
}

const SEG: Seg<'static> = Seg {
    src: ATTACKER,
    from: 40000,
    to: SINK,
    seq: 1000,
    ack: 0,
    flags: SYN,
    options: &[],
    urgent: 0,
    payload: &[],
};

/// A TCP segment with a right checksum; `options` a multiple of 4 bytes.
fn tcp_bytes(s: &Seg) -> Vec<u8> {
    let offset = (20 + s.options.len()) / 4;
    let mut t = s.from.to_be_bytes().to_vec();
    t.extend_from_slice(&s.to.to_be_bytes());
    t.extend_from_slice(&s.seq.to_be_bytes());
    t.extend_from_slice(&s.ack.to_be_bytes());
    t.extend_from_slice(&[(offset as u8) << 4, s.flags, 0x20, 0x00, 0, 0]);
    t.extend_from_slice(&s.urgent.to_be_bytes());
    t.extend_from_slice(s.options);
    t.extend_from_slice(s.payload);
    let sum = checksum(&[&pseudo(s.src, 6, t.len()), &t]);
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    t
}

fn tcp(s: Seg) -> Vec<u8> {
    ip_from(s.src, 6, &[], &tcp_bytes(&s))
}

/// A segment whose data offset field says `words`, checksum made right.
fn tcp_offset(words: u8) -> Vec<u8> {
    let mut t = tcp_bytes(&SEG);
    t[12] = words << 4;
    t[16..18].fill(0);
    let sum = checksum(&[&pseudo(ATTACKER, 6, t.len()), &t]);
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    ip(6, &t)
}

fn udp_bytes(to: u16, length: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    let mut u = 5000u16.to_be_bytes().to_vec();
    u.extend_from_slice(&to.to_be_bytes());
    u.extend_from_slice(&length.unwrap_or(len).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let sum = checksum(&[&pseudo(ATTACKER, 17, u.len()), &u]);
    u[6..8].copy_from_slice(&sum.to_be_bytes());
    u
}

fn udp(to: u16, payload: &[u8]) -> Vec<u8> {
    ip(17, &udp_bytes(to, None, payload))
}

fn icmp_echo(data: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0, 0x4c, 0x4e, 0, 1];
    m.extend_from_slice(data);
    let sum = checksum(&[&m]);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

/// An Ethernet/IPv4 ARP packet (hardware and protocol lengths given).
fn arp(op: u16, lens: (u8, u8), sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, lens.0, lens.1];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&ATTACKER_MAC.0);
    a.extend_from_slice(&sender);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&target);
    let mut f = ethernet(0x0806, &a);
    f[..6].copy_from_slice(&[0xff; 6]);
    f
}

// ---- what the victim sent back ----------------------------------------

/// One frame the victim sent, reduced to what the cases check.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Arp {
        op: u16,
        sender: [u8; 4],
        target: [u8; 4],
    },
    Tcp {
        to: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        len: usize,
    },
    /// `len` is the whole ICMP message (header and data).
    Icmp {
        kind: u8,
        code: u8,
        len: usize,
    },
    Other(usize),
}

fn parse(frame: &[u8]) -> Got {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return Got::Other(frame.len());
    };
    if eth.ethertype() == EthernetProtocol::Arp
        && let Ok(a) = ArpPacket::new_checked(eth.payload())
        && let (Ok(sender), Ok(target)) = (
            a.source_protocol_addr().try_into(),
            a.target_protocol_addr().try_into(),
        )
    {
        let op = u16::from(a.operation());
        return Got::Arp { op, sender, target };
    }
    let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
        return Got::Other(frame.len());
    };
    match ip.next_header() {
        IpProtocol::Tcp => match TcpPacket::new_checked(ip.payload()) {
            Ok(t) => Got::Tcp {
                to: t.dst_port(),
                flags: t.raw_flags_byte(),
                seq: t.seq_number().0 as u32,
                ack: if t.ack() { t.ack_number().0 as u32 } else { 0 },
                len: t.payload().len(),
            },
            Err(_) => Got::Other(frame.len()),
        },
        IpProtocol::Icmp => match Icmpv4Packet::new_checked(ip.payload()) {
            Ok(i) => Got::Icmp {
                kind: u8::from(i.msg_type()),
                code: i.msg_code(),
                len: ip.payload().len(),
            },
            Err(_) => Got::Other(frame.len()),
        },
        _ => Got::Other(frame.len()),
    }
}

trait RawFlags {
    fn raw_flags_byte(&self) -> u8;
}

impl<T: AsRef<[u8]>> RawFlags for TcpPacket<T> {
    fn raw_flags_byte(&self) -> u8 {
        self.as_ref()[13]
    }
}

fn rst(to: u16, seq: u32, ack: u32) -> Got {
    let flags = if ack == 0 { RST } else { RST | ACK };
    Got::Tcp {
        to,
        flags,
        seq,
        ack,
        len: 0,
    }
}

/// The victim's frames, as they leave.
struct Sent(Rc<RefCell<Vec<Vec<u8>>>>);

impl Observer for Sent {
    fn frame(&mut self, _: Instant, direction: Direction, frame: &[u8]) {
        if direction == Direction::Tx {
            self.0.borrow_mut().push(frame.to_vec());
        }
    }
    fn event(&mut self, _: Instant, _: Event) {}
}

// ---- the table ------------------------------------------------------

/// The attacker's one established connection to [`SINK`]: the next
/// sequence number each side expects.
#[derive(Debug, Clone, Copy)]
struct Conn {
    /// Ours: the victim's RCV.NXT.
    snd: u32,
    /// The victim's: its SND.NXT, what we acknowledge.
    rcv: u32,
}

enum Expect {
    /// The gate drops it: this reason's counter rises by one; nothing sent.
    Drop(DropReason),
    /// The gate admits it and smoltcp takes it without a word.
    Silent,
    /// The link itself cannot deliver it: the stack never sees it.
    NeverArrives,
    /// The victim answers with exactly one frame, matching.
    Reply(fn(&Conn, &Got) -> bool),
}

struct Case {
    name: &'static str,
    frame: fn(&Conn) -> Vec<u8>,
    expect: Expect,
    /// Where the RFCs ask for something else: what and why.
    note: Option<&'static str>,
}

fn is_syn_ack(g: &Got, to: u16, ack: u32) -> bool {
    matches!(g, Got::Tcp { to: t, flags, ack: a, len: 0, .. }
        if *t == to && *flags == SYN | ACK && *a == ack)
}

/// A segment on the attacker's live connection.
fn on_conn(c: &Conn, flags: u8, payload: &'static [u8]) -> Seg<'static> {
    Seg {
        from: CONN_PORT,
        seq: c.snd,
        ack: c.rcv,
        flags,
        payload,
        ..SEG
    }
}

/// The victim's duplicate ACK on the live connection: where it stands.
fn is_ack_of(c: &Conn, g: &Got, advanced: u32) -> bool {
    *g == Got::Tcp {
        to: CONN_PORT,
        flags: ACK,
        seq: c.rcv,
        ack: c.snd.wrapping_add(advanced),
        len: 0,
    }
}

fn cases() -> Vec<Case> {
    use DropReason::*;
    use Expect::*;
    let case = |name, frame, expect| Case {
        name,
        frame,
        expect,
        note: None,
    };
    let differs = |name, frame, expect, note| Case {
        name,
        frame,
        expect,
        note: Some(note),
    };
    vec![
        // ---- Ethernet and ARP ----
        // The segment cannot route a frame with no whole destination
        // address; the gate's own check is its unit test.
        case("ethernet under 14 bytes", |_| vec![0xff; 13], NeverArrives),
        // IPv6 is spoken now: this header claims 0x6060 payload bytes.
        case(
            "IPv6 header with a payload length past the frame",
            |_| ethernet(0x86dd, &[0x60; 40]),
            Drop(Malformed),
        ),
        case(
            "ethertype EtherCAT",
            |_| ethernet(0x88a4, &[0; 46]),
            Drop(Unsupported),
        ),
        case(
            "ARP request, valid",
            |_| arp(1, (6, 4), ATTACKER, victim()),
            Reply(|_, g| {
                *g == Got::Arp {
                    op: 2,
                    sender: victim(),
                    target: ATTACKER,
                }
            }),
        ),
        case(
            "ARP hardware length 8 (packet long enough for it)",
            |_| [arp(1, (8, 4), ATTACKER, victim()), vec![0; 4]].concat(),
            Drop(Unsupported),
        ),
        case(
            "ARP hardware length 8 (packet too short for it)",
            |_| arp(1, (8, 4), ATTACKER, victim()),
            Drop(Malformed),
        ),
        case(
            "ARP protocol length 16",
            |_| arp(1, (6, 16), ATTACKER, victim()),
            Drop(Malformed),
        ),
        case(
            "ARP truncated after the lengths",
            |_| arp(1, (6, 4), ATTACKER, victim())[..22].to_vec(),
            Drop(Malformed),
        ),
        differs(
            "ARP request claiming the victim's own address",
            |_| arp(1, (6, 4), victim(), victim()),
            Drop(Malformed),
            "RFC 5227 asks a host to detect the conflict (and may defend its address); \
             the gate drops it, so no cache ever maps our address to a stranger",
        ),
        differs(
            "ARP reply claiming the victim's own address",
            |_| arp(2, (6, 4), victim(), victim()),
            Drop(Malformed),
            "as above: dropped, no conflict detection",
        ),
        // ---- IPv4 header ----
        case(
            "IPv4 header length 4 words (under 5)",
            |_| patch_ip(ip(1, &icmp_echo(b"x")), |h| h[0] = 0x44),
            Drop(Malformed),
        ),
        case(
            "IPv4 header length above the total length",
            |_| patch_ip(ip(1, &icmp_echo(b"x")), |h| h[0] = 0x48),
            Drop(Malformed),
        ),
        case(
            "IPv4 header length above the frame",
            |_| patch_ip(ip(1, &icmp_echo(b"x"))[..34].to_vec(), |h| h[0] = 0x4f),
            Drop(Malformed),
        ),
        case(
            "IPv4 total length longer than the frame",
            |_| {
                patch_ip(ip(1, &icmp_echo(b"abc")), |h| {
                    h[2..4].copy_from_slice(&200u16.to_be_bytes())
                })
            },
            Drop(Malformed),
        ),
        case(
            "IPv4 total length under the header",
            |_| {
                patch_ip(ip(1, &icmp_echo(b"abc")), |h| {
                    h[2..4].copy_from_slice(&12u16.to_be_bytes())
                })
            },
            Drop(Malformed),
        ),
        case(
            "IPv4 total length shorter than the frame (trailing bytes ignored)",
            |_| {
                let mut f = ip(1, &icmp_echo(&[7; 32]));
                f.extend_from_slice(&[0xee; 20]);
                f
            },
            Reply(|_, g| {
                *g == Got::Icmp {
                    kind: 0,
                    code: 0,
                    len: 40,
                }
            }),
        ),
        case(
            "IPv4 bad header checksum",
            |_| {
                let mut f = ip(1, &icmp_echo(b"x"));
                f[24] ^= 0x55;
                f
            },
            Drop(BadChecksum),
        ),
        case(
            "IPv4 version 6 in an IPv4 frame",
            |_| patch_ip(ip(1, &icmp_echo(b"x")), |h| h[0] = 0x65),
            Drop(Malformed),
        ),
        differs(
            "IPv4 option length 0",
            |_| ip_from(ATTACKER, 1, &[0x83, 0, 0, 0], &icmp_echo(&[1; 16])),
            Reply(|_, g| {
                *g == Got::Icmp {
                    kind: 0,
                    code: 0,
                    len: 24,
                }
            }),
            "smoltcp never reads IPv4 options (it skips the header length), so a \
             broken option list cannot loop or overrun; RFC 1122 3.2.1.8 lets a host \
             ignore options it does not implement, but a malformed one is not rejected",
        ),
        differs(
            "IPv4 option length past the header",
            |_| ip_from(ATTACKER, 1, &[0x44, 40, 5, 0], &icmp_echo(&[2; 16])),
            Reply(|_, g| {
                *g == Got::Icmp {
                    kind: 0,
                    code: 0,
                    len: 24,
                }
            }),
            "as above: options skipped, not parsed",
        ),
        case(
            "IPv4 unknown protocol 253",
            |_| ip(253, &[0; 8]),
            Drop(Unsupported),
        ),
        case(
            "source address broadcast",
            |_| ip_from([255; 4], 1, &[], &icmp_echo(b"x")),
            Drop(Malformed),
        ),
        case(
            "land: TCP SYN from the victim's own address and port",
            |_| {
                tcp(Seg {
                    src: victim(),
                    from: ports::ECHO,
                    to: ports::ECHO,
                    ..SEG
                })
            },
            Drop(Malformed),
        ),
        case(
            "land: ICMP echo from the victim's own address",
            |_| ip_from(victim(), 1, &[], &icmp_echo(b"x")),
            Drop(Malformed),
        ),
        // ---- fragments: this stack does not reassemble ----
        case(
            "first fragment (more fragments)",
            |_| fragment(0x2000, &icmp_echo(&[3; 32])),
            Drop(Fragment),
        ),
        case(
            "overlapping fragment (offset 8 over the first)",
            |_| fragment(0x2001, &[4; 32]),
            Drop(Fragment),
        ),
        case(
            "tiny fragment (8 bytes)",
            |_| fragment(0x2000, &icmp_echo(&[])),
            Drop(Fragment),
        ),
        case(
            "last fragment of one never completed",
            |_| fragment(0x0004, &[5; 16]),
            Drop(Fragment),
        ),
        case(
            "fragment reaching past 64 KiB (offset 65528, 40 bytes)",
            |_| fragment(0x1fff, &[6; 40]),
            Drop(Fragment),
        ),
        // ---- TCP header ----
        case(
            "TCP data offset 4 (under 5)",
            |_| tcp_offset(4),
            Drop(Malformed),
        ),
        case(
            "TCP data offset 15 (past the segment)",
            |_| tcp_offset(15),
            Drop(Malformed),
        ),
        case(
            "TCP option length 0",
            |_| {
                tcp(Seg {
                    options: &[8, 0, 0, 0],
                    ..SEG
                })
            },
            Drop(Malformed),
        ),
        case(
            "TCP option length 1",
            |_| {
                tcp(Seg {
                    options: &[8, 1, 0, 0],
                    ..SEG
                })
            },
            Drop(Malformed),
        ),
        case(
            "TCP option length past the header",
            |_| {
                tcp(Seg {
                    options: &[8, 10, 0, 0],
                    ..SEG
                })
            },
            Drop(Malformed),
        ),
        case(
            "TCP MSS option of the wrong length (3)",
            |_| {
                tcp(Seg {
                    options: &[2, 3, 0, 1],
                    ..SEG
                })
            },
            Drop(Malformed),
        ),
        differs(
            "SYN with MSS 0",
            |_| {
                tcp(Seg {
                    from: 40002,
                    options: &[2, 4, 0, 0],
                    ..SEG
                })
            },
            Reply(|_, g| is_syn_ack(g, 40002, 1001)),
            "no RFC gives a floor for the option; smoltcp treats an MSS of 0 as absent \
             (RFC 9293's default of 536) and raises any other below 48 to 48, so a \
             peer cannot make it send one byte per segment",
        ),
        // RFC 7323 2.3: use 14 instead; smoltcp's parser does.
        case(
            "SYN with window scale 15 (above 14)",
            |_| {
                tcp(Seg {
                    from: 40003,
                    options: &[3, 3, 15, 0],
                    ..SEG
                })
            },
            Reply(|_, g| is_syn_ack(g, 40003, 1001)),
        ),
        case(
            "SYN+FIN",
            |_| {
                tcp(Seg {
                    flags: SYN | FIN,
                    ..SEG
                })
            },
            Drop(Malformed),
        ),
        case(
            "SYN+RST",
            |_| {
                tcp(Seg {
                    flags: SYN | RST,
                    ..SEG
                })
            },
            Drop(Malformed),
        ),
        case(
            "all flags",
            |_| tcp(Seg { flags: 0xff, ..SEG }),
            Drop(Malformed),
        ),
        case(
            "TCP source port 0",
            |_| tcp(Seg { from: 0, ..SEG }),
            Drop(Malformed),
        ),
        case(
            "no flags, to a listener",
            |_| {
                tcp(Seg {
                    from: 40004,
                    flags: 0,
                    ..SEG
                })
            },
            Silent,
        ),
        differs(
            "no flags, to a closed port",
            |_| {
                tcp(Seg {
                    to: CLOSED,
                    flags: 0,
                    payload: b"abc",
                    ..SEG
                })
            },
            Reply(|_, g| *g == rst(40000, 0, 0)),
            "RFC 9293 3.10.7.1 answers a segment without ACK with <SEQ=0><ACK=SEG.SEQ+SEG.LEN>\
             <CTL=RST,ACK>; smoltcp sets the ACK only when answering a SYN, so this RST \
             carries none (a peer that sends no ACK is not in a state to check it)",
        ),
        case(
            "SYN to a closed port",
            |_| tcp(Seg { to: CLOSED, ..SEG }),
            Reply(|_, g| *g == rst(40000, 0, 1001)),
        ),
        case(
            "ACK to a closed port",
            |_| {
                tcp(Seg {
                    to: CLOSED,
                    flags: ACK,
                    ack: 777,
                    ..SEG
                })
            },
            Reply(|_, g| *g == rst(40000, 777, 0)),
        ),
        case(
            "RST to a closed port",
            |_| {
                tcp(Seg {
                    to: CLOSED,
                    flags: RST,
                    ..SEG
                })
            },
            Silent,
        ),
        case(
            "bad TCP checksum",
            |_| {
                let mut f = tcp(SEG);
                f[50] ^= 0x10;
                f
            },
            Drop(BadChecksum),
        ),
        // ---- on the attacker's established connection to SINK ----
        case(
            "urgent pointer past the payload",
            |c| {
                tcp(Seg {
                    urgent: 5000,
                    ..on_conn(c, ACK | URG | PSH, b"hello")
                })
            },
            Reply(|c, g| is_ack_of(c, g, 5)),
        ),
        // RFC 5961 3.2: silently discarded; the gate's counter says why.
        case(
            "RST out of the window",
            |c| {
                tcp(Seg {
                    seq: c.snd.wrapping_add(1 << 30),
                    ..on_conn(c, RST, b"")
                })
            },
            Drop(RstNotExact),
        ),
        differs(
            "RST in the window but not exact",
            |c| {
                tcp(Seg {
                    seq: c.snd.wrapping_add(100),
                    ..on_conn(c, RST, b"")
                })
            },
            Drop(RstNotExact),
            "RFC 5961 3.2 asks for a challenge ACK; the gate drops and counts instead \
             (an honest peer whose RST was off by some bytes retries; a blind \
             attacker learns nothing)",
        ),
        case(
            "ACK of data never sent",
            |c| {
                tcp(Seg {
                    ack: c.rcv.wrapping_add(5000),
                    ..on_conn(c, ACK, b"")
                })
            },
            Reply(|c, g| is_ack_of(c, g, 0)),
        ),
        case(
            "data out of the window",
            |c| {
                tcp(Seg {
                    seq: c.snd.wrapping_add(1 << 20),
                    ..on_conn(c, ACK | PSH, b"late")
                })
            },
            Reply(|c, g| is_ack_of(c, g, 0)),
        ),
        differs(
            "SYN on the established connection",
            |c| {
                tcp(Seg {
                    ack: 0,
                    ..on_conn(c, SYN, b"")
                })
            },
            Drop(SynRepeat),
            "RFC 5961 4.2 asks for a challenge ACK to any SYN on a synchronised \
             connection (RFC 793 reset it); smoltcp's socket would drop a segment without \
             ACK before it gets there, but a socket in LISTEN for the port would take it \
             as a new connection, so the gate drops it first: the connection is safe, a \
             restarted peer learns nothing until its SYN times out",
        ),
        case(
            "no flags on the established connection (no ACK)",
            |c| {
                tcp(Seg {
                    ack: 0,
                    ..on_conn(c, 0, b"zz")
                })
            },
            Silent,
        ),
        case(
            "RST at exactly the next sequence number",
            |c| tcp(on_conn(c, RST, b"")),
            Silent,
        ),
        case(
            "data on the connection just reset",
            |c| tcp(on_conn(c, ACK, b"anyone")),
            Reply(|c, g| *g == rst(CONN_PORT, c.rcv, 0)),
        ),
        // ---- UDP ----
        case(
            "bad UDP checksum",
            |_| {
                let mut f = udp(SINK, b"datagram");
                f[43] ^= 1;
                f
            },
            Drop(BadChecksum),
        ),
        case(
            "UDP without a checksum (0), to an open port",
            |_| {
                let mut f = udp(SINK, b"datagram");
                f[40..42].fill(0);
                f
            },
            Silent,
        ),
        case(
            "UDP length under 8",
            |_| ip(17, &udp_bytes(SINK, Some(4), b"datagram")),
            Drop(Malformed),
        ),
        case(
            "UDP length past the packet",
            |_| ip(17, &udp_bytes(SINK, Some(400), b"datagram")),
            Drop(Malformed),
        ),
        case(
            "UDP to port 0",
            |_| ip(17, &udp_bytes(0, None, b"x")),
            Drop(Malformed),
        ),
        case(
            "UDP to a closed port",
            |_| udp(CLOSED, &[9; 100]),
            // Type 3 code 3: 8 bytes of ICMP, then the whole offending IPv4
            // packet (20 + 108): under the 576-byte limit, so not cut.
            Reply(|_, g| {
                *g == Got::Icmp {
                    kind: 3,
                    code: 3,
                    len: 8 + 128,
                }
            }),
        ),
        case(
            "UDP to a closed port, too big to quote whole",
            |_| udp(CLOSED, &[9; 1000]),
            // RFC 1812 4.3.2.3: as much as fits in 576 bytes of IPv4.
            Reply(|_, g| {
                *g == Got::Icmp {
                    kind: 3,
                    code: 3,
                    len: 576 - 20,
                }
            }),
        ),
        // ---- ICMP ----
        case(
            "ICMP echo of 1464 bytes (more than any ICMP socket buffer)",
            |_| ip(1, &icmp_echo(&[0xab; 1464])),
            Reply(|_, g| {
                *g == Got::Icmp {
                    kind: 0,
                    code: 0,
                    len: 8 + 1464,
                }
            }),
        ),
        // RFC 1122 3.2.2.6 lets a host answer; smoltcp does, from its own address.
        case(
            "ICMP echo to the subnet broadcast",
            |_| to_broadcast(ip(1, &icmp_echo(b"all of you"))),
            Reply(|_, g| {
                *g == Got::Icmp {
                    kind: 0,
                    code: 0,
                    len: 18,
                }
            }),
        ),
        case(
            "TCP SYN to the subnet broadcast",
            |_| to_broadcast(tcp(SEG)),
            Drop(NotForUs),
        ),
        case(
            "ICMP truncated (4 bytes)",
            |_| ip(1, &icmp_echo(b"")[..4]),
            Drop(Malformed),
        ),
        case(
            "ICMP bad checksum",
            |_| {
                let mut f = ip(1, &icmp_echo(b"ping"));
                f[36] ^= 1;
                f
            },
            Drop(BadChecksum),
        ),
        case(
            "ICMP echo with a nonzero code",
            |_| {
                let mut m = icmp_echo(b"ping");
                m[1] = 9;
                m[2..4].fill(0);
                let sum = checksum(&[&m]);
                m[2..4].copy_from_slice(&sum.to_be_bytes());
                ip(1, &m)
            },
            Drop(Malformed),
        ),
        case(
            "ICMP timestamp request (type 13)",
            |_| {
                let mut m = vec![13, 0, 0, 0, 0, 1, 0, 1];
                m.extend_from_slice(&[0; 12]);
                let sum = checksum(&[&m]);
                m[2..4].copy_from_slice(&sum.to_be_bytes());
                ip(1, &m)
            },
            Drop(Unsupported),
        ),
    ]
}

// ---- the run --------------------------------------------------------

struct Bench {
    net: SimNet,
    attacker: SimPort,
    sent: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl Bench {
    /// Hand `frame` to the victim and return what it sent within 50 ms.
    fn inject(&mut self, frame: &[u8]) -> Vec<Got> {
        self.sent.borrow_mut().clear();
        let tx = self
            .attacker
            .transmit(self.net.now())
            .expect("segment queue has room");
        tx.consume(frame.len(), |b| b.copy_from_slice(frame));
        self.net.run_for(Duration::from_millis(50));
        while self.attacker.receive(self.net.now()).is_some() {}
        self.sent.borrow().iter().map(|f| parse(f)).collect()
    }

    fn counters(&mut self) -> Counters {
        self.net.stack(VICTIM_HOST).counters()
    }

    /// A real handshake from [`CONN_PORT`] to [`SINK`].
    fn connect(&mut self) -> Conn {
        let isn = 0x1000_0000;
        let syn = tcp(Seg {
            from: CONN_PORT,
            seq: isn,
            ..SEG
        });
        let reply = self.inject(&syn);
        let Some(Got::Tcp { seq, flags, .. }) = reply.first().cloned() else {
            panic!("no SYN-ACK: {reply:?}");
        };
        assert_eq!(flags, SYN | ACK);
        let conn = Conn {
            snd: isn + 1,
            rcv: seq.wrapping_add(1),
        };
        let ack = tcp(on_conn(&conn, ACK, b""));
        assert_eq!(self.inject(&ack), []);
        conn
    }
}

const REASONS: [DropReason; 8] = [
    DropReason::Malformed,
    DropReason::BadChecksum,
    DropReason::NotForUs,
    DropReason::Fragment,
    DropReason::Unsupported,
    DropReason::BusyPool,
    DropReason::RstNotExact,
    DropReason::SynRepeat,
];

fn dropped(c: &Counters, reason: DropReason) -> u64 {
    match reason {
        DropReason::Malformed => c.dropped_malformed,
        DropReason::BadChecksum => c.dropped_bad_checksum,
        DropReason::NotForUs => c.dropped_not_for_us,
        DropReason::Fragment => c.dropped_fragment,
        DropReason::Unsupported => c.dropped_unsupported,
        DropReason::BusyPool => c.syn_dropped_busy,
        DropReason::RstNotExact => c.dropped_rst_not_exact,
        DropReason::SynRepeat => c.syn_dropped_repeat,
    }
}

#[test]
fn each_hostile_frame_has_its_written_outcome_and_service_goes_on() {
    let (mut net, _, client) = SimNet::pair(8).expect("two hosts");
    let sent = Rc::new(RefCell::new(Vec::new()));
    net.observe(VICTIM_HOST, Some(Box::new(Sent(Rc::clone(&sent)))));
    let stack = net.stack(VICTIM_HOST);
    let echo = EchoServer::<4>::bind(stack, ports::ECHO, 4).expect("echo");
    let _sink = TcpListener::bind(stack, SINK, 2).expect("sink");
    let _udp_sink = UdpSocket::bind(stack, SINK).expect("udp sink");
    net.serve(VICTIM_HOST, Box::new(echo));
    let attacker = net.raw_port(3, ATTACKER_MAC).expect("raw port");
    let mut bench = Bench {
        net,
        attacker,
        sent,
    };

    let mut conn = Conn { snd: 0, rcv: 0 };
    let mut failures = Vec::new();
    let all = cases();
    for case in &all {
        if case.name == "urgent pointer past the payload" {
            conn = bench.connect();
        }
        let frame = (case.frame)(&conn);
        let before = bench.counters();
        let got = bench.inject(&frame);
        let after = bench.counters();
        let drops = after.dropped_total() - before.dropped_total();
        let reasons: Vec<_> = REASONS
            .iter()
            .filter(|r| dropped(&after, **r) > dropped(&before, **r))
            .collect();
        let verdict = match &case.expect {
            Expect::Drop(reason) => {
                let rose = dropped(&after, *reason) - dropped(&before, *reason);
                (rose == 1 && drops == 1 && got.is_empty())
                    .then_some(())
                    .ok_or(format!(
                        "want drop {reason:?}: +{rose} (drops {reasons:?}), sent {got:?}"
                    ))
            }
            Expect::NeverArrives => (after.frames_rx == before.frames_rx && got.is_empty())
                .then_some(())
                .ok_or(format!(
                    "want no arrival: {} frames in",
                    after.frames_rx - before.frames_rx
                )),
            Expect::Silent => (drops == 0 && got.is_empty())
                .then_some(())
                .ok_or(format!("want silence: drops {reasons:?}, sent {got:?}")),
            Expect::Reply(want) => match got.as_slice() {
                [one] if drops == 0 && want(&conn, one) => Ok(()),
                _ => Err(format!("want one reply: drops {reasons:?}, sent {got:?}")),
            },
        };
        println!(
            "{:<68} {}",
            case.name,
            if verdict.is_ok() { "ok" } else { "FAILED" }
        );
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", case.name));
        }
        // Leave no half-open connection behind to retransmit into a later
        // case: answer each SYN-ACK with the RST that ends it.
        for g in &got {
            if let Got::Tcp { to, flags, ack, .. } = *g
                && flags == SYN | ACK
                && to != CONN_PORT
            {
                let rst = tcp(Seg {
                    from: to,
                    seq: ack,
                    flags: RST,
                    ..SEG
                });
                assert_eq!(bench.inject(&rst), [], "RST after {}", case.name);
            }
        }
        if case.name.contains("urgent") {
            // The five bytes went into the sink's buffer.
            conn.snd = conn.snd.wrapping_add(5);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    println!("{} cases; where the RFCs ask otherwise:", all.len());
    for case in &all {
        if let Some(note) = case.note {
            println!("- {}: {note}", case.name);
        }
    }
    println!("victim counters: {:?}", bench.counters());

    // A normal client is served, byte for byte.
    let mut client_app = EchoClient::<600>::new(endpoint(VICTIM_HOST, ports::ECHO), &[b'q'; 600]);
    assert!(
        bench
            .net
            .run_client(client, &mut client_app, Duration::from_secs(10))
    );
    assert_eq!(client_app.outcome(), Outcome::Done);
    assert_eq!(client_app.received(), &[b'q'; 600][..]);
}
