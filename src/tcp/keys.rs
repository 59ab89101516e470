//! The secrets behind ISNs (RFC 6528), SYN cookies (RFC 4987) and timestamp
//! offsets (RFC 7323 §5.4): three independent keys, so that learning one
//! function's output says nothing about another's.

use super::isn::keyed_hash;
use super::FourTuple;

/// An engine's keys. The shell keeps them for the life of the boot (so that
/// ISNs and TSvals keep growing across runs, as the peer's TIME-WAIT and PAWS
/// expect) and readable by root only; the engine reads no randomness.
#[derive(Clone)]
pub struct Keys {
    /// Keys F of RFC 6528 §3.
    pub isn: [u8; 16],
    /// Keys the SYN-cookie MAC.
    pub syn_cookie: [u8; 16],
    /// Keys the per-address-pair TSval offset.
    pub timestamp: [u8; 16],
}

impl Keys {
    /// The offset added to our TSval clock towards one peer address: random
    /// per address pair (as Linux's `tcp_ts_off`), so TSvals reveal neither
    /// uptime nor how many other peers we talk to, yet the same for every
    /// port, so that one peer sees a single clock that only grows.
    pub fn ts_offset(&self, tuple: &FourTuple) -> u32 {
        let pair = FourTuple {
            local_port: 0,
            remote_port: 0,
            ..*tuple
        };
        keyed_hash(&self.timestamp, &pair, &[]) as u32
    }
}

/// Entries of [`TsOffsets`], direct-mapped: a load from tens of source
/// addresses nearly always hits (of 128 pairs, about 27 share a slot with
/// another), and a miss costs one keyed hash, as without the cache.
const TS_OFFSET_SLOTS: usize = 256;

/// The last TSval offsets computed, by address pair, so that a load with
/// few address pairs hashes once per pair rather than once per connection.
/// Each is exactly [`Keys::ts_offset`]; only the cost differs.
pub(crate) struct TsOffsets {
    /// (local IP << 32 | remote IP, offset, filled), direct-mapped.
    slots: Box<[(u64, u32, bool); TS_OFFSET_SLOTS]>,
}

impl Default for TsOffsets {
    fn default() -> Self {
        TsOffsets {
            slots: Box::new([(0, 0, false); TS_OFFSET_SLOTS]),
        }
    }
}

impl TsOffsets {
    /// `keys.ts_offset(tuple)`, from the cache when its pair is there.
    #[inline]
    pub fn get(&mut self, keys: &Keys, tuple: &FourTuple) -> u32 {
        let pair =
            (u64::from(u32::from(tuple.local_ip)) << 32) | u64::from(u32::from(tuple.remote_ip));
        // Fibonacci hashing: the top byte of a multiple of 2^64/φ.
        let index = (pair.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize;
        let slot = &mut self.slots[index % TS_OFFSET_SLOTS];
        if !(slot.2 && slot.0 == pair) {
            *slot = (pair, keys.ts_offset(tuple), true);
        }
        slot.1
    }
}

/// Three keys spread from one secret, for tests and benches that drive an
/// engine with a fixed seed.
impl From<[u8; 16]> for Keys {
    fn from(seed: [u8; 16]) -> Self {
        Keys {
            isn: seed,
            syn_cookie: seed.map(|b| b ^ 0x5c),
            timestamp: seed.map(|b| b ^ 0x36),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    /// RFC 7323 §5.4 / RFC 6528: the cache changes no offset, for pairs
    /// that share a slot, come back after being evicted, or are all zero.
    #[test]
    fn rfc7323_5_4_cached_offsets_are_the_keyed_ones() {
        let keys = Keys::from([9; 16]);
        let mut cache = TsOffsets::default();
        let remote = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 1), 80);
        // The same pairs, each round from other ports: hits, and pairs that
        // come back after being evicted.
        for round in 0..3 {
            for n in 0..2 * TS_OFFSET_SLOTS as u32 {
                let port = 1000 + (n + round * 7) as u16;
                let local = SocketAddrV4::new(Ipv4Addr::from(n * 7919), port);
                let t = FourTuple::new(local, remote);
                assert_eq!(cache.get(&keys, &t), keys.ts_offset(&t));
            }
        }
        let zero = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        let t = FourTuple::new(zero, zero);
        assert_eq!(cache.get(&keys, &t), keys.ts_offset(&t));
    }
}
