//! Rate-limited ACKs (`challenge.rs`): RFC 5961 challenge ACKs and ACKs to unacceptable segments.

use super::*;

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
