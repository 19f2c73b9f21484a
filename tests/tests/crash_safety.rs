//! Crash safety on a real broker: the host binary is SIGKILLed at 10 random points
//! of a 100 000-tick stream and restarted each time.
//!
//! - At-least-once (Redis dedup): every tick is answered; a tick answered more
//!   than once is answered with the same signal id every time.
//! - Both modes: the counting strategy's state survives every kill exactly (it
//!   is restored from the state topic and the ticks since are replayed), so the
//!   k-th tick of a partition is always answered with count k.
//! - Exactly-once (Kafka transactions): a read_committed consumer sees every
//!   tick answered exactly once.
//!
//! The feed writes ordinary multi-record batches, so kills land inside batches.
//!
//! The tick count can be lowered for a quick local run with
//! `ALPHA_PANDA_CRASH_TICKS`; the kill points come from a seed printed at the
//! start (`ALPHA_PANDA_CRASH_SEED` repeats a run).

mod pipeline_support;

use std::time::{Duration, Instant};

use alpha_panda_tests::broker::shared_bootstrap;
use pipeline_support::answers::{
    send_ticks, tick_producer, wait_answered, wait_consumed, wrong_counts, Sent, SignalReader,
    Tally,
};
use pipeline_support::child::{config_toml, log_tails, metric, spawn_host, ChildConfig};
use pipeline_support::*;

const KILLS: u32 = 10;

/// A small deterministic generator for the kill points.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// What one delivery mode's kill run saw.
struct Outcome {
    sent: Sent,
    tally: Tally,
    mid_stream_kills: u32,
}

async fn kill_run(mode: &str, read_committed: bool) -> Outcome {
    let bootstrap = shared_bootstrap();
    let total = env_u64("ALPHA_PANDA_CRASH_TICKS").unwrap_or(100_000) as usize;
    let seed = env_u64("ALPHA_PANDA_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1
    });
    eprintln!("{mode}: {total} ticks, {KILLS} kills, ALPHA_PANDA_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let dir = temp();
    let sid = name(&format!("crash_{mode}"));
    let tokens: Vec<u32> = (0..8).map(|_| token()).collect();
    counter_plugin(
        &dir.path().join("plugins"),
        "counter",
        &sid,
        &["paper"],
        &tokens,
        1,
    );
    let port = alpha_panda_tests::free_port();
    let listen = format!("127.0.0.1:{port}");
    let redis = alpha_panda_tests::redis_server::shared_url();
    let prefix = alpha_panda_tests::unique("crash-dedup");
    let service = name(&format!("svc_crash_{mode}"));
    let path = dir.path().join("host.toml");
    std::fs::write(
        &path,
        config_toml(
            &ChildConfig {
                bootstrap: &bootstrap,
                service: &service,
                mode,
                redis_url: &redis,
                redis_prefix: &prefix,
                metrics_listen: &listen,
            },
            dir.path(),
        ),
    )
    .expect("config");
    let config = alpha_panda::config::Config::load(Some(&path)).expect("config parses");
    ensure_topics(&bootstrap, &config).await;
    let reader = SignalReader::start(&bootstrap, &sid, read_committed);
    let producer = tick_producer(&bootstrap);
    let mut ticks = Ticks::new(seed);
    let mut sent = Sent::default();
    let per_round = total / KILLS as usize;
    let mut mid_stream_kills = 0;

    for run in 0..KILLS {
        // A round's ticks, written at full speed.
        send_ticks(&producer, &mut ticks, &tokens, per_round, &mut sent).await;
        let mut child = spawn_host(&path, dir.path(), run);
        // The kill point: a random tick count into this run's backlog.
        let target = 1 + rng.below(per_round as u64 * 4 / 5) as usize;
        let mut consumed = wait_consumed(&mut child, port, dir.path(), run, target).await;
        // Then up to 25 ms more, so the kill lands anywhere in a batch's life:
        // decoding, in the plugin, producing, committing, marking dedup keys.
        tokio::time::sleep(Duration::from_millis(rng.below(25))).await;
        consumed =
            metric(port, "alpha_panda_ticks_consumed_total").map_or(consumed, |n| n as usize);
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        // This run had at least `per_round` new ticks to read: fewer consumed
        // means it died with work in hand.
        if consumed < per_round {
            mid_stream_kills += 1;
        }
        eprintln!(
            "{mode}: kill {} after {consumed} ticks of its run ({} of {} answered so far)",
            run + 1,
            reader.answered(),
            sent.len()
        );
    }

    // The last run drains everything and stops cleanly.
    let mut child = spawn_host(&path, dir.path(), KILLS);
    let until = Instant::now() + Duration::from_secs(120);
    while reader.answered() < sent.len() {
        if let Some(s) = child.try_wait().expect("wait") {
            panic!(
                "the last host exited by itself ({s})\n{}",
                log_tails(dir.path(), KILLS..=KILLS)
            );
        }
        if Instant::now() > until {
            let missing: Vec<String> = {
                let t = reader.tally.lock().expect("tally");
                sent.ids
                    .iter()
                    .filter(|id| !t.by_tick.contains_key(*id))
                    .cloned()
                    .collect()
            };
            let diagnosis = diagnose(&bootstrap, &config, &sid, &missing, read_committed).await;
            let kept = dir.keep();
            panic!(
                "{mode}: {} of {} ticks answered after the last restart\n{diagnosis}\nlogs kept in {}\n{}",
                sent.len() - missing.len(),
                sent.len(),
                kept.display(),
                log_tails(&kept, KILLS..=KILLS)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Anything written twice would come right behind: give it time to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let stop_until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > stop_until {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "SIGTERM: exit 0 within 30 s\n{}",
        log_tails(dir.path(), KILLS..=KILLS)
    );
    let tally = std::mem::take(&mut *reader.tally.lock().expect("tally"));
    Outcome {
        sent,
        tally,
        mid_stream_kills,
    }
}

/// Why ticks are missing: are their signals on the topic after all (a fresh
/// reader), and where is the group's committed offset against the log end?
async fn diagnose(
    bootstrap: &str,
    config: &alpha_panda::config::Config,
    sid: &str,
    missing: &[String],
    read_committed: bool,
) -> String {
    let mut fresh = Reader::new(bootstrap, &["paper.signals.raw"], read_committed);
    fresh.pump(Duration::from_secs(3)).await;
    let have = causations(&signals_of(&fresh.records, sid));
    let found = missing.iter().filter(|id| have.contains_key(*id)).count();
    let mut ticks = Reader::new(bootstrap, &["market.ticks"], false);
    ticks.pump(Duration::from_secs(3)).await;
    let where_: Vec<String> = ticks
        .records
        .iter()
        .filter(|r| {
            r.value.as_deref().is_some_and(|v| {
                let text = String::from_utf8_lossy(v);
                missing.iter().take(5).any(|id| text.contains(id.as_str()))
            })
        })
        .map(|r| format!("p{}@{}", r.partition, r.offset))
        .collect();
    let group = alpha_panda::topics::TopicRegistry::new(&config.topics)
        .group_id(&config.service, config.broker);
    let (committed, ends): (Vec<Option<i64>>, Vec<i64>) =
        group_offsets(bootstrap, config).into_iter().unzip();
    format!(
        "{} missing (first {:?}); a fresh reader finds signals for {found} of them; \
         the first five missing ticks are at {where_:?}; group {group} committed {committed:?}, log ends {ends:?}",
        missing.len(),
        missing.first(),
    )
}

/// Every tick answered, and the kills landed mid-stream. The strategy's state
/// survived every kill exactly: the k-th tick of a partition was answered with
/// count k each time it was answered (restored state plus replayed ticks).
fn check_complete(mode: &str, o: &Outcome) {
    let wrong = wrong_counts(&o.sent, &o.tally);
    assert!(
        wrong.is_empty(),
        "{mode}: {} signals carry a count that is not their tick's place in its partition \
         (state lost or applied twice across a kill); first (partition, place, count): {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    let missing: Vec<&String> = o
        .sent
        .ids
        .iter()
        .filter(|id| !o.tally.by_tick.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{mode}: {} of {} ticks have no signal (first: {:?})",
        missing.len(),
        o.sent.len(),
        missing.first()
    );
    assert!(
        o.mid_stream_kills * 2 >= KILLS,
        "{mode}: only {} of {KILLS} kills came while the host had work in hand",
        o.mid_stream_kills
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_survives_ten_sigkills_with_identical_repeats() {
    let o = kill_run("at_least_once", false).await;
    check_complete("at_least_once", &o);
    let repeated: Vec<(&String, &Vec<String>)> = o
        .tally
        .by_tick
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .collect();
    for (tick, ids) in &repeated {
        assert!(
            ids.iter().all(|id| id == &ids[0]),
            "tick {tick} answered with different ids: {ids:?}"
        );
    }
    eprintln!(
        "at_least_once: {} ticks, {} signal records, {} ticks answered more than once (same id), {} of {KILLS} kills mid-stream",
        o.sent.len(),
        o.tally.records,
        repeated.len(),
        o.mid_stream_kills
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_survives_ten_sigkills_with_one_signal_per_tick() {
    let o = kill_run("exactly_once", true).await;
    check_complete("exactly_once", &o);
    assert_eq!(
        o.tally.records,
        o.sent.len(),
        "a read_committed consumer sees exactly one signal per tick"
    );
    eprintln!(
        "exactly_once: {} ticks, {} committed signal records, {} of {KILLS} kills mid-stream",
        o.sent.len(),
        o.tally.records,
        o.mid_stream_kills
    );
}

/// A strategy dropped into `plugins/` while the host runs has a state record
/// before the first periodic write is due: the host writes it at the first commit
/// after the load. Its ticks (instruments of its own) are all sent after the load. Periodic writes are set to 10 minutes here, so a host killed seconds
/// after the load has only that write; the restarted host restores it, replays
/// the ticks since, and the strategy's counts go on (they restarted from 1 when
/// the load wrote nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strategy_loaded_mid_stream_keeps_its_state_across_a_kill() {
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins dir");
    let sid = name("crash_hot_loaded");
    let tokens: Vec<u32> = (0..8).map(|_| token()).collect();
    let port = alpha_panda_tests::free_port();
    let listen = format!("127.0.0.1:{port}");
    let redis = alpha_panda_tests::redis_server::shared_url();
    let prefix = alpha_panda_tests::unique("crash-hot-dedup");
    let service = name("svc_crash_hot");
    let toml = config_toml(
        &ChildConfig {
            bootstrap: &bootstrap,
            service: &service,
            mode: "at_least_once",
            redis_url: &redis,
            redis_prefix: &prefix,
            metrics_listen: &listen,
        },
        dir.path(),
    );
    let periodic = "every_ms = 200";
    assert!(
        toml.contains(periodic),
        "the child config sets [state] every_ms"
    );
    let toml = toml.replace(periodic, "every_ms = 600000");
    let path = dir.path().join("host.toml");
    std::fs::write(&path, toml).expect("config");
    let config = alpha_panda::config::Config::load(Some(&path)).expect("config parses");
    ensure_topics(&bootstrap, &config).await;
    let reader = SignalReader::start(&bootstrap, &sid, false);
    let producer = tick_producer(&bootstrap);
    let mut ticks = Ticks::new(7);

    // The host joins with no strategy, takes every partition (its group is its
    // own) and runs ticks of an instrument no strategy follows: its partitions
    // are gained (their state read and written) before the strategy comes.
    let mut warm = Sent::default();
    send_ticks(&producer, &mut ticks, &[token()], 20, &mut warm).await;
    let mut child = spawn_host(&path, dir.path(), 0);
    let until = Instant::now() + Duration::from_secs(60);
    while metric(port, "alpha_panda_assigned_partitions").unwrap_or(0.0) < TICK_PARTITIONS as f64
        || metric(port, "alpha_panda_ticks_consumed_total").unwrap_or(0.0) < warm.len() as f64
    {
        if let Some(s) = child.try_wait().expect("wait") {
            panic!(
                "host exited by itself ({s})\n{}",
                log_tails(dir.path(), 0..=0)
            );
        }
        assert!(
            Instant::now() < until,
            "the host was not assigned every partition and running ticks in 60 s\n{}",
            log_tails(dir.path(), 0..=0)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The strategy is dropped in; every tick from here on reaches it.
    counter_plugin(&plugins, "counter", &sid, &["paper"], &tokens, 1);
    let until = Instant::now() + Duration::from_secs(30);
    while metric(port, "alpha_panda_plugin_loads_total").unwrap_or(0.0) < 1.0 {
        assert!(
            Instant::now() < until,
            "the dropped plugin was not loaded in 30 s\n{}",
            log_tails(dir.path(), 0..=0)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sent = Sent::default();
    send_ticks(&producer, &mut ticks, &tokens, 2000, &mut sent).await;
    wait_answered(&reader, &sent.ids, "after the load", dir.path(), 0).await;
    // Its last batch committed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes = metric(port, "alpha_panda_state_writes_total").unwrap_or(0.0);
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    send_ticks(&producer, &mut ticks, &tokens, 1000, &mut sent).await;
    let mut child = spawn_host(&path, dir.path(), 1);
    wait_answered(&reader, &sent.ids, "after the restart", dir.path(), 1).await;
    let _ = child.kill();
    let _ = child.wait();

    let tally = std::mem::take(&mut *reader.tally.lock().expect("tally"));
    let wrong = wrong_counts(&sent, &tally);
    assert!(
        wrong.is_empty(),
        "{} signals of the hot-loaded strategy carry a count that is not their tick's place \
         since the load (its state was lost in the kill; {writes} state records were written \
         before it); first (partition, place, count): {:?}\n{}",
        wrong.len(),
        &wrong[..wrong.len().min(5)],
        log_tails(dir.path(), 0..=1)
    );
}
