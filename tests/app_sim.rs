//! The applications the CLI runs — `LoadApp`, `ConnectApp`, `ServerApp` —
//! on two engines joined by a simulated wire, driven by the same `turn` as
//! the AF_XDP worker (no kernel, no clock, no root): the tuple policy, the
//! rate schedule, response matching, the per-connection timeouts and the
//! grace period, HTTP/1.x framing and status classes, and the server's and
//! the connector's counts.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::Histogram;
use synwave::app::interval::{hdr_log_header, Interval, Intervals};
use synwave::app::load::OPENS_PER_TURN;
use synwave::app::merge;
use synwave::app::plan::response_end;
use synwave::app::report::{
    generator_limits, load_result, measured_s, Provenance, Summary, ERROR_CLASSES, HISTOGRAMS,
    LOAD_COUNTS, SCHEDULE_LAG, STATUS_CLASSES,
};
use synwave::app::segment::{test_options, Segment};
use synwave::app::{turn, App};
use synwave::app::{
    CloseMode, ConnectApp, ConnectOptions, LoadApp, LoadClose, LoadOptions, ResponseEnd, ServerApp,
};
use synwave::tcp::{Config, ConnId, Engine, EventKind, Events, FrameBatch, Instant};
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
        stages: Vec::new(),
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
        home: None,
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
    let close = server.unwrap_or(CloseMode::ServerFirst);
    let app = ServerApp::new(Some(RESPONSE.to_vec()), close);
    drive_with(client, app, server.is_some(), cfg)
}

/// Like [`drive`], against the server application `app` (listening unless
/// `!listen`, which makes the wire a black hole).
fn drive_with<A: App, S: App>(
    client: A,
    app: S,
    listen: bool,
    cfg: Config,
) -> (Counts, Counts, Duration, u64) {
    let (client, s, took, reopened) = drive_stepping(client, app, listen, cfg, DELAY);
    (client.counters(), s, took, reopened)
}

/// Like [`drive_with`], with a turn of each side every `step` (frames
/// cross the wire in one step): a longer step is a worker that gets a turn
/// less often than connections are due. Returns the client application.
fn drive_stepping<A: App, S: App>(
    client: A,
    app: S,
    listen: bool,
    cfg: Config,
    step: Duration,
) -> (A, Counts, Duration, u64) {
    let start = Instant::from_millis(1_000_000);
    let mut client = Side::new(cfg.clone(), CLIENT_MAC, 1, client, start);
    let mut srv = Side::new(cfg, SERVER_MAC, 2, app, start);
    let server = listen.then_some(());
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
            now = now + step;
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
        now = now + step;
    }
    let reopened = client.engine.stats().time_wait_reopened;
    (client.app, srv.app.counters(), took, reopened)
}

/// One turn of both sides; frames cross the wire unless it is a black
/// hole. Returns whether the client is finished.
fn wire_turn<A: App, S: App>(
    client: &mut Side<A>,
    srv: &mut Side<S>,
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
fn tuples_taken_ahead_for_their_lookups_open_in_the_allocators_order() {
    // Into a black hole, four at a time: each connect timeout frees room
    // for four more. The tuples are taken `Engine::OPEN_AHEAD` opens
    // ahead of their SYNs; none may be skipped, repeated or reordered.
    let load = LoadOptions {
        duration: Some(Duration::from_millis(1_600)),
        ..options((10000, 10099))
    };
    let mut client = Side::new(
        Config::default(),
        CLIENT_MAC,
        1,
        LoadApp::new(load),
        Instant::ZERO,
    );
    let mut ports = Vec::new();
    for ms in 0..1_600 {
        for frame in client.turn(Instant::ZERO + Duration::from_millis(ms), &[]) {
            let f = synwave::wire::parse_tcp_frame(&frame, true).expect("our frames parse");
            if f.tcp.flags.syn() {
                ports.push(f.tcp.src_port);
            }
        }
    }
    // SYNs at 0, 500 and 1,000 ms, then 1,500 ms (the RTO, 1 s, is past
    // the connect timeout: no SYN is sent twice).
    assert_eq!(ports, (10000..10016).collect::<Vec<u16>>());
}

#[test]
fn mtcp_a_worker_kept_to_the_tuples_rss_steers_home_runs_on_them_alone() {
    use synwave::wire::rss::{Rss, VERIFICATION_KEY};
    let rss = Rss {
        key: VERIFICATION_KEY.to_vec(),
        table: (0..128).map(|i| i % 2).collect(),
    };
    let ports = (10000, 10099);
    let home = |queue| LoadOptions {
        connections: Some(200),
        duration: None,
        home: Some((rss.clone(), queue)),
        ..options(ports)
    };
    for queue in 0..2 {
        let (c, _, _) = run(home(queue), Some(CloseMode::ServerFirst), Config::default());
        assert_eq!(errors(&c), 0, "queue {queue}: {c:?}");
        assert_eq!(get(&c, "completed"), 200, "queue {queue}: {c:?}");
    }
    // Half of the 100 ports or so come home to each queue; one that no
    // port does cannot open anything.
    let nowhere = Rss {
        table: vec![0],
        ..rss.clone()
    };
    let (c, _, _) = run(
        LoadOptions {
            home: Some((nowhere, 1)),
            duration: Some(Duration::from_millis(200)),
            ..options(ports)
        },
        Some(CloseMode::ServerFirst),
        Config::default(),
    );
    assert_eq!(get(&c, "completed"), 0, "{c:?}");
    assert!(get(&c, "no_free_tuple") > 0, "{c:?}");
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

/// An HTTP/1.1 server on the simulated wire: it answers the requests of a
/// connection (each up to its empty line) with `responses` in turn, and
/// closes when the client does.
struct HttpServer {
    responses: Vec<Vec<u8>>,
    sent: usize,
    /// Request bytes of each connection not yet answered, and how many of
    /// its requests were.
    pending: HashMap<ConnId, (Vec<u8>, usize)>,
}

impl HttpServer {
    fn new(responses: &[&[u8]]) -> Self {
        HttpServer {
            responses: responses.iter().map(|r| r.to_vec()).collect(),
            sent: 0,
            pending: HashMap::new(),
        }
    }
}

impl App for HttpServer {
    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        for ev in events {
            match ev.kind {
                EventKind::Data { .. } => {
                    let (buf, answered) = self.pending.entry(ev.conn).or_default();
                    buf.extend_from_slice(events.data(&ev.kind));
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let r = &self.responses[*answered % self.responses.len()];
                        *answered += 1;
                        self.sent += 1;
                        engine.send(ev.conn, r).expect("room for the response");
                    }
                }
                EventKind::PeerClosed => {
                    let _ = engine.close(ev.conn, now);
                }
                kind if kind.is_terminal() => {
                    self.pending.remove(&ev.conn);
                }
                _ => {}
            }
        }
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("responses", self.sent as u64)]
    }
}

/// `connections` connections of `requests` HTTP requests each, the default
/// framing chosen for `request`, closed by us.
fn http_load(request: &[u8], connections: u64, requests: u32) -> LoadOptions {
    LoadOptions {
        request: Some(request.to_vec()),
        requests_per_connection: requests,
        response: response_end(None, Some(request)),
        connections: Some(connections),
        duration: None,
        ..options((10000, 30000))
    }
}

/// A chunked response of `body`, cut into chunks of `size` bytes (RFC 9112
/// §7.1), with an extension and a trailer field.
fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in body.chunks(size) {
        r.extend_from_slice(format!("{:x};ext=1\r\n", chunk.len()).as_bytes());
        r.extend_from_slice(chunk);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");
    r
}

fn content_length(status: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn status_counts(c: &[(&'static str, u64)]) -> Vec<u64> {
    STATUS_CLASSES.iter().map(|k| get(c, k)).collect()
}

#[test]
fn rfc9112_6_3_content_length_and_chunked_responses_end_exactly_at_their_end() {
    // Bodies over an MSS, so responses span segments and framing lines
    // straddle them; four requests per connection, so a response that
    // ended early or late would put the next one off: its bytes would be
    // taken for a status line (bad_response) or never end (timeout).
    let body: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let responses = [
        content_length("200 OK", &body),
        chunked(&body, 1000),
        content_length("301 Moved Permanently", b""),
        chunked(&body[..7], 3),
    ];
    let refs: Vec<&[u8]> = responses.iter().map(Vec::as_slice).collect();
    let load = http_load(REQUEST, 50, 4);
    assert_eq!(load.response, ResponseEnd::Http { head: false });
    let (c, s, _, _) = drive_with(
        LoadApp::new(load),
        HttpServer::new(&refs),
        true,
        Config::default(),
    );
    assert_eq!(errors(&c), 0, "{c:?}");
    assert_eq!(get(&c, "completed"), 50, "{c:?}");
    assert_eq!((get(&c, "requests"), get(&c, "responses")), (200, 200));
    assert_eq!(get(&s, "responses"), 200, "server: {s:?}");
    // 2xx and 3xx alike are completed (RFC 9110 §15.3, §15.4).
    assert_eq!(status_counts(&c), [0, 150, 50, 0, 0], "{c:?}");
    let all: usize = responses.iter().map(Vec::len).sum();
    assert_eq!(get(&c, "bytes_received"), 50 * all as u64, "{c:?}");
}

#[test]
fn rfc9112_6_3_rule_8_a_response_without_a_length_ends_at_the_close() {
    let response = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the FIN";
    let app = ServerApp::new(Some(response.to_vec()), CloseMode::ServerFirst);
    let (c, _, _, _) = drive_with(
        LoadApp::new(http_load(REQUEST, 30, 1)),
        app,
        true,
        Config::default(),
    );
    assert_eq!(errors(&c), 0, "{c:?}");
    assert_eq!(get(&c, "completed"), 30, "{c:?}");
    assert_eq!(status_counts(&c), [0, 30, 0, 0, 0], "{c:?}");
}

#[test]
fn rfc9112_6_3_rule_1_a_response_to_head_ends_with_its_header_section() {
    // Content-Length is the GET's body size; none follows (RFC 9110 §9.3.2).
    let head = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
    let load = http_load(head, 20, 3);
    assert_eq!(load.response, ResponseEnd::Http { head: true });
    let (c, _, _, _) = drive_with(
        LoadApp::new(load),
        HttpServer::new(&[response]),
        true,
        Config::default(),
    );
    assert_eq!(errors(&c), 0, "{c:?}");
    assert_eq!((get(&c, "completed"), get(&c, "responses")), (20, 60));
}

#[test]
fn rfc9110_15_a_404_or_a_500_is_an_http_error_not_completed() {
    for (status, class) in [("404 Not Found", 3), ("500 Internal Server Error", 4)] {
        let response = content_length(status, b"<html>no</html>");
        let app = ServerApp::new(Some(response), CloseMode::WaitClient);
        let (c, _, _, _) = drive_with(
            LoadApp::new(http_load(REQUEST, 40, 1)),
            app,
            true,
            Config::default(),
        );
        assert_eq!(get(&c, "http_error"), 40, "{status}: {c:?}");
        assert_eq!(get(&c, "completed"), 0, "{status}: {c:?}");
        assert_eq!(get(&c, "started"), errors(&c), "{status}: {c:?}");
        let mut want = [0; 5];
        want[class] = 40;
        assert_eq!(status_counts(&c), want, "{status}: {c:?}");
    }
    // One error response among a connection's makes it an http_error; the
    // connection still carries its other requests, and each response is
    // counted in its class.
    let ok = content_length("200 OK", b"ok");
    let missing = content_length("404 Not Found", b"");
    let (c, _, _, _) = drive_with(
        LoadApp::new(http_load(REQUEST, 25, 2)),
        HttpServer::new(&[&ok, &missing]),
        true,
        Config::default(),
    );
    assert_eq!(get(&c, "http_error"), 25, "{c:?}");
    assert_eq!(errors(&c), 25, "{c:?}");
    assert_eq!(get(&c, "responses"), 50, "{c:?}");
    assert_eq!(status_counts(&c), [0, 25, 0, 25, 0], "{c:?}");
}

#[test]
fn rfc9112_6_3_rule_5_and_8_a_response_that_cannot_be_framed_is_a_bad_response() {
    for (response, close) in [
        // Not a status line (RFC 9112 §4).
        (&b"hello world\r\n\r\n"[..], CloseMode::WaitClient),
        // An invalid Content-Length (RFC 9112 §6.3 rule 5).
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 12, 13\r\n\r\nhello world\n",
            CloseMode::WaitClient,
        ),
        // Cut short by the server's FIN (RFC 9112 §8).
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
            CloseMode::ServerFirst,
        ),
        // A chunk not followed by CRLF (RFC 9112 §7.1).
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n",
            CloseMode::WaitClient,
        ),
    ] {
        let app = ServerApp::new(Some(response.to_vec()), close);
        let (c, _, _, _) = drive_with(
            LoadApp::new(http_load(REQUEST, 20, 1)),
            app,
            true,
            Config::default(),
        );
        let what = response.escape_ascii();
        assert_eq!(get(&c, "bad_response"), 20, "{what}: {c:?}");
        assert_eq!(get(&c, "started"), errors(&c), "{what}: {c:?}");
        assert_eq!(get(&c, "responses"), 0, "{what}: {c:?}");
    }
}

#[test]
fn a_request_that_is_not_http_keeps_the_first_bytes_rule() {
    let load = http_load(b"PING\r\n", 20, 1);
    assert_eq!(load.response, ResponseEnd::FirstBytes);
    let app = ServerApp::new(Some(b"not HTTP at all".to_vec()), CloseMode::WaitClient);
    let (c, _, _, _) = drive_with(LoadApp::new(load), app, true, Config::default());
    assert_eq!(errors(&c), 0, "{c:?}");
    assert_eq!(get(&c, "completed"), 20, "{c:?}");
    assert_eq!(status_counts(&c), [0; 5], "{c:?}");
}

/// The `response` latency times each request written to its response
/// complete, as wrk's latency does: the handshake, which first byte and
/// lifecycle include from the intended start, is not in it.
#[test]
fn response_latency_starts_at_the_request_not_the_handshake() {
    let (_, c, sum) = lagging(paced(1000.0, 0.2), Some(CloseMode::ServerFirst), DELAY);
    let (response, first_byte) = (&sum.histograms["response"], &sum.histograms["first_byte"]);
    assert_eq!(response.len(), get(&c, "responses"), "{c:?}");
    assert_eq!(response.len(), 200, "{c:?}");
    // The request crosses the wire and the response comes back: two steps,
    // where the first byte also waits for the SYN and the SYN-ACK.
    let step = DELAY.as_micros() as u64;
    assert!(response.max() <= 3 * step, "{}", response.max());
    assert!(
        first_byte.min() >= response.max() + step,
        "{} {}",
        first_byte.min(),
        response.max()
    );
}

/// Runs a `--rate` load with turns every `step` (see [`drive_stepping`]);
/// returns its schedule lag (µs), its counters, and the summary the report
/// judges (one worker's histograms and counters, no CPU figures).
fn lagging(
    load: LoadOptions,
    server: Option<CloseMode>,
    step: Duration,
) -> (Histogram<u64>, Counts, Summary) {
    let close = server.unwrap_or(CloseMode::ServerFirst);
    let app = ServerApp::new(Some(RESPONSE.to_vec()), close);
    let (client, _, _, _) = drive_stepping(
        LoadApp::new(load),
        app,
        server.is_some(),
        Config::default(),
        step,
    );
    let mut sum = Summary::default();
    sum.histograms.extend(client.histograms());
    sum.app.extend(client.counters());
    let lag = sum.histograms[SCHEDULE_LAG].clone();
    (lag, client.counters(), sum)
}

/// `rate` connections per second for `secs`, no concurrency cap.
fn paced(rate: f64, secs: f64) -> LoadOptions {
    LoadOptions {
        rate: Some(rate),
        concurrency: None,
        duration: Some(Duration::from_secs_f64(secs)),
        ..options((10000, 30000))
    }
}

#[test]
fn wrk2_schedule_lag_of_a_well_fed_rate_is_at_most_one_turn() {
    // A turn every 50 µs, a connection due every 500 µs: each SYN goes out
    // in the first turn at or after its intended start.
    let (lag, c, sum) = lagging(paced(2000.0, 1.0), Some(CloseMode::ServerFirst), DELAY);
    assert_eq!(
        lag.len(),
        get(&c, "started"),
        "one lag per started connection"
    );
    assert!(lag.len() >= 1990, "{c:?}");
    assert!(
        lag.max() <= DELAY.as_micros() as u64,
        "max lag {}µs",
        lag.max()
    );
    assert!(
        generator_limits(&sum).is_empty(),
        "{:?}",
        generator_limits(&sum)
    );
}

#[test]
fn wrk2_coordinated_omission_a_worker_turning_late_records_how_late_each_connection_started() {
    // A connection due every 1 ms, but a turn only every 5 ms: the SYNs go
    // out in bursts, 0 to 4 ms after their intended starts — counted, not
    // hidden by measuring from when they went out.
    let step = Duration::from_millis(5);
    let (lag, c, _) = lagging(paced(1000.0, 1.0), Some(CloseMode::ServerFirst), step);
    assert_eq!(lag.len(), get(&c, "started"));
    assert!(lag.max() < 5_000, "max lag {}µs", lag.max());
    let p50 = lag.value_at_quantile(0.5);
    assert!((1_500..=2_500).contains(&p50), "p50 lag {p50}µs");
}

#[test]
fn wrk2_a_rate_far_above_what_the_worker_opens_has_a_growing_lag_and_is_generator_limited() {
    // 100 connections due per 2 ms turn, but a turn opens OPENS_PER_TURN
    // (64): the schedule runs away from the generator, each connection
    // later than the one before.
    let step = Duration::from_millis(2);
    let (lag, c, sum) = lagging(paced(50_000.0, 0.5), Some(CloseMode::ServerFirst), step);
    let started = get(&c, "started");
    assert_eq!(lag.len(), started);
    let turns = 500 / 2 + 1;
    assert!(
        started <= OPENS_PER_TURN as u64 * turns,
        "started {started}: more than {OPENS_PER_TURN} a turn"
    );
    assert!(started < 25_000 * 9 / 10, "kept up: {c:?}");
    // The lag grows with each connection: the last quarter's is far above
    // the first quarter's, and the p99 far above a turn.
    let (q25, q75) = (lag.value_at_quantile(0.25), lag.value_at_quantile(0.75));
    assert!(2 * q25 < q75, "lag does not grow: p25 {q25}µs p75 {q75}µs");
    assert!(
        lag.value_at_quantile(0.99) > 100_000,
        "p99 {}µs",
        lag.value_at_quantile(0.99)
    );
    let why = generator_limits(&sum);
    assert!(
        why.len() == 1 && why[0].starts_with("schedule lag p99 "),
        "{why:?}"
    );
}

#[test]
fn a_connection_held_by_the_concurrency_cap_counts_its_lag_when_it_starts() {
    // One connection at a time into a black hole, each given up after the
    // 500 ms connect timeout: the next, due 10 ms after the first, goes
    // out about 490 ms late. The cap, not the generator, held it.
    let load = LoadOptions {
        concurrency: Some(1),
        ..paced(100.0, 1.2)
    };
    let (lag, c, sum) = lagging(load, None, DELAY);
    assert!(get(&c, "started") >= 2, "{c:?}");
    assert_eq!(lag.len(), get(&c, "started"));
    assert!(lag.max() >= 480_000, "max lag {}µs: {c:?}", lag.max());
    assert!(get(&c, "concurrency_full") > 0, "{c:?}");
    assert!(
        generator_limits(&sum).is_empty(),
        "{:?}",
        generator_limits(&sum)
    );
}

#[test]
fn a_connection_waiting_for_a_free_tuple_counts_its_lag_when_it_starts() {
    // One tuple, we close first: it rests a second in our TIME-WAIT, so
    // each connection after the first waits for it, later and later.
    let load = paced(100.0, 2.5);
    let load = LoadOptions {
        ports: (10000, 10000),
        ..load
    };
    let (lag, c, sum) = lagging(load, Some(CloseMode::WaitClient), DELAY);
    assert!(get(&c, "started") >= 2, "{c:?}");
    assert_eq!(lag.len(), get(&c, "started"));
    assert!(get(&c, "no_free_tuple") > 0, "{c:?}");
    assert!(lag.max() >= 900_000, "max lag {}µs: {c:?}", lag.max());
    // The tuple space, which the summary names on its own line.
    assert!(
        generator_limits(&sum).is_empty(),
        "{:?}",
        generator_limits(&sum)
    );
}

/// A load's summary as the runtime would add it up, its clock started at
/// `at_ms` (Unix milliseconds).
fn summary_of(app: &LoadApp, took: Duration, at_ms: u64) -> Summary {
    let mut sum = Summary::default();
    for (k, v) in app.counters() {
        sum.app.insert(k, v);
    }
    for (k, h) in app.histograms() {
        sum.histograms.insert(k, h);
    }
    sum.elapsed = took.as_secs_f64();
    sum.started_at = Some(std::time::UNIX_EPOCH + Duration::from_millis(at_ms));
    sum
}

/// `load --segment i/N` on N machines, each on its own wire to the server,
/// against the whole test on one: the merge of the N JSON results has the
/// whole's counts, and its histograms are the whole's bucket for bucket
/// (every connection on this wire takes the same time, so they can be).
#[test]
fn merged_segment_results_equal_the_whole_run_bucket_for_bucket() {
    let mut whole = options((10000, 10999));
    whole.addresses = (1..=7).map(|i| Ipv4Addr::new(10, 0, 0, 10 + i)).collect();
    whole.duration = None;
    whole.connections = Some(601);
    whole.concurrency = Some(9);
    let test = test_options(&whole, Some("10.0.0.8/29"));
    let run_of = |o: LoadOptions| {
        let app = ServerApp::new(Some(RESPONSE.to_vec()), CloseMode::ServerFirst);
        let (client, _, took, _) =
            drive_stepping(LoadApp::new(o), app, true, Config::default(), DELAY);
        (client, took)
    };
    let (one, took) = run_of(whole.clone());
    let one = summary_of(&one, took, 1_000_000);
    assert_eq!(one.get("completed"), 601);
    let mut results = Vec::new();
    let mut addresses = Vec::new();
    let mut longest: f64 = 0.0;
    let mut total = 0.0;
    for i in 0..3 {
        let seg = Segment::new(i, 3).unwrap();
        let share = seg.apply(&whole, true).unwrap();
        addresses.extend(share.addresses.clone());
        let (app, took) = run_of(share);
        // The machines start a little out of step.
        let sum = summary_of(&app, took, 1_000_000 + 5 * u64::from(i));
        let measured = measured_s(&sum, Duration::ZERO, None);
        (longest, total) = (longest.max(measured), total + measured);
        let p = Provenance::run(test.clone(), seg, &sum, Duration::ZERO, measured);
        let json = load_result(&sum, measured, None, &p).to_string();
        results.push((
            format!("segment-{i}.json"),
            serde_json::from_str(&json).unwrap(),
        ));
    }
    assert_eq!(addresses, whole.addresses, "split by address, in order");
    let merged = merge::merge(&results).unwrap();
    let m = &merged.summary;
    for k in LOAD_COUNTS
        .iter()
        .chain(ERROR_CLASSES)
        .chain(STATUS_CLASSES)
    {
        assert_eq!(m.get(k), one.get(k), "{k}");
    }
    assert_eq!(m.get("started"), 601);
    for name in HISTOGRAMS {
        let (a, b) = (&m.histograms[name], &one.histograms[name]);
        assert_eq!(a.len(), 601, "{name}");
        let buckets = |h: &Histogram<u64>| {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect::<Vec<_>>()
        };
        assert_eq!(buckets(a), buckets(b), "{name}");
    }
    assert!(merged.missing.is_empty());
    // The rate is over the union of the windows: the last machine started
    // 10 ms after the first, its window overlapping the others'.
    assert!((merged.start_spread_s - 0.010).abs() < 1e-6, "{merged:?}");
    let union = merged.measured_s;
    assert!(
        union > longest && union < total,
        "{union} {longest} {total}"
    );
    let v = merged.json();
    assert_eq!(v["started"], serde_json::json!(601));
    assert_eq!(
        v["rate"]["achieved"].as_f64().unwrap(),
        601.0 / merged.measured_s
    );
    // A result of another test is refused.
    let mut other = results[0].1.clone();
    other["test"]["connections"] = serde_json::json!(600);
    results[0].1 = other;
    let e = merge::merge(&results).unwrap_err().0;
    assert!(e.contains("different tests: connections 600 vs 601"), "{e}");
}

/// `--interval`: a run cut into intervals as its running totals come (here
/// every 100 ms of the simulated wire, about once a second in a worker):
/// the intervals' counts and histograms add up to the final summary.
#[test]
fn intervals_add_up_to_the_final_summary() {
    let load = LoadOptions {
        rate: Some(2000.0),
        concurrency: None,
        ..options((10000, 30000))
    };
    let start = Instant::from_millis(1_000_000);
    let cfg = Config::default();
    let mut client = Side::new(cfg.clone(), CLIENT_MAC, 1, LoadApp::new(load), start);
    let server = ServerApp::new(Some(RESPONSE.to_vec()), CloseMode::ServerFirst);
    let mut srv = Side::new(cfg, SERVER_MAC, 2, server, start);
    srv.engine.listen(SERVER).expect("listen");
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    let mut intervals = Intervals::new(Duration::from_secs(1));
    let mut lines = Vec::new();
    let mut now = start;
    let mut next_report = start;
    let totals = |app: &LoadApp, now: Instant| {
        let mut sum = summary_of(app, now - start, 1_000_000);
        sum.app.remove("active");
        sum
    };
    while !client.app.finished() {
        wire_turn(
            &mut client,
            &mut srv,
            &mut to_server,
            &mut to_client,
            true,
            now,
        );
        if now >= next_report {
            lines.extend(intervals.tick(&totals(&client.app, now)));
            next_report = now + Duration::from_millis(100);
        }
        now = now + DELAY;
    }
    let last = totals(&client.app, now);
    lines.push(intervals.finish(&last));
    // 3 s of load and the last connections' end: 4 lines, read back as text.
    assert_eq!(lines.len(), 4, "{lines:?}");
    let intervals = lines;
    let lines: Vec<serde_json::Value> = intervals
        .iter()
        .map(|l| serde_json::from_str(&l.json().to_string()).unwrap())
        .collect();
    assert!(lines[1]["started"].as_u64().unwrap() > 1900, "{}", lines[1]);
    let sum_of = |f: &dyn Fn(&serde_json::Value) -> u64| lines.iter().map(f).sum::<u64>();
    for k in LOAD_COUNTS.iter().chain(STATUS_CLASSES) {
        assert_eq!(sum_of(&|l| l[k].as_u64().unwrap()), last.get(k), "{k}");
    }
    for k in ERROR_CLASSES {
        assert_eq!(
            sum_of(&|l| l["errors"][k].as_u64().unwrap()),
            last.get(k),
            "{k}"
        );
    }
    assert_eq!(last.get("started"), 6000);
    for name in HISTOGRAMS.iter().chain([&SCHEDULE_LAG]) {
        let mut total = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
        for l in &lines {
            let h = merge::decode_histogram(l["histograms"][*name].as_str().unwrap()).unwrap();
            total.add(&h).unwrap();
        }
        assert_eq!(total, last.histograms[*name], "{name}");
    }
    // Each interval starts where the one before ended.
    for w in lines.windows(2) {
        assert_eq!(w[1]["start_s"], w[0]["end_s"]);
    }
    // --csv: the same counts, column by column under the header.
    let header = Interval::csv_header();
    let cols: Vec<&str> = header.split(',').collect();
    let rows: Vec<Vec<String>> = intervals
        .iter()
        .map(|i| i.csv_row().split(',').map(String::from).collect())
        .collect();
    for k in LOAD_COUNTS
        .iter()
        .chain(STATUS_CLASSES)
        .chain(ERROR_CLASSES)
    {
        let c = cols.iter().position(|c| c == k).unwrap();
        let sum: u64 = rows.iter().map(|r| r[c].parse::<u64>().unwrap()).sum();
        assert_eq!(sum, last.get(k), "csv {k}");
    }
    // --hdr-log: read back with the hdrhistogram crate's interval log
    // reader, the tagged histograms add up to the final ones.
    let mut log = hdr_log_header(None);
    for i in &intervals {
        log.extend(i.hdr_log_lines());
    }
    let mut totals: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut read = 0;
    for entry in IntervalLogIterator::new(&log) {
        let LogEntry::Interval(i) = entry.unwrap() else {
            continue;
        };
        read += 1;
        let h = merge::decode_histogram(i.encoded_histogram()).unwrap();
        let tag = i.tag().unwrap().as_str().to_string();
        totals
            .entry(tag)
            .or_insert_with(|| Histogram::new_with_bounds(1, 100_000_000, 3).unwrap())
            .add(&h)
            .unwrap();
    }
    assert_eq!(read, 4 * (HISTOGRAMS.len() + 1));
    for name in HISTOGRAMS.iter().chain([&SCHEDULE_LAG]) {
        assert_eq!(totals[*name], last.histograms[*name], "hdr log {name}");
    }
}
