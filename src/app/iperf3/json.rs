//! Just enough JSON for iperf3's control channel: find a top-level field
//! of an object and read it as a number, a flag or a string, walk an
//! array; objects are written with [`Writer`] and `write!`.
//!
//! Layer: app. Depends on `core` only; no std, no alloc, no recursion (a
//! nested value is skipped by counting brackets, so a hostile depth costs
//! nothing but time linear in its length).
//!
//! Why not serde-json-core: iperf3's parameters are an object whose field
//! set changes between versions (3.12 adds some, later ones more), and a
//! derive would need every field named or an "ignore unknown" pass anyway;
//! the reader below is that pass, and it is all iperf3 needs.

/// A value found by [`field`]: its raw text, typed by its first byte.
///
/// ```
/// use layernet::app::iperf3::json::{field, Value};
/// let j = br#"{"a":null,"b":[1,2],"c":-1}"#;
/// assert_eq!(field(j, "a"), Some(Value::Null));
/// assert_eq!(field(j, "b"), Some(Value::Nested(b"[1,2]")));
/// assert_eq!(field(j, "c"), Some(Value::Number(b"-1")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A number's text (`12`, `-1`, `1.5e+09`).
    Number(&'a [u8]),
    /// A string's contents between the quotes, escapes left as they are.
    Str(&'a [u8]),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An object or an array, brackets included.
    Nested(&'a [u8]),
}

impl Value<'_> {
    /// The number as an integer: `None` for anything but a number; a
    /// fraction or exponent is read as a float and cut (saturating), as
    /// cJSON's `valueint` is.
    ///
    /// ```
    /// use layernet::app::iperf3::json::{field, Value};
    /// let j = br#"{"time":10,"bandwidth":1.5e+09,"title":"x"}"#;
    /// assert_eq!(field(j, "time").and_then(|v| v.as_i64()), Some(10));
    /// assert_eq!(field(j, "bandwidth").and_then(|v| v.as_i64()), Some(1_500_000_000));
    /// assert_eq!(field(j, "title").and_then(|v| v.as_i64()), None);
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        let Value::Number(text) = self else {
            return None;
        };
        let text = core::str::from_utf8(text).ok()?;
        if let Ok(n) = text.parse::<i64>() {
            return Some(n);
        }
        decimal_to_i64(text.as_bytes())
    }

    /// True for `true`, and for a non-zero number (cJSON's clients send
    /// some flags as `1`).
    ///
    /// ```
    /// use layernet::app::iperf3::json::field;
    /// let j = br#"{"reverse":true,"udp":false,"get_server_output":1}"#;
    /// assert!(field(j, "reverse").is_some_and(|v| v.is_true()));
    /// assert!(!field(j, "udp").is_some_and(|v| v.is_true()));
    /// assert!(field(j, "get_server_output").is_some_and(|v| v.is_true()));
    /// ```
    pub fn is_true(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Number(_) => self.as_i64().is_some_and(|n| n != 0),
            _ => false,
        }
    }
}

/// A JSON number with a fraction or an exponent, cut toward zero and
/// saturating, in integers: `str::parse::<f64>` would do it too, but
/// brings core's float parser and its tables, 15 KiB of a board's flash.
fn decimal_to_i64(text: &[u8]) -> Option<i64> {
    let (negative, rest) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, rest) = match rest.iter().position(|b| *b == b'e' || *b == b'E') {
        Some(e) => (&rest[..e], Some(&rest[e + 1..])),
        None => (rest, None),
    };
    let (int, frac) = match mantissa.iter().position(|b| *b == b'.') {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, &mantissa[..0]),
    };
    if int.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    // The digits as one integer and a power of ten; past 30 digits the
    // rest only scale it (an i64 has 19).
    let (mut digits, mut scale) = (0u128, 0i64);
    for (i, d) in int.iter().chain(frac).enumerate() {
        if digits < 10u128.pow(30) {
            digits = digits * 10 + u128::from(d - b'0');
            scale -= i64::from(i >= int.len());
        } else {
            scale += i64::from(i < int.len());
        }
    }
    if let Some(exp) = rest {
        let (sign, exp) = match exp.split_first() {
            Some((b'-', e)) => (-1, e),
            Some((b'+', e)) => (1, e),
            _ => (1, exp),
        };
        if exp.is_empty() || !exp.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Capped: any exponent past 400 means 0 or saturation.
        let e = exp
            .iter()
            .fold(0i64, |e, d| (e * 10 + i64::from(d - b'0')).min(400));
        scale += sign * e;
    }
    let mut value = digits;
    while scale > 0 && value != 0 {
        value = value.saturating_mul(10);
        scale -= 1;
    }
    while scale < 0 && value != 0 {
        value /= 10;
        scale += 1;
    }
    let limit = if negative {
        1u128 << 63
    } else {
        (1u128 << 63) - 1
    };
    let cut = i128::try_from(value.min(limit)).ok()?;
    i64::try_from(if negative { -cut } else { cut }).ok()
}

/// Bytes of JSON whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The index of the first non-space byte at or after `i`.
fn skip_space(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    i
}

/// `s[i]` is a quote: the index just past the closing quote.
fn end_of_string(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The value starting at `s[i]` (no leading space) and the index past it.
fn value_at(s: &[u8], i: usize) -> Option<(Value<'_>, usize)> {
    let first = *s.get(i)?;
    match first {
        b'"' => {
            let end = end_of_string(s, i)?;
            Some((Value::Str(&s[i + 1..end - 1]), end))
        }
        b'{' | b'[' => {
            // Count brackets outside strings; their kinds are not matched
            // (a malformed nest is skipped as well as a good one, and only
            // the fields iperf3 defines are ever read).
            let mut depth = 0usize;
            let mut j = i;
            while j < s.len() {
                match s[j] {
                    b'"' => {
                        j = end_of_string(s, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some((Value::Nested(&s[i..=j]), j + 1));
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < s.len() && !matches!(s[j], b',' | b'}' | b']') && !is_space(s[j]) {
                j += 1;
            }
            let word = &s[i..j];
            let value = match word {
                b"true" => Value::Bool(true),
                b"false" => Value::Bool(false),
                b"null" => Value::Null,
                [b'-' | b'0'..=b'9', ..] => Value::Number(word),
                _ => return None,
            };
            Some((value, j))
        }
    }
}

/// The value of field `key` of the object `json` (top level only), or
/// `None` if it is missing or the text is not an object up to it.
///
/// # Example
///
/// ```
/// use layernet::app::iperf3::json::{field, Value};
/// let j = br#" { "tcp" : true, "streams":[{"id":1}], "client_version":"3.12" } "#;
/// assert_eq!(field(j, "tcp"), Some(Value::Bool(true)));
/// assert_eq!(field(j, "client_version"), Some(Value::Str(b"3.12")));
/// assert_eq!(field(j, "id"), None, "only the top level");
/// assert_eq!(field(b"[1,2]", "tcp"), None);
/// ```
pub fn field<'a>(json: &'a [u8], key: &str) -> Option<Value<'a>> {
    let mut i = skip_space(json, 0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_space(json, i + 1);
    loop {
        if json.get(i)? != &b'"' {
            return None;
        }
        let end = end_of_string(json, i)?;
        let name = &json[i + 1..end - 1];
        i = skip_space(json, end);
        if json.get(i)? != &b':' {
            return None;
        }
        i = skip_space(json, i + 1);
        let (value, next) = value_at(json, i)?;
        if name == key.as_bytes() {
            return Some(value);
        }
        i = skip_space(json, next);
        match json.get(i)? {
            b',' => i = skip_space(json, i + 1),
            _ => return None,
        }
    }
}

/// The values of the JSON array `array` (an iperf3 result's `streams`),
/// in order; stops at the end or at the first malformed item.
///
/// ```
/// use layernet::app::iperf3::json::{field, items, Value};
/// let j = br#"{"streams":[{"id":1,"bytes":5},{"id":3,"bytes":7}]}"#;
/// let Some(Value::Nested(streams)) = field(j, "streams") else { panic!() };
/// let bytes: Vec<i64> = items(streams)
///     .filter_map(|s| match s { Value::Nested(o) => field(o, "bytes")?.as_i64(), _ => None })
///     .collect();
/// assert_eq!(bytes, [5, 7]);
/// assert_eq!(items(b"[]").count(), 0);
/// ```
pub fn items(array: &[u8]) -> Items<'_> {
    let i = skip_space(array, 0);
    let at = if array.get(i) == Some(&b'[') {
        skip_space(array, i + 1)
    } else {
        array.len()
    };
    Items { s: array, at }
}

/// The iterator of [`items`].
///
/// ```
/// let mut it = layernet::app::iperf3::json::items(b"[true]");
/// assert_eq!(it.next(), Some(layernet::app::iperf3::json::Value::Bool(true)));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Items<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Items<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        let Some((value, next)) = value_at(self.s, self.at) else {
            self.at = self.s.len();
            return None;
        };
        let i = skip_space(self.s, next);
        self.at = match self.s.get(i) {
            Some(b',') => skip_space(self.s, i + 1),
            _ => self.s.len(),
        };
        Some(value)
    }
}

/// The fixed-buffer writer the results are written with (shared with the
/// file service's response heads).
pub use crate::app::writer::Writer;

#[cfg(test)]
mod tests {
    use super::{Value, decimal_to_i64, field};

    /// Fractions and exponents, read without floats, agree with the
    /// float reading cut toward zero (as cJSON's `valueint`).
    #[test]
    fn numbers_with_fractions_and_exponents_are_cut_as_floats_are() {
        for text in [
            "1.5e+09",
            "-2.7",
            "0.999",
            "2.0001",
            "1e3",
            "1E-2",
            "-0.5",
            "12.5e1",
            "9.99e18",
            "1e400",
            "-1e400",
            "1e-400",
            "123456789012345678901234567890123456789.9",
            "0.000000000000000000000000000000000000000001e45",
            "-9223372036854775808.5",
            "1.",
        ] {
            let want = text.parse::<f64>().map(|f| f as i64).ok();
            assert_eq!(decimal_to_i64(text.as_bytes()), want, "{text}");
        }
        for bad in ["", "-", ".5", "1e", "1e+", "1.2.3", "abc", "1x", "--1"] {
            assert_eq!(decimal_to_i64(bad.as_bytes()), None, "{bad}");
        }
    }

    /// What iperf3 3.12's client sends for `iperf3 -c HOST -P 4 -R -t 2`.
    const PARAMS: &[u8] = br#"{"tcp":true,"omit":0,"time":2,"num":0,"blockcount":0,"parallel":4,"reverse":true,"len":131072,"pacing_timer":1000,"client_version":"3.12"}"#;

    #[test]
    fn reads_the_fields_of_a_real_parameter_object() {
        assert_eq!(field(PARAMS, "parallel").and_then(|v| v.as_i64()), Some(4));
        assert_eq!(field(PARAMS, "time").and_then(|v| v.as_i64()), Some(2));
        assert!(field(PARAMS, "reverse").is_some_and(|v| v.is_true()));
        assert_eq!(field(PARAMS, "udp"), None);
        assert_eq!(field(PARAMS, "client_version"), Some(Value::Str(b"3.12")));
    }

    #[test]
    fn skips_escaped_quotes_and_nested_brackets() {
        let j = br#"{"title":"a \"}\" b","extra":{"x":[1,{"y":"]"}]},"parallel":2}"#;
        assert_eq!(field(j, "parallel").and_then(|v| v.as_i64()), Some(2));
    }

    #[test]
    fn no_panic_on_any_prefix_or_garbage() {
        let j = br#"{"title":"a \"}\" b","extra":{"x":[1,{"y":"]"}]},"parallel":2}"#;
        for n in 0..j.len() {
            let _ = field(&j[..n], "parallel");
            let _ = field(&j[..n], "zzz");
        }
        for junk in [
            &b"}}}}"[..],
            b"{\"a\"",
            b"{\"a\":}",
            b"{\"a\":1 2}",
            b"{:",
            b"]]]",
            b"{\"a\":-}",
        ] {
            let _ = field(junk, "a").map(|v| v.as_i64());
        }
        let deep = [b'['; 10_000];
        assert_eq!(field(&deep, "a"), None);
    }
}
