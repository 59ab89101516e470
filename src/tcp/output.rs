//! Building segments: SYN, SYN-ACK, data, FIN, ACK, RST (RFC 9293 §3.10.4–3.10.5).

use super::core::{ts_val, Bare, Core};
use super::tcb::{flag, SentAt, Tcb, TimerRole};
use super::{FourTuple, FrameBatch, Instant, State};
use crate::wire::{self, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

impl Core {
    /// Writes one frame for `repr` on `tuple` into `tx`.
    #[inline]
    fn frame(&mut self, tx: &mut FrameBatch, tuple: &FourTuple, peer_mac: MacAddr, repr: &TcpRepr) {
        let mac = self.mac;
        tx.push_with(wire::TCP_FRAME_MAX_HEADER + repr.payload.len(), |buf| {
            wire::emit_tcp_frame(buf, mac, peer_mac, tuple.local_ip, tuple.remote_ip, repr)
        });
        self.stats.frames_out += 1;
    }

    /// Writes one frame of `tcb` whose window and options `header` lays
    /// out. Every field is read inside the writer, once the frame's buffer
    /// is at hand: nothing then lives across the lender's `next_slot`
    /// call, which would keep a dozen fields on the stack.
    #[inline(always)]
    fn fixed_frame<const OPT: usize>(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &Tcb,
        seq: SeqNumber,
        flags: TcpFlags,
        payload: &[u8],
        header: impl FnOnce(&Core, &Tcb) -> (u16, [u8; OPT]),
    ) {
        let core = &*self;
        tx.push_with(
            wire::FixedSegment::<OPT>::len_with(payload.len()),
            // Inlined always, as `push_with` and the frame writers are:
            // with `emit`'s two bodies, the compiler would otherwise
            // call each step out of line, its fields passed in memory.
            #[inline(always)]
            |buf| {
                // The text first: nothing else is live yet across its
                // copy's call, to be kept on the stack around it.
                let text_sum = wire::emit_fixed_text::<OPT>(buf, payload);
                let (window, options) = header(core, tcb);
                let seg = wire::FixedSegment {
                    src_port: tcb.tuple.local_port,
                    dst_port: tcb.tuple.remote_port,
                    seq,
                    ack: tcb.ack_field(flags),
                    flags,
                    window,
                    options,
                    payload,
                };
                let tuple = &tcb.tuple;
                wire::emit_fixed_header(
                    buf,
                    &core.mac,
                    &tcb.peer_mac,
                    tuple.local_ip,
                    tuple.remote_ip,
                    &seg,
                    text_sum,
                )
            },
        );
        self.stats.frames_out += 1;
    }

    /// A segment without a TCB.
    pub(crate) fn emit_bare(&mut self, tx: &mut FrameBatch, b: &Bare) {
        let repr = TcpRepr {
            src_port: b.tuple.local_port,
            dst_port: b.tuple.remote_port,
            seq: b.seq,
            ack: b.ack,
            flags: b.flags,
            window: b.window,
            urgent: 0,
            options: TcpOptions {
                mss: b.mss,
                window_scale: b.window_scale,
                timestamps: b.timestamps,
                sack_permitted: b.sack_permitted,
                ..TcpOptions::default()
            },
            payload: &[],
        };
        if b.flags.rst() {
            self.stats.rst_sent += 1;
        }
        self.frame(tx, &b.tuple, b.peer_mac, &repr);
    }

    /// A segment of `tcb`: ACK set unless it is our first SYN, options as
    /// negotiated, the window as RFC 7323 §2.3 scales it.
    #[inline(never)]
    pub(crate) fn emit(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &Tcb,
        now: Instant,
        seq: SeqNumber,
        flags: TcpFlags,
        payload: &[u8],
    ) {
        self.emit_any(tx, tcb, now, seq, flags, payload);
    }

    /// The body of `emit`, inlined as well where a segment has no text
    /// and its flags are known (a SYN, a FIN, an ACK), so that only the
    /// writer it needs comes in.
    #[inline(always)]
    fn emit_any(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &Tcb,
        now: Instant,
        seq: SeqNumber,
        flags: TcpFlags,
        payload: &[u8],
    ) {
        let syn = flags.syn();
        // RFC 2018 §4: SACK blocks in ACKs while text is held beyond a
        // gap. Only on segments without text, whose room the option
        // cannot take from the MSS. A duplicate's D-SACK block comes
        // first (RFC 2883 §4).
        let may_sack = !syn
            && payload.is_empty()
            && tcb.sack_ok
            && (self.dsack.is_some() || self.ooo.get(tcb.ooo).is_some());
        if !may_sack && tcb.has(flag::TS_OK) {
            // A D-SACK block goes on this segment or on none: tested in
            // place and dropped, not copied out for the general case.
            self.dsack = None;
            // What nearly every segment is: timestamps its only option
            // after the handshake, all four of ours on a SYN; written at
            // fixed offsets.
            if !syn {
                self.fixed_frame(tx, tcb, seq, flags, payload, |core, tcb| {
                    let ts_val = ts_val(now, tcb.ts_offset);
                    let window = core.cfg.window_field(tcb.rcv_wscale);
                    (window, TcpOptions::ts_bytes(ts_val, tcb.ts_recent))
                });
                return;
            }
            if tcb.sack_ok && tcb.has(flag::WS_OK) {
                self.fixed_frame(tx, tcb, seq, flags, payload, |core, tcb| {
                    let ts_val = ts_val(now, tcb.ts_offset);
                    let (mss, wscale) = (core.cfg.mss, tcb.rcv_wscale);
                    let options = TcpOptions::syn_bytes(mss, ts_val, tcb.ts_recent, wscale);
                    (core.cfg.syn_window(), options)
                });
                return;
            }
        }
        self.emit_general(tx, tcb, now, seq, flags, payload, may_sack);
    }

    /// `emit` for SYNs without all four options, segments with SACK
    /// blocks and peers without timestamps: apart, so that the common
    /// case's frame and registers are not sized for this one.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn emit_general(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &Tcb,
        now: Instant,
        seq: SeqNumber,
        flags: TcpFlags,
        payload: &[u8],
        may_sack: bool,
    ) {
        let dsack = self.dsack.take();
        let syn = flags.syn();
        let mut sack = wire::SackBlocks::default();
        if may_sack {
            // 40 bytes of options: 4 blocks, or 3 beside timestamps.
            let max = if tcb.has(flag::TS_OK) { 3 } else { 4 };
            if let Some((left, right)) = dsack {
                sack.push(left, right);
                self.stats.dsacks_sent += 1;
            }
            if let Some(q) = self.ooo.get(tcb.ooo) {
                let mut held = q.sack(max - sack.len());
                // Beyond RCV.NXT, the block holding the duplicate goes
                // second, where the sender looks for it (RFC 2883 §4 (3)).
                let blocks = held.as_slice();
                let (mut first, mut rest) = (None, wire::SackBlocks::default());
                for &(l, r) in blocks {
                    match dsack {
                        Some((dl, dr)) if first.is_none() && l <= dl && dr <= r => {
                            first = Some((l, r));
                        }
                        _ => rest.push(l, r),
                    }
                }
                if let Some((l, r)) = first {
                    held = wire::SackBlocks::default();
                    held.push(l, r);
                    for &(l, r) in rest.as_slice() {
                        held.push(l, r);
                    }
                }
                for &(l, r) in held.as_slice() {
                    sack.push(l, r);
                }
            }
            self.stats.sack_blocks_sent += sack.len() as u64;
        }
        let window = if syn {
            self.cfg.syn_window()
        } else {
            self.cfg.window_field(tcb.rcv_wscale)
        };
        let repr = TcpRepr {
            src_port: tcb.tuple.local_port,
            dst_port: tcb.tuple.remote_port,
            seq,
            ack: tcb.ack_field(flags),
            flags,
            window,
            urgent: 0,
            options: TcpOptions {
                mss: syn.then_some(self.cfg.mss),
                window_scale: (syn && tcb.has(flag::WS_OK)).then_some(tcb.rcv_wscale),
                sack_permitted: syn && tcb.sack_ok,
                timestamps: tcb
                    .has(flag::TS_OK)
                    .then(|| (ts_val(now, tcb.ts_offset), tcb.ts_recent)),
                sack,
            },
            payload,
        };
        self.frame(tx, &tcb.tuple, tcb.peer_mac, &repr);
    }

    /// An ACK <SEQ=SND.NXT><ACK=RCV.NXT> now, not deferred (RFC 9293 §3.10.7.4).
    /// Out of line, as `emit` is: its many callers stay small.
    #[inline(never)]
    pub(crate) fn ack_now(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant) {
        if tcb.timer_role == TimerRole::DelayedAck {
            self.disarm(tcb);
        }
        tcb.ack_sent();
        self.emit_any(tx, tcb, now, tcb.snd_nxt, TcpFlags::ACK, &[]);
    }

    /// Sends what `tcb` owes: its SYN or SYN-ACK, data and FIN as the windows
    /// allow, else a pending ACK. Arms the RTO while anything is unacknowledged.
    pub(crate) fn output(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, index: u32, now: Instant) {
        // Sending moves SND.MAX, never SND.UNA: what was outstanding
        // before is told by SND.MAX alone, one value kept across the calls
        // below rather than two.
        let snd_max = tcb.snd_max;
        let sent = match tcb.state {
            State::SynSent | State::SynReceived if tcb.snd_nxt == tcb.iss => {
                let flags = if tcb.state == State::SynSent {
                    TcpFlags::SYN
                } else {
                    TcpFlags::SYN | TcpFlags::ACK
                };
                // Inlined: here its flags say SYN, so only the SYN's
                // writer comes in, and the call's cost goes.
                self.emit_any(tx, tcb, now, tcb.iss, flags, &[]);
                tcb.snd_nxt = tcb.iss + 1;
                tcb.snd_max = tcb.snd_max.max(tcb.snd_nxt);
                if !tcb.syn_resent && tcb.rtt_seq.is_none() {
                    tcb.rtt_seq = Some((tcb.iss, SentAt::new(now)));
                }
                true
            }
            State::Established
            | State::CloseWait
            | State::FinWait1
            | State::Closing
            | State::LastAck => self.send_any(tx, tcb, now, false),
            _ => false,
        };
        if !sent && tcb.has(flag::ACK_PENDING) && tcb.state.is_synchronized() {
            if !self.delay_ack(tcb, index, now) {
                self.ack_now(tx, tcb, now);
            }
        } else {
            tcb.ack_sent();
        }
        if tcb.snd_una == snd_max && tcb.outstanding() {
            // A persist or SWS override timer gives way to the RTO of what
            // just left (RFC 6298 §5.1).
            self.rearm_outstanding(tcb, index, now);
        } else {
            self.rearm(tcb, index, now);
        }
    }

    /// Holds back an ACK owed for in-order text that nothing carried this
    /// turn (RFC 9293 §3.8.6.3, RFC 5681 §4.2, RFC 1122 4.2.3.2): the
    /// delayed-ACK timer sends it unless a segment of ours carries it
    /// first. Only while the TCB's timer is free (or is that timer
    /// already): with an RTO or another timer running, the ACK goes now,
    /// so that no timer ever has to wait behind another. False when the
    /// ACK must go now.
    fn delay_ack(&mut self, tcb: &mut Tcb, index: u32, now: Instant) -> bool {
        if !tcb.ack_delayable() || self.cfg.delayed_ack.is_zero() {
            return false;
        }
        match (self.armed(tcb), tcb.timer_role) {
            (true, TimerRole::DelayedAck) => true,
            (false, _) => {
                let after = self.cfg.delayed_ack;
                self.arm(tcb, index, after, now);
                tcb.timer_role = TimerRole::DelayedAck;
                true
            }
            _ => false,
        }
    }

    /// Sends queued bytes from SND.NXT within min(SND.WND, cwnd), MSS-sized,
    /// then the FIN once every byte is out. `force`: a timer fired, so one
    /// byte goes into a zero window (RFC 9293 §3.8.6.1).
    #[inline(never)]
    pub(crate) fn send_data(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        now: Instant,
        force: bool,
    ) -> bool {
        let sent = self.send_any(tx, tcb, now, force);
        if sent {
            tcb.ack_sent();
        }
        sent
    }

    /// The body of `send_data`, inlined into `output`, its caller on every
    /// segment but a timer's: one call fewer a segment. Its fast paths
    /// leave the ACK owed as it was: both callers clear it once anything
    /// went, `output` on a path it takes whatever was sent.
    #[inline(always)]
    fn send_any(&mut self, tx: &mut FrameBatch, tcb: &mut Tcb, now: Instant, force: bool) -> bool {
        // The FIN alone, every byte before it sent: how a close ends the
        // sending. No window or cwnd holds a FIN back, so the loop's
        // window sums would come to nothing.
        if tcb.snd_nxt == tcb.snd_max
            && tcb.has(flag::FIN_QUEUED)
            && (tcb.snd_nxt - tcb.snd_una) as u32 as usize == tcb.send_buf.len()
        {
            let seq = tcb.snd_nxt;
            // Inlined: a FIN carries no SYN, so only the writer of
            // timestamps alone comes in.
            self.emit_any(tx, tcb, now, seq, TcpFlags::ACK | TcpFlags::FIN, &[]);
            if tcb.rtt_seq.is_none() && tcb.retries == 0 {
                tcb.rtt_seq = Some((seq, SentAt::new(now)));
            }
            // SEQ was SND.MAX: both move past the FIN.
            tcb.snd_nxt = seq + 1;
            tcb.snd_max = tcb.snd_nxt;
            tcb.set(flag::FIN_SENT);
            self.mark_sent(tcb, seq, now);
            return true;
        }
        // One fresh segment takes all that is queued, the FIN with it if
        // one is: what a request or a response is. Outside recovery and
        // limited transmit, with the whole of it within the MSS and the
        // room, the loop's sums come to this one segment (send_fast.rs).
        let in_flight = (tcb.snd_nxt - tcb.snd_una) as u32;
        let offset = in_flight as usize;
        let queued = tcb.send_buf.len();
        if offset < queued && tcb.snd_nxt == tcb.snd_max && !tcb.in_recovery && tcb.dup_acks == 0 {
            let len = queued - offset;
            let room = tcb
                .cwnd
                .saturating_sub(in_flight)
                .min(tcb.snd_wnd.saturating_sub(in_flight));
            if len <= usize::from(tcb.snd_mss) && len as u32 <= room {
                let fin = tcb.has(flag::FIN_QUEUED);
                let mut flags = TcpFlags::ACK | TcpFlags::PSH;
                if fin {
                    flags |= TcpFlags::FIN;
                }
                let seq = tcb.snd_nxt;
                // Inlined: no SYN, so only the timestamps writer comes in.
                self.emit_any(tx, tcb, now, seq, flags, &tcb.send_buf[offset..]);
                self.stats.bytes_out += len as u64;
                if tcb.rtt_seq.is_none() && tcb.retries == 0 {
                    tcb.rtt_seq = Some((seq, SentAt::new(now)));
                }
                tcb.snd_nxt = seq + (len as u32 + u32::from(fin));
                tcb.snd_max = tcb.snd_nxt;
                if fin {
                    tcb.set(flag::FIN_SENT);
                }
                self.mark_sent(tcb, seq, now);
                return true;
            }
        }
        self.send_segments(tx, tcb, now, force)
    }

    /// `send_data`'s general case: segment after segment from SND.NXT,
    /// resending after an RTO, within SACK recovery's pipe, held back by
    /// sender SWS avoidance.
    pub(crate) fn send_segments(
        &mut self,
        tx: &mut FrameBatch,
        tcb: &mut Tcb,
        now: Instant,
        force: bool,
    ) -> bool {
        let mut sent = false;
        let mut fresh_from = None;
        loop {
            // Every byte out and no FIN to follow, nothing to send again:
            // what ends nearly every call, known before the window sums.
            if tcb.snd_nxt >= tcb.snd_max
                && !tcb.has(flag::FIN_QUEUED)
                && (tcb.snd_nxt - tcb.snd_una) as u32 as usize >= tcb.send_buf.len()
            {
                break;
            }
            // The go-back-N of an RTO skips what the peer has SACKed since
            // (RFC 6675 §5.1), which is not in the network either.
            let (limit, skipped) = if tcb.snd_nxt < tcb.snd_max {
                self.go_back_n(tcb)
            } else {
                (usize::MAX, 0)
            };
            let in_flight = (tcb.snd_nxt - tcb.snd_una) as u32;
            let offset = in_flight as usize;
            // In SACK recovery, what is in the network is pipe, not all
            // that is unacknowledged (RFC 6675 §5 (C), NextSeg (2)).
            let in_network = self.recovery_pipe(tcb).unwrap_or(in_flight - skipped);
            let queued = tcb.send_buf.len();
            if offset > queued {
                break; // the FIN is out
            }
            let unsent = queued - offset;
            // RFC 3042 limited transmit: the first two duplicate ACKs each
            // let one new segment out, so that a small window still draws
            // the third.
            let mut cwnd = tcb.cwnd;
            if !tcb.in_recovery {
                cwnd += u32::from(tcb.dup_acks.min(2)) * u32::from(tcb.snd_mss);
            }
            let room = cwnd
                .saturating_sub(in_network)
                .min(tcb.snd_wnd.saturating_sub(in_flight)) as usize;
            let mss = usize::from(tcb.snd_mss);
            let mut len = unsent.min(mss).min(room).min(limit);
            if len == 0 && unsent > 0 && force && in_flight == 0 {
                len = 1;
            }
            // RFC 9293 §3.8.6.2.1 (MUST-38), sender SWS avoidance: a segment
            // shorter than the MSS while more data waits goes only if it is
            // at least half the largest window the peer offered (Fs = 1/2),
            // or when the override timer forces it; else wait for room.
            if len > 0 && len < mss && len < unsent && len < limit && !force {
                let fs = tcb.max_snd_wnd / 2;
                if (len as u32) < fs {
                    break;
                }
            }
            let fin = tcb.has(flag::FIN_QUEUED) && offset + len == queued;
            if len == 0 && !fin {
                break;
            }
            let mut flags = TcpFlags::ACK;
            if len > 0 && offset + len == queued {
                flags |= TcpFlags::PSH;
            }
            if fin {
                flags |= TcpFlags::FIN;
            }
            let seq = tcb.snd_nxt;
            let fresh = seq == tcb.snd_max;
            {
                let payload = &tcb.send_buf[offset..offset + len];
                self.emit(tx, tcb, now, seq, flags, payload);
            }
            if fresh {
                fresh_from.get_or_insert(seq);
                self.stats.bytes_out += len as u64;
                if tcb.rtt_seq.is_none() && tcb.retries == 0 {
                    tcb.rtt_seq = Some((seq, SentAt::new(now)));
                }
            } else {
                self.retransmitted(tcb); // go-back-N after an RTO
            }
            tcb.snd_nxt = seq + (len as u32 + u32::from(fin));
            tcb.snd_max = tcb.snd_max.max(tcb.snd_nxt);
            sent = true;
            if fin {
                tcb.set(flag::FIN_SENT);
                break;
            }
        }
        if sent {
            tcb.ack_sent();
        }
        if let Some(seq) = fresh_from {
            self.mark_sent(tcb, seq, now); // RACK's transmit time (rack.rs)
        }
        sent
    }
}
