//! RACK's time-based loss detection (RFC 8985 §6): a segment is lost once
//! a segment sent after it has been delivered and a round trip plus a
//! reordering window has passed since it went — without waiting for
//! DupThresh segments SACKed above it, which the tail of a response never
//! has, nor for the RTO.
//!
//! The send queue is bytes, with no per-segment record, so the transmit
//! times RACK needs are kept apart, in the connection's loss record
//! (`spurious::Pool`, outside the TCB), and only by a connection that has
//! more than one segment in flight (a one-segment response has nothing
//! sent after it to be delivered first; the tail loss probe covers it):
//! - first transmissions: a mark (start sequence number, time) per burst
//!   of new data. What one engine turn sends shares a mark, as Linux's
//!   TSO segments share a timestamp. A bounded ring: when it is full, the
//!   two marks sent closest together become one, at the later time, so a
//!   segment may only be taken as sent later than it was — detection
//!   waits a little longer, never less;
//! - retransmissions: the few most recent, each with its time and TSval.
//!
//! First transmissions go in sequence order, so "sent before the newest
//! delivered segment" is a prefix of the sequence space, and so is "lost"
//! (times grow along it): RACK's verdict is one bound on the scoreboard
//! (`Scoreboard::mark_lost_below`), below which every unSACKed octet is
//! lost, and RFC 6675's pipe and NextSeg take it from there.

use super::core::{ts_val, Core};
use super::scoreboard::Scoreboard;
use super::spurious::{Episode, NONE};
use super::tcb::{flag, ts_older, Tcb};
use super::{FrameBatch, Instant};
use crate::wire::{SackBlocks, SeqNumber};

/// Retransmissions watched at once; an older one beyond is left to the RTO.
const SLOTS: usize = 4;

/// Transmit-time marks of first transmissions kept at once.
const MARKS: usize = 16;

/// RFC 8985 §6.2 step 4: DupThresh, and the recoveries without D-SACK
/// after which a widened reordering window goes back to its base.
const DUP_THRESH: u32 = 3;
const REO_WND_PERSIST: u8 = 16;

/// The engine's clock as RACK keeps it: microseconds, wrapping (a 32-bit
/// count spans 71 minutes; only differences of seconds are taken).
#[inline]
fn micros(now: Instant) -> u32 {
    now.as_micros() as u32
}

/// `a` is later than `b` on the wrapping clock.
#[inline]
fn later(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// RFC 8985's RACK_sent_after: a segment sent at `t1` ending at `e1` went
/// after one sent at `t2` ending at `e2` (a tie broken by sequence).
#[inline]
fn sent_after(t1: u32, e1: SeqNumber, t2: u32, e2: SeqNumber) -> bool {
    later(t1, t2) || (t1 == t2 && e1 > e2)
}

#[derive(Copy, Clone, Debug, Default)]
struct Mark {
    /// New data from here on (to the next mark, or SND.MAX) first went…
    seq: SeqNumber,
    /// …at this time, in µs: RFC 8985's xmit_ts.
    sent_us: u32,
}

#[derive(Copy, Clone, Debug, Default)]
struct Watched {
    seq: SeqNumber,
    end: SeqNumber,
    /// When it went, in µs: RFC 8985's xmit_ts.
    sent_us: u32,
    /// Its TSval: an ACK echoing an older one answers the original.
    tsval: u32,
    /// SND.MAX when it went: SACKed data beyond was sent after it.
    after: SeqNumber,
    live: bool,
    /// Found lost (RFC 8985 §6.2 step 5): to be sent again.
    lost: bool,
}

/// What RACK keeps for one connection.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Rack {
    marks: [Mark; MARKS],
    len: u8,
    rtx: [Watched; SLOTS],
    next: u8,
    /// RACK.xmit_ts and RACK.end_seq: the most recently sent segment
    /// known delivered; None before any (or after an RTO).
    newest: Option<(u32, SeqNumber)>,
    /// RACK.rtt, µs: the round trip of that segment.
    rtt_us: u32,
    /// RACK.min_RTT, µs, of this record's samples; 0 before any.
    min_rtt_us: u32,
    /// RACK.fack: the highest sequence number known delivered.
    fack: Option<SeqNumber>,
    /// RACK.reordering_seen: a segment was delivered below RACK.fack
    /// without having been retransmitted.
    reordering_seen: bool,
    /// RACK.reo_wnd_mult less one: rounds that saw a D-SACK.
    reo_wnd_extra: u8,
    /// RACK.reo_wnd_persist: recoveries until the multiplier resets.
    reo_wnd_persist: u8,
    /// RACK.dsack_round: SND.MAX when the last widening D-SACK came.
    dsack_round: Option<SeqNumber>,
    /// When the reorder timer is due (RFC 8985 §6.2 step 5), µs.
    deadline: Option<u32>,
}

/// The connection's state RACK reads on an ACK.
pub(crate) struct AckView<'a> {
    /// SND.UNA before the ACK and after it.
    pub una_before: SeqNumber,
    pub una: SeqNumber,
    pub snd_max: SeqNumber,
    pub sack: &'a SackBlocks,
    /// The ACK's first block is a D-SACK.
    pub dsack: bool,
    /// The ACK's TSecr, with timestamps on.
    pub tsecr: Option<u32>,
}

impl Rack {
    #[inline]
    fn marks(&self) -> &[Mark] {
        &self.marks[..usize::from(self.len)]
    }

    /// Whether first transmissions are marked: the record is needed.
    #[inline]
    pub fn holds_marks(&self) -> bool {
        self.len > 0
    }

    /// New data from `seq` went at `now_us`.
    fn mark(&mut self, seq: SeqNumber, now_us: u32) {
        if let Some(last) = self.marks().last() {
            if last.sent_us == now_us || seq <= last.seq {
                return; // the same burst
            }
        }
        if usize::from(self.len) == MARKS {
            // The two sent closest together become one, at the later time.
            let n = usize::from(self.len);
            let i = (0..n - 1)
                .min_by_key(|&i| {
                    self.marks[i + 1]
                        .sent_us
                        .wrapping_sub(self.marks[i].sent_us)
                })
                .unwrap_or(0);
            self.marks[i].sent_us = self.marks[i + 1].sent_us;
            self.marks.copy_within(i + 2..n, i + 1);
            self.len -= 1;
        }
        self.marks[usize::from(self.len)] = Mark {
            seq,
            sent_us: now_us,
        };
        self.len += 1;
    }

    /// Forgets the marks of data acknowledged: all of them once nothing
    /// is outstanding.
    fn trim(&mut self, una: SeqNumber, snd_max: SeqNumber) {
        if una >= snd_max {
            self.len = 0;
            return;
        }
        let n = usize::from(self.len);
        let gone = (1..n).take_while(|&i| self.marks[i].seq <= una).count();
        if gone > 0 {
            self.marks.copy_within(gone..n, 0);
            self.len -= gone as u8;
        }
    }

    /// When the octet at `seq` first went; None below the first mark.
    fn first_sent(&self, seq: SeqNumber) -> Option<u32> {
        self.marks()
            .iter()
            .rev()
            .find(|m| m.seq <= seq)
            .map(|m| m.sent_us)
    }

    /// Whether the octet at `seq` went again and RACK watches that.
    fn retransmitted(&self, seq: SeqNumber) -> bool {
        self.rtx
            .iter()
            .any(|w| w.live && w.seq <= seq && seq < w.end)
    }

    /// [`seq`, `end`) went again at `now_us` with `tsval`, SND.MAX at
    /// `snd_max`.
    fn watch(
        &mut self,
        seq: SeqNumber,
        end: SeqNumber,
        now_us: u32,
        tsval: u32,
        snd_max: SeqNumber,
    ) {
        let w = Watched {
            seq,
            end,
            sent_us: now_us,
            tsval,
            after: snd_max,
            live: true,
            lost: false,
        };
        if let Some(slot) = self.rtx.iter_mut().find(|s| s.live && s.seq == seq) {
            *slot = w;
            return;
        }
        self.rtx[usize::from(self.next)] = w;
        self.next = (self.next + 1) % SLOTS as u8;
    }

    /// An RTO: the go-back-N resends everything, unmarked, and what was
    /// known delivered may be reneged on (the scoreboard is cleared too).
    /// The reordering window's adaptation stays.
    pub fn forget(&mut self) {
        *self = Rack {
            min_rtt_us: self.min_rtt_us,
            reo_wnd_extra: self.reo_wnd_extra,
            reo_wnd_persist: self.reo_wnd_persist,
            reordering_seen: self.reordering_seen,
            ..Rack::default()
        };
    }

    /// A D-SACK arrived (RFC 8985 §6.2 step 4): the reordering window
    /// widens by a quarter of min_RTT, once per round trip.
    pub fn on_dsack(&mut self, snd_max: SeqNumber) {
        if self.dsack_round.is_none() {
            self.dsack_round = Some(snd_max);
            self.reo_wnd_extra = self.reo_wnd_extra.saturating_add(1);
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// A recovery ended (RFC 8985 §6.2 step 4): after 16 without a
    /// D-SACK, the reordering window is back to its base.
    pub fn recovery_ended(&mut self) {
        self.reo_wnd_persist = self.reo_wnd_persist.saturating_sub(1);
        if self.reo_wnd_persist == 0 {
            self.reo_wnd_extra = 0;
        }
    }

    /// A delivered segment sent at `sent_us` ending at `end`: RACK.rtt
    /// and RACK.xmit_ts/end_seq follow the most recently sent (RFC 8985
    /// §6.2 step 2).
    fn delivered(&mut self, sent_us: u32, end: SeqNumber, now_us: u32) {
        let rtt = now_us.wrapping_sub(sent_us).max(1);
        if self.min_rtt_us == 0 || rtt < self.min_rtt_us {
            self.min_rtt_us = rtt;
        }
        if self
            .newest
            .is_none_or(|(t, e)| sent_after(sent_us, end, t, e))
        {
            self.newest = Some((sent_us, end));
            self.rtt_us = rtt;
        }
    }

    /// RFC 8985 §6.2 steps 1–3 for one ACK: what it newly delivered moves
    /// RACK.xmit_ts, RACK.rtt and RACK.fack, and tells of reordering.
    /// `before` is the scoreboard before the ACK, `board` after.
    fn update(
        &mut self,
        a: &AckView,
        before: &Scoreboard,
        board: &Scoreboard,
        high_rxt: Option<SeqNumber>,
        now_us: u32,
    ) {
        if self.dsack_round.is_some_and(|r| a.una >= r) {
            self.dsack_round = None;
        }
        let retransmitted =
            |r: &Rack, seq: SeqNumber| r.retransmitted(seq) || high_rxt.is_some_and(|h| seq < h);
        // Step 3: delivered below RACK.fack, never retransmitted: the
        // network reordered it. Newly delivered are the octets the
        // cumulative ACK passed that were not SACKed, and new blocks.
        if let Some(fack) = self.fack {
            let mut reordered = a.una > a.una_before
                && before
                    .first_unsacked(a.una_before, a.una)
                    .is_some_and(|x| x < fack && !retransmitted(self, x));
            for &(l, r) in a.sack.as_slice().iter().skip(usize::from(a.dsack)) {
                if l >= a.una && r <= a.snd_max && r < fack {
                    reordered |= before
                        .first_unsacked(l, r)
                        .is_some_and(|x| !retransmitted(self, x));
                }
            }
            self.reordering_seen |= reordered;
        }
        // Step 2: the most recently sent first transmission delivered is
        // the highest one, if this ACK delivered it.
        let high = |una: SeqNumber, b: &Scoreboard| match b.high() {
            Some(h) if h > una => h,
            _ => una,
        };
        let (hi, hi_before) = (high(a.una, board), high(a.una_before, before));
        if hi > hi_before {
            let last = hi - 1;
            if !self.retransmitted(last) {
                if let Some(t) = self.first_sent(last) {
                    self.delivered(t, hi, now_us);
                }
            }
        }
        if self.fack.is_none_or(|f| hi > f) {
            self.fack = Some(hi);
        }
        // Retransmissions delivered, but none whose ACK may answer the
        // original: one echoing an older TSval, or back sooner than any
        // round trip could be.
        for i in 0..SLOTS {
            let w = self.rtx[i];
            if !w.live || !(w.end <= a.una || board.covers(w.seq)) {
                continue;
            }
            self.rtx[i].live = false;
            let echoes_original = a.tsecr.is_some_and(|e| ts_older(e, w.tsval));
            let too_soon = now_us.wrapping_sub(w.sent_us) < self.min_rtt_us;
            if !echoes_original && !too_soon {
                self.delivered(w.sent_us, w.end, now_us);
            }
        }
    }

    /// RFC 8985 §6.2 step 4: RACK.reo_wnd, µs — none once DupThresh
    /// segments are SACKed or in recovery, while no reordering was seen;
    /// else a quarter of min_RTT per round that saw a D-SACK, at most SRTT.
    fn reo_wnd(&self, board: &Scoreboard, in_recovery: bool, srtt_us: u32, smss: u32) -> u32 {
        if !self.reordering_seen && (in_recovery || board.sacked_bytes() >= DUP_THRESH * smss) {
            return 0;
        }
        let min_rtt = if self.min_rtt_us == 0 {
            srtt_us
        } else {
            self.min_rtt_us
        };
        (u32::from(self.reo_wnd_extra) + 1)
            .saturating_mul(min_rtt / 4)
            .min(srtt_us)
    }

    /// RFC 8985 §6.2 step 5: every segment not delivered that went before
    /// RACK.segment and a round trip plus the reordering window ago is
    /// lost — first transmissions as a bound on `board`, retransmissions
    /// flagged for `Core::rack_repair`; for those not yet, the reorder
    /// timer.
    fn detect(
        &mut self,
        board: &mut Scoreboard,
        una: SeqNumber,
        snd_max: SeqNumber,
        wait_us: u32,
        now_us: u32,
    ) {
        self.deadline = None;
        let mut timeout = 0u32;
        let mut lost_to = None;
        let marks = self.marks();
        for (i, m) in marks.iter().enumerate() {
            let Some((xt, xend)) = self.newest else {
                break;
            };
            let end = marks.get(i + 1).map_or(snd_max, |n| n.seq);
            let before_to = if later(xt, m.sent_us) {
                end
            } else if xt == m.sent_us {
                if xend < end {
                    xend
                } else {
                    end
                }
            } else {
                break; // sent after RACK.segment, and so is the rest
            };
            let start = if m.seq > una { m.seq } else { una };
            if start >= before_to || board.first_unsacked(start, before_to).is_none() {
                continue;
            }
            let elapsed = now_us.wrapping_sub(m.sent_us);
            if elapsed >= wait_us {
                lost_to = Some(before_to);
            } else {
                timeout = timeout.max(wait_us - elapsed);
            }
        }
        if let Some(to) = lost_to {
            board.mark_lost_below(to);
        }
        for w in self.rtx.iter_mut().filter(|w| w.live && !w.lost) {
            let newer_delivered = self
                .newest
                .is_some_and(|(t, e)| sent_after(t, e, w.sent_us, w.end));
            if !(board.sacked_beyond(w.after) || newer_delivered) {
                continue;
            }
            let elapsed = now_us.wrapping_sub(w.sent_us);
            if elapsed >= wait_us {
                w.lost = true;
            } else {
                timeout = timeout.max(wait_us - elapsed);
            }
        }
        if timeout > 0 {
            self.deadline = Some(now_us.wrapping_add(timeout));
        }
    }
}

impl Episode {
    /// RACK for one ACK of `tcb` that moved the scoreboard from `before`
    /// to `self.board`: update, then detect (RFC 8985 §6.2).
    pub(crate) fn rack_on_ack(
        &mut self,
        tcb: &Tcb,
        a: &AckView,
        before: &Scoreboard,
        now: Instant,
    ) {
        let now_us = micros(now);
        self.rack.trim(a.una, a.snd_max);
        let high_rxt = tcb.in_recovery.then_some(tcb.high_rxt);
        self.rack.update(a, before, &self.board, high_rxt, now_us);
        self.rack_detect_at(tcb, a.una, now_us);
    }

    /// RFC 8985 §6.2 step 5 for `tcb` at `now_us`.
    fn rack_detect_at(&mut self, tcb: &Tcb, una: SeqNumber, now_us: u32) {
        let smss = u32::from(tcb.snd_mss);
        let srtt_us = tcb.rtt.srtt_us();
        let wait = if self.rack.newest.is_some() {
            self.rack.rtt_us
                + self
                    .rack
                    .reo_wnd(&self.board, tcb.in_recovery, srtt_us, smss)
        } else {
            srtt_us + srtt_us / 4
        }
        .max(1);
        self.rack
            .detect(&mut self.board, una, tcb.snd_max, wait, now_us);
    }
}

impl Core {
    /// `tcb` sent new data from `seq` at `now`: marked for RACK once more
    /// than one segment is in flight (with SACK only: without, nothing
    /// tells which later segment was delivered).
    ///
    /// Inlined, the test that nearly every segment stops at (no record and
    /// no more than a segment in flight): out of line, the call saved and
    /// restored registers for it. The pool never holds `NONE` records, so
    /// a TCB at `NONE` has none.
    #[inline(always)]
    pub(crate) fn mark_sent(&mut self, tcb: &mut Tcb, seq: SeqNumber, now: Instant) {
        if tcb.sack_ok
            && (tcb.episode != NONE || (tcb.snd_max - tcb.snd_una) as u32 > u32::from(tcb.snd_mss))
        {
            self.mark_sent_record(tcb, seq, now);
        }
    }

    /// `mark_sent` past its inline test.
    #[inline(never)]
    fn mark_sent_record(&mut self, tcb: &mut Tcb, seq: SeqNumber, now: Instant) {
        if self.episodes.record_mut(tcb.episode).is_none() {
            if (tcb.snd_max - tcb.snd_una) as u32 <= u32::from(tcb.snd_mss) {
                return;
            }
            tcb.episode = self.acquire_episode(Episode::default());
        }
        if let Some(e) = self.episodes.record_mut(tcb.episode) {
            e.rack.mark(seq, micros(now));
        }
    }

    /// How long until `tcb`'s reorder timer is due, in µs, if RACK is
    /// waiting on one (RFC 8985 §6.2 step 5).
    #[inline]
    pub(crate) fn reorder_due_us(&mut self, tcb: &Tcb, now: Instant) -> Option<u32> {
        let e = self.episodes.record_mut(tcb.episode)?;
        let at = e.rack.deadline?;
        let left = at.wrapping_sub(micros(now)) as i32;
        Some(left.max(0) as u32)
    }

    /// The reorder timer fired (RFC 8985 §6.2 step 5, §6.3): what has
    /// waited its round trip and reordering window since is lost, and is
    /// repaired — by a recovery begun now, or within the one under way.
    pub(crate) fn on_reorder_timeout(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        index: u32,
        now: Instant,
    ) {
        self.stats.rack_reorder_timeouts += 1;
        if let Some(e) = self.episodes.record_mut(tcb.episode) {
            e.rack_detect_at(tcb, tcb.snd_una, micros(now));
        }
        if tcb.in_recovery && tcb.sack_recovery {
            self.rack_repair(tx, tcb, now);
            self.repair_holes(tx, tcb, now);
        } else if !tcb.in_recovery {
            self.recover_if_lost(tx, tcb, now);
        }
        self.mark_dirty(tcb, index);
    }

    /// RFC 8985 §6.2 for `tcb`'s watched retransmissions, on an ACK or
    /// the reorder timer in SACK recovery: those found lost go again.
    pub(crate) fn rack_repair(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        let mut lost = [(SeqNumber(0), 0u32); SLOTS];
        let mut n = 0;
        let Some(e) = self.episodes.record_mut(tcb.episode) else {
            return;
        };
        for w in e.rack.rtx.iter_mut().filter(|w| w.live && w.lost) {
            lost[n] = (w.seq, (w.end - w.seq) as u32);
            n += 1;
        }
        for &(seq, len) in &lost[..n] {
            if self.retransmit_at(tx, tcb, seq, len as usize, now) > 0 {
                self.stats.rack_retransmits += 1;
            }
        }
    }

    /// A segment of `tcb` went again: RACK watches it if the connection
    /// holds a loss record.
    #[inline]
    pub(crate) fn watch_retransmission(
        &mut self,
        tcb: &Tcb,
        seq: SeqNumber,
        len: usize,
        now: Instant,
    ) {
        if let Some(e) = self.episodes.record_mut(tcb.episode) {
            let tsval = if tcb.has(flag::TS_OK) {
                ts_val(now, tcb.ts_offset)
            } else {
                0
            };
            e.rack
                .watch(seq, seq + len as u32, micros(now), tsval, tcb.snd_max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> SeqNumber {
        SeqNumber(1000 + n * 100)
    }

    fn sacked(l: u32, r: u32) -> Scoreboard {
        let mut b = Scoreboard::default();
        let mut sack = SackBlocks::default();
        sack.push(s(l), s(r));
        b.update(s(0), s(20), &sack, false);
        b
    }

    #[test]
    fn rfc8985_6_2_step_5_what_went_before_the_newest_delivered_is_lost_a_round_trip_and_reo_wnd_after(
    ) {
        let mut r = Rack::default();
        r.mark(s(0), 0);
        r.mark(s(5), 1000);
        r.delivered(1000, s(6), 3000); // 5 SACKed: RACK.rtt 2 ms
        assert_eq!(r.rtt_us, 2000);
        let mut b = sacked(5, 6);
        r.detect(&mut b, s(0), s(8), 2500, 2000);
        assert!(!b.is_lost(s(0), 100), "not yet");
        assert_eq!(r.deadline, Some(2500), "the reorder timer");
        r.detect(&mut b, s(0), s(8), 2500, 2600);
        assert!(b.is_lost(s(4), 100), "sent before 5, waited out");
        assert!(!b.is_lost(s(6), 100), "sent with 5, after it in sequence");
        assert_eq!(r.deadline, None);
    }

    #[test]
    fn rfc8985_6_2_step_4_reo_wnd_is_zero_in_recovery_until_reordering_is_seen() {
        let mut r = Rack {
            min_rtt_us: 2000,
            ..Default::default()
        };
        let b = Scoreboard::default();
        assert_eq!(r.reo_wnd(&b, true, 4000, 100), 0);
        assert_eq!(r.reo_wnd(&b, false, 4000, 100), 500, "min_RTT / 4");
        assert_eq!(
            r.reo_wnd(&sacked(1, 4), false, 4000, 100),
            0,
            "DupThresh SACKed"
        );
        r.reordering_seen = true;
        assert_eq!(r.reo_wnd(&b, true, 4000, 100), 500);
    }

    #[test]
    fn rfc8985_6_2_step_4_each_round_with_a_dsack_widens_reo_wnd_up_to_srtt_for_16_recoveries() {
        let mut r = Rack {
            min_rtt_us: 2000,
            reordering_seen: true,
            ..Default::default()
        };
        let b = Scoreboard::default();
        r.on_dsack(s(10));
        r.on_dsack(s(10));
        assert_eq!(r.reo_wnd(&b, false, 4000, 100), 1000, "once per round");
        for _ in 0..10 {
            r.dsack_round = None; // SND.UNA passed the round
            r.on_dsack(s(20));
        }
        assert_eq!(r.reo_wnd(&b, false, 4000, 100), 4000, "at most SRTT");
        for _ in 0..15 {
            r.recovery_ended();
        }
        assert_eq!(r.reo_wnd(&b, false, 4000, 100), 4000);
        r.recovery_ended();
        assert_eq!(r.reo_wnd(&b, false, 4000, 100), 500, "16 without D-SACK");
    }

    #[test]
    fn rfc8985_6_a_full_ring_merges_the_two_marks_sent_closest_together_at_the_later_time() {
        let mut r = Rack::default();
        for i in 0..MARKS as u32 {
            r.mark(s(i), if i == 6 { 5100 } else { i * 1000 });
        }
        r.mark(s(MARKS as u32), 100_000);
        assert_eq!(usize::from(r.len), MARKS);
        assert_eq!(r.first_sent(s(5)), Some(5100), "taken as sent later");
        assert_eq!(r.first_sent(s(6)), Some(5100));
        assert_eq!(r.first_sent(s(4)), Some(4000), "the others as they were");
        r.mark(s(MARKS as u32 + 1), 100_000);
        assert_eq!(usize::from(r.len), MARKS, "one turn, one mark");
        r.trim(s(7), s(30));
        assert_eq!(r.first_sent(s(6)), None, "acknowledged");
        assert_eq!(r.first_sent(s(7)), Some(7000));
    }

    #[test]
    fn rfc8985_6_2_step_3_a_hole_filled_by_its_first_transmission_is_reordering() {
        let ack = |r: &mut Rack, before: &Scoreboard, after: &Scoreboard, una: u32, rtx| {
            let sack = SackBlocks::default();
            let a = AckView {
                una_before: s(0),
                una: s(una),
                snd_max: s(10),
                sack: &sack,
                dsack: false,
                tsecr: None,
            };
            r.update(&a, before, after, rtx, 5000);
        };
        let mut r = Rack::default();
        r.mark(s(0), 0);
        r.fack = Some(s(3)); // 1..3 SACKed, 0 missing
        let before = sacked(1, 3);
        ack(&mut r, &before, &Scoreboard::default(), 3, Some(s(1)));
        assert!(!r.reordering_seen, "0 was retransmitted: no sign");
        ack(&mut r, &before, &Scoreboard::default(), 3, None);
        assert!(r.reordering_seen, "0 arrived late, not lost");
    }
}
