//! Full connection lifecycles — handshake and teardown — between a client
//! and a server engine in one thread, each turn the workers' `app::turn`:
//! what one core does for both ends.
//!
//! The simulated clock advances 1 µs per lifecycle (a 1M/s load) and MSL is
//! 25 ms, so about 50,000 TIME-WAIT records are alive at steady state and
//! every one expires as in a real run. `benches/scale.rs` grows that to
//! millions.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant as WallClock};
use synwave::tcp::Engine;

// Shared with the scale bench, which uses more of it.
#[allow(dead_code)]
mod pair;
use pair::{Pair, Payload, Shape, BATCH, REQUEST_RESPONSE};

fn lifecycles_per_second(payload: Payload, run_for: Duration) -> f64 {
    let mut pair = Pair::new(payload, Shape::default());
    let start = WallClock::now();
    let mut done = 0;
    while start.elapsed() < run_for {
        done += pair.round();
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn lifecycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("lifecycle");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("handshake_teardown", |b| {
        let mut pair = Pair::new(None, Shape::default());
        b.iter(|| black_box(pair.round()))
    });
    group.bench_function("handshake_request_response_teardown", |b| {
        let mut pair = Pair::new(REQUEST_RESPONSE, Shape::default());
        b.iter(|| black_box(pair.round()))
    });
    group.finish();

    // The figure issue #2 asks for: both ends on this one core.
    let (c1, c2) = Engine::bytes_per_entry();
    let bare = lifecycles_per_second(None, Duration::from_secs(3));
    let rr = lifecycles_per_second(REQUEST_RESPONSE, Duration::from_secs(3));
    println!("lifecycles per second per core (client and server engines on one core):");
    println!("  handshake + teardown:                     {:>10.0}", bare);
    println!("  handshake + request/response + teardown:  {:>10.0}", rr);
    let (tcb, tw) = Engine::record_bytes();
    println!("bytes per established TCB: {c1} ({tcb} the TCB alone), per TIME-WAIT entry: {c2} ({tw} the record alone)");
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
