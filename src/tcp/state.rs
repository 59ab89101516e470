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
