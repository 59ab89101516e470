//! A fixed number of lifecycles between the client and server engines, for
//! `benches/instructions.sh` to count the instructions of under callgrind.
//! On a shared or virtual machine wall-clock figures move by 10–30% from
//! run to run; the instruction count of one binary is the same to the last
//! digit, so two commits compare exactly (though instructions are not time:
//! cache misses do not show).
//!
//! Usage: instructions bare|rr [WARM_ROUNDS] [ROUNDS] — warm-up rounds fill
//! the TIME-WAIT table to its steady state; only `measure` is counted.

use std::hint::black_box;

// Shared with the lifecycle and scale benches.
#[allow(dead_code)]
mod pair;
use pair::{Pair, Shape, BATCH, REQUEST_RESPONSE};

/// The rounds counted: callgrind's `--toggle-collect` names this function.
#[inline(never)]
fn measure(pair: &mut Pair, rounds: u64) -> u64 {
    (0..rounds).map(|_| pair.round()).sum()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let payload = match args.next().as_deref() {
        Some("bare") => None,
        Some("rr") => REQUEST_RESPONSE,
        // `cargo bench` runs every bench with --bench: nothing to count.
        _ => return,
    };
    let number = |s: Option<String>, default| s.and_then(|s| s.parse().ok()).unwrap_or(default);
    let warm: u64 = number(args.next(), 1500);
    let rounds: u64 = number(args.next(), 500);
    let mut pair = Pair::new(payload, Shape::default());
    for _ in 0..warm {
        pair.round();
    }
    let done = black_box(measure(&mut pair, rounds));
    assert_eq!(done, rounds * BATCH, "a lifecycle did not complete");
    println!("lifecycles {done}");
}
