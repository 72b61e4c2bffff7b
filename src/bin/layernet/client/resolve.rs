//! A client's target: the server as given on the command line (an
//! address or a name, and a port), its DHCP lease first, and a name
//! looked up through the stack's resolver or over mDNS.
//!
//! Layer: host (std), in the binary. Uses the blocking host and the mDNS
//! lookup of the library.

use layernet::app::mdns::wire::Name;
use layernet::app::mdns::{MDNS_GROUP, MDNS_PORT, address_in, one_shot_query};
use layernet::app::ports;
use layernet::host::blocking::Net;
use layernet::host::tap_net::TapNet;
use layernet::net::NameError;
use layernet::socket::UdpSocket;
use layernet::{Duration, IpAddress, IpEndpoint, Ipv4Address, Ipv6Address};

use crate::args::{Global, IpMode};
use crate::net::dhcp_line;

use super::WAIT;

/// A server as given on the command line: an IPv4 address or a host
/// name, and a port.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) host: String,
    pub(super) port: u16,
}

/// Letters, digits and hyphens in dot-separated labels (RFC 1123), and
/// not all digits: `300.1.1.1` is a bad address, not a name.
pub(crate) fn is_host_name(s: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    s.len() <= 253
        && s.split('.').all(label_ok)
        && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// `HOST[:PORT]`: HOST an IPv4 address, an IPv6 address (in brackets when
/// a port follows, as in URLs: `[fd00::1]:7`), or a host name.
pub(super) fn endpoint(s: &str, default_port: u16) -> Result<Target, String> {
    let bad_port = || format!("bad port in {s:?}");
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{s:?}: no closing ']' after the IPv6 address"))?;
        let port = match after {
            "" => default_port,
            _ => after
                .strip_prefix(':')
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(bad_port)?,
        };
        if host.parse::<Ipv6Address>().is_err() {
            return Err(format!("{host:?} is not an IPv6 address"));
        }
        (host, port)
    } else if s.parse::<Ipv6Address>().is_ok() {
        // A bare IPv6 address: its colons are not a port separator.
        (s, default_port)
    } else {
        let (host, port) = match s.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad_port())?),
            None => (s, default_port),
        };
        if host.parse::<Ipv4Address>().is_err() && !is_host_name(host) {
            return Err(format!("{host:?} is neither an IP address nor a host name"));
        }
        (host, port)
    };
    if port == 0 {
        return Err(bad_port());
    }
    Ok(Target {
        host: host.to_string(),
        port,
    })
}

/// `[http://|https://]HOST[:PORT][/NAME]`.
pub(super) fn url(s: &str) -> Result<(Target, Option<String>), String> {
    let (s, port) = match s.strip_prefix("https://") {
        Some(rest) => (rest, ports::FILES_TLS),
        None => (s.strip_prefix("http://").unwrap_or(s), ports::FILES),
    };
    let (server, name) = match s.split_once('/') {
        Some((server, name)) if !name.is_empty() => (server, Some(name.to_string())),
        Some((server, _)) => (server, None),
        None => (s, None),
    };
    Ok((endpoint(server, port)?, name))
}

/// The address of `host`: itself if it is one, else from `--host`, else
/// from DNS (waiting for a DHCP lease first if the server comes from it).
pub(super) fn lookup(net: &Net<TapNet>, global: &Global, host: &str) -> Result<IpAddress, String> {
    if let Ok(ip) = host.parse::<IpAddress>() {
        return Ok(ip);
    }
    let wanted = host.to_ascii_lowercase();
    if let Some((_, ip)) = global.hosts.iter().find(|(name, _)| *name == wanted) {
        return Ok(*ip);
    }
    if let Some(local) = mdns_name(host) {
        return net.with(|t| mdns_lookup(t, host, &local));
    }
    net.with(|t| {
        let deadline = t.now() + WAIT;
        let query = loop {
            match t.stack().resolve(host) {
                // The server may come with the lease still on its way.
                Err(NameError::NoServer) if global.ip == IpMode::Dhcp && t.now() < deadline => {
                    t.run_once(deadline);
                }
                Err(e) => return Err(format!("{host}: {e}")),
                Ok(q) => break q,
            }
        };
        // A first, then AAAA, as a dual-stack getaddrinfo() would.
        let mut query = query;
        let mut asked_aaaa = false;
        loop {
            match t.stack().resolved(query) {
                Ok(Some(ip)) => return Ok(ip),
                Ok(None) if t.now() < deadline => {
                    t.run_once(deadline);
                }
                Ok(None) => return Err(format!("{host}: no answer from the DNS server")),
                Err(NameError::Failed) if !asked_aaaa => {
                    asked_aaaa = true;
                    query = t
                        .stack()
                        .resolve_ipv6(host)
                        .map_err(|e| format!("{host}: {e}"))?;
                }
                Err(e) => return Err(format!("{host}: {e}")),
            }
        }
    })
}

/// How long a `.local` name is asked for by mDNS, and how often.
const MDNS_WAIT: Duration = Duration::from_secs(3);

const MDNS_RETRY: Duration = Duration::from_secs(1);

/// `host` as an mDNS name, if it is one (it ends with `.local`).
fn mdns_name(host: &str) -> Option<Name> {
    let lower = host.trim_end_matches('.').to_ascii_lowercase();
    lower
        .ends_with(".local")
        .then(|| Name::from_parts(&[&lower]))
        .flatten()
}

/// The address of `name` by mDNS: a one-shot query to 224.0.0.251:5353
/// from an ephemeral port, once a second for [`MDNS_WAIT`]; the
/// responder answers by unicast (RFC 6762 5.1, 6.7).
fn mdns_lookup(t: &mut TapNet, host: &str, name: &Name) -> Result<IpAddress, String> {
    let mut socket = UdpSocket::bind(t.stack(), 0).map_err(|e| format!("{host}: {e}"))?;
    let id = t.stack().random_below(0x1_0000) as u16;
    let mut query = [0u8; 300];
    let n = one_shot_query(&mut query, id, name).map_err(|_| format!("{host}: name too long"))?;
    let group = IpEndpoint::new(IpAddress::Ipv4(MDNS_GROUP), MDNS_PORT);
    let deadline = t.now() + MDNS_WAIT;
    let mut next = t.now();
    let mut found = None;
    while found.is_none() && t.now() < deadline && t.failure().is_none() {
        if t.now() >= next {
            let _ = socket.send_to(t.stack(), &query[..n], group);
            next = t.now() + MDNS_RETRY;
        }
        t.run_once(next.min(deadline));
        let mut buf = [0u8; 1500];
        while let Ok((len, _)) = socket.recv_from(t.stack(), &mut buf) {
            if let Some(ip) = address_in(&buf[..len], id, name) {
                found = Some(IpAddress::Ipv4(ip));
                break;
            }
        }
    }
    socket.close(t.stack());
    found.ok_or_else(|| {
        format!(
            "{host}: no answer by mDNS in {} s",
            MDNS_WAIT.total_millis() / 1000
        )
    })
}

/// With `--ip dhcp`, wait (a bounded time) for the lease and say what it is.
pub(super) fn wait_for_lease(net: &Net<TapNet>, global: &Global) -> Result<(), String> {
    if global.ip != IpMode::Dhcp {
        return Ok(());
    }
    net.with(|t| {
        let deadline = t.now() + WAIT;
        while t.now() < deadline && t.failure().is_none() {
            while let Some(event) = t.stack().take_dhcp_event() {
                if !global.quiet {
                    eprintln!("{}", dhcp_line(event));
                }
            }
            if t.stack().lease().is_some() {
                return Ok(());
            }
            t.run_once(deadline);
        }
        Err("no DHCP lease (no server answered)".to_string())
    })
}
