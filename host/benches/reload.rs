//! Hot-reload costs, printed as tables (no criterion, plain `Instant`):
//!
//! 1. The tick-path pause of a swap: a tick loop feeds batches of 64 FULL ticks to a
//!    `LiveStrategies` holding momentum + the hostile counter, while a second thread
//!    prepares new versions off the loop (`StrategySlot::prepare`, as the watcher
//!    does). At a tick boundary the loop times `LiveStrategies::apply(update)`, the
//!    only part of a reload on the tick path (old snapshot → new restore → drop the
//!    old instance), and the first batch the new version serves. Repeated with
//!    momentum holding state for 128 and 1024 instruments.
//! 2. From file write to the new version serving: the real `PluginWatcher` on a temp
//!    folder; a changed `momentum.toml` (or a `momentum.wasm` with new bytes) lands by
//!    atomic rename and the clock stops when the tick loop's `apply` returns
//!    `Lifecycle::Reloaded`. With and without the compiled cache, debounce 50/200 ms,
//!    for a watcher that has seen no event yet and for one that has (the watcher's
//!    own reads of the plugin files come back to it as events, so after its first
//!    event it re-reads the files about once per debounce period; see
//!    BENCHMARKS-reload.md). Plus the process CPU that re-reading costs at idle.
//!
//! `cargo bench -p alpha-panda --bench reload`. Results: BENCHMARKS-reload.md.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use alpha_panda::contract::{BrokerNamespace, MarketTick};
use alpha_panda::manifest::{Manifest, ParamValue};
use alpha_panda::registry::watcher::PluginWatcher;
use alpha_panda::registry::{load_plugin, PluginFiles};
use alpha_panda::strategy::set::Processed;
use alpha_panda::strategy::PluginUpdate;
use alpha_panda::strategy::{Lifecycle, LiveStrategies, SlotConfig, StrategySet, StrategySlot};
use alpha_panda::wasm::bindings::types::InitConfig;
use alpha_panda::wasm::convert::BatchBuilder;
use alpha_panda::wasm::{EngineLimits, Instance, PluginComponent, StrategyEngine};
use anyhow::{anyhow, bail, Context as _, Result};

/// Ticks per batch given to the strategies.
const BATCH: usize = 64;
/// A new version is offered every this many batches.
const SWAP_EVERY: usize = 4;
/// The counter's instrument (one of momentum's six).
const COUNTER_TOKEN: u32 = 408065;
/// No single wait for a reload lasts longer than this.
const REP_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------
// Helpers.

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let n = sorted.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// p50 / p99 / max of a sample (nearest rank).
struct Summary {
    n: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn summary(v: &[Duration]) -> Option<Summary> {
    let mut v = v.to_vec();
    v.sort_unstable();
    let max = *v.last()?;
    Some(Summary {
        n: v.len(),
        p50: pct(&v, 0.50),
        p99: pct(&v, 0.99),
        max,
    })
}

fn ms3(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn ms1(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// One figure of a summary, or "–" when there is no sample.
fn fig(
    s: &Option<Summary>,
    f: impl Fn(&Summary) -> Duration,
    fmt: fn(Duration) -> String,
) -> String {
    s.as_ref().map_or_else(|| "–".to_owned(), |s| fmt(f(s)))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| {
            let f: Vec<&str> = t.split_whitespace().take(3).collect();
            (f.len() == 3).then(|| f.join(" "))
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// User + system CPU time of the whole process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) != 0 {
            return Duration::ZERO;
        }
        ru
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn engine(cache: Option<PathBuf>) -> Result<StrategyEngine> {
    StrategyEngine::new(EngineLimits::default(), cache).map_err(|e| anyhow!("engine: {e}"))
}

fn read_plugin(rel: &str) -> Result<Vec<u8>> {
    let path = common::root().join(rel);
    std::fs::read(&path).with_context(|| {
        format!(
            "{}: build the plugins first with `cargo xtask plugins`",
            path.display()
        )
    })
}

fn momentum_wasm() -> Result<Vec<u8>> {
    read_plugin("plugins/momentum.wasm")
}

fn hostile_wasm() -> Result<Vec<u8>> {
    read_plugin("tests/plugins/hostile.wasm")
}

fn momentum_manifest_text(id: &str, instruments: &[u32], position_size: i64) -> String {
    format!(
        "strategy_id = \"{id}\"\nbrokers = [\"paper\", \"zerodha\"]\ninstruments = {instruments:?}\nscope = \"instrument\"\n\
         [params]\nlookback = 20\nthreshold = 0.01\nposition_size = {position_size}\n"
    )
}

fn counter_manifest_text(version: i64) -> String {
    format!(
        "strategy_id = \"counter_1\"\nbrokers = [\"paper\", \"zerodha\"]\ninstruments = [{COUNTER_TOKEN}]\nscope = \"instrument\"\n\
         [params]\nmode = \"counter\"\nat_us = -1\nversion = {version}\n"
    )
}

fn parse(text: &str) -> Result<Manifest> {
    Manifest::parse(text).map_err(|e| anyhow!("manifest: {e}"))
}

/// The same manifest with one integer parameter changed: a new version.
fn variant(m: &Manifest, param: &str, value: i64) -> Manifest {
    let mut m = m.clone();
    m.params
        .insert(param.to_owned(), ParamValue::Integer(value));
    m
}

/// Tracks the counter's `count` metadata: it must go 1, 2, 3, … across every swap,
/// on each partition (each has its own instance).
#[derive(Default)]
struct CounterCheck {
    last_in: HashMap<i32, u64>,
    last: u64,
    breaks: u64,
}

impl CounterCheck {
    fn see(&mut self, (partition, out): &(i32, Processed)) {
        let last = self.last_in.entry(*partition).or_insert(0);
        for s in out.signals.iter().filter(|s| s.strategy_id == "counter_1") {
            let count = s
                .signal
                .metadata
                .iter()
                .find(|(k, _)| k == "count")
                .and_then(|(_, v)| v.parse::<u64>().ok());
            match count {
                Some(c) if c == *last + 1 => *last = c,
                Some(c) => {
                    self.breaks += 1;
                    *last = c;
                }
                None => self.breaks += 1,
            }
        }
        // Ticks counted, all partitions together.
        self.last = self.last_in.values().sum();
    }
}

/// Batch `k` of the ring (the ring is a whole number of batches).
fn feed(live: &mut LiveStrategies, ring: &[MarketTick], k: usize) -> (i32, Processed) {
    let batches = (ring.len() / BATCH).max(1);
    let start = (k % batches) * BATCH;
    let end = (start + BATCH).min(ring.len());
    let refs: Vec<&MarketTick> = ring[start..end].iter().collect();
    // On the stream every partition has its own instances; batch k goes to
    // partition k (round robin) when partitions are assigned.
    let partitions: Vec<i32> = live.partitions().collect();
    match partitions.get(k % partitions.len().max(1)) {
        Some(&p) => (p, live.process_in(p, &refs).unwrap_or_default()),
        None => (alpha_panda::strategy::LOCAL, live.process(&refs)),
    }
}

// ---------------------------------------------------------------------------------
// 1. The tick-path pause of a swap.

/// A strategy in the set: `param` changes with every new version offered.
#[derive(Clone)]
struct Target {
    name: String,
    component: PluginComponent,
    manifest: Manifest,
    param: &'static str,
}

struct SwapResult {
    /// Per plugin name: `apply` durations of successful reloads.
    apply: HashMap<String, Vec<Duration>>,
    /// Per plugin name: how long `prepare` took on the preparer thread.
    prepare: HashMap<String, Vec<Duration>>,
    first_batch: Vec<Duration>,
    steady_batch: Vec<Duration>,
    snapshot_bytes: HashMap<String, usize>,
    refused: Vec<String>,
    counter: CounterCheck,
    timed_out: bool,
}

fn load_into(live: &mut LiveStrategies, engine: &StrategyEngine, t: &Target) -> Result<()> {
    let prepared = StrategySlot::prepare(engine, &t.component, &t.manifest)
        .map_err(|e| anyhow!("{}: {e}", t.name))?;
    match live.apply(PluginUpdate::Load {
        name: t.name.clone(),
        sha256: t.component.sha256().to_owned(),
        prepared: Box::new(prepared),
    }) {
        Some(Lifecycle::Loaded { .. }) => Ok(()),
        other => bail!("{} did not load: {other:?}", t.name),
    }
}

/// Runs a tick loop over `ring` with `targets` and `bystanders` loaded, while a
/// second thread prepares `swaps` new versions of each target (round robin).
#[allow(clippy::too_many_arguments)]
fn swap_scenario(
    engine: &StrategyEngine,
    targets: Vec<Target>,
    bystanders: &[Target],
    ring: &[MarketTick],
    swaps: usize,
    budget: Duration,
    partitions: i32,
) -> Result<SwapResult> {
    let mut live = LiveStrategies::new(
        StrategySet::new(engine.clone(), SlotConfig::default()),
        BrokerNamespace::Paper,
    );
    for t in targets.iter().chain(bystanders) {
        load_into(&mut live, engine, t)?;
    }
    // Partitions assigned: each runs its own instance of every strategy, and a
    // reload swaps all of them.
    if partitions > 0 {
        live.drop_local();
        for p in 0..partitions {
            live.assign(p);
        }
    }
    let mut counter = CounterCheck::default();
    // Warm up: two passes over the ring, so every window is full and the guests'
    // heaps have grown to their steady size.
    let batches = ring.len() / BATCH;
    for k in 0..2 * batches {
        counter.see(&feed(&mut live, ring, k));
    }
    let mut snapshot_bytes = HashMap::new();
    let first = live
        .partitions()
        .next()
        .unwrap_or(alpha_panda::strategy::LOCAL);
    for t in targets.iter().chain(bystanders) {
        let set = match live.partition_mut(first) {
            Some(set) => set,
            None => live.local_mut(),
        };
        if let Some(slot) = set.get_mut(&t.manifest.strategy_id) {
            let len = slot.snapshot_now().map_or(0, |s| s.len());
            snapshot_bytes.insert(t.name.clone(), len);
        }
    }

    // The preparer: the watcher's job, minus the file system.
    type Offer = std::result::Result<(PluginUpdate, Duration), String>;
    let (tx, rx) = mpsc::sync_channel::<Offer>(1);
    let prep_engine = engine.clone();
    let preparer = std::thread::Builder::new()
        .name("bench-preparer".into())
        .spawn(move || {
            for i in 1..=swaps {
                for t in &targets {
                    let m = variant(&t.manifest, t.param, 1000 + i as i64);
                    let started = Instant::now();
                    let offer = match StrategySlot::prepare(&prep_engine, &t.component, &m) {
                        Ok(p) => Ok((
                            PluginUpdate::Load {
                                name: t.name.clone(),
                                sha256: t.component.sha256().to_owned(),
                                prepared: Box::new(p),
                            },
                            started.elapsed(),
                        )),
                        Err(e) => Err(format!("{}: {e}", t.name)),
                    };
                    if tx.send(offer).is_err() {
                        return;
                    }
                }
            }
        })
        .context("spawn preparer")?;

    let mut res = SwapResult {
        apply: HashMap::new(),
        prepare: HashMap::new(),
        first_batch: Vec::new(),
        steady_batch: Vec::new(),
        snapshot_bytes,
        refused: Vec::new(),
        counter,
        timed_out: false,
    };
    let deadline = Instant::now() + budget;
    let mut after_swap = false;
    let mut k = 0usize;
    let mut open = true;
    while open {
        if Instant::now() > deadline {
            res.timed_out = true;
            break;
        }
        if k.is_multiple_of(SWAP_EVERY) {
            match rx.try_recv() {
                Ok(Ok((update, prep))) => {
                    let name = match &update {
                        PluginUpdate::Load { name, .. } => name.clone(),
                        _ => String::new(),
                    };
                    // The only part of a reload on the tick path.
                    let started = Instant::now();
                    let event = live.apply(update);
                    let took = started.elapsed();
                    match event {
                        Some(Lifecycle::Reloaded { .. }) => {
                            res.apply.entry(name.clone()).or_default().push(took);
                            res.prepare.entry(name).or_default().push(prep);
                            after_swap = true;
                        }
                        other => res.refused.push(format!("{name}: {other:?}")),
                    }
                }
                Ok(Err(e)) => res.refused.push(e),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        let started = Instant::now();
        let out = feed(&mut live, ring, k);
        let took = started.elapsed();
        if after_swap {
            res.first_batch.push(took);
            after_swap = false;
        } else {
            res.steady_batch.push(took);
        }
        res.counter.see(&out);
        k += 1;
    }
    drop(rx);
    let _ = preparer.join();
    Ok(res)
}

/// Where `apply`'s time goes, measured apart on bare instances with the same state:
/// the old instance's `snapshot`, the new one's `restore`, dropping the old instance.
#[derive(Default)]
struct Breakdown {
    snapshot: Vec<Duration>,
    restore: Vec<Duration>,
    drop_old: Vec<Duration>,
}

/// What `init` gets, exactly as the host builds it.
fn init_config(m: &Manifest) -> InitConfig {
    let mut instruments = m.instruments.clone();
    instruments.sort_unstable();
    instruments.dedup();
    alpha_panda::strategy::slot::init_config(m, &instruments)
}

fn apply_breakdown(
    engine: &StrategyEngine,
    t: &Target,
    ring: &[MarketTick],
    reps: usize,
) -> Result<Breakdown> {
    let init = init_config(&t.manifest);
    let fresh = || -> Result<Instance> {
        let mut i = Instance::new(engine, &t.component, &init.strategy_id, init.seed)
            .map_err(|e| anyhow!("{e}"))?;
        match i.init(&init) {
            Ok(Ok(())) => Ok(i),
            Ok(Err(e)) => bail!("init refused: {e}"),
            Err(f) => bail!("init faulted: {f}"),
        }
    };
    let mut builder = BatchBuilder::new();
    let mut run = |i: &mut Instance, k: usize| -> Result<()> {
        let batches = (ring.len() / BATCH).max(1);
        let start = (k % batches) * BATCH;
        builder.clear();
        for tick in &ring[start..(start + BATCH).min(ring.len())] {
            builder.push(tick).map_err(|e| anyhow!("{e}"))?;
        }
        i.on_ticks(builder.batch()).map_err(|f| anyhow!("{f}"))?;
        Ok(())
    };
    let mut old = fresh()?;
    let batches = ring.len() / BATCH;
    for k in 0..2 * batches {
        run(&mut old, k)?;
    }
    let mut out = Breakdown::default();
    for rep in 0..reps {
        let mut next = fresh()?;
        let started = Instant::now();
        let state = old.snapshot().map_err(|f| anyhow!("snapshot: {f}"))?;
        out.snapshot.push(started.elapsed());
        let started = Instant::now();
        match next.restore(&state) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => bail!("restore refused: {e}"),
            Err(f) => bail!("restore faulted: {f}"),
        }
        out.restore.push(started.elapsed());
        let started = Instant::now();
        drop(std::mem::replace(&mut old, next));
        out.drop_old.push(started.elapsed());
        for k in 0..SWAP_EVERY {
            run(&mut old, rep * SWAP_EVERY + k)?;
        }
    }
    Ok(out)
}

fn part_swap(quick: bool) -> Result<()> {
    let swaps = if quick { 3 } else { 100 };
    let budget = Duration::from_secs(if quick { 30 } else { 300 });
    let engine = engine(None)?;
    let momentum = engine
        .load_bytes(&momentum_wasm()?)
        .map_err(|e| anyhow!("momentum.wasm: {e}"))?;
    let hostile = engine
        .load_bytes(&hostile_wasm()?)
        .map_err(|e| anyhow!("hostile.wasm: {e}"))?;
    let six = common::manifest().instruments;
    let counter = Target {
        name: "counter".into(),
        component: hostile,
        manifest: parse(&counter_manifest_text(0))?,
        param: "version",
    };
    let momentum_with = |instruments: &[u32]| -> Result<Target> {
        Ok(Target {
            name: "momentum".into(),
            component: momentum.clone(),
            manifest: parse(&momentum_manifest_text("momentum_1", instruments, 100))?,
            param: "position_size",
        })
    };

    let mut runs: Vec<(String, SwapResult)> = Vec::new();
    let mut breakdowns: Vec<(String, Result<Breakdown>)> = Vec::new();
    // Momentum (6 instruments) + counter, both reloaded in turn.
    let ring = common::full_ticks(&six, 640);
    breakdowns.push((
        "momentum (6 instr.)".into(),
        apply_breakdown(&engine, &momentum_with(&six)?, &ring, swaps),
    ));
    // Then the same on 12 partitions (the default of market.ticks): 12 instances
    // of each strategy, every one swapped with its own state.
    for (partitions, label) in [
        (0, "momentum (6 instr.) + counter"),
        (12, "momentum (6 instr.) + counter, 12 partitions"),
    ] {
        let r = swap_scenario(
            &engine,
            vec![momentum_with(&six)?, counter.clone()],
            &[],
            &ring,
            swaps,
            budget,
            partitions,
        )?;
        runs.push((label.into(), r));
    }
    // Momentum with a large state (128 and 1024 instruments, full windows) reloaded;
    // the counter runs beside it.
    for n in [128u32, 1024] {
        let tokens: Vec<u32> = std::iter::once(COUNTER_TOKEN)
            .chain((1..n).map(|i| 5_000_000 + i))
            .collect();
        let ring = common::full_ticks(&tokens, (2048 / n as usize).max(32));
        breakdowns.push((
            format!("momentum ({n} instr.)"),
            apply_breakdown(&engine, &momentum_with(&tokens)?, &ring, swaps),
        ));
        let r = swap_scenario(
            &engine,
            vec![momentum_with(&tokens)?],
            std::slice::from_ref(&counter),
            &ring,
            swaps,
            budget,
            0,
        )?;
        runs.push((format!("momentum ({n} instr.) + counter"), r));
    }

    println!("## 1. Tick-path pause of a swap: `LiveStrategies::apply(update)`");
    println!();
    println!(
        "Up to {swaps} reloads per swapped strategy, one offered every {SWAP_EVERY} batches of {BATCH} \
         FULL ticks; new versions prepared on another thread (`StrategySlot::prepare`)."
    );
    println!();
    println!(
        "| set | swapped | its state (snapshot) | swaps | apply p50 | apply p99 | apply max | prepare p50 (off path) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (label, r) in &runs {
        let mut names: Vec<&String> = r.apply.keys().collect();
        names.sort();
        for name in names {
            let apply = summary(&r.apply[name]);
            let prep = summary(r.prepare.get(name).map_or(&[][..], |v| &v[..]));
            println!(
                "| {label} | {name} | {} B | {} | {} | {} | {} | {} |",
                r.snapshot_bytes.get(name).copied().unwrap_or(0),
                apply.as_ref().map_or(0, |s| s.n),
                fig(&apply, |s| s.p50, ms3),
                fig(&apply, |s| s.p99, ms3),
                fig(&apply, |s| s.max, ms3),
                fig(&prep, |s| s.p50, ms3),
            );
        }
    }
    println!();
    println!(
        "| set | batches of {BATCH} | batch p50 | batch p99 | first batch after a swap: n | p50 | p99 | max |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (label, r) in &runs {
        let steady = summary(&r.steady_batch);
        let first = summary(&r.first_batch);
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} |",
            r.steady_batch.len(),
            fig(&steady, |s| s.p50, ms3),
            fig(&steady, |s| s.p99, ms3),
            r.first_batch.len(),
            fig(&first, |s| s.p50, ms3),
            fig(&first, |s| s.p99, ms3),
            fig(&first, |s| s.max, ms3),
        );
    }
    println!();
    println!(
        "| where apply's time goes (bare instances, same state, measured apart) | old `snapshot` p50 / p99 | new `restore` p50 / p99 | drop old instance p50 / p99 |"
    );
    println!("|---|---:|---:|---:|");
    for (label, b) in &breakdowns {
        match b {
            Ok(b) => {
                let cell = |v: &[Duration]| {
                    let s = summary(v);
                    format!("{} / {}", fig(&s, |s| s.p50, ms3), fig(&s, |s| s.p99, ms3))
                };
                println!(
                    "| {label} | {} | {} | {} |",
                    cell(&b.snapshot),
                    cell(&b.restore),
                    cell(&b.drop_old)
                );
            }
            Err(e) => println!("| {label} | failed: {e:#} | | |"),
        }
    }
    println!();
    for (label, r) in &runs {
        if r.timed_out {
            println!("- {label}: stopped at the time budget before every swap was applied");
        }
        for e in r.refused.iter().take(3) {
            println!("- {label}: NOT reloaded: {e}");
        }
        println!(
            "- {label}: counter state carried across every swap: {} (last count {}, breaks {})",
            if r.counter.breaks == 0 { "yes" } else { "NO" },
            r.counter.last,
            r.counter.breaks
        );
    }
    println!("- load average after part 1: {}", loadavg());
    println!();
    Ok(())
}

// ---------------------------------------------------------------------------------
// 2. From file write to the new version serving.

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Change {
    /// `momentum.toml` with a new `position_size`: same code, so a cache hit.
    Manifest,
    /// `momentum.wasm` with a new custom section: new bytes, never in the cache.
    Wasm,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Regime {
    /// A new watcher per repetition: the write is the first event it sees.
    Fresh,
    /// One watcher for every repetition, after a first (uncounted) change.
    Busy,
}

struct ReloadCase {
    regime: Regime,
    change: Change,
    cached: bool,
    debounce: Duration,
}

#[derive(Default)]
struct ReloadResult {
    total: Vec<Duration>,
    timeouts: usize,
    refused: usize,
    extra_updates: usize,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))
}

fn leb128(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `base` plus a custom section whose payload is `tag`: the same code, new bytes.
fn with_custom_section(base: &[u8], tag: u64) -> Vec<u8> {
    let name = b"alpha-panda-bench";
    let mut content = Vec::new();
    leb128(name.len(), &mut content);
    content.extend_from_slice(name);
    content.extend_from_slice(&tag.to_le_bytes());
    let mut out = base.to_vec();
    out.push(0);
    leb128(content.len(), &mut out);
    out.extend_from_slice(&content);
    out
}

/// The plugin files the watcher starts from.
struct Base {
    momentum: Vec<u8>,
    hostile: Vec<u8>,
    six: Vec<u32>,
}

impl Base {
    fn load() -> Result<Base> {
        Ok(Base {
            momentum: momentum_wasm()?,
            hostile: hostile_wasm()?,
            six: common::manifest().instruments,
        })
    }

    fn write(&self, dir: &Path) -> Result<()> {
        std::fs::write(dir.join("momentum.wasm"), &self.momentum)?;
        std::fs::write(
            dir.join("momentum.toml"),
            momentum_manifest_text("momentum_1", &self.six, 100),
        )?;
        std::fs::write(dir.join("counter.wasm"), &self.hostile)?;
        std::fs::write(dir.join("counter.toml"), counter_manifest_text(0))?;
        Ok(())
    }

    /// The file change number `rep`: (path, bytes).
    fn change(&self, change: Change, dir: &Path, rep: u64) -> (PathBuf, Vec<u8>) {
        match change {
            Change::Manifest => (
                dir.join("momentum.toml"),
                momentum_manifest_text("momentum_1", &self.six, 100 + rep as i64).into_bytes(),
            ),
            Change::Wasm => (
                dir.join("momentum.wasm"),
                with_custom_section(&self.momentum, rep),
            ),
        }
    }
}

/// A watched folder and a tick loop applying its updates at batch boundaries.
struct Rig {
    watcher: PluginWatcher,
    live: LiveStrategies,
    ring: Vec<MarketTick>,
    k: usize,
}

#[derive(Default)]
struct Ran {
    reloaded: bool,
    updates: usize,
    refused: usize,
}

impl Rig {
    fn start(
        dir: &Path,
        engine: &StrategyEngine,
        debounce: Duration,
        ring: &[MarketTick],
    ) -> Result<Rig> {
        let (initial, watcher) =
            PluginWatcher::start(dir, engine.clone(), debounce).map_err(|e| anyhow!("{e}"))?;
        let mut live = LiveStrategies::new(
            StrategySet::new(engine.clone(), SlotConfig::default()),
            BrokerNamespace::Paper,
        );
        for u in initial {
            match live.apply(u) {
                Some(Lifecycle::Loaded { .. }) => {}
                other => bail!("initial load: {other:?}"),
            }
        }
        Ok(Rig {
            watcher,
            live,
            ring: ring.to_vec(),
            k: 0,
        })
    }

    /// Feeds batches (1 ms apart) until `until`, applying updates at each boundary;
    /// with `stop_on_reload`, returns as soon as momentum was reloaded.
    fn run(&mut self, until: Instant, stop_on_reload: bool) -> Ran {
        let mut ran = Ran::default();
        while Instant::now() < until {
            while let Some(u) = self.watcher.try_recv() {
                ran.updates += 1;
                match self.live.apply(u) {
                    Some(Lifecycle::Reloaded { strategy_id, .. })
                        if strategy_id == "momentum_1" =>
                    {
                        ran.reloaded = true;
                        if stop_on_reload {
                            return ran;
                        }
                    }
                    Some(Lifecycle::Refused { .. }) => ran.refused += 1,
                    _ => {}
                }
            }
            let _ = feed(&mut self.live, &self.ring, self.k);
            self.k += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        ran
    }

    /// Writes change `rep` and times it until momentum is reloaded.
    fn timed_change(
        &mut self,
        base: &Base,
        change: Change,
        dir: &Path,
        rep: u64,
    ) -> Result<(Option<Duration>, Ran)> {
        let (path, bytes) = base.change(change, dir, rep);
        let t0 = Instant::now();
        write_atomic(&path, &bytes)?;
        let ran = self.run(t0 + REP_TIMEOUT, true);
        let took = t0.elapsed();
        Ok((ran.reloaded.then_some(took), ran))
    }
}

fn reload_case(case: &ReloadCase, base: &Base, reps: usize) -> Result<ReloadResult> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let cache = tempfile::tempdir().context("temp dir")?;
    let engine = engine(case.cached.then(|| cache.path().to_owned()))?;
    let ring = common::full_ticks(&base.six, 640);
    let quiet = (case.debounce * 3).max(Duration::from_millis(300));
    let mut res = ReloadResult::default();
    let record = |res: &mut ReloadResult, took: Option<Duration>, ran: &Ran| {
        match took {
            Some(t) => res.total.push(t),
            None => res.timeouts += 1,
        }
        res.refused += ran.refused;
    };
    match case.regime {
        Regime::Fresh => {
            for rep in 1..=reps as u64 {
                base.write(dir.path())?;
                let mut rig = Rig::start(dir.path(), &engine, case.debounce, &ring)?;
                // The debouncer checks every debounce/4 from its start: spread the
                // write's phase evenly over one such period rather than lock onto it.
                let phase = (case.debounce / 4).mul_f64(((rep - 1) % 20) as f64 / 20.0);
                let _ = rig.run(Instant::now() + Duration::from_millis(50) + phase, false);
                let (took, ran) = rig.timed_change(base, case.change, dir.path(), rep)?;
                record(&mut res, took, &ran);
            }
        }
        Regime::Busy => {
            base.write(dir.path())?;
            let mut rig = Rig::start(dir.path(), &engine, case.debounce, &ring)?;
            // A first change (not counted): from now on the watcher is past its first event.
            let _ = rig.timed_change(base, case.change, dir.path(), 0)?;
            let _ = rig.run(Instant::now() + quiet, false);
            for rep in 1..=reps as u64 {
                let (took, ran) = rig.timed_change(base, case.change, dir.path(), rep)?;
                record(&mut res, took, &ran);
                // Late events must not turn into a second update for the same change.
                let after = rig.run(Instant::now() + quiet, false);
                res.extra_updates += after.updates;
                res.refused += after.refused;
            }
        }
    }
    Ok(res)
}

/// The watcher's own work for one change, measured directly: read + sha256 +
/// compile (or load from the cache) + check + instantiate + init.
fn watcher_work(base: &Base, change: Change, cached: bool, reps: usize) -> Result<Vec<Duration>> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let cache = tempfile::tempdir().context("temp dir")?;
    let engine = engine(cached.then(|| cache.path().to_owned()))?;
    base.write(dir.path())?;
    let files = PluginFiles {
        name: "momentum".into(),
        wasm: dir.path().join("momentum.wasm"),
        manifest: dir.path().join("momentum.toml"),
    };
    let mut out = Vec::new();
    // Rep 0 is the start-up load (fills the cache when there is one): not counted.
    for rep in 0..=reps as u64 {
        if rep > 0 {
            let (path, bytes) = base.change(change, dir.path(), rep);
            write_atomic(&path, &bytes)?;
        }
        let started = Instant::now();
        let loaded = load_plugin(&engine, &files).map_err(|e| anyhow!("{e}"))?;
        let prepared = StrategySlot::prepare(&engine, &loaded.component, &loaded.manifest)
            .map_err(|e| anyhow!("{e}"))?;
        let took = started.elapsed();
        drop(prepared);
        if rep > 0 {
            out.push(took);
        }
    }
    Ok(out)
}

/// Process CPU over `idle` with no ticks and no writes: a watcher that has seen no
/// event, then the same watcher after one change.
fn idle_cpu(base: &Base, debounce: Duration, idle: Duration) -> Result<(Duration, Duration)> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let cache = tempfile::tempdir().context("temp dir")?;
    let engine = engine(Some(cache.path().to_owned()))?;
    base.write(dir.path())?;
    let ring = common::full_ticks(&base.six, 64);
    let mut rig = Rig::start(dir.path(), &engine, debounce, &ring)?;
    let measure = || {
        let c0 = process_cpu();
        std::thread::sleep(idle);
        process_cpu().saturating_sub(c0)
    };
    let before = measure();
    let _ = rig.timed_change(base, Change::Manifest, dir.path(), 1)?;
    let after = measure();
    // Anything that arrived meanwhile is applied (and must be nothing).
    let _ = rig.run(Instant::now() + Duration::from_millis(10), false);
    Ok((before, after))
}

fn part_reload(quick: bool) -> Result<()> {
    let reps = if quick { 2 } else { 20 };
    let base = Base::load()?;
    println!("## 2. File write → new version serving (real `PluginWatcher`)");
    println!();
    println!(
        "{reps} repetitions per row (p99 of 20 = the max); the tick loop feeds a batch of {BATCH} ticks \
         then sleeps 1 ms; the clock starts before the write of the temp file and stops when \
         `apply` returns `Lifecycle::Reloaded`. Load average at start: {}.",
        loadavg()
    );
    println!();

    let mut work: HashMap<(Change, bool), Option<Summary>> = HashMap::new();
    for (change, cached) in [
        (Change::Manifest, true),
        (Change::Manifest, false),
        (Change::Wasm, true),
    ] {
        let s = match watcher_work(&base, change, cached, reps.min(10)) {
            Ok(v) => summary(&v),
            Err(e) => {
                println!("- watcher work ({cached}): failed: {e:#}");
                None
            }
        };
        work.insert((change, cached), s);
    }

    println!(
        "| watcher | change | compiled cache | debounce | n | write→serving p50 | p99 | max | watcher's load+prepare p50 (measured apart, before the rows) |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    let combos = [
        (Change::Manifest, true, 50),
        (Change::Manifest, false, 50),
        (Change::Manifest, true, 200),
        (Change::Manifest, false, 200),
        (Change::Wasm, true, 50),
        (Change::Wasm, true, 200),
    ];
    let mut anomalies = Vec::new();
    for regime in [Regime::Fresh, Regime::Busy] {
        for (change, cached, debounce_ms) in combos {
            let case = ReloadCase {
                regime,
                change,
                cached,
                debounce: Duration::from_millis(debounce_ms),
            };
            let who = match regime {
                Regime::Fresh => "first event",
                Regime::Busy => "after its first event",
            };
            let what = match change {
                Change::Manifest => "momentum.toml",
                Change::Wasm => "momentum.wasm (new bytes)",
            };
            let cache = match (cached, change) {
                (false, _) => "none: compile",
                (true, Change::Manifest) => "hit",
                (true, Change::Wasm) => "miss: compile + write",
            };
            let load = work.get(&(change, cached)).and_then(Option::as_ref);
            match reload_case(&case, &base, reps) {
                Ok(r) => {
                    let total = summary(&r.total);
                    let n = match r.timeouts {
                        0 => r.total.len().to_string(),
                        t => format!("{} ({t} timed out)", r.total.len()),
                    };
                    println!(
                        "| {who} | {what} | {cache} | {debounce_ms} ms | {n} | {} | {} | {} | {} |",
                        fig(&total, |s| s.p50, ms1),
                        fig(&total, |s| s.p99, ms1),
                        fig(&total, |s| s.max, ms1),
                        load.map_or_else(|| "–".to_owned(), |l| ms1(l.p50)),
                    );
                    if r.refused > 0 || r.extra_updates > 0 {
                        anomalies.push(format!(
                            "{who}, {what}, {cache}, {debounce_ms} ms: {} refusals, {} extra updates",
                            r.refused, r.extra_updates
                        ));
                    }
                }
                Err(e) => println!(
                    "| {who} | {what} | {cache} | {debounce_ms} ms | failed: {e:#} | | | | |"
                ),
            }
        }
    }
    println!();
    for a in &anomalies {
        println!("- anomaly: {a}");
    }
    println!("- load average after part 2: {}", loadavg());
    println!();
    Ok(())
}

fn part_idle(quick: bool) -> Result<()> {
    let base = Base::load()?;
    let idle = Duration::from_millis(if quick { 300 } else { 3000 });
    println!("## 3. Idle cost of a watcher after its first event");
    println!();
    println!(
        "| idle process CPU over {} s, no ticks, no writes | before any event | after one change |",
        idle.as_secs_f64()
    );
    println!("|---|---:|---:|");
    for debounce_ms in [50u64, 200] {
        match idle_cpu(&base, Duration::from_millis(debounce_ms), idle) {
            Ok((before, after)) => println!(
                "| debounce {debounce_ms} ms | {} | {} |",
                ms1(before),
                ms1(after)
            ),
            Err(e) => println!("| debounce {debounce_ms} ms | failed: {e:#} | |"),
        }
    }
    Ok(())
}

/// One part of the bench; `true` = quick (`--test`) mode.
type Part = fn(bool) -> Result<()>;

fn main() {
    // `cargo test --benches` runs bench targets with `--test`: only check they start.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    // `cargo bench -p alpha-panda --bench reload -- swap` runs only the parts named.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!(
        "# reload: plugins/momentum.wasm + tests/plugins/hostile.wasm (counter), release, wasmtime 48"
    );
    println!();
    println!(
        "{} logical CPUs; load average at start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    println!();
    let mut failed = false;
    let parts: [(&str, Part); 3] = [
        ("swap", part_swap),
        ("reload", part_reload),
        ("idle", part_idle),
    ];
    for (name, part) in parts {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        if let Err(e) = part(quick) {
            eprintln!("reload bench, part {name}: {e:#}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
