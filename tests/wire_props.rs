//! Property tests of the wire layer: no input makes a parser panic, and
//! whatever we emit parses back to the same thing with checksums that verify
//! (RFC 1071, RFC 9293 §3.1).

use proptest::prelude::*;
use std::net::Ipv4Addr;
use synwave::wire::{
    self, checksum, ArpPacket, ArpRepr, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr,
    TcpSegment,
};

fn options() -> impl Strategy<Value = TcpOptions> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(0u8..15),
        any::<bool>(),
        proptest::option::of((any::<u32>(), any::<u32>())),
        proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=4),
    )
        .prop_map(|(mss, window_scale, sack_permitted, timestamps, blocks)| {
            let mut o = TcpOptions {
                mss,
                window_scale,
                sack_permitted,
                timestamps,
                ..Default::default()
            };
            // SACK blocks (RFC 2018 §3), as many as the 40 bytes of
            // option space leave room for.
            let room = (40 - o.len()).saturating_sub(4) / 8;
            for (l, r) in blocks.into_iter().take(room) {
                o.sack.push(SeqNumber(l), SeqNumber(r));
            }
            o
        })
}

fn valid_frame(payload: &[u8], options: TcpOptions, flags: u8) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: 1234,
        dst_port: 80,
        seq: SeqNumber(7),
        ack: SeqNumber(9),
        flags: TcpFlags(flags),
        window: 1000,
        urgent: 0,
        options,
        payload,
    };
    let mut buf = vec![0u8; wire::TCP_FRAME_MAX_HEADER + payload.len()];
    let n = wire::emit_tcp_frame(
        &mut buf,
        MacAddr([1; 6]),
        MacAddr([2; 6]),
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        &repr,
    );
    buf.truncate(n);
    buf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = wire::parse_tcp_frame(&bytes, true);
        let _ = wire::parse_tcp_frame(&bytes, false);
        if let Ok(p) = ArpPacket::new_checked(&bytes[..]) {
            let _ = ArpRepr::parse(&p);
        }
        if let Ok(s) = TcpSegment::new_checked(&bytes[..]) {
            let _ = TcpRepr::parse(&s, Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, false);
        }
        let _ = TcpOptions::parse(&bytes);
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        opts in options(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut frame = valid_frame(&payload, opts, 0x12);
        for (at, value) in flips {
            let i = at % frame.len();
            frame[i] = value;
        }
        let keep = cut % (frame.len() + 1);
        let _ = wire::parse_tcp_frame(&frame[..keep], true);
        let _ = wire::parse_tcp_frame(&frame[..keep], false);
    }

    #[test]
    fn rfc9293_3_1_emit_then_parse_round_trips(
        src_port in any::<u16>(), dst_port in any::<u16>(), seq in any::<u32>(), ack in any::<u32>(),
        flags in any::<u8>(), window in any::<u16>(), urgent in any::<u16>(), opts in options(),
        payload in proptest::collection::vec(any::<u8>(), 0..1460),
    ) {
        let repr = TcpRepr {
            src_port, dst_port, seq: SeqNumber(seq), ack: SeqNumber(ack), flags: TcpFlags(flags),
            window, urgent, options: opts, payload: &payload,
        };
        let (a, b) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 7));
        let mut buf = vec![0u8; wire::TCP_FRAME_MAX_HEADER + payload.len()];
        let n = wire::emit_tcp_frame(&mut buf, MacAddr([3; 6]), MacAddr([4; 6]), a, b, &repr);
        let f = wire::parse_tcp_frame(&buf[..n], true).unwrap();
        prop_assert_eq!(f.tcp, repr);
        prop_assert_eq!((f.ip.src, f.ip.dst), (a, b));
    }

    #[test]
    fn rfc1624_incremental_update_agrees_with_recompute(
        words in proptest::collection::vec(any::<u16>(), 10..30), at in any::<usize>(), new in any::<u16>(),
    ) {
        let bytes = |w: &[u16]| w.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        let i = at % words.len();
        let before = checksum::finish(checksum::sum(&bytes(&words)));
        let mut changed = words.clone();
        changed[i] = new;
        let after = checksum::finish(checksum::sum(&bytes(&changed)));
        let incremental = checksum::update(before, words[i], new);
        // 0x0000 and 0xffff are the same number in ones' complement.
        prop_assert!(incremental == after || (incremental | after) == 0xffff && (incremental & after) == 0);
    }
}
