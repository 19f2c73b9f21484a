//! The language benchmark of issue 16: the momentum strategy as Rust/Wasm,
//! Python/Wasm and JavaScript/Wasm, and the same Python and JavaScript files natively
//! under CPython and node, over one identical tick stream. It prints tables (no
//! criterion): load times (cold compile, first load with a cache dir, cached load,
//! instantiation), per-tick CPU with the ratios, and the memory one strategy costs at
//! 12 partitions (one instance each, as the host runs it). See BENCHMARKS.md,
//! "Languages (issue 16)".
//!
//! `cargo bench -p alpha-panda --bench languages` (or `cargo xtask bench languages`).
//! It needs the Python tools' interpreter and node (`cargo xtask setup`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alpha_panda::contract::MarketTick;
use alpha_panda::manifest::{Manifest, ParamValue};
use alpha_panda::strategy::slot::{init_config, seed_for};
use alpha_panda::strategy::{SlotConfig, StrategySlot};
use alpha_panda::wasm::bindings::types::TickBatch;
use alpha_panda::wasm::convert::BatchBuilder;
use alpha_panda::wasm::engine::CompileSource;
use alpha_panda::wasm::{EngineLimits, Instance, PluginComponent, StrategyEngine};
use alpha_panda_abi::signal::Signal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Partitions one strategy runs on in the memory figure (an instance each).
const PARTITIONS: usize = 12;
/// Ticks per instrument in the stream: ×6 instruments = 24 000 ticks a pass.
const PER_INSTRUMENT: usize = 4_000;
const QUICK_PER_INSTRUMENT: usize = 50;
/// Batch sizes of the per-tick figures: the usual one, and a small one. Not one
/// tick a call: a bare JavaScript instance grows about 1.3 KiB a call and would
/// reach the memory cap over the passes (the host recycles it; this bench times
/// bare instances).
const BATCH_SIZES: [usize; 2] = [64, 8];
/// The host path (`BatchBuilder` + `StrategySlot::run`) is measured at this size.
const HOST_PATH_BATCH: usize = 64;
/// Passes over the stream per contender, one instance throughout: the first is cold
/// (page faults, warm-up), the others warm.
const PASSES: usize = 4;
/// Ticks per instrument fed to each instance of the memory figure (a full window).
const FEED_PER_INSTRUMENT: usize = 25;
/// The largest batch the host sends (`plugins.max_batch`).
const BIG_BATCH: usize = 512;
/// First argument of the process this bench starts to measure one language's memory.
const MEMORY_CHILD: &str = "--memory-child";

/// A strategy's native runtime, for the "same file natively" rows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Native {
    CPython,
    Node,
}

struct Lang {
    label: &'static str,
    /// `plugins/NAME.wasm` and `plugins/NAME.toml`.
    plugin: &'static str,
    native: Option<Native>,
}

const LANGS: [Lang; 3] = [
    Lang {
        label: "Rust",
        plugin: "momentum",
        native: None,
    },
    Lang {
        label: "Python",
        plugin: "momentum_py",
        native: Some(Native::CPython),
    },
    Lang {
        label: "JavaScript",
        plugin: "momentum_js",
        native: Some(Native::Node),
    },
];

// ------------------------------------------------------------------------- clocks

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// (median, min, runs) of `runs` calls of `f`, in wall time.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, usize) {
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        v.push(t.elapsed());
    }
    let min = *v.iter().min().expect("runs > 0");
    (median(v), min, runs)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn timed(t: (Duration, Duration, usize)) -> String {
    format!("{} (min {}, {}×)", ms(t.0), ms(t.1), t.2)
}

// ------------------------------------------------------------- native runtimes

struct Natives {
    python: PathBuf,
    node: PathBuf,
}

/// The Python tools' virtual environment, as `cargo xtask setup` makes it:
/// `~/.cache/alpha-panda/python-HASH/bin/python`, HASH from the pinned requirements.
fn venv_python() -> PathBuf {
    let req = common::root().join("sdk-python/requirements-build.txt");
    let hash = std::fs::read(&req)
        .map(|b| hex::encode(Sha256::digest(&b)))
        .unwrap_or_default();
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let cache = match var("ALPHA_PANDA_KAFKA_HOME") {
        Some(kafka) => kafka.parent().map(Path::to_path_buf).unwrap_or(kafka),
        None => var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .unwrap_or_else(std::env::temp_dir)
            .join("alpha-panda"),
    };
    cache
        .join(format!("python-{}", hash.get(..16).unwrap_or("unknown")))
        .join("bin/python")
}

fn fail(message: &str) -> ! {
    eprintln!("languages bench: {message}");
    std::process::exit(2)
}

impl Natives {
    /// Both native runtimes, or a message saying how to install them and exit.
    fn find() -> Self {
        let python = std::env::var_os("ALPHA_PANDA_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(venv_python);
        let works = |c: &mut Command| c.output().is_ok_and(|o| o.status.success());
        if !works(Command::new(&python).arg("--version")) {
            fail(&format!(
                "no Python at {} (the Python tools' interpreter, which runs the Python strategy natively); \
                 install it with `cargo xtask setup`, or point ALPHA_PANDA_PYTHON at a Python >= 3.11",
                python.display()
            ));
        }
        let node = PathBuf::from("node");
        if !works(Command::new(&node).arg("--version")) {
            fail("no `node` on PATH (it runs the JavaScript strategy natively): install Node.js >= 20, then `cargo xtask setup`");
        }
        let link = common::root().join("plugins/javascript/node_modules/@alpha-panda/sdk");
        if !link.exists() {
            fail(&format!(
                "{} is missing (the JavaScript strategies' link to their SDK): run `cargo xtask setup`",
                link.display()
            ));
        }
        Self { python, node }
    }
}

/// `name=kind:value`, as the native scripts take a parameter.
fn param_arg(name: &str, v: &ParamValue) -> String {
    match v {
        ParamValue::Integer(i) => format!("{name}=integer:{i}"),
        ParamValue::Float(f) => format!("{name}=float:{f}"),
        ParamValue::Boolean(b) => format!("{name}=boolean:{b}"),
        ParamValue::Text(s) => format!("{name}=text:{s}"),
    }
}

/// Writes `batches` as `PREFIX.bin` (their data, one after the other) and
/// `PREFIX.json` (`{"batches": [[count, data bytes, [symbols]], ...]}`).
fn write_batches(prefix: &Path, batches: &[TickBatch]) {
    let mut blob = Vec::new();
    let mut index = Vec::new();
    for b in batches {
        blob.extend_from_slice(&b.data);
        index.push(json!([b.count, b.data.len(), b.symbols]));
    }
    std::fs::write(prefix.with_extension("bin"), blob).expect("write the batches");
    let index = json!({ "batches": index }).to_string();
    std::fs::write(prefix.with_extension("json"), index).expect("write the batch index");
}

/// Runs a native script over the batches at `prefix`; its passes and its runtime's version.
fn run_native(
    natives: &Natives,
    native: Native,
    manifest: &Manifest,
    prefix: &Path,
    passes: usize,
) -> (Vec<Pass>, String) {
    let root = common::root();
    let (program, script, folder, version_key) = match native {
        Native::CPython => (
            &natives.python,
            root.join("sdk-python/tools/native_bench.py"),
            root.join("plugins/python/momentum_py"),
            "python",
        ),
        Native::Node => (
            &natives.node,
            root.join("sdk-js/scripts/native_bench.mjs"),
            root.join("plugins/javascript/momentum_js"),
            "node",
        ),
    };
    let mut instruments = manifest.instruments.clone();
    instruments.sort_unstable();
    instruments.dedup();
    let instruments: Vec<String> = instruments.iter().map(u32::to_string).collect();
    let mut c = Command::new(program);
    c.arg(&script)
        .arg(&folder)
        .arg(prefix)
        .args(["--id", &manifest.strategy_id])
        .args(["--instruments", &instruments.join(",")])
        .args(["--seed", &seed_for(&manifest.strategy_id).to_string()])
        .args(["--passes", &passes.to_string()]);
    for (k, v) in &manifest.params {
        c.args(["--param", &param_arg(k, v)]);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", program.display())));
    if !out.status.success() {
        fail(&format!(
            "{} {} failed ({}):\n{}",
            program.display(),
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        fail(&format!(
            "{}: not JSON ({e}): {}",
            script.display(),
            String::from_utf8_lossy(&out.stdout)
        ))
    });
    let ticks = v["ticks"].as_u64().unwrap_or(0) as usize;
    let list = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let (cpu, wall, signals) = (list("cpu_s"), list("wall_s"), list("signals"));
    assert_eq!(
        v["errors"].as_u64(),
        Some(0),
        "{}: tick errors",
        script.display()
    );
    let passes = (0..cpu.len().min(wall.len()).min(signals.len()))
        .map(|i| Pass {
            ticks,
            cpu: Duration::from_secs_f64(cpu[i]),
            wall: Duration::from_secs_f64(wall[i]),
            signals: signals[i] as usize,
        })
        .collect();
    let version = v[version_key].as_str().unwrap_or("?").to_owned();
    (passes, version)
}

// ---------------------------------------------------------------------- loading

/// What loading and starting one component costs.
struct LoadFigures {
    wasm_kib: usize,
    artifact_kib: u64,
    cold: Option<(Duration, Duration, usize)>,
    first: (Duration, CompileSource),
    cached: (Duration, Duration, usize),
    sha256: (Duration, Duration, usize),
    instance_new: (Duration, Duration, usize),
    slot_start: (Duration, Duration, usize),
}

fn start_slot(engine: &StrategyEngine, c: &PluginComponent, m: &Manifest) -> StrategySlot {
    StrategySlot::start(engine, c.clone(), m.clone(), SlotConfig::default())
        .unwrap_or_else(|e| panic!("{}: slot: {e}", m.strategy_id))
}

/// Loads `bytes` every way the host can; returns the figures and the component
/// loaded through `cached` (whose cache dir then holds its artifact).
fn load(
    lang: &Lang,
    bytes: &[u8],
    manifest: &Manifest,
    cached: &StrategyEngine,
    cache_dir: &Path,
    quick: bool,
) -> (LoadFigures, PluginComponent) {
    let big = bytes.len() > 1 << 20;
    let runs = |full: usize, big_full: usize| match (quick, big) {
        (true, _) => 1,
        (false, false) => full,
        (false, true) => big_full,
    };
    // Cold: an engine without a cache dir compiles with Cranelift every time. A
    // quick run leaves it out for the large components (minutes in a debug build).
    let cold = (!(quick && big)).then(|| {
        let no_cache = StrategyEngine::new(EngineLimits::default(), None).expect("engine");
        time(runs(7, 3), || {
            let c = no_cache
                .load_bytes(bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", lang.plugin));
            assert_eq!(c.source(), CompileSource::Compiled);
            c
        })
    });
    let t = Instant::now();
    let component = cached
        .load_bytes(bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", lang.plugin));
    let first = (t.elapsed(), component.source());
    let cached_load = time(runs(51, 11), || {
        let c = cached.load_bytes(bytes).expect("loads again");
        assert_eq!(c.source(), CompileSource::Cache);
        c
    });
    let sha256 = time(runs(51, 11), || Sha256::digest(bytes));
    let artifact_kib = std::fs::read_dir(cache_dir)
        .expect("cache dir")
        .filter_map(Result::ok)
        .find(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(component.sha256()) && name.ends_with(".cwasm")
        })
        .and_then(|e| e.metadata().ok())
        .map_or(0, |m| m.len() / 1024);
    let instance_new = time(runs(101, 21), || {
        Instance::new(cached, &component, &manifest.strategy_id, 1).expect("instantiates")
    });
    let slot_start = time(runs(101, 21), || start_slot(cached, &component, manifest));
    let figures = LoadFigures {
        wasm_kib: bytes.len() / 1024,
        artifact_kib,
        cold,
        first,
        cached: cached_load,
        sha256,
        instance_new,
        slot_start,
    };
    (figures, component)
}

fn print_load_table(figures: &[LoadFigures]) {
    println!(
        "| what | {} |",
        LANGS.map(|l| format!("{}/Wasm", l.label)).join(" | ")
    );
    println!("|---|{}", "---:|".repeat(LANGS.len()));
    let row = |what: &str, f: &dyn Fn(&LoadFigures) -> String| {
        let cells: Vec<String> = figures.iter().map(f).collect();
        println!("| {what} | {} |", cells.join(" | "));
    };
    row("`.wasm` size", &|f| format!("{} KiB", f.wasm_kib));
    row("compiled artifact (`.cwasm`) size", &|f| {
        format!("{} KiB", f.artifact_kib)
    });
    row(
        "**cold**: `load_bytes`, no cache dir (sha256 + checks + Cranelift + link)",
        &|f| f.cold.map_or("– (quick run)".to_owned(), timed),
    );
    row(
        "first load with a cache dir (compile + serialize + write)",
        &|f| match f.first.1 {
            CompileSource::Compiled => ms(f.first.0),
            CompileSource::Cache => format!("{} (was cached)", ms(f.first.0)),
        },
    );
    row(
        "**cached**: `load_bytes`, 2nd and later (page cache warm)",
        &|f| timed(f.cached),
    );
    row("… of which sha256 of the `.wasm`", &|f| timed(f.sha256));
    row("`Instance::new` (store + instantiate)", &|f| {
        timed(f.instance_new)
    });
    row(
        "`StrategySlot::start` (instantiate + `init` + first snapshot)",
        &|f| timed(f.slot_start),
    );
}

// ---------------------------------------------------------------------- per tick

/// One pass over the stream.
#[derive(Clone, Copy)]
struct Pass {
    ticks: usize,
    cpu: Duration,
    wall: Duration,
    signals: usize,
}

/// One contender's passes at one batch size.
struct Contender {
    name: String,
    batch: usize,
    passes: Vec<Pass>,
}

impl Contender {
    fn per_tick_us(&self, d: Duration, p: &Pass) -> f64 {
        d.as_secs_f64() * 1e6 / p.ticks.max(1) as f64
    }

    /// Warm passes: all but the first (the first if there is only one).
    fn warm(&self) -> &[Pass] {
        if self.passes.len() > 1 {
            &self.passes[1..]
        } else {
            &self.passes
        }
    }

    /// µs of CPU a tick: the median of the warm passes.
    fn cpu_us(&self) -> f64 {
        let mut v: Vec<f64> = self
            .warm()
            .iter()
            .map(|p| self.per_tick_us(p.cpu, p))
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    fn wall_us(&self) -> f64 {
        let mut v: Vec<f64> = self
            .warm()
            .iter()
            .map(|p| self.per_tick_us(p.wall, p))
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    fn first_cpu_us(&self) -> f64 {
        self.per_tick_us(self.passes[0].cpu, &self.passes[0])
    }

    fn signals(&self) -> Vec<usize> {
        self.passes.iter().map(|p| p.signals).collect()
    }
}

/// A bare instance with `init` done, as a slot holds it.
fn bare_instance(engine: &StrategyEngine, c: &PluginComponent, m: &Manifest) -> Instance {
    let mut instruments = m.instruments.clone();
    instruments.sort_unstable();
    instruments.dedup();
    let config = init_config(m, &instruments);
    let mut inst = Instance::new(engine, c, &m.strategy_id, config.seed)
        .unwrap_or_else(|e| panic!("{}: instance: {e}", m.strategy_id));
    inst.init(&config)
        .expect("init does not trap")
        .expect("init accepted");
    inst
}

/// `Instance::on_ticks` over prebuilt `batches`, `passes` times, one instance
/// throughout; also the signals of the first pass, with the stream's tick index.
fn run_bare(
    engine: &StrategyEngine,
    c: &PluginComponent,
    m: &Manifest,
    batches: &[TickBatch],
    passes: usize,
) -> (Vec<Pass>, Vec<(usize, Signal)>) {
    let ticks: usize = batches.iter().map(|b| b.count as usize).sum();
    let mut inst = bare_instance(engine, c, m);
    let mut out = Vec::with_capacity(passes);
    let mut first_signals = Vec::new();
    for pass in 0..passes {
        let mut signals = 0;
        let mut at = 0;
        let wall = Instant::now();
        let cpu = thread_cpu_time();
        for b in batches {
            let raw = inst.on_ticks(b).unwrap_or_else(|f| {
                panic!(
                    "{}: fault ({f}); a spurious timeout on a loaded machine? Run again",
                    m.strategy_id
                )
            });
            assert!(raw.errors.is_empty(), "{}: {:?}", m.strategy_id, raw.errors);
            signals += raw.signals.len();
            if pass == 0 {
                first_signals.extend(
                    raw.signals
                        .into_iter()
                        .map(|s| (at + s.tick_index as usize, s)),
                );
            }
            at += b.count as usize;
        }
        let cpu = thread_cpu_time().saturating_sub(cpu);
        out.push(Pass {
            ticks,
            cpu,
            wall: wall.elapsed(),
            signals,
        });
    }
    (out, first_signals)
}

/// The host's own path: `BatchBuilder` from decoded ticks, then `StrategySlot::run`
/// (output check, journal, snapshot every 10 000 ticks).
fn run_host_path(
    engine: &StrategyEngine,
    c: &PluginComponent,
    m: &Manifest,
    ticks: &[MarketTick],
    batch: usize,
    passes: usize,
) -> Vec<Pass> {
    let mut slot = start_slot(engine, c, m);
    let mut builder = BatchBuilder::new();
    (0..passes)
        .map(|_| {
            let mut signals = 0;
            let wall = Instant::now();
            let cpu = thread_cpu_time();
            for chunk in ticks.chunks(batch) {
                builder.clear();
                for t in chunk {
                    builder.push(t).expect("converts");
                }
                let out = slot.run(&Arc::new(builder.take()));
                assert!(
                    out.faults.is_empty(),
                    "{}: faults {:?}",
                    m.strategy_id,
                    out.faults
                );
                signals += out.signals.len();
            }
            Pass {
                ticks: ticks.len(),
                cpu: thread_cpu_time().saturating_sub(cpu),
                wall: wall.elapsed(),
                signals,
            }
        })
        .collect()
}

fn batches_of(ticks: &[MarketTick], n: usize) -> Vec<TickBatch> {
    ticks
        .chunks(n)
        .map(|ch| {
            let mut b = BatchBuilder::new();
            for t in ch {
                b.push(t).expect("converts");
            }
            b.take()
        })
        .collect()
}

/// Panics with the first difference if two languages' signals differ.
fn assert_same_signals(a: (&str, &[(usize, Signal)]), b: (&str, &[(usize, Signal)])) {
    if a.1 == b.1 {
        return;
    }
    let first = a.1.iter().zip(b.1).position(|(x, y)| x != y);
    panic!(
        "{} and {} signal differently: {} vs {} signals; first difference at {first:?}: {:?} vs {:?}",
        a.0,
        b.0,
        a.1.len(),
        b.1.len(),
        first.and_then(|i| a.1.get(i)),
        first.and_then(|i| b.1.get(i)),
    );
}

fn print_tick_table(rows: &[Contender]) {
    println!("| contender | batch | **CPU µs/tick** (warm) | CPU µs/tick, 1st pass | wall µs/tick (warm) | ticks/s (CPU, warm) | signals a pass | × native twin | × Rust/Wasm |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let find = |prefix: &str, batch: usize| {
        rows.iter()
            .find(|r| r.batch == batch && r.name.starts_with(prefix))
    };
    for r in rows {
        let twin = if r.name.starts_with("Python/Wasm") {
            find("CPython", r.batch)
        } else if r.name.starts_with("JavaScript/Wasm") {
            find("node", r.batch)
        } else {
            None
        };
        let rust = (r.name.contains("/Wasm") && !r.name.starts_with("Rust"))
            .then(|| {
                let host_path = r.name.contains("host path");
                rows.iter().find(|x| {
                    x.batch == r.batch
                        && x.name.starts_with("Rust/Wasm")
                        && x.name.contains("host path") == host_path
                })
            })
            .flatten();
        let ratio = |o: Option<&Contender>| {
            o.map_or("–".to_owned(), |o| {
                format!("**{:.2}**", r.cpu_us() / o.cpu_us())
            })
        };
        let signals = r.signals();
        let signals = if signals.windows(2).all(|w| w[0] == w[1]) {
            signals[0].to_string()
        } else {
            signals
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" / ")
        };
        println!(
            "| {} | {} | **{:.2}** | {:.2} | {:.2} | {:.0} k | {} | {} | {} |",
            r.name,
            r.batch,
            r.cpu_us(),
            r.first_cpu_us(),
            r.wall_us(),
            1e3 / r.cpu_us(),
            signals,
            ratio(twin),
            ratio(rust),
        );
    }
}

// ----------------------------------------------------------------------- memory

/// Memory of this process, in KiB: VmRSS and VmSize from /proc/self/status, the
/// rest from /proc/self/smaps_rollup.
fn memory_kib() -> Value {
    let field = |text: &str, key: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(-1)
    };
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup")
        .expect("/proc/self/smaps_rollup (Linux >= 4.14)");
    json!({
        "rss": field(&status, "VmRSS"),
        "size": field(&status, "VmSize"),
        "pss": field(&rollup, "Pss"),
        "pss_anon": field(&rollup, "Pss_Anon"),
        "pss_file": field(&rollup, "Pss_File"),
        "pss_shmem": field(&rollup, "Pss_Shmem"),
        "anonymous": field(&rollup, "Anonymous"),
    })
}

/// The child process's part: loads `plugin` from the cache dir, starts one
/// instance, then the rest of the partitions' instances, each fed a full window of
/// its instruments, then one batch of the host's largest size each; prints the
/// memory after each step as one JSON line.
fn memory_child(args: &[String]) {
    let [plugin, cache_dir, partitions, feed] = args else {
        fail(&format!(
            "{MEMORY_CHILD} PLUGIN CACHE_DIR PARTITIONS FEED, not {args:?}"
        ));
    };
    let partitions: usize = partitions.parse().expect("partitions");
    let feed: usize = feed.parse().expect("feed per instrument");
    let manifest = common::plugin_manifest(plugin);
    let engine = StrategyEngine::new(EngineLimits::default(), Some(PathBuf::from(cache_dir)))
        .expect("engine");
    let ticks = common::full_ticks(&manifest.instruments, feed);
    let big = common::full_ticks(&manifest.instruments, BIG_BATCH.div_ceil(6));
    let mut steps = vec![json!({"step": "engine", "mem": memory_kib()})];
    let path = common::root().join(format!("plugins/{plugin}.wasm"));
    let component = engine
        .load_file(&path)
        .unwrap_or_else(|e| panic!("{plugin}: {e}"));
    assert_eq!(
        component.source(),
        CompileSource::Cache,
        "the parent compiled it into the cache dir"
    );
    steps.push(json!({"step": "loaded", "mem": memory_kib()}));
    let run = |slot: &mut StrategySlot, ticks: &[MarketTick]| {
        for chunk in ticks.chunks(HOST_PATH_BATCH) {
            let mut b = BatchBuilder::new();
            for t in chunk {
                b.push(t).expect("converts");
            }
            let out = slot.run(&Arc::new(b.take()));
            assert!(out.faults.is_empty(), "{plugin}: {:?}", out.faults);
        }
        slot.take_snapshot();
    };
    let start = || {
        let mut slot = start_slot(&engine, &component, &manifest);
        run(&mut slot, &ticks);
        slot
    };
    let mut slots = vec![start()];
    steps.push(json!({"step": "1", "mem": memory_kib()}));
    slots.extend((1..partitions).map(|_| start()));
    steps.push(json!({"step": "all", "mem": memory_kib()}));
    for slot in &mut slots {
        let mut b = BatchBuilder::new();
        for t in &big[..BIG_BATCH] {
            b.push(t).expect("converts");
        }
        let out = slot.run(&Arc::new(b.take()));
        assert!(out.faults.is_empty(), "{plugin}: {:?}", out.faults);
        slot.take_snapshot();
    }
    steps.push(json!({"step": "big", "mem": memory_kib()}));
    if std::env::var_os("LANGUAGES_SMAPS").is_some() {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        let out = std::env::temp_dir().join(format!("languages-{plugin}.smaps"));
        std::fs::write(&out, smaps).expect("write smaps");
        eprintln!(
            "smaps of {plugin} with {partitions} instances: {}",
            out.display()
        );
    }
    println!("{}", json!({ "plugin": plugin, "steps": steps }));
    drop(slots);
}

/// Runs [`memory_child`] for `plugin` in a fresh process (so that no other
/// language's allocations are in its figures).
fn memory_of(plugin: &str, cache_dir: &Path, feed: usize) -> Value {
    let exe = std::env::current_exe().expect("this bench's path");
    let out = Command::new(exe)
        .arg(MEMORY_CHILD)
        .arg(plugin)
        .arg(cache_dir)
        .arg(PARTITIONS.to_string())
        .arg(feed.to_string())
        .output()
        .expect("start the memory child");
    assert!(
        out.status.success(),
        "memory child for {plugin}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let line = line
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("the child's JSON line");
    serde_json::from_str(line).expect("the child's JSON")
}

fn print_memory_tables(results: &[(&Lang, Value)]) {
    let get = |v: &Value, step: &str, key: &str| -> i64 {
        v["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|x| x["step"] == step))
            .and_then(|x| x["mem"][key].as_i64())
            .unwrap_or(0)
    };
    let mib = |kib: i64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let n = PARTITIONS as i64;
    println!("Δ from the engine alone (before loading). RSS counts a shared page once per mapping of it (12 instances mapping one memory image count it 12 times); PSS counts each page once: the memory the strategy really takes.");
    println!();
    println!("| language | **{n} partitions: VmRSS Δ** | **{n} partitions: PSS Δ** | PSS Δ: loaded, no instance | PSS Δ: 1 partition | each extra partition: PSS | each extra partition: VmRSS | + one {BIG_BATCH}-tick batch each: PSS | host VmRSS with {n} |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (lang, v) in results {
        let d = |step: &str, key: &str| get(v, step, key) - get(v, "engine", key);
        let extra = |key: &str| (d("all", key) - d("1", key)) as f64 / (n - 1) as f64 / 1024.0;
        println!(
            "| {}/Wasm | **{}** | **{}** | {} | {} | {:.2} MiB | {:.2} MiB | {} | {} |",
            lang.label,
            mib(d("all", "rss")),
            mib(d("all", "pss")),
            mib(d("loaded", "pss")),
            mib(d("1", "pss")),
            extra("pss"),
            extra("rss"),
            mib(d("big", "pss") - d("all", "pss")),
            mib(get(v, "all", "rss")),
        );
    }
    println!();
    println!("Where the {n}-partition PSS Δ lives (smaps_rollup): anonymous = private pages (the host's heap, and the linear-memory pages each instance wrote, copied on write); file = resident pages of the mapped `.cwasm` (compiled code, read-only data, memory-image pages read but not written), shared through the page cache; shmem = memfd images (none when loaded from the cache).");
    println!();
    println!("| language | PSS Δ | anonymous | file-backed | shmem | address space (VmSize) per instance |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (lang, v) in results {
        let d = |key: &str| get(v, "all", key) - get(v, "engine", key);
        println!(
            "| {}/Wasm | {} | {} | {} | {} | {:.2} GiB |",
            lang.label,
            mib(d("pss")),
            mib(d("pss_anon")),
            mib(d("pss_file")),
            mib(d("pss_shmem")),
            (get(v, "all", "size") - get(v, "loaded", "size")) as f64 / n as f64 / 1024.0 / 1024.0,
        );
    }
}

// ------------------------------------------------------------------------- main

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == MEMORY_CHILD) {
        memory_child(&args[i + 1..]);
        return;
    }
    // `cargo bench` passes `--bench`; anything else (`cargo test --benches`) checks
    // that the program works: a short stream, one pass, one run of each step.
    let quick = !args.iter().any(|a| a == "--bench");
    let natives = Natives::find();
    let load_before = common::load_average();
    let passes = if quick { 1 } else { PASSES };
    let per_instrument = if quick {
        QUICK_PER_INSTRUMENT
    } else {
        PER_INSTRUMENT
    };

    let manifests: Vec<Manifest> = LANGS
        .iter()
        .map(|l| common::plugin_manifest(l.plugin))
        .collect();
    for m in &manifests[1..] {
        assert_eq!(m.instruments, manifests[0].instruments, "same instruments");
        assert_eq!(m.params, manifests[0].params, "same params");
    }
    // The compiled cache: a fresh one for a real run (so the first load compiles);
    // the tests' for a quick run (a debug build compiles Python for minutes).
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache_dir = if quick {
        common::root().join("target/test-compiled")
    } else {
        tmp.path().join("cache")
    };
    let engine =
        StrategyEngine::new(EngineLimits::default(), Some(cache_dir.clone())).expect("engine");

    println!("## languages: momentum as Rust/Wasm, Python/Wasm, JavaScript/Wasm; wasmtime 48");
    println!();
    let mut figures = Vec::new();
    let mut components = Vec::new();
    for (lang, m) in LANGS.iter().zip(&manifests) {
        eprintln!("languages: loading {} ...", lang.plugin);
        let bytes = common::plugin_bytes(lang.plugin);
        let (f, c) = load(lang, &bytes, m, &engine, &cache_dir, quick);
        figures.push(f);
        components.push(c);
    }
    println!("### Load (wall time; medians, min and runs)");
    println!();
    print_load_table(&figures);

    // Per tick: one stream, the same batches for every contender.
    let ticks = common::full_ticks(&manifests[0].instruments, per_instrument);
    let mut rows: Vec<Contender> = Vec::new();
    let mut versions: Vec<String> = Vec::new();
    for n in BATCH_SIZES {
        let batches = batches_of(&ticks, n);
        let prefix = tmp.path().join(format!("batches-{n}"));
        write_batches(&prefix, &batches);
        let mut first_signals: Vec<(&str, Vec<(usize, Signal)>)> = Vec::new();
        for ((lang, m), c) in LANGS.iter().zip(&manifests).zip(&components) {
            eprintln!("languages: {} per tick, batch {n} ...", lang.plugin);
            let (p, s) = run_bare(&engine, c, m, &batches, passes);
            rows.push(Contender {
                name: format!("{}/Wasm (`Instance::on_ticks`)", lang.label),
                batch: n,
                passes: p,
            });
            first_signals.push((lang.label, s));
            if let Some(native) = lang.native {
                let (p, version) = run_native(&natives, native, m, &prefix, passes);
                let name = match native {
                    Native::CPython => format!("{version} (same file, SDK adapter)"),
                    Native::Node => format!("node {version} (same file, SDK adapter)"),
                };
                if !versions.contains(&version) {
                    versions.push(version);
                }
                rows.push(Contender {
                    name,
                    batch: n,
                    passes: p,
                });
            }
        }
        for other in &first_signals[1..] {
            assert_same_signals(
                (first_signals[0].0, &first_signals[0].1),
                (other.0, &other.1),
            );
        }
    }
    for ((lang, m), c) in LANGS.iter().zip(&manifests).zip(&components) {
        eprintln!("languages: {} host path ...", lang.plugin);
        rows.push(Contender {
            name: format!(
                "{}/Wasm, host path (`BatchBuilder` + `StrategySlot::run`)",
                lang.label
            ),
            batch: HOST_PATH_BATCH,
            passes: run_host_path(&engine, c, m, &ticks, HOST_PATH_BATCH, passes),
        });
    }
    // Every contender does the same work: the same signals in every pass.
    let want = rows[0].signals();
    for r in &rows {
        assert_eq!(r.signals(), want, "{} (batch {}) signals", r.name, r.batch);
    }
    println!();
    println!(
        "### Per tick: {} FULL ticks of 6 instruments a pass, {passes} pass(es), one instance each; warm = median of passes 2–{passes}",
        ticks.len()
    );
    println!();
    println!("CPU: the measuring thread's (`CLOCK_THREAD_CPUTIME_ID`) for Wasm, `time.thread_time()` for CPython, `process.cpuUsage()` (whole process) for node.");
    println!();
    print_tick_table(&rows);

    // Memory: each language in a process of its own.
    drop(components);
    let feed = if quick { 7 } else { FEED_PER_INSTRUMENT };
    let results: Vec<(&Lang, Value)> = LANGS
        .iter()
        .map(|l| {
            eprintln!(
                "languages: {} memory at {PARTITIONS} partitions ...",
                l.plugin
            );
            (l, memory_of(l.plugin, &cache_dir, feed))
        })
        .collect();
    println!();
    println!(
        "### Memory: one strategy at {PARTITIONS} partitions (an instance each, started as `StrategySlot::start`, fed {feed} ticks of each of its 6 instruments in batches of {HOST_PATH_BATCH}, snapshot taken), each language in a fresh process"
    );
    println!();
    print_memory_tables(&results);
    println!();
    println!("natives: {}", versions.join(", "));
    println!(
        "load average before: {load_before}, after: {}",
        common::load_average()
    );
}
