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
use super::core::{Bare, Core, TimerKey};
use super::event::{ConnId, EventKind, Events};
use super::isn::IsnGenerator;
use super::keys::Keys;
use super::reassembly;
use super::rtt::{RtoBounds, RttEstimator};
use super::stats::Stats;
use super::syn_cookie::SynCookies;
use super::table::{Slot, Table, LOOKAHEAD};
use super::tcb::{flag, Tcb, TimerRole};
use super::timer::TimerWheel;
use super::{FourTuple, FrameBatch, Instant, State};
use crate::wire::{MacAddr, SeqNumber, TcpFlags};
use core::fmt;
use std::net::SocketAddrV4;

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

/// The sans-IO TCP engine of one worker: a TCB table, listeners, a timer
/// wheel. Frames and time in, frames and events out.
pub struct Engine {
    pub(crate) core: Core,
    pub(crate) table: Table,
    expired: Vec<TimerKey>,
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
                rto_bounds: RtoBounds::new(cfg.rto_min, cfg.rto_max),
                rtt_initial: RttEstimator::new(cfg.rto_initial),
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
                ts_offsets: Default::default(),
                last_cookie: None,
                challenge: Default::default(),
                ooo: reassembly::Pool::new(cfg.reassembly_buffer, cfg.reassembly_total),
                episodes: Default::default(),
                dsack: None,
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

    /// Bytes of a TCB and of a TIME-WAIT record alone: the budgets that
    /// decide how many fit in cache (issue 14: 160 and 64).
    pub fn record_bytes() -> (usize, usize) {
        (
            core::mem::size_of::<super::tcb::Tcb>(),
            core::mem::size_of::<super::time_wait::TimeWait>(),
        )
    }

    /// Bytes per established TCB and per TIME-WAIT entry (slot, map entry,
    /// and the TCB's timer; a TIME-WAIT record holds its own age links).
    pub fn bytes_per_entry() -> (usize, usize) {
        (Table::bytes_per_tcb(), Table::bytes_per_time_wait())
    }

    /// The bytes of the loss-record pool (`spurious.rs`) at its largest
    /// under `max_tcbs`: one record per live TCB at most, 65,535 in all.
    pub fn recovery_pool_bytes(max_tcbs: usize) -> usize {
        super::spurious::Pool::max_bytes(max_tcbs)
    }

    /// The state of a live connection.
    pub fn state(&self, conn: ConnId) -> Option<State> {
        self.tcb(conn).map(|t| t.state)
    }

    /// The state of whatever holds `tuple`: a connection, or a TIME-WAIT
    /// record (which no [`ConnId`] names any more).
    pub fn tuple_state(&self, tuple: &FourTuple) -> Option<State> {
        match self.table.get(tuple)? {
            Slot::Tcb(index) => Some(self.table.tcbs[index as usize].state),
            Slot::TimeWait(_) => Some(State::TimeWait),
        }
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

    /// When [`Engine::handle_timeout`] should next be called; no timer fires
    /// earlier. It may come before any timer fires: where a timer was pushed
    /// back or stopped (timers are lazy, see `tcp::timer`), that turn only
    /// moves it on. None while no timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timers = self.core.timers.next_deadline().map(Instant::from_millis);
        match (timers, self.next_time_wait_expiry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
        // The batch in runs of LOOKAHEAD: each run's lookups are started
        // (their home lines loaded) before any of its frames is handled,
        // so that where the lines are out of cache the misses overlap
        // rather than each stall its frame in turn; the hashes are kept
        // for the lookups. A SYN's tuple is always out of cache once the
        // map outgrows the L2 cache (at 50 k records it is 2 MiB).
        let mut frames = frames.into_iter();
        let mut run: [(&[u8], u64); LOOKAHEAD] = [(&[], 0); LOOKAHEAD];
        loop {
            let mut n = 0;
            while n < LOOKAHEAD {
                let Some(frame) = frames.next() else { break };
                run[n] = (frame, self.look_ahead(frame));
                n += 1;
            }
            for &(frame, hash) in &run[..n] {
                self.handle_frame(now, frame, hash, tx);
            }
            if n < LOOKAHEAD {
                return;
            }
        }
    }

    /// Fires the timers due by `now`: retransmissions go to `tx`, TIME-WAIT
    /// records expire, connections out of retries end.
    pub fn handle_timeout(&mut self, now: Instant, tx: &mut FrameBatch) {
        let mut expired = core::mem::take(&mut self.expired);
        self.core.timers.advance(now.as_millis(), &mut expired);
        for &key in &expired {
            self.on_tcb_timer(key.index(), now, tx);
        }
        expired.clear();
        self.expired = expired;
        self.expire_time_waits(now);
    }

    // ---- commands (listen: see listen.rs) ----

    /// How many opens [`Engine::open_ahead`] is worth running ahead of:
    /// the run a received batch's lookups are started in, too.
    pub const OPEN_AHEAD: usize = LOOKAHEAD;

    /// Starts the lookup that a [`Engine::connect`] or [`Engine::reconnect`]
    /// of this tuple, soon after, will make: the line of the tuple map it
    /// reads is loaded now. Once the map has outgrown a core's L2 cache
    /// (2 MiB at 50 k TIME-WAIT records), every open's lookup misses (the
    /// tuple is new to the map, its home line anywhere in it); started up to
    /// [`Engine::OPEN_AHEAD`] opens ahead, the misses of a run overlap
    /// rather than each stall its open in turn, as a received batch's do.
    /// A hint only: it changes nothing, whether an open follows or not.
    #[inline]
    pub fn open_ahead(&self, local: SocketAddrV4, remote: SocketAddrV4) {
        self.table
            .touch(self.table.hash(&FourTuple::new(local, remote)));
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

    fn open(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        peer_mac: MacAddr,
        last_snd_nxt: Option<SeqNumber>,
    ) -> Result<ConnId, EngineError> {
        let mut iss = self.core.isn.isn(&tuple, now);
        let max_tcbs = self.core.cfg.max_tcbs;
        let index = match self.table.insert_tcb_if_absent(tuple, max_tcbs) {
            Ok(index) => index,
            Err(Some(Slot::Tcb(_))) => return Err(EngineError::TupleInUse),
            Err(Some(Slot::TimeWait(tw_index))) => {
                iss = self.take_over_time_wait(tw_index, &tuple, now)?;
                if self.table.tcb_count() >= max_tcbs {
                    return Err(EngineError::TableFull);
                }
                self.table.insert_tcb(tuple)
            }
            Err(None) => return Err(EngineError::TableFull),
        };
        if let Some(last) = last_snd_nxt {
            if iss <= last {
                iss = last + 65535 + 2;
            }
        }
        // Offered: the SYN-ACK says what the peer takes.
        let flags = flag::APP_KNOWN | Tcb::option_flags(&self.core.cfg, true, true);
        let tcb = &mut self.table.tcbs[index as usize];
        self.core
            .init_tcb(tcb, tuple, peer_mac, State::SynSent, flags, iss, now);
        self.core.stats.active_opens += 1;
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
                self.forget_syn_sent(index, now);
                return Ok(());
            }
            State::SynReceived => tcb.set(flag::FIN_QUEUED),
            State::Established => {
                tcb.set(flag::FIN_QUEUED);
                tcb.transition(State::FinWait1, &mut self.core.stats);
            }
            State::CloseWait => {
                tcb.set(flag::FIN_QUEUED);
                tcb.transition(State::LastAck, &mut self.core.stats);
            }
            _ => return Ok(()),
        }
        self.core.mark_dirty(tcb, index);
        Ok(())
    }

    /// CLOSE in SYN-SENT: the TCB goes. Out of line, so that `close`'s
    /// usual path (a FIN to queue) saves no registers for it.
    #[cold]
    #[inline(never)]
    fn forget_syn_sent(&mut self, index: u32, now: Instant) {
        self.finish_in_order(index, now);
    }

    /// Aborts with RST (RFC 9293 §3.10.5): the TCB is gone at once and the
    /// RST leaves on the next [`Engine::poll_transmit`].
    pub fn abort(&mut self, conn: ConnId, now: Instant) -> Result<(), EngineError> {
        let index = self.live(conn)?;
        let tcb = &self.table.tcbs[index as usize];
        if tcb.state.is_synchronized() {
            let rst = Bare::new(
                tcb.tuple,
                tcb.peer_mac,
                tcb.snd_nxt,
                tcb.rcv_nxt,
                TcpFlags::RST | TcpFlags::ACK,
            );
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

    /// Ends a TCB: its timer is cancelled, the application hears `event` if it
    /// knows the connection, and the slot is freed. A passive connection
    /// still in SYN-RECEIVED goes back to LISTEN (RFC 9293 §3.10.7.4
    /// second), any other to CLOSED.
    pub(crate) fn finish(&mut self, index: u32, event: Option<EventKind>, now: Instant) {
        let tcb = &mut self.table.tcbs[index as usize];
        self.core.leave_half_open(tcb);
        self.core.disarm(tcb);
        if let Some(kind) = event {
            if tcb.has(flag::APP_KNOWN) {
                self.core.event(tcb, index, kind, now);
            }
        }
        let to = if tcb.state == State::SynReceived && tcb.has(flag::PASSIVE) {
            State::Listen
        } else {
            State::Closed
        };
        tcb.transition(to, &mut self.core.stats);
        self.core.release_ooo(tcb);
        self.core.release_episode(tcb);
        self.table.remove_tcb(index);
    }

    /// Ends a TCB closed in order: LAST-ACK's FIN acknowledged, or a
    /// CLOSE in SYN-SENT (RFC 9293 §3.10.4).
    pub(crate) fn finish_in_order(&mut self, index: u32, now: Instant) {
        let tcb = &mut self.table.tcbs[index as usize];
        // `finish` without its tests: from LAST-ACK or SYN-SENT the TCB is
        // no half-open passive one, and CLOSED is an edge from either. The
        // state itself is `remove_tcb`'s to reset.
        debug_assert!(matches!(tcb.state, State::LastAck | State::SynSent));
        self.core.closed_in_order(tcb, index, now);
        self.core.disarm(tcb);
        self.core.stats.legal_transition(tcb.state, State::Closed);
        self.core.release_ooo(tcb);
        self.core.release_episode(tcb);
        self.table.remove_tcb(index);
    }
}

impl Core {
    /// A connection closed in order (through TIME-WAIT or LAST-ACK, or
    /// closed before its SYN was answered): counted, and the application
    /// told if it knows it.
    pub(crate) fn closed_in_order(&mut self, tcb: &Tcb, index: u32, now: Instant) {
        if tcb.has(flag::APP_KNOWN) {
            self.event(tcb, index, EventKind::Closed, now);
        }
        self.stats.closed += 1;
    }

    /// Fills the free TCB `tcb`, just mapped to `tuple`, for a new
    /// connection: an active open leaves CLOSED for SYN-SENT, a passive one
    /// LISTEN for SYN-RECEIVED. The caller indexes the table once and
    /// keeps the TCB for what follows. A passive open's caller sets SMSS
    /// and cwnd ([`Tcb::set_snd_mss`]) from the peer's SYN or cookie.
    /// Inlined into its callers: a call would pass eight arguments, two on
    /// the stack, and save five registers.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn init_tcb(
        &mut self,
        tcb: &mut Tcb,
        tuple: FourTuple,
        peer_mac: MacAddr,
        state: State,
        flags: u8,
        iss: SeqNumber,
        now: Instant,
    ) {
        let cfg = &self.cfg;
        // A reused slot's wheel entry is kept, disarmed by its last user.
        debug_assert!(!self.armed(tcb), "a free TCB slot's timer runs");
        tcb.tuple = tuple;
        tcb.peer_mac = peer_mac;
        tcb.flags = flags;
        tcb.state = if tcb.has(flag::PASSIVE) {
            State::Listen
        } else {
            State::Closed
        };
        tcb.transition(state, &mut self.stats);
        tcb.snd_wscale = 0;
        tcb.rcv_wscale = if flags & flag::WS_OK != 0 {
            cfg.window_scale
        } else {
            0
        };
        tcb.retries = 0;
        tcb.syn_resent = false;
        // Not for a passive open, whose caller sets them from the SYN at
        // once: the compiler keeps both stores (12 instructions a SYN).
        if state == State::SynSent {
            tcb.set_snd_mss(cfg.mss);
        }
        tcb.iss = iss;
        tcb.snd_una = iss;
        tcb.snd_nxt = iss;
        tcb.snd_max = iss;
        tcb.snd_wnd = 0;
        tcb.max_snd_wnd = 0;
        tcb.snd_wl1 = SeqNumber(0);
        tcb.snd_wl2 = iss;
        tcb.ssthresh = u32::MAX;
        tcb.recover = iss;
        tcb.dup_acks = 0;
        tcb.in_recovery = false;
        tcb.rcv_unacked = 0;
        tcb.tlp_sent = false;
        tcb.rcv_nxt = SeqNumber(0);
        // Hashed only where timestamps may go out.
        tcb.ts_offset = if cfg.timestamps {
            self.ts_offsets.get(&self.keys, &tuple)
        } else {
            0
        };
        tcb.collisions = 0;
        tcb.set_ts_recent(0, now);
        tcb.last_oow_ack = 0;
        tcb.persist_since = 0;
        tcb.rtt_seq = None;
        tcb.rtt = self.rtt_initial;
        // Empty already: `Table::remove_tcb` cleared it when the slot freed.
        debug_assert!(tcb.send_buf.is_empty(), "a free TCB slot holds data");
        tcb.sack_ok = cfg.sack;
        // Not stored again: every end of a connection (`Engine::finish`,
        // `finish_in_order`, `enter_time_wait`) disarmed the timer and gave back the
        // out-of-order queue and the episode, and a new slot has none.
        debug_assert!(
            tcb.timer_role == TimerRole::Plain
                && tcb.ooo == reassembly::NONE
                && tcb.episode == super::spurious::NONE,
            "a free TCB slot holds its last connection's timer role or pools"
        );
    }
}
