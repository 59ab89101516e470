//! The sender's SACK scoreboard (RFC 6675 §3–§4): what the peer has
//! reported holding above SND.UNA, kept across ACKs (an ACK repeats only
//! its three or four most recent blocks, RFC 2018 §4), and the three
//! questions loss recovery asks of it — IsLost, pipe and NextSeg. RACK
//! (`rack.rs`) marks holes lost by time as well: IsLost is true below
//! either bound.
//!
//! It lives in the connection's loss record (see `spurious::Pool`), not
//! in the TCB: only a connection the peer has SACKed holds one.

use crate::wire::{SackBlocks, SeqNumber};

/// RFC 6675 §2's DupThresh.
const DUP_THRESH: u32 = 3;

/// SACKed ranges kept at most; beyond, the highest are forgotten (the
/// holes near SND.UNA are the ones recovery repairs first, and a
/// forgotten range is only retransmitted needlessly, never lost).
const MAX_RANGES: usize = 8;

/// Disjoint SACKed ranges above SND.UNA, in sequence order.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Scoreboard {
    ranges: [(SeqNumber, SeqNumber); MAX_RANGES],
    len: u8,
    /// Below it, every unSACKed octet is lost by RACK's clock (RFC 8985
    /// §6.2 step 5), whatever is SACKed above it.
    rack_lost: Option<SeqNumber>,
}

impl Scoreboard {
    #[inline]
    fn ranges(&self) -> &[(SeqNumber, SeqNumber)] {
        &self.ranges[..usize::from(self.len)]
    }

    /// Nothing SACKed above SND.UNA.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `seq` is SACKed.
    #[inline]
    pub fn covers(&self, seq: SeqNumber) -> bool {
        self.ranges().iter().any(|&(l, r)| l <= seq && seq < r)
    }

    /// The end of the highest SACKed range.
    #[inline]
    pub fn high(&self) -> Option<SeqNumber> {
        self.ranges().last().map(|&(_, r)| r)
    }

    /// Whether anything at or beyond `seq` is SACKed.
    #[inline]
    pub fn sacked_beyond(&self, seq: SeqNumber) -> bool {
        self.ranges().last().is_some_and(|&(_, r)| r > seq)
    }

    /// RACK found every unSACKed octet below `seq` lost (RFC 8985 §6.2
    /// step 5): a mark that stays until SND.UNA passes it.
    pub fn mark_lost_below(&mut self, seq: SeqNumber) {
        if self.rack_lost.is_none_or(|b| seq > b) {
            self.rack_lost = Some(seq);
        }
    }

    /// The octets SACKed above SND.UNA.
    pub fn sacked_bytes(&self) -> u32 {
        self.ranges().iter().map(|&(l, r)| (r - l) as u32).sum()
    }

    /// The SACKed octets in [`from`, `to`).
    pub fn sacked_between(&self, from: SeqNumber, to: SeqNumber) -> u32 {
        let mut n = 0;
        for &(l, r) in self.ranges() {
            let (a, b) = (if l > from { l } else { from }, if r < to { r } else { to });
            if b > a {
                n += (b - a) as u32;
            }
        }
        n
    }

    /// Where the SACKed range holding `seq` ends, or else where the next
    /// one above it begins: `Ok(end)` or `Err(next start)`.
    pub fn around(&self, seq: SeqNumber) -> Result<SeqNumber, Option<SeqNumber>> {
        for &(l, r) in self.ranges() {
            if seq < l {
                return Err(Some(l));
            }
            if seq < r {
                return Ok(r);
            }
        }
        Err(None)
    }

    /// The first unSACKed sequence number in [`from`, `to`), if any.
    pub fn first_unsacked(&self, from: SeqNumber, to: SeqNumber) -> Option<SeqNumber> {
        let mut at = from;
        for &(l, r) in self.ranges() {
            if at < l {
                break;
            }
            if at < r {
                at = r;
            }
        }
        (at < to).then_some(at)
    }

    /// Forgets everything below `una` (the cumulative ACK).
    pub fn trim(&mut self, una: SeqNumber) {
        if self.rack_lost.is_some_and(|b| b <= una) {
            self.rack_lost = None;
        }
        let mut kept = 0;
        for i in 0..usize::from(self.len) {
            let (l, r) = self.ranges[i];
            if r <= una {
                continue;
            }
            self.ranges[kept] = (if l < una { una } else { l }, r);
            kept += 1;
        }
        self.len = kept as u8;
    }

    /// Takes an ACK's blocks (RFC 6675 §5 step (C)'s scoreboard update):
    /// those within [`una`, `snd_max`) merge into the ranges; `skip_first`
    /// leaves out a D-SACK block, which reports no new data.
    pub fn update(
        &mut self,
        una: SeqNumber,
        snd_max: SeqNumber,
        sack: &SackBlocks,
        skip_first: bool,
    ) {
        self.trim(una);
        for &(l, r) in sack.as_slice().iter().skip(usize::from(skip_first)) {
            if l >= una && r <= snd_max && l < r {
                self.insert(l, r);
            }
        }
    }

    fn insert(&mut self, mut l: SeqNumber, mut r: SeqNumber) {
        let mut out = [(SeqNumber(0), SeqNumber(0)); MAX_RANGES + 1];
        let mut n = 0;
        let mut placed = false;
        for &(a, b) in self.ranges() {
            if b < l {
                out[n] = (a, b);
                n += 1;
            } else if r < a {
                if !placed {
                    out[n] = (l, r);
                    n += 1;
                    placed = true;
                }
                out[n] = (a, b);
                n += 1;
            } else {
                // Overlapping or adjacent: merge into the new range.
                if a < l {
                    l = a;
                }
                if b > r {
                    r = b;
                }
            }
        }
        if !placed {
            out[n] = (l, r);
            n += 1;
        }
        let n = n.min(MAX_RANGES);
        self.ranges[..n].copy_from_slice(&out[..n]);
        self.len = n as u8;
    }

    /// The point below which every unSACKed octet is lost by RFC 6675
    /// §4's IsLost: more than (DupThresh − 1)·SMSS bytes SACKed above it.
    /// None when nothing is lost.
    fn lost_below(&self, smss: u32) -> Option<SeqNumber> {
        let need = (DUP_THRESH - 1) * smss;
        let mut above = 0u32;
        let mut dup_thresh = None;
        for &(l, r) in self.ranges().iter().rev() {
            let len = (r - l) as u32;
            if above + len > need {
                dup_thresh = Some(r - (need - above));
                break;
            }
            above += len;
        }
        match (dup_thresh, self.rack_lost) {
            (Some(a), Some(b)) => Some(if a > b { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// RFC 6675 §4 IsLost(`seq`).
    #[inline]
    pub fn is_lost(&self, seq: SeqNumber, smss: u32) -> bool {
        self.lost_below(smss).is_some_and(|b| seq < b)
    }

    /// RFC 6675 §4 SetPipe: the octets in [`una`, `snd_max`) thought to
    /// be in the network — each unSACKed one not lost counts once, and
    /// each retransmitted one (below `high_rxt`) once more.
    pub fn pipe(&self, una: SeqNumber, snd_max: SeqNumber, high_rxt: SeqNumber, smss: u32) -> u32 {
        let lost = self.lost_below(smss).unwrap_or(una);
        let mut pipe = 0u32;
        let mut at = una;
        let count = |a: SeqNumber, b: SeqNumber| -> u32 {
            // Unsacked [a, b): not-lost part once, retransmitted part once.
            let span = |lo: SeqNumber, hi: SeqNumber| -> u32 {
                let (lo2, hi2) = (if lo > a { lo } else { a }, if hi < b { hi } else { b });
                if hi2 > lo2 {
                    (hi2 - lo2) as u32
                } else {
                    0
                }
            };
            span(lost, snd_max) + span(una, high_rxt)
        };
        for &(l, r) in self.ranges() {
            if l > at {
                pipe += count(at, l);
            }
            at = r;
        }
        if snd_max > at {
            pipe += count(at, snd_max);
        }
        pipe
    }

    /// RFC 6675 §4 NextSeg (1): the first unSACKed sequence number at or
    /// above `from` that IsLost, and how far its hole goes (to the next
    /// SACKed range). None when no lost hole is left there.
    pub fn next_lost(&self, from: SeqNumber, smss: u32) -> Option<(SeqNumber, u32)> {
        let bound = self.lost_below(smss)?;
        let mut at = from;
        for &(l, r) in self.ranges() {
            if at < l {
                return (at < bound).then(|| (at, (l - at) as u32));
            }
            if at < r {
                at = r;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 100;

    fn s(n: u32) -> SeqNumber {
        SeqNumber(1000 + n * MSS)
    }

    fn board(ranges: &[(u32, u32)]) -> Scoreboard {
        let mut b = Scoreboard::default();
        for &(l, r) in ranges {
            let mut sack = SackBlocks::default();
            sack.push(s(l), s(r));
            b.update(s(0), s(20), &sack, false);
        }
        b
    }

    #[test]
    fn rfc6675_3_ranges_merge_and_persist_across_acks() {
        let b = board(&[(2, 3), (5, 6), (3, 5), (8, 9)]);
        assert_eq!(b.ranges(), &[(s(2), s(6)), (s(8), s(9))]);
        let mut b = b;
        b.trim(s(4));
        assert_eq!(b.ranges(), &[(s(4), s(6)), (s(8), s(9))]);
    }

    #[test]
    fn rfc6675_4_is_lost_needs_more_than_two_segments_sacked_above() {
        let b = board(&[(1, 3)]);
        assert!(!b.is_lost(s(0), MSS), "two segments above: not yet");
        let b = board(&[(1, 3), (4, 5)]);
        assert!(b.is_lost(s(0), MSS));
        assert!(
            !b.is_lost(s(3), MSS),
            "only one segment above the second hole"
        );
    }

    #[test]
    fn rfc6675_4_pipe_counts_unsacked_not_lost_once_and_retransmitted_again() {
        // 0 lost (3 SACKed above), 1..4 SACKed, 4..10 in flight.
        let b = board(&[(1, 4)]);
        assert_eq!(b.pipe(s(0), s(10), s(0), MSS), 6 * MSS);
        assert_eq!(
            b.pipe(s(0), s(10), s(1), MSS),
            7 * MSS,
            "hole 0 retransmitted"
        );
    }

    #[test]
    fn rfc6675_4_next_seg_is_the_first_lost_hole_at_or_above_high_rxt() {
        let b = board(&[(1, 2), (3, 4), (6, 9)]);
        assert_eq!(b.next_lost(s(0), MSS), Some((s(0), MSS)));
        assert_eq!(b.next_lost(s(1), MSS), Some((s(2), MSS)));
        assert_eq!(b.next_lost(s(3), MSS), Some((s(4), 2 * MSS)));
        assert_eq!(
            b.next_lost(s(6), MSS),
            None,
            "nothing lost above the last range"
        );
    }
}
