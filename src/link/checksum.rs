//! The Internet checksum (RFC 1071) over bulk payloads: the network
//! layer verifies every received TCP checksum and computes every sent one
//! with it, and the TAP's offload completes and makes partial checksums
//! with it.
//!
//! Layer: link (crate-private), the bottom one, so that both can use it.
//! Depends on smoltcp's `wire` address types only.
//!
//! Why not smoltcp's `checksum::data`: it adds 16-bit words into a 32-bit
//! sum, about 0.58 instructions a byte on x86-64, and a bulk transfer sums
//! every byte twice, once sending and once receiving. Adding whole machine
//! words with the carries folded back in (RFC 1071 2(B)'s byte-order
//! independence, 2(C)'s parallel summation) gives the same sum. On x86-64
//! the carries chain through the CPU's add-with-carry, one instruction per
//! 8 bytes (about 0.27 instructions a byte); elsewhere (a Cortex-M, say)
//! each word's carry is added back in the next step, still half the
//! iterations of smoltcp's loop on a 32-bit core.
//!
//! UDP, ICMP and the IPv4 header keep smoltcp's routine, both ways: their
//! datagrams are short or rare, and on the tiny firmware build UDP through
//! this one cost 416 B more flash (the compiler's inlining, not the
//! routine's 126 B). Except received IPv4 headers on hosts: every frame
//! has one, and on a greeting connection's six frames smoltcp's loop cost
//! about 460 instructions ([`header_verifies`]).

use smoltcp::wire::{IpAddress, IpProtocol};

/// The machine word the sum is taken in.
const WORD: usize = core::mem::size_of::<usize>();

/// The one's-complement sum of `bytes`, not complemented, in network
/// byte order: the value smoltcp's `checksum::data` returns.
// For the TAP's offload (std); the stack itself calls `complement`.
#[cfg(any(feature = "std", test))]
pub(crate) fn sum(bytes: &[u8]) -> u16 {
    // The sum was taken in the machine's byte order (RFC 1071 2(B)).
    u16::to_be(fold16(native(bytes)))
}

/// The checksum field's value for a TCP (or UDP) `segment` from `src` to
/// `dst` whose field is still zero: what smoltcp's `fill_checksum` writes.
/// Over a segment with its checksum in place, 0 means valid.
pub(crate) fn complement(
    src: &IpAddress,
    dst: &IpAddress,
    protocol: IpProtocol,
    segment: &[u8],
) -> u16 {
    // The pseudo-header (RFC 793 3.1, RFC 8200 8.1) added word by word in
    // the machine's order, as the segment is: smoltcp's `pseudo_header`
    // sums three little arrays through its byte loop and folds each, and
    // on a connection's short segments that cost as much as the segment.
    let length = segment.len() as u16;
    let total = native(segment)
        + address(src)
        + address(dst)
        + u64::from(u16::from_ne_bytes([0, u8::from(protocol)]))
        + u64::from(u16::from_ne_bytes(length.to_be_bytes()));
    !u16::to_be(fold16(total))
}

/// Whether a TCP (or UDP) `segment` (header and payload, as many bytes as
/// its checksum covers) from `src` to `dst` has a valid checksum: what
/// smoltcp's `verify_checksum` answers.
pub(crate) fn verifies(
    src: &IpAddress,
    dst: &IpAddress,
    protocol: IpProtocol,
    segment: &[u8],
) -> bool {
    // Fuzzers reach past the checksums, as smoltcp lets them.
    if cfg!(fuzzing) {
        return true;
    }
    complement(src, dst, protocol, segment) == 0
}

/// Whether an IPv4 `header` (as many bytes as its IHL says, checksum in
/// place) sums to all ones: what smoltcp's `Ipv4Packet::verify_checksum`
/// answers. The gate checks every received header; smoltcp's byte-pair
/// loop took about 77 instructions on a 20-byte one, this about 25.
pub(crate) fn header_verifies(header: &[u8]) -> bool {
    if cfg!(fuzzing) {
        return true;
    }
    fold16(native(header)) == 0xffff
}

/// An address's 16-bit words, summed in the machine's order (under 2^35).
fn address(address: &IpAddress) -> u64 {
    match address {
        IpAddress::Ipv4(a) => u64::from(u32::from_ne_bytes(a.octets())),
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(a) => {
            let octets = a.octets();
            let (words, _) = octets.as_chunks::<4>();
            words
                .iter()
                .map(|w| u64::from(u32::from_ne_bytes(*w)))
                .sum()
        }
    }
}

/// The one's-complement sum of `bytes` in the machine's byte order, folded
/// to under 2^33: room to add a pseudo-header's few words before [`fold16`].
fn native(bytes: &[u8]) -> u64 {
    let (acc, rest) = add_words(bytes);
    let (acc, tail) = add_words_portably(acc, rest);
    let acc = acc as u64;
    let mut total = (acc & 0xffff_ffff) + (acc >> 32);
    // Fewer than a word's bytes are left: added as they sit. Each piece
    // starts at an even offset, so its 16-bit lanes are the segment's
    // words (2^16 is 1 modulo 0xffff: a lane's place in the sum does not
    // matter), and an odd last byte is the high byte of a zero-padded
    // word, as RFC 1071 pads it. Under a word's bytes hold at most one
    // four and one two: no loops (8 B of flash on the firmware).
    let (fours, tail) = tail.as_chunks::<4>();
    if let Some(four) = fours.first() {
        total += u64::from(u32::from_ne_bytes(*four));
    }
    let (twos, tail) = tail.as_chunks::<2>();
    if let Some(two) = twos.first() {
        total += u64::from(u16::from_ne_bytes(*two));
    }
    if let Some(&last) = tail.first() {
        total += u64::from(u16::from_ne_bytes([last, 0]));
    }
    total
}

/// Folds a sum under 2^36 into 16 bits, in as many steps as that takes.
fn fold16(s: u64) -> u16 {
    let s = (s & 0xffff_ffff) + (s >> 32);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Adds the 32-byte blocks of `bytes` in one add-with-carry chain; returns
/// the sum (the chain's last carry folded in) and the bytes left over.
#[cfg(target_arch = "x86_64")]
fn add_words(bytes: &[u8]) -> (usize, &[u8]) {
    use core::arch::x86_64::_addcarry_u64;
    let (blocks, rest) = bytes.as_chunks::<32>();
    let mut acc: u64 = 0;
    let mut carry: u8 = 0;
    for block in blocks {
        let (words, _) = block.as_chunks::<8>();
        for word in words {
            carry = _addcarry_u64(carry, acc, u64::from_ne_bytes(*word), &mut acc);
        }
    }
    // 2^64 is 1 modulo 0xffff: the carry out of the top goes back in at
    // the bottom. A carry leaves `s` at most `u64::MAX - 1`.
    let (s, carry) = acc.overflowing_add(u64::from(carry));
    (s as usize + usize::from(carry), rest)
}

#[cfg(not(target_arch = "x86_64"))]
fn add_words(bytes: &[u8]) -> (usize, &[u8]) {
    (0, bytes)
}

/// Adds `bytes` a machine word at a time to `acc`; returns the sum and the
/// bytes left over (fewer than a word).
fn add_words_portably(mut acc: usize, bytes: &[u8]) -> (usize, &[u8]) {
    let (words, tail) = bytes.as_chunks::<WORD>();
    for word in words {
        // 2^64 (or 2^32) is 1 modulo 0xffff, and `s + carry` cannot
        // overflow: a carry leaves `s` at most `usize::MAX - 1`.
        let (s, carry) = acc.overflowing_add(usize::from_ne_bytes(*word));
        acc = s + usize::from(carry);
    }
    (acc, tail)
}

/// Folds a sum of 16-bit words (in either byte order) into 16 bits, each
/// carry out of the top going back in at the bottom.
#[cfg(any(feature = "std", test))]
pub(crate) fn fold(mut s: u64) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::checksum;

    /// Bytes from a small linear congruential generator: the same every run.
    fn bytes(n: usize, seed: u32) -> heapless::Vec<u8, 2048> {
        let mut x = seed;
        let mut out = heapless::Vec::new();
        for _ in 0..n {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let _ = out.push((x >> 16) as u8);
        }
        out
    }

    #[test]
    fn verifies_ipv4_headers_as_smoltcp_does() {
        use smoltcp::wire::Ipv4Packet;
        for (seed, ihl) in (0..200u32).zip([5usize, 6, 15].into_iter().cycle()) {
            let mut header = bytes(ihl * 4, seed);
            header[0] = 0x40 | ihl as u8;
            let mut packet = Ipv4Packet::new_unchecked(&mut header[..]);
            packet.fill_checksum();
            assert!(header_verifies(&header), "filled, seed {seed}");
            assert!(Ipv4Packet::new_unchecked(&header[..]).verify_checksum());
            // Any one bit flipped past the first byte (which holds the
            // length both read): both refuse it.
            let bit = 8 + (seed as usize * 7) % (ihl * 32 - 8);
            header[bit / 8] ^= 1 << (bit % 8);
            assert!(!header_verifies(&header), "bit {bit} flipped, seed {seed}");
            assert!(!Ipv4Packet::new_unchecked(&header[..]).verify_checksum());
        }
    }

    #[test]
    fn sums_as_smoltcp_does_at_every_length_and_alignment() {
        let data = bytes(1600, 7);
        for len in 0..=1520 {
            for offset in 0..WORD {
                let slice = &data[offset..offset + len];
                assert_eq!(
                    sum(slice),
                    checksum::data(slice),
                    "length {len}, offset {offset}"
                );
            }
        }
    }

    #[test]
    fn the_portable_word_loop_sums_alike() {
        // The loop a target without x86-64's add-with-carry chain runs.
        let data = bytes(1600, 11);
        for len in [0, 1, 7, 8, 9, 31, 32, 33, 1460, 1500] {
            for offset in 0..WORD {
                let slice = &data[offset..offset + len];
                let mut padded = [0u8; 1600 + WORD];
                padded[..len].copy_from_slice(slice);
                let rounded = len.div_ceil(WORD) * WORD;
                let (acc, _) = add_words_portably(0, &padded[..rounded]);
                let s = acc as u64;
                let native = fold((s & 0xffff_ffff) + (s >> 32));
                assert_eq!(u16::to_be(native), checksum::data(slice), "length {len}");
            }
        }
    }

    #[test]
    fn sums_words_that_carry_at_every_step() {
        // All ones: every addition carries out of the word.
        let ones = [0xffu8; 1503];
        for len in [0, 1, 2, 7, 8, 9, 64, 1460, 1503] {
            assert_eq!(
                sum(&ones[..len]),
                checksum::data(&ones[..len]),
                "length {len}"
            );
        }
        let zeros = [0u8; 64];
        assert_eq!(sum(&zeros), 0);
    }

    #[test]
    fn complements_as_smoltcp_fills_at_every_length_over_both_versions() {
        use smoltcp::wire::Ipv4Address;
        let data = bytes(300, 5);
        let mut pairs = heapless::Vec::<(IpAddress, IpAddress), 2>::new();
        let _ = pairs.push((
            IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 100)),
            IpAddress::Ipv4(Ipv4Address::new(255, 255, 255, 255)),
        ));
        #[cfg(feature = "ipv6")]
        let _ = pairs.push((
            IpAddress::Ipv6(smoltcp::wire::Ipv6Address::new(
                0xfe80, 0, 0, 0, 0xffff, 0xff, 0xfe00, 1,
            )),
            IpAddress::Ipv6(smoltcp::wire::Ipv6Address::new(
                0xfd00, 0xffff, 0, 0, 0, 0, 0xffff, 0xfffe,
            )),
        ));
        for (src, dst) in &pairs {
            for protocol in [IpProtocol::Tcp, IpProtocol::Udp] {
                for len in 0..300 {
                    let segment = &data[..len];
                    let smoltcp = !checksum::combine(&[
                        checksum::pseudo_header(src, dst, protocol, len as u32),
                        checksum::data(segment),
                    ]);
                    assert_eq!(
                        complement(src, dst, protocol, segment),
                        smoltcp,
                        "{src} -> {dst}, {protocol}, length {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn verifies_what_smoltcp_verifies() {
        use smoltcp::phy::ChecksumCapabilities;
        use smoltcp::wire::{Ipv4Address, TcpPacket, TcpRepr, TcpSeqNumber};
        let src = IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 100));
        let dst = IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 1));
        let payload = bytes(1001, 3);
        let repr = TcpRepr {
            src_port: 40_000,
            dst_port: 7,
            control: smoltcp::wire::TcpControl::Psh,
            seq_number: TcpSeqNumber(1),
            ack_number: Some(TcpSeqNumber(2)),
            window_len: 1024,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &payload,
        };
        let mut buf = [0u8; 1100];
        let len = repr.buffer_len();
        let mut packet = TcpPacket::new_unchecked(&mut buf[..len]);
        repr.emit(&mut packet, &src, &dst, &ChecksumCapabilities::default());
        assert!(verifies(&src, &dst, IpProtocol::Tcp, &buf[..len]));
        // Any one flipped bit is caught, as smoltcp catches it.
        for bit in [0, 9, 130, 4_000, len * 8 - 1] {
            let mut bad = buf;
            bad[bit / 8] ^= 1 << (bit % 8);
            let smoltcp = TcpPacket::new_unchecked(&bad[..len]).verify_checksum(&src, &dst);
            assert!(!smoltcp, "bit {bit}");
            assert_eq!(
                verifies(&src, &dst, IpProtocol::Tcp, &bad[..len]),
                smoltcp,
                "bit {bit}"
            );
        }
        // The same bytes from another address do not verify.
        let other = IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, 101));
        assert!(!verifies(&other, &dst, IpProtocol::Tcp, &buf[..len]));
    }
}
