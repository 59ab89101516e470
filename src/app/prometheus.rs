//! `--metrics`: a run's counters in the Prometheus text format (0.0.4), in
//! the form that adds up across machines. Every series is per worker and
//! labelled `segment="i/N"` (the `--segment` of this agent) and
//! `worker="Q"` (its queue), so that `sum by (...)` over pods and workers
//! is exact:
//! - monotonic counts are `counter`s named `..._total`;
//! - levels (open connections, tables) are `gauge`s;
//! - latencies are `histogram`s in seconds with the fixed buckets of
//!   [`BUCKETS_US`], the same on every agent and every run, so that
//!   buckets of different pods add up (a summary's quantiles would not).
//!
//! The text is built from the workers' reports beside the data path (the
//! HDR histograms they already keep); nothing here runs on a worker.

use super::report::{Summary, WorkerReport};
use super::segment::Segment;
use core::fmt::Write as _;
use hdrhistogram::Histogram;

/// The upper bounds (`le`) of every latency histogram's buckets, in µs:
/// 1-2-5 steps from 10 µs to 50 s, then `+Inf`. The README lists them in
/// seconds. The HDR histograms behind them hold 3 significant digits, so a
/// value counts under a bound when its HDR bucket's highest value is at or
/// below it: exact up to 2,047 µs, and within 0.1% of the bound above.
pub const BUCKETS_US: [u64; 21] = [
    10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000,
    500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000,
];

/// Application counters that are levels, not counts: they are gauges.
const GAUGES: [&str; 2] = ["active", "interrupted"];

/// The family names of the latency histograms, by their names in reports.
fn histogram_family(name: &str) -> String {
    match name {
        super::report::SCHEDULE_LAG => "synwave_schedule_lag_seconds".into(),
        _ => format!("synwave_{name}_latency_seconds"),
    }
}

/// Prometheus text of the running (or final) totals `sum` of the agent
/// running `segment`: one series per worker.
pub fn prometheus(sum: &Summary, segment: Segment) -> String {
    let mut fam = Families::default();
    for r in &sum.by_worker {
        let labels = format!("segment=\"{segment}\",worker=\"{}\"", r.queue);
        worker_series(&mut fam, r, &labels);
    }
    // The XDP program counts for the whole interface, not per worker.
    let x = &sum.xdp;
    let labels = format!("segment=\"{segment}\"");
    for (k, v) in [
        ("redirected", x.redirected),
        ("passed", x.passed),
        ("no_xsk", x.no_xsk),
        ("malformed", x.malformed),
        ("arp_requests", x.arp_requests),
    ] {
        fam.sample(
            &format!("synwave_xdp_{k}_total"),
            "counter",
            &labels,
            &v.to_string(),
        );
    }
    fam.text()
}

/// The series of one worker's report.
fn worker_series(fam: &mut Families, r: &WorkerReport, labels: &str) {
    for &(k, v) in &r.app {
        if GAUGES.contains(&k) {
            fam.sample(&format!("synwave_{k}"), "gauge", labels, &v.to_string());
        } else {
            fam.sample(
                &format!("synwave_{k}_total"),
                "counter",
                labels,
                &v.to_string(),
            );
        }
    }
    for (k, v) in r.engine.fields() {
        fam.sample(
            &format!("synwave_engine_{k}_total"),
            "counter",
            labels,
            &v.to_string(),
        );
    }
    for (k, v) in [
        ("tx_dropped", r.tx_dropped),
        ("handed_off", r.handed_off),
        ("handoff_dropped", r.handoff_dropped),
    ] {
        fam.sample(
            &format!("synwave_{k}_total"),
            "counter",
            labels,
            &v.to_string(),
        );
    }
    for (k, v) in [("tcbs", r.tcbs), ("time_wait", r.time_waits)] {
        fam.sample(&format!("synwave_{k}"), "gauge", labels, &v.to_string());
    }
    // Seconds, not shares: `rate()` of these is the share of a core.
    for (k, d) in [("cpu", r.load.cpu), ("busy", r.load.busy)] {
        fam.sample(
            &format!("synwave_worker_{k}_seconds_total"),
            "counter",
            labels,
            &d.as_secs_f64().to_string(),
        );
    }
    for (name, h) in &r.histograms {
        histogram_series(fam, &histogram_family(name), labels, h);
    }
}

/// A µs histogram as Prometheus buckets in seconds: cumulative counts at
/// each of [`BUCKETS_US`] and `+Inf`, `_sum` and `_count`.
fn histogram_series(fam: &mut Families, family: &str, labels: &str, h: &Histogram<u64>) {
    let mut counts = [0u64; BUCKETS_US.len()];
    for v in h.iter_recorded() {
        let top = h.highest_equivalent(v.value_iterated_to());
        let first = BUCKETS_US.partition_point(|&le| le < top);
        for c in &mut counts[first..] {
            *c += v.count_at_value();
        }
    }
    let body = fam.family(family, "histogram");
    for (le, c) in BUCKETS_US.iter().zip(counts) {
        let _ = writeln!(
            body,
            "{family}_bucket{{{labels},le=\"{}\"}} {c}",
            seconds(*le)
        );
    }
    let _ = writeln!(body, "{family}_bucket{{{labels},le=\"+Inf\"}} {}", h.len());
    // HDR keeps no exact sum: this is its mean (of each bucket's middle
    // value) times the count, within 0.1% like the buckets.
    let _ = writeln!(
        body,
        "{family}_sum{{{labels}}} {}",
        h.mean() * h.len() as f64 / 1e6
    );
    let _ = writeln!(body, "{family}_count{{{labels}}} {}", h.len());
}

/// µs as decimal seconds, exactly: 10 → "0.00001", 2_000_000 → "2".
fn seconds(us: u64) -> String {
    let (whole, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:06}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Metric families in the order they first appear, each with its `# TYPE`
/// line once and every worker's samples under it (the format wants a
/// family's samples together).
#[derive(Default)]
struct Families {
    order: Vec<String>,
    bodies: std::collections::HashMap<String, String>,
}

impl Families {
    /// The text of family `name` of `kind`, started if it is new.
    fn family(&mut self, name: &str, kind: &str) -> &mut String {
        if !self.bodies.contains_key(name) {
            self.order.push(name.to_string());
            self.bodies
                .insert(name.to_string(), format!("# TYPE {name} {kind}\n"));
        }
        self.bodies.get_mut(name).expect("inserted above")
    }

    /// One sample of a family without suffixes (a counter or a gauge).
    fn sample(&mut self, name: &str, kind: &str, labels: &str, value: &str) {
        let body = self.family(name, kind);
        let _ = writeln!(body, "{name}{{{labels}}} {value}");
    }

    fn text(self) -> String {
        let mut bodies = self.bodies;
        self.order.iter().filter_map(|n| bodies.remove(n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::report::WorkerLoad;
    use crate::tcp::Stats;
    use std::time::Duration;

    fn report(queue: u32, lat: &[u64]) -> WorkerReport {
        let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
        for &v in lat {
            h.record(v).unwrap();
        }
        WorkerReport {
            queue,
            engine: Stats::default(),
            app: vec![("completed", 3), ("active", 2)],
            histograms: vec![("connect", h)],
            tcbs: 1,
            time_waits: 0,
            tx_dropped: 0,
            handed_off: 0,
            handoff_dropped: 0,
            load: WorkerLoad {
                queue,
                cpu: Duration::from_millis(1500),
                busy: Duration::from_millis(250),
                wall: Duration::from_secs(2),
            },
            last: false,
        }
    }

    #[test]
    fn bounds_print_as_exact_decimal_seconds() {
        let s: Vec<String> = [10, 20, 50, 1_000, 2_000_000, 50_000_000]
            .iter()
            .map(|&u| seconds(u))
            .collect();
        assert_eq!(s, ["0.00001", "0.00002", "0.00005", "0.001", "2", "50"]);
        assert!(BUCKETS_US.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn counters_gauges_and_cumulative_seconds_buckets_per_worker() {
        let mut sum = Summary::default();
        sum.add(&report(0, &[15, 15, 1_000, 3_000]));
        sum.add(&report(1, &[1_500_000]));
        let t = prometheus(&sum, Segment::new(1, 3).unwrap());
        let w0 = "segment=\"1/3\",worker=\"0\"";
        let w1 = "segment=\"1/3\",worker=\"1\"";
        for line in [
            "# TYPE synwave_completed_total counter\n".to_string(),
            format!("synwave_completed_total{{{w0}}} 3\nsynwave_completed_total{{{w1}}} 3\n"),
            "# TYPE synwave_active gauge\n".into(),
            format!("synwave_active{{{w0}}} 2\n"),
            format!("synwave_engine_frames_in_total{{{w0}}} 0\n"),
            format!("synwave_tcbs{{{w1}}} 1\n"),
            format!("synwave_worker_busy_seconds_total{{{w0}}} 0.25\n"),
            "# TYPE synwave_connect_latency_seconds histogram\n".into(),
            format!("synwave_connect_latency_seconds_bucket{{{w0},le=\"0.00001\"}} 0\n"),
            format!("synwave_connect_latency_seconds_bucket{{{w0},le=\"0.00002\"}} 2\n"),
            format!("synwave_connect_latency_seconds_bucket{{{w0},le=\"0.0005\"}} 2\n"),
            // A value on a bound counts under it.
            format!("synwave_connect_latency_seconds_bucket{{{w0},le=\"0.001\"}} 3\n"),
            format!("synwave_connect_latency_seconds_bucket{{{w0},le=\"0.002\"}} 3\n"),
            format!("synwave_connect_latency_seconds_bucket{{{w0},le=\"0.005\"}} 4\n"),
            format!("synwave_connect_latency_seconds_bucket{{{w0},le=\"+Inf\"}} 4\n"),
            format!("synwave_connect_latency_seconds_count{{{w0}}} 4\n"),
            format!("synwave_connect_latency_seconds_bucket{{{w1},le=\"1\"}} 0\n"),
            format!("synwave_connect_latency_seconds_bucket{{{w1},le=\"2\"}} 1\n"),
            "synwave_xdp_redirected_total{segment=\"1/3\"} 0\n".into(),
        ] {
            assert!(t.contains(&line), "missing {line:?} in\n{t}");
        }
        // Each family's TYPE line comes once, before all its samples.
        assert_eq!(t.matches("# TYPE synwave_completed_total ").count(), 1);
        assert!(!t.contains("quantile"));
    }
}
