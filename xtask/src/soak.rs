//! `cargo xtask soak [TICKS] [--strategies N] [--bin HOST]`: the soak run of
//! `BENCHMARKS.md`. A release host (HOST instead of this tree's, for a before and after) on a Kafka broker (its own process, so the broker's log is not in
//! the host's memory) consumes TICKS paper ticks (1 000 000 by default) with both
//! sample strategies, or with N copies of momentum under ids `momentum_1` to
//! `momentum_N` (issue 19's memory target is 10 strategies on the 12 partitions),
//! while one momentum plugin is replaced every 10 000 ticks (two builds in turn, so
//! every swap is a real reload). It samples the host's resident memory, open file
//! descriptors and threads, and fails if memory or descriptors grow or plugin
//! instances pile up.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::harness::{
    feed_cmd, free_port, host_binary, host_toml, metric, quantile, run_cmd, sample, sample_plugins,
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

/// What `cargo xtask soak` was asked for.
#[derive(Debug, PartialEq)]
struct SoakArgs {
    ticks: u64,
    /// Copies of momentum to run instead of both sample strategies.
    strategies: Option<usize>,
    /// A host binary to soak instead of this tree's release build.
    bin: Option<std::path::PathBuf>,
}

impl SoakArgs {
    fn parse(args: &[String]) -> Result<SoakArgs> {
        let mut out = SoakArgs {
            ticks: 1_000_000,
            strategies: None,
            bin: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--strategies" {
                let n = it.next().context("--strategies takes a number")?;
                let n: usize =
                    n.parse().ok().filter(|&n| n > 0).with_context(|| {
                        format!("--strategies takes a number above 0, not {n:?}")
                    })?;
                out.strategies = Some(n);
            } else if a == "--bin" {
                out.bin = Some(host_binary("--bin", it.next())?);
            } else {
                out.ticks = a
                    .parse()
                    .with_context(|| format!("soak takes a tick count, not {a:?}"))?;
            }
        }
        Ok(out)
    }
}

/// `n` copies of momentum in `work/plugins` (`m1` to `mN`, ids `momentum_1` to
/// `momentum_N`).
fn momentum_copies(root: &Path, work: &Path, n: usize) -> Result<std::path::PathBuf> {
    let plugins = work.join("plugins");
    std::fs::create_dir_all(&plugins)?;
    let manifest = std::fs::read_to_string(root.join("plugins/momentum.toml"))
        .context("plugins/momentum.toml")?;
    let wasm = std::fs::read(root.join("plugins/momentum.wasm"))
        .context("plugins/momentum.wasm (run `cargo xtask plugins`)")?;
    const ID: &str = "strategy_id = \"momentum_1\"";
    if !manifest.contains(ID) {
        bail!("plugins/momentum.toml no longer says {ID}");
    }
    for i in 1..=n {
        let own = manifest.replace(ID, &format!("strategy_id = \"momentum_{i}\""));
        std::fs::write(plugins.join(format!("m{i}.toml")), own)?;
        std::fs::write(plugins.join(format!("m{i}.wasm")), &wasm)?;
    }
    Ok(plugins)
}

pub fn soak(root: &Path, args: &[String]) -> Result<()> {
    let SoakArgs {
        ticks,
        strategies,
        bin,
    } = SoakArgs::parse(args)?;
    let bin = match bin {
        Some(b) => b,
        None => {
            let mut build = super::cargo();
            build.args(["build", "--release", "-p", "alpha-panda"]);
            super::status(build, "cargo build --release -p alpha-panda")?;
            super::target_dir().join("release/alpha-panda")
        }
    };

    let work = std::env::temp_dir().join(format!("alpha-panda-soak-{}", std::process::id()));
    let (plugins, reloaded, expected) = match strategies {
        Some(n) => (momentum_copies(root, &work, n)?, "m1", n),
        None => (sample_plugins(root, &work)?, "momentum", 2),
    };
    let base = std::fs::read(plugins.join(format!("{reloaded}.wasm")))?;
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
            let file = plugins.join(format!("{reloaded}.wasm"));
            let tmp = plugins.join(format!(".{reloaded}.wasm.tmp"));
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
    // Every tick answered (a build without `ticks_done` counts as done), and
    // the last swap landed, before counting signals, instances and reloads.
    let answered = Instant::now() + Duration::from_secs(60);
    while metric(metrics_port, "alpha_panda_ticks_done_total").is_some_and(|d| (d as u64) < ticks)
        && Instant::now() < answered
    {
        std::thread::sleep(Duration::from_millis(20));
    }
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
         plugins loaded      {loaded} ({expected} expected)\n\
         rss after warm-up   {:.1} MiB at {} ticks\n\
         rss at end          {:.1} MiB ({:+.1}%)\n\
         rss peak sampled    {:.1} MiB\n\
         fds                 {} -> {fds_end}\n\
         threads             {} -> {threads_end}\n\
         in-host batch time  p50 <= {:.2} ms, p99 <= {:.2} ms (consume to produce, broker excluded)\n\
         produce to commit   p99 <= {:.2} ms",
        consumed as f64 / elapsed,
        warm.1 as f64 / 1024.0,
        warm.0,
        rss_end as f64 / 1024.0,
        (rss_end as f64 / warm.1.max(1) as f64 - 1.0) * 100.0,
        samples.iter().map(|s| s.1).chain([rss_end]).max().unwrap_or(0) as f64 / 1024.0,
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
    if loaded != expected as f64 {
        failures.push(format!(
            "{loaded} plugin instances loaded, {expected} expected"
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::strings as args;

    #[test]
    fn soak_args_take_a_tick_count_and_a_number_of_strategies() {
        let none = SoakArgs::parse(&[]).unwrap();
        assert_eq!((none.ticks, none.strategies), (1_000_000, None));
        let both = SoakArgs::parse(&args(&["300000", "--strategies", "10"])).unwrap();
        assert_eq!((both.ticks, both.strategies), (300_000, Some(10)));
        let flag_first = SoakArgs::parse(&args(&["--strategies", "3", "5"])).unwrap();
        assert_eq!((flag_first.ticks, flag_first.strategies), (5, Some(3)));
        let host = tempfile::NamedTempFile::new().unwrap();
        let path = host.path().to_str().unwrap();
        let bin = SoakArgs::parse(&args(&["--bin", path])).unwrap();
        assert_eq!(bin.bin.as_deref(), Some(host.path()));
    }

    #[test]
    fn bad_soak_args_say_what_is_wrong() {
        let err = |a: &[&str]| format!("{:#}", SoakArgs::parse(&args(a)).unwrap_err());
        assert!(err(&["--strategies"]).contains("takes a number"));
        assert!(err(&["--bin"]).contains("--bin takes the path"));
        assert!(err(&["--bin", "/nowhere/host"]).contains("no such binary"));
        assert!(err(&["--strategies", "0"]).contains("above 0"));
        assert!(err(&["--strategies", "ten"]).contains("\"ten\""));
        assert!(err(&["many"]).contains("tick count"));
    }

    #[test]
    fn momentum_copies_get_their_own_ids() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifest = std::fs::read_to_string(repo.join("plugins/momentum.toml")).unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("plugins")).unwrap();
        let work = tempfile::tempdir().unwrap();
        let e = momentum_copies(root.path(), work.path(), 2).unwrap_err();
        assert!(format!("{e:#}").contains("plugins/momentum.toml"), "{e:#}");
        std::fs::write(root.path().join("plugins/momentum.toml"), &manifest).unwrap();
        let e = momentum_copies(root.path(), work.path(), 2).unwrap_err();
        assert!(format!("{e:#}").contains("cargo xtask plugins"), "{e:#}");
        std::fs::write(root.path().join("plugins/momentum.wasm"), b"\0asm").unwrap();
        let plugins = momentum_copies(root.path(), work.path(), 3).unwrap();
        let third = std::fs::read_to_string(plugins.join("m3.toml")).unwrap();
        assert!(third.contains("strategy_id = \"momentum_3\""), "{third}");
        assert!(!third.contains("momentum_1\""), "{third}");
        assert_eq!(std::fs::read(plugins.join("m3.wasm")).unwrap(), b"\0asm");
        assert!(!plugins.join("m4.toml").exists());
        // A manifest whose id line changed is refused, not copied under one id.
        let renamed = manifest.replace("momentum_1", "momentum_x");
        std::fs::write(root.path().join("plugins/momentum.toml"), renamed).unwrap();
        let e = momentum_copies(root.path(), tempfile::tempdir().unwrap().path(), 2).unwrap_err();
        assert!(format!("{e:#}").contains("no longer says"), "{e:#}");
    }
}
