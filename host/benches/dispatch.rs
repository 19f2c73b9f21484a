//! Per-tick dispatch cost of one strategy on one core: the momentum strategy
//! compiled natively and called through a trait object, against the same strategy
//! as a Wasm component called through the host's real path (`BatchBuilder` +
//! `StrategySlot::run`), with FULL ticks. See BENCHMARKS.md.
//!
//! `cargo bench -p alpha-panda --bench dispatch` (or `cargo xtask bench dispatch`).
//! `DISPATCH_BASELINE_WASM=old/momentum.wasm` adds the bare call of that build on the
//! same batches (`dispatch_breakdown/call_baseline/N`), for a before and after.
//! `DISPATCH_DEPTH=none` runs it all on the same ticks without their depth: what
//! copying no depth levels into the guest would save, at most.
//! After criterion's own report it prints a per-tick table with the ratios, read
//! back from criterion's medians of this run.
//!
//! The bench allocates with jemalloc, as the `alpha-panda` binary does: the
//! system allocator's malloc and free were an eighth of a call's samples here.

mod common;

use common::native::{native_runner, tick_data};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use alpha_panda::contract::MarketTick;
use alpha_panda::manifest::Manifest;
use alpha_panda::strategy::{SlotConfig, StrategySlot};
use alpha_panda::wasm::bindings::types::TickBatch;
use alpha_panda::wasm::convert::BatchBuilder;
use alpha_panda::wasm::{EngineLimits, Instance, PluginComponent, StrategyEngine};
use alpha_panda_sdk::runner::Output;
use alpha_panda_sdk::{Side, TickData};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput};

/// Ticks per instrument in the stream (×6 instruments); the benches cycle through it.
const PER_INSTRUMENT: usize = 2048;
const BATCH_SIZES: [usize; 3] = [1, 64, 512];
const GROUP: &str = "dispatch";
const BREAKDOWN: &str = "dispatch_breakdown";

thread_local! {
    /// Benchmarks whose run saw a fault (their figure is not the normal path).
    static INVALID: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

// ------------------------------------------------------------------------ the clock

/// CPU time of the bench thread (`CLOCK_THREAD_CPUTIME_ID`): on a 2-core machine
/// shared with builds, wall time mostly measures the neighbours; this measures what
/// the tick path itself costs on its core. `BENCH_CLOCK=wall` selects wall time.
struct ThreadCpuTime {
    wall: WallTime,
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

fn thread_cpu_time() -> Duration {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec-shaped struct; Linux x86_64 layout.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

// ------------------------------------------------------------------ wasm contender

struct Wasm {
    engine: StrategyEngine,
    component: PluginComponent,
    manifest: Manifest,
}

impl Wasm {
    fn load(manifest: &Manifest, bytes: &[u8]) -> Self {
        let engine = StrategyEngine::new(EngineLimits::default(), None).expect("engine");
        let component = engine
            .load_bytes(bytes)
            .unwrap_or_else(|e| panic!("momentum.wasm: {e}"));
        Self {
            engine,
            component,
            manifest: manifest.clone(),
        }
    }

    fn slot(&self) -> StrategySlot {
        StrategySlot::start(
            &self.engine,
            self.component.clone(),
            self.manifest.clone(),
            SlotConfig::default(),
        )
        .unwrap_or_else(|e| panic!("slot: {e}"))
    }

    /// A bare instance with `init` done (no slot: no journal, snapshots or output check).
    fn instance(&self) -> Instance {
        let m = &self.manifest;
        let mut instruments = m.instruments.clone();
        instruments.sort_unstable();
        let seed = alpha_panda::strategy::slot::seed_for(&m.strategy_id);
        // Instantiation runs under the same wall-clock epoch deadline as a call: on a
        // loaded machine it can be interrupted spuriously, so try a few times.
        let mut attempt = 0;
        let mut inst = loop {
            match Instance::new(&self.engine, &self.component, &m.strategy_id, seed) {
                Ok(i) => break i,
                Err(e) if attempt < 3 => {
                    eprintln!("WARNING: instantiation failed ({e}); retrying");
                    attempt += 1;
                }
                Err(e) => panic!("instance: {e}"),
            }
        };
        let mut config = alpha_panda::strategy::slot::init_config(m, &instruments);
        config.seed = seed;
        inst.init(&config)
            .expect("init does not trap")
            .expect("init accepted");
        inst
    }
}

/// Cycles through the tick stream.
struct Cursor<'a> {
    ticks: &'a [MarketTick],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(ticks: &'a [MarketTick]) -> Self {
        Self { ticks, at: 0 }
    }

    fn next(&mut self) -> &'a MarketTick {
        let t = &self.ticks[self.at];
        self.at += 1;
        if self.at == self.ticks.len() {
            self.at = 0;
        }
        t
    }
}

/// Both contenders must do the same work: same signals (count, tick, side) over the
/// whole stream. Returns the fraction of ticks that produced a signal.
fn check_same_work(m: &Manifest, wasm: &Wasm, ticks: &[MarketTick]) -> f64 {
    let mut native = native_runner(m);
    let mut out = Output::new();
    for (i, t) in ticks.iter().enumerate() {
        let data = tick_data(t).expect("bench ticks convert");
        native.on_tick(i as u32, &data.as_tick(), &mut out);
    }
    assert!(out.errors.is_empty(), "native errors: {:?}", out.errors);
    let native_signals: Vec<(u32, bool)> = out
        .signals
        .iter()
        .map(|e| (e.tick_index, e.signal.side == Side::Buy))
        .collect();

    let mut slot = wasm.slot();
    let mut builder = BatchBuilder::new();
    let mut wasm_signals = Vec::new();
    for (c, chunk) in ticks.chunks(64).enumerate() {
        builder.clear();
        for t in chunk {
            builder.push(t).expect("converts");
        }
        let out = slot.run(&std::sync::Arc::new(builder.take()));
        assert!(out.faults.is_empty(), "wasm faults: {:?}", out.faults);
        wasm_signals.extend(
            out.signals
                .iter()
                .map(|s| ((c * 64) as u32 + s.tick_index, s.side == Side::Buy)),
        );
    }
    assert_eq!(
        native_signals, wasm_signals,
        "native and wasm disagree on the signals"
    );
    native_signals.len() as f64 / ticks.len() as f64
}

// ------------------------------------------------------------------------- benches

fn dispatch<M: Measurement>(c: &mut Criterion<M>, m: &Manifest, wasm: &Wasm, ticks: &[MarketTick]) {
    let mut g = c.benchmark_group(GROUP);

    g.throughput(Throughput::Elements(1));
    // a) native: decoded MarketTick → SDK TickData → Tick view → dyn call.
    {
        let mut sink = native_runner(m);
        let mut out = Output::new();
        let mut cur = Cursor::new(ticks);
        g.bench_function("native", |b| {
            b.iter(|| {
                let data = tick_data(cur.next()).expect("bench ticks convert");
                sink.on_tick(0, &data.as_tick(), &mut out);
                black_box(&out.signals);
                out.signals.clear();
                out.errors.clear();
            })
        });
    }
    // a') native floor: the SDK ticks built beforehand, only the dyn call.
    {
        let data: Vec<TickData> = ticks
            .iter()
            .map(|t| tick_data(t).expect("bench ticks convert"))
            .collect();
        let mut sink = native_runner(m);
        let mut out = Output::new();
        let mut at = 0;
        g.bench_function("native_prebuilt", |b| {
            b.iter(|| {
                sink.on_tick(0, &data[at].as_tick(), &mut out);
                at = (at + 1) % data.len();
                black_box(&out.signals);
                out.signals.clear();
                out.errors.clear();
            })
        });
    }
    // b) wasm: BatchBuilder (MarketTick → WIT batch) + StrategySlot::run.
    for n in BATCH_SIZES {
        let mut slot = wasm.slot();
        let mut builder = BatchBuilder::new();
        let mut cur = Cursor::new(ticks);
        let mut faults: Vec<String> = Vec::new();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("wasm", n), &n, |b, &n| {
            b.iter(|| {
                builder.clear();
                for _ in 0..n {
                    builder.push(cur.next()).expect("converts");
                }
                let out = slot.run(&std::sync::Arc::new(builder.take()));
                if !out.faults.is_empty() {
                    faults.extend(out.faults.iter().map(|(_, f)| f.to_string()));
                }
                black_box(out)
            })
        });
        if !faults.is_empty() {
            // A fault triggers recovery (and 5 quarantine the slot): the figure is not
            // the normal path. Epoch deadlines are wall-clock: a loaded machine that
            // deschedules the bench thread mid-call for > call_timeout causes this.
            eprintln!(
                "WARNING: dispatch/wasm/{n}: {} fault(s), quarantined: {}; this figure is INVALID: {:?}",
                faults.len(),
                slot.is_quarantined(),
                &faults[..faults.len().min(5)]
            );
            INVALID.with(|v| v.borrow_mut().push(format!("wasm/{n}")));
        }
    }
    g.finish();
}

/// Where the wasm path's time goes, per batch size: the conversion alone, the bare
/// component call (lowering + guest + lifting) on batches built beforehand, and the
/// fixed cost of a call with an empty batch.
/// With `DISPATCH_BASELINE_WASM` set, the bare call is also measured with that build
/// of momentum (`call_baseline`), on the same batches, for a before and after.
fn breakdown<M: Measurement>(
    c: &mut Criterion<M>,
    wasm: &Wasm,
    baseline: Option<&Wasm>,
    ticks: &[MarketTick],
) {
    let mut g = c.benchmark_group(BREAKDOWN);
    for n in BATCH_SIZES {
        g.throughput(Throughput::Elements(n as u64));
        // Conversion into a reused batch (no allocation once warm).
        let mut builder = BatchBuilder::new();
        let mut cur = Cursor::new(ticks);
        g.bench_with_input(BenchmarkId::new("convert", n), &n, |b, &n| {
            b.iter(|| {
                builder.clear();
                for _ in 0..n {
                    builder.push(cur.next()).expect("converts");
                }
                black_box(builder.batch());
            })
        });
        // Conversion as the host does it: `take()` copies the batch out for the slot
        // (which journals it): one exactly sized buffer, plus one per symbol.
        let mut cur = Cursor::new(ticks);
        g.bench_with_input(BenchmarkId::new("convert_take", n), &n, |b, &n| {
            b.iter(|| {
                builder.clear();
                for _ in 0..n {
                    builder.push(cur.next()).expect("converts");
                }
                black_box(builder.take())
            })
        });
        // The component call alone, batches built beforehand.
        let batches: Vec<TickBatch> = ticks
            .chunks(n)
            .filter(|ch| ch.len() == n)
            .map(|ch| {
                let mut b = BatchBuilder::new();
                for t in ch {
                    b.push(t).expect("converts");
                }
                b.take()
            })
            .collect();
        bench_call(&mut g, "call", Some(n), wasm, &batches);
        if let Some(base) = baseline {
            bench_call(&mut g, "call_baseline", Some(n), base, &batches);
        }
    }
    g.throughput(Throughput::Elements(1));
    bench_call(&mut g, "call_empty", None, wasm, &[TickBatch::default()]);
    convert_many(&mut g);
    g.finish();
}

/// Instruments of `convert_many`: a partition of a large watch list.
const MANY_INSTRUMENTS: u32 = 128;

/// Conversion of batches of 512 that each hold ticks of 128 instruments, each
/// with a symbol of its own (the sample strategy watches 6).
fn convert_many<M: Measurement>(g: &mut criterion::BenchmarkGroup<'_, M>) {
    let tokens: Vec<u32> = (1..=MANY_INSTRUMENTS).collect();
    let mut ticks = common::full_ticks(&tokens, 16);
    for t in &mut ticks {
        t.symbol = Some(format!("SYMBOL{}", t.instrument_token));
    }
    let mut builder = BatchBuilder::new();
    let mut cur = Cursor::new(&ticks);
    g.throughput(Throughput::Elements(512));
    g.bench_function(BenchmarkId::new("convert_many", 512), |b| {
        b.iter(|| {
            builder.clear();
            for _ in 0..512 {
                builder.push(cur.next()).expect("converts");
            }
            black_box(builder.batch());
        })
    });
}

/// The component call alone (`id/n`, or `id` without a batch size), on batches
/// built beforehand, in turn; a fault starts a fresh instance and is noted.
fn bench_call<M: Measurement>(
    g: &mut criterion::BenchmarkGroup<'_, M>,
    id: &str,
    n: Option<usize>,
    wasm: &Wasm,
    batches: &[TickBatch],
) {
    let mut inst = wasm.instance();
    let mut at = 0;
    let mut faults = 0;
    let bench = |b: &mut criterion::Bencher<'_, M>| {
        b.iter(|| {
            let out = inst.on_ticks(&batches[at]);
            at = (at + 1) % batches.len();
            if out.is_err() {
                faults += 1;
                inst = wasm.instance();
            }
            black_box(out)
        })
    };
    let label = match n {
        Some(n) => {
            g.bench_function(BenchmarkId::new(id, n), bench);
            format!("{id}/{n}")
        }
        None => {
            g.bench_function(id, bench);
            id.to_owned()
        }
    };
    note_faults(&label, faults);
}

fn note_faults(id: &str, faults: usize) {
    if faults > 0 {
        eprintln!("WARNING: {BREAKDOWN}/{id}: {faults} fault(s) (timeouts on a loaded machine?); this figure is INVALID");
        INVALID.with(|v| v.borrow_mut().push(id.to_owned()));
    }
}

// ------------------------------------------------------------------------- summary

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    common::root().join("target/criterion")
}

/// Criterion's median (ns per iteration) of `group/id`, if it was measured in this run.
fn median_ns(dir: &Path, group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(group).join(id).join("new/estimates.json");
    let fresh = std::fs::metadata(&path).ok()?.modified().ok()? >= since;
    if !fresh {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn summary(dir: &Path, since: SystemTime, signal_rate: f64, clock: &str, load_before: &str) {
    let get = |group: &str, id: &str, per: usize| {
        median_ns(dir, group, id, since).map(|ns| ns / per as f64)
    };
    let Some(native) = get(GROUP, "native", 1) else {
        return; // not measured (a filter, `--test`, `--list`)
    };
    println!();
    println!(
        "## dispatch: per tick, criterion medians of this run ({clock}; FULL ticks, 6 instruments, {:.1} % of ticks signal)",
        signal_rate * 100.0
    );
    println!();
    println!(
        "load average before: {load_before}, after: {}",
        common::load_average()
    );
    println!();
    println!("| contender | ns/tick | ticks/s | × native |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, ns: f64| {
        println!(
            "| {name} | {ns:.1} | {:.2} M | {:.2} |",
            1e3 / ns,
            ns / native
        );
    };
    row("native (MarketTick → TickData → dyn call)", native);
    if let Some(ns) = get(GROUP, "native_prebuilt", 1) {
        row("native, SDK ticks prebuilt (dyn call only)", ns);
    }
    for n in BATCH_SIZES {
        if let Some(ns) = get(GROUP, &format!("wasm/{n}"), n) {
            let invalid = INVALID.with(|v| v.borrow().contains(&format!("wasm/{n}")));
            let note = if invalid { " **INVALID: faulted**" } else { "" };
            row(
                &format!("wasm, batch {n} (BatchBuilder + StrategySlot::run){note}"),
                ns,
            );
        }
    }
    println!();
    println!("| batch | convert (reused buffers) | convert + take | call (lower + guest + lift) | slot::run total | rest (check, journal, snapshot) |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in BATCH_SIZES {
        let conv = get(BREAKDOWN, &format!("convert/{n}"), n);
        let take = get(BREAKDOWN, &format!("convert_take/{n}"), n);
        let call = get(BREAKDOWN, &format!("call/{n}"), n);
        let total = get(GROUP, &format!("wasm/{n}"), n);
        let rest = match (total, take, call) {
            (Some(t), Some(c), Some(k)) => Some(t - c - k),
            _ => None,
        };
        let f = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1} ns"));
        let bad = |id: String| {
            if INVALID.with(|v| v.borrow().contains(&id)) {
                " (INVALID)"
            } else {
                ""
            }
        };
        println!(
            "| {n} | {} | {} | {}{} | {}{} | {} |",
            f(conv),
            f(take),
            f(call),
            bad(format!("call/{n}")),
            f(total),
            bad(format!("wasm/{n}")),
            f(rest)
        );
    }
    for n in BATCH_SIZES {
        if let (Some(call), Some(base)) = (
            get(BREAKDOWN, &format!("call/{n}"), n),
            get(BREAKDOWN, &format!("call_baseline/{n}"), n),
        ) {
            println!();
            println!(
                "batch {n}: call {call:.1} ns/tick, baseline wasm {base:.1} ns/tick: {:.2}× the baseline",
                call / base
            );
        }
    }
    if let Some(ns) = get(BREAKDOWN, "call_empty", 1) {
        println!();
        println!("fixed cost of one call with an empty batch: {ns:.1} ns");
    }
}

fn run<M: Measurement>(c: Criterion<M>, clock: &str) {
    let since = SystemTime::now() - Duration::from_secs(1);
    let load_before = common::load_average();
    let dir = criterion_dir();
    let mut c = c
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(4))
        .output_directory(&dir)
        .configure_from_args();

    let m = common::manifest();
    let mut ticks = common::full_ticks(&m.instruments, PER_INSTRUMENT);
    if std::env::var("DISPATCH_DEPTH").is_ok_and(|v| v == "none") {
        println!("DISPATCH_DEPTH=none: the ticks carry no depth");
        for t in &mut ticks {
            t.depth = None;
        }
    }
    let wasm = Wasm::load(&m, &common::wasm_bytes());
    let signal_rate = check_same_work(&m, &wasm, &ticks);
    let baseline = std::env::var_os("DISPATCH_BASELINE_WASM").map(|path| {
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("DISPATCH_BASELINE_WASM {}: {e}", path.display()));
        let base = Wasm::load(&m, &bytes);
        check_same_work(&m, &base, &ticks);
        base
    });

    dispatch(&mut c, &m, &wasm, &ticks);
    breakdown(&mut c, &wasm, baseline.as_ref(), &ticks);
    c.final_summary();
    summary(&dir, since, signal_rate, clock, &load_before);
}

fn main() {
    if std::env::var("BENCH_CLOCK").is_ok_and(|v| v == "wall") {
        run(Criterion::default(), "wall time");
    } else {
        let cpu = ThreadCpuTime { wall: WallTime };
        run(
            Criterion::default().with_measurement(cpu),
            "CPU time of the bench thread",
        );
    }
}
