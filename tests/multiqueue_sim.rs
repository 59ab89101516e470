//! A simulated multi-queue NIC (no kernel, no root): each host's received
//! frames are spread over its queues by the real Toeplitz hash
//! (`wire::rss`, Microsoft's RSS specification) and a 128-entry
//! indirection table, one worker — engine, application, hand-off end — per
//! queue. The workers build their turns exactly as the AF_XDP worker does:
//! `io::handoff` forwards what another worker owns (`app::owner`), the
//! owner takes it on its next turn, and `app::turn` runs the engine. The
//! load is split by `LoadPlan::worker`, with RSS-aware source ports
//! (`app::tuples::Home`) when the workers are told the NIC's RSS.
//!
//! Issue 15's cases: with RSS-aware ports and the right key nothing is
//! handed off; with a wrong key (or none, ports sliced) every connection
//! still completes through hand-off; a full hand-off queue drops and counts
//! `handoff_dropped`, and TCP's retransmissions (RFC 9293 §3.8.1) recover
//! every connection.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use synwave::app::owner::{self, Owners};
use synwave::app::plan::{LoadPlan, Steering, WorkerStart};
use synwave::app::{turn, App, CloseMode, LoadApp, LoadClose, LoadOptions, ResponseEnd, ServerApp};
use synwave::io::handoff::{self, Buffer, Handoff};
use synwave::tcp::{Config, Engine, Events, FrameBatch, Instant};
use synwave::wire::rss::{Rss, VERIFICATION_KEY};
use synwave::wire::MacAddr;

const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80);
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
/// One wire crossing, and a turn of every worker.
const STEP: Duration = Duration::from_micros(50);
const CONNECTIONS: u64 = 600;

/// A NIC's RSS: `key` and a 128-entry table spreading over `queues` queues
/// round-robin, as `ethtool -X equal N` sets it.
fn rss(key: &[u8], queues: u32) -> Rss {
    Rss {
        key: key.to_vec(),
        table: (0..128).map(|i| i % queues).collect(),
    }
}

/// A key other than the NIC's: what a worker believes when the NIC's key
/// was changed after start, or read wrong.
fn wrong_key() -> Vec<u8> {
    VERIFICATION_KEY
        .iter()
        .map(|b| b.rotate_left(3) ^ 0x5a)
        .collect()
}

/// One queue's worker: its engine, its application and its end of the
/// hand-off mesh, turned as `io::worker` turns.
struct Worker<A: App> {
    engine: Engine,
    app: A,
    events: Events,
    tx: FrameBatch,
    handoff: Handoff,
    handed: Vec<Buffer>,
}

impl<A: App> Worker<A> {
    /// The worker loop's turn: what was handed to it, the frames the NIC
    /// put on its queue (those another worker owns forwarded), the engine.
    fn turn(&mut self, now: Instant, rx: &[Vec<u8>], out: &mut Vec<Vec<u8>>) {
        self.tx.clear();
        self.handoff.take(&mut self.handed);
        let frames = self.handoff.own(rx.iter().map(Vec::as_slice), &self.handed);
        turn(
            &mut self.engine,
            &mut self.app,
            &mut self.events,
            now,
            frames,
            &mut self.tx,
        );
        self.handoff.release(&mut self.handed);
        self.handoff.wake();
        out.extend(self.tx.iter().map(<[u8]>::to_vec));
    }
}

/// A host: its NIC's RSS and a worker per queue.
struct Host<A: App> {
    nic: Rss,
    workers: Vec<Worker<A>>,
}

impl<A: App> Host<A> {
    /// `apps.len()` workers on a NIC hashing by `nic`, whose tuples belong
    /// to `owners`; each worker's pool holds `pool` buffers.
    fn new(
        nic: Rss,
        mac: MacAddr,
        owners: Owners,
        pool: usize,
        apps: Vec<A>,
        now: Instant,
        setup: impl Fn(&mut Engine),
    ) -> Self {
        let ends = handoff::mesh_sized(owners, 2048, pool).expect("eventfds");
        let workers = apps
            .into_iter()
            .zip(ends)
            .map(|(app, handoff)| {
                // One host's engines share their keys, as the runtime's do.
                let mut engine =
                    Engine::new(Config::default(), mac, [mac.0[5]; 16], now).expect("valid config");
                setup(&mut engine);
                Worker {
                    engine,
                    app,
                    events: Events::new(),
                    tx: FrameBatch::new(),
                    handoff,
                    handed: Vec::with_capacity(handoff::BATCH),
                }
            })
            .collect();
        Host { nic, workers }
    }

    /// One turn of every worker, `rx` spread over their queues by the NIC;
    /// returns what they sent.
    fn turn(&mut self, now: Instant, rx: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut queues = vec![Vec::new(); self.workers.len()];
        for frame in rx {
            // The NIC hashes the frame's source, then its destination.
            let q = owner::tuple(&frame).map_or(0, |(dst, src)| self.nic.queue(src, dst));
            queues[q as usize].push(frame);
        }
        let mut out = Vec::new();
        for (w, rx) in self.workers.iter_mut().zip(&queues) {
            w.turn(now, rx, &mut out);
        }
        out
    }

    /// Frames handed off and dropped, over every worker.
    fn handoffs(&self) -> (u64, u64) {
        let sum = |f: fn(&Handoff) -> u64| self.workers.iter().map(|w| f(&w.handoff)).sum();
        (sum(Handoff::handed_off), sum(Handoff::dropped))
    }
}

fn load(concurrency: u64) -> LoadOptions {
    LoadOptions {
        target: SERVER,
        next_hop: SERVER_MAC,
        addresses: vec![CLIENT_IP],
        ports: (10_000, 60_999),
        rate: None,
        ramp_up: Duration::ZERO,
        stages: Vec::new(),
        concurrency: Some(concurrency),
        connections: Some(CONNECTIONS),
        duration: None,
        warm_up: Duration::ZERO,
        request: Some(REQUEST.to_vec()),
        requests_per_connection: 1,
        response: ResponseEnd::Bytes(RESPONSE.len()),
        close: LoadClose::Fin,
        // Long enough for a SYN retransmitted after a dropped SYN-ACK.
        response_timeout: Some(Duration::from_secs(10)),
        connect_timeout: Some(Duration::from_secs(10)),
        grace: Duration::from_secs(10),
        first_port: 0,
        home: None,
    }
}

/// How a run went: per side, frames handed off and dropped, and the
/// client's counters summed over its workers.
struct Outcome {
    client: (u64, u64),
    server: (u64, u64),
    counts: Vec<(&'static str, u64)>,
}

impl Outcome {
    fn get(&self, name: &str) -> u64 {
        self.counts
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|&(_, v)| v)
            .sum()
    }
}

/// A load from `workers` client workers, on a NIC hashing by `nic` and
/// told `told` of it (`None`: ports sliced, as on veth), against a server
/// of `server_workers` workers; every hand-off pool holds `pool` buffers.
fn run(
    workers: u32,
    nic: Rss,
    told: Option<Rss>,
    pool: usize,
    server_workers: u32,
    concurrency: u64,
) -> Outcome {
    let start = Instant::from_millis(1_000_000);
    let plan = LoadPlan::new(load(concurrency), workers, &Config::default()).expect("plan");
    let apps = (0..workers)
        .map(|queue| {
            LoadApp::new(plan.worker(&WorkerStart {
                queue,
                next_hop: SERVER_MAC,
                seed: 7,
                rss: told.clone(),
            }))
        })
        .collect();
    let owners = Owners::of_run(&plan.steering(), workers, told);
    let mut client = Host::new(nic, CLIENT_MAC, owners, pool, apps, start, |_| {});
    let listening = Steering {
        listeners: vec![SERVER],
        ..Steering::default()
    };
    let servers = (0..server_workers)
        .map(|_| ServerApp::new(Some(RESPONSE.to_vec()), CloseMode::ServerFirst))
        .collect();
    let mut server = Host::new(
        rss(&VERIFICATION_KEY, server_workers),
        SERVER_MAC,
        Owners::new(&listening, server_workers),
        pool,
        servers,
        start,
        |e| e.listen(SERVER).expect("listen"),
    );
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    let mut now = start;
    let limit = start + Duration::from_secs(120);
    while !client.workers.iter().all(|w| w.app.finished()) {
        assert!(now < limit, "never finished");
        let out = client.turn(now, std::mem::take(&mut to_client));
        to_client = server.turn(now, std::mem::take(&mut to_server));
        to_server = out;
        now = now + STEP;
    }
    Outcome {
        client: client.handoffs(),
        server: server.handoffs(),
        counts: client
            .workers
            .iter()
            .flat_map(|w| w.app.counters())
            .collect(),
    }
}

fn assert_every_connection_completed(o: &Outcome) {
    let c = &o.counts;
    assert_eq!(o.get("started"), CONNECTIONS, "{c:?}");
    assert_eq!(o.get("completed"), CONNECTIONS, "{c:?}");
}

#[test]
fn with_rss_aware_ports_and_the_nics_key_no_frame_is_handed_off() {
    for workers in [2, 4] {
        let nic = rss(&VERIFICATION_KEY, workers);
        let o = run(workers, nic.clone(), Some(nic), handoff::POOL_FRAMES, 1, 32);
        assert_every_connection_completed(&o);
        assert_eq!(o.client, (0, 0), "{workers} workers");
    }
}

#[test]
fn with_a_wrong_key_every_connection_completes_through_hand_off() {
    let nic = rss(&VERIFICATION_KEY, 2);
    let o = run(
        2,
        nic,
        Some(rss(&wrong_key(), 2)),
        handoff::POOL_FRAMES,
        1,
        32,
    );
    assert_every_connection_completed(&o);
    let (handed, dropped) = o.client;
    // About half the replies land on the other queue.
    assert!(handed > CONNECTIONS, "{handed} handed off");
    assert_eq!(dropped, 0);
}

#[test]
fn with_sliced_ports_and_a_passive_side_owned_by_hash_both_hosts_hand_off_and_complete() {
    // The veth case: the NIC's RSS unknown to the client, and a server of
    // three workers owning its connections by the software flow hash.
    let o = run(2, rss(&wrong_key(), 2), None, handoff::POOL_FRAMES, 3, 32);
    assert_every_connection_completed(&o);
    assert!(
        o.client.0 > 0 && o.server.0 > 0,
        "{:?} {:?}",
        o.client,
        o.server
    );
    assert_eq!((o.client.1, o.server.1), (0, 0));
}

#[test]
fn a_full_hand_off_queue_drops_and_counts_and_tcp_recovers_every_connection() {
    // A pool of eight buffers: the first burst of 64 SYN-ACKs, half of
    // them for the other worker, finds it full. (Much smaller and the
    // dropped SYN-ACKs of one burst come back as one burst of retried SYNs
    // each time, and some exhaust the connect timeout.)
    let nic = rss(&VERIFICATION_KEY, 2);
    let o = run(2, nic, Some(rss(&wrong_key(), 2)), 8, 1, 64);
    let (handed, dropped) = o.client;
    assert!(dropped > 0, "nothing dropped ({handed} handed off)");
    assert!(handed > 0);
    assert_every_connection_completed(&o);
}
