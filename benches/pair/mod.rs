//! A client and a server engine in one thread, each turn the workers'
//! `app::turn`: what one core does for both ends. Shared by the lifecycle
//! and scale benches.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use synwave::app::{turn, App};
use synwave::tcp::{Config, Engine, EventKind, Events, FrameBatch, Instant};
use synwave::wire::MacAddr;

// As the `synwave` binary allocates: the engines' tables on huge pages.
#[global_allocator]
static ALLOC: synwave::io::HugePageAlloc = synwave::io::HugePageAlloc;

pub const BATCH: u64 = 64;
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 1), 80);
/// Client ports per source address.
const PORTS: u64 = 50_000;

pub type Payload = Option<(&'static [u8], &'static [u8])>;

pub const REQUEST_RESPONSE: Payload = Some((
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
));

/// How the pair is sized: the simulated clock advances 1 µs per lifecycle,
/// so 2MSL of `msl` keeps about `2 * msl / 1 µs` TIME-WAIT records alive.
pub struct Shape {
    pub msl: Duration,
    /// Tuples cycled through; each is reused only after all the others.
    pub tuples: u64,
    /// Tuple `i` is number `i * stride % tuples`: 1 walks them in order, a
    /// large prime scatters consecutive connections over the table.
    pub stride: u64,
    pub max_time_wait: usize,
    pub max_tcbs: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            msl: Duration::from_millis(25),
            tuples: 500_000,
            stride: 1,
            max_time_wait: Config::default().max_time_wait,
            max_tcbs: Config::default().max_tcbs,
        }
    }
}

/// Source `n` of a numbered tuple space starting at address `base`.
fn source(base: u32, n: u64) -> SocketAddrV4 {
    let addr = base + (n / PORTS) as u32;
    SocketAddrV4::new(Ipv4Addr::from(addr), 10_000 + (n % PORTS) as u16)
}

/// The client: opens the connections it is asked to, sends the request or
/// closes once connected, closes when the server has, counts the closed.
/// Connections opened as idle stay established.
struct Client {
    payload: Payload,
    to_open: u64,
    next_src: u64,
    tuples: u64,
    stride: u64,
    idle: bool,
    next_idle: u64,
    closed: u64,
}

impl App for Client {
    fn poll(&mut self, engine: &mut Engine, now: Instant) {
        // In runs, each run's lookups started before its opens, as
        // `synwave load` opens (see `Engine::open_ahead`).
        let mut run = [SERVER; Engine::OPEN_AHEAD];
        while self.to_open > 0 {
            let n = self.to_open.min(run.len() as u64) as usize;
            self.to_open -= n as u64;
            for src in &mut run[..n] {
                *src = if self.idle {
                    self.next_idle += 1;
                    source(u32::from(Ipv4Addr::new(10, 200, 0, 1)), self.next_idle)
                } else {
                    let n = self.next_src.wrapping_mul(self.stride) % self.tuples;
                    self.next_src += 1;
                    source(u32::from(Ipv4Addr::new(10, 2, 0, 1)), n)
                };
                engine.open_ahead(*src, SERVER);
            }
            for &src in &run[..n] {
                engine
                    .connect(now, src, SERVER, MacAddr([2, 0, 0, 0, 0, 2]))
                    .unwrap();
            }
        }
    }

    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        for ev in events {
            match ev.kind {
                EventKind::Connected if self.idle => {}
                EventKind::Connected => match self.payload {
                    Some((request, _)) => {
                        engine.send(ev.conn, request).unwrap();
                    }
                    None => engine.close(ev.conn, now).unwrap(),
                },
                // With a payload the server closes first; without, the
                // client already did.
                EventKind::PeerClosed if self.payload.is_some() => {
                    engine.close(ev.conn, now).unwrap()
                }
                EventKind::Closed => self.closed += 1,
                _ => {}
            }
        }
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("closed", self.closed)]
    }
}

/// The server: answers the request (if any) and closes first, or closes
/// when the client has.
struct Server {
    payload: Payload,
}

impl App for Server {
    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        for ev in events {
            match ev.kind {
                EventKind::Data { .. } => {
                    if let Some((_, response)) = self.payload {
                        engine.send(ev.conn, response).unwrap();
                    }
                    engine.close(ev.conn, now).unwrap();
                }
                EventKind::PeerClosed if self.payload.is_none() => {
                    engine.close(ev.conn, now).unwrap()
                }
                _ => {}
            }
        }
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// Both engines with their applications, driven by the workers' `turn`.
pub struct Pair {
    pub client: Engine,
    pub server: Engine,
    client_app: Client,
    server_app: Server,
    now: Instant,
    events: Events,
    c2s: FrameBatch,
    s2c: FrameBatch,
}

impl Pair {
    pub fn new(payload: Payload, shape: Shape) -> Self {
        let cfg = Config {
            msl: shape.msl,
            max_time_wait: shape.max_time_wait,
            max_tcbs: shape.max_tcbs,
            ..Config::default()
        };
        let now = Instant::from_millis(1);
        let mut server =
            Engine::new(cfg.clone(), MacAddr([2, 0, 0, 0, 0, 2]), [1; 16], now).unwrap();
        server.listen(SERVER).unwrap();
        Pair {
            client: Engine::new(cfg, MacAddr([2, 0, 0, 0, 0, 1]), [2; 16], now).unwrap(),
            server,
            client_app: Client {
                payload,
                to_open: 0,
                next_src: 0,
                tuples: shape.tuples,
                stride: shape.stride,
                idle: false,
                next_idle: 0,
                closed: 0,
            },
            server_app: Server { payload },
            now,
            events: Events::new(),
            c2s: FrameBatch::with_capacity(256, 128),
            s2c: FrameBatch::with_capacity(256, 128),
        }
    }

    /// Opens `count` connections that stay established on both sides.
    pub fn open_idle(&mut self, count: u64) {
        self.client_app.idle = true;
        for _ in 0..count.div_ceil(BATCH) {
            self.round();
        }
        self.client_app.idle = false;
    }

    /// Opens, runs and closes `BATCH` connections; returns how many closed.
    pub fn round(&mut self) -> u64 {
        let now = self.now;
        let before = self.client_app.closed;
        self.client_app.to_open = BATCH;
        self.c2s.clear();
        turn(
            &mut self.client,
            &mut self.client_app,
            &mut self.events,
            now,
            [],
            &mut self.c2s,
        );
        while !self.c2s.is_empty() {
            self.s2c.clear();
            turn(
                &mut self.server,
                &mut self.server_app,
                &mut self.events,
                now,
                self.c2s.iter(),
                &mut self.s2c,
            );
            self.c2s.clear();
            turn(
                &mut self.client,
                &mut self.client_app,
                &mut self.events,
                now,
                self.s2c.iter(),
                &mut self.c2s,
            );
        }
        // Timers due by the next round fire in its first turns.
        self.now = now + Duration::from_micros(BATCH);
        self.client_app.closed - before
    }
}
