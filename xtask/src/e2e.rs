//! `cargo xtask e2e [TICKS] [RUNS] [--one]`: the end-to-end benchmark of
//! `BENCHMARKS.md`. On one Kafka broker, TICKS paper ticks (100 000 by default)
//! are written once; then, RUNS times in turn, three contenders each read the whole
//! backlog in a fresh consumer group: a plain rdkafka consume → produce → commit
//! passthrough (`host/examples/passthrough.rs`, the host's client settings and
//! batching), a hand-written native runner of the momentum strategy
//! (`host/examples/native_runner.rs`: the host's decoder and signal envelopes, the
//! strategy linked natively, no dedup, state or isolation), and the release host
//! with both sample strategies (with `--one`, the momentum strategy alone: what the
//! native runner runs). Each is timed from its first message, and its process CPU
//! time is read over the same span. Medians and ratios are printed.
//! With `--baseline BIN`, another build of the host (an older commit) runs in turn
//! with this one on the same backlog, and their ratio is printed too. With
//! `--baseline-env KEY=VALUE` (repeatable), the baseline runs with those variables
//! set (`ALPHA_PANDA__PLUGINS__WORKERS=1`: this host one strategy after another);
//! without `--baseline` it is this host's own binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::harness::{
    build_release, cpu_secs, env_pair, feed_cmd, free_port, host_binary, host_toml, metric,
    metric_with, plugins_of, quantile, run_cmd, spawn_logged, start_kafka,
};

/// One contender's run: seconds from the first message, CPU seconds over them,
/// and the momentum strategy's signals (`None`: the passthrough runs none).
#[derive(Clone, Copy)]
struct Run {
    secs: f64,
    cpu: f64,
    momentum: Option<u64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs one of the host's example contenders (`passthrough`, `native_runner`)
/// with `args`; reads its `secs=` and `cpu_secs=`.
fn example(bin: &Path, args: &[&std::ffi::OsStr]) -> Result<Run> {
    let name = bin
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let out = Command::new(bin)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run the {name}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("{name} failed: {text}");
    }
    let field = |key: &str| -> Option<f64> {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
    };
    match (field("secs="), field("cpu_secs=")) {
        (Some(secs), Some(cpu)) => Ok(Run {
            secs,
            cpu,
            momentum: field("signals=").map(|n| n as u64),
        }),
        _ => bail!("{name} printed {text:?}"),
    }
}

fn host(
    bin: &Path,
    env: &[(String, String)],
    config: &Path,
    dir: &Path,
    port: u16,
    ticks: u64,
    strategies: &[&str],
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
    let mut run = Run {
        secs: t0.elapsed().as_secs_f64(),
        cpu: cpu_secs(pid) - c0,
        momentum: None,
    };
    let p99 = quantile(port, "alpha_panda_batch_host_seconds", 0.99).unwrap_or(f64::NAN);
    // What it answered: a host that ran no strategy would be fast for nothing.
    let signals = metric(port, "alpha_panda_signals_total").unwrap_or(0.0) as u64;
    let of = |id: &str| {
        metric_with(
            port,
            "alpha_panda_strategy_signals_total",
            &format!("strategy_id=\"{id}_1\""),
        )
        .unwrap_or(0.0) as u64
    };
    let each: Vec<(&str, u64)> = strategies.iter().map(|s| (*s, of(s))).collect();
    eprintln!("xtask: e2e host signals: {signals} ({each:?})");
    if let Some((s, _)) = each.iter().find(|(_, n)| *n == 0) {
        bail!("sample strategy {s} gave no signal in the e2e run: {each:?}");
    }
    run.momentum = each.first().map(|(_, n)| *n);
    Ok((run, p99))
}

/// The command line: TICKS and RUNS, what the baseline is, and whether the host
/// runs the momentum strategy alone.
struct Options {
    args: Vec<String>,
    baseline: Option<PathBuf>,
    baseline_env: Vec<(String, String)>,
    one: bool,
}

impl Options {
    fn parse(all: &[String]) -> Result<Options> {
        let mut o = Options {
            args: Vec::new(),
            baseline: None,
            baseline_env: Vec::new(),
            one: false,
        };
        let mut it = all.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--baseline" => o.baseline = Some(host_binary("--baseline", it.next())?),
                "--baseline-env" => o.baseline_env.push(env_pair(it.next())?),
                "--one" => o.one = true,
                _ => o.args.push(a.clone()),
            }
        }
        Ok(o)
    }

    /// The sample strategies the host runs.
    fn strategies(&self) -> &'static [&'static str] {
        if self.one {
            &["momentum"]
        } else {
            &["momentum", "mean_reversion"]
        }
    }
}

/// Every contender's runs.
#[derive(Default)]
struct Runs {
    pass: Vec<Run>,
    native: Vec<Run>,
    host: Vec<Run>,
    p99: Vec<f64>,
    base: Vec<Run>,
}

/// Where the contenders run: the broker, the host's config and its folders.
struct Bench {
    bootstrap: String,
    work: PathBuf,
    plugins: PathBuf,
    cache: PathBuf,
    port: u16,
    ticks: u64,
}

impl Bench {
    /// A host config of its own consumer group (`service`), from the start.
    fn config(&self, service: &str) -> Result<PathBuf> {
        let path = self.work.join(format!("{service}.toml"));
        let text = host_toml(
            &self.bootstrap,
            service,
            "",
            &self.plugins,
            &self.cache,
            self.port,
        );
        std::fs::write(&path, text)?;
        Ok(path)
    }

    fn per_tick(&self, what: &str, i: usize, r: &Run) {
        eprintln!(
            "xtask: e2e run {i}: {what:<12} {:.0} ticks/s, {:.2} µs CPU/tick",
            self.ticks as f64 / r.secs,
            r.cpu * 1e6 / self.ticks as f64
        );
    }
}

pub fn e2e(root: &Path, args: &[String]) -> Result<()> {
    let o = Options::parse(args)?;
    let ticks: u64 = match o.args.first() {
        Some(t) => t.parse().with_context(|| format!("TICKS, not {t:?}"))?,
        None => 100_000,
    };
    let runs: usize = match o.args.get(1) {
        Some(r) => r.parse().with_context(|| format!("RUNS, not {r:?}"))?,
        None => 3,
    };
    let bin = build_release(&["passthrough", "native_runner"])?;
    let examples = super::target_dir().join("release/examples");
    let (pass, native) = (examples.join("passthrough"), examples.join("native_runner"));
    let baseline = match &o.baseline {
        None if !o.baseline_env.is_empty() => Some(bin.clone()),
        b => b.clone(),
    };

    let work = std::env::temp_dir().join(format!("alpha-panda-e2e-{}", std::process::id()));
    let strategies = o.strategies();
    let plugins = plugins_of(root, &work, strategies)?;
    let (_kafka, bootstrap) = start_kafka()?;
    let b = Bench {
        bootstrap,
        cache: work.join("cache"),
        plugins,
        work: work.clone(),
        port: free_port()?,
        ticks,
    };
    let base = b.config("e2e")?;
    let mut topics = Command::new(&bin);
    topics.args(["topics", "create", "--config"]).arg(&base);
    super::status(topics, "alpha-panda topics create")?;
    let feed = feed_cmd(&bin, &base, ticks);
    let fed = Instant::now();
    super::status(feed, "alpha-panda feed paper (the backlog)")?;
    let feed_rate = ticks as f64 / fed.elapsed().as_secs_f64();

    let manifest = root.join("plugins/momentum.toml");
    let mut r = Runs::default();
    for i in 0..runs {
        let count = ticks.to_string();
        let group = format!("passthrough-{i}");
        let p = example(&pass, &[base.as_os_str(), group.as_ref(), count.as_ref()])?;
        b.per_tick("passthrough", i, &p);
        r.pass.push(p);
        let group = format!("native-{i}");
        let args = [
            base.as_os_str(),
            group.as_ref(),
            count.as_ref(),
            manifest.as_os_str(),
        ];
        let n = example(&native, &args)?;
        b.per_tick("native", i, &n);
        r.native.push(n);
        // A fresh service name: a fresh consumer group that reads from the start.
        let config = b.config(&format!("e2e_{i}"))?;
        let (h, p99) = host(&bin, &[], &config, &work, b.port, ticks, strategies)?;
        b.per_tick("host", i, &h);
        // Both ran the momentum strategy on the same ticks: the same signals.
        if n.momentum != h.momentum {
            bail!(
                "the native runner gave {:?} momentum signals, the host {:?}: not the same work",
                n.momentum,
                h.momentum
            );
        }
        r.host.push(h);
        r.p99.push(p99);
        if let Some(bin) = &baseline {
            let config = b.config(&format!("e2e_base_{i}"))?;
            let (h, _) = host(
                bin,
                &o.baseline_env,
                &config,
                &work,
                b.port,
                ticks,
                strategies,
            )?;
            b.per_tick("baseline", i, &h);
            r.base.push(h);
        }
    }
    report(&r, ticks, runs, feed_rate, strategies.len());
    if !r.base.is_empty() {
        report_baseline(&r, ticks, baseline.as_deref(), &o.baseline_env);
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn rate(v: &[Run], ticks: u64) -> f64 {
    median(v.iter().map(|r| ticks as f64 / r.secs).collect())
}

fn cpu(v: &[Run], ticks: u64) -> f64 {
    median(v.iter().map(|r| r.cpu * 1e6 / ticks as f64).collect())
}

/// Per run, `a`'s time over `b`'s (how many times faster `b` was).
fn per_run(a: &[Run], b: &[Run]) -> String {
    a.iter()
        .zip(b)
        .map(|(a, b)| format!("{:.2}", a.secs / b.secs))
        .collect::<Vec<_>>()
        .join(", ")
}

fn report(r: &Runs, ticks: u64, runs: usize, feed_rate: f64, strategies: usize) {
    let ratios: Vec<f64> = r
        .pass
        .iter()
        .zip(&r.host)
        .map(|(p, h)| p.secs / h.secs)
        .collect();
    let label = format!(
        "host, {strategies} strateg{}",
        if strategies == 1 { "y" } else { "ies" }
    );
    eprintln!(
        "xtask: e2e report ({ticks} ticks, {runs} runs each, medians)\n\
         feed (producer only)   {feed_rate:.0} ticks/s\n\
         passthrough            {:.0} ticks/s, {:.2} µs CPU/tick\n\
         native runner (1)      {:.0} ticks/s, {:.2} µs CPU/tick\n\
         {label:<22} {:.0} ticks/s, {:.2} µs CPU/tick\n\
         host / passthrough     {:.2}x throughput (per run: {}), {:.2}x CPU per tick\n\
         host / native runner   {:.2}x throughput (per run: {}), {:.2}x CPU per tick\n\
         in-host batch p99      <= {:.2} ms",
        rate(&r.pass, ticks),
        cpu(&r.pass, ticks),
        rate(&r.native, ticks),
        cpu(&r.native, ticks),
        rate(&r.host, ticks),
        cpu(&r.host, ticks),
        median(ratios),
        per_run(&r.pass, &r.host),
        cpu(&r.host, ticks) / cpu(&r.pass, ticks),
        rate(&r.host, ticks) / rate(&r.native, ticks),
        per_run(&r.native, &r.host),
        cpu(&r.host, ticks) / cpu(&r.native, ticks),
        median(r.p99.clone()) * 1e3,
    );
}

fn report_baseline(r: &Runs, ticks: u64, baseline: Option<&Path>, env: &[(String, String)]) {
    eprintln!(
        "xtask: e2e baseline ({} {:?})\n\
         baseline               {:.0} ticks/s, {:.2} µs CPU/tick\n\
         host / baseline        {:.2}x throughput (per run: {}), {:.2}x CPU per tick",
        baseline
            .map(|b| b.display().to_string())
            .unwrap_or_default(),
        env,
        rate(&r.base, ticks),
        cpu(&r.base, ticks),
        rate(&r.host, ticks) / rate(&r.base, ticks),
        per_run(&r.base, &r.host),
        cpu(&r.host, ticks) / cpu(&r.base, ticks),
    );
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
        assert_eq!(o.strategies(), ["momentum", "mean_reversion"]);
        let one = parse(&["--one", "100000"]).unwrap();
        assert!(one.one);
        assert_eq!(one.args, ["100000"]);
        assert_eq!(
            one.strategies(),
            ["momentum"],
            "what the native runner runs"
        );
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
