//! ICMP and, with the `ipv6` feature, ICMPv6 with neighbour discovery
//! and MLD: one line at L4 each.
//!
//! Layer: a view across all of them, as its parent. Depends on smoltcp's
//! `wire` module and the shared writing in `text.rs`.

use core::fmt::{self, Write};

use smoltcp::wire::{Icmpv4Message, Icmpv4Packet, Ipv4Address};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{
    Icmpv6Message, Icmpv6Packet, Ipv6Address, MldRepr, NdiscNeighborFlags, NdiscPrefixInfoFlags,
    NdiscPrefixInformation, NdiscRepr, NdiscRouterFlags,
};

use super::Style;
#[cfg(feature = "ipv6")]
use super::text::Labelled;
use super::text::{BriefAddrs, Lines};

pub(super) fn decode_icmp<W: Write>(
    l: &mut Lines<'_, W>,
    src: Ipv4Address,
    dst: Ipv4Address,
    packet: &[u8],
) -> fmt::Result {
    let Ok(icmp) = Icmpv4Packet::new_checked(packet) else {
        return short_icmp(l, "ICMP", packet.len());
    };
    let icmp_line = IcmpLine {
        version: "ICMP",
        addrs: (src, dst),
        checksum_ok: icmp.verify_checksum(),
    };
    match icmp.msg_type() {
        kind @ (Icmpv4Message::EchoRequest | Icmpv4Message::EchoReply) => {
            let echo = Echo(icmp.echo_ident(), icmp.echo_seq_no(), icmp.data().len());
            icmp_line.write(l, format_args!("{kind} {echo}"))
        }
        other => icmp_line.write(
            l,
            format_args!(
                "{other} (type {}, code {})",
                u8::from(other),
                icmp.msg_code()
            ),
        ),
    }
}

fn short_icmp<W: Write>(l: &mut Lines<'_, W>, version: &str, len: usize) -> fmt::Result {
    l.line(
        "L4",
        format_args!("malformed: {version} shorter than its header ({len} bytes)"),
    )
}

/// The frame of an ICMP line, either version: `ICMP <message>  checksum
/// OK`, the addresses before it in the brief style.
struct IcmpLine<A> {
    version: &'static str,
    addrs: (A, A),
    checksum_ok: bool,
}

impl<A: fmt::Display + Copy> IcmpLine<A> {
    fn write<W: Write>(&self, l: &mut Lines<'_, W>, message: fmt::Arguments<'_>) -> fmt::Result {
        let prefix = BriefAddrs((l.style == Style::Brief).then_some(self.addrs));
        let checksum = if self.checksum_ok { "OK" } else { "BAD" };
        let version = self.version;
        l.line(
            "L4",
            format_args!("{prefix}{version} {message}  checksum {checksum}"),
        )
    }
}

/// An echo's numbers: `id 0x0001 seq 1  56 data bytes`.
struct Echo(u16, u16, usize);

impl fmt::Display for Echo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Echo(ident, seq, len) = *self;
        write!(f, "id 0x{ident:04x} seq {seq}  {len} data bytes")
    }
}

#[cfg(feature = "ipv6")]
pub(super) fn decode_icmpv6<W: Write>(
    l: &mut Lines<'_, W>,
    src: Ipv6Address,
    dst: Ipv6Address,
    packet: &[u8],
) -> fmt::Result {
    let Ok(icmp) = Icmpv6Packet::new_checked(packet) else {
        return short_icmp(l, "ICMPv6", packet.len());
    };
    let icmp_line = IcmpLine {
        version: "ICMPv6",
        addrs: (src, dst),
        checksum_ok: icmp.verify_checksum(&src, &dst),
    };
    let kind = icmp.msg_type();
    let (number, code) = (u8::from(kind), icmp.msg_code());
    match kind {
        Icmpv6Message::EchoRequest | Icmpv6Message::EchoReply => {
            let echo = Echo(icmp.echo_ident(), icmp.echo_seq_no(), icmp.payload().len());
            icmp_line.write(l, format_args!("{kind} {echo}"))
        }
        Icmpv6Message::RouterSolicit
        | Icmpv6Message::RouterAdvert
        | Icmpv6Message::NeighborSolicit
        | Icmpv6Message::NeighborAdvert
        | Icmpv6Message::Redirect => match NdiscRepr::parse(&icmp) {
            Ok(ndisc) => {
                // An unspecified source is a node checking, before using
                // it, that nobody else has the target address (RFC 4862).
                let dad =
                    if src.is_unspecified() && matches!(ndisc, NdiscRepr::NeighborSolicit { .. }) {
                        " (duplicate address detection)"
                    } else {
                        ""
                    };
                icmp_line.write(l, format_args!("{}{dad}", Ndisc(&ndisc)))
            }
            Err(_) => icmp_line.write(
                l,
                format_args!(
                    "{kind} malformed: options past the {} bytes there",
                    packet.len()
                ),
            ),
        },
        Icmpv6Message::MldQuery | Icmpv6Message::MldReport => {
            let what = match MldRepr::parse(&icmp) {
                Ok(MldRepr::Query { mcast_addr, .. }) if mcast_addr.is_unspecified() => {
                    Mld::Query(None)
                }
                Ok(MldRepr::Query { mcast_addr, .. }) => Mld::Query(Some(mcast_addr)),
                Ok(MldRepr::Report {
                    nr_mcast_addr_rcrds,
                    ..
                }) => Mld::Report(nr_mcast_addr_rcrds),
                _ => Mld::Malformed,
            };
            icmp_line.write(l, format_args!("MLDv2 {what}"))
        }
        Icmpv6Message::PktTooBig => icmp_line.write(
            l,
            format_args!(
                "{kind} mtu {} (type {number}, code {code})",
                icmp.pkt_too_big_mtu()
            ),
        ),
        _ => icmp_line.write(l, format_args!("{kind} (type {number}, code {code})")),
    }
}

#[cfg(feature = "ipv6")]
/// What an MLD message says, briefly: multicast groups are the stack's
/// own business, and its solicited-node groups come and go with addresses.
enum Mld {
    Query(Option<Ipv6Address>),
    Report(u16),
    Malformed,
}

#[cfg(feature = "ipv6")]
impl fmt::Display for Mld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mld::Query(None) => f.write_str("general query"),
            Mld::Query(Some(group)) => write!(f, "query for {group}"),
            Mld::Report(1) => f.write_str("report, 1 group"),
            Mld::Report(n) => write!(f, "report, {n} groups"),
            Mld::Malformed => f.write_str("malformed"),
        }
    }
}

#[cfg(feature = "ipv6")]
/// A neighbour discovery message, its options by name.
struct Ndisc<'r, 'p>(&'r NdiscRepr<'p>);

#[cfg(feature = "ipv6")]
impl fmt::Display for Ndisc<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = |lladdr| Labelled("  source lladdr", lladdr);
        let target = |lladdr| Labelled("  target lladdr", lladdr);
        match *self.0 {
            NdiscRepr::RouterSolicit { lladdr } => {
                write!(f, "router solicitation{}", source(lladdr))
            }
            NdiscRepr::RouterAdvert {
                hop_limit,
                flags,
                router_lifetime,
                lladdr,
                mtu,
                prefix_info,
                ..
            } => {
                write!(
                    f,
                    "router advertisement  hop limit {hop_limit}  lifetime {} s",
                    router_lifetime.secs()
                )?;
                let managed = [
                    (flags.contains(NdiscRouterFlags::MANAGED), "M"),
                    (flags.contains(NdiscRouterFlags::OTHER), "O"),
                ];
                if managed.iter().any(|&(on, _)| on) {
                    write!(f, "  flags {}", FlagList(&managed))?;
                }
                if let Some(prefix) = prefix_info {
                    write!(f, "  {}", Prefix(prefix))?;
                }
                write!(f, "{}{}", Labelled("  mtu", mtu), source(lladdr))
            }
            NdiscRepr::NeighborSolicit {
                target_addr,
                lladdr,
            } => write!(
                f,
                "neighbour solicitation for {target_addr}{}",
                source(lladdr)
            ),
            NdiscRepr::NeighborAdvert {
                flags,
                target_addr,
                lladdr,
            } => {
                let named = [
                    (flags.contains(NdiscNeighborFlags::ROUTER), "R"),
                    (flags.contains(NdiscNeighborFlags::SOLICITED), "S"),
                    (flags.contains(NdiscNeighborFlags::OVERRIDE), "O"),
                ];
                write!(
                    f,
                    "neighbour advertisement {target_addr} {}{}",
                    FlagList(&named),
                    target(lladdr)
                )
            }
            NdiscRepr::Redirect {
                target_addr,
                dest_addr,
                lladdr,
                ..
            } => write!(
                f,
                "redirect for {dest_addr} to {target_addr}{}",
                target(lladdr)
            ),
        }
    }
}

#[cfg(feature = "ipv6")]
/// `[R, S]`, the letters of the flags that are set; `[none]`.
struct FlagList<'f>(&'f [(bool, &'static str)]);

#[cfg(feature = "ipv6")]
impl fmt::Display for FlagList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        let mut set = self.0.iter().filter(|&&(on, _)| on).map(|&(_, name)| name);
        match set.next() {
            Some(first) => f.write_str(first)?,
            None => f.write_str("none")?,
        }
        for name in set {
            write!(f, ", {name}")?;
        }
        f.write_char(']')
    }
}

#[cfg(feature = "ipv6")]
/// A router advertisement's prefix option: `prefix fd00::/64 [L, A]
/// valid 86400 s preferred 14400 s`.
struct Prefix(NdiscPrefixInformation);

#[cfg(feature = "ipv6")]
impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.0;
        let flags = [
            (p.flags.contains(NdiscPrefixInfoFlags::ON_LINK), "L"),
            (p.flags.contains(NdiscPrefixInfoFlags::ADDRCONF), "A"),
        ];
        write!(
            f,
            "prefix {}/{} {}  valid {}  preferred {}",
            p.prefix,
            p.prefix_len,
            FlagList(&flags),
            Lifetime(p.valid_lifetime.secs()),
            Lifetime(p.preferred_lifetime.secs()),
        )
    }
}

#[cfg(feature = "ipv6")]
/// Seconds, where all ones means for ever (RFC 4861 4.6.2).
struct Lifetime(u64);

#[cfg(feature = "ipv6")]
impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == u64::from(u32::MAX) {
            f.write_str("infinite")
        } else {
            write!(f, "{} s", self.0)
        }
    }
}
