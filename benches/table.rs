//! The TCB table at 1M connections: insert, lookup, remove — the hash-map
//! work every frame and every new connection pays.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::net::Ipv4Addr;
use synwave::tcp::{FourTuple, Table};

const ENTRIES: u32 = 1_000_000;

fn tuple(i: u32) -> FourTuple {
    FourTuple {
        local_ip: Ipv4Addr::new(10, 2, (i >> 16) as u8, 1),
        remote_ip: Ipv4Addr::new(10, 1, 0, 1),
        local_port: i as u16,
        remote_port: 80,
    }
}

fn full() -> (Table, Vec<u32>) {
    let mut t = Table::with_capacity(ENTRIES as usize);
    let idx = (0..ENTRIES).map(|i| t.insert_tcb(tuple(i))).collect();
    (t, idx)
}

fn table(c: &mut Criterion) {
    let mut g = c.benchmark_group("table_1m");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    let (t, _) = full();
    let mut i = 0u32;
    g.bench_function("lookup_hit", |b| {
        b.iter(|| {
            i = (i + 7919) % ENTRIES;
            black_box(t.get(&tuple(i)))
        })
    });
    g.bench_function("lookup_miss", |b| {
        b.iter(|| {
            i = (i + 7919) % ENTRIES;
            black_box(t.get(&tuple(ENTRIES + i)))
        })
    });
    drop(t);
    g.throughput(Throughput::Elements(u64::from(ENTRIES)));
    g.bench_function("insert_1m", |b| {
        b.iter_batched(
            || Table::with_capacity(ENTRIES as usize),
            |mut t| {
                for i in 0..ENTRIES {
                    black_box(t.insert_tcb(tuple(i)));
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("remove_1m", |b| {
        b.iter_batched(
            full,
            |(mut t, idx)| {
                for index in idx {
                    t.remove_tcb(index);
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, table);
criterion_main!(benches);
