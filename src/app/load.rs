//! `synwave load`: open-loop (a rate) and/or closed-loop (a concurrency)
//! connection load, request/response per connection, a chosen way to close,
//! and latency on the engine's own clock in HDR histograms.

use super::ports::PortAllocator;
use super::rate::RateSchedule;
use crate::io::worker::App;
use crate::tcp::{ConnId, Engine, EventKind, Events, Instant, TimeoutReason};
use crate::wire::MacAddr;
use core::time::Duration;
use hashbrown::HashMap;
use hdrhistogram::Histogram;
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
    /// the connection as a response timeout.
    pub response_timeout: Duration,
    /// How long a source tuple rests after its connection: 2MSL.
    pub quarantine: Duration,
}

struct Conn {
    intended: Instant,
    src: (Ipv4Addr, u16),
    measured: bool,
    got_first_byte: bool,
    responses: u32,
    received: usize,
    tail: Vec<u8>,
    deadline: Option<Instant>,
    timed_out: bool,
    closing: bool,
}

/// Counters of one worker's load, counting measured connections only.
#[derive(Clone, Debug, Default)]
struct Counters {
    started: u64,
    completed: u64,
    refused: u64,
    reset: u64,
    syn_timeout: u64,
    response_timeout: u64,
    retries_exhausted: u64,
    requests: u64,
    responses: u64,
    bytes_received: u64,
    warm_up: u64,
    no_free_tuple: u64,
}

/// Microsecond histograms, 1 µs to 100 s at 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("constant bounds are valid")
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record((d.as_micros() as u64).max(1));
}

/// The load generator of one worker.
pub struct LoadApp {
    o: LoadOptions,
    ports: PortAllocator,
    schedule: Option<RateSchedule>,
    start: Option<Instant>,
    conns: HashMap<ConnId, Conn>,
    next_timeout_scan: Instant,
    /// Set once no more connections are to be opened.
    opening_done: bool,
    c: Counters,
    connect: Histogram<u64>,
    first_byte: Histogram<u64>,
    lifecycle: Histogram<u64>,
}

impl LoadApp {
    /// A load generator per `o`.
    pub fn new(o: LoadOptions) -> Self {
        LoadApp {
            ports: PortAllocator::new(o.addresses.clone(), o.ports, o.quarantine),
            o,
            schedule: None,
            start: None,
            conns: HashMap::new(),
            next_timeout_scan: Instant::ZERO,
            opening_done: false,
            c: Counters::default(),
            connect: histogram(),
            first_byte: histogram(),
            lifecycle: histogram(),
        }
    }

    /// The tuple space check for this worker's rate.
    pub fn check(&self) -> Result<(), super::ports::TupleSpaceError> {
        self.ports.check_rate(self.o.rate.unwrap_or(0.0))
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

    fn open(&mut self, engine: &mut Engine, intended: Instant, now: Instant) -> bool {
        let Some((ip, port)) = self.ports.take(now) else {
            self.c.no_free_tuple += 1;
            return false;
        };
        match engine.connect(
            now,
            SocketAddrV4::new(ip, port),
            self.o.target,
            self.o.next_hop,
        ) {
            Ok(conn) => {
                let measured = self.measuring_from().is_some_and(|m| intended >= m);
                if measured {
                    self.c.started += 1;
                } else {
                    self.c.warm_up += 1;
                }
                self.conns.insert(
                    conn,
                    Conn {
                        intended,
                        src: (ip, port),
                        measured,
                        got_first_byte: false,
                        responses: 0,
                        received: 0,
                        tail: Vec::new(),
                        deadline: None,
                        timed_out: false,
                        closing: false,
                    },
                );
                true
            }
            Err(_) => {
                // In use or in TIME-WAIT after all (e.g. the engine's MSL is
                // longer than ours): rest the tuple again.
                self.ports.give_back(ip, port, now);
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
        c.deadline = Some(now + self.o.response_timeout);
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
            LoadClose::Wait => c.deadline = Some(now + self.o.response_timeout),
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
        if c.measured {
            self.c.responses += 1;
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
        if c.closing || c.deadline.is_none() {
            return; // not waiting for a response
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
        };
        if done {
            self.response_done(engine, conn, at);
        }
    }

    fn on_end(&mut self, conn: ConnId, kind: EventKind, at: Instant) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.ports.give_back(c.src.0, c.src.1, at);
        if !c.measured {
            return;
        }
        match kind {
            EventKind::Closed if c.timed_out => self.c.response_timeout += 1,
            EventKind::Closed => {
                self.c.completed += 1;
                record(&mut self.lifecycle, at - c.intended);
            }
            EventKind::Refused => self.c.refused += 1,
            EventKind::Reset => self.c.reset += 1,
            EventKind::TimedOut(TimeoutReason::Handshake) => self.c.syn_timeout += 1,
            _ => self.c.retries_exhausted += 1,
        }
    }

    fn scan_timeouts(&mut self, engine: &mut Engine, now: Instant) {
        if now < self.next_timeout_scan {
            return;
        }
        self.next_timeout_scan = now + Duration::from_millis(10);
        for (&conn, c) in self.conns.iter_mut() {
            if c.deadline.is_some_and(|d| now >= d) {
                c.deadline = None;
                c.timed_out = true;
                let _ = engine.abort(conn, now);
            }
        }
    }
}

impl App for LoadApp {
    fn poll(&mut self, engine: &mut Engine, now: Instant) {
        let start = *self.start.get_or_insert(now);
        if self.schedule.is_none() {
            if let Some(rate) = self.o.rate {
                self.schedule = Some(RateSchedule::new(start, rate, self.o.ramp_up));
            }
        }
        self.scan_timeouts(engine, now);
        self.opening_done = self.done_opening(now);
        let cap = self.o.concurrency.unwrap_or(u64::MAX);
        while !self.opening_done && (self.conns.len() as u64) < cap {
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
                    let Some(c) = self.conns.get(&ev.conn) else {
                        continue;
                    };
                    if c.measured {
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
                        .is_some_and(|c| c.deadline.is_some() && !c.closing);
                    if waiting && self.o.response == ResponseEnd::PeerFin {
                        self.response_done(engine, ev.conn, ev.at);
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
                kind if kind.is_terminal() => self.on_end(ev.conn, kind, ev.at),
                _ => {}
            }
        }
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let s = self.schedule.as_ref().filter(|_| !self.opening_done)?;
        Some(s.time_of(s.issued()))
    }

    fn finished(&self) -> bool {
        self.opening_done && self.conns.is_empty()
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let c = &self.c;
        vec![
            ("started", c.started),
            ("completed", c.completed),
            ("refused", c.refused),
            ("reset", c.reset),
            ("syn_timeout", c.syn_timeout),
            ("response_timeout", c.response_timeout),
            ("retries_exhausted", c.retries_exhausted),
            ("requests", c.requests),
            ("responses", c.responses),
            ("bytes_received", c.bytes_received),
            ("warm_up", c.warm_up),
            ("no_free_tuple", c.no_free_tuple),
            ("active", self.conns.len() as u64),
        ]
    }

    fn histograms(&self) -> Vec<(&'static str, Histogram<u64>)> {
        vec![
            ("connect", self.connect.clone()),
            ("first_byte", self.first_byte.clone()),
            ("lifecycle", self.lifecycle.clone()),
        ]
    }
}
