//! A driver for the SMSC (Microchip) LAN9118 and LAN9220 Ethernet
//! controllers: no DMA, no interrupts needed, no allocation.
//!
//! Layer: link. Depends on smoltcp's `phy` and `wire` types only.
//!
//! The LAN9118 is a MAC and PHY behind a 32-bit memory bus. Software talks
//! to it through a window of registers and four FIFOs: frames go out by
//! writing two command words and the frame's bytes into the TX data FIFO,
//! and come in as one status word in the RX status FIFO followed by the
//! frame's bytes (with the 4-byte FCS) in the RX data FIFO. Boards that
//! carry one: Arm's MPS2 (emulated by QEMU as `mps2-an386`, at
//! `0x4020_0000`), many older evaluation boards, and any design with a
//! LAN9220 on an external memory bus.
//!
//! The driver reaches the chip through [`Registers`] (a 32-bit read and
//! write at an offset). On a board that is [`Mmio`], volatile accesses to
//! the memory-mapped window; in tests it is [`fake::FakeLan9118`], which
//! models the registers and FIFOs well enough to run the driver against.
//! The register map is `reg.rs`, the bus access (`Registers`, `Mmio`)
//! [`super::bus`]; this file keeps bring-up, the filters and the tokens, which
//! follow the chip's FIFO protocol step by step and read best together.
//!
//! # What [`Lan9118::new`] does
//!
//! 1. Checks `BYTE_TEST` reads `0x8765_4321` (the bus works and is not
//!    byte-swapped).
//! 2. Soft reset through `HW_CFG.SRST`, then waits for `PMT_CTRL.READY`.
//! 3. Writes the MAC address through the MAC CSR window (`MAC_CSR_CMD` and
//!    `MAC_CSR_DATA`, registers `ADDRL` and `ADDRH`).
//! 4. Sets `MAC_CR` to `TXEN | RXEN | FDPX`. `RXEN` is clear after reset,
//!    and then the MAC drops every frame it receives: forgetting it is the
//!    classic "transmit works, nothing comes back" bug.
//! 5. Turns the transmitter on (`TX_CFG.TX_ON`).
//!
//! # Multicast filter
//!
//! After `new` the MAC accepts frames to its own address and to the
//! broadcast address, nothing else: IPv4 with ARP, which is all the stack
//! speaks, needs no multicast. [`Lan9118::set_multicast`] changes that:
//! [`Multicast::All`] sets `MAC_CR.MCPAS` (every multicast frame passes),
//! [`Multicast::Hash`] loads the 64-bit `HASHH:HASHL` table and sets
//! `MAC_CR.HPFILT` (a multicast frame passes when the bit selected by the
//! top six bits of the CRC-32 of its destination address is set; see
//! [`Multicast::hash_bit`]), and [`Multicast::None`] goes back to none.
//! Promiscuous mode (`MAC_CR.PRMS`) is not offered: a stack has no use
//! for frames to other hosts.
//!
//! # The tokens
//!
//! The RX status FIFO says how long the next frame is; the driver reads the
//! frame's words from the RX data FIFO into its receive buffer (the FCS is
//! read too, to keep the FIFO aligned, and then left out), and the
//! [`RxToken`] hands smoltcp that buffer. A frame with the error bit set in
//! its status (bad CRC, runt, too long, collision) is read out and dropped,
//! and counted in [`Stats::rx_errors`]. The buffer is what lets
//! [`Link::peek`] show a frame before smoltcp takes it.
//!
//! [`Device::transmit`] hands out a [`TxToken`] only when the TX data FIFO
//! has room for a full frame; otherwise smoltcp keeps the packet and tries
//! on its next poll. The token lets smoltcp build the frame in the driver's
//! transmit buffer and then writes command word A (first and last segment,
//! buffer length), command word B (a tag and the frame length) and the
//! frame's words into the TX data FIFO. The MAC adds the FCS and pads
//! short frames.
//!
//! # Example
//!
//! The driver against the fake chip: a frame delivered to the chip comes
//! out of smoltcp's receive token without its FCS.
//!
//! ```
//! use layernet::EthernetAddress;
//! use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
//! use smoltcp::phy::{Device, RxToken};
//!
//! let mut nic = Lan9118::new(FakeLan9118::new(), EthernetAddress([2, 0, 0, 0, 0, 1]))?;
//! nic.registers().deliver(&[0xff; 60])?;
//! let (rx, _tx) = nic.receive(layernet::Instant::ZERO).ok_or("no frame")?;
//! assert_eq!(rx.consume(|frame| frame.len()), 60);
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
/// parameter says otherwise: the largest Ethernet frame (1518 bytes with
/// its FCS, 1522 with a VLAN tag) rounded up to a whole number of 32-bit
/// FIFO words, with room to spare.
///
/// ```
/// use layernet::link::lan9118::FRAME_BUFFER;
/// assert!(FRAME_BUFFER >= 1522 && FRAME_BUFFER % 4 == 0);
/// ```
pub const FRAME_BUFFER: usize = 1536;

/// The register window of the MPS2 boards' LAN9118 (QEMU's `mps2-an385`
/// and `mps2-an386` among them).
pub const MPS2_BASE: usize = 0x4020_0000;

/// How many times the driver reads a busy or not-ready bit before it gives
/// up: far longer than the chip needs (microseconds), short enough that a
/// missing chip is reported rather than hanging the board.
const SPIN_LIMIT: u32 = 100_000;

/// The frame check sequence the MAC leaves at the end of each received frame.
const FCS_LEN: usize = 4;

/// Why the chip could not be brought up.
///
/// ```
/// use layernet::link::lan9118::{InitError, Lan9118, fake::FakeLan9118};
/// let mut chip = FakeLan9118::new();
/// chip.unplug();
/// let err = Lan9118::new(chip, layernet::net::DEFAULT_MAC).err();
/// assert_eq!(err.map(|e| e.reason()), Some(InitError::NoChip));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitError {
    /// `BYTE_TEST` did not read `0x8765_4321`: no chip at that address, a
    /// bus fault, or a byte-swapped bus.
    NoChip,
    /// The soft reset did not finish, or `PMT_CTRL.READY` never came up.
    NotReady,
    /// The MAC CSR or MII interface stayed busy.
    Busy,
}

impl InitError {
    /// The error's text, as `Display` shows it: a board's firmware can
    /// print it without `core::fmt` (the tiny build links none).
    ///
    /// ```
    /// use layernet::link::lan9118::InitError;
    /// assert_eq!(InitError::Busy.as_str(), InitError::Busy.to_string());
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            InitError::NoChip => "no LAN9118 answers: BYTE_TEST is not 0x87654321",
            InitError::NotReady => "the LAN9118 did not become ready after its reset",
            InitError::Busy => "the LAN9118's MAC CSR interface stayed busy",
        }
    }
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for InitError {}

/// A failed [`Lan9118::new`]: the reason, and the registers handed back.
///
/// ```
/// use layernet::link::lan9118::{InitError, Lan9118, fake::FakeLan9118};
/// let mut chip = FakeLan9118::new();
/// chip.never_ready();
/// let failed = Lan9118::new(chip, layernet::net::DEFAULT_MAC).err().ok_or("came up")?;
/// assert_eq!(failed.reason(), InitError::NotReady);
/// let _chip_again: FakeLan9118 = failed.into_registers();
/// # Ok::<(), &str>(())
/// ```
pub type Failed<R> = super::bus::Failed<InitError, R>;

/// Which multicast frames the MAC passes up (see the module docs).
///
/// ```
/// use layernet::link::lan9118::{Lan9118, Multicast, fake::FakeLan9118};
/// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// // All-hosts, 224.0.0.1, maps to 01:00:5e:00:00:01.
/// let bit = Multicast::hash_bit(layernet::EthernetAddress([1, 0, 0x5e, 0, 0, 1]));
/// nic.set_multicast(Multicast::Hash(1 << bit))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multicast {
    /// None: own address and broadcast only (the state after `new`).
    None,
    /// Every multicast frame (`MAC_CR.MCPAS`).
    All,
    /// Those whose hash bit is set in this 64-bit table (`HASHH:HASHL`
    /// with `MAC_CR.HPFILT`); bit `n` of the value is table bit `n`.
    Hash(u64),
}

impl Multicast {
    /// The hash-table bit the MAC looks up for destination `addr`: the
    /// six most significant bits of the Ethernet CRC-32 of the address.
    ///
    /// ```
    /// use layernet::{EthernetAddress, link::lan9118::Multicast};
    /// let bit = Multicast::hash_bit(EthernetAddress([1, 0, 0x5e, 0, 0, 0xfb])); // mDNS
    /// assert!(bit < 64);
    /// ```
    pub fn hash_bit(addr: EthernetAddress) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for byte in addr.0 {
            let mut b = byte;
            for _ in 0..8 {
                // The MAC's CRC is the IEEE 802.3 one, fed least significant bit first.
                let carry = ((crc >> 31) ^ u32::from(b & 1)) & 1;
                crc <<= 1;
                if carry != 0 {
                    crc ^= 0x04C1_1DB7;
                }
                b >>= 1;
            }
        }
        crc >> 26
    }
}

/// What the driver counted.
///
/// ```
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// assert_eq!(nic.stats().rx_frames, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames read from the RX FIFOs and kept.
    pub rx_frames: u64,
    /// Frames the MAC flagged as bad, or too long for the driver's `FRAME`
    /// buffer, read out and dropped.
    pub rx_errors: u64,
    /// Frames written to the TX FIFO.
    pub tx_frames: u64,
    /// TX status words with the error bit set (collisions, carrier loss).
    pub tx_errors: u64,
    /// Times `transmit` refused because the TX FIFO had no room for a frame.
    pub tx_full: u64,
}

/// A LAN9118 as a smoltcp [`Device`] and a layernet [`Link`].
///
/// ```
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use layernet::net::{Config, Resources, Stack};
///
/// let config = Config::default();
/// let mut nic = Lan9118::new(FakeLan9118::new(), config.mac)?;
/// let mut memory: Resources<'_, 3, 1, 1, 256> = Resources::new();
/// let stack = Stack::new(config, &mut nic, &mut memory, layernet::Instant::ZERO)?;
/// assert_eq!(stack.free_tcp_sockets(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Frame buffers
///
/// The driver holds two buffers of `FRAME` bytes (a received frame with
/// its FCS, and the frame smoltcp builds for sending: smoltcp may answer
/// from inside a received frame, so they cannot be one). The default,
/// [`FRAME_BUFFER`], takes any Ethernet frame. A board whose sockets are
/// small can choose less with [`Lan9118::with_frame`]: the MTU it reports
/// to smoltcp shrinks to match (so its TCP MSS does too), and longer frames
/// arriving are dropped and counted in [`Stats::rx_errors`].
///
/// ```
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use smoltcp::phy::Device;
/// // 596 bytes less the FCS and the Ethernet header: an IP MTU of 578, just
/// // over the 576 every IPv4 host must accept.
/// let small = Lan9118::<_, 596>::with_frame(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// assert_eq!(small.capabilities().max_transmission_unit, 14 + 578);
/// assert!(size_of_val(&small) < size_of::<Lan9118<FakeLan9118>>() - 1800);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Lan9118<R: Registers, const FRAME: usize = FRAME_BUFFER> {
    mac: EthernetAddress,
    rx: [u8; FRAME],
    rx_len: Option<usize>,
    out: Out<R, FRAME>,
}

/// What a transmit token borrows: everything but the receive buffer, which
/// a receive token holds at the same time.
#[derive(Debug)]
struct Out<R, const FRAME: usize> {
    regs: R,
    buf: [u8; FRAME],
    tag: u16,
    stats: Stats,
}

impl<R: Registers> Lan9118<R> {
    /// Reset the chip behind `regs` and bring it up with address `mac`,
    /// transmitter and receiver on, full duplex.
    ///
    /// # Errors
    ///
    /// [`InitError::NoChip`] if `BYTE_TEST` reads wrong,
    /// [`InitError::NotReady`] if the reset does not complete,
    /// [`InitError::Busy`] if the MAC CSR interface hangs; the registers
    /// come back inside the [`Failed`].
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// assert_eq!(nic.mac_address(), layernet::net::DEFAULT_MAC);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(regs: R, mac: EthernetAddress) -> Result<Self, Failed<R>> {
        Self::with_frame(regs, mac)
    }
}

impl<R: Registers, const FRAME: usize> Lan9118<R, FRAME> {
    /// [`Lan9118::new`] with frame buffers of `FRAME` bytes (see "Frame
    /// buffers" above). `FRAME` must be a whole number of 32-bit words and
    /// hold IPv4's smallest MTU (68 bytes) with the Ethernet header and
    /// FCS; otherwise this fails to compile.
    ///
    /// # Errors
    ///
    /// Those of [`Lan9118::new`].
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let mut nic = Lan9118::<_, 128>::with_frame(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.registers().deliver(&[0xff; 200])?;
    /// assert!(layernet::link::Link::peek(&mut nic, layernet::Instant::ZERO).is_none());
    /// assert_eq!(nic.stats().rx_errors, 1, "longer than the buffer");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_frame(regs: R, mac: EthernetAddress) -> Result<Self, Failed<R>> {
        const {
            assert!(
                FRAME.is_multiple_of(4) && FRAME >= 68 + 14 + FCS_LEN,
                "FRAME: whole words, at least IPv4's minimum MTU with header and FCS"
            )
        };
        let mut nic = Lan9118 {
            mac,
            rx: [0; FRAME],
            rx_len: None,
            out: Out {
                regs,
                buf: [0; FRAME],
                tag: 0,
                stats: Stats::default(),
            },
        };
        match nic.bring_up() {
            Ok(()) => Ok(nic),
            Err(reason) => Err(Failed::new(reason, nic.out.regs)),
        }
    }

    fn bring_up(&mut self) -> Result<(), InitError> {
        if self.out.regs.read(reg::BYTE_TEST) != reg::BYTE_TEST_VALUE {
            return Err(InitError::NoChip);
        }
        self.out.regs.write(
            reg::HW_CFG,
            reg::HW_CFG_MBO | reg::HW_CFG_TX_FIF_5K | reg::HW_CFG_SRST,
        );
        self.spin(reg::HW_CFG, reg::HW_CFG_SRST, 0, InitError::NotReady)?;
        self.spin(
            reg::PMT_CTRL,
            reg::PMT_CTRL_READY,
            reg::PMT_CTRL_READY,
            InitError::NotReady,
        )?;
        // Polled operation: no interrupt sources, and none pending.
        self.out.regs.write(reg::INT_EN, 0);
        self.out.regs.write(reg::INT_STS, u32::MAX);
        self.out.regs.write(reg::AFC_CFG, reg::AFC_CFG_DEFAULT);
        let m = self.mac.0;
        let low = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
        let high = u32::from_le_bytes([m[4], m[5], 0, 0]);
        self.mac_write(reg::ADDRL, low)?;
        self.mac_write(reg::ADDRH, high)?;
        self.mac_write(reg::HASHH, 0)?;
        self.mac_write(reg::HASHL, 0)?;
        // Full duplex: right for QEMU and for a switch port that negotiated
        // it; a half-duplex link would need FDPX clear (see docs/porting.md).
        self.mac_write(
            reg::MAC_CR,
            reg::MAC_CR_TXEN | reg::MAC_CR_RXEN | reg::MAC_CR_FDPX,
        )?;
        // RX_CFG 0: no offset before the frame's first byte, word-aligned end.
        self.out.regs.write(reg::RX_CFG, 0);
        self.out.regs.write(reg::TX_CFG, reg::TX_CFG_TX_ON);
        Ok(())
    }

    /// Read `offset` until the bits in `mask` equal `want`, at most
    /// [`SPIN_LIMIT`] times.
    fn spin(&mut self, offset: u32, mask: u32, want: u32, err: InitError) -> Result<(), InitError> {
        for _ in 0..SPIN_LIMIT {
            if self.out.regs.read(offset) & mask == want {
                return Ok(());
            }
        }
        Err(err)
    }

    fn mac_write(&mut self, index: u32, value: u32) -> Result<(), InitError> {
        self.spin(reg::MAC_CSR_CMD, reg::CSR_BUSY, 0, InitError::Busy)?;
        self.out.regs.write(reg::MAC_CSR_DATA, value);
        self.out.regs.write(reg::MAC_CSR_CMD, reg::CSR_BUSY | index);
        self.spin(reg::MAC_CSR_CMD, reg::CSR_BUSY, 0, InitError::Busy)
    }

    fn mac_read(&mut self, index: u32) -> Result<u32, InitError> {
        self.spin(reg::MAC_CSR_CMD, reg::CSR_BUSY, 0, InitError::Busy)?;
        self.out
            .regs
            .write(reg::MAC_CSR_CMD, reg::CSR_BUSY | reg::CSR_READ | index);
        self.spin(reg::MAC_CSR_CMD, reg::CSR_BUSY, 0, InitError::Busy)?;
        Ok(self.out.regs.read(reg::MAC_CSR_DATA))
    }

    /// The chip's `ID_REV` register: `0x0118` in the high half for a
    /// LAN9118 (`0x9220` for a LAN9220), the revision in the low half.
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// assert_eq!(nic.id_rev(), 0x0118_0001, "what QEMU's model reports");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id_rev(&mut self) -> u32 {
        self.out.regs.read(reg::ID_REV)
    }

    /// The chip's free-running 25 MHz counter (`FREE_RUN`; wraps every
    /// 171.8 s). A board can take its clock from it.
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.registers().advance_free_run(25_000); // one millisecond
    /// assert!(nic.free_run() >= 25_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_run(&mut self) -> u32 {
        self.out.regs.read(reg::FREE_RUN)
    }

    /// The address programmed into the MAC.
    ///
    /// ```
    /// use layernet::{EthernetAddress, link::lan9118::{Lan9118, fake::FakeLan9118}};
    /// let mac = EthernetAddress([2, 0, 0, 0, 0, 0x42]);
    /// assert_eq!(Lan9118::new(FakeLan9118::new(), mac)?.mac_address(), mac);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mac_address(&self) -> EthernetAddress {
        self.mac
    }

    /// What the driver counted so far.
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// use layernet::link::Link;
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.registers().deliver_bad(&[0u8; 64])?;
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
    /// use layernet::link::lan9118::{Lan9118, Registers, fake::FakeLan9118};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// assert_eq!(nic.registers().read(0x64), 0x8765_4321);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn registers(&mut self) -> &mut R {
        &mut self.out.regs
    }

    /// Whether the internal PHY reports a link (its basic status register,
    /// read through `MII_ACC`/`MII_DATA`).
    ///
    /// # Errors
    ///
    /// [`InitError::Busy`] if the MAC CSR or MII interface stays busy.
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// assert!(nic.link_up()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn link_up(&mut self) -> Result<bool, InitError> {
        let busy = |nic: &mut Self| nic.mac_read(reg::MII_ACC).map(|v| v & reg::MII_BUSY != 0);
        for _ in 0..SPIN_LIMIT {
            if !busy(self)? {
                // PHY address in bits 15:11, register in 10:6, read (bit 1 clear).
                let cmd = (reg::PHY_ADDR << 11) | (reg::PHY_BSR << 6) | reg::MII_BUSY;
                self.mac_write(reg::MII_ACC, cmd)?;
                for _ in 0..SPIN_LIMIT {
                    if !busy(self)? {
                        let bsr = self.mac_read(reg::MII_DATA)?;
                        return Ok(bsr & reg::BSR_LINK_UP != 0);
                    }
                }
                break;
            }
        }
        Err(InitError::Busy)
    }

    /// Choose which multicast frames pass the MAC's filter.
    ///
    /// # Errors
    ///
    /// [`InitError::Busy`] if the MAC CSR interface stays busy.
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, Multicast, fake::FakeLan9118};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// nic.set_multicast(Multicast::All)?;
    /// assert_ne!(nic.registers().mac_csr(1) & (1 << 19), 0, "MAC_CR.MCPAS");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_multicast(&mut self, filter: Multicast) -> Result<(), InitError> {
        let table = match filter {
            Multicast::Hash(t) => t,
            Multicast::None | Multicast::All => 0,
        };
        self.mac_write(reg::HASHH, (table >> 32) as u32)?;
        self.mac_write(reg::HASHL, table as u32)?;
        let mut cr = self.mac_read(reg::MAC_CR)? & !(reg::MAC_CR_MCPAS | reg::MAC_CR_HPFILT);
        cr |= match filter {
            Multicast::None => 0,
            Multicast::All => reg::MAC_CR_MCPAS,
            Multicast::Hash(_) => reg::MAC_CR_HPFILT,
        };
        self.mac_write(reg::MAC_CR, cr)
    }

    /// Read the next good frame from the RX FIFOs into the receive buffer,
    /// unless one is buffered already.
    fn fill(&mut self) {
        // Bounded: error frames are skipped, but a FIFO full of them must
        // not keep one poll busy for long.
        for _ in 0..8 {
            if self.rx_len.is_some() || (self.out.regs.read(reg::RX_FIFO_INF) >> 16) & 0xFF == 0 {
                return;
            }
            let status = self.out.regs.read(reg::RX_STATUS_FIFO);
            let len = ((status >> 16) & 0x3FFF) as usize;
            let words = len.div_ceil(4);
            let good = status & reg::STATUS_ES == 0 && len > FCS_LEN && len <= FRAME;
            for i in 0..words {
                let word = self.out.regs.read(reg::RX_DATA_FIFO).to_le_bytes();
                if good {
                    self.rx[i * 4..i * 4 + 4].copy_from_slice(&word);
                }
            }
            if good {
                self.rx_len = Some(len - FCS_LEN);
                self.out.stats.rx_frames += 1;
            } else {
                self.out.stats.rx_errors += 1;
            }
        }
    }

    /// Whether the TX data FIFO takes a largest frame and its two command
    /// words.
    fn tx_room(&mut self) -> bool {
        let free = (self.out.regs.read(reg::TX_FIFO_INF) & 0xFFFF) as usize;
        free >= FRAME + 8
    }
}

impl<R: Registers, const FRAME: usize> Link for Lan9118<R, FRAME> {
    fn peek(&mut self, _now: Instant) -> Option<&[u8]> {
        self.fill();
        let len = self.rx_len?;
        self.rx.get(..len)
    }

    fn discard(&mut self, _now: Instant) {
        self.rx_len = None;
    }
}

/// The RX status FIFO's level interrupt (`INT_EN.RSFL`) on the IRQ pin,
/// active high (`IRQ_CFG`); on the MPS2 AN386 it is NVIC line 13.
impl<R: Registers, const FRAME: usize> RxInterrupt for Lan9118<R, FRAME> {
    fn set_rx_interrupt(&mut self, on: bool) {
        let regs = &mut self.out.regs;
        regs.write(reg::IRQ_CFG, if on { reg::IRQ_CFG_EN_HIGH } else { 0 });
        regs.write(reg::INT_EN, if on { reg::INT_RSFL } else { 0 });
    }

    fn rx_ready(&mut self) -> bool {
        self.out.regs.write(reg::INT_STS, reg::INT_RSFL);
        self.rx_len.is_some() || (self.out.regs.read(reg::RX_FIFO_INF) >> 16) & 0xFF != 0
    }
}

/// Receive token: the frame already sits in the driver's buffer, read out
/// of the RX data FIFO.
///
/// ```
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use smoltcp::phy::{Device, RxToken};
/// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
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
/// the token writes it into the TX data FIFO.
///
/// ```
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use smoltcp::phy::{Device, TxToken};
/// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// let tx = nic.transmit(layernet::Instant::ZERO).ok_or("FIFO full")?;
/// tx.consume(42, |frame| frame.fill(0xab));
/// let sent = nic.registers().take_sent().ok_or("nothing sent")?;
/// assert_eq!(sent, [0xab; 42]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TxToken<'a, R: Registers, const FRAME: usize = FRAME_BUFFER> {
    out: &'a mut Out<R, FRAME>,
}

impl<R: Registers, const FRAME: usize> phy::TxToken for TxToken<'_, R, FRAME> {
    fn consume<T, F: FnOnce(&mut [u8]) -> T>(self, len: usize, f: F) -> T {
        // smoltcp asks for at most `capabilities()`' MTU; the clamp keeps a
        // misbehaving caller from overrunning the buffer.
        let out = self.out;
        let len = len.min(FRAME);
        let frame = &mut out.buf[..len];
        let result = f(frame);
        // A token paired with a received frame was handed out without a
        // room check: a reply that does not fit is dropped, as on a wire.
        let free = (out.regs.read(reg::TX_FIFO_INF) & 0xFFFF) as usize;
        if free < len.next_multiple_of(4) + 8 {
            out.stats.tx_full += 1;
            return result;
        }
        out.tag = out.tag.wrapping_add(1);
        let cmd_a = reg::TX_CMD_A_FIRST | reg::TX_CMD_A_LAST | len as u32;
        let cmd_b = (u32::from(out.tag) << 16) | len as u32;
        out.regs.write(reg::TX_DATA_FIFO, cmd_a);
        out.regs.write(reg::TX_DATA_FIFO, cmd_b);
        for chunk in frame.chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            out.regs.write(reg::TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        out.stats.tx_frames += 1;
        // Each frame sent leaves a status word; reading them keeps the
        // status FIFO from filling, which would stop the transmitter.
        for _ in 0..16 {
            if (out.regs.read(reg::TX_FIFO_INF) >> 16) & 0xFF == 0 {
                break;
            }
            if out.regs.read(reg::TX_STATUS_FIFO) & reg::STATUS_ES != 0 {
                out.stats.tx_errors += 1;
            }
        }
        result
    }
}

impl<R: Registers, const FRAME: usize> Device for Lan9118<R, FRAME> {
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
                frame: &self.rx[..len],
            },
            TxToken { out: &mut self.out },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Self::TxToken<'_>> {
        if !self.tx_room() {
            self.out.stats.tx_full += 1;
            return None;
        }
        Some(TxToken { out: &mut self.out })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        // 1500 bytes of IP and the 14-byte Ethernet header, or what a smaller
        // buffer holds of them; the MAC adds the FCS.
        caps.max_transmission_unit = (FRAME - FCS_LEN).min(1514);
        caps.max_burst_size = Some(1);
        caps
    }
}

#[cfg(test)]
mod tests;
