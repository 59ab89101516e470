//! The kernel's socket states in a namespace, as `ss -tan` shows them.

use std::thread;
use std::time::{Duration, Instant};
use synwave::io::testbed::run_cmd;

/// `ss -tan` lines (state first) in `ns` with local or peer port `port`.
pub fn ss_lines(ns: &str, port: u16) -> Vec<String> {
    let out = run_cmd("ip", &["netns", "exec", ns, "ss", "-tan"]).unwrap_or_else(|e| panic!("{e}"));
    let suffix = format!(":{port}");
    out.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 5 && (f[3].ends_with(&suffix) || f[4].ends_with(&suffix))
        })
        .map(str::to_string)
        .collect()
}

pub fn state_of(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or("")
}

/// Waits (up to 3 s, for the last FIN/ACKs in flight) until every socket on
/// `port` in `ns` is in one of `allowed`; panics listing the others.
pub fn assert_ss_clean(ns: &str, port: u16, allowed: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let bad: Vec<String> = ss_lines(ns, port)
            .into_iter()
            .filter(|l| !allowed.contains(&state_of(l)))
            .collect();
        if bad.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "kernel sockets on port {port} in {ns} left in unexpected states \
                 (allowed: {allowed:?}); {} of them, first ones:\n{}",
                bad.len(),
                bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}

pub fn ss_count(ns: &str, port: u16, state: &str) -> usize {
    ss_lines(ns, port)
        .iter()
        .filter(|l| state_of(l) == state)
        .count()
}
