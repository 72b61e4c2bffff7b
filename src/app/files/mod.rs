//! The file service: download and upload over an HTTP/1.1 subset, TCP port
//! 7878.
//!
//! Layer: app. Uses [`crate::socket`], a [`Storage`], and `httparse`
//! (no_std, no alloc) on a fixed header buffer.
//!
//! | request | answer |
//! |---|---|
//! | `GET /<name>` | 200 with Content-Length, the body read from storage straight into the socket's send buffer; `Range: bytes=N-`, `N-M` or `-N` gives 206, a range at or past the end 416 |
//! | `GET /` | the listing: HTML with a link per file (chunked), or one `name size` line each as text/plain when Accept asks for text/plain and not HTML |
//! | `HEAD` | the same head, no body |
//! | `PUT /<name>` | body (Content-Length, or `Transfer-Encoding: chunked`) written from the socket's receive buffer straight into an atomic upload; 201 new, 204 replaced; `Expect: 100-continue` answered first |
//! | `DELETE /<name>` | 204, or 404 |
//!
//! Who may read and write is the [`Policy`] the owner gives: by default
//! anyone reads and nobody writes (PUT and DELETE get 403 with the
//! policy's one-line refusal). With [`Access::Users`], requests need HTTP
//! Basic credentials that the policy's [`Authenticate`] accepts, else 401
//! with `WWW-Authenticate: Basic realm="layernet"`; every wrong password
//! is counted, and a peer's further ones are answered ever later.
//!
//! Errors get their status and a one-line body, and close the connection:
//! 400 malformed (bad chunk framing too), 401, 403 a name outside the root
//! or a write the policy refuses, 404, 405 (with Allow), 408 a request
//! head or upload body that stalls, 411 PUT without a length, 413 body
//! over the limit, 414 request line longer than the header buffer, 431
//! headers larger than it, 500 storage failure, 501 a transfer coding
//! other than chunked, 507 storage full. Keep-alive is HTTP/1.1's default;
//! `Connection: close` (or HTTP/1.0 without keep-alive) closes after the
//! response, and a kept-alive connection that sends nothing for
//! [`Limits::idle`] is closed with FIN. One connection's bad request never
//! touches another's state.
//!
//! With the access log on ([`FileServer::with_access_log`]) every answered
//! request leaves one line in the log ring, `access: PEER METHOD PATH
//! STATUS BYTES DURATIONms`; a full ring holds back new requests until
//! the host drains it, so no line is lost.

mod chunked;
mod http;
mod policy;

use core::fmt::Write as _;

use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpEndpoint;

use self::chunked::{BadFraming, Chunked};
#[cfg(feature = "std")]
pub(crate) use self::http::standard_reason;
pub use self::http::write_url;
use self::http::{
    HTML_END, HTML_TOP, LOGGED_PATH, Method, Request, Staged, parse_request, reason, write_html,
};
use self::policy::Throttle;
pub use self::policy::{Access, Authenticate, Policy, ct_eq};
use super::server::{Connection, Connections, Step};
use super::storage::{FileNameError, Name, Storage, StorageError, UploadId};
use super::{LOG_LINES, Service, consume_front};
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
/// Bytes of response staged per connection: a head, or one listing entry
/// (a 255-byte name escaped for a URL and for HTML fits). File bytes are
/// not staged: they go from storage straight into the socket.
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
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, files::{self, FileError}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(2)?;
/// let limits = Limits { max_body: 4, ..Limits::default() };
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 7878, 1, RamStore::<2, 64>::new(), limits)?
///     .with_policy(Policy::WRITABLE);
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

/// How an upload's body ends.
#[derive(Clone, Copy)]
enum Framing {
    /// Content-Length: bytes still to come.
    Length(u64),
    /// Transfer-Encoding: chunked, decoded as it comes.
    Chunked(Chunked),
}

impl Framing {
    fn done(&self) -> bool {
        matches!(self, Framing::Length(0) | Framing::Chunked(Chunked::Done))
    }
}

/// Where a connection stands.
#[allow(clippy::large_enum_variant)]
enum Phase {
    /// Reading a request head.
    Head,
    /// Streaming a PUT body into an upload.
    Upload {
        id: UploadId,
        framing: Framing,
        name: Name,
    },
    /// Sending a response; then back to `Head`, or closing.
    Respond,
}

/// Why an upload's body stopped short.
enum UploadError {
    Framing,
    TooLarge,
    Storage(StorageError),
}

/// The request being answered, for the access log.
struct Entry {
    method: Method,
    path: heapless::String<LOGGED_PATH>,
    /// 0 until a response is staged.
    status: u16,
    /// Body bytes sent (GET) or received (PUT).
    bytes: u64,
    started: Instant,
}

struct Conn<const HDR: usize> {
    stream: TcpStream,
    peer: IpEndpoint,
    inbuf: [u8; HDR],
    inlen: usize,
    /// A response head, or one listing entry; file bytes never pass here.
    out: [u8; OUT_BUFFER],
    outlen: usize,
    sent: usize,
    phase: Phase,
    body: Body,
    chunked: bool,
    close_after: bool,
    http10: bool,
    last_activity: Instant,
    /// A 401 for a peer that guesses passwords waits until then.
    hold_until: Option<Instant>,
    eof: bool,
    entry: Option<Entry>,
}

impl<const HDR: usize> Connection for Conn<HDR> {
    fn into_stream(self) -> TcpStream {
        self.stream
    }
}

impl<const HDR: usize> Conn<HDR> {
    fn head(&mut self) -> Staged<'_> {
        Staged {
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
        if let Some(e) = &mut self.entry {
            e.status = status;
        }
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
        let mut line: heapless::String<64> = heapless::String::new();
        let _ = write!(line, "{status} {}", reason(status));
        self.fail_with(status, extra, &line);
    }

    /// An error with `text` as its body line (cut to what the buffer holds).
    fn fail_with(&mut self, status: u16, extra: &str, text: &str) {
        self.close_after = true;
        self.body = Body::None;
        let text = text.lines().next().unwrap_or("");
        let room = OUT_BUFFER / 2;
        let mut cut = text.len().min(room);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = &text[..cut];
        self.respond(
            status,
            "text/plain; charset=utf-8",
            Some(text.len() as u64 + 1),
            extra,
        );
        let end = self.outlen + text.len() + 1;
        if let Some(dst) = self.out.get_mut(self.outlen..end) {
            dst[..text.len()].copy_from_slice(text.as_bytes());
            dst[text.len()] = b'\n';
            self.outlen = end;
        }
    }
}

/// What a step of a response body did.
enum Sent {
    /// Bytes went out; there may be more to send.
    Some,
    /// The send buffer is full.
    Blocked,
    /// The body is complete.
    Done,
    /// The connection cannot go on (reset, or the file changed under us).
    Broken,
}

const WWW_AUTHENTICATE: &str = "WWW-Authenticate: Basic realm=\"layernet\"\r\n";

/// The file server: `CONNS` connections at once, request heads up to `HDR`
/// bytes, files from `S`.
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, files, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(3)?;
/// let store = RamStore::<4, 1024>::new();
/// let server = FileServer::<_, 2>::bind(sim.stack(a), 7878, 2, store, Limits::default())?
///     .with_policy(Policy::WRITABLE); // read-only unless told
/// sim.serve(a, Box::new(server));
/// let (client, at) = (Net::new(sim).host(b), endpoint(a, 7878));
/// files::put(&client, at, "notes.txt", &mut &b"remember"[..], 8, &mut |_, _| {})?;
/// let mut back = Vec::new();
/// files::get(&client, at, "notes.txt", 0, &mut back, &mut |_, _| {})?;
/// assert_eq!(back, b"remember");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped server keeps its listener and connections: call `Service::shutdown` first"]
pub struct FileServer<
    S: Storage,
    const CONNS: usize,
    const HDR: usize = 1024,
    const LOG: usize = LOG_LINES,
> {
    server: Connections<Conn<HDR>, CONNS, LOG>,
    storage: S,
    limits: Limits,
    policy: Policy,
    /// Connections served at once (at most `CONNS`).
    max_conns: usize,
    access_log: bool,
    requests: u64,
    throttle: Throttle,
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
    pub fn bind(
        stack: &mut Stack<'_>,
        port: u16,
        backlog: usize,
        storage: S,
        limits: Limits,
    ) -> Result<Self, Error> {
        Ok(FileServer {
            server: Connections::new(TcpListener::bind(stack, port, backlog)?),
            storage,
            limits,
            policy: Policy::READ_ONLY,
            max_conns: CONNS,
            access_log: false,
            requests: 0,
            throttle: Throttle::new(),
        })
    }

    /// Who may read and write (read-only, [`Policy::READ_ONLY`], unless
    /// this says otherwise).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
    /// use layernet::host::{blocking::Net, files::{self, FileError}, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(3)?;
    /// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 64>::new(), Limits::default())?;
    /// sim.serve(a, Box::new(server)); // the default policy
    /// let put = files::put(&Net::new(sim).host(b), endpoint(a, 80), "x", &mut &b"1"[..], 1, &mut |_, _| {});
    /// assert!(matches!(put, Err(FileError::Status(403, _))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Serve at most `n` connections at once (1 to `CONNS`); further
    /// clients wait in the listener's backlog.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(3)?;
    /// let server = FileServer::<_, 64>::bind(net.stack(a), 80, 4, RamStore::<1, 8>::new(), Limits::default())?;
    /// assert_eq!(server.with_max_connections(1000).max_connections(), 64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_conns = n.clamp(1, CONNS);
        self
    }

    /// Connections served at once at most.
    ///
    /// ```
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(3)?;
    /// let server = FileServer::<_, 8>::bind(net.stack(a), 80, 2, RamStore::<1, 8>::new(), Limits::default())?;
    /// assert_eq!(server.max_connections(), 8, "CONNS unless told");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_connections(&self) -> usize {
        self.max_conns
    }

    /// Log one line per request (`access: PEER METHOD PATH STATUS BYTES
    /// DURATIONms`, see the module doc). The lines are kept until the host
    /// drains them: with the access log on, a full ring holds back new
    /// requests rather than drop a line, so the host must drain.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::{Service, files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::{blocking::Net, files, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(3)?;
    /// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 8>::new(), Limits::default())?
    ///     .with_access_log(true);
    /// let server = Rc::new(RefCell::new(server));
    /// sim.serve(a, Box::new(server.clone()));
    /// let _ = files::get(&Net::new(sim).host(b), endpoint(a, 80), "nope", 0, &mut Vec::new(), &mut |_, _| {});
    /// let mut lines = Vec::new();
    /// server.borrow_mut().drain_log(&mut |l| lines.push(l.to_owned()));
    /// let access: Vec<_> = lines.iter().filter(|l| l.starts_with("access: ")).collect();
    /// assert_eq!(access.len(), 1);
    /// assert!(access[0].contains(" GET /nope 404 0 "), "{}", access[0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Wrong passwords received so far (all peers).
    ///
    /// ```
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(3)?;
    /// let server = FileServer::<_, 1>::bind(net.stack(a), 80, 1, RamStore::<1, 8>::new(), Limits::default())?;
    /// assert_eq!(server.auth_failures(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auth_failures(&self) -> u64 {
        self.throttle.failures()
    }

    /// The store served.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::{files::{FileServer, Limits, Policy}, storage::{Name, RamStore, Storage}};
    /// use layernet::host::{blocking::Net, files, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(5)?;
    /// let store = RamStore::<2, 64>::new();
    /// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?;
    /// let server = Rc::new(RefCell::new(server.with_policy(Policy::WRITABLE)));
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
        self.server.conns.len()
    }

    /// Hand the log's lines to `sink` (as [`Service::drain_log`] does).
    ///
    /// ```
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(3)?;
    /// let mut server = FileServer::<_, 1>::bind(net.stack(a), 80, 1, RamStore::<1, 8>::new(), Limits::default())?;
    /// server.drain_log(&mut |_| panic!("nothing happened yet"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.server.drain_log(sink);
    }

    /// Whether `c`'s request passes the policy: `Err` with the answer
    /// staged if not.
    fn admit(&mut self, i: usize, r: &Request, now: Instant) -> Result<(), ()> {
        if r.method == Method::Other {
            // 405 whoever asks: nothing to protect.
            return Ok(());
        }
        let c = &mut self.server.conns[i];
        match self.policy.rule(r.method.writes()) {
            Access::Anyone => Ok(()),
            Access::Nobody => {
                let text = if self.policy.refusal.is_empty() {
                    "403 Forbidden"
                } else {
                    self.policy.refusal
                };
                c.fail_with(403, "", text);
                Err(())
            }
            Access::Users => {
                let ok = match (&r.credentials, self.policy.users) {
                    (Some(Ok(cred)), Some(users)) => {
                        let colon = cred.iter().position(|&b| b == b':');
                        colon.is_some_and(|at| users.check(&cred[..at], &cred[at + 1..]))
                    }
                    _ => false,
                };
                if ok {
                    self.throttle.pass(c.peer.addr);
                    return Ok(());
                }
                if r.credentials.is_some() {
                    // Wrong credentials, not just none yet (a browser's
                    // first try): counted, and answered ever later.
                    let delay = self.throttle.fail(c.peer.addr, now);
                    if delay > Duration::ZERO {
                        c.hold_until = Some(now + delay);
                    }
                }
                c.fail(401, WWW_AUTHENTICATE);
                Err(())
            }
        }
    }

    /// Act on a complete request head (already consumed from `inbuf`).
    fn start(&mut self, i: usize, r: Request, now: Instant) {
        self.requests += 1;
        let c = &mut self.server.conns[i];
        c.entry = Some(Entry {
            method: r.method,
            path: r.path.clone(),
            status: 0,
            bytes: 0,
            started: now,
        });
        c.close_after = r.close || (r.http10 && !r.keep_alive);
        c.http10 = r.http10;
        c.body = Body::None;
        // Only PUT carries a body here; one on another method would be read
        // as the next request, so it is refused (and the connection closed).
        let has_body =
            r.chunked || r.bad_coding || matches!(r.content_length, Some(Ok(n)) if n > 0);
        if r.method != Method::Put && (has_body || matches!(r.content_length, Some(Err(())))) {
            return c.fail(400, "");
        }
        if self.admit(i, &r, now).is_err() {
            return;
        }
        let storage = &mut self.storage;
        let limits = self.limits;
        let c = &mut self.server.conns[i];
        let target = match r.target {
            Ok(t) => t,
            Err(FileNameError::BadEncoding) => return c.fail(400, ""),
            Err(_) => return c.fail(403, ""),
        };
        match (r.method, target) {
            (Method::Get | Method::Head, None) => {
                let html = !r.plain;
                let ctype = if html {
                    "text/html; charset=utf-8"
                } else {
                    "text/plain; charset=utf-8"
                };
                if r.http10 {
                    // No chunked encoding in HTTP/1.0: the close ends the body.
                    c.close_after = true;
                    if let Some(e) = &mut c.entry {
                        e.status = 200;
                    }
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
                let unsatisfiable = |c: &mut Conn<HDR>| {
                    let mut extra: heapless::String<64> = heapless::String::new();
                    let _ = write!(extra, "Content-Range: bytes */{size}\r\n");
                    c.fail(416, &extra);
                };
                let (status, start, end) = match r.range {
                    None => (200, 0, size),
                    Some((Some(first), last)) if first < size => {
                        let end = last.map_or(size, |l| l.saturating_add(1).min(size));
                        if end <= first {
                            return unsatisfiable(c);
                        }
                        (206, first, end)
                    }
                    Some((None, Some(suffix))) if suffix > 0 && size > 0 => {
                        (206, size - suffix.min(size), size)
                    }
                    Some(_) => return unsatisfiable(c),
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
                if r.bad_coding {
                    return c.fail(501, "");
                }
                let framing = match (r.chunked, r.content_length) {
                    // Both: the coding wins, but a peer that sends both may
                    // be smuggling a second request (RFC 9112 6.3): refuse.
                    (true, Some(_)) => return c.fail(400, ""),
                    (true, None) => Framing::Chunked(Chunked::START),
                    (false, None) => return c.fail(411, ""),
                    (false, Some(Err(()))) => return c.fail(400, ""),
                    (false, Some(Ok(len))) => {
                        if len > limits.max_body {
                            return c.fail(413, "");
                        }
                        Framing::Length(len)
                    }
                };
                let begun = match framing {
                    Framing::Length(len) => storage.begin_upload(&name, len),
                    Framing::Chunked(_) => storage.begin_stream_upload(&name, limits.max_body),
                };
                let id = match begun {
                    Ok(id) => id,
                    Err(StorageError::Full) => return c.fail(507, ""),
                    Err(StorageError::TooLarge) => return c.fail(413, ""),
                    Err(StorageError::Forbidden) => return c.fail(403, ""),
                    Err(_) => return c.fail(500, ""),
                };
                c.phase = Phase::Upload { id, framing, name };
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

    /// Move file bytes from storage straight into the socket's send buffer:
    /// one copy per byte.
    fn send_file(&mut self, i: usize, stack: &mut Stack<'_>, now: Instant) -> Sent {
        let storage = &mut self.storage;
        let Conn {
            stream,
            body,
            entry,
            last_activity,
            ..
        } = &mut self.server.conns[i];
        let Body::File {
            name,
            version,
            offset,
            end,
        } = body
        else {
            return Sent::Done;
        };
        // Replaced since the head went out? Then the promised bytes no
        // longer exist: end the connection rather than mix two files under
        // one 200. Once per call, not per chunk.
        if storage.stat(name).map(|i| i.version) != Ok(*version) {
            return Sent::Broken;
        }
        let mut sent = false;
        // Twice at most: the free space of a ring may wrap once.
        for _ in 0..2 {
            if *offset >= *end {
                return Sent::Done;
            }
            let left = *end - *offset;
            let at = *offset;
            let read = stream.send_with(stack, |free| {
                let want = usize::try_from(left).unwrap_or(usize::MAX).min(free.len());
                match storage.read_at(name, at, &mut free[..want]) {
                    Ok(n) => (n, Ok(n)),
                    Err(e) => (0, Err(e)),
                }
            });
            match read {
                Ok(Ok(n)) if n > 0 => {
                    *offset += n as u64;
                    if let Some(e) = entry {
                        e.bytes += n as u64;
                    }
                    *last_activity = now;
                    sent = true;
                }
                // The file shrank or vanished under us, or the medium
                // failed: the promised length cannot be kept.
                Ok(_) => return Sent::Broken,
                Err(Error::WouldBlock) => break,
                Err(_) => return Sent::Broken,
            }
        }
        if *offset >= *end {
            Sent::Done
        } else if sent {
            Sent::Some
        } else {
            Sent::Blocked
        }
    }

    /// Stage the next listing entry; false when the listing is done.
    fn refill_listing(&mut self, i: usize) -> bool {
        let storage = &mut self.storage;
        let c = &mut self.server.conns[i];
        let Body::Listing { index, html, done } = &mut c.body else {
            return false;
        };
        if *done {
            return false;
        }
        // The entry is written at out[PRE..]; when chunked, its size line
        // goes right before it and "\r\n" (and, at the end, the last chunk
        // "0\r\n\r\n") after it: no copying.
        const PRE: usize = 8;
        let html = *html;
        let mut w = Staged {
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
        if let Some(e) = &mut c.entry {
            e.bytes += n as u64;
        }
        c.sent = start;
        c.outlen = end;
        end > start
    }

    /// Move upload bytes from the header buffer's leftover, then from the
    /// socket's receive buffer, straight into storage. Returns (progress,
    /// the error that stopped the body).
    fn upload_body(
        &mut self,
        i: usize,
        stack: &mut Stack<'_>,
        now: Instant,
    ) -> (bool, Result<(), UploadError>) {
        let max = self.limits.max_body;
        let storage = &mut self.storage;
        let Conn {
            stream,
            inbuf,
            inlen,
            phase,
            entry,
            eof,
            last_activity,
            ..
        } = &mut self.server.conns[i];
        let Phase::Upload { id, framing, .. } = phase else {
            return (false, Ok(()));
        };
        let id = *id;
        let mut received = entry.as_ref().map_or(0, |e| e.bytes);
        let mut feed = |framing: &mut Framing, data: &[u8]| -> (usize, Result<(), UploadError>) {
            let mut store = |d: &[u8]| -> Result<usize, UploadError> {
                if received + d.len() as u64 > max {
                    return Err(UploadError::TooLarge);
                }
                storage.write(id, d).map_err(UploadError::Storage)?;
                received += d.len() as u64;
                Ok(d.len())
            };
            match framing {
                Framing::Length(left) => {
                    let n = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                    match store(&data[..n]) {
                        Ok(n) => {
                            *left -= n as u64;
                            (n, Ok(()))
                        }
                        Err(e) => (0, Err(e)),
                    }
                }
                Framing::Chunked(state) => {
                    let (n, r) = state.feed(data, &mut store);
                    let r = r.map_err(|e| match e {
                        Ok(BadFraming) => UploadError::Framing,
                        Err(e) => e,
                    });
                    (n, r)
                }
            }
        };
        let mut progress = false;
        let mut result = Ok(());
        // Bytes that came with the head go first.
        if *inlen > 0 {
            let (n, r) = feed(framing, &inbuf[..*inlen]);
            *inlen = consume_front(inbuf, *inlen, n);
            progress |= n > 0;
            result = r;
        }
        // Then the socket, twice at most: its ring may wrap once.
        for _ in 0..2 {
            if result.is_err() || *inlen > 0 || framing.done() || *eof {
                break;
            }
            match stream.recv_with(stack, |data| {
                let (n, r) = feed(framing, data);
                (n, (n, r))
            }) {
                Ok(Some((n, r))) => {
                    progress |= n > 0;
                    result = r;
                    if n == 0 {
                        break;
                    }
                }
                Ok(None) => {
                    *eof = true;
                    progress = true;
                }
                Err(Error::WouldBlock) => break,
                // Reset: nothing more will come.
                Err(_) => {
                    *eof = true;
                    progress = true;
                }
            }
        }
        if progress {
            *last_activity = now;
        }
        if let Some(e) = entry {
            e.bytes = received;
        }
        (progress, result)
    }

    /// The request on connection `i` is over: its access-log line.
    fn finish(&mut self, i: usize, now: Instant) {
        let Some(e) = self.server.conns[i].entry.take() else {
            return;
        };
        if !self.access_log {
            return;
        }
        let ms = (now - e.started).total_millis();
        let peer = EndpointText(self.server.conns[i].peer);
        if e.status == 0 {
            // The client went away before an answer: `-` as the status.
            self.server.log.push(format_args!(
                "access: {peer} {} {} - {} {ms}ms",
                e.method.as_str(),
                e.path,
                e.bytes
            ));
        } else {
            self.server.log.push(format_args!(
                "access: {peer} {} {} {} {} {ms}ms",
                e.method.as_str(),
                e.path,
                e.status,
                e.bytes
            ));
        }
    }

    /// Connection `i` is about to go: its line logged, its upload
    /// abandoned (the skeleton then closes and removes it).
    fn closing(&mut self, i: usize, now: Instant) {
        self.finish(i, now);
        if let Some(Phase::Upload { id, .. }) = self.server.conns.get(i).map(|c| &c.phase) {
            self.storage.abort(*id);
        }
    }

    /// Remove connection `i` (its upload abandoned, its line logged).
    fn remove(&mut self, i: usize, stack: &mut Stack<'_>, now: Instant) {
        self.closing(i, now);
        self.server.remove(i, stack);
    }
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize> Service
    for FileServer<S, CONNS, HDR, LOG>
{
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let access_log = self.access_log;
        let accepted = self
            .server
            .accept(stack, self.max_conns, |stream, peer, _, log| {
                // With the access log on, its lines say who came: no more.
                if !access_log {
                    log.push(format_args!("files: connected by {}", EndpointText(peer)));
                }
                Conn {
                    stream,
                    peer,
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
                    hold_until: None,
                    eof: false,
                    entry: None,
                }
            });
        let stepped = Connections::step_by_index(
            self,
            stack,
            |s| &mut s.server,
            |s, i, stack| {
                let (moved, done) = s.serve(i, stack, now);
                Step::from_parts(moved, done)
            },
            |s, i, _| s.closing(i, now),
        );
        accepted | stepped
    }

    fn poll_at(&self) -> Option<Instant> {
        self.server
            .conns
            .iter()
            .map(|c| {
                if let Some(t) = c.hold_until {
                    return t;
                }
                let limit = if c.sent < c.outlen || matches!(c.body, Body::File { .. }) {
                    self.limits.stall
                } else {
                    self.limits.idle
                };
                c.last_activity + limit
            })
            .min()
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.server.drain_log(sink);
    }

    /// Stop listening; responses being sent may finish (the event loop's
    /// grace period decides how long), uploads in progress are abandoned
    /// (their temporary files removed), idle connections close now.
    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        self.server.stop_listening(stack);
        let mut i = 0;
        while i < self.server.conns.len() {
            let c = &mut self.server.conns[i];
            let sending = matches!(c.phase, Phase::Respond) || c.sent < c.outlen;
            if sending {
                c.close_after = true;
                i += 1;
                continue;
            }
            self.remove(i, stack, stack.now());
        }
    }
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize>
    FileServer<S, CONNS, HDR, LOG>
{
    /// Move connection `i` along as far as it goes now. Returns (progress,
    /// finished).
    fn serve(&mut self, i: usize, stack: &mut Stack<'_>, now: Instant) -> (bool, bool) {
        let mut progress = false;
        // Bounded: every round sends, reads, or changes phase; a connection
        // gets a fair share and the others their turn.
        for _ in 0..64 {
            let c = &mut self.server.conns[i];
            // 0. A 401 held back from a password guesser.
            if let Some(t) = c.hold_until {
                if now < t {
                    return (progress, false);
                }
                c.hold_until = None;
            }
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
                    // A peer that stops reading for `stall` loses the
                    // connection: it must not hold a slot for ever.
                    Err(Error::WouldBlock) if now >= c.last_activity + self.limits.stall => {
                        return (true, true);
                    }
                    Err(Error::WouldBlock) => return (progress, false),
                    Err(_) => return (true, true),
                }
            }
            if let Phase::Respond = c.phase {
                let more = match c.body {
                    Body::File { .. } => match self.send_file(i, stack, now) {
                        Sent::Some => {
                            progress = true;
                            continue;
                        }
                        Sent::Blocked => {
                            let c = &self.server.conns[i];
                            let stalled = now >= c.last_activity + self.limits.stall;
                            return (progress || stalled, stalled);
                        }
                        Sent::Done => false,
                        Sent::Broken => {
                            let c = &mut self.server.conns[i];
                            c.close_after = true;
                            c.eof = true;
                            false
                        }
                    },
                    Body::Listing { .. } => self.refill_listing(i),
                    Body::None => false,
                };
                if more {
                    continue;
                }
                self.finish(i, now);
                let c = &mut self.server.conns[i];
                c.body = Body::None;
                if c.close_after || c.eof {
                    // Everything is queued; close() still delivers it.
                    return (true, true);
                }
                c.phase = Phase::Head;
                c.last_activity = now;
                progress = true;
                continue;
            }
            if let Phase::Upload { .. } = c.phase {
                let (moved, result) = self.upload_body(i, stack, now);
                progress |= moved;
                let c = &mut self.server.conns[i];
                let Phase::Upload { id, framing, name } = &c.phase else {
                    continue;
                };
                let (id, done) = (*id, framing.done());
                let failed = match result {
                    Err(UploadError::Framing) => Some(400),
                    Err(UploadError::TooLarge) => Some(413),
                    Err(UploadError::Storage(StorageError::Full)) => Some(507),
                    Err(UploadError::Storage(StorageError::TooLarge)) => Some(413),
                    Err(UploadError::Storage(_)) => Some(500),
                    Ok(()) => None,
                };
                if let Some(status) = failed {
                    self.storage.abort(id);
                    let c = &mut self.server.conns[i];
                    c.phase = Phase::Head;
                    c.inlen = 0;
                    c.fail(status, "");
                    continue;
                }
                if done {
                    let name = name.clone();
                    let committed = self.storage.commit(id);
                    let c = &mut self.server.conns[i];
                    c.phase = Phase::Head;
                    match committed {
                        Ok(replaced) => {
                            if !self.access_log {
                                self.server.log.push(format_args!("files: stored {name}"));
                            }
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
                    self.storage.abort(id);
                    let c = &mut self.server.conns[i];
                    c.phase = Phase::Head;
                    c.fail(408, "");
                    continue;
                }
                if moved {
                    continue;
                }
                return (progress, false);
            }
            // Phase::Head: parse what we have, else read more.
            let c = &mut self.server.conns[i];
            if c.inlen > 0 {
                // With the access log on, a full ring holds the next request
                // back until the host drains it: no line is lost.
                if self.access_log && self.server.log.is_full() {
                    return (progress, false);
                }
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut req = httparse::Request::new(&mut headers);
                match req.parse(&c.inbuf[..c.inlen]) {
                    Ok(httparse::Status::Complete(n)) => {
                        let r = parse_request(&req);
                        c.inlen = consume_front(&mut c.inbuf, c.inlen, n);
                        c.last_activity = now;
                        self.start(i, r, now);
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
                        if c.inlen == 0 {
                            // Kept alive and quiet: close with FIN, as
                            // servers do; there is no request to answer.
                            return (true, true);
                        }
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
