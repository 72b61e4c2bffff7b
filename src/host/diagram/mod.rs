//! Pictures of the layers, drawn from a capture file as standalone SVG:
//! a ladder diagram, one frame's anatomy, the TCP state machine with one
//! connection's path, and a time-sequence plot.
//!
//! Layer: host (std), beside the core: it reads pcap and pcapng files
//! (`pcap-file`), decodes with smoltcp's `wire` module and writes SVG
//! text; nothing in the core knows it exists. Its parts, each depending
//! only on those before it:
//!
//! - [`capture`]: read a classic pcap or pcapng file into frames, with the
//!   simulation's `layernet: dropped` (etc.) verdict comments;
//! - `decode`: one frame's headers, parsed with `new_checked`;
//! - [`filter`]: which frames to show (shared with `--trace-filter`);
//! - `flow`: TCP connections, relative numbers, scaled windows,
//!   retransmissions, duplicate ACKs, zero windows, inferred states;
//! - `svg`: the SVG writer and the shared styles;
//! - `ladder`, `anatomy`, `states`, `plot`: the four pictures.

mod anatomy;
pub mod capture;
mod decode;
pub mod filter;
mod flow;
mod ladder;
mod plot;
mod states;
mod svg;

/// Most frames one ladder draws; past it a line says how to narrow the
/// picture (a ladder of thousands of frames is read by nobody).
pub const MAX_LADDER_FRAMES: usize = ladder::MAX_FRAMES;

use filter::{Filter, Matcher};
use flow::{Analysis, Item};

/// Which picture to draw.
///
/// ```
/// use layernet::host::diagram::Picture;
/// // The command line's names map one to one.
/// let all = [Picture::Ladder, Picture::Anatomy, Picture::States, Picture::Plot];
/// assert_eq!(all.len(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    /// One column per host, one arrow per frame.
    Ladder,
    /// The first frame that passes the filter, layer by layer.
    Anatomy,
    /// The RFC 793 state diagram with the first connection that passes.
    States,
    /// The time-sequence plot of the busiest connection that passes.
    Plot,
}

/// Draw `picture` from the capture file's bytes, showing what `filter`
/// passes; `name` (the file's name) goes in the title.
///
/// # Errors
/// One line: the file is not a capture, is truncated, or no frame (or no
/// TCP connection, or no data, as the picture needs) passes the filter.
///
/// # Example
///
/// ```
/// use layernet::host::diagram::{Picture, render};
/// // A classic pcap header and nothing else: no frames to draw.
/// let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
/// pcap.extend([0; 8]);
/// pcap.extend(65535u32.to_le_bytes());
/// pcap.extend(1u32.to_le_bytes());
/// let e = render(Picture::Ladder, &pcap, &Default::default(), "x").unwrap_err();
/// assert_eq!(e, "the capture holds no frames");
/// ```
pub fn render(
    picture: Picture,
    bytes: &[u8],
    filter: &Filter,
    name: &str,
) -> Result<String, String> {
    let frames = capture::read(bytes)?;
    if frames.is_empty() {
        return Err("the capture holds no frames".into());
    }
    let analysis = flow::analyse(frames);
    let mut matcher = Matcher::new(filter.clone());
    match picture {
        Picture::Ladder => ladder::draw(&analysis, &mut matcher, &format!("Ladder: {name}")),
        Picture::Anatomy => {
            let item = analysis
                .items
                .iter()
                .find(|i| matcher.matches_summary(i.frame.number, &i.summary))
                .ok_or("no frame matches the filter")?;
            let title = format!(
                "Anatomy of frame #{} of {name} ({} bytes)",
                item.frame.number,
                item.frame.data.len()
            );
            Ok(anatomy::draw(&item.frame, &title))
        }
        Picture::States => {
            let (chosen, _) = tcp_chosen(&analysis, &mut matcher)?;
            let index = chosen[0];
            let conn = &analysis.conns[index];
            let title = format!(
                "TCP states of connection {} of {name}: {} ↔ {}",
                index + 1,
                conn.client,
                conn.server
            );
            Ok(states::draw(conn, &title))
        }
        Picture::Plot => {
            let (chosen, items) = tcp_chosen(&analysis, &mut matcher)?;
            // The busiest connection: the one a plot is for.
            let index = chosen
                .iter()
                .copied()
                .max_by_key(|i| {
                    (
                        analysis.conns[*i].bytes[0].max(analysis.conns[*i].bytes[1]),
                        std::cmp::Reverse(*i),
                    )
                })
                .unwrap_or(chosen[0]);
            let conn = &analysis.conns[index];
            let title = format!(
                "Time-sequence plot of connection {} of {name}: {} ↔ {}",
                index + 1,
                conn.client,
                conn.server
            );
            plot::draw(conn, index, &items, &title)
        }
    }
}

/// The connections with a segment that passes, in order of first
/// passing segment, and the passing items.
fn tcp_chosen<'a>(
    analysis: &'a Analysis,
    matcher: &mut Matcher,
) -> Result<(Vec<usize>, Vec<&'a Item>), String> {
    let mut conns = Vec::new();
    let mut items = Vec::new();
    for item in &analysis.items {
        if !matcher.matches_summary(item.frame.number, &item.summary) {
            continue;
        }
        if let Some(t) = &item.tcp {
            if !conns.contains(&t.conn) {
                conns.push(t.conn);
            }
            items.push(item);
        }
    }
    if conns.is_empty() {
        return Err("no TCP segment matches the filter".into());
    }
    Ok((conns, items))
}
