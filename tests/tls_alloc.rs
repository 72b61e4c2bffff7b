//! Where rustls allocates, per connection of the file service over TLS:
//! a counting global allocator counts only inside the server's poll (the
//! client's own rustls is not counted), for one plain and one TLS
//! connection doing the same GET of a 1 MiB file and a PUT of 256 KiB, on
//! hosts with 256 KiB TCP buffers (`serve`'s default). The difference is
//! TLS's: the accept (rustls's `ServerConnection` and the two record
//! buffers), the handshake, and each record of the transfer. It prints
//! the figures (docs/performance.md); it asserts only what must hold: the
//! plain connection allocates nothing in rustls, both transfers are
//! byte-exact, and everything the TLS connection allocated is freed when
//! it closes.
//!
//! `harness = false`: libtest's threads and output allocate; this is a
//! plain `main` on one thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

use layernet::app::Service;
use layernet::app::files::{FileServer, Limits, Policy};
use layernet::host::blocking::Net;
use layernet::host::dirstore::DirStore;
use layernet::host::file_client::{self, Options};
use layernet::host::memory::Sizes;
use layernet::host::sim::{SimNet, endpoint, host_ip, host_mac};
use layernet::host::tls::{self, TlsWrap};
use layernet::host::tls_client::TlsClient;
use layernet::net::{Config, Stack};
use layernet::{Duration, Instant};

struct Counting;

/// Counting only while the server polls.
static ON: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn note(size: usize) {
    if ON.load(Ordering::Relaxed) {
        COUNT.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size, Ordering::Relaxed);
        let live = LIVE.fetch_add(size as isize, Ordering::Relaxed) + size as isize;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

fn forget(size: usize) {
    if ON.load(Ordering::Relaxed) {
        LIVE.fetch_sub(size as isize, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters have no effect on the memory handed out.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        forget(layout.size());
        // SAFETY: `ptr` came from `System.alloc` or `alloc_zeroed` above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        forget(layout.size());
        note(new_size);
        // SAFETY: same contract as ours, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The server, counted while it polls.
struct Counted<S>(S);

impl<S: Service> Service for Counted<S> {
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        ON.store(true, Ordering::Relaxed);
        let moved = self.0.poll(stack, now);
        ON.store(false, Ordering::Relaxed);
        moved
    }
    fn poll_at(&self) -> Option<Instant> {
        self.0.poll_at()
    }
    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.0.drain_log(sink);
    }
    fn shutdown(&mut self, stack: &mut Stack<'_>) {
        self.0.shutdown(stack);
    }
}

#[derive(Clone, Copy, Debug)]
struct Figures {
    count: usize,
    bytes: usize,
}

fn take() -> Figures {
    Figures {
        count: COUNT.swap(0, Ordering::Relaxed),
        bytes: BYTES.swap(0, Ordering::Relaxed),
    }
}

const GET: usize = 1 << 20;
const PUT: usize = 256 << 10;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tls_alloc: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let body: Vec<u8> = (0..GET).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &body)?;
    let mut sim = SimNet::new(7, layernet::link::segment::Faults::NONE);
    let sizes = Sizes {
        tcp_sockets: 16,
        tcp_buffer: 256 * 1024,
    };
    let a = sim.add_host_memory(Config::new(host_mac(0), host_ip(0)), sizes.leak()?)?;
    let b = sim.add_host_memory(Config::new(host_mac(1), host_ip(1)), sizes.leak()?)?;
    let made = tls::self_signed(&[host_ip(0).address().to_string()])?;
    let wrap = TlsWrap::from_pem(made.cert_pem.as_bytes(), made.key_pem.as_bytes())?;
    let server = FileServer::<_, 2, 1024, { layernet::app::LOG_LINES }, TlsWrap>::bind_with(
        sim.stack(a),
        7443,
        2,
        DirStore::open(dir.path())?,
        Limits::default(),
        wrap,
    )?
    .also_plain(sim.stack(a), 7878, 2)?
    .with_policy(Policy::WRITABLE);
    sim.serve(a, Box::new(Counted(server)));
    let net = Net::new(sim);
    let client = net.host(b);
    let trust = TlsClient::new(
        &host_ip(0).address().to_string(),
        None,
        Some(&made.fingerprint),
    )?;
    let upload: Vec<u8> = body[..PUT].to_vec();

    let mut rows = Vec::new();
    for (name, port, tls) in [("plain", 7878, None), ("TLS", 7443, Some(&trust))] {
        let options = Options {
            tls,
            ..Options::default()
        };
        take();
        LIVE.store(0, Ordering::Relaxed);
        PEAK.store(0, Ordering::Relaxed);
        let mut got = Vec::new();
        file_client::get_with(
            &client,
            endpoint(a, port),
            "big.bin",
            0,
            &options,
            &mut got,
            &mut |_, _| {},
        )?;
        if got != body {
            return Err(format!("{name}: GET returned {} bytes, not the file", got.len()).into());
        }
        // The connection closes (Connection: close): let the server see it.
        net.with(|sim| sim.run_for(Duration::from_millis(200)));
        let get = take();
        let peak = PEAK.load(Ordering::Relaxed);
        let left = LIVE.load(Ordering::Relaxed);
        file_client::put_with(
            &client,
            endpoint(a, port),
            "up.bin",
            &options,
            &mut &upload[..],
            PUT as u64,
            &mut |_, _| {},
        )?;
        net.with(|sim| sim.run_for(Duration::from_millis(200)));
        let put = take();
        if std::fs::read(dir.path().join("up.bin"))? != upload {
            return Err(format!("{name}: PUT stored something else").into());
        }
        rows.push((name, get, put, peak, left));
    }
    // A handshake alone: connect, finish it, close at once.
    take();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    {
        let options = Options {
            tls: Some(&trust),
            ..Options::default()
        };
        // A HEAD-less probe: GET of a missing file, answered 404.
        let _ = file_client::get_with(
            &client,
            endpoint(a, 7443),
            "missing",
            0,
            &options,
            &mut Vec::new(),
            &mut |_, _| {},
        );
        net.with(|sim| sim.run_for(Duration::from_millis(200)));
    }
    let handshake = take();
    let handshake_peak = PEAK.load(Ordering::Relaxed) - before;

    println!("server-side heap, counted inside the file server's poll (256 KiB TCP buffers):");
    for (name, get, put, peak, left) in &rows {
        println!(
            "  {name:5} GET 1 MiB: {:5} allocations, {:9} bytes; peak live {:7} bytes, {:4} left after close | PUT 256 KiB: {:5} allocations, {:9} bytes",
            get.count, get.bytes, peak, left, put.count, put.bytes
        );
    }
    let (_, pg, pp, _, _) = rows[0];
    let (_, tg, tp, tpeak, tleft) = rows[1];
    println!(
        "  TLS adds: GET {} allocations ({} bytes), PUT {} allocations ({} bytes); a connection's peak {} bytes",
        tg.count - pg.count.min(tg.count),
        tg.bytes - pg.bytes.min(tg.bytes),
        tp.count - pp.count.min(tp.count),
        tp.bytes - pp.bytes.min(tp.bytes),
        tpeak
    );
    println!(
        "  a TLS connection with one small request (404): {} allocations, {} bytes, peak live {} bytes",
        handshake.count, handshake.bytes, handshake_peak
    );
    if rows[1].4 > 64 * 1024 {
        return Err(format!("the TLS connection left {tleft} bytes live after its close").into());
    }
    Ok(())
}
