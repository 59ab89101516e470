//! D-SACK (RFC 2883): a duplicate segment is reported in the first SACK
//! block of its ACK; and on the sending side, retransmissions so reported
//! are counted spurious, and an episode whose every one was is undone
//! (RFC 3708).

use super::reassembly::accepted_with_sack;
use super::*;

const MSS: u32 = 536; // the peer's SYN carried no MSS option

fn sack(blocks: &[(u32, u32)]) -> TcpOptions {
    let mut s = wire::SackBlocks::default();
    for &(l, r) in blocks {
        s.push(SeqNumber(l), SeqNumber(r));
    }
    TcpOptions {
        sack: s,
        ..Default::default()
    }
}

fn blocks(s: &Seg) -> Vec<(u32, u32)> {
    s.options
        .sack
        .as_slice()
        .iter()
        .map(|&(l, r)| (l.0, r.0))
        .collect()
}

#[test]
fn rfc2883_4_1_a_duplicate_below_rcv_nxt_is_reported_in_the_first_sack_block() {
    let (mut h, iss, _) = accepted_with_sack(config(), false);
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"hello"));
    assert!(blocks(&h.recv_one()).is_empty());
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"hello"));
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 6);
    assert_eq!(blocks(&a), vec![(PEER_ISS + 1, PEER_ISS + 6)]);
    assert_eq!(h.engine.stats().dsacks_sent, 1);
    // The next ACK reports nothing again.
    h.send(seg(PEER_ISS + 6, iss, ACK).data(b"!"));
    assert!(blocks(&h.recv_one()).is_empty());
}

#[test]
fn rfc2883_4_1_a_partial_duplicate_reports_the_part_held_in_an_ack_at_once() {
    let (mut h, iss, _) = accepted_with_sack(
        Config {
            delayed_ack: Duration::from_millis(40),
            ..config()
        },
        false,
    );
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"hello"));
    assert!(h.recv().is_empty(), "delayed");
    h.advance(Duration::from_millis(40));
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"hello world"));
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 12);
    assert_eq!(blocks(&a), vec![(PEER_ISS + 1, PEER_ISS + 6)]);
}

#[test]
fn rfc2883_4_2_a_duplicate_beyond_a_gap_goes_first_then_the_block_holding_it() {
    let (mut h, iss, _) = accepted_with_sack(config(), false);
    h.send(seg(PEER_ISS + 6, iss, ACK).data(b"world"));
    h.recv_one();
    h.send(seg(PEER_ISS + 20, iss, ACK).data(b"xyz"));
    assert_eq!(
        blocks(&h.recv_one()),
        vec![
            (PEER_ISS + 20, PEER_ISS + 23),
            (PEER_ISS + 6, PEER_ISS + 11)
        ]
    );
    h.send(seg(PEER_ISS + 7, iss, ACK).data(b"orl"));
    let a = h.recv_one();
    assert_eq!(a.ack, PEER_ISS + 1);
    assert_eq!(
        blocks(&a),
        vec![
            (PEER_ISS + 7, PEER_ISS + 10),
            (PEER_ISS + 6, PEER_ISS + 11),
            (PEER_ISS + 20, PEER_ISS + 23)
        ]
    );
}

#[test]
fn rfc2883_without_sack_a_duplicate_is_acked_without_blocks() {
    let (mut h, iss, _) = Harness::accepted();
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"hello"));
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss, ACK).data(b"hello"));
    assert!(blocks(&h.recv_one()).is_empty());
    assert_eq!(h.engine.stats().dsacks_sent, 0);
}

/// Ten segments out on a connection with SACK, and a fast retransmit of
/// the first on three duplicate ACKs whose blocks show the next three.
fn fast_retransmit_with_sack() -> (Harness, u32, ConnId, u32, u32) {
    let (mut h, iss, c) = accepted_with_sack(config(), false);
    h.engine.send(c, &[7u8; 10 * MSS as usize]).unwrap();
    assert_eq!(h.recv().len(), 10, "IW10");
    let (cwnd, ssthresh) = (tcb_of(&h, c).cwnd, tcb_of(&h, c).ssthresh);
    for k in 2..5 {
        let s = seg(PEER_ISS + 1, iss, ACK).options(sack(&[(iss + MSS, iss + k * MSS)]));
        h.send(s);
    }
    let out = h.recv();
    assert_eq!(out[0].seq, iss, "the fast retransmit");
    assert!(tcb_of(&h, c).in_recovery);
    assert!(tcb_of(&h, c).cwnd < cwnd);
    (h, iss, c, cwnd, ssthresh)
}

#[test]
fn rfc3708_a_dsack_of_every_retransmission_counts_them_spurious_and_undoes_the_reduction() {
    let (mut h, iss, c, cwnd, ssthresh) = fast_retransmit_with_sack();
    // The original was only late: the full ACK, then the duplicate's.
    h.send(seg(PEER_ISS + 1, iss + 10 * MSS, ACK));
    h.send(seg(PEER_ISS + 1, iss + 10 * MSS, ACK).options(sack(&[(iss, iss + MSS)])));
    let st = h.engine.stats();
    assert_eq!(
        (st.dsacks_received, st.spurious_retransmits, st.undos),
        (1, 1, 1)
    );
    let t = tcb_of(&h, c);
    assert!(
        t.cwnd >= cwnd,
        "cwnd {} restored to {cwnd} at least",
        t.cwnd
    );
    assert_eq!(t.ssthresh, ssthresh);
    assert!(!t.in_recovery);
    assert_eq!(h.engine.core.episodes.in_use(), 0);
}

#[test]
fn rfc3708_a_dsack_of_one_retransmission_of_two_undoes_nothing_and_is_no_duplicate_ack() {
    let (mut h, iss, c, _, ssthresh) = fast_retransmit_with_sack();
    // A partial ACK: the segment after it goes again too.
    h.send(seg(PEER_ISS + 1, iss + 5 * MSS, ACK));
    let out = h.recv();
    assert!(out.iter().any(|o| o.seq == iss + 5 * MSS), "{out:?}");
    let dup_acks = tcb_of(&h, c).dup_acks;
    // The first retransmission was a duplicate; the second may not be.
    h.send(seg(PEER_ISS + 1, iss + 5 * MSS, ACK).options(sack(&[(iss, iss + MSS)])));
    let st = h.engine.stats();
    assert_eq!(
        (st.dsacks_received, st.spurious_retransmits, st.undos),
        (1, 1, 0)
    );
    let t = tcb_of(&h, c);
    assert!(t.in_recovery);
    assert!(t.ssthresh < ssthresh);
    assert_eq!(t.dup_acks, dup_acks, "a D-SACK alone is no duplicate ACK");
}

#[test]
fn rfc2883_4_a_dsack_of_what_was_never_retransmitted_is_no_spurious_retransmission() {
    let (mut h, iss, c) = accepted_with_sack(config(), false);
    h.engine.send(c, &[7u8; 2 * MSS as usize]).unwrap();
    assert_eq!(h.recv().len(), 2);
    // The network duplicated our first segment.
    h.send(seg(PEER_ISS + 1, iss + MSS, ACK));
    h.send(seg(PEER_ISS + 1, iss + MSS, ACK).options(sack(&[(iss, iss + MSS)])));
    let st = h.engine.stats();
    assert_eq!(
        (st.dsacks_received, st.spurious_retransmits, st.undos),
        (1, 0, 0)
    );
    assert_eq!(st.fast_retransmits, 0);
}

#[test]
fn rfc8985_7_4_a_tlp_answered_with_a_dsack_of_the_probe_keeps_the_window() {
    let cfg = Config {
        tail_loss_probe: true,
        ..config()
    };
    let (mut h, iss, c) = accepted_with_sack(cfg, false);
    // An RTT sample first: the probe timeout is of SRTT.
    h.engine.send(c, &[7u8; MSS as usize]).unwrap();
    h.recv_one();
    h.advance(Duration::from_millis(10));
    h.send(seg(PEER_ISS + 1, iss + MSS, ACK));
    h.engine.send(c, &[7u8; 4 * MSS as usize]).unwrap();
    assert_eq!(h.recv().len(), 4);
    let (cwnd, ssthresh) = (tcb_of(&h, c).cwnd, tcb_of(&h, c).ssthresh);
    h.advance(Duration::from_millis(100));
    let probe = h.recv_one();
    assert_eq!(probe.seq, iss + 4 * MSS, "the tail loss probe");
    // Nothing was lost, the ACK was only late: it covers the tail and
    // reports the probe as a duplicate.
    h.send(seg(PEER_ISS + 1, iss + 5 * MSS, ACK).options(sack(&[(iss + 4 * MSS, iss + 5 * MSS)])));
    let st = h.engine.stats();
    assert_eq!((st.tlps, st.undos, st.tlp_recoveries), (1, 1, 0), "{st:?}");
    let t = tcb_of(&h, c);
    assert!(t.cwnd >= cwnd, "cwnd {} kept at {cwnd} at least", t.cwnd);
    assert_eq!(t.ssthresh, ssthresh);
}

#[test]
fn rfc3708_connections_entering_time_wait_mid_episode_give_their_records_back() {
    let mut h = Harness::new(config());
    h.engine.listen(LOCAL).unwrap();
    let sack_ok = TcpOptions {
        sack_permitted: true,
        ..Default::default()
    };
    for port in 40_000..40_008 {
        h.send_from(port, seg(PEER_ISS, 0, SYN).options(sack_ok));
        let iss = h.recv_one().seq + 1;
        h.send_from(port, seg(PEER_ISS + 1, iss, ACK));
        let c = h.events_conn();
        h.events.clear();
        // The response and its FIN go, are lost, and go again at the RTO:
        // an episode, whose record the connection takes.
        h.engine.send(c, b"hi").unwrap();
        h.engine.close(c, h.now).unwrap();
        assert!(!h.recv().is_empty());
        h.advance(Duration::from_millis(1500));
        assert!(!h.recv().is_empty(), "the RTO's retransmission");
        assert_eq!(h.engine.core.episodes.in_use(), 1);
        // The peer ACKs all of it with its own FIN: TIME-WAIT.
        h.send_from(port, seg(PEER_ISS + 1, iss + 3, fin_ack()));
        h.recv();
        assert_eq!(h.engine.core.episodes.in_use(), 0, "port {port}");
    }
    assert_eq!(h.engine.time_wait_count(), 8);
}

#[test]
fn rfc6582_3_2_step_3_newreno_recovery_on_a_sack_connection_without_blocks_inflates_cwnd() {
    // SACK was agreed, but the peer's duplicate ACKs carry no blocks:
    // NewReno's recovery, to its end, though a loss record is taken.
    let (mut h, iss, c) = accepted_with_sack(config(), false);
    h.engine.send(c, &[7u8; 40 * MSS as usize]).unwrap();
    assert_eq!(h.recv().len(), 10, "IW10");
    for _ in 0..3 {
        h.send(seg(PEER_ISS + 1, iss, ACK));
    }
    assert_eq!(h.recv()[0].seq, iss, "the fast retransmit");
    let t = tcb_of(&h, c);
    assert!(t.in_recovery);
    assert_eq!(t.cwnd, t.ssthresh + 3 * MSS);
    for k in 1..=3 {
        let before = tcb_of(&h, c).cwnd;
        h.send(seg(PEER_ISS + 1, iss, ACK));
        assert_eq!(tcb_of(&h, c).cwnd, before + MSS, "dup ACK {k} inflates");
    }
    assert_eq!(h.engine.stats().sack_recoveries, 0);
}

#[test]
fn rfc2018_8_rfc6675_5_1_an_rto_clears_the_sack_scoreboard() {
    let (mut h, iss, c) = accepted_with_sack(config(), false);
    h.engine.send(c, &[7u8; 10 * MSS as usize]).unwrap();
    assert_eq!(h.recv().len(), 10, "IW10");
    h.send(seg(PEER_ISS + 1, iss, ACK).options(sack(&[(iss + MSS, iss + 2 * MSS)])));
    let held = |h: &Harness| {
        let t = tcb_of(h, c);
        h.engine.core.board(t).is_some_and(|b| !b.is_empty())
    };
    assert!(held(&h), "the block is on the scoreboard");
    // The RTO: the receiver may have reneged on what it SACKed.
    h.advance(Duration::from_millis(1500));
    assert_eq!(h.recv()[0].seq, iss, "the RTO's retransmission");
    assert!(!held(&h), "the scoreboard is cleared");
}

#[test]
fn rfc6675_5_1_the_go_back_n_after_an_rto_skips_what_the_peer_sacks_since() {
    let (mut h, iss, c) = accepted_with_sack(config(), false);
    h.engine.send(c, &[7u8; 10 * MSS as usize]).unwrap();
    assert_eq!(h.recv().len(), 10, "IW10");
    h.advance(Duration::from_millis(1500));
    assert_eq!(h.recv()[0].seq, iss, "the RTO's retransmission");
    // The first segment arrives again; the peer holds 2..6 as well.
    let blocks = sack(&[(iss + 2 * MSS, iss + 6 * MSS)]);
    h.send(seg(PEER_ISS + 1, iss + MSS, ACK).options(blocks));
    let out: Vec<u32> = h.recv().iter().map(|o| o.seq).collect();
    assert_eq!(
        out,
        [iss + MSS, iss + 6 * MSS],
        "slow start's two, 2..6 skipped"
    );
    assert!(tcb_of(&h, c).snd_nxt >= SeqNumber(iss + 7 * MSS));
}

#[test]
fn rfc3708_a_quiet_connection_gives_its_loss_record_back_an_rto_after_the_episode_ends() {
    let (mut h, iss, c, _, _) = fast_retransmit_with_sack();
    h.send(seg(PEER_ISS + 1, iss + 10 * MSS, ACK));
    assert!(!tcb_of(&h, c).in_recovery);
    assert_eq!(h.engine.core.episodes.in_use(), 1, "kept for a late D-SACK");
    // The peer sends nothing more: no segment settles the record.
    h.advance(Duration::from_secs(2));
    assert_eq!(h.engine.core.episodes.in_use(), 0);
    assert!(h.recv().is_empty(), "the timer sends nothing");
    assert_eq!(h.engine.state(c), Some(State::Established));
}

/// The record's settle timer times nothing the peer waits for: a zero
/// window at the episode's end is probed an RTO later (RFC 9293
/// §3.8.6.1), not an RTO after the settle timer.
#[test]
fn rfc9293_3_8_6_1_a_zero_window_at_the_episodes_end_is_probed_an_rto_later() {
    let (mut h, iss, c, _, _) = fast_retransmit_with_sack();
    h.engine.send(c, b"more").unwrap();
    h.recv();
    h.send(ack_wnd(PEER_ISS + 1, iss + 10 * MSS, 0));
    assert!(h.recv().is_empty(), "sent into a zero window");
    let rto = tcb_of(&h, c).rtt.rto();
    h.advance(rto - Duration::from_millis(1));
    assert!(h.recv().is_empty(), "probed before the RTO");
    h.advance(Duration::from_millis(1));
    let probe = h.recv_one();
    assert_eq!((probe.seq, probe.payload.len()), (iss + 10 * MSS, 1));
}
