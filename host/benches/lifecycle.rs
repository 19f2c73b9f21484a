//! Lifecycle costs of the momentum component, printed as a table (no criterion):
//! cold compile vs load from the compiled cache, instantiation, and resident memory
//! per live instance holding state for its 6 instruments. See BENCHMARKS.md.
//!
//! `cargo bench -p alpha-panda --bench lifecycle` (or `cargo xtask bench lifecycle`).

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use alpha_panda::strategy::{SlotConfig, StrategySlot};
use alpha_panda::wasm::convert::BatchBuilder;
use alpha_panda::wasm::engine::CompileSource;
use alpha_panda::wasm::{EngineLimits, Instance, StrategyEngine};
use sha2::{Digest, Sha256};

/// Live instances for the memory figure.
const INSTANCES: usize = 100;
/// Ticks per instrument fed to each instance: a full window (lookback 20 + 1) and more.
const FEED_PER_INSTRUMENT: usize = 25;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        black_box(f());
        v.push(t.elapsed());
    }
    let min = *v.iter().min().expect("runs > 0");
    (median(v), min)
}

/// (VmSize, VmRSS) in KiB, from /proc/self/statm (4 KiB pages).
fn statm_kib() -> (i64, i64) {
    let text = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm (Linux)");
    let mut f = text
        .split_whitespace()
        .map(|x| x.parse::<i64>().unwrap_or(0));
    let size = f.next().unwrap_or(0);
    let rss = f.next().unwrap_or(0);
    (size * 4, rss * 4)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (`cargo test --benches`) only
    // checks that the program works, with one run of each step and 2 instances.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = |n: usize| if quick { 1 } else { n };

    let load_before = common::load_average();
    let bytes = common::wasm_bytes();
    let manifest = common::manifest();
    let limits = EngineLimits::default();
    println!(
        "## lifecycle: plugins/momentum.wasm ({} KiB), wasmtime 48, medians (min)",
        bytes.len() / 1024
    );
    println!();
    println!("| what | median | min | runs |");
    println!("|---|---:|---:|---:|");

    // Cold compile: no cache dir, Cranelift every time.
    let no_cache = StrategyEngine::new(limits, None).expect("engine");
    let n = runs(7);
    let (med, min) = time(n, || {
        let c = no_cache.load_bytes(&bytes).expect("loads");
        assert_eq!(c.source(), CompileSource::Compiled);
        c
    });
    println!(
        "| compile: `load_bytes`, no cache (sha256 + check + Cranelift + link) | {} | {} | {n} |",
        ms(med),
        ms(min)
    );

    // The compiled cache: the first load compiles and writes, every later one reads.
    let dir = tempfile::tempdir().expect("temp dir");
    let cached = StrategyEngine::new(limits, Some(dir.path().to_owned())).expect("engine");
    let t = Instant::now();
    let first = cached.load_bytes(&bytes).expect("loads");
    let first_time = t.elapsed();
    assert_eq!(first.source(), CompileSource::Compiled);
    println!(
        "| first load with a cache dir (compile + serialize + write) | {} | – | 1 |",
        ms(first_time)
    );
    let n = runs(51);
    let (med, min) = time(n, || {
        let c = cached.load_bytes(&bytes).expect("loads");
        assert_eq!(c.source(), CompileSource::Cache);
        c
    });
    println!(
        "| load from the compiled cache: `load_bytes`, 2nd+ load | {} | {} | {n} |",
        ms(med),
        ms(min)
    );
    let (med, min) = time(n, || Sha256::digest(&bytes));
    println!(
        "| … of which sha256 of the .wasm | {} | {} | {n} |",
        ms(med),
        ms(min)
    );
    let artifact = std::fs::read_dir(dir.path())
        .expect("cache dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("a .cwasm in the cache dir");
    let (med, min) = time(n, || {
        // SAFETY: the artifact was written just now by this engine's configuration.
        unsafe { wasmtime::component::Component::deserialize_file(cached.engine(), &artifact) }
            .expect("deserializes")
    });
    println!(
        "| … of which `Component::deserialize_file` | {} | {} | {n} |",
        ms(med),
        ms(min)
    );
    let artifact_kib = std::fs::metadata(&artifact).map_or(0, |m| m.len() / 1024);

    // Instantiation.
    let component = first;
    let n = runs(201);
    let (med, min) = time(n, || {
        Instance::new(&cached, &component, "momentum_1", 1).expect("instantiates")
    });
    println!(
        "| `Instance::new` (store + instantiate) | {} | {} | {n} |",
        us(med),
        us(min)
    );
    let start = || {
        StrategySlot::start(
            &cached,
            component.clone(),
            manifest.clone(),
            SlotConfig::default(),
        )
        .expect("starts")
    };
    let (med, min) = time(n, start);
    println!(
        "| `StrategySlot::start` (instantiate + init + first snapshot) | {} | {} | {n} |",
        us(med),
        us(min)
    );
    println!();
    println!("compiled artifact: {artifact_kib} KiB");

    // Memory: RSS delta of INSTANCES live slots: started; then with a full window for
    // each of its 6 instruments, fed one tick per call; then after one call with a
    // batch of 512 full ticks (the guest keeps the heap it grew for it). Each step
    // ends with a snapshot, which empties the journal as in steady state.
    let ticks = common::full_ticks(&manifest.instruments, FEED_PER_INSTRUMENT);
    let big = common::full_ticks(&manifest.instruments, 512_usize.div_ceil(6));
    let run = |slot: &mut StrategySlot, ticks: &[alpha_panda::contract::MarketTick]| {
        let mut b = BatchBuilder::new();
        for t in ticks {
            b.push(t).expect("converts");
        }
        let out = slot.run(&std::sync::Arc::new(b.take()));
        assert!(out.faults.is_empty());
    };
    let feed_one_by_one = |slot: &mut StrategySlot| {
        for t in &ticks {
            run(slot, std::slice::from_ref(t));
        }
        slot.take_snapshot();
    };
    let feed_64 = |slot: &mut StrategySlot| {
        run(slot, &big[..64]);
        slot.take_snapshot();
    };
    let feed_big = |slot: &mut StrategySlot| {
        run(slot, &big[..512]);
        slot.take_snapshot();
    };
    // Warm the allocator and the engine's lazy state with one slot first.
    {
        let mut warm = start();
        feed_one_by_one(&mut warm);
        feed_64(&mut warm);
        feed_big(&mut warm);
    }
    let count = if quick { 2 } else { INSTANCES };
    let (size0, rss0) = statm_kib();
    let mut slots: Vec<StrategySlot> = (0..count).map(|_| start()).collect();
    let (size1, rss1) = statm_kib();
    slots.iter_mut().for_each(feed_one_by_one);
    let (size2, rss2) = statm_kib();
    let snapshot_bytes = slots[0].snapshot_now().map_or(0, |s| s.len());
    slots.iter_mut().for_each(feed_64);
    let (size3, rss3) = statm_kib();
    slots.iter_mut().for_each(feed_big);
    let (size4, rss4) = statm_kib();
    println!();
    println!(
        "| {count} live instances | RSS delta | per instance | address space (VmSize) per instance |"
    );
    println!("|---|---:|---:|---:|");
    let per = |kib: i64| kib as f64 / count as f64;
    let row = |what: String, size: i64, rss: i64| {
        println!(
            "| {what} | {} KiB | {:.1} KiB | {:.0} KiB |",
            rss - rss0,
            per(rss - rss0),
            per(size - size0)
        );
    };
    row(
        "started (instantiate + init + first snapshot)".into(),
        size1,
        rss1,
    );
    row(
        format!(
            "+ state for 6 instruments: {FEED_PER_INSTRUMENT} ticks each, one per call (snapshot {snapshot_bytes} B)"
        ),
        size2,
        rss2,
    );
    row(
        "+ one call with a batch of 64 full ticks".into(),
        size3,
        rss3,
    );
    row(
        "+ one call with a batch of 512 full ticks".into(),
        size4,
        rss4,
    );
    drop(slots);
    println!();
    println!(
        "load average before: {load_before}, after: {}",
        common::load_average()
    );
}
