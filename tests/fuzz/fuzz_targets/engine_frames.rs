//! Arbitrary frame sequences into an engine that listens and holds one
//! established connection: nothing may panic, and no connection may outlive
//! its timers once the application has closed it.
//!
//! Input: a sequence of records `[len][len bytes]`; `len` 0 advances time by
//! the next byte × 50 ms. Frames are mostly variations of valid segments of
//! the connection: the first byte of each record picks the flags, the next
//! four offset the sequence number, then the payload; raw bytes follow when
//! the record's first byte is 0xff.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use synwave::tcp::{Config, Engine, EventKind, Events, FrameBatch, Instant};
use synwave::wire::{self, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const PEER: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40000);

fn frame(seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: REMOTE.port(),
        dst_port: LOCAL.port(),
        seq: SeqNumber(seq),
        ack: SeqNumber(ack),
        flags: TcpFlags(flags),
        window: 65535,
        urgent: 0,
        options: TcpOptions::default(),
        payload,
    };
    let mut buf = vec![0u8; wire::TCP_FRAME_MAX_HEADER + payload.len()];
    let n = wire::emit_tcp_frame(&mut buf, PEER, US, *REMOTE.ip(), *LOCAL.ip(), &repr);
    buf.truncate(n);
    buf
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::from_millis(1000);
    let cfg = Config { syn_retries: 2, max_retries: 3, syn_backlog: 4, ..Config::default() };
    let mut e = Engine::new(cfg, US, [1; 16], now).unwrap();
    let mut tx = FrameBatch::new();
    let mut events = Events::new();
    e.listen(LOCAL).unwrap();
    e.handle_frames(now, [frame(1000, 0, 0x02, &[]).as_slice()], &mut tx);
    e.poll_transmit(now, &mut tx);
    let iss = wire::parse_tcp_frame(tx.get(0).unwrap(), true).unwrap().tcp.seq.0;
    e.handle_frames(now, [frame(1001, iss + 1, 0x10, &[]).as_slice()], &mut tx);

    let mut rest = data;
    while let [len, tail @ ..] = rest {
        let len = usize::from(*len);
        if len == 0 {
            let step = tail.first().copied().unwrap_or(1);
            now = now + Duration::from_millis(u64::from(step) * 50);
            e.handle_timeout(now, &mut tx);
            rest = tail.get(1..).unwrap_or(&[]);
            continue;
        }
        let rec = &tail[..len.min(tail.len())];
        rest = &tail[rec.len()..];
        let bytes = match rec {
            [0xff, raw @ ..] => raw.to_vec(),
            [flags, a, b, c, d, payload @ ..] => {
                let off = u32::from_le_bytes([*a, *b, *c, *d]);
                // Mostly near the connection's numbers, sometimes anywhere.
                let off = if off & 0x8000_0000 == 0 { off % 70_000 } else { off };
                frame(1001u32.wrapping_add(off), iss.wrapping_add(1).wrapping_add(off >> 3), *flags, payload)
            }
            _ => rec.to_vec(),
        };
        tx.clear();
        e.handle_frames(now, [bytes.as_slice()], &mut tx);
        e.swap_events(&mut events);
        for ev in events.iter() {
            if ev.kind == EventKind::PeerClosed {
                let _ = e.close(ev.conn, now);
            }
        }
        e.poll_transmit(now, &mut tx);
    }
    // Whatever state remains, the retry limits and 2MSL end it.
    for _ in 0..200 {
        now = now + Duration::from_secs(10);
        tx.clear();
        e.handle_timeout(now, &mut tx);
        e.swap_events(&mut events);
        for ev in events.iter() {
            let _ = e.close(ev.conn, now);
        }
        e.poll_transmit(now, &mut tx);
    }
    assert!(e.time_wait_count() == 0, "TIME-WAIT outlived 2MSL");
});
