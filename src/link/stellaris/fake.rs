//! A register-level model of the Stellaris Ethernet MAC, for running the
//! driver without a chip: the interrupt, control and address registers,
//! the 2 KiB RX FIFO with its frame count (`MACNP`) and the TX FIFO that
//! `MACTR.NEWTX` sends, as the data sheet and QEMU's `stellaris_enet`
//! describe them.
//!
//! Frames handed to [`FakeStellaris::deliver`] wait in the RX FIFO as the
//! MAC leaves them (a length prefix, the bytes and a 4-byte FCS); one that
//! finds the FIFO full is dropped and raises `MACRIS.FOV`, as on the
//! chip. Frames the driver sends come out of [`FakeStellaris::take_sent`].
//! Like the MAC, the fake drops received frames while `MACRCTL.RXEN` is
//! clear.
//!
//! ```
//! use layernet::link::stellaris::{Registers, fake::FakeStellaris};
//! let mut mac = FakeStellaris::new();
//! mac.deliver(&[1; 60])?; // the receiver is still off after reset
//! assert_eq!((mac.read(0x34), mac.dropped()), (0, 1));
//! # Ok::<(), layernet::link::stellaris::fake::TooLong>(())
//! ```

use super::{Registers, reg};

/// Words in the RX FIFO: 2 KiB, as on the chip.
const RX_WORDS: usize = reg::FIFO_BYTES / 4;
/// Frames whose transmission the fake keeps until they are taken.
const SENT_FRAMES: usize = 4;
/// What the fake puts where the FCS goes, so a test can see it removed.
const FAKE_FCS: [u8; 4] = [0xDE, 0xAD, 0xBE, 0xEF];
/// The shortest frame the MAC puts on the wire when padding is on.
const MIN_FRAME: usize = 60;

/// The frame is longer than any the MAC can receive into its 2 KiB FIFO.
///
/// ```
/// use layernet::link::stellaris::fake::{FakeStellaris, TooLong};
/// assert_eq!(FakeStellaris::new().deliver(&[0; 4000]), Err(TooLong));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

impl core::fmt::Display for TooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("longer than the Stellaris MAC's 2 KiB RX FIFO")
    }
}

impl core::error::Error for TooLong {}

/// The model. See the [module docs](self).
///
/// ```
/// use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
/// let nic = Stellaris::new(FakeStellaris::new(), layernet::net::DEFAULT_MAC)?;
/// assert_eq!(nic.stats().tx_frames, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FakeStellaris {
    present: bool,
    ris: u32,
    im: u32,
    rctl: u32,
    tctl: u32,
    thr: u32,
    ia: [u8; 6],
    /// The RX FIFO's words, and how many words each frame in it has left.
    rx: heapless::Deque<u32, RX_WORDS>,
    rx_frames: heapless::Deque<usize, 32>,
    dropped: u32,
    tx: heapless::Vec<u8, { reg::FIFO_BYTES }>,
    tx_busy: bool,
    sent: heapless::Deque<heapless::Vec<u8, { reg::FIFO_BYTES }>, SENT_FRAMES>,
}

impl Default for FakeStellaris {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeStellaris {
    /// A MAC just out of reset: receiver and transmitter off, every
    /// interrupt source unmasked, bad-CRC frames rejected.
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// assert_eq!((mac.read(0x04), mac.read(0x08)), (0x7F, 1 << 3), "MACIM, MACRCTL");
    /// ```
    pub fn new() -> Self {
        FakeStellaris {
            present: true,
            ris: 0,
            im: reg::INT_ALL,
            rctl: reg::RCTL_BADCRC,
            tctl: 0,
            thr: reg::THR_OFF,
            ia: [0; 6],
            rx: heapless::Deque::new(),
            rx_frames: heapless::Deque::new(),
            dropped: 0,
            tx: heapless::Vec::new(),
            tx_busy: false,
            sent: heapless::Deque::new(),
        }
    }

    /// Make every register read zero and ignore writes, as an address with
    /// no MAC behind it (or one whose clock is off).
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// mac.unplug();
    /// mac.write(0x14, 0x1234);
    /// assert_eq!(mac.read(0x14), 0);
    /// ```
    pub fn unplug(&mut self) {
        self.present = false;
    }

    /// Undo [`FakeStellaris::unplug`].
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// mac.unplug();
    /// mac.plug_in();
    /// assert_eq!(mac.read(0x1C), 0x3F, "MACTHR");
    /// ```
    pub fn plug_in(&mut self) {
        self.present = true;
    }

    /// A good frame arrives from the wire (`frame` without its FCS; the
    /// fake appends four bytes in its place). Dropped, and counted in
    /// [`FakeStellaris::dropped`], while `MACRCTL.RXEN` is clear; dropped
    /// with `MACRIS.FOV` set if the FIFO has no room for it.
    ///
    /// # Errors
    ///
    /// [`TooLong`] if no FIFO could hold it.
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// mac.write(0x08, 1); // MACRCTL.RXEN
    /// mac.deliver(&[7; 64])?;
    /// assert_eq!(mac.read(0x34), 1, "MACNP");
    /// assert_eq!(mac.read(0x10) & 0xFFFF, 70, "the length counts itself and the FCS");
    /// # Ok::<(), layernet::link::stellaris::fake::TooLong>(())
    /// ```
    pub fn deliver(&mut self, frame: &[u8]) -> Result<(), TooLong> {
        self.deliver_claiming(frame, frame.len() + reg::PREFIX + FAKE_FCS.len())
    }

    /// [`FakeStellaris::deliver`], with a length prefix of `length`
    /// instead of the frame's: the words of a FIFO that lost its place.
    ///
    /// # Errors
    ///
    /// [`TooLong`] if no FIFO could hold the frame.
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// mac.write(0x08, 1);
    /// mac.deliver_claiming(&[7; 64], 0xFFFF)?;
    /// assert_eq!(mac.read(0x10) & 0xFFFF, 0xFFFF);
    /// # Ok::<(), layernet::link::stellaris::fake::TooLong>(())
    /// ```
    pub fn deliver_claiming(&mut self, frame: &[u8], length: usize) -> Result<(), TooLong> {
        let len = frame.len() + reg::PREFIX + FAKE_FCS.len();
        if len > reg::FIFO_BYTES {
            return Err(TooLong);
        }
        if self.rctl & reg::RCTL_RXEN == 0 {
            self.dropped += 1;
            return Ok(());
        }
        let words = len.div_ceil(4);
        if RX_WORDS - self.rx.len() < words || self.rx_frames.is_full() {
            self.ris |= reg::INT_FOV;
            return Ok(());
        }
        let prefix = (length as u16).to_le_bytes();
        let bytes = prefix.iter().chain(frame).chain(FAKE_FCS.iter());
        let mut word = [0u8; 4];
        for (i, b) in bytes.enumerate() {
            word[i % 4] = *b;
            if i % 4 == 3 || i + 1 == len {
                // Room was checked above.
                let _ = self.rx.push_back(u32::from_le_bytes(word));
                word = [0; 4];
            }
        }
        let _ = self.rx_frames.push_back(words);
        self.ris |= reg::INT_RX;
        Ok(())
    }

    /// Frames the MAC dropped because its receiver was off.
    ///
    /// ```
    /// use layernet::link::stellaris::fake::FakeStellaris;
    /// let mut mac = FakeStellaris::new();
    /// mac.deliver(&[0; 60])?;
    /// assert_eq!(mac.dropped(), 1);
    /// # Ok::<(), layernet::link::stellaris::fake::TooLong>(())
    /// ```
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Keep the transmitter busy (`MACTR.NEWTX` reads one) until called
    /// with `false`, as while a long frame goes out on a slow wire.
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// mac.set_tx_busy(true);
    /// assert_eq!(mac.read(0x38), 1);
    /// ```
    pub fn set_tx_busy(&mut self, busy: bool) {
        self.tx_busy = busy;
    }

    /// The oldest frame transmitted and not yet taken, as it went on the
    /// wire (padded to 60 bytes if `MACTCTL.PADEN` is set; without the
    /// FCS). The fake keeps the last few.
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// mac.write(0x10, 2 | u32::from_le_bytes([0, 0, b'a', b'b'])); // 2 bytes past the header
    /// for word in [*b"cdef", *b"ghij", *b"klmn", *b"op\0\0"] {
    ///     mac.write(0x10, u32::from_le_bytes(word));
    /// }
    /// mac.write(0x38, 1); // MACTR.NEWTX
    /// assert_eq!(mac.take_sent().as_deref(), Some(&b"abcdefghijklmnop"[..]));
    /// ```
    pub fn take_sent(&mut self) -> Option<heapless::Vec<u8, { reg::FIFO_BYTES }>> {
        self.sent.pop_front()
    }

    /// Whether the MAC drives its interrupt line: a raw interrupt status
    /// bit is set that `MACIM` lets through.
    ///
    /// ```
    /// use layernet::link::stellaris::{Registers, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// mac.write(0x08, 1);
    /// mac.deliver(&[0; 60])?;
    /// assert!(mac.irq(), "MACIM unmasks everything after reset");
    /// mac.write(0x00, 1); // MACIACK.RXINT
    /// assert!(!mac.irq());
    /// # Ok::<(), layernet::link::stellaris::fake::TooLong>(())
    /// ```
    pub fn irq(&self) -> bool {
        self.ris & self.im != 0
    }

    fn pop_rx(&mut self) -> u32 {
        let Some(word) = self.rx.pop_front() else {
            // Reading an empty FIFO: the chip returns junk, QEMU zero.
            return 0;
        };
        if let Some(left) = self.rx_frames.front_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                self.rx_frames.pop_front();
            }
        }
        word
    }

    fn push_tx(&mut self, word: u32) {
        // The first word's length is checked as it is written, as QEMU does.
        if self.tx.is_empty() && (word & 0xFFFF) as usize > reg::FIFO_BYTES - 16 {
            self.ris |= reg::INT_TXER;
            return;
        }
        for b in word.to_le_bytes() {
            // Beyond the FIFO's end, bytes are lost.
            let _ = self.tx.push(b);
        }
    }

    fn send(&mut self) {
        let (Some(&lo), Some(&hi)) = (self.tx.first(), self.tx.get(1)) else {
            return;
        };
        let len = usize::from(u16::from_le_bytes([lo, hi])) + 14;
        let mut frame: heapless::Vec<u8, { reg::FIFO_BYTES }> = self
            .tx
            .iter()
            .skip(reg::PREFIX)
            .take(len)
            .copied()
            .collect();
        if self.tctl & reg::TCTL_PADEN != 0 {
            let _ = frame.resize(frame.len().max(MIN_FRAME), 0);
        }
        if self.sent.is_full() {
            self.sent.pop_front();
        }
        let _ = self.sent.push_back(frame);
        self.tx.clear();
        self.ris |= reg::INT_TXEMP;
    }
}

impl Registers for FakeStellaris {
    fn read(&mut self, offset: u32) -> u32 {
        if !self.present {
            return 0;
        }
        match offset {
            reg::RIS_IACK => self.ris,
            reg::IM => self.im,
            reg::RCTL => self.rctl,
            reg::TCTL => self.tctl,
            reg::DATA => self.pop_rx(),
            reg::IA0 => u32::from_le_bytes([self.ia[0], self.ia[1], self.ia[2], self.ia[3]]),
            reg::IA1 => u32::from_le_bytes([self.ia[4], self.ia[5], 0, 0]),
            reg::THR => self.thr,
            reg::NP => self.rx_frames.len() as u32,
            reg::TR => u32::from(self.tx_busy) * reg::TR_NEWTX,
            _ => 0,
        }
    }

    fn write(&mut self, offset: u32, value: u32) {
        if !self.present {
            return;
        }
        let bytes = value.to_le_bytes();
        match offset {
            reg::RIS_IACK => {
                self.ris &= !value;
                if value & reg::INT_TXER != 0 {
                    self.tx.clear();
                }
            }
            reg::IM => self.im = value & reg::INT_ALL,
            reg::RCTL => {
                self.rctl = value & !reg::RCTL_RSTFIFO;
                if value & reg::RCTL_RSTFIFO != 0 {
                    self.rx.clear();
                    self.rx_frames.clear();
                }
            }
            reg::TCTL => self.tctl = value,
            reg::DATA => self.push_tx(value),
            reg::IA0 => self.ia[..4].copy_from_slice(&bytes),
            reg::IA1 => self.ia[4..].copy_from_slice(&bytes[..2]),
            reg::THR => self.thr = value & 0x3F,
            reg::TR if value & reg::TR_NEWTX != 0 && !self.tx_busy => self.send(),
            _ => {}
        }
    }
}
