//! The virtio-net header in front of every frame on a TAP opened with
//! `IFF_VNET_HDR`, and what it takes to keep the stack's view of frames
//! whole and valid.
//!
//! From the kernel, a frame may carry a partial checksum (the header's
//! `NEEDS_CSUM`: the field holds the pseudo-header sum, the rest is left
//! to the "hardware") and may be a GSO segment of up to 64 KiB. smoltcp
//! and the gate verify checksums, so partial ones are completed here; big
//! segments are handed on whole, since the device advertises an IP MTU of
//! 65535 (see the module documentation of [`super`]).
//!
//! To the kernel, a frame that fits the link goes with an all-zero header
//! (its checksum is complete); a bigger one can only be a TCP segment, and
//! goes as a GSO segment for the kernel to cut at the link's MSS.
//!
//! Layer: link (std only), private to the TAP device; reads and writes
//! header bytes itself (no smoltcp types) and knows nothing of sockets.

use super::super::checksum::fold;

/// Bytes of `struct virtio_net_hdr` (no `num_buffers`: no mergeable
/// receive buffers on TAP).
pub(super) const HDR_LEN: usize = 10;
/// The largest IP packet the stack is told it may send or receive.
pub(super) const BIG_IP_MTU: usize = 65535;

const F_NEEDS_CSUM: u8 = 1;
const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const ETH: usize = 14;
const TCP_SYN: u8 = 0x02;

/// Ones'-complement sum of `data` as big-endian 16-bit words, folded to
/// 16 bits (as a `u64`, to add more to it). It runs over every byte of
/// 64 KiB segments: the word-wide sum the gate verifies with.
fn sum(data: &[u8]) -> u64 {
    u64::from(super::super::checksum::sum(data))
}

/// Where a TCP segment sits in an Ethernet frame: the IP header's offset
/// and length, whether it is IPv6, the TCP header's length, and where the
/// segment ends. `None` for anything else (other protocols, IPv4
/// fragments, IPv6 extension headers).
struct Tcp {
    l4: usize,
    v6: bool,
    header_len: usize,
    end: usize,
}

/// Where the IP packet in `frame` ends, by its own length field: a frame
/// can be longer than its packet (Ethernet pads a 58-byte SYN to 60 on a
/// real wire, which a bridge hands on), and the padding is no part of any
/// checksum. `None` if the length runs past the frame.
fn ip_end(frame: &[u8]) -> Option<usize> {
    let field = |at: usize| {
        Some(usize::from(u16::from_be_bytes([
            *frame.get(at)?,
            *frame.get(at + 1)?,
        ])))
    };
    let end = match u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]) {
        0x0800 => ETH + field(ETH + 2)?,
        0x86dd => ETH + 40 + field(ETH + 4)?,
        _ => return None,
    };
    (end <= frame.len()).then_some(end)
}

fn tcp_in(frame: &[u8]) -> Option<Tcp> {
    let end = ip_end(frame)?;
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let (l4, v6) = match ethertype {
        0x0800 => {
            let ihl = usize::from(frame.get(ETH)? & 0x0f) * 4;
            let frag = u16::from_be_bytes([*frame.get(ETH + 6)?, *frame.get(ETH + 7)?]);
            if ihl < 20 || *frame.get(ETH + 9)? != 6 || frag & 0x3fff != 0 {
                return None;
            }
            (ETH + ihl, false)
        }
        0x86dd if *frame.get(ETH + 6)? == 6 => (ETH + 40, true),
        _ => return None,
    };
    let header_len = usize::from(frame.get(l4 + 12)? >> 4) * 4;
    (header_len >= 20 && end >= l4 + header_len).then_some(Tcp {
        l4,
        v6,
        header_len,
        end,
    })
}

/// The pseudo-header's sum for the TCP segment at `t` (addresses, protocol
/// and the segment's length), unfolded.
fn pseudo_sum(frame: &[u8], t: &Tcp) -> u64 {
    let addrs = if t.v6 {
        &frame[ETH + 8..ETH + 40]
    } else {
        &frame[ETH + 12..ETH + 20]
    };
    sum(addrs) + 6 + (t.end - t.l4) as u64
}

/// Set the TCP checksum of the segment at `t` from scratch.
fn set_tcp_checksum(frame: &mut [u8], t: &Tcp) {
    frame[t.l4 + 16..t.l4 + 18].fill(0);
    let c = !fold(pseudo_sum(frame, t) + sum(&frame[t.l4..t.end]));
    frame[t.l4 + 16..t.l4 + 18].copy_from_slice(&c.to_be_bytes());
}

fn le16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Make the frame the kernel handed up (`hdr` its virtio-net header) whole
/// for the stack: complete a partial checksum, and raise the MSS a SYN
/// announces to what the stack may send as one GSO segment (`big_mss`,
/// only when the peer's MSS takes the link's full `mtu`, so the kernel's
/// cut at the link MSS suits the peer). `Err` says why the frame cannot
/// be honoured.
pub(super) fn complete_rx(hdr: &[u8], frame: &mut [u8], mtu: usize) -> Result<(), &'static str> {
    if !matches!(hdr[1], GSO_NONE | GSO_TCPV4 | GSO_TCPV6) {
        return Err("a GSO type that was not offered");
    }
    if hdr[0] & F_NEEDS_CSUM != 0 {
        let (start, offset) = (le16(hdr, 6), le16(hdr, 8));
        if start + offset + 2 > frame.len() {
            return Err("a partial checksum outside the frame");
        }
        // The field holds the pseudo-header's sum: summing over it adds it in.
        // Padding past the IP packet, if any, is not summed.
        let end = ip_end(frame).unwrap_or(frame.len());
        if start + offset + 2 > end {
            return Err("a partial checksum outside the packet");
        }
        let mut c = !fold(sum(&frame[start..end]));
        if c == 0 && offset == 6 {
            c = 0xffff; // UDP's "no checksum" value is not a checksum.
        }
        frame[start + offset..start + offset + 2].copy_from_slice(&c.to_be_bytes());
    }
    raise_syn_mss(frame, mtu);
    Ok(())
}

fn raise_syn_mss(frame: &mut [u8], mtu: usize) {
    let Some(t) = tcp_in(frame) else { return };
    if frame[t.l4 + 13] & TCP_SYN == 0 {
        return;
    }
    let ip_header = t.l4 - ETH;
    let link_mss = mtu.saturating_sub(ip_header + 20);
    let big_mss = BIG_IP_MTU - ip_header - 20;
    let mut i = t.l4 + 20;
    while i < t.l4 + t.header_len {
        match frame[i] {
            0 => return,
            1 => i += 1,
            kind => {
                let len = usize::from(*frame.get(i + 1).unwrap_or(&0));
                if len < 2 || i + len > t.l4 + t.header_len {
                    return;
                }
                if kind == 2 && len == 4 {
                    let mss = usize::from(u16::from_be_bytes([frame[i + 2], frame[i + 3]]));
                    if mss >= link_mss && link_mss > 0 {
                        let segment = &frame[t.l4..t.end];
                        let verified = fold(pseudo_sum(frame, &t) + sum(segment)) == 0xffff;
                        frame[i + 2..i + 4].copy_from_slice(&(big_mss as u16).to_be_bytes());
                        // A corrupt SYN stays corrupt, for the gate to count.
                        if verified {
                            set_tcp_checksum(frame, &t);
                        }
                    }
                    return;
                }
                i += len;
            }
        }
    }
}

/// Fill `hdr` for a frame of the stack's before it goes to the kernel, the
/// link's IP MTU being `mtu`. A frame that fits goes as it is; a bigger
/// TCP segment goes as GSO, with its checksum made partial (the kernel
/// completes each piece's); `false` for a bigger frame of anything else,
/// which the link cannot carry.
pub(super) fn mark_tx(hdr: &mut [u8], frame: &mut [u8], mtu: usize) -> bool {
    hdr[..HDR_LEN].fill(0);
    if frame.len() <= mtu + ETH {
        return true;
    }
    let Some(t) = tcp_in(frame) else {
        return false;
    };
    let headers = t.l4 + t.header_len;
    let Some(gso_size) = (mtu + ETH)
        .checked_sub(headers)
        .filter(|g| *g > 0 && frame.len() > headers)
    else {
        return false;
    };
    hdr[0] = F_NEEDS_CSUM;
    hdr[1] = if t.v6 { GSO_TCPV6 } else { GSO_TCPV4 };
    let le = |v: usize| (v as u16).to_le_bytes();
    hdr[2..4].copy_from_slice(&le(headers));
    hdr[4..6].copy_from_slice(&le(gso_size));
    hdr[6..8].copy_from_slice(&le(t.l4));
    hdr[8..10].copy_from_slice(&le(16));
    let partial = fold(pseudo_sum(frame, &t));
    frame[t.l4 + 16..t.l4 + 18].copy_from_slice(&partial.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 TCP frame from 10.0.0.2 to 10.0.0.1 with `payload` bytes
    /// and the given options, its checksums complete.
    fn tcp4(flags: u8, options: &[u8], payload: usize) -> Vec<u8> {
        let tcp_len = 20 + options.len();
        let total = 20 + tcp_len + payload;
        let mut f = vec![0u8; ETH + total];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[ETH] = 0x45;
        f[ETH + 2..ETH + 4].copy_from_slice(&(total as u16).to_be_bytes());
        f[ETH + 8] = 64;
        f[ETH + 9] = 6;
        f[ETH + 12..ETH + 20].copy_from_slice(&[10, 0, 0, 2, 10, 0, 0, 1]);
        let l4 = ETH + 20;
        f[l4 + 12] = ((tcp_len / 4) as u8) << 4;
        f[l4 + 13] = flags;
        f[l4 + 20..l4 + tcp_len].copy_from_slice(options);
        for (i, b) in f[l4 + tcp_len..].iter_mut().enumerate() {
            *b = (i * 7) as u8;
        }
        let t = tcp_in(&f).map(|t| (t.l4, t.header_len));
        assert_eq!(t, Some((l4, tcp_len)));
        let end = f.len();
        set_tcp_checksum(
            &mut f,
            &Tcp {
                l4,
                v6: false,
                header_len: tcp_len,
                end,
            },
        );
        f
    }

    #[test]
    fn the_fast_sum_is_the_plain_one() {
        let plain = |d: &[u8]| {
            let words = d
                .chunks(2)
                .map(|w| u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])));
            u64::from(fold(words.sum()))
        };
        let data: Vec<u8> = (0..3001u32).map(|i| (i * 131 % 251) as u8).collect();
        for len in [0, 1, 2, 3, 15, 16, 17, 33, 1500, 3001] {
            assert_eq!(sum(&data[..len]), plain(&data[..len]), "{len} bytes");
        }
        assert_eq!(sum(&[0xff; 64]), 0xffff);
    }

    fn verifies(frame: &[u8]) -> bool {
        tcp_in(frame)
            .is_some_and(|t| fold(pseudo_sum(frame, &t) + sum(&frame[t.l4..t.end])) == 0xffff)
    }

    #[test]
    fn a_partial_checksum_is_completed() -> Result<(), &'static str> {
        let mut f = tcp4(0x18, &[], 3001);
        let whole = f.clone();
        let t = tcp_in(&f).ok_or("not TCP")?;
        let partial = fold(pseudo_sum(&f, &t));
        f[t.l4 + 16..t.l4 + 18].copy_from_slice(&partial.to_be_bytes());
        assert!(!verifies(&f));
        let mut hdr = [0u8; HDR_LEN];
        hdr[0] = F_NEEDS_CSUM;
        hdr[6..8].copy_from_slice(&(t.l4 as u16).to_le_bytes());
        hdr[8..10].copy_from_slice(&16u16.to_le_bytes());
        assert_eq!(complete_rx(&hdr, &mut f, 1500), Ok(()));
        assert_eq!(f, whole);
        hdr[6..8].copy_from_slice(&(f.len() as u16).to_le_bytes());
        assert!(
            complete_rx(&hdr, &mut f, 1500).is_err(),
            "outside the frame"
        );
        hdr[0] = 0;
        hdr[1] = 3; // UDP fragmentation offload: never offered.
        assert!(complete_rx(&hdr, &mut f, 1500).is_err());
        Ok(())
    }

    #[test]
    fn a_syn_for_the_full_link_mss_is_raised_and_stays_valid() {
        let mss = |v: u16| {
            let b = v.to_be_bytes();
            [1, 2, 4, b[0], b[1], 1, 1, 0]
        };
        let hdr = [0u8; HDR_LEN];
        let mut syn = tcp4(TCP_SYN, &mss(1460), 0);
        assert_eq!(complete_rx(&hdr, &mut syn, 1500), Ok(()));
        assert_eq!(syn[ETH + 20 + 23..ETH + 20 + 25], 65495u16.to_be_bytes());
        assert!(verifies(&syn));
        // A peer behind a narrower path keeps its MSS: the kernel's cut at
        // the link's MSS would not suit it.
        let mut narrow = tcp4(TCP_SYN | 0x10, &mss(1400), 0);
        let before = narrow.clone();
        assert_eq!(complete_rx(&hdr, &mut narrow, 1500), Ok(()));
        assert_eq!(narrow, before);
        let mut data = tcp4(0x10, &mss(1460), 10);
        let before = data.clone();
        assert_eq!(complete_rx(&hdr, &mut data, 1500), Ok(()));
        assert_eq!(data, before, "only SYNs");
    }

    #[test]
    fn a_padded_syn_is_raised_and_stays_valid() {
        // A SYN whose only option is the MSS: 58 bytes, which a real wire
        // pads to 60 and a bridge hands on so.
        let hdr = [0u8; HDR_LEN];
        let mut syn = tcp4(TCP_SYN, &[2, 4, 0x05, 0xb4], 0);
        assert_eq!(syn.len(), 58);
        syn.extend_from_slice(&[0xee, 0xee]);
        assert!(verifies(&syn), "the padding is no part of the checksum");
        assert_eq!(complete_rx(&hdr, &mut syn, 1500), Ok(()));
        assert_eq!(syn[ETH + 20 + 22..ETH + 20 + 24], 65495u16.to_be_bytes());
        assert!(verifies(&syn));
        // A length field past the frame: not TCP as far as the link knows.
        let mut short = tcp4(TCP_SYN, &[2, 4, 0x05, 0xb4], 0);
        short[ETH + 3] += 4;
        let before = short.clone();
        assert_eq!(complete_rx(&hdr, &mut short, 1500), Ok(()));
        assert_eq!(short, before);
    }

    #[test]
    fn a_big_segment_goes_as_gso_at_the_link_mss() {
        let mut hdr = [0xaau8; HDR_LEN];
        let mut small = tcp4(0x10, &[], 1460);
        assert!(mark_tx(&mut hdr, &mut small, 1500));
        assert_eq!(hdr, [0; HDR_LEN]);
        let mut big = tcp4(0x18, &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], 60_000);
        assert!(mark_tx(&mut hdr, &mut big, 1500));
        assert_eq!((hdr[0], hdr[1]), (F_NEEDS_CSUM, GSO_TCPV4));
        assert_eq!(
            (le16(&hdr, 2), le16(&hdr, 4)),
            (14 + 20 + 32, 1500 - 20 - 32)
        );
        assert_eq!((le16(&hdr, 6), le16(&hdr, 8)), (34, 16));
        // The kernel's view: completing the partial checksum gives back a
        // valid segment.
        assert_eq!(complete_rx(&hdr, &mut big, 1500), Ok(()));
        assert!(verifies(&big));
        let mut udp = tcp4(0x10, &[], 2000);
        udp[ETH + 9] = 17;
        assert!(!mark_tx(&mut hdr, &mut udp, 1500), "only TCP can be cut");
    }
}
