//! A driver for the Ethernet MAC inside TI's Stellaris LM3S6965 (and the
//! other Stellaris parts with one: LM3S6xxx, LM3S8962, LM3S9B9x): no DMA,
//! no allocation, no interrupts needed (one may wake a sleeping core, see
//! [`RxInterrupt`]).
//!
//! Layer: link. Depends on smoltcp's `phy` and `wire` types and on
//! [`super::bus`] only.
//!
//! The MAC and its PHY sit on the chip's peripheral bus, a window of
//! 32-bit registers at `0x4004_8000` ([`LM3S6965_BASE`]); QEMU emulates it
//! as `-M lm3s6965evb` with `-nic ...,model=stellaris`. Unlike the
//! LAN9118 ([`super::lan9118`]) it has no status FIFO: one data register,
//! `MACDATA`, is the port of both FIFOs (2 KiB each), and each frame in
//! either FIFO starts with its length in the first two bytes of its first
//! word.
//!
//! # What [`Stellaris::new`] does
//!
//! 1. Masks every interrupt source (`MACIM = 0`: polled until a board asks
//!    for [`RxInterrupt::set_rx_interrupt`]) and clears what is pending
//!    (`MACIACK`). The reset value of `MACIM` unmasks them all.
//! 2. Clears the RX FIFO with the receiver off (`MACRCTL.RSTFIFO`).
//! 3. Writes the MAC address to `MACIA0` (octets 0-3, least significant
//!    first) and `MACIA1` (octets 4-5) and reads `MACIA0` back: a window
//!    with no MAC behind it does not keep it ([`InitError::NoMac`]).
//! 4. `MACTHR` at `0x3F`: a frame leaves only when `MACTR.NEWTX` is set.
//! 5. Turns the transmitter on with padding, CRC generation and full duplex
//!    (`MACTCTL = TXEN | PADEN | CRC | DUPLEX`), then the receiver, which
//!    rejects frames with a bad CRC (`MACRCTL = RXEN | BADCRC`).
//!
//! # The tokens
//!
//! `MACNP` counts the frames in the RX FIFO. The first word of a frame
//! holds its length `FL` in bits 15:0 (the two length bytes, the frame
//! and its 4-byte FCS, all counted) and the frame's first two bytes in
//! bits 31:16; `ceil(FL / 4)` words in all. The driver reads them into its
//! receive buffer, keeping the frame without the FCS, and the [`RxToken`]
//! hands smoltcp that buffer, which also serves [`Link::peek`]. A frame
//! too long for the buffer, or too short to be Ethernet, is read out and
//! dropped ([`Stats::rx_errors`]). A length prefix that no frame can have
//! (over the FIFO's 2 KiB, or under its own 6 bytes) means the FIFO has
//! lost its place: the driver clears it (`RSTFIFO`, receiver off and on
//! again) and counts one error; the frames in it are lost. An overflow
//! (`MACRIS.FOV`: a frame arrived with the FIFO full, and the MAC dropped
//! it) is counted in [`Stats::rx_overflows`].
//!
//! [`Device::transmit`] hands out a [`TxToken`] only when the transmitter
//! is idle (`MACTR.NEWTX` clear: the FIFO holds one frame at a time). The
//! token lets smoltcp build the frame in the driver's transmit buffer,
//! then writes its first word (the length of the frame less its 14-byte
//! header, and the frame's first two bytes), the rest of the frame in
//! words, and sets `MACTR.NEWTX`. The MAC pads short frames and appends
//! the FCS.
//!
//! # Example
//!
//! The driver against the fake MAC: frames delivered to it come out of
//! smoltcp's receive tokens in order, without their FCS.
//!
//! ```
//! use layernet::EthernetAddress;
//! use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
//! use smoltcp::phy::{Device, RxToken};
//!
//! let mut nic = Stellaris::new(FakeStellaris::new(), EthernetAddress([2, 0, 0, 0, 0, 1]))?;
//! nic.registers().deliver(&[0xff; 60])?;
//! nic.registers().deliver(&[0xee; 61])?;
//! let (rx, _tx) = nic.receive(layernet::Instant::ZERO).ok_or("no frame")?;
//! assert_eq!(rx.consume(|frame| frame.len()), 60);
//! let (rx, _tx) = nic.receive(layernet::Instant::ZERO).ok_or("no frame")?;
//! assert_eq!(rx.consume(|frame| (frame.len(), frame[60])), (61, 0xee));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod fake;
mod reg;

pub use super::bus::{Mmio, Registers};

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::EthernetAddress;

use super::{Link, RxInterrupt};

/// Bytes of each of the driver's two frame buffers unless its `FRAME`
/// parameter says otherwise: the largest Ethernet frame with its FCS
/// (1518 bytes, 1522 with a VLAN tag), rounded up to whole words with room
/// to spare, as the LAN9118 driver's.
///
/// ```
/// use layernet::link::stellaris::FRAME_BUFFER;
/// assert!(FRAME_BUFFER >= 1522 && FRAME_BUFFER % 4 == 0);
/// ```
pub const FRAME_BUFFER: usize = 1536;

/// The Ethernet MAC's register window on the LM3S6965 (and QEMU's
/// `lm3s6965evb`).
pub const LM3S6965_BASE: usize = 0x4004_8000;

/// The MAC's interrupt line on the LM3S6965 (its NVIC interrupt number).
pub const LM3S6965_IRQ: u16 = 42;

/// How many times the driver reads `MACTR` waiting for the previous frame
/// to leave before it drops a reply: longer than a full frame takes at
/// 10 Mbit/s on any clock the part runs at.
const SPIN_LIMIT: u32 = 100_000;

/// The frame check sequence each received frame ends with.
const FCS_LEN: usize = 4;
/// An Ethernet header: the least a frame must have.
const HEADER_LEN: usize = 14;

/// Why the MAC could not be brought up.
///
/// ```
/// use layernet::link::stellaris::{InitError, Stellaris, fake::FakeStellaris};
/// let mut mac = FakeStellaris::new();
/// mac.unplug();
/// let err = Stellaris::new(mac, layernet::net::DEFAULT_MAC).err();
/// assert_eq!(err.map(|e| e.reason()), Some(InitError::NoMac));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitError {
    /// `MACIA0` did not keep the address written to it: no MAC at that
    /// address, or its clock is off (on hardware, `RCGC2.EMAC0`).
    NoMac,
}

impl InitError {
    /// The error's text, as `Display` shows it: a board's firmware can
    /// print it without `core::fmt` (the tiny build links none).
    ///
    /// ```
    /// use layernet::link::stellaris::InitError;
    /// assert_eq!(InitError::NoMac.as_str(), InitError::NoMac.to_string());
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            InitError::NoMac => "no Stellaris MAC answers: MACIA0 does not keep its address",
        }
    }
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for InitError {}

/// A failed [`Stellaris::new`]: the reason, and the registers handed back.
///
/// ```
/// use layernet::link::stellaris::{InitError, Stellaris, fake::FakeStellaris};
/// let mut mac = FakeStellaris::new();
/// mac.unplug();
/// let failed = Stellaris::new(mac, layernet::net::DEFAULT_MAC).err().ok_or("came up")?;
/// assert_eq!(failed.reason(), InitError::NoMac);
/// let mut mac: FakeStellaris = failed.into_registers();
/// mac.plug_in();
/// assert!(Stellaris::new(mac, layernet::net::DEFAULT_MAC).is_ok());
/// # Ok::<(), &str>(())
/// ```
pub type Failed<R> = super::bus::Failed<InitError, R>;

/// What the driver counted.
///
/// ```
/// use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
/// let nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
/// assert_eq!(nic.stats().rx_frames, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames read from the RX FIFO and kept.
    pub rx_frames: u64,
    /// Frames read out and dropped (too long for the driver's `FRAME`
    /// buffer, too short for Ethernet), receive errors the MAC flagged
    /// (`MACRIS.RXER`), and FIFO clears after a bad length prefix.
    pub rx_errors: u64,
    /// Frames the MAC dropped because its RX FIFO was full (`MACRIS.FOV`).
    pub rx_overflows: u64,
    /// Frames handed to the transmitter.
    pub tx_frames: u64,
    /// Frames the transmitter refused (`MACRIS.TXER`), or shorter than an
    /// Ethernet header.
    pub tx_errors: u64,
    /// Times `transmit` refused, or a reply was dropped, because the
    /// transmitter was still sending.
    pub tx_full: u64,
}

/// A Stellaris Ethernet MAC as a smoltcp [`Device`] and a layernet [`Link`].
///
/// ```
/// use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
/// use layernet::net::{Config, Resources, Stack};
///
/// let config = Config::default();
/// let mut nic = Stellaris::new(FakeStellaris::new(), config.mac)?;
/// let mut memory: Resources<'_, 3, 1, 1, 256> = Resources::new();
/// let stack = Stack::new(config, &mut nic, &mut memory, layernet::Instant::ZERO)?;
/// assert_eq!(stack.free_tcp_sockets(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Frame buffers
///
/// Two buffers of `FRAME` bytes, as the LAN9118 driver has and for the
/// same reason (smoltcp may answer from inside a received frame). `FRAME`
/// counts a frame with its FCS: the MTU reported to smoltcp is `FRAME - 4`
/// (at most 1514), and a longer frame arriving is dropped.
///
/// ```
/// use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
/// use smoltcp::phy::Device;
/// let small = Stellaris::<_, 596>::with_frame(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
/// assert_eq!(small.capabilities().max_transmission_unit, 14 + 578);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Stellaris<R: Registers, const FRAME: usize = FRAME_BUFFER> {
    mac: EthernetAddress,
    rx: [u8; FRAME],
    rx_len: Option<usize>,
    out: Out<R, FRAME>,
}

/// What a transmit token borrows: everything but the receive buffer.
#[derive(Debug)]
struct Out<R, const FRAME: usize> {
    regs: R,
    buf: [u8; FRAME],
    stats: Stats,
}

impl<R: Registers> Stellaris<R> {
    /// Bring the MAC behind `regs` up with address `mac`: transmitter and
    /// receiver on, full duplex, interrupts masked.
    ///
    /// # Errors
    ///
    /// [`InitError::NoMac`] if the address does not read back; the
    /// registers come back inside the [`Failed`].
    ///
    /// ```
    /// use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
    /// let nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
    /// assert_eq!(nic.mac_address(), layernet::net::DEFAULT_MAC);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(regs: R, mac: EthernetAddress) -> Result<Self, Failed<R>> {
        Self::with_frame(regs, mac)
    }
}

impl<R: Registers, const FRAME: usize> Stellaris<R, FRAME> {
    /// [`Stellaris::new`] with frame buffers of `FRAME` bytes (see "Frame
    /// buffers" above). `FRAME` must be whole words and hold IPv4's
    /// smallest MTU (68 bytes) with the Ethernet header and FCS; otherwise
    /// this fails to compile.
    ///
    /// # Errors
    ///
    /// Those of [`Stellaris::new`].
    ///
    /// ```
    /// use layernet::link::{Link, stellaris::{Stellaris, fake::FakeStellaris}};
    /// let mut nic = Stellaris::<_, 128>::with_frame(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.registers().deliver(&[0xff; 200])?;
    /// assert!(nic.peek(layernet::Instant::ZERO).is_none());
    /// assert_eq!(nic.stats().rx_errors, 1, "longer than the buffer");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_frame(regs: R, mac: EthernetAddress) -> Result<Self, Failed<R>> {
        const {
            assert!(
                FRAME.is_multiple_of(4) && FRAME >= 68 + HEADER_LEN + FCS_LEN,
                "FRAME: whole words, at least IPv4's minimum MTU with header and FCS"
            )
        };
        let mut nic = Stellaris {
            mac,
            rx: [0; FRAME],
            rx_len: None,
            out: Out {
                regs,
                buf: [0; FRAME],
                stats: Stats::default(),
            },
        };
        match nic.bring_up() {
            Ok(()) => Ok(nic),
            Err(reason) => Err(Failed::new(reason, nic.out.regs)),
        }
    }

    fn bring_up(&mut self) -> Result<(), InitError> {
        let regs = &mut self.out.regs;
        regs.write(reg::IM, 0);
        regs.write(reg::RIS_IACK, reg::INT_ALL);
        regs.write(reg::RCTL, reg::RCTL_BADCRC | reg::RCTL_RSTFIFO);
        let m = self.mac.0;
        let ia0 = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
        regs.write(reg::IA0, ia0);
        regs.write(reg::IA1, u32::from_le_bytes([m[4], m[5], 0, 0]));
        if regs.read(reg::IA0) != ia0 {
            return Err(InitError::NoMac);
        }
        regs.write(reg::THR, reg::THR_OFF);
        regs.write(
            reg::TCTL,
            reg::TCTL_TXEN | reg::TCTL_PADEN | reg::TCTL_CRC | reg::TCTL_DUPLEX,
        );
        regs.write(reg::RCTL, reg::RCTL_BADCRC | reg::RCTL_RXEN);
        Ok(())
    }

    /// The address programmed into the MAC.
    ///
    /// ```
    /// use layernet::{EthernetAddress, link::stellaris::{Stellaris, fake::FakeStellaris}};
    /// let mac = EthernetAddress([2, 0, 0, 0, 0, 0x42]);
    /// assert_eq!(Stellaris::new(FakeStellaris::new(), mac)?.mac_address(), mac);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mac_address(&self) -> EthernetAddress {
        self.mac
    }

    /// What the driver counted so far.
    ///
    /// ```
    /// use layernet::link::{Link, stellaris::{Stellaris, fake::FakeStellaris}};
    /// let mut nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.registers().deliver(&[0u8; 8])?; // shorter than an Ethernet header
    /// assert!(nic.peek(layernet::Instant::ZERO).is_none());
    /// assert_eq!(nic.stats().rx_errors, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.out.stats
    }

    /// The register access, for board code and tests (the fake's
    /// inspection methods are reached this way).
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, Stellaris, fake::FakeStellaris};
    /// let mut nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
    /// assert_eq!(nic.registers().read(0x34), 0, "MACNP: no frame waiting");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn registers(&mut self) -> &mut R {
        &mut self.out.regs
    }

    /// Pass every multicast frame (`MACRCTL.AMUL`), or none (the state
    /// after `new`: own address and broadcast only). The MAC has no hash
    /// filter.
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, Stellaris, fake::FakeStellaris};
    /// let mut nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.set_all_multicast(true);
    /// assert_ne!(nic.registers().read(0x08) & (1 << 1), 0, "MACRCTL.AMUL");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_all_multicast(&mut self, on: bool) {
        let regs = &mut self.out.regs;
        let rctl = regs.read(reg::RCTL) & !(reg::RCTL_AMUL | reg::RCTL_RSTFIFO);
        regs.write(reg::RCTL, if on { rctl | reg::RCTL_AMUL } else { rctl });
    }

    /// Count and clear the receive-side error interrupts.
    fn note_errors(&mut self) {
        let regs = &mut self.out.regs;
        let ris = regs.read(reg::RIS_IACK);
        let errors = ris & (reg::INT_FOV | reg::INT_RXER);
        if errors != 0 {
            regs.write(reg::RIS_IACK, errors);
            let stats = &mut self.out.stats;
            stats.rx_overflows += u64::from(ris & reg::INT_FOV != 0);
            stats.rx_errors += u64::from(ris & reg::INT_RXER != 0);
        }
    }

    /// Read the next good frame from the RX FIFO into the receive buffer,
    /// unless one is buffered already.
    fn fill(&mut self) {
        self.note_errors();
        // Bounded: bad frames are skipped, but a FIFO full of them must not
        // keep one poll busy for long.
        for _ in 0..8 {
            if self.rx_len.is_some() || self.out.regs.read(reg::NP) & reg::NP_MASK == 0 {
                return;
            }
            let first = self.out.regs.read(reg::DATA);
            let fl = (first & 0xFFFF) as usize;
            if !(reg::PREFIX + FCS_LEN..=reg::FIFO_BYTES).contains(&fl) {
                self.reset_rx_fifo();
                return;
            }
            // The frame with its FCS, without the length prefix.
            let stored = fl - reg::PREFIX;
            let good = stored <= FRAME && stored >= HEADER_LEN + FCS_LEN;
            for i in 0..fl.div_ceil(4) {
                let word = if i == 0 {
                    first
                } else {
                    self.out.regs.read(reg::DATA)
                };
                if !good {
                    continue;
                }
                for (k, byte) in word.to_le_bytes().into_iter().enumerate() {
                    // Byte k of word i is byte 4i + k of the FIFO's stream,
                    // which is the prefix and then the frame.
                    let at = (4 * i + k).wrapping_sub(reg::PREFIX);
                    if at < stored
                        && let Some(slot) = self.rx.get_mut(at)
                    {
                        *slot = byte;
                    }
                }
            }
            if good {
                self.rx_len = Some(stored - FCS_LEN);
                self.out.stats.rx_frames += 1;
            } else {
                self.out.stats.rx_errors += 1;
            }
        }
    }

    /// A length prefix no frame can have: the FIFO lost its place, and only
    /// clearing it (receiver off while `RSTFIFO` is written) gets it back.
    fn reset_rx_fifo(&mut self) {
        let regs = &mut self.out.regs;
        let rctl = regs.read(reg::RCTL) & !(reg::RCTL_RXEN | reg::RCTL_RSTFIFO);
        regs.write(reg::RCTL, rctl);
        regs.write(reg::RCTL, rctl | reg::RCTL_RSTFIFO);
        regs.write(reg::RCTL, rctl | reg::RCTL_RXEN);
        self.out.stats.rx_errors += 1;
    }
}

impl<R: Registers, const FRAME: usize> Link for Stellaris<R, FRAME> {
    fn peek(&mut self, _now: Instant) -> Option<&[u8]> {
        self.fill();
        let len = self.rx_len?;
        self.rx.get(..len)
    }

    fn discard(&mut self, _now: Instant) {
        self.rx_len = None;
    }
}

/// The MAC's receive interrupt (`MACIM.RXINT`); on the LM3S6965 it is
/// NVIC line 42 ([`LM3S6965_IRQ`]).
impl<R: Registers, const FRAME: usize> RxInterrupt for Stellaris<R, FRAME> {
    fn set_rx_interrupt(&mut self, on: bool) {
        self.out
            .regs
            .write(reg::IM, if on { reg::INT_RX } else { 0 });
    }

    fn rx_ready(&mut self) -> bool {
        self.out.regs.write(reg::RIS_IACK, reg::INT_RX);
        self.rx_len.is_some() || self.out.regs.read(reg::NP) & reg::NP_MASK != 0
    }
}

/// Receive token: the frame already sits in the driver's buffer, read out
/// of the RX FIFO.
///
/// ```
/// use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
/// use smoltcp::phy::{Device, RxToken};
/// let mut nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
/// nic.registers().deliver(b"0123456789abcdefghijklmnopqrstuvwxyz")?;
/// let (rx, _) = nic.receive(layernet::Instant::ZERO).ok_or("nothing")?;
/// assert_eq!(rx.consume(|f| f[..4].to_vec()), b"0123");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<T, F: FnOnce(&[u8]) -> T>(self, f: F) -> T {
        f(self.frame)
    }
}

/// Transmit token: smoltcp builds the frame in the driver's buffer, then
/// the token writes it into the TX FIFO and starts the transmitter.
///
/// ```
/// use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
/// use smoltcp::phy::{Device, TxToken};
/// let mut nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
/// let tx = nic.transmit(layernet::Instant::ZERO).ok_or("busy")?;
/// tx.consume(42, |frame| frame.fill(0xab));
/// let sent = nic.registers().take_sent().ok_or("nothing sent")?;
/// assert_eq!(sent[..42], [0xab; 42]);
/// assert_eq!(sent.len(), 60, "padded by the MAC");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TxToken<'a, R: Registers, const FRAME: usize = FRAME_BUFFER> {
    out: &'a mut Out<R, FRAME>,
}

impl<R: Registers, const FRAME: usize> phy::TxToken for TxToken<'_, R, FRAME> {
    fn consume<T, F: FnOnce(&mut [u8]) -> T>(self, len: usize, f: F) -> T {
        let out = self.out;
        // smoltcp asks for at most `capabilities()`' MTU; the clamp keeps a
        // misbehaving caller from overrunning the buffer.
        let len = len.min(FRAME - FCS_LEN);
        let frame = &mut out.buf[..len];
        let result = f(frame);
        if len < HEADER_LEN {
            out.stats.tx_errors += 1;
            return result;
        }
        // A token paired with a received frame was handed out without
        // looking at the transmitter: wait for the frame before to leave,
        // or drop this one, as on a busy wire.
        if !(0..SPIN_LIMIT).any(|_| out.regs.read(reg::TR) & reg::TR_NEWTX == 0) {
            out.stats.tx_full += 1;
            return result;
        }
        let payload = (len - HEADER_LEN) as u32;
        let first = payload | (u32::from(frame[0]) << 16) | (u32::from(frame[1]) << 24);
        out.regs.write(reg::DATA, first);
        for chunk in frame[reg::PREFIX..].chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            out.regs.write(reg::DATA, u32::from_le_bytes(word));
        }
        out.regs.write(reg::TR, reg::TR_NEWTX);
        let ris = out.regs.read(reg::RIS_IACK);
        if ris & reg::INT_TXER != 0 {
            // Acknowledging TXER also empties the TX FIFO.
            out.regs.write(reg::RIS_IACK, reg::INT_TXER);
            out.stats.tx_errors += 1;
        } else {
            out.stats.tx_frames += 1;
        }
        if ris & reg::INT_TXEMP != 0 {
            out.regs.write(reg::RIS_IACK, reg::INT_TXEMP);
        }
        result
    }
}

impl<R: Registers, const FRAME: usize> Device for Stellaris<R, FRAME> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, R, FRAME>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.fill();
        let len = self.rx_len.take()?;
        Some((
            RxToken {
                frame: self.rx.get(..len)?,
            },
            TxToken { out: &mut self.out },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Self::TxToken<'_>> {
        if self.out.regs.read(reg::TR) & reg::TR_NEWTX != 0 {
            self.out.stats.tx_full += 1;
            return None;
        }
        Some(TxToken { out: &mut self.out })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        // 1500 bytes of IP and the 14-byte header, or what a smaller buffer
        // holds of them; the MAC adds the FCS.
        caps.max_transmission_unit = (FRAME - FCS_LEN).min(1514);
        caps.max_burst_size = Some(1);
        caps
    }
}

#[cfg(test)]
mod tests;
