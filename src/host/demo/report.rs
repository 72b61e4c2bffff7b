//! The demo's printed account: the exchanges, what each layer did, and
//! the totals.
//!
//! Layer: host (std). Depends on its parent's [`Report`](super::Report)
//! only.

use std::fmt::Write as _;

use super::Report;

/// The demo's printed account.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{Options, format_report, run};
/// let text = format_report(&run(Options::with_loss(2, 8))?);
/// assert!(text.starts_with("layernet demo: simulated Ethernet segment, seed 8, frame loss 2%"));
/// assert!(text.trim_end().ends_with("all exchanges verified byte for byte"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn format_report(r: &Report) -> String {
    let mut out = String::new();
    let o = r.options;
    let f = o.faults;
    let _ = write!(
        out,
        "layernet demo: simulated Ethernet segment, seed {}, frame loss {}%",
        o.seed, f.drop_pct
    );
    if f.corrupt_pct + f.duplicate_pct + f.reorder_pct > 0 {
        let _ = write!(
            out,
            ", corrupt {}%, duplicate {}%, reorder {}%",
            f.corrupt_pct, f.duplicate_pct, f.reorder_pct
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  192.168.69.1 02:00:00:00:00:01 server: echo :7, greeting :1234, time-echo :21566, chat :6868, files :7878"
    );
    let _ = writeln!(out, "  192.168.69.2 02:00:00:00:00:02 client A");
    let _ = writeln!(out, "  192.168.69.3 02:00:00:00:00:03 client B");
    for e in &r.exchanges {
        let c = &e.census;
        let _ = writeln!(out, "\n== {}: {} ==", e.name, e.route);
        let arp = if c.nd_solicits + c.nd_adverts > 0 {
            format!(
                "NDP: {} neighbour solicitations, {} advertisements",
                c.nd_solicits, c.nd_adverts
            )
        } else if c.arp_requests + c.arp_replies == 0 {
            "ARP: nothing to resolve (cache already filled)".to_string()
        } else {
            format!("ARP: {} who-has, {} is-at", c.arp_requests, c.arp_replies)
        };
        let _ = writeln!(
            out,
            "  L2  {}; {} frames on the wire, {} lost",
            arp, e.stats.offered, e.stats.dropped
        );
        if c.icmp_echo_requests + c.icmp_echo_replies > 0 {
            let icmp = if e.name == "ipv6" { "ICMPv6" } else { "ICMP" };
            let _ = writeln!(
                out,
                "  L3  {icmp}: {} echo requests, {} echo replies",
                c.icmp_echo_requests, c.icmp_echo_replies
            );
        }
        if c.tcp_segments > 0 {
            let _ = writeln!(
                out,
                "  L4  TCP: handshake {} SYN / {} SYN-ACK; {} segments carrying {} payload bytes; close {} FIN; {} RST",
                c.tcp_syn, c.tcp_syn_ack, c.tcp_segments, c.tcp_payload_bytes, c.tcp_fin, c.tcp_rst
            );
        }
        if c.udp_datagrams > 0 {
            let _ = writeln!(
                out,
                "  L4  UDP: {} datagrams carrying {} payload bytes",
                c.udp_datagrams, c.udp_payload_bytes
            );
        }
        let _ = writeln!(out, "  L7  {}", e.detail);
    }
    let _ = writeln!(
        out,
        "\n{:<10} {:<6} {:>8} {:>14}  verified",
        "exchange", "result", "bytes", "virtual time"
    );
    for e in &r.exchanges {
        let _ = writeln!(
            out,
            "{:<10} {:<6} {:>8} {:>11} ms  {}",
            e.name,
            if e.ok { "OK" } else { "FAIL" },
            e.bytes,
            e.elapsed.total_millis(),
            e.check
        );
    }
    let s = &r.stats;
    let _ = writeln!(
        out,
        "\nsegment: {} frames offered, {} delivered, {} dropped, {} corrupted, {} duplicated, {} reordered; {} ms virtual",
        s.offered,
        s.delivered,
        s.dropped,
        s.corrupted,
        s.duplicated,
        s.reordered,
        r.elapsed.total_millis()
    );
    let _ = writeln!(
        out,
        "{}",
        if r.all_ok() {
            "all exchanges verified byte for byte"
        } else {
            "SOME EXCHANGES FAILED"
        }
    );
    out
}

/// Print the report to standard output.
///
/// # Example
///
/// ```
/// use layernet::host::demo::{Options, print_report, run};
/// let report = run(Options::with_loss(1, 6))?;
/// print_report(&report); // what `layernet demo --loss 1 --seed 6` shows
/// assert!(report.all_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn print_report(r: &Report) {
    print!("{}", format_report(r));
}
