//! AF_XDP socket over xsk-rs, plus every other FFI call the I/O layer needs.
//!
//! This is the only module of the crate allowed `unsafe`: keeping all of it in
//! one file is what makes it reviewable. Besides [`XskSocket`] it holds the
//! generated libbpf skeleton ([`skel`]) and [`sys`], a handful of thin, safe
//! wrappers around libc calls (ioctls, `setns`, `sigaction`).
//!
//! UMEM ownership model: the UMEM is split once, at open, into an RX half and a
//! TX half. RX frames cycle fill ring -> kernel -> rx ring -> us -> fill ring;
//! TX frames cycle free list -> tx ring -> kernel -> completion ring -> free
//! list. Because the halves never mix, a frame is never on two rings at once,
//! which is the invariant every `unsafe` call below relies on.
#![allow(unsafe_code)]

use std::io::Write as _;
use std::num::NonZeroU32;
use std::os::fd::AsRawFd as _;

use xsk_rs::config::{
    BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

use super::{one_line, Error};

/// The libbpf-cargo skeleton of `bpf/synwave.bpf.c`.
///
/// Included here rather than in `xdp.rs` because the generated code is full of
/// `unsafe` and the crate allows `unsafe` in this module only; [`super::xdp`]
/// is its sole user. The code is libbpf-cargo's, not ours, hence the lint
/// exemptions.
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    dead_code,
    non_camel_case_types
)]
pub(crate) mod skel {
    include!(concat!(env!("OUT_DIR"), "/synwave.skel.rs"));
}

/// How hard to try for zero-copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XskMode {
    /// Zero-copy when the driver supports it, else copy mode.
    #[default]
    Auto,
    /// Zero-copy or fail.
    ZeroCopy,
    /// Copy mode only (veth, or to rule the driver's zero-copy path out).
    Copy,
}

/// Sizing of one AF_XDP socket and its UMEM.
#[derive(Debug, Clone, Copy)]
pub struct XskConfig {
    /// UMEM frames; half serve RX, half TX. Power of two.
    pub frame_count: u32,
    /// Bytes per UMEM frame (2048 or 4096: the kernel wants a power of two
    /// no larger than a page in aligned mode).
    pub frame_size: u32,
    /// Entries in each of the rx, tx, fill and completion rings. Power of two,
    /// at least `frame_count / 2` so the fill ring can hold every RX frame.
    pub ring_size: u32,
    /// Frames handled per `recv` call.
    pub batch: usize,
    /// Zero-copy policy.
    pub mode: XskMode,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig {
            frame_count: 4096,
            frame_size: 2048,
            ring_size: 2048,
            batch: 64,
            mode: XskMode::Auto,
        }
    }
}

impl XskConfig {
    /// Checks sizes are powers of two and fit together, before anything is opened.
    pub fn validate(&self) -> Result<(), Error> {
        let pow2 = |v: u32| v != 0 && v.is_power_of_two();
        if !pow2(self.frame_count) || self.frame_count < 2 {
            return Err(Error::Config(format!(
                "frame_count {} must be a power of two >= 2",
                self.frame_count
            )));
        }
        if !pow2(self.frame_size) || !(2048..=4096).contains(&self.frame_size) {
            return Err(Error::Config(format!(
                "frame_size {} must be 2048 or 4096",
                self.frame_size
            )));
        }
        if !pow2(self.ring_size) || self.ring_size < self.frame_count / 2 {
            return Err(Error::Config(format!(
                "ring_size {} must be a power of two >= frame_count/2 ({})",
                self.ring_size,
                self.frame_count / 2
            )));
        }
        if self.batch == 0 || self.batch > (self.frame_count / 2) as usize {
            return Err(Error::Config(format!(
                "batch {} must be in 1..=frame_count/2",
                self.batch
            )));
        }
        Ok(())
    }
}

/// Kernel-side drop counters of one AF_XDP socket (`XDP_STATISTICS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XskStats {
    /// Frames dropped for reasons other than the two below.
    pub rx_dropped: u64,
    /// Frames dropped because the rx ring was full: we were too slow.
    pub rx_ring_full: u64,
    /// Times the kernel found the fill ring empty.
    pub rx_fill_ring_empty: u64,
    /// Invalid rx descriptors.
    pub rx_invalid_descs: u64,
    /// Invalid tx descriptors (a bug on our side).
    pub tx_invalid_descs: u64,
    /// Times the kernel found the tx ring empty when woken.
    pub tx_ring_empty: u64,
}

/// The frames of one received batch, valid while
/// [`XskSocket::recv_batch`]'s callback runs.
pub struct Frames<'a> {
    umem: &'a Umem,
    descs: std::slice::Iter<'a, FrameDesc>,
}

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let desc = self.descs.next()?;
        // SAFETY: the kernel handed us this frame through the rx ring and
        // will not write it again until we produce it on the fill ring,
        // which `recv_batch` does only after its callback, which holds this
        // iterator, has returned.
        Some(unsafe { self.umem.data(desc) }.contents())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.descs.size_hint()
    }
}

/// One AF_XDP socket bound to one (interface, queue), with its own UMEM.
///
/// Not `Sync`: one worker thread owns it, which is what lets the rings be used
/// without locks.
pub struct XskSocket {
    // Rings first so they are dropped before the UMEM they point into.
    rx: RxQueue,
    tx: TxQueue,
    fill: FillQueue,
    comp: CompQueue,
    umem: Umem,
    /// Scratch for descriptors peeked from the rx ring.
    rx_descs: Vec<FrameDesc>,
    /// RX frames we own that the fill ring could not take yet.
    fill_stash: Vec<FrameDesc>,
    /// TX frames neither on the tx ring nor awaiting completion.
    tx_free: Vec<FrameDesc>,
    /// Scratch for descriptors being submitted to the tx ring.
    tx_staged: Vec<FrameDesc>,
    /// Scratch for descriptors reaped from the completion ring.
    comp_descs: Vec<FrameDesc>,
    max_frame: usize,
    zero_copy: bool,
    iface: String,
    queue: u32,
}

impl std::fmt::Debug for XskSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XskSocket")
            .field("iface", &self.iface)
            .field("queue", &self.queue)
            .field("zero_copy", &self.zero_copy)
            .field("tx_free", &self.tx_free.len())
            .finish_non_exhaustive()
    }
}

type Bound = (Umem, Vec<FrameDesc>, TxQueue, RxQueue, FillQueue, CompQueue);

impl XskSocket {
    /// Creates a UMEM and an AF_XDP socket bound to `iface` queue `queue`, in
    /// the calling thread's network namespace, and stocks the fill ring.
    ///
    /// Loads no XDP program (libxdp's default one is inhibited): steering is
    /// [`super::XdpProgram`]'s job, and the socket receives nothing until its
    /// [`fd`](Self::fd) is registered there.
    pub fn open(iface: &str, queue: u32, cfg: &XskConfig) -> Result<Self, Error> {
        cfg.validate()?;
        sys::if_nametoindex(iface)?;
        let xsk_err = |msg: String| Error::Xsk {
            iface: iface.to_string(),
            queue,
            msg,
        };
        let if_name: Interface = iface
            .parse()
            .map_err(|_| Error::Config(format!("interface name {iface:?} contains a NUL byte")))?;
        let ring = QueueSize::new(cfg.ring_size).map_err(|e| xsk_err(one_line(&e)))?;
        let umem_cfg = UmemConfig::builder()
            .frame_size(FrameSize::new(cfg.frame_size).map_err(|e| xsk_err(one_line(&e)))?)
            .fill_queue_size(ring)
            .comp_queue_size(ring)
            .build()
            .map_err(|e| xsk_err(one_line(&e)))?;
        let frames = NonZeroU32::new(cfg.frame_count)
            .ok_or_else(|| Error::Config("frame_count must be non-zero".into()))?;

        let attempts: &[bool] = match cfg.mode {
            XskMode::Auto => &[true, false],
            XskMode::ZeroCopy => &[true],
            XskMode::Copy => &[false],
        };
        let mut last_err = String::new();
        let mut bound: Option<(Bound, bool)> = None;
        for &zc in attempts {
            let mode_flag = if zc {
                BindFlags::XDP_ZEROCOPY
            } else {
                BindFlags::XDP_COPY
            };
            let sock_cfg = SocketConfig::builder()
                .rx_queue_size(ring)
                .tx_queue_size(ring)
                .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
                .bind_flags(mode_flag | BindFlags::XDP_USE_NEED_WAKEUP)
                .build();
            // A failed bind may leave libxdp's per-UMEM ring bookkeeping
            // half-used, so every attempt gets a fresh UMEM.
            let (umem, descs) = match Umem::new(umem_cfg, frames, false) {
                Ok(u) => u,
                Err(e) => return Err(xsk_err(format!("UMEM: {}", one_line(&e)))),
            };
            // SAFETY: the UMEM is fresh and not shared with any other socket,
            // so the INHIBIT_PROG_LOAD/shared-UMEM double-free hazard that
            // `Socket::new` documents cannot arise.
            match unsafe { Socket::new(sock_cfg, &umem, &if_name, queue) } {
                Ok((tx, rx, Some((fill, comp)))) => {
                    bound = Some(((umem, descs, tx, rx, fill, comp), zc));
                    break;
                }
                Ok((_, _, None)) => {
                    last_err = "libxdp returned no fill/completion rings for a fresh UMEM".into();
                }
                Err(e) => {
                    let errno = std::error::Error::source(&e)
                        .and_then(|s| s.downcast_ref::<std::io::Error>())
                        .and_then(std::io::Error::raw_os_error);
                    if errno == Some(libc::EPERM) {
                        return Err(Error::PermissionDenied("opening an AF_XDP socket"));
                    }
                    let msg = one_line(&e);
                    last_err =
                        format!("{} bind: {msg}", if zc { "zero-copy" } else { "copy-mode" });
                }
            }
        }
        let Some(((umem, mut descs, tx, rx, mut fill, comp), zero_copy)) = bound else {
            return Err(xsk_err(last_err));
        };

        let max_frame = umem_cfg.mtu() as usize;
        let tx_free = descs.split_off(descs.len() / 2);
        let rx_frames = descs;
        // SAFETY: `rx_frames` come from this socket's UMEM and are the RX half,
        // disjoint from `tx_free`; none is on any ring yet.
        let produced = unsafe { fill.produce(&rx_frames) };
        let fill_stash = if produced == rx_frames.len() {
            Vec::with_capacity(rx_frames.len())
        } else {
            // Unreachable with a validated config (ring >= RX half), but if
            // the kernel ever sizes rings differently we keep the frames and
            // retry rather than lose them.
            rx_frames.clone()
        };
        let template = tx_free.first().copied().unwrap_or_default();
        let mut sock = XskSocket {
            rx,
            tx,
            fill,
            comp,
            umem,
            rx_descs: vec![template; cfg.batch],
            fill_stash,
            tx_staged: Vec::with_capacity(tx_free.len()),
            comp_descs: vec![template; cfg.batch],
            tx_free,
            max_frame,
            zero_copy,
            iface: iface.to_string(),
            queue,
        };
        sock.restock_fill();
        Ok(sock)
    }

    /// Receives up to one batch of frames, calling `f` on each frame's bytes
    /// (Ethernet header first); see [`recv_batch`](Self::recv_batch).
    pub fn recv(&mut self, mut f: impl FnMut(&[u8])) -> Result<usize, Error> {
        self.recv_batch(|frames| frames.for_each(&mut f))
            .map(|(n, ())| n)
    }

    /// Receives up to one batch of frames and hands them to `f` together,
    /// then gives the frames back to the kernel and reaps TX completions.
    /// Returns the number of frames and what `f` returned; 0 frames means the
    /// rx ring was empty, so callers idle with
    /// [`poll_readable`](Self::poll_readable).
    ///
    /// The slices are only valid during `f`: the frames go back to the fill
    /// ring right after.
    pub fn recv_batch<R>(&mut self, f: impl FnOnce(Frames<'_>) -> R) -> Result<(usize, R), Error> {
        // Peek: copies up to a batch of descriptors and releases the ring
        // slots; the frames themselves stay ours until we refill them.
        // SAFETY: rx_descs are overwritten with descriptors of this socket's
        // UMEM only (the rx ring carries nothing else).
        let n = unsafe { self.rx.consume(&mut self.rx_descs) };
        // Restock before processing so the kernel is not starved while `f`
        // runs (frames left over from an earlier, full fill ring).
        self.restock_fill();
        let out = f(Frames {
            umem: &self.umem,
            descs: self.rx_descs[..n].iter(),
        });
        self.fill_stash.extend_from_slice(&self.rx_descs[..n]);
        self.restock_fill();
        if self.fill.needs_wakeup() {
            // A fill ring that ran dry parks the driver's RX path until a
            // syscall; poll(0) is that syscall and never blocks.
            self.fill
                .wakeup(self.rx.fd_mut(), 0)
                .map_err(|e| Error::os("waking AF_XDP fill ring", e))?;
        }
        self.reap_completions();
        Ok((n, out))
    }

    /// Copies `frames` (complete Ethernet frames, checksums filled in) into
    /// free UMEM TX frames and submits them; reaps completions first and
    /// wakes the kernel only when the ring asks for it.
    ///
    /// Returns how many leading frames were accepted. The rest found the tx
    /// ring or the TX half of the UMEM full: retry after a `recv`/`poll`, or
    /// drop and count. Fails only on a frame larger than a UMEM frame (if it
    /// is the first) or a failed wakeup.
    pub fn send<'a>(&mut self, frames: impl IntoIterator<Item = &'a [u8]>) -> Result<usize, Error> {
        self.reap_completions();
        let room = (self.tx.nb_free_exact() as usize).min(self.tx_free.len());
        self.tx_staged.clear();
        let mut it = frames.into_iter();
        let mut oversized = None;
        while self.tx_staged.len() < room {
            let Some(frame) = it.next() else { break };
            if frame.len() > self.max_frame {
                oversized = Some(frame.len());
                break;
            }
            let Some(mut desc) = self.tx_free.pop() else {
                break;
            };
            // SAFETY: `desc` came off the free list, so it is a TX-half frame
            // of this UMEM that is on no ring and is referenced nowhere else.
            let mut data = unsafe { self.umem.data_mut(&mut desc) };
            let mut cur = data.cursor();
            cur.set_pos(0);
            if cur.write_all(frame).is_err() {
                // Cannot happen after the length check; keep the frame.
                self.tx_free.push(desc);
                oversized = Some(frame.len());
                break;
            }
            self.tx_staged.push(desc);
        }
        if self.tx_staged.is_empty() {
            return match oversized {
                Some(len) => Err(Error::FrameTooLarge {
                    len,
                    max: self.max_frame,
                }),
                None => Ok(0),
            };
        }
        // SAFETY: the staged frames are TX-half frames of this UMEM, each
        // staged once, and we stop touching them until the completion ring
        // returns them.
        let sent = unsafe { self.tx.produce(&self.tx_staged) };
        if sent == 0 {
            // Reserve is all-or-nothing; we sized the batch to the free slots,
            // so this only happens if the kernel moved underneath us.
            self.tx_free.extend_from_slice(&self.tx_staged);
            return Ok(0);
        }
        if self.tx.needs_wakeup() {
            self.tx
                .wakeup()
                .map_err(|e| Error::os("waking AF_XDP tx ring", e))?;
        }
        Ok(sent)
    }

    /// Blocks in poll(2) until the socket is readable or `timeout_ms` elapses
    /// (-1: forever). Returns whether it is readable; a signal counts as
    /// "not readable" so stop flags get checked.
    pub fn poll_readable(&mut self, timeout_ms: i32) -> Result<bool, Error> {
        self.rx
            .poll(timeout_ms)
            .map_err(|e| Error::os("poll on AF_XDP socket", e))
    }

    /// The socket's file descriptor, to register in `xsks_map`.
    pub fn fd(&self) -> i32 {
        self.rx.fd().as_raw_fd()
    }

    /// Whether the bind got zero-copy (false: copy mode).
    pub fn is_zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Interface the socket is bound to.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Queue the socket is bound to.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// Largest frame [`send`](Self::send) accepts.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame
    }

    /// TX frames currently free (neither queued nor awaiting completion).
    pub fn tx_frames_free(&self) -> usize {
        self.tx_free.len()
    }

    /// Kernel drop counters for this socket.
    pub fn stats(&self) -> Result<XskStats, Error> {
        let s = self
            .rx
            .fd()
            .xdp_statistics()
            .map_err(|e| Error::os("reading XDP_STATISTICS", e))?;
        Ok(XskStats {
            rx_dropped: s.rx_dropped(),
            rx_ring_full: s.rx_ring_full(),
            rx_fill_ring_empty: s.rx_fill_ring_empty_descs(),
            rx_invalid_descs: s.rx_invalid_descs(),
            tx_invalid_descs: s.tx_invalid_descs(),
            tx_ring_empty: s.tx_ring_empty_descs(),
        })
    }

    /// Moves completed TX frames back to the free list.
    fn reap_completions(&mut self) {
        loop {
            // SAFETY: the completion ring only returns TX-half frames of this
            // UMEM that we submitted; once returned the kernel is done with
            // them.
            let n = unsafe { self.comp.consume(&mut self.comp_descs) };
            if n == 0 {
                break;
            }
            self.tx_free.extend_from_slice(&self.comp_descs[..n]);
        }
    }

    /// Hands stashed RX frames to the fill ring, as many as fit.
    fn restock_fill(&mut self) {
        if self.fill_stash.is_empty() {
            return;
        }
        let room = (self.fill.nb_free_exact() as usize).min(self.fill_stash.len());
        if room == 0 {
            return;
        }
        let from = self.fill_stash.len() - room;
        // SAFETY: stashed frames are RX-half frames of this UMEM that we own
        // (consumed from the rx ring, already processed); each is in the stash
        // once, and is removed from it right after being produced.
        let produced = unsafe { self.fill.produce(&self.fill_stash[from..]) };
        if produced == room {
            self.fill_stash.truncate(from);
        }
    }
}

/// Thin safe wrappers over the libc calls the I/O layer needs.
pub(crate) mod sys {
    use std::ffi::CString;
    use std::fs::File;
    use std::net::Ipv4Addr;
    use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

    use super::Error;

    /// Index of `name` in the calling thread's network namespace.
    pub(crate) fn if_nametoindex(name: &str) -> Result<u32, Error> {
        let c = CString::new(name)
            .map_err(|_| Error::Config(format!("interface name {name:?} contains a NUL byte")))?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if idx == 0 {
            let err = std::io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::ENODEV) | Some(libc::ENXIO) => Err(Error::NoSuchInterface(name.into())),
                _ => Err(Error::os(format!("if_nametoindex({name})"), err)),
            };
        }
        Ok(idx)
    }

    fn ctl_socket() -> Result<OwnedFd, Error> {
        // SAFETY: plain socket(2) with constant arguments.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(Error::last_os("socket(AF_INET) for ioctl"));
        }
        // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn ifreq_for(name: &str) -> Result<libc::ifreq, Error> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.as_bytes().contains(&0) {
            return Err(Error::NoSuchInterface(name.into()));
        }
        // SAFETY: ifreq is plain old data; all-zero is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, &src) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
            *dst = src as libc::c_char;
        }
        Ok(req)
    }

    /// Runs an interface ioctl on a throw-away socket; returns the errno.
    fn if_ioctl(req_code: libc::c_ulong, req: &mut libc::ifreq) -> Result<(), i32> {
        let sock = ctl_socket().map_err(|_| libc::EIO)?;
        // SAFETY: `req` is a valid, exclusively borrowed ifreq whose name is
        // NUL-terminated (zeroed, name shorter than IFNAMSIZ); the request
        // codes used read into it or, for SIOCETHTOOL, through
        // `ifru_data`, which the caller points at a live buffer.
        let rc = unsafe { libc::ioctl(sock.as_raw_fd(), req_code as _, req as *mut libc::ifreq) };
        if rc < 0 {
            return Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO));
        }
        Ok(())
    }

    fn ioctl_err(name: &str, what: &str, errno: i32) -> Error {
        if errno == libc::ENODEV {
            Error::NoSuchInterface(name.into())
        } else {
            Error::os(
                format!("{what} on {name}"),
                std::io::Error::from_raw_os_error(errno),
            )
        }
    }

    /// Hardware address of `name` (SIOCGIFHWADDR).
    pub(crate) fn hwaddr(name: &str) -> Result<[u8; 6], Error> {
        let mut req = ifreq_for(name)?;
        if_ioctl(libc::SIOCGIFHWADDR, &mut req).map_err(|e| ioctl_err(name, "SIOCGIFHWADDR", e))?;
        // SAFETY: SIOCGIFHWADDR succeeded, so the kernel filled `ifru_hwaddr`.
        let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
        let mut mac = [0u8; 6];
        for (m, &b) in mac.iter_mut().zip(sa.sa_data.iter()) {
            *m = b as u8;
        }
        Ok(mac)
    }

    /// Primary IPv4 address of `name` (SIOCGIFADDR); `None` if it has none.
    pub(crate) fn ipv4(name: &str) -> Result<Option<Ipv4Addr>, Error> {
        let mut req = ifreq_for(name)?;
        match if_ioctl(libc::SIOCGIFADDR, &mut req) {
            Ok(()) => {}
            Err(libc::EADDRNOTAVAIL) => return Ok(None),
            Err(e) => return Err(ioctl_err(name, "SIOCGIFADDR", e)),
        }
        // SAFETY: SIOCGIFADDR succeeded, so `ifru_addr` holds a sockaddr_in.
        let sa = unsafe { req.ifr_ifru.ifru_addr };
        // sockaddr_in: family (2), port (2), then the address.
        let b = |i: usize| sa.sa_data[i] as u8;
        Ok(Some(Ipv4Addr::new(b(2), b(3), b(4), b(5))))
    }

    /// `struct ethtool_channels` from <linux/ethtool.h>.
    #[repr(C)]
    #[derive(Default)]
    struct EthtoolChannels {
        cmd: u32,
        max_rx: u32,
        max_tx: u32,
        max_other: u32,
        max_combined: u32,
        rx_count: u32,
        tx_count: u32,
        other_count: u32,
        combined_count: u32,
    }
    const ETHTOOL_GCHANNELS: u32 = 0x3c;

    /// Current (rx-only, combined) channel counts via ETHTOOL_GCHANNELS;
    /// `None` when the driver does not implement it.
    pub(crate) fn channels(name: &str) -> Result<Option<(u32, u32)>, Error> {
        let mut req = ifreq_for(name)?;
        let mut ch = EthtoolChannels {
            cmd: ETHTOOL_GCHANNELS,
            ..Default::default()
        };
        req.ifr_ifru.ifru_data = (&mut ch as *mut EthtoolChannels).cast();
        match if_ioctl(libc::SIOCETHTOOL, &mut req) {
            Ok(()) => Ok(Some((ch.rx_count, ch.combined_count))),
            Err(libc::EOPNOTSUPP) => Ok(None),
            Err(e) => Err(ioctl_err(name, "ETHTOOL_GCHANNELS", e)),
        }
    }

    /// Moves the calling thread into the network namespace `ns` refers to.
    pub(crate) fn setns_net(ns: &File, what: &str) -> Result<(), Error> {
        // SAFETY: setns(2) only reads the descriptor, which `ns` keeps open
        // for the duration of the call; it affects only the calling thread.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EPERM) {
                return Err(Error::PermissionDenied("entering a network namespace"));
            }
            return Err(Error::os(format!("setns({what})"), err));
        }
        Ok(())
    }

    /// A raw AF_PACKET socket for ARP frames on interface `ifindex`,
    /// non-blocking: for RFC 5227 probes before the XDP program is attached.
    pub(crate) fn arp_socket(ifindex: u32) -> Result<OwnedFd, Error> {
        let proto = (libc::ETH_P_ARP as u16).to_be();
        // SAFETY: plain socket(2) call; the result is checked below.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(proto),
            )
        };
        if fd < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EPERM) {
                return Err(Error::PermissionDenied(
                    "probing source addresses (AF_PACKET)",
                ));
            }
            return Err(Error::os("socket(AF_PACKET)", err));
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll and the length matches it.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            return Err(Error::last_os("binding the AF_PACKET socket"));
        }
        Ok(fd)
    }

    /// Sends one whole Ethernet frame on a bound AF_PACKET socket.
    pub(crate) fn packet_send(fd: &OwnedFd, frame: &[u8]) -> Result<(), Error> {
        // SAFETY: `frame` is a valid buffer of `frame.len()` bytes.
        let n = unsafe { libc::send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(Error::last_os("sending an ARP probe"));
        }
        Ok(())
    }

    /// Receives one frame into `buf`, waiting up to `timeout_ms`; `None`
    /// when none came.
    pub(crate) fn packet_recv(
        fd: &OwnedFd,
        buf: &mut [u8],
        timeout_ms: i32,
    ) -> Result<Option<usize>, Error> {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(Error::os("poll on the AF_PACKET socket", err));
        }
        if rc == 0 {
            return Ok(None);
        }
        // SAFETY: `buf` is a valid writable buffer of `buf.len()` bytes.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(Error::os("receiving on the AF_PACKET socket", err));
        }
        Ok(Some(n as usize))
    }

    /// Time since boot, suspend included (CLOCK_BOOTTIME): a clock that
    /// only grows for as long as the host is up, across processes.
    pub(crate) fn boottime() -> Result<std::time::Duration, Error> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec owned by us.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
        if rc < 0 {
            return Err(Error::last_os("clock_gettime(CLOCK_BOOTTIME)"));
        }
        Ok(std::time::Duration::new(
            ts.tv_sec as u64,
            ts.tv_nsec as u32,
        ))
    }

    /// Installs `handler` for `signals` with SA_RESETHAND, so a second
    /// signal gets the default action (kills a stuck process).
    pub(crate) fn on_signals(
        signals: &[libc::c_int],
        handler: extern "C" fn(libc::c_int),
    ) -> Result<(), Error> {
        for &sig in signals {
            // SAFETY: sigaction is plain old data; all-zero is a valid value.
            let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
            act.sa_sigaction = handler as usize;
            act.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            // SAFETY: `act.sa_mask` is a valid sigset_t owned by us.
            unsafe { libc::sigemptyset(&mut act.sa_mask) };
            // SAFETY: `act` is fully initialised and `handler` is an
            // `extern "C" fn(c_int)` that the caller guarantees only performs
            // async-signal-safe work; the old action is not requested.
            let rc = unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
            if rc < 0 {
                return Err(Error::last_os(format!("sigaction({sig})")));
            }
        }
        Ok(())
    }
}
#[cfg(test)]
mod assert_send {
    fn is_send<T: Send>() {}
    #[test]
    fn xsk_socket_and_program_are_send() {
        is_send::<super::XskSocket>();
        is_send::<crate::io::XdpProgram>();
    }
}
