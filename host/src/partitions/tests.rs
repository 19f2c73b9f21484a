//! The partition state machine driven without a broker: gains, losses, a gain
//! while a read is in flight, unreadable state read again, replay up to the
//! committed offset, state ahead of a lost offset, commits after a revoke.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::clock;
use crate::contract::EventEnvelope;
use crate::feed::{tick_envelope, PaperFeed};

/// Strategies as plain counters: each strategy's state is the number of ticks it
/// was fed, so restores and replays can be checked by value.
#[derive(Default)]
struct Counters {
    /// partition → strategy id → ticks counted.
    running: BTreeMap<i32, BTreeMap<String, u64>>,
    parked: BTreeMap<i32, BTreeMap<String, u64>>,
    /// Records `restore` refuses.
    refuse: Vec<String>,
    calls: Vec<String>,
}

const IDS: [&str; 2] = ["a", "b"];

impl Instances for Counters {
    fn start(&mut self, p: i32) {
        self.calls.push(format!("start {p}"));
        self.running
            .insert(p, IDS.iter().map(|i| (i.to_string(), 0)).collect());
    }
    fn park(&mut self, p: i32) {
        self.calls.push(format!("park {p}"));
        if let Some(s) = self.running.remove(&p) {
            self.parked.insert(p, s);
        }
    }
    fn reinstate(&mut self, p: i32) -> bool {
        self.calls.push(format!("reinstate {p}"));
        match self.parked.remove(&p) {
            Some(s) => {
                self.running.insert(p, s);
                true
            }
            None => false,
        }
    }
    fn drop_parked(&mut self, p: i32) {
        self.calls.push(format!("drop parked {p}"));
        self.parked.remove(&p);
    }
    fn stop(&mut self, p: i32) {
        self.calls.push(format!("stop {p}"));
        self.running.remove(&p);
    }
    fn restore(&mut self, p: i32, r: &StateRecord) -> Result<bool, String> {
        if self.refuse.contains(&r.strategy_id) {
            return Err("refused".into());
        }
        let n = u64::from_le_bytes(r.state.clone().try_into().map_err(|_| "size")?);
        self.running
            .entry(p)
            .or_default()
            .insert(r.strategy_id.clone(), n);
        Ok(true)
    }
    fn replay(&mut self, p: i32, id: &str, ticks: &[&MarketTick]) {
        self.calls.push(format!("replay {p} {id} {}", ticks.len()));
        if let Some(n) = self.running.get_mut(&p).and_then(|s| s.get_mut(id)) {
            *n += ticks.len() as u64;
        }
    }
    fn snapshots(&mut self, p: i32) -> Vec<Snapshot> {
        self.running
            .get(&p)
            .map(|s| {
                s.iter()
                    .map(|(id, n)| Snapshot {
                        strategy_id: id.clone(),
                        sha256: "ab".into(),
                        state: n.to_le_bytes().to_vec(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Counters {
    fn count(&self, p: i32, id: &str) -> Option<u64> {
        self.running.get(&p)?.get(id).copied()
    }
}

fn policy() -> StatePolicy {
    StatePolicy {
        enabled: true,
        every: Duration::from_secs(5),
    }
}

fn machine() -> PartitionStates {
    PartitionStates::new("g", policy(), clock::now())
}

fn record(id: &str, p: i32, next_offset: i64, count: u64) -> StateRecord {
    StateRecord {
        group: "g".into(),
        strategy_id: id.into(),
        partition: p,
        next_offset,
        sha256: "ab".into(),
        state: count.to_le_bytes().to_vec(),
    }
}

/// The partition's ticks at offsets `from..to`, encoded as the feed writes them.
fn ticks(from: i64, to: i64) -> TickRange {
    let mut feed = PaperFeed::new(7, 1_756_442_704_000_000);
    TickRange {
        messages: (from..to)
            .map(|o| {
                let env: EventEnvelope<MarketTick> = tick_envelope(feed.next_tick());
                (o, env.to_vec().expect("encode"))
            })
            .collect(),
        first: from,
    }
}

fn gain_read(req: &ReadRequest, committed: Option<i64>, records: Vec<StateRecord>) -> ReadResult {
    let from = replay_from(&records, committed);
    let range = match (from, committed) {
        (Some(f), Some(c)) => ticks(f, c),
        _ => TickRange::default(),
    };
    ReadResult {
        partition: req.partition,
        ticket: req.ticket,
        committed,
        log: Some((0, 100)),
        read: Ok((records, range)),
    }
}

#[test]
fn a_gained_partition_is_held_until_its_state_is_read_then_replayed_to_the_committed_offset() {
    let (mut m, mut c) = (machine(), Counters::default());
    let reads = m.assigned(&[3]);
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].kind, ReadKind::Gain);
    assert_eq!(m.route(3, 40), Route::Hold, "held while its state is read");
    assert_eq!(m.route(4, 40), Route::NotOurs);

    // a at offset 10 (count 10), b at 15 (count 15); committed 20.
    let records = vec![record("a", 3, 10, 10), record("b", 3, 15, 15)];
    assert_eq!(replay_from(&records, Some(20)), Some(10));
    let out = m
        .read_done(gain_read(&reads[0], Some(20), records), &mut c)
        .expect("current");
    assert_eq!(out.restored.records, 2);
    assert_eq!(out.restored.replayed, 10 + 5);
    assert_eq!(out.seek, Some(20));
    assert_eq!((c.count(3, "a"), c.count(3, "b")), (Some(20), Some(20)));
    // Its starting state is written at once, at the committed offset.
    let offsets: Vec<(String, i64)> = out
        .write_now
        .iter()
        .map(|r| (r.strategy_id.clone(), r.next_offset))
        .collect();
    assert_eq!(offsets, vec![("a".into(), 20), ("b".into(), 20)]);
    // Ticks the previous owner may have answered after its commit are fed only.
    assert_eq!(m.route(3, 50), Route::Run { catch_up: true });
    assert_eq!(m.route(3, 100), Route::Run { catch_up: false });
}

#[test]
fn a_lost_partition_is_parked_then_dropped_and_its_messages_are_not_ours() {
    let (mut m, mut c) = (machine(), Counters::default());
    let r = m.assigned(&[1, 2]);
    for req in &r {
        m.read_done(gain_read(req, Some(0), vec![]), &mut c);
    }
    m.ran(1, 0);
    m.revoked(&[1], &mut c);
    assert_eq!(m.route(1, 1), Route::NotOurs);
    assert_eq!(m.end_rebalance(&mut c), vec![1]);
    assert!(c.parked.is_empty() && c.running.contains_key(&2));
    assert_eq!(m.owned().collect::<Vec<_>>(), vec![2]);
}

#[test]
fn assigned_back_with_nothing_committed_meanwhile_keeps_its_strategies() {
    let (mut m, mut c) = (machine(), Counters::default());
    let r = m.assigned(&[5]);
    m.read_done(gain_read(&r[0], Some(0), vec![]), &mut c);
    c.replay(5, "a", &[]);
    for o in 0..7 {
        m.ran(5, o);
    }
    c.running.get_mut(&5).map(|s| s.insert("a".into(), 7));
    m.revoked(&[5], &mut c);
    let r = m.assigned(&[5]);
    assert!(m.end_rebalance(&mut c).is_empty(), "still expected back");
    let out = m
        .read_done(
            gain_read(&r[0], Some(7), vec![record("a", 5, 0, 0)]),
            &mut c,
        )
        .expect("current");
    assert!(out.reinstated);
    assert_eq!(c.count(5, "a"), Some(7), "not restored over");
    assert_eq!(out.seek, Some(7));
}

#[test]
fn a_read_finished_after_its_partition_was_lost_and_gained_again_is_ignored() {
    let (mut m, mut c) = (machine(), Counters::default());
    let first = m.assigned(&[2]);
    m.revoked(&[2], &mut c);
    let second = m.assigned(&[2]);
    assert_ne!(first[0].ticket, second[0].ticket);
    let stale = gain_read(&first[0], Some(30), vec![record("a", 2, 30, 999)]);
    assert!(
        m.read_done(stale, &mut c).is_none(),
        "a stale read changes nothing"
    );
    assert_eq!(
        m.route(2, 30),
        Route::Hold,
        "still waiting for the new read"
    );
    assert!(c.running.is_empty());
    let out = m
        .read_done(
            gain_read(&second[0], Some(40), vec![record("a", 2, 40, 40)]),
            &mut c,
        )
        .expect("current");
    assert_eq!(out.seek, Some(40));
    assert_eq!(c.count(2, "a"), Some(40));
}

#[tokio::test(start_paused = true)]
async fn unreadable_state_runs_from_init_writes_nothing_and_is_read_again_with_a_doubling_wait() {
    let (mut m, mut c) = (machine(), Counters::default());
    let r = m.assigned(&[0]);
    let failed = ReadResult {
        partition: 0,
        ticket: r[0].ticket,
        committed: Some(100),
        log: Some((0, 200)),
        read: Err(StoreError::Setup("no leader".into())),
    };
    let out = m.read_done(failed, &mut c).expect("current");
    assert!(out
        .failed
        .as_deref()
        .is_some_and(|f| f.contains("no leader")));
    assert!(out.write_now.is_empty(), "nothing written over the records");
    assert_eq!(out.seek, Some(100));
    assert_eq!(c.count(0, "a"), Some(0), "runs from init");
    assert_eq!(m.unread().collect::<Vec<_>>(), vec![0]);
    for o in 100..110 {
        assert_eq!(m.route(0, o), Route::Run { catch_up: false });
        m.ran(0, o);
        c.replay(0, "a", &[]);
    }
    assert!(
        m.all_state(&mut c).is_empty(),
        "an unread partition's init-based state is never written"
    );

    assert!(
        m.rereads(clock::now()).is_empty(),
        "not before a state period"
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    let again = m.rereads(clock::now());
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].kind, ReadKind::Reread { upto: 110 });
    assert_eq!(m.route(0, 110), Route::Hold);

    // Still unreadable: back to running, the next try a doubled wait later.
    let fail = ReadResult {
        partition: 0,
        ticket: again[0].ticket,
        committed: None,
        log: None,
        read: Err(StoreError::Setup("still no leader".into())),
    };
    assert_eq!(m.read_done(fail, &mut c).and_then(|o| o.seek), Some(110));
    tokio::time::advance(Duration::from_secs(9)).await;
    assert!(
        m.rereads(clock::now()).is_empty(),
        "10 s after the second failure"
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    let third = m.rereads(clock::now());
    assert_eq!(third.len(), 1);

    // Readable now: restored from the record at 90 and replayed to 110.
    let records = vec![record("a", 0, 90, 90), record("b", 0, 95, 95)];
    let read = ReadResult {
        partition: 0,
        ticket: third[0].ticket,
        committed: None,
        log: None,
        read: Ok((records, ticks(90, 110))),
    };
    let out = m.read_done(read, &mut c).expect("current");
    assert_eq!(out.seek, Some(110));
    assert_eq!((c.count(0, "a"), c.count(0, "b")), (Some(110), Some(110)));
    assert_eq!(m.unread().count(), 0);
    let written = m.due_state(clock::now(), &mut c);
    assert_eq!(written.len(), 2, "written with the next commit");
    assert!(written.iter().all(|r| r.next_offset == 110));
}

#[test]
fn state_ahead_of_a_lost_group_offset_skips_the_ticks_it_holds() {
    let (mut m, mut c) = (machine(), Counters::default());
    let r = m.assigned(&[4]);
    // Nothing committed (the offset expired), the log starts at 0, the record at 60.
    let read = ReadResult {
        partition: 4,
        ticket: r[0].ticket,
        committed: None,
        log: Some((0, 80)),
        read: Ok((vec![record("a", 4, 60, 60)], TickRange::default())),
    };
    let out = m.read_done(read, &mut c).expect("current");
    assert_eq!(out.restored.ahead, Some(60));
    assert_eq!(out.seek, Some(60), "consumption goes on after the state");
    assert_eq!(m.route(4, 59), Route::Skip);
    assert_eq!(m.route(4, 60), Route::Run { catch_up: true });
    assert_eq!(m.positions().get(&4), Some(&60));
}

#[test]
fn a_refused_record_leaves_its_strategy_at_init_and_replays_nothing_into_it() {
    let (mut m, mut c) = (machine(), Counters::default());
    c.refuse.push("b".into());
    let r = m.assigned(&[1]);
    let records = vec![record("a", 1, 5, 5), record("b", 1, 5, 5)];
    let out = m
        .read_done(gain_read(&r[0], Some(8), records), &mut c)
        .expect("current");
    assert_eq!(out.restored.records, 1);
    assert_eq!((c.count(1, "a"), c.count(1, "b")), (Some(8), Some(0)));
}

#[test]
fn a_batch_run_before_a_revoke_does_not_commit_the_partition_gained_again() {
    let (mut m, mut c) = (machine(), Counters::default());
    let r = m.assigned(&[6, 7]);
    for req in &r {
        m.read_done(gain_read(req, Some(0), vec![]), &mut c);
    }
    let epochs: BTreeMap<i32, u64> = m.running().collect();
    // The batch is in flight; partition 6 is lost and comes back.
    m.revoked(&[6], &mut c);
    let again = m.assigned(&[6]);
    m.end_rebalance(&mut c);
    assert!(
        !m.still_owns(6, epochs[&6]),
        "another owner may have moved it on"
    );
    assert!(m.still_owns(7, epochs[&7]));
    m.read_done(gain_read(&again[0], Some(3), vec![]), &mut c);
    let now: BTreeMap<i32, u64> = m.running().collect();
    assert!(m.still_owns(6, now[&6]));
}

#[test]
fn after_an_aborted_transaction_every_partition_is_read_again() {
    let (mut m, mut c) = (machine(), Counters::default());
    let r = m.assigned(&[0, 1]);
    for req in &r {
        m.read_done(gain_read(req, Some(10), vec![]), &mut c);
    }
    m.ran(0, 10);
    let reads = m.rewind(&mut c);
    assert_eq!(reads.len(), 2);
    assert!(reads.iter().all(|x| x.kind == ReadKind::Gain));
    assert!(c.running.is_empty(), "strategies stopped");
    assert_eq!(m.route(0, 11), Route::Hold);
    let out = m
        .read_done(
            gain_read(&reads[0], Some(10), vec![record("a", 0, 10, 10)]),
            &mut c,
        )
        .expect("current");
    assert_eq!(out.seek, Some(10), "back to the committed offset");
    assert_eq!(c.count(0, "a"), Some(10));
}

#[tokio::test(start_paused = true)]
async fn state_is_written_every_period_and_at_once_after_a_load() {
    let (mut m, mut c) = (machine(), Counters::default());
    let r = m.assigned(&[2]);
    m.read_done(gain_read(&r[0], Some(0), vec![]), &mut c);
    m.ran(2, 0);
    assert!(m.due_state(clock::now(), &mut c).is_empty());
    tokio::time::advance(Duration::from_secs(5)).await;
    let due = m.due_state(clock::now(), &mut c);
    assert_eq!(due.len(), 2);
    assert!(due.iter().all(|r| r.next_offset == 1 && r.group == "g"));
    assert!(
        m.due_state(clock::now(), &mut c).is_empty(),
        "once per period"
    );
    m.state_due_now();
    assert_eq!(m.due_state(clock::now(), &mut c).len(), 2);
}

#[test]
fn without_state_nothing_is_written_and_an_empty_read_just_starts_the_strategies() {
    let mut m = PartitionStates::new(
        "g",
        StatePolicy {
            enabled: false,
            every: Duration::ZERO,
        },
        clock::now(),
    );
    let mut c = Counters::default();
    let r = m.assigned(&[0]);
    let out = m
        .read_done(gain_read(&r[0], Some(4), vec![]), &mut c)
        .expect("current");
    assert!(out.write_now.is_empty());
    assert_eq!(m.route(0, 1), Route::Run { catch_up: false });
    assert!(m.all_state(&mut c).is_empty());
}
