//! The SYN gate: what stands between a full backlog and smoltcp's RST.
//!
//! Layer: net. Looks at one received frame with smoltcp's `wire` module and
//! at the pool's state; never changes either.
//!
//! A connection request (SYN without ACK) addressed to this stack is
//! dropped, silently, only when its port has a listener and none of that
//! listener's sockets is in LISTEN and no socket already holds the
//! connection (a retransmitted SYN of a handshake in progress must reach
//! its socket). Everything else passes: a SYN for a port nobody listens on
//! gets smoltcp's RST, as it should, and malformed frames go on to
//! smoltcp, whose own checks drop them.

use smoltcp::iface::SocketSet;
use smoltcp::socket::tcp;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket,
};

use super::{Listener, Owner, TcpEntry};

/// The gate's decision on one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand the frame to smoltcp.
    Admit,
    /// A SYN for a listener whose slots are all busy: drop it, as a full
    /// Linux backlog does, so the client retries later.
    DropBusy,
}

/// The connection request a frame carries, if it is one for `ours`:
/// (source address, source port, destination port).
fn syn_for(frame: &[u8], ours: Ipv4Address) -> Option<(Ipv4Address, u16, u16)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.dst_addr() != ours || ip.next_header() != IpProtocol::Tcp {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    (tcp.syn() && !tcp.ack()).then(|| (ip.src_addr(), tcp.src_port(), tcp.dst_port()))
}

pub(crate) fn admit(
    frame: &[u8],
    ours: Ipv4Address,
    sockets: &SocketSet<'_>,
    pool: &[TcpEntry],
    listeners: &[Option<Listener>],
) -> Verdict {
    let Some((src, src_port, dst_port)) = syn_for(frame, ours) else {
        return Verdict::Admit;
    };
    let Some(n) = listeners
        .iter()
        .position(|l| l.is_some_and(|l| l.port == dst_port))
    else {
        return Verdict::Admit;
    };
    let mut listening = false;
    for entry in pool {
        let socket = sockets.get::<tcp::Socket>(entry.handle());
        if socket.state() == tcp::State::Listen {
            listening |= entry.owner == Owner::Slot(n as u8);
            continue;
        }
        let same = socket.local_endpoint().is_some_and(|l| l.port == dst_port)
            && socket
                .remote_endpoint()
                .is_some_and(|r| r.addr == IpAddress::Ipv4(src) && r.port == src_port);
        if same {
            return Verdict::Admit;
        }
    }
    if listening {
        Verdict::Admit
    } else {
        Verdict::DropBusy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_syn_and_garbage_are_not_connection_requests() {
        let ours = Ipv4Address::new(192, 168, 69, 1);
        assert_eq!(syn_for(&[], ours), None);
        assert_eq!(syn_for(&[0xff; 13], ours), None);
        assert_eq!(syn_for(&[0u8; 60], ours), None);
    }

    #[test]
    fn a_syn_is_recognised() {
        // Ethernet + IPv4 (20) + TCP (20) with SYN, 10.0.0.2:40000 -> ours:7.
        let ours = Ipv4Address::new(192, 168, 69, 1);
        let mut f = [0u8; 54];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        f[23] = 6;
        f[26..30].copy_from_slice(&[10, 0, 0, 2]);
        f[30..34].copy_from_slice(&ours.octets());
        f[34..36].copy_from_slice(&40000u16.to_be_bytes());
        f[36..38].copy_from_slice(&7u16.to_be_bytes());
        f[46] = 0x50;
        f[47] = 0x02;
        assert_eq!(
            syn_for(&f, ours),
            Some((Ipv4Address::new(10, 0, 0, 2), 40000, 7))
        );
        f[47] = 0x12; // SYN+ACK is an answer, not a request
        assert_eq!(syn_for(&f, ours), None);
        f[47] = 0x02;
        assert_eq!(syn_for(&f, Ipv4Address::new(192, 168, 69, 9)), None);
    }
}
