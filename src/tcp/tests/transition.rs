//! State changes (`Tcb::transition`, `Stats::transition`): every edge a
//! connection takes is counted, and one outside RFC 9293 §3.10's is counted
//! as illegal rather than a panic. Every trace in these tests also checks,
//! as its harness drops, that it took no illegal edge.

use super::*;

fn edges(h: &Harness, want: &[(State, State, u64)]) {
    let stats = h.engine.stats();
    for &(from, to, n) in want {
        assert_eq!(stats.edge(from, to), n, "{from} -> {to}");
    }
    assert_eq!(stats.illegal_transitions, 0);
}

#[test]
fn rfc9293_3_10_passive_open_and_passive_close_take_figure_5_edges() {
    let (mut h, iss1, c) = Harness::accepted();
    h.send(seg(PEER_ISS + 1, iss1, fin_ack()));
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 2, iss1 + 1, ACK));
    assert_eq!(h.engine.tcb_count(), 0);
    use State::*;
    edges(
        &h,
        &[
            (Listen, SynReceived, 1),
            (SynReceived, Established, 1),
            (Established, CloseWait, 1),
            (CloseWait, LastAck, 1),
            (LastAck, Closed, 1),
        ],
    );
}

#[test]
fn rfc9293_3_10_active_open_and_active_close_end_through_time_wait() {
    let (mut h, iss1, c) = Harness::connected();
    let tuple = h.engine.tuple(c).unwrap();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss1 + 1, ACK));
    h.send(seg(PEER_ISS + 1, iss1 + 1, fin_ack()));
    assert_eq!(h.engine.state(c), None);
    assert_eq!(h.engine.tuple_state(&tuple), Some(State::TimeWait));
    h.advance(Duration::from_secs(61));
    assert_eq!(h.engine.tuple_state(&tuple), None);
    use State::*;
    edges(
        &h,
        &[
            (Closed, SynSent, 1),
            (SynSent, Established, 1),
            (Established, FinWait1, 1),
            (FinWait1, FinWait2, 1),
            (FinWait2, TimeWait, 1),
            (TimeWait, Closed, 1),
        ],
    );
}

#[test]
fn rfc9293_3_10_7_4_rst_in_passive_syn_received_returns_to_listen() {
    let mut h = Harness::listening();
    h.send(seg(PEER_ISS, 0, SYN));
    h.recv_one();
    h.send(seg(PEER_ISS + 1, 0, RST));
    assert_eq!(h.engine.tcb_count(), 0);
    use State::*;
    edges(&h, &[(Listen, SynReceived, 1), (SynReceived, Listen, 1)]);
}

#[test]
fn rfc9293_3_10_abort_close_in_syn_sent_and_simultaneous_close_are_allowed_edges() {
    let (mut h, _, c) = Harness::accepted();
    h.engine.abort(c, h.now).unwrap();
    let c = h.engine.connect(h.now, LOCAL, REMOTE, PEER).unwrap();
    h.engine.close(c, h.now).unwrap();
    h.recv();
    use State::*;
    edges(&h, &[(Established, Closed, 1), (SynSent, Closed, 1)]);

    let (mut h, iss1, c) = Harness::accepted();
    h.engine.close(c, h.now).unwrap();
    h.recv_one();
    h.send(seg(PEER_ISS + 1, iss1, fin_ack()));
    h.send(seg(PEER_ISS + 2, iss1 + 1, ACK));
    edges(
        &h,
        &[
            (FinWait1, Closing, 1),
            (Closing, TimeWait, 1),
            (TimeWait, Closed, 0),
        ],
    );
}

#[test]
fn an_edge_outside_rfc9293_3_10_is_counted_not_a_panic() {
    let mut stats = Stats::default();
    stats.transition(State::Established, State::FinWait1);
    assert_eq!(stats.illegal_transitions, 0);
    stats.transition(State::SynSent, State::FinWait1);
    stats.transition(State::TimeWait, State::Established);
    assert_eq!(stats.illegal_transitions, 2);
    assert_eq!(stats.edge(State::SynSent, State::FinWait1), 1);
    assert!(stats
        .fields()
        .contains(&("illegal_transitions".to_string(), 2)));
    let mut sum = Stats::default();
    sum.add(&stats);
    assert_eq!(sum, stats);
}

#[test]
fn rfc9293_3_10_every_state_but_closed_may_end_in_closed_and_only_listen_leaves_for_syn_received() {
    for s in State::ALL {
        assert_eq!(State::ALL[s.index()], s);
        assert_eq!(s.may_become(State::Closed), s != State::Closed, "{s}");
        let into_syn_received = matches!(s, State::Listen | State::SynSent);
        assert_eq!(s.may_become(State::SynReceived), into_syn_received, "{s}");
        let into_listen = matches!(s, State::Closed | State::SynReceived);
        assert_eq!(s.may_become(State::Listen), into_listen, "{s}");
    }
}
