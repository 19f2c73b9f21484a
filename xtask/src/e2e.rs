//! `cargo xtask e2e [TICKS] [RUNS]`: the end-to-end benchmark of `BENCHMARKS.md`.
//! On one Kafka broker, TICKS paper ticks (100 000 by default) are written once;
//! then, RUNS times in turn, a plain rdkafka consume → produce → commit
//! passthrough (`host/examples/passthrough.rs`, the host's client settings and
//! batching) and the release host with both sample strategies each read the whole
//! backlog in a fresh consumer group. Each is timed from its first message, and
//! its process CPU time is read over the same span. Medians and ratios are printed.
//! With `--baseline BIN`, another build of the host (an older commit) runs in turn
//! with this one on the same backlog, and their ratio is printed too. With
//! `--baseline-env KEY=VALUE` (repeatable), the baseline runs with those variables
//! set (`ALPHA_PANDA__PLUGINS__WORKERS=1`: this host one strategy after another);
//! without `--baseline` it is this host's own binary.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::harness::{
    build_release, cpu_secs, feed_cmd, free_port, host_binary, host_toml, metric, metric_with,
    quantile, run_cmd, sample_plugins, spawn_logged, start_kafka,
};

/// One contender's run: seconds from the first message, CPU seconds over them.
#[derive(Clone, Copy)]
struct Run {
    secs: f64,
    cpu: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn passthrough(bin: &Path, config: &Path, group: &str, ticks: u64) -> Result<Run> {
    let out = Command::new(bin)
        .arg(config)
        .arg(group)
        .arg(ticks.to_string())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run the passthrough")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("passthrough failed: {text}");
    }
    let field = |name: &str| -> Option<f64> {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
    };
    match (field("secs="), field("cpu_secs=")) {
        (Some(secs), Some(cpu)) => Ok(Run { secs, cpu }),
        _ => bail!("passthrough printed {text:?}"),
    }
}

fn host(
    bin: &Path,
    env: &[(String, String)],
    config: &Path,
    dir: &Path,
    port: u16,
    ticks: u64,
) -> Result<(Run, f64)> {
    let mut cmd = run_cmd(bin, config, dir);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let child = spawn_logged(cmd, &dir.join("host.log"))?;
    let pid = child.0.id();
    let limit = Instant::now() + Duration::from_secs(600);
    let mut start: Option<(Instant, f64)> = None;
    loop {
        if Instant::now() > limit {
            bail!("the host did not consume {ticks} ticks in 10 min");
        }
        let n = metric(port, "alpha_panda_ticks_consumed_total").unwrap_or(0.0) as u64;
        if n > 0 && start.is_none() {
            start = Some((Instant::now(), cpu_secs(pid)));
        }
        // Done means answered: every strategy's call back and the batch
        // committed (a build without `ticks_done` is done once it read all).
        let done = metric(port, "alpha_panda_ticks_done_total").map_or(n, |d| d as u64);
        if done >= ticks {
            break;
        }
        // 20 ms: a poll costs the host a /metrics render; over seconds of run the
        // timing error stays under 1 %.
        std::thread::sleep(Duration::from_millis(20));
    }
    let (t0, c0) = start.unwrap_or((Instant::now(), cpu_secs(pid)));
    let run = Run {
        secs: t0.elapsed().as_secs_f64(),
        cpu: cpu_secs(pid) - c0,
    };
    let p99 = quantile(port, "alpha_panda_batch_host_seconds", 0.99).unwrap_or(f64::NAN);
    // What it answered: a host that ran no strategy would be fast for nothing.
    let signals = metric(port, "alpha_panda_signals_total").unwrap_or(0.0) as u64;
    let of = |id: &str| {
        metric_with(
            port,
            "alpha_panda_strategy_signals_total",
            &format!("strategy_id=\"{id}\""),
        )
        .unwrap_or(0.0) as u64
    };
    let (momentum, reversion) = (of("momentum_1"), of("mean_reversion_1"));
    eprintln!(
        "xtask: e2e host signals: {signals} (momentum_1 {momentum}, mean_reversion_1 {reversion})"
    );
    if momentum == 0 || reversion == 0 {
        bail!("a sample strategy gave no signal in the e2e run: momentum_1 {momentum}, mean_reversion_1 {reversion}");
    }
    Ok((run, p99))
}

/// The command line: TICKS and RUNS, and what the baseline is.
struct Options {
    args: Vec<String>,
    baseline: Option<std::path::PathBuf>,
    baseline_env: Vec<(String, String)>,
}

impl Options {
    fn parse(all: &[String]) -> Result<Options> {
        let mut o = Options {
            args: Vec::new(),
            baseline: None,
            baseline_env: Vec::new(),
        };
        let mut it = all.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--baseline" => o.baseline = Some(host_binary("--baseline", it.next())?),
                "--baseline-env" => {
                    let kv = it.next().context("--baseline-env takes KEY=VALUE")?;
                    let (k, v) = kv
                        .split_once('=')
                        .with_context(|| format!("--baseline-env {kv:?}: not KEY=VALUE"))?;
                    o.baseline_env.push((k.to_owned(), v.to_owned()));
                }
                _ => o.args.push(a.clone()),
            }
        }
        Ok(o)
    }
}

pub fn e2e(root: &Path, args: &[String]) -> Result<()> {
    let Options {
        args,
        baseline,
        baseline_env,
    } = Options::parse(args)?;
    let ticks: u64 = match args.first() {
        Some(t) => t.parse().with_context(|| format!("TICKS, not {t:?}"))?,
        None => 100_000,
    };
    let runs: usize = match args.get(1) {
        Some(r) => r.parse().with_context(|| format!("RUNS, not {r:?}"))?,
        None => 3,
    };
    let bin = build_release(&["passthrough"])?;
    let pass = super::target_dir().join("release/examples/passthrough");
    let baseline = match baseline {
        None if !baseline_env.is_empty() => Some(bin.clone()),
        b => b,
    };

    let work = std::env::temp_dir().join(format!("alpha-panda-e2e-{}", std::process::id()));
    let plugins = sample_plugins(root, &work)?;
    let (_kafka, bootstrap) = start_kafka()?;
    let port = free_port()?;
    let cache = work.join("cache");
    let base = work.join("e2e.toml");
    std::fs::write(
        &base,
        host_toml(&bootstrap, "e2e", "", &plugins, &cache, port),
    )?;
    let mut topics = Command::new(&bin);
    topics.args(["topics", "create", "--config"]).arg(&base);
    super::status(topics, "alpha-panda topics create")?;
    let feed = feed_cmd(&bin, &base, ticks);
    let fed = Instant::now();
    super::status(feed, "alpha-panda feed paper (the backlog)")?;
    let feed_rate = ticks as f64 / fed.elapsed().as_secs_f64();

    let (mut pass_runs, mut host_runs, mut p99s) = (Vec::new(), Vec::new(), Vec::new());
    let mut base_runs = Vec::new();
    for i in 0..runs {
        let p = passthrough(&pass, &base, &format!("passthrough-{i}"), ticks)?;
        eprintln!(
            "xtask: e2e run {i}: passthrough {:.0} ticks/s, {:.2} µs CPU/tick",
            ticks as f64 / p.secs,
            p.cpu * 1e6 / ticks as f64
        );
        pass_runs.push(p);
        // A fresh service name: a fresh consumer group that reads from the start.
        let config = work.join(format!("host-{i}.toml"));
        std::fs::write(
            &config,
            host_toml(&bootstrap, &format!("e2e_{i}"), "", &plugins, &cache, port),
        )?;
        let (h, p99) = host(&bin, &[], &config, &work, port, ticks)?;
        eprintln!(
            "xtask: e2e run {i}: host        {:.0} ticks/s, {:.2} µs CPU/tick, in-host batch p99 <= {:.2} ms",
            ticks as f64 / h.secs,
            h.cpu * 1e6 / ticks as f64,
            p99 * 1e3
        );
        host_runs.push(h);
        p99s.push(p99);
        if let Some(b) = &baseline {
            let config = work.join(format!("base-{i}.toml"));
            std::fs::write(
                &config,
                host_toml(
                    &bootstrap,
                    &format!("e2e_base_{i}"),
                    "",
                    &plugins,
                    &cache,
                    port,
                ),
            )?;
            let (h, _) = host(b, &baseline_env, &config, &work, port, ticks)?;
            eprintln!(
                "xtask: e2e run {i}: baseline    {:.0} ticks/s, {:.2} µs CPU/tick",
                ticks as f64 / h.secs,
                h.cpu * 1e6 / ticks as f64
            );
            base_runs.push(h);
        }
    }
    let rate = |v: &[Run]| median(v.iter().map(|r| ticks as f64 / r.secs).collect());
    let cpu = |v: &[Run]| median(v.iter().map(|r| r.cpu * 1e6 / ticks as f64).collect());
    let ratios: Vec<f64> = pass_runs
        .iter()
        .zip(&host_runs)
        .map(|(p, h)| p.secs / h.secs)
        .collect();
    eprintln!(
        "xtask: e2e report ({ticks} ticks, {runs} runs each, medians)\n\
         feed (producer only)   {feed_rate:.0} ticks/s\n\
         passthrough            {:.0} ticks/s, {:.2} µs CPU/tick\n\
         host, 2 strategies     {:.0} ticks/s, {:.2} µs CPU/tick\n\
         host / passthrough     {:.2}x throughput (per run: {}), {:.2}x CPU per tick\n\
         in-host batch p99      <= {:.2} ms",
        rate(&pass_runs),
        cpu(&pass_runs),
        rate(&host_runs),
        cpu(&host_runs),
        median(ratios.clone()),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        cpu(&host_runs) / cpu(&pass_runs),
        median(p99s) * 1e3,
    );
    if !base_runs.is_empty() {
        let per_run: Vec<String> = host_runs
            .iter()
            .zip(&base_runs)
            .map(|(h, b)| format!("{:.2}", b.secs / h.secs))
            .collect();
        eprintln!(
            "xtask: e2e baseline ({} {:?})\n\
             baseline, 2 strategies {:.0} ticks/s, {:.2} µs CPU/tick\n\
             host / baseline        {:.2}x throughput (per run: {}), {:.2}x CPU per tick",
            baseline
                .as_ref()
                .map(|b| b.display().to_string())
                .unwrap_or_default(),
            baseline_env,
            rate(&base_runs),
            cpu(&base_runs),
            rate(&host_runs) / rate(&base_runs),
            per_run.join(", "),
            cpu(&host_runs) / cpu(&base_runs),
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&crate::tests::strings(args))
    }

    #[test]
    fn baseline_env_pairs_and_positional_args() {
        let o = parse(&[
            "50000",
            "--baseline-env",
            "ALPHA_PANDA__PLUGINS__WORKERS=1",
            "5",
        ])
        .unwrap();
        assert_eq!(o.args, ["50000", "5"]);
        assert_eq!(
            o.baseline_env,
            [("ALPHA_PANDA__PLUGINS__WORKERS".to_owned(), "1".to_owned())]
        );
        assert!(o.baseline.is_none());
    }

    #[test]
    fn bad_flags_are_refused_with_the_reason() {
        let e = |args: &[&str]| parse(args).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e(&["--baseline-env"]).contains("takes KEY=VALUE"));
        assert!(e(&["--baseline-env", "WORKERS"]).contains("not KEY=VALUE"));
        assert!(e(&["--baseline"]).contains("path of an alpha-panda binary"));
        assert!(e(&["--baseline", "/no/such/bin"]).contains("no such binary"));
    }
}
