//! The LAN9118's register map: offsets from the base of the window
//! (LAN9118 data sheet, "System Control and Status Registers"), the MAC
//! CSR indices behind `MAC_CSR_CMD`, and the bits the driver and the fake
//! chip use.
//!
//! Layer: link. Depends on nothing.

pub(super) const RX_DATA_FIFO: u32 = 0x00;
pub(super) const TX_DATA_FIFO: u32 = 0x20;
pub(super) const RX_STATUS_FIFO: u32 = 0x40;
pub(super) const TX_STATUS_FIFO: u32 = 0x48;
pub(super) const ID_REV: u32 = 0x50;
pub(super) const IRQ_CFG: u32 = 0x54;
pub(super) const INT_STS: u32 = 0x58;
pub(super) const INT_EN: u32 = 0x5C;
pub(super) const BYTE_TEST: u32 = 0x64;
pub(super) const RX_CFG: u32 = 0x6C;
pub(super) const TX_CFG: u32 = 0x70;
pub(super) const HW_CFG: u32 = 0x74;
pub(super) const RX_FIFO_INF: u32 = 0x7C;
pub(super) const TX_FIFO_INF: u32 = 0x80;
pub(super) const PMT_CTRL: u32 = 0x84;
pub(super) const FREE_RUN: u32 = 0x9C;
pub(super) const MAC_CSR_CMD: u32 = 0xA4;
pub(super) const MAC_CSR_DATA: u32 = 0xA8;
pub(super) const AFC_CFG: u32 = 0xAC;

/// What `BYTE_TEST` reads on a working, correctly-ordered bus.
pub(super) const BYTE_TEST_VALUE: u32 = 0x8765_4321;
pub(super) const HW_CFG_SRST: u32 = 1 << 0;
/// Must be written as one.
pub(super) const HW_CFG_MBO: u32 = 1 << 20;
/// The reset default: 5 KiB of the 16 KiB FIFO memory for TX.
pub(super) const HW_CFG_TX_FIF_5K: u32 = 5 << 16;
pub(super) const PMT_CTRL_READY: u32 = 1 << 0;
pub(super) const TX_CFG_TX_ON: u32 = 1 << 1;
pub(super) const CSR_BUSY: u32 = 1 << 31;
pub(super) const CSR_READ: u32 = 1 << 30;
/// The data sheet's recommended automatic flow-control thresholds.
pub(super) const AFC_CFG_DEFAULT: u32 = 0x006E_3740;

/// MAC CSR indices, reached through `MAC_CSR_CMD`/`MAC_CSR_DATA`.
pub(super) const MAC_CR: u32 = 1;
pub(super) const ADDRH: u32 = 2;
pub(super) const ADDRL: u32 = 3;
pub(super) const HASHH: u32 = 4;
pub(super) const HASHL: u32 = 5;
pub(super) const MII_ACC: u32 = 6;
pub(super) const MII_DATA: u32 = 7;

pub(super) const MAC_CR_RXEN: u32 = 1 << 2;
pub(super) const MAC_CR_TXEN: u32 = 1 << 3;
pub(super) const MAC_CR_HPFILT: u32 = 1 << 13;
pub(super) const MAC_CR_MCPAS: u32 = 1 << 19;
pub(super) const MAC_CR_FDPX: u32 = 1 << 20;

pub(super) const MII_BUSY: u32 = 1 << 0;
/// The internal PHY's address on the MII bus.
pub(super) const PHY_ADDR: u32 = 1;
/// PHY basic status register, and its link-status bit.
pub(super) const PHY_BSR: u32 = 1;
pub(super) const BSR_LINK_UP: u32 = 1 << 2;

/// TX command A: first and last segment (a frame in one buffer).
pub(super) const TX_CMD_A_FIRST: u32 = 1 << 13;
pub(super) const TX_CMD_A_LAST: u32 = 1 << 12;
/// RX and TX status words: the error summary bit.
pub(super) const STATUS_ES: u32 = 1 << 15;

/// `IRQ_CFG`: the IRQ pin enabled, active high, push-pull (what an
/// interrupt controller's level input wants; QEMU's model asserts the
/// line only so).
pub(super) const IRQ_CFG_EN_HIGH: u32 = (1 << 8) | (1 << 4) | (1 << 0);
/// `INT_STS`/`INT_EN`: the RX status FIFO passed its level (set with
/// `FIFO_INT`, 0 after reset: any frame).
pub(super) const INT_RSFL: u32 = 1 << 3;
