//! docs/layers.md's guided tour quotes real traces; this runs every quoted
//! command again and fails if its output no longer holds the excerpt, line
//! for line and in one piece.

use std::process::Command;

/// (command arguments, excerpt lines) for each `<!-- trace: ARGS -->`
/// marker followed by a ```text block.
fn excerpts(doc: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(args) = line
            .strip_prefix("<!-- trace: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(
            lines.next(),
            Some("```text"),
            "a ```text block must follow {line}"
        );
        let body: Vec<String> = lines
            .by_ref()
            .take_while(|l| *l != "```")
            .map(str::to_string)
            .collect();
        found.push((args.to_string(), body));
    }
    found
}

#[test]
fn every_excerpt_in_the_tour_is_what_its_command_prints() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/layers.md"))
        .expect("docs/layers.md");
    let all = excerpts(&doc);
    assert!(all.len() >= 9, "the tour has {} excerpts", all.len());
    for (args, excerpt) in &all {
        assert!(!excerpt.is_empty(), "empty excerpt for {args}");
        let out = Command::new(env!("CARGO_BIN_EXE_layernet"))
            .args(args.split_whitespace())
            .output()
            .expect("run layernet");
        assert!(out.status.success(), "layernet {args} failed");
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        let printed: Vec<&str> = text.lines().collect();
        let holds = printed
            .windows(excerpt.len())
            .any(|w| w.iter().zip(excerpt).all(|(a, b)| a == b));
        if !holds {
            // Name the first excerpt line the output lacks, to find the change.
            let missing = excerpt
                .iter()
                .find(|l| !printed.contains(&l.as_str()))
                .map_or("(every line occurs, but not in one piece)", |l| l.as_str());
            panic!(
                "docs/layers.md: `layernet {args}` no longer prints the excerpt; first missing line:\n{missing}"
            );
        }
        println!("layernet {args}: {} lines hold", excerpt.len());
    }
}

#[test]
fn the_parser_finds_markers_and_blocks() {
    let doc = "x\n<!-- trace: demo -q -->\n```text\na\nb\n```\n";
    assert_eq!(
        excerpts(doc),
        vec![(
            "demo -q".to_string(),
            vec!["a".to_string(), "b".to_string()]
        )]
    );
}

/// (capture command, diagram command, picture path under docs/) for each
/// `<!-- picture: DEMO ARGS | DIAGRAM ARGS -->` marker, followed by the
/// picture's `![...](pictures/NAME.svg)` line.
fn pictures(doc: &str) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(commands) = line
            .strip_prefix("<!-- picture: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        let (capture, draw) = commands
            .split_once(" | ")
            .unwrap_or_else(|| panic!("{line}: expected CAPTURE ARGS | DIAGRAM ARGS"));
        let image = lines.next().unwrap_or_default();
        let path = image
            .rsplit_once("](")
            .and_then(|(_, p)| p.strip_suffix(')'))
            .unwrap_or_else(|| panic!("an image must follow {line}, not {image:?}"));
        found.push((capture.to_string(), draw.to_string(), path.to_string()));
    }
    found
}

/// Every picture in docs/layers.md is what its commands draw from the
/// (deterministic) demo today. With LAYERNET_BLESS=1 it writes them
/// instead, for a change that means to alter them.
#[test]
fn every_picture_in_the_tour_is_what_its_commands_draw() {
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/docs");
    let doc = std::fs::read_to_string(format!("{docs}/layers.md")).expect("docs/layers.md");
    let all = pictures(&doc);
    assert!(all.len() >= 4, "the tour has {} pictures", all.len());
    let bless = std::env::var("LAYERNET_BLESS").is_ok_and(|v| v == "1");
    for (capture, draw, path) in &all {
        // The commands as a reader types them, in a directory of their own.
        let dir = tempfile::tempdir().expect("tempdir");
        let run = |args: &str| {
            let out = Command::new(env!("CARGO_BIN_EXE_layernet"))
                .args(args.split_whitespace())
                .current_dir(dir.path())
                .output()
                .expect("run layernet");
            assert!(
                out.status.success(),
                "layernet {args}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        run(capture);
        let svg = run(draw);
        let file = format!("{docs}/{path}");
        if bless {
            std::fs::write(&file, &svg).expect("write the picture");
            println!("wrote {file}");
            continue;
        }
        let committed = std::fs::read(&file).unwrap_or_else(|e| {
            panic!("{file}: {e} (LAYERNET_BLESS=1 cargo test --test layers_doc draws it)")
        });
        assert!(
            committed == svg,
            "docs/{path} is no longer what `layernet {draw}` draws after `layernet {capture}`; \
             if the change is meant, LAYERNET_BLESS=1 cargo test --test layers_doc redraws it"
        );
    }
}
