//! TIME-WAIT (RFC 9293 §3.6.1, §3.10.7.4; RFC 6191; RFC 1337): a compact
//! record instead of a TCB (as Linux's inet_timewait_sock), only what is
//! needed to re-ACK a retransmitted FIN and to judge a new SYN; the slab
//! of records with their age queue; entering, restarting, ending and
//! recycling them; the segments that arrive for them; and the active open
//! that takes one over (Linux `tcp_tw_reuse`).

use super::core::{ts_val, Bare, Core};
use super::engine::{Engine, EngineError};
use super::input::Segment;
use super::table::Slot;
use super::tcb::{flag, ts_older, Tcb};
use super::{FourTuple, FrameBatch, Instant, State};
use crate::wire::{MacAddr, SeqNumber, TcpFlags};
use std::collections::VecDeque;

/// One connection in TIME-WAIT (RFC 9293 §3.6.1, RFC 6191).
#[derive(Clone, Debug)]
pub(crate) struct TimeWait {
    pub tuple: FourTuple,
    pub peer_mac: MacAddr,
    /// Timestamps were in use: TSval/TSecr go on our re-ACKs and judge new SYNs.
    pub ts_ok: bool,
    pub rcv_wscale: u8,
    pub snd_nxt: SeqNumber,
    pub rcv_nxt: SeqNumber,
    pub ts_recent: u32,
    pub ts_offset: u32,
    /// When it entered TIME-WAIT, or last re-ACKed a retransmitted FIN: an
    /// active open may reuse the tuple a while after (Linux `tcp_tw_reuse`).
    pub entered: Instant,
    /// As the TCB's: the last challenge or out-of-window ACK, in ms.
    pub last_oow_ack: u32,
    /// Order of entry, to find the oldest record when the table is full.
    pub stamp: u32,
    /// Not ended: the slot is not on the free list.
    pub live: bool,
}

impl TimeWait {
    /// A slot not yet filled.
    const VACANT: TimeWait = TimeWait {
        tuple: FourTuple {
            local_ip: std::net::Ipv4Addr::UNSPECIFIED,
            remote_ip: std::net::Ipv4Addr::UNSPECIFIED,
            local_port: 0,
            remote_port: 0,
        },
        peer_mac: MacAddr([0; 6]),
        ts_ok: false,
        rcv_wscale: 0,
        snd_nxt: SeqNumber(0),
        rcv_nxt: SeqNumber(0),
        ts_recent: 0,
        ts_offset: 0,
        entered: Instant::ZERO,
        last_oow_ack: 0,
        stamp: 0,
        live: false,
    };

    /// Becomes the record of `tcb`, entering TIME-WAIT at `now`, field by
    /// field in place (a whole new value would be built aside and copied).
    #[inline]
    fn fill(&mut self, tcb: &Tcb, now: Instant, stamp: u32) {
        self.tuple = tcb.tuple;
        self.peer_mac = tcb.peer_mac;
        self.ts_ok = tcb.has(flag::TS_OK);
        self.rcv_wscale = tcb.rcv_wscale;
        self.snd_nxt = tcb.snd_nxt;
        self.rcv_nxt = tcb.rcv_nxt;
        self.ts_recent = tcb.ts_recent;
        self.ts_offset = tcb.ts_offset;
        self.entered = now;
        self.last_oow_ack = tcb.last_oow_ack;
        self.stamp = stamp;
        self.live = true;
    }

    /// RFC 6191 §2: a SYN may reopen the tuple when its timestamp is newer
    /// than the last seen. Where either incarnation lacks timestamps —
    /// the old one had none, or the new SYN carries none — the sequence
    /// number decides: beyond the old connection's (RFC 9293 §3.6.1, RFC
    /// 1122 4.2.2.13).
    pub fn accepts_new_syn(&self, seq: SeqNumber, tsval: Option<u32>) -> bool {
        match (self.ts_ok, tsval) {
            (true, Some(ts)) => (ts.wrapping_sub(self.ts_recent) as i32) > 0,
            _ => seq > self.rcv_nxt,
        }
    }

    /// RFC 7323 §5.3 PAWS: a TSval older than TS.Recent marks an old
    /// duplicate. No 24-day rule: a record lives 2MSL.
    #[inline]
    pub fn paws_rejects(&self, tsval: u32) -> bool {
        self.ts_ok && ts_older(tsval, self.ts_recent)
    }

    /// ISS for a connection that replaces this one: past anything the old one
    /// sent, so old duplicates cannot be taken for new data (as Linux does).
    pub fn next_iss(&self) -> SeqNumber {
        self.snd_nxt + 65535 + 2
    }
}

/// The TIME-WAIT records of one engine, in a slab with a free list, and
/// their order of entry. Every record lives exactly 2MSL from when it
/// entered or was last restarted, so that order is also the order of
/// expiry: the queue is the records' timer, and no record needs a timer
/// wheel entry of its own (at millions of records, most of the wheel's
/// work and a 24-byte entry each). The oldest is also the one recycled
/// when `max_time_wait` is reached. The table's map points tuples into it.
#[derive(Default)]
pub(crate) struct TimeWaits {
    records: Vec<TimeWait>,
    free: Vec<u32>,
    /// (index, stamp) by age. A restart queues a record again under a new
    /// stamp; pairs that no longer name a live record are skipped when met.
    /// The front is always live (or the queue empty), so that
    /// [`TimeWaits::next_expiry`] is exact.
    order: VecDeque<(u32, u32)>,
    next_stamp: u32,
}

impl TimeWaits {
    #[inline]
    pub fn get(&self, index: u32) -> &TimeWait {
        &self.records[index as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, index: u32) -> &mut TimeWait {
        &mut self.records[index as usize]
    }

    /// Stores the record of `tcb`, entering TIME-WAIT at `now`, stamped
    /// with its order of entry.
    #[inline]
    pub fn insert(&mut self, tcb: &Tcb, now: Instant) -> u32 {
        let stamp = self.take_stamp();
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.records.push(TimeWait::VACANT);
                (self.records.len() - 1) as u32
            }
        };
        self.records[index as usize].fill(tcb, now, stamp);
        self.order.push_back((index, stamp));
        index
    }

    fn take_stamp(&mut self) -> u32 {
        let stamp = self.next_stamp;
        self.next_stamp = stamp.wrapping_add(1);
        stamp
    }

    /// 2MSL begins anew for a record from `now`: it moves to the back.
    pub fn restart(&mut self, index: u32, now: Instant) {
        let stamp = self.take_stamp();
        let tw = &mut self.records[index as usize];
        tw.entered = now;
        tw.stamp = stamp;
        self.order.push_back((index, stamp));
        self.trim();
        self.compact();
    }

    /// Frees a record's slot.
    // Inlined into `remove_oldest` too: a call there costs more than the
    // entry it saves `trim`.
    #[inline(always)]
    pub fn remove(&mut self, index: u32) -> FourTuple {
        let tw = &mut self.records[index as usize];
        tw.live = false;
        let tuple = tw.tuple;
        self.free.push(index);
        self.trim();
        self.compact();
        tuple
    }

    /// [`TimeWaits::remove`] for the oldest record, the front of the
    /// queue: live, so its entry is popped at once rather than found
    /// stale by `trim`. None where no record is left.
    pub fn remove_oldest(&mut self) -> Option<FourTuple> {
        let (index, _) = self.order.pop_front()?;
        Some(self.remove(index))
    }

    /// Whether `(index, stamp)` still names a live record.
    fn live(&self, index: u32, stamp: u32) -> bool {
        let tw = &self.records[index as usize];
        tw.live && tw.stamp == stamp
    }

    /// The oldest live record. It stays queued until removed.
    pub fn oldest(&self) -> Option<u32> {
        self.order.front().map(|&(index, _)| index)
    }

    /// The oldest record, if its 2MSL (`lifetime`) is over by `now`.
    pub fn expired(&self, now: Instant, lifetime: core::time::Duration) -> Option<u32> {
        let index = self.oldest()?;
        (self.records[index as usize].entered + lifetime <= now).then_some(index)
    }

    /// When the oldest record's 2MSL ends.
    pub fn next_expiry(&self, lifetime: core::time::Duration) -> Option<Instant> {
        self.oldest()
            .map(|index| self.records[index as usize].entered + lifetime)
    }

    /// Drops every stale age entry once they outnumber the live records:
    /// restarts and early ends leave entries behind the front, and a peer
    /// retransmitting FINs must not grow the queue past about one entry a
    /// record (which memory budgets count). Amortised O(1): it runs only
    /// after the queue has doubled.
    #[inline]
    fn compact(&mut self) {
        let live = self.records.len() - self.free.len();
        if self.order.len() > 2 * live + 1024 {
            self.drop_stale();
        }
    }

    /// [`TimeWaits::compact`]'s rare work, out of line so that its check
    /// alone is inlined where records end.
    #[cold]
    #[inline(never)]
    fn drop_stale(&mut self) {
        let records = &self.records;
        self.order
            .retain(|&(i, stamp)| records[i as usize].live && records[i as usize].stamp == stamp);
    }

    /// Drops age entries that no longer name a live record from the front,
    /// keeping the front live and the queue about as long as the table.
    fn trim(&mut self) {
        while let Some(&(index, stamp)) = self.order.front() {
            if self.live(index, stamp) {
                break;
            }
            self.order.pop_front();
        }
    }

    /// Entries in the age queue, live or stale.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.order.len()
    }

    /// Bytes of one record's place in the age queue.
    pub const fn order_entry_bytes() -> usize {
        core::mem::size_of::<(u32, u32)>()
    }
}

impl Engine {
    /// When [`Engine::connect`] will take `tuple` again: now, unless we
    /// hold it in TIME-WAIT — then a reuse delay after entering it when
    /// timestamps were in use and reuse is on, else when TIME-WAIT ends.
    pub fn reusable_at(&self, tuple: &FourTuple, now: Instant) -> Instant {
        match self.table.get(tuple) {
            Some(Slot::TimeWait(index)) => {
                let tw = self.table.time_waits.get(index);
                match self.core.cfg.time_wait_reuse {
                    Some(delay) if tw.ts_ok => tw.entered + delay,
                    _ => tw.entered + 2 * self.core.cfg.msl,
                }
            }
            _ => now,
        }
    }

    /// An active open on a tuple we hold in TIME-WAIT, once
    /// [`Engine::reusable_at`] allows it: the record ends and the new
    /// connection's ISS, returned, jumps past anything the peer may still
    /// accept from the old one. Linux `tcp_twsk_unique`: our TSval has
    /// moved on since the peer last heard from this tuple, so its PAWS
    /// keeps old duplicates out.
    pub(crate) fn take_over_time_wait(
        &mut self,
        tw_index: u32,
        tuple: &FourTuple,
        now: Instant,
    ) -> Result<SeqNumber, EngineError> {
        if self.reusable_at(tuple, now) > now {
            return Err(EngineError::TupleInTimeWait);
        }
        let iss = self.table.time_waits.get(tw_index).next_iss();
        self.drop_time_wait(tw_index);
        self.core.stats.time_wait_reopened += 1;
        Ok(iss)
    }

    /// Turns a TCB into a TIME-WAIT record for 2MSL (RFC 9293 §3.10.7.4
    /// eighth). `ack_fin`: the peer's FIN arrived just now and is ACKed
    /// first; from CLOSING it was ACKed already, so nothing is sent.
    pub(crate) fn enter_time_wait(
        &mut self,
        index: u32,
        now: Instant,
        tx: &mut FrameBatch,
        ack_fin: bool,
    ) {
        let tcb = &mut self.table.tcbs[index as usize];
        if ack_fin {
            self.core.ack_now(tx, tcb, now);
        }
        self.core.disarm(tcb);
        self.core.closed_in_order(tcb, index, now);
        tcb.transition(State::TimeWait, &mut self.core.stats);
        self.core.stats.time_wait_entered += 1;
        // Counted before the TCB's own key changes over to TIME-WAIT.
        if self.table.time_wait_count() >= self.core.cfg.max_time_wait
            && self.drop_oldest_time_wait()
        {
            self.core.stats.time_wait_recycled += 1;
        }
        let tcb = &mut self.table.tcbs[index as usize];
        self.core.release_ooo(tcb);
        // A D-SACK that comes now finds no TCB to undo: the record goes.
        self.core.release_episode(tcb);
        self.table.tcb_to_time_wait(index, now);
    }

    /// Ends the records whose 2MSL is over by `now`, oldest first.
    pub(crate) fn expire_time_waits(&mut self, now: Instant) {
        let lifetime = 2 * self.core.cfg.msl;
        while self.table.time_waits.expired(now, lifetime).is_some() {
            self.drop_oldest_time_wait();
            self.core.stats.time_wait_expired += 1;
        }
    }

    /// When the next TIME-WAIT record ends.
    pub(crate) fn next_time_wait_expiry(&self) -> Option<Instant> {
        self.table.time_waits.next_expiry(2 * self.core.cfg.msl)
    }

    /// Ends a TIME-WAIT record: 2MSL is over, or it gives way early.
    pub(crate) fn drop_time_wait(&mut self, tw_index: u32) {
        self.table.remove_time_wait(tw_index);
        self.core.stats.transition(State::TimeWait, State::Closed);
    }

    /// [`Engine::drop_time_wait`] for the oldest record; false where
    /// there is none.
    fn drop_oldest_time_wait(&mut self) -> bool {
        let dropped = self.table.remove_oldest_time_wait();
        if dropped {
            self.core.stats.transition(State::TimeWait, State::Closed);
        }
        dropped
    }

    /// A segment for a connection in TIME-WAIT (RFC 9293 §3.10.7.4, RFC 6191,
    /// RFC 5961, RFC 1337).
    pub(crate) fn on_time_wait(
        &mut self,
        tw_index: u32,
        tuple: FourTuple,
        seg: &Segment,
        now: Instant,
        tx: &mut FrameBatch,
    ) {
        let table_full = self.table.tcb_count() >= self.core.cfg.max_tcbs;
        let tw = self.table.time_waits.get_mut(tw_index);
        let offset = seg.seq - tw.rcv_nxt;
        let wnd = self.core.cfg.advertised_window(tw.rcv_wscale);
        let in_window = offset >= 0 && (offset as u32) < wnd;
        if seg.flags.rst() {
            if self.core.cfg.rfc1337 {
                self.core.stats.ignored += 1;
            } else if offset == 0 {
                self.core.stats.time_wait_reset += 1;
                self.drop_time_wait(tw_index);
            } else if in_window && self.core.challenge_ack_allowed(&mut tw.last_oow_ack, now) {
                self.core.time_wait_ack(tx, tw, now);
            }
            return;
        }
        if seg.flags.syn() && !seg.flags.ack() {
            let listener = self.core.listening(tuple.local_ip, tuple.local_port);
            if let (true, Some(listener)) = (tw.accepts_new_syn(seg.seq, seg.tsval()), listener) {
                // Where the listener could not take the SYN, keep the record:
                // ending it would lose both it and the new connection. The
                // peer retransmits its SYN. (A SYN cookie needs the tuple
                // free for its ACK, so that case goes on.)
                let backlog_full = self.core.backlog_full(listener);
                if table_full && !(backlog_full && self.core.cfg.syn_cookies) {
                    self.core.stats.table_full += 1;
                    return;
                }
                if backlog_full && !self.core.cfg.syn_cookies {
                    self.core.stats.backlog_full += 1;
                    return;
                }
                let iss = tw.next_iss();
                self.core.stats.time_wait_reused += 1;
                self.drop_time_wait(tw_index);
                return self.on_listen(listener, tuple, seg, Some(iss), now, tx);
            }
            if self.core.challenge_ack_allowed(&mut tw.last_oow_ack, now) {
                self.core.time_wait_ack(tx, tw, now);
            }
            return;
        }
        // RFC 7323 §5.3 PAWS holds in TIME-WAIT too: an old duplicate must
        // neither be taken for the peer's retransmitted FIN nor restart 2MSL.
        if seg.tsval().is_some_and(|tsval| tw.paws_rejects(tsval)) {
            self.core.stats.paws_rejected += 1;
            if !seg.carries_nothing() || self.core.oow_ack_allowed(&mut tw.last_oow_ack, now) {
                self.core.time_wait_ack(tx, tw, now);
            }
            return;
        }
        if seg.flags.fin() && seg.seq + seg.len() == tw.rcv_nxt {
            // The peer did not hear our ACK of its FIN: ACK again and wait
            // 2MSL anew (RFC 9293 §3.10.7.4, eighth).
            self.core.time_wait_ack(tx, tw, now);
            self.table.time_waits.restart(tw_index, now);
            return;
        }
        if seg.len() > 0 || (!in_window && self.core.oow_ack_allowed(&mut tw.last_oow_ack, now)) {
            self.core.time_wait_ack(tx, tw, now);
        }
    }
}

impl Core {
    /// The TIME-WAIT record's ACK <SEQ=SND.NXT><ACK=RCV.NXT>.
    fn time_wait_ack(&mut self, tx: &mut FrameBatch, tw: &TimeWait, now: Instant) {
        let bare = Bare {
            window: self.cfg.window_field(tw.rcv_wscale),
            timestamps: tw.ts_ok.then(|| (ts_val(now, tw.ts_offset), tw.ts_recent)),
            ..Bare::new(tw.tuple, tw.peer_mac, tw.snd_nxt, tw.rcv_nxt, TcpFlags::ACK)
        };
        self.emit_bare(tx, &bare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The age queue, the free list, and each slot's liveness and stamp.
    type QueueState = (Vec<(u32, u32)>, Vec<u32>, Vec<(bool, u32)>);

    /// What a queue of records holds.
    fn state(t: &TimeWaits) -> QueueState {
        let records = t.records.iter().map(|r| (r.live, r.stamp)).collect();
        (t.order.iter().copied().collect(), t.free.clone(), records)
    }

    proptest! {
        /// RFC 9293 §3.6.1 (2MSL, in order of entry): ending the oldest
        /// record by `remove_oldest` leaves the queue exactly as `remove`
        /// of `oldest()` does, through entries, restarts and early ends.
        #[test]
        fn rfc9293_3_6_1_remove_oldest_is_remove_of_the_oldest(
            ops in proptest::collection::vec((0u8..4, 0u32..8), 1..200),
        ) {
            let tcb = Tcb::vacant();
            let (mut fast, mut slow) = (TimeWaits::default(), TimeWaits::default());
            for (step, (op, pick)) in ops.into_iter().enumerate() {
                let now = Instant::from_millis(step as u64);
                let live: Vec<u32> = (0..slow.records.len() as u32)
                    .filter(|&i| slow.records[i as usize].live)
                    .collect();
                let chosen = (!live.is_empty()).then(|| live[pick as usize % live.len()]);
                match (op, chosen) {
                    (0, _) => {
                        prop_assert_eq!(fast.insert(&tcb, now), slow.insert(&tcb, now));
                    }
                    (1, Some(i)) => {
                        fast.restart(i, now);
                        slow.restart(i, now);
                    }
                    (2, Some(i)) => {
                        fast.remove(i);
                        slow.remove(i);
                    }
                    _ => {
                        let slow_tuple = slow.oldest().map(|i| slow.remove(i));
                        prop_assert_eq!(fast.remove_oldest(), slow_tuple);
                    }
                }
                prop_assert_eq!(state(&fast), state(&slow));
            }
        }
    }
}
