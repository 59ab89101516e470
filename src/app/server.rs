//! `synwave serve`: accept, optionally answer the first request bytes with a
//! fixed response, and close.

use super::App;
use crate::tcp::{ConnId, Engine, EventKind, Events, Instant};
use hashbrown::HashSet;

/// Who closes first.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CloseMode {
    /// We close right after responding (or after accepting, with no response):
    /// we are the active closer and hold TIME-WAIT.
    ServerFirst,
    /// We close when the client's FIN arrives: the client holds TIME-WAIT.
    WaitClient,
}

super::counters::counters! {
    /// Counters of one worker's server.
    pub struct ServerCounters {
        accepted,
        requests,
        responses,
        closed,
        reset,
        timed_out,
        bytes_received,
    }
}

impl ServerCounters {
    /// The counters `serve`'s text summary shows.
    pub const SUMMARY: &'static [&'static str] = Self::NAMES.split_at(6).0;
}

/// The server application of one worker.
pub struct ServerApp {
    response: Option<Vec<u8>>,
    close: CloseMode,
    /// Connections that have had their response.
    answered: HashSet<ConnId>,
    c: ServerCounters,
}

impl ServerApp {
    /// A server that answers with `response` (if any) and closes per `close`.
    pub fn new(response: Option<Vec<u8>>, close: CloseMode) -> Self {
        ServerApp {
            response,
            close,
            answered: HashSet::new(),
            c: ServerCounters::default(),
        }
    }

    fn done_with(&mut self, engine: &mut Engine, conn: ConnId, now: Instant) {
        if self.close == CloseMode::ServerFirst {
            // The connection may have ended meanwhile; nothing to close then.
            let _ = engine.close(conn, now);
        }
    }
}

impl App for ServerApp {
    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant) {
        for ev in events {
            match ev.kind {
                EventKind::Accepted => {
                    self.c.accepted += 1;
                    if self.response.is_none() {
                        self.done_with(engine, ev.conn, now);
                    }
                }
                EventKind::Data { len, .. } => {
                    self.c.bytes_received += u64::from(len);
                    if let Some(response) = &self.response {
                        if self.answered.insert(ev.conn) {
                            self.c.requests += 1;
                            if engine.send(ev.conn, response).is_ok() {
                                self.c.responses += 1;
                            }
                            self.done_with(engine, ev.conn, now);
                        }
                    }
                }
                EventKind::PeerClosed => {
                    let _ = engine.close(ev.conn, now);
                }
                kind if kind.is_terminal() => {
                    self.answered.remove(&ev.conn);
                    match kind {
                        EventKind::Closed => self.c.closed += 1,
                        EventKind::TimedOut(_) => self.c.timed_out += 1,
                        _ => self.c.reset += 1,
                    }
                }
                _ => {}
            }
        }
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        self.c.fields()
    }
}
