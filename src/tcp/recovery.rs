//! Fast retransmit and fast recovery, NewReno's way (RFC 5681 §3.2,
//! RFC 6582): three duplicate ACKs say a segment was lost while later ones
//! arrived, so it is repeated at once rather than at the RTO, the window
//! halves instead of collapsing to one segment, and each partial ACK of
//! the recovery repeats the next hole.

use super::core::Core;
use super::tcb::{flag, Tcb};
use super::{FrameBatch, Instant};
use crate::wire::TcpFlags;

/// RFC 5681 §3.2's DupThresh.
const DUP_THRESH: u8 = 3;

impl Core {
    /// A duplicate ACK (RFC 5681 §2) arrived for `tcb`.
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
            // RFC 6582 §3.2 (3): each further duplicate ACK says a segment
            // left the network; inflate cwnd so that one new may go.
            tcb.cwnd = tcb.cwnd.saturating_add(smss);
            self.mark_dirty(tcb, index);
            return;
        }
        // RFC 6582 §3.2 (2): only duplicate ACKs of data sent after the
        // last recovery or RTO (beyond `recover`) start one, so the go-back-N
        // of an RTO does not trigger a second, spurious, reduction.
        if tcb.dup_acks != DUP_THRESH || tcb.snd_una <= tcb.recover {
            if tcb.dup_acks < DUP_THRESH && tcb.has_unsent() {
                self.mark_dirty(tcb, index); // limited transmit (RFC 3042)
            }
            return;
        }
        let flight = (tcb.snd_max - tcb.snd_una) as u32;
        tcb.ssthresh = (flight / 2).max(2 * smss);
        tcb.recover = tcb.snd_max;
        tcb.in_recovery = true;
        self.stats.recoveries += 1;
        self.retransmit_una(tx, tcb, now);
        tcb.cwnd = tcb.ssthresh + u32::from(DUP_THRESH) * smss;
        self.mark_dirty(tcb, index);
    }

    /// SND.UNA advanced by `acked` during fast recovery: a full ACK ends
    /// it, a partial one repeats the next hole (RFC 6582 §3.2 (5)).
    pub(crate) fn on_ack_in_recovery(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        acked: u32,
        now: Instant,
    ) {
        let smss = u32::from(tcb.snd_mss);
        if tcb.snd_una >= tcb.recover {
            // Full acknowledgment: deflate to ssthresh, or less where
            // little is in flight, so no burst follows (option 1).
            let flight = (tcb.snd_max - tcb.snd_una) as u32;
            tcb.cwnd = tcb.ssthresh.min(flight.max(smss) + smss);
            tcb.in_recovery = false;
            return;
        }
        // Partial acknowledgment: the segment at the new SND.UNA was lost
        // too. Repeat it, and deflate by what was acknowledged, adding one
        // SMSS back when that was a segment or more.
        self.retransmit_una(tx, tcb, now);
        tcb.cwnd = tcb.cwnd.saturating_sub(acked);
        if acked >= smss {
            tcb.cwnd = tcb.cwnd.saturating_add(smss);
        }
        tcb.cwnd = tcb.cwnd.max(smss);
    }

    /// Sends the first unacknowledged segment again, without rewinding
    /// SND.NXT, and times no segment it repeats (Karn, RFC 6298 §3).
    pub(crate) fn retransmit_una(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        let queued = tcb.send_buf.len();
        let len = queued.min(usize::from(tcb.snd_mss));
        // The FIN follows the last byte if it was sent.
        let fin = tcb.has(flag::FIN_SENT) && len == queued;
        if len == 0 && !fin {
            return;
        }
        let mut flags = TcpFlags::ACK;
        if len > 0 && len == queued {
            flags |= TcpFlags::PSH;
        }
        if fin {
            flags |= TcpFlags::FIN;
        }
        let seq = tcb.snd_una;
        if tcb
            .rtt_seq
            .is_some_and(|(s, _)| s - seq < (len as i32 + i32::from(fin)))
        {
            tcb.rtt_seq = None;
        }
        self.emit(tx, tcb, now, seq, flags, &tcb.send_buf[..len]);
        tcb.ack_sent();
        self.stats.fast_retransmits += 1;
    }
}
