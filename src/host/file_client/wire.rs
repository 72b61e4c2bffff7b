//! What the clients' HTTP runs over: the blocking TCP stream, or TLS over
//! it for `https://` ([`Options::tls`]).

use std::io::{self, Read as _, Write as _};

use super::{FileError, IO_TIMEOUT, Options};
use crate::Duration;
use crate::IpEndpoint;
use crate::host::blocking::{Driver, Host, TcpStream};
use crate::host::tls_client::TlsClient;
use crate::socket;

/// The stream as rustls sees it: a flush that returns at once (the
/// blocking stream's own waits for every byte to be acknowledged, which
/// would stall a transfer on each record).
pub(super) struct Sock<N: Driver>(TcpStream<N>);

impl<N: Driver> io::Read for Sock<N> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.recv(buf).map_err(to_io)
    }
}

impl<N: Driver> io::Write for Sock<N> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.send(buf).map_err(to_io)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The socket error inside an `io::Error`, to be found again.
fn to_io(e: socket::Error) -> io::Error {
    let kind = io::Error::from(e).kind();
    io::Error::new(kind, e)
}

pub(super) enum Wire<N: Driver> {
    Plain(TcpStream<N>),
    Tls(
        Box<rustls::StreamOwned<rustls::ClientConnection, Sock<N>>>,
        TlsClient,
    ),
}

impl<N: Driver> Wire<N> {
    /// Connect, and with TLS finish the handshake (so that a refused
    /// certificate is the error, before any request).
    pub(super) fn connect(
        host: &Host<N>,
        server: IpEndpoint,
        options: &Options<'_>,
    ) -> Result<Wire<N>, FileError> {
        let mut s = host.tcp_connect(server, Some(IO_TIMEOUT))?;
        s.set_timeout(Some(IO_TIMEOUT));
        let Some(tls) = options.tls else {
            return Ok(Wire::Plain(s));
        };
        let conn = tls.connection().map_err(FileError::Tls)?;
        let mut stream = Box::new(rustls::StreamOwned::new(conn, Sock(s)));
        // Bounded: each round moves a flight or fails.
        for _ in 0..16 {
            if !stream.conn.is_handshaking() {
                break;
            }
            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                return Err(tls_error(tls, e));
            }
        }
        Ok(Wire::Tls(stream, tls.clone()))
    }

    pub(super) fn set_timeout(&mut self, t: Option<Duration>) {
        match self {
            Wire::Plain(s) => s.set_timeout(t),
            Wire::Tls(s, _) => s.sock.0.set_timeout(t),
        }
    }

    pub(super) fn recv(&mut self, buf: &mut [u8]) -> Result<usize, FileError> {
        match self {
            Wire::Plain(s) => Ok(s.recv(buf)?),
            Wire::Tls(s, tls) => match s.read(buf) {
                Ok(n) => Ok(n),
                // The TCP stream ended without close_notify: the HTTP
                // framing tells whether anything is missing.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                Err(e) => Err(tls_error(tls, e)),
            },
        }
    }

    pub(super) fn sendall(&mut self, data: &[u8]) -> Result<(), FileError> {
        match self {
            Wire::Plain(s) => Ok(s.sendall(data)?),
            Wire::Tls(s, tls) => s.write_all(data).map_err(|e| tls_error(tls, e)),
        }
    }
}

/// An error of the TLS stream: the socket's own, the verifier's refusal
/// (one line saying how to trust the server), or rustls's.
fn tls_error(tls: &TlsClient, e: io::Error) -> FileError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<socket::Error>()) {
        return FileError::Socket(*inner);
    }
    if let Some(why) = tls.refusal() {
        return FileError::Tls(why);
    }
    FileError::Tls(format!("TLS: {e}"))
}
