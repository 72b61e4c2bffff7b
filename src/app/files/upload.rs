//! Uploads: a PUT's body, framed by Content-Length or chunked, streamed
//! from the socket's receive buffer straight into an atomic upload in
//! [`Phase::Upload`], then committed (201 or 204) or abandoned.
//!
//! Layer: app. Depends on [`crate::socket`]'s zero-copy receive, the
//! [`Storage`] trait and this service's `chunked` decoder; nothing
//! host-side, no heap.

use smoltcp::time::Instant;

use super::chunked::{BadFraming, Chunked};
use super::conn::{Conn, Framing, Phase, Turn};
use super::http::Request;
use super::{FileServer, Limits};
use crate::app::consume_front;
use crate::app::storage::{Name, Storage, StorageError};
use crate::app::transport::{Transport, Wrap};
use crate::net::Stack;
use crate::socket::Error;

/// Why an upload's body stopped short.
enum UploadError {
    Framing,
    TooLarge,
    Storage(StorageError),
}

impl<const HDR: usize, T: Transport> Conn<HDR, T> {
    /// `PUT /<name>`: check the framing and the limit, begin the upload,
    /// and answer `Expect: 100-continue`.
    pub(super) fn start_upload(
        &mut self,
        storage: &mut impl Storage,
        limits: Limits,
        r: &Request,
        name: &Name,
    ) {
        if r.bad_coding {
            return self.fail(501, "");
        }
        let framing = match (r.chunked, r.content_length) {
            // Both: the coding wins, but a peer that sends both may
            // be smuggling a second request (RFC 9112 6.3): refuse.
            (true, Some(_)) => return self.fail(400, ""),
            (true, None) => Framing::Chunked(Chunked::START),
            (false, None) => return self.fail(411, ""),
            (false, Some(Err(()))) => return self.fail(400, ""),
            (false, Some(Ok(len))) => {
                if len > limits.max_body {
                    return self.fail(413, "");
                }
                Framing::Length(len)
            }
        };
        let begun = match framing {
            Framing::Length(len) => storage.begin_upload(name, len),
            Framing::Chunked(_) => storage.begin_stream_upload(name, limits.max_body),
        };
        let id = match begun {
            Ok(id) => id,
            Err(StorageError::Full) => return self.fail(507, ""),
            Err(StorageError::TooLarge) => return self.fail(413, ""),
            Err(StorageError::Forbidden) => return self.fail(403, ""),
            Err(_) => return self.fail(500, ""),
        };
        self.phase = Phase::Upload {
            id,
            framing,
            name: name.clone(),
        };
        if r.expect_continue {
            let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
            self.out[..cont.len()].copy_from_slice(cont);
            self.set_out(cont.len());
        }
    }
}

impl<S: Storage, const CONNS: usize, const HDR: usize, const LOG: usize, W: Wrap>
    FileServer<S, CONNS, HDR, LOG, W>
{
    /// [`Phase::Upload`]: move what has come into storage; commit at the
    /// body's end, answer an error (and abandon the upload) on a bad one.
    pub(super) fn upload_turn(
        &mut self,
        i: usize,
        stack: &mut Stack<'_>,
        now: Instant,
        progress: &mut bool,
    ) -> Turn {
        let (moved, result) = self.upload_body(i, stack, now);
        *progress |= moved;
        let c = &mut self.server.conns[i];
        let Phase::Upload { id, framing, name } = &c.phase else {
            return Turn::Again;
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
            return Turn::Again;
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
            *progress = true;
            return Turn::Again;
        }
        if c.eof {
            // The client went away mid-body: the upload is dropped
            // (aborted when the connection is removed).
            return Turn::Close;
        }
        if now >= c.last_activity + self.limits.idle {
            self.storage.abort(id);
            let c = &mut self.server.conns[i];
            c.phase = Phase::Head;
            c.fail(408, "");
            return Turn::Again;
        }
        if moved {
            return Turn::Again;
        }
        Turn::Wait
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
}
