//! The binary as a user runs it: the embedded default (`alpha-panda run` with no
//! config) with live metrics and health, a clean stop on SIGINT, and a scaffolded
//! plugin that builds, passes `plugin check` and emits signals in `replay`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alpha_panda_tests::http::{http, http_get};

const BIN: &str = env!("CARGO_BIN_EXE_alpha-panda");

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The strategy ids of the sample plugins (`plugins/*.toml`): Rust, Python and
/// JavaScript, all run by the embedded default.
fn sample_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(root().join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let v: toml::Value = toml::from_str(&text).unwrap();
            v["strategy_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    assert!(
        ids.len() >= 6,
        "Rust, Python and JavaScript samples: {ids:?}"
    );
    ids
}

/// The compiled-code cache the tests share: a Python component takes many
/// seconds to compile, once.
fn compiled_cache() -> std::path::PathBuf {
    static WARM: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let dir = root().join("target/test-compiled");
    WARM.get_or_init(|| warm(&dir));
    dir
}

/// Compiles every sample into the cache once, before any host's clock starts: on a
/// fresh machine a debug build takes many seconds per Python or JavaScript
/// component, and two hosts compiling the same ones at once would double it.
fn warm(dir: &Path) {
    let mut config = alpha_panda::config::Config::load(None).expect("default config");
    config.plugins.cache_dir = Some(dir.to_owned());
    let engine = alpha_panda::wasm::StrategyEngine::from_config(&config.plugins).expect("engine");
    for entry in std::fs::read_dir(root().join("plugins")).expect("plugins/") {
        let path = entry.expect("plugins/ entry").path();
        if path.extension().is_some_and(|x| x == "wasm") {
            engine
                .load_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// Signals of `id` on `/metrics`, both sides.
fn signals_of(s: &[(String, f64)], id: &str) -> f64 {
    ["BUY", "SELL"]
        .iter()
        .map(|side| {
            value(
                s,
                &format!(
                    "alpha_panda_strategy_signals_total{{side=\"{side}\",strategy_id=\"{id}\"}}"
                ),
            )
        })
        .sum()
}

/// Output files for a child process: a pipe that nobody drains while the child
/// runs would block it once full.
fn log_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Stdio, Stdio) {
    std::fs::create_dir_all(dir).unwrap();
    let (out, err) = (dir.join("stdout.log"), dir.join("stderr.log"));
    let o = Stdio::from(std::fs::File::create(&out).unwrap());
    let e = Stdio::from(std::fs::File::create(&err).unwrap());
    (out, err, o, e)
}

/// `alpha-panda run` on the embedded default with `envs` on top, metrics on
/// `port`, the shared compiled cache, its output in files under `logs`. Killed
/// when the test's thread ends, passed or failed: a host left behind would run
/// its endless feed for good.
fn embedded_run(
    port: u16,
    envs: &[(&str, &str)],
    logs: &Path,
) -> (std::process::Child, std::path::PathBuf, std::path::PathBuf) {
    let (out_path, err_path, out_io, err_io) = log_files(logs);
    let mut cmd = Command::new(BIN);
    alpha_panda_tests::broker::die_with_parent(&mut cmd);
    cmd.arg("run")
        .current_dir(root())
        .env("ALPHA_PANDA__METRICS__LISTEN", format!("127.0.0.1:{port}"))
        .env("ALPHA_PANDA__PLUGINS__CACHE_DIR", compiled_cache());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.stdout(out_io).stderr(err_io).spawn().unwrap();
    (child, out_path, err_path)
}

/// Parses Prometheus text: every non-comment line is `name{labels} value`.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample line: {l}"));
            (
                name.to_owned(),
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("not a number: {l}")),
            )
        })
        .collect()
}

fn value(samples: &[(String, f64)], name: &str) -> f64 {
    samples
        .iter()
        .filter(|(n, _)| n.starts_with(name))
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn embedded_run_serves_metrics_and_stops_cleanly_on_sigint() {
    let port = alpha_panda_tests::free_port();
    let logs = tempfile::tempdir().unwrap();
    // The feed runs until the host stops: a finite feed can be drained before the
    // first /metrics read on a loaded machine, and then the counter never moves.
    let (mut child, out_path, err_path) = embedded_run(
        port,
        &[
            ("ALPHA_PANDA__FEED__COUNT", "0"),
            ("ALPHA_PANDA__FEED__RATE", "1500"),
        ],
        logs.path(),
    );
    let started = Instant::now();
    let mut ready = false;
    let mut first: Option<f64> = None;
    let mut moved = false;
    let mut both = false;
    let mut committed = false;
    let mut observed_latency = false;
    while started.elapsed() < Duration::from_secs(120)
        && !(ready && moved && both && committed && observed_latency)
    {
        std::thread::sleep(Duration::from_millis(300));
        if let Some((code, _)) = http_get(port, "/health") {
            ready |= code == 200;
        }
        let Some((200, text)) = http_get(port, "/metrics") else {
            continue;
        };
        let s = samples(&text);
        let ticks = value(&s, "alpha_panda_ticks_consumed_total");
        match first {
            None if ticks > 0.0 => first = Some(ticks),
            Some(f) if ticks > f => moved = true,
            _ => {}
        }
        both = signals_of(&s, "momentum_1") > 0.0 && signals_of(&s, "mean_reversion_1") > 0.0;
        committed = value(&s, "alpha_panda_commit_seconds_count") > 0.0;
        // A signal's latency is observed once its batch is acknowledged, which can
        // be a batch after the one that first counted it.
        observed_latency = value(
            &s,
            "alpha_panda_tick_to_signal_seconds_count{strategy_id=\"momentum_1\"}",
        ) > 0.0;
    }
    let (_, text) = http_get(port, "/metrics").unwrap_or_default();
    let s = samples(&text);
    let samples_n = sample_ids().len() as f64;
    assert_eq!(value(&s, "alpha_panda_plugins_loaded"), samples_n, "{text}");
    assert_eq!(
        value(&s, "alpha_panda_plugin_loads_total"),
        samples_n,
        "{text}"
    );
    assert!(
        value(
            &s,
            "alpha_panda_plugin_call_seconds_count{strategy_id=\"momentum_1\"}"
        ) > 0.0,
        "{text}"
    );
    assert!(
        value(&s, "alpha_panda_commit_seconds_count") > 0.0,
        "{text}"
    );
    // The in-host time's parts: each batch prepared once (at least one batch
    // per commit observation), each call taken back once.
    let prepared = value(&s, "alpha_panda_batch_prepare_seconds_count");
    assert!(
        prepared >= value(&s, "alpha_panda_commit_seconds_count") && prepared > 0.0,
        "{text}"
    );
    assert!(
        value(&s, "alpha_panda_call_pickup_seconds_count")
            >= value(
                &s,
                "alpha_panda_plugin_call_seconds_count{strategy_id=\"momentum_1\"}"
            ),
        "{text}"
    );
    // One latency observation per signal once acknowledged (a batch may be in flight).
    let observed = value(
        &s,
        "alpha_panda_tick_to_signal_seconds_count{strategy_id=\"momentum_1\"}",
    );
    assert!(
        observed > 0.0 && observed <= signals_of(&s, "momentum_1"),
        "{text}"
    );
    let released = http(port, "POST", "/plugins/momentum_1/release").map(|r| r.0);
    assert_eq!(released, Some(202), "operators can lift a quarantine");
    assert_eq!(http(port, "GET", "/nowhere").map(|r| r.0), Some(404));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "did not stop within 30 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = std::fs::read_to_string(&out_path).unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(ready, "/health never turned ready\n{err}");
    assert!(moved, "tick counter did not move\n{err}");
    assert!(both, "both sample strategies signal\n{out}\n{err}");
    assert_eq!(status.code(), Some(0), "clean exit on SIGINT\n{err}");
    assert!(
        out.contains("momentum_1") && out.contains("mean_reversion_1"),
        "{out}"
    );
    assert!(err.contains("stopped cleanly"), "{err}");
    // The endpoint is up before the plugins compile (a cold start of many takes a
    // while), the feed after them: while they compile it would only pile up ticks.
    let serving = err.find("serving /metrics");
    let loaded = err.find("plugin loaded");
    let feed = err.find("paper feed started");
    assert!(
        matches!((serving, loaded, feed), (Some(s), Some(l), Some(f)) if s < l && l < f),
        "{err}"
    );
}

#[test]
fn embedded_run_with_a_tick_count_signals_from_every_sample_strategy() {
    const COUNT: f64 = 3000.0;
    let port = alpha_panda_tests::free_port();
    let logs = tempfile::tempdir().unwrap();
    let count = COUNT.to_string();
    let (mut child, out_path, err_path) = embedded_run(
        port,
        &[
            ("ALPHA_PANDA__FEED__COUNT", &count),
            ("ALPHA_PANDA__FEED__RATE", "0"),
        ],
        logs.path(),
    );
    let logs = || {
        std::fs::read_to_string(&out_path).unwrap() + &std::fs::read_to_string(&err_path).unwrap()
    };
    // Every tick of the feed is consumed, and then no more come.
    let started = Instant::now();
    let mut text = String::new();
    while started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(300));
        if let Some((200, t)) = http_get(port, "/metrics") {
            text = t;
            if value(&samples(&text), "alpha_panda_ticks_consumed_total") >= COUNT {
                break;
            }
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let (_, text) = http_get(port, "/metrics").unwrap_or((0, text));
    let s = samples(&text);
    assert_eq!(
        value(&s, "alpha_panda_ticks_consumed_total"),
        COUNT,
        "{text}\n{}",
        logs()
    );
    let ids = sample_ids();
    for id in &ids {
        assert!(signals_of(&s, id) > 0.0, "{id} signals\n{text}");
    }

    let status = stop(&mut child);
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert_eq!(status.code(), Some(0), "clean exit on SIGINT\n{}", logs());
    assert!(
        out.contains(&format!("alpha-panda stopped: {COUNT} ticks")),
        "{out}"
    );
    for id in &ids {
        assert!(
            out.contains(&format!("  {id} ")),
            "{id} in the summary\n{out}"
        );
    }
}

/// Waits for `child` to exit, at most 30 s after SIGINT.
fn stop(child: &mut std::process::Child) -> std::process::ExitStatus {
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "did not stop within 30 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits up to 60 s for `/health` to answer `code`.
fn wait_health(port: u16, code: u16, what: &str, logs: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut health = None;
    while Instant::now() < deadline && health != Some(code) {
        std::thread::sleep(Duration::from_millis(300));
        health = http_get(port, "/health").map(|r| r.0);
    }
    assert_eq!(health, Some(code), "{what}\n{}", logs());
}

/// Copies a file in atomically, as an operator's deploy would.
fn install(src: &Path, dest: &Path) {
    let tmp = dest.with_file_name(format!(
        ".{}.tmp",
        dest.file_name().unwrap().to_string_lossy()
    ));
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, dest).unwrap();
}

#[test]
fn a_refused_plugin_keeps_health_not_ready_while_metrics_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for file in ["momentum.toml", "momentum.wasm", "mean_reversion.toml"] {
        std::fs::copy(root().join("plugins").join(file), plugins.join(file)).unwrap();
    }
    // mean_reversion is configured for this namespace, but its component is garbage.
    std::fs::write(
        plugins.join("mean_reversion.wasm"),
        b"\0asm not a component",
    )
    .unwrap();
    let port = alpha_panda_tests::free_port();
    let plugins_dir = plugins.display().to_string();
    let (mut child, out_path, err_path) = embedded_run(
        port,
        &[
            ("ALPHA_PANDA__PLUGINS__DIR", &plugins_dir),
            ("ALPHA_PANDA__LOG__FORMAT", "json"),
            ("ALPHA_PANDA__FEED__COUNT", "0"),
            ("ALPHA_PANDA__FEED__RATE", "500"),
        ],
        &tmp.path().join("logs"),
    );
    let logs = || {
        std::fs::read_to_string(&out_path).unwrap() + &std::fs::read_to_string(&err_path).unwrap()
    };

    // Serving: partitions assigned, ticks consumed, momentum loaded, the other refused.
    let started = Instant::now();
    let mut serving = String::new();
    while started.elapsed() < Duration::from_secs(120) && serving.is_empty() {
        std::thread::sleep(Duration::from_millis(300));
        let Some((200, text)) = http_get(port, "/metrics") else {
            continue;
        };
        let s = samples(&text);
        if value(&s, "alpha_panda_assigned_partitions") > 0.0
            && value(&s, "alpha_panda_ticks_consumed_total") > 0.0
            && value(&s, "alpha_panda_plugins_loaded") == 1.0
            && value(&s, "alpha_panda_plugin_refusals_total") >= 1.0
        {
            serving = text;
        }
    }
    assert!(!serving.is_empty(), "the host never served\n{}", logs());
    for _ in 0..5 {
        let health = http_get(port, "/health");
        assert_eq!(
            health,
            Some((503, "not ready\n".to_owned())),
            "a configured plugin is not loaded\n{serving}"
        );
        let metrics = http_get(port, "/metrics").map(|r| r.0);
        assert_eq!(metrics, Some(200), "/metrics serves while not ready");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Removing the refused plugin brings no plugin update: the host finds it ready
    // by looking again.
    for file in ["mean_reversion.toml", "mean_reversion.wasm"] {
        std::fs::remove_file(plugins.join(file)).unwrap();
    }
    wait_health(port, 200, "ready once the refused plugin is gone", &logs);
    // A broken component again: not ready.
    std::fs::copy(
        root().join("plugins/mean_reversion.toml"),
        plugins.join("mean_reversion.toml"),
    )
    .unwrap();
    std::fs::write(plugins.join("mean_reversion.wasm"), b"\0asm still not").unwrap();
    wait_health(port, 503, "a refusal turns it not ready", &logs);
    // Deploying a good component turns it ready.
    install(
        &root().join("plugins/mean_reversion.wasm"),
        &plugins.join("mean_reversion.wasm"),
    );
    wait_health(port, 200, "ready once the plugin loads", &logs);
    let (_, text) = http_get(port, "/metrics").unwrap_or_default();
    assert_eq!(
        value(&samples(&text), "alpha_panda_plugins_loaded"),
        2.0,
        "{text}"
    );

    let status = stop(&mut child);
    assert_eq!(status.code(), Some(0), "clean exit on SIGINT\n{}", logs());
    // `log.format = "json"`: every line one object, the event's fields in it.
    let err = std::fs::read_to_string(&err_path).unwrap();
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|v| v["level"].is_string() && v["timestamp"].is_string()),
        "{err}"
    );
    assert!(
        lines.iter().any(|v| v["fields"]["event"] == "refusal"
            && v["fields"]["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())),
        "a refusal line carries its event and reason: {err}"
    );
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn scaffolded_plugin_builds_checks_and_replays() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    let krate = plugins.join("breakout");
    run(Command::new(BIN)
        .args(["plugin", "new", "breakout", "--dir"])
        .arg(&krate));
    let target = root().join("target/scaffold");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Its unit test runs under plain `cargo test`.
    run(Command::new(&cargo)
        .args(["test", "-q"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target));
    run(Command::new(&cargo)
        .args(["build", "-q", "--release", "--target", "wasm32-wasip2"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target));
    let wasm = plugins.join("breakout.wasm");
    std::fs::copy(target.join("wasm32-wasip2/release/breakout.wasm"), &wasm).unwrap();
    let check = run(Command::new(BIN).args(["plugin", "check"]).arg(&wasm));
    assert!(
        check.contains("ok:") && check.contains("breakout_1") && check.contains(" in rust "),
        "{check}"
    );

    let ticks = tmp.path().join("ticks.csv");
    let mut csv = String::from("instrument_token,timestamp,last_price\n");
    for (i, p) in ["100", "100.5", "102", "103", "98.9", "97.5"]
        .iter()
        .enumerate()
    {
        csv.push_str(&format!("738561,2025-08-29T04:45:0{i}Z,{p}\n"));
    }
    std::fs::write(&ticks, csv).unwrap();
    let config = tmp.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "broker = \"paper\"\n[plugins]\ndir = \"{}\"\n",
            plugins.display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("signals.jsonl");
    run(Command::new(BIN)
        .args(["replay", "--ticks"])
        .arg(&ticks)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&out));
    let signals: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sides: Vec<&str> = signals
        .iter()
        .map(|s| s["data"]["signal_type"].as_str().unwrap())
        .collect();
    // +2%, +3% over the first price buy; -1.1%, -2.5% sell.
    assert_eq!(sides, vec!["BUY", "BUY", "SELL", "SELL"]);
    assert!(signals
        .iter()
        .all(|s| s["data"]["strategy_id"] == "breakout_1"));
}

#[test]
fn secrets_never_reach_logs_errors_or_metrics() {
    const SECRET: &str = "pa55-Secret-4f1c9e";
    // Everything of ours at debug; the compiler's debug output would only slow it down.
    const DEBUG_LOGS: &str = "info,alpha_panda=debug";
    let bootstrap = alpha_panda_tests::broker::shared_bootstrap();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("sasl.toml");
    std::fs::write(
        &config,
        format!(
            "broker = \"paper\"\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n[kafka.security]\nprotocol = \"sasl_plaintext\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"svc\"\n[kafka.consumer]\n\"statistics.interval.ms\" = \"500\"\n"
        ),
    )
    .unwrap();
    let redis_url = format!(
        "redis://:{SECRET}@127.0.0.1:{}/0",
        alpha_panda_tests::free_port()
    );
    // A command that fails: the error must not carry the secret.
    let out = Command::new(BIN)
        .args(["topics", "check", "--config"])
        .arg(&config)
        .env("ALPHA_PANDA__KAFKA__SECURITY__SASL_PASSWORD", SECRET)
        .env("RUST_LOG", DEBUG_LOGS)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "a SASL client against a plaintext broker fails: {text}"
    );
    assert!(!text.contains(SECRET), "{text}");

    // A running host with debug logs and metrics, its samples from the tests'
    // compiled cache (compiling them cold on a busy machine took minutes).
    let port = alpha_panda_tests::free_port();
    let (out_path, err_path, out_io, err_io) = log_files(&tmp.path().join("logs"));
    let mut cmd = Command::new(BIN);
    alpha_panda_tests::broker::die_with_parent(&mut cmd);
    let mut child = cmd
        .args(["run", "--config"])
        .arg(&config)
        .current_dir(root())
        .env("ALPHA_PANDA__KAFKA__SECURITY__SASL_PASSWORD", SECRET)
        .env("ALPHA_PANDA__REDIS__URL", &redis_url)
        .env("ALPHA_PANDA__METRICS__LISTEN", format!("127.0.0.1:{port}"))
        .env("ALPHA_PANDA__PLUGINS__CACHE_DIR", compiled_cache())
        .env("RUST_LOG", DEBUG_LOGS)
        .stdout(out_io)
        .stderr(err_io)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut metrics: Option<String> = None;
    // Until the samples are loaded: the host is past its start and its clients run.
    let samples_n = sample_ids().len() as f64;
    let loaded = |m: &Option<String>| {
        m.as_deref()
            .is_some_and(|t| value(&samples(t), "alpha_panda_plugins_loaded") == samples_n)
    };
    while started.elapsed() < Duration::from_secs(120) && !loaded(&metrics) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        metrics = http_get(port, "/metrics").map(|r| r.1);
    }
    std::thread::sleep(Duration::from_secs(2));
    let health = http_get(port, "/health").map(|r| r.1).unwrap_or_default();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs =
        std::fs::read_to_string(&out_path).unwrap() + &std::fs::read_to_string(&err_path).unwrap();
    assert!(loaded(&metrics), "the samples never loaded:\n{logs}");
    let metrics = metrics.unwrap_or_default();
    assert!(!logs.is_empty());
    for (what, text) in [("logs", &logs), ("metrics", &metrics), ("health", &health)] {
        assert!(
            !text.contains(SECRET),
            "the secret leaked into {what}:\n{text}"
        );
    }
}

/// `compat.python_monitoring`: the Redis keys the Python monitor reads and the
/// `trading_*` metrics, read back from a real Redis and from `/metrics`.
#[test]
fn the_python_monitor_reads_its_keys_and_metrics() {
    // Database 9 of the test Redis: no other test writes these keys there.
    let redis_url = "redis://127.0.0.1:6379/9";
    let client = redis::Client::open(redis_url).unwrap();
    let mut r = client
        .get_connection()
        .expect("Redis (the test command's set-up starts it)");
    let count_key = "pipeline:signals:paper:count";
    let before: i64 = redis::cmd("GET")
        .arg(count_key)
        .query::<Option<i64>>(&mut r)
        .unwrap()
        .unwrap_or(0);
    let port = alpha_panda_tests::free_port();
    let logs = tempfile::tempdir().unwrap();
    let (mut child, out_path, err_path) = embedded_run(
        port,
        &[
            ("ALPHA_PANDA__COMPAT__PYTHON_MONITORING", "true"),
            ("ALPHA_PANDA__REDIS__URL", redis_url),
            ("ALPHA_PANDA__FEED__COUNT", "0"),
            ("ALPHA_PANDA__FEED__RATE", "1500"),
        ],
        logs.path(),
    );
    let logs = || {
        std::fs::read_to_string(&out_path).unwrap() + &std::fs::read_to_string(&err_path).unwrap()
    };
    let samples_n = sample_ids().len() as i64;
    let get = |r: &mut redis::Connection, key: &str| -> Option<String> {
        redis::cmd("GET").arg(key).query(r).unwrap()
    };
    // The heartbeat (every 15 s) counts the strategies once they are loaded.
    let started = Instant::now();
    let mut text = String::new();
    let mut done = false;
    while started.elapsed() < Duration::from_secs(150) && !done {
        std::thread::sleep(Duration::from_millis(300));
        let Some((200, t)) = http_get(port, "/metrics") else {
            continue;
        };
        text = t;
        let strategies = get(&mut r, "pipeline:strategies:paper:count");
        done = value(&samples(&text), "trading_signals_generated_total") > 0.0
            && get(&mut r, "pipeline:signals:paper:last").is_some()
            && strategies.as_deref() == Some(samples_n.to_string().as_str());
    }
    assert!(done, "keys and metrics written\n{text}\n{}", logs());
    let s = samples(&text);
    assert!(value(&s, "trading_events_processed_total{broker=\"paper\",event_type=\"trading_signal\",service=\"strategy_runner\"}") > 0.0, "{text}");
    assert_eq!(
        value(
            &s,
            "trading_pipeline_stage_healthy{broker=\"paper\",stage=\"strategy_runner\"}"
        ),
        1.0,
        "{text}"
    );
    assert!(
        value(&s, "trading_last_activity_timestamp_unix{broker=\"paper\",service=\"strategy_runner\",stage=\"heartbeat\"}") > 1.7e9,
        "{text}"
    );
    assert!(
        text.contains("trading_last_activity_timestamp_unix{broker=\"shared\",service=\"strategy_runner\",stage=\"process_tick\"}"),
        "{text}"
    );
    // `:last`: JSON with a naive-UTC timestamp and the signal's fields, 300 s TTL.
    let last = get(&mut r, "pipeline:signals:paper:last").unwrap();
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    let ts = v["timestamp"].as_str().unwrap();
    assert!(!ts.ends_with('Z') && !ts.contains('+'), "naive: {ts}");
    assert!(
        ["BUY", "SELL"].contains(&v["signal_type"].as_str().unwrap()),
        "{v}"
    );
    let id = v["strategy_id"].as_str().unwrap();
    assert_eq!(
        v["signal_id"].as_str().unwrap(),
        format!("{id}_{}", v["instrument_token"]),
        "{v}"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg("pipeline:signals:paper:last")
        .query(&mut r)
        .unwrap();
    assert!((1..=300).contains(&ttl), "ttl {ttl}");
    let after: i64 = get(&mut r, count_key).unwrap().parse().unwrap();
    assert!(after > before, "the count grows: {before} -> {after}");
    let per_strategy: Option<String> = get(
        &mut r,
        &format!("pipeline:strategies.{id}.signals:paper:count"),
    );
    assert!(per_strategy.is_some_and(|n| n.parse::<i64>().unwrap() > 0));
    let status = stop(&mut child);
    assert_eq!(status.code(), Some(0), "clean exit on SIGINT\n{}", logs());
}
