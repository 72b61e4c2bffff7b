//! The fault model itself: the rates, one frame's roll, where the rolls
//! come from, the bit a corruption flips, and the counts.
//!
//! Layer: link (private to [`super`], which re-exports all of it). Depends
//! on smoltcp's `time` and `wire` and on [`crate::link::rng`]; nothing
//! above. No std, no allocation.

use core::cell::RefCell;

use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetFrame, EthernetProtocol, Ipv4Packet};

use crate::link::ETHERNET_HEADER_LEN;
use crate::link::rng::Rng;

/// The fault model of a link. Rates are whole percentages (0 to 100).
///
/// # Example
///
/// A slow wire: 50 ms each way, so the ARP exchange and the datagram take
/// 150 ms between them:
///
/// ```
/// use layernet::host::sim::{SimNet, endpoint};
/// use layernet::{Duration, link::faults::Faults, socket::{Error, UdpSocket}};
///
/// let mut net = SimNet::new(4, Faults { delay: Duration::from_millis(50), ..Faults::NONE });
/// let (a, b) = (net.add_host()?, net.add_host()?);
/// let (mut tx, mut rx) = (UdpSocket::bind(net.stack(a), 0)?, UdpSocket::bind(net.stack(b), 9)?);
/// tx.send_to(net.stack(a), b"late", endpoint(b, 9))?;
/// net.run_for(Duration::from_millis(120));
/// let mut buf = [0u8; 8];
/// assert_eq!(rx.recv_from(net.stack(b), &mut buf).err(), Some(Error::WouldBlock));
/// net.run_for(Duration::from_millis(40));
/// assert_eq!(rx.recv_from(net.stack(b), &mut buf)?.0, 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    /// Frames lost outright.
    pub drop_pct: u8,
    /// Frames with one bit flipped (see the module doc).
    pub corrupt_pct: u8,
    /// Frames delivered twice.
    pub duplicate_pct: u8,
    /// Frames held back so that later ones overtake them.
    pub reorder_pct: u8,
    /// Latency added to every frame.
    pub delay: Duration,
}

impl Faults {
    /// A perfect wire: nothing lost, nothing late. Also the `Default`, and
    /// what [`SimNet::pair`](../../host/sim/struct.SimNet.html#method.pair) uses.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, link::faults::Faults};
    /// let (net, _, _) = SimNet::pair(3)?;
    /// assert_eq!(net.faults(), Faults::NONE);
    /// assert_eq!(Faults::default(), Faults::NONE);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub const NONE: Faults = Faults {
        drop_pct: 0,
        corrupt_pct: 0,
        duplicate_pct: 0,
        reorder_pct: 0,
        delay: Duration::from_millis(0),
    };

    /// Only frame loss, at `pct` percent.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, link::faults::Faults, socket::UdpSocket};
    ///
    /// let (mut net, a, b) = SimNet::pair(8)?;
    /// net.set_faults(Faults::loss(100));
    /// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"lost", endpoint(b, 9))?;
    /// net.run_for(Duration::from_secs(1));
    /// let stats = net.stats();
    /// assert!(stats.dropped > 0 && stats.delivered == 0, "{stats:?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn loss(pct: u8) -> Faults {
        Faults {
            drop_pct: pct,
            ..Faults::NONE
        }
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults::NONE
    }
}

/// What the fault model decided for one frame: [`Faults::roll`].
///
/// ```
/// use layernet::link::{faults::Faults, rng::Rng};
/// let roll = Faults { reorder_pct: 100, ..Faults::NONE }.roll(&mut Rng::new(3));
/// assert!(roll.reorder && (1..=4).contains(&roll.hold));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roll {
    /// Lose it.
    pub drop: bool,
    /// Flip one checksummed bit ([`flip_checksummed_bit`] with `flip`).
    pub corrupt: bool,
    /// Deliver it twice.
    pub duplicate: bool,
    /// Hold it back `hold` milliseconds more, so later frames overtake it.
    pub reorder: bool,
    /// Which bit to flip, if corrupted.
    pub flip: u64,
    /// Milliseconds a reordered frame is held back (1 to 4).
    pub hold: u64,
}

impl Faults {
    /// Roll every fault for one frame from `rng`. Every roll is drawn,
    /// whatever the outcome, so the draws per frame are fixed and a seed
    /// replays exactly.
    ///
    /// ```
    /// use layernet::link::{faults::Faults, rng::Rng};
    /// let mut rng = Rng::new(1);
    /// let never = Faults::NONE.roll(&mut rng);
    /// assert!(!never.drop && !never.corrupt && !never.duplicate && !never.reorder);
    /// assert!(Faults::loss(100).roll(&mut rng).drop);
    /// ```
    pub fn roll(&self, rng: &mut Rng) -> Roll {
        Roll {
            drop: rng.percent(self.drop_pct),
            corrupt: rng.percent(self.corrupt_pct),
            duplicate: rng.percent(self.duplicate_pct),
            reorder: rng.percent(self.reorder_pct),
            flip: rng.next_u64(),
            hold: rng.below(4) + 1,
        }
    }
}

/// Flip one bit of an IPv4 frame inside the bytes its checksums cover,
/// chosen by `roll`. Returns false when the frame is not IPv4 (then it is
/// to be dropped, as a NIC's FCS check would drop it).
///
/// ```
/// use layernet::link::faults::flip_checksummed_bit;
/// let mut arp = [0u8; 42];
/// arp[12..14].copy_from_slice(&[0x08, 0x06]);
/// assert!(!flip_checksummed_bit(&mut arp, 7), "no checksum covers ARP");
/// ```
pub fn flip_checksummed_bit(frame: &mut [u8], roll: u64) -> bool {
    let covered = match EthernetFrame::new_checked(&*frame) {
        Ok(eth) if eth.ethertype() == EthernetProtocol::Ipv4 => {
            match Ipv4Packet::new_checked(eth.payload()) {
                Ok(ip) => usize::from(ip.total_len()),
                Err(_) => return false,
            }
        }
        _ => return false,
    };
    if covered == 0 {
        return false;
    }
    let bit = (roll % (covered as u64 * 8)) as usize;
    if let Some(byte) = frame.get_mut(ETHERNET_HEADER_LEN + bit / 8) {
        *byte ^= 1 << (bit % 8);
    }
    true
}

/// Where a [`Faulty`](super::Faulty) wrapper draws its rolls from: its own generator
/// ([`Rng`], the usual), or one shared with other wrappers
/// (`&RefCell<Rng>`), so that several links roll from one sequence in the
/// order their frames come. The simulated network shares one among its
/// hosts, seeded with the network's seed: the rolls a seed gives are the
/// ones the segment drew when the faults were its own.
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::{faults::{Dice, Faults}, rng::Rng};
///
/// let shared = RefCell::new(Rng::new(5));
/// let (mut a, mut b) = (&shared, &shared);
/// let mut alone = Rng::new(5);
/// let coin = Faults { drop_pct: 50, ..Faults::NONE };
/// // Two users of one sequence draw what one user of it would.
/// assert_eq!(a.roll(&coin), alone.roll(&coin));
/// assert_eq!(b.roll(&coin), alone.roll(&coin));
/// ```
pub trait Dice {
    /// The fates of one frame under `faults`.
    fn roll(&mut self, faults: &Faults) -> Roll;
}

impl Dice for Rng {
    fn roll(&mut self, faults: &Faults) -> Roll {
        faults.roll(self)
    }
}

impl Dice for &RefCell<Rng> {
    fn roll(&mut self, faults: &Faults) -> Roll {
        match self.try_borrow_mut() {
            Ok(mut rng) => faults.roll(&mut rng),
            // Only a roll from inside a roll could find it borrowed, and
            // none does; should one, the frame passes unharmed.
            Err(_) => Roll {
                drop: false,
                corrupt: false,
                duplicate: false,
                reorder: false,
                flip: 0,
                hold: 1,
            },
        }
    }
}

/// What a [`Faulty`](super::Faulty) wrapper did with the frames offered to it, both ways
/// together. Frames of a direction without faults pass uncounted.
///
/// ```
/// use layernet::link::faults::FaultStats;
/// let s = FaultStats { offered: 10, dropped: 2, duplicated: 1, delivered: 9, ..FaultStats::default() };
/// assert_eq!(s.delivered, s.offered - s.dropped + s.duplicated);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Frames rolled for.
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Copies handed on, to the stack or to the link, once due (a
    /// duplicated frame counts twice; a frame still held not yet).
    pub delivered: u64,
    /// Frames lost to the drop rate.
    pub dropped: u64,
    /// Frames with a bit flipped (or, not being IPv4, dropped as an FCS error).
    pub corrupted: u64,
    /// Frames delivered twice.
    pub duplicated: u64,
    /// Frames held back for reordering.
    pub reordered: u64,
    /// Copies lost because every slot of the hold queue was taken.
    pub overflow: u64,
    /// Frames larger than a slot, lost.
    pub oversize: u64,
}

impl FaultStats {
    /// The counts accumulated since `earlier` was taken (each saturates at 0).
    ///
    /// ```
    /// use layernet::link::faults::FaultStats;
    /// let (a, b) = (FaultStats { dropped: 1, ..FaultStats::default() }, FaultStats { dropped: 3, ..FaultStats::default() });
    /// assert_eq!(b.since(&a).dropped, 2);
    /// ```
    pub fn since(&self, earlier: &FaultStats) -> FaultStats {
        FaultStats {
            offered: self.offered.saturating_sub(earlier.offered),
            offered_bytes: self.offered_bytes.saturating_sub(earlier.offered_bytes),
            delivered: self.delivered.saturating_sub(earlier.delivered),
            dropped: self.dropped.saturating_sub(earlier.dropped),
            corrupted: self.corrupted.saturating_sub(earlier.corrupted),
            duplicated: self.duplicated.saturating_sub(earlier.duplicated),
            reordered: self.reordered.saturating_sub(earlier.reordered),
            overflow: self.overflow.saturating_sub(earlier.overflow),
            oversize: self.oversize.saturating_sub(earlier.oversize),
        }
    }

    /// Both sets of counts added up (the simulated network sums its hosts').
    ///
    /// ```
    /// use layernet::link::faults::FaultStats;
    /// let one = FaultStats { offered: 4, ..FaultStats::default() };
    /// assert_eq!(one.plus(&one).offered, 8);
    /// ```
    pub fn plus(&self, other: &FaultStats) -> FaultStats {
        FaultStats {
            offered: self.offered + other.offered,
            offered_bytes: self.offered_bytes + other.offered_bytes,
            delivered: self.delivered + other.delivered,
            dropped: self.dropped + other.dropped,
            corrupted: self.corrupted + other.corrupted,
            duplicated: self.duplicated + other.duplicated,
            reordered: self.reordered + other.reordered,
            overflow: self.overflow + other.overflow,
            oversize: self.oversize + other.oversize,
        }
    }
}

/// What the fault model did to one frame, as a [`Witness`] hears it:
/// every fault that hit it (a frame can be corrupted, duplicated and
/// reordered at once; a dropped one is only dropped). A frame held only
/// for the delay, or passed straight through, is clean.
///
/// ```
/// use layernet::link::faults::Fate;
/// assert!(Fate::CLEAN.is_clean());
/// let late = Fate { reordered: true, ..Fate::CLEAN };
/// assert!(!late.is_clean() && !late.lost());
/// assert!(Fate { dropped: true, ..Fate::CLEAN }.lost());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fate {
    /// Never delivered (the roll, or too big to hold).
    pub dropped: bool,
    /// One checksummed bit flipped: the receiver discards it (an ARP
    /// frame, which has no checksum, is lost as an FCS error loses it).
    pub corrupted: bool,
    /// Delivered twice.
    pub duplicated: bool,
    /// Held back so that later frames overtook it.
    pub reordered: bool,
}

impl Fate {
    /// Nothing happened to it.
    pub const CLEAN: Fate = Fate {
        dropped: false,
        corrupted: false,
        duplicated: false,
        reordered: false,
    };

    /// True if no fault hit it.
    ///
    /// ```
    /// use layernet::link::faults::Fate;
    /// assert!(!Fate { duplicated: true, ..Fate::CLEAN }.is_clean());
    /// ```
    pub const fn is_clean(self) -> bool {
        !(self.dropped || self.corrupted || self.duplicated || self.reordered)
    }

    /// True if the receiver never takes it in: dropped, or corrupted (its
    /// checksum fails, or the NIC's FCS would).
    ///
    /// ```
    /// use layernet::link::faults::Fate;
    /// assert!(Fate { corrupted: true, ..Fate::CLEAN }.lost());
    /// assert!(!Fate { duplicated: true, ..Fate::CLEAN }.lost());
    /// ```
    pub const fn lost(self) -> bool {
        self.dropped || self.corrupted
    }
}

/// Hears the [`Fate`] of every frame a [`super::Faulty`] wrapper rolls
/// for, as it is decided, with the frame as it was offered (before any
/// bit is flipped). A capture uses it to mark what the wire lost; frames
/// passed straight through (no faults that way) are not rolled for, so
/// not reported. Frames lost because every hold slot was taken (counted
/// as overflow) are reported as rolled, the slot shortage being the
/// wrapper's capacity, not the wire's doing.
///
/// ```
/// use layernet::link::faults::{Fate, Witness};
/// use layernet::Instant;
/// #[derive(Default)]
/// struct Lost(u32);
/// impl Witness for Lost {
///     fn fate(&mut self, _: Instant, _: bool, _: &[u8], fate: Fate) {
///         self.0 += u32::from(fate.lost());
///     }
/// }
/// let mut lost = Lost::default();
/// lost.fate(Instant::ZERO, false, &[0; 60], Fate { dropped: true, ..Fate::CLEAN });
/// assert_eq!(lost.0, 1);
/// ```
pub trait Witness {
    /// `frame` (`inbound`: from the link; else from the stack) met `fate` at `now`.
    fn fate(&mut self, now: Instant, inbound: bool, frame: &[u8], fate: Fate);
}

/// Nobody listens: the default, at no cost.
impl Witness for () {
    #[inline]
    fn fate(&mut self, _: Instant, _: bool, _: &[u8], _: Fate) {}
}

/// A witness that may be attached later (the simulated network's hosts
/// are made before anyone asks for a capture).
impl<W: Witness> Witness for Option<W> {
    #[inline]
    fn fate(&mut self, now: Instant, inbound: bool, frame: &[u8], fate: Fate) {
        if let Some(w) = self {
            w.fate(now, inbound, frame, fate);
        }
    }
}
