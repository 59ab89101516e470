//! A worker: one thread, one NIC queue, one AF_XDP socket, one engine — no
//! locks on the hot path. The loop is the fixed order of the AF_XDP receive
//! path: timers, receive a batch into the engine, let the application react,
//! transmit what the engine owes, and sleep in poll(2) only when idle.
//! Frames another worker owns are handed to it ([`Handoff`]), and the ones
//! handed to this worker join each received batch.

use super::arp::ArpResponder;
use super::handoff::Handoff;
use super::{Error, XskSocket};
use crate::app::capture::Capture;
use crate::app::report::{WorkerLoad, WorkerReport};
use crate::app::{turn, App};
use crate::tcp::{Engine, Events, FrameBatch, Instant};
use crossbeam_channel::Sender;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a worker does with nothing to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdleLoop {
    /// Sleep in poll(2) until a frame arrives (1 ms at most): no CPU when
    /// idle, a wake-up's latency when the next frame comes.
    #[default]
    Poll,
    /// Never sleep: the lowest latency for the whole core, as DPDK does.
    /// With the kernel's busy polling (`busy_poll`), each idle turn polls
    /// the queue in the worker's own context instead of waiting for its
    /// interrupt.
    Busy { busy_poll: bool },
}

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Core to pin the thread to, if any.
    pub core: Option<usize>,
    /// Once the application is finished, keep running until the table —
    /// TIME-WAIT included — is empty.
    pub drain: bool,
    /// Stop at this engine time at the latest.
    pub deadline: Option<Instant>,
    /// Send a [`WorkerReport`] this often while running.
    pub report_every: Duration,
    /// Answers the ARP requests the XDP program hands to this queue.
    pub arp: ArpResponder,
    /// Keep the frames, both ways, of the first this many connections to
    /// open (`--pcap`); `None`: no capture, and no work per frame.
    pub capture: Option<usize>,
    pub idle: IdleLoop,
}

/// What a worker hands back as it ends.
#[derive(Debug)]
pub struct WorkerEnd {
    /// Its last report.
    pub report: WorkerReport,
    /// Its capture, if it was asked for one.
    pub capture: Option<Capture>,
}

/// The clock workers share. Engine time is nanoseconds since boot
/// (CLOCK_BOOTTIME), so TSvals and ISNs, which the engine derives from it,
/// keep growing from one run to the next, as a peer still holding our
/// tuples in TIME-WAIT requires (RFC 6191); read through the monotonic clock
/// in between, which is cheaper.
#[derive(Copy, Clone, Debug)]
pub struct Clock {
    epoch: std::time::Instant,
    boot_at_epoch: Duration,
}

impl Clock {
    /// A clock whose start is now.
    pub fn start() -> Result<Self, Error> {
        Ok(Clock {
            epoch: std::time::Instant::now(),
            boot_at_epoch: super::sys::os::boottime()?,
        })
    }

    /// Engine time now.
    pub fn now(&self) -> Instant {
        Instant::from_nanos((self.boot_at_epoch + self.epoch.elapsed()).as_nanos() as u64)
    }

    /// Time since [`Clock::start`].
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }
}

/// Starts a worker thread owning `xsk`, `engine` and `app`, and its end of
/// the hand-off mesh. It returns when `stop` is raised, the deadline
/// passes, or the application is finished (and drained, if asked) on every
/// worker — until the last is, frames of its connections may still arrive
/// here; its last report (and capture) is the thread's result.
#[allow(clippy::too_many_arguments)]
pub fn spawn<A: App + Send + 'static>(
    mut xsk: XskSocket,
    mut engine: Engine,
    mut app: A,
    mut handoff: Handoff,
    clock: Clock,
    opts: WorkerOptions,
    stop: &'static AtomicBool,
    reports: Sender<WorkerReport>,
) -> JoinHandle<Result<WorkerEnd, Error>> {
    std::thread::spawn(move || {
        if let Some(core) = opts.core {
            // Best effort: a core that does not exist only costs locality.
            core_affinity::set_for_current(core_affinity::CoreId { id: core });
        }
        let queue = xsk.queue();
        // The engine writes its frames straight into UMEM TX frames.
        let mut tx = xsk.tx_batch();
        // ARP replies, kept apart so that the engine's turn can borrow `tx`;
        // rare, so copied.
        let mut arp_tx = FrameBatch::new();
        // Frames other workers handed to this one, for the turn.
        let mut handed = Vec::with_capacity(super::handoff::BATCH);
        let mut events = Events::new();
        let mut capture = opts.capture.map(Capture::new);
        let mut tx_dropped = 0u64;
        let mut idle_turns = 0u32;
        let started = clock.now();
        let cpu_at_start = super::sys::os::thread_cpu_time().unwrap_or_default();
        // Wall time of the turns that had work; the turn before this one's.
        let (mut busy, mut last_turn, mut last_busy) = (Duration::ZERO, started, false);
        let mut next_report = started + opts.report_every;
        // Called on the worker's own thread, whose CPU time it reads.
        let report =
            |engine: &Engine, app: &A, handoff: &Handoff, tx_dropped, busy, last| WorkerReport {
                queue,
                handed_off: handoff.handed_off(),
                handoff_dropped: handoff.dropped(),
                engine: engine.stats().clone(),
                app: app.counters(),
                histograms: app.histograms(),
                tcbs: engine.tcb_count(),
                time_waits: engine.time_wait_count(),
                tx_dropped,
                load: WorkerLoad {
                    queue,
                    cpu: super::sys::os::thread_cpu_time()
                        .unwrap_or_default()
                        .saturating_sub(cpu_at_start),
                    busy,
                    wall: clock.now().saturating_since(started),
                },
                last,
            };
        loop {
            let now = clock.now();
            if last_busy {
                busy += now.saturating_since(last_turn);
            }
            last_turn = now;
            if stop.load(Ordering::Relaxed) || opts.deadline.is_some_and(|d| now >= d) {
                tx.clear();
                app.shutdown(&mut engine, now);
                engine.poll_transmit(now, &mut tx);
                tx_dropped += xsk.transmit(&mut tx, sent_to(&mut capture, now))?;
                break;
            }
            tx.clear();
            arp_tx.clear();
            handoff.take(&mut handed);
            let (received, ()) = xsk.recv_batch(|frames| {
                let tcp = handoff.own(
                    frames.filter(|frame| !opts.arp.handle(frame, &mut arp_tx)),
                    &handed,
                );
                // One check a batch: without a capture, frames go straight in.
                match capture.as_mut().filter(|c| !c.is_done()) {
                    None => turn(&mut engine, &mut app, &mut events, now, tcp, &mut tx),
                    Some(c) => {
                        let tcp = tcp.inspect(|frame| c.received(now, frame));
                        turn(&mut engine, &mut app, &mut events, now, tcp, &mut tx);
                    }
                }
            })?;
            let received = received + handed.len();
            handoff.release(&mut handed);
            handoff.wake();
            // Whether the turn had work, before transmitting empties them.
            let sending = !tx.is_empty() || !arp_tx.is_empty();
            tx_dropped += xsk.transmit(&mut arp_tx, |_| ())?;
            tx_dropped += xsk.transmit(&mut tx, sent_to(&mut capture, now))?;

            if app.finished()
                && (!opts.drain || engine.tcb_count() + engine.time_wait_count() == 0)
                && handoff.finish()
            {
                break;
            }
            if now >= next_report {
                next_report = now + opts.report_every;
                // A full channel means nobody reads live reports: skip one.
                let _ = reports.try_send(report(&engine, &app, &handoff, tx_dropped, busy, false));
            }
            last_busy = received > 0 || sending;
            if !last_busy {
                idle_turns += 1;
                if let IdleLoop::Busy { busy_poll } = opts.idle {
                    if busy_poll {
                        xsk.poll_readable(0)?;
                    }
                } else if idle_turns > 64 {
                    // Sleep in poll(2) until a frame arrives or another
                    // worker hands one over, for 1 ms at most; spin instead
                    // when a timer or the application is due sooner, since
                    // poll's resolution is a millisecond.
                    let due = [engine.poll_timeout(), app.next_wakeup()]
                        .into_iter()
                        .flatten()
                        .min();
                    let soon =
                        due.is_some_and(|t| t.saturating_since(now) < Duration::from_millis(1));
                    if !soon {
                        handoff.idle(|wake| xsk.poll_readable_or(wake, 1))?;
                    }
                }
            } else {
                idle_turns = 0;
            }
        }
        // The last report is the thread's result, not a message: a blocking
        // send could wait forever on a full channel nobody reads.
        if last_busy {
            busy += clock.now().saturating_since(last_turn);
        }
        Ok(WorkerEnd {
            report: report(&engine, &app, &handoff, tx_dropped, busy, true),
            capture,
        })
    })
}

/// What hands the capture, if any, each frame that went out at `now`.
fn sent_to(capture: &mut Option<Capture>, now: Instant) -> impl FnMut(&[u8]) + '_ {
    // One check a batch: without a capture, nothing per frame.
    let mut capture = capture.as_mut().filter(|c| !c.is_done());
    move |frame| {
        if let Some(c) = capture.as_mut() {
            c.sent(now, frame);
        }
    }
}
