//! A batch of frames in one buffer: what a receive ring hands the engine and
//! what the engine hands a transmit ring.
//!
//! A batch may be lent [`Slots`]: memory that whoever transmits the frames
//! owns (the io layer lends its UMEM transmit frames), so that the engine
//! writes each frame where the NIC reads it and transmitting copies
//! nothing. The engine sees the same batch either way.

use std::any::Any;

/// Fixed-size slots a [`FrameBatch`] writes its frames into, in place, one
/// frame a slot, in order, lent by whoever transmits them.
pub trait Slots: Any + Send {
    /// A slot for the next frame, at least `max_len` bytes long (its bytes
    /// past what the frame uses are scratch), or `None` when none is left or
    /// a slot is too small: that frame and the rest go in the batch's own
    /// buffer.
    fn next_slot(&mut self, max_len: usize) -> Option<&mut [u8]>;

    /// The frame just written into the slot [`next_slot`](Self::next_slot)
    /// gave is `len` bytes long.
    fn commit(&mut self, len: usize);

    /// Frame `i` of those committed since the last [`clear`](Self::clear).
    fn frame(&self, i: usize) -> &[u8];

    /// Forgets the frames: their slots are free for the next ones.
    fn clear(&mut self);

    /// For the lender, to find its own slots again.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Frames laid end to end in one reusable buffer, so that filling a batch
/// allocates nothing once it has grown to its working size; the first ones
/// in lent [`Slots`] while they last.
#[derive(Default)]
pub struct FrameBatch {
    /// Never shrinks: bytes past `used` are scratch, so a push neither
    /// zero-fills nor truncates once the buffer has grown.
    bytes: Vec<u8>,
    /// A `u32`, as the frames' starts are: a frame's end, its start plus
    /// a header's length, then cannot wrap, and indexing tests one bound.
    used: u32,
    /// Per frame: where it starts in `bytes` (0 for frames in slots) and
    /// its length.
    frames: Vec<(u32, u32)>,
    slots: Option<Box<dyn Slots>>,
    /// The leading frames that are in `slots`, frame `i` in its slot `i`.
    in_slots: usize,
}

impl FrameBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `frames` frames of `frame_size` bytes.
    pub fn with_capacity(frames: usize, frame_size: usize) -> Self {
        FrameBatch {
            bytes: vec![0; frames * frame_size],
            frames: Vec::with_capacity(frames),
            ..Self::default()
        }
    }

    /// An empty batch whose frames go into `slots` while they last, then
    /// into its own buffer, which starts with room for `frames` frames of
    /// `frame_size` bytes.
    pub fn lent(slots: Box<dyn Slots>, frames: usize, frame_size: usize) -> Self {
        FrameBatch {
            slots: Some(slots),
            ..Self::with_capacity(frames, frame_size)
        }
    }

    /// Appends a frame written by `write`, which gets `max_len` bytes of
    /// scratch (not zeroed) and returns how many it used. Inlined always:
    /// a frame writer's fields then go from where the caller keeps them
    /// straight into the frame, never through a closure in memory.
    #[inline(always)]
    pub fn push_with(&mut self, max_len: usize, write: impl FnOnce(&mut [u8]) -> usize) {
        // Only while every frame so far is in a slot: the frames stay in
        // order, those in slots first.
        let slot = match self.slots.as_mut() {
            Some(slots) if self.in_slots == self.frames.len() => slots.next_slot(max_len),
            _ => None,
        };
        let in_slot = slot.is_some();
        let start = self.used as usize;
        let end = start + max_len;
        // One call of `write` whichever buffer it fills, so that it is
        // inlined once rather than outlined for two call sites.
        let buf = match slot {
            Some(buf) => &mut buf[..max_len],
            // Apart from growing, where the bound just tested is all the
            // slice needs: no second test.
            None if end <= self.bytes.len() => &mut self.bytes[start..end],
            None => {
                self.bytes.resize(end.max(2 * self.bytes.len()), 0);
                &mut self.bytes[start..end]
            }
        };
        let len = write(buf).min(max_len);
        if in_slot {
            if let Some(slots) = self.slots.as_mut() {
                slots.commit(len);
            }
            self.frames.push((0, len as u32));
            self.in_slots += 1;
        } else {
            // Read again rather than kept across `write`: nothing is left
            // on the stack for the common case.
            let start = self.used;
            self.used = start + len as u32;
            self.frames.push((start, len as u32));
        }
    }

    /// Appends a copy of `frame`.
    pub fn push(&mut self, frame: &[u8]) {
        self.push_with(frame.len(), |buf| {
            buf.copy_from_slice(frame);
            frame.len()
        });
    }

    /// Frame `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let &(start, len) = self.frames.get(i)?;
        if i < self.in_slots {
            return self.slots.as_ref().map(|s| s.frame(i));
        }
        self.bytes.get(start as usize..(start + len) as usize)
    }

    /// The frames in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.frames
            .iter()
            .enumerate()
            .map(move |(i, &(start, len))| match &self.slots {
                Some(slots) if i < self.in_slots => slots.frame(i),
                // Summed as usize, where two u32s cannot wrap: the slice's
                // start ≤ end check folds away.
                _ => &self.bytes[start as usize..start as usize + len as usize],
            })
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Empties the batch, keeping its allocations (and its slots).
    pub fn clear(&mut self) {
        self.used = 0;
        self.frames.clear();
        self.in_slots = 0;
        if let Some(s) = self.slots.as_mut() {
            s.clear();
        }
    }

    /// How many leading frames are in the lent slots, and the slots: for
    /// the lender, which transmits those frames from where they are. It
    /// must [`forget_slotted`](Self::forget_slotted) them once they are
    /// gone.
    pub fn slotted(&mut self) -> (usize, Option<&mut dyn Slots>) {
        (self.in_slots, self.slots.as_deref_mut())
    }

    /// Drops the frames in slots from the batch (the lender has taken them
    /// and cleared its slots); the frames in the batch's own buffer stay,
    /// numbered from 0.
    pub fn forget_slotted(&mut self) {
        self.frames.drain(..self.in_slots);
        self.in_slots = 0;
    }
}

/// A copy whose frames are all in its own buffer: lent slots have one owner.
impl Clone for FrameBatch {
    fn clone(&self) -> Self {
        let mut copy = FrameBatch::with_capacity(0, 0);
        for frame in self.iter() {
            copy.push(frame);
        }
        copy
    }
}

impl std::fmt::Debug for FrameBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameBatch")
            .field("frames", &self.frames.len())
            .field("in_slots", &self.in_slots)
            .field("lent", &self.slots.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_in_order_and_exact_length() {
        let mut b = FrameBatch::new();
        b.push(&[1, 2, 3]);
        b.push_with(10, |buf| {
            buf[..2].copy_from_slice(&[9, 9]);
            2
        });
        let frames: Vec<&[u8]> = b.iter().collect();
        assert_eq!(frames, vec![&[1u8, 2, 3][..], &[9, 9][..]]);
        assert_eq!(b.get(1), Some(&[9u8, 9][..]));
        b.clear();
        assert!(b.is_empty());
    }

    /// `count` slots of `size` bytes on the heap, as a lender's would be.
    struct HeapSlots {
        slots: Vec<Vec<u8>>,
        lens: Vec<usize>,
    }

    impl Slots for HeapSlots {
        fn next_slot(&mut self, max_len: usize) -> Option<&mut [u8]> {
            let i = self.lens.len();
            let slot = self.slots.get_mut(i).filter(|s| s.len() >= max_len)?;
            Some(slot.as_mut_slice())
        }
        fn commit(&mut self, len: usize) {
            self.lens.push(len);
        }
        fn frame(&self, i: usize) -> &[u8] {
            &self.slots[i][..self.lens[i]]
        }
        fn clear(&mut self) {
            self.lens.clear();
        }
        fn as_any_mut(&mut self) -> &mut dyn Any {
            self
        }
    }

    fn lent(count: usize, size: usize) -> FrameBatch {
        let slots = HeapSlots {
            slots: vec![vec![0; size]; count],
            lens: Vec::new(),
        };
        FrameBatch::lent(Box::new(slots), 4, 16)
    }

    #[test]
    fn lent_slots_take_the_leading_frames_and_the_rest_overflow_in_order() {
        let mut b = lent(2, 8);
        for f in [&[1u8][..], &[2, 2], &[3, 3, 3]] {
            b.push(f);
        }
        assert_eq!(b.slotted().0, 2);
        let frames: Vec<&[u8]> = b.iter().collect();
        assert_eq!(frames, vec![&[1u8][..], &[2, 2], &[3, 3, 3]]);
        // The slots really hold them.
        let (n, slots) = b.slotted();
        let slots = slots.expect("lent");
        assert_eq!((n, slots.frame(1)), (2, &[2u8, 2][..]));
        // Gone to the lender: the overflow is what is left.
        b.forget_slotted();
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![&[3u8, 3, 3][..]]);
        b.clear();
        b.push(&[4]);
        assert_eq!((b.slotted().0, b.get(0)), (1, Some(&[4u8][..])));
    }

    #[test]
    fn a_frame_larger_than_a_slot_and_all_after_it_go_in_the_own_buffer() {
        let mut b = lent(4, 4);
        b.push(&[1, 1]);
        b.push(&[2; 6]);
        b.push(&[3]);
        assert_eq!(b.slotted().0, 1);
        let frames: Vec<&[u8]> = b.iter().collect();
        assert_eq!(frames, vec![&[1u8, 1][..], &[2; 6], &[3]]);
        // A copy owns its frames.
        let copy = b.clone();
        b.clear();
        let copied: Vec<&[u8]> = copy.iter().collect();
        assert_eq!(copied, vec![&[1u8, 1][..], &[2; 6], &[3]]);
    }
}
