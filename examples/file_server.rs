//! The classic TCP file server (port 7878): a client names a file, the
//! server sends its bytes; here with framing, so that no file is cut short.
//!
//! Run it with `cargo run --example file_server`. Host 192.168.69.1 of
//! layernet's simulated Ethernet segment serves a fresh temporary directory
//! with `FileServer` (an HTTP/1.1 subset, see `docs/protocols.md`); this
//! program, on 192.168.69.2, plays the classic client: it lists the files,
//! downloads one larger than 1 KiB, uploads one, and prints each step
//! (status, bytes, SHA-256) and the server's log. Exit code 0 if the bytes
//! match on both sides; the directory is removed in any case.

use std::error::Error;
use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use layernet::app::files::{FileServer, Limits, Policy};
use layernet::app::ports;
use layernet::host::blocking::Net;
use layernet::host::dirstore::DirStore;
use layernet::host::file_client::{self, FileError, Transfer};
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::{Duration, IpAddress, IpEndpoint};

/// The served directory, removed when `main` ends (on an error too).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
    let name = format!("layernet-file-server-{}-{nanos}", std::process::id());
    let dir = TempDir(std::env::temp_dir().join(name));
    fs::create_dir(&dir.0)?;
    fs::write(dir.0.join("hello.txt"), "Hello from layernet!\n")?;
    // 5000 bytes: one recv(1024) in the classic client would keep 1024.
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(dir.0.join("big.bin"), &big)?;

    let mut sim = SimNet::new(1, Faults::NONE);
    let (server, client) = (sim.add_host()?, sim.add_host()?);
    // server_socket.bind(("", 7878)); server_socket.listen(128): 8 here
    let store = DirStore::open(&dir.0)?;
    let limits = Limits::default();
    // Uploads on: the classic course's server lets anyone write.
    let service = FileServer::<_, 4>::bind(sim.stack(server), ports::FILES, 8, store, limits)?
        .with_policy(Policy::WRITABLE);
    sim.serve(server, Box::new(service));
    let net = Net::new(sim);
    let host = net.host(client);
    let addr = IpEndpoint::new(IpAddress::v4(192, 168, 69, 1), ports::FILES);
    println!("serving {} on {addr}", dir.0.display());

    // client_socket.connect(server_addr); client_socket.send(file_name):
    // the name is a request line. HTTP/1.0, so the body ends at the close.
    let mut s = host.tcp_connect(addr, Some(Duration::from_secs(5)))?;
    s.set_timeout(Some(Duration::from_secs(5)));
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")?;
    // recv_data = client_socket.recv(1024), until the server closes
    let mut response = Vec::new();
    s.read_to_end(&mut response)?;
    let text = String::from_utf8(response)?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no end of head")?;
    println!("GET /: {}", head.lines().next().unwrap_or(""));
    body.lines().for_each(|line| println!("  {line}"));

    // send_content = f.read(); server_client.send(send_content): the
    // response says Content-Length, and file_client::get reads exactly that.
    let (mut got, mut quiet) = (Vec::new(), |_, _| {});
    let t = file_client::get(&host, addr, "big.bin", 0, &mut got, &mut quiet)?;
    show("GET /big.bin", &t);
    if got != big {
        return Err("the download differs from big.bin".into());
    }

    // if filename: return False (inverted) / except ...: print(e): a name
    // that is not there gets 404 and a one-line reason
    match file_client::get(&host, addr, "nope.txt", 0, &mut got, &mut quiet) {
        Err(FileError::Status(code, why)) => println!("GET /nope.txt: {code} ({why})"),
        other => return Err(format!("expected 404, got {other:?}").into()),
    }

    // (the upload half of the course's title): PUT with Content-Length
    let up = b"uploaded over the simulated segment\n".repeat(40);
    let len = up.len() as u64;
    let t = file_client::put(&host, addr, "up.txt", &mut &up[..], len, &mut quiet)?;
    show("PUT /up.txt", &t);
    if fs::read(dir.0.join("up.txt"))? != up {
        return Err("up.txt in the directory differs from what was sent".into());
    }
    // print("accepting..."): the server's own lines
    net.with(|sim| sim.drain_logs(&mut |_, line| println!("server log: {line}")));
    Ok(())
}

fn show(what: &str, t: &Transfer) {
    let sha = file_client::hex(&t.sha256);
    println!("{what}: {} {} bytes sha256 {sha}", t.status, t.bytes);
}
