//! `cargo xtask scope [TICKS] [RATE]`: the benchmark of strategy scope against
//! instrument scope (`BENCHMARKS.md`). The momentum sample over 50 instruments
//! spread over the 12 partitions of `market.ticks` runs in the release host, once
//! per variant, each on a fresh Kafka broker: instrument scope, strategy scope,
//! and strategy scope with `plugins.align_wait_ms = 0`. The same TICKS ticks
//! (20 000 by default) are written at RATE ticks per second (2 000) by
//! `host/examples/tick_latency.rs`, which times each tick to its signal as a
//! downstream reader sees it; the host's CPU time is read over the same span.
//! Every variant must give the same number of signals: they run the same
//! decisions, only the instances differ.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::harness::{
    build_release, cpu_secs, free_port, host_toml, metric, run_cmd, spawn_logged, start_kafka,
};

/// Instruments of the benchmark strategy.
const INSTRUMENTS: u32 = 50;

/// One variant: its name, its manifest's scope, `plugins.align_wait_ms`.
const VARIANTS: [(&str, &str, u64); 3] = [
    ("instrument scope", "instrument", 100),
    ("strategy scope", "strategy", 100),
    ("strategy, align 0", "strategy", 0),
];

/// What a variant measured.
struct Measured {
    cpu_us_per_tick: f64,
    signals: u64,
    p50_ms: f64,
    p99_ms: f64,
}

fn field(text: &str, name: &str) -> Result<f64> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(name))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("tick_latency printed no {name} in {text:?}"))
}

/// Waits until the host is ready and its benchmark strategy runs.
fn wait_running(port: u16, scope: &str) -> Result<()> {
    let limit = Instant::now() + Duration::from_secs(180);
    let running = |port| match scope {
        "strategy" => metric(port, "alpha_panda_scoped_strategy_running").unwrap_or(0.0) >= 1.0,
        _ => metric(port, "alpha_panda_plugins_loaded").unwrap_or(0.0) >= 1.0,
    };
    while Instant::now() < limit {
        if running(port) && metric(port, "alpha_panda_assigned_partitions").unwrap_or(0.0) > 0.0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the host did not run the benchmark strategy within 180 s")
}

fn variant(
    root: &Path,
    work: &Path,
    (scope, align): (&str, u64),
    (ticks, rate): (u64, u64),
) -> Result<Measured> {
    let (_kafka, bootstrap) = start_kafka()?;
    let plugins = work.join("plugins");
    std::fs::create_dir_all(&plugins)?;
    std::fs::copy(
        root.join("plugins/momentum.wasm"),
        plugins.join("bench.wasm"),
    )
    .context("plugins/momentum.wasm (run `cargo xtask plugins`)")?;
    let tokens: Vec<String> = (0..INSTRUMENTS)
        .map(|i| (500_000 + 7 * i).to_string())
        .collect();
    std::fs::write(
        plugins.join("bench.toml"),
        format!(
            "strategy_id = \"bench\"\nbrokers = [\"paper\"]\ninstruments = [{}]\nscope = \"{scope}\"\n\n\
             [params]\nlookback = 20\nthreshold = 0.004\nposition_size = 1\n",
            tokens.join(", ")
        ),
    )?;
    let port = free_port()?;
    let config = work.join("host.toml");
    let toml = host_toml(
        &bootstrap,
        "scope_bench",
        "",
        &plugins,
        &work.join("cache"),
        port,
    )
    .replace(
        "[plugins]\n",
        &format!("[plugins]\nalign_wait_ms = {align}\n"),
    );
    std::fs::write(&config, toml)?;
    let bin = super::target_dir().join("release/alpha-panda");
    let mut topics = Command::new(&bin);
    topics.args(["topics", "create", "--config"]).arg(&config);
    super::status(topics, "alpha-panda topics create")?;
    let host = spawn_logged(run_cmd(&bin, &config, work), &work.join("host.log"))?;
    wait_running(port, scope)?;
    let pid = host.0.id();
    let cpu0 = cpu_secs(pid);
    let mut latency = Command::new(super::target_dir().join("release/examples/tick_latency"));
    latency
        .args([&bootstrap, "bench", &ticks.to_string(), &rate.to_string()])
        .arg(tokens.join(","));
    if let Ok(dir) = std::env::var("SCOPE_DUMP") {
        latency.env("TICK_LATENCY_DUMP", format!("{dir}/{scope}-{align}.txt"));
    }
    let out = latency.output().context("cannot run tick_latency")?;
    let cpu = cpu_secs(pid) - cpu0;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "tick_latency failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Measured {
        cpu_us_per_tick: cpu * 1e6 / ticks as f64,
        signals: field(&text, "signals=")? as u64,
        p50_ms: field(&text, "p50_ms=")?,
        p99_ms: field(&text, "p99_ms=")?,
    })
}

pub fn scope(root: &Path, args: &[String]) -> Result<()> {
    let num = |i: usize, default: u64, what: &str| -> Result<u64> {
        match args.get(i) {
            Some(v) => v.parse().with_context(|| format!("{what}, not {v:?}")),
            None => Ok(default),
        }
    };
    let (ticks, rate) = (num(0, 20_000, "TICKS")?, num(1, 2_000, "RATE")?);
    build_release(&["tick_latency"])?;
    let mut rows = Vec::new();
    for (i, (name, scope, align)) in VARIANTS.iter().enumerate() {
        let work =
            std::env::temp_dir().join(format!("alpha-panda-scope-{}-{i}", std::process::id()));
        let m = variant(root, &work, (scope, *align), (ticks, rate));
        let _ = std::fs::remove_dir_all(&work);
        let m = m.with_context(|| format!("variant {name}"))?;
        eprintln!(
            "xtask: scope {name}: {:.2} µs CPU/tick, {} signals, tick-to-signal p50 {:.1} ms p99 {:.1} ms",
            m.cpu_us_per_tick, m.signals, m.p50_ms, m.p99_ms
        );
        rows.push((name, m));
    }
    let base = &rows[0].1;
    if rows.iter().any(|(_, m)| m.signals != base.signals) {
        bail!("the variants answered differently: the same ticks must give the same signals");
    }
    let mut report = format!(
        "xtask: scope report ({ticks} ticks of {INSTRUMENTS} instruments at {rate}/s, {} signals each)\n\
         variant              CPU/tick   vs instrument   p50 ms   p99 ms",
        base.signals
    );
    for (name, m) in &rows {
        report.push_str(&format!(
            "\n{name:<20} {:>6.2} µs   {:>9.2}x   {:>7.1}  {:>7.1}",
            m.cpu_us_per_tick,
            m.cpu_us_per_tick / base.cpu_us_per_tick,
            m.p50_ms,
            m.p99_ms
        ));
    }
    eprintln!("{report}");
    Ok(())
}
