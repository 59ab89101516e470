//! A sample capture (`--pcap FILE --pcap-connections N`): the frames, both
//! ways, of the first connections a worker sees open, kept in memory while
//! the run goes on and written out as one pcap file when it ends.
//!
//! A connection is its 4-tuple, chosen when its opening SYN (SYN without
//! ACK, RFC 9293 §3.5) is sent or received while fewer than the worker's
//! share of N are chosen. From then on only the frames of the chosen tuples
//! are kept, each as it was on the wire, until the connection is over: an
//! RST either way, a new opening SYN on the tuple (another connection, which
//! is not captured), or [`FRAMES_PER_CONNECTION`] frames, so that memory
//! stays bounded. The driver calls [`Capture::sent`] and
//! [`Capture::received`] only when a capture was asked for; once every
//! chosen connection is over, they return at once.

use crate::tcp::{FourTuple, Instant};
use crate::wire::parse_tcp_frame;
use std::collections::hash_map::{Entry, HashMap};

/// Frames kept of one connection at most.
pub const FRAMES_PER_CONNECTION: usize = 64;

/// One frame as it was on the wire, and when (engine time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedFrame {
    pub at: Instant,
    pub bytes: Vec<u8>,
}

/// What a capture file ended up holding.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub connections: usize,
    pub frames: usize,
}

#[derive(Clone, Debug)]
struct Conn {
    /// The sequence number of the opening SYN, and which way it went.
    isn: u32,
    opened_by_us: bool,
    frames: usize,
    open: bool,
}

/// One worker's capture: the connections chosen and their frames so far.
#[derive(Clone, Debug)]
pub struct Capture {
    limit: usize,
    conns: HashMap<FourTuple, Conn>,
    /// Chosen connections not over yet.
    open: usize,
    frames: Vec<CapturedFrame>,
}

impl Capture {
    /// A capture of the first `connections` connections to open.
    pub fn new(connections: usize) -> Self {
        Capture {
            limit: connections,
            conns: HashMap::with_capacity(connections.min(1 << 16)),
            open: 0,
            frames: Vec::new(),
        }
    }

    /// A frame this endpoint transmitted at `now`.
    pub fn sent(&mut self, now: Instant, frame: &[u8]) {
        self.see(now, frame, true);
    }

    /// A frame this endpoint received at `now`.
    pub fn received(&mut self, now: Instant, frame: &[u8]) {
        self.see(now, frame, false);
    }

    /// True once nothing more will be kept: every connection chosen, and
    /// each of them over.
    pub fn is_done(&self) -> bool {
        self.open == 0 && self.conns.len() >= self.limit
    }

    /// Connections chosen so far.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// The frames kept, in the order they were seen.
    pub fn frames(&self) -> &[CapturedFrame] {
        &self.frames
    }

    /// The frames kept, in the order they were seen.
    pub fn into_frames(self) -> Vec<CapturedFrame> {
        self.frames
    }

    fn see(&mut self, now: Instant, frame: &[u8], ours: bool) {
        if self.is_done() {
            return;
        }
        let Ok(f) = parse_tcp_frame(frame, false) else {
            return;
        };
        let (local, remote) = if ours {
            ((f.ip.src, f.tcp.src_port), (f.ip.dst, f.tcp.dst_port))
        } else {
            ((f.ip.dst, f.tcp.dst_port), (f.ip.src, f.tcp.src_port))
        };
        let tuple = FourTuple {
            local_ip: local.0,
            local_port: local.1,
            remote_ip: remote.0,
            remote_port: remote.1,
        };
        let flags = f.tcp.flags;
        let opening = flags.syn() && !flags.ack();
        let seq = f.tcp.seq.0;
        let full = self.conns.len() >= self.limit;
        let conn = match self.conns.entry(tuple) {
            Entry::Occupied(e) => {
                let c = e.into_mut();
                if !c.open {
                    return;
                }
                if opening && c.opened_by_us == ours && c.isn != seq {
                    // Another connection on the same tuple: this one is over.
                    c.open = false;
                    self.open -= 1;
                    return;
                }
                c
            }
            Entry::Vacant(e) => {
                if !opening || full {
                    return;
                }
                self.open += 1;
                e.insert(Conn {
                    isn: seq,
                    opened_by_us: ours,
                    frames: 0,
                    open: true,
                })
            }
        };
        self.frames.push(CapturedFrame {
            at: now,
            bytes: frame.to_vec(),
        });
        conn.frames += 1;
        if flags.rst() || conn.frames >= FRAMES_PER_CONNECTION {
            conn.open = false;
            self.open -= 1;
        }
    }
}

/// The frames of every worker's capture in one list, in time order; frames
/// seen at the same time keep their worker's order.
pub fn merge(captures: impl IntoIterator<Item = Vec<CapturedFrame>>) -> Vec<CapturedFrame> {
    let mut all: Vec<CapturedFrame> = captures.into_iter().flatten().collect();
    all.sort_by_key(|f| f.at);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{emit_tcp_frame, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};
    use std::net::Ipv4Addr;

    const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    /// A frame between our `port` and the peer's port 80, `ours` = sent by us.
    fn frame(ours: bool, port: u16, seq: u32, ack: u32, flags: TcpFlags) -> Vec<u8> {
        let (sp, dp, src, dst) = if ours {
            (port, 80, US, PEER)
        } else {
            (80, port, PEER, US)
        };
        let repr = TcpRepr {
            src_port: sp,
            dst_port: dp,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            flags,
            window: 1000,
            urgent: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        let mut buf = [0u8; 128];
        let n = emit_tcp_frame(&mut buf, MacAddr([1; 6]), MacAddr([2; 6]), src, dst, &repr);
        buf[..n].to_vec()
    }

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// A handshake on `port`: SYN out, SYN-ACK in, ACK out.
    fn handshake(c: &mut Capture, at: u64, port: u16) {
        let x = u32::from(port) * 1000;
        c.sent(t(at), &frame(true, port, x, 0, TcpFlags::SYN));
        let synack = TcpFlags::SYN | TcpFlags::ACK;
        c.received(t(at + 1), &frame(false, port, 7, x + 1, synack));
        c.sent(t(at + 1), &frame(true, port, x + 1, 8, TcpFlags::ACK));
    }

    fn ports(c: &Capture) -> Vec<u16> {
        c.frames()
            .iter()
            .map(|f| {
                let p = parse_tcp_frame(&f.bytes, true).unwrap();
                if p.ip.src == US {
                    p.tcp.src_port
                } else {
                    p.tcp.dst_port
                }
            })
            .collect()
    }

    #[test]
    fn keeps_both_directions_of_the_first_n_connections_only() {
        let mut c = Capture::new(2);
        for (i, port) in [1001, 1002, 1003, 1004].into_iter().enumerate() {
            handshake(&mut c, i as u64 * 10, port);
        }
        assert_eq!(c.connections(), 2);
        assert_eq!(ports(&c), [1001, 1001, 1001, 1002, 1002, 1002]);
        // Later frames of a chosen connection are still kept, others not.
        c.received(t(50), &frame(false, 1003, 8, 1, TcpFlags::ACK));
        c.received(t(50), &frame(false, 1001, 8, 1, TcpFlags::ACK));
        assert_eq!(ports(&c).last(), Some(&1001));
        assert_eq!(c.frames().len(), 7);
        assert_eq!(c.frames()[1].at, t(1));
    }

    #[test]
    fn frames_before_the_opening_syn_choose_nothing() {
        let mut c = Capture::new(1);
        c.received(t(0), &frame(false, 1001, 5, 5, TcpFlags::ACK));
        c.sent(t(0), &frame(true, 1001, 5, 5, TcpFlags::RST));
        c.received(t(0), b"not a frame");
        assert_eq!(c.connections(), 0);
        assert!(c.frames().is_empty());
        handshake(&mut c, 1, 1002);
        assert_eq!(ports(&c), [1002; 3]);
    }

    #[test]
    fn a_retransmitted_syn_is_kept_a_new_connection_on_the_tuple_is_not() {
        let mut c = Capture::new(1);
        c.sent(t(0), &frame(true, 1001, 100, 0, TcpFlags::SYN));
        c.sent(t(1000), &frame(true, 1001, 100, 0, TcpFlags::SYN));
        assert_eq!(c.frames().len(), 2);
        // The same tuple, a later connection (another ISN): not captured,
        // and the chosen one is over.
        c.sent(t(5000), &frame(true, 1001, 9000, 0, TcpFlags::SYN));
        assert!(c.is_done());
        c.received(
            t(5001),
            &frame(false, 1001, 1, 9001, TcpFlags::SYN | TcpFlags::ACK),
        );
        assert_eq!(c.frames().len(), 2);
    }

    #[test]
    fn an_rst_ends_a_connection_and_the_frame_cap_bounds_one() {
        let mut c = Capture::new(2);
        handshake(&mut c, 0, 1001);
        c.received(t(5), &frame(false, 1001, 8, 1001 * 1000 + 1, TcpFlags::RST));
        c.sent(t(6), &frame(true, 1001, 1, 1, TcpFlags::ACK));
        assert_eq!(c.frames().len(), 4, "nothing after the RST");
        assert!(!c.is_done(), "a second connection may still be chosen");
        handshake(&mut c, 10, 1002);
        for i in 0..100 {
            c.sent(t(20 + i), &frame(true, 1002, 1, 1, TcpFlags::ACK));
        }
        assert_eq!(c.frames().len(), 4 + FRAMES_PER_CONNECTION);
        assert!(c.is_done());
    }

    #[test]
    fn a_syn_received_opens_a_connection_too() {
        // A server's capture: the peer's SYN chooses the tuple.
        let mut c = Capture::new(1);
        c.received(t(0), &frame(false, 1001, 7, 0, TcpFlags::SYN));
        c.sent(
            t(0),
            &frame(true, 1001, 100, 8, TcpFlags::SYN | TcpFlags::ACK),
        );
        c.received(t(1), &frame(false, 1002, 7, 0, TcpFlags::SYN));
        assert_eq!(ports(&c), [1001, 1001]);
    }

    #[test]
    fn a_capture_of_none_keeps_nothing() {
        let mut c = Capture::new(0);
        assert!(c.is_done());
        handshake(&mut c, 0, 1001);
        assert!(c.frames().is_empty());
    }

    #[test]
    fn merge_orders_by_time_and_keeps_ties_in_worker_order() {
        let f = |ms, b: u8| CapturedFrame {
            at: t(ms),
            bytes: vec![b],
        };
        let merged = merge([vec![f(1, 1), f(3, 2), f(3, 3)], vec![f(2, 4), f(3, 5)]]);
        let order: Vec<u8> = merged.iter().map(|f| f.bytes[0]).collect();
        assert_eq!(order, [1, 4, 2, 3, 5]);
    }
}
