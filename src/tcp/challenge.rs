//! Rate limits on the ACKs we owe to segments we refuse: RFC 5961 §7's
//! challenge ACKs and RFC 9293 §3.10.7.4 / RFC 7323 §5.3's ACKs to
//! unacceptable or PAWS-rejected segments. Without them two stacks that
//! disagree about a connection, or a flood of forged segments, would make
//! us answer every one.

use super::core::Core;
use super::tcb::Tcb;
use super::{FrameBatch, Instant};

/// The engine-wide budget of RFC 5961 §7: the current second and how many
/// challenge ACKs went out in it.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChallengeLimit {
    second: u64,
    count: u32,
}

impl Core {
    /// Whether one more challenge or out-of-window ACK may go to a peer that
    /// got its last at `last` (ms, 0: never), against `oow_ack_interval`
    /// (as Linux's `__tcp_oow_rate_limited`); records this one if so.
    pub(crate) fn oow_ack_allowed(&self, last: &mut u32, now: Instant) -> bool {
        let interval = self.cfg.oow_ack_interval.as_millis() as u64;
        let ms = now.as_millis() as u32;
        if *last != 0 && u64::from(ms.wrapping_sub(*last)) < interval {
            return false;
        }
        *last = ms.max(1);
        true
    }

    /// RFC 5961 §7: the connection's own rate limit first, then the global
    /// `challenge_ack_limit` a second (off by default; see its doc).
    pub(crate) fn challenge_ack_allowed(&mut self, last: &mut u32, now: Instant) -> bool {
        if !self.oow_ack_allowed(last, now) {
            self.stats.challenge_acks_limited += 1;
            return false;
        }
        let second = now.as_millis() / 1000;
        let limit = &mut self.challenge;
        if second != limit.second {
            limit.second = second;
            limit.count = 0;
        }
        if limit.count < self.cfg.challenge_ack_limit {
            limit.count += 1;
            self.stats.challenge_acks += 1;
            true
        } else {
            self.stats.challenge_acks_limited += 1;
            false
        }
    }

    /// The ACK RFC 9293 §3.10.7.4 and RFC 7323 §5.3 owe an unacceptable or
    /// PAWS-rejected segment. Two stacks that disagree about a connection
    /// (or a flood of forged ACKs) would trade such ACKs without end, so a
    /// segment that carries nothing is answered within `oow_ack_interval`;
    /// one with data or FIN always is (as Linux's `tcp_oow_rate_limited`).
    pub(crate) fn oow_ack(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        empty: bool,
        now: Instant,
    ) {
        if !empty || self.oow_ack_allowed(&mut tcb.last_oow_ack, now) {
            self.ack_now(tx, tcb, now);
        }
    }

    /// A challenge ACK for a TCB (RFC 5961 §3.2, §4.2), rate limited.
    pub(crate) fn challenge_ack(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        if self.challenge_ack_allowed(&mut tcb.last_oow_ack, now) {
            self.ack_now(tx, tcb, now);
        }
    }
}
