//! Transition tests, each a short packet trace naming the rule it checks.
//! The peer is played by hand: `send` feeds a segment from it, `recv`
//! collects what the engine transmits.

mod challenge;
mod close;
mod delayed_ack;
mod dsack;
mod input;
mod listen;
mod prediction;
mod reassembly;
mod recovery;
mod retransmit;
mod send_fast;
mod time_wait;
mod transition;

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
        // The traces time RTOs; tail loss probes have their own (recovery.rs).
        tail_loss_probe: false,
        // Each trace's ACK comes on the turn its text arrived; delayed
        // ACKs have their own (delayed_ack.rs).
        delayed_ack: Duration::ZERO,
        ..Config::default()
    }
}

/// Every trace checks as it ends that it took only RFC 9293 §3.10 edges.
impl Drop for Harness {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(self.engine.stats().illegal_transitions, 0);
        }
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
        self.send_from(REMOTE.port(), s)
    }

    /// Feeds `s` from the peer's address but port `port`.
    fn send_from(&mut self, port: u16, s: Seg) {
        let frame = frame_from(port, &s, 0);
        self.engine
            .handle_frames(self.now, [&frame[..]], &mut self.tx);
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

/// A frame from the peer's port `port`, its IP header carrying `ip_options`
/// words of options (no-ops, RFC 791 §3.1) when nonzero: a frame the plain
/// parse leaves to the general one, whose tuple lies further in.
fn frame_from(port: u16, s: &Seg, ip_options: usize) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: port,
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
    buf.truncate(n);
    if ip_options > 0 {
        let extra = 4 * ip_options;
        buf.splice(34..34, std::iter::repeat_n(1u8, extra));
        buf[14] = 0x45 + ip_options as u8;
        let total = u16::from_be_bytes([buf[16], buf[17]]) + extra as u16;
        buf[16..18].copy_from_slice(&total.to_be_bytes());
        buf[24..26].fill(0);
        let sum = !wire::checksum::fold64(wire::checksum::add_native(0, &buf[14..34 + extra]));
        buf[24..26].copy_from_slice(&sum.to_ne_bytes());
    }
    buf
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

/// Feeds a segment from REMOTE's address but another port `port`.
fn send_from_port(h: &mut Harness, port: u16, seq: u32, ack: u32, flags: TcpFlags) {
    h.send_from(
        port,
        Seg {
            window: 1000,
            ..seg(seq, ack, flags)
        },
    );
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

/// The TCB behind `c`, to read congestion state a trace cannot show directly.
fn tcb_of(h: &Harness, c: ConnId) -> &tcb::Tcb {
    &h.engine.table.tcbs[c.index as usize]
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

/// A pure ACK from the peer with window `wnd`.
fn ack_wnd(seq: u32, ack: u32, wnd: u16) -> Seg {
    let mut s = seg(seq, ack, ACK);
    s.window = wnd;
    s
}

/// Server-first close with timestamps, so the server's TIME-WAIT has them;
/// returns the harness and our ISS.
fn server_in_time_wait_with_timestamps(cfg: Config) -> (Harness, u32) {
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
    (h, sa.seq)
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
