//! Downloads: `GET` into a writer, or into a file that a partial earlier
//! download is resumed in, with the body's SHA-256.
//!
//! Layer: host (std). Uses [`crate::host::blocking`], this module's `http`
//! and `checksum`, and `std::fs`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::checksum::{Hasher, sha256_of};
use super::http::{BodyReader, error_text, read_head, request_head};
use super::wire::Wire;
use super::{FileError, IO_TIMEOUT, Options, Progress, Transfer};
use crate::IpEndpoint;
use crate::host::blocking::{Driver, Host};

/// `GET /<name>` from `server` into `out`, from byte `from` on (a Range
/// request when `from` > 0). Returns the transfer; a 416 to a ranged
/// request means there was nothing left to fetch (status 416, 0 bytes).
///
/// # Errors
/// [`FileError::Socket`] if the connection fails (refused, reset, a minute
/// without progress), [`FileError::Status`] for an error status (404, 403,
/// …), [`FileError::Protocol`] for a response that breaks HTTP (a bad head
/// or chunk, an early end), [`FileError::Io`] if writing to `out` fails.
///
/// # Example
/// A download from byte 6 on, as a resumed transfer asks for it:
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(4)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 32>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// file_client::put(&client, endpoint(a, 80), "abc", &mut &b"hello world"[..], 11, &mut |_, _| {})?;
/// let mut tail = Vec::new();
/// let t = file_client::get(&client, endpoint(a, 80), "abc", 6, &mut tail, &mut |_, _| {})?;
/// assert_eq!((t.status, t.resumed_from, tail.as_slice()), (206, 6, &b"world"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn get<N: Driver>(
    host: &Host<N>,
    server: IpEndpoint,
    name: &str,
    from: u64,
    out: &mut dyn Write,
    progress: Progress<'_>,
) -> Result<Transfer, FileError> {
    get_with(host, server, name, from, &Options::default(), out, progress)
}

/// [`get`] with credentials or an `Accept` header. The name `""` asks for
/// the listing (`GET /`).
///
/// # Errors
/// As [`get`].
///
/// # Example
/// The listing as text, one `name size` line per file:
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client::{self, Options}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(8)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<2, 16>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// file_client::put(&client, endpoint(a, 80), "a.txt", &mut &b"hello"[..], 5, &mut |_, _| {})?;
/// let mut listing = Vec::new();
/// let plain = Options { accept: Some("text/plain"), ..Options::default() };
/// file_client::get_with(&client, endpoint(a, 80), "", 0, &plain, &mut listing, &mut |_, _| {})?;
/// assert!(String::from_utf8(listing)?.contains("a.txt 5"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn get_with<N: Driver>(
    host: &Host<N>,
    server: IpEndpoint,
    name: &str,
    from: u64,
    options: &Options<'_>,
    out: &mut dyn Write,
    progress: Progress<'_>,
) -> Result<Transfer, FileError> {
    get_into(host, server, name, from, options, &mut Plain(out), progress)
}

/// Where a download's body goes, told the status before its first byte:
/// a file is created (or truncated, or appended to) only once the server
/// said yes.
trait Sink: Write {
    fn begin(&mut self, status: u16) -> io::Result<()>;
}

struct Plain<'a>(&'a mut dyn Write);

impl Write for Plain<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Sink for Plain<'_> {
    fn begin(&mut self, _status: u16) -> io::Result<()> {
        Ok(())
    }
}

/// The destination file of [`get_file`], opened on [`Sink::begin`].
struct Dest<'p> {
    path: &'p Path,
    file: Option<File>,
}

impl Write for Dest<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("body before the status")),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(buf),
            None => Err(io::Error::other("body before the status")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Sink for Dest<'_> {
    fn begin(&mut self, status: u16) -> io::Result<()> {
        // 206 continues what is there; 200 is the whole file, from byte 0,
        // even when a range was asked for and the server ignored it.
        let file = if status == 206 {
            OpenOptions::new().append(true).open(self.path)?
        } else {
            File::create(self.path)?
        };
        self.file = Some(file);
        Ok(())
    }
}

fn get_into<N: Driver>(
    host: &Host<N>,
    server: IpEndpoint,
    name: &str,
    from: u64,
    options: &Options<'_>,
    out: &mut dyn Sink,
    progress: Progress<'_>,
) -> Result<Transfer, FileError> {
    let mut s = Wire::connect(host, server, options)?;
    s.set_timeout(Some(IO_TIMEOUT));
    let range = if from > 0 {
        format!("Range: bytes={from}-\r\n")
    } else {
        String::new()
    };
    s.sendall(
        request_head(
            "GET",
            name,
            server,
            options,
            &format!("{range}Connection: close\r\n"),
        )
        .as_bytes(),
    )?;
    let r = read_head(&mut s, false, &mut Vec::new())?;
    match r.status {
        200 | 206 => {}
        416 if from > 0 => {
            return Ok(Transfer {
                status: 416,
                bytes: 0,
                sha256: Sha256::new().finalize().into(),
                resumed_from: from,
            });
        }
        code => return Err(FileError::Status(code, error_text(&mut s, &r))),
    }
    if r.status == 206 && r.content_range_start != Some(from) {
        return Err(FileError::Protocol("206 for a range we did not ask for"));
    }
    out.begin(r.status)?;
    let mut hash = Hasher::new();
    let mut reader = BodyReader {
        stream: &mut s,
        pending: r.leftover.clone(),
    };
    let bytes = reader.read_body(&r, out, Some(&mut hash), progress)?;
    Ok(Transfer {
        status: r.status,
        bytes,
        sha256: hash.finish(),
        resumed_from: if r.status == 206 { from } else { 0 },
    })
}

/// Download `name` into the file `dest`. With `resume`, an existing `dest`
/// is continued from its length (`curl -C -`): 206 appends, a 200 (the
/// server ignored the range) rewrites it, 416 means it was complete. The
/// SHA-256 returned is of the whole file.
///
/// `dest` is opened only once the server answered 200 or 206: an error
/// status (404, 401, …) leaves an existing `dest` as it was and creates
/// none. A transfer that fails after that removes `dest`, unless resuming:
/// then what arrived stays, for the next resume.
///
/// # Errors
/// Those of [`get`], and [`FileError::Io`] if `dest` cannot be opened,
/// written, synced or read back.
///
/// # Example
/// ```
/// use layernet::app::files::{FileServer, Limits, Policy};
/// use layernet::host::{blocking::Net, dirstore::DirStore, file_client, sim::{SimNet, endpoint}};
/// let (served, local) = (tempfile::tempdir()?, tempfile::tempdir()?);
/// std::fs::write(served.path().join("song.mp3"), [9u8; 5000])?;
/// let (mut sim, a, b) = SimNet::pair(5)?;
/// let store = DirStore::open(served.path())?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// let dest = local.path().join("song.mp3");
/// std::fs::write(&dest, [9u8; 2000])?; // an earlier download, cut off
/// let t = file_client::get_file(&client, endpoint(a, 80), "song.mp3", &dest, true, &mut |_, _| {})?;
/// assert_eq!((t.resumed_from, t.bytes, std::fs::metadata(&dest)?.len()), (2000, 3000, 5000));
/// let missing = local.path().join("missing.txt");
/// assert!(file_client::get_file(&client, endpoint(a, 80), "missing.txt", &missing, false, &mut |_, _| {}).is_err());
/// assert!(!missing.exists(), "no empty file after a 404");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn get_file<N: Driver>(
    host: &Host<N>,
    server: IpEndpoint,
    name: &str,
    dest: &Path,
    resume: bool,
    progress: Progress<'_>,
) -> Result<Transfer, FileError> {
    get_file_with(
        host,
        server,
        name,
        dest,
        resume,
        &Options::default(),
        progress,
    )
}

/// [`get_file`] with credentials or an `Accept` header.
///
/// # Errors
/// As [`get_file`].
///
/// # Example
/// A resume keeps what it had when the server says no:
/// ```
/// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client::{self, FileError, Options}, sim::{SimNet, endpoint}};
/// let local = tempfile::tempdir()?;
/// let (mut sim, a, b) = SimNet::pair(9)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 8>::new(), Limits::default())?;
/// sim.serve(a, Box::new(server));
/// let dest = local.path().join("part");
/// std::fs::write(&dest, b"half")?;
/// let got = file_client::get_file_with(&Net::new(sim).host(b), endpoint(a, 80), "part", &dest, true, &Options::default(), &mut |_, _| {});
/// assert!(matches!(got, Err(FileError::Status(404, _))));
/// assert_eq!(std::fs::read(&dest)?, b"half");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn get_file_with<N: Driver>(
    host: &Host<N>,
    server: IpEndpoint,
    name: &str,
    dest: &Path,
    resume: bool,
    options: &Options<'_>,
    progress: Progress<'_>,
) -> Result<Transfer, FileError> {
    let have = if resume {
        std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0)
    } else {
        0
    };
    let mut out = Dest {
        path: dest,
        file: None,
    };
    let result = get_into(host, server, name, have, options, &mut out, progress)
        .and_then(|t| match &out.file {
            Some(f) => f.sync_all().map(|()| t).map_err(FileError::from),
            None => Ok(t),
        })
        .and_then(|mut t| {
            if t.resumed_from > 0 {
                t.sha256 = sha256_of(&mut File::open(dest)?)?;
            }
            Ok(t)
        });
    if result.is_err() && !resume && out.file.take().is_some() {
        // A partial file must not pass for the whole one.
        let _ = std::fs::remove_file(dest);
    }
    result
}
