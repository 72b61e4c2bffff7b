//! What the stack lets you see: every frame it sends and takes in, the
//! decisions it made between frames ([`Event`]), and counters for each
//! layer ([`Counters`]).
//!
//! Layer: net. Depends on smoltcp's `wire` types and on the one parse of
//! each frame; prints nothing itself (the host's tracer does, through
//! [`Observer`]). Nothing here decides anything: the gate and connection
//! tracking (`track.rs`) decide, and this module only carries what they
//! decided to whoever watches. An [`Observer`] receives, and is lent to
//! one poll at a time ([`Stack::poll_observed`](super::Stack::poll_observed));
//! the stack keeps none.
//!
//! smoltcp 0.14 has no callbacks for state changes, retransmissions or
//! drops, so the events are derived from what can be observed, never
//! guessed from flags alone: a state change or retransmission is what
//! connection tracking saw (see there); an ARP cache fill is an ARP frame
//! aimed at our address from a unicast neighbour on our network (smoltcp
//! fills its cache from exactly those); a drop reason is the gate's own
//! verdict, and the gate drops what it counts.

use smoltcp::time::Instant;
#[cfg(feature = "ipv6")]
use smoltcp::wire::Icmpv6Message;
use smoltcp::wire::{ArpOperation, EthernetAddress, IpEndpoint, IpProtocol, Ipv4Address};

use super::frame::{Frame, L4, Net};

/// The TCP states, as smoltcp names them (`Display` prints RFC 793's
/// names: `SYN-RECEIVED`, `TIME-WAIT`, ...).
pub use smoltcp::socket::tcp::State as TcpState;

/// Which way a frame crossed the device.
///
/// # Example
///
/// ```
/// use layernet::{Instant, net::{Direction, Event, Observer}};
/// #[derive(Default)]
/// struct Frames(u32);
/// impl Observer for Frames {
///     fn frame(&mut self, _: Instant, _: Direction, _: &[u8]) { self.0 += 1 }
///     fn event(&mut self, _: Instant, _: Event) {}
/// }
/// // On a TAP link the one stack reports both ways.
/// let mut both_ways = Frames::default();
/// for way in [Direction::Rx, Direction::Tx] {
///     both_ways.frame(Instant::ZERO, way, &[]);
/// }
/// assert_eq!(both_ways.0, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the link.
    Rx,
    /// Sent to the link.
    Tx,
}

/// Why the stack dropped a received frame before smoltcp saw it.
///
/// # Example
///
/// ```
/// use layernet::host::sim::{SimNet, host_mac};
/// use layernet::{EthernetAddress, Instant};
/// use smoltcp::phy::{Device, TxToken};
/// let (mut net, a, _) = SimNet::pair(1)?;
/// let mut stranger = net.raw_port(2, EthernetAddress([2, 0, 0, 0, 0, 0x42])).ok_or("taken")?;
/// let ethercat = |frame: &mut [u8]| {
///     frame.fill(0);
///     frame[..6].copy_from_slice(&host_mac(a).0);
///     frame[12..14].copy_from_slice(&[0x88, 0xa4]);
/// };
/// stranger.transmit(Instant::ZERO).ok_or("tx")?.consume(60, ethercat);
/// net.poll(a, Instant::ZERO);
/// assert_eq!(net.stack(a).counters().dropped_unsupported, 1, "nobody here speaks EtherCAT");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Too short for its headers, lengths that disagree with the frame,
    /// fields smoltcp's parsers refuse (a TCP option that does not parse,
    /// SYN with FIN or RST, port 0, an ICMP code that does not exist,
    /// neighbour discovery from off the link), or a sender address no
    /// station can have: broadcast, multicast, or this stack's own (a land
    /// attack; an ARP claiming our address).
    Malformed,
    /// An IPv4 header, ICMP, ICMPv6, TCP or UDP checksum does not match.
    BadChecksum,
    /// Addressed to another station or another IP address.
    NotForUs,
    /// An IPv4 fragment or an IPv6 fragment header: this stack does not
    /// reassemble.
    Fragment,
    /// A protocol this stack does not speak (an unknown EtherType or IP
    /// protocol, IPv6 extension headers, ARP for other than Ethernet and
    /// IPv4, ICMP messages other than echo, unreachable and time exceeded,
    /// unknown ICMPv6 messages, ICMPv6 from the unspecified address).
    Unsupported,
    /// A SYN for a listener whose every slot is busy (a full backlog).
    BusyPool,
    /// An RST for a connection whose sequence number is not exactly the
    /// next one expected (RFC 5961 section 3.2: a blind attacker must hit
    /// one number, not a window).
    RstNotExact,
    /// A SYN without ACK for a connection a socket already holds (the
    /// client's retransmission, or a duplicate): that socket would ignore
    /// it, and a socket in LISTEN must not take it.
    SynRepeat,
}

impl DropReason {
    /// A short name for traces and tables.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::{host::recorder::counters_table, net::{Counters, DropReason}};
    /// assert_eq!(DropReason::NotForUs.as_str(), "not for us");
    /// let table = counters_table(&[("h1", Counters::default())]);
    /// assert!(table.contains(&format!("drop: {}", DropReason::BadChecksum.as_str())));
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::BadChecksum => "bad checksum",
            DropReason::NotForUs => "not for us",
            DropReason::Fragment => "fragment",
            DropReason::Unsupported => "unsupported protocol",
            DropReason::BusyPool => "busy pool (backlog full)",
            DropReason::RstNotExact => "RST not exact (RFC 5961)",
            DropReason::SynRepeat => "SYN for a live connection",
        }
    }
}

/// Transport protocol of a [`Event::NoSocket`].
///
/// # Example
///
/// ```
/// use layernet::net::{Event, Transport};
/// use layernet::{IpEndpoint, Ipv4Address, trace::Decoder};
/// let to = IpEndpoint::new(Ipv4Address::new(10, 0, 0, 1).into(), 9);
/// let mut lines = String::new();
/// for transport in [Transport::Tcp, Transport::Udp] {
///     Decoder::new().write_event(&mut lines, format_args!("*"), &Event::NoSocket { transport, to })?;
/// }
/// let answers: Vec<_> = lines.lines().filter_map(|l| l.split("answered with ").nth(1)).collect();
/// assert_eq!(answers, ["RST (unless it was one)", "ICMP port unreachable"]);
/// # Ok::<(), core::fmt::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP: answered with RST (unless the segment was itself an RST).
    Tcp,
    /// UDP: answered with ICMP port unreachable (unless broadcast).
    Udp,
}

/// Something the stack did between frames.
///
/// # Example
///
/// ```
/// use layernet::host::{sim::{SimNet, endpoint}, recorder::Recorder};
/// use layernet::{Duration, socket::UdpSocket, trace::Style};
/// let file = tempfile::NamedTempFile::new()?;
/// let recorder = Recorder::new(Some(Style::Brief), Box::new(file.reopen()?), false).shared();
/// let (mut net, a, b) = SimNet::pair(6)?;
/// net.trace(&recorder, &["a", "b"]);
/// let mut udp = UdpSocket::bind(net.stack(a), 0)?;
/// udp.send_to(net.stack(a), b"anyone?", endpoint(b, 9))?;
/// net.run_for(Duration::from_millis(10));
/// recorder.borrow_mut().finish()?;
/// let text = std::fs::read_to_string(file.path())?;
/// let events: Vec<_> = text.lines().filter(|l| l.starts_with("  * ")).collect();
/// assert!(events[0].contains(" b: arp cache: 192.168.69.1 is at"), "{text}");
/// assert!(events.iter().any(|e| e.contains(" b: no socket for UDP 192.168.69.2:9")), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A TCP socket changed state.
    State {
        /// The socket's local endpoint (for a listener, our address and its port).
        local: IpEndpoint,
        /// The peer, once there is one.
        remote: Option<IpEndpoint>,
        /// The state before.
        from: TcpState,
        /// The state now.
        to: TcpState,
    },
    /// An outgoing TCP segment repeats sequence space already sent.
    Retransmit {
        /// Our endpoint.
        local: IpEndpoint,
        /// The peer's.
        remote: IpEndpoint,
        /// Relative sequence number of the segment's start (0 is the SYN).
        rel_seq: u32,
        /// Sequence space it covers (payload, plus one for SYN or FIN).
        len: u32,
    },
    /// A connection with data waiting sent nothing for
    /// [`STALL_KICK`](super::STALL_KICK) and was nudged.
    StallKick {
        /// Our endpoint.
        local: IpEndpoint,
        /// The peer's.
        remote: IpEndpoint,
        /// Bytes waiting: sent and not acknowledged, or not sent yet.
        queued: usize,
    },
    /// The neighbour cache learned (or refreshed) an address.
    ArpFill {
        /// The neighbour's IPv4 address.
        ip: Ipv4Address,
        /// Its hardware address.
        mac: EthernetAddress,
    },
    /// A received frame was dropped before smoltcp saw it.
    Dropped(DropReason),
    /// The DHCP lease changed (see [`Stack::take_dhcp_event`](super::Stack::take_dhcp_event)).
    #[cfg(feature = "names")]
    Dhcp(super::DhcpEvent),
    /// A segment or datagram for a port with no socket: smoltcp answers it
    /// (RST, ICMP port unreachable) and drops it.
    NoSocket {
        /// TCP or UDP.
        transport: Transport,
        /// The address and port it was sent to.
        to: IpEndpoint,
    },
}

/// Receives what the stack saw; lend one to a poll with
/// [`Stack::poll_observed`](super::Stack::poll_observed) (or to a host's
/// loop: [`run::turn_observed`](crate::run::turn_observed),
/// `SimNet::observe`).
///
/// Both calls happen inside that poll, in order: a received frame, then
/// the events it caused and the frames sent in answer. Events of what the
/// application did between polls (a listen, a connect, a close) come at
/// the start of the next poll. An observer must not block; it runs on the
/// stack's time.
///
/// # Example
///
/// The states a client's socket goes through on connecting:
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::net::{Direction, Event, Observer, TcpState};
/// use layernet::socket::{TcpListener, TcpStream};
/// use layernet::{Duration, Instant};
/// use std::{cell::RefCell, rc::Rc};
/// struct States(Rc<RefCell<Vec<TcpState>>>);
/// impl Observer for States {
///     fn frame(&mut self, _: Instant, _: Direction, _: &[u8]) {}
///     fn event(&mut self, _: Instant, event: Event) {
///         if let Event::State { to, .. } = event {
///             self.0.borrow_mut().push(to);
///         }
///     }
/// }
/// let (mut net, server, client) = SimNet::pair(4)?;
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// net.observe(client, Some(Box::new(States(seen.clone()))));
/// let _listening = TcpListener::bind(net.stack(server), 80, 1)?;
/// let _stream = TcpStream::connect(net.stack(client), endpoint(server, 80))?;
/// net.run_for(Duration::from_millis(20));
/// assert_eq!(*seen.borrow(), [TcpState::SynSent, TcpState::Established]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Observer {
    /// A frame crossed the device (`Rx` before the stack looked at it).
    fn frame(&mut self, now: Instant, direction: Direction, frame: &[u8]);
    /// The stack did something between frames.
    fn event(&mut self, now: Instant, event: Event);
}

/// The observer lent to one poll, if any, as the stack hands it down
/// to the parts that see frames and events.
pub(crate) type Lent<'p, 'o> = Option<&'p mut (dyn Observer + 'o)>;

/// Show `event` to the observer lent to this poll, if any.
#[inline]
pub(crate) fn tell(observer: &mut Lent<'_, '_>, now: Instant, event: Event) {
    if let Some(observer) = observer {
        observer.event(now, event);
    }
}

/// What the stack counted, layer by layer. Every field counts frames (or
/// segments, datagrams) seen at this stack's device.
///
/// # Example
///
/// With a backlog of 1 and nobody accepting, a second client's SYN is
/// dropped by the gate (not reset), and counted:
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{Duration, socket::{TcpListener, TcpStream}};
///
/// let (mut net, srv, first) = SimNet::pair(2)?;
/// let second = net.add_host()?;
/// let _busy = TcpListener::bind(net.stack(srv), 8080, 1)?;
/// let _in = TcpStream::connect(net.stack(first), endpoint(srv, 8080))?;
/// net.run_for(Duration::from_millis(10));
/// let _waits = TcpStream::connect(net.stack(second), endpoint(srv, 8080))?;
/// net.run_for(Duration::from_millis(10));
/// let counted = net.stack(srv).counters();
/// assert_eq!((counted.syn_dropped_busy, counted.tcp_resets_tx), (1, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames received from the device.
    pub frames_rx: u64,
    /// Frames sent to the device.
    pub frames_tx: u64,
    /// Received frames handed to smoltcp (the rest were dropped).
    pub frames_in: u64,
    /// Dropped: malformed.
    pub dropped_malformed: u64,
    /// Dropped: a checksum failed (IPv4 header or ICMP/TCP/UDP).
    pub dropped_bad_checksum: u64,
    /// Dropped: addressed to someone else.
    pub dropped_not_for_us: u64,
    /// Dropped: IPv4 fragments.
    pub dropped_fragment: u64,
    /// Dropped: protocols not spoken here.
    pub dropped_unsupported: u64,
    /// Dropped: SYNs for a listener whose slots were all busy.
    pub syn_dropped_busy: u64,
    /// Dropped: RSTs whose sequence number was in the window but not exact.
    pub dropped_rst_not_exact: u64,
    /// Dropped: SYNs repeated for a connection a socket already holds.
    pub syn_dropped_repeat: u64,
    /// ARP requests received / sent.
    pub arp_requests_rx: u64,
    /// ARP requests sent.
    pub arp_requests_tx: u64,
    /// ARP replies received.
    pub arp_replies_rx: u64,
    /// ARP replies sent.
    pub arp_replies_tx: u64,
    /// IPv4 packets received (admitted or not).
    pub ipv4_rx: u64,
    /// IPv4 packets sent.
    pub ipv4_tx: u64,
    /// IPv4 headers whose checksum failed.
    pub ipv4_bad_checksum: u64,
    /// IPv6 packets received (admitted or not).
    #[cfg(feature = "ipv6")]
    pub ipv6_rx: u64,
    /// IPv6 packets sent.
    #[cfg(feature = "ipv6")]
    pub ipv6_tx: u64,
    /// ICMPv6 messages received, neighbour discovery included.
    #[cfg(feature = "ipv6")]
    pub icmpv6_rx: u64,
    /// ICMPv6 messages sent, neighbour discovery included.
    #[cfg(feature = "ipv6")]
    pub icmpv6_tx: u64,
    /// Neighbour discovery messages (router and neighbour solicitations and
    /// advertisements, redirects) received.
    #[cfg(feature = "ipv6")]
    pub ndp_rx: u64,
    /// Neighbour discovery messages sent.
    #[cfg(feature = "ipv6")]
    pub ndp_tx: u64,
    /// ICMP messages received.
    pub icmp_rx: u64,
    /// ICMP messages sent.
    pub icmp_tx: u64,
    /// TCP segments received.
    pub tcp_rx: u64,
    /// TCP segments sent.
    pub tcp_tx: u64,
    /// TCP segments sent again (see the module doc).
    pub tcp_retransmits: u64,
    /// RSTs received.
    pub tcp_resets_rx: u64,
    /// RSTs sent.
    pub tcp_resets_tx: u64,
    /// TCP segments for a port with no socket.
    pub tcp_no_socket: u64,
    /// UDP datagrams received.
    pub udp_rx: u64,
    /// UDP datagrams sent.
    pub udp_tx: u64,
    /// UDP datagrams for a port with no socket.
    pub udp_no_socket: u64,
    /// Times a pooled socket was put (back) into LISTEN.
    pub slots_armed: u64,
    /// Connections found with data waiting and nothing sent for
    /// [`STALL_KICK`](super::STALL_KICK), and nudged (see there).
    pub tcp_stall_kicks: u64,
}

impl Counters {
    pub(crate) fn dropped(&mut self, reason: DropReason) {
        let field = match reason {
            DropReason::Malformed => &mut self.dropped_malformed,
            DropReason::BadChecksum => &mut self.dropped_bad_checksum,
            DropReason::NotForUs => &mut self.dropped_not_for_us,
            DropReason::Fragment => &mut self.dropped_fragment,
            DropReason::Unsupported => &mut self.dropped_unsupported,
            DropReason::BusyPool => &mut self.syn_dropped_busy,
            DropReason::RstNotExact => &mut self.dropped_rst_not_exact,
            DropReason::SynRepeat => &mut self.syn_dropped_repeat,
        };
        *field += 1;
    }

    /// Frames dropped for any reason.
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::net::Counters;
    /// let seen = Counters { dropped_malformed: 2, syn_dropped_busy: 1, frames_rx: 9, ..Counters::default() };
    /// assert_eq!(seen.dropped_total(), 3, "a SYN refused for a full backlog is a drop too");
    /// ```
    pub fn dropped_total(&self) -> u64 {
        self.dropped_malformed
            + self.dropped_bad_checksum
            + self.dropped_not_for_us
            + self.dropped_fragment
            + self.dropped_unsupported
            + self.syn_dropped_busy
            + self.dropped_rst_not_exact
            + self.syn_dropped_repeat
    }

    /// Every counter with its layer and name (the field's), in the order
    /// of the layers, bottom up: what a live view or a table lists.
    ///
    /// ```
    /// use layernet::net::Counters;
    /// let c = Counters { tcp_rx: 7, ..Counters::default() };
    /// let mut seen = Vec::new();
    /// c.each(&mut |layer, name, value| seen.push((layer, name, value)));
    /// assert!(seen.contains(&("TCP", "tcp_rx", 7)));
    /// assert_eq!(seen[0], ("link", "frames_rx", 0));
    /// ```
    pub fn each(&self, f: &mut dyn FnMut(&'static str, &'static str, u64)) {
        macro_rules! each {
            ($layer:literal: $($field:ident),*) => { $(f($layer, stringify!($field), self.$field);)* };
        }
        each!("link": frames_rx, frames_tx, frames_in);
        each!("drop": dropped_malformed, dropped_bad_checksum, dropped_not_for_us,
            dropped_fragment, dropped_unsupported, syn_dropped_busy, dropped_rst_not_exact,
            syn_dropped_repeat);
        each!("ARP": arp_requests_rx, arp_requests_tx, arp_replies_rx, arp_replies_tx);
        each!("IPv4": ipv4_rx, ipv4_tx, ipv4_bad_checksum);
        #[cfg(feature = "ipv6")]
        each!("IPv6": ipv6_rx, ipv6_tx, icmpv6_rx, icmpv6_tx, ndp_rx, ndp_tx);
        each!("ICMP": icmp_rx, icmp_tx);
        each!("TCP": tcp_rx, tcp_tx, tcp_retransmits, tcp_resets_rx, tcp_resets_tx,
            tcp_no_socket, tcp_stall_kicks, slots_armed);
        each!("UDP": udp_rx, udp_tx, udp_no_socket);
    }

    /// Count one frame by what its headers say it is. Only well-formed
    /// headers count at a layer; the gate has already counted the rest.
    #[inline]
    pub(crate) fn tally(&mut self, direction: Direction, frame: Option<&Frame<'_>>) {
        let rx = direction == Direction::Rx;
        let bump = |rx_field: &mut u64, tx_field: &mut u64| {
            if rx { *rx_field += 1 } else { *tx_field += 1 }
        };
        bump(&mut self.frames_rx, &mut self.frames_tx);
        let Some(frame) = frame else {
            return;
        };
        match &frame.net {
            Net::Arp(Some(arp)) => match arp.operation() {
                ArpOperation::Request => bump(&mut self.arp_requests_rx, &mut self.arp_requests_tx),
                ArpOperation::Reply => bump(&mut self.arp_replies_rx, &mut self.arp_replies_tx),
                ArpOperation::Unknown(_) => {}
            },
            Net::Ipv4(Some(ip)) => {
                bump(&mut self.ipv4_rx, &mut self.ipv4_tx);
                if matches!(ip.l4, L4::Fragment) {
                    return;
                }
                if ip.protocol == IpProtocol::Icmp {
                    bump(&mut self.icmp_rx, &mut self.icmp_tx);
                }
                self.tally_transport(direction, &ip.l4);
            }
            #[cfg(feature = "ipv6")]
            Net::Ipv6(Some(ip)) => {
                bump(&mut self.ipv6_rx, &mut self.ipv6_tx);
                if let L4::Icmpv6(icmp) = &ip.l4 {
                    bump(&mut self.icmpv6_rx, &mut self.icmpv6_tx);
                    let ndp = icmp.as_ref().is_some_and(|icmp| {
                        matches!(
                            icmp.msg_type(),
                            Icmpv6Message::RouterSolicit
                                | Icmpv6Message::RouterAdvert
                                | Icmpv6Message::NeighborSolicit
                                | Icmpv6Message::NeighborAdvert
                                | Icmpv6Message::Redirect
                        )
                    });
                    if ndp {
                        bump(&mut self.ndp_rx, &mut self.ndp_tx);
                    }
                }
                self.tally_transport(direction, &ip.l4);
            }
            _ => {}
        }
    }

    /// The TCP and UDP counters, the same over either IP version.
    #[inline]
    fn tally_transport(&mut self, direction: Direction, l4: &L4<'_>) {
        let rx = direction == Direction::Rx;
        let bump = |rx_field: &mut u64, tx_field: &mut u64| {
            if rx { *rx_field += 1 } else { *tx_field += 1 }
        };
        match l4 {
            L4::Udp(_) => bump(&mut self.udp_rx, &mut self.udp_tx),
            L4::Tcp(tcp) => {
                bump(&mut self.tcp_rx, &mut self.tcp_tx);
                if tcp.as_ref().is_some_and(|tcp| tcp.rst()) {
                    bump(&mut self.tcp_resets_rx, &mut self.tcp_resets_tx);
                }
            }
            _ => {}
        }
    }
}

/// The ARP fill a received frame causes: an ARP request or reply aimed at
/// `ours` from a unicast sender on our network, as smoltcp's own check.
pub(crate) fn arp_fill(
    frame: Option<&Frame<'_>>,
    ours: Ipv4Address,
    same_network: impl Fn(Ipv4Address) -> bool,
) -> Option<Event> {
    let Net::Arp(Some(arp)) = &frame?.net else {
        return None;
    };
    if matches!(arp.operation(), ArpOperation::Unknown(_)) {
        return None;
    }
    let ip = Ipv4Address::from_octets(arp.source_protocol_addr().try_into().ok()?);
    // A hostile frame can claim any hardware length; only six bytes are a MAC.
    let mac = EthernetAddress(arp.source_hardware_addr().try_into().ok()?);
    let target = Ipv4Address::from_octets(arp.target_protocol_addr().try_into().ok()?);
    let unicast = !ip.is_broadcast() && !ip.is_multicast() && !ip.is_unspecified();
    (target == ours && unicast && mac.is_unicast() && same_network(ip))
        .then_some(Event::ArpFill { ip, mac })
}
