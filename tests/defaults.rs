//! The main job on defaults, as a new user runs it: one source address,
//! default flags (no --msl-ms, no extra --src unless that is the point), a
//! Linux kernel peer (nginx, or the kernel's TIME-WAIT) on a plain veth
//! (GRO off, no XDP on the peer, no tuned sysctls). Each test names the
//! rule it holds synwave to.

mod common;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{
    assert_no_xdp, assert_one_line_error, count, ns_cmd, parse_json, require_root_or_skip,
    run_to_end, s, Finished, Nginx, Proc, Scratch, BIN, PROC_TIMEOUT,
};
use serde_json::Value;
use synwave::io::testbed::{run_cmd, IFACE_A, IFACE_B, IP_A, IP_B};
use synwave::io::Testbed;

/// An HTTP request whose server closes first (nginx holds TIME-WAIT).
const REQUEST_CLOSE: &[u8] = b"GET / HTTP/1.1\r\nHost: 10.77.0.2\r\nConnection: close\r\n\r\n";
/// A keep-alive request: nginx waits, so synwave closes first.
const REQUEST_KEEP: &[u8] = b"GET / HTTP/1.1\r\nHost: 10.77.0.2\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
/// Where nothing answers: namespace A's neighbour table sends it to B's MAC,
/// and B, which neither owns nor forwards it, drops every frame.
const BLACK_HOLE: &str = "10.77.0.3";
/// Tuples of one address with the default --ports 10000-30000.
const DEFAULT_TUPLES: u64 = 20_001;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn testbed(prefix: &str) -> Testbed {
    Testbed::up(prefix).unwrap_or_else(|e| panic!("testbed: {e}"))
}

/// Runs `synwave ARGS --json` in namespace A; returns the exit and the JSON.
fn synwave(tb: &Testbed, scratch: &Scratch, args: &[&str], limit: Duration) -> (Finished, Value) {
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(args).arg("--json");
    let what = format!("synwave {}", args.join(" "));
    let f = run_to_end(&what, cmd, scratch, "run", limit);
    let v = parse_json(&what, &f.stdout);
    (f, v)
}

/// started = completed + every error class.
fn assert_reconciled(what: &str, v: &Value) -> u64 {
    let errors: u64 = v["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: no errors object in {v}"))
        .values()
        .map(|e| e.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        count(v, "started"),
        count(v, "completed") + errors,
        "{what}: counts do not reconcile: {v}"
    );
    errors
}

fn connect_p50(v: &Value) -> u64 {
    v["latency_us"]["connect"]["p50"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// Makes BLACK_HOLE resolve to B's MAC in namespace A.
fn add_black_hole(tb: &Testbed) {
    let link = run_cmd("ip", &["-n", tb.ns_b(), "-br", "link", "show", IFACE_B])
        .unwrap_or_else(|e| panic!("{e}"));
    let mac = link.split_whitespace().nth(2).expect("MAC of sw1");
    run_cmd(
        "ip",
        &[
            "-n",
            tb.ns_a(),
            "neigh",
            "replace",
            BLACK_HOLE,
            "lladdr",
            mac,
            "dev",
            IFACE_A,
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn rfc6191_one_source_address_keeps_loading_a_server_that_closes_first_for_30_s() {
    if !require_root_or_skip(
        "rfc6191_one_source_address_keeps_loading_a_server_that_closes_first_for_30_s",
    ) {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-one");
    let scratch = Scratch::new("one");
    let req = scratch.write("req", REQUEST_CLOSE);
    let resp = scratch.write("resp", RESPONSE);
    let mut serve_cmd = ns_cmd(tb.ns_b(), BIN);
    serve_cmd.args([
        "serve",
        "--iface",
        IFACE_B,
        "--listen",
        "10.77.0.2:8080",
        "--response",
        s(&resp),
    ]);
    let mut serve = Proc::spawn("synwave serve", serve_cmd, &scratch, "serve");
    serve.wait_for_stderr("synwave: serving", PROC_TIMEOUT);
    let (f, v) = synwave(
        &tb,
        &scratch,
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:8080",
            "--concurrency",
            "256",
            "--duration",
            "30",
            "--request-file",
            s(&req),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(f.status.code(), Some(0), "{}", f.describe());
    assert_eq!(assert_reconciled("one source, 30 s", &v), 0, "{v}");
    // The old allocator stopped after one pass over the tuples: each must
    // come back many times over in 30 s.
    let started = count(&v, "started");
    assert!(started > 10 * DEFAULT_TUPLES, "started only {started}: {v}");
    serve.signal(libc::SIGINT);
    assert!(
        serve.wait_or_panic(PROC_TIMEOUT).success(),
        "{}",
        serve.stderr()
    );
}

#[test]
fn rfc6191_back_to_back_runs_against_nginx_see_the_same_connect_latency() {
    if !require_root_or_skip("rfc6191_back_to_back_runs_against_nginx_see_the_same_connect_latency")
    {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-b2b");
    let scratch = Scratch::new("b2b");
    let req = scratch.write("req", REQUEST_CLOSE);
    let _nginx = Nginx::start(&tb);
    let run = || {
        let (f, v) = synwave(
            &tb,
            &scratch,
            &[
                "load",
                "--iface",
                IFACE_A,
                "--target",
                "10.77.0.2:80",
                "--concurrency",
                "256",
                "--duration",
                "30",
                "--request-file",
                s(&req),
            ],
            Duration::from_secs(60),
        );
        assert_eq!(f.status.code(), Some(0), "{}", f.describe());
        assert_eq!(assert_reconciled("against nginx", &v), 0, "{v}");
        v
    };
    let first = run();
    // nginx now holds thousands of these tuples in TIME-WAIT: the second
    // run's SYNs must still be taken as new (TSval and ISN above the last).
    let second = run();
    let (p1, p2) = (connect_p50(&first), connect_p50(&second));
    assert!(
        p2 <= 2 * p1.max(50) && p1 <= 2 * p2.max(50),
        "connect p50 {p1} µs then {p2} µs:\n{first}\n{second}"
    );
    assert!(
        p2 < 100_000,
        "second run's connect p50 {p2} µs (an RTO?): {second}"
    );
}

/// Keys like `old` (the 48-byte keys file) but for the timestamp key, chosen
/// so that towards nginx our TSvals fall about 10^8 ticks (a day) behind
/// those `old` gave: every SYN to a tuple in nginx's TIME-WAIT is then old
/// to its PAWS check (RFC 7323 §5.3).
fn keys_behind(old: &[u8]) -> Vec<u8> {
    use synwave::tcp::{FourTuple, Keys};
    let keys = |b: &[u8]| {
        let k = |i: usize| <[u8; 16]>::try_from(&b[i * 16..i * 16 + 16]).expect("16 bytes");
        Keys {
            isn: k(0),
            syn_cookie: k(1),
            timestamp: k(2),
        }
    };
    let pair = FourTuple {
        local_ip: IP_A,
        remote_ip: IP_B,
        local_port: 0,
        remote_port: 0,
    };
    let was = keys(old).ts_offset(&pair);
    (0u32..)
        .map(|n| {
            let mut b = old.to_vec();
            b[32..36].copy_from_slice(&n.to_le_bytes());
            b[36] ^= 0xa5;
            b
        })
        .find(|b| {
            let behind = was.wrapping_sub(keys(b).ts_offset(&pair)) as i32;
            (100_000_000..1_000_000_000).contains(&behind)
        })
        .expect("some key falls behind")
}

#[test]
fn rfc9293_3_10_7_3_a_peer_time_wait_that_rejects_our_syn_gets_rst_and_the_syn_again() {
    if !require_root_or_skip(
        "rfc9293_3_10_7_3_a_peer_time_wait_that_rejects_our_syn_gets_rst_and_the_syn_again",
    ) {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-col");
    let scratch = Scratch::new("col");
    let req = scratch.write("req", REQUEST_CLOSE);
    let _nginx = Nginx::start(&tb);
    let args = [
        "load",
        "--iface",
        IFACE_A,
        "--target",
        "10.77.0.2:80",
        "--concurrency",
        "64",
        "--connections",
        "1000",
        "--ports",
        "10000-10999",
        "--request-file",
        s(&req),
    ];
    let (f, v) = synwave(&tb, &scratch, &args, Duration::from_secs(60));
    assert_eq!(f.status.code(), Some(0), "{}", f.describe());
    // nginx holds all 1000 tuples in TIME-WAIT. New keys (as after a
    // reboot, or another tool on the same tuples) can put our next TSvals
    // behind the ones nginx saw: PAWS then makes it re-ACK the old
    // connection instead of taking the SYN. Which way a random new key falls
    // is a coin toss per address pair, so the test picks one that falls
    // behind, by about a day of TSval ticks.
    let keys = std::path::Path::new(synwave::io::keys::KEYS_DIR).join("keys");
    let saved = std::fs::read(&keys).ok();
    let old = saved.clone().unwrap_or_else(|| vec![0u8; 48]);
    let _ = std::fs::remove_file(&keys);
    common::restore_keys(&keys, &keys_behind(&old));
    let (f, v2) = synwave(&tb, &scratch, &args, Duration::from_secs(60));
    let _ = std::fs::remove_file(&keys);
    if let Some(bytes) = saved {
        common::restore_keys(&keys, &bytes);
    }
    assert_eq!(f.status.code(), Some(0), "{}", f.describe());
    assert_eq!(assert_reconciled("after new keys", &v2), 0, "{v2}");
    let collisions = v2["engine"]["tw_collisions"].as_u64().unwrap_or(0);
    assert!(collisions > 0, "no SYN met nginx's TIME-WAIT: {v2}");
    // Each collision cost a round trip, not a 1 s RTO.
    let p999 = v2["latency_us"]["connect"]["p99.9"]
        .as_u64()
        .unwrap_or(u64::MAX);
    assert!(
        p999 < 500_000,
        "connect p99.9 {p999} µs after {collisions} collisions: {v2}\n{v}"
    );
}

#[test]
fn linux_tcp_tw_reuse_one_address_closing_first_sustains_ports_per_second() {
    if !require_root_or_skip(
        "linux_tcp_tw_reuse_one_address_closing_first_sustains_ports_per_second",
    ) {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-twr");
    let scratch = Scratch::new("twr");
    let req = scratch.write("req", REQUEST_KEEP);
    let _nginx = Nginx::start(&tb);
    // 1000 ports, each reusable 1 s after we close: at least 1000 conn/s.
    let (f, v) = synwave(
        &tb,
        &scratch,
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:80",
            "--concurrency",
            "64",
            "--duration",
            "5",
            "--ports",
            "10000-10999",
            "--close",
            "fin",
            "--request-file",
            s(&req),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(f.status.code(), Some(0), "{}", f.describe());
    assert_eq!(assert_reconciled("closing first", &v), 0, "{v}");
    let achieved = v["rate"]["achieved"].as_f64().unwrap_or(0.0);
    assert!(
        achieved >= 900.0,
        "{achieved:.0} conn/s from 1000 ports: {v}"
    );
    assert!(
        v["engine"]["time_wait_reopened"].as_u64().unwrap_or(0) > 0,
        "{v}"
    );
    // It did run out of tuples, and says so.
    assert!(count(&v, "no_free_tuple") > 0, "{v}");
}

#[test]
fn rfc826_a_source_range_completes_against_a_kernel_peer_without_gro() {
    if !require_root_or_skip("rfc826_a_source_range_completes_against_a_kernel_peer_without_gro") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-src");
    let scratch = Scratch::new("src");
    let offload = run_cmd(
        "ip",
        &["netns", "exec", tb.ns_b(), "ethtool", "-k", IFACE_B],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        offload.contains("generic-receive-offload: off"),
        "{offload}"
    );
    let req = scratch.write("req", REQUEST_CLOSE);
    let _nginx = Nginx::start(&tb);
    let (f, v) = synwave(
        &tb,
        &scratch,
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:80",
            "--src",
            "10.77.0.0/25",
            "--concurrency",
            "64",
            "--duration",
            "3",
            "--request-file",
            s(&req),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(f.status.code(), Some(0), "{}", f.describe());
    assert_eq!(assert_reconciled("--src /25", &v), 0, "{v}");
    assert!(count(&v, "completed") > 0, "{v}");
    assert!(v["xdp"]["arp_requests"].as_u64().unwrap_or(0) > 0, "{v}");
    // Every extra address is in the peer's neighbour table, resolved.
    let neigh = run_cmd("ip", &["-n", tb.ns_b(), "neigh", "show", "dev", IFACE_B])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!neigh.contains("FAILED"), "{neigh}");
}

#[test]
fn rfc9110_15_nginx_404s_are_http_errors_rfc9112_6_3_chunked_and_lengths_end() {
    if !require_root_or_skip(
        "rfc9110_15_nginx_404s_are_http_errors_rfc9112_6_3_chunked_and_lengths_end",
    ) {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-htp");
    let scratch = Scratch::new("htp");
    let _nginx = Nginx::start(&tb);
    let load = |path: &str, requests: &str| {
        let request = format!("GET {path} HTTP/1.1\\r\\nHost: {{host}}\\r\\n\\r\\n");
        synwave(
            &tb,
            &scratch,
            &[
                "load",
                "--iface",
                IFACE_A,
                "--target",
                "10.77.0.2:80",
                "--concurrency",
                "16",
                "--connections",
                "200",
                "--requests-per-connection",
                requests,
                "--request",
                &request,
            ],
            Duration::from_secs(30),
        )
    };
    // No --response-* flag: an HTTP/1.1 request's responses are read as
    // HTTP, and a 404 is a failure of its own class, not a completion.
    let (f, v) = load("/missing", "1");
    assert_eq!(
        f.status.code(),
        Some(3),
        "every one a 404: {}",
        f.describe()
    );
    assert_reconciled("404s", &v);
    assert_eq!(v["errors"]["http_error"].as_u64(), Some(200), "{v}");
    assert_eq!(count(&v, "completed"), 0, "{v}");
    assert_eq!(count(&v, "status_4xx"), 200, "{v}");
    assert_eq!(count(&v, "responses"), 200, "{v}");
    assert!(
        f.stderr.contains("200 of 200 connections failed"),
        "{}",
        f.stderr
    );
    // Three requests per kept-alive connection: a response that ended early
    // or late would put the next one off (a bad response or a timeout).
    for path in ["/chunked", "/"] {
        let (f, v) = load(path, "3");
        assert_eq!(f.status.code(), Some(0), "{path}: {}", f.describe());
        assert_eq!(assert_reconciled(path, &v), 0, "{path}: {v}");
        assert_eq!(count(&v, "completed"), 200, "{path}: {v}");
        assert_eq!(count(&v, "responses"), 600, "{path}: {v}");
        assert_eq!(count(&v, "status_2xx"), 600, "{path}: {v}");
    }
}

#[test]
fn rfc5227_a_source_address_another_host_has_is_refused() {
    if !require_root_or_skip("rfc5227_a_source_address_another_host_has_is_refused") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-dad");
    let scratch = Scratch::new("dad");
    // B holds 10.77.0.50 too: synwave must not answer ARP for it.
    run_cmd(
        "ip",
        &[
            "-n",
            tb.ns_b(),
            "addr",
            "add",
            "10.77.0.50/24",
            "dev",
            IFACE_B,
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args([
        "load",
        "--iface",
        IFACE_A,
        "--target",
        "10.77.0.2:80",
        "--src",
        "10.77.0.48/29",
        "--rate",
        "10",
        "--duration",
        "1",
    ]);
    let f = run_to_end(
        "load --src with a taken address",
        cmd,
        &scratch,
        "dad",
        PROC_TIMEOUT,
    );
    let line = assert_one_line_error("load --src with a taken address", &f);
    assert!(
        line.contains("10.77.0.50") && line.contains("RFC 5227"),
        "{line}"
    );
    assert_no_xdp(&tb, "after the refused load");
}

#[test]
fn a_load_against_an_address_that_never_answers_ends_on_time_and_reconciles() {
    if !require_root_or_skip(
        "a_load_against_an_address_that_never_answers_ends_on_time_and_reconciles",
    ) {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-blk");
    let scratch = Scratch::new("blk");
    add_black_hole(&tb);
    let target = format!("{BLACK_HOLE}:80");
    let t0 = Instant::now();
    let (f, v) = synwave(
        &tb,
        &scratch,
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            &target,
            "--rate",
            "100",
            "--duration",
            "3",
        ],
        Duration::from_secs(60),
    );
    let took = t0.elapsed();
    // --duration 3 plus the default grace (5 s) plus 1 s.
    assert!(took < Duration::from_secs(9), "took {took:?}: {v}");
    assert_eq!(
        f.status.code(),
        Some(3),
        "every connection failed: {}",
        f.describe()
    );
    assert_reconciled("black hole", &v);
    assert_eq!(count(&v, "started"), 300, "{v}");
    assert_eq!(v["errors"]["connect_timeout"].as_u64(), Some(300), "{v}");
    assert!(
        f.stderr.contains("300 of 300 connections failed"),
        "{}",
        f.stderr
    );

    // latency with every handshake failed fails too.
    let (f, v) = synwave(
        &tb,
        &scratch,
        &[
            "latency",
            "--iface",
            IFACE_A,
            "--target",
            &target,
            "--connections",
            "5",
            "--connect-timeout",
            "0.3",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(f.status.code(), Some(3), "{}", f.describe());
    assert_eq!(count(&v, "errors"), 5, "{v}");
}

#[test]
fn sigint_and_sigterm_end_a_run_that_reconciles_and_says_it_was_interrupted() {
    if !require_root_or_skip(
        "sigint_and_sigterm_end_a_run_that_reconciles_and_says_it_was_interrupted",
    ) {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-sig");
    let scratch = Scratch::new("sig");
    add_black_hole(&tb);
    let target = format!("{BLACK_HOLE}:80");
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let mut cmd = ns_cmd(tb.ns_a(), BIN);
        cmd.args([
            "load",
            "--iface",
            IFACE_A,
            "--target",
            &target,
            "--rate",
            "200",
            "--duration",
            "30",
            "--json",
        ]);
        let mut p = Proc::spawn("load", cmd, &scratch, &format!("sig{sig}"));
        std::thread::sleep(Duration::from_secs(2));
        p.signal(sig);
        let st = p.wait_or_panic(PROC_TIMEOUT);
        let v = parse_json("interrupted load", &p.stdout());
        assert_eq!(st.code(), Some(code), "signal {sig}: {}", p.stderr());
        assert_eq!(v["interrupted"], Value::Bool(true), "{v}");
        assert_reconciled("interrupted load", &v);
        assert!(v["errors"]["unfinished"].as_u64().unwrap_or(0) > 0, "{v}");
        assert_eq!(count(&v, "tcbs_left"), 0, "{v}");
        assert_no_xdp(&tb, "after the interrupted load");
    }
}

#[test]
fn mistakes_are_refused_before_anything_is_attached() {
    if !require_root_or_skip("mistakes_are_refused_before_anything_is_attached") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swd-bad");
    let scratch = Scratch::new("bad");
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "load",
                "--iface",
                IFACE_A,
                "--target",
                "10.77.0.2:0",
                "--rate",
                "10",
            ],
            "nonzero port",
        ),
        (
            &["latency", "--iface", IFACE_A, "--target", "10.77.0.2:0"],
            "nonzero port",
        ),
        (
            &["connect", "--iface", IFACE_A, "--target", "10.77.0.2:0"],
            "nonzero port",
        ),
        (
            &[
                "load",
                "--iface",
                IFACE_A,
                "--target",
                "10.77.0.2:80",
                "--rate",
                "10",
                "--duration",
                "0",
            ],
            "more than 0 seconds",
        ),
        (
            &[
                "load",
                "--iface",
                IFACE_A,
                "--target",
                "10.77.0.2:80",
                "--rate",
                "10",
                "--connections",
                "0",
            ],
            "at least 1",
        ),
        (
            &[
                "load",
                "--iface",
                IFACE_A,
                "--target",
                "10.77.0.2:80",
                "--rate",
                "10",
                "--max-error-rate",
                "1.5",
            ],
            "--max-error-rate",
        ),
        (
            &["serve", "--iface", IFACE_A, "--listen", "10.77.0.9:8080"],
            "is not an address of sw0",
        ),
        (
            &["serve", "--iface", IFACE_A, "--listen", "10.77.0.1:0"],
            "nonzero port",
        ),
        (
            &[
                "serve",
                "--iface",
                IFACE_A,
                "--listen",
                "0.0.0.0:8080",
                "--duration",
                "0",
            ],
            "more than 0 seconds",
        ),
    ];
    for (args, needle) in cases {
        let mut cmd = ns_cmd(tb.ns_a(), BIN);
        cmd.args(*args);
        let what = format!("synwave {}", args.join(" "));
        let f = run_to_end(&what, cmd, &scratch, "bad", PROC_TIMEOUT);
        let line = assert_one_line_error(&what, &f);
        assert!(line.contains(needle), "{what}: {line}");
        assert_no_xdp(&tb, &what);
    }
    // Every connection refused (nothing listens on 9999): exit 3.
    let (f, v) = synwave(
        &tb,
        &scratch,
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:9999",
            "--concurrency",
            "4",
            "--connections",
            "20",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(f.status.code(), Some(3), "{}", f.describe());
    assert_eq!(v["errors"]["refused"].as_u64(), Some(20), "{v}");
    // The same within --max-error-rate 1 is what was asked for: exit 0.
    let (f, _) = synwave(
        &tb,
        &scratch,
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:9999",
            "--concurrency",
            "4",
            "--connections",
            "20",
            "--max-error-rate",
            "1",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(f.status.code(), Some(0), "{}", f.describe());
}
