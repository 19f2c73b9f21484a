//! `cargo xtask soak [TICKS]`: the soak run of `BENCHMARKS.md`. A release host on a
//! Kafka broker (its own process, so the broker's log is not in the host's memory)
//! consumes TICKS paper ticks (1 000 000 by default) with both sample strategies,
//! while `momentum.wasm` is replaced every 10 000 ticks (two builds in turn, so
//! every swap is a real reload). It samples the host's resident memory, open file
//! descriptors and threads, and fails if memory or descriptors grow or plugin
//! instances pile up.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::harness::{
    feed_cmd, free_port, host_toml, metric, quantile, run_cmd, sample, sample_plugins,
    spawn_logged, start_kafka,
};

/// Ticks between two reloads.
const RELOAD_EVERY: u64 = 10_000;
/// Resident memory may end at most this much above its level after warm-up.
const RSS_GROWTH_LIMIT: f64 = 1.20;

/// A copy of a component with a custom section appended: a different sha256,
/// the same code (custom sections are skipped by the loader).
fn variant(component: &[u8], tag: &str) -> Vec<u8> {
    let name = b"alpha-panda-soak";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    let mut out = component.to_vec();
    out.push(0); // custom section id
    let mut n = payload.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend(payload);
    out
}

pub fn soak(root: &Path, args: &[String]) -> Result<()> {
    let ticks: u64 = match args.first() {
        Some(t) => t
            .parse()
            .with_context(|| format!("soak takes a tick count, not {t:?}"))?,
        None => 1_000_000,
    };
    let mut build = super::cargo();
    build.args(["build", "--release", "-p", "alpha-panda"]);
    super::status(build, "cargo build --release -p alpha-panda")?;
    let bin = super::target_dir().join("release/alpha-panda");

    let work = std::env::temp_dir().join(format!("alpha-panda-soak-{}", std::process::id()));
    let plugins = sample_plugins(root, &work)?;
    let base = std::fs::read(plugins.join("momentum.wasm"))?;
    let builds = [variant(&base, "a"), variant(&base, "b")];

    let (_kafka, bootstrap) = start_kafka()?;
    let metrics_port = free_port()?;
    let config = work.join("soak.toml");
    std::fs::write(
        &config,
        host_toml(
            &bootstrap,
            "soak",
            // The production profile's dedup store (the in-process one is bounded
            // by redis.memory_max_keys and would fill up during warm-up).
            "redis://127.0.0.1:6379/0",
            &plugins,
            &work.join("cache"),
            metrics_port,
        ),
    )?;
    let mut topics = Command::new(&bin);
    topics.args(["topics", "create", "--config"]).arg(&config);
    super::status(topics, "alpha-panda topics create")?;

    let host = spawn_logged(run_cmd(&bin, &config, &work), &work.join("host.log"))?;
    let pid = host.0.id();
    let mut feed = spawn_logged(feed_cmd(&bin, &config, ticks), &work.join("feed.log"))?;

    let started = Instant::now();
    let mut next_reload = RELOAD_EVERY;
    let mut swaps = 0u64;
    let mut samples: Vec<(u64, u64, usize, u64)> = Vec::new();
    let mut last_progress = (0u64, Instant::now());
    let consumed = loop {
        std::thread::sleep(Duration::from_millis(20));
        let consumed =
            metric(metrics_port, "alpha_panda_ticks_consumed_total").unwrap_or(0.0) as u64;
        // The next swap once the previous one is applied (so every swap is a
        // reload, none merged by the watcher's debounce).
        let applied = metric(metrics_port, "alpha_panda_plugin_reloads_total").unwrap_or(0.0);
        if consumed >= next_reload && applied >= swaps as f64 {
            let file = plugins.join("momentum.wasm");
            let tmp = plugins.join(".momentum.wasm.tmp");
            std::fs::write(&tmp, &builds[(swaps % 2) as usize])?;
            std::fs::rename(&tmp, &file)?;
            swaps += 1;
            next_reload = (consumed / RELOAD_EVERY + 1) * RELOAD_EVERY;
        }
        if samples.last().is_none_or(|s| consumed >= s.0 + 50_000) {
            let (rss, fds, threads) = sample(pid)?;
            samples.push((consumed, rss, fds, threads));
            eprintln!(
                "xtask: soak {consumed:>8} ticks  rss {:>7.1} MiB  fds {fds:>3}  threads {threads:>3}  swaps {swaps}",
                rss as f64 / 1024.0
            );
        }
        if consumed >= ticks {
            break consumed;
        }
        if consumed > last_progress.0 {
            last_progress = (consumed, Instant::now());
        } else if last_progress.1.elapsed() > Duration::from_secs(60) {
            bail!(
                "soak: no progress for 60 s at {consumed} ticks (logs in {})",
                work.display()
            );
        }
    };
    let _ = feed.0.wait();
    // Let the last swap land before counting instances and reloads.
    std::thread::sleep(Duration::from_secs(2));
    let (rss_end, fds_end, threads_end) = sample(pid)?;
    let loaded = metric(metrics_port, "alpha_panda_plugins_loaded").unwrap_or(-1.0);
    let reloads = metric(metrics_port, "alpha_panda_plugin_reloads_total").unwrap_or(-1.0);
    let faults = metric(metrics_port, "alpha_panda_plugin_faults_total").unwrap_or(-1.0);
    let signals = metric(metrics_port, "alpha_panda_signals_total").unwrap_or(-1.0);
    let elapsed = started.elapsed().as_secs_f64();
    let host_p50 = quantile(metrics_port, "alpha_panda_batch_host_seconds", 0.50).unwrap_or(-1.0);
    let host_p99 = quantile(metrics_port, "alpha_panda_batch_host_seconds", 0.99).unwrap_or(-1.0);
    let ack_p99 = quantile(metrics_port, "alpha_panda_commit_seconds", 0.99).unwrap_or(-1.0);
    // Warm-up: the first sample at or after 100 000 ticks (or the second sample).
    let warm = samples
        .iter()
        .find(|s| s.0 >= 100_000)
        .or(samples.get(1))
        .or(samples.first())
        .copied()
        .unwrap_or((0, rss_end, fds_end, threads_end));
    eprintln!(
        "xtask: soak report\n\
         ticks consumed      {consumed} in {elapsed:.0} s ({:.0} ticks/s)\n\
         signals             {signals}\n\
         swaps written       {swaps}; reloads applied {reloads}; plugin faults {faults}\n\
         plugins loaded      {loaded} (2 expected)\n\
         rss after warm-up   {:.1} MiB at {} ticks\n\
         rss at end          {:.1} MiB ({:+.1}%)\n\
         fds                 {} -> {fds_end}\n\
         threads             {} -> {threads_end}\n\
         in-host batch time  p50 <= {:.2} ms, p99 <= {:.2} ms (consume to produce, broker excluded)\n\
         produce to commit   p99 <= {:.2} ms",
        consumed as f64 / elapsed,
        warm.1 as f64 / 1024.0,
        warm.0,
        rss_end as f64 / 1024.0,
        (rss_end as f64 / warm.1.max(1) as f64 - 1.0) * 100.0,
        warm.2,
        warm.3,
        host_p50 * 1e3,
        host_p99 * 1e3,
        ack_p99 * 1e3,
    );
    drop(host);
    let mut failures = Vec::new();
    if rss_end as f64 > warm.1 as f64 * RSS_GROWTH_LIMIT {
        failures.push(format!(
            "resident memory grew from {} KiB to {rss_end} KiB",
            warm.1
        ));
    }
    if fds_end > warm.2 + 4 {
        failures.push(format!(
            "file descriptors grew from {} to {fds_end}",
            warm.2
        ));
    }
    if loaded != 2.0 {
        failures.push(format!("{loaded} plugin instances loaded, 2 expected"));
    }
    if reloads < swaps as f64 {
        failures.push(format!(
            "{swaps} swaps written but {reloads} reloads applied"
        ));
    }
    if !failures.is_empty() {
        bail!(
            "soak failed (logs in {}):\n{}",
            work.display(),
            failures.join("\n")
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
