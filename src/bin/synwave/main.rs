//! The `synwave` command: a thin shell that parses arguments, brings the
//! data path up around an application, and prints what happened.

use clap::{CommandFactory, Parser};
use std::process::ExitCode;
use std::time::Duration;
use synwave::app::demo::{self, DemoOptions};
use synwave::app::kernel::{kernel_connect_latency, kernel_load, KernelServer};
use synwave::app::merge;
use synwave::app::plan::{self, judge, template, LoadPlan, Outcome, PlanError, Steering};
use synwave::app::report::{self, Live, Summary};
use synwave::app::search::{Limits, MaxRateSearch};
use synwave::app::segment::{self, Segment};
use synwave::app::{CloseMode, ConnectApp, ConnectCounters, ConnectOptions};
use synwave::app::{LoadCounters, LoadOptions, ServerApp, ServerCounters};
use synwave::io::control::{self, ControlPort, StartGate, StartOptions};
use synwave::io::demo::DemoBed;
use synwave::io::results::{self, IntervalFiles, IntervalLog};
use synwave::io::runtime::{self, Interface, Runtime, RuntimeOptions};
use synwave::io::{signal, Error};
use synwave::Failure;

mod cli;
use cli::*;

// Huge pages for the workers' tables, which millions of records make larger
// than the TLB reaches (see the module).
#[global_allocator]
static ALLOC: synwave::io::HugePageAlloc = synwave::io::HugePageAlloc;

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
        Command::Merge(a) => merge_cmd(a),
        Command::Start(a) => start_cmd(a),
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

/// Runs a load to its end, showing progress, feeding `metrics` (labelled
/// with the segment it runs) and writing the `--interval` lines.
fn run_load(
    opts: &RuntimeOptions,
    plan: &LoadPlan,
    metrics: Option<(&ControlPort, Segment)>,
    mut log: Option<IntervalLog>,
) -> Result<Summary, Failure> {
    let mut live = Live::default();
    let sum = runtime::run_load(opts, plan, signal::install_stop_flag()?, |s| {
        live.tick(s);
        metrics.inspect(|(m, seg)| {
            m.running();
            m.set(report::prometheus(s, *seg));
        });
        if let Some(l) = log.as_mut() {
            l.tick(s);
        }
    });
    live.end();
    let sum = sum?;
    metrics.inspect(|(m, seg)| m.set(report::prometheus(&sum, *seg)));
    if let Some(l) = log.as_mut() {
        l.finish(&sum);
    }
    Ok(sum)
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
    let test = segment::test_options(&whole, a.target.src.as_deref());
    let seg = a.segment.unwrap_or(Segment::WHOLE);
    let mine = seg.apply(&whole, a.target.src.is_some())?;
    if seg != Segment::WHOLE {
        eprintln!("synwave: {}", segment::describe(seg, &mine));
    }
    let plan = LoadPlan::new(mine, opts.workers, &opts.engine)?;
    opts.duration = plan.deadline();
    let metrics = (a.metrics)
        .map(|addr| ControlPort::start(addr, &format!("segment {seg}")))
        .transpose()?;
    if let Some(m) = &metrics {
        eprintln!(
            "synwave: control port on http://{0}/ (GET /metrics, GET /ready, POST /start)",
            m.addr()
        );
    }
    opts.start = match (&metrics, a.wait_for_start, a.start_at) {
        (Some(m), true, _) => {
            eprintln!("synwave: waiting for POST /start once prepared");
            StartGate::Signal(m.clone())
        }
        (_, _, Some(at)) => StartGate::At(at),
        _ => StartGate::Now,
    };
    let sum = run_load(
        &opts,
        &plan,
        metrics.as_ref().map(|m| (m, seg)),
        a.interval
            .map(|every| {
                let files = IntervalFiles {
                    lines: a.interval_file.as_deref(),
                    csv: a.csv,
                    hdr_log: a.hdr_log.as_deref(),
                };
                IntervalLog::open(every, files)
            })
            .transpose()?,
    )?;
    let w = &plan.whole;
    // With stages, what the run targeted on average.
    let target = match w.stages.as_slice() {
        [] => w.rate,
        stages => Some(plan::mean_rate(stages)),
    };
    report::print_load(
        &sum,
        w.warm_up,
        w.duration,
        target,
        a.common.json,
        a.latency,
        test,
        seg,
    );
    a.pcap.written(&sum);
    if let Some(m) = metrics.filter(|_| !a.metrics_linger.is_zero()) {
        eprintln!(
            "synwave: serving the final metrics until scraped, {:?} at most (--metrics-linger)",
            a.metrics_linger
        );
        m.linger(
            report::prometheus(&sum, seg),
            a.metrics_linger,
            signal::install_stop_flag()?,
        );
    }
    Ok(load_verdict(&sum, a.target.max_error_rate))
}

/// `load --find-max`: a run per step, at the rates the search asks for.
fn find_max(a: &LoadArgs, opts: &mut RuntimeOptions, whole: LoadOptions) -> Run {
    let max_error_rate = a.target.max_error_rate.unwrap_or(0.0);
    let limits = Limits {
        max_p99: a.max_p99,
        max_error_rate,
    };
    let mut search = MaxRateSearch::new(a.rate.unwrap_or(1000.0), limits);
    // Both callbacks write to the one progress line.
    let live = std::cell::RefCell::new(Live::default());
    let stop = signal::install_stop_flag()?;
    runtime::find_max(
        opts,
        &whole,
        &mut search,
        stop,
        |i, step, sum| {
            live.borrow().end();
            sum.inspect(|s| a.pcap.written(s));
            eprintln!("{}", MaxRateSearch::step_line(i, step));
        },
        |s| live.borrow_mut().tick(s),
    )?;
    search.print(a.common.json);
    Ok(search.verdict(signal::received()))
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
    let sum = run_load(&opts, &plan, None, None)?;
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

/// `synwave merge`: reads the results, merges them (`app::merge`), prints
/// the merged result as one run's.
fn merge_cmd(a: MergeArgs) -> Run {
    let (results, skipped) = merge::collect(results::read(&a.inputs)?);
    if skipped > 0 {
        eprintln!("synwave merge: skipped {skipped} line(s) that are not load results");
    }
    let mut merged = merge::merge(&results)?;
    merged.late_after = a.late_after;
    for w in [merged.missing_warning(), merged.late_warning()] {
        w.inspect(|w| eprintln!("synwave merge: warning: {w}"));
    }
    if a.json {
        println!("{}", merged.json());
    } else {
        print!("{}", merged.table());
    }
    Ok(Outcome::Done)
}

/// `synwave start`: the starter of a run on many machines (`io::control`).
fn start_cmd(a: StartArgs) -> Run {
    let opts = StartOptions {
        agents: a.agents,
        count: a.count,
        timeout: a.timeout,
        poll: a.poll,
    };
    let stop = signal::install_stop_flag()?;
    let started = control::start_agents(&opts, stop, |ready, want| {
        eprintln!("synwave start: {ready} of {want} agent(s) ready");
    });
    match started {
        Ok(agents) => {
            for agent in &agents {
                println!("started {} ({})", agent.addr, agent.said);
            }
            eprintln!("synwave start: started {} agent(s)", agents.len());
            Ok(Outcome::Done)
        }
        Err(why) => Ok(Outcome::Failed(why)),
    }
}
