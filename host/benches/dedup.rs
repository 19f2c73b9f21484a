//! The in-process dedup store's cost per tick: `seen` then `mark` of a batch's keys
//! (as the pipeline does for each batch), on a store holding a million older marks.
//! Beside it, the same store with the fingerprinting it had before (two SipHash-1-3
//! passes per key, and the map hashing the fingerprint again with SipHash), kept
//! here as the reference. And `memory_full`: a store at its bound, where each new
//! mark pushes the oldest out, as in a host past its first `memory_max_keys`
//! ticks. Criterion reports time per key. See BENCHMARKS.md.
//!
//! `cargo bench -p alpha-panda --bench dedup`

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use alpha_panda::dedup::memory::MemoryStore;

const BATCH: usize = 512;
const HELD: usize = 1_000_000;
/// The in-process store's default bound (`redis.memory_max_keys`).
const FULL: usize = alpha_panda::dedup::memory::DEFAULT_MAX_KEYS;

fn key(i: usize) -> String {
    format!("alpha-panda:dedup:s:paper:0198f3a1-c2b4-7e00-{i:012x}")
}

/// The store before, as it was: two seeded SipHash-1-3 passes, a SipHash-keyed map.
struct Before {
    ttl: Duration,
    hashers: (RandomState, RandomState),
    entries: HashMap<u128, Instant>,
    order: VecDeque<(u128, Instant)>,
}

impl Before {
    fn hash(&self, key: &str) -> u128 {
        let a = self.hashers.0.hash_one(key) as u128;
        let b = self.hashers.1.hash_one(key) as u128;
        (a << 64) | b
    }
    fn seen(&self, keys: &[String]) -> Vec<bool> {
        let now = Instant::now();
        keys.iter()
            .map(|k| self.entries.get(&self.hash(k)).is_some_and(|e| *e > now))
            .collect()
    }
    fn mark(&mut self, keys: &[String]) {
        let now = Instant::now();
        let expiry = now + self.ttl;
        for k in keys {
            let h = self.hash(k);
            if let Entry::Vacant(v) = self.entries.entry(h) {
                v.insert(expiry);
                self.order.push_back((h, expiry));
            }
        }
        // Eviction is left out: in this bench no mark expires or passes the bound,
        // so the store's eviction loop stops at its first check.
    }
}

fn dedup(c: &mut Criterion) {
    let held: Vec<String> = (0..HELD).map(key).collect();
    let mut store = MemoryStore::bounded(Duration::from_secs(3600), 2 * HELD);
    store.mark(&held);
    let mut before = Before {
        ttl: Duration::from_secs(3600),
        hashers: (RandomState::new(), RandomState::new()),
        entries: HashMap::new(),
        order: VecDeque::new(),
    };
    before.mark(&held);
    drop(held);
    let batches: Vec<Vec<String>> = (0..64)
        .map(|b| (0..BATCH).map(|i| key(HELD + b * BATCH + i)).collect())
        .collect();
    // At the default bound from the start, and twice as many keys in the cycle
    // as it keeps: every mark of the bench is new and evicts the oldest.
    let mut full = MemoryStore::bounded(Duration::from_secs(3600), FULL);
    full.mark(&(0..FULL).map(key).collect::<Vec<_>>());
    let cycle: Vec<Vec<String>> = (0..2 * FULL / BATCH)
        .map(|b| (0..BATCH).map(|i| key(2 * HELD + b * BATCH + i)).collect())
        .collect();
    let mut g = c.benchmark_group("dedup");
    g.throughput(Throughput::Elements(BATCH as u64));
    seen_then_mark(&mut g, "memory_full", &cycle, |keys| {
        std::hint::black_box(full.seen(keys));
        full.mark(keys);
    });
    seen_then_mark(&mut g, "memory", &batches, |keys| {
        std::hint::black_box(store.seen(keys));
        store.mark(keys);
    });
    seen_then_mark(&mut g, "memory_before", &batches, |keys| {
        std::hint::black_box(before.seen(keys));
        before.mark(keys);
    });
    g.finish();
}

/// `step` over the batches in turn, one batch an iteration.
fn seen_then_mark(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    batches: &[Vec<String>],
    mut step: impl FnMut(&[String]),
) {
    let mut at = 0;
    g.bench_function(name, |b| {
        b.iter(|| {
            step(&batches[at % batches.len()]);
            at += 1;
        })
    });
}

criterion_group!(benches, dedup);
criterion_main!(benches);
