//! Which frames a picture (or the trace) shows: by host, port, service,
//! one TCP connection and a range of frame numbers.
//!
//! Layer: host (std). Depends on `decode` and on the services
//! table ([`crate::app::services`]) for service names. `layernet diagram
//! --filter` and `--trace-filter` parse the same text into the same
//! [`Filter`], so a trace and a picture of one exchange agree.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;

use super::decode::{L4, Summary, decode};

/// One TCP connection: by its number in the capture (1 is the first one
/// seen) or by its two ends, in either order.
///
/// ```
/// use layernet::host::diagram::filter::{Connection, Filter};
/// let f: Filter = "conn=10.0.0.1:80-10.0.0.2:5000".parse()?;
/// assert!(matches!(f.connection, Some(Connection::Between(..))));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The Nth TCP connection, counted from 1 in order of first frame.
    Nth(usize),
    /// The connection between these two endpoints.
    Between(SocketAddr, SocketAddr),
}

/// Conditions a frame must meet, all of them.
///
/// ```
/// use layernet::host::diagram::filter::Filter;
/// let f: Filter = "service=greeting,frames=3..40".parse()?;
/// assert_eq!(f.port, Some(1234));
/// assert!("port=http".parse::<Filter>().unwrap_err().contains("port"));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Frames to or from this address (ARP: asking or answering for it).
    pub host: Option<IpAddr>,
    /// TCP or UDP frames from or to this port (`service=` sets it too).
    pub port: Option<u16>,
    /// One TCP connection.
    pub connection: Option<Connection>,
    /// Frame numbers, both ends included (1 is the first frame).
    pub frames: Option<RangeInclusive<u64>>,
}

impl std::str::FromStr for Filter {
    type Err = String;

    /// `host=IP,port=N,service=NAME,conn=N|IP:PORT-IP:PORT,frames=A..B`,
    /// any subset, in any order; `frames=N`, `A..` and `..B` too.
    fn from_str(spec: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!("{part:?}: expected KEY=VALUE (host, port, service, conn, frames)")
            })?;
            match key {
                "host" => {
                    let addr = value.trim_matches(|c| c == '[' || c == ']');
                    f.host =
                        Some(addr.parse().map_err(|_| {
                            format!("host={value}: expected an IPv4 or IPv6 address")
                        })?);
                }
                "port" => {
                    f.port = Some(value.parse().map_err(|_| {
                        format!("port={value}: expected a port number from 0 to 65535")
                    })?);
                }
                "service" => {
                    let entry = crate::app::services::by_name(value).ok_or_else(|| {
                        let names: Vec<&str> =
                            crate::app::services::ALL.iter().map(|e| e.name).collect();
                        format!("service={value}: unknown; one of {}", names.join(", "))
                    })?;
                    f.port = Some(entry.port);
                }
                "conn" => f.connection = Some(parse_connection(value)?),
                "frames" => f.frames = Some(parse_frames(value)?),
                _ => {
                    return Err(format!(
                        "unknown filter {key:?}: use host, port, service, conn, frames"
                    ));
                }
            }
        }
        Ok(f)
    }
}

fn parse_connection(value: &str) -> Result<Connection, String> {
    if let Ok(n) = value.parse::<usize>() {
        return match n {
            0 => Err("conn=0: connections are counted from 1".into()),
            n => Ok(Connection::Nth(n)),
        };
    }
    // `-` cannot occur in an address or a port, so it splits the ends.
    let bad = || format!("conn={value}: expected a number or IP:PORT-IP:PORT");
    let (a, b) = value.split_once('-').ok_or_else(bad)?;
    let a = a.parse::<SocketAddr>().map_err(|_| bad())?;
    let b = b.parse::<SocketAddr>().map_err(|_| bad())?;
    Ok(Connection::Between(a, b))
}

fn parse_frames(value: &str) -> Result<RangeInclusive<u64>, String> {
    let bad = || format!("frames={value}: expected N, A..B, A.. or ..B (frame numbers from 1)");
    let number = |s: &str, default: u64| -> Result<u64, String> {
        if s.is_empty() {
            Ok(default)
        } else {
            s.parse::<u64>().map_err(|_| bad())
        }
    };
    let range = match value.split_once("..") {
        Some((a, b)) => number(a, 1)?..=number(b.trim_start_matches('='), u64::MAX)?,
        None => {
            let n = number(value, 0)?;
            n..=n
        }
    };
    if range.is_empty() || *range.start() == 0 {
        return Err(bad());
    }
    Ok(range)
}

/// A filter applied to frames one after another: it numbers the TCP
/// connections as they appear, so `conn=N` works on a live trace as on a
/// file.
///
/// ```
/// use layernet::host::diagram::filter::Matcher;
/// let mut m = Matcher::new("conn=1".parse()?);
/// assert!(!m.matches(1, &[0; 60]), "not TCP");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    filter: Filter,
    connections: Vec<(SocketAddr, SocketAddr)>,
}

impl Matcher {
    /// Start matching with `filter`.
    ///
    /// ```
    /// use layernet::host::diagram::filter::Matcher;
    /// let mut everything = Matcher::new(Default::default());
    /// assert!(everything.matches(1, &[]));
    /// ```
    pub fn new(filter: Filter) -> Self {
        Matcher {
            filter,
            connections: Vec::new(),
        }
    }

    /// Whether frame `number` with bytes `frame` passes. Call it for every
    /// frame in order, passing or not, so connections are counted alike.
    ///
    /// ```
    /// use layernet::host::diagram::filter::Matcher;
    /// let mut m = Matcher::new("frames=2..3".parse()?);
    /// let passed: Vec<bool> = (1..=4).map(|n| m.matches(n, &[0; 60])).collect();
    /// assert_eq!(passed, [false, true, true, false]);
    /// # Ok::<(), String>(())
    /// ```
    pub fn matches(&mut self, number: u64, frame: &[u8]) -> bool {
        let summary = decode(frame);
        self.matches_summary(number, &summary)
    }

    /// As [`Matcher::matches`], for a frame already decoded.
    pub(crate) fn matches_summary(&mut self, number: u64, summary: &Summary) -> bool {
        // Count the connection first, whatever the other conditions say.
        let tcp_ends = match summary {
            Summary::Ip {
                src,
                dst,
                l4: L4::Tcp(s),
            } => {
                let ends = ordered(
                    SocketAddr::new(*src, s.sport),
                    SocketAddr::new(*dst, s.dport),
                );
                let index = match self.connections.iter().position(|c| *c == ends) {
                    Some(i) => i,
                    None => {
                        self.connections.push(ends);
                        self.connections.len() - 1
                    }
                };
                Some((ends, index + 1))
            }
            _ => None,
        };
        let f = &self.filter;
        if let Some(range) = &f.frames
            && !range.contains(&number)
        {
            return false;
        }
        if let Some(host) = f.host {
            let involved = match summary {
                Summary::Arp { sender, target, .. } => *sender == host || *target == host,
                Summary::Ip { src, dst, .. } => *src == host || *dst == host,
                Summary::Other(_) => false,
            };
            if !involved {
                return false;
            }
        }
        if let Some(port) = f.port {
            let ports = match summary {
                Summary::Ip { l4: L4::Tcp(s), .. } => Some((s.sport, s.dport)),
                Summary::Ip {
                    l4: L4::Udp { sport, dport, .. },
                    ..
                } => Some((*sport, *dport)),
                _ => None,
            };
            if !ports.is_some_and(|(a, b)| a == port || b == port) {
                return false;
            }
        }
        match (&f.connection, tcp_ends) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(Connection::Nth(n)), Some((_, index))) => *n == index,
            (Some(Connection::Between(a, b)), Some((ends, _))) => ordered(*a, *b) == ends,
        }
    }
}

impl Matcher {
    /// Whether an event about the connection between `a` and `b` (a
    /// listener has no `b`) passes, after frame `last` was seen: the
    /// address, port and connection conditions apply to its ends, the
    /// frame range to the frame before it.
    ///
    /// ```
    /// use layernet::host::diagram::filter::Matcher;
    /// let m = Matcher::new("port=7".parse()?);
    /// let a = "192.168.69.1:7".parse().map_err(|_| "addr")?;
    /// let b = "192.168.69.2:50000".parse().map_err(|_| "addr")?;
    /// assert!(m.passes_ends(1, a, Some(b)));
    /// assert!(!m.passes_ends(1, b, None));
    /// # Ok::<(), String>(())
    /// ```
    pub fn passes_ends(&self, last: u64, a: SocketAddr, b: Option<SocketAddr>) -> bool {
        let f = &self.filter;
        let ends = [Some(a), b];
        let ends = ends.iter().flatten();
        if f.frames.as_ref().is_some_and(|r| !r.contains(&last)) {
            return false;
        }
        if let Some(host) = f.host
            && !ends.clone().any(|e| e.ip() == host)
        {
            return false;
        }
        if let Some(port) = f.port
            && !ends.clone().any(|e| e.port() == port)
        {
            return false;
        }
        match (&f.connection, b) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(Connection::Nth(n)), Some(b)) => {
                self.connections.get(n - 1) == Some(&ordered(a, b))
            }
            (Some(Connection::Between(x, y)), Some(b)) => ordered(*x, *y) == ordered(a, b),
        }
    }
}

/// The two ends of a connection in one order, whichever sent the frame.
fn ordered(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}
