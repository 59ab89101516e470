//! The `synwave` command: a thin shell that parses arguments, brings the
//! data path up around an application, and prints what happened.

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use synwave::app::kernel::{kernel_connect_latency, kernel_load, KernelServer};
use synwave::app::metrics::MetricsServer;
use synwave::app::plan::{
    self, judge, list, port_slice, ports_per_worker, share, template, Outcome,
};
use synwave::app::report;
use synwave::app::report::{Summary, WorkerReport};
use synwave::app::{
    CloseMode, ConnectApp, ConnectOptions, LoadApp, LoadClose, LoadOptions, ResponseEnd, ServerApp,
};
use synwave::io::runtime::{Runtime, RuntimeOptions};
use synwave::io::testbed::{Testbed, IFACE_A, IP_B};
use synwave::io::{netdev, netns, signal, Error, XskConfig};
use synwave::tcp::Config;

#[derive(Parser)]
#[command(
    name = "synwave",
    version,
    about = "Kernel-bypass TCP connection engine on AF_XDP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Build a veth testbed with a Linux kernel server as the peer, load it
    /// with synwave and with kernel sockets, print both, clean up.
    Demo(DemoArgs),
}

#[derive(Args)]
struct KernelServeArgs {
    #[arg(long)]
    listen: SocketAddrV4,
    /// Response bytes, inline (escapes as in `load --request`).
    #[arg(
        long,
        default_value = "HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"
    )]
    response: String,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
}

#[derive(Args)]
struct KernelLoadArgs {
    #[arg(long)]
    target: SocketAddrV4,
    #[arg(long, default_value_t = 10_000)]
    connections: u64,
    #[arg(long, default_value_t = 8)]
    threads: usize,
    /// Request bytes, inline (escapes as in `load --request`).
    #[arg(long, default_value = "GET / HTTP/1.1\\r\\n\\r\\n")]
    request: String,
    /// Response bytes to read before closing.
    #[arg(long, default_value_t = 40)]
    response_bytes: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DemoArgs {
    /// Connections each side opens (request, response, close).
    #[arg(long, default_value_t = 20_000)]
    connections: u64,
    /// Connections synwave keeps open at once.
    #[arg(long, default_value_t = 128)]
    concurrency: u64,
    /// Kernel client threads (blocking sockets, one connection at a time each).
    #[arg(long, default_value_t = 8)]
    kernel_threads: usize,
    /// Print the results as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct Common {
    /// Interface to attach to (its XDP hook and AF_XDP sockets).
    #[arg(long)]
    iface: String,
    /// Worker threads, one per receive queue.
    #[arg(long, default_value_t = 1)]
    workers: u32,
    /// Maximum segment lifetime in ms; TIME-WAIT lasts twice this (RFC 9293 §3.4.2).
    #[arg(long, default_value_t = 30_000)]
    msl_ms: u64,
    /// Enter this network namespace (from `ip netns`) first.
    #[arg(long)]
    netns: Option<String>,
    /// Connections (full TCBs) per worker at most.
    #[arg(long, default_value_t = 1 << 20)]
    max_tcbs: usize,
    /// Half-open passive connections per listener (per worker) before SYN cookies take over.
    #[arg(long, default_value_t = 4096)]
    syn_backlog: usize,
    /// Drop SYNs beyond the backlog instead of answering with SYN cookies.
    #[arg(long)]
    no_syn_cookies: bool,
    /// TIME-WAIT records per worker at most; beyond, the oldest is recycled.
    #[arg(long, default_value_t = 1 << 20)]
    max_time_wait: usize,
    /// Ignore RST in TIME-WAIT (RFC 1337 TIME-WAIT assassination protection).
    #[arg(long)]
    rfc1337: bool,
    /// Keep a tuple we closed first in TIME-WAIT the full 2MSL before a new
    /// connection may use it (default: reuse after 1 s when timestamps were
    /// in use, as Linux's tcp_tw_reuse).
    #[arg(long)]
    strict_time_wait: bool,
    /// UMEM frames per worker (2 KiB each; a power of two).
    #[arg(long, default_value_t = 4096)]
    umem_frames: u32,
    /// Memory one worker may use for its tables at their limits and its UMEM, in MB.
    #[arg(long, default_value_t = 1024)]
    memory_per_worker: usize,
    /// Print the counters as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Copy, Clone, ValueEnum)]
enum Close {
    /// Close right after responding (or accepting): the server holds TIME-WAIT.
    ServerFirst,
    /// Close when the client's FIN arrives: the client holds TIME-WAIT.
    WaitClient,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// Address to accept on; 0.0.0.0 means the interface's address.
    #[arg(long)]
    listen: SocketAddrV4,
    /// Bytes to send after the first request bytes of each connection.
    #[arg(long)]
    response: Option<PathBuf>,
    /// Who closes first.
    #[arg(long, value_enum, default_value_t = Close::ServerFirst)]
    close: Close,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
}

#[derive(Args)]
struct ConnectArgs {
    #[command(flatten)]
    common: Common,
    /// Address to connect to (on the interface's subnet).
    #[arg(long)]
    target: SocketAddrV4,
    /// Source address (default: the interface's address).
    #[arg(long)]
    src: Option<Ipv4Addr>,
    /// Source ports to use, LO-HI (below Linux's ephemeral range by default).
    #[arg(long, default_value = "10000-30000", value_parser = parse_ports)]
    ports: (u16, u16),
    /// Connections to open.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Connections open at once at most.
    #[arg(long, default_value_t = 64)]
    concurrency: u64,
    /// Bytes to send once connected (otherwise close right after the handshake).
    #[arg(long)]
    request: Option<PathBuf>,
    /// After the last connection, wait until TIME-WAIT has drained too.
    #[arg(long)]
    drain: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum LoadCloseArg {
    /// We close first (FIN) and hold TIME-WAIT.
    Fin,
    /// We wait for the server's FIN, then close.
    Wait,
    /// We abort with RST.
    Rst,
}

#[derive(Args)]
struct Target {
    /// Address to load (on the interface's subnet).
    #[arg(long)]
    target: SocketAddrV4,
    /// Source address or range, e.g. 10.77.0.0/24 (default: the interface's
    /// address). Addresses the kernel does not own are answered for in XDP.
    #[arg(long)]
    src: Option<String>,
    /// Source ports per address, LO-HI (below Linux's ephemeral range by default).
    #[arg(long, default_value = "10000-30000", value_parser = parse_ports)]
    ports: (u16, u16),
    /// Seconds a handshake may take before it is aborted and counted as
    /// connect_timeout (default: the response timeout, 5 s).
    #[arg(long)]
    connect_timeout: Option<f64>,
    /// Seconds connections still open after --duration get to finish; then
    /// they are aborted and counted as unfinished (default: the response timeout).
    #[arg(long)]
    grace: Option<f64>,
    /// Exit with status 3 when more than this fraction of the connections
    /// failed (default: only when every one failed).
    #[arg(long)]
    max_error_rate: Option<f64>,
}

#[derive(Args)]
struct LoadArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    target: Target,
    /// New connections per second (open loop); latency counts from each intended start.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds over which the rate ramps up linearly from zero.
    #[arg(long, default_value_t = 0.0)]
    ramp_up: f64,
    /// Connections open at once (closed loop alone, or a cap with --rate).
    #[arg(long)]
    concurrency: Option<u64>,
    /// Seconds to keep opening connections (after the warm-up); default 10 unless --connections.
    #[arg(long)]
    duration: Option<f64>,
    /// Connections to open (after the warm-up).
    #[arg(long)]
    connections: Option<u64>,
    /// Seconds at the start whose connections are not counted.
    #[arg(long, default_value_t = 0.0)]
    warm_up: f64,
    /// Request to send, inline; \r \n \t are unescaped and {host} becomes the target.
    #[arg(long, conflicts_with = "request_file")]
    request: Option<String>,
    /// Request to send, from a file.
    #[arg(long)]
    request_file: Option<PathBuf>,
    /// Requests (and responses) per connection.
    #[arg(long, default_value_t = 1)]
    requests_per_connection: u32,
    /// A response is complete after this many bytes.
    #[arg(long, conflicts_with_all = ["response_delimiter", "response_until_fin"])]
    response_bytes: Option<usize>,
    /// A response is complete when this string arrives (escapes as in --request).
    #[arg(long, conflicts_with = "response_until_fin")]
    response_delimiter: Option<String>,
    /// A response is complete at the server's FIN.
    #[arg(long)]
    response_until_fin: bool,
    /// How connections end after their responses.
    #[arg(long, value_enum, default_value_t = LoadCloseArg::Fin)]
    close: LoadCloseArg,
    /// Seconds to wait for a response (or the server's FIN with --close wait).
    #[arg(long, default_value_t = 5.0)]
    response_timeout: f64,
    /// Serve Prometheus metrics on this address while running (e.g. 127.0.0.1:9464).
    #[arg(long)]
    metrics: Option<std::net::SocketAddr>,
    /// After the last connection, wait until TIME-WAIT has drained too.
    #[arg(long)]
    drain: bool,
}

#[derive(Args)]
struct LatencyArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    target: Target,
    /// Handshakes per second: keep it modest so queueing does not dominate.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Handshakes to measure.
    #[arg(long, default_value_t = 5000)]
    connections: u64,
    /// Also measure the kernel's connect() the same way, in the same run.
    #[arg(long)]
    compare_kernel: bool,
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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!(
                "synwave: error: {} (see --help)",
                one_line(&e.render().to_string())
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve(a) => serve(a).map(|()| Outcome::Done),
        Command::Connect(a) => connect(a),
        Command::Load(a) => load(*a),
        Command::Latency(a) => latency(a),
        Command::KernelServe(a) => kernel_serve(a).map(|()| Outcome::Done),
        Command::KernelLoad(a) => {
            let r = kernel_load(
                a.target,
                &template(&a.request, a.target),
                a.response_bytes,
                a.connections,
                a.threads,
            );
            if a.json {
                println!(
                    "{}",
                    json!({"command": "kernel-load", "completed": r.completed, "failed": r.failed,
                           "elapsed_s": r.elapsed.as_secs_f64(), "conn_per_s": r.rate()})
                );
            } else {
                println!(
                    "kernel-load: {} completed, {} failed, {:.0} conn/s",
                    r.completed,
                    r.failed,
                    r.rate()
                );
            }
            Ok(judge(
                r.completed + r.failed,
                r.failed,
                None,
                signal::received(),
            ))
        }
        Command::Demo(a) => demo(a).map(|()| Outcome::Done),
    };
    // 3: the run went through but did not do what was asked.
    const EXIT_FAILED: u8 = 3;
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Failed(why)) => {
            eprintln!("synwave: failed: {why}");
            ExitCode::from(EXIT_FAILED)
        }
        Ok(Outcome::Interrupted(sig)) => {
            eprintln!("synwave: interrupted by signal {sig}; the results above are partial");
            ExitCode::from((128 + sig).clamp(0, 255) as u8)
        }
        Err(e) => {
            eprintln!("synwave: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Says so when the driver has no native XDP: it works, but slowly.
fn warn_if_generic(rt: &Runtime, iface: &str) {
    if rt.attach_mode() == synwave::io::AttachMode::Generic {
        eprintln!("synwave: warning: {iface} has no native XDP; running in generic (skb) mode, far slower");
    }
}

/// The parser's message without its usage block, on one line.
fn one_line(rendered: &str) -> String {
    let msg = rendered.split("\n\n").next().unwrap_or(rendered);
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn read_file(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, Error> {
    path.as_ref()
        .map(|p| {
            std::fs::read(p).map_err(|e| Error::Config(format!("cannot read {}: {e}", p.display())))
        })
        .transpose()
}

fn seconds(s: f64, what: &str) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| Error::Config(format!("{what} must be a positive number of seconds")))
}

/// Like [`seconds`], but zero is refused too: a run of no time does nothing.
fn positive_seconds(s: f64, what: &str) -> Result<Duration, Error> {
    match seconds(s, what)? {
        d if d.is_zero() => Err(Error::Config(format!("{what} must be more than 0 seconds"))),
        d => Ok(d),
    }
}

/// Everything common to both commands, checked before anything is attached.
fn prepare(c: &Common, duration: Option<Duration>, drain: bool) -> Result<RuntimeOptions, Error> {
    if let Some(ns) = &c.netns {
        netns::enter(ns)?;
    }
    let engine = Config {
        msl: Duration::from_millis(c.msl_ms),
        max_tcbs: c.max_tcbs,
        syn_backlog: c.syn_backlog,
        syn_cookies: !c.no_syn_cookies,
        max_time_wait: c.max_time_wait,
        rfc1337: c.rfc1337,
        time_wait_reuse: if c.strict_time_wait {
            None
        } else {
            Config::default().time_wait_reuse
        },
        ..Config::default()
    };
    engine.validate().map_err(|e| Error::Config(e.0))?;
    let opts = RuntimeOptions {
        iface: c.iface.clone(),
        workers: c.workers,
        engine,
        xsk: XskConfig {
            frame_count: c.umem_frames,
            // The rings must be able to hold half the frames each.
            ring_size: (c.umem_frames / 2).max(XskConfig::default().ring_size),
            ..XskConfig::default()
        },
        drain,
        duration,
        memory_per_worker: c.memory_per_worker.saturating_mul(1 << 20),
    };
    opts.check_memory()?;
    opts.xsk.validate()?;
    Ok(opts)
}

fn serve(a: ServeArgs) -> Result<(), Error> {
    let stop = signal::install_stop_flag()?;
    let duration = a
        .duration
        .map(|d| positive_seconds(d, "--duration"))
        .transpose()?;
    let opts = prepare(&a.common, duration, false)?;
    let response = read_file(&a.response)?;
    let mut listen = a.listen;
    if listen.port() == 0 {
        return Err(Error::Config(format!(
            "--listen {listen}: give a nonzero port"
        )));
    }
    let own = netdev::ipv4_addrs(&opts.iface)?;
    if listen.ip().is_unspecified() {
        listen.set_ip(
            *own.first()
                .ok_or_else(|| Error::NoIpv4(opts.iface.clone()))?,
        );
    } else if !own.contains(listen.ip()) {
        return Err(Error::Config(format!(
            "--listen {listen}: {} is not an address of {} (it has {}); no peer could reach it",
            listen.ip(),
            opts.iface,
            list(&own)
        )));
    }
    let close = match a.close {
        Close::ServerFirst => CloseMode::ServerFirst,
        Close::WaitClient => CloseMode::WaitClient,
    };
    let rt = Runtime::start(
        &opts,
        |xdp| xdp.add_listener(*listen.ip(), listen.port()),
        |_, engine| {
            engine
                .listen(listen)
                .map_err(|e| Error::Config(e.to_string()))?;
            Ok(ServerApp::new(response.clone(), close))
        },
        stop,
    )?;
    warn_if_generic(&rt, &opts.iface);
    eprintln!(
        "synwave: serving {listen} on {} with {} worker(s); Ctrl-C to stop",
        opts.iface, opts.workers
    );
    let sum = rt.wait()?;
    print_summary(
        "serve",
        &sum,
        a.common.json,
        &[
            "accepted",
            "requests",
            "responses",
            "closed",
            "reset",
            "timed_out",
        ],
    );
    Ok(())
}

fn connect(a: ConnectArgs) -> Result<Outcome, Error> {
    let stop = signal::install_stop_flag()?;
    let timeout = positive_seconds(a.timeout, "--timeout")?;
    plan::check_target(a.target)?;
    let opts = prepare(&a.common, Some(timeout), a.drain)?;
    let request = read_file(&a.request)?;
    let src = match a.src {
        Some(ip) => ip,
        None => netdev::ipv4_addr(&opts.iface)?,
    };
    if a.concurrency == 0 {
        return Err(Error::Config("--concurrency must be at least 1".into()));
    }
    let next_hop =
        netdev::resolve_neighbour(netdev::next_hop(*a.target.ip(), &opts.iface)?, &opts.iface)?;
    // Each worker gets its own slice of the port range and of the count.
    let (lo, hi) = a.ports;
    let workers = u32::max(opts.workers, 1);
    let span = ports_per_worker(a.ports, workers)?;
    let first_port = synwave::io::keys::random_u32()?;
    let rt = Runtime::start(
        &opts,
        |xdp| xdp.set_client_ports(src, lo, hi),
        |queue, _| {
            Ok(ConnectApp::new(ConnectOptions {
                src,
                ports: port_slice(a.ports, span, queue),
                target: a.target,
                next_hop,
                count: share(a.count, workers, queue),
                concurrency: a.concurrency.div_ceil(u64::from(workers)),
                request: request.clone(),
                first_port,
            }))
        },
        stop,
    )?;
    warn_if_generic(&rt, &opts.iface);
    let sum = rt.wait()?;
    print_summary(
        "connect",
        &sum,
        a.common.json,
        &[
            "opened",
            "connected",
            "refused",
            "reset",
            "timed_out",
            "closed",
            "bytes_received",
        ],
    );
    let failed = ["refused", "reset", "timed_out"]
        .iter()
        .map(|k| sum.get(k))
        .sum();
    Ok(judge(sum.get("opened"), failed, None, signal::received()))
}

/// `serve`'s and `connect`'s summary: `keys` of the application counters
/// in the text, everything in the JSON.
fn print_summary(command: &str, sum: &Summary, as_json: bool, keys: &[&str]) {
    if as_json {
        println!("{}", report::flat_json(command, sum));
    } else {
        print!("{}", report::summary_text(command, sum, keys));
    }
}

/// Waits for the workers while printing a progress line each second (on a
/// terminal) and feeding the metrics endpoint; returns the final summary.
fn run_with_progress(rt: Runtime, metrics: Option<&MetricsServer>) -> Result<Summary, Error> {
    let tty = std::io::stderr().is_terminal();
    let mut latest: std::collections::BTreeMap<u32, WorkerReport> = Default::default();
    let mut last_started = 0u64;
    let mut last_no_tuple = 0u64;
    let mut last_tick = std::time::Instant::now();
    while !rt.finished() {
        if let Ok(r) = rt.reports().recv_timeout(Duration::from_millis(100)) {
            latest.insert(r.queue, r);
        }
        if last_tick.elapsed() >= Duration::from_secs(1) && !latest.is_empty() {
            let mut sum = Summary::default();
            for r in latest.values() {
                sum.add(r);
            }
            let elapsed = last_tick.elapsed().as_secs_f64();
            last_tick = std::time::Instant::now();
            let started = sum.get("started");
            let rate = started.saturating_sub(last_started) as f64 / elapsed;
            last_started = started;
            sum.elapsed = rt.elapsed();
            let no_tuple = sum.get("no_free_tuple");
            let short = no_tuple > last_no_tuple;
            last_no_tuple = no_tuple;
            if tty {
                eprint!("\r{}", report::progress_line(&sum, rate, short));
            }
            if let Some(m) = metrics {
                m.set(report::prometheus(&sum));
            }
        }
    }
    if tty {
        eprintln!();
    }
    let sum = rt.wait()?;
    if let Some(m) = metrics {
        m.set(report::prometheus(&sum));
    }
    Ok(sum)
}

/// Everything a load or latency run needs, checked before anything is attached.
struct LoadPlan {
    opts: RuntimeOptions,
    addresses: Vec<Ipv4Addr>,
    ports: (u16, u16),
    target: SocketAddrV4,
}

fn plan_load(c: &Common, t: &Target) -> Result<LoadPlan, Error> {
    plan::check_target(t.target)?;
    let opts = prepare(c, None, false)?;
    // The interface's address is the default source; with --src it need not have one.
    let own = match t.src {
        None => netdev::ipv4_addr(&opts.iface)?,
        Some(_) => Ipv4Addr::UNSPECIFIED,
    };
    let addresses = plan::load_sources(t.src.as_deref(), own, t.target)?;
    ports_per_worker(t.ports, opts.workers)?;
    Ok(LoadPlan {
        opts,
        addresses,
        ports: t.ports,
        target: t.target,
    })
}

/// Refuses a run the tuple space cannot carry and bounds the workers'
/// lifetime behind the load's own end.
fn check_load(plan: &mut LoadPlan, whole: &LoadOptions) -> Result<(), Error> {
    plan::check_tuples(whole, &plan.opts.engine)?;
    plan.opts.duration = plan::safety_deadline(whole);
    Ok(())
}

/// The defaults of a load from this plan's target and sources.
fn load_options(p: &LoadPlan) -> LoadOptions {
    plan::load_options(p.target, p.addresses.clone(), p.ports)
}

/// Starts a runtime whose workers split `whole` between them: each gets a
/// slice of the port range and its share of rate, concurrency and count.
fn start_load(
    plan: &LoadPlan,
    stop: &'static std::sync::atomic::AtomicBool,
    whole: LoadOptions,
) -> Result<Runtime, Error> {
    let iface = plan.opts.iface.clone();
    let own = netdev::ipv4_addrs(&iface)?;
    let mac = netdev::mac_addr(&iface)?;
    let extra: Vec<Ipv4Addr> = whole
        .addresses
        .iter()
        .copied()
        .filter(|a| !own.contains(a))
        .collect();
    let taken = netdev::probe_addresses(&iface, mac, &extra)?;
    if !taken.is_empty() {
        return Err(Error::Config(format!(
            "--src: {} in use by another host on {iface} (answered an RFC 5227 probe); leave it out of --src",
            list(&taken)
        )));
    }
    if extra.len() > plan::LINUX_NEIGHBOURS {
        eprintln!(
            "synwave: warning: {} source addresses exceed the {LINUX_NEIGHBOURS} neighbours a Linux peer keeps by default \
             (net.ipv4.neigh.default.gc_thresh3); raise it on the peer, or its ARP entries for some of them are evicted",
            extra.len(),
            LINUX_NEIGHBOURS = plan::LINUX_NEIGHBOURS
        );
    }
    let next_hop = netdev::resolve_neighbour(netdev::next_hop(*plan.target.ip(), &iface)?, &iface)?;
    let workers = plan.opts.workers.max(1);
    let span = ports_per_worker(plan.ports, workers)?;
    let (lo, hi) = plan.ports;
    // Runs need not begin on the same tuples each time.
    let first_port = synwave::io::keys::random_u32()?;
    let rt = Runtime::start(
        &plan.opts,
        |xdp| {
            for &a in &whole.addresses {
                xdp.set_client_ports(a, lo, hi)?;
                if !own.contains(&a) {
                    xdp.answer_arp(a, mac)?;
                }
            }
            Ok(())
        },
        |queue, _| {
            Ok(LoadApp::new(LoadOptions {
                next_hop,
                ports: port_slice(plan.ports, span, queue),
                rate: whole.rate.map(|r| r / f64::from(workers)),
                concurrency: whole.concurrency.map(|c| c.div_ceil(u64::from(workers))),
                connections: whole.connections.map(|n| share(n, workers, queue)),
                first_port,
                ..whole.clone()
            }))
        },
        stop,
    )?;
    warn_if_generic(&rt, &iface);
    Ok(rt)
}

/// The per-connection timeouts and grace period of `load` and `latency`:
/// each defaults to `fallback` (the response timeout).
fn timeouts(t: &Target, fallback: Duration) -> Result<(Duration, Duration), Error> {
    let connect = t
        .connect_timeout
        .map(|s| positive_seconds(s, "--connect-timeout"))
        .transpose()?
        .unwrap_or(fallback);
    let grace = t
        .grace
        .map(|s| seconds(s, "--grace"))
        .transpose()?
        .unwrap_or(fallback);
    if let Some(r) = t.max_error_rate {
        if !(0.0..=1.0).contains(&r) {
            return Err(Error::Config(
                "--max-error-rate must be a fraction within 0..=1".into(),
            ));
        }
    }
    Ok((connect, grace))
}

/// Failed connections of a load run: every error class.
fn load_errors(sum: &Summary) -> u64 {
    report::ERROR_CLASSES.iter().map(|k| sum.get(k)).sum()
}

fn load(a: LoadArgs) -> Result<Outcome, Error> {
    let stop = signal::install_stop_flag()?;
    if a.rate.is_none() && a.concurrency.is_none() {
        return Err(Error::Config("give --rate, --concurrency, or both".into()));
    }
    if a.concurrency == Some(0) {
        return Err(Error::Config("--concurrency must be at least 1".into()));
    }
    if a.connections == Some(0) {
        return Err(Error::Config("--connections must be at least 1".into()));
    }
    let duration = match (a.duration, a.connections) {
        (Some(d), _) => Some(positive_seconds(d, "--duration")?),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs(10)),
    };
    let warm_up = seconds(a.warm_up, "--warm-up")?;
    let ramp_up = seconds(a.ramp_up, "--ramp-up")?;
    let response_timeout = positive_seconds(a.response_timeout, "--response-timeout")?;
    let (connect_timeout, grace) = timeouts(&a.target, response_timeout)?;
    let mut plan = plan_load(&a.common, &a.target)?;
    plan.opts.drain = a.drain;
    let request = match (&a.request, &a.request_file) {
        (Some(t), _) => Some(template(t, plan.target)),
        (None, Some(_)) => read_file(&a.request_file)?,
        (None, None) => None,
    };
    let response = if let Some(n) = a.response_bytes {
        ResponseEnd::Bytes(n)
    } else if let Some(d) = &a.response_delimiter {
        ResponseEnd::Delimiter(template(d, plan.target))
    } else if a.response_until_fin {
        ResponseEnd::PeerFin
    } else {
        ResponseEnd::FirstBytes
    };
    let close = match a.close {
        LoadCloseArg::Fin => LoadClose::Fin,
        LoadCloseArg::Wait => LoadClose::Wait,
        LoadCloseArg::Rst => LoadClose::Rst,
    };
    let whole = LoadOptions {
        rate: a.rate,
        ramp_up,
        concurrency: a.concurrency,
        connections: a.connections,
        duration,
        warm_up,
        request,
        requests_per_connection: a.requests_per_connection,
        response,
        close,
        response_timeout: Some(response_timeout),
        connect_timeout: Some(connect_timeout),
        grace,
        ..load_options(&plan)
    };
    check_load(&mut plan, &whole)?;
    let metrics = a
        .metrics
        .map(|addr| {
            MetricsServer::start(addr).map_err(|err| Error::Os {
                op: format!("--metrics {addr}"),
                err,
            })
        })
        .transpose()?;
    let rt = start_load(&plan, stop, whole)?;
    if let Some(m) = &metrics {
        eprintln!("synwave: metrics on http://{}/metrics", m.addr());
    }
    let sum = run_with_progress(rt, metrics.as_ref())?;
    let measured = (sum.elapsed - warm_up.as_secs_f64()).max(1e-9);
    let measured = duration.map_or(measured, |d| d.as_secs_f64().min(measured));
    if a.common.json {
        println!("{}", report::load_json(&sum, measured, a.rate));
    } else {
        print!("{}", report::load_table(&sum, measured, a.rate));
    }
    Ok(judge(
        sum.get("started"),
        load_errors(&sum),
        a.target.max_error_rate,
        signal::received(),
    ))
}

fn kernel_serve(a: KernelServeArgs) -> Result<(), Error> {
    let stop = signal::install_stop_flag()?;
    let duration = seconds(a.duration, "--duration")?;
    let server = KernelServer::start(a.listen, template(&a.response, a.listen), a.threads)
        .map_err(|err| Error::Os {
            op: format!("listening on {}", a.listen),
            err,
        })?;
    eprintln!("synwave kernel-serve: listening on {}", a.listen);
    let start = std::time::Instant::now();
    while start.elapsed() < duration && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let served = server.served();
    server.stop();
    println!("kernel-serve: {served} connections served");
    Ok(())
}

fn latency(a: LatencyArgs) -> Result<Outcome, Error> {
    let stop = signal::install_stop_flag()?;
    if a.connections == 0 {
        return Err(Error::Config("--connections must be at least 1".into()));
    }
    let (connect_timeout, grace) = timeouts(&a.target, Duration::from_secs(5))?;
    let mut plan = plan_load(&a.common, &a.target)?;
    let (target, count, rate) = (plan.target, a.connections, a.rate);
    let whole = LoadOptions {
        rate: Some(rate),
        connections: Some(count),
        connect_timeout: Some(connect_timeout),
        grace,
        ..load_options(&plan)
    };
    check_load(&mut plan, &whole)?;
    let rt = start_load(&plan, stop, whole)?;
    let sum = run_with_progress(rt, None)?;
    let ours = sum.histograms.get("connect").cloned();
    let kernel = (a.compare_kernel && signal::received().is_none())
        .then(|| kernel_connect_latency(target, rate, count));
    if a.common.json {
        println!(
            "{}",
            report::latency_json_report(&sum, ours.as_ref(), kernel.as_ref())
        );
    } else {
        print!(
            "{}",
            report::latency_text(&sum, ours.as_ref(), kernel.as_ref())
        );
    }
    Ok(judge(
        sum.get("started"),
        load_errors(&sum),
        a.target.max_error_rate,
        signal::received(),
    ))
}

const DEMO_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: synwave-demo\r\n\r\n";
const DEMO_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

fn demo(a: DemoArgs) -> Result<(), Error> {
    let stop = signal::install_stop_flag()?;
    if !synwave::io::is_root() {
        return Err(Error::PermissionDenied(
            "the demo's network namespaces and XDP program",
        ));
    }
    eprintln!(
        "synwave demo: building a veth testbed (namespace A: synwave, B: a Linux kernel server)"
    );
    let bed = Testbed::up("swdemo")?;
    let target = SocketAddrV4::new(IP_B, 8080);
    let server = Testbed::in_ns(bed.ns_b(), move || {
        KernelServer::start(target, DEMO_RESPONSE.to_vec(), 2)
    })?
    .map_err(|err| Error::Os {
        op: format!("kernel server on {target}"),
        err,
    })?;
    let plan = move || LoadPlan {
        opts: RuntimeOptions {
            iface: IFACE_A.into(),
            workers: 1,
            engine: Config::default(),
            xsk: XskConfig::default(),
            drain: false,
            duration: Some(Duration::from_secs(120)),
            memory_per_worker: 1 << 30,
        },
        addresses: vec![synwave::io::testbed::IP_A],
        ports: (10_000, 59_999),
        target,
    };
    let ns_a = bed.ns_a().to_string();
    let demo_load = |rate: Option<f64>, concurrency: Option<u64>, count: u64, request: bool| {
        let plan = plan();
        Testbed::in_ns(&ns_a, move || -> Result<Summary, Error> {
            let whole = LoadOptions {
                rate,
                concurrency,
                connections: Some(count),
                request: request.then(|| DEMO_REQUEST.to_vec()),
                requests_per_connection: u32::from(request),
                response: ResponseEnd::Bytes(DEMO_RESPONSE.len()),
                ..load_options(&plan)
            };
            let rt = start_load(&plan, stop, whole)?;
            run_with_progress(rt, None)
        })
    };

    // Latency first, while neither side has TIME-WAIT state from the load.
    let (count, threads) = (a.connections, a.kernel_threads);
    let (lat_rate, lat_count) = (1000.0, 2000);
    eprintln!("synwave demo: 1/4 latency: {lat_count} handshakes at {lat_rate}/s from synwave to {target}");
    let lat = demo_load(Some(lat_rate), None, lat_count, false)??;
    eprintln!("synwave demo: 2/4 latency: the same with the kernel's connect()");
    let klat = Testbed::in_ns(&ns_a, move || {
        kernel_connect_latency(target, lat_rate, lat_count)
    })?;
    eprintln!(
        "synwave demo: 3/4 load: {count} connections (request, response, close) from synwave"
    );
    let ours = demo_load(None, Some(a.concurrency), count, true)??;
    eprintln!("synwave demo: 4/4 load: the same from kernel sockets ({threads} threads)");
    let kernel = Testbed::in_ns(&ns_a, move || {
        kernel_load(target, DEMO_REQUEST, DEMO_RESPONSE.len(), count, threads)
    })?;
    // Waking the accept threads takes connections from inside namespace B.
    Testbed::in_ns(bed.ns_b(), move || server.stop())?;
    drop(bed);

    let ours_rate = ours.get("completed") as f64 / ours.elapsed.max(1e-9);
    let ratio = ours_rate / kernel.rate().max(1e-9);
    let failed: u64 = report::ERROR_CLASSES.iter().map(|k| ours.get(k)).sum();
    let synwave_connect = lat.histograms.get("connect");
    if a.json {
        println!(
            "{}",
            json!({
                "connections": count,
                "synwave": {"completed": ours.get("completed"), "failed": failed, "elapsed_s": ours.elapsed,
                            "conn_per_s": ours_rate, "retransmits": ours.engine.retransmits,
                            "lifecycle_us": ours.histograms.get("lifecycle").map(report::latency_json)},
                "kernel": {"completed": kernel.completed, "failed": kernel.failed,
                           "elapsed_s": kernel.elapsed.as_secs_f64(), "conn_per_s": kernel.rate()},
                "ratio": ratio,
                "handshake_latency_us": {"rate": lat_rate, "synwave": synwave_connect.map(report::latency_json),
                                         "kernel": report::latency_json(&klat)},
            })
        );
        return Ok(());
    }
    println!(
        "synwave demo: connect, request, response, close against a Linux kernel server over veth"
    );
    println!(
        "  {:<30} {:>10} {:>8} {:>12}",
        "client", "completed", "failed", "conn/s"
    );
    println!(
        "  {:<30} {:>10} {:>8} {:>12.0}",
        "synwave (AF_XDP, 1 worker)",
        ours.get("completed"),
        failed,
        ours_rate
    );
    println!(
        "  {:<30} {:>10} {:>8} {:>12.0}",
        format!("kernel sockets ({threads} threads)"),
        kernel.completed,
        kernel.failed,
        kernel.rate()
    );
    println!(
        "  synwave / kernel: {ratio:.2}x (both against the same kernel server, which bounds them;"
    );
    println!(
        "  kernel connect() also slows as its own TIME-WAIT sockets fill the ephemeral port range)"
    );
    println!();
    print!(
        "{}",
        report::latency_text(&lat, synwave_connect, Some(&klat))
    );
    println!();
    println!("  testbed removed; no XDP program left attached");
    Ok(())
}
