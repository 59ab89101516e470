//! TIME-WAIT (`time_wait.rs`): 2MSL, re-ACKs, RFC 6191 reuse, RFC 1337, PAWS, recycling.

use super::*;

#[test]
fn rfc9293_3_6_active_close_waits_2msl_in_time_wait() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    let f = h.recv_one();
    assert_eq!((f.seq, f.ack, f.flags), (iss1, PEER_ISS + 1, fin_ack()));
    assert_eq!(h.engine.state(c), Some(State::FinWait1));
    h.send(seg(PEER_ISS + 1, iss1 + 1, ACK));
    assert_eq!(h.engine.state(c), Some(State::FinWait2));
    h.send(seg(PEER_ISS + 1, iss1 + 1, fin_ack()));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss1 + 1, PEER_ISS + 2, ACK));
    assert_eq!(h.kinds(), vec![EventKind::PeerClosed, EventKind::Closed]);
    assert_eq!((h.engine.tcb_count(), h.engine.time_wait_count()), (0, 1));
    h.advance(Duration::from_secs(60) - Duration::from_millis(1));
    assert_eq!(h.engine.time_wait_count(), 1);
    h.advance(Duration::from_millis(2));
    assert_eq!(h.engine.time_wait_count(), 0);
}

#[test]
fn rfc9293_3_10_7_4_retransmitted_fin_in_time_wait_is_reacked_and_restarts_2msl() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss1 + 1, fin_ack()));
    h.recv_one();
    h.advance(Duration::from_secs(30));
    h.send(seg(PEER_ISS + 1, iss1 + 1, fin_ack()));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (iss1 + 1, PEER_ISS + 2, ACK));
    h.advance(Duration::from_secs(59));
    assert_eq!(h.engine.time_wait_count(), 1, "2MSL was not restarted");
    h.advance(Duration::from_secs(2));
    assert_eq!(h.engine.time_wait_count(), 0);
}

#[test]
fn rfc6191_new_syn_above_rcv_nxt_reopens_a_tuple_in_time_wait() {
    let (mut h, snd_nxt) = server_in_time_wait(config());
    h.send(seg(PEER_ISS + 100_000, 0, SYN));
    let sa = h.recv_one();
    assert_eq!((sa.ack, sa.flags), (PEER_ISS + 100_001, syn_ack()));
    assert!(
        (SeqNumber(sa.seq) - SeqNumber(snd_nxt)) > 0,
        "new ISS not above the old SND.NXT"
    );
    assert_eq!((h.engine.tcb_count(), h.engine.time_wait_count()), (1, 0));
    assert_eq!(h.engine.stats().time_wait_reused, 1);
}

#[test]
fn rfc6191_old_syn_in_time_wait_gets_ack_not_a_connection() {
    let (mut h, snd_nxt) = server_in_time_wait(config());
    h.send(seg(PEER_ISS, 0, SYN));
    let a = h.recv_one();
    assert_eq!((a.seq, a.ack, a.flags), (snd_nxt, PEER_ISS + 2, ACK));
    assert_eq!((h.engine.tcb_count(), h.engine.time_wait_count()), (0, 1));
}

#[test]
fn rfc1337_option_ignores_rst_in_time_wait() {
    let (mut h, _) = server_in_time_wait(Config {
        rfc1337: true,
        ..config()
    });
    h.send(seg(PEER_ISS + 2, 0, RST));
    assert_eq!(h.engine.time_wait_count(), 1);
    let (mut h, _) = server_in_time_wait(config());
    h.send(seg(PEER_ISS + 2, 0, RST));
    assert_eq!(h.engine.time_wait_count(), 0);
}

#[test]
fn time_wait_beyond_its_limit_recycles_the_oldest() {
    let mut h = Harness::new(Config {
        max_time_wait: 2,
        ..config()
    });
    h.engine.listen(LOCAL).unwrap();
    // Three server-first closes on three client ports: three TIME-WAITs.
    for port in 1..=3u16 {
        send_from_port(&mut h, port, 100, 0, SYN);
        let sa = h.recv_one();
        send_from_port(&mut h, port, 101, sa.seq + 1, ACK);
        let conn = h.events.iter().last().unwrap().conn;
        h.engine.close(conn, h.now).unwrap();
        h.recv_one();
        send_from_port(&mut h, port, 101, sa.seq + 2, FIN | ACK);
        h.recv_one();
        h.advance(Duration::from_millis(1));
    }
    assert_eq!(h.engine.time_wait_count(), 2);
    assert_eq!(h.engine.stats().time_wait_recycled, 1);
    assert_eq!(h.engine.stats().time_wait_entered, 3);
}

/// Server-first closes from client ports `1..=n`, 1 ms apart; returns each
/// one's ISS so its FIN can be retransmitted.
fn time_waits_on_ports(h: &mut Harness, n: u16) -> Vec<u32> {
    h.engine.listen(LOCAL).unwrap();
    (1..=n)
        .map(|port| {
            send_from_port(h, port, 100, 0, SYN);
            let sa = h.recv_one();
            send_from_port(h, port, 101, sa.seq + 1, ACK);
            let conn = h.events.iter().last().unwrap().conn;
            h.engine.close(conn, h.now).unwrap();
            h.recv_one();
            send_from_port(h, port, 101, sa.seq + 2, FIN | ACK);
            h.recv_one();
            h.advance(Duration::from_millis(1));
            sa.seq
        })
        .collect()
}

#[test]
fn rfc9293_3_10_7_4_each_record_ends_2msl_after_its_last_restart_and_no_sooner() {
    // The records share one age queue instead of a timer each: a restarted
    // record must move behind the others, and the engine's next timeout
    // must name the oldest live record exactly.
    let mut h = Harness::new(config());
    let start = h.now;
    let iss = time_waits_on_ports(&mut h, 3);
    let two_msl = Duration::from_secs(60);
    h.advance(Duration::from_secs(10));
    send_from_port(&mut h, 1, 101, iss[0] + 2, FIN | ACK);
    assert_eq!(h.recv_one().flags, ACK, "the retransmitted FIN is re-ACKed");
    let restarted = h.now;
    // Ports 2 and 3 entered at start + 1 ms and + 2 ms (each after its FIN).
    let ends = [
        start + Duration::from_millis(1) + two_msl,
        start + Duration::from_millis(2) + two_msl,
        restarted + two_msl,
    ];
    for (left, end) in [(2, ends[0]), (1, ends[1]), (0, ends[2])] {
        assert_eq!(h.engine.poll_timeout(), Some(end));
        h.advance(end - h.now - Duration::from_millis(1));
        assert_eq!(h.engine.time_wait_count(), left + 1, "ended before 2MSL");
        h.advance(Duration::from_millis(1));
        assert_eq!(h.engine.time_wait_count(), left, "outlived 2MSL");
    }
    assert_eq!(h.engine.stats().time_wait_expired, 3);
    assert_eq!(h.engine.poll_timeout(), None);
}

#[test]
fn rfc9293_3_10_7_4_a_peer_retransmitting_its_fin_does_not_grow_the_age_queue() {
    // Each re-ACKed FIN restarts 2MSL and moves the record to the back of
    // the age order; it must not be queued once per FIN for 2MSL.
    let mut h = Harness::new(config());
    let iss = time_waits_on_ports(&mut h, 2);
    for _ in 0..10_000 {
        send_from_port(&mut h, 1, 101, iss[0] + 2, FIN | ACK);
        h.tx.clear();
    }
    assert_eq!(h.engine.time_wait_count(), 2);
    let queued = h.engine.table.time_waits.by_age().len();
    assert_eq!(queued, 2, "{queued} age entries for 2 records");
}

#[test]
fn rfc9293_3_10_7_4_closing_enters_time_wait_without_sending() {
    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss1, fin_ack()));
    assert_eq!(h.engine.state(c), Some(State::Closing));
    h.recv_one();
    // The ACK of our FIN moves CLOSING to TIME-WAIT; the peer's FIN was
    // acknowledged already, so nothing more is owed.
    h.send(seg(PEER_ISS + 2, iss1 + 1, ACK));
    assert_eq!(h.engine.time_wait_count(), 1);
    assert!(
        h.recv().is_empty(),
        "CLOSING sent a segment entering TIME-WAIT"
    );
}

#[test]
fn rfc9293_3_10_7_4_time_wait_acceptance_window_is_the_advertised_window() {
    let (mut h, _) = server_in_time_wait(Config {
        timestamps: false,
        rcv_wnd: 256 * 1024,
        window_scale: 7,
        ..config()
    });
    // Out of the 65535 we advertised (no scaling): not a challenge ACK.
    h.send(seg(PEER_ISS + 2 + 100_000, 0, RST));
    assert!(h.recv().is_empty());
    assert_eq!(h.engine.time_wait_count(), 1);
}

#[test]
fn rfc7323_5_paws_applies_in_time_wait() {
    let (mut h, iss) = server_in_time_wait_with_timestamps(Config {
        window_scale: 0,
        rcv_wnd: 65535,
        ..Config::default()
    });
    // An old duplicate of the FIN (older TSval): dropped by PAWS, so it
    // does not restart 2MSL.
    h.advance(Duration::from_secs(30));
    h.send(seg(PEER_ISS + 1, iss + 2, fin_ack()).options(ts(900)));
    assert_eq!(h.engine.stats().paws_rejected, 1);
    h.recv();
    h.advance(Duration::from_secs(30) + Duration::from_millis(1));
    assert_eq!(
        h.engine.time_wait_count(),
        0,
        "an old duplicate restarted TIME-WAIT"
    );
}

#[test]
fn rfc9293_3_10_7_4_time_wait_acks_to_unacceptable_pure_acks_are_rate_limited() {
    let (mut h, _) = server_in_time_wait(config());
    for i in 0..10 {
        h.send(seg(PEER_ISS + 1_000_000 + i, 0, ACK));
    }
    assert_eq!(h.recv().len(), 1);
}

#[test]
fn rfc6191_2_syn_without_timestamps_falls_back_to_sequence_numbers() {
    let cfg = Config {
        window_scale: 0,
        rcv_wnd: 65535,
        ..Config::default()
    };
    // The old incarnation used timestamps, the new SYN has none: its
    // sequence number above RCV.NXT decides.
    let (mut h, _) = server_in_time_wait_with_timestamps(cfg.clone());
    h.send(seg(PEER_ISS + 100_000, 0, SYN));
    let sa = h.recv_one();
    assert_eq!((sa.ack, sa.flags), (PEER_ISS + 100_001, syn_ack()));
    assert_eq!(h.engine.stats().time_wait_reused, 1);
    // ... and one below it is an old duplicate.
    let (mut h, _) = server_in_time_wait_with_timestamps(cfg.clone());
    h.send(seg(PEER_ISS, 0, SYN));
    assert_eq!(h.recv_one().flags, ACK);
    assert_eq!(h.engine.time_wait_count(), 1);
    // The old incarnation had no timestamps, the new SYN has them: the
    // sequence number decides too.
    let (mut h, _) = server_in_time_wait(cfg);
    h.send(seg(PEER_ISS + 100_000, 0, SYN).options(ts(5)));
    assert_eq!(h.recv_one().flags, syn_ack());
    assert_eq!(h.engine.stats().time_wait_reused, 1);
}

#[test]
fn rfc6191_full_table_keeps_the_time_wait_record() {
    let (mut h, _) = server_in_time_wait(Config {
        max_tcbs: 1,
        syn_cookies: false,
        ..config()
    });
    // Another peer takes the one TCB.
    send_from_port(&mut h, 2, 1, 0, SYN);
    h.recv();
    assert_eq!(h.engine.tcb_count(), 1);
    // An acceptable new SYN for the TIME-WAIT tuple finds no room: it must
    // not end the TIME-WAIT record for nothing.
    h.send(seg(PEER_ISS + 100_000, 0, SYN));
    assert_eq!(h.engine.time_wait_count(), 1, "TIME-WAIT record lost");
    assert_eq!(h.engine.stats().time_wait_reused, 0);
    assert_eq!(h.engine.stats().table_full, 1);
    assert!(
        h.recv().is_empty(),
        "nothing to say: the peer retransmits its SYN"
    );
}

#[test]
fn rfc6191_connect_takes_over_our_time_wait_after_the_reuse_delay_with_timestamps() {
    let (mut h, snd_nxt) = client_in_time_wait(Config {
        timestamps: true,
        ..config()
    });
    let tuple = FourTuple::new(LOCAL, REMOTE);
    assert_eq!(
        h.engine.reusable_at(&tuple, h.now),
        h.now + Duration::from_secs(1)
    );
    assert_eq!(
        h.engine.connect(h.now, LOCAL, REMOTE, PEER),
        Err(EngineError::TupleInTimeWait)
    );
    h.advance(Duration::from_secs(1));
    h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    let syn = h.recv_one();
    // Linux tcp_twsk_unique: the new ISS is past the old SND.NXT by a window.
    assert_eq!((syn.seq, syn.flags), (snd_nxt.wrapping_add(65537), SYN));
    assert_eq!(h.engine.time_wait_count(), 0);
    assert_eq!(h.engine.stats().time_wait_reopened, 1);
}

#[test]
fn rfc9293_3_4_2_without_timestamps_our_time_wait_holds_the_tuple_2msl() {
    let (h, _) = client_in_time_wait(config());
    let tuple = FourTuple::new(LOCAL, REMOTE);
    assert_eq!(
        h.engine.reusable_at(&tuple, h.now),
        h.now + Duration::from_secs(60)
    );
}

#[test]
fn rfc9293_3_4_2_strict_time_wait_holds_the_tuple_2msl_even_with_timestamps() {
    let (h, _) = client_in_time_wait(Config {
        timestamps: true,
        time_wait_reuse: None,
        ..config()
    });
    let tuple = FourTuple::new(LOCAL, REMOTE);
    assert_eq!(
        h.engine.reusable_at(&tuple, h.now),
        h.now + Duration::from_secs(60)
    );
}

#[test]
fn rfc6191_reconnect_starts_beyond_the_last_snd_nxt() {
    let mut h = Harness::new(config());
    let tuple = FourTuple::new(LOCAL, REMOTE);
    let clock_isn = h.engine.core.isn.isn(&tuple, h.now);
    // The peer's TIME-WAIT remembers an older connection that sent past
    // where our clock stands now.
    let last = clock_isn + 1_000_000;
    h.engine
        .reconnect(h.now, LOCAL, REMOTE, PEER, last)
        .unwrap();
    let syn = h.recv_one();
    assert!(
        SeqNumber(syn.seq) > last,
        "ISS {} not above {}",
        syn.seq,
        last.0
    );
    // A last SND.NXT already behind the clock leaves the clock's ISN alone.
    let mut h = Harness::new(config());
    h.engine
        .reconnect(h.now, LOCAL, REMOTE, PEER, clock_isn - 10)
        .unwrap();
    assert_eq!(h.recv_one().seq, clock_isn.0);
}
