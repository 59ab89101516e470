//! Delayed ACKs (RFC 9293 §3.8.6.3, RFC 1122 4.2.3.2, RFC 5681 §4.2): the
//! ACK of in-order text waits for a segment of ours to carry it, or for
//! the delayed-ACK timer; what the sender needs at once it gets at once.

use super::*;

const DELAY: Duration = Duration::from_millis(40);

fn delaying() -> (Harness, u32, ConnId) {
    Harness::new_accepted(Config {
        delayed_ack: DELAY,
        ..config()
    })
}

#[test]
fn rfc9293_3_8_6_3_a_lone_segment_is_acked_when_the_delayed_ack_timer_fires() {
    let (mut h, iss, _) = delaying();
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"hello"));
    assert!(h.recv().is_empty(), "not at once");
    h.advance(DELAY - Duration::from_millis(1));
    assert!(h.recv().is_empty(), "not before the timer");
    h.advance(Duration::from_millis(1));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss, PEER_ISS + 6, ACK));
    assert!(a.payload.is_empty());
    assert_eq!(h.engine.stats().delayed_acks, 1);
    // Once: nothing more is owed.
    h.advance(Duration::from_secs(1));
    assert!(h.recv().is_empty());
}

#[test]
fn rfc9293_3_8_6_3_more_text_before_the_timer_does_not_restart_it() {
    let (mut h, iss, _) = delaying();
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"a"));
    assert!(h.recv().is_empty());
    h.advance(Duration::from_millis(30));
    h.send(seg(PEER_ISS + 2, iss, ACK).data(b"b"));
    assert!(h.recv().is_empty());
    h.advance(Duration::from_millis(10));
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 3, "both, 40 ms after the first");
}

#[test]
fn rfc1122_4_2_3_2_a_response_carries_the_ack_and_no_pure_ack_follows() {
    let (mut h, iss, c) = delaying();
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"GET /"));
    h.engine.send(c, b"200 OK").unwrap();
    let r = h.recv_one();
    assert_eq!(
        (r.seq, r.ack, r.payload.as_slice()),
        (iss, PEER_ISS + 6, &b"200 OK"[..])
    );
    // The peer ACKs the response; no delayed ACK was left running.
    h.send(seg(PEER_ISS + 6, iss + 6, ACK));
    h.advance(Duration::from_secs(2));
    assert!(h.recv().is_empty());
    assert_eq!(h.engine.stats().delayed_acks, 0);
}

#[test]
fn rfc9293_3_8_6_3_a_response_after_the_turn_carries_the_ack_and_cancels_the_timer() {
    let (mut h, iss, c) = delaying();
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"GET /"));
    assert!(h.recv().is_empty());
    h.advance(Duration::from_millis(20));
    h.engine.send(c, b"200 OK").unwrap();
    let r = h.recv_one();
    assert_eq!((r.ack, r.payload.len()), (PEER_ISS + 6, 6));
    h.send(seg(PEER_ISS + 6, iss + 6, ACK));
    h.advance(Duration::from_millis(100));
    assert!(h.recv().is_empty(), "the timer was cancelled");
    assert_eq!(h.engine.stats().delayed_acks, 0);
}

#[test]
fn rfc5681_4_2_a_second_full_sized_segment_is_acked_at_once() {
    let (mut h, iss, c) = delaying();
    let mss = usize::from(tcb_of(&h, c).snd_mss);
    h.send(seg(PEER_ISS + 1, iss, ACK).data(&vec![1; mss]));
    assert!(h.recv().is_empty());
    h.send(seg(PEER_ISS + 1 + mss as u32, iss, ACK).data(&vec![2; mss]));
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 1 + 2 * mss as u32);
    h.advance(DELAY);
    assert!(h.recv().is_empty(), "the timer has nothing left to send");
}

#[test]
fn rfc5681_4_2_out_of_order_text_and_the_text_that_fills_the_gap_are_acked_at_once() {
    let (mut h, iss, _) = delaying();
    h.send(seg(PEER_ISS + 6, iss, ACK).data(b"world"));
    assert_eq!(h.recv_one().ack, PEER_ISS + 1, "the duplicate ACK at once");
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"hello"));
    assert_eq!(h.recv_one().ack, PEER_ISS + 11, "the gap filled: at once");
    assert_eq!(h.engine.stats().delayed_acks, 0);
}

#[test]
fn rfc9293_3_10_7_4_a_fin_is_acked_at_once() {
    let (mut h, iss, _) = delaying();
    h.send(seg(PEER_ISS + 1, iss, fin_ack()).data(b"bye"));
    assert_eq!(h.recv_one().ack, PEER_ISS + 5);
}

#[test]
fn rfc9293_3_8_6_3_a_delay_of_half_a_second_or_more_is_refused() {
    let cfg = Config {
        delayed_ack: Duration::from_millis(500),
        ..Config::default()
    };
    assert!(cfg.validate().is_err());
    let cfg = Config {
        delayed_ack: Duration::from_millis(499),
        ..Config::default()
    };
    assert!(cfg.validate().is_ok());
}
