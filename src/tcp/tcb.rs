//! The transmission control block of one connection (RFC 9293 §3.3.1).

use super::{rtt::RttEstimator, timer::TimerHandle, FourTuple, Instant, State};
use crate::wire::{MacAddr, SeqNumber};

/// RFC 7323 §5.5: TS.Recent older than 24 days is invalid.
const PAWS_IDLE_SECS: u32 = 24 * 24 * 3600;

#[inline]
fn now_secs(now: Instant) -> u32 {
    (now.as_millis() / 1000) as u32
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
    /// Our SYN or SYN-ACK went out more than once, so its ACK cannot be
    /// timed (Karn, RFC 6298 §3).
    pub syn_resent: bool,
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
    /// Slow start threshold (RFC 5681 §3.1): slow start below, congestion
    /// avoidance above; arbitrarily high until the first loss.
    pub ssthresh: u32,
    pub irs: SeqNumber,
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
    pub rtt_seq: Option<(SeqNumber, Instant)>,
    pub rtt: RttEstimator,
    /// RTO, persist, SWS override or FIN-WAIT-2 timer; one per TCB, its
    /// meaning read from the state when it fires.
    pub timer: Option<TimerHandle>,
    /// Bytes from `snd_una` on: sent-unacknowledged, then unsent.
    pub send_buf: Vec<u8>,
    /// When the connection began (SYN sent or received).
    pub created: Instant,
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
            ssthresh: u32::MAX,
            irs: SeqNumber(0),
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
            send_buf: Vec::new(),
            created: Instant::ZERO,
        }
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
        (tsval.wrapping_sub(self.ts_recent) as i32) < 0
            && now_secs(now).wrapping_sub(self.ts_recent_age) < PAWS_IDLE_SECS
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
