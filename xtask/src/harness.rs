//! What the soak and end-to-end runs share: child processes killed on drop, a
//! Kafka broker on a free port, the host's TOML, reading its `/metrics`, and the
//! memory, descriptors, threads and CPU time of a process, the sample plugins.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The host binary a `flag` names (`--baseline BIN`, `--bin HOST`): `value`, which
/// must be a file.
pub fn host_binary(flag: &str, value: Option<&String>) -> Result<std::path::PathBuf> {
    let bin = std::path::PathBuf::from(
        value.with_context(|| format!("{flag} takes the path of an alpha-panda binary"))?,
    );
    anyhow::ensure!(bin.is_file(), "{flag} {}: no such binary", bin.display());
    Ok(bin)
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The host's `/metrics` text (None: not reachable).
fn scrape(port: u16) -> Option<String> {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    c.read_to_string(&mut text).ok()?;
    Some(text)
}

/// The sum of a metric's samples on the host's `/metrics`; `None` if it has none
/// (a build without it) or the host does not answer.
pub fn metric(port: u16, name: &str) -> Option<f64> {
    metric_in(&scrape(port)?, name)
}

/// The sum of a metric's samples in a `/metrics` text; `None` if it has none.
pub fn metric_in(text: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// The sum of a metric's samples whose labels include `label` (`key="value"`).
pub fn metric_with(port: u16, name: &str, label: &str) -> Option<f64> {
    let text = scrape(port)?;
    let prefix = format!("{name}{{");
    Some(
        text.lines()
            .filter(|l| l.starts_with(&prefix))
            .filter(|l| {
                l.split_once('}')
                    .is_some_and(|(labels, _)| labels.contains(label))
            })
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum(),
    )
}

/// The upper bound of the histogram bucket holding quantile `q` (seconds).
pub fn quantile(port: u16, name: &str, q: f64) -> Option<f64> {
    bucket_quantile(&buckets(&scrape(port)?, name, ""), q)
}

/// `/metrics` as it stands (empty if the host does not answer).
pub fn scrape_text(port: u16) -> String {
    scrape(port).unwrap_or_default()
}

/// The cumulative buckets (upper bound, count) of histogram `name` in a
/// `/metrics` text, summed over the series whose labels include `label`.
pub fn buckets(text: &str, name: &str, label: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{");
    let mut out: Vec<(f64, f64)> = Vec::new();
    for l in text.lines() {
        let Some(rest) = l.strip_prefix(&prefix) else {
            continue;
        };
        let Some((labels, count)) = rest.split_once("} ") else {
            continue;
        };
        let Some((_, le)) = labels.split_once("le=\"") else {
            continue;
        };
        let le = le.trim_end_matches('"');
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            match le.parse() {
                Ok(v) => v,
                Err(_) => continue,
            }
        };
        let (Ok(count), true) = (count.trim().parse::<f64>(), labels.contains(label)) else {
            continue;
        };
        match out.iter_mut().find(|(b, _)| *b == le) {
            Some(e) => e.1 += count,
            None => out.push((le, count)),
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// `after` less `before`, bucket by bucket: what was observed in between.
pub fn buckets_since(before: &[(f64, f64)], after: &[(f64, f64)]) -> Vec<(f64, f64)> {
    after
        .iter()
        .map(|&(le, n)| {
            let was = before.iter().find(|(b, _)| *b == le).map_or(0.0, |e| e.1);
            (le, n - was)
        })
        .collect()
}

/// The upper bound of the bucket holding quantile `q`; `None` if empty.
pub fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map(|(le, _)| *le)
}

/// `--baseline-env KEY=VALUE`'s pair.
pub fn env_pair(kv: Option<&String>) -> Result<(String, String)> {
    let kv = kv.context("--baseline-env takes KEY=VALUE")?;
    let (k, v) = kv
        .split_once('=')
        .with_context(|| format!("--baseline-env {kv:?}: not KEY=VALUE"))?;
    Ok((k.to_owned(), v.to_owned()))
}

/// The share of the observations at or below `bound` (a bucket's upper
/// bound); `None` if there are none, or no bucket ends at `bound`.
pub fn share_within(buckets: &[(f64, f64)], bound: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    let within = buckets.iter().find(|(le, _)| *le == bound)?.1;
    (total > 0.0).then(|| within / total)
}

/// Nanoseconds `pid`'s threads have run and waited on a run queue (for a
/// CPU) so far, from `/proc/PID/task/*/schedstat`.
pub fn sched_ns(pid: u32) -> (u64, u64) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0, 0);
    };
    let mut sum = (0, 0);
    for t in tasks.flatten() {
        let text = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        let mut f = text
            .split_whitespace()
            .map(|v| v.parse::<u64>().unwrap_or(0));
        sum.0 += f.next().unwrap_or(0);
        sum.1 += f.next().unwrap_or(0);
    }
    sum
}

/// The machine's idle and total CPU time so far (jiffies, `/proc/stat`).
pub fn cpu_idle() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (idle, f.iter().sum())
}

/// Resident memory (KiB), open descriptors and threads of `pid`.
pub fn sample(pid: u32) -> Result<(u64, usize, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count();
    Ok((field("VmRSS:"), fds, field("Threads:")))
}

/// Builds the release host and `examples` (`host/examples/NAME.rs`); returns
/// the host's binary.
pub fn build_release(examples: &[&str]) -> Result<std::path::PathBuf> {
    let mut build = crate::cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "alpha-panda",
        "--bin",
        "alpha-panda",
    ]);
    for e in examples {
        build.args(["--example", e]);
    }
    let what = format!("cargo build --release (host {})", examples.join(" "));
    crate::status(build, what.trim_end())?;
    Ok(crate::target_dir().join("release/alpha-panda"))
}

/// Starts a Kafka broker (KRaft, one node) on a free port; returns it and its address.
pub fn start_kafka() -> Result<(alpha_panda_rig::KafkaBroker, String)> {
    let dist = crate::setup::kafka()?;
    let broker = alpha_panda_rig::KafkaBroker::start(&dist)?;
    let bootstrap = broker.bootstrap();
    Ok((broker, bootstrap))
}

/// A host configuration on `bootstrap`: service `service`, dedup in Redis at
/// `redis` (empty: in-process), fast group settings, plugins from `plugins`,
/// metrics on `metrics_port`. Ticks are signalled however old: a backlog read a
/// minute after it was written would otherwise only warm the strategies (no
/// signals to encode and send), and later runs would do less work than earlier ones.
pub fn host_toml(
    bootstrap: &str,
    service: &str,
    redis: &str,
    plugins: &Path,
    cache: &Path,
    metrics_port: u16,
) -> String {
    format!(
        "broker = \"paper\"\nservice = \"{service}\"\n\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n\n\
         [kafka.consumer]\n\"session.timeout.ms\" = \"6000\"\n\"max.poll.interval.ms\" = \"10000\"\n\
         \"heartbeat.interval.ms\" = \"1000\"\n\"fetch.wait.max.ms\" = \"10\"\n\n\
         [redis]\nurl = \"{redis}\"\nkey_prefix = \"alpha-panda-xtask:{service}:{metrics_port}\"\n\n[plugins]\ndir = \"{plugins}\"\ncache_dir = \"{cache}\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n\n\
         [start]\nmax_tick_age_ms = 0\n",
        plugins = plugins.display(),
        cache = cache.display(),
    )
}

/// User + system CPU seconds of `pid` so far.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Copies both sample strategies (`.wasm` + manifest) into `work/plugins`.
pub fn sample_plugins(root: &Path, work: &Path) -> Result<std::path::PathBuf> {
    plugins_of(root, work, &["momentum", "mean_reversion"])
}

/// Copies the sample strategies `names` (`.wasm` + manifest) into `work/plugins`.
pub fn plugins_of(root: &Path, work: &Path, names: &[&str]) -> Result<std::path::PathBuf> {
    let plugins = work.join("plugins");
    std::fs::create_dir_all(&plugins)?;
    for name in names {
        for ext in ["toml", "wasm"] {
            std::fs::copy(
                root.join(format!("plugins/{name}.{ext}")),
                plugins.join(format!("{name}.{ext}")),
            )
            .with_context(|| format!("plugins/{name}.{ext} (run `cargo xtask plugins`)"))?;
        }
    }
    Ok(plugins)
}

/// `alpha-panda run --config CONFIG` in `dir`.
pub fn run_cmd(bin: &Path, config: &Path, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args(["run", "--config"]).arg(config).current_dir(dir);
    c
}

/// `alpha-panda feed paper` of `ticks` ticks as fast as the broker takes them.
pub fn feed_cmd(bin: &Path, config: &Path, ticks: u64) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "feed",
        "paper",
        "--rate",
        "0",
        "--count",
        &ticks.to_string(),
    ])
    .arg("--config")
    .arg(config);
    c
}

/// Starts `cmd` with its output in `log`; killed on drop.
pub fn spawn_logged(mut cmd: Command, log: &Path) -> Result<Proc> {
    let file = std::fs::File::create(log)?;
    let child = cmd
        .stdout(Stdio::from(file.try_clone()?))
        .stderr(Stdio::from(file))
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    Ok(Proc(child))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
x_bucket{le=\"0.0005\"} 10
x_bucket{le=\"0.001\"} 95
x_bucket{le=\"0.002\"} 99
x_bucket{le=\"+Inf\"} 100
";

    #[test]
    fn the_share_within_a_bound_and_the_quantiles_read_off_buckets() {
        let b = buckets(TEXT, "x", "");
        assert_eq!(share_within(&b, 0.001), Some(0.95));
        assert_eq!(share_within(&b, 0.0015), None, "not a bound");
        assert_eq!(bucket_quantile(&b, 0.5), Some(0.001));
        assert_eq!(bucket_quantile(&b, 0.99), Some(0.002));
        let none = buckets_since(&b, &b);
        assert_eq!(share_within(&none, 0.001), None, "no observations");
    }
}
