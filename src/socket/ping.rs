//! ICMP echo ("ping"), [`Ping`], through the stack's one ICMP socket, and
//! how several pings share it.
//!
//! Layer: socket. Depends on [`crate::net`] (the stack, its ICMP socket and
//! its stash of replies for other pings) and smoltcp's ICMP socket and wire
//! types; never on applications or the host. no_std, no alloc.

use smoltcp::socket::icmp;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Packet, Icmpv6Repr};

use super::Error;
use crate::net::Stack;

/// ICMP echo ("ping") through the stack's one ICMP socket.
///
/// Any number of pings can share a stack. smoltcp binds an ICMP socket to
/// one echo identifier, so every ping of a stack sends with the identifier
/// of the first one used, and each ping sends its sequence numbers shifted
/// into a range of its own (the first ping's are unshifted, what `send` was
/// given). A ping claims a reply by the sequence numbers of its
/// [`PING_WINDOW`] latest requests; a reply one ping reads for another waits
/// in the stack until that one asks.
///
/// # Example
///
/// A round trip on a wire with 5 ms of latency takes 20 ms: ARP request
/// and reply, echo request and reply:
///
/// ```
/// use layernet::{Duration, host::sim::*, link::segment::Faults, socket::Ping};
///
/// let mut net = SimNet::new(1, Faults { delay: Duration::from_millis(5), ..Faults::NONE });
/// let (a, b) = (net.add_host()?, net.add_host()?);
/// let mut ping = Ping::new(net.stack(a));
/// ping.send(net.stack(a), host_ip(b).address(), 1, b"abcdefgh")?;
/// net.run_for(Duration::from_millis(19));
/// assert!(ping.recv(net.stack(a)).is_err(), "not yet");
/// net.run_for(Duration::from_millis(1));
/// assert_eq!(ping.recv(net.stack(a))?, (host_ip(b).address().into(), 1, 8));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Ping {
    /// Drawn at `new`; the stack's echo identifier if this ping binds it.
    ident: u16,
    /// Added to a sequence number on the wire, taken off a reply's.
    shift: u16,
    /// Wire sequence numbers of the latest requests (the first `filled`),
    /// overwritten in turn from `next`.
    sent: [u16; PING_WINDOW],
    filled: u8,
    next: u8,
}

/// How many of its latest requests a [`Ping`] claims replies for; a reply
/// to an older one is dropped as a stray.
///
/// ```
/// use layernet::{Duration, host::sim::*, socket::{PING_WINDOW, Ping}};
///
/// let (mut net, a, b) = SimNet::pair(5)?;
/// let mut p = Ping::new(net.stack(a));
/// for seq in 0..=PING_WINDOW as u16 {
///     p.send(net.stack(a), host_ip(b).address(), seq, b"")?;
///     net.run_for(Duration::from_millis(5));
/// }
/// // Seq 0's reply waited, unread, until the window moved past it.
/// assert_eq!(p.recv(net.stack(a))?.1, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const PING_WINDOW: usize = 16;

/// How far apart the sequence ranges of a stack's pings lie.
const PING_SHIFT: u16 = 0x1000;

impl Ping {
    /// An echo client with an identifier drawn from the stack's generator.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, socket::Ping};
    /// let (mut net, a, b) = SimNet::pair(2)?;
    /// let (mut p, to) = (Ping::new(net.stack(a)), net.stack(b).ipv4_addr());
    /// p.send(net.stack(a), to, 0, b"")?;
    /// net.run_for(Duration::from_millis(5));
    /// assert_eq!(p.recv(net.stack(a))?.0, to.into());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(stack: &mut Stack<'_>) -> Self {
        let ident = stack.random() as u16;
        Ping {
            ident,
            shift: stack.next_ping().wrapping_mul(PING_SHIFT),
            sent: [0; PING_WINDOW],
            filled: 0,
            next: 0,
        }
    }

    /// The sequence number `send` was given for wire sequence number
    /// `wire`, if it is one of this ping's latest requests.
    fn claims(&self, wire: u16) -> Option<u16> {
        let sent = self.sent.get(..usize::from(self.filled))?;
        sent.contains(&wire).then(|| wire.wrapping_sub(self.shift))
    }

    fn remember(&mut self, wire: u16) {
        if let Some(slot) = self.sent.get_mut(usize::from(self.next)) {
            *slot = wire;
        }
        self.next = (self.next + 1) % PING_WINDOW as u8;
        self.filled = (self.filled + 1).min(PING_WINDOW as u8);
    }

    /// Queue echo request `seq` to `to` carrying `payload`; it leaves when the
    /// stack is polled.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] when the ICMP send queue is full (or the request
    /// is larger than its buffer, [`crate::net::ICMP_BUFFER`]);
    /// [`Error::InvalidInput`] for an address it cannot send to;
    /// [`Error::AddrInUse`] if the stack's ICMP socket cannot be bound.
    ///
    /// An address nobody has: the request is queued, no reply ever comes:
    ///
    /// ```
    /// use layernet::{Duration, Ipv4Address, host::sim::SimNet, socket::{Error, Ping}};
    ///
    /// let (mut net, a, _) = SimNet::pair(3)?;
    /// let mut p = Ping::new(net.stack(a));
    /// p.send(net.stack(a), Ipv4Address::new(192, 168, 69, 200), 1, b"hello?")?;
    /// net.run_for(Duration::from_secs(3));
    /// assert_eq!(p.recv(net.stack(a)), Err(Error::WouldBlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(
        &mut self,
        stack: &mut Stack<'_>,
        to: impl Into<IpAddress>,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), Error> {
        let to = to.into();
        let caps = smoltcp::phy::ChecksumCapabilities::default();
        let (_, ident) = stack.icmp_socket(self.ident).ok_or(Error::AddrInUse)?;
        let wire = seq.wrapping_add(self.shift);
        match to {
            IpAddress::Ipv4(_) => {
                let repr = Icmpv4Repr::EchoRequest {
                    ident,
                    seq_no: wire,
                    data: payload,
                };
                let buf = Self::queue(stack, self.ident, repr.buffer_len(), to)?;
                repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &caps);
            }
            #[cfg(feature = "ipv6")]
            IpAddress::Ipv6(dst) => {
                let repr = Icmpv6Repr::EchoRequest {
                    ident,
                    seq_no: wire,
                    data: payload,
                };
                // ICMPv6's checksum covers the addresses: pick the source
                // smoltcp will send from before writing the message.
                let src = stack.ipv6_source_for(&dst);
                let buf = Self::queue(stack, self.ident, repr.buffer_len(), to)?;
                repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(buf), &caps);
            }
        }
        self.remember(wire);
        Ok(())
    }

    /// Room for one message of `len` bytes to `to` in the ICMP send queue.
    fn queue<'s>(
        stack: &'s mut Stack<'_>,
        ident: u16,
        len: usize,
        to: IpAddress,
    ) -> Result<&'s mut [u8], Error> {
        let (socket, _) = stack.icmp_socket(ident).ok_or(Error::AddrInUse)?;
        socket.send(len, to).map_err(|e| match e {
            icmp::SendError::BufferFull => Error::WouldBlock,
            icmp::SendError::Unaddressable => Error::InvalidInput,
        })
    }

    /// The next echo reply for us: (from, sequence number, payload length).
    /// Other ICMP messages and replies to nobody's request are skipped; a
    /// reply to another ping of this stack is kept for that one.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] while no reply is waiting; [`Error::AddrInUse`]
    /// if the stack's ICMP socket cannot be bound.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::Ping};
    ///
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let mut p = Ping::new(net.stack(a));
    /// for seq in 1..=3 {
    ///     p.send(net.stack(a), host_ip(b).address(), seq, &[0; 56])?;
    /// }
    /// net.run_for(Duration::from_millis(10));
    /// let mut seqs = Vec::new();
    /// while let Ok((_, seq, _)) = p.recv(net.stack(a)) {
    ///     seqs.push(seq);
    /// }
    /// assert_eq!(seqs, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Two pings on one stack, to the same host with the same sequence
    /// numbers: each gets the replies to its own requests, whichever reads
    /// first:
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, socket::Ping};
    ///
    /// let (mut net, a, b) = SimNet::pair(4)?;
    /// let to = host_ip(b).address();
    /// let (mut one, mut two) = (Ping::new(net.stack(a)), Ping::new(net.stack(a)));
    /// one.send(net.stack(a), to, 1, b"one")?;
    /// two.send(net.stack(a), to, 1, b"two!")?;
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(two.recv(net.stack(a))?, (to.into(), 1, 4));
    /// assert_eq!(one.recv(net.stack(a))?, (to.into(), 1, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv(&mut self, stack: &mut Stack<'_>) -> Result<(IpAddress, u16, usize), Error> {
        if let Some(r) = stack.take_echo(|wire| self.claims(wire).is_some()) {
            let seq = r.seq.wrapping_sub(self.shift);
            return Ok((r.from, seq, usize::from(r.len)));
        }
        loop {
            let (socket, ident) = stack.icmp_socket(self.ident).ok_or(Error::AddrInUse)?;
            let Ok((data, from)) = socket.recv() else {
                return Err(Error::WouldBlock);
            };
            let Some((id, wire, len)) = echo_reply(data, from) else {
                continue;
            };
            if id != ident {
                continue;
            }
            if let Some(seq) = self.claims(wire) {
                return Ok((from, seq, len));
            }
            // Another ping's (or nobody's: the stash lets those go in turn).
            let len = u16::try_from(len).unwrap_or(u16::MAX);
            stack.stash_echo(crate::net::EchoReply {
                from,
                seq: wire,
                len,
            });
        }
    }
}

/// An echo reply's identifier, sequence number and payload length; `None`
/// for any other message.
fn echo_reply(data: &[u8], from: IpAddress) -> Option<(u16, u16, usize)> {
    // The gate has checked every checksum on the way in.
    let caps = smoltcp::phy::ChecksumCapabilities::ignored();
    match from {
        IpAddress::Ipv4(_) => {
            let packet = Icmpv4Packet::new_checked(data).ok()?;
            match Icmpv4Repr::parse(&packet, &caps) {
                Ok(Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                }) => Some((ident, seq_no, data.len())),
                _ => None,
            }
        }
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(src) => {
            let packet = Icmpv6Packet::new_checked(data).ok()?;
            // The destination only enters the checksum, not checked here.
            let dst = smoltcp::wire::Ipv6Address::UNSPECIFIED;
            match Icmpv6Repr::parse(&src, &dst, &packet, &caps) {
                Ok(Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                }) => Some((ident, seq_no, data.len())),
                _ => None,
            }
        }
    }
}
