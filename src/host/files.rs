//! File service clients: `get` and `put` over the blocking sockets.
//!
//! Layer: host (std). Uses [`crate::host::blocking`], `httparse` and `sha2`.
//!
//! A byte stream has no message boundaries: the classic client's single
//! `recv(1024)` truncates every file over 1 KiB. These clients read a
//! response head with httparse and then exactly the body its framing says:
//! `Content-Length`, `Transfer-Encoding: chunked`, or everything until the
//! server closes, so they work against other HTTP servers too. Bodies
//! stream through fixed buffers and a SHA-256 of what went over the wire is
//! computed on the way.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::app::files::write_url;
use crate::host::blocking::{Driver, Host, TcpStream};
use crate::socket;
use crate::{Duration, IpEndpoint};

/// Size of the blocks a body moves in.
const BLOCK: usize = 16 * 1024;
/// Largest response head accepted.
const HEAD_MAX: usize = 16 * 1024;
/// How long one socket operation may wait. Well above TCP's longest
/// retransmission back-off (smoltcp caps the RTO at 60 s): on a bad link
/// one lost retransmission after another may leave a healthy connection
/// silent for a minute, and a transfer should outlive that, as curl's
/// (which has no read timeout at all) does. The lossy soak found it.
const IO_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a transfer failed.
#[derive(Debug)]
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, files::{self, FileError}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(1)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 7878, 1, RamStore::<1, 8>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let got = files::get(&Net::new(sim).host(b), endpoint(a, 7878), "gone", 0, &mut Vec::new(), &mut |_, _| {});
/// let Err(e @ FileError::Status(404, _)) = got else { return Err("expected a 404".into()) };
/// assert_eq!(e.to_string(), "server answered 404: 404 Not Found");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum FileError {
    /// The connection failed.
    Socket(socket::Error),
    /// The server answered with an error status (and this one-line reason).
    Status(u16, String),
    /// The response broke the protocol (bad head, bad chunk, early end).
    Protocol(&'static str),
    /// A local file could not be read or written.
    Io(io::Error),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Socket(e) => write!(f, "connection: {e}"),
            FileError::Status(code, why) => write!(f, "server answered {code}: {why}"),
            FileError::Protocol(why) => write!(f, "bad response: {why}"),
            FileError::Io(e) => write!(f, "local file: {e}"),
        }
    }
}

impl std::error::Error for FileError {}

impl From<socket::Error> for FileError {
    fn from(e: socket::Error) -> Self {
        FileError::Socket(e)
    }
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e)
    }
}

/// What a transfer did.
#[derive(Debug, Clone, PartialEq, Eq)]
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, files, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(2)?;
/// let store = RamStore::<2, 4096>::new();
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let (host, at, data) = (Net::new(sim).host(b), endpoint(a, 80), [3u8; 3000]);
/// let up = files::put(&host, at, "blob", &mut &data[..], 3000, &mut |_, _| {})?;
/// let down = files::get(&host, at, "blob", 0, &mut std::io::sink(), &mut |_, _| {})?;
/// assert_eq!((up.status, down.status, down.bytes), (201, 200, 3000));
/// assert_eq!(up.sha256, down.sha256);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Transfer {
    /// The final status.
    pub status: u16,
    /// Body bytes moved over the connection.
    pub bytes: u64,
    /// SHA-256 of the body bytes moved (for [`get_file`]: of the whole file).
    pub sha256: [u8; 32],
    /// Where a resumed download started (0 if it did not resume).
    pub resumed_from: u64,
}

/// Lower-case hex of a digest.
///
/// # Example
///
/// ```
/// use layernet::host::files::hex;
/// let mut digest = [0u8; 32];
/// digest[0] = 0xAB;
/// assert_eq!(hex(&digest), format!("ab{}", "0".repeat(62)));
/// ```
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 of everything `r` yields.
///
/// # Errors
/// Whatever reading `r` fails with.
///
/// # Example
/// ```
/// use layernet::host::files::{hex, sha256_of};
/// let digest = sha256_of(&mut &b"abc"[..])?;
/// assert!(hex(&digest).starts_with("ba7816bf8f01cfea"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sha256_of(r: &mut dyn Read) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; BLOCK];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}

/// Progress: bytes so far, and the total if known.
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, files::{self, Progress}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(3)?;
/// let store = RamStore::<1, 40_000>::new();
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let mut seen = Vec::new();
/// let report: Progress = &mut |done, total| seen.push((done, total));
/// files::put(&Net::new(sim).host(b), endpoint(a, 80), "p", &mut &[0u8; 40_000][..], 40_000, report)?;
/// assert_eq!(seen.last(), Some(&(40_000, Some(40_000))));
/// assert!(seen.len() > 1, "called as the blocks go");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

fn request_head(method: &str, name: &str, server: IpEndpoint, extra: &str) -> String {
    let mut path = String::from("/");
    let _ = write_url(&mut path, name);
    let server = crate::socket::EndpointText(server);
    format!("{method} {path} HTTP/1.1\r\nHost: {server}\r\nUser-Agent: layernet\r\n{extra}\r\n")
}

/// A parsed response head.
struct Response {
    status: u16,
    length: Option<u64>,
    chunked: bool,
    content_range_start: Option<u64>,
    /// Body bytes that arrived with the head.
    leftover: Vec<u8>,
}

/// Read until a complete response head; 1xx heads are skipped unless
/// `stop_at_continue`.
fn read_head<N: Driver>(
    s: &mut TcpStream<N>,
    stop_at_continue: bool,
    buf: &mut Vec<u8>,
) -> Result<Response, FileError> {
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                let status = resp.code.unwrap_or(0);
                if (100..200).contains(&status) && !(stop_at_continue && status == 100) {
                    buf.drain(..n);
                    continue;
                }
                let mut r = Response {
                    status,
                    length: None,
                    chunked: false,
                    content_range_start: None,
                    leftover: Vec::new(),
                };
                for h in resp.headers.iter() {
                    let v = String::from_utf8_lossy(h.value);
                    if h.name.eq_ignore_ascii_case("content-length") {
                        r.length = Some(
                            v.trim()
                                .parse()
                                .map_err(|_| FileError::Protocol("bad Content-Length"))?,
                        );
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        r.chunked = v.to_ascii_lowercase().contains("chunked");
                    } else if h.name.eq_ignore_ascii_case("content-range") {
                        r.content_range_start = v
                            .trim()
                            .strip_prefix("bytes ")
                            .and_then(|x| x.split('-').next())
                            .and_then(|x| x.parse().ok());
                    }
                }
                r.leftover = buf.split_off(n);
                buf.clear();
                return Ok(r);
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return Err(FileError::Protocol("malformed response head")),
        }
        if buf.len() >= HEAD_MAX {
            return Err(FileError::Protocol("response head too large"));
        }
        let n = s.recv(&mut chunk)?;
        if n == 0 {
            return Err(FileError::Protocol("connection closed before a response"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Streams a response body to `out`, whatever its framing.
struct BodyReader<'s, N: Driver> {
    stream: &'s mut TcpStream<N>,
    pending: Vec<u8>,
}

impl<N: Driver> BodyReader<'_, N> {
    /// Next bytes of the raw stream (what came with the head first).
    fn raw(&mut self, buf: &mut [u8]) -> Result<usize, FileError> {
        if !self.pending.is_empty() {
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        Ok(self.stream.recv(buf)?)
    }

    fn line(&mut self) -> Result<String, FileError> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            if self.raw(&mut b)? == 0 {
                return Err(FileError::Protocol(
                    "connection closed inside chunk framing",
                ));
            }
            if b[0] == b'\n' {
                break;
            }
            line.push(b[0]);
            if line.len() > 1024 {
                return Err(FileError::Protocol("chunk line too long"));
            }
        }
        Ok(String::from_utf8_lossy(&line)
            .trim_end_matches('\r')
            .to_string())
    }

    fn copy(
        &mut self,
        mut limit: Option<u64>,
        out: &mut dyn Write,
        hash: &mut Sha256,
        done: &mut u64,
        total: Option<u64>,
        progress: Progress<'_>,
    ) -> Result<(), FileError> {
        let mut buf = vec![0u8; BLOCK];
        loop {
            let want = limit.map_or(BLOCK, |l| l.min(BLOCK as u64) as usize);
            if want == 0 {
                return Ok(());
            }
            let n = self.raw(&mut buf[..want])?;
            if n == 0 {
                return match limit {
                    Some(_) => Err(FileError::Protocol(
                        "connection closed before the end of the body",
                    )),
                    None => Ok(()),
                };
            }
            out.write_all(&buf[..n])?;
            hash.update(&buf[..n]);
            *done += n as u64;
            limit = limit.map(|l| l - n as u64);
            progress(*done, total);
        }
    }

    fn read_body(
        &mut self,
        r: &Response,
        out: &mut dyn Write,
        hash: &mut Sha256,
        progress: Progress<'_>,
    ) -> Result<u64, FileError> {
        let mut done = 0;
        if r.chunked {
            loop {
                let line = self.line()?;
                let size_text = line.split(';').next().unwrap_or("").trim();
                let size = u64::from_str_radix(size_text, 16)
                    .map_err(|_| FileError::Protocol("bad chunk size"))?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    while !self.line()?.is_empty() {}
                    return Ok(done);
                }
                self.copy(Some(size), out, hash, &mut done, None, progress)?;
                if !self.line()?.is_empty() {
                    return Err(FileError::Protocol("chunk not followed by CRLF"));
                }
            }
        }
        self.copy(r.length, out, hash, &mut done, r.length, progress)?;
        Ok(done)
    }
}

/// The one-line reason an error response carries.
fn error_text<N: Driver>(s: &mut TcpStream<N>, r: &Response) -> String {
    let mut body = Vec::new();
    let mut reader = BodyReader {
        stream: s,
        pending: r.leftover.clone(),
    };
    let limited = Response {
        length: Some(r.length.unwrap_or(0).min(1024)),
        chunked: false,
        leftover: Vec::new(),
        ..*r
    };
    let _ = reader.read_body(&limited, &mut body, &mut Sha256::new(), &mut |_, _| {});
    String::from_utf8_lossy(&body).trim().to_string()
}

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
/// use layernet::host::{blocking::Net, files, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(4)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 32>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// files::put(&client, endpoint(a, 80), "abc", &mut &b"hello world"[..], 11, &mut |_, _| {})?;
/// let mut tail = Vec::new();
/// let t = files::get(&client, endpoint(a, 80), "abc", 6, &mut tail, &mut |_, _| {})?;
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
    let mut s = host.tcp_connect(server, Some(IO_TIMEOUT))?;
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
    let mut hash = Sha256::new();
    let mut reader = BodyReader {
        stream: &mut s,
        pending: r.leftover.clone(),
    };
    let bytes = reader.read_body(&r, out, &mut hash, progress)?;
    Ok(Transfer {
        status: r.status,
        bytes,
        sha256: hash.finalize().into(),
        resumed_from: if r.status == 206 { from } else { 0 },
    })
}

/// Download `name` into the file `dest`. With `resume`, an existing `dest`
/// is continued from its length (`curl -C -`): 206 appends, a 200 (the
/// server ignored the range) rewrites it, 416 means it was complete. The
/// SHA-256 returned is of the whole file.
///
/// # Errors
/// Those of [`get`], and [`FileError::Io`] if `dest` cannot be opened,
/// written, synced or read back.
///
/// # Example
/// ```
/// use layernet::app::files::{FileServer, Limits, Policy};
/// use layernet::host::{blocking::Net, dirstore::DirStore, files, sim::{SimNet, endpoint}};
/// let (served, local) = (tempfile::tempdir()?, tempfile::tempdir()?);
/// std::fs::write(served.path().join("song.mp3"), [9u8; 5000])?;
/// let (mut sim, a, b) = SimNet::pair(5)?;
/// let store = DirStore::open(served.path())?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let dest = local.path().join("song.mp3");
/// std::fs::write(&dest, [9u8; 2000])?; // an earlier download, cut off
/// let t = files::get_file(&Net::new(sim).host(b), endpoint(a, 80), "song.mp3", &dest, true, &mut |_, _| {})?;
/// assert_eq!((t.resumed_from, t.bytes, std::fs::metadata(&dest)?.len()), (2000, 3000, 5000));
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
    let have = if resume {
        std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0)
    } else {
        0
    };
    let mut file = OpenOptions::new().create(true).append(true).open(dest)?;
    let mut t = get(host, server, name, have, &mut file, progress);
    if let Ok(tr) = &t
        && tr.status == 200
        && have > 0
    {
        // The server sent the whole file: start over.
        file = File::create(dest)?;
        t = get(host, server, name, 0, &mut file, &mut |_, _| {});
    }
    let mut t = t?;
    file.sync_all()?;
    if t.resumed_from > 0 {
        t.sha256 = sha256_of(&mut File::open(dest)?)?;
    }
    Ok(t)
}

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
/// use layernet::host::{blocking::Net, files::{self, FileError}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(6)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 64>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// let hidden = files::put(&client, endpoint(a, 80), ".htaccess", &mut &b"x"[..], 1, &mut |_, _| {});
/// assert!(matches!(hidden, Err(FileError::Status(403, _))));
/// let short = files::put(&client, endpoint(a, 80), "ok", &mut &b"ab"[..], 5, &mut |_, _| {});
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
    let mut s = host.tcp_connect(server, Some(IO_TIMEOUT))?;
    let extra = format!("Content-Length: {len}\r\nExpect: 100-continue\r\nConnection: close\r\n");
    s.set_timeout(Some(IO_TIMEOUT));
    s.sendall(request_head("PUT", name, server, &extra).as_bytes())?;
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
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; BLOCK];
    let mut sent = 0u64;
    while sent < len {
        let want = (len - sent).min(BLOCK as u64) as usize;
        let n = input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(FileError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "input shorter than its length",
            )));
        }
        s.sendall(&buf[..n])?;
        hash.update(&buf[..n]);
        sent += n as u64;
        progress(sent, Some(len));
    }
    let r = read_head(&mut s, false, &mut head)?;
    match r.status {
        200 | 201 | 204 => Ok(Transfer {
            status: r.status,
            bytes: sent,
            sha256: hash.finalize().into(),
            resumed_from: 0,
        }),
        code => Err(FileError::Status(code, error_text(&mut s, &r))),
    }
}
