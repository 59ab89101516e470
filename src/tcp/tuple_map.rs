//! The map under the connection table: 4-tuple to a slot word, by open
//! addressing with linear probing, four 16-byte entries to a 64-byte line.
//!
//! Why not hashbrown's table: it keeps its control bytes apart from its
//! entries, so a lookup whose tuple is out of cache reads two places in
//! series, the control group and then the entry it points to (at 10 M
//! records the control bytes, one an entry, mostly stay in the last-level
//! cache; the entries do not). At millions of TIME-WAIT records every
//! expiry, every SYN and every active open looks up such a tuple
//! (callgrind's cache model at 10 M records: 3.1 of 4.1 last-level misses
//! a lifecycle were the map's).
//! Here a tuple's home is the start of a line and the key sits beside its
//! value: one line holds the first four candidates, so most lookups, found
//! or not, touch one line, and a probe that runs on reads the next line,
//! which the hardware prefetches.
//!
//! Removal shifts the entries after the hole back (Knuth's Algorithm R)
//! rather than leaving tombstones, so no probe ever walks past dead
//! entries and nothing needs compacting.

use super::FourTuple;
use core::hash::BuildHasher;
use hashbrown::DefaultHashBuilder;

/// A value no slot packs to: the mark of an empty entry (the slabs stay
/// below it, see `table::grow`).
pub(crate) const EMPTY: u32 = u32::MAX;

/// Entries per line.
const WIDTH: usize = 4;

#[derive(Copy, Clone)]
#[repr(C)]
struct Entry {
    key: FourTuple,
    value: u32,
}

const VACANT: Entry = Entry {
    key: FourTuple::UNSPECIFIED,
    value: EMPTY,
};

/// One cache line of entries, aligned so that a line is one line.
#[derive(Copy, Clone)]
#[repr(C, align(64))]
struct Line([Entry; WIDTH]);

pub(crate) struct TupleMap {
    lines: Vec<Line>,
    /// Entries in all, less one: positions wrap by it.
    mask: usize,
    len: usize,
    /// Grows past this many entries: 3/4 of the positions, so that probes
    /// for absent tuples stay short and always meet an empty entry.
    grow_at: usize,
    /// foldhash, seeded at random per map.
    hasher: DefaultHashBuilder,
}

impl TupleMap {
    /// Room for `capacity` entries before it grows.
    pub fn with_capacity(capacity: usize) -> Self {
        let positions = (capacity.saturating_mul(4) / 3 + 1)
            .next_power_of_two()
            .max(WIDTH);
        TupleMap {
            lines: vec![Line([VACANT; WIDTH]); positions / WIDTH],
            mask: positions - 1,
            len: 0,
            grow_at: positions / 4 * 3,
            hasher: DefaultHashBuilder::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// `key`'s hash, which [`TupleMap::find_hashed`] takes. The hasher
    /// never changes, so a hash holds across growth.
    #[inline]
    pub fn hash(&self, key: &FourTuple) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Where a probe for the key of `hash` starts: the first entry of a line.
    #[inline]
    fn home_of(&self, hash: u64) -> usize {
        (hash as usize).wrapping_mul(WIDTH) & self.mask
    }

    #[inline]
    fn home(&self, key: &FourTuple) -> usize {
        self.home_of(self.hash(key))
    }

    /// Reads the home line of the key of `hash` and drops what it read: a
    /// load issued ahead of the lookup that needs the line, so that the
    /// lookups of a batch miss the cache together rather than each in turn
    /// (a load, not a prefetch instruction: those are `unsafe`, and only
    /// `io` may hold that).
    #[inline]
    pub fn touch(&self, hash: u64) {
        std::hint::black_box(self.lines[self.home_of(hash) / WIDTH].0[0].value);
    }

    #[inline]
    fn at(&self, pos: usize) -> &Entry {
        &self.lines[pos / WIDTH].0[pos % WIDTH]
    }

    #[inline]
    fn at_mut(&mut self, pos: usize) -> &mut Entry {
        &mut self.lines[pos / WIDTH].0[pos % WIDTH]
    }

    /// The position holding `key`, or else the empty one where it would
    /// go. A line at a time: one index check a line, not one an entry.
    #[inline(always)]
    fn probe(&self, key: &FourTuple) -> Result<usize, usize> {
        self.probe_hashed(key, self.hash(key))
    }

    /// [`TupleMap::probe`] with `key`'s hash at hand.
    #[inline(always)]
    fn probe_hashed(&self, key: &FourTuple, hash: u64) -> Result<usize, usize> {
        let mut line = self.home_of(hash) / WIDTH;
        loop {
            for (i, e) in self.lines[line].0.iter().enumerate() {
                if e.value == EMPTY {
                    return Err(line * WIDTH + i);
                }
                if e.key == *key {
                    return Ok(line * WIDTH + i);
                }
            }
            line = (line + 1) & (self.mask / WIDTH);
        }
    }

    /// The position of `key`.
    #[inline]
    pub fn find(&self, key: &FourTuple) -> Option<usize> {
        self.probe(key).ok()
    }

    /// The position of `key`, whose [`TupleMap::hash`] is `hash`.
    #[inline]
    pub fn find_hashed(&self, key: &FourTuple, hash: u64) -> Option<usize> {
        debug_assert_eq!(hash, self.hash(key));
        self.probe_hashed(key, hash).ok()
    }

    /// The position of `key`: `hint` where that still holds it (a
    /// position from an earlier lookup, which an insert's growth or a
    /// removal's shift may have moved since), which saves a hash and a
    /// probe; else found by them.
    #[inline]
    pub fn find_hinted(&self, key: &FourTuple, hint: usize) -> Option<usize> {
        if hint <= self.mask {
            let e = self.at(hint);
            if e.value != EMPTY && e.key == *key {
                return Some(hint);
            }
        }
        self.find_cold(key)
    }

    #[cold]
    #[inline(never)]
    fn find_cold(&self, key: &FourTuple) -> Option<usize> {
        self.find(key)
    }

    #[inline]
    pub fn value(&self, pos: usize) -> u32 {
        self.at(pos).value
    }

    #[inline]
    pub fn set_value(&mut self, pos: usize, value: u32) {
        debug_assert!(value != EMPTY && self.at(pos).value != EMPTY);
        self.at_mut(pos).value = value;
    }

    /// Maps `key`, which must be absent, to `value`. Inlined into the
    /// passive open, its one caller on the way of every connection.
    #[inline(always)]
    pub fn insert_unique(&mut self, key: FourTuple, value: u32) {
        match self.vacancy_for(&key) {
            Err(pos) => self.fill(pos, key, value),
            Ok(_) => debug_assert!(false, "{key} is in the map"),
        }
    }

    /// Where `key` is, or else the empty position it would take, room for
    /// one more entry made first: an insert into that position with
    /// [`TupleMap::fill`] follows without a second probe.
    #[inline(always)]
    pub fn vacancy_for(&mut self, key: &FourTuple) -> Result<usize, usize> {
        if self.len >= self.grow_at {
            self.grow();
        }
        self.probe(key)
    }

    /// Maps `key` to `value` at `pos`, the empty position
    /// [`TupleMap::vacancy_for`] just gave.
    #[inline]
    pub fn fill(&mut self, pos: usize, key: FourTuple, value: u32) {
        debug_assert!(value != EMPTY && self.at(pos).value == EMPTY);
        *self.at_mut(pos) = Entry { key, value };
        self.len += 1;
    }

    /// Unmaps the entry at `pos`. The entries after it in its run move
    /// back into the hole where their homes allow, so that every entry
    /// stays reachable from its home without passing an empty one.
    pub fn remove_at(&mut self, pos: usize) {
        debug_assert!(self.at(pos).value != EMPTY);
        self.len -= 1;
        let mut hole = pos;
        let mut next = (pos + 1) & self.mask;
        loop {
            let e = *self.at(next);
            if e.value == EMPTY {
                break;
            }
            // The entry may fill the hole unless its home lies after the
            // hole, up to where it is (cyclically).
            let home = self.home(&e.key);
            if (next.wrapping_sub(home) & self.mask) >= (next.wrapping_sub(hole) & self.mask) {
                *self.at_mut(hole) = e;
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        *self.at_mut(hole) = VACANT;
    }

    /// Twice the positions, every entry placed again. Out of line: the
    /// steady state never grows.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let positions = (self.mask + 1) * 2;
        let old = core::mem::replace(
            &mut self.lines,
            vec![Line([VACANT; WIDTH]); positions / WIDTH],
        );
        self.mask = positions - 1;
        self.grow_at = positions / 4 * 3;
        for e in old.iter().flat_map(|l| l.0.iter()) {
            if e.value != EMPTY {
                // Absent in the new lines: each key was once in the old.
                if let Err(pos) = self.probe(&e.key) {
                    *self.at_mut(pos) = *e;
                }
            }
        }
    }

    /// Every entry, in no particular order.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (FourTuple, u32)> + '_ {
        self.lines
            .iter()
            .flat_map(|l| l.0.iter())
            .filter(|e| e.value != EMPTY)
            .map(|e| (e.key, e.value))
    }

    /// Bytes an entry takes (its share of the slack excluded).
    pub const ENTRY_BYTES: usize = core::mem::size_of::<Entry>();
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::net::Ipv4Addr;

    /// Tuple number `i` towards one server port (the table's tests too).
    pub(crate) fn tuple(i: u16) -> FourTuple {
        FourTuple {
            local_ip: Ipv4Addr::new(10, 0, 0, 1),
            remote_ip: Ipv4Addr::new(10, 0, 1, (i >> 8) as u8),
            local_port: 80,
            remote_port: i,
        }
    }

    #[test]
    fn an_entry_is_16_bytes_four_to_a_line() {
        assert_eq!(core::mem::size_of::<Entry>(), 16);
        assert_eq!(core::mem::size_of::<Line>(), 64);
        assert_eq!(core::mem::align_of::<Line>(), 64);
    }

    proptest! {
        /// Against a `HashMap` model, from a map of one line that grows:
        /// inserts, hinted and plain finds, value updates and removals
        /// (whose backward shifts move entries across lines and around
        /// the end) leave exactly the model's entries, each found.
        #[test]
        fn behaves_as_a_map(
            ops in proptest::collection::vec((0u8..4, 0u16..200, 0usize..600), 1..2000),
        ) {
            let mut m = TupleMap::with_capacity(0);
            let mut model = HashMap::<FourTuple, u32>::new();
            for (step, (op, pick, hint)) in ops.into_iter().enumerate() {
                let key = tuple(pick);
                let value = step as u32;
                match op {
                    0 => match m.vacancy_for(&key) {
                        Ok(pos) => prop_assert_eq!(Some(&m.value(pos)), model.get(&key)),
                        Err(pos) => {
                            prop_assert!(!model.contains_key(&key));
                            m.fill(pos, key, value);
                            model.insert(key, value);
                        }
                    },
                    1 => if let std::collections::hash_map::Entry::Vacant(e) = model.entry(key) {
                        m.insert_unique(key, value);
                        e.insert(value);
                    },
                    2 => if let Some(pos) = m.find_hinted(&key, hint) {
                        prop_assert!(model.contains_key(&key));
                        m.set_value(pos, value);
                        model.insert(key, value);
                    } else {
                        prop_assert!(!model.contains_key(&key));
                    },
                    _ => if let Some(pos) = m.find(&key) {
                        m.remove_at(pos);
                        prop_assert!(model.remove(&key).is_some());
                    } else {
                        prop_assert!(!model.contains_key(&key));
                    },
                }
                prop_assert_eq!(m.len(), model.len());
                prop_assert_eq!(m.iter().collect::<HashMap<_, _>>(), model.clone());
                for (k, v) in &model {
                    prop_assert_eq!(m.find(k).map(|p| m.value(p)), Some(*v));
                }
            }
        }
    }
}
