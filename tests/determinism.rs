//! Determinism: the same seed gives the same frame sequence, a different
//! seed a different one, and a run with every fault still verifies.

use layernet::Duration;
use layernet::host::demo::{self, Options};
use layernet::link::segment::Faults;

fn all_faults(seed: u64) -> Options {
    Options {
        faults: Faults {
            drop_pct: 10,
            corrupt_pct: 5,
            duplicate_pct: 5,
            reorder_pct: 10,
            delay: Duration::from_millis(2),
        },
        seed,
        only: None,
    }
}

#[test]
fn same_seed_same_frames_different_seed_different_frames() {
    let a = demo::run(Options::with_loss(10, 7)).unwrap();
    let b = demo::run(Options::with_loss(10, 7)).unwrap();
    let c = demo::run(Options::with_loss(10, 8)).unwrap();
    println!(
        "fingerprints: seed 7 {:016x} {:016x}, seed 8 {:016x}",
        a.fingerprint, b.fingerprint, c.fingerprint
    );
    assert!(a.all_ok() && b.all_ok() && c.all_ok());
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.stats, b.stats);
    assert_eq!(
        demo::format_report(&a),
        demo::format_report(&b),
        "the printed account repeats too"
    );
    assert_ne!(a.fingerprint, c.fingerprint);
}

#[test]
fn a_run_with_every_fault_still_verifies_and_every_fault_happened() {
    for seed in [1, 2, 3] {
        let r = demo::run(all_faults(seed)).unwrap();
        let s = r.stats;
        println!(
            "seed {seed}: {s:?}, {} ms virtual",
            r.elapsed.total_millis()
        );
        if !r.all_ok() {
            print!("{}", demo::format_report(&r));
        }
        assert!(r.all_ok(), "seed {seed}");
        assert!(
            s.dropped > 0 && s.corrupted > 0 && s.duplicated > 0 && s.reordered > 0,
            "{s:?}"
        );
        let again = demo::run(all_faults(seed)).unwrap();
        assert_eq!(again.fingerprint, r.fingerprint);
    }
}

#[test]
fn the_demo_passes_with_ten_percent_loss_for_many_seeds() {
    let mut worst = Duration::ZERO;
    for seed in 0..20 {
        let r = demo::run(Options::with_loss(10, seed)).unwrap();
        assert!(r.all_ok(), "seed {seed}:\n{}", demo::format_report(&r));
        worst = worst.max(r.elapsed);
    }
    println!(
        "20 seeds at 10% loss, slowest {} ms virtual",
        worst.total_millis()
    );
}
