//! The `synwave` command: a thin shell that parses arguments, brings the
//! data path up around an application, and prints what happened.

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use synwave::app::{CloseMode, ConnectApp, ConnectOptions, ServerApp};
use synwave::io::runtime::{Runtime, RuntimeOptions, Summary};
use synwave::app::kernel::{kernel_load, KernelServer};
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
    /// Build a veth testbed with a Linux kernel server as the peer, load it
    /// with synwave and with kernel sockets, print both, clean up.
    Demo(DemoArgs),
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
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve(a),
        Command::Connect(a) => connect(a),
        Command::Demo(a) => demo(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synwave: error: {e}");
            ExitCode::FAILURE
        }
    }
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

/// Everything common to both commands, checked before anything is attached.
fn prepare(c: &Common, duration: Option<Duration>, drain: bool) -> Result<RuntimeOptions, Error> {
    if let Some(ns) = &c.netns {
        netns::enter(ns)?;
    }
    let engine = Config {
        msl: Duration::from_millis(c.msl_ms),
        ..Config::default()
    };
    engine.validate().map_err(|e| Error::Config(e.0))?;
    Ok(RuntimeOptions {
        iface: c.iface.clone(),
        workers: c.workers,
        engine,
        xsk: XskConfig::default(),
        drain,
        duration,
    })
}

fn serve(a: ServeArgs) -> Result<(), Error> {
    let stop = signal::install_stop_flag()?;
    let duration = a.duration.map(|d| seconds(d, "--duration")).transpose()?;
    let opts = prepare(&a.common, duration, false)?;
    let response = read_file(&a.response)?;
    let mut listen = a.listen;
    if listen.ip().is_unspecified() {
        listen.set_ip(netdev::ipv4_addr(&opts.iface)?);
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

fn connect(a: ConnectArgs) -> Result<(), Error> {
    let stop = signal::install_stop_flag()?;
    let timeout = seconds(a.timeout, "--timeout")?;
    let opts = prepare(&a.common, Some(timeout), a.drain)?;
    let request = read_file(&a.request)?;
    let src = match a.src {
        Some(ip) => ip,
        None => netdev::ipv4_addr(&opts.iface)?,
    };
    if a.concurrency == 0 {
        return Err(Error::Config("--concurrency must be at least 1".into()));
    }
    let next_hop = netdev::resolve_neighbour(*a.target.ip(), &opts.iface)?;
    // Each worker gets its own slice of the port range and of the count.
    let (lo, hi) = a.ports;
    let workers = u32::max(opts.workers, 1);
    let span = (u32::from(hi) - u32::from(lo) + 1) / workers;
    if span == 0 {
        return Err(Error::Config("fewer source ports than workers".into()));
    }
    let rt = Runtime::start(
        &opts,
        |xdp| xdp.set_client_ports(src, lo, hi),
        |queue, _| {
            let first = u32::from(lo) + queue * span;
            let count = a.count / u64::from(workers)
                + u64::from(u64::from(queue) < a.count % u64::from(workers));
            Ok(ConnectApp::new(ConnectOptions {
                src,
                ports: (first as u16, (first + span - 1) as u16),
                target: a.target,
                next_hop,
                count,
                concurrency: a.concurrency.div_ceil(u64::from(workers)),
                request: request.clone(),
            }))
        },
        stop,
    )?;
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
    Ok(())
}

fn print_summary(command: &str, sum: &Summary, as_json: bool, keys: &[&str]) {
    if as_json {
        let mut o = Map::new();
        o.insert("command".into(), json!(command));
        for (k, v) in &sum.app {
            o.insert((*k).into(), json!(v));
        }
        o.insert("tcbs_left".into(), json!(sum.tcbs_left));
        o.insert("time_wait_left".into(), json!(sum.time_wait_left));
        o.insert("tx_dropped".into(), json!(sum.tx_dropped));
        o.insert("elapsed_s".into(), json!(sum.elapsed));
        let engine: Map<String, Value> = sum
            .engine
            .fields()
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        o.insert("engine".into(), Value::Object(engine));
        let x = &sum.xdp;
        o.insert(
            "xdp".into(),
            json!({"redirected": x.redirected, "passed": x.passed, "no_xsk": x.no_xsk, "malformed": x.malformed}),
        );
        println!("{}", Value::Object(o));
        return;
    }
    println!("synwave {command}: {:.2} s", sum.elapsed);
    for k in keys {
        println!("  {k:<16} {}", sum.get(k));
    }
    println!("  {:<16} {}", "tcbs_left", sum.tcbs_left);
    println!("  {:<16} {}", "time_wait_left", sum.time_wait_left);
    let drops: u64 = sum.engine.parse_errors.iter().sum();
    println!(
        "  frames in/out {} / {}, retransmits {}, RST sent {}, malformed dropped {}, tx dropped {}",
        sum.engine.frames_in,
        sum.engine.frames_out,
        sum.engine.retransmits,
        sum.engine.rst_sent,
        drops,
        sum.tx_dropped
    );
    println!(
        "  xdp: redirected {}, passed to kernel {}",
        sum.xdp.redirected, sum.xdp.passed
    );
}

const DEMO_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: synwave-demo\r\n\r\n";
const DEMO_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

fn demo(a: DemoArgs) -> Result<(), Error> {
    let stop = signal::install_stop_flag()?;
    if !synwave::io::is_root() {
        return Err(Error::PermissionDenied("the demo's network namespaces and XDP program"));
    }
    eprintln!("synwave demo: building a veth testbed (namespaces A: synwave, B: Linux kernel server)");
    let bed = Testbed::up("swdemo")?;
    let target = SocketAddrV4::new(IP_B, 8080);
    let server = Testbed::in_ns(bed.ns_b(), move || KernelServer::start(target, DEMO_RESPONSE.to_vec(), 2))?
        .map_err(|err| Error::Os { op: format!("kernel server on {target}"), err })?;

    eprintln!("synwave demo: {} connections from synwave (AF_XDP) to the kernel server on {target}", a.connections);
    let (count, concurrency) = (a.connections, a.concurrency);
    let sum = Testbed::in_ns(bed.ns_a(), move || -> Result<Summary, Error> {
        let opts = RuntimeOptions {
            iface: IFACE_A.into(),
            workers: 1,
            engine: Config::default(),
            xsk: XskConfig::default(),
            drain: false,
            duration: Some(Duration::from_secs(120)),
        };
        let src = netdev::ipv4_addr(IFACE_A)?;
        let next_hop = netdev::resolve_neighbour(IP_B, IFACE_A)?;
        let rt = Runtime::start(
            &opts,
            |xdp| xdp.set_client_ports(src, 10_000, 59_999),
            |_, _| {
                Ok(ConnectApp::new(ConnectOptions {
                    src,
                    ports: (10_000, 59_999),
                    target,
                    next_hop,
                    count,
                    concurrency,
                    request: Some(DEMO_REQUEST.to_vec()),
                }))
            },
            stop,
        )?;
        rt.wait()
    })??;

    eprintln!("synwave demo: the same {} connections from kernel sockets ({} threads)", a.connections, a.kernel_threads);
    let threads = a.kernel_threads;
    let kernel = Testbed::in_ns(bed.ns_a(), move || kernel_load(target, DEMO_REQUEST, DEMO_RESPONSE.len(), count, threads))?;
    // Waking the accept threads takes connections from inside namespace B.
    Testbed::in_ns(bed.ns_b(), move || server.stop())?;
    drop(bed);

    let ours = sum.get("closed") as f64 / sum.elapsed.max(1e-9);
    let ratio = ours / kernel.rate().max(1e-9);
    let failed = sum.get("refused") + sum.get("reset") + sum.get("timed_out");
    if a.json {
        println!(
            "{}",
            json!({
                "connections": count,
                "synwave": {"completed": sum.get("closed"), "failed": failed, "elapsed_s": sum.elapsed, "conn_per_s": ours,
                            "retransmits": sum.engine.retransmits},
                "kernel": {"completed": kernel.completed, "failed": kernel.failed,
                           "elapsed_s": kernel.elapsed.as_secs_f64(), "conn_per_s": kernel.rate()},
                "ratio": ratio,
            })
        );
    } else {
        println!("synwave demo: connect, request, response, close against a Linux kernel server over veth");
        println!("  {:<30} {:>10} {:>8} {:>12}", "client", "completed", "failed", "conn/s");
        println!("  {:<30} {:>10} {:>8} {:>12.0}", "synwave (AF_XDP, 1 worker)", sum.get("closed"), failed, ours);
        println!(
            "  {:<30} {:>10} {:>8} {:>12.0}",
            format!("kernel sockets ({threads} threads)"),
            kernel.completed,
            kernel.failed,
            kernel.rate()
        );
        println!("  synwave / kernel: {ratio:.2}x (both against the same kernel server, which bounds them;");
        println!("  kernel connect() also slows as its own TIME-WAIT sockets fill the ephemeral port range)");
        println!("  testbed removed; no XDP program left attached");
    }
    Ok(())
}
