//! TLS records inside a TCP payload: the record layer's header (content
//! type, version, length) and, for handshake records in the clear, the
//! handshake messages' types. After TLS 1.3's ServerHello the rest of the
//! handshake travels encrypted, as application data records: the trace
//! can name only what is in the clear, as Wireshark does without keys.
//!
//! Layer: a view (the trace). Depends on nothing but `core::fmt`; no
//! allocation. Used for TCP payloads on [`crate::app::ports::FILES_TLS`],
//! or on any port where the payload starts with a record header.

use core::fmt;

/// Largest record length accepted as a header: 2^14 of plaintext plus the
/// 256 bytes of expansion TLS 1.2 allows (TLS 1.3 allows less).
const MAX_RECORD: usize = (1 << 14) + 256;
/// Records described per segment at most; more are counted.
const RECORDS_SHOWN: usize = 8;

/// True if `payload` starts with what can only be a TLS record header: a
/// content type of 20 to 23, version 3.1 to 3.4, a length within TLS's.
pub(crate) fn starts_record(payload: &[u8]) -> bool {
    match payload {
        [kind, 3, minor, hi, lo, ..] => {
            (20..=23).contains(kind)
                && (1..=4).contains(minor)
                && usize::from(u16::from_be_bytes([*hi, *lo])) <= MAX_RECORD
        }
        _ => false,
    }
}

/// The records of one TCP payload that starts at a record boundary, as
/// one line's text: `ClientHello 512, ChangeCipherSpec 1,
/// ApplicationData 1400 (continues)`.
pub(crate) struct Records<'p>(pub(crate) &'p [u8]);

impl fmt::Display for Records<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut shown = 0;
        // After a ChangeCipherSpec (TLS 1.2, or 1.3's compatibility one)
        // handshake records are sealed: their first byte is not a type.
        let mut sealed = false;
        // Every record consumes at least its 5-byte header.
        while !rest.is_empty() {
            if !starts_record(rest) {
                return write!(f, ", {} bytes not a record", rest.len());
            }
            let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            let body = &rest[5..];
            let whole = body.len() >= length;
            let body = &body[..length.min(body.len())];
            if shown == RECORDS_SHOWN {
                let more = count_records(rest);
                return write!(f, ", +{more} more record(s)");
            }
            if shown > 0 {
                f.write_str(", ")?;
            }
            match rest[0] {
                20 => {
                    sealed = true;
                    f.write_str("ChangeCipherSpec")?;
                }
                21 => Alert(body).fmt(f)?,
                22 if sealed => f.write_str("Handshake (encrypted)")?,
                22 => Handshake(body).fmt(f)?,
                _ => f.write_str("ApplicationData")?,
            }
            write!(f, " {length}")?;
            if !whole {
                return f.write_str(" (continues)");
            }
            shown += 1;
            rest = &rest[5 + length..];
        }
        Ok(())
    }
}

/// Whole or partial records in `payload` (which starts at a header).
fn count_records(mut payload: &[u8]) -> usize {
    let mut n = 0;
    while starts_record(payload) {
        n += 1;
        let length = usize::from(u16::from_be_bytes([payload[3], payload[4]]));
        payload = payload.get(5 + length..).unwrap_or(&[]);
    }
    n
}

/// An alert: level and description when in the clear (2 bytes), else
/// encrypted.
struct Alert<'b>(&'b [u8]);

impl fmt::Display for Alert<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [level, description] = self.0 else {
            return f.write_str("Alert (encrypted)");
        };
        let level = match level {
            1 => "warning",
            2 => "fatal",
            _ => "level?",
        };
        let name = match description {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            40 => "handshake_failure",
            42 => "bad_certificate",
            46 => "certificate_unknown",
            48 => "unknown_ca",
            50 => "decode_error",
            51 => "decrypt_error",
            70 => "protocol_version",
            80 => "internal_error",
            90 => "user_canceled",
            109 => "missing_extension",
            112 => "unrecognized_name",
            116 => "certificate_required",
            120 => "no_application_protocol",
            _ => return write!(f, "Alert {level} {description}"),
        };
        write!(f, "Alert {level} {name}")
    }
}

/// The handshake messages of a record in the clear, by type.
struct Handshake<'b>(&'b [u8]);

impl fmt::Display for Handshake<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        // Every message consumes at least its 4-byte header; a few at most.
        for _ in 0..RECORDS_SHOWN {
            let [kind, a, b, c, ..] = rest else {
                break;
            };
            if !first {
                f.write_str("+")?;
            }
            first = false;
            match handshake_name(*kind) {
                Some(name) => f.write_str(name)?,
                None => write!(f, "Handshake({kind})")?,
            }
            let length = (usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c);
            rest = rest.get(4 + length..).unwrap_or(&[]);
        }
        if first {
            f.write_str("Handshake")?;
        }
        Ok(())
    }
}

/// The name of handshake message type `kind` (RFC 8446 4, RFC 5246 7.4).
pub(super) fn handshake_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        24 => "KeyUpdate",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn headers_are_told_from_text() {
        assert!(starts_record(&[22, 3, 1, 0, 5, 1, 0, 0, 1, 0]));
        assert!(!starts_record(b"GET / HTTP/1.1\r\n"));
        assert!(!starts_record(&[22, 3, 1, 0xff, 0xff]), "too long for TLS");
        assert!(!starts_record(&[22, 3]), "short");
    }

    #[test]
    fn records_are_named_by_type_and_handshake_message() {
        // A ClientHello record whole, then a ChangeCipherSpec, then
        // application data cut by the segment's end.
        let mut p = std::vec![22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0];
        p.extend([20, 3, 3, 0, 1, 1]);
        p.extend([23, 3, 3, 0x10, 0, 9, 9, 9]);
        assert_eq!(
            format!("{}", Records(&p)),
            "ClientHello 8, ChangeCipherSpec 1, ApplicationData 4096 (continues)"
        );
        // TLS 1.2's server flight: three messages in one record.
        let flight = [22, 3, 3, 0, 12, 2, 0, 0, 0, 11, 0, 0, 0, 14, 0, 0, 0];
        assert_eq!(
            format!("{}", Records(&flight)),
            "ServerHello+Certificate+ServerHelloDone 12"
        );
        let finished = [20, 3, 3, 0, 1, 1, 22, 3, 3, 0, 2, 0xab, 0xcd];
        assert_eq!(
            format!("{}", Records(&finished)),
            "ChangeCipherSpec 1, Handshake (encrypted) 2"
        );
        assert_eq!(
            format!("{}", Records(&[21, 3, 3, 0, 2, 2, 48])),
            "Alert fatal unknown_ca 2"
        );
        assert_eq!(
            format!("{}", Records(&[21, 3, 3, 0, 3, 1, 2, 3])),
            "Alert (encrypted) 3"
        );
    }
}
