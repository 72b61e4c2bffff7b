//! The layered trace, the pcap capture and the counters, through the real
//! command line on the simulated segment (deterministic for a seed).

use std::process::Command;

use layernet::trace::{Decoder, Style};
use proptest::prelude::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::time::Duration;
use smoltcp::wire::{
    EthernetAddress, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Address, Ipv6Packet, Ipv6Repr,
    NdiscPrefixInfoFlags, NdiscPrefixInformation, NdiscRepr, NdiscRouterFlags, TcpControl,
    TcpPacket, TcpRepr, TcpSeqNumber,
};

/// Run `layernet ARGS`; (exit status ok, stdout, stderr).
fn layernet(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_layernet"))
        .args(args)
        .output()
        .expect("run layernet");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Each of `needles` occurs in `hay`, in this order; the failure names the
/// first one missing.
fn assert_in_order(hay: &str, needles: &[&str]) {
    let mut at = 0;
    for needle in needles {
        match hay[at..].find(needle) {
            Some(i) => at += i + needle.len(),
            None => panic!("{needle:?} missing (or out of order) after byte {at} of:\n{hay}"),
        }
    }
}

#[test]
fn the_greeting_trace_shows_every_step_in_order() {
    let (ok, _, trace) = layernet(&["demo", "--only", "greeting", "--trace"]);
    assert!(ok, "{trace}");
    assert_in_order(
        &trace,
        &[
            // The server's start-up, folded into one line: its sockets
            // on 1234 among them.
            "server: tcp 192.168.69.1 CLOSED -> LISTEN, 16 sockets: ",
            "4 on :1234",
            "client-b: tcp 192.168.69.3:",
            "CLOSED -> SYN-SENT (peer 192.168.69.1:1234)",
            "L3  ARP who-has 192.168.69.1 tell 192.168.69.3",
            "server: arp cache: 192.168.69.3 is at 02:00:00:00:00:03",
            "L3  ARP 192.168.69.1 is-at 02:00:00:00:00:01",
            "-> 192.168.69.1:1234 [SYN]  seq 0  win",
            "opts mss 1460",
            "server: tcp 192.168.69.1:1234 LISTEN -> SYN-RECEIVED",
            "192.168.69.1:1234 -> 192.168.69.3:",
            "[SYN, ACK]  seq 0  ack 1",
            "SYN-SENT -> ESTABLISHED",
            "[ACK]  seq 1  ack 1",
            "SYN-RECEIVED -> ESTABLISHED",
            "ESTABLISHED -> FIN-WAIT-1",
            "[FIN, ACK]  seq 1  ack 1  win 8192  len 23",
            r#"L7  greeting "connect successfully!\r\n""#,
            "ESTABLISHED -> CLOSE-WAIT",
            "CLOSE-WAIT -> LAST-ACK",
            "[FIN, ACK]  seq 1  ack 25",
            "FIN-WAIT-1 -> TIME-WAIT",
            "[ACK]  seq 25  ack 2",
            "LAST-ACK -> CLOSED",
        ],
    );
    // --trace implies the counters; the greeting moved 23 bytes each way.
    assert!(trace.contains("TCP   segments rx/tx"), "{trace}");
    let greeting_row = trace
        .lines()
        .find(|l| l.starts_with("server") && l.contains("greeting tcp/1234"))
        .unwrap_or_default();
    assert!(greeting_row.ends_with(" 23"), "{greeting_row:?}");
}

#[test]
fn a_lost_segment_shows_a_retransmission() {
    // Seed 3 with 20% loss loses the handshake's final ACK: the server
    // sends its SYN-ACK again a second later.
    let (ok, _, trace) = layernet(&[
        "demo",
        "--only",
        "greeting",
        "--loss",
        "20",
        "--seed",
        "3",
        "--trace=brief",
    ]);
    assert!(ok, "{trace}");
    assert_in_order(
        &trace,
        &[
            "[SYN, ACK]  seq 0  ack 1",
            "[SYN, ACK]  seq 0  ack 1",
            "server: tcp retransmission 192.168.69.1:1234 -> 192.168.69.3:",
            "seq 0 len 1",
        ],
    );
    let row = trace
        .lines()
        .find(|l| l.starts_with("TCP   retransmissions"))
        .unwrap_or_default();
    let server: u64 = row
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(server >= 1, "the server's retransmission counter: {row:?}");
}

#[test]
fn a_closed_port_answers_with_rst() {
    let (ok, stdout, trace) = layernet(&["demo", "--only", "closed-port", "--trace=brief"]);
    assert!(ok, "{stdout}{trace}");
    assert_in_order(
        &trace,
        &[
            "-> 192.168.69.1:4444 [SYN]",
            "server: no socket for TCP 192.168.69.1:4444",
            "192.168.69.1:4444 -> 192.168.69.3:",
            "[RST, ACK]",
            "SYN-SENT -> CLOSED",
        ],
    );
    assert!(stdout.contains("closed-port"), "{stdout}");
}

/// tshark, if installed; in CI (CI=true) its absence is a failure.
fn tshark() -> Option<&'static str> {
    let found = Command::new("tshark").arg("--version").output().is_ok();
    if !found && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("tshark is missing in CI: scripts/test.sh installs it");
    }
    if !found {
        println!("skipped: tshark is not installed (scripts/test.sh installs it as root)");
    }
    found.then_some("tshark")
}

#[test]
fn the_demo_pcap_reads_back_in_tshark_frame_for_frame() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pcap = dir.path().join("demo.pcap");
    let pcap_arg = pcap.to_string_lossy().into_owned();
    let (ok, _, trace) = layernet(&["demo", "--trace=brief", "--pcap", &pcap_arg]);
    assert!(ok, "{}", &trace[trace.len().saturating_sub(2000)..]);
    let traced = trace.lines().filter(|l| l.starts_with('#')).count();
    assert!(
        traced > 1000,
        "the demo moves a 1 MiB file: {traced} frames"
    );
    let Some(tshark) = tshark() else {
        return;
    };
    let read = |filter: &str| {
        let out = Command::new(tshark)
            .args(["-r", &pcap_arg, "-d", "tcp.port==7878,http", "-Y", filter])
            .output()
            .expect("run tshark");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let all = read("frame");
    assert_eq!(all.lines().count(), traced, "tshark and the trace disagree");
    let syns = read("tcp.flags.syn == 1 && tcp.flags.ack == 0");
    let syn_acks = read("tcp.flags.syn == 1 && tcp.flags.ack == 1");
    assert!(
        syns.lines().count() >= 5 && syn_acks.lines().count() >= 5,
        "{syns}{syn_acks}"
    );
    let requests = read("http.request");
    assert!(requests.contains("PUT /demo.bin"), "{requests}");
    assert!(requests.contains("GET /demo.bin"), "{requests}");
    println!(
        "pcap: {traced} frames, {} handshakes, HTTP: {}",
        syns.lines().count(),
        requests.lines().count()
    );
}

/// The comment options of every Enhanced Packet Block of a pcapng file,
/// one list per frame.
fn pcapng_comments(bytes: &[u8]) -> Vec<Vec<String>> {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    let mut reader = PcapNgReader::new(bytes).expect("a pcapng section header");
    let mut frames = Vec::new();
    while let Some(block) = reader.next_block() {
        if let Block::EnhancedPacket(p) = block.expect("a whole block") {
            let comments = p.options.iter().filter_map(|o| match o {
                EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                _ => None,
            });
            frames.push(comments.collect());
        }
    }
    frames
}

#[test]
fn a_lossy_demo_pcap_marks_the_frames_the_wire_lost() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("loss.pcapng");
    let path_arg = path.to_string_lossy().into_owned();
    let (ok, report, err) = layernet(&["demo", "--loss", "10", "--pcap", &path_arg]);
    assert!(ok, "{err}");
    // segment: N frames offered, N delivered, N dropped, ...
    let dropped: usize = report
        .lines()
        .find_map(|l| l.strip_prefix("segment: "))
        .and_then(|l| l.split(", ").nth(2)?.strip_suffix(" dropped")?.parse().ok())
        .unwrap_or_else(|| panic!("no segment line in:\n{report}"));
    assert!(dropped > 0, "{report}");
    let bytes = std::fs::read(&path).expect("the capture");
    assert_eq!(
        bytes[..4],
        [0x0a, 0x0d, 0x0d, 0x0a],
        "pcapng, with faults on"
    );
    let frames = pcapng_comments(&bytes);
    let marked: usize = frames
        .iter()
        .filter(|c| c.iter().any(|c| c == "layernet: dropped"))
        .count();
    assert_eq!(
        marked, dropped,
        "every frame the segment lost, and only those"
    );
    let verdicts = [
        "layernet: dropped",
        "layernet: corrupted",
        "layernet: duplicated",
        "layernet: reordered",
    ];
    for comment in frames.iter().flatten() {
        assert!(verdicts.contains(&comment.as_str()), "{comment:?}");
    }
    println!("{} frames, {marked} marked dropped", frames.len());
    let Some(tshark) = tshark() else {
        return;
    };
    let read = |filter: &str| {
        let out = Command::new(tshark)
            .args(["-r", &path_arg, "-Y", filter])
            .output()
            .expect("run tshark");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    assert_eq!(read("frame"), frames.len(), "tshark reads every record");
    assert_eq!(read("frame.comment == \"layernet: dropped\""), dropped);
}

#[test]
fn without_faults_the_capture_stays_classic_pcap() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plain.pcap");
    let path_arg = path.to_string_lossy().into_owned();
    let (ok, _, err) = layernet(&["demo", "--only", "ping", "-q", "--pcap", &path_arg]);
    assert!(ok, "{err}");
    let bytes = std::fs::read(&path).expect("the capture");
    assert_eq!(
        bytes[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "classic pcap, microseconds"
    );
}

#[test]
fn pcap_dash_streams_the_capture_on_stdout_and_the_report_on_stderr() {
    let out = Command::new(env!("CARGO_BIN_EXE_layernet"))
        .args(["demo", "--only", "ping", "--pcap", "-"])
        .output()
        .expect("run layernet");
    assert!(out.status.success());
    assert_eq!(
        out.stdout[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "the capture, from its first byte"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ping"), "the report moved to stderr: {err}");
    // 24-byte header, then whole records: ARP both ways, two pings' worth.
    assert!(
        out.stdout.len() > 24 + 4 * (16 + 42),
        "{} bytes",
        out.stdout.len()
    );
    // A client's stdout is its own: refused, in one line, before anything runs.
    let (ok, _, err) = layernet(&["echo", "--pcap", "-", "192.168.69.1", "hi"]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--pcap -") && err.contains("--pcap FILE"),
        "{err}"
    );
}

#[test]
fn a_bad_pcap_path_is_a_clear_error() {
    let (ok, _, err) = layernet(&["demo", "-q", "--pcap", "/nonexistent-dir/x.pcap"]);
    assert!(!ok);
    assert!(err.contains("--pcap /nonexistent-dir/x.pcap"), "{err}");
}

fn decode(frame: &[u8], style: Style) -> String {
    let mut text = String::new();
    let mut decoder = Decoder::new();
    decoder
        .write_frame(&mut text, style, format_args!("#1"), frame)
        .expect("a String never refuses text");
    text
}

/// A valid TCP SYN with options, to mutate.
const SYN: [u8; 66] = [
    0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x03, 0x08, 0x00, // Ethernet
    0x45, 0, 0, 52, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 168, 69, 3, 192, 168, 69, 1, // IPv4
    0xfe, 0xc2, 0x04, 0xd2, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x80, 0x02, 0x20, 0, 0, 0, 0,
    0, // TCP
    2, 4, 5, 180, 3, 3, 0, 4, 2, 1, 1, 0, // MSS, window scale, SACK-permitted, NOPs, EOL
];

#[test]
fn the_decoder_reads_a_handmade_syn() {
    let text = decode(&SYN, Style::Full);
    assert!(text.contains("[SYN]"), "{text}");
    assert!(text.contains("opts mss 1460, ws 0, sack-ok"), "{text}");
    assert!(
        text.contains("checksum BAD"),
        "no checksums were filled: {text}"
    );
}

/// A DNS answer from dnsmasq: fileserver.lan is 192.168.69.100 (UDP
/// checksum 0: none).
const DNS_ANSWER: [u8; 90] = [
    0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x64, 0x08, 0x00, // Ethernet
    0x45, 0, 0, 76, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 168, 69, 100, 192, 168, 69, 55, // IPv4
    0, 53, 0xa3, 0xf4, 0, 56, 0, 0, // UDP
    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, // DNS header: a response
    10, b'f', b'i', b'l', b'e', b's', b'e', b'r', b'v', b'e', b'r', 3, b'l', b'a', b'n', 0, 0, 1,
    0, 1, // the question
    0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 168, 69, 100, // the answer
];

#[test]
fn the_decoder_reads_a_dns_answer() {
    let text = decode(&DNS_ANSWER, Style::Brief);
    assert!(
        text.contains("dns answer fileserver.lan A 192.168.69.100 id 0x1234"),
        "{text}"
    );
    let mut query = DNS_ANSWER;
    query[44] = 0x01; // the RESPONSE flag off
    let text = decode(&query, Style::Brief);
    assert!(
        text.contains("dns query A fileserver.lan id 0x1234"),
        "{text}"
    );
}

/// An IPv6 packet in an Ethernet frame, its payload `len` bytes written by
/// `emit` (the checksums filled by smoltcp's reprs).
fn ipv6_frame(next: IpProtocol, len: usize, emit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut frame = vec![0; 14 + 40 + len];
    frame[..14].copy_from_slice(&SYN[..14]);
    frame[12..14].copy_from_slice(&[0x86, 0xdd]);
    let ip = Ipv6Repr {
        src_addr: V6_CLIENT,
        dst_addr: V6_SERVER,
        next_header: next,
        payload_len: len,
        hop_limit: 64,
    };
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut frame[14..]));
    emit(&mut frame[54..]);
    frame
}

const V6_CLIENT: Ipv6Address = Ipv6Address::new(0xfe80, 0, 0, 0, 0, 0, 0, 3);
const V6_SERVER: Ipv6Address = Ipv6Address::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

/// A TCP SYN with options over IPv6, and a router advertisement with every
/// option smoltcp knows: the IPv6 frames the property tests mutate.
fn ipv6_frames() -> [Vec<u8>; 2] {
    let (src, dst) = (V6_CLIENT.into(), V6_SERVER.into());
    let caps = ChecksumCapabilities::default();
    let syn = TcpRepr {
        src_port: 49152,
        dst_port: 7878,
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(1000),
        ack_number: None,
        window_len: 8192,
        window_scale: Some(2),
        max_seg_size: Some(1440),
        sack_permitted: true,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let syn = ipv6_frame(IpProtocol::Tcp, syn.buffer_len(), |b| {
        syn.emit(&mut TcpPacket::new_unchecked(b), &src, &dst, &caps)
    });
    let prefix_info = NdiscPrefixInformation {
        prefix_len: 64,
        flags: NdiscPrefixInfoFlags::ADDRCONF,
        valid_lifetime: Duration::from_secs(600),
        preferred_lifetime: Duration::from_secs(300),
        prefix: Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 0),
    };
    let advert = Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
        hop_limit: 64,
        flags: NdiscRouterFlags::MANAGED,
        router_lifetime: Duration::from_secs(1800),
        reachable_time: Duration::ZERO,
        retrans_time: Duration::ZERO,
        lladdr: Some(EthernetAddress([2, 0, 0, 0, 0, 1]).into()),
        mtu: Some(1500),
        prefix_info: Some(prefix_info),
    });
    let advert = ipv6_frame(IpProtocol::Icmpv6, advert.buffer_len(), |b| {
        let packet = &mut Icmpv6Packet::new_unchecked(b);
        advert.emit(&V6_CLIENT, &V6_SERVER, packet, &caps)
    });
    [syn, advert]
}

#[test]
fn the_decoder_reads_ipv6_frames_built_by_smoltcp() {
    let [syn, advert] = ipv6_frames();
    let text = decode(&syn, Style::Brief);
    assert!(
        text.contains("TCP [fe80::3]:49152 -> [fe80::1]:7878 [SYN]  seq 0  win 8192"),
        "{text}"
    );
    assert!(!text.contains("BAD"), "{text}");
    let text = decode(&advert, Style::Full);
    assert!(text.contains("prefix fd00::/64 [A]  valid 600 s"), "{text}");
    assert!(text.contains("checksum OK"), "{text}");
}

proptest! {
    #[test]
    fn mutated_ipv6_frames_never_panic(
        advert in any::<bool>(),
        changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let [syn, ra] = ipv6_frames();
        let mut frame = if advert { ra } else { syn };
        for (at, value) in changes {
            let at = at % frame.len();
            frame[at] = value;
        }
        let cut = cut % (frame.len() + 1);
        let full = decode(&frame[..cut], Style::Full);
        let brief = decode(&frame[..cut], Style::Brief);
        prop_assert!(full.starts_with("#1"));
        prop_assert_eq!(brief.lines().count(), 1);
    }

    #[test]
    fn random_ipv6_payloads_never_panic(
        next in proptest::sample::select(vec![0u8, 6, 17, 43, 44, 58, 60, 59]),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let frame = ipv6_frame(IpProtocol::from(next), body.len(), |b| b.copy_from_slice(&body));
        let brief = decode(&frame, Style::Brief);
        prop_assert_eq!(brief.lines().count(), 1);
        prop_assert!(decode(&frame, Style::Full).starts_with("#1"));
    }

    #[test]
    fn mutated_dns_answers_never_panic(
        at in 42usize..90,
        value in any::<u8>(),
        cut in 42usize..=90,
    ) {
        let mut frame = DNS_ANSWER;
        frame[at] = value;
        let text = decode(&frame[..cut], Style::Full);
        prop_assert!(text.starts_with("#1"));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let full = decode(&bytes, Style::Full);
        let brief = decode(&bytes, Style::Brief);
        prop_assert!(full.starts_with("#1"));
        prop_assert_eq!(brief.lines().count(), 1);
    }

    #[test]
    fn mutated_frames_never_panic(
        at in 0usize..66,
        value in any::<u8>(),
        cut in 0usize..=66,
    ) {
        let mut frame = SYN;
        frame[at] = value;
        let text = decode(&frame[..cut], Style::Full);
        prop_assert!(text.starts_with("#1"));
    }
}
