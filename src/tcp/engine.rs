//! The engine: one worker's connections, driven by frames and time.
//!
//! Call order per turn of a driver's loop (as quinn-proto documents its own):
//! 1. [`Engine::handle_timeout`] once `now` has passed [`Engine::poll_timeout`];
//! 2. [`Engine::handle_frames`] with the received batch;
//! 3. [`Engine::swap_events`], and the application's commands
//!    ([`Engine::connect`], [`Engine::send`], [`Engine::close`], [`Engine::abort`]);
//! 4. [`Engine::poll_transmit`], which writes what the connections owe.
//!
//! ACKs for received data wait until step 4 so that a response written in
//! step 3 carries them.

use super::config::{Config, ConfigError};
use super::event::{ConnId, Event, EventKind, Events, TimeoutReason};
use super::isn::IsnGenerator;
use super::keys::Keys;
use super::output::{ts_val, Bare};
use super::rtt::RttEstimator;
use super::stats::Stats;
use super::syn_cookie::SynCookies;
use super::table::{Slot, Table};
use super::tcb::{flag, Tcb};
use super::time_wait::TimeWait;
use super::timer::TimerWheel;
use super::{FourTuple, FrameBatch, Instant, State};
use crate::wire::{MacAddr, SeqNumber, TcpFlags};
use core::fmt;
use core::time::Duration;
use std::net::SocketAddrV4;

/// Timer values: a TCB index, or a TIME-WAIT index with this bit set.
const TIME_WAIT_TIMER: u32 = 1 << 31;

/// A command the engine refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// The handle names no live connection (it ended, or never existed).
    UnknownConnection,
    /// The 4-tuple belongs to a live connection.
    TupleInUse,
    /// The 4-tuple is in TIME-WAIT; pick another source port.
    TupleInTimeWait,
    /// `max_tcbs` connections exist already.
    TableFull,
    /// That address is already listening.
    AlreadyListening,
    /// The connection's state does not allow this (e.g. send after close).
    InvalidState(State),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::UnknownConnection => f.write_str("no such connection"),
            EngineError::TupleInUse => f.write_str("4-tuple already in use"),
            EngineError::TupleInTimeWait => f.write_str("4-tuple is in TIME-WAIT"),
            EngineError::TableFull => f.write_str("connection table is full"),
            EngineError::AlreadyListening => f.write_str("address already listening"),
            EngineError::InvalidState(s) => write!(f, "not allowed in state {s}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// A listening address and its half-open connections, against `syn_backlog`.
#[derive(Clone, Debug)]
pub(crate) struct Listener {
    pub addr: SocketAddrV4,
    pub half_open: usize,
}

/// Everything but the table, so that a TCB borrowed from the table and the
/// rest of the engine can be used together.
pub(crate) struct Core {
    pub cfg: Config,
    pub mac: MacAddr,
    pub isn: IsnGenerator,
    pub keys: Keys,
    pub listeners: Vec<Listener>,
    pub timers: TimerWheel<u32>,
    pub dirty: Vec<u32>,
    pub aborts: Vec<Bare>,
    pub events: Events,
    pub stats: Stats,
    pub cookies: SynCookies,
    /// When the last cookie was sent: only then are ACKs to a listener
    /// checked as cookies (Linux does the same).
    pub last_cookie: Option<Instant>,
    /// TIME-WAIT records by age (index, stamp); stale pairs are skipped.
    pub time_wait_order: std::collections::VecDeque<(u32, u32)>,
    pub time_wait_stamp: u32,
    /// RFC 5961 §7 rate limit: the current second and how many were sent in it.
    challenge_second: u64,
    challenge_count: u32,
}

/// The sans-IO TCP engine of one worker: a TCB table, listeners, a timer
/// wheel. Frames and time in, frames and events out.
pub struct Engine {
    pub(crate) core: Core,
    pub(crate) table: Table,
    expired: Vec<u32>,
}

impl Engine {
    /// An engine whose frames leave from `mac`, its ISNs, SYN cookies and
    /// TSval offsets keyed by `keys`.
    pub fn new(
        cfg: Config,
        mac: MacAddr,
        keys: impl Into<Keys>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let keys = keys.into();
        let capacity = cfg.max_tcbs.min(1 << 16);
        Ok(Engine {
            table: Table::with_capacity(capacity),
            core: Core {
                mac,
                isn: IsnGenerator::new(keys.isn),
                listeners: Vec::new(),
                timers: TimerWheel::with_capacity(now.as_millis(), capacity),
                dirty: Vec::new(),
                aborts: Vec::new(),
                events: Events::new(),
                stats: Stats::default(),
                cookies: SynCookies::new(keys.syn_cookie),
                keys,
                last_cookie: None,
                time_wait_order: std::collections::VecDeque::new(),
                time_wait_stamp: 0,
                challenge_second: 0,
                challenge_count: 0,
                cfg,
            },
            expired: Vec::new(),
        })
    }

    // ---- getters ----

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.core.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// Full TCBs alive (every state but TIME-WAIT).
    pub fn tcb_count(&self) -> usize {
        self.table.tcb_count()
    }

    /// TIME-WAIT records alive.
    pub fn time_wait_count(&self) -> usize {
        self.table.time_wait_count()
    }

    /// Bytes per established TCB and per TIME-WAIT entry (slot, map entry,
    /// timer, and for TIME-WAIT its place in the age queue).
    pub fn bytes_per_entry() -> (usize, usize) {
        (
            Table::bytes_per_tcb(),
            Table::bytes_per_time_wait() + core::mem::size_of::<(u32, u32)>(),
        )
    }

    /// The state of a live connection.
    pub fn state(&self, conn: ConnId) -> Option<State> {
        self.tcb(conn).map(|t| t.state)
    }

    /// The highest sequence number a live connection has sent, plus one:
    /// where a later connection on its tuple must start beyond.
    pub fn snd_max(&self, conn: ConnId) -> Option<SeqNumber> {
        self.tcb(conn).map(|t| t.snd_max)
    }

    /// The 4-tuple of a live connection.
    pub fn tuple(&self, conn: ConnId) -> Option<FourTuple> {
        self.tcb(conn).map(|t| t.tuple)
    }

    /// When [`Engine::handle_timeout`] should next be called; no timer fires earlier.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.timers.next_deadline().map(Instant::from_millis)
    }

    fn tcb(&self, conn: ConnId) -> Option<&Tcb> {
        let tcb = self.table.tcbs.get(conn.index as usize)?;
        (tcb.generation == conn.generation && tcb.state != State::Closed).then_some(tcb)
    }

    fn live(&self, conn: ConnId) -> Result<u32, EngineError> {
        self.tcb(conn)
            .map(|_| conn.index)
            .ok_or(EngineError::UnknownConnection)
    }

    // ---- input ----

    /// Processes a batch of received frames. Replies that need no TCB (RST,
    /// challenge ACKs, TIME-WAIT's re-ACKs) go to `tx` at once; what
    /// connections owe waits for [`Engine::poll_transmit`].
    pub fn handle_frames<'a>(
        &mut self,
        now: Instant,
        frames: impl IntoIterator<Item = &'a [u8]>,
        tx: &mut FrameBatch,
    ) {
        for frame in frames {
            self.handle_frame(now, frame, tx);
        }
    }

    /// Fires the timers due by `now`: retransmissions go to `tx`, TIME-WAIT
    /// records expire, connections out of retries end.
    pub fn handle_timeout(&mut self, now: Instant, tx: &mut FrameBatch) {
        let mut expired = core::mem::take(&mut self.expired);
        self.core.timers.advance(now.as_millis(), &mut expired);
        for &value in &expired {
            if value & TIME_WAIT_TIMER != 0 {
                let index = value & !TIME_WAIT_TIMER;
                self.table.time_waits[index as usize].timer = None;
                self.table.remove_time_wait(index);
                self.core.stats.time_wait_expired += 1;
            } else {
                self.on_tcb_timer(value, now, tx);
            }
        }
        expired.clear();
        self.expired = expired;
        self.trim_time_wait_order();
    }

    // ---- commands ----

    /// Accepts connections to `addr` (0.0.0.0 for any local address).
    pub fn listen(&mut self, addr: SocketAddrV4) -> Result<(), EngineError> {
        if self.core.listeners.iter().any(|l| l.addr == addr) {
            return Err(EngineError::AlreadyListening);
        }
        self.core.listeners.push(Listener { addr, half_open: 0 });
        Ok(())
    }

    /// Opens a connection from `local` to `remote`, whose next hop is
    /// `peer_mac`. The SYN leaves on the next [`Engine::poll_transmit`].
    /// A tuple we hold in TIME-WAIT is taken over once
    /// [`Config::time_wait_reuse`] allows it (see [`Engine::reusable_at`]).
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        peer_mac: MacAddr,
    ) -> Result<ConnId, EngineError> {
        self.open(now, FourTuple::new(local, remote), peer_mac, None)
    }

    /// Opens a tuple again whose last connection had sent up to
    /// `last_snd_nxt`, where the peer may hold it in TIME-WAIT: the ISS lies
    /// beyond `last_snd_nxt`, so that the peer takes the SYN as a new
    /// connection (RFC 9293 §3.4.1, RFC 6191 §2) whatever our clock says.
    pub fn reconnect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        peer_mac: MacAddr,
        last_snd_nxt: SeqNumber,
    ) -> Result<ConnId, EngineError> {
        self.open(
            now,
            FourTuple::new(local, remote),
            peer_mac,
            Some(last_snd_nxt),
        )
    }

    /// When [`Engine::connect`] will take `tuple` again: now, unless we
    /// hold it in TIME-WAIT — then a reuse delay after entering it when
    /// timestamps were in use and reuse is on, else when TIME-WAIT ends.
    pub fn reusable_at(&self, tuple: &FourTuple, now: Instant) -> Instant {
        match self.table.get(tuple) {
            Some(Slot::TimeWait(index)) => {
                let tw = &self.table.time_waits[index as usize];
                match self.core.cfg.time_wait_reuse {
                    Some(delay) if tw.ts_ok => tw.entered + delay,
                    _ => tw.entered + 2 * self.core.cfg.msl,
                }
            }
            _ => now,
        }
    }

    fn open(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        peer_mac: MacAddr,
        last_snd_nxt: Option<SeqNumber>,
    ) -> Result<ConnId, EngineError> {
        let mut iss = self.core.isn.isn(&tuple, now);
        match self.table.get(&tuple) {
            Some(Slot::Tcb(_)) => return Err(EngineError::TupleInUse),
            Some(Slot::TimeWait(tw_index)) => {
                if self.reusable_at(&tuple, now) > now {
                    return Err(EngineError::TupleInTimeWait);
                }
                // Linux `tcp_twsk_unique`: our TSval has moved on since the
                // peer last heard from this tuple, so its PAWS keeps old
                // duplicates out; the ISS jumps past anything it may still
                // accept from the old connection.
                iss = self.table.time_waits[tw_index as usize].next_iss();
                self.drop_time_wait(tw_index);
                self.core.stats.time_wait_reopened += 1;
            }
            None => {}
        }
        if let Some(last) = last_snd_nxt {
            if iss <= last {
                iss = last + 65535 + 2;
            }
        }
        if self.table.tcb_count() >= self.core.cfg.max_tcbs {
            return Err(EngineError::TableFull);
        }
        let mut flags = flag::APP_KNOWN;
        if self.core.cfg.timestamps {
            flags |= flag::TS_OK;
        }
        if self.core.cfg.window_scale > 0 {
            flags |= flag::WS_OK;
        }
        let index = self.new_tcb(tuple, peer_mac, State::SynSent, flags, iss, now);
        self.core.stats.active_opens += 1;
        let tcb = &mut self.table.tcbs[index as usize];
        self.core.mark_dirty(tcb, index);
        Ok(ConnId {
            index,
            generation: tcb.generation,
        })
    }

    /// Queues bytes to send; returns how many fit in the send buffer.
    pub fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, EngineError> {
        let index = self.live(conn)?;
        let tcb = &mut self.table.tcbs[index as usize];
        if !tcb.state.can_send() || tcb.has(flag::FIN_QUEUED) {
            return Err(EngineError::InvalidState(tcb.state));
        }
        let n = data
            .len()
            .min(self.core.cfg.send_buffer.saturating_sub(tcb.send_buf.len()));
        tcb.send_buf.extend_from_slice(&data[..n]);
        self.core.mark_dirty(tcb, index);
        Ok(n)
    }

    /// Closes our side in order (RFC 9293 §3.10.4): a FIN follows the queued
    /// data; received data keeps arriving until the peer's FIN. Closing a
    /// connection still in SYN-SENT just forgets it. Idempotent.
    pub fn close(&mut self, conn: ConnId, now: Instant) -> Result<(), EngineError> {
        let index = self.live(conn)?;
        let tcb = &mut self.table.tcbs[index as usize];
        match tcb.state {
            State::SynSent => {
                self.finish(index, Some(EventKind::Closed), now);
                self.core.stats.closed += 1;
                return Ok(());
            }
            State::SynReceived => tcb.set(flag::FIN_QUEUED),
            State::Established => {
                tcb.set(flag::FIN_QUEUED);
                tcb.state = State::FinWait1;
            }
            State::CloseWait => {
                tcb.set(flag::FIN_QUEUED);
                tcb.state = State::LastAck;
            }
            _ => return Ok(()),
        }
        self.core.mark_dirty(tcb, index);
        Ok(())
    }

    /// Aborts with RST (RFC 9293 §3.10.5): the TCB is gone at once and the
    /// RST leaves on the next [`Engine::poll_transmit`].
    pub fn abort(&mut self, conn: ConnId, now: Instant) -> Result<(), EngineError> {
        let index = self.live(conn)?;
        let tcb = &self.table.tcbs[index as usize];
        if tcb.state.is_synchronized() {
            let rst = Bare {
                tuple: tcb.tuple,
                peer_mac: tcb.peer_mac,
                seq: tcb.snd_nxt,
                ack: tcb.rcv_nxt,
                flags: TcpFlags::RST | TcpFlags::ACK,
                window: 0,
                mss: None,
                window_scale: None,
                timestamps: None,
            };
            self.core.aborts.push(rst);
        }
        self.core.stats.aborts += 1;
        self.finish(index, Some(EventKind::Closed), now);
        Ok(())
    }

    // ---- output ----

    /// Hands over the events so far: `events` is cleared and swapped with the
    /// engine's, so no allocation is lost.
    pub fn swap_events(&mut self, events: &mut Events) {
        events.clear();
        core::mem::swap(events, &mut self.core.events);
    }

    /// Writes everything connections owe into `tx`: SYNs, SYN-ACKs, data,
    /// FINs, deferred ACKs, and the RSTs of aborts.
    pub fn poll_transmit(&mut self, now: Instant, tx: &mut FrameBatch) {
        let mut dirty = core::mem::take(&mut self.core.dirty);
        for &index in &dirty {
            let tcb = &mut self.table.tcbs[index as usize];
            if tcb.has(flag::DIRTY) {
                tcb.clear(flag::DIRTY);
                self.core.output(tx, tcb, index, now);
            }
        }
        dirty.clear();
        self.core.dirty = dirty;
        let mut aborts = core::mem::take(&mut self.core.aborts);
        for rst in aborts.drain(..) {
            self.core.emit_bare(tx, &rst);
        }
        self.core.aborts = aborts;
    }

    // ---- internals shared by input and timers ----

    /// Fills a free TCB for a new connection.
    pub(crate) fn new_tcb(
        &mut self,
        tuple: FourTuple,
        peer_mac: MacAddr,
        state: State,
        flags: u8,
        iss: SeqNumber,
        now: Instant,
    ) -> u32 {
        let cfg = &self.core.cfg;
        let index = self.table.insert_tcb(tuple);
        let tcb = &mut self.table.tcbs[index as usize];
        tcb.tuple = tuple;
        tcb.peer_mac = peer_mac;
        tcb.state = state;
        tcb.flags = flags;
        tcb.snd_wscale = 0;
        tcb.rcv_wscale = if flags & flag::WS_OK != 0 {
            cfg.window_scale
        } else {
            0
        };
        tcb.retries = 0;
        tcb.syn_resent = false;
        tcb.snd_mss = cfg.mss - if flags & flag::TS_OK != 0 { 12 } else { 0 };
        tcb.iss = iss;
        tcb.snd_una = iss;
        tcb.snd_nxt = iss;
        tcb.snd_max = iss;
        tcb.snd_wnd = 0;
        tcb.max_snd_wnd = 0;
        tcb.snd_wl1 = SeqNumber(0);
        tcb.snd_wl2 = iss;
        tcb.cwnd = 10 * u32::from(tcb.snd_mss);
        tcb.ssthresh = u32::MAX;
        tcb.irs = SeqNumber(0);
        tcb.rcv_nxt = SeqNumber(0);
        // Hashed only where timestamps may go out.
        tcb.ts_offset = if cfg.timestamps {
            self.core.keys.ts_offset(&tuple)
        } else {
            0
        };
        tcb.collisions = 0;
        tcb.set_ts_recent(0, now);
        tcb.last_oow_ack = 0;
        tcb.persist_since = 0;
        tcb.rtt_seq = None;
        tcb.rtt = RttEstimator::new(cfg.rto_initial);
        tcb.timer = None;
        tcb.send_buf.clear();
        tcb.created = now;
        index
    }

    /// Ends a TCB: its timer is cancelled, the application hears `event` if it
    /// knows the connection, and the slot is freed.
    pub(crate) fn finish(&mut self, index: u32, event: Option<EventKind>, now: Instant) {
        let tcb = &mut self.table.tcbs[index as usize];
        self.core.leave_half_open(tcb);
        self.core.disarm(tcb);
        if let Some(kind) = event {
            if tcb.has(flag::APP_KNOWN) {
                self.core.event(tcb, index, kind, now);
            }
        }
        self.table.remove_tcb(index, false);
    }

    /// Turns a TCB into a TIME-WAIT record for 2MSL (RFC 9293 §3.10.7.4
    /// eighth). `ack_fin`: the peer's FIN arrived just now and is ACKed
    /// first; from CLOSING it was ACKed already, so nothing is sent.
    pub(crate) fn enter_time_wait(
        &mut self,
        index: u32,
        now: Instant,
        tx: &mut FrameBatch,
        ack_fin: bool,
    ) {
        let tcb = &mut self.table.tcbs[index as usize];
        if ack_fin {
            self.core.ack_now(tx, tcb, now);
        }
        self.core.disarm(tcb);
        if tcb.has(flag::APP_KNOWN) {
            self.core.event(tcb, index, EventKind::Closed, now);
        }
        self.core.stats.closed += 1;
        self.core.stats.time_wait_entered += 1;
        let stamp = self.core.time_wait_stamp;
        self.core.time_wait_stamp = stamp.wrapping_add(1);
        let tw = TimeWait {
            tuple: tcb.tuple,
            peer_mac: tcb.peer_mac,
            ts_ok: tcb.has(flag::TS_OK),
            rcv_wscale: tcb.rcv_wscale,
            snd_nxt: tcb.snd_nxt,
            rcv_nxt: tcb.rcv_nxt,
            ts_recent: tcb.ts_recent,
            ts_offset: tcb.ts_offset,
            entered: now,
            last_oow_ack: tcb.last_oow_ack,
            stamp,
            timer: None,
        };
        // Counted before the TCB's own key changes over to TIME-WAIT.
        if self.table.time_wait_count() >= self.core.cfg.max_time_wait {
            self.recycle_oldest_time_wait();
        }
        self.table.remove_tcb(index, true);
        let tw_index = self.table.insert_time_wait(tw);
        self.core.time_wait_order.push_back((tw_index, stamp));
        self.restart_time_wait(tw_index, now);
    }

    /// Whether `(index, stamp)` still names a live TIME-WAIT record.
    fn time_wait_live(&self, index: u32, stamp: u32) -> bool {
        let tw = &self.table.time_waits[index as usize];
        tw.timer.is_some() && tw.stamp == stamp
    }

    /// Ends the oldest TIME-WAIT record to make room (counted), skipping
    /// entries of records that already ended.
    fn recycle_oldest_time_wait(&mut self) {
        while let Some((index, stamp)) = self.core.time_wait_order.pop_front() {
            if self.time_wait_live(index, stamp) {
                self.drop_time_wait(index);
                self.core.stats.time_wait_recycled += 1;
                return;
            }
        }
    }

    /// Forgets age entries of records that already ended, from the front, so
    /// the queue stays about as long as the table.
    pub(crate) fn trim_time_wait_order(&mut self) {
        while let Some(&(index, stamp)) = self.core.time_wait_order.front() {
            if self.time_wait_live(index, stamp) {
                break;
            }
            self.core.time_wait_order.pop_front();
        }
    }

    /// (Re)starts the 2MSL timer of a TIME-WAIT record.
    pub(crate) fn restart_time_wait(&mut self, tw_index: u32, now: Instant) {
        let tw = &mut self.table.time_waits[tw_index as usize];
        if let Some(h) = tw.timer.take() {
            self.core.timers.cancel(h);
        }
        tw.entered = now;
        let deadline = deadline_ms(now, 2 * self.core.cfg.msl);
        tw.timer = Some(
            self.core
                .timers
                .schedule(deadline, tw_index | TIME_WAIT_TIMER),
        );
    }

    /// Ends a TIME-WAIT record early.
    pub(crate) fn drop_time_wait(&mut self, tw_index: u32) {
        if let Some(h) = self.table.time_waits[tw_index as usize].timer.take() {
            self.core.timers.cancel(h);
        }
        self.table.remove_time_wait(tw_index);
    }

    /// The TCB's timer fired: which one it was follows from the state.
    fn on_tcb_timer(&mut self, index: u32, now: Instant, tx: &mut FrameBatch) {
        let tcb = &mut self.table.tcbs[index as usize];
        tcb.timer = None;
        let handshake = matches!(tcb.state, State::SynSent | State::SynReceived);
        if !handshake && tcb.snd_wnd == 0 && (tcb.outstanding() || tcb.has_unsent()) {
            return self.on_persist_timer(index, now, tx);
        }
        if tcb.outstanding() {
            let limit = if handshake {
                self.core.cfg.syn_retries
            } else {
                self.core.cfg.max_retries
            };
            if tcb.retries >= limit {
                self.core.stats.timeouts += 1;
                if !tcb.has(flag::APP_KNOWN) {
                    self.core.stats.half_open_dropped += 1;
                }
                let reason = if handshake {
                    TimeoutReason::Handshake
                } else {
                    TimeoutReason::Retransmit
                };
                self.finish(index, Some(EventKind::TimedOut(reason)), now);
                return;
            }
            // RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged
            // segment, back off, and time no retransmission (Karn).
            if !handshake && tcb.retries == 0 {
                // RFC 5681 §3.1 (4): ssthresh = max(FlightSize / 2, 2*SMSS),
                // held when the same segment times out again.
                let flight = (tcb.snd_max - tcb.snd_una) as u32;
                tcb.ssthresh = (flight / 2).max(2 * u32::from(tcb.snd_mss));
            }
            tcb.retries += 1;
            tcb.syn_resent |= handshake;
            tcb.rtt.back_off(self.core.cfg.rto_max);
            tcb.rtt_seq = None;
            tcb.cwnd = u32::from(tcb.snd_mss);
            tcb.snd_nxt = tcb.snd_una;
            self.core.stats.retransmits += 1;
            self.core.output(tx, tcb, index, now);
        } else if tcb.state == State::FinWait2 {
            self.core.stats.timeouts += 1;
            self.finish(
                index,
                Some(EventKind::TimedOut(TimeoutReason::FinWait2)),
                now,
            );
        } else if tcb.has_unsent() {
            // RFC 9293 §3.8.6.2.1 (4): the SWS override timeout.
            self.core.send_data(tx, tcb, now, true);
            self.core.rearm(tcb, index, now);
        }
    }

    /// The peer's window is zero and we have something for it (RFC 9293
    /// §3.8.6.1): probe with one byte, backing off as the RTO does. Probes
    /// the peer answers are no retransmission failure (its ACKs reset
    /// `retries`); unanswered ones count as retransmissions of the byte.
    /// A peer that keeps the window shut past `persist_timeout` ends it.
    fn on_persist_timer(&mut self, index: u32, now: Instant, tx: &mut FrameBatch) {
        let tcb = &mut self.table.tcbs[index as usize];
        let ms = now.as_millis() as u32;
        if tcb.persist_since == 0 {
            tcb.persist_since = ms.max(1);
        }
        let persisting = Duration::from_millis(u64::from(ms.wrapping_sub(tcb.persist_since)));
        let reason = if persisting >= self.core.cfg.persist_timeout {
            self.core.stats.persist_timeouts += 1;
            Some(TimeoutReason::Persist)
        } else if tcb.outstanding() && tcb.retries >= self.core.cfg.max_retries {
            Some(TimeoutReason::Retransmit)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.core.stats.timeouts += 1;
            self.finish(index, Some(EventKind::TimedOut(reason)), now);
            return;
        }
        if tcb.outstanding() {
            // A zero window is no sign of congestion: cwnd and ssthresh stay.
            tcb.retries += 1;
            tcb.rtt_seq = None;
            tcb.snd_nxt = tcb.snd_una;
        }
        tcb.rtt.back_off(self.core.cfg.rto_max);
        self.core.stats.persist_probes += 1;
        self.core.send_data(tx, tcb, now, true);
        self.core.rearm(tcb, index, now);
    }
}

/// The wheel tick (ms) at which a timer of length `after` from `now` fires:
/// never the current tick, so a timer never fires early.
pub(crate) fn deadline_ms(now: Instant, after: Duration) -> u64 {
    (now + after)
        .as_nanos()
        .div_ceil(1_000_000)
        .max(now.as_millis() + 1)
}

impl Core {
    /// A passive connection leaves SYN-RECEIVED: one slot of its
    /// listener's backlog frees.
    #[inline]
    pub(crate) fn leave_half_open(&mut self, tcb: &Tcb) {
        if tcb.state == State::SynReceived && tcb.has(flag::PASSIVE) {
            if let Some(l) = self.listeners.get_mut(usize::from(tcb.listener)) {
                l.half_open -= 1;
            }
        }
    }

    /// Queues the TCB for `poll_transmit`.
    #[inline]
    pub(crate) fn mark_dirty(&mut self, tcb: &mut Tcb, index: u32) {
        if !tcb.has(flag::DIRTY) {
            tcb.set(flag::DIRTY);
            self.dirty.push(index);
        }
    }

    /// (Re)arms the TCB's one timer.
    #[inline]
    pub(crate) fn arm(&mut self, tcb: &mut Tcb, index: u32, after: Duration, now: Instant) {
        self.disarm(tcb);
        tcb.timer = Some(self.timers.schedule(deadline_ms(now, after), index));
    }

    /// Arms the timer the TCB needs now, unless one runs: the RTO while
    /// anything is unacknowledged; else, with bytes queued that the window
    /// holds back, the persist timer (window zero, RFC 9293 §3.8.6.1) or the
    /// SWS override timer (RFC 9293 §3.8.6.2.1, 0.1–1 s).
    pub(crate) fn rearm(&mut self, tcb: &mut Tcb, index: u32, now: Instant) {
        if tcb.timer.is_some() {
            return;
        }
        let rto = tcb.rtt.rto();
        if tcb.outstanding() {
            self.arm(tcb, index, rto, now);
        } else if tcb.has_unsent() && tcb.state.is_synchronized() && tcb.state != State::SynReceived
        {
            let after = if tcb.snd_wnd == 0 {
                if tcb.persist_since == 0 {
                    tcb.persist_since = (now.as_millis() as u32).max(1);
                }
                rto
            } else {
                rto.clamp(Duration::from_millis(100), Duration::from_secs(1))
            };
            self.arm(tcb, index, after, now);
        }
    }

    /// Cancels the TCB's timer, if any.
    #[inline]
    pub(crate) fn disarm(&mut self, tcb: &mut Tcb) {
        if let Some(h) = tcb.timer.take() {
            self.timers.cancel(h);
        }
    }

    /// Tells the application.
    #[inline]
    pub(crate) fn event(&mut self, tcb: &Tcb, index: u32, kind: EventKind, now: Instant) {
        self.events.push(Event {
            conn: ConnId {
                index,
                generation: tcb.generation,
            },
            tuple: tcb.tuple,
            kind,
            at: now,
            snd_nxt: tcb.snd_max,
        });
    }

    /// Whether one more challenge or out-of-window ACK may go to a peer that
    /// got its last at `last` (ms, 0: never), against `oow_ack_interval`
    /// (as Linux's `__tcp_oow_rate_limited`); records this one if so.
    pub(crate) fn oow_ack_allowed(&self, last: &mut u32, now: Instant) -> bool {
        let interval = self.cfg.oow_ack_interval.as_millis() as u64;
        let ms = now.as_millis() as u32;
        if *last != 0 && u64::from(ms.wrapping_sub(*last)) < interval {
            return false;
        }
        *last = ms.max(1);
        true
    }

    /// RFC 5961 §7: the connection's own rate limit first, then the global
    /// `challenge_ack_limit` a second (off by default; see its doc).
    pub(crate) fn challenge_ack_allowed(&mut self, last: &mut u32, now: Instant) -> bool {
        if !self.oow_ack_allowed(last, now) {
            self.stats.challenge_acks_limited += 1;
            return false;
        }
        let second = now.as_millis() / 1000;
        if second != self.challenge_second {
            self.challenge_second = second;
            self.challenge_count = 0;
        }
        if self.challenge_count < self.cfg.challenge_ack_limit {
            self.challenge_count += 1;
            self.stats.challenge_acks += 1;
            true
        } else {
            self.stats.challenge_acks_limited += 1;
            false
        }
    }

    /// The ACK RFC 9293 §3.10.7.4 and RFC 7323 §5.3 owe an unacceptable or
    /// PAWS-rejected segment. Two stacks that disagree about a connection
    /// (or a flood of forged ACKs) would trade such ACKs without end, so a
    /// segment that carries nothing is answered within `oow_ack_interval`;
    /// one with data or FIN always is (as Linux's `tcp_oow_rate_limited`).
    pub(crate) fn oow_ack(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        empty: bool,
        now: Instant,
    ) {
        if !empty || self.oow_ack_allowed(&mut tcb.last_oow_ack, now) {
            self.ack_now(tx, tcb, now);
        }
    }

    /// A challenge ACK for a TCB (RFC 5961 §3.2, §4.2), rate limited.
    pub(crate) fn challenge_ack(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        if self.challenge_ack_allowed(&mut tcb.last_oow_ack, now) {
            self.ack_now(tx, tcb, now);
        }
    }

    /// The listener that takes connections to `ip:port`, if any.
    #[inline]
    pub(crate) fn listening(&self, ip: std::net::Ipv4Addr, port: u16) -> Option<u16> {
        self.listeners
            .iter()
            .position(|l| {
                l.addr.port() == port && (l.addr.ip().is_unspecified() || *l.addr.ip() == ip)
            })
            .map(|i| i as u16)
    }

    /// The TIME-WAIT record's ACK <SEQ=SND.NXT><ACK=RCV.NXT>.
    pub(crate) fn time_wait_ack(&mut self, tx: &mut FrameBatch, tw: &TimeWait, now: Instant) {
        let bare = Bare {
            tuple: tw.tuple,
            peer_mac: tw.peer_mac,
            seq: tw.snd_nxt,
            ack: tw.rcv_nxt,
            flags: TcpFlags::ACK,
            window: self.cfg.window_field(tw.rcv_wscale),
            mss: None,
            window_scale: None,
            timestamps: tw.ts_ok.then(|| (ts_val(now, tw.ts_offset), tw.ts_recent)),
        };
        self.emit_bare(tx, &bare);
    }
}
