//! `load --interval T`: a time series of a run, one JSON line (or, with
//! `--csv`, one CSV line) per interval with what happened in it — starts,
//! completions, errors by class, the latency percentiles and the
//! interval's HDR histograms (base64 V2, so that intervals merge across
//! machines too) — and, with `--hdr-log`, the same histograms as an
//! HdrHistogram interval log, which HdrHistogram's tools in every language
//! read. Each interval is the difference of two running totals, and the
//! last one runs to the final summary, so the intervals add up to the
//! final summary exactly. Pure: the shell hands in the totals as they come
//! and writes the text.

use super::report::{
    encode_histogram, latency_json, Summary, ERROR_CLASSES, HISTOGRAMS, LOAD_COUNTS, SCHEDULE_LAG,
    STATUS_CLASSES,
};
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
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

    /// The interval that ends with `sum`, if a boundary has passed since
    /// the last one.
    pub fn tick(&mut self, sum: &Summary) -> Option<Interval> {
        if sum.elapsed < self.next {
            return None;
        }
        while self.next <= sum.elapsed {
            self.next += self.every;
        }
        Some(self.line(sum, false))
    }

    /// The last interval: from the last one to the final summary.
    pub fn finish(&mut self, sum: &Summary) -> Interval {
        self.line(sum, true)
    }

    fn line(&mut self, sum: &Summary, last: bool) -> Interval {
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
        let counts = counts()
            .chain(ERROR_CLASSES.iter().copied())
            .map(|k| (k, delta(k)))
            .collect();
        let histograms = HISTOGRAMS
            .iter()
            .chain([&SCHEDULE_LAG])
            .filter_map(|&name| {
                let mut h = now.histograms.get(name)?.clone();
                if let Some(was) = self.last.histograms.get(name) {
                    // Running totals only grow, so this cannot fail.
                    let _ = h.subtract(was);
                }
                Some((name, h))
            })
            .collect();
        let i = Interval {
            index: self.index,
            last,
            start_s: self.last.elapsed,
            end_s: now.elapsed,
            unix_start: self.unix_start,
            counts,
            histograms,
        };
        self.index += 1;
        self.last = now;
        i
    }
}

/// The counts of an interval besides the error classes, in the order the
/// JSON and the CSV give them.
fn counts() -> impl Iterator<Item = &'static str> {
    LOAD_COUNTS.iter().chain(STATUS_CLASSES).copied()
}

/// The latency columns of the CSV per histogram, as (name, quantile), µs.
const CSV_LATENCY: [(&str, Option<f64>); 6] = [
    ("p50", Some(0.5)),
    ("p90", Some(0.9)),
    ("p99", Some(0.99)),
    ("p99.9", Some(0.999)),
    ("max", Some(1.0)),
    ("mean", None),
];

/// What happened in one interval of a run: the counts that grew in it and
/// the values its latency histograms gained (all µs).
#[derive(Clone, Debug)]
pub struct Interval {
    /// 0 for the first interval.
    pub index: u64,
    /// True for the one that ends with the final summary.
    pub last: bool,
    /// Its start and end, in seconds on the workers' clock.
    pub start_s: f64,
    pub end_s: f64,
    /// When the workers' clock started, in Unix seconds, if known.
    pub unix_start: Option<f64>,
    /// Load counts and error classes, by name.
    pub counts: Vec<(&'static str, u64)>,
    /// The latency histograms, by name.
    pub histograms: Vec<(&'static str, Histogram<u64>)>,
}

impl Interval {
    /// A count by name, 0 if absent.
    pub fn get(&self, name: &str) -> u64 {
        self.counts.iter().find(|c| c.0 == name).map_or(0, |c| c.1)
    }

    /// The JSON line: counts at the top level, error classes under
    /// `errors`, percentiles under `latency_us`, and each histogram in
    /// base64 V2 under `histograms`.
    pub fn json(&self) -> Value {
        let mut o = Map::new();
        o.insert("interval".into(), json!(self.index));
        o.insert("last".into(), json!(self.last));
        o.insert("start_s".into(), json!(self.start_s));
        o.insert("end_s".into(), json!(self.end_s));
        if let Some(u) = self.unix_start {
            o.insert("start_unix_s".into(), json!(u + self.start_s));
            o.insert("end_unix_s".into(), json!(u + self.end_s));
        }
        for k in counts() {
            o.insert(k.into(), json!(self.get(k)));
        }
        let errors: Map<String, Value> = ERROR_CLASSES
            .iter()
            .map(|k| ((*k).into(), json!(self.get(k))))
            .collect();
        o.insert("errors".into(), Value::Object(errors));
        let mut lat = Map::new();
        let mut enc = Map::new();
        for (name, h) in &self.histograms {
            lat.insert((*name).into(), latency_json(h));
            enc.insert((*name).into(), json!(encode_histogram(h)));
        }
        o.insert("latency_us".into(), Value::Object(lat));
        o.insert("histograms".into(), Value::Object(enc));
        Value::Object(o)
    }

    /// The CSV header line (`--csv`): the same columns every run, whichever
    /// histograms it keeps; an error class by its own name, a latency as
    /// `<histogram>_<statistic>_us`.
    pub fn csv_header() -> String {
        let mut cols: Vec<String> = [
            "interval",
            "last",
            "start_s",
            "end_s",
            "start_unix_s",
            "end_unix_s",
        ]
        .into_iter()
        .chain(counts())
        .chain(ERROR_CLASSES.iter().copied())
        .map(|s| s.to_string())
        .collect();
        for name in HISTOGRAMS.iter().chain([&SCHEDULE_LAG]) {
            cols.push(format!("{name}_count"));
            for (stat, _) in CSV_LATENCY {
                cols.push(format!("{name}_{stat}_us"));
            }
        }
        cols.join(",")
    }

    /// This interval as a CSV line under [`Interval::csv_header`]; cells
    /// of an unknown Unix time or an absent histogram are empty.
    pub fn csv_row(&self) -> String {
        let unix = |t: f64| {
            self.unix_start
                .map_or(String::new(), |u| (u + t).to_string())
        };
        let mut cells = vec![
            self.index.to_string(),
            self.last.to_string(),
            self.start_s.to_string(),
            self.end_s.to_string(),
            unix(self.start_s),
            unix(self.end_s),
        ];
        for k in counts().chain(ERROR_CLASSES.iter().copied()) {
            cells.push(self.get(k).to_string());
        }
        for name in HISTOGRAMS.iter().chain([&SCHEDULE_LAG]) {
            let h = self.histograms.iter().find(|h| h.0 == *name).map(|h| &h.1);
            cells.push(h.map_or(String::new(), |h| h.len().to_string()));
            for (_, q) in CSV_LATENCY {
                cells.push(h.map_or(String::new(), |h| match q {
                    Some(q) => h.value_at_quantile(q).to_string(),
                    None => format!("{:.1}", h.mean()),
                }));
            }
        }
        cells.join(",")
    }

    /// This interval's lines of an HdrHistogram interval log (after
    /// [`hdr_log_header`]): one per histogram, tagged with its name, the
    /// start relative to the log's BaseTime (the run's start).
    pub fn hdr_log_lines(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser = V2DeflateSerializer::new();
        let start = Duration::from_secs_f64(self.start_s.max(0.0));
        let length = Duration::from_secs_f64((self.end_s - self.start_s).max(0.0));
        if let Ok(mut w) = IntervalLogWriterBuilder::new().begin_log_with(&mut out, &mut ser) {
            for (name, h) in &self.histograms {
                // Names are identifiers, valid tags.
                let _ = w.write_histogram(h, start, length, Tag::new(name));
            }
        }
        out
    }
}

/// The head of an HdrHistogram interval log (`--hdr-log`), as the Java
/// HistogramLogWriter writes it: the format version, StartTime and BaseTime
/// (the run's start, which interval starts count from), and the legend.
/// Values are µs, as everywhere in synwave.
pub fn hdr_log_header(unix_start: Option<f64>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = V2DeflateSerializer::new();
    let mut b = IntervalLogWriterBuilder::new();
    b.add_comment("[Logged with synwave; values in microseconds, one Tag per latency histogram]");
    b.add_comment("[Histogram log format version 1.3]");
    if let Some(u) = unix_start {
        let t = std::time::UNIX_EPOCH + Duration::from_secs_f64(u);
        b.with_start_time(t).with_base_time(t);
    }
    let _ = b.begin_log_with(&mut out, &mut ser);
    out.extend_from_slice(
        b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
    );
    out
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
        let one = iv.tick(&at(1.1, 5, &[10, 20])).unwrap().json();
        assert_eq!(one["started"], json!(5));
        assert_eq!(one["interval"], json!(0));
        assert!(iv.tick(&at(1.9, 6, &[10, 20])).is_none());
        // A late tick covers the boundaries it passed, in one line.
        let two = iv.tick(&at(3.2, 9, &[10, 20, 30])).unwrap().json();
        assert_eq!(
            (two["started"].clone(), two["start_s"].clone()),
            (json!(4), json!(1.1))
        );
        assert_eq!(two["latency_us"]["connect"]["count"], json!(1));
        assert_eq!(two["latency_us"]["connect"]["max"], json!(30));
        assert!(iv.tick(&at(3.9, 9, &[10, 20, 30])).is_none());
        let end = iv.finish(&at(4.0, 10, &[10, 20, 30, 40])).json();
        assert_eq!(end["started"], json!(1));
        assert_eq!(end["last"], json!(true));
        assert_eq!(end["interval"], json!(2));
    }

    #[test]
    fn csv_rows_have_the_headers_columns_and_empty_cells_for_what_is_absent() {
        let mut iv = Intervals::new(Duration::from_secs(1));
        let mut sum = at(1.5, 7, &[10, 20]);
        sum.started_at = Some(std::time::UNIX_EPOCH + Duration::from_secs(1_000));
        let row = iv.tick(&sum).unwrap().csv_row();
        let header = Interval::csv_header();
        let cols: Vec<&str> = header.split(',').collect();
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cols.len(), cells.len(), "{header}\n{row}");
        let cell = |c: &str| cells[cols.iter().position(|&x| x == c).unwrap()];
        assert_eq!(
            (cell("started"), cell("end_unix_s"), cell("connect_count")),
            ("7", "1001.5", "2")
        );
        assert_eq!(
            (cell("connect_p50_us"), cell("connect_max_us")),
            ("10", "20")
        );
        assert_eq!((cell("refused"), cell("schedule_lag_count")), ("0", ""));
    }

    #[test]
    fn the_hdr_log_reads_back_with_the_crates_reader_as_the_same_histograms() {
        use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
        use hdrhistogram::serialization::Deserializer;
        let mut iv = Intervals::new(Duration::from_secs(1));
        let mut log = hdr_log_header(Some(1_700_000_000.25));
        let first = iv.tick(&at(1.0, 2, &[10, 20])).unwrap();
        let last = iv.finish(&at(2.5, 3, &[10, 20, 3_000_000]));
        log.extend(first.hdr_log_lines());
        log.extend(last.hdr_log_lines());
        let text = String::from_utf8(log.clone()).unwrap();
        assert!(text.starts_with("#[Logged with synwave"), "{text}");
        assert!(text.contains("#[StartTime: 1700000000.250 (seconds since epoch)]\n"));
        assert!(text.contains("#[BaseTime: 1700000000.250 (seconds since epoch)]\n"));
        assert!(text.contains("\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"));
        let mut got = Vec::new();
        for e in IntervalLogIterator::new(&log) {
            match e.unwrap() {
                LogEntry::Interval(i) => {
                    let bytes = base64::Engine::decode(
                        &base64::engine::general_purpose::STANDARD,
                        i.encoded_histogram(),
                    )
                    .unwrap();
                    let h: Histogram<u64> =
                        Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
                    got.push((
                        i.tag().unwrap().as_str().to_string(),
                        i.start_timestamp(),
                        i.duration(),
                        i.max(),
                        h,
                    ));
                }
                LogEntry::StartTime(t) | LogEntry::BaseTime(t) => {
                    assert_eq!(t, Duration::from_millis(1_700_000_000_250))
                }
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "connect");
        assert_eq!(
            (got[1].1, got[1].2),
            (Duration::from_secs(1), Duration::from_millis(1500))
        );
        assert_eq!(got[0].4, first.histograms[0].1);
        assert_eq!(got[1].4, last.histograms[0].1);
        assert!(got[1].3 >= 3_000_000.0);
    }
}
