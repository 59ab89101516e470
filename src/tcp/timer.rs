//! Hierarchical timing wheel for the TCP engine's timers (RTO per RFC 6298,
//! delayed ACK, TIME-WAIT, keepalive, ...).
//!
//! The design follows the tokio-style hierarchical wheel
//! (`tokio::runtime::time::wheel`): [`LEVELS`] levels of [`SLOTS`] slots, where
//! a slot on level `l` spans `64^l` ticks. A timer lives on the level given by
//! the most significant 6-bit digit in which its deadline differs from the
//! wheel's current time, so it is cascaded one or more levels down each time
//! the wheel reaches the start of its slot, and fires from level 0 exactly at
//! its deadline.
//!
//! Invariant that makes everything cheap: every timer stored on level `l`
//! agrees with `now` on all digits above `l` and has a strictly greater digit
//! `l`. Hence
//!
//! * each level's occupied slots are all *ahead* of the current position, so
//!   the next one is `trailing_zeros` of the level's occupancy mask — empty
//!   slots are never visited, and a quiet `advance` costs O(levels);
//! * every timer on level `l` precedes every timer on level `l + 1`, so the
//!   earliest pending slot is on the lowest non-empty level;
//! * a timer's list is a pure function of `(deadline, now)`, so entries need
//!   not remember where they are linked and `cancel` is O(1) without storing a
//!   slot index.
//!
//! Deadlines beyond the wheel's range (`64^6` ticks, ~795 days at 1 ms) go to
//! an overflow list that acts as one last slot past level 5; it is re-sorted
//! into the wheel when time reaches the 64^6-aligned block holding its earliest
//! deadline, so such timers still fire at their true deadline.
//!
//! Timers live in a slab (`Vec`) threaded by intrusive doubly-linked lists of
//! `u32` indices, with a free list, so steady-state schedule/cancel never
//! allocates. Handles carry a generation so a stale handle is detected even
//! after its slab slot has been reused.
//!
//! Timers are lazy, as Linux's and tokio's are: [`TimerWheel::arm`] to a later
//! deadline and [`TimerWheel::disarm`] only write the entry, which stays
//! linked where it was. When its slot comes round the entry moves to its real
//! deadline, or is dropped if disarmed; it fires exactly at the deadline last
//! armed. A TCP timer is pushed back or stopped on most ACKs and seldom fires,
//! so most arms and disarms then touch no list. Only arming earlier than
//! where the entry is linked moves it at once.

use core::mem::size_of;
use core::num::NonZeroU32;

/// Bits of a tick value consumed per wheel level.
const BITS: u32 = 6;
/// Slots per level; 64 so a level's occupancy fits one `u64`.
pub const SLOTS: usize = 1 << BITS;
/// Number of wheel levels.
pub const LEVELS: usize = 6;
/// Ticks covered by the wheel before deadlines spill into the overflow list
/// (`64^6 = 2^36`).
pub const RANGE: u64 = 1 << (BITS as usize * LEVELS);

/// Bytes of slab memory per scheduled timer when `T = u32` (32): the deadline
/// it is linked by and the one it fires at, `u64` each; prev/next `u32`,
/// generation `u32` and the value. Freed entries are recycled, so this is
/// also the steady-state cost per live timer.
pub const ENTRY_BYTES: usize = size_of::<Entry<u32>>();

/// Sentinel for "no entry" in the intrusive lists.
const NIL: u32 = u32::MAX;
/// Index into `heads` of the list of timers that were already due when
/// scheduled; kept apart so they never disturb the wheel's invariant.
const READY: usize = LEVELS * SLOTS;
/// Index into `heads` of the beyond-range list.
const OVERFLOW: usize = READY + 1;
/// Total number of list heads.
const LISTS: usize = OVERFLOW + 1;

/// Handle to a scheduled timer; stale after the timer fires or is cancelled.
///
/// Live generations are odd and free slab slots carry even ones, so a stale
/// handle can only alias a newer timer after the same slot has been reused
/// 2^31 times.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimerHandle {
    index: u32,
    /// Nonzero, being odd: so `Option<TimerHandle>` takes no more room
    /// than the handle, and a TCB 4 bytes less.
    generation: NonZeroU32,
}

/// One slab slot. `next` doubles as the free-list link while the slot is free.
#[derive(Clone, Copy)]
struct Entry<T> {
    /// The deadline its list was chosen by (see the module docs); never
    /// later than `deadline` while armed.
    linked_at: u64,
    /// When it fires. Below `linked_at` while disarmed: an entry is never
    /// armed that way, since arming earlier than `linked_at` moves it.
    deadline: u64,
    prev: u32,
    next: u32,
    generation: u32,
    value: T,
}

/// A hierarchical timing wheel over `u64` ticks holding `T` payloads.
pub struct TimerWheel<T> {
    /// Current time; everything with a deadline `<= now` has fired except the
    /// READY list, which fires on the next `advance`.
    now: u64,
    /// Occupancy bit per slot per level; bit set iff the slot's list is non-empty.
    occupied: [u64; LEVELS],
    /// List heads: the wheel slots (`level * 64 + slot`), then READY, OVERFLOW.
    heads: [u32; LISTS],
    slab: Vec<Entry<T>>,
    /// Head of the free list threaded through `Entry::next`.
    free: u32,
    /// Armed timers; disarmed entries still linked are not counted.
    len: usize,
    /// Lower bound on READY deadlines (may be stale-low after cancels, which
    /// is all `next_deadline` needs).
    ready_min: u64,
    /// Lower bound on OVERFLOW deadlines; decides when the list is re-sorted.
    overflow_min: u64,
    /// Reused buffer for ordering READY timers at drain time.
    scratch: Vec<(u64, u32)>,
}

impl<T> Entry<T> {
    #[inline]
    fn armed(&self) -> bool {
        self.deadline >= self.linked_at
    }
}

impl<T: Copy> TimerWheel<T> {
    /// Creates an empty wheel whose current time is `now`.
    pub fn new(now: u64) -> Self {
        Self::with_capacity(now, 0)
    }

    /// Creates an empty wheel with slab room for `capacity` timers, so the
    /// first `capacity` concurrent timers do not allocate either.
    pub fn with_capacity(now: u64, capacity: usize) -> Self {
        TimerWheel {
            now,
            occupied: [0; LEVELS],
            heads: [NIL; LISTS],
            slab: Vec::with_capacity(capacity),
            free: NIL,
            len: 0,
            ready_min: u64::MAX,
            overflow_min: u64::MAX,
            scratch: Vec::new(),
        }
    }

    /// The wheel's current time.
    #[inline]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of armed timers.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no timer is armed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `value` to fire at `deadline`. A deadline at or before the
    /// wheel's current time fires on the next `advance`. O(1).
    #[inline]
    pub fn schedule(&mut self, deadline: u64, value: T) -> TimerHandle {
        let index = self.alloc(deadline, value);
        self.link(index, deadline);
        self.len += 1;
        // Live generations are odd, never zero; the fallback is a
        // handle that cancels nothing, which no live slot can produce.
        let generation = NonZeroU32::new(self.slab[index as usize].generation);
        TimerHandle {
            index,
            generation: generation.unwrap_or(NonZeroU32::MAX),
        }
    }

    /// Cancels a timer and frees its entry at once; returns its value if it
    /// was armed. O(1). A stale handle (already fired/cancelled, slot
    /// possibly reused) returns None and touches nothing.
    #[inline]
    pub fn cancel(&mut self, handle: TimerHandle) -> Option<T> {
        let entry = *self.live(handle)?;
        // Location is a function of (linked_at, now): see the module docs.
        let list = self.list_of(entry.linked_at);
        self.unlink(handle.index, entry.prev, entry.next, list);
        self.release(handle.index);
        if !entry.armed() {
            return None;
        }
        self.len -= 1;
        Some(entry.value)
    }

    /// Arms the timer behind `handle` to fire at `deadline` with `value`,
    /// whether it runs, is disarmed or has never run; a stale or absent
    /// handle schedules a new timer. Returns the handle to keep. O(1): a
    /// deadline no earlier than where the entry is linked only writes it.
    #[inline]
    pub fn arm(&mut self, handle: Option<TimerHandle>, deadline: u64, value: T) -> TimerHandle {
        // The common case — the entry is live and linked no later than the
        // new deadline — only writes it, and is kept small enough to inline
        // into every caller; moving or creating an entry is out of line.
        let Some(handle) = handle else {
            return self.schedule_cold(deadline, value);
        };
        match self.slab.get_mut(handle.index as usize) {
            Some(e) if e.generation == handle.generation.get() && deadline >= e.linked_at => {
                let was_armed = e.armed();
                e.value = value;
                e.deadline = deadline;
                self.len += usize::from(!was_armed);
                handle
            }
            _ => self.arm_cold(handle, deadline, value),
        }
    }

    /// `arm` of a new timer.
    #[inline(never)]
    fn schedule_cold(&mut self, deadline: u64, value: T) -> TimerHandle {
        self.schedule(deadline, value)
    }

    /// `arm` of a stale handle (a new timer), or of a live entry to a
    /// deadline earlier than where it is linked (moved there now).
    #[inline(never)]
    fn arm_cold(&mut self, handle: TimerHandle, deadline: u64, value: T) -> TimerHandle {
        if self.live(handle).is_none() {
            return self.schedule(deadline, value);
        }
        let index = handle.index;
        let e = &mut self.slab[index as usize];
        let was_armed = e.armed();
        e.value = value;
        let (prev, next, at) = (e.prev, e.next, e.linked_at);
        let list = self.list_of(at);
        self.unlink(index, prev, next, list);
        let e = &mut self.slab[index as usize];
        e.linked_at = deadline;
        e.deadline = deadline;
        self.link(index, deadline);
        self.len += usize::from(!was_armed);
        handle
    }

    /// Stops the timer behind `handle`; it will not fire. The entry stays
    /// linked for `arm` to reuse and is freed when its slot comes round.
    /// True if it was armed; a stale handle touches nothing.
    // Always inlined: every TCB's end disarms, and the call cost more
    // than the body.
    #[inline(always)]
    pub fn disarm(&mut self, handle: TimerHandle) -> bool {
        let Some(e) = self.live(handle) else {
            return false;
        };
        if !e.armed() {
            return false;
        }
        if e.linked_at == 0 {
            // No deadline lies below it to mark it disarmed with.
            return self.cancel_cold(handle);
        }
        self.slab[handle.index as usize].deadline = 0;
        self.len -= 1;
        true
    }

    /// `disarm`'s rare case, out of line so that the common one inlines.
    #[inline(never)]
    fn cancel_cold(&mut self, handle: TimerHandle) -> bool {
        self.cancel(handle).is_some()
    }

    /// True while the timer behind `handle` is armed: it will fire.
    #[inline]
    pub fn is_armed(&self, handle: TimerHandle) -> bool {
        self.live(handle).is_some_and(Entry::armed)
    }

    /// The entry a handle names, unless it is stale.
    #[inline]
    fn live(&self, handle: TimerHandle) -> Option<&Entry<T>> {
        self.slab
            .get(handle.index as usize)
            .filter(|e| e.generation == handle.generation.get())
    }

    /// Moves the wheel to `now`, appending every timer with deadline ≤ `now`
    /// to `expired` in nondecreasing deadline order (ties in any order).
    /// `now` earlier than the current time is a no-op (nothing fires).
    ///
    /// Cost is O(levels + slots that actually hold timers + timers moved), not
    /// O(ticks elapsed).
    pub fn advance(&mut self, now: u64, expired: &mut Vec<T>) {
        if now < self.now {
            return;
        }
        if self.heads[READY] != NIL {
            self.drain_ready(expired);
        }
        while let Some((list, start)) = self.next_slot() {
            if start > now {
                break;
            }
            self.now = start;
            self.process(list, expired);
        }
        // Safe to jump: every pending slot starts after `now`, so no timer
        // changes list (module invariant).
        self.now = now;
    }

    /// A time no later than the earliest armed deadline: exact when that
    /// timer is on level 0 and no entry that was pushed back or disarmed is
    /// linked before it, otherwise the start of the first occupied slot
    /// (where an `advance` fires nothing but moves entries on). None when no
    /// timer is armed. Bitmask work only.
    #[inline]
    pub fn next_deadline(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        if self.heads[READY] != NIL {
            return Some(self.ready_min);
        }
        self.next_slot().map(|(_, start)| start)
    }

    /// The earliest non-empty list in the wheel (READY excluded) and the time
    /// at which it must be processed.
    #[inline]
    fn next_slot(&self) -> Option<(usize, u64)> {
        for level in 0..LEVELS {
            let mask = self.occupied[level];
            if mask != 0 {
                // All occupied slots are ahead of `now`'s digit, so the lowest
                // set bit is the next one and no rotation is needed.
                let slot = mask.trailing_zeros() as u64;
                let shift = BITS * level as u32;
                let block = self.now & !((1u64 << (shift + BITS)) - 1);
                let start = block + (slot << shift);
                return Some((level * SLOTS + slot as usize, start));
            }
        }
        if self.heads[OVERFLOW] != NIL {
            // Every overflow timer lies in a later 2^36 block than `now`, so
            // the block of the (possibly stale-low) minimum is still ahead.
            return Some((OVERFLOW, self.overflow_min & !(RANGE - 1)));
        }
        None
    }

    /// Which list a pending timer with this deadline belongs to, given `now`.
    #[inline]
    fn list_of(&self, deadline: u64) -> usize {
        if deadline <= self.now {
            return READY;
        }
        let diff = deadline ^ self.now;
        if diff >= RANGE {
            return OVERFLOW;
        }
        // Highest differing 6-bit digit; `| 63` maps diff < 64 to level 0.
        let level = (63 - (diff | (SLOTS as u64 - 1)).leading_zeros()) / BITS;
        let slot = (deadline >> (level * BITS)) as usize & (SLOTS - 1);
        level as usize * SLOTS + slot
    }

    /// Takes a slab slot, reusing a freed one when possible.
    #[inline]
    fn alloc(&mut self, deadline: u64, value: T) -> u32 {
        if self.free != NIL {
            let index = self.free;
            let e = &mut self.slab[index as usize];
            self.free = e.next;
            e.linked_at = deadline;
            e.deadline = deadline;
            e.generation = e.generation.wrapping_add(1);
            e.value = value;
            index
        } else {
            let index = self.slab.len();
            // NIL is reserved as the list terminator.
            assert!(index < NIL as usize, "timer wheel slab exhausted");
            self.slab.push(Entry {
                linked_at: deadline,
                deadline,
                prev: NIL,
                next: NIL,
                generation: 1,
                value,
            });
            index as u32
        }
    }

    /// Returns a slot to the free list; bumping the generation to even makes
    /// every outstanding handle to it stale.
    #[inline]
    fn release(&mut self, index: u32) {
        let e = &mut self.slab[index as usize];
        e.generation = e.generation.wrapping_add(1);
        e.next = self.free;
        self.free = index;
    }

    /// Pushes `index` onto the front of the list its deadline maps to.
    #[inline]
    fn link(&mut self, index: u32, deadline: u64) {
        let list = self.list_of(deadline);
        let head = self.heads[list];
        if list < READY {
            self.occupied[list / SLOTS] |= 1 << (list % SLOTS);
        } else if list == READY {
            self.ready_min = self.ready_min.min(deadline);
        } else {
            self.overflow_min = self.overflow_min.min(deadline);
        }
        if head != NIL {
            self.slab[head as usize].prev = index;
        }
        let e = &mut self.slab[index as usize];
        e.prev = NIL;
        e.next = head;
        self.heads[list] = index;
    }

    /// Removes `index` (with links `prev`/`next`) from `list`.
    #[inline]
    fn unlink(&mut self, index: u32, prev: u32, next: u32, list: usize) {
        debug_assert!(prev != NIL || self.heads[list] == index);
        if next != NIL {
            self.slab[next as usize].prev = prev;
        }
        if prev != NIL {
            self.slab[prev as usize].next = next;
            return;
        }
        self.heads[list] = next;
        if next == NIL {
            self.mark_empty(list);
        }
    }

    /// Records that `list` holds nothing: its occupancy bit, or the cached
    /// minimum of the ready or overflow list.
    #[inline]
    fn mark_empty(&mut self, list: usize) {
        if list < READY {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        } else if list == READY {
            self.ready_min = u64::MAX;
        } else {
            self.overflow_min = u64::MAX;
        }
    }

    /// Detaches a whole list, leaving it (and its occupancy bit) empty.
    #[inline]
    fn take(&mut self, list: usize) -> u32 {
        let head = core::mem::replace(&mut self.heads[list], NIL);
        self.mark_empty(list);
        head
    }

    /// Handles a slot (or the overflow list) whose start time `self.now` has
    /// reached: due timers fire, disarmed ones are freed, the rest move to
    /// the lists their deadlines now map to, which are always lower levels
    /// (or the overflow list again) unless the deadline was pushed back.
    fn process(&mut self, list: usize, expired: &mut Vec<T>) {
        let mut cur = self.take(list);
        while cur != NIL {
            let e = self.slab[cur as usize];
            // Read before relinking overwrites `next`.
            let next = e.next;
            if !e.armed() {
                self.release(cur);
            } else if e.deadline <= self.now {
                expired.push(e.value);
                self.release(cur);
                self.len -= 1;
            } else {
                self.slab[cur as usize].linked_at = e.deadline;
                self.link(cur, e.deadline);
            }
            cur = next;
        }
    }

    /// Fires the timers that were already due when scheduled, earliest
    /// deadline first; they all precede anything still in the wheel. Those
    /// disarmed since are freed, those pushed past `now` go into the wheel.
    #[cold]
    fn drain_ready(&mut self, expired: &mut Vec<T>) {
        let mut cur = self.take(READY);
        let mut scratch = core::mem::take(&mut self.scratch);
        scratch.clear();
        while cur != NIL {
            let e = &self.slab[cur as usize];
            scratch.push((e.deadline, cur));
            cur = e.next;
        }
        scratch.sort_unstable_by_key(|&(deadline, _)| deadline);
        for &(deadline, index) in &scratch {
            let e = self.slab[index as usize];
            if !e.armed() {
                self.release(index);
            } else if deadline <= self.now {
                expired.push(e.value);
                self.release(index);
                self.len -= 1;
            } else {
                self.slab[index as usize].linked_at = deadline;
                self.link(index, deadline);
            }
        }
        self.scratch = scratch;
    }
}

impl<T> core::fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TimerWheel")
            .field("now", &self.now)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Advances and returns what fired, for terse assertions.
    fn fire(w: &mut TimerWheel<u32>, now: u64) -> Vec<u32> {
        let mut out = Vec::new();
        w.advance(now, &mut out);
        out
    }

    /// Advances one tick at a time and records the tick each value fired at.
    fn fire_ticks(w: &mut TimerWheel<u32>, from: u64, to: u64) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for t in from..=to {
            buf.clear();
            w.advance(t, &mut buf);
            out.extend(buf.iter().map(|&v| (t, v)));
        }
        out
    }

    #[test]
    fn entry_is_32_bytes_for_u32() {
        assert_eq!(ENTRY_BYTES, 32);
        assert_eq!(size_of::<TimerHandle>(), 8);
    }

    /// An RFC 6298 RTO armed for now+1000 must not fire at 999, and must fire
    /// at exactly 1000.
    #[test]
    fn fires_exactly_at_deadline_not_before() {
        let mut w = TimerWheel::new(0);
        w.schedule(1000, 7);
        assert!(fire(&mut w, 999).is_empty());
        assert_eq!(w.len(), 1);
        assert_eq!(fire(&mut w, 1000), vec![7]);
        assert!(w.is_empty());
        assert!(fire(&mut w, 5000).is_empty());
    }

    /// Tick-by-tick, each timer fires on the exact tick of its deadline.
    #[test]
    fn fires_on_exact_tick_when_stepping() {
        let mut w = TimerWheel::new(10);
        for (i, d) in [11u64, 12, 73, 74, 75, 138, 4106, 4107].iter().enumerate() {
            w.schedule(*d, i as u32);
        }
        let got = fire_ticks(&mut w, 10, 5000);
        let want: Vec<(u64, u32)> = [11u64, 12, 73, 74, 75, 138, 4106, 4107]
            .iter()
            .enumerate()
            .map(|(i, d)| (*d, i as u32))
            .collect();
        assert_eq!(got, want);
    }

    /// The RFC 6298 common case: the ACK arrives and the RTO is cancelled
    /// before it fires.
    #[test]
    fn cancel_before_fire() {
        let mut w = TimerWheel::new(0);
        let rto = w.schedule(200, 1);
        let keep = w.schedule(300, 2);
        assert_eq!(fire(&mut w, 100), Vec::<u32>::new());
        assert_eq!(w.cancel(rto), Some(1));
        assert_eq!(w.len(), 1);
        assert_eq!(fire(&mut w, 1000), vec![2]);
        assert_eq!(w.cancel(keep), None);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    /// Cancelling every entry of a shared slot keeps the list and occupancy
    /// bit consistent regardless of position (head, middle, tail).
    #[test]
    fn cancel_head_middle_tail_of_one_slot() {
        let mut w = TimerWheel::new(0);
        let hs: Vec<_> = (0..5).map(|i| w.schedule(5000, i)).collect();
        assert_eq!(w.cancel(hs[2]), Some(2));
        assert_eq!(w.cancel(hs[4]), Some(4));
        assert_eq!(w.cancel(hs[0]), Some(0));
        let mut got = fire(&mut w, 5000);
        got.sort();
        assert_eq!(got, vec![1, 3]);
        let h = w.schedule(6000, 9);
        assert_eq!(w.cancel(h), Some(9));
        assert_eq!(w.next_deadline(), None);
    }

    /// A stale handle (fired or cancelled) returns None, even after its slab
    /// slot has been reused by a new timer, which must stay untouched.
    #[test]
    fn stale_handle_cancel_returns_none_after_reuse() {
        let mut w = TimerWheel::new(0);
        let a = w.schedule(10, 1);
        assert_eq!(w.cancel(a), Some(1));
        let b = w.schedule(20, 2);
        assert_eq!(a.index, b.index, "slot should be reused");
        assert_eq!(w.cancel(a), None);
        assert_eq!(w.len(), 1);
        assert_eq!(fire(&mut w, 20), vec![2]);
        // Fired handle is stale too, also after reuse.
        let c = w.schedule(30, 3);
        assert_eq!(w.cancel(b), None);
        assert_eq!(w.cancel(a), None);
        assert_eq!(w.cancel(c), Some(3));
        // Out-of-range index.
        assert_eq!(
            w.cancel(TimerHandle {
                index: 999,
                generation: NonZeroU32::MIN
            }),
            None
        );
    }

    /// Deadlines straddling every level boundary (tokio-style hierarchical
    /// wheel: 64^l) cascade down and fire exactly on time, both when
    /// advanced in one jump and when approached from just before.
    #[test]
    fn cascades_across_every_level_boundary() {
        let mut deadlines = Vec::new();
        for l in 1..=LEVELS as u32 {
            let b = 64u64.pow(l);
            deadlines.extend([b - 1, b, b + 1]);
        }
        deadlines.push(64u64.pow(5) + 1);
        deadlines.push(64u64.pow(4) * 3 + 64 * 5 + 7);
        for &d in &deadlines {
            for start in [0u64, 1, 63, 12345] {
                if d <= start {
                    continue;
                }
                let mut w = TimerWheel::new(start);
                w.schedule(d, 42);
                assert!(w.next_deadline().unwrap() <= d);
                assert!(fire(&mut w, d - 1).is_empty(), "early: d={d} start={start}");
                assert_eq!(w.next_deadline(), Some(d), "level 0 is exact");
                assert_eq!(fire(&mut w, d), vec![42], "d={d} start={start}");
                // And in a single jump well past the deadline.
                let mut w = TimerWheel::new(start);
                w.schedule(d, 43);
                assert_eq!(fire(&mut w, d + 1000), vec![43]);
            }
        }
    }

    /// Beyond-range deadlines (≥ 64^6 ticks away) wait in the overflow slot
    /// and are re-cascaded so they fire at their true deadline, not early.
    #[test]
    fn beyond_range_clamped_but_fires_at_true_deadline() {
        for d in [RANGE, RANGE + 5, 3 * RANGE + 77, 10 * RANGE - 1, u64::MAX] {
            let mut w = TimerWheel::new(1);
            w.schedule(d, 1);
            let nd = w.next_deadline().unwrap();
            assert!(nd <= d);
            assert!(fire(&mut w, d - 1).is_empty(), "early: d={d}");
            assert_eq!(w.next_deadline(), Some(d));
            assert_eq!(fire(&mut w, d), vec![1]);
            // Stepping through intermediate blocks must not fire it either.
            let mut w = TimerWheel::new(1);
            w.schedule(d, 2);
            let mut t = 1u64;
            while let Some(nd) = w.next_deadline() {
                assert!(nd <= d);
                t = t.max(nd);
                let got = fire(&mut w, t);
                if t < d {
                    assert!(got.is_empty());
                } else {
                    assert_eq!(got, vec![2]);
                }
            }
            assert_eq!(t, d);
        }
    }

    /// A beyond-range timer can be cancelled while parked in overflow.
    #[test]
    fn beyond_range_cancel() {
        let mut w = TimerWheel::new(0);
        let h = w.schedule(5 * RANGE, 1);
        w.schedule(6 * RANGE, 2);
        assert!(fire(&mut w, RANGE + 3).is_empty());
        assert_eq!(w.cancel(h), Some(1));
        assert_eq!(fire(&mut w, 6 * RANGE), vec![2]);
    }

    /// Going back in time is ignored: time stays put and nothing fires, not
    /// even already-due timers.
    #[test]
    fn advancing_backwards_is_noop() {
        let mut w = TimerWheel::new(100);
        w.schedule(150, 1);
        w.schedule(50, 2);
        assert!(fire(&mut w, 99).is_empty());
        assert_eq!(w.now(), 100);
        assert_eq!(w.len(), 2);
        assert_eq!(fire(&mut w, 100), vec![2]);
        assert!(fire(&mut w, 0).is_empty());
        assert_eq!(fire(&mut w, 150), vec![1]);
    }

    /// Past deadlines fire on the next advance, earliest deadline first and
    /// before later timers.
    #[test]
    fn past_deadlines_fire_next_advance_in_order() {
        let mut w = TimerWheel::new(1000);
        w.schedule(1001, 9);
        w.schedule(900, 2);
        w.schedule(1000, 3);
        w.schedule(10, 1);
        assert_eq!(w.next_deadline(), Some(10));
        assert_eq!(fire(&mut w, 1001), vec![1, 2, 3, 9]);
    }

    /// `next_deadline` is never later than the earliest pending deadline and
    /// is exact once that timer reaches level 0.
    #[test]
    fn next_deadline_never_later_than_earliest() {
        let mut w = TimerWheel::new(0);
        assert_eq!(w.next_deadline(), None);
        let ds = [
            5u64,
            70,
            4100,
            300_000,
            20_000_000,
            2_000_000_000,
            5 * RANGE,
        ];
        for (i, &d) in ds.iter().enumerate().rev() {
            w.schedule(d, i as u32);
        }
        let mut out = Vec::new();
        for &d in &ds {
            loop {
                let nd = w.next_deadline().unwrap();
                assert!(nd <= d, "nd={nd} earliest={d}");
                out.clear();
                w.advance(nd, &mut out);
                if !out.is_empty() {
                    assert_eq!(nd, d);
                    break;
                }
            }
        }
        assert_eq!(w.next_deadline(), None);
    }

    /// Timers expiring within one big jump come out in nondecreasing deadline
    /// order, across ticks and levels.
    #[test]
    fn expiries_ordered_across_ticks() {
        let mut w = TimerWheel::new(0);
        let mut ds: Vec<u64> = (0..2000u64).map(|i| (i * 7919) % 300_000 + 1).collect();
        for (i, &d) in ds.iter().enumerate() {
            w.schedule(d, i as u32);
        }
        let mut out = Vec::new();
        w.advance(299_999 + 1, &mut out);
        assert_eq!(out.len(), ds.len());
        let fired: Vec<u64> = out.iter().map(|&i| ds[i as usize]).collect();
        assert!(fired.windows(2).all(|p| p[0] <= p[1]));
        ds.sort();
        assert_eq!(fired, ds);
    }

    /// A long quiet advance visits only occupied slots: the wheel lands on
    /// the target and the lone timer fires once.
    #[test]
    fn quiet_advance_jumps() {
        let mut w = TimerWheel::new(0);
        w.schedule(RANGE - 1, 1);
        assert!(fire(&mut w, RANGE - 2).is_empty());
        assert_eq!(w.now(), RANGE - 2);
        assert_eq!(fire(&mut w, u64::MAX), vec![1]);
        assert_eq!(w.now(), u64::MAX);
        w.schedule(u64::MAX, 2);
        assert_eq!(fire(&mut w, u64::MAX), vec![2]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Schedule(u64),
        Cancel(usize),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Offsets mix near (level 0/1), mid (levels 2-5) and beyond-range
        // deadlines, plus some in the past.
        let offset = prop_oneof![
            4 => 0u64..130,
            2 => 0u64..300_000,
            1 => 0u64..(RANGE * 3),
        ];
        prop_oneof![
            4 => offset.clone().prop_map(Op::Schedule),
            2 => any::<usize>().prop_map(Op::Cancel),
            3 => offset.prop_map(Op::Advance),
        ]
    }

    #[derive(Debug, Clone)]
    enum LazyOp {
        /// Arm key `.0` to now + `.1` (minus some, for past deadlines).
        Arm(usize, u64),
        Disarm(usize),
        Advance(u64),
    }

    fn lazy_op() -> impl Strategy<Value = LazyOp> {
        let offset = prop_oneof![
            4 => 0u64..130,
            2 => 0u64..300_000,
            1 => 0u64..(RANGE * 3),
        ];
        prop_oneof![
            5 => (0usize..8, offset.clone()).prop_map(|(k, o)| LazyOp::Arm(k, o)),
            2 => (0usize..8).prop_map(LazyOp::Disarm),
            3 => offset.prop_map(LazyOp::Advance),
        ]
    }

    /// A lazily disarmed timer never fires, even after its slot comes round
    /// and the key arms again; a timer pushed back fires only at the new
    /// deadline, one pulled in at once.
    #[test]
    fn lazy_rearm_fires_at_the_last_deadline_only() {
        let mut w = TimerWheel::new(0);
        let h = w.arm(None, 100, 1);
        assert_eq!(w.arm(Some(h), 5000, 1), h, "pushed back in place");
        assert!(fire(&mut w, 4999).is_empty());
        assert_eq!(fire(&mut w, 5000), vec![1]);
        assert!(!w.is_armed(h));
        let h = w.arm(Some(h), 7000, 2);
        assert!(w.disarm(h));
        assert_eq!(w.next_deadline(), None, "nothing armed");
        assert!(fire(&mut w, 8000).is_empty());
        let h = w.arm(Some(h), 9000, 3);
        assert_eq!(w.arm(Some(h), 8500, 3), h, "pulled in");
        assert!(fire(&mut w, 8499).is_empty());
        assert_eq!(w.next_deadline(), Some(8500));
        assert_eq!(fire(&mut w, 8500), vec![3]);
        assert!(w.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Model check of the lazy API, as the engine uses it (one handle per
        /// key, kept across arms): each key fires exactly once per arming, at
        /// the first advance with now ≥ its last armed deadline, in
        /// nondecreasing deadline order; never once disarmed; `len` counts
        /// armed keys; `next_deadline` is None with none armed and never
        /// later than the earliest armed deadline.
        #[test]
        fn lazy_arm_matches_model(
            start in prop_oneof![Just(0u64), 0u64..(RANGE * 2), Just(u64::MAX - RANGE * 4)],
            past in 0u64..200,
            ops in prop::collection::vec(lazy_op(), 1..400),
        ) {
            const KEYS: usize = 8;
            let mut w = TimerWheel::new(start);
            let mut handles: [Option<TimerHandle>; KEYS] = [None; KEYS];
            let mut model: [Option<u64>; KEYS] = [None; KEYS];
            let mut out = Vec::new();
            for op in ops {
                match op {
                    LazyOp::Arm(k, off) => {
                        let d = w.now().saturating_add(off).saturating_sub(past * (off % 2));
                        handles[k] = Some(w.arm(handles[k], d, k as u32));
                        model[k] = Some(d);
                    }
                    LazyOp::Disarm(k) => {
                        let was = handles[k].is_some_and(|h| w.disarm(h));
                        prop_assert_eq!(was, model[k].take().is_some());
                    }
                    LazyOp::Advance(off) => {
                        let now = w.now().saturating_add(off);
                        match model.iter().flatten().min() {
                            Some(&min) => {
                                let nd = w.next_deadline();
                                prop_assert!(nd.is_some_and(|nd| nd <= min));
                            }
                            None => prop_assert_eq!(w.next_deadline(), None),
                        }
                        out.clear();
                        w.advance(now, &mut out);
                        let mut due: Vec<(u64, u32)> = (0..KEYS)
                            .filter_map(|k| model[k].filter(|&d| d <= now).map(|d| (d, k as u32)))
                            .collect();
                        due.sort();
                        let mut got: Vec<(u64, u32)> = Vec::new();
                        for &k in &out {
                            let d = model[k as usize].take();
                            prop_assert!(d.is_some(), "key {} fired unarmed or twice", k);
                            got.push((d.unwrap_or_default(), k));
                        }
                        prop_assert!(got.windows(2).all(|p| p[0].0 <= p[1].0));
                        got.sort();
                        prop_assert_eq!(got, due);
                    }
                }
                for k in 0..KEYS {
                    let armed = handles[k].is_some_and(|h| w.is_armed(h));
                    prop_assert_eq!(armed, model[k].is_some());
                }
                prop_assert_eq!(w.len(), model.iter().flatten().count());
            }
            out.clear();
            w.advance(u64::MAX, &mut out);
            prop_assert_eq!(out.len(), model.iter().flatten().count());
            prop_assert!(w.is_empty());
        }

        /// Model check against a naive BTreeMap: every timer fires exactly
        /// once, at the first advance with now ≥ deadline, in nondecreasing
        /// deadline order; none early; cancelled timers never; stale cancels
        /// return None; `next_deadline` never exceeds the earliest deadline.
        #[test]
        fn matches_btreemap_model(
            start in prop_oneof![Just(0u64), 0u64..(RANGE * 2), Just(u64::MAX - RANGE * 4)],
            past in 0u64..200,
            ops in prop::collection::vec(op(), 1..400),
        ) {
            let mut w = TimerWheel::new(start);
            // id -> deadline for pending timers.
            let mut model: BTreeMap<u32, u64> = BTreeMap::new();
            let mut handles: Vec<(TimerHandle, u32)> = Vec::new();
            let mut fired_or_cancelled = std::collections::HashSet::new();
            let mut next_id = 0u32;
            let mut out = Vec::new();
            for op in ops {
                match op {
                    Op::Schedule(off) => {
                        let d = w.now().saturating_add(off).saturating_sub(past * (off % 2));
                        let id = next_id;
                        next_id += 1;
                        handles.push((w.schedule(d, id), id));
                        model.insert(id, d);
                    }
                    Op::Cancel(i) => {
                        if handles.is_empty() { continue; }
                        let (h, id) = handles[i % handles.len()];
                        let got = w.cancel(h);
                        match model.remove(&id) {
                            Some(_) => {
                                prop_assert_eq!(got, Some(id));
                                fired_or_cancelled.insert(id);
                            }
                            None => prop_assert_eq!(got, None),
                        }
                    }
                    Op::Advance(off) => {
                        let now = w.now().saturating_add(off);
                        if let Some(min) = model.values().min() {
                            let nd = w.next_deadline();
                            prop_assert!(nd.is_some_and(|nd| nd <= *min));
                        } else {
                            prop_assert_eq!(w.next_deadline(), None);
                        }
                        out.clear();
                        w.advance(now, &mut out);
                        let mut due: Vec<(u64, u32)> = model
                            .iter()
                            .filter(|&(_, &d)| d <= now)
                            .map(|(&id, &d)| (d, id))
                            .collect();
                        due.sort();
                        for &(_, id) in &due {
                            model.remove(&id);
                        }
                        let got_d: Vec<u64> = out
                            .iter()
                            .map(|id| due.iter().find(|x| x.1 == *id).map(|x| x.0))
                            .map(|d| d.expect("fired a timer that was not due"))
                            .collect();
                        prop_assert!(got_d.windows(2).all(|p| p[0] <= p[1]));
                        let mut got_ids = out.clone();
                        got_ids.sort();
                        let mut want_ids: Vec<u32> = due.iter().map(|x| x.1).collect();
                        want_ids.sort();
                        prop_assert_eq!(got_ids, want_ids);
                        for id in &out {
                            prop_assert!(fired_or_cancelled.insert(*id), "fired twice");
                        }
                    }
                }
                prop_assert_eq!(w.len(), model.len());
            }
            // Drain everything: remaining timers fire, all at once.
            out.clear();
            w.advance(u64::MAX, &mut out);
            prop_assert_eq!(out.len(), model.len());
            prop_assert!(w.is_empty());
        }
    }
}
