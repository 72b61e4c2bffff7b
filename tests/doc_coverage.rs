//! The library's doc rule, outside the binary's code:
//!
//! - every public function, type and trait has a runnable example: a ```
//!   block in its rustdoc (the doc tests themselves prove the examples
//!   compile and pass; this proves none is missing);
//! - a public constant or static has a doc comment that says what it is
//!   for, and an example only where one teaches: shows the value at work
//!   (a buffer that holds just so much, a timeout that fires) or why it is
//!   large enough (a bound with its reason);
//! - no example restates a constant: `assert_eq!(X, 4)` for `const X = 4`
//!   (or `X - Y` against a literal, or `X` against `Y + 1`) proves only
//!   that the value was copied into the doc, and must change with it.
//!
//! Items are found by their `pub` declarations in src/.

use std::path::Path;

/// `pub` items whose doc comment lacks what the rule asks, and examples
/// that restate a constant: "file:line: text" each.
fn missing(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "bin") {
                missing(&path, out);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let mut in_tests = false;
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if t.starts_with("#[cfg(test)]") {
                in_tests = true;
            }
            if in_tests {
                continue;
            }
            if let Some(code) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!"))
                && restates_a_constant(code)
            {
                out.push(format!(
                    "{}:{}: restates a constant: {}",
                    path.display(),
                    i + 1,
                    t
                ));
            }
            let item = [
                "fn ",
                "const fn ",
                "struct ",
                "enum ",
                "trait ",
                "const ",
                "static ",
                "type ",
            ]
            .iter()
            .any(|k| t.strip_prefix("pub ").is_some_and(|r| r.starts_with(k)));
            if !item {
                continue;
            }
            // Walk up over attributes to the doc comment.
            let mut j = i;
            let mut doc = String::new();
            while j > 0 {
                j -= 1;
                let above = lines[j].trim_start();
                if above.starts_with("#[") || above.starts_with("#![") {
                    continue;
                }
                match above.strip_prefix("///") {
                    Some(d) => doc.insert_str(0, d),
                    None => break,
                }
            }
            let constant = ["const ", "static "]
                .iter()
                .any(|k| t.strip_prefix("pub ").is_some_and(|r| r.starts_with(k)));
            let enough = if constant {
                !doc.trim().is_empty()
            } else {
                doc.contains("```")
            };
            if !enough {
                out.push(format!("{}:{}: {}", path.display(), i + 1, t));
            }
        }
    }
}

/// Whether a doc line is `assert_eq!(a, b)` with a constant on one side and
/// a literal (or a constant plus or minus a literal) on the other.
fn restates_a_constant(line: &str) -> bool {
    let Some(args) = line
        .trim()
        .strip_prefix("assert_eq!(")
        .and_then(|r| r.strip_suffix(");"))
    else {
        return false;
    };
    let Some((a, b)) = split_top_level_comma(args) else {
        return false;
    };
    let (a, b) = (a.trim(), b.trim());
    let restated = |c: &str, v: &str| constants_only(c) && (literal(v) || constant_offset(v));
    restated(a, b) || restated(b, a)
}

/// The two arguments of a macro call, split at the comma outside brackets.
fn split_top_level_comma(args: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in args.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                let rest = &args[i + 1..];
                // A third argument (the message) is not part of the comparison.
                let b = split_top_level_comma(rest).map_or(rest, |(b, _)| b);
                return Some((&args[..i], b));
            }
            _ => {}
        }
    }
    None
}

/// `X`, `m::X`, or constants joined by `+`/`-`: nothing computed at run time.
fn constants_only(side: &str) -> bool {
    side.split(['+', '-']).map(str::trim).all(|term| {
        let name = term.rsplit("::").next().unwrap_or(term);
        let path_ok = term
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ':');
        path_ok
            && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// A number, string, character or boolean literal, or arithmetic of numbers.
fn literal(side: &str) -> bool {
    let quoted = |q: char| side.len() >= 2 && side.starts_with(q) && side.ends_with(q);
    if quoted('"') || quoted('\'') || side == "true" || side == "false" {
        return true;
    }
    side.starts_with(|c: char| c.is_ascii_digit() || c == '(' || c == '-')
        && side
            .chars()
            .all(|c| c.is_ascii_hexdigit() || " _x.+-*/()".contains(c))
}

/// A constant plus or minus a number: `SOURCE_PORT + 1`.
fn constant_offset(side: &str) -> bool {
    side.split_once(['+', '-'])
        .is_some_and(|(c, n)| constants_only(c.trim()) && literal(n.trim()))
}

#[test]
fn the_restatement_check_tells_a_copy_from_a_lesson() {
    for copy in [
        "assert_eq!(X, 4);",
        " assert_eq!(m::BASE, 0x4020_0000);",
        "assert_eq!(layernet::host::bench::SINK_PORT, SOURCE_PORT + 1);",
        "assert_eq!(TAP_FRAME_MAX - ETHERNET_HEADER_LEN, 1500);",
        "assert_eq!(NAME, \"x\", \"why\");",
    ] {
        assert!(restates_a_constant(copy), "{copy}");
    }
    for lesson in [
        "assert_eq!(Config::default().mac, DEFAULT_MAC);",
        "assert_eq!(client.received().len(), GREETING_MAX);",
        "assert_eq!(net.now(), Instant::ZERO + REPLY_TIMEOUT);",
        "assert!(UDP_BUFFER >= 1500, \"a full-sized datagram fits\");",
        "assert_eq!(rounds, DEFAULT_IDLE_LIMIT);",
    ] {
        assert!(!restates_a_constant(lesson), "{lesson}");
    }
}

#[test]
fn every_public_item_has_an_example() {
    let mut out = Vec::new();
    missing(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    assert!(
        out.is_empty(),
        "{} public items against the doc rule (see this file's module doc):\n{}",
        out.len(),
        out.join("\n")
    );
}
