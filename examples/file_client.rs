//! The classic TCP file client, done right: the classic reads one
//! `recv(1024)` and so cuts every file over 1 KiB short; this one reads
//! exactly the `Content-Length` the server announces.
//!
//! Run it with `cargo run --example file_client -- [SIZE_BYTES]` (default
//! 40960, at most 65536). A background `FileServer` over an in-RAM store
//! listens on 192.168.69.1:7878 of layernet's simulated Ethernet segment;
//! this program, on 192.168.69.2, uploads a generated file of SIZE_BYTES,
//! downloads it back and prints both SHA-256s, then resumes a download of
//! which a quarter is already on disk and prints `resumed from N`. A
//! progress bar shows only when stdout is a terminal. Exit code 0 if every
//! byte matches, 1 on a failure, 2 for a bad argument.

use std::error::Error;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use std::{env, fs};

use indicatif::{ProgressBar, ProgressDrawTarget};
use layernet::app::files::{FileServer, Limits, Policy};
use layernet::app::ports;
use layernet::app::storage::RamStore;
use layernet::host::blocking::Net;
use layernet::host::file_client::{self, Transfer};
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::{IpAddress, IpEndpoint};

/// Largest file the in-RAM store holds.
const MAX: usize = 65536;

/// A temporary directory, removed when dropped (on an error too).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let size = match args.as_slice() {
        [] => Some(40 * 1024),
        [n] => n.parse().ok().filter(|&n| n <= MAX),
        _ => None,
    };
    let Some(size) = size else {
        eprintln!("file_client: usage: file_client [SIZE_BYTES], 0 to {MAX}; got {args:?}");
        return ExitCode::from(2);
    };
    if let Err(e) = run(size) {
        eprintln!("file_client: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn run(size: usize) -> Result<(), Box<dyn Error>> {
    let mut sim = SimNet::new(1, Faults::NONE);
    let (server, client) = (sim.add_host()?, sim.add_host()?);
    let (store, limits) = (RamStore::<4, MAX>::new(), Limits::default());
    let service = FileServer::<_, 2>::bind(sim.stack(server), ports::FILES, 4, store, limits)?
        .with_policy(Policy::WRITABLE);
    sim.serve(server, Box::new(service));
    let net = Net::new(sim);
    let host = net.host(client);
    // client_socket.connect(server_addr): once per transfer
    let addr = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::FILES);
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    // A progress bar on a terminal; a hidden one for a pipe or a file.
    let bar = if std::io::stdout().is_terminal() {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout())
    } else {
        ProgressBar::hidden()
    };
    let mut tick = |done, total: Option<u64>| {
        bar.set_length(total.unwrap_or(done));
        bar.set_position(done);
    };

    // (the upload half of the course's title): PUT, Content-Length first
    let len = size as u64;
    let up = file_client::put(&host, addr, "data.bin", &mut &data[..], len, &mut tick)?;
    show(&bar, "PUT /data.bin", &up);

    // client_socket.send(file_name); recv_data = client_socket.recv(1024):
    // here recv until Content-Length bytes arrived, however many segments
    let mut back = Vec::new();
    let down = file_client::get(&host, addr, "data.bin", 0, &mut back, &mut tick)?;
    show(&bar, "GET /data.bin", &down);
    if back != data || down.sha256 != up.sha256 {
        return Err("the download differs from the upload".into());
    }

    // with open("[download]"+file_name, "wb") as f: f.write(recv_data),
    // resumed: a quarter is already there, the rest comes with a Range
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
    let name = format!("layernet-file-client-{}-{nanos}", std::process::id());
    let dir = TempDir(env::temp_dir().join(name));
    fs::create_dir(&dir.0)?;
    let (dest, have) = (dir.0.join("[download]data.bin"), size / 4);
    fs::write(&dest, &data[..have])?;
    let t = file_client::get_file(&host, addr, "data.bin", &dest, true, &mut tick)?;
    show(&bar, &format!("resumed from {}", t.resumed_from), &t);
    bar.finish_and_clear();
    if t.resumed_from != have as u64 || fs::read(&dest)? != data || t.sha256 != up.sha256 {
        return Err("the resumed file differs from the upload".into());
    }
    Ok(())
}

/// Status, bytes over the wire, SHA-256 (of the whole file), printed
/// above the progress bar.
fn show(bar: &ProgressBar, what: &str, t: &Transfer) {
    let sha = file_client::hex(&t.sha256);
    bar.suspend(|| println!("{what}: {} {} bytes sha256 {sha}", t.status, t.bytes));
}
