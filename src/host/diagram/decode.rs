//! One frame's headers as the pictures need them: addresses, ports, TCP
//! flags, sequence numbers, window and options.
//!
//! Layer: host (std). Depends on smoltcp's `wire` module, always through
//! `new_checked`, so that any bytes at all give a summary or a
//! `Malformed` reason and never a panic.

use std::net::IpAddr;

use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6Packet,
    TcpOption, TcpPacket, UdpPacket,
};

/// What a frame carries, decoded as far as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Summary {
    /// ARP: `request` (who has `target`?) or a reply (`sender` is at ...).
    Arp {
        /// Request (true) or reply.
        request: bool,
        /// The sender's protocol address.
        sender: IpAddr,
        /// The target's protocol address.
        target: IpAddr,
    },
    /// An IPv4 or IPv6 packet.
    Ip {
        /// Source address.
        src: IpAddr,
        /// Destination address.
        dst: IpAddr,
        /// What it carries.
        l4: L4,
    },
    /// Another EtherType, or headers that do not parse.
    Other(String),
}

/// The transport layer of an IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum L4 {
    /// A TCP segment.
    Tcp(Segment),
    /// A UDP datagram.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Payload bytes.
        len: usize,
    },
    /// ICMP or ICMPv6: type and code.
    Icmp {
        /// IPv6 (ICMPv6) or IPv4.
        v6: bool,
        /// Message type.
        kind: u8,
        /// Message code.
        code: u8,
    },
    /// Any other protocol, or a transport header that does not parse.
    Other(String),
}

/// A TCP segment's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Source port.
    pub(crate) sport: u16,
    /// Destination port.
    pub(crate) dport: u16,
    /// Sequence number (absolute).
    pub(crate) seq: u32,
    /// Acknowledgment number (absolute; meaningful with ACK).
    pub(crate) ack: u32,
    /// SYN, ACK, FIN, RST, PSH, URG.
    pub(crate) syn: bool,
    /// ACK flag.
    pub(crate) ack_flag: bool,
    /// FIN flag.
    pub(crate) fin: bool,
    /// RST flag.
    pub(crate) rst: bool,
    /// PSH flag.
    pub(crate) psh: bool,
    /// URG flag.
    pub(crate) urg: bool,
    /// The window field as sent (unscaled).
    pub(crate) window: u16,
    /// Payload bytes.
    pub(crate) len: usize,
    /// Maximum segment size option.
    pub(crate) mss: Option<u16>,
    /// Window scale option (shift count).
    pub(crate) wscale: Option<u8>,
    /// SACK permitted option.
    pub(crate) sack_ok: bool,
    /// SACK blocks (absolute).
    pub(crate) sacks: Vec<(u32, u32)>,
    /// Timestamps option: (value, echo reply).
    pub(crate) timestamp: Option<(u32, u32)>,
    /// The TLS records the payload starts with, as the trace names them.
    pub(crate) tls: Option<String>,
}

impl Segment {
    /// Sequence space the segment takes: payload, plus one for SYN and FIN.
    pub(crate) fn seq_len(&self) -> u32 {
        self.len as u32 + u32::from(self.syn) + u32::from(self.fin)
    }

    /// `SYN, ACK` and so on, in the order tcpdump prints them.
    pub(crate) fn flags(&self) -> String {
        let all = [
            (self.syn, "SYN"),
            (self.fin, "FIN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.urg, "URG"),
            (self.ack_flag, "ACK"),
        ];
        let names: Vec<&str> = all.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }
}

/// Decode `frame`, as far as its bytes allow.
pub(crate) fn decode(frame: &[u8]) -> Summary {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return Summary::Other(format!("malformed Ethernet ({} bytes)", frame.len()));
    };
    match eth.ethertype() {
        EthernetProtocol::Arp => decode_arp(eth.payload()),
        EthernetProtocol::Ipv4 => {
            let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                return Summary::Other("malformed IPv4".into());
            };
            let src = IpAddr::V4(ip.src_addr());
            let dst = IpAddr::V4(ip.dst_addr());
            // A fragment after the first carries no transport header.
            let l4 = if ip.frag_offset() != 0 {
                L4::Other("IPv4 fragment".into())
            } else {
                decode_l4(ip.next_header(), ip.payload(), false)
            };
            Summary::Ip { src, dst, l4 }
        }
        EthernetProtocol::Ipv6 => {
            let Ok(ip) = Ipv6Packet::new_checked(eth.payload()) else {
                return Summary::Other("malformed IPv6".into());
            };
            let src = IpAddr::V6(ip.src_addr());
            let dst = IpAddr::V6(ip.dst_addr());
            let l4 = decode_l4(ip.next_header(), ip.payload(), true);
            Summary::Ip { src, dst, l4 }
        }
        other => Summary::Other(format!("EtherType {other}")),
    }
}

fn decode_arp(bytes: &[u8]) -> Summary {
    let Ok(arp) = ArpPacket::new_checked(bytes) else {
        return Summary::Other("malformed ARP".into());
    };
    let addr = |b: &[u8]| -> Option<IpAddr> {
        let four: [u8; 4] = b.try_into().ok()?;
        Some(IpAddr::from(four))
    };
    match (
        addr(arp.source_protocol_addr()),
        addr(arp.target_protocol_addr()),
    ) {
        (Some(sender), Some(target)) => Summary::Arp {
            request: arp.operation() == ArpOperation::Request,
            sender,
            target,
        },
        _ => Summary::Other("ARP for another protocol".into()),
    }
}

fn decode_l4(protocol: IpProtocol, payload: &[u8], v6: bool) -> L4 {
    match protocol {
        IpProtocol::Tcp => match TcpPacket::new_checked(payload) {
            Ok(tcp) => L4::Tcp(segment(&tcp)),
            Err(_) => L4::Other("malformed TCP".into()),
        },
        IpProtocol::Udp => match UdpPacket::new_checked(payload) {
            Ok(udp) => L4::Udp {
                sport: udp.src_port(),
                dport: udp.dst_port(),
                len: udp.payload().len(),
            },
            Err(_) => L4::Other("malformed UDP".into()),
        },
        IpProtocol::Icmp | IpProtocol::Icmpv6 => match payload {
            [kind, code, ..] => L4::Icmp {
                v6,
                kind: *kind,
                code: *code,
            },
            _ => L4::Other("malformed ICMP".into()),
        },
        other => L4::Other(format!("IP protocol {other}")),
    }
}

fn segment(tcp: &TcpPacket<&[u8]>) -> Segment {
    let mut s = Segment {
        sport: tcp.src_port(),
        dport: tcp.dst_port(),
        seq: tcp.seq_number().0 as u32,
        ack: tcp.ack_number().0 as u32,
        syn: tcp.syn(),
        ack_flag: tcp.ack(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        psh: tcp.psh(),
        urg: tcp.urg(),
        window: tcp.window_len(),
        len: tcp.payload().len(),
        tls: crate::trace::tls_records(tcp.payload()),
        ..Segment::default()
    };
    let mut options = tcp.options();
    while !options.is_empty() {
        let Ok((rest, option)) = TcpOption::parse(options) else {
            break;
        };
        match option {
            TcpOption::EndOfList => break,
            TcpOption::MaxSegmentSize(m) => s.mss = Some(m),
            TcpOption::WindowScale(w) => s.wscale = Some(w),
            TcpOption::SackPermitted => s.sack_ok = true,
            TcpOption::SackRange(ranges) => s.sacks = ranges.iter().flatten().copied().collect(),
            TcpOption::TimeStamp { tsval, tsecr } => s.timestamp = Some((tsval, tsecr)),
            TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
        }
        options = rest;
    }
    s
}

/// The service name for a port pair, from the services table.
pub(crate) fn service_of(sport: u16, dport: u16) -> Option<&'static str> {
    crate::app::services::by_port(dport)
        .or_else(|| crate::app::services::by_port(sport))
        .map(|e| e.name)
}
