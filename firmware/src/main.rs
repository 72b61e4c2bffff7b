//! layernet as firmware: the classic services on two boards, an Arm MPS2
//! AN386 (Cortex-M4F; QEMU `-M mps2-an386`) over its LAN9118, and a TI
//! Stellaris LM3S6965 (Cortex-M3; QEMU `-M lm3s6965evb`, `--features
//! lm3s6965`) over its on-chip MAC. What differs is in [`board`]; this
//! file, [`clock`] and the core's run loop are the same on both.
//!
//! Everything is static: the stack's resources (a [`profile`]), the
//! driver, the stack, and the services, placed by cortex-m-rt's `#[entry]`
//! (its `static mut` items become `&'static mut` references, once). Time
//! comes from SysTick ([`clock`]); the core sleeps in `wfi` whenever the
//! core's run loop ([`layernet::run::settle`]) found nothing to do. Log
//! lines go out through semihosting.
//!
//! The default build serves the board profile (echo, greeting, time-echo,
//! chat and files) at 192.168.69.1, MAC 02:00:00:00:00:01; `--features
//! tiny` builds the tiny profile (no file service, 596-byte frames, no log
//! lines kept) in under 16 KiB of static RAM.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::mem::MaybeUninit;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
#[cfg(not(feature = "tiny"))]
use cortex_m_semihosting::hprintln;
use layernet::app::Service;
use layernet::app::chat::ChatRoom;
use layernet::app::echo::EchoServer;
use layernet::app::greeting::{DEFAULT_GREETING, GreetingServer};
#[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
use layernet::app::iperf3::Iperf3Server;
#[cfg(all(feature = "mdns", not(feature = "tiny")))]
use layernet::app::mdns::{self, Responder};
use layernet::app::services::{self, Kind};
#[cfg(not(feature = "tiny"))]
use layernet::app::sntp::{Offset, Sntp, SntpClock};
use layernet::app::time_echo::TimeEchoServer;
use layernet::board::{Clock, Entropy, Uptime};
use layernet::link::RxInterrupt;
use layernet::net::{Config, IcmpBuffers, Memory, Stack, TcpEntry, UDP_PACKETS, UdpEntry, profile};
use layernet::run;
use layernet::{EthernetAddress, Instant, Ipv4Address, Ipv4Cidr};
#[cfg(not(feature = "tiny"))]
use layernet::{IpAddress, IpEndpoint};
use smoltcp::iface::SocketStorage;
use smoltcp::socket::udp;

mod board;
mod clock;
mod say;
mod stack_paint;
mod vectors;

/// The board's address on the segment (the host side is 192.168.69.100).
const CONFIG: Config = Config::new(
    EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
    Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 1), 24),
);
/// How often a status line goes out while anything moves.
const STATUS_EVERY_MS: i64 = 5_000;
/// Most turns of the run loop before the board looks at its status line
/// and may sleep (a guard against services that keep each other busy).
const SETTLE_ROUNDS: usize = 16;

#[cfg(not(feature = "tiny"))]
const FRAME: usize = layernet::link::lan9118::FRAME_BUFFER;
/// The tiny profile's sockets carry at most 256 bytes at a time, so its
/// driver keeps 596-byte frames (an IP MTU of 578) instead of 1536.
#[cfg(feature = "tiny")]
const FRAME: usize = 596;
type Nic = board::Nic<FRAME>;

/// Log lines each service keeps between two drains. The main loop drains
/// a service right after polling it, so the tiny profile keeps none and
/// prints none; the board profile keeps what the board's RAM allows.
#[cfg(not(feature = "tiny"))]
const LOG: usize = board::LOG_LINES;
#[cfg(feature = "tiny")]
const LOG: usize = 0;

type Echo = EchoServer<2, 256, LOG>;
type Greeting = GreetingServer<2, LOG>;
/// The board stamps time-echo lines with UTC from an SNTP server once one
/// answers (time since boot until then); the tiny build has no UDP socket
/// to spare for it, and stamps time since boot.
#[cfg(not(feature = "tiny"))]
type TimeEcho = TimeEchoServer<SntpClock<'static, Uptime>, 2, 128, LOG>;
#[cfg(feature = "tiny")]
type TimeEcho = TimeEchoServer<Uptime, 2, 128, LOG>;
#[cfg(not(feature = "tiny"))]
type TimeClient = Sntp<'static, LOG>;
/// The time server the board asks: the Linux side of the TAP, by the
/// project's defaults (192.168.69.100), on NTP's port.
#[cfg(not(feature = "tiny"))]
const NTP_SERVER: IpEndpoint = IpEndpoint::new(
    IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 100)),
    layernet::app::sntp::NTP_PORT,
);
/// The board answers for layernet.local (mDNS) and advertises its
/// services (DNS-SD); the tiny build has no UDP socket to spare for it.
/// It logs little (its name, a conflict): two lines are room enough.
#[cfg(all(feature = "mdns", not(feature = "tiny")))]
type Mdns = Responder<2>;
/// The AN386's board build runs iperf3's TCP server: 3 connections (the
/// control connection, one data stream, one being checked or refused, so
/// `-P 1`), a 1 KiB control buffer (one stream's parameters and results
/// take under 400 bytes). Not on the LM3S6965: the server and its 7 TCP
/// sockets would take about 12.4 KiB of the 14 KiB that its 64 KiB leave
/// the stack once the board build's statics are in (docs/performance.md).
#[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
type Iperf3 = Iperf3Server<IPERF3_CONNS, 1024, LOG>;
#[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
const IPERF3_CONNS: usize = 3;

/// The board's room relays what its UDP socket can receive: up to
/// [`layernet::app::chat::CHAT_MAX`] bytes, or the tiny profile's 256.
#[cfg(not(feature = "tiny"))]
type Chat = ChatRoom<4, LOG>;
#[cfg(feature = "tiny")]
type Chat = ChatRoom<4, LOG, { BUF + layernet::app::chat::TAG_MAX }>;

/// The AN386's board build has iperf3's sockets too.
#[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
type Profile = profile::BoardIperf3<'static>;
#[cfg(all(not(feature = "tiny"), feature = "lm3s6965"))]
type Profile = profile::Board<'static>;
#[cfg(feature = "tiny")]
type Profile = profile::Tiny<'static>;
/// The profile's sizes, for the statics `main` lays its memory out in.
const SOCKET_SLOTS: usize = Profile::SOCKET_SLOTS;
const TCP: usize = Profile::TCP_SOCKETS;
const UDP: usize = Profile::UDP_SOCKETS;
const BUF: usize = Profile::TCP_BUFFER;

/// The file service serves a RAM store that lives in a static of its own
/// (`STORE`, all zeroes, so in .bss), by reference: inside the server it
/// was most of the server's 20 KiB, and was made on the stack and copied
/// in at start-up.
#[cfg(not(feature = "tiny"))]
type Files = layernet::app::files::FileServer<&'static mut Store, 2, 512, LOG>;
#[cfg(not(feature = "tiny"))]
type Store = layernet::app::storage::RamStore<STORE_FILES, { STORE_FILE_MAX }>;
/// Largest file the board's RAM store holds.
#[cfg(not(feature = "tiny"))]
const STORE_FILE_MAX: usize = 2048;
/// Files the RAM store holds: one fewer on the LM3S6965, whose 64 KiB must
/// also hold the stack (cut to 3 when the start-up stack was 12 KiB and
/// overflowed its reserve; kept at 3 now that it is under 5 KiB, to leave
/// the serving stack room: docs/performance.md).
#[cfg(not(feature = "tiny"))]
const STORE_FILES: usize = if cfg!(feature = "lm3s6965") { 3 } else { 4 };

/// A static's storage, handed out once by cortex-m-rt's `#[entry]`.
type Slot<T> = &'static mut MaybeUninit<T>;

/// Build a value and move it into its static. Not inlined, and one copy per
/// type: each value is built in a frame of its own, so start-up needs the
/// largest of them on the stack, not their sum.
#[inline(never)]
fn place<T, E: say::Why>(
    slot: Slot<T>,
    what: &str,
    make: impl FnOnce() -> Result<T, E>,
) -> &'static mut T {
    match make() {
        Ok(value) => slot.write(value),
        Err(e) => fail_with(what, e),
    }
}

/// Write every element of `slots` with `make()`, one at a time (so that
/// no whole array is built on the stack first), and hand them back
/// initialised.
fn fill<T>(slots: &'static mut [MaybeUninit<T>], make: impl Fn() -> T) -> &'static mut [T] {
    for slot in slots.iter_mut() {
        slot.write(make());
    }
    // Safety: the loop above wrote every element of `slots`, so all of
    // them are initialised; the borrow of `slots` moves into the result,
    // so nothing else reaches them as uninitialised.
    #[allow(unsafe_code)]
    unsafe {
        slots.assume_init_mut()
    }
}

/// The services, each with 2 connections (the profiles are sized for it).
struct Services {
    echo: &'static mut Echo,
    greeting: &'static mut Greeting,
    time_echo: &'static mut TimeEcho,
    chat: &'static mut Chat,
    #[cfg(not(feature = "tiny"))]
    files: &'static mut Files,
    #[cfg(not(feature = "tiny"))]
    sntp: &'static mut TimeClient,
    #[cfg(all(feature = "mdns", not(feature = "tiny")))]
    mdns: &'static mut Mdns,
    #[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
    iperf3: &'static mut Iperf3,
}

/// Where the services live.
struct ServiceSlots {
    echo: Slot<Echo>,
    greeting: Slot<Greeting>,
    time_echo: Slot<TimeEcho>,
    chat: Slot<Chat>,
    #[cfg(not(feature = "tiny"))]
    files: Slot<Files>,
    /// The file service's store, empty.
    #[cfg(not(feature = "tiny"))]
    store: &'static mut Store,
    #[cfg(not(feature = "tiny"))]
    sntp: Slot<TimeClient>,
    #[cfg(all(feature = "mdns", not(feature = "tiny")))]
    mdns: Slot<Mdns>,
    #[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
    iperf3: Slot<Iperf3>,
    /// UTC, once the SNTP client has it; read by the time-echo's clock.
    #[cfg(not(feature = "tiny"))]
    utc: &'static Offset,
}

/// Whether this build runs `kind` of the library's table of services:
/// all of them, but the tiny profile has no room for the file service.
/// A match, so that a service added to the table asks for a decision here.
const fn runs(kind: Kind) -> bool {
    match kind {
        Kind::Echo | Kind::Greeting | Kind::TimeEcho | Kind::Chat => true,
        Kind::Files => cfg!(not(feature = "tiny")),
        // The AN386's board build only (see `Iperf3`).
        Kind::Iperf3 => cfg!(not(any(feature = "tiny", feature = "lm3s6965"))),
    }
}

impl Services {
    /// Each service on its port from the library's table, under the
    /// table's name if it fails. `place` is called directly, with the
    /// constructor in its closure: the value is then built in `place`'s
    /// frame (a wrapper in between cost 3 KiB more stack at start-up).
    fn bind(stack: &mut Stack<'static>, slots: ServiceSlots) -> Self {
        let echo = Kind::Echo.entry();
        let greeting = Kind::Greeting.entry();
        let time_echo = Kind::TimeEcho.entry();
        let chat = Kind::Chat.entry();
        #[cfg(not(feature = "tiny"))]
        let file_service = Kind::Files.entry();
        #[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
        let iperf3 = Kind::Iperf3.entry();
        Services {
            echo: place(slots.echo, echo.name, || {
                EchoServer::bind(stack, echo.port, 1)
            }),
            greeting: place(slots.greeting, greeting.name, || {
                GreetingServer::bind(stack, greeting.port, 1, DEFAULT_GREETING)
            }),
            #[cfg(not(feature = "tiny"))]
            time_echo: place(slots.time_echo, time_echo.name, || {
                TimeEchoServer::bind(stack, time_echo.port, 1, SntpClock::new(slots.utc, Uptime))
            }),
            #[cfg(feature = "tiny")]
            time_echo: place(slots.time_echo, time_echo.name, || {
                TimeEchoServer::bind(stack, time_echo.port, 1, Uptime)
            }),
            chat: place(slots.chat, chat.name, || ChatRoom::bind(stack, chat.port)),
            #[cfg(not(feature = "tiny"))]
            files: place(slots.files, file_service.name, || {
                files::bind(stack, file_service.port, files::preloaded(slots.store))
            }),
            #[cfg(not(feature = "tiny"))]
            sntp: place(slots.sntp, "sntp", || {
                Ok::<_, &str>(Sntp::new(NTP_SERVER, slots.utc))
            }),
            #[cfg(all(feature = "mdns", not(feature = "tiny")))]
            mdns: place(slots.mdns, "mdns", responder),
            // One listening slot: a test's streams connect one by one.
            #[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
            iperf3: place(slots.iperf3, iperf3.name, || {
                Iperf3Server::bind(stack, iperf3.port, 1)
            }),
        }
    }
}

/// layernet.local, advertising every service this build runs.
#[cfg(all(feature = "mdns", not(feature = "tiny")))]
fn responder() -> Result<Mdns, &'static str> {
    let mut r = Responder::new(mdns::DEFAULT_HOSTNAME).map_err(|_| "bad host name")?;
    for entry in services::ALL.iter().filter(|e| runs(e.kind)) {
        r.advertise(mdns::advert(entry.kind))
            .map_err(|_| "too many adverts")?;
    }
    Ok(r)
}

impl run::Services for Services {
    fn each(&mut self, f: &mut dyn FnMut(&mut dyn Service)) {
        f(self.echo);
        f(self.greeting);
        f(self.time_echo);
        f(self.chat);
        #[cfg(not(feature = "tiny"))]
        f(self.files);
        #[cfg(not(feature = "tiny"))]
        f(self.sntp);
        #[cfg(all(feature = "mdns", not(feature = "tiny")))]
        f(self.mdns);
        #[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
        f(self.iperf3);
    }

    /// The board sleeps until the earliest of them (or a frame).
    fn poll_at(&self) -> Option<Instant> {
        let services = [
            self.echo.poll_at(),
            self.greeting.poll_at(),
            self.time_echo.poll_at(),
            self.chat.poll_at(),
        ];
        let at = services.into_iter().flatten().min();
        #[cfg(not(feature = "tiny"))]
        let at = [
            at,
            self.files.poll_at(),
            self.sntp.poll_at(),
            #[cfg(feature = "mdns")]
            self.mdns.poll_at(),
            #[cfg(not(feature = "lm3s6965"))]
            self.iperf3.poll_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        at
    }
}

#[cfg(not(feature = "tiny"))]
mod files {
    use super::{Files, STORE_FILE_MAX, Store};
    use layernet::Duration;
    use layernet::app::files::{FileServer, Limits, Policy};
    use layernet::app::storage::{Name, Storage};
    use layernet::net::Stack;

    /// What the store holds at boot.
    const HELLO: &[u8] = b"hello from the board\n";

    /// The server, on `store`. The store is not in the server but in a
    /// static of its own, filled in place ([`preloaded`]): every copy of
    /// the server on the way to its static is start-up stack. (A store
    /// filled first, then moved in, took 30 KiB; an empty one inside the
    /// server, 21.3 KiB: `RamStore::new` was copied from a constant in
    /// flash into two temporaries of 9.3 KiB before the server reached its
    /// static.)
    pub fn bind(
        stack: &mut Stack<'static>,
        port: u16,
        store: &'static mut Store,
    ) -> Result<Files, layernet::socket::Error> {
        let limits = Limits {
            max_body: STORE_FILE_MAX as u64,
            idle: Duration::from_secs(10),
            stall: Duration::from_secs(30),
        };
        // Writable, as the classic course's server: the store is RAM, a
        // few files that a reset wipes, and a board has no console to set
        // credentials on (docs/porting.md).
        Ok(FileServer::bind(stack, port, 1, store, limits)?.with_policy(Policy::WRITABLE))
    }

    /// `store` with what it holds at boot, written in place.
    pub fn preloaded(store: &'static mut Store) -> &'static mut Store {
        if let Err(e) = preload(store) {
            cortex_m_semihosting::hprintln!("files: could not store hello.txt: {}", e);
        }
        store
    }

    fn preload(store: &mut Store) -> Result<(), &'static str> {
        let name = Name::new("hello.txt").map_err(|_| "bad name")?;
        let up = store
            .begin_upload(&name, HELLO.len() as u64)
            .map_err(|_| "store full")?;
        store.write(up, HELLO).map_err(|_| "write")?;
        store.commit(up).map_err(|_| "commit")?;
        Ok(())
    }
}

/// Entropy from timing ([`board::jitter`]), mixed.
struct TimerJitter<'a>(&'a mut Nic);

impl Entropy for TimerJitter<'_> {
    fn seed(&mut self) -> u64 {
        let mut x = board::jitter(self.0);
        // splitmix64's finaliser: every input bit reaches every output bit.
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
}

#[entry]
// cortex-m-rt's `#[entry]` hands each `static mut` below in as an
// argument: one per static, not a signature anybody calls.
#[allow(clippy::too_many_arguments)]
fn main() -> ! {
    // The stack's memory, as the profile sizes it, in statics of its own:
    // a constant with one non-zero byte goes to .data whole (a second copy
    // in flash, copied to RAM before `main`), one of zeroes to .bss (no
    // flash). The socket buffers, the pool entries and the ICMP buffers
    // are zeroes. smoltcp's empty socket slot and UDP packet metadata have
    // a non-zero byte each (their `None`), so they are left uninitialised
    // (.bss) and written one element at a time at boot ([`fill`]): as
    // constants they were 3,688 B of .data in the tiny build. (Built at
    // run time as whole values, the compiler made them on the stack and
    // then copied them in: the tiny build's start-up needed 19.3 KiB of
    // stack that way.)
    static mut SOCKETS: [MaybeUninit<SocketStorage<'static>>; SOCKET_SLOTS] =
        [const { MaybeUninit::uninit() }; SOCKET_SLOTS];
    static mut TCP_ENTRIES: [TcpEntry; TCP] = [TcpEntry::EMPTY; TCP];
    static mut TCP_BYTES: [u8; 2 * TCP * BUF] = [0; 2 * TCP * BUF];
    static mut UDP_ENTRIES: [UdpEntry; UDP] = [UdpEntry::EMPTY; UDP];
    static mut UDP_BYTES: [u8; 2 * UDP * BUF] = [0; 2 * UDP * BUF];
    static mut UDP_META: [MaybeUninit<udp::PacketMetadata>; 2 * UDP_PACKETS * UDP] =
        [const { MaybeUninit::uninit() }; 2 * UDP_PACKETS * UDP];
    static mut ICMP: IcmpBuffers = IcmpBuffers::EMPTY;
    // The others are uninitialised statics in .bss, and `write` hands back
    // the initialised reference.
    static mut NIC: MaybeUninit<Nic> = MaybeUninit::uninit();
    static mut STACK: MaybeUninit<Stack<'static>> = MaybeUninit::uninit();
    static mut ECHO: MaybeUninit<Echo> = MaybeUninit::uninit();
    static mut GREETING: MaybeUninit<Greeting> = MaybeUninit::uninit();
    static mut TIME_ECHO: MaybeUninit<TimeEcho> = MaybeUninit::uninit();
    static mut CHAT: MaybeUninit<Chat> = MaybeUninit::uninit();
    #[cfg(not(feature = "tiny"))]
    static mut FILES: MaybeUninit<Files> = MaybeUninit::uninit();
    // All zeroes (`RamStore::new`), so in .bss: nothing builds it.
    #[cfg(not(feature = "tiny"))]
    static mut STORE: Store = Store::new();
    #[cfg(not(feature = "tiny"))]
    static mut SNTP: MaybeUninit<TimeClient> = MaybeUninit::uninit();
    #[cfg(all(feature = "mdns", not(feature = "tiny")))]
    static mut MDNS: MaybeUninit<Mdns> = MaybeUninit::uninit();
    #[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
    static mut IPERF3: MaybeUninit<Iperf3> = MaybeUninit::uninit();
    #[cfg(not(feature = "tiny"))]
    static mut UTC: Offset = Offset::new();

    stack_paint::paint();
    let slots = ServiceSlots {
        echo: ECHO,
        greeting: GREETING,
        time_echo: TIME_ECHO,
        chat: CHAT,
        #[cfg(not(feature = "tiny"))]
        files: FILES,
        #[cfg(not(feature = "tiny"))]
        store: STORE,
        #[cfg(not(feature = "tiny"))]
        sntp: SNTP,
        #[cfg(all(feature = "mdns", not(feature = "tiny")))]
        mdns: MDNS,
        #[cfg(not(any(feature = "tiny", feature = "lm3s6965")))]
        iperf3: IPERF3,
        #[cfg(not(feature = "tiny"))]
        utc: UTC,
    };
    let memory = match Memory::new(
        fill(SOCKETS, || SocketStorage::EMPTY),
        TCP_ENTRIES,
        TCP_BYTES,
        UDP_ENTRIES,
        UDP_BYTES,
        fill(UDP_META, || udp::PacketMetadata::EMPTY),
        ICMP,
    ) {
        Ok(memory) => memory,
        Err(e) => fail_with("memory", e),
    };
    let (nic, stack, mut services, mut clock) = start(memory, NIC, STACK, slots);
    // Start-up built the stack and the services in `start`'s frame
    // before moving them into their statics; that frame is gone now, so
    // its peak is noted and the reserve painted again for the serving one.
    let startup_peak = stack_paint::used();
    if startup_peak >= stack_paint::reserve() {
        // The deepest frame reached the statics and wrote over some.
        fail("start-up overflowed the stack's reserve");
    }
    stack_paint::paint();
    say::Line::new()
        .str("stack: ")
        .dec(startup_peak as u64)
        .str(" bytes at start-up")
        .print();

    let mut next_status = Instant::from_millis(STATUS_EVERY_MS);
    let mut last_frames = 0;
    let mut last = (Instant::ZERO, 0);
    loop {
        // The last turn of `settle` polls the stack after the services,
        // so their writes go out now, not a tick later.
        let busy = run::settle(stack, nic, &mut services, || clock.now(), SETTLE_ROUNDS);
        run::Services::each(&mut services, &mut |s| s.drain_log(&mut say::line));
        let now = clock.now();
        if now >= next_status {
            next_status = now + layernet::Duration::from_millis(STATUS_EVERY_MS as u64);
            let frames = board::stats(nic).rx_frames;
            if frames != last_frames {
                last_frames = frames;
                status(nic, now, &mut last);
            }
        }
        if !busy {
            // The status line is due only if frames came in since the last.
            let status_due = (board::stats(nic).rx_frames != last_frames).then_some(next_status);
            let wake = run::wake_at(stack, nic, &services, now);
            clock.sleep(nic, wake.into_iter().chain(status_due).min());
        }
    }
}

/// Bring up the NIC, the stack and the services in the given statics.
/// Not inlined: its frame holds the large temporaries of start-up, and it
/// must be popped before the main loop runs.
#[inline(never)]
fn start(
    memory: Memory<'static>,
    nic: Slot<Nic>,
    stack: Slot<Stack<'static>>,
    services: ServiceSlots,
) -> (
    &'static mut Nic,
    &'static mut Stack<'static>,
    Services,
    clock::SysTickClock,
) {
    let Some(core) = cortex_m::Peripherals::take() else {
        fail("the core peripherals were taken already");
    };
    board::init();
    let clock = clock::SysTickClock::start(core.SYST);

    let nic = place(nic, "NIC", || board::nic(CONFIG.mac));
    board::hello(nic);
    nic.set_rx_interrupt(true);
    // mDNS's group, 01:00:5e:00:00:fb, past the MAC's filter.
    #[cfg(all(feature = "mdns", not(feature = "tiny")))]
    board::accept_mdns(nic);
    let config = Config {
        seed: TimerJitter(nic).seed(),
        ..CONFIG
    };
    let stack = place(stack, "stack", || {
        Stack::with_memory(config, nic, memory, Instant::ZERO)
    });
    let services = Services::bind(stack, services);
    let ip = CONFIG.ip.address();
    for entry in services::ALL.iter().filter(|e| runs(e.kind)) {
        say::Line::new()
            .str("listening on ")
            .ip(ip)
            .str(":")
            .dec(entry.port.into())
            .str(" (")
            .str(entry.name)
            .str(")")
            .print();
    }
    say::Line::new()
        .str("profile ")
        .str(if cfg!(feature = "tiny") {
            "tiny"
        } else {
            "board"
        })
        .str(": resources ")
        .dec(core::mem::size_of::<Profile>() as u64)
        .str(" bytes")
        .print();

    (nic, stack, services, clock)
}

/// The status line; `last` is the time and wake-up count of the one
/// before, for the rate of wake-ups in between.
fn status(nic: &Nic, now: Instant, last: &mut (Instant, u32)) {
    let nic = board::stats(nic);
    let wakes = clock::wakes();
    let (ms, woke) = (
        (now - last.0).total_millis().max(1),
        wakes.wrapping_sub(last.1),
    );
    *last = (now, wakes);
    // Hundredths of a wake-up per second.
    let rate = u64::from(woke) * 100_000 / ms;
    say::Line::new()
        .str("status: up ")
        .int(now.secs())
        .str(" s, frames rx ")
        .dec(nic.rx_frames)
        .str(" tx ")
        .dec(nic.tx_frames)
        .str(" (rx errors ")
        .dec(nic.rx_errors)
        .str(", tx full ")
        .dec(nic.tx_full)
        .str("), stack ")
        .dec(stack_paint::used() as u64)
        .str(" bytes serving, reserve ")
        .dec(stack_paint::reserve() as u64)
        .str(", wake-ups ")
        .dec(wakes.into())
        .str(" (")
        .dec(rate / 100)
        .str(".")
        .dec_width(rate % 100, 2)
        .str("/s over ")
        .dec(ms)
        .str(" ms)")
        .print();
}

fn fail_with(what: &str, err: impl say::Why) -> ! {
    say::Line::new().str(what).str(": ").str(err.why()).print();
    fail("start-up failed")
}

fn fail(why: &str) -> ! {
    say::Line::new().str("layernet firmware: ").str(why).print();
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// The board build says where and why; the tiny build only that it
/// panicked: formatting the message and keeping every panic location's
/// file name cost it 8,856 B of flash (docs/performance.md). The core is
/// written not to panic on any input; a panic is a bug, found with a
/// debugger.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    #[cfg(not(feature = "tiny"))]
    hprintln!("panic: {}", info);
    #[cfg(feature = "tiny")]
    {
        let _ = info;
        say::line("panic");
    }
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
