//! The ring logic of one AF_XDP socket, apart from the memory the rings
//! live in.
//!
//! [`Ledger`] decides everything about the four rings: how many descriptors
//! are peeked, when and with what the fill ring is restocked, how TX frames
//! are reserved, written and submitted, how completions go back to the free
//! list, what happens when a ring is full or empty, and when the kernel needs
//! a wakeup. It does so over any [`Rings`]: the kernel's, mmap'd by libxdp
//! (`xsk::KernelRings`), or, in the tests, in-memory rings with the kernel's
//! index semantics on which the test plays the kernel's side.
//!
//! UMEM ownership model: the UMEM is split once, at open, into an RX half and
//! a TX half. RX frames cycle fill ring -> kernel -> rx ring -> us -> fill
//! ring; TX frames cycle free list -> tx ring -> kernel -> completion ring ->
//! free list. Because the halves never mix, a frame is never on two rings at
//! once, which is the invariant every `unsafe` call below relies on.

use std::io;

use crate::io::Error;

/// The four rings of one AF_XDP socket and the UMEM frames they carry, seen
/// from user space: we produce on the fill and tx rings and consume from the
/// rx and completion rings.
///
/// Producing is all or nothing, as libxdp's reserve is: a ring with fewer
/// free slots than descriptors offered takes none. Consuming takes up to as
/// many descriptors as asked for, as libxdp's peek does.
pub(crate) trait Rings {
    /// A frame descriptor: which UMEM frame and, on rx and tx, how many
    /// bytes of it are in use.
    type Desc: Copy + Default;

    /// Free slots on the fill ring, exact (reads the kernel's position).
    fn fill_room(&mut self) -> usize;

    /// Puts all of `descs` on the fill ring, or none if they do not fit;
    /// returns how many.
    ///
    /// # Safety
    ///
    /// Each of `descs` is a frame of this UMEM that the caller owns: on no
    /// ring, not being read or written, and listed once. The kernel may
    /// write it from this call until it comes back on the rx ring.
    unsafe fn fill_produce(&mut self, descs: &[Self::Desc]) -> usize;

    /// Whether the kernel flagged the fill ring as needing a wakeup.
    fn fill_needs_wakeup(&self) -> bool;

    /// Wakes the kernel's RX path (a non-blocking syscall).
    fn wake_fill(&mut self) -> io::Result<()>;

    /// Takes up to `out.len()` descriptors off the rx ring into `out`;
    /// returns how many. The frames are the caller's from then on.
    fn rx_consume(&mut self, out: &mut [Self::Desc]) -> usize;

    /// Free slots on the tx ring, exact (reads the kernel's position).
    fn tx_room(&mut self) -> usize;

    /// Copies `bytes` into the frame `desc` names and records their length
    /// in `desc`; false (and the frame untouched) if they do not fit.
    ///
    /// # Safety
    ///
    /// `desc` is a frame of this UMEM that the caller owns: on no ring and
    /// referenced nowhere else.
    unsafe fn write_tx(&mut self, desc: &mut Self::Desc, bytes: &[u8]) -> bool;

    /// Puts all of `descs` on the tx ring, or none if they do not fit;
    /// returns how many.
    ///
    /// # Safety
    ///
    /// As for [`fill_produce`](Self::fill_produce), except that the kernel
    /// reads the frames, until they come back on the completion ring.
    unsafe fn tx_produce(&mut self, descs: &[Self::Desc]) -> usize;

    /// Whether the kernel flagged the tx ring as needing a wakeup.
    fn tx_needs_wakeup(&self) -> bool;

    /// Kicks the kernel's TX path (a non-blocking syscall).
    fn wake_tx(&mut self) -> io::Result<()>;

    /// Takes up to `out.len()` descriptors off the completion ring into
    /// `out`; returns how many. The kernel is done with those frames.
    fn comp_consume(&mut self, out: &mut [Self::Desc]) -> usize;
}

/// Who holds which frame of one socket, and the ring logic that moves them.
pub(crate) struct Ledger<R: Rings> {
    /// The rings and the UMEM; the socket reaches through for its fd.
    pub(super) rings: R,
    /// Scratch for descriptors peeked from the rx ring.
    rx_descs: Vec<R::Desc>,
    /// RX frames we own that the fill ring could not take yet.
    fill_stash: Vec<R::Desc>,
    /// TX frames neither on the tx ring nor awaiting completion.
    tx_free: Vec<R::Desc>,
    /// Scratch for descriptors being submitted to the tx ring.
    tx_staged: Vec<R::Desc>,
    /// Scratch for descriptors reaped from the completion ring.
    comp_descs: Vec<R::Desc>,
    max_frame: usize,
}

impl<R: Rings> Ledger<R> {
    /// Takes over `rings` with the RX half `rx_frames` and the TX half
    /// `tx_frames` of its UMEM, and stocks the fill ring with the RX half.
    /// `batch` descriptors are peeked per [`recv`](Self::recv) and reaped
    /// per completion round; frames up to `max_frame` bytes are sent.
    ///
    /// # Safety
    ///
    /// `rx_frames` and `tx_frames` are frames of `rings`' UMEM, disjoint and
    /// each listed once, on no ring and referenced nowhere else.
    pub(super) unsafe fn new(
        mut rings: R,
        rx_frames: Vec<R::Desc>,
        tx_frames: Vec<R::Desc>,
        batch: usize,
        max_frame: usize,
    ) -> Self {
        // SAFETY: by this function's contract `rx_frames` are the RX half of
        // this UMEM, disjoint from `tx_frames`, and none is on any ring yet.
        let produced = unsafe { rings.fill_produce(&rx_frames) };
        let fill_stash = if produced == rx_frames.len() {
            Vec::with_capacity(rx_frames.len())
        } else {
            // Unreachable with a validated config (ring >= RX half), but if
            // the kernel ever sizes rings differently we keep the frames and
            // retry rather than lose them.
            rx_frames
        };
        let template = tx_frames.first().copied().unwrap_or_default();
        let mut ledger = Ledger {
            rings,
            rx_descs: vec![template; batch],
            fill_stash,
            tx_staged: Vec::with_capacity(tx_frames.len()),
            comp_descs: vec![template; batch],
            tx_free: tx_frames,
            max_frame,
        };
        ledger.restock_fill();
        ledger
    }

    /// Largest frame [`send`](Self::send) accepts.
    pub(super) fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// TX frames currently free (neither queued nor awaiting completion).
    pub(super) fn tx_frames_free(&self) -> usize {
        self.tx_free.len()
    }

    /// Peeks up to one batch off the rx ring, hands the rings and the
    /// batch's descriptors to `f`, then gives the frames back to the fill
    /// ring (waking the kernel if it asks) and reaps TX completions.
    pub(super) fn recv<Out>(
        &mut self,
        f: impl FnOnce(&R, &[R::Desc]) -> Out,
    ) -> Result<(usize, Out), Error> {
        // Peek: copies up to a batch of descriptors and releases the ring
        // slots; the frames themselves stay ours until we refill them.
        let n = self.rings.rx_consume(&mut self.rx_descs);
        // Restock before processing so the kernel is not starved while `f`
        // runs (frames left over from an earlier, full fill ring).
        self.restock_fill();
        let out = f(&self.rings, &self.rx_descs[..n]);
        self.fill_stash.extend_from_slice(&self.rx_descs[..n]);
        self.restock_fill();
        if self.rings.fill_needs_wakeup() {
            // A fill ring that ran dry parks the driver's RX path until a
            // syscall; poll(0) is that syscall and never blocks.
            self.rings
                .wake_fill()
                .map_err(|e| Error::os("waking AF_XDP fill ring", e))?;
        }
        self.reap_completions();
        Ok((n, out))
    }

    /// Copies `frames` into free TX frames and submits them; reaps
    /// completions first and wakes the kernel only when the ring asks for
    /// it. Returns how many leading frames were accepted; see
    /// [`XskSocket::send`](super::XskSocket::send).
    pub(super) fn send<'a>(
        &mut self,
        frames: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<usize, Error> {
        self.reap_completions();
        let room = self.rings.tx_room().min(self.tx_free.len());
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
            if !unsafe { self.rings.write_tx(&mut desc, frame) } {
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
        let sent = unsafe { self.rings.tx_produce(&self.tx_staged) };
        if sent == 0 {
            // Reserve is all-or-nothing; we sized the batch to the free slots,
            // so this only happens if the kernel moved underneath us.
            self.tx_free.extend_from_slice(&self.tx_staged);
            return Ok(0);
        }
        if self.rings.tx_needs_wakeup() {
            self.rings
                .wake_tx()
                .map_err(|e| Error::os("waking AF_XDP tx ring", e))?;
        }
        Ok(sent)
    }

    /// Lends a batch the TX frames it writes its frames into in place:
    /// reaps completions, then moves every free TX frame but `reserve`
    /// (kept for [`send`](Self::send)'s copies) into `into`. Lent frames
    /// come back through [`submit`](Self::submit) and the completion ring,
    /// or through another `lend`'s `into` (unused).
    pub(super) fn lend(&mut self, into: &mut Vec<R::Desc>, reserve: usize) {
        self.reap_completions();
        let keep = reserve.min(self.tx_free.len());
        into.extend(self.tx_free.drain(keep..));
    }

    /// Reaps completions, puts lent frames, written in place (their lengths
    /// in `descs`), on the tx ring and wakes the kernel if it asks; returns how many
    /// leading ones went. All of them unless the kernel holds more than
    /// the frames it was not lent: the ring has a slot for every TX frame.
    /// A failed wake comes beside the count, not instead of it: the frames
    /// that went are the kernel's either way, and the caller must know
    /// which.
    ///
    /// # Safety
    ///
    /// `descs` are TX-half frames of this UMEM that [`lend`](Self::lend)
    /// gave out, each listed once, written and referenced nowhere else;
    /// those that went are the kernel's until the completion ring returns
    /// them, and the caller stops writing them.
    pub(super) unsafe fn submit(&mut self, descs: &[R::Desc]) -> (usize, Result<(), Error>) {
        // As `send`: a kernel with a full completion ring sends nothing.
        self.reap_completions();
        let n = self.rings.tx_room().min(descs.len());
        if n == 0 {
            return (0, Ok(()));
        }
        // SAFETY: by this function's contract these are TX-half frames of
        // this UMEM, each once, on no ring; a room-sized prefix always fits.
        let sent = unsafe { self.rings.tx_produce(&descs[..n]) };
        let woken = if sent > 0 && self.rings.tx_needs_wakeup() {
            self.rings
                .wake_tx()
                .map_err(|e| Error::os("waking AF_XDP tx ring", e))
        } else {
            Ok(())
        };
        (sent, woken)
    }

    /// Moves completed TX frames back to the free list.
    fn reap_completions(&mut self) {
        loop {
            let n = self.rings.comp_consume(&mut self.comp_descs);
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
        let room = self.rings.fill_room().min(self.fill_stash.len());
        if room == 0 {
            return;
        }
        let from = self.fill_stash.len() - room;
        // SAFETY: stashed frames are RX-half frames of this UMEM that we own
        // (consumed from the rx ring, already processed); each is in the stash
        // once, and is removed from it right after being produced.
        let produced = unsafe { self.rings.fill_produce(&self.fill_stash[from..]) };
        if produced == room {
            self.fill_stash.truncate(from);
        }
    }
}

#[cfg(test)]
mod tests;
