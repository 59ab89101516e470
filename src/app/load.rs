//! `synwave load`: open-loop (a rate) and/or closed-loop (a concurrency)
//! connection load, request/response per connection, a chosen way to close,
//! and latency on the engine's own clock in HDR histograms.

use super::http::{Progress, ResponseParser, StatusClass};
use super::rate::RateSchedule;
use super::tuples::{Home, Tuple, TupleAllocator};
use super::App;
use crate::tcp::{ConnId, Engine, Event, EventKind, Events, FourTuple, Instant, TimeoutReason};
use crate::wire::rss::Rss;
use crate::wire::MacAddr;
use core::time::Duration;
use hashbrown::HashMap;
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

/// When a response is complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseEnd {
    /// At the first bytes.
    FirstBytes,
    /// After this many bytes.
    Bytes(usize),
    /// When this byte string has arrived.
    Delimiter(Vec<u8>),
    /// At the server's FIN.
    PeerFin,
    /// Where HTTP/1.x frames it (RFC 9112 §6.3): after the header section,
    /// the Content-Length body, the last chunk, or at the server's FIN; its
    /// status counted by class (RFC 9110 §15), and a final response outside
    /// 2xx and 3xx an `http_error`. `head` when the request is a HEAD, whose
    /// responses have no body.
    Http { head: bool },
}

/// How each connection ends once its responses are in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LoadClose {
    /// We send FIN first and hold TIME-WAIT.
    Fin,
    /// We wait for the server's FIN, then close.
    Wait,
    /// We abort with RST (no TIME-WAIT anywhere).
    Rst,
}

/// One worker's share of the load.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub target: SocketAddrV4,
    pub next_hop: MacAddr,
    pub addresses: Vec<Ipv4Addr>,
    pub ports: (u16, u16),
    /// New connections per second (open loop).
    pub rate: Option<f64>,
    pub ramp_up: Duration,
    /// Instead of `rate` and `ramp_up`: stages (duration, rate), each ramping
    /// linearly from the rate before it; `rate` is then their peak.
    pub stages: Vec<(Duration, f64)>,
    /// Connections open at once at most (closed loop alone, or a cap on the rate).
    pub concurrency: Option<u64>,
    /// Stop after this many measured connections.
    pub connections: Option<u64>,
    /// Stop opening after this long (after the warm-up).
    pub duration: Option<Duration>,
    /// Connections started before this are not counted.
    pub warm_up: Duration,
    pub request: Option<Vec<u8>>,
    pub requests_per_connection: u32,
    pub response: ResponseEnd,
    pub close: LoadClose,
    /// A response (or, with `Wait`, the server's FIN) later than this aborts
    /// the connection as a response timeout; `None` waits as long as TCP does.
    pub response_timeout: Option<Duration>,
    /// A handshake not done this long after its SYN is aborted as a connect
    /// timeout (the RFC's long SYN retransmission suits servers, not a
    /// measured run); `None` leaves it to SYN retransmission.
    pub connect_timeout: Option<Duration>,
    /// After `duration`, connections still open get this long to finish;
    /// then they are aborted and counted as unfinished.
    pub grace: Duration,
    /// Where in the port range never-used tuples start (modulo its size).
    pub first_port: u32,
    /// The NIC's RSS and this worker's queue: open only connections whose
    /// replies the NIC receives on that queue (`tuples::Home`).
    pub home: Option<(Rss, u32)>,
}

/// Why the application gave up on a connection (the engine did not end it).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum GaveUp {
    Connect,
    Response,
    Unfinished,
    /// A response HTTP cannot frame (RFC 9112 §6.3 rule 5, §8): the client
    /// must close the connection.
    BadResponse,
}

struct Conn {
    intended: Instant,
    /// When the request being answered went out (the `response` latency
    /// starts there, as wrk's does).
    requested: Instant,
    src: Tuple,
    measured: bool,
    connected: bool,
    got_first_byte: bool,
    responses: u32,
    received: usize,
    tail: Vec<u8>,
    /// The handshake, a response or the server's FIN is due by then.
    deadline: Option<Instant>,
    /// A request is out and its response not complete yet.
    awaiting: bool,
    closing: bool,
    /// With [`ResponseEnd::Http`]: frames the responses, reset per request.
    http: Option<ResponseParser>,
    /// A final response was outside 2xx and 3xx: however the connection
    /// ends, it counts as `http_error` (the first failure decides).
    http_error: bool,
}

super::counters::counters! {
    /// Counters of one worker's load, counting measured connections only.
    pub struct LoadCounters {
        started,
        completed,
        refused,
        reset,
        /// No handshake within the connect timeout.
        connect_timeout,
        /// SYN retransmissions exhausted.
        syn_timeout,
        response_timeout,
        retries_exhausted,
        /// Still open when the grace period ended or the run was stopped.
        unfinished,
        /// A final HTTP response outside 2xx and 3xx (RFC 9110 §15), what
        /// wrk reports as "Non-2xx or 3xx responses".
        http_error,
        /// A response HTTP/1.x cannot frame, or cut short by the server's
        /// FIN (RFC 9112 §6.3 rule 5, §8).
        bad_response,
        /// Handshakes completed.
        connected,
        requests,
        responses,
        /// HTTP responses by status class (RFC 9110 §15): the first digit.
        /// Interim 1xx responses are not counted, only 101, which is final.
        status_1xx,
        status_2xx,
        status_3xx,
        status_4xx,
        status_5xx,
        bytes_received,
        /// Connections of the warm-up, not counted elsewhere.
        warm_up,
        /// Times a connection was due but no source tuple was free.
        no_free_tuple,
        /// 1 when the run was stopped before it ended by itself.
        interrupted,
        /// Times a connection was due but `--concurrency` connections were
        /// open: it starts late, and its schedule lag says how late.
        concurrency_full,
    }
}

/// The classes a started connection fails in: every counter from `refused`
/// to `bad_response`, so that `started = completed + errors`.
pub const ERROR_CLASSES: &[&str] = {
    let (_, rest) = LoadCounters::NAMES.split_at(2);
    let (errors, _) = rest.split_at(9);
    errors
};

/// The HTTP responses by status class: every counter from `status_1xx` to
/// `status_5xx`. With [`ResponseEnd::Http`] they add up to `responses`.
pub const STATUS_CLASSES: &[&str] = {
    let (_, rest) = LoadCounters::NAMES.split_at(14);
    let (classes, _) = rest.split_at(5);
    classes
};

impl LoadCounters {
    /// Connections that ended in one of the [`ERROR_CLASSES`].
    pub fn errors(&self) -> u64 {
        self.refused
            + self.reset
            + self.connect_timeout
            + self.syn_timeout
            + self.response_timeout
            + self.retries_exhausted
            + self.unfinished
            + self.http_error
            + self.bad_response
    }

    fn count_status(&mut self, class: Option<StatusClass>) {
        match class {
            Some(StatusClass::Informational) => self.status_1xx += 1,
            Some(StatusClass::Success) => self.status_2xx += 1,
            Some(StatusClass::Redirect) => self.status_3xx += 1,
            Some(StatusClass::ClientError) => self.status_4xx += 1,
            // The parser reports 100..=599 only.
            Some(StatusClass::ServerError) | None => self.status_5xx += 1,
        }
    }
}

/// Microsecond histograms, 1 µs to 100 s at 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("constant bounds are valid")
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record((d.as_micros() as u64).max(1));
}

/// Connections one turn opens at most: a generator behind its schedule
/// catches up a batch at a time, between receiving and transmitting,
/// rather than flooding one turn's transmit batch (and its ring).
pub const OPENS_PER_TURN: usize = 64;

/// The load generator of one worker.
pub struct LoadApp {
    o: LoadOptions,
    tuples: TupleAllocator,
    /// The next tuples to open, taken from `tuples` in order with their
    /// lookups begun ([`Engine::open_ahead`]).
    ahead: VecDeque<Tuple>,
    schedule: Option<RateSchedule>,
    start: Option<Instant>,
    conns: HashMap<ConnId, Conn>,
    next_timeout_scan: Instant,
    /// Set once no more connections are to be opened.
    opening_done: bool,
    c: LoadCounters,
    connect: Histogram<u64>,
    first_byte: Histogram<u64>,
    /// Each request written to its response complete, handshake excluded:
    /// what wrk's latency times, so the two compare.
    response: Histogram<u64>,
    lifecycle: Histogram<u64>,
    /// With a rate: how late each connection's SYN went out against its
    /// intended start (wrk2's coordinated omission, measured rather than
    /// hidden), however it was held up — a busy worker, `--concurrency`,
    /// no free source tuple.
    schedule_lag: Histogram<u64>,
}

impl LoadApp {
    /// A load generator per `o`.
    pub fn new(o: LoadOptions) -> Self {
        LoadApp {
            tuples: match &o.home {
                None => TupleAllocator::new(o.addresses.clone(), o.ports, o.first_port),
                Some((rss, queue)) => {
                    let home = Home::new(rss.clone(), o.target, &o.addresses, o.ports, *queue);
                    TupleAllocator::new(o.addresses.clone(), o.ports, o.first_port).homed(home)
                }
            },
            ahead: VecDeque::with_capacity(Engine::OPEN_AHEAD),
            o,
            schedule: None,
            start: None,
            conns: HashMap::new(),
            next_timeout_scan: Instant::ZERO,
            opening_done: false,
            c: LoadCounters::default(),
            connect: histogram(),
            first_byte: histogram(),
            response: histogram(),
            lifecycle: histogram(),
            schedule_lag: histogram(),
        }
    }

    /// The counters so far.
    pub fn load_counters(&self) -> &LoadCounters {
        &self.c
    }

    fn measuring_from(&self) -> Option<Instant> {
        self.start.map(|s| s + self.o.warm_up)
    }

    /// No more connections are to be opened: the count is reached or the
    /// duration is over (one of the two is always set).
    fn done_opening(&self, now: Instant) -> bool {
        let Some(from) = self.measuring_from() else {
            return false;
        };
        self.o.connections.is_some_and(|n| self.c.started >= n)
            || self.o.duration.is_some_and(|d| now >= from + d)
            || (self.o.connections.is_none() && self.o.duration.is_none())
    }

    /// After `duration` and the grace period, whatever is still open ends.
    fn grace_over(&self, now: Instant) -> bool {
        match (self.measuring_from(), self.o.duration) {
            (Some(from), Some(d)) => now >= from + d + self.o.grace,
            _ => false,
        }
    }

    /// The next tuple to open, in the allocator's order; the tuples taken
    /// ahead are topped up first, so that the opens' lookups, out of cache
    /// once the engine holds tens of thousands of TIME-WAIT records,
    /// overlap their misses.
    fn next_tuple(&mut self, engine: &Engine, now: Instant) -> Option<Tuple> {
        while self.ahead.len() < Engine::OPEN_AHEAD {
            let Some(t) = self.tuples.take(now) else {
                break;
            };
            engine.open_ahead(SocketAddrV4::new(t.addr, t.port), self.o.target);
            self.ahead.push_back(t);
        }
        self.ahead.pop_front()
    }

    fn open(&mut self, engine: &mut Engine, intended: Instant, now: Instant) -> bool {
        let Some(src) = self.next_tuple(engine, now) else {
            self.c.no_free_tuple += 1;
            return false;
        };
        let local = SocketAddrV4::new(src.addr, src.port);
        let opened = match src.last_snd_nxt {
            Some(last) => engine.reconnect(now, local, self.o.target, self.o.next_hop, last),
            None => engine.connect(now, local, self.o.target, self.o.next_hop),
        };
        match opened {
            Ok(conn) => {
                let measured = self.measuring_from().is_some_and(|m| intended >= m);
                if measured {
                    self.c.started += 1;
                    if self.schedule.is_some() {
                        record(&mut self.schedule_lag, now.saturating_since(intended));
                    }
                } else {
                    self.c.warm_up += 1;
                }
                self.conns.insert(
                    conn,
                    Conn {
                        intended,
                        requested: intended,
                        src,
                        measured,
                        connected: false,
                        got_first_byte: false,
                        responses: 0,
                        received: 0,
                        tail: Vec::new(),
                        deadline: self.o.connect_timeout.map(|t| now + t),
                        awaiting: false,
                        closing: false,
                        http: match self.o.response {
                            ResponseEnd::Http { head } => Some(ResponseParser::new(head)),
                            _ => None,
                        },
                        http_error: false,
                    },
                );
                true
            }
            Err(_) => {
                // Still in our TIME-WAIT (the peer did not use timestamps,
                // or the engine's rules are stricter than we knew): rest it
                // until the engine lets it go.
                let tuple = FourTuple::new(local, self.o.target);
                let free_at = engine.reusable_at(&tuple, now);
                self.tuples
                    .give_back(src.addr, src.port, src.last_snd_nxt, now, free_at);
                self.c.no_free_tuple += 1;
                false
            }
        }
    }

    fn send_request(&mut self, engine: &mut Engine, conn: ConnId, now: Instant) {
        let (Some(req), Some(c)) = (&self.o.request, self.conns.get_mut(&conn)) else {
            return;
        };
        c.received = 0;
        c.tail.clear();
        if let (Some(p), ResponseEnd::Http { head }) = (&mut c.http, &self.o.response) {
            p.reset(*head);
        }
        c.deadline = self.o.response_timeout.map(|t| now + t);
        c.awaiting = true;
        c.requested = now;
        if engine.send(conn, req).is_ok() && c.measured {
            self.c.requests += 1;
        }
    }

    /// The responses are in (or none was asked for): close as configured.
    fn finish(&mut self, engine: &mut Engine, conn: ConnId, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        c.closing = true;
        c.deadline = None;
        match self.o.close {
            LoadClose::Fin => {
                let _ = engine.close(conn, now);
            }
            LoadClose::Wait => c.deadline = self.o.response_timeout.map(|t| now + t),
            LoadClose::Rst => {
                let _ = engine.abort(conn, now);
            }
        }
    }

    fn response_done(&mut self, engine: &mut Engine, conn: ConnId, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.responses += 1;
        c.deadline = None;
        c.awaiting = false;
        if c.measured {
            self.c.responses += 1;
            if self.o.request.is_some() {
                record(&mut self.response, now - c.requested);
            }
        }
        if c.responses < self.o.requests_per_connection {
            self.send_request(engine, conn, now);
        } else {
            self.finish(engine, conn, now);
        }
    }

    fn on_data(&mut self, engine: &mut Engine, conn: ConnId, bytes: &[u8], at: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.measured {
            self.c.bytes_received += bytes.len() as u64;
            if !c.got_first_byte {
                record(&mut self.first_byte, at - c.intended);
            }
        }
        c.got_first_byte = true;
        if c.closing || !c.awaiting {
            return;
        }
        if c.http.is_some() {
            self.on_http_data(engine, conn, bytes, at);
            return;
        }
        c.received += bytes.len();
        let done = match &self.o.response {
            ResponseEnd::FirstBytes => true,
            ResponseEnd::Bytes(n) => c.received >= *n,
            ResponseEnd::Delimiter(d) => {
                c.tail.extend_from_slice(bytes);
                let found = c.tail.windows(d.len().max(1)).any(|w| w == d.as_slice());
                let keep = d.len().saturating_sub(1);
                if c.tail.len() > keep {
                    c.tail.drain(..c.tail.len() - keep);
                }
                found
            }
            ResponseEnd::PeerFin => false,
            ResponseEnd::Http { .. } => unreachable!("framed by on_http_data"),
        };
        if done {
            self.response_done(engine, conn, at);
        }
    }

    /// Response bytes framed as HTTP/1.x. Bytes beyond a response's end
    /// start the next one's (RFC 9112 §9.3.2): the next request's, if one
    /// goes out, otherwise nobody's.
    fn on_http_data(&mut self, engine: &mut Engine, conn: ConnId, mut bytes: &[u8], at: Instant) {
        while !bytes.is_empty() {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if !c.awaiting || c.closing {
                return;
            }
            let Some(p) = c.http.as_mut() else {
                return;
            };
            match p.feed(bytes) {
                Progress::NeedMore => return,
                Progress::Done { status, consumed } => {
                    bytes = &bytes[consumed..];
                    self.http_response(engine, conn, status, at);
                }
                Progress::Invalid(_) => {
                    self.give_up(engine, conn, GaveUp::BadResponse, at);
                    return;
                }
            }
        }
    }

    /// The server's FIN arrived while an HTTP response was awaited: the end
    /// of one framed by the close (RFC 9112 §6.3 rule 8), or one cut short.
    /// False when the connection is given up as a bad response.
    fn http_peer_closed(&mut self, engine: &mut Engine, conn: ConnId, at: Instant) -> bool {
        let Some(p) = self.conns.get_mut(&conn).and_then(|c| c.http.as_mut()) else {
            return true;
        };
        match p.peer_closed() {
            Progress::Done { status, .. } => {
                self.http_response(engine, conn, status, at);
                true
            }
            Progress::NeedMore | Progress::Invalid(_) => {
                self.give_up(engine, conn, GaveUp::BadResponse, at);
                false
            }
        }
    }

    /// A complete HTTP response with `status`: counted by class, and unless
    /// 2xx or 3xx, it makes the connection an `http_error`.
    fn http_response(&mut self, engine: &mut Engine, conn: ConnId, status: u16, at: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let class = StatusClass::of(status);
        if c.measured {
            self.c.count_status(class);
        }
        if !class.is_some_and(StatusClass::is_completed) {
            c.http_error = true;
        }
        self.response_done(engine, conn, at);
    }

    fn on_end(&mut self, engine: &Engine, ev: &Event) {
        let Some(c) = self.conns.remove(&ev.conn) else {
            return;
        };
        let free_at = engine.reusable_at(&ev.tuple, ev.at);
        self.tuples
            .give_back(c.src.addr, c.src.port, Some(ev.snd_nxt), ev.at, free_at);
        if !c.measured {
            return;
        }
        if c.http_error {
            self.c.http_error += 1;
            return;
        }
        match ev.kind {
            EventKind::Closed => {
                self.c.completed += 1;
                record(&mut self.lifecycle, ev.at - c.intended);
            }
            EventKind::Refused => self.c.refused += 1,
            EventKind::Reset => self.c.reset += 1,
            EventKind::TimedOut(TimeoutReason::Handshake) => self.c.syn_timeout += 1,
            _ => self.c.retries_exhausted += 1,
        }
    }

    /// Aborts a connection the application gives up on, and counts it.
    fn give_up(&mut self, engine: &mut Engine, conn: ConnId, why: GaveUp, now: Instant) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        // After our RST nobody holds the tuple; a later connection on it
        // still starts beyond what this one sent.
        let snd_nxt = engine.snd_max(conn);
        let _ = engine.abort(conn, now);
        self.tuples
            .give_back(c.src.addr, c.src.port, snd_nxt, now, now);
        if !c.measured {
            return;
        }
        if c.http_error {
            self.c.http_error += 1;
            return;
        }
        match why {
            GaveUp::Connect => self.c.connect_timeout += 1,
            GaveUp::Response => self.c.response_timeout += 1,
            GaveUp::Unfinished => self.c.unfinished += 1,
            GaveUp::BadResponse => self.c.bad_response += 1,
        }
    }

    /// Ends every open connection as unfinished (the grace period is over,
    /// or the run was stopped).
    fn give_up_all(&mut self, engine: &mut Engine, now: Instant) {
        let open: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in open {
            self.give_up(engine, conn, GaveUp::Unfinished, now);
        }
    }

    fn scan_timeouts(&mut self, engine: &mut Engine, now: Instant) {
        if now < self.next_timeout_scan {
            return;
        }
        self.next_timeout_scan = now + Duration::from_millis(10);
        let due: Vec<(ConnId, GaveUp)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline.is_some_and(|d| now >= d))
            .map(|(&conn, c)| {
                let why = if c.connected {
                    GaveUp::Response
                } else {
                    GaveUp::Connect
                };
                (conn, why)
            })
            .collect();
        for (conn, why) in due {
            self.give_up(engine, conn, why, now);
        }
    }
}

impl App for LoadApp {
    fn poll(&mut self, engine: &mut Engine, now: Instant) {
        let start = *self.start.get_or_insert(now);
        if self.schedule.is_none() {
            if let Some(rate) = self.o.rate {
                self.schedule = Some(match self.o.stages.as_slice() {
                    [] => RateSchedule::new(start, rate, self.o.ramp_up),
                    stages => RateSchedule::stages(start, stages),
                });
            }
        }
        self.scan_timeouts(engine, now);
        if self.grace_over(now) {
            self.opening_done = true;
            self.give_up_all(engine, now);
            return;
        }
        self.opening_done = self.done_opening(now);
        let cap = self.o.concurrency.unwrap_or(u64::MAX);
        for _ in 0..OPENS_PER_TURN {
            if self.opening_done {
                break;
            }
            let intended = match &self.schedule {
                Some(s) => {
                    let t = s.time_of(s.issued());
                    if t > now {
                        break;
                    }
                    t
                }
                None => now,
            };
            if self.conns.len() as u64 >= cap {
                if self.schedule.is_some() {
                    self.c.concurrency_full += 1;
                }
                break;
            }
            if !self.open(engine, intended, now) {
                break;
            }
            if let Some(s) = &mut self.schedule {
                s.next_due(now);
            }
            self.opening_done = self.done_opening(now);
        }
    }

    fn on_events(&mut self, engine: &mut Engine, events: &Events, _now: Instant) {
        for ev in events {
            match ev.kind {
                EventKind::Connected => {
                    let Some(c) = self.conns.get_mut(&ev.conn) else {
                        continue;
                    };
                    c.connected = true;
                    c.deadline = None;
                    if c.measured {
                        self.c.connected += 1;
                        record(&mut self.connect, ev.at - c.intended);
                    }
                    if self.o.request.is_some() && self.o.requests_per_connection > 0 {
                        self.send_request(engine, ev.conn, ev.at);
                    } else {
                        self.finish(engine, ev.conn, ev.at);
                    }
                }
                EventKind::Data { .. } => {
                    self.on_data(engine, ev.conn, events.data(&ev.kind), ev.at)
                }
                EventKind::PeerClosed => {
                    let waiting = self
                        .conns
                        .get(&ev.conn)
                        .is_some_and(|c| c.awaiting && !c.closing);
                    if waiting && self.o.response == ResponseEnd::PeerFin {
                        self.response_done(engine, ev.conn, ev.at);
                    }
                    let framed = matches!(self.o.response, ResponseEnd::Http { .. });
                    if waiting && framed && !self.http_peer_closed(engine, ev.conn, ev.at) {
                        // Given up on: aborted and counted already.
                        continue;
                    }
                    if let Some(c) = self.conns.get_mut(&ev.conn) {
                        c.closing = true;
                        c.deadline = None;
                    }
                    if self.o.close == LoadClose::Rst {
                        let _ = engine.abort(ev.conn, ev.at);
                    } else {
                        let _ = engine.close(ev.conn, ev.at);
                    }
                }
                kind if kind.is_terminal() => self.on_end(engine, ev),
                _ => {}
            }
        }
    }

    fn shutdown(&mut self, engine: &mut Engine, now: Instant) {
        if !self.conns.is_empty() || !self.opening_done {
            self.c.interrupted = 1;
        }
        self.opening_done = true;
        self.give_up_all(engine, now);
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let s = self.schedule.as_ref().filter(|_| !self.opening_done)?;
        Some(s.time_of(s.issued()))
    }

    fn finished(&self) -> bool {
        self.opening_done && self.conns.is_empty()
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let mut v = self.c.fields();
        v.push(("active", self.conns.len() as u64));
        v
    }

    fn histograms(&self) -> Vec<(&'static str, Histogram<u64>)> {
        let mut v = vec![
            ("connect", self.connect.clone()),
            ("first_byte", self.first_byte.clone()),
            ("response", self.response.clone()),
            ("lifecycle", self.lifecycle.clone()),
        ];
        if self.o.rate.is_some() {
            v.push((super::report::SCHEDULE_LAG, self.schedule_lag.clone()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes_are_every_way_a_started_connection_fails() {
        let fields = LoadCounters::NAMES
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, 1u64 << i))
            .collect::<Vec<_>>();
        let c = LoadCounters::read(|k| fields.iter().find(|f| f.0 == k).map_or(0, |f| f.1));
        let by_name: u64 = ERROR_CLASSES
            .iter()
            .map(|k| fields.iter().find(|f| f.0 == *k).map_or(0, |f| f.1))
            .sum();
        assert_eq!(
            c.errors(),
            by_name,
            "errors() adds up exactly ERROR_CLASSES"
        );
        assert_eq!(
            ERROR_CLASSES,
            &[
                "refused",
                "reset",
                "connect_timeout",
                "syn_timeout",
                "response_timeout",
                "retries_exhausted",
                "unfinished",
                "http_error",
                "bad_response",
            ]
        );
        assert_eq!(
            STATUS_CLASSES,
            &[
                "status_1xx",
                "status_2xx",
                "status_3xx",
                "status_4xx",
                "status_5xx"
            ]
        );
    }

    #[test]
    fn each_status_class_has_its_counter_rfc9110_15() {
        for (status, name) in [
            (101, "status_1xx"),
            (200, "status_2xx"),
            (304, "status_3xx"),
            (404, "status_4xx"),
            (599, "status_5xx"),
        ] {
            let mut c = LoadCounters::default();
            c.count_status(StatusClass::of(status));
            let nonzero: Vec<&str> = c
                .fields()
                .into_iter()
                .filter(|f| f.1 > 0)
                .map(|f| f.0)
                .collect();
            assert_eq!(nonzero, [name], "{status}");
        }
    }
}
