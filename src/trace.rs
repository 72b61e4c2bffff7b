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
//! It reads Ethernet, ARP, IPv4, ICMP, TCP and UDP, and at L7 the classic
//! services by port (DHCP and DNS with the `names` feature). With the
//! `ipv6` feature it also reads IPv6 (past its extension headers), ICMPv6
//! with neighbour discovery and MLD, and TCP and UDP over IPv6, whose
//! endpoints print as they are typed: `[fd00::1]:7878`. Without it an IPv6
//! frame is only named at L3, and none of the IPv6 decoding is built.

use core::fmt::{self, Write};

use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetAddress, EthernetFrame, EthernetProtocol, Icmpv4Message,
    Icmpv4Packet, IpAddress, IpEndpoint, IpProtocol, Ipv4Address, Ipv4Packet, TcpOption, TcpPacket,
    UdpPacket,
};
#[cfg(feature = "names")]
use smoltcp::wire::{
    DhcpMessageType, DhcpPacket, DhcpRepr, DnsFlags, DnsPacket, DnsQuestion, DnsRecord,
    DnsRecordData,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{
    Icmpv6Message, Icmpv6Packet, Ipv6Address, Ipv6ExtHeader, Ipv6FragmentHeader, Ipv6Packet,
    MldRepr, NdiscNeighborFlags, NdiscPrefixInfoFlags, NdiscPrefixInformation, NdiscRepr,
    NdiscRouterFlags,
};

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

#[derive(Debug, Clone, Copy)]
struct Conversation {
    from: IpEndpoint,
    to: IpEndpoint,
    base: u32,
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

struct Escaped<'b>(&'b [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for &byte in self.0 {
            match byte {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                b'\r' => f.write_str("\\r")?,
                b'\n' => f.write_str("\\n")?,
                b'\t' => f.write_str("\\t")?,
                0x20..=0x7e => f.write_char(char::from(byte))?,
                _ => write!(f, "\\x{byte:02x}")?,
            }
        }
        f.write_char('"')
    }
}

/// TCP flags in Wireshark's order and spelling: `[SYN, ACK]`.
struct Flags<'p>(&'p TcpPacket<&'p [u8]>);

impl fmt::Display for Flags<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let all = [
            (t.fin(), "FIN"),
            (t.syn(), "SYN"),
            (t.rst(), "RST"),
            (t.psh(), "PSH"),
            (t.ack(), "ACK"),
            (t.urg(), "URG"),
            (t.ece(), "ECE"),
            (t.cwr(), "CWR"),
        ];
        f.write_char('[')?;
        let mut first = true;
        // SYN first, then the rest in bit order, as Wireshark lists them.
        for (on, name) in [
            all[1], all[0], all[2], all[3], all[4], all[5], all[6], all[7],
        ] {
            if on {
                if !first {
                    f.write_str(", ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        f.write_char(']')
    }
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
    /// (a SYN always starts a new one).
    fn base(&mut self, from: IpEndpoint, to: IpEndpoint, seq: u32, syn: bool) -> u32 {
        let found = self
            .conversations
            .iter_mut()
            .find(|c| c.from == from && c.to == to);
        match found {
            Some(c) => {
                if syn {
                    c.base = seq;
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
                });
                seq
            }
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
        let base = self.base(from, to, seq, tcp.syn());
        let checksum = tcp.verify_checksum(&src, &dst);
        write_l4_tcp(
            l,
            &tcp,
            from,
            to,
            seq.wrapping_sub(base),
            self.known_base(to, from),
            checksum,
        )?;
        let payload = tcp.payload();
        if !payload.is_empty() {
            let app = service_name(tcp.dst_port()).or(service_name(tcp.src_port()));
            write_l7(l, app, payload)?;
        }
        Ok(())
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

/// Writes the layer lines of one frame, in either style.
struct Lines<'o, W> {
    out: &'o mut W,
    style: Style,
    started: bool,
}

impl<W: Write> Lines<'_, W> {
    fn line(&mut self, layer: &str, text: fmt::Arguments<'_>) -> fmt::Result {
        match self.style {
            Style::Full => writeln!(self.out, "    {layer}  {text}"),
            Style::Brief => {
                if self.started {
                    self.out.write_str("  ")?;
                }
                self.started = true;
                write!(self.out, "{text}")
            }
        }
    }
}

/// A MAC address with colons, as Wireshark and `ip link` print it.
///
/// # Example
///
/// ```
/// use layernet::{EthernetAddress, trace::Mac};
/// let mac = EthernetAddress([0x02, 0, 0x5e, 0x10, 0, 0xaf]);
/// assert_eq!(Mac(mac).to_string(), "02:00:5e:10:00:af");
/// ```
pub struct Mac(pub EthernetAddress);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

struct EtherTypeName(EthernetProtocol);

impl fmt::Display for EtherTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            EthernetProtocol::Arp => f.write_str("ARP"),
            EthernetProtocol::Ipv4 => f.write_str("IPv4"),
            EthernetProtocol::Ipv6 => f.write_str("IPv6"),
            EthernetProtocol::Unknown(t) => write!(f, "EtherType 0x{t:04x}"),
        }
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

fn decode_icmp<W: Write>(
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
/// Extension headers looked through before giving up on an IPv6 packet.
const IPV6_EXTENSIONS_SKIPPED: usize = 4;

#[cfg(feature = "ipv6")]
fn decode_icmpv6<W: Write>(
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

/// In the brief style the IP addresses go with the L4 line.
struct BriefAddrs<A>(Option<(A, A)>);

impl<A: fmt::Display> fmt::Display for BriefAddrs<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some((src, dst)) => write!(f, "{src} -> {dst} "),
            None => Ok(()),
        }
    }
}

fn decode_udp<W: Write>(
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

#[cfg(any(feature = "names", feature = "ipv6"))]
/// ` LABEL VALUE`, or nothing.
struct Labelled<T>(&'static str, Option<T>);

#[cfg(any(feature = "names", feature = "ipv6"))]
impl<T: fmt::Display> fmt::Display for Labelled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.1 {
            Some(v) => write!(f, "{} {v}", self.0),
            None => Ok(()),
        }
    }
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

fn write_l4_tcp<W: Write>(
    l: &mut Lines<'_, W>,
    tcp: &TcpPacket<&[u8]>,
    from: IpEndpoint,
    to: IpEndpoint,
    rel_seq: u32,
    peer_base: Option<u32>,
    checksum: bool,
) -> fmt::Result {
    let ack = match (tcp.ack(), peer_base) {
        (true, Some(base)) => Ack::Relative(tcp.ack_number().0 as u32, base),
        (true, None) => Ack::Absolute(tcp.ack_number().0 as u32),
        (false, _) => Ack::None,
    };
    let options = Options(tcp.options());
    let checksum = if checksum { "" } else { "  checksum BAD" };
    l.line(
        "L4",
        format_args!(
            "TCP {} -> {} {}  seq {rel_seq}{ack}  win {}{options}  len {}{checksum}",
            EndpointText(from),
            EndpointText(to),
            Flags(tcp),
            tcp.window_len(),
            tcp.payload().len()
        ),
    )
}

enum Ack {
    None,
    Relative(u32, u32),
    Absolute(u32),
}

impl fmt::Display for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Ack::None => Ok(()),
            Ack::Relative(ack, base) => write!(f, "  ack {}", ack.wrapping_sub(base)),
            Ack::Absolute(ack) => write!(f, "  ack {ack} (absolute)"),
        }
    }
}

/// The options of a TCP header, or what stopped their parsing.
struct Options<'o>(&'o [u8]);

impl fmt::Display for Options<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        // Every option takes at least one byte, so this bounds the loop even
        // if a parser returned without consuming (a zero length option).
        for _ in 0..self.0.len() {
            if rest.is_empty() {
                break;
            }
            let Ok((next, option)) = TcpOption::parse(rest) else {
                return f.write_str("  options malformed");
            };
            if next.len() >= rest.len() {
                return f.write_str("  options malformed");
            }
            rest = next;
            let sep = if first { "  opts " } else { ", " };
            match option {
                TcpOption::EndOfList => break,
                TcpOption::NoOperation => continue,
                TcpOption::MaxSegmentSize(mss) => write!(f, "{sep}mss {mss}")?,
                TcpOption::WindowScale(ws) => write!(f, "{sep}ws {ws}")?,
                TcpOption::SackPermitted => write!(f, "{sep}sack-ok")?,
                TcpOption::SackRange(_) => write!(f, "{sep}sack")?,
                TcpOption::TimeStamp { tsval, tsecr } => write!(f, "{sep}ts {tsval}/{tsecr}")?,
                TcpOption::Unknown { kind, .. } => write!(f, "{sep}kind {kind}")?,
            }
            first = false;
        }
        Ok(())
    }
}

fn write_l7<W: Write>(l: &mut Lines<'_, W>, app: Option<&str>, payload: &[u8]) -> fmt::Result {
    if payload.is_empty() {
        return Ok(());
    }
    let shown = &payload[..payload.len().min(PAYLOAD_SHOWN)];
    let more = payload.len() - shown.len();
    let app = app.unwrap_or("data");
    if more > 0 {
        l.line(
            "L7",
            format_args!("{app} {} ... (+{more} bytes)", Escaped(shown)),
        )
    } else {
        l.line("L7", format_args!("{app} {}", Escaped(shown)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_shows_line_ends_and_binary() {
        let mut s = heapless::String::<64>::new();
        write!(s, "{}", Escaped(b"hi\r\n\x00\"")).ok();
        assert_eq!(s.as_str(), r#""hi\r\n\x00\"""#);
    }

    #[test]
    fn short_frames_are_malformed_not_panics() {
        let mut s = heapless::String::<256>::new();
        let mut d = Decoder::new();
        d.write_frame(&mut s, Style::Brief, format_args!("#1"), &[1, 2, 3])
            .ok();
        assert!(s.contains("malformed: 3 bytes"), "{s}");
    }
}

#[cfg(all(test, feature = "ipv6"))]
mod ipv6_tests {
    extern crate std;

    use std::{string::String, vec, vec::Vec};

    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::time::Duration;
    use smoltcp::wire::{
        EthernetRepr, Icmpv6Repr, Ipv6Repr, TcpControl, TcpRepr, TcpSeqNumber, UdpRepr,
    };

    use super::*;
    use crate::app::ports;

    const ROUTER: Ipv6Address = Ipv6Address::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    const HOST: Ipv6Address = Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    const SERVER: Ipv6Address = Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0xfe]);

    /// An Ethernet frame with an IPv6 header from `src` to `dst`; `emit`
    /// writes the `len` bytes after it.
    fn frame(
        (src, dst): (Ipv6Address, Ipv6Address),
        next_header: IpProtocol,
        len: usize,
        emit: impl FnOnce(&mut [u8]),
    ) -> Vec<u8> {
        let mut f = vec![0; 14 + 40 + len];
        let ethertype = EthernetProtocol::Ipv6;
        let (src_addr, dst_addr) = (MAC, EthernetAddress::BROADCAST);
        EthernetRepr {
            src_addr,
            dst_addr,
            ethertype,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut f));
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header,
            payload_len: len,
            hop_limit: 255,
        };
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut f[14..]));
        emit(&mut f[54..]);
        f
    }

    fn icmp(addrs: (Ipv6Address, Ipv6Address), repr: Icmpv6Repr<'_>) -> Vec<u8> {
        frame(addrs, IpProtocol::Icmpv6, repr.buffer_len(), |b| {
            let caps = ChecksumCapabilities::default();
            let mut packet = Icmpv6Packet::new_unchecked(b);
            repr.emit(&addrs.0, &addrs.1, &mut packet, &caps);
        })
    }

    fn tcp(addrs: (Ipv6Address, Ipv6Address), repr: &TcpRepr<'_>) -> Vec<u8> {
        frame(addrs, IpProtocol::Tcp, repr.buffer_len(), |b| {
            let (src, dst) = (addrs.0.into(), addrs.1.into());
            let caps = ChecksumCapabilities::default();
            repr.emit(&mut TcpPacket::new_unchecked(b), &src, &dst, &caps);
        })
    }

    /// Each frame decoded in turn by one decoder.
    fn decode(style: Style, frames: &[&[u8]]) -> String {
        let mut decoder = Decoder::new();
        let mut text = String::new();
        for (i, frame) in frames.iter().enumerate() {
            let head = format_args!("#{}", i + 1);
            decoder.write_frame(&mut text, style, head, frame).ok();
        }
        text
    }

    fn router_advert() -> Vec<u8> {
        let prefix = NdiscPrefixInformation {
            prefix_len: 64,
            flags: NdiscPrefixInfoFlags::ON_LINK | NdiscPrefixInfoFlags::ADDRCONF,
            valid_lifetime: Duration::from_secs(86400),
            preferred_lifetime: Duration::from_secs(14400),
            prefix: Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 0),
        };
        let ra = NdiscRepr::RouterAdvert {
            hop_limit: 64,
            flags: NdiscRouterFlags::OTHER,
            router_lifetime: Duration::from_secs(1800),
            reachable_time: Duration::ZERO,
            retrans_time: Duration::ZERO,
            lladdr: Some(MAC.into()),
            mtu: Some(1500),
            prefix_info: Some(prefix),
        };
        icmp(
            (ROUTER, Ipv6Address::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
            Icmpv6Repr::Ndisc(ra),
        )
    }

    #[test]
    fn a_router_advertisement_shows_its_prefix() {
        let ra = router_advert();
        let full = decode(Style::Full, &[&ra]);
        let l3 = "    L3  IPv6 fe80::1 -> ff02::1  hop limit 255  next ICMPv6  payload len 64\n";
        assert!(full.contains(l3), "{full}");
        let advert = "ICMPv6 router advertisement  hop limit 64  lifetime 1800 s  flags [O]  \
            prefix fd00::/64 [L, A]  valid 86400 s  preferred 14400 s  mtu 1500  \
            source lladdr 02:00:00:00:00:fe  checksum OK";
        assert!(full.contains(&format!("    L4  {advert}\n")), "{full}");
        let brief = decode(Style::Brief, &[&ra]);
        assert_eq!(brief, format!("#1 fe80::1 -> ff02::1 {advert}\n"));
    }

    #[test]
    fn neighbour_solicitation_and_advertisement() {
        let target_addr = SERVER;
        let lladdr = Some(MAC.into());
        let ns = NdiscRepr::NeighborSolicit {
            target_addr,
            lladdr,
        };
        let solicited_node = Ipv6Address::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 1);
        let ns = icmp((HOST, solicited_node), Icmpv6Repr::Ndisc(ns));
        let flags = NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE;
        let na = NdiscRepr::NeighborAdvert {
            flags,
            target_addr,
            lladdr,
        };
        let na = icmp((SERVER, HOST), Icmpv6Repr::Ndisc(na));
        let dad = NdiscRepr::NeighborSolicit {
            target_addr,
            lladdr: None,
        };
        let dad = icmp(
            (Ipv6Address::UNSPECIFIED, solicited_node),
            Icmpv6Repr::Ndisc(dad),
        );
        let brief = decode(Style::Brief, &[&ns, &na, &dad]);
        let expected = [
            "#1 fd00::2 -> ff02::1:ff00:1 ICMPv6 neighbour solicitation for fd00::1  \
             source lladdr 02:00:00:00:00:fe  checksum OK",
            "#2 fd00::1 -> fd00::2 ICMPv6 neighbour advertisement fd00::1 [S, O]  \
             target lladdr 02:00:00:00:00:fe  checksum OK",
            "#3 :: -> ff02::1:ff00:1 ICMPv6 neighbour solicitation for fd00::1 \
             (duplicate address detection)  checksum OK",
        ];
        assert_eq!(brief.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn echo_with_a_bad_checksum_says_so() {
        let data = b"abcdefgh";
        let echo = Icmpv6Repr::EchoRequest {
            ident: 0x22,
            seq_no: 3,
            data,
        };
        let mut echo = icmp((HOST, SERVER), echo);
        let good = decode(Style::Full, &[&echo]);
        let line = "    L4  ICMPv6 echo request id 0x0022 seq 3  8 data bytes  checksum OK\n";
        assert!(good.contains(line), "{good}");
        echo[62] ^= 0x40; // the first data byte
        let bad = decode(Style::Brief, &[&echo]);
        assert!(
            bad.ends_with("seq 3  8 data bytes  checksum BAD\n"),
            "{bad}"
        );
    }

    #[test]
    fn tcp_over_ipv6_numbers_each_direction_from_its_syn() {
        let mut syn = TcpRepr {
            src_port: 49152,
            dst_port: ports::GREETING,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(1000),
            ack_number: None,
            window_len: 8192,
            window_scale: None,
            max_seg_size: Some(1440),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let first = tcp((HOST, SERVER), &syn);
        let mut reply = syn;
        (reply.src_port, reply.dst_port) = (syn.dst_port, syn.src_port);
        (reply.seq_number, reply.ack_number) = (TcpSeqNumber(7), Some(TcpSeqNumber(1001)));
        reply.payload = b"hi\n";
        reply.control = TcpControl::Psh;
        let second = tcp((SERVER, HOST), &reply);
        syn.control = TcpControl::None;
        syn.seq_number = TcpSeqNumber(1001);
        syn.ack_number = Some(TcpSeqNumber(10));
        let third = tcp((HOST, SERVER), &syn);
        let full = decode(Style::Full, &[&first, &second, &third]);
        let lines = [
            "    L3  IPv6 fd00::2 -> fd00::1  hop limit 255  next TCP  payload len 24",
            "    L4  TCP [fd00::2]:49152 -> [fd00::1]:1234 [SYN]  seq 0  win 8192  opts mss 1440  len 0",
            "    L4  TCP [fd00::1]:1234 -> [fd00::2]:49152 [PSH, ACK]  seq 0  ack 1  win 8192  opts mss 1440  len 3",
            "    L7  greeting \"hi\\n\"",
            "    L4  TCP [fd00::2]:49152 -> [fd00::1]:1234 [ACK]  seq 1  ack 3  win 8192  opts mss 1440  len 0",
        ];
        for line in lines {
            assert!(full.lines().any(|l| l == line), "{line:?} in\n{full}");
        }
    }

    #[test]
    fn udp_over_ipv6_checks_its_sum_and_names_the_service() {
        let udp = UdpRepr {
            src_port: 50000,
            dst_port: ports::ECHO,
        };
        let payload = b"ping";
        let mut datagram = frame((HOST, SERVER), IpProtocol::Udp, 8 + payload.len(), |b| {
            let (src, dst) = (HOST.into(), SERVER.into());
            let caps = ChecksumCapabilities::default();
            let mut packet = UdpPacket::new_unchecked(b);
            udp.emit(
                &mut packet,
                &src,
                &dst,
                payload.len(),
                |p| p.copy_from_slice(payload),
                &caps,
            );
        });
        let brief = decode(Style::Brief, &[&datagram]);
        let expected =
            "#1 UDP [fd00::2]:50000 -> [fd00::1]:7  len 12  checksum OK  echo \"ping\"\n";
        assert_eq!(brief, expected);
        datagram[60..62].copy_from_slice(&[0, 0]);
        let unsummed = expected.replace("checksum OK", "checksum none (IPv6 requires one)");
        assert_eq!(decode(Style::Brief, &[&datagram]), unsummed);
    }

    #[test]
    fn mld_behind_a_hop_by_hop_header() {
        let group = Ipv6Address::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2);
        let mld_routers = Ipv6Address::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
        // Router alert (MLD) and two bytes of padding, then an MLDv2
        // report with one "change to exclude" record for `group`.
        let hop_by_hop = [58, 0, 5, 2, 0, 0, 1, 0];
        let report = [143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0];
        let mut f = frame(
            (HOST, mld_routers),
            IpProtocol::HopByHop,
            8 + 12 + 16,
            |b| {
                b[..8].copy_from_slice(&hop_by_hop);
                b[8..20].copy_from_slice(&report);
                b[20..].copy_from_slice(&group.octets());
                Icmpv6Packet::new_unchecked(&mut b[8..]).fill_checksum(&HOST, &mld_routers);
            },
        );
        let full = decode(Style::Full, &[&f]);
        assert!(full.contains("next Hop-by-Hop  payload len 36\n"), "{full}");
        assert!(
            full.contains("L4  ICMPv6 MLDv2 report, 1 group  checksum OK\n"),
            "{full}"
        );
        f[54 + 1] = 9; // the hop-by-hop header's length, past the packet
        let full = decode(Style::Full, &[&f]);
        let malformed = "L4  malformed: IPv6 Hop-by-Hop header past the 36 bytes there\n";
        assert!(full.contains(malformed), "{full}");
    }

    #[test]
    fn fragments_and_short_headers() {
        let later_fragment = [17, 0, 0x05, 0x00, 0, 0, 0, 1];
        let f = frame((HOST, SERVER), IpProtocol::Ipv6Frag, 16, |b| {
            b[..8].copy_from_slice(&later_fragment)
        });
        let brief = decode(Style::Brief, &[&f]);
        assert_eq!(brief, "#1 fragment at offset 1280 (not reassembled)\n");
        let brief = decode(Style::Brief, &[&f[..60]]);
        assert_eq!(
            brief,
            "#1 malformed: IPv6 payload length past the 46 bytes there\n"
        );
    }
}
