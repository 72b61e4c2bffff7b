//! TCP's L4 line (flags, relative numbers, options) and the L7 line of
//! any payload.
//!
//! Layer: a view across all of them, as its parent. Depends on smoltcp's
//! `wire` module and the shared writing in `text.rs`.

use core::fmt::{self, Write};

use smoltcp::wire::{IpEndpoint, TcpOption, TcpPacket};

use super::PAYLOAD_SHOWN;
use super::text::{Escaped, Lines};
use crate::socket::EndpointText;

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

/// The window scale option of a SYN's `options`, if it has one that parses.
pub(super) fn window_shift(options: &[u8]) -> Option<u8> {
    let mut rest = options;
    // Every option takes at least one byte: bounded as in `Options`.
    for _ in 0..options.len() {
        let (next, option) = TcpOption::parse(rest).ok()?;
        if next.len() >= rest.len() {
            return None;
        }
        match option {
            TcpOption::EndOfList => return None,
            TcpOption::WindowScale(shift) => return Some(shift),
            _ => rest = next,
        }
    }
    None
}

/// The L4 line; `window` is the window in bytes (scaled by the caller).
pub(super) fn write_l4_tcp<W: Write>(
    l: &mut Lines<'_, W>,
    tcp: &TcpPacket<&[u8]>,
    (from, to): (IpEndpoint, IpEndpoint),
    rel_seq: u32,
    peer_base: Option<u32>,
    window: u32,
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
            window,
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

pub(super) fn write_l7<W: Write>(
    l: &mut Lines<'_, W>,
    app: Option<&str>,
    payload: &[u8],
) -> fmt::Result {
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
