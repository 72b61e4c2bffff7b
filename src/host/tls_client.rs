//! The TLS side of `layernet get` and `put` for `https://` URLs: whom to
//! trust (a CA file, a pinned SHA-256 fingerprint, else the system's CA
//! bundle), and a refusal that says how to trust the server.
//!
//! Layer: host (std). Depends on rustls (ring) and [`crate::host::tls`]
//! for the provider and fingerprints; the file client
//! ([`crate::host::file_client`]) runs its HTTP over it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::tls::{certs_from_pem, fingerprint, provider};

/// Where Debian keeps the system's CA bundle: trusted when neither
/// `--cacert` nor `--fingerprint` is given.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Whom a client trusts, and the name it expects.
///
/// # Example
///
/// ```
/// use layernet::host::{tls, tls_client::TlsClient};
/// let made = tls::self_signed(&["192.168.69.1".into()])?;
/// let pinned = TlsClient::new("192.168.69.1", None, Some(&made.fingerprint))?;
/// assert!(pinned.server_name().contains("192.168.69.1"));
/// assert!(TlsClient::new("192.168.69.1", None, Some("abc")).is_err(), "not 64 hex digits");
/// # Ok::<(), String>(())
/// ```
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    verifier: Arc<Verifier>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsClient({:?})", self.name)
    }
}

impl PartialEq for TlsClient {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
    }
}

impl Eq for TlsClient {}

impl TlsClient {
    /// Trust `cacert` (PEM) or the certificate whose SHA-256 is
    /// `fingerprint` (hex, colons allowed), else the system's CA bundle;
    /// expect `host` (an address or a DNS name) in the certificate.
    ///
    /// # Errors
    /// One line: an unreadable or empty `cacert`, a fingerprint that is
    /// not 64 hex digits, a bad host name.
    ///
    /// ```
    /// use layernet::host::tls_client::TlsClient;
    /// let e = TlsClient::new("10.0.0.1", Some("/nonexistent.pem".as_ref()), None).err().unwrap_or_default();
    /// assert!(e.starts_with("--cacert /nonexistent.pem: "), "{e}");
    /// ```
    pub fn new(
        host: &str,
        cacert: Option<&Path>,
        fingerprint: Option<&str>,
    ) -> Result<TlsClient, String> {
        let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|e| format!("{host}: not a name for TLS ({e})"))?
            .to_owned();
        let pin = fingerprint.map(parse_fingerprint).transpose()?;
        let mut roots = RootCertStore::empty();
        match cacert {
            Some(path) => {
                let pem =
                    std::fs::read(path).map_err(|e| format!("--cacert {}: {e}", path.display()))?;
                let certs = certs_from_pem(&pem)
                    .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
                for c in certs {
                    roots
                        .add(c)
                        .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
                }
            }
            None if pin.is_none() => {
                // A missing or odd bundle leaves the store empty: then
                // only --cacert or --fingerprint will do, as the refusal
                // says.
                if let Ok(pem) = std::fs::read(SYSTEM_CAS)
                    && let Ok(certs) = certs_from_pem(&pem)
                {
                    roots.add_parsable_certificates(certs);
                }
            }
            None => {}
        }
        let provider = provider();
        let webpki = if roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| format!("TLS set-up: {e}"))?,
            )
        };
        let verifier = Arc::new(Verifier {
            webpki,
            pin,
            provider: Arc::clone(&provider),
            refused: Mutex::new(None),
        });
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::DEFAULT_VERSIONS)
            .map_err(|e| format!("TLS set-up: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsClient {
            config: Arc::new(config),
            name,
            verifier,
        })
    }

    /// A new client connection to the server named.
    ///
    /// # Errors
    /// rustls's, as a line.
    ///
    /// ```
    /// use layernet::host::tls_client::TlsClient;
    /// let c = TlsClient::new("layernet.local", None, Some(&"0".repeat(64)))?;
    /// assert!(c.connection().is_ok());
    /// # Ok::<(), String>(())
    /// ```
    pub fn connection(&self) -> Result<rustls::ClientConnection, String> {
        rustls::ClientConnection::new(Arc::clone(&self.config), self.name.clone())
            .map_err(|e| format!("TLS: {e}"))
    }

    /// The name the certificate must carry, for messages.
    ///
    /// ```
    /// use layernet::host::tls_client::TlsClient;
    /// let c = TlsClient::new("layernet.local", None, Some(&"0".repeat(64)))?;
    /// assert!(c.server_name().contains("layernet.local"));
    /// # Ok::<(), String>(())
    /// ```
    pub fn server_name(&self) -> String {
        match &self.name {
            ServerName::DnsName(name) => name.as_ref().to_string(),
            ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
            other => format!("{other:?}"),
        }
    }

    /// Why the last handshake's certificate was refused, as the one line
    /// `get` and `put` print: the server's fingerprint and how to trust
    /// it. `None` if no certificate was refused.
    ///
    /// ```
    /// use layernet::host::tls_client::TlsClient;
    /// let c = TlsClient::new("layernet.local", None, Some(&"0".repeat(64)))?;
    /// assert_eq!(c.refusal(), None);
    /// # Ok::<(), String>(())
    /// ```
    pub fn refusal(&self) -> Option<String> {
        self.verifier.refused.lock().ok().and_then(|r| r.clone())
    }
}

/// `--fingerprint`: 64 hex digits, colons and case as `openssl x509
/// -fingerprint` prints them allowed.
fn parse_fingerprint(s: &str) -> Result<String, String> {
    let hex: String = s
        .chars()
        .filter(|&c| c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(format!(
            "--fingerprint {s}: not a SHA-256 (64 hex digits, colons allowed)"
        ))
    }
}

/// Trusts a pinned fingerprint, else the CAs; remembers why it refused.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pin: Option<String>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    refused: Mutex<Option<String>>,
}

impl Verifier {
    fn refuse(&self, why: String) -> rustls::Error {
        if let Ok(mut r) = self.refused.lock() {
            *r = Some(why);
        }
        rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = fingerprint(end_entity);
        if let Some(pin) = &self.pin {
            if *pin == seen {
                return Ok(ServerCertVerified::assertion());
            }
            return Err(self.refuse(format!(
                "the server's certificate has sha256 fingerprint {seen}, not the {pin} pinned with --fingerprint"
            )));
        }
        let how = format!(
            "trust it with --cacert FILE (the certificate `serve --tls-self-signed` wrote) or --fingerprint {seen}"
        );
        let Some(webpki) = &self.webpki else {
            return Err(self.refuse(format!(
                "the server's certificate (sha256 {seen}) is unknown: {how}"
            )));
        };
        webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| {
                self.refuse(format!(
                    "the server's certificate (sha256 {seen}) is not trusted ({e}): {how}"
                ))
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
