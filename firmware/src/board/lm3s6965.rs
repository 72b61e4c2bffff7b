//! The TI Stellaris LM3S6965 (Cortex-M3; QEMU `-M lm3s6965evb`) and its
//! on-chip Ethernet MAC at `0x4004_8000`, on NVIC line 42.

use super::NicStats;
use cortex_m::peripheral::SYST;
use layernet::EthernetAddress;
use layernet::link::bus::{Mmio, Registers};
use layernet::link::stellaris::{self, LM3S6965_BASE, LM3S6965_IRQ, Stellaris};

pub const NAME: &str = "Stellaris LM3S6965";
/// The core clock as `init` sets it: the PLL's 200 MHz divided by 4.
pub const CPU_HZ: u32 = 50_000_000;
pub const NIC_IRQ: u16 = LM3S6965_IRQ;
/// Device interrupt lines in the vector table: the 64 QEMU's
/// lm3s6965evb model has (its NVIC's `num-irq`; the chip uses 0-47).
pub const IRQ_LINES: usize = 64;

/// Log lines each service of the board profile keeps between two drains:
/// 4 of 192 bytes each, not the library's 16: with 16, the board
/// profile's five services want 12 KiB more than the 64 KiB of SRAM allow.
#[cfg_attr(feature = "tiny", allow(dead_code))]
pub const LOG_LINES: usize = 4;

pub type Nic<const FRAME: usize> = Stellaris<Mmio, FRAME>;
pub type NicError = stellaris::InitError;

/// The system control block and the registers `init` uses.
const SYSCTL: usize = 0x400F_E000;
const RIS: u32 = 0x050;
const RCC: u32 = 0x060;
const RCGC2: u32 = 0x108;
const RCC_SYSDIV: u32 = 0xF << 23;
const RCC_USESYSDIV: u32 = 1 << 22;
const RCC_PWRDN: u32 = 1 << 13;
const RCC_OEN: u32 = 1 << 12;
const RCC_BYPASS: u32 = 1 << 11;
const RCC_XTAL: u32 = 0xF << 6;
const RCC_OSCSRC: u32 = 0x3 << 4;
/// The evaluation board's 8 MHz crystal, in `RCC.XTAL`'s encoding.
const XTAL_8MHZ: u32 = 0xE << 6;
const RIS_PLLLRIS: u32 = 1 << 6;
/// The MAC's and the PHY's clock gates.
const RCGC2_EMAC0: u32 = 1 << 28;
const RCGC2_EPHY0: u32 = 1 << 30;

/// The system control registers.
#[allow(unsafe_code)]
fn sysctl() -> Mmio {
    // Safety: 0x400F_E000 is the LM3S6965's system control block (device
    // memory); `init` alone uses it, once, before anything else runs.
    unsafe { Mmio::new(SYSCTL) }
}

/// Run the core at 50 MHz from the PLL (the data sheet's sequence: bypass,
/// crystal and power, divider, wait for lock, then use it), so that time
/// is the same on the chip and in QEMU, which derives its clock from
/// `RCC.SYSDIV`; then clock the MAC and its PHY.
pub fn init() {
    let mut sc = sysctl();
    let mut rcc = (sc.read(RCC) | RCC_BYPASS) & !RCC_USESYSDIV;
    sc.write(RCC, rcc);
    rcc = (rcc & !(RCC_XTAL | RCC_OSCSRC | RCC_PWRDN | RCC_OEN)) | XTAL_8MHZ;
    sc.write(RCC, rcc);
    rcc = (rcc & !RCC_SYSDIV) | (3 << 23) | RCC_USESYSDIV;
    sc.write(RCC, rcc);
    // Bounded: a PLL that never locks leaves the core on the crystal
    // (slower time), which the status line's uptime would show.
    for _ in 0..100_000 {
        if sc.read(RIS) & RIS_PLLLRIS != 0 {
            break;
        }
    }
    sc.write(RCC, rcc & !RCC_BYPASS);
    let gates = sc.read(RCGC2);
    sc.write(RCGC2, gates | RCGC2_EMAC0 | RCGC2_EPHY0);
    // The data sheet asks for a few cycles before a newly clocked
    // peripheral is touched.
    cortex_m::asm::delay(16);
}

pub fn nic<const FRAME: usize>(mac: EthernetAddress) -> Result<Nic<FRAME>, NicError> {
    Nic::with_frame(registers(), mac).map_err(|e| e.reason())
}

/// The MAC's registers.
#[allow(unsafe_code)]
fn registers() -> Mmio {
    // Safety: the LM3S6965's Ethernet MAC is at LM3S6965_BASE (device
    // memory), and this is called once, so the driver is its only user.
    unsafe { Mmio::new(LM3S6965_BASE) }
}

pub fn hello<const FRAME: usize>(nic: &mut Nic<FRAME>) {
    crate::say::Line::new()
        .str("layernet firmware: ")
        .str(NAME)
        .str(", Stellaris MAC at ")
        .hex32(LM3S6965_BASE as u32)
        .str(", MAC address ")
        .mac(nic.mac_address())
        .print();
}

/// Timing: SysTick's current value and the host's clock through
/// semihosting (the LM3S6965 has no free-running counter that QEMU lets
/// software read). Weak: on hardware, use a TRNG or ADC noise (see
/// docs/porting.md).
pub fn jitter<const FRAME: usize>(_nic: &mut Nic<FRAME>) -> u64 {
    // Safety of the call: SYS_TIME takes no argument and only reads the
    // host's clock.
    #[allow(unsafe_code)]
    let host = unsafe { cortex_m_semihosting::syscall!(TIME) } as u64;
    (host << 32) | u64::from(SYST::get_current())
}

pub fn stats<const FRAME: usize>(nic: &Nic<FRAME>) -> NicStats {
    let s = nic.stats();
    NicStats {
        rx_frames: s.rx_frames,
        tx_frames: s.tx_frames,
        rx_errors: s.rx_errors + s.rx_overflows,
        tx_full: s.tx_full,
    }
}

/// Let mDNS's group past the MAC: the Stellaris MAC has no hash filter,
/// only "all multicast" (`MACRCTL.AMUL`); the stack's gate drops the
/// groups it has not joined.
#[cfg(all(feature = "mdns", not(feature = "tiny")))]
pub fn accept_mdns<const FRAME: usize>(nic: &mut Nic<FRAME>) {
    nic.set_all_multicast(true);
}
