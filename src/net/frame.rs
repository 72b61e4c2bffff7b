//! One frame, parsed once: the views of its headers that the gate, the
//! counters, connection tracking and the ARP, DHCP and NDP hooks all read.
//!
//! Layer: net. Depends on smoltcp's `wire` module only.
//!
//! A frame crossing the stack used to be taken apart by each reader in
//! turn (the counters, the gate, the ARP fill, the DHCP and NDP hooks, the
//! connection watchers): the same length checks and field reads five or
//! six times. Here each header is checked once, in the spirit of
//! smoltcp's `Repr` types but without copying: a [`Frame`] holds smoltcp's
//! checked packet views over the caller's bytes, and every reader takes
//! what it needs from them. Whether a header is *valid* (its checksum, its
//! addresses, options smoltcp would refuse) is the gate's business; this
//! module only says what the bytes are.

use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, TcpPacket,
    UdpPacket,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Packet, Ipv6Packet};

/// A frame's headers, each checked for length once.
pub(crate) struct Frame<'f> {
    pub(crate) eth: EthernetFrame<&'f [u8]>,
    pub(crate) net: Net<'f>,
}

/// What the Ethernet header carries.
pub(crate) enum Net<'f> {
    /// ARP; `None` when the packet is too short for its own lengths.
    Arp(Option<ArpPacket<&'f [u8]>>),
    /// IPv4; `None` when the header or its lengths do not fit the frame.
    Ipv4(Option<Ip<'f, Ipv4Packet<&'f [u8]>>>),
    /// IPv6; `None` as for IPv4.
    #[cfg(feature = "ipv6")]
    Ipv6(Option<Ip<'f, Ipv6Packet<&'f [u8]>>>),
    /// Any other EtherType.
    Other,
}

/// An IP packet and what it carries.
pub(crate) struct Ip<'f, P> {
    pub(crate) packet: P,
    /// Read once: `next_header` is a call with a table lookup.
    pub(crate) protocol: IpProtocol,
    pub(crate) l4: L4<'f>,
}

/// The source and destination addresses, read from the header when asked
/// (kept out of [`Ip`]: two `IpAddress`es made every frame's summary a
/// third larger, and moving it cost more than reading them again).
pub(crate) trait Addrs {
    fn addrs(&self) -> (IpAddress, IpAddress);
}

impl Addrs for Ipv4Packet<&[u8]> {
    #[inline]
    fn addrs(&self) -> (IpAddress, IpAddress) {
        (self.src_addr().into(), self.dst_addr().into())
    }
}

#[cfg(feature = "ipv6")]
impl Addrs for Ipv6Packet<&[u8]> {
    #[inline]
    fn addrs(&self) -> (IpAddress, IpAddress) {
        (self.src_addr().into(), self.dst_addr().into())
    }
}

impl<P: Addrs> Ip<'_, P> {
    /// Source and destination.
    #[inline]
    pub(crate) fn addrs(&self) -> (IpAddress, IpAddress) {
        self.packet.addrs()
    }
}

/// The transport header, where there is one to read.
pub(crate) enum L4<'f> {
    /// TCP; `None` when the segment is shorter than its header says.
    Tcp(Option<TcpPacket<&'f [u8]>>),
    /// UDP; `None` as for TCP.
    Udp(Option<UdpPacket<&'f [u8]>>),
    /// ICMPv6 (whose neighbour discovery the counters and NDP hook read).
    #[cfg(feature = "ipv6")]
    Icmpv6(Option<Icmpv6Packet<&'f [u8]>>),
    /// An IPv4 fragment after the first: its bytes are no header.
    Fragment,
    /// Another protocol (ICMP included: only the gate reads it, rarely).
    Other,
}

impl<'f> Frame<'f> {
    /// The headers of `bytes`; `None` when it is shorter than an Ethernet
    /// header.
    #[inline]
    pub(crate) fn parse(bytes: &'f [u8]) -> Option<Frame<'f>> {
        let eth = EthernetFrame::new_checked(bytes).ok()?;
        let payload = eth.payload();
        let net = match eth.ethertype() {
            EthernetProtocol::Arp => Net::Arp(ArpPacket::new_checked(payload).ok()),
            EthernetProtocol::Ipv4 => Net::Ipv4(Ipv4Packet::new_checked(payload).ok().map(ipv4)),
            #[cfg(feature = "ipv6")]
            EthernetProtocol::Ipv6 => Net::Ipv6(Ipv6Packet::new_checked(payload).ok().map(ipv6)),
            _ => Net::Other,
        };
        Some(Frame { eth, net })
    }
}

#[cfg(feature = "ipv6")]
impl Frame<'_> {
    /// The ICMPv6 message this frame carries, if any (neighbour
    /// discovery's carrier).
    #[inline]
    fn icmpv6(&self) -> Option<&Icmpv6Packet<&[u8]>> {
        match &self.net {
            Net::Ipv6(Some(Ip {
                l4: L4::Icmpv6(Some(icmp)),
                ..
            })) => Some(icmp),
            _ => None,
        }
    }

    /// Whether this is an ICMPv6 message.
    #[inline]
    pub(crate) fn is_icmpv6(&self) -> bool {
        self.icmpv6().is_some()
    }

    /// Whether this is a neighbour solicitation or advertisement: the
    /// ICMPv6 messages from which smoltcp 0.14 fills its neighbour cache
    /// (router advertisements, echo and the rest never do).
    #[inline]
    pub(crate) fn is_ns_or_na(&self) -> bool {
        use smoltcp::wire::Icmpv6Message;
        self.icmpv6().is_some_and(|icmp| {
            matches!(
                icmp.msg_type(),
                Icmpv6Message::NeighborSolicit | Icmpv6Message::NeighborAdvert
            )
        })
    }
}

#[inline]
fn ipv4(packet: Ipv4Packet<&[u8]>) -> Ip<'_, Ipv4Packet<&[u8]>> {
    let protocol = packet.next_header();
    let l4 = if packet.frag_offset() != 0 {
        L4::Fragment
    } else {
        transport(protocol, packet.payload())
    };
    Ip {
        packet,
        protocol,
        l4,
    }
}

#[cfg(feature = "ipv6")]
#[inline]
fn ipv6(packet: Ipv6Packet<&[u8]>) -> Ip<'_, Ipv6Packet<&[u8]>> {
    let protocol = packet.next_header();
    let payload = packet.payload();
    let l4 = match protocol {
        IpProtocol::Icmpv6 => L4::Icmpv6(Icmpv6Packet::new_checked(payload).ok()),
        _ => transport(protocol, payload),
    };
    Ip {
        packet,
        protocol,
        l4,
    }
}

#[inline]
fn transport(protocol: IpProtocol, payload: &[u8]) -> L4<'_> {
    match protocol {
        IpProtocol::Tcp => L4::Tcp(TcpPacket::new_checked(payload).ok()),
        IpProtocol::Udp => L4::Udp(UdpPacket::new_checked(payload).ok()),
        _ => L4::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runt_has_no_frame_and_a_short_ip_header_no_packet() {
        assert!(Frame::parse(&[0u8; 13]).is_none());
        let mut bytes = [0u8; 20];
        bytes[12..14].copy_from_slice(&[0x08, 0x00]);
        let frame = Frame::parse(&bytes).expect("an Ethernet header");
        assert!(matches!(frame.net, Net::Ipv4(None)));
    }
}
