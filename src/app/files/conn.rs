//! One connection of the file service and the state machine that moves
//! it. Every connection goes through [`FileServer::step`], which flushes
//! what is staged and then matches on the connection's [`Phase`]: reading
//! a request head (here), streaming an upload (`upload.rs`), or sending a
//! response, whose body a download or the listing fills (`download.rs`).
//!
//! Layer: app. Depends on [`crate::socket`], the server skeleton
//! ([`crate::app::server`]), the [`Storage`] trait and this service's
//! `http`, `chunked` and `policy` modules; nothing host-side, no heap.

use core::fmt::Write as _;

use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpEndpoint;

use super::chunked::Chunked;
use super::download::Sent;
use super::http::{LOGGED_PATH, Method, Request, parse_request, reason};
use super::live;
use super::page::Stage;
use super::policy::Access;
use super::{FileServer, MAX_HEADERS, OUT_BUFFER};
use crate::app::consume_front;
use crate::app::server::Connection;
use crate::app::storage::{FileNameError, Name, Storage, StorageError, UploadId};
use crate::app::transport::{Transport, Wrap};
use crate::app::writer::Writer;
use crate::net::Stack;
use crate::socket::{EndpointText, Error, TcpStream};

/// What the body of the response being sent comes from.
// No heap in the core: the name lives inline, once per connection.
#[allow(clippy::large_enum_variant)]
pub(super) enum Body {
    None,
    File {
        name: Name,
        version: u64,
        offset: u64,
        end: u64,
    },
    Listing {
        index: usize,
        /// A page for a browser (see `page.rs`), or the plain list.
        html: bool,
        /// Where the page stands; the plain list uses only `Rows`.
        stage: Stage,
        /// Who may write: the page shows upload and delete controls then.
        writes: Access,
        done: bool,
    },
    /// The live view's page or figures (see `live.rs`); `None` when done.
    Live(Option<live::Stage>),
}

/// How an upload's body ends.
#[derive(Clone, Copy)]
pub(super) enum Framing {
    /// Content-Length: bytes still to come.
    Length(u64),
    /// Transfer-Encoding: chunked, decoded as it comes.
    Chunked(Chunked),
}

impl Framing {
    pub(super) fn done(&self) -> bool {
        matches!(self, Framing::Length(0) | Framing::Chunked(Chunked::Done))
    }
}

/// Where a connection stands.
#[allow(clippy::large_enum_variant)]
pub(super) enum Phase {
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
    /// A lingering close: the last response is out with our FIN after it,
    /// and what the peer still sends (the body of a refused upload) is
    /// read and dropped until its FIN, [`DRAIN_QUIET`] without a byte, or
    /// `until`. Closed at once instead, a peer still sending would block
    /// on a full window and never read the answer that says why
    /// (Chromium does that); a reset could destroy the answer unread.
    Drain { until: Instant },
}

/// How long a lingering close waits for the next byte ([`Phase::Drain`]).
pub(super) const DRAIN_QUIET: Duration = Duration::from_secs(5);
/// How long a lingering close lasts at most.
pub(super) const DRAIN_MAX: Duration = Duration::from_secs(30);

/// The request being answered, for the access log.
pub(super) struct Entry {
    pub(super) method: Method,
    pub(super) path: heapless::String<LOGGED_PATH>,
    /// 0 until a response is staged.
    pub(super) status: u16,
    /// Body bytes sent (GET) or received (PUT).
    pub(super) bytes: u64,
    pub(super) started: Instant,
}

pub(super) struct Conn<const HDR: usize, T> {
    pub(super) stream: T,
    pub(super) peer: IpEndpoint,
    pub(super) inbuf: [u8; HDR],
    pub(super) inlen: usize,
    /// A response head, or one listing entry; file bytes never pass here.
    pub(super) out: [u8; OUT_BUFFER],
    pub(super) outlen: usize,
    pub(super) sent: usize,
    pub(super) phase: Phase,
    pub(super) body: Body,
    pub(super) chunked: bool,
    pub(super) close_after: bool,
    pub(super) http10: bool,
    pub(super) last_activity: Instant,
    /// A 401 for a peer that guesses passwords waits until then.
    pub(super) hold_until: Option<Instant>,
    pub(super) eof: bool,
    pub(super) entry: Option<Entry>,
}

impl<const HDR: usize, T: Transport> Connection for Conn<HDR, T> {
    fn into_stream(self) -> TcpStream {
        self.stream.into_stream()
    }
}

impl<const HDR: usize, T: Transport> Conn<HDR, T> {
    /// A connection just accepted, waiting for its first request head.
    pub(super) fn new(stream: T, peer: IpEndpoint, now: Instant) -> Self {
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
    }

    pub(super) fn head(&mut self) -> Writer<'_> {
        Writer::new(&mut self.out[..])
    }

    pub(super) fn set_out(&mut self, len: usize) {
        self.outlen = len;
        self.sent = 0;
    }

    /// Stage a response head; `length` None means chunked.
    pub(super) fn respond(
        &mut self,
        status: u16,
        content_type: &str,
        length: Option<u64>,
        extra: &str,
    ) {
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
        let len = h.len();
        self.set_out(len);
        self.chunked = length.is_none();
        self.phase = Phase::Respond;
    }

    /// An error: status, one-line body, close.
    pub(super) fn fail(&mut self, status: u16, extra: &str) {
        let mut line: heapless::String<64> = heapless::String::new();
        let _ = write!(line, "{status} {}", reason(status));
        self.fail_with(status, extra, &line);
    }

    /// An error with `text` as its body line (cut to what the buffer holds).
    pub(super) fn fail_with(&mut self, status: u16, extra: &str, text: &str) {
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

const WWW_AUTHENTICATE: &str = "WWW-Authenticate: Basic realm=\"layernet\"\r\n";
/// The same challenge for the listing page's script: a browser meets a
/// `Basic` challenge to a script's request with its own login dialog,
/// which the page's credential fields make needless (and a headless
/// browser cannot answer). A scheme it does not know leaves the 401 to
/// the script, as login pages that use Basic from scripts do.
const WWW_AUTHENTICATE_SCRIPT: &str = "WWW-Authenticate: LayernetBasic realm=\"layernet\"\r\n";

/// What one turn of a connection did, and so what [`FileServer::step`]
/// does next.
pub(super) enum Turn {
    /// Go round again: bytes moved or the phase changed.
    Again,
    /// Nothing more to do until the socket or the clock moves.
    Wait,
    /// The connection is over (the skeleton closes and removes it).
    Close,
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize, W: Wrap>
    FileServer<S, CONNS, HDR, LOG, W>
{
    /// Move connection `i` along as far as it goes now, one turn at a
    /// time, each turn by its phase. Returns (progress, finished).
    pub(super) fn step(&mut self, i: usize, stack: &mut Stack<'_>, now: Instant) -> (bool, bool) {
        let mut progress = false;
        // A layer over the stream (TLS) moves its own records first: a
        // handshake goes on while the HTTP side waits for a request.
        match self.server.conns[i].stream.pump(stack) {
            Ok(moved) => progress |= moved,
            Err(_) => return (true, true),
        }
        // Bounded: every turn sends, reads, or changes phase; a connection
        // gets a fair share and the others their turn.
        for _ in 0..64 {
            let turn = match self.flush(i, stack, now, &mut progress) {
                Some(turn) => turn,
                None => match self.server.conns[i].phase {
                    Phase::Head => self.head_turn(i, stack, now, &mut progress),
                    Phase::Upload { .. } => self.upload_turn(i, stack, now, &mut progress),
                    Phase::Respond => self.respond_turn(i, stack, now, &mut progress),
                    Phase::Drain { until } => self.drain_turn(i, stack, now, until, &mut progress),
                },
            };
            match turn {
                Turn::Again => {}
                Turn::Wait => return (progress, false),
                Turn::Close => return (true, true),
            }
        }
        (progress, false)
    }

    /// Whatever the phase: a held-back 401 waits its time, and what is
    /// staged goes out first. `None` when the phase may go on.
    fn flush(
        &mut self,
        i: usize,
        stack: &mut Stack<'_>,
        now: Instant,
        progress: &mut bool,
    ) -> Option<Turn> {
        let c = &mut self.server.conns[i];
        if let Some(t) = c.hold_until {
            if now < t {
                return Some(Turn::Wait);
            }
            c.hold_until = None;
        }
        if c.sent < c.outlen {
            match c.stream.send(stack, &c.out[c.sent..c.outlen]) {
                Ok(n) => {
                    c.sent += n;
                    *progress |= n > 0;
                    if n > 0 {
                        c.last_activity = now;
                    }
                    if c.sent < c.outlen {
                        return Some(Turn::Wait);
                    }
                }
                // A peer that stops reading for `stall` loses the
                // connection: it must not hold a slot for ever.
                Err(Error::WouldBlock) if now >= c.last_activity + self.limits.stall => {
                    return Some(Turn::Close);
                }
                Err(Error::WouldBlock) => return Some(Turn::Wait),
                Err(_) => return Some(Turn::Close),
            }
        }
        None
    }

    /// [`Phase::Head`]: parse what has come, else read more.
    fn head_turn(
        &mut self,
        i: usize,
        stack: &mut Stack<'_>,
        now: Instant,
        progress: &mut bool,
    ) -> Turn {
        let c = &mut self.server.conns[i];
        if c.inlen > 0 {
            // With the access log on, a full ring holds the next request
            // back until the host drains it: no line is lost.
            if self.access_log && self.server.log.is_full() {
                return Turn::Wait;
            }
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&c.inbuf[..c.inlen]) {
                Ok(httparse::Status::Complete(n)) => {
                    let r = parse_request(&req);
                    c.inlen = consume_front(&mut c.inbuf, c.inlen, n);
                    c.last_activity = now;
                    self.start(i, r, now);
                    *progress = true;
                    return Turn::Again;
                }
                Ok(httparse::Status::Partial) if c.inlen == HDR => {
                    let line_done = c.inbuf.windows(2).any(|w| w == b"\r\n");
                    c.inlen = 0;
                    c.fail(if line_done { 431 } else { 414 }, "");
                    return Turn::Again;
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => {
                    c.inlen = 0;
                    c.fail(431, "");
                    return Turn::Again;
                }
                Err(_) => {
                    c.inlen = 0;
                    c.fail(400, "");
                    return Turn::Again;
                }
            }
        }
        if c.eof {
            return Turn::Close;
        }
        match c.stream.recv(stack, &mut c.inbuf[c.inlen..]) {
            Ok(0) => {
                c.eof = true;
                *progress = true;
                Turn::Again
            }
            Ok(n) => {
                // The clock is not reset here: a request head must be
                // complete within `idle` of its start, so a client that
                // trickles a byte at a time (slowloris) still gets 408.
                c.inlen += n;
                *progress = true;
                Turn::Again
            }
            Err(Error::WouldBlock) => {
                if now >= c.last_activity + self.limits.idle {
                    if c.inlen == 0 {
                        // Kept alive and quiet: close with FIN, as
                        // servers do; there is no request to answer.
                        return Turn::Close;
                    }
                    c.inlen = 0;
                    c.fail(408, "");
                    return Turn::Again;
                }
                Turn::Wait
            }
            Err(_) => Turn::Close,
        }
    }

    /// [`Phase::Respond`]: the body, if any, after the staged head; then
    /// back to [`Phase::Head`], or closing.
    fn respond_turn(
        &mut self,
        i: usize,
        stack: &mut Stack<'_>,
        now: Instant,
        progress: &mut bool,
    ) -> Turn {
        let more = match self.server.conns[i].body {
            Body::File { .. } => match self.send_file(i, stack, now) {
                Sent::Some => {
                    *progress = true;
                    return Turn::Again;
                }
                Sent::Blocked => {
                    let c = &self.server.conns[i];
                    let stalled = now >= c.last_activity + self.limits.stall;
                    return if stalled { Turn::Close } else { Turn::Wait };
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
            Body::Live(_) => self.refill_live(i, stack),
            Body::None => false,
        };
        if more {
            return Turn::Again;
        }
        self.finish(i, now);
        let c = &mut self.server.conns[i];
        c.body = Body::None;
        if c.close_after && !c.eof {
            // Everything is queued; the FIN follows it. The peer may still
            // be sending: linger until it stops (see `Phase::Drain`).
            c.stream.shutdown(stack);
            c.phase = Phase::Drain {
                until: now + DRAIN_MAX,
            };
            c.last_activity = now;
            *progress = true;
            return Turn::Again;
        }
        if c.eof {
            // Everything is queued; close() still delivers it.
            return Turn::Close;
        }
        c.phase = Phase::Head;
        c.last_activity = now;
        *progress = true;
        Turn::Again
    }

    /// [`Phase::Drain`]: drop what the peer still sends; over at its FIN,
    /// after [`DRAIN_QUIET`] without a byte, or at `until`.
    fn drain_turn(
        &mut self,
        i: usize,
        stack: &mut Stack<'_>,
        now: Instant,
        until: Instant,
        progress: &mut bool,
    ) -> Turn {
        let c = &mut self.server.conns[i];
        match c.stream.recv_with(stack, |b| (b.len(), ())) {
            Ok(Some(())) => {
                c.last_activity = now;
                *progress = true;
                return Turn::Again;
            }
            Err(Error::WouldBlock) => {}
            // The peer's FIN (or a reset): nothing more to drop.
            Ok(None) | Err(_) => return Turn::Close,
        }
        let over = now >= until || now >= c.last_activity + DRAIN_QUIET;
        if over { Turn::Close } else { Turn::Wait }
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
                c.fail(
                    401,
                    if r.script {
                        WWW_AUTHENTICATE_SCRIPT
                    } else {
                        WWW_AUTHENTICATE
                    },
                );
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
        let target = match &r.target {
            Ok(t) => t.as_ref(),
            Err(FileNameError::BadEncoding) => return c.fail(400, ""),
            Err(_) => return c.fail(403, ""),
        };
        let live = match r.path.as_str() {
            live::PAGE => Some(live::Stage::Page { at: 0 }),
            live::JSON => Some(live::Stage::Head),
            _ => None,
        };
        if let (Method::Get | Method::Head, Some(stage)) = (r.method, live) {
            return c.start_live(&r, stage);
        }
        match (r.method, target) {
            (Method::Get | Method::Head, None) => c.start_listing(&r, self.policy.writes),
            (Method::Get | Method::Head, Some(name)) => c.start_file(storage, &r, name),
            (Method::Put, None) => c.fail(405, "Allow: GET, HEAD\r\n"),
            (Method::Put, Some(name)) => c.start_upload(storage, limits, &r, name),
            (Method::Delete, None) => c.fail(405, "Allow: GET, HEAD\r\n"),
            (Method::Delete, Some(name)) => match storage.remove(name) {
                Ok(()) => c.respond(204, "", Some(0), ""),
                Err(StorageError::NotFound) => c.fail(404, ""),
                Err(StorageError::Forbidden) => c.fail(403, ""),
                Err(_) => c.fail(500, ""),
            },
            (Method::Other, _) => c.fail(405, "Allow: GET, HEAD, PUT, DELETE\r\n"),
        }
    }

    /// The request on connection `i` is over: its access-log line.
    pub(super) fn finish(&mut self, i: usize, now: Instant) {
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
    pub(super) fn closing(&mut self, i: usize, now: Instant) {
        self.finish(i, now);
        if let Some(Phase::Upload { id, .. }) = self.server.conns.get(i).map(|c| &c.phase) {
            self.storage.abort(*id);
        }
    }

    /// Remove connection `i` (its upload abandoned, its line logged).
    pub(super) fn remove(&mut self, i: usize, stack: &mut Stack<'_>, now: Instant) {
        self.closing(i, now);
        self.server.remove(i, stack);
    }
}
