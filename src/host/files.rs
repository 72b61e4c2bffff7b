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
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use crate::app::files::write_url;
use crate::host::blocking::{Driver, Host, TcpStream};
use crate::socket;
use crate::{Duration, IpEndpoint};

/// Size of the blocks a body moves in: a socket's whole receive buffer
/// fits in one, so one driver round's worth of data is one block.
const BLOCK: usize = 256 * 1024;
/// Blocks in flight between a transfer and its hashing thread.
const BLOCKS: usize = 4;
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
/// assert_eq!(e.to_string(), "404 Not Found");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum FileError {
    /// The connection failed.
    Socket(socket::Error),
    /// The server answered with an error status; the text is one line:
    /// the status and its reason, then (after `: `) the first line of the
    /// server's own explanation that adds something, never HTML.
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
            FileError::Status(_, line) => f.write_str(line),
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
/// let store = Box::new(RamStore::<1, 600_000>::new());
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, *store, Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let mut seen = Vec::new();
/// let report: Progress = &mut |done, total| seen.push((done, total));
/// let data = vec![0u8; 600_000];
/// files::put(&Net::new(sim).host(b), endpoint(a, 80), "p", &mut &data[..], 600_000, report)?;
/// assert_eq!(seen.last(), Some(&(600_000, Some(600_000))));
/// assert!(seen.len() > 1, "called as the blocks go");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// SHA-256 of a transfer, computed on a thread of its own: even with the
/// CPU's SHA instructions hashing took a quarter of a download's time on
/// the transfer's thread (perf, 256 MiB over TAP). Blocks go to the thread
/// once written or sent and come back to be filled again; without a thread
/// (spawning failed) the hashing happens in line.
struct Hasher {
    work: Option<mpsc::SyncSender<(Vec<u8>, usize)>>,
    spare: mpsc::Receiver<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<[u8; 32]>>,
    inline: Sha256,
    made: usize,
}

impl Hasher {
    fn new() -> Hasher {
        let (work, todo) = mpsc::sync_channel::<(Vec<u8>, usize)>(BLOCKS);
        let (back, spare) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                let mut h = Sha256::new();
                for (block, n) in todo {
                    h.update(&block[..n]);
                    let _ = back.send(block);
                }
                h.finalize().into()
            })
            .ok();
        Hasher {
            work: thread.as_ref().map(|_| work),
            spare,
            thread,
            inline: Sha256::new(),
            made: 0,
        }
    }

    /// An empty block to fill: a returned one, or a new one while fewer
    /// than [`BLOCKS`] exist.
    fn block(&mut self) -> Vec<u8> {
        if let Ok(b) = self.spare.try_recv() {
            return b;
        }
        if self.made < BLOCKS || self.work.is_none() {
            self.made += 1;
            return vec![0; BLOCK];
        }
        self.spare.recv().unwrap_or_else(|_| vec![0; BLOCK])
    }

    /// Hash the first `n` bytes of `block`.
    fn feed(&mut self, block: Vec<u8>, n: usize) {
        match &self.work {
            Some(work) => {
                if let Err(mpsc::SendError((block, n))) = work.send((block, n)) {
                    // The thread is gone (it cannot fail, but if it did):
                    // the digest would be wrong, so hash nothing more there.
                    self.work = None;
                    self.thread = None;
                    self.inline.update(&block[..n]);
                }
            }
            None => self.inline.update(&block[..n]),
        }
    }

    fn finish(mut self) -> [u8; 32] {
        self.work = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(digest)) => digest,
            _ => self.inline.finalize().into(),
        }
    }
}

/// What a request carries besides its method and name.
///
/// # Example
///
/// ```
/// use layernet::host::files::Options;
/// let o = Options { user: Some("ann:secret"), ..Options::default() };
/// assert_eq!(o.accept, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options<'a> {
    /// `USER:PASS`, sent as HTTP Basic credentials (RFC 7617).
    pub user: Option<&'a str>,
    /// The `Accept` header's value: the listing asks for `text/plain`.
    pub accept: Option<&'a str>,
}

/// Standard base64 (RFC 4648, with padding): the one encoding Basic
/// credentials need, too small to be worth a dependency.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `Authorization` header's value for `USER:PASS`.
///
/// # Example
/// RFC 7617's own example:
/// ```
/// use layernet::host::files::basic_credentials;
/// assert_eq!(basic_credentials("Aladdin:open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// ```
pub fn basic_credentials(user_pass: &str) -> String {
    format!("Basic {}", base64(user_pass.as_bytes()))
}

fn request_head(
    method: &str,
    name: &str,
    server: IpEndpoint,
    options: &Options<'_>,
    extra: &str,
) -> String {
    let mut path = String::from("/");
    let _ = write_url(&mut path, name);
    let server = crate::socket::EndpointText(server);
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {server}\r\nUser-Agent: layernet\r\n");
    if let Some(user) = options.user {
        let _ = write!(head, "Authorization: {}\r\n", basic_credentials(user));
    }
    if let Some(accept) = options.accept {
        let _ = write!(head, "Accept: {accept}\r\n");
    }
    head + extra + "\r\n"
}

/// A parsed response head.
struct Response {
    status: u16,
    /// The reason phrase as the server wrote it.
    reason: String,
    /// The body is HTML (by `Content-Type`).
    html: bool,
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
                    reason: resp.reason.unwrap_or("").to_string(),
                    html: false,
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
                    } else if h.name.eq_ignore_ascii_case("content-type") {
                        r.html = v.to_ascii_lowercase().contains("html");
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

    /// Move `limit` bytes (or everything until the end) to `out` and the
    /// hasher, a block at a time: each block is filled from as many
    /// receives as it takes, so the file and the hasher see few large
    /// writes.
    fn copy(
        &mut self,
        mut limit: Option<u64>,
        out: &mut dyn Write,
        mut hash: Option<&mut Hasher>,
        done: &mut u64,
        total: Option<u64>,
        progress: Progress<'_>,
    ) -> Result<(), FileError> {
        let mut buf = hash
            .as_mut()
            .map_or_else(|| vec![0u8; BLOCK], |h| h.block());
        let mut filled = 0;
        let mut ended = false;
        while !ended {
            let want = limit.map_or(BLOCK - filled, |l| l.min((BLOCK - filled) as u64) as usize);
            if want > 0 {
                let n = match self.raw(&mut buf[filled..filled + want]) {
                    Ok(0) if limit.is_some() => {
                        // What did arrive is kept: a resume continues from it.
                        out.write_all(&buf[..filled])?;
                        return Err(FileError::Protocol(
                            "connection closed before the end of the body",
                        ));
                    }
                    Ok(n) => n,
                    Err(e) => {
                        out.write_all(&buf[..filled])?;
                        return Err(e);
                    }
                };
                ended |= n == 0;
                filled += n;
                *done += n as u64;
                limit = limit.map(|l| l - n as u64);
            }
            ended |= limit == Some(0);
            if filled == BLOCK || (ended && filled > 0) {
                out.write_all(&buf[..filled])?;
                if let Some(h) = hash.as_mut() {
                    h.feed(buf, filled);
                    buf = h.block();
                }
                filled = 0;
                progress(*done, total);
            }
        }
        if let Some(h) = hash {
            h.feed(buf, 0);
        }
        Ok(())
    }

    fn read_body(
        &mut self,
        r: &Response,
        out: &mut dyn Write,
        mut hash: Option<&mut Hasher>,
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
                self.copy(
                    Some(size),
                    out,
                    hash.as_deref_mut(),
                    &mut done,
                    None,
                    progress,
                )?;
                if !self.line()?.is_empty() {
                    return Err(FileError::Protocol("chunk not followed by CRLF"));
                }
            }
        }
        self.copy(r.length, out, hash, &mut done, r.length, progress)?;
        Ok(done)
    }
}

/// How much of an error body is read for its one line.
const ERROR_BODY_MAX: usize = 4096;
/// Longest explanation kept from an error body.
const ERROR_LINE_MAX: usize = 200;

/// The one line an error response comes down to (read from `s`).
fn error_text<N: Driver>(s: &mut TcpStream<N>, r: &Response) -> String {
    let mut body = Vec::new();
    let mut reader = BodyReader {
        stream: s,
        pending: r.leftover.clone(),
    };
    let limited = Response {
        status: r.status,
        reason: String::new(),
        html: r.html,
        length: Some(r.length.unwrap_or(0).min(ERROR_BODY_MAX as u64)),
        chunked: false,
        content_range_start: None,
        leftover: Vec::new(),
    };
    let _ = reader.read_body(&limited, &mut body, None, &mut |_, _| {});
    error_line(r.status, &r.reason, r.html, &body)
}

/// `&amp;`, `&#x27;` and friends, as far as an error page uses them.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let c = match &rest[1..end] {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                e => e
                    .strip_prefix("#x")
                    .or_else(|| e.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| e.strip_prefix('#').map(str::parse))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out + rest
}

/// The text of an HTML page's paragraphs (`p`, `pre`, `li`), one line
/// each: headings and titles only repeat the status.
fn html_paragraphs(html: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut depth = 0usize;
    let mut text = String::new();
    let mut rest = html;
    while !rest.is_empty() {
        let (before, tag, after) = match rest.find('<') {
            Some(open) => {
                let close = rest[open..].find('>').map_or(rest.len(), |c| open + c + 1);
                (&rest[..open], &rest[open..close], &rest[close..])
            }
            None => (rest, "", ""),
        };
        if depth > 0 {
            text.push_str(before);
            text.push(' ');
        }
        let name: String = tag
            .trim_start_matches('<')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
            .collect::<String>()
            .to_ascii_lowercase();
        match name.as_str() {
            "p" | "pre" | "li" => depth += 1,
            "/p" | "/pre" | "/li" if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    lines.push(std::mem::take(&mut text));
                }
            }
            _ => {}
        }
        rest = after;
    }
    if depth > 0 {
        lines.push(text);
    }
    lines
}

/// Whether `line` says nothing beyond the status: "Error code: 501",
/// "404 Not Found", "Error response".
fn only_repeats_status(line: &str, code: u16, reason: &str) -> bool {
    let code = code.to_string();
    let reason = reason.to_ascii_lowercase();
    line.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .all(|w| {
            let w = w.to_ascii_lowercase();
            w == code
                || ["error", "code", "status", "response", "http"].contains(&w.as_str())
                || reason.split(' ').any(|r| r == w)
        })
}

/// One line for an error response: `CODE REASON`, then `: ` and the first
/// line of the body that says more (text, or an HTML page's paragraphs;
/// never markup), cut to [`ERROR_LINE_MAX`] characters. A body that is
/// already such a line (layernet's own, `403 Forbidden: uploads are off;
/// …`) is kept as it is.
fn error_line(code: u16, server_reason: &str, html: bool, body: &[u8]) -> String {
    let reason = crate::app::files::standard_reason(code).unwrap_or(server_reason.trim());
    let head = format!("{code} {reason}").trim_end().to_string();
    let body = String::from_utf8_lossy(body);
    let html = html || body.trim_start().starts_with('<');
    let candidates: Vec<String> = if html {
        html_paragraphs(&body)
            .iter()
            .map(|l| decode_entities(l))
            .collect()
    } else {
        body.lines().map(str::to_string).collect()
    };
    let line = candidates
        .iter()
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let l: String = words
                .join(" ")
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            l.strip_prefix("Message: ").map(str::to_string).unwrap_or(l)
        })
        .find(|l| !l.is_empty() && !only_repeats_status(l, code, reason));
    let Some(line) = line else {
        return head;
    };
    let line: String = if line.chars().count() > ERROR_LINE_MAX {
        line.chars()
            .take(ERROR_LINE_MAX)
            .chain("...".chars())
            .collect()
    } else {
        line
    };
    if line.starts_with(&format!("{code} ")) {
        line
    } else {
        format!("{head}: {line}")
    }
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
/// use layernet::host::{blocking::Net, files::{self, Options}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(8)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<2, 16>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// files::put(&client, endpoint(a, 80), "a.txt", &mut &b"hello"[..], 5, &mut |_, _| {})?;
/// let mut listing = Vec::new();
/// let plain = Options { accept: Some("text/plain"), ..Options::default() };
/// files::get_with(&client, endpoint(a, 80), "", 0, &plain, &mut listing, &mut |_, _| {})?;
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
/// use layernet::host::{blocking::Net, dirstore::DirStore, files, sim::{SimNet, endpoint}};
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
/// let t = files::get_file(&client, endpoint(a, 80), "song.mp3", &dest, true, &mut |_, _| {})?;
/// assert_eq!((t.resumed_from, t.bytes, std::fs::metadata(&dest)?.len()), (2000, 3000, 5000));
/// let missing = local.path().join("missing.txt");
/// assert!(files::get_file(&client, endpoint(a, 80), "missing.txt", &missing, false, &mut |_, _| {}).is_err());
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
/// use layernet::host::{blocking::Net, files::{self, FileError, Options}, sim::{SimNet, endpoint}};
/// let local = tempfile::tempdir()?;
/// let (mut sim, a, b) = SimNet::pair(9)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 8>::new(), Limits::default())?;
/// sim.serve(a, Box::new(server));
/// let dest = local.path().join("part");
/// std::fs::write(&dest, b"half")?;
/// let got = files::get_file_with(&Net::new(sim).host(b), endpoint(a, 80), "part", &dest, true, &Options::default(), &mut |_, _| {});
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
/// use layernet::host::{blocking::Net, files::{self, Options}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(10)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 64>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let me = Options { user: Some("ann:pw"), ..Options::default() };
/// let t = files::put_with(&Net::new(sim).host(b), endpoint(a, 80), "n", &me, &mut &b"hi"[..], 2, &mut |_, _| {})?;
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
    let mut s = host.tcp_connect(server, Some(IO_TIMEOUT))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `python3 -m http.server` sends for a PUT (its 501 page).
    const PYTHON_501: &str = "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        <p>Error code: 501</p>\n        <p>Message: Unsupported method (&#x27;PUT&#x27;).</p>\n        <p>Error code explanation: 501 - Server does not support this operation.</p>\n    </body>\n</html>\n";

    #[test]
    fn error_pages_come_down_to_one_line() {
        assert_eq!(
            error_line(
                501,
                "Unsupported method ('PUT')",
                true,
                PYTHON_501.as_bytes()
            ),
            "501 Not Implemented: Unsupported method ('PUT')."
        );
        let nginx = b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(error_line(404, "Not Found", true, nginx), "404 Not Found");
        assert_eq!(
            error_line(403, "Forbidden", false, b"403 Forbidden: uploads are off; start serve with --writable, or --auth USER:PASS\n"),
            "403 Forbidden: uploads are off; start serve with --writable, or --auth USER:PASS"
        );
        assert_eq!(
            error_line(404, "Not Found", false, b"404 Not Found\n"),
            "404 Not Found"
        );
        assert_eq!(
            error_line(599, "Odd", false, b"\n  first\x1b[31m line \nsecond\n"),
            "599 Odd: first[31m line"
        );
        let long = "x".repeat(1000);
        let cut = error_line(500, "", false, long.as_bytes());
        assert_eq!(
            cut.len(),
            "500 Internal Server Error: ".len() + ERROR_LINE_MAX + 3
        );
        assert!(!cut.contains('\n'));
        assert_eq!(
            decode_entities("a &amp; b &#39;c&#x27; &bogus; &"),
            "a & b 'c' &bogus; &"
        );
    }

    #[test]
    fn credentials_and_accept_go_in_the_head() {
        let server = IpEndpoint::new(crate::IpAddress::v4(192, 168, 69, 1), 7878);
        let plain = request_head("GET", "", server, &Options::default(), "");
        assert_eq!(
            plain,
            "GET / HTTP/1.1\r\nHost: 192.168.69.1:7878\r\nUser-Agent: layernet\r\n\r\n"
        );
        let options = Options {
            user: Some("ann:pa:ss"),
            accept: Some("text/plain"),
        };
        let head = request_head("PUT", "a b", server, &options, "Content-Length: 0\r\n");
        assert!(head.starts_with("PUT /a%20b HTTP/1.1\r\n"), "{head}");
        // The password may hold colons: only the first one separates.
        assert!(
            head.contains("\r\nAuthorization: Basic YW5uOnBhOnNz\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nAccept: text/plain\r\n"), "{head}");
        assert!(head.ends_with("Content-Length: 0\r\n\r\n"), "{head}");
    }

    #[test]
    fn base64_pads_like_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain}");
        }
    }
}
