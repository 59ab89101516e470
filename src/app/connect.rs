//! `synwave connect`: open connections to a target, optionally send a
//! request, close client-first, and count how each one ended.

use crate::io::worker::App;
use crate::tcp::{Engine, EngineError, EventKind, Events, Instant};
use crate::wire::MacAddr;
use hashbrown::HashSet;
use std::net::SocketAddrV4;

/// What one worker's connector does.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub src: std::net::Ipv4Addr,
    /// Source ports this worker may use, `lo..=hi`.
    pub ports: (u16, u16),
    pub target: SocketAddrV4,
    pub next_hop: MacAddr,
    /// Connections to open in all.
    pub count: u64,
    /// Connections open at once at most.
    pub concurrency: u64,
    /// Sent once connected; without one, we close right after the handshake.
    pub request: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default)]
struct Counters {
    opened: u64,
    connected: u64,
    refused: u64,
    reset: u64,
    timed_out: u64,
    closed: u64,
    bytes_received: u64,
    port_busy: u64,
}

/// The connector of one worker.
pub struct ConnectApp {
    o: ConnectOptions,
    next_port: u16,
    active: u64,
    /// Connections that have seen response bytes and been closed.
    closing: HashSet<crate::tcp::ConnId>,
    c: Counters,
}

impl ConnectApp {
    /// A connector per `opts`.
    pub fn new(opts: ConnectOptions) -> Self {
        ConnectApp {
            next_port: opts.ports.0,
            o: opts,
            active: 0,
            closing: HashSet::new(),
            c: Counters::default(),
        }
    }

    fn bump_port(&mut self) {
        self.next_port = if self.next_port >= self.o.ports.1 {
            self.o.ports.0
        } else {
            self.next_port + 1
        };
    }

    /// Opens one connection on the next free source port; false when every
    /// port is busy (in use or in TIME-WAIT) right now.
    fn open_one(&mut self, engine: &mut Engine, now: Instant) -> bool {
        let span = u32::from(self.o.ports.1 - self.o.ports.0) + 1;
        for _ in 0..span {
            let src = SocketAddrV4::new(self.o.src, self.next_port);
            self.bump_port();
            match engine.connect(now, src, self.o.target, self.o.next_hop) {
                Ok(_) => {
                    self.c.opened += 1;
                    self.active += 1;
                    return true;
                }
                Err(EngineError::TupleInUse | EngineError::TupleInTimeWait) => {
                    self.c.port_busy += 1
                }
                Err(_) => return false,
            }
        }
        false
    }
}

impl App for ConnectApp {
    fn poll(&mut self, engine: &mut Engine, now: Instant) {
        while self.c.opened < self.o.count && self.active < self.o.concurrency {
            if !self.open_one(engine, now) {
                break;
            }
        }
    }

    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        for ev in events {
            match ev.kind {
                EventKind::Connected => {
                    self.c.connected += 1;
                    match &self.o.request {
                        Some(req) => {
                            let _ = engine.send(ev.conn, req);
                        }
                        None => {
                            let _ = engine.close(ev.conn, now);
                        }
                    }
                }
                EventKind::Data { len, .. } => {
                    self.c.bytes_received += u64::from(len);
                    // Close on the first response bytes; the rest still
                    // arrives while we sit in FIN-WAIT (half close).
                    if self.closing.insert(ev.conn) {
                        let _ = engine.close(ev.conn, now);
                    }
                }
                EventKind::PeerClosed => {
                    let _ = engine.close(ev.conn, now);
                }
                kind if kind.is_terminal() => {
                    self.active -= 1;
                    self.closing.remove(&ev.conn);
                    match kind {
                        EventKind::Closed => self.c.closed += 1,
                        EventKind::Refused => self.c.refused += 1,
                        EventKind::Reset => self.c.reset += 1,
                        _ => self.c.timed_out += 1,
                    }
                }
                _ => {}
            }
        }
    }

    fn finished(&self) -> bool {
        self.c.opened >= self.o.count && self.active == 0
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let c = &self.c;
        vec![
            ("opened", c.opened),
            ("connected", c.connected),
            ("refused", c.refused),
            ("reset", c.reset),
            ("timed_out", c.timed_out),
            ("closed", c.closed),
            ("bytes_received", c.bytes_received),
            ("port_busy", c.port_busy),
        ]
    }
}
