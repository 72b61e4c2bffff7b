//! The `layernet` command line.
//!
//! Layer: host (std). With no command it runs the demo.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use layernet::host::demo;

/// layernet: a userspace TCP/IP stack on smoltcp, with the classic socket
/// programs (echo, greeting, time-stamped echo, UDP chat) on top.
#[derive(Parser, Debug)]
#[command(name = "layernet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every classic exchange (ping, echo, greeting, time-echo, chat)
    /// over a simulated Ethernet segment and verify each byte for byte.
    /// Needs no privileges; exits 0 only if every exchange is verified.
    Demo(DemoArgs),
}

#[derive(clap::Args, Debug, Default)]
struct DemoArgs {
    /// Percentage of frames the simulated segment loses (0-100).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    loss: u8,
    /// Seed of every random choice (faults, sequence numbers, ports): the
    /// same seed replays the same frames.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Demo(a)) => a,
        None => DemoArgs { loss: 0, seed: 1 },
    };
    let options = demo::Options::with_loss(args.loss, args.seed);
    match demo::run(options) {
        Ok(report) => {
            demo::print_report(&report);
            if report.all_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("layernet: demo setup failed: {e}");
            ExitCode::FAILURE
        }
    }
}
