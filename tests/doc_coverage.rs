//! Every public item of the library has a runnable example: a ``` block in
//! its rustdoc (the doc tests themselves prove the examples compile and
//! pass; this proves none is missing). Items are found by their `pub`
//! declarations in src/, outside the binary.

use std::path::Path;

/// `pub` items whose doc comment has no code block: (file, line, text).
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
            if !doc.contains("```") {
                out.push(format!("{}:{}: {}", path.display(), i + 1, t));
            }
        }
    }
}

#[test]
fn every_public_item_has_an_example() {
    let mut out = Vec::new();
    missing(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    assert!(
        out.is_empty(),
        "{} public items without an example:\n{}",
        out.len(),
        out.join("\n")
    );
}
