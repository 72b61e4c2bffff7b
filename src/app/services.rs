//! The one table of the classic services: each one's name, port and
//! transport. The command line, the trace decoder, the demo and the
//! firmware read it instead of keeping lists of their own.
//!
//! Layer: app. Depends on [`super::ports`] only; no std, no alloc.
//!
//! How a service is built differs by host (a boxed server sized for a
//! PC, a static one for a board), so the table carries no constructor:
//! each host matches on [`Kind`] once, and the compiler points at every
//! such match when a kind is added. Adding a service touches its module,
//! [`super::ports`], this table, and those matches.

use super::ports;

/// Which classic service an [`Entry`] describes: the key a host's
/// constructors match on.
///
/// # Example
///
/// ```
/// use layernet::app::services::{self, Kind};
/// let kinds: Vec<Kind> = services::ALL.iter().map(|e| e.kind).collect();
/// assert_eq!(kinds, [Kind::Echo, Kind::Greeting, Kind::TimeEcho, Kind::Chat, Kind::Files, Kind::Iperf3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// TCP echo ([`super::echo`]).
    Echo,
    /// TCP greeting ([`super::greeting`]).
    Greeting,
    /// TCP time-stamped echo ([`super::time_echo`]).
    TimeEcho,
    /// UDP chat room ([`super::chat`]).
    Chat,
    /// HTTP file service ([`super::files`]).
    Files,
    /// iperf3 server ([`super::iperf3`]).
    Iperf3,
}

/// The transport a service listens on.
///
/// # Example
///
/// ```
/// use layernet::app::services::{Kind, Transport};
/// assert_eq!(Kind::Chat.entry().transport, Transport::Udp);
/// assert_eq!(Kind::Files.entry().transport, Transport::Tcp);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A TCP listener: it takes sockets from the stack's TCP pool.
    Tcp,
    /// A UDP socket.
    Udp,
}

/// One classic service: what the command line calls it (and prints in
/// `listening on ADDR:PORT (NAME)`), what the trace decoder labels its
/// packets with, and where it listens.
///
/// # Example
///
/// ```
/// use layernet::app::services::{Kind, by_name};
/// let entry = by_name("time-echo").ok_or("no such service")?;
/// assert_eq!((entry.kind, entry.port), (Kind::TimeEcho, 21566));
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The key a host's constructors match on.
    pub kind: Kind,
    /// The name, the same everywhere: command line, log lines, traces.
    pub name: &'static str,
    /// The port it listens on.
    pub port: u16,
    /// TCP or UDP.
    pub transport: Transport,
}

/// Every classic service, in the order a board and the demo start them
/// (and print their `listening on` lines).
///
/// # Example
///
/// ```
/// use layernet::app::services::ALL;
/// let names: Vec<&str> = ALL.iter().map(|e| e.name).collect();
/// assert_eq!(names, ["echo", "greeting", "time-echo", "chat", "files", "iperf3"]);
/// ```
pub const ALL: [Entry; 6] = [
    Entry {
        kind: Kind::Echo,
        name: "echo",
        port: ports::ECHO,
        transport: Transport::Tcp,
    },
    Entry {
        kind: Kind::Greeting,
        name: "greeting",
        port: ports::GREETING,
        transport: Transport::Tcp,
    },
    Entry {
        kind: Kind::TimeEcho,
        name: "time-echo",
        port: ports::TIME_ECHO,
        transport: Transport::Tcp,
    },
    Entry {
        kind: Kind::Chat,
        name: "chat",
        port: ports::CHAT,
        transport: Transport::Udp,
    },
    Entry {
        kind: Kind::Files,
        name: "files",
        port: ports::FILES,
        transport: Transport::Tcp,
    },
    Entry {
        kind: Kind::Iperf3,
        name: "iperf3",
        port: ports::IPERF3,
        transport: Transport::Tcp,
    },
];

impl Kind {
    /// This kind's row of [`ALL`].
    ///
    /// # Example
    ///
    /// ```
    /// use layernet::app::services::Kind;
    /// // A board prints its own lines from the row of each service it runs.
    /// let echo = Kind::Echo.entry();
    /// assert_eq!(format!("listening on 192.168.69.1:{} ({})", echo.port, echo.name),
    ///            "listening on 192.168.69.1:7 (echo)");
    /// ```
    pub const fn entry(self) -> &'static Entry {
        // `ALL` lists the kinds in declaration order (a unit test checks).
        &ALL[self as usize]
    }
}

/// The service named `name`, as the command line spells it.
///
/// # Example
///
/// ```
/// use layernet::app::services::{Kind, by_name};
/// assert_eq!(by_name("chat").map(|e| e.kind), Some(Kind::Chat));
/// assert_eq!(by_name("telnet"), None);
/// ```
pub fn by_name(name: &str) -> Option<&'static Entry> {
    ALL.iter().find(|e| e.name == name)
}

/// The service on `port`, whatever the transport: the trace decoder
/// labels both directions of a conversation by it.
///
/// # Example
///
/// ```
/// use layernet::app::{ports, services::by_port};
/// assert_eq!(by_port(ports::FILES).map(|e| e.name), Some("files"));
/// assert_eq!(by_port(80), None);
/// ```
pub fn by_port(port: u16) -> Option<&'static Entry> {
    ALL.iter().find(|e| e.port == port)
}

#[cfg(test)]
mod tests {
    use super::{ALL, Kind};

    #[test]
    fn every_kind_finds_its_own_row() {
        for kind in [
            Kind::Echo,
            Kind::Greeting,
            Kind::TimeEcho,
            Kind::Chat,
            Kind::Files,
            Kind::Iperf3,
        ] {
            assert_eq!(kind.entry().kind, kind);
        }
    }

    #[test]
    fn names_and_ports_are_unique() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert!(a.name != b.name && a.port != b.port, "{a:?} / {b:?}");
            }
        }
    }
}
