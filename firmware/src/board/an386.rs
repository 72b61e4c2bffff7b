//! The Arm MPS2 AN386 (Cortex-M4F at 25 MHz; QEMU `-M mps2-an386`) and
//! its LAN9118 at `0x4020_0000`, on NVIC line 13.

use super::NicStats;
use cortex_m::peripheral::SYST;
use layernet::EthernetAddress;
use layernet::link::lan9118::{self, Lan9118, MPS2_BASE, Mmio};

pub const NAME: &str = "MPS2 AN386";
/// The core clock, which SysTick counts.
pub const CPU_HZ: u32 = 25_000_000;
pub const NIC_IRQ: u16 = 13;
/// Device interrupt lines in the vector table: the 32 QEMU's AN386 model
/// has (its NVIC's `num-irq`).
pub const IRQ_LINES: usize = 32;

/// Log lines each service of the board profile keeps between two drains:
/// the library's default: 4 MiB of RAM has room.
#[cfg_attr(feature = "tiny", allow(dead_code))]
pub const LOG_LINES: usize = layernet::app::LOG_LINES;

pub type Nic<const FRAME: usize> = Lan9118<Mmio, FRAME>;
pub type NicError = lan9118::InitError;

/// Nothing to set up: the FPGA's clocks run from reset.
pub fn init() {}

pub fn nic<const FRAME: usize>(mac: EthernetAddress) -> Result<Nic<FRAME>, NicError> {
    Nic::with_frame(registers(), mac).map_err(|e| e.reason())
}

/// The LAN9118's registers on this board.
#[allow(unsafe_code)]
fn registers() -> Mmio {
    // Safety: on the MPS2 AN386 the LAN9118's register window is at
    // MPS2_BASE (0x4020_0000, device memory), and this is called once,
    // so the driver is the window's only user.
    unsafe { Mmio::new(MPS2_BASE) }
}

pub fn hello<const FRAME: usize>(nic: &mut Nic<FRAME>) {
    crate::say::Line::new()
        .str("layernet firmware: ")
        .str(NAME)
        .str(", LAN9118 ID_REV ")
        .hex32(nic.id_rev())
        .print();
}

/// Timing: the LAN9118's 25 MHz counter and SysTick's current value when
/// the board gets here. Under QEMU they vary with the host's scheduling;
/// on hardware, use a TRNG (see docs/porting.md).
pub fn jitter<const FRAME: usize>(nic: &mut Nic<FRAME>) -> u64 {
    (u64::from(nic.free_run()) << 32) | u64::from(SYST::get_current())
}

pub fn stats<const FRAME: usize>(nic: &Nic<FRAME>) -> NicStats {
    let s = nic.stats();
    NicStats {
        rx_frames: s.rx_frames,
        tx_frames: s.tx_frames,
        rx_errors: s.rx_errors,
        tx_full: s.tx_full,
    }
}

/// Let mDNS's group (01:00:5e:00:00:fb) past the LAN9118's filter: one
/// bit of its multicast hash.
#[cfg(all(feature = "mdns", not(feature = "tiny")))]
pub fn accept_mdns<const FRAME: usize>(nic: &mut Nic<FRAME>) {
    use layernet::link::lan9118::Multicast;
    let mdns_mac = EthernetAddress([1, 0, 0x5e, 0, 0, 0xfb]);
    if let Err(e) = nic.set_multicast(Multicast::Hash(1 << Multicast::hash_bit(mdns_mac))) {
        cortex_m_semihosting::hprintln!("mdns: multicast filter: {}", e);
    }
}
