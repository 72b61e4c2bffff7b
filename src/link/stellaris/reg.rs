//! The Stellaris Ethernet MAC's register map: offsets from the base of
//! its window (LM3S6965 data sheet, "Ethernet Controller", register map)
//! and the bits the driver and the fake MAC use.
//!
//! Layer: link. Depends on nothing.

/// `MACRIS` when read (raw interrupt status), `MACIACK` when written
/// (write one to clear).
pub(super) const RIS_IACK: u32 = 0x00;
pub(super) const IM: u32 = 0x04;
pub(super) const RCTL: u32 = 0x08;
pub(super) const TCTL: u32 = 0x0C;
/// The data port of both FIFOs: reads pop the RX FIFO, writes push the
/// TX FIFO.
pub(super) const DATA: u32 = 0x10;
pub(super) const IA0: u32 = 0x14;
pub(super) const IA1: u32 = 0x18;
pub(super) const THR: u32 = 0x1C;
pub(super) const NP: u32 = 0x34;
pub(super) const TR: u32 = 0x38;

/// Interrupt bits (`MACRIS`, `MACIACK`, `MACIM`).
pub(super) const INT_RX: u32 = 1 << 0;
pub(super) const INT_TXER: u32 = 1 << 1;
pub(super) const INT_TXEMP: u32 = 1 << 2;
pub(super) const INT_FOV: u32 = 1 << 3;
pub(super) const INT_RXER: u32 = 1 << 4;
/// Every interrupt source the MAC has (with the MII and PHY ones).
pub(super) const INT_ALL: u32 = 0x7F;

pub(super) const RCTL_RXEN: u32 = 1 << 0;
pub(super) const RCTL_AMUL: u32 = 1 << 1;
/// Reject frames with a bad CRC (set after reset).
pub(super) const RCTL_BADCRC: u32 = 1 << 3;
pub(super) const RCTL_RSTFIFO: u32 = 1 << 4;

pub(super) const TCTL_TXEN: u32 = 1 << 0;
pub(super) const TCTL_PADEN: u32 = 1 << 1;
pub(super) const TCTL_CRC: u32 = 1 << 2;
pub(super) const TCTL_DUPLEX: u32 = 1 << 3;

/// `MACTHR` at its reset value: no early transmission, a frame leaves
/// when `MACTR.NEWTX` is set.
pub(super) const THR_OFF: u32 = 0x3F;
/// `MACTR.NEWTX`: start sending the frame in the TX FIFO; reads one until
/// it has gone.
pub(super) const TR_NEWTX: u32 = 1 << 0;
/// `MACNP` counts frames in the RX FIFO in its low six bits.
pub(super) const NP_MASK: u32 = 0x3F;

/// The FIFOs hold 2 KiB each; a length prefix above this is not a
/// frame's, and the FIFO has lost its place.
pub(super) const FIFO_BYTES: usize = 2048;
/// The first word of a frame in either FIFO starts with this many bytes of
/// length; the frame's first bytes follow in the same word.
pub(super) const PREFIX: usize = 2;
