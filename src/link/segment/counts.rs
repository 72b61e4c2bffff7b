//! What the segment counted: the fate of the frames ([`Stats`]) and what
//! they were, by protocol ([`Census`]).
//!
//! Layer: link. Depends on smoltcp's `wire` (to classify frames) and the
//! fault wrapper's counts; nothing above.

use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet,
    IpProtocol, Ipv4Packet, TcpPacket, UdpPacket,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, Ipv6Packet};

use crate::link::faults::FaultStats;

/// What became of the frames the stations sent.
/// [`Segment::stats`](super::Segment::stats) counts what the switch did
/// (offered, delivered, oversize, overflow, unknown destination) and leaves the fault counts at 0: those are the fault
/// wrappers', which [`Stats::with_faults`] adds in and
/// [`SimNet::stats`](crate::host::sim::SimNet::stats) sums over the hosts.
///
/// # Example
///
/// On a perfect wire between two stations every frame arrives once:
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{Duration, socket::TcpStream};
///
/// let (mut net, _server, client) = SimNet::pair(5)?;
/// let _refused = TcpStream::connect(net.stack(client), endpoint(0, 80))?;
/// net.run_for(Duration::from_millis(10));
/// let s = net.stats();
/// assert_eq!((s.offered, s.delivered, s.dropped), (4, 4, 0)); // ARP x2, SYN, RST
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames stations sent (with faults: before they were rolled for).
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Frames placed in a receiving port's queue (a broadcast counts once per port).
    pub delivered: u64,
    /// Frames lost to the drop rate.
    pub dropped: u64,
    /// Frames with a bit flipped (or, for ARP, dropped as an FCS error).
    pub corrupted: u64,
    /// Frames delivered twice.
    pub duplicated: u64,
    /// Frames held back for reordering.
    pub reordered: u64,
    /// Frames larger than the MTU, dropped.
    pub oversize: u64,
    /// Frames dropped because the receiving port's queue (or a fault
    /// wrapper's hold queue) was full.
    pub overflow: u64,
    /// Unicast frames for a MAC no port has.
    pub unknown_destination: u64,
}

impl Stats {
    /// These switch counts with a fault wrapper's added: its losses,
    /// corruptions, duplicates and reorderings, and the frames it took in
    /// place of the copies it handed on, so that `offered` counts what the
    /// stations sent.
    ///
    /// ```
    /// use layernet::link::{faults::FaultStats, segment::Stats};
    /// let switch = Stats { offered: 3, delivered: 3, ..Stats::default() };
    /// let faults = FaultStats { offered: 4, dropped: 1, delivered: 3, ..FaultStats::default() };
    /// let s = switch.with_faults(&faults);
    /// assert_eq!((s.offered, s.dropped, s.delivered), (4, 1, 3));
    /// ```
    pub fn with_faults(&self, faults: &FaultStats) -> Stats {
        Stats {
            offered: (self.offered + faults.offered).saturating_sub(faults.delivered),
            dropped: self.dropped + faults.dropped,
            corrupted: self.corrupted + faults.corrupted,
            duplicated: self.duplicated + faults.duplicated,
            reordered: self.reordered + faults.reordered,
            oversize: self.oversize + faults.oversize,
            overflow: self.overflow + faults.overflow,
            ..*self
        }
    }

    /// The counts accumulated since `earlier` was taken (each count
    /// saturates at 0 should `earlier` be the later one).
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet, socket::Ping};
    ///
    /// let (mut net, a, b) = SimNet::pair(6)?;
    /// let before = net.segment().stats();
    /// let to = net.stack(b).ipv4_addr();
    /// Ping::new(net.stack(a)).send(net.stack(a), to, 1, b"ping")?;
    /// net.run_for(Duration::from_millis(10));
    /// let ping = net.segment().stats().since(&before);
    /// assert_eq!(ping.delivered, 4, "ARP request and reply, echo request and reply");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn since(&self, earlier: &Stats) -> Stats {
        Stats {
            offered: self.offered.saturating_sub(earlier.offered),
            offered_bytes: self.offered_bytes.saturating_sub(earlier.offered_bytes),
            delivered: self.delivered.saturating_sub(earlier.delivered),
            dropped: self.dropped.saturating_sub(earlier.dropped),
            corrupted: self.corrupted.saturating_sub(earlier.corrupted),
            duplicated: self.duplicated.saturating_sub(earlier.duplicated),
            reordered: self.reordered.saturating_sub(earlier.reordered),
            oversize: self.oversize.saturating_sub(earlier.oversize),
            overflow: self.overflow.saturating_sub(earlier.overflow),
            unknown_destination: self
                .unknown_destination
                .saturating_sub(earlier.unknown_destination),
        }
    }
}

/// The frames the segment switched, classified by protocol: what the wire
/// carried. A frame its sender's fault wrapper dropped never reached the
/// wire and is not among them (before the faults moved into the wrapper,
/// the census counted it); a duplicated one counts twice.
///
/// # Example
///
/// A ping on the wire, as a capture would show it:
///
/// ```
/// use layernet::{Duration, host::sim::*, socket::Ping};
///
/// let (mut net, a, b) = SimNet::pair(7)?;
/// let mut ping = Ping::new(net.stack(a));
/// ping.send(net.stack(a), host_ip(b).address(), 1, &[0; 32])?;
/// net.run_for(Duration::from_millis(10));
/// let c = net.segment().census();
/// assert_eq!((c.arp_requests, c.arp_replies), (1, 1));
/// assert_eq!((c.icmp_echo_requests, c.icmp_echo_replies, c.tcp_segments), (1, 1, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// ARP who-has.
    pub arp_requests: u64,
    /// ARP is-at.
    pub arp_replies: u64,
    /// ICMP echo requests.
    pub icmp_echo_requests: u64,
    /// ICMP echo replies.
    pub icmp_echo_replies: u64,
    /// All TCP segments.
    pub tcp_segments: u64,
    /// SYN without ACK (connection requests).
    pub tcp_syn: u64,
    /// SYN with ACK.
    pub tcp_syn_ack: u64,
    /// Segments carrying FIN.
    pub tcp_fin: u64,
    /// Segments carrying RST.
    pub tcp_rst: u64,
    /// TCP payload bytes (retransmissions included).
    pub tcp_payload_bytes: u64,
    /// UDP datagrams.
    pub udp_datagrams: u64,
    /// UDP payload bytes.
    pub udp_payload_bytes: u64,
    /// Neighbour solicitations (IPv6's who-has).
    #[cfg(feature = "ipv6")]
    pub nd_solicits: u64,
    /// Neighbour advertisements (IPv6's is-at).
    #[cfg(feature = "ipv6")]
    pub nd_adverts: u64,
    /// Frames none of the above (or not parseable).
    pub other: u64,
}

impl Census {
    /// The counts accumulated since `earlier` was taken (each count
    /// saturates at 0 should `earlier` be the later one).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, srv, cli) = SimNet::pair(2)?;
    /// let _listener = TcpListener::bind(net.stack(srv), 7, 1)?;
    /// let start = net.segment().census();
    /// let _conn = TcpStream::connect(net.stack(cli), endpoint(srv, 7))?;
    /// net.run_for(Duration::from_millis(10));
    /// let handshake = net.segment().census().since(&start);
    /// assert_eq!((handshake.tcp_syn, handshake.tcp_syn_ack, handshake.tcp_segments), (1, 1, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn since(&self, earlier: &Census) -> Census {
        Census {
            arp_requests: self.arp_requests.saturating_sub(earlier.arp_requests),
            arp_replies: self.arp_replies.saturating_sub(earlier.arp_replies),
            icmp_echo_requests: self
                .icmp_echo_requests
                .saturating_sub(earlier.icmp_echo_requests),
            icmp_echo_replies: self
                .icmp_echo_replies
                .saturating_sub(earlier.icmp_echo_replies),
            tcp_segments: self.tcp_segments.saturating_sub(earlier.tcp_segments),
            tcp_syn: self.tcp_syn.saturating_sub(earlier.tcp_syn),
            tcp_syn_ack: self.tcp_syn_ack.saturating_sub(earlier.tcp_syn_ack),
            tcp_fin: self.tcp_fin.saturating_sub(earlier.tcp_fin),
            tcp_rst: self.tcp_rst.saturating_sub(earlier.tcp_rst),
            tcp_payload_bytes: self
                .tcp_payload_bytes
                .saturating_sub(earlier.tcp_payload_bytes),
            udp_datagrams: self.udp_datagrams.saturating_sub(earlier.udp_datagrams),
            udp_payload_bytes: self
                .udp_payload_bytes
                .saturating_sub(earlier.udp_payload_bytes),
            #[cfg(feature = "ipv6")]
            nd_solicits: self.nd_solicits.saturating_sub(earlier.nd_solicits),
            #[cfg(feature = "ipv6")]
            nd_adverts: self.nd_adverts.saturating_sub(earlier.nd_adverts),
            other: self.other.saturating_sub(earlier.other),
        }
    }

    pub(super) fn count(&mut self, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            self.other += 1;
            return;
        };
        match eth.ethertype() {
            EthernetProtocol::Arp => match ArpPacket::new_checked(eth.payload()) {
                Ok(arp) if arp.operation() == ArpOperation::Request => self.arp_requests += 1,
                Ok(arp) if arp.operation() == ArpOperation::Reply => self.arp_replies += 1,
                _ => self.other += 1,
            },
            EthernetProtocol::Ipv4 => match Ipv4Packet::new_checked(eth.payload()) {
                Ok(ip) => self.count_ip(ip.next_header(), ip.payload()),
                Err(_) => self.other += 1,
            },
            #[cfg(feature = "ipv6")]
            EthernetProtocol::Ipv6 => match Ipv6Packet::new_checked(eth.payload()) {
                Ok(ip) => self.count_ip(ip.next_header(), ip.payload()),
                Err(_) => self.other += 1,
            },
            _ => self.other += 1,
        }
    }

    fn count_ip(&mut self, protocol: IpProtocol, payload: &[u8]) {
        match protocol {
            #[cfg(feature = "ipv6")]
            IpProtocol::Icmpv6 => match Icmpv6Packet::new_checked(payload).map(|p| p.msg_type()) {
                Ok(Icmpv6Message::EchoRequest) => self.icmp_echo_requests += 1,
                Ok(Icmpv6Message::EchoReply) => self.icmp_echo_replies += 1,
                Ok(Icmpv6Message::NeighborSolicit) => self.nd_solicits += 1,
                Ok(Icmpv6Message::NeighborAdvert) => self.nd_adverts += 1,
                _ => self.other += 1,
            },
            IpProtocol::Icmp => match Icmpv4Packet::new_checked(payload) {
                Ok(icmp) if icmp.msg_type() == Icmpv4Message::EchoRequest => {
                    self.icmp_echo_requests += 1
                }
                Ok(icmp) if icmp.msg_type() == Icmpv4Message::EchoReply => {
                    self.icmp_echo_replies += 1
                }
                _ => self.other += 1,
            },
            IpProtocol::Tcp => match TcpPacket::new_checked(payload) {
                Ok(tcp) => {
                    self.tcp_segments += 1;
                    match (tcp.syn(), tcp.ack()) {
                        (true, false) => self.tcp_syn += 1,
                        (true, true) => self.tcp_syn_ack += 1,
                        _ => {}
                    }
                    self.tcp_fin += u64::from(tcp.fin());
                    self.tcp_rst += u64::from(tcp.rst());
                    self.tcp_payload_bytes += tcp.payload().len() as u64;
                }
                Err(_) => self.other += 1,
            },
            IpProtocol::Udp => match UdpPacket::new_checked(payload) {
                Ok(udp) => {
                    self.udp_datagrams += 1;
                    self.udp_payload_bytes += udp.payload().len() as u64;
                }
                Err(_) => self.other += 1,
            },
            _ => self.other += 1,
        }
    }
}
