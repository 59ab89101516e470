//! Open-loop pacing: when each new connection is due. Latency is measured
//! from these intended times, not from when the connection could actually
//! start, so a stall shows up in the results instead of silently lowering the
//! load (no coordinated omission).

use crate::tcp::Instant;
use core::time::Duration;

/// Connection start times following a rate profile: stages, each ramping
/// linearly from the rate before it (0 at first) to its own over its
/// duration, then the last rate for good — the shape of k6's stages, with a
/// single ramp-up then a steady rate as the common case.
#[derive(Clone, Debug)]
pub struct RateSchedule {
    start: Instant,
    /// (seconds from `start`, rate then, connections due by then) at each
    /// stage's start, then the end of the last stage.
    knots: Vec<(f64, f64, f64)>,
    issued: u64,
}

impl RateSchedule {
    /// `rate` connections per second after a linear ramp from 0 over `ramp_up`.
    pub fn new(start: Instant, rate: f64, ramp_up: Duration) -> Self {
        Self::stages(start, &[(ramp_up, rate)])
    }

    /// Each of `stages` (duration, rate) ramps linearly to its rate.
    pub fn stages(start: Instant, stages: &[(Duration, f64)]) -> Self {
        let mut knots = vec![(0.0, 0.0, 0.0)];
        for &(d, rate) in stages {
            let (t, r0, n) = knots[knots.len() - 1];
            let (d, r1) = (d.as_secs_f64(), rate.max(0.0));
            if d == 0.0 {
                // A step: the new rate from now on.
                let last = knots.len() - 1;
                knots[last].1 = r1;
                continue;
            }
            knots.push((t + d, r1, n + (r0 + r1) / 2.0 * d));
        }
        RateSchedule {
            start,
            knots,
            issued: 0,
        }
    }

    /// The highest rate the profile reaches.
    pub fn peak(&self) -> f64 {
        self.knots.iter().map(|k| k.1).fold(0.0, f64::max)
    }

    /// Intended start time of connection `k` (0-based): when the integral of
    /// the rate reaches k. Within a stage of duration d from rate r0 to r1
    /// that is the root τ of r0·τ + (r1−r0)·τ²/(2d) = k′, written
    /// 2k′/(r0 + √(r0² + 2(r1−r0)k′/d)) so that it holds for ramps down too.
    pub fn time_of(&self, k: u64) -> Instant {
        let k = k as f64;
        let seg = self.knots.windows(2).find(|w| k < w[1].2);
        let t = match seg {
            Some(w) => {
                let ((t0, r0, n0), (t1, r1, _)) = (w[0], w[1]);
                let (left, d) = (k - n0, t1 - t0);
                let root = (r0 * r0 + 2.0 * (r1 - r0) * left / d).max(0.0).sqrt();
                if left <= 0.0 {
                    t0
                } else {
                    t0 + 2.0 * left / (r0 + root)
                }
            }
            None => {
                let (t, r, n) = self.knots[self.knots.len() - 1];
                if r <= 0.0 {
                    f64::INFINITY
                } else {
                    t + (k - n) / r
                }
            }
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

    /// Counts issued by each instant, polling every 100 µs.
    fn issued_by(mut s: RateSchedule, ms: &[u64]) -> Vec<u64> {
        let mut out = Vec::new();
        let mut now = Instant::ZERO;
        for &m in ms {
            while now <= Instant::from_millis(m) {
                while s.next_due(now).is_some() {}
                now = now + Duration::from_micros(100);
            }
            out.push(s.issued());
        }
        out
    }

    #[test]
    fn stages_ramp_between_their_rates() {
        let secs = Duration::from_secs;
        // 0→1000 over 2 s (1000), 1000 for 1 s (1000), 1000→0 over 2 s (1000).
        let s = RateSchedule::stages(
            Instant::ZERO,
            &[(secs(2), 1000.0), (secs(1), 1000.0), (secs(2), 0.0)],
        );
        assert_eq!(s.peak(), 1000.0);
        let n = issued_by(s.clone(), &[1_000, 2_000, 3_000, 4_000, 5_000, 60_000]);
        let near = |got: u64, want: u64| got.abs_diff(want) <= 2;
        for (got, want) in n.iter().zip([250, 1000, 2000, 2750, 3000, 3000]) {
            assert!(near(*got, want), "{n:?}");
        }
        // Intended times only grow, also on the ramp down.
        let times: Vec<_> = (0..3000).map(|k| s.time_of(k)).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(s.time_of(3000), Instant::from_nanos(u64::MAX));
    }

    #[test]
    fn a_zero_length_stage_is_a_step() {
        let s = RateSchedule::stages(Instant::ZERO, &[(Duration::ZERO, 500.0)]);
        assert_eq!(issued_by(s, &[1_000]), vec![501]);
    }

    #[test]
    fn zero_rate_never_issues() {
        let mut s = RateSchedule::new(Instant::ZERO, 0.0, Duration::ZERO);
        assert!(s.next_due(Instant::from_millis(1_000_000)).is_none());
    }
}
