//! A simulated wire between two engines: frames are dropped, duplicated,
//! reordered and delayed from a seed, and many connections open, exchange a
//! request and a response, and close — client first, server first, or both
//! at once. It checks the lifecycle of RFC 9293 §3.5–3.6 end to end: every
//! connection ends exactly once and in order, data arrives exactly once, and
//! both tables are empty after 2MSL.
//!
//! `SYNWAVE_SIM_SEED` replays a seed; `SYNWAVE_SIM_CONNECTIONS` sets the
//! connections per case.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use synwave::app::{turn, App};
use synwave::tcp::{
    Config, ConnId, Engine, EventKind, Events, FourTuple, FrameBatch, Instant, TimeoutReason,
};
use synwave::wire::{checksum, MacAddr};

const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 1), 80);
const CONCURRENCY: u64 = 500;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum CloseMode {
    ClientFirst,
    ServerFirst,
    Simultaneous,
}

#[derive(Copy, Clone, Debug)]
struct Faults {
    loss: f64,
    duplicate: f64,
    delay: Duration,
    jitter: Duration,
    /// Share of frames that get the jitter; the others keep their order.
    reorder: f64,
}

const CLEAN: Faults = Faults {
    loss: 0.0,
    duplicate: 0.0,
    delay: Duration::from_micros(20),
    jitter: Duration::ZERO,
    reorder: 1.0,
};

const LOSSY: Faults = Faults {
    loss: 0.05,
    duplicate: 0.03,
    delay: Duration::from_micros(20),
    jitter: Duration::from_micros(60),
    reorder: 1.0,
};

/// One direction of the wire: frames in flight, ordered by arrival time.
#[derive(Default)]
struct Link {
    in_flight: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    sequence: u64,
    /// Frames lost that occupied sequence space (text, SYN or FIN): each
    /// one the sender must repeat.
    lost: u64,
}

/// Whether a TCP frame carries text, SYN or FIN.
fn occupies_sequence_space(frame: &[u8]) -> bool {
    let tcp = 14 + usize::from(frame[14] & 0x0f) * 4;
    let data_offset = usize::from(frame[tcp + 12] >> 4) * 4;
    let ip_len = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    ip_len > (tcp - 14) + data_offset || frame[tcp + 13] & 0x03 != 0
}

impl Link {
    fn carry(&mut self, now: Instant, frames: &FrameBatch, faults: &Faults, rng: &mut SmallRng) {
        for frame in frames.iter() {
            if faults.loss > 0.0 && rng.gen_bool(faults.loss) {
                self.lost += u64::from(occupies_sequence_space(frame));
                continue;
            }
            let copies = if faults.duplicate > 0.0 && rng.gen_bool(faults.duplicate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let jitter = if faults.reorder > 0.0 && rng.gen_bool(faults.reorder) {
                    rng.gen_range(0..=faults.jitter.as_nanos() as u64)
                } else {
                    0
                };
                let at = now + faults.delay + Duration::from_nanos(jitter);
                self.sequence += 1;
                self.in_flight
                    .push(Reverse((at, self.sequence, frame.to_vec())));
            }
        }
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse((at, _, _))| *at)
    }

    fn arrived(&mut self, now: Instant, into: &mut Vec<Vec<u8>>) {
        while self.next_arrival().is_some_and(|at| at <= now) {
            if let Some(Reverse((_, _, frame))) = self.in_flight.pop() {
                into.push(frame);
            }
        }
    }
}

/// Rewrites one 16-bit word of a frame's TCP header at `offset`, keeping
/// the TCP checksum right (RFC 1624).
fn rewrite_tcp_word(frame: &mut [u8], offset: usize, new: u16) {
    let tcp = 14 + usize::from(frame[14] & 0x0f) * 4;
    let at = tcp + offset;
    let old = u16::from_be_bytes([frame[at], frame[at + 1]]);
    let sum = u16::from_be_bytes([frame[tcp + 16], frame[tcp + 17]]);
    frame[at..at + 2].copy_from_slice(&new.to_be_bytes());
    frame[tcp + 16..tcp + 18].copy_from_slice(&checksum::update(sum, old, new).to_be_bytes());
}

/// The server as a receiver whose window is shut: its segments announce
/// window 0 (offset 14 of the TCP header).
fn shut_window(frame: &mut [u8]) {
    rewrite_tcp_word(frame, 14, 0);
}

/// A segment with data that the shut receiver would drop: moved far out of
/// the server's window (SEQ + 2^30), so the server drops it and answers
/// with a duplicate ACK — what a peer holding its window at zero does.
fn refuse_data(frame: &mut [u8]) {
    let tcp = 14 + usize::from(frame[14] & 0x0f) * 4;
    let data_offset = usize::from(frame[tcp + 12] >> 4) * 4;
    let ip_len = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    if ip_len - (tcp - 14) - data_offset == 0 {
        return;
    }
    let hi = u16::from_be_bytes([frame[tcp + 4], frame[tcp + 5]]);
    rewrite_tcp_word(frame, 4, hi.wrapping_add(0x4000));
}

/// Bytes derived from the connection id, so any lost, repeated or foreign
/// byte is noticed.
fn pattern(id: u64, len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (id as u8)
                .wrapping_mul(31)
                .wrapping_add(i as u8)
                .wrapping_add(salt)
        })
        .collect()
}

/// Request: id, request length and response length, then the pattern.
fn request(id: u64, req_len: usize, resp_len: usize) -> Vec<u8> {
    let mut r = Vec::with_capacity(16 + req_len);
    r.extend_from_slice(&id.to_le_bytes());
    r.extend_from_slice(&(req_len as u32).to_le_bytes());
    r.extend_from_slice(&(resp_len as u32).to_le_bytes());
    r.extend_from_slice(&pattern(id, req_len, 1));
    r
}

struct ClientConn {
    request: Vec<u8>,
    response: Vec<u8>,
    received: Vec<u8>,
    terminal: Option<EventKind>,
}

#[derive(Default)]
struct ServerConn {
    received: Vec<u8>,
    responded: bool,
    terminal: Option<EventKind>,
}

fn mirror(t: FourTuple) -> FourTuple {
    FourTuple {
        local_ip: t.remote_ip,
        remote_ip: t.local_ip,
        local_port: t.remote_port,
        remote_port: t.local_port,
    }
}

/// The client application: opens connections from fresh tuples, sends each
/// its request, checks the response, and closes as the mode says.
struct SimClient {
    mode: CloseMode,
    /// Connections to open in all.
    target: u64,
    rng: SmallRng,
    clients: HashMap<ConnId, ClientConn>,
    opened: u64,
    done: u64,
    /// Response lengths, drawn for each connection.
    response_len: std::ops::Range<usize>,
    /// Simultaneous close: the server's side of these tuples closes too.
    close_on_server: Vec<FourTuple>,
}

impl SimClient {
    /// Opens a connection from a source address no earlier one used, so no
    /// tuple is ever reused while in TIME-WAIT.
    fn open(&mut self, engine: &mut Engine, now: Instant) {
        let id = self.opened;
        self.opened += 1;
        let src = SocketAddrV4::new(
            Ipv4Addr::new(10, 2, (id / 50_000) as u8, 1),
            10_000 + (id % 50_000) as u16,
        );
        let req_len = self.rng.gen_range(0..4000);
        let resp_len = self.rng.gen_range(self.response_len.clone());
        let conn = engine.connect(now, src, SERVER, SERVER_MAC).unwrap();
        self.clients.insert(
            conn,
            ClientConn {
                request: request(id, req_len, resp_len),
                response: pattern(id, resp_len, 2),
                received: Vec::new(),
                terminal: None,
            },
        );
    }
}

impl App for SimClient {
    fn poll(&mut self, engine: &mut Engine, now: Instant) {
        while self.opened < self.target && self.opened - self.done < CONCURRENCY {
            self.open(engine, now);
        }
    }

    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        for ev in events.iter() {
            let c = self
                .clients
                .get_mut(&ev.conn)
                .expect("event for a connection never opened");
            assert!(
                c.terminal.is_none(),
                "event {ev} after terminal {:?}",
                c.terminal
            );
            match ev.kind {
                EventKind::Connected => {
                    assert_eq!(engine.send(ev.conn, &c.request), Ok(c.request.len()));
                }
                EventKind::Data { .. } => {
                    c.received.extend_from_slice(events.data(&ev.kind));
                    assert!(
                        c.received.len() <= c.response.len(),
                        "{}: more bytes than sent",
                        ev.tuple
                    );
                    if c.received.len() == c.response.len() {
                        assert!(c.received == c.response, "{}: response corrupted", ev.tuple);
                        match self.mode {
                            CloseMode::ClientFirst => engine.close(ev.conn, now).unwrap(),
                            CloseMode::Simultaneous => {
                                engine.close(ev.conn, now).unwrap();
                                self.close_on_server.push(mirror(ev.tuple));
                            }
                            CloseMode::ServerFirst => {}
                        }
                    }
                }
                EventKind::PeerClosed => {
                    assert_eq!(
                        c.received.len(),
                        c.response.len(),
                        "{}: FIN before all data",
                        ev.tuple
                    );
                    if self.mode == CloseMode::ServerFirst {
                        engine.close(ev.conn, now).unwrap();
                    }
                }
                kind if kind.is_terminal() => {
                    c.terminal = Some(kind);
                    self.done += 1;
                }
                kind => panic!("unexpected client event {kind:?}"),
            }
        }
    }

    fn finished(&self) -> bool {
        self.done >= self.target
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("opened", self.opened), ("done", self.done)]
    }
}

/// The server application: checks each request, answers it, and closes as
/// the mode says.
struct SimServer {
    mode: CloseMode,
    servers: HashMap<ConnId, ServerConn>,
    server_by_tuple: HashMap<FourTuple, ConnId>,
    /// Simultaneous close: tuples the client closed at the same moment.
    to_close: Vec<FourTuple>,
}

impl App for SimServer {
    fn poll(&mut self, engine: &mut Engine, now: Instant) {
        for t in self.to_close.drain(..) {
            engine.close(self.server_by_tuple[&t], now).unwrap();
        }
    }

    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        for ev in events.iter() {
            if ev.kind == EventKind::Accepted {
                assert!(
                    self.servers
                        .insert(ev.conn, ServerConn::default())
                        .is_none(),
                    "accepted twice"
                );
                assert!(
                    self.server_by_tuple.insert(ev.tuple, ev.conn).is_none(),
                    "tuple accepted twice"
                );
                continue;
            }
            let s = self
                .servers
                .get_mut(&ev.conn)
                .expect("event for a connection never accepted");
            assert!(
                s.terminal.is_none(),
                "event {ev} after terminal {:?}",
                s.terminal
            );
            match ev.kind {
                EventKind::Data { .. } => {
                    s.received.extend_from_slice(events.data(&ev.kind));
                    if s.received.len() < 16 {
                        continue;
                    }
                    let id = u64::from_le_bytes(s.received[..8].try_into().unwrap());
                    let req_len =
                        u32::from_le_bytes(s.received[8..12].try_into().unwrap()) as usize;
                    let resp_len =
                        u32::from_le_bytes(s.received[12..16].try_into().unwrap()) as usize;
                    assert!(
                        s.received.len() <= 16 + req_len,
                        "{}: more bytes than sent",
                        ev.tuple
                    );
                    if s.received.len() == 16 + req_len && !s.responded {
                        assert!(
                            s.received == request(id, req_len, resp_len),
                            "{}: request corrupted",
                            ev.tuple
                        );
                        s.responded = true;
                        let response = pattern(id, resp_len, 2);
                        assert_eq!(engine.send(ev.conn, &response), Ok(resp_len));
                        if self.mode == CloseMode::ServerFirst {
                            engine.close(ev.conn, now).unwrap();
                        }
                    }
                }
                EventKind::PeerClosed => {
                    if self.mode == CloseMode::ClientFirst {
                        engine.close(ev.conn, now).unwrap();
                    }
                }
                kind if kind.is_terminal() => s.terminal = Some(kind),
                kind => panic!("unexpected server event {kind:?}"),
            }
        }
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("accepted", self.servers.len() as u64)]
    }
}

/// Both engines and their applications on the wire, each side driven by
/// the workers' `turn`.
struct Sim {
    client: Engine,
    server: Engine,
    client_app: SimClient,
    server_app: SimServer,
    to_server: Link,
    to_client: Link,
    faults: Faults,
    rng: SmallRng,
    now: Instant,
    events: Events,
    tx: FrameBatch,
    rx: Vec<Vec<u8>>,
    /// Until then the server plays a receiver with its window shut; its
    /// window update, when it opens, is lost (it sends none).
    shut_until: Instant,
}

fn config() -> Config {
    Config {
        // Enough retries that a 5%-lossy wire never exhausts them.
        syn_retries: 14,
        max_retries: 20,
        rto_max: Duration::from_secs(4),
        ..Config::default()
    }
}

impl Sim {
    fn new(seed: u64, mode: CloseMode, faults: Faults) -> Self {
        let now = Instant::from_millis(1_000);
        let mut server =
            Engine::new(config(), SERVER_MAC, (seed as u128).to_le_bytes(), now).unwrap();
        server.listen(SERVER).unwrap();
        Sim {
            client: Engine::new(config(), CLIENT_MAC, (!seed as u128).to_le_bytes(), now).unwrap(),
            server,
            client_app: SimClient {
                mode,
                target: 0,
                rng: SmallRng::seed_from_u64(seed ^ 0x5eed),
                clients: HashMap::new(),
                opened: 0,
                done: 0,
                response_len: 1..6000,
                close_on_server: Vec::new(),
            },
            server_app: SimServer {
                mode,
                servers: HashMap::new(),
                server_by_tuple: HashMap::new(),
                to_close: Vec::new(),
            },
            to_server: Link::default(),
            to_client: Link::default(),
            faults,
            rng: SmallRng::seed_from_u64(seed),
            now,
            events: Events::new(),
            tx: FrameBatch::new(),
            rx: Vec::new(),
            shut_until: Instant::ZERO,
        }
    }

    fn client_turn(&mut self) {
        let now = self.now;
        self.tx.clear();
        self.rx.clear();
        self.to_client.arrived(now, &mut self.rx);
        turn(
            &mut self.client,
            &mut self.client_app,
            &mut self.events,
            now,
            self.rx.iter().map(|f| f.as_slice()),
            &mut self.tx,
        );
        self.server_app
            .to_close
            .append(&mut self.client_app.close_on_server);
        self.shut(now, refuse_data);
        self.to_server
            .carry(now, &self.tx, &self.faults, &mut self.rng);
    }

    fn server_turn(&mut self) {
        let now = self.now;
        self.tx.clear();
        self.rx.clear();
        self.to_server.arrived(now, &mut self.rx);
        turn(
            &mut self.server,
            &mut self.server_app,
            &mut self.events,
            now,
            self.rx.iter().map(|f| f.as_slice()),
            &mut self.tx,
        );
        self.shut(now, shut_window);
        self.to_client
            .carry(now, &self.tx, &self.faults, &mut self.rng);
    }

    /// While the server's window is shut, applies `f` to every frame in `tx`.
    fn shut(&mut self, now: Instant, f: fn(&mut [u8])) {
        if now >= self.shut_until || self.tx.is_empty() {
            return;
        }
        let mut frames: Vec<Vec<u8>> = self.tx.iter().map(|fr| fr.to_vec()).collect();
        self.tx.clear();
        for frame in &mut frames {
            f(frame);
            self.tx.push_with(frame.len(), |buf| {
                buf[..frame.len()].copy_from_slice(frame);
                frame.len()
            });
        }
    }

    /// The next instant anything happens: a frame arrives or a timer fires.
    fn next_instant(&self) -> Option<Instant> {
        [
            self.to_client.next_arrival(),
            self.to_server.next_arrival(),
            self.client.poll_timeout(),
            self.server.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|t| t.max(self.now + Duration::from_micros(1)))
    }

    fn run(&mut self, connections: u64) {
        self.client_app.target = connections;
        while !self.client_app.finished() {
            self.client_turn();
            self.server_turn();
            if self.client_app.finished() {
                break; // the last one may have left no timer behind
            }
            self.now = self.next_instant().unwrap_or_else(|| {
                panic!(
                    "nothing left to happen but connections are open: client {:?} server {:?}",
                    self.client.stats().fields(),
                    self.server.stats().fields()
                )
            });
        }
        // Let TIME-WAIT (2MSL) and any straggler run out.
        let end = self.now + 2 * config().msl + Duration::from_secs(120);
        while let Some(next) = self.next_instant().filter(|&t| t <= end) {
            self.now = next;
            self.client_turn();
            self.server_turn();
        }
    }
}

fn seed() -> u64 {
    std::env::var("SYNWAVE_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

fn connections() -> u64 {
    std::env::var("SYNWAVE_SIM_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40_000)
}

fn lifecycle(mode: CloseMode, faults: Faults) {
    let seed = seed();
    let n = connections();
    println!("sim {mode:?} {faults:?}: seed {seed} (replay with SYNWAVE_SIM_SEED={seed}), {n} connections");
    let mut sim = Sim::new(seed, mode, faults);
    sim.run(n);
    check_lifecycle(&sim, mode, n, seed);
}

/// Every connection completed and closed in order, and both tables are empty.
fn check_lifecycle(sim: &Sim, mode: CloseMode, n: u64, seed: u64) {
    for (id, c) in &sim.client_app.clients {
        assert_eq!(
            c.terminal,
            Some(EventKind::Closed),
            "client {id:?} (seed {seed})"
        );
        assert_eq!(c.received, c.response, "client {id:?} (seed {seed})");
    }
    assert_eq!(
        sim.server_app.servers.len() as u64,
        n,
        "accepted connections (seed {seed})"
    );
    for (id, s) in &sim.server_app.servers {
        assert_eq!(
            s.terminal,
            Some(EventKind::Closed),
            "server {id:?} (seed {seed})"
        );
        assert!(s.responded, "server {id:?} (seed {seed})");
    }
    for (side, e) in [("client", &sim.client), ("server", &sim.server)] {
        assert_eq!(
            e.tcb_count(),
            0,
            "{side} TCBs left after 2MSL (seed {seed})"
        );
        assert_eq!(
            e.time_wait_count(),
            0,
            "{side} TIME-WAIT left after 2MSL (seed {seed})"
        );
        assert_eq!(e.stats().timeouts, 0, "{side} timeouts (seed {seed})");
        assert_eq!(
            e.stats().illegal_transitions,
            0,
            "{side} illegal state transitions (seed {seed})"
        );
    }
    let (c, s) = (sim.client.stats(), sim.server.stats());
    assert_eq!(c.connected, n);
    assert_eq!(s.passive_opens, n);
    // Who waits in TIME-WAIT is the one who closed first (RFC 9293 §3.6).
    match mode {
        CloseMode::ClientFirst => assert_eq!(c.time_wait_entered, n),
        CloseMode::ServerFirst => assert_eq!(s.time_wait_entered, n),
        CloseMode::Simultaneous => assert!(c.time_wait_entered + s.time_wait_entered >= n),
    }
    println!(
        "  client: {} retransmits, {} out of order; server: {} retransmits, {} out of order",
        c.retransmits, c.out_of_order, s.retransmits, s.out_of_order
    );
}

#[test]
fn rfc9293_3_6_client_first_close_clean_wire() {
    lifecycle(CloseMode::ClientFirst, CLEAN);
}

#[test]
fn rfc9293_3_6_server_first_close_clean_wire() {
    lifecycle(CloseMode::ServerFirst, CLEAN);
}

#[test]
fn rfc9293_3_6_simultaneous_close_clean_wire() {
    lifecycle(CloseMode::Simultaneous, CLEAN);
}

#[test]
fn rfc9293_3_6_client_first_close_lossy_wire() {
    lifecycle(CloseMode::ClientFirst, LOSSY);
}

#[test]
fn rfc9293_3_6_server_first_close_lossy_wire() {
    lifecycle(CloseMode::ServerFirst, LOSSY);
}

#[test]
fn rfc9293_3_6_simultaneous_close_lossy_wire() {
    lifecycle(CloseMode::Simultaneous, LOSSY);
}

/// A wire losing `loss` of frames, duplicating 1%, with 1 ms of delay,
/// and 2% of frames up to 300 µs late (so some reordering), carrying
/// 64 KiB responses.
fn lossy_64k(loss: f64) -> (Sim, u64) {
    let seed = seed();
    let n = connections().min(400);
    let faults = Faults {
        loss,
        duplicate: 0.01,
        delay: Duration::from_millis(1),
        jitter: Duration::from_micros(300),
        reorder: 0.02,
    };
    println!("sim 64 KiB responses {faults:?}: seed {seed} (replay with SYNWAVE_SIM_SEED={seed}), {n} connections");
    let mut sim = Sim::new(seed, CloseMode::ClientFirst, faults);
    sim.client_app.response_len = 65536..65537;
    sim.run(n);
    check_lifecycle(&sim, CloseMode::ClientFirst, n, seed);
    let (c, s) = (sim.client.stats(), sim.server.stats());
    let lost = sim.to_client.lost + sim.to_server.lost;
    let rto = c.retransmits + s.retransmits;
    println!(
        "  loss {:.0}%: {lost} segments lost, {rto} RTO retransmissions, {} fast retransmits, {} recoveries, {} TLPs; {} out of order queued, {} dropped; {} spurious retransmissions (D-SACK), {} undone; {} RACK retransmissions, {} RACK reorder timeouts; {} delayed ACKs",
        loss * 100.0,
        c.fast_retransmits + s.fast_retransmits,
        c.recoveries + s.recoveries,
        c.tlps + s.tlps,
        c.ooo_queued + s.ooo_queued,
        c.ooo_dropped + s.ooo_dropped,
        c.spurious_retransmits + s.spurious_retransmits,
        c.undos + s.undos,
        c.rack_retransmits + s.rack_retransmits,
        c.rack_reorder_timeouts + s.rack_reorder_timeouts,
        c.delayed_acks + s.delayed_acks,
    );
    assert!(
        rto < lost,
        "{rto} RTO retransmissions for {lost} lost segments (seed {seed})"
    );
    (sim, seed)
}

#[test]
fn rfc5681_rfc6582_rfc8985_one_percent_loss_64k_responses() {
    lossy_64k(0.01);
}

#[test]
fn rfc5681_rfc6582_rfc8985_three_percent_loss_64k_responses() {
    lossy_64k(0.03);
}

#[test]
fn rfc5681_rfc6582_rfc8985_ten_percent_loss_64k_responses() {
    lossy_64k(0.10);
}

#[test]
fn rfc9293_3_8_6_1_zero_window_reopens_after_a_lost_window_update() {
    let seed = seed();
    let n = connections().min(300);
    println!("sim zero window for 3 s: seed {seed}, {n} connections");
    let mut sim = Sim::new(seed, CloseMode::ClientFirst, CLEAN);
    // The server's window stays shut for 3 s and then opens without a
    // window update: only the clients' probes can find out.
    sim.shut_until = sim.now + Duration::from_secs(3);
    sim.run(n);
    check_lifecycle(&sim, CloseMode::ClientFirst, n, seed);
    let c = sim.client.stats();
    assert!(
        c.persist_probes >= n,
        "{} probes for {n} connections",
        c.persist_probes
    );
    assert_eq!(c.persist_timeouts, 0);
}

#[test]
fn rfc6429_window_shut_forever_ends_with_the_persist_timeout() {
    let seed = seed();
    let n = connections().min(200);
    println!("sim zero window forever: seed {seed}, {n} connections");
    let mut sim = Sim::new(seed, CloseMode::ClientFirst, CLEAN);
    sim.shut_until = Instant::from_nanos(u64::MAX);
    let start = sim.now;
    sim.run(n);
    for (id, c) in &sim.client_app.clients {
        assert_eq!(
            c.terminal,
            Some(EventKind::TimedOut(TimeoutReason::Persist)),
            "client {id:?} (seed {seed})"
        );
    }
    let c = sim.client.stats();
    assert_eq!(c.persist_timeouts, n, "seed {seed}");
    assert_eq!(c.timeouts, n, "seed {seed}");
    assert_eq!(sim.client.tcb_count(), 0, "seed {seed}");
    assert!(sim.now - start >= config().persist_timeout);
}
