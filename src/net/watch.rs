//! The device as smoltcp sees it from inside [`Stack::poll`](super::Stack::poll):
//! the real device, plus a look at every frame sent (which also fills in
//! a sent TCP segment's checksum: see [`GateChecked`]). On a host an IPv4
//! TCP segment, most of what a stack sends, is read at its fixed offsets
//! instead of through the general parse (`SentTcp4`).
//!
//! Layer: net (private). smoltcp sends from both ingress (an RST, an ARP
//! reply, an ACK it owes) and egress, and only the device sees those
//! frames, so the stack lends smoltcp this wrapper instead of the device.
//! Received frames need no wrapping: the stack has already looked at each
//! one through [`Link::peek`](crate::link::Link::peek) before smoltcp takes
//! it.

use smoltcp::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{IpEndpoint, IpProtocol};

use super::TcpEntry;
use super::frame::{Addrs, Frame, Ip, L4, Net};
use super::observe::{Counters, Direction, Observer};
use super::seen::Seen;
use super::track::Segment;
use crate::link::checksum;

/// Whether the stack, rather than smoltcp, computes the checksum of each
/// TCP segment it sends when the device does not (see [`GateChecked`]).
/// Not on a bare-metal target (the firmware): there smoltcp computes them,
/// as it did before the stack's word-wide sum, with its own routine, which
/// its UDP, ICMP and IPv4 headers keep linked anyway. The stack's fill cost
/// the tiny firmware builds 108 / 72 B of flash (AN386 / LM3S6965), for
/// segments of at most 256 bytes; hosts (and their CPU figures) keep the
/// fill.
pub(super) const STACK_FILLS_TCP: bool = cfg!(not(target_os = "none"));

/// What a sent frame updates: the counters, connection tracking and the
/// observer lent to this poll, if any.
pub(super) struct Sent<'w, 'o> {
    observer: Option<&'w mut (dyn Observer + 'o)>,
    counters: &'w mut Counters,
    seen: &'w mut Seen,
    tcp: &'w mut [TcpEntry],
    /// Whether to compute each sent TCP segment's checksum (smoltcp is
    /// told not to: see [`GateChecked`]).
    fills_tcp: bool,
    now: Instant,
}

impl<'w, 'o> Sent<'w, 'o> {
    pub(super) fn new(
        observer: Option<&'w mut (dyn Observer + 'o)>,
        counters: &'w mut Counters,
        seen: &'w mut Seen,
        tcp: &'w mut [TcpEntry],
        fills_tcp: bool,
        now: Instant,
    ) -> Self {
        Sent {
            observer,
            counters,
            seen,
            tcp,
            fills_tcp,
            now,
        }
    }

    /// Count and track `frame`, and fill in its TCP checksum if the stack
    /// computes them; a retransmission it reveals is returned, for the
    /// caller to tell once the token is spent: a capture between this
    /// wrapper and the device shows the frame when the token returns, and
    /// the event must follow its frame, not precede it.
    fn record(&mut self, frame: &mut [u8]) -> Option<super::observe::Event> {
        // Most frames a host sends are IPv4 TCP segments of its own
        // making: their few fields are read where they lie, without the
        // general parse (see `SentTcp4`).
        if SENT_TCP4
            && !self.seen.noting(self.now)
            && let Some(sent) = SentTcp4::read(frame)
        {
            return self.record_tcp4(frame, &sent);
        }
        let parsed = Frame::parse(frame);
        self.counters.tally(Direction::Tx, parsed.as_ref());
        self.seen.frame(self.now, Direction::Tx, parsed.as_ref());
        // The segment's looks before the checksum's: in this order the
        // firmware inlines `Segment::in_frame` once (the other order made
        // two calls of an outlined copy: 264 B of flash on the AN386).
        let segment = Segment::in_frame(Direction::Tx, parsed.as_ref());
        // `fills_tcp` implies the constant; testing it too lets the
        // firmware's build drop the fill altogether.
        let fill = match &parsed {
            Some(parsed) if STACK_FILLS_TCP && self.fills_tcp => tcp_checksum(parsed, frame),
            _ => None,
        };
        // The one parse ends here; the bytes may change.
        if let Some((at, value)) = fill
            && let Some(field) = frame.get_mut(at..at + 2)
        {
            field.copy_from_slice(&value.to_be_bytes());
        }
        self.show_and_track(frame, segment)
    }

    /// Show the observer `frame`, as it goes to the device, and track the
    /// TCP segment it carries, if any.
    #[inline]
    fn show_and_track(
        &mut self,
        frame: &[u8],
        segment: Option<Segment>,
    ) -> Option<super::observe::Event> {
        if let Some(observer) = self.observer.as_deref_mut() {
            observer.frame(self.now, Direction::Tx, frame);
        }
        let segment = segment?;
        // smoltcp resets connections it no longer has: no entry's.
        if segment.rst {
            return None;
        }
        let entry = self.tcp.iter_mut().find(|e| e.track.holds(&segment))?;
        let event = entry.track.sent(&segment, self.now)?;
        self.counters.tcp_retransmits += 1;
        Some(event)
    }

    /// [`Sent::record`] for `frame`, an IPv4 TCP segment read as `sent`:
    /// the same counters, checksum and tracking.
    fn record_tcp4(&mut self, frame: &mut [u8], sent: &SentTcp4) -> Option<super::observe::Event> {
        // The test suite's debug builds check this against the general
        // parse, frame by frame.
        debug_assert!(
            sent.agrees(frame),
            "the fixed-offset read of a sent segment disagrees with its parse"
        );
        let counters = &mut *self.counters;
        counters.frames_tx += 1;
        counters.ipv4_tx += 1;
        counters.tcp_tx += 1;
        let segment = sent.segment;
        counters.tcp_resets_tx += u64::from(segment.rst);
        if STACK_FILLS_TCP
            && self.fills_tcp
            && let Some(bytes) = frame.get(sent.tcp.clone())
        {
            let value = checksum::complement(
                &sent.src.into(),
                &segment.remote.addr,
                IpProtocol::Tcp,
                bytes,
            );
            if let Some(field) = frame.get_mut(sent.tcp.start + 16..sent.tcp.start + 18) {
                field.copy_from_slice(&value.to_be_bytes());
            }
        }
        self.show_and_track(frame, Some(segment))
    }

    fn tell(&mut self, event: Option<super::observe::Event>) {
        if let (Some(event), Some(observer)) = (event, self.observer.as_deref_mut()) {
            observer.event(self.now, event);
        }
    }
}

/// Whether [`Sent::record`] reads an IPv4 TCP segment's fields at their
/// offsets ([`SentTcp4`]) rather than through the general parse: on
/// hosts. The general parse, the counters and the rest cost about 390
/// instructions a frame there, against about 60; the firmware keeps the
/// one path (its flash is counted to the byte, and its frames are few).
const SENT_TCP4: bool = cfg!(not(target_os = "none"));

/// What [`Sent::record`] needs of an IPv4 TCP segment the stack sent, read
/// at the fixed offsets of an Ethernet II frame: where the segment lies,
/// our address, and the segment as tracking sees it. Only for a frame
/// whose lengths all hold, as `Frame::parse` would find them, and that is
/// no fragment (smoltcp sends none): anything else takes the general
/// parse.
struct SentTcp4 {
    tcp: core::ops::Range<usize>,
    src: smoltcp::wire::Ipv4Address,
    segment: Segment,
}

impl SentTcp4 {
    /// Ethernet header, then the IPv4 header's start.
    const IP: usize = 14;

    #[inline]
    fn read(frame: &[u8]) -> Option<SentTcp4> {
        let (eth, ip) = frame.split_at_checked(Self::IP)?;
        if eth.get(12..14)? != [0x08, 0x00] {
            return None;
        }
        let word = |b: &[u8], at: usize| Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
        let long =
            |b: &[u8], at: usize| Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?));
        let first = *ip.first()?;
        let header = usize::from(first & 0x0f) * 4;
        let total = usize::from(word(ip, 2)?);
        // Version 4, TCP, not a fragment (no MF, offset 0), and the
        // lengths `Ipv4Packet::new_checked` checks.
        if first >> 4 != 4
            || *ip.get(9)? != 6
            || word(ip, 6)? & 0x3fff != 0
            || header < 20
            || total < header
            || total > ip.len()
        {
            return None;
        }
        let tcp = ip.get(header..total)?;
        // `TcpPacket::new_checked`'s: a whole header, and the data offset
        // within the segment.
        let offset = usize::from(*tcp.get(12)? >> 4) * 4;
        if tcp.len() < 20 || offset < 20 || offset > tcp.len() {
            return None;
        }
        let flags = *tcp.get(13)?;
        let (fin, syn, rst, ack) = (
            flags & 0x01 != 0,
            flags & 0x02 != 0,
            flags & 0x04 != 0,
            flags & 0x10 != 0,
        );
        let addr = |at: usize| -> Option<smoltcp::wire::Ipv4Address> { Some(long(ip, at)?.into()) };
        let start = Self::IP + header;
        Some(SentTcp4 {
            tcp: start..Self::IP + total,
            src: addr(12)?,
            segment: Segment {
                local_port: word(tcp, 0)?,
                remote: IpEndpoint::new(addr(16)?.into(), word(tcp, 2)?),
                seq: long(tcp, 4)?,
                len: (tcp.len() - offset) as u32 + u32::from(syn) + u32::from(fin),
                ack: if ack { Some(long(tcp, 8)?) } else { None },
                syn,
                rst,
            },
        })
    }

    /// What the general parse finds in `frame`: an IPv4 TCP segment, not a
    /// fragment, whose [`Segment`] is this one's (the counters follow).
    #[cfg(debug_assertions)]
    fn agrees(&self, frame: &[u8]) -> bool {
        let parsed = Frame::parse(frame);
        let general = Segment::in_frame(Direction::Tx, parsed.as_ref());
        let tcp4 = matches!(
            parsed.as_ref().map(|p| &p.net),
            Some(Net::Ipv4(Some(Ip {
                l4: L4::Tcp(Some(_)),
                ..
            })))
        );
        tcp4 && general.is_some_and(|g| {
            (g.local_port, g.remote, g.seq, g.len, g.ack, g.syn, g.rst)
                == (
                    self.segment.local_port,
                    self.segment.remote,
                    self.segment.seq,
                    self.segment.len,
                    self.segment.ack,
                    self.segment.syn,
                    self.segment.rst,
                )
        })
    }

    #[cfg(not(debug_assertions))]
    fn agrees(&self, _: &[u8]) -> bool {
        true
    }
}

/// Where the checksum of the TCP segment in `parsed` (whose bytes are
/// `frame`) goes, as an offset into `frame`, and its value. smoltcp left
/// the field zero, as it does when the device computes it.
fn tcp_checksum(parsed: &Frame<'_>, frame: &[u8]) -> Option<(usize, u16)> {
    let (tcp, (src, dst)) = match &parsed.net {
        Net::Ipv4(Some(Ip {
            packet,
            l4: L4::Tcp(Some(tcp)),
            ..
        })) => (tcp, packet.addrs()),
        #[cfg(feature = "ipv6")]
        Net::Ipv6(Some(Ip {
            packet,
            l4: L4::Tcp(Some(tcp)),
            ..
        })) => (tcp, packet.addrs()),
        _ => return None,
    };
    let segment: &[u8] = tcp.as_ref();
    // The segment is a sub-slice of the frame: its start's distance from
    // the frame's is its offset. The checksum is bytes 16-17 of the header.
    let at = (segment.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)? + 16;
    Some((
        at,
        checksum::complement(&src, &dst, IpProtocol::Tcp, segment),
    ))
}

pub(super) struct Watch<'w, 'o, D> {
    device: &'w mut D,
    sent: Sent<'w, 'o>,
    /// Hand smoltcp the next received frame as its TCP FIN alone (see
    /// [`fin_only`]).
    fin_only: bool,
    /// See [`Watch::cut_short`].
    cut: bool,
}

impl<'w, 'o, D> Watch<'w, 'o, D> {
    pub(super) fn new(device: &'w mut D, sent: Sent<'w, 'o>) -> Self {
        Watch {
            device,
            sent,
            fin_only: false,
            cut: false,
        }
    }

    /// Hand smoltcp the next received frame as its FIN alone if `yes`.
    pub(super) fn set_fin_only(&mut self, yes: bool) {
        self.fin_only = yes;
    }

    /// The device refused smoltcp a frame to send (no room): its egress
    /// round stopped before every socket was dispatched.
    pub(super) fn cut_short(&self) -> bool {
        self.cut
    }
}

/// A received frame as smoltcp gets it: as it came, or cut to its TCP
/// FIN alone (see [`fin_only`]).
pub(super) struct WatchRx<T> {
    inner: T,
    fin_only: bool,
}

impl<T: RxToken> RxToken for WatchRx<T> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        if !self.fin_only {
            return self.inner.consume(f);
        }
        self.inner.consume(|frame| {
            let mut cut = [0u8; FIN_ONLY_MAX];
            match fin_only(frame, &mut cut) {
                Some(len) => f(cut.get(..len).unwrap_or_default()),
                None => f(frame),
            }
        })
    }

    fn meta(&self) -> smoltcp::phy::PacketMeta {
        self.inner.meta()
    }
}

/// The longest Ethernet, IPv4 and TCP headers together.
const FIN_ONLY_MAX: usize = 14 + 60 + 60;

/// Write into `cut` the IPv4 TCP segment in `frame` without its data, its
/// sequence number moved to where the data ended: the FIN alone, with the
/// same ACK, window and options. Its length, or `None` if `frame` is no
/// such segment. smoltcp is told the received checksums were verified
/// (the gate did, on the frame as it came: see [`GateChecked`]), so they
/// are left as they were.
fn fin_only(frame: &[u8], cut: &mut [u8; FIN_ONLY_MAX]) -> Option<usize> {
    let ip = frame.get(14..)?;
    let header = usize::from(*ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let tcp = ip.get(header..total)?;
    let offset = usize::from(*tcp.get(12)? >> 4) * 4;
    let data = tcp.len().checked_sub(offset)?;
    let len = 14 + header + offset;
    cut.get_mut(..len)?.copy_from_slice(frame.get(..len)?);
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?).wrapping_add(data as u32);
    cut.get_mut(16..18)?
        .copy_from_slice(&((header + offset) as u16).to_be_bytes());
    let at = 14 + header + 4;
    cut.get_mut(at..at + 4)?.copy_from_slice(&seq.to_be_bytes());
    Some(len)
}

pub(super) struct WatchTx<'t, 'w, 'o, T> {
    inner: T,
    sent: &'t mut Sent<'w, 'o>,
}

impl<T: TxToken> TxToken for WatchTx<'_, '_, '_, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let sent = self.sent;
        let mut event = None;
        let result = self.inner.consume(len, |buf| {
            let result = f(buf);
            event = sent.record(buf);
            result
        });
        sent.tell(event);
        result
    }

    fn set_meta(&mut self, meta: smoltcp::phy::PacketMeta) {
        self.inner.set_meta(meta);
    }
}

impl<'w, 'o, D: Device> Device for Watch<'w, 'o, D> {
    type RxToken<'t>
        = WatchRx<D::RxToken<'t>>
    where
        Self: 't;
    type TxToken<'t>
        = WatchTx<'t, 'w, 'o, D::TxToken<'t>>
    where
        Self: 't;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let Watch {
            device,
            sent,
            fin_only,
            ..
        } = self;
        let fin_only = core::mem::take(fin_only);
        device.receive(timestamp).map(|(rx, tx)| {
            (
                WatchRx {
                    inner: rx,
                    fin_only,
                },
                WatchTx { inner: tx, sent },
            )
        })
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        let Watch {
            device, sent, cut, ..
        } = self;
        let tx = device.transmit(timestamp);
        *cut |= tx.is_none();
        tx.map(|tx| WatchTx { inner: tx, sent })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }
}

/// The device as smoltcp's `Interface` sees it when it is created (it reads
/// the capabilities once, then): the real device, except that received
/// checksums count as verified. The gate verifies every checksum of each
/// frame before smoltcp may take it, and drops a bad one with its own
/// reason; smoltcp's verifying again read every payload a second time
/// (5% of the instructions of a bulk transfer, scripts/bench-cpu.sh).
/// Checksums of sent frames are computed as the device asks, those of TCP
/// segments by [`WatchTx`] rather than by smoltcp (except on the firmware:
/// [`STACK_FILLS_TCP`]): the stack's word-wide
/// sum ([`checksum::sum`]) takes about 0.27 instructions a byte on x86-64
/// where smoltcp's takes 0.58, and a bulk sender sums every byte it sends.
pub(super) struct GateChecked<'d, D>(pub(super) &'d mut D);

impl<D: Device> Device for GateChecked<'_, D> {
    type RxToken<'t>
        = D::RxToken<'t>
    where
        Self: 't;
    type TxToken<'t>
        = D::TxToken<'t>
    where
        Self: 't;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.0.receive(timestamp)
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.0.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        use smoltcp::phy::Checksum;
        let tx_only = |c: &mut Checksum| {
            *c = match *c {
                Checksum::Both | Checksum::Tx => Checksum::Tx,
                Checksum::Rx | Checksum::None => Checksum::None,
            }
        };
        let mut caps = self.0.capabilities();
        tx_only(&mut caps.checksum.ipv4);
        if STACK_FILLS_TCP {
            // Computed by the stack when the device wants them (`fills_tcp`).
            caps.checksum.tcp = Checksum::None;
        } else {
            tx_only(&mut caps.checksum.tcp);
        }
        tx_only(&mut caps.checksum.udp);
        tx_only(&mut caps.checksum.icmpv4);
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, Ipv4Address, Ipv4Packet,
        Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };

    const OURS: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);
    const PEER: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);

    type Bytes = heapless::Vec<u8, 128>;

    /// An Ethernet frame with `tcp` from OURS to PEER, as smoltcp emits it.
    fn frame(tcp: &TcpRepr<'_>) -> Bytes {
        let ip = Ipv4Repr {
            src_addr: OURS,
            dst_addr: PEER,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut bytes = Bytes::new();
        let len = 14 + ip.buffer_len() + tcp.buffer_len();
        assert!(bytes.resize(len, 0).is_ok(), "a test frame fits");
        let caps = ChecksumCapabilities::default();
        let mut eth = EthernetFrame::new_unchecked(&mut bytes[..]);
        EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: EthernetProtocol::Ipv4,
        }
        .emit(&mut eth);
        let mut packet = Ipv4Packet::new_unchecked(eth.payload_mut());
        ip.emit(&mut packet, &caps);
        let mut segment = TcpPacket::new_unchecked(packet.payload_mut());
        tcp.emit(&mut segment, &OURS.into(), &PEER.into(), &caps);
        bytes
    }

    fn repr<'a>(control: TcpControl, ack: Option<u32>, payload: &'a [u8]) -> TcpRepr<'a> {
        TcpRepr {
            src_port: 7,
            dst_port: 49152,
            control,
            seq_number: TcpSeqNumber(u32::MAX as i32 - 1),
            ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
            window_len: 1024,
            window_scale: Some(7),
            max_seg_size: Some(1460),
            sack_permitted: true,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        }
    }

    #[test]
    fn a_sent_segment_reads_as_the_general_parse_reads_it() {
        let cases = [
            repr(TcpControl::Syn, None, b""),
            repr(TcpControl::Syn, Some(1), b""),
            repr(TcpControl::None, Some(77), b"hello, world\n"),
            repr(TcpControl::Fin, Some(77), b"bye"),
            repr(TcpControl::Rst, None, b""),
        ];
        for tcp in &cases {
            let bytes = frame(tcp);
            let read = SentTcp4::read(&bytes).expect("an IPv4 TCP segment");
            assert!(read.agrees(&bytes), "{tcp:?}");
            let parsed = Frame::parse(&bytes);
            let general = Segment::in_frame(Direction::Tx, parsed.as_ref()).expect("TCP");
            assert_eq!(read.segment.len, general.len, "{tcp:?}");
            assert_eq!(read.segment.ack, general.ack, "{tcp:?}");
            assert_eq!(read.segment.remote, general.remote, "{tcp:?}");
            assert_eq!((read.segment.local_port, read.src), (7, OURS));
            assert_eq!(read.tcp, 34..bytes.len(), "{tcp:?}");
        }
    }

    #[test]
    fn a_segment_cut_to_its_fin_keeps_everything_but_the_data() {
        let bytes = frame(&repr(TcpControl::Fin, Some(77), b"old data"));
        let mut cut = [0u8; FIN_ONLY_MAX];
        let len = fin_only(&bytes, &mut cut).expect("an IPv4 TCP segment");
        let (ip, tcp) = (
            Ipv4Packet::new_checked(&cut[14..len]).expect("IPv4"),
            TcpPacket::new_checked(&cut[34..len]).expect("TCP"),
        );
        let was = TcpPacket::new_unchecked(&bytes[34..]);
        assert_eq!(usize::from(ip.total_len()), 20 + was.header_len() as usize);
        assert!(tcp.payload().is_empty() && tcp.fin() && tcp.ack());
        assert_eq!(
            tcp.seq_number(),
            was.seq_number() + 8,
            "where the data ended"
        );
        assert_eq!(
            (tcp.ack_number(), tcp.window_len(), tcp.options()),
            (was.ack_number(), was.window_len(), was.options())
        );
        assert!(fin_only(&bytes[..40], &mut cut).is_none(), "cut short");
    }

    #[test]
    fn anything_else_takes_the_general_parse() {
        let good = frame(&repr(TcpControl::None, Some(1), b"data"));
        let mut fragment = good.clone();
        fragment[14 + 6] |= 0x20; // more fragments
        let mut udp = good.clone();
        udp[14 + 9] = 17;
        let mut long = good.clone();
        long[14 + 3] += 1; // total length past the frame
        let mut offset = good.clone();
        offset[34 + 12] = 0xf0; // a TCP header of 60 bytes in a 44-byte segment
        let mut arp = good.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let short = Bytes::from_slice(&good[..40]).unwrap_or_default();
        for bad in [fragment, udp, long, offset, arp, short] {
            assert!(SentTcp4::read(&bad).is_none());
        }
    }
}
