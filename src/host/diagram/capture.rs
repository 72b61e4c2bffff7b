//! Reading a capture file: classic pcap (what tcpdump and layernet's
//! `--pcap` write) or pcapng (what tshark, Wireshark and dumpcap write), into
//! numbered frames with their time and the simulation's verdict, if any.
//!
//! Layer: host (std). Depends on the `pcap-file` crate's slice parsers only:
//! the whole file is read first, so a truncated file is an error at the
//! frame where it ends rather than a frame read half.

use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};

/// What the simulated segment did to a frame, as its pcapng comment says
/// (`layernet: dropped`, ...).
///
/// ```
/// use layernet::host::diagram::capture::Verdict;
/// let v = Verdict::from_comment("layernet: reordered");
/// assert_eq!(v.map(Verdict::as_str), Some("reordered"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Lost on the wire: the receiver never saw it.
    Dropped,
    /// Delivered with bytes changed.
    Corrupted,
    /// Delivered twice.
    Duplicated,
    /// Delivered after a later frame.
    Reordered,
}

impl Verdict {
    /// The word after `layernet: ` in the comment.
    ///
    /// ```
    /// use layernet::host::diagram::capture::Verdict;
    /// assert_eq!(format!("layernet: {}", Verdict::Dropped.as_str()), "layernet: dropped");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Dropped => "dropped",
            Verdict::Corrupted => "corrupted",
            Verdict::Duplicated => "duplicated",
            Verdict::Reordered => "reordered",
        }
    }

    /// The verdict a pcapng comment names, if it is one of layernet's.
    ///
    /// ```
    /// use layernet::host::diagram::capture::Verdict;
    /// assert_eq!(Verdict::from_comment("layernet: dropped"), Some(Verdict::Dropped));
    /// assert_eq!(Verdict::from_comment("a note"), None);
    /// ```
    pub fn from_comment(comment: &str) -> Option<Verdict> {
        match comment.trim().strip_prefix("layernet: ")? {
            "dropped" => Some(Verdict::Dropped),
            "corrupted" => Some(Verdict::Corrupted),
            "duplicated" => Some(Verdict::Duplicated),
            "reordered" => Some(Verdict::Reordered),
            _ => None,
        }
    }
}

/// One frame of a capture.
///
/// ```
/// use layernet::host::diagram::capture::read;
/// // A classic pcap header, then one 3-byte frame at 2.5 s.
/// let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// pcap.extend(65535u32.to_le_bytes());
/// pcap.extend(1u32.to_le_bytes());
/// for word in [2u32, 500_000, 3, 3] {
///     pcap.extend(word.to_le_bytes());
/// }
/// pcap.extend([1, 2, 3]);
/// let frames = read(&pcap)?;
/// assert_eq!((frames[0].number, frames[0].micros, frames[0].data.len()), (1, 0, 3));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone)]
pub struct Frame {
    /// 1-based, in file order, as Wireshark numbers them.
    pub number: u64,
    /// Microseconds since the capture's first frame.
    pub micros: i64,
    /// The bytes captured (Ethernet header first).
    pub data: Vec<u8>,
    /// The simulation's verdict, from a `layernet: ...` comment.
    pub verdict: Option<Verdict>,
}

/// Read a whole capture held in `bytes`.
///
/// # Errors
/// One line saying why: not a capture, a link type other than Ethernet, or
/// the frame where a truncated file ends.
///
/// ```
/// use layernet::host::diagram::capture::read;
/// assert!(read(b"hello, world").unwrap_err().contains("not a pcap"));
/// ```
pub fn read(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let magic = bytes
        .get(..4)
        .ok_or("not a pcap or pcapng file (too short)")?;
    let mut frames = match magic {
        [0x0a, 0x0d, 0x0d, 0x0a] => read_pcapng(bytes)?,
        [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0xc3, 0xd4]
        | [0x4d, 0x3c, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d] => read_pcap(bytes)?,
        _ => return Err("not a pcap or pcapng file (unknown magic number)".into()),
    };
    // Times relative to the first frame: a wall-clock capture and the
    // simulation's virtual clock then read the same way.
    let first = frames.first().map_or(0, |f| f.micros);
    for f in &mut frames {
        f.micros -= first;
    }
    Ok(frames)
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn read_pcap(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let (mut rest, parser) =
        PcapParser::new(bytes).map_err(|e| format!("not a readable pcap file: {e}"))?;
    if parser.header().datalink != DataLink::ETHERNET {
        return Err(format!(
            "link type {:?}: only Ethernet captures can be drawn",
            parser.header().datalink
        ));
    }
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let number = frames.len() as u64 + 1;
        let (next, packet) = parser
            .next_packet(rest)
            .map_err(|e| format!("frame {number}: truncated or damaged pcap record ({e})"))?;
        frames.push(Frame {
            number,
            micros: micros(packet.timestamp),
            data: packet.data.into_owned(),
            verdict: None,
        });
        rest = next;
    }
    Ok(frames)
}

fn read_pcapng(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let (mut rest, mut parser) =
        PcapNgParser::new(bytes).map_err(|e| format!("not a readable pcapng file: {e}"))?;
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let number = frames.len() as u64 + 1;
        let (next, block) = parser
            .next_block(rest)
            .map_err(|e| format!("frame {number}: truncated or damaged pcapng block ({e})"))?;
        rest = next;
        let (data, micros, verdict) = match block {
            Block::EnhancedPacket(epb) => {
                let interface = parser.interfaces().get(epb.interface_id as usize);
                let Some(interface) = interface else {
                    return Err(format!(
                        "frame {number}: names interface {} that no block described",
                        epb.interface_id
                    ));
                };
                if interface.linktype != DataLink::ETHERNET {
                    return Err(format!(
                        "frame {number}: link type {:?}: only Ethernet captures can be drawn",
                        interface.linktype
                    ));
                }
                // The crate reads the timestamp's raw count as nanoseconds;
                // it is in the interface's units (microseconds unless
                // if_tsresol says otherwise).
                let raw = epb.timestamp.as_nanos();
                let micros = scale_to_micros(raw, tsresol(&interface.options));
                let verdict = epb.options.iter().find_map(|o| match o {
                    EnhancedPacketOption::Comment(c) => Verdict::from_comment(c),
                    _ => None,
                });
                (epb.data.into_owned(), micros, verdict)
            }
            Block::SimplePacket(spb) => (spb.data.into_owned(), 0, None),
            // Section headers, interface descriptions, statistics, name
            // resolution: nothing to draw.
            _ => continue,
        };
        frames.push(Frame {
            number,
            micros,
            data,
            verdict,
        });
    }
    Ok(frames)
}

/// if_tsresol: units per second as (base 10 or 2, exponent); microseconds
/// by default.
fn tsresol(options: &[InterfaceDescriptionOption]) -> (bool, u32) {
    options
        .iter()
        .find_map(|o| match o {
            InterfaceDescriptionOption::IfTsResol(r) => Some((r & 0x80 != 0, u32::from(r & 0x7f))),
            _ => None,
        })
        .unwrap_or((false, 6))
}

fn scale_to_micros(raw: u128, (binary, exponent): (bool, u32)) -> i64 {
    let per_second: u128 = if binary {
        1u128.checked_shl(exponent).unwrap_or(u128::MAX)
    } else {
        10u128.checked_pow(exponent).unwrap_or(u128::MAX)
    };
    let micros = raw.saturating_mul(1_000_000) / per_second.max(1);
    i64::try_from(micros).unwrap_or(i64::MAX)
}
