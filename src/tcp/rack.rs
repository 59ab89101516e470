//! RACK's time-based loss detection (RFC 8985 §6), for the segments whose
//! transmit time the engine knows: its retransmissions (the send queue is
//! bytes, with no per-segment record of first transmissions). A
//! retransmission is lost once data sent after it has been SACKed and a
//! round trip plus the reordering window (RFC 8985 §6.2: RTT/4) has
//! passed since it went — without RACK only the RTO would repair it.
//!
//! The few retransmissions it watches live in the connection's loss
//! record (`spurious::Pool`), beside the scoreboard.

use super::core::Core;
use super::tcb::Tcb;
use super::{FrameBatch, Instant};
use crate::wire::SeqNumber;
use core::time::Duration;

/// Retransmissions watched at once; an older one beyond is left to the RTO.
const SLOTS: usize = 4;

#[derive(Copy, Clone, Debug, Default)]
struct Watched {
    seq: SeqNumber,
    end: SeqNumber,
    /// When it went, in ms: RFC 8985's xmit_ts.
    sent_ms: u32,
    /// SND.MAX when it went: SACKed data beyond was sent after it.
    after: SeqNumber,
    live: bool,
}

/// The retransmissions of one connection that RACK watches.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Retransmissions {
    slots: [Watched; SLOTS],
    next: u8,
}

impl Retransmissions {
    /// [`seq`, `end`) went again at `now`, with SND.MAX at `snd_max`.
    pub fn record(&mut self, seq: SeqNumber, end: SeqNumber, now: Instant, snd_max: SeqNumber) {
        let w = Watched {
            seq,
            end,
            sent_ms: now.as_millis() as u32,
            after: snd_max,
            live: true,
        };
        if let Some(slot) = self.slots.iter_mut().find(|s| s.live && s.seq == seq) {
            *slot = w;
            return;
        }
        self.slots[usize::from(self.next)] = w;
        self.next = (self.next + 1) % SLOTS as u8;
    }
}

impl Core {
    /// RFC 8985 §6.2 for `tcb`'s watched retransmissions, on an ACK in
    /// SACK recovery: one that is neither ACKed nor SACKed, though data
    /// sent after it is SACKed, and that went a round trip and a quarter
    /// ago, was lost: it goes again.
    pub(crate) fn rack_detect(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        let srtt = tcb.rtt.srtt();
        let wait = (srtt + srtt / 4).max(Duration::from_millis(1)).as_millis() as u32;
        let now_ms = now.as_millis() as u32;
        let mut lost = [(SeqNumber(0), 0u32); SLOTS];
        let mut n = 0;
        let Some(e) = self.episodes.record_mut(tcb.episode) else {
            return;
        };
        for w in e.rack.slots.iter_mut().filter(|w| w.live) {
            if w.end <= tcb.snd_una || e.board.covers(w.seq) {
                w.live = false; // delivered
            } else if e.board.sacked_beyond(w.after) && now_ms.wrapping_sub(w.sent_ms) >= wait {
                lost[n] = (w.seq, (w.end - w.seq) as u32);
                n += 1;
            }
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
            e.rack.record(seq, seq + len as u32, now, tcb.snd_max);
        }
    }
}
