//! `cargo xtask latency [RATE] [TICKS] [RUNS] [--baseline BIN]`: issue 19's
//! latency at a steady rate (`BENCHMARKS.md`). On one Kafka broker, warmed up
//! first, the release host runs both sample strategies, caught up; then, RUNS times, TICKS paper
//! ticks (200 000) are written at RATE ticks per second (50 000) and the host's
//! histograms are read before and after: a batch's time in the host (first
//! message taken to its outputs handed to the producer) and its parts (the
//! batch prepared and its calls handed out, a call's wait for its lane or a
//! worker, the call, the pipeline taking it back), and tick to signal
//! acknowledged. Beside them: the host's
//! CPU a tick, the time its threads waited for a CPU (run queue) a tick, and how
//! idle the machine was. With `--baseline BIN` another build runs the same bursts
//! in turn with this one, each in a consumer group of its own; with
//! `--baseline-env KEY=VALUE` (repeatable) the baseline runs with those
//! variables set (and is this build unless `--baseline` names another). With
//! `--yield-others` the broker and the feed run at nice 19, so a host thread that
//! wakes gets a CPU before them; with `--pin-others CPUS` (a list as `taskset -c`
//! takes it: `0`, `0,2`, `0-1`) they run on those CPUs only. Both estimate, on a
//! machine they share, the host on cores of its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::harness::{
    bucket_quantile, buckets, buckets_since, build_release, cpu_idle, cpu_secs, env_pair,
    free_port, host_binary, host_toml, metric, metric_in, run_cmd, sample_plugins, sched_ns,
    scrape_text, share_within, spawn_logged, start_kafka, Proc,
};

/// Ticks written before each measured burst, so each host has met every
/// instrument and its caches are warm.
const WARM_UP: u64 = 20_000;

/// Ticks written once, as fast as the broker takes them, before anything is
/// measured: a fresh broker's JVM compiles its hot paths under load, and until
/// then it takes a core of this machine's two at 20 000 ticks/s.
const WARM_BROKER: u64 = 300_000;

/// The histograms reported: name, label filter, column.
/// The first is the in-host time; the next four are its parts, in order.
const HISTOGRAMS: [(&str, &str, &str); 6] = [
    ("alpha_panda_batch_host_seconds", "", "in host"),
    ("alpha_panda_batch_prepare_seconds", "", "prepare"),
    ("alpha_panda_lane_wait_seconds", "", "lane wait"),
    (
        "alpha_panda_plugin_call_seconds",
        "strategy_id=\"momentum_1\"",
        "momentum's calls",
    ),
    ("alpha_panda_call_pickup_seconds", "", "pickup"),
    (
        "alpha_panda_tick_to_signal_seconds",
        "strategy_id=\"momentum_1\"",
        "tick to signal acked",
    ),
];

/// Issue 19's bound on a batch's time in the host, seconds (a bucket bound).
const TARGET: f64 = 0.001;

/// Batches finished (each observes its time to acknowledged once): ticks a
/// batch is how many ticks a batch held. (Offset commits are fewer: a commit
/// covers the batches of `delivery.commit_interval_ms`.)
const BATCHES: &str = "alpha_panda_commit_seconds_count";

/// What one burst measured for one host.
struct Burst {
    /// p50 and p99 (bucket upper bounds, seconds) of each of [`HISTOGRAMS`].
    quantiles: Vec<Option<(f64, f64)>>,
    /// The share of the in-host observations (a batch's, as each of its calls'
    /// outputs go to the producer) at most [`TARGET`].
    within_target: Option<f64>,
    cpu_us: f64,
    runq_us: f64,
    /// Ticks a batch, on average.
    batch: f64,
    idle_pct: f64,
}

/// A running host and what it needs to be measured.
struct Host {
    name: String,
    proc: Proc,
    port: u16,
}

fn ticks_done(port: u16) -> u64 {
    metric(port, "alpha_panda_ticks_done_total").unwrap_or(0.0) as u64
}

/// Waits until `done` holds, polling every 50 ms, for at most `limit`.
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Result<()> {
    let end = Instant::now() + limit;
    while !done() {
        if Instant::now() > end {
            bail!("{what}: not within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Starts `bin` (with the variables `env`) in consumer group `service` and
/// waits until it runs both samples on every partition.
fn start(
    bin: &Path,
    env: &[(String, String)],
    name: &str,
    work: &Path,
    base: &str,
) -> Result<Host> {
    let port = free_port()?;
    let config = work.join(format!("{name}.toml"));
    let toml = base
        .replace("__PORT__", &port.to_string())
        .replace("__SERVICE__", name);
    std::fs::write(&config, toml)?;
    let mut cmd = run_cmd(bin, &config, work);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let proc = spawn_logged(cmd, &work.join(format!("{name}.log")))?;
    wait_until(&format!("{name} running"), Duration::from_secs(180), || {
        metric(port, "alpha_panda_plugins_loaded").unwrap_or(0.0) >= 2.0
            && metric(port, "alpha_panda_assigned_partitions").unwrap_or(0.0) >= 12.0
    })?;
    Ok(Host {
        name: name.to_owned(),
        proc,
        port,
    })
}

/// Stops `host` as an operator would (SIGINT: it commits what it answered).
fn stop(mut host: Host) -> Result<()> {
    let pid = host.proc.0.id().to_string();
    super::status(
        {
            let mut c = Command::new("kill");
            c.args(["-INT", &pid]);
            c
        },
        "kill -INT (the host)",
    )?;
    let child = &mut host.proc.0;
    wait_until(
        &format!("{} stopping", host.name),
        Duration::from_secs(60),
        || matches!(child.try_wait(), Ok(Some(_))),
    )
}

/// How the broker and the feed share the machine with the hosts.
#[derive(Debug, Default, Clone, PartialEq)]
struct Others {
    /// At nice 19 (`--yield-others`).
    nice: bool,
    /// On these CPUs only (`--pin-others`, a `taskset -c` list).
    cpus: Option<String>,
}

impl Others {
    /// `bin`, run as the others are: under `nice` and `taskset` as asked.
    fn command(&self, bin: &Path) -> Command {
        let mut line: Vec<std::ffi::OsString> = Vec::new();
        if self.nice {
            line.extend(["nice", "-n", "19"].map(Into::into));
        }
        if let Some(cpus) = &self.cpus {
            line.extend(["taskset".into(), "-c".into(), cpus.into()]);
        }
        line.push(bin.into());
        let mut c = Command::new(&line[0]);
        c.args(&line[1..]);
        c
    }

    /// The broker's threads (all of them: the JVM starts dozens) niced and
    /// pinned as asked.
    fn apply_to_broker(&self, pid: u32) -> Result<()> {
        if self.nice {
            renice_all(pid)?;
        }
        if let Some(cpus) = &self.cpus {
            let mut c = Command::new("taskset");
            c.args(["-a", "-p", "-c", cpus, &pid.to_string()]);
            super::status(c, &format!("taskset -a -p -c {cpus} (the broker)"))?;
        }
        Ok(())
    }
}

/// A CPU list as `taskset -c` takes it (digits, `,` and `-`), or why not.
fn cpu_list(v: Option<&String>) -> Result<String> {
    match v {
        Some(l)
            if l.split(',').all(|r| {
                let mut ends = r.splitn(2, '-');
                ends.all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }) =>
        {
            Ok(l.clone())
        }
        Some(l) => bail!("--pin-others takes a CPU list such as 0, 0,2 or 0-1, not {l:?}"),
        None => bail!("--pin-others needs a CPU list such as 0, 0,2 or 0-1"),
    }
}

/// Writes `ticks` paper ticks at `rate` a second (0: at once), run as `others` say.
fn feed(bin: &Path, config: &Path, rate: u64, ticks: u64, others: &Others) -> Result<()> {
    let mut c = others.command(bin);
    c.args(["feed", "paper", "--rate", &rate.to_string()])
        .args(["--count", &ticks.to_string(), "--config"])
        .arg(config);
    super::status(c, &format!("alpha-panda feed paper --rate {rate}"))
}

/// Every thread of process `pid` at nice 19 (a process's nice value is its
/// threads' own, and the JVM has started dozens).
fn renice_all(pid: u32) -> Result<()> {
    let tids: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .with_context(|| format!("the threads of process {pid}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut c = Command::new("renice");
    c.args(["-n", "19", "-p"]).args(&tids);
    super::status(
        c,
        &format!("renice -n 19 (the broker's {} threads)", tids.len()),
    )
}

/// One burst of `ticks` (written by `feed_it`) through `host`.
fn burst(host: &Host, feed_it: impl FnOnce() -> Result<()>, ticks: u64) -> Result<Burst> {
    let pid = host.proc.0.id();
    let done0 = ticks_done(host.port);
    let text0 = scrape_text(host.port);
    let (cpu0, sched0, idle0) = (cpu_secs(pid), sched_ns(pid), cpu_idle());
    feed_it()?;
    wait_until(
        &format!("{} answering the burst", host.name),
        Duration::from_secs(300),
        || ticks_done(host.port) >= done0 + ticks,
    )?;
    let (cpu1, sched1, idle1) = (cpu_secs(pid), sched_ns(pid), cpu_idle());
    let text1 = scrape_text(host.port);
    let since = |(name, label, _): &(&str, &str, &str)| {
        buckets_since(&buckets(&text0, name, label), &buckets(&text1, name, label))
    };
    let quantiles = HISTOGRAMS
        .iter()
        .map(|h| {
            let d = since(h);
            Some((bucket_quantile(&d, 0.5)?, bucket_quantile(&d, 0.99)?))
        })
        .collect();
    let within_target = share_within(&since(&HISTOGRAMS[0]), TARGET);
    let per_tick = |v: f64| v * 1e6 / ticks as f64;
    let batches =
        metric_in(&text1, BATCHES).unwrap_or(0.0) - metric_in(&text0, BATCHES).unwrap_or(0.0);
    Ok(Burst {
        batch: ticks as f64 / batches.max(1.0),
        quantiles,
        within_target,
        cpu_us: per_tick(cpu1 - cpu0),
        runq_us: per_tick((sched1.1 - sched0.1) as f64 / 1e9),
        idle_pct: 100.0 * (idle1.0 - idle0.0) as f64 / (idle1.1 - idle0.1).max(1) as f64,
    })
}

fn ms(v: Option<(f64, f64)>) -> String {
    match v {
        Some((p50, p99)) => format!("≤ {:.2} / ≤ {:.2} ms", p50 * 1e3, p99 * 1e3),
        None => "none".to_owned(),
    }
}

fn row(name: &str, run: usize, b: &Burst) -> String {
    let q: Vec<String> = b.quantiles.iter().map(|q| ms(*q)).collect();
    let within = b
        .within_target
        .map_or("none".to_owned(), |s| format!("{:.2} %", s * 100.0));
    format!(
        "| {name} | {run} | {} | {within} | {:.0} | {:.1} | {:.1} | {:.0} % |",
        q.join(" | "),
        b.batch,
        b.cpu_us,
        b.runq_us,
        b.idle_pct
    )
}

/// The command line.
#[derive(Debug, Default, PartialEq)]
struct Options {
    rate: u64,
    ticks: u64,
    runs: u64,
    baseline: Option<PathBuf>,
    baseline_env: Vec<(String, String)>,
    others: Others,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options::default();
        let mut nums = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--baseline" => o.baseline = Some(host_binary("--baseline", it.next())?),
                "--baseline-env" => o.baseline_env.push(env_pair(it.next())?),
                "--yield-others" => o.others.nice = true,
                "--pin-others" => o.others.cpus = Some(cpu_list(it.next())?),
                n => nums.push(
                    n.parse::<u64>()
                        .with_context(|| format!("a number, not {n:?}"))?,
                ),
            }
        }
        (o.rate, o.ticks, o.runs) = match nums[..] {
            [] => (50_000, 200_000, 3),
            [r] => (r, 200_000, 3),
            [r, t] => (r, t, 3),
            [r, t, n] => (r, t, n),
            _ => bail!(
                "usage: cargo xtask latency [RATE] [TICKS] [RUNS] [--baseline BIN] \
                 [--baseline-env KEY=VALUE]... [--yield-others] [--pin-others CPUS]"
            ),
        };
        Ok(o)
    }
}

pub fn latency(root: &Path, args: &[String]) -> Result<()> {
    let Options {
        rate,
        ticks,
        runs,
        baseline,
        baseline_env,
        others,
    } = Options::parse(args)?;
    let bin = build_release(&[])?;
    let work = std::env::temp_dir().join(format!("alpha-panda-latency-{}", std::process::id()));
    let plugins = sample_plugins(root, &work)?;
    let (kafka, bootstrap) = start_kafka()?;
    if others != Others::default() {
        let pid = kafka.pid().context("the broker has no process")?;
        others.apply_to_broker(pid)?;
    }
    let base = host_toml(
        &bootstrap,
        "__SERVICE__",
        "",
        &plugins,
        &work.join("cache"),
        0,
    )
    .replace("127.0.0.1:0", "127.0.0.1:__PORT__");
    let feed_config = work.join("feed.toml");
    std::fs::write(
        &feed_config,
        base.replace("__SERVICE__", "feed").replace("__PORT__", "0"),
    )?;
    let mut topics = Command::new(&bin);
    topics
        .args(["topics", "create", "--config"])
        .arg(&feed_config);
    super::status(topics, "alpha-panda topics create")?;

    let mut contenders = vec![("this", bin.clone(), Vec::new())];
    match baseline {
        Some(b) => contenders.push(("baseline", b, baseline_env)),
        None if !baseline_env.is_empty() => {
            contenders.push(("baseline", bin.clone(), baseline_env))
        }
        None => {}
    }
    feed(&bin, &feed_config, 0, WARM_BROKER, &others)?;
    let mut rows = Vec::new();
    // Ticks written so far, and per contender how many of them it had answered
    // when it last stopped (cleanly, everything committed).
    let mut written = WARM_BROKER;
    let mut seen = vec![0; contenders.len()];
    for run in 0..runs as usize {
        // Who goes first takes turns: a run's first burst found the broker
        // colder in every run so far.
        let mut order: Vec<usize> = (0..contenders.len()).collect();
        if run % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (name, host_bin, env) = &contenders[i];
            // Its own group, which resumes where its last run stopped.
            let host = start(host_bin, env, &format!("latency_{name}"), &work, &base)?;
            feed(&bin, &feed_config, 0, WARM_UP, &others)?;
            written += WARM_UP;
            // The other contender's bursts and the warm-up, read before the clock starts.
            let behind = written - seen[i];
            wait_until("caught up", Duration::from_secs(300), || {
                ticks_done(host.port) >= behind
            })?;
            let b = burst(
                &host,
                || feed(&bin, &feed_config, rate, ticks, &others),
                ticks,
            )?;
            written += ticks;
            let line = row(name, run, &b);
            eprintln!("xtask: latency {line}");
            rows.push(line);
            stop(host)?;
            seen[i] = written;
        }
    }
    let columns: Vec<String> = HISTOGRAMS
        .iter()
        .map(|(_, _, c)| format!("{c} p50 / p99"))
        .collect();
    eprintln!(
        "xtask: latency report ({ticks} ticks at {rate}/s a run, 2 strategies; \
         quantiles are histogram bucket bounds)\n\
         | host | run | {} | in host ≤ 1 ms | ticks a batch | CPU µs/tick | run-queue wait µs/tick | machine idle |\n\
         |---|---:|{}---:|---:|---:|---:|---:|\n{}",
        columns.join(" | "),
        "---|".repeat(columns.len()),
        rows.join("\n")
    );
    // What each contender was, so a report says what it compared.
    let common: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("ALPHA_PANDA__"))
        .collect();
    eprintln!("xtask: latency settings of both (environment): {common:?}");
    for (name, host_bin, env) in &contenders {
        eprintln!("xtask: latency {name}: {} {env:?}", host_bin.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Options> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        Options::parse(&args)
    }

    #[test]
    fn the_defaults_and_the_numbers_in_order() {
        let o = parse("").unwrap();
        assert_eq!((o.rate, o.ticks, o.runs), (50_000, 200_000, 3));
        assert_eq!(o.others, Others::default());
        let o = parse("20000 100000 5 --yield-others --pin-others 0-1").unwrap();
        assert_eq!((o.rate, o.ticks, o.runs), (20_000, 100_000, 5));
        assert_eq!(
            o.others,
            Others {
                nice: true,
                cpus: Some("0-1".into())
            }
        );
    }

    #[test]
    fn a_cpu_list_is_checked_before_anything_runs() {
        assert_eq!(
            parse("--pin-others 0,2").unwrap().others.cpus.unwrap(),
            "0,2"
        );
        for bad in [
            "--pin-others",
            "--pin-others a",
            "--pin-others 0-",
            "--pin-others 0,,1",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("--pin-others"), "{bad}: {e}");
        }
        let e = parse("1 2 3 4").unwrap_err().to_string();
        assert!(e.contains("--pin-others CPUS"), "{e}");
    }

    #[test]
    fn the_others_run_under_nice_then_taskset() {
        let o = Others {
            nice: true,
            cpus: Some("0".into()),
        };
        let c = o.command(Path::new("/bin/host"));
        let line: Vec<_> = std::iter::once(c.get_program())
            .chain(c.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            line,
            ["nice", "-n", "19", "taskset", "-c", "0", "/bin/host"]
        );
        let plain = Others::default().command(Path::new("/bin/host"));
        assert_eq!(plain.get_program(), "/bin/host");
        assert_eq!(plain.get_args().count(), 0);
    }
}
