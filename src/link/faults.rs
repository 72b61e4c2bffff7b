//! Link middleware: a seeded fault model that wraps any link.
//!
//! Layer: link. Depends on smoltcp's `phy`, `time` and `wire` (to aim
//! corruption at checksummed bytes), on [`super::Link`] and on
//! [`super::rng`]; nothing above. No std, no allocation: the frames it
//! holds sit in a fixed array of slots inside the wrapper.
//!
//! [`Faulty`] sits between a link and the stack, as smoltcp's
//! `FaultInjector` does, and works over any [`Link`]: a port of the
//! simulated segment (whose faults it is: the segment itself is a plain
//! switch), the TAP device, the LAN9118 driver. Its rolls come from its
//! own seeded generator or from one it shares with other wrappers
//! ([`Dice`]); a seed replays the same run.
//!
//! # Capacity
//!
//! Up to `SLOTS` frames of at most `MTU` bytes are held at a time, both
//! ways together; a copy that finds every slot taken is lost and counted
//! as overflow, as on a NIC whose queue is full. While faults are on, the
//! capabilities tell smoltcp no more than `MTU`, so that nothing it sends
//! is too big to hold.
//!
//! # Faults
//!
//! Rolled per frame, in this order: drop, corrupt, duplicate, reorder.
//! Corruption flips one bit inside the IPv4 packet, where the IPv4 header
//! checksum or the ICMP/TCP/UDP checksum covers it: a single flipped bit
//! always changes a ones'-complement sum, so the receiver always detects
//! it. ARP has no checksum of its own (a real NIC's FCS would catch the
//! flip), so a corrupted ARP frame is dropped as an FCS error would drop
//! it, and counted as corrupted. A frame that survives is held until
//! `now + delay` (plus 1 to 4 ms when it is chosen for reordering, so that
//! later frames overtake it) and handed on when the wrapper is next used
//! at or after that time; [`Link::poll_at`] says when that is, for the
//! event loop's sleep.
//!
//! # Verdicts
//!
//! A [`Witness`] attached with [`Faulty::with_witness`] hears the [`Fate`]
//! of every frame rolled for, as it is decided and with the frame as it was
//! offered: this is how a capture above the wrapper marks what the wire
//! dropped, corrupted, duplicated or reordered (the host's pcapng). The
//! default witness, `()`, costs nothing.
//!
//! # Directions
//!
//! [`Ways::Both`] rolls for frames from the link before the stack sees
//! them and for frames from the stack before the link takes them (the TAP
//! host's `--faults`); [`Ways::Outbound`] only for what the stack sends,
//! which is how the simulated network uses it, each frame rolled once, by
//! its sender, as a shared wire would roll it. A direction without faults
//! and without held frames is passed straight through, tokens and all: a
//! wrapper with [`Faults::NONE`] costs no copy.
//!
//! Why this file is over the project's 800-line guide: it is one type,
//! [`Faulty`], with its tokens and the hold they share, and about 40% of
//! its lines are the docs and runnable examples on its constructors and
//! knobs, which read best beside the method they show. The fault model's
//! rolls and the tests are already in their own files (`model`, `tests`).

mod model;
#[cfg(test)]
mod tests;

use smoltcp::phy::{self, Device, DeviceCapabilities};
use smoltcp::time::{Duration, Instant};

use super::Link;
pub use super::Ways;
use super::rng::Rng;
pub use model::{Dice, Fate, FaultStats, Faults, Roll, Witness, flip_checksummed_bit};

/// One held frame.
struct Slot<const MTU: usize> {
    used: bool,
    inbound: bool,
    at: Instant,
    seq: u64,
    len: usize,
    data: [u8; MTU],
}

impl<const MTU: usize> Slot<MTU> {
    const EMPTY: Self = Slot {
        used: false,
        inbound: false,
        at: Instant::ZERO,
        seq: 0,
        len: 0,
        data: [0; MTU],
    };
}

/// The fault model's state and the frames it holds, apart from the inner
/// link and the frame buffers so that a token can borrow each on its own.
struct Hold<const SLOTS: usize, const MTU: usize, R, W> {
    faults: Faults,
    ways: Ways,
    /// Whether frames out (`[0]`) and in (`[1]`) are rolled for, from
    /// `faults` and `ways`: asked several times of every frame, and a
    /// comparison of whole `Faults` each time was most of what the
    /// wrapper cost with no faults set (the simulated network's case).
    rolls: [bool; 2],
    dice: R,
    witness: W,
    seq: u64,
    held: [usize; 2],
    slots: [Slot<MTU>; SLOTS],
    stats: FaultStats,
}

impl<const SLOTS: usize, const MTU: usize, R: Dice, W: Witness> Hold<SLOTS, MTU, R, W> {
    /// Whether frames this way are rolled for.
    #[inline]
    fn rolls(&self, inbound: bool) -> bool {
        self.rolls[usize::from(inbound)]
    }

    /// Nothing rolled for either way and nothing held: the wrapper only
    /// hands frames through (the simulated network without faults).
    #[inline]
    fn quiet(&self) -> bool {
        self.rolls == [false; 2] && self.held == [0; 2]
    }

    /// Set `faults` and `ways`, and what they mean for each direction.
    fn set(&mut self, faults: Faults, ways: Ways) {
        self.faults = faults;
        self.ways = ways;
        let on = faults != Faults::NONE;
        self.rolls = [on && ways.includes(false), on && ways.includes(true)];
    }

    /// Whether frames this way go through the hold queue (rolled for, or
    /// some still held from before the faults were turned off).
    fn active(&self, inbound: bool) -> bool {
        self.rolls(inbound) || self.held[usize::from(inbound)] > 0
    }

    /// Roll the faults for `frame` (corrupted in place if so chosen) and
    /// hold what survives, once or twice.
    fn offer(&mut self, inbound: bool, now: Instant, frame: &mut [u8]) {
        self.stats.offered += 1;
        self.stats.offered_bytes += frame.len() as u64;
        // Every roll is drawn whatever happens next: the draws per frame
        // are fixed, so one seed replays the same run.
        let roll = self.dice.roll(&self.faults);
        let oversize = frame.len() > MTU;
        // Told before anything is flipped: the witness sees the frame as
        // it was offered.
        let fate = Fate {
            dropped: oversize || roll.drop,
            corrupted: !oversize && !roll.drop && roll.corrupt,
            duplicated: !oversize && !roll.drop && roll.duplicate,
            reordered: !oversize && !roll.drop && roll.reorder,
        };
        self.witness.fate(now, inbound, frame, fate);
        if oversize {
            self.stats.oversize += 1;
            return;
        }
        if roll.drop {
            self.stats.dropped += 1;
            return;
        }
        if roll.corrupt {
            self.stats.corrupted += 1;
            if !flip_checksummed_bit(frame, roll.flip) {
                return;
            }
        }
        let mut at = now + self.faults.delay;
        if roll.reorder {
            self.stats.reordered += 1;
            at += Duration::from_millis(roll.hold);
        }
        let copies = if roll.duplicate {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let Some(slot) = self.slots.iter_mut().find(|s| !s.used) else {
                self.stats.overflow += 1;
                continue;
            };
            self.seq += 1;
            slot.used = true;
            slot.inbound = inbound;
            slot.at = at;
            slot.seq = self.seq;
            slot.len = frame.len();
            slot.data[..frame.len()].copy_from_slice(frame);
            self.held[usize::from(inbound)] += 1;
        }
    }

    /// The held frame of this direction due first by `now`, as a slot index.
    fn due(&self, inbound: bool, now: Instant) -> Option<usize> {
        // Nothing held this way (always, without faults): no walk over
        // the slots on every poll.
        if self.held[usize::from(inbound)] == 0 {
            return None;
        }
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.used && s.inbound == inbound && s.at <= now)
            .min_by_key(|(_, s)| (s.at, s.seq))
            .map(|(i, _)| i)
    }

    /// Free slot `i`, returning its frame and due time.
    fn release(&mut self, i: usize) -> Option<(&[u8], Instant)> {
        let slot = self.slots.get_mut(i)?;
        slot.used = false;
        let way = &mut self.held[usize::from(slot.inbound)];
        *way = way.saturating_sub(1);
        self.stats.delivered += 1;
        Some((&slot.data[..slot.len], slot.at))
    }

    fn next_due(&self) -> Option<Instant> {
        if self.held == [0, 0] {
            return None;
        }
        self.slots.iter().filter(|s| s.used).map(|s| s.at).min()
    }
}

/// Hand the held outbound frames that are due to `inner`, earliest first;
/// a link with no room keeps the rest held (due at once: the next poll
/// tries again).
fn send_due<L: Device, const SLOTS: usize, const MTU: usize, R: Dice, W: Witness>(
    hold: &mut Hold<SLOTS, MTU, R, W>,
    inner: &mut L,
    now: Instant,
) {
    while let Some(i) = hold.due(false, now) {
        let Some(token) = inner.transmit(now) else {
            return;
        };
        let Some((frame, _)) = hold.release(i) else {
            return;
        };
        phy::TxToken::consume(token, frame.len(), |buf| {
            let n = buf.len().min(frame.len());
            buf[..n].copy_from_slice(&frame[..n]);
        });
    }
}

/// The fault model over any link: a smoltcp `phy::Device` and a [`Link`]
/// that rolls [`Faults`] for the frames of its [`Ways`], holding up to
/// `SLOTS` frames of at most `MTU` bytes (Ethernet header included) until
/// they are due, its rolls drawn from `R` ([`Dice`]). See the module doc.
///
/// # Example
///
/// A port of the simulated segment, every frame it sends lost:
///
/// ```
/// use core::cell::RefCell;
/// use layernet::link::faults::{Faults, Faulty};
/// use layernet::link::{Link, segment::{Port, Segment}};
/// use layernet::{EthernetAddress, Instant};
/// use smoltcp::phy::{Device, TxToken};
///
/// let wire = RefCell::new(Segment::<2, 8, 1514>::new());
/// let a = Port::new(&wire, 0, EthernetAddress([2, 0, 0, 0, 0, 1])).ok_or("0")?;
/// let mut b = Port::new(&wire, 1, EthernetAddress([2, 0, 0, 0, 0, 2])).ok_or("1")?;
/// let mut a = Faulty::<_, 8, 1514>::new(a, Faults::loss(100), 7);
/// a.transmit(Instant::ZERO).ok_or("tx")?.consume(60, |f| f.fill(0xff));
/// assert!(b.peek(Instant::ZERO).is_none(), "lost on the way");
/// assert_eq!(a.stats().dropped, 1);
/// # Ok::<(), &str>(())
/// ```
pub struct Faulty<L, const SLOTS: usize, const MTU: usize, R = Rng, W = ()> {
    inner: L,
    hold: Hold<SLOTS, MTU, R, W>,
    /// The inbound frame handed out next, when it came through the hold
    /// queue (or was copied to let the reply's token borrow the link).
    rx: [u8; MTU],
    rx_len: Option<usize>,
    rx_at: Instant,
    /// Where smoltcp builds an outbound frame that is to be rolled for.
    tx: [u8; MTU],
}

impl<L: Link, const SLOTS: usize, const MTU: usize> Faulty<L, SLOTS, MTU> {
    /// Wrap `inner`, rolling `faults` both ways from `seed`.
    ///
    /// ```
    /// use layernet::link::faults::{Faults, Faulty, Ways};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    ///
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let nic = Faulty::<_, 4, 1514>::new(nic, Faults::loss(10), 1);
    /// assert_eq!((nic.faults(), nic.ways()), (Faults::loss(10), Ways::Both));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: L, faults: Faults, seed: u64) -> Self {
        Faulty::with_dice(inner, faults, Rng::new(seed))
    }
}

impl<L: Link, const SLOTS: usize, const MTU: usize, R: Dice> Faulty<L, SLOTS, MTU, R> {
    /// Wrap `inner`, rolling `faults` both ways from `dice`.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::link::{faults::{Faults, Faulty}, rng::Rng};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    ///
    /// let shared = RefCell::new(Rng::new(3));
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let nic = Faulty::<_, 4, 1514, _>::with_dice(nic, Faults::loss(10), &shared);
    /// assert_eq!(nic.faults(), Faults::loss(10));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_dice(inner: L, faults: Faults, dice: R) -> Self {
        let mut hold = Hold {
            faults,
            ways: Ways::Both,
            rolls: [false; 2],
            dice,
            witness: (),
            seq: 0,
            held: [0; 2],
            slots: [const { Slot::EMPTY }; SLOTS],
            stats: FaultStats::default(),
        };
        hold.set(faults, Ways::Both);
        Faulty {
            inner,
            hold,
            rx: [0; MTU],
            rx_len: None,
            rx_at: Instant::ZERO,
            tx: [0; MTU],
        }
    }
}

impl<L: Link, const SLOTS: usize, const MTU: usize, R: Dice, W: Witness>
    Faulty<L, SLOTS, MTU, R, W>
{
    /// Tell `witness` the [`Fate`] of every frame rolled for from now on
    /// (in place of the one it had): how a capture learns what the wire
    /// lost.
    ///
    /// ```
    /// use layernet::link::faults::{Fate, Faults, Faulty, Witness};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// use smoltcp::phy::{Device, TxToken};
    /// #[derive(Default)]
    /// struct Fates(Vec<Fate>);
    /// impl Witness for Fates {
    ///     fn fate(&mut self, _: layernet::Instant, _: bool, _: &[u8], fate: Fate) { self.0.push(fate) }
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let mut nic = Faulty::<_, 4, 1514>::new(nic, Faults::loss(100), 1).with_witness(Fates::default());
    /// nic.transmit(layernet::Instant::ZERO).ok_or("tx")?.consume(60, |f| f.fill(0));
    /// assert_eq!(nic.witness().0, [Fate { dropped: true, ..Fate::CLEAN }]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_witness<V: Witness>(self, witness: V) -> Faulty<L, SLOTS, MTU, R, V> {
        let Faulty {
            inner,
            hold,
            rx,
            rx_len,
            rx_at,
            tx,
        } = self;
        let Hold {
            faults,
            ways,
            rolls,
            dice,
            witness: _,
            seq,
            held,
            slots,
            stats,
        } = hold;
        Faulty {
            inner,
            hold: Hold {
                faults,
                ways,
                rolls,
                dice,
                witness,
                seq,
                held,
                slots,
                stats,
            },
            rx,
            rx_len,
            rx_at,
            tx,
        }
    }

    /// The witness told of every frame's fate.
    ///
    /// ```
    /// use layernet::link::faults::{Faults, Faulty};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let nic = Faulty::<_, 4, 1514>::new(nic, Faults::NONE, 1);
    /// assert_eq!(*nic.witness(), (), "nobody, by default");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn witness(&self) -> &W {
        &self.hold.witness
    }

    /// The witness, mutably (to attach a capture once it exists).
    ///
    /// ```
    /// use layernet::link::faults::{Fate, Faults, Faulty, Witness};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// struct Count(u32);
    /// impl Witness for Count {
    ///     fn fate(&mut self, _: layernet::Instant, _: bool, _: &[u8], _: Fate) { self.0 += 1 }
    /// }
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let mut nic = Faulty::<_, 4, 1514>::new(nic, Faults::NONE, 1).with_witness(None);
    /// *nic.witness_mut() = Some(Count(0));
    /// assert!(nic.witness().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn witness_mut(&mut self) -> &mut W {
        &mut self.hold.witness
    }

    /// Roll only for the frames `ways` names.
    ///
    /// ```
    /// use layernet::link::faults::{Faults, Faulty, Ways};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let out = Faulty::<_, 4, 1514>::new(nic, Faults::loss(10), 1).with_ways(Ways::Outbound);
    /// assert_eq!(out.ways(), Ways::Outbound);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_ways(mut self, ways: Ways) -> Self {
        self.hold.set(self.hold.faults, ways);
        self
    }

    /// The directions rolled for.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// use layernet::link::faults::Ways;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// assert_eq!(net.host(a).1.ways(), Ways::Outbound, "each frame rolled by its sender");
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn ways(&self) -> Ways {
        self.hold.ways
    }

    /// Change the fault model from now on; frames already held keep their
    /// fate.
    ///
    /// ```
    /// use layernet::link::faults::{Faults, Faulty};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let mut nic = Faulty::<_, 4, 1514>::new(nic, Faults::NONE, 1);
    /// nic.set_faults(Faults::loss(3));
    /// assert_eq!(nic.faults().drop_pct, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_faults(&mut self, faults: Faults) {
        self.hold.set(faults, self.hold.ways);
    }

    /// The fault model in force.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, link::faults::Faults};
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// net.set_faults(Faults::loss(7));
    /// assert_eq!(net.host(a).1.faults(), Faults::loss(7), "every host's wrapper");
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn faults(&self) -> Faults {
        self.hold.faults
    }

    /// What was done so far.
    ///
    /// ```
    /// use layernet::{Duration, host::sim::*, link::faults::Faults, socket::UdpSocket};
    /// let (mut net, a, b) = SimNet::pair(2)?;
    /// net.set_faults(Faults { duplicate_pct: 100, ..Faults::NONE });
    /// UdpSocket::bind(net.stack(a), 0)?.send_to(net.stack(a), b"twice", endpoint(b, 9))?;
    /// net.run_for(Duration::from_millis(5));
    /// let s = net.host(a).1.stats(); // a's ARP request and its datagram
    /// assert_eq!((s.offered, s.duplicated, s.delivered), (2, 2, 4));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> FaultStats {
        self.hold.stats
    }

    /// The wrapped link.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(1)?;
    /// let port = net.host(a).1.inner(); // the bare port on the segment
    /// assert_eq!(port.segment().borrow().mtu(), 1500);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// Whether the wrapper only hands frames through for now: no faults
    /// rolled either way, nothing held. A host that sees this may poll
    /// the inner link directly for one turn and lose nothing, which
    /// spares every frame the wrapper's tokens (the simulated network's
    /// benchmarks run so).
    ///
    /// ```
    /// use layernet::link::faults::{Faults, Faulty};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let mut nic = Faulty::<_, 4, 1514>::new(nic, Faults::NONE, 1);
    /// assert!(nic.passes_through());
    /// nic.set_faults(Faults::loss(1));
    /// assert!(!nic.passes_through());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn passes_through(&self) -> bool {
        self.passes()
    }

    /// The wrapped link, mutably (frames taken from it directly bypass
    /// the faults).
    ///
    /// ```
    /// use layernet::link::faults::{Faults, Faulty};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let mut nic = Faulty::<_, 4, 1514>::new(nic, Faults::loss(50), 1);
    /// nic.inner_mut().registers().deliver(&[0; 60])?; // a frame arrives at the chip
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inner_mut(&mut self) -> &mut L {
        &mut self.inner
    }

    /// When the next held frame is due (`None`: nothing held); an inbound
    /// frame already taken from the hold queue is due at once. The
    /// inner link's own deadline counts too.
    ///
    /// ```
    /// use layernet::link::faults::{Faults, Faulty};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// use layernet::{Duration, Instant};
    /// use smoltcp::phy::{Device, TxToken};
    ///
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let slow = Faults { delay: Duration::from_millis(7), ..Faults::NONE };
    /// let mut nic = Faulty::<_, 4, 1514>::new(nic, slow, 1);
    /// assert_eq!(nic.poll_at(), None);
    /// nic.transmit(Instant::ZERO).ok_or("tx")?.consume(60, |f| f.fill(1));
    /// assert_eq!(nic.poll_at(), Some(Instant::from_millis(7)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_at(&self) -> Option<Instant> {
        let mine = match (self.rx_len, self.hold.next_due()) {
            (Some(_), Some(t)) => Some(t.min(self.rx_at)),
            (Some(_), None) => Some(self.rx_at),
            (None, t) => t,
        };
        match (mine, self.inner.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        }
    }

    /// Hand on the held outbound frames due by `now`. Every use of the
    /// wrapper as a device does this first; an event loop woken by
    /// [`Faulty::poll_at`] polls the stack, which uses it.
    ///
    /// ```
    /// use layernet::link::faults::{Faults, Faulty};
    /// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
    /// use layernet::{Duration, Instant};
    /// use smoltcp::phy::{Device, TxToken};
    ///
    /// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
    /// let late = Faults { delay: Duration::from_millis(2), ..Faults::NONE };
    /// let mut nic = Faulty::<_, 4, 1514>::new(nic, late, 1);
    /// nic.transmit(Instant::ZERO).ok_or("tx")?.consume(60, |f| f.fill(9));
    /// nic.flush(Instant::from_millis(1));
    /// assert!(nic.inner_mut().registers().take_sent().is_none(), "not yet");
    /// nic.flush(Instant::from_millis(2));
    /// assert!(nic.inner_mut().registers().take_sent().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&mut self, now: Instant) {
        send_due(&mut self.hold, &mut self.inner, now);
    }

    /// Whether every call can go straight to the inner link: checked first
    /// by each, so that a wrapper with nothing to do costs one test a call.
    #[inline]
    fn passes(&self) -> bool {
        self.rx_len.is_none() && self.hold.quiet()
    }

    /// Whether inbound frames can come straight from the inner link.
    fn rx_direct(&self) -> bool {
        self.rx_len.is_none() && !self.hold.active(true)
    }

    /// Put the next inbound frame due into `rx`: through the hold queue
    /// when that way is rolled for, else copied as it comes.
    fn fill(&mut self, now: Instant) {
        if self.rx_len.is_some() {
            return;
        }
        if self.hold.rolls(true) {
            // Bounded: a flood cannot keep this loop reading for ever.
            for _ in 0..SLOTS.max(1) {
                let Some(frame) = self.inner.peek(now) else {
                    break;
                };
                let n = frame.len();
                if n > MTU {
                    self.hold.stats.offered += 1;
                    self.hold.stats.oversize += 1;
                    self.inner.discard(now);
                    continue;
                }
                self.rx[..n].copy_from_slice(frame);
                self.inner.discard(now);
                self.hold.offer(true, now, &mut self.rx[..n]);
            }
        }
        if let Some(i) = self.hold.due(true, now) {
            if let Some((frame, at)) = self.hold.release(i) {
                let n = frame.len();
                self.rx[..n].copy_from_slice(frame);
                self.rx_len = Some(n);
                self.rx_at = at;
            }
            return;
        }
        if !self.hold.rolls(true)
            && let Some(frame) = self.inner.peek(now)
        {
            let n = frame.len().min(MTU);
            self.rx[..n].copy_from_slice(&frame[..n]);
            self.inner.discard(now);
            self.rx_len = Some(n);
            self.rx_at = now;
        }
    }
}

impl<L: Link, const SLOTS: usize, const MTU: usize, R: Dice, W: Witness> Link
    for Faulty<L, SLOTS, MTU, R, W>
{
    fn peek(&mut self, now: Instant) -> Option<&[u8]> {
        if self.passes() {
            return self.inner.peek(now);
        }
        send_due(&mut self.hold, &mut self.inner, now);
        if self.rx_direct() {
            return self.inner.peek(now);
        }
        self.fill(now);
        let len = self.rx_len?;
        self.rx.get(..len)
    }

    fn discard(&mut self, now: Instant) {
        if self.rx_len.take().is_none() && !self.hold.active(true) {
            self.inner.discard(now);
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        Faulty::poll_at(self)
    }
}

/// Receive token: the inner link's own, or a frame that came through the
/// hold queue.
///
/// ```
/// use layernet::link::faults::{Faults, Faulty, FaultyRxToken};
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use smoltcp::phy::{Device, RxToken};
///
/// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// let mut nic = Faulty::<_, 4, 1514>::new(nic, Faults::NONE, 1);
/// nic.inner_mut().registers().deliver(&[5; 60])?;
/// let (rx, _) = nic.receive(layernet::Instant::ZERO).ok_or("nothing")?;
/// assert!(matches!(rx, FaultyRxToken::Inner(_)), "no faults: the driver's own token");
/// assert_eq!(rx.consume(|f| f.len()), 60);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum FaultyRxToken<'a, L: Device + 'a> {
    /// Straight from the inner link.
    Inner(L::RxToken<'a>),
    /// From the wrapper's buffer.
    Held(&'a [u8]),
}

impl<'a, L: Device + 'a> phy::RxToken for FaultyRxToken<'a, L> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self {
            FaultyRxToken::Inner(token) => token.consume(f),
            FaultyRxToken::Held(frame) => f(frame),
        }
    }

    fn meta(&self) -> phy::PacketMeta {
        match self {
            FaultyRxToken::Inner(token) => token.meta(),
            FaultyRxToken::Held(_) => phy::PacketMeta::default(),
        }
    }
}

/// Transmit token: the inner link's own, or one whose frame is rolled for
/// and held until due.
///
/// ```
/// use layernet::link::faults::{Faults, Faulty, FaultyTxToken};
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use smoltcp::phy::{Device, TxToken};
///
/// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// let mut nic = Faulty::<_, 4, 1514>::new(nic, Faults::loss(100), 1);
/// let tx = nic.transmit(layernet::Instant::ZERO).ok_or("busy")?;
/// assert!(matches!(tx, FaultyTxToken::Held(_)), "faults on: rolled for");
/// tx.consume(60, |f| f.fill(0));
/// assert!(nic.inner_mut().registers().take_sent().is_none(), "and lost");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum FaultyTxToken<'a, L: Device + 'a, const SLOTS: usize, const MTU: usize, R = Rng, W = ()> {
    /// Straight to the inner link.
    Inner(L::TxToken<'a>),
    /// Through the fault model.
    Held(HeldTx<'a, L, SLOTS, MTU, R, W>),
}

/// A frame smoltcp builds in the wrapper, rolled for when complete: the
/// [`FaultyTxToken::Held`] variant's token.
///
/// ```
/// use layernet::link::faults::{Faults, Faulty, FaultyTxToken, HeldTx};
/// use layernet::link::lan9118::{Lan9118, fake::FakeLan9118};
/// use smoltcp::phy::Device;
///
/// let nic = Lan9118::new(FakeLan9118::new(), layernet::net::DEFAULT_MAC)?;
/// let mut nic = Faulty::<_, 4, 1514>::new(nic, Faults::loss(1), 1);
/// let held: Option<HeldTx<'_, _, 4, 1514>> = match nic.transmit(layernet::Instant::ZERO) {
///     Some(FaultyTxToken::Held(token)) => Some(token),
///     _ => None,
/// };
/// assert!(held.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HeldTx<'a, L, const SLOTS: usize, const MTU: usize, R = Rng, W = ()> {
    inner: &'a mut L,
    hold: &'a mut Hold<SLOTS, MTU, R, W>,
    buf: &'a mut [u8; MTU],
    now: Instant,
}

impl<'a, L: Device + 'a, const SLOTS: usize, const MTU: usize, D: Dice, W: Witness> phy::TxToken
    for FaultyTxToken<'a, L, SLOTS, MTU, D, W>
{
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        match self {
            FaultyTxToken::Inner(token) => token.consume(len, f),
            FaultyTxToken::Held(HeldTx {
                inner,
                hold,
                buf,
                now,
            }) => {
                // The capabilities say at most MTU when faults are on; the
                // clamp keeps a misbehaving caller from panicking us.
                let frame = &mut buf[..len.min(MTU)];
                let r = f(frame);
                hold.offer(false, now, frame);
                // Due at once without a delay: out now, not at the next poll.
                send_due(hold, inner, now);
                r
            }
        }
    }

    fn set_meta(&mut self, meta: phy::PacketMeta) {
        if let FaultyTxToken::Inner(token) = self {
            token.set_meta(meta);
        }
    }
}

impl<L: Link, const SLOTS: usize, const MTU: usize, R: Dice, W: Witness> Device
    for Faulty<L, SLOTS, MTU, R, W>
{
    type RxToken<'a>
        = FaultyRxToken<'a, L>
    where
        Self: 'a;
    type TxToken<'a>
        = FaultyTxToken<'a, L, SLOTS, MTU, R, W>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.passes() {
            let (rx, tx) = self.inner.receive(now)?;
            return Some((FaultyRxToken::Inner(rx), FaultyTxToken::Inner(tx)));
        }
        send_due(&mut self.hold, &mut self.inner, now);
        let tx_direct = !self.hold.active(false);
        if self.rx_direct() && tx_direct {
            let (rx, tx) = self.inner.receive(now)?;
            return Some((FaultyRxToken::Inner(rx), FaultyTxToken::Inner(tx)));
        }
        self.fill(now);
        self.rx_len?;
        let tx = if tx_direct {
            FaultyTxToken::Inner(self.inner.transmit(now)?)
        } else {
            FaultyTxToken::Held(HeldTx {
                inner: &mut self.inner,
                hold: &mut self.hold,
                buf: &mut self.tx,
                now,
            })
        };
        let len = self.rx_len.take()?;
        Some((FaultyRxToken::Held(&self.rx[..len]), tx))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        if self.passes() {
            return self.inner.transmit(now).map(FaultyTxToken::Inner);
        }
        send_due(&mut self.hold, &mut self.inner, now);
        if !self.hold.active(false) {
            return self.inner.transmit(now).map(FaultyTxToken::Inner);
        }
        Some(FaultyTxToken::Held(HeldTx {
            inner: &mut self.inner,
            hold: &mut self.hold,
            buf: &mut self.tx,
            now,
        }))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = self.inner.capabilities();
        if self.hold.rolls != [false; 2] {
            // A frame bigger than a slot could not be held.
            caps.max_transmission_unit = caps.max_transmission_unit.min(MTU);
        }
        caps
    }
}
