//! SEGMENT ARRIVES: RFC 9293 §3.10.7, in its order — CLOSED, LISTEN,
//! SYN-SENT, then for synchronized states the sequence check, RST, SYN, ACK,
//! text and FIN — with RFC 5961's RST/SYN rules and RFC 7323's PAWS.

use super::core::{Bare, Core};
use super::engine::Engine;
use super::event::EventKind;
use super::reassembly;
use super::spurious;
use super::table::Slot;
use super::tcb::{flag, ts_older, Tcb};
use super::{FourTuple, FrameBatch, Instant, State};
use crate::wire::{self, MacAddr, SeqNumber, TcpFlags, TcpOptions};

/// SYNs repeated at once per connection when the peer answers with an ACK
/// of an older connection; beyond, the RTO paces them.
const MAX_COLLISION_RETRIES: u8 = 3;

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
    pub fn len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }

    /// No data and no FIN (nor SYN): a pure ACK, the kind an ACK loop is made of.
    #[inline]
    pub fn carries_nothing(&self) -> bool {
        self.payload.is_empty() && !self.flags.fin() && !self.flags.syn()
    }

    #[inline]
    pub fn tsval(&self) -> Option<u32> {
        self.options.timestamps.map(|(v, _)| v)
    }
}

impl Engine {
    /// Parses and dispatches one frame, whose tuple's hash
    /// [`Engine::look_ahead`] gave. Malformed frames are counted drops.
    /// Inlined into the loop over a batch (`Engine::handle_frames`), so that
    /// the registers it needs are saved once a batch, not once a frame.
    #[inline(always)]
    pub(crate) fn handle_frame(
        &mut self,
        now: Instant,
        frame: &[u8],
        hash: u64,
        tx: &mut FrameBatch,
    ) {
        self.core.stats.frames_in += 1;
        match wire::parse_plain(frame, self.core.cfg.verify_checksums) {
            Some(f) => self.dispatch(&f, hash, now, tx),
            None => self.handle_unusual_frame(now, frame, tx),
        }
    }

    /// Starts the lookup of `frame`'s tuple, read where a plain frame has
    /// it ([`wire::parse_plain`] takes no other), and returns the tuple's
    /// hash for [`Engine::handle_frame`].
    #[inline(always)]
    pub(crate) fn look_ahead(&self, frame: &[u8]) -> u64 {
        let Some((src, dst, src_port, dst_port)) = wire::plain_endpoints(frame) else {
            return 0;
        };
        let hash = self.table.hash(&FourTuple {
            local_ip: dst,
            remote_ip: src,
            local_port: dst_port,
            remote_port: src_port,
        });
        self.table.touch(hash);
        hash
    }

    /// A frame the plain parse does not take: IP options, a fragment, an
    /// odd length, a bad checksum, not TCP at all. Out of line, so that
    /// the plain path's frame needs no place in memory shared with this
    /// one's.
    #[cold]
    #[inline(never)]
    fn handle_unusual_frame(&mut self, now: Instant, frame: &[u8], tx: &mut FrameBatch) {
        match wire::parse_tcp_frame(frame, self.core.cfg.verify_checksums) {
            Ok(f) => {
                // Its tuple may lie elsewhere than a plain frame's.
                let hash = self.table.hash(&tuple_of(&f));
                self.dispatch(&f, hash, now, tx)
            }
            Err(e) => self.core.stats.parse_errors[e.index()] += 1,
        }
    }

    /// A parsed frame to the connection its tuple names, or to LISTEN or
    /// CLOSED processing; `hash` is the tuple's
    /// [`Table::hash`](super::table::Table::hash).
    #[inline(always)]
    fn dispatch(&mut self, f: &wire::TcpFrame, hash: u64, now: Instant, tx: &mut FrameBatch) {
        let tuple = tuple_of(f);
        let seg = Segment {
            seq: f.tcp.seq,
            ack: f.tcp.ack,
            flags: f.tcp.flags,
            wnd: f.tcp.window,
            options: f.tcp.options,
            payload: f.tcp.payload,
            src_mac: f.eth.src,
        };
        match self.table.get_hashed(&tuple, hash) {
            Some(Slot::Tcb(index)) => self.on_connection(index, &seg, now, tx),
            Some(Slot::TimeWait(index)) => self.on_time_wait(index, tuple, &seg, now, tx),
            None => match self.core.listening(tuple.local_ip, tuple.local_port) {
                Some(listener) => self.on_listen(listener, tuple, &seg, None, now, tx),
                None => self.on_closed(tuple, &seg, tx),
            },
        }
    }

    /// RFC 9293 §3.10.7.1: no connection. Answer anything but RST with RST.
    /// Out of line: inlined, the segment's flags would be kept aside for
    /// it on every frame's path.
    #[inline(never)]
    fn on_closed(&mut self, tuple: FourTuple, seg: &Segment, tx: &mut FrameBatch) {
        self.core.stats.no_connection += 1;
        if seg.flags.rst() {
            return;
        }
        self.core.emit_bare(tx, &reset_for(tuple, seg));
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
                    // The repeated SYN is timed afresh: the first got no SYN-ACK.
                    tcb.resend_syn(false);
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
        tcb.rcv_nxt = seg.seq + 1;
        tcb.take_syn_options(&seg.options, self.core.cfg.mss, now);
        let ack = seg.flags.ack().then_some(seg.ack);
        tcb.take_window(u32::from(seg.wnd), seg.seq, ack);
        if let Some(ack) = ack {
            // `establish` has marked it dirty.
            self.core
                .establish(tcb, index, ack, seg.options.timestamps, now);
            tcb.owe_ack();
        } else {
            // Simultaneous open (RFC 9293 §3.5, Figure 8): answer with SYN-ACK.
            tcb.transition(State::SynReceived, &mut self.core.stats);
            tcb.snd_nxt = tcb.iss;
            self.core.disarm(tcb);
            self.core.mark_dirty(tcb, index);
        }
    }

    /// RFC 9293 §3.10.7.4: every state from SYN-RECEIVED to LAST-ACK.
    pub(crate) fn on_connection(
        &mut self,
        index: u32,
        seg: &Segment,
        now: Instant,
        tx: &mut FrameBatch,
    ) {
        let tcb = &mut self.table.tcbs[index as usize];
        match tcb.state {
            State::SynSent => return self.on_syn_sent(index, seg, now, tx),
            State::SynReceived if seg.flags.syn() && seg.seq == tcb.irs() => {
                if !seg.flags.ack() {
                    // Our SYN-ACK was lost and the peer repeats its SYN:
                    // repeat the SYN-ACK rather than wait for our RTO.
                    self.core.stats.syn_duplicates += 1;
                    tcb.resend_syn(true);
                    self.core.mark_dirty(tcb, index);
                } else if tcb.ack_acceptable(seg.ack) {
                    // Simultaneous open: the peer's SYN-ACK completes it.
                    tcb.take_window(u32::from(seg.wnd), seg.seq, Some(seg.ack));
                    self.core
                        .establish(tcb, index, seg.ack, seg.options.timestamps, now);
                    tcb.owe_ack();
                } else {
                    self.core.emit_bare(tx, &reset_for(tcb.tuple, seg));
                }
                return;
            }
            _ => {}
        }

        // The window the peer was told of, which the sequence check
        // measures against: the SYN-ACK's unscaled one until our first
        // scaled ACK.
        let rcv_wnd = if tcb.state == State::SynReceived {
            u32::from(self.core.cfg.syn_window())
        } else {
            self.core.cfg.advertised_window(tcb.rcv_wscale)
        };
        if let Some(tsval) = predicted(tcb, seg, rcv_wnd) {
            // What `admit` does with such a segment, without its tests.
            tcb.set_ts_recent(tsval, now);
        } else {
            match self.core.admit(tcb, index, seg, rcv_wnd, now, tx) {
                Admit::Pass => {}
                Admit::Done => return,
                Admit::End(event) => return self.finish(index, event, now),
            }
        }
        // A D-SACK (RFC 2883 §4) says nothing of loss; one that is all
        // the ACK reports makes it no duplicate ACK either.
        // One that reports the probe says it repaired nothing: the usual
        // answer to a spurious probe ACKs the tail and D-SACKs the probe
        // at once (RFC 8985 §7.4), and it must not be cut for as a loss.
        // Without SACK blocks and a loss record, all four are no-ops: the
        // usual ACK skips them.
        let (probe_dsacked, dsack) = if seg.options.sack.is_empty() && tcb.episode == spurious::NONE
        {
            (false, false)
        } else {
            let probe_dsacked = self.core.probe_dsacked(tcb, seg.ack, &seg.options.sack);
            let dsack = self.core.take_dsack(tcb, seg.ack, &seg.options.sack);
            self.core.take_sack(tcb, seg.ack, &seg.options, dsack, now);
            self.core.settle_episode(tcb);
            (probe_dsacked, dsack)
        };
        let only_dsack = dsack && seg.options.sack.len() == 1;
        if seg.ack > tcb.snd_una {
            self.core
                .on_new_ack(tcb, index, seg.ack, probe_dsacked, now, tx);
        } else if !only_dsack
            && seg.ack == tcb.snd_una
            && tcb.outstanding()
            && seg.carries_nothing()
            && (u32::from(seg.wnd) << tcb.snd_wscale) == tcb.snd_wnd
            && tcb.snd_wnd > 0
            && tcb.state.is_synchronized()
        {
            // RFC 5681 §2's duplicate ACK: outstanding data, no text, no
            // SYN or FIN, SND.UNA unchanged, the same window — and an open
            // one: the answers to zero-window probes say nothing of loss.
            self.core.on_dup_ack(tx, tcb, index, now);
        }
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
            tcb.take_window(wnd, seg.seq, Some(seg.ack));
        }
        // FIN-WAIT-2's timer is armed once this segment is through: its
        // FIN, which usually comes with the ACK of ours, goes straight to
        // TIME-WAIT, and a timer armed and cancelled at once costs two
        // wheel operations per connection for nothing.
        let mut arm_fin_wait2 = false;
        if tcb.fin_acked() {
            match tcb.state {
                State::FinWait1 => {
                    tcb.transition(State::FinWait2, &mut self.core.stats);
                    arm_fin_wait2 = true;
                }
                State::Closing => return self.enter_time_wait(index, now, tx, false),
                State::LastAck => return self.finish_in_order(index, now),
                _ => {}
            }
        }

        // Seventh: segment text.
        let mut fin_seq = seg.seq + seg.payload.len() as u32;
        let mut queued_fin = false;
        if tcb.state.receives_data()
            && seg.seq > tcb.rcv_nxt
            && (!seg.payload.is_empty() || seg.flags.fin())
        {
            // Out of order: kept for when the gap fills, and a duplicate
            // ACK now, with SACK blocks, tells the peer what is missing
            // (RFC 9293 §3.10.7.4 seventh, RFC 5681 §4.2, RFC 2018 §4).
            self.core.stats.out_of_order += 1;
            let held = self.core.queue_out_of_order(tcb, seg, rcv_wnd);
            if held == Some(reassembly::Insert::Duplicate) && tcb.sack_ok && !seg.payload.is_empty()
            {
                // Held already: reported first, before the block holding
                // it (RFC 2883 §4 (2)).
                let end = seg.seq + seg.payload.len() as u32;
                self.core.dsack = Some((seg.seq, end));
            }
            self.core.stats.dup_acks_sent += 1;
            self.core.ack_now(tx, tcb, now);
            if arm_fin_wait2 {
                let timeout = self.core.cfg.fin_wait2_timeout;
                self.core.arm(tcb, index, timeout, now);
            }
            return;
        }
        if !seg.payload.is_empty() && tcb.state.receives_data() {
            // Text at RCV.NXT while text is held beyond it fills (part of)
            // a gap: its ACK goes at once (RFC 5681 §4.2).
            let fills_gap = tcb.ooo != reassembly::NONE;
            let skip = (tcb.rcv_nxt - seg.seq) as usize;
            // Its start we had already: a D-SACK reports that part, in
            // an ACK at once (RFC 2883 §4 (1)).
            let duplicate = (tcb.sack_ok && skip > 0)
                .then(|| (seg.seq, seg.seq + skip.min(seg.payload.len()) as u32));
            if skip < seg.payload.len() {
                let new = &seg.payload[skip..];
                let n = new.len().min(rcv_wnd as usize);
                tcb.rcv_nxt += n as u32;
                if n < new.len() {
                    fin_seq = tcb.rcv_nxt + 1; // FIN beyond the window: not yet
                }
                // The gap below held text may have filled: it follows in
                // the same event, in order, each byte once.
                let held = self
                    .core
                    .ooo
                    .get_mut(tcb.ooo)
                    .and_then(|q| q.take(tcb.rcv_nxt));
                let kind = match held {
                    Some((right, a, b)) => {
                        let kind = self.core.events.push_data_parts(&[&new[..n], a, b]);
                        tcb.rcv_nxt = right;
                        kind
                    }
                    None => self.core.events.push_data(&new[..n]),
                };
                if let EventKind::Data { len, .. } = kind {
                    self.core.stats.bytes_in += u64::from(len);
                    tcb.received(len);
                }
                if let Some(q) = self.core.ooo.get(tcb.ooo) {
                    queued_fin = q.fin_at(tcb.rcv_nxt);
                    if q.is_empty() || queued_fin {
                        self.core.release_ooo(tcb);
                    }
                }
                self.core.event(tcb, index, kind, now);
            }
            if tcb.state == State::FinWait2 {
                // close() is a half-close: the application still reads and
                // a response may stream for minutes. The timer is there for
                // a peer that went silent without its FIN (Linux applies it
                // to orphans only), so any data from the peer restarts it.
                arm_fin_wait2 = true;
            }
            if duplicate.is_some() && !seg.flags.fin() && !queued_fin {
                self.core.dsack = duplicate;
                self.core.ack_now(tx, tcb, now);
            } else if u32::from(tcb.rcv_unacked) >= 2 * u32::from(tcb.snd_mss)
                && !seg.flags.fin()
                && !queued_fin
            {
                // RFC 5681 §4.2 (RFC 9293 §3.8.6.3): an ACK for at least
                // every second full-sized segment, not one per batch of
                // frames, so the sender's window grows and its duplicate
                // ACK count means what RFC 5681 §3.2 expects.
                self.core.ack_now(tx, tcb, now);
            } else if fills_gap || seg.flags.fin() {
                tcb.owe_ack();
            } else {
                // RFC 9293 §3.8.6.3, RFC 1122 4.2.3.2: the ACK of in-order
                // text may wait, for a response to carry it or for the
                // delayed-ACK timer (see `Core::output`).
                tcb.owe_delayed_ack();
            }
            self.core.mark_dirty(tcb, index);
        }

        // Eighth: FIN, only once every byte before it has arrived: this
        // segment's, or one held beyond a gap that has now filled.
        if queued_fin || (seg.flags.fin() && fin_seq == tcb.rcv_nxt) {
            tcb.rcv_nxt += 1;
            match tcb.state {
                State::SynReceived | State::Established => {
                    tcb.transition(State::CloseWait, &mut self.core.stats);
                    self.core.event(tcb, index, EventKind::PeerClosed, now);
                }
                State::FinWait1 => {
                    // Simultaneous close (RFC 9293 Figure 13).
                    tcb.transition(State::Closing, &mut self.core.stats);
                    self.core.event(tcb, index, EventKind::PeerClosed, now);
                }
                State::FinWait2 => {
                    self.core.event(tcb, index, EventKind::PeerClosed, now);
                    return self.enter_time_wait(index, now, tx, true);
                }
                _ => {}
            }
            tcb.owe_ack();
            self.core.mark_dirty(tcb, index);
        }
        if arm_fin_wait2 {
            let timeout = self.core.cfg.fin_wait2_timeout;
            self.core.arm(tcb, index, timeout, now);
        }
    }
}

/// The tuple naming the connection a frame arrives on, from our side.
#[inline(always)]
fn tuple_of(f: &wire::TcpFrame) -> FourTuple {
    FourTuple {
        local_ip: f.ip.dst,
        remote_ip: f.ip.src,
        local_port: f.tcp.dst_port,
        remote_port: f.tcp.src_port,
    }
}

/// What [`Core::admit`] leaves of a segment.
pub(super) enum Admit {
    /// It passed the checks: on to its ACK, text and FIN.
    Pass,
    /// Dropped or answered: nothing more to do with it.
    Done,
    /// It ends the connection, with this event for the application.
    End(Option<EventKind>),
}

// The receive path's steps on a TCB the caller has already found, so that
// it is looked up once a segment.
impl Core {
    /// RFC 9293 §3.10.7.4 up to the ACK's own processing: PAWS (RFC 7323
    /// §5.3), the sequence check, RST and SYN (RFC 5961 §3.2, §4.2), the
    /// ACK's acceptability (RFC 5961 §5.2), SYN-RECEIVED's step to
    /// ESTABLISHED, and TS.Recent (RFC 7323 §4.3). What is left to do
    /// with the segment is the [`Admit`] it returns.
    pub(super) fn admit(
        &mut self,
        tcb: &mut Tcb,
        index: u32,
        seg: &Segment,
        rcv_wnd: u32,
        now: Instant,
        tx: &mut FrameBatch,
    ) -> Admit {
        // RFC 7323 §5.3 PAWS: an older timestamp marks an old duplicate.
        if tcb.has(flag::TS_OK) && !seg.flags.rst() {
            if let Some(tsval) = seg.tsval() {
                if tcb.paws_rejects(tsval, now) {
                    self.stats.paws_rejected += 1;
                    self.oow_ack(tx, tcb, seg.carries_nothing(), now);
                    return Admit::Done;
                }
            }
        }

        // First: sequence number, against `rcv_wnd`.
        if !tcb.acceptable(seg.seq, seg.len(), rcv_wnd) {
            self.stats.out_of_window += 1;
            let end = seg.seq + seg.payload.len() as u32;
            if tcb.sack_ok && !seg.payload.is_empty() && !seg.flags.rst() && end <= tcb.rcv_nxt {
                // Text we had (a needless retransmission, or the
                // network's duplicate): its ACK, which always goes for
                // text, reports it (RFC 2883 §4 (1)).
                self.dsack = Some((seg.seq, end));
            }
            if !seg.flags.rst() {
                self.oow_ack(tx, tcb, seg.carries_nothing(), now);
            }
            return Admit::Done;
        }

        // Second: RST, by RFC 5961 §3.2 — only an exact RCV.NXT resets.
        if seg.flags.rst() {
            if seg.seq != tcb.rcv_nxt {
                self.challenge_ack(tx, tcb, now);
                return Admit::Done;
            }
            return if tcb.state == State::SynReceived && tcb.has(flag::PASSIVE) {
                // Back to LISTEN: the application never saw it.
                self.stats.half_open_dropped += 1;
                Admit::End(None)
            } else if tcb.state == State::SynReceived {
                self.stats.refused += 1;
                Admit::End(Some(EventKind::Refused))
            } else {
                self.stats.resets += 1;
                Admit::End(Some(EventKind::Reset))
            };
        }

        // Fourth: SYN in a synchronized state (RFC 5961 §4.2).
        if seg.flags.syn() {
            if tcb.state == State::SynReceived && tcb.has(flag::PASSIVE) {
                self.stats.half_open_dropped += 1;
                return Admit::End(None);
            }
            self.challenge_ack(tx, tcb, now);
            return Admit::Done;
        }

        // Fifth: ACK.
        if !seg.flags.ack() {
            self.stats.ignored += 1;
            return Admit::Done;
        }
        if tcb.state == State::SynReceived {
            if !tcb.ack_acceptable(seg.ack) {
                self.emit_bare(tx, &reset_for(tcb.tuple, seg));
                return Admit::Done;
            }
            let wnd = u32::from(seg.wnd) << tcb.snd_wscale;
            tcb.take_window(wnd, seg.seq, Some(seg.ack));
            self.establish(tcb, index, seg.ack, seg.options.timestamps, now);
        }
        if seg.ack > tcb.snd_max {
            // RFC 9293 §3.10.7.4 / RFC 5961 §5.2: ACKs something never sent.
            self.stats.ack_beyond_sent += 1;
            self.challenge_ack(tx, tcb, now);
            return Admit::Done;
        }
        if seg.ack - tcb.snd_una < -(tcb.max_snd_wnd.max(1) as i32) {
            // RFC 5961 §5.2: older than anything the peer could still be
            // acknowledging — blind data injection, most likely.
            self.stats.ack_too_old += 1;
            self.challenge_ack(tx, tcb, now);
            return Admit::Done;
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
        Admit::Pass
    }

    /// Keeps the text (and FIN) of a segment beyond RCV.NXT in the
    /// connection's out-of-order queue, taking one from the pool first if
    /// it has none; counted as queued or dropped.
    fn queue_out_of_order(
        &mut self,
        tcb: &mut Tcb,
        seg: &Segment,
        rcv_wnd: u32,
    ) -> Option<reassembly::Insert> {
        if tcb.ooo == reassembly::NONE {
            match self.ooo.acquire() {
                Some(q) => tcb.ooo = q,
                None => {
                    self.stats.ooo_dropped += 1;
                    return None;
                }
            }
        }
        // Nothing beyond the window we advertised is kept (§3.10.7.4:
        // such text is not acceptable), nor a FIN after it.
        let offset = (seg.seq - tcb.rcv_nxt) as u32;
        let in_window = (rcv_wnd.saturating_sub(offset) as usize).min(seg.payload.len());
        let fin = seg.flags.fin() && in_window == seg.payload.len();
        let q = self.ooo.get_mut(tcb.ooo)?;
        let result = q.insert(tcb.rcv_nxt, seg.seq, &seg.payload[..in_window], fin);
        let empty = q.is_empty();
        match result {
            reassembly::Insert::Queued => self.stats.ooo_queued += 1,
            reassembly::Insert::Dropped => self.stats.ooo_dropped += 1,
            reassembly::Insert::Duplicate => {}
        }
        if in_window < seg.payload.len() && result != reassembly::Insert::Dropped {
            self.stats.ooo_dropped += 1;
        }
        if empty {
            self.release_ooo(tcb);
        }
        Some(result)
    }

    /// SND.UNA < SEG.ACK: drop acknowledged bytes, take an RTT sample, grow
    /// cwnd, and restart or stop the RTO (RFC 6298 §5.2–5.3).
    fn on_new_ack(
        &mut self,
        tcb: &mut Tcb,
        index: u32,
        ack: SeqNumber,
        probe_dsacked: bool,
        now: Instant,
        tx: &mut FrameBatch,
    ) {
        let acked = (ack - tcb.snd_una) as u32;
        tcb.dup_acks = 0;
        let bytes = (acked as usize).min(tcb.send_buf.len());
        if bytes == tcb.send_buf.len() {
            // All of it, the usual case: no drain to build and shift.
            tcb.send_buf.clear();
        } else {
            tcb.send_buf.drain(..bytes);
        }
        tcb.advance_una(ack);
        tcb.retries = 0;
        if let Some((seq, sent)) = tcb.rtt_seq {
            if ack > seq {
                tcb.rtt.sample(sent.elapsed_us(now), self.rto_bounds);
                tcb.rtt_seq = None;
            }
        }
        if tcb.in_recovery {
            self.on_ack_in_recovery(tx, tcb, acked, now);
        } else {
            // RFC 5681 §3.1: slow start below ssthresh, cwnd += min(N, SMSS);
            // congestion avoidance above, cwnd += SMSS*SMSS/cwnd per ACK (3).
            let smss = u32::from(tcb.snd_mss);
            let grow = if tcb.cwnd < tcb.ssthresh {
                acked.min(smss)
            } else {
                (smss * smss / tcb.cwnd.max(1)).max(1)
            };
            tcb.cwnd = tcb.cwnd.saturating_add(grow);
        }
        if tcb.tlp_sent {
            self.tlp_answered(tcb, probe_dsacked);
        }
        // Without a loss record (the usual ACK) RACK has no loss to find,
        // and there is no episode to age or settle: the three would each
        // return at once.
        if tcb.episode != spurious::NONE {
            if !tcb.in_recovery {
                // RACK may find a loss on any ACK (RFC 8985 §6.2).
                self.recover_if_lost(tx, tcb, now);
            }
            self.age_episode(tcb);
        }
        self.disarm(tcb);
        if tcb.outstanding() {
            // The RTO restarts (RFC 6298 §5.3), or the probe timeout in
            // its place while a tail loss probe may go (RFC 8985 §7.2).
            self.rearm(tcb, index, now);
        } else if tcb.episode != spurious::NONE {
            self.settle_later(tcb, index, now);
        }
        if !tcb.send_buf.is_empty() || tcb.has(flag::FIN_QUEUED) {
            self.mark_dirty(tcb, index);
        }
    }

    /// Our SYN is acknowledged by a segment with `timestamps`:
    /// ESTABLISHED, and the application hears of it.
    // In its callers: once per connection, and its call costs a sixth of it.
    #[inline(always)]
    fn establish(
        &mut self,
        tcb: &mut Tcb,
        index: u32,
        ack: SeqNumber,
        timestamps: Option<(u32, u32)>,
        now: Instant,
    ) {
        self.leave_half_open(tcb);
        tcb.advance_una(ack);
        self.syn_acked(tcb, timestamps.map(|(_, ecr)| ecr), now);
        self.disarm(tcb);
        let to = if tcb.has(flag::FIN_QUEUED) {
            State::FinWait1
        } else {
            State::Established
        };
        tcb.transition(to, &mut self.stats);
        let kind = if tcb.has(flag::PASSIVE) {
            tcb.set(flag::APP_KNOWN);
            self.stats.passive_opens += 1;
            EventKind::Accepted
        } else {
            self.stats.connected += 1;
            EventKind::Connected
        };
        self.event(tcb, index, kind, now);
        self.mark_dirty(tcb, index);
    }
}

/// Header prediction (as Linux's `tcp_rcv_established`): the TSval of a
/// segment for which `admit` would do nothing but take that TSval as
/// TS.Recent, found with fewer tests; `None` leaves the segment to
/// `admit`. The usual segment of a synchronized connection — its ACK, its
/// text, its FIN — is one. Each condition, and why it is enough:
/// - ESTABLISHED to LAST-ACK: SYN-SENT never comes here, and SYN-RECEIVED
///   has its own step to ESTABLISHED in `admit`.
/// - ACK set, RST and SYN clear: neither RFC 5961 §3.2 nor §4.2 applies,
///   and the fifth step goes on to the ACK.
/// - Timestamps on and a TSval not older than TS.Recent: PAWS (RFC 7323
///   §5.3) rejects only an older one (`paws_rejects`).
/// - SEG.SEQ = RCV.NXT and RCV.WND > 0: RFC 9293 §3.10.7.4's first check
///   passes whatever SEG.LEN (the first octet is in the window), and the
///   TSval is one RFC 7323 §4.3 keeps (SEG.SEQ =< RCV.NXT).
/// - SND.UNA =< SEG.ACK =< SND.MAX: the ACK acknowledges nothing unsent and
///   is not older than SND.UNA - MAX.SND.WND (RFC 5961 §5.2); whether it is
///   new, a duplicate, or carries SACK blocks is for what follows `admit`,
///   which both paths share.
#[inline(always)]
pub(super) fn predicted(tcb: &Tcb, seg: &Segment, rcv_wnd: u32) -> Option<u32> {
    let (tsval, _) = seg.options.timestamps?;
    let ctl = TcpFlags::ACK.0 | TcpFlags::RST.0 | TcpFlags::SYN.0;
    let usual = matches!(
        tcb.state,
        State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait
            | State::Closing
            | State::LastAck
    ) && seg.flags.0 & ctl == TcpFlags::ACK.0
        && tcb.has(flag::TS_OK)
        && !ts_older(tsval, tcb.ts_recent)
        && seg.seq == tcb.rcv_nxt
        && rcv_wnd > 0
        && tcb.snd_una <= seg.ack
        && seg.ack <= tcb.snd_max;
    usual.then_some(tsval)
}

/// The RST that answers `seg` where no connection takes it (RFC 9293 §3.10.7.1):
/// <SEQ=SEG.ACK><CTL=RST> if it had an ACK, else
/// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
pub(crate) fn reset_for(tuple: FourTuple, seg: &Segment) -> Bare {
    let (seq, ack, flags) = if seg.flags.ack() {
        (seg.ack, SeqNumber(0), TcpFlags::RST)
    } else {
        (
            SeqNumber(0),
            seg.seq + seg.len(),
            TcpFlags::RST | TcpFlags::ACK,
        )
    };
    Bare::new(tuple, seg.src_mac, seq, ack, flags)
}
