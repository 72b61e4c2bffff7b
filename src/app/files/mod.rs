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
//!
//! This file keeps the server's public face and its [`Service`] impl. The
//! per-connection state machine is in `conn.rs` (each connection advances
//! by a `step` over its phase), downloads and the listing in
//! `download.rs`, uploads in `upload.rs`, the HTTP subset and escaping in
//! `http.rs`, the chunked decoder in `chunked.rs`, who may do what in
//! `policy.rs`, the listing as a page for a browser (upload with progress,
//! delete, sorting; no external assets) in `page.rs`, the live view of the
//! stack (`/_stack`) in `live.rs`.

mod chunked;
mod conn;
mod download;
mod http;
mod live;
mod page;
mod policy;
mod upload;

use smoltcp::time::{Duration, Instant};

use self::conn::{Body, Conn, Phase};
#[cfg(feature = "std")]
pub(crate) use self::http::standard_reason;
pub use self::http::write_url;
pub use self::live::live_page_bytes;
pub use self::page::page_bytes;
use self::policy::Throttle;
pub use self::policy::{Access, Authenticate, Policy, ct_eq};
use super::server::{Connections, Step};
use super::storage::Storage;
use super::transport::{Plain, Wrap};
use super::{LOG_LINES, Service};
use crate::net::Stack;
use crate::socket::{Error, TcpListener};

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
/// Bytes of response staged per connection: a head, one listing entry (a
/// 255-byte name escaped for a URL and for HTML fits, with the row's
/// markup), or one piece of the listing page. File bytes are
/// not staged: they go from storage straight into the socket.
///
/// # Example
///
/// ```
/// use layernet::app::{files::OUT_BUFFER, storage::NAME_MAX};
/// // The worst name: every byte escaped as `%XX` in the link, `&quot;` in
/// // the text, and the page's row around it.
/// assert!(OUT_BUFFER > NAME_MAX * 3 + NAME_MAX * 6 + 200);
/// ```
pub const OUT_BUFFER: usize = 2560;

/// The service's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client::{self, FileError}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(2)?;
/// let limits = Limits { max_body: 4, ..Limits::default() };
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 7878, 1, RamStore::<2, 64>::new(), limits)?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let client = Net::new(sim).host(b);
/// let put = file_client::put(&client, endpoint(a, 7878), "big", &mut &b"12345"[..], 5, &mut |_, _| {});
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

/// The file server: `CONNS` connections at once, request heads up to `HDR`
/// bytes, files from `S`.
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(3)?;
/// let store = RamStore::<4, 1024>::new();
/// let server = FileServer::<_, 2>::bind(sim.stack(a), 7878, 2, store, Limits::default())?
///     .with_policy(Policy::WRITABLE); // read-only unless told
/// sim.serve(a, Box::new(server));
/// let (client, at) = (Net::new(sim).host(b), endpoint(a, 7878));
/// file_client::put(&client, at, "notes.txt", &mut &b"remember"[..], 8, &mut |_, _| {})?;
/// let mut back = Vec::new();
/// file_client::get(&client, at, "notes.txt", 0, &mut back, &mut |_, _| {})?;
/// assert_eq!(back, b"remember");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped server keeps its listener and connections: call `Service::shutdown` first"]
pub struct FileServer<
    S: Storage,
    const CONNS: usize,
    const HDR: usize = 1024,
    const LOG: usize = LOG_LINES,
    W: Wrap = Plain,
> {
    server: Connections<Conn<HDR, W::Stream>, CONNS, LOG>,
    /// Makes each accepted stream a connection's transport.
    wrap: W,
    /// A plain listener beside the main one (HTTP beside HTTPS).
    plain: Option<TcpListener>,
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
        Self::bind_with(stack, port, backlog, storage, limits, Plain)
    }
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize, W: Wrap>
    FileServer<S, CONNS, HDR, LOG, W>
{
    /// Serve `storage` on `port`, every connection through `wrap`'s
    /// transport (on a host, TLS: see `layernet::host::tls`).
    ///
    /// # Errors
    /// As [`FileServer::bind`].
    ///
    /// # Example
    /// ```
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore, transport::Plain};
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(4)?;
    /// let store = RamStore::<1, 16>::new();
    /// let server = FileServer::<_, 1>::bind_with(net.stack(a), 7878, 1, store, Limits::default(), Plain)?;
    /// assert_eq!(server.active(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind_with(
        stack: &mut Stack<'_>,
        port: u16,
        backlog: usize,
        storage: S,
        limits: Limits,
        wrap: W,
    ) -> Result<Self, Error> {
        Ok(FileServer {
            wrap,
            plain: None,
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

    /// Also listen on `port` for plain connections ([`Wrap::plain`]),
    /// served by the same connections, store and policy: HTTP on 7878
    /// beside HTTPS on 7443.
    ///
    /// # Errors
    /// As [`TcpListener::bind`].
    ///
    /// # Example
    /// ```
    /// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
    /// use layernet::host::{blocking::Net, file_client, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(4)?;
    /// let store = RamStore::<1, 16>::new();
    /// let server = FileServer::<_, 2>::bind(sim.stack(a), 7443, 1, store, Limits::default())?
    ///     .also_plain(sim.stack(a), 7878, 1)?;
    /// sim.serve(a, Box::new(server));
    /// let client = Net::new(sim).host(b);
    /// let listed = file_client::get(&client, endpoint(a, 7878), "", 0, &mut Vec::new(), &mut |_, _| {});
    /// assert!(listed.is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn also_plain(
        mut self,
        stack: &mut Stack<'_>,
        port: u16,
        backlog: usize,
    ) -> Result<Self, Error> {
        self.plain = Some(TcpListener::bind(stack, port, backlog)?);
        Ok(self)
    }

    /// Who may read and write (read-only, [`Policy::READ_ONLY`], unless
    /// this says otherwise).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
    /// use layernet::host::{blocking::Net, file_client::{self, FileError}, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(3)?;
    /// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 64>::new(), Limits::default())?;
    /// sim.serve(a, Box::new(server)); // the default policy
    /// let put = file_client::put(&Net::new(sim).host(b), endpoint(a, 80), "x", &mut &b"1"[..], 1, &mut |_, _| {});
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
    /// use layernet::host::{blocking::Net, file_client, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(3)?;
    /// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, RamStore::<1, 8>::new(), Limits::default())?
    ///     .with_access_log(true);
    /// let server = Rc::new(RefCell::new(server));
    /// sim.serve(a, Box::new(server.clone()));
    /// let _ = file_client::get(&Net::new(sim).host(b), endpoint(a, 80), "nope", 0, &mut Vec::new(), &mut |_, _| {});
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
    /// use layernet::host::{blocking::Net, file_client, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(5)?;
    /// let store = RamStore::<2, 64>::new();
    /// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?;
    /// let server = Rc::new(RefCell::new(server.with_policy(Policy::WRITABLE)));
    /// sim.serve(a, Box::new(server.clone()));
    /// file_client::put(&Net::new(sim).host(b), endpoint(a, 80), "up", &mut &b"loaded"[..], 6, &mut |_, _| {})?;
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
    /// use layernet::host::{blocking::Net, file_client, sim::{SimNet, endpoint}};
    /// let (mut sim, a, b) = SimNet::pair(6)?;
    /// let store = RamStore::<2, 64>::new();
    /// let server = Rc::new(RefCell::new(FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?));
    /// sim.serve(a, Box::new(server.clone()));
    /// let missing = file_client::get(&Net::new(sim).host(b), endpoint(a, 80), "nope", 0, &mut Vec::new(), &mut |_, _| {});
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
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize, W: Wrap> Service
    for FileServer<S, CONNS, HDR, LOG, W>
{
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let access_log = self.access_log;
        let wrap = &mut self.wrap;
        let accepted = self
            .server
            .accept(stack, self.max_conns, |stream, peer, _, log| {
                // With the access log on, its lines say who came: no more.
                if !access_log {
                    log.push_peer("files: connected by ", peer);
                }
                Conn::new(wrap.wrap(stream), peer, now)
            });
        let mut plain_accepted = false;
        if let Some(listener) = &mut self.plain {
            while self.server.conns.len() < self.max_conns.min(CONNS) {
                let Ok((stream, peer)) = listener.accept(stack) else {
                    break;
                };
                if !access_log {
                    let log = &mut self.server.log;
                    log.push_peer("files: connected by ", peer);
                }
                let conn = Conn::new(self.wrap.plain(stream), peer, now);
                // Room was checked above: the push cannot fail.
                let _ = self.server.conns.push(conn);
                plain_accepted = true;
            }
        }
        let accepted = accepted | plain_accepted;
        let stepped = Connections::step_by_index(
            self,
            stack,
            |s| &mut s.server,
            |s, i, stack| {
                let (moved, done) = s.step(i, stack, now);
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
                if let Phase::Drain { until } = c.phase {
                    return until.min(c.last_activity + conn::DRAIN_QUIET);
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
        if let Some(listener) = &mut self.plain {
            listener.stop(stack);
        }
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
