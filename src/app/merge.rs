//! `synwave merge`: the load results of several machines (or segments,
//! see [`super::segment`]) added into one, exactly: counts summed, HDR
//! histograms added bucket for bucket (never percentiles averaged), the
//! achieved rate as the total over the union of the measured time windows.
//! Results of different tests are refused: options that differ, segments
//! of different splits or held twice, histograms with different settings.
//! Pure: the shell reads the files and prints what comes back.

use super::report::{
    self, Provenance, Summary, WorkerLoad, ERROR_CLASSES, FORMAT_VERSION, HISTOGRAMS, LOAD_COUNTS,
    SCHEDULE_LAG, STATUS_CLASSES,
};
use base64::Engine as _;
use core::fmt;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// Results that cannot be merged, with the reason (one line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeError(pub String);

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MergeError {}

fn err<T>(msg: impl Into<String>) -> Result<T, MergeError> {
    Err(MergeError(msg.into()))
}

/// The load results in a text: the whole text if it is JSON (one object or
/// several), otherwise one per line, as `kubectl logs` interleaves them
/// with other lines (a line's result may follow a prefix such as
/// `[pod/x] `). Returns the load results and how many non-empty lines were
/// skipped (not JSON, or JSON that is not a load result).
pub fn parse_stream(text: &str) -> (Vec<Value>, usize) {
    let whole: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect();
    if let Ok(values) = whole {
        let n = values.len();
        let loads: Vec<Value> = values.into_iter().filter(is_load).collect();
        let skipped = n - loads.len();
        return (loads, skipped);
    }
    let mut loads = Vec::new();
    let mut skipped = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let value = line
            .find('{')
            .and_then(|at| serde_json::from_str::<Value>(&line[at..]).ok());
        match value.filter(is_load) {
            Some(v) => loads.push(v),
            None => skipped += 1,
        }
    }
    (loads, skipped)
}

fn is_load(v: &Value) -> bool {
    v.get("command").and_then(Value::as_str) == Some("load")
}

/// One result as the merge reads it.
struct Part {
    name: String,
    sum: Summary,
    engine: BTreeMap<String, u64>,
    target_rate: Option<f64>,
    test: Value,
    segment_count: u32,
    segments: Vec<u32>,
    windows: Vec<(f64, f64)>,
    starts: Vec<(u32, u64)>,
}

fn u64_at(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn f64_at(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A histogram from its base64 V2 text form.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| format!("not an HDR histogram: {e:?}"))
}

fn read_part(name: &str, v: &Value) -> Result<Part, MergeError> {
    let bad = |what: &str| MergeError(format!("{name}: {what}"));
    if !is_load(v) {
        return Err(bad("not the JSON result of synwave load"));
    }
    match v.get("format_version").and_then(Value::as_u64) {
        Some(n) if n == u64::from(FORMAT_VERSION) => {}
        n => {
            return Err(bad(&format!(
                "format version {}, this synwave merges version {FORMAT_VERSION}",
                n.map_or("none".into(), |n| n.to_string())
            )))
        }
    }
    let test = v
        .get("test")
        .filter(|t| t.is_object())
        .cloned()
        .ok_or_else(|| bad("no test options (written by an older synwave?)"))?;
    let seg = v.get("segments").ok_or_else(|| bad("no segments"))?;
    let segment_count = u32::try_from(u64_at(seg, "count"))
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| bad("no segment count"))?;
    let segments: Vec<u32> = (seg.get("indices").and_then(Value::as_array))
        .ok_or_else(|| bad("no segment indices"))?
        .iter()
        .map(|i| {
            i.as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .filter(|&i| i < segment_count)
        })
        .collect::<Option<_>>()
        .ok_or_else(|| bad("a segment index out of range"))?;
    // Beside each index, when that segment started (older results have none).
    let starts: Vec<(u32, u64)> = (seg.get("started_at_unix_ns").and_then(Value::as_array))
        .into_iter()
        .flatten()
        .zip(&segments)
        .filter_map(|(t, &i)| Some((i, t.as_u64()?)))
        .collect();
    let windows: Vec<(f64, f64)> = (v["window"].get("intervals").and_then(Value::as_array))
        .ok_or_else(|| bad("no time window"))?
        .iter()
        .map(|w| Some((w.get(0)?.as_f64()?, w.get(1)?.as_f64()?)))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("a malformed time window"))?;
    let mut sum = Summary::default();
    for k in LOAD_COUNTS.iter().chain(STATUS_CLASSES) {
        sum.app.insert(k, u64_at(v, k));
    }
    for k in ERROR_CLASSES {
        sum.app.insert(k, u64_at(&v["errors"], k));
    }
    sum.app
        .insert("interrupted", u64::from(v["interrupted"] == json!(true)));
    for name in HISTOGRAMS.iter().chain([&SCHEDULE_LAG]) {
        if let Some(text) = v["histograms"].get(*name).and_then(Value::as_str) {
            let h = decode_histogram(text).map_err(|e| bad(&format!("histogram {name}: {e}")))?;
            sum.histograms.insert(name, h);
        }
    }
    let engine: BTreeMap<String, u64> = (v["engine"].as_object().into_iter().flatten())
        .filter_map(|(k, n)| Some((k.clone(), n.as_u64()?)))
        .collect();
    let x = &v["xdp"];
    sum.xdp = report::XdpCounters {
        redirected: u64_at(x, "redirected"),
        passed: u64_at(x, "passed"),
        no_xsk: u64_at(x, "no_xsk"),
        malformed: u64_at(x, "malformed"),
        arp_requests: u64_at(x, "arp_requests"),
    };
    sum.tcbs_left = u64_at(v, "tcbs_left") as usize;
    sum.time_wait_left = u64_at(v, "time_wait_left") as usize;
    sum.tx_dropped = u64_at(v, "tx_dropped");
    sum.elapsed = f64_at(v, "elapsed_s");
    let secs = |s: f64| Duration::try_from_secs_f64(s).unwrap_or_default();
    sum.workers = (v["workers"].as_array().into_iter().flatten())
        .map(|w| {
            let wall = f64_at(w, "wall_s");
            WorkerLoad {
                queue: u64_at(w, "queue") as u32,
                cpu: secs(f64_at(w, "cpu_s")),
                busy: secs(f64_at(w, "busy_percent") / 100.0 * wall),
                wall: secs(wall),
            }
        })
        .collect();
    Ok(Part {
        name: name.to_string(),
        sum,
        engine,
        target_rate: v["rate"]["target"].as_f64(),
        test,
        segment_count,
        segments,
        windows,
        starts,
    })
}

/// The first key whose values differ between two test objects, with both.
fn first_difference(a: &Value, b: &Value) -> String {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return format!("{a} vs {b}");
    };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (x, y) = (
            a.get(k).unwrap_or(&Value::Null),
            b.get(k).unwrap_or(&Value::Null),
        );
        if x != y {
            return format!("{k} {x} vs {y}");
        }
    }
    String::new()
}

/// Sorted, overlapping intervals joined: the union, disjoint and in order.
pub fn union(mut windows: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    windows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (s, e) in windows {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Results merged into one.
#[derive(Clone, Debug)]
pub struct Merged {
    /// Every count summed and every histogram added.
    pub summary: Summary,
    /// The engine counters, summed by name.
    pub engine: BTreeMap<String, u64>,
    /// The length of the union of the measured windows, seconds.
    pub measured_s: f64,
    /// The segments' target rates added up (the whole test's).
    pub target_rate: Option<f64>,
    pub provenance: Provenance,
    /// How many results went in.
    pub results: usize,
    /// The test's segments no result held.
    pub missing: Vec<u32>,
    /// Seconds between the earliest and the latest start of a measured
    /// window: how far the machines were out of step.
    pub start_spread_s: f64,
    /// A segment that started more than this after the earliest is late
    /// ([`Merged::late`]).
    pub late_after: Duration,
}

/// How far after the earliest segment another may start before it is
/// called late: far above what the barrier of `load --wait-for-start`
/// leaves (a round trip on the cluster's network), and a hundredth of a
/// ten-second test, where a late share would start to show in the rate.
pub const LATE_AFTER: Duration = Duration::from_millis(100);

/// Merges `results`, each `(name, value)` with the name it is reported by
/// (a file, `stdin:3`).
/// Every load result in `inputs` (name, text), named `name` or, where a
/// text holds several, `name:1`, `name:2`…; and how many lines were skipped
/// as not results.
pub fn collect(inputs: Vec<(String, String)>) -> (Vec<(String, Value)>, usize) {
    let mut results = Vec::new();
    let mut skipped = 0;
    for (name, text) in inputs {
        let (values, n) = parse_stream(&text);
        skipped += n;
        let many = values.len() > 1;
        for (i, v) in values.into_iter().enumerate() {
            let name = if many {
                format!("{name}:{}", i + 1)
            } else {
                name.clone()
            };
            results.push((name, v));
        }
    }
    (results, skipped)
}

pub fn merge(results: &[(String, Value)]) -> Result<Merged, MergeError> {
    if results.is_empty() {
        return err("no load results to merge");
    }
    let parts: Vec<Part> = results
        .iter()
        .map(|(name, v)| read_part(name, v))
        .collect::<Result<_, _>>()?;
    let first = &parts[0];
    let mut owner: BTreeMap<u32, &str> = BTreeMap::new();
    let mut settings: BTreeMap<&str, (&str, (u64, u64, u8))> = BTreeMap::new();
    for p in &parts {
        if p.test != first.test {
            return err(format!(
                "{} and {} are results of different tests: {}",
                first.name,
                p.name,
                first_difference(&first.test, &p.test)
            ));
        }
        if p.segment_count != first.segment_count {
            return err(format!(
                "{} is a segment of {}, {} of {}: different splits of the test",
                first.name, first.segment_count, p.name, p.segment_count
            ));
        }
        for &i in &p.segments {
            if let Some(other) = owner.insert(i, &p.name) {
                return err(format!(
                    "segment {i}/{} is in both {other} and {}: overlapping results",
                    p.segment_count, p.name
                ));
            }
        }
        for (name, h) in &p.sum.histograms {
            let s = (h.low(), h.high(), h.sigfig());
            match settings.get(name) {
                Some(&(other, t)) if t != s => {
                    return err(format!(
                        "histogram {name}: {other} has {}..{} at {} digits, {} {}..{} at {} digits",
                        t.0, t.1, t.2, p.name, s.0, s.1, s.2
                    ))
                }
                Some(_) => {}
                None => {
                    settings.insert(name, (&p.name, s));
                }
            }
        }
    }
    let mut sum = Summary::default();
    let mut engine: BTreeMap<String, u64> = BTreeMap::new();
    let mut target_rate: Option<f64> = None;
    let mut windows = Vec::new();
    let mut starts = Vec::new();
    for p in &parts {
        for (k, v) in &p.sum.app {
            *sum.app.entry(k).or_default() += v;
        }
        for (name, h) in &p.sum.histograms {
            match sum.histograms.get_mut(name) {
                Some(total) => total
                    .add(h)
                    .map_err(|e| MergeError(format!("{}: histogram {name}: {e:?}", p.name)))?,
                None => {
                    sum.histograms.insert(name, h.clone());
                }
            }
        }
        for (k, v) in &p.engine {
            *engine.entry(k.clone()).or_default() += v;
        }
        sum.xdp.redirected += p.sum.xdp.redirected;
        sum.xdp.passed += p.sum.xdp.passed;
        sum.xdp.no_xsk += p.sum.xdp.no_xsk;
        sum.xdp.malformed += p.sum.xdp.malformed;
        sum.xdp.arp_requests += p.sum.xdp.arp_requests;
        sum.tcbs_left += p.sum.tcbs_left;
        sum.time_wait_left += p.sum.time_wait_left;
        sum.tx_dropped += p.sum.tx_dropped;
        sum.elapsed = sum.elapsed.max(p.sum.elapsed);
        sum.workers.extend(p.sum.workers.iter().copied());
        if let Some(r) = p.target_rate {
            *target_rate.get_or_insert(0.0) += r;
        }
        windows.extend(p.windows.iter().copied());
        starts.extend(p.starts.iter().copied());
    }
    starts.sort_unstable();
    let get = |k: &str| engine.get(k).copied().unwrap_or(0);
    (sum.engine.frames_in, sum.engine.frames_out) = (get("frames_in"), get("frames_out"));
    (sum.engine.retransmits, sum.engine.rst_sent) = (get("retransmits"), get("rst_sent"));
    let window_starts = parts.iter().filter_map(|p| p.windows.first().map(|w| w.0));
    let (lo, hi) = window_starts.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
        (lo.min(s), hi.max(s))
    });
    let windows = union(windows);
    sum.started_at = windows
        .first()
        .and_then(|w| Duration::try_from_secs_f64(w.0).ok())
        .map(|d| SystemTime::UNIX_EPOCH + d);
    let measured_s = windows.iter().map(|w| w.1 - w.0).sum::<f64>();
    let missing = (0..first.segment_count)
        .filter(|i| !owner.contains_key(i))
        .collect();
    Ok(Merged {
        summary: sum,
        engine,
        measured_s,
        target_rate,
        provenance: Provenance {
            test: first.test.clone(),
            segment_count: first.segment_count,
            segments: owner.keys().copied().collect(),
            windows,
            starts,
        },
        results: parts.len(),
        missing,
        start_spread_s: if hi >= lo { hi - lo } else { 0.0 },
        late_after: LATE_AFTER,
    })
}

impl Merged {
    /// The line to warn with when segments of the test are missing.
    pub fn missing_warning(&self) -> Option<String> {
        (!self.missing.is_empty()).then(|| {
            let list: Vec<String> = self.missing.iter().map(u32::to_string).collect();
            format!(
                "segment(s) {} of {} missing; the result is partial",
                list.join(", "),
                self.provenance.segment_count
            )
        })
    }

    /// The segments that started more than [`Merged::late_after`] after
    /// the earliest, each with how long after it, in seconds.
    pub fn late(&self) -> Vec<(u32, f64)> {
        let starts = &self.provenance.starts;
        let Some(first) = starts.iter().map(|s| s.1).min() else {
            return Vec::new();
        };
        let late_after = u64::try_from(self.late_after.as_nanos()).unwrap_or(u64::MAX);
        (starts.iter())
            .filter(|s| s.1 - first > late_after)
            .map(|&(i, t)| (i, (t - first) as f64 / 1e9))
            .collect()
    }

    /// The line to warn with when segments started late.
    pub fn late_warning(&self) -> Option<String> {
        let late = self.late();
        (!late.is_empty()).then(|| {
            let list: Vec<String> = (late.iter())
                .map(|(i, s)| format!("{i} ({s:.3} s)"))
                .collect();
            format!(
                "segment(s) {} of {} started later than {:.3} s after the earliest: \
                 the shares did not run in step (start them with --wait-for-start and synwave start, or --start-at)",
                list.join(", "),
                self.provenance.segment_count,
                self.late_after.as_secs_f64()
            )
        })
    }

    /// The JSON of one run ([`report::load_result`]) for the merged
    /// results, with the engine counters summed by name and a `merged`
    /// object: how many results, which segments are missing, the spread of
    /// their starts. It merges again like any result.
    pub fn json(&self) -> Value {
        let mut v = report::load_result(
            &self.summary,
            self.measured_s,
            self.target_rate,
            &self.provenance,
        );
        let engine: Map<String, Value> = (self.engine.iter())
            .map(|(k, n)| (k.clone(), json!(n)))
            .collect();
        v["engine"] = Value::Object(engine);
        v["merged"] = json!({
            "results": self.results,
            "complete": self.missing.is_empty(),
            "missing_segments": self.missing,
            "start_spread_s": self.start_spread_s,
            "late_after_s": self.late_after.as_secs_f64(),
            "late_segments": self.late().iter().map(|l| l.0).collect::<Vec<_>>(),
        });
        v
    }

    /// The table of one run ([`report::load_table`]) for the merged
    /// results, after a line that says what was merged.
    pub fn table(&self) -> String {
        let mut s = format!(
            "synwave merge: {} result(s), segments {} of {}",
            self.results,
            (self.provenance.segments.iter())
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            self.provenance.segment_count
        );
        if !self.missing.is_empty() {
            s.push_str(&format!(
                " (missing {})",
                (self.missing.iter())
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        s.push_str(&format!(
            ", starts {:.3} s apart, {} measured window(s)\n",
            self.start_spread_s,
            self.provenance.windows.len()
        ));
        s + &report::load_table(&self.summary, self.measured_s, self.target_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::segment::Segment;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    /// A segment's result: `started` connections, all completed, with
    /// connect latencies `lat`, measured from `start` for 10 s.
    fn result(seg: Segment, started: u64, lat: &[u64], start: f64) -> Value {
        let mut sum = Summary::default();
        sum.app.insert("started", started);
        sum.app.insert("completed", started - 1);
        sum.app.insert("reset", 1);
        sum.histograms.insert("connect", hist(lat));
        sum.elapsed = 11.0;
        sum.engine.frames_in = 3 * started;
        let test = json!({"target": "10.0.0.2:80", "rate": 300.0});
        let p = Provenance {
            test,
            segment_count: seg.count,
            segments: vec![seg.index],
            windows: vec![(start, start + 10.0)],
            starts: vec![(seg.index, (start * 1e9) as u64)],
        };
        report::load_result(&sum, 10.0, Some(100.0), &p)
    }

    fn named(vs: &[Value]) -> Vec<(String, Value)> {
        (vs.iter().enumerate())
            .map(|(i, v)| (format!("r{i}.json"), v.clone()))
            .collect()
    }

    fn seg(i: u32, n: u32) -> Segment {
        Segment::new(i, n).unwrap()
    }

    #[test]
    fn counts_add_histograms_add_bucket_for_bucket_and_the_rate_is_over_the_union() {
        let a = result(seg(0, 3), 1000, &[100, 200, 300], 1000.0);
        let b = result(seg(1, 3), 1000, &[100, 5000], 1000.5);
        let c = result(seg(2, 3), 1000, &[7], 1001.0);
        let m = merge(&named(&[a, b, c])).unwrap();
        assert_eq!(m.summary.get("started"), 3000);
        assert_eq!(m.summary.get("reset"), 3);
        assert_eq!(
            m.summary.histograms["connect"],
            hist(&[100, 200, 300, 100, 5000, 7])
        );
        assert_eq!(m.provenance.windows, [(1000.0, 1011.0)]);
        assert_eq!(m.measured_s, 11.0);
        assert_eq!(m.start_spread_s, 1.0);
        assert!(m.missing.is_empty());
        let v = m.json();
        assert_eq!(v["started"], json!(3000));
        assert_eq!(v["rate"]["achieved"], json!(3000.0 / 11.0));
        assert_eq!(v["rate"]["target"], json!(300.0));
        assert_eq!(v["engine"]["frames_in"], json!(9000));
        assert_eq!(v["segments"]["count"], json!(3));
        assert_eq!(v["segments"]["indices"], json!([0, 1, 2]));
        assert_eq!(v["merged"]["complete"], json!(true));
        assert_eq!(v["latency_us"]["connect"]["count"], json!(6));
        assert_eq!(v["latency_us"]["connect"]["max"], json!(5003));
        let t = m.table();
        assert!(
            t.starts_with("synwave merge: 3 result(s), segments 0,1,2 of 3"),
            "{t}"
        );
        assert!(t.contains("started 3000  completed 2997"), "{t}");
    }

    #[test]
    fn a_merged_result_merges_again_and_a_missing_segment_is_said() {
        let a = result(seg(0, 3), 10, &[1], 0.0);
        let b = result(seg(1, 3), 10, &[2], 20.0);
        let c = result(seg(2, 3), 10, &[3], 5.0);
        let ab = merge(&named(&[a.clone(), b.clone()])).unwrap();
        assert_eq!(ab.missing, [2]);
        assert!(ab.table().contains("(missing 2)"));
        assert_eq!(ab.json()["merged"]["complete"], json!(false));
        // Disjoint windows: the rate is over both, not the span.
        assert_eq!(ab.measured_s, 20.0);
        let again = merge(&named(&[ab.json(), c.clone()])).unwrap();
        let once = merge(&named(&[a, b, c])).unwrap();
        assert_eq!(again.json()["histograms"], once.json()["histograms"]);
        assert_eq!(again.measured_s, once.measured_s);
        assert_eq!(again.provenance, once.provenance);
    }

    #[test]
    fn results_of_different_tests_are_refused_in_one_line() {
        let a = result(seg(0, 2), 10, &[1], 0.0);
        let mut b = result(seg(1, 2), 10, &[1], 0.0);
        b["test"]["rate"] = json!(600.0);
        let e = merge(&named(&[a.clone(), b])).unwrap_err().0;
        assert_eq!(
            e,
            "r0.json and r1.json are results of different tests: rate 300.0 vs 600.0"
        );
        let dup = merge(&named(&[a.clone(), a.clone()])).unwrap_err().0;
        assert!(
            dup.contains("segment 0/2 is in both r0.json and r1.json"),
            "{dup}"
        );
        let other = result(seg(1, 3), 10, &[1], 0.0);
        let split = merge(&named(&[a.clone(), other])).unwrap_err().0;
        assert!(split.contains("different splits"), "{split}");
        let mut coarse = result(seg(1, 2), 10, &[1], 0.0);
        let h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 2).unwrap();
        coarse["histograms"]["connect"] = json!(report::encode_histogram(&h));
        let e = merge(&named(&[a.clone(), coarse])).unwrap_err().0;
        assert!(
            e.contains("histogram connect") && e.contains("at 2 digits"),
            "{e}"
        );
        let mut old = a.clone();
        old.as_object_mut().unwrap().remove("test");
        assert!(merge(&named(&[old]))
            .unwrap_err()
            .0
            .contains("no test options"));
        let mut v2 = a;
        v2["format_version"] = json!(2);
        assert!(merge(&named(&[v2]))
            .unwrap_err()
            .0
            .contains("format version 2"));
        assert!(merge(&[]).is_err());
        for e in [dup, split] {
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn a_log_stream_yields_its_results_and_counts_the_other_lines() {
        let a = result(seg(0, 2), 10, &[1], 0.0);
        let b = result(seg(1, 2), 10, &[1], 0.0);
        let log = format!(
            "synwave: warning: something\n{a}\n\n[pod/load-1] {b}\n{{\"command\":\"serve\"}}\nnot {{ json\n"
        );
        let (values, skipped) = parse_stream(&log);
        assert_eq!(values, [a.clone(), b.clone()]);
        assert_eq!(skipped, 3);
        // A pretty-printed file, or several objects: JSON throughout.
        let pretty = serde_json::to_string_pretty(&a).unwrap() + "\n" + &b.to_string();
        assert_eq!(parse_stream(&pretty), (vec![a, b], 0));
    }

    /// Issue 16: each result records when its segment actually started,
    /// and a segment that started more than the tolerance after the
    /// earliest is flagged, in a warning and in the merged JSON; the
    /// starts survive a merge of merged results.
    #[test]
    fn a_segment_that_started_late_is_flagged() {
        let a = result(seg(0, 3), 10, &[1], 1000.0);
        let b = result(seg(1, 3), 10, &[1], 1000.05);
        let c = result(seg(2, 3), 10, &[1], 1000.5);
        assert_eq!(a["started_at_unix_ns"], json!(1_000_000_000_000u64));
        assert_eq!(
            a["segments"]["started_at_unix_ns"],
            json!([1_000_000_000_000u64])
        );
        let m = merge(&named(&[c.clone(), a.clone(), b.clone()])).unwrap();
        let late = m.late();
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].0, 2);
        assert!((late[0].1 - 0.5).abs() < 1e-6, "{late:?}");
        let w = m.late_warning().unwrap();
        assert!(
            w.starts_with(
                "segment(s) 2 (0.500 s) of 3 started later than 0.100 s after the earliest"
            ),
            "{w}"
        );
        let v = m.json();
        assert_eq!(v["merged"]["late_segments"], json!([2]));
        assert_eq!(v["merged"]["late_after_s"], json!(0.1));
        assert_eq!(v["started_at_unix_ns"], json!(1_000_000_000_000u64));
        assert_eq!(
            v["segments"]["started_at_unix_ns"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        // Within the tolerance (segment 1 is 50 ms behind): not late.
        let in_step = merge(&named(&[a.clone(), b.clone()])).unwrap();
        assert!(in_step.late().is_empty() && in_step.late_warning().is_none());
        // A looser tolerance forgives segment 2 too.
        let mut loose = m.clone();
        loose.late_after = Duration::from_secs(1);
        assert!(loose.late().is_empty());
        // Merged again, the starts are kept, and so is the verdict.
        let ab = merge(&named(&[a, b])).unwrap().json();
        assert_eq!(merge(&named(&[ab, c])).unwrap().late(), late);
    }

    #[test]
    fn union_joins_overlapping_windows() {
        assert_eq!(
            union(vec![(5.0, 6.0), (0.0, 2.0), (1.0, 3.0), (3.0, 4.0)]),
            [(0.0, 4.0), (5.0, 6.0)]
        );
        assert!(union(Vec::new()).is_empty());
    }
}
