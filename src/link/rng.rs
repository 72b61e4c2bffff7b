//! A small seeded pseudo-random generator (SplitMix64).
//!
//! Layer: link (shared by the layers above). Depends on nothing.
//!
//! Determinism is the point: the simulated segment's faults, the stack's
//! ephemeral ports and smoltcp's own seed all derive from one number, so a
//! run can be replayed exactly. It is not a cryptographic generator.

/// SplitMix64: one `u64` of state, full period, good enough statistics for
/// fault rolls and port choice.
///
/// # Example
///
/// Two generators with one seed replay the same sequence:
///
/// ```
/// use layernet::link::rng::Rng;
/// let (mut a, mut b) = (Rng::new(42), Rng::new(42));
/// let first: Vec<u64> = (0..3).map(|_| a.next_u64()).collect();
/// assert!(first.iter().all(|&x| x == b.next_u64()));
/// ```
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`. Being `const`,
    /// it can initialise a `static`.
    ///
    /// ```
    /// use layernet::link::rng::Rng;
    /// const SEEDED: Rng = Rng::new(7);
    /// let mut other = SEEDED.clone();
    /// assert_eq!(SEEDED.clone().next_u64(), other.next_u64());
    /// ```
    pub const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits; the state advances by one step.
    ///
    /// ```
    /// use layernet::link::rng::Rng;
    /// let mut r = Rng::new(0);
    /// let x = r.next_u64();
    /// assert_ne!(x, r.next_u64(), "consecutive draws differ");
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound`; the tiny modulo bias is irrelevant here. A
    /// `bound` of 0 gives 0 (and does not advance the generator).
    ///
    /// ```
    /// use layernet::link::rng::Rng;
    /// let mut r = Rng::new(3);
    /// assert!((0..100).all(|_| r.below(6) < 6));
    /// assert_eq!(r.below(0), 0);
    /// ```
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// True with probability `pct` percent (0 never, 100 always). Every call
    /// draws once, whatever `pct` is.
    ///
    /// ```
    /// use layernet::link::rng::Rng;
    /// let mut r = Rng::new(5);
    /// assert!(r.percent(100) && !r.percent(0));
    /// let hits = (0..1000).filter(|_| r.percent(50)).count();
    /// assert!((400..600).contains(&hits));
    /// ```
    pub fn percent(&mut self, pct: u8) -> bool {
        // Always draw, so that the sequence of draws does not depend on the
        // configured rates: changing one rate must not reshuffle the others.
        let roll = self.below(100);
        roll < u64::from(pct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: [u64; 4] = core::array::from_fn(|_| a.next_u64());
        let ys: [u64; 4] = core::array::from_fn(|_| b.next_u64());
        let zs: [u64; 4] = core::array::from_fn(|_| c.next_u64());
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn percent_bounds() {
        let mut r = Rng::new(1);
        assert!((0..1000).all(|_| !r.percent(0)));
        assert!((0..1000).all(|_| r.percent(100)));
        let hits = (0..10_000).filter(|_| r.percent(10)).count();
        assert!((800..1200).contains(&hits), "10% of 10000 gave {hits}");
    }
}
