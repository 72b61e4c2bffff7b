//! The stack's poll: frames in through the gate, smoltcp's ingress and
//! egress, the stall kick, the state watcher, and the deadline an event
//! loop sleeps until.
//!
//! Layer: net. Depends on smoltcp and on [`crate::link`] (the device lent
//! to each poll).

use super::observe::{Lent, tell};
use super::pool::{live, live_mut};
use super::*;

/// Which TCP sockets a look ([`Stack::watch`]) visits.
#[derive(Clone, Copy)]
enum Looks {
    /// Every live one.
    All,
    /// Those lent to the layer above since the last look at all of them
    /// ([`TcpEntry::touched`]).
    Touched,
    /// Those a segment could reach ([`gate::Admission::reached`]).
    Reached(u64),
}

impl<'a> Stack<'a> {
    /// Run the stack at time `now`: take in up to [`INGRESS_BURST`] frames,
    /// one at a time through the gate, send what the sockets have queued,
    /// and return finished sockets to the pool. Returns true if anything
    /// happened (a frame in or out, a socket re-armed; smoltcp does not
    /// count the ARP request it sends for a socket waiting on a neighbour).
    ///
    /// The device is lent for the call, as smoltcp's `Interface::poll`
    /// takes it: nothing else of the stack names its type.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Instant, socket::UdpSocket};
    ///
    /// let (mut net, a, b) = SimNet::pair(0)?;
    /// let t = Instant::from_millis(1);
    /// let (stack, port) = net.host(a);
    /// UdpSocket::bind(stack, 0)?.send_to(stack, b"?", endpoint(b, 9))?;
    /// stack.poll(port, t); // the ARP request leaves
    /// assert!(!stack.poll(port, t), "nothing more to do until the reply");
    /// assert_eq!(net.segment().stats().offered, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll<D: Link>(&mut self, device: &mut D, now: Instant) -> bool {
        self.poll_lent(device, &mut None, now)
    }

    /// [`Stack::poll`], showing `observer` every frame and every event of
    /// this poll (see [`Observer`]). The observer is lent for the call, as
    /// the device is: the stack keeps neither, so the caller owns its
    /// observer (on the stack, in a `Box`, in a static) and may swap or
    /// drop it between polls; a poll without one is [`Stack::poll`].
    ///
    /// # Example
    ///
    /// Two stacks on one segment; the first is watched while it pings
    /// the second, then polled without its observer:
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::host::sim::{host_ip, host_mac};
    /// use layernet::link::segment::{StdPort, StdSegment};
    /// use layernet::net::{Config, Direction, Event, Observer, Stack, profile};
    /// use layernet::{Instant, socket::Ping};
    ///
    /// #[derive(Default)]
    /// struct CountSent(u32);
    /// impl Observer for CountSent {
    ///     fn frame(&mut self, _: Instant, way: Direction, _: &[u8]) { self.0 += u32::from(way == Direction::Tx) }
    ///     fn event(&mut self, _: Instant, _: Event) {}
    /// }
    /// let wire = RefCell::new(StdSegment::new());
    /// let (ca, cb) = (Config::new(host_mac(0), host_ip(0)), Config::new(host_mac(1), host_ip(1)));
    /// let (mut ra, mut rb) = (profile::Tiny::new(), profile::Tiny::new());
    /// let mut pa = StdPort::new(&wire, 0, ca.mac).ok_or("a")?;
    /// let mut pb = StdPort::new(&wire, 1, cb.mac).ok_or("b")?;
    /// let mut a = Stack::new(ca, &mut pa, &mut ra, Instant::ZERO)?;
    /// let mut b = Stack::new(cb, &mut pb, &mut rb, Instant::ZERO)?;
    /// let mut sent = CountSent::default(); // a local: nothing to leak
    /// let mut ping = Ping::new(&mut a);
    /// ping.send(&mut a, host_ip(1).address(), 1, b"")?;
    /// for ms in 0..20 {
    ///     let now = Instant::from_millis(ms);
    ///     a.poll_observed(&mut pa, &mut sent, now);
    ///     b.poll(&mut pb, now);
    /// }
    /// assert_eq!(sent.0, 2, "ARP request, echo request");
    /// ping.send(&mut a, host_ip(1).address(), 2, b"")?;
    /// for ms in 20..40 {
    ///     let now = Instant::from_millis(ms);
    ///     a.poll(&mut pa, now);
    ///     b.poll(&mut pb, now);
    /// }
    /// assert_eq!(sent.0, 2, "not lent: not shown");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_observed<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut dyn Observer,
        now: Instant,
    ) -> bool {
        self.poll_lent(device, &mut Some(observer), now)
    }

    /// [`Stack::poll`] with the observer lent to it, if any.
    fn poll_lent<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut Lent<'_, '_>,
        now: Instant,
    ) -> bool {
        // A new instant: a timer may have expired since the last walk.
        if now != self.now {
            self.walked_now = false;
        }
        // Whether this poll starts a parking tick, decided here as a bool:
        // the previous instant (two words) kept alive through the whole
        // poll until the park below cost the firmware, which inlines the
        // poll into its run loop, 104 B of flash on the Cortex-M3.
        let new_tick = pool::new_tick(self.now, now);
        self.now = now;
        let mut progress = false;
        // Changes the application made since the last poll (listen,
        // connect, close) show up as transitions here, before any frame;
        // only the sockets it was lent can have changed.
        self.watch(Looks::Touched, observer);
        // Closes that waited CLOSE_TIMEOUT on a silent peer end at the
        // first poll of a parking tick (at most 131 ms late; `poll_at`
        // names that poll): a walk per tick, not per poll.
        if new_tick {
            progress |= self.cut_silent_closes(now);
        }
        self.iface.poll_maintenance(now);
        let us = gate::Us {
            mac: self.mac(),
            cidr: self.cidr,
            #[cfg(feature = "ipv6")]
            v6: self.v6_for_gate(),
            #[cfg(feature = "names")]
            dhcp: self.names.dhcp_active(),
            #[cfg(feature = "names")]
            dns: self.names.dns_active(),
        };
        // A SYN that finds its listener with none in LISTEN (see
        // LISTEN_AHEAD) goes to the gate a second time, after a re-arm;
        // the frame stays at the head of the link meanwhile, and is
        // counted once.
        let mut asked_again = false;
        for _ in 0..INGRESS_BURST {
            let Some(frame) = device.peek(now) else {
                break;
            };
            // Parsed once, here; every reader below takes its views.
            let parsed = frame::Frame::parse(frame);
            let parsed = parsed.as_ref();
            let again = core::mem::take(&mut asked_again);
            if !again {
                #[cfg(feature = "names")]
                self.names.see(parsed);
                self.counters.tally(Direction::Rx, parsed);
                self.seen.frame(now, Direction::Rx, parsed);
            }
            let pool = gate::Pool {
                sockets: &self.sockets,
                // No entry in use lies past these (idle ones match nothing).
                tcp: live(self.tcp, self.tcp_live),
                udp: self.udp,
                listeners: &self.listeners,
            };
            let gate::Admission {
                verdict,
                quiet,
                reached,
                segment,
                fin_only,
            } = gate::admit(parsed, &us, &pool);
            if !again && matches!(verdict, gate::Verdict::Drop(DropReason::BusyPool)) {
                asked_again = true;
                self.rearm();
                // The gate reads tracking's records, not the sockets: the
                // slots just armed are looked at before it sees the SYN
                // again (their LISTEN shows before the frame, then the
                // handshake's SYN-RECEIVED after it).
                self.watch_states(observer);
                continue;
            }
            let fill = observe::arp_fill(parsed, self.cidr.address(), |ip| {
                self.cidr.contains_addr(&ip)
            });
            if let Some(observer) = observer {
                observer.frame(now, Direction::Rx, frame);
            }
            let note = match verdict {
                gate::Verdict::Drop(reason) => {
                    device.discard(now);
                    self.counters.dropped(reason);
                    tell(observer, now, Event::Dropped(reason));
                    progress = true;
                    continue;
                }
                gate::Verdict::Admit(note) => note,
            };
            // The connection a segment belongs to: the gate found it while
            // matching (no second walk over the pool).
            if let Some((segment, Some(i))) = segment
                && let Some(entry) = self.tcp.get_mut(i)
            {
                if entry.track.closing() {
                    entry.track.heard_from(&segment, now);
                }
                entry.track.received(&segment);
            }
            if let Some(gate::NoSocket { transport, .. }) = note {
                match transport {
                    Transport::Tcp => self.counters.tcp_no_socket += 1,
                    Transport::Udp => self.counters.udp_no_socket += 1,
                }
            }
            // Neighbour discovery is ICMPv6: every other frame skips its
            // two readers (a call each, per frame of a bulk transfer).
            #[cfg(feature = "ipv6")]
            let icmpv6 = parsed.is_some_and(frame::Frame::is_icmpv6);
            #[cfg(feature = "ipv6")]
            let unrouted = if icmpv6 {
                ndp::unrouted(parsed, self.iface.ip_addrs())
            } else {
                None
            };
            // A new neighbour: a socket that waited for it is dispatched at
            // this poll's egress, its timer maybe expired meanwhile, so this
            // poll walks (see `Stack::walked_now`). Only the frames smoltcp
            // learns neighbours from: a ping6 flood costs no walks.
            #[cfg(feature = "ipv6")]
            if icmpv6 && parsed.is_some_and(frame::Frame::is_ns_or_na) {
                self.walked_now = false;
            }
            if let Some(event) = fill {
                self.walked_now = false;
                if let Event::ArpFill { ip, mac } = event {
                    self.seen.learn(now, ip.into(), mac);
                }
                tell(observer, now, event);
            }
            #[cfg(all(feature = "live", feature = "ipv6"))]
            if icmpv6 && let Some((ip, mac)) = super::seen::ndp_fill(parsed) {
                self.seen.learn(now, ip, mac);
            }
            if let Some(note) = note {
                tell(observer, now, note.into());
            }
            // smoltcp gives a segment with an ACK or an RST to no
            // listening socket (`tcp::Socket::accepts`), only to the
            // holder of its four numbers, which tracking knows (or knows
            // there is none): the listeners of its port need no look
            // below. Narrowed here, before smoltcp takes the frame, so that
            // only the mask outlives the call (and only when a look
            // follows: a quiet segment gets none).
            let reached = match segment {
                Some((s, holder)) if !quiet && (s.ack.is_some() || s.rst) => match holder {
                    Some(i) => reached & gate::entry_bit(i),
                    None => 0,
                },
                _ => reached,
            };
            let result = self.ingress_once(device, observer, now, fin_only);
            #[cfg(feature = "ipv6")]
            if let Some(ns) = unrouted {
                self.answer_unrouted(device, observer, ns);
            }
            // Only a socket the segment reached can have changed: smoltcp
            // hands a frame to one TCP socket at most, and only a TCP
            // segment to any. After a quiet segment (see `gate::admit`)
            // the look would find nothing new.
            if !quiet {
                self.watch(Looks::Reached(reached), observer);
            }
            match result {
                PollIngressSingleResult::None => break,
                _ => {
                    self.counters.frames_in += 1;
                    progress = true;
                }
            }
        }
        for _ in 0..EGRESS_BURST {
            let result = self.egress_once(device, observer, now);
            // An observer sees each state change between the frames that
            // caused it; without one, the walk after the burst records the
            // same changes (segments are matched by endpoints, which a
            // burst does not change) at a pool walk per burst, not per
            // segment.
            if observer.is_some() {
                self.watch_states(observer);
            }
            match result {
                PollResult::None => break,
                PollResult::SocketStateChanged => progress = true,
            }
        }
        #[cfg(feature = "names")]
        self.dhcp_after_poll(device, observer);
        progress |= self.kick_stalled(device, observer, now);
        if core::mem::take(&mut self.pool_moved) {
            progress |= self.rearm();
        }
        // Once per instant (see `Stack::walked_now`): what a re-arm just
        // changed is touched, and the next poll looks at it first.
        if !core::mem::replace(&mut self.walked_now, true) {
            self.watch_states(observer);
        }
        // Sockets this poll's egress did not reach go out in a later one,
        // at this instant maybe: that poll walks again (see `walk_next`).
        if core::mem::take(&mut self.walk_next) {
            self.walked_now = false;
        }
        if core::mem::take(&mut self.pool_moved) {
            self.park_due = true;
            self.trim_live();
            // What this walk found (a close that egress finished, say)
            // has not been re-armed for: the next poll does it.
            self.pool_moved = true;
        }
        // Those idle long enough are parked at the first poll of each
        // parking tick (see `PARK_AFTER`): no time of its own to keep.
        if self.park_due && new_tick {
            self.park_due = self.park_idle(true);
        }
        progress
    }

    /// One received frame into smoltcp, through the watching device; as
    /// its FIN alone if `fin_only` (see `gate::Admission::fin_only`).
    pub(super) fn ingress_once<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut Lent<'_, '_>,
        now: Instant,
        fin_only: bool,
    ) -> PollIngressSingleResult {
        let (iface, sockets, mut device) = self.watched(device, observer, now);
        device.set_fin_only(fin_only);
        iface.poll_ingress_single(now, &mut device, sockets)
    }

    /// One egress round of smoltcp, through the watching device.
    pub(super) fn egress_once<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut Lent<'_, '_>,
        now: Instant,
    ) -> PollResult {
        let (iface, sockets, mut device) = self.watched(device, observer, now);
        let result = iface.poll_egress(now, &mut device, sockets);
        let cut = device.cut_short();
        self.walk_next |= cut;
        result
    }

    /// smoltcp's interface and sockets, and `device` as smoltcp is to see
    /// it: every frame sent through it counted, noted and tracked.
    fn watched<'w, 'o, D>(
        &'w mut self,
        device: &'w mut D,
        observer: &'w mut Lent<'_, 'o>,
        now: Instant,
    ) -> (
        &'w mut Interface,
        &'w mut SocketSet<'a>,
        watch::Watch<'w, 'o, D>,
    ) {
        let sent = watch::Sent::new(
            observer.as_deref_mut(),
            &mut self.counters,
            &mut self.seen,
            live_mut(self.tcp, self.tcp_live),
            self.fills_tcp,
            now,
        );
        (
            &mut self.iface,
            &mut self.sockets,
            watch::Watch::new(device, sent),
        )
    }

    /// Reset the closes that waited [`CLOSE_TIMEOUT`] on a silent peer
    /// (smoltcp's abort: an RST at this poll's egress); the pool takes
    /// their sockets back. True if any.
    fn cut_silent_closes(&mut self, now: Instant) -> bool {
        let mut cut = false;
        for entry in live_mut(self.tcp, self.tcp_live).iter_mut() {
            if entry.owner == Owner::Closing && entry.track.close_due(now) {
                entry.track.close_watch(false, now);
                self.sockets.get_mut::<tcp::Socket>(entry.handle()).abort();
                entry.touched = true;
                cut = true;
            }
        }
        self.pool_moved |= cut;
        cut
    }

    /// See [`STALL_KICK`]; connection tracking keeps the timers.
    pub(super) fn kick_stalled<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut Lent<'_, '_>,
        now: Instant,
    ) -> bool {
        let mut kicked = false;
        for entry in live_mut(self.tcp, self.tcp_live).iter_mut() {
            // A pooled socket is closed or in TIME-WAIT: it sends nothing.
            // Nor does one that tracking last saw in a state that does not
            // send data (egress since then can only have closed it): only
            // ESTABLISHED and CLOSE-WAIT can stall (`Tracked::kick_at`).
            if entry.owner == Owner::Free
                || !matches!(
                    entry.track.state,
                    tcp::State::Established | tcp::State::CloseWait
                )
            {
                continue;
            }
            let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
            let queued = socket.send_queue();
            if !entry.track.kick(socket, now) {
                continue;
            }
            self.counters.tcp_stall_kicks += 1;
            kicked = true;
            if let (Some(local), Some(remote)) = (entry.track.local, entry.track.remote) {
                let event = Event::StallKick {
                    local,
                    remote,
                    queued,
                };
                tell(observer, now, event);
            }
        }
        if !kicked {
            return false;
        }
        let _ = self.egress_once(device, observer, now);
        for entry in self.tcp.iter_mut() {
            if entry.track.kicked() && !entry.parked {
                let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
                entry.track.unkick(socket);
            }
        }
        true
    }

    /// Compare every TCP socket's state with the one recorded last time;
    /// report and record the differences.
    pub(super) fn watch_states(&mut self, observer: &mut Lent<'_, '_>) {
        self.watch(Looks::All, observer);
    }

    /// Compare the state of the TCP sockets `looks` names with the one
    /// recorded last time; report and record the differences.
    fn watch(&mut self, looks: Looks, observer: &mut Lent<'_, '_>) {
        match looks {
            // A segment reaches one entry or a few: their bits, not a walk.
            Looks::Reached(mask) if mask != u64::MAX => {
                let mut bits = mask;
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    self.look_at(i, observer);
                }
            }
            _ => {
                for i in 0..self.tcp_live {
                    let Some(entry) = self.tcp.get_mut(i) else {
                        break;
                    };
                    let pick = match looks {
                        // Looked at now, if it needs a look at all.
                        Looks::All => {
                            entry.touched = false;
                            true
                        }
                        Looks::Touched => {
                            let touched = core::mem::take(&mut entry.touched);
                            // The first poll after a close (which touches
                            // its entry) starts the close's count: the
                            // close itself only knew the last poll's time.
                            if touched && entry.owner == Owner::Closing && entry.track.closing() {
                                entry.track.heard(self.now);
                            }
                            touched
                        }
                        Looks::Reached(_) => true,
                    };
                    if pick {
                        self.look_at(i, observer);
                    }
                }
            }
        }
    }

    /// Look at the socket of TCP entry `i` (see [`Stack::watch`]); one
    /// body for every kind of look, which the firmware carries once.
    fn look_at(&mut self, i: usize, observer: &mut Lent<'_, '_>) {
        let Some(entry) = self.tcp.get_mut(i) else {
            return;
        };
        // Idle entries stay closed until the pool hands them out.
        if entry.idle() {
            return;
        }
        let socket = self.sockets.get::<tcp::Socket>(entry.handle());
        if let Some(event) = entry.track.look(socket, self.cidr.address(), self.now) {
            // A state changed: the pool's slots may need re-arming, unless
            // a stream's own did (the pool reads closing sockets and slots;
            // a stream's close re-arms once the stream lets go of it,
            // `Stack::release_tcp`).
            self.pool_moved |= entry.owner != Owner::Stream;
            tell(observer, self.now, event);
        }
    }

    /// When smoltcp next wants to be polled (`None`: only when a frame comes).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::TcpStream};
    ///
    /// let (mut net, _, c) = SimNet::pair(0)?;
    /// let now = net.now();
    /// assert_eq!(net.stack(c).poll_at(now), None, "an idle stack sleeps");
    /// let _s = TcpStream::connect(net.stack(c), endpoint(0, 7))?;
    /// assert!(net.stack(c).poll_at(now).is_some_and(|t| t <= now + Duration::from_secs(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let smoltcp = self.iface.poll_at(now, &self.sockets);
        // The stall nudge has deadlines of its own (see STALL_KICK), and
        // so has a close that waits on its peer (see CLOSE_TIMEOUT).
        let kick = live(self.tcp, self.tcp_live)
            .iter()
            .filter(|e| !e.parked)
            .filter_map(|e| match e.owner {
                Owner::Closing => e.track.close_at(now).map(pool::tick_ceil),
                _ => e.track.kick_at(self.sockets.get::<tcp::Socket>(e.handle())),
            })
            .min();
        match (smoltcp, kick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Send a frame of layernet's own (not smoltcp's) of `len` bytes, written
    /// by `fill`, through the watching device so that the counters and the
    /// observer see it like any other.
    #[cfg(any(feature = "names", feature = "ipv6"))]
    pub(super) fn send_own<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut Lent<'_, '_>,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) {
        let now = self.now;
        let (_, _, mut device) = self.watched(device, observer, now);
        if let Some(token) = smoltcp::phy::Device::transmit(&mut device, now) {
            smoltcp::phy::TxToken::consume(token, len, fill);
        }
    }
}
