//! Brings the data path up around a set of applications: attaches the XDP
//! program, opens one AF_XDP socket per queue, starts one pinned worker per
//! queue, and sums their reports when they end. The XDP program is detached
//! when the runtime is dropped, whichever way that happens.

use super::worker::{self, Clock, WorkerOptions};
use super::{netdev, Error, XdpProgram, XskConfig, XskSocket};
use crate::app::report::{Summary, WorkerReport};
use crate::app::App;
use crate::tcp::{Config, Engine};
use crossbeam_channel::Receiver;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What to bring up.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    pub iface: String,
    /// Workers, one per queue starting at queue 0.
    pub workers: u32,
    pub engine: Config,
    pub xsk: XskConfig,
    /// Workers keep running until their tables are empty once the application is done.
    pub drain: bool,
    /// Workers stop after this long at the latest.
    pub duration: Option<Duration>,
    /// Bytes one worker may use at most for its tables (at their limits) and UMEM.
    pub memory_per_worker: usize,
}

impl RuntimeOptions {
    /// Checks that one worker's tables, full to `max_tcbs` and
    /// `max_time_wait`, and its UMEM fit `memory_per_worker`.
    pub fn check_memory(&self) -> Result<(), Error> {
        let (per_tcb, per_tw) = Engine::bytes_per_entry();
        let tables = self.engine.max_tcbs * per_tcb + self.engine.max_time_wait * per_tw;
        let umem = self.xsk.frame_count as usize * self.xsk.frame_size as usize;
        if tables + umem > self.memory_per_worker {
            let mb = |b: usize| b.div_ceil(1 << 20);
            return Err(Error::Config(format!(
                "{} TCBs x {per_tcb} B + {} TIME-WAIT x {per_tw} B = {} MB of tables and {} MB of UMEM per worker exceed the memory limit of {} MB; lower --max-tcbs, --max-time-wait or --umem-frames, or raise --memory-per-worker",
                self.engine.max_tcbs,
                self.engine.max_time_wait,
                mb(tables),
                mb(umem),
                mb(self.memory_per_worker)
            )));
        }
        Ok(())
    }
}

/// A running data path.
pub struct Runtime {
    xdp: XdpProgram,
    workers: Vec<JoinHandle<Result<WorkerReport, Error>>>,
    reports: Receiver<WorkerReport>,
    clock: Clock,
}

impl Runtime {
    /// Attaches to `opts.iface`, lets `steer` fill the XDP maps (which
    /// addresses and ports are ours), and starts a worker per queue running
    /// the application `make_app(queue, &mut engine)` builds. Everything is
    /// checked before the program is attached where it can be.
    pub fn start<A: App + Send + 'static>(
        opts: &RuntimeOptions,
        steer: impl FnOnce(&mut XdpProgram) -> Result<(), Error>,
        mut make_app: impl FnMut(u32, &mut Engine) -> Result<A, Error>,
        stop: &'static AtomicBool,
    ) -> Result<Self, Error> {
        opts.engine.validate().map_err(|e| Error::Config(e.0))?;
        opts.xsk.validate()?;
        opts.check_memory()?;
        let mac = netdev::mac_addr(&opts.iface)?;
        let queues = netdev::rx_queue_count(&opts.iface)?;
        if opts.workers == 0 || opts.workers > queues {
            return Err(Error::Config(format!(
                "{} workers asked for, but {} has {queues} receive queue(s); one worker per queue",
                opts.workers, opts.iface
            )));
        }
        let keys = super::keys::boot_keys()?;
        let mut xdp = XdpProgram::attach(&opts.iface)?;
        steer(&mut xdp)?;
        let clock = Clock::start()?;
        let (tx, reports) = crossbeam_channel::bounded(1024);
        let cores = core_affinity::get_core_ids().map_or(1, |c| c.len().max(1));
        let mut workers = Vec::new();
        for queue in 0..opts.workers {
            let xsk = XskSocket::open(&opts.iface, queue, &opts.xsk)?;
            xdp.register_xsk(&xsk)?;
            let mut engine = Engine::new(opts.engine.clone(), mac, keys.clone(), clock.now())
                .map_err(|e| Error::Config(e.0))?;
            let app = make_app(queue, &mut engine)?;
            let wopts = WorkerOptions {
                core: (opts.workers > 1).then_some(queue as usize % cores),
                drain: opts.drain,
                deadline: opts.duration.map(|d| clock.now() + d),
                report_every: Duration::from_secs(1),
                arp: xdp.arp_responder(),
            };
            workers.push(worker::spawn(
                xsk,
                engine,
                app,
                clock,
                wopts,
                stop,
                tx.clone(),
            ));
        }
        Ok(Runtime {
            xdp,
            workers,
            reports,
            clock,
        })
    }

    /// Live reports, one per worker per second.
    pub fn reports(&self) -> &Receiver<WorkerReport> {
        &self.reports
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

    /// Waits for every worker to end — raising `stop` makes them end now —
    /// and adds up their last reports. The first worker error wins.
    pub fn wait(self) -> Result<Summary, Error> {
        let mut sum = Summary::default();
        let mut first_err = None;
        for handle in self.workers {
            match handle.join() {
                Ok(Ok(r)) => {
                    sum.add(&r);
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
        sum.xdp = self.xdp.counters().unwrap_or_default();
        self.xdp.detach()?;
        match first_err {
            Some(e) => Err(e),
            None => Ok(sum),
        }
    }
}
