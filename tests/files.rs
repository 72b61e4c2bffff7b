//! The HTTP file service over the simulated link: round trips of every
//! awkward size, concurrent downloads, resume, every error status, cut-off
//! uploads, a full store, and every way out of the root.

use std::cell::RefCell;
use std::io::Write as _;
use std::path::Path;
use std::rc::Rc;

use layernet::app::files::{FileServer, Limits, Policy};
use layernet::app::ports;
use layernet::app::storage::RamStore;
use layernet::host::blocking::{Host, Net, TcpStream};
use layernet::host::dirstore::DirStore;
use layernet::host::file_client::{self, FileError};
use layernet::host::sim::SimNet;
use layernet::link::segment::Faults;
use layernet::socket::Error;
use layernet::{Duration, IpAddress, IpEndpoint, Ipv4Address};

const SERVER: IpEndpoint = IpEndpoint::new(
    IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 1)),
    ports::FILES,
);

fn limits() -> Limits {
    Limits {
        max_body: 64 << 20,
        idle: Duration::from_secs(5),
        stall: Duration::from_secs(20),
    }
}

/// A network whose host 0 serves `dir`; returns the client host's sockets.
fn serve_dir(dir: &Path, faults: Faults) -> (Net<SimNet>, Host<SimNet>) {
    let mut sim = SimNet::new(17, faults);
    sim.add_host().unwrap();
    sim.add_host().unwrap();
    let store = DirStore::open(dir).unwrap();
    let server = FileServer::<_, 8>::bind(sim.stack(0), ports::FILES, 8, store, limits())
        .unwrap()
        .with_policy(Policy::WRITABLE);
    sim.serve(0, Box::new(server));
    let net = Net::new(sim);
    let client = net.host(1);
    (net, client)
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    file_client::sha256_of(&mut &bytes[..]).unwrap()
}

/// Send raw bytes, then read everything until the server closes (or `max`
/// bytes, or a quiet second).
fn raw(client: &Host<SimNet>, request: &[u8]) -> String {
    let mut s = client
        .tcp_connect(SERVER, Some(Duration::from_secs(5)))
        .unwrap();
    s.sendall(request).unwrap();
    read_all(&mut s)
}

fn read_all(s: &mut TcpStream<SimNet>) -> String {
    String::from_utf8_lossy(&read_bytes(s)).into_owned()
}

fn read_bytes(s: &mut TcpStream<SimNet>) -> Vec<u8> {
    s.set_timeout(Some(Duration::from_secs(10)));
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.recv(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

fn status(response: &str) -> u16 {
    response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn round_trip(client: &Host<SimNet>, name: &str, content: &[u8]) {
    let put = file_client::put(
        client,
        SERVER,
        name,
        &mut &content[..],
        content.len() as u64,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(put.status, 201, "{name}");
    let mut back = Vec::new();
    let got = file_client::get(client, SERVER, name, 0, &mut back, &mut |_, _| {}).unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(back.len(), content.len(), "{name}");
    assert!(back == content, "{name}: bytes differ");
    assert_eq!(put.sha256, got.sha256);
    assert_eq!(got.sha256, sha(content));
}

#[test]
fn round_trips_of_awkward_sizes_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (net, client) = serve_dir(dir.path(), Faults::NONE);
    // MSS on a 1500-byte MTU is 1460.
    for (i, len) in [0usize, 1, 1459, 1460, 1461, 1 << 20]
        .into_iter()
        .enumerate()
    {
        round_trip(&client, &format!("f{len}"), &data(len, i as u32));
        assert_eq!(
            std::fs::read(dir.path().join(format!("f{len}"))).unwrap(),
            data(len, i as u32)
        );
    }
    println!(
        "round trips done at {} ms virtual",
        net.now().total_millis()
    );
}

#[test]
fn round_trip_over_a_lossy_link() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        drop_pct: 5,
        corrupt_pct: 1,
        duplicate_pct: 2,
        reorder_pct: 5,
        delay: Duration::from_millis(1),
    };
    let (net, client) = serve_dir(dir.path(), faults);
    round_trip(&client, "lossy.bin", &data(256 * 1024, 9));
    let s = net.with(|sim| sim.stats());
    println!(
        "256 KiB both ways over a lossy link: {s:?}, {} ms virtual",
        net.now().total_millis()
    );
    assert!(s.dropped > 0 && s.corrupted > 0);
}

/// The 16 MiB round trip runs in release mode (scripts/test.sh runs it).
#[test]
#[cfg_attr(debug_assertions, ignore = "16 MiB: run with --release")]
fn round_trip_of_16_mib() {
    let dir = tempfile::tempdir().unwrap();
    let (net, client) = serve_dir(dir.path(), Faults::NONE);
    let start = std::time::Instant::now();
    round_trip(&client, "big.bin", &data(16 << 20, 3));
    println!(
        "16 MiB up and down in {:?} wall, {} ms virtual",
        start.elapsed(),
        net.now().total_millis()
    );
}

#[test]
fn eight_concurrent_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let content = data(200_000, 1);
    std::fs::write(dir.path().join("shared.bin"), &content).unwrap();
    let (_net, client) = serve_dir(dir.path(), Faults::NONE);
    let mut streams: Vec<TcpStream<SimNet>> = (0..8)
        .map(|_| {
            let mut s = client.tcp_connect(SERVER, None).unwrap();
            s.sendall(b"GET /shared.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            s.set_timeout(Some(Duration::from_millis(1)));
            s
        })
        .collect();
    let mut got: Vec<Vec<u8>> = vec![Vec::new(); 8];
    let mut open = [true; 8];
    let mut buf = [0u8; 8192];
    let mut interleaved = 0;
    for _ in 0..1_000_000 {
        if !open.iter().any(|&o| o) {
            break;
        }
        let mut moved = 0;
        for (i, s) in streams.iter_mut().enumerate() {
            if !open[i] {
                continue;
            }
            match s.recv(&mut buf) {
                Ok(0) => open[i] = false,
                Ok(n) => {
                    got[i].extend_from_slice(&buf[..n]);
                    moved += 1;
                }
                Err(Error::TimedOut) => {}
                Err(e) => panic!("download {i}: {e}"),
            }
        }
        interleaved += usize::from(moved > 1);
    }
    for (i, body) in got.iter().enumerate() {
        let text_end = body
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head")
            + 4;
        assert!(body.starts_with(b"HTTP/1.1 200 OK"), "download {i}");
        assert!(body[text_end..] == content[..], "download {i} differs");
    }
    println!("8 downloads; rounds where several moved at once: {interleaved}");
    assert!(
        interleaved > 0,
        "the downloads were served one after another, not at once"
    );
}

#[test]
fn a_broken_download_resumes_and_a_complete_one_gets_416() {
    let dir = tempfile::tempdir().unwrap();
    let content = data(300_000, 2);
    std::fs::write(dir.path().join("r.bin"), &content).unwrap();
    let (_net, client) = serve_dir(dir.path(), Faults::NONE);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("r.bin");
    {
        // Take the head and about a third of the body, then hang up.
        let mut s = client.tcp_connect(SERVER, None).unwrap();
        s.sendall(b"GET /r.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut first = Vec::new();
        let mut buf = [0u8; 4096];
        while first.len() < 100_000 {
            let n = s.recv(&mut buf).unwrap();
            first.extend_from_slice(&buf[..n]);
        }
        let body_at = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        std::fs::File::create(&dest)
            .unwrap()
            .write_all(&first[body_at..])
            .unwrap();
    }
    let partial = std::fs::metadata(&dest).unwrap().len();
    let t = file_client::get_file(&client, SERVER, "r.bin", &dest, true, &mut |_, _| {}).unwrap();
    assert_eq!((t.status, t.resumed_from), (206, partial));
    assert_eq!(t.bytes, content.len() as u64 - partial);
    assert_eq!(std::fs::read(&dest).unwrap(), content);
    assert_eq!(t.sha256, sha(&content));
    let again =
        file_client::get_file(&client, SERVER, "r.bin", &dest, true, &mut |_, _| {}).unwrap();
    assert_eq!((again.status, again.bytes), (416, 0), "already complete");
    assert_eq!(again.sha256, sha(&content));
}

#[test]
fn every_error_status() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"0123456789").unwrap();
    let (net, c) = serve_dir(dir.path(), Faults::NONE);
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("garbage", b"\x01\x02 nonsense\r\n\r\n".to_vec(), 400),
        ("no slash", b"GET a.txt HTTP/1.1\r\n\r\n".to_vec(), 400),
        ("bad escape", b"GET /a%zz HTTP/1.1\r\n\r\n".to_vec(), 400),
        (
            "negative length",
            b"PUT /n HTTP/1.1\r\nContent-Length: -5\r\n\r\n".to_vec(),
            400,
        ),
        (
            "length not a number",
            b"PUT /n HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n".to_vec(),
            400,
        ),
        (
            "length past u64",
            b"PUT /n HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
            400,
        ),
        (
            "two lengths",
            b"PUT /n HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
            400,
        ),
        (
            "traversal",
            b"GET /..%2fetc%2fpasswd HTTP/1.1\r\n\r\n".to_vec(),
            403,
        ),
        ("missing", b"GET /nothing HTTP/1.1\r\n\r\n".to_vec(), 404),
        (
            "method",
            b"POST /a.txt HTTP/1.1\r\nContent-Length: 0\r\n\r\n".to_vec(),
            405,
        ),
        (
            "put without length",
            b"PUT /n HTTP/1.1\r\n\r\n".to_vec(),
            411,
        ),
        (
            "bad chunk size",
            b"PUT /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            "chunk without its CRLF",
            b"PUT /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            "unknown coding",
            b"PUT /n HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(),
            501,
        ),
        (
            "length and chunked",
            b"PUT /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n".to_vec(),
            400,
        ),
        (
            "too large",
            format!(
                "PUT /n HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
                (64u64 << 20) + 1
            )
            .into_bytes(),
            413,
        ),
        (
            "long line",
            format!("GET /{} HTTP/1.1\r\n\r\n", "x".repeat(2000)).into_bytes(),
            414,
        ),
        (
            "big headers",
            format!("GET /a.txt HTTP/1.1\r\nX-Big: {}\r\n\r\n", "y".repeat(2000)).into_bytes(),
            431,
        ),
        (
            "many headers",
            format!("GET /a.txt HTTP/1.1\r\n{}\r\n", "H: v\r\n".repeat(40)).into_bytes(),
            431,
        ),
        (
            "range past end",
            b"GET /a.txt HTTP/1.1\r\nRange: bytes=10-\r\n\r\n".to_vec(),
            416,
        ),
    ];
    for (what, request, want) in cases {
        let response = raw(&c, &request);
        assert_eq!(status(&response), want, "{what}: {response:?}");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
        assert!(
            body.starts_with(&want.to_string()) && body.ends_with('\n'),
            "{what}: one-line body {body:?}"
        );
    }
    let response = raw(&c, b"GET /a.txt HTTP/1.1\r\nRange: bytes=10-\r\n\r\n");
    assert!(response.contains("Content-Range: bytes */10"), "{response}");
    let response = raw(&c, b"POST / HTTP/1.1\r\n\r\n");
    assert!(response.contains("Allow: GET, HEAD"), "{response}");

    // A connection that says nothing is closed (FIN, no answer) after the
    // idle limit; one that starts a request and stalls gets 408.
    let start = net.now();
    let mut s = c.tcp_connect(SERVER, None).unwrap();
    let response = read_all(&mut s);
    assert_eq!(response, "", "closed without a word");
    println!(
        "quiet connection closed after {} ms virtual",
        (net.now() - start).total_millis()
    );
    assert!(net.now() - start >= Duration::from_secs(5));
    let start = net.now();
    let mut s = c.tcp_connect(SERVER, None).unwrap();
    s.sendall(b"GET /a.txt HTTP/1.1\r\nHost:").unwrap();
    let response = read_all(&mut s);
    assert_eq!(status(&response), 408, "{response:?}");
    println!(
        "408 after {} ms virtual",
        (net.now() - start).total_millis()
    );
    assert!(net.now() - start >= Duration::from_secs(5));
    // No file was left by the refused uploads.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.txt"], "nothing left behind");
    // The file is untouched by all of this, and the server still serves.
    assert_eq!(
        std::fs::read(dir.path().join("a.txt")).unwrap(),
        b"0123456789"
    );
    let ok = raw(&c, b"GET /a.txt HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(
        ok.starts_with("HTTP/1.1 200 OK") && ok.ends_with("0123456789"),
        "{ok}"
    );
}

#[test]
fn a_download_resumes_only_from_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"0123456789").unwrap();
    let (_net, c) = serve_dir(dir.path(), Faults::NONE);
    let head = |r: &str, name: &str| -> Option<String> {
        r.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(str::to_string)
    };
    let r = raw(&c, b"GET /a.txt HTTP/1.1\r\nConnection: close\r\n\r\n");
    let tag = head(&r, "ETag").unwrap_or_else(|| panic!("no ETag: {r}"));
    assert!(
        tag.starts_with('"') && tag.ends_with('"'),
        "a strong ETag: {tag}"
    );
    // The validator still names the file: the range holds.
    let ask = |validator: &str| {
        raw(
            &c,
            format!("GET /a.txt HTTP/1.1\r\nRange: bytes=6-\r\nIf-Range: {validator}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
    };
    let r = ask(&tag);
    assert!(
        r.starts_with("HTTP/1.1 206") && r.ends_with("\r\n\r\n6789"),
        "{r}"
    );
    // Another program put a new file in its place since (a rename, as
    // editors and rsync do): the whole new file, not a splice, and not the
    // old file's bytes from a reader the store kept open.
    std::fs::write(dir.path().join("a.new"), b"abcdefghijkl").unwrap();
    std::fs::rename(dir.path().join("a.new"), dir.path().join("a.txt")).unwrap();
    let r = ask(&tag);
    assert!(
        r.starts_with("HTTP/1.1 200") && r.ends_with("\r\n\r\nabcdefghijkl"),
        "{r}"
    );
    assert_ne!(head(&r, "ETag"), Some(tag), "a new file, a new ETag");
    // A date, or anything that is not one of our tags, matches nothing.
    for other in ["Sat, 05 Dec 2026 10:00:00 GMT", "\"x\"", &"\"f".repeat(50)] {
        let r = ask(other);
        assert!(r.starts_with("HTTP/1.1 200"), "{other}: {r}");
    }
}

#[test]
fn ranges_head_delete_listing_and_keep_alive() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"0123456789").unwrap();
    std::fs::write(dir.path().join("b <&>.txt"), b"xy").unwrap();
    let (_net, c) = serve_dir(dir.path(), Faults::NONE);
    let r = raw(
        &c,
        b"GET /a.txt HTTP/1.1\r\nRange: bytes=3-\r\nConnection: close\r\n\r\n",
    );
    assert!(
        r.starts_with("HTTP/1.1 206")
            && r.contains("Content-Range: bytes 3-9/10")
            && r.ends_with("\r\n\r\n3456789"),
        "{r}"
    );
    let r = raw(
        &c,
        b"GET /a.txt HTTP/1.1\r\nRange: bytes=2-4\r\nConnection: close\r\n\r\n",
    );
    assert!(r.ends_with("\r\n\r\n234"), "{r}");
    let r = raw(
        &c,
        b"GET /a.txt HTTP/1.1\r\nRange: bytes=-3\r\nConnection: close\r\n\r\n",
    );
    assert!(r.ends_with("\r\n\r\n789"), "{r}");
    let r = raw(&c, b"HEAD /a.txt HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(
        r.contains("Content-Length: 10") && r.ends_with("\r\n\r\n"),
        "{r}"
    );
    let r = raw(
        &c,
        b"GET / HTTP/1.1\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
    );
    assert!(
        r.contains("Transfer-Encoding: chunked")
            && r.contains("a.txt 10\n")
            && r.contains("b <&>.txt 2\n"),
        "{r}"
    );
    assert!(r.ends_with("0\r\n\r\n"), "{r}");
    let r = raw(
        &c,
        b"GET / HTTP/1.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
    );
    assert!(
        r.contains("text/html")
            && r.contains("<a href=\"b%20%3C%26%3E.txt\">b &lt;&amp;&gt;.txt</a></td><td class=\"n\" data-v=\"2\">2</td>")
            && r.contains("</table>")
            && r.contains("</body></html>\n")
            && r.ends_with("0\r\n\r\n"),
        "{r}"
    );
    let r = raw(&c, b"GET / HTTP/1.0\r\nAccept: text/plain\r\n\r\n");
    assert!(
        r.contains("a.txt 10\n") && !r.contains("chunked"),
        "HTTP/1.0 gets a close-delimited listing: {r}"
    );
    // Keep-alive: three requests on one connection, the last one closes it.
    let r = raw(
        &c,
        b"GET /a.txt HTTP/1.1\r\n\r\nHEAD /a.txt HTTP/1.1\r\n\r\nDELETE /a.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.matches("HTTP/1.1 ").count(), 3, "{r}");
    assert!(r.contains("HTTP/1.1 204 No Content"), "{r}");
    assert!(!dir.path().join("a.txt").exists());
    assert_eq!(status(&raw(&c, b"DELETE /a.txt HTTP/1.1\r\n\r\n")), 404);
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let (_net, c) = serve_dir(dir.path(), Faults::NONE);
    let mut s = c.tcp_connect(SERVER, None).unwrap();
    s.sendall(b"PUT /e.txt HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    s.set_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 256];
    let n = s.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"HTTP/1.1 100 Continue\r\n\r\n");
    s.sendall(b"hello").unwrap();
    let n = s.recv(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 201 Created"));
    assert_eq!(std::fs::read(dir.path().join("e.txt")).unwrap(), b"hello");
    // Replacing it answers 204.
    let t = file_client::put(&c, SERVER, "e.txt", &mut &b"again"[..], 5, &mut |_, _| {}).unwrap();
    assert_eq!(t.status, 204);
}

#[test]
fn an_upload_cut_off_halfway_leaves_the_old_file_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.bin"), b"old content").unwrap();
    let (net, c) = serve_dir(dir.path(), Faults::NONE);
    {
        let mut s = c.tcp_connect(SERVER, None).unwrap();
        s.sendall(b"PUT /keep.bin HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")
            .unwrap();
        s.sendall(&data(50_000, 4)).unwrap();
        // Dropped here: the client goes away halfway.
    }
    net.with(|sim| sim.run_for(Duration::from_secs(2)));
    assert_eq!(
        std::fs::read(dir.path().join("keep.bin")).unwrap(),
        b"old content"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["keep.bin"], "no temporary file left");
}

#[test]
fn a_full_store_answers_507_and_a_ram_store_serves() {
    let mut sim = SimNet::new(17, Faults::NONE);
    sim.add_host().unwrap();
    sim.add_host().unwrap();
    let server = FileServer::<RamStore<2, 4096>, 2>::bind(
        sim.stack(0),
        ports::FILES,
        2,
        RamStore::new(),
        limits(),
    )
    .unwrap()
    .with_policy(Policy::WRITABLE);
    let server = Rc::new(RefCell::new(server));
    sim.serve(0, Box::new(Rc::clone(&server)));
    let net = Net::new(sim);
    let c = net.host(1);
    round_trip(&c, "one", &data(4096, 1));
    round_trip(&c, "two", &data(100, 2));
    match file_client::put(&c, SERVER, "three", &mut &b"x"[..], 1, &mut |_, _| {}) {
        Err(FileError::Status(507, why)) => assert_eq!(why, "507 Insufficient Storage"),
        other => panic!("{other:?}"),
    }
    match file_client::put(
        &c,
        SERVER,
        "one",
        &mut &data(4097, 0)[..],
        4097,
        &mut |_, _| {},
    ) {
        Err(FileError::Status(413, _)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(server.borrow().requests(), 6);
}

#[test]
fn no_way_out_of_the_root() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(base.path().join("outside.txt"), b"outside").unwrap();
    std::os::unix::fs::symlink(base.path().join("outside.txt"), root.join("escape")).unwrap();
    let (_net, c) = serve_dir(&root, Faults::NONE);
    let long = "n".repeat(256);
    let forms = [
        "/../outside.txt",
        "/..%2foutside.txt",
        "/%2e%2e%2foutside.txt",
        "/%2E%2E/outside.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/..%5coutside.txt",
        "/a%00b",
        "/a%0d%0ab",
        "/a%1fb",
        "/.hidden",
        "/escape",
        &format!("/{long}"),
    ];
    for form in forms {
        for method in ["GET", "HEAD", "DELETE"] {
            let r = raw(
                &c,
                format!("{method} {form} HTTP/1.1\r\nConnection: close\r\n\r\n").as_bytes(),
            );
            assert_eq!(status(&r), 403, "{method} {form}: {r:?}");
        }
        let r = raw(
            &c,
            format!("PUT {form} HTTP/1.1\r\nContent-Length: 3\r\n\r\nbad").as_bytes(),
        );
        assert_eq!(status(&r), 403, "PUT {form}: {r:?}");
    }
    assert_eq!(
        std::fs::read(base.path().join("outside.txt")).unwrap(),
        b"outside"
    );
    let mut outside: Vec<String> = std::fs::read_dir(base.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    outside.sort();
    assert_eq!(outside, ["outside.txt", "root"]);
    let inside: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(inside, ["escape"]);
}

#[test]
fn a_bad_request_does_not_disturb_a_download_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let content = data(500_000, 6);
    std::fs::write(dir.path().join("big"), &content).unwrap();
    let (_net, c) = serve_dir(dir.path(), Faults::NONE);
    let mut d = c.tcp_connect(SERVER, None).unwrap();
    d.sendall(b"GET /big HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while got.len() < 50_000 {
        let n = d.recv(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(status(&raw(&c, b"\xff\xfe garbage\r\n\r\n")), 400);
    assert_eq!(
        status(&raw(
            &c,
            format!("GET /{} HTTP/1.1\r\n\r\n", "z".repeat(5000)).as_bytes()
        )),
        414
    );
    got.extend_from_slice(&read_bytes(&mut d));
    let body_at = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(got[body_at..] == content[..], "the download was disturbed");
}

#[test]
fn slow_clients_do_not_hold_connections() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big"), data(2 << 20, 8)).unwrap();
    let (net, c) = serve_dir(dir.path(), Faults::NONE);
    // Slowloris: one byte of the head every second never completes it.
    let start = net.now();
    let mut s = c.tcp_connect(SERVER, None).unwrap();
    s.set_timeout(Some(Duration::from_secs(1)));
    let mut answer = Vec::new();
    let mut buf = [0u8; 256];
    for b in b"GET /big HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaa" {
        if s.send(&[*b]).is_err() {
            break;
        }
        match s.recv(&mut buf) {
            Ok(0) | Err(Error::Reset) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    println!(
        "slowloris cut after {} ms virtual",
        (net.now() - start).total_millis()
    );
    assert_eq!(status(&answer), 408, "{answer:?}");
    assert!(net.now() - start < Duration::from_secs(8));

    // A reader that stops reading: the server gives up on it after `idle`.
    let mut r = c.tcp_connect(SERVER, None).unwrap();
    r.sendall(b"GET /big HTTP/1.1\r\n\r\n").unwrap();
    net.with(|sim| sim.run_for(Duration::from_secs(30)));
    r.set_timeout(Some(Duration::from_secs(60)));
    let mut total = 0;
    let outcome = loop {
        match r.recv(&mut buf) {
            Ok(0) => break "closed",
            Ok(n) => total += n,
            Err(Error::Reset) => break "reset",
            Err(e) => panic!("{e}"),
        }
    };
    println!("stalled reader: {outcome} after {total} bytes of 2 MiB");
    assert!(
        total < 2 << 20,
        "the server should have given up before the end"
    );
}

#[test]
fn a_file_replaced_during_a_download_is_never_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let old = data(300_000, 1);
    std::fs::write(dir.path().join("v.bin"), &old).unwrap();
    let (_net, c) = serve_dir(dir.path(), Faults::NONE);
    let mut d = c.tcp_connect(SERVER, None).unwrap();
    d.sendall(b"GET /v.bin HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 60_000 {
        let n = d.recv(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    // Replace the file while the download is a fifth of the way through.
    let new = data(300_000, 2);
    file_client::put(
        &c,
        SERVER,
        "v.bin",
        &mut &new[..],
        new.len() as u64,
        &mut |_, _| {},
    )
    .unwrap();
    got.extend_from_slice(&read_bytes(&mut d));
    let body_at = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let body = &got[body_at..];
    println!(
        "download cut at {} of {} bytes when the file was replaced",
        body.len(),
        old.len()
    );
    assert!(
        body.len() < old.len(),
        "the download must end early, not go on with the new file"
    );
    assert!(
        body == &old[..body.len()],
        "every byte received is the old file's"
    );
    // The client's own get() reports the short body as an error.
    let t = file_client::get(&c, SERVER, "v.bin", 0, &mut Vec::new(), &mut |_, _| {}).unwrap();
    assert_eq!(t.sha256, sha(&new));
}

#[test]
fn a_body_on_get_is_refused_not_taken_for_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"0123456789").unwrap();
    let (_net, c) = serve_dir(dir.path(), Faults::NONE);
    let r = raw(
        &c,
        b"GET /a.txt HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloHEAD /a.txt HTTP/1.1\r\n\r\n",
    );
    assert_eq!(status(&r), 400, "{r}");
    assert_eq!(r.matches("HTTP/1.1 ").count(), 1, "{r}");
    let r = raw(
        &c,
        b"DELETE /a.txt HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status(&r), 204, "an empty body is no body: {r}");
}

#[test]
fn http_1_0_keep_alive_is_said_out_loud() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"0123456789").unwrap();
    let (_net, c) = serve_dir(dir.path(), Faults::NONE);
    let r = raw(
        &c,
        b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /a.txt HTTP/1.0\r\n\r\n",
    );
    assert_eq!(r.matches("HTTP/1.1 200 OK").count(), 2, "{r}");
    assert!(r.contains("Connection: keep-alive"), "{r}");
    assert!(r.contains("Connection: close"), "{r}");
}

/// A network whose host 0 answers every connection on port 80 with `reply`
/// and closes: a server that breaks off in the middle of a body.
fn canned_server(reply: &'static [u8]) -> (Net<SimNet>, Host<SimNet>) {
    let mut sim = SimNet::new(23, Faults::NONE);
    sim.add_host().unwrap();
    sim.add_host().unwrap();
    let server =
        layernet::app::greeting::GreetingServer::<2>::bind(sim.stack(0), 80, 2, reply).unwrap();
    sim.serve(0, Box::new(server));
    let net = Net::new(sim);
    let client = net.host(1);
    (net, client)
}

const CANNED: IpEndpoint = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 1)), 80);

#[test]
fn get_leaves_no_file_after_an_error_and_a_resume_keeps_its_part() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("there.txt"), b"server copy").unwrap();
    let (_net, client) = serve_dir(dir.path(), Faults::NONE);
    let out = tempfile::tempdir().unwrap();
    // A 404 creates nothing, with or without -C.
    for resume in [false, true] {
        let dest = out.path().join("missing.txt");
        let got = file_client::get_file(
            &client,
            SERVER,
            "missing.txt",
            &dest,
            resume,
            &mut |_, _| {},
        );
        match got {
            Err(e @ FileError::Status(404, _)) => assert_eq!(e.to_string(), "404 Not Found"),
            other => panic!("expected a 404, got {other:?}"),
        }
        assert!(
            !dest.exists(),
            "resume {resume}: a file was left after the 404"
        );
    }
    // A 404 leaves a file that was there as it was, with or without -C.
    let mine = out.path().join("mine.txt");
    for resume in [false, true] {
        std::fs::write(&mine, b"my own notes").unwrap();
        let got = file_client::get_file(&client, SERVER, "nope", &mine, resume, &mut |_, _| {});
        assert!(matches!(got, Err(FileError::Status(404, _))), "{got:?}");
        assert_eq!(
            std::fs::read(&mine).unwrap(),
            b"my own notes",
            "resume {resume}"
        );
    }
    // The good case still works: the file is written.
    let there = out.path().join("there.txt");
    file_client::get_file(&client, SERVER, "there.txt", &there, false, &mut |_, _| {}).unwrap();
    assert_eq!(std::fs::read(&there).unwrap(), b"server copy");

    // A body cut off: without -C the partial file goes (even over an old
    // one: it was truncated for the new content); with -C what arrived
    // stays, after what was there.
    let (_net, cut) = canned_server(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial");
    let dest = out.path().join("cut.bin");
    for existed in [false, true] {
        if existed {
            std::fs::write(&dest, b"old").unwrap();
        }
        let got = file_client::get_file(&cut, CANNED, "cut.bin", &dest, false, &mut |_, _| {});
        assert!(matches!(got, Err(FileError::Protocol(_))), "{got:?}");
        assert!(
            !dest.exists(),
            "a partial download was left (existed before: {existed})"
        );
    }
    let (_net, cut) = canned_server(
        b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 3-1002/1003\r\nContent-Length: 1000\r\n\r\npartial",
    );
    std::fs::write(&dest, b"abc").unwrap();
    let got = file_client::get_file(&cut, CANNED, "cut.bin", &dest, true, &mut |_, _| {});
    assert!(matches!(got, Err(FileError::Protocol(_))), "{got:?}");
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        b"abcpartial",
        "a resume keeps its part"
    );
}

#[test]
fn error_bodies_come_down_to_one_line() {
    // Python's http.server answers a PUT with a page of HTML (here shorter
    // than its 13 lines: the canned server sends at most 256 bytes).
    let (_net, client) = canned_server(
        b"HTTP/1.0 501 Unsupported method ('PUT')\r\nContent-Type: text/html\r\nContent-Length: 174\r\n\r\n<html>\n<head><title>Error response</title></head>\n<body>\n<h1>Error response</h1>\n<p>Error code: 501</p>\n<p>Message: Unsupported method (&#x27;PUT&#x27;).</p>\n</body>\n</html>\n",
    );
    let got = file_client::put(&client, CANNED, "f", &mut &b"data"[..], 4, &mut |_, _| {});
    let Err(e @ FileError::Status(501, _)) = got else {
        panic!("expected a 501, got {got:?}")
    };
    assert_eq!(
        e.to_string(),
        "501 Not Implemented: Unsupported method ('PUT')."
    );
}

#[test]
fn a_second_store_on_one_root_fails_and_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = DirStore::open(dir.path()).unwrap();
    use layernet::app::storage::{Name, Storage};
    let up = first
        .begin_upload(&Name::new("big.bin").unwrap(), 10)
        .unwrap();
    first.write(up, b"hello").unwrap();
    let temps = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref().is_ok_and(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(".layernet-upload-")
                })
            })
            .count()
    };
    assert_eq!(temps(), 1, "the upload in flight has its temporary file");
    let second = DirStore::open(dir.path())
        .err()
        .expect("a second store opened");
    assert_eq!(second.kind(), std::io::ErrorKind::ResourceBusy);
    assert_eq!(
        format!("--root DIR {second}"),
        format!(
            "--root DIR is served by another layernet (pid {})",
            std::process::id()
        )
    );
    assert_eq!(temps(), 1, "the second open removed the first's upload");
    first.write(up, b"world").unwrap();
    first.commit(up).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("big.bin")).unwrap(),
        b"helloworld"
    );
    drop(first);
    let listed: Vec<String> = {
        let mut s = DirStore::open(dir.path()).unwrap();
        (0..)
            .map_while(|i| s.entry(i))
            .map(|(n, _)| n.as_str().to_string())
            .collect()
    };
    assert_eq!(listed, ["big.bin"], "the lock shows in no listing");

    // Another process holding the root: flock(1) locks a directory as the
    // store does, and the error names that process.
    if std::process::Command::new("flock")
        .arg("-V")
        .output()
        .is_err()
    {
        println!("skipping the second process: no flock(1)");
        return;
    }
    let mut holder = std::process::Command::new("flock")
        // -o: the lock stays with flock itself, not with its child `sleep`.
        .args(["-x", "-o"])
        .arg(dir.path())
        .args(["sleep", "10"])
        .spawn()
        .unwrap();
    let mut err = None;
    for _ in 0..100 {
        match DirStore::open(dir.path()) {
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let _ = holder.kill();
    let _ = holder.wait();
    let err = err.expect("the other process's lock was never seen");
    assert_eq!(
        err.to_string(),
        format!("is served by another layernet (pid {})", holder.id())
    );
    // flock's child closes its copy of the descriptor just after the fork:
    // give it a moment.
    let free = (0..100).any(|_| {
        DirStore::open(dir.path()).is_ok() || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            false
        }
    });
    assert!(free, "still locked after the holder is gone");
}

/// A network whose host 0 serves `dir` under `policy`, its access log on;
/// the server is shared so that a test can read its log and counters.
type Shared = Rc<RefCell<FileServer<DirStore, 8>>>;
fn serve_policy(dir: &Path, policy: Policy) -> (Net<SimNet>, Host<SimNet>, Shared) {
    let mut sim = SimNet::new(23, Faults::NONE);
    sim.add_host().unwrap();
    sim.add_host().unwrap();
    let store = DirStore::open(dir).unwrap();
    let server = FileServer::<_, 8>::bind(sim.stack(0), ports::FILES, 8, store, limits())
        .unwrap()
        .with_policy(policy)
        .with_access_log(true);
    let server = Rc::new(RefCell::new(server));
    sim.serve(0, Box::new(Rc::clone(&server)));
    let net = Net::new(sim);
    let client = net.host(1);
    (net, client, server)
}

fn access_lines(server: &Shared) -> Vec<String> {
    let mut lines = Vec::new();
    server.borrow_mut().drain_log(&mut |l| {
        if let Some(a) = l.strip_prefix("access: ") {
            lines.push(a.to_owned());
        }
    });
    lines
}

#[test]
fn read_only_by_default_and_the_refusal_says_how_to_write() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"kept").unwrap();
    let policy = Policy {
        refusal: "403 Forbidden: uploads are off; start serve with --writable",
        ..Policy::default()
    };
    let (_net, c, _server) = serve_policy(dir.path(), policy);
    for request in [
        &b"PUT /new.txt HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"[..],
        b"DELETE /keep.txt HTTP/1.1\r\n\r\n",
        b"PUT /new.txt HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    ] {
        let r = raw(&c, request);
        assert_eq!(status(&r), 403, "{r}");
        assert!(
            r.ends_with("\r\n\r\n403 Forbidden: uploads are off; start serve with --writable\n"),
            "{r}"
        );
    }
    let r = raw(&c, b"GET /keep.txt HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 200") && r.ends_with("kept"), "{r}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "nothing written, nothing deleted");
}

struct Alice;
impl layernet::app::files::Authenticate for Alice {
    fn check(&self, user: &[u8], password: &[u8]) -> bool {
        user == b"alice" && password == b"secret"
    }
}

fn basic(user_pass: &str) -> String {
    // RFC 4648 base64, for the test's own requests.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in user_pass.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn writes_need_credentials_and_guessing_is_slowed() {
    let dir = tempfile::tempdir().unwrap();
    static USERS: Alice = Alice;
    let policy = Policy {
        writes: layernet::app::files::Access::Users,
        users: Some(&USERS),
        ..Policy::default()
    };
    let (net, c, server) = serve_policy(dir.path(), policy);
    let put = |auth: Option<&str>| {
        let header = auth.map_or(String::new(), |a| {
            format!("Authorization: Basic {}\r\n", basic(a))
        });
        raw(
            &c,
            format!("PUT /up.txt HTTP/1.1\r\nContent-Length: 2\r\n{header}\r\nok").as_bytes(),
        )
    };
    let r = put(None);
    assert_eq!(status(&r), 401, "{r}");
    assert!(
        r.contains("WWW-Authenticate: Basic realm=\"layernet\"\r\n"),
        "{r}"
    );
    assert!(!dir.path().join("up.txt").exists());
    // Wrong passwords: counted; from the second on, answered ever later.
    let mut waits = Vec::new();
    for _ in 0..4 {
        let start = net.now();
        assert_eq!(status(&put(Some("alice:guess"))), 401);
        waits.push((net.now() - start).total_millis());
    }
    println!("401s to a guesser took {waits:?} ms virtual");
    assert!(waits[3] >= 1000 && waits[3] > waits[0], "{waits:?}");
    assert_eq!(server.borrow().auth_failures(), 4);
    assert_eq!(status(&put(Some("bob:secret"))), 401);
    assert_eq!(status(&put(Some("alice:secret"))), 201);
    assert_eq!(std::fs::read(dir.path().join("up.txt")).unwrap(), b"ok");
    // Reads stay open to all.
    let r = raw(&c, b"GET /up.txt HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(
        r.ends_with("\r\n\r\nok"),
        "{r:?} {:?}",
        access_lines(&server)
    );
    // With reads closed too, a GET needs them as well. The first server
    // goes first: its store holds the root's lock.
    drop((net, c, server));
    let (_net, c, _server) = serve_policy(
        dir.path(),
        Policy {
            reads: layernet::app::files::Access::Users,
            ..policy
        },
    );
    let r = raw(&c, b"GET /up.txt HTTP/1.1\r\n\r\n");
    assert_eq!(status(&r), 401, "{r}");
    let r = raw(
        &c,
        format!(
            "GET /up.txt HTTP/1.1\r\nAuthorization: Basic {}\r\nConnection: close\r\n\r\n",
            basic("alice:secret")
        )
        .as_bytes(),
    );
    assert!(r.starts_with("HTTP/1.1 200") && r.ends_with("ok"), "{r}");
    // The live view is a read like any other.
    for path in ["/_stack", "/_stack.json"] {
        let r = raw(
            &c,
            format!("GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(status(&r), 401, "{path}: {r}");
        let r = raw(
            &c,
            format!(
                "GET {path} HTTP/1.1\r\nAuthorization: Basic {}\r\nConnection: close\r\n\r\n",
                basic("alice:secret")
            )
            .as_bytes(),
        );
        assert!(
            r.starts_with("HTTP/1.1 200") && r.contains("Cache-Control: no-store"),
            "{path}: {r}"
        );
    }
}

#[test]
#[cfg(feature = "live")]
fn the_live_view_shows_the_neighbours_and_the_last_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (_net, c, _server) = serve_policy(dir.path(), Policy::READ_ONLY);
    // HTTP/1.0: no chunks, the close ends the body.
    let r = raw(&c, b"GET /_stack HTTP/1.0\r\n\r\n");
    let page = r.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // The page is sent in pieces: all of them arrive, in order.
    assert!(page.len() > 2048, "{}", page.len());
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</body></html>\n"));
    assert!(page.contains("id=\"lad\"") && page.contains("function ladder("));
    // The first ask starts the noting of frames; the second sees its own.
    let r = raw(&c, b"GET /_stack.json HTTP/1.0\r\n\r\n");
    assert!(r.contains("\"frames\":[]"), "nobody watched before: {r}");
    let r = raw(&c, b"GET /_stack.json HTTP/1.0\r\n\r\n");
    let body = r.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    // The client asked for the server's MAC: the server learnt the
    // client's from the request, as smoltcp did.
    let client_ip = layernet::host::sim::host_ip(1).address().to_string();
    let m = layernet::host::sim::host_mac(1).0;
    let client_mac = format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    );
    let neighbors = json["neighbors"].as_array().expect("neighbors");
    assert!(
        neighbors
            .iter()
            .any(|n| n[0] == client_ip.as_str() && n[1] == client_mac.as_str()),
        "{neighbors:?}"
    );
    let frames = json["frames"].as_array().expect("frames");
    println!("{} frames, the last: {:?}", frames.len(), frames.last());
    assert!(!frames.is_empty() && frames.len() <= layernet::net::RECENT);
    let ids: Vec<u64> = frames.iter().filter_map(|f| f[0].as_u64()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // This very request's connection: its SYN came in, its SYN-ACK went out.
    let said: Vec<(&str, &str)> = frames
        .iter()
        .filter_map(|f| Some((f[2].as_str()?, f[4].as_str()?)))
        .collect();
    assert!(
        said.iter()
            .any(|(d, l)| *d == "rx" && l.contains("\u{2192} 7878 [SYN]")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|(d, l)| *d == "tx" && l.contains("7878 \u{2192}") && l.contains("[SYN, ACK]")),
        "{said:?}"
    );
    assert!(
        frames.iter().all(|f| f[3] == client_ip.as_str()),
        "{frames:?}"
    );
    assert!(json["tcp"].is_array() && json["counters"].is_array());
}

#[test]
fn chunked_uploads_are_stored_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (_net, c, server) = serve_policy(dir.path(), Policy::WRITABLE);
    // Sizes that straddle the header buffer and the socket buffers, in
    // chunks of awkward sizes, with an extension and a trailer.
    let body = data(300_000, 9);
    let mut request = b"PUT /chunked.bin HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut at = 0;
    for (i, size) in [1usize, 4095, 4096, 65_537, 7, 100_000]
        .iter()
        .cycle()
        .enumerate()
    {
        let n = (*size).min(body.len() - at);
        if n == 0 {
            break;
        }
        let ext = if i == 2 { ";name=value" } else { "" };
        request.extend_from_slice(format!("{n:X}{ext}\r\n").as_bytes());
        request.extend_from_slice(&body[at..at + n]);
        request.extend_from_slice(b"\r\n");
        at += n;
    }
    request.extend_from_slice(b"0\r\nX-Checksum: none\r\n\r\n");
    request.extend_from_slice(b"GET /chunked.bin HTTP/1.1\r\nConnection: close\r\n\r\n");
    let mut s = c.tcp_connect(SERVER, Some(Duration::from_secs(5))).unwrap();
    s.sendall(&request).unwrap();
    let answer = read_bytes(&mut s);
    let text = String::from_utf8_lossy(&answer[..60.min(answer.len())]).into_owned();
    assert!(text.starts_with("HTTP/1.1 201 Created"), "{text}");
    assert_eq!(std::fs::read(dir.path().join("chunked.bin")).unwrap(), body);
    assert!(answer.ends_with(&body), "the pipelined GET gets it back");
    // A bad chunk halfway: 400, the old file stays, no temporary file.
    let r = raw(
        &c,
        b"PUT /chunked.bin HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nQ\r\n",
    );
    assert_eq!(status(&r), 400, "{r}");
    assert_eq!(std::fs::read(dir.path().join("chunked.bin")).unwrap(), body);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file");
    // The access log has a line per request: peer, method, path, status,
    // bytes, duration.
    let lines = access_lines(&server);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let put: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(
        (put[1], put[2], put[3], put[4]),
        ("PUT", "/chunked.bin", "201", "300000"),
        "{lines:?}"
    );
    assert!(put[0].starts_with("192.168.69.2:") && put[5].ends_with("ms"));
    assert!(
        lines[1].contains(" GET /chunked.bin 200 300000 "),
        "{lines:?}"
    );
    assert!(lines[2].contains(" PUT /chunked.bin 400 "), "{lines:?}");
}

#[test]
fn a_chunked_upload_over_the_limit_gets_413() {
    let dir = tempfile::tempdir().unwrap();
    let (_net, c, _server) = serve_policy(dir.path(), Policy::WRITABLE);
    // 65 chunks of 1 MiB: the byte past the 64 MiB limit is refused.
    let mut s = c.tcp_connect(SERVER, Some(Duration::from_secs(5))).unwrap();
    let chunk = vec![7u8; 1 << 20];
    s.sendall(b"PUT /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    for _ in 0..65 {
        let head = format!("{:x}\r\n", chunk.len());
        let sent = s.sendall(head.as_bytes()).and_then(|()| s.sendall(&chunk));
        if sent.and_then(|()| s.sendall(b"\r\n")).is_err() {
            break;
        }
    }
    let answer = read_all(&mut s);
    assert_eq!(status(&answer), 413, "{answer:?}");
    assert!(!dir.path().join("big").exists());
}
