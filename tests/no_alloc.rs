//! No heap after setup: a full echo + greeting + time-echo + chat exchange
//! over the simulated link, counted by a global allocator.
//!
//! `harness = false`: libtest's own threads and output allocate, so this is
//! a plain `main` that runs on one thread and prints nothing while counting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use layernet::app::echo::EchoClient;
use layernet::app::greeting::{DEFAULT_GREETING, GreetingClient};
use layernet::app::time_echo::TimeEchoClient;
use layernet::app::{Outcome, ports};
use layernet::host::demo::{self, TIME_ECHO_LINES};
use layernet::host::sim::SimService;
use layernet::{Duration, IpAddress, IpEndpoint};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter has no effect on the memory handed out.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` or `alloc_zeroed` above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// The counter counts: one `Box::new` is exactly one allocation.
fn counter_counts() -> Result<(), String> {
    let before = count();
    let b = std::hint::black_box(Box::new(42u64));
    let after = count();
    drop(b);
    if after - before == 1 {
        Ok(())
    } else {
        Err(format!("Box::new counted {}", after - before))
    }
}

/// The exchanges, after setup. Returns (allocations, everything verified).
fn exchanges() -> Result<(usize, bool), String> {
    let mut s = demo::setup(demo::Options::default()).map_err(|e| e.to_string())?;
    let server = s.net.stack(0).ipv4_addr();
    let at = |port| IpEndpoint::new(IpAddress::Ipv4(server), port);
    let message = [b'x'; 2000];
    let mut echo = EchoClient::<2000>::new(at(ports::ECHO), &message);
    let mut greeting = GreetingClient::<256>::new(at(ports::GREETING));
    let mut time_echo = TimeEchoClient::<4, 128>::new(at(ports::TIME_ECHO), &TIME_ECHO_LINES);
    let limit = Duration::from_secs(60);

    let before = count();
    let net = &mut s.net;
    let ok_echo = net.run_client(1, &mut echo, limit) && echo.outcome() == Outcome::Done;
    let ok_greet =
        net.run_client(2, &mut greeting, limit) && greeting.received() == DEFAULT_GREETING;
    let ok_time = net.run_client(1, &mut time_echo, limit) && time_echo.outcome() == Outcome::Done;
    // Chat: A speaks (the room learns A), then B; the room relays B's line to A.
    let _ = s.peer_a.say(b"hello from A");
    let mut extra: [(usize, &mut SimService); 3] =
        [(0, &mut s.room), (1, &mut s.peer_a), (2, &mut s.peer_b)];
    net.run_until(Duration::from_millis(200), &mut extra, |_| false);
    let _ = s.peer_b.say(b"hi from B");
    let mut extra: [(usize, &mut SimService); 3] =
        [(0, &mut s.room), (1, &mut s.peer_a), (2, &mut s.peer_b)];
    net.run_until(Duration::from_millis(200), &mut extra, |_| false);
    let relayed = s.peer_a.take_received();
    let ok_chat = relayed
        .as_ref()
        .is_some_and(|(_, m)| m.ends_with(b"] hi from B"));
    let allocations = count() - before;
    Ok((allocations, ok_echo && ok_greet && ok_time && ok_chat))
}

/// The same on memory sized at start-up, as `layernet serve` has it
/// (`host::memory::Sizes`, 256 KiB each way): a 200 KB echo, whose bytes
/// wrap both rings, allocates nothing once the hosts exist.
fn sized_exchange() -> Result<(usize, bool), String> {
    use layernet::app::echo::EchoServer;
    use layernet::host::memory::Sizes;
    use layernet::host::sim::{SimNet, host_ip, host_mac};
    use layernet::link::segment::Faults;
    use layernet::net::Config;

    let sizes = Sizes {
        tcp_sockets: 16,
        tcp_buffer: 256 * 1024,
    };
    let mut net = SimNet::new(7, Faults::NONE);
    for i in 0..2 {
        let config = Config::new(host_mac(i), host_ip(i));
        net.add_host_memory(config, sizes.leak()?)
            .map_err(|e| e.to_string())?;
    }
    let server = EchoServer::<4>::bind(net.stack(0), ports::ECHO, 4).map_err(|e| e.to_string())?;
    net.serve(0, Box::new(server));
    let to = IpEndpoint::new(IpAddress::Ipv4(net.stack(0).ipv4_addr()), ports::ECHO);
    let message = vec![b'y'; 200_000];
    let mut echo = EchoClient::<200_000>::new(to, &message);
    let before = count();
    let ok =
        net.run_client(1, &mut echo, Duration::from_secs(60)) && echo.outcome() == Outcome::Done;
    Ok((
        count() - before,
        ok && echo.received() == message.as_slice(),
    ))
}

fn main() -> ExitCode {
    let mut failed = 0;
    match counter_counts() {
        Ok(()) => println!("test counter_counts_one_box_as_one ... ok"),
        Err(e) => {
            println!("test counter_counts_one_box_as_one ... FAILED: {e}");
            failed += 1;
        }
    }
    match exchanges() {
        Ok((0, true)) => {
            println!("test zero_allocations_during_the_exchanges ... ok (0 allocations)")
        }
        Ok((n, ok)) => {
            println!(
                "test zero_allocations_during_the_exchanges ... FAILED: {n} allocations, exchanges verified: {ok}"
            );
            failed += 1;
        }
        Err(e) => {
            println!("test zero_allocations_during_the_exchanges ... FAILED: setup: {e}");
            failed += 1;
        }
    }
    match sized_exchange() {
        Ok((0, true)) => {
            println!("test zero_allocations_on_memory_sized_at_start_up ... ok (0 allocations)")
        }
        Ok((n, ok)) => {
            println!(
                "test zero_allocations_on_memory_sized_at_start_up ... FAILED: {n} allocations, echo verified: {ok}"
            );
            failed += 1;
        }
        Err(e) => {
            println!("test zero_allocations_on_memory_sized_at_start_up ... FAILED: setup: {e}");
            failed += 1;
        }
    }
    println!("no_alloc: {} passed, {failed} failed", 3 - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
