//! Real Linux peers over a TAP device, in a network namespace the test
//! creates (scripts/tap-netns.sh): never the root namespace.
//!
//! Needs root (or CAP_NET_ADMIN) and ip, ping, nc, curl, python3; some
//! scenarios more (nft, dnsmasq, ab, wget). Outside CI without them the test
//! skips with a one-line reason; with CI=true it fails, because CI runs as
//! root and must exercise the real link.

use std::process::Command;
use std::time::Instant;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Why the TAP tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    let uid = match Command::new("id").arg("-u").output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Err(e) => return Some(format!("cannot tell whether this is root (id -u: {e})")),
    };
    if uid != "0" {
        return Some("TAP tests need root (network namespaces and TAP devices)".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("TAP tests need /dev/net/tun".into());
    }
    for tool in ["ip", "ping", "nc", "curl", "python3"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!(
                "TAP tests need {tool} (scripts/test.sh installs it as root)"
            ));
        }
    }
    None
}

/// Run `scenario` inside a fresh namespace with the TAP devices `taps`;
/// returns its output.
fn run_in_namespace(taps: &[&str], scenario: &str, args: &[&str]) -> Option<String> {
    if let Some(why) = missing_prerequisite() {
        assert!(!in_ci(), "CI=true but {why}");
        println!("skipping: {why}");
        return None;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let started = Instant::now();
    let out = Command::new("timeout")
        .args(["-k", "10", "300"])
        .arg(format!("{root}/scripts/tap-netns.sh"))
        .args(taps.iter().flat_map(|t| ["--tap", t]))
        .arg("--")
        .arg(format!("{root}/tests/tap/{scenario}"))
        .args(args)
        .output()
        .expect("run scripts/tap-netns.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}{scenario}: {:.1} s", started.elapsed().as_secs_f64());
    assert!(out.status.success(), "{scenario} failed:\n{text}");
    Some(text)
}

/// Scenario `name` needs `tool` (`package` installs it): true if it is
/// missing and the scenario must skip (outside CI; under CI=true a missing
/// tool fails, as the other prerequisites do).
fn lacks(tool: &str, package: &str, name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if found || missing_prerequisite().is_some() {
        return false;
    }
    assert!(
        !in_ci(),
        "CI=true but {tool} is missing (scripts/test.sh installs {package})"
    );
    println!("skipping: {name} needs {tool} ({package})");
    true
}

/// Run `tests/tap/NAME.sh` in a namespace with `taps`, and check that it
/// ends with its `NAME: all passed` line. `nft`: the script needs nftables
/// too (a prerequisite of its own, with the same CI rule).
fn scenario(taps: &[&str], name: &str, nft: bool) {
    if nft && lacks("nft", "nftables", name) {
        return;
    }
    let layernet = env!("CARGO_BIN_EXE_layernet");
    if let Some(out) = run_in_namespace(taps, &format!("{name}.sh"), &[layernet]) {
        assert!(out.contains(&format!("{name}: all passed")), "{out}");
    }
}

#[test]
fn linux_peers_against_layernet_serve() {
    scenario(&["tap0"], "linux_to_layernet", false);
}

#[test]
fn tcp_segmentation_offload_on_the_tap() {
    scenario(&["tap0"], "offload", false);
}

#[test]
fn serve_pcap_followed_live_by_tshark() {
    if lacks("tshark", "tshark", "live_pcap") {
        return;
    }
    scenario(&["tap0"], "live_pcap", false);
}

#[test]
fn layernet_clients_against_linux_servers() {
    scenario(&["tap0"], "layernet_to_linux", false);
}

#[test]
fn layernet_to_layernet_on_two_taps() {
    scenario(&["tap0", "tap1"], "layernet_to_layernet", false);
}

#[test]
fn transfers_survive_a_lossy_real_link() {
    scenario(&["tap0"], "lossy_link", true);
}

#[test]
fn floods_and_exhaustion() {
    scenario(&["tap0"], "floods", true);
}

#[test]
fn the_file_service_on_a_full_disk() {
    scenario(&["tap0"], "full_disk", false);
}

#[test]
fn hostile_frames_over_a_real_link() {
    scenario(&["tap0"], "hostile", false);
}

#[test]
fn dhcp_and_dns_against_dnsmasq() {
    if lacks("dnsmasq", "dnsmasq-base", "dhcp_dns") {
        return;
    }
    scenario(&["tap0"], "dhcp_dns", false);
}

#[test]
fn ipv6_dual_stack_against_linux() {
    scenario(&["tap0"], "ipv6", false);
}

#[test]
fn the_readme_walk_through_as_written() {
    scenario(&["tap0", "tap1"], "readme", false);
}

#[test]
fn the_file_service_against_real_clients() {
    if lacks("ab", "apache2-utils", "file_service") || lacks("wget", "wget", "file_service") {
        return;
    }
    scenario(&["tap0", "tap1"], "file_service", false);
}

#[test]
fn https_on_the_file_service() {
    if lacks("openssl", "openssl", "tls") {
        return;
    }
    scenario(&["tap0", "tap1"], "tls", false);
}

#[test]
fn iperf3_against_the_iperf3_service() {
    if lacks("iperf3", "iperf3", "iperf3") {
        return;
    }
    scenario(&["tap0"], "iperf3", false);
}

#[test]
fn layernet_iperf3_against_linux_iperf3() {
    if lacks("iperf3", "iperf3", "iperf3_client") {
        return;
    }
    scenario(&["tap0"], "iperf3_client", false);
}

#[test]
fn the_listing_page_in_headless_chromium() {
    if lacks("chromium", "chromium", "browser")
        || lacks("chromedriver", "chromium-driver", "browser")
    {
        return;
    }
    scenario(&["tap0"], "browser", false);
}

#[test]
fn sntp_against_chronyd() {
    if lacks("chronyd", "chrony", "sntp") {
        return;
    }
    scenario(&["tap0"], "sntp", false);
}

#[test]
fn mdns_against_dig_and_zeroconf() {
    if lacks("dig", "bind9-dnsutils", "mdns") {
        return;
    }
    scenario(&["tap0", "tap1"], "mdns", false);
}

/// The async echo server example (`socket::asynch` on a `LocalPool`)
/// against nc and python on tap0: a line, 1 MB echoed exactly while it is
/// sent, a peer's close, a peer's reset. The example is the binary that
/// `cargo test` builds beside the tests (target/<profile>/examples/).
#[test]
fn the_async_echo_server_against_linux_peers() {
    let example = std::env::current_exe().ok().and_then(|exe| {
        let profile_dir = exe.parent()?.parent()?;
        Some(profile_dir.join("examples").join("async_echo_server"))
    });
    let Some(example) = example.filter(|p| p.exists()) else {
        // `cargo test --test tap` alone does not build examples.
        assert!(
            !in_ci(),
            "CI=true but the async_echo_server example was not built"
        );
        println!("skipping: build it first: cargo build --example async_echo_server");
        return;
    };
    let path = example.to_string_lossy().into_owned();
    if let Some(out) = run_in_namespace(&["tap0"], "async_echo.sh", &[&path]) {
        assert!(out.contains("async_echo: all passed"), "{out}");
    }
}

/// The README's `curl http://layernet.local:7878/` through Linux's own
/// resolver: glibc's NSS with nss-mdns, asking an avahi-daemon that the
/// scenario starts in its namespaces (a mount namespace of its own too).
#[test]
fn curl_finds_layernet_local_through_nss_mdns_and_avahi() {
    if lacks("avahi-daemon", "avahi-daemon", "nss_mdns")
        || lacks("unshare", "util-linux", "nss_mdns")
    {
        return;
    }
    // nss-mdns is a library, not a command: ask the loader's cache.
    let nss_mdns = Command::new("sh")
        .args([
            "-c",
            "ldconfig -p | grep -q 'libnss_mdns4_minimal\\.so\\.2'",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !nss_mdns && missing_prerequisite().is_none() {
        assert!(
            !in_ci(),
            "CI=true but nss-mdns is missing (scripts/test.sh installs libnss-mdns)"
        );
        println!("skipping: nss_mdns needs nss-mdns (libnss-mdns)");
        return;
    }
    scenario(&["tap0"], "nss_mdns", false);
}
