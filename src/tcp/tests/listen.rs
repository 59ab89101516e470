//! Passive open (`listen.rs`): LISTEN, SYN-RECEIVED, backlogs and SYN cookies.

use super::*;

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
        ..Default::default()
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
        ..Default::default()
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

/// A cookie handshake with timestamps whose SYN did (or did not) offer
/// SACK-permitted; returns the harness, the SYN-ACK and the connection.
fn cookie_handshake_with_timestamps(sack_permitted: bool) -> (Harness, Seg, ConnId) {
    let mut h = Harness::new(Config {
        syn_backlog: 1,
        delayed_ack: Duration::ZERO,
        ..Config::default()
    });
    h.engine.listen(LOCAL).unwrap();
    send_from_port(&mut h, 1, 9, 0, SYN);
    h.recv();
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        sack_permitted,
        timestamps: Some((1000, 0)),
        ..Default::default()
    }));
    let sa = h.recv_one();
    assert_eq!(h.engine.stats().syn_cookies_sent, 1);
    let (tsval, _) = sa.options.timestamps.expect("timestamps");
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(TcpOptions {
        timestamps: Some((1001, tsval)),
        ..Default::default()
    }));
    let c = h.events_conn();
    (h, sa, c)
}

#[test]
fn rfc4987_3_6_rfc2018_2_sack_permitted_survives_a_syn_cookie_in_the_tsval() {
    let (mut h, sa, c) = cookie_handshake_with_timestamps(true);
    assert!(sa.options.sack_permitted, "the cookie SYN-ACK offers SACK");
    let (tsval, _) = sa.options.timestamps.unwrap();
    assert_eq!(tsval & 0x20, 0x20, "remembered in the TSval");
    assert!(tcb_of(&h, c).sack_ok);
    // And used: text beyond a gap draws an ACK with its block.
    let ts = TcpOptions {
        timestamps: Some((1002, tsval)),
        ..Default::default()
    };
    h.send(
        seg(PEER_ISS + 11, sa.seq + 1, ACK)
            .options(ts)
            .data(b"later"),
    );
    let a = h.recv_one();
    let blocks: Vec<(u32, u32)> = a
        .options
        .sack
        .as_slice()
        .iter()
        .map(|&(l, r)| (l.0, r.0))
        .collect();
    assert_eq!(blocks, vec![(PEER_ISS + 11, PEER_ISS + 16)]);
}

#[test]
fn rfc4987_3_6_rfc2018_2_a_cookie_offers_no_sack_the_syn_did_not() {
    let (h, sa, c) = cookie_handshake_with_timestamps(false);
    assert!(!sa.options.sack_permitted);
    assert_eq!(sa.options.timestamps.unwrap().0 & 0x20, 0);
    assert!(!tcb_of(&h, c).sack_ok);
}

#[test]
fn rfc4987_3_6_rfc2018_2_without_timestamps_a_cookie_ack_cannot_turn_sack_on_by_its_tsecr() {
    let mut h = Harness::new(Config {
        syn_backlog: 1,
        timestamps: false,
        delayed_ack: Duration::ZERO,
        ..Config::default()
    });
    h.engine.listen(LOCAL).unwrap();
    send_from_port(&mut h, 1, 9, 0, SYN);
    h.recv();
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        sack_permitted: true,
        timestamps: Some((1000, 0)),
        ..Default::default()
    }));
    let sa = h.recv_one();
    assert_eq!(h.engine.stats().syn_cookies_sent, 1);
    assert!(sa.options.timestamps.is_none());
    assert!(!sa.options.sack_permitted, "no TSval to remember it in");
    // A peer that sends timestamps anyway, its TSecr with every option
    // bit set, is not believed.
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(TcpOptions {
        timestamps: Some((1001, u32::MAX)),
        ..Default::default()
    }));
    let c = h.events_conn();
    let t = tcb_of(&h, c);
    assert!(!t.sack_ok);
    assert!(!t.has(tcb::flag::TS_OK) && !t.has(tcb::flag::WS_OK));
}

/// RFC 9293 §3.7.1: SMSS comes from the SYN of each connection, never from
/// the last user of a reused TCB slot, whichever side opened either (the
/// passive open sets it from the SYN alone, the active one from our MSS).
#[test]
fn rfc9293_3_7_1_a_reused_slot_takes_smss_from_its_own_open() {
    let mut h = Harness::listening();
    let smss = |h: &Harness, remote: SocketAddrV4| {
        let Some(table::Slot::Tcb(index)) = h.engine.table.get(&FourTuple::new(LOCAL, remote))
        else {
            panic!("no TCB for {remote}");
        };
        let tcb = &h.engine.table.tcbs[index as usize];
        (index, tcb.snd_mss, tcb.cwnd)
    };
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        mss: Some(1000),
        ..Default::default()
    }));
    h.recv_one();
    let (slot, mss, cwnd) = smss(&h, REMOTE);
    assert_eq!((mss, cwnd), (1000, 10_000));
    h.send(seg(PEER_ISS + 1, 0, RST));
    assert_eq!(h.engine.tcb_count(), 0);

    let other = SocketAddrV4::new(*REMOTE.ip(), 1);
    let c = h.engine.connect(h.now, LOCAL, other, PEER).unwrap();
    assert_eq!(smss(&h, other), (slot, 1460, 14_600));
    h.engine.abort(c, h.now).unwrap();
    h.recv();

    h.send(seg(PEER_ISS, 0, SYN));
    h.recv_one();
    assert_eq!(smss(&h, REMOTE), (slot, 536, 5_360));
}
