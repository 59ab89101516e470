//! Transition tests, each a short packet trace naming the rule it checks.
//! The peer is played by hand: `send` feeds a segment from it, `recv`
//! collects what the engine transmits.

use super::*;
use crate::wire::{self, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const PEER: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40000);
const PEER_ISS: u32 = 5000;

/// A segment with owned payload, as sent or received in a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seg {
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    options: TcpOptions,
    payload: Vec<u8>,
}

fn seg(seq: u32, ack: u32, flags: TcpFlags) -> Seg {
    Seg {
        seq,
        ack,
        flags,
        window: 65535,
        options: TcpOptions::default(),
        payload: Vec::new(),
    }
}

impl Seg {
    fn data(mut self, bytes: &[u8]) -> Self {
        self.payload = bytes.to_vec();
        self
    }
    fn options(mut self, options: TcpOptions) -> Self {
        self.options = options;
        self
    }
}

const SYN: TcpFlags = TcpFlags::SYN;
const ACK: TcpFlags = TcpFlags::ACK;
const FIN: TcpFlags = TcpFlags::FIN;
const RST: TcpFlags = TcpFlags::RST;

fn syn_ack() -> TcpFlags {
    SYN | ACK
}
fn fin_ack() -> TcpFlags {
    FIN | ACK
}

struct Harness {
    engine: Engine,
    now: Instant,
    events: Events,
    tx: FrameBatch,
}

fn config() -> Config {
    Config {
        timestamps: false,
        window_scale: 0,
        rcv_wnd: 65535,
        ..Config::default()
    }
}

impl Harness {
    fn new(cfg: Config) -> Self {
        let now = Instant::from_millis(10_000);
        Harness {
            engine: Engine::new(cfg, US, [9; 16], now).unwrap(),
            now,
            events: Events::new(),
            tx: FrameBatch::new(),
        }
    }

    fn listening() -> Self {
        let mut h = Harness::new(config());
        h.engine.listen(LOCAL).unwrap();
        h
    }

    /// Feeds one segment from the peer, then collects events.
    fn send(&mut self, s: Seg) {
        let repr = TcpRepr {
            src_port: REMOTE.port(),
            dst_port: LOCAL.port(),
            seq: SeqNumber(s.seq),
            ack: SeqNumber(s.ack),
            flags: s.flags,
            window: s.window,
            urgent: 0,
            options: s.options,
            payload: &s.payload,
        };
        let mut buf = vec![0; 2048];
        let n = wire::emit_tcp_frame(&mut buf, PEER, US, *REMOTE.ip(), *LOCAL.ip(), &repr);
        self.engine
            .handle_frames(self.now, [&buf[..n]], &mut self.tx);
        self.collect_events();
    }

    fn collect_events(&mut self) {
        let mut fresh = Events::new();
        self.engine.swap_events(&mut fresh);
        for ev in fresh.iter() {
            let kind = match ev.kind {
                EventKind::Data { .. } => self.events.push_data(fresh.data(&ev.kind)),
                k => k,
            };
            self.events.push(Event { kind, ..*ev });
        }
    }

    /// Everything transmitted since the last call, after `poll_transmit`.
    fn recv(&mut self) -> Vec<Seg> {
        self.engine.poll_transmit(self.now, &mut self.tx);
        let out = self
            .tx
            .iter()
            .map(|frame| {
                let f = wire::parse_tcp_frame(frame, true).expect("engine emitted a bad frame");
                assert_eq!((f.eth.src, f.eth.dst), (US, PEER));
                assert_eq!((f.ip.src, f.ip.dst), (*LOCAL.ip(), *REMOTE.ip()));
                Seg {
                    seq: f.tcp.seq.0,
                    ack: f.tcp.ack.0,
                    flags: f.tcp.flags,
                    window: f.tcp.window,
                    options: f.tcp.options,
                    payload: f.tcp.payload.to_vec(),
                }
            })
            .collect();
        self.tx.clear();
        out
    }

    fn recv_one(&mut self) -> Seg {
        let mut v = self.recv();
        assert_eq!(v.len(), 1, "expected one segment, got {v:?}");
        v.pop().unwrap()
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.engine.handle_timeout(self.now, &mut self.tx);
        self.collect_events();
    }

    /// The connection of the last event.
    fn events_conn(&self) -> ConnId {
        self.events.iter().last().expect("no event").conn
    }

    fn kinds(&mut self) -> Vec<EventKind> {
        let v = self.events.iter().map(|e| e.kind).collect();
        self.events.clear();
        v
    }

    /// Passive open completed; returns (our ISS, the connection).
    fn accepted() -> (Harness, u32, ConnId) {
        Harness::new_accepted(config())
    }

    /// Passive open completed under `cfg`.
    fn new_accepted(cfg: Config) -> (Harness, u32, ConnId) {
        let mut h = Harness::new(cfg);
        h.engine.listen(LOCAL).unwrap();
        h.send(seg(PEER_ISS, 0, SYN));
        let sa = h.recv_one();
        h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
        let ev = h.events.iter().next().copied().unwrap();
        assert_eq!(ev.kind, EventKind::Accepted);
        h.events.clear();
        (h, sa.seq + 1, ev.conn)
    }

    /// Active open completed; returns (our next seq, the connection).
    fn connected() -> (Harness, u32, ConnId) {
        let mut h = Harness::new(config());
        let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
        let s = h.recv_one();
        h.send(seg(PEER_ISS, s.seq + 1, syn_ack()));
        assert_eq!(h.kinds(), vec![EventKind::Connected]);
        let a = h.recv_one();
        assert_eq!((a.seq, a.ack, a.flags), (s.seq + 1, PEER_ISS + 1, ACK));
        (h, s.seq + 1, c)
    }
}

#[test]
fn rfc9293_3_10_7_1_syn_to_closed_port_gets_rst_ack() {
    let mut h = Harness::new(config());
    h.send(seg(100, 0, SYN));
    let r = h.recv_one();
    assert_eq!((r.seq, r.ack, r.flags), (0, 101, RST | ACK));
}

#[test]
fn rfc9293_3_10_7_1_ack_to_closed_port_gets_rst_at_seg_ack() {
    let mut h = Harness::new(config());
    h.send(seg(100, 777, ACK).data(b"xyz"));
    let r = h.recv_one();
    assert_eq!((r.seq, r.flags), (777, RST));
}

#[test]
fn rfc9293_3_10_7_1_rst_to_closed_port_is_not_answered() {
    let mut h = Harness::new(config());
    h.send(seg(100, 0, RST));
    assert!(h.recv().is_empty());
    assert_eq!(h.engine.stats().no_connection, 1);
}

#[test]
fn rfc9293_3_10_7_2_listen_answers_syn_with_syn_ack_and_accepts_on_ack() {
    let mut h = Harness::listening();
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        mss: Some(1200),
        ..Default::default()
    }));
    let sa = h.recv_one();
    assert_eq!((sa.ack, sa.flags), (PEER_ISS + 1, syn_ack()));
    assert_eq!(sa.options.mss, Some(1460));
    assert!(
        h.kinds().is_empty(),
        "accepted before the handshake completed"
    );
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    assert_eq!(h.kinds(), vec![EventKind::Accepted]);
    assert_eq!(h.engine.tcb_count(), 1);
}

#[test]
fn rfc9293_3_10_7_2_ack_to_listener_gets_rst() {
    let mut h = Harness::listening();
    h.send(seg(PEER_ISS, 4242, ACK));
    let r = h.recv_one();
    assert_eq!((r.seq, r.flags), (4242, RST));
    assert_eq!(h.engine.tcb_count(), 0);
}

#[test]
fn rfc9293_3_10_7_4_syn_received_bad_ack_gets_rst() {
    let mut h = Harness::listening();
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 9, ACK));
    let r = h.recv_one();
    assert_eq!((r.seq, r.flags), (sa.seq + 9, RST));
    assert!(h.kinds().is_empty());
}

#[test]
fn rfc9293_3_8_1_duplicate_syn_in_syn_received_repeats_syn_ack() {
    let mut h = Harness::listening();
    h.send(seg(PEER_ISS, 0, SYN));
    let first = h.recv_one();
    h.send(seg(PEER_ISS, 0, SYN));
    let again = h.recv_one();
    assert_eq!(
        (again.seq, again.ack, again.flags),
        (first.seq, first.ack, syn_ack())
    );
    assert_eq!(h.engine.tcb_count(), 1);
}

#[test]
fn rfc9293_3_10_7_3_syn_ack_completes_active_open() {
    let (h, _, c) = Harness::connected();
    assert_eq!(h.engine.state(c), Some(State::Established));
}

#[test]
fn rfc9293_3_10_7_3_stale_syn_ack_is_reset_not_a_connection() {
    let mut h = Harness::new(config());
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let s = h.recv_one();
    h.send(seg(PEER_ISS, s.seq + 7, syn_ack()));
    let r = h.recv_one();
    assert_eq!((r.seq, r.flags), (s.seq + 7, RST));
    assert!(h.kinds().is_empty());
    assert_eq!(h.engine.state(c), Some(State::SynSent));
    assert_eq!(h.engine.stats().bad_syn_acks, 1);
}

#[test]
fn rfc9293_3_10_7_3_rst_ack_in_syn_sent_is_refused() {
    let mut h = Harness::new(config());
    h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let s = h.recv_one();
    h.send(seg(0, s.seq + 1, RST | ACK));
    assert_eq!(h.kinds(), vec![EventKind::Refused]);
    assert_eq!(h.engine.tcb_count(), 0);
}

#[test]
fn rfc9293_3_10_7_3_rst_without_ack_in_syn_sent_is_ignored() {
    let mut h = Harness::new(config());
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    h.recv_one();
    h.send(seg(0, 0, RST));
    assert!(h.kinds().is_empty());
    assert_eq!(h.engine.state(c), Some(State::SynSent));
}

#[test]
fn rfc9293_3_5_simultaneous_open() {
    let mut h = Harness::new(config());
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let s = h.recv_one();
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    assert_eq!((sa.seq, sa.ack, sa.flags), (s.seq, PEER_ISS + 1, syn_ack()));
    assert_eq!(h.engine.state(c), Some(State::SynReceived));
    h.send(seg(PEER_ISS, s.seq + 1, syn_ack()));
    assert_eq!(h.kinds(), vec![EventKind::Connected]);
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (s.seq + 1, PEER_ISS + 1, ACK));
    assert_eq!(h.engine.state(c), Some(State::Established));
}

#[test]
fn rfc6298_syn_retransmits_with_backoff_then_times_out() {
    let mut h = Harness::new(Config {
        syn_retries: 3,
        ..config()
    });
    h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let s = h.recv_one();
    for rto in [1u64, 2, 4] {
        h.advance(Duration::from_millis(rto * 1000 - 1));
        assert!(
            h.recv().is_empty(),
            "retransmitted before the RTO of {rto} s"
        );
        h.advance(Duration::from_millis(1));
        let again = h.recv_one();
        assert_eq!((again.seq, again.flags), (s.seq, SYN));
    }
    h.advance(Duration::from_secs(8));
    assert_eq!(
        h.kinds(),
        vec![EventKind::TimedOut(TimeoutReason::Handshake)]
    );
    assert_eq!(h.engine.tcb_count(), 0);
}

#[test]
fn rfc9293_3_6_active_close_waits_2msl_in_time_wait() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    let f = h.recv_one();
    assert_eq!((f.seq, f.ack, f.flags), (iss1, PEER_ISS + 1, fin_ack()));
    assert_eq!(h.engine.state(c), Some(State::FinWait1));
    h.send(seg(PEER_ISS + 1, iss1 + 1, ACK));
    assert_eq!(h.engine.state(c), Some(State::FinWait2));
    h.send(seg(PEER_ISS + 1, iss1 + 1, fin_ack()));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss1 + 1, PEER_ISS + 2, ACK));
    assert_eq!(h.kinds(), vec![EventKind::PeerClosed, EventKind::Closed]);
    assert_eq!((h.engine.tcb_count(), h.engine.time_wait_count()), (0, 1));
    h.advance(Duration::from_secs(60) - Duration::from_millis(1));
    assert_eq!(h.engine.time_wait_count(), 1);
    h.advance(Duration::from_millis(2));
    assert_eq!(h.engine.time_wait_count(), 0);
}

#[test]
fn rfc9293_3_10_7_4_retransmitted_fin_in_time_wait_is_reacked_and_restarts_2msl() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss1 + 1, fin_ack()));
    h.recv_one();
    h.advance(Duration::from_secs(30));
    h.send(seg(PEER_ISS + 1, iss1 + 1, fin_ack()));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss1 + 1, PEER_ISS + 2, ACK));
    h.advance(Duration::from_secs(59));
    assert_eq!(h.engine.time_wait_count(), 1, "2MSL was not restarted");
    h.advance(Duration::from_secs(2));
    assert_eq!(h.engine.time_wait_count(), 0);
}

#[test]
fn rfc9293_3_6_passive_close_through_close_wait_and_last_ack() {
    let (mut h, iss1, c) = Harness::accepted();
    h.send(seg(PEER_ISS + 1, iss1, fin_ack()));
    assert_eq!(h.kinds(), vec![EventKind::PeerClosed]);
    assert_eq!(h.engine.state(c), Some(State::CloseWait));
    // The ACK of the FIN rides on our FIN when the application closes at once.
    h.engine.close(c, h.now).unwrap();
    let f = h.recv_one();
    assert_eq!((f.seq, f.ack, f.flags), (iss1, PEER_ISS + 2, fin_ack()));
    assert_eq!(h.engine.state(c), Some(State::LastAck));
    h.send(seg(PEER_ISS + 2, iss1 + 1, ACK));
    assert_eq!(h.kinds(), vec![EventKind::Closed]);
    assert_eq!((h.engine.tcb_count(), h.engine.time_wait_count()), (0, 0));
}

#[test]
fn rfc9293_3_6_simultaneous_close_goes_through_closing() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    // The peer's FIN crosses ours: it does not acknowledge our FIN.
    h.send(seg(PEER_ISS + 1, iss1, fin_ack()));
    assert_eq!(h.engine.state(c), Some(State::Closing));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss1 + 1, PEER_ISS + 2, ACK));
    h.send(seg(PEER_ISS + 2, iss1 + 1, ACK));
    assert_eq!(h.kinds(), vec![EventKind::PeerClosed, EventKind::Closed]);
    assert_eq!(h.engine.time_wait_count(), 1);
}

#[test]
fn rfc9293_3_6_half_close_data_flows_both_ways_after_fin() {
    let (mut h, iss1, c) = Harness::accepted();
    // Peer closes; we keep sending in CLOSE-WAIT.
    h.send(seg(PEER_ISS + 1, iss1, fin_ack()));
    h.engine.send(c, b"late reply").unwrap();
    let d = h.recv_one();
    assert_eq!(
        (d.seq, d.ack, d.payload.as_slice()),
        (iss1, PEER_ISS + 2, &b"late reply"[..])
    );
    // We close; the peer keeps sending to us in FIN-WAIT-2 (the other way round).
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss1 + 1, ACK));
    h.send(seg(PEER_ISS + 1, iss1 + 1, ACK).data(b"more"));
    let kinds = h.kinds();
    assert!(matches!(kinds[..], [EventKind::Data { .. }]));
    assert_eq!(h.engine.state(c), Some(State::FinWait2));
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 5);
}

#[test]
fn rfc9293_3_8_3_fin_is_retransmitted_until_acked() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.advance(Duration::from_secs(1));
    let f = h.recv_one();
    assert_eq!((f.seq, f.flags), (iss1, fin_ack()));
}

#[test]
fn rfc5961_3_2_rst_at_rcv_nxt_resets() {
    let (mut h, _, _) = Harness::accepted();
    h.send(seg(PEER_ISS + 1, 0, RST));
    assert_eq!(h.kinds(), vec![EventKind::Reset]);
    assert_eq!(h.engine.tcb_count(), 0);
}

#[test]
fn rfc5961_3_2_rst_in_window_gets_challenge_ack() {
    let (mut h, iss1, c) = Harness::accepted();
    h.send(seg(PEER_ISS + 100, 0, RST));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss1, PEER_ISS + 1, ACK));
    assert_eq!(h.engine.state(c), Some(State::Established));
    assert_eq!(h.engine.stats().challenge_acks, 1);
}

#[test]
fn rfc5961_3_2_rst_out_of_window_is_dropped() {
    let (mut h, _, c) = Harness::accepted();
    h.send(seg(PEER_ISS + 1_000_000, 0, RST));
    assert!(h.recv().is_empty());
    assert_eq!(h.engine.state(c), Some(State::Established));
}

#[test]
fn rfc5961_4_2_syn_in_established_gets_challenge_ack() {
    let (mut h, iss1, c) = Harness::accepted();
    h.send(seg(PEER_ISS + 10, 0, SYN));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss1, PEER_ISS + 1, ACK));
    assert_eq!(h.engine.state(c), Some(State::Established));
}

#[test]
fn rfc5961_7_challenge_acks_are_rate_limited() {
    // The global limit alone: off by default, and the per-connection one
    // would stop all but the first.
    let mut h = Harness::new(Config {
        challenge_ack_limit: 50,
        oow_ack_interval: Duration::ZERO,
        ..config()
    });
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    let limit = h.engine.config().challenge_ack_limit as usize;
    for i in 0..limit + 10 {
        h.send(seg(PEER_ISS + 2 + i as u32, 0, RST));
    }
    assert_eq!(h.recv().len(), limit);
    assert_eq!(h.engine.stats().challenge_acks_limited, 10);
}

#[test]
fn rfc9293_3_10_7_4_unacceptable_segment_gets_ack() {
    let (mut h, iss1, _) = Harness::accepted();
    h.send(seg(PEER_ISS - 100, iss1, ACK).data(b"old"));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss1, PEER_ISS + 1, ACK));
    assert!(h.kinds().is_empty());
}

#[test]
fn rfc9293_3_10_7_4_ack_beyond_snd_nxt_is_acked_and_dropped() {
    let (mut h, iss1, _) = Harness::accepted();
    h.send(seg(PEER_ISS + 1, iss1 + 50, ACK).data(b"x"));
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 1, "data of a bad-ACK segment was taken");
    assert!(h.kinds().is_empty());
}

#[test]
fn rfc9293_3_10_7_4_data_is_delivered_once_and_acked() {
    let (mut h, iss1, _) = Harness::accepted();
    h.send(seg(PEER_ISS + 1, iss1, ACK).data(b"hello"));
    h.send(seg(PEER_ISS + 1, iss1, ACK).data(b"hello world"));
    let mut got = Vec::new();
    for ev in h.events.iter() {
        got.extend_from_slice(h.events.data(&ev.kind));
    }
    assert_eq!(got, b"hello world");
    // One deferred ACK covers both segments.
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 12);
}

#[test]
fn rfc9293_3_10_7_4_out_of_order_data_is_dropped_and_acked() {
    let (mut h, iss1, _) = Harness::accepted();
    h.send(seg(PEER_ISS + 6, iss1, ACK).data(b"world"));
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 1);
    assert!(h.kinds().is_empty());
    assert_eq!(h.engine.stats().out_of_order, 1);
}

#[test]
fn rfc9293_3_7_1_segments_respect_the_peer_mss() {
    let mut h = Harness::listening();
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        mss: Some(1000),
        ..Default::default()
    }));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    let c = h.events.iter().next().unwrap().conn;
    h.engine.send(c, &[7u8; 3500]).unwrap();
    let segs = h.recv();
    let sizes: Vec<usize> = segs.iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, vec![1000, 1000, 1000, 500]);
    assert_eq!(segs[1].seq, sa.seq + 1001);
}

#[test]
fn rfc6298_5_data_is_retransmitted_on_rto_from_snd_una() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.send(c, b"request").unwrap();
    h.recv_one();
    h.advance(Duration::from_secs(1));
    let r = h.recv_one();
    assert_eq!((r.seq, r.payload.as_slice()), (iss1, &b"request"[..]));
    h.send(seg(PEER_ISS + 1, iss1 + 7, ACK));
    h.advance(Duration::from_secs(10));
    assert!(h.recv().is_empty(), "retransmitted after the ACK");
}

#[test]
fn rfc7323_window_scale_and_timestamps_are_negotiated() {
    let mut h = Harness::new(Config::default());
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        mss: Some(1460),
        window_scale: Some(2),
        sack_permitted: true,
        timestamps: Some((777, 0)),
    }));
    let sa = h.recv_one();
    assert_eq!(sa.options.window_scale, Some(7));
    assert_eq!(sa.options.timestamps.map(|t| t.1), Some(777));
    assert!(
        !sa.options.sack_permitted,
        "SACK offered but not implemented"
    );
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(TcpOptions {
        timestamps: Some((778, sa.options.timestamps.unwrap().0)),
        ..Default::default()
    }));
    assert_eq!(h.kinds(), vec![EventKind::Accepted]);
}

#[test]
fn rfc7323_5_paws_drops_an_old_timestamp() {
    let mut h = Harness::new(Config::default());
    h.engine.listen(LOCAL).unwrap();
    let ts = |v| TcpOptions {
        timestamps: Some((v, 0)),
        ..Default::default()
    };
    h.send(seg(PEER_ISS, 0, SYN).options(ts(1000)));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(ts(1001)));
    h.kinds();
    h.send(
        seg(PEER_ISS + 1, sa.seq + 1, ACK)
            .options(ts(900))
            .data(b"old"),
    );
    assert!(h.kinds().is_empty());
    assert_eq!(h.engine.stats().paws_rejected, 1);
}

/// Server closes first, so the server holds TIME-WAIT.
fn server_in_time_wait(cfg: Config) -> (Harness, u32) {
    let mut h = Harness::new(cfg);
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    let c = h.events.iter().next().unwrap().conn;
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 2, fin_ack()));
    h.recv_one();
    assert_eq!(h.engine.time_wait_count(), 1);
    h.events.clear();
    (h, sa.seq + 2)
}

#[test]
fn rfc6191_new_syn_above_rcv_nxt_reopens_a_tuple_in_time_wait() {
    let (mut h, snd_nxt) = server_in_time_wait(config());
    h.send(seg(PEER_ISS + 100_000, 0, SYN));
    let sa = h.recv_one();
    assert_eq!((sa.ack, sa.flags), (PEER_ISS + 100_001, syn_ack()));
    assert!(
        (SeqNumber(sa.seq) - SeqNumber(snd_nxt)) > 0,
        "new ISS not above the old SND.NXT"
    );
    assert_eq!((h.engine.tcb_count(), h.engine.time_wait_count()), (1, 0));
    assert_eq!(h.engine.stats().time_wait_reused, 1);
}

#[test]
fn rfc6191_old_syn_in_time_wait_gets_ack_not_a_connection() {
    let (mut h, snd_nxt) = server_in_time_wait(config());
    h.send(seg(PEER_ISS, 0, SYN));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (snd_nxt, PEER_ISS + 2, ACK));
    assert_eq!((h.engine.tcb_count(), h.engine.time_wait_count()), (0, 1));
}

#[test]
fn rfc1337_option_ignores_rst_in_time_wait() {
    let (mut h, _) = server_in_time_wait(Config {
        rfc1337: true,
        ..config()
    });
    h.send(seg(PEER_ISS + 2, 0, RST));
    assert_eq!(h.engine.time_wait_count(), 1);
    let (mut h, _) = server_in_time_wait(config());
    h.send(seg(PEER_ISS + 2, 0, RST));
    assert_eq!(h.engine.time_wait_count(), 0);
}

#[test]
fn rfc9293_3_10_5_abort_sends_rst_and_ends_the_connection() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.abort(c, h.now).unwrap();
    h.collect_events();
    assert_eq!(h.kinds(), vec![EventKind::Closed]);
    let r = h.recv_one();
    assert_eq!((r.seq, r.flags), (iss1, RST | ACK));
    assert_eq!(h.engine.tcb_count(), 0);
    assert_eq!(h.engine.send(c, b"x"), Err(EngineError::UnknownConnection));
}

#[test]
fn full_table_drops_syn_and_refuses_connect() {
    let mut h = Harness::new(Config {
        max_tcbs: 1,
        ..config()
    });
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN));
    h.recv_one();
    let other = SocketAddrV4::new(*REMOTE.ip(), 1);
    assert_eq!(
        h.engine.connect(h.now, LOCAL, other, PEER),
        Err(EngineError::TableFull)
    );
    assert_eq!(h.engine.tcb_count(), 1);
}

#[test]
fn malformed_frames_are_counted_drops() {
    let mut h = Harness::listening();
    h.engine
        .handle_frames(h.now, [&[0u8; 10][..], &[0xffu8; 80][..]], &mut h.tx);
    assert!(h.recv().is_empty());
    let s = h.engine.stats();
    assert_eq!(s.frames_in, 2);
    assert_eq!(s.parse_errors.iter().sum::<u64>(), 2);
}

#[test]
fn memory_per_connection_is_compact() {
    let (tcb, tw) = Engine::bytes_per_entry();
    assert!(tcb <= 256, "TCB costs {tcb} bytes");
    assert!(tw <= 128, "TIME-WAIT entry costs {tw} bytes");
}

/// Feeds a segment from REMOTE's address but another port `port`.
fn send_from_port(h: &mut Harness, port: u16, seq: u32, ack: u32, flags: TcpFlags) {
    let repr = TcpRepr {
        src_port: port,
        dst_port: LOCAL.port(),
        seq: SeqNumber(seq),
        ack: SeqNumber(ack),
        flags,
        window: 1000,
        urgent: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    let mut buf = vec![0; 128];
    let n = wire::emit_tcp_frame(&mut buf, PEER, US, *REMOTE.ip(), *LOCAL.ip(), &repr);
    h.engine.handle_frames(h.now, [&buf[..n]], &mut h.tx);
    h.collect_events();
}

/// A listener whose backlog holds one half-open connection.
fn tiny_backlog(cookies: bool) -> Harness {
    let mut h = Harness::new(Config {
        syn_backlog: 1,
        syn_cookies: cookies,
        ..config()
    });
    h.engine.listen(LOCAL).unwrap();
    // Another peer's SYN fills the backlog.
    send_from_port(&mut h, 1, 9, 0, SYN);
    h.engine.poll_transmit(h.now, &mut h.tx);
    h.tx.clear();
    h
}

#[test]
fn rfc4987_3_6_full_backlog_answers_with_a_cookie_and_its_ack_opens_the_connection() {
    let mut h = tiny_backlog(true);
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        mss: Some(1300),
        window_scale: Some(7),
        ..Default::default()
    }));
    let sa = h.recv_one();
    assert_eq!((sa.ack, sa.flags), (PEER_ISS + 1, syn_ack()));
    assert_eq!(
        sa.options.window_scale, None,
        "a cookie cannot remember window scale"
    );
    assert_eq!(h.engine.tcb_count(), 1, "the cookie SYN made state");
    assert_eq!(h.engine.stats().syn_cookies_sent, 1);
    // The returning ACK, carrying the request, opens the connection.
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).data(b"GET /"));
    let kinds = h.kinds();
    assert!(
        matches!(kinds[..], [EventKind::Accepted, EventKind::Data { .. }]),
        "{kinds:?}"
    );
    assert_eq!(h.engine.stats().syn_cookies_accepted, 1);
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack), (sa.seq + 1, PEER_ISS + 6));
}

#[test]
fn rfc4987_3_6_forged_cookie_ack_gets_rst_and_no_state() {
    let mut h = tiny_backlog(true);
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 2, ACK));
    let r = h.recv_one();
    assert_eq!((r.seq, r.flags), (sa.seq + 2, RST));
    assert_eq!(h.engine.tcb_count(), 1);
    assert_eq!(h.engine.stats().syn_cookies_rejected, 1);
    assert!(h.kinds().is_empty());
}

#[test]
fn rfc4987_3_6_replayed_cookie_ack_is_rejected_after_two_epochs() {
    let mut h = tiny_backlog(true);
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    h.advance(Duration::from_secs(127));
    // Keep cookies "recently sent" so the ACK is checked as one.
    h.send(seg(PEER_ISS + 50, 0, SYN));
    h.recv();
    h.advance(Duration::from_secs(64));
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    assert!(h.kinds().is_empty(), "a stale cookie opened a connection");
    assert_eq!(h.engine.stats().syn_cookies_rejected, 1);
}

#[test]
fn full_backlog_without_cookies_drops_syn_and_counts_it() {
    let mut h = tiny_backlog(false);
    h.send(seg(PEER_ISS, 0, SYN));
    assert!(h.recv().is_empty());
    assert_eq!(h.engine.stats().backlog_full, 1);
    assert_eq!(h.engine.tcb_count(), 1);
}

#[test]
fn backlog_frees_when_half_open_connections_complete() {
    let mut h = Harness::new(Config {
        syn_backlog: 1,
        syn_cookies: false,
        ..config()
    });
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    assert_eq!(h.kinds(), vec![EventKind::Accepted]);
    // A second peer now fits in the backlog again.
    send_from_port(&mut h, 2, 1, 0, SYN);
    assert_eq!(h.engine.tcb_count(), 2);
    assert_eq!(h.engine.stats().backlog_full, 0);
}

#[test]
fn time_wait_beyond_its_limit_recycles_the_oldest() {
    let mut h = Harness::new(Config {
        max_time_wait: 2,
        ..config()
    });
    h.engine.listen(LOCAL).unwrap();
    // Three server-first closes on three client ports: three TIME-WAITs.
    for port in 1..=3u16 {
        send_from_port(&mut h, port, 100, 0, SYN);
        let sa = h.recv_one();
        send_from_port(&mut h, port, 101, sa.seq + 1, ACK);
        let conn = h.events.iter().last().unwrap().conn;
        h.engine.close(conn, h.now).unwrap();
        h.recv_one();
        send_from_port(&mut h, port, 101, sa.seq + 2, FIN | ACK);
        h.recv_one();
        h.advance(Duration::from_millis(1));
    }
    assert_eq!(h.engine.time_wait_count(), 2);
    assert_eq!(h.engine.stats().time_wait_recycled, 1);
    assert_eq!(h.engine.stats().time_wait_entered, 3);
}

#[test]
fn rfc5961_5_2_ack_older_than_the_window_is_acked_and_dropped() {
    let (mut h, iss1, _) = Harness::accepted();
    // Window 65535: an ACK 100000 below SND.UNA cannot be a real one.
    h.send(seg(PEER_ISS + 1, iss1.wrapping_sub(100_000), ACK).data(b"inject"));
    let a = h.recv_one();
    assert_eq!(
        (a.seq, a.ack),
        (iss1, PEER_ISS + 1),
        "the injected data was taken"
    );
    assert!(h.kinds().is_empty());
    assert_eq!(h.engine.stats().ack_too_old, 1);
}

#[test]
fn rfc4987_3_6_cookie_keeps_window_scale_and_timestamps_through_tsval() {
    let mut h = Harness::new(Config {
        syn_backlog: 1,
        ..Config::default()
    });
    h.engine.listen(LOCAL).unwrap();
    send_from_port(&mut h, 1, 9, 0, SYN);
    h.recv();
    let ts = |v: u32, e: u32| TcpOptions {
        timestamps: Some((v, e)),
        ..Default::default()
    };
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        mss: Some(1460),
        window_scale: Some(5),
        sack_permitted: false,
        timestamps: Some((1000, 0)),
    }));
    let sa = h.recv_one();
    assert_eq!(h.engine.stats().syn_cookies_sent, 1);
    assert_eq!(sa.options.window_scale, Some(7));
    let (tsval, tsecr) = sa
        .options
        .timestamps
        .expect("cookie SYN-ACK without timestamps");
    assert_eq!((tsval & 0x1f, tsecr), (0x10 | 5, 1000));
    // Window 100 << 5 = 3200 bytes once the cookie is back.
    let mut ack = seg(PEER_ISS + 1, sa.seq + 1, ACK).options(ts(1001, tsval));
    ack.window = 100;
    h.send(ack);
    let c = h
        .events
        .iter()
        .next()
        .expect("cookie ACK did not open the connection")
        .conn;
    // Exactly the window's worth, so that sender SWS avoidance (RFC 9293
    // §3.8.6.2.1) lets the sub-MSS tail go at once.
    h.engine.send(c, &[1u8; 3200]).unwrap();
    let sizes: Vec<usize> = h.recv().iter().map(|s| s.payload.len()).collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        3200,
        "window scale lost: {sizes:?}"
    );
    assert!(
        sizes.iter().all(|&n| n <= 1448),
        "timestamps lost from the MSS: {sizes:?}"
    );
}

#[test]
fn backlog_is_per_listener() {
    let mut h = tiny_backlog(false);
    // LOCAL's backlog is full; another listening port still takes a SYN.
    let other = SocketAddrV4::new(*LOCAL.ip(), 81);
    h.engine.listen(other).unwrap();
    let repr = TcpRepr {
        src_port: REMOTE.port(),
        dst_port: other.port(),
        seq: SeqNumber(1),
        ack: SeqNumber(0),
        flags: SYN,
        window: 1000,
        urgent: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    let mut buf = vec![0; 128];
    let n = wire::emit_tcp_frame(&mut buf, PEER, US, *REMOTE.ip(), *LOCAL.ip(), &repr);
    h.engine.handle_frames(h.now, [&buf[..n]], &mut h.tx);
    assert_eq!(h.engine.tcb_count(), 2);
    h.send(seg(PEER_ISS, 0, SYN));
    assert_eq!(h.engine.stats().backlog_full, 1);
}

#[test]
fn rfc9293_3_10_7_4_closing_enters_time_wait_without_sending() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss1, fin_ack()));
    assert_eq!(h.engine.state(c), Some(State::Closing));
    h.recv_one();
    // The ACK of our FIN moves CLOSING to TIME-WAIT; the peer's FIN was
    // acknowledged already, so nothing more is owed.
    h.send(seg(PEER_ISS + 2, iss1 + 1, ACK));
    assert_eq!(h.engine.time_wait_count(), 1);
    assert!(
        h.recv().is_empty(),
        "CLOSING sent a segment entering TIME-WAIT"
    );
}

#[test]
fn rfc7323_5_4_cookie_syn_ack_tsval_is_never_ahead_of_the_clock() {
    let mut h = Harness::new(Config {
        syn_backlog: 1,
        ..Config::default()
    });
    h.engine.listen(LOCAL).unwrap();
    send_from_port(&mut h, 1, 9, 0, SYN);
    h.recv();
    // Our TSval clock towards the peer, its low bits moved to 16: below the
    // option bits 0x10 | 5 = 21.
    let offset = h.engine.core.keys.ts_offset(&FourTuple::new(LOCAL, REMOTE));
    let clock_at = |now: Instant| (now.as_millis() as u32).wrapping_add(offset);
    let lift = (16u32.wrapping_sub(clock_at(h.now)) & 31) as u64;
    h.now = h.now + Duration::from_millis(lift);
    assert_eq!(clock_at(h.now) & 31, 16);
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        mss: Some(1460),
        window_scale: Some(5),
        sack_permitted: false,
        timestamps: Some((1000, 0)),
    }));
    let sa = h.recv_one();
    let (tsval, _) = sa.options.timestamps.unwrap();
    assert_eq!(tsval & 0x1f, 0x10 | 5);
    let clock = clock_at(h.now);
    assert!(
        (clock.wrapping_sub(tsval) as i32) >= 0,
        "TSval {tsval} ahead of the clock {clock}"
    );
    assert!(clock.wrapping_sub(tsval) < 64);
}

fn ts(v: u32) -> TcpOptions {
    TcpOptions {
        timestamps: Some((v, 0)),
        ..Default::default()
    }
}

/// Passive open with timestamps; the peer's TSval so far is 1001.
fn accepted_with_timestamps(cfg: Config) -> (Harness, u32, ConnId) {
    let mut h = Harness::new(cfg);
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN).options(ts(1000)));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(ts(1001)));
    let ev = h.events.iter().next().copied().unwrap();
    assert_eq!(ev.kind, EventKind::Accepted);
    h.events.clear();
    (h, sa.seq + 1, ev.conn)
}

#[test]
fn rfc7323_5_3_ts_recent_moves_only_after_the_ack_checks() {
    let cfg = Config {
        window_scale: 0,
        rcv_wnd: 65535,
        ..Config::default()
    };
    let (mut h, iss1, c) = accepted_with_timestamps(cfg);
    let future = 1001 + (1 << 30);
    // A forged segment at RCV.NXT with a far-future TSval: its ACK is beyond
    // anything we sent, and the other has no ACK at all. Both are dropped.
    h.send(seg(PEER_ISS + 1, iss1 + 5000, ACK).options(ts(future)));
    h.send(
        seg(PEER_ISS + 1, 0, TcpFlags::PSH)
            .options(ts(future))
            .data(b"x"),
    );
    h.recv();
    // The genuine peer goes on with its own clock and is not PAWS-rejected.
    h.send(
        seg(PEER_ISS + 1, iss1, ACK)
            .options(ts(1002))
            .data(b"hello"),
    );
    assert!(
        matches!(h.kinds()[..], [EventKind::Data { .. }]),
        "genuine data dropped after a rejected segment moved TS.Recent"
    );
    assert_eq!(h.engine.stats().paws_rejected, 0);
    assert_eq!(h.engine.state(c), Some(State::Established));
}

#[test]
fn rfc9293_3_10_7_4_acceptance_window_is_the_advertised_window() {
    // 256 KiB configured, but the peer offered no window scaling: we
    // advertise 65535, and nothing beyond it is acceptable.
    let mut h = Harness::new(Config {
        timestamps: false,
        ..Config::default()
    });
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    assert_eq!(sa.window, 65535);
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    let c = h.events_conn();
    h.kinds();
    h.engine.send(c, b"x").unwrap();
    let a = h.recv_one();
    assert_eq!(a.window, 65535);
    h.send(seg(PEER_ISS + 1 + 100_000, 0, RST));
    assert!(
        h.recv().is_empty(),
        "RST beyond the advertised window was challenged"
    );
    assert_eq!(h.engine.stats().challenge_acks, 0);
    h.send(seg(PEER_ISS + 1 + 100_000, sa.seq + 1, SYN));
    assert_eq!(
        h.engine.stats().challenge_acks,
        0,
        "SYN beyond the window challenged"
    );
    assert_eq!(h.engine.stats().out_of_window, 2);
}

#[test]
fn rfc9293_3_10_7_4_time_wait_acceptance_window_is_the_advertised_window() {
    let (mut h, _) = server_in_time_wait(Config {
        timestamps: false,
        rcv_wnd: 256 * 1024,
        window_scale: 7,
        ..config()
    });
    // Out of the 65535 we advertised (no scaling): not a challenge ACK.
    h.send(seg(PEER_ISS + 2 + 100_000, 0, RST));
    assert!(h.recv().is_empty());
    assert_eq!(h.engine.time_wait_count(), 1);
}

#[test]
fn rfc6298_3_karn_no_rtt_sample_from_a_repeated_syn_ack() {
    let mut h = Harness::listening();
    h.send(seg(PEER_ISS, 0, SYN));
    let sa = h.recv_one();
    // Our SYN-ACK is lost; 900 ms later the peer repeats its SYN, and the
    // ACK of the repeated SYN-ACK comes back 1 ms after that.
    h.advance(Duration::from_millis(900));
    h.send(seg(PEER_ISS, 0, SYN));
    h.recv_one();
    h.advance(Duration::from_millis(1));
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    let c = h.events_conn();
    h.engine.send(c, b"data").unwrap();
    h.recv_one();
    // No sample was taken: the RTO is still the initial 1 s, not 2.7 s
    // from a 901 ms "round trip".
    h.advance(Duration::from_secs(1));
    let r = h.recv_one();
    assert_eq!((r.seq, r.payload.as_slice()), (sa.seq + 1, &b"data"[..]));
}

#[test]
fn rfc6298_5_7_rto_is_3s_after_a_syn_retransmission() {
    let mut h = Harness::new(config());
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let s = h.recv_one();
    h.advance(Duration::from_secs(1));
    h.recv_one();
    h.send(seg(PEER_ISS, s.seq + 1, syn_ack()));
    assert_eq!(h.kinds(), vec![EventKind::Connected]);
    h.recv_one();
    h.engine.send(c, b"data").unwrap();
    h.recv_one();
    h.advance(Duration::from_millis(2999));
    assert!(
        h.recv().is_empty(),
        "RTO below 3 s after a SYN retransmission"
    );
    h.advance(Duration::from_millis(1));
    let r = h.recv_one();
    assert_eq!(r.payload, b"data");
}

#[test]
fn rfc9293_3_10_4_fin_wait_2_timer_spares_a_half_close_still_receiving() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss1 + 1, ACK));
    assert_eq!(h.engine.state(c), Some(State::FinWait2));
    // The response keeps streaming for longer than fin_wait2_timeout.
    let mut seq = PEER_ISS + 1;
    for _ in 0..4 {
        h.advance(Duration::from_secs(30));
        h.send(seg(seq, iss1 + 1, ACK).data(b"chunk"));
        seq += 5;
        h.recv();
    }
    assert_eq!(h.engine.state(c), Some(State::FinWait2), "{:?}", h.kinds());
    h.kinds();
    // Once the peer falls silent, the timer does end it.
    h.advance(Duration::from_secs(60) + Duration::from_millis(1));
    assert_eq!(
        h.kinds(),
        vec![EventKind::TimedOut(TimeoutReason::FinWait2)]
    );
}

/// The TCB behind `c`, to read congestion state a trace cannot show directly.
fn tcb_of(h: &Harness, c: ConnId) -> &tcb::Tcb {
    &h.engine.table.tcbs[c.index as usize]
}

#[test]
fn rfc5681_3_1_rto_sets_ssthresh_and_congestion_avoidance_follows_slow_start() {
    let (mut h, iss1, c) = Harness::accepted();
    let mss = 536u32; // the peer sent no MSS option
    h.engine.send(c, &[7u8; 100 * 536]).unwrap();
    let first = h.recv();
    assert_eq!(first.len(), 10, "IW10");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.recv().len(), 1, "one segment after RTO (loss window)");
    // ssthresh = max(FlightSize / 2, 2 * SMSS) = 5 segments.
    assert_eq!(tcb_of(&h, c).ssthresh, 5 * mss);
    assert_eq!(tcb_of(&h, c).cwnd, mss);
    // ACK one segment at a time: slow start up to ssthresh, then about one
    // segment per window's worth of ACKs.
    let mut acked = iss1;
    let mut cwnds = Vec::new();
    for _ in 0..20 {
        acked += mss;
        h.send(seg(PEER_ISS + 1, acked, ACK));
        h.recv();
        cwnds.push(tcb_of(&h, c).cwnd / mss);
    }
    assert_eq!(&cwnds[..4], &[2, 3, 4, 5], "slow start below ssthresh");
    assert!(
        *cwnds.last().unwrap() <= 8,
        "cwnd kept growing one MSS per ACK above ssthresh: {cwnds:?}"
    );
}

#[test]
fn rfc7323_5_5_ts_recent_older_than_24_days_is_not_used_by_paws() {
    let cfg = Config {
        window_scale: 0,
        rcv_wnd: 65535,
        ..Config::default()
    };
    let (mut h, iss1, _) = accepted_with_timestamps(cfg);
    // Idle for 25 days: the peer's TSval clock may have wrapped since.
    h.advance(Duration::from_secs(25 * 24 * 3600));
    h.send(seg(PEER_ISS + 1, iss1, ACK).options(ts(1)).data(b"hello"));
    assert!(
        matches!(h.kinds()[..], [EventKind::Data { .. }]),
        "a segment after 24 days idle was PAWS-rejected"
    );
    // The new TSval is TS.Recent now: PAWS works again from there.
    h.send(seg(PEER_ISS + 6, iss1, ACK).options(ts(0)).data(b"old"));
    assert!(h.kinds().is_empty());
    assert_eq!(h.engine.stats().paws_rejected, 1);
}

#[test]
fn rfc7323_5_paws_applies_in_time_wait() {
    let mut h = Harness::new(Config {
        window_scale: 0,
        rcv_wnd: 65535,
        ..Config::default()
    });
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN).options(ts(1000)));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(ts(1001)));
    let c = h.events_conn();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 2, fin_ack()).options(ts(1002)));
    h.recv_one();
    assert_eq!(h.engine.time_wait_count(), 1);
    // An old duplicate of the FIN (older TSval): dropped by PAWS, so it
    // does not restart 2MSL.
    h.advance(Duration::from_secs(30));
    h.send(seg(PEER_ISS + 1, sa.seq + 2, fin_ack()).options(ts(900)));
    assert_eq!(h.engine.stats().paws_rejected, 1);
    h.recv();
    h.advance(Duration::from_secs(30) + Duration::from_millis(1));
    assert_eq!(
        h.engine.time_wait_count(),
        0,
        "an old duplicate restarted TIME-WAIT"
    );
}

/// Frames in `h.tx` addressed to remote port `port`, then clears `h.tx`.
fn count_to_port(h: &mut Harness, port: u16) -> usize {
    h.engine.poll_transmit(h.now, &mut h.tx);
    let n =
        h.tx.iter()
            .filter(|f| wire::parse_tcp_frame(f, true).unwrap().tcp.dst_port == port)
            .count();
    h.tx.clear();
    n
}

/// CVE-2016-5696: an off-path attacker guesses a victim connection's
/// sequence number by spoofing an RST into it, then sending in-window RSTs on
/// its own connection and counting the challenge ACKs that come back. The
/// count must not depend on whether the guess was in-window.
#[test]
fn rfc5961_7_challenge_ack_count_reveals_nothing_about_another_connection() {
    let attacker_port = 41000;
    let mut counts = Vec::new();
    for guess in [PEER_ISS + 100, PEER_ISS + 1_000_000] {
        let (mut h, _, victim) = Harness::accepted();
        send_from_port(&mut h, attacker_port, 700, 0, SYN);
        let sa = h.recv_one();
        send_from_port(&mut h, attacker_port, 701, sa.seq + 1, ACK);
        h.kinds();
        // The spoofed RST, with the victim's tuple.
        h.send(seg(guess, 0, RST));
        count_to_port(&mut h, REMOTE.port());
        // A second's worth of in-window RSTs on the attacker's own connection.
        for i in 0..1000 {
            send_from_port(&mut h, attacker_port, 800 + i, 0, RST);
        }
        counts.push(count_to_port(&mut h, attacker_port));
        assert_eq!(h.engine.state(victim), Some(State::Established));
    }
    assert_eq!(
        counts[0], counts[1],
        "challenge ACK count tells an in-window guess from an out-of-window one"
    );
}

#[test]
fn rfc5961_7_challenge_acks_are_rate_limited_per_connection() {
    let (mut h, _, _) = Harness::accepted();
    for i in 0..10 {
        h.send(seg(PEER_ISS + 2 + i, 0, RST));
    }
    assert_eq!(h.recv().len(), 1, "one challenge ACK per interval");
    h.advance(Duration::from_millis(500));
    for i in 0..10 {
        h.send(seg(PEER_ISS + 2 + i, 0, RST));
    }
    assert_eq!(h.recv().len(), 1, "the next interval allows one more");
    assert_eq!(h.engine.stats().challenge_acks, 2);
    assert_eq!(h.engine.stats().challenge_acks_limited, 18);
}

#[test]
fn rfc9293_3_10_7_4_acks_to_unacceptable_pure_acks_are_rate_limited() {
    let cfg = Config {
        window_scale: 0,
        rcv_wnd: 65535,
        ..Config::default()
    };
    let (mut h, iss1, _) = accepted_with_timestamps(cfg);
    // Pure ACKs far out of window (an ACK loop, or a flood): one answer.
    for i in 0..10 {
        h.send(seg(PEER_ISS + 1_000_000 + i, iss1, ACK).options(ts(1002)));
    }
    assert_eq!(
        h.recv().len(),
        1,
        "out-of-window ACKs answered without limit"
    );
    // PAWS-rejected pure ACKs, in the same interval: none.
    for _ in 0..10 {
        h.send(seg(PEER_ISS + 1, iss1, ACK).options(ts(900)));
    }
    assert!(
        h.recv().is_empty(),
        "PAWS-rejected ACKs answered without limit"
    );
    assert_eq!(h.engine.stats().paws_rejected, 10);
    // Segments with data are always answered: no ACK loop can carry data.
    h.send(
        seg(PEER_ISS - 100, iss1, ACK)
            .options(ts(1003))
            .data(b"old"),
    );
    assert_eq!(h.recv().len(), 1);
    // A later interval allows one more.
    h.advance(Duration::from_millis(500));
    h.send(seg(PEER_ISS + 1_000_000, iss1, ACK).options(ts(1004)));
    assert_eq!(h.recv().len(), 1);
}

#[test]
fn rfc9293_3_10_7_4_time_wait_acks_to_unacceptable_pure_acks_are_rate_limited() {
    let (mut h, _) = server_in_time_wait(config());
    for i in 0..10 {
        h.send(seg(PEER_ISS + 1_000_000 + i, 0, ACK));
    }
    assert_eq!(h.recv().len(), 1);
}

/// A pure ACK from the peer with window `wnd`.
fn ack_wnd(seq: u32, ack: u32, wnd: u16) -> Seg {
    let mut s = seg(seq, ack, ACK);
    s.window = wnd;
    s
}

#[test]
fn rfc9293_3_8_6_1_zero_window_is_probed_with_backoff() {
    let (mut h, iss1, c) = Harness::new_accepted(Config {
        max_retries: 3,
        persist_timeout: Duration::from_secs(3600),
        ..config()
    });
    h.send(ack_wnd(PEER_ISS + 1, iss1, 0));
    h.engine.send(c, b"hello").unwrap();
    assert!(h.recv().is_empty(), "sent into a zero window");
    assert!(h.engine.poll_timeout().is_some(), "no persist timer");
    // Probes after one RTO (200 ms: the handshake's RTT sample was 0), then
    // doubling: one byte each, answered with the window still shut. More
    // probes than max_retries: no failure.
    let mut wait = 200;
    for _ in 0..12 {
        h.advance(Duration::from_millis(wait - 1));
        assert!(h.recv().is_empty(), "probed before {wait} ms");
        h.advance(Duration::from_millis(1));
        let p = h.recv_one();
        assert_eq!((p.seq, p.payload.as_slice()), (iss1, &b"h"[..]));
        h.send(ack_wnd(PEER_ISS + 1, iss1, 0));
        wait = (wait * 2).min(120_000);
    }
    assert_eq!(h.engine.state(c), Some(State::Established));
    assert!(
        !h.kinds()
            .iter()
            .any(|k| matches!(k, EventKind::TimedOut(TimeoutReason::Retransmit))),
        "answered probes counted as retransmission failures"
    );
}

#[test]
fn rfc9293_3_8_6_1_zero_window_with_data_in_flight_is_not_a_retransmission_failure() {
    let (mut h, iss1, c) = Harness::new_accepted(Config {
        max_retries: 3,
        persist_timeout: Duration::from_secs(3600),
        ..config()
    });
    h.engine.send(c, b"request").unwrap();
    h.recv_one();
    // The peer shrinks its window to zero and drops what was in flight.
    h.send(ack_wnd(PEER_ISS + 1, iss1, 0));
    for _ in 0..60 {
        assert!(
            h.engine.poll_timeout().is_some(),
            "no timer while data is queued"
        );
        h.advance(Duration::from_secs(1));
        for p in h.recv() {
            assert_eq!(p.seq, iss1);
        }
        h.send(ack_wnd(PEER_ISS + 1, iss1, 0));
    }
    assert_eq!(
        h.engine.state(c),
        Some(State::Established),
        "{:?}",
        h.kinds()
    );
    // The window opens: everything, and a FIN queued behind it, leaves.
    h.engine.close(c, h.now).unwrap();
    h.send(ack_wnd(PEER_ISS + 1, iss1, 65535));
    let out = h.recv();
    let data: Vec<u8> = out.iter().flat_map(|s| s.payload.clone()).collect();
    assert_eq!(data, b"request");
    assert!(
        out.last().unwrap().flags.fin(),
        "FIN did not follow: {out:?}"
    );
}

#[test]
fn rfc9293_3_8_6_1_fin_queued_behind_a_zero_window_leaves_when_it_opens() {
    let (mut h, iss1, c) = Harness::accepted();
    h.send(ack_wnd(PEER_ISS + 1, iss1, 0));
    h.engine.send(c, b"bye").unwrap();
    h.engine.close(c, h.now).unwrap();
    assert!(h.recv().is_empty());
    h.advance(Duration::from_secs(1));
    let p = h.recv_one();
    assert_eq!(p.payload, b"b");
    // The window update is lost; the next probe's answer carries it.
    h.advance(Duration::from_secs(2));
    h.recv();
    h.send(ack_wnd(PEER_ISS + 1, iss1, 65535));
    let out = h.recv();
    let data: Vec<u8> = out.iter().flat_map(|s| s.payload.clone()).collect();
    assert_eq!(data, b"bye");
    assert!(out.last().unwrap().flags.fin());
    h.send(seg(PEER_ISS + 1, iss1 + 4, ACK));
    assert_eq!(h.engine.state(c), Some(State::FinWait2));
}

#[test]
fn rfc6429_window_shut_forever_ends_with_the_persist_timeout() {
    let (mut h, iss1, c) = Harness::new_accepted(Config {
        persist_timeout: Duration::from_secs(60),
        ..config()
    });
    h.send(ack_wnd(PEER_ISS + 1, iss1, 0));
    h.engine.send(c, b"hello").unwrap();
    h.recv();
    let start = h.now;
    while h.engine.state(c).is_some() {
        let next = h.engine.poll_timeout().expect("no persist timer");
        h.advance(next - h.now);
        h.recv();
        h.send(ack_wnd(PEER_ISS + 1, iss1, 0));
        assert!(
            h.now - start < Duration::from_secs(200),
            "persisted forever"
        );
    }
    assert_eq!(h.kinds(), vec![EventKind::TimedOut(TimeoutReason::Persist)]);
    assert!(h.now - start >= Duration::from_secs(60));
    assert_eq!(h.engine.stats().persist_timeouts, 1);
    assert_eq!(h.engine.stats().timeouts, 1);
}

#[test]
fn rfc9293_3_8_6_2_1_sender_avoids_the_silly_window() {
    let (mut h, iss1, c) = Harness::accepted();
    // The peer offered 65535 and now has room for 20 bytes only.
    h.send(ack_wnd(PEER_ISS + 1, iss1, 20));
    h.engine.send(c, &[1u8; 1000]).unwrap();
    assert!(
        h.recv().is_empty(),
        "sent a 20-byte segment into a 20-byte window"
    );
    // A window of half the largest offered is worth sending into.
    h.send(ack_wnd(PEER_ISS + 1, iss1, 40000));
    let out = h.recv();
    assert_eq!(out.iter().map(|s| s.payload.len()).sum::<usize>(), 1000);
    // The peer takes it all, then offers little room again.
    let (mut h, iss1, c) = Harness::accepted();
    h.send(ack_wnd(PEER_ISS + 1, iss1, 20));
    h.engine.send(c, &[1u8; 1000]).unwrap();
    h.recv();
    // RFC 9293 §3.8.6.2.1 (4): the override timeout sends what fits.
    h.advance(Duration::from_secs(1));
    let s = h.recv_one();
    assert_eq!((s.seq, s.payload.len()), (iss1, 20));
}

#[test]
fn rfc9293_3_8_6_2_1_all_queued_data_that_fits_is_sent_at_once() {
    let (mut h, iss1, c) = Harness::accepted();
    h.send(ack_wnd(PEER_ISS + 1, iss1, 20));
    h.engine.send(c, &[1u8; 20]).unwrap();
    let s = h.recv_one();
    assert_eq!(s.payload.len(), 20);
}

/// Server-first close with timestamps, so the server's TIME-WAIT has them.
fn server_in_time_wait_with_timestamps(cfg: Config) -> Harness {
    let mut h = Harness::new(cfg);
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN).options(ts(1000)));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(ts(1001)));
    let c = h.events_conn();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 2, fin_ack()).options(ts(1002)));
    h.recv_one();
    assert_eq!(h.engine.time_wait_count(), 1);
    h.events.clear();
    h
}

#[test]
fn rfc6191_2_syn_without_timestamps_falls_back_to_sequence_numbers() {
    let cfg = Config {
        window_scale: 0,
        rcv_wnd: 65535,
        ..Config::default()
    };
    // The old incarnation used timestamps, the new SYN has none: its
    // sequence number above RCV.NXT decides.
    let mut h = server_in_time_wait_with_timestamps(cfg.clone());
    h.send(seg(PEER_ISS + 100_000, 0, SYN));
    let sa = h.recv_one();
    assert_eq!((sa.ack, sa.flags), (PEER_ISS + 100_001, syn_ack()));
    assert_eq!(h.engine.stats().time_wait_reused, 1);
    // ... and one below it is an old duplicate.
    let mut h = server_in_time_wait_with_timestamps(cfg.clone());
    h.send(seg(PEER_ISS, 0, SYN));
    assert_eq!(h.recv_one().flags, ACK);
    assert_eq!(h.engine.time_wait_count(), 1);
    // The old incarnation had no timestamps, the new SYN has them: the
    // sequence number decides too.
    let (mut h, _) = server_in_time_wait(cfg);
    h.send(seg(PEER_ISS + 100_000, 0, SYN).options(ts(5)));
    assert_eq!(h.recv_one().flags, syn_ack());
    assert_eq!(h.engine.stats().time_wait_reused, 1);
}

#[test]
fn rfc6191_full_table_keeps_the_time_wait_record() {
    let (mut h, _) = server_in_time_wait(Config {
        max_tcbs: 1,
        syn_cookies: false,
        ..config()
    });
    // Another peer takes the one TCB.
    send_from_port(&mut h, 2, 1, 0, SYN);
    h.recv();
    assert_eq!(h.engine.tcb_count(), 1);
    // An acceptable new SYN for the TIME-WAIT tuple finds no room: it must
    // not end the TIME-WAIT record for nothing.
    h.send(seg(PEER_ISS + 100_000, 0, SYN));
    assert_eq!(h.engine.time_wait_count(), 1, "TIME-WAIT record lost");
    assert_eq!(h.engine.stats().time_wait_reused, 0);
    assert_eq!(h.engine.stats().table_full, 1);
    assert!(
        h.recv().is_empty(),
        "nothing to say: the peer retransmits its SYN"
    );
}

#[test]
fn rfc9293_3_8_3_syn_retransmission_lasts_at_least_3_minutes_by_default() {
    let mut h = Harness::new(Config {
        timestamps: false,
        ..Config::default()
    });
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    h.recv_one();
    let start = h.now;
    while h.engine.state(c).is_some() {
        h.advance(Duration::from_secs(1));
        h.recv();
        assert!(h.now - start < Duration::from_secs(600), "never gave up");
    }
    assert!(
        h.now - start >= Duration::from_secs(180),
        "gave up after {:?}",
        h.now - start
    );
    assert_eq!(
        h.kinds(),
        vec![EventKind::TimedOut(TimeoutReason::Handshake)]
    );
}

/// An active open with timestamps, closed by us first: we hold TIME-WAIT.
/// Returns the harness and the SND.NXT the connection ended with.
fn client_in_time_wait(cfg: Config) -> (Harness, u32) {
    let mut h = Harness::new(cfg);
    let ts = |v| TcpOptions {
        timestamps: Some((v, 0)),
        ..Default::default()
    };
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let s = h.recv_one();
    h.send(seg(PEER_ISS, s.seq + 1, syn_ack()).options(ts(100)));
    h.recv_one();
    h.engine.close(c, h.now).unwrap();
    let f = h.recv_one();
    h.send(seg(PEER_ISS + 1, f.seq + 1, fin_ack()).options(ts(101)));
    h.recv_one();
    assert_eq!(h.engine.time_wait_count(), 1);
    h.kinds();
    (h, f.seq + 1)
}

#[test]
fn rfc6191_connect_takes_over_our_time_wait_after_the_reuse_delay_with_timestamps() {
    let (mut h, snd_nxt) = client_in_time_wait(Config {
        timestamps: true,
        ..config()
    });
    let tuple = FourTuple::new(LOCAL, REMOTE);
    assert_eq!(
        h.engine.reusable_at(&tuple, h.now),
        h.now + Duration::from_secs(1)
    );
    assert_eq!(
        h.engine.connect(h.now, LOCAL, REMOTE, PEER),
        Err(EngineError::TupleInTimeWait)
    );
    h.advance(Duration::from_secs(1));
    h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let syn = h.recv_one();
    // Linux tcp_twsk_unique: the new ISS is past the old SND.NXT by a window.
    assert_eq!((syn.seq, syn.flags), (snd_nxt.wrapping_add(65537), SYN));
    assert_eq!(h.engine.time_wait_count(), 0);
    assert_eq!(h.engine.stats().time_wait_reopened, 1);
}

#[test]
fn rfc9293_3_4_2_without_timestamps_our_time_wait_holds_the_tuple_2msl() {
    let (h, _) = client_in_time_wait(config());
    let tuple = FourTuple::new(LOCAL, REMOTE);
    assert_eq!(
        h.engine.reusable_at(&tuple, h.now),
        h.now + Duration::from_secs(60)
    );
}

#[test]
fn rfc9293_3_4_2_strict_time_wait_holds_the_tuple_2msl_even_with_timestamps() {
    let (h, _) = client_in_time_wait(Config {
        timestamps: true,
        time_wait_reuse: None,
        ..config()
    });
    let tuple = FourTuple::new(LOCAL, REMOTE);
    assert_eq!(
        h.engine.reusable_at(&tuple, h.now),
        h.now + Duration::from_secs(60)
    );
}

#[test]
fn rfc6191_reconnect_starts_beyond_the_last_snd_nxt() {
    let mut h = Harness::new(config());
    let tuple = FourTuple::new(LOCAL, REMOTE);
    let clock_isn = h.engine.core.isn.isn(&tuple, h.now);
    // The peer's TIME-WAIT remembers an older connection that sent past
    // where our clock stands now.
    let last = clock_isn + 1_000_000;
    h.engine
        .reconnect(h.now, LOCAL, REMOTE, PEER, last)
        .unwrap();
    let syn = h.recv_one();
    assert!(
        SeqNumber(syn.seq) > last,
        "ISS {} not above {}",
        syn.seq,
        last.0
    );
    // A last SND.NXT already behind the clock leaves the clock's ISN alone.
    let mut h = Harness::new(config());
    h.engine
        .reconnect(h.now, LOCAL, REMOTE, PEER, clock_isn - 10)
        .unwrap();
    assert_eq!(h.recv_one().seq, clock_isn.0);
}

#[test]
fn rfc9293_3_10_7_3_ack_of_an_old_connection_gets_rst_and_the_syn_again_at_once() {
    let mut h = Harness::new(config());
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let s = h.recv_one();
    // The peer's TIME-WAIT re-ACKs its old connection instead of taking the SYN.
    for round in 1..=3 {
        h.send(seg(PEER_ISS, s.seq.wrapping_sub(5000), ACK));
        let out = h.recv();
        assert_eq!(out.len(), 2, "round {round}: {out:?}");
        assert_eq!((out[0].seq, out[0].flags), (s.seq.wrapping_sub(5000), RST));
        assert_eq!((out[1].seq, out[1].flags), (s.seq, SYN));
    }
    assert_eq!(h.engine.stats().tw_collisions, 3);
    // Bounded: after a few, only the RST; the RTO paces the SYN.
    h.send(seg(PEER_ISS, s.seq.wrapping_sub(5000), ACK));
    let out = h.recv_one();
    assert_eq!(out.flags, RST);
    h.send(seg(PEER_ISS, s.seq + 1, syn_ack()));
    assert_eq!(h.kinds(), vec![EventKind::Connected]);
    assert_eq!(h.engine.state(c), Some(State::Established));
}

#[test]
fn rfc7323_5_4_tsval_grows_across_engines_sharing_keys_and_a_boot_clock() {
    // Two runs on one host: the second engine starts later on the same
    // clock with the same keys, so its TSval towards the peer is larger.
    let ts_of = |at: Instant| {
        let mut e = Engine::new(Config::default(), US, [3; 16], at).unwrap();
        e.connect(at, LOCAL, REMOTE, PEER).unwrap();
        let mut tx = FrameBatch::new();
        e.poll_transmit(at, &mut tx);
        let f = wire::parse_tcp_frame(tx.iter().next().unwrap(), true).unwrap();
        (f.tcp.options.timestamps.unwrap().0, f.tcp.seq)
    };
    let (ts1, isn1) = ts_of(Instant::from_millis(5_000));
    let (ts2, isn2) = ts_of(Instant::from_millis(5_010));
    assert_eq!(ts2.wrapping_sub(ts1), 10);
    assert!(isn2 > isn1);
    // The offset is per address pair: another peer sees another clock.
    let k = Keys::from([3; 16]);
    let other = FourTuple {
        remote_ip: Ipv4Addr::new(10, 0, 0, 3),
        ..FourTuple::new(LOCAL, REMOTE)
    };
    assert_ne!(
        k.ts_offset(&FourTuple::new(LOCAL, REMOTE)),
        k.ts_offset(&other)
    );
}
