//! Initial sequence numbers per RFC 6528 §3.

use super::{FourTuple, Instant};
use crate::wire::SeqNumber;
use core::hash::Hasher;
use siphasher::sip::SipHasher24;

/// ISN = M + F(localip, localport, remoteip, remoteport, secretkey) (RFC 6528 §3):
/// M a 4 µs clock, F SipHash-2-4 keyed with a per-process secret, so that
/// sequence numbers of one 4-tuple advance with time and are unguessable
/// from another.
#[derive(Clone)]
pub struct IsnGenerator {
    key: [u8; 16],
}

impl IsnGenerator {
    /// `key` must be random and kept for the life of the process (the shell
    /// supplies it: the engine reads no randomness).
    pub fn new(key: [u8; 16]) -> Self {
        IsnGenerator { key }
    }

    /// The ISN for a new connection on `tuple` at `now`.
    pub fn isn(&self, tuple: &FourTuple, now: Instant) -> SeqNumber {
        SeqNumber(
            self.hash(tuple)
                .wrapping_add((now.as_nanos() / 4_000) as u32),
        )
    }

    /// The keyed hash F alone.
    pub fn hash(&self, tuple: &FourTuple) -> u32 {
        keyed_hash(&self.key, tuple, &[]) as u32
    }
}

/// SipHash-2-4 under `key` of a 4-tuple and some extra words: the keyed
/// function behind ISNs (RFC 6528) and SYN cookies (RFC 4987).
pub(crate) fn keyed_hash(key: &[u8; 16], tuple: &FourTuple, extra: &[u32]) -> u64 {
    let mut h = SipHasher24::new_with_key(key);
    h.write_u32(u32::from(tuple.local_ip));
    h.write_u32(u32::from(tuple.remote_ip));
    h.write_u16(tuple.local_port);
    h.write_u16(tuple.remote_port);
    for &w in extra {
        h.write_u32(w);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local_ip: Ipv4Addr::new(10, 0, 0, 1),
            remote_ip: Ipv4Addr::new(10, 0, 0, 2),
            local_port: port,
            remote_port: 80,
        }
    }

    #[test]
    fn rfc6528_3_isn_advances_with_the_4us_clock() {
        let g = IsnGenerator::new([7; 16]);
        let a = g.isn(&tuple(1000), Instant::from_micros(0));
        let b = g.isn(&tuple(1000), Instant::from_micros(400));
        assert_eq!(b - a, 100);
    }

    #[test]
    fn rfc6528_3_isn_differs_per_tuple_and_key() {
        let g = IsnGenerator::new([7; 16]);
        let h = IsnGenerator::new([8; 16]);
        let t = Instant::from_millis(5);
        assert_ne!(g.isn(&tuple(1000), t), g.isn(&tuple(1001), t));
        assert_ne!(g.isn(&tuple(1000), t), h.isn(&tuple(1000), t));
    }
}
