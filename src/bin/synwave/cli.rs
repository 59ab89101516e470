//! The `synwave` command line as clap declares it — every subcommand and
//! flag, with its help text — and what each group of flags means as the
//! options the library takes. Durations take units (`10s`, `500ms`) or bare
//! seconds.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;
use synwave::app::plan::{self, template, PlanError};
use synwave::app::plan::{
    parse_bytes, parse_duration, parse_fraction, parse_memory, parse_positive_duration,
    parse_stages,
};
use synwave::app::report::Summary;
use synwave::app::segment::{parse_start_at, Segment};
use synwave::app::{LoadClose, LoadOptions, ResponseEnd};
use synwave::io::runtime::{CaptureOptions, Interface, RuntimeOptions};
use synwave::io::{netns, XdpMode, XskMode};
use synwave::tcp::Config;
use synwave::Failure;

/// `--stages`, as one value (clap would read a `Vec` as repeated flags).
pub(crate) type Stages = Vec<(Duration, f64)>;

#[derive(Parser)]
#[command(
    name = "synwave",
    version = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("SYNWAVE_GIT_REV"), ")"),
    about = "Kernel-bypass TCP connection engine on AF_XDP"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Accept TCP connections on an interface, optionally answer, and close.
    Serve(ServeArgs),
    /// Open TCP connections to a target and close them.
    Connect(ConnectArgs),
    /// Generate connection load: a rate, a concurrency, or both; latency in HDR histograms.
    Load(Box<LoadArgs>),
    /// Handshake latency at a fixed, modest rate (optionally against the kernel's connect()).
    Latency(LatencyArgs),
    /// The yardstick: a Linux-kernel-socket server (threads, blocking sockets).
    KernelServe(KernelServeArgs),
    /// The yardstick: Linux-kernel-socket clients doing what `load --concurrency` does.
    KernelLoad(KernelLoadArgs),
    /// Build a veth testbed with nginx as the peer, load it with synwave and
    /// with wrk (like for like, on a tuned kernel), print both, clean up.
    Demo(DemoArgs),
    /// Merge the JSON results of `load --json` runs (segments of one test,
    /// on several machines) into one: counts summed, histograms added, the
    /// rate over the union of their time windows.
    Merge(MergeArgs),
    /// Release agents waiting at `load --wait-for-start`: polls each
    /// agent's control port (GET /ready) until all are ready, then POSTs
    /// /start to all at once; fails if one is not ready in time.
    Start(StartArgs),
    /// Print a shell completion script, e.g. `synwave completions bash > /etc/bash_completion.d/synwave`.
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), e.g. `synwave man | man -l -`.
    Man,
}

#[derive(Args)]
pub(crate) struct KernelServeArgs {
    #[arg(long)]
    pub(crate) listen: SocketAddrV4,
    /// Response bytes, inline (escapes as in `load --request`).
    #[arg(
        long,
        default_value = "HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"
    )]
    pub(crate) response: String,
    #[arg(long, default_value_t = 2)]
    pub(crate) threads: usize,
    /// Stop after this long (e.g. 60s).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
}

#[derive(Args)]
pub(crate) struct KernelLoadArgs {
    #[arg(long)]
    pub(crate) target: SocketAddrV4,
    #[arg(long, default_value_t = 10_000)]
    pub(crate) connections: u64,
    #[arg(long, default_value_t = 8)]
    pub(crate) threads: usize,
    /// Request bytes, inline (escapes as in `load --request`).
    #[arg(long, default_value = "GET / HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n")]
    pub(crate) request: String,
    /// Response bytes to read before closing (e.g. 40, 64KiB).
    #[arg(long, default_value = "40", value_parser = parse_bytes)]
    pub(crate) response_bytes: usize,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// Result files, directories (every file in them), or `-` for stdin:
    /// JSON objects, one per line, among other lines (`kubectl logs`),
    /// which are skipped and counted.
    #[arg(required = true, value_name = "FILES|DIR|-")]
    pub(crate) inputs: Vec<PathBuf>,
    /// Print the merged result as one JSON object (it merges again).
    #[arg(long)]
    pub(crate) json: bool,
    /// A segment that started more than this after the earliest is
    /// flagged as late (a warning, and `merged.late_segments`).
    #[arg(long, value_name = "T", default_value = "100ms", value_parser = parse_duration)]
    pub(crate) late_after: Duration,
}

#[derive(Args)]
pub(crate) struct StartArgs {
    /// The agents' control ports (their `load --metrics`), HOST:PORT,...
    #[arg(
        long,
        required = true,
        value_delimiter = ',',
        value_name = "HOST:PORT,..."
    )]
    pub(crate) agents: Vec<String>,
    /// Wait for this many agents: each HOST then stands for every address
    /// it resolves to (a headless Service's name, one per pod). Without
    /// it, each HOST:PORT is one agent.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
    /// Give up (exit 3, nobody started) if not every agent is ready by then.
    #[arg(long, default_value = "5m", value_parser = parse_positive_duration)]
    pub(crate) timeout: Duration,
    /// How often each agent's /ready is asked.
    #[arg(long, default_value = "500ms", value_parser = parse_positive_duration)]
    pub(crate) poll: Duration,
}

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// How long each client loads nginx.
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub(crate) duration: Duration,
    /// Connections open at once, for synwave and for wrk.
    #[arg(long, default_value_t = 256)]
    pub(crate) concurrency: u64,
    /// wrk's threads.
    #[arg(long, default_value_t = 2)]
    pub(crate) wrk_threads: u32,
    /// Print the results as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct Common {
    /// Interface to attach to (its XDP hook and AF_XDP sockets).
    #[arg(long)]
    pub(crate) iface: String,
    /// Worker threads, one per receive queue starting at queue 0 (default:
    /// one for each of the interface's receive queues).
    #[arg(long, short = 't')]
    pub(crate) workers: Option<u32>,
    /// Maximum segment lifetime in ms; TIME-WAIT lasts twice this (RFC 9293 §3.4.2).
    #[arg(long, default_value_t = 30_000)]
    pub(crate) msl_ms: u64,
    /// Enter this network namespace (from `ip netns`) first.
    #[arg(long)]
    pub(crate) netns: Option<String>,
    /// Connections (full TCBs) per worker at most.
    #[arg(long, default_value_t = 1 << 20)]
    pub(crate) max_tcbs: usize,
    /// Half-open passive connections per listener (per worker) before SYN cookies take over.
    #[arg(long, default_value_t = 4096)]
    pub(crate) syn_backlog: usize,
    /// Drop SYNs beyond the backlog instead of answering with SYN cookies.
    #[arg(long)]
    pub(crate) no_syn_cookies: bool,
    /// TIME-WAIT records per worker at most; beyond, the oldest is recycled.
    #[arg(long, default_value_t = 1 << 20)]
    pub(crate) max_time_wait: usize,
    /// Ignore RST in TIME-WAIT (RFC 1337 TIME-WAIT assassination protection).
    #[arg(long)]
    pub(crate) rfc1337: bool,
    /// Keep a tuple we closed first in TIME-WAIT the full 2MSL before a new
    /// connection may use it (default: reuse after 1 s when timestamps were
    /// in use, as Linux's tcp_tw_reuse).
    #[arg(long)]
    pub(crate) strict_time_wait: bool,
    /// UMEM frames per worker (2 KiB each; a power of two).
    #[arg(long, default_value_t = 4096)]
    pub(crate) umem_frames: u32,
    /// Memory one worker may use for its tables at their limits, its UMEM
    /// and (with several workers) its 1024 hand-off buffers, e.g. 1GiB,
    /// 512MB (a bare number is MiB).
    #[arg(long, default_value = "1GiB", value_parser = parse_memory)]
    pub(crate) memory_per_worker: usize,
    /// Spin when idle instead of sleeping in poll(2): the lowest latency,
    /// for a whole core per worker. Asks the kernel to busy-poll the queue
    /// (SO_PREFER_BUSY_POLL) where it allows.
    #[arg(long)]
    pub(crate) busy_poll: bool,
    /// How the AF_XDP sockets are bound: zero-copy (or fail: the driver
    /// must support it, veth does not), copy, or auto (zero-copy where the
    /// driver has it, else copy, with a notice).
    #[arg(long, value_enum, default_value_t = Bind::Auto)]
    pub(crate) bind: Bind,
    /// Where the XDP program attaches: native (in the driver, or fail),
    /// generic (the skb hook: any interface, slower, copy mode only), or
    /// auto (native where the driver has it, else generic, with a notice).
    #[arg(long, value_enum, default_value_t = XdpHook::Auto)]
    pub(crate) xdp_mode: XdpHook,
    /// Put each worker's UMEM in huge pages (reserve them first:
    /// `sysctl vm.nr_hugepages=N`; needs --umem-frames 1024 or more).
    #[arg(long)]
    pub(crate) huge_pages: bool,
    /// Print the counters as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Copy, Clone, ValueEnum)]
pub(crate) enum Bind {
    ZeroCopy,
    Copy,
    Auto,
}

#[derive(Copy, Clone, ValueEnum)]
pub(crate) enum XdpHook {
    Native,
    Generic,
    Auto,
}

#[derive(Args)]
pub(crate) struct Pcap {
    /// Write a sample capture to this file (pcap: `tcpdump -r FILE`,
    /// Wireshark): every frame, both ways, of the first --pcap-connections
    /// connections the run opens.
    #[arg(long, value_name = "FILE")]
    pub(crate) pcap: Option<PathBuf>,
    /// How many connections --pcap captures; 64 frames each at most, kept
    /// in memory until the run ends.
    #[arg(long, value_name = "N", default_value_t = 10, requires = "pcap")]
    pub(crate) pcap_connections: u64,
}

#[derive(Copy, Clone, ValueEnum)]
pub(crate) enum Close {
    /// Close right after responding (or accepting): the server holds TIME-WAIT.
    ServerFirst,
    /// Close when the client's FIN arrives: the client holds TIME-WAIT.
    WaitClient,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Address to accept on; 0.0.0.0 means the interface's address.
    #[arg(long)]
    pub(crate) listen: SocketAddrV4,
    /// Bytes to send after the first request bytes of each connection.
    #[arg(long)]
    pub(crate) response: Option<PathBuf>,
    /// Who closes first.
    #[arg(long, value_enum, default_value_t = Close::ServerFirst)]
    pub(crate) close: Close,
    /// Stop after this long, e.g. 30s (default: run until Ctrl-C).
    #[arg(long, value_parser = parse_positive_duration)]
    pub(crate) duration: Option<Duration>,
}

#[derive(Args)]
pub(crate) struct ConnectArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Address to connect to (on the interface's subnet).
    #[arg(long)]
    pub(crate) target: SocketAddrV4,
    /// Source address (default: the interface's address).
    #[arg(long)]
    pub(crate) src: Option<Ipv4Addr>,
    /// Source ports to use, LO-HI (below Linux's ephemeral range by default).
    #[arg(long, default_value = "10000-30000", value_parser = parse_ports)]
    pub(crate) ports: (u16, u16),
    /// Connections to open.
    #[arg(long, default_value_t = 1)]
    pub(crate) count: u64,
    /// Connections open at once at most.
    #[arg(long, default_value_t = 64)]
    pub(crate) concurrency: u64,
    /// Bytes to send once connected (otherwise close right after the handshake).
    #[arg(long)]
    pub(crate) request: Option<PathBuf>,
    /// After the last connection, wait until TIME-WAIT has drained too.
    #[arg(long)]
    pub(crate) drain: bool,
    /// Give up after this long.
    #[arg(long, default_value = "60s", value_parser = parse_positive_duration)]
    pub(crate) timeout: Duration,
    #[command(flatten)]
    pub(crate) pcap: Pcap,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
pub(crate) enum LoadCloseArg {
    /// We close first (FIN) and hold TIME-WAIT.
    Fin,
    /// We wait for the server's FIN, then close.
    Wait,
    /// We abort with RST.
    Rst,
}

#[derive(Args)]
pub(crate) struct Target {
    /// Address to load (on the interface's subnet).
    #[arg(long)]
    pub(crate) target: SocketAddrV4,
    /// Source address or range, e.g. 10.77.0.0/24 (default: the interface's
    /// address). Addresses the kernel does not own are answered for in XDP.
    #[arg(long)]
    pub(crate) src: Option<String>,
    /// Source ports per address, LO-HI (below Linux's ephemeral range by default).
    #[arg(long, default_value = "10000-30000", value_parser = parse_ports)]
    pub(crate) ports: (u16, u16),
    /// How long a handshake may take before it is aborted and counted as
    /// connect_timeout (default: the response timeout, 5 s).
    #[arg(long, value_parser = parse_positive_duration)]
    pub(crate) connect_timeout: Option<Duration>,
    /// How long connections still open after --duration get to finish; then
    /// they are aborted and counted as unfinished (default: the response timeout).
    #[arg(long, value_parser = parse_duration)]
    pub(crate) grace: Option<Duration>,
    /// Exit with status 3 when more than this fraction of the connections
    /// failed, e.g. 0.001 or 0.1% (default: only when every one failed).
    #[arg(long, value_parser = parse_fraction)]
    pub(crate) max_error_rate: Option<f64>,
}

#[derive(Args)]
pub(crate) struct LoadArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    #[command(flatten)]
    pub(crate) target: Target,
    /// New connections per second (open loop); latency counts from each
    /// intended start. With --find-max, the first step's rate (default 1000).
    #[arg(long, short = 'R')]
    pub(crate) rate: Option<f64>,
    /// How long the rate takes to ramp up linearly from zero.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub(crate) ramp_up: Duration,
    /// Rates in stages, DURATION:RATE,...: each ramps linearly from the rate
    /// before it (0 at first), e.g. 10s:1000,30s:50000,10s:0.
    #[arg(long, value_parser = parse_stages, conflicts_with_all = ["rate", "ramp_up", "duration", "find_max"])]
    pub(crate) stages: Option<Stages>,
    /// Search for the highest rate within --max-p99 and --max-error-rate
    /// (default 0): runs of --duration each at rising rates, doubling from
    /// --rate until one fails, then bisecting to within 5%.
    #[arg(long, conflicts_with = "connections")]
    pub(crate) find_max: bool,
    /// With --find-max: the p99 a step's response latency (the handshake's
    /// without a request) must stay within, e.g. 5ms.
    #[arg(long, value_parser = parse_duration, requires = "find_max")]
    pub(crate) max_p99: Option<Duration>,
    /// Connections open at once (closed loop alone, or a cap with --rate).
    #[arg(long, short = 'c')]
    pub(crate) concurrency: Option<u64>,
    /// How long to keep opening connections (after the warm-up), e.g. 30s;
    /// default 10s unless --connections.
    #[arg(long, short = 'd', value_parser = parse_positive_duration)]
    pub(crate) duration: Option<Duration>,
    /// Connections to open (after the warm-up).
    #[arg(long)]
    pub(crate) connections: Option<u64>,
    /// How long at the start whose connections are not counted.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub(crate) warm_up: Duration,
    /// Request to send, inline; \r \n \t are unescaped and {host} becomes the target.
    #[arg(long, conflicts_with = "request_file")]
    pub(crate) request: Option<String>,
    /// Request to send, from a file.
    #[arg(long)]
    pub(crate) request_file: Option<PathBuf>,
    /// Requests (and responses) per connection.
    #[arg(long, default_value_t = 1)]
    pub(crate) requests_per_connection: u32,
    /// A response is complete after this many bytes. Without this,
    /// --response-delimiter or --response-until-fin, the response to an
    /// HTTP/1.x request ends where HTTP frames it (Content-Length, chunked,
    /// or the server's FIN) and its status is counted; any other at its
    /// first bytes.
    #[arg(long, value_parser = parse_bytes, conflicts_with_all = ["response_delimiter", "response_until_fin"])]
    pub(crate) response_bytes: Option<usize>,
    /// A response is complete when this string arrives (escapes as in --request).
    #[arg(long, conflicts_with = "response_until_fin")]
    pub(crate) response_delimiter: Option<String>,
    /// A response is complete at the server's FIN.
    #[arg(long)]
    pub(crate) response_until_fin: bool,
    /// How connections end after their responses.
    #[arg(long, value_enum, default_value_t = LoadCloseArg::Fin)]
    pub(crate) close: LoadCloseArg,
    /// How long to wait for a response (or the server's FIN with --close wait).
    #[arg(long, default_value = "5s", value_parser = parse_positive_duration)]
    pub(crate) response_timeout: Duration,
    /// The control and metrics port, on this address (e.g. 0.0.0.0:9464):
    /// GET /metrics (Prometheus text), GET /ready, POST /start.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<std::net::SocketAddr>,
    /// After the run, keep --metrics up until a scrape has returned the
    /// final counts, or this long at most (0: exit at once); a scrape
    /// interval of this or less loses no run's last counts.
    #[arg(long, value_name = "T", default_value = "15s", value_parser = parse_duration, requires = "metrics")]
    pub(crate) metrics_linger: Duration,
    /// Prepare everything (attach, resolve the next hop, fill the maps),
    /// then wait for POST /start on the --metrics port before the first
    /// SYN (the barrier `synwave start` releases); GET /ready says 200 once
    /// prepared.
    #[arg(long, requires = "metrics", conflicts_with_all = ["start_at", "find_max"])]
    pub(crate) wait_for_start: bool,
    /// Prepare everything, then start at this wall-clock time: RFC 3339
    /// (2026-12-01T15:00:00Z) or Unix seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at, conflicts_with = "find_max")]
    pub(crate) start_at: Option<std::time::SystemTime>,
    /// After the last connection, wait until TIME-WAIT has drained too.
    #[arg(long)]
    pub(crate) drain: bool,
    #[command(flatten)]
    pub(crate) pcap: Pcap,
    /// Write a time series: one JSON line per interval of about this long
    /// (1s or more: the workers report once a second) with its starts,
    /// completions, errors by class, latency percentiles and histograms;
    /// the intervals add up to the summary. To stderr unless --interval-file.
    #[arg(long, value_parser = parse_interval, conflicts_with = "find_max")]
    pub(crate) interval: Option<Duration>,
    /// Where --interval writes its lines.
    #[arg(long, value_name = "FILE", requires = "interval")]
    pub(crate) interval_file: Option<PathBuf>,
    /// Write --interval's lines as CSV (a header line first) instead of
    /// JSON lines.
    #[arg(long, requires = "interval")]
    pub(crate) csv: bool,
    /// Also write each --interval's latency histograms to FILE as an
    /// HdrHistogram interval log (µs, a Tag per histogram), which
    /// HdrHistogram's log readers and HistogramLogProcessor read.
    #[arg(long, value_name = "FILE", requires = "interval")]
    pub(crate) hdr_log: Option<PathBuf>,
    /// Run the i-th of N equal shares of the test (counting from 0, e.g.
    /// 0/3, 1/3, 2/3 on three machines): rate, --connections and
    /// --concurrency split so that the shares add up to the whole, a --src
    /// range split by address; `synwave merge` adds the results up.
    #[arg(long, value_name = "i/N", value_parser = Segment::parse, conflicts_with = "find_max")]
    pub(crate) segment: Option<Segment>,
    /// Also print each latency's full distribution, 50% to 100% (wrk's
    /// --latency; the JSON always has every percentile).
    #[arg(long)]
    pub(crate) latency: bool,
}

#[derive(Args)]
pub(crate) struct LatencyArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    #[command(flatten)]
    pub(crate) target: Target,
    /// Handshakes per second: keep it modest so queueing does not dominate.
    #[arg(long, default_value_t = 1000.0)]
    pub(crate) rate: f64,
    /// Handshakes to measure.
    #[arg(long, default_value_t = 5000)]
    pub(crate) connections: u64,
    /// Also measure the kernel's connect() the same way, in the same run.
    #[arg(long)]
    pub(crate) compare_kernel: bool,
    #[command(flatten)]
    pub(crate) pcap: Pcap,
}

/// `--interval`: a duration of a second or more.
fn parse_interval(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d < Duration::from_secs(1) => {
            Err("1s at least: the workers report once a second".into())
        }
        d => Ok(d),
    }
}

fn parse_ports(s: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = s
        .split_once('-')
        .ok_or("expected LO-HI, e.g. 10000-30000")?;
    let lo: u16 = lo.trim().parse().map_err(|_| format!("bad port {lo:?}"))?;
    let hi: u16 = hi.trim().parse().map_err(|_| format!("bad port {hi:?}"))?;
    if lo == 0 || lo > hi {
        return Err("need 0 < LO <= HI".into());
    }
    Ok((lo, hi))
}

// What the flags mean, as the options the library takes.

pub(crate) fn read_file(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, PlanError> {
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| PlanError(format!("cannot read {}: {e}", p.display())))
    };
    path.as_ref().map(read).transpose()
}

impl Common {
    /// The runtime these flags describe, in their namespace.
    pub(crate) fn runtime(
        &self,
        duration: Option<Duration>,
        drain: bool,
    ) -> Result<RuntimeOptions, Failure> {
        if let Some(ns) = &self.netns {
            netns::enter(ns)?;
        }
        let time_wait_reuse = if self.strict_time_wait {
            None
        } else {
            Config::default().time_wait_reuse
        };
        let engine = Config {
            msl: Duration::from_millis(self.msl_ms),
            max_tcbs: self.max_tcbs,
            syn_backlog: self.syn_backlog,
            syn_cookies: !self.no_syn_cookies,
            max_time_wait: self.max_time_wait,
            rfc1337: self.rfc1337,
            time_wait_reuse,
            ..Config::default()
        };
        engine.validate().map_err(|e| PlanError(e.0))?;
        let workers = match self.workers {
            Some(w) => w,
            None => Interface::lookup(&self.iface)?.rx_queues,
        };
        let mut opts = RuntimeOptions::new(&self.iface, workers, engine, self.umem_frames);
        (opts.drain, opts.duration) = (drain, duration);
        opts.memory_per_worker = self.memory_per_worker;
        opts.busy_poll = self.busy_poll;
        opts.xsk.mode = match self.bind {
            Bind::ZeroCopy => XskMode::ZeroCopy,
            Bind::Copy => XskMode::Copy,
            Bind::Auto => XskMode::Auto,
        };
        opts.xdp_mode = match self.xdp_mode {
            XdpHook::Native => XdpMode::Native,
            XdpHook::Generic => XdpMode::Generic,
            XdpHook::Auto => XdpMode::Auto,
        };
        opts.xsk.huge_pages = self.huge_pages;
        opts.check_memory()?;
        opts.check_modes()?;
        opts.xsk.validate()?;
        Ok(opts)
    }
}

impl Pcap {
    /// The capture these flags ask for, if any.
    pub(crate) fn options(&self) -> Result<Option<CaptureOptions>, PlanError> {
        let Some(path) = &self.pcap else {
            return Ok(None);
        };
        Ok(Some(CaptureOptions {
            path: path.clone(),
            connections: plan::at_least_one(self.pcap_connections, "--pcap-connections")?,
        }))
    }

    /// Says what the capture file holds, once written.
    pub(crate) fn written(&self, sum: &Summary) {
        if let (Some(path), Some(w)) = (&self.pcap, sum.capture) {
            eprintln!(
                "synwave: wrote {} frame(s) of {} connection(s) to {}",
                w.frames,
                w.connections,
                path.display()
            );
        }
    }
}

/// The load `t` names with its defaults: from the interface's address
/// unless `--src`, connect timeout and grace `fallback` unless given.
pub(crate) fn target_load(
    t: &Target,
    opts: &RuntimeOptions,
    fallback: Duration,
) -> Result<LoadOptions, Failure> {
    plan::check_target(t.target)?;
    // With --src, the interface need not have an address.
    let own = match t.src {
        None => Interface::lookup(&opts.iface)?.address()?,
        Some(_) => Ipv4Addr::UNSPECIFIED,
    };
    let sources = plan::load_sources(t.src.as_deref(), own, t.target)?;
    plan::ports_per_worker(t.ports, opts.workers)?;
    Ok(LoadOptions {
        connect_timeout: Some(t.connect_timeout.unwrap_or(fallback)),
        grace: t.grace.unwrap_or(fallback),
        ..plan::load_options(t.target, sources, t.ports)
    })
}

/// The whole load `load`'s flags describe.
pub(crate) fn load_options(a: &LoadArgs, opts: &RuntimeOptions) -> Result<LoadOptions, Failure> {
    let base = target_load(&a.target, opts, a.response_timeout)?;
    let request = match (&a.request, &a.request_file) {
        (Some(t), _) => Some(template(t, a.target.target)),
        (None, file) => read_file(file)?,
    };
    let explicit = match (a.response_bytes, &a.response_delimiter) {
        (Some(n), _) => Some(ResponseEnd::Bytes(n)),
        (None, Some(d)) => Some(ResponseEnd::Delimiter(template(d, a.target.target))),
        (None, None) if a.response_until_fin => Some(ResponseEnd::PeerFin),
        (None, None) => None,
    };
    let (rate, duration, stages) = match &a.stages {
        Some(st) => {
            let total = st.iter().map(|s| s.0).sum();
            (
                Some(st.iter().map(|s| s.1).fold(0.0, f64::max)),
                Some(total),
                st.clone(),
            )
        }
        None if a.duration.is_none() && a.connections.is_none() => {
            (a.rate, Some(Duration::from_secs(10)), Vec::new())
        }
        None => (a.rate, a.duration, Vec::new()),
    };
    Ok(LoadOptions {
        rate,
        ramp_up: a.ramp_up,
        stages,
        concurrency: a.concurrency,
        connections: a.connections,
        duration,
        warm_up: a.warm_up,
        response: plan::response_end(explicit, request.as_deref()),
        request,
        requests_per_connection: a.requests_per_connection,
        close: match a.close {
            LoadCloseArg::Fin => LoadClose::Fin,
            LoadCloseArg::Wait => LoadClose::Wait,
            LoadCloseArg::Rst => LoadClose::Rst,
        },
        response_timeout: Some(a.response_timeout),
        ..base
    })
}
