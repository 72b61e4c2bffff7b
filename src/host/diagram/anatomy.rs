//! A frame's anatomy: nested boxes, Ethernet around IPv4 or IPv6 around
//! TCP, UDP or ICMP around the payload, each header's fields with their
//! byte offsets, values and bytes, and the whole frame in hex beneath.
//!
//! Layer: host (std). Depends on smoltcp's `wire` module (through
//! `new_checked`, to learn where each header ends) and [`super::svg`].
//! Fields are read with `get`, never by indexing, so no frame can panic
//! it; a header that does not parse ends the nesting with a note.

use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket,
    UdpPacket,
};

use super::capture::Frame;
use super::svg::Svg;

/// One header field.
struct Field {
    name: &'static str,
    /// Offset in the frame.
    at: usize,
    len: usize,
    value: String,
    /// The field's bytes in hex (the first dozen).
    raw: String,
}

/// One layer: its header fields, and what it carries.
struct Layer {
    name: String,
    at: usize,
    end: usize,
    fields: Vec<Field>,
    inner: Option<Box<Layer>>,
    note: Option<String>,
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

fn hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(12).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 12 { " …" } else { "" };
    format!("{}{more}", shown.join(" "))
}

struct Reader<'a> {
    frame: &'a [u8],
    base: usize,
    fields: Vec<Field>,
}

impl<'a> Reader<'a> {
    fn new(frame: &'a [u8], base: usize) -> Self {
        Reader {
            frame,
            base,
            fields: Vec::new(),
        }
    }

    fn bytes(&self, off: usize, len: usize) -> &'a [u8] {
        self.frame
            .get(self.base + off..self.base + off + len)
            .unwrap_or(&[])
    }

    fn field(
        &mut self,
        name: &'static str,
        off: usize,
        len: usize,
        show: impl Fn(&[u8]) -> String,
    ) {
        let bytes = self.bytes(off, len);
        if bytes.len() == len {
            let value = show(bytes);
            self.fields.push(Field {
                name,
                at: self.base + off,
                len,
                value,
                raw: hex(bytes),
            });
        }
    }

    fn num(&mut self, name: &'static str, off: usize, len: usize) {
        self.field(name, off, len, |b| be(b).to_string());
    }
}

fn mac(b: &[u8]) -> String {
    let parts: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    parts.join(":")
}

fn ipv4(b: &[u8]) -> String {
    let parts: Vec<String> = b.iter().map(u8::to_string).collect();
    parts.join(".")
}

fn ipv6(b: &[u8]) -> String {
    <[u8; 16]>::try_from(b)
        .map(|a| std::net::Ipv6Addr::from(a).to_string())
        .unwrap_or_default()
}

fn ethernet(frame: &[u8]) -> Layer {
    let mut r = Reader::new(frame, 0);
    r.field("destination", 0, 6, mac);
    r.field("source", 6, 6, mac);
    r.field("EtherType", 12, 2, |b| {
        let t = be(b);
        let name = match t {
            0x0800 => " (IPv4)",
            0x0806 => " (ARP)",
            0x86dd => " (IPv6)",
            _ => "",
        };
        format!("0x{t:04x}{name}")
    });
    let mut layer = Layer {
        name: "Ethernet II".into(),
        at: 0,
        end: frame.len(),
        fields: r.fields,
        inner: None,
        note: None,
    };
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        layer.note = Some(format!(
            "{} bytes: too short for an Ethernet header",
            frame.len()
        ));
        return layer;
    };
    let (inner, used) = match eth.ethertype() {
        EthernetProtocol::Arp => arp(frame, 14),
        EthernetProtocol::Ipv4 => ip4(frame, 14),
        EthernetProtocol::Ipv6 => ip6(frame, 14),
        other => {
            layer.note = Some(format!("EtherType {other}: not drawn further"));
            return layer;
        }
    };
    if 14 + used < frame.len() {
        layer.note = Some(format!(
            "bytes {}–{}: padding to Ethernet's 60-byte minimum",
            14 + used,
            frame.len() - 1
        ));
    }
    layer.inner = Some(Box::new(inner));
    layer
}

fn arp(frame: &[u8], base: usize) -> (Layer, usize) {
    let mut r = Reader::new(frame, base);
    let ok = frame
        .get(base..)
        .is_some_and(|b| ArpPacket::new_checked(b).is_ok());
    r.num("hardware type", 0, 2);
    r.field("protocol type", 2, 2, |b| format!("0x{:04x}", be(b)));
    r.num("hardware size", 4, 1);
    r.num("protocol size", 5, 1);
    r.field("operation", 6, 2, |b| match be(b) {
        1 => "1 (request)".into(),
        2 => "2 (reply)".into(),
        n => n.to_string(),
    });
    if ok {
        r.field("sender MAC", 8, 6, mac);
        r.field("sender IP", 14, 4, ipv4);
        r.field("target MAC", 18, 6, mac);
        r.field("target IP", 24, 4, ipv4);
    }
    let end = (base + 28).min(frame.len());
    let layer = Layer {
        name: "ARP".into(),
        at: base,
        end,
        fields: r.fields,
        inner: None,
        note: (!ok).then(|| "malformed or not IPv4-over-Ethernet ARP".to_string()),
    };
    (layer, end - base)
}

fn ip4(frame: &[u8], base: usize) -> (Layer, usize) {
    let bytes = frame.get(base..).unwrap_or(&[]);
    let mut r = Reader::new(frame, base);
    r.field("version, header length", 0, 1, |b| {
        let v = b.first().copied().unwrap_or(0);
        format!("{}, {} bytes", v >> 4, (v & 0xf) * 4)
    });
    r.field("DSCP, ECN", 1, 1, |b| format!("0x{:02x}", be(b)));
    r.num("total length", 2, 2);
    r.num("identification", 4, 2);
    r.field("flags, fragment offset", 6, 2, |b| {
        let v = be(b);
        let df = if v & 0x4000 != 0 { "DF" } else { "" };
        let mf = if v & 0x2000 != 0 { " MF" } else { "" };
        format!("{df}{mf} offset {}", (v & 0x1fff) * 8)
    });
    r.num("time to live", 8, 1);
    r.field("protocol", 9, 1, |b| {
        let p = be(b);
        let name = match p {
            1 => " (ICMP)",
            6 => " (TCP)",
            17 => " (UDP)",
            _ => "",
        };
        format!("{p}{name}")
    });
    r.field("header checksum", 10, 2, |b| format!("0x{:04x}", be(b)));
    r.field("source", 12, 4, ipv4);
    r.field("destination", 16, 4, ipv4);
    let Ok(ip) = Ipv4Packet::new_checked(bytes) else {
        let layer = Layer {
            name: "IPv4".into(),
            at: base,
            end: frame.len(),
            fields: r.fields,
            inner: None,
            note: Some("malformed IPv4 header".into()),
        };
        return (layer, bytes.len());
    };
    let hl = usize::from(ip.header_len());
    if hl > 20 {
        r.field("options", 20, hl - 20, hex);
    }
    let total = usize::from(ip.total_len());
    let inner = if ip.frag_offset() == 0 {
        transport(frame, base + hl, ip.next_header(), total.saturating_sub(hl))
    } else {
        None
    };
    let layer = Layer {
        name: "IPv4".into(),
        at: base,
        end: base + total,
        fields: r.fields,
        inner,
        note: None,
    };
    (layer, total)
}

fn ip6(frame: &[u8], base: usize) -> (Layer, usize) {
    let bytes = frame.get(base..).unwrap_or(&[]);
    let mut r = Reader::new(frame, base);
    r.field("version, class, flow label", 0, 4, |b| {
        let v = be(b);
        format!(
            "{}, 0x{:02x}, 0x{:05x}",
            v >> 28,
            (v >> 20) & 0xff,
            v & 0xfffff
        )
    });
    r.num("payload length", 4, 2);
    r.field("next header", 6, 1, |b| {
        let p = be(b);
        let name = match p {
            6 => " (TCP)",
            17 => " (UDP)",
            58 => " (ICMPv6)",
            _ => "",
        };
        format!("{p}{name}")
    });
    r.num("hop limit", 7, 1);
    r.field("source", 8, 16, ipv6);
    r.field("destination", 24, 16, ipv6);
    let Ok(ip) = Ipv6Packet::new_checked(bytes) else {
        let layer = Layer {
            name: "IPv6".into(),
            at: base,
            end: frame.len(),
            fields: r.fields,
            inner: None,
            note: Some("malformed IPv6 header".into()),
        };
        return (layer, bytes.len());
    };
    let payload = usize::from(ip.payload_len());
    let inner = transport(frame, base + 40, ip.next_header(), payload);
    let layer = Layer {
        name: "IPv6".into(),
        at: base,
        end: base + 40 + payload,
        fields: r.fields,
        inner,
        note: None,
    };
    (layer, 40 + payload)
}

fn transport(frame: &[u8], base: usize, protocol: IpProtocol, len: usize) -> Option<Box<Layer>> {
    let bytes = frame.get(base..base + len)?;
    let mut r = Reader::new(frame, base);
    let (name, header) = match protocol {
        IpProtocol::Tcp => {
            let tcp = TcpPacket::new_checked(bytes).ok()?;
            r.num("source port", 0, 2);
            r.num("destination port", 2, 2);
            r.num("sequence number", 4, 4);
            r.num("acknowledgment number", 8, 4);
            r.field("header length, flags", 12, 2, |b| {
                let v = be(b);
                let flags: Vec<&str> = [
                    (0x20, "URG"),
                    (0x10, "ACK"),
                    (0x08, "PSH"),
                    (0x04, "RST"),
                    (0x02, "SYN"),
                    (0x01, "FIN"),
                ]
                .iter()
                .filter(|(bit, _)| v & bit != 0)
                .map(|(_, n)| *n)
                .collect();
                format!("{} bytes, {}", (v >> 12) * 4, flags.join(" "))
            });
            r.num("window", 14, 2);
            r.field("checksum", 16, 2, |b| format!("0x{:04x}", be(b)));
            r.num("urgent pointer", 18, 2);
            let hl = usize::from(tcp.header_len());
            if hl > 20 {
                r.field("options", 20, hl - 20, hex);
            }
            ("TCP", hl)
        }
        IpProtocol::Udp => {
            UdpPacket::new_checked(bytes).ok()?;
            r.num("source port", 0, 2);
            r.num("destination port", 2, 2);
            r.num("length", 4, 2);
            r.field("checksum", 6, 2, |b| format!("0x{:04x}", be(b)));
            ("UDP", 8)
        }
        IpProtocol::Icmp | IpProtocol::Icmpv6 => {
            if bytes.len() < 8 {
                return None;
            }
            r.num("type", 0, 1);
            r.num("code", 1, 1);
            r.field("checksum", 2, 2, |b| format!("0x{:04x}", be(b)));
            r.field("rest of header", 4, 4, hex);
            (
                if protocol == IpProtocol::Icmp {
                    "ICMP"
                } else {
                    "ICMPv6"
                },
                8,
            )
        }
        _ => return None,
    };
    let payload = bytes.get(header..).unwrap_or(&[]);
    let inner = (!payload.is_empty()).then(|| {
        // Escapes as a C string writes them: every font has backslashes.
        let text: String = payload
            .iter()
            .take(48)
            .map(|b| match *b {
                b'\\' => "\\\\".to_string(),
                b'"' => "\\\"".to_string(),
                b' '..=b'~' => char::from(*b).to_string(),
                b'\r' => "\\r".to_string(),
                b'\n' => "\\n".to_string(),
                b'\t' => "\\t".to_string(),
                other => format!("\\x{other:02x}"),
            })
            .collect();
        let more = if payload.len() > 48 { " …" } else { "" };
        Box::new(Layer {
            name: "payload".into(),
            at: base + header,
            end: base + len,
            fields: Vec::new(),
            inner: None,
            note: Some(format!("{} bytes: \"{text}{more}\"", payload.len())),
        })
    });
    Some(Box::new(Layer {
        name: name.into(),
        at: base,
        end: base + len,
        fields: r.fields,
        inner,
        note: None,
    }))
}

const WIDTH: f64 = 980.0;
const LINE: f64 = 18.0;
const INSET: f64 = 18.0;

/// The anatomy of `frame`.
pub(crate) fn draw(frame: &Frame, title: &str) -> String {
    let layer = ethernet(&frame.data);
    let mut svg = Svg::new(WIDTH, 0.0);
    svg.text(12.0, 24.0, "start", "h", title);
    svg.text(12.0, 42.0, "start", "s",
        "each box holds the layer inside it; offsets are bytes from the start of the frame (Ethernet's FCS is not captured)");
    let mut y = 60.0;
    draw_layer(&mut svg, &layer, 0, &mut y);
    y += 24.0;
    svg.text(12.0, y, "start", "b", "the frame in hex");
    y += LINE;
    for (row, chunk) in frame.data.chunks(16).enumerate() {
        let bytes: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|b| {
                if (b' '..=b'~').contains(b) {
                    char::from(*b)
                } else {
                    '.'
                }
            })
            .collect();
        svg.text(
            12.0,
            y,
            "start",
            "m",
            &format!("{:04x}  {:<47}  {ascii}", row * 16, bytes.join(" ")),
        );
        y += LINE - 2.0;
        if row >= 63 {
            svg.text(12.0, y, "start", "s", "(the rest is not shown)");
            y += LINE;
            break;
        }
    }
    svg.set_height(y + 16.0);
    svg.finish(title)
}

fn draw_layer(svg: &mut Svg, layer: &Layer, depth: usize, y: &mut f64) {
    let x = 12.0 + INSET * depth as f64;
    let w = WIDTH - 2.0 * x;
    let top = *y;
    *y += 20.0;
    let range = if layer.end > layer.at {
        format!(
            "bytes {}–{} ({} bytes)",
            layer.at,
            layer.end - 1,
            layer.end - layer.at
        )
    } else {
        "no bytes".into()
    };
    svg.text(
        x + 8.0,
        *y,
        "start",
        "b",
        &format!("{}   {range}", layer.name),
    );
    *y += 6.0;
    for f in &layer.fields {
        *y += LINE;
        let offsets = if f.len == 1 {
            format!("{}", f.at)
        } else {
            format!("{}–{}", f.at, f.at + f.len - 1)
        };
        svg.text(x + 12.0, *y, "start", "ms", &offsets);
        svg.text(x + 80.0, *y, "start", "t", f.name);
        svg.text(x + 260.0, *y, "start", "t", &f.value);
        svg.text(w + x - 10.0, *y, "end", "ms", &f.raw);
    }
    if let Some(inner) = &layer.inner {
        *y += 10.0;
        draw_layer(svg, inner, depth + 1, y);
    }
    if let Some(note) = &layer.note {
        *y += LINE;
        svg.text(x + 12.0, *y, "start", "s", note);
    }
    *y += 10.0;
    svg.rounded(x, top, w, *y - top, "box");
    *y += 4.0;
}
