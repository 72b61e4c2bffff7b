//! `layernet demo` (and `layernet` alone): every classic exchange over
//! the simulated segment, with the options' trace and counters.
//!
//! Layer: host (std), the binary. Depends on the library's
//! [`layernet::host::demo`] and on `args.rs` and `net.rs`.

use std::process::ExitCode;

use layernet::host::demo;
use layernet::net::{AppCounters, Counters};

use crate::args::{DemoArgs, Global, Link};
use crate::net::{Capture, pcap_to_stdout};
use layernet::host::recorder::Format;

/// The demo's hosts, as the trace and the counters name them.
pub(crate) const DEMO_HOSTS: [&str; 3] = ["server", "client-a", "client-b"];

pub(crate) fn run_demo(global: &Global, args: DemoArgs) -> ExitCode {
    if let Some(Link::Tap(_)) = global.link {
        eprintln!("layernet demo: the demo runs on the simulated segment; drop --link");
        return ExitCode::from(2);
    }
    // The wire's verdicts need pcapng; without faults the capture stays
    // classic pcap, as it always was.
    let format = match args.loss != 0 || global.faults.is_some() {
        true => Format::PcapNg,
        false => Format::Pcap,
    };
    let capture = match Capture::with_format(global, format) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("layernet demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut options = demo::Options::with_loss(args.loss, args.seed);
    if let Some(faults) = global.faults {
        if args.loss != 0 {
            eprintln!("layernet demo: give --loss or --faults, not both");
            return ExitCode::from(2);
        }
        options.faults = faults;
    }
    options.only = demo::EXCHANGES
        .iter()
        .copied()
        .find(|name| Some(*name) == args.only.as_deref());
    let mut setup = match demo::setup(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("layernet: demo setup failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(recorder) = &capture.recorder {
        setup.net.trace(recorder, &DEMO_HOSTS);
    }
    let report = demo::run_exchanges(&mut setup, options);
    if !global.quiet {
        match pcap_to_stdout(global) {
            // Standard output carries the capture.
            true => eprint!("{}", demo::format_report(&report)),
            false => demo::print_report(&report),
        }
    }
    let mut stacks = Vec::new();
    for (i, name) in DEMO_HOSTS.iter().enumerate() {
        let stack = setup.net.stack(i);
        stacks.push((*name, stack.counters(), stack.app_counters().to_vec()));
    }
    let rows: Vec<(&str, Counters, &[AppCounters])> = stacks
        .iter()
        .map(|(n, c, a)| (*n, *c, a.as_slice()))
        .collect();
    capture.report(&rows);
    if let Err(e) = capture.finish() {
        eprintln!("layernet demo: {e}");
        return ExitCode::FAILURE;
    }
    if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
