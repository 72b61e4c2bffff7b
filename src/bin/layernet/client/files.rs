//! The file service's clients: get (a file or the listing) and put, over
//! HTTP or HTTPS, with a progress bar.
//!
//! Layer: host (std), in the binary. Uses the library's file client and
//! TLS client.

use std::io::{self, Write};

use layernet::IpEndpoint;
use layernet::host::blocking::Host;
use layernet::host::file_client::{self, FileError, Options};
use layernet::host::tap_net::TapNet;
use layernet::host::tls_client::TlsClient;

use super::bar;
use super::resolve::url;

fn show(e: FileError) -> String {
    e.to_string()
}

/// TLS settings for an `https://` URL (`None` for plain HTTP).
pub(super) fn tls_for(
    u: &str,
    cacert: Option<&std::path::Path>,
    fingerprint: Option<&str>,
) -> Result<Option<TlsClient>, String> {
    if !u.starts_with("https://") {
        if cacert.is_some() || fingerprint.is_some() {
            return Err("--cacert and --fingerprint are for https:// URLs".into());
        }
        return Ok(None);
    }
    let (target, _) = url(u)?;
    TlsClient::new(&target.host, cacert, fingerprint).map(Some)
}

pub(super) fn get(
    host: &Host<TapNet>,
    ep: IpEndpoint,
    u: &str,
    output: Option<std::path::PathBuf>,
    resume: bool,
    user: Option<&str>,
    tls: Option<&TlsClient>,
) -> Result<(), String> {
    let (_, name) = url(u)?;
    let Some(name) = name else {
        return list(host, ep, output, user, tls);
    };
    let dest = output.unwrap_or_else(|| {
        let base = name.rsplit('/').next().unwrap_or("download");
        std::path::PathBuf::from(if base.is_empty() { "download" } else { base })
    });
    let pb = bar(None);
    let options = Options {
        user,
        tls,
        ..Options::default()
    };
    let t = file_client::get_file_with(
        host,
        ep,
        &name,
        &dest,
        resume,
        &options,
        &mut |done, total| {
            if let Some(t) = total {
                pb.set_length(t);
            }
            pb.set_position(done);
        },
    )
    .map_err(show)?;
    pb.finish_and_clear();
    let from = if t.resumed_from > 0 {
        format!(" (resumed from {})", t.resumed_from)
    } else {
        String::new()
    };
    println!(
        "saved {}: {} bytes{from}, sha256 {}",
        dest.display(),
        t.bytes,
        file_client::hex(&t.sha256)
    );
    Ok(())
}

/// `get IP/`: the listing as text (`name size` lines from layernet), on
/// stdout or into `-o FILE`.
fn list(
    host: &Host<TapNet>,
    ep: IpEndpoint,
    output: Option<std::path::PathBuf>,
    user: Option<&str>,
    tls: Option<&TlsClient>,
) -> Result<(), String> {
    let options = Options {
        user,
        accept: Some("text/plain"),
        tls,
    };
    if let Some(dest) = output {
        file_client::get_file_with(host, ep, "", &dest, false, &options, &mut |_, _| {})
            .map_err(show)?;
        return Ok(());
    }
    let mut out = io::stdout().lock();
    file_client::get_with(host, ep, "", 0, &options, &mut out, &mut |_, _| {}).map_err(show)?;
    out.flush().map_err(|e| format!("stdout: {e}"))
}

pub(super) fn put(
    host: &Host<TapNet>,
    ep: IpEndpoint,
    file: &std::path::Path,
    u: &str,
    user: Option<&str>,
    tls: Option<&TlsClient>,
) -> Result<(), String> {
    let (_, name) = url(u)?;
    let name = match name {
        Some(n) => n,
        None => file
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("give a name: IP[:PORT]/NAME")?
            .to_string(),
    };
    let mut f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let len = f
        .metadata()
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    let pb = bar(Some(len));
    let options = Options {
        user,
        tls,
        ..Options::default()
    };
    let t = file_client::put_with(host, ep, &name, &options, &mut f, len, &mut |done, _| {
        pb.set_position(done)
    })
    .map_err(show)?;
    pb.finish_and_clear();
    println!(
        "stored {name}: {} {} bytes, sha256 {}",
        t.status,
        t.bytes,
        file_client::hex(&t.sha256)
    );
    Ok(())
}
