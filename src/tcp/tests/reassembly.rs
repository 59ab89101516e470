//! The out-of-order queue (RFC 9293 §3.10.7.4 seventh), its duplicate ACKs
//! (RFC 5681 §4.2) and their SACK blocks (RFC 2018 §4).

use super::*;
use proptest::prelude::*;

/// Passive open whose SYN offered SACK-permitted (and, if `ts`, timestamps).
pub(super) fn accepted_with_sack(cfg: Config, ts: bool) -> (Harness, u32, ConnId) {
    let mut h = Harness::new(cfg);
    h.engine.listen(LOCAL).unwrap();
    let opts = |v| TcpOptions {
        sack_permitted: true,
        timestamps: ts.then_some((v, 0)),
        ..Default::default()
    };
    h.send(seg(PEER_ISS, 0, SYN).options(opts(1000)));
    let sa = h.recv_one();
    assert!(
        sa.options.sack_permitted,
        "SACK-permitted answered (RFC 2018 §2)"
    );
    let ack_opts = TcpOptions {
        timestamps: ts.then_some((1001, 0)),
        ..Default::default()
    };
    h.send(seg(PEER_ISS + 1, sa.seq + 1, ACK).options(ack_opts));
    let c = h.events_conn();
    h.events.clear();
    (h, sa.seq + 1, c)
}

/// All bytes of the Data events so far, in order, and the events cleared.
fn delivered(h: &mut Harness) -> Vec<u8> {
    let mut v = Vec::new();
    for ev in h.events.iter() {
        v.extend_from_slice(h.events.data(&ev.kind));
    }
    h.events.clear();
    v
}

fn stream(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn rfc9293_3_10_7_4_out_of_order_text_is_delivered_once_and_in_order() {
    let (mut h, iss, _) = Harness::accepted();
    let data = stream(3000);
    let at = |i: usize| PEER_ISS + 1 + i as u32;
    h.send(seg(at(2000), iss, ACK).data(&data[2000..]));
    h.send(seg(at(1000), iss, ACK).data(&data[1000..2000]));
    assert!(delivered(&mut h).is_empty(), "nothing before the gap fills");
    // Each out-of-order segment is answered by a duplicate ACK at once.
    let acks = h.recv();
    assert_eq!(acks.len(), 2);
    assert!(acks.iter().all(|a| a.ack == at(0) && a.payload.is_empty()));
    h.send(seg(at(0), iss, ACK).data(&data[..1000]));
    assert_eq!(
        h.events.len(),
        1,
        "the filled gap and what it joins: one event"
    );
    assert_eq!(delivered(&mut h), data);
    assert_eq!(h.recv_one().ack, at(3000));
    let st = h.engine.stats();
    assert_eq!((st.ooo_queued, st.dup_acks_sent, st.bytes_in), (2, 2, 3000));
    assert_eq!(
        h.engine.core.ooo.in_use(),
        0,
        "the queue went back to the pool"
    );
}

#[test]
fn rfc9293_3_10_7_4_a_fin_beyond_a_gap_is_processed_when_the_gap_fills() {
    let (mut h, iss, _) = Harness::accepted();
    let data = stream(1500);
    let at = |i: usize| PEER_ISS + 1 + i as u32;
    h.send(seg(at(1000), iss, fin_ack()).data(&data[1000..]));
    assert_eq!(h.recv_one().ack, at(0));
    assert!(h.kinds().is_empty());
    h.send(seg(at(0), iss, ACK).data(&data[..1000]));
    let kinds: Vec<_> = h.events.iter().map(|e| e.kind).collect();
    assert!(matches!(
        kinds[..],
        [EventKind::Data { .. }, EventKind::PeerClosed]
    ));
    assert_eq!(delivered(&mut h), data);
    assert_eq!(h.recv_one().ack, at(1500) + 1, "the FIN is acknowledged");
    assert_eq!(
        h.engine.state(h.events_conn_or(_c(&h))),
        Some(State::CloseWait)
    );
}

/// The only connection of the harness.
fn _c(h: &Harness) -> ConnId {
    let index = (0..h.engine.table.tcbs.len() as u32)
        .find(|&i| h.engine.table.tcbs[i as usize].state != State::Closed)
        .unwrap();
    ConnId {
        index,
        generation: h.engine.table.tcbs[index as usize].generation,
    }
}

impl Harness {
    fn events_conn_or(&self, c: ConnId) -> ConnId {
        self.events.iter().last().map_or(c, |e| e.conn)
    }
}

#[test]
fn rfc2018_4_each_out_of_order_segment_gets_a_dup_ack_whose_first_block_is_its_own() {
    let (mut h, iss, _) = accepted_with_sack(config(), false);
    let at = |i: u32| SeqNumber(PEER_ISS + 1 + i);
    let block = |l: u32, r: u32| (at(l), at(r));
    h.send(seg(at(1000).0, iss, ACK).data(&[1; 100]));
    let a = h.recv_one();
    assert_eq!(a.ack, at(0).0);
    assert_eq!(a.options.sack.as_slice(), &[block(1000, 1100)]);
    h.send(seg(at(3000).0, iss, ACK).data(&[3; 100]));
    let a = h.recv_one();
    assert_eq!(
        a.options.sack.as_slice(),
        &[block(3000, 3100), block(1000, 1100)]
    );
    // A segment joining the older block makes it the first again.
    h.send(seg(at(1100).0, iss, ACK).data(&[1; 100]));
    let a = h.recv_one();
    assert_eq!(
        a.options.sack.as_slice(),
        &[block(1000, 1200), block(3000, 3100)]
    );
    for i in 0..4 {
        h.send(seg(at(5000 + i * 1000).0, iss, ACK).data(&[5; 10]));
        h.recv_one();
    }
    h.send(seg(at(10_000).0, iss, ACK).data(&[5; 10]));
    let a = h.recv_one();
    assert_eq!(
        a.options.sack.len(),
        4,
        "four blocks fit without timestamps"
    );
    assert_eq!(a.options.sack.as_slice()[0], block(10_000, 10_010));
    assert_eq!(h.engine.stats().dup_acks_sent, 8);
}

#[test]
fn rfc2018_4_three_blocks_fit_beside_timestamps() {
    let cfg = Config {
        timestamps: true,
        ..config()
    };
    let (mut h, iss, _) = accepted_with_sack(cfg, true);
    for i in 1..=5u32 {
        let s = seg(PEER_ISS + 1 + i * 1000, iss, ACK)
            .data(&[0; 10])
            .options(ts(1001 + i));
        h.send(s);
        let a = h.recv_one();
        assert_eq!(a.options.sack.len(), i.min(3) as usize);
        assert!(a.options.timestamps.is_some());
    }
}

#[test]
fn rfc2018_no_sack_blocks_to_a_peer_that_did_not_offer_sack() {
    let (mut h, iss, _) = Harness::accepted();
    h.send(seg(PEER_ISS + 1001, iss, ACK).data(&[0; 10]));
    let a = h.recv_one();
    assert!(a.options.sack.is_empty());
    assert_eq!(h.engine.stats().ooo_queued, 1, "kept all the same");
}

#[test]
fn rfc4987_a_syn_cookie_syn_ack_without_timestamps_does_not_offer_sack() {
    let mut h = tiny_backlog(true);
    h.send(seg(PEER_ISS, 0, SYN).options(TcpOptions {
        sack_permitted: true,
        ..Default::default()
    }));
    let sa = h.recv_one();
    assert_eq!(h.engine.stats().syn_cookies_sent, 1);
    assert!(!sa.options.sack_permitted);
}

#[test]
fn reassembly_total_bounds_the_queues_and_counts_what_it_drops() {
    let cfg = Config {
        reassembly_buffer: 4096,
        reassembly_total: 4096,
        ..config()
    };
    let (mut h, iss, _) = Harness::new_accepted(cfg);
    // Beyond the one queue's 4 KiB: cut off and counted.
    h.send(seg(PEER_ISS + 1 + 4000, iss, ACK).data(&[0; 200]));
    assert_eq!(h.engine.stats().ooo_dropped, 1);
    h.recv_one();
    // A second connection finds no queue left.
    send_from_port(&mut h, 7, 100, 0, SYN);
    let sa = h.recv_one();
    let repr = |seq: u32, payload: &'static [u8]| TcpRepr {
        src_port: 7,
        dst_port: LOCAL.port(),
        seq: SeqNumber(seq),
        ack: SeqNumber(sa.seq + 1),
        flags: ACK,
        window: 1000,
        urgent: 0,
        options: TcpOptions::default(),
        payload,
    };
    for r in [repr(101, b""), repr(500, b"late")] {
        let mut buf = vec![0; 256];
        let n = wire::emit_tcp_frame(&mut buf, PEER, US, *REMOTE.ip(), *LOCAL.ip(), &r);
        h.engine.handle_frames(h.now, [&buf[..n]], &mut h.tx);
    }
    assert_eq!(h.engine.stats().ooo_dropped, 2);
    assert_eq!(h.engine.stats().out_of_order, 2);
}

proptest! {
    /// Segments of a stream arriving in any order, some twice, some
    /// overlapping: the application gets the stream, each byte once, in
    /// order, and every segment above RCV.NXT is answered at once.
    #[test]
    fn rfc9293_3_10_7_4_any_arrival_order_delivers_the_stream_once(
        cuts in proptest::collection::vec(1usize..1400, 1..12),
        order in proptest::collection::vec(any::<proptest::sample::Index>(), 1..40),
        overlap in 0usize..300,
    ) {
        let (mut h, iss, _) = Harness::accepted();
        let mut edges: Vec<usize> = cuts.iter().scan(0, |a, c| { *a += c; Some(*a) }).collect();
        edges.insert(0, 0);
        let total = *edges.last().unwrap();
        let data = stream(total);
        let segs: Vec<(usize, usize)> = edges
            .windows(2)
            .map(|w| (w[0].saturating_sub(overlap), w[1]))
            .collect();
        let mut sent = vec![false; segs.len()];
        let feed = |h: &mut Harness, (l, r): (usize, usize)| {
            h.send(seg(PEER_ISS + 1 + l as u32, iss, ACK).data(&data[l..r]));
        };
        for i in &order {
            let k = i.index(segs.len());
            sent[k] = true;
            feed(&mut h, segs[k]);
        }
        // Then everything once more, so the stream completes.
        for &s in &segs {
            feed(&mut h, s);
        }
        prop_assert_eq!(delivered(&mut h), data);
        let st = h.engine.stats().clone();
        prop_assert_eq!(st.bytes_in, total as u64);
        prop_assert_eq!(st.dup_acks_sent, st.out_of_order);
        prop_assert_eq!(h.engine.core.ooo.in_use(), 0);
        let last = h.recv().last().map(|a| a.ack);
        prop_assert_eq!(last, Some(PEER_ISS + 1 + total as u32));
    }
}
