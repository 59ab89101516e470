//! What the engine tells the application.

use super::{FourTuple, Instant};
use crate::wire::SeqNumber;
use core::fmt;

/// A handle to one connection, stable for its life and never reused for
/// another (the slot's generation changes when it is freed).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// Why a connection gave up waiting.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TimeoutReason {
    /// SYN or SYN-ACK retransmissions exhausted (RFC 9293 §3.8.1 R2 for SYN).
    Handshake,
    /// Data or FIN retransmissions exhausted (RFC 9293 §3.8.3 R2).
    Retransmit,
    /// The peer never sent its FIN while we sat in FIN-WAIT-2.
    FinWait2,
    /// The peer answered our zero-window probes but kept its window shut
    /// past `Config::persist_timeout` (RFC 6429).
    Persist,
}

/// What happened. Every connection the application knows of (one it opened,
/// or one it was told was accepted) ends with exactly one of `Closed`,
/// `Reset`, `Refused` or `TimedOut`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Our active open completed (RFC 9293 §3.5).
    Connected,
    /// A passive open completed: the handshake's final ACK arrived.
    Accepted,
    /// In-order bytes arrived; read them with [`Events::data`].
    Data { start: u32, len: u32 },
    /// The peer's FIN arrived: no more data will come.
    PeerClosed,
    /// Closed in order (the TCB is gone; TIME-WAIT, if any, is the engine's).
    Closed,
    /// The peer reset an established connection (RFC 9293 §3.10.7.4, RFC 5961 §3.2).
    Reset,
    /// The peer answered our SYN with RST: nothing listens there.
    Refused,
    /// Retransmissions or a state timer ran out.
    TimedOut(TimeoutReason),
}

impl EventKind {
    /// True for the one event that ends a connection.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            EventKind::Closed | EventKind::Reset | EventKind::Refused | EventKind::TimedOut(_)
        )
    }
}

/// One event, with the connection it concerns and when it happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub conn: ConnId,
    pub tuple: FourTuple,
    pub kind: EventKind,
    pub at: Instant,
    /// The highest sequence number we had sent, plus one, when it happened.
    /// A new connection on the same tuple must start beyond it for the
    /// peer's TIME-WAIT to take its SYN as new (RFC 9293 §3.4.1, RFC 6191).
    pub snd_nxt: SeqNumber,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.tuple, self.kind)
    }
}

/// A batch of events and the bytes their `Data` events refer to. The
/// application swaps an empty one in with `Engine::swap_events` and reads this
/// one while it issues commands to the engine.
#[derive(Clone, Debug, Default)]
pub struct Events {
    list: Vec<Event>,
    data: Vec<u8>,
}

impl Events {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn push(&mut self, event: Event) {
        self.list.push(event);
    }

    /// Records received bytes and returns the kind that refers to them.
    pub(crate) fn push_data(&mut self, bytes: &[u8]) -> EventKind {
        let start = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        EventKind::Data {
            start,
            len: bytes.len() as u32,
        }
    }

    /// Records received bytes that arrive in pieces (a segment and the
    /// out-of-order text it joined up with) as one event.
    pub(crate) fn push_data_parts(&mut self, parts: &[&[u8]]) -> EventKind {
        let start = self.data.len() as u32;
        for p in parts {
            self.data.extend_from_slice(p);
        }
        EventKind::Data {
            start,
            len: self.data.len() as u32 - start,
        }
    }

    /// The events in the order they happened.
    pub fn iter(&self) -> core::slice::Iter<'_, Event> {
        self.list.iter()
    }

    /// The bytes of a `Data` event; empty for other kinds.
    pub fn data(&self, kind: &EventKind) -> &[u8] {
        match *kind {
            EventKind::Data { start, len } => {
                &self.data[start as usize..start as usize + len as usize]
            }
            _ => &[],
        }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when no event is queued.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Forgets every event and byte, keeping the allocations.
    pub fn clear(&mut self) {
        self.list.clear();
        self.data.clear();
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = core::slice::Iter<'a, Event>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}
