//! `load --interval T`: a time series of a run, one JSON line per interval
//! with what happened in it — starts, completions, errors by class, the
//! latency percentiles and the interval's HDR histograms (base64 V2, so
//! that intervals merge across machines too). Each line is the difference
//! of two running totals, and the last one runs to the final summary, so
//! the intervals add up to the final summary exactly. Pure: the shell
//! hands in the totals as they come and writes the lines.

use super::report::{
    encode_histogram, latency_json, Summary, ERROR_CLASSES, HISTOGRAMS, LOAD_COUNTS, SCHEDULE_LAG,
    STATUS_CLASSES,
};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The running totals an interval starts from.
#[derive(Clone, Debug, Default)]
struct Totals {
    elapsed: f64,
    app: BTreeMap<&'static str, u64>,
    histograms: BTreeMap<&'static str, Histogram<u64>>,
}

impl Totals {
    fn of(sum: &Summary) -> Self {
        Totals {
            elapsed: sum.elapsed,
            app: sum.app.clone(),
            histograms: sum.histograms.clone(),
        }
    }
}

/// Cuts a run's running totals into intervals of about `every`: a line at
/// the first totals at or past each boundary (the workers report about
/// once a second, so intervals shorter than that are not finer).
#[derive(Debug)]
pub struct Intervals {
    every: f64,
    next: f64,
    index: u64,
    last: Totals,
    unix_start: Option<f64>,
}

impl Intervals {
    pub fn new(every: Duration) -> Self {
        let every = every.as_secs_f64().max(1e-3);
        Intervals {
            every,
            next: every,
            index: 0,
            last: Totals::default(),
            unix_start: None,
        }
    }

    /// The line for the interval that ends with `sum`, if a boundary has
    /// passed since the last line.
    pub fn tick(&mut self, sum: &Summary) -> Option<Value> {
        if sum.elapsed < self.next {
            return None;
        }
        while self.next <= sum.elapsed {
            self.next += self.every;
        }
        Some(self.line(sum, false))
    }

    /// The last line: from the last one to the final summary.
    pub fn finish(&mut self, sum: &Summary) -> Value {
        self.line(sum, true)
    }

    fn line(&mut self, sum: &Summary, last: bool) -> Value {
        if self.unix_start.is_none() {
            self.unix_start = sum
                .started_at
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs_f64());
        }
        let now = Totals::of(sum);
        let delta = |k: &str| {
            let was = self.last.app.get(k).copied().unwrap_or(0);
            now.app.get(k).copied().unwrap_or(0).saturating_sub(was)
        };
        let mut o = Map::new();
        o.insert("interval".into(), json!(self.index));
        o.insert("last".into(), json!(last));
        o.insert("start_s".into(), json!(self.last.elapsed));
        o.insert("end_s".into(), json!(now.elapsed));
        if let Some(u) = self.unix_start {
            o.insert("start_unix_s".into(), json!(u + self.last.elapsed));
            o.insert("end_unix_s".into(), json!(u + now.elapsed));
        }
        for k in LOAD_COUNTS.iter().chain(STATUS_CLASSES) {
            o.insert((*k).into(), json!(delta(k)));
        }
        let errors: Map<String, Value> = ERROR_CLASSES
            .iter()
            .map(|k| ((*k).into(), json!(delta(k))))
            .collect();
        o.insert("errors".into(), Value::Object(errors));
        let mut lat = Map::new();
        let mut enc = Map::new();
        for name in HISTOGRAMS.iter().chain([&SCHEDULE_LAG]) {
            let Some(h) = now.histograms.get(name) else {
                continue;
            };
            let mut h = h.clone();
            if let Some(was) = self.last.histograms.get(name) {
                // Running totals only grow, so this cannot fail.
                let _ = h.subtract(was);
            }
            lat.insert((*name).into(), latency_json(&h));
            enc.insert((*name).into(), json!(encode_histogram(&h)));
        }
        o.insert("latency_us".into(), Value::Object(lat));
        o.insert("histograms".into(), Value::Object(enc));
        self.index += 1;
        self.last = now;
        Value::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(elapsed: f64, started: u64, lat: &[u64]) -> Summary {
        let mut sum = Summary {
            elapsed,
            ..Summary::default()
        };
        sum.app.insert("started", started);
        let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
        for &v in lat {
            h.record(v).unwrap();
        }
        sum.histograms.insert("connect", h);
        sum
    }

    #[test]
    fn a_line_per_boundary_passed_and_the_last_to_the_end() {
        let mut iv = Intervals::new(Duration::from_secs(1));
        assert!(iv.tick(&at(0.5, 1, &[10])).is_none());
        let one = iv.tick(&at(1.1, 5, &[10, 20])).unwrap();
        assert_eq!(one["started"], json!(5));
        assert_eq!(one["interval"], json!(0));
        assert!(iv.tick(&at(1.9, 6, &[10, 20])).is_none());
        // A late tick covers the boundaries it passed, in one line.
        let two = iv.tick(&at(3.2, 9, &[10, 20, 30])).unwrap();
        assert_eq!(
            (two["started"].clone(), two["start_s"].clone()),
            (json!(4), json!(1.1))
        );
        assert_eq!(two["latency_us"]["connect"]["count"], json!(1));
        assert_eq!(two["latency_us"]["connect"]["max"], json!(30));
        assert!(iv.tick(&at(3.9, 9, &[10, 20, 30])).is_none());
        let end = iv.finish(&at(4.0, 10, &[10, 20, 30, 40]));
        assert_eq!(end["started"], json!(1));
        assert_eq!(end["last"], json!(true));
        assert_eq!(end["interval"], json!(2));
    }
}
