//! TIME-WAIT as a compact record, not a TCB (as Linux's inet_timewait_sock):
//! only what is needed to re-ACK a retransmitted FIN and to judge a new SYN.

use super::{timer::TimerHandle, FourTuple, Instant};
use crate::wire::{MacAddr, SeqNumber};

/// One connection in TIME-WAIT (RFC 9293 §3.6.1, RFC 6191).
#[derive(Clone, Debug)]
pub(crate) struct TimeWait {
    pub tuple: FourTuple,
    pub peer_mac: MacAddr,
    /// Timestamps were in use: TSval/TSecr go on our re-ACKs and judge new SYNs.
    pub ts_ok: bool,
    pub rcv_wscale: u8,
    pub snd_nxt: SeqNumber,
    pub rcv_nxt: SeqNumber,
    pub ts_recent: u32,
    pub ts_offset: u32,
    /// When it entered TIME-WAIT, or last re-ACKed a retransmitted FIN: an
    /// active open may reuse the tuple a while after (Linux `tcp_tw_reuse`).
    pub entered: Instant,
    /// As the TCB's: the last challenge or out-of-window ACK, in ms.
    pub last_oow_ack: u32,
    /// Order of entry, to find the oldest record when the table is full.
    pub stamp: u32,
    pub timer: Option<TimerHandle>,
}

impl TimeWait {
    /// RFC 6191 §2: a SYN may reopen the tuple when its timestamp is newer
    /// than the last seen. Where either incarnation lacks timestamps —
    /// the old one had none, or the new SYN carries none — the sequence
    /// number decides: beyond the old connection's (RFC 9293 §3.6.1, RFC
    /// 1122 4.2.2.13).
    pub fn accepts_new_syn(&self, seq: SeqNumber, tsval: Option<u32>) -> bool {
        match (self.ts_ok, tsval) {
            (true, Some(ts)) => (ts.wrapping_sub(self.ts_recent) as i32) > 0,
            _ => seq > self.rcv_nxt,
        }
    }

    /// ISS for a connection that replaces this one: past anything the old one
    /// sent, so old duplicates cannot be taken for new data (as Linux does).
    pub fn next_iss(&self) -> SeqNumber {
        self.snd_nxt + 65535 + 2
    }
}
