//! `synwave demo`: what it measures, in which order, and how it reads. The
//! testbed it runs on — two network namespaces, a kernel server in one,
//! synwave and the kernel clients in the other — is a [`Bed`] that `io`
//! provides, so the script itself stays free of I/O.

use super::kernel::KernelLoad;
use super::load::{LoadOptions, ResponseEnd};
use super::plan;
use super::report::{self, Summary};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The request both clients send: valid HTTP/1.1, so that any server answers.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: synwave-demo\r\n\r\n";
/// The response the demo's kernel server sends.
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

/// Handshakes per second of the latency steps: modest, so queueing does not
/// dominate.
const LATENCY_RATE: f64 = 1000.0;
const LATENCY_COUNT: u64 = 2000;

/// Where the demo runs: a client side (synwave's interface and kernel
/// sockets) facing a kernel server at [`Bed::target`].
pub trait Bed {
    type Error;
    /// The kernel server's address.
    fn target(&self) -> SocketAddrV4;
    /// synwave's source address.
    fn source(&self) -> Ipv4Addr;
    /// Runs `load` from synwave on the client side, one worker.
    fn synwave(&mut self, load: LoadOptions) -> Result<Summary, Self::Error>;
    /// The kernel's connect() latency at `rate`, `count` handshakes.
    fn kernel_latency(&mut self, rate: f64, count: u64) -> Result<Histogram<u64>, Self::Error>;
    /// `count` request/response/close cycles from `threads` kernel clients.
    fn kernel_load(&mut self, count: u64, threads: usize) -> Result<KernelLoad, Self::Error>;
}

/// How big the demo is.
#[derive(Clone, Copy, Debug)]
pub struct DemoOptions {
    /// Connections each side opens (request, response, close).
    pub connections: u64,
    /// Connections synwave keeps open at once.
    pub concurrency: u64,
    /// Kernel client threads.
    pub kernel_threads: usize,
}

/// What the demo measured.
pub struct DemoResults {
    opts: DemoOptions,
    latency: Summary,
    kernel_latency: Histogram<u64>,
    load: Summary,
    kernel_load: KernelLoad,
}

/// Runs the demo's four steps on `bed`, telling `say` what each is.
pub fn run<B: Bed>(
    bed: &mut B,
    opts: DemoOptions,
    mut say: impl FnMut(&str),
) -> Result<DemoResults, B::Error> {
    let (target, source) = (bed.target(), bed.source());
    let load = |rate: Option<f64>, concurrency: Option<u64>, count: u64, request: bool| {
        let mut o = plan::load_options(target, vec![source], (10_000, 59_999));
        o.rate = rate;
        o.concurrency = concurrency;
        o.connections = Some(count);
        o.request = request.then(|| REQUEST.to_vec());
        o.requests_per_connection = u32::from(request);
        o.response = ResponseEnd::Bytes(RESPONSE.len());
        o
    };
    // Latency first, while neither side has TIME-WAIT state from the load.
    say(&format!(
        "1/4 latency: {LATENCY_COUNT} handshakes at {LATENCY_RATE}/s from synwave to {target}"
    ));
    let latency = bed.synwave(load(Some(LATENCY_RATE), None, LATENCY_COUNT, false))?;
    say("2/4 latency: the same with the kernel's connect()");
    let kernel_latency = bed.kernel_latency(LATENCY_RATE, LATENCY_COUNT)?;
    say(&format!(
        "3/4 load: {} connections (request, response, close) from synwave",
        opts.connections
    ));
    let ours = bed.synwave(load(None, Some(opts.concurrency), opts.connections, true))?;
    say(&format!(
        "4/4 load: the same from kernel sockets ({} threads)",
        opts.kernel_threads
    ));
    let kernel_load = bed.kernel_load(opts.connections, opts.kernel_threads)?;
    Ok(DemoResults {
        opts,
        latency,
        kernel_latency,
        load: ours,
        kernel_load,
    })
}

impl DemoResults {
    fn rate(&self) -> f64 {
        self.load.get("completed") as f64 / self.load.elapsed.max(1e-9)
    }

    fn failed(&self) -> u64 {
        report::ERROR_CLASSES.iter().map(|k| self.load.get(k)).sum()
    }

    fn ratio(&self) -> f64 {
        self.rate() / self.kernel_load.rate().max(1e-9)
    }

    /// The results as one JSON object.
    pub fn json(&self) -> Value {
        let (ours, kernel) = (&self.load, &self.kernel_load);
        json!({
            "connections": self.opts.connections,
            "synwave": {"completed": ours.get("completed"), "failed": self.failed(), "elapsed_s": ours.elapsed,
                        "conn_per_s": self.rate(), "retransmits": ours.engine.retransmits,
                        "lifecycle_us": ours.histograms.get("lifecycle").map(report::latency_json)},
            "kernel": {"completed": kernel.completed, "failed": kernel.failed,
                       "elapsed_s": kernel.elapsed.as_secs_f64(), "conn_per_s": kernel.rate()},
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
        let k = &self.kernel_load;
        let _ = writeln!(
            s,
            "synwave demo: connect, request, response, close against a Linux kernel server over veth"
        );
        let _ = writeln!(
            s,
            "  {:<30} {:>10} {:>8} {:>12}",
            "client", "completed", "failed", "conn/s"
        );
        let _ = writeln!(
            s,
            "  {:<30} {:>10} {:>8} {:>12.0}",
            "synwave (AF_XDP, 1 worker)",
            self.load.get("completed"),
            self.failed(),
            self.rate()
        );
        let _ = writeln!(
            s,
            "  {:<30} {:>10} {:>8} {:>12.0}",
            format!("kernel sockets ({} threads)", self.opts.kernel_threads),
            k.completed,
            k.failed,
            k.rate()
        );
        let _ = writeln!(
            s,
            "  synwave / kernel: {:.2}x (both against the same kernel server, which bounds them;",
            self.ratio()
        );
        let _ = writeln!(
            s,
            "  kernel connect() also slows as its own TIME-WAIT sockets fill the ephemeral port range)"
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
