//! `layernet diagram`: read a capture file, write one SVG picture.
//!
//! Layer: host (std), the binary. Depends on the library's
//! [`layernet::host::diagram`] for the drawing and on `args.rs`. This file
//! only reads the input and writes the output so that a failure leaves no
//! half-written file: the picture is drawn in memory first, then written
//! beside the target under a temporary name and renamed over it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use layernet::host::diagram::render;

use crate::args::DiagramArgs;

pub(crate) fn run_diagram(args: &DiagramArgs) -> ExitCode {
    match diagram(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("layernet diagram: {e}");
            ExitCode::FAILURE
        }
    }
}

fn diagram(args: &DiagramArgs) -> Result<(), String> {
    let input = args.input.display().to_string();
    let bytes = if input == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("stdin: {e}"))?;
        bytes
    } else {
        std::fs::read(&args.input).map_err(|e| format!("{input}: {e}"))?
    };
    let name = args
        .input
        .file_name()
        .map_or_else(|| input.clone(), |n| n.to_string_lossy().into_owned());
    let svg = render(args.picture.into(), &bytes, &args.filter, &name)
        .map_err(|e| format!("{input}: {e}"))?;
    match &args.output {
        Some(path) if path.as_os_str() != "-" => write_whole(path, svg.as_bytes()),
        _ => std::io::stdout()
            .lock()
            .write_all(svg.as_bytes())
            .map_err(|e| format!("stdout: {e}")),
    }
}

/// Write `bytes` to `path` all or nothing: into a temporary file in the
/// same directory (so the rename cannot cross file systems), then renamed.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let shown = path.display();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| format!("{shown}: not a file name"))?;
    let temp = dir.join(format!(
        ".{}.layernet-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("{shown}: {e}")
    })
}
