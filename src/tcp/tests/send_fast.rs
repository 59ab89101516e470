//! `send_data`'s one-segment fast path: wherever it is taken, it sends
//! what the general loop (`send_segments`) sends from the same state, and
//! leaves the TCB, the counters and RACK's record as that loop does.

use super::*;
use crate::tcp::tcb::flag;
use proptest::prelude::*;

/// The states in which `output` sends data and FINs.
const SENDING: [State; 5] = [
    State::Established,
    State::CloseWait,
    State::FinWait1,
    State::Closing,
    State::LastAck,
];

/// One sender's state, applied alike to two engines.
#[derive(Clone, Debug)]
struct Sender {
    state: State,
    snd_una: u32,
    /// SND.MAX - SND.UNA, of the queued bytes.
    sent: usize,
    /// How far go-back-N has put SND.NXT behind SND.MAX.
    behind: u32,
    unsent: usize,
    fin_queued: bool,
    fin_sent: bool,
    snd_mss: u16,
    cwnd: u32,
    snd_wnd: u32,
    max_snd_wnd: u32,
    in_recovery: bool,
    dup_acks: u8,
    retries: u8,
    timed: bool,
    sack_ok: bool,
    force: bool,
    /// cwnd, SND.WND and the MSS set this far (-1, 0, +1) from just
    /// holding what is in flight and unsent, where `Some`: the edges of
    /// the fast path's tests.
    tight: [Option<i8>; 3],
}

fn sender() -> impl Strategy<Value = Sender> {
    (
        (
            proptest::sample::select(SENDING.to_vec()),
            any::<u32>(),
            prop_oneof![3 => Just(0usize), 1 => 0usize..5000],
            prop_oneof![3 => Just(0u32), 1 => 0u32..5000],
            0usize..3000,
            any::<bool>(),
            proptest::bool::weighted(0.2),
            prop_oneof![Just(1448u16), 1u16..2000],
        ),
        (
            prop_oneof![Just(14_480u32), 0u32..20_000],
            prop_oneof![Just(65_535u32), 0u32..20_000],
            0u32..100_000,
            proptest::bool::weighted(0.2),
            prop_oneof![3 => Just(0u8), 1 => 0u8..4],
            prop_oneof![3 => Just(0u8), 1 => 0u8..3],
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        proptest::array::uniform3(proptest::option::of(-1i8..=1)),
    )
        .prop_map(
            |(
                (state, snd_una, sent, behind, unsent, fin_queued, fin_sent, snd_mss),
                (cwnd, snd_wnd, max_snd_wnd, in_recovery, dup_acks, retries, timed, sack_ok, force),
                tight,
            )| Sender {
                state,
                snd_una,
                sent,
                behind,
                unsent,
                fin_queued,
                fin_sent,
                snd_mss,
                cwnd,
                snd_wnd,
                max_snd_wnd,
                in_recovery,
                dup_acks,
                retries,
                timed,
                sack_ok,
                force,
                tight,
            },
        )
}

/// An established connection with timestamps, put into `s`; returns the
/// harness and the TCB's index.
fn harness(s: &Sender) -> (Harness, u32) {
    let (mut h, _, c) = accepted_with_timestamps(Config {
        timestamps: true,
        ..config()
    });
    h.now = h.now + Duration::from_millis(7);
    let tcb = &mut h.engine.table.tcbs[c.index as usize];
    // A FIN is sent only once every byte before it is.
    let fin_sent = s.fin_queued && s.fin_sent;
    let unsent = if fin_sent { 0 } else { s.unsent };
    let queued = s.sent + unsent;
    let snd_max = s.sent as u32 + u32::from(fin_sent);
    tcb.state = s.state;
    *tcb.send_buf = (0..queued).map(|i| i as u8).collect();
    tcb.snd_una = SeqNumber(s.snd_una);
    tcb.snd_max = tcb.snd_una + snd_max;
    tcb.snd_nxt = tcb.snd_max - s.behind.min(snd_max);
    if s.fin_queued {
        tcb.set(flag::FIN_QUEUED);
    }
    if fin_sent {
        tcb.set(flag::FIN_SENT);
    }
    let held = (tcb.snd_nxt - tcb.snd_una) as u32 + unsent as u32;
    let edge =
        |d: Option<i8>, at: u32, or: u32| d.map_or(or, |d| at.saturating_add_signed(d.into()));
    tcb.cwnd = edge(s.tight[0], held, s.cwnd);
    tcb.snd_wnd = edge(s.tight[1], held, s.snd_wnd);
    tcb.snd_mss = edge(s.tight[2], unsent as u32, s.snd_mss.into()).clamp(1, 2000) as u16;
    tcb.max_snd_wnd = s.max_snd_wnd.max(tcb.snd_wnd);
    tcb.in_recovery = s.in_recovery;
    tcb.sack_recovery = s.in_recovery;
    tcb.dup_acks = s.dup_acks;
    tcb.retries = s.retries;
    tcb.sack_ok = s.sack_ok;
    tcb.rtt_seq = s.timed.then(|| (tcb.snd_una, tcb::SentAt::new(h.now)));
    tcb.set(flag::ACK_PENDING);
    (h, c.index)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]
    /// RFC 9293 §3.8.6.2.1 and §3.10.4 (SEND), RFC 5681 §3.1: random send
    /// states — SND.UNA, SND.NXT behind SND.MAX or not, bytes queued
    /// beyond, a FIN queued or sent, cwnd, SND.WND, recovery, duplicate
    /// ACKs — sent from by `send_data` and by the general loop alone give
    /// the same frames, the same TCB, the same counters and the same RACK
    /// record.
    #[test]
    fn rfc9293_3_8_6_2_1_one_segment_fast_path_sends_what_the_loop_sends(s in sender()) {
        let (mut fast, index) = harness(&s);
        let (mut slow, _) = harness(&s);
        let now = fast.now;
        let run = |h: &mut Harness, general: bool| {
            let e = &mut h.engine;
            let tcb = &mut e.table.tcbs[index as usize];
            let sent = if general {
                e.core.send_segments(&mut h.tx, tcb, now, s.force)
            } else {
                e.core.send_data(&mut h.tx, tcb, now, s.force)
            };
            let frames: Vec<Vec<u8>> = h.tx.iter().map(<[u8]>::to_vec).collect();
            h.tx.clear();
            (sent, frames)
        };
        prop_assert_eq!(run(&mut fast, false), run(&mut slow, true));
        let tcb = |h: &Harness| format!("{:?}", h.engine.table.tcbs[index as usize]);
        prop_assert_eq!(tcb(&fast), tcb(&slow));
        prop_assert_eq!(fast.engine.stats(), slow.engine.stats());
        let episodes = |h: &Harness| format!("{:?}", h.engine.core.episodes);
        prop_assert_eq!(episodes(&fast), episodes(&slow));
    }
}
