//! `synwave demo`: what it measures, in which order, and how it reads. The
//! yardstick is the strongest kernel tool for the job on the same testbed in
//! the same run — wrk as the client, against nginx as the server, on a
//! kernel tuned as an expert tunes it for connection rate — and synwave is
//! compared like for like: same server, same request, same close, same
//! concurrency, one source address each. The testbed (namespaces, nginx,
//! wrk) is a [`Bed`] that `io` provides, so the script itself does no I/O.

use super::load::{LoadClose, LoadOptions, ResponseEnd};
use super::plan;
use super::report::{self, Summary};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// The request both clients send, one per connection, as wrk sends it with
/// `-H 'Connection: close'`: the server answers and closes first.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 10.77.0.2\r\nConnection: close\r\n\r\n";

/// Handshakes per second of the latency steps: modest, so queueing does not
/// dominate.
const LATENCY_RATE: f64 = 1000.0;
const LATENCY_COUNT: u64 = 2000;

/// What wrk did in one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WrkRun {
    /// The command line, as a user would type it.
    pub command: String,
    /// Requests (one per connection) completed.
    pub requests: u64,
    /// Socket errors and non-2xx/3xx responses.
    pub errors: u64,
    pub elapsed: Duration,
}

impl WrkRun {
    /// Completed requests (connections) per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Reads wrk's report: `N requests in 10.00s, …`, `Socket errors:
    /// connect a, read b, write c, timeout d` and `Non-2xx or 3xx responses: e`.
    pub fn parse(command: String, out: &str) -> Option<WrkRun> {
        let mut run = WrkRun {
            command,
            ..WrkRun::default()
        };
        let mut seen = false;
        for line in out.lines().map(str::trim) {
            if let Some((n, rest)) = line.split_once(" requests in ") {
                run.requests = n.trim().parse().ok()?;
                let secs = rest.split(',').next()?.trim();
                run.elapsed = plan::parse_duration(secs).ok()?;
                seen = true;
            } else if let Some(rest) = line.strip_prefix("Socket errors:") {
                run.errors += rest
                    .split(',')
                    .filter_map(|kv| kv.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum::<u64>();
            } else if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
                run.errors += n.trim().parse::<u64>().ok()?;
            }
        }
        seen.then_some(run)
    }
}

/// Where the demo runs: a client side (synwave's interface, wrk and kernel
/// sockets) facing nginx at [`Bed::target`].
pub trait Bed {
    type Error;
    /// nginx's address.
    fn target(&self) -> SocketAddrV4;
    /// The client side's one source address.
    fn source(&self) -> Ipv4Addr;
    /// How both kernels and nginx are set up, one line each, to print.
    fn settings(&self) -> Vec<String>;
    /// Runs `load` from synwave on the client side, one worker.
    fn synwave(&mut self, load: LoadOptions) -> Result<Summary, Self::Error>;
    /// The kernel's connect() latency at `rate`, `count` handshakes.
    fn kernel_latency(&mut self, rate: f64, count: u64) -> Result<Histogram<u64>, Self::Error>;
    /// wrk with `threads` threads and `connections` connections for
    /// `duration`, one request per connection.
    fn wrk(
        &mut self,
        threads: u32,
        connections: u64,
        duration: Duration,
    ) -> Result<WrkRun, Self::Error>;
}

/// How big the demo is.
#[derive(Clone, Copy, Debug)]
pub struct DemoOptions {
    /// How long each client loads nginx.
    pub duration: Duration,
    /// Connections open at once, for both clients.
    pub concurrency: u64,
    /// wrk's threads.
    pub wrk_threads: u32,
}

/// What the demo measured.
pub struct DemoResults {
    opts: DemoOptions,
    settings: Vec<String>,
    latency: Summary,
    kernel_latency: Histogram<u64>,
    load: Summary,
    wrk: WrkRun,
}

/// Runs the demo's four steps on `bed`, telling `say` what each is.
pub fn run<B: Bed>(
    bed: &mut B,
    opts: DemoOptions,
    mut say: impl FnMut(&str),
) -> Result<DemoResults, B::Error> {
    let (target, source) = (bed.target(), bed.source());
    let base = plan::load_options(target, vec![source], (10_000, 30_000));
    // Latency first, while neither side has TIME-WAIT state from the load.
    say(&format!(
        "1/4 latency: {LATENCY_COUNT} handshakes at {LATENCY_RATE}/s from synwave to nginx at {target}"
    ));
    let latency = bed.synwave(LoadOptions {
        rate: Some(LATENCY_RATE),
        connections: Some(LATENCY_COUNT),
        ..base.clone()
    })?;
    say("2/4 latency: the same with the kernel's connect()");
    let kernel_latency = bed.kernel_latency(LATENCY_RATE, LATENCY_COUNT)?;
    let secs = opts.duration.as_secs_f64();
    say(&format!(
        "3/4 load: synwave, {} connections at once for {secs:.0} s, one request each",
        opts.concurrency
    ));
    // As wrk does: each response ends where HTTP frames it, a non-2xx/3xx
    // is an error, and the connection is closed after it.
    let load = bed.synwave(LoadOptions {
        concurrency: Some(opts.concurrency),
        duration: Some(opts.duration),
        request: Some(REQUEST.to_vec()),
        requests_per_connection: 1,
        response: ResponseEnd::Http { head: false },
        close: LoadClose::Fin,
        ..base
    })?;
    say(&format!(
        "4/4 load: wrk, the same from the kernel ({} threads)",
        opts.wrk_threads
    ));
    let wrk = bed.wrk(opts.wrk_threads, opts.concurrency, opts.duration)?;
    Ok(DemoResults {
        opts,
        settings: bed.settings(),
        latency,
        kernel_latency,
        load,
        wrk,
    })
}

impl DemoResults {
    /// synwave's completed connections per second over the load's duration.
    fn rate(&self) -> f64 {
        self.load.get("completed") as f64 / self.opts.duration.as_secs_f64().max(1e-9)
    }

    fn failed(&self) -> u64 {
        self.load.errors()
    }

    fn ratio(&self) -> f64 {
        self.rate() / self.wrk.rate().max(1e-9)
    }

    /// Done unless a signal cut the demo short or every synwave connection
    /// failed (wrk's own failures are its figure, not ours).
    pub fn verdict(&self, signal: Option<i32>) -> plan::Outcome {
        plan::judge(self.load.get("started"), self.failed(), None, signal)
    }

    /// The results as one JSON object.
    pub fn json(&self) -> Value {
        let (ours, wrk) = (&self.load, &self.wrk);
        json!({
            "format_version": report::FORMAT_VERSION,
            "server": "nginx",
            "settings": self.settings,
            "duration_s": self.opts.duration.as_secs_f64(),
            "concurrency": self.opts.concurrency,
            "synwave": {"completed": ours.get("completed"), "failed": self.failed(),
                        "conn_per_s": self.rate(), "retransmits": ours.engine.retransmits,
                        "lifecycle_us": ours.histograms.get("lifecycle").map(report::latency_json)},
            "wrk": {"command": wrk.command, "completed": wrk.requests, "failed": wrk.errors,
                    "elapsed_s": wrk.elapsed.as_secs_f64(), "conn_per_s": wrk.rate()},
            "ratio": self.ratio(),
            "handshake_latency_us": {"rate": LATENCY_RATE,
                                     "synwave": self.latency.histograms.get("connect").map(report::latency_json),
                                     "kernel": report::latency_json(&self.kernel_latency)},
        })
    }

    /// The results as the table people read.
    pub fn text(&self) -> String {
        use core::fmt::Write as _;
        let mut s = String::new();
        let w = &self.wrk;
        let _ = writeln!(
            s,
            "synwave demo: connections per second against nginx over veth, like for like"
        );
        let _ = writeln!(
            s,
            "  (same server, request, close and concurrency, one source address each, {:.0} s each)",
            self.opts.duration.as_secs_f64()
        );
        for line in &self.settings {
            let _ = writeln!(s, "  {line}");
        }
        let _ = writeln!(
            s,
            "  {:<34} {:>10} {:>8} {:>12}",
            "client", "completed", "failed", "conn/s"
        );
        let _ = writeln!(
            s,
            "  {:<34} {:>10} {:>8} {:>12.0}",
            format!("synwave load (1 worker, -c {})", self.opts.concurrency),
            self.load.get("completed"),
            self.failed(),
            self.rate()
        );
        let _ = writeln!(
            s,
            "  {:<34} {:>10} {:>8} {:>12.0}",
            format!(
                "wrk -t{} -c{}",
                self.opts.wrk_threads, self.opts.concurrency
            ),
            w.requests,
            w.errors,
            w.rate()
        );
        let _ = writeln!(
            s,
            "  synwave / wrk: {:.2}x (nginx, the server, bounds both on this machine)",
            self.ratio()
        );
        let _ = writeln!(s);
        s.push_str(&report::latency_text(
            &self.latency,
            self.latency.histograms.get("connect"),
            Some(&self.kernel_latency),
        ));
        let _ = writeln!(s);
        let _ = writeln!(s, "  testbed removed; no XDP program left attached");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_reports_are_read_with_their_errors() {
        let out = "Running 10s test @ http://10.77.0.2:80/\n  2 threads and 256 connections\n\
                   \x20 412345 requests in 10.00s, 60.12MB read\n\
                   \x20 Socket errors: connect 3, read 2, write 0, timeout 1\n\
                   \x20 Non-2xx or 3xx responses: 4\nRequests/sec:  41234.50\n";
        let r = WrkRun::parse("wrk".into(), out).unwrap();
        assert_eq!((r.requests, r.errors), (412_345, 10));
        assert_eq!(r.elapsed, Duration::from_secs(10));
        assert!((r.rate() - 41_234.5).abs() < 1.0);
        assert_eq!(WrkRun::parse("wrk".into(), "unable to connect"), None);
    }
}
