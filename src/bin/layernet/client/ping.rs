//! The ping client: ICMP echo requests, one a second, and the replies as
//! BSD's ping prints them.
//!
//! Layer: host (std), in the binary.

use layernet::host::blocking::Net;
use layernet::host::tap_net::TapNet;
use layernet::socket::{Error, Ping};
use layernet::{Duration, IpAddress};

/// Print and mark the replies that came for requests sent and not yet
/// answered; returns how many.
fn take_replies(
    t: &mut TapNet,
    ping: &mut Ping,
    sent_at: &[Option<layernet::Instant>],
    answered: &mut [bool],
) -> u16 {
    let mut new = 0;
    while let Ok((from, s, len)) = ping.recv(t.stack()) {
        let i = usize::from(s);
        let (Some(Some(at)), Some(false)) = (sent_at.get(i), answered.get(i)) else {
            continue;
        };
        let rtt = t.now() - *at;
        println!(
            "{} bytes from {from}: icmp_seq={s} time={}.{:03} ms",
            len + 8,
            rtt.total_micros() / 1000,
            rtt.total_micros() % 1000
        );
        answered[i] = true;
        new += 1;
    }
    new
}

pub(super) fn ping(net: &Net<TapNet>, target: IpAddress, count: u16) -> Result<(), String> {
    const PAYLOAD: &[u8] = b"layernet ping payload 0123456789abcdef0123456789";
    net.with(|t| {
        let mut ping = Ping::new(t.stack());
        println!("PING {target}: {} data bytes", PAYLOAD.len());
        // When each request left, and whether its reply came. A reply that
        // comes after its second is up still counts, as BSD's ping counts
        // it: the first request to a new neighbour waits for ARP, and ARP's
        // retry comes a second later.
        let mut sent_at: Vec<Option<layernet::Instant>> = vec![None; usize::from(count)];
        let mut answered = vec![false; usize::from(count)];
        let mut received = 0u16;
        for seq in 0..count {
            let start = t.now();
            let next = start + Duration::from_secs(1);
            for _ in 0..100 {
                match ping.send(t.stack(), target, seq, PAYLOAD) {
                    Ok(()) => {
                        sent_at[usize::from(seq)] = Some(start);
                        break;
                    }
                    Err(Error::WouldBlock) => {
                        t.run_once(t.now() + Duration::from_millis(10));
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            while t.now() < next && !answered[usize::from(seq)] {
                t.run_once(next);
                received += take_replies(t, &mut ping, &sent_at, &mut answered);
            }
            if !answered[usize::from(seq)] {
                println!("Request timeout for icmp_seq {seq}");
            }
            if seq + 1 < count {
                while t.now() < next {
                    t.run_once(next);
                    received += take_replies(t, &mut ping, &sent_at, &mut answered);
                }
            }
        }
        // Replies still on their way get one more second.
        let linger = t.now() + Duration::from_secs(1);
        while t.now() < linger && answered.iter().any(|a| !a) {
            t.run_once(linger);
            received += take_replies(t, &mut ping, &sent_at, &mut answered);
        }
        let loss = 100 * u32::from(count - received) / u32::from(count);
        println!("{count} packets transmitted, {received} received, {loss}% packet loss");
        if received == 0 {
            Err(format!("no reply from {target}"))
        } else {
            Ok(())
        }
    })
}
