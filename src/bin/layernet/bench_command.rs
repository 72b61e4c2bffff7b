//! `layernet bench`: the measurements of `bench/` on a thread with room
//! for them, or (`--sink-source`) the sink and source served on TAP.
//!
//! Layer: host (std), the binary. Depends on `bench/`, `args.rs` and
//! `net.rs`.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use layernet::host::memory::Sizes;
use layernet::host::tap_net::TapNet;

use crate::allocations;
use crate::args::{BenchArgs, BenchBuffers, Global};
use crate::bench;
use crate::net::{Capture, open_tap, open_tap_with};

/// `layernet bench --sink-source`: the sink and source on TAP until a signal.
pub(crate) fn sink_source(global: &Global, buffers: BenchBuffers) -> Result<(), String> {
    let capture = Capture::new(global)?;
    let mut net = match buffers {
        // Two listening slots, two connections and spares.
        BenchBuffers::Bytes(tcp_buffer) => open_tap_with(global, &capture, |config, device| {
            let sizes = Sizes {
                tcp_sockets: 6,
                tcp_buffer,
            };
            TapNet::sized(config, device, sizes)
        })?,
        BenchBuffers::Host => open_tap(global, &capture)?,
    };
    let service = bench::SinkSource::bind(net.stack()).map_err(|e| e.to_string())?;
    net.serve(Box::new(service));
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    println!("sink on port 1235, source on port 1234");
    net.run_until(|_| stop.load(Ordering::Relaxed));
    match net.failure() {
        Some(f) => Err(f.to_string()),
        None => Ok(()),
    }
}

/// The bench thread's stack: two hosts' resources and a segment of
/// jumbo frames may sit on it before they are boxed.
pub(crate) const BENCH_STACK: usize = 64 << 20;

pub(crate) fn run_bench(args: BenchArgs) -> ExitCode {
    use std::io::Write;
    let options = bench::Options {
        runs: usize::from(args.runs),
        quick: args.quick,
        only: args.only,
        allocations: Some(allocations),
        transfer: args.transfer,
    };
    let mut figures = Vec::new();
    let mut out = std::io::stdout();
    // The bulk transfers make `Resources` with 64 KiB sockets (3 MB for the
    // 24-socket pool) and box them; the optimiser does not always build
    // them in place, and the main thread's 8 MiB overflowed. A thread of
    // its own with room to spare.
    let result = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("bench".into())
            .stack_size(BENCH_STACK)
            .spawn_scoped(scope, || {
                bench::run(&options, &mut |f| {
                    if args.json {
                        let _ = writeln!(out, "{}", f.to_json());
                        let _ = out.flush();
                    }
                    figures.push(f.clone());
                })
            })
            .map_err(|e| format!("bench thread: {e}"))?
            .join()
            .map_err(|_| "the bench thread panicked".to_string())?
    });
    if !args.json {
        let _ = write!(out, "{}", bench::table(&figures));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("layernet bench: {e}");
            ExitCode::FAILURE
        }
    }
}
