//! Uploads: `PUT` from a reader of known length, with the body's SHA-256.
//!
//! Layer: host (std). Uses [`crate::host::blocking`], this module's `http`
//! and `checksum`.

use std::io::{self, Read};

use super::checksum::Hasher;
use super::http::{error_text, read_head, request_head};
use super::wire::Wire;
use super::{BLOCK, FileError, IO_TIMEOUT, Options, Progress, Transfer};
use crate::host::blocking::{Driver, Host};
use crate::socket;
use crate::{Duration, IpEndpoint};

/// `PUT /<name>` to `server` with the `len` bytes `input` yields. Sends
/// `Expect: 100-continue` and waits (at most a second, as curl does) for
/// the server's go-ahead, so a refusal (403, 413, 507) costs no body.
///
/// # Errors
/// [`FileError::Status`] when the server refuses (403 for a forbidden name,
/// 413 too large, 507 full: answered before the body is sent),
/// [`FileError::Socket`] if the connection fails, [`FileError::Protocol`]
/// for a response that breaks HTTP, [`FileError::Io`] if `input` fails or
/// ends before `len` bytes.
///
/// # Example
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client::{self, FileError}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(6)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 64>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// let hidden = file_client::put(&client, endpoint(a, 80), ".htaccess", &mut &b"x"[..], 1, &mut |_, _| {});
/// assert!(matches!(hidden, Err(FileError::Status(403, _))));
/// let short = file_client::put(&client, endpoint(a, 80), "ok", &mut &b"ab"[..], 5, &mut |_, _| {});
/// assert!(matches!(short, Err(FileError::Io(_))), "the input ended early");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn put<N: Driver>(
    host: &Host<N>,
    server: IpEndpoint,
    name: &str,
    input: &mut dyn Read,
    len: u64,
    progress: Progress<'_>,
) -> Result<Transfer, FileError> {
    put_with(
        host,
        server,
        name,
        &Options::default(),
        input,
        len,
        progress,
    )
}

/// [`put`] with credentials (`Options::user`).
///
/// # Errors
/// As [`put`].
///
/// # Example
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client::{self, Options}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(10)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 64>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let me = Options { user: Some("ann:pw"), ..Options::default() };
/// let t = file_client::put_with(&Net::new(sim).host(b), endpoint(a, 80), "n", &me, &mut &b"hi"[..], 2, &mut |_, _| {})?;
/// assert_eq!(t.bytes, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn put_with<N: Driver>(
    host: &Host<N>,
    server: IpEndpoint,
    name: &str,
    options: &Options<'_>,
    input: &mut dyn Read,
    len: u64,
    progress: Progress<'_>,
) -> Result<Transfer, FileError> {
    let mut s = Wire::connect(host, server, options)?;
    let extra = format!("Content-Length: {len}\r\nExpect: 100-continue\r\nConnection: close\r\n");
    s.set_timeout(Some(IO_TIMEOUT));
    s.sendall(request_head("PUT", name, server, options, &extra).as_bytes())?;
    let mut head = Vec::new();
    s.set_timeout(Some(Duration::from_secs(1)));
    let early = match read_head(&mut s, true, &mut head) {
        Ok(r) if r.status == 100 => {
            // The final answer may already be right behind the 100.
            head = r.leftover;
            None
        }
        Ok(r) => Some(r),
        Err(FileError::Socket(socket::Error::TimedOut)) => None,
        Err(e) => return Err(e),
    };
    s.set_timeout(Some(IO_TIMEOUT));
    if let Some(r) = early {
        return Err(FileError::Status(r.status, error_text(&mut s, &r)));
    }
    let mut hash = Hasher::new();
    let mut sent = 0u64;
    while sent < len {
        let mut buf = hash.block();
        let want = (len - sent).min(BLOCK as u64) as usize;
        let n = input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(FileError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "input shorter than its length",
            )));
        }
        s.sendall(&buf[..n])?;
        hash.feed(buf, n);
        sent += n as u64;
        progress(sent, Some(len));
    }
    let r = read_head(&mut s, false, &mut head)?;
    match r.status {
        200 | 201 | 204 => Ok(Transfer {
            status: r.status,
            bytes: sent,
            sha256: hash.finish(),
            resumed_from: 0,
        }),
        code => Err(FileError::Status(code, error_text(&mut s, &r))),
    }
}
