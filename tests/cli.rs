//! The `layernet` binary: the demo is the default command, its table, its
//! exit status, its flags and its errors.

use std::process::Command;

fn layernet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_layernet"))
        .args(args)
        .output()
        .expect("run layernet");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn table_rows(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("exchange"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let mut f = l.split_whitespace();
            (
                f.next().unwrap_or("").to_string(),
                f.next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn no_arguments_runs_the_demo_and_every_exchange_is_ok() {
    let (code, out, err) = layernet(&[]);
    assert_eq!(code, 0, "{out}{err}");
    let rows = table_rows(&out);
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["ping", "echo", "greeting", "time-echo", "chat", "files"],
        "{out}"
    );
    assert!(
        out.contains("sha256 ") && out.contains(".. = "),
        "the table shows the SHA-256 match: {out}"
    );
    assert!(rows.iter().all(|(_, r)| r == "OK"), "{out}");
    assert!(out.contains("all exchanges verified byte for byte"));
    assert!(
        out.contains("ARP: 1 who-has, 1 is-at"),
        "the account shows ARP: {out}"
    );
    assert!(
        out.contains("handshake 1 SYN / 1 SYN-ACK"),
        "the account shows the handshake: {out}"
    );
}

#[test]
fn lossy_demo_still_passes_and_repeats() {
    let (code, out, err) = layernet(&["demo", "--loss", "10", "--seed", "7"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("seed 7, frame loss 10%"), "{out}");
    assert!(table_rows(&out).iter().all(|(_, r)| r == "OK"), "{out}");
    let (_, again, _) = layernet(&["demo", "--seed", "7", "--loss", "10"]);
    assert_eq!(out, again, "same seed, same run");
}

#[test]
fn help_documents_every_flag() {
    let (code, out, _) = layernet(&["demo", "--help"]);
    assert_eq!(code, 0);
    for flag in ["--loss", "--seed", "--help"] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
    let (code, out, _) = layernet(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("demo"), "{out}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let (code, _, err) = layernet(&["demo", "--loss", "101"]);
    assert_eq!(code, 2);
    assert!(err.contains("--loss"), "{err}");
    let (code, _, err) = layernet(&["demo", "--seed", "minus-one"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value"), "{err}");
    let (code, _, err) = layernet(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn total_loss_fails_cleanly() {
    let (code, out, err) = layernet(&["demo", "--loss", "100"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL"), "{out}");
    assert!(out.contains("SOME EXCHANGES FAILED"), "{out}");
}

#[test]
fn client_usage_mistakes_exit_2_before_touching_a_link() {
    for args in [
        &["echo", "not an ip"][..],
        &["echo", "192.168.69.1:99999"],
        &["get", "192.168.69.1"],
        &["put", "Cargo.toml", "nowhere:x"],
        &["ping", "300.1.1.1"],
        &["serve", "--services", "telnet"],
        &["--link", "wire:0", "serve"],
        &["serve", "--mac", "01:00:00:00:00:01"],
        &["chat", "192.168.69.1", "--linger", "nan"],
        &["serve", "--grace", "-1"],
        &["serve", "--idle-timeout", "0"],
        &["serve", "--auth", "nocolon"],
        &["serve", "--auth", "alice:"],
        &["serve", "--auth", ":secret"],
        &["serve", "--auth", "bob:sha256:12"],
        &["serve", "--auth-reads"],
        &["serve", "--writable", "--auth", "alice:secret"],
        &["serve", "--max-connections", "0"],
        &["serve", "--max-connections", "129"],
        &["serve", "--socket-buffer", "1k"],
        &["serve", "--socket-buffer", "17m"],
        &["serve", "--socket-buffer", "12q"],
        &["--link", "sim", "echo", "192.168.69.1", "hi"],
        &["--ip", "dhcp", "--gateway", "192.168.69.100", "serve"],
        &["--dhcp-max-lease", "10", "serve"],
        &["--host", "bad name=192.168.69.5", "ping", "x"],
        &["--ip", "dchp", "serve"],
        &["--ip6", "ff02::1/64", "serve"],
        &["--ip6", "fd00::1/200", "serve"],
        &["--ip6", "slac", "serve"],
        &["echo", "[fd00::1"],
        &["echo", "[fd00::1]x"],
        &["echo", "[192.168.69.1]:7"],
        &["get", "[fd00::1]:0/a.txt"],
        &["--host", "six=fd00::zz", "ping", "six"],
    ] {
        let (code, _, err) = layernet(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            !err.trim().is_empty() && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_missing_tap_device_is_one_line_and_exit_1() {
    let (code, out, err) = layernet(&[
        "--link",
        "tap:layernet-absent9",
        "echo",
        "192.168.69.100",
        "hi",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no network device layernet-absent9") && err.contains("ip tuntap add"),
        "{err}"
    );
    let (code, _, err) = layernet(&["serve", "--link", "tap:layernet-absent9"]);
    assert_eq!(code, 1);
    assert!(err.contains("no network device layernet-absent9"), "{err}");
}

#[test]
fn file_clients_take_credentials_and_clients_have_their_own_address() {
    for command in ["get", "put"] {
        let (code, out, _) = layernet(&[command, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("--user <USER:PASS>"), "{command}: {out}");
    }
    let (_, out, _) = layernet(&["--help"]);
    assert!(
        out.contains("192.168.69.2/24") && out.contains("02:00:00:00:00:02"),
        "the clients' own defaults are documented: {out}"
    );
    // A name or the listing's slash: a bare host is a usage mistake.
    let (code, _, err) = layernet(&["get", "192.168.69.1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("HOST[:PORT]/ for the listing"), "{err}");
}
