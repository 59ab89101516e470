//! The retransmission timer's value per RFC 6298.

use core::time::Duration;

/// SRTT, RTTVAR and RTO of one connection (RFC 6298 §2), in microseconds so
/// that LAN round trips of tens of microseconds are not rounded to zero.
#[derive(Copy, Clone, Debug)]
pub struct RttEstimator {
    srtt_us: u32,
    rttvar_us: u32,
    rto_us: u32,
}

impl RttEstimator {
    /// Before any sample: RTO = the initial RTO (RFC 6298 §2.1).
    pub fn new(rto_initial: Duration) -> Self {
        RttEstimator {
            srtt_us: 0,
            rttvar_us: 0,
            rto_us: duration_us(rto_initial),
        }
    }

    /// The current RTO.
    pub fn rto(&self) -> Duration {
        Duration::from_micros(u64::from(self.rto_us))
    }

    /// The current RTO in microseconds: what timers are armed with.
    #[inline]
    pub fn rto_us(&self) -> u32 {
        self.rto_us
    }

    /// Smoothed RTT in microseconds, zero before the first sample.
    #[inline]
    pub fn srtt_us(&self) -> u32 {
        self.srtt_us
    }

    /// Takes one RTT measurement R of `rtt_us` (RFC 6298 §2.2–2.3, with
    /// α = 1/8, β = 1/4, G = 1 ms) and recomputes RTO within `bounds`
    /// (§2.4–2.5). All in integer microseconds: one ACK in two takes a
    /// sample, and `Duration`'s conversions cost more than the arithmetic.
    #[inline]
    pub fn sample(&mut self, rtt_us: u32, bounds: RtoBounds) {
        let r = rtt_us.max(1);
        if self.srtt_us == 0 {
            self.srtt_us = r;
            self.rttvar_us = r / 2;
        } else {
            let delta = self.srtt_us.abs_diff(r);
            self.rttvar_us = ((3 * u64::from(self.rttvar_us) + u64::from(delta)) / 4) as u32;
            self.srtt_us = ((7 * u64::from(self.srtt_us) + u64::from(r)) / 8) as u32;
        }
        // A peer's TSecr can make R huge: saturate, not wrap, before the clamp.
        let rto = self
            .srtt_us
            .saturating_add(self.rttvar_us.saturating_mul(4).max(1_000));
        // `clamp` for bounds in order, which `RtoBounds::new` asks for,
        // without its test of their order, a panic's branch per sample.
        self.rto_us = rto.max(bounds.min_us).min(bounds.max_us);
    }

    /// Doubles the RTO after a timeout, up to `max` (RFC 6298 §5.5).
    pub fn back_off(&mut self, max: Duration) {
        self.rto_us = self.rto_us.saturating_mul(2).min(duration_us(max));
    }
}

/// RFC 6298 §2.4–2.5's bounds on the RTO (the configured `rto_min` and
/// `rto_max`), in microseconds, converted once rather than per sample.
#[derive(Copy, Clone, Debug)]
pub struct RtoBounds {
    min_us: u32,
    max_us: u32,
}

impl RtoBounds {
    /// Bounds [`min`, `max`]; `min` at most `max` (`Config::validate`).
    pub fn new(min: Duration, max: Duration) -> Self {
        RtoBounds {
            min_us: duration_us(min),
            max_us: duration_us(max),
        }
    }
}

fn duration_us(d: Duration) -> u32 {
    // In 64 bits, not `as_micros`'s 128.
    let us = d
        .as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(d.subsec_micros()));
    u32::try_from(us).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(60);

    fn bounds(min: Duration) -> RtoBounds {
        RtoBounds::new(min, MAX)
    }

    #[test]
    fn rfc6298_2_1_initial_rto_is_configured_value() {
        assert_eq!(
            RttEstimator::new(Duration::from_secs(1)).rto(),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn rfc6298_2_2_first_sample_sets_srtt_and_half_rttvar() {
        let mut e = RttEstimator::new(Duration::from_secs(1));
        e.sample(100_000, bounds(Duration::from_millis(1)));
        assert_eq!(e.srtt_us(), 100_000);
        // RTO = SRTT + 4 * RTTVAR = 100 + 4 * 50
        assert_eq!(e.rto(), Duration::from_millis(300));
    }

    #[test]
    fn rfc6298_2_4_rto_is_clamped_to_min() {
        let mut e = RttEstimator::new(Duration::from_secs(1));
        e.sample(20, bounds(MIN));
        assert_eq!(e.rto(), MIN);
    }

    #[test]
    fn rfc6298_2_5_an_rto_past_u32_microseconds_is_held_at_max_not_wrapped() {
        // SRTT + 4 * RTTVAR of a 30-minute sample is 90 minutes, past
        // u32 µs (71 minutes): the bound holds it at an hour.
        let hour = Duration::from_secs(3600);
        let mut e = RttEstimator::new(hour);
        e.sample(1_800_000_000, RtoBounds::new(MIN, hour));
        assert_eq!(e.rto(), hour);
    }

    proptest::proptest! {
        /// RFC 6298 §2.2–2.5 as first written, in 64 bits then clamped:
        /// the saturating form `sample` uses agrees for any samples and
        /// any bounds in order.
        #[test]
        fn rfc6298_rto_agrees_with_the_64_bit_formula(
            samples in proptest::collection::vec(proptest::prelude::any::<u32>(), 1..8),
            a in proptest::prelude::any::<u32>(),
            b in proptest::prelude::any::<u32>(),
        ) {
            let (min_us, max_us) = (a.min(b), a.max(b));
            let bounds = RtoBounds { min_us, max_us };
            let mut e = RttEstimator::new(Duration::from_secs(1));
            for r in samples {
                e.sample(r, bounds);
                let rto = u64::from(e.srtt_us) + u64::from(e.rttvar_us.saturating_mul(4).max(1_000));
                let rto = u32::try_from(rto).unwrap_or(u32::MAX).clamp(min_us, max_us);
                proptest::prop_assert_eq!(e.rto_us, rto);
            }
        }
    }

    #[test]
    fn rfc6298_5_5_backoff_doubles_up_to_max() {
        let mut e = RttEstimator::new(Duration::from_secs(40));
        e.back_off(MAX);
        assert_eq!(e.rto(), MAX);
    }
}
