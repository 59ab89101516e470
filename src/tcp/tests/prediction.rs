//! Header prediction (`input::predicted`): a segment it takes is one the
//! slow path's checks (`Core::admit`) would pass with nothing done but
//! TS.Recent taken. What follows is the same code for both, so the TCB,
//! the events and the frames come out the same either way.

use super::*;
use crate::tcp::input::{predicted, Admit, Segment};
use proptest::prelude::*;

/// SYN-RECEIVED to LAST-ACK: the states `on_connection` takes after
/// SYN-SENT, in declaration order.
fn states() -> Vec<State> {
    State::ALL[State::SynReceived.index()..=State::LastAck.index()].to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    /// Random TCB states and segments around them (RCV.NXT, SND.UNA to
    /// SND.MAX, TS.Recent, each a little off or not): wherever the
    /// prediction holds, `admit` passes the segment, sends nothing, tells
    /// the application nothing, counts nothing, and leaves the TCB as the
    /// prediction's TS.Recent update alone does.
    #[test]
    fn rfc9293_3_10_7_4_predicted_segments_pass_the_checks_unchanged(
        state in proptest::sample::select(states()),
        rcv_nxt in any::<u32>(),
        snd_una in any::<u32>(),
        flight in 0u32..3000,
        max_snd_wnd in 0u32..200_000,
        ts_recent in any::<u32>(),
        ts_ok in proptest::bool::weighted(0.9),
        seq_off in -1i32..=1,
        ack_off in -2i32..3003,
        ctl in proptest::sample::select(vec![ACK, ACK, ACK | FIN, FIN, RST | ACK, SYN | ACK, RST]),
        tsval_off in proptest::option::weighted(0.9, -1i32..=2),
        payload in proptest::collection::vec(any::<u8>(), 0..3),
        later_ms in 0u64..100_000,
    ) {
        let (mut h, _, c) = accepted_with_timestamps(Config { timestamps: true, ..config() });
        h.now = h.now + Duration::from_millis(later_ms);
        let now = h.now;
        let index = c.index;
        let tcb = &mut h.engine.table.tcbs[index as usize];
        tcb.state = state;
        tcb.rcv_nxt = SeqNumber(rcv_nxt);
        tcb.snd_una = SeqNumber(snd_una);
        tcb.snd_nxt = SeqNumber(snd_una) + flight;
        tcb.snd_max = SeqNumber(snd_una) + flight;
        tcb.max_snd_wnd = max_snd_wnd;
        tcb.ts_recent = ts_recent;
        if !ts_ok {
            tcb.clear(tcb::flag::TS_OK);
        }
        let options = TcpOptions {
            timestamps: tsval_off.map(|d| (ts_recent.wrapping_add(d as u32), 0)),
            ..Default::default()
        };
        let seg = Segment {
            seq: SeqNumber(rcv_nxt.wrapping_add(seq_off as u32)),
            ack: SeqNumber(snd_una.wrapping_add(ack_off as u32)),
            flags: ctl,
            wnd: 1000,
            options,
            payload: &payload,
            src_mac: PEER,
        };
        let rcv_wnd = h.engine.core.cfg.advertised_window(tcb.rcv_wscale);
        let Some(tsval) = predicted(tcb, &seg, rcv_wnd) else {
            return Ok(());
        };
        let mut expected = tcb.clone();
        expected.set_ts_recent(tsval, now);
        let stats = h.engine.stats().clone();
        let mut tx = FrameBatch::new();
        let tcb = &mut h.engine.table.tcbs[index as usize];
        let admitted = h.engine.core.admit(tcb, index, &seg, rcv_wnd, now, &mut tx);
        prop_assert!(matches!(admitted, Admit::Pass));
        prop_assert!(tx.is_empty());
        prop_assert_eq!(h.engine.stats(), &stats);
        h.collect_events();
        prop_assert_eq!(h.kinds(), vec![]);
        let tcb = &h.engine.table.tcbs[index as usize];
        prop_assert_eq!(format!("{tcb:?}"), format!("{expected:?}"));
    }
}

/// The usual segment — an ACK of what was sent, at RCV.NXT, with a fresh
/// TSval — is predicted, so the property above is not vacuous.
#[test]
fn rfc9293_3_10_7_4_the_usual_ack_is_predicted() {
    let (h, iss, c) = accepted_with_timestamps(Config {
        timestamps: true,
        ..config()
    });
    let tcb = &h.engine.table.tcbs[c.index as usize];
    let seg = Segment {
        seq: SeqNumber(PEER_ISS + 1),
        ack: SeqNumber(iss),
        flags: ACK | FIN,
        wnd: 1000,
        options: ts(1002),
        payload: b"x",
        src_mac: PEER,
    };
    let rcv_wnd = h.engine.core.cfg.advertised_window(tcb.rcv_wscale);
    assert_eq!(predicted(tcb, &seg, rcv_wnd), Some(1002));
}
