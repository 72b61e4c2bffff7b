//! The file service's HTTP/1.1 subset: what a request head says, status
//! reasons, ranges, and the escaping of names into URLs and HTML.
//!
//! Layer: app. Uses `httparse` (no_std, no alloc) and [`super::storage`]'s
//! name rules; nothing here touches a socket.

use crate::app::storage::{FileNameError, Name};

/// Bytes of a request path kept for the access log; a longer one is cut.
pub(crate) const LOGGED_PATH: usize = 128;

/// Bytes of `user:password` kept from an `Authorization: Basic` header
/// once decoded; longer credentials are refused as wrong.
pub(crate) const CREDENTIALS_MAX: usize = 192;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Method {
    Get,
    Head,
    Put,
    Delete,
    Other,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Other => "OTHER",
        }
    }

    /// A method that changes the store.
    pub(crate) fn writes(self) -> bool {
        matches!(self, Method::Put | Method::Delete)
    }
}

/// What a parsed request asks for, copied out of the header buffer.
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) target: Result<Option<Name>, FileNameError>,
    /// The path as sent (cut at [`LOGGED_PATH`]), for the access log.
    pub(crate) path: heapless::String<LOGGED_PATH>,
    pub(crate) http10: bool,
    pub(crate) content_length: Option<Result<u64, ()>>,
    /// `Transfer-Encoding` said chunked (and nothing else).
    pub(crate) chunked: bool,
    /// `Transfer-Encoding` named a coding other than chunked alone.
    pub(crate) bad_coding: bool,
    pub(crate) close: bool,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
    pub(crate) range: Option<(Option<u64>, Option<u64>)>,
    /// `If-Range`: the range holds only while the file is still the one
    /// this validator names (RFC 9110 13.1.5). A value too long to be one
    /// of our ETags is kept empty, which matches none.
    pub(crate) if_range: Option<heapless::Vec<u8, ETAG_MAX>>,
    /// The listing as plain text: Accept names text/plain and not HTML.
    pub(crate) plain: bool,
    /// `user:password` from `Authorization: Basic`, decoded; `Some(Err)`
    /// for a header that is not valid Basic credentials.
    pub(crate) credentials: Option<Result<heapless::Vec<u8, CREDENTIALS_MAX>, ()>>,
    /// `X-Requested-With: XMLHttpRequest`: a script (the listing page's)
    /// asks, and handles a 401 itself.
    pub(crate) script: bool,
}

/// The standard reason phrase of `status` (RFC 9110), for the codes a
/// file server sends or a file client meets; `None` for others.
pub(crate) fn standard_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => return None,
    })
}

pub(crate) fn reason(status: u16) -> &'static str {
    standard_reason(status).unwrap_or("Unknown")
}

fn header_is(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The longest ETag [`etag`] writes: quotes, 16 and 16 hex digits, a dash.
pub(crate) const ETAG_MAX: usize = 40;

/// A file's ETag: its storage version and size, which change whenever it
/// is replaced. Strong, so that a browser may resume a download with
/// `If-Range` (a weak validator may not be used there).
pub(crate) fn etag(version: u64, size: u64) -> heapless::String<ETAG_MAX> {
    let mut tag = heapless::String::new();
    let _ = core::fmt::Write::write_fmt(&mut tag, format_args!("\"{version:x}-{size:x}\""));
    tag
}

/// `bytes=N-`, `bytes=N-M` or `bytes=-N`; anything else (several ranges,
/// other units) is ignored, as RFC 9110 allows, and the whole file is sent.
pub(crate) fn parse_range(value: &[u8]) -> Option<(Option<u64>, Option<u64>)> {
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

/// The base64 alphabet of RFC 4648 section 4 (the one Basic uses).
fn sextet(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decode padded base64 into `out`; `Err` for bad characters, bad padding
/// or an `out` too small.
pub(crate) fn base64_decode<const N: usize>(
    text: &[u8],
    out: &mut heapless::Vec<u8, N>,
) -> Result<(), ()> {
    if !text.len().is_multiple_of(4) {
        return Err(());
    }
    for (i, quad) in text.chunks(4).enumerate() {
        let last = (i + 1) * 4 == text.len();
        let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err(());
        }
        let mut v: u32 = 0;
        for &b in &quad[..4 - pad] {
            v = (v << 6) | u32::from(sextet(b).ok_or(())?);
        }
        v <<= 6 * pad as u32;
        let bytes = v.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]).map_err(|_| ())?;
    }
    Ok(())
}

fn basic_credentials(value: &[u8]) -> Result<heapless::Vec<u8, CREDENTIALS_MAX>, ()> {
    let v = value.trim_ascii();
    let scheme = v.get(..6).ok_or(())?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return Err(());
    }
    let mut out = heapless::Vec::new();
    base64_decode(v[6..].trim_ascii(), &mut out)?;
    Ok(out)
}

pub(crate) fn parse_request(req: &httparse::Request<'_, '_>) -> Request {
    let method = match req.method {
        Some("GET") => Method::Get,
        Some("HEAD") => Method::Head,
        Some("PUT") => Method::Put,
        Some("DELETE") => Method::Delete,
        _ => Method::Other,
    };
    let raw = req.path.unwrap_or("");
    let target = if !raw.starts_with('/') {
        Err(FileNameError::BadEncoding)
    } else {
        // A query string is not part of the name (wget and browsers may
        // add one); the path before it is.
        let path = raw.split('?').next().unwrap_or("");
        match Name::from_url_path(path) {
            Ok(n) => Ok(Some(n)),
            Err(FileNameError::Empty) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let mut path = heapless::String::new();
    for c in raw.chars() {
        // httparse admits only visible ASCII in a path; a cut keeps the head.
        if path.push(c).is_err() {
            break;
        }
    }
    let mut r = Request {
        method,
        target,
        path,
        http10: req.version == Some(0),
        content_length: None,
        chunked: false,
        bad_coding: false,
        close: false,
        keep_alive: false,
        expect_continue: false,
        range: None,
        if_range: None,
        plain: false,
        credentials: None,
        script: false,
    };
    let (mut wants_plain, mut wants_html) = (false, false);
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
            // Only `chunked` alone is understood; gzip or a repeated
            // header would leave the body's end unknown (RFC 9112 6.1).
            if header_is(v, "chunked") && !v.contains(&b',') && !r.chunked {
                r.chunked = true;
            } else {
                r.bad_coding = true;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            r.close |= header_is(v, "close");
            r.keep_alive |= header_is(v, "keep-alive");
        } else if h.name.eq_ignore_ascii_case("expect") {
            r.expect_continue |= header_is(v, "100-continue");
        } else if h.name.eq_ignore_ascii_case("range") {
            r.range = parse_range(v);
        } else if h.name.eq_ignore_ascii_case("if-range") {
            r.if_range = Some(heapless::Vec::from_slice(v.trim_ascii()).unwrap_or_default());
        } else if h.name.eq_ignore_ascii_case("accept") {
            wants_plain |= contains_ignore_case(v, b"text/plain");
            wants_html |= contains_ignore_case(v, b"text/html");
        } else if h.name.eq_ignore_ascii_case("authorization") {
            r.credentials = Some(basic_credentials(v));
        } else if h.name.eq_ignore_ascii_case("x-requested-with") {
            r.script = header_is(v, "xmlhttprequest");
        }
    }
    r.plain = wants_plain && !wants_html;
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

pub(crate) fn write_html(out: &mut impl core::fmt::Write, name: &str) -> core::fmt::Result {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Option<Request> {
        let mut headers = [httparse::EMPTY_HEADER; super::super::MAX_HEADERS];
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
        assert_eq!(r.path, "/a%20b");
        let r = parse(b"GET / HTTP/1.0\r\nAccept: text/html,*/*\r\n\r\n").unwrap();
        assert!(r.http10 && !r.plain && r.target == Ok(None));
        let r = parse(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n").unwrap();
        assert!(!r.plain, "HTML unless text/plain is asked for");
        let r = parse(b"GET / HTTP/1.1\r\nAccept: text/plain\r\n\r\n").unwrap();
        assert!(r.plain);
        let r =
            parse(b"PUT /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").unwrap();
        assert_eq!(r.content_length, Some(Err(())));
        let r = parse(b"GET /../x HTTP/1.1\r\n\r\n").unwrap();
        assert!(r.target.is_err());
        let r = parse(b"GET /a.txt?x=1 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.target.unwrap().unwrap().as_str(), "a.txt");
    }

    #[test]
    fn transfer_codings() {
        let r = parse(b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert!(r.chunked && !r.bad_coding);
        let r = parse(b"PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").unwrap();
        assert!(r.bad_coding);
        let r = parse(
            b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
        assert!(r.bad_coding, "twice is not once");
    }

    #[test]
    fn basic_credentials_decode() {
        // RFC 7617's example: Aladdin:open sesame.
        let r =
            parse(b"PUT /x HTTP/1.1\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n")
                .unwrap();
        assert_eq!(
            r.credentials.unwrap().unwrap().as_slice(),
            b"Aladdin:open sesame"
        );
        for bad in [
            &b"Basic QWxh!GRp"[..],
            b"Basic QQ=",
            b"Basic Q===",
            b"Bearer abc",
            b"Basic QQ==QQ==",
        ] {
            assert!(basic_credentials(bad).is_err(), "{bad:?}");
        }
        let mut out: heapless::Vec<u8, 8> = heapless::Vec::new();
        assert!(base64_decode(b"YWJj", &mut out).is_ok() && out == b"abc");
        let mut out: heapless::Vec<u8, 8> = heapless::Vec::new();
        assert!(base64_decode(b"YQ==", &mut out).is_ok() && out == b"a");
        let mut small: heapless::Vec<u8, 2> = heapless::Vec::new();
        assert!(base64_decode(b"YWJj", &mut small).is_err(), "no room");
    }

    #[test]
    fn truncated_oversized_and_garbage_heads_never_panic() {
        let good = b"GET /file.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=3-\r\nAccept: */*\r\nAuthorization: Basic YTpi\r\n\r\n";
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
            let _ = basic_credentials(&buf[..rng.below(buf.len() as u64) as usize]);
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
