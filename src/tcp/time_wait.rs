//! TIME-WAIT (RFC 9293 §3.6.1, §3.10.7.4; RFC 6191; RFC 1337): a compact
//! record instead of a TCB (as Linux's inet_timewait_sock), only what is
//! needed to re-ACK a retransmitted FIN and to judge a new SYN; the slab
//! of records with their age queue; entering, restarting, ending and
//! recycling them; the segments that arrive for them; and the active open
//! that takes one over (Linux `tcp_tw_reuse`).

use super::core::{ts_val, Bare, Core};
use super::engine::{Engine, EngineError};
use super::input::Segment;
use super::table::{grow, Slot};
use super::tcb::{flag, ts_older, Tcb};
use super::{FourTuple, FrameBatch, Instant, State};
use crate::wire::{MacAddr, SeqNumber, TcpFlags};

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
    /// The next older and next younger live records in the age list
    /// ([`NONE`] at its ends; meaningless while the slot is free).
    older: u32,
    younger: u32,
}

/// No record: the end of the age list. Never a slot's index, as the slab
/// would need 2^32 records (256 GiB) to reach it.
const NONE: u32 = u32::MAX;

impl TimeWait {
    /// A slot not yet filled.
    const VACANT: TimeWait = TimeWait {
        tuple: FourTuple::UNSPECIFIED,
        peer_mac: MacAddr([0; 6]),
        ts_ok: false,
        rcv_wscale: 0,
        snd_nxt: SeqNumber(0),
        rcv_nxt: SeqNumber(0),
        ts_recent: 0,
        ts_offset: 0,
        entered: Instant::ZERO,
        last_oow_ack: 0,
        older: NONE,
        younger: NONE,
    };

    /// Becomes the record of `tcb`, entering TIME-WAIT at `now`, field by
    /// field in place (a whole new value would be built aside and copied).
    /// Its links are the age list's to set.
    #[inline]
    fn fill(&mut self, tcb: &Tcb, now: Instant) {
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
/// expiry: the order is the records' timer, and no record needs a timer
/// wheel entry of its own (at millions of records, most of the wheel's
/// work and a 24-byte entry each). The oldest is also the one recycled
/// when `max_time_wait` is reached. The table's map points tuples into it.
///
/// The order is a list linked through the records (oldest to youngest)
/// rather than a queue of indices: a record that restarts or ends early
/// moves or leaves in place, so no stale entry is left behind to skip or
/// compact, and the oldest is always live without a check.
pub(crate) struct TimeWaits {
    records: Vec<TimeWait>,
    free: Vec<u32>,
    /// The ends of the age list, [`NONE`] while it is empty.
    oldest: u32,
    youngest: u32,
}

impl Default for TimeWaits {
    fn default() -> Self {
        TimeWaits {
            records: Vec::new(),
            free: Vec::new(),
            oldest: NONE,
            youngest: NONE,
        }
    }
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

    /// Stores the record of `tcb`, entering TIME-WAIT at `now`, as the
    /// youngest.
    #[inline]
    pub fn insert(&mut self, tcb: &Tcb, now: Instant) -> u32 {
        let index = match self.free.pop() {
            Some(i) => i,
            None => grow(&mut self.records, TimeWait::VACANT),
        };
        self.records[index as usize].fill(tcb, now);
        self.link_youngest(index);
        index
    }

    /// 2MSL begins anew for a record from `now`: it becomes the youngest.
    pub fn restart(&mut self, index: u32, now: Instant) {
        self.records[index as usize].entered = now;
        self.unlink(index);
        self.link_youngest(index);
    }

    /// Frees a record's slot.
    #[inline]
    pub fn remove(&mut self, index: u32) -> FourTuple {
        self.unlink(index);
        self.free.push(index);
        self.records[index as usize].tuple
    }

    /// [`TimeWaits::remove`] for the oldest record, which has no older
    /// neighbour to relink; None where no record is left. One bounds check
    /// serves the test and the removal.
    #[inline]
    pub fn remove_oldest(&mut self) -> Option<FourTuple> {
        self.remove_oldest_if(|_| true)
    }

    /// [`TimeWaits::remove_oldest`] where `ends` holds for the oldest
    /// record; None where it spares it.
    #[inline]
    pub fn remove_oldest_if(&mut self, ends: impl Fn(&TimeWait) -> bool) -> Option<FourTuple> {
        let index = self.oldest;
        let tw = self.records.get(index as usize)?;
        if !ends(tw) {
            return None;
        }
        let (tuple, younger) = (tw.tuple, tw.younger);
        // The bounds check is the end-of-list check: NONE is out of bounds.
        match self.records.get_mut(younger as usize) {
            Some(next) => next.older = NONE,
            None => self.youngest = NONE,
        }
        self.oldest = younger;
        self.free.push(index);
        Some(tuple)
    }

    /// Appends a filled record to the age list.
    #[inline]
    fn link_youngest(&mut self, index: u32) {
        let older = self.youngest;
        let tw = &mut self.records[index as usize];
        tw.older = older;
        tw.younger = NONE;
        match self.records.get_mut(older as usize) {
            Some(prev) => prev.younger = index,
            None => self.oldest = index,
        }
        self.youngest = index;
    }

    /// Takes a record out of the age list, its neighbours joined.
    #[inline]
    fn unlink(&mut self, index: u32) {
        let tw = &self.records[index as usize];
        let (older, younger) = (tw.older, tw.younger);
        match self.records.get_mut(older as usize) {
            Some(prev) => prev.younger = younger,
            None => self.oldest = younger,
        }
        match self.records.get_mut(younger as usize) {
            Some(next) => next.older = older,
            None => self.youngest = older,
        }
    }

    /// When the oldest record's 2MSL ends.
    pub fn next_expiry(&self, lifetime: core::time::Duration) -> Option<Instant> {
        self.records
            .get(self.oldest as usize)
            .map(|tw| tw.entered + lifetime)
    }

    /// The live records, oldest first, by the age list.
    #[cfg(test)]
    pub fn by_age(&self) -> Vec<u32> {
        self.walk(self.oldest, |tw| tw.younger)
    }

    /// The live records, youngest first, by the list's back links.
    #[cfg(test)]
    fn by_age_back(&self) -> Vec<u32> {
        self.walk(self.youngest, |tw| tw.older)
    }

    /// The records met following `next` from `from` to the list's end.
    #[cfg(test)]
    fn walk(&self, from: u32, next: impl Fn(&TimeWait) -> u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = from;
        while let Some(tw) = self.records.get(at as usize) {
            out.push(at);
            at = next(tw);
        }
        out
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
        // Counted before the TCB's own key changes over to TIME-WAIT; and
        // first, so that one borrow of the TCB serves all that follows.
        if self.table.time_wait_count() >= self.core.cfg.max_time_wait
            && self.drop_oldest_time_wait()
        {
            self.core.stats.time_wait_recycled += 1;
        }
        let tcb = &mut self.table.tcbs[index as usize];
        if ack_fin {
            self.core.ack_now(tx, tcb, now);
        }
        self.core.disarm(tcb);
        self.core.closed_in_order(tcb, index, now);
        tcb.transition(State::TimeWait, &mut self.core.stats);
        self.core.stats.time_wait_entered += 1;
        self.core.release_ooo(tcb);
        // A D-SACK that comes now finds no TCB to undo: the record goes.
        self.core.release_episode(tcb);
        self.table.tcb_to_time_wait(index, now);
    }

    /// Ends the records whose 2MSL is over by `now`, oldest first.
    pub(crate) fn expire_time_waits(&mut self, now: Instant) {
        let lifetime = 2 * self.core.cfg.msl;
        let expired = self
            .table
            .remove_oldest_time_waits_while(|tw| tw.entered + lifetime <= now);
        self.core.stats.time_wait_expired += expired;
        self.core
            .stats
            .legal_transitions(State::TimeWait, State::Closed, expired);
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

    /// [`Engine::drop_time_wait`] for the oldest record, to make room for
    /// a new one; false where there is none.
    #[inline]
    fn drop_oldest_time_wait(&mut self) -> bool {
        let dropped = self.table.remove_oldest_time_wait();
        if dropped {
            self.core
                .stats
                .legal_transition(State::TimeWait, State::Closed);
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
    use std::collections::VecDeque;

    proptest! {
        /// RFC 9293 §3.6.1 (2MSL, in order of entry): the age list keeps
        /// the live records in order of entry or last restart, the one a
        /// queue of indices kept, through entries, restarts, early ends
        /// and ends of the oldest; slots are reused last freed first.
        #[test]
        fn rfc9293_3_6_1_the_age_list_is_the_order_of_entry(
            ops in proptest::collection::vec((0u8..4, 0u32..8), 1..200),
        ) {
            let mut tcb = Tcb::vacant();
            let mut t = TimeWaits::default();
            let (mut order, mut free, mut slots) = (VecDeque::<u32>::new(), Vec::<u32>::new(), 0u32);
            for (step, (op, pick)) in ops.into_iter().enumerate() {
                let now = Instant::from_millis(step as u64);
                let chosen = (!order.is_empty()).then(|| order[pick as usize % order.len()]);
                match (op, chosen) {
                    (0, _) => {
                        tcb.tuple.local_port = step as u16;
                        let expected = free.pop().unwrap_or_else(|| { slots += 1; slots - 1 });
                        prop_assert_eq!(t.insert(&tcb, now), expected);
                        prop_assert_eq!(t.get(expected).tuple.local_port, step as u16);
                        order.push_back(expected);
                    }
                    (1, Some(i)) => {
                        t.restart(i, now);
                        order.retain(|&j| j != i);
                        order.push_back(i);
                        prop_assert_eq!(t.get(i).entered, now);
                    }
                    (2, Some(i)) => {
                        let port = t.get(i).tuple.local_port;
                        prop_assert_eq!(t.remove(i).local_port, port);
                        order.retain(|&j| j != i);
                        free.push(i);
                    }
                    _ => {
                        let expected = order.pop_front().map(|i| {
                            free.push(i);
                            t.get(i).tuple
                        });
                        prop_assert_eq!(t.remove_oldest(), expected);
                    }
                }
                prop_assert_eq!(t.by_age(), Vec::from(order.clone()));
                let mut back = Vec::from(order.clone());
                back.reverse();
                prop_assert_eq!(t.by_age_back(), back);
                prop_assert_eq!(&t.free, &free);
            }
        }
    }
}
