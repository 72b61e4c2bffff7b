//! The chunked transfer coding of a request body (RFC 9112 section 7.1),
//! decoded in place: the data bytes go to the caller straight from the
//! socket's receive buffer, and only the framing (sizes, CRLFs, trailers)
//! is read byte by byte.
//!
//! Layer: app. Depends on nothing but `core` (and the name rules' hex
//! digits).

use crate::app::storage::hex;

/// Hex digits of a chunk size at most: 15 keep it below 2^60, so it never
/// overflows and any size past the upload limit is refused anyway.
const SIZE_DIGITS: u8 = 15;

/// Where the decoder stands between two calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// Before the first hex digit of a chunk size.
    SizeStart,
    /// In the size: its value and digits so far.
    Size(u64, u8),
    /// In a chunk extension (`;name=value`), ignored up to its CR.
    Extension(u64),
    /// After the size line's CR.
    SizeLf(u64),
    /// Inside a chunk's data: bytes still to come.
    Data(u64),
    /// After a chunk's data: its CR, then LF.
    DataCr,
    DataLf,
    /// After the last chunk (size 0): at the start of a trailer line.
    TrailerStart,
    /// Inside a trailer field line, ignored up to its LF.
    Trailer,
    /// The empty line's LF that ends the body.
    EndLf,
    /// The body is over; what follows is the next request.
    Done,
}

/// A framing error: the body cannot be delimited, so the request is 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadFraming;

impl Chunked {
    pub(crate) const START: Chunked = Chunked::SizeStart;

    /// Walk `input`, handing each run of data bytes to `data` (which
    /// returns how many it took: fewer stops the walk there). Returns how
    /// many bytes of `input` were consumed; stops at [`Chunked::Done`].
    pub(crate) fn feed<E>(
        &mut self,
        input: &[u8],
        mut data: impl FnMut(&[u8]) -> Result<usize, E>,
    ) -> (usize, Result<(), Result<BadFraming, E>>) {
        let mut at = 0;
        while at < input.len() {
            if let Chunked::Data(left) = *self {
                let n = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - at);
                let took = match data(&input[at..at + n]) {
                    Ok(took) => took.min(n),
                    Err(e) => return (at, Err(Err(e))),
                };
                at += took;
                let left = left - took as u64;
                *self = if left == 0 {
                    Chunked::DataCr
                } else {
                    Chunked::Data(left)
                };
                if took < n {
                    return (at, Ok(()));
                }
                continue;
            }
            if *self == Chunked::Done {
                break;
            }
            let b = input[at];
            at += 1;
            let next = match (*self, b) {
                (Chunked::SizeStart, _) => hex(b).map(|d| Chunked::Size(u64::from(d), 1)),
                (Chunked::Size(v, n), _) if hex(b).is_some() => (n < SIZE_DIGITS)
                    .then(|| Chunked::Size(v << 4 | u64::from(hex(b).unwrap_or(0)), n + 1)),
                (Chunked::Size(v, _), b';' | b' ' | b'\t') => Some(Chunked::Extension(v)),
                (Chunked::Size(v, _) | Chunked::Extension(v), b'\r') => Some(Chunked::SizeLf(v)),
                (Chunked::Extension(_), b'\n') => None,
                (Chunked::Extension(v), _) => Some(Chunked::Extension(v)),
                (Chunked::SizeLf(0), b'\n') => Some(Chunked::TrailerStart),
                (Chunked::SizeLf(v), b'\n') => Some(Chunked::Data(v)),
                (Chunked::DataCr, b'\r') => Some(Chunked::DataLf),
                (Chunked::DataLf, b'\n') => Some(Chunked::SizeStart),
                (Chunked::TrailerStart, b'\r') => Some(Chunked::EndLf),
                (Chunked::TrailerStart | Chunked::Trailer, b'\n') => {
                    (*self == Chunked::Trailer).then_some(Chunked::TrailerStart)
                }
                (Chunked::TrailerStart | Chunked::Trailer, _) => Some(Chunked::Trailer),
                (Chunked::EndLf, b'\n') => Some(Chunked::Done),
                _ => None,
            };
            match next {
                Some(s) => *self = s,
                None => return (at, Err(Ok(BadFraming))),
            }
        }
        (at, Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode `body` fed in pieces of `step` bytes; the data and where it stopped.
    fn decode(body: &[u8], step: usize) -> (heapless::Vec<u8, 64>, Result<usize, BadFraming>) {
        let mut state = Chunked::START;
        let mut out = heapless::Vec::new();
        let mut at = 0;
        while at < body.len() && state != Chunked::Done {
            let end = (at + step).min(body.len());
            let (n, r) = state.feed::<()>(&body[at..end], |d| {
                out.extend_from_slice(d).map_err(|_| ())?;
                Ok(d.len())
            });
            at += n;
            match r {
                Ok(()) => {}
                Err(Ok(bad)) => return (out, Err(bad)),
                Err(Err(())) => panic!("the test's buffer is too small"),
            }
        }
        (
            out,
            if state == Chunked::Done {
                Ok(at)
            } else {
                Err(BadFraming)
            },
        )
    }

    #[test]
    fn bodies_decode_in_any_pieces() {
        let body =
            b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\nGET / HTTP/1.1\r\n";
        let end = body.len() - b"GET / HTTP/1.1\r\n".len();
        for step in 1..body.len() {
            let (data, end_seen) = decode(body, step);
            assert_eq!(
                (&data[..], end_seen),
                (&b"hello, world"[..], Ok(end)),
                "step {step}"
            );
        }
        assert_eq!(
            &decode(b"A\r\n0123456789\r\n0\r\n\r\n", 4).0[..],
            b"0123456789"
        );
    }

    #[test]
    fn bad_framing_is_refused() {
        for bad in [
            &b"x\r\n"[..],
            b"5\r\nhelloX\r\n",
            b"5\nhello\r\n",
            b"5\r\nhello\r\n0\r\n\n",
            b"1234567890abcdef0\r\n",
            b"\r\n",
            b"5;ext\n",
        ] {
            assert_eq!(decode(bad, 3).1, Err(BadFraming), "{bad:?}");
        }
    }

    #[test]
    fn a_sink_that_stops_stops_the_walk() {
        let mut state = Chunked::START;
        let (n, r) = state.feed::<()>(b"a\r\n0123456789\r\n", |d| Ok(d.len().min(4)));
        assert_eq!((n, r), (7, Ok(())));
        assert_eq!(state, Chunked::Data(6));
        let (n, r) = state.feed::<&str>(b"456789", |_| Err("disk full"));
        assert_eq!((n, r), (0, Err(Err("disk full"))));
    }
}
