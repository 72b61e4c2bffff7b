//! The `layernet` command line.
//!
//! Layer: host (std). With no command it runs the demo.
//!
//! Exit codes: 0 success, 1 runtime failure (one line on stderr), 2 usage.
//!
//! This file keeps `main` (the checks across options, the dispatch, the
//! exit codes) and the counting allocator. The grammar is in `args.rs`,
//! what commands share (capture, TAP, report lines) in `net.rs`, and the
//! commands in `demo.rs`, `serve.rs`, `client/` and `bench_command.rs`
//! (around the measurements of `bench/`).

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use layernet::app::services::Kind;

use crate::args::{Cli, Command, DemoArgs, IpMode, Link};
use crate::bench_command::{run_bench, sink_source};
use crate::demo::run_demo;
use crate::serve::serve;

/// Counts heap allocations for `layernet bench`'s "allocations after
/// setup" figure; every call goes on to the system allocator unchanged.
struct CountingAlloc;

static ALLOCATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter has no effect on the memory handed out.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { std::alloc::System.alloc(layout) }
    }
    // Forwarded rather than left to the default (alloc, then write zeros):
    // the system's calloc hands out fresh zero pages untouched, so the
    // host's socket buffers cost resident memory only once used.
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from `System.alloc`, `alloc_zeroed` or `realloc`.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

fn main() -> ExitCode {
    // Like every Unix filter, end quietly when the reader of our output goes
    // away (`layernet ping ... | head -1`) instead of panicking on EPIPE.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    client::client_defaults(&mut cli.global, cli.command.as_ref(), &matches);
    if cli.global.link == Some(Link::Sim)
        && !matches!(
            cli.command,
            None | Some(Command::Demo(_) | Command::Bench(_) | Command::Diagram(_))
        )
    {
        eprintln!(
            "layernet: this command needs a real link: --link tap:NAME (a lone simulated stack has no peers)"
        );
        return ExitCode::from(2);
    }
    if cli.global.ip == IpMode::Dhcp && cli.global.gateway.is_some() {
        eprintln!(
            "layernet: with --ip dhcp the default route comes from the lease; drop --gateway"
        );
        return ExitCode::from(2);
    }
    if cli.global.ip != IpMode::Dhcp && cli.global.dhcp_max_lease.is_some() {
        eprintln!("layernet: --dhcp-max-lease needs --ip dhcp");
        return ExitCode::from(2);
    }
    // Only serve and the demo can give standard output to the capture:
    // a client's output there is its data (a file, a reply, ping's lines).
    if net::pcap_to_stdout(&cli.global)
        && !matches!(
            cli.command,
            None | Some(Command::Demo(_) | Command::Serve(_))
        )
    {
        let name = cli.command.as_ref().map_or("demo", client_name);
        eprintln!(
            "layernet {name}: --pcap - (the capture on standard output) works with serve and demo only; give --pcap FILE"
        );
        return ExitCode::from(2);
    }
    match cli.command {
        None => run_demo(&cli.global, DemoArgs::default_run()),
        Some(Command::Demo(a)) => run_demo(&cli.global, a),
        Some(Command::Bench(a)) if a.sink_source => {
            match sink_source(&cli.global, a.socket_buffers) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("layernet bench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Bench(a)) => run_bench(a),
        Some(Command::Diagram(a)) => diagram::run_diagram(&a),
        Some(Command::Serve(a)) => match serve(&cli.global, a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(client::Failure::Usage(e)) => {
                eprintln!("layernet serve: {e}");
                ExitCode::from(2)
            }
            Err(client::Failure::Runtime(e)) => {
                eprintln!("layernet serve: {e}");
                ExitCode::FAILURE
            }
        },
        Some(command) => {
            let name = client_name(&command);
            match client::run(&cli.global, command) {
                Ok(()) => ExitCode::SUCCESS,
                Err(client::Failure::Usage(e)) => {
                    eprintln!("layernet {name}: {e}");
                    ExitCode::from(2)
                }
                Err(client::Failure::Runtime(e)) => {
                    eprintln!("layernet {name}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn client_name(c: &Command) -> &'static str {
    match c {
        Command::Demo(_) => "demo",
        Command::Serve(_) => "serve",
        Command::Echo { .. } => Kind::Echo.entry().name,
        Command::Greeting { .. } => Kind::Greeting.entry().name,
        Command::TimeEcho { .. } => Kind::TimeEcho.entry().name,
        Command::Chat { .. } => Kind::Chat.entry().name,
        Command::Get { .. } => "get",
        Command::Put { .. } => "put",
        Command::Ping { .. } => "ping",
        Command::Iperf3(_) => "iperf3",
        Command::Bench(_) => "bench",
        Command::Diagram(_) => "diagram",
    }
}

mod args;
mod bench;
mod bench_command;
mod client;
mod demo;
mod diagram;
mod iperf3;
mod net;
mod serve;
