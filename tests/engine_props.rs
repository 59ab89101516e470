//! Fuzz-style properties of the engine: arbitrary frames and mutated
//! segments around a live connection never panic, never produce an event after
//! a connection's end, and never leak a TCB once the timers have run
//! (RFC 9293 §3.10, RFC 5961).

use proptest::prelude::*;
use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use synwave::tcp::{Config, ConnId, Engine, EventKind, Events, FrameBatch, Instant};
use synwave::wire::{self, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const PEER: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40000);

#[derive(Debug, Clone)]
enum Input {
    /// Raw bytes, most of them malformed.
    Bytes(Vec<u8>),
    /// A well-formed segment with fields near the connection's numbers.
    Segment {
        flags: u8,
        seq: i32,
        ack: i32,
        len: usize,
        options: bool,
        port: u16,
    },
    /// Time passes.
    Wait(u32),
    /// The application closes or aborts.
    Close(bool),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..120).prop_map(Input::Bytes),
        (
            any::<u8>(),
            -70_000i32..70_000,
            -70_000i32..70_000,
            0usize..1500,
            any::<bool>(),
            prop_oneof![Just(40000u16), Just(40001), any::<u16>()]
        )
            .prop_map(|(flags, seq, ack, len, options, port)| Input::Segment {
                flags,
                seq,
                ack,
                len,
                options,
                port
            }),
        (0u32..5_000).prop_map(Input::Wait),
        any::<bool>().prop_map(Input::Close),
    ]
}

struct Fixture {
    engine: Engine,
    now: Instant,
    tx: FrameBatch,
    events: Events,
    peer_seq: u32,
    our_seq: u32,
    conn: Option<ConnId>,
    ended: HashSet<ConnId>,
    live: HashSet<ConnId>,
}

fn frame(repr: &TcpRepr) -> Vec<u8> {
    let mut buf = vec![0u8; wire::TCP_FRAME_MAX_HEADER + repr.payload.len()];
    let n = wire::emit_tcp_frame(&mut buf, PEER, US, *REMOTE.ip(), *LOCAL.ip(), repr);
    buf.truncate(n);
    buf
}

fn repr(
    port: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    options: TcpOptions,
    payload: &[u8],
) -> TcpRepr<'_> {
    TcpRepr {
        src_port: port,
        dst_port: LOCAL.port(),
        seq: SeqNumber(seq),
        ack: SeqNumber(ack),
        flags,
        window: 65535,
        urgent: 0,
        options,
        payload,
    }
}

impl Fixture {
    /// An engine listening on LOCAL with one accepted connection from REMOTE.
    fn new() -> Self {
        let now = Instant::from_millis(1000);
        let cfg = Config {
            syn_retries: 3,
            max_retries: 4,
            ..Config::default()
        };
        let mut f = Fixture {
            engine: Engine::new(cfg, US, [5; 16], now).unwrap(),
            now,
            tx: FrameBatch::new(),
            events: Events::new(),
            peer_seq: 1000,
            our_seq: 0,
            conn: None,
            ended: HashSet::new(),
            live: HashSet::new(),
        };
        f.engine.listen(LOCAL).unwrap();
        f.feed(&frame(&repr(
            REMOTE.port(),
            1000,
            0,
            TcpFlags::SYN,
            TcpOptions::default(),
            &[],
        )));
        let synack = wire::parse_tcp_frame(f.tx.get(0).unwrap(), true)
            .unwrap()
            .tcp
            .seq
            .0;
        f.our_seq = synack.wrapping_add(1);
        f.peer_seq = 1001;
        f.feed(&frame(&repr(
            REMOTE.port(),
            1001,
            f.our_seq,
            TcpFlags::ACK,
            TcpOptions::default(),
            &[],
        )));
        f.conn = Some(*f.live.iter().next().expect("handshake did not complete"));
        f
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.tx.clear();
        self.engine.handle_frames(self.now, [bytes], &mut self.tx);
        self.after();
    }

    fn after(&mut self) {
        self.engine.swap_events(&mut self.events);
        for ev in self.events.iter() {
            assert!(
                !self.ended.contains(&ev.conn),
                "event {ev} after the connection ended"
            );
            match ev.kind {
                EventKind::Accepted => assert!(self.live.insert(ev.conn), "accepted twice"),
                k if k.is_terminal() => {
                    assert!(
                        self.live.remove(&ev.conn),
                        "terminal event for an unknown connection"
                    );
                    self.ended.insert(ev.conn);
                }
                _ => assert!(
                    self.live.contains(&ev.conn),
                    "event for an unknown connection"
                ),
            }
        }
        self.engine.poll_transmit(self.now, &mut self.tx);
    }

    fn apply(&mut self, input: &Input) {
        match input {
            Input::Bytes(b) => self.feed(b),
            &Input::Segment {
                flags,
                seq,
                ack,
                len,
                options,
                port,
            } => {
                let payload = vec![b'x'; len];
                let opts = if options {
                    TcpOptions {
                        mss: Some(536),
                        window_scale: Some(3),
                        sack_permitted: true,
                        timestamps: Some((seq as u32, 0)),
                        ..Default::default()
                    }
                } else {
                    TcpOptions::default()
                };
                let r = repr(
                    port,
                    self.peer_seq.wrapping_add(seq as u32),
                    self.our_seq.wrapping_add(ack as u32),
                    TcpFlags(flags),
                    opts,
                    &payload,
                );
                self.feed(&frame(&r));
            }
            Input::Wait(ms) => {
                self.now = self.now + Duration::from_millis(u64::from(*ms));
                self.tx.clear();
                self.engine.handle_timeout(self.now, &mut self.tx);
                self.after();
            }
            Input::Close(abort) => {
                let Some(conn) = self.conn else { return };
                let r = if *abort {
                    self.engine.abort(conn, self.now)
                } else {
                    self.engine.close(conn, self.now)
                };
                if r.is_ok() {
                    self.tx.clear();
                    self.after();
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_input_never_panics_nor_leaks(inputs in proptest::collection::vec(input(), 1..60)) {
        let mut f = Fixture::new();
        for i in &inputs {
            f.apply(i);
        }
        // Whatever happened, closing and letting every timer run leaves only
        // connections the peer never let finish, which the retry limits end.
        for conn in f.live.clone() {
            f.conn = Some(conn);
            f.apply(&Input::Close(false));
        }
        for _ in 0..40 {
            f.apply(&Input::Wait(60_000));
        }
        prop_assert!(f.live.is_empty(), "connections never ended: {:?}", f.live);
        prop_assert_eq!(f.engine.tcb_count(), 0);
        prop_assert_eq!(f.engine.time_wait_count(), 0);
        // Random frames and commands take only RFC 9293 §3.10's edges.
        prop_assert_eq!(f.engine.stats().illegal_transitions, 0);
    }
}
