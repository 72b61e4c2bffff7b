//! The trace's own tests: escaping, short frames, and (with `ipv6`)
//! frames built with smoltcp's `wire` reprs, decoded line by line.

use super::text::Escaped;
use super::*;

#[test]
fn escaping_shows_line_ends_and_binary() {
    let mut s = heapless::String::<64>::new();
    write!(s, "{}", Escaped(b"hi\r\n\x00\"")).ok();
    assert_eq!(s.as_str(), r#""hi\r\n\x00\"""#);
}

#[test]
fn short_frames_are_malformed_not_panics() {
    let mut s = heapless::String::<256>::new();
    let mut d = Decoder::new();
    d.write_frame(&mut s, Style::Brief, format_args!("#1"), &[1, 2, 3])
        .ok();
    assert!(s.contains("malformed: 3 bytes"), "{s}");
}

#[cfg(feature = "ipv6")]
mod ipv6 {
    extern crate std;

    use std::{string::String, vec, vec::Vec};

    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::time::Duration;
    use smoltcp::wire::{
        EthernetRepr, Icmpv6Packet, Icmpv6Repr, Ipv6Address, Ipv6Repr, NdiscNeighborFlags,
        NdiscPrefixInfoFlags, NdiscPrefixInformation, NdiscRepr, NdiscRouterFlags, TcpControl,
        TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
    };

    use super::super::*;
    use crate::app::ports;

    const ROUTER: Ipv6Address = Ipv6Address::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    const HOST: Ipv6Address = Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    const SERVER: Ipv6Address = Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0xfe]);

    /// An Ethernet frame with an IPv6 header from `src` to `dst`; `emit`
    /// writes the `len` bytes after it.
    fn frame(
        (src, dst): (Ipv6Address, Ipv6Address),
        next_header: IpProtocol,
        len: usize,
        emit: impl FnOnce(&mut [u8]),
    ) -> Vec<u8> {
        let mut f = vec![0; 14 + 40 + len];
        let ethertype = EthernetProtocol::Ipv6;
        let (src_addr, dst_addr) = (MAC, EthernetAddress::BROADCAST);
        EthernetRepr {
            src_addr,
            dst_addr,
            ethertype,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut f));
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header,
            payload_len: len,
            hop_limit: 255,
        };
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut f[14..]));
        emit(&mut f[54..]);
        f
    }

    fn icmp(addrs: (Ipv6Address, Ipv6Address), repr: Icmpv6Repr<'_>) -> Vec<u8> {
        frame(addrs, IpProtocol::Icmpv6, repr.buffer_len(), |b| {
            let caps = ChecksumCapabilities::default();
            let mut packet = Icmpv6Packet::new_unchecked(b);
            repr.emit(&addrs.0, &addrs.1, &mut packet, &caps);
        })
    }

    fn tcp(addrs: (Ipv6Address, Ipv6Address), repr: &TcpRepr<'_>) -> Vec<u8> {
        frame(addrs, IpProtocol::Tcp, repr.buffer_len(), |b| {
            let (src, dst) = (addrs.0.into(), addrs.1.into());
            let caps = ChecksumCapabilities::default();
            repr.emit(&mut TcpPacket::new_unchecked(b), &src, &dst, &caps);
        })
    }

    /// Each frame decoded in turn by one decoder.
    fn decode(style: Style, frames: &[&[u8]]) -> String {
        let mut decoder = Decoder::new();
        let mut text = String::new();
        for (i, frame) in frames.iter().enumerate() {
            let head = format_args!("#{}", i + 1);
            decoder.write_frame(&mut text, style, head, frame).ok();
        }
        text
    }

    fn router_advert() -> Vec<u8> {
        let prefix = NdiscPrefixInformation {
            prefix_len: 64,
            flags: NdiscPrefixInfoFlags::ON_LINK | NdiscPrefixInfoFlags::ADDRCONF,
            valid_lifetime: Duration::from_secs(86400),
            preferred_lifetime: Duration::from_secs(14400),
            prefix: Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 0),
        };
        let ra = NdiscRepr::RouterAdvert {
            hop_limit: 64,
            flags: NdiscRouterFlags::OTHER,
            router_lifetime: Duration::from_secs(1800),
            reachable_time: Duration::ZERO,
            retrans_time: Duration::ZERO,
            lladdr: Some(MAC.into()),
            mtu: Some(1500),
            prefix_info: Some(prefix),
        };
        icmp(
            (ROUTER, Ipv6Address::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
            Icmpv6Repr::Ndisc(ra),
        )
    }

    #[test]
    fn a_router_advertisement_shows_its_prefix() {
        let ra = router_advert();
        let full = decode(Style::Full, &[&ra]);
        let l3 = "    L3  IPv6 fe80::1 -> ff02::1  hop limit 255  next ICMPv6  payload len 64\n";
        assert!(full.contains(l3), "{full}");
        let advert = "ICMPv6 router advertisement  hop limit 64  lifetime 1800 s  flags [O]  \
            prefix fd00::/64 [L, A]  valid 86400 s  preferred 14400 s  mtu 1500  \
            source lladdr 02:00:00:00:00:fe  checksum OK";
        assert!(full.contains(&format!("    L4  {advert}\n")), "{full}");
        let brief = decode(Style::Brief, &[&ra]);
        assert_eq!(brief, format!("#1 fe80::1 -> ff02::1 {advert}\n"));
    }

    #[test]
    fn neighbour_solicitation_and_advertisement() {
        let target_addr = SERVER;
        let lladdr = Some(MAC.into());
        let ns = NdiscRepr::NeighborSolicit {
            target_addr,
            lladdr,
        };
        let solicited_node = Ipv6Address::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 1);
        let ns = icmp((HOST, solicited_node), Icmpv6Repr::Ndisc(ns));
        let flags = NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE;
        let na = NdiscRepr::NeighborAdvert {
            flags,
            target_addr,
            lladdr,
        };
        let na = icmp((SERVER, HOST), Icmpv6Repr::Ndisc(na));
        let dad = NdiscRepr::NeighborSolicit {
            target_addr,
            lladdr: None,
        };
        let dad = icmp(
            (Ipv6Address::UNSPECIFIED, solicited_node),
            Icmpv6Repr::Ndisc(dad),
        );
        let brief = decode(Style::Brief, &[&ns, &na, &dad]);
        let expected = [
            "#1 fd00::2 -> ff02::1:ff00:1 ICMPv6 neighbour solicitation for fd00::1  \
             source lladdr 02:00:00:00:00:fe  checksum OK",
            "#2 fd00::1 -> fd00::2 ICMPv6 neighbour advertisement fd00::1 [S, O]  \
             target lladdr 02:00:00:00:00:fe  checksum OK",
            "#3 :: -> ff02::1:ff00:1 ICMPv6 neighbour solicitation for fd00::1 \
             (duplicate address detection)  checksum OK",
        ];
        assert_eq!(brief.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn echo_with_a_bad_checksum_says_so() {
        let data = b"abcdefgh";
        let echo = Icmpv6Repr::EchoRequest {
            ident: 0x22,
            seq_no: 3,
            data,
        };
        let mut echo = icmp((HOST, SERVER), echo);
        let good = decode(Style::Full, &[&echo]);
        let line = "    L4  ICMPv6 echo request id 0x0022 seq 3  8 data bytes  checksum OK\n";
        assert!(good.contains(line), "{good}");
        echo[62] ^= 0x40; // the first data byte
        let bad = decode(Style::Brief, &[&echo]);
        assert!(
            bad.ends_with("seq 3  8 data bytes  checksum BAD\n"),
            "{bad}"
        );
    }

    #[test]
    fn tcp_over_ipv6_numbers_each_direction_from_its_syn() {
        let mut syn = TcpRepr {
            src_port: 49152,
            dst_port: ports::GREETING,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(1000),
            ack_number: None,
            window_len: 8192,
            window_scale: None,
            max_seg_size: Some(1440),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let first = tcp((HOST, SERVER), &syn);
        let mut reply = syn;
        (reply.src_port, reply.dst_port) = (syn.dst_port, syn.src_port);
        (reply.seq_number, reply.ack_number) = (TcpSeqNumber(7), Some(TcpSeqNumber(1001)));
        reply.payload = b"hi\n";
        reply.control = TcpControl::Psh;
        let second = tcp((SERVER, HOST), &reply);
        syn.control = TcpControl::None;
        syn.seq_number = TcpSeqNumber(1001);
        syn.ack_number = Some(TcpSeqNumber(10));
        let third = tcp((HOST, SERVER), &syn);
        let full = decode(Style::Full, &[&first, &second, &third]);
        let lines = [
            "    L3  IPv6 fd00::2 -> fd00::1  hop limit 255  next TCP  payload len 24",
            "    L4  TCP [fd00::2]:49152 -> [fd00::1]:1234 [SYN]  seq 0  win 8192  opts mss 1440  len 0",
            "    L4  TCP [fd00::1]:1234 -> [fd00::2]:49152 [PSH, ACK]  seq 0  ack 1  win 8192  opts mss 1440  len 3",
            "    L7  greeting \"hi\\n\"",
            "    L4  TCP [fd00::2]:49152 -> [fd00::1]:1234 [ACK]  seq 1  ack 3  win 8192  opts mss 1440  len 0",
        ];
        for line in lines {
            assert!(full.lines().any(|l| l == line), "{line:?} in\n{full}");
        }
    }

    #[test]
    fn udp_over_ipv6_checks_its_sum_and_names_the_service() {
        let udp = UdpRepr {
            src_port: 50000,
            dst_port: ports::ECHO,
        };
        let payload = b"ping";
        let mut datagram = frame((HOST, SERVER), IpProtocol::Udp, 8 + payload.len(), |b| {
            let (src, dst) = (HOST.into(), SERVER.into());
            let caps = ChecksumCapabilities::default();
            let mut packet = UdpPacket::new_unchecked(b);
            udp.emit(
                &mut packet,
                &src,
                &dst,
                payload.len(),
                |p| p.copy_from_slice(payload),
                &caps,
            );
        });
        let brief = decode(Style::Brief, &[&datagram]);
        let expected =
            "#1 UDP [fd00::2]:50000 -> [fd00::1]:7  len 12  checksum OK  echo \"ping\"\n";
        assert_eq!(brief, expected);
        datagram[60..62].copy_from_slice(&[0, 0]);
        let unsummed = expected.replace("checksum OK", "checksum none (IPv6 requires one)");
        assert_eq!(decode(Style::Brief, &[&datagram]), unsummed);
    }

    #[test]
    fn mld_behind_a_hop_by_hop_header() {
        let group = Ipv6Address::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2);
        let mld_routers = Ipv6Address::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
        // Router alert (MLD) and two bytes of padding, then an MLDv2
        // report with one "change to exclude" record for `group`.
        let hop_by_hop = [58, 0, 5, 2, 0, 0, 1, 0];
        let report = [143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0];
        let mut f = frame(
            (HOST, mld_routers),
            IpProtocol::HopByHop,
            8 + 12 + 16,
            |b| {
                b[..8].copy_from_slice(&hop_by_hop);
                b[8..20].copy_from_slice(&report);
                b[20..].copy_from_slice(&group.octets());
                Icmpv6Packet::new_unchecked(&mut b[8..]).fill_checksum(&HOST, &mld_routers);
            },
        );
        let full = decode(Style::Full, &[&f]);
        assert!(full.contains("next Hop-by-Hop  payload len 36\n"), "{full}");
        assert!(
            full.contains("L4  ICMPv6 MLDv2 report, 1 group  checksum OK\n"),
            "{full}"
        );
        f[54 + 1] = 9; // the hop-by-hop header's length, past the packet
        let full = decode(Style::Full, &[&f]);
        let malformed = "L4  malformed: IPv6 Hop-by-Hop header past the 36 bytes there\n";
        assert!(full.contains(malformed), "{full}");
    }

    #[test]
    fn fragments_and_short_headers() {
        let later_fragment = [17, 0, 0x05, 0x00, 0, 0, 0, 1];
        let f = frame((HOST, SERVER), IpProtocol::Ipv6Frag, 16, |b| {
            b[..8].copy_from_slice(&later_fragment)
        });
        let brief = decode(Style::Brief, &[&f]);
        assert_eq!(brief, "#1 fragment at offset 1280 (not reassembled)\n");
        let brief = decode(Style::Brief, &[&f[..60]]);
        assert_eq!(
            brief,
            "#1 malformed: IPv6 payload length past the 46 bytes there\n"
        );
    }
}

/// Windows print scaled once both SYNs announced a scale, as a Linux peer
/// (ws 7) and one with ws 10 would show them in Wireshark.
mod scaled_windows {
    extern crate std;

    use std::{string::String, vec, vec::Vec};

    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{EthernetRepr, Ipv4Repr, TcpControl, TcpRepr, TcpSeqNumber};

    use super::super::*;

    const A: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
    const B: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);

    fn segment(
        from: (Ipv4Address, u16),
        to: (Ipv4Address, u16),
        syn: bool,
        ack: bool,
        win: u16,
        ws: Option<u8>,
    ) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: from.1,
            dst_port: to.1,
            control: if syn {
                TcpControl::Syn
            } else {
                TcpControl::None
            },
            seq_number: TcpSeqNumber(1000),
            ack_number: ack.then_some(TcpSeqNumber(1)),
            window_len: win,
            window_scale: ws,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: from.0,
            dst_addr: to.0,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut f = vec![0; 14 + ip.buffer_len() + tcp.buffer_len()];
        EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: EthernetProtocol::Ipv4,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut f));
        let caps = ChecksumCapabilities::default();
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[14..]), &caps);
        let (src, dst) = (IpAddress::Ipv4(from.0), IpAddress::Ipv4(to.0));
        tcp.emit(
            &mut TcpPacket::new_unchecked(&mut f[34..]),
            &src,
            &dst,
            &caps,
        );
        f
    }

    fn windows(frames: &[Vec<u8>]) -> Vec<String> {
        let mut d = Decoder::new();
        frames
            .iter()
            .map(|f| {
                let mut s = String::new();
                d.write_frame(&mut s, Style::Brief, format_args!("#"), f)
                    .ok();
                let w = s.split("  win ").nth(1).unwrap_or_default();
                w.split(' ').next().unwrap_or_default().into()
            })
            .collect()
    }

    #[test]
    fn both_syns_with_a_scale_then_every_window_is_scaled() {
        let (a, b) = ((A, 40000), (B, 80));
        let got = windows(&[
            segment(a, b, true, false, 64240, Some(7)),
            segment(b, a, true, true, 65160, Some(10)),
            segment(a, b, false, true, 502, None),
            segment(b, a, false, true, 63, None),
        ]);
        assert_eq!(
            got,
            ["64240", "65160", "64256", "64512"],
            "SYNs as sent, then scaled"
        );
    }

    #[test]
    fn one_side_without_a_scale_means_none_is_applied() {
        let (a, b) = ((A, 40001), (B, 80));
        let got = windows(&[
            segment(a, b, true, false, 8192, Some(7)),
            segment(b, a, true, true, 8192, None),
            segment(a, b, false, true, 502, None),
        ]);
        assert_eq!(got, ["8192", "8192", "502"]);
        // Caught mid-conversation, no SYN seen: as it stands.
        let got = windows(&[segment((A, 40002), b, false, true, 63, None)]);
        assert_eq!(got, ["63"]);
    }
}
