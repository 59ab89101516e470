//! SEGMENT ARRIVES: RFC 9293 §3.10.7, in its order — CLOSED, LISTEN,
//! SYN-SENT, then for synchronized states the sequence check, RST, SYN, ACK,
//! text and FIN — with RFC 5961's RST/SYN rules and RFC 7323's PAWS.

use super::engine::Engine;
use super::event::EventKind;
use super::output::{ts_val, Bare};
use super::rtt::RttEstimator;
use super::table::Slot;
use super::tcb::{flag, Tcb};
use super::{FourTuple, FrameBatch, Instant, State};
use crate::wire::{self, MacAddr, SeqNumber, TcpFlags, TcpOptions};

/// SYNs repeated at once per connection when the peer answers with an ACK
/// of an older connection; beyond, the RTO paces them.
const MAX_COLLISION_RETRIES: u8 = 3;

/// RTO once a handshake whose SYN timed out completes (RFC 6298 §5.7).
const SYN_FALLBACK_RTO: core::time::Duration = core::time::Duration::from_secs(3);

/// The fields of an arriving segment that processing needs (SEG.* in RFC 9293).
pub(crate) struct Segment<'a> {
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    pub wnd: u16,
    pub options: TcpOptions,
    pub payload: &'a [u8],
    pub src_mac: MacAddr,
}

impl Segment<'_> {
    /// SEG.LEN: payload plus one for SYN and one for FIN.
    #[inline]
    fn len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }

    /// No data and no FIN (nor SYN): a pure ACK, the kind an ACK loop is made of.
    #[inline]
    fn carries_nothing(&self) -> bool {
        self.payload.is_empty() && !self.flags.fin() && !self.flags.syn()
    }

    #[inline]
    fn tsval(&self) -> Option<u32> {
        self.options.timestamps.map(|(v, _)| v)
    }
}

impl Engine {
    /// Parses and dispatches one frame. Malformed frames are counted drops.
    pub(crate) fn handle_frame(&mut self, now: Instant, frame: &[u8], tx: &mut FrameBatch) {
        self.core.stats.frames_in += 1;
        let f = match wire::parse_tcp_frame(frame, self.core.cfg.verify_checksums) {
            Ok(f) => f,
            Err(e) => {
                self.core.stats.parse_errors[e.index()] += 1;
                return;
            }
        };
        let tuple = FourTuple {
            local_ip: f.ip.dst,
            remote_ip: f.ip.src,
            local_port: f.tcp.dst_port,
            remote_port: f.tcp.src_port,
        };
        let seg = Segment {
            seq: f.tcp.seq,
            ack: f.tcp.ack,
            flags: f.tcp.flags,
            wnd: f.tcp.window,
            options: f.tcp.options,
            payload: f.tcp.payload,
            src_mac: f.eth.src,
        };
        match self.table.get(&tuple) {
            Some(Slot::Tcb(index)) => self.on_connection(index, &seg, now, tx),
            Some(Slot::TimeWait(index)) => self.on_time_wait(index, tuple, &seg, now, tx),
            None => match self.core.listening(tuple.local_ip, tuple.local_port) {
                Some(listener) => self.on_listen(listener, tuple, &seg, None, now, tx),
                None => self.on_closed(tuple, &seg, tx),
            },
        }
    }

    /// RFC 9293 §3.10.7.1: no connection. Answer anything but RST with RST.
    fn on_closed(&mut self, tuple: FourTuple, seg: &Segment, tx: &mut FrameBatch) {
        self.core.stats.no_connection += 1;
        if seg.flags.rst() {
            return;
        }
        self.core.emit_bare(tx, &reset_for(tuple, seg));
    }

    /// RFC 9293 §3.10.7.2: LISTEN. A SYN makes a TCB in SYN-RECEIVED whose
    /// SYN-ACK leaves on the next `poll_transmit`. `iss` overrides the ISN
    /// when a SYN reopens a tuple in TIME-WAIT.
    fn on_listen(
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
        if self.core.listeners[usize::from(listener)].half_open >= self.core.cfg.syn_backlog {
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
        let cfg = &self.core.cfg;
        let mut flags = flag::PASSIVE;
        if cfg.timestamps && seg.options.timestamps.is_some() {
            flags |= flag::TS_OK;
        }
        if cfg.window_scale > 0 && seg.options.window_scale.is_some() {
            flags |= flag::WS_OK;
        }
        let iss = iss.unwrap_or_else(|| self.core.isn.isn(&tuple, now));
        let index = self.new_tcb(tuple, seg.src_mac, State::SynReceived, flags, iss, now);
        let tcb = &mut self.table.tcbs[index as usize];
        take_syn_options(tcb, seg, self.core.cfg.mss, now);
        tcb.irs = seg.seq;
        tcb.rcv_nxt = seg.seq + 1;
        // The window of a SYN is never scaled (RFC 7323 §2.2).
        tcb.snd_wnd = u32::from(seg.wnd);
        tcb.max_snd_wnd = tcb.max_snd_wnd.max(tcb.snd_wnd);
        tcb.snd_wl1 = seg.seq;
        tcb.listener = listener;
        self.core.listeners[usize::from(listener)].half_open += 1;
        self.core.mark_dirty(tcb, index);
    }

    /// Answers a SYN statelessly with a SYN cookie as its ISS (RFC 4987
    /// §3.6). When the peer offered timestamps, the options the cookie has no
    /// room for ride in our TSval's low 5 bits, which the peer echoes back in
    /// TSecr (as Linux does): bit 4 says it offered window scaling, bits 0–3
    /// its shift. Without timestamps only the MSS survives.
    fn send_cookie(&mut self, tuple: FourTuple, seg: &Segment, now: Instant, tx: &mut FrameBatch) {
        let cfg = &self.core.cfg;
        let peer_mss = seg.options.mss.unwrap_or(536);
        let cookie = self.core.cookies.encode(&tuple, seg.seq, peer_mss, now);
        let (mut window_scale, mut timestamps) = (None, None);
        if let (true, Some(tsval)) = (cfg.timestamps, seg.tsval()) {
            let mut bits = 0;
            if let (Some(ws), true) = (seg.options.window_scale, cfg.window_scale > 0) {
                bits = 0x10 | u32::from(ws.min(14));
                window_scale = Some(cfg.window_scale);
            }
            // The bits may exceed the clock's own low 5 bits, which would put
            // the TSval up to 31 ms ahead: the peer would keep it as
            // TS.Recent and PAWS-reject our next segments until our clock
            // caught up. One period back, as Linux's cookie_init_timestamp.
            let clock = ts_val(now, self.core.keys.ts_offset(&tuple));
            let mut ours = (clock & !0x1f) | bits;
            if (ours.wrapping_sub(clock) as i32) > 0 {
                ours = ours.wrapping_sub(0x20);
            }
            timestamps = Some((ours, tsval));
        }
        self.core.stats.syn_cookies_sent += 1;
        self.core.last_cookie = Some(now);
        let synack = Bare {
            tuple,
            peer_mac: seg.src_mac,
            seq: cookie,
            ack: seg.seq + 1,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: cfg.syn_window(),
            mss: Some(cfg.mss),
            window_scale,
            timestamps,
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
            .is_some_and(|t| now.saturating_since(t) < core::time::Duration::from_secs(128));
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
        let mut flags = flag::PASSIVE;
        let mut peer_wscale = 0;
        if let (true, Some((_, tsecr))) = (self.core.cfg.timestamps, seg.options.timestamps) {
            flags |= flag::TS_OK;
            if tsecr & 0x10 != 0 && self.core.cfg.window_scale > 0 {
                flags |= flag::WS_OK;
                peer_wscale = (tsecr & 0x0f) as u8;
            }
        }
        let index = self.new_tcb(tuple, seg.src_mac, State::SynReceived, flags, iss, now);
        let tcb = &mut self.table.tcbs[index as usize];
        tcb.snd_nxt = iss + 1;
        tcb.snd_max = iss + 1;
        tcb.irs = irs;
        tcb.rcv_nxt = seg.seq;
        tcb.snd_wscale = peer_wscale.min(14);
        if let Some((tsval, _)) = seg.options.timestamps {
            tcb.set_ts_recent(tsval, now);
        }
        let overhead = if tcb.has(flag::TS_OK) { 12 } else { 0 };
        tcb.snd_mss = mss.min(self.core.cfg.mss) - overhead;
        tcb.cwnd = 10 * u32::from(tcb.snd_mss);
        tcb.snd_wl1 = seg.seq;
        // Counted as half-open for the instant until this very segment
        // establishes it below.
        tcb.listener = listener;
        self.core.listeners[usize::from(listener)].half_open += 1;
        self.on_connection(index, seg, now, tx);
        true
    }

    /// RFC 9293 §3.10.7.3: SYN-SENT.
    fn on_syn_sent(&mut self, index: u32, seg: &Segment, now: Instant, tx: &mut FrameBatch) {
        let tcb = &mut self.table.tcbs[index as usize];
        if seg.flags.ack() && !(seg.ack > tcb.iss && seg.ack <= tcb.snd_max) {
            // Not an answer to our SYN (RFC 9293 §3.10.7.3): a stale SYN-ACK,
            // or the peer's TIME-WAIT of an older connection on this tuple
            // re-ACKing instead of taking our SYN. The RST ends that
            // TIME-WAIT (unless the peer follows RFC 1337, in which case the
            // RTO retransmits as usual); repeating the SYN at once, a few
            // times at most, saves the user a whole RTO.
            self.core.stats.bad_syn_acks += 1;
            if !seg.flags.rst() {
                self.core.emit_bare(tx, &reset_for(tcb.tuple, seg));
                if tcb.collisions < MAX_COLLISION_RETRIES && !seg.flags.syn() {
                    tcb.collisions += 1;
                    self.core.stats.tw_collisions += 1;
                    tcb.snd_nxt = tcb.iss;
                    // The repeated SYN is timed afresh: the first got no SYN-ACK.
                    tcb.rtt_seq = None;
                    self.core.mark_dirty(tcb, index);
                }
            }
            return;
        }
        if seg.flags.rst() {
            if seg.flags.ack() {
                self.core.stats.refused += 1;
                self.finish(index, Some(EventKind::Refused), now);
            } else {
                self.core.stats.ignored += 1;
            }
            return;
        }
        if !seg.flags.syn() {
            self.core.stats.ignored += 1;
            return;
        }
        tcb.irs = seg.seq;
        tcb.rcv_nxt = seg.seq + 1;
        let mss = self.core.cfg.mss;
        take_syn_options(tcb, seg, mss, now);
        tcb.snd_wnd = u32::from(seg.wnd);
        tcb.max_snd_wnd = tcb.max_snd_wnd.max(tcb.snd_wnd);
        tcb.snd_wl1 = seg.seq;
        if seg.flags.ack() {
            tcb.snd_wl2 = seg.ack;
            self.establish(index, seg.ack, now);
            let tcb = &mut self.table.tcbs[index as usize];
            tcb.set(flag::ACK_PENDING);
            self.core.mark_dirty(tcb, index);
        } else {
            // Simultaneous open (RFC 9293 §3.5, Figure 8): answer with SYN-ACK.
            tcb.state = State::SynReceived;
            tcb.snd_nxt = tcb.iss;
            self.core.disarm(tcb);
            self.core.mark_dirty(tcb, index);
        }
    }

    /// Our SYN is acknowledged: ESTABLISHED, and the application hears of it.
    fn establish(&mut self, index: u32, ack: SeqNumber, now: Instant) {
        let tcb = &mut self.table.tcbs[index as usize];
        self.core.leave_half_open(tcb);
        tcb.snd_una = ack;
        if tcb.snd_nxt < ack {
            tcb.snd_nxt = ack;
        }
        let cfg = &self.core.cfg;
        if let Some((_, sent)) = tcb.rtt_seq.take() {
            tcb.rtt.sample(now - sent, cfg.rto_min, cfg.rto_max);
        } else if tcb.retries > 0 {
            // RFC 6298 §5.7: the RTO expired on the SYN and no sample came
            // of it; the backed-off RTO says nothing of the path either.
            let rto = SYN_FALLBACK_RTO.clamp(cfg.rto_min, cfg.rto_max);
            tcb.rtt = RttEstimator::new(rto);
        }
        tcb.retries = 0;
        self.core.disarm(tcb);
        tcb.state = if tcb.has(flag::FIN_QUEUED) {
            State::FinWait1
        } else {
            State::Established
        };
        let kind = if tcb.has(flag::PASSIVE) {
            tcb.set(flag::APP_KNOWN);
            self.core.stats.passive_opens += 1;
            EventKind::Accepted
        } else {
            self.core.stats.connected += 1;
            EventKind::Connected
        };
        self.core.event(tcb, index, kind, now);
        self.core.mark_dirty(tcb, index);
    }

    /// RFC 9293 §3.10.7.4: every state from SYN-RECEIVED to LAST-ACK.
    fn on_connection(&mut self, index: u32, seg: &Segment, now: Instant, tx: &mut FrameBatch) {
        let tcb = &mut self.table.tcbs[index as usize];
        match tcb.state {
            State::SynSent => return self.on_syn_sent(index, seg, now, tx),
            State::SynReceived if seg.flags.syn() && seg.seq == tcb.irs => {
                if !seg.flags.ack() {
                    // Our SYN-ACK was lost and the peer repeats its SYN:
                    // repeat the SYN-ACK rather than wait for our RTO.
                    self.core.stats.syn_duplicates += 1;
                    tcb.snd_nxt = tcb.iss;
                    tcb.syn_resent = true;
                    tcb.rtt_seq = None;
                    self.core.mark_dirty(tcb, index);
                } else if tcb.ack_acceptable(seg.ack) {
                    // Simultaneous open: the peer's SYN-ACK completes it.
                    tcb.snd_wnd = u32::from(seg.wnd);
                    tcb.max_snd_wnd = tcb.max_snd_wnd.max(tcb.snd_wnd);
                    tcb.snd_wl1 = seg.seq;
                    tcb.snd_wl2 = seg.ack;
                    self.establish(index, seg.ack, now);
                    let tcb = &mut self.table.tcbs[index as usize];
                    tcb.set(flag::ACK_PENDING);
                } else {
                    self.core.emit_bare(tx, &reset_for(tcb.tuple, seg));
                }
                return;
            }
            _ => {}
        }

        // RFC 7323 §5.3 PAWS: an older timestamp marks an old duplicate.
        if tcb.has(flag::TS_OK) && !seg.flags.rst() {
            if let Some(tsval) = seg.tsval() {
                if tcb.paws_rejects(tsval, now) {
                    self.core.stats.paws_rejected += 1;
                    self.core.oow_ack(tx, tcb, seg.carries_nothing(), now);
                    return;
                }
            }
        }

        // First: sequence number, against the window the peer was told of:
        // the SYN-ACK's unscaled one until our first scaled ACK.
        let rcv_wnd = if tcb.state == State::SynReceived {
            u32::from(self.core.cfg.syn_window())
        } else {
            self.core.cfg.advertised_window(tcb.rcv_wscale)
        };
        if !tcb.acceptable(seg.seq, seg.len(), rcv_wnd) {
            self.core.stats.out_of_window += 1;
            if !seg.flags.rst() {
                self.core.oow_ack(tx, tcb, seg.carries_nothing(), now);
            }
            return;
        }

        // Second: RST, by RFC 5961 §3.2 — only an exact RCV.NXT resets.
        if seg.flags.rst() {
            if seg.seq != tcb.rcv_nxt {
                self.core.challenge_ack(tx, tcb, now);
                return;
            }
            if tcb.state == State::SynReceived && tcb.has(flag::PASSIVE) {
                // Back to LISTEN: the application never saw it.
                self.core.stats.half_open_dropped += 1;
                self.finish(index, None, now);
            } else if tcb.state == State::SynReceived {
                self.core.stats.refused += 1;
                self.finish(index, Some(EventKind::Refused), now);
            } else {
                self.core.stats.resets += 1;
                self.finish(index, Some(EventKind::Reset), now);
            }
            return;
        }

        // Fourth: SYN in a synchronized state (RFC 5961 §4.2).
        if seg.flags.syn() {
            if tcb.state == State::SynReceived && tcb.has(flag::PASSIVE) {
                self.core.stats.half_open_dropped += 1;
                self.finish(index, None, now);
            } else {
                self.core.challenge_ack(tx, tcb, now);
            }
            return;
        }

        // Fifth: ACK.
        if !seg.flags.ack() {
            self.core.stats.ignored += 1;
            return;
        }
        if tcb.state == State::SynReceived {
            if !tcb.ack_acceptable(seg.ack) {
                self.core.emit_bare(tx, &reset_for(tcb.tuple, seg));
                return;
            }
            tcb.snd_wnd = u32::from(seg.wnd) << tcb.snd_wscale;
            tcb.max_snd_wnd = tcb.max_snd_wnd.max(tcb.snd_wnd);
            tcb.snd_wl1 = seg.seq;
            tcb.snd_wl2 = seg.ack;
            self.establish(index, seg.ack, now);
        }
        let tcb = &mut self.table.tcbs[index as usize];
        if seg.ack > tcb.snd_max {
            // RFC 9293 §3.10.7.4 / RFC 5961 §5.2: ACKs something never sent.
            self.core.stats.ack_beyond_sent += 1;
            self.core.challenge_ack(tx, tcb, now);
            return;
        }
        if seg.ack - tcb.snd_una < -(tcb.max_snd_wnd.max(1) as i32) {
            // RFC 5961 §5.2: older than anything the peer could still be
            // acknowledging — blind data injection, most likely.
            self.core.stats.ack_too_old += 1;
            self.core.challenge_ack(tx, tcb, now);
            return;
        }
        // RFC 7323 §4.3: remember the TSval of a segment not beyond RCV.NXT.
        // RFC 7323 §5.3 (R3) does so before the RST, SYN and ACK checks;
        // like Linux, only a segment that passed them may move TS.Recent,
        // else one forged in-window segment with a far-future TSval (and a
        // bad ACK, or none) would make PAWS reject every genuine one after it.
        if let Some(tsval) = seg.tsval() {
            if tcb.has(flag::TS_OK) && seg.seq <= tcb.rcv_nxt {
                tcb.set_ts_recent(tsval, now);
            }
        }
        if seg.ack > tcb.snd_una {
            self.on_new_ack(index, seg.ack, now);
        }
        let tcb = &mut self.table.tcbs[index as usize];
        // Window update (RFC 9293 §3.10.7.4, SND.WL1/SND.WL2 rule).
        if tcb.snd_wl1 < seg.seq || (tcb.snd_wl1 == seg.seq && tcb.snd_wl2 <= seg.ack) {
            let wnd = u32::from(seg.wnd) << tcb.snd_wscale;
            if wnd > tcb.snd_wnd && !tcb.send_buf.is_empty() {
                self.core.mark_dirty(tcb, index);
            }
            if wnd > 0 && tcb.persist_since != 0 {
                // The window opened: no more probing; the persist timer
                // gives way to the RTO of what output sends now.
                tcb.persist_since = 0;
                if !tcb.outstanding() {
                    self.core.disarm(tcb);
                } else if seg.ack == tcb.snd_una {
                    // What we sent into the zero window (the probe byte, or
                    // data caught by the window shrinking) was refused, not
                    // lost: send it again now rather than at the RTO.
                    tcb.snd_nxt = tcb.snd_una;
                    self.core.mark_dirty(tcb, index);
                }
            } else if wnd == 0 && seg.ack == tcb.snd_una && tcb.outstanding() {
                // The peer answers our probe or retransmission with its window
                // still shut: it is alive, so no retransmission failure.
                tcb.retries = 0;
            }
            tcb.snd_wnd = wnd;
            tcb.max_snd_wnd = tcb.max_snd_wnd.max(wnd);
            tcb.snd_wl1 = seg.seq;
            tcb.snd_wl2 = seg.ack;
        }
        if tcb.fin_acked() {
            match tcb.state {
                State::FinWait1 => {
                    tcb.state = State::FinWait2;
                    let timeout = self.core.cfg.fin_wait2_timeout;
                    self.core.arm(tcb, index, timeout, now);
                }
                State::Closing => return self.enter_time_wait(index, now, tx, false),
                State::LastAck => {
                    self.core.stats.closed += 1;
                    return self.finish(index, Some(EventKind::Closed), now);
                }
                _ => {}
            }
        }

        // Seventh: segment text.
        let mut fin_seq = seg.seq + seg.payload.len() as u32;
        if !seg.payload.is_empty() && tcb.state.receives_data() {
            let skip = tcb.rcv_nxt - seg.seq;
            if skip < 0 {
                // Out of order: not kept yet; a duplicate ACK tells the peer
                // where we are (RFC 9293 §3.10.7.4, seventh).
                self.core.stats.out_of_order += 1;
                self.core.ack_now(tx, tcb, now);
                return;
            }
            let skip = skip as usize;
            if skip < seg.payload.len() {
                let new = &seg.payload[skip..];
                let n = new.len().min(rcv_wnd as usize);
                let kind = self.core.events.push_data(&new[..n]);
                self.core.event(tcb, index, kind, now);
                self.core.stats.bytes_in += n as u64;
                tcb.rcv_nxt += n as u32;
                if n < new.len() {
                    fin_seq = tcb.rcv_nxt + 1; // FIN beyond the window: not yet
                }
            }
            if tcb.state == State::FinWait2 {
                // close() is a half-close: the application still reads and
                // a response may stream for minutes. The timer is there for
                // a peer that went silent without its FIN (Linux applies it
                // to orphans only), so any data from the peer restarts it.
                let timeout = self.core.cfg.fin_wait2_timeout;
                self.core.arm(tcb, index, timeout, now);
            }
            tcb.set(flag::ACK_PENDING);
            self.core.mark_dirty(tcb, index);
        }

        // Eighth: FIN, only once every byte before it has arrived.
        if seg.flags.fin() && fin_seq == tcb.rcv_nxt {
            tcb.rcv_nxt += 1;
            match tcb.state {
                State::SynReceived | State::Established => {
                    tcb.state = State::CloseWait;
                    self.core.event(tcb, index, EventKind::PeerClosed, now);
                }
                State::FinWait1 => {
                    // Simultaneous close (RFC 9293 Figure 13).
                    tcb.state = State::Closing;
                    self.core.event(tcb, index, EventKind::PeerClosed, now);
                }
                State::FinWait2 => {
                    self.core.event(tcb, index, EventKind::PeerClosed, now);
                    return self.enter_time_wait(index, now, tx, true);
                }
                _ => {}
            }
            tcb.set(flag::ACK_PENDING);
            self.core.mark_dirty(tcb, index);
        }
    }

    /// SND.UNA < SEG.ACK: drop acknowledged bytes, take an RTT sample, grow
    /// cwnd, and restart or stop the RTO (RFC 6298 §5.2–5.3).
    fn on_new_ack(&mut self, index: u32, ack: SeqNumber, now: Instant) {
        let tcb = &mut self.table.tcbs[index as usize];
        let acked = (ack - tcb.snd_una) as u32;
        let bytes = (acked as usize).min(tcb.send_buf.len());
        tcb.send_buf.drain(..bytes);
        tcb.snd_una = ack;
        if tcb.snd_nxt < ack {
            tcb.snd_nxt = ack;
        }
        tcb.retries = 0;
        if let Some((seq, sent)) = tcb.rtt_seq {
            if ack > seq {
                let cfg = &self.core.cfg;
                tcb.rtt.sample(now - sent, cfg.rto_min, cfg.rto_max);
                tcb.rtt_seq = None;
            }
        }
        // RFC 5681 §3.1: slow start below ssthresh, cwnd += min(N, SMSS);
        // congestion avoidance above, cwnd += SMSS*SMSS/cwnd per ACK (3).
        let smss = u32::from(tcb.snd_mss);
        let grow = if tcb.cwnd < tcb.ssthresh {
            acked.min(smss)
        } else {
            (smss * smss / tcb.cwnd.max(1)).max(1)
        };
        tcb.cwnd = tcb.cwnd.saturating_add(grow);
        if tcb.outstanding() {
            let rto = tcb.rtt.rto();
            self.core.arm(tcb, index, rto, now);
        } else {
            self.core.disarm(tcb);
        }
        if !tcb.send_buf.is_empty() || tcb.has(flag::FIN_QUEUED) {
            self.core.mark_dirty(tcb, index);
        }
    }

    /// A segment for a connection in TIME-WAIT (RFC 9293 §3.10.7.4, RFC 6191,
    /// RFC 5961, RFC 1337).
    fn on_time_wait(
        &mut self,
        tw_index: u32,
        tuple: FourTuple,
        seg: &Segment,
        now: Instant,
        tx: &mut FrameBatch,
    ) {
        let table_full = self.table.tcb_count() >= self.core.cfg.max_tcbs;
        let tw = &mut self.table.time_waits[tw_index as usize];
        let offset = seg.seq - tw.rcv_nxt;
        let wnd = self.core.cfg.advertised_window(tw.rcv_wscale);
        let in_window = offset >= 0 && (offset as u32) < wnd;
        if seg.flags.rst() {
            if self.core.cfg.rfc1337 {
                self.core.stats.ignored += 1;
            } else if offset == 0 {
                self.core.stats.time_wait_reset += 1;
                self.drop_time_wait(tw_index);
            } else if in_window && self.core.challenge_ack_allowed(&mut tw.last_oow_ack, now) {
                self.core.time_wait_ack(tx, tw, now);
            }
            return;
        }
        if seg.flags.syn() && !seg.flags.ack() {
            let listener = self.core.listening(tuple.local_ip, tuple.local_port);
            if let (true, Some(listener)) = (tw.accepts_new_syn(seg.seq, seg.tsval()), listener) {
                // Where the listener could not take the SYN, keep the record:
                // ending it would lose both it and the new connection. The
                // peer retransmits its SYN. (A SYN cookie needs the tuple
                // free for its ACK, so that case goes on.)
                let backlog_full = self.core.listeners[usize::from(listener)].half_open
                    >= self.core.cfg.syn_backlog;
                if table_full && !(backlog_full && self.core.cfg.syn_cookies) {
                    self.core.stats.table_full += 1;
                    return;
                }
                if backlog_full && !self.core.cfg.syn_cookies {
                    self.core.stats.backlog_full += 1;
                    return;
                }
                let iss = tw.next_iss();
                self.core.stats.time_wait_reused += 1;
                self.drop_time_wait(tw_index);
                return self.on_listen(listener, tuple, seg, Some(iss), now, tx);
            }
            if self.core.challenge_ack_allowed(&mut tw.last_oow_ack, now) {
                self.core.time_wait_ack(tx, tw, now);
            }
            return;
        }
        // RFC 7323 §5.3 PAWS holds in TIME-WAIT too: an old duplicate must
        // neither be taken for the peer's retransmitted FIN nor restart 2MSL.
        if let (true, Some(tsval)) = (tw.ts_ok, seg.tsval()) {
            if (tsval.wrapping_sub(tw.ts_recent) as i32) < 0 {
                self.core.stats.paws_rejected += 1;
                if !seg.carries_nothing() || self.core.oow_ack_allowed(&mut tw.last_oow_ack, now) {
                    self.core.time_wait_ack(tx, tw, now);
                }
                return;
            }
        }
        if seg.flags.fin() && seg.seq + seg.len() == tw.rcv_nxt {
            // The peer did not hear our ACK of its FIN: ACK again and wait
            // 2MSL anew (RFC 9293 §3.10.7.4, eighth).
            self.core.time_wait_ack(tx, tw, now);
            self.restart_time_wait(tw_index, now);
            return;
        }
        if seg.len() > 0 || (!in_window && self.core.oow_ack_allowed(&mut tw.last_oow_ack, now)) {
            self.core.time_wait_ack(tx, tw, now);
        }
    }
}

/// Picks up MSS, window scale and timestamps from a SYN (RFC 9293 §3.7.1,
/// RFC 7323 §2.2 and §3.2); an option we offered and the peer did not is off.
fn take_syn_options(tcb: &mut Tcb, seg: &Segment, our_mss: u16, now: Instant) {
    match seg.options.window_scale {
        Some(ws) if tcb.has(flag::WS_OK) => tcb.snd_wscale = ws.min(14),
        _ => {
            tcb.clear(flag::WS_OK);
            tcb.snd_wscale = 0;
            tcb.rcv_wscale = 0;
        }
    }
    match seg.options.timestamps {
        Some((tsval, _)) if tcb.has(flag::TS_OK) => tcb.set_ts_recent(tsval, now),
        _ => tcb.clear(flag::TS_OK),
    }
    // RFC 9293 §3.7.1: 536 when the peer sends no MSS option.
    let peer_mss = seg.options.mss.unwrap_or(536).max(64);
    let overhead = if tcb.has(flag::TS_OK) { 12 } else { 0 };
    tcb.snd_mss = peer_mss.min(our_mss) - overhead;
    tcb.cwnd = 10 * u32::from(tcb.snd_mss);
}

/// The RST that answers `seg` where no connection takes it (RFC 9293 §3.10.7.1):
/// <SEQ=SEG.ACK><CTL=RST> if it had an ACK, else
/// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
fn reset_for(tuple: FourTuple, seg: &Segment) -> Bare {
    let (seq, ack, flags) = if seg.flags.ack() {
        (seg.ack, SeqNumber(0), TcpFlags::RST)
    } else {
        (
            SeqNumber(0),
            seg.seq + seg.len(),
            TcpFlags::RST | TcpFlags::ACK,
        )
    };
    Bare {
        tuple,
        peer_mac: seg.src_mac,
        seq,
        ack,
        flags,
        window: 0,
        mss: None,
        window_scale: None,
        timestamps: None,
    }
}
