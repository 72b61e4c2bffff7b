//! Host side (feature `std`): the simulated network driver, blocking
//! sockets, the wall clock and the demo.
//!
//! Layer: host, beside the core rather than above it. It may use every
//! layer and `std`; nothing in the core imports it.

pub mod auth;
pub mod blocking;
pub mod demo;
pub mod diagram;
pub mod dirstore;
pub mod file_client;
pub mod local_clock;
pub mod memory;
pub mod recorder;
pub mod sim;
pub mod tap_net;
pub mod tls;
pub mod tls_client;

/// The file service as `layernet serve` runs it: up to 128 connections at
/// once (`--max-connections` picks how many, 64 by default), request heads
/// of 1 KiB, 64 log lines kept between drains (the access log holds
/// requests back rather than drop a line).
///
/// ```
/// // The connection table is a value of its own, boxed by `serve`.
/// assert!(size_of::<layernet::host::ServedFiles>() < 1024 * 1024);
/// ```
pub type ServedFiles =
    crate::app::files::FileServer<dirstore::DirStore, { SERVED_FILE_CONNECTIONS }, 1024, 64>;

/// The same service with HTTPS: its main listener speaks TLS (7443), a
/// plain one beside it HTTP (7878) unless `--tls-only`.
///
/// ```
/// assert!(size_of::<layernet::host::ServedFilesTls>() < 1024 * 1024);
/// ```
pub type ServedFilesTls = crate::app::files::FileServer<
    dirstore::DirStore,
    { SERVED_FILE_CONNECTIONS },
    1024,
    64,
    tls::TlsWrap,
>;

/// Most file-service connections `layernet serve` holds at once.
///
/// ```
/// assert!(layernet::host::SERVED_FILE_CONNECTIONS >= 64, "issue 16's floor");
/// ```
pub const SERVED_FILE_CONNECTIONS: usize = 128;
