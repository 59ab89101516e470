//! Frames that arrived at the wrong worker, handed to their owner.
//!
//! Each AF_XDP socket has its own UMEM, and a received frame's slot goes
//! back to the fill ring as soon as the batch is processed, so a frame that
//! another worker owns ([`Owners`]) is copied: into a buffer from the
//! owner's pool, which goes through the owner's bounded inbox, is processed
//! there as a second receive source of [`crate::app::turn`], and returns to
//! the pool. The buffers are allocated once, when the run starts; no frame
//! allocates. Nothing blocks: a pool that is empty (the owner is behind by
//! a whole inbox) drops the frame and counts it, and TCP retransmits.
//!
//! The queues are crossbeam's bounded channels, already the workers' report
//! path: lock-free on the array they are built on, and a worker that has
//! ended shows as a disconnected inbox rather than one that silently fills.
//!
//! An owner with nothing to do sleeps in poll(2) on its socket and on an
//! eventfd of its own ([`Handoff::idle`]); a worker that handed it frames
//! signals that eventfd once a batch ([`Handoff::wake`]), and only when
//! the owner said it was going to sleep, so a busy owner costs its peers
//! no system call.

use super::sys::os;
use super::Error;
use crate::app::owner::Owners;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// Buffers in each worker's pool, and so frames its inbox holds at most.
pub const POOL_FRAMES: usize = 1024;

/// Frames taken from the inbox in one turn at most.
pub const BATCH: usize = 256;

/// A copied frame.
pub type Buffer = Vec<u8>;

/// One worker's end of the hand-off mesh: where its frames come in, and
/// the way to every other worker's inbox.
#[derive(Debug)]
pub struct Handoff {
    me: u32,
    owners: Owners,
    inbox: Receiver<Buffer>,
    /// Where this worker's processed buffers go back.
    pool: Sender<Buffer>,
    /// Per worker (none for this one): its inbox and its pool.
    peers: Vec<Option<Peer>>,
    /// Workers that have finished their own work; see [`Handoff::finish`].
    finished: Arc<AtomicU32>,
    is_finished: bool,
    /// This worker's own alarm, which its peers ring.
    alarm: Arc<Alarm>,
    /// Peers handed frames since the last [`Handoff::wake`].
    to_wake: Vec<bool>,
    handed_off: u64,
    dropped: u64,
}

#[derive(Debug)]
struct Peer {
    inbox: Sender<Buffer>,
    pool: Receiver<Buffer>,
    alarm: Arc<Alarm>,
}

/// How a sleeping worker is woken: its eventfd, and whether it sleeps.
#[derive(Debug)]
struct Alarm {
    fd: OwnedFd,
    asleep: AtomicBool,
}

impl Alarm {
    fn new() -> Result<Self, Error> {
        Ok(Alarm {
            fd: os::eventfd()?,
            asleep: AtomicBool::new(false),
        })
    }
}

/// The hand-off ends of `owners.workers()` workers, in worker order, each
/// pool holding [`POOL_FRAMES`] buffers of `frame_len` bytes.
pub fn mesh(owners: Owners, frame_len: usize) -> Result<Vec<Handoff>, Error> {
    mesh_sized(owners, frame_len, POOL_FRAMES)
}

/// Like [`mesh`], with `pool_frames` buffers per worker (at least one): a
/// small pool is a worker that falls behind, for the simulated NIC's tests.
pub fn mesh_sized(
    owners: Owners,
    frame_len: usize,
    pool_frames: usize,
) -> Result<Vec<Handoff>, Error> {
    let n = owners.workers() as usize;
    let alarms = (0..n)
        .map(|_| Alarm::new().map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    // One worker hands nothing off: no buffers.
    let frames = if n > 1 { pool_frames.max(1) } else { 0 };
    let ends: Vec<_> = (0..n)
        .map(|_| {
            let inbox = crossbeam_channel::bounded(frames.max(1));
            let pool = crossbeam_channel::bounded(frames.max(1));
            for _ in 0..frames {
                let _ = pool.0.try_send(Vec::with_capacity(frame_len));
            }
            (inbox, pool)
        })
        .collect();
    let finished = Arc::new(AtomicU32::new(0));
    Ok((0..n)
        .map(|me| Handoff {
            me: me as u32,
            owners: owners.clone(),
            inbox: ends[me].0 .1.clone(),
            pool: ends[me].1 .0.clone(),
            peers: (0..n)
                .map(|w| {
                    (w != me).then(|| Peer {
                        inbox: ends[w].0 .0.clone(),
                        pool: ends[w].1 .1.clone(),
                        alarm: alarms[w].clone(),
                    })
                })
                .collect(),
            finished: finished.clone(),
            is_finished: false,
            alarm: alarms[me].clone(),
            to_wake: vec![false; n],
            handed_off: 0,
            dropped: 0,
        })
        .collect())
}

impl Handoff {
    /// If another worker owns `frame`, copies it to that worker's inbox (or
    /// drops it when the owner's pool is empty) and returns true; returns
    /// false when the frame is this worker's to process.
    pub fn forward(&mut self, frame: &[u8]) -> bool {
        if self.peers.len() < 2 {
            return false; // one worker owns everything: no parsing
        }
        let owner = match self.owners.of_frame(frame) {
            Some(w) if w != self.me => w,
            _ => return false,
        };
        let Some(Some(peer)) = self.peers.get(owner as usize) else {
            return false;
        };
        match peer.pool.try_recv() {
            Ok(mut buf) => {
                // Holds a UMEM frame: no received frame is larger.
                buf.clear();
                buf.extend_from_slice(frame);
                // The pool and the inbox have room for every buffer, so a
                // send fails only when the owner has ended.
                match peer.inbox.try_send(buf) {
                    Ok(()) => {
                        self.handed_off += 1;
                        self.to_wake[owner as usize] = true;
                    }
                    Err(_) => self.dropped += 1,
                }
            }
            Err(_) => self.dropped += 1,
        }
        true
    }

    /// The frames of one turn for this worker's engine: those of `received`
    /// it owns (each of the others is forwarded to its owner as it goes
    /// by), then those `handed` to it ([`Handoff::take`]). The worker and
    /// the simulated NIC both build their turns with it.
    pub fn own<'a>(
        &'a mut self,
        received: impl Iterator<Item = &'a [u8]> + 'a,
        handed: &'a [Buffer],
    ) -> impl Iterator<Item = &'a [u8]> + 'a {
        received
            .filter(move |frame| !self.forward(frame))
            .chain(handed.iter().map(Vec::as_slice))
    }

    /// Moves up to [`BATCH`] frames handed to this worker into `into`
    /// (empty on entry) to be processed; hand them back with
    /// [`Handoff::release`].
    pub fn take(&self, into: &mut Vec<Buffer>) {
        while into.len() < BATCH {
            match self.inbox.try_recv() {
                Ok(buf) => into.push(buf),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
    }

    /// Returns processed buffers to this worker's pool, leaving `taken` empty.
    pub fn release(&self, taken: &mut Vec<Buffer>) {
        for buf in taken.drain(..) {
            let _ = self.pool.try_send(buf);
        }
    }

    /// Whether frames wait in this worker's inbox.
    pub fn pending(&self) -> bool {
        !self.inbox.is_empty()
    }

    /// Wakes every peer handed frames since the last call that is asleep
    /// in [`Handoff::idle`]: call once a batch, after the frames went.
    pub fn wake(&mut self) {
        if !self.to_wake.contains(&true) {
            return;
        }
        // Orders the sends before the reads of `asleep`, against the
        // fence in `idle`: either the owner sees the frames before it
        // sleeps, or this sees it asleep and signals it.
        fence(Ordering::SeqCst);
        for (peer, due) in self.peers.iter().zip(&mut self.to_wake) {
            if std::mem::take(due) {
                if let Some(p) = peer {
                    if p.alarm.asleep.swap(false, Ordering::AcqRel) {
                        os::eventfd_signal(&p.alarm.fd);
                    }
                }
            }
        }
    }

    /// Sleeps in `sleep` (a poll(2) on the worker's socket and on the fd
    /// it is given) unless frames wait in the inbox; a peer that hands
    /// this worker frames meanwhile makes that fd readable.
    pub fn idle<E>(&self, sleep: impl FnOnce(BorrowedFd<'_>) -> Result<(), E>) -> Result<(), E> {
        self.alarm.asleep.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let result = if self.pending() {
            Ok(())
        } else {
            sleep(self.alarm.fd.as_fd())
        };
        self.alarm.asleep.store(false, Ordering::SeqCst);
        os::eventfd_clear(&self.alarm.fd);
        result
    }

    /// Frames this worker received that another owns, and copied to it.
    pub fn handed_off(&self) -> u64 {
        self.handed_off
    }

    /// Frames another worker owns that found no room on the way: dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Says this worker has finished its own work (once; later calls
    /// change nothing) and returns whether every worker has: until then it
    /// keeps receiving, since frames of the others' connections may still
    /// arrive on its queue.
    pub fn finish(&mut self) -> bool {
        if !self.is_finished {
            self.is_finished = true;
            self.finished.fetch_add(1, Ordering::AcqRel);
        }
        self.finished.load(Ordering::Acquire) >= self.owners.workers()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::plan::Steering;
    use crate::wire::{emit_tcp_frame, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};
    use std::net::Ipv4Addr;

    const OURS: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    /// Two workers with ports 1000..=1001 and 1002..=1003.
    fn two() -> Vec<Handoff> {
        let steering = Steering {
            sources: vec![OURS],
            ports: (1000, 1003),
            ..Steering::default()
        };
        mesh(Owners::new(&steering, 2), 2048).expect("eventfds")
    }

    /// A reply from the peer to our `port`.
    fn reply(port: u16) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: 80,
            dst_port: port,
            seq: SeqNumber(1),
            ack: SeqNumber(1),
            flags: TcpFlags::ACK,
            window: 1024,
            urgent: 0,
            options: TcpOptions::default(),
            payload: b"hello",
        };
        let mut buf = vec![0; 128];
        let n = emit_tcp_frame(
            &mut buf,
            MacAddr::default(),
            MacAddr::default(),
            PEER,
            OURS,
            &tcp,
        );
        buf.truncate(n);
        buf
    }

    #[test]
    fn a_frame_for_another_worker_arrives_there_intact_and_its_buffer_comes_back() {
        let mut w = two();
        let (mine, theirs) = (reply(1000), reply(1002));
        assert!(!w[0].forward(&mine), "worker 0's own frame stays");
        assert!(w[0].forward(&theirs));
        assert!(w[1].pending());
        let mut taken = Vec::new();
        w[1].take(&mut taken);
        assert_eq!(taken, vec![theirs.clone()]);
        w[1].release(&mut taken);
        assert!(taken.is_empty() && !w[1].pending());
        assert_eq!((w[0].handed_off(), w[0].dropped()), (1, 0));
        // Frames that are nobody's TCP stay where they are.
        assert!(!w[0].forward(&[0u8; 10]));
    }

    #[test]
    fn a_full_inbox_drops_and_counts_and_never_blocks() {
        let mut w = two();
        let theirs = reply(1003);
        for _ in 0..POOL_FRAMES + 10 {
            assert!(w[0].forward(&theirs));
        }
        assert_eq!(w[0].handed_off(), POOL_FRAMES as u64);
        assert_eq!(w[0].dropped(), 10);
        // The owner catches up a batch at a time; the buffers go back.
        let mut taken = Vec::new();
        w[1].take(&mut taken);
        assert_eq!(taken.len(), BATCH);
        w[1].release(&mut taken);
        assert!(w[0].forward(&theirs));
        assert_eq!(w[0].dropped(), 10);
    }

    #[test]
    fn an_owner_that_has_ended_loses_its_frames_counted() {
        let mut w = two();
        drop(w.pop());
        assert!(w[0].forward(&reply(1002)));
        assert_eq!((w[0].handed_off(), w[0].dropped()), (0, 1));
    }

    #[test]
    fn an_idle_owner_is_woken_by_the_frames_handed_to_it_not_its_timeout() {
        let mut w = two();
        let owner = w.pop().expect("two");
        let (slept, woken) = std::sync::mpsc::channel();
        let sleeper = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            // Five seconds of poll(2), unless woken.
            let r = owner.idle(|fd| crate::io::sys::os::poll_either(fd, fd, 5_000));
            let _ = slept.send(start.elapsed());
            r.map(|()| owner.pending())
        });
        // Let it fall asleep; a wake with nothing handed rings nobody.
        std::thread::sleep(std::time::Duration::from_millis(100));
        w[0].wake();
        assert!(woken.try_recv().is_err(), "woken with nothing handed");
        assert!(w[0].forward(&reply(1002)));
        w[0].wake();
        let took = woken
            .recv_timeout(std::time::Duration::from_secs(3))
            .expect("still asleep: the hand-off did not wake it");
        assert!(took < std::time::Duration::from_secs(3), "{took:?}");
        assert!(sleeper.join().expect("no panic").expect("poll"));
    }

    #[test]
    fn an_owner_with_frames_waiting_does_not_sleep() {
        let mut w = two();
        assert!(w[0].forward(&reply(1002)));
        let r: Result<(), ()> = w[1].idle(|_| panic!("slept with frames waiting"));
        assert!(r.is_ok() && w[1].pending());
    }

    #[test]
    fn workers_end_together() {
        let mut w = two();
        assert!(!w[0].finish());
        assert!(!w[0].finish(), "a worker counts once");
        assert!(w[1].finish());
        assert!(w[0].finish());
        assert!(mesh(Owners::single(), 2048).expect("eventfds")[0].finish());
    }
}
