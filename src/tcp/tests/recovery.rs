//! Fast retransmit and NewReno fast recovery (RFC 5681 §3.2, RFC 6582),
//! as packet traces and on a two-engine wire that loses chosen segments.

use super::*;
use std::collections::HashSet;

const MSS: u32 = 536; // the peer of `Harness::accepted` sent no MSS option

/// Ten segments out (IW10) on an accepted connection; returns the
/// harness, our first data sequence number and the connection.
fn ten_segments_out() -> (Harness, u32, ConnId) {
    let (mut h, iss, c) = Harness::accepted();
    h.engine.send(c, &[7u8; 40 * MSS as usize]).unwrap();
    assert_eq!(h.recv().len(), 10, "IW10");
    (h, iss, c)
}

#[test]
fn rfc5681_3_2_three_duplicate_acks_retransmit_the_first_unacked_segment() {
    let (mut h, iss, c) = ten_segments_out();
    // The first segment was lost; the next ones each draw a duplicate ACK.
    // The first two are not enough, but each lets one new segment out
    // (RFC 3042 limited transmit).
    for i in 0..2 {
        h.send(seg(PEER_ISS + 1, iss, ACK));
        let out = h.recv_one();
        assert_eq!(out.seq, iss + (10 + i) * MSS, "limited transmit");
    }
    h.send(seg(PEER_ISS + 1, iss, ACK));
    let out = h.recv();
    assert_eq!(out[0].seq, iss, "the first unacknowledged segment, at once");
    assert_eq!(out[0].payload.len(), MSS as usize);
    let t = tcb_of(&h, c);
    // ssthresh = max(FlightSize / 2, 2*SMSS); cwnd = ssthresh + 3*SMSS.
    assert_eq!(t.ssthresh, 6 * MSS);
    assert_eq!(t.cwnd, 9 * MSS);
    assert!(t.in_recovery);
    let st = h.engine.stats();
    assert_eq!(
        (st.fast_retransmits, st.recoveries, st.retransmits),
        (1, 1, 0)
    );
}

#[test]
fn rfc6582_3_2_partial_acks_retransmit_each_hole_and_the_full_ack_ends_recovery() {
    let (mut h, iss, c) = ten_segments_out();
    for _ in 0..3 {
        h.send(seg(PEER_ISS + 1, iss, ACK));
    }
    h.recv();
    // Segments 1 and 4 were lost: the retransmission of 1 is acknowledged
    // up to 4 — a partial ACK — and 4 goes at once.
    h.send(seg(PEER_ISS + 1, iss + 3 * MSS, ACK));
    let out = h.recv();
    assert_eq!(out[0].seq, iss + 3 * MSS, "the next hole, without an RTO");
    assert!(tcb_of(&h, c).in_recovery);
    // Further duplicate ACKs inflate cwnd and let new data out.
    let before = tcb_of(&h, c).cwnd;
    h.send(seg(PEER_ISS + 1, iss + 3 * MSS, ACK));
    assert_eq!(tcb_of(&h, c).cwnd, before + MSS);
    h.recv();
    // The full ACK (past `recover`, SND.MAX when recovery began).
    h.send(seg(PEER_ISS + 1, iss + 10 * MSS, ACK));
    let t = tcb_of(&h, c);
    assert!(!t.in_recovery);
    assert!(t.cwnd <= t.ssthresh, "deflated to ssthresh");
    let st = h.engine.stats();
    assert_eq!(
        (st.fast_retransmits, st.recoveries, st.retransmits),
        (2, 1, 0)
    );
}

#[test]
fn rfc6582_3_2_duplicate_acks_of_data_sent_before_an_rto_start_no_recovery() {
    let (mut h, iss, _) = ten_segments_out();
    h.advance(Duration::from_secs(1));
    assert_eq!(h.recv().len(), 1, "the RTO's retransmission");
    for _ in 0..5 {
        h.send(seg(PEER_ISS + 1, iss, ACK));
    }
    h.recv();
    let st = h.engine.stats();
    assert_eq!((st.fast_retransmits, st.recoveries), (0, 0));
}

#[test]
fn rfc5681_2_an_ack_with_a_window_update_is_no_duplicate() {
    let (mut h, iss, _) = ten_segments_out();
    for w in [60000, 50000, 40000] {
        h.send(ack_wnd(PEER_ISS + 1, iss, w));
    }
    h.recv();
    assert_eq!(h.engine.stats().fast_retransmits, 0);
}

/// Two engines on a wire with 1 ms each way that drops the first
/// transmission of the server's data segments whose index (in order of
/// first sending) is in `lose`.
struct Pair {
    client: Engine,
    server: Engine,
    now: Instant,
    to_client: Vec<(Instant, Vec<u8>)>,
    to_server: Vec<(Instant, Vec<u8>)>,
    sent_seqs: Vec<u32>,
    lose: HashSet<usize>,
    /// Of those, the ones whose first retransmission is lost too.
    lose_again: HashSet<usize>,
    received: Vec<u8>,
    events: Events,
}

const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40000);
const ONE_WAY: Duration = Duration::from_millis(1);

impl Pair {
    fn new(cfg: Config, lose: &[usize]) -> Self {
        let now = Instant::from_millis(10_000);
        let mut server = Engine::new(cfg.clone(), US, [1; 16], now).unwrap();
        server.listen(SERVER).unwrap();
        Pair {
            client: Engine::new(cfg, PEER, [2; 16], now).unwrap(),
            server,
            now,
            to_client: Vec::new(),
            to_server: Vec::new(),
            sent_seqs: Vec::new(),
            lose: lose.iter().copied().collect(),
            lose_again: HashSet::new(),
            received: Vec::new(),
            events: Events::new(),
        }
    }

    /// Runs a 64 KiB response to a request until the client has it all;
    /// returns how long that took.
    fn response(&mut self, len: usize) -> Duration {
        let start = self.now;
        let mut tx = FrameBatch::new();
        self.client.connect(self.now, CLIENT, SERVER, US).unwrap();
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        while self.received.len() < len {
            assert!(self.now - start < Duration::from_secs(30), "stuck");
            // Client side.
            let arrived = take_arrived(&mut self.to_client, self.now);
            tx.clear();
            self.client
                .handle_frames(self.now, arrived.iter().map(|f| f.as_slice()), &mut tx);
            self.client.handle_timeout(self.now, &mut tx);
            self.client.swap_events(&mut self.events);
            for ev in self.events.iter() {
                let d = self.events.data(&ev.kind);
                self.received.extend_from_slice(d);
            }
            self.client.poll_transmit(self.now, &mut tx);
            for f in tx.iter() {
                self.to_server.push((self.now + ONE_WAY, f.to_vec()));
            }
            // Server side: answers the connection with the response.
            let arrived = take_arrived(&mut self.to_server, self.now);
            tx.clear();
            self.server
                .handle_frames(self.now, arrived.iter().map(|f| f.as_slice()), &mut tx);
            self.server.handle_timeout(self.now, &mut tx);
            self.server.swap_events(&mut self.events);
            let accepted: Vec<ConnId> = (self.events.iter())
                .filter(|e| e.kind == EventKind::Accepted)
                .map(|e| e.conn)
                .collect();
            for c in accepted {
                self.server.send(c, &body).unwrap();
            }
            self.server.poll_transmit(self.now, &mut tx);
            for f in tx.iter() {
                let p = wire::parse_tcp_frame(f, false).unwrap();
                if !p.tcp.payload.is_empty() {
                    let seq = p.tcp.seq.0;
                    let first = !self.sent_seqs.contains(&seq);
                    if !first {
                        let i = self.sent_seqs.iter().position(|&s| s == seq);
                        if i.is_some_and(|i| self.lose_again.remove(&i)) {
                            continue;
                        }
                    }
                    if first {
                        self.sent_seqs.push(seq);
                        if self.lose.contains(&(self.sent_seqs.len() - 1)) {
                            continue;
                        }
                    }
                }
                self.to_client.push((self.now + ONE_WAY, f.to_vec()));
            }
            self.now = self.now + Duration::from_micros(100);
        }
        assert_eq!(
            self.received, body,
            "the response, each byte once, in order"
        );
        self.now - start
    }
}

fn take_arrived(link: &mut Vec<(Instant, Vec<u8>)>, now: Instant) -> Vec<Vec<u8>> {
    let (due, later): (Vec<_>, Vec<_>) = link.drain(..).partition(|(at, _)| *at <= now);
    *link = later;
    due.into_iter().map(|(_, f)| f).collect()
}

fn three_losses(sack: bool) -> Pair {
    let cfg = Config {
        sack,
        ..Config::default()
    };
    // Segments 5, 20 and 33 of the 45 of a 64 KiB response.
    let mut p = Pair::new(cfg, &[5, 20, 33]);
    let took = p.response(65536);
    let st = p.server.stats();
    assert_eq!(st.retransmits, 0, "no RTO: {st:?}");
    assert!(st.fast_retransmits >= 3, "{st:?}");
    assert!(
        took < Duration::from_millis(200),
        "took {took:?}: an RTO's worth"
    );
    p
}

#[test]
fn rfc6582_three_non_adjacent_losses_in_a_64k_response_recovered_without_rto() {
    let p = three_losses(false);
    assert_eq!(p.client.stats().sack_blocks_sent, 0);
}

#[test]
fn rfc2018_three_non_adjacent_losses_in_a_64k_response_recovered_with_sack_without_rto() {
    let p = three_losses(true);
    assert!(p.client.stats().sack_blocks_sent > 0);
}

#[test]
fn rfc8985_7_a_lost_last_segment_is_recovered_by_a_tlp_well_before_the_rto() {
    // 64 KiB in segments of 1448 (timestamps on): the 46th is the last.
    let mut p = Pair::new(Config::default(), &[45]);
    let took = p.response(65536);
    let st = p.server.stats();
    assert_eq!(st.retransmits, 0, "no RTO: {st:?}");
    assert_eq!(st.tlps, 1, "{st:?}");
    assert!(took < Duration::from_millis(100), "took {took:?}");
}

#[test]
fn rfc8985_6_a_lost_retransmission_is_repeated_once_later_data_is_sacked_without_rto() {
    // Segment 10 of 45 is lost, and so is its fast retransmission: data
    // sent after that retransmission is SACKed a round trip later, which
    // says it was lost too (RACK, RFC 8985 §6.2, for the segments whose
    // transmit time the engine knows: its retransmissions).
    let mut p = Pair::new(Config::default(), &[10]);
    p.lose_again.insert(10);
    let took = p.response(65536);
    let st = p.server.stats();
    assert_eq!(st.retransmits, 0, "no RTO: {st:?}");
    assert!(st.rack_retransmits >= 1, "{st:?}");
    assert!(took < Duration::from_millis(150), "took {took:?}");
}

#[test]
fn rfc8985_7_without_tlp_the_same_loss_waits_for_the_rto() {
    let cfg = Config {
        tail_loss_probe: false,
        ..Config::default()
    };
    let mut p = Pair::new(cfg, &[45]);
    let took = p.response(65536);
    assert_eq!(p.server.stats().retransmits, 1);
    assert!(took >= Duration::from_millis(200), "took {took:?}");
}

#[test]
fn rfc6675_5_a_second_hole_is_repeated_once_lost_and_pipe_allows_before_the_partial_ack() {
    let mut h = Harness::new(config());
    h.engine.listen(LOCAL).unwrap();
    let sack_ok = TcpOptions {
        sack_permitted: true,
        ..Default::default()
    };
    h.send(seg(PEER_ISS, 0, SYN).options(sack_ok));
    let sa = h.recv_one();
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK));
    let (iss, c) = (sa.seq + 1, h.events_conn());
    h.engine.send(c, &[7u8; 40 * MSS as usize]).unwrap();
    assert_eq!(h.recv().len(), 10);
    // Segments 0 and 3 lost: the peer holds 1–2 and 4 on.
    let s = |i: u32| SeqNumber(iss + i * MSS);
    let dup = |blocks: &[(u32, u32)]| {
        let mut o = TcpOptions::default();
        for &(l, r) in blocks {
            o.sack.push(s(l), s(r));
        }
        seg(PEER_ISS + 1, iss, ACK).options(o)
    };
    h.send(dup(&[(1, 2)]));
    h.send(dup(&[(1, 3)]));
    h.recv(); // limited transmit
    h.send(dup(&[(4, 5), (1, 3)]));
    assert_eq!(h.recv()[0].seq, iss, "fast retransmit of the first hole");
    let t = tcb_of(&h, c);
    assert_eq!(t.cwnd, t.ssthresh, "RFC 6675 §5 (4.2): cwnd = ssthresh");
    // Segment 3 is lost once three segments above it are SACKed (IsLost),
    // and goes when pipe leaves room in cwnd; once only.
    let mut repeats = Vec::new();
    for k in 6..11 {
        h.send(dup(&[(4, k), (1, 3)]));
        for o in h.recv() {
            assert!(o.seq == iss + 3 * MSS || o.seq >= iss + 12 * MSS, "{o:?}");
            if o.seq == iss + 3 * MSS {
                repeats.push(k);
            }
        }
    }
    assert_eq!(repeats.len(), 1, "the second hole once: {repeats:?}");
    assert!(repeats[0] >= 7, "not before IsLost: {repeats:?}");
    // The partial ACK up to the second hole does not repeat it again.
    h.send(seg(PEER_ISS + 1, iss + 3 * MSS, ACK));
    assert!(h.recv().iter().all(|o| o.seq != iss + 3 * MSS));
    assert_eq!(h.engine.stats().fast_retransmits, 2);
}

#[test]
fn rfc6675_two_losses_in_one_window_are_both_repeated_within_one_recovery() {
    let run = |sack| {
        let mut p = Pair::new(
            Config {
                sack,
                ..Config::default()
            },
            &[12, 14],
        );
        let took = p.response(65536);
        let st = p.server.stats().clone();
        assert_eq!(st.retransmits, 0, "no RTO: {st:?}");
        assert_eq!(st.recoveries, 1, "{st:?}");
        took
    };
    let (with, without) = (run(true), run(false));
    println!("two holes: {with:?} with SACK, {without:?} with NewReno");
    assert!(with <= without, "{with:?} with SACK, {without:?} without");
}

#[test]
fn rfc8985_6_2_two_segments_lost_at_the_tail_are_repaired_by_rack_without_rto() {
    // Segments 43 and 44 of 46 are lost; 45, sent after them, is SACKed.
    // One segment above is too few for IsLost (RFC 6675 §4 wants more
    // than DupThresh − 1) and the tail loss probe repeats 45, which the
    // peer has: without RACK on first transmissions only the RTO repairs
    // them. RACK's clock finds them lost a reordering window after the
    // SACK, on its reorder timer (§6.2 step 5).
    let mut p = Pair::new(Config::default(), &[43, 44]);
    let took = p.response(65536);
    let st = p.server.stats();
    assert_eq!(st.retransmits, 0, "no RTO: {st:?}");
    assert!(st.rack_reorder_timeouts >= 1, "{st:?}");
    assert_eq!(st.recoveries, 1, "{st:?}");
    assert!(took < Duration::from_millis(100), "took {took:?}");
}

#[test]
fn rfc8985_6_2_a_lost_segment_with_one_sacked_after_it_is_lost_by_time() {
    // A loss early in the window, with two segments after it SACKed
    // before the ACKs stop (the rest are lost as well): RACK's verdict
    // arrives a round trip and a reordering window after the first went.
    let mut p = Pair::new(Config::default(), &[42, 43, 45]);
    let took = p.response(65536);
    let st = p.server.stats();
    assert_eq!(st.retransmits, 0, "no RTO: {st:?}");
    assert!(took < Duration::from_millis(100), "took {took:?}");
}

#[test]
fn rfc8985_6_transmit_times_are_kept_only_while_more_than_one_segment_is_in_flight() {
    let mut p = Pair::new(Config::default(), &[]);
    p.response(1000);
    assert_eq!(p.server.core.episodes.in_use(), 0, "one segment: no record");
    let mut p = Pair::new(Config::default(), &[]);
    p.response(65536);
    let (c, s) = (&p.client.core, &p.server.core);
    assert_eq!(c.episodes.in_use(), 0, "the client sent one segment");
    assert!(s.stats.recovery_pool_full == 0);
}

#[test]
fn rfc8985_6_with_every_loss_record_taken_a_response_goes_unmarked_and_counted() {
    let mut p = Pair::new(Config::default(), &[]);
    let core = &mut p.server.core;
    while core.acquire_episode(spurious::Episode::default()) != spurious::NONE {}
    core.stats.recovery_pool_full = 0;
    p.response(65536);
    let st = p.server.stats();
    assert!(st.recovery_pool_full > 0, "a denied record went uncounted");
    assert_eq!(st.retransmits, 0, "{st:?}");
}
