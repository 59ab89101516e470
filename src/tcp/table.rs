//! The per-worker connection table: one hash map from 4-tuple to either a
//! full TCB or a TIME-WAIT record, so each frame costs a single lookup.

use super::time_wait::{TimeWait, TimeWaits};
use super::tuple_map::{self, TupleMap};
use super::{tcb::Tcb, FourTuple, Instant};
use core::cell::Cell;

/// What a 4-tuple maps to: an index into the TCB or the TIME-WAIT slab.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    Tcb(u32),
    TimeWait(u32),
}

/// A [`Slot`] as the map stores it, in one word: the enum takes two, and
/// a map entry is paid for by every connection and TIME-WAIT record.
#[derive(Copy, Clone)]
struct Packed(u32);

/// The tag bit of a TIME-WAIT index; slab indices stay below it, and
/// below the map's empty mark (see [`grow`]).
const TIME_WAIT_BIT: u32 = 1 << 31;

impl Packed {
    #[inline]
    fn new(slot: Slot) -> Self {
        match slot {
            Slot::Tcb(i) => Packed(i),
            Slot::TimeWait(i) => Packed(i | TIME_WAIT_BIT),
        }
    }

    #[inline]
    fn slot(self) -> Slot {
        let index = self.0 & !TIME_WAIT_BIT;
        if self.0 & TIME_WAIT_BIT == 0 {
            Slot::Tcb(index)
        } else {
            Slot::TimeWait(index)
        }
    }
}

/// Appends `vacant` to a slab and returns its index, which must leave
/// [`Packed`]'s tag bit clear and pack to no [`tuple_map::EMPTY`]. Only a
/// growing slab comes here, out of line: the steady state reuses freed
/// slots.
#[cold]
#[inline(never)]
pub(crate) fn grow<T>(slab: &mut Vec<T>, vacant: T) -> u32 {
    let index = slab.len();
    // Below the tag bit less one: TIME-WAIT's last index would pack to
    // the map's empty mark (all ones).
    const _: () = assert!((TIME_WAIT_BIT - 2) | TIME_WAIT_BIT != tuple_map::EMPTY);
    assert!(
        index < (TIME_WAIT_BIT - 1) as usize,
        "slab full: {index} slots"
    );
    slab.push(vacant);
    index as u32
}

/// TCBs and TIME-WAIT records in slabs with free lists; freed slots keep their
/// allocations (send buffers) for the next connection. Public so that the
/// table alone can be benchmarked; the engine is its only user.
pub struct Table {
    /// Tuple to packed slot (`tuple_map.rs`: one cache line a lookup). A
    /// new connection's tuple, known to be absent, is inserted without
    /// first being looked for.
    map: TupleMap,
    /// The position where [`Table::get`] last found a tuple: the frame
    /// that ends a connection or moves it to TIME-WAIT was just looked
    /// up, so the unmap or remap that follows finds its entry without a
    /// hash and probe. Only a hint: growth and removals move entries, so
    /// a position is trusted only where it still holds the very tuple
    /// (unique in the map).
    last_hit: Cell<usize>,
    pub(crate) tcbs: Vec<Tcb>,
    free_tcbs: Vec<u32>,
    pub(crate) time_waits: TimeWaits,
    live_tcbs: usize,
}

impl Table {
    /// An empty table with room for `capacity` connections before rehashing.
    pub fn with_capacity(capacity: usize) -> Self {
        Table {
            map: TupleMap::with_capacity(capacity),
            last_hit: Cell::new(0),
            tcbs: Vec::with_capacity(capacity),
            free_tcbs: Vec::new(),
            time_waits: TimeWaits::default(),
            live_tcbs: 0,
        }
    }

    /// What `tuple` maps to: the one lookup each frame costs.
    #[inline]
    pub fn get(&self, tuple: &FourTuple) -> Option<Slot> {
        self.get_hashed(tuple, self.map.hash(tuple))
    }

    /// `tuple`'s hash, for [`Table::touch`] and [`Table::get_hashed`].
    #[inline]
    pub(crate) fn hash(&self, tuple: &FourTuple) -> u64 {
        self.map.hash(tuple)
    }

    /// Loads the line where the lookup of the tuple of `hash` starts, so
    /// that a batch's lookups miss the cache together, not in turn.
    #[inline]
    pub(crate) fn touch(&self, hash: u64) {
        self.map.touch(hash);
    }

    /// [`Table::get`] with the tuple's [`Table::hash`] at hand.
    #[inline]
    pub(crate) fn get_hashed(&self, tuple: &FourTuple, hash: u64) -> Option<Slot> {
        let pos = self.map.find_hashed(tuple, hash)?;
        self.last_hit.set(pos);
        Some(Packed(self.map.value(pos)).slot())
    }

    /// Unmaps `tuple`, looking first at position `hint`.
    #[inline]
    fn unmap(&mut self, tuple: &FourTuple, hint: usize) {
        if let Some(pos) = self.map.find_hinted(tuple, hint) {
            self.map.remove_at(pos);
        }
    }

    /// Full TCBs in use.
    pub fn tcb_count(&self) -> usize {
        self.live_tcbs
    }

    /// TIME-WAIT records in use.
    pub fn time_wait_count(&self) -> usize {
        self.map.len() - self.live_tcbs
    }

    /// Takes a free TCB slot for `tuple` (the caller fills it in) and maps the
    /// tuple to it. The tuple must map to nothing: every caller has just
    /// found it absent, or ended what it mapped to.
    // Always inlined: a passive open calls it once per connection, and out
    // of line the call, its saved registers and the tuple's spill cost 10
    // instructions (plain `#[inline]` was not taken).
    #[inline(always)]
    pub fn insert_tcb(&mut self, tuple: FourTuple) -> u32 {
        debug_assert!(self.get(&tuple).is_none(), "{tuple} is in the table");
        let index = take_slot(&mut self.tcbs, &mut self.free_tcbs);
        self.live_tcbs += 1;
        self.map
            .insert_unique(tuple, Packed::new(Slot::Tcb(index)).0);
        index
    }

    /// An active open's insert: maps `tuple` to a free TCB slot, unless it
    /// maps to something already (`Err(Some(slot))`) or `max_tcbs` TCBs are
    /// live (`Err(None)`). One hash and one probe, where [`Table::get`]
    /// followed by [`Table::insert_tcb`] take two of each.
    pub(crate) fn insert_tcb_if_absent(
        &mut self,
        tuple: FourTuple,
        max_tcbs: usize,
    ) -> Result<u32, Option<Slot>> {
        match self.map.vacancy_for(&tuple) {
            Ok(pos) => {
                // For the TIME-WAIT record's end when the open takes it over.
                self.last_hit.set(pos);
                Err(Some(Packed(self.map.value(pos)).slot()))
            }
            Err(_) if self.live_tcbs >= max_tcbs => Err(None),
            Err(pos) => {
                let index = take_slot(&mut self.tcbs, &mut self.free_tcbs);
                self.live_tcbs += 1;
                self.map.fill(pos, tuple, Packed::new(Slot::Tcb(index)).0);
                Ok(index)
            }
        }
    }

    /// Frees a TCB slot and unmaps its tuple. The engine has disarmed its
    /// timer; the slot keeps the wheel entry for its next connection.
    // Always inlined: the caller's frame was just looked up, and out of
    // line the hint's fast path paid a call and spills of the tuple.
    #[inline(always)]
    pub fn remove_tcb(&mut self, index: u32) {
        let tcb = &mut self.tcbs[index as usize];
        let tuple = tcb.tuple;
        vacate(tcb);
        self.live_tcbs -= 1;
        self.free_tcbs.push(index);
        self.unmap(&tuple, self.last_hit.get());
    }

    /// Replaces the TCB at `index` by its TIME-WAIT record, entered at
    /// `now`: the slot is freed, the tuple kept and pointed at the record.
    pub(crate) fn tcb_to_time_wait(&mut self, index: u32, now: Instant) {
        // One borrow of the slot for the record and the reset, where
        // `remove_tcb` would index (and bounds-check) it again.
        let tcb = &mut self.tcbs[index as usize];
        let found = self.map.find_hinted(&tcb.tuple, self.last_hit.get());
        debug_assert!(found.is_some(), "{} is not in the table", tcb.tuple);
        if let Some(pos) = found {
            let tw_index = self.time_waits.insert(tcb, now);
            self.map
                .set_value(pos, Packed::new(Slot::TimeWait(tw_index)).0);
        }
        vacate(tcb);
        self.live_tcbs -= 1;
        self.free_tcbs.push(index);
    }

    /// Frees a TIME-WAIT record and unmaps its tuple: a record that ends
    /// early, on a frame or an open that just found it.
    pub fn remove_time_wait(&mut self, index: u32) {
        let tuple = self.time_waits.remove(index);
        self.unmap(&tuple, self.last_hit.get());
    }

    /// Frees the oldest TIME-WAIT records while `ends` holds for them (their
    /// 2MSL is over, say) and unmaps their tuples; returns how many. The
    /// lookups of up to [`LOOKAHEAD`] records are started (their home
    /// lines loaded, as a received batch's are) before any is unmapped:
    /// expiry's tuples were last touched 2MSL ago, so at millions of
    /// records each lookup misses the cache, and back to back the misses
    /// overlap.
    pub(crate) fn remove_oldest_time_waits_while(
        &mut self,
        ends: impl Fn(&TimeWait) -> bool,
    ) -> u64 {
        let mut removed = 0;
        loop {
            // The records go at once, their tuples kept with their
            // hashes: nothing reads the map before they are unmapped
            // just after.
            let mut due = [(FourTuple::UNSPECIFIED, 0); LOOKAHEAD];
            let mut n = 0;
            for (tuple, hash) in &mut due {
                let Some(t) = self.time_waits.remove_oldest_if(&ends) else {
                    break;
                };
                *hash = self.map.hash(&t);
                self.map.touch(*hash);
                *tuple = t;
                n += 1;
            }
            for (tuple, hash) in &due[..n] {
                if let Some(pos) = self.map.find_hashed(tuple, *hash) {
                    self.map.remove_at(pos);
                }
            }
            removed += n as u64;
            if n < LOOKAHEAD {
                return removed;
            }
        }
    }

    /// Frees the oldest TIME-WAIT record and unmaps its tuple, to make
    /// room for a new one; false where there is none. Nothing looked the
    /// tuple up, so it is probed for: a position kept in the record would
    /// save a probe at 8 bytes a record, which millions of records pay in
    /// memory and cache.
    #[inline]
    pub(crate) fn remove_oldest_time_wait(&mut self) -> bool {
        let Some(tuple) = self.time_waits.remove_oldest() else {
            return false;
        };
        if let Some(pos) = self.map.find(&tuple) {
            self.map.remove_at(pos);
        }
        true
    }

    /// Bytes one established TCB costs: the slot, the map entry (key and
    /// value), its timer and its send buffer's header (kept out
    /// of line). Excludes send-buffer contents.
    pub fn bytes_per_tcb() -> usize {
        core::mem::size_of::<Tcb>()
            + Self::map_entry_bytes()
            + super::timer::ENTRY_BYTES
            + core::mem::size_of::<Vec<u8>>()
    }

    /// Bytes one TIME-WAIT entry costs, counted the same way (it has no
    /// timer; its place in the age order is in the record).
    pub fn bytes_per_time_wait() -> usize {
        core::mem::size_of::<TimeWait>() + Self::map_entry_bytes()
    }

    fn map_entry_bytes() -> usize {
        TupleMap::ENTRY_BYTES
    }
}

/// How many lookups run ahead of the work that needs them: enough for
/// their cache misses to overlap (a core keeps some ten in flight), few
/// enough that the batch's entries are still in cache when its work
/// comes.
pub(crate) const LOOKAHEAD: usize = 16;

/// Resets a freed TCB slot, keeping its allocations. The slot's reset, not
/// a transition: `Engine::finish` or `Engine::enter_time_wait` counted the
/// connection's last one.
#[inline]
fn vacate(tcb: &mut Tcb) {
    tcb.state = super::State::Closed;
    tcb.flags = 0;
    tcb.generation = tcb.generation.wrapping_add(1);
    tcb.send_buf.clear();
}

/// A free TCB slot: the last freed (its buffer and wheel entry warm), or a
/// new one.
#[inline]
fn take_slot(tcbs: &mut Vec<Tcb>, free_tcbs: &mut Vec<u32>) -> u32 {
    match free_tcbs.pop() {
        Some(i) => i,
        None => grow(tcbs, Tcb::vacant()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::tuple_map::tests::tuple;
    use proptest::prelude::*;
    use std::collections::{HashMap, VecDeque};

    impl Table {
        /// The whole map, read without [`Table::get`] (which moves the hint).
        fn entries(&self) -> HashMap<FourTuple, Slot> {
            self.map
                .iter()
                .map(|(t, p)| (t, Packed(p).slot()))
                .collect()
        }
    }

    #[test]
    fn entries_and_records_keep_to_their_budgets() {
        assert_eq!(Table::map_entry_bytes(), 16);
        assert!(core::mem::size_of::<TimeWait>() <= 56);
        assert!(core::mem::size_of::<Tcb>() <= 160);
        for slot in [
            Slot::Tcb(0),
            Slot::Tcb(TIME_WAIT_BIT - 1),
            Slot::TimeWait(0),
            Slot::TimeWait(TIME_WAIT_BIT - 1),
        ] {
            assert_eq!(Packed::new(slot).slot(), slot);
        }
    }

    /// Expiry looks positions up [`LOOKAHEAD`] records at a time: runs that
    /// end inside a lookahead, at its edge, and across several all end
    /// exactly the records due, oldest first, and unmap exactly theirs.
    #[test]
    fn expiry_across_lookahead_edges_ends_exactly_the_due_records() {
        let mut t = Table::with_capacity(0);
        let records = 3 * LOOKAHEAD as u16 + 5;
        for i in 0..records {
            let index = t.insert_tcb(tuple(i));
            t.tcbs[index as usize].tuple = tuple(i);
            t.tcb_to_time_wait(index, Instant::from_millis(u64::from(i)));
        }
        let mut gone = 0;
        for due in [0, 1, LOOKAHEAD - 1, LOOKAHEAD, LOOKAHEAD + 1, 4] {
            let cutoff = gone + due as u16;
            let removed = t.remove_oldest_time_waits_while(|tw| {
                tw.entered < Instant::from_millis(u64::from(cutoff))
            });
            assert_eq!(removed, due as u64, "records entered before {cutoff}");
            gone = cutoff;
            for i in 0..records {
                let expected = (i >= gone).then_some(());
                assert_eq!(t.get(&tuple(i)).map(|_| ()), expected, "record {i}");
            }
        }
        assert_eq!(t.time_wait_count(), usize::from(records - gone));
    }

    proptest! {
        /// Against a `HashMap` model, from an empty map that grows
        /// (4 to 256 positions; each growth moves every entry, as a rehash
        /// in place does): the position remembered by the last lookup goes
        /// stale, or names another tuple (the lookup before each step is
        /// of a random one), and every removal,
        /// remap, expiry and lookup still acts on its own tuple.
        #[test]
        fn stale_position_hints_fall_back_to_a_probe(
            ops in proptest::collection::vec((0u8..8, 0u16..160, 0u16..160), 1..1500),
        ) {
            let mut t = Table::with_capacity(0);
            let mut model = HashMap::<FourTuple, Slot>::new();
            let mut ages = VecDeque::<(FourTuple, Instant)>::new();
            for (step, (op, pick, hint)) in ops.into_iter().enumerate() {
                let now = Instant::from_millis(step as u64);
                let tu = tuple(pick);
                // The engine's order: the frame's lookup, then what it does.
                prop_assert_eq!(t.get(&tuple(hint)), model.get(&tuple(hint)).copied());
                match (op, model.get(&tu).copied()) {
                    (0 | 1, None) => {
                        prop_assert_eq!(t.get(&tu), None);
                        let index = t.insert_tcb(tu);
                        t.tcbs[index as usize].tuple = tu;
                        model.insert(tu, Slot::Tcb(index));
                    }
                    (2, found) => match t.insert_tcb_if_absent(tu, usize::MAX) {
                        Ok(index) => {
                            prop_assert_eq!(found, None);
                            t.tcbs[index as usize].tuple = tu;
                            model.insert(tu, Slot::Tcb(index));
                        }
                        Err(slot) => prop_assert_eq!(slot, found),
                    },
                    (3, Some(Slot::Tcb(index))) => {
                        t.remove_tcb(index);
                        model.remove(&tu);
                    }
                    (4, Some(Slot::Tcb(index))) => {
                        t.tcb_to_time_wait(index, now);
                        let Some(Slot::TimeWait(tw)) = t.entries().get(&tu).copied() else {
                            return Err(TestCaseError::fail(format!("{tu} not in TIME-WAIT")));
                        };
                        prop_assert_eq!(t.time_waits.get(tw).tuple, tu);
                        model.insert(tu, Slot::TimeWait(tw));
                        ages.push_back((tu, now));
                    }
                    (5, Some(Slot::TimeWait(index))) => {
                        t.remove_time_wait(index);
                        model.remove(&tu);
                        ages.retain(|&(a, _)| a != tu);
                    }
                    (6, _) => {
                        prop_assert_eq!(t.remove_oldest_time_wait(), !ages.is_empty());
                        if let Some((oldest, _)) = ages.pop_front() {
                            model.remove(&oldest);
                        }
                    }
                    // Expiry of every record entered up to `hint` ms ago:
                    // none, some, or more than a lookahead's worth at once.
                    (7, _) => {
                        let cutoff = Instant::from_millis((step as u64).saturating_sub(u64::from(hint)));
                        let due = ages.iter().take_while(|&&(_, at)| at <= cutoff).count();
                        prop_assert_eq!(
                            t.remove_oldest_time_waits_while(|tw| tw.entered <= cutoff),
                            due as u64
                        );
                        for (gone, _) in ages.drain(..due) {
                            model.remove(&gone);
                        }
                    }
                    _ => {}
                }
                prop_assert_eq!(t.entries(), model.clone());
                let tcbs = model.values().filter(|s| matches!(s, Slot::Tcb(_))).count();
                prop_assert_eq!(t.tcb_count(), tcbs);
                prop_assert_eq!(t.time_wait_count(), model.len() - tcbs);
            }
        }
    }
}
