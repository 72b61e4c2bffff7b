//! TLS for the file service, on the host: rustls (crypto from `ring`)
//! between the stack's [`TcpStream`] and the file service's connection
//! logic, through the core's [`Transport`] seam. The HTTP state machine is
//! the same code over plaintext; only this layer sees records.
//!
//! Layer: host (std). Depends on [`crate::app::transport`],
//! [`crate::socket`], rustls and rcgen.
//!
//! Where the heap is used (the core keeps its fixed buffers): rustls's
//! `ServerConnection` (its handshake state, its queues of records to
//! send and of plaintext received) and this layer's two plaintext
//! buffers of [`RECORD`] bytes, allocated when a connection is accepted on
//! the TLS listener and freed when it closes. The stack, its sockets and
//! the frames never see any of it: records go into the TCP send buffer and
//! come out of the receive buffer by copies, as the plain service's bytes
//! do.
//!
//! A record is sized by the room in the TCP send buffer, so every record
//! made is in that buffer when `send_with` returns: closing the stream
//! delivers all of it, as for the plain stream.

use std::io::{self, Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};
use sha2::{Digest, Sha256};

use crate::app::transport::{Transport, Wrap};
use crate::net::Stack;
use crate::socket::{Error, TcpStream};

/// Plaintext bytes per record at most (TLS's limit), and so the size of
/// each plaintext buffer a connection holds.
///
/// ```
/// // A whole record of plaintext (TLS's 2^14 bytes) fits in one buffer.
/// assert!(layernet::host::tls::RECORD >= 1 << 14);
/// ```
pub const RECORD: usize = 16 * 1024;

/// What a record adds to its plaintext, with room to spare: 5 bytes of
/// header, and the content type and a 16-byte tag (TLS 1.3) or an
/// explicit nonce and tag (TLS 1.2).
const OVERHEAD: usize = 64;

/// The crypto provider: `ring`, which builds with cargo and a C compiler
/// alone (aws-lc-rs, rustls's default, also wants cmake).
///
/// ```
/// let provider = layernet::host::tls::provider();
/// assert!(!provider.cipher_suites.is_empty());
/// ```
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    // rustls 0.23.48 deprecates ring's provider for its lack of a
    // post-quantum key exchange; aws-lc-rs has one but needs cmake to
    // build. The handshake here uses X25519 (or P-256).
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    Arc::new(provider)
}

/// The certificates in PEM text `pem` (a chain, leaf first).
///
/// # Errors
/// A line saying that no certificate is there, or that one is malformed.
///
/// ```
/// use layernet::host::tls;
/// assert!(tls::certs_from_pem(b"not a certificate").is_err());
/// let made = tls::self_signed(&["layernet.local".into()])?;
/// assert_eq!(tls::certs_from_pem(made.cert_pem.as_bytes())?.len(), 1);
/// # Ok::<(), String>(())
/// ```
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("malformed PEM ({e})"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// Read `path`, naming `flag` and the file in the error.
fn read_file(flag: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

/// A made certificate: for `serve --tls-self-signed`.
///
/// ```
/// let made = layernet::host::tls::self_signed(&["192.168.69.1".into(), "layernet.local".into()])?;
/// assert!(made.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// assert_eq!(made.fingerprint.len(), 64);
/// # Ok::<(), String>(())
/// ```
pub struct SelfSigned {
    /// The certificate, PEM: what a client trusts (`curl --cacert`).
    pub cert_pem: String,
    /// Its private key, PEM (kept in memory by `serve`).
    pub key_pem: String,
    /// The SHA-256 of the certificate's DER, lower-case hex.
    pub fingerprint: String,
}

/// A self-signed certificate for `names`: addresses become IP address
/// names, the rest DNS names.
///
/// # Errors
/// rcgen's, as a line (a name that is neither).
///
/// ```
/// assert!(layernet::host::tls::self_signed(&[]).is_ok());
/// ```
pub fn self_signed(names: &[String]) -> Result<SelfSigned, String> {
    let made = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| format!("making a certificate: {e}"))?;
    Ok(SelfSigned {
        cert_pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
        fingerprint: fingerprint(made.cert.der()),
    })
}

/// The SHA-256 of a certificate's DER, lower-case hex without colons
/// (what `openssl x509 -fingerprint -sha256` prints, colons and case
/// aside).
///
/// ```
/// assert_eq!(layernet::host::tls::fingerprint(b"").len(), 64);
/// ```
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Makes every connection accepted on the main listener a TLS server
/// connection; those of a plain listener beside it stay plain.
///
/// # Example
///
/// ```
/// use layernet::app::{files::{FileServer, Limits}, storage::RamStore};
/// use layernet::host::{sim::SimNet, tls::{self, TlsWrap}};
/// let made = tls::self_signed(&["layernet.local".into()])?;
/// let wrap = TlsWrap::from_pem(made.cert_pem.as_bytes(), made.key_pem.as_bytes())?;
/// let (mut net, a, _) = SimNet::pair(1)?;
/// let store = RamStore::<1, 8>::new();
/// // The wrap is the server's last type parameter (`Plain` unless named).
/// type Https = FileServer<RamStore<1, 8>, 2, 1024, { layernet::app::LOG_LINES }, TlsWrap>;
/// let https = Https::bind_with(net.stack(a), 7443, 1, store, Limits::default(), wrap)?
///     .also_plain(net.stack(a), 7878, 1)?;
/// assert_eq!(https.active(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TlsWrap {
    config: Arc<ServerConfig>,
}

impl TlsWrap {
    /// From a certificate chain and a private key, both PEM.
    ///
    /// # Errors
    /// One line: no certificate, no key, a malformed one, or a key that
    /// does not go with the certificate.
    ///
    /// ```
    /// use layernet::host::tls::{self, TlsWrap};
    /// let made = tls::self_signed(&["a.local".into()])?;
    /// let other = tls::self_signed(&["b.local".into()])?;
    /// assert!(TlsWrap::from_pem(made.cert_pem.as_bytes(), other.key_pem.as_bytes()).is_err());
    /// assert!(TlsWrap::from_pem(made.cert_pem.as_bytes(), b"").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<TlsWrap, String> {
        let certs = certs_from_pem(cert).map_err(|e| format!("certificate: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => "key: no PEM private key in it".into(),
            e => format!("key: malformed PEM ({e})"),
        })?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(rustls::DEFAULT_VERSIONS)
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("certificate and key: {e}"))?;
        // HTTP/1.1 is all the file service speaks; saying so keeps a
        // client that offers h2 from guessing.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsWrap {
            config: Arc::new(config),
        })
    }

    /// From PEM files, as `serve --tls-cert FILE --tls-key FILE` names
    /// them.
    ///
    /// # Errors
    /// One line naming the flag and file: unreadable, or as
    /// [`TlsWrap::from_pem`].
    ///
    /// ```
    /// use layernet::host::tls::TlsWrap;
    /// let err = TlsWrap::from_pem_files("/nonexistent/cert.pem".as_ref(), "/nonexistent/key.pem".as_ref());
    /// assert!(err.err().unwrap_or_default().starts_with("--tls-cert /nonexistent/cert.pem: "));
    /// ```
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsWrap, String> {
        let cert_pem = read_file("--tls-cert", cert)?;
        let key_pem = read_file("--tls-key", key)?;
        let certs =
            certs_from_pem(&cert_pem).map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
        drop(certs);
        TlsWrap::from_pem(&cert_pem, &key_pem).map_err(|e| match e.strip_prefix("key: ") {
            Some(rest) => format!("--tls-key {}: {rest}", key.display()),
            None => format!(
                "--tls-cert {} --tls-key {}: {e}",
                cert.display(),
                key.display()
            ),
        })
    }
}

impl Wrap for TlsWrap {
    type Stream = HostStream;
    fn wrap(&mut self, tcp: TcpStream) -> HostStream {
        match ServerConnection::new(Arc::clone(&self.config)) {
            Ok(tls) => HostStream::Tls(Box::new(TlsStream::new(tcp, tls))),
            Err(_) => HostStream::Failed(tcp),
        }
    }
    fn plain(&mut self, tcp: TcpStream) -> HostStream {
        HostStream::Plain(tcp)
    }
}

/// A connection's transport on a server that speaks TLS: plain (from the
/// plain listener beside it), TLS, or a TLS connection that could not be
/// set up (closed at its first step).
///
/// ```
/// use layernet::host::tls::HostStream;
/// assert!(size_of::<HostStream>() <= 32, "the TLS state lives on the heap");
/// ```
pub enum HostStream {
    /// HTTP.
    Plain(TcpStream),
    /// HTTPS.
    Tls(Box<TlsStream>),
    /// rustls refused to start a connection.
    Failed(TcpStream),
}

/// A TLS server connection over the stack's stream.
///
/// ```
/// use layernet::host::tls::TlsStream;
/// let _ = size_of::<TlsStream>();
/// ```
pub struct TlsStream {
    tcp: TcpStream,
    tls: ServerConnection,
    /// Plaintext received, `start..end` not yet taken.
    inbuf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Plaintext the connection fills before it is sealed into a record.
    outbuf: Box<[u8]>,
    /// The peer's close_notify came, or its FIN (all plaintext taken then
    /// means end of file).
    eof: bool,
    /// The TCP stream's end of file was fed to rustls.
    tcp_eof: bool,
    /// We sent close_notify; the FIN follows once it is in the buffer.
    closing: bool,
    shut: bool,
}

/// The stream and the stack as `std::io` sees them, for rustls's
/// `read_tls`/`write_tls`.
struct TcpIo<'s, 'a> {
    tcp: &'s mut TcpStream,
    stack: &'s mut Stack<'a>,
}

fn io_error(e: Error) -> io::Error {
    match e {
        Error::WouldBlock => io::ErrorKind::WouldBlock.into(),
        Error::Reset => io::ErrorKind::ConnectionReset.into(),
        e => io::Error::other(e.to_string()),
    }
}

impl io::Read for TcpIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.recv(self.stack, buf).map_err(io_error)
    }
}

impl io::Write for TcpIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.send(self.stack, buf).map_err(io_error)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsStream {
    fn new(tcp: TcpStream, tls: ServerConnection) -> TlsStream {
        TlsStream {
            tcp,
            tls,
            inbuf: vec![0; RECORD].into_boxed_slice(),
            start: 0,
            end: 0,
            outbuf: vec![0; RECORD].into_boxed_slice(),
            eof: false,
            tcp_eof: false,
            closing: false,
            shut: false,
        }
    }

    /// Records rustls has made, into the TCP send buffer as far as they
    /// fit; then the FIN if we are closing and all is out.
    fn flush(&mut self, stack: &mut Stack<'_>) -> Result<bool, Error> {
        let mut moved = false;
        // Bounded: each round moves bytes or stops.
        for _ in 0..64 {
            if !self.tls.wants_write() {
                break;
            }
            let mut io = TcpIo {
                tcp: &mut self.tcp,
                stack,
            };
            match self.tls.write_tls(&mut io) {
                Ok(0) => break,
                Ok(_) => moved = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return Err(Error::Reset),
            }
        }
        if self.closing && !self.shut && !self.tls.wants_write() {
            self.tcp.shutdown(stack);
            self.shut = true;
            moved = true;
        }
        Ok(moved)
    }

    /// Records from the TCP receive buffer into rustls, and plaintext out
    /// of it into `inbuf`, as far as `inbuf` has room.
    fn fill(&mut self, stack: &mut Stack<'_>) -> Result<bool, Error> {
        let mut moved = false;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        // Bounded: each round reads a record's worth or stops.
        for _ in 0..16 {
            if !self.eof && self.end < self.inbuf.len() {
                match self.tls.reader().read(&mut self.inbuf[self.end..]) {
                    // close_notify: the peer's end of data.
                    Ok(0) => {
                        self.eof = true;
                        moved = true;
                    }
                    Ok(n) => {
                        self.end += n;
                        moved = true;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The TCP stream ended without close_notify: the
                    // HTTP framing says whether anything was cut.
                    Err(_) => {
                        self.eof = true;
                        moved = true;
                    }
                }
            }
            if self.eof || self.tcp_eof || self.end == self.inbuf.len() {
                break;
            }
            if !self.tls.wants_read() {
                break;
            }
            let mut io = TcpIo {
                tcp: &mut self.tcp,
                stack,
            };
            match self.tls.read_tls(&mut io) {
                Ok(0) => self.tcp_eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return Err(Error::Reset),
            }
            moved = true;
            if self.tls.process_new_packets().is_err() {
                // rustls queued an alert saying why: send it, then end.
                let _ = self.flush(stack);
                return Err(Error::Reset);
            }
            moved |= self.flush(stack)?;
        }
        Ok(moved)
    }

    /// Plaintext that fits in one record and in the TCP buffer now.
    fn room(&self, stack: &Stack<'_>) -> usize {
        if self.closing || self.tls.is_handshaking() || self.tls.wants_write() {
            return 0;
        }
        self.tcp
            .send_room(stack)
            .saturating_sub(OVERHEAD)
            .min(self.outbuf.len())
    }
}

impl Transport for TlsStream {
    fn pump(&mut self, stack: &mut Stack<'_>) -> Result<bool, Error> {
        let sent = self.flush(stack)?;
        Ok(self.fill(stack)? | sent)
    }

    fn send(&mut self, stack: &mut Stack<'_>, data: &[u8]) -> Result<usize, Error> {
        self.send_with(stack, |free| {
            let n = free.len().min(data.len());
            free[..n].copy_from_slice(&data[..n]);
            (n, n)
        })
    }

    fn recv(&mut self, stack: &mut Stack<'_>, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.recv_with(stack, |data| {
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            (n, n)
        })? {
            Some(n) => Ok(n),
            None => Ok(0),
        }
    }

    fn send_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        fill: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Result<R, Error> {
        if self.closing {
            return Err(Error::Closed);
        }
        self.flush(stack)?;
        let room = self.room(stack);
        if room == 0 {
            return Err(Error::WouldBlock);
        }
        let (n, r) = fill(&mut self.outbuf[..room]);
        let n = n.min(room);
        if n > 0 {
            // One record, into rustls's queue (empty before: see `room`),
            // then into the TCP buffer, which has room for all of it.
            let mut plain = &self.outbuf[..n];
            while !plain.is_empty() {
                match self.tls.writer().write(plain) {
                    Ok(0) | Err(_) => return Err(Error::Reset),
                    Ok(k) => plain = &plain[k..],
                }
            }
            self.flush(stack)?;
        }
        Ok(r)
    }

    fn recv_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        take: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Result<Option<R>, Error> {
        self.fill(stack)?;
        if self.start < self.end {
            let data = &self.inbuf[self.start..self.end];
            let (n, r) = take(data);
            self.start += n.min(data.len());
            return Ok(Some(r));
        }
        if self.eof {
            Ok(None)
        } else {
            Err(Error::WouldBlock)
        }
    }

    fn can_send(&self, stack: &Stack<'_>) -> bool {
        self.room(stack) > 0
    }

    fn is_open(&self, stack: &Stack<'_>) -> bool {
        self.tcp.is_open(stack)
    }

    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        if !self.closing {
            self.tls.send_close_notify();
            self.closing = true;
        }
        let _ = self.flush(stack);
    }

    fn into_stream(self) -> TcpStream {
        self.tcp
    }
}

impl Transport for HostStream {
    fn pump(&mut self, stack: &mut Stack<'_>) -> Result<bool, Error> {
        match self {
            HostStream::Plain(_) => Ok(false),
            HostStream::Tls(t) => t.pump(stack),
            HostStream::Failed(_) => Err(Error::Reset),
        }
    }
    fn send(&mut self, stack: &mut Stack<'_>, data: &[u8]) -> Result<usize, Error> {
        match self {
            HostStream::Plain(s) => s.send(stack, data),
            HostStream::Tls(t) => t.send(stack, data),
            HostStream::Failed(_) => Err(Error::Reset),
        }
    }
    fn recv(&mut self, stack: &mut Stack<'_>, buf: &mut [u8]) -> Result<usize, Error> {
        match self {
            HostStream::Plain(s) => s.recv(stack, buf),
            HostStream::Tls(t) => t.recv(stack, buf),
            HostStream::Failed(_) => Err(Error::Reset),
        }
    }
    fn send_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        fill: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Result<R, Error> {
        match self {
            HostStream::Plain(s) => s.send_with(stack, fill),
            HostStream::Tls(t) => t.send_with(stack, fill),
            HostStream::Failed(_) => Err(Error::Reset),
        }
    }
    fn recv_with<R>(
        &mut self,
        stack: &mut Stack<'_>,
        take: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Result<Option<R>, Error> {
        match self {
            HostStream::Plain(s) => s.recv_with(stack, take),
            HostStream::Tls(t) => t.recv_with(stack, take),
            HostStream::Failed(_) => Err(Error::Reset),
        }
    }
    fn can_send(&self, stack: &Stack<'_>) -> bool {
        match self {
            HostStream::Plain(s) => s.can_send(stack),
            HostStream::Tls(t) => t.can_send(stack),
            HostStream::Failed(_) => false,
        }
    }
    fn is_open(&self, stack: &Stack<'_>) -> bool {
        match self {
            HostStream::Plain(s) | HostStream::Failed(s) => s.is_open(stack),
            HostStream::Tls(t) => t.is_open(stack),
        }
    }
    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        match self {
            HostStream::Plain(s) | HostStream::Failed(s) => s.shutdown(stack),
            HostStream::Tls(t) => t.shutdown(stack),
        }
    }
    fn into_stream(self) -> TcpStream {
        match self {
            HostStream::Plain(s) | HostStream::Failed(s) => s,
            HostStream::Tls(t) => t.into_stream(),
        }
    }
}
