//! The stack's construction: the interface, the socket set and the pool
//! tables built on the caller's resources, and the solicited-node joins
//! undone. The poll is in `poll.rs`, the small accessors in `accessors.rs`.
//!
//! Layer: net. Depends on smoltcp and on [`crate::link`] (the device the
//! stack is built on).

use super::*;

impl<'a> Stack<'a> {
    /// Build a stack on `device` with `config`, using the caller's `resources`
    /// for every socket. `now` is the current time on the caller's clock.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MacNotUnicast`] for a multicast or broadcast MAC,
    /// [`ConfigError::BadAddress`] for an unspecified, multicast or
    /// broadcast IPv4 address (the network's broadcast address included),
    /// [`ConfigError::GatewayUnreachable`] for a gateway outside the network.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::net::{Config, ConfigError, Stack, profile};
    /// use layernet::{EthernetAddress, Instant, link::segment::*};
    ///
    /// let wire = RefCell::new(StdSegment::new());
    /// let group = EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]);
    /// let mut port = StdPort::new(&wire, 0, group).ok_or("port")?;
    /// let mut space = profile::Tiny::new();
    /// let config = Config { mac: group, ..Config::default() };
    /// let built = Stack::new(config, &mut port, &mut space, Instant::ZERO);
    /// assert_eq!(built.err(), Some(ConfigError::MacNotUnicast));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn new<D: Link, const S: usize, const T: usize, const U: usize, const B: usize>(
        config: Config,
        device: &mut D,
        resources: &'a mut Resources<'a, S, T, U, B>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        Stack::with_memory(config, device, resources.memory(), now)
    }

    /// [`Stack::new`] on memory lent as slices, sized at run time.
    ///
    /// # Errors
    ///
    /// As [`Stack::new`].
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::net::{Config, Stack, profile};
    /// use layernet::{Instant, link::segment::*};
    ///
    /// let wire = RefCell::new(StdSegment::new());
    /// let mut port = StdPort::new(&wire, 0, Config::default().mac).ok_or("port")?;
    /// let mut space = profile::Tiny::new();
    /// let stack = Stack::with_memory(Config::default(), &mut port, space.memory(), Instant::ZERO)?;
    /// assert_eq!(stack.free_tcp_sockets(), 9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_memory<D: Link>(
        config: Config,
        device: &mut D,
        memory: Memory<'a>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        if !config.mac.is_unicast() {
            return Err(ConfigError::MacNotUnicast);
        }
        let ip = config.ip.address();
        if ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_broadcast()
            || Some(ip) == config.ip.broadcast()
        {
            return Err(ConfigError::BadAddress);
        }
        if let Some(gw) = config.gateway
            && !config.ip.contains_addr(&gw)
        {
            return Err(ConfigError::GatewayUnreachable);
        }

        #[cfg(feature = "ipv6")]
        if let Some(ip6) = config.ip6 {
            let a = ip6.address();
            if a.is_unspecified() || a.is_loopback() || a.is_multicast() || ip6.prefix_len() > 128 {
                return Err(ConfigError::BadIpv6Address);
            }
        }

        let mut iface_config = iface::Config::new(HardwareAddress::Ethernet(config.mac));
        #[cfg(feature = "ipv6")]
        {
            iface_config.slaac = config.slaac;
        }
        // smoltcp derives its TCP initial sequence numbers from this seed; left
        // at 0 every boot would reuse the same ISNs.
        iface_config.random_seed = config.seed;
        let fills_tcp = watch::STACK_FILLS_TCP && device.capabilities().checksum.tcp.tx();
        let mut iface = Interface::new(iface_config, &mut watch::GateChecked(device), now);
        iface.update_ip_addrs(|addrs| {
            // Capacity is at least one address; the push cannot fail on an empty list.
            let _ = addrs.push(IpCidr::Ipv4(config.ip));
            // The ipv6 feature makes room for four: these two fit.
            #[cfg(feature = "ipv6")]
            {
                let _ = addrs.push(IpCidr::Ipv6(link_local(config.mac)));
                if let Some(ip6) = config.ip6 {
                    let _ = addrs.push(IpCidr::Ipv6(ip6));
                }
            }
        });
        no_mld(&mut iface);
        if let Some(gw) = config.gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }

        let Memory {
            sockets,
            spare,
            tcp: tcp_entries,
            tcp_buffers,
            udp: udp_entries,
            udp_buffers,
            udp_meta,
            icmp,
        } = memory;
        #[cfg(feature = "names")]
        let name_sockets = sockets.len() - tcp_entries.len() - udp_entries.len() - 1;
        // A slot still holding a socket would leave the set short of room
        // (its `add` panics when full): the set starts empty.
        for slot in sockets.iter_mut() {
            *slot = SocketStorage::EMPTY;
        }
        let mut set = SocketSet::new(ManagedSlice::Borrowed(sockets));
        let each = tcp_buffers.len() / tcp_entries.len() / 2;
        for (buffers, entry) in tcp_buffers
            .chunks_exact_mut(2 * each)
            .zip(tcp_entries.iter_mut())
        {
            let (rx, tx) = buffers.split_at_mut(each);
            let socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
            *entry = TcpEntry {
                handle: Some(set.add(socket)),
                ..TcpEntry::EMPTY
            };
        }
        // The UDP sockets are made when first bound (`take_udp`), from
        // this storage: until then their slots in the set stay free, as
        // the ICMP socket's does (see `Stack::icmp`).
        let udp_store = super::UdpStore {
            each: udp_buffers
                .len()
                .checked_div(udp_entries.len() * 2)
                .unwrap_or(0),
            bytes: udp_buffers,
            meta: udp_meta,
        };
        for entry in udp_entries.iter_mut() {
            *entry = UdpEntry::EMPTY;
        }
        // Its slot in the set stays free until the first ping makes it.
        let icmp = super::Icmp::Unmade(icmp);

        let mut listeners = heapless::Vec::new();
        for _ in 0..MAX_LISTENERS {
            let _ = listeners.push(None);
        }
        let spare_room = spare.len();
        for slot in spare.iter_mut() {
            *slot = SocketStorage::EMPTY;
        }
        let mut stack = Stack {
            iface,
            sockets: set,
            spare: SocketSet::new(ManagedSlice::Borrowed(spare)),
            spare_room,
            pool_moved: false,
            walked_now: false,
            walk_next: false,
            park_due: false,
            tcp_live: 0,
            tcp: tcp_entries,
            udp: udp_entries,
            icmp,
            udp_store,
            icmp_ident: None,
            pings_made: 0,
            echo_stash: heapless::Vec::new(),
            listeners,
            listeners_made: 0,
            rng: Rng::new(config.seed ^ 0x6c61_7965_726e_6574),
            counters: Counters::default(),
            seen: super::seen::Seen::default(),
            fills_tcp,
            now,
            cidr: config.ip,
            apps: heapless::Vec::new(),
            #[cfg(feature = "names")]
            names: names::Names::new(name_sockets),
        };
        stack.park_idle(false);
        Ok(stack)
    }
}

/// Undo the solicited-node joins smoltcp makes on every change of the
/// addresses once its `multicast` feature is on (for mDNS): each would send
/// an MLD report, frames this stack never sent before (tests and the
/// demo's captures count them), and each takes one of the group table's
/// few slots that mDNS needs. A join not yet reported is dropped silently.
/// smoltcp still takes what is sent to those groups: it accepts a
/// solicited-node address of its own whether or not it joined it.
#[cfg(all(feature = "mdns", feature = "ipv6"))]
pub(super) fn no_mld(iface: &mut Interface) {
    let groups: heapless::Vec<smoltcp::wire::Ipv6Address, 8> = iface
        .ip_addrs()
        .iter()
        .filter_map(|c| match c {
            IpCidr::Ipv6(c) => {
                // ff02::1:ff00:0/104 and the address's last 24 bits (RFC 4291 2.7.1).
                let o = c.address().octets();
                Some(smoltcp::wire::Ipv6Address::new(
                    0xff02,
                    0,
                    0,
                    0,
                    0,
                    1,
                    0xff00 | u16::from(o[13]),
                    u16::from_be_bytes([o[14], o[15]]),
                ))
            }
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .collect();
    for group in groups {
        let _ = iface.leave_multicast_group(group);
    }
}

/// Without both features smoltcp joins nothing.
#[cfg(not(all(feature = "mdns", feature = "ipv6")))]
pub(super) fn no_mld(_: &mut Interface) {}
