//! Issue 16's Prometheus text, read by a real client library: the
//! Prometheus Python client's parser (`tests/prometheus_check.py`, Debian's
//! python3-prometheus-client, which deploy/setup.sh installs) parses it, checks
//! the conventions (counters `_total`, histograms in seconds with the
//! documented buckets, segment and worker labels) and sums every family
//! over its workers, which must give the run's totals exactly: per-worker
//! series add up, bucket for bucket. No root needed.

use hdrhistogram::Histogram;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;
use synwave::app::prometheus::{prometheus, BUCKETS_US};
use synwave::app::report::{Summary, WorkerLoad, WorkerReport, HISTOGRAMS, SCHEDULE_LAG};
use synwave::app::segment::Segment;
use synwave::app::LoadCounters;

/// A worker's report with every load counter and latency histogram, from
/// values spread over 1 µs to 60 s by a fixed generator.
fn worker(queue: u32, seed: u64) -> WorkerReport {
    let mut x = seed;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut app: Vec<(&'static str, u64)> = LoadCounters::NAMES
        .iter()
        .map(|&k| (k, next() % 10_000))
        .collect();
    app.push(("active", next() % 100));
    let histograms = HISTOGRAMS
        .iter()
        .chain([&SCHEDULE_LAG])
        .map(|&name| {
            let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
            for _ in 0..5_000 {
                // Log-uniform: as many values per decade.
                let exp = (next() % 7_800) as f64 / 1_000.0;
                h.record(10f64.powf(exp) as u64).unwrap();
            }
            (name, h)
        })
        .collect();
    let engine = synwave::tcp::Stats {
        frames_in: next(),
        retransmits: next() % 100,
        ..Default::default()
    };
    WorkerReport {
        queue,
        engine,
        app,
        histograms,
        tcbs: 10,
        time_waits: 20,
        tx_dropped: 1,
        handed_off: 2,
        handoff_dropped: 3,
        load: WorkerLoad {
            queue,
            cpu: Duration::from_millis(900),
            busy: Duration::from_millis(300),
            wall: Duration::from_secs(1),
        },
        last: true,
    }
}

/// Debian's python, where apt installs python3-prometheus-client (a
/// `python3` earlier on PATH, pyenv's say, would not have it).
const PYTHON: &str = "/usr/bin/python3";

/// The checker's verdict on `text`: each family's totals, or None when the
/// parser is not installed (a failure under CI).
fn parse(text: &str) -> Option<serde_json::Value> {
    let have = Command::new(PYTHON)
        .args(["-c", "import prometheus_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        let why = "/usr/bin/python3 with prometheus_client is not installed (deploy/setup.sh installs python3-prometheus-client)";
        if std::env::var_os("CI").is_some() {
            panic!("{why} (CI is set, so this is a failure, not a skip)");
        }
        eprintln!("skipping: {why}");
        return None;
    }
    let bounds: Vec<String> = BUCKETS_US
        .iter()
        .map(|&us| (us as f64 / 1e6).to_string())
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/prometheus_check.py");
    let mut child = Command::new(PYTHON)
        .arg(script)
        .args(&bounds)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// What a bucket of bound `le` µs must hold: the values of `h` whose HDR
/// bucket lies at or below it.
fn at_or_below(h: &Histogram<u64>, le: u64) -> u64 {
    h.iter_recorded()
        .filter(|v| h.highest_equivalent(v.value_iterated_to()) <= le)
        .map(|v| v.count_at_value())
        .sum()
}

#[test]
fn the_text_parses_with_the_client_library_and_its_workers_add_up_to_the_run() {
    let mut sum = Summary::default();
    for (q, seed) in [(0, 1), (1, 2), (3, 3)] {
        sum.add(&worker(q, seed));
    }
    sum.xdp.redirected = 12345;
    let text = prometheus(&sum, Segment::new(2, 5).unwrap());
    assert!(text.contains("segment=\"2/5\",worker=\"3\""), "{text}");
    let Some(families) = parse(&text) else {
        return;
    };
    let total = |family: &str| families[family]["total"].as_f64().unwrap();
    for &k in LoadCounters::NAMES {
        let family = format!("synwave_{k}");
        let kind = if k == "interrupted" {
            "gauge"
        } else {
            "counter"
        };
        assert_eq!(families[&family]["type"], kind, "{family}");
        assert_eq!(total(&family), sum.get(k) as f64, "{family}");
    }
    assert_eq!(families["synwave_active"]["type"], "gauge");
    assert_eq!(total("synwave_active"), sum.get("active") as f64);
    assert_eq!(
        total("synwave_engine_frames_in"),
        sum.engine.frames_in as f64
    );
    assert_eq!(total("synwave_tcbs"), 30.0);
    assert_eq!(total("synwave_xdp_redirected"), 12345.0);
    assert_eq!(families["synwave_worker_busy_seconds"]["type"], "counter");
    assert!((total("synwave_worker_busy_seconds") - 0.9).abs() < 1e-9);
    for (name, family) in [
        ("connect", "synwave_connect_latency_seconds"),
        ("first_byte", "synwave_first_byte_latency_seconds"),
        ("response", "synwave_response_latency_seconds"),
        ("lifecycle", "synwave_lifecycle_latency_seconds"),
        (SCHEDULE_LAG, "synwave_schedule_lag_seconds"),
    ] {
        let whole = &sum.histograms[name];
        assert_eq!(families[family]["type"], "histogram", "{family}");
        assert_eq!(total(family), whole.len() as f64, "{family}");
        let buckets: Vec<f64> = families[family]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_f64().unwrap())
            .collect();
        let mut want: Vec<f64> = BUCKETS_US
            .iter()
            .map(|&le| at_or_below(whole, le) as f64)
            .collect();
        want.push(whole.len() as f64);
        assert_eq!(buckets, want, "{family}: the workers' buckets add up");
        // The data spread over the range: no bucket is trivially empty or full.
        assert!(buckets[0] > 0.0 && buckets[BUCKETS_US.len() - 1] < buckets[BUCKETS_US.len()]);
    }
}
