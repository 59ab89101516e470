//! A batch of frames in one buffer: what a receive ring hands the engine and
//! what the engine hands a transmit ring.

/// Frames laid end to end in one reusable buffer, so that filling a batch
/// allocates nothing once it has grown to its working size.
#[derive(Clone, Debug, Default)]
pub struct FrameBatch {
    /// Never shrinks: bytes past `used` are scratch, so a push neither
    /// zero-fills nor truncates once the buffer has grown.
    bytes: Vec<u8>,
    used: usize,
    frames: Vec<(u32, u32)>,
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
            used: 0,
            frames: Vec::with_capacity(frames),
        }
    }

    /// Appends a frame written by `write`, which gets `max_len` bytes of
    /// scratch (not zeroed) and returns how many it used.
    #[inline]
    pub fn push_with(&mut self, max_len: usize, write: impl FnOnce(&mut [u8]) -> usize) {
        let start = self.used;
        if self.bytes.len() < start + max_len {
            self.bytes
                .resize((start + max_len).max(2 * self.bytes.len()), 0);
        }
        let len = write(&mut self.bytes[start..start + max_len]).min(max_len);
        self.used = start + len;
        self.frames.push((start as u32, len as u32));
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
        self.bytes.get(start as usize..(start + len) as usize)
    }

    /// The frames in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.frames
            .iter()
            .map(move |&(start, len)| &self.bytes[start as usize..(start + len) as usize])
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.used = 0;
        self.frames.clear();
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
}
