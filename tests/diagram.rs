//! `layernet diagram` (issue 18): every picture from a layernet capture
//! (the deterministic demo) and from a Linux tcpdump capture (a TAP test in
//! a namespace it creates); each SVG parsed as XML and rendered in headless
//! Chromium, whose screenshot must not be blank; bad input refused with one
//! line and no file; no input bytes can make the drawing panic.
//!
//! Needs for the TAP and Chromium parts: root, tcpdump, curl, nc, chromium
//! and python3 (scripts/test.sh installs them as root). Outside CI without
//! them those parts skip with a reason; with CI=true they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use layernet::host::diagram::{Picture, render};
use proptest::prelude::*;

const PICTURES: [&str; 4] = ["ladder", "anatomy", "states", "plot"];

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Skip (outside CI) or fail (CI=true) for want of `what`.
fn cannot(what: &str) -> bool {
    assert!(!in_ci(), "CI=true but {what}");
    println!("skipping: {what}");
    true
}

fn layernet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layernet"))
        .args(args)
        .output()
        .expect("run layernet")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `layernet demo ARGS --pcap DIR/NAME -q`: the capture's path.
fn demo_capture(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut all = vec!["demo", "-q", "--pcap", path.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    let out = layernet(&all);
    assert!(out.status.success(), "layernet {all:?}: {}", text(&out));
    path
}

/// `layernet diagram PICTURE INPUT -o OUTPUT [--filter SPEC]`: the SVG.
fn diagram(picture: &str, input: &Path, output: &Path, filter: Option<&str>) -> String {
    let mut args = vec![
        "diagram",
        picture,
        input.to_str().expect("utf-8 path"),
        "-o",
        output.to_str().expect("utf-8 path"),
    ];
    if let Some(f) = filter {
        args.extend(["--filter", f]);
    }
    let out = layernet(&args);
    assert!(out.status.success(), "layernet {args:?}: {}", text(&out));
    std::fs::read_to_string(output).expect("the SVG written")
}

/// Parse `svg` as XML: an `svg` root holding drawing and text.
fn well_formed<'a>(svg: &'a str, what: &str) -> roxmltree::Document<'a> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{what}: not XML: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg", "{what}");
    let count = |name: &str| doc.descendants().filter(|n| n.has_tag_name(name)).count();
    assert!(count("text") > 3, "{what}: hardly any text");
    assert!(
        count("line") + count("rect") + count("polyline") > 0,
        "{what}: nothing drawn"
    );
    doc
}

/// The texts of the SVG, in document order.
fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}

/// Frames in a classic pcap file, counted by walking its records here
/// (not with the code under test).
fn pcap_frames(path: &Path) -> usize {
    let bytes = std::fs::read(path).expect("read pcap");
    let little = bytes[..4] == [0xd4, 0xc3, 0xb2, 0xa1];
    let mut at = 24;
    let mut n = 0;
    while at + 16 <= bytes.len() {
        let len: [u8; 4] = bytes[at + 8..at + 12].try_into().expect("4 bytes");
        let len = if little {
            u32::from_le_bytes(len)
        } else {
            u32::from_be_bytes(len)
        } as usize;
        at += 16 + len;
        n += 1;
    }
    n
}

#[test]
fn every_picture_from_a_layernet_capture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = demo_capture(dir.path(), "greeting.pcap", &["--only", "greeting"]);
    let frames = pcap_frames(&pcap);
    assert!(
        frames >= 8,
        "a greeting takes ARP, a handshake, data and a close: {frames}"
    );
    for picture in PICTURES {
        let svg = diagram(
            picture,
            &pcap,
            &dir.path().join(format!("{picture}.svg")),
            None,
        );
        let doc = well_formed(&svg, picture);
        let all = texts(&doc);
        match picture {
            "ladder" => {
                // One time label per frame, "0.001000  #2".
                let rows = all.iter().filter(|t| t.contains("  #")).count();
                assert_eq!(rows, frames, "one arrow per frame");
                assert!(all.iter().any(|t| t.starts_with("[SYN] seq 0")), "{all:?}");
                assert!(all.iter().any(|t| t.starts_with("ARP who has")), "{all:?}");
                assert!(all.iter().any(|t| t.contains("(greeting)")), "{all:?}");
            }
            "anatomy" => {
                assert!(all.iter().any(|t| t.starts_with("Ethernet II")), "{all:?}");
                assert!(
                    all.iter().any(|t| t.starts_with("ARP")),
                    "frame 1 is ARP: {all:?}"
                );
            }
            "states" => {
                for state in ["SYN-SENT", "ESTAB", "TIME-WAIT"] {
                    assert!(all.iter().any(|t| t == state), "{state}: {all:?}");
                }
                // Both ends close: the client's path ends in CLOSED or
                // TIME-WAIT, and both are listed with their frames.
                assert!(
                    all.iter()
                        .any(|t| t.starts_with("c1 ") && t.contains("CLOSED → SYN-SENT")),
                    "{all:?}"
                );
                assert!(
                    all.iter()
                        .any(|t| t.starts_with("s1 ") && t.contains("LISTEN → SYN-RCVD")),
                    "{all:?}"
                );
            }
            "plot" => {
                let payload = "connect successfully!\r\n".len();
                assert!(
                    all.iter()
                        .any(|t| t.starts_with(&format!("{payload} payload bytes"))),
                    "{all:?}"
                );
            }
            _ => unreachable!(),
        }
    }
    // The anatomy of the first TCP frame: nested Ethernet, IPv4, TCP.
    let svg = diagram(
        "anatomy",
        &pcap,
        &dir.path().join("syn.svg"),
        Some("port=1234"),
    );
    let all = texts(&well_formed(&svg, "anatomy of a SYN"));
    for layer in ["Ethernet II", "IPv4", "TCP"] {
        assert!(all.iter().any(|t| t.starts_with(layer)), "{layer}: {all:?}");
    }
    assert!(all.iter().any(|t| t.contains("SYN")), "{all:?}");
}

#[test]
fn filters_narrow_the_ladder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = demo_capture(dir.path(), "all.pcap", &[]);
    let all = pcap_frames(&pcap);
    let rows = |filter: Option<&str>, name: &str| {
        let svg = diagram("ladder", &pcap, &dir.path().join(name), filter);
        texts(&well_formed(&svg, name))
            .iter()
            .filter(|t| t.contains("  #"))
            .count()
    };
    let everything = rows(None, "all.svg");
    assert_eq!(
        everything,
        all.min(layernet::host::diagram::MAX_LADDER_FRAMES)
    );
    let range = rows(Some("frames=3..12"), "range.svg");
    assert_eq!(range, 10);
    let greeting = rows(Some("service=greeting"), "greeting.svg");
    let by_port = rows(Some("port=1234"), "port.svg");
    assert_eq!(greeting, by_port, "service=greeting is port 1234");
    assert!(greeting > 0 && greeting < everything);
    let one = rows(Some("conn=1"), "conn.svg");
    assert!(one > 0 && one < everything);
    let host = rows(Some("host=192.168.69.3"), "host.svg");
    assert!(host > 0 && host < everything);
}

#[test]
fn lost_frames_retransmissions_and_verdicts_are_marked() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Some seed of 10% loss retransmits in the greeting; find one.
    let mut found = None;
    for seed in 1..40 {
        let pcap = demo_capture(
            dir.path(),
            "loss.pcap",
            &[
                "--only",
                "greeting",
                "--loss",
                "10",
                "--seed",
                &seed.to_string(),
            ],
        );
        let svg = diagram("ladder", &pcap, &dir.path().join("loss.svg"), None);
        if svg.contains("RETRANSMISSION") {
            found = Some((pcap, svg));
            break;
        }
    }
    let (pcap, svg) = found.expect("no seed from 1 to 39 retransmitted at 10% loss");
    let doc = well_formed(&svg, "lossy ladder");
    if have("tshark") {
        // Wireshark's analysis as the oracle: as many retransmissions and
        // duplicate ACKs marked as it finds.
        let count = |filter: &str| {
            let out = Command::new("tshark")
                .args(["-r", pcap.to_str().expect("utf-8"), "-Y", filter])
                .output()
                .expect("tshark");
            String::from_utf8_lossy(&out.stdout).lines().count()
        };
        let ours = |mark: &str| texts(&doc).iter().filter(|t| t.starts_with(mark)).count();
        let retx = count(
            "tcp.analysis.retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.fast_retransmission",
        );
        assert_eq!(
            ours("RETRANSMISSION"),
            retx,
            "retransmissions, as tshark counts them"
        );
        assert_eq!(
            ours("DUP ACK"),
            count("tcp.analysis.duplicate_ack"),
            "duplicate ACKs"
        );
    } else {
        assert!(
            !in_ci(),
            "CI=true but no tshark (scripts/test.sh installs it)"
        );
    }
    assert!(
        doc.descendants()
            .any(|n| n.attribute("class") == Some("retx")),
        "dashed arrows"
    );
    assert!(
        texts(&doc).iter().any(|t| t.contains("folded")),
        "the retransmission timeout is folded"
    );
    // A pcapng copy with verdict comments, as the simulation writes them.
    let bytes = std::fs::read(&pcap).expect("read");
    let frames = layernet::host::diagram::capture::read(&bytes).expect("readable");
    let ng = dir.path().join("verdicts.pcapng");
    write_pcapng(
        &ng,
        &frames,
        &[(3, "layernet: dropped"), (5, "layernet: duplicated")],
    );
    let svg = diagram("ladder", &ng, &dir.path().join("verdicts.svg"), None);
    let doc = well_formed(&svg, "verdicts");
    let all = texts(&doc);
    assert!(all.iter().any(|t| t.contains("[✕ dropped]")), "{all:?}");
    assert!(all.iter().any(|t| t.contains("[duplicated]")), "{all:?}");
    assert!(
        doc.descendants()
            .any(|n| n.attribute("class") == Some("lost")),
        "a short dashed arrow"
    );
    let rows = all.iter().filter(|t| t.contains("  #")).count();
    assert_eq!(rows, frames.len(), "pcapng reads frame for frame");
    // The plot of the same lossy connection.
    let svg = diagram("plot", &pcap, &dir.path().join("plot.svg"), None);
    well_formed(&svg, "lossy plot");
}

/// A pcapng file of `frames`, commenting frame N (from 1) as given.
fn write_pcapng(
    path: &Path,
    frames: &[layernet::host::diagram::capture::Frame],
    comments: &[(u64, &str)],
) {
    use pcap_file::DataLink;
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    let file = std::fs::File::create(path).expect("create");
    let mut w = PcapNgWriter::new(file).expect("pcapng header");
    w.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535))
        .expect("interface");
    for f in frames {
        let options = comments
            .iter()
            .filter(|(n, _)| *n == f.number)
            .map(|(_, c)| EnhancedPacketOption::Comment((*c).into()))
            .collect();
        let block = EnhancedPacketBlock {
            interface_id: 0,
            // Microsecond units (no if_tsresol): the raw count.
            timestamp: std::time::Duration::from_nanos(u64::try_from(f.micros).unwrap_or(0)),
            original_len: f.data.len() as u32,
            data: f.data.as_slice().into(),
            options,
        };
        w.write_pcapng_block(block).expect("packet");
    }
}

#[test]
fn bad_input_gets_one_line_and_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = demo_capture(dir.path(), "g.pcap", &["--only", "greeting"]);
    let bytes = std::fs::read(&pcap).expect("read");
    let not_pcap = dir.path().join("notes.txt");
    std::fs::write(&not_pcap, "this is not a capture\n").expect("write");
    let truncated = dir.path().join("cut.pcap");
    std::fs::write(&truncated, &bytes[..bytes.len() - 7]).expect("write");
    let cases: [(&Path, Option<&str>, &str); 4] = [
        (&not_pcap, None, "not a pcap"),
        (&truncated, None, "truncated"),
        (&pcap, Some("port=9"), "no ARP or IP frame matches"),
        (&dir.path().join("missing.pcap"), None, "missing.pcap"),
    ];
    for (input, filter, expect) in cases {
        for picture in PICTURES {
            let output = dir.path().join("out.svg");
            let mut args = vec![
                "diagram",
                picture,
                input.to_str().expect("utf-8"),
                "-o",
                output.to_str().expect("utf-8"),
            ];
            if let Some(f) = filter {
                args.extend(["--filter", f]);
            }
            let out = layernet(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "one line: {err}");
            assert!(err.starts_with("layernet diagram: "), "{err}");
            if picture == "ladder" {
                assert!(err.contains(expect), "{args:?}: {err}");
            }
            assert!(!output.exists(), "{args:?} left a file");
            let leftovers: Vec<_> = std::fs::read_dir(dir.path())
                .expect("list")
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                .collect();
            assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        }
    }
    // A usage error is clap's (exit 2).
    let out = layernet(&["diagram", "ladder", "x.pcap", "--filter", "colour=red"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn resets_ipv6_and_a_lossy_transfer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = demo_capture(dir.path(), "rst.pcap", &["--only", "closed-port"]);
    let svg = diagram("ladder", &pcap, &dir.path().join("rst.svg"), None);
    let doc = well_formed(&svg, "closed port");
    assert!(
        texts(&doc).iter().any(|t| t.starts_with("RESET  [RST")),
        "{:?}",
        texts(&doc)
    );
    assert!(
        doc.descendants()
            .any(|n| n.attribute("class") == Some("rst")),
        "a thick arrow"
    );
    let svg = diagram("states", &pcap, &dir.path().join("rst-states.svg"), None);
    let all = texts(&well_formed(&svg, "closed port states"));
    assert!(
        all.iter()
            .any(|t| t.contains("SYN-SENT → CLOSED") && t.contains("rcv RST")),
        "{all:?}"
    );

    let pcap = demo_capture(dir.path(), "v6.pcap", &["--only", "ipv6"]);
    let svg = diagram("anatomy", &pcap, &dir.path().join("v6.svg"), Some("port=7"));
    let all = texts(&well_formed(&svg, "IPv6 anatomy"));
    for layer in ["Ethernet II", "IPv6", "TCP"] {
        assert!(all.iter().any(|t| t.starts_with(layer)), "{layer}: {all:?}");
    }

    // The file service at 10% loss: the plot marks each retransmitted
    // data segment of the direction it draws, as many as tshark finds.
    let pcap = demo_capture(
        dir.path(),
        "files.pcap",
        &["--only", "files", "--loss", "10"],
    );
    let svg = diagram("plot", &pcap, &dir.path().join("plot.svg"), None);
    let doc = well_formed(&svg, "lossy plot");
    let all = texts(&doc);
    let marks = all.iter().filter(|t| *t == "R").count();
    let sender = all
        .iter()
        .find_map(|t| t.strip_prefix("data from ")?.split_whitespace().next())
        .expect("the plot names the sender")
        .to_string();
    if have("tshark") {
        let (ip, port) = sender.rsplit_once(':').expect("IP:PORT");
        let filter = format!(
            "ip.src=={ip} && tcp.srcport=={port} && tcp.len>0 && (tcp.analysis.retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.fast_retransmission)"
        );
        let out = Command::new("tshark")
            .args(["-r", pcap.to_str().expect("utf-8"), "-Y", &filter])
            .output()
            .expect("tshark");
        let theirs = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(marks, theirs, "retransmitted segments from {sender}");
    } else {
        assert!(
            !in_ci(),
            "CI=true but no tshark (scripts/test.sh installs it)"
        );
    }
    assert!(marks > 0, "10% loss over 2 MiB retransmits something");
}

fn classic_pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    out.extend(65535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend((i as u32).to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend(f);
    }
    out
}

fn draw_all(bytes: &[u8]) {
    for picture in [
        Picture::Ladder,
        Picture::Anatomy,
        Picture::States,
        Picture::Plot,
    ] {
        if let Ok(svg) = render(picture, bytes, &Default::default(), "fuzz") {
            roxmltree::Document::parse(&svg).expect("well-formed even from hostile frames");
        }
    }
}

/// The greeting's capture, classic and pcapng, made once for the
/// mutation tests.
fn greeting_captures() -> &'static (Vec<u8>, Vec<u8>) {
    static CAPTURES: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    CAPTURES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let pcap = demo_capture(dir.path(), "g.pcap", &["--only", "greeting"]);
        let bytes = std::fs::read(&pcap).expect("read");
        let frames = layernet::host::diagram::capture::read(&bytes).expect("readable");
        let ng = dir.path().join("g.pcapng");
        write_pcapng(&ng, &frames, &[(4, "layernet: dropped")]);
        (bytes, std::fs::read(&ng).expect("read"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Real captures with bytes changed anywhere (headers, lengths,
    /// options, block structure): an error or a picture, never a panic.
    #[test]
    fn damaged_captures_draw_or_fail_cleanly(
        ng in any::<bool>(),
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (pcap, pcapng) = greeting_captures();
        let mut bytes = if ng { pcapng.clone() } else { pcap.clone() };
        for (at, value) in changes {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if cut.index(8) == 0 {
            let keep = cut.index(bytes.len());
            bytes.truncate(keep);
        }
        draw_all(&bytes);
    }

    /// Any file at all: an error or a picture, never a panic.
    #[test]
    fn any_file_draws_or_fails_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        draw_all(&bytes);
    }

    /// Valid captures of hostile frames: Ethernet, IPv4 or IPv6 and TCP
    /// headers with random bytes after the type fields.
    #[test]
    fn hostile_frames_draw_or_fail_cleanly(
        frames in proptest::collection::vec(
            (0usize..3, proptest::collection::vec(any::<u8>(), 0..120)), 1..6)
    ) {
        let frames: Vec<Vec<u8>> = frames
            .into_iter()
            .map(|(kind, tail)| {
                let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
                match kind {
                    0 => f.extend([0x08, 0x00, 0x45, 0, 0, 60, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]),
                    1 => f.extend([0x86, 0xdd, 0x60, 0, 0, 0, 0, 40, 6, 64]),
                    _ => f.extend([0x08, 0x06]),
                }
                f.extend(tail);
                f
            })
            .collect();
        draw_all(&classic_pcap(&frames));
    }
}

/// Non-white pixels in the PNG at `path` (python3's zlib decodes it).
const INK: &str = r#"
import sys, zlib, struct
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w, h, ctype = 8, b'', 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8, 'depth %d' % depth
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
bpp = {2: 3, 6: 4, 0: 1, 4: 2}[ctype]
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
ink = 0
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(w):
        px = line[x * bpp:x * bpp + min(bpp, 3)]
        if min(px) < 200:
            ink += 1
    prev = line
print(ink, w * h)
"#;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| have(b))
}

/// Render `svg` in headless Chromium and check the screenshot has ink:
/// between 0.1% and 60% of its pixels dark.
fn renders_in_chromium(browser: &str, svg: &Path) {
    let png = svg.with_extension("png");
    let out = Command::new("timeout")
        .args([
            "-k",
            "5",
            "90",
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1000")
        .arg(format!("file://{}", svg.display()))
        .output()
        .expect("run chromium");
    assert!(
        png.exists(),
        "{browser} wrote no screenshot of {}: {}",
        svg.display(),
        text(&out)
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(INK)
        .arg(&png)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "reading {}: {}",
        png.display(),
        text(&out)
    );
    let counts = String::from_utf8_lossy(&out.stdout);
    let mut n = counts
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap_or(0.0));
    let (ink, all) = (n.next().unwrap_or(0.0), n.next().unwrap_or(1.0));
    let share = ink / all;
    assert!(
        share > 0.001 && share < 0.6,
        "{}: {:.3}% of the screenshot is ink",
        svg.display(),
        share * 100.0
    );
    println!("{}: {:.2}% ink", svg.display(), share * 100.0);
}

#[test]
fn the_pictures_render_in_chromium() {
    let Some(browser) = chromium() else {
        cannot("no chromium to render the SVGs (scripts/test.sh installs it as root)");
        return;
    };
    if !have("python3") && cannot("no python3 to read the screenshots") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = demo_capture(dir.path(), "g.pcap", &["--only", "greeting"]);
    for picture in PICTURES {
        let svg = dir.path().join(format!("{picture}.svg"));
        diagram(picture, &pcap, &svg, None);
        renders_in_chromium(browser, &svg);
    }
}

/// Why the TAP part cannot run here, if it cannot.
fn missing_for_tap() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("the TAP capture needs root (network namespaces and TAP devices)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("the TAP capture needs /dev/net/tun".into());
    }
    for tool in ["ip", "tcpdump", "curl", "nc", "python3"] {
        if !have(tool) {
            return Some(format!(
                "the TAP capture needs {tool} (scripts/test.sh installs it as root)"
            ));
        }
    }
    chromium()
        .is_none()
        .then(|| "no chromium to render the SVGs".to_string())
}

#[test]
fn every_picture_from_a_linux_tcpdump_capture() {
    if let Some(why) = missing_for_tap() {
        cannot(&why);
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new("timeout")
        .args(["-k", "10", "300"])
        .arg(format!("{root}/scripts/tap-netns.sh"))
        .args(["--tap", "tap0", "--"])
        .arg(format!("{root}/tests/tap/diagram.sh"))
        .arg(env!("CARGO_BIN_EXE_layernet"))
        .arg(dir.path())
        .output()
        .expect("run scripts/tap-netns.sh");
    let said = text(&out);
    println!("{said}");
    assert!(
        out.status.success() && said.contains("diagram: all passed"),
        "{said}"
    );
    let browser = chromium().expect("checked above");
    let mut drawn = 0;
    for entry in std::fs::read_dir(dir.path()).expect("list").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "svg") {
            let svg = std::fs::read_to_string(&path).expect("read");
            let name = path.display().to_string();
            let doc = well_formed(&svg, &name);
            let all = texts(&doc);
            if name.contains("ladder-greeting") {
                // Linux scales its window: the ladder shows it scaled.
                assert!(
                    all.iter()
                        .any(|t| t.contains("win field") && t.contains("<<")),
                    "{all:?}"
                );
            }
            if name.contains("states") {
                assert!(all.iter().any(|t| t.starts_with("c1 ")), "{name}: {all:?}");
            }
            renders_in_chromium(browser, &path);
            drawn += 1;
        }
    }
    assert!(drawn >= 12, "only {drawn} pictures drawn");
    same_pictures_from_both_sides(dir.path());
}

/// What a picture says, with what must differ between the two captures
/// taken out: the file's name, the clock (Linux's and layernet's differ,
/// and each file's times start at its own first frame) and the frame
/// numbers (the two sides may order a burst's frames differently).
fn said(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = well_formed(&svg, &path.display().to_string());
    texts(&doc)
        .into_iter()
        .filter(|t| {
            // A time axis's tick label: "0.015".
            if t.contains('.') && t.parse::<f64>().is_ok() {
                return false;
            }
            // The time column: "0.103040  #8".
            let mut words = t.split_whitespace();
            !(words.next().is_some_and(|w| w.parse::<f64>().is_ok())
                && words.next().is_some_and(|w| w.starts_with('#'))
                && words.next().is_none())
        })
        .map(|t| {
            let t = t
                .replace("linux.pcap", "CAPTURE")
                .replace("layernet.pcap", "CAPTURE");
            // "frame #12" -> "frame #N", wherever a frame is named.
            let mut out = String::with_capacity(t.len());
            let mut chars = t.chars().peekable();
            while let Some(c) = chars.next() {
                out.push(c);
                if c == '#' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('N');
                }
            }
            out
        })
        .collect()
}

/// The same exchange drawn from the capture tcpdump took on Linux's side of
/// the TAP and from the one `serve --pcap` wrote: the pictures must say the
/// same things. A difference means that layernet's capture records a frame
/// the wire did not carry (or misses one it did), or that a picture depends
/// on which side took the capture.
fn same_pictures_from_both_sides(dir: &Path) {
    let both = |name: &str| {
        (
            said(&dir.join(format!("linux-{name}.svg"))),
            said(&dir.join(format!("layernet-{name}.svg"))),
        )
    };
    // One frame, whole, in a serial exchange, or a path through the states:
    // the same texts in the same order.
    for name in [
        "ladder-greeting",
        "anatomy",
        "states-greeting",
        "states-files",
        "plot",
    ] {
        let (linux, layernet) = both(name);
        assert_eq!(linux, layernet, "{name}: the two captures draw differently");
        if name == "plot" {
            // Its time axis has as many ticks as each clock's span needs;
            // the texts (the summary of bytes and retransmissions among
            // them) are compared above.
            println!("{name}: {} texts, the same from both captures", linux.len());
            continue;
        }
        let marks = |side: &str| {
            let svg = std::fs::read_to_string(dir.join(format!("{side}-{name}.svg")))
                .unwrap_or_else(|e| panic!("{side}-{name}: {e}"));
            ["<line", "<polyline", "<rect", "<circle", "<path"].map(|m| svg.matches(m).count())
        };
        assert_eq!(
            marks("linux"),
            marks("layernet"),
            "{name}: the two captures draw a different number of marks"
        );
        println!("{name}: {} texts, the same from both captures", linux.len());
    }
    // A download's whole ladder: within a burst the two sides may record
    // frames in a different order (layernet writes its segments before it
    // reads Linux's ACKs), so the arrows' labels are compared as a multiset.
    let (mut linux, mut layernet) = both("ladder-files-all");
    linux.sort();
    layernet.sort();
    assert_eq!(
        linux, layernet,
        "ladder-files-all: the two captures hold different frames"
    );
    println!(
        "ladder-files-all: {} texts, the same from both captures",
        linux.len()
    );
}
