//! Full connection lifecycles — handshake and teardown — between a client
//! and a server engine in one thread, each turn the workers' `app::turn`:
//! what one core does for both ends.
//!
//! The simulated clock advances 1 µs per lifecycle (a 1M/s load) and MSL is
//! 50 ms, so about 100,000 TIME-WAIT records are alive at steady state and
//! every one expires through the timer wheel as in a real run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant as WallClock};
use synwave::app::{turn, App};
use synwave::tcp::{Config, Engine, EventKind, Events, FrameBatch, Instant};
use synwave::wire::MacAddr;

const BATCH: u64 = 64;
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 1), 80);

/// The client: opens the connections it is asked to, sends the request or
/// closes once connected, closes when the server has, counts the closed.
struct Client {
    payload: Option<(&'static [u8], &'static [u8])>,
    to_open: u64,
    next_src: u64,
    closed: u64,
}

impl App for Client {
    fn poll(&mut self, engine: &mut Engine, now: Instant) {
        for _ in 0..std::mem::take(&mut self.to_open) {
            let n = self.next_src % 500_000;
            self.next_src += 1;
            let src = SocketAddrV4::new(
                Ipv4Addr::new(10, 2, (n / 50_000) as u8, 1),
                10_000 + (n % 50_000) as u16,
            );
            engine
                .connect(now, src, SERVER, MacAddr([2, 0, 0, 0, 0, 2]))
                .unwrap();
        }
    }

    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        for ev in events {
            match ev.kind {
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
    payload: Option<(&'static [u8], &'static [u8])>,
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
struct Pair {
    client: Engine,
    server: Engine,
    client_app: Client,
    server_app: Server,
    now: Instant,
    events: Events,
    c2s: FrameBatch,
    s2c: FrameBatch,
}

impl Pair {
    fn new(payload: Option<(&'static [u8], &'static [u8])>) -> Self {
        let cfg = Config {
            msl: Duration::from_millis(25),
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
                closed: 0,
            },
            server_app: Server { payload },
            now,
            events: Events::new(),
            c2s: FrameBatch::with_capacity(256, 128),
            s2c: FrameBatch::with_capacity(256, 128),
        }
    }

    /// Opens, runs and closes `BATCH` connections; returns how many closed.
    fn round(&mut self) -> u64 {
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

fn lifecycles_per_second(
    payload: Option<(&'static [u8], &'static [u8])>,
    run_for: Duration,
) -> f64 {
    let mut pair = Pair::new(payload);
    let start = WallClock::now();
    let mut done = 0;
    while start.elapsed() < run_for {
        done += pair.round();
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn lifecycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("lifecycle");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("handshake_teardown", |b| {
        let mut pair = Pair::new(None);
        b.iter(|| black_box(pair.round()))
    });
    group.bench_function("handshake_request_response_teardown", |b| {
        let mut pair = Pair::new(Some((
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        )));
        b.iter(|| black_box(pair.round()))
    });
    group.finish();

    // The figure issue #2 asks for: both ends on this one core.
    let (c1, c2) = Engine::bytes_per_entry();
    let bare = lifecycles_per_second(None, Duration::from_secs(3));
    let rr = lifecycles_per_second(
        Some((
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        )),
        Duration::from_secs(3),
    );
    println!("lifecycles per second per core (client and server engines on one core):");
    println!("  handshake + teardown:                     {:>10.0}", bare);
    println!("  handshake + request/response + teardown:  {:>10.0}", rr);
    println!("bytes per established TCB: {c1}, per TIME-WAIT entry: {c2}");
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
