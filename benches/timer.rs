//! Timer wheel micro-benchmarks: the operations the TCP engine performs per
//! connection lifecycle (arm/cancel an RTO, fire a timer, ask for the next
//! wake-up).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synwave::tcp::timer::TimerWheel;

const LIVE: u32 = 1_000_000;

/// Cheap deterministic spread so deadlines hit many slots and levels.
fn spread(i: u32, modulo: u64) -> u64 {
    (u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) % modulo
}

/// A wheel holding 1M timers spread over ~17 minutes of 1 ms ticks, so every
/// lower level is populated like a busy engine's.
fn loaded_wheel() -> TimerWheel<u32> {
    let mut w = TimerWheel::with_capacity(0, LIVE as usize + 1);
    for i in 0..LIVE {
        w.schedule(1 + spread(i, 1_000_000), i);
    }
    w
}

fn schedule_cancel(c: &mut Criterion) {
    let mut w = loaded_wheel();
    let mut g = c.benchmark_group("timer");
    g.throughput(Throughput::Elements(1));
    let mut i = 0u32;
    // The RFC 6298 RTO pattern: arm ~200 ms out, cancel when the ACK lands.
    g.bench_function("schedule_cancel_1M_live", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let h = w.schedule(w.now() + 200 + u64::from(i & 1023), i);
            black_box(w.cancel(black_box(h)))
        })
    });
    // The engine's pattern since timers are lazy: a TCB's one entry is armed
    // again later (each ACK pushes the RTO back) and disarmed, in place.
    let mut h = None;
    g.bench_function("arm_later_disarm_1M_live", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let armed = w.arm(h, w.now() + 200 + u64::from(i & 1023), i);
            h = Some(armed);
            black_box(w.disarm(black_box(armed)))
        })
    });
    g.bench_function("next_deadline_1M_live", |b| {
        b.iter(|| black_box(&w).next_deadline())
    });
    g.finish();
}

fn schedule_expire(c: &mut Criterion) {
    const N: u32 = LIVE;
    const SPAN: u64 = 100_000;
    let mut g = c.benchmark_group("timer");
    g.throughput(Throughput::Elements(u64::from(N)));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    // Steady state: the slab is reused across iterations, so this measures
    // schedule + cascade + fire, not allocation.
    let mut w = TimerWheel::with_capacity(0, N as usize);
    let mut out = Vec::with_capacity(N as usize);
    g.bench_function("schedule_expire_1M_1tick_steps", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let base = w.now();
                let t0 = Instant::now();
                for i in 0..N {
                    w.schedule(base + 1 + spread(i, SPAN), i);
                }
                let mut fired = 0usize;
                for t in base + 1..=base + SPAN {
                    out.clear();
                    w.advance(t, &mut out);
                    fired += out.len();
                }
                total += t0.elapsed();
                assert_eq!(fired, N as usize);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, schedule_cancel, schedule_expire);
criterion_main!(benches);
