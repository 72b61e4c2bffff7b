//! `layernet bench`: every figure comes out, as a table and as one JSON
//! object per line with the fields the issue fixes. No timing is asserted:
//! the figures depend on the machine.

use std::process::Command;

fn bench(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_layernet"))
        .arg("bench")
        .args(args)
        .output()
        .expect("run layernet bench");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The value of `"key":` in a flat JSON object, as its raw text.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &line[start..];
    let end = if let Some(text) = rest.strip_prefix('"') {
        text.find('"')? + 2
    } else {
        rest.find([',', '}'])?
    };
    Some(&rest[..end])
}

#[test]
fn json_has_one_object_per_figure_with_every_field() {
    let (ok, out, err) = bench(&["--quick", "--runs", "1", "--json"]);
    assert!(ok, "{out}{err}");
    let mut names = Vec::new();
    for line in out.lines() {
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
        for key in ["name", "value", "unit", "peer", "peer_value", "ratio"] {
            assert!(field(line, key).is_some(), "{key} missing in {line}");
        }
        let value = field(line, "value").unwrap_or_default();
        assert!(value.parse::<f64>().is_ok(), "value {value} in {line}");
        names.push(
            field(line, "name")
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
        );
    }
    for want in [
        "sim.tcp.mtu1500",
        "sim.tcp.mtu9000",
        "sim.greeting.conns.c1",
        "sim.greeting.conns.c4",
        "sim.greeting.conns.c16",
        "mem.tiny.resources",
        "mem.host.files",
        "heap.allocations-after-setup",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let transfer = out
        .lines()
        .find(|l| l.contains("sim.tcp.mtu1500"))
        .unwrap_or_default();
    assert_eq!(
        field(transfer, "peer"),
        Some("\"smoltcp-only\""),
        "{transfer}"
    );
    let allocs = out
        .lines()
        .find(|l| l.contains("heap.allocations"))
        .unwrap_or_default();
    assert_eq!(
        field(allocs, "value"),
        Some("0"),
        "the core allocates nothing after setup"
    );
}

#[test]
fn table_and_only() {
    let (ok, out, err) = bench(&["--quick", "--runs", "1", "--only", "memory"]);
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("figure"), "{out}");
    assert!(
        out.contains("mem.tiny.echo") && !out.contains("sim.tcp"),
        "{out}"
    );
    let (ok, _, err) = bench(&["--only", "nothing"]);
    assert!(!ok && err.contains("possible values"), "{err}");
}
