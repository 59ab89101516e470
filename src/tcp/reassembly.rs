//! The out-of-order receive queue (RFC 9293 §3.10.7.4 seventh, RFC 5681
//! §4.2, RFC 2018 §4): text above RCV.NXT is kept, not dropped, and handed
//! to the application once the gap below it fills — exactly once, in order.
//!
//! A queue is a ring of a power-of-two size: the byte of sequence number
//! `s` lives at `s mod size`, so writing a segment is one or two copies and
//! nothing ever moves. What the ring holds is up to [`MAX_BLOCKS`] blocks
//! of sequence space, each stamped with when it last grew, which is the
//! order RFC 2018 §4 reports them in.
//!
//! Queues live in a [`Pool`] of the engine, not in the TCB: a connection
//! holds one only while it has a gap (the TCB keeps an index), the pool
//! has at most `reassembly_total / reassembly_buffer` of them, and a
//! released queue keeps its ring for the next connection, so the hot path
//! allocates nothing once the pool has grown.

use crate::wire::{SackBlocks, SeqNumber};

/// The TCB index of no queue.
pub(crate) const NONE: u32 = u32::MAX;

/// Disjoint blocks one queue holds at most; a segment that would make
/// another is dropped (the sender's retransmission fills in later). Linux
/// has no such limit, smoltcp's default is 4; 8 covers the four blocks a
/// SACK option can report and more.
pub(crate) const MAX_BLOCKS: usize = 8;

#[derive(Copy, Clone, Debug)]
struct Block {
    left: SeqNumber,
    right: SeqNumber,
    /// When this block last took a segment: larger is more recent.
    stamp: u32,
}

const EMPTY: Block = Block {
    left: SeqNumber(0),
    right: SeqNumber(0),
    stamp: 0,
};

/// What [`Queue::insert`] did with a segment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Insert {
    /// Kept (wholly or in part).
    Queued,
    /// Nothing new: every byte was held already.
    Duplicate,
    /// Not kept, or cut short: beyond the ring, or one block too many.
    Dropped,
}

/// One connection's out-of-order text.
#[derive(Debug)]
pub(crate) struct Queue {
    ring: Vec<u8>,
    blocks: [Block; MAX_BLOCKS],
    len: u8,
    stamp: u32,
    /// The sequence number of a FIN that arrived beyond a gap.
    fin: Option<SeqNumber>,
}

impl Queue {
    fn new(size: usize) -> Self {
        Queue {
            ring: vec![0; size],
            blocks: [EMPTY; MAX_BLOCKS],
            len: 0,
            stamp: 0,
            fin: None,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.fin = None;
    }

    /// Nothing held: the queue can go back to the pool.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.fin.is_none()
    }

    #[inline]
    fn blocks(&self) -> &[Block] {
        &self.blocks[..usize::from(self.len)]
    }

    #[inline]
    fn mask(&self) -> usize {
        self.ring.len() - 1
    }

    /// Keeps the text `data` at `seq` (and a FIN after it, if `fin`), where
    /// RCV.NXT is `rcv_nxt`: bytes below RCV.NXT or beyond the ring are cut
    /// off, and what overlaps held text merges with it.
    pub fn insert(&mut self, rcv_nxt: SeqNumber, seq: SeqNumber, data: &[u8], fin: bool) -> Insert {
        let skip = (rcv_nxt - seq).max(0) as usize;
        if skip >= data.len() && !(fin && data.len() == skip) {
            return Insert::Duplicate;
        }
        let skip = skip.min(data.len());
        let left = seq + skip as u32;
        // The ring holds [RCV.NXT, RCV.NXT + size): its slots are reused
        // for the next lap only once RCV.NXT has passed them.
        let room = (self.ring.len() as i64 - (left - rcv_nxt) as i64).max(0) as usize;
        let take = (data.len() - skip).min(room);
        let cut = take < data.len() - skip;
        let right = left + take as u32;
        let fin = fin && !cut;
        if take == 0 {
            if fin && self.fin.is_none() {
                self.fin = Some(right);
                return Insert::Queued;
            }
            return if cut {
                Insert::Dropped
            } else {
                Insert::Duplicate
            };
        }
        // Merge with every block it overlaps or touches.
        let (mut l, mut r) = (left, right);
        let mut merged = false;
        let mut covered = false;
        let mut i = 0;
        while i < usize::from(self.len) {
            let b = self.blocks[i];
            if b.left <= r && l <= b.right {
                covered |= b.left <= left && right <= b.right;
                if b.left < l {
                    l = b.left;
                }
                if b.right > r {
                    r = b.right;
                }
                merged = true;
                self.len -= 1;
                self.blocks[i] = self.blocks[usize::from(self.len)];
            } else {
                i += 1;
            }
        }
        if !merged && usize::from(self.len) == MAX_BLOCKS {
            return Insert::Dropped;
        }
        self.stamp = self.stamp.wrapping_add(1);
        self.blocks[usize::from(self.len)] = Block {
            left: l,
            right: r,
            stamp: self.stamp,
        };
        self.len += 1;
        if !covered {
            let bytes = &data[skip..skip + take];
            let at = left.0 as usize & self.mask();
            let first = bytes.len().min(self.ring.len() - at);
            self.ring[at..at + first].copy_from_slice(&bytes[..first]);
            self.ring[..bytes.len() - first].copy_from_slice(&bytes[first..]);
        }
        if fin {
            self.fin = Some(right);
        }
        if cut {
            Insert::Dropped
        } else if covered && !fin {
            Insert::Duplicate
        } else {
            Insert::Queued
        }
    }

    /// Takes the text that now follows RCV.NXT `rcv_nxt`, if the gap
    /// below a block has filled: the block's bytes from RCV.NXT on, as
    /// one or two slices of the ring (it may wrap), and its right edge,
    /// the new RCV.NXT. Blocks wholly below RCV.NXT are forgotten.
    pub fn take(&mut self, rcv_nxt: SeqNumber) -> Option<(SeqNumber, &[u8], &[u8])> {
        let mut found = None;
        let mut i = 0;
        while i < usize::from(self.len) {
            let b = self.blocks[i];
            if b.right <= rcv_nxt {
                self.len -= 1;
                self.blocks[i] = self.blocks[usize::from(self.len)];
            } else {
                if b.left <= rcv_nxt {
                    found = Some(b.right);
                    self.len -= 1;
                    self.blocks[i] = self.blocks[usize::from(self.len)];
                    continue;
                }
                i += 1;
            }
        }
        if self.fin.is_some_and(|f| f < rcv_nxt) {
            self.fin = None;
        }
        let right = found?;
        let n = (right - rcv_nxt) as u32 as usize;
        let at = rcv_nxt.0 as usize & self.mask();
        let first = n.min(self.ring.len() - at);
        Some((right, &self.ring[at..at + first], &self.ring[..n - first]))
    }

    /// A FIN held beyond the gap, now that RCV.NXT has reached it.
    #[inline]
    pub fn fin_at(&self, rcv_nxt: SeqNumber) -> bool {
        self.fin == Some(rcv_nxt)
    }

    /// Up to `max` SACK blocks (RFC 2018 §4): the most recently grown
    /// first — it holds the segment that triggered this ACK — then the
    /// others, most recent first, so that each block is reported in
    /// several ACKs in case some are lost.
    pub fn sack(&self, max: usize) -> SackBlocks {
        let mut order = [0u8; MAX_BLOCKS];
        let n = usize::from(self.len);
        for (i, o) in order.iter_mut().enumerate().take(n) {
            *o = i as u8;
        }
        let blocks = self.blocks();
        order[..n].sort_unstable_by_key(|&i| core::cmp::Reverse(blocks[usize::from(i)].stamp));
        let mut out = SackBlocks::default();
        for &i in order.iter().take(n.min(max)) {
            let b = blocks[usize::from(i)];
            out.push(b.left, b.right);
        }
        out
    }
}

/// The engine's queues: bounded in number, reused, allocated on first use.
#[derive(Debug)]
pub(crate) struct Pool {
    queues: Vec<Queue>,
    free: Vec<u32>,
    max: usize,
    size: usize,
}

impl Pool {
    /// Queues of `size` bytes (rounded up to a power of two), `total`
    /// bytes of them at most; none when `total` is below one.
    pub fn new(size: usize, total: usize) -> Self {
        let size = size.max(1).next_power_of_two();
        Pool {
            queues: Vec::new(),
            free: Vec::new(),
            max: total / size,
            size,
        }
    }

    /// A queue for a connection with a gap, if the total allows one.
    pub fn acquire(&mut self) -> Option<u32> {
        if let Some(i) = self.free.pop() {
            return Some(i);
        }
        if self.queues.len() >= self.max {
            return None;
        }
        self.queues.push(Queue::new(self.size));
        Some(self.queues.len() as u32 - 1)
    }

    /// Gives a queue back (`NONE` is ignored), its text forgotten.
    pub fn release(&mut self, index: u32) {
        if let Some(q) = self.queues.get_mut(index as usize) {
            q.clear();
            self.free.push(index);
        }
    }

    #[inline]
    pub fn get(&self, index: u32) -> Option<&Queue> {
        self.queues.get(index as usize)
    }

    #[inline]
    pub fn get_mut(&mut self, index: u32) -> Option<&mut Queue> {
        self.queues.get_mut(index as usize)
    }

    /// Queues taken now.
    #[cfg(test)]
    pub fn in_use(&self) -> usize {
        self.queues.len() - self.free.len()
    }
}
