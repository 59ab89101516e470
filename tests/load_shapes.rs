//! Load shapes against nginx on the veth testbed, with default flags: rates
//! in stages, and the search for the highest rate within limits
//! (`--find-max`, TRex's NDR search for connections).
//!
//! synwave in namespace A on `sw0`, nginx in namespace B; each test starts
//! with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use common::{count, ns_cmd, parse_json, run_to_end, Bed, Nginx, BIN};
use serde_json::Value;
use std::time::Duration;
use synwave::io::testbed::{IFACE_A, IP_B};

const REQUEST: &str = "GET / HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n";

/// Runs `synwave load --iface sw0 --target nginx ARGS --request … --json` in
/// namespace A, expecting exit status 0, and returns its JSON.
fn load(bed: &Bed, tag: &str, args: &[&str], limit: Duration) -> Value {
    let target = format!("{IP_B}:80");
    let mut cmd = ns_cmd(bed.tb.ns_a(), BIN);
    cmd.args(["load", "--iface", IFACE_A, "--target", &target])
        .args(args)
        .args(["--request", REQUEST, "--json"]);
    let what = format!("synwave load {}", args.join(" "));
    let f = run_to_end(&what, cmd, &bed.scratch, tag, limit);
    assert_eq!(f.status.code(), Some(0), "{what}: {}", f.describe());
    parse_json(&what, &f.stdout)
}

/// Each stage ramps linearly from the rate before it: 0→1000/s over 1 s,
/// 1000/s for 1 s, 1000→0/s over 1 s opens 500 + 1000 + 500 connections,
/// and every one completes against nginx.
#[test]
fn stages_ramp_between_their_rates_against_nginx() {
    let Some(bed) = Bed::new(
        "stages_ramp_between_their_rates_against_nginx",
        "swl-stages",
    ) else {
        return;
    };
    let _nginx = Nginx::start(&bed.tb);
    let args = ["--stages", "1s:1000,1s:1000,1s:0"];
    let v = load(&bed, "stages", &args, Duration::from_secs(60));
    let started = count(&v, "started");
    assert!(
        started.abs_diff(2000) <= 10,
        "started {started}, want 2000: {v}"
    );
    assert_eq!(count(&v, "completed"), started, "{v}");
}

/// `--find-max` runs a step per rate, doubling from `--rate` until one
/// fails, then bisecting; it reports every step and, as the result, the
/// highest rate that passed.
#[test]
fn find_max_reports_each_step_and_the_highest_passing_rate() {
    let Some(bed) = Bed::new(
        "find_max_reports_each_step_and_the_highest_passing_rate",
        "swl-findmax",
    ) else {
        return;
    };
    let _nginx = Nginx::start(&bed.tb);
    let args = [
        "--find-max",
        "--rate",
        "2000",
        "-d",
        "1s",
        "--max-p99",
        "100ms",
        "--max-error-rate",
        "1%",
    ];
    let v = load(&bed, "findmax", &args, Duration::from_secs(180));
    let steps = v["find_max"]["steps"].as_array().expect("steps");
    assert!(steps.len() >= 2, "{v}");
    assert_eq!(steps[0]["target"].as_f64(), Some(2000.0), "{v}");
    let passed: Vec<f64> = steps
        .iter()
        .filter(|s| s["pass"] == true)
        .filter_map(|s| s["target"].as_f64())
        .collect();
    let best = passed.iter().copied().fold(0.0, f64::max);
    assert_eq!(v["find_max"]["max_rate"].as_f64(), Some(best), "{v}");
    // Every failing step says why, and none is below the best pass.
    for s in steps.iter().filter(|s| s["pass"] == false) {
        assert!(s["failed"].as_str().is_some_and(|w| !w.is_empty()), "{s}");
        assert!(s["target"].as_f64().unwrap() > best, "{v}");
    }
    assert!(steps.len() < 16 || best > 0.0, "{v}");
}
