//! Puts the board's memory map (memory/<board>.x) where the linker looks
//! for memory.x, and an empty device.x beside it (cortex-m-rt's `device`
//! feature includes one), and checks that the target suits the board.
use std::{env, fs, path::PathBuf};

fn main() {
    let (board, target) = if env::var_os("CARGO_FEATURE_LM3S6965").is_some() {
        ("lm3s6965", "thumbv7m-none-eabi")
    } else {
        ("an386", "thumbv7em-none-eabihf")
    };
    let building_for = env::var("TARGET").unwrap_or_default();
    if building_for != target {
        panic!("the {board} board's firmware builds for --target {target}, not {building_for}");
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(format!("memory/{board}.x"), out.join("memory.x")).expect("copy memory/<board>.x");
    // cortex-m-rt's `device` feature includes device.x, where a device
    // crate names its interrupt handlers; every line of the firmware's
    // table (src/vectors.rs) is `DefaultHandler`, so there is none to name.
    fs::write(
        out.join("device.x"),
        "/* The firmware's __INTERRUPTS (src/vectors.rs) names no handler but DefaultHandler. */\n",
    )
    .expect("write device.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory");
}
