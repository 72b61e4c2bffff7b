//! The client side of mDNS: a one-shot query for a host's address and the
//! reading of the answer (RFC 6762 sections 5.1 and 6.7), for a client
//! that does not join the group.
//!
//! Layer: app. Depends on [`super::wire`] only; no heap.

use smoltcp::wire::Ipv4Address;

use super::wire::{CLASS_IN, CLASS_TOP, Full, Name, Reader, TYPE_A, Writer};

/// Write a one-shot query for `host`'s A record (RFC 6762 section 5.1)
/// into `buf`: what a client that only wants an address sends to
/// 224.0.0.251:5353 from an ephemeral port. Responders answer it by
/// unicast to that port, with `id` (the legacy rule of section 6.7), so
/// the client need not join the group. The message's length.
///
/// # Errors
///
/// [`Full`] if `buf` cannot hold it.
///
/// ```
/// use layernet::app::mdns::{address_in, one_shot_query, wire::Name};
/// let host = Name::from_parts(&["layernet.local"]).ok_or("name")?;
/// let mut buf = [0u8; 64];
/// let n = one_shot_query(&mut buf, 0x4242, &host).map_err(|_| "full")?;
/// assert_eq!(&buf[..2], &[0x42, 0x42]);
/// assert_eq!(address_in(&buf[..n], 0x4242, &host), None, "a query, not an answer");
/// # Ok::<(), &str>(())
/// ```
pub fn one_shot_query(buf: &mut [u8], id: u16, host: &Name) -> Result<usize, Full> {
    let mut w = Writer::new(buf, id, 0)?;
    w.question(host, TYPE_A, CLASS_IN)?;
    Ok(w.finish())
}

/// The address an answer to [`one_shot_query`] `id` gives `host`: its
/// first A record for that name (in any section), if the message is a
/// response with that ID.
///
/// ```
/// use layernet::app::mdns::{address_in, wire::*};
/// use layernet::Ipv4Address;
/// let host = Name::from_parts(&["layernet.local"]).ok_or("name")?;
/// let mut buf = [0u8; 128];
/// let mut w = Writer::new(&mut buf, 7, FLAGS_RESPONSE).map_err(|_| "full")?;
/// w.record(Section::Answer, &host, CLASS_IN, 10, Rdata::A([192, 168, 69, 1])).map_err(|_| "full")?;
/// let n = w.finish();
/// assert_eq!(address_in(&buf[..n], 7, &host), Some(Ipv4Address::new(192, 168, 69, 1)));
/// assert_eq!(address_in(&buf[..n], 8, &host), None, "another query's answer");
/// # Ok::<(), &str>(())
/// ```
pub fn address_in(msg: &[u8], id: u16, host: &Name) -> Option<Ipv4Address> {
    let mut reader = Reader::new(msg)?;
    let header = reader.header();
    if !header.is_response() || header.id != id || header.flags & 0xf != 0 {
        return None;
    }
    while let Some(r) = reader.next_record() {
        if r.rtype == TYPE_A
            && r.class & !CLASS_TOP == CLASS_IN
            && reader.name_is(r.name, host)
            && let [a, b, c, d] = *r.rdata
        {
            return Some(Ipv4Address::new(a, b, c, d));
        }
    }
    None
}
