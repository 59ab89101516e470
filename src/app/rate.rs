//! Open-loop pacing: when each new connection is due. Latency is measured
//! from these intended times, not from when the connection could actually
//! start, so a stall shows up in the results instead of silently lowering the
//! load (no coordinated omission).

use crate::tcp::Instant;
use core::time::Duration;

/// Connection start times at `rate` per second, ramping up linearly from 0
/// over `ramp_up`, beginning at `start`.
#[derive(Clone, Debug)]
pub struct RateSchedule {
    start: Instant,
    rate: f64,
    ramp_up: f64,
    issued: u64,
}

impl RateSchedule {
    /// A schedule of `rate` connections per second after a linear ramp.
    pub fn new(start: Instant, rate: f64, ramp_up: Duration) -> Self {
        RateSchedule {
            start,
            rate: rate.max(0.0),
            ramp_up: ramp_up.as_secs_f64(),
            issued: 0,
        }
    }

    /// Intended start time of connection `k` (0-based): the time by which the
    /// integral of the rate reaches k. During the ramp the rate is
    /// rate·t/ramp, so k = rate·t²/(2·ramp).
    pub fn time_of(&self, k: u64) -> Instant {
        let k = k as f64;
        let ramp_count = self.rate * self.ramp_up / 2.0;
        let t = if self.rate <= 0.0 {
            f64::INFINITY
        } else if k < ramp_count {
            (2.0 * k * self.ramp_up / self.rate).sqrt()
        } else {
            self.ramp_up + (k - ramp_count) / self.rate
        };
        if t.is_finite() {
            self.start + Duration::from_secs_f64(t)
        } else {
            Instant::from_nanos(u64::MAX)
        }
    }

    /// The intended time of the next connection if it is due by `now`, and
    /// counts it as issued.
    pub fn next_due(&mut self, now: Instant) -> Option<Instant> {
        let t = self.time_of(self.issued);
        (t <= now).then(|| {
            self.issued += 1;
            t
        })
    }

    /// Connections issued so far.
    pub fn issued(&self) -> u64 {
        self.issued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_is_exact() {
        let mut s = RateSchedule::new(Instant::ZERO, 10_000.0, Duration::ZERO);
        let mut n = 0;
        let mut now = Instant::ZERO;
        while now < Instant::from_millis(2_000) {
            while s.next_due(now).is_some() {
                n += 1;
            }
            now = now + Duration::from_micros(137);
        }
        // 2 s at 10k/s, within one polling step.
        assert!((19_990..=20_010).contains(&n), "{n}");
    }

    #[test]
    fn ramp_up_issues_half_the_steady_count() {
        let s = RateSchedule::new(Instant::ZERO, 1_000.0, Duration::from_secs(2));
        // During a 2 s linear ramp to 1000/s: 1000 connections, then 1000/s.
        assert_eq!(s.time_of(1_000), Instant::from_millis(2_000));
        assert_eq!(s.time_of(2_000), Instant::from_millis(3_000));
        assert!(
            s.time_of(250) > Instant::from_millis(999)
                && s.time_of(250) < Instant::from_millis(1_001)
        );
    }

    #[test]
    fn zero_rate_never_issues() {
        let mut s = RateSchedule::new(Instant::ZERO, 0.0, Duration::ZERO);
        assert!(s.next_due(Instant::from_millis(1_000_000)).is_none());
    }
}
