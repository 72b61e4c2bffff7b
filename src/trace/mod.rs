//! The layered trace: one frame decoded layer by layer, and the stack's
//! events in words.
//!
//! Layer: a view across all of them. Depends on smoltcp's `wire` module for
//! decoding, on [`crate::net::observe`] for the events and on
//! [`crate::app::services`] for the names of the classic services (and on
//! [`crate::socket::EndpointText`] to write endpoints); nothing
//! depends on it. `no_std`, no allocation: it writes into any
//! [`core::fmt::Write`] (a `String` on the host, a UART on a board) and
//! keeps a fixed table of conversations for relative sequence numbers.
//!
//! Every frame decodes to something: a header that does not parse prints
//! `malformed: <reason>` at its layer, and decoding never panics (a
//! property test feeds it random bytes).
//!
//! It reads Ethernet, ARP, IPv4, ICMP, TCP and UDP, and at L7 TLS records
//! (`tls.rs`: on 7443, or wherever a record header starts a payload) and
//! the classic services by port (DHCP and DNS with the `names` feature). With the
//! `ipv6` feature it also reads IPv6 (past its extension headers), ICMPv6
//! with neighbour discovery and MLD, and TCP and UDP over IPv6, whose
//! endpoints print as they are typed: `[fd00::1]:7878`. Without it an IPv6
//! frame is only named at L3, and none of the IPv6 decoding is built.
//!
//! This file keeps the public face, the frame's walk down L2 and L3 and
//! the events; each L4 protocol has its file (`icmp.rs`, `tcp.rs`,
//! `udp.rs` with DHCP and DNS), and `text.rs` the writing they share.

mod icmp;
mod tcp;
#[cfg(test)]
mod tests;
mod text;
mod tls;
mod udp;

use core::fmt::{self, Write};

use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress,
    IpEndpoint, IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Ipv6ExtHeader, Ipv6FragmentHeader, Ipv6Packet};

use self::icmp::decode_icmp;
#[cfg(feature = "ipv6")]
use self::icmp::decode_icmpv6;
use self::tcp::{write_l4_tcp, write_l7};
pub use self::text::Mac;
use self::text::{EtherTypeName, Lines};
use self::udp::decode_udp;
use crate::app::services;
#[cfg(feature = "names")]
use crate::net::DhcpEvent;
use crate::net::observe::{Event, Transport};
use crate::socket::EndpointText;

/// How much to print for each frame.
///
/// # Example
///
/// ```
/// use layernet::trace::{Decoder, Style};
/// let mut frame = [0u8; 14];
/// frame[12..].copy_from_slice(&[0x88, 0xb5]); // an EtherType nobody here speaks
/// let (mut full, mut brief) = (String::new(), String::new());
/// Decoder::new().write_frame(&mut full, Style::Full, format_args!("#1"), &frame)?;
/// Decoder::new().write_frame(&mut brief, Style::Brief, format_args!("#1"), &frame)?;
/// assert_eq!(full.lines().count(), 3, "header, L2, L3: {full}");
/// assert_eq!(brief, "#1 EtherType 0x88b5 (not decoded)\n");
/// # Ok::<(), core::fmt::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A header line and one line per layer.
    Full,
    /// One line per frame.
    Brief,
}

/// Payload bytes shown at L7.
///
/// # Example
///
/// ```
/// use layernet::trace::{Decoder, PAYLOAD_SHOWN, Style};
/// let mut frame = [b'x'; 14 + 20 + 8 + 50];
/// frame[..14].copy_from_slice(&[0; 14]);
/// frame[12] = 0x08; // IPv4
/// frame[14..34].copy_from_slice(&[0x45, 0, 0, 78, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
/// frame[34..42].copy_from_slice(&[0, 99, 0, 7, 0, 58, 0, 0]); // UDP to echo, no checksum
/// let mut text = String::new();
/// Decoder::new().write_frame(&mut text, Style::Full, format_args!("#1"), &frame)?;
/// let shown = format!("L7  echo \"{}\" ... (+{} bytes)", "x".repeat(PAYLOAD_SHOWN), 50 - PAYLOAD_SHOWN);
/// assert!(text.contains(&shown), "{text}");
/// # Ok::<(), core::fmt::Error>(())
/// ```
pub const PAYLOAD_SHOWN: usize = 40;

/// Conversations remembered for relative sequence numbers; the oldest is
/// forgotten first.
///
/// # Example
///
/// ```
/// use layernet::trace::{CONVERSATIONS, Decoder, Style};
/// // A bare TCP segment from port `from`, sequence number 100 + `ahead`.
/// let segment = |from: u16, ahead: u8, syn: bool| {
///     let mut f = [0u8; 54];
///     f[12] = 0x08;
///     f[14..18].copy_from_slice(&[0x45, 0, 0, 40]);
///     f[22..24].copy_from_slice(&[64, 6]);
///     f[34..36].copy_from_slice(&from.to_be_bytes());
///     f[41] = 100 + ahead;
///     f[46..48].copy_from_slice(&[0x50, if syn { 0x02 } else { 0x10 }]);
///     f
/// };
/// let mut decoder = Decoder::new();
/// let mut text = String::new();
/// for port in 1000..=1000 + CONVERSATIONS as u16 {
///     decoder.write_frame(&mut text, Style::Brief, format_args!("#"), &segment(port, 0, true))?;
/// }
/// let mut later = |port| {
///     let mut line = String::new();
///     decoder.write_frame(&mut line, Style::Brief, format_args!("#"), &segment(port, 5, false)).map(|()| line)
/// };
/// assert!(later(1001)?.contains("seq 5 "), "still remembered");
/// assert!(later(1000)?.contains("seq 0 "), "forgotten: its numbers start anew");
/// # Ok::<(), core::fmt::Error>(())
/// ```
pub const CONVERSATIONS: usize = 32;

/// The name of the classic service on `port`, if it is one.
///
/// # Example
///
/// ```
/// use layernet::{app::ports, trace::service_name};
/// assert_eq!(service_name(ports::TIME_ECHO), Some("time-echo"));
/// assert_eq!(service_name(80), None, "not one of the classic pairs");
/// ```
pub fn service_name(port: u16) -> Option<&'static str> {
    services::by_port(port).map(|e| e.name)
}

/// The TLS records a TCP payload starts with, as the trace's L7 line
/// names them (`None` if it does not start with a record header): for
/// the diagram's ladder.
#[cfg(feature = "std")]
pub(crate) fn tls_records(payload: &[u8]) -> Option<std::string::String> {
    tls::starts_record(payload).then(|| std::format!("{}", tls::Records(payload)))
}

#[cfg(feature = "ipv6")]
/// Extension headers looked through before giving up on an IPv6 packet.
const IPV6_EXTENSIONS_SKIPPED: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Conversation {
    from: IpEndpoint,
    to: IpEndpoint,
    base: u32,
    /// The window scale this direction's sender announced in its SYN
    /// (`None`: none, or its SYN was not seen).
    shift: Option<u8>,
}

/// Decodes frames; remembers the first sequence number of each direction
/// of each TCP conversation, so that numbers print relative to it as
/// Wireshark prints them (the SYN is 0).
///
/// # Example
///
/// ```
/// use layernet::trace::{Decoder, Style};
/// let syn = [
///     &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 3, 8, 0][..], // Ethernet
///     &[0x45, 0, 0, 52, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 168, 69, 3, 192, 168, 69, 1],
///     &[0xfe, 0xc2, 4, 0xd2, 0, 0, 3, 0xe8, 0, 0, 0, 0, 0x80, 2, 0x20, 0, 0, 0, 0, 0],
///     &[2, 4, 5, 180, 3, 3, 0, 4, 2, 1, 1, 0], // TCP options
/// ]
/// .concat();
/// let mut ack = syn.clone();
/// ack[41] = 0xf0; // sequence number 1008, eight past the SYN's
/// ack[47] = 0x10; // ACK alone
/// let mut decoder = Decoder::new();
/// let mut text = String::new();
/// for frame in [&syn, &ack] {
///     decoder.write_frame(&mut text, Style::Brief, format_args!("#"), frame)?;
/// }
/// assert!(text.contains("[SYN]  seq 0 "), "{text}");
/// assert!(text.contains("[ACK]  seq 8 "), "{text}");
/// # Ok::<(), core::fmt::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Decoder {
    conversations: heapless::Deque<Conversation, CONVERSATIONS>,
}

impl Decoder {
    /// A decoder that has seen no conversation yet.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::trace::{Decoder, Style};
    /// let mut text = String::new();
    /// Decoder::new().write_frame(&mut text, Style::Brief, format_args!("#1"), &[0xff; 5])?;
    /// assert_eq!(text, "#1 malformed: 5 bytes, shorter than an Ethernet header\n");
    /// # Ok::<(), core::fmt::Error>(())
    /// ```
    pub const fn new() -> Self {
        Decoder {
            conversations: heapless::Deque::new(),
        }
    }

    /// The base of the direction `from -> to`, learning it from `seq`
    /// (a SYN always starts a new one, with the window scale it
    /// announces: `syn` is that scale, if the segment is a SYN).
    fn base(&mut self, from: IpEndpoint, to: IpEndpoint, seq: u32, syn: Option<Option<u8>>) -> u32 {
        let found = self
            .conversations
            .iter_mut()
            .find(|c| c.from == from && c.to == to);
        match found {
            Some(c) => {
                if let Some(shift) = syn {
                    c.base = seq;
                    c.shift = shift;
                }
                c.base
            }
            None => {
                if self.conversations.is_full() {
                    self.conversations.pop_front();
                }
                let _ = self.conversations.push_back(Conversation {
                    from,
                    to,
                    base: seq,
                    shift: syn.flatten(),
                });
                seq
            }
        }
    }

    /// The window `window` of a segment `from -> to` means, in bytes: scaled
    /// by the sender's announced shift once both SYNs announced one (RFC
    /// 7323 section 2.2; a SYN's own window is never scaled), as Wireshark
    /// shows it; as it stands when either SYN was not seen.
    fn scaled_window(&self, from: IpEndpoint, to: IpEndpoint, window: u16, syn: bool) -> u32 {
        let shift = |a, b| {
            self.conversations
                .iter()
                .find(|c| c.from == a && c.to == b)
                .and_then(|c| c.shift)
        };
        match (syn, shift(from, to), shift(to, from)) {
            // RFC 7323: a shift over 14 is taken as 14.
            (false, Some(ours), Some(_)) => u32::from(window) << ours.min(14),
            _ => u32::from(window),
        }
    }

    fn known_base(&self, from: IpEndpoint, to: IpEndpoint) -> Option<u32> {
        self.conversations
            .iter()
            .find(|c| c.from == from && c.to == to)
            .map(|c| c.base)
    }

    /// Decode `frame` into `out`. `head` begins the first line (frame
    /// number, time, host, direction: the caller's choice); the full style
    /// then prints one indented line per layer, the brief style the rest of
    /// the one line.
    ///
    /// # Errors
    /// Those of `out`; decoding itself never fails.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::trace::{Decoder, Style};
    /// let mut arp = [0u8; 42];
    /// arp[12..22].copy_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]); // ARP request
    /// arp[28..32].copy_from_slice(&[10, 0, 0, 1]); // sender
    /// arp[38..42].copy_from_slice(&[10, 0, 0, 2]); // target
    /// let mut line = String::new();
    /// let (number, at) = (7, "0.250000");
    /// Decoder::new().write_frame(&mut line, Style::Brief, format_args!("#{number} {at} h1 tx"), &arp)?;
    /// assert_eq!(line, "#7 0.250000 h1 tx ARP who-has 10.0.0.2 tell 10.0.0.1\n");
    /// # Ok::<(), core::fmt::Error>(())
    /// ```
    pub fn write_frame<W: Write>(
        &mut self,
        out: &mut W,
        style: Style,
        head: fmt::Arguments<'_>,
        frame: &[u8],
    ) -> fmt::Result {
        let mut lines = Lines {
            out,
            style,
            started: false,
        };
        match style {
            Style::Full => writeln!(lines.out, "{head}  {} bytes", frame.len())?,
            Style::Brief => write!(lines.out, "{head} ")?,
        }
        self.decode(&mut lines, frame)?;
        if style == Style::Brief {
            writeln!(lines.out)?;
        }
        Ok(())
    }

    fn decode<W: Write>(&mut self, l: &mut Lines<'_, W>, frame: &[u8]) -> fmt::Result {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return l.line(
                "L2",
                format_args!(
                    "malformed: {} bytes, shorter than an Ethernet header",
                    frame.len()
                ),
            );
        };
        let ethertype = eth.ethertype();
        if l.style == Style::Full {
            l.line(
                "L2",
                format_args!(
                    "Ethernet {} -> {}  {}  {} bytes",
                    Mac(eth.src_addr()),
                    Mac(eth.dst_addr()),
                    EtherTypeName(ethertype),
                    frame.len()
                ),
            )?;
        }
        match ethertype {
            EthernetProtocol::Arp => decode_arp(l, eth.payload()),
            EthernetProtocol::Ipv4 => self.decode_ipv4(l, eth.payload()),
            #[cfg(feature = "ipv6")]
            EthernetProtocol::Ipv6 => self.decode_ipv6(l, eth.payload()),
            other => l.line("L3", format_args!("{} (not decoded)", EtherTypeName(other))),
        }
    }

    fn decode_ipv4<W: Write>(&mut self, l: &mut Lines<'_, W>, packet: &[u8]) -> fmt::Result {
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            return l.line(
                "L3",
                format_args!(
                    "malformed: IPv4 header lengths disagree with the {} bytes there",
                    packet.len()
                ),
            );
        };
        let checksum = if ip.verify_checksum() { "OK" } else { "BAD" };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if l.style == Style::Full {
            l.line(
                "L3",
                format_args!(
                    "IPv4 {src} -> {dst}  ttl {}  id 0x{:04x}  len {}  checksum {checksum}",
                    ip.hop_limit(),
                    ip.ident(),
                    ip.total_len(),
                ),
            )?;
        } else if checksum == "BAD" {
            l.line("L3", format_args!("IPv4 checksum BAD"))?;
        }
        if ip.more_frags() || ip.frag_offset() != 0 {
            return l.line(
                "L4",
                format_args!("fragment at offset {} (not reassembled)", ip.frag_offset()),
            );
        }
        match ip.next_header() {
            IpProtocol::Icmp => decode_icmp(l, src, dst, ip.payload()),
            IpProtocol::Udp => decode_udp(l, src.into(), dst.into(), ip.payload()),
            IpProtocol::Tcp => self.decode_tcp(l, src.into(), dst.into(), ip.payload()),
            other => l.line("L4", format_args!("IP protocol {other} (not decoded)")),
        }
    }

    #[cfg(feature = "ipv6")]
    fn decode_ipv6<W: Write>(&mut self, l: &mut Lines<'_, W>, packet: &[u8]) -> fmt::Result {
        let Ok(ip) = Ipv6Packet::new_checked(packet) else {
            return l.line(
                "L3",
                format_args!(
                    "malformed: IPv6 payload length past the {} bytes there",
                    packet.len()
                ),
            );
        };
        if ip.version() != 6 {
            return l.line(
                "L3",
                format_args!("malformed: IP version {} in an IPv6 frame", ip.version()),
            );
        }
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if l.style == Style::Full {
            l.line(
                "L3",
                format_args!(
                    "IPv6 {src} -> {dst}  hop limit {}  next {}  payload len {}",
                    ip.hop_limit(),
                    ip.next_header(),
                    ip.payload_len(),
                ),
            )?;
        }
        let (mut next, mut rest) = (ip.next_header(), ip.payload());
        // MLD reports carry a hop-by-hop header; whatever follows the
        // extension headers is what the frame is about. Each one is at
        // least 8 bytes, and a few are all a real packet has.
        for _ in 0..IPV6_EXTENSIONS_SKIPPED {
            if !matches!(
                next,
                IpProtocol::HopByHop
                    | IpProtocol::Ipv6Route
                    | IpProtocol::Ipv6Opts
                    | IpProtocol::Ipv6Frag
            ) {
                break;
            }
            let Ok(ext) = Ipv6ExtHeader::new_checked(rest) else {
                return l.line(
                    "L4",
                    format_args!(
                        "malformed: IPv6 {next} header past the {} bytes there",
                        rest.len()
                    ),
                );
            };
            if next == IpProtocol::Ipv6Frag
                && let Ok(frag) = Ipv6FragmentHeader::new_checked(ext.payload())
                && (frag.more_frags() || frag.frag_offset() != 0)
            {
                return l.line(
                    "L4",
                    format_args!(
                        "fragment at offset {} (not reassembled)",
                        u32::from(frag.frag_offset()) * 8
                    ),
                );
            }
            next = ext.next_header();
            rest = rest
                .get(8 + 8 * usize::from(ext.header_len())..)
                .unwrap_or_default();
        }
        match next {
            IpProtocol::Icmpv6 => decode_icmpv6(l, src, dst, rest),
            IpProtocol::Udp => decode_udp(l, src.into(), dst.into(), rest),
            IpProtocol::Tcp => self.decode_tcp(l, src.into(), dst.into(), rest),
            other => l.line("L4", format_args!("IP protocol {other} (not decoded)")),
        }
    }

    fn decode_tcp<W: Write>(
        &mut self,
        l: &mut Lines<'_, W>,
        src: IpAddress,
        dst: IpAddress,
        segment: &[u8],
    ) -> fmt::Result {
        let Ok(tcp) = TcpPacket::new_checked(segment) else {
            return l.line(
                "L4",
                format_args!(
                    "malformed: TCP data offset past the {} bytes of the segment",
                    segment.len()
                ),
            );
        };
        let from = IpEndpoint::new(src, tcp.src_port());
        let to = IpEndpoint::new(dst, tcp.dst_port());
        let seq = tcp.seq_number().0 as u32;
        let syn = tcp.syn().then(|| tcp::window_shift(tcp.options()));
        let base = self.base(from, to, seq, syn);
        let window = self.scaled_window(from, to, tcp.window_len(), tcp.syn());
        let checksum = tcp.verify_checksum(&src, &dst);
        write_l4_tcp(
            l,
            &tcp,
            (from, to),
            seq.wrapping_sub(base),
            self.known_base(to, from),
            window,
            checksum,
        )?;
        let payload = tcp.payload();
        if payload.is_empty() {
            return Ok(());
        }
        // TLS wherever a record header starts the payload; on the HTTPS
        // port a segment that does not start one carries the rest of a
        // record begun earlier.
        if tls::starts_record(payload) {
            return l.line("L7", format_args!("TLS {}", tls::Records(payload)));
        }
        let tls_port = crate::app::ports::FILES_TLS;
        if tcp.dst_port() == tls_port || tcp.src_port() == tls_port {
            return l.line(
                "L7",
                format_args!("TLS record continued, {} bytes", payload.len()),
            );
        }
        let app = service_name(tcp.dst_port()).or(service_name(tcp.src_port()));
        write_l7(l, app, payload)
    }

    /// Print `event` into `out` as one line after `head`.
    ///
    /// # Errors
    /// Those of `out`.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::{EthernetAddress, Ipv4Address, net::Event, trace::Decoder};
    /// let learned = Event::ArpFill { ip: Ipv4Address::new(10, 0, 0, 2), mac: EthernetAddress([2, 0, 0, 0, 0, 2]) };
    /// let mut line = String::new();
    /// Decoder::new().write_event(&mut line, format_args!("  * 0.001000 h1:"), &learned)?;
    /// assert_eq!(line, "  * 0.001000 h1: arp cache: 10.0.0.2 is at 02:00:00:00:00:02\n");
    /// # Ok::<(), core::fmt::Error>(())
    /// ```
    pub fn write_event<W: Write>(
        &self,
        out: &mut W,
        head: fmt::Arguments<'_>,
        event: &Event,
    ) -> fmt::Result {
        write!(out, "{head} ")?;
        match *event {
            Event::State {
                local,
                remote,
                from,
                to,
            } => {
                write!(out, "tcp {} {from} -> {to}", EndpointText(local))?;
                if let Some(remote) = remote {
                    write!(out, " (peer {})", EndpointText(remote))?;
                }
            }
            Event::Retransmit {
                local,
                remote,
                rel_seq,
                len,
            } => write!(
                out,
                "tcp retransmission {} -> {} seq {rel_seq} len {len}",
                EndpointText(local),
                EndpointText(remote)
            )?,
            Event::StallKick {
                local,
                remote,
                queued,
            } => write!(
                out,
                "tcp {} -> {}: nothing sent for a while with {queued} bytes queued; nudged",
                EndpointText(local),
                EndpointText(remote)
            )?,
            Event::ArpFill { ip, mac } => write!(out, "arp cache: {ip} is at {}", Mac(mac))?,
            Event::Dropped(reason) => write!(out, "dropped: {}", reason.as_str())?,
            #[cfg(feature = "names")]
            Event::Dhcp(DhcpEvent::Bound(lease)) => write!(
                out,
                "dhcp: bound {} via {}; the interface has this address now",
                lease.address, lease.server
            )?,
            #[cfg(feature = "names")]
            Event::Dhcp(DhcpEvent::Renewed(lease)) => {
                write!(out, "dhcp: lease of {} renewed", lease.address)?
            }
            #[cfg(feature = "names")]
            Event::Dhcp(DhcpEvent::Lost) => {
                write!(out, "dhcp: lease lost; no address, discovering again")?
            }
            Event::NoSocket { transport, to } => match transport {
                Transport::Tcp => write!(
                    out,
                    "no socket for TCP {}: answered with RST (unless it was one)",
                    EndpointText(to)
                )?,
                Transport::Udp => write!(
                    out,
                    "no socket for UDP {}: answered with ICMP port unreachable",
                    EndpointText(to)
                )?,
            },
        }
        writeln!(out)
    }
}

fn decode_arp<W: Write>(l: &mut Lines<'_, W>, packet: &[u8]) -> fmt::Result {
    let Ok(arp) = ArpPacket::new_checked(packet) else {
        return l.line(
            "L3",
            format_args!(
                "malformed: ARP lengths past the {} bytes there",
                packet.len()
            ),
        );
    };
    let ipv4 = |b: &[u8]| b.try_into().ok().map(Ipv4Address::from_octets);
    let mac = |b: &[u8]| b.try_into().ok().map(EthernetAddress);
    let (Some(sip), Some(tip), Some(smac)) = (
        ipv4(arp.source_protocol_addr()),
        ipv4(arp.target_protocol_addr()),
        mac(arp.source_hardware_addr()),
    ) else {
        return l.line(
            "L3",
            format_args!("ARP for something other than Ethernet and IPv4"),
        );
    };
    match arp.operation() {
        ArpOperation::Request => l.line("L3", format_args!("ARP who-has {tip} tell {sip}")),
        ArpOperation::Reply => l.line("L3", format_args!("ARP {sip} is-at {}", Mac(smac))),
        ArpOperation::Unknown(op) => l.line("L3", format_args!("ARP operation {op}")),
    }
}
