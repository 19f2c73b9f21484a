//! `alpha-panda topics create` and `topics check` against a real broker (the test
//! binary's Kafka, or the cluster of ALPHA_PANDA_TEST_BOOTSTRAP).

use std::process::Command;
use std::time::Duration;

use alpha_panda::kafka::admin::Admin;
use alpha_panda_tests::broker::shared_bootstrap;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

fn cli(args: &[&str], config: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_alpha-panda"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run alpha-panda");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn recreate(bootstrap: &str, name: &str, partitions: i32, retention_ms: i64) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let r = retention_ms.to_string();
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1)).set("retention.ms", &r);
    for attempt in 0..50 {
        let res = admin.create_topics([&topic], &opts).await.unwrap();
        match &res[0] {
            Ok(_) => {
                let admin = Admin::connect(bootstrap).unwrap();
                return admin.await_topics(&[name], true).await.unwrap();
            }
            Err((_, code)) if attempt < 49 => {
                eprintln!("recreate {name}: {code}, retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("recreate {name}: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn create_is_idempotent_and_check_reports_exact_drift() {
    let bootstrap = shared_bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.toml");
    std::fs::write(
        &config,
        format!("broker = \"paper\"\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n"),
    )
    .unwrap();

    let (code, out, err) = cli(&["topics", "create"], &config);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cli(&["topics", "create"], &config);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("0 created, 36 already present"),
        "second create is a no-op: {out}"
    );

    let (code, out, err) = cli(&["topics", "check"], &config);
    assert_eq!(code, 0, "check after create is clean: {out}{err}");
    assert!(out.contains("36 topics match"), "{out}");

    // Make four drifts: a missing topic, a wrong partition count, a wrong
    // retention, and a state topic that is not compacted.
    let admin = Admin::connect(&bootstrap).unwrap();
    admin
        .delete(&[
            "zerodha.pnl.snapshots.dlq",
            "paper.orders.ack",
            "paper.signals.rejected",
            "zerodha.strategy.state",
        ])
        .await
        .unwrap();
    recreate(&bootstrap, "paper.orders.ack", 5, 7 * 86_400_000).await;
    recreate(&bootstrap, "paper.signals.rejected", 3, 1000).await;
    recreate(&bootstrap, "zerodha.strategy.state", 12, -1).await;

    let (code, out, err) = cli(&["topics", "check"], &config);
    assert_eq!(code, 1, "drift exits non-zero: {out}{err}");
    let mut drift: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with("drift:"))
        .map(str::to_owned)
        .collect();
    drift.sort();
    assert_eq!(
        drift,
        vec![
            "drift: paper.orders.ack: 5 partitions, registry says 3",
            "drift: paper.signals.rejected: retention.ms 1000, registry says 86400000",
            "drift: zerodha.pnl.snapshots.dlq: missing",
            "drift: zerodha.strategy.state: cleanup.policy delete, registry says compact",
        ],
        "{out}"
    );

    // A host refuses to start on a cluster that lacks one of its own topics, and
    // names each one.
    admin
        .delete(&["market.ticks.dlq", "paper.strategy.state"])
        .await
        .unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, out, _) = cli(&["topics", "check"], &config);
        if out.contains("market.ticks.dlq: missing")
            && out.contains("paper.strategy.state: missing")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "deleted topics still listed: {out}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (code, out, err) = run_until_exit(&config, Duration::from_secs(60));
    assert_eq!(code, 1, "a host missing its topics exits 1: {out}{err}");
    for needed in [
        "market.ticks.dlq",
        "paper.strategy.state",
        "missing on",
        "alpha-panda topics create",
    ] {
        assert!(err.contains(needed), "the error names {needed:?}: {err}");
    }
    let (code, out, err) = cli(&["topics", "create"], &config);
    assert_eq!(code, 0, "{out}{err}");
    for topic in ["market.ticks.dlq", "paper.strategy.state"] {
        assert!(
            out.contains(&format!("created {topic}")),
            "create puts back what was missing: {out}"
        );
    }
}

/// `alpha-panda run --config config`; killed (and the test failed) if it is
/// still running after `limit`.
fn run_until_exit(config: &std::path::Path, limit: Duration) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    alpha_panda_tests::broker::die_with_parent(&mut cmd);
    let mut child = cmd
        .args(["run", "--config"])
        .arg(config)
        .current_dir(dir.path())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("run alpha-panda");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "alpha-panda run still running after {limit:?}: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

#[test]
fn embedded_profile_is_refused_for_topics_with_usage_exit() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("embedded.toml");
    std::fs::write(&config, "broker = \"paper\"\n").unwrap();
    let (code, _, err) = cli(&["topics", "check"], &config);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("embedded"), "{err}");
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "broker = \"paper\"\n[kafka]\nbootstrap = \"x\"\n").unwrap();
    let (code, _, err) = cli(&["topics", "check"], &config);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("kafka.bootstrap"), "{err}");
}
