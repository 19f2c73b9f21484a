//! Hot reload through the plugin folder while ticks flow: every tick reaches
//! exactly one version, state carries over, broken or half-written files never load,
//! deleting stops a strategy at a tick boundary and re-adding starts it fresh.

mod common;

use std::time::{Duration, Instant};

use alpha_panda::contract::{BrokerNamespace, MarketTick};
use alpha_panda::registry::watcher::PluginWatcher;
use alpha_panda::strategy::PluginUpdate;
use alpha_panda::strategy::{
    EventKind, Lifecycle, LiveStrategies, SetOutput, SlotConfig, StrategySet,
};
use alpha_panda_tests::paths;
use common::*;

const TOKEN: u32 = 408065;
const DEBOUNCE: Duration = Duration::from_millis(40);

struct Rig {
    dir: tempfile::TempDir,
    live: LiveStrategies,
    watcher: PluginWatcher,
    next_tick: i64,
    signals: Vec<SetOutput>,
    events: Vec<Lifecycle>,
}

fn manifest(version: i64) -> String {
    hostile_manifest(
        "counter_1",
        "counter",
        -1,
        &[TOKEN],
        &format!("version = {version}\n"),
    )
}

impl Rig {
    fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(paths::test_wasm("hostile"), dir.path().join("counter.wasm")).unwrap();
        std::fs::write(dir.path().join("counter.toml"), manifest(0)).unwrap();
        // A compiled cache, as in production: a reload of the same code does not recompile.
        let engine = engine_cached(&dir.path().join(".cache"));
        let (initial, watcher) =
            PluginWatcher::start(dir.path(), engine.clone(), DEBOUNCE).unwrap();
        let mut live = LiveStrategies::new(
            StrategySet::new(engine, SlotConfig::default()),
            BrokerNamespace::Paper,
        );
        let mut events = Vec::new();
        for u in initial {
            events.extend(live.apply(u));
        }
        Rig {
            dir,
            live,
            watcher,
            next_tick: 0,
            signals: Vec::new(),
            events,
        }
    }

    /// Feeds a batch of `n` ticks, applying pending updates first (a tick boundary).
    fn feed(&mut self, n: usize) {
        while let Some(u) = self.watcher.try_recv() {
            self.events.extend(self.live.apply(u));
        }
        let ticks: Vec<MarketTick> = (0..n)
            .map(|k| tick(TOKEN, "1500.25", self.next_tick + k as i64))
            .collect();
        self.next_tick += n as i64;
        let refs: Vec<&MarketTick> = ticks.iter().collect();
        self.signals.extend(self.live.process(&refs).signals);
    }

    /// Feeds ticks until `done` holds for the events, or panics after 20 s.
    fn feed_until(&mut self, what: &str, done: impl Fn(&[Lifecycle]) -> bool) {
        let started = Instant::now();
        while !done(&self.events) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}: {:?}",
                self.events
            );
            self.feed(5);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn meta(&self, i: usize, key: &str) -> i64 {
        self.signals[i]
            .signal
            .metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.parse().unwrap())
            .unwrap()
    }
}

fn reloads(events: &[Lifecycle]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Lifecycle::Reloaded { .. }))
        .count()
}

#[test]
fn fifty_reloads_under_a_tick_stream_lose_nothing() {
    let mut rig = Rig::new();
    assert!(
        matches!(rig.events[..], [Lifecycle::Loaded { .. }]),
        "{:?}",
        rig.events
    );
    rig.feed(10);
    for version in 1..=50 {
        write_atomic(
            &rig.dir.path().join("counter.toml"),
            manifest(version).as_bytes(),
        );
        rig.feed_until("reload", |e| reloads(e) == version as usize);
    }
    rig.feed(10);
    let n = rig.next_tick as usize;
    assert_eq!(
        rig.signals.len(),
        n,
        "one signal per tick: none lost, none doubled"
    );
    let mut last_version = 0;
    for i in 0..n {
        assert_eq!(
            rig.meta(i, "count"),
            i as i64 + 1,
            "state carried across every swap (tick {i})"
        );
        let v = rig.meta(i, "version");
        assert!(v >= last_version, "versions only move forward");
        last_version = v;
    }
    assert_eq!(last_version, 50);
    assert!(
        rig.events
            .iter()
            .all(|e| !matches!(e, Lifecycle::Refused { .. })),
        "{:?}",
        rig.events
    );
    let sha = std::fs::read(paths::test_wasm("hostile")).map(|b| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b))
    });
    assert!(rig
        .signals
        .iter()
        .all(|s| Ok(s.sha256.clone()) == sha.as_ref().map(|h| h.clone()).map_err(|_| ())));
}

#[test]
fn broken_replacement_keeps_the_old_version() {
    let mut rig = Rig::new();
    rig.feed(20);
    write_atomic(
        &rig.dir.path().join("counter.wasm"),
        b"\0asm\x0d\0\x01\0garbage",
    );
    rig.feed_until("refusal", |e| {
        e.iter().any(|x| matches!(x, Lifecycle::Refused { .. }))
    });
    rig.feed(20);
    let n = rig.next_tick as usize;
    assert_eq!(rig.signals.len(), n);
    assert_eq!(
        rig.meta(n - 1, "count"),
        n as i64,
        "the old version kept counting"
    );
    match rig
        .events
        .iter()
        .find(|e| matches!(e, Lifecycle::Refused { .. }))
    {
        Some(Lifecycle::Refused { reason, .. }) => assert!(reason.contains("compile"), "{reason}"),
        _ => unreachable!(),
    }
}

#[test]
fn a_file_written_in_three_slow_chunks_loads_once_whole() {
    let mut rig = Rig::new();
    rig.feed(5);
    let bytes = std::fs::read(paths::test_wasm("hostile")).unwrap();
    // A different version: same code, the new manifest lands first.
    std::fs::write(
        rig.dir.path().join("second.toml"),
        hostile_manifest("second_1", "counter", -1, &[TOKEN], ""),
    )
    .unwrap();
    let path = rig.dir.path().join("second.wasm");
    let third = bytes.len() / 3;
    for (i, part) in [
        &bytes[..third],
        &bytes[third..2 * third],
        &bytes[2 * third..],
    ]
    .iter()
    .enumerate()
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(part).unwrap();
        f.sync_all().unwrap();
        if i < 2 {
            let until = Instant::now() + Duration::from_millis(300);
            while Instant::now() < until {
                rig.feed(2);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    rig.feed_until("the second plugin", |e| {
        e.iter().any(
            |x| matches!(x, Lifecycle::Loaded { strategy_id, .. } if strategy_id == "second_1"),
        )
    });
    // Give a late duplicate event the chance to show up.
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        rig.feed(2);
        std::thread::sleep(Duration::from_millis(20));
    }
    let loads = rig
        .events
        .iter()
        .filter(|e| matches!(e, Lifecycle::Loaded { strategy_id, .. } if strategy_id == "second_1"))
        .count();
    assert_eq!(loads, 1, "{:?}", rig.events);
    assert!(
        rig.events
            .iter()
            .all(|e| !matches!(e, Lifecycle::Refused { .. })),
        "half files are never reported: {:?}",
        rig.events
    );
}

#[test]
fn delete_stops_at_a_tick_boundary_and_readd_starts_fresh() {
    let mut rig = Rig::new();
    rig.feed(30);
    std::fs::remove_file(rig.dir.path().join("counter.wasm")).unwrap();
    rig.feed_until("unload", |e| {
        e.iter().any(|x| matches!(x, Lifecycle::Unloaded { .. }))
    });
    let at_unload = rig.signals.len();
    rig.feed(30);
    assert_eq!(rig.signals.len(), at_unload, "no signal after the unload");
    // Everything before the unload was answered, in order.
    for i in 0..at_unload {
        assert_eq!(rig.meta(i, "count"), i as i64 + 1);
    }
    write_atomic(
        &rig.dir.path().join("counter.wasm"),
        &std::fs::read(paths::test_wasm("hostile")).unwrap(),
    );
    rig.feed_until("reload", |e| {
        e.iter()
            .filter(|x| matches!(x, Lifecycle::Loaded { .. }))
            .count()
            == 2
    });
    rig.feed(3);
    assert!(rig.signals.len() > at_unload);
    assert_eq!(rig.meta(at_unload, "count"), 1, "re-added, it starts fresh");
}

#[test]
fn plugin_updates_are_sent_for_removed_files_only_once() {
    let rig = Rig::new();
    std::fs::remove_file(rig.dir.path().join("counter.wasm")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut removes = 0;
    while Instant::now() < deadline && removes == 0 {
        if let Some(PluginUpdate::Remove { name }) =
            rig.watcher.recv_timeout(Duration::from_millis(100))
        {
            assert_eq!(name, "counter");
            removes += 1;
        }
    }
    assert_eq!(removes, 1);
    assert!(rig
        .watcher
        .recv_timeout(Duration::from_millis(500))
        .is_none());
}

/// The watcher's own reads of a plugin must not count as changes: a change is
/// applied only after the debounce, also after the first one (regression: `Access`
/// events from fingerprinting kept the debouncer flushing early).
#[test]
fn the_debounce_holds_after_the_first_change() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(paths::test_wasm("hostile"), dir.path().join("counter.wasm")).unwrap();
    std::fs::write(dir.path().join("counter.toml"), manifest(0)).unwrap();
    let engine = engine_cached(&dir.path().join(".cache"));
    let debounce = Duration::from_millis(400);
    let (_, watcher) = PluginWatcher::start(dir.path(), engine, debounce).unwrap();
    for version in 1..=3 {
        let written = Instant::now();
        write_atomic(
            &dir.path().join("counter.toml"),
            manifest(version).as_bytes(),
        );
        let update = watcher.recv_timeout(Duration::from_secs(20));
        let took = written.elapsed();
        assert!(
            matches!(update, Some(PluginUpdate::Load { .. })),
            "change {version}: {update:?}"
        );
        // Scheduling can only make it later, never earlier.
        assert!(
            took >= debounce * 3 / 4,
            "change {version} applied after {took:?}, before the {debounce:?} debounce"
        );
        // Idle: no update without a change.
        assert!(watcher.recv_timeout(Duration::from_millis(600)).is_none());
    }
}

#[test]
fn a_new_file_lifts_a_quarantine() {
    let mut rig = Rig::new();
    rig.feed(5);
    let toml = rig.dir.path().join("counter.toml");
    // A version that panics on every tick: five faults quarantine it.
    write_atomic(
        &toml,
        hostile_manifest("counter_1", "panic", -1, &[TOKEN], "version = 1\n").as_bytes(),
    );
    rig.feed_until("the panicking version", |e| reloads(e) == 1);
    let started = Instant::now();
    while !rig
        .live
        .local()
        .unwrap()
        .get("counter_1")
        .unwrap()
        .is_quarantined()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never quarantined"
        );
        rig.feed(5);
    }
    let at_quarantine = rig.signals.len();
    rig.feed(10);
    assert_eq!(rig.signals.len(), at_quarantine, "quarantined: no ticks");

    write_atomic(&toml, manifest(2).as_bytes());
    rig.feed_until("the fixed version", |e| reloads(e) == 2);
    assert!(!rig
        .live
        .local()
        .unwrap()
        .get("counter_1")
        .unwrap()
        .is_quarantined());
    rig.feed(5);
    assert!(
        rig.signals.len() >= at_quarantine + 5,
        "it gets ticks again"
    );
    assert!(rig.signals[at_quarantine..]
        .iter()
        .all(|s| s.signal.metadata.contains(&("version".into(), "2".into()))));
    let events = rig.live.local().unwrap().events();
    assert_eq!(events.get("counter_1", EventKind::Quarantine), 1);
    assert_eq!(events.get("counter_1", EventKind::Release), 1);
    assert_eq!(events.get("counter_1", EventKind::Reload), 2);
}

#[test]
fn a_rename_whose_new_strategy_cannot_start_keeps_the_old_one() {
    let engine = engine();
    let mut live = LiveStrategies::new(
        StrategySet::new(engine.clone(), SlotConfig::default()),
        BrokerNamespace::Paper,
    );
    let mut next = 0i64;
    let mut feed = |live: &mut LiveStrategies, n: i64| -> Vec<SetOutput> {
        let ticks: Vec<MarketTick> = (next..next + n).map(|i| tick(TOKEN, "10", i)).collect();
        next += n;
        let refs: Vec<&MarketTick> = ticks.iter().collect();
        live.process(&refs).signals
    };
    let counts = |signals: &[SetOutput]| -> Vec<(String, String)> {
        signals
            .iter()
            .map(|s| (s.strategy_id.clone(), count_of(s)))
            .collect()
    };
    let manifest = |id: &str, mode: &str| hostile_manifest(id, mode, -1, &[TOKEN], "");
    assert!(matches!(
        live.apply(load_update(&engine, "x", &manifest("a", "counter"))),
        Some(Lifecycle::Loaded { .. })
    ));
    assert_eq!(feed(&mut live, 2).len(), 2);

    // Renamed to `b`, which cannot start (it faults in its first snapshot).
    let refused = live.apply(load_update(&engine, "x", &manifest("b", "snapshot_panic")));
    assert!(
        matches!(&refused, Some(Lifecycle::Refused { reason, .. })
            if reason.starts_with("plugin could not take a snapshot of its state: first snapshot faulted")),
        "{refused:?}"
    );
    assert!(live.local().unwrap().get("b").is_none());
    assert!(
        live.local().unwrap().get("a").is_some(),
        "the old strategy keeps running"
    );
    assert_eq!(
        counts(&feed(&mut live, 2)),
        [("a".into(), "3".into()), ("a".into(), "4".into())],
        "with its state"
    );
    let events = live.local().unwrap().events().clone();
    assert_eq!(events.get("b", EventKind::Refusal), 1);
    assert_eq!(events.get("a", EventKind::Unload), 0);

    // A rename that starts: the old id goes once the new one runs, fresh.
    assert!(matches!(
        live.apply(load_update(&engine, "x", &manifest("c", "counter"))),
        Some(Lifecycle::Loaded { strategy_id, .. }) if strategy_id == "c"
    ));
    assert!(live.local().unwrap().get("a").is_none());
    assert_eq!(events.get("a", EventKind::Unload), 1);
    assert_eq!(
        counts(&feed(&mut live, 1)),
        [("c".to_owned(), "1".to_owned())]
    );
    // The file now stands for `c`.
    assert!(matches!(
        live.apply(PluginUpdate::Remove { name: "x".into() }),
        Some(Lifecycle::Unloaded { strategy_id }) if strategy_id == "c"
    ));
    assert!(live.local().unwrap().is_empty());
}

#[test]
fn a_file_that_claims_another_files_strategy_id_is_refused() {
    let engine = engine();
    let mut live = LiveStrategies::new(
        StrategySet::new(engine.clone(), SlotConfig::default()),
        BrokerNamespace::Paper,
    );
    let manifest = |id: &str, version: i64| {
        hostile_manifest(
            id,
            "counter",
            -1,
            &[TOKEN],
            &format!("version = {version}\n"),
        )
    };
    for (name, id) in [("x", "a"), ("y", "b")] {
        assert!(matches!(
            live.apply(load_update(&engine, name, &manifest(id, 0))),
            Some(Lifecycle::Loaded { .. })
        ));
    }
    let ticks: Vec<MarketTick> = (0..3).map(|i| tick(TOKEN, "10", i)).collect();
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    live.process(&refs[..2]);

    // x now says it is `b`: that is y's strategy, with y's state.
    let refused = live.apply(load_update(&engine, "x", &manifest("b", 1)));
    assert!(
        matches!(&refused, Some(Lifecycle::Refused { reason, .. }) if reason.contains("already loaded from plugin y")),
        "{refused:?}"
    );
    let signals = live.process(&refs[2..]).signals;
    let seen: Vec<(String, String, String)> = signals
        .iter()
        .map(|s| (s.strategy_id.clone(), count_of(s), meta_of(s, "version")))
        .collect();
    assert_eq!(
        seen,
        [
            ("a".into(), "3".into(), "0".into()),
            ("b".into(), "3".into(), "0".into())
        ],
        "both keep running, unchanged"
    );
    assert_eq!(
        live.local().unwrap().events().get("b", EventKind::Refusal),
        1
    );
    // Each file still stands for its own strategy.
    assert!(matches!(
        live.apply(PluginUpdate::Remove { name: "y".into() }),
        Some(Lifecycle::Unloaded { strategy_id }) if strategy_id == "b"
    ));
    assert!(live.local().unwrap().get("a").is_some());
}
