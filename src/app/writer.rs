//! [`Writer`]: `write!` into a fixed buffer, for texts built in place
//! (iperf3's JSON, HTTP response heads).
//!
//! Layer: app. Depends on `core` only; no std, no alloc.

/// A `core::fmt::Write` over a fixed buffer that fails (and keeps what
/// fitted before) when the buffer is full, so a text too large is an
/// error, not a panic or a cut line: iperf3's results, the file
/// service's response heads and pages.
///
/// ```
/// use core::fmt::Write;
/// use layernet::app::writer::Writer;
/// let mut buf = [0u8; 8];
/// let mut w = Writer::new(&mut buf);
/// assert!(write!(w, "{{\"a\":{}}}", 1).is_ok());
/// assert_eq!(w.written(), b"{\"a\":1}");
/// assert!(write!(w, "more").is_err());
/// ```
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    ///
    /// ```
    /// use layernet::app::writer::Writer;
    /// let mut buf = [0u8; 4];
    /// assert!(Writer::new(&mut buf).is_empty());
    /// ```
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    /// The bytes written so far.
    ///
    /// ```
    /// use core::fmt::Write;
    /// use layernet::app::writer::Writer;
    /// let mut buf = [0u8; 16];
    /// let mut w = Writer::new(&mut buf);
    /// w.write_str("[]")?;
    /// assert_eq!(w.written(), b"[]");
    /// # Ok::<(), core::fmt::Error>(())
    /// ```
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// How many bytes were written.
    ///
    /// ```
    /// use core::fmt::Write;
    /// use layernet::app::writer::Writer;
    /// let mut buf = [0u8; 16];
    /// let mut w = Writer::new(&mut buf);
    /// write!(w, "{}", 1234)?;
    /// assert_eq!(w.len(), 4);
    /// # Ok::<(), core::fmt::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    ///
    /// ```
    /// use core::fmt::Write;
    /// use layernet::app::writer::Writer;
    /// let mut buf = [0u8; 1];
    /// let mut w = Writer::new(&mut buf);
    /// assert!(w.write_str("too long").is_err() && w.is_empty(), "nothing half-written");
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl core::fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let room = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
