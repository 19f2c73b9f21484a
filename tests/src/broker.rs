//! A real Kafka broker for tests: one Apache Kafka (KRaft) per test binary,
//! started on first use by the rig (`alpha-panda-rig`) and stopped when the test
//! process exits, a private one for a test that stops or kills its broker, or
//! the external cluster named by `ALPHA_PANDA_TEST_BOOTSTRAP` (a real Redpanda).

use std::process::Command;
use std::sync::{Mutex, OnceLock};

use alpha_panda_rig::{KafkaBroker, KafkaDist};

/// Environment variable naming an external cluster to test against.
pub const EXTERNAL_BOOTSTRAP: &str = "ALPHA_PANDA_TEST_BOOTSTRAP";

/// Consumer settings that keep group joins short (Kafka's default session and
/// poll timeouts make a rejoin after a member's death take 45 s or more).
pub const FAST_GROUP_SETTINGS: &[(&str, &str)] = &[
    ("session.timeout.ms", "6000"),
    ("max.poll.interval.ms", "10000"),
    ("heartbeat.interval.ms", "1000"),
    ("fetch.wait.max.ms", "10"),
];

/// Starts a broker this test owns (to stop, kill or restart it), whatever
/// `ALPHA_PANDA_TEST_BOOTSTRAP` says; panics with the fix when Kafka is not installed.
pub fn start_private() -> KafkaBroker {
    let dist = KafkaDist::locate().unwrap_or_else(|e| panic!("{e}"));
    KafkaBroker::start(&dist).unwrap_or_else(|e| panic!("cannot start a Kafka broker: {e}"))
}

/// The broker shared by every test of this test binary: the external cluster when
/// `ALPHA_PANDA_TEST_BOOTSTRAP` is set, else one Kafka started on first use and
/// stopped (its folder removed) when the test process exits.
pub fn shared_bootstrap() -> String {
    if let Ok(external) = std::env::var(EXTERNAL_BOOTSTRAP) {
        if !external.trim().is_empty() {
            return external;
        }
    }
    static SHARED: OnceLock<String> = OnceLock::new();
    static OWNED: Mutex<Option<KafkaBroker>> = Mutex::new(None);
    extern "C" fn stop_shared() {
        if let Some(b) = OWNED.lock().ok().and_then(|mut b| b.take()) {
            drop(b);
        }
    }
    SHARED
        .get_or_init(|| {
            // Started by a thread that lives as long as the process, so the
            // broker's parent-death signal fires only when the process ends; the
            // exit handler kills it first and removes its folder.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("kafka-keeper".into())
                .spawn(move || {
                    let broker = start_private();
                    let _ = tx.send(broker.bootstrap());
                    if let Ok(mut owned) = OWNED.lock() {
                        *owned = Some(broker);
                    }
                    // SAFETY: `stop_shared` is a plain function run once at exit.
                    unsafe {
                        libc::atexit(stop_shared);
                    }
                    loop {
                        std::thread::park();
                    }
                })
                .expect("keeper thread");
            rx.recv().expect("the shared Kafka broker did not start")
        })
        .clone()
}

/// True when tests run against an external cluster.
pub fn is_external() -> bool {
    std::env::var(EXTERNAL_BOOTSTRAP).is_ok_and(|v| !v.trim().is_empty())
}

/// Makes the child die with the thread that spawned it.
pub fn die_with_parent(cmd: &mut Command) {
    alpha_panda_rig::die_with_parent(cmd);
}
