//! `LoadApp` and `ServerApp` on two engines joined by a simulated wire (no
//! kernel, no clock): the tuple policy, the per-connection timeouts and the
//! grace period, checked on simulated time.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use synwave::app::report::ERROR_CLASSES;
use synwave::app::{CloseMode, LoadApp, LoadClose, LoadOptions, ResponseEnd, ServerApp};
use synwave::io::worker::App;
use synwave::tcp::{Config, Engine, Events, FrameBatch, Instant};
use synwave::wire::MacAddr;

const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80);
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
/// One-way delay of the wire.
const DELAY: Duration = Duration::from_micros(50);

fn options(ports: (u16, u16)) -> LoadOptions {
    LoadOptions {
        target: SERVER,
        next_hop: SERVER_MAC,
        addresses: vec![CLIENT_IP],
        ports,
        rate: None,
        ramp_up: Duration::ZERO,
        concurrency: Some(4),
        connections: None,
        duration: Some(Duration::from_secs(3)),
        warm_up: Duration::ZERO,
        request: Some(REQUEST.to_vec()),
        requests_per_connection: 1,
        response: ResponseEnd::Bytes(RESPONSE.len()),
        close: LoadClose::Fin,
        response_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        grace: Duration::from_millis(500),
        first_port: 0,
    }
}

/// One side: an engine, its application, and what it sends.
struct Side<A: App> {
    engine: Engine,
    app: A,
    events: Events,
    tx: FrameBatch,
}

impl<A: App> Side<A> {
    fn new(cfg: Config, mac: MacAddr, seed: u8, app: A, now: Instant) -> Self {
        Side {
            engine: Engine::new(cfg, mac, [seed; 16], now).expect("valid config"),
            app,
            events: Events::new(),
            tx: FrameBatch::new(),
        }
    }

    /// One turn of the worker's loop; returns the frames it sent.
    fn turn(&mut self, now: Instant, rx: &[Vec<u8>]) -> Vec<Vec<u8>> {
        self.tx.clear();
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now, &mut self.tx);
        }
        self.engine
            .handle_frames(now, rx.iter().map(Vec::as_slice), &mut self.tx);
        self.engine.swap_events(&mut self.events);
        let events = std::mem::take(&mut self.events);
        self.app.on_events(&mut self.engine, &events, now);
        self.events = events;
        self.app.poll(&mut self.engine, now);
        self.engine.poll_transmit(now, &mut self.tx);
        self.tx.iter().map(<[u8]>::to_vec).collect()
    }
}

/// Runs the load against a server (or, with `server: None`, into a black
/// hole) until the load is finished; returns its counters and the end time.
fn run(
    load: LoadOptions,
    server: Option<CloseMode>,
    cfg: Config,
) -> (Vec<(&'static str, u64)>, Duration, u64) {
    let start = Instant::from_millis(1_000_000);
    let mut client = Side::new(cfg.clone(), CLIENT_MAC, 1, LoadApp::new(load), start);
    let mut srv = Side::new(
        cfg,
        SERVER_MAC,
        2,
        ServerApp::new(Some(RESPONSE.to_vec()), CloseMode::ServerFirst),
        start,
    );
    if let Some(close) = server {
        srv.app = ServerApp::new(Some(RESPONSE.to_vec()), close);
        srv.engine.listen(SERVER).expect("listen");
    }
    let (mut to_server, mut to_client): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
    let mut now = start;
    let limit = start + Duration::from_secs(60);
    while !client.app.finished() {
        assert!(
            now < limit,
            "the load never finished: {:?}",
            client.app.counters()
        );
        let out = client.turn(now, &std::mem::take(&mut to_client));
        let back = srv.turn(now, &std::mem::take(&mut to_server));
        if server.is_some() {
            to_server = out;
            to_client = back;
        }
        now = now + DELAY;
    }
    let reopened = client.engine.stats().time_wait_reopened;
    (client.app.counters(), now - start, reopened)
}

fn get(c: &[(&'static str, u64)], k: &str) -> u64 {
    c.iter().find(|(n, _)| *n == k).map_or(0, |&(_, v)| v)
}

fn errors(c: &[(&'static str, u64)]) -> u64 {
    ERROR_CLASSES.iter().map(|k| get(c, k)).sum()
}

#[test]
fn rfc6191_tuples_the_server_holds_come_back_at_once() {
    // 10 tuples, the server closes first: far more than 10 connections.
    let (c, _, _) = run(
        options((10000, 10009)),
        Some(CloseMode::ServerFirst),
        Config::default(),
    );
    assert_eq!(errors(&c), 0, "{c:?}");
    assert_eq!(get(&c, "started"), get(&c, "completed"), "{c:?}");
    assert!(get(&c, "started") > 1000, "{c:?}");
}

#[test]
fn linux_tcp_tw_reuse_tuples_we_hold_come_back_after_a_second_with_timestamps() {
    // We close first: each of 10 tuples once per second, 3 s → about 30-40.
    let (c, _, reopened) = run(
        options((10000, 10009)),
        Some(CloseMode::WaitClient),
        Config::default(),
    );
    assert_eq!(errors(&c), 0, "{c:?}");
    let started = get(&c, "started");
    assert!((30..=45).contains(&started), "started {started}: {c:?}");
    assert!(reopened >= 20, "reopened {reopened}: {c:?}");
    assert!(get(&c, "no_free_tuple") > 0, "{c:?}");
}

#[test]
fn rfc9293_3_4_2_without_timestamps_tuples_we_hold_rest_2msl() {
    let cfg = Config {
        timestamps: false,
        msl: Duration::from_secs(30),
        ..Config::default()
    };
    let (c, _, reopened) = run(options((10000, 10009)), Some(CloseMode::WaitClient), cfg);
    assert_eq!(errors(&c), 0, "{c:?}");
    // Each tuple once in the 3 s run: 2MSL is a minute.
    assert_eq!(get(&c, "started"), 10, "{c:?}");
    assert_eq!(reopened, 0);
}

#[test]
fn connect_timeout_and_the_grace_period_end_a_run_into_a_black_hole_on_time() {
    let (c, took, _) = run(options((10000, 10999)), None, Config::default());
    // Every connection is a connect timeout; the last ones, opened just
    // before the 3 s are over, end within the grace period.
    assert_eq!(get(&c, "started"), errors(&c), "{c:?}");
    assert!(get(&c, "connect_timeout") > 0, "{c:?}");
    assert_eq!(get(&c, "completed"), 0, "{c:?}");
    assert!(
        took <= Duration::from_millis(3_500) + DELAY * 4,
        "took {took:?}: {c:?}"
    );
}

#[test]
fn shutdown_aborts_what_is_open_and_counts_it_unfinished() {
    let start = Instant::from_millis(1_000_000);
    let mut client = Side::new(
        Config::default(),
        CLIENT_MAC,
        1,
        LoadApp::new(options((10000, 10999))),
        start,
    );
    let mut now = start;
    for _ in 0..100 {
        client.turn(now, &[]);
        now = now + DELAY;
    }
    client.app.shutdown(&mut client.engine, now);
    let c = client.app.counters();
    assert_eq!(get(&c, "started"), 4, "{c:?}");
    assert_eq!(get(&c, "unfinished"), 4, "{c:?}");
    assert_eq!(get(&c, "interrupted"), 1, "{c:?}");
    assert!(client.app.finished());
    assert_eq!(client.engine.tcb_count(), 0);
}
