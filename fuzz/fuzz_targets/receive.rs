//! The whole receive path of an interface with every service listening:
//! the input is a run of frames, each a big-endian 16-bit length and that
//! many bytes, handed one at a time over the simulated segment to a fresh
//! stack (gate, smoltcp, socket layer, applications), with the clock moving
//! on between frames and for a few seconds after the last so that timers
//! (retransmission, idle timeouts, handshake timeouts) run too.

#![no_main]

use core::cell::RefCell;

use layernet::app::Service;
use layernet::app::chat::ChatRoom;
use layernet::app::clock::FixedEpoch;
use layernet::app::echo::EchoServer;
use layernet::app::files::{FileServer, Limits, Policy};
use layernet::app::greeting::{DEFAULT_GREETING, GreetingServer};
use layernet::app::ports;
use layernet::app::storage::RamStore;
use layernet::app::time_echo::TimeEchoServer;
use layernet::link::segment::{StdPort, StdSegment};
use layernet::net::{Config, Stack, profile};
use layernet::{Duration, EthernetAddress, Instant};
use libfuzzer_sys::fuzz_target;
use smoltcp::phy::{Device, RxToken, TxToken};

const ATTACKER: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
/// Virtual time between two frames.
const GAP: Duration = Duration::from_millis(10);

fn frames(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    core::iter::from_fn(move || {
        let (len, rest) = data.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
        let (frame, rest) = rest.split_at(len);
        data = rest;
        Some(frame)
    })
}

/// One turn of a device's main loop (the core's run loop, two turns: the
/// second polls the stack for what the services queued), then the logs.
fn run(
    stack: &mut Stack<'_>,
    nic: &mut StdPort<'_>,
    services: &mut [Box<dyn Service + '_>],
    now: Instant,
) {
    layernet::run::settle(stack, nic, services, || now, 2);
    for service in services.iter_mut() {
        service.drain_log(&mut |_| {});
    }
}

fuzz_target!(|data: &[u8]| {
    let wire = RefCell::new(StdSegment::new());
    // SLAAC on: router advertisements then reach smoltcp's address
    // configuration too (the ipv6 feature comes with layernet's defaults).
    let config = Config {
        slaac: true,
        ..Config::default()
    };
    let (Some(mut nic), Some(mut attacker)) = (
        StdPort::new(&wire, 0, config.mac),
        StdPort::new(&wire, 1, ATTACKER),
    ) else {
        return;
    };
    let mut memory = Box::new(profile::Tiny::new());
    let Ok(mut stack) = Stack::new(config, &mut nic, &mut memory, Instant::ZERO) else {
        return;
    };
    let s = &mut stack;
    let (Ok(echo), Ok(greeting), Ok(time_echo), Ok(files), Ok(chat)) = (
        EchoServer::<1>::bind(s, ports::ECHO, 1),
        GreetingServer::<1>::bind(s, ports::GREETING, 1, DEFAULT_GREETING),
        TimeEchoServer::<_, 1>::bind(s, ports::TIME_ECHO, 1, FixedEpoch::SIMULATION),
        FileServer::<_, 1>::bind(
            s,
            ports::FILES,
            1,
            RamStore::<2, 256>::new(),
            Limits::default(),
        ),
        ChatRoom::<2>::bind(s, ports::CHAT),
    ) else {
        return;
    };
    let mut services: [Box<dyn Service>; 5] = [
        Box::new(echo),
        Box::new(greeting),
        Box::new(time_echo),
        // Writes on: the fuzzer should reach the upload path too.
        Box::new(files.with_policy(Policy::WRITABLE)),
        Box::new(chat),
    ];
    let mut now = Instant::ZERO;
    for frame in frames(data) {
        if let Some(tx) = attacker.transmit(now) {
            // The port clamps a frame to its MTU (the segment would drop
            // a longer one anyway): copy what it gives room for.
            tx.consume(frame.len(), |buf| {
                let room = buf.len();
                buf.copy_from_slice(&frame[..room]);
            });
        }
        now += GAP;
        run(&mut stack, &mut nic, &mut services, now);
        // What the stack answered: read and forgotten, so the queue never fills.
        while let Some((rx, _)) = attacker.receive(now) {
            rx.consume(|_| ());
        }
    }
    for _ in 0..30 {
        now += Duration::from_millis(100);
        run(&mut stack, &mut nic, &mut services, now);
        while let Some((rx, _)) = attacker.receive(now) {
            rx.consume(|_| ());
        }
    }
});
