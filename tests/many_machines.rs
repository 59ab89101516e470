//! Issue 16's run on many machines, in miniature, as root: three load
//! agents in three network namespaces, each with its own veth to a router
//! namespace (kernel forwarding, as `benches/soak.sh` builds it) that
//! reaches one `synwave serve`. Each agent is started the way a pod of
//! the Indexed Job starts (`deploy/k8s/agent.sh` with
//! `JOB_COMPLETION_INDEX` set), prepares, and waits at the barrier until
//! `synwave start` releases all three; `synwave merge` of their logs (as
//! `kubectl logs` prints them) reconciles: started = completed + errors,
//! and the merged completed count is what the server accepted.
//!
//! ```text
//!   a0 (sw0 10.79.0.2) ─┐
//!   a1 (sw0 10.79.1.2) ─┼─ R (router, synwave start) ── S (sw1 10.79.9.2, synwave serve)
//!   a2 (sw0 10.79.2.2) ─┘
//! ```

mod common;

use common::{
    count, ns_cmd, parse_json, require_root_or_skip, run_to_end, serial, Proc, Scratch, BIN,
    PROC_TIMEOUT,
};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use synwave::io::netns;
use synwave::io::testbed::run_cmd;

const AGENTS: u32 = 3;
const AGENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/k8s/agent.sh");
const SERVER: &str = "10.79.9.2";

/// The namespaces of the routed testbed; all deleted on drop, which takes
/// their veths and any XDP program with them.
struct Routed {
    prefix: String,
    made: Vec<String>,
}

impl Routed {
    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    fn agent(&self, i: u32) -> String {
        self.ns(&format!("a{i}"))
    }

    fn up() -> Routed {
        let mut bed = Routed {
            prefix: format!("swm-{}", std::process::id()),
            made: Vec::new(),
        };
        let names: Vec<String> = (0..AGENTS)
            .map(|i| bed.agent(i))
            .chain([bed.ns("r"), bed.ns("s")])
            .collect();
        for ns in names {
            assert!(!netns::exists(&ns), "namespace {ns} left over");
            sh(&["ip", "netns", "add", &ns]);
            bed.made.push(ns);
        }
        let (r, s) = (bed.ns("r"), bed.ns("s"));
        let mut links = Vec::new();
        for i in 0..AGENTS {
            let (a, ra) = (bed.agent(i), format!("r{i}"));
            sh(&[
                "ip", "link", "add", "sw0", "netns", &a, "type", "veth", "peer", "name", &ra,
                "netns", &r,
            ]);
            sh(&[
                "ip",
                "-n",
                &a,
                "addr",
                "add",
                &format!("10.79.{i}.2/24"),
                "dev",
                "sw0",
            ]);
            sh(&[
                "ip",
                "-n",
                &r,
                "addr",
                "add",
                &format!("10.79.{i}.1/24"),
                "dev",
                &ra,
            ]);
            links.push((a.clone(), "sw0".to_string()));
            links.push((r.clone(), ra));
        }
        sh(&[
            "ip", "link", "add", "sw1", "netns", &s, "type", "veth", "peer", "name", "rs", "netns",
            &r,
        ]);
        sh(&[
            "ip",
            "-n",
            &s,
            "addr",
            "add",
            &format!("{SERVER}/24"),
            "dev",
            "sw1",
        ]);
        sh(&["ip", "-n", &r, "addr", "add", "10.79.9.1/24", "dev", "rs"]);
        links.push((s.clone(), "sw1".into()));
        links.push((r.clone(), "rs".into()));
        for ns in &bed.made {
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        for (ns, link) in &links {
            sh(&["ip", "-n", ns, "link", "set", link, "up"]);
            // AF_XDP sees raw bytes: checksums must be done in software.
            sh(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", link, "tx", "off", "gro", "on",
            ]);
        }
        sh(&[
            "ip",
            "netns",
            "exec",
            &r,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]);
        for i in 0..AGENTS {
            sh(&[
                "ip",
                "-n",
                &bed.agent(i),
                "route",
                "add",
                "default",
                "via",
                &format!("10.79.{i}.1"),
            ]);
        }
        sh(&[
            "ip",
            "-n",
            &s,
            "route",
            "add",
            "default",
            "via",
            "10.79.9.1",
        ]);
        bed
    }
}

impl Drop for Routed {
    fn drop(&mut self) {
        for ns in self.made.drain(..).rev() {
            let _ = run_cmd("ip", &["netns", "del", &ns]);
        }
    }
}

/// The environment of agent `i` of the test below, as the pods' ConfigMap
/// and the Indexed Job give it.
fn agent_cmd(bed: &Routed, i: u32) -> std::process::Command {
    let mut cmd = ns_cmd(&bed.agent(i), AGENT);
    cmd.env("JOB_COMPLETION_INDEX", i.to_string())
        .env("SYNWAVE_BIN", BIN)
        .env("SYNWAVE_TARGET", format!("{SERVER}:8080"))
        .env("SYNWAVE_SEGMENTS", AGENTS.to_string())
        .env("SYNWAVE_IFACE", "sw0")
        .env("SYNWAVE_RATE", "600")
        .env("SYNWAVE_DURATION", "2s")
        .env("SYNWAVE_CONTROL", format!("10.79.{i}.2:9464"))
        .env("SYNWAVE_LINGER", "0s")
        .env("SYNWAVE_EXTRA", "--msl-ms 200");
    cmd
}

fn start_serve(bed: &Routed, scratch: &Scratch) -> Proc {
    let mut cmd = ns_cmd(&bed.ns("s"), BIN);
    cmd.args([
        "serve",
        "--iface",
        "sw1",
        "--listen",
        &format!("{SERVER}:8080"),
        "--msl-ms",
        "200",
        "--json",
    ]);
    let mut serve = Proc::spawn("synwave serve", cmd, scratch, "serve");
    serve.wait_for_stderr("synwave: serving", PROC_TIMEOUT);
    serve
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn sh(cmd: &[&str]) {
    run_cmd(cmd[0], &cmd[1..]).unwrap_or_else(|e| panic!("{e}"));
}

fn errors(v: &Value) -> u64 {
    let e = v["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("no errors object in {v}"));
    e.values().map(|n| n.as_u64().unwrap()).sum()
}

#[test]
fn three_agents_released_by_the_starter_merge_into_what_the_server_accepted() {
    if !require_root_or_skip(
        "three_agents_released_by_the_starter_merge_into_what_the_server_accepted",
    ) {
        return;
    }
    let _serial = serial();
    let bed = Routed::up();
    let scratch = Scratch::new("many-machines");
    let mut serve = start_serve(&bed, &scratch);
    // As the Indexed Job starts its pods: the same script, the index in
    // JOB_COMPLETION_INDEX, the test's parameters in the environment.
    let mut agents: Vec<Proc> = (0..AGENTS)
        .map(|i| {
            Proc::spawn(
                &format!("agent {i}"),
                agent_cmd(&bed, i),
                &scratch,
                &format!("agent{i}"),
            )
        })
        .collect();
    for a in &mut agents {
        a.wait_for_stderr("waiting for POST /start", PROC_TIMEOUT);
    }
    // Held at the barrier: nobody loads before the starter says so.
    std::thread::sleep(Duration::from_millis(500));
    for a in &mut agents {
        assert!(
            a.try_wait().is_none(),
            "an agent ended before the start:\n{}",
            a.stderr()
        );
    }
    let released_after = unix_ns();
    let list: Vec<String> = (0..AGENTS).map(|i| format!("10.79.{i}.2:9464")).collect();
    let mut start = ns_cmd(&bed.ns("r"), BIN);
    start.args([
        "start",
        "--agents",
        &list.join(","),
        "--timeout",
        "30s",
        "--poll",
        "100ms",
    ]);
    let started = run_to_end(
        "synwave start",
        start,
        &scratch,
        "start",
        Duration::from_secs(60),
    );
    assert!(
        started.status.success(),
        "synwave start: {}",
        started.describe()
    );
    assert_eq!(
        started.stdout.lines().count(),
        AGENTS as usize,
        "{}",
        started.describe()
    );
    // Their logs, as `kubectl logs --prefix` interleaves stdout and stderr.
    let mut logs = String::new();
    let mut results = Vec::new();
    for (i, a) in agents.iter_mut().enumerate() {
        let st = a.wait_or_panic(Duration::from_secs(60));
        assert!(
            st.success(),
            "agent {i}: {st}\n{}\n{}",
            a.stdout(),
            a.stderr()
        );
        let v = parse_json(&format!("agent {i}"), &a.stdout());
        assert_eq!(v["segments"]["indices"], serde_json::json!([i]), "{v}");
        assert!(count(&v, "started") > 0, "agent {i} started nothing: {v}");
        let at = v["started_at_unix_ns"]
            .as_u64()
            .unwrap_or_else(|| panic!("{v}"));
        assert!(
            at >= released_after,
            "agent {i} started before the starter released it"
        );
        for line in a.stderr().lines().chain(a.stdout().lines()) {
            logs.push_str(&format!("[pod/synwave-agent-{i}] {line}\n"));
        }
        results.push(v);
    }
    let served = parse_json("synwave serve", &serve.interrupt_and_collect());
    let merge = {
        let f = scratch.write("logs.txt", logs.as_bytes());
        let mut cmd = std::process::Command::new("bash");
        cmd.args([
            "-c",
            &format!("\"$0\" merge - --json --late-after 1s < {}", f.display()),
            BIN,
        ]);
        run_to_end(
            "synwave merge -",
            cmd,
            &scratch,
            "merge",
            Duration::from_secs(30),
        )
    };
    assert!(
        merge.status.success(),
        "synwave merge: {}",
        merge.describe()
    );
    let m = parse_json("synwave merge", &merge.stdout);
    assert_eq!(m["merged"]["complete"], true, "{m}");
    assert_eq!(m["merged"]["late_segments"], serde_json::json!([]), "{m}");
    assert_eq!(
        m["segments"]["indices"],
        serde_json::json!([0, 1, 2]),
        "{m}"
    );
    assert_eq!(m["rate"]["target"], 600.0, "{m}");
    let sum = |k: &str| results.iter().map(|v| count(v, k)).sum::<u64>();
    assert_eq!(count(&m, "started"), sum("started"), "{m}");
    assert_eq!(
        count(&m, "started"),
        count(&m, "completed") + errors(&m),
        "merged counts do not reconcile: {m}"
    );
    assert_eq!(
        count(&m, "completed"),
        count(&served, "accepted"),
        "merged completed vs the server's accepted:\nmerged {m}\nserver {served}"
    );
    eprintln!(
        "merged: started {} completed {} errors {}; server accepted {}; starts {} s apart",
        count(&m, "started"),
        count(&m, "completed"),
        errors(&m),
        count(&served, "accepted"),
        m["merged"]["start_spread_s"]
    );
    drop(bed);
}

/// An agent held at the barrier that is told to stop (a pod deleted:
/// SIGTERM) ends as an interrupted run that started nothing, exit 143,
/// its XDP program gone; and `--start-at` starts a run at its time.
#[test]
fn an_agent_held_at_the_barrier_stops_cleanly_and_a_start_time_is_kept() {
    if !require_root_or_skip("an_agent_held_at_the_barrier_stops_cleanly_and_a_start_time_is_kept")
    {
        return;
    }
    let _serial = serial();
    let bed = Routed::up();
    let scratch = Scratch::new("many-machines-stop");
    let mut serve = start_serve(&bed, &scratch);
    let mut held = Proc::spawn("agent 0", agent_cmd(&bed, 0), &scratch, "held");
    held.wait_for_stderr("waiting for POST /start", PROC_TIMEOUT);
    std::thread::sleep(Duration::from_millis(300));
    held.signal(libc::SIGTERM);
    let st = held.wait_or_panic(PROC_TIMEOUT);
    assert_eq!(st.code(), Some(143), "{}", held.stderr());
    let v = parse_json("the stopped agent", &held.stdout());
    assert_eq!(v["interrupted"], true, "{v}");
    assert_eq!(count(&v, "started"), 0, "{v}");
    let link = run_cmd("ip", &["-n", &bed.agent(0), "-d", "link", "show", "sw0"]).unwrap();
    assert!(!link.contains("xdp"), "XDP left on sw0:\n{link}");
    // In a second and a half, by the wall clock, on another agent.
    let at_ns = unix_ns() + 1_500_000_000;
    let at = format!("{}.{:09}", at_ns / 1_000_000_000, at_ns % 1_000_000_000);
    let mut cmd = ns_cmd(&bed.agent(1), BIN);
    cmd.args([
        "load",
        "--iface",
        "sw0",
        "--target",
        &format!("{SERVER}:8080"),
        "--rate",
        "200",
    ])
    .args([
        "--duration",
        "1",
        "--start-at",
        &at,
        "--msl-ms",
        "200",
        "--json",
    ]);
    let f = run_to_end(
        "load --start-at",
        cmd,
        &scratch,
        "start-at",
        Duration::from_secs(60),
    );
    assert!(f.status.success(), "{}", f.describe());
    let v = parse_json("load --start-at", &f.stdout);
    let started = v["started_at_unix_ns"].as_u64().unwrap();
    assert!(
        started >= at_ns,
        "started {started}, before --start-at {at_ns}"
    );
    assert!(
        started < at_ns + 1_000_000_000,
        "started {started}, long after --start-at {at_ns}"
    );
    assert_eq!(
        count(&v, "started"),
        count(&v, "completed") + errors(&v),
        "{v}"
    );
    assert!(count(&v, "completed") > 0, "{v}");
    serve.interrupt_and_collect();
    drop(bed);
}
