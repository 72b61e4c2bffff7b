//! An async TCP echo server on layernet's sockets (`socket::asynch`,
//! `embedded-io-async`), driven by a small executor (`futures`'
//! `LocalPool`): one task accepts, one task per connection echoes.
//!
//! - `cargo run --example async_echo_server` runs it on the simulated
//!   segment (192.168.69.1) with three async clients (192.168.69.2-4),
//!   each sending 100 kB, far more than the 8 KiB socket buffers, and
//!   reading the echo back at once; it checks every byte and exits 0.
//! - `cargo run --example async_echo_server -- --tap tap0 [--connections N]`
//!   serves on a TAP device (192.168.69.1/24, inside a network namespace:
//!   see docs/tap.md) until N connections were served (default 1), on
//!   the real clock: the loop runs the ready tasks, polls the stack (which
//!   wakes the tasks that can move), and sleeps in `poll(2)` on the TAP
//!   descriptor until a frame or the stack's next deadline. Each
//!   connection prints one line: its peer and the bytes echoed, or the
//!   error that ended it (`connection reset by peer`).
//! - `cargo run --release --example async_echo_server -- --bench` prints
//!   figures: a lock-step echo (1 KiB out, 1 KiB back) against layernet's
//!   own echo service on the simulated segment, from an async client and
//!   from a blocking `embedded_io` client (`socket::io::StreamIo`), in
//!   wall-clock time on this machine.

use std::cell::Cell;
use std::error::Error;
use std::rc::Rc;
use std::time::Instant as Wall;

use embedded_io_async::{Read, Write};
use futures::executor::LocalPool;
use futures::task::{LocalSpawn, LocalSpawnExt};
use layernet::host::sim::{SimNet, endpoint, host_ip, host_mac};
use layernet::link::segment::Faults;
use layernet::net::{Config, Stack, profile};
use layernet::socket::asynch::{Shared, TcpListener, TcpStream};
use layernet::socket::{self, EndpointText};
use layernet::{Duration, Instant, IpEndpoint};

const PORT: u16 = 7;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    if args.iter().any(|a| a == "--bench") {
        return bench();
    }
    if let Some(tap) = value("--tap") {
        let connections = match value("--connections") {
            Some(n) => n.parse()?,
            None => 1,
        };
        return serve_tap(tap, connections);
    }
    simulated()
}

/// Accept for ever, one echo task per connection; `served` counts the
/// connections that ended.
async fn serve(
    shared: &'static Shared<'static>,
    spawner: impl LocalSpawn,
    served: Rc<Cell<usize>>,
) -> Result<(), socket::Error> {
    let mut listener = TcpListener::bind(shared, PORT, 4)?;
    loop {
        let (conn, peer) = listener.accept().await?;
        let served = served.clone();
        let task = async move {
            match echo(conn).await {
                Ok(n) => println!("{}: echoed {n} bytes, closed", EndpointText(peer)),
                Err(e) => println!("{}: {e}", EndpointText(peer)),
            }
            served.set(served.get() + 1);
        };
        if spawner.spawn_local(task).is_err() {
            return Err(socket::Error::NoBufferSpace);
        }
    }
}

/// Echo until the peer's end of file: every byte read is written back.
async fn echo(mut conn: TcpStream<'_, '_>) -> Result<usize, socket::Error> {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            conn.flush().await?;
            conn.close();
            return Ok(total);
        }
        conn.write_all(&buf[..n]).await?;
        total += n;
    }
}

/// A client: send `data`, read the echo at the same time, check it.
async fn client(shared: &'static Shared<'static>, to: IpEndpoint, data: Vec<u8>) -> bool {
    let Ok(mut stream) = TcpStream::connect(shared, to).await else {
        return false;
    };
    let (mut r, mut w) = stream.split();
    let send = async {
        let sent = w.write_all(&data).await.is_ok();
        w.shutdown();
        sent
    };
    let receive = async {
        let mut back = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
        }
        back
    };
    let (sent, back) = futures::join!(send, receive);
    stream.close();
    sent && back == data
}

fn simulated() -> Result<(), Box<dyn Error>> {
    let mut net = SimNet::new(1, Faults::NONE);
    let (server_id, server) = net.add_async_host()?;
    let mut pool = LocalPool::new();
    let served = Rc::new(Cell::new(0));
    pool.spawner()
        .spawn_local(print_error(serve(server, pool.spawner(), served.clone())))?;
    let (good, finished) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    const CLIENTS: usize = 3;
    for k in 0..CLIENTS {
        let (_, shared) = net.add_async_host()?;
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + k as u32) as u8).collect();
        let (good, finished) = (good.clone(), finished.clone());
        pool.spawner().spawn_local(async move {
            if client(shared, endpoint(server_id, PORT), data).await {
                good.set(good.get() + 1);
            }
            finished.set(finished.get() + 1);
        })?;
    }
    let start = Wall::now();
    let done = net.run_tasks(Duration::from_secs(60), || {
        pool.run_until_stalled();
        served.get() == CLIENTS && finished.get() == CLIENTS
    });
    println!(
        "{} of {CLIENTS} clients got their 100 kB back exactly, in {} ms of virtual time ({:.0} ms here)",
        good.get(),
        net.now().total_millis(),
        start.elapsed().as_secs_f64() * 1e3
    );
    if !done || good.get() != CLIENTS {
        return Err("not every client was served".into());
    }
    Ok(())
}

async fn print_error(f: impl Future<Output = Result<(), socket::Error>>) {
    if let Err(e) = f.await {
        eprintln!("server: {e}");
    }
}

fn serve_tap(name: &str, connections: usize) -> Result<(), Box<dyn Error>> {
    use layernet::link::tap::TapDevice;
    let mut device = TapDevice::open(name).map_err(|e| format!("{name}: {e}"))?;
    let memory: &'static mut profile::Host<'static> = Box::leak(Box::default());
    let stack = Stack::new(Config::default(), &mut device, memory, Instant::ZERO)?;
    let shared: &'static Shared<'static> = Box::leak(Box::new(Shared::new(stack)));
    let mut pool = LocalPool::new();
    let served = Rc::new(Cell::new(0));
    pool.spawner()
        .spawn_local(print_error(serve(shared, pool.spawner(), served.clone())))?;
    println!(
        "listening on {}",
        EndpointText(IpEndpoint::new(Config::default().ip.address().into(), PORT))
    );
    let start = Wall::now();
    let clock = || Instant::from_micros(start.elapsed().as_micros() as i64);
    while served.get() < connections {
        pool.run_until_stalled();
        if shared.poll(&mut device, clock()) {
            continue; // the tasks it woke run first
        }
        // Idle: sleep until a frame or the next deadline (at most 100 ms,
        // to look at the count again).
        let now = clock();
        let wake = shared
            .poll_at(now)
            .map_or(Duration::from_millis(100), |t| {
                if t > now { t - now } else { Duration::ZERO }
            })
            .min(Duration::from_millis(100));
        device.wait(Some(wake.into()))?;
    }
    Ok(())
}

/// Lock-step echo figures: the async client and the blocking
/// `embedded_io` client, each against the echo service of `app` on a
/// plain simulated host.
fn bench() -> Result<(), Box<dyn Error>> {
    const TOTAL: usize = 4 * 1024 * 1024;
    const CHUNK: usize = 1024;
    println!(
        "lock-step echo of {} MiB in {CHUNK}-byte chunks against app::echo on the simulated segment \
         (no faults, so virtual time stands still); wall-clock time on this machine:",
        TOTAL >> 20
    );

    println!(
        "  Shared around a Stack: {} bytes more on this {}-bit host",
        size_of::<Shared<'static>>() - size_of::<Stack<'static>>(),
        usize::BITS
    );

    // Async: a client task on an async host.
    let (mut net, s, _) = SimNet::pair(1)?;
    let echo = layernet::app::echo::EchoServer::<1>::bind(net.stack(s), PORT, 1)?;
    net.serve(s, Box::new(echo));
    let (_, shared) = net.add_async_host()?;
    let start = Wall::now();
    let round_trips = async {
        let mut stream = TcpStream::connect(shared, endpoint(s, PORT)).await?;
        let (out, mut back) = ([0x5au8; CHUNK], [0u8; CHUNK]);
        for _ in 0..TOTAL / CHUNK {
            stream.write_all(&out).await?;
            stream
                .read_exact(&mut back)
                .await
                .map_err(|_| socket::Error::Reset)?;
        }
        stream.close();
        Ok::<_, socket::Error>(())
    };
    net.block_on(round_trips, Duration::from_secs(3600))
        .ok_or("async client timed out")??;
    report("async (socket::asynch)", start);

    // Blocking: embedded_io over StreamIo, on a stack of its own on a raw
    // port of the segment; its idle function moves the network on.
    use embedded_io::{Read as _, Write as _};
    let (mut net, s, _) = SimNet::pair(1)?;
    let echo = layernet::app::echo::EchoServer::<1>::bind(net.stack(s), PORT, 1)?;
    net.serve(s, Box::new(echo));
    let mut port = net.raw_port(2, host_mac(2)).ok_or("position 2 taken")?;
    let memory: &'static mut profile::Host<'static> = Box::leak(Box::default());
    let mut stack = Stack::new(
        Config::new(host_mac(2), host_ip(2)),
        &mut port,
        memory,
        net.now(),
    )?;
    let start = Wall::now();
    let mut stream = socket::TcpStream::connect(&mut stack, endpoint(s, PORT))?;
    let mut idle = |st: &mut Stack<'static>| {
        let now = net.now();
        if st.poll(&mut port, now) | net.settle(&mut []) {
            return;
        }
        let next = st.poll_at(now).unwrap_or(now + Duration::from_secs(1));
        net.step(next.max(now + Duration::from_millis(1)), &mut []);
    };
    for _ in 0..10_000 {
        match stream.poll_connect(&mut stack) {
            Err(socket::Error::WouldBlock) => idle(&mut stack),
            r => {
                r?;
                break;
            }
        }
    }
    let mut io = socket::io::StreamIo::new(&mut stream, &mut stack, &mut idle);
    let (out, mut back) = ([0x5au8; CHUNK], [0u8; CHUNK]);
    for _ in 0..TOTAL / CHUNK {
        io.write_all(&out)?;
        io.read_exact(&mut back).map_err(|_| "short read")?;
    }
    stream.close(&mut stack);
    report("blocking (socket::io::StreamIo)", start);
    Ok(())
}

fn report(what: &str, start: Wall) {
    let secs = start.elapsed().as_secs_f64();
    let round_trips = (4 << 20) / 1024;
    println!(
        "  {what:<34} {:>7.1} ms, {:>6.1} MiB/s, {:>5.1} us per round trip",
        secs * 1e3,
        4.0 / secs,
        secs * 1e6 / f64::from(round_trips)
    );
}
