//! Exactly-once on a broker without transactions: the host must refuse loudly.
//! (The SIGKILL runs of both delivery modes are in `crash_safety.rs`.)
//!
//! This needs a broker with Kafka transactions. tansu 0.6.0 (the default test
//! broker) advertises InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn and
//! TxnOffsetCommit but not EndTxn (API key 26): its storage layer has `txn_end`,
//! yet `tansu-broker` 0.6.0 routes no EndTxn request to it, so no transaction can
//! ever be committed or aborted and librdkafka's `commit_transaction` fails with
//! "EndTxnRequest (KIP-98) not supported by broker". Each test asks the broker
//! which APIs it has: on tansu this test checks that the host fails loudly and leaks
//! nothing uncommitted; against Redpanda (`ALPHA_PANDA_TEST_BOOTSTRAP=host:port`)
//! the exactly-once kill runs of `crash_safety.rs` take over.

mod pipeline_support;

use std::time::{Duration, Instant};

use alpha_panda_tests::broker::shared_bootstrap;
use pipeline_support::child::{api_keys, config_toml, log_tails, spawn_host, ChildConfig, END_TXN};
use pipeline_support::*;

/// On a broker without EndTxn (tansu 0.6.0) exactly-once cannot work: the host
/// must say so and stop, and nothing it wrote may reach read_committed readers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_end_txn_the_host_fails_loudly_and_leaks_nothing() {
    let bootstrap = shared_bootstrap();
    let keys = api_keys(&bootstrap);
    if keys.contains(&END_TXN) {
        eprintln!("the broker supports EndTxn: crash_safety.rs runs the exactly-once kills");
        return;
    }
    assert!(
        keys.contains(&22) && keys.contains(&24),
        "tansu advertises InitProducerId and AddPartitionsToTxn: {keys:?}"
    );
    let dir = temp();
    let sid = name("eos_no_txn");
    let tokens = [token()];
    counter_plugin(
        &dir.path().join("plugins"),
        "counter",
        &sid,
        &["paper"],
        &tokens,
        1,
    );
    let path = dir.path().join("host.toml");
    std::fs::write(
        &path,
        config_toml(
            &ChildConfig {
                bootstrap: &bootstrap,
                service: &name("svc_eos_no_txn"),
                mode: "exactly_once",
                redis_url: "",
                redis_prefix: "unused",
                metrics_listen: "",
            },
            dir.path(),
        ),
    )
    .expect("config");
    let config = alpha_panda::config::Config::load(Some(&path)).expect("config parses");
    ensure_topics(&bootstrap, &config).await;
    let p = producer(&bootstrap);
    let mut ticks = Ticks::new(21);
    for _ in 0..5 {
        send_tick(&p, &ticks.next(tokens[0])).await;
    }
    let mut child = spawn_host(&path, dir.path(), 1);
    let until = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < until,
            "the host kept running without transactions\n{}",
            log_tails(dir.path(), 1..=1)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let log = log_tails(dir.path(), 1..=1);
    assert_eq!(status.code(), Some(1), "exit code\n{log}");
    assert!(log.contains("EndTxn"), "the error names EndTxn\n{log}");

    let mut committed = Reader::new(&bootstrap, &["paper.signals.raw"], true);
    let mut raw = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    committed.pump(Duration::from_secs(2)).await;
    raw.pump(Duration::from_secs(1)).await;
    let (c, u) = (
        signals_of(&committed.records, &sid).len(),
        signals_of(&raw.records, &sid).len(),
    );
    eprintln!("never-committed transaction: read_committed sees {c} signals, read_uncommitted {u}");
    assert_eq!(c, 0, "read_committed readers see no uncommitted signal");
}
