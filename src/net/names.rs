//! DHCPv4 and DNS, both opt-in: a stack built on resources with
//! [`NAME_SOCKETS`](super::NAME_SOCKETS) spare socket slots (the `Host` and `BoardNames`
//! profiles) can take its address from DHCP ([`Stack::start_dhcp`]) and
//! resolve names ([`Stack::start_dns`]); the `Tiny` and `Board` profiles
//! have no spare slot and stay the size they were.
//!
//! Layer: net. Depends on smoltcp's DHCPv4 and DNS sockets and `wire`
//! types and on the stack's own book-keeping; nothing above it.
//!
//! smoltcp's DHCP socket reports a changed configuration, not a renewal
//! that changed nothing; the stack notices the server's ACK on the way in
//! (its frames pass the gate anyway) so that a renewal is reported too.

use smoltcp::socket::{dhcpv4, dns};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, DhcpMessageType, DhcpPacket, DhcpRepr, DnsQueryType,
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpCidr,
};

use super::frame::{Frame, L4, Net};
use super::{Duration, Ipv4Address, Ipv4Cidr, Link, Stack};

/// DNS queries one stack can have under way at once.
///
/// ```
/// use layernet::net::{DNS_QUERIES, DnsStorage};
/// assert!(DNS_QUERIES >= 1);
/// assert!(size_of::<DnsStorage>() < DNS_QUERIES * 512);
/// ```
pub const DNS_QUERIES: usize = 2;

/// The DNS socket's query table, lent by the caller to
/// [`Stack::start_dns`] (each query keeps its name, up to 255 bytes).
///
/// ```
/// use layernet::net::DnsStorage;
/// static QUERIES: std::sync::Mutex<DnsStorage> = std::sync::Mutex::new(DnsStorage::new());
/// assert!(QUERIES.lock().is_ok());
/// ```
pub struct DnsStorage {
    queries: [Option<dns::DnsQuery>; DNS_QUERIES],
}

impl DnsStorage {
    /// An empty table; `const`, so it can live in a `static`.
    ///
    /// ```
    /// use layernet::net::DnsStorage;
    /// let table = DnsStorage::default();
    /// assert_eq!(size_of_val(&table), size_of::<DnsStorage>());
    /// ```
    pub const fn new() -> Self {
        DnsStorage {
            queries: [const { None }; DNS_QUERIES],
        }
    }
}

impl Default for DnsStorage {
    fn default() -> Self {
        Self::new()
    }
}

/// What a DHCP server gave the stack.
///
/// ```
/// use layernet::net::Lease;
/// use layernet::{Ipv4Address, Ipv4Cidr};
/// let lease = Lease {
///     address: Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 55), 24),
///     router: None,
///     server: Ipv4Address::new(192, 168, 69, 100),
///     dns: Some(Ipv4Address::new(192, 168, 69, 100)),
///     ntp: None,
/// };
/// assert!(lease.address.contains_addr(&lease.server));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The address and prefix, now the stack's.
    pub address: Ipv4Cidr,
    /// The default route, if the server named one.
    pub router: Option<Ipv4Address>,
    /// The DHCP server that granted it.
    pub server: Ipv4Address,
    /// The first DNS server it named.
    pub dns: Option<Ipv4Address>,
    /// The first NTP server it named (option 42), which the host's SNTP
    /// client asks when it was given none of its own.
    pub ntp: Option<Ipv4Address>,
}

/// A change of the stack's DHCP lease, from [`Stack::take_dhcp_event`].
///
/// ```
/// use layernet::net::DhcpEvent;
/// let lost = DhcpEvent::Lost;
/// assert!(matches!(lost, DhcpEvent::Lost));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpEvent {
    /// A new lease (or a changed one): the stack has this address now.
    Bound(Lease),
    /// The server extended the lease; nothing else changed.
    Renewed(Lease),
    /// The lease expired (or the server refused it): the stack has no
    /// address and looks for a server again.
    Lost,
}

/// Why a DHCP or DNS request could not be made, or a name not resolved.
///
/// ```
/// use layernet::net::NameError;
/// assert!(NameError::NoSlot.to_string().contains("NAME_SOCKETS"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The resources have no spare socket slot (see [`NAME_SOCKETS`](super::NAME_SOCKETS)).
    NoSlot,
    /// [`Stack::start_dns`] was not called.
    NoResolver,
    /// No DNS server is known yet (none configured, no lease naming one).
    NoServer,
    /// Not a valid host name.
    BadName,
    /// Every query slot is taken ([`DNS_QUERIES`]).
    Busy,
    /// The server answered with no address, or did not answer.
    Failed,
}

impl core::fmt::Display for NameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            NameError::NoSlot => "no spare socket slot (the resources need NAME_SOCKETS more)",
            NameError::NoResolver => "the stack has no DNS resolver",
            NameError::NoServer => "no DNS server is known (give --dns, or use DHCP)",
            NameError::BadName => "not a valid host name",
            NameError::Busy => "too many DNS queries under way",
            NameError::Failed => "the name did not resolve",
        })
    }
}

impl core::error::Error for NameError {}

/// A DNS query under way, from [`Stack::resolve`].
///
/// A whole lookup, against a DNS server made of one UDP socket that
/// answers every question with its own address:
///
/// ```
/// use layernet::host::sim::SimNet;
/// use layernet::{Duration, socket::UdpSocket};
/// let (mut net, a, b) = SimNet::pair(8)?;
/// let server = net.stack(b).ipv4_addr();
/// let mut dns = UdpSocket::bind(net.stack(b), 53)?;
/// net.stack(a).start_dns(Box::leak(Box::default()), Some(server))?;
/// let query = net.stack(a).resolve("fileserver.lan")?;
/// net.run_for(Duration::from_millis(20));
/// let mut msg = [0u8; 512];
/// let (n, from) = dns.recv_from(net.stack(b), &mut msg)?;
/// msg[2..4].copy_from_slice(&[0x81, 0x80]); // a response, no error
/// msg[7] = 1; // one answer: A, IN, TTL 60, 4 bytes, pointing at the question's name
/// let answer = [&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4][..], &server.octets()].concat();
/// msg[n..n + 16].copy_from_slice(&answer);
/// dns.send_to(net.stack(b), &msg[..n + 16], from)?;
/// net.run_for(Duration::from_millis(20));
/// assert_eq!(net.stack(a).resolved(query)?, Some(server.into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct Query(dns::QueryHandle);

impl core::fmt::Debug for Query {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Query")
    }
}

/// Most lease changes kept until [`Stack::take_dhcp_event`] takes them;
/// older ones make way.
pub(crate) const DHCP_EVENTS: usize = 4;

/// The stack's DHCP and DNS state.
#[derive(Default)]
pub(crate) struct Names {
    /// Socket slots left for DHCP and DNS.
    pub(crate) spare: usize,
    dhcp: Option<smoltcp::iface::SocketHandle>,
    dns: Option<smoltcp::iface::SocketHandle>,
    lease: Option<Lease>,
    /// A DNS server given by the caller wins over the lease's.
    pinned_server: Option<Ipv4Address>,
    /// A DHCP ACK came in during this poll.
    ack_seen: bool,
    /// The NTP server (option 42) of the last ACK seen: smoltcp's event
    /// does not carry it, and keeping smoltcp's copy of the packet would
    /// take a packet-sized buffer.
    ack_ntp: Option<Ipv4Address>,
    events: heapless::Deque<DhcpEvent, DHCP_EVENTS>,
}

impl Names {
    pub(crate) fn new(spare: usize) -> Self {
        Names {
            spare,
            ..Names::default()
        }
    }

    /// DHCP's frames must reach smoltcp before the stack has the address
    /// they are sent to.
    pub(crate) fn dhcp_active(&self) -> bool {
        self.dhcp.is_some()
    }

    pub(crate) fn dns_active(&self) -> bool {
        self.dns.is_some()
    }

    fn push(&mut self, event: DhcpEvent) {
        if self.events.is_full() {
            self.events.pop_front();
        }
        let _ = self.events.push_back(event);
    }

    /// Remember a DHCP ACK in `frame`, if it is one. Inlined: it runs for
    /// every received frame, and without DHCP it is one test.
    #[inline]
    pub(crate) fn see(&mut self, frame: Option<&Frame<'_>>) {
        if self.dhcp.is_some()
            && let Some(ntp) = frame.and_then(dhcp_ack)
        {
            self.ack_seen = true;
            self.ack_ntp = ntp;
        }
    }
}

/// The options smoltcp's client asks a server for: subnet mask, router,
/// DNS server (smoltcp's own list), and the NTP server (42).
const DHCP_PARAMETERS: [u8; 4] = [1, 3, 6, 42];

/// A DHCP ACK for a client (Ethernet, IPv4, UDP to port 68): `Some`, with
/// the first NTP server it names, if any.
fn dhcp_ack(frame: &Frame<'_>) -> Option<Option<Ipv4Address>> {
    if !is_dhcp_ack(frame) {
        return None;
    }
    let Net::Ipv4(Some(ip)) = &frame.net else {
        return None;
    };
    let L4::Udp(Some(udp)) = &ip.l4 else {
        return None;
    };
    let dhcp = DhcpPacket::new_checked(udp.payload()).ok()?;
    let ntp = dhcp
        .options()
        .find(|o| o.kind == 42)
        .and_then(|o| Some(Ipv4Address::from_octets(o.data.get(..4)?.try_into().ok()?)));
    Some(ntp)
}

/// A DHCP ACK for a client: Ethernet, IPv4, UDP to port 68.
fn is_dhcp_ack(frame: &Frame<'_>) -> bool {
    let Net::Ipv4(Some(ip)) = &frame.net else {
        return false;
    };
    let L4::Udp(Some(udp)) = &ip.l4 else {
        return false;
    };
    if udp.dst_port() != 68 {
        return false;
    }
    let Ok(dhcp) = DhcpPacket::new_checked(udp.payload()) else {
        return false;
    };
    DhcpRepr::parse(&dhcp).is_ok_and(|r| r.message_type == DhcpMessageType::Ack)
}

impl<'a> Stack<'a> {
    /// Take the IPv4 address from DHCP: the stack drops its configured
    /// address now and, once a server grants a lease, takes its address,
    /// prefix, default route and DNS server ([`DhcpEvent::Bound`]). Leases
    /// longer than `max_lease` are treated as `max_lease` long (renewal at
    /// half of it), which shows renewals and expiry sooner.
    ///
    /// # Errors
    ///
    /// [`NameError::NoSlot`] if the resources have no spare socket slot
    /// (the `Tiny` and `Board` profiles have none).
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::{Duration, Ipv4Address};
    /// let (mut net, a, _) = SimNet::pair(2)?;
    /// net.stack(a).start_dhcp(None)?;
    /// assert_eq!(net.stack(a).ipv4_addr(), Ipv4Address::UNSPECIFIED);
    /// net.run_for(Duration::from_secs(3)); // nobody answers the DISCOVER
    /// assert_eq!((net.stack(a).lease(), net.stack(a).take_dhcp_event()), (None, None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_dhcp(&mut self, max_lease: Option<Duration>) -> Result<(), NameError> {
        if self.names.dhcp.is_some() {
            return Ok(());
        }
        if self.names.spare == 0 {
            return Err(NameError::NoSlot);
        }
        let mut socket = dhcpv4::Socket::new();
        socket.set_max_lease_duration(max_lease);
        socket.set_parameter_request_list(&DHCP_PARAMETERS);
        if let Some(max) = max_lease {
            // smoltcp retries an unanswered renewal after a minute at the
            // earliest; a short lease must be retried within its life.
            let mut retry = dhcpv4::RetryConfig::default();
            retry.min_renew_timeout = retry.min_renew_timeout.min(max / 4);
            socket.set_retry_config(retry);
        }
        self.names.spare -= 1;
        self.names.dhcp = Some(self.sockets.add(socket));
        self.apply_lease(None);
        Ok(())
    }

    /// The current DHCP lease, if the stack has one.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(a).lease(), None, "a static address");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lease(&self) -> Option<Lease> {
        self.names.lease
    }

    /// The oldest lease change not yet taken.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, _, b) = SimNet::pair(1)?;
    /// net.stack(b).start_dhcp(None)?;
    /// assert!(net.stack(b).take_dhcp_event().is_none(), "no server yet");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_dhcp_event(&mut self) -> Option<DhcpEvent> {
        self.names.events.pop_front()
    }

    /// Let the stack resolve names with the queries in `storage`, asking
    /// `server`, or, without one, the DNS server of the DHCP lease.
    ///
    /// # Errors
    ///
    /// [`NameError::NoSlot`] if the resources have no spare socket slot.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::net::{DnsStorage, NameError};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// net.stack(a).start_dns(Box::leak(Box::default()), None)?;
    /// let asked = net.stack(a).resolve("fileserver.lan").err();
    /// assert_eq!(asked, Some(NameError::NoServer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_dns(
        &mut self,
        storage: &'a mut DnsStorage,
        server: Option<Ipv4Address>,
    ) -> Result<(), NameError> {
        if self.names.dns.is_some() {
            return Err(NameError::Busy);
        }
        if self.names.spare == 0 {
            return Err(NameError::NoSlot);
        }
        self.names.pinned_server = server;
        let first = server.or(self.names.lease.and_then(|l| l.dns));
        let servers = [IpAddress::Ipv4(first.unwrap_or(Ipv4Address::UNSPECIFIED))];
        let known = if first.is_some() { &servers[..] } else { &[] };
        let socket = dns::Socket::new(known, &mut storage.queries[..]);
        self.names.spare -= 1;
        self.names.dns = Some(self.sockets.add(socket));
        Ok(())
    }

    /// The DNS server the stack asks, if it knows one.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::Ipv4Address;
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let server = Ipv4Address::new(192, 168, 69, 53);
    /// net.stack(a).start_dns(Box::leak(Box::default()), Some(server))?;
    /// assert_eq!(net.stack(a).dns_server(), Some(server));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dns_server(&self) -> Option<Ipv4Address> {
        self.names.dns?;
        self.names
            .pinned_server
            .or(self.names.lease.and_then(|l| l.dns))
    }

    /// Start resolving `name` (an A record); [`Stack::resolved`] tells
    /// when the answer is in.
    ///
    /// # Errors
    ///
    /// [`NameError::NoResolver`] before [`Stack::start_dns`],
    /// [`NameError::NoServer`] with no server known, [`NameError::BadName`],
    /// [`NameError::Busy`] with [`DNS_QUERIES`] queries under way.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::net::NameError;
    /// use layernet::Ipv4Address;
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(a).resolve("x.lan").err(), Some(NameError::NoResolver));
    /// let nobody = Ipv4Address::new(192, 168, 69, 99);
    /// net.stack(a).start_dns(Box::leak(Box::default()), Some(nobody))?;
    /// assert_eq!(net.stack(a).resolve("").err(), Some(NameError::BadName));
    /// let query = net.stack(a).resolve("x.lan")?;
    /// assert_eq!(net.stack(a).resolved(query), Ok(None), "under way");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(&mut self, name: &str) -> Result<Query, NameError> {
        self.query(name, DnsQueryType::A)
    }

    /// Start resolving `name` to an IPv6 address (an AAAA record), as
    /// [`Stack::resolve`] does for IPv4; a dual-stack client asks this when
    /// the name has no A record.
    ///
    /// # Errors
    ///
    /// As [`Stack::resolve`].
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, b) = SimNet::pair(0)?;
    /// let server = net.stack(b).ipv4_addr();
    /// net.stack(a).start_dns(Box::leak(Box::default()), Some(server))?;
    /// let query = net.stack(a).resolve_ipv6("six.lan")?;
    /// assert_eq!(net.stack(a).resolved(query), Ok(None), "under way");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "ipv6")]
    pub fn resolve_ipv6(&mut self, name: &str) -> Result<Query, NameError> {
        self.query(name, DnsQueryType::Aaaa)
    }

    fn query(&mut self, name: &str, kind: DnsQueryType) -> Result<Query, NameError> {
        let handle = self.names.dns.ok_or(NameError::NoResolver)?;
        if self.dns_server().is_none() {
            return Err(NameError::NoServer);
        }
        if name.is_empty() {
            return Err(NameError::BadName);
        }
        let socket = self.sockets.get_mut::<dns::Socket>(handle);
        match socket.start_query(self.iface.context(), name, kind) {
            Ok(q) => Ok(Query(q)),
            Err(dns::StartQueryError::NoFreeSlot) => Err(NameError::Busy),
            Err(_) => Err(NameError::BadName),
        }
    }

    /// The answer to `query`: `Ok(None)` while it is under way. Once it
    /// returned an answer or an error, the query is finished and its slot
    /// free.
    ///
    /// # Errors
    ///
    /// [`NameError::Failed`] when the name has no address or no server
    /// answered; [`NameError::NoResolver`] without a resolver.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::{Duration, Ipv4Address, net::NameError};
    /// let (mut net, a, b) = SimNet::pair(5)?;
    /// let silent = net.stack(b).ipv4_addr(); // no DNS server there
    /// net.stack(a).start_dns(Box::leak(Box::default()), Some(silent))?;
    /// let query = net.stack(a).resolve("fileserver.lan")?;
    /// net.run_for(Duration::from_secs(15));
    /// assert_eq!(net.stack(a).resolved(query), Err(NameError::Failed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolved(&mut self, query: Query) -> Result<Option<IpAddress>, NameError> {
        let handle = self.names.dns.ok_or(NameError::NoResolver)?;
        let socket = self.sockets.get_mut::<dns::Socket>(handle);
        match socket.get_query_result(query.0) {
            Ok(addresses) => addresses.first().map(|a| Some(*a)).ok_or(NameError::Failed),
            Err(dns::GetQueryResultError::Pending) => Ok(None),
            Err(dns::GetQueryResultError::Failed) => Err(NameError::Failed),
        }
    }

    /// After smoltcp ran: take the DHCP socket's news and apply it.
    pub(crate) fn dhcp_after_poll<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut super::observe::Lent<'_, '_>,
    ) {
        let Some(handle) = self.names.dhcp else {
            return;
        };
        let ack = core::mem::take(&mut self.names.ack_seen);
        let news = match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll() {
            None => None,
            Some(dhcpv4::Event::Deconfigured) => Some(None),
            Some(dhcpv4::Event::Configured(c)) => Some(Some(Lease {
                address: c.address,
                router: c.router,
                server: c.server.address,
                dns: c.dns_servers.first().copied(),
                ntp: self.names.ack_ntp,
            })),
        };
        let before = self.names.lease;
        match news {
            None if ack => {
                if let Some(lease) = before {
                    self.lease_changed(DhcpEvent::Renewed(lease), observer);
                }
            }
            Some(None) if before.is_some() => {
                self.apply_lease(None);
                self.lease_changed(DhcpEvent::Lost, observer);
            }
            None | Some(None) => {}
            Some(Some(lease)) => {
                let event = if before.is_some_and(|b| b.address == lease.address) {
                    DhcpEvent::Renewed(lease)
                } else {
                    DhcpEvent::Bound(lease)
                };
                self.apply_lease(Some(lease));
                if matches!(event, DhcpEvent::Bound(_)) {
                    self.announce(device, observer, lease);
                }
                self.lease_changed(event, observer);
            }
        }
    }

    /// Queue `event` for [`Stack::take_dhcp_event`] and show it to the
    /// observer.
    fn lease_changed(&mut self, event: DhcpEvent, observer: &mut super::observe::Lent<'_, '_>) {
        self.names.push(event);
        super::observe::tell(observer, self.now, super::Event::Dhcp(event));
    }

    /// Ask for the DHCP server's MAC from the new address. The server
    /// sent its offer to our MAC without asking ARP, so the first packet it
    /// sends to the new address finds no ARP entry on our side, and
    /// smoltcp drops a reply (an echo reply, a SYN-ACK) it cannot address
    /// yet; the request also tells the server's neighbours who we are now.
    fn announce<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut super::observe::Lent<'_, '_>,
        lease: Lease,
    ) {
        let arp = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: self.mac(),
            source_protocol_addr: lease.address.address(),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: lease.server,
        };
        let eth = EthernetRepr {
            src_addr: self.mac(),
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EthernetProtocol::Arp,
        };
        self.send_own(
            device,
            observer,
            eth.buffer_len() + arp.buffer_len(),
            |buf| {
                let mut frame = EthernetFrame::new_unchecked(buf);
                eth.emit(&mut frame);
                arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
            },
        );
    }

    /// Make `lease` the interface's address, route and DNS server (`None`:
    /// no address at all).
    fn apply_lease(&mut self, lease: Option<Lease>) {
        self.names.lease = lease;
        // smoltcp resets a socket whose address went at its next egress,
        // at this instant too: the walk after it must run.
        self.walked_now = false;
        let cidr = lease.map_or(Ipv4Cidr::new(Ipv4Address::UNSPECIFIED, 0), |l| l.address);
        self.iface.update_ip_addrs(|addrs| {
            // The IPv6 addresses are not DHCP's to take away.
            addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
            if lease.is_some() {
                let _ = addrs.insert(0, IpCidr::Ipv4(cidr));
            }
        });
        super::stack::no_mld(&mut self.iface);
        let routes = self.iface.routes_mut();
        routes.remove_default_ipv4_route();
        if let Some(router) = lease.and_then(|l| l.router) {
            let _ = routes.add_default_ipv4_route(router);
        }
        self.cidr = cidr;
        if let (Some(handle), None) = (self.names.dns, self.names.pinned_server) {
            let socket = self.sockets.get_mut::<dns::Socket>(handle);
            match lease.and_then(|l| l.dns) {
                Some(server) => socket.update_servers(&[IpAddress::Ipv4(server)]),
                None => socket.update_servers(&[]),
            }
        }
    }
}
