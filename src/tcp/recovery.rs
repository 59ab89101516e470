//! Fast retransmit and fast recovery: NewReno's way without SACK (RFC
//! 5681 §3.2, RFC 6582) — three duplicate ACKs say a segment was lost
//! while later ones arrived, so it is repeated at once rather than at the
//! RTO, the window halves instead of collapsing to one segment, and each
//! partial ACK of the recovery repeats the next hole — and with SACK,
//! RFC 6675's conservative recovery: the scoreboard says which holes are
//! lost and how much is in the network (pipe), and each ACK lets out
//! repairs, then new data, while pipe is below cwnd. And the tail loss
//! probe of RACK-TLP (RFC 8985 §7), for the loss at the end of a
//! response, which draws no duplicate ACKs at all.

use super::core::Core;
use super::spurious::dsack;
use super::tcb::{flag, Tcb};
use super::{FrameBatch, Instant, State};
use crate::wire::{SackBlocks, SeqNumber, TcpFlags};

/// RFC 5681 §3.2's DupThresh.
const DUP_THRESH: u8 = 3;

/// Repairs one ACK may let out at most: a bound on the work of one
/// segment's processing, far above what a window halved leaves room for.
const MAX_REPAIRS_PER_ACK: usize = 16;

impl Core {
    /// A duplicate ACK (RFC 5681 §2) arrived for `tcb`, its SACK blocks
    /// already on the scoreboard.
    pub(crate) fn on_dup_ack(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        index: u32,
        now: Instant,
    ) {
        let smss = u32::from(tcb.snd_mss);
        tcb.dup_acks = tcb.dup_acks.saturating_add(1);
        if tcb.in_recovery {
            if tcb.sack_recovery {
                // RFC 6675 §5 (C): what left the network makes room, for
                // the next lost hole first, then for new data; a lost
                // retransmission (RACK) before either.
                self.rack_repair(tx, tcb, now);
                self.repair_holes(tx, tcb, now);
            } else {
                // RFC 6582 §3.2 (3): each further duplicate ACK says a
                // segment left the network; inflate cwnd so that one new
                // may go.
                tcb.cwnd = tcb.cwnd.saturating_add(smss);
            }
            self.mark_dirty(tcb, index);
            return;
        }
        // RFC 6675 §5: with SACK, recovery starts as well when the
        // scoreboard shows SND.UNA lost (IsLost, or RACK's clock), with
        // fewer duplicate ACKs than DupThresh (the peer ACKs every second
        // segment; ACKs get lost).
        let lost = self.una_lost(tcb);
        // RFC 6582 §3.2 (2): only duplicate ACKs of data sent after the
        // last recovery or RTO (beyond `recover`) start one, so the go-back-N
        // of an RTO does not trigger a second, spurious, reduction.
        if !(tcb.dup_acks == DUP_THRESH || lost) || tcb.snd_una <= tcb.recover {
            if tcb.dup_acks < DUP_THRESH && tcb.has_unsent() {
                self.mark_dirty(tcb, index); // limited transmit (RFC 3042)
            }
            return;
        }
        self.enter_recovery(tx, tcb, now);
        self.mark_dirty(tcb, index);
    }

    /// Whether the scoreboard shows the segment at SND.UNA lost.
    #[inline]
    fn una_lost(&self, tcb: &Tcb) -> bool {
        let smss = u32::from(tcb.snd_mss);
        self.board(tcb)
            .is_some_and(|b| b.is_lost(tcb.snd_una, smss))
    }

    /// Outside recovery, on an ACK that was no duplicate or on RACK's
    /// reorder timer: if RACK has found SND.UNA lost (RFC 8985 §6.2), a
    /// recovery begins (RFC 8985 §6.3: as RFC 6675's would), unless the
    /// loss is of data sent before the last one ended.
    #[inline]
    pub(crate) fn recover_if_lost(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        if tcb.episode == super::spurious::NONE || tcb.snd_una <= tcb.recover || !tcb.outstanding()
        {
            return;
        }
        if self.una_lost(tcb) {
            self.enter_recovery(tx, tcb, now);
        }
    }

    /// Fast recovery begins (RFC 6582 §3.2 (2), RFC 6675 §5 (1)–(4)): the
    /// window halves, SND.UNA goes again, and with SACK the lost holes
    /// pipe leaves room for.
    fn enter_recovery(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        let smss = u32::from(tcb.snd_mss);
        // A loss record may be held with nothing on its board (an
        // episode's undo record): only SACKed data makes this RFC 6675's.
        let sack = self.board(tcb).is_some_and(|b| !b.is_empty());
        tcb.sack_recovery = sack;
        self.begin_episode(tcb);
        let flight = (tcb.snd_max - tcb.snd_una) as u32;
        tcb.ssthresh = (flight / 2).max(2 * smss);
        tcb.recover = tcb.snd_max;
        tcb.in_recovery = true;
        self.stats.recoveries += 1;
        let sent = self.retransmit_una(tx, tcb, now);
        tcb.high_rxt = tcb.snd_una + sent.max(1) as u32;
        if sack {
            // RFC 6675 §5 (4.2): cwnd = ssthresh; pipe decides the rest.
            self.stats.sack_recoveries += 1;
            tcb.cwnd = tcb.ssthresh;
            self.repair_holes(tx, tcb, now);
        } else {
            tcb.cwnd = tcb.ssthresh + u32::from(DUP_THRESH) * smss;
        }
    }

    /// SND.UNA advanced by `acked` during fast recovery: a full ACK ends
    /// it; a partial one repeats the next hole (RFC 6582 §3.2 (5)), or
    /// with SACK lets out what pipe allows (RFC 6675 §5 (C)).
    pub(crate) fn on_ack_in_recovery(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        acked: u32,
        now: Instant,
    ) {
        let smss = u32::from(tcb.snd_mss);
        let sack = tcb.sack_recovery;
        if tcb.snd_una >= tcb.recover {
            // Full acknowledgment: deflate to ssthresh (option 2), or
            // without SACK to less where little is in flight, so no burst
            // follows (option 1). With SACK the repairs of a recovery
            // leave little in flight at its end (every hole is repaired
            // within a round trip), and option 1 would restart from a
            // window of two or three segments, as Linux does not either.
            let flight = (tcb.snd_max - tcb.snd_una) as u32;
            tcb.cwnd = if sack {
                tcb.ssthresh
            } else {
                tcb.ssthresh.min(flight.max(smss) + smss)
            };
            tcb.in_recovery = false;
            if let Some(e) = self.episodes.record_mut(tcb.episode) {
                e.rack.recovery_ended();
            }
            return;
        }
        if tcb.high_rxt < tcb.snd_una {
            tcb.high_rxt = tcb.snd_una;
        }
        if sack {
            if tcb.high_rxt <= tcb.snd_una {
                // A partial ACK shows the segment at SND.UNA lost too (RFC
                // 6582 §3.2 (5)); it was never repeated. RFC 6675's IsLost
                // alone would wait for DupThresh segments SACKed above it,
                // or the RTO where none follow, and the RACK that lets
                // Linux see it sooner covers only retransmissions here:
                // without this, RTOs at 10% loss rise by a sixth (sim).
                let sent = self.retransmit_una(tx, tcb, now);
                tcb.high_rxt = tcb.snd_una + sent as u32;
            }
            self.rack_repair(tx, tcb, now);
            self.repair_holes(tx, tcb, now);
            return;
        }
        // Partial acknowledgment: the segment at the new SND.UNA was lost
        // too. Repeat it, and deflate by what was acknowledged, adding one
        // SMSS back when that was a segment or more.
        let sent = self.retransmit_una(tx, tcb, now);
        tcb.high_rxt = tcb.snd_una + sent as u32;
        tcb.cwnd = tcb.cwnd.saturating_sub(acked);
        if acked >= smss {
            tcb.cwnd = tcb.cwnd.saturating_add(smss);
        }
        tcb.cwnd = tcb.cwnd.max(smss);
    }

    /// Sends the first unacknowledged segment again, without rewinding
    /// SND.NXT, and times no segment it repeats (Karn, RFC 6298 §3);
    /// returns the sequence space sent.
    pub(crate) fn retransmit_una(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        now: Instant,
    ) -> usize {
        self.retransmit_at(tx, tcb, tcb.snd_una, usize::MAX, now)
    }

    /// RFC 6675 §5 (C) with NextSeg (1): while pipe leaves a segment of
    /// room in cwnd, the first hole at or above HighRxt that the
    /// scoreboard says IsLost goes again. New data, NextSeg (2), follows
    /// in `send_data`, which measures its room by the same pipe.
    pub(crate) fn repair_holes(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        let smss = u32::from(tcb.snd_mss);
        for _ in 0..MAX_REPAIRS_PER_ACK {
            let Some(board) = self.board(tcb) else {
                return;
            };
            let pipe = board.pipe(tcb.snd_una, tcb.snd_max, tcb.high_rxt, smss);
            if pipe.saturating_add(smss) > tcb.cwnd {
                return;
            }
            let from = if tcb.high_rxt > tcb.snd_una {
                tcb.high_rxt
            } else {
                tcb.snd_una
            };
            let Some((seq, len)) = board.next_lost(from, smss) else {
                return;
            };
            let sent = self.retransmit_at(tx, tcb, seq, len as usize, now);
            if sent == 0 {
                return;
            }
            tcb.high_rxt = seq + sent as u32;
        }
    }

    /// The octets in the network by RFC 6675's pipe while `tcb` is in
    /// SACK recovery, for `send_data`'s room; None otherwise.
    #[inline]
    pub(crate) fn recovery_pipe(&self, tcb: &Tcb) -> Option<u32> {
        if !tcb.in_recovery || !tcb.sack_recovery {
            return None;
        }
        let smss = u32::from(tcb.snd_mss);
        (self.board(tcb)).map(|b| b.pipe(tcb.snd_una, tcb.snd_max, tcb.high_rxt, smss))
    }

    /// RFC 6675 §5.1 for the go-back-N of an RTO (SND.NXT behind SND.MAX):
    /// the scoreboard was cleared at the RTO (RFC 2018 §8: the receiver
    /// may have reneged), but what the peer SACKs since is used — SND.NXT
    /// skips a range it holds. Returns how far the next segment may go
    /// before the next such range, and the SACKed octets below SND.NXT.
    pub(crate) fn go_back_n(&self, tcb: &mut Tcb) -> (usize, u32) {
        let Some(b) = self.board(tcb) else {
            return (usize::MAX, 0);
        };
        let data_end = tcb.snd_una + tcb.send_buf.len() as u32;
        if let Ok(end) = b.around(tcb.snd_nxt) {
            let end = if end < data_end { end } else { data_end };
            if end > tcb.snd_nxt {
                tcb.snd_nxt = end;
            }
        }
        let limit = match b.around(tcb.snd_nxt) {
            Err(Some(next)) => (next - tcb.snd_nxt) as usize,
            _ => usize::MAX,
        };
        (limit, b.sacked_between(tcb.snd_una, tcb.snd_nxt))
    }

    /// Sends `max` bytes at most of the segment at `seq` (at or above
    /// SND.UNA) again, one MSS at most; returns the sequence space sent.
    pub(crate) fn retransmit_at(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        seq: SeqNumber,
        max: usize,
        now: Instant,
    ) -> usize {
        let offset = (seq - tcb.snd_una).max(0) as usize;
        let queued = tcb.send_buf.len().saturating_sub(offset);
        let len = queued.min(usize::from(tcb.snd_mss)).min(max);
        // The FIN follows the last byte if it was sent.
        let fin = tcb.has(flag::FIN_SENT) && len == queued;
        if len == 0 && !fin {
            return 0;
        }
        let mut flags = TcpFlags::ACK;
        if len > 0 && len == queued {
            flags |= TcpFlags::PSH;
        }
        if fin {
            flags |= TcpFlags::FIN;
        }
        if tcb.rtt_seq.is_some_and(|(s, _)| s >= seq) {
            tcb.rtt_seq = None;
        }
        if let Some(payload) = tcb.send_buf.get(offset..offset + len) {
            self.emit(tx, tcb, now, seq, flags, payload);
        }
        tcb.ack_sent();
        self.stats.fast_retransmits += 1;
        self.retransmitted(tcb);
        self.watch_retransmission(tcb, seq, len + usize::from(fin), now);
        len + usize::from(fin)
    }
}

/// RFC 8985 §7.2's floor under the probe timeout (Linux's
/// `TCP_TIMEOUT_MIN` is 2 jiffies; 10 ms keeps timer-wheel ticks apart).
const PTO_MIN_US: u32 = 10_000;

/// RFC 8985 §7.2's WCDelAckT: when one segment is in flight, the peer may
/// hold its ACK for its delayed-ACK timer. The RFC suggests 200 ms, which
/// with a 200 ms minimum RTO leaves no room for a probe at all; 40 ms is
/// Linux's delayed-ACK floor (`TCP_DELACK_MIN`), which a Linux receiver
/// uses once it has seen a few segments. A peer that waits longer costs
/// one needless probe, not a needless RTO.
const WORST_CASE_DELAYED_ACK_US: u32 = 40_000;

impl Core {
    /// The probe timeout to arm instead of the RTO, where a tail loss
    /// probe may go (RFC 8985 §7.2): 2·SRTT, plus the peer's worst-case
    /// delayed ACK when only one segment is out. None before any RTT
    /// sample, in recovery, after an RTO or once a probe is out.
    pub(crate) fn pto_us(&self, tcb: &Tcb) -> Option<u32> {
        let data_state = matches!(
            tcb.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        );
        let srtt = tcb.rtt.srtt_us();
        if !self.cfg.tail_loss_probe
            || !data_state
            || tcb.in_recovery
            || tcb.tlp_sent
            || tcb.retries > 0
            || tcb.snd_wnd == 0
            || srtt == 0
        {
            return None;
        }
        // Saturating: a PTO beyond u32 µs is past any RTO and is not armed.
        let mut pto = srtt.saturating_mul(2).max(PTO_MIN_US);
        if (tcb.snd_max - tcb.snd_una) as u32 <= u32::from(tcb.snd_mss) {
            pto = pto.saturating_add(WORST_CASE_DELAYED_ACK_US);
        }
        Some(pto)
    }

    /// The probe timeout fired (RFC 8985 §7.3): the last segment sent
    /// goes again, so that whatever the peer holds draws an ACK — with
    /// SACK blocks, or as the duplicate ACKs of fast recovery — or, if
    /// the tail itself was lost, the probe repairs it. Then the RTO.
    pub(crate) fn on_pto(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, index: u32, now: Instant) {
        let fin = tcb.has(flag::FIN_SENT);
        let flight = (tcb.snd_max - tcb.snd_una) as u32 as usize;
        let text = flight - usize::from(fin);
        let len = text.min(usize::from(tcb.snd_mss)).min(tcb.send_buf.len());
        let offset = text - len;
        let seq = tcb.snd_una + offset as u32;
        let mut flags = TcpFlags::ACK;
        if len > 0 {
            flags |= TcpFlags::PSH;
        }
        if fin {
            flags |= TcpFlags::FIN;
        }
        if tcb.rtt_seq.is_some_and(|(s, _)| s >= seq) {
            tcb.rtt_seq = None; // Karn: the probe may repeat the timed segment
        }
        // The window is reduced only if the probe repaired a loss
        // (`tlp_answered`); a D-SACK of it undoes that.
        self.begin_episode(tcb);
        self.retransmitted(tcb);
        if let Some(payload) = tcb.send_buf.get(offset..offset + len) {
            self.emit(tx, tcb, now, seq, flags, payload);
        }
        tcb.ack_sent();
        tcb.tlp_sent = true;
        tcb.tlp_high = tcb.snd_max;
        self.stats.tlps += 1;
        let rto = tcb.rtt.rto_us();
        self.arm_us(tcb, index, rto, now);
    }

    /// Whether an ACK, cumulative to `ack` with `sack` blocks, D-SACKs
    /// the tail loss probe `tcb` has out: the last segment below
    /// `tlp_high` (the FIN, if one went, past its end) arrived twice.
    pub(crate) fn probe_dsacked(&self, tcb: &Tcb, ack: SeqNumber, sack: &SackBlocks) -> bool {
        let fin = i32::from(tcb.has(flag::FIN_SENT));
        tcb.tlp_sent
            && dsack(ack, sack).is_some_and(|(l, r)| l < tcb.tlp_high && tcb.tlp_high - r <= fin)
    }

    /// An ACK of new data with a probe out (RFC 8985 §7.4): the episode
    /// ends; if it covers the tail the probe repeated, the probe may have
    /// repaired a loss, and the window is reduced as for one — unless
    /// this ACK's D-SACK reports the probe (`probe_dsacked`), which says
    /// the tail was only late (RFC 8985 §7.4.2, RFC 2883 §4).
    pub(crate) fn tlp_answered(&mut self, tcb: &mut Tcb, probe_dsacked: bool) {
        tcb.tlp_sent = false;
        if tcb.snd_una >= tcb.tlp_high && !tcb.in_recovery && !probe_dsacked {
            let smss = u32::from(tcb.snd_mss);
            tcb.ssthresh = (tcb.cwnd / 2).max(2 * smss);
            tcb.cwnd = tcb.cwnd.min(tcb.ssthresh);
            self.stats.tlp_recoveries += 1;
        }
    }
}
