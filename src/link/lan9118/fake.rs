//! A register-level model of a LAN9118, for running the driver without a
//! chip: the registers the driver uses, the MAC CSR window, the RX status
//! and data FIFOs and the TX data FIFO with its command words.
//!
//! Frames handed to [`FakeLan9118::deliver`] wait in the RX FIFOs as the
//! chip would leave them (a status word, then the bytes and a 4-byte FCS);
//! frames the driver writes come out of [`FakeLan9118::take_sent`]. Like the
//! real MAC, the fake drops received frames while `MAC_CR.RXEN` is clear.
//!
//! ```
//! use layernet::link::lan9118::{Registers, fake::FakeLan9118};
//! let mut chip = FakeLan9118::new();
//! chip.deliver(&[1; 60])?; // the MAC's receiver is still off after reset
//! assert_eq!((chip.read(0x7C) >> 16, chip.dropped()), (0, 1));
//! # Ok::<(), layernet::link::lan9118::fake::FifoFull>(())
//! ```

use super::{FRAME_BUFFER, Registers, reg};

/// Words the fake's RX data FIFO holds (the real chip shares 16 KiB
/// between RX and TX; this is enough for a few full frames).
const RX_WORDS: usize = 2048;
/// Frames whose transmission the fake keeps until they are taken.
const SENT_FRAMES: usize = 4;
/// Bytes the fake reports free in its TX data FIFO.
const TX_FREE: u32 = 4608;
/// What the fake puts where the FCS goes, so a test can see it removed.
const FAKE_FCS: [u8; 4] = [0xDE, 0xAD, 0xBE, 0xEF];
/// The receive-status bit the MAC sets for a CRC error.
const RX_STATUS_CRC_ERROR: u32 = 1 << 1;

/// The fake's RX FIFOs cannot take the frame.
///
/// ```
/// use layernet::link::lan9118::fake::{FakeLan9118, FifoFull};
/// let mut chip = FakeLan9118::new();
/// assert_eq!(chip.deliver(&[0; 9000]), Err(FifoFull), "longer than any frame");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FifoFull;

impl core::fmt::Display for FifoFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the fake LAN9118's RX FIFO is full")
    }
}

impl core::error::Error for FifoFull {}

/// Where the TX data FIFO's writer is within a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxState {
    CommandA,
    CommandB { a: u32 },
    Data { a: u32, b: u32, words_left: usize },
}

/// The model. See the [module docs](self).
///
/// ```
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// assert_eq!(nic.stats().tx_frames, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FakeLan9118 {
    plain: [u32; 64],
    csr: [u32; 16],
    present: bool,
    ready: bool,
    free_run: u32,
    rx_status: heapless::Deque<u32, 32>,
    rx_data: heapless::Deque<u32, RX_WORDS>,
    dropped: u32,
    tx: TxState,
    building: heapless::Vec<u8, FRAME_BUFFER>,
    sent: heapless::Deque<heapless::Vec<u8, FRAME_BUFFER>, SENT_FRAMES>,
    tx_status: heapless::Deque<u32, 32>,
    commands: Option<(u32, u32)>,
}

impl Default for FakeLan9118 {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeLan9118 {
    /// A chip just out of power-on reset: receiver and transmitter off.
    ///
    /// ```
    /// use layernet::link::lan9118::fake::FakeLan9118;
    /// assert_eq!(FakeLan9118::new().mac_csr(1), 0, "MAC_CR: RXEN and TXEN clear");
    /// ```
    pub fn new() -> Self {
        FakeLan9118 {
            plain: [0; 64],
            csr: [0; 16],
            present: true,
            ready: true,
            free_run: 0,
            rx_status: heapless::Deque::new(),
            rx_data: heapless::Deque::new(),
            dropped: 0,
            tx: TxState::CommandA,
            building: heapless::Vec::new(),
            sent: heapless::Deque::new(),
            tx_status: heapless::Deque::new(),
            commands: None,
        }
    }

    /// Make the bus read all ones, as with no chip at the address.
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.unplug();
    /// assert_eq!(chip.read(0x64), u32::MAX);
    /// ```
    pub fn unplug(&mut self) {
        self.present = false;
    }

    /// Undo [`FakeLan9118::unplug`].
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.unplug();
    /// chip.plug_in();
    /// assert_eq!(chip.read(0x64), 0x8765_4321);
    /// ```
    pub fn plug_in(&mut self) {
        self.present = true;
    }

    /// Keep `PMT_CTRL.READY` clear for ever, as a chip stuck in reset.
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.never_ready();
    /// assert_eq!(chip.read(0x84) & 1, 0);
    /// ```
    pub fn never_ready(&mut self) {
        self.ready = false;
    }

    /// A good frame arrives from the wire (`frame` without its FCS; the
    /// fake appends four bytes in its place). Dropped, and counted in
    /// [`FakeLan9118::dropped`], while `MAC_CR.RXEN` is clear.
    ///
    /// # Errors
    ///
    /// [`FifoFull`] if the RX FIFOs have no room for it.
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.write(0xA8, 1 << 2); // MAC_CSR_DATA: RXEN
    /// chip.write(0xA4, 1 << 31 | 1); // MAC_CSR_CMD: write MAC_CR
    /// chip.deliver(&[7; 64])?;
    /// assert_eq!(chip.read(0x40) >> 16, 68, "RX status: the length counts the FCS");
    /// # Ok::<(), layernet::link::lan9118::fake::FifoFull>(())
    /// ```
    pub fn deliver(&mut self, frame: &[u8]) -> Result<(), FifoFull> {
        self.arrive(frame, 0)
    }

    /// A frame with a CRC error arrives (its status word has the error
    /// bit set); the driver must drop it.
    ///
    /// # Errors
    ///
    /// [`FifoFull`] if the RX FIFOs have no room for it.
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.write(0xA8, 1 << 2);
    /// chip.write(0xA4, 1 << 31 | 1);
    /// chip.deliver_bad(&[0; 64])?;
    /// assert_ne!(chip.read(0x40) & (1 << 15), 0, "error summary");
    /// # Ok::<(), layernet::link::lan9118::fake::FifoFull>(())
    /// ```
    pub fn deliver_bad(&mut self, frame: &[u8]) -> Result<(), FifoFull> {
        self.arrive(frame, reg::STATUS_ES | RX_STATUS_CRC_ERROR)
    }

    fn arrive(&mut self, frame: &[u8], error_bits: u32) -> Result<(), FifoFull> {
        let len = frame.len() + FAKE_FCS.len();
        let words = len.div_ceil(4);
        if len > FRAME_BUFFER || self.rx_status.is_full() || RX_WORDS - self.rx_data.len() < words {
            return Err(FifoFull);
        }
        if self.csr[reg::MAC_CR as usize] & reg::MAC_CR_RXEN == 0 {
            self.dropped += 1;
            return Ok(());
        }
        let bytes = frame.iter().chain(FAKE_FCS.iter());
        let mut word = [0u8; 4];
        for (i, b) in bytes.enumerate() {
            word[i % 4] = *b;
            if i % 4 == 3 || i + 1 == len {
                // Room was checked above.
                let _ = self.rx_data.push_back(u32::from_le_bytes(word));
                word = [0; 4];
            }
        }
        let _ = self.rx_status.push_back(((len as u32) << 16) | error_bits);
        self.plain[(reg::INT_STS / 4) as usize] |= reg::INT_RSFL;
        Ok(())
    }

    /// Frames the MAC dropped because its receiver was off.
    ///
    /// ```
    /// use layernet::link::lan9118::fake::FakeLan9118;
    /// let mut chip = FakeLan9118::new();
    /// chip.deliver(&[0; 60])?;
    /// assert_eq!(chip.dropped(), 1);
    /// # Ok::<(), layernet::link::lan9118::fake::FifoFull>(())
    /// ```
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// The oldest frame transmitted and not yet taken (as it would go on
    /// the wire, before the MAC's padding and FCS). The fake keeps the
    /// last few; older ones are forgotten.
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.write(0x20, 3 << 12 | 5); // command A: first and last segment, 5 bytes
    /// chip.write(0x20, 5); // command B: 5 bytes
    /// chip.write(0x20, u32::from_le_bytes(*b"hell"));
    /// chip.write(0x20, u32::from(b'o'));
    /// assert_eq!(chip.take_sent().as_deref(), Some(&b"hello"[..]));
    /// ```
    pub fn take_sent(&mut self) -> Option<heapless::Vec<u8, FRAME_BUFFER>> {
        self.sent.pop_front()
    }

    /// The TX command words A and B of the last frame completed.
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// for word in [3 << 12 | 1, 7 << 16 | 1, 0x2a] {
    ///     chip.write(0x20, word);
    /// }
    /// assert_eq!(chip.last_commands(), Some((3 << 12 | 1, 7 << 16 | 1)));
    /// ```
    pub fn last_commands(&self) -> Option<(u32, u32)> {
        self.commands
    }

    /// The MAC CSR register `index` (1 `MAC_CR`, 2 `ADDRH`, 3 `ADDRL`, 4
    /// `HASHH`, 5 `HASHL`).
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let mut nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// assert_eq!(nic.registers().mac_csr(2), 0x0100, "ADDRH: the last two octets");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mac_csr(&self, index: usize) -> u32 {
        self.csr.get(index).copied().unwrap_or(0)
    }

    /// Let `ticks` of the 25 MHz `FREE_RUN` counter pass.
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.advance_free_run(u32::MAX);
    /// chip.advance_free_run(2);
    /// assert_eq!(chip.read(0x9C), 1, "it wraps");
    /// ```
    pub fn advance_free_run(&mut self, ticks: u32) {
        self.free_run = self.free_run.wrapping_add(ticks);
    }

    /// Whether the chip drives its IRQ pin: an enabled interrupt status
    /// bit is set (`INT_STS & INT_EN`) and `IRQ_CFG.IRQ_EN` is on.
    ///
    /// ```
    /// use layernet::link::lan9118::{Registers, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.write(0x54, 1 << 8); // IRQ_CFG.IRQ_EN
    /// chip.write(0x5C, 1 << 31); // INT_EN.SW_INT
    /// assert!(!chip.irq());
    /// chip.write(0x58, 0); // INT_STS: writing zeroes clears nothing
    /// assert!(!chip.irq(), "no status bit set yet");
    /// ```
    pub fn irq(&self) -> bool {
        let word = |r: u32| self.plain[(r / 4) as usize];
        word(reg::INT_STS) & word(reg::INT_EN) != 0 && word(reg::IRQ_CFG) & (1 << 8) != 0
    }

    fn reset(&mut self) {
        // What the test set up or observes outlives the chip's reset.
        let kept = (self.present, self.ready, self.free_run, self.dropped);
        *self = FakeLan9118::new();
        (self.present, self.ready, self.free_run, self.dropped) = kept;
    }

    fn mac_csr_command(&mut self, cmd: u32) {
        let index = (cmd & 0xFF) as usize;
        if index >= self.csr.len() {
            return;
        }
        if cmd & reg::CSR_READ != 0 {
            self.plain[(reg::MAC_CSR_DATA / 4) as usize] = self.csr[index];
            return;
        }
        self.csr[index] = self.plain[(reg::MAC_CSR_DATA / 4) as usize];
        if index == reg::MII_ACC as usize {
            // A PHY read completes at once; its basic status says: link up,
            // auto-negotiation complete, 100BASE-TX full duplex capable.
            let phy_reg = (self.csr[index] >> 6) & 0x1F;
            self.csr[reg::MII_DATA as usize] = if phy_reg == reg::PHY_BSR { 0x782D } else { 0 };
            self.csr[index] &= !reg::MII_BUSY;
        }
    }

    fn tx_word(&mut self, word: u32) {
        self.tx = match self.tx {
            TxState::CommandA => TxState::CommandB { a: word },
            TxState::CommandB { a } => {
                self.building.clear();
                TxState::Data {
                    a,
                    b: word,
                    words_left: ((a & 0x7FF) as usize).div_ceil(4),
                }
            }
            TxState::Data { a, b, words_left } => {
                let want = (a & 0x7FF) as usize;
                for byte in word.to_le_bytes() {
                    if self.building.len() < want {
                        let _ = self.building.push(byte);
                    }
                }
                if words_left > 1 {
                    TxState::Data {
                        a,
                        b,
                        words_left: words_left - 1,
                    }
                } else {
                    self.finish_frame(a, b);
                    TxState::CommandA
                }
            }
        };
        // A frame of zero bytes has no data words.
        if let TxState::Data {
            a,
            b,
            words_left: 0,
        } = self.tx
        {
            self.finish_frame(a, b);
            self.tx = TxState::CommandA;
        }
    }

    fn finish_frame(&mut self, a: u32, b: u32) {
        self.commands = Some((a, b));
        if self.sent.is_full() {
            self.sent.pop_front();
        }
        let _ = self.sent.push_back(self.building.clone());
        if self.tx_status.is_full() {
            self.tx_status.pop_front();
        }
        let _ = self.tx_status.push_back(b & 0xFFFF_0000);
    }
}

impl Registers for FakeLan9118 {
    fn read(&mut self, offset: u32) -> u32 {
        if !self.present {
            return u32::MAX;
        }
        match offset {
            reg::RX_DATA_FIFO => self.rx_data.pop_front().unwrap_or(0),
            reg::RX_STATUS_FIFO => self.rx_status.pop_front().unwrap_or(0),
            reg::TX_STATUS_FIFO => self.tx_status.pop_front().unwrap_or(0),
            reg::ID_REV => 0x0118_0001,
            reg::BYTE_TEST => reg::BYTE_TEST_VALUE,
            reg::HW_CFG => self.plain[(offset / 4) as usize] & !reg::HW_CFG_SRST,
            reg::PMT_CTRL => u32::from(self.ready) * reg::PMT_CTRL_READY,
            reg::RX_FIFO_INF => {
                ((self.rx_status.len() as u32) << 16) | (self.rx_data.len() as u32 * 4)
            }
            reg::TX_FIFO_INF => ((self.tx_status.len() as u32) << 16) | TX_FREE,
            reg::FREE_RUN => self.free_run,
            // The command completes at once: never busy.
            reg::MAC_CSR_CMD => self.plain[(offset / 4) as usize] & !reg::CSR_BUSY,
            _ => self.plain.get((offset / 4) as usize).copied().unwrap_or(0),
        }
    }

    fn write(&mut self, offset: u32, value: u32) {
        if !self.present {
            return;
        }
        match offset {
            reg::TX_DATA_FIFO => self.tx_word(value),
            reg::HW_CFG if value & reg::HW_CFG_SRST != 0 => {
                self.reset();
                self.plain[(offset / 4) as usize] = value & !reg::HW_CFG_SRST;
            }
            // Write one to clear.
            reg::INT_STS => self.plain[(offset / 4) as usize] &= !value,
            reg::MAC_CSR_CMD => {
                self.plain[(offset / 4) as usize] = value;
                if value & reg::CSR_BUSY != 0 {
                    self.mac_csr_command(value);
                }
            }
            _ => {
                if let Some(r) = self.plain.get_mut((offset / 4) as usize) {
                    *r = value;
                }
            }
        }
    }
}
