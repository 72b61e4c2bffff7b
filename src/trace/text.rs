//! The trace's writing: a frame's layer lines in either style, and the
//! small `Display` pieces every layer's decoder shares (escaped bytes, MAC
//! addresses, EtherType names, labelled optional values).
//!
//! Layer: a view across all of them, as its parent. Depends on `core::fmt`
//! and smoltcp's `wire` types only.

use core::fmt::{self, Write};

use smoltcp::wire::{EthernetAddress, EthernetProtocol};

use super::Style;

pub(super) struct Escaped<'b>(pub(super) &'b [u8]);

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

/// Writes the layer lines of one frame, in either style.
pub(super) struct Lines<'o, W> {
    pub(super) out: &'o mut W,
    pub(super) style: Style,
    pub(super) started: bool,
}

impl<W: Write> Lines<'_, W> {
    pub(super) fn line(&mut self, layer: &str, text: fmt::Arguments<'_>) -> fmt::Result {
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

pub(super) struct EtherTypeName(pub(super) EthernetProtocol);

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

/// In the brief style the IP addresses go with the L4 line.
pub(super) struct BriefAddrs<A>(pub(super) Option<(A, A)>);

impl<A: fmt::Display> fmt::Display for BriefAddrs<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some((src, dst)) => write!(f, "{src} -> {dst} "),
            None => Ok(()),
        }
    }
}

#[cfg(any(feature = "names", feature = "ipv6"))]
/// ` LABEL VALUE`, or nothing.
pub(super) struct Labelled<T>(pub(super) &'static str, pub(super) Option<T>);

#[cfg(any(feature = "names", feature = "ipv6"))]
impl<T: fmt::Display> fmt::Display for Labelled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.1 {
            Some(v) => write!(f, "{} {v}", self.0),
            None => Ok(()),
        }
    }
}
