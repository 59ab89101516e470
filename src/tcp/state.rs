//! Connection states, named exactly as RFC 9293 §3.3.2 names them.

use core::fmt;

/// The state of one connection (RFC 9293 §3.3.2, Figure 5).
///
/// `Listen` belongs to listeners and `TimeWait` to the compact TIME-WAIT
/// records; a full TCB is in one of the other nine.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl State {
    /// Every state, in declaration order: `ALL[s.index()] == s`.
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// Position in [`State::ALL`], for tables indexed by state.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether RFC 9293 §3.10 lets a connection go from `self` to `to`:
    /// Figure 5's edges, and those it leaves out — RST, ABORT and user
    /// timeouts to CLOSED from any state, a passive SYN-RECEIVED back to
    /// LISTEN on RST (§3.10.7.4 second), CLOSE in LISTEN or SYN-SENT
    /// (§3.10.4), a FIN in SYN-RECEIVED (§3.10.7.4 eighth) and
    /// FIN-WAIT-1 straight to TIME-WAIT when the FIN's ACK and the peer's
    /// FIN arrive together.
    #[inline]
    pub const fn may_become(self, to: State) -> bool {
        ALLOWED[self.index()] & (1 << to.index()) != 0
    }
    /// True once the connection is synchronized (RFC 9293 §3.5: both ISNs are
    /// known), which decides how RST, SYN and unacceptable segments are handled.
    pub fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent)
    }

    /// States in which segment text is still delivered (RFC 9293 §3.10.7.4, seventh).
    pub fn receives_data(self) -> bool {
        matches!(self, State::Established | State::FinWait1 | State::FinWait2)
    }

    /// States in which the application may still queue data to send.
    pub fn can_send(self) -> bool {
        matches!(
            self,
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        })
    }
}

const fn edges(to: &[State]) -> u16 {
    let mut bits = 0;
    let mut i = 0;
    while i < to.len() {
        bits |= 1 << to[i].index();
        i += 1;
    }
    bits
}

/// `ALLOWED[from]` has bit `to` set for each edge of [`State::may_become`].
const ALLOWED: [u16; 11] = {
    use State::*;
    [
        // CLOSED: OPEN, active or passive.
        edges(&[SynSent, Listen]),
        // LISTEN: a SYN; SEND makes it active (§3.10.2); CLOSE.
        edges(&[SynReceived, SynSent, Closed]),
        // SYN-SENT: SYN-ACK, or a SYN alone (simultaneous open); CLOSE,
        // RST, ABORT, timeout.
        edges(&[Established, SynReceived, Closed]),
        // SYN-RECEIVED: ACK; CLOSE; FIN; RST of a passive open; the rest.
        edges(&[Established, FinWait1, CloseWait, Listen, Closed]),
        // ESTABLISHED: CLOSE; FIN.
        edges(&[FinWait1, CloseWait, Closed]),
        // FIN-WAIT-1: our FIN ACKed; the peer's FIN, before or with it.
        edges(&[FinWait2, Closing, TimeWait, Closed]),
        // FIN-WAIT-2: the peer's FIN; the FIN-WAIT-2 timeout.
        edges(&[TimeWait, Closed]),
        // CLOSE-WAIT: CLOSE.
        edges(&[LastAck, Closed]),
        // CLOSING: our FIN ACKed.
        edges(&[TimeWait, Closed]),
        // LAST-ACK: our FIN ACKed.
        edges(&[Closed]),
        // TIME-WAIT: 2MSL, RST (unless RFC 1337), a new SYN or open.
        edges(&[Closed]),
    ]
};
