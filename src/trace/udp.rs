//! UDP, and at L7 the services it carries: DHCP and DNS with the `names`
//! feature, the classic services by port.
//!
//! Layer: a view across all of them, as its parent. Depends on smoltcp's
//! `wire` module, the shared writing in `text.rs` and the L7 line in
//! `tcp.rs`.

use core::fmt::{self, Write};

#[cfg(feature = "names")]
use smoltcp::wire::{
    DhcpMessageType, DhcpPacket, DhcpRepr, DnsFlags, DnsPacket, DnsQuestion, DnsRecord,
    DnsRecordData,
};
use smoltcp::wire::{IpAddress, IpEndpoint, UdpPacket};

use super::service_name;
use super::tcp::write_l7;
#[cfg(feature = "names")]
use super::text::Labelled;
use super::text::Lines;
use crate::socket::EndpointText;

pub(super) fn decode_udp<W: Write>(
    l: &mut Lines<'_, W>,
    src: IpAddress,
    dst: IpAddress,
    packet: &[u8],
) -> fmt::Result {
    let Ok(udp) = UdpPacket::new_checked(packet) else {
        return l.line(
            "L4",
            format_args!(
                "malformed: UDP length disagrees with the {} bytes there",
                packet.len()
            ),
        );
    };
    let from = EndpointText(IpEndpoint::new(src, udp.src_port()));
    let to = EndpointText(IpEndpoint::new(dst, udp.dst_port()));
    let checksum = match (udp.checksum(), src) {
        (0, IpAddress::Ipv4(_)) => "none",
        // RFC 8200 8.1: a receiver drops it (smoltcp takes it, as over IPv4).
        #[cfg(feature = "ipv6")]
        (0, IpAddress::Ipv6(_)) => "none (IPv6 requires one)",
        _ if udp.verify_checksum(&src, &dst) => "OK",
        _ => "BAD",
    };
    l.line(
        "L4",
        format_args!("UDP {from} -> {to}  len {}  checksum {checksum}", udp.len()),
    )?;
    #[cfg(feature = "names")]
    {
        let ports = [udp.src_port(), udp.dst_port()];
        if ports.contains(&67) && ports.contains(&68) && write_dhcp(l, udp.payload())? {
            return Ok(());
        }
        if ports.contains(&53) && write_dns(l, udp.payload())? {
            return Ok(());
        }
    }
    let app = service_name(udp.dst_port()).or(service_name(udp.src_port()));
    write_l7(l, app, udp.payload())
}

#[cfg(feature = "names")]
/// `dhcp OFFER 192.168.69.55 ...` for a DHCP message; false (nothing
/// written) if `payload` is not one.
fn write_dhcp<W: Write>(l: &mut Lines<'_, W>, payload: &[u8]) -> Result<bool, fmt::Error> {
    let Ok(packet) = DhcpPacket::new_checked(payload) else {
        return Ok(false);
    };
    let Ok(dhcp) = DhcpRepr::parse(&packet) else {
        return Ok(false);
    };
    let kind = match dhcp.message_type {
        DhcpMessageType::Discover => "DISCOVER",
        DhcpMessageType::Offer => "OFFER",
        DhcpMessageType::Request => "REQUEST",
        DhcpMessageType::Decline => "DECLINE",
        DhcpMessageType::Ack => "ACK",
        DhcpMessageType::Nak => "NAK",
        DhcpMessageType::Release => "RELEASE",
        DhcpMessageType::Inform => "INFORM",
        DhcpMessageType::Unknown(_) => "(unknown type)",
    };
    let offered = Some(dhcp.your_ip).filter(|ip| !ip.is_unspecified());
    let lease = dhcp.lease_duration;
    l.line(
        "L7",
        format_args!(
            "dhcp {kind} xid {:#010x}{}{}{}{}{}",
            dhcp.transaction_id,
            Labelled(" address", offered),
            Labelled(" requested", dhcp.requested_ip),
            Labelled(" server", dhcp.server_identifier),
            Labelled(" router", dhcp.router),
            Labelled(" lease", lease.map(Seconds)),
        ),
    )?;
    Ok(true)
}

#[cfg(feature = "names")]
struct Seconds(u32);

#[cfg(feature = "names")]
impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

#[cfg(feature = "names")]
/// A DNS name, label by label, following compression pointers.
struct DnsName<'p>(&'p DnsPacket<&'p [u8]>, &'p [u8]);

#[cfg(feature = "names")]
impl fmt::Display for DnsName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.0.parse_name(self.1).enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match label {
                Ok(label) => {
                    for &b in label {
                        if b.is_ascii_graphic() && b != b'.' {
                            f.write_char(char::from(b))?;
                        } else {
                            write!(f, "\\x{b:02x}")?;
                        }
                    }
                }
                Err(_) => return f.write_str("(malformed)"),
            }
        }
        Ok(())
    }
}

#[cfg(feature = "names")]
/// Most answer records shown for one DNS response.
const DNS_ANSWERS_SHOWN: u16 = 4;

#[cfg(feature = "names")]
/// `dns query A NAME` or `dns answer NAME A ADDR ...`; false (nothing
/// written) if `payload` is not a DNS message with a question.
fn write_dns<W: Write>(l: &mut Lines<'_, W>, payload: &[u8]) -> Result<bool, fmt::Error> {
    let Ok(packet) = DnsPacket::new_checked(payload) else {
        return Ok(false);
    };
    if packet.question_count() == 0 {
        return Ok(false);
    }
    let Ok((mut rest, question)) = DnsQuestion::parse(packet.payload()) else {
        return Ok(false);
    };
    let name = DnsName(&packet, question.name);
    let id = packet.transaction_id();
    if !packet.flags().contains(DnsFlags::RESPONSE) {
        l.line(
            "L7",
            format_args!("dns query {:?} {name} id {id:#06x}", question.type_),
        )?;
        return Ok(true);
    }
    let mut answers: heapless::String<96> = heapless::String::new();
    let count = packet.answer_record_count();
    for _ in 0..count.min(DNS_ANSWERS_SHOWN) {
        let Ok((next, record)) = DnsRecord::parse(rest) else {
            break;
        };
        rest = next;
        // A full buffer shortens the line; it never fails the frame.
        let _ = match record.data {
            DnsRecordData::A(ip) => write!(answers, " A {ip}"),
            #[cfg(feature = "ipv6")]
            DnsRecordData::Aaaa(ip) => write!(answers, " AAAA {ip}"),
            DnsRecordData::Cname(to) => write!(answers, " CNAME {}", DnsName(&packet, to)),
            DnsRecordData::Other(kind, _) => write!(answers, " {kind:?}"),
        };
    }
    if count == 0 {
        let _ = write!(answers, " none ({:?})", packet.rcode());
    } else if count > DNS_ANSWERS_SHOWN {
        let _ = write!(answers, " ... ({count} answers)");
    }
    l.line(
        "L7",
        format_args!("dns answer {name}{answers} id {id:#06x}"),
    )?;
    Ok(true)
}
