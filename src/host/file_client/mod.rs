//! File service clients: `get` and `put` over the blocking sockets.
//!
//! Layer: host (std). Uses [`crate::host::blocking`], `httparse` and `sha2`.
//!
//! A byte stream has no message boundaries: the classic client's single
//! `recv(1024)` truncates every file over 1 KiB. These clients read a
//! response head with httparse and then exactly the body its framing says:
//! `Content-Length`, `Transfer-Encoding: chunked`, or everything until the
//! server closes, so they work against other HTTP servers too. Bodies
//! stream through fixed buffers and a SHA-256 of what went over the wire is
//! computed on the way.

//!
//! By concern: `http` writes the request head and reads the response
//! (head, body framing, error pages), `checksum` hashes what goes over the
//! wire, `get` downloads (to a writer or a file, resuming a partial one),
//! `put` uploads. This file holds what they share: the error, the
//! transfer's summary, the progress callback and the request options.

mod checksum;
mod get;
mod http;
mod put;
mod wire;

pub use checksum::{hex, sha256_of};
pub use get::{get, get_file, get_file_with, get_with};
pub use http::basic_credentials;
pub use put::{put, put_with};

use std::io;

use crate::Duration;
use crate::socket;

/// Size of the blocks a body moves in: a socket's whole receive buffer
/// fits in one, so one driver round's worth of data is one block.
const BLOCK: usize = 256 * 1024;
/// Blocks in flight between a transfer and its hashing thread.
const BLOCKS: usize = 4;
/// Largest response head accepted.
const HEAD_MAX: usize = 16 * 1024;
/// How long one socket operation may wait. Well above TCP's longest
/// retransmission back-off (smoltcp caps the RTO at 60 s): on a bad link
/// one lost retransmission after another may leave a healthy connection
/// silent for a minute, and a transfer should outlive that, as curl's
/// (which has no read timeout at all) does. The lossy soak found it.
const IO_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a transfer failed.
#[derive(Debug)]
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client::{self, FileError}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(1)?;
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 7878, 1, RamStore::<1, 8>::new(), Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let got = file_client::get(&Net::new(sim).host(b), endpoint(a, 7878), "gone", 0, &mut Vec::new(), &mut |_, _| {});
/// let Err(e @ FileError::Status(404, _)) = got else { return Err("expected a 404".into()) };
/// assert_eq!(e.to_string(), "404 Not Found");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum FileError {
    /// The connection failed.
    Socket(socket::Error),
    /// The server answered with an error status; the text is one line:
    /// the status and its reason, then (after `: `) the first line of the
    /// server's own explanation that adds something, never HTML.
    Status(u16, String),
    /// The response broke the protocol (bad head, bad chunk, early end).
    Protocol(&'static str),
    /// A local file could not be read or written.
    Io(io::Error),
    /// TLS failed: the one line says why (a refused certificate says how
    /// to trust it).
    Tls(String),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Socket(e) => write!(f, "connection: {e}"),
            FileError::Status(_, line) => f.write_str(line),
            FileError::Protocol(why) => write!(f, "bad response: {why}"),
            FileError::Io(e) => write!(f, "local file: {e}"),
            FileError::Tls(line) => f.write_str(line),
        }
    }
}

impl std::error::Error for FileError {}

impl From<socket::Error> for FileError {
    fn from(e: socket::Error) -> Self {
        FileError::Socket(e)
    }
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e)
    }
}

/// What a transfer did.
#[derive(Debug, Clone, PartialEq, Eq)]
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(2)?;
/// let store = RamStore::<2, 4096>::new();
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, store, Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let (host, at, data) = (Net::new(sim).host(b), endpoint(a, 80), [3u8; 3000]);
/// let up = file_client::put(&host, at, "blob", &mut &data[..], 3000, &mut |_, _| {})?;
/// let down = file_client::get(&host, at, "blob", 0, &mut std::io::sink(), &mut |_, _| {})?;
/// assert_eq!((up.status, down.status, down.bytes), (201, 200, 3000));
/// assert_eq!(up.sha256, down.sha256);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Transfer {
    /// The final status.
    pub status: u16,
    /// Body bytes moved over the connection.
    pub bytes: u64,
    /// SHA-256 of the body bytes moved (for [`get_file`]: of the whole file).
    pub sha256: [u8; 32],
    /// Where a resumed download started (0 if it did not resume).
    pub resumed_from: u64,
}

/// Progress: bytes so far, and the total if known.
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits, Policy}, storage::RamStore};
/// use layernet::host::{blocking::Net, file_client::{self, Progress}, sim::{SimNet, endpoint}};
/// let (mut sim, a, b) = SimNet::pair(3)?;
/// let store = Box::new(RamStore::<1, 600_000>::new());
/// let server = FileServer::<_, 1>::bind(sim.stack(a), 80, 1, *store, Limits::default())?
///     .with_policy(Policy::WRITABLE);
/// sim.serve(a, Box::new(server));
/// let mut seen = Vec::new();
/// let report: Progress = &mut |done, total| seen.push((done, total));
/// let data = vec![0u8; 600_000];
/// file_client::put(&Net::new(sim).host(b), endpoint(a, 80), "p", &mut &data[..], 600_000, report)?;
/// assert_eq!(seen.last(), Some(&(600_000, Some(600_000))));
/// assert!(seen.len() > 1, "called as the blocks go");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// What a request carries besides its method and name.
///
/// # Example
///
/// ```
/// use layernet::host::file_client::Options;
/// let o = Options { user: Some("ann:secret"), ..Options::default() };
/// assert_eq!(o.accept, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options<'a> {
    /// `USER:PASS`, sent as HTTP Basic credentials (RFC 7617).
    pub user: Option<&'a str>,
    /// The `Accept` header's value: the listing asks for `text/plain`.
    pub accept: Option<&'a str>,
    /// HTTPS: TLS with these trust settings (plain HTTP if `None`).
    pub tls: Option<&'a crate::host::tls_client::TlsClient>,
}
