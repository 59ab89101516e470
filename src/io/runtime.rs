//! Brings the data path up around a set of applications: attaches the XDP
//! program, opens one AF_XDP socket per queue, starts one pinned worker per
//! queue, and sums their reports when they end. The XDP program is detached
//! when the runtime is dropped, whichever way that happens.

use super::control::StartGate;
use super::handoff;
use super::worker::{self, Clock, IdleLoop, WorkerEnd, WorkerOptions};
use super::{netdev, Error, XdpMode, XdpProgram, XskConfig, XskMode, XskSocket};
use crate::app::capture::{self, CapturedFrame, Written};
use crate::app::owner::Owners;
use crate::app::plan::{self, LoadPlan, Steering, WorkerStart};
use crate::app::report::{Attached, Summary, WorkerReport};
use crate::app::search::{MaxRateSearch, Step};
use crate::app::{App, LoadApp, LoadOptions};
use crate::tcp::{Config, Engine};
use crate::wire::MacAddr;
use crossbeam_channel::Receiver;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// What to bring up.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    pub iface: String,
    /// Workers, one per queue starting at queue 0.
    pub workers: u32,
    pub engine: Config,
    pub xsk: XskConfig,
    /// Where the XDP program attaches (`--xdp-mode`).
    pub xdp_mode: XdpMode,
    /// Workers keep running until their tables are empty once the application is done.
    pub drain: bool,
    /// Workers stop after this long at the latest.
    pub duration: Option<Duration>,
    /// Bytes one worker may use at most for its tables (at their limits) and UMEM.
    pub memory_per_worker: usize,
    /// Write a sample capture (`--pcap`) when the run ends.
    pub capture: Option<CaptureOptions>,
    /// Spin when idle instead of sleeping in poll(2), with the kernel's
    /// busy polling where it allows it.
    pub busy_poll: bool,
    /// When the workers may start, once everything is prepared.
    pub start: StartGate,
}

/// A sample capture: the frames, both ways, of the first `connections`
/// connections the run opens (each worker its share), written to `path` as
/// one pcap file when the workers end.
#[derive(Clone, Debug)]
pub struct CaptureOptions {
    pub path: PathBuf,
    pub connections: u64,
}

/// With --busy-poll: how long one busy poll of the queue may spin, and
/// how many frames it may take (the receive batch).
const BUSY_POLL_USECS: u32 = 20;
const BUSY_POLL_BUDGET: u32 = 64;

impl RuntimeOptions {
    /// `workers` workers on `iface` with `umem_frames` UMEM frames each
    /// (the rings sized to hold half of them each), for as long as the
    /// applications run, with 1 GiB each at most.
    pub fn new(iface: &str, workers: u32, engine: Config, umem_frames: u32) -> Self {
        RuntimeOptions {
            iface: iface.to_string(),
            workers,
            engine,
            xsk: XskConfig {
                frame_count: umem_frames,
                ring_size: (umem_frames / 2).max(XskConfig::default().ring_size),
                ..XskConfig::default()
            },
            xdp_mode: XdpMode::Auto,
            drain: false,
            duration: None,
            memory_per_worker: 1 << 30,
            capture: None,
            busy_poll: false,
            start: StartGate::Now,
        }
    }

    /// Checks that one worker's tables, full to `max_tcbs` and
    /// `max_time_wait`, its UMEM and, with several workers, its pool of
    /// hand-off buffers ([`handoff::POOL_FRAMES`] frames) fit
    /// `memory_per_worker`.
    pub fn check_memory(&self) -> Result<(), Error> {
        let (per_tcb, per_tw) = Engine::bytes_per_entry();
        let tables = self.engine.max_tcbs * per_tcb + self.engine.max_time_wait * per_tw;
        let records = Engine::recovery_pool_bytes(self.engine.max_tcbs);
        let frame = self.xsk.frame_size as usize;
        let umem = self.xsk.frame_count as usize * frame;
        let pool = if self.workers > 1 {
            handoff::POOL_FRAMES * frame
        } else {
            0
        };
        if tables + records + umem + pool > self.memory_per_worker {
            let mb = |b: usize| b.div_ceil(1 << 20);
            return Err(Error::Config(format!(
                "{} TCBs x {per_tcb} B + {} TIME-WAIT x {per_tw} B = {} MB of tables, {} MB of loss records, {} MB of UMEM and {} MB of hand-off buffers per worker exceed the memory limit of {} MB; lower --max-tcbs, --max-time-wait or --umem-frames, or raise --memory-per-worker",
                self.engine.max_tcbs,
                self.engine.max_time_wait,
                mb(tables),
                mb(records),
                mb(umem),
                mb(pool),
                mb(self.memory_per_worker)
            )));
        }
        Ok(())
    }

    /// Refuses a zero-copy bind with the program in the generic hook, which
    /// hands sockets copies of skbs: zero-copy needs the driver's hook.
    pub fn check_modes(&self) -> Result<(), Error> {
        if self.xsk.mode == XskMode::ZeroCopy && self.xdp_mode == XdpMode::Generic {
            return Err(Error::Config(
                "--bind zero-copy needs the XDP program in the driver: --xdp-mode native or auto, not generic".into(),
            ));
        }
        Ok(())
    }
}

/// Checks, before anything is attached, that `umems` UMEMs of `umem`
/// bytes fit the free huge pages, so that a missing reservation is one
/// clear line rather than a failed mmap halfway through the sockets.
fn check_huge_pages(umems: u32, umem: u64) -> Result<(), Error> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| Error::os("reading /proc/meminfo", e))?;
    let field = |name: &str| {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    let free = field("HugePages_Free:").unwrap_or(0);
    let size = field("Hugepagesize:").unwrap_or(2048) * 1024;
    let need = umem.div_ceil(size) * u64::from(umems);
    if free < need {
        return Err(Error::Config(format!(
            "--huge-pages needs {need} free huge pages of {} KiB ({umems} UMEM(s) of {} MiB), but {free} are free; reserve them with `sysctl vm.nr_hugepages={need}` (or more)",
            size / 1024,
            umem >> 20
        )));
    }
    Ok(())
}

/// The interface a run is for, as the system describes it: what planning
/// needs to know before anything is attached.
#[derive(Clone, Debug)]
pub struct Interface {
    pub name: String,
    pub mac: MacAddr,
    /// Its IPv4 addresses, the primary first.
    pub addresses: Vec<Ipv4Addr>,
    pub rx_queues: u32,
}

impl Interface {
    /// Looks `name` up in the calling thread's network namespace.
    pub fn lookup(name: &str) -> Result<Self, Error> {
        Ok(Interface {
            name: name.to_string(),
            mac: netdev::mac_addr(name)?,
            addresses: netdev::ipv4_addrs(name)?,
            rx_queues: netdev::rx_queue_count(name)?,
        })
    }

    /// Its primary IPv4 address.
    pub fn address(&self) -> Result<Ipv4Addr, Error> {
        self.addresses
            .first()
            .copied()
            .ok_or_else(|| Error::NoIpv4(self.name.clone()))
    }
}

/// A running data path.
pub struct Runtime {
    xdp: XdpProgram,
    attached: Attached,
    workers: Vec<JoinHandle<Result<WorkerEnd, Error>>>,
    reports: Receiver<WorkerReport>,
    clock: Clock,
    /// Wall-clock time when the workers' clock started.
    started_at: SystemTime,
    warnings: Vec<String>,
    capture: Option<CaptureFile>,
}

/// Where the capture goes, opened (and given its global header, so that it
/// is a valid capture whatever happens next) before the run, so that a bad
/// path fails first; and how engine time maps to wall-clock time.
struct CaptureFile {
    file: File,
    path: PathBuf,
    /// Unix time minus engine time at the start, in nanoseconds.
    wall_offset: u64,
}

impl Runtime {
    /// Attaches to `opts.iface`, steers to the workers what `steering`
    /// declares, and starts a worker per queue running the application
    /// `make_app(start, &mut engine)` builds. Everything that can be checked
    /// is checked before the program is attached: the options, that no other
    /// host on the link has one of our extra source addresses (RFC 5227
    /// probes), and the next hop's MAC.
    pub fn start<A: App + Send + 'static>(
        opts: &RuntimeOptions,
        steering: &Steering,
        mut make_app: impl FnMut(&WorkerStart, &mut Engine) -> Result<A, Error>,
        stop: &'static AtomicBool,
    ) -> Result<Self, Error> {
        opts.engine.validate().map_err(|e| Error::Config(e.0))?;
        opts.xsk.validate()?;
        opts.check_memory()?;
        opts.check_modes()?;
        let iface = Interface::lookup(&opts.iface)?;
        if opts.workers == 0 || opts.workers > iface.rx_queues {
            return Err(Error::Config(format!(
                "{} workers asked for, but {} has {} receive queue(s); one worker per queue",
                opts.workers, opts.iface, iface.rx_queues
            )));
        }
        // A queue without a socket hands its frames to the kernel, which
        // has no such connection and resets it: a run that looks like a
        // failing server.
        if opts.workers < iface.rx_queues {
            return Err(Error::Config(format!(
                "{0} has {1} receive queues but the run has {2} worker(s): what the NIC puts on the \
                 other queues would reach the kernel, which resets it. Run one worker per queue \
                 (the default, or --workers {1}), or give {0} {2} queue(s): ethtool -L {0} combined {2}",
                opts.iface, iface.rx_queues, opts.workers
            )));
        }
        let mut capture = match &opts.capture {
            Some(c) => Some(CaptureFile {
                file: create_pcap(&c.path).map_err(|err| Error::Os {
                    op: format!("creating the --pcap file {}", c.path.display()),
                    err,
                })?,
                path: c.path.clone(),
                wall_offset: 0,
            }),
            None => None,
        };
        if opts.xsk.huge_pages {
            let umem = u64::from(opts.xsk.frame_count) * u64::from(opts.xsk.frame_size);
            // A zero-copy try that fails holds its UMEM until the kernel's
            // deferred release: one more, for the first socket's try.
            let tries = opts.workers + u32::from(opts.xsk.mode == XskMode::Auto);
            check_huge_pages(tries, umem)?;
        }
        let mut warnings = Vec::new();
        let extra = claim_addresses(&iface, steering, &mut warnings)?;
        let next_hop = match steering.target {
            Some(dst) => {
                netdev::resolve_neighbour(netdev::next_hop(dst, &iface.name)?, &iface.name)?
            }
            None => MacAddr::default(),
        };
        // Runs need not begin on the same tuples each time.
        let seed = super::keys::random_u32()?;
        let keys = super::keys::boot_keys()?;
        let mut xdp = XdpProgram::attach(&opts.iface, opts.xdp_mode)?;
        let generic = xdp.mode() == super::AttachMode::Generic;
        if generic && opts.xdp_mode == XdpMode::Auto {
            warnings.push(format!(
                "{} has no native XDP; running in generic (skb) mode, far slower",
                opts.iface
            ));
        }
        // The generic hook hands sockets copies: no zero-copy to try.
        let mut xsk_cfg = XskConfig {
            mode: match opts.xsk.mode {
                XskMode::Auto if generic => XskMode::Copy,
                mode => mode,
            },
            ..opts.xsk
        };
        steer(&mut xdp, steering, &extra, iface.mac)?;
        // With several workers: the NIC's RSS, if port steering can use it
        // (each worker then opens only connections whose replies it
        // receives); whatever it is, frames that arrive at the wrong
        // worker are handed to their owner.
        let rss = match opts.workers {
            1 => None,
            _ => match netdev::rss(&opts.iface)? {
                Ok(rss) => {
                    if !steering.sources.is_empty() {
                        // Tuples hashing to a queue without a worker go unused.
                        let ours = rss.table.iter().filter(|&&q| q < opts.workers).count();
                        warnings.push(format!(
                            "{} hashes TCP/IPv4 by Toeplitz ({} of its {} table entries on the workers' \
                             queues): each worker opens only connections whose replies the NIC receives on its queue",
                            opts.iface,
                            ours,
                            rss.table.len()
                        ));
                    }
                    Some(rss)
                }
                Err(why) => {
                    warnings.push(format!(
                        "{why}; frames that arrive at a worker other than their connection's are handed to it"
                    ));
                    None
                }
            },
        };
        // Prepared: attached, resolved, maps filled. A barrier or a start
        // time holds the run here, so that its clock and its recorded
        // start are when it actually starts.
        opts.start.wait(stop);
        let clock = Clock::start()?;
        let started_at = SystemTime::now();
        if let Some(c) = &mut capture {
            c.wall_offset = unix_nanos().saturating_sub(clock.now().as_nanos());
        }
        let (tx, reports) = crossbeam_channel::bounded(1024);
        let cores = core_affinity::get_core_ids().map_or(1, |c| c.len().max(1));
        let mut workers = Vec::new();
        // Every worker knows every tuple's owner, and hands it what arrives
        // on the wrong queue.
        let owners = Owners::of_run(steering, opts.workers, rss.clone());
        let handoffs = handoff::mesh(owners, opts.xsk.frame_size as usize)?.into_iter();
        // Every socket is open and registered before any worker starts: a
        // reply arriving on a queue without one would go to the kernel,
        // which resets the connection.
        let mut ready = Vec::new();
        let mut idle = IdleLoop::Poll;
        let mut busy_poll_refused = false;
        let mut copy_mode = false;
        for queue in 0..opts.workers {
            let xsk = XskSocket::open(&opts.iface, queue, &xsk_cfg)?;
            copy_mode |= !xsk.is_zero_copy();
            if copy_mode && xsk_cfg.mode == XskMode::Auto {
                // One driver: the other queues need not try again.
                warnings.push(format!(
                    "{} has no AF_XDP zero-copy; sockets bound in copy mode (--bind copy skips the try)",
                    opts.iface
                ));
                xsk_cfg.mode = XskMode::Copy;
            }
            xdp.register_xsk(&xsk)?;
            if opts.busy_poll {
                let refused = xsk
                    .prefer_busy_poll(BUSY_POLL_USECS, BUSY_POLL_BUDGET)
                    .err();
                // Each socket on its own: a worker polls its queue only
                // where the kernel took the options. One line for all.
                if let (Some(e), false) = (&refused, busy_poll_refused) {
                    busy_poll_refused = true;
                    warnings.push(format!(
                        "--busy-poll: {e}; the workers spin without the kernel's busy polling"
                    ));
                }
                idle = IdleLoop::Busy {
                    busy_poll: refused.is_none(),
                };
            }
            let mut engine = Engine::new(opts.engine.clone(), iface.mac, keys.clone(), clock.now())
                .map_err(|e| Error::Config(e.0))?;
            let start = WorkerStart {
                queue,
                next_hop,
                seed,
                rss: rss.clone(),
            };
            let app = make_app(&start, &mut engine)?;
            let wopts = WorkerOptions {
                core: (opts.workers > 1).then_some(queue as usize % cores),
                drain: opts.drain,
                deadline: opts.duration.map(|d| clock.now() + d),
                report_every: Duration::from_secs(1),
                arp: xdp.arp_responder(),
                capture: opts.capture.as_ref().map(|c| {
                    plan::share(c.connections, opts.workers, queue)
                        .try_into()
                        .unwrap_or(usize::MAX)
                }),
                idle,
            };
            ready.push((xsk, engine, app, wopts));
        }
        let attached = Attached {
            xdp_mode: xdp.mode().name(),
            bind: if copy_mode { "copy" } else { "zero-copy" },
            huge_pages: opts.xsk.huge_pages,
        };
        for ((xsk, engine, app, wopts), handoff) in ready.into_iter().zip(handoffs) {
            workers.push(worker::spawn(
                xsk,
                engine,
                app,
                handoff,
                clock,
                wopts,
                stop,
                tx.clone(),
            ));
        }
        Ok(Runtime {
            xdp,
            attached,
            workers,
            reports,
            clock,
            started_at,
            warnings,
            capture,
        })
    }

    /// What the user should know about how the run was set up (printed once
    /// by the caller).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// How the XDP program ended up attached: `Generic` means the driver has
    /// no native XDP and every frame pays for an skb first.
    pub fn attach_mode(&self) -> super::AttachMode {
        self.xdp.mode()
    }

    /// Seconds since the workers started.
    pub fn elapsed(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }

    /// True once every worker has ended.
    pub fn finished(&self) -> bool {
        self.workers.iter().all(|w| w.is_finished())
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Waits for every worker to end like [`Runtime::wait`], handing
    /// `on_tick` the workers' latest reports added up about once a second.
    pub fn wait_reporting(self, mut on_tick: impl FnMut(&Summary)) -> Result<Summary, Error> {
        let mut latest: BTreeMap<u32, WorkerReport> = BTreeMap::new();
        let mut last_tick = std::time::Instant::now();
        while !self.finished() {
            if let Ok(r) = self.reports.recv_timeout(Duration::from_millis(100)) {
                latest.insert(r.queue, r);
            }
            if last_tick.elapsed() >= Duration::from_secs(1) && !latest.is_empty() {
                last_tick = std::time::Instant::now();
                let mut sum = Summary::default();
                for r in latest.values() {
                    sum.add(r);
                }
                sum.elapsed = self.elapsed();
                sum.started_at = Some(self.started_at);
                sum.attached = Some(self.attached);
                on_tick(&sum);
            }
        }
        self.wait()
    }

    /// Waits for every worker to end — raising `stop` makes them end now —
    /// and adds up their last reports; writes the capture, if one was asked
    /// for, with what the workers kept. The first worker error wins.
    pub fn wait(self) -> Result<Summary, Error> {
        let mut sum = Summary::default();
        let mut first_err = None;
        let mut captures = Vec::new();
        for handle in self.workers {
            match handle.join() {
                Ok(Ok(WorkerEnd { report, capture })) => {
                    sum.add(&report);
                    captures.extend(capture);
                }
                Ok(Err(e)) => {
                    super::signal::stop_flag().store(true, Ordering::Relaxed);
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(Error::Config("a worker thread panicked".into()));
                }
            }
        }
        sum.elapsed = self.clock.elapsed().as_secs_f64();
        sum.started_at = Some(self.started_at);
        sum.attached = Some(self.attached);
        sum.xdp = self.xdp.counters().unwrap_or_default();
        self.xdp.detach()?;
        if let Some(c) = self.capture {
            let connections = captures.iter().map(|c| c.connections()).sum();
            let frames = capture::merge(captures.into_iter().map(|c| c.into_frames()));
            let written = Written {
                connections,
                frames: frames.len(),
            };
            match write_pcap(BufWriter::new(c.file), &frames, c.wall_offset) {
                Ok(()) => sum.capture = Some(written),
                Err(err) => {
                    first_err.get_or_insert(Error::Os {
                        op: format!("writing the --pcap file {}", c.path.display()),
                        err,
                    });
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(sum),
        }
    }
}

/// Runs the load `plan` describes on the runtime `opts` describes to its
/// end, handing `on_tick` the running totals about once a second.
pub fn run_load(
    opts: &RuntimeOptions,
    plan: &LoadPlan,
    stop: &'static AtomicBool,
    on_tick: impl FnMut(&Summary),
) -> Result<Summary, Error> {
    let rt = Runtime::start(
        opts,
        &plan.steering(),
        |w, _| Ok(LoadApp::new(plan.worker(w))),
        stop,
    )?;
    crate::app::report::warn(rt.warnings());
    rt.wait_reporting(on_tick)
}

/// Nanoseconds since the Unix epoch, now.
fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Creates the pcap file at `path`, with its global header.
fn create_pcap(path: &std::path::Path) -> std::io::Result<File> {
    let mut f = File::create(path)?;
    f.write_all(&crate::wire::pcap::global_header())?;
    Ok(f)
}

/// Writes the records of `frames` after a pcap file's global header, their
/// engine times moved to Unix time by `wall_offset` nanoseconds.
fn write_pcap(
    mut out: impl Write,
    frames: &[CapturedFrame],
    wall_offset: u64,
) -> std::io::Result<()> {
    use crate::wire::pcap;
    let mut record = Vec::new();
    for f in frames {
        record.clear();
        pcap::push_record(&mut record, f.at.as_nanos() + wall_offset, &f.bytes);
        out.write_all(&record)?;
    }
    out.flush()
}

/// Runs `search`'s steps until it is over or `stop` is raised, each a load
/// of `whole` at the step's rate; a rate the tuple space cannot carry fails
/// its step without a run. `on_step(i, step, summary)` sees each step as it
/// ends (with the summary of the first, whose run the sample capture in
/// `opts` records); `on_tick` sees each run's running totals.
pub fn find_max(
    opts: &mut RuntimeOptions,
    whole: &LoadOptions,
    search: &mut MaxRateSearch,
    stop: &'static AtomicBool,
    mut on_step: impl FnMut(usize, &Step, Option<&Summary>),
    mut on_tick: impl FnMut(&Summary),
) -> Result<(), Error> {
    let p99_of = if whole.request.is_some() {
        "first_byte"
    } else {
        "connect"
    };
    while let Some(rate) = search.next_rate().filter(|_| !stop.load(Ordering::Relaxed)) {
        let i = search.steps().len();
        let step = LoadOptions {
            rate: Some(rate),
            ..whole.clone()
        };
        let plan = match LoadPlan::new(step, opts.workers, &opts.engine) {
            Ok(plan) => plan,
            Err(e) => {
                on_step(i, search.refuse(e.0), None);
                continue;
            }
        };
        opts.duration = plan.deadline();
        let sum = run_load(opts, &plan, stop, &mut on_tick)?;
        let first = opts.capture.take().is_some();
        let measured = plan.whole.duration.map_or(sum.elapsed, |d| d.as_secs_f64());
        let step = search.record(&sum, measured, p99_of);
        on_step(i, step, first.then_some(&sum));
    }
    Ok(())
}

/// The sources of `steering` the interface does not own, after checking
/// that no other host has them (RFC 5227 probes): we answer ARP for these.
fn claim_addresses(
    iface: &Interface,
    steering: &Steering,
    warnings: &mut Vec<String>,
) -> Result<Vec<Ipv4Addr>, Error> {
    let extra: Vec<Ipv4Addr> = steering
        .sources
        .iter()
        .copied()
        .filter(|a| !iface.addresses.contains(a))
        .collect();
    let taken = netdev::probe_addresses(&iface.name, iface.mac, &extra)?;
    if !taken.is_empty() {
        return Err(Error::Config(format!(
            "--src: {} in use by another host on {} (answered an RFC 5227 probe); leave it out of --src",
            plan::list(&taken),
            iface.name
        )));
    }
    if extra.len() > plan::LINUX_NEIGHBOURS {
        warnings.push(format!(
            "{} source addresses exceed the {} neighbours a Linux peer keeps by default \
             (net.ipv4.neigh.default.gc_thresh3); raise it on the peer, or its ARP entries for some of them are evicted",
            extra.len(),
            plan::LINUX_NEIGHBOURS
        ));
    }
    Ok(extra)
}

/// Fills the XDP program's maps: listeners, our source ports, and the
/// addresses whose ARP requests the workers answer.
fn steer(
    xdp: &mut XdpProgram,
    steering: &Steering,
    extra: &[Ipv4Addr],
    mac: MacAddr,
) -> Result<(), Error> {
    for l in &steering.listeners {
        xdp.add_listener(*l.ip(), l.port())?;
    }
    let (lo, hi) = steering.ports;
    for &a in &steering.sources {
        xdp.set_client_ports(a, lo, hi)?;
    }
    for &a in extra {
        xdp.answer_arp(a, mac)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::Instant;
    use crate::wire::pcap;

    #[test]
    fn capture_records_carry_wall_clock_times_in_order() {
        let frames = [
            CapturedFrame {
                at: Instant::from_nanos(5_000_000_000),
                bytes: vec![1, 2],
            },
            CapturedFrame {
                at: Instant::from_nanos(5_000_000_750),
                bytes: vec![3],
            },
        ];
        let mut out = Vec::new();
        write_pcap(&mut out, &frames, 1_700_000_000_000_000_000).unwrap();
        let mut want = Vec::new();
        pcap::push_record(&mut want, 1_700_000_005_000_000_000, &[1, 2]);
        pcap::push_record(&mut want, 1_700_000_005_000_000_750, &[3]);
        assert_eq!(out, want);
        assert_eq!(out[0..4], 1_700_000_005u32.to_le_bytes());
    }

    #[test]
    fn the_memory_limit_counts_the_hand_off_buffers_of_several_workers() {
        let cfg = Config {
            max_tcbs: 1000,
            max_time_wait: 1000,
            ..Config::default()
        };
        let mut opts = RuntimeOptions::new("x", 1, cfg, 1024);
        let (per_tcb, per_tw) = Engine::bytes_per_entry();
        // Exactly the tables, the loss records and the UMEM: one worker fits.
        opts.memory_per_worker =
            1000 * (per_tcb + per_tw) + Engine::recovery_pool_bytes(1000) + 1024 * 2048;
        assert!(opts.check_memory().is_ok());
        // Two workers each also hold a pool of hand-off buffers.
        opts.workers = 2;
        let err = opts.check_memory().unwrap_err().to_string();
        assert!(err.contains("2 MB of hand-off buffers"), "{err}");
        opts.memory_per_worker += super::handoff::POOL_FRAMES * 2048;
        assert!(opts.check_memory().is_ok());
    }

    #[test]
    fn the_memory_limit_counts_the_loss_records_at_their_most() {
        let cfg = Config {
            max_tcbs: 100_000,
            max_time_wait: 1000,
            ..Config::default()
        };
        let mut opts = RuntimeOptions::new("x", 1, cfg, 1024);
        let (per_tcb, per_tw) = Engine::bytes_per_entry();
        let without = 100_000 * per_tcb + 1000 * per_tw + 1024 * 2048;
        // One record per live TCB at most, and 65,535 in all.
        let pool = Engine::recovery_pool_bytes(100_000);
        assert_eq!(pool, Engine::recovery_pool_bytes(65_535));
        assert!(pool > Engine::recovery_pool_bytes(1000));
        opts.memory_per_worker = without;
        let err = opts.check_memory().unwrap_err().to_string();
        assert!(err.contains("loss records"), "{err}");
        opts.memory_per_worker = without + pool;
        assert!(opts.check_memory().is_ok());
    }
}
