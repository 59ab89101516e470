//! Spurious retransmissions, told by D-SACK (RFC 2883 §4, RFC 3708): the
//! receiver reports a segment it got twice in the first SACK block of its
//! ACK, below the cumulative ACK or inside the second block. A duplicate
//! of what we retransmitted says the retransmission was not needed — the
//! original was late, not lost (reordering, a delayed ACK, an RTO too
//! short). Once every retransmission of a loss episode has been reported
//! so, no segment was lost, and the window reduction it made is undone
//! (as Linux's `tcp_try_undo_dsack`; RFC 3522's Eifel response, with
//! D-SACK in place of timestamps).
//!
//! An episode (a fast recovery, an RTO's go-back-N, a tail loss probe)
//! keeps what undoing needs in a [`Pool`] of the engine, not in the TCB:
//! a connection holds one only from its first retransmission until about
//! a round trip after the episode ended, when any D-SACK for it would
//! have come. The TCB keeps a 16-bit index: beyond 65,535 connections in
//! episodes at once, the others' go without undo (counted as before).

use super::core::Core;
use super::tcb::Tcb;
use crate::wire::{SackBlocks, SeqNumber};

/// The TCB index of no episode.
pub(crate) const NONE: u16 = u16::MAX;

/// One loss episode's undo record.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Episode {
    /// SND.UNA at its first retransmission: duplicates reported at or
    /// above it may be of ours.
    undo_marker: SeqNumber,
    /// Retransmissions not yet reported as duplicates (RFC 3708 §3).
    retrans: u32,
    /// cwnd and ssthresh before the episode reduced them.
    prior_cwnd: u32,
    prior_ssthresh: u32,
    /// SND.MAX once the episode ended: when SND.UNA passes it, a round
    /// trip has gone by and the record is let go.
    ended_at: Option<SeqNumber>,
}

/// The engine's episode records, reused; at most one per live TCB.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    episodes: Vec<Episode>,
    free: Vec<u16>,
}

impl Pool {
    /// A record for `e`; none once `NONE` records are taken, when that
    /// episode goes without undo.
    fn acquire(&mut self, e: Episode) -> u16 {
        if let Some(i) = self.free.pop() {
            self.episodes[usize::from(i)] = e;
            return i;
        }
        if self.episodes.len() >= usize::from(NONE) {
            return NONE;
        }
        self.episodes.push(e);
        self.episodes.len() as u16 - 1
    }

    /// Gives a record back (`NONE` is ignored).
    pub fn release(&mut self, index: u16) {
        if usize::from(index) < self.episodes.len() {
            self.free.push(index);
        }
    }

    /// Records taken now.
    #[cfg(test)]
    pub fn in_use(&self) -> usize {
        self.episodes.len() - self.free.len()
    }
}

/// The D-SACK block of an ACK (RFC 2883 §4): the first block, where it
/// lies below the cumulative ACK or within the second block.
pub(crate) fn dsack(ack: SeqNumber, sack: &SackBlocks) -> Option<(SeqNumber, SeqNumber)> {
    let blocks = sack.as_slice();
    let &(l, r) = blocks.first()?;
    let inside_second = blocks.get(1).is_some_and(|&(l2, r2)| l >= l2 && r <= r2);
    (l < r && (r <= ack || inside_second)).then_some((l, r))
}

impl Core {
    /// A loss episode begins for `tcb` (fast recovery, an RTO, a probe):
    /// unless one is under way, record cwnd and ssthresh as they are, so
    /// call it before reducing them. Without SACK no D-SACK can come, and
    /// nothing is kept.
    pub(crate) fn begin_episode(&mut self, tcb: &mut Tcb) {
        if !tcb.sack_ok {
            return;
        }
        if let Some(e) = self.episodes.episodes.get(usize::from(tcb.episode)) {
            if e.ended_at.is_none() {
                return;
            }
            // A new episode: the old one's duplicates are past.
            self.episodes.release(tcb.episode);
        }
        tcb.episode = self.episodes.acquire(Episode {
            undo_marker: tcb.snd_una,
            retrans: 0,
            prior_cwnd: tcb.cwnd,
            prior_ssthresh: tcb.ssthresh,
            ended_at: None,
        });
    }

    /// A segment of `tcb` went out again: one more of its episode's
    /// retransmissions that a D-SACK may show were not needed.
    #[inline]
    pub(crate) fn retransmitted(&mut self, tcb: &Tcb) {
        if let Some(e) = self.episodes.episodes.get_mut(usize::from(tcb.episode)) {
            e.retrans += 1;
        }
    }

    /// An ACK arrived for `tcb`, cumulative to `ack`, with `sack` blocks:
    /// a D-SACK of our retransmissions counts them as spurious, and once
    /// all of an episode's are, its window reduction is undone. Returns
    /// whether the ACK carried a D-SACK.
    pub(crate) fn take_dsack(&mut self, tcb: &mut Tcb, ack: SeqNumber, sack: &SackBlocks) -> bool {
        let Some((left, right)) = dsack(ack, sack) else {
            return false;
        };
        self.stats.dsacks_received += 1;
        let Some(e) = self.episodes.episodes.get_mut(usize::from(tcb.episode)) else {
            return true;
        };
        if left < e.undo_marker || right > tcb.snd_max || e.retrans == 0 {
            return true; // not of ours (the network's duplicate), or none left
        }
        let smss = u32::from(tcb.snd_mss).max(1);
        let segments = ((right - left) as u32).div_ceil(smss).min(e.retrans);
        e.retrans -= segments;
        self.stats.spurious_retransmits += u64::from(segments);
        if e.retrans == 0 {
            // Nothing was lost: back to the window before the episode.
            tcb.cwnd = tcb.cwnd.max(e.prior_cwnd);
            tcb.ssthresh = tcb.ssthresh.max(e.prior_ssthresh);
            tcb.in_recovery = false;
            self.stats.undos += 1;
            self.episodes.release(tcb.episode);
            tcb.episode = NONE;
        }
        true
    }

    /// SND.UNA advanced for `tcb`: an episode that has ended is noted, and
    /// let go a round trip later.
    pub(crate) fn age_episode(&mut self, tcb: &mut Tcb) {
        let Some(e) = self.episodes.episodes.get_mut(usize::from(tcb.episode)) else {
            return;
        };
        match e.ended_at {
            None if !tcb.in_recovery && !tcb.tlp_sent && tcb.retries == 0 => {
                e.ended_at = Some(tcb.snd_max);
            }
            Some(end) if tcb.snd_una > end => {
                self.episodes.release(tcb.episode);
                tcb.episode = NONE;
            }
            _ => {}
        }
    }

    /// Gives `tcb`'s episode record back, if it holds one.
    #[inline]
    pub(crate) fn release_episode(&mut self, tcb: &mut Tcb) {
        self.episodes.release(tcb.episode);
        tcb.episode = NONE;
    }
}
