//! The transmission control block of one connection (RFC 9293 §3.3.1).

use super::{rtt::RttEstimator, timer::TimerHandle, Config, FourTuple, Instant, State, Stats};
use crate::wire::{MacAddr, SeqNumber, TcpFlags, TcpOptions};
use core::num::NonZeroU32;

/// RFC 7323 §5.5: TS.Recent older than 24 days is invalid.
const PAWS_IDLE_SECS: u32 = 24 * 24 * 3600;

/// Bytes the timestamps option takes from every segment once negotiated
/// (10, padded to 12; RFC 7323 §3).
const TS_OVERHEAD: u16 = 12;

/// RFC 6928's initial window, in segments.
const INITIAL_WINDOW_SEGMENTS: u32 = 10;

/// `Tcb::rcv_unacked` of an ACK owed at once: beyond any two segments.
const AT_ONCE: u16 = u16::MAX;

/// RFC 9293 §3.7.1: the MSS to assume when a SYN carries no MSS option.
pub(crate) const DEFAULT_MSS: u16 = 536;

#[inline]
fn now_secs(now: Instant) -> u32 {
    (now.as_millis() / 1000) as u32
}

/// RFC 7323 §5.3's comparison: `tsval` is older than `ts_recent`, modulo 2^32.
#[inline]
pub(crate) fn ts_older(tsval: u32, ts_recent: u32) -> bool {
    (tsval.wrapping_sub(ts_recent) as i32) < 0
}

/// When a timed segment left, for its RTT sample: the low 32 bits of the
/// microsecond clock, whose wrap (71 minutes) no RTT comes near, never
/// zero (0 is kept as 1 µs), so that `Tcb::rtt_seq` takes 8 bytes, not 24.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentAt(NonZeroU32);

impl Tcb {
    /// SEG.ACK of a segment of ours with `flags`: RCV.NXT with ACK set,
    /// else zero (RFC 9293 §3.1: the field is unused without ACK).
    #[inline]
    pub(crate) fn ack_field(&self, flags: TcpFlags) -> SeqNumber {
        if flags.ack() {
            self.rcv_nxt
        } else {
            SeqNumber(0)
        }
    }
}

impl SentAt {
    #[inline]
    pub fn new(now: Instant) -> Self {
        SentAt(NonZeroU32::new(now.as_micros() as u32).unwrap_or(NonZeroU32::MIN))
    }

    /// Microseconds since the segment left, at `now`.
    #[inline]
    pub fn elapsed_us(self, now: Instant) -> u32 {
        (now.as_micros() as u32).wrapping_sub(self.0.get())
    }
}

/// Per-connection flags, kept in one byte.
pub(crate) mod flag {
    /// In the engine's dirty list: `poll_transmit` will run its output.
    pub const DIRTY: u8 = 1 << 0;
    /// Owes the peer an ACK that nothing has carried yet.
    pub const ACK_PENDING: u8 = 1 << 1;
    /// The application closed: a FIN follows the queued data.
    pub const FIN_QUEUED: u8 = 1 << 2;
    /// Our FIN has been sent (it occupies the sequence number before `snd_max`).
    pub const FIN_SENT: u8 = 1 << 3;
    /// Timestamps negotiated (RFC 7323 §3.2).
    pub const TS_OK: u8 = 1 << 4;
    /// Window scaling negotiated (RFC 7323 §2.2).
    pub const WS_OK: u8 = 1 << 5;
    /// The application knows this connection and gets its terminal event.
    pub const APP_KNOWN: u8 = 1 << 6;
    /// Created from a listener (passive open).
    pub const PASSIVE: u8 = 1 << 7;
}

/// What the one timer of a TCB stands for, where its state does not say.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TimerRole {
    /// The RTO, or the persist, SWS override or FIN-WAIT-2 timer, as the
    /// state and the send queue tell (see `Engine::on_tcb_timer`).
    Plain,
    /// The tail loss probe's timeout (RFC 8985 §7.2), in the RTO's place.
    Probe,
    /// The delayed-ACK timer (RFC 9293 §3.8.6.3), while nothing else runs.
    DelayedAck,
    /// RACK's reorder timer (RFC 8985 §6.2 step 5), in the RTO's place;
    /// with nothing outstanding, the end of a loss record's wait for a
    /// late D-SACK (`Core::settle_later`).
    Reorder,
}

/// One connection's state. Named as RFC 9293 §3.3.1 names the variables.
#[derive(Clone, Debug)]
pub(crate) struct Tcb {
    pub tuple: FourTuple,
    pub peer_mac: MacAddr,
    pub state: State,
    pub flags: u8,
    /// Shift applied to the peer's window field.
    pub snd_wscale: u8,
    /// Shift the peer applies to ours.
    pub rcv_wscale: u8,
    /// Consecutive retransmissions of the oldest unacknowledged segment.
    pub retries: u8,
    /// Text received in order since our last segment (which carried the
    /// ACK): at two full-sized segments, the ACK goes at once. `AT_ONCE`
    /// while an ACK is owed that may not wait for the delayed-ACK timer.
    pub rcv_unacked: u16,
    /// Duplicate ACKs in a row (RFC 5681 §2), towards DupThresh.
    pub dup_acks: u8,
    /// In fast recovery (RFC 6582 §3.2) until SND.UNA passes `recover`.
    pub in_recovery: bool,
    /// This recovery is RFC 6675's, by the scoreboard: the peer had
    /// SACKed data when it began. Decided once, at its entry, so that
    /// a NewReno recovery stays one to its end (RFC 6582 §3.2).
    pub sack_recovery: bool,
    /// What the TCB's timer is where the state alone does not say: the
    /// probe timeout (RFC 8985 §7.2) or the delayed-ACK timer (RFC 9293
    /// §3.8.6.3) rather than the RTO, persist, SWS or FIN-WAIT-2 timer.
    pub timer_role: TimerRole,
    /// A tail loss probe is out and unanswered: no other until an ACK
    /// acknowledges new data (RFC 8985 §7.3).
    pub tlp_sent: bool,
    /// Our SYN or SYN-ACK went out more than once, so its ACK cannot be
    /// timed (Karn, RFC 6298 §3).
    pub syn_resent: bool,
    /// SACK-permitted offered by both sides (RFC 2018 §2): ours is
    /// configured, the peer's read from its SYN or SYN-ACK.
    pub sack_ok: bool,
    /// Index of the listener a passive connection came from.
    pub listener: u16,
    /// Our MSS for sending: the peer's limit less our option overhead.
    pub snd_mss: u16,
    pub generation: u32,
    pub iss: SeqNumber,
    pub snd_una: SeqNumber,
    pub snd_nxt: SeqNumber,
    /// Highest sequence number sent plus one; `snd_nxt` falls back to
    /// `snd_una` on RTO (go-back-N) while ACKs up to `snd_max` stay valid.
    pub snd_max: SeqNumber,
    pub snd_wnd: u32,
    /// Largest window the peer has offered (MAX.SND.WND of RFC 5961 §5.2).
    pub max_snd_wnd: u32,
    pub snd_wl1: SeqNumber,
    pub snd_wl2: SeqNumber,
    /// Congestion window: IW10 (RFC 6928), then RFC 5681; one MSS after an RTO.
    pub cwnd: u32,
    /// SND.MAX when the tail loss probe went: the ACK that covers it
    /// says the probe repaired a loss (RFC 8985 §7.4).
    pub tlp_high: SeqNumber,
    /// RFC 6675's HighRxt: the end of the highest retransmission of this
    /// recovery, from which the next hole the SACK blocks show is sought.
    pub high_rxt: SeqNumber,
    /// RFC 6582's `recover`: SND.MAX when fast recovery or an RTO began;
    /// duplicate ACKs below it start no new recovery.
    pub recover: SeqNumber,
    /// Slow start threshold (RFC 5681 §3.1): slow start below, congestion
    /// avoidance above; arbitrarily high until the first loss.
    pub ssthresh: u32,
    /// RCV.NXT; IRS, which RFC 9293 §3.3.1 also keeps, is `rcv_nxt - 1`
    /// for as long as anything reads it (SYN-RECEIVED, see `irs`).
    pub rcv_nxt: SeqNumber,
    /// Last TSval received (RFC 7323 §4.3).
    pub ts_recent: u32,
    /// Added to our TSval clock towards this peer address (see `Keys::ts_offset`).
    pub ts_offset: u32,
    /// SYNs resent at once because the peer answered with an ACK of an
    /// older connection on this tuple (its TIME-WAIT).
    pub collisions: u8,
    /// When this connection last sent a challenge or out-of-window ACK, in
    /// ms (0: never), for `oow_ack_interval`.
    pub last_oow_ack: u32,
    /// When zero-window probing began, in ms (0: the window is open), for
    /// `persist_timeout`.
    pub persist_since: u32,
    /// When `ts_recent` was taken, in seconds (RFC 7323 §5.5's 24-day rule).
    pub ts_recent_age: u32,
    /// The segment being timed for an RTT sample (Karn: never a retransmission).
    pub rtt_seq: Option<(SeqNumber, SentAt)>,
    pub rtt: RttEstimator,
    /// RTO, persist, SWS override or FIN-WAIT-2 timer; one per TCB, its
    /// meaning read from the state when it fires. The wheel entry, armed
    /// or not (`Core::armed`), kept across connections in this slot so that
    /// arming it again mostly touches no wheel list.
    pub timer: Option<TimerHandle>,
    /// Bytes from `snd_una` on: sent-unacknowledged, then unsent. The
    /// vector's header lives out of line, 16 bytes off every TCB (issue
    /// 14's budget); one slot keeps its allocation across connections.
    // The extra allocation clippy warns of is the point: once per slot.
    #[allow(clippy::box_collection)]
    pub send_buf: Box<Vec<u8>>,
    /// The out-of-order queue this connection holds while it has a gap
    /// (an index into the engine's pool), or `reassembly::NONE`.
    pub ooo: u32,
    /// The loss episode's undo record this connection holds (an index
    /// into the engine's pool), or `spurious::NONE`.
    pub episode: u16,
}

impl Tcb {
    /// A free slot: `Closed`, no timer, an empty buffer.
    pub fn vacant() -> Self {
        Tcb {
            tuple: FourTuple {
                local_ip: [0; 4].into(),
                remote_ip: [0; 4].into(),
                local_port: 0,
                remote_port: 0,
            },
            peer_mac: MacAddr([0; 6]),
            state: State::Closed,
            flags: 0,
            snd_wscale: 0,
            rcv_wscale: 0,
            retries: 0,
            syn_resent: false,
            rcv_unacked: 0,
            dup_acks: 0,
            in_recovery: false,
            sack_recovery: false,
            timer_role: TimerRole::Plain,
            tlp_sent: false,
            sack_ok: false,
            listener: 0,
            snd_mss: 536,
            generation: 0,
            iss: SeqNumber(0),
            snd_una: SeqNumber(0),
            snd_nxt: SeqNumber(0),
            snd_max: SeqNumber(0),
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: SeqNumber(0),
            cwnd: 0,
            tlp_high: SeqNumber(0),
            high_rxt: SeqNumber(0),
            recover: SeqNumber(0),
            ssthresh: u32::MAX,
            rcv_nxt: SeqNumber(0),
            ts_recent: 0,
            ts_offset: 0,
            collisions: 0,
            ts_recent_age: 0,
            last_oow_ack: 0,
            persist_since: 0,
            rtt_seq: None,
            rtt: RttEstimator::new(core::time::Duration::from_secs(1)),
            timer: None,
            send_buf: Box::default(),
            ooo: super::reassembly::NONE,
            episode: super::spurious::NONE,
        }
    }

    /// IRS (RFC 9293 §3.3.1) while in SYN-RECEIVED: nothing but the SYN
    /// is taken before the handshake completes, so RCV.NXT is IRS + 1.
    #[inline]
    pub fn irs(&self) -> SeqNumber {
        self.rcv_nxt - 1
    }

    /// A segment carrying our ACK left: nothing is owed any more.
    #[inline]
    pub fn ack_sent(&mut self) {
        self.clear(flag::ACK_PENDING);
        self.rcv_unacked = 0;
    }

    /// In-order text of `len` bytes arrived, to be acknowledged.
    #[inline]
    pub fn received(&mut self, len: u32) {
        let len = len.min(u32::from(AT_ONCE)) as u16;
        self.rcv_unacked = self.rcv_unacked.saturating_add(len);
    }

    /// The ACK owed is for in-order text only, so it may wait for the
    /// delayed-ACK timer (RFC 5681 §4.2).
    #[inline]
    pub fn ack_delayable(&self) -> bool {
        self.rcv_unacked != AT_ONCE
    }

    /// An ACK is owed that goes on the next output, not delayed: for a
    /// FIN, a handshake, text that fills a gap (RFC 5681 §4.2).
    #[inline]
    pub fn owe_ack(&mut self) {
        self.set(flag::ACK_PENDING);
        self.rcv_unacked = AT_ONCE;
    }

    /// An ACK is owed for in-order text, which may wait for the
    /// delayed-ACK timer unless an ACK that may not is owed already.
    #[inline]
    pub fn owe_delayed_ack(&mut self) {
        self.set(flag::ACK_PENDING);
    }

    #[inline]
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    #[inline]
    pub fn set(&mut self, f: u8) {
        self.flags |= f;
    }

    #[inline]
    pub fn clear(&mut self, f: u8) {
        self.flags &= !f;
    }

    /// Remembers the peer's TSval as TS.Recent (RFC 7323 §4.3).
    #[inline]
    pub fn set_ts_recent(&mut self, tsval: u32, now: Instant) {
        self.ts_recent = tsval;
        self.ts_recent_age = now_secs(now);
    }

    /// RFC 7323 §5.3 and §5.5: a TSval older than TS.Recent marks an old
    /// duplicate — unless TS.Recent is over 24 days old, when the peer's
    /// clock may have wrapped past it and the comparison means nothing.
    #[inline]
    pub fn paws_rejects(&self, tsval: u32, now: Instant) -> bool {
        ts_older(tsval, self.ts_recent)
            && now_secs(now).wrapping_sub(self.ts_recent_age) < PAWS_IDLE_SECS
    }

    /// The option flags of a new connection: timestamps and window scaling
    /// where we are configured for them and the peer (`ts`, `ws`) offered
    /// them, or, for an active open, may yet (RFC 7323 §2.2, §3.2).
    #[inline]
    pub fn option_flags(cfg: &Config, ts: bool, ws: bool) -> u8 {
        let mut flags = 0;
        if cfg.timestamps && ts {
            flags |= flag::TS_OK;
        }
        if cfg.window_scale > 0 && ws {
            flags |= flag::WS_OK;
        }
        flags
    }

    /// SMSS from the largest segment the path takes (`limit`: the lesser
    /// of the peer's MSS and ours), less the timestamps option when it is
    /// on; cwnd starts at IW10 of it (RFC 6928).
    #[inline]
    pub fn set_snd_mss(&mut self, limit: u16) {
        let overhead = if self.has(flag::TS_OK) {
            TS_OVERHEAD
        } else {
            0
        };
        self.snd_mss = limit - overhead;
        self.cwnd = INITIAL_WINDOW_SEGMENTS * u32::from(self.snd_mss);
    }

    /// Picks up MSS, window scale and timestamps from a SYN (RFC 9293
    /// §3.7.1, RFC 7323 §2.2 and §3.2); an option we offered and the peer
    /// did not is off.
    pub fn take_syn_options(&mut self, options: &TcpOptions, our_mss: u16, now: Instant) {
        match options.window_scale {
            Some(ws) if self.has(flag::WS_OK) => self.snd_wscale = ws.min(14),
            _ => {
                self.clear(flag::WS_OK);
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
            }
        }
        match options.timestamps {
            Some((tsval, _)) if self.has(flag::TS_OK) => self.set_ts_recent(tsval, now),
            _ => self.clear(flag::TS_OK),
        }
        self.sack_ok &= options.sack_permitted;
        let peer_mss = options.mss.unwrap_or(DEFAULT_MSS).max(64);
        self.set_snd_mss(peer_mss.min(our_mss));
    }

    /// Takes the peer's window `wnd` (already scaled) from the segment at
    /// `seq` acknowledging `ack`, if it carried one: SND.WND, SND.WL1 and
    /// SND.WL2 (RFC 9293 §3.10.7.4), and MAX.SND.WND (RFC 5961 §5.2).
    #[inline]
    pub fn take_window(&mut self, wnd: u32, seq: SeqNumber, ack: Option<SeqNumber>) {
        self.snd_wnd = wnd;
        self.max_snd_wnd = self.max_snd_wnd.max(wnd);
        self.snd_wl1 = seq;
        if let Some(ack) = ack {
            self.snd_wl2 = ack;
        }
    }

    /// SND.UNA moves to `ack`; SND.NXT with it, where go-back-N had
    /// rewound it behind.
    #[inline]
    pub fn advance_una(&mut self, ack: SeqNumber) {
        self.snd_una = ack;
        if self.snd_nxt < ack {
            self.snd_nxt = ack;
        }
    }

    /// The one way a TCB's state changes, so that every edge is counted
    /// and checked against RFC 9293 §3.10 (see [`Stats::transition`]).
    #[inline]
    pub fn transition(&mut self, to: State, stats: &mut Stats) {
        stats.transition(self.state, to);
        self.state = to;
    }

    /// Everything we sent, FIN included, has been acknowledged.
    #[inline]
    pub fn fin_acked(&self) -> bool {
        self.has(flag::FIN_SENT) && self.snd_una == self.snd_max
    }

    /// Queued bytes not sent yet (the FIN is not counted: it leaves
    /// whatever the window).
    #[inline]
    pub fn has_unsent(&self) -> bool {
        self.send_buf.len() > (self.snd_nxt - self.snd_una) as u32 as usize
    }

    /// Something sent is still unacknowledged, so the RTO must run.
    #[inline]
    pub fn outstanding(&self) -> bool {
        self.snd_una != self.snd_max
    }

    /// RFC 9293 §3.10.7.4's acceptability test, with a receive window that
    /// never closes because data goes straight to the application.
    #[inline]
    pub fn acceptable(&self, seq: SeqNumber, seg_len: u32, rcv_wnd: u32) -> bool {
        let start = seq - self.rcv_nxt;
        let in_window = |off: i32| off >= 0 && (off as u32) < rcv_wnd;
        if seg_len == 0 {
            in_window(start)
        } else {
            in_window(start) || in_window(start.wrapping_add(seg_len as i32 - 1))
        }
    }

    /// RFC 9293 §3.10.7.4 fifth: SND.UNA < SEG.ACK =< SND.NXT (with `snd_max`
    /// for SND.NXT, since go-back-N rewinds `snd_nxt`).
    #[inline]
    pub fn ack_acceptable(&self, ack: SeqNumber) -> bool {
        ack > self.snd_una && ack <= self.snd_max
    }
}
