//! Results as people and programs read them: a summary table, one JSON
//! object, Prometheus text, and a one-line progress report.

use crate::tcp::Stats;
use base64::Engine as _;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// A worker's counters at one moment.
#[derive(Clone, Debug)]
pub struct WorkerReport {
    pub queue: u32,
    pub engine: Stats,
    pub app: Vec<(&'static str, u64)>,
    pub histograms: Vec<(&'static str, Histogram<u64>)>,
    pub tcbs: usize,
    pub time_waits: usize,
    /// Frames the tx ring had no room for (TCP retransmits them).
    pub tx_dropped: u64,
    /// Frames that arrived on this worker's queue but belong to another
    /// worker's connection, copied to it.
    pub handed_off: u64,
    /// Frames for another worker that found its inbox full (or the worker
    /// ended): dropped, and retransmitted by TCP.
    pub handoff_dropped: u64,
    /// How much of a core the worker used, and of its time had work.
    pub load: WorkerLoad,
    /// True on the last report: the worker's result as it ends.
    pub last: bool,
}

/// A worker's use of its core since it started. A worker spins while a
/// timer or a connection is due within the millisecond poll(2) resolves,
/// so its CPU time alone overstates how loaded it is: `busy` counts only
/// the turns that had frames to receive or send (connections opened
/// included), the time it could not have done more.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WorkerLoad {
    pub queue: u32,
    /// CPU time of the worker's thread (CLOCK_THREAD_CPUTIME_ID): spinning
    /// included, sleeping in poll(2) or waiting for a core not.
    pub cpu: Duration,
    /// Wall time of the turns that received, sent or opened something.
    pub busy: Duration,
    /// Wall time since the worker started.
    pub wall: Duration,
}

impl WorkerLoad {
    fn percent(part: Duration, wall: Duration) -> f64 {
        if wall.is_zero() {
            return 0.0;
        }
        (100.0 * part.as_secs_f64() / wall.as_secs_f64()).min(100.0)
    }

    /// CPU time in percent of one core over the worker's wall time.
    pub fn cpu_percent(&self) -> f64 {
        Self::percent(self.cpu, self.wall)
    }

    /// Busy time in percent of the worker's wall time.
    pub fn busy_percent(&self) -> f64 {
        Self::percent(self.busy, self.wall)
    }
}

/// Every worker's counters, added up.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub engine: Stats,
    pub app: BTreeMap<&'static str, u64>,
    pub histograms: BTreeMap<&'static str, Histogram<u64>>,
    pub tcbs_left: usize,
    pub time_wait_left: usize,
    pub tx_dropped: u64,
    /// Frames handed from the worker that received them to their owner.
    pub handed_off: u64,
    /// Frames for another worker dropped on the way (a full inbox).
    pub handoff_dropped: u64,
    pub xdp: XdpCounters,
    /// How the data path was attached, when the runtime ran the workers.
    pub attached: Option<Attached>,
    /// Seconds the workers ran.
    pub elapsed: f64,
    /// Wall-clock time when the workers' clock started (`elapsed` counts
    /// from then), when the runtime ran them.
    pub started_at: Option<std::time::SystemTime>,
    /// What the `--pcap` file holds, when one was written.
    pub capture: Option<super::capture::Written>,
    /// Each worker's use of its core, in the order they were added.
    pub workers: Vec<WorkerLoad>,
    /// Each worker's report as added, for series per worker (Prometheus).
    pub by_worker: Vec<WorkerReport>,
}

impl Summary {
    /// Adds one worker's report: engine, application, table sizes, drops.
    pub fn add(&mut self, r: &WorkerReport) {
        self.engine.add(&r.engine);
        self.add_app(r);
        self.tcbs_left += r.tcbs;
        self.time_wait_left += r.time_waits;
        self.tx_dropped += r.tx_dropped;
        self.handed_off += r.handed_off;
        self.handoff_dropped += r.handoff_dropped;
        self.workers.push(r.load);
        self.by_worker.push(r.clone());
    }

    /// Adds one worker's application counters and histograms.
    fn add_app(&mut self, r: &WorkerReport) {
        for &(k, v) in &r.app {
            *self.app.entry(k).or_default() += v;
        }
        for (k, h) in &r.histograms {
            match self.histograms.get_mut(k) {
                // Same bounds everywhere, so adding cannot fail.
                Some(sum) => {
                    let _ = sum.add(h);
                }
                None => {
                    self.histograms.insert(k, h.clone());
                }
            }
        }
    }

    /// An application counter, 0 if absent.
    pub fn get(&self, name: &str) -> u64 {
        self.app.get(name).copied().unwrap_or(0)
    }

    /// Failed connections of a load: every one of the [`ERROR_CLASSES`].
    pub fn errors(&self) -> u64 {
        super::load::LoadCounters::read(|k| self.get(k)).errors()
    }
}

/// How the data path ended up attached (`--xdp-mode`, `--bind`), as the
/// kernel granted it rather than as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attached {
    /// Where the XDP program runs: `native`, `generic` or `offload`.
    pub xdp_mode: &'static str,
    /// How the AF_XDP sockets are bound: `zero-copy` or `copy`.
    pub bind: &'static str,
    /// Whether the UMEM is in huge pages.
    pub huge_pages: bool,
}

/// The XDP program's packet counters, summed over CPUs (`io` reads them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XdpCounters {
    /// Frames handed to an AF_XDP socket.
    pub redirected: u64,
    /// Frames that are not synwave's, passed to the kernel.
    pub passed: u64,
    /// synwave's frames that arrived on a queue with no registered socket
    /// (passed to the kernel, which will answer with RST: a config bug).
    pub no_xsk: u64,
    /// Truncated or invalid IPv4/TCP headers, passed to the kernel.
    pub malformed: u64,
    /// ARP requests for synwave-only addresses, handed to the workers to answer.
    pub arp_requests: u64,
}

pub use super::prometheus::prometheus;

/// The error classes of a load run, in the order they are printed.
pub use super::load::ERROR_CLASSES;
/// The HTTP status classes of a load run's responses, in the order they are
/// printed.
pub use super::load::STATUS_CLASSES;

/// The version of the JSON result format; raised whenever a key changes
/// meaning or goes away (new keys may appear without it).
pub const FORMAT_VERSION: u32 = 3;

/// The counters of a load run at the top level of its JSON, besides the
/// status classes (and the error classes under `errors`).
pub const LOAD_COUNTS: [&str; 8] = [
    "started",
    "completed",
    "requests",
    "responses",
    "bytes_received",
    "warm_up",
    "no_free_tuple",
    "concurrency_full",
];

/// The latency histograms of a load run: from each connection's intended
/// start to its handshake, its first response byte and its end; `response`
/// from each request written to its response complete (wrk's latency).
pub const HISTOGRAMS: [&str; 4] = ["connect", "first_byte", "response", "lifecycle"];

/// The histogram of how late each connection of a `--rate` run started
/// against its intended time (µs).
pub const SCHEDULE_LAG: &str = "schedule_lag";

/// A worker with work to do this share of its time or more limited the run.
pub const BUSY_LIMIT_PERCENT: f64 = 95.0;

/// A schedule lag p99 above this (µs) means connections went out late.
pub const LAG_LIMIT_US: u64 = 10_000;

/// Why the generator, not the server, limited a run; empty when it did not.
/// A worker busy [`BUSY_LIMIT_PERCENT`] of its time or more could not have
/// done more (with `--concurrency` alone too); with `--rate`, a schedule
/// lag p99 above [`LAG_LIMIT_US`] means connections went out later than
/// the rate asked (wrk2's coordinated omission, measured), unless they
/// waited for a free source tuple or for `--concurrency`, which the server
/// and the tuple space decide, and the summary says on its own lines.
pub fn generator_limits(sum: &Summary) -> Vec<String> {
    let mut why = Vec::new();
    for w in &sum.workers {
        if w.busy_percent() >= BUSY_LIMIT_PERCENT {
            why.push(format!(
                "worker {} busy {:.0}%, cpu {:.0}%",
                w.queue,
                w.busy_percent(),
                w.cpu_percent()
            ));
        }
    }
    if let Some(h) = sum.histograms.get(SCHEDULE_LAG).filter(|h| !h.is_empty()) {
        let p99 = h.value_at_quantile(0.99);
        let held = sum.get("no_free_tuple") + sum.get("concurrency_full") > 0;
        if p99 > LAG_LIMIT_US && !held {
            why.push(format!("schedule lag p99 {}", us(p99)));
        }
    }
    why
}

/// Percentiles reported everywhere, as (label, quantile).
const PERCENTILES: [(&str, f64); 6] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
    ("p100", 1.0),
];

/// A histogram's standard text form: base64 of the compressed V2 encoding,
/// which HdrHistogram's tools in every language decode.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// count, min, mean, max and the percentile set of a µs histogram.
pub fn latency_json(h: &Histogram<u64>) -> Value {
    let mut o = Map::new();
    o.insert("count".into(), json!(h.len()));
    o.insert("min".into(), json!(if h.is_empty() { 0 } else { h.min() }));
    o.insert("mean".into(), json!(h.mean()));
    for (label, q) in PERCENTILES {
        o.insert(label.into(), json!(h.value_at_quantile(q)));
    }
    o.insert("max".into(), json!(h.max()));
    Value::Object(o)
}

/// How the data path was attached, as JSON keys: `xdp_mode`, `bind`,
/// `huge_pages` (none when no runtime ran).
fn attached_json(sum: &Summary, o: &mut Map<String, Value>) {
    if let Some(a) = &sum.attached {
        o.insert("xdp_mode".into(), json!(a.xdp_mode));
        o.insert("bind".into(), json!(a.bind));
        o.insert("huge_pages".into(), json!(a.huge_pages));
    }
}

/// How the data path was attached, as a line of the text summaries.
fn attached_line(sum: &Summary) -> String {
    sum.attached.map_or(String::new(), |a| {
        let huge = if a.huge_pages {
            ", UMEM in huge pages"
        } else {
            ""
        };
        format!("  data path: XDP {}, {} bind{huge}\n", a.xdp_mode, a.bind)
    })
}

/// Engine and XDP counters as JSON objects.
fn counters_json(sum: &Summary, o: &mut Map<String, Value>) {
    let engine: Map<String, Value> = sum
        .engine
        .fields()
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    o.insert("engine".into(), Value::Object(engine));
    let x = &sum.xdp;
    o.insert(
        "xdp".into(),
        json!({"redirected": x.redirected, "passed": x.passed, "no_xsk": x.no_xsk,
               "malformed": x.malformed, "arp_requests": x.arp_requests}),
    );
    attached_json(sum, o);
    o.insert("tcbs_left".into(), json!(sum.tcbs_left));
    o.insert("time_wait_left".into(), json!(sum.time_wait_left));
    o.insert("tx_dropped".into(), json!(sum.tx_dropped));
    o.insert("handed_off".into(), json!(sum.handed_off));
    o.insert("handoff_dropped".into(), json!(sum.handoff_dropped));
    o.insert("elapsed_s".into(), json!(sum.elapsed));
    let workers: Vec<Value> = sum
        .workers
        .iter()
        .map(|w| {
            json!({"queue": w.queue, "cpu_percent": w.cpu_percent(),
                   "busy_percent": w.busy_percent(), "cpu_s": w.cpu.as_secs_f64(),
                   "wall_s": w.wall.as_secs_f64()})
        })
        .collect();
    o.insert("workers".into(), Value::Array(workers));
}

/// The JSON of `serve` and `connect`: every application counter at the top level.
pub fn flat_json(command: &str, sum: &Summary) -> Value {
    let mut o = Map::new();
    o.insert("command".into(), json!(command));
    for (k, v) in &sum.app {
        o.insert((*k).into(), json!(v));
    }
    counters_json(sum, &mut o);
    Value::Object(o)
}

/// The JSON of a load run. `measured_s` is the measured period (after the
/// warm-up) for the achieved rate; `target_rate` the asked-for rate, if any.
pub fn load_json(sum: &Summary, measured_s: f64, target_rate: Option<f64>) -> Value {
    let mut o = Map::new();
    o.insert("command".into(), json!("load"));
    o.insert("format_version".into(), json!(FORMAT_VERSION));
    o.insert("interrupted".into(), json!(sum.get("interrupted") > 0));
    for k in LOAD_COUNTS.iter().chain(STATUS_CLASSES) {
        o.insert((*k).into(), json!(sum.get(k)));
    }
    let errors: Map<String, Value> = ERROR_CLASSES
        .iter()
        .map(|k| ((*k).into(), json!(sum.get(k))))
        .collect();
    o.insert("errors".into(), Value::Object(errors));
    o.insert(
        "rate".into(),
        json!({"target": target_rate, "achieved": sum.get("started") as f64 / measured_s.max(1e-9)}),
    );
    let mut lat = Map::new();
    let mut enc = Map::new();
    for name in HISTOGRAMS {
        if let Some(h) = sum.histograms.get(name) {
            lat.insert(name.into(), latency_json(h));
            enc.insert(name.into(), json!(encode_histogram(h)));
        }
    }
    let lag = target_rate.and(sum.histograms.get(SCHEDULE_LAG));
    o.insert(
        "schedule_lag_us".into(),
        lag.map_or(Value::Null, latency_json),
    );
    if let Some(h) = lag {
        enc.insert(SCHEDULE_LAG.into(), json!(encode_histogram(h)));
    }
    o.insert("latency_us".into(), Value::Object(lat));
    o.insert("histograms".into(), Value::Object(enc));
    let why = generator_limits(sum);
    o.insert("generator_limited".into(), json!(!why.is_empty()));
    o.insert("generator_limited_reasons".into(), json!(why));
    counters_json(sum, &mut o);
    Value::Object(o)
}

/// What a load result says about the test it is part of, so that results
/// of several machines (or segments) can be merged exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// The options that define the test ([`super::segment::test_options`]):
    /// results merge only when theirs are equal.
    pub test: Value,
    /// How many segments the test is split into.
    pub segment_count: u32,
    /// Which of them this result holds, in order.
    pub segments: Vec<u32>,
    /// The measured periods, as (start, end) in Unix seconds: disjoint and
    /// in order; one for a single run, empty when unknown.
    pub windows: Vec<(f64, f64)>,
    /// When each segment's workers actually started (after any barrier or
    /// start time), in Unix nanoseconds: (segment, time), by segment.
    pub starts: Vec<(u32, u64)>,
}

impl Provenance {
    /// One run of `segment` of the test `test`, measured from `warm_up`
    /// after the workers' clock started, for `measured_s`.
    pub fn run(
        test: Value,
        segment: super::segment::Segment,
        sum: &Summary,
        warm_up: Duration,
        measured_s: f64,
    ) -> Self {
        let windows = sum
            .started_at
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|t| {
                let start = (t + warm_up).as_secs_f64();
                (start, start + measured_s)
            });
        let started = sum
            .started_at
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|t| u64::try_from(t.as_nanos()).ok());
        Provenance {
            test,
            segment_count: segment.count,
            segments: vec![segment.index],
            windows: windows.into_iter().collect(),
            starts: started.map(|t| (segment.index, t)).into_iter().collect(),
        }
    }

    /// The keys a merge needs: `test`, `segments`, `window`, and
    /// `started_at_unix_ns` (the earliest segment's start; each segment's
    /// is in `segments`, beside its index, null where unknown).
    fn insert(&self, o: &mut Map<String, Value>) {
        o.insert("test".into(), self.test.clone());
        let start_of = |i: &u32| {
            (self.starts.iter())
                .find(|s| s.0 == *i)
                .map_or(Value::Null, |s| json!(s.1))
        };
        o.insert(
            "segments".into(),
            json!({
                "count": self.segment_count,
                "indices": self.segments,
                "started_at_unix_ns": self.segments.iter().map(start_of).collect::<Vec<_>>(),
            }),
        );
        o.insert(
            "started_at_unix_ns".into(),
            json!(self.starts.iter().map(|s| s.1).min()),
        );
        let window = match (self.windows.first(), self.windows.last()) {
            (Some(first), Some(last)) => json!({
                "start_unix_s": first.0,
                "end_unix_s": last.1,
                "measured_s": self.windows.iter().map(|w| w.1 - w.0).sum::<f64>(),
                "intervals": self.windows.iter().map(|w| json!([w.0, w.1])).collect::<Vec<_>>(),
            }),
            _ => Value::Null,
        };
        o.insert("window".into(), window);
    }
}

/// [`load_json`] with what a merge needs besides: the test's options, the
/// segments the result holds, and the measured time window.
pub fn load_result(
    sum: &Summary,
    measured_s: f64,
    target_rate: Option<f64>,
    provenance: &Provenance,
) -> Value {
    let mut v = load_json(sum, measured_s, target_rate);
    if let Value::Object(o) = &mut v {
        provenance.insert(o);
    }
    v
}

/// The measured period of a load run: after its `warm_up`, at most
/// `duration` (the grace period is not part of it).
pub fn measured_s(sum: &Summary, warm_up: Duration, duration: Option<Duration>) -> f64 {
    let measured = (sum.elapsed - warm_up.as_secs_f64()).max(1e-9);
    duration.map_or(measured, |d| d.as_secs_f64().min(measured))
}

/// One table row: a label `width` wide, p50, p90, p99, p99.9, max, count.
fn percentile_row(label: &str, width: usize, h: &Histogram<u64>) -> String {
    format!(
        "  {:<width$} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        label,
        us(h.value_at_quantile(0.5)),
        us(h.value_at_quantile(0.9)),
        us(h.value_at_quantile(0.99)),
        us(h.value_at_quantile(0.999)),
        us(h.max()),
        h.len()
    )
}

/// Human units for a µs value.
pub fn us(v: u64) -> String {
    if v >= 1_000_000 {
        format!("{:.2}s", v as f64 / 1e6)
    } else if v >= 1_000 {
        format!("{:.2}ms", v as f64 / 1e3)
    } else {
        format!("{v}µs")
    }
}

/// The live line of a run, one per report: it remembers the previous
/// report to give the rate since then and to notice a tuple shortage.
#[derive(Debug, Default)]
pub struct Progress {
    last_elapsed: f64,
    last_started: u64,
    last_no_tuple: u64,
}

impl Progress {
    /// The line for `sum`: rate since the last line, concurrency, errors,
    /// p50/p99 so far, the schedule lag's p99 with `--rate`, a warning
    /// while the load waits for free source tuples, and one while the
    /// generator is what limits the run (see [`generator_limits`]).
    pub fn line(&mut self, sum: &Summary) -> String {
        let started = sum.get("started");
        let rate = started.saturating_sub(self.last_started) as f64
            / (sum.elapsed - self.last_elapsed).max(1e-9);
        let no_tuple = sum.get("no_free_tuple");
        let short = no_tuple > self.last_no_tuple;
        (self.last_elapsed, self.last_started, self.last_no_tuple) =
            (sum.elapsed, started, no_tuple);
        progress_line(sum, rate, short)
    }
}

/// Shows a run as it goes: the progress line, rewritten each tick, on a
/// terminal only (a pipe or a file gets the summary alone).
#[derive(Debug)]
pub struct Live {
    tty: bool,
    progress: Progress,
}

impl Default for Live {
    fn default() -> Self {
        use std::io::IsTerminal as _;
        Live {
            tty: std::io::stderr().is_terminal(),
            progress: Progress::default(),
        }
    }
}

impl Live {
    /// Rewrites the line for the latest `sum`.
    pub fn tick(&mut self, sum: &Summary) {
        if self.tty {
            eprint!("\r{}", self.progress.line(sum));
        }
    }

    /// Ends the line, so that what follows starts on its own.
    pub fn end(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// Prints each of `warnings` as synwave's warnings look.
pub fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("synwave: warning: {w}");
    }
}

fn progress_line(sum: &Summary, rate: f64, out_of_tuples: bool) -> String {
    let errors = sum.errors();
    let (p50, p99) = sum.histograms.get("connect").map_or((0, 0), |h| {
        (h.value_at_quantile(0.5), h.value_at_quantile(0.99))
    });
    let lag = sum
        .histograms
        .get(SCHEDULE_LAG)
        .filter(|h| !h.is_empty())
        .map_or(String::new(), |h| {
            format!("  lag p99 {:>8}", us(h.value_at_quantile(0.99)))
        });
    let limited = !generator_limits(sum).is_empty();
    format!(
        "{:>6.1}s  {:>9.0} conn/s  active {:>6}  completed {:>10}  errors {:>6}  connect p50 {:>8} p99 {:>8}{lag}{}{}",
        sum.elapsed,
        rate,
        sum.get("active"),
        sum.get("completed"),
        errors,
        us(p50),
        us(p99),
        if out_of_tuples { "  OUT OF SOURCE TUPLES" } else { "" },
        if limited { "  GENERATOR-LIMITED" } else { "" }
    )
}

/// The line of the workers' use of their cores: the highest CPU and busy
/// share among them.
pub fn workers_line(sum: &Summary) -> Option<String> {
    let max = |f: fn(&WorkerLoad) -> f64| sum.workers.iter().map(f).fold(0.0, f64::max);
    (!sum.workers.is_empty()).then(|| {
        format!(
            "  workers: cpu {:.0}% busy {:.0}% (max of {})\n",
            max(WorkerLoad::cpu_percent),
            max(WorkerLoad::busy_percent),
            sum.workers.len()
        )
    })
}

/// A `--rate` run's schedule lag: how late connections started against
/// the schedule.
fn schedule_lag_line(sum: &Summary, h: &Histogram<u64>) -> String {
    let waited = if sum.get("concurrency_full") > 0 {
        " (connections waited for --concurrency)"
    } else {
        ""
    };
    format!(
        "  schedule lag p50 {} p99 {} max {}{waited}\n",
        us(h.value_at_quantile(0.5)),
        us(h.value_at_quantile(0.99)),
        us(h.max())
    )
}

/// The warning that the generator, not the server, limited a run, if it did.
fn generator_warning(sum: &Summary, target_rate: Option<f64>) -> Option<String> {
    let why = generator_limits(sum);
    (!why.is_empty()).then(|| {
        format!(
            "  warning: the generator, not the server, limited this run ({}): add --workers or lower {}\n",
            why.join("; "),
            if target_rate.is_some() {
                "--rate"
            } else {
                "--concurrency"
            }
        )
    })
}

/// The line that says a run was held back by its tuple space, if it was.
pub fn tuple_shortage(sum: &Summary) -> Option<String> {
    let n = sum.get("no_free_tuple");
    (n > 0).then(|| {
        format!(
            "  ran out of source tuples {n} times: connections waited for a free (address, port); \
             the rate shows the tuple space, not the server (add --src addresses or --ports, \
             or let the server close first)\n"
        )
    })
}

/// The summary table of a load run.
pub fn load_table(sum: &Summary, measured_s: f64, target_rate: Option<f64>) -> String {
    let mut s = String::new();
    let achieved = sum.get("started") as f64 / measured_s.max(1e-9);
    s.push_str(&format!("synwave load: {:.2} s measured", measured_s));
    if let Some(r) = target_rate {
        s.push_str(&format!(", target {r:.0} conn/s"));
    }
    s.push_str(&format!(", achieved {achieved:.0} conn/s\n"));
    s.push_str(&format!(
        "  started {}  completed {}  (warm-up {} not counted)\n",
        sum.get("started"),
        sum.get("completed"),
        sum.get("warm_up")
    ));
    if sum.get("interrupted") > 0 {
        s.push_str("  interrupted: connections still open were aborted and count as unfinished\n");
    }
    if STATUS_CLASSES.iter().any(|k| sum.get(k) > 0) {
        s.push_str(&format!("  responses {}  by status:", sum.get("responses")));
        for k in STATUS_CLASSES {
            let class = k.strip_prefix("status_").unwrap_or(k);
            s.push_str(&format!(" {class} {}", sum.get(k)));
        }
        s.push('\n');
    }
    s.push_str("  errors:");
    for k in ERROR_CLASSES {
        s.push_str(&format!(" {k} {}", sum.get(k)));
    }
    s.push('\n');
    s.push_str(&format!(
        "  {:<11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "latency", "p50", "p90", "p99", "p99.9", "max", "count"
    ));
    for name in HISTOGRAMS {
        if let Some(h) = sum.histograms.get(name) {
            if h.is_empty() {
                continue;
            }
            s.push_str(&percentile_row(name, 11, h));
        }
    }
    if let (Some(_), Some(h)) = (target_rate, sum.histograms.get(SCHEDULE_LAG)) {
        s.push_str(&schedule_lag_line(sum, h));
    }
    if let Some(line) = tuple_shortage(sum) {
        s.push_str(&line);
    }
    if let Some(line) = workers_line(sum) {
        s.push_str(&line);
    }
    s.push_str(&format!(
        "  frames in/out {} / {}, retransmits {}, tx dropped {}, handed off {} (dropped {}), TCBs left {}, TIME-WAIT left {}\n",
        sum.engine.frames_in,
        sum.engine.frames_out,
        sum.engine.retransmits,
        sum.tx_dropped,
        sum.handed_off,
        sum.handoff_dropped,
        sum.tcbs_left,
        sum.time_wait_left
    ));
    s.push_str(&attached_line(sum));
    if let Some(line) = generator_warning(sum, target_rate) {
        s.push_str(&line);
    }
    s
}

/// The text summary of `serve` and `connect`: the given application
/// counters, the tables left over, frame and XDP counts.
pub fn summary_text(command: &str, sum: &Summary, keys: &[&str]) -> String {
    use core::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "synwave {command}: {:.2} s", sum.elapsed);
    for k in keys {
        let _ = writeln!(s, "  {k:<16} {}", sum.get(k));
    }
    let _ = writeln!(s, "  {:<16} {}", "tcbs_left", sum.tcbs_left);
    let _ = writeln!(s, "  {:<16} {}", "time_wait_left", sum.time_wait_left);
    let drops: u64 = sum.engine.parse_errors.iter().sum();
    let _ = writeln!(
        s,
        "  frames in/out {} / {}, retransmits {}, RST sent {}, malformed dropped {}, tx dropped {}, handed off {} (dropped {})",
        sum.engine.frames_in,
        sum.engine.frames_out,
        sum.engine.retransmits,
        sum.engine.rst_sent,
        drops,
        sum.tx_dropped,
        sum.handed_off,
        sum.handoff_dropped
    );
    let _ = writeln!(
        s,
        "  xdp: redirected {}, passed to kernel {}",
        sum.xdp.redirected, sum.xdp.passed
    );
    s.push_str(&attached_line(sum));
    if let Some(line) = workers_line(sum) {
        s.push_str(&line);
    }
    s
}

/// `latency`'s JSON: completed and failed handshakes, and each side's
/// connect latency with its histogram.
pub fn latency_json_report(
    sum: &Summary,
    ours: Option<&Histogram<u64>>,
    kernel: Option<&Histogram<u64>>,
) -> Value {
    let errors = sum.errors();
    let mut o = Map::new();
    o.insert("command".into(), json!("latency"));
    o.insert("completed".into(), json!(sum.get("completed")));
    o.insert("errors".into(), json!(errors));
    for (side, h) in [("synwave", ours), ("kernel", kernel)] {
        if let Some(h) = h {
            o.insert(format!("{side}_connect_us"), latency_json(h));
            o.insert(format!("{side}_histogram"), json!(encode_histogram(h)));
        }
    }
    attached_json(sum, &mut o);
    Value::Object(o)
}

/// `latency`'s table: each side's connect latency percentiles, and how many
/// handshakes failed.
pub fn latency_text(
    sum: &Summary,
    ours: Option<&Histogram<u64>>,
    kernel: Option<&Histogram<u64>>,
) -> String {
    use core::fmt::Write as _;
    let errors = sum.errors();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "handshake latency (SYN sent -> SYN-ACK received, from each intended start)"
    );
    let _ = writeln!(
        s,
        "  {:<9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "p50", "p90", "p99", "p99.9", "max", "count"
    );
    for (name, h) in [("synwave", ours), ("kernel", kernel)] {
        if let Some(h) = h {
            s.push_str(&percentile_row(name, 9, h));
        }
    }
    if errors > 0 {
        let _ = writeln!(s, "  {errors} handshakes failed");
    }
    s.push_str(&attached_line(sum));
    s
}

/// Prints `serve`'s or `connect`'s result to stdout: `keys` of the
/// application counters in the text, everything in the JSON.
pub fn print_summary(command: &str, sum: &Summary, as_json: bool, keys: &[&str]) {
    if as_json {
        println!("{}", flat_json(command, sum));
    } else {
        print!("{}", summary_text(command, sum, keys));
    }
}

/// Prints a load run's result to stdout (see [`measured_s`] for the
/// measured period); the JSON with the test's options and the segment
/// (`test` and `segment`, see [`Provenance`]), for `merge`.
#[allow(clippy::too_many_arguments)]
pub fn print_load(
    sum: &Summary,
    warm_up: Duration,
    duration: Option<Duration>,
    target_rate: Option<f64>,
    as_json: bool,
    distribution: bool,
    test: Value,
    segment: super::segment::Segment,
) {
    let measured = measured_s(sum, warm_up, duration);
    if as_json {
        let p = Provenance::run(test, segment, sum, warm_up, measured);
        println!("{}", load_result(sum, measured, target_rate, &p));
    } else {
        print!("{}", load_table(sum, measured, target_rate));
        if distribution {
            print!("{}", latency_distribution(sum));
        }
    }
}

/// The percentiles of `--latency`, as wrk's latency distribution lists them
/// and finer in the tail.
const DISTRIBUTION: [f64; 8] = [50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0];

/// Every latency histogram's distribution, one column each (`--latency`).
pub fn latency_distribution(sum: &Summary) -> String {
    use core::fmt::Write as _;
    let hs: Vec<(&str, &Histogram<u64>)> = HISTOGRAMS
        .iter()
        .filter_map(|&n| {
            sum.histograms
                .get(n)
                .filter(|h| !h.is_empty())
                .map(|h| (n, h))
        })
        .collect();
    let mut s = String::from("  latency distribution\n  percentile");
    for (name, _) in &hs {
        let _ = write!(s, " {name:>11}");
    }
    s.push('\n');
    for p in DISTRIBUTION {
        let _ = write!(s, "  {:<10}", format!("{p}%"));
        for (_, h) in &hs {
            let _ = write!(s, " {:>11}", us(h.value_at_percentile(p)));
        }
        s.push('\n');
    }
    s
}

/// Prints a latency run's result to stdout, with the kernel's connect()
/// latency beside ours when measured.
pub fn print_latency(sum: &Summary, kernel: Option<&Histogram<u64>>, as_json: bool) {
    let ours = sum.histograms.get("connect");
    if as_json {
        println!("{}", latency_json_report(sum, ours, kernel));
    } else {
        print!("{}", latency_text(sum, ours, kernel));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Deserializer;

    #[test]
    fn latency_distribution_lists_every_percentile_of_every_histogram() {
        let mut sum = Summary::default();
        let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
        for v in 1..=10_000u64 {
            h.record(v).unwrap();
        }
        sum.histograms.insert("connect", h.clone());
        sum.histograms.insert("lifecycle", h);
        let d = latency_distribution(&sum);
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), 2 + DISTRIBUTION.len(), "{d}");
        assert!(
            lines[1].contains("connect") && lines[1].contains("lifecycle"),
            "{d}"
        );
        assert!(
            !lines[1].contains("first_byte"),
            "empty histograms are left out: {d}"
        );
        assert!(
            lines[2].trim_start().starts_with("50%") && lines[2].contains("5.00ms"),
            "{d}"
        );
        assert!(
            lines[9].trim_start().starts_with("100%") && lines[9].contains("10.0"),
            "{d}"
        );
    }

    #[test]
    fn load_json_schema_has_every_field_and_histograms_decode() {
        let mut sum = Summary::default();
        for (k, v) in [
            ("started", 11u64),
            ("completed", 7),
            ("refused", 1),
            ("reset", 1),
            ("syn_timeout", 1),
            ("http_error", 1),
            ("responses", 8),
            ("status_2xx", 7),
            ("status_4xx", 1),
        ] {
            sum.app.insert(k, v);
        }
        let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
        for v in [100u64, 200, 300, 4000] {
            h.record(v).unwrap();
        }
        sum.histograms.insert("connect", h.clone());
        let v = load_json(&sum, 2.0, Some(5.0));
        for key in [
            "command",
            "started",
            "completed",
            "errors",
            "rate",
            "latency_us",
            "histograms",
            "engine",
            "xdp",
            "tcbs_left",
            "time_wait_left",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        for class in ERROR_CLASSES {
            assert!(v["errors"][class].is_u64(), "missing error class {class}");
        }
        for class in STATUS_CLASSES {
            assert!(v[class].is_u64(), "missing status class {class}");
        }
        assert_eq!(v["errors"]["http_error"], json!(1));
        assert_eq!(v["status_4xx"], json!(1));
        assert_eq!(v["rate"]["achieved"], json!(5.5));
        let lat = &v["latency_us"]["connect"];
        for key in [
            "count", "min", "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max",
        ] {
            assert!(lat.get(key).is_some(), "missing latency field {key}");
        }
        assert_eq!(lat["count"], json!(4));
        let text = v["histograms"]["connect"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        let back: Histogram<u64> = Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
        assert_eq!(back, h);
        // Started = completed + every error class.
        let errors: u64 = ERROR_CLASSES
            .iter()
            .map(|k| v["errors"][k].as_u64().unwrap())
            .sum();
        assert_eq!(
            v["started"].as_u64().unwrap(),
            v["completed"].as_u64().unwrap() + errors
        );
    }

    #[test]
    fn the_table_shows_responses_by_status_and_every_error_class() {
        let mut sum = Summary::default();
        for (k, v) in [
            ("started", 3u64),
            ("completed", 1),
            ("http_error", 1),
            ("bad_response", 1),
            ("responses", 2),
            ("status_2xx", 1),
            ("status_4xx", 1),
        ] {
            sum.app.insert(k, v);
        }
        let t = load_table(&sum, 1.0, None);
        assert!(
            t.contains("  responses 2  by status: 1xx 0 2xx 1 3xx 0 4xx 1 5xx 0\n"),
            "{t}"
        );
        assert!(
            t.contains(" unfinished 0 http_error 1 bad_response 1\n"),
            "{t}"
        );
        // Without HTTP framing there is no status to show.
        sum.app.retain(|k, _| !k.starts_with("status_"));
        assert!(!load_table(&sum, 1.0, None).contains("by status"));
    }

    fn worker(queue: u32, cpu_ms: u64, busy_ms: u64) -> WorkerLoad {
        WorkerLoad {
            queue,
            cpu: Duration::from_millis(cpu_ms),
            busy: Duration::from_millis(busy_ms),
            wall: Duration::from_millis(1_000),
        }
    }

    /// A `--rate` run's summary whose schedule lag is `lag_us` for every
    /// connection, with `workers`.
    fn rate_run(lag_us: u64, workers: &[WorkerLoad]) -> Summary {
        let mut sum = Summary::default();
        sum.app.insert("started", 100);
        let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
        h.record_n(lag_us, 100).unwrap();
        sum.histograms.insert(SCHEDULE_LAG, h);
        sum.workers = workers.to_vec();
        sum
    }

    #[test]
    fn the_generator_is_the_limit_when_a_worker_is_busy_or_the_schedule_lags() {
        // Keeping up: lag of a turn, a worker busy a tenth of its time.
        let sum = rate_run(20, &[worker(0, 300, 100)]);
        assert!(generator_limits(&sum).is_empty());
        // Spinning for the next due connection uses the CPU, not the
        // generator's capacity: 100% CPU, 5% busy is not a limit.
        let sum = rate_run(20, &[worker(0, 1_000, 50)]);
        assert!(generator_limits(&sum).is_empty());
        // A worker busy all the time is, whatever the lag.
        let sum = rate_run(20, &[worker(0, 400, 100), worker(1, 990, 980)]);
        assert_eq!(generator_limits(&sum), ["worker 1 busy 98%, cpu 99%"]);
        // So is a schedule lag p99 above 10 ms (the worker starved of its
        // core, say), but one under 10 ms is not.
        let sum = rate_run(45_000, &[worker(0, 300, 200)]);
        assert_eq!(generator_limits(&sum), ["schedule lag p99 45.02ms"]);
        assert!(generator_limits(&rate_run(LAG_LIMIT_US - 10, &[])).is_empty());
        // Both, in that order.
        let sum = rate_run(45_000, &[worker(0, 1_000, 1_000)]);
        assert_eq!(
            generator_limits(&sum),
            ["worker 0 busy 100%, cpu 100%", "schedule lag p99 45.02ms"]
        );
    }

    #[test]
    fn a_lag_from_waiting_for_tuples_or_the_concurrency_cap_is_not_the_generators() {
        for held in ["no_free_tuple", "concurrency_full"] {
            let mut sum = rate_run(500_000, &[worker(0, 300, 200)]);
            sum.app.insert(held, 3);
            assert!(generator_limits(&sum).is_empty(), "{held}");
        }
    }

    #[test]
    fn the_table_and_json_show_schedule_lag_workers_and_the_warning() {
        let sum = rate_run(45_000, &[worker(0, 1_000, 1_000)]);
        let t = load_table(&sum, 1.0, Some(1e6));
        assert!(
            t.contains("  schedule lag p50 45.02ms p99 45.02ms max 45.02ms\n"),
            "{t}"
        );
        assert!(
            t.contains("  workers: cpu 100% busy 100% (max of 1)\n"),
            "{t}"
        );
        assert!(
            t.ends_with(
                "  warning: the generator, not the server, limited this run (worker 0 busy 100%, \
                 cpu 100%; schedule lag p99 45.02ms): add --workers or lower --rate\n"
            ),
            "{t}"
        );
        let v = load_json(&sum, 1.0, Some(1e6));
        assert_eq!(v["generator_limited"], json!(true));
        assert_eq!(
            v["generator_limited_reasons"],
            json!(["worker 0 busy 100%, cpu 100%", "schedule lag p99 45.02ms"])
        );
        assert_eq!(v["schedule_lag_us"]["count"], json!(100));
        assert!(v["schedule_lag_us"]["p99"].as_u64().unwrap() >= 45_000);
        assert!(v["histograms"][SCHEDULE_LAG].is_string());
        assert_eq!(v["workers"][0]["queue"], json!(0));
        assert_eq!(v["workers"][0]["cpu_percent"], json!(100.0));
        assert_eq!(v["workers"][0]["busy_percent"], json!(100.0));
        // A run that kept up: no warning, and false in the JSON.
        let sum = rate_run(20, &[worker(0, 370, 100), worker(1, 200, 50)]);
        let t = load_table(&sum, 1.0, Some(100.0));
        assert!(
            t.contains("  workers: cpu 37% busy 10% (max of 2)\n"),
            "{t}"
        );
        assert!(!t.contains("warning"), "{t}");
        let v = load_json(&sum, 1.0, Some(100.0));
        assert_eq!(v["generator_limited"], json!(false));
        assert_eq!(v["generator_limited_reasons"], json!([]));
        // Without --rate there is no schedule to lag behind.
        let t = load_table(&sum, 1.0, None);
        assert!(!t.contains("schedule lag"), "{t}");
        assert_eq!(load_json(&sum, 1.0, None)["schedule_lag_us"], Value::Null);
    }

    #[test]
    fn serve_and_connect_show_their_workers_cpu() {
        let sum = Summary {
            workers: vec![worker(0, 250, 100)],
            ..Summary::default()
        };
        let t = summary_text("serve", &sum, &[]);
        assert!(
            t.ends_with("  workers: cpu 25% busy 10% (max of 1)\n"),
            "{t}"
        );
        let v = flat_json("serve", &sum);
        assert_eq!(v["workers"][0]["cpu_percent"], json!(25.0));
        assert_eq!(v["workers"][0]["wall_s"], json!(1.0));
    }
}
