//! The responder's own name: probing for it (RFC 6762 section 8.1), the
//! simultaneous-probe tiebreak (section 8.2), a conflict's new name, and
//! the announcements (section 8.3), driven by the phase's timer.
//!
//! Layer: app. Depends on the responder's state in [`super`], on
//! [`crate::net::Stack`] and on [`super::wire`]; no heap.

use super::*;

impl<const LOG: usize> Responder<LOG> {
    /// Start probing the current name after a wait of `wait` plus up to
    /// 250 ms at random.
    pub(super) fn probe_from(&mut self, stack: &mut Stack<'_>, now: Instant, wait: Duration) {
        self.phase = Phase::Probing(0);
        self.announced = None;
        self.rest = None;
        let jitter = stack.random_below(PROBE_GAP.total_millis());
        self.next = now + wait + Duration::from_millis(jitter);
    }

    pub(super) fn conflict(&mut self, stack: &mut Stack<'_>, now: Instant) {
        let old = self.hostname();
        self.conflicts = self.conflicts.saturating_add(1);
        if self.suffix < MAX_SUFFIX {
            self.suffix += 1;
        }
        self.log.push(format_args!(
            "mdns: {old}.local is taken, now {}.local",
            self.hostname()
        ));
        let wait = if self.conflicts > CONFLICTS_BEFORE_SLOWING {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        self.probe_from(stack, now, wait);
    }

    /// The probe: a QU question for the name (type ANY), our address
    /// records in the authority section.
    fn send_probe(&mut self, stack: &mut Stack<'_>) {
        let Some(host) = self.host_name() else {
            return;
        };
        let mut buf = [0u8; MAX_MESSAGE];
        let Ok(mut w) = Writer::new(&mut buf, 0, 0) else {
            return;
        };
        let _ = w.question(&host, TYPE_ANY, CLASS_IN | CLASS_TOP);
        let v6 = Self::v6(stack);
        let _ = self.write(&mut w, Section::Authority, Rec::A, false, stack, &v6);
        for i in (0..MAX_V6).filter(|i| v6[*i].is_some()) {
            let _ = self.write(&mut w, Section::Authority, Rec::Aaaa(i), false, stack, &v6);
        }
        let n = w.finish();
        self.send(stack, &buf[..n], Self::group());
    }

    /// An unsolicited response with every record (RFC 6762 8.3), from
    /// record `start` on: as many as one message the socket can take
    /// holds; the rest are left in `rest`, for the next poll (RFC 6762
    /// 6: a response may be split across several messages).
    pub(super) fn send_announcement(&mut self, stack: &mut Stack<'_>, start: usize) {
        let limit = self.limit(stack);
        let mut buf = [0u8; MAX_MESSAGE];
        let Ok(mut w) = Writer::new(&mut buf[..limit], 0, FLAGS_RESPONSE) else {
            return;
        };
        let v6 = Self::v6(stack);
        let mut rest = None;
        for (i, rec) in self.all_records(&v6).enumerate().skip(start) {
            if self
                .write(&mut w, Section::Answer, rec, false, stack, &v6)
                .is_err()
            {
                // A record that no message can hold alone is skipped;
                // any other starts the next message.
                if !w.is_empty() {
                    rest = Some(i);
                    break;
                }
            }
        }
        if w.is_empty() {
            self.rest = None;
            return;
        }
        let n = w.finish();
        // A full queue (the message before this one not yet out): the
        // same records, next poll.
        self.rest = if self.send(stack, &buf[..n], Self::group()) {
            rest
        } else {
            Some(start)
        };
    }

    fn all_records(&self, v6: &[Option<[u8; 16]>; MAX_V6]) -> impl Iterator<Item = Rec> + '_ {
        let n = self.adverts.len();
        let v6: heapless::Vec<usize, MAX_V6> = (0..MAX_V6).filter(|i| v6[*i].is_some()).collect();
        core::iter::once(Rec::A)
            .chain(v6.into_iter().map(Rec::Aaaa))
            .chain((0..n).flat_map(|i| [Rec::Types(i), Rec::Ptr(i), Rec::Srv(i), Rec::Txt(i)]))
    }

    /// Another host probing for our name at the same time: the one whose
    /// proposed record is lexicographically later wins (RFC 6762 8.2);
    /// the loser waits a second and probes again.
    pub(super) fn tiebreak(
        &mut self,
        stack: &mut Stack<'_>,
        reader: &mut Reader<'_>,
        host: &Name,
        now: Instant,
    ) {
        let ours = stack.ipv4_addr().octets();
        let mut lost = false;
        while let Some(r) = reader.next_record() {
            if r.section != Section::Authority || !reader.name_is(r.name, host) {
                continue;
            }
            // Class, then type, then data, as the RFC orders them; our
            // first record is the A record (class IN, type 1).
            let theirs = (r.class & !CLASS_TOP, r.rtype, r.rdata);
            let mine = (CLASS_IN, TYPE_A, &ours[..]);
            if theirs > mine {
                lost = true;
            }
            break;
        }
        if lost {
            self.probe_from(stack, now, TIEBREAK_WAIT);
        }
    }

    /// The timers: probes, announcements, a new address.
    pub(super) fn tick(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        if self.phase == Phase::Ready {
            if self.announced != Some(stack.ipv4_addr()) {
                // A new lease: the name is probed again for it.
                self.probe_from(stack, now, Duration::ZERO);
            }
            return false;
        }
        if now < self.next {
            return false;
        }
        match self.phase {
            Phase::Starting => {
                if stack.ipv4_addr().is_unspecified() {
                    self.next = now + Duration::from_secs(1);
                    return false;
                }
                self.probe_from(stack, now, Duration::ZERO);
            }
            Phase::Probing(n) if n < PROBES => {
                self.send_probe(stack);
                self.phase = Phase::Probing(n + 1);
                self.next = now + PROBE_GAP;
            }
            Phase::Probing(_) => {
                self.send_announcement(stack, 0);
                self.announced = Some(stack.ipv4_addr());
                self.log.push(format_args!(
                    "mdns: answering for {}.local ({})",
                    self.hostname(),
                    stack.ipv4_addr()
                ));
                self.phase = Phase::Announcing(1);
                self.next = now + ANNOUNCE_GAP;
            }
            Phase::Announcing(n) => {
                self.send_announcement(stack, 0);
                if n + 1 >= ANNOUNCES {
                    self.phase = Phase::Ready;
                } else {
                    self.phase = Phase::Announcing(n + 1);
                    self.next = now + ANNOUNCE_GAP;
                }
            }
            Phase::Ready => {}
        }
        true
    }
}
