//! `synwave load` against a Linux kernel server over a veth testbed: an
//! open-loop rate held with reconciled counts, a closed loop closing with
//! RST, a rate the source tuples cannot carry refused with the arithmetic,
//! a silent server counted as response timeouts, and the generator's own
//! honesty (wrk2's coordinated omission): a rate far above what one worker
//! does shows as schedule lag and a generator-limited run, a modest one
//! not; and two `--segment` halves of one test that `synwave merge` adds
//! into the whole, each with an `--interval` series (JSON lines, CSV) and
//! an HdrHistogram interval log adding up to its run, and both logs to the
//! merge.
//!
//! synwave in namespace A on `sw0`, the kernel in namespace B on `sw1`; each
//! test starts with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use common::{
    assert_no_xdp, assert_one_line_error, count, ns_cmd, parse_json, run_to_end, s, Bed, Behaviour,
    KernelServer, Nginx, Scratch, BIN, CONNECT_TIMEOUT, MSL_MS, PROC_TIMEOUT, REQUEST, RESPONSE,
};
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::Histogram;
use serde_json::Value;
use std::collections::BTreeMap;
use synwave::app::merge;
use synwave::io::testbed::{IFACE_A, IP_B};
use synwave::io::Testbed;

const LOAD_PORT: u16 = 9191;

/// Runs `synwave load --iface sw0 ARGS --json` in namespace A to the end.
fn run_load(tb: &Testbed, scratch: &Scratch, tag: &str, args: &[&str]) -> Value {
    run_load_exiting(tb, scratch, tag, args, 0)
}

/// Like [`run_load`], expecting exit status `code` (3: the run failed).
fn run_load_exiting(tb: &Testbed, scratch: &Scratch, tag: &str, args: &[&str], code: i32) -> Value {
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(["load", "--iface", IFACE_A])
        .args(args)
        .arg("--json");
    let what = format!("synwave load {}", args.join(" "));
    let f = run_to_end(&what, cmd, scratch, tag, CONNECT_TIMEOUT);
    assert_eq!(f.status.code(), Some(code), "{what}: {}", f.describe());
    parse_json(&what, &f.stdout)
}

/// started = completed + every error class, as issue #4 asks of every run.
fn assert_reconciled(what: &str, v: &Value) -> u64 {
    let errors: u64 = [
        "refused",
        "reset",
        "connect_timeout",
        "syn_timeout",
        "response_timeout",
        "retries_exhausted",
        "unfinished",
        "http_error",
        "bad_response",
    ]
    .iter()
    .map(|k| {
        v["errors"][*k]
            .as_u64()
            .unwrap_or_else(|| panic!("{what}: errors.{k} missing in {v}"))
    })
    .sum();
    assert_eq!(
        count(v, "started"),
        count(v, "completed") + errors,
        "{what}: counts do not reconcile: {v}"
    );
    errors
}

#[test]
fn load_at_a_rate_against_kernel_server_reconciles_and_holds_the_rate() {
    let Some(bed) = Bed::new(
        "load_at_a_rate_against_kernel_server_reconciles_and_holds_the_rate",
        "swi-load",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let request = scratch.write("request", REQUEST);
    let server = KernelServer::start(tb.ns_b(), LOAD_PORT, Behaviour::Respond, 4);
    let target = format!("{IP_B}:{LOAD_PORT}");
    let resp_len = RESPONSE.len().to_string();
    let msl = MSL_MS.to_string();
    let v = run_load(
        tb,
        scratch,
        "load-rate",
        &[
            "--target",
            &target,
            "--rate",
            "2000",
            "--duration",
            "2",
            "--warm-up",
            "0.5",
            "--request-file",
            s(&request),
            "--response-bytes",
            &resp_len,
            "--msl-ms",
            &msl,
        ],
    );
    let errors = assert_reconciled("load --rate", &v);
    assert_eq!(errors, 0, "errors against a healthy kernel server: {v}");
    let started = count(&v, "started");
    // 2 s at 2000/s after the warm-up: the open-loop schedule is exact, so
    // only the edges can differ.
    assert!(
        (3960..=4040).contains(&started),
        "started {started}, expected about 4000: {v}"
    );
    let achieved = v["rate"]["achieved"].as_f64().unwrap();
    assert!(
        (achieved - 2000.0).abs() / 2000.0 < 0.03,
        "achieved rate {achieved}: {v}"
    );
    assert!(
        count(&v, "warm_up") > 900,
        "warm-up connections were counted: {v}"
    );
    assert_eq!(v["latency_us"]["connect"]["count"].as_u64(), Some(started));
    assert_eq!(count(&v, "responses"), started);
    assert!(!v["histograms"]["lifecycle"]
        .as_str()
        .unwrap_or("")
        .is_empty());
    let (_, errs) = server.finish();
    assert!(errs.is_empty(), "kernel server errors: {errs:?}");
    assert_no_xdp(tb, "after load exited");
}

#[test]
fn load_closed_loop_with_rst_close() {
    let Some(bed) = Bed::new("load_closed_loop_with_rst_close", "swi-lcl") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let server = KernelServer::start(tb.ns_b(), LOAD_PORT, Behaviour::Respond, 4);
    let target = format!("{IP_B}:{LOAD_PORT}");
    let v = run_load(
        tb,
        scratch,
        "load-closed",
        &[
            "--target",
            &target,
            "--concurrency",
            "32",
            "--connections",
            "1000",
            "--close",
            "rst",
            "--request",
            "GET / HTTP/1.0\\r\\nHost: 10.77.0.1\\r\\n\\r\\n",
            "--response-delimiter",
            "world\\n",
        ],
    );
    assert_eq!(assert_reconciled("load --concurrency", &v), 0, "{v}");
    assert_eq!(count(&v, "started"), 1000, "{v}");
    assert_eq!(count(&v, "completed"), 1000, "{v}");
    // RST leaves no TIME-WAIT anywhere.
    assert_eq!(count(&v, "time_wait_left"), 0, "{v}");
    drop(server);
    assert_no_xdp(tb, "after load exited");
}

#[test]
fn load_with_busy_poll_spins_and_completes_against_a_kernel_server() {
    // --busy-poll changes only what an idle worker does: every connection
    // must still complete, on default flags otherwise.
    let Some(bed) = Bed::new(
        "load_with_busy_poll_spins_and_completes_against_a_kernel_server",
        "swi-lbp",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let server = KernelServer::start(tb.ns_b(), LOAD_PORT, Behaviour::Respond, 4);
    let target = format!("{IP_B}:{LOAD_PORT}");
    let v = run_load(
        tb,
        scratch,
        "load-busy-poll",
        &[
            "--target",
            &target,
            "--busy-poll",
            "--rate",
            "500",
            "--connections",
            "500",
            "--request",
            "GET / HTTP/1.0\\r\\nHost: 10.77.0.1\\r\\n\\r\\n",
            "--response-delimiter",
            "world\\n",
        ],
    );
    assert_eq!(assert_reconciled("load --busy-poll", &v), 0, "{v}");
    assert_eq!(count(&v, "completed"), 500, "{v}");
    // A spinning worker is busy the whole run, unlike one that sleeps.
    let cpu = v["workers"][0]["cpu_percent"].as_f64().unwrap_or(0.0);
    assert!(
        cpu > 25.0,
        "a busy-polling worker used {cpu}% of its core: {v}"
    );
    drop(server);
    assert_no_xdp(tb, "after load exited");
}

#[test]
fn load_rate_beyond_the_tuple_space_is_refused_with_the_arithmetic() {
    let Some(bed) = Bed::new(
        "load_rate_beyond_the_tuple_space_is_refused_with_the_arithmetic",
        "swi-ltu",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let target = format!("{IP_B}:{LOAD_PORT}");
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args([
        "load",
        "--iface",
        IFACE_A,
        "--target",
        &target,
        "--rate",
        "100000",
        "--ports",
        "10000-10999",
    ]);
    let f = run_to_end(
        "load beyond tuple space",
        cmd,
        scratch,
        "tuples",
        PROC_TIMEOUT,
    );
    let line = assert_one_line_error("load beyond tuple space", &f);
    // 100,000/s for the default 10 s, each tuple resting the 1 s reuse delay.
    assert!(
        line.contains("needs 100000 source tuples at once"),
        "{line}"
    );
    assert!(
        line.contains("1 source address(es) x 1000 ports = 1000 tuples"),
        "{line}"
    );
    assert_no_xdp(tb, "after the refused load");
}

#[test]
fn load_counts_a_silent_server_as_response_timeouts() {
    let Some(bed) = Bed::new(
        "load_counts_a_silent_server_as_response_timeouts",
        "swi-lrt",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    // The kernel server waits for the whole REQUEST; half of it gets no answer.
    let server = KernelServer::start(tb.ns_b(), LOAD_PORT, Behaviour::Respond, 4);
    let target = format!("{IP_B}:{LOAD_PORT}");
    let v = run_load_exiting(
        tb,
        scratch,
        "load-silent",
        &[
            "--target",
            &target,
            "--concurrency",
            "20",
            "--connections",
            "20",
            "--request",
            "GET / HTTP/1.0",
            "--response-timeout",
            "0.5",
        ],
        3,
    );
    assert_reconciled("load against a silent server", &v);
    assert_eq!(v["errors"]["response_timeout"].as_u64(), Some(20), "{v}");
    assert_eq!(count(&v, "completed"), 0, "{v}");
    drop(server);
    assert_no_xdp(tb, "after load exited");
}

/// `synwave load --rate RATE --duration 2` against nginx, each connection
/// aborted with RST once it is up (no request: the server's share of the
/// work is the handshake, and no tuple rests in TIME-WAIT).
fn load_nginx_at(rate: &str, tag: &str) -> Value {
    let Some(bed) = Bed::new(tag, "swi-lag") else {
        return Value::Null;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let nginx = Nginx::start(tb);
    let v = run_load(
        tb,
        scratch,
        tag,
        &[
            "--target",
            "10.77.0.2:80",
            "--rate",
            rate,
            "--duration",
            "2",
            "--close",
            "rst",
        ],
    );
    drop(nginx);
    assert_no_xdp(tb, "after load exited");
    assert_reconciled(&format!("load --rate {rate}"), &v);
    eprintln!(
        "--rate {rate}: achieved {} conn/s, schedule lag {}, workers {}, generator_limited {} {}",
        v["rate"]["achieved"],
        v["schedule_lag_us"],
        v["workers"],
        v["generator_limited"],
        v["generator_limited_reasons"]
    );
    v
}

/// The worker's CPU and busy shares, both within 0..=100 %.
fn worker_shares(v: &Value) -> (f64, f64) {
    let w = &v["workers"];
    assert_eq!(w.as_array().map(Vec::len), Some(1), "one worker: {v}");
    let (cpu, busy) = (
        w[0]["cpu_percent"].as_f64().unwrap(),
        w[0]["busy_percent"].as_f64().unwrap(),
    );
    assert!(
        (0.0..=100.0).contains(&cpu) && (0.0..=100.0).contains(&busy),
        "{v}"
    );
    (cpu, busy)
}

#[test]
fn wrk2_a_rate_far_above_one_worker_shows_schedule_lag_and_a_generator_limited_run() {
    // 2 million connections a second: far beyond one worker on this
    // machine. Each connection's lag is when its SYN went out against its
    // intended start, so a generator that cannot keep up falls further
    // behind with every connection, and says so.
    let tag = "wrk2_a_rate_far_above_one_worker_shows_schedule_lag_and_a_generator_limited_run";
    let v = load_nginx_at("2000000", tag);
    if v.is_null() {
        return;
    }
    let started = count(&v, "started");
    let lag = &v["schedule_lag_us"];
    assert_eq!(
        lag["count"].as_u64(),
        Some(started),
        "a lag per connection: {v}"
    );
    let p99 = lag["p99"].as_u64().unwrap();
    assert!(p99 > 100_000, "schedule lag p99 {p99} µs: {v}");
    assert!(
        v["rate"]["achieved"].as_f64().unwrap() < 1_000_000.0,
        "one worker kept up with 2M conn/s? {v}"
    );
    assert_eq!(v["generator_limited"], Value::Bool(true), "{v}");
    let reasons: Vec<&str> = v["generator_limited_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("schedule lag p99 ")),
        "{reasons:?}"
    );
    let (_, busy) = worker_shares(&v);
    assert!(busy > 50.0, "a worker behind its schedule idled: {v}");
}

#[test]
fn wrk2_a_modest_rate_keeps_its_schedule_and_is_not_generator_limited() {
    // 1000 connections a second: the worker spins between them (a
    // connection is due within poll's millisecond), so its CPU is high,
    // but it is busy only a little of the time and starts each on time.
    let tag = "wrk2_a_modest_rate_keeps_its_schedule_and_is_not_generator_limited";
    let v = load_nginx_at("1000", tag);
    if v.is_null() {
        return;
    }
    let started = count(&v, "started");
    assert!((1980..=2020).contains(&started), "started {started}: {v}");
    let lag = &v["schedule_lag_us"];
    assert_eq!(lag["count"].as_u64(), Some(started), "{v}");
    assert!(lag["p99"].as_u64().unwrap() < 10_000, "{v}");
    assert_eq!(v["generator_limited"], Value::Bool(false), "{v}");
    assert_eq!(v["generator_limited_reasons"], serde_json::json!([]), "{v}");
    let (_, busy) = worker_shares(&v);
    assert!(busy < 50.0, "{v}");
}

/// Issue 16's segments: the two halves of one test against nginx (one
/// after the other here, on two machines in production), a shared `--src`
/// split by address, each with its `--interval` series; `synwave merge` of
/// their results reconciles, holds both halves' counts and the whole
/// test's rate, and each series adds up to its run.
#[test]
fn two_segments_merge_into_the_whole_test_and_their_intervals_add_up() {
    let Some(bed) = Bed::new("two_segments_merge", "swi-seg") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let nginx = Nginx::start(tb);
    let mut files = Vec::new();
    let mut halves = Vec::new();
    // Segment 0 writes JSON lines, segment 1 CSV; both an HDR interval log.
    let mut logged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for i in 0..2 {
        let segment = format!("{i}/2");
        let series = scratch.path(&format!("intervals-{i}"));
        let hdr_log = scratch.path(&format!("intervals-{i}.hlog"));
        let mut args = vec![
            "--target",
            "10.77.0.2:80",
            "--src",
            "10.77.0.0/28",
            "--rate",
            "400",
            "--duration",
            "2",
            "--segment",
            &segment,
            "--interval",
            "1s",
            "--interval-file",
            series.to_str().unwrap(),
            "--hdr-log",
            hdr_log.to_str().unwrap(),
        ];
        if i == 1 {
            args.push("--csv");
        }
        let v = run_load(tb, scratch, &format!("segment-{i}"), &args);
        assert_reconciled(&format!("segment {segment}"), &v);
        assert_eq!(v["segments"]["indices"], serde_json::json!([i]), "{v}");
        assert_eq!(v["rate"]["target"], 200.0, "{v}");
        let text = std::fs::read_to_string(&series).unwrap();
        let column = |k: &str| -> u64 {
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().unwrap().split(',').collect();
            let c = header.iter().position(|h| *h == k).unwrap();
            lines
                .map(|l| l.split(',').nth(c).unwrap().parse::<u64>().unwrap())
                .sum()
        };
        for k in ["started", "completed"] {
            let sum = if i == 0 {
                let lines: Vec<Value> = text.lines().map(|l| parse_json("interval", l)).collect();
                assert!(lines.len() >= 2, "{text}");
                lines.iter().map(|l| count(l, k)).sum()
            } else {
                assert!(text.lines().count() >= 3, "a header and 2 rows: {text}");
                column(k)
            };
            assert_eq!(sum, count(&v, k), "{k}: {text}");
        }
        // The HDR log's intervals add up to the run's histograms, bucket
        // for bucket.
        let mine = read_hdr_log(&std::fs::read(&hdr_log).unwrap());
        for (tag, h) in &mine {
            let whole = merge::decode_histogram(v["histograms"][tag].as_str().unwrap()).unwrap();
            assert_eq!(h, &whole, "segment {segment}: {tag}");
            add_histogram(&mut logged, tag, h);
        }
        assert!(mine.contains_key("first_byte"), "{mine:?}");
        let path = scratch.write(&format!("segment-{i}.json"), v.to_string().as_bytes());
        files.push(path);
        halves.push(v);
    }
    drop(nginx);
    let out = std::process::Command::new(BIN)
        .arg("merge")
        .args(&files)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let m = parse_json("merge", &String::from_utf8_lossy(&out.stdout));
    assert_reconciled("merged", &m);
    for k in ["started", "completed"] {
        assert_eq!(
            count(&m, k),
            count(&halves[0], k) + count(&halves[1], k),
            "{k}"
        );
    }
    assert_eq!(m["rate"]["target"], 400.0, "{m}");
    assert_eq!(m["merged"]["complete"], true, "{m}");
    assert_eq!(m["test"]["rate"], 400.0, "{m}");
    let count_of = |v: &Value| v["latency_us"]["connect"]["count"].as_u64().unwrap();
    assert_eq!(count_of(&m), count_of(&halves[0]) + count_of(&halves[1]));
    // The two segments' interval logs together hold the merged histograms.
    for (tag, h) in &logged {
        let merged = merge::decode_histogram(m["histograms"][tag].as_str().unwrap()).unwrap();
        assert_eq!(h, &merged, "merged {tag}");
    }
}

/// An HdrHistogram interval log (`--hdr-log`), read with the hdrhistogram
/// crate's reader, its intervals added up per tag.
fn read_hdr_log(log: &[u8]) -> BTreeMap<String, Histogram<u64>> {
    let mut out = BTreeMap::new();
    for entry in IntervalLogIterator::new(log) {
        if let LogEntry::Interval(i) = entry.unwrap() {
            let h = merge::decode_histogram(i.encoded_histogram()).unwrap();
            add_histogram(&mut out, i.tag().unwrap().as_str(), &h);
        }
    }
    out
}

fn add_histogram(to: &mut BTreeMap<String, Histogram<u64>>, tag: &str, h: &Histogram<u64>) {
    to.entry(tag.to_string())
        .or_insert_with(|| Histogram::new_with_bounds(1, 100_000_000, 3).unwrap())
        .add(h)
        .unwrap();
}
