//! Cost per lifecycle as the work grows: the lifecycle bench's pair, with
//! tuples in scattered order, at each number of live TIME-WAIT records
//! given (default 50 k, 1 M, 10 M), optionally beside idle established
//! connections. Goal (issue 14): within 1.5x of the smallest at 1 M.
//!
//! `cargo bench --bench scale -- [--idle N] [--secs S] [--slice S] [--bare] [SIZES…]`
//!
//! Every size's pair is filled first and held; then the sizes take turns,
//! a slice of `--slice` seconds each (0.25), the first of each cycle
//! rotating, until each has run `--secs` (5). On a shared machine whose
//! speed drifts by tens of percent over a minute, sizes measured one after
//! the other compare two different machines; slices by turns compare
//! adjacent moments. Each slice starts with its pair's working set warmed
//! again (untimed lifecycles, up to one 2MSL's worth), which the other
//! sizes' slices pushed out of cache. The last column is the median over
//! the cycles of each cycle's ratio to the first size.
//!
//! With `SYNWAVE_PERF_CTL=FIFO` (as `benches/scale.sh` sets it) each
//! measured window is bracketed by `enable`/`disable` written to a
//! `perf stat --control` FIFO, so counters cover the steady state only.
//!
//! With `SYNWAVE_CACHE_SIM=DIR` (as `benches/scale.sh --simulate` sets it,
//! running the bench under callgrind without instrumentation) the bench
//! fills the table at valgrind's uninstrumented speed, creates `DIR/ready`,
//! spins until the script has switched instrumentation on and created
//! `DIR/go`, then runs a fixed number of rounds in `counted`, the one
//! function callgrind collects: no clock, so the figures repeat.

use std::io::Write;
use std::time::{Duration, Instant as WallClock};
use synwave::tcp::Engine;

mod pair;
use pair::{Pair, Payload, Shape, REQUEST_RESPONSE};

/// A prime above any tuple count used: every step of it visits each tuple
/// once per cycle, consecutive connections far apart.
const SCATTER: u64 = 2_654_435_761;

struct Args {
    sizes: Vec<u64>,
    idle: u64,
    secs: f64,
    slice: f64,
    payload: Payload,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        sizes: Vec::new(),
        idle: 0,
        secs: 5.0,
        slice: 0.25,
        payload: REQUEST_RESPONSE,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--bare" => a.payload = None,
            "--idle" => {
                a.idle = value("--idle")?
                    .parse()
                    .map_err(|e| format!("--idle: {e}"))?
            }
            "--secs" => {
                a.secs = value("--secs")?
                    .parse()
                    .map_err(|e| format!("--secs: {e}"))?
            }
            "--slice" => {
                a.slice = value("--slice")?
                    .parse()
                    .map_err(|e| format!("--slice: {e}"))?
            }
            n => a
                .sizes
                .push(n.parse().map_err(|_| format!("not a record count: {n}"))?),
        }
    }
    if a.sizes.is_empty() {
        a.sizes = vec![50_000, 1_000_000, 10_000_000];
    }
    // Also refuses NaN.
    if !(a.secs > 0.0 && a.slice > 0.0) {
        return Err("--secs and --slice must be above 0".into());
    }
    Ok(a)
}

/// Untimed lifecycles at the start of each slice: one 2MSL's worth, so
/// that every record expiring in the slice entered it after the warm-up
/// began, up to this cap, past which (1 M records and more) the records
/// miss the cache anyway and only the hot structures need warming.
const WARM_LIFECYCLES: u64 = 100_000;

/// One size's pair and what its slices measured: time and lifecycles in
/// all, the fewest records live at a slice's end, and each cycle's ratio
/// of its ns per lifecycle to the first size's.
struct Measured {
    records: u64,
    pair: Pair,
    elapsed: Duration,
    done: u64,
    live: usize,
    ratios: Vec<f64>,
}

fn time_waits(p: &Pair) -> usize {
    p.client.time_wait_count() + p.server.time_wait_count()
}

/// Runs each size at steady state for `secs` in all, by turns of `slice`.
fn measure(a: &Args, perf: &mut Option<std::fs::File>) -> Vec<Measured> {
    let mut sizes: Vec<Measured> = a
        .sizes
        .iter()
        .map(|&records| {
            let pair = filled(a, records);
            Measured {
                records,
                live: time_waits(&pair),
                pair,
                elapsed: Duration::ZERO,
                done: 0,
                ratios: Vec::new(),
            }
        })
        .collect();
    let n = sizes.len();
    let cycles = (a.secs / a.slice).ceil().max(1.0) as usize;
    let mut ns = vec![0.0; n];
    for cycle in 0..cycles {
        for k in 0..n {
            let i = (cycle + k) % n;
            let m = &mut sizes[i];
            let warm = m.records.min(WARM_LIFECYCLES);
            let mut warmed = 0;
            while warmed < warm {
                warmed += m.pair.round();
            }
            ctl(perf, "enable");
            let start = WallClock::now();
            let mut done = 0;
            while start.elapsed().as_secs_f64() < a.slice {
                for _ in 0..64 {
                    done += m.pair.round();
                }
            }
            let elapsed = start.elapsed();
            ctl(perf, "disable");
            m.elapsed += elapsed;
            m.done += done;
            m.live = m.live.min(time_waits(&m.pair));
            ns[i] = elapsed.as_nanos() as f64 / done as f64;
        }
        let first = ns[0];
        for (m, &x) in sizes.iter_mut().zip(&ns) {
            m.ratios.push(x / first);
        }
    }
    sizes
}

/// The pair at steady state with about `records` live TIME-WAIT records.
fn filled(a: &Args, records: u64) -> Pair {
    // 1 µs of simulated time per lifecycle: 2MSL of `records` µs.
    let shape = Shape {
        msl: Duration::from_micros(records.div_ceil(2)),
        tuples: 2 * records + 65_536,
        stride: SCATTER,
        max_time_wait: 2 * records as usize + 65_536,
        max_tcbs: a.idle as usize + 65_536,
    };
    let mut pair = Pair::new(a.payload, shape);
    pair.open_idle(a.idle);
    // Fill: a full 2MSL and a little more, so records also expire.
    let mut done = 0;
    while done < records + records / 10 {
        done += pair.round();
    }
    pair
}

/// Rounds counted by callgrind in `SYNWAVE_CACHE_SIM` mode: enough
/// lifecycles (64 each) that the first touches of a cold table average out.
const SIMULATED_ROUNDS: u64 = 4_000;

/// The rounds callgrind's `--toggle-collect` names.
#[inline(never)]
fn counted(pair: &mut Pair, rounds: u64) -> u64 {
    (0..rounds).map(|_| pair.round()).sum()
}

/// One size for `benches/scale.sh --simulate`; prints the records live and
/// the lifecycles counted, which the script divides callgrind's totals by.
fn simulate(a: &Args, records: u64, dir: &std::path::Path) {
    let mut pair = filled(a, records);
    let live = pair.client.time_wait_count() + pair.server.time_wait_count();
    if let Err(e) = std::fs::write(dir.join("ready"), b"") {
        eprintln!("scale: {}: {e}", dir.display());
        std::process::exit(1);
    }
    // Spinning, not blocking: callgrind takes the script's command only
    // while the program runs code.
    while !dir.join("go").exists() {
        std::hint::spin_loop();
    }
    let done = std::hint::black_box(counted(&mut pair, SIMULATED_ROUNDS));
    println!("simulated {live} {done}");
}

fn ctl(perf: &mut Option<std::fs::File>, what: &str) {
    if let Some(f) = perf {
        let _ = writeln!(f, "{what}");
        let _ = f.flush();
    }
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("scale: {e}");
            std::process::exit(2);
        }
    };
    if let Some(dir) = std::env::var_os("SYNWAVE_CACHE_SIM") {
        for &records in &a.sizes {
            simulate(&a, records, std::path::Path::new(&dir));
        }
        return;
    }
    let mut perf = std::env::var_os("SYNWAVE_PERF_CTL").map(|p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .expect("perf control FIFO")
    });
    let (tcb, tw) = Engine::record_bytes();
    let (tcb_all, tw_all) = Engine::bytes_per_entry();
    println!("bytes: TCB {tcb} ({tcb_all} with map and timer), TIME-WAIT record {tw} ({tw_all} with its map entry)");
    println!(
        "{}, tuples scattered, {} idle established connections",
        if a.payload.is_some() {
            "handshake + request/response + teardown"
        } else {
            "handshake + teardown"
        },
        a.idle
    );
    println!(
        "{:>12} {:>12} {:>14} {:>8} {:>12} {:>14}",
        "TIME-WAIT", "ns/lifecycle", "lifecycles/s", "vs first", "measured", "median by turn"
    );
    let sizes = measure(&a, &mut perf);
    let ns = |m: &Measured| m.elapsed.as_nanos() as f64 / m.done as f64;
    let base = ns(&sizes[0]);
    for m in &sizes {
        let (live, done) = (m.live, m.done);
        println!(
            "{live:>12} {:>12.1} {:>14.0} {:>7.2}x {done:>12} {:>13.2}x",
            ns(m),
            1e9 / ns(m),
            ns(m) / base,
            median(&m.ratios)
        );
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
