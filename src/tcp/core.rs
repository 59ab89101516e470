//! What every part of the engine shares but the table: the configuration,
//! timers, the dirty list, events and counters. Kept apart from `Engine` so
//! that a TCB borrowed from the table and the rest can be used together, and
//! so that input, output, timers and TIME-WAIT need not import each other.

use super::challenge::ChallengeLimit;
use super::config::Config;
use super::event::{ConnId, Event, EventKind, Events};
use super::isn::IsnGenerator;
use super::keys::{Keys, TsOffsets};
use super::listen::Listener;
use super::reassembly;
use super::rtt::{RtoBounds, RttEstimator};
use super::spurious;
use super::stats::Stats;
use super::syn_cookie::SynCookies;
use super::tcb::{flag, Tcb, TimerRole};
use super::timer::TimerWheel;
use super::{FourTuple, Instant};
use crate::wire::{MacAddr, SeqNumber, TcpFlags};
use core::time::Duration;

/// Our TSval towards one peer address: a 1 ms clock (within RFC 7323 §5.4's
/// 1 ms–1 s per tick) plus that address pair's offset. With a clock that
/// counts from boot, it keeps growing across runs, so a peer's TIME-WAIT
/// takes our next SYN on a tuple as new (RFC 6191) and PAWS never rejects us.
#[inline]
pub(crate) fn ts_val(now: Instant, offset: u32) -> u32 {
    (now.as_millis() as u32).wrapping_add(offset)
}

/// The TCB a timer belongs to, by index: one `u32`, so that a timer wheel
/// entry stays small at a million connections. TIME-WAIT records need no
/// timer of their own (see `TimeWaits`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey(u32);

impl TimerKey {
    #[inline]
    pub fn tcb(index: u32) -> Self {
        TimerKey(index)
    }

    #[inline]
    pub fn index(self) -> u32 {
        self.0
    }
}

/// Header fields of a segment that has no TCB behind it (RST to no
/// connection, TIME-WAIT's re-ACK, abort, a SYN cookie's SYN-ACK).
pub(crate) struct Bare {
    pub tuple: FourTuple,
    pub peer_mac: MacAddr,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    pub window: u16,
    /// MSS and window scale options: only a SYN cookie's SYN-ACK carries them.
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub timestamps: Option<(u32, u32)>,
    /// SACK-permitted: only a SYN cookie's SYN-ACK, when the TSval can
    /// remember it.
    pub sack_permitted: bool,
}

impl Bare {
    /// A segment with a zero window and no options; the few that need
    /// more set them after.
    #[inline]
    pub fn new(
        tuple: FourTuple,
        peer_mac: MacAddr,
        seq: SeqNumber,
        ack: SeqNumber,
        flags: TcpFlags,
    ) -> Self {
        Bare {
            tuple,
            peer_mac,
            seq,
            ack,
            flags,
            window: 0,
            mss: None,
            window_scale: None,
            timestamps: None,
            sack_permitted: false,
        }
    }
}

/// Everything but the table, so that a TCB borrowed from the table and the
/// rest of the engine can be used together.
pub(crate) struct Core {
    pub cfg: Config,
    /// `cfg.rto_min` and `cfg.rto_max` in the RTT estimator's microseconds.
    pub rto_bounds: RtoBounds,
    /// A new connection's estimator (`cfg.rto_initial`), converted once.
    pub rtt_initial: RttEstimator,
    pub mac: MacAddr,
    pub isn: IsnGenerator,
    pub keys: Keys,
    /// The TSval offsets of recent address pairs, from `keys`.
    pub ts_offsets: TsOffsets,
    pub listeners: Vec<Listener>,
    pub timers: TimerWheel<TimerKey>,
    pub dirty: Vec<u32>,
    pub aborts: Vec<Bare>,
    pub events: Events,
    pub stats: Stats,
    pub cookies: SynCookies,
    /// When the last cookie was sent: only then are ACKs to a listener
    /// checked as cookies (Linux does the same).
    pub last_cookie: Option<Instant>,
    pub challenge: ChallengeLimit,
    /// Out-of-order queues, lent to connections with a gap.
    pub ooo: reassembly::Pool,
    /// Loss episodes' undo records, lent to connections that retransmit.
    pub episodes: spurious::Pool,
    /// A D-SACK block (RFC 2883) for the next ACK `emit` builds, taken
    /// by it: set just before an ACK of a duplicate segment goes.
    pub dsack: Option<(SeqNumber, SeqNumber)>,
}

/// The wheel tick (ms) at which a timer of length `after` from `now` fires:
/// never the current tick, so a timer never fires early.
pub(crate) fn deadline_ms(now: Instant, after: Duration) -> u64 {
    // `as_nanos` is 128 bits wide; this saturates where it would not fit.
    let after_ns = after
        .as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(after.subsec_nanos()));
    deadline_after_ns(now, after_ns)
}

/// `deadline_ms` for a timer of `after_ns` nanoseconds.
#[inline]
fn deadline_after_ns(now: Instant, after_ns: u64) -> u64 {
    let end_ns = now.as_nanos().saturating_add(after_ns);
    if after_ns >= 1_000_000 {
        // A tick or more (every RTO and probe): the end lies beyond the
        // current tick already, saturated or not. And it is not 0, so
        // its ceiling is one past the floor of one less: a division
        // without `div_ceil`'s test for a remainder.
        return (end_ns - 1) / 1_000_000 + 1;
    }
    end_ns.div_ceil(1_000_000).max(now.as_millis() + 1)
}

impl Core {
    /// Queues the TCB for `poll_transmit`.
    #[inline]
    pub(crate) fn mark_dirty(&mut self, tcb: &mut Tcb, index: u32) {
        if !tcb.has(flag::DIRTY) {
            tcb.set(flag::DIRTY);
            self.dirty.push(index);
        }
    }

    /// (Re)arms the TCB's one timer, in the wheel entry it holds if any.
    #[inline]
    pub(crate) fn arm(&mut self, tcb: &mut Tcb, index: u32, after: Duration, now: Instant) {
        self.arm_at(tcb, index, deadline_ms(now, after));
    }

    /// `arm` for a timer of `after_us` microseconds, the RTT estimator's
    /// unit: the RTO and the probe and reorder timeouts need no `Duration`.
    #[inline]
    pub(crate) fn arm_us(&mut self, tcb: &mut Tcb, index: u32, after_us: u32, now: Instant) {
        let deadline = deadline_after_ns(now, u64::from(after_us) * 1_000);
        self.arm_at(tcb, index, deadline);
    }

    /// The two above once the deadline is a wheel tick: the timer becomes
    /// a plain one, whichever role it had, until the caller names it.
    #[inline]
    fn arm_at(&mut self, tcb: &mut Tcb, index: u32, deadline: u64) {
        tcb.timer_role = TimerRole::Plain;
        tcb.timer = Some(self.timers.arm(tcb.timer, deadline, TimerKey::tcb(index)));
    }

    /// Stops the TCB's timer, if it runs; the TCB keeps the wheel entry for
    /// its next `arm` (lazy: see `timer`).
    #[inline]
    pub(crate) fn disarm(&mut self, tcb: &mut Tcb) {
        tcb.timer_role = TimerRole::Plain;
        if let Some(h) = tcb.timer {
            self.timers.disarm(h);
        }
    }

    /// True while the TCB's timer runs.
    #[inline]
    pub(crate) fn armed(&self, tcb: &Tcb) -> bool {
        tcb.timer.is_some_and(|h| self.timers.is_armed(h))
    }

    /// Gives the TCB's out-of-order queue back to the pool, if it holds one.
    #[inline]
    pub(crate) fn release_ooo(&mut self, tcb: &mut Tcb) {
        if tcb.ooo != reassembly::NONE {
            self.ooo.release(tcb.ooo);
            tcb.ooo = reassembly::NONE;
        }
    }

    /// Tells the application.
    #[inline]
    pub(crate) fn event(&mut self, tcb: &Tcb, index: u32, kind: EventKind, now: Instant) {
        self.events.push(Event {
            conn: ConnId {
                index,
                generation: tcb.generation,
            },
            tuple: tcb.tuple,
            kind,
            at: now,
            snd_nxt: tcb.snd_max,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deadline a timer gets, as `Instant + Duration` computed it
    /// before timers were armed in integer µs: never the current tick.
    fn deadline_via_instant(now: Instant, after: Duration) -> u64 {
        (now + after)
            .as_nanos()
            .div_ceil(1_000_000)
            .max(now.as_millis() + 1)
    }

    proptest::proptest! {
        /// RFC 6298 §5's timers fire no earlier than asked: the wheel tick
        /// from integer µs (`arm_us`) and from a `Duration` (`arm`) is the
        /// one `Instant + Duration` gives, saturation included.
        #[test]
        fn rfc6298_5_deadlines_in_microseconds_match_the_duration_form(
            now in proptest::prelude::any::<u64>(),
            after_us in proptest::prelude::any::<u32>(),
            after_ns in proptest::prelude::any::<u64>(),
        ) {
            let now = Instant::from_nanos(now);
            let us = Duration::from_micros(u64::from(after_us));
            proptest::prop_assert_eq!(
                deadline_after_ns(now, u64::from(after_us) * 1_000),
                deadline_via_instant(now, us)
            );
            let d = Duration::from_nanos(after_ns) * 3;
            proptest::prop_assert_eq!(deadline_ms(now, d), deadline_via_instant(now, d));
        }
    }
}
