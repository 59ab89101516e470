//! SEGMENT ARRIVES (`input.rs`): CLOSED, SYN-SENT and the synchronized states'
//! checks, data, options and PAWS.

use super::*;

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
fn rfc7323_window_scale_and_timestamps_are_negotiated() {
    let mut h = Harness::new(Config::default());
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        mss: Some(1460),
        window_scale: Some(2),
        sack_permitted: true,
        timestamps: Some((777, 0)),
        ..Default::default()
    }));
    let sa = h.recv_one();
    assert_eq!(sa.options.window_scale, Some(7));
    assert_eq!(sa.options.timestamps.map(|t| t.1), Some(777));
    assert!(sa.options.sack_permitted, "RFC 2018 §2: SACK answered");
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
    assert!(tw <= 96, "TIME-WAIT entry costs {tw} bytes");
    // A record alone fits a cache line: millions of them are the steady
    // state of a load at line rate.
    let (tcb_alone, record) = Engine::record_bytes();
    assert!(record <= 64, "TIME-WAIT record is {record} bytes");
    // Issue 14's budget: the TCB itself, cold parts out of line.
    assert!(tcb_alone <= 160, "TCB is {tcb_alone} bytes");
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

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// `handle_frames` starts the lookups of a batch's frames, up to 16 at a
    /// time, before it handles any (engine.rs): however the batch falls into
    /// those runs, with frames the plain parse takes and those it leaves to
    /// the general one (IP options, too short to hold a tuple), the engine
    /// must do exactly what it does with the same frames handed over one at
    /// a time (RFC 9293 §3.10.7: each segment processed in turn).
    #[test]
    fn a_batch_is_handled_as_its_frames_one_at_a_time(
        frames in proptest::collection::vec((0u16..24, 0u8..4, 0usize..3), 0..60),
    ) {
        let build = |&(port, kind, ip_options): &(u16, u8, usize)| -> Vec<u8> {
            let port = 40_000 + port;
            match kind {
                0 => frame_from(port, &seg(PEER_ISS, 0, SYN), ip_options),
                // The ACK completing the handshake of the SYN above, if there was one.
                1 => frame_from(port, &seg(PEER_ISS + 1, 1, ACK), ip_options),
                2 => frame_from(port, &seg(PEER_ISS + 1, 1, ACK).data(b"x"), ip_options),
                _ => vec![0x45; 20 + usize::from(port % 30)],
            }
        };
        let frames: Vec<Vec<u8>> = frames.iter().map(build).collect();
        let mut batched = Harness::listening();
        batched.engine.handle_frames(batched.now, frames.iter().map(|f| &f[..]), &mut batched.tx);
        let mut single = Harness::listening();
        for f in &frames {
            single.engine.handle_frames(single.now, [&f[..]], &mut single.tx);
        }
        for h in [&mut batched, &mut single] {
            h.engine.poll_transmit(h.now, &mut h.tx);
            h.collect_events();
        }
        let sent = |h: &Harness| h.tx.iter().map(<[u8]>::to_vec).collect::<Vec<_>>();
        proptest::prop_assert_eq!(sent(&batched), sent(&single));
        proptest::prop_assert_eq!(batched.engine.stats(), single.engine.stats());
        proptest::prop_assert_eq!(batched.events.len(), single.events.len());
        proptest::prop_assert_eq!(batched.engine.stats().frames_in, frames.len() as u64);
    }
}

/// RFC 791 §3.1: IP options move the TCP header, and with it the ports,
/// from where a plain frame has them; the lookup started ahead of such a
/// frame (from the plain offsets) must not be the one that finds its
/// connection. Its text, between plain frames in one batch, is delivered.
#[test]
fn rfc791_a_segment_behind_ip_options_reaches_its_connection() {
    let (mut h, iss1, _) = Harness::accepted();
    let port = REMOTE.port();
    let frames = [
        frame_from(port, &seg(PEER_ISS + 1, iss1, ACK).data(b"he"), 0),
        frame_from(port, &seg(PEER_ISS + 3, iss1, ACK).data(b"ll"), 2),
        frame_from(port, &seg(PEER_ISS + 5, iss1, ACK).data(b"o"), 0),
    ];
    h.engine
        .handle_frames(h.now, frames.iter().map(|f| &f[..]), &mut h.tx);
    h.collect_events();
    let mut got = Vec::new();
    for ev in h.events.iter() {
        got.extend_from_slice(h.events.data(&ev.kind));
    }
    assert_eq!(got, b"hello");
    let a = h.recv_one();
    assert_eq!((a.flags, a.ack), (ACK, PEER_ISS + 6));
    assert_eq!(h.engine.stats().no_connection, 0);
}
