//! A known hang, kept as a reproduction (ignored: it fails today). An echo
//! client on a second layernet host sends 200,000 bytes, half-closes and
//! reads until end of file, over a segment that drops 5%, corrupts 1%,
//! duplicates 2% and reorders 5% of frames (the TAP lossy-link test's
//! mix), with `serve`'s 256 KiB socket buffers. With 8 KiB buffers every
//! seed finishes; with 64 or 256 KiB, 8 seeds of 30 hung, 4 since the
//! gate hands smoltcp a FIN after old data as the FIN alone
//! (tests/fin_after_old_data.rs). In the 4 left, the client's last
//! retransmission of its data and FIN is lost, and the client never
//! sends its FIN again: the server has echoed everything, and neither
//! stack has a timer left (`poll_at` is `None` on both). smoltcp's lost
//! retransmission timer, in FIN-WAIT-1 with only the FIN outstanding.
//! See docs/reliability.md, "FIN handling under loss".
//!
//! `cargo test --release --test lossy_half_close -- --ignored --nocapture`

use layernet::app::Service;
use layernet::app::echo::EchoServer;
use layernet::host::memory::Sizes;
use layernet::host::sim::{SimNet, endpoint, host_ip, host_mac};
use layernet::link::segment::Faults;
use layernet::net::{Config, Stack};
use layernet::socket::{Error, TcpStream};
use layernet::{Duration, Instant};

/// Sends everything, half-closes, reads until end of file.
struct HalfClose {
    data: Vec<u8>,
    sent: usize,
    got: Vec<u8>,
    stream: Option<TcpStream>,
    shut: bool,
    done: bool,
}

impl Service for HalfClose {
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
        if self.done {
            return false;
        }
        let Some(stream) = self.stream.as_mut() else {
            self.stream = TcpStream::connect(stack, endpoint(0, 7)).ok();
            return true;
        };
        let mut progress = false;
        while let Some(rest) = self.data.get(self.sent..).filter(|r| !r.is_empty()) {
            match stream.send(stack, rest) {
                Ok(n) if n > 0 => {
                    self.sent += n;
                    progress = true;
                }
                _ => break,
            }
        }
        if self.sent == self.data.len() && !self.shut {
            stream.shutdown(stack);
            self.shut = true;
            progress = true;
        }
        let mut buf = [0u8; 4096];
        loop {
            match stream.recv(stack, &mut buf) {
                Ok(0) => {
                    self.done = true;
                    progress = true;
                    break;
                }
                Ok(n) => {
                    self.got.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(Error::WouldBlock) => break,
                Err(_) => {
                    self.done = true;
                    break;
                }
            }
        }
        progress
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

/// Whether `seed` finishes (everything echoed, then end of file) within
/// ten minutes of simulated time.
fn finishes(seed: u64, buffer: usize) -> bool {
    let faults = Faults {
        drop_pct: 5,
        corrupt_pct: 1,
        duplicate_pct: 2,
        reorder_pct: 5,
        delay: Duration::from_millis(2),
    };
    let mut net = SimNet::new(seed, faults);
    let sizes = Sizes {
        tcp_sockets: 24,
        tcp_buffer: buffer,
    };
    for i in 0..2 {
        let memory = sizes.leak().expect("memory");
        net.add_host_memory(Config::new(host_mac(i), host_ip(i)), memory)
            .expect("host");
    }
    let server = EchoServer::<8>::bind(net.stack(0), 7, 4).expect("bind");
    net.serve(0, Box::new(server));
    let data: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut client = HalfClose {
        data: data.clone(),
        sent: 0,
        got: Vec::new(),
        stream: None,
        shut: false,
        done: false,
    };
    let done = net.run_client(1, &mut client, Duration::from_secs(600));
    let now = net.now();
    println!(
        "seed {seed}, {} KiB buffers: done {done}, {} of {} bytes back, identical {}, poll_at client {:?} server {:?}",
        buffer / 1024,
        client.got.len(),
        data.len(),
        client.got == data,
        net.stack(1).poll_at(now),
        net.stack(0).poll_at(now),
    );
    done && client.got == data
}

#[test]
#[ignore = "a known hang under loss: see the module documentation"]
fn a_half_closed_echo_finishes_under_loss() {
    let hung: Vec<u64> = (1..=30)
        .filter(|&seed| !finishes(seed, 256 * 1024))
        .collect();
    assert!(hung.is_empty(), "seeds that hung: {hung:?}");
}
