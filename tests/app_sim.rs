//! The applications the CLI runs — `LoadApp`, `ConnectApp`, `ServerApp` —
//! on two engines joined by a simulated wire, driven by the same `turn` as
//! the AF_XDP worker (no kernel, no clock, no root): the tuple policy, the
//! rate schedule, response matching, the per-connection timeouts and the
//! grace period, and the server's and the connector's counts.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use synwave::app::report::ERROR_CLASSES;
use synwave::app::{turn, App};
use synwave::app::{
    CloseMode, ConnectApp, ConnectOptions, LoadApp, LoadClose, LoadOptions, ResponseEnd, ServerApp,
};
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
        response_timeout: Some(Duration::from_millis(500)),
        connect_timeout: Some(Duration::from_millis(500)),
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

    /// One turn of the worker's loop, the worker's own `turn`; returns the
    /// frames it sent.
    fn turn(&mut self, now: Instant, rx: &[Vec<u8>]) -> Vec<Vec<u8>> {
        self.tx.clear();
        turn(
            &mut self.engine,
            &mut self.app,
            &mut self.events,
            now,
            rx.iter().map(Vec::as_slice),
            &mut self.tx,
        );
        self.tx.iter().map(<[u8]>::to_vec).collect()
    }
}

/// Runs `client` against a server (or, with `server: None`, into a black
/// hole) until it is finished; returns both sides' counters, how long it
/// took, and how many TIME-WAIT records the client's connects took over.
fn drive<A: App>(
    client: A,
    server: Option<CloseMode>,
    cfg: Config,
) -> (Counts, Counts, Duration, u64) {
    let start = Instant::from_millis(1_000_000);
    let mut client = Side::new(cfg.clone(), CLIENT_MAC, 1, client, start);
    let close = server.unwrap_or(CloseMode::ServerFirst);
    let mut srv = Side::new(
        cfg,
        SERVER_MAC,
        2,
        ServerApp::new(Some(RESPONSE.to_vec()), close),
        start,
    );
    if server.is_some() {
        srv.engine.listen(SERVER).expect("listen");
    }
    let (mut to_server, mut to_client): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
    let mut now = start;
    let limit = start + Duration::from_secs(60);
    let mut finished = false;
    let mut took = Duration::ZERO;
    // Until the client is finished, then a little longer so that the last
    // ACKs in flight reach the server.
    for _ in 0..100 {
        while !finished {
            assert!(now < limit, "never finished: {:?}", client.app.counters());
            finished = wire_turn(
                &mut client,
                &mut srv,
                &mut to_server,
                &mut to_client,
                server.is_some(),
                now,
            );
            now = now + DELAY;
            took = now - start;
        }
        wire_turn(
            &mut client,
            &mut srv,
            &mut to_server,
            &mut to_client,
            server.is_some(),
            now,
        );
        now = now + DELAY;
    }
    let reopened = client.engine.stats().time_wait_reopened;
    (client.app.counters(), srv.app.counters(), took, reopened)
}

/// One turn of both sides; frames cross the wire unless it is a black
/// hole. Returns whether the client is finished.
fn wire_turn<A: App>(
    client: &mut Side<A>,
    srv: &mut Side<ServerApp>,
    to_server: &mut Vec<Vec<u8>>,
    to_client: &mut Vec<Vec<u8>>,
    connected: bool,
    now: Instant,
) -> bool {
    let out = client.turn(now, &std::mem::take(to_client));
    let back = srv.turn(now, &std::mem::take(to_server));
    if connected {
        *to_server = out;
        *to_client = back;
    }
    client.app.finished()
}

/// Runs a load; returns its counters, how long it took and the takeovers.
fn run(load: LoadOptions, server: Option<CloseMode>, cfg: Config) -> (Counts, Duration, u64) {
    let (c, _, took, reopened) = drive(LoadApp::new(load), server, cfg);
    (c, took, reopened)
}

/// An application's counters, by name.
type Counts = Vec<(&'static str, u64)>;

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

#[test]
fn a_rate_is_held_from_the_intended_start_times_and_counts_reconcile() {
    // 2000/s for 3 s, open loop: exactly the schedule's 6000 (edges aside).
    let load = LoadOptions {
        rate: Some(2000.0),
        concurrency: None,
        ..options((10000, 30000))
    };
    let (c, _, _) = run(load, Some(CloseMode::ServerFirst), Config::default());
    let started = get(&c, "started");
    assert!((5990..=6010).contains(&started), "started {started}: {c:?}");
    assert_eq!(get(&c, "completed") + errors(&c), started, "{c:?}");
    assert_eq!(errors(&c), 0, "{c:?}");
    assert_eq!(get(&c, "responses"), started, "{c:?}");
}

#[test]
fn a_response_ends_at_its_delimiter_and_a_missing_one_is_a_response_timeout() {
    let found = LoadOptions {
        response: ResponseEnd::Delimiter(b"\r\n\r\nok".to_vec()),
        connections: Some(50),
        duration: None,
        ..options((10000, 30000))
    };
    let (c, _, _) = run(found, Some(CloseMode::WaitClient), Config::default());
    assert_eq!(get(&c, "completed"), 50, "{c:?}");
    let missing = LoadOptions {
        response: ResponseEnd::Delimiter(b"never sent".to_vec()),
        connections: Some(20),
        duration: None,
        ..options((10000, 30000))
    };
    let (c, _, _) = run(missing, Some(CloseMode::WaitClient), Config::default());
    assert_eq!(get(&c, "response_timeout"), 20, "{c:?}");
    assert_eq!(get(&c, "started"), 20, "{c:?}");
}

#[test]
fn the_connector_opens_its_count_and_the_server_answers_each() {
    let connect = ConnectApp::new(ConnectOptions {
        src: CLIENT_IP,
        ports: (10000, 10099),
        target: SERVER,
        next_hop: SERVER_MAC,
        count: 500,
        concurrency: 16,
        request: Some(REQUEST.to_vec()),
        first_port: 7,
    });
    let (c, s, _, _) = drive(connect, Some(CloseMode::WaitClient), Config::default());
    for (k, want) in [
        ("opened", 500),
        ("connected", 500),
        ("closed", 500),
        ("refused", 0),
        ("timed_out", 0),
    ] {
        assert_eq!(get(&c, k), want, "{k}: {c:?}");
    }
    assert!(
        get(&c, "bytes_received") >= 500 * RESPONSE.len() as u64 / 2,
        "{c:?}"
    );
    for (k, want) in [
        ("accepted", 500),
        ("requests", 500),
        ("responses", 500),
        ("closed", 500),
        ("reset", 0),
    ] {
        assert_eq!(get(&s, k), want, "server {k}: {s:?}");
    }
}

#[test]
fn the_connector_to_a_closed_port_is_refused() {
    let connect = ConnectApp::new(ConnectOptions {
        src: CLIENT_IP,
        ports: (10000, 10099),
        target: SocketAddrV4::new(*SERVER.ip(), 81),
        next_hop: SERVER_MAC,
        count: 30,
        concurrency: 4,
        request: None,
        first_port: 0,
    });
    let (c, _, _, _) = drive(connect, Some(CloseMode::ServerFirst), Config::default());
    assert_eq!(
        (get(&c, "opened"), get(&c, "refused"), get(&c, "connected")),
        (30, 30, 0),
        "{c:?}"
    );
}
