//! Checksums of a transfer: SHA-256 of what went over the wire, hashed on
//! a thread of its own, and its hex form.
//!
//! Layer: host (std). Uses `sha2` and `std::thread`; nothing else of the
//! crate.

use std::fmt::Write as _;
use std::io::{self, Read};
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use super::{BLOCK, BLOCKS};

/// Lower-case hex of a digest.
///
/// # Example
///
/// ```
/// use layernet::host::file_client::hex;
/// let mut digest = [0u8; 32];
/// digest[0] = 0xAB;
/// assert_eq!(hex(&digest), format!("ab{}", "0".repeat(62)));
/// ```
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 of everything `r` yields.
///
/// # Errors
/// Whatever reading `r` fails with.
///
/// # Example
/// ```
/// use layernet::host::file_client::{hex, sha256_of};
/// let digest = sha256_of(&mut &b"abc"[..])?;
/// assert!(hex(&digest).starts_with("ba7816bf8f01cfea"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sha256_of(r: &mut dyn Read) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; BLOCK];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}

/// SHA-256 of a transfer, computed on a thread of its own: even with the
/// CPU's SHA instructions hashing took a quarter of a download's time on
/// the transfer's thread (perf, 256 MiB over TAP). Blocks go to the thread
/// once written or sent and come back to be filled again; without a thread
/// (spawning failed) the hashing happens in line.
pub(super) struct Hasher {
    work: Option<mpsc::SyncSender<(Vec<u8>, usize)>>,
    spare: mpsc::Receiver<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<[u8; 32]>>,
    inline: Sha256,
    made: usize,
}

impl Hasher {
    pub(super) fn new() -> Hasher {
        let (work, todo) = mpsc::sync_channel::<(Vec<u8>, usize)>(BLOCKS);
        let (back, spare) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                let mut h = Sha256::new();
                for (block, n) in todo {
                    h.update(&block[..n]);
                    let _ = back.send(block);
                }
                h.finalize().into()
            })
            .ok();
        Hasher {
            work: thread.as_ref().map(|_| work),
            spare,
            thread,
            inline: Sha256::new(),
            made: 0,
        }
    }

    /// An empty block to fill: a returned one, or a new one while fewer
    /// than [`BLOCKS`] exist.
    pub(super) fn block(&mut self) -> Vec<u8> {
        if let Ok(b) = self.spare.try_recv() {
            return b;
        }
        if self.made < BLOCKS || self.work.is_none() {
            self.made += 1;
            return vec![0; BLOCK];
        }
        self.spare.recv().unwrap_or_else(|_| vec![0; BLOCK])
    }

    /// Hash the first `n` bytes of `block`.
    pub(super) fn feed(&mut self, block: Vec<u8>, n: usize) {
        match &self.work {
            Some(work) => {
                if let Err(mpsc::SendError((block, n))) = work.send((block, n)) {
                    // The thread is gone (it cannot fail, but if it did):
                    // the digest would be wrong, so hash nothing more there.
                    self.work = None;
                    self.thread = None;
                    self.inline.update(&block[..n]);
                }
            }
            None => self.inline.update(&block[..n]),
        }
    }

    pub(super) fn finish(mut self) -> [u8; 32] {
        self.work = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(digest)) => digest,
            _ => self.inline.finalize().into(),
        }
    }
}
