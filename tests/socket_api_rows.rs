//! docs/socket-api.md keeps its promise: every call of the classic Python
//! socket table has a row, and every layernet item a row names is compiled.
//!
//! The proof of existence is the compiler's, not this file's: the markdown
//! is the documentation of `layernet::socket_table` (src/lib.rs), so
//! `cargo test --doc` builds every ```rust block in it, and a path written
//! in compiled code (outside comments and strings) that does not resolve
//! fails that build. What this test adds is the link between the two: each item path
//! in the table's layernet columns must be written in some ```rust block
//! (generic arguments such as `::<SimNet>` aside), so that a row cannot
//! name an item no example compiles.

use std::collections::BTreeSet;

const DOC: &str = include_str!("../docs/socket-api.md");

/// The Python calls of the tutorials' table (seeds 002 and 003) and the
/// socket options the course uses; each must appear in the first column.
const PYTHON_CALLS: &[&str] = &[
    "socket.socket(",
    "s.bind(",
    "s.listen(",
    "s.accept(",
    "s.connect(",
    "s.connect_ex(",
    "s.recv(",
    "s.send(",
    "s.sendall(",
    "s.recvfrom(",
    "s.sendto(",
    "s.close(",
    "s.shutdown(",
    "s.getpeername(",
    "s.getsockname(",
    "s.setsockopt(",
    "s.getsockopt(",
    "TCP_NODELAY",
    "SO_KEEPALIVE",
    "SO_REUSEADDR",
    "SO_RCVBUF",
    "SO_SNDBUF",
    "s.settimeout(",
    "s.gettimeout(",
    "s.setblocking(",
    "s.fileno(",
    "s.makefile(",
];

/// First segments that mark a backticked span as a layernet item path.
const LAYERNET_ROOTS: &[&str] = &["socket", "blocking", "net", "link", "host", "app"];

struct Row {
    python: String,
    paths: Vec<String>,
}

/// The cells of one table line; a `|` inside backticks does not split.
fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut code = false;
    for c in line.trim().trim_matches('|').chars() {
        match c {
            '`' => {
                code = !code;
                cell.push(c);
            }
            '|' if !code => out.push(std::mem::take(&mut cell).trim().to_string()),
            _ => cell.push(c),
        }
    }
    out.push(cell.trim().to_string());
    out
}

fn backticked(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`').skip(1).step_by(2)
}

fn is_item_path(span: &str) -> bool {
    let mut segments = span.split("::");
    let root_ok = segments.next().is_some_and(|r| LAYERNET_ROOTS.contains(&r));
    root_ok
        && span.contains("::")
        && span
            .split("::")
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// The rows of the table under "## The table".
fn rows(doc: &str) -> Vec<Row> {
    let mut lines = doc
        .lines()
        .skip_while(|l| l.trim() != "## The table")
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2); // the header and the |---| line
    let mut out = Vec::new();
    for line in lines.by_ref() {
        let c = cells(line);
        assert!(c.len() >= 3, "a row with fewer than 3 cells: {line}");
        let paths = c[1..3]
            .iter()
            .flat_map(|cell| backticked(cell))
            .filter(|s| is_item_path(s))
            .map(str::to_string)
            .collect();
        out.push(Row {
            python: c[0].clone(),
            paths,
        });
    }
    out
}

/// The compiled code of every ```rust block: hidden-line markers removed,
/// string literals and `//` comments blanked, turbofish arguments dropped.
fn compiled_code(doc: &str) -> String {
    let mut code = String::new();
    let mut inside = false;
    for line in doc.lines() {
        let fence = line.trim_start();
        if let Some(info) = fence.strip_prefix("```") {
            if inside {
                inside = false;
            } else {
                let words: Vec<&str> = info.split(',').map(str::trim).collect();
                // Blocks that are not built, or built to fail, prove nothing.
                let skipped = ["ignore", "compile_fail", "text"];
                inside = words.contains(&"rust") && !words.iter().any(|w| skipped.contains(w));
            }
            continue;
        }
        if inside {
            let line = line.trim_start();
            let line = match line.strip_prefix('#') {
                Some(rest) if rest.is_empty() || rest.starts_with(' ') => rest,
                _ => line,
            };
            code.push_str(&without_comments_and_strings(line));
            code.push('\n');
        }
    }
    without_turbofish(&code)
}

fn without_comments_and_strings(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_string = false;
                    out.push('"');
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push('"');
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

fn without_turbofish(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("::<") {
        out.push_str(&rest[..at]);
        let mut depth = 0usize;
        let mut end = rest.len();
        let mut prev = ' ';
        for (i, c) in rest[at + 2..].char_indices() {
            match c {
                '<' => depth += 1,
                '>' if prev != '-' => {
                    depth -= 1;
                    if depth == 0 {
                        end = at + 2 + i + 1;
                        break;
                    }
                }
                _ => {}
            }
            prev = c;
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `path` occurs in `code` as a whole path (`socket::TcpStream::recv` is not
/// found in `socket::TcpStream::recv_queue` nor in `mysocket::...`).
fn mentions(code: &str, path: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(path).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + path.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[test]
fn every_python_call_has_a_row() {
    let rows = rows(DOC);
    assert!(rows.len() >= 20, "the table has only {} rows", rows.len());
    let missing: Vec<&str> = PYTHON_CALLS
        .iter()
        .copied()
        .filter(|call| !rows.iter().any(|r| r.python.contains(call)))
        .collect();
    assert!(missing.is_empty(), "no row for {missing:?}");
}

#[test]
fn every_item_a_row_names_is_compiled_in_an_example() {
    let code = compiled_code(DOC);
    let mut unnamed = Vec::new();
    let mut missing = BTreeSet::new();
    for row in rows(DOC) {
        if row.paths.is_empty() {
            unnamed.push(row.python.clone());
        }
        for path in &row.paths {
            if !mentions(&code, path) {
                missing.insert(path.clone());
            }
        }
    }
    assert!(
        unnamed.is_empty(),
        "rows naming no layernet item: {unnamed:?}"
    );
    assert!(
        missing.is_empty(),
        "named in the table but in no ```rust block: {missing:?}"
    );
}

#[test]
fn the_checks_see_through_generics_and_not_through_comments() {
    let doc = "```rust\n\
               # let _ = blocking::TcpStream::<SimNet>::recv;\n\
               let s = \"socket::UdpSocket::bind\"; // socket::TcpListener::bind\n\
               let _ = socket::io::StreamIo::<P, fn(&mut S) -> ()>::new;\n\
               ```\n\
               ```rust,ignore\nnet::Stack::new\n```\n";
    let code = compiled_code(doc);
    assert!(mentions(&code, "blocking::TcpStream::recv"));
    assert!(mentions(&code, "socket::io::StreamIo::new"));
    assert!(!mentions(&code, "socket::UdpSocket::bind"));
    assert!(!mentions(&code, "socket::TcpListener::bind"));
    assert!(!mentions(&code, "net::Stack::new"));
    assert!(!mentions(&code, "blocking::TcpStream::rec"));
    assert!(is_item_path("socket::Error::WouldBlock"));
    assert!(!is_item_path("std::io::Read") && !is_item_path("set_timeout(None)"));
}
