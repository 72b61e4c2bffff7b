//! Storage for the file service: a trait, the name rules, and a fixed
//! in-RAM store.
//!
//! Layer: app. Depends on nothing but `core` and heapless.
//!
//! A store is flat: a name is one path segment. Every name that reaches a
//! store has passed [`Name::from_url_path`], which percent-decodes the
//! request path once and refuses what could reach outside the root: `..`
//! and `.`, a `/` or `\` (also when percent-encoded), NUL and control
//! bytes, names over 255 bytes, and names starting with `.` (the host store
//! keeps its temporary uploads as dot-files).
//!
//! Uploads are atomic: [`Storage::begin_upload`] reserves room,
//! [`Storage::write`] appends, and only [`Storage::commit`] makes the new
//! content visible (replacing any old one at once); [`Storage::abort`]
//! leaves the old content as it was.

use core::fmt;

/// Longest file name, in bytes.
///
/// # Example
///
/// ```
/// use layernet::app::storage::{NAME_MAX, Name, FileNameError};
/// assert!(Name::new(&"n".repeat(NAME_MAX)).is_ok());
/// assert_eq!(Name::new(&"n".repeat(NAME_MAX + 1)), Err(FileNameError::TooLong));
/// ```
pub const NAME_MAX: usize = 255;

/// A validated file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
///
/// # Example
///
/// ```
/// use layernet::app::storage::Name;
/// let name = Name::from_url_path("/report%202024.pdf")?;
/// assert_eq!(format!("GET {name}"), "GET report 2024.pdf");
/// # Ok::<(), layernet::app::storage::FileNameError>(())
/// ```
pub struct Name(heapless::String<NAME_MAX>);

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
///
/// # Example
///
/// ```
/// use layernet::app::storage::{Name, FileNameError};
/// assert_eq!(Name::from_url_path("/"), Err(FileNameError::Empty));
/// assert_eq!(Name::from_url_path("/%zz"), Err(FileNameError::BadEncoding));
/// assert_eq!(Name::from_url_path("/.hidden"), Err(FileNameError::Forbidden));
/// assert_eq!(FileNameError::Forbidden.to_string(), "file name outside the served directory");
/// ```
pub enum FileNameError {
    /// Empty after decoding.
    Empty,
    /// Longer than [`NAME_MAX`] bytes.
    TooLong,
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    BadEncoding,
    /// A name that could leave the root or hide: `..`, `.`, `/`, `\`, NUL,
    /// control bytes, a leading `.`.
    Forbidden,
}

impl fmt::Display for FileNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileNameError::Empty => "empty file name",
            FileNameError::TooLong => "file name longer than 255 bytes",
            FileNameError::BadEncoding => "badly encoded file name",
            FileNameError::Forbidden => "file name outside the served directory",
        })
    }
}

impl core::error::Error for FileNameError {}

/// The value of one hex digit (either case).
pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl Name {
    /// The name in a request path such as `/a.txt` or `/caf%C3%A9.txt`
    /// (a query string, if any, is ignored).
    ///
    /// # Errors
    /// [`FileNameError::BadEncoding`] for a `%` without two hex digits or bytes
    /// that are not UTF-8, [`FileNameError::TooLong`] past [`NAME_MAX`] bytes
    /// decoded, and those of [`Name::new`] for the decoded text.
    ///
    /// # Example
    /// ```
    /// use layernet::app::storage::{Name, FileNameError};
    /// assert_eq!(Name::from_url_path("/caf%C3%A9.txt?download=1")?.as_str(), "café.txt");
    /// assert_eq!(Name::from_url_path("/%2e%2e%2fetc%2fpasswd"), Err(FileNameError::Forbidden));
    /// # Ok::<(), FileNameError>(())
    /// ```
    pub fn from_url_path(path: &str) -> Result<Name, FileNameError> {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let raw = path.strip_prefix('/').unwrap_or(path).as_bytes();
        let mut decoded: heapless::Vec<u8, NAME_MAX> = heapless::Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let b = match raw[i] {
                b'%' => {
                    let hi = raw.get(i + 1).copied().and_then(hex);
                    let lo = raw.get(i + 2).copied().and_then(hex);
                    match (hi, lo) {
                        (Some(h), Some(l)) => {
                            i += 3;
                            h << 4 | l
                        }
                        _ => return Err(FileNameError::BadEncoding),
                    }
                }
                b => {
                    i += 1;
                    b
                }
            };
            decoded.push(b).map_err(|_| FileNameError::TooLong)?;
        }
        let text = core::str::from_utf8(&decoded).map_err(|_| FileNameError::BadEncoding)?;
        Name::new(text)
    }

    /// A plain (already decoded) name, checked by the same rules.
    ///
    /// # Errors
    /// [`FileNameError::Empty`], [`FileNameError::TooLong`] past [`NAME_MAX`] bytes,
    /// [`FileNameError::Forbidden`] for a leading `.`, a `/`, `\` or `%`, or a
    /// control character.
    ///
    /// # Example
    /// ```
    /// use layernet::app::storage::{Name, FileNameError};
    /// assert!(Name::new("50%.txt").is_err(), "a decoded name has no `%` left");
    /// assert_eq!(Name::new("a\\b"), Err(FileNameError::Forbidden));
    /// assert_eq!(Name::new("plain name.txt")?.as_str(), "plain name.txt");
    /// # Ok::<(), FileNameError>(())
    /// ```
    pub fn new(text: &str) -> Result<Name, FileNameError> {
        if text.is_empty() {
            return Err(FileNameError::Empty);
        }
        if text.len() > NAME_MAX {
            return Err(FileNameError::TooLong);
        }
        let forbidden = text.starts_with('.')
            || text
                .chars()
                .any(|c| c == '/' || c == '\\' || c == '%' || c.is_control());
        if forbidden {
            return Err(FileNameError::Forbidden);
        }
        let mut s = heapless::String::new();
        s.push_str(text).map_err(|_| FileNameError::TooLong)?;
        Ok(Name(s))
    }

    /// The name as text.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::storage::Name;
    /// let name = Name::from_url_path("/a+b.txt")?; // `+` is not a space in a path
    /// assert_eq!(name.as_str(), "a+b.txt");
    /// # Ok::<(), layernet::app::storage::FileNameError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a store can fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
///
/// # Example
///
/// ```
/// use layernet::app::storage::{Name, RamStore, Storage, StorageError};
/// let mut store = RamStore::<1, 8>::new();
/// let big = store.begin_upload(&Name::new("big")?, 9);
/// assert_eq!(big, Err(StorageError::TooLarge));
/// assert_eq!(StorageError::NotFound.to_string(), "no such file");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum StorageError {
    /// No such file (or upload).
    NotFound,
    /// No room: every slot is used or the disk is full.
    Full,
    /// Larger than the store accepts for one file.
    TooLarge,
    /// The name is not allowed here (for example a symlink that leaves the root).
    Forbidden,
    /// Any other failure of the medium.
    Io,
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageError::NotFound => "no such file",
            StorageError::Full => "storage full",
            StorageError::TooLarge => "file too large for this store",
            StorageError::Forbidden => "not allowed",
            StorageError::Io => "storage failure",
        })
    }
}

impl core::error::Error for StorageError {}

/// What [`Storage::stat`] tells of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
///
/// # Example
///
/// ```
/// use layernet::app::storage::{Name, RamStore, Storage};
/// let mut store = RamStore::<3, 16>::new();
/// let name = Name::new("v.txt")?;
/// for body in [&b"one"[..], b"three"] {
///     let up = store.begin_upload(&name, body.len() as u64)?;
///     store.write(up, body)?;
///     store.commit(up)?;
/// }
/// let info = store.stat(&name)?;
/// assert_eq!(info.size, 5);
/// assert_ne!(info.version, 1, "the first version was replaced");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FileInfo {
    /// Length in bytes.
    pub size: u64,
    /// Changes whenever the content is replaced: a download that spans
    /// several reads compares it before each, so it never mixes an old
    /// file's bytes with a new one's.
    pub version: u64,
}

/// Identifies an upload in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
///
/// # Example
///
/// ```
/// use layernet::app::storage::{Name, RamStore, Storage, StorageError};
/// let mut store = RamStore::<2, 16>::new();
/// let up = store.begin_upload(&Name::new("draft")?, 4)?;
/// store.abort(up);
/// // An aborted upload's id is no longer valid.
/// assert_eq!(store.write(up, b"late"), Err(StorageError::NotFound));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UploadId(
    /// The store's own number for the upload.
    pub u32,
);

/// A flat store of named files, with atomic uploads.
///
/// # Example
/// An upload, a read, a listing and a removal on the in-RAM store:
/// ```
/// use layernet::app::storage::{Name, RamStore, Storage};
/// let mut store = RamStore::<4, 64>::new();
/// let name = Name::new("hello.txt")?;
/// let up = store.begin_upload(&name, 12)?;
/// store.write(up, b"hello, ")?;
/// assert!(store.stat(&name).is_err(), "nothing visible before commit");
/// store.write(up, b"world")?;
/// assert!(!store.commit(up)?, "a new file, not a replacement");
/// let mut buf = [0u8; 5];
/// assert_eq!(store.read_at(&name, 7, &mut buf)?, 5);
/// assert_eq!(&buf, b"world");
/// assert_eq!(store.entry(0), Some((name.clone(), 12)));
/// store.remove(&name)?;
/// assert!(store.entry(0).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Storage {
    /// The `index`-th file (in a stable order while nothing changes): its
    /// name and size. `None` past the last.
    fn entry(&mut self, index: usize) -> Option<(Name, u64)>;
    /// The size and version of `name`.
    ///
    /// # Errors
    /// [`StorageError::NotFound`] if there is no such file; what the medium
    /// fails with ([`StorageError::Forbidden`], [`StorageError::Io`]).
    fn stat(&mut self, name: &Name) -> Result<FileInfo, StorageError>;
    /// Read from `name` at `offset` into `buf`; returns the bytes read (0 at
    /// the end).
    ///
    /// # Errors
    /// [`StorageError::NotFound`] if there is no such file; [`StorageError::Io`]
    /// if the medium fails.
    fn read_at(&mut self, name: &Name, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError>;
    /// Start an upload of `len` bytes to `name`; nothing is visible until
    /// [`Storage::commit`].
    ///
    /// # Errors
    /// [`StorageError::TooLarge`] if `len` is over what the store takes for one
    /// file, [`StorageError::Full`] if there is no room, [`StorageError::Forbidden`]
    /// if `name` may not be written (a directory, a symlink out of the root).
    fn begin_upload(&mut self, name: &Name, len: u64) -> Result<UploadId, StorageError>;
    /// Start an upload whose length is known only when it ends (a chunked
    /// request body): at most `max` bytes, and [`Storage::commit`] takes
    /// whatever was written. Atomic as [`Storage::begin_upload`].
    ///
    /// # Errors
    /// As [`Storage::begin_upload`], except that a `max` over what the store
    /// takes is not an error: [`Storage::write`] refuses the byte past it.
    ///
    /// ```
    /// use layernet::app::storage::{Name, RamStore, Storage, StorageError};
    /// let mut store = RamStore::<2, 8>::new();
    /// let up = store.begin_stream_upload(&Name::new("log")?, 1 << 20)?;
    /// store.write(up, b"12345")?;
    /// assert_eq!(store.write(up, b"6789"), Err(StorageError::TooLarge), "8 bytes a file");
    /// assert!(!store.commit(up)?);
    /// assert_eq!(store.stat(&Name::new("log")?)?.size, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn begin_stream_upload(&mut self, name: &Name, max: u64) -> Result<UploadId, StorageError>;
    /// Append to an upload.
    ///
    /// # Errors
    /// [`StorageError::NotFound`] for an upload that is not in progress,
    /// [`StorageError::TooLarge`] if `data` goes past the length announced,
    /// [`StorageError::Full`] or [`StorageError::Io`] if the medium fails.
    fn write(&mut self, upload: UploadId, data: &[u8]) -> Result<(), StorageError>;
    /// Make the upload the file's content. Returns true if it replaced an
    /// existing file.
    ///
    /// # Errors
    /// [`StorageError::NotFound`] for an upload that is not in progress or has
    /// fewer bytes than announced; [`StorageError::Full`] or [`StorageError::Io`]
    /// if the medium fails (the upload is then abandoned).
    fn commit(&mut self, upload: UploadId) -> Result<bool, StorageError>;
    /// Forget the upload; the old content (if any) stays as it was.
    fn abort(&mut self, upload: UploadId);
    /// Delete `name`.
    ///
    /// # Errors
    /// [`StorageError::NotFound`] if there is no such file; what the medium
    /// fails with.
    fn remove(&mut self, name: &Name) -> Result<(), StorageError>;
    /// When `name` last changed, in seconds since the Unix epoch, if the
    /// medium keeps such a time (the listing page shows it). The default,
    /// for a store without a clock such as [`RamStore`], is `None`.
    fn modified(&mut self, name: &Name) -> Option<u64> {
        let _ = name;
        None
    }
}

/// A store lent out works as the store itself (a boxed one too: `&mut *b`).
impl<S: Storage + ?Sized> Storage for &mut S {
    fn entry(&mut self, index: usize) -> Option<(Name, u64)> {
        (**self).entry(index)
    }
    fn stat(&mut self, name: &Name) -> Result<FileInfo, StorageError> {
        (**self).stat(name)
    }
    fn read_at(&mut self, name: &Name, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        (**self).read_at(name, offset, buf)
    }
    fn begin_upload(&mut self, name: &Name, len: u64) -> Result<UploadId, StorageError> {
        (**self).begin_upload(name, len)
    }
    fn begin_stream_upload(&mut self, name: &Name, max: u64) -> Result<UploadId, StorageError> {
        (**self).begin_stream_upload(name, max)
    }
    fn write(&mut self, upload: UploadId, data: &[u8]) -> Result<(), StorageError> {
        (**self).write(upload, data)
    }
    fn commit(&mut self, upload: UploadId) -> Result<bool, StorageError> {
        (**self).commit(upload)
    }
    fn abort(&mut self, upload: UploadId) {
        (**self).abort(upload)
    }
    fn remove(&mut self, name: &Name) -> Result<(), StorageError> {
        (**self).remove(name)
    }
    fn modified(&mut self, name: &Name) -> Option<u64> {
        (**self).modified(name)
    }
}

/// Stored as its discriminant, `Empty` as 0, so that an empty store's
/// bytes are all zeroes ([`RamStore::new`]).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum SlotState {
    Empty = 0,
    File,
    /// An upload in progress, to become `name` on commit.
    Pending,
}

struct Slot<const MAX: usize> {
    state: SlotState,
    name: heapless::String<NAME_MAX>,
    len: usize,
    expected: usize,
    /// The upload must bring exactly `expected` bytes (a Content-Length),
    /// not just at most that many (a chunked body).
    exact: bool,
    version: u64,
    data: [u8; MAX],
}

/// A fixed in-RAM store: `SLOTS` files of at most `MAX` bytes, inline. An
/// upload takes a slot of its own until it commits (then the old file's
/// slot is freed), so replacing a file needs one free slot.
///
/// # Example
///
/// ```
/// use layernet::app::storage::{Name, RamStore, Storage, StorageError};
/// let mut store = RamStore::<1, 8>::new();
/// let name = Name::new("only")?;
/// let up = store.begin_upload(&name, 1)?;
/// store.write(up, b"1")?;
/// store.commit(up)?;
/// // One slot, taken: a replacement needs a free one until it commits.
/// assert_eq!(store.begin_upload(&name, 1), Err(StorageError::Full));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RamStore<const SLOTS: usize, const MAX: usize> {
    slots: [Slot<MAX>; SLOTS],
    commits: u64,
}

impl<const SLOTS: usize, const MAX: usize> RamStore<SLOTS, MAX> {
    /// An empty store. Its bytes are all zeroes (an empty slot's `exact`
    /// is false; [`Storage::begin_upload`] sets it), so a `static` holding
    /// one goes to `.bss`: on a board it takes no flash and is built by
    /// nobody, neither copied from flash at reset nor made on the stack
    /// (the firmware serves one by reference, `&mut RamStore`, for that).
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::storage::{RamStore, Storage};
    /// // Inline and `const`: on a board this can live in a `static` cell.
    /// let mut store: RamStore<4, 1024> = RamStore::new();
    /// assert_eq!(store.entry(0), None);
    /// ```
    pub const fn new() -> Self {
        RamStore {
            slots: [const {
                Slot {
                    state: SlotState::Empty,
                    name: heapless::String::new(),
                    len: 0,
                    expected: 0,
                    // Read only while the slot is pending, and set
                    // then; false keeps the empty store all zeroes.
                    exact: false,
                    version: 0,
                    data: [0; MAX],
                }
            }; SLOTS],
            commits: 0,
        }
    }

    fn find(&self, name: &Name) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.state == SlotState::File && s.name == name.0)
    }

    /// A free slot, pending for an upload of (at most, or with `exact`
    /// exactly) `len` bytes to `name`.
    fn reserve(&mut self, name: &Name, len: usize, exact: bool) -> Result<UploadId, StorageError> {
        let i = self
            .slots
            .iter()
            .position(|s| s.state == SlotState::Empty)
            .ok_or(StorageError::Full)?;
        let slot = &mut self.slots[i];
        slot.state = SlotState::Pending;
        slot.name = name.0.clone();
        slot.len = 0;
        slot.expected = len;
        slot.exact = exact;
        Ok(UploadId(i as u32))
    }
}

impl<const SLOTS: usize, const MAX: usize> Default for RamStore<SLOTS, MAX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const MAX: usize> Storage for RamStore<SLOTS, MAX> {
    fn entry(&mut self, index: usize) -> Option<(Name, u64)> {
        let slot = self
            .slots
            .iter()
            .filter(|s| s.state == SlotState::File)
            .nth(index)?;
        Some((Name(slot.name.clone()), slot.len as u64))
    }

    fn stat(&mut self, name: &Name) -> Result<FileInfo, StorageError> {
        let slot = &self.slots[self.find(name).ok_or(StorageError::NotFound)?];
        Ok(FileInfo {
            size: slot.len as u64,
            version: slot.version,
        })
    }

    fn read_at(&mut self, name: &Name, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        let slot = &self.slots[self.find(name).ok_or(StorageError::NotFound)?];
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(slot.len);
        let n = buf.len().min(slot.len - start);
        buf[..n].copy_from_slice(&slot.data[start..start + n]);
        Ok(n)
    }

    fn begin_upload(&mut self, name: &Name, len: u64) -> Result<UploadId, StorageError> {
        let len = usize::try_from(len).map_err(|_| StorageError::TooLarge)?;
        if len > MAX {
            return Err(StorageError::TooLarge);
        }
        self.reserve(name, len, true)
    }

    fn begin_stream_upload(&mut self, name: &Name, max: u64) -> Result<UploadId, StorageError> {
        let max = usize::try_from(max).unwrap_or(usize::MAX).min(MAX);
        self.reserve(name, max, false)
    }

    fn write(&mut self, upload: UploadId, data: &[u8]) -> Result<(), StorageError> {
        let slot = self
            .slots
            .get_mut(upload.0 as usize)
            .filter(|s| s.state == SlotState::Pending)
            .ok_or(StorageError::NotFound)?;
        if slot.len + data.len() > slot.expected {
            return Err(StorageError::TooLarge);
        }
        slot.data[slot.len..slot.len + data.len()].copy_from_slice(data);
        slot.len += data.len();
        Ok(())
    }

    fn commit(&mut self, upload: UploadId) -> Result<bool, StorageError> {
        let i = upload.0 as usize;
        let pending = self
            .slots
            .get(i)
            .filter(|s| s.state == SlotState::Pending && (!s.exact || s.len == s.expected))
            .ok_or(StorageError::NotFound)?;
        let name = Name(pending.name.clone());
        let old = self.find(&name);
        if let Some(old) = old {
            self.slots[old].state = SlotState::Empty;
        }
        self.commits += 1;
        self.slots[i].state = SlotState::File;
        self.slots[i].version = self.commits;
        Ok(old.is_some())
    }
    fn abort(&mut self, upload: UploadId) {
        if let Some(s) = self
            .slots
            .get_mut(upload.0 as usize)
            .filter(|s| s.state == SlotState::Pending)
        {
            s.state = SlotState::Empty;
        }
    }

    fn remove(&mut self, name: &Name) -> Result<(), StorageError> {
        let i = self.find(name).ok_or(StorageError::NotFound)?;
        self.slots[i].state = SlotState::Empty;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_root_are_refused() {
        for bad in [
            "/..",
            "/.",
            "/../etc/passwd",
            "/%2e%2e",
            "/%2E%2e/x",
            "/a%2fb",
            "/a%2Fb",
            "/a/b",
            "//etc/passwd",
            "/a%5cb",
            "/a\\b",
            "/a%00b",
            "/a%0ab",
            "/a%1bb",
            "/.hidden",
            "/%2ehidden",
            "/a%25",
            "/%c0%ae%c0%ae",
        ] {
            assert!(Name::from_url_path(bad).is_err(), "{bad} was accepted");
        }
        assert_eq!(Name::from_url_path("/"), Err(FileNameError::Empty));
        assert_eq!(Name::from_url_path("/%zz"), Err(FileNameError::BadEncoding));
        assert_eq!(Name::from_url_path("/%4"), Err(FileNameError::BadEncoding));
        let long = [b'a'; 256];
        let long = core::str::from_utf8(&long).unwrap();
        assert_eq!(Name::new(long), Err(FileNameError::TooLong));
    }

    #[test]
    fn ordinary_names_are_decoded_once() {
        assert_eq!(Name::from_url_path("/a.txt").unwrap().as_str(), "a.txt");
        assert_eq!(
            Name::from_url_path("/caf%C3%A9.txt?x=1").unwrap().as_str(),
            "caf\u{e9}.txt"
        );
        assert_eq!(
            Name::from_url_path("/with%20space").unwrap().as_str(),
            "with space"
        );
        assert_eq!(Name::from_url_path("/a..b").unwrap().as_str(), "a..b");
    }

    #[test]
    fn ram_store_uploads_are_atomic() {
        let mut s: RamStore<3, 16> = RamStore::new();
        let n = Name::new("f").unwrap();
        let u = s.begin_upload(&n, 3).unwrap();
        s.write(u, b"abc").unwrap();
        assert_eq!(
            s.stat(&n).map(|i| i.size),
            Err(StorageError::NotFound),
            "invisible before commit"
        );
        assert!(!s.commit(u).unwrap());
        let u = s.begin_upload(&n, 4).unwrap();
        s.write(u, b"wx").unwrap();
        s.abort(u);
        let mut buf = [0u8; 8];
        assert_eq!(s.read_at(&n, 0, &mut buf), Ok(3));
        assert_eq!(&buf[..3], b"abc", "old content intact after an abort");
        let u = s.begin_upload(&n, 4).unwrap();
        assert_eq!(
            s.commit(u),
            Err(StorageError::NotFound),
            "a short upload cannot commit"
        );
        s.write(u, b"wxyz").unwrap();
        assert_eq!(s.write(u, b"!"), Err(StorageError::TooLarge));
        let before = s.stat(&n).unwrap().version;
        assert!(s.commit(u).unwrap(), "replaced");
        assert_ne!(
            s.stat(&n).unwrap().version,
            before,
            "a replaced file has a new version"
        );
        assert_eq!(s.read_at(&n, 1, &mut buf), Ok(3));
        assert_eq!(&buf[..3], b"xyz");
        assert_eq!(s.read_at(&n, 99, &mut buf), Ok(0));
        assert_eq!(s.entry(0).map(|(n, l)| (n.as_str().len(), l)), Some((1, 4)));
        assert!(s.entry(1).is_none());
        assert_eq!(s.begin_upload(&n, 17), Err(StorageError::TooLarge));
    }

    #[test]
    fn ram_store_fills_up() {
        let mut s: RamStore<2, 4> = RamStore::new();
        for name in ["a", "b"] {
            let u = s.begin_upload(&Name::new(name).unwrap(), 1).unwrap();
            s.write(u, b"x").unwrap();
            s.commit(u).unwrap();
        }
        assert_eq!(
            s.begin_upload(&Name::new("c").unwrap(), 1),
            Err(StorageError::Full)
        );
        s.remove(&Name::new("a").unwrap()).unwrap();
        assert!(s.begin_upload(&Name::new("c").unwrap(), 1).is_ok());
    }
}
