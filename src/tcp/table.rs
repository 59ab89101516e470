//! The per-worker connection table: one hash map from 4-tuple to either a
//! full TCB or a TIME-WAIT record, so each frame costs a single lookup.

use super::time_wait::{TimeWait, TimeWaits};
use super::{tcb::Tcb, FourTuple, Instant};
use core::hash::BuildHasher;
use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};

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

/// The tag bit of a TIME-WAIT index; slab indices stay below it (see
/// [`grow`]).
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
/// [`Packed`]'s tag bit clear. Only a growing slab comes here, out of
/// line: the steady state reuses freed slots.
#[cold]
#[inline(never)]
pub(crate) fn grow<T>(slab: &mut Vec<T>, vacant: T) -> u32 {
    let index = slab.len();
    assert!(index < TIME_WAIT_BIT as usize, "slab full: {index} slots");
    slab.push(vacant);
    index as u32
}

/// TCBs and TIME-WAIT records in slabs with free lists; freed slots keep their
/// allocations (send buffers) for the next connection. Public so that the
/// table alone can be benchmarked; the engine is its only user.
pub struct Table {
    /// A map from tuple to slot, as a table of pairs hashed by `hasher`
    /// (foldhash, seeded at random per table): so that a new connection's
    /// tuple, known to be absent, is inserted without first being looked
    /// for, which `HashMap::insert` always does.
    map: HashTable<(FourTuple, Packed)>,
    hasher: DefaultHashBuilder,
    pub(crate) tcbs: Vec<Tcb>,
    free_tcbs: Vec<u32>,
    pub(crate) time_waits: TimeWaits,
    live_tcbs: usize,
}

impl Table {
    /// An empty table with room for `capacity` connections before rehashing.
    pub fn with_capacity(capacity: usize) -> Self {
        Table {
            map: HashTable::with_capacity(capacity),
            hasher: DefaultHashBuilder::default(),
            tcbs: Vec::with_capacity(capacity),
            free_tcbs: Vec::new(),
            time_waits: TimeWaits::default(),
            live_tcbs: 0,
        }
    }

    /// What `tuple` maps to: the one lookup each frame costs.
    #[inline]
    pub fn get(&self, tuple: &FourTuple) -> Option<Slot> {
        let hash = self.hasher.hash_one(tuple);
        self.map
            .find(hash, |(t, _)| t == tuple)
            .map(|&(_, packed)| packed.slot())
    }

    /// Maps `tuple`, which maps to something, to `slot` instead: a probe
    /// for the tuple alone, without `entry`'s reserve and insert slot.
    #[inline]
    fn remap(&mut self, tuple: FourTuple, slot: Slot) {
        let hash = self.hasher.hash_one(tuple);
        let found = self.map.find_mut(hash, |(t, _)| *t == tuple);
        debug_assert!(found.is_some(), "{tuple} is not in the table");
        if let Some(entry) = found {
            entry.1 = Packed::new(slot);
        }
    }

    /// Unmaps `tuple`.
    #[inline]
    fn unmap(&mut self, tuple: &FourTuple) {
        let hash = self.hasher.hash_one(tuple);
        if let Ok(e) = self.map.find_entry(hash, |(t, _)| t == tuple) {
            e.remove();
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
    pub fn insert_tcb(&mut self, tuple: FourTuple) -> u32 {
        debug_assert!(self.get(&tuple).is_none(), "{tuple} is in the table");
        let index = take_slot(&mut self.tcbs, &mut self.free_tcbs);
        self.live_tcbs += 1;
        let hash = self.hasher.hash_one(tuple);
        let hasher = &self.hasher;
        self.map
            .insert_unique(hash, (tuple, Packed::new(Slot::Tcb(index))), |(t, _)| {
                hasher.hash_one(t)
            });
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
        let hash = self.hasher.hash_one(tuple);
        let hasher = &self.hasher;
        match self
            .map
            .entry(hash, |(t, _)| *t == tuple, |(t, _)| hasher.hash_one(t))
        {
            Entry::Occupied(e) => Err(Some(e.get().1.slot())),
            Entry::Vacant(_) if self.live_tcbs >= max_tcbs => Err(None),
            Entry::Vacant(e) => {
                let index = take_slot(&mut self.tcbs, &mut self.free_tcbs);
                self.live_tcbs += 1;
                e.insert((tuple, Packed::new(Slot::Tcb(index))));
                Ok(index)
            }
        }
    }

    /// Frees a TCB slot and unmaps its tuple. The engine has disarmed its
    /// timer; the slot keeps the wheel entry for its next connection.
    #[inline]
    pub fn remove_tcb(&mut self, index: u32) {
        let tcb = &mut self.tcbs[index as usize];
        let tuple = tcb.tuple;
        vacate(tcb);
        self.live_tcbs -= 1;
        self.free_tcbs.push(index);
        self.unmap(&tuple);
    }

    /// Replaces the TCB at `index` by its TIME-WAIT record, entered at
    /// `now`: the slot is freed, the tuple kept and pointed at the record.
    pub(crate) fn tcb_to_time_wait(&mut self, index: u32, now: Instant) {
        // One borrow of the slot for the record and the reset, where
        // `remove_tcb` would index (and bounds-check) it again.
        let tcb = &mut self.tcbs[index as usize];
        let tuple = tcb.tuple;
        let tw_index = self.time_waits.insert(tcb, now);
        vacate(tcb);
        self.live_tcbs -= 1;
        self.free_tcbs.push(index);
        self.remap(tuple, Slot::TimeWait(tw_index));
    }

    /// Frees a TIME-WAIT record and unmaps its tuple.
    pub fn remove_time_wait(&mut self, index: u32) {
        let tuple = self.time_waits.remove(index);
        self.unmap(&tuple);
    }

    /// Frees the oldest TIME-WAIT record and unmaps its tuple; false
    /// where there is none.
    pub(crate) fn remove_oldest_time_wait(&mut self) -> bool {
        let Some(tuple) = self.time_waits.remove_oldest() else {
            return false;
        };
        self.unmap(&tuple);
        true
    }

    /// Bytes one established TCB costs: the slot, the map entry (key, value
    /// and control byte), its timer and its send buffer's header (kept out
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
        core::mem::size_of::<(FourTuple, Packed)>() + 1
    }
}

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
