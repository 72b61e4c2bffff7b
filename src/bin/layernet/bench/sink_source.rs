//! The sink and source of `layernet bench --sink-source`: socket-level
//! throughput over TAP, as smoltcp's `benchmark` example measures it.
//!
//! Layer: the command-line binary (std). Uses the library's socket layer
//! and `Service`.

use layernet::Instant;
use layernet::app::Service;
use layernet::net::Stack;
use layernet::socket::{TcpListener, TcpStream};

/// The port on which [`SinkSource`] sends bytes to whoever connects.
pub const SOURCE_PORT: u16 = 1234;
/// The port on which [`SinkSource`] reads and discards what it is sent.
pub const SINK_PORT: u16 = 1235;

/// Socket-level throughput over a real link, as smoltcp's `benchmark`
/// example measures it: a connection to [`SOURCE_PORT`] gets zeros as fast
/// as the stack takes them, one to [`SINK_PORT`] has everything read and
/// dropped. One connection at a time on each. `layernet bench
/// --sink-source` serves it on TAP for scripts/bench-tap.sh.
pub struct SinkSource {
    source: TcpListener,
    sink: TcpListener,
    out: Option<TcpStream>,
    into: Option<TcpStream>,
}

/// What the source sends: zeros, as smoltcp's benchmark does.
static ZEROS: [u8; 8192] = [0; 8192];

impl SinkSource {
    /// Listen on both ports.
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`]: a port taken, or no free socket.
    pub fn bind(stack: &mut Stack<'_>) -> Result<Self, layernet::socket::Error> {
        Ok(SinkSource {
            source: TcpListener::bind(stack, SOURCE_PORT, 1)?,
            sink: TcpListener::bind(stack, SINK_PORT, 1)?,
            out: None,
            into: None,
        })
    }
}

impl Service for SinkSource {
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
        let mut progress = false;
        if self.out.is_none() {
            self.out = self.source.accept(stack).ok().map(|(s, _)| s);
        }
        if self.into.is_none() {
            self.into = self.sink.accept(stack).ok().map(|(s, _)| s);
        }
        if let Some(out) = &mut self.out {
            loop {
                match out.send(stack, &ZEROS) {
                    Ok(n) if n > 0 => progress = true,
                    Ok(_) | Err(layernet::socket::Error::WouldBlock) => break,
                    Err(_) => {
                        if let Some(s) = self.out.take() {
                            s.abort(stack);
                        }
                        progress = true;
                        break;
                    }
                }
            }
        }
        if let Some(into) = &mut self.into {
            let mut buf = [0u8; 8192];
            loop {
                match into.recv(stack, &mut buf) {
                    Ok(n) if n > 0 => progress = true,
                    Err(layernet::socket::Error::WouldBlock) => break,
                    _ => {
                        if let Some(s) = self.into.take() {
                            s.close(stack);
                        }
                        progress = true;
                        break;
                    }
                }
            }
        }
        progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use layernet::host::sim::{SimNet, endpoint};

    // The examples of the library's `host::bench` docs, as they were.

    #[test]
    fn the_sink_takes_everything() -> Result<(), Box<dyn std::error::Error>> {
        let (mut net, a, b) = SimNet::pair(4)?;
        let service = SinkSource::bind(net.stack(a))?;
        net.serve(a, Box::new(service));
        let mut to_sink = TcpStream::connect(net.stack(b), endpoint(a, SINK_PORT))?;
        net.run_for(layernet::Duration::from_millis(10));
        assert_eq!(to_sink.send(net.stack(b), &[1; 5000])?, 5000);
        net.run_for(layernet::Duration::from_millis(10));
        assert_eq!(to_sink.send_queue(net.stack(b)), 0, "all taken");
        Ok(())
    }

    #[test]
    fn the_ports_are_taken_once() -> Result<(), Box<dyn std::error::Error>> {
        let (mut net, a, _) = SimNet::pair(5)?;
        let _one = SinkSource::bind(net.stack(a))?;
        assert!(
            SinkSource::bind(net.stack(a)).is_err(),
            "the ports are taken"
        );
        Ok(())
    }
}
