//! The stack's construction and its poll: frames in through the gate,
//! smoltcp's ingress and egress, the stall kick, the state watcher, and
//! the deadline an event loop sleeps until.
//!
//! Layer: net. Depends on smoltcp and on [`crate::link`] (the device lent
//! to each poll).

use super::observe::{Lent, tell};
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
    /// Build a stack on `device` with `config`, using the caller's `resources`
    /// for every socket. `now` is the current time on the caller's clock.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MacNotUnicast`] for a multicast or broadcast MAC,
    /// [`ConfigError::BadAddress`] for an unspecified, multicast or
    /// broadcast IPv4 address (the network's broadcast address included),
    /// [`ConfigError::GatewayUnreachable`] for a gateway outside the network.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::net::{Config, ConfigError, Stack, profile};
    /// use layernet::{EthernetAddress, Instant, link::segment::*};
    ///
    /// let wire = RefCell::new(StdSegment::new());
    /// let group = EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]);
    /// let mut port = StdPort::new(&wire, 0, group).ok_or("port")?;
    /// let mut space = profile::Tiny::new();
    /// let config = Config { mac: group, ..Config::default() };
    /// let built = Stack::new(config, &mut port, &mut space, Instant::ZERO);
    /// assert_eq!(built.err(), Some(ConfigError::MacNotUnicast));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn new<D: Link, const S: usize, const T: usize, const U: usize, const B: usize>(
        config: Config,
        device: &mut D,
        resources: &'a mut Resources<'a, S, T, U, B>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        Stack::with_memory(config, device, resources.memory(), now)
    }

    /// [`Stack::new`] on memory lent as slices, sized at run time.
    ///
    /// # Errors
    ///
    /// As [`Stack::new`].
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use layernet::net::{Config, Stack, profile};
    /// use layernet::{Instant, link::segment::*};
    ///
    /// let wire = RefCell::new(StdSegment::new());
    /// let mut port = StdPort::new(&wire, 0, Config::default().mac).ok_or("port")?;
    /// let mut space = profile::Tiny::new();
    /// let stack = Stack::with_memory(Config::default(), &mut port, space.memory(), Instant::ZERO)?;
    /// assert_eq!(stack.free_tcp_sockets(), 9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_memory<D: Link>(
        config: Config,
        device: &mut D,
        memory: Memory<'a>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        if !config.mac.is_unicast() {
            return Err(ConfigError::MacNotUnicast);
        }
        let ip = config.ip.address();
        if ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_broadcast()
            || Some(ip) == config.ip.broadcast()
        {
            return Err(ConfigError::BadAddress);
        }
        if let Some(gw) = config.gateway
            && !config.ip.contains_addr(&gw)
        {
            return Err(ConfigError::GatewayUnreachable);
        }

        #[cfg(feature = "ipv6")]
        if let Some(ip6) = config.ip6 {
            let a = ip6.address();
            if a.is_unspecified() || a.is_loopback() || a.is_multicast() || ip6.prefix_len() > 128 {
                return Err(ConfigError::BadIpv6Address);
            }
        }

        let mut iface_config = iface::Config::new(HardwareAddress::Ethernet(config.mac));
        #[cfg(feature = "ipv6")]
        {
            iface_config.slaac = config.slaac;
        }
        // smoltcp derives its TCP initial sequence numbers from this seed; left
        // at 0 every boot would reuse the same ISNs.
        iface_config.random_seed = config.seed;
        let mut iface = Interface::new(iface_config, &mut watch::GateChecked(device), now);
        iface.update_ip_addrs(|addrs| {
            // Capacity is at least one address; the push cannot fail on an empty list.
            let _ = addrs.push(IpCidr::Ipv4(config.ip));
            // The ipv6 feature makes room for four: these two fit.
            #[cfg(feature = "ipv6")]
            {
                let _ = addrs.push(IpCidr::Ipv6(link_local(config.mac)));
                if let Some(ip6) = config.ip6 {
                    let _ = addrs.push(IpCidr::Ipv6(ip6));
                }
            }
        });
        no_mld(&mut iface);
        if let Some(gw) = config.gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }

        let Memory {
            sockets,
            spare,
            tcp: tcp_entries,
            tcp_buffers,
            udp: udp_entries,
            udp_buffers,
            udp_meta,
            icmp,
        } = memory;
        #[cfg(feature = "names")]
        let name_sockets = sockets.len() - tcp_entries.len() - udp_entries.len() - 1;
        // A slot still holding a socket would leave the set short of room
        // (its `add` panics when full): the set starts empty.
        for slot in sockets.iter_mut() {
            *slot = SocketStorage::EMPTY;
        }
        let mut set = SocketSet::new(ManagedSlice::Borrowed(sockets));
        let each = tcp_buffers.len() / tcp_entries.len() / 2;
        for (buffers, entry) in tcp_buffers
            .chunks_exact_mut(2 * each)
            .zip(tcp_entries.iter_mut())
        {
            let (rx, tx) = buffers.split_at_mut(each);
            let socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
            *entry = TcpEntry {
                handle: Some(set.add(socket)),
                ..TcpEntry::EMPTY
            };
        }
        // The UDP sockets are made when first bound (`take_udp`), from
        // this storage: until then their slots in the set stay free, as
        // the ICMP socket's does (see `Stack::icmp`).
        let udp_store = super::UdpStore {
            each: udp_buffers
                .len()
                .checked_div(udp_entries.len() * 2)
                .unwrap_or(0),
            bytes: udp_buffers,
            meta: udp_meta,
        };
        for entry in udp_entries.iter_mut() {
            *entry = UdpEntry::EMPTY;
        }
        // Its slot in the set stays free until the first ping makes it.
        let icmp = super::Icmp::Unmade(icmp);

        let mut listeners = heapless::Vec::new();
        for _ in 0..MAX_LISTENERS {
            let _ = listeners.push(None);
        }
        let spare_room = spare.len();
        for slot in spare.iter_mut() {
            *slot = SocketStorage::EMPTY;
        }
        let mut stack = Stack {
            iface,
            sockets: set,
            spare: SocketSet::new(ManagedSlice::Borrowed(spare)),
            spare_room,
            pool_moved: false,
            tcp_live: 0,
            tcp: tcp_entries,
            udp: udp_entries,
            icmp,
            udp_store,
            icmp_ident: None,
            pings_made: 0,
            echo_stash: heapless::Vec::new(),
            listeners,
            listeners_made: 0,
            rng: Rng::new(config.seed ^ 0x6c61_7965_726e_6574),
            counters: Counters::default(),
            seen: super::seen::Seen::default(),
            now,
            ip,
            cidr: config.ip,
            apps: heapless::Vec::new(),
            #[cfg(feature = "names")]
            names: names::Names::new(name_sockets),
        };
        stack.park_idle();
        Ok(stack)
    }

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
        self.now = now;
        let mut progress = false;
        // Changes the application made since the last poll (listen,
        // connect, close) show up as transitions here, before any frame;
        // only the sockets it was lent can have changed.
        self.watch(Looks::Touched, observer);
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
        // A re-arm here changes sockets no look has seen yet: until the next
        // walk over all of them, the gate reads the sockets themselves.
        let mut rearmed = false;
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
                // The gate's walks skip idle entries: none lies past these.
                tcp: &self.tcp[..self.tcp_live],
                udp: self.udp,
                listeners: &self.listeners,
                // Every change so far was looked at, except a re-arm's.
                tracked: !rearmed,
            };
            let gate::Admission {
                verdict,
                quiet,
                reached,
            } = gate::admit(parsed, &us, &pool);
            if !again && matches!(verdict, gate::Verdict::Drop(DropReason::BusyPool)) {
                asked_again = true;
                rearmed = true;
                self.rearm();
                continue;
            }
            let fill = observe::arp_fill(parsed, self.ip, |ip| self.cidr.contains_addr(&ip));
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
            // The connection a segment belongs to is among the entries the
            // gate found it could reach: no second walk over the pool.
            if reached != 0
                && let Some(segment) = track::Segment::in_frame(Direction::Rx, parsed)
                && let Some(entry) = self.reached_holding(reached, &segment)
            {
                entry.track.received(&segment);
            }
            if let Some(Event::NoSocket { transport, .. }) = note {
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
            if let Some(event) = fill {
                if let Event::ArpFill { ip, mac } = event {
                    self.seen.learn(now, ip.into(), mac);
                }
                tell(observer, now, event);
            }
            #[cfg(all(feature = "live", feature = "ipv6"))]
            if icmpv6 && let Some((ip, mac)) = super::seen::ndp_fill(parsed) {
                self.seen.learn(now, ip, mac);
            }
            if let Some(event) = note {
                tell(observer, now, event);
            }
            let result = self.ingress_once(device, observer, now);
            #[cfg(feature = "ipv6")]
            if let Some(ns) = unrouted {
                self.answer_unrouted(device, observer, ns);
            }
            // Only a socket the segment reached can have changed: smoltcp
            // hands a frame to one TCP socket at most, and only a TCP
            // segment to any (after a re-arm, every socket is looked at,
            // the newly listening ones too). After a quiet segment (see
            // `gate::admit`) the look would find nothing new.
            if !quiet {
                if core::mem::take(&mut rearmed) {
                    self.watch_states(observer);
                } else {
                    self.watch(Looks::Reached(reached), observer);
                }
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
        self.watch_states(observer);
        if core::mem::take(&mut self.pool_moved) {
            self.park_idle();
            self.trim_live();
            // What this walk found (a close that egress finished, say)
            // has not been re-armed for: the next poll does it.
            self.pool_moved = true;
        }
        progress
    }

    /// One received frame into smoltcp, through the watching device.
    pub(super) fn ingress_once<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut Lent<'_, '_>,
        now: Instant,
    ) -> PollIngressSingleResult {
        let (iface, sockets, mut device) = self.watched(device, observer, now);
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
        iface.poll_egress(now, &mut device, sockets)
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
            &mut self.tcp[..self.tcp_live],
            now,
        );
        (
            &mut self.iface,
            &mut self.sockets,
            watch::Watch::new(device, sent),
        )
    }

    /// See [`STALL_KICK`]; connection tracking keeps the timers.
    pub(super) fn kick_stalled<D: Link>(
        &mut self,
        device: &mut D,
        observer: &mut Lent<'_, '_>,
        now: Instant,
    ) -> bool {
        let mut kicked = false;
        for entry in self.tcp[..self.tcp_live].iter_mut() {
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
                        Looks::Touched => core::mem::take(&mut entry.touched),
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
        if let Some(event) = entry.track.look(socket, self.ip, self.now) {
            // A state changed: the pool's slots may need re-arming.
            self.pool_moved = true;
            tell(observer, self.now, event);
        }
    }

    /// The first entry in `mask` (see [`gate::entry_bit`]; every live one
    /// when all bits are set) whose connection `segment` belongs to.
    fn reached_holding(&mut self, mask: u64, segment: &track::Segment) -> Option<&mut TcpEntry> {
        let live = &mut self.tcp[..self.tcp_live];
        let mut bits = mask;
        let mut found = None;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if mask == u64::MAX {
                found = live.iter().position(|e| e.track.holds(segment));
                break;
            }
            if live.get(i).is_some_and(|e| e.track.holds(segment)) {
                found = Some(i);
                break;
            }
        }
        live.get_mut(found?)
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
        // The stall nudge has deadlines of its own (see STALL_KICK).
        let kick = self.tcp[..self.tcp_live]
            .iter()
            .filter(|e| !e.parked)
            .filter_map(|e| e.track.kick_at(self.sockets.get::<tcp::Socket>(e.handle())))
            .min();
        match (smoltcp, kick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The time of the last [`Stack::poll`].
    ///
    /// ```
    /// use layernet::{Duration, host::sim::SimNet};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// net.run_for(Duration::from_millis(250));
    /// assert_eq!(net.stack(a).now().total_millis(), 250);
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The stack's IPv4 address (without the prefix).
    ///
    /// ```
    /// use layernet::{Ipv4Address, host::sim::SimNet};
    /// let (mut net, _, second) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(second).ipv4_addr(), Ipv4Address::new(192, 168, 69, 2));
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn ipv4_addr(&self) -> Ipv4Address {
        self.ip
    }

    /// The stack's IPv6 addresses: the link-local one first, then the
    /// static one and any SLAAC has configured, as they stand now (SLAAC
    /// adds and removes them as router advertisements come and expire).
    ///
    /// ```
    /// use layernet::{Ipv6Address, host::sim::SimNet};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let ll: Vec<Ipv6Address> = net.stack(a).ipv6_addrs().map(|c| c.address()).collect();
    /// // From MAC 02:00:00:00:00:01, its universal/local bit flipped (EUI-64).
    /// assert_eq!(ll, ["fe80::ff:fe00:1".parse::<Ipv6Address>()?]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "ipv6")]
    pub fn ipv6_addrs(&self) -> impl Iterator<Item = Ipv6Cidr> + '_ {
        self.iface.ip_addrs().iter().filter_map(|a| match a {
            IpCidr::Ipv6(c) => Some(*c),
            #[allow(unreachable_patterns)]
            _ => None,
        })
    }

    /// Our IPv6 unicast addresses for the gate, in a fixed array.
    #[cfg(feature = "ipv6")]
    pub(super) fn v6_for_gate(&self) -> [Option<Ipv6Address>; MAX_V6_ADDRS] {
        let mut out = [None; MAX_V6_ADDRS];
        for (slot, cidr) in out.iter_mut().zip(self.ipv6_addrs()) {
            *slot = Some(cidr.address());
        }
        out
    }

    /// Join the IPv4 multicast `group`, so that datagrams sent to it reach
    /// this stack's UDP sockets (the gate admits any multicast destination
    /// for a bound port; smoltcp takes only the groups joined). smoltcp
    /// sends the IGMPv2 membership report at the next poll.
    ///
    /// # Errors
    ///
    /// [`JoinError::NotMulticast`] for an address outside 224.0.0.0/4,
    /// [`JoinError::TableFull`] when the interface holds as many groups as
    /// it can (smoltcp's `iface-max-multicast-group-count`, 4 by default).
    ///
    /// ```
    /// use layernet::{Ipv4Address, host::sim::SimNet, net::JoinError};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// net.stack(a).join_multicast_group(Ipv4Address::new(224, 0, 0, 251))?;
    /// let unicast = net.stack(a).join_multicast_group(Ipv4Address::new(192, 168, 69, 9));
    /// assert_eq!(unicast, Err(JoinError::NotMulticast));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "mdns")]
    pub fn join_multicast_group(&mut self, group: Ipv4Address) -> Result<(), JoinError> {
        if !group.is_multicast() {
            return Err(JoinError::NotMulticast);
        }
        self.iface
            .join_multicast_group(group)
            .map_err(|_| JoinError::TableFull)
    }

    /// A random number from the stack's generator (seeded by
    /// [`Config::seed`]): deterministic in the simulation, as everything
    /// else there. Services draw their random delays from it.
    ///
    /// ```
    /// use layernet::host::sim::SimNet;
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let (x, y) = (net.stack(a).random_below(250), net.stack(a).random_below(250));
    /// assert!(x < 250 && y < 250);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn random_below(&mut self, bound: u64) -> u64 {
        self.rng.below(bound.max(1))
    }

    /// The stack's hardware address.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, host_mac};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// assert_eq!(net.stack(a).mac(), host_mac(a));
    /// assert_eq!(net.stack(a).mac().to_string(), "02-00-00-00-00-01");
    /// # Ok::<(), layernet::net::ConfigError>(())
    /// ```
    pub fn mac(&self) -> EthernetAddress {
        match self.iface.hardware_addr() {
            HardwareAddress::Ethernet(mac) => mac,
        }
    }

    /// What the stack counted.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::TcpListener};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let _ftp = TcpListener::bind(net.stack(a), 21, 3)?;
    /// assert_eq!(net.stack(a).counters().slots_armed, 3, "three sockets in LISTEN");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The address smoltcp sends from to `dst`.
    #[cfg(feature = "ipv6")]
    pub(crate) fn ipv6_source_for(&self, dst: &Ipv6Address) -> Ipv6Address {
        self.iface.get_source_address_ipv6(dst)
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

/// Undo the solicited-node joins smoltcp makes on every change of the
/// addresses once its `multicast` feature is on (for mDNS): each would send
/// an MLD report, frames this stack never sent before (tests and the
/// demo's captures count them), and each takes one of the group table's
/// few slots that mDNS needs. A join not yet reported is dropped silently.
/// smoltcp still takes what is sent to those groups: it accepts a
/// solicited-node address of its own whether or not it joined it.
#[cfg(all(feature = "mdns", feature = "ipv6"))]
pub(super) fn no_mld(iface: &mut Interface) {
    let groups: heapless::Vec<smoltcp::wire::Ipv6Address, 8> = iface
        .ip_addrs()
        .iter()
        .filter_map(|c| match c {
            IpCidr::Ipv6(c) => {
                // ff02::1:ff00:0/104 and the address's last 24 bits (RFC 4291 2.7.1).
                let o = c.address().octets();
                Some(smoltcp::wire::Ipv6Address::new(
                    0xff02,
                    0,
                    0,
                    0,
                    0,
                    1,
                    0xff00 | u16::from(o[13]),
                    u16::from_be_bytes([o[14], o[15]]),
                ))
            }
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .collect();
    for group in groups {
        let _ = iface.leave_multicast_group(group);
    }
}

/// Without both features smoltcp joins nothing.
#[cfg(not(all(feature = "mdns", feature = "ipv6")))]
pub(super) fn no_mld(_: &mut Interface) {}
