//! Initial sequence numbers per RFC 6528 §3.

use super::{FourTuple, Instant};
use crate::wire::SeqNumber;
use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use aes::Aes128;
use core::hash::Hasher;
use siphasher::sip::SipHasher24;

/// ISN = M + F(localip, localport, remoteip, remoteport, secretkey) (RFC 6528 §3):
/// M a 4 µs clock, F the tuple encrypted under AES-128 with a per-process
/// secret key, so that sequence numbers of one 4-tuple advance with time
/// and are unguessable from another.
///
/// AES rather than SipHash-2-4 (which SYN cookies keep): F runs once for
/// every connection on each side, and with the CPU's AES instructions
/// (AES-NI, the ARMv8 crypto extensions) one block takes some 35
/// instructions against SipHash's 136, with the key schedule expanded once
/// here. A block cipher under a secret key is a pseudorandom function for
/// this many queries, as strong as F needs to be; the `aes` crate detects
/// the instructions at run time and falls back to a constant-time software
/// cipher where they are missing.
#[derive(Clone)]
pub struct IsnGenerator {
    cipher: Aes128,
}

impl IsnGenerator {
    /// `key` must be random and kept for the life of the process (the shell
    /// supplies it: the engine reads no randomness).
    pub fn new(key: [u8; 16]) -> Self {
        IsnGenerator {
            cipher: Aes128::new(&GenericArray::from(key)),
        }
    }

    /// The ISN for a new connection on `tuple` at `now`.
    pub fn isn(&self, tuple: &FourTuple, now: Instant) -> SeqNumber {
        SeqNumber(
            self.hash(tuple)
                .wrapping_add((now.as_nanos() / 4_000) as u32),
        )
    }

    /// The keyed function F alone: the first 4 bytes of the tuple's block
    /// (addresses, then ports, then 4 zero bytes) encrypted.
    #[inline]
    pub fn hash(&self, tuple: &FourTuple) -> u32 {
        let mut block = [0u8; 16];
        block[..4].copy_from_slice(&tuple.local_ip.octets());
        block[4..8].copy_from_slice(&tuple.remote_ip.octets());
        block[8..10].copy_from_slice(&tuple.local_port.to_be_bytes());
        block[10..12].copy_from_slice(&tuple.remote_port.to_be_bytes());
        let mut block = GenericArray::from(block);
        self.cipher.encrypt_block(&mut block);
        u32::from_be_bytes([block[0], block[1], block[2], block[3]])
    }
}

/// SipHash-2-4 under `key` of a 4-tuple and some extra words: the keyed
/// function behind SYN cookies (RFC 4987) and timestamp offsets (RFC 7323
/// §5.4).
/// Inlined into each of its few callers, where `extra` is a constant: the
/// loop over it goes, and the key is read in place rather than passed.
#[inline(always)]
pub(crate) fn keyed_hash(key: &[u8; 16], tuple: &FourTuple, extra: &[u32]) -> u64 {
    // The two addresses in one write fill SipHash's 8-byte block at once,
    // sparing the hasher's tail buffering (some 6 instructions a hash).
    // SipHash reads a byte stream and `write_uN` feeds little-endian bytes,
    // so the value is that of writing the four fields one by one (tested).
    let mut h = SipHasher24::new_with_key(key);
    h.write_u64(u64::from(u32::from(tuple.local_ip)) | u64::from(u32::from(tuple.remote_ip)) << 32);
    h.write_u32(u32::from(tuple.local_port) | u32::from(tuple.remote_port) << 16);
    for &w in extra {
        h.write_u32(w);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
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

    #[test]
    fn rfc6528_3_f_is_aes_128_of_the_tuple() {
        // FIPS-197's AES-128 key; the block 10.0.0.1, 10.0.0.2, ports 1000
        // and 80, zeros; the ciphertext from `openssl enc -aes-128-ecb`.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(IsnGenerator::new(key).hash(&tuple(1000)), 0x3630_cbc9);
    }

    proptest! {
        /// The two writes of `keyed_hash` give the value of writing the
        /// fields one by one, as it did before: ISNs on the wire, and SYN
        /// cookies out before an upgrade, stay what they were.
        #[test]
        fn keyed_hash_equals_the_hash_field_by_field(
            key in any::<[u8; 16]>(),
            ips in any::<(u32, u32)>(),
            ports in any::<(u16, u16)>(),
            extra in proptest::collection::vec(any::<u32>(), 0..4),
        ) {
            let tuple = FourTuple {
                local_ip: Ipv4Addr::from(ips.0),
                remote_ip: Ipv4Addr::from(ips.1),
                local_port: ports.0,
                remote_port: ports.1,
            };
            let mut h = SipHasher24::new_with_key(&key);
            h.write_u32(ips.0);
            h.write_u32(ips.1);
            h.write_u16(ports.0);
            h.write_u16(ports.1);
            for &w in &extra {
                h.write_u32(w);
            }
            prop_assert_eq!(keyed_hash(&key, &tuple, &extra), h.finish());
        }
    }
}
