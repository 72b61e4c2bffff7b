//! The Linux TAP link: a smoltcp `phy::Device` over a TAP interface.
//!
//! Layer: link (std only). Depends on smoltcp's `phy` and `time`, on
//! `tun-tap` for opening the device and on `libc` for `poll(2)` (and for
//! opening it with offloads, which `tun-tap` cannot ask for); knows
//! nothing of sockets.
//!
//! Frames move through two fixed buffers owned by the device: a received
//! frame is read once, into the receive buffer, where the network layer can
//! [`Link::peek`] at it before smoltcp consumes it; a transmitted frame is
//! built by smoltcp in the transmit buffer and written once. The descriptor
//! is non-blocking (with a blocking one smoltcp's poll would never get to
//! egress), and [`TapDevice::wait`] sleeps in `poll(2)` until a frame
//! arrives or the caller's deadline passes: no busy waiting.
//!
//! # Offload
//!
//! [`TapDevice::open_offload`] attaches with `IFF_VNET_HDR` and
//! `TUNSETOFFLOAD` (checksum, TSO4, TSO6; no UDP offloads), so that every
//! frame carries a 10-byte virtio-net header and the kernel moves TCP in
//! segments of up to 64 KiB, one `read`/`write` each, instead of one
//! syscall per 1514-byte frame. Of the two ways to let the stack see only
//! whole, valid frames, this one does not cut big segments into MTU-sized
//! frames (that would keep one stack pass per frame and save only the
//! syscalls): it tells smoltcp the IP MTU is 65535, so a 64 KiB segment
//! from the kernel goes to the stack whole, its partial checksum
//! completed, and smoltcp's big segments go to the kernel whole, marked
//! as GSO at the link's MSS for the kernel to cut (to its own stack it
//! delivers them uncut). smoltcp sends no segment bigger than the MSS the
//! peer announced, so the device raises the MSS of a SYN from the kernel
//! to 65495 (65475 on IPv6), fixing its checksum, when the announced one
//! takes the link's full MTU; a peer with a smaller MSS keeps it, and gets
//! link-sized segments. The trace and the capture see that raised MSS,
//! and big segments as the stack handles them. Frames that are not TCP
//! and do not fit the link are dropped on the way out (counted in
//! [`TapStats::tx_dropped`]), as the kernel would refuse to cut them.

mod vnet;

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use tun_tap::{Iface, Mode};

use super::Link;
use super::rng::Rng;
use super::sim::{ETHERNET_HEADER_LEN, Faults, Roll, Stats, flip_checksummed_bit};

/// Largest frame handled without offload: a 1500-byte IP MTU plus the
/// Ethernet header.
pub const TAP_FRAME_MAX: usize = 1514;

/// Why a TAP device could not be opened. Its `Display` is one line that
/// says what to run.
///
/// # Example
///
/// ```
/// use layernet::link::tap::{TapDevice, TapError};
///
/// match TapDevice::open("ln-nope0") {
///     Err(TapError::Missing(name)) => assert_eq!(name, "ln-nope0"),
///     other => panic!("expected Missing, got {:?}", other.err()),
/// }
/// let advice = TapError::Permission("tap0".into()).to_string();
/// assert!(advice.contains("run as root") && !advice.contains('\n'));
/// ```
#[derive(Debug)]
pub enum TapError {
    /// No such interface in this network namespace.
    Missing(String),
    /// The interface exists but is not a TAP device.
    NotTap(String),
    /// Opening `/dev/net/tun` or attaching was refused.
    Permission(String),
    /// The device is attached to another process.
    Busy(String),
    /// Anything else.
    Io(String, io::Error),
}

impl fmt::Display for TapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TapError::Missing(n) => write!(
                f,
                "no network device {n} in this network namespace: create it first (ip tuntap add dev {n} mode tap; ip link set {n} up), or run inside scripts/tap-netns.sh"
            ),
            TapError::NotTap(n) => write!(
                f,
                "{n} is not a TAP device: create one with ip tuntap add dev NAME mode tap"
            ),
            TapError::Permission(n) => write!(
                f,
                "permission denied opening TAP device {n}: run as root, or create it for your user (ip tuntap add dev {n} mode tap user $USER)"
            ),
            TapError::Busy(n) => write!(f, "TAP device {n} is in use by another process"),
            TapError::Io(n, e) => write!(f, "cannot open TAP device {n}: {e}"),
        }
    }
}

impl std::error::Error for TapError {}

/// What the device counted.
///
/// ```
/// use layernet::link::tap::TapStats;
///
/// fn tx_loss_permille(s: &TapStats) -> u64 {
///     1000 * s.tx_dropped / (s.tx_frames + s.tx_dropped).max(1)
/// }
/// let unplugged = TapStats { tx_frames: 990, tx_dropped: 10, ..TapStats::default() };
/// assert_eq!(tx_loss_permille(&unplugged), 10);
/// assert_eq!(tx_loss_permille(&TapStats::default()), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapStats {
    /// Frames read from the kernel.
    pub rx_frames: u64,
    /// Frames written to the kernel.
    pub tx_frames: u64,
    /// Frames the kernel would not take (device down or detached), dropped.
    pub tx_dropped: u64,
    /// Read errors other than "nothing there"; with offload, also frames
    /// whose virtio-net header could not be honoured (dropped).
    pub rx_errors: u64,
}

/// Frames a fault layer holds at most, each way; beyond that a frame is
/// lost (counted as overflow), as on a NIC whose queue is full.
///
/// ```
/// use layernet::link::tap::FAULT_QUEUE;
/// // Room for a full TCP window of small segments and their duplicates.
/// assert!(FAULT_QUEUE >= 2 * 64);
/// ```
pub const FAULT_QUEUE: usize = 256;

struct Held {
    at: Instant,
    seq: u64,
    frame: Vec<u8>,
}

/// The simulated segment's fault model on a real link, both ways: frames
/// from the kernel before the stack sees them, frames from the stack before
/// the kernel does. Same rolls, same statistics, its own seed.
struct FaultLayer {
    faults: Faults,
    rng: Rng,
    seq: u64,
    rx: std::collections::VecDeque<Held>,
    tx: std::collections::VecDeque<Held>,
    stats: Stats,
}

impl FaultLayer {
    /// Roll the faults for `frame` and queue what survives (once or twice).
    fn offer(&mut self, inbound: bool, now: Instant, frame: &[u8]) {
        self.stats.offered += 1;
        self.stats.offered_bytes += frame.len() as u64;
        let roll: Roll = self.faults.roll(&mut self.rng);
        if roll.drop {
            self.stats.dropped += 1;
            return;
        }
        let mut frame = frame.to_vec();
        if roll.corrupt {
            self.stats.corrupted += 1;
            if !flip_checksummed_bit(&mut frame, roll.flip) {
                return;
            }
        }
        let mut at = now + self.faults.delay;
        if roll.reorder {
            self.stats.reordered += 1;
            at += smoltcp::time::Duration::from_millis(roll.hold);
        }
        let copies = if roll.duplicate {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let queue = if inbound { &mut self.rx } else { &mut self.tx };
            if queue.len() >= FAULT_QUEUE {
                self.stats.overflow += 1;
                continue;
            }
            self.seq += 1;
            queue.push_back(Held {
                at,
                seq: self.seq,
                frame: frame.clone(),
            });
            self.stats.delivered += 1;
        }
    }

    /// The next frame due by `now` in one direction, earliest first.
    fn take_due(queue: &mut std::collections::VecDeque<Held>, now: Instant) -> Option<Vec<u8>> {
        let i = queue
            .iter()
            .enumerate()
            .filter(|(_, h)| h.at <= now)
            .min_by_key(|(_, h)| (h.at, h.seq))
            .map(|(i, _)| i)?;
        queue.remove(i).map(|h| h.frame)
    }

    fn next_due(&self) -> Option<Instant> {
        self.rx.iter().chain(self.tx.iter()).map(|h| h.at).min()
    }
}

/// A TAP interface as a smoltcp device.
///
/// Needs an existing TAP interface and the right to open it (root, or a
/// device created for the user); `docs/tap.md` and `scripts/tap-netns.sh`
/// set one up.
///
/// # Example
///
/// Without the interface, opening fails with a message that says what to run:
///
/// ```
/// use layernet::link::tap::TapDevice;
///
/// match TapDevice::open("layernet-doc0") {
///     Ok(dev) => println!("attached to {}", dev.name()),
///     Err(e) => assert!(e.to_string().contains("ip tuntap add dev layernet-doc0")),
/// }
/// ```
pub struct TapDevice {
    fd: Fd,
    mtu: usize,
    /// Where the frame starts in `rx` and `tx`: after the virtio-net
    /// header with offload, at 0 without.
    head: usize,
    rx: Box<[u8]>,
    rx_len: Option<usize>,
    tx: Box<[u8]>,
    stats: TapStats,
    failure: Option<io::Error>,
    faults: Option<FaultLayer>,
}

/// The descriptor: opened by `tun-tap`, or by [`TapDevice::open_offload`]
/// itself with the flags `tun-tap` cannot set.
enum Fd {
    Plain(Iface),
    Vnet { file: std::fs::File, name: String },
}

impl Fd {
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Fd::Plain(iface) => iface.recv(buf),
            Fd::Vnet { file, .. } => (&*file).read(buf),
        }
    }

    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Fd::Plain(iface) => iface.send(buf),
            Fd::Vnet { file, .. } => (&*file).write(buf),
        }
    }

    fn raw(&self) -> RawFd {
        match self {
            Fd::Plain(iface) => iface.as_raw_fd(),
            Fd::Vnet { file, .. } => file.as_raw_fd(),
        }
    }

    fn name(&self) -> &str {
        match self {
            Fd::Plain(iface) => iface.name(),
            Fd::Vnet { name, .. } => name,
        }
    }

    /// Write `frame` (held by the fault layer, so without room for a
    /// header in front) with its virtio-net header if the link has them.
    fn send_held(&self, mtu: usize, frame: &[u8]) -> io::Result<usize> {
        if matches!(self, Fd::Plain(_)) {
            return self.send(frame);
        }
        let mut buf = vec![0; vnet::HDR_LEN + frame.len()];
        let (hdr, body) = buf.split_at_mut(vnet::HDR_LEN);
        body.copy_from_slice(frame);
        if !vnet::mark_tx(hdr, body, mtu) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a frame bigger than the link that is not TCP",
            ));
        }
        self.send(&buf)
    }
}

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags (the
/// first member of the union); the rest pads it to the kernel's size.
#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// `TUNSETOFFLOAD`: the offloads (`TUN_F_*`) the kernel may use on this
/// device, 0 for none.
fn set_offloads(fd: RawFd, offloads: libc::c_ulong) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value, not as a
    // pointer: the kernel reads no memory of ours. The request is fixed
    // here, so no caller can pass one that writes through the argument.
    #[allow(unsafe_code)]
    let r = unsafe { libc::ioctl(fd, libc::TUNSETOFFLOAD, offloads) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The TAP settings that read one `int` from the caller.
#[derive(Clone, Copy)]
enum IntSetting {
    /// `TUNSETVNETHDRSZ`: the virtio-net header's length.
    VnetHeaderSize,
    /// `TUNSETVNETLE`: the header's fields are little-endian.
    VnetLittleEndian,
}

/// Set `setting` to `value`.
fn set_int(fd: RawFd, setting: IntSetting, value: libc::c_int) -> io::Result<()> {
    let request = match setting {
        IntSetting::VnetHeaderSize => libc::TUNSETVNETHDRSZ,
        IntSetting::VnetLittleEndian => libc::TUNSETVNETLE,
    };
    // SAFETY: both requests (the only ones `IntSetting` names) read one
    // int through the pointer, which points at `value`, alive across the
    // call; neither writes through it.
    #[allow(unsafe_code)]
    let r = unsafe { libc::ioctl(fd, request, &value as *const libc::c_int) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Check that `name` is an interface of this namespace that may be a TAP;
/// its directory in /sys if that shows this namespace.
fn existing_tap(name: &str) -> Result<Option<PathBuf>, TapError> {
    let Some(index) = interface_index(name) else {
        return Err(TapError::Missing(name.to_string()));
    };
    // /sys shows the namespace of whoever mounted it, which need not be
    // ours: trust its details only when its index is the kernel's.
    let sys = Path::new("/sys/class/net").join(name);
    let sys_is_ours = std::fs::read_to_string(sys.join("ifindex"))
        .ok()
        .and_then(|i| i.trim().parse::<u32>().ok())
        == Some(index);
    if sys_is_ours && !sys.join("tun_flags").exists() {
        return Err(TapError::NotTap(name.to_string()));
    }
    Ok(sys_is_ours.then_some(sys))
}

/// What an error attaching to `name` means.
fn attach_error(name: &str, e: io::Error) -> TapError {
    match e.kind() {
        io::ErrorKind::PermissionDenied => TapError::Permission(name.to_string()),
        _ if e.raw_os_error() == Some(libc::EBUSY) => TapError::Busy(name.to_string()),
        _ if e.raw_os_error() == Some(libc::EINVAL) => TapError::NotTap(name.to_string()),
        _ => TapError::Io(name.to_string(), e),
    }
}

/// The interface's MTU from /sys (`sys`, when it shows this namespace),
/// else Ethernet's.
fn link_mtu(sys: Option<&Path>) -> usize {
    sys.and_then(|sys| std::fs::read_to_string(sys.join("mtu")).ok())
        .and_then(|m| m.trim().parse::<usize>().ok())
        .unwrap_or(1500)
}

/// The interface's index in this process's network namespace, if it exists.
fn interface_index(name: &str) -> Option<u32> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('/') {
        return None;
    }
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: `cname` is a valid NUL-terminated string that outlives the
    // call; if_nametoindex only reads it.
    #[allow(unsafe_code)]
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    (index != 0).then_some(index)
}

impl TapDevice {
    /// Attach to the existing TAP interface `name` (it is not created: as
    /// root, opening a name that does not exist would create it silently).
    /// The IP MTU is the interface's own, at most 1500.
    ///
    /// # Errors
    ///
    /// [`TapError::Missing`] if this network namespace has no interface
    /// `name` (an empty, too long or path-like name included);
    /// [`TapError::NotTap`] for an interface that is not TAP (`lo`, a veth);
    /// [`TapError::Permission`] without the right to attach;
    /// [`TapError::Busy`] if another process holds it; [`TapError::Io`] for
    /// anything else.
    ///
    /// ```
    /// use layernet::link::tap::{TapDevice, TapError};
    ///
    /// for bad in ["", "../../etc", "a-name-too-long-for-linux"] {
    ///     assert!(matches!(TapDevice::open(bad), Err(TapError::Missing(_))));
    /// }
    /// ```
    pub fn open(name: &str) -> Result<TapDevice, TapError> {
        let sys = existing_tap(name)?;
        let iface =
            Iface::without_packet_info(name, Mode::Tap).map_err(|e| attach_error(name, e))?;
        iface
            .set_non_blocking()
            .map_err(|e| TapError::Io(name.to_string(), e))?;
        // The offloads are the interface's, not the descriptor's: they
        // outlive a process that attached with them and did not clear them
        // (killed), and would then hand this one 64 KiB frames without the
        // header that says so. Nothing to clear is not an error.
        let _ = set_offloads(iface.as_raw_fd(), 0);
        let mtu = link_mtu(sys.as_deref()).min(TAP_FRAME_MAX - ETHERNET_HEADER_LEN);
        Ok(TapDevice::with_fd(Fd::Plain(iface), mtu, 0, TAP_FRAME_MAX))
    }

    /// [`TapDevice::open`] with virtio-net headers and the kernel's
    /// offloads: TCP moves in segments of up to 64 KiB each way, one
    /// syscall each (the module documentation says how). The link's own
    /// MTU (the interface's, any size) is where the kernel cuts; the stack
    /// is told 65535.
    ///
    /// # Errors
    ///
    /// As [`TapDevice::open`]; [`TapError::Io`] too if the kernel refuses
    /// the header or the offloads.
    ///
    /// ```
    /// use layernet::link::tap::{TapDevice, TapError};
    /// use smoltcp::phy::Device;
    ///
    /// match TapDevice::open_offload("ln-doc-gso") {
    ///     Ok(dev) => assert_eq!(dev.capabilities().max_transmission_unit, 65535 + 14),
    ///     Err(e) => assert!(matches!(e, TapError::Missing(_))),
    /// }
    /// ```
    pub fn open_offload(name: &str) -> Result<TapDevice, TapError> {
        let sys = existing_tap(name)?;
        let io_error = |e| TapError::Io(name.to_string(), e);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")
            .map_err(|e| attach_error(name, e))?;
        let fd = file.as_raw_fd();
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as libc::c_short,
            _pad: [0; 22],
        };
        // existing_tap checked the name is shorter than IFNAMSIZ: the last
        // byte stays NUL.
        for (d, s) in req.name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        // SAFETY: TUNSETIFF reads and writes one struct ifreq through the
        // pointer; `req` has its layout (name, then the flags that begin the
        // union), is at least as big, and lives across the call.
        #[allow(unsafe_code)]
        let r = unsafe { libc::ioctl(fd, libc::TUNSETIFF, &mut req as *mut IfReq) };
        if r < 0 {
            return Err(attach_error(name, io::Error::last_os_error()));
        }
        set_int(fd, IntSetting::VnetHeaderSize, vnet::HDR_LEN as libc::c_int).map_err(io_error)?;
        // Legacy virtio headers are in the host's byte order; ask for
        // little-endian, which the header code reads. A kernel without the
        // request is little-endian's only if the host is.
        if let Err(e) = set_int(fd, IntSetting::VnetLittleEndian, 1)
            && cfg!(target_endian = "big")
        {
            return Err(io_error(e));
        }
        let offloads = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
        set_offloads(fd, libc::c_ulong::from(offloads)).map_err(io_error)?;
        let mtu = link_mtu(sys.as_deref()).min(vnet::BIG_IP_MTU - ETHERNET_HEADER_LEN);
        let fd = Fd::Vnet {
            file,
            name: name.to_string(),
        };
        // The kernel's GSO segments are at most 64 KiB of IP, plus headers.
        let size = vnet::HDR_LEN + ETHERNET_HEADER_LEN + (1 << 16) + 256;
        Ok(TapDevice::with_fd(fd, mtu, vnet::HDR_LEN, size))
    }

    fn with_fd(fd: Fd, mtu: usize, head: usize, size: usize) -> TapDevice {
        TapDevice {
            fd,
            mtu,
            head,
            rx: vec![0; size].into_boxed_slice(),
            rx_len: None,
            tx: vec![0; size].into_boxed_slice(),
            stats: TapStats::default(),
            failure: None,
            faults: None,
        }
    }

    /// Whether the device was opened with [`TapDevice::open_offload`].
    ///
    /// ```
    /// use layernet::link::tap::TapDevice;
    /// if let Ok(dev) = TapDevice::open("ln-doc-plain") {
    ///     assert!(!dev.offload());
    /// }
    /// ```
    pub fn offload(&self) -> bool {
        self.head != 0
    }

    /// Put the simulated segment's fault model on this link, both ways,
    /// with its own `seed`: frames from the kernel are dropped, corrupted,
    /// duplicated, reordered and delayed before the stack sees them, and
    /// frames from the stack before the kernel does. For testing recovery
    /// on a real link where the kernel has no netem. On a device opened
    /// with [`TapDevice::open_offload`] the faults hit what crosses the
    /// TAP, segments of up to 64 KiB, not the frames of the wire (the CLI
    /// refuses the combination for that reason).
    ///
    /// ```
    /// use layernet::link::{sim::Faults, tap::TapDevice};
    /// if let Ok(dev) = TapDevice::open("ln-doc-faults") {
    ///     let dev = dev.with_faults(Faults::loss(5), 7);
    ///     assert_eq!(dev.fault_stats().map(|s| s.offered), Some(0));
    /// }
    /// ```
    pub fn with_faults(mut self, faults: Faults, seed: u64) -> Self {
        self.faults = Some(FaultLayer {
            faults,
            rng: Rng::new(seed),
            seq: 0,
            rx: std::collections::VecDeque::new(),
            tx: std::collections::VecDeque::new(),
            stats: Stats::default(),
        });
        self
    }

    /// What the fault layer did, both ways together (`None` without one).
    ///
    /// ```
    /// use layernet::link::tap::TapDevice;
    /// if let Ok(dev) = TapDevice::open("ln-doc-fstats") {
    ///     assert!(dev.fault_stats().is_none(), "no fault layer unless asked");
    /// }
    /// ```
    pub fn fault_stats(&self) -> Option<Stats> {
        self.faults.as_ref().map(|f| f.stats)
    }

    /// When the fault layer next has a held frame to release (the event
    /// loop must wake then, frame or not).
    ///
    /// ```
    /// use layernet::link::tap::TapDevice;
    /// if let Ok(dev) = TapDevice::open("ln-doc-fdue") {
    ///     assert_eq!(dev.next_fault_release(), None);
    /// }
    /// ```
    pub fn next_fault_release(&self) -> Option<Instant> {
        self.faults.as_ref().and_then(FaultLayer::next_due)
    }

    /// Write the held outbound frames that are due.
    fn release_tx(&mut self, now: Instant) {
        let Some(layer) = self.faults.as_mut() else {
            return;
        };
        while let Some(frame) = FaultLayer::take_due(&mut layer.tx, now) {
            match self.fd.send_held(self.mtu, &frame) {
                Ok(_) => self.stats.tx_frames += 1,
                Err(_) => self.stats.tx_dropped += 1,
            }
        }
    }

    /// Why the device stopped working (it was deleted, or detached), if it
    /// did; `None` while it works.
    ///
    /// ```
    /// use layernet::link::tap::TapDevice;
    /// let healthy = TapDevice::open("ln-doc-fail").map(|tap| tap.failure().is_none());
    /// assert!(healthy.unwrap_or(true), "a device that just opened has not failed");
    /// ```
    pub fn failure(&self) -> Option<&io::Error> {
        self.failure.as_ref()
    }

    /// The interface's name.
    ///
    /// ```
    /// use layernet::link::tap::TapDevice;
    /// if let Ok(tap) = TapDevice::open("ln-doc-name") {
    ///     assert_eq!(tap.name(), "ln-doc-name");
    /// }
    /// ```
    pub fn name(&self) -> &str {
        self.fd.name()
    }

    /// What was counted.
    ///
    /// ```
    /// use layernet::link::tap::{TapDevice, TapError};
    /// match TapDevice::open("ln-doc-stats").map(|tap| tap.stats()) {
    ///     Ok(counted) => assert_eq!(counted.tx_frames + counted.tx_dropped, 0),
    ///     Err(e) => assert!(matches!(e, TapError::Missing(_) | TapError::Permission(_))),
    /// }
    /// ```
    pub fn stats(&self) -> TapStats {
        self.stats
    }

    /// Sleep until a frame can be read or `timeout` passes (`None`: until a
    /// frame). Returns true if a frame is waiting, false if the time passed
    /// (or a signal interrupted the sleep).
    ///
    /// # Errors
    ///
    /// An error if the device failed (then sleeping on it again would
    /// return at once, for ever): [`TapDevice::failure`]'s error again, or
    /// `BrokenPipe` when the interface was deleted or detached while
    /// waiting, or what `poll(2)` reported.
    ///
    /// ```
    /// use layernet::link::tap::TapDevice;
    /// use std::time::Duration;
    ///
    /// fn frame_within(name: &str, ms: u64) -> Result<bool, Box<dyn std::error::Error>> {
    ///     let tap = TapDevice::open(name)?;
    ///     Ok(tap.wait(Some(Duration::from_millis(ms)))?)
    /// }
    /// assert!(frame_within("ln-doc-wait", 5).is_err(), "no such device here");
    /// ```
    pub fn wait(&self, timeout: Option<std::time::Duration>) -> io::Result<bool> {
        if let Some(e) = &self.failure {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        if self.rx_len.is_some() {
            return Ok(true);
        }
        let mut fds = libc::pollfd {
            fd: self.fd.raw(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.map_or(-1, |t| {
            // Round up: a deadline 0.4 ms away must not become a busy loop.
            let ms = t.as_micros().div_ceil(1000);
            i32::try_from(ms).unwrap_or(i32::MAX)
        });
        // SAFETY: `fds` is one valid, initialised pollfd that lives across
        // the call, and the count passed is exactly 1.
        #[allow(unsafe_code)]
        let n = unsafe { libc::poll(&mut fds, 1, ms) };
        match n {
            n if n > 0 && fds.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 => {
                Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the TAP device went away (deleted or detached)",
                ))
            }
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    fn fill(&mut self, now: Instant) {
        self.release_tx(now);
        if self.rx_len.is_some() {
            return;
        }
        if self.faults.is_some() {
            self.fill_through_faults(now);
            return;
        }
        match self.fd.recv(&mut self.rx) {
            Ok(n) if n > 0 => {
                self.stats.rx_frames += 1;
                self.rx_len = self.unwrap_frame(n);
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            // Anything else (EBADFD once the device is deleted) will not get
            // better: remember it, so the event loop stops instead of spinning.
            Err(e) => {
                self.stats.rx_errors += 1;
                self.failure = Some(e);
            }
        }
    }
}

impl TapDevice {
    /// The length of the frame that `n` bytes read into `rx` hold after
    /// the virtio-net header, made whole for the stack (see [`vnet`]);
    /// `None` if it cannot be, counted as a receive error.
    fn unwrap_frame(&mut self, n: usize) -> Option<usize> {
        if self.head == 0 {
            return Some(n);
        }
        // A read that fills the buffer may have been cut short.
        if n <= self.head || n >= self.rx.len() {
            self.stats.rx_errors += 1;
            return None;
        }
        let (hdr, frame) = self.rx[..n].split_at_mut(self.head);
        match vnet::complete_rx(hdr, frame, self.mtu) {
            Ok(()) => Some(n - self.head),
            Err(_) => {
                self.stats.rx_errors += 1;
                None
            }
        }
    }

    /// Read what the kernel has into the fault layer, then hand on the
    /// earliest frame that is due.
    fn fill_through_faults(&mut self, now: Instant) {
        // Bounded: a flood cannot keep this loop reading for ever.
        for _ in 0..64 {
            match self.fd.recv(&mut self.rx) {
                Ok(n) if n > 0 => {
                    self.stats.rx_frames += 1;
                    let Some(len) = self.unwrap_frame(n) else {
                        continue;
                    };
                    let frame = &self.rx[self.head..self.head + len];
                    if let Some(layer) = self.faults.as_mut() {
                        layer.offer(true, now, frame);
                    }
                }
                Ok(_) => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    break;
                }
                Err(e) => {
                    self.stats.rx_errors += 1;
                    self.failure = Some(e);
                    break;
                }
            }
        }
        let Some(layer) = self.faults.as_mut() else {
            return;
        };
        if let Some(frame) = FaultLayer::take_due(&mut layer.rx, now) {
            let n = frame.len().min(self.rx.len() - self.head);
            self.rx[self.head..self.head + n].copy_from_slice(&frame[..n]);
            self.rx_len = Some(n);
        }
    }
}

impl Drop for TapDevice {
    fn drop(&mut self) {
        // The offloads stay on the interface after the descriptor closes:
        // the next program to attach without virtio-net headers (smoltcp's
        // examples, for one) would get 64 KiB frames it cannot parse.
        if let Fd::Vnet { file, .. } = &self.fd {
            let _ = set_offloads(file.as_raw_fd(), 0);
        }
    }
}

impl Link for TapDevice {
    fn peek(&mut self, now: Instant) -> Option<&[u8]> {
        self.fill(now);
        let len = self.rx_len?;
        self.rx.get(self.head..self.head + len)
    }

    fn discard(&mut self, _now: Instant) {
        self.rx_len = None;
    }

    fn poll_at(&self) -> Option<Instant> {
        self.next_fault_release()
    }
}

/// Receive token: the frame already sits in the device's buffer.
///
/// ```
/// use layernet::link::tap::{TAP_FRAME_MAX, TapDevice, TapRxToken, TapTxToken};
/// use smoltcp::phy::{Device, RxToken};
///
/// fn next_len(dev: &mut TapDevice) -> Option<usize> {
///     let (rx, _): (TapRxToken<'_>, TapTxToken<'_>) = dev.receive(layernet::Instant::ZERO)?;
///     Some(rx.consume(|frame| frame.len()))
/// }
/// if let Ok(mut dev) = TapDevice::open("ln-doc-rx") {
///     assert!(next_len(&mut dev).is_none_or(|n| n <= TAP_FRAME_MAX));
/// }
/// ```
pub struct TapRxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for TapRxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Transmit token: smoltcp builds the frame in the device's buffer, then it
/// is written once; a frame the kernel refuses is counted in
/// [`TapStats::tx_dropped`].
///
/// ```
/// use layernet::{Instant, link::tap::TapDevice};
/// use smoltcp::phy::{Device, TxToken};
///
/// if let Ok(mut dev) = TapDevice::open("ln-doc-tx") {
///     if let Some(token) = dev.transmit(Instant::ZERO) {
///         token.consume(60, |frame| frame.fill(0xff));
///     }
///     let s = dev.stats();
///     assert_eq!(s.tx_frames + s.tx_dropped, 1, "sent or counted as lost");
/// }
/// ```
pub struct TapTxToken<'a> {
    fd: &'a Fd,
    buf: &'a mut [u8],
    head: usize,
    mtu: usize,
    stats: &'a mut TapStats,
    faults: Option<&'a mut FaultLayer>,
    now: Instant,
}

impl phy::TxToken for TapTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // smoltcp asks for at most `capabilities().max_transmission_unit`.
        let end = (self.head + len).min(self.buf.len());
        let r = f(&mut self.buf[self.head..end]);
        if let Some(layer) = self.faults {
            // Held in the fault layer; written when due (at once without a
            // delay): the next poll of the device releases it.
            layer.offer(false, self.now, &self.buf[self.head..end]);
            while let Some(due) = FaultLayer::take_due(&mut layer.tx, self.now) {
                match self.fd.send_held(self.mtu, &due) {
                    Ok(_) => self.stats.tx_frames += 1,
                    Err(_) => self.stats.tx_dropped += 1,
                }
            }
            return r;
        }
        if self.head != 0 {
            let (hdr, frame) = self.buf[..end].split_at_mut(self.head);
            if !vnet::mark_tx(hdr, frame, self.mtu) {
                self.stats.tx_dropped += 1;
                return r;
            }
        }
        match self.fd.send(&self.buf[..end]) {
            Ok(_) => self.stats.tx_frames += 1,
            // The device is down or detached: the frame is lost, as on an
            // unplugged NIC (TCP retransmits); a dead device shows on the
            // receive side, where the event loop stops.
            Err(_) => self.stats.tx_dropped += 1,
        }
        r
    }
}

impl Device for TapDevice {
    type RxToken<'a>
        = TapRxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TapTxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.fill(now);
        let len = self.rx_len.take()?;
        Some((
            TapRxToken {
                frame: &self.rx[self.head..self.head + len],
            },
            TapTxToken {
                fd: &self.fd,
                buf: &mut self.tx,
                head: self.head,
                mtu: self.mtu,
                stats: &mut self.stats,
                faults: self.faults.as_mut(),
                now,
            },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        self.release_tx(now);
        Some(TapTxToken {
            fd: &self.fd,
            buf: &mut self.tx,
            head: self.head,
            mtu: self.mtu,
            stats: &mut self.stats,
            faults: self.faults.as_mut(),
            now,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = if self.offload() {
            vnet::BIG_IP_MTU + ETHERNET_HEADER_LEN
        } else {
            self.mtu + ETHERNET_HEADER_LEN
        };
        // No cap on the window smoltcp advertises: the kernel queues up to
        // txqueuelen (1000) frames for the TAP, and capping it at 16
        // segments kept a 64 KiB receiver at 23 KiB (docs/performance.md).
        caps.max_burst_size = None;
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_device_is_a_one_line_error_not_a_panic() {
        let e = TapDevice::open("layernet-none0")
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(
            e.contains("no network device layernet-none0") && e.contains("ip tuntap add"),
            "{e}"
        );
        assert!(!e.contains('\n'));
        let e = TapDevice::open("lo")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("not a TAP device"), "{e}");
        assert!(TapDevice::open("../../etc").is_err());
    }
}
