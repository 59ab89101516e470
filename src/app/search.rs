//! `load --find-max`: the highest connection rate a server sustains within
//! limits on errors and tail latency — TRex's NDR search, for connections.
//! Short runs at rising rates, doubling until one fails, then bisecting
//! between the best pass and the first failure until they are within 5%.

use super::report::Summary;
use serde_json::{json, Value};
use std::time::Duration;

/// What a step must stay within to pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// The p99 of the response latency (first byte) when a request is
    /// sent, else of the handshake.
    pub max_p99: Option<Duration>,
    /// Failed connections over started ones.
    pub max_error_rate: f64,
}

/// A step's achieved rate below this share of its target fails it: the
/// server (or the generator) did not keep up.
const MIN_ACHIEVED: f64 = 0.95;
/// The search ends when the best pass is within this share of the first failure.
const PRECISION: f64 = 0.05;
/// And after this many steps at most.
const MAX_STEPS: usize = 16;

/// One step of the search, as measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub target: f64,
    pub achieved: f64,
    pub started: u64,
    pub errors: u64,
    pub p99: Option<Duration>,
    /// Why the step failed; `None` when it passed.
    pub failed: Option<String>,
}

/// The search's state: every step so far and the bounds they set.
#[derive(Clone, Debug)]
pub struct MaxRateSearch {
    limits: Limits,
    next: Option<f64>,
    best_pass: Option<f64>,
    first_fail: Option<f64>,
    steps: Vec<Step>,
}

impl MaxRateSearch {
    /// A search starting at `start` connections per second.
    pub fn new(start: f64, limits: Limits) -> Self {
        MaxRateSearch {
            limits,
            next: Some(start.max(1.0)),
            best_pass: None,
            first_fail: None,
            steps: Vec::new(),
        }
    }

    /// The rate of the next step, or `None` when the search is over.
    pub fn next_rate(&self) -> Option<f64> {
        self.next
    }

    /// Records the step run at the current rate from its summary; `measured_s`
    /// is the run's measured period. `p99_of` names the histogram the limit
    /// applies to.
    pub fn record(&mut self, sum: &Summary, measured_s: f64, p99_of: &str) -> &Step {
        let target = self.next.unwrap_or(0.0);
        let started = sum.get("started");
        let errors = sum.errors();
        let p99 = sum
            .histograms
            .get(p99_of)
            .filter(|h| !h.is_empty())
            .map(|h| Duration::from_micros(h.value_at_quantile(0.99)));
        let achieved = started as f64 / measured_s.max(1e-9);
        self.push(Step {
            target,
            achieved,
            started,
            errors,
            p99,
            failed: None,
        })
    }

    /// Records that the current rate could not even be run (e.g. beyond the
    /// tuple space): a failure for `why`.
    pub fn refuse(&mut self, why: String) -> &Step {
        let target = self.next.unwrap_or(0.0);
        self.push(Step {
            target,
            achieved: 0.0,
            started: 0,
            errors: 0,
            p99: None,
            failed: Some(why),
        })
    }

    fn push(&mut self, mut step: Step) -> &Step {
        if step.failed.is_none() {
            step.failed = self.judge(&step);
        }
        let rate = step.target;
        match step.failed {
            None => self.best_pass = Some(self.best_pass.map_or(rate, |b| b.max(rate))),
            Some(_) => self.first_fail = Some(self.first_fail.map_or(rate, |f| f.min(rate))),
        }
        self.steps.push(step);
        self.next = match (self.best_pass, self.first_fail) {
            _ if self.steps.len() >= MAX_STEPS => None,
            (Some(p), None) => Some(p * 2.0),
            (p, Some(f)) => {
                let p = p.unwrap_or(0.0);
                // Below the first step's rate nothing passed: halve towards 0.
                let mid = (p + f) / 2.0;
                ((f - p) / f > PRECISION && mid >= 1.0).then_some(mid.round())
            }
            (None, None) => None,
        };
        &self.steps[self.steps.len() - 1]
    }

    fn judge(&self, s: &Step) -> Option<String> {
        let rate = s.errors as f64 / (s.started.max(1)) as f64;
        if s.started == 0 {
            return Some("no connection started".into());
        }
        if rate > self.limits.max_error_rate {
            return Some(format!(
                "errors {:.2}% > {:.2}%",
                100.0 * rate,
                100.0 * self.limits.max_error_rate
            ));
        }
        if let (Some(max), Some(p99)) = (self.limits.max_p99, s.p99) {
            if p99 > max {
                let us = |d: Duration| super::report::us(d.as_micros() as u64);
                return Some(format!("p99 {} > {}", us(p99), us(max)));
            }
        }
        if s.achieved < MIN_ACHIEVED * s.target {
            return Some(format!("achieved only {:.0}/s", s.achieved));
        }
        None
    }

    /// The highest rate that passed, if any did.
    pub fn result(&self) -> Option<f64> {
        self.best_pass
    }

    /// Every step so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// One step as a line of the text report.
    pub fn step_line(i: usize, s: &Step) -> String {
        format!(
            "  step {:>2}: target {:>9.0}/s  achieved {:>9.0}/s  errors {:>7}  p99 {:>9}  {}",
            i + 1,
            s.target,
            s.achieved,
            s.errors,
            s.p99
                .map_or("-".into(), |d| super::report::us(d.as_micros() as u64)),
            s.failed
                .as_deref()
                .map_or("pass".into(), |w| format!("FAIL ({w})"))
        )
    }

    /// The verdict line of the text report.
    pub fn result_line(&self) -> String {
        let limits = format!(
            "errors <= {:.2}%{}",
            100.0 * self.limits.max_error_rate,
            self.limits
                .max_p99
                .map_or(String::new(), |d| format!(", p99 <= {d:?}"))
        );
        match self.best_pass {
            Some(r) => format!("synwave load --find-max: {r:.0} conn/s is the highest rate within limits ({limits})"),
            None => format!("synwave load --find-max: no rate tried stayed within limits ({limits})"),
        }
    }

    /// Prints the search's result to stdout: JSON, or every step and the
    /// verdict line.
    pub fn print(&self, as_json: bool) {
        if as_json {
            println!("{}", self.json());
        } else {
            for (i, s) in self.steps.iter().enumerate() {
                println!("{}", Self::step_line(i, s));
            }
            println!("{}", self.result_line());
        }
    }

    /// Done when some rate passed, unless a signal cut the search short.
    pub fn verdict(&self, signal: Option<i32>) -> super::plan::Outcome {
        use super::plan::Outcome;
        match (signal, self.best_pass) {
            (Some(sig), _) => Outcome::Interrupted(sig),
            (None, Some(_)) => Outcome::Done,
            (None, None) => Outcome::Failed("no rate tried stayed within the limits".into()),
        }
    }

    /// The search as JSON: limits, steps and the result.
    pub fn json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                json!({"target": s.target, "achieved": s.achieved, "started": s.started,
                       "errors": s.errors, "p99_us": s.p99.map(|d| d.as_micros() as u64),
                       "pass": s.failed.is_none(), "failed": s.failed})
            })
            .collect();
        json!({
            "command": "load",
            "format_version": super::report::FORMAT_VERSION,
            "find_max": {
                "limits": {"max_error_rate": self.limits.max_error_rate,
                           "max_p99_us": self.limits.max_p99.map(|d| d.as_micros() as u64)},
                "steps": steps,
                "max_rate": self.best_pass,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a search against a model server that passes below `capacity`.
    fn search_against(capacity: f64, start: f64) -> MaxRateSearch {
        let limits = Limits {
            max_p99: Some(Duration::from_millis(5)),
            max_error_rate: 0.001,
        };
        let mut s = MaxRateSearch::new(start, limits);
        while let Some(rate) = s.next_rate() {
            let step = Step {
                target: rate,
                achieved: rate.min(capacity),
                started: (rate.min(capacity) * 10.0) as u64,
                errors: 0,
                p99: Some(Duration::from_micros(if rate <= capacity {
                    100
                } else {
                    50_000
                })),
                failed: None,
            };
            s.push(step);
        }
        s
    }

    #[test]
    fn the_search_doubles_then_bisects_to_within_precision() {
        let s = search_against(37_000.0, 1000.0);
        let best = s.result().unwrap();
        assert!(
            (37_000.0 * (1.0 - PRECISION)..=37_000.0).contains(&best),
            "{best}"
        );
        // 1k 2k 4k 8k 16k 32k 64k, then bisection: far fewer than MAX_STEPS.
        assert!(s.steps().len() < MAX_STEPS, "{:?}", s.steps());
        assert!(s.steps()[..6].iter().all(|st| st.failed.is_none()));
        assert!(s.steps()[6].failed.as_deref().unwrap().contains("p99"));
    }

    #[test]
    fn nothing_passing_says_so() {
        let s = search_against(10.0, 1000.0);
        assert!(s.result().is_none() || s.result().unwrap() <= 10.0);
        assert!(s.steps().iter().all(|st| st.target >= 1.0));
    }

    #[test]
    fn errors_and_a_short_rate_fail_a_step() {
        let limits = Limits {
            max_p99: None,
            max_error_rate: 0.01,
        };
        let mut s = MaxRateSearch::new(100.0, limits);
        let mut step = Step {
            target: 100.0,
            achieved: 100.0,
            started: 1000,
            errors: 20,
            p99: None,
            failed: None,
        };
        assert!(s
            .push(step.clone())
            .failed
            .as_deref()
            .unwrap()
            .contains("errors"));
        step.errors = 0;
        step.achieved = 50.0;
        let mut s = MaxRateSearch::new(100.0, limits);
        assert!(s.push(step).failed.as_deref().unwrap().contains("achieved"));
        let mut s = MaxRateSearch::new(100.0, limits);
        assert!(s.refuse("tuple space".into()).failed.is_some());
        assert_eq!(s.result(), None);
    }
}
