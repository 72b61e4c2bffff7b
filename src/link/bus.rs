//! How a driver reaches a memory-mapped NIC: 32-bit reads and writes at an
//! offset ([`Registers`]), and on a board the memory-mapped window
//! ([`Mmio`]), the drivers' one use of `unsafe`. The LAN9118
//! ([`super::lan9118`]) and the Stellaris MAC ([`super::stellaris`]) both
//! use it, each with a fake of its own behind the same trait for tests.
//!
//! Layer: link. Depends on nothing but `core`.

/// 32-bit access to a NIC's register window, by byte offset.
///
/// ```
/// use layernet::link::{bus::Registers, lan9118::fake::FakeLan9118};
/// let mut chip = FakeLan9118::new();
/// assert_eq!(chip.read(0x64), 0x8765_4321, "BYTE_TEST");
/// ```
pub trait Registers {
    /// Read the register at `offset` (reading a FIFO's port pops it).
    ///
    /// ```
    /// use layernet::link::{bus::Registers, lan9118::fake::FakeLan9118};
    /// assert_eq!(FakeLan9118::new().read(0x50) >> 16, 0x0118, "ID_REV: a LAN9118");
    /// ```
    fn read(&mut self, offset: u32) -> u32;
    /// Write `value` to the register at `offset`.
    ///
    /// ```
    /// use layernet::link::{bus::Registers, lan9118::fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.write(0x70, 1 << 1); // TX_CFG.TX_ON
    /// assert_eq!(chip.read(0x70), 1 << 1);
    /// ```
    fn write(&mut self, offset: u32, value: u32);
}

impl<R: Registers + ?Sized> Registers for &mut R {
    fn read(&mut self, offset: u32) -> u32 {
        (**self).read(offset)
    }
    fn write(&mut self, offset: u32, value: u32) {
        (**self).write(offset, value)
    }
}

/// The memory-mapped register window of a real chip.
///
/// ```
/// use layernet::link::bus::{Mmio, Registers};
/// // Plain memory standing in for the chip's window.
/// let mut window = [0u32; 64];
/// // Safety: the window is ours, aligned, and nothing else touches it.
/// let mut regs = unsafe { Mmio::new(window.as_mut_ptr() as usize) };
/// regs.write(0x50, 0x0118_0001);
/// assert_eq!(regs.read(0x50), 0x0118_0001);
/// ```
#[derive(Debug)]
pub struct Mmio {
    base: usize,
}

// The one place the driver needs `unsafe`: volatile accesses to device
// memory at an address the board support code vouched for in `Mmio::new`.
#[allow(unsafe_code)]
impl Mmio {
    /// Registers at `base`, for example
    /// [`MPS2_BASE`](super::lan9118::MPS2_BASE) for the MPS2's LAN9118 or
    /// [`LM3S6965_BASE`](super::stellaris::LM3S6965_BASE) for the
    /// LM3S6965's MAC.
    ///
    /// # Safety
    ///
    /// `base` must be the 4-byte-aligned start of the register window of the
    /// NIC whose driver gets this value (256 bytes for the LAN9118, 64 for
    /// the Stellaris MAC), mapped as device memory, and nothing else may
    /// access that window while this value is in use.
    ///
    /// ```
    /// use layernet::link::bus::Mmio;
    /// let mut window = [0u32; 64];
    /// // Safety: memory we own stands in for the chip.
    /// let _regs = unsafe { Mmio::new(window.as_mut_ptr() as usize) };
    /// ```
    pub const unsafe fn new(base: usize) -> Self {
        Mmio { base }
    }
}

#[allow(unsafe_code)]
impl Registers for Mmio {
    fn read(&mut self, offset: u32) -> u32 {
        // Safety: `new`'s contract makes `base` the start of the window of
        // device registers that this value alone accesses; the drivers'
        // offsets are word-aligned and inside it.
        unsafe { core::ptr::read_volatile((self.base + offset as usize) as *const u32) }
    }
    fn write(&mut self, offset: u32, value: u32) {
        // Safety: as for `read`.
        unsafe { core::ptr::write_volatile((self.base + offset as usize) as *mut u32, value) }
    }
}

/// A driver's failed bring-up: the reason `E`, and the registers `R`
/// handed back, to retry or to release the window. Each driver names it
/// with its own reason: [`super::lan9118::Failed`],
/// [`super::stellaris::Failed`].
///
/// ```
/// use layernet::link::lan9118::{InitError, Lan9118, fake::FakeLan9118};
/// let mut chip = FakeLan9118::new();
/// chip.never_ready();
/// let failed = Lan9118::new(chip, layernet::net::DEFAULT_MAC).err().ok_or("came up")?;
/// assert_eq!(failed.reason(), InitError::NotReady);
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug)]
pub struct Failed<E, R> {
    reason: E,
    regs: R,
}

impl<E: Copy, R> Failed<E, R> {
    pub(crate) fn new(reason: E, regs: R) -> Self {
        Failed { reason, regs }
    }

    /// Why.
    ///
    /// ```
    /// use layernet::link::stellaris::{Stellaris, fake::FakeStellaris};
    /// let mut mac = FakeStellaris::new();
    /// mac.unplug();
    /// let failed = Stellaris::new(mac, layernet::net::DEFAULT_MAC).err().ok_or("came up")?;
    /// assert!(failed.reason().to_string().contains("MACIA0"));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn reason(&self) -> E {
        self.reason
    }

    /// The registers, to retry or to release the window.
    ///
    /// ```
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let mut chip = FakeLan9118::new();
    /// chip.unplug();
    /// let failed = Lan9118::new(chip, layernet::net::DEFAULT_MAC).err().ok_or("came up")?;
    /// let mut chip = failed.into_registers();
    /// chip.plug_in();
    /// assert!(Lan9118::new(chip, layernet::net::DEFAULT_MAC).is_ok());
    /// # Ok::<(), &str>(())
    /// ```
    pub fn into_registers(self) -> R {
        self.regs
    }
}

impl<E: core::fmt::Display, R> core::fmt::Display for Failed<E, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.reason.fmt(f)
    }
}

impl<E: core::error::Error, R: core::fmt::Debug> core::error::Error for Failed<E, R> {}
