//! Neighbour solicitations smoltcp cannot answer.
//!
//! Layer: net (private). Reads one received frame with smoltcp's `wire`
//! module and may send one frame of its own through the stack.
//!
//! RFC 4861 7.2.4: a node answers a solicitation for one of its addresses
//! to the solicitation's source, whatever that source is. smoltcp answers
//! only a source it can route to: one inside a prefix of its own, or
//! behind a router it knows. A neighbour that solicits from an address of
//! a prefix we have not configured (seen: Linux on a freshly raised TAP,
//! its link-local address still tentative, soliciting our link-local
//! address from its global one to send us dnsmasq's router advertisement)
//! got no answer, and so could not reach us at all. Those solicitations
//! are answered here instead, straight to the sender's MAC, with the
//! override flag a host sets for its own addresses. Once SLAAC has given
//! the stack a default route, smoltcp answers such a source too, through
//! the router; the sender then gets two advertisements, and the direct one
//! is the one RFC 4861 asks for.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet, Icmpv6Repr, IpCidr, IpProtocol,
    Ipv6Address, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr,
};

use super::frame::{Frame, L4, Net};
use super::{Link, Stack};

/// What to answer: the solicited address of ours, the sender's address
/// and MAC.
#[derive(Debug, Clone, Copy)]
pub(super) struct Unrouted {
    target: Ipv6Address,
    to: Ipv6Address,
    to_mac: smoltcp::wire::EthernetAddress,
}

/// A neighbour solicitation in `frame` for one of `ours` from a unicast
/// source none of `ours`'s prefixes contains.
#[inline]
pub(super) fn unrouted(frame: Option<&Frame<'_>>, ours: &[IpCidr]) -> Option<Unrouted> {
    let frame = frame?;
    let (src, NdiscRepr::NeighborSolicit { target_addr, .. }) = ndisc(frame)? else {
        return None;
    };
    let v6 = ours.iter().filter_map(|c| match c {
        IpCidr::Ipv6(c) => Some(*c),
        #[allow(unreachable_patterns)]
        _ => None,
    });
    let on_link = v6.clone().any(|c| c.contains_addr(&src));
    let target_ours = v6.clone().any(|c| c.address() == target_addr);
    let unicast = !src.is_unspecified() && !src.is_multicast();
    let from = frame.eth.src_addr();
    (unicast && target_ours && !on_link && from.is_unicast()).then_some(Unrouted {
        target: target_addr,
        to: src,
        to_mac: from,
    })
}

impl Stack<'_> {
    /// Answer a solicitation smoltcp would drop (see the module doc).
    pub(super) fn answer_unrouted<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut super::observe::Lent<'_, '_>,
        ns: Unrouted,
    ) {
        let mac = self.mac();
        let advert = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
            target_addr: ns.target,
            lladdr: Some(mac.into()),
        });
        let ip = Ipv6Repr {
            src_addr: ns.target,
            dst_addr: ns.to,
            next_header: IpProtocol::Icmpv6,
            payload_len: advert.buffer_len(),
            hop_limit: 255,
        };
        let eth = EthernetRepr {
            src_addr: mac,
            dst_addr: ns.to_mac,
            ethertype: EthernetProtocol::Ipv6,
        };
        self.send_own(
            device,
            observer,
            eth.buffer_len() + ip.buffer_len() + advert.buffer_len(),
            |buf| {
                let mut frame = EthernetFrame::new_unchecked(buf);
                eth.emit(&mut frame);
                let mut packet = Ipv6Packet::new_unchecked(frame.payload_mut());
                ip.emit(&mut packet);
                let mut icmp = Icmpv6Packet::new_unchecked(packet.payload_mut());
                advert.emit(
                    &ns.target,
                    &ns.to,
                    &mut icmp,
                    &ChecksumCapabilities::default(),
                );
            },
        );
    }
}

/// A neighbour discovery message in `frame`, and its source: only one
/// with the hop limit 255 that proves it came from the link (RFC 4861 7.1.1).
/// Read by the unrouted answer here and by the copy of the neighbour
/// cache (`seen.rs`).
pub(super) fn ndisc<'f>(frame: &Frame<'f>) -> Option<(Ipv6Address, NdiscRepr<'f>)> {
    let Net::Ipv6(Some(ip)) = &frame.net else {
        return None;
    };
    let L4::Icmpv6(Some(icmp)) = &ip.l4 else {
        return None;
    };
    if ip.packet.hop_limit() != 255 {
        return None;
    }
    let (src, dst) = (ip.packet.src_addr(), ip.packet.dst_addr());
    let caps = ChecksumCapabilities::ignored();
    match Icmpv6Repr::parse(&src, &dst, icmp, &caps).ok()? {
        Icmpv6Repr::Ndisc(repr) => Some((src, repr)),
        _ => None,
    }
}
