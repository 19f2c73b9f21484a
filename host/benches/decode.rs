//! Decoding `market.ticks` messages: the paper feed's envelopes (full ticks, five
//! depth levels a side, as the end-to-end runs send them) through
//! `contract::decode_tick`, the classify stage's per-message cost. Criterion
//! reports time per tick (`Throughput::Elements`). See BENCHMARKS.md.
//!
//! `cargo bench -p alpha-panda --bench decode`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use alpha_panda::contract::decode_tick;
use alpha_panda::feed::{tick_envelope, PaperFeed};

const TICKS: usize = 512;

fn wire() -> Vec<Vec<u8>> {
    let mut feed = PaperFeed::new(7, 1_756_442_704_000_000);
    (0..TICKS)
        .map(|_| {
            tick_envelope(feed.next_tick())
                .to_vec()
                .expect("a paper tick encodes")
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    let msgs = wire();
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    eprintln!(
        "{TICKS} paper ticks, {} bytes each on average",
        bytes / TICKS
    );
    for m in &msgs {
        decode_tick(m).expect("a paper tick decodes");
    }
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(TICKS as u64));
    g.bench_function("tick", |b| {
        b.iter(|| {
            for m in &msgs {
                std::hint::black_box(decode_tick(std::hint::black_box(m)).ok());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
