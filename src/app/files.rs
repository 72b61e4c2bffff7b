//! The file service: download and upload over an HTTP/1.1 subset, TCP port
//! 7878.
//!
//! Layer: app. Uses [`crate::socket`], a [`Storage`], and `httparse`
//! (no_std, no alloc) on a fixed header buffer.
//!
//! | request | answer |
//! |---|---|
//! | `GET /<name>` | 200 with Content-Length, the body streamed from storage; `Range: bytes=N-`, `N-M` or `-N` gives 206, a range at or past the end 416 |
//! | `GET /` | the listing, one `name size` line each, text/plain; text/html with links when Accept asks for HTML (chunked) |
//! | `HEAD` | the same head, no body |
//! | `PUT /<name>` | body (Content-Length required) streamed into an atomic upload; 201 new, 204 replaced; `Expect: 100-continue` answered first |
//! | `DELETE /<name>` | 204, or 404 |
//!
//! Errors get their status and a one-line body, and close the connection:
//! 400 malformed, 403 a name outside the root, 404, 405 (with Allow), 408
//! idle, 411 PUT without Content-Length, 413 body over the limit, 414
//! request line longer than the header buffer, 431 headers larger than it,
//! 500 storage failure, 507 storage full. Keep-alive is HTTP/1.1's default;
//! `Connection: close` (or HTTP/1.0 without keep-alive) closes after the
//! response. One connection's bad request never touches another's state.

use core::fmt::Write as _;

use smoltcp::time::{Duration, Instant};

use super::storage::{Name, NameError, Storage, StorageError, UploadId};
use super::{LOG_LINES, LogRing, Service, consume_front};
use crate::link::Link;
use crate::net::Stack;
use crate::socket::{EndpointText, Error, TcpListener, TcpStream};

/// Headers parsed per request at most; more gives 431.
///
/// # Example
///
/// ```
/// use std::io::Read;
/// use layernet::app::{files::{FileServer, Limits, MAX_HEADERS}, storage::RamStore};
/// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(1)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 7878, 1, RamStore::<1, 8>::new(), Limits::default())?;
/// sim.serve(a, Box::new(server));
/// let mut s = Net::new(sim).host(b).tcp_connect(endpoint(a, 7878), None)?;
/// let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
/// s.sendall(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes())?;
/// let mut status = [0u8; 12];
/// s.read_exact(&mut status)?;
/// assert_eq!(&status, b"HTTP/1.1 431");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_HEADERS: usize = 32;
/// Bytes of response staged per connection (a head, one body chunk, or one
/// listing entry: a 255-byte name escaped for a URL and for HTML fits).
///
/// # Example
///
/// ```
/// use layernet::app::{files::OUT_BUFFER, storage::NAME_MAX};
/// // The worst name: every byte escaped as `%XX` in the link, `&#39;` in the text.
/// assert!(OUT_BUFFER > NAME_MAX * 3 + NAME_MAX * 5 + 64);
/// ```
pub const OUT_BUFFER: usize = 2560;

/// The service's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
/// use layernet::host::{blocking::Net, files::{self, FileError}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(2)?;
/// let limits = Limits { max_body: 4, ..Limits::default() };
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 7878, 1, RamStore::<2, 64>::new(), limits)?;
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// let put = files::put(&client, endpoint(a, 7878), "big", &mut &b"12345"[..], 5, &mut |_, _| {});
/// assert!(matches!(put, Err(FileError::Status(413, _))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Limits {
    /// Largest upload accepted (413 above it).
    pub max_body: u64,
    /// A request head not complete this long after it could start (or an
    /// upload body with no byte for this long) gets 408.
    pub idle: Duration,
    /// A response that makes no progress this long is abandoned: the peer
    /// stopped reading. Longer than `idle`, because on a lossy link TCP's
    /// retransmission backoff alone can stall a healthy transfer for tens
    /// of seconds.
    pub stall: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1 << 30,
            idle: Duration::from_secs(30),
            stall: Duration::from_secs(120),
        }
    }
}

/// What the body of the response being sent comes from.
// No heap in the core: the name lives inline, once per connection.
#[allow(clippy::large_enum_variant)]
enum Body {
    None,
    File {
        name: Name,
        version: u64,
        offset: u64,
        end: u64,
    },
    Listing {
        index: usize,
        html: bool,
        done: bool,
    },
}

/// Where a connection stands.
#[allow(clippy::large_enum_variant)]
enum Phase {
    /// Reading a request head.
    Head,
    /// Streaming a PUT body into an upload.
    Upload {
        id: UploadId,
        remaining: u64,
        name: Name,
    },
    /// Sending a response; then back to `Head`, or closing.
    Respond,
}

struct Conn<const HDR: usize> {
    stream: TcpStream,
    inbuf: [u8; HDR],
    inlen: usize,
    out: [u8; OUT_BUFFER],
    outlen: usize,
    sent: usize,
    phase: Phase,
    body: Body,
    chunked: bool,
    close_after: bool,
    http10: bool,
    last_activity: Instant,
    eof: bool,
}

/// A response head being written into a connection's out buffer.
struct Head<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Head<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// What a parsed request asks for, copied out of the header buffer.
struct Request {
    method: Method,
    target: Result<Option<Name>, NameError>,
    http10: bool,
    content_length: Option<Result<u64, ()>>,
    chunked: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    range: Option<(Option<u64>, Option<u64>)>,
    html: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Put,
    Delete,
    Other,
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

fn header_is(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// `bytes=N-`, `bytes=N-M` or `bytes=-N`; anything else (several ranges,
/// other units) is ignored, as RFC 9110 allows, and the whole file is sent.
fn parse_range(value: &[u8]) -> Option<(Option<u64>, Option<u64>)> {
    let spec = value.trim_ascii().strip_prefix(b"bytes=")?;
    if spec.contains(&b',') {
        return None;
    }
    let dash = spec.iter().position(|&b| b == b'-')?;
    let num = |s: &[u8]| -> Option<Option<u64>> {
        let s = s.trim_ascii();
        if s.is_empty() {
            return Some(None);
        }
        core::str::from_utf8(s).ok()?.parse().ok().map(Some)
    };
    let (first, last) = (num(&spec[..dash])?, num(&spec[dash + 1..])?);
    if first.is_none() && last.is_none() {
        return None;
    }
    Some((first, last))
}

fn parse_request(req: &httparse::Request<'_, '_>) -> Request {
    let method = match req.method {
        Some("GET") => Method::Get,
        Some("HEAD") => Method::Head,
        Some("PUT") => Method::Put,
        Some("DELETE") => Method::Delete,
        _ => Method::Other,
    };
    let path = req.path.unwrap_or("");
    let target = if !path.starts_with('/') {
        Err(NameError::BadEncoding)
    } else {
        match Name::from_url_path(path) {
            Ok(n) => Ok(Some(n)),
            Err(NameError::Empty) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let mut r = Request {
        method,
        target,
        http10: req.version == Some(0),
        content_length: None,
        chunked: false,
        close: false,
        keep_alive: false,
        expect_continue: false,
        range: None,
        html: false,
    };
    for h in req.headers.iter() {
        let v = h.value;
        if h.name.eq_ignore_ascii_case("content-length") {
            let parsed = core::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or(());
            // Two different lengths make the framing ambiguous: refuse.
            r.content_length = match (r.content_length, parsed) {
                (None, p) => Some(p),
                (Some(Ok(a)), Ok(b)) if a == b => Some(Ok(a)),
                _ => Some(Err(())),
            };
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            r.chunked = true;
        } else if h.name.eq_ignore_ascii_case("connection") {
            r.close |= header_is(v, "close");
            r.keep_alive |= header_is(v, "keep-alive");
        } else if h.name.eq_ignore_ascii_case("expect") {
            r.expect_continue |= header_is(v, "100-continue");
        } else if h.name.eq_ignore_ascii_case("range") {
            r.range = parse_range(v);
        } else if h.name.eq_ignore_ascii_case("accept") {
            r.html |= v.windows(9).any(|w| w.eq_ignore_ascii_case(b"text/html"));
        }
    }
    r
}

/// Percent-encode a name for a URL path (unreserved characters stay).
///
/// # Errors
/// Whatever `out` fails with (for a fixed-size string: when it is full).
///
/// # Example
/// ```
/// use layernet::app::files::write_url;
/// let mut path = String::from("/");
/// write_url(&mut path, "my file (1).txt")?;
/// assert_eq!(path, "/my%20file%20%281%29.txt");
/// let mut tiny = heapless::String::<6>::new(); // room for one `%C3%A9`
/// assert!(write_url(&mut tiny, "é").is_ok() && write_url(&mut tiny, "é").is_err());
/// # Ok::<(), std::fmt::Error>(())
/// ```
pub fn write_url(out: &mut impl core::fmt::Write, name: &str) -> core::fmt::Result {
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.write_char(b as char)?;
        } else {
            write!(out, "%{b:02X}")?;
        }
    }
    Ok(())
}

fn write_html(out: &mut impl core::fmt::Write, name: &str) -> core::fmt::Result {
    for c in name.chars() {
        match c {
            '&' => out.write_str("&amp;")?,
            '<' => out.write_str("&lt;")?,
            '>' => out.write_str("&gt;")?,
            '"' => out.write_str("&quot;")?,
            '\'' => out.write_str("&#39;")?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

const HTML_TOP: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>layernet files</title></head>\n<body><h1>layernet files</h1><ul>\n";
const HTML_END: &str = "</ul></body></html>\n";

impl<const HDR: usize> Conn<HDR> {
    fn head(&mut self) -> Head<'_> {
        Head {
            buf: &mut self.out[..],
            len: 0,
        }
    }

    fn set_out(&mut self, len: usize) {
        self.outlen = len;
        self.sent = 0;
    }

    /// Stage a response head; `length` None means chunked.
    fn respond(&mut self, status: u16, content_type: &str, length: Option<u64>, extra: &str) {
        // HTTP/1.0 clients keep a connection only when told so.
        let connection = match (self.close_after, self.http10) {
            (true, _) => "Connection: close\r\n",
            (false, true) => "Connection: keep-alive\r\n",
            (false, false) => "",
        };
        let mut h = self.head();
        let _ = write!(
            h,
            "HTTP/1.1 {status} {}\r\nServer: layernet\r\n",
            reason(status)
        );
        if !content_type.is_empty() {
            let _ = write!(h, "Content-Type: {content_type}\r\n");
        }
        match length {
            Some(n) => {
                let _ = write!(h, "Content-Length: {n}\r\n");
            }
            None => {
                let _ = h.write_str("Transfer-Encoding: chunked\r\n");
            }
        }
        let _ = write!(h, "{extra}{connection}\r\n");
        let len = h.len;
        self.set_out(len);
        self.chunked = length.is_none();
        self.phase = Phase::Respond;
    }

    /// An error: status, one-line body, close.
    fn fail(&mut self, status: u16, extra: &str) {
        self.close_after = true;
        self.body = Body::None;
        let mut line: heapless::String<64> = heapless::String::new();
        let _ = writeln!(line, "{status} {}", reason(status));
        self.respond(
            status,
            "text/plain; charset=utf-8",
            Some(line.len() as u64),
            extra,
        );
        let end = self.outlen + line.len();
        if let Some(dst) = self.out.get_mut(self.outlen..end) {
            dst.copy_from_slice(line.as_bytes());
            self.outlen = end;
        }
    }
}

/// The file server: `CONNS` connections at once, request heads up to `HDR`
/// bytes, files from `S`.
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
/// use layernet::host::{blocking::Net, files, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(3)?;
/// let store = RamStore::<4, 1024>::new();
/// let server = FileServer::<_, 2>::bind(sim.stack(a), 7878, 2, store, Limits::default())?;
/// sim.serve(a, Box::new(server));
/// let (client, at) = (Net::new(sim).host(b), endpoint(a, 7878));
/// files::put(&client, at, "notes.txt", &mut &b"remember"[..], 8, &mut |_, _| {})?;
/// let mut back = Vec::new();
/// files::get(&client, at, "notes.txt", 0, &mut back, &mut |_, _| {})?;
/// assert_eq!(back, b"remember");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FileServer<
    S: Storage,
    const CONNS: usize,
    const HDR: usize = 1024,
    const LOG: usize = LOG_LINES,
> {
    listener: TcpListener,
    storage: S,
    limits: Limits,
    conns: heapless::Vec<Conn<HDR>, CONNS>,
    requests: u64,
    log: LogRing<LOG>,
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize>
    FileServer<S, CONNS, HDR, LOG>
{
    /// Serve `storage` on `port`.
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`]: [`Error::AddrInUse`] if the port is taken,
    /// [`Error::InvalidInput`] for port 0 or a backlog of 0 or over 255,
    /// [`Error::NoBufferSpace`] if the stack serves too many ports already.
    ///
    /// # Example
    /// ```
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::Error;
    /// let (mut net, a, _) = SimNet::pair(4)?;
    /// let store = RamStore::<1, 16>::new();
    /// let huge_backlog = FileServer::<_, 1>::bind(net.stack(a), 7878, 1000, store, Limits::default());
    /// assert_eq!(huge_backlog.err(), Some(Error::InvalidInput));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind<D: Link>(
        stack: &mut Stack<'_, D>,
        port: u16,
        backlog: usize,
        storage: S,
        limits: Limits,
    ) -> Result<Self, Error> {
        Ok(FileServer {
            listener: TcpListener::bind(stack, port, backlog)?,
            storage,
            limits,
            conns: heapless::Vec::new(),
            requests: 0,
            log: LogRing::new(),
        })
    }

    /// The store served.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::{files::{FileServer, Limits}, storage::{Name, RamStore, Storage}};
    /// use layernet::host::{blocking::Net, files, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(5)?;
    /// let store = RamStore::<2, 64>::new();
    /// let server = Rc::new(RefCell::new(FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?));
    /// sim.serve(a, Box::new(server.clone()));
    /// files::put(&Net::new(sim).host(b), endpoint(a, 80), "up", &mut &b"loaded"[..], 6, &mut |_, _| {})?;
    /// let size = server.borrow_mut().storage().stat(&Name::new("up")?)?.size;
    /// assert_eq!(size, 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn storage(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Requests answered so far.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::{blocking::Net, files, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(6)?;
    /// let store = RamStore::<2, 64>::new();
    /// let server = Rc::new(RefCell::new(FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?));
    /// sim.serve(a, Box::new(server.clone()));
    /// let missing = files::get(&Net::new(sim).host(b), endpoint(a, 80), "nope", 0, &mut Vec::new(), &mut |_, _| {});
    /// assert!(missing.is_err(), "404");
    /// assert_eq!(server.borrow().requests(), 1, "an error is an answer too");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Connections open now.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::{blocking::Net, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(7)?;
    /// let store = RamStore::<1, 8>::new();
    /// let server = Rc::new(RefCell::new(FileServer::<_, 2>::bind(sim.stack(a), 80, 2, store, Limits::default())?));
    /// sim.serve(a, Box::new(server.clone()));
    /// let net = Net::new(sim);
    /// let _idle = net.host(b).tcp_connect(endpoint(a, 80), None)?; // connected, no request yet
    /// net.with(|sim| sim.run_for(layernet::Duration::from_millis(5)));
    /// assert_eq!(server.borrow().active(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn active(&self) -> usize {
        self.conns.len()
    }

    /// Act on a complete request head (already consumed from `inbuf`).
    fn start(&mut self, i: usize, r: Request) {
        self.requests += 1;
        let storage = &mut self.storage;
        let limits = self.limits;
        let c = &mut self.conns[i];
        c.close_after = r.close || (r.http10 && !r.keep_alive);
        c.http10 = r.http10;
        c.body = Body::None;
        // Only PUT carries a body here; one on another method would be read
        // as the next request, so it is refused (and the connection closed).
        let has_body = r.chunked || matches!(r.content_length, Some(Ok(n)) if n > 0);
        if r.method != Method::Put && (has_body || matches!(r.content_length, Some(Err(())))) {
            return c.fail(400, "");
        }
        let target = match r.target {
            Ok(t) => t,
            Err(NameError::BadEncoding) => return c.fail(400, ""),
            Err(_) => return c.fail(403, ""),
        };
        match (r.method, target) {
            (Method::Get | Method::Head, None) => {
                let html = r.html;
                let ctype = if html {
                    "text/html; charset=utf-8"
                } else {
                    "text/plain; charset=utf-8"
                };
                if r.http10 {
                    // No chunked encoding in HTTP/1.0: the close ends the body.
                    c.close_after = true;
                    let mut h = c.head();
                    let _ = write!(
                        h,
                        "HTTP/1.1 200 OK\r\nServer: layernet\r\nContent-Type: {ctype}\r\nConnection: close\r\n\r\n"
                    );
                    let len = h.len;
                    c.set_out(len);
                    c.chunked = false;
                    c.phase = Phase::Respond;
                } else {
                    c.respond(200, ctype, None, "");
                }
                if r.method == Method::Get {
                    c.body = Body::Listing {
                        index: 0,
                        html,
                        done: false,
                    };
                } else if c.chunked {
                    // HEAD of a chunked listing: no body at all.
                    c.chunked = false;
                }
            }
            (Method::Get | Method::Head, Some(name)) => {
                let (size, version) = match storage.stat(&name) {
                    Ok(info) => (info.size, info.version),
                    Err(StorageError::NotFound) => return c.fail(404, ""),
                    Err(StorageError::Forbidden) => return c.fail(403, ""),
                    Err(_) => return c.fail(500, ""),
                };
                let (status, start, end) = match r.range {
                    None => (200, 0, size),
                    Some((Some(first), last)) if first < size => {
                        let end = last.map_or(size, |l| l.saturating_add(1).min(size));
                        if end <= first {
                            let mut extra: heapless::String<64> = heapless::String::new();
                            let _ = write!(extra, "Content-Range: bytes */{size}\r\n");
                            return c.fail(416, &extra);
                        }
                        (206, first, end)
                    }
                    Some((None, Some(suffix))) if suffix > 0 && size > 0 => {
                        (206, size - suffix.min(size), size)
                    }
                    Some(_) => {
                        let mut extra: heapless::String<64> = heapless::String::new();
                        let _ = write!(extra, "Content-Range: bytes */{size}\r\n");
                        return c.fail(416, &extra);
                    }
                };
                let mut extra: heapless::String<96> = heapless::String::new();
                let _ = extra.push_str("Accept-Ranges: bytes\r\n");
                if status == 206 {
                    let _ = write!(extra, "Content-Range: bytes {start}-{}/{size}\r\n", end - 1);
                }
                c.respond(
                    status,
                    "application/octet-stream",
                    Some(end - start),
                    &extra,
                );
                if r.method == Method::Get && end > start {
                    c.body = Body::File {
                        name,
                        version,
                        offset: start,
                        end,
                    };
                }
            }
            (Method::Put, None) => c.fail(405, "Allow: GET, HEAD\r\n"),
            (Method::Put, Some(name)) => {
                if r.chunked {
                    return c.fail(411, "");
                }
                let len = match r.content_length {
                    None => return c.fail(411, ""),
                    Some(Err(())) => return c.fail(400, ""),
                    Some(Ok(len)) => len,
                };
                if len > limits.max_body {
                    return c.fail(413, "");
                }
                let id = match storage.begin_upload(&name, len) {
                    Ok(id) => id,
                    Err(StorageError::Full) => return c.fail(507, ""),
                    Err(StorageError::TooLarge) => return c.fail(413, ""),
                    Err(StorageError::Forbidden) => return c.fail(403, ""),
                    Err(_) => return c.fail(500, ""),
                };
                c.phase = Phase::Upload {
                    id,
                    remaining: len,
                    name,
                };
                if r.expect_continue {
                    let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
                    c.out[..cont.len()].copy_from_slice(cont);
                    c.set_out(cont.len());
                }
            }
            (Method::Delete, None) => c.fail(405, "Allow: GET, HEAD\r\n"),
            (Method::Delete, Some(name)) => match storage.remove(&name) {
                Ok(()) => c.respond(204, "", Some(0), ""),
                Err(StorageError::NotFound) => c.fail(404, ""),
                Err(StorageError::Forbidden) => c.fail(403, ""),
                Err(_) => c.fail(500, ""),
            },
            (Method::Other, _) => c.fail(405, "Allow: GET, HEAD, PUT, DELETE\r\n"),
        }
    }

    /// Stage the next piece of the response body; false when it is done.
    fn refill(&mut self, i: usize) -> bool {
        let storage = &mut self.storage;
        let c = &mut self.conns[i];
        match &mut c.body {
            Body::None => false,
            Body::File {
                name,
                version,
                offset,
                end,
            } => {
                if *offset >= *end {
                    return false;
                }
                // Replaced since the head went out? Then the promised bytes
                // no longer exist: end the connection rather than mix two
                // files under one 200.
                if storage.stat(name).map(|i| i.version) != Ok(*version) {
                    c.close_after = true;
                    c.eof = true;
                    return false;
                }
                let want = usize::try_from(*end - *offset)
                    .unwrap_or(usize::MAX)
                    .min(OUT_BUFFER);
                match storage.read_at(name, *offset, &mut c.out[..want]) {
                    Ok(n) if n > 0 => {
                        *offset += n as u64;
                        c.outlen = n;
                        c.sent = 0;
                        true
                    }
                    // The file shrank or vanished under us: the promised
                    // length cannot be kept, so the connection must end.
                    _ => {
                        c.close_after = true;
                        c.eof = true;
                        false
                    }
                }
            }
            Body::Listing { index, html, done } => {
                if *done {
                    return false;
                }
                // The entry is written at out[PRE..]; when chunked, its size
                // line goes right before it and "\r\n" (and, at the end, the
                // last chunk "0\r\n\r\n") after it: no copying.
                const PRE: usize = 8;
                let html = *html;
                let mut w = Head {
                    buf: &mut c.out[PRE..OUT_BUFFER - 7],
                    len: 0,
                };
                if html && *index == 0 {
                    let _ = w.write_str(HTML_TOP);
                }
                match storage.entry(*index) {
                    Some((name, size)) => {
                        *index += 1;
                        if html {
                            let _ = w.write_str("<li><a href=\"");
                            let _ = write_url(&mut w, name.as_str());
                            let _ = w.write_str("\">");
                            let _ = write_html(&mut w, name.as_str());
                            let _ = writeln!(w, "</a> {size}</li>");
                        } else {
                            let _ = writeln!(w, "{name} {size}");
                        }
                    }
                    None => {
                        *done = true;
                        if html {
                            let _ = w.write_str(HTML_END);
                        }
                    }
                }
                let n = w.len;
                let (mut start, mut end) = (PRE, PRE + n);
                if c.chunked {
                    if n > 0 {
                        let mut size: heapless::String<8> = heapless::String::new();
                        let _ = write!(size, "{n:x}\r\n");
                        start = PRE - size.len();
                        c.out[start..PRE].copy_from_slice(size.as_bytes());
                        c.out[end..end + 2].copy_from_slice(b"\r\n");
                        end += 2;
                    }
                    if *done {
                        c.out[end..end + 5].copy_from_slice(b"0\r\n\r\n");
                        end += 5;
                    }
                }
                c.sent = start;
                c.outlen = end;
                end > start
            }
        }
    }
}

impl<D: Link, S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize> Service<D>
    for FileServer<S, CONNS, HDR, LOG>
{
    fn poll(&mut self, stack: &mut Stack<'_, D>, now: Instant) -> bool {
        let mut progress = false;
        while !self.conns.is_full() {
            let Ok((stream, peer)) = self.listener.accept(stack) else {
                break;
            };
            self.log
                .push(format_args!("files: connected by {}", EndpointText(peer)));
            let _ = self.conns.push(Conn {
                stream,
                inbuf: [0; HDR],
                inlen: 0,
                out: [0; OUT_BUFFER],
                outlen: 0,
                sent: 0,
                phase: Phase::Head,
                body: Body::None,
                chunked: false,
                close_after: false,
                http10: false,
                last_activity: now,
                eof: false,
            });
            progress = true;
        }
        let mut i = 0;
        while i < self.conns.len() {
            let (moved, done) = self.serve(i, stack, now);
            progress |= moved;
            if done {
                let c = self.conns.swap_remove(i);
                if let Phase::Upload { id, .. } = c.phase {
                    self.storage.abort(id);
                }
                c.stream.close(stack);
                progress = true;
            } else {
                i += 1;
            }
        }
        progress
    }

    fn poll_at(&self) -> Option<Instant> {
        self.conns
            .iter()
            .map(|c| {
                let limit = if c.sent < c.outlen {
                    self.limits.stall
                } else {
                    self.limits.idle
                };
                c.last_activity + limit
            })
            .min()
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.log.drain(sink);
    }

    /// Stop listening; responses being sent may finish (the event loop's
    /// grace period decides how long), uploads in progress are abandoned
    /// (their temporary files removed), idle connections close now.
    fn shutdown(&mut self, stack: &mut Stack<'_, D>) {
        self.listener.stop(stack);
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            let sending = matches!(c.phase, Phase::Respond) || c.sent < c.outlen;
            if sending {
                c.close_after = true;
                i += 1;
                continue;
            }
            let c = self.conns.swap_remove(i);
            if let Phase::Upload { id, .. } = c.phase {
                self.storage.abort(id);
            }
            c.stream.close(stack);
        }
    }
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize>
    FileServer<S, CONNS, HDR, LOG>
{
    /// Move connection `i` along as far as it goes now. Returns (progress,
    /// finished).
    fn serve<D: Link>(&mut self, i: usize, stack: &mut Stack<'_, D>, now: Instant) -> (bool, bool) {
        let mut progress = false;
        // Bounded: every round sends, reads, or changes phase; a connection
        // gets a fair share and the others their turn.
        for _ in 0..64 {
            let c = &mut self.conns[i];
            // 1. What is staged goes out first.
            if c.sent < c.outlen {
                match c.stream.send(stack, &c.out[c.sent..c.outlen]) {
                    Ok(n) => {
                        c.sent += n;
                        progress |= n > 0;
                        if n > 0 {
                            c.last_activity = now;
                        }
                        if c.sent < c.outlen {
                            return (progress, false);
                        }
                    }
                    // A peer that stops reading for `idle` loses the
                    // connection: it must not hold a slot for ever.
                    Err(Error::WouldBlock) if now >= c.last_activity + self.limits.stall => {
                        return (true, true);
                    }
                    Err(Error::WouldBlock) => return (progress, false),
                    Err(_) => return (true, true),
                }
            }
            if let Phase::Respond = c.phase {
                if self.refill(i) {
                    continue;
                }
                let c = &mut self.conns[i];
                if c.close_after || c.eof {
                    // Everything is queued; close() still delivers it.
                    return (true, true);
                }
                c.phase = Phase::Head;
                c.last_activity = now;
                progress = true;
                continue;
            }
            if let Phase::Upload { id, remaining, .. } = &mut c.phase {
                // Bytes that came with the head go first, then the socket.
                if c.inlen == 0 && *remaining > 0 && !c.eof {
                    let want = usize::try_from(*remaining).unwrap_or(usize::MAX).min(HDR);
                    match c.stream.recv(stack, &mut c.inbuf[..want]) {
                        Ok(0) => c.eof = true,
                        Ok(n) => {
                            c.inlen = n;
                            c.last_activity = now;
                        }
                        Err(Error::WouldBlock) => {}
                        Err(_) => return (true, true),
                    }
                }
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(c.inlen);
                if take > 0 {
                    let (id, rem) = (*id, *remaining);
                    let written = self.storage.write(id, &self.conns[i].inbuf[..take]);
                    let c = &mut self.conns[i];
                    c.inlen = consume_front(&mut c.inbuf, c.inlen, take);
                    if written.is_err() {
                        self.storage.abort(id);
                        let status = if written == Err(StorageError::Full) {
                            507
                        } else {
                            500
                        };
                        c.phase = Phase::Head;
                        c.fail(status, "");
                        continue;
                    }
                    if let Phase::Upload { remaining, .. } = &mut c.phase {
                        *remaining = rem - take as u64;
                    }
                    progress = true;
                    continue;
                }
                let c = &mut self.conns[i];
                if let Phase::Upload {
                    id,
                    remaining: 0,
                    name,
                } = &c.phase
                {
                    let (id, name) = (*id, name.clone());
                    let committed = self.storage.commit(id);
                    let c = &mut self.conns[i];
                    match committed {
                        Ok(replaced) => {
                            self.log.push(format_args!("files: stored {name}"));
                            let status = if replaced { 204 } else { 201 };
                            c.respond(status, "", Some(0), "");
                        }
                        Err(StorageError::Full) => c.fail(507, ""),
                        Err(_) => c.fail(500, ""),
                    }
                    progress = true;
                    continue;
                }
                if c.eof {
                    // The client went away mid-body: the upload is dropped
                    // (aborted when the connection is removed).
                    return (true, true);
                }
                if now >= c.last_activity + self.limits.idle {
                    if let Phase::Upload { id, .. } = c.phase {
                        self.storage.abort(id);
                    }
                    let c = &mut self.conns[i];
                    c.phase = Phase::Head;
                    c.fail(408, "");
                    continue;
                }
                return (progress, false);
            }
            // Phase::Head: parse what we have, else read more.
            let c = &mut self.conns[i];
            if c.inlen > 0 {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut req = httparse::Request::new(&mut headers);
                match req.parse(&c.inbuf[..c.inlen]) {
                    Ok(httparse::Status::Complete(n)) => {
                        let r = parse_request(&req);
                        c.inlen = consume_front(&mut c.inbuf, c.inlen, n);
                        c.last_activity = now;
                        self.start(i, r);
                        progress = true;
                        continue;
                    }
                    Ok(httparse::Status::Partial) if c.inlen == HDR => {
                        let line_done = c.inbuf.windows(2).any(|w| w == b"\r\n");
                        c.inlen = 0;
                        c.fail(if line_done { 431 } else { 414 }, "");
                        continue;
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(httparse::Error::TooManyHeaders) => {
                        c.inlen = 0;
                        c.fail(431, "");
                        continue;
                    }
                    Err(_) => {
                        c.inlen = 0;
                        c.fail(400, "");
                        continue;
                    }
                }
            }
            if c.eof {
                return (true, true);
            }
            match c.stream.recv(stack, &mut c.inbuf[c.inlen..]) {
                Ok(0) => {
                    c.eof = true;
                    progress = true;
                }
                Ok(n) => {
                    // The clock is not reset here: a request head must be
                    // complete within `idle` of its start, so a client that
                    // trickles a byte at a time (slowloris) still gets 408.
                    c.inlen += n;
                    progress = true;
                }
                Err(Error::WouldBlock) => {
                    if now >= c.last_activity + self.limits.idle {
                        c.inlen = 0;
                        c.fail(408, "");
                        continue;
                    }
                    return (progress, false);
                }
                Err(_) => return (true, true),
            }
        }
        (progress, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Option<Request> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(raw) {
            Ok(httparse::Status::Complete(_)) => Some(parse_request(&req)),
            _ => None,
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(b"bytes=10-"), Some((Some(10), None)));
        assert_eq!(parse_range(b"bytes=10-19"), Some((Some(10), Some(19))));
        assert_eq!(parse_range(b"bytes=-5"), Some((None, Some(5))));
        assert_eq!(parse_range(b"bytes=-"), None);
        assert_eq!(parse_range(b"bytes=1-2,4-5"), None);
        assert_eq!(parse_range(b"items=1-"), None);
        assert_eq!(parse_range(b"bytes=x-"), None);
    }

    #[test]
    fn request_fields() {
        let r = parse(b"PUT /a%20b HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n").unwrap();
        assert!(r.method == Method::Put && r.expect_continue && r.close);
        assert_eq!(r.content_length, Some(Ok(5)));
        assert_eq!(r.target.unwrap().unwrap().as_str(), "a b");
        let r = parse(b"GET / HTTP/1.0\r\nAccept: text/html,*/*\r\n\r\n").unwrap();
        assert!(r.http10 && r.html && r.target == Ok(None));
        let r =
            parse(b"PUT /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").unwrap();
        assert_eq!(r.content_length, Some(Err(())));
        let r = parse(b"GET /../x HTTP/1.1\r\n\r\n").unwrap();
        assert!(r.target.is_err());
    }

    #[test]
    fn truncated_oversized_and_garbage_heads_never_panic() {
        let good = b"GET /file.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=3-\r\nAccept: */*\r\n\r\n";
        for cut in 0..good.len() {
            let _ = parse(&good[..cut]);
        }
        let mut rng = crate::link::rng::Rng::new(5);
        for _ in 0..20_000 {
            let mut buf = *good;
            for _ in 0..1 + rng.below(6) {
                let at = rng.below(buf.len() as u64) as usize;
                buf[at] = rng.next_u64() as u8;
            }
            let _ = parse(&buf);
            let _ = parse_range(&buf[..rng.below(buf.len() as u64) as usize]);
        }
    }

    #[test]
    fn html_and_url_escaping() {
        let mut s: heapless::String<64> = heapless::String::new();
        write_html(&mut s, "<a&b>\"'").unwrap();
        assert_eq!(s, "&lt;a&amp;b&gt;&quot;&#39;");
        let mut s: heapless::String<64> = heapless::String::new();
        write_url(&mut s, "a b/\u{e9}").unwrap();
        assert_eq!(s, "a%20b%2F%C3%A9");
    }
}
