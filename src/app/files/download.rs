//! Downloads: a file's bytes (whole, or the range asked for) and the
//! listing of the store, as the body of [`Phase::Respond`].
//!
//! Layer: app. Depends on [`crate::socket`]'s zero-copy send, the
//! [`Storage`] trait and this service's `http` module (heads, escaping);
//! nothing host-side, no heap.

use core::fmt::Write as _;

use smoltcp::time::Instant;

use super::conn::{Body, Conn, Phase};
use super::http::{Method, Request};
use super::live;
use super::page::{self, Stage};
use super::policy::Access;
use super::{FileServer, OUT_BUFFER};
use crate::app::storage::{Name, Storage, StorageError};
use crate::app::transport::{Transport, Wrap};
use crate::app::writer::Writer;
use crate::net::Stack;
use crate::socket::Error;

/// What a step of a response body did.
pub(super) enum Sent {
    /// Bytes went out; there may be more to send.
    Some,
    /// The send buffer is full.
    Blocked,
    /// The body is complete.
    Done,
    /// The connection cannot go on (reset, or the file changed under us).
    Broken,
}

impl<const HDR: usize, T: Transport> Conn<HDR, T> {
    /// `GET /` or `HEAD /`: the listing's head, its body to follow: a page
    /// with controls for `writes` unless the client asked for plain text.
    pub(super) fn start_listing(&mut self, r: &Request, writes: Access) {
        let html = !r.plain;
        let ctype = if html {
            "text/html; charset=utf-8"
        } else {
            "text/plain; charset=utf-8"
        };
        self.start_generated(r, ctype, "");
        if r.method == Method::Get {
            self.body = Body::Listing {
                index: 0,
                html,
                stage: if html { Stage::Top } else { Stage::Rows },
                writes,
                done: false,
            };
        }
    }

    /// `GET` or `HEAD` of the live view's page or figures (`live.rs`):
    /// never cached, since each answer is the stack at that moment.
    pub(super) fn start_live(&mut self, r: &Request, stage: live::Stage) {
        let ctype = if matches!(stage, live::Stage::Page { .. }) {
            "text/html; charset=utf-8"
        } else {
            "application/json"
        };
        self.start_generated(r, ctype, "Cache-Control: no-store\r\n");
        if r.method == Method::Get {
            self.body = Body::Live(Some(stage));
        }
    }

    /// The head of a body written as it goes, of unknown length: chunked
    /// over HTTP/1.1, ended by the close over HTTP/1.0. The body follows
    /// only for a GET.
    fn start_generated(&mut self, r: &Request, ctype: &str, extra: &str) {
        if r.http10 {
            // No chunked encoding in HTTP/1.0: the close ends the body.
            self.close_after = true;
            if let Some(e) = &mut self.entry {
                e.status = 200;
            }
            let mut h = self.head();
            let _ = write!(
                h,
                "HTTP/1.1 200 OK\r\nServer: layernet\r\nContent-Type: {ctype}\r\n{extra}Connection: close\r\n\r\n"
            );
            let len = h.len();
            self.set_out(len);
            self.chunked = false;
            self.phase = Phase::Respond;
        } else {
            self.respond(200, ctype, None, extra);
        }
        if r.method != Method::Get && self.chunked {
            // HEAD of a chunked body: no body at all.
            self.chunked = false;
        }
    }

    /// `GET` or `HEAD` of a file: its head (200, 206 for a range, 416 for
    /// a range past the end), its bytes to follow.
    pub(super) fn start_file(&mut self, storage: &mut impl Storage, r: &Request, name: &Name) {
        let (size, version) = match storage.stat(name) {
            Ok(info) => (info.size, info.version),
            Err(StorageError::NotFound) => return self.fail(404, ""),
            Err(StorageError::Forbidden) => return self.fail(403, ""),
            Err(_) => return self.fail(500, ""),
        };
        let unsatisfiable = |c: &mut Self| {
            let mut extra: heapless::String<64> = heapless::String::new();
            let _ = write!(extra, "Content-Range: bytes */{size}\r\n");
            c.fail(416, &extra);
        };
        let tag = super::http::etag(version, size);
        // A range for another version of the file than the client holds
        // would splice two files: the whole file instead (RFC 9110 13.1.5).
        // Dates are not our validators, so an `If-Range` date matches
        // nothing either.
        let range = match &r.if_range {
            Some(validator) if validator.as_slice() != tag.as_bytes() => None,
            _ => r.range,
        };
        let (status, start, end) = match range {
            None => (200, 0, size),
            Some((Some(first), last)) if first < size => {
                let end = last.map_or(size, |l| l.saturating_add(1).min(size));
                if end <= first {
                    return unsatisfiable(self);
                }
                (206, first, end)
            }
            Some((None, Some(suffix))) if suffix > 0 && size > 0 => {
                (206, size - suffix.min(size), size)
            }
            Some(_) => return unsatisfiable(self),
        };
        let mut extra: heapless::String<192> = heapless::String::new();
        let _ = write!(extra, "Accept-Ranges: bytes\r\nETag: {tag}\r\n");
        if status == 206 {
            let _ = write!(extra, "Content-Range: bytes {start}-{}/{size}\r\n", end - 1);
        }
        self.respond(
            status,
            "application/octet-stream",
            Some(end - start),
            &extra,
        );
        if r.method == Method::Get && end > start {
            self.body = Body::File {
                name: name.clone(),
                version,
                offset: start,
                end,
            };
        }
    }
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize, W: Wrap>
    FileServer<S, CONNS, HDR, LOG, W>
{
    /// Move file bytes from storage straight into the socket's send buffer:
    /// one copy per byte.
    pub(super) fn send_file(&mut self, i: usize, stack: &mut Stack<'_>, now: Instant) -> Sent {
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
        // Between ACKs the send buffer is usually full: then there is
        // nothing to read, and no reason to ask storage about the file
        // (a path lookup each time on a host).
        if !stream.can_send(stack) && stream.is_open(stack) {
            return Sent::Blocked;
        }
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
    pub(super) fn refill_listing(&mut self, i: usize) -> bool {
        let storage = &mut self.storage;
        let c = &mut self.server.conns[i];
        let Body::Listing {
            index,
            html,
            stage,
            writes,
            done,
        } = &mut c.body
        else {
            return false;
        };
        if *done {
            return false;
        }
        let mut w = piece(&mut c.out);
        // One row, or one piece of the page around the rows, per call.
        let entry = if *stage == Stage::Rows {
            storage.entry(*index)
        } else {
            None
        };
        match entry {
            Some((name, size)) => {
                *index += 1;
                if *html {
                    let modified = storage.modified(&name);
                    let _ = page::row(name.as_str(), size, modified, *writes, &mut w);
                } else {
                    let _ = writeln!(w, "{name} {size}");
                }
            }
            None if !*html => *done = true,
            None => {
                let at = if *stage == Stage::Rows {
                    Stage::Tail(0)
                } else {
                    *stage
                };
                match page::piece(at, *writes, &mut w) {
                    Some(next) => *stage = next,
                    None => *done = true,
                }
            }
        }
        let n = w.len();
        let done = *done;
        c.frame_piece(n, done)
    }

    /// Stage the next piece of the live view; false when it is done.
    pub(super) fn refill_live(&mut self, i: usize, stack: &Stack<'_>) -> bool {
        let c = &mut self.server.conns[i];
        let Body::Live(Some(stage)) = c.body else {
            return false;
        };
        let mut w = piece(&mut c.out);
        let next = live::piece(stage, stack, &mut w);
        let n = w.len();
        c.body = Body::Live(next);
        c.frame_piece(n, next.is_none())
    }
}

/// Where a piece of a generated body is written: after room for its chunk
/// size line, with room for the chunk's end and the last chunk after it.
const PRE: usize = 8;

/// The buffer a generated body's next piece is written into.
fn piece(out: &mut [u8; OUT_BUFFER]) -> Writer<'_> {
    Writer::new(&mut out[PRE..OUT_BUFFER - 7])
}

impl<const HDR: usize, T: Transport> Conn<HDR, T> {
    /// Stage the `n` bytes just written by [`piece`]: when chunked,
    /// its size line goes right before it and "\r\n" (and, at the end,
    /// the last chunk "0\r\n\r\n") after it, so nothing is copied. True
    /// if there is something to send.
    fn frame_piece(&mut self, n: usize, done: bool) -> bool {
        let (mut start, mut end) = (PRE, PRE + n);
        if self.chunked {
            if n > 0 {
                let mut size: heapless::String<8> = heapless::String::new();
                let _ = write!(size, "{n:x}\r\n");
                start = PRE - size.len();
                self.out[start..PRE].copy_from_slice(size.as_bytes());
                self.out[end..end + 2].copy_from_slice(b"\r\n");
                end += 2;
            }
            if done {
                self.out[end..end + 5].copy_from_slice(b"0\r\n\r\n");
                end += 5;
            }
        }
        if let Some(e) = &mut self.entry {
            e.bytes += n as u64;
        }
        self.sent = start;
        self.outlen = end;
        end > start
    }
}
