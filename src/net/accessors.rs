//! The stack's small accessors: its clock, addresses, MAC, counters, the
//! multicast groups it joins and its random numbers.
//!
//! Layer: net. Depends on smoltcp.

use super::*;

impl<'a> Stack<'a> {
    /// The time of the last [`Stack::poll`].
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// net.run_for(Duration::from_millis(250));
    /// assert_eq!(net.stack(a).now().total_millis(), 250);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The stack's IPv4 address (without the prefix).
    ///
    /// ```
    /// use layernet::{Ipv4Address, host::sim::SimNet};
    /// let (mut net, _, second) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(second).ipv4_addr(), Ipv4Address::new(192, 168, 69, 2));
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn ipv4_addr(&self) -> Ipv4Address {
        self.cidr.address()
    }

    /// The stack's IPv6 addresses: the link-local one first, then the
    /// static one and any SLAAC has configured, as they stand now (SLAAC
    /// adds and removes them as router advertisements come and expire).
    ///
    /// ```
    /// use layernet::{Ipv6Address, host::sim::SimNet};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let ll: Vec<Ipv6Address> = net.stack(a).ipv6_addrs().map(|c| c.address()).collect();
    /// // From MAC 02:00:00:00:00:01, its universal/local bit flipped (EUI-64).
    /// assert_eq!(ll, ["fe80::ff:fe00:1".parse::<Ipv6Address>()?]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "ipv6")]
    pub fn ipv6_addrs(&self) -> impl Iterator<Item = Ipv6Cidr> + '_ {
        self.iface.ip_addrs().iter().filter_map(|a| match a {
            IpCidr::Ipv6(c) => Some(*c),
            #[allow(unreachable_patterns)]
            _ => None,
        })
    }

    /// Our IPv6 unicast addresses for the gate, in a fixed array.
    #[cfg(feature = "ipv6")]
    pub(super) fn v6_for_gate(&self) -> [Option<Ipv6Address>; MAX_V6_ADDRS] {
        let mut out = [None; MAX_V6_ADDRS];
        for (slot, cidr) in out.iter_mut().zip(self.ipv6_addrs()) {
            *slot = Some(cidr.address());
        }
        out
    }

    /// Join the IPv4 multicast `group`, so that datagrams sent to it reach
    /// this stack's UDP sockets (the gate admits any multicast destination
    /// for a bound port; smoltcp takes only the groups joined). smoltcp
    /// sends the IGMPv2 membership report at the next poll.
    ///
    /// # Errors
    ///
    /// [`JoinError::NotMulticast`] for an address outside 224.0.0.0/4,
    /// [`JoinError::TableFull`] when the interface holds as many groups as
    /// it can (smoltcp's `iface-max-multicast-group-count`, 4 by default).
    ///
    /// ```
    /// use layernet::{Ipv4Address, host::sim::SimNet, net::JoinError};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// net.stack(a).join_multicast_group(Ipv4Address::new(224, 0, 0, 251))?;
    /// let unicast = net.stack(a).join_multicast_group(Ipv4Address::new(192, 168, 69, 9));
    /// assert_eq!(unicast, Err(JoinError::NotMulticast));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "mdns")]
    pub fn join_multicast_group(&mut self, group: Ipv4Address) -> Result<(), JoinError> {
        if !group.is_multicast() {
            return Err(JoinError::NotMulticast);
        }
        self.iface
            .join_multicast_group(group)
            .map_err(|_| JoinError::TableFull)
    }

    /// A random number from the stack's generator (seeded by
    /// [`Config::seed`]): deterministic in the simulation, as everything
    /// else there. Services draw their random delays from it.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let (x, y) = (net.stack(a).random_below(250), net.stack(a).random_below(250));
    /// assert!(x < 250 && y < 250);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn random_below(&mut self, bound: u64) -> u64 {
        self.rng.below(bound.max(1))
    }

    /// The stack's hardware address.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, host_mac};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(a).mac(), host_mac(a));
    /// assert_eq!(net.stack(a).mac().to_string(), "02-00-00-00-00-01");
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn mac(&self) -> EthernetAddress {
        match self.iface.hardware_addr() {
            HardwareAddress::Ethernet(mac) => mac,
        }
    }

    /// What the stack counted.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::TcpListener};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let _ftp = TcpListener::bind(net.stack(a), 21, 3)?;
    /// assert_eq!(net.stack(a).counters().slots_armed, 3, "three sockets in LISTEN");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The address smoltcp sends from to `dst`.
    #[cfg(feature = "ipv6")]
    pub(crate) fn ipv6_source_for(&self, dst: &Ipv6Address) -> Ipv6Address {
        self.iface.get_source_address_ipv6(dst)
    }
}
