//! `synwave connect`: open connections to a target, optionally send a
//! request, close client-first, and count how each one ended. A
//! configuration of the load generator (no rate, no timeouts of its own:
//! TCP's retransmission decides), reporting under connect's own names.

use super::load::{LoadApp, LoadClose, LoadCounters, LoadOptions, ResponseEnd};
use super::App;
use crate::tcp::{Engine, Events, Instant};
use crate::wire::MacAddr;
use core::time::Duration;
use hdrhistogram::Histogram;
use std::net::SocketAddrV4;

/// What a connect run does.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub src: std::net::Ipv4Addr,
    /// Source ports to use, `lo..=hi`.
    pub ports: (u16, u16),
    pub target: SocketAddrV4,
    pub next_hop: MacAddr,
    /// Connections to open in all.
    pub count: u64,
    /// Connections open at once at most.
    pub concurrency: u64,
    /// Sent once connected; without one, we close right after the handshake.
    pub request: Option<Vec<u8>>,
    /// Where in the port range never-used tuples start.
    pub first_port: u32,
}

impl ConnectOptions {
    /// The load these options describe: each connection sends the request
    /// (if any), closes at the first response bytes (a half-close: the rest
    /// still arrives) or right after the handshake, and ends however TCP
    /// ends it.
    pub fn load(&self) -> LoadOptions {
        LoadOptions {
            target: self.target,
            next_hop: self.next_hop,
            addresses: vec![self.src],
            ports: self.ports,
            rate: None,
            ramp_up: Duration::ZERO,
            stages: Vec::new(),
            concurrency: Some(self.concurrency.max(1)),
            connections: Some(self.count),
            duration: None,
            warm_up: Duration::ZERO,
            requests_per_connection: u32::from(self.request.is_some()),
            request: self.request.clone(),
            response: ResponseEnd::FirstBytes,
            close: LoadClose::Fin,
            response_timeout: None,
            connect_timeout: None,
            grace: Duration::ZERO,
            first_port: self.first_port,
            home: None,
        }
    }
}

/// The connector of one worker.
pub struct ConnectApp(LoadApp);

impl ConnectApp {
    /// A connector per `opts`.
    pub fn new(opts: ConnectOptions) -> Self {
        Self::from_load(opts.load())
    }

    /// A connector running `load`, a worker's share of
    /// [`ConnectOptions::load`].
    pub fn from_load(load: LoadOptions) -> Self {
        ConnectApp(LoadApp::new(load))
    }
}

super::counters::counters! {
    /// The load generator's counters under the names `connect` reports.
    pub struct ConnectCounters {
        opened,
        connected,
        refused,
        reset,
        /// No handshake or no progress before TCP gave up.
        timed_out,
        closed,
        bytes_received,
        /// Waits for a free source tuple.
        port_busy,
    }
}

impl ConnectCounters {
    /// The counters `connect`'s text summary shows.
    pub const SUMMARY: &'static [&'static str] = Self::NAMES.split_at(7).0;

    fn of(c: &LoadCounters) -> Self {
        // Every field named, so that a new load counter needs a place here.
        let LoadCounters {
            started,
            completed,
            refused,
            reset,
            connect_timeout,
            syn_timeout,
            response_timeout,
            retries_exhausted,
            unfinished,
            // connect ends at the first response bytes and never frames
            // HTTP: these stay 0.
            http_error: _,
            bad_response: _,
            connected,
            requests: _,
            responses: _,
            status_1xx: _,
            status_2xx: _,
            status_3xx: _,
            status_4xx: _,
            status_5xx: _,
            bytes_received,
            warm_up: _,
            no_free_tuple,
            interrupted: _,
            // connect has no rate, so nothing is late for its cap.
            concurrency_full: _,
        } = *c;
        ConnectCounters {
            opened: started,
            connected,
            refused,
            reset,
            timed_out: connect_timeout
                + syn_timeout
                + response_timeout
                + retries_exhausted
                + unfinished,
            closed: completed,
            bytes_received,
            port_busy: no_free_tuple,
        }
    }

    /// Connections that did not end in an orderly close.
    pub fn failed(&self) -> u64 {
        self.refused + self.reset + self.timed_out
    }
}

impl App for ConnectApp {
    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        self.0.on_events(engine, events, now);
    }

    fn poll(&mut self, engine: &mut Engine, now: Instant) {
        self.0.poll(engine, now);
    }

    fn shutdown(&mut self, engine: &mut Engine, now: Instant) {
        self.0.shutdown(engine, now);
    }

    fn next_wakeup(&self) -> Option<Instant> {
        self.0.next_wakeup()
    }

    fn finished(&self) -> bool {
        self.0.finished()
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        ConnectCounters::of(self.0.load_counters()).fields()
    }

    fn histograms(&self) -> Vec<(&'static str, Histogram<u64>)> {
        Vec::new()
    }
}
