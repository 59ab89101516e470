//! Retransmission (RFC 6298, RFC 9293 §3.8.1 and §3.8.3): the one timer of a
//! TCB — the RTO, the persist timer of a zero window (§3.8.6.1), the sender
//! SWS override (§3.8.6.2.1) or FIN-WAIT-2's — what each does when it fires,
//! and the handshake's SYN and SYN-ACK retransmissions.

use super::core::{ts_val, Core};
use super::engine::Engine;
use super::event::{EventKind, TimeoutReason};
use super::rtt::RttEstimator;
use super::tcb::{flag, Tcb, TimerRole};
use super::{FrameBatch, Instant, State};
use core::time::Duration;

/// RTO once a handshake whose SYN timed out completes untimed (RFC 6298 §5.7).
const SYN_FALLBACK_RTO: Duration = Duration::from_secs(3);

/// RFC 9293 §3.8.6.2.1's SWS override timeout, 0.1–1 s: the RTO held
/// within these bounds, in µs.
const SWS_OVERRIDE_MIN_US: u32 = 100_000;
/// The upper bound of the SWS override timeout above.
const SWS_OVERRIDE_MAX_US: u32 = 1_000_000;

impl Engine {
    /// The TCB's timer fired: which one it was follows from the state.
    pub(crate) fn on_tcb_timer(&mut self, index: u32, now: Instant, tx: &mut FrameBatch) {
        let tcb = &mut self.table.tcbs[index as usize];
        tcb.timer = None;
        match core::mem::replace(&mut tcb.timer_role, TimerRole::Plain) {
            TimerRole::DelayedAck => {
                if tcb.has(flag::ACK_PENDING) {
                    self.core.stats.delayed_acks += 1;
                    self.core.ack_now(tx, tcb, now);
                }
                self.core.rearm(tcb, index, now);
                return;
            }
            TimerRole::Probe if tcb.outstanding() && tcb.snd_wnd > 0 => {
                self.core.on_pto(tx, tcb, index, now);
                return;
            }
            TimerRole::Reorder => {
                if tcb.outstanding() {
                    self.core.on_reorder_timeout(tx, tcb, index, now);
                } else {
                    self.core.settle_now(tcb);
                }
                self.core.rearm(tcb, index, now);
                return;
            }
            _ => {}
        }
        let handshake = matches!(tcb.state, State::SynSent | State::SynReceived);
        if !handshake && tcb.snd_wnd == 0 && (tcb.outstanding() || tcb.has_unsent()) {
            return self.on_persist_timer(index, now, tx);
        }
        if tcb.outstanding() {
            let limit = if handshake {
                self.core.cfg.syn_retries
            } else {
                self.core.cfg.max_retries
            };
            if tcb.retries >= limit {
                self.core.stats.timeouts += 1;
                if !tcb.has(flag::APP_KNOWN) {
                    self.core.stats.half_open_dropped += 1;
                }
                let reason = if handshake {
                    TimeoutReason::Handshake
                } else {
                    TimeoutReason::Retransmit
                };
                self.finish(index, Some(EventKind::TimedOut(reason)), now);
                return;
            }
            // RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged
            // segment, back off, and time no retransmission (Karn).
            if !handshake {
                self.core.begin_episode(tcb);
                self.core.clear_board(tcb);
            }
            if !handshake && tcb.retries == 0 {
                // RFC 5681 §3.1 (4): ssthresh = max(FlightSize / 2, 2*SMSS),
                // held when the same segment times out again.
                let flight = (tcb.snd_max - tcb.snd_una) as u32;
                tcb.ssthresh = (flight / 2).max(2 * u32::from(tcb.snd_mss));
            }
            // RFC 6582 §3.2 (1): the RTO ends fast recovery, and duplicate
            // ACKs of what was sent before it start none.
            tcb.in_recovery = false;
            tcb.dup_acks = 0;
            tcb.recover = tcb.snd_max;
            tcb.tlp_sent = false;
            tcb.retries += 1;
            tcb.syn_resent |= handshake;
            tcb.rtt.back_off(self.core.cfg.rto_max);
            tcb.rtt_seq = None;
            tcb.cwnd = u32::from(tcb.snd_mss);
            tcb.snd_nxt = tcb.snd_una;
            self.core.stats.retransmits += 1;
            self.core.output(tx, tcb, index, now);
        } else if tcb.state == State::FinWait2 {
            self.core.stats.timeouts += 1;
            self.finish(
                index,
                Some(EventKind::TimedOut(TimeoutReason::FinWait2)),
                now,
            );
        } else if tcb.has_unsent() {
            // RFC 9293 §3.8.6.2.1 (4): the SWS override timeout.
            self.core.send_data(tx, tcb, now, true);
            self.core.rearm(tcb, index, now);
        }
    }

    /// The peer's window is zero and we have something for it (RFC 9293
    /// §3.8.6.1): probe with one byte, backing off as the RTO does. Probes
    /// the peer answers are no retransmission failure (its ACKs reset
    /// `retries`); unanswered ones count as retransmissions of the byte.
    /// A peer that keeps the window shut past `persist_timeout` ends it.
    fn on_persist_timer(&mut self, index: u32, now: Instant, tx: &mut FrameBatch) {
        let tcb = &mut self.table.tcbs[index as usize];
        let ms = now.as_millis() as u32;
        if tcb.persist_since == 0 {
            tcb.persist_since = ms.max(1);
        }
        let persisting = Duration::from_millis(u64::from(ms.wrapping_sub(tcb.persist_since)));
        let reason = if persisting >= self.core.cfg.persist_timeout {
            self.core.stats.persist_timeouts += 1;
            Some(TimeoutReason::Persist)
        } else if tcb.outstanding() && tcb.retries >= self.core.cfg.max_retries {
            Some(TimeoutReason::Retransmit)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.core.stats.timeouts += 1;
            self.finish(index, Some(EventKind::TimedOut(reason)), now);
            return;
        }
        if tcb.outstanding() {
            // A zero window is no sign of congestion: cwnd and ssthresh stay.
            tcb.retries += 1;
            tcb.rtt_seq = None;
            tcb.snd_nxt = tcb.snd_una;
        }
        tcb.rtt.back_off(self.core.cfg.rto_max);
        self.core.stats.persist_probes += 1;
        self.core.send_data(tx, tcb, now, true);
        self.core.rearm(tcb, index, now);
    }
}

impl Core {
    /// Arms the timer the TCB needs now, unless one runs: the RTO while
    /// anything is unacknowledged; else, with bytes queued that the window
    /// holds back, the persist timer (window zero, RFC 9293 §3.8.6.1) or the
    /// SWS override timer (RFC 9293 §3.8.6.2.1, 0.1–1 s).
    /// RACK's reorder timer takes the RTO's place while it waits (RFC 8985
    /// §6.2 step 5); the RTO restarts after it.
    pub(crate) fn rearm(&mut self, tcb: &mut Tcb, index: u32, now: Instant) {
        let reorder = if tcb.outstanding() && tcb.snd_wnd > 0 {
            self.reorder_due_us(tcb, now)
        } else {
            None
        };
        if self.armed(tcb) {
            // With nothing outstanding a Reorder timer only gives the loss
            // record back (`settle_later`): whatever is armed below, the
            // persist or SWS timer, matters more and replaces it.
            let settling = tcb.timer_role == TimerRole::Reorder && !tcb.outstanding();
            let waits = matches!(tcb.timer_role, TimerRole::Reorder | TimerRole::DelayedAck);
            if !settling && (reorder.is_none() || waits) {
                return;
            }
        }
        self.arm_needed(tcb, index, reorder, now);
    }

    /// `rearm` where something is newly outstanding: the RTO, probe or
    /// reorder timer that it always arms then replaces whatever runs (a
    /// persist or SWS override timer gives way, RFC 6298 §5.1), so the
    /// timer need not be tested or disarmed first.
    pub(crate) fn rearm_outstanding(&mut self, tcb: &mut Tcb, index: u32, now: Instant) {
        debug_assert!(tcb.outstanding());
        let reorder = if tcb.snd_wnd > 0 {
            self.reorder_due_us(tcb, now)
        } else {
            None
        };
        self.arm_needed(tcb, index, reorder, now);
    }

    /// What `rearm` arms once no running timer stands in its way.
    #[inline(always)]
    fn arm_needed(&mut self, tcb: &mut Tcb, index: u32, reorder: Option<u32>, now: Instant) {
        let rto = tcb.rtt.rto_us();
        if let Some(after) = reorder {
            self.arm_us(tcb, index, after, now);
            tcb.timer_role = TimerRole::Reorder;
        } else if tcb.outstanding() {
            match self.pto_us(tcb) {
                Some(pto) if pto < rto => {
                    self.arm_us(tcb, index, pto, now);
                    tcb.timer_role = TimerRole::Probe;
                }
                _ => self.arm_us(tcb, index, rto, now),
            }
        } else if tcb.has_unsent() && tcb.state.is_synchronized() && tcb.state != State::SynReceived
        {
            let after = if tcb.snd_wnd == 0 {
                if tcb.persist_since == 0 {
                    tcb.persist_since = (now.as_millis() as u32).max(1);
                }
                rto
            } else {
                rto.clamp(SWS_OVERRIDE_MIN_US, SWS_OVERRIDE_MAX_US)
            };
            self.arm_us(tcb, index, after, now);
        }
    }

    /// Our SYN or SYN-ACK is acknowledged by a segment echoing `tsecr`: its
    /// RTT sample, unless it was sent more than once (Karn). Then the echo
    /// says which copy was answered (RFC 6298 §3, RFC 7323 §4.1) and times
    /// it, as Linux does; only without one does RFC 6298 §5.7's 3 s apply,
    /// since the backed-off RTO says nothing of the path either. Never sent
    /// twice yet untimed is a SYN cookie's connection, whose TSval was set
    /// back to carry options: its echo would overstate the round trip.
    pub(crate) fn syn_acked(&self, tcb: &mut Tcb, tsecr: Option<u32>, now: Instant) {
        let cfg = &self.cfg;
        if let Some((_, sent)) = tcb.rtt_seq.take() {
            tcb.rtt.sample(sent.elapsed_us(now), self.rto_bounds);
        } else if tcb.retries > 0 {
            let echoed = tsecr
                .filter(|_| tcb.has(flag::TS_OK))
                .and_then(|ecr| echoed_rtt(now, tcb.ts_offset, ecr, cfg.rto_max));
            match echoed {
                Some(rtt_us) => tcb.rtt.sample(rtt_us, self.rto_bounds),
                None => {
                    let rto = SYN_FALLBACK_RTO.clamp(cfg.rto_min, cfg.rto_max);
                    tcb.rtt = RttEstimator::new(rto);
                }
            }
        }
        tcb.retries = 0;
    }
}

/// The round trip since we sent the TSval `ecr` echoes, in µs, at the
/// clock's 1 ms tick and at least one tick (as Linux's `tcp_rtt_tsopt_us`);
/// none for an echo from the future or older than `max`, which no segment
/// of ours can have carried.
fn echoed_rtt(now: Instant, ts_offset: u32, ecr: u32, max: Duration) -> Option<u32> {
    let ticks = ts_val(now, ts_offset).wrapping_sub(ecr);
    (u128::from(ticks) <= max.as_millis()).then(|| ticks.max(1).saturating_mul(1_000))
}

impl Tcb {
    /// Sends the SYN or SYN-ACK again on the next output, not waiting for
    /// the RTO. `karn`: the first may still arrive, so its ACK cannot be
    /// timed; else the repeat is timed afresh.
    #[inline]
    pub(crate) fn resend_syn(&mut self, karn: bool) {
        self.snd_nxt = self.iss;
        self.syn_resent |= karn;
        self.rtt_seq = None;
    }
}
