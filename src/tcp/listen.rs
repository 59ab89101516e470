//! Passive open (RFC 9293 §3.10.7.2): listeners, their backlogs of
//! half-open connections, and SYN cookies when a backlog is full (RFC 4987
//! §3.6).

use super::core::{ts_val, Bare, Core};
use super::engine::{Engine, EngineError};
use super::input::{reset_for, Segment};
use super::tcb::{flag, Tcb};
use super::{FourTuple, FrameBatch, Instant, State};
use crate::wire::{SeqNumber, TcpFlags};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The low bits of a cookie SYN-ACK's TSval that carry the peer's options.
const COOKIE_TS_BITS: u32 = 0x3f;

/// The TSval bit of a cookie SYN-ACK that says the peer offered SACK.
const COOKIE_SACK: u32 = 0x20;

/// How long after the last cookie went out ACKs to a listener are still
/// checked as cookies: the longest a cookie stays valid (two 64 s epochs).
const COOKIE_CHECK_WINDOW: core::time::Duration = core::time::Duration::from_secs(128);

/// A listening address and its half-open connections, against `syn_backlog`.
#[derive(Clone, Debug)]
pub(crate) struct Listener {
    pub addr: SocketAddrV4,
    pub half_open: usize,
}

impl Engine {
    /// Accepts connections to `addr` (0.0.0.0 for any local address).
    pub fn listen(&mut self, addr: SocketAddrV4) -> Result<(), EngineError> {
        if self.core.listeners.iter().any(|l| l.addr == addr) {
            return Err(EngineError::AlreadyListening);
        }
        self.core.listeners.push(Listener { addr, half_open: 0 });
        Ok(())
    }

    /// RFC 9293 §3.10.7.2: LISTEN. A SYN makes a TCB in SYN-RECEIVED whose
    /// SYN-ACK leaves on the next `poll_transmit`. `iss` overrides the ISN
    /// when a SYN reopens a tuple in TIME-WAIT.
    pub(crate) fn on_listen(
        &mut self,
        listener: u16,
        tuple: FourTuple,
        seg: &Segment,
        iss: Option<SeqNumber>,
        now: Instant,
        tx: &mut FrameBatch,
    ) {
        if seg.flags.rst() {
            self.core.stats.ignored += 1;
            return;
        }
        if seg.flags.ack() {
            if !seg.flags.syn() && self.cookie_ack(listener, tuple, seg, now, tx) {
                return;
            }
            self.core.emit_bare(tx, &reset_for(tuple, seg));
            return;
        }
        if !seg.flags.syn() {
            self.core.stats.ignored += 1;
            return;
        }
        if self.core.backlog_full(listener) {
            if self.core.cfg.syn_cookies {
                self.send_cookie(tuple, seg, now, tx);
            } else {
                self.core.stats.backlog_full += 1;
            }
            return;
        }
        if self.table.tcb_count() >= self.core.cfg.max_tcbs {
            self.core.stats.table_full += 1;
            return;
        }
        let flags = flag::PASSIVE
            | Tcb::option_flags(
                &self.core.cfg,
                seg.options.timestamps.is_some(),
                seg.options.window_scale.is_some(),
            );
        // A match, not `unwrap_or_else`: its closure went out of line, and
        // each SYN paid for building and calling it.
        let iss = match iss {
            Some(iss) => iss,
            None => self.core.isn.isn(&tuple, now),
        };
        let index = self.table.insert_tcb(tuple);
        let tcb = &mut self.table.tcbs[index as usize];
        self.core
            .init_tcb(tcb, tuple, seg.src_mac, State::SynReceived, flags, iss, now);
        tcb.take_syn_options(&seg.options, self.core.cfg.mss, now);
        tcb.rcv_nxt = seg.seq + 1;
        // The window of a SYN is never scaled (RFC 7323 §2.2).
        tcb.take_window(u32::from(seg.wnd), seg.seq, None);
        self.core.enter_half_open(tcb, listener);
        self.core.mark_dirty(tcb, index);
    }

    /// Answers a SYN statelessly with a SYN cookie as its ISS (RFC 4987
    /// §3.6). When the peer offered timestamps, the options the cookie has no
    /// room for ride in our TSval's low 6 bits, which the peer echoes back in
    /// TSecr (as Linux does): bit 5 says it offered SACK-permitted (RFC
    /// 2018 §2), bit 4 window scaling, bits 0–3 its shift. Without
    /// timestamps only the MSS survives.
    fn send_cookie(&mut self, tuple: FourTuple, seg: &Segment, now: Instant, tx: &mut FrameBatch) {
        let cfg = &self.core.cfg;
        let peer_mss = seg.options.mss.unwrap_or(536);
        let cookie = self.core.cookies.encode(&tuple, seg.seq, peer_mss, now);
        let (mut window_scale, mut timestamps, mut sack_permitted) = (None, None, false);
        if let (true, Some(tsval)) = (cfg.timestamps, seg.tsval()) {
            let mut bits = 0;
            if cfg.sack && seg.options.sack_permitted {
                bits |= COOKIE_SACK;
                sack_permitted = true;
            }
            if let (Some(ws), true) = (seg.options.window_scale, cfg.window_scale > 0) {
                bits |= 0x10 | u32::from(ws.min(14));
                window_scale = Some(cfg.window_scale);
            }
            // The bits may exceed the clock's own low 6 bits, which would put
            // the TSval up to 63 ms ahead: the peer would keep it as
            // TS.Recent and PAWS-reject our next segments until our clock
            // caught up. One period back, as Linux's cookie_init_timestamp.
            let clock = ts_val(now, self.core.ts_offsets.get(&self.core.keys, &tuple));
            let mut ours = (clock & !COOKIE_TS_BITS) | bits;
            if (ours.wrapping_sub(clock) as i32) > 0 {
                ours = ours.wrapping_sub(COOKIE_TS_BITS + 1);
            }
            timestamps = Some((ours, tsval));
        }
        self.core.stats.syn_cookies_sent += 1;
        self.core.last_cookie = Some(now);
        let synack = Bare {
            window: cfg.syn_window(),
            mss: Some(cfg.mss),
            window_scale,
            timestamps,
            sack_permitted,
            ..Bare::new(
                tuple,
                seg.src_mac,
                cookie,
                seg.seq + 1,
                TcpFlags::SYN | TcpFlags::ACK,
            )
        };
        self.core.emit_bare(tx, &synack);
    }

    /// An ACK to a listener may complete a cookie handshake: if SEG.ACK − 1
    /// is a fresh cookie for this tuple and SEG.SEQ − 1, the connection is
    /// established now, and the rest of the segment is processed on it.
    /// Only checked while cookies have been sent lately.
    fn cookie_ack(
        &mut self,
        listener: u16,
        tuple: FourTuple,
        seg: &Segment,
        now: Instant,
        tx: &mut FrameBatch,
    ) -> bool {
        let recent = self
            .core
            .last_cookie
            .is_some_and(|t| now.saturating_since(t) < COOKIE_CHECK_WINDOW);
        if !self.core.cfg.syn_cookies || !recent || seg.flags.rst() {
            return false;
        }
        let (iss, irs) = (seg.ack - 1, seg.seq - 1);
        let Some(mss) = self.core.cookies.decode(&tuple, irs, iss, now) else {
            self.core.stats.syn_cookies_rejected += 1;
            return false;
        };
        if self.table.tcb_count() >= self.core.cfg.max_tcbs {
            self.core.stats.table_full += 1;
            return true;
        }
        self.core.stats.syn_cookies_accepted += 1;
        // Options the SYN-ACK's TSval carried come back in TSecr.
        let tsecr = (seg.options.timestamps)
            .filter(|_| self.core.cfg.timestamps)
            .map(|(_, tsecr)| tsecr);
        let ts = tsecr.is_some();
        let ws = tsecr.is_some_and(|t| t & 0x10 != 0);
        let flags = flag::PASSIVE | Tcb::option_flags(&self.core.cfg, ts, ws);
        let peer_wscale = match tsecr {
            Some(t) if flags & flag::WS_OK != 0 => (t & 0x0f) as u8,
            _ => 0,
        };
        let index = self.table.insert_tcb(tuple);
        let tcb = &mut self.table.tcbs[index as usize];
        self.core
            .init_tcb(tcb, tuple, seg.src_mac, State::SynReceived, flags, iss, now);
        tcb.snd_nxt = iss + 1;
        tcb.snd_max = iss + 1;
        tcb.rcv_nxt = seg.seq;
        tcb.snd_wscale = peer_wscale.min(14);
        if let Some((tsval, _)) = seg.options.timestamps {
            tcb.set_ts_recent(tsval, now);
        }
        tcb.set_snd_mss(mss.min(self.core.cfg.mss));
        // SACK only where the cookie SYN-ACK offered it, which it did
        // where the peer had (remembered in the TSval), RFC 2018 §2.
        tcb.sack_ok = self.core.cfg.sack && tsecr.is_some_and(|t| t & COOKIE_SACK != 0);
        tcb.snd_wl1 = seg.seq;
        // Counted as half-open for the instant until this very segment
        // establishes it below.
        self.core.enter_half_open(tcb, listener);
        self.on_connection(index, seg, now, tx);
        true
    }
}

impl Core {
    /// The listener that takes connections to `ip:port`, if any.
    #[inline]
    pub(crate) fn listening(&self, ip: Ipv4Addr, port: u16) -> Option<u16> {
        self.listeners
            .iter()
            .position(|l| {
                l.addr.port() == port && (l.addr.ip().is_unspecified() || *l.addr.ip() == ip)
            })
            .map(|i| i as u16)
    }

    /// Whether `listener` has `syn_backlog` half-open connections already.
    #[inline]
    pub(crate) fn backlog_full(&self, listener: u16) -> bool {
        self.listeners[usize::from(listener)].half_open >= self.cfg.syn_backlog
    }

    /// A passive connection enters SYN-RECEIVED on `listener`: one slot of
    /// its backlog is taken until [`Core::leave_half_open`].
    #[inline]
    fn enter_half_open(&mut self, tcb: &mut Tcb, listener: u16) {
        tcb.listener = listener;
        self.listeners[usize::from(listener)].half_open += 1;
    }

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
}
