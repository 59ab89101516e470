//! Several queues with kernel peers: a veth pair with two queues on each
//! end, where the kernel sends each socket's frames on the queue its hash
//! picks (`sk_txhash`, drawn again on SYN and RTO retries), so replies and
//! SYNs land on either of synwave's two workers whatever the worker that
//! owns the connection. Every worker hands the frames it does not own to
//! their owner (`io::handoff`): `load --workers 2` against nginx and wrk
//! against `serve --workers 2` complete every connection, and say how many
//! frames went the long way.
//!
//! synwave in namespace A on `sw0`, the kernel in namespace B on `sw1`; each
//! test starts with [`common::Bed::with_queues`] (see `tests/common`).

mod common;

use common::{
    assert_no_xdp, assert_one_line_error, count, ns_cmd, parse_json, run_to_end, s, start_serve,
    Bed, Nginx, BIN, CONNECT_TIMEOUT, MSL_MS, SERVE_PORT,
};
use serde_json::Value;
use synwave::io::testbed::{IFACE_A, IP_A, IP_B};

const QUEUES: u32 = 2;

/// `handed_off` and `handoff_dropped` of a summary, checked to be there.
fn handoff(v: &Value) -> (u64, u64) {
    (count(v, "handed_off"), count(v, "handoff_dropped"))
}

#[test]
fn load_on_defaults_runs_a_worker_per_queue_and_completes_every_connection_against_nginx() {
    // No --workers: one per receive queue, so that no queue is left to
    // the kernel.
    let tag =
        "load_on_defaults_runs_a_worker_per_queue_and_completes_every_connection_against_nginx";
    let Some(bed) = Bed::with_queues(tag, "swi-mq-load", QUEUES) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let _nginx = Nginx::start(tb);
    let target = format!("{IP_B}:80");
    let msl = MSL_MS.to_string();
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(["load", "--iface", IFACE_A])
        .args(["--target", &target, "--connections", "5000"])
        .args(["--concurrency", "64", "--msl-ms", &msl])
        .args(["--request", "GET / HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n"])
        .arg("--json");
    let f = run_to_end(
        "synwave load --workers 2",
        cmd,
        scratch,
        "load",
        CONNECT_TIMEOUT,
    );
    assert_eq!(f.status.code(), Some(0), "{}", f.describe());
    let v = parse_json("synwave load --workers 2", &f.stdout);
    // veth reports no RSS (ETHTOOL_GRSSH): said once, and hand-off carries the run.
    assert!(
        f.stderr.contains("sw0 has no RSS") && f.stderr.contains("handed to it"),
        "{}",
        f.describe()
    );
    let errors: u64 = v["errors"]
        .as_object()
        .expect("errors")
        .values()
        .map(|e| e.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(errors, 0, "errors against nginx: {v}");
    assert_eq!(count(&v, "started"), 5000, "{v}");
    assert_eq!(count(&v, "completed"), 5000, "{v}");
    assert_eq!(count(&v, "status_2xx"), 5000, "{v}");
    assert_eq!(v["workers"].as_array().map(Vec::len), Some(2), "{v}");
    let (handed, dropped) = handoff(&v);
    // The kernel spreads its sockets over both queues: about half of the
    // replies arrive at the worker that does not own them.
    assert!(handed > 0, "nothing was handed off on two queues: {v}");
    assert_eq!(dropped, 0, "{v}");
    assert_eq!(
        v["xdp"]["no_xsk"].as_u64(),
        Some(0),
        "a queue had no socket: {v}"
    );
    eprintln!(
        "load: handed off {handed} of {} frames",
        v["xdp"]["redirected"]
    );
}

#[test]
fn wrk_against_serve_with_two_workers_on_two_queues_has_no_socket_errors() {
    let tag = "wrk_against_serve_with_two_workers_on_two_queues_has_no_socket_errors";
    let Some(bed) = Bed::with_queues(tag, "swi-mq-serve", QUEUES) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let response = scratch.write(
        "response",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    );
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let msl = MSL_MS.to_string();
    let mut serve = start_serve(
        tb,
        scratch,
        "serve",
        &[
            "--workers",
            "2",
            "--listen",
            &listen,
            "--response",
            s(&response),
            "--msl-ms",
            &msl,
            "--json",
        ],
    );
    let mut wrk = ns_cmd(tb.ns_b(), "wrk");
    wrk.args(["-t2", "-c64", "-d3s", "-H", "Connection: close"])
        .arg(format!("http://{listen}/"));
    let w = run_to_end("wrk", wrk, scratch, "wrk", CONNECT_TIMEOUT);
    assert!(w.status.success(), "wrk: {}", w.describe());
    assert!(
        !w.stdout.contains("Socket errors") && !w.stdout.contains("Non-2xx"),
        "wrk saw errors: {}",
        w.describe()
    );
    assert!(w.stdout.contains("requests in"), "{}", w.describe());
    // Let the last connections (and our TIME-WAIT) end before stopping.
    std::thread::sleep(common::AFTER_2MSL);
    let v = parse_json("synwave serve --workers 2", &serve.interrupt_and_collect());
    let (accepted, closed, reset) = (
        count(&v, "accepted"),
        count(&v, "closed"),
        count(&v, "reset"),
    );
    assert!(accepted > 1000, "{v}");
    // wrk aborts what it still has open as it stops: 64 at most.
    assert_eq!(accepted, closed + reset, "{v}");
    assert!(reset <= 64, "{v}");
    assert_eq!(count(&v, "tcbs_left"), 0, "{v}");
    let (handed, dropped) = handoff(&v);
    assert!(handed > 0, "nothing was handed off on two queues: {v}");
    assert_eq!(dropped, 0, "{v}");
    assert_eq!(v["xdp"]["no_xsk"].as_u64(), Some(0), "{v}");
    eprintln!("serve: {accepted} accepted, handed off {handed} frames");
}

#[test]
fn fewer_workers_than_queues_is_refused_in_one_line_before_attaching() {
    // Frames on a queue without a socket go to the kernel, which resets
    // them: refused with what to do instead, not run into resets.
    let tag = "fewer_workers_than_queues_is_refused_in_one_line_before_attaching";
    let Some(bed) = Bed::with_queues(tag, "swi-mq-few", QUEUES) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let target = format!("{IP_B}:80");
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(["load", "--workers", "1", "--iface", IFACE_A])
        .args(["--target", &target, "--connections", "10", "--rate", "10"]);
    let f = run_to_end(
        "synwave load --workers 1",
        cmd,
        scratch,
        "few",
        CONNECT_TIMEOUT,
    );
    let line = assert_one_line_error("synwave load --workers 1", &f);
    assert!(
        line.contains("sw0 has 2 receive queues but the run has 1 worker(s)")
            && line.contains("ethtool -L sw0 combined 1"),
        "{line}"
    );
    assert_no_xdp(tb, "after the refusal");
}
