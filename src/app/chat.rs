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

use super::{LOG_LINES, Log, LogRing, Service};
use crate::IpEndpoint;
use crate::net::Stack;
use crate::socket::{EndpointText, Error, UdpSocket};

/// A peer silent this long is no longer relayed to.
///
/// # Example
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use layernet::app::chat::{ChatPeer, ChatRoom, PEER_TTL};
/// use layernet::host::sim::{SimNet, endpoint};
/// let (mut net, r, x) = SimNet::pair(1)?;
/// let y = net.add_host()?;
/// let room = Rc::new(RefCell::new(ChatRoom::<4>::bind(net.stack(r), 6868)?));
/// net.serve(r, Box::new(room.clone()));
/// let mut early = ChatPeer::<2>::bind(net.stack(x), 6868, endpoint(r, 6868))?;
/// let mut late = ChatPeer::<2>::bind(net.stack(y), 6868, endpoint(r, 6868))?;
/// early.say(b"anyone?")?;
/// net.run_client(x, &mut early, PEER_TTL + layernet::Duration::from_secs(1));
/// late.say(b"too late")?;
/// net.run_client(y, &mut late, layernet::Duration::from_secs(2));
/// assert_eq!((room.borrow().received(), room.borrow().relayed()), (2, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const PEER_TTL: Duration = Duration::from_secs(5 * 60);

/// Longest chat message handled (longer datagrams are cut).
///
/// # Example
///
/// ```
/// use layernet::app::chat::{CHAT_MAX, ChatPeer};
/// use layernet::host::sim::{SimNet, SimService, endpoint};
/// let (mut net, a, b) = SimNet::pair(2)?;
/// let mut talker = ChatPeer::<1>::bind(net.stack(a), 6868, endpoint(b, 6868))?;
/// let mut listener = ChatPeer::<1>::bind(net.stack(b), 6868, endpoint(a, 6868))?;
/// talker.say(&[b'.'; 2 * CHAT_MAX])?;
/// let mut both: [(usize, &mut SimService); 2] = [(a, &mut talker), (b, &mut listener)];
/// net.run_until(layernet::Duration::from_secs(1), &mut both, |_| false);
/// assert_eq!(listener.take_received().map(|(_, m)| m.len()), Some(CHAT_MAX));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CHAT_MAX: usize = 512;

/// Room for `[ip:port] ` in front of a relayed message:
/// `[255.255.255.255:65535] `.
///
/// ```
/// use layernet::app::chat::{CHAT_MAX, RELAY_MAX, TAG_MAX};
/// assert_eq!(RELAY_MAX, CHAT_MAX + TAG_MAX);
/// ```
#[cfg(not(feature = "ipv6"))]
pub const TAG_MAX: usize = 24;
/// With IPv6, `[[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535] `.
#[cfg(feature = "ipv6")]
pub const TAG_MAX: usize = 50;

/// A relayed message at its longest: the tag and [`CHAT_MAX`] bytes. The
/// room's default relay buffer; a board whose UDP socket holds less
/// datagram than that gives the room a smaller one (`ChatRoom`'s `RELAY`).
pub const RELAY_MAX: usize = CHAT_MAX + TAG_MAX;

/// Bytes shown as text: UTF-8 where valid, `\xNN` where not, without a
/// trailing newline.
///
/// # Example
///
/// ```
/// use layernet::app::chat::Text;
/// assert_eq!(Text(b"caf\xc3\xa9 \xff\r\n").to_string(), "caf\u{e9} \\xff");
/// assert_eq!(Text(b"bell\x07").to_string(), "bell\\u{7}");
/// ```
pub struct Text<'a>(
    /// The bytes shown.
    pub &'a [u8],
);

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

struct Relay<const RELAY: usize> {
    msg: [u8; RELAY],
    len: usize,
    from: IpEndpoint,
    next: usize,
}

/// The chat room server. `RELAY` bytes hold a message being relayed, its
/// `[ip:port] ` tag included ([`RELAY_MAX`] by default); a smaller one cuts
/// longer texts, which only matters where the UDP socket could receive
/// them.
///
/// # Example
///
/// ```
/// use layernet::app::chat::{ChatPeer, ChatRoom};
/// use layernet::host::sim::{SimNet, SimService, endpoint};
/// let (mut net, r, x) = SimNet::pair(3)?;
/// let y = net.add_host()?;
/// let mut room = ChatRoom::<4>::bind(net.stack(r), 6868)?;
/// let mut ann = ChatPeer::<4>::bind(net.stack(x), 6868, endpoint(r, 6868))?;
/// let mut bob = ChatPeer::<4>::bind(net.stack(y), 6868, endpoint(r, 6868))?;
/// bob.say(b"hi, I'm Bob")?;
/// let mut all: [(usize, &mut SimService); 3] = [(r, &mut room), (x, &mut ann), (y, &mut bob)];
/// net.run_until(layernet::Duration::from_secs(1), &mut all, |_| false);
/// ann.say(b"hello Bob")?;
/// let mut all: [(usize, &mut SimService); 3] = [(r, &mut room), (x, &mut ann), (y, &mut bob)];
/// net.run_until(layernet::Duration::from_secs(1), &mut all, |_| false);
/// let (_, text) = bob.take_received().ok_or("nothing relayed")?;
/// assert_eq!(text.as_slice(), b"[192.168.69.2:6868] hello Bob");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped room keeps its UDP socket: call `close`"]
pub struct ChatRoom<
    const PEERS: usize = 8,
    const LOG: usize = LOG_LINES,
    const RELAY: usize = RELAY_MAX,
> {
    socket: UdpSocket,
    peers: [Option<(IpEndpoint, Instant)>; PEERS],
    relay: Option<Relay<RELAY>>,
    received: u64,
    relayed: u64,
    log: LogRing<LOG>,
}

impl<const PEERS: usize, const LOG: usize, const RELAY: usize> ChatRoom<PEERS, LOG, RELAY> {
    /// Open the room on UDP `port`.
    ///
    /// # Errors
    /// Those of [`UdpSocket::bind`]: [`Error::AddrInUse`] if the port is taken (or,
    /// for port 0, no ephemeral port is free), [`Error::NoBufferSpace`] if every
    /// UDP socket of the stack is in use.
    ///
    /// # Example
    /// ```
    /// use layernet::app::chat::ChatRoom;
    /// use layernet::host::sim::SimNet;
    /// use layernet::socket::Error;
    /// let (mut net, host, _) = SimNet::pair(4)?;
    /// let _room = ChatRoom::<8>::bind(net.stack(host), 6868)?;
    /// let again = ChatRoom::<8>::bind(net.stack(host), 6868);
    /// assert_eq!(again.err(), Some(Error::AddrInUse));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16) -> Result<Self, Error> {
        const { assert!(RELAY > TAG_MAX, "RELAY must hold the tag and some text") };
        Ok(ChatRoom {
            socket: UdpSocket::bind(stack, port)?,
            peers: [None; PEERS],
            relay: None,
            received: 0,
            relayed: 0,
            log: LogRing::new(),
        })
    }

    /// Close the room's socket: its port and pool socket are free again.
    ///
    /// # Example
    /// ```
    /// use layernet::app::chat::ChatRoom;
    /// use layernet::host::sim::SimNet;
    /// let (mut net, host, _) = SimNet::pair(4)?;
    /// ChatRoom::<8>::bind(net.stack(host), 6868)?.close(net.stack(host));
    /// let _again = ChatRoom::<8>::bind(net.stack(host), 6868)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self, stack: &mut Stack<'_>) {
        self.socket.close(stack);
    }

    /// Datagrams received so far.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::chat::{ChatPeer, ChatRoom};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, r, p) = SimNet::pair(5)?;
    /// let room = Rc::new(RefCell::new(ChatRoom::<2>::bind(net.stack(r), 6868)?));
    /// net.serve(r, Box::new(room.clone()));
    /// let mut peer = ChatPeer::<4>::bind(net.stack(p), 7000, endpoint(r, 6868))?;
    /// for word in ["one", "two", "three"] {
    ///     peer.say(word.as_bytes())?;
    /// }
    /// net.run_client(p, &mut peer, layernet::Duration::from_millis(100));
    /// assert_eq!(room.borrow().received(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Datagrams relayed so far.
    ///
    /// # Example
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use layernet::app::chat::{ChatPeer, ChatRoom};
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, r, p) = SimNet::pair(6)?;
    /// let room = Rc::new(RefCell::new(ChatRoom::<2>::bind(net.stack(r), 6868)?));
    /// net.serve(r, Box::new(room.clone()));
    /// let mut alone = ChatPeer::<1>::bind(net.stack(p), 6868, endpoint(r, 6868))?;
    /// alone.say(b"is this thing on?")?;
    /// net.run_client(p, &mut alone, layernet::Duration::from_millis(100));
    /// // Heard, but nobody else is in the room: nothing relayed.
    /// assert_eq!((room.borrow().received(), room.borrow().relayed()), (1, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

impl<const PEERS: usize, const LOG: usize, const RELAY: usize> Service
    for ChatRoom<PEERS, LOG, RELAY>
{
    fn poll(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
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
            self.log
                .push(format_args!("[{}] {}", EndpointText(from), Text(text)));
            self.heard(from, now);
            let mut relay = Relay {
                msg: [0; RELAY],
                len: 0,
                from,
                next: 0,
            };
            let mut tag: heapless::String<TAG_MAX> = heapless::String::new();
            // An IPv4 peer's tag without `core::fmt` (the tiny firmware
            // links none); it stops at a piece that does not fit, as
            // `core::fmt::write` into the string would (none is too long:
            // `[255.255.255.255:65535] ` is TAG_MAX).
            match from.addr {
                crate::IpAddress::Ipv4(a) => {
                    let text = EndpointText::v4(a, from.port);
                    for piece in ["[", text.as_str(), "] "] {
                        if tag.push_str(piece).is_err() {
                            break;
                        }
                    }
                }
                #[allow(unreachable_patterns)]
                _ => {
                    let _ = core::fmt::write(&mut tag, format_args!("[{}] ", EndpointText(from)));
                }
            }
            // A smaller relay buffer cuts the text (RELAY > TAG_MAX holds
            // the tag).
            let n = n.min(RELAY.saturating_sub(tag.len()));
            relay.msg[..tag.len()].copy_from_slice(tag.as_bytes());
            relay.msg[tag.len()..tag.len() + n].copy_from_slice(&text[..n]);
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
///
/// # Example
///
/// ```
/// use layernet::app::chat::{ChatPeer, Message};
/// use layernet::host::sim::{SimNet, SimService, endpoint};
/// let (mut net, a, b) = SimNet::pair(7)?;
/// let mut from = ChatPeer::<1>::bind(net.stack(a), 6868, endpoint(b, 7000))?;
/// let mut to = ChatPeer::<1>::bind(net.stack(b), 7000, endpoint(a, 6868))?;
/// from.say(b"direct")?;
/// let mut pair: [(usize, &mut SimService); 2] = [(a, &mut from), (b, &mut to)];
/// net.run_until(layernet::Duration::from_millis(100), &mut pair, |_| false);
/// let got: Option<Message> = to.take_received();
/// assert_eq!(got.map(|(sender, _)| sender), Some(endpoint(a, 6868)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Message = (IpEndpoint, heapless::Vec<u8, { CHAT_MAX + TAG_MAX }>);

/// A chat peer: sends what it is told to say to the room, and keeps (and
/// logs, as `[ip:port] text`) what arrives.
///
/// # Example
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use layernet::app::{Service, chat::ChatPeer};
/// use layernet::host::sim::{SimNet, SimPort, endpoint};
/// let (mut net, a, b) = SimNet::pair(8)?;
/// let listener = Rc::new(RefCell::new(ChatPeer::<2>::bind(net.stack(b), 6868, endpoint(a, 6868))?));
/// net.serve(b, Box::new(listener.clone()));
/// let mut talker = ChatPeer::<2>::bind(net.stack(a), 6868, endpoint(b, 6868))?;
/// talker.say(b"tab\there\n")?;
/// net.run_client(a, &mut talker, layernet::Duration::from_millis(100));
/// let mut shown = Vec::new();
/// Service::drain_log(&mut *listener.borrow_mut(), &mut |l| shown.push(l.to_owned()));
/// assert_eq!(shown, ["[192.168.69.1:6868] tab\there"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dropped peer keeps its UDP socket: call `close`"]
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
    ///
    /// # Errors
    /// Those of [`UdpSocket::bind`]: [`Error::AddrInUse`] if the port is taken (or,
    /// for port 0, no ephemeral port is free), [`Error::NoBufferSpace`] if every
    /// UDP socket of the stack is in use.
    ///
    /// # Example
    /// Port 0 takes an ephemeral port, so two peers can share a host:
    /// ```
    /// use layernet::app::chat::ChatPeer;
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, room, me) = SimNet::pair(9)?;
    /// let one = ChatPeer::<1>::bind(net.stack(me), 0, endpoint(room, 6868));
    /// let two = ChatPeer::<1>::bind(net.stack(me), 0, endpoint(room, 6868));
    /// assert!(one.is_ok() && two.is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(stack: &mut Stack<'_>, port: u16, room: IpEndpoint) -> Result<Self, Error> {
        Ok(ChatPeer {
            socket: UdpSocket::bind(stack, port)?,
            room,
            outbox: heapless::Deque::new(),
            inbox: heapless::Deque::new(),
            log: Log::new(),
        })
    }

    /// Close the peer's socket; what it has not sent yet is dropped.
    ///
    /// # Example
    /// ```
    /// use layernet::app::chat::ChatPeer;
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, room, me) = SimNet::pair(9)?;
    /// let peer = ChatPeer::<1>::bind(net.stack(me), 7000, endpoint(room, 6868))?;
    /// peer.close(net.stack(me));
    /// assert!(ChatPeer::<1>::bind(net.stack(me), 7000, endpoint(room, 6868)).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self, stack: &mut Stack<'_>) {
        self.socket.close(stack);
    }

    /// Queue `text` for the room. `Err` if the outbox is full (try after a poll).
    ///
    /// # Errors
    /// [`Error::WouldBlock`] when the outbox (`MSGS` messages) is full: poll the
    /// peer, then say it again.
    ///
    /// # Example
    /// ```
    /// use layernet::app::chat::ChatPeer;
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::socket::Error;
    /// let (mut net, room, me) = SimNet::pair(10)?;
    /// let mut peer = ChatPeer::<1>::bind(net.stack(me), 6868, endpoint(room, 6868))?;
    /// peer.say(b"first")?;
    /// assert_eq!(peer.say(b"second"), Err(Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn say(&mut self, text: &[u8]) -> Result<(), Error> {
        let mut m = heapless::Vec::new();
        let _ = m.extend_from_slice(&text[..text.len().min(CHAT_MAX)]);
        self.outbox.push_back(m).map_err(|_| Error::WouldBlock)
    }

    /// True when everything said has been handed to the stack.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::chat::ChatPeer;
    /// use layernet::host::sim::{SimNet, endpoint};
    /// let (mut net, room, me) = SimNet::pair(11)?;
    /// let mut peer = ChatPeer::<4>::bind(net.stack(me), 6868, endpoint(room, 6868))?;
    /// peer.say(b"bye")?;
    /// assert!(!peer.all_sent());
    /// net.run_client(me, &mut peer, layernet::Duration::from_millis(10));
    /// assert!(peer.all_sent());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_sent(&self) -> bool {
        self.outbox.is_empty()
    }

    /// The oldest message received and not yet taken.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::chat::ChatPeer;
    /// use layernet::host::sim::{SimNet, SimService, endpoint};
    /// let (mut net, a, b) = SimNet::pair(12)?;
    /// let mut x = ChatPeer::<2>::bind(net.stack(a), 6868, endpoint(b, 6868))?;
    /// let mut y = ChatPeer::<2>::bind(net.stack(b), 6868, endpoint(a, 6868))?;
    /// x.say(b"1")?;
    /// x.say(b"2")?;
    /// let mut both: [(usize, &mut SimService); 2] = [(b, &mut y), (a, &mut x)];
    /// net.run_until(layernet::Duration::from_millis(100), &mut both, |_| false);
    /// let order: Vec<_> = std::iter::from_fn(|| y.take_received()).map(|(_, m)| m[0]).collect();
    /// assert_eq!(order, b"12");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_received(&mut self) -> Option<Message> {
        self.inbox.pop_front()
    }

    /// Messages waiting in the inbox.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::chat::ChatPeer;
    /// use layernet::host::sim::{SimNet, SimService, endpoint};
    /// let (mut net, a, b) = SimNet::pair(13)?;
    /// let mut x = ChatPeer::<4>::bind(net.stack(a), 6868, endpoint(b, 6868))?;
    /// let mut y = ChatPeer::<4>::bind(net.stack(b), 6868, endpoint(a, 6868))?;
    /// (x.say(b"knock")?, x.say(b"knock")?);
    /// let mut both: [(usize, &mut SimService); 2] = [(a, &mut x), (b, &mut y)];
    /// net.run_until(layernet::Duration::from_millis(100), &mut both, |_| false);
    /// assert_eq!(y.received_count(), 2);
    /// y.take_received();
    /// assert_eq!(y.received_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn received_count(&self) -> usize {
        self.inbox.len()
    }
}

impl<const MSGS: usize> Service for ChatPeer<MSGS> {
    fn poll(&mut self, stack: &mut Stack<'_>, _now: Instant) -> bool {
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
                    self.log
                        .push(format_args!("[{}] {}", EndpointText(from), Text(&buf[..n])));
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
