//! What runs on top of an engine, and the one turn of a driver's loop that
//! every driver shares — the AF_XDP worker, the simulated wire, the
//! benches: timers, the received batch, the application, transmission, in
//! the order [`Engine`] documents.

use crate::tcp::{Engine, Events, FrameBatch, Instant};
use hdrhistogram::Histogram;

/// What runs on top of an engine: the server, the connector, the load generator.
pub trait App {
    /// Reacts to the events of one turn; may issue engine commands.
    fn on_events(&mut self, engine: &mut Engine, events: &Events, now: Instant);
    /// Called every turn before transmitting, e.g. to open connections.
    fn poll(&mut self, _engine: &mut Engine, _now: Instant) {}
    /// The run is being stopped (a signal, or the worker's deadline): end
    /// what is still open so that every connection is accounted for; the
    /// worker sends what the engine owes (the RSTs) before it reports.
    fn shutdown(&mut self, _engine: &mut Engine, _now: Instant) {}
    /// When the application next wants `poll` called (a connection due),
    /// so an idle worker wakes in time.
    fn next_wakeup(&self) -> Option<Instant> {
        None
    }
    /// True once the application has nothing more to do.
    fn finished(&self) -> bool {
        false
    }
    /// The application's counters, by name.
    fn counters(&self) -> Vec<(&'static str, u64)>;
    /// The application's latency histograms (µs), by name.
    fn histograms(&self) -> Vec<(&'static str, Histogram<u64>)> {
        Vec::new()
    }
}

/// One turn: fires the timers due by `now`, hands the engine the received
/// frames `rx` (a whole batch, from however many sources), lets `app` react
/// to the events and issue its commands, and has the engine write what it
/// owes into `tx`, which the caller transmits. `events` is the caller's
/// buffer, kept across turns so that no turn allocates.
pub fn turn<'a, A: App + ?Sized>(
    engine: &mut Engine,
    app: &mut A,
    events: &mut Events,
    now: Instant,
    rx: impl IntoIterator<Item = &'a [u8]>,
    tx: &mut FrameBatch,
) {
    if engine.poll_timeout().is_some_and(|t| t <= now) {
        engine.handle_timeout(now, tx);
    }
    engine.handle_frames(now, rx, tx);
    engine.swap_events(events);
    if !events.is_empty() {
        app.on_events(engine, events, now);
    }
    app.poll(engine, now);
    engine.poll_transmit(now, tx);
}
