//! How a stack presents itself: its addresses, and the checks `Stack::new`
//! makes of them.
//!
//! Layer: net. Depends on smoltcp's `wire` types only.

use super::*;

/// The default MAC address, as in smoltcp's examples.
///
/// ```
/// use layernet::net::{Config, DEFAULT_MAC};
/// assert!(DEFAULT_MAC.is_unicast() && DEFAULT_MAC.is_local());
/// assert_eq!(Config::default().mac, DEFAULT_MAC);
/// ```
pub const DEFAULT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
/// The default address of the stack, as in smoltcp's examples; also
/// simulated host 0's.
///
/// ```
/// use layernet::{host::sim::SimNet, net::DEFAULT_IP};
/// let (mut net, first, _) = SimNet::pair(0)?;
/// assert_eq!(net.stack(first).ipv4_addr(), DEFAULT_IP.address());
/// assert_eq!(DEFAULT_IP.prefix_len(), 24);
/// # Ok::<(), layernet::net::ConfigError>(())
/// ```
pub const DEFAULT_IP: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 1), 24);

/// IPv6 addresses an interface can hold with the `ipv6` feature (smoltcp's
/// `iface-max-addr-count-4`), the IPv4 one included.
#[cfg(feature = "ipv6")]
pub(crate) const MAX_V6_ADDRS: usize = 3;

/// The link-local address derived from `mac` (RFC 4291 appendix A:
/// EUI-64 with the universal/local bit flipped), as Linux derives its own
/// by default.
///
/// ```
/// use layernet::{EthernetAddress, net::link_local};
/// let ll = link_local(EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
/// assert_eq!(ll.to_string(), "fe80::5054:ff:fe12:3456/64");
/// ```
#[cfg(feature = "ipv6")]
pub fn link_local(mac: EthernetAddress) -> Ipv6Cidr {
    let m = mac.0;
    let word = |a: u8, b: u8| u16::from_be_bytes([a, b]);
    let address = Ipv6Address::new(
        0xfe80,
        0,
        0,
        0,
        word(m[0] ^ 0x02, m[1]),
        word(m[2], 0xff),
        word(0xfe, m[3]),
        word(m[4], m[5]),
    );
    Ipv6Cidr::new(address, 64)
}

/// How a stack presents itself on the link.
///
/// # Example
///
/// A host on another network, with a default route:
///
/// ```
/// use layernet::net::{Config, profile};
/// use layernet::{EthernetAddress, Ipv4Address, Ipv4Cidr, host::sim::SimNet, link::segment::Faults};
///
/// let ip = Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24);
/// let config = Config {
///     gateway: Some(Ipv4Address::new(10, 0, 0, 1)),
///     ..Config::new(EthernetAddress([2, 0, 0, 0, 0, 0x10]), ip)
/// };
/// let mut net = SimNet::new(1, Faults::NONE);
/// let host = net.add_host_with(config, Box::leak(Box::new(profile::Tiny::new())))?;
/// assert_eq!(net.stack(host).ipv4_addr(), Ipv4Address::new(10, 0, 0, 2));
/// # Ok::<(), layernet::net::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Hardware address; must be unicast.
    pub mac: EthernetAddress,
    /// IPv4 address and prefix.
    pub ip: Ipv4Cidr,
    /// Default route, if any.
    pub gateway: Option<Ipv4Address>,
    /// Seeds smoltcp's initial sequence numbers and layernet's ephemeral
    /// ports: a fixed value in the simulation, OS entropy on a real link.
    pub seed: u64,
    /// A static IPv6 address and prefix, beside the link-local address
    /// every stack derives from its MAC.
    #[cfg(feature = "ipv6")]
    pub ip6: Option<Ipv6Cidr>,
    /// Solicit router advertisements and configure an address from each
    /// advertised on-link prefix (SLAAC, RFC 4862), with a default route
    /// through the router.
    #[cfg(feature = "ipv6")]
    pub slaac: bool,
}

impl Config {
    /// A configuration with no gateway and seed 0; `const`, so a board can
    /// keep its configuration in a constant.
    ///
    /// ```
    /// use layernet::net::Config;
    /// use layernet::{EthernetAddress, Ipv4Address, Ipv4Cidr};
    ///
    /// const BOARD: Config = Config::new(
    ///     EthernetAddress([2, 0, 0, 0, 0, 0x42]),
    ///     Ipv4Cidr::new(Ipv4Address::new(172, 16, 0, 9), 16),
    /// );
    /// assert_eq!((BOARD.gateway, BOARD.seed), (None, 0));
    /// ```
    pub const fn new(mac: EthernetAddress, ip: Ipv4Cidr) -> Self {
        Config {
            mac,
            ip,
            gateway: None,
            seed: 0,
            #[cfg(feature = "ipv6")]
            ip6: None,
            #[cfg(feature = "ipv6")]
            slaac: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(DEFAULT_MAC, DEFAULT_IP)
    }
}

/// Why a stack could not be built. Its `Display` says what is required.
///
/// # Example
///
/// ```
/// use layernet::net::{Config, ConfigError, profile};
/// use layernet::{Ipv4Address, host::sim::SimNet, link::segment::Faults};
///
/// let far = Config { gateway: Some(Ipv4Address::new(10, 9, 9, 9)), ..Config::default() };
/// let mut net = SimNet::new(0, Faults::NONE);
/// let refused = net.add_host_with(far, Box::leak(Box::default()) as &mut profile::Tiny);
/// assert_eq!(refused, Err(ConfigError::GatewayUnreachable));
/// assert!(ConfigError::GatewayUnreachable.to_string().contains("inside the stack's own network"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The MAC address is multicast or broadcast.
    MacNotUnicast,
    /// The IPv4 address is unspecified, multicast or broadcast.
    BadAddress,
    /// The gateway is not inside the configured network.
    GatewayUnreachable,
    /// The static IPv6 address is unspecified, loopback or multicast.
    #[cfg(feature = "ipv6")]
    BadIpv6Address,
}

impl ConfigError {
    /// The error's text, as `Display` shows it: a board's firmware can
    /// print it without `core::fmt` (the tiny build links none).
    ///
    /// ```
    /// use layernet::net::ConfigError;
    /// assert_eq!(ConfigError::MacNotUnicast.as_str(), ConfigError::MacNotUnicast.to_string());
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            ConfigError::MacNotUnicast => "the MAC address must be unicast (first octet even)",
            ConfigError::BadAddress => "the IPv4 address must be a unicast host address",
            ConfigError::GatewayUnreachable => {
                "the gateway must lie inside the stack's own network"
            }
            #[cfg(feature = "ipv6")]
            ConfigError::BadIpv6Address => "the IPv6 address must be a unicast address",
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for ConfigError {}

/// Why [`Stack::join_multicast_group`] refused a group.
///
/// ```
/// use layernet::net::JoinError;
/// assert_eq!(JoinError::TableFull.to_string(), "the interface's multicast group table is full");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    /// The address is not an IPv4 multicast address.
    NotMulticast,
    /// smoltcp's group table is full.
    TableFull,
}

impl core::fmt::Display for JoinError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            JoinError::NotMulticast => "the address is not an IPv4 multicast group",
            JoinError::TableFull => "the interface's multicast group table is full",
        })
    }
}

impl core::error::Error for JoinError {}
