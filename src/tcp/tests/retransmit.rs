//! Timers (`retransmit.rs`): RTO, SYN retransmission, persist, SWS avoidance, congestion window.

use super::*;

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
fn rfc9293_3_8_3_fin_is_retransmitted_until_acked() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.advance(Duration::from_secs(1));
    let f = h.recv_one();
    assert_eq!((f.seq, f.flags), (iss1, fin_ack()));
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

/// RFC 6298 §3 allows an RTT sample from a retransmitted segment where
/// timestamps tell which copy was answered (RFC 7323 §4.1): a SYN-ACK
/// echoing the repeated SYN's TSval times the path, and RTO follows from
/// it (§2.2) instead of §5.7's 3 s — which, twice over, outlasts a
/// load's response timeout.
#[test]
fn rfc6298_3_a_syn_ack_echoing_the_repeated_syn_times_the_path_not_3s() {
    let mut h = Harness::new(Config {
        timestamps: true,
        ..config()
    });
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    h.recv_one();
    h.advance(Duration::from_secs(1));
    let again = h.recv_one();
    let (tsval, _) = again.options.timestamps.expect("timestamps offered");
    h.advance(Duration::from_millis(10));
    h.send(seg(PEER_ISS, again.seq + 1, syn_ack()).options(TcpOptions {
        timestamps: Some((500, tsval)),
        ..Default::default()
    }));
    assert_eq!(h.kinds(), vec![EventKind::Connected]);
    h.recv_one();
    data_goes_again_at_the_rto_min(&mut h, c);
}

/// `c`'s handshake was timed at 10 ms: RTO = max(10 + 4 * 5 ms, RTO min
/// 200 ms), so data goes again at 200 ms, not 3 s.
fn data_goes_again_at_the_rto_min(h: &mut Harness, c: ConnId) {
    h.engine.send(c, b"data").unwrap();
    h.recv_one();
    h.advance(Duration::from_millis(199));
    assert!(h.recv().is_empty(), "retransmitted below the RTO min");
    h.advance(Duration::from_millis(1));
    let r = h.recv_one();
    assert_eq!(r.payload, b"data", "RTO not from the timestamp sample");
}

/// The server's side of the same: the handshake's ACK echoes the repeated
/// SYN-ACK's TSval.
#[test]
fn rfc6298_3_an_ack_echoing_the_repeated_syn_ack_times_the_path_not_3s() {
    let mut h = Harness::new(Config {
        timestamps: true,
        ..config()
    });
    h.engine.listen(LOCAL).unwrap();
    h.send(seg(PEER_ISS, 0, SYN).options(ts(1000)));
    let sa = h.recv_one();
    h.advance(Duration::from_secs(1));
    let again = h.recv_one();
    assert_eq!(again.seq, sa.seq, "SYN-ACK not repeated on its RTO");
    let (tsval, _) = again.options.timestamps.expect("timestamps echoed");
    h.advance(Duration::from_millis(10));
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(TcpOptions {
        timestamps: Some((1001, tsval)),
        ..Default::default()
    }));
    let c = h.events_conn();
    data_goes_again_at_the_rto_min(&mut h, c);
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
