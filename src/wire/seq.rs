//! Sequence numbers and their arithmetic modulo 2^32 (RFC 9293 §3.4).

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A TCP sequence number. Comparisons follow the sign of the wrapping
/// difference, so they hold across the 2^32 wrap for numbers less than
/// 2^31 apart, as RFC 9293 §3.4 requires; the order is not transitive over
/// the whole space, hence `PartialOrd` only.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The later of the two.
    #[inline]
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self > other {
            self
        } else {
            other
        }
    }

    /// The earlier of the two.
    #[inline]
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if self < other {
            self
        } else {
            other
        }
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    #[inline]
    fn add(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<u32> for SeqNumber {
    #[inline]
    fn add_assign(&mut self, rhs: u32) {
        self.0 = self.0.wrapping_add(rhs);
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    #[inline]
    fn sub(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs))
    }
}

impl Sub<SeqNumber> for SeqNumber {
    /// How far `self` is after `rhs`; negative when it is before.
    type Output = i32;
    #[inline]
    fn sub(self, rhs: SeqNumber) -> i32 {
        self.0.wrapping_sub(rhs.0) as i32
    }
}

impl PartialOrd for SeqNumber {
    #[inline]
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        Some((*self - *other).cmp(&0))
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9293_3_4_comparison_holds_across_the_wrap() {
        let before = SeqNumber(u32::MAX - 5);
        let after = before + 10;
        assert_eq!(after.0, 4);
        assert!(before < after);
        assert!(after > before);
        assert_eq!(after - before, 10);
        assert_eq!(before - after, -10);
        assert_eq!(before.max(after), after);
        assert_eq!(before.min(after), before);
    }

    #[test]
    fn rfc9293_3_4_sub_and_add_are_inverse() {
        let s = SeqNumber(3);
        assert_eq!((s - 7u32) + 7, s);
    }
}
