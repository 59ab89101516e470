//! Counters: every frame that is dropped or answered unusually is counted here.

use super::State;
use crate::wire;

/// Number of connection states, the side of [`Stats::transitions`].
pub const STATES: usize = State::ALL.len();

macro_rules! counters {
    ($(#[$doc:meta] $name:ident,)*) => {
        /// Monotonic counters of one engine.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Stats {
            $(#[$doc] pub $name: u64,)*
            /// Frames dropped because they did not parse, by [`wire::Error::index`].
            pub parse_errors: [u64; wire::Error::ALL.len()],
            /// State changes by edge: `transitions[from.index()][to.index()]`.
            pub transitions: [[u64; STATES]; STATES],
        }

        impl Stats {
            /// Every counter by name, parse errors as `drop_<reason>`, for printing and JSON.
            pub fn fields(&self) -> Vec<(String, u64)> {
                let mut v = vec![$((stringify!($name).to_string(), self.$name),)*];
                for e in wire::Error::ALL {
                    v.push((format!("drop_{}", e.name()), self.parse_errors[e.index()]));
                }
                v
            }

            /// Adds another engine's counters (workers report per engine).
            pub fn add(&mut self, other: &Stats) {
                $(self.$name += other.$name;)*
                for (a, b) in self.parse_errors.iter_mut().zip(other.parse_errors.iter()) {
                    *a += b;
                }
                for (row, other) in self.transitions.iter_mut().zip(other.transitions.iter()) {
                    for (a, b) in row.iter_mut().zip(other.iter()) {
                        *a += b;
                    }
                }
            }
        }
    };
}

impl Stats {
    /// Counts a state change, and one outside RFC 9293 §3.10's edges as
    /// `illegal_transitions`: a bug, but one that wire input may reach, so
    /// it is reported rather than a panic.
    #[inline]
    pub fn transition(&mut self, from: State, to: State) {
        self.transitions[from.index()][to.index()] += 1;
        if !from.may_become(to) {
            self.illegal_transitions += 1;
        }
    }

    /// [`Stats::transition`] for a change its caller knows to be one of
    /// RFC 9293 §3.10's edges, so that the check is spared.
    #[inline]
    pub(crate) fn legal_transition(&mut self, from: State, to: State) {
        debug_assert!(from.may_become(to), "{from} -> {to} is no edge");
        self.transitions[from.index()][to.index()] += 1;
    }

    /// [`Stats::legal_transition`] for `n` connections at once.
    #[inline]
    pub(crate) fn legal_transitions(&mut self, from: State, to: State, n: u64) {
        debug_assert!(from.may_become(to), "{from} -> {to} is no edge");
        self.transitions[from.index()][to.index()] += n;
    }

    /// How often a connection went from `from` to `to`.
    pub fn edge(&self, from: State, to: State) -> u64 {
        self.transitions[from.index()][to.index()]
    }
}

counters! {
    /// Frames handed to the engine.
    frames_in,
    /// Frames the engine produced.
    frames_out,
    /// Payload bytes delivered to the application.
    bytes_in,
    /// Payload bytes sent for the first time.
    bytes_out,
    /// Connections opened by `connect`.
    active_opens,
    /// Connections accepted (handshake completed on a listener).
    passive_opens,
    /// Connections that reached ESTABLISHED by an active open.
    connected,
    /// Connections closed in order.
    closed,
    /// Established connections reset by the peer.
    resets,
    /// Active opens answered with RST.
    refused,
    /// Connections that timed out (handshake, retransmission, persist or FIN-WAIT-2).
    timeouts,
    /// Half-open passive connections dropped before the application saw them.
    half_open_dropped,
    /// Aborts issued by the application (RST sent).
    aborts,
    /// RST segments we sent.
    rst_sent,
    /// Segments failing the RFC 9293 §3.10.7.4 acceptability test.
    out_of_window,
    /// Segments dropped by PAWS (RFC 7323 §5).
    paws_rejected,
    /// Out-of-order segments received (each answered by a duplicate ACK).
    out_of_order,
    /// Out-of-order segments kept in the reassembly queue (RFC 9293 §3.10.7.4).
    ooo_queued,
    /// Out-of-order segments dropped or cut short for lack of queue room (per connection or in total).
    ooo_dropped,
    /// Duplicate ACKs sent at once for out-of-order segments (RFC 5681 §4.2).
    dup_acks_sent,
    /// SACK blocks sent in ACKs (RFC 2018 §4).
    sack_blocks_sent,
    /// ACKs that reported a duplicate segment in a D-SACK block (RFC 2883).
    dsacks_sent,
    /// ACKs received with a D-SACK block (RFC 2883 §4).
    dsacks_received,
    /// Retransmissions a D-SACK showed were not needed: the original had arrived (RFC 3708).
    spurious_retransmits,
    /// Loss episodes whose every retransmission was spurious: cwnd and ssthresh restored (RFC 3708, Linux `tcp_try_undo_dsack`).
    undos,
    /// ACKs sent by the delayed-ACK timer: nothing of ours carried them in time (RFC 9293 §3.8.6.3).
    delayed_acks,
    /// Challenge ACKs sent (RFC 5961).
    challenge_acks,
    /// Challenge ACKs suppressed by the rate limit (RFC 5961 §7).
    challenge_acks_limited,
    /// SYN-ACKs whose ACK did not match our SYN (RFC 9293 §3.10.7.3).
    bad_syn_acks,
    /// Duplicate SYNs that made us resend a SYN-ACK.
    syn_duplicates,
    /// Segments retransmitted on RTO.
    retransmits,
    /// Segments retransmitted on three duplicate ACKs or a partial ACK (RFC 5681 §3.2, RFC 6582).
    fast_retransmits,
    /// Fast recoveries entered (RFC 6582 §3.2), with SACK or without.
    recoveries,
    /// Of those, recoveries by the SACK scoreboard (RFC 6675 §5).
    sack_recoveries,
    /// Retransmissions RACK found lost and repeated: data sent after them was SACKed a round trip later (RFC 8985 §6.2).
    rack_retransmits,
    /// RACK reorder timeouts (RFC 8985 §6.2 step 5): segments sent before one delivered waited out a round trip and the reordering window.
    rack_reorder_timeouts,
    /// Tail loss probes sent (RFC 8985 §7).
    tlps,
    /// Tail loss probes that repaired a loss: their ACK covered the tail (RFC 8985 §7.4).
    tlp_recoveries,
    /// Loss records asked for and not given, every one of the engine's 65,535 taken: that connection goes on without RACK's transmit times, or without a SACK scoreboard (NewReno) and undo.
    recovery_pool_full,
    /// Zero-window probes sent (RFC 9293 §3.8.6.1), first or repeated.
    persist_probes,
    /// Connections ended by `persist_timeout`: the window stayed shut (also in `timeouts`).
    persist_timeouts,
    /// Segments with ACK beyond what we sent.
    ack_beyond_sent,
    /// SYNs dropped because the TCB table was full.
    table_full,
    /// Connections that entered TIME-WAIT.
    time_wait_entered,
    /// TIME-WAIT records that expired after 2MSL.
    time_wait_expired,
    /// TIME-WAIT records ended early by an acceptable new SYN (RFC 6191).
    time_wait_reused,
    /// TIME-WAIT records we held that an active open took over (Linux `tcp_tw_reuse`).
    time_wait_reopened,
    /// SYNs answered with an ACK of an older connection (the peer's TIME-WAIT): RST sent, SYN repeated at once.
    tw_collisions,
    /// TIME-WAIT records ended by an RST (the RFC 1337 hazard).
    time_wait_reset,
    /// Segments to no connection and no listener.
    no_connection,
    /// SYN-ACKs sent as SYN cookies because the backlog was full (RFC 4987).
    syn_cookies_sent,
    /// Connections opened by a valid returning cookie.
    syn_cookies_accepted,
    /// ACKs to a listener whose cookie was invalid or stale.
    syn_cookies_rejected,
    /// SYNs dropped because the backlog was full and cookies are off.
    backlog_full,
    /// TIME-WAIT records recycled early because `max_time_wait` was reached.
    time_wait_recycled,
    /// ACKs older than SND.UNA − MAX.SND.WND (RFC 5961 §5.2), dropped.
    ack_too_old,
    /// Segments without ACK or otherwise ignored in their state.
    ignored,
    /// State changes outside RFC 9293 §3.10's edges (a bug; see `Stats::transition`).
    illegal_transitions,
}
