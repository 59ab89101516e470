//! The `synwave` command: a thin shell that parses arguments, brings the
//! data path up around an application, and prints what happened.

use clap::{CommandFactory, Parser};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use synwave::app::demo::{self, DemoOptions};
use synwave::app::kernel::{kernel_connect_latency, kernel_load, KernelServer};
use synwave::app::metrics::MetricsServer;
use synwave::app::plan::{self, judge, template, LoadPlan, Outcome, PlanError, Steering};
use synwave::app::report::{self, Live, Summary};
use synwave::app::search::{Limits, MaxRateSearch};
use synwave::app::{CloseMode, ConnectApp, ConnectCounters, ConnectOptions, LoadClose};
use synwave::app::{LoadCounters, LoadOptions, ResponseEnd, ServerApp, ServerCounters};
use synwave::io::demo::DemoBed;
use synwave::io::runtime::{self, CaptureOptions, Interface, Runtime, RuntimeOptions};
use synwave::io::{netns, signal, Error};
use synwave::tcp::Config;
use synwave::Failure;

mod cli;
use cli::*;

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
        Command::Serve(a) => serve(a),
        Command::Connect(a) => connect(a),
        Command::Load(a) => load(*a),
        Command::Latency(a) => latency(a),
        Command::KernelServe(a) => kernel_serve(a),
        Command::KernelLoad(a) => kernel_load_cmd(a),
        Command::Demo(a) => demo_cmd(a),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "synwave", &mut std::io::stdout());
            Ok(Outcome::Done)
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map(|()| Outcome::Done)
            .map_err(|err| {
                Error::Os {
                    op: "writing the manual page".into(),
                    err,
                }
                .into()
            }),
    };
    // 3: the run went through but did not do what was asked.
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Failed(why)) => {
            eprintln!("synwave: failed: {why}");
            ExitCode::from(3)
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

type Run = Result<Outcome, Failure>;

/// The parser's message without its usage block, on one line.
fn one_line(rendered: &str) -> String {
    let msg = rendered.split("\n\n").next().unwrap_or(rendered);
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn read_file(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, PlanError> {
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| PlanError(format!("cannot read {}: {e}", p.display())))
    };
    path.as_ref().map(read).transpose()
}

impl Common {
    /// The runtime these flags describe, in their namespace.
    fn runtime(&self, duration: Option<Duration>, drain: bool) -> Result<RuntimeOptions, Failure> {
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
        let mut opts = RuntimeOptions::new(&self.iface, self.workers, engine, self.umem_frames);
        (opts.drain, opts.duration) = (drain, duration);
        opts.memory_per_worker = self.memory_per_worker;
        opts.check_memory()?;
        opts.xsk.validate()?;
        Ok(opts)
    }
}

impl Pcap {
    /// The capture these flags ask for, if any.
    fn options(&self) -> Result<Option<CaptureOptions>, PlanError> {
        let Some(path) = &self.pcap else {
            return Ok(None);
        };
        Ok(Some(CaptureOptions {
            path: path.clone(),
            connections: plan::at_least_one(self.pcap_connections, "--pcap-connections")?,
        }))
    }

    /// Says what the capture file holds, once written.
    fn written(&self, sum: &Summary) {
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

fn serve(a: ServeArgs) -> Run {
    let stop = signal::install_stop_flag()?;
    let opts = a.common.runtime(a.duration, false)?;
    let response = read_file(&a.response)?;
    let iface = Interface::lookup(&opts.iface)?;
    let listen = plan::listen_address(a.listen, &iface.name, &iface.addresses)?;
    let close = match a.close {
        Close::ServerFirst => CloseMode::ServerFirst,
        Close::WaitClient => CloseMode::WaitClient,
    };
    let steering = Steering {
        listeners: vec![listen],
        ..Steering::default()
    };
    let rt = Runtime::start(
        &opts,
        &steering,
        |_, engine| {
            engine
                .listen(listen)
                .map_err(|e| Error::Config(e.to_string()))?;
            Ok(ServerApp::new(response.clone(), close))
        },
        stop,
    )?;
    report::warn(rt.warnings());
    eprintln!(
        "synwave: serving {listen} on {} with {} worker(s); Ctrl-C to stop",
        opts.iface, opts.workers
    );
    let sum = rt.wait()?;
    report::print_summary("serve", &sum, a.common.json, ServerCounters::SUMMARY);
    Ok(Outcome::Done)
}

fn connect(a: ConnectArgs) -> Run {
    let stop = signal::install_stop_flag()?;
    plan::check_target(a.target)?;
    let mut opts = a.common.runtime(Some(a.timeout), a.drain)?;
    opts.capture = a.pcap.options()?;
    let src = match a.src {
        Some(ip) => ip,
        None => Interface::lookup(&opts.iface)?.address()?,
    };
    let whole = ConnectOptions {
        src,
        ports: a.ports,
        target: a.target,
        next_hop: Default::default(),
        count: a.count,
        concurrency: plan::at_least_one(a.concurrency, "--concurrency")?,
        request: read_file(&a.request)?,
        first_port: 0,
    };
    let plan = LoadPlan::new(whole.load(), opts.workers, &opts.engine)?;
    let rt = Runtime::start(
        &opts,
        &plan.steering(),
        |w, _| Ok(ConnectApp::from_load(plan.worker(w))),
        stop,
    )?;
    report::warn(rt.warnings());
    let sum = rt.wait()?;
    report::print_summary("connect", &sum, a.common.json, ConnectCounters::SUMMARY);
    a.pcap.written(&sum);
    let c = ConnectCounters::read(|k| sum.get(k));
    Ok(judge(c.opened, c.failed(), None, signal::received()))
}

/// Runs a load to its end, showing progress and feeding `metrics`.
fn run_load(
    opts: &RuntimeOptions,
    plan: &LoadPlan,
    metrics: Option<&MetricsServer>,
) -> Result<Summary, Failure> {
    let mut live = Live::default();
    let sum = runtime::run_load(opts, plan, signal::install_stop_flag()?, |s| {
        live.tick(s);
        metrics.inspect(|m| m.set(report::prometheus(s)));
    });
    live.end();
    let sum = sum?;
    metrics.inspect(|m| m.set(report::prometheus(&sum)));
    Ok(sum)
}

/// The load `t` names with its defaults: from the interface's address
/// unless `--src`, connect timeout and grace `fallback` unless given.
fn target_load(
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

/// The verdict on a load run: every error class counts as failed.
fn load_verdict(sum: &Summary, max_error_rate: Option<f64>) -> Outcome {
    let c = LoadCounters::read(|k| sum.get(k));
    judge(c.started, c.errors(), max_error_rate, signal::received())
}

fn load(a: LoadArgs) -> Run {
    if a.rate.is_none() && a.concurrency.is_none() && a.stages.is_none() && !a.find_max {
        return Err(PlanError("give --rate, --concurrency, --stages or --find-max".into()).into());
    }
    a.concurrency
        .map(|c| plan::at_least_one(c, "--concurrency"))
        .transpose()?;
    a.connections
        .map(|c| plan::at_least_one(c, "--connections"))
        .transpose()?;
    let mut opts = a.common.runtime(None, a.drain)?;
    opts.capture = a.pcap.options()?;
    let whole = load_options(&a, &opts)?;
    if a.find_max {
        return find_max(&a, &mut opts, whole);
    }
    let plan = LoadPlan::new(whole, opts.workers, &opts.engine)?;
    opts.duration = plan.deadline();
    let metrics = match a.metrics {
        Some(addr) => Some(MetricsServer::start(addr).map_err(|err| Error::Os {
            op: format!("--metrics {addr}"),
            err,
        })?),
        None => None,
    };
    if let Some(m) = &metrics {
        eprintln!("synwave: metrics on http://{}/metrics", m.addr());
    }
    let sum = run_load(&opts, &plan, metrics.as_ref())?;
    let w = &plan.whole;
    // With stages, what the run targeted on average.
    let target = match w.stages.as_slice() {
        [] => w.rate,
        stages => Some(plan::mean_rate(stages)),
    };
    report::print_load(&sum, w.warm_up, w.duration, target, a.common.json);
    a.pcap.written(&sum);
    Ok(load_verdict(&sum, a.target.max_error_rate))
}

/// The whole load `load`'s flags describe.
fn load_options(a: &LoadArgs, opts: &RuntimeOptions) -> Result<LoadOptions, Failure> {
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

/// `load --find-max`: a run per step, at the rates the search asks for.
fn find_max(a: &LoadArgs, opts: &mut RuntimeOptions, whole: LoadOptions) -> Run {
    let limits = Limits {
        max_p99: a.max_p99,
        max_error_rate: a.target.max_error_rate.unwrap_or(0.0),
    };
    let p99_of = if whole.request.is_some() {
        "first_byte"
    } else {
        "connect"
    };
    let mut search = MaxRateSearch::new(a.rate.unwrap_or(1000.0), limits);
    while let (Some(rate), None) = (search.next_rate(), signal::received()) {
        let step = LoadOptions {
            rate: Some(rate),
            ..whole.clone()
        };
        let plan = match LoadPlan::new(step, opts.workers, &opts.engine) {
            Ok(plan) => plan,
            Err(e) => {
                eprintln!(
                    "{}",
                    MaxRateSearch::step_line(search.steps().len(), search.refuse(e.0))
                );
                continue;
            }
        };
        opts.duration = plan.deadline();
        let sum = run_load(opts, &plan, None)?;
        // The sample capture is of the first step.
        if opts.capture.take().is_some() {
            a.pcap.written(&sum);
        }
        let measured = plan.whole.duration.map_or(sum.elapsed, |d| d.as_secs_f64());
        eprintln!(
            "{}",
            MaxRateSearch::step_line(search.steps().len(), search.record(&sum, measured, p99_of))
        );
    }
    if a.common.json {
        println!("{}", search.json());
    } else {
        for (i, s) in search.steps().iter().enumerate() {
            println!("{}", MaxRateSearch::step_line(i, s));
        }
        println!("{}", search.result_line());
    }
    Ok(match (signal::received(), search.result()) {
        (Some(sig), _) => Outcome::Interrupted(sig),
        (None, Some(_)) => Outcome::Done,
        (None, None) => Outcome::Failed("no rate tried stayed within the limits".into()),
    })
}

fn latency(a: LatencyArgs) -> Run {
    plan::at_least_one(a.connections, "--connections")?;
    let mut opts = a.common.runtime(None, false)?;
    opts.capture = a.pcap.options()?;
    let whole = LoadOptions {
        rate: Some(a.rate),
        connections: Some(a.connections),
        ..target_load(&a.target, &opts, Duration::from_secs(5))?
    };
    let plan = LoadPlan::new(whole, opts.workers, &opts.engine)?;
    opts.duration = plan.deadline();
    let sum = run_load(&opts, &plan, None)?;
    let kernel = (a.compare_kernel && signal::received().is_none())
        .then(|| kernel_connect_latency(a.target.target, a.rate, a.connections));
    report::print_latency(&sum, kernel.as_ref(), a.common.json);
    a.pcap.written(&sum);
    Ok(load_verdict(&sum, a.target.max_error_rate))
}

fn kernel_serve(a: KernelServeArgs) -> Run {
    let stop = signal::install_stop_flag()?;
    let server = KernelServer::start(a.listen, template(&a.response, a.listen), a.threads)
        .map_err(|err| Error::Os {
            op: format!("listening on {}", a.listen),
            err,
        })?;
    eprintln!("synwave kernel-serve: listening on {}", a.listen);
    let served = server.serve_for(a.duration, stop);
    println!("kernel-serve: {served} connections served");
    Ok(Outcome::Done)
}

fn kernel_load_cmd(a: KernelLoadArgs) -> Run {
    let request = template(&a.request, a.target);
    let r = kernel_load(
        a.target,
        &request,
        a.response_bytes,
        a.connections,
        a.threads,
    );
    println!("{}", r.report(a.json));
    Ok(judge(
        r.completed + r.failed,
        r.failed,
        None,
        signal::received(),
    ))
}

fn demo_cmd(a: DemoArgs) -> Run {
    let stop = signal::install_stop_flag()?;
    plan::at_least_one(a.concurrency, "--concurrency")?;
    eprintln!("synwave demo: building a veth testbed (namespace A: synwave and wrk, B: nginx)");
    let mut bed = DemoBed::up(stop)?;
    let opts = DemoOptions {
        duration: a.duration,
        concurrency: a.concurrency,
        wrk_threads: a.wrk_threads.max(1),
    };
    let results = demo::run(&mut bed, opts, |step| eprintln!("synwave demo: {step}"))?;
    drop(bed);
    if a.json {
        println!("{}", results.json());
    } else {
        print!("{}", results.text());
    }
    Ok(results.verdict(signal::received()))
}
