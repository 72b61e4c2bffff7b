//! DNS messages as mDNS uses them (RFC 1035 section 4, RFC 6762 section
//! 18): a [`Reader`] that walks a received message's questions and
//! records, and a [`Writer`] that builds one in a caller's buffer.
//!
//! The reader never panics and never reads out of bounds, whatever the
//! bytes: every length is checked against the message, and a compressed
//! name may only point to an earlier place than the part of the name that
//! points (so decompression ends), and may not grow past 255 bytes. The
//! writer compresses names against those it wrote before (RFC 1035
//! section 4.1.4) and adds a record whole or not at all.
//!
//! Layer: app. Depends on nothing; no std, no alloc.
//!
//! Why this file is over the project's 800-line guide: it is one concern,
//! the DNS message format, as a reader and a writer that share the name,
//! record and section types; over a third of its lines are the docs and
//! runnable examples on each method, which read best beside the code they
//! show. Its tests are in `wire/tests.rs`.

/// The fixed header's length.
pub const HEADER: usize = 12;
/// The longest name on the wire, length bytes included (RFC 1035 3.1).
pub const MAX_NAME: usize = 255;
/// Type A (an IPv4 address).
pub const TYPE_A: u16 = 1;
/// Type PTR (a pointer to another name: DNS-SD's browsing).
pub const TYPE_PTR: u16 = 12;
/// Type TXT (key=value strings).
pub const TYPE_TXT: u16 = 16;
/// Type AAAA (an IPv6 address).
pub const TYPE_AAAA: u16 = 28;
/// Type SRV (a service's host and port).
pub const TYPE_SRV: u16 = 33;
/// Type NSEC (RFC 6762 section 6.1: which types a name has).
pub const TYPE_NSEC: u16 = 47;
/// The query type ANY (`*`).
pub const TYPE_ANY: u16 = 255;
/// Class IN.
pub const CLASS_IN: u16 = 1;
/// The class's top bit: "unicast response wanted" (QU) in a question,
/// "cache flush" in a record (RFC 6762 sections 5.4 and 10.2).
pub const CLASS_TOP: u16 = 0x8000;
/// The flags of an authoritative response (QR and AA).
pub const FLAGS_RESPONSE: u16 = 0x8400;

/// A message's fixed header.
///
/// ```
/// use layernet::app::mdns::wire::{Header, Reader};
/// let query = [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1];
/// let header = Reader::new(&query).ok_or("short")?.header();
/// assert_eq!((header.id, header.questions, header.is_response()), (0x1234, 1, false));
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// The query's identifier (0 in multicast mDNS).
    pub id: u16,
    /// QR, opcode, AA, TC, RD, RA, Z and RCODE.
    pub flags: u16,
    /// Questions.
    pub questions: u16,
    /// Answer records.
    pub answers: u16,
    /// Authority records (a probe's proposed records).
    pub authorities: u16,
    /// Additional records.
    pub additionals: u16,
}

impl Header {
    /// A response (QR set), not a query.
    ///
    /// ```
    /// use layernet::app::mdns::wire::{FLAGS_RESPONSE, Header};
    /// assert!(Header { flags: FLAGS_RESPONSE, ..Header::default() }.is_response());
    /// ```
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The opcode; mDNS answers only standard queries (0).
    ///
    /// ```
    /// use layernet::app::mdns::wire::Header;
    /// assert_eq!(Header { flags: 5 << 11, ..Header::default() }.opcode(), 5);
    /// ```
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
}

/// Which section a record came from or goes to.
///
/// ```
/// use layernet::app::mdns::wire::Section;
/// assert_ne!(Section::Answer, Section::Authority);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Answers.
    Answer,
    /// Authority records (in a probe, the records it proposes).
    Authority,
    /// Additional records.
    Additional,
}

/// A question: its name (an offset into the message, read with
/// [`Reader::name_is`]), type and class.
///
/// ```
/// use layernet::app::mdns::wire::{Name, Question, Reader, TYPE_A};
/// let query = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'x', 0, 0, 1, 0x80, 1];
/// let mut reader = Reader::new(&query).ok_or("short")?;
/// let q: Question = reader.next_question().ok_or("no question")?;
/// assert!(reader.name_is(q.name, &Name::from_parts(&["x"]).ok_or("name")?));
/// assert_eq!((q.qtype, q.unicast_response()), (TYPE_A, true));
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// Where the name starts in the message.
    pub name: usize,
    /// The type asked for.
    pub qtype: u16,
    /// The class, with the QU bit.
    pub class: u16,
}

impl Question {
    /// The asker wants a unicast response (QU, RFC 6762 section 5.4).
    ///
    /// ```
    /// use layernet::app::mdns::wire::Question;
    /// assert!(!Question { name: 12, qtype: 1, class: 1 }.unicast_response());
    /// ```
    pub fn unicast_response(&self) -> bool {
        self.class & CLASS_TOP != 0
    }
}

/// A resource record: its name (an offset into the message), type,
/// class, TTL and data.
///
/// ```
/// use layernet::app::mdns::wire::{Record, TYPE_A};
/// let r = Record { section: layernet::app::mdns::wire::Section::Answer, name: 12, rtype: TYPE_A, class: 1, ttl: 120, rdata: &[10, 0, 0, 1], rdata_at: 30 };
/// assert_eq!(r.rdata.len(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The section it was read from.
    pub section: Section,
    /// Where the name starts in the message.
    pub name: usize,
    /// The record's type.
    pub rtype: u16,
    /// The class, with the cache-flush bit.
    pub class: u16,
    /// Seconds to keep it.
    pub ttl: u32,
    /// The data, as sent (names in it may be compressed: see `rdata_at`).
    pub rdata: &'a [u8],
    /// Where the data starts in the message.
    pub rdata_at: usize,
}

/// A name to compare against or to write: its labels in wire form
/// (length-prefixed, without the closing zero), up to 127 bytes, every
/// label 1 to 63 bytes.
///
/// ```
/// use layernet::app::mdns::wire::Name;
/// let name = Name::from_parts(&["layernet", "_http._tcp", "local"]).ok_or("too long")?;
/// assert_eq!(name.labels().count(), 4);
/// assert!(Name::from_parts(&["a..b"]).is_none(), "an empty label");
/// # Ok::<(), &str>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Name {
    bytes: [u8; 127],
    len: usize,
}

impl core::fmt::Debug for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{self}")
    }
}

impl core::fmt::Display for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                let c = if b.is_ascii_graphic() { b as char } else { '?' };
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl Name {
    /// The name made of `parts` in order, each split at its dots.
    /// `None` if a label is empty or longer than 63 bytes, or the whole
    /// is too long.
    ///
    /// ```
    /// use layernet::app::mdns::wire::Name;
    /// let host = Name::from_parts(&["layernet-2", "local"]).ok_or("name")?;
    /// assert_eq!(host.to_string(), "layernet-2.local");
    /// # Ok::<(), &str>(())
    /// ```
    pub fn from_parts(parts: &[&str]) -> Option<Name> {
        let mut name = Name {
            bytes: [0; 127],
            len: 0,
        };
        for part in parts {
            for label in part.split('.') {
                let l = label.len();
                if l == 0 || l > 63 || name.len + 1 + l > name.bytes.len() {
                    return None;
                }
                name.bytes[name.len] = l as u8;
                name.bytes[name.len + 1..name.len + 1 + l].copy_from_slice(label.as_bytes());
                name.len += 1 + l;
            }
        }
        Some(name)
    }

    /// Its labels, first to last.
    ///
    /// ```
    /// use layernet::app::mdns::wire::Name;
    /// let name = Name::from_parts(&["a.local"]).ok_or("name")?;
    /// assert_eq!(name.labels().collect::<Vec<_>>(), [&b"a"[..], &b"local"[..]]);
    /// # Ok::<(), &str>(())
    /// ```
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut at = 0;
        core::iter::from_fn(move || {
            let l = usize::from(*self.bytes[..self.len].get(at)?);
            let label = self.bytes[..self.len].get(at + 1..at + 1 + l)?;
            at += 1 + l;
            Some(label)
        })
    }

    /// The wire form, without the closing zero.
    fn wire(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The labels of the name at `pos` in `msg`, following compression
/// pointers: `Some(label)` for each, then `None` at the end. An `Err`
/// item means the name is malformed (and ends the walk).
struct Labels<'a> {
    msg: &'a [u8],
    at: usize,
    /// The start of the part being read: a pointer must go before it.
    floor: usize,
    /// Bytes of the name so far (the 255 limit).
    total: usize,
    done: bool,
}

impl<'a> Labels<'a> {
    fn new(msg: &'a [u8], pos: usize) -> Self {
        Labels {
            msg,
            at: pos,
            floor: pos,
            total: 0,
            done: false,
        }
    }

    /// The next label, `Ok(None)` at the end, `Err` if malformed.
    fn next_label(&mut self) -> Result<Option<&'a [u8]>, ()> {
        if self.done {
            return Ok(None);
        }
        // Each pointer goes strictly below the last part's start, so this
        // loop ends; the bound is a second guard.
        for _ in 0..MAX_NAME {
            let len = *self.msg.get(self.at).ok_or(())?;
            match len & 0xc0 {
                0x00 => {
                    if len == 0 {
                        self.done = true;
                        return Ok(None);
                    }
                    let l = usize::from(len);
                    self.total += 1 + l;
                    if self.total + 1 > MAX_NAME {
                        return Err(());
                    }
                    let label = self.msg.get(self.at + 1..self.at + 1 + l).ok_or(())?;
                    self.at += 1 + l;
                    return Ok(Some(label));
                }
                0xc0 => {
                    let low = *self.msg.get(self.at + 1).ok_or(())?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                    if target >= self.floor {
                        return Err(());
                    }
                    self.floor = target;
                    self.at = target;
                }
                // 0x40 and 0x80: extended label types, not in use.
                _ => return Err(()),
            }
        }
        Err(())
    }
}

/// Where the name at `pos` ends in place (after its zero or its first
/// pointer), if it is well formed all through.
fn skip_name(msg: &[u8], pos: usize) -> Option<usize> {
    let mut at = pos;
    loop {
        let len = *msg.get(at)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                at += 1;
                break;
            }
            0x00 => at += 1 + usize::from(len),
            0xc0 => {
                at += 2;
                break;
            }
            _ => return None,
        }
        if at - pos > MAX_NAME {
            return None;
        }
    }
    // The whole name, pointers followed, must read.
    let mut labels = Labels::new(msg, pos);
    while labels.next_label().ok()?.is_some() {}
    (at <= msg.len()).then_some(at)
}

/// The name `a` reads as `b` (labels in wire form, no closing zero),
/// letters compared without case, as DNS compares names.
fn labels_equal(mut a: Labels<'_>, b: &[u8]) -> bool {
    let mut at = 0;
    loop {
        let ours = b.get(at).map(|&l| {
            let l = usize::from(l);
            at += 1 + l;
            b.get(at - l..at).unwrap_or(&[])
        });
        match (a.next_label(), ours) {
            (Ok(None), None) => return true,
            (Ok(Some(x)), Some(y)) if x.eq_ignore_ascii_case(y) => {}
            _ => return false,
        }
    }
}

/// Walks a message: first its questions ([`Reader::next_question`]), then
/// its records ([`Reader::next_record`]), in order. A malformed part ends
/// the walk (both return `None` from then on).
///
/// # Example
///
/// ```
/// use layernet::app::mdns::wire::{Name, Reader, Section, TYPE_A};
/// // A response with one answer: x.local A 10.0.0.1, its name compressed
/// // against the question's.
/// let msg = [
///     0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0,
///     1, b'x', 5, b'l', b'o', b'c', b'a', b'l', 0, 0, 1, 0, 1,
///     0xc0, 12, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 1,
/// ];
/// let mut reader = Reader::new(&msg).ok_or("short")?;
/// let q = reader.next_question().ok_or("question")?;
/// let r = reader.next_record().ok_or("record")?;
/// let x = Name::from_parts(&["X.LOCAL"]).ok_or("name")?;
/// assert!(reader.name_is(q.name, &x) && reader.name_is(r.name, &x));
/// assert_eq!((r.section, r.rtype, r.rdata), (Section::Answer, TYPE_A, &[10, 0, 0, 1][..]));
/// assert!(reader.next_record().is_none());
/// # Ok::<(), &str>(())
/// ```
pub struct Reader<'a> {
    msg: &'a [u8],
    header: Header,
    at: usize,
    questions_left: u16,
    /// Records read so far (answers, then authorities, then additionals).
    records_read: u32,
    broken: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `msg`; `None` if it is shorter than a header.
    ///
    /// ```
    /// use layernet::app::mdns::wire::Reader;
    /// assert!(Reader::new(&[0; 11]).is_none());
    /// ```
    pub fn new(msg: &'a [u8]) -> Option<Self> {
        let h = msg.get(..HEADER)?;
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let header = Header {
            id: word(0),
            flags: word(2),
            questions: word(4),
            answers: word(6),
            authorities: word(8),
            additionals: word(10),
        };
        Some(Reader {
            msg,
            header,
            at: HEADER,
            questions_left: header.questions,
            records_read: 0,
            broken: false,
        })
    }

    /// The message's header.
    ///
    /// ```
    /// use layernet::app::mdns::wire::Reader;
    /// assert_eq!(Reader::new(&[0; 12]).map(|r| r.header().answers), Some(0));
    /// ```
    pub fn header(&self) -> Header {
        self.header
    }

    /// The whole message (for a name in record data).
    ///
    /// ```
    /// use layernet::app::mdns::wire::Reader;
    /// assert_eq!(Reader::new(&[0; 12]).map(|r| r.message().len()), Some(12));
    /// ```
    pub fn message(&self) -> &'a [u8] {
        self.msg
    }

    /// The next question, or `None` when all are read (or one is
    /// malformed).
    ///
    /// ```
    /// use layernet::app::mdns::wire::Reader;
    /// // One question announced, none there.
    /// let mut reader = Reader::new(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]).ok_or("short")?;
    /// assert!(reader.next_question().is_none());
    /// # Ok::<(), &str>(())
    /// ```
    pub fn next_question(&mut self) -> Option<Question> {
        if self.broken || self.questions_left == 0 {
            return None;
        }
        let question = self.read_question();
        if question.is_none() {
            self.broken = true;
        }
        self.questions_left -= 1;
        question
    }

    fn read_question(&mut self) -> Option<Question> {
        let name = self.at;
        let end = skip_name(self.msg, name)?;
        let fixed = self.msg.get(end..end + 4)?;
        self.at = end + 4;
        Some(Question {
            name,
            qtype: u16::from_be_bytes([fixed[0], fixed[1]]),
            class: u16::from_be_bytes([fixed[2], fixed[3]]),
        })
    }

    /// The next record (the questions not yet read are skipped first),
    /// or `None` when all are read (or one is malformed).
    ///
    /// ```
    /// use layernet::app::mdns::wire::Reader;
    /// // One answer announced, its data running past the end.
    /// let msg = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 200, 1];
    /// let mut reader = Reader::new(&msg).ok_or("short")?;
    /// assert!(reader.next_record().is_none());
    /// # Ok::<(), &str>(())
    /// ```
    pub fn next_record(&mut self) -> Option<Record<'a>> {
        while self.next_question().is_some() {}
        if self.broken {
            return None;
        }
        let h = self.header;
        let (answers, authorities) = (u32::from(h.answers), u32::from(h.authorities));
        let all = answers + authorities + u32::from(h.additionals);
        if self.records_read >= all {
            return None;
        }
        let section = if self.records_read < answers {
            Section::Answer
        } else if self.records_read < answers + authorities {
            Section::Authority
        } else {
            Section::Additional
        };
        let record = self.read_record(section);
        match record {
            Some(_) => self.records_read += 1,
            None => self.broken = true,
        }
        record
    }

    fn read_record(&mut self, section: Section) -> Option<Record<'a>> {
        let name = self.at;
        let end = skip_name(self.msg, name)?;
        let fixed = self.msg.get(end..end + 10)?;
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata_at = end + 10;
        let rdata = self.msg.get(rdata_at..rdata_at + rdlen)?;
        self.at = rdata_at + rdlen;
        Some(Record {
            section,
            name,
            rtype: u16::from_be_bytes([fixed[0], fixed[1]]),
            class: u16::from_be_bytes([fixed[2], fixed[3]]),
            ttl: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            rdata,
            rdata_at,
        })
    }

    /// The name at `pos` (a [`Question::name`], a [`Record::name`], or
    /// inside record data) is `name`, letters compared without case.
    /// False for a malformed name.
    ///
    /// ```
    /// use layernet::app::mdns::wire::{Name, Reader};
    /// // A pointer to itself: malformed, and not a loop.
    /// let msg = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 12];
    /// let reader = Reader::new(&msg).ok_or("short")?;
    /// assert!(!reader.name_is(12, &Name::from_parts(&["x"]).ok_or("name")?));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn name_is(&self, pos: usize, name: &Name) -> bool {
        labels_equal(Labels::new(self.msg, pos), name.wire())
    }

    /// The name at `pos` ends with `suffix` (its last labels are those
    /// of `suffix`), and has `extra` labels before it: what a question for
    /// a service instance looks like (`INSTANCE._http._tcp.local`).
    ///
    /// ```
    /// use layernet::app::mdns::wire::{Name, Reader};
    /// let msg = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'a', 1, b'b', 0];
    /// let reader = Reader::new(&msg).ok_or("short")?;
    /// let b = Name::from_parts(&["b"]).ok_or("name")?;
    /// assert_eq!(reader.labels_before(12, &b), Some(1));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn labels_before(&self, pos: usize, suffix: &Name) -> Option<usize> {
        let total = self.label_count(pos)?;
        let want = suffix.labels().count();
        let extra = total.checked_sub(want)?;
        let mut labels = Labels::new(self.msg, pos);
        for _ in 0..extra {
            labels.next_label().ok()??;
        }
        let mut ours = suffix.labels();
        loop {
            match (labels.next_label().ok()?, ours.next()) {
                (None, None) => return Some(extra),
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
                _ => return None,
            }
        }
    }

    /// How many labels the name at `pos` has, if it is well formed.
    fn label_count(&self, pos: usize) -> Option<usize> {
        let mut labels = Labels::new(self.msg, pos);
        let mut n = 0;
        while labels.next_label().ok()?.is_some() {
            n += 1;
        }
        Some(n)
    }
}

/// A record's data, as [`Writer::record`] writes it.
///
/// ```
/// use layernet::app::mdns::wire::{Name, Rdata};
/// let host = Name::from_parts(&["layernet.local"]).ok_or("name")?;
/// let _srv = Rdata::Srv { port: 7878, target: &host };
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Rdata<'n> {
    /// An IPv4 address.
    A([u8; 4]),
    /// An IPv6 address.
    Aaaa([u8; 16]),
    /// A name (PTR).
    Ptr(&'n Name),
    /// Priority 0, weight 0, the port and the host.
    Srv {
        /// The service's port.
        port: u16,
        /// The host that serves it.
        target: &'n Name,
    },
    /// Strings, each up to 255 bytes; none is written as one empty
    /// string, as RFC 6763 section 6.1 asks.
    Txt(&'n [&'n str]),
    /// NSEC for `next` naming the types listed, all below 256 (RFC 6762
    /// section 6.1's restricted form).
    Nsec {
        /// The record's own name.
        next: &'n Name,
        /// The types the name has.
        types: &'n [u16],
    },
}

/// The buffer ran out: the record (or question) was not added.
///
/// ```
/// use layernet::app::mdns::wire::{Full, Writer};
/// let mut tiny = [0u8; 4];
/// assert_eq!(Writer::new(&mut tiny, 0, 0).err(), Some(Full));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// How many earlier name positions a [`Writer`] keeps for compression.
const MARKS: usize = 32;

/// Builds a message in a caller's buffer.
///
/// # Example
///
/// ```
/// use layernet::app::mdns::wire::*;
/// let host = Name::from_parts(&["layernet", "local"]).ok_or("name")?;
/// let mut buf = [0u8; 512];
/// let mut w = Writer::new(&mut buf, 0, FLAGS_RESPONSE).map_err(|_| "full")?;
/// w.record(Section::Answer, &host, CLASS_IN | CLASS_TOP, 120, Rdata::A([192, 168, 69, 1])).map_err(|_| "full")?;
/// let n = w.finish();
/// let mut reader = Reader::new(&buf[..n]).ok_or("short")?;
/// let a = reader.next_record().ok_or("record")?;
/// assert!(reader.name_is(a.name, &host));
/// assert_eq!((a.rtype, a.ttl, a.rdata), (TYPE_A, 120, &[192, 168, 69, 1][..]));
/// # Ok::<(), &str>(())
/// ```
pub struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
    counts: [u16; 4],
    /// Where labels were written, for later names to point to.
    marks: [u16; MARKS],
    marked: usize,
}

impl<'b> Writer<'b> {
    /// A message with identifier `id` and `flags`, nothing in it yet.
    ///
    /// # Errors
    ///
    /// [`Full`] if `buf` cannot hold the header.
    ///
    /// ```
    /// use layernet::app::mdns::wire::Writer;
    /// let mut buf = [0u8; 12];
    /// assert_eq!(Writer::new(&mut buf, 7, 0).map(|w| w.finish()), Ok(12));
    /// ```
    pub fn new(buf: &'b mut [u8], id: u16, flags: u16) -> Result<Self, Full> {
        let header = buf.get_mut(..HEADER).ok_or(Full)?;
        header.fill(0);
        header[..2].copy_from_slice(&id.to_be_bytes());
        header[2..4].copy_from_slice(&flags.to_be_bytes());
        Ok(Writer {
            buf,
            len: HEADER,
            counts: [0; 4],
            marks: [0; MARKS],
            marked: 0,
        })
    }

    /// Bytes written so far.
    ///
    /// ```
    /// use layernet::app::mdns::wire::Writer;
    /// let mut buf = [0u8; 64];
    /// assert_eq!(Writer::new(&mut buf, 0, 0).map(|w| w.len()), Ok(12));
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing but the header yet.
    ///
    /// ```
    /// use layernet::app::mdns::wire::Writer;
    /// let mut buf = [0u8; 64];
    /// assert_eq!(Writer::new(&mut buf, 0, 0).map(|w| w.is_empty()), Ok(true));
    /// ```
    pub fn is_empty(&self) -> bool {
        self.counts == [0; 4]
    }

    /// Records written to `section`.
    ///
    /// ```
    /// use layernet::app::mdns::wire::{Section, Writer};
    /// let mut buf = [0u8; 64];
    /// assert_eq!(Writer::new(&mut buf, 0, 0).map(|w| w.count(Section::Answer)), Ok(0));
    /// ```
    pub fn count(&self, section: Section) -> u16 {
        self.counts[section_index(section)]
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let dst = self
            .buf
            .get_mut(self.len..self.len + bytes.len())
            .ok_or(Full)?;
        dst.copy_from_slice(bytes);
        self.len += bytes.len();
        Ok(())
    }

    /// Write `name`, pointing to an earlier copy of its longest suffix
    /// written before.
    fn name(&mut self, name: &Name) -> Result<(), Full> {
        let wire = name.wire();
        let mut at = 0;
        while at < wire.len() {
            if let Some(mark) = self.find(&wire[at..]) {
                self.put(&[0xc0 | (mark >> 8) as u8, mark as u8])?;
                return Ok(());
            }
            let l = 1 + usize::from(wire[at]);
            let here = self.len;
            self.put(&wire[at..at + l])?;
            if here < 0x3fff && self.marked < MARKS {
                self.marks[self.marked] = here as u16;
                self.marked += 1;
            }
            at += l;
        }
        self.put(&[0])
    }

    /// An earlier place where the labels `wire` (wire form, no closing
    /// zero) were written, to the end of a name.
    fn find(&self, wire: &[u8]) -> Option<u16> {
        let written = &self.buf[..self.len];
        self.marks[..self.marked]
            .iter()
            .copied()
            .find(|&mark| labels_equal(Labels::new(written, usize::from(mark)), wire))
    }

    /// Add a question.
    ///
    /// # Errors
    ///
    /// [`Full`]: nothing was added.
    ///
    /// ```
    /// use layernet::app::mdns::wire::*;
    /// let name = Name::from_parts(&["layernet.local"]).ok_or("name")?;
    /// let mut buf = [0u8; 64];
    /// let mut w = Writer::new(&mut buf, 0, 0).map_err(|_| "full")?;
    /// w.question(&name, TYPE_A, CLASS_IN).map_err(|_| "full")?;
    /// assert_eq!(w.finish(), 12 + 16 + 4);
    /// # Ok::<(), &str>(())
    /// ```
    pub fn question(&mut self, name: &Name, qtype: u16, class: u16) -> Result<(), Full> {
        let (len, marked) = (self.len, self.marked);
        let written = self
            .name(name)
            .and_then(|()| self.put(&qtype.to_be_bytes()))
            .and_then(|()| self.put(&class.to_be_bytes()));
        if written.is_err() {
            (self.len, self.marked) = (len, marked);
            return written;
        }
        self.counts[0] += 1;
        Ok(())
    }

    /// Copy a question from a received message as it was asked (its name
    /// decompressed), for a legacy unicast reply (RFC 6762 section 6.7).
    ///
    /// # Errors
    ///
    /// [`Full`], or a name that does not read: nothing was added.
    ///
    /// ```
    /// use layernet::app::mdns::wire::*;
    /// let query = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'x', 0, 0, 1, 0, 1];
    /// let mut reader = Reader::new(&query).ok_or("short")?;
    /// let q = reader.next_question().ok_or("question")?;
    /// let mut buf = [0u8; 64];
    /// let mut w = Writer::new(&mut buf, 0, FLAGS_RESPONSE).map_err(|_| "full")?;
    /// w.copy_question(&reader, &q).map_err(|_| "full")?;
    /// assert_eq!(&buf[12..19], &query[12..]);
    /// # Ok::<(), &str>(())
    /// ```
    pub fn copy_question(&mut self, from: &Reader<'_>, q: &Question) -> Result<(), Full> {
        let mut name = Name {
            bytes: [0; 127],
            len: 0,
        };
        let mut labels = Labels::new(from.msg, q.name);
        while let Some(label) = labels.next_label().map_err(|()| Full)? {
            let l = label.len();
            let dst = name.bytes.get_mut(name.len..name.len + 1 + l).ok_or(Full)?;
            dst[0] = l as u8;
            dst[1..].copy_from_slice(label);
            name.len += 1 + l;
        }
        self.question(&name, q.qtype, q.class)
    }

    /// Add a record to `section`.
    ///
    /// # Errors
    ///
    /// [`Full`]: nothing was added.
    ///
    /// ```
    /// use layernet::app::mdns::wire::*;
    /// let name = Name::from_parts(&["layernet._http._tcp.local"]).ok_or("name")?;
    /// let mut buf = [0u8; 40];
    /// let mut w = Writer::new(&mut buf, 0, FLAGS_RESPONSE).map_err(|_| "full")?;
    /// let txt = Rdata::Txt(&["path=/"]);
    /// assert_eq!(w.record(Section::Answer, &name, CLASS_IN, 4500, txt), Err(Full));
    /// assert_eq!(w.finish(), 12, "nothing half-written");
    /// # Ok::<(), &str>(())
    /// ```
    pub fn record(
        &mut self,
        section: Section,
        name: &Name,
        class: u16,
        ttl: u32,
        data: Rdata<'_>,
    ) -> Result<(), Full> {
        let (len, marked) = (self.len, self.marked);
        let written = self.write_record(name, class, ttl, data);
        if written.is_err() {
            (self.len, self.marked) = (len, marked);
            return written;
        }
        self.counts[section_index(section)] += 1;
        Ok(())
    }

    fn write_record(
        &mut self,
        name: &Name,
        class: u16,
        ttl: u32,
        data: Rdata<'_>,
    ) -> Result<(), Full> {
        self.name(name)?;
        let rtype = match data {
            Rdata::A(_) => TYPE_A,
            Rdata::Aaaa(_) => TYPE_AAAA,
            Rdata::Ptr(_) => TYPE_PTR,
            Rdata::Srv { .. } => TYPE_SRV,
            Rdata::Txt(_) => TYPE_TXT,
            Rdata::Nsec { .. } => TYPE_NSEC,
        };
        self.put(&rtype.to_be_bytes())?;
        self.put(&class.to_be_bytes())?;
        self.put(&ttl.to_be_bytes())?;
        let length_at = self.len;
        self.put(&[0, 0])?;
        match data {
            Rdata::A(a) => self.put(&a)?,
            Rdata::Aaaa(a) => self.put(&a)?,
            Rdata::Ptr(target) => self.name(target)?,
            Rdata::Srv { port, target } => {
                self.put(&[0, 0, 0, 0])?;
                self.put(&port.to_be_bytes())?;
                self.name(target)?;
            }
            Rdata::Txt(strings) => {
                if strings.is_empty() {
                    self.put(&[0])?;
                }
                for s in strings {
                    let s = &s.as_bytes()[..s.len().min(255)];
                    self.put(&[s.len() as u8])?;
                    self.put(s)?;
                }
            }
            Rdata::Nsec { next, types } => {
                // Uncompressed, as RFC 4034 section 4.1.1 asks.
                self.put(next.wire())?;
                self.put(&[0])?;
                let mut bitmap = [0u8; 32];
                for &t in types.iter().filter(|t| **t < 256) {
                    bitmap[usize::from(t / 8)] |= 0x80 >> (t % 8);
                }
                let used = bitmap.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
                self.put(&[0, used as u8])?;
                self.put(&bitmap[..used])?;
            }
        }
        let rdlen = (self.len - length_at - 2) as u16;
        self.buf[length_at..length_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        Ok(())
    }

    /// Write the counts into the header; the message's length.
    ///
    /// ```
    /// use layernet::app::mdns::wire::{Reader, Writer};
    /// let mut buf = [0u8; 12];
    /// let n = Writer::new(&mut buf, 0x0102, 0).map(|w| w.finish()).map_err(|_| "full")?;
    /// assert_eq!(Reader::new(&buf[..n]).map(|r| r.header().id), Some(0x0102));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn finish(self) -> usize {
        for (i, count) in self.counts.iter().enumerate() {
            self.buf[4 + 2 * i..6 + 2 * i].copy_from_slice(&count.to_be_bytes());
        }
        self.len
    }
}

fn section_index(section: Section) -> usize {
    match section {
        Section::Answer => 1,
        Section::Authority => 2,
        Section::Additional => 3,
    }
}

#[cfg(test)]
mod tests;
