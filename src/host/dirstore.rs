//! The host's directory store: files in one directory, never outside it.
//!
//! Layer: host (std). Implements the core's [`Storage`].
//!
//! Names arrive validated by [`Name`] (no `..`, no separators, no control
//! bytes, no leading dot, at most 255 bytes); on top of that a path that is
//! a symlink must resolve inside the root, and only regular files are
//! served. An upload goes to a temporary dot-file in the same directory
//! (same file system, so the rename is atomic), is flushed and fsynced, and
//! is renamed over the target only when exactly the announced number of
//! bytes arrived; the directory is fsynced after the rename. An aborted
//! upload (early disconnect, full disk) removes its temporary file and
//! leaves the old content as it was. Temporary files left by a crash are
//! removed when the store is opened.
//!
//! The store holds an exclusive `flock(2)` on the root directory itself for
//! its whole life, so a second store (another `serve`) on the same root
//! fails to open instead of removing the first one's uploads in flight.
//! The lock is on the directory, not on a lock file: a read-only root can
//! still be served, nothing shows in listings, and a crash leaves nothing
//! behind (the kernel drops the lock with the process).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::app::storage::{FileInfo, Name, Storage, StorageError, UploadId};

/// What tells one version of a file from another: inode, modification
/// time (seconds and nanoseconds) and size.
type Stamp = (u64, i64, i64, u64);

const TEMP_PREFIX: &str = ".layernet-upload-";

struct Pending {
    name: Name,
    temp: PathBuf,
    file: File,
    expected: u64,
    /// `expected` is the exact length (a Content-Length), not a cap (a
    /// chunked body).
    exact: bool,
    written: u64,
}

/// Files kept open for reading: one per download in progress, up to this
/// many, so that concurrent downloads of different files do not reopen
/// theirs for every chunk.
const OPEN_READERS: usize = 16;

/// A [`Storage`] over one directory of the host.
///
/// # Example
///
/// ```
/// use layernet::app::storage::{Name, Storage};
/// use layernet::host::dirstore::DirStore;
/// let dir = tempfile::tempdir()?;
/// let mut store = DirStore::open(dir.path())?;
/// let up = store.begin_upload(&Name::new("a.txt")?, 3)?;
/// store.write(up, b"abc")?;
/// assert!(!dir.path().join("a.txt").exists(), "not before the commit");
/// store.commit(up)?;
/// assert_eq!(std::fs::read(dir.path().join("a.txt"))?, b"abc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DirStore {
    root: PathBuf,
    uploads: Vec<Option<Pending>>,
    /// The files read lately, kept open (most recent last): a download
    /// reads its file with positioned reads, chunk by chunk.
    readers: Vec<(Name, File, u64)>,
    /// The version given to each file as last seen (inode, modification
    /// time, size): a file gets a new one whenever any of them changes.
    /// Versions are handed out in order from `next_version`, which starts
    /// at the wall clock's nanoseconds, so that a restart never gives a
    /// replaced file its old version, and a run's versions depend only on
    /// what it did, not on inode numbers (the demo's frames, ETags
    /// included, are the same in every run; see
    /// [`DirStore::with_first_version`]).
    versions: HashMap<Name, (Stamp, u64)>,
    next_version: u64,
    /// The directory as read at the start of the latest listing.
    listing: Vec<(Name, u64)>,
    next_temp: u64,
    /// The root, opened and locked for as long as the store lives.
    _lock: Option<File>,
}

fn io_error(e: &io::Error) -> StorageError {
    match e.kind() {
        io::ErrorKind::NotFound => StorageError::NotFound,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => StorageError::Full,
        io::ErrorKind::PermissionDenied => StorageError::Forbidden,
        _ => StorageError::Io,
    }
}

impl DirStore {
    /// Serve the directory `root` (it must exist). Locks it for the
    /// store's life, then removes temporary files of uploads interrupted by
    /// a crash. Where the file system has no locks, the store opens
    /// unlocked and leaves such files alone (they may be another's).
    ///
    /// # Errors
    /// [`io::ErrorKind::ResourceBusy`] if another store (in this process or
    /// another) holds `root`: the message is `is served by another layernet
    /// (pid N)`, so that `--root DIR` put before it makes the sentence.
    /// Otherwise those of reading the directory: [`io::ErrorKind::NotFound`]
    /// if `root` does not exist, [`io::ErrorKind::NotADirectory`] if it is
    /// not a directory, [`io::ErrorKind::PermissionDenied`] if it may not be
    /// read.
    ///
    /// # Example
    /// ```
    /// use layernet::host::dirstore::DirStore;
    /// let dir = tempfile::tempdir()?;
    /// let leftover = dir.path().join(".layernet-upload-1-1"); // a crash's temporary file
    /// std::fs::write(&leftover, b"half an upload")?;
    /// DirStore::open(dir.path())?;
    /// assert!(!leftover.exists());
    /// let missing = DirStore::open(dir.path().join("no such dir"));
    /// assert_eq!(missing.err().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    /// let first = DirStore::open(dir.path())?;
    /// let second = DirStore::open(dir.path()).err().ok_or("opened twice")?;
    /// assert_eq!(second.kind(), std::io::ErrorKind::ResourceBusy);
    /// assert_eq!(second.to_string(), format!("is served by another layernet (pid {})", std::process::id()));
    /// drop(first);
    /// DirStore::open(dir.path())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(root: impl AsRef<Path>) -> io::Result<DirStore> {
        let root = fs::canonicalize(root.as_ref())?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        let lock = lock_root(&root)?;
        // Only the root's owner may take temporary files for a crash's.
        if lock.is_some() {
            for entry in fs::read_dir(&root)?.flatten() {
                if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        } else {
            fs::read_dir(&root)?;
        }
        Ok(DirStore {
            root,
            uploads: Vec::new(),
            readers: Vec::new(),
            listing: Vec::new(),
            next_temp: 0,
            versions: HashMap::new(),
            next_version: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2)),
            _lock: lock,
        })
    }

    /// The same store, handing out file versions from `first` on instead
    /// of from the wall clock: for a run that must be the same every time
    /// (the deterministic demo). A server that restarts must not use it:
    /// its versions would repeat.
    ///
    /// # Example
    /// ```
    /// use layernet::app::storage::{Name, Storage};
    /// use layernet::host::dirstore::DirStore;
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("a.txt"), b"abc")?;
    /// let mut store = DirStore::open(dir.path())?.with_first_version(1);
    /// let name = Name::new("a.txt")?;
    /// assert_eq!(store.stat(&name)?.version, 1);
    /// std::fs::write(dir.path().join("a.txt"), b"abcd")?;
    /// assert_eq!(store.stat(&name)?.version, 2, "changed: a new version");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_first_version(mut self, first: u64) -> DirStore {
        self.versions.clear();
        self.next_version = first;
        self
    }

    /// The directory served.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::host::dirstore::DirStore;
    /// let dir = tempfile::tempdir()?;
    /// let store = DirStore::open(dir.path().join("."))?;
    /// assert_eq!(store.root(), dir.path().canonicalize()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `name` lives, if that place is inside the root. A symlink is
    /// followed only if its target is inside the root too.
    fn path_of(&self, name: &Name) -> Result<PathBuf, StorageError> {
        let path = self.root.join(name.as_str());
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::canonicalize(&path).map_err(|e| io_error(&e))?;
                if target.starts_with(&self.root) && target != self.root {
                    Ok(path)
                } else {
                    Err(StorageError::Forbidden)
                }
            }
            _ => Ok(path),
        }
    }

    fn names(&self) -> Vec<(Name, u64)> {
        let mut names: Vec<(Name, u64)> = fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = Name::new(e.file_name().to_str()?).ok()?;
                let path = self.path_of(&name).ok()?;
                let meta = fs::metadata(path).ok()?;
                meta.is_file().then_some((name, meta.len()))
            })
            .collect();
        names.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        names
    }

    fn start_upload(
        &mut self,
        name: &Name,
        len: u64,
        exact: bool,
    ) -> Result<UploadId, StorageError> {
        let target = self.path_of(name)?;
        if target.is_dir() {
            return Err(StorageError::Forbidden);
        }
        self.next_temp += 1;
        let temp = self.root.join(format!(
            "{TEMP_PREFIX}{}-{}",
            std::process::id(),
            self.next_temp
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| io_error(&e))?;
        let pending = Pending {
            name: name.clone(),
            temp,
            file,
            expected: len,
            exact,
            written: 0,
        };
        let slot = match self.uploads.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.uploads.push(None);
                self.uploads.len() - 1
            }
        };
        self.uploads[slot] = Some(pending);
        Ok(UploadId(slot as u32))
    }

    fn pending(&mut self, id: UploadId) -> Result<&mut Pending, StorageError> {
        self.uploads
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(StorageError::NotFound)
    }
}

/// Lock `root` (the directory itself) exclusively, without waiting.
/// `Ok(None)` where the file system cannot lock.
fn lock_root(root: &Path) -> io::Result<Option<File>> {
    let dir = File::open(root)?;
    match dir.try_lock() {
        Ok(()) => Ok(Some(dir)),
        Err(fs::TryLockError::WouldBlock) => {
            let pid = lock_holder(&dir).map_or_else(|| "unknown".to_string(), |p| p.to_string());
            Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!("is served by another layernet (pid {pid})"),
            ))
        }
        Err(fs::TryLockError::Error(_)) => Ok(None),
    }
}

/// The process holding the `flock` on `file`, from `/proc/locks`, whose
/// lines read `1: FLOCK  ADVISORY  WRITE 4242 fd:01:393218 0 EOF` (major
/// and minor device numbers in hex, then the inode).
fn lock_holder(file: &File) -> Option<u32> {
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    // Linux's encoding of dev_t (glibc's gnu_dev_major/minor).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let want = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    let locks = fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Blocked waiters have "->" as their second field: skip them.
        match f.as_slice() {
            [_, "FLOCK", _, _, pid, id, ..] if id.eq_ignore_ascii_case(&want) => pid.parse().ok(),
            _ => None,
        }
    })
}

impl Storage for DirStore {
    fn entry(&mut self, index: usize) -> Option<(Name, u64)> {
        // A listing reads the directory once, at its first entry, rather
        // than once per entry.
        if index == 0 || self.listing.is_empty() {
            self.listing = self.names();
        }
        self.listing.get(index).cloned()
    }

    fn stat(&mut self, name: &Name) -> Result<FileInfo, StorageError> {
        let meta = fs::metadata(self.path_of(name)?).map_err(|e| io_error(&e))?;
        if !meta.is_file() {
            return Err(StorageError::NotFound);
        }
        // Another program may have put a new file in its place (a rename
        // brings a new inode): an open reader would go on reading the old
        // one, under the new one's version. Every download starts with a
        // stat, so this is where a stale reader is dropped.
        self.readers
            .retain(|(n, _, inode)| n != name || *inode == meta.ino());
        // An upload's rename brings a new inode; a change in place by another
        // program moves the modification time or the size.
        let stamp = (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len());
        let version = match self.versions.get(name) {
            Some((seen, version)) if *seen == stamp => *version,
            _ => {
                let version = self.next_version;
                self.next_version = self.next_version.wrapping_add(1);
                self.versions.insert(name.clone(), (stamp, version));
                version
            }
        };
        Ok(FileInfo {
            size: meta.len(),
            version,
        })
    }

    fn modified(&mut self, name: &Name) -> Option<u64> {
        let meta = fs::metadata(self.path_of(name).ok()?).ok()?;
        u64::try_from(meta.mtime()).ok()
    }

    fn read_at(&mut self, name: &Name, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        match self.readers.iter().position(|(n, _, _)| n == name) {
            Some(i) if i + 1 == self.readers.len() => {}
            Some(i) => {
                let hit = self.readers.remove(i);
                self.readers.push(hit);
            }
            None => {
                let file = File::open(self.path_of(name)?).map_err(|e| io_error(&e))?;
                let inode = file.metadata().map_err(|e| io_error(&e))?.ino();
                if self.readers.len() == OPEN_READERS {
                    self.readers.remove(0);
                }
                self.readers.push((name.clone(), file, inode));
            }
        }
        let Some((_, file, _)) = self.readers.last() else {
            return Err(StorageError::Io);
        };
        file.read_at(buf, offset).map_err(|e| io_error(&e))
    }

    fn begin_upload(&mut self, name: &Name, len: u64) -> Result<UploadId, StorageError> {
        self.start_upload(name, len, true)
    }

    fn begin_stream_upload(&mut self, name: &Name, max: u64) -> Result<UploadId, StorageError> {
        self.start_upload(name, max, false)
    }

    fn write(&mut self, upload: UploadId, data: &[u8]) -> Result<(), StorageError> {
        let p = self.pending(upload)?;
        if p.written + data.len() as u64 > p.expected {
            return Err(StorageError::TooLarge);
        }
        p.file
            .write_all_at(data, p.written)
            .map_err(|e| io_error(&e))?;
        p.written += data.len() as u64;
        Ok(())
    }
    fn commit(&mut self, upload: UploadId) -> Result<bool, StorageError> {
        let root = self.root.clone();
        let p = self.pending(upload)?;
        if p.exact && p.written != p.expected {
            return Err(StorageError::NotFound);
        }
        let result = (|| {
            p.file.flush().map_err(|e| io_error(&e))?;
            p.file.sync_all().map_err(|e| io_error(&e))?;
            let target = root.join(p.name.as_str());
            let replaced = fs::symlink_metadata(&target).is_ok();
            fs::rename(&p.temp, &target).map_err(|e| io_error(&e))?;
            // The rename itself must reach the disk too.
            if let Ok(dir) = File::open(&root) {
                let _ = dir.sync_all();
            }
            Ok(replaced)
        })();
        let name = p.name.clone();
        match result {
            Ok(replaced) => {
                self.uploads[upload.0 as usize] = None;
                self.readers.retain(|(n, _, _)| *n != name);
                Ok(replaced)
            }
            Err(e) => {
                self.abort(upload);
                Err(e)
            }
        }
    }

    fn abort(&mut self, upload: UploadId) {
        if let Some(p) = self
            .uploads
            .get_mut(upload.0 as usize)
            .and_then(Option::take)
        {
            drop(p.file);
            let _ = fs::remove_file(&p.temp);
        }
    }

    fn remove(&mut self, name: &Name) -> Result<(), StorageError> {
        let path = self.path_of(name)?;
        if !fs::symlink_metadata(&path)
            .map_err(|e| io_error(&e))?
            .is_file()
        {
            return Err(StorageError::NotFound);
        }
        self.readers.retain(|(n, _, _)| n != name);
        fs::remove_file(path).map_err(|e| io_error(&e))
    }
}

impl Drop for DirStore {
    fn drop(&mut self) {
        for i in 0..self.uploads.len() {
            self.abort(UploadId(i as u32));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn uploads_are_atomic_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = DirStore::open(dir.path()).unwrap();
        let u = s.begin_upload(&name("a.txt"), 5).unwrap();
        s.write(u, b"hello").unwrap();
        assert!(!s.commit(u).unwrap());
        let u = s.begin_upload(&name("a.txt"), 5).unwrap();
        s.write(u, b"wor").unwrap();
        assert_eq!(s.commit(u), Err(StorageError::NotFound), "short upload");
        s.abort(u);
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), b"hello");
        assert_eq!(files_in(dir.path()), ["a.txt"]);
        let u = s.begin_upload(&name("a.txt"), 5).unwrap();
        s.write(u, b"world").unwrap();
        assert!(s.commit(u).unwrap(), "replaced");
        let mut buf = [0u8; 8];
        assert_eq!(s.read_at(&name("a.txt"), 1, &mut buf), Ok(4));
        assert_eq!(&buf[..4], b"orld");
        // A pending upload is removed when the store goes away.
        let _u = s.begin_upload(&name("b"), 3).unwrap();
        drop(s);
        assert_eq!(files_in(dir.path()), ["a.txt"]);
    }

    #[test]
    fn symlinks_out_of_the_root_are_forbidden_and_stale_temps_removed() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), b"secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        fs::write(dir.path().join("real"), b"ok").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("inner")).unwrap();
        fs::write(dir.path().join(format!("{TEMP_PREFIX}1-1")), b"stale").unwrap();
        let mut s = DirStore::open(dir.path()).unwrap();
        assert!(!dir.path().join(format!("{TEMP_PREFIX}1-1")).exists());
        assert_eq!(s.stat(&name("link")), Err(StorageError::Forbidden));
        let mut buf = [0u8; 8];
        assert_eq!(
            s.read_at(&name("link"), 0, &mut buf),
            Err(StorageError::Forbidden)
        );
        assert_eq!(
            s.begin_upload(&name("link"), 1),
            Err(StorageError::Forbidden)
        );
        assert_eq!(s.remove(&name("link")), Err(StorageError::Forbidden));
        assert_eq!(
            s.stat(&name("inner")).map(|i| i.size),
            Ok(2),
            "a link inside the root is fine"
        );
        let listed: Vec<String> = (0..)
            .map_while(|i| s.entry(i))
            .map(|(n, _)| n.as_str().to_string())
            .collect();
        assert_eq!(listed, ["inner", "real"]);
        assert_eq!(fs::read(outside.path().join("secret")).unwrap(), b"secret");
    }
}
