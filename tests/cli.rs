//! The command line as a user meets it before any run, no root needed:
//! `--version` names the commit, shell completions and the manual page are
//! generated from the same definition as `--help`, and the flags users of
//! wrk, wrk2 and h2load type are there.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_synwave");

fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("synwave runs");
    assert!(out.status.success(), "synwave {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn version_names_the_git_revision() {
    let v = stdout_of(&["--version"]);
    assert!(v.starts_with("synwave "), "{v}");
    assert!(v.contains("(git "), "{v}");
}

#[test]
fn completions_and_man_page_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for needle in ["load", "latency", "find-max", "stages"] {
            assert!(script.contains(needle), "{shell} completions lack {needle}");
        }
    }
    let man = stdout_of(&["man"]);
    assert!(man.contains(".TH synwave 1"), "{man}");
    for sub in ["serve", "connect", "load", "latency", "demo"] {
        assert!(man.contains(sub), "the manual page lacks {sub}");
    }
}

#[test]
fn wrk_style_short_flags_are_aliases() {
    let help = stdout_of(&["load", "--help"]);
    for flag in [
        "-c, --concurrency",
        "-d, --duration",
        "-R, --rate",
        "-t, --workers",
        "--latency",
    ] {
        assert!(help.contains(flag), "load --help lacks {flag}");
    }
}

#[test]
fn durations_and_fractions_take_units() {
    // Accepted by the parser; the run then stops at the missing interface,
    // a one-line error, not a usage error (exit 2).
    let out = Command::new(BIN)
        .args([
            "load",
            "--iface",
            "nonexistent0",
            "--target",
            "10.77.0.2:80",
            "-R",
            "10",
            "-d",
            "500ms",
            "--max-error-rate",
            "0.1%",
            "--connect-timeout",
            "2s",
        ])
        .output()
        .expect("synwave runs");
    assert_ne!(out.status.code(), Some(2), "{out:?}");
    let bad = Command::new(BIN)
        .args([
            "load",
            "--iface",
            "x",
            "--target",
            "10.77.0.2:80",
            "-d",
            "10parsecs",
        ])
        .output()
        .expect("synwave runs");
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

/// A segment's `load --json` result as synwave writes it: `started`
/// connections, all completed, connect latencies `lat` (µs), measured for
/// 10 s from `start` (Unix seconds).
fn segment_result(i: u32, n: u32, started: u64, lat: &[u64], start: u64) -> String {
    use synwave::app::report::{load_result, Provenance, Summary};
    use synwave::app::segment::{test_options, Segment};
    let mut sum = Summary::default();
    sum.app.insert("started", started);
    sum.app.insert("completed", started);
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
    for &v in lat {
        h.record(v).unwrap();
    }
    sum.histograms.insert("connect", h);
    sum.elapsed = 10.0;
    sum.started_at = Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(start));
    let target = "10.77.0.2:80".parse().unwrap();
    let whole = synwave::app::plan::load_options(target, Vec::new(), (10000, 30000));
    let test = test_options(&whole, Some("10.77.0.0/24"));
    let seg = Segment::new(i, n).unwrap();
    let p = Provenance::run(test, seg, &sum, std::time::Duration::ZERO, 10.0);
    load_result(&sum, 10.0, None, &p).to_string()
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("synwave-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn merge_of(args: &[&std::ffi::OsStr], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .arg("merge")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("synwave runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn merge_adds_two_result_files_and_reads_a_directory() {
    let dir = scratch("merge");
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    std::fs::write(&a, segment_result(0, 2, 600, &[100, 200], 1_000) + "\n").unwrap();
    std::fs::write(&b, segment_result(1, 2, 400, &[300], 1_005)).unwrap();
    let out = merge_of(&[a.as_os_str(), b.as_os_str(), "--json".as_ref()], None);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["started"], 1000);
    assert_eq!(v["latency_us"]["connect"]["count"], 3);
    assert_eq!(v["segments"]["indices"], serde_json::json!([0, 1]));
    // 1000 connections over the union of [1000, 1010] and [1005, 1015].
    assert_eq!(v["rate"]["achieved"], 1000.0 / 15.0);
    assert_eq!(v["merged"]["complete"], true);
    // The directory: the same, as a table.
    let out = merge_of(&[dir.as_os_str()], None);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("synwave merge: 2 result(s), segments 0,1 of 2"),
        "{table}"
    );
    assert!(table.contains("achieved 67 conn/s"), "{table}");
    assert!(table.contains("started 1000  completed 1000"), "{table}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_reads_results_among_log_lines_on_stdin() {
    let log = format!(
        "synwave: segment 0/2: concurrency 4, 1 source address(es)\n{}\n[pod/load-1] {}\nsome other line\n",
        segment_result(0, 2, 10, &[5], 1_000),
        segment_result(1, 2, 20, &[6], 1_000)
    );
    let out = merge_of(&["-".as_ref(), "--json".as_ref()], Some(&log));
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["started"], 30);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("skipped 2 line(s)"), "{err}");
    // Half the test: merged, with a warning.
    let half = segment_result(1, 2, 20, &[6], 1_000);
    let out = merge_of(&["-".as_ref()], Some(&half));
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("segment(s) 0 of 2 missing"), "{err}");
}

#[test]
fn merge_refuses_results_of_different_tests_in_one_line() {
    let dir = scratch("refuse");
    let (a, b, c) = (dir.join("a.json"), dir.join("b.json"), dir.join("c.json"));
    std::fs::write(&a, segment_result(0, 2, 10, &[5], 1_000)).unwrap();
    // The same segment twice.
    std::fs::write(&b, segment_result(0, 2, 10, &[5], 1_000)).unwrap();
    let other = segment_result(1, 2, 10, &[5], 1_000).replace("10.77.0.2:80", "10.77.0.3:80");
    std::fs::write(&c, other).unwrap();
    for (x, want) in [
        (&b, "segment 0/2 is in both"),
        (
            &c,
            "different tests: target \"10.77.0.2:80\" vs \"10.77.0.3:80\"",
        ),
    ] {
        let out = merge_of(&[a.as_os_str(), x.as_os_str()], None);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("synwave: error: cannot merge: "), "{err}");
        assert!(err.contains(want), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
    let out = merge_of(&["-".as_ref()], Some("no results here\n"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_interval_under_a_second_its_outputs_without_it_and_a_bad_segment_are_usage_errors() {
    for args in [
        &["--interval", "500ms"][..],
        &["--interval-file", "x.jsonl"],
        &["--csv"],
        &["--hdr-log", "x.hlog"],
        &["--segment", "2/2"],
        &["--segment", "1/3", "--find-max"],
    ] {
        let out = Command::new(BIN)
            .args([
                "load",
                "--iface",
                "x",
                "--target",
                "10.77.0.2:80",
                "-R",
                "10",
            ])
            .args(args)
            .output()
            .expect("synwave runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}

/// Issue 16: a segment that started more than `--late-after` (100 ms)
/// after the earliest is flagged, in a warning and in the merged JSON.
#[test]
fn merge_flags_a_segment_that_started_late() {
    let log = format!(
        "{}\n{}\n",
        segment_result(0, 2, 10, &[5], 1_000),
        segment_result(1, 2, 20, &[6], 1_002)
    );
    let out = merge_of(&["-".as_ref(), "--json".as_ref()], Some(&log));
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(
            "warning: segment(s) 1 (2.000 s) of 2 started later than 0.100 s after the earliest"
        ),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["merged"]["late_segments"], serde_json::json!([1]));
    assert_eq!(v["started_at_unix_ns"], 1_000_000_000_000u64);
    let out = merge_of(
        &["-".as_ref(), "--late-after".as_ref(), "3s".as_ref()],
        Some(&log),
    );
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("started later"), "{err}");
}

#[test]
fn the_barrier_flags_are_checked_before_anything_runs() {
    for args in [
        // The barrier needs the control port it is released on.
        &["--wait-for-start"][..],
        &["--metrics-linger", "5s"],
        &[
            "--metrics",
            "127.0.0.1:0",
            "--wait-for-start",
            "--start-at",
            "1796137200",
        ],
        &["--start-at", "tomorrow"],
        &["--start-at", "2026-12-01T15:00:00"],
        &["--metrics", "127.0.0.1:0", "--wait-for-start", "--find-max"],
    ] {
        let out = Command::new(BIN)
            .args([
                "load",
                "--iface",
                "x",
                "--target",
                "10.77.0.2:80",
                "-R",
                "10",
            ])
            .args(args)
            .output()
            .expect("synwave runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

/// A stand-in agent: answers `/ready` with 503 `not_before` times, then
/// 200, and `/start` with 200; returns its address and the requests seen.
fn fake_agent(not_before: usize) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut polls = 0;
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap_or(0);
            let line = String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let ok = if line.starts_with("GET /ready") {
                polls += 1;
                polls > not_before
            } else {
                line.starts_with("POST /start")
            };
            let status = if ok {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            // As an agent held at the barrier says it.
            let _ = write!(
                conn,
                "HTTP/1.0 {status}\r\nContent-Length: 6\r\n\r\nready\n"
            );
            let _ = tx.send(line);
        }
    });
    (addr, rx)
}

/// `synwave start` polls every agent's /ready until all are ready, then
/// posts /start to each; one that never becomes ready fails the start in
/// one line, exit 3, and nobody is started.
#[test]
fn the_starter_releases_agents_once_all_are_ready_and_fails_if_one_never_is() {
    let (a, seen_a) = fake_agent(3);
    let (b, seen_b) = fake_agent(0);
    let out = Command::new(BIN)
        .args([
            "start",
            "--agents",
            &format!("{a},{b}"),
            "--poll",
            "20ms",
            "--timeout",
            "10s",
        ])
        .output()
        .expect("synwave runs");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    for seen in [seen_a, seen_b] {
        let lines: Vec<String> = seen.try_iter().collect();
        assert_eq!(
            lines.last().map(String::as_str),
            Some("POST /start HTTP/1.0"),
            "{lines:?}"
        );
        assert_eq!(lines.iter().filter(|l| l.starts_with("POST")).count(), 1);
    }
    let (never, seen) = fake_agent(usize::MAX);
    let out = Command::new(BIN)
        .args([
            "start",
            "--agents",
            &format!("{b},{never}"),
            "--poll",
            "20ms",
            "--timeout",
            "300ms",
        ])
        .output()
        .expect("synwave runs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("synwave: failed: 1 of 2 agent(s) ready after")
            && last.contains(&format!("{never}: 503")),
        "{err}"
    );
    assert!(seen.try_iter().all(|l| !l.starts_with("POST")));
}
