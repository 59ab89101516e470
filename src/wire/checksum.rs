//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).

use std::net::Ipv4Addr;

/// The ones'-complement sum of `data` as 16-bit big-endian words (an odd
/// last byte padded with zero), folded to 16 bits so that callers can add
/// many such sums in a `u32` without overflow.
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    // In native byte order: the ones'-complement sum is byte-order
    // independent (RFC 1071 §2(B)), so one swap at the end replaces one
    // per word.
    u32::from(u16::from_be(fold64(add_native(0, data))))
}

/// `acc` plus `data` as native-order words (an odd last byte padded with
/// zero), with end-around carry and not folded: for a receiver that sums
/// the fixed headers' words in native order too and folds once, to check
/// for all ones, which is the same in either byte order (RFC 1071 §2(B)).
/// `data` must start at an even offset of the checksummed bytes.
// Inlined always: out of line, a frame writer keeps its other values on
// the stack across the call, and the sum of a short text costs the call.
#[inline(always)]
pub fn add_native(mut acc: u64, data: &[u8]) -> u64 {
    // Eight bytes at a time; each carry out of the 64-bit sum is added
    // back at once (end-around carry, §2(C)), so 64-bit words add as
    // 16-bit ones do.
    let mut add = |w: u64| acc = add_word(acc, w);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        add(u64::from_ne_bytes(w));
    }
    // The tail by four, two and one bytes, each at an even offset: no
    // copy of variable length (a call to memcpy) for the last few bytes.
    let mut rest = chunks.remainder();
    if let [a, b, c, d, tail @ ..] = rest {
        add(u64::from(u32::from_ne_bytes([*a, *b, *c, *d])));
        rest = tail;
    }
    if let [a, b, tail @ ..] = rest {
        add(u64::from(u16::from_ne_bytes([*a, *b])));
        rest = tail;
    }
    if let [a] = rest {
        // Zero padding keeps the byte in its word position, as RFC 1071 asks.
        add(u64::from(u16::from_ne_bytes([*a, 0])));
    }
    acc
}

/// `acc` plus one 64-bit word with end-around carry (RFC 1071 §2(C)): a
/// carry out of 64 bits is added back at once, so 64-bit words add as
/// their four 16-bit words do. Never zero unless both are.
#[inline(always)]
pub fn add_word(acc: u64, w: u64) -> u64 {
    let (s, carry) = acc.overflowing_add(w);
    s + u64::from(carry)
}

/// True when a sum of native-order words (end-around carried, or too few
/// to carry out of 64 bits) folds to all ones, the sum of data whose
/// checksum is right: what `fold64(sum) == 0xffff` says, without the
/// folds. Folding keeps the sum's value modulo 0xffff (2^16, 2^32 and
/// 2^48 are all 1 modulo 0xffff, and 2^64 - 1 is a multiple of it) and
/// gives 0 only for 0, else a value in 1..=0xffff: so all ones is a
/// nonzero multiple of 0xffff, which is one multiplication to test.
#[inline(always)]
pub fn folds_to_all_ones(sum: u64) -> bool {
    all_ones_rank(sum) < ALL_ONES_RANKS
}

/// [`folds_to_all_ones`] of both sums, as one test: a frame's IP and TCP
/// checksums, which are right together or the frame is dropped.
#[inline(always)]
pub fn both_fold_to_all_ones(a: u64, b: u64) -> bool {
    // Each passes where its rank is under the bound, so both do where the
    // larger does: one compare and branch, not two.
    all_ones_rank(a).max(all_ones_rank(b)) < ALL_ONES_RANKS
}

/// The ranks below which [`all_ones_rank`] says a sum folds to all ones.
const ALL_ONES_RANKS: u64 = u64::MAX / 0xffff;

/// `k - 1` for a sum that is `k` times 0xffff, `k` > 0; for any other sum
/// (0 among them) a value of at least [`ALL_ONES_RANKS`].
#[inline(always)]
fn all_ones_rank(sum: u64) -> u64 {
    // 0xffff's inverse modulo 2^64. Multiplying by it maps the multiples
    // of 0xffff one to one onto 0..=(2^64 - 1) / 0xffff, k * 0xffff to k,
    // and everything else above (Granlund and Montgomery 1994, §9): the
    // test LLVM does not derive here by itself, dividing instead. Less
    // one, 0 wraps to the top, so one compare also rules out a zero sum.
    const INVERSE: u64 = 0xfffe_fffe_fffe_ffff;
    const { assert!(0xffff_u64.wrapping_mul(INVERSE) == 1) };
    sum.wrapping_mul(INVERSE).wrapping_sub(1)
}

/// The sum of the TCP/UDP pseudo-header (RFC 9293 §3.1).
#[inline]
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let s = u32::from(src);
    let d = u32::from(dst);
    (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + u32::from(protocol) + u32::from(length)
}

/// Folds a 64-bit ones'-complement sum (end-around carried, or of too few
/// words to carry out of 64 bits) to 16 bits, not complemented (RFC 1071
/// §2(C)).
#[inline(always)]
pub fn fold64(sum: u64) -> u16 {
    // The high half of `sum + sum.rotate_right(32)` is hi + lo plus the
    // carry out of lo + hi: the end-around carry in one add, for any sum.
    fold((sum.wrapping_add(sum.rotate_right(32)) >> 32) as u32)
}

/// Folds carries into 16 bits, not complemented: as `fold64`, the high
/// half of one add with the halves swapped, which carries end-around.
#[inline]
pub fn fold(sum: u32) -> u16 {
    (sum.wrapping_add(sum.rotate_right(16)) >> 16) as u16
}

/// The checksum field value for a sum: its folded complement.
#[inline]
pub fn finish(sum: u32) -> u16 {
    !fold(sum)
}

/// RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered
/// data changes from `old` to `new`: HC' = ~(~HC + ~m + m').
#[inline]
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    !fold(u32::from(!checksum) + u32::from(!old) + u32::from(new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sum() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            fold(sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
            0xddf2
        );
    }

    #[test]
    fn rfc1071_odd_length_pads_with_zero() {
        assert_eq!(fold(sum(&[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
    }

    #[test]
    fn rfc1071_wide_sum_equals_word_by_word() {
        let data: Vec<u8> = (0..1501u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut slow: u32 = 0;
        for w in data.chunks(2) {
            slow += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
        assert_eq!(fold(sum(&data)), fold(slow));
    }

    /// RFC 1071 §2(B): the native-order sum, folded, is the big-endian
    /// one in native order, whatever the length and the starting sum.
    #[test]
    fn rfc1071_native_sum_folds_to_the_big_endian_one() {
        let data: Vec<u8> = (0..61u32).map(|i| (i * 13 + 5) as u8).collect();
        for len in 0..data.len() {
            for acc in [0u64, 0xffff_ffff, u64::MAX - 3] {
                let native = add_native(acc, &data[..len]);
                let native = (native >> 32) + (native & 0xffff_ffff);
                let native = (native >> 32) + (native & 0xffff_ffff);
                let acc = (acc >> 32) + (acc & 0xffff_ffff);
                let acc = (acc >> 32) + (acc & 0xffff_ffff);
                // Word by word, big-endian: `sum` is built on `add_native`.
                let slow: u32 = data[..len]
                    .chunks(2)
                    .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
                    .sum();
                let expected = fold(acc as u32).swap_bytes() as u32 + u32::from(fold(slow));
                assert_eq!(
                    fold(native as u32) % 0xffff,
                    fold(expected).swap_bytes() % 0xffff
                );
            }
        }
    }

    /// RFC 1071 §2(C): the end-around carry applied until nothing carries,
    /// what the one-add folds must equal.
    fn check_folds(sum: u64) {
        let carry_until_done = |mut s: u64, bits: u32| {
            while s >> bits != 0 {
                s = (s >> bits) + (s & ((1 << bits) - 1));
            }
            s
        };
        let expected = carry_until_done(carry_until_done(sum, 32), 16);
        assert_eq!(u64::from(fold64(sum)), expected, "{sum:#x}");
        let low = sum as u32;
        assert_eq!(
            u64::from(fold(low)),
            carry_until_done(u64::from(low), 16),
            "{low:#x}"
        );
    }

    #[test]
    fn rfc1071_folds_carry_end_around_at_the_edges() {
        for sum in [
            0,
            u64::MAX,
            0xffff_ffff,
            0x1_0000_0000,
            0xffff_ffff_0000_0001,
            0x8000_0000_8000_0000,
            0xffff,
            0x1_0000,
            0xffff_0001,
            0xfffe_ffff_ffff_0001,
        ] {
            check_folds(sum);
        }
    }

    proptest::proptest! {
        #[test]
        fn rfc1071_folds_are_repeated_end_around_carry(sum in proptest::prelude::any::<u64>()) {
            check_folds(sum);
        }

        /// RFC 1071 §2(C): the all-ones test without folds agrees with
        /// the folds, for any sum and near the multiples of 0xffff.
        #[test]
        fn all_ones_without_folds_agrees_with_the_folds(
            sum in proptest::prelude::any::<u64>(),
            k in proptest::prelude::any::<u64>(),
            near in 0u64..3,
        ) {
            let multiple = (k % (u64::MAX / 0xffff)) * 0xffff;
            for s in [sum, multiple.wrapping_add(near), multiple.wrapping_sub(near), near, u64::MAX] {
                proptest::prop_assert_eq!(folds_to_all_ones(s), fold64(s) == 0xffff);
            }
        }

        /// The joint test of two sums is the two tests, near the
        /// multiples of 0xffff too, where one may pass and the other not.
        #[test]
        fn both_all_ones_is_each_all_ones(
            a in proptest::prelude::any::<u64>(),
            k in proptest::prelude::any::<u64>(),
            near in 0u64..3,
        ) {
            let multiple = (k % (u64::MAX / 0xffff)) * 0xffff;
            let sums = [a, multiple.wrapping_add(near), multiple.wrapping_sub(near), near, 0xffff, u64::MAX];
            for x in sums {
                for y in sums {
                    proptest::prop_assert_eq!(
                        both_fold_to_all_ones(x, y),
                        folds_to_all_ones(x) && folds_to_all_ones(y)
                    );
                }
            }
        }
    }

    #[test]
    fn rfc1624_incremental_update_matches_recompute() {
        let mut header = [
            0x45u8, 0, 0, 60, 0x1c, 0x46, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let c = finish(sum(&header));
        header[10..12].copy_from_slice(&c.to_be_bytes());
        let old = u16::from_be_bytes([header[8], header[9]]);
        header[8] = 63; // TTL decrement
        let new = u16::from_be_bytes([header[8], header[9]]);
        let incremental = update(c, old, new);
        header[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(incremental, finish(sum(&header)));
    }
}
