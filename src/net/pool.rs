//! The TCP and UDP socket pool, for the socket layer: listeners and their
//! slots, re-arming, parking free sockets outside smoltcp's set, handles'
//! keys, ephemeral ports, the shared ICMP socket.
//!
//! Layer: net. The socket layer calls it; nothing here reads a frame.

use super::*;

/// A listening port and how many of its slots to keep ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listener {
    pub(crate) port: u16,
    pub(crate) backlog: u8,
    /// Which listener of the stack's life this is (see [`Key`]): a stopped
    /// listener's handle must not accept for a new one in the same place.
    /// 16 bits, as a stack makes few listeners (and each of
    /// `MAX_LISTENERS` places would cost 4 bytes more with 32).
    pub(crate) generation: u16,
}

/// What a socket handle holds to name its pooled socket: the entry's index
/// and the entry's generation when the handle took it. The pool bumps an
/// entry's generation whenever it takes the socket back (a stream closed
/// or aborted, [`Stack::abort_all_tcp`], a UDP socket closed), so a handle
/// kept past that reaches nothing, never the connection that reuses the
/// entry: every pool call below checks the generation first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) index: usize,
    pub(super) generation: u32,
}

impl Key {
    /// A key that names no socket: every call with it reads as a stream
    /// the stack took back.
    #[cfg(feature = "async")]
    pub(crate) const STALE: Key = Key {
        index: usize::MAX,
        generation: u32::MAX,
    };
}

impl<'a> Stack<'a> {
    /// TCP connections still open (neither closed, listening, nor in TIME-WAIT).
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{TcpListener, TcpStream}};
    ///
    /// let (mut net, s, c) = SimNet::pair(0)?;
    /// let mut l = TcpListener::bind(net.stack(s), 5, 1)?;
    /// assert_eq!(net.stack(s).open_tcp_sockets(), 0, "LISTEN does not count");
    /// let conn = TcpStream::connect(net.stack(c), endpoint(s, 5))?;
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!((net.stack(s).open_tcp_sockets(), net.stack(c).open_tcp_sockets()), (1, 1));
    /// conn.close(net.stack(c));
    /// l.accept(net.stack(s))?.0.close(net.stack(s));
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(net.stack(s).open_tcp_sockets() + net.stack(c).open_tcp_sockets(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_tcp_sockets(&self) -> usize {
        self.tcp
            .iter()
            .filter(|e| !e.parked)
            .filter(|e| {
                let state = self.sockets.get::<tcp::Socket>(e.handle()).state();
                !matches!(
                    state,
                    tcp::State::Closed | tcp::State::Listen | tcp::State::TimeWait
                )
            })
            .count()
    }

    /// Reset every open TCP connection (the end of a shutdown's grace
    /// period); their sockets return to the pool. The streams' handles go
    /// stale: every call on them fails with
    /// [`Error::Aborted`](crate::socket::Error::Aborted) or does nothing,
    /// whoever takes their slots next.
    ///
    /// ```
    /// use layernet::host::sim::{SimNet, endpoint};
    /// use layernet::{Duration, socket::{Error, TcpListener, TcpStream}};
    ///
    /// let (mut net, server, client) = SimNet::pair(0)?;
    /// let mut l = TcpListener::bind(net.stack(server), 443, 1)?;
    /// let mut stream = TcpStream::connect(net.stack(client), endpoint(server, 443))?;
    /// net.run_for(Duration::from_millis(10));
    /// stream.poll_connect(net.stack(client))?;
    /// let (mut mine, _) = l.accept(net.stack(server))?;
    /// net.stack(server).abort_all_tcp();
    /// net.run_for(Duration::from_millis(10));
    /// assert_eq!(stream.recv(net.stack(client), &mut [0; 4]), Err(Error::Reset));
    /// assert_eq!(mine.send(net.stack(server), b"late"), Err(Error::Aborted));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abort_all_tcp(&mut self) {
        // A stream already closed changes owner, not state.
        self.pool_moved = true;
        for entry in self.tcp.iter_mut().filter(|e| !e.parked) {
            entry.touched = true;
            let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
            if !matches!(
                socket.state(),
                tcp::State::Closed | tcp::State::Listen | tcp::State::TimeWait
            ) {
                socket.abort();
            }
            if entry.owner == Owner::Stream {
                entry.disown();
            }
        }
    }

    /// Free TCP sockets waiting outside smoltcp's socket set (see
    /// [`Memory::with_spare`]); 0 on a stack without spare slots.
    ///
    /// ```
    /// use layernet::host::{memory::Sizes, sim::{SimNet, host_ip, host_mac}};
    /// use layernet::{link::segment::Faults, net::Config};
    /// let mut net = SimNet::new(1, Faults::NONE);
    /// let sized = Sizes { tcp_sockets: 8, tcp_buffer: 4096 }.leak()?;
    /// let host = net.add_host_memory(Config::new(host_mac(0), host_ip(0)), sized)?;
    /// assert_eq!(net.stack(host).parked_tcp_sockets(), 8, "all free, all parked");
    /// let board = net.add_host()?;
    /// assert_eq!(net.stack(board).parked_tcp_sockets(), 0, "a profile's pool stays in the set");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parked_tcp_sockets(&self) -> usize {
        self.tcp.iter().filter(|e| e.parked).count()
    }

    /// TCP sockets in the pool that nobody uses.
    ///
    /// ```
    /// use layernet::{host::sim::SimNet, socket::TcpListener};
    /// let (mut net, a, _) = SimNet::pair(0)?;
    /// let all = net.stack(a).free_tcp_sockets();
    /// let web = TcpListener::bind(net.stack(a), 80, 4)?;
    /// assert_eq!(net.stack(a).free_tcp_sockets(), all - 4);
    /// web.close(net.stack(a));
    /// net.poll(a, layernet::Instant::ZERO);
    /// assert_eq!(net.stack(a).free_tcp_sockets(), all);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_tcp_sockets(&self) -> usize {
        self.tcp.iter().filter(|e| e.owner == Owner::Free).count()
    }

    // ---- pool management, for the socket layer ----

    /// Move idle pool sockets (free and closed) out of smoltcp's set into
    /// the spare one, while it has room: smoltcp's egress then visits only
    /// the sockets in use. Nothing reads a parked socket: every walk over
    /// the pool that looks at sockets skips idle entries or free ones, and
    /// an entry leaves the pool only through [`Stack::unpark`].
    ///
    /// With `wait`, a TCP socket idle for less than [`PARK_AFTER`] at
    /// [`Stack::now`] stays in the set: true if one did, for a later tick
    /// ([`new_tick`]) to park.
    pub(super) fn park_idle(&mut self, wait: bool) -> bool {
        if self.spare_room == 0 {
            return false;
        }
        let mut waits = false;
        for entry in self.tcp.iter_mut() {
            if self.spare_room == 0 {
                break;
            }
            if entry.parked || !entry.idle() || entry.handle.is_none() {
                continue;
            }
            // The time of its last state change: the close.
            let due = entry.track.last_change() + PARK_AFTER;
            if wait && self.now < due {
                waits = true;
                continue;
            }
            let socket = self.sockets.remove(entry.handle());
            // The spare set has a slot per parked socket (spare_room).
            entry.handle = Some(self.spare.add(socket));
            entry.parked = true;
            self.spare_room -= 1;
        }
        // Closed UDP sockets too (smoltcp's egress visits each of them as
        // well), with the room no TCP socket may need.
        let tcp_in_set = self.tcp.iter().filter(|e| !e.parked).count();
        for entry in self.udp.iter_mut() {
            if self.spare_room <= tcp_in_set {
                break;
            }
            if entry.parked || entry.in_use || entry.handle.is_none() {
                continue;
            }
            let socket = self.sockets.remove(entry.handle());
            entry.handle = Some(self.spare.add(socket));
            entry.parked = true;
            self.spare_room -= 1;
        }
        waits
    }

    /// The socket of TCP entry `index` may change (state, endpoints): the
    /// next poll looks at it before any frame (see [`TcpEntry::touched`]).
    pub(super) fn touch(&mut self, index: usize) {
        if let Some(entry) = self.tcp.get_mut(index) {
            entry.touched = true;
        }
    }

    /// Lower [`Stack::tcp_live`] past the idle entries at the end.
    pub(super) fn trim_live(&mut self) {
        let in_use = live(self.tcp, self.tcp_live);
        self.tcp_live = in_use.iter().rposition(|e| !e.idle()).map_or(0, |i| i + 1);
    }

    /// Bring pool socket `index` back into smoltcp's set before the pool
    /// hands it out. There is room: it left a slot there when it parked,
    /// and the set holds at most the sockets it was sized for.
    pub(super) fn unpark(&mut self, index: usize) {
        let Some(entry) = self.tcp.get_mut(index) else {
            return;
        };
        if !entry.parked {
            return;
        }
        let socket = self.spare.remove(entry.handle());
        entry.handle = Some(self.sockets.add(socket));
        entry.parked = false;
        self.spare_room += 1;
    }

    /// Keep up to [`LISTEN_AHEAD`] sockets in LISTEN for every listener
    /// whose queue is short of its backlog, and take back those whose close
    /// has finished.
    pub(super) fn rearm(&mut self) -> bool {
        let mut changed = false;
        // Per listener: its sockets (in LISTEN, in a handshake, or waiting
        // to be accepted), and those of them in LISTEN.
        let mut queued = [0usize; MAX_LISTENERS];
        let mut listening = [0usize; MAX_LISTENERS];
        for entry in live_mut(self.tcp, self.tcp_live).iter_mut() {
            if !matches!(entry.owner, Owner::Closing | Owner::Slot(_)) {
                continue;
            }
            // A slot that tracking last saw in LISTEN, untouched since, is
            // still listening: only a segment moves a socket out of LISTEN
            // (no timer runs there), and the look after every segment that
            // reached it recorded that. Nothing to do but count it, without
            // a look into smoltcp's set (a listener's slots wait there in
            // LISTEN_AHEAD's numbers, walked on every re-arm).
            let known_listening = matches!(entry.owner, Owner::Slot(_))
                && entry.track.state == tcp::State::Listen
                && !entry.touched;
            let in_listen = if known_listening {
                debug_assert_eq!(
                    self.sockets.get::<tcp::Socket>(entry.handle()).state(),
                    tcp::State::Listen,
                    "connection tracking fell behind a listening slot"
                );
                true
            } else {
                let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
                match entry.owner {
                    Owner::Closing
                        if matches!(socket.state(), tcp::State::Closed | tcp::State::TimeWait) =>
                    {
                        entry.owner = Owner::Free;
                        changed = true;
                    }
                    Owner::Slot(n) if socket.state() == tcp::State::Closed => {
                        // A handshake that was reset or timed out: listen again.
                        let port = self.listeners.get(usize::from(n)).copied().flatten();
                        match port {
                            Some(l) if socket.listen(l.port).is_ok() => {
                                self.counters.slots_armed += 1;
                                entry.touched = true;
                            }
                            _ => entry.owner = Owner::Free,
                        }
                        changed = true;
                    }
                    // The handshake completed: the connection now waits in the
                    // accept queue, as long as the service takes to accept it
                    // (Linux's accept queue has no timer either). The
                    // half-open limit must not reset it; an ESTABLISHED one
                    // waiting past HANDSHAKE_TIMEOUT was reset here before.
                    Owner::Slot(_)
                        if socket.timeout().is_some()
                            && !matches!(
                                socket.state(),
                                tcp::State::Listen | tcp::State::SynReceived
                            ) =>
                    {
                        socket.set_timeout(None);
                    }
                    _ => {}
                }
                socket.state() == tcp::State::Listen
            };
            if let Owner::Slot(n) = entry.owner {
                let n = usize::from(n);
                if let (Some(q), Some(l)) = (queued.get_mut(n), listening.get_mut(n)) {
                    *q += 1;
                    *l += usize::from(in_listen);
                }
            }
        }
        // Free sockets are searched from where the last one was found: the
        // pool is walked once per call, however many are armed.
        let mut from = 0;
        for (n, (&queued, &listening)) in queued.iter().zip(&listening).enumerate() {
            let Some(Some(listener)) = self.listeners.get(n).copied() else {
                continue;
            };
            let backlog = usize::from(listener.backlog);
            let room = backlog.saturating_sub(queued);
            let short = backlog.min(LISTEN_AHEAD).saturating_sub(listening);
            for _ in 0..room.min(short) {
                let Some(index) = self.free_entry(from) else {
                    self.pool_moved |= changed;
                    return changed;
                };
                from = index + 1;
                self.unpark(index);
                self.touch(index);
                // `free_entry` found it: no panic path for an index.
                let Some(entry) = self.tcp.get_mut(index) else {
                    break;
                };
                let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
                fresh(socket, Some(HANDSHAKE_TIMEOUT));
                if socket.listen(listener.port).is_err() {
                    break;
                }
                entry.owner = Owner::Slot(n as u8);
                self.tcp_live = self.tcp_live.max(index + 1);
                self.counters.slots_armed += 1;
                changed = true;
            }
        }
        self.pool_moved |= changed;
        changed
    }

    pub(crate) fn add_listener(&mut self, port: u16, backlog: u8) -> Result<Key, PoolError> {
        if port == 0 || backlog == 0 {
            return Err(PoolError::Invalid);
        }
        if self.listeners.iter().flatten().any(|l| l.port == port) || self.tcp_port_in_use(port) {
            return Err(PoolError::InUse);
        }
        let n = self
            .listeners
            .iter()
            .position(Option::is_none)
            .ok_or(PoolError::Exhausted)?;
        let generation = self.listeners_made;
        self.listeners_made = generation.wrapping_add(1);
        self.listeners[n] = Some(Listener {
            port,
            backlog,
            generation,
        });
        self.rearm();
        Ok(Key {
            index: n,
            generation: u32::from(generation),
        })
    }

    /// Stop listener `key`; nothing if it stopped already.
    pub(crate) fn remove_listener(&mut self, key: Key) {
        if !self.is_listener(key) {
            return;
        }
        let n = key.index as u8;
        self.pool_moved = true;
        if let Some(l) = self.listeners.get_mut(key.index) {
            *l = None;
        }
        for entry in self.tcp.iter_mut() {
            if entry.owner == Owner::Slot(n) {
                // Connections not yet accepted are refused, as closing a
                // listening Berkeley socket resets its queue.
                self.sockets.get_mut::<tcp::Socket>(entry.handle()).abort();
                entry.owner = Owner::Closing;
                entry.touched = true;
            }
        }
    }

    /// A connection of listener `n` that is ready to be accepted: it leaves
    /// the slot (which re-arms at the next poll) and becomes a stream.
    pub(crate) fn take_accepted(&mut self, listener: Key) -> Option<(Key, IpEndpoint)> {
        if !self.is_listener(listener) {
            return None;
        }
        let n = listener.index as u8;
        // Entries past `tcp_live` are idle: none is a slot.
        let index = live(self.tcp, self.tcp_live).iter().position(|e| {
            // The state tracking recorded first: between polls a slot's
            // socket stays as the last poll's walk over every socket found
            // it (only segments move a handshake on), and most slots are
            // still listening.
            e.owner == Owner::Slot(n)
                && matches!(
                    e.track.state,
                    tcp::State::Established | tcp::State::CloseWait
                )
                && {
                    let s = self.sockets.get::<tcp::Socket>(e.handle());
                    // CLOSE-WAIT too: a client may send and close before we accept.
                    matches!(s.state(), tcp::State::Established | tcp::State::CloseWait)
                }
        })?;
        let port = match self.listeners.get(listener.index) {
            Some(Some(l)) => l.port,
            _ => 0,
        };
        self.touch(index);
        let entry = self.tcp.get_mut(index)?;
        let key = entry.key(index);
        entry.owner = Owner::Stream;
        entry.service = port;
        let socket = self.sockets.get_mut::<tcp::Socket>(entry.handle());
        // The handshake is over: the stream's owner decides on timeouts.
        socket.set_timeout(None);
        let remote = socket.remote_endpoint()?;
        self.count_app(Transport::Tcp, port, 1, 0, 0);
        // The slot re-arms at the end of the next poll, once for all the
        // connections a service accepted in a row (a re-arm walks the
        // pool); a SYN that comes first finds no socket listening and
        // re-arms then (`BusyPool` in `Stack::poll`).
        self.pool_moved = true;
        Some((key, remote))
    }

    /// Whether listener `key` still listens (it was not stopped).
    pub(crate) fn is_listener(&self, key: Key) -> bool {
        matches!(
            self.listeners.get(key.index),
            Some(Some(l)) if u32::from(l.generation) == key.generation
        )
    }

    /// The lowest free TCP entry from `from` on, one whose socket owes no
    /// RST first. An aborted stream's socket is CLOSED with its RST still
    /// to send (smoltcp forgets the connection once the RST is out, at the
    /// next egress): made to listen or connect before then, it would never
    /// send it, and the peer would hold a connection nobody has. With no
    /// other free, it is taken anyway: its RST may never go (no neighbour
    /// answered), and the pool must not lose the socket.
    fn free_entry(&self, from: usize) -> Option<usize> {
        let mut owing = None;
        for (i, entry) in self.tcp.get(from..)?.iter().enumerate() {
            if entry.owner != Owner::Free {
                continue;
            }
            if entry.parked || !self.owes_rst(entry) {
                return Some(from + i);
            }
            owing.get_or_insert(from + i);
        }
        owing
    }

    /// Whether the socket of `entry` (in smoltcp's set) was aborted and has
    /// not sent its RST yet.
    fn owes_rst(&self, entry: &TcpEntry) -> bool {
        let socket = self.sockets.get::<tcp::Socket>(entry.handle());
        socket.state() == tcp::State::Closed && socket.remote_endpoint().is_some()
    }

    /// A free socket for an outgoing connection.
    pub(crate) fn take_free_tcp(&mut self) -> Option<Key> {
        // One still in smoltcp's set first (see `PARK_AFTER`): no copy
        // back from the spare set.
        let index = live(self.tcp, self.tcp_live)
            .iter()
            .position(|e| e.owner == Owner::Free && !e.parked && !self.owes_rst(e))
            .or_else(|| self.free_entry(0))?;
        self.unpark(index);
        self.touch(index);
        self.tcp_live = self.tcp_live.max(index + 1);
        let entry = &mut self.tcp[index];
        entry.owner = Owner::Stream;
        fresh(self.sockets.get_mut::<tcp::Socket>(entry.handle()), None);
        Some(entry.key(index))
    }

    /// The stream `key` is done with; smoltcp finishes its close. Nothing
    /// if the stack took it back already.
    pub(crate) fn release_tcp(&mut self, key: Key) {
        let Some(handle) = self.tcp_socket_handle(key) else {
            self.rearm();
            return;
        };
        if let Some(entry) = self.tcp.get_mut(key.index) {
            entry.disown();
        }
        self.touch(key.index);
        // A socket still closing cannot go back to the pool yet, and what
        // else a re-arm could do now waits on a change that the next poll
        // re-arms for (`pool_moved`): the re-arm's walk over the pool would
        // find nothing. An aborted or finished one is taken back at once.
        let state = self.sockets.get::<tcp::Socket>(handle).state();
        if matches!(state, tcp::State::Closed | tcp::State::TimeWait) {
            self.rearm();
        }
    }

    /// Stream `key` is closing: the stack limits the close's wait on a
    /// silent peer if `watch` (see [`CLOSE_TIMEOUT`](super::CLOSE_TIMEOUT)).
    pub(crate) fn watch_close(&mut self, key: Key, watch: bool) {
        let now = self.now;
        if let Some(entry) = self.tcp_entry(key) {
            entry.track.close_watch(watch, now);
        }
    }

    /// The entry of stream `key`; `None` once the stream's handle is stale.
    pub(crate) fn tcp_entry(&mut self, key: Key) -> Option<&mut TcpEntry> {
        self.tcp.get_mut(key.index).filter(|e| e.holds(key))
    }

    /// The socket of stream `key`; `None` once the stream's handle is stale.
    pub(crate) fn tcp_socket(&mut self, key: Key) -> Option<&mut tcp::Socket<'a>> {
        let handle = self.tcp_socket_handle(key)?;
        self.touch(key.index);
        Some(self.sockets.get_mut::<tcp::Socket>(handle))
    }

    /// [`Stack::tcp_socket`] for the calls that move bytes or set an
    /// option (smoltcp's `send`, `recv` and setters), none of which changes
    /// the socket's state or endpoints: the next poll need not look at it
    /// (see [`TcpEntry::touched`]). A stream polled for data on every turn
    /// would otherwise have its socket looked at on every poll.
    pub(crate) fn tcp_socket_io(&mut self, key: Key) -> Option<&mut tcp::Socket<'a>> {
        let handle = self.tcp_socket_handle(key)?;
        Some(self.sockets.get_mut::<tcp::Socket>(handle))
    }

    pub(crate) fn tcp_socket_ref(&self, key: Key) -> Option<&tcp::Socket<'a>> {
        let handle = self.tcp_socket_handle(key)?;
        Some(self.sockets.get::<tcp::Socket>(handle))
    }

    /// Whether `key` still names its stream.
    pub(crate) fn tcp_live(&self, key: Key) -> bool {
        self.tcp.get(key.index).is_some_and(|e| e.holds(key))
    }

    pub(super) fn tcp_socket_handle(&self, key: Key) -> Option<SocketHandle> {
        // A stream's socket is never parked: only free ones are.
        let entry = self.tcp.get(key.index).filter(|e| e.holds(key))?;
        (!entry.parked).then(|| entry.handle())
    }

    /// Socket and interface context together, for `connect`.
    pub(crate) fn tcp_socket_and_context(
        &mut self,
        key: Key,
    ) -> Option<(&mut tcp::Socket<'a>, &mut iface::Context)> {
        let handle = self.tcp_socket_handle(key)?;
        self.touch(key.index);
        Some((
            self.sockets.get_mut::<tcp::Socket>(handle),
            self.iface.context(),
        ))
    }

    pub(super) fn tcp_port_in_use(&self, port: u16) -> bool {
        // Entries past `tcp_live` are free.
        let in_use = live(self.tcp, self.tcp_live);
        in_use
            .iter()
            .filter(|e| e.owner != Owner::Free)
            .any(|e| self.socket_holds_port(e, port))
    }

    /// Whether the socket of `entry` is bound to `port`, connected or
    /// listening.
    fn socket_holds_port(&self, entry: &TcpEntry, port: u16) -> bool {
        let s = self.sockets.get::<tcp::Socket>(entry.handle());
        s.local_endpoint().is_some_and(|ep| ep.port == port) || s.listen_endpoint().port == port
    }

    /// [`Stack::tcp_port_in_use`] for a port that is only a candidate
    /// ([`Stack::ephemeral_port`]): an entry the application has not
    /// touched since the last look is answered from tracking's record,
    /// without a look into smoltcp's set for each live entry on every
    /// connect. A socket gains a port only by a listen or a connect, which
    /// touch the entry, so the record never says free when the socket
    /// holds the port (debug builds check that). It may say in use for a
    /// socket that closed since the last look: another candidate is drawn.
    fn tcp_port_maybe_in_use(&self, port: u16) -> bool {
        let in_use = live(self.tcp, self.tcp_live);
        in_use.iter().filter(|e| e.owner != Owner::Free).any(|e| {
            if e.touched {
                return self.socket_holds_port(e, port);
            }
            let track = &e.track;
            let recorded =
                track.state != tcp::State::Closed && track.local.is_some_and(|l| l.port == port);
            debug_assert!(
                recorded || !self.socket_holds_port(e, port),
                "connection tracking lost the port of an untouched entry"
            );
            recorded
        })
    }

    pub(super) fn udp_port_in_use(&self, port: u16) -> bool {
        self.udp.iter().any(|e| {
            e.in_use && self.sockets.get::<udp::Socket>(e.handle()).endpoint().port == port
        })
    }

    /// A port from 49152-65535 that no socket of this stack uses, drawn from
    /// the seeded generator (random, as RFC 6056 advises, yet reproducible).
    pub(crate) fn ephemeral_port(&mut self, udp: bool) -> Option<u16> {
        let span = u64::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        let start = self.rng.below(span);
        (0..span).find_map(|i| {
            let port = EPHEMERAL_FIRST + ((start + i) % span) as u16;
            let busy = if udp {
                self.udp_port_in_use(port)
            } else {
                self.tcp_port_maybe_in_use(port)
                    || self.listeners.iter().flatten().any(|l| l.port == port)
            };
            (!busy).then_some(port)
        })
    }

    pub(crate) fn take_udp(&mut self, port: u16) -> Result<Key, PoolError> {
        if self.udp_port_in_use(port) {
            return Err(PoolError::InUse);
        }
        let index = self
            .udp
            .iter()
            .position(|e| !e.in_use)
            .ok_or(PoolError::Exhausted)?;
        if let Some(entry) = self.udp.get_mut(index)
            && entry.handle.is_none()
        {
            // First use: its socket is made now (see `UdpStore`).
            let store = &mut self.udp_store;
            let each = store.each;
            let (mine, rest) = core::mem::take(&mut store.bytes)
                .split_at_mut_checked(2 * each)
                .ok_or(PoolError::Exhausted)?;
            store.bytes = rest;
            let (meta, rest) = core::mem::take(&mut store.meta)
                .split_at_mut_checked(2 * UDP_PACKETS)
                .ok_or(PoolError::Exhausted)?;
            store.meta = rest;
            let (rx, tx) = mine.split_at_mut(each);
            let (rx_meta, tx_meta) = meta.split_at_mut(UDP_PACKETS);
            let socket = udp::Socket::new(
                udp::PacketBuffer::new(rx_meta, rx),
                udp::PacketBuffer::new(tx_meta, tx),
            );
            entry.handle = Some(self.sockets.add(socket));
        } else if let Some(entry) = self.udp.get_mut(index)
            && entry.parked
        {
            let socket = self.spare.remove(entry.handle());
            entry.handle = Some(self.sockets.add(socket));
            entry.parked = false;
            self.spare_room += 1;
        }
        let socket = self
            .sockets
            .get_mut::<udp::Socket>(self.udp[index].handle());
        socket.bind(port).map_err(|_| PoolError::Invalid)?;
        let entry = &mut self.udp[index];
        entry.in_use = true;
        Ok(Key {
            index,
            generation: entry.generation,
        })
    }

    /// Close UDP socket `key`; nothing if it is closed already.
    pub(crate) fn release_udp(&mut self, key: Key) {
        let Some(e) = self.udp.get_mut(key.index) else {
            return;
        };
        if e.in_use && e.generation == key.generation {
            let socket = self.sockets.get_mut::<udp::Socket>(e.handle());
            socket.close();
            // The next owner starts with smoltcp's default TTL.
            socket.set_hop_limit(None);
            e.in_use = false;
            e.generation = e.generation.wrapping_add(1);
            // To be parked by the next poll.
            self.pool_moved = true;
        }
    }

    /// UDP socket `key`; `None` once it is closed.
    pub(crate) fn udp_socket(&mut self, key: Key) -> Option<&mut udp::Socket<'a>> {
        let handle = self
            .udp
            .get(key.index)
            .filter(|e| e.in_use && e.generation == key.generation)?
            .handle();
        Some(self.sockets.get_mut::<udp::Socket>(handle))
    }

    /// The stack's one ICMP socket and the echo identifier it is bound to:
    /// `ident` if this is its first use, the first user's otherwise (smoltcp
    /// binds a socket once, to one identifier).
    pub(crate) fn icmp_socket(&mut self, ident: u16) -> Option<(&mut icmp::Socket<'a>, u16)> {
        let handle = match &mut self.icmp {
            super::Icmp::Made(handle) => *handle,
            unmade => {
                // Swapped for a placeholder to move the buffers' borrow
                // into the socket; the set kept a slot free for it (the
                // names' sockets are counted without it, the pool's
                // sockets each left a slot of their own when they parked).
                let placeholder = super::Icmp::Made(SocketHandle::default());
                let super::Icmp::Unmade(buffers) = core::mem::replace(unmade, placeholder) else {
                    return None;
                };
                let socket = icmp::Socket::new(
                    icmp::PacketBuffer::new(&mut buffers.rx_meta[..], &mut buffers.rx[..]),
                    icmp::PacketBuffer::new(&mut buffers.tx_meta[..], &mut buffers.tx[..]),
                );
                let handle = self.sockets.add(socket);
                self.icmp = super::Icmp::Made(handle);
                handle
            }
        };
        let socket = self.sockets.get_mut::<icmp::Socket>(handle);
        let bound = match self.icmp_ident {
            Some(bound) => bound,
            None => {
                socket.bind(icmp::Endpoint::Ident(ident)).ok()?;
                self.icmp_ident = Some(ident);
                ident
            }
        };
        Some((socket, bound))
    }

    /// A number for a new ping of this stack: 0 for the first.
    pub(crate) fn next_ping(&mut self) -> u16 {
        let n = self.pings_made;
        self.pings_made = n.wrapping_add(1);
        n
    }

    /// Keep `reply`, read off the shared ICMP socket by a ping it is not
    /// for, until its own ping asks. The oldest goes when full: the stash
    /// holds no more than the socket's own queue would, and a reply nobody
    /// claims (a duplicate, or one for a ping dropped) must not stay.
    pub(crate) fn stash_echo(&mut self, reply: EchoReply) {
        if self.echo_stash.is_full() {
            self.echo_stash.remove(0);
        }
        let _ = self.echo_stash.push(reply);
    }

    /// The oldest stashed reply whose sequence number `mine` claims.
    pub(crate) fn take_echo(&mut self, mine: impl Fn(u16) -> bool) -> Option<EchoReply> {
        let i = self.echo_stash.iter().position(|r| mine(r.seq))?;
        Some(self.echo_stash.remove(i))
    }

    /// Draw a random number from the stack's seeded generator.
    pub(crate) fn random(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

/// How long a TCP socket stays in smoltcp's set once it is idle, before
/// [`Stack::park_idle`] moves it to the spare set: a busy host (a client
/// that connects again as soon as it is done, a server re-arming its
/// slots) takes it back before then, and a socket parked and brought back
/// costs two copies of it and two changes of smoltcp's set, about 1,000
/// instructions a connection (`layernet bench --only connections`). An
/// idle socket left in the set costs a short visit per egress round.
///
/// [`Stack::poll`] parks at most once a tick of its clock ([`new_tick`],
/// 131 ms) while a socket waits, at the first poll of a new tick: a socket
/// parks between `PARK_AFTER` and `PARK_AFTER` plus a tick after it went
/// idle. The stack keeps no due time of its own (8 bytes of static RAM on
/// the firmware, which has no spare set and never parks), and a busy pool
/// is walked for parking at most 8 times a second of its clock.
const PARK_AFTER: Duration = Duration::from_secs(1);

/// The clock's tick for parking is 2^17 microseconds (131 ms): a power of
/// two, so that [`new_tick`] is a shift.
const PARK_TICK_BITS: u32 = 17;

/// Whether `now` falls in another parking tick (see [`PARK_AFTER`]) than
/// `before`: the two times differ in a bit above the tick's. One shift of
/// their difference in bits, not a shift of each (64-bit arithmetic on the
/// firmware's 32-bit cores).
pub(super) fn new_tick(before: Instant, now: Instant) -> bool {
    (before.total_micros() ^ now.total_micros()) >> PARK_TICK_BITS != 0
}

/// The start of the first parking tick at or after `at`: when a poll that
/// acts at the first poll of a tick (see [`new_tick`]) is due for
/// something due at `at`.
pub(super) fn tick_ceil(at: Instant) -> Instant {
    let tick = 1i64 << PARK_TICK_BITS;
    Instant::from_micros((at.total_micros() + tick - 1) & !(tick - 1))
}

/// The entries in use: those before `live` ([`Stack::tcp_live`]), taken
/// without an index's panic path (see that field for the flash it cost).
#[inline(always)]
pub(super) fn live(tcp: &[TcpEntry], live: usize) -> &[TcpEntry] {
    tcp.get(..live).unwrap_or_default()
}

/// [`live`], to change.
#[inline(always)]
pub(super) fn live_mut(tcp: &mut [TcpEntry], live: usize) -> &mut [TcpEntry] {
    tcp.get_mut(..live).unwrap_or_default()
}

/// Options a previous user of a pooled socket may have set go back to
/// their defaults.
fn fresh(socket: &mut tcp::Socket<'_>, timeout: Option<Duration>) {
    socket.set_timeout(timeout);
    socket.set_keep_alive(None);
    socket.set_nagle_enabled(true);
}

/// An echo reply as a ping reads it: who answered, its sequence number as
/// sent on the wire, and its payload's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EchoReply {
    pub(crate) from: IpAddress,
    pub(crate) seq: u16,
    pub(crate) len: u16,
}

/// Why the pool could not give a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolError {
    InUse,
    Exhausted,
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_tick_is_another_quotient_by_the_tick() {
        let tick = 1i64 << PARK_TICK_BITS;
        let times = [
            0,
            1,
            tick - 1,
            tick,
            tick + 1,
            3 * tick - 1,
            3 * tick,
            -1,
            -tick,
            -tick - 1,
            i64::MAX,
            i64::MIN,
        ];
        for &a in &times {
            for &b in &times {
                let (before, now) = (Instant::from_micros(a), Instant::from_micros(b));
                let by_quotient = (a >> PARK_TICK_BITS) != (b >> PARK_TICK_BITS);
                assert_eq!(new_tick(before, now), by_quotient, "{a} -> {b}");
            }
        }
    }
}
