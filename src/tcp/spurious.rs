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
//! keeps what undoing needs in a loss record from a [`Pool`] of the
//! engine, not in the TCB, beside the connection's SACK scoreboard
//! (`scoreboard.rs`): a connection holds a record while the peer reports
//! SACKed data above SND.UNA, and from an episode's first retransmission
//! until about a round trip after it ended, when any D-SACK for it would
//! have come — or, where nothing is outstanding by then, until the next
//! segment from the peer after the ACK that ended it (the one a late
//! duplicate's D-SACK rides on), or an RTO after that ACK if the peer
//! stays quiet, and at the latest until the connection leaves for
//! TIME-WAIT or ends. The TCB keeps a 16-bit index: beyond
//! 65,535 connections holding records at once, the others go without —
//! no RACK transmit times, no scoreboard (NewReno recovery) and no undo —
//! counted in `recovery_pool_full`.

use super::core::Core;
use super::rack::{AckView, Rack};
use super::scoreboard::Scoreboard;
use super::tcb::{Tcb, TimerRole};
use super::Instant;
use crate::wire::{SackBlocks, SeqNumber, TcpOptions};

/// The TCB index of no episode.
pub(crate) const NONE: u16 = u16::MAX;

/// One connection's loss record: its scoreboard, and its last episode's
/// undo record.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Episode {
    /// What the peer has SACKed above SND.UNA.
    pub board: Scoreboard,
    /// RACK's transmit times and state (`rack.rs`).
    pub rack: Rack,
    /// The undo fields below are of an episode still to be judged.
    undoing: bool,
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

    /// The record at `index`, if it is one.
    #[inline]
    pub fn record_mut(&mut self, index: u16) -> Option<&mut Episode> {
        self.episodes.get_mut(usize::from(index))
    }

    /// The bytes the pool holds at its largest under `max_tcbs`: a record
    /// and a free-list entry for each it may lend (one per live TCB,
    /// `NONE` in all).
    pub fn max_bytes(max_tcbs: usize) -> usize {
        max_tcbs.min(usize::from(NONE))
            * (core::mem::size_of::<Episode>() + core::mem::size_of::<u16>())
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
        let fresh = Episode {
            undoing: true,
            undo_marker: tcb.snd_una,
            retrans: 0,
            prior_cwnd: tcb.cwnd,
            prior_ssthresh: tcb.ssthresh,
            ended_at: None,
            board: Scoreboard::default(),
            rack: Rack::default(),
        };
        match self.episodes.episodes.get_mut(usize::from(tcb.episode)) {
            Some(e) if e.undoing && e.ended_at.is_none() => {}
            // A new episode: the old one's duplicates are past.
            Some(e) => {
                *e = Episode {
                    board: e.board,
                    rack: e.rack,
                    ..fresh
                }
            }
            None => tcb.episode = self.acquire_episode(fresh),
        }
    }

    /// The RTO fired for `tcb`: what the peer SACKed is forgotten, for
    /// the receiver may have reneged on it (RFC 2018 §8, RFC 6675 §5.1),
    /// and the go-back-N resends it all.
    pub(crate) fn clear_board(&mut self, tcb: &Tcb) {
        if let Some(e) = self.episodes.record_mut(tcb.episode) {
            e.board = Scoreboard::default();
            e.rack.forget();
        }
    }

    /// An ACK arrived for `tcb`, cumulative to `ack`, with `options`' SACK
    /// blocks (the first a D-SACK if `dsack`): the scoreboard takes them
    /// (RFC 6675 §5 (C)), from a record taken from the pool at the first,
    /// and RACK what they delivered (RFC 8985 §6.2).
    pub(crate) fn take_sack(
        &mut self,
        tcb: &mut Tcb,
        ack: SeqNumber,
        options: &TcpOptions,
        dsack: bool,
        now: Instant,
    ) {
        if !tcb.sack_ok {
            return;
        }
        let sack = &options.sack;
        let una = if ack > tcb.snd_una { ack } else { tcb.snd_una };
        if tcb.episode == NONE {
            let news = sack.as_slice().iter().skip(usize::from(dsack));
            if !news
                .clone()
                .any(|&(l, r)| l >= una && r <= tcb.snd_max && l < r)
            {
                return;
            }
            tcb.episode = self.acquire_episode(Episode::default());
        }
        if let Some(e) = self.episodes.episodes.get_mut(usize::from(tcb.episode)) {
            let before = e.board;
            e.board.update(una, tcb.snd_max, sack, dsack);
            let view = AckView {
                una_before: tcb.snd_una,
                una,
                snd_max: tcb.snd_max,
                sack,
                dsack,
                tsecr: options.timestamps.map(|(_, ecr)| ecr),
            };
            e.rack_on_ack(tcb, &view, &before, now);
        }
    }

    /// `tcb`'s scoreboard, if the peer has SACKed anything.
    #[inline]
    pub(crate) fn board(&self, tcb: &Tcb) -> Option<&Scoreboard> {
        self.episodes
            .episodes
            .get(usize::from(tcb.episode))
            .map(|e| &e.board)
    }

    /// A segment of `tcb` went out again: one more of its episode's
    /// retransmissions that a D-SACK may show were not needed.
    #[inline]
    pub(crate) fn retransmitted(&mut self, tcb: &Tcb) {
        if let Some(e) = self.episodes.episodes.get_mut(usize::from(tcb.episode)) {
            e.retrans += u32::from(e.undoing);
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
        e.rack.on_dsack(tcb.snd_max);
        if !e.undoing || left < e.undo_marker || right > tcb.snd_max || e.retrans == 0 {
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
            e.undoing = false;
            if e.board.is_empty() && !e.rack.holds_marks() {
                self.release_episode(tcb);
            }
        }
        true
    }

    /// SND.UNA advanced for `tcb`: the scoreboard forgets what it passed;
    /// an episode that has ended is noted, and let go a round trip later;
    /// a record with neither left goes back to the pool.
    pub(crate) fn age_episode(&mut self, tcb: &mut Tcb) {
        let Some(e) = self.episodes.episodes.get_mut(usize::from(tcb.episode)) else {
            return;
        };
        e.board.trim(tcb.snd_una);
        match e.ended_at {
            _ if !e.undoing => {}
            None if !tcb.in_recovery && !tcb.tlp_sent && tcb.retries == 0 => {
                e.ended_at = Some(tcb.snd_max);
            }
            Some(end) if tcb.snd_una > end => e.undoing = false,
            _ => {}
        }
        if !e.undoing && e.board.is_empty() && !tcb.in_recovery && !e.rack.holds_marks() {
            self.release_episode(tcb);
        }
    }

    /// A record for `e` from the pool, or `NONE` (counted) when all are
    /// taken.
    pub(crate) fn acquire_episode(&mut self, e: Episode) -> u16 {
        let index = self.episodes.acquire(e);
        if index == NONE {
            self.stats.recovery_pool_full += 1;
        }
        index
    }

    /// A segment arrived for `tcb` with nothing outstanding: an episode
    /// that ended on an earlier ACK has had the ACK a late duplicate's
    /// D-SACK rides on, and no round trip of new data will come to let
    /// it go (an idle keep-alive connection), so it goes now.
    pub(crate) fn settle_episode(&mut self, tcb: &mut Tcb) {
        let Some(e) = self.episodes.episodes.get(usize::from(tcb.episode)) else {
            return;
        };
        let quiet =
            tcb.snd_una == tcb.snd_max && !tcb.in_recovery && !tcb.tlp_sent && tcb.retries == 0;
        if quiet && e.ended_at.is_some() && e.board.is_empty() {
            self.release_episode(tcb);
        }
    }

    /// An ACK left nothing of `tcb` outstanding, its episode ended: the
    /// record waits for a late duplicate's D-SACK, which the peer's next
    /// segment carries (`settle_episode`), but a quiet peer (an idle
    /// keep-alive connection) sends none. The TCB's timer, free with
    /// nothing outstanding, gives the record back an RTO later
    /// (`settle_now`), as RACK's: it has nothing else to time then.
    pub(crate) fn settle_later(&mut self, tcb: &mut Tcb, index: u32, now: Instant) {
        let Some(e) = self.episodes.episodes.get(usize::from(tcb.episode)) else {
            return;
        };
        if !self.armed(tcb) && e.ended_at.is_some() {
            let after = tcb.rtt.rto_us();
            self.arm_us(tcb, index, after, now);
            tcb.timer_role = TimerRole::Reorder;
        }
    }

    /// `settle_later`'s timer fired: if still nothing is outstanding,
    /// the D-SACK had its time, and the record goes.
    pub(crate) fn settle_now(&mut self, tcb: &mut Tcb) {
        let Some(e) = self.episodes.episodes.get(usize::from(tcb.episode)) else {
            return;
        };
        if !tcb.outstanding() && !tcb.in_recovery && e.ended_at.is_some() && e.board.is_empty() {
            self.release_episode(tcb);
        }
    }

    /// Gives `tcb`'s episode record back, if it holds one.
    #[inline]
    pub(crate) fn release_episode(&mut self, tcb: &mut Tcb) {
        self.episodes.release(tcb.episode);
        tcb.episode = NONE;
    }
}
