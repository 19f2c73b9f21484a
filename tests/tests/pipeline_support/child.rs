//! The host as a child process (the `alpha-panda` binary of this build), for the
//! tests that must kill it: its TOML, spawning it with its log in a file, reading
//! its `/metrics`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alpha_panda_tests::broker::FAST_GROUP_SETTINGS;

use super::{SIGNAL_PARTITIONS, TICK_PARTITIONS};

/// The host binary `cargo test --workspace` built, next to this test's own
/// executable (`<target>/debug/deps/..`), whatever the target directory.
pub fn binary() -> PathBuf {
    let bin = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("alpha-panda")))
        .unwrap_or_else(|| alpha_panda_tests::paths::root().join("target/debug/alpha-panda"));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p alpha-panda`",
        bin.display()
    );
    bin
}

/// What differs between the child hosts of the tests.
pub struct ChildConfig<'a> {
    pub bootstrap: &'a str,
    pub service: &'a str,
    /// `at_least_once` or `exactly_once`.
    pub mode: &'a str,
    /// Empty: the in-process dedup store.
    pub redis_url: &'a str,
    pub redis_prefix: &'a str,
    /// Empty: no metrics endpoint.
    pub metrics_listen: &'a str,
}

/// The TOML a host child process runs with; plugins in `dir/plugins`.
pub fn config_toml(c: &ChildConfig<'_>, dir: &Path) -> String {
    let consumer: Vec<String> = FAST_GROUP_SETTINGS
        .iter()
        .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
        .collect();
    format!(
        r#"broker = "paper"
service = "{service}"

[kafka]
bootstrap_servers = "{bootstrap}"

[kafka.consumer]
{consumer}

[kafka.producer]
"linger.ms" = "2"

[redis]
url = "{redis_url}"
key_prefix = "{redis_prefix}"

[plugins]
dir = "{plugins}"
cache_dir = "{cache}"
debounce_ms = 50
# The tests write a tick at a time: on a loaded machine another partition's tick of
# the same time can come well after 100 ms.
align_wait_ms = 2000

[delivery]
mode = "{mode}"
instance_id = "{service}"
retry_scale = 0.01
shutdown_timeout_secs = 10

[metrics]
listen = "{metrics}"

[state]
every_ms = 200

[start]
max_tick_age_ms = 0

[topics.market_ticks]
partitions = {tp}
retention_ms = 3600000

[topics.signals]
partitions = {sp}
retention_ms = 86400000
"#,
        service = c.service,
        bootstrap = c.bootstrap,
        consumer = consumer.join("\n"),
        redis_url = c.redis_url,
        redis_prefix = c.redis_prefix,
        plugins = dir.join("plugins").display(),
        cache = dir.join("cache").display(),
        mode = c.mode,
        metrics = c.metrics_listen,
        tp = TICK_PARTITIONS,
        sp = SIGNAL_PARTITIONS,
    )
}

/// Starts `alpha-panda run --config config` with its output in `dir/host-{run}.log`.
pub fn spawn_host(config: &Path, dir: &Path, run: u32) -> Child {
    let log = std::fs::File::create(dir.join(format!("host-{run}.log"))).expect("log");
    let mut cmd = Command::new(binary());
    cmd.args(["run", "--config"])
        .arg(config)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    alpha_panda_tests::broker::die_with_parent(&mut cmd);
    cmd.spawn().expect("spawn alpha-panda")
}

/// The last lines of the logs of runs `runs`.
pub fn log_tails(dir: &Path, runs: std::ops::RangeInclusive<u32>) -> String {
    runs.map(|i| {
        let text = std::fs::read_to_string(dir.join(format!("host-{i}.log"))).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        format!(
            "--- host-{i}.log (last lines) ---\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    })
    .collect::<Vec<_>>()
    .join("\n")
}

/// The sum of a metric's samples on `/metrics` at `port` (None: not reachable).
pub fn metric(port: u16, name: &str) -> Option<f64> {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    c.read_to_string(&mut text).ok()?;
    Some(
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum(),
    )
}
