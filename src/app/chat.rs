//! UDP chat on port 6868: a room that relays, and peers that talk to it.
//!
//! Layer: app. Uses [`crate::socket`] only.
//!
//! The room prints each datagram as `[ip:port] text` and relays it, as
//! `[sender-ip:sender-port] text` sent from the room's port, to every other
//! peer heard from in the last [`PEER_TTL`]; the sender does not get its own
//! message back. Its peer table is fixed (`PEERS` entries); when it is full
//! the peer heard from longest ago gives up its place. A peer sends and
//! receives in the same poll, so (unlike the classic program, stuck in
//! `input()`) it never misses a message while its user is typing.

use core::fmt;

use smoltcp::time::{Duration, Instant};

use super::{Log, Service};
use crate::IpEndpoint;
use crate::link::Link;
use crate::net::Stack;
use crate::socket::{Error, UdpSocket};

/// A peer silent this long is no longer relayed to.
pub const PEER_TTL: Duration = Duration::from_secs(5 * 60);

/// Longest chat message handled (longer datagrams are cut).
pub const CHAT_MAX: usize = 512;

/// Room for `[ip:port] ` in front of a relayed message.
const TAG_MAX: usize = 24;

/// Bytes shown as text: UTF-8 where valid, `\xNN` where not, without a
/// trailing newline.
pub struct Text<'a>(pub &'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = self.0;
        while let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() && c != '\t' {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    write!(f, "{c}")?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

struct Relay {
    msg: [u8; CHAT_MAX + TAG_MAX],
    len: usize,
    from: IpEndpoint,
    next: usize,
}

/// The chat room server.
pub struct ChatRoom<const PEERS: usize = 8> {
    socket: UdpSocket,
    peers: [Option<(IpEndpoint, Instant)>; PEERS],
    relay: Option<Relay>,
    received: u64,
    relayed: u64,
    log: Log,
}

impl<const PEERS: usize> ChatRoom<PEERS> {
    /// Open the room on UDP `port`.
    pub fn bind<D: Link>(stack: &mut Stack<'_, D>, port: u16) -> Result<Self, Error> {
        Ok(ChatRoom {
            socket: UdpSocket::bind(stack, port)?,
            peers: [None; PEERS],
            relay: None,
            received: 0,
            relayed: 0,
            log: Log::new(),
        })
    }

    /// Datagrams received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Datagrams relayed so far.
    pub fn relayed(&self) -> u64 {
        self.relayed
    }

    fn heard(&mut self, from: IpEndpoint, now: Instant) {
        if let Some(p) = self.peers.iter_mut().flatten().find(|(ep, _)| *ep == from) {
            p.1 = now;
            return;
        }
        let slot = self.peers.iter().position(Option::is_none).or_else(|| {
            (0..PEERS).min_by_key(|&i| self.peers[i].map_or(Instant::ZERO, |(_, t)| t))
        });
        if let Some(i) = slot {
            self.peers[i] = Some((from, now));
        }
    }
}

impl<D: Link, const PEERS: usize> Service<D> for ChatRoom<PEERS> {
    fn poll(&mut self, stack: &mut Stack<'_, D>, now: Instant) -> bool {
        let mut progress = false;
        // Bounded: a flood of datagrams waits for the next poll.
        for _ in 0..32 {
            if let Some(r) = self.relay.as_mut() {
                while r.next < PEERS {
                    let target = self.peers[r.next]
                        .filter(|(ep, heard)| *ep != r.from && now - *heard <= PEER_TTL);
                    if let Some((ep, _)) = target {
                        match self.socket.send_to(stack, &r.msg[..r.len], ep) {
                            Ok(()) => {
                                self.relayed += 1;
                                progress = true;
                            }
                            // The send queue is full: carry on next poll.
                            Err(Error::WouldBlock) => return progress,
                            Err(_) => {}
                        }
                    }
                    r.next += 1;
                }
                self.relay = None;
            }
            let mut buf = [0u8; CHAT_MAX];
            let (n, from) = match self.socket.recv_from(stack, &mut buf) {
                Ok(got) => got,
                Err(Error::Truncated) => {
                    progress = true;
                    continue;
                }
                Err(_) => break,
            };
            progress = true;
            self.received += 1;
            let text = &buf[..n];
            self.log.push(format_args!("[{from}] {}", Text(text)));
            self.heard(from, now);
            let mut relay = Relay {
                msg: [0; CHAT_MAX + TAG_MAX],
                len: 0,
                from,
                next: 0,
            };
            let mut tag: heapless::String<TAG_MAX> = heapless::String::new();
            let _ = core::fmt::write(&mut tag, format_args!("[{from}] "));
            relay.msg[..tag.len()].copy_from_slice(tag.as_bytes());
            relay.msg[tag.len()..tag.len() + n].copy_from_slice(text);
            relay.len = tag.len() + n;
            self.relay = Some(relay);
        }
        progress
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.log.drain(sink);
    }
}

/// A received chat datagram.
pub type Message = (IpEndpoint, heapless::Vec<u8, { CHAT_MAX + TAG_MAX }>);

/// A chat peer: sends what it is told to say to the room, and keeps (and
/// logs, as `[ip:port] text`) what arrives.
pub struct ChatPeer<const MSGS: usize = 8> {
    socket: UdpSocket,
    room: IpEndpoint,
    outbox: heapless::Deque<heapless::Vec<u8, CHAT_MAX>, MSGS>,
    inbox: heapless::Deque<Message, MSGS>,
    log: Log,
}

impl<const MSGS: usize> ChatPeer<MSGS> {
    /// Bind local UDP `port` (the classic program binds 6868 too) and talk
    /// to the room at `room`.
    pub fn bind<D: Link>(
        stack: &mut Stack<'_, D>,
        port: u16,
        room: IpEndpoint,
    ) -> Result<Self, Error> {
        Ok(ChatPeer {
            socket: UdpSocket::bind(stack, port)?,
            room,
            outbox: heapless::Deque::new(),
            inbox: heapless::Deque::new(),
            log: Log::new(),
        })
    }

    /// Queue `text` for the room. `Err` if the outbox is full (try after a poll).
    pub fn say(&mut self, text: &[u8]) -> Result<(), Error> {
        let mut m = heapless::Vec::new();
        let _ = m.extend_from_slice(&text[..text.len().min(CHAT_MAX)]);
        self.outbox.push_back(m).map_err(|_| Error::WouldBlock)
    }

    /// True when everything said has been handed to the stack.
    pub fn all_sent(&self) -> bool {
        self.outbox.is_empty()
    }

    /// The oldest message received and not yet taken.
    pub fn take_received(&mut self) -> Option<Message> {
        self.inbox.pop_front()
    }

    /// Messages waiting in the inbox.
    pub fn received_count(&self) -> usize {
        self.inbox.len()
    }
}

impl<D: Link, const MSGS: usize> Service<D> for ChatPeer<MSGS> {
    fn poll(&mut self, stack: &mut Stack<'_, D>, _now: Instant) -> bool {
        let mut progress = false;
        while let Some(m) = self.outbox.front() {
            match self.socket.send_to(stack, m, self.room) {
                Ok(()) => {
                    self.outbox.pop_front();
                    progress = true;
                }
                Err(Error::WouldBlock) => break,
                Err(_) => {
                    // Cannot ever be sent (too long for the socket): drop it.
                    self.outbox.pop_front();
                }
            }
        }
        let mut buf = [0u8; CHAT_MAX + TAG_MAX];
        for _ in 0..MSGS {
            match self.socket.recv_from(stack, &mut buf) {
                Ok((n, from)) => {
                    self.log.push(format_args!("[{from}] {}", Text(&buf[..n])));
                    let mut m = heapless::Vec::new();
                    let _ = m.extend_from_slice(&buf[..n]);
                    if self.inbox.is_full() {
                        self.inbox.pop_front();
                    }
                    let _ = self.inbox.push_back((from, m));
                    progress = true;
                }
                Err(Error::Truncated) => progress = true,
                Err(_) => break,
            }
        }
        progress
    }

    fn drain_log(&mut self, sink: &mut dyn FnMut(&str)) {
        self.log.drain(sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(b: &[u8]) -> heapless::String<64> {
        let mut s = heapless::String::new();
        core::fmt::write(&mut s, format_args!("{}", Text(b))).unwrap();
        s
    }

    #[test]
    fn text_is_escaped_and_trimmed() {
        assert_eq!(show(b"hello\r\n"), "hello");
        assert_eq!(show("h\u{e9}".as_bytes()), "h\u{e9}");
        assert_eq!(show(b"a\xffb"), "a\\xffb");
        assert_eq!(show(b"a\x1bb"), "a\\u{1b}b");
    }
}
