//! The AF_XDP socket over xsk-rs: its UMEM, its four rings and
//! [`XskSocket`], the safe face the workers use.
//!
//! The ring logic itself (what is peeked, restocked, reserved, submitted
//! and reaped) is [`super::ring::Ledger`]'s; this file binds the socket and
//! implements [`Rings`] over the kernel's mmap'd rings.

use std::any::Any;
use std::io::Write as _;
use std::num::NonZeroU32;
use std::os::fd::AsRawFd as _;
use std::sync::atomic::{AtomicU64, Ordering};

use xsk_rs::config::{
    BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

use super::os;
use super::ring::{Ledger, Rings};
use crate::io::{one_line, Error};
use crate::tcp::{FrameBatch, Slots};

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
    /// The UMEM in huge pages (`MAP_HUGETLB`): fewer TLB misses on a
    /// large UMEM; needs huge pages reserved (`vm.nr_hugepages`).
    pub huge_pages: bool,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig {
            frame_count: 4096,
            frame_size: 2048,
            ring_size: 2048,
            batch: 64,
            mode: XskMode::Auto,
            huge_pages: false,
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
        let umem = u64::from(self.frame_count) * u64::from(self.frame_size);
        if self.huge_pages && umem % HUGE_PAGE != 0 {
            return Err(Error::Config(format!(
                "a UMEM in huge pages must be a whole number of 2 MiB pages; {} frames of {} B are {} KiB (use --umem-frames 1024 or more)",
                self.frame_count,
                self.frame_size,
                umem / 1024
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

/// The huge page size a UMEM in huge pages is counted in: x86-64's and
/// arm64's default (`Hugepagesize` in /proc/meminfo).
pub const HUGE_PAGE: u64 = 2 << 20;

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
        // which `Ledger::recv` does only after its callback, which holds
        // this iterator, has returned.
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
    /// The rings, the UMEM and who holds which frame.
    ledger: Ledger<KernelRings>,
    /// Tells this socket's [`UmemSlots`] from any other's.
    id: u64,
    /// TX frames kept back from the batches lent the others, for the
    /// frames [`send`](Self::send) copies (ARP replies, overflow).
    reserve: usize,
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
            .field("tx_free", &self.ledger.tx_frames_free())
            .finish_non_exhaustive()
    }
}

/// The kernel's rings of one socket, mmap'd by libxdp, and the UMEM they
/// point into.
pub(super) struct KernelRings {
    // Rings first so they are dropped before the UMEM they point into.
    rx: RxQueue,
    tx: TxQueue,
    fill: FillQueue,
    comp: CompQueue,
    umem: Umem,
}

impl Rings for KernelRings {
    type Desc = FrameDesc;

    fn fill_room(&mut self) -> usize {
        self.fill.nb_free_exact() as usize
    }

    /// # Safety
    ///
    /// As [`Rings::fill_produce`].
    unsafe fn fill_produce(&mut self, descs: &[FrameDesc]) -> usize {
        // SAFETY: the caller guarantees what `FillQueue::produce` asks: the
        // frames are this UMEM's and on no other ring (the TX half never
        // comes here).
        unsafe { self.fill.produce(descs) }
    }

    fn fill_needs_wakeup(&self) -> bool {
        self.fill.needs_wakeup()
    }

    fn wake_fill(&mut self) -> std::io::Result<()> {
        self.fill.wakeup(self.rx.fd_mut(), 0)
    }

    fn rx_consume(&mut self, out: &mut [FrameDesc]) -> usize {
        // SAFETY: `out` is overwritten with descriptors of this socket's
        // UMEM only (the rx ring carries nothing else), and they are only
        // ever used with that UMEM, which `self` owns.
        unsafe { self.rx.consume(out) }
    }

    fn tx_room(&mut self) -> usize {
        self.tx.nb_free_exact() as usize
    }

    /// # Safety
    ///
    /// As [`Rings::write_tx`].
    unsafe fn write_tx(&mut self, desc: &mut FrameDesc, bytes: &[u8]) -> bool {
        // SAFETY: the caller guarantees `desc` is a frame of this UMEM that
        // is on no ring and referenced nowhere else, so nothing else reads
        // or writes it while we do.
        let mut data = unsafe { self.umem.data_mut(desc) };
        let mut cur = data.cursor();
        cur.set_pos(0);
        cur.write_all(bytes).is_ok()
    }

    /// # Safety
    ///
    /// As [`Rings::tx_produce`].
    unsafe fn tx_produce(&mut self, descs: &[FrameDesc]) -> usize {
        // SAFETY: the caller guarantees what `TxQueue::produce` asks: the
        // frames are this UMEM's and on no other ring (the RX half never
        // comes here).
        unsafe { self.tx.produce(descs) }
    }

    fn tx_needs_wakeup(&self) -> bool {
        self.tx.needs_wakeup()
    }

    fn wake_tx(&mut self) -> std::io::Result<()> {
        self.tx.wakeup()
    }

    fn comp_consume(&mut self, out: &mut [FrameDesc]) -> usize {
        // SAFETY: the completion ring only returns TX-half frames of this
        // UMEM that we submitted; once returned the kernel is done with
        // them, and they are only ever used with that UMEM.
        unsafe { self.comp.consume(out) }
    }
}

type Bound = (Umem, Vec<FrameDesc>, TxQueue, RxQueue, FillQueue, CompQueue);

impl XskSocket {
    /// Creates a UMEM and an AF_XDP socket bound to `iface` queue `queue`, in
    /// the calling thread's network namespace, and stocks the fill ring.
    ///
    /// Loads no XDP program (libxdp's default one is inhibited): steering is
    /// [`XdpProgram`](crate::io::XdpProgram)'s job, and the socket receives
    /// nothing until its [`fd`](Self::fd) is registered there.
    pub fn open(iface: &str, queue: u32, cfg: &XskConfig) -> Result<Self, Error> {
        cfg.validate()?;
        os::if_nametoindex(iface)?;
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
            let (umem, descs) = match Umem::new(umem_cfg, frames, cfg.huge_pages) {
                Ok(u) => u,
                Err(e) if cfg.huge_pages => {
                    return Err(xsk_err(format!(
                        "UMEM in huge pages: {}; reserve more (sysctl vm.nr_hugepages) or drop --huge-pages",
                        one_line(&e)
                    )))
                }
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
                    last_err = if zc && errno == Some(libc::EOPNOTSUPP) {
                        format!("zero-copy bind: {msg}: the driver has no AF_XDP zero-copy (veth has none); use --bind copy or auto")
                    } else {
                        format!("{} bind: {msg}", if zc { "zero-copy" } else { "copy-mode" })
                    };
                }
            }
        }
        let Some(((umem, mut descs, tx, rx, fill, comp), zero_copy)) = bound else {
            return Err(xsk_err(last_err));
        };

        let max_frame = umem_cfg.mtu() as usize;
        let tx_frames = descs.split_off(descs.len() / 2);
        let rx_frames = descs;
        let rings = KernelRings {
            rx,
            tx,
            fill,
            comp,
            umem,
        };
        // SAFETY: both halves come from this socket's fresh UMEM, split
        // apart just above, so they are disjoint and none is on any ring.
        let ledger = unsafe { Ledger::new(rings, rx_frames, tx_frames, cfg.batch, max_frame) };
        static SOCKETS: AtomicU64 = AtomicU64::new(0);
        let sock = XskSocket {
            ledger,
            id: SOCKETS.fetch_add(1, Ordering::Relaxed),
            reserve: cfg.batch,
            zero_copy,
            iface: iface.to_string(),
            queue,
        };
        // Copy mode sends in the wakeup's own sendto(2), 32 frames a call
        // unless told otherwise; a zero-copy driver sends from its own
        // NAPI poll and takes no budget from the socket.
        if !zero_copy {
            os::xsk_tx_budget(sock.fd(), cfg.ring_size).map_err(|e| xsk_err(e.to_string()))?;
        }
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
        self.ledger.recv(|rings, descs| {
            f(Frames {
                umem: &rings.umem,
                descs: descs.iter(),
            })
        })
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
        self.ledger.send(frames)
    }

    /// A batch whose frames are written straight into this socket's UMEM
    /// TX frames, which [`transmit`](Self::transmit) then puts on the tx
    /// ring as they are: no copy. It is lent every free TX frame but a
    /// reserve for [`send`](Self::send); frames beyond those it holds go in
    /// its own buffer and are copied. Frames it has not transmitted come
    /// back to it on `clear`, and those transmitted once completed.
    pub fn tx_batch(&mut self) -> FrameBatch {
        let mut slots = UmemSlots {
            umem: self.ledger.rings.umem.clone(),
            socket: self.id,
            max_frame: self.ledger.max_frame(),
            free: Vec::new(),
            written: Vec::new(),
        };
        self.ledger.lend(&mut slots.free, self.reserve);
        slots.written.reserve(slots.free.len());
        FrameBatch::lent(Box::new(slots), 256, 128)
    }

    /// Transmits every frame of `batch` and empties it: those written in
    /// this socket's lent TX frames ([`tx_batch`](Self::tx_batch)) go on
    /// the tx ring as they are, the rest are copied ([`send`](Self::send)).
    /// `sent` sees each frame that went, in order; returns how many found
    /// no room, retried while the kernel drains the ring, and were dropped.
    pub fn transmit(
        &mut self,
        batch: &mut FrameBatch,
        mut sent: impl FnMut(&[u8]),
    ) -> Result<u64, Error> {
        let mut dropped = 0;
        let (in_slots, slots) = batch.slotted();
        let ours = slots
            .and_then(|s| s.as_any_mut().downcast_mut::<UmemSlots>())
            .filter(|s| s.socket == self.id);
        if let Some(slots) = ours {
            let n = in_slots.min(slots.written.len());
            let mut went = 0;
            let mut stalls = 0;
            let mut failed = Ok(());
            while went < n && failed.is_ok() {
                // SAFETY: `written` holds TX frames of this UMEM that
                // `lend` gave these slots, each once, written through
                // `next_slot` only, which the batch no longer borrows; those
                // that go are dropped from `written` below, untouched until
                // the completion ring returns them and `lend` lends them
                // again.
                let (k, woken) = unsafe { self.ledger.submit(&slots.written[went..n]) };
                went += k;
                failed = woken;
                if k == 0 {
                    stalls += 1;
                    if stalls > SEND_STALLS {
                        break;
                    }
                    std::thread::yield_now();
                }
            }
            for i in 0..went {
                sent(slots.frame(i));
            }
            dropped += (n - went) as u64;
            // Those that went are the kernel's; the others are free again,
            // and so are those the kernel has completed since. Even when the
            // wake failed: else a frame on the ring would be lent again.
            slots.written.drain(..went);
            slots.clear();
            self.ledger.lend(&mut slots.free, self.reserve);
            batch.forget_slotted();
            if let Err(e) = failed {
                batch.clear();
                return Err(e);
            }
        }
        let mut went = 0;
        let mut stalls = 0;
        while went < batch.len() {
            let k = self.send(batch.iter().skip(went))?;
            for frame in batch.iter().skip(went).take(k) {
                sent(frame);
            }
            went += k;
            if k == 0 {
                stalls += 1;
                if stalls > SEND_STALLS {
                    break;
                }
                // `send` reaps completions itself; give the kernel a moment.
                std::thread::yield_now();
            }
        }
        dropped += (batch.len() - went) as u64;
        batch.clear();
        Ok(dropped)
    }

    /// Blocks in poll(2) until the socket is readable or `timeout_ms` elapses
    /// (-1: forever). Returns whether it is readable; a signal counts as
    /// "not readable" so stop flags get checked.
    pub fn poll_readable(&mut self, timeout_ms: i32) -> Result<bool, Error> {
        self.ledger
            .rings
            .rx
            .poll(timeout_ms)
            .map_err(|e| Error::os("poll on AF_XDP socket", e))
    }

    /// Like [`poll_readable`](Self::poll_readable), ending also when
    /// `wake` (another worker's signal) is readable.
    pub fn poll_readable_or(
        &mut self,
        wake: std::os::fd::BorrowedFd<'_>,
        timeout_ms: i32,
    ) -> Result<(), Error> {
        // SAFETY: the descriptor is this socket's, open for as long as
        // `self`, which the borrow cannot outlive.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd()) };
        os::poll_either(fd, wake, timeout_ms)
    }

    /// The socket's file descriptor, to register in `xsks_map`.
    pub fn fd(&self) -> i32 {
        self.ledger.rings.rx.fd().as_raw_fd()
    }

    /// Has the kernel busy-poll this socket's queue when the worker polls
    /// it (see `os::prefer_busy_poll`).
    pub fn prefer_busy_poll(&self, usecs: u32, budget: u32) -> Result<(), Error> {
        super::os::prefer_busy_poll(self.fd(), usecs, budget)
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
        self.ledger.max_frame()
    }

    /// TX frames currently free (neither queued nor awaiting completion).
    pub fn tx_frames_free(&self) -> usize {
        self.ledger.tx_frames_free()
    }

    /// Kernel drop counters for this socket.
    pub fn stats(&self) -> Result<XskStats, Error> {
        let s = self
            .ledger
            .rings
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
}

/// Times [`XskSocket::transmit`] finds the tx ring without room, yielding
/// to the kernel each time, before it drops what is left.
const SEND_STALLS: u32 = 100;

/// TX frames of one socket's UMEM lent to a [`FrameBatch`]
/// ([`XskSocket::tx_batch`]): the engine writes each frame into one, and
/// [`XskSocket::transmit`] puts them on the tx ring where they are.
struct UmemSlots {
    /// A handle on the socket's UMEM: its memory stays mapped while the
    /// slots live, even past the socket.
    umem: Umem,
    socket: u64,
    max_frame: usize,
    /// Lent frames holding nothing.
    free: Vec<FrameDesc>,
    /// Lent frames holding the batch's frames, in order, each one's
    /// length in its descriptor.
    written: Vec<FrameDesc>,
}

impl Slots for UmemSlots {
    fn next_slot(&mut self, max_len: usize) -> Option<&mut [u8]> {
        if max_len > self.max_frame {
            return None;
        }
        // Last in, first out: the frame most recently back is the one most
        // likely still in the cache.
        let desc = self.free.pop()?;
        self.written.push(desc);
        let desc = self.written.last_mut()?;
        // SAFETY: `lend` gave this frame to these slots: a TX frame of this
        // UMEM on no ring, which nothing else references; the slice handed
        // out borrows `self`, so nothing here touches the frame while it
        // lives.
        let mut data = unsafe { self.umem.data_mut(desc) };
        data.cursor().set_pos(max_len);
        let buf = data.contents_mut();
        let (ptr, len) = (buf.as_mut_ptr(), buf.len());
        if len < max_len {
            // A data segment shorter than `max_frame` said: no slot fits.
            self.free.extend(self.written.pop());
            return None;
        }
        // SAFETY: `ptr..ptr + len` is that frame's data segment up to the
        // length the cursor just set, in the UMEM mapping `self.umem` keeps
        // alive; exclusive as said above.
        Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
    }

    fn commit(&mut self, len: usize) {
        if let Some(desc) = self.written.last_mut() {
            // SAFETY: a frame of these slots, as in `next_slot`, whose
            // slice is no longer borrowed.
            unsafe { self.umem.data_mut(desc) }.cursor().set_pos(len);
        }
    }

    fn frame(&self, i: usize) -> &[u8] {
        match self.written.get(i) {
            // SAFETY: a frame of these slots, as in `next_slot`; only
            // `next_slot` and `commit` write it, through `&mut self`.
            Some(desc) => unsafe { self.umem.data(desc) }.contents(),
            None => &[],
        }
    }

    fn clear(&mut self) {
        self.free.append(&mut self.written);
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
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
