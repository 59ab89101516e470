//! Parsing and emitting frames, checksums included: the per-frame cost
//! every received and sent segment pays.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::net::Ipv4Addr;
use synwave::wire::{self, checksum, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn syn_options() -> TcpOptions {
    TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some((123456, 0)),
        ..Default::default()
    }
}

fn repr(flags: TcpFlags) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq: SeqNumber(1000),
        ack: SeqNumber(2000),
        flags,
        window: 64240,
        urgent: 0,
        options: syn_options(),
        payload: &[],
    }
}

fn wire(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Elements(1));
    let mut frame = [0u8; 128];
    let n = wire::emit_tcp_frame(
        &mut frame,
        MacAddr([1; 6]),
        MacAddr([2; 6]),
        A,
        B,
        &repr(TcpFlags::SYN),
    );
    g.bench_function("parse_syn_with_options", |b| {
        b.iter(|| black_box(wire::parse_tcp_frame(black_box(&frame[..n]), true).is_ok()))
    });
    let synack = repr(TcpFlags::SYN | TcpFlags::ACK);
    let mut out = [0u8; 128];
    g.bench_function("emit_synack_with_checksum", |b| {
        b.iter(|| {
            black_box(wire::emit_tcp_frame(
                &mut out,
                MacAddr([2; 6]),
                MacAddr([1; 6]),
                B,
                A,
                black_box(&synack),
            ))
        })
    });
    // What a TCB's SYN-ACK and ACKs take: options laid out already,
    // fixed offsets (the same bytes, `frame.rs`'s proptest checks).
    let fixed_synack = wire::FixedSegment {
        src_port: 80,
        dst_port: 40000,
        seq: SeqNumber(1000),
        ack: SeqNumber(2000),
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 64240,
        options: TcpOptions::syn_bytes(1460, 123456, 0, 7),
        payload: &[],
    };
    g.bench_function("emit_fixed_synack_with_checksum", |b| {
        b.iter(|| {
            black_box(wire::emit_fixed_frame(
                &mut out,
                &MacAddr([2; 6]),
                &MacAddr([1; 6]),
                B,
                A,
                black_box(&fixed_synack),
            ))
        })
    });
    let data: Vec<u8> = (0..1460u32).map(|i| i as u8).collect();
    g.throughput(Throughput::Bytes(1460));
    g.bench_function("checksum_1460", |b| {
        b.iter(|| black_box(checksum::sum(black_box(&data))))
    });
    g.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
