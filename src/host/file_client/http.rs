//! The HTTP of the file clients: the request head (with Basic
//! credentials), the response head, the body as its framing says
//! (`Content-Length`, chunked, or until close), and an error page brought
//! down to one line.
//!
//! Layer: host (std). Uses [`crate::host::blocking`] and `httparse`.

use std::fmt::Write as _;
use std::io::Write;

use super::checksum::Hasher;
use super::wire::Wire;
use super::{BLOCK, FileError, HEAD_MAX, Options, Progress};
use crate::IpEndpoint;
use crate::app::files::write_url;
use crate::host::blocking::Driver;

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
/// use layernet::host::file_client::basic_credentials;
/// assert_eq!(basic_credentials("Aladdin:open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// ```
pub fn basic_credentials(user_pass: &str) -> String {
    format!("Basic {}", base64(user_pass.as_bytes()))
}

pub(super) fn request_head(
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
pub(super) struct Response {
    pub(super) status: u16,
    /// The reason phrase as the server wrote it.
    pub(super) reason: String,
    /// The body is HTML (by `Content-Type`).
    pub(super) html: bool,
    pub(super) length: Option<u64>,
    pub(super) chunked: bool,
    pub(super) content_range_start: Option<u64>,
    /// Body bytes that arrived with the head.
    pub(super) leftover: Vec<u8>,
}

/// Read until a complete response head; 1xx heads are skipped unless
/// `stop_at_continue`.
pub(super) fn read_head<N: Driver>(
    s: &mut Wire<N>,
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
pub(super) struct BodyReader<'s, N: Driver> {
    pub(super) stream: &'s mut Wire<N>,
    pub(super) pending: Vec<u8>,
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
        self.stream.recv(buf)
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

    pub(super) fn read_body(
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
pub(super) fn error_text<N: Driver>(s: &mut Wire<N>, r: &Response) -> String {
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
            tls: None,
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
