//! Closing (RFC 9293 §3.10.4–3.10.5): FIN exchanges, half-close, FIN-WAIT-2, abort.

use super::*;

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
