//! Strategies per partition: each assigned partition runs its own instance of
//! every strategy, so its state can move with the partition. A reload swaps every
//! partition's instance with its own state, a partition gained later starts the
//! running version, and a set taken back on a rebalance keeps its state.

mod common;

use alpha_panda::contract::{BrokerNamespace, MarketTick};
use alpha_panda::strategy::PluginUpdate;
use alpha_panda::strategy::{Lifecycle, LiveStrategies, SlotConfig, StrategySet};
use common::*;

const TOKEN: u32 = 81153;

fn counter(version: i64) -> String {
    hostile_manifest(
        "counter_p",
        "counter",
        -1,
        &[TOKEN],
        &format!("version = {version}\n"),
    )
}

/// (count, version) of each signal of feeding `n` ticks to `partition`.
fn feed(live: &mut LiveStrategies, partition: i32, n: usize) -> Vec<(String, String)> {
    let ticks: Vec<MarketTick> = (0..n).map(|i| tick(TOKEN, "1500.25", i as i64)).collect();
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let out = live
        .process_in(partition, &refs)
        .expect("partition assigned");
    out.signals
        .iter()
        .map(|s| (count_of(s), meta_of(s, "version")))
        .collect()
}

fn counts(out: &[(String, String)]) -> Vec<u64> {
    out.iter().map(|(c, _)| c.parse().expect("count")).collect()
}

#[test]
fn each_partition_keeps_its_own_state_across_a_reload() {
    let engine = engine();
    let mut live = LiveStrategies::new(
        StrategySet::new(engine.clone(), SlotConfig::default()),
        BrokerNamespace::Paper,
    );
    live.drop_local();
    assert!(matches!(
        live.apply(load_update(&engine, "counter", &counter(1))),
        Some(Lifecycle::Loaded { .. })
    ));
    // Loaded before any partition: partitions gained start the running version.
    live.assign(0);
    live.assign(3);
    assert_eq!(live.partitions().collect::<Vec<_>>(), vec![0, 3]);
    assert_eq!(counts(&feed(&mut live, 0, 5)), vec![1, 2, 3, 4, 5]);
    assert_eq!(counts(&feed(&mut live, 3, 2)), vec![1, 2]);
    assert!(live.process_in(1, &[]).is_none(), "no set for partition 1");

    // A reload swaps both instances, each with its own count.
    assert!(matches!(
        live.apply(load_update(&engine, "counter", &counter(2))),
        Some(Lifecycle::Reloaded { .. })
    ));
    let p0 = feed(&mut live, 0, 2);
    let p3 = feed(&mut live, 3, 2);
    assert_eq!(counts(&p0), vec![6, 7]);
    assert_eq!(counts(&p3), vec![3, 4]);
    assert!(p0.iter().chain(&p3).all(|(_, v)| v == "2"), "{p0:?} {p3:?}");

    // A partition gained after the reload starts the new version from init.
    live.assign(1);
    let p1 = feed(&mut live, 1, 1);
    assert_eq!(p1, vec![("1".to_owned(), "2".to_owned())]);

    // Taken away and put back (a rebalance that kept it here): state kept.
    let set = live.revoke(3).expect("partition 3 had a set");
    assert!(live.process_in(3, &[]).is_none());
    live.reinstate(3, set);
    assert_eq!(counts(&feed(&mut live, 3, 1)), vec![5]);

    // A quarantine release and an unload reach every partition.
    assert!(live.release("counter_p"));
    assert!(matches!(
        live.apply(PluginUpdate::Remove {
            name: "counter".into()
        }),
        Some(Lifecycle::Unloaded { .. })
    ));
    assert!(feed(&mut live, 0, 1).is_empty());
    assert!(feed(&mut live, 1, 1).is_empty());
    assert!(live.is_empty());
}

#[test]
fn a_restored_state_continues_where_the_previous_owner_stopped() {
    let engine = engine();
    let mut a = LiveStrategies::new(
        StrategySet::new(engine.clone(), SlotConfig::default()),
        BrokerNamespace::Paper,
    );
    a.apply(load_update(&engine, "counter", &counter(1)));
    a.assign(2);
    feed(&mut a, 2, 7);
    let state = a
        .partition_mut(2)
        .and_then(|s| s.get_mut("counter_p"))
        .expect("slot")
        .snapshot_now()
        .expect("snapshot");

    // Another host gains partition 2 and restores it; then catches up 3 ticks
    // answered before (outputs dropped).
    let mut b = LiveStrategies::new(
        StrategySet::new(engine.clone(), SlotConfig::default()),
        BrokerNamespace::Paper,
    );
    b.apply(load_update(&engine, "counter", &counter(2)));
    let set = b.assign(2);
    set.get_mut("counter_p")
        .expect("slot")
        .restore_state(&state)
        .expect("state restores");
    let answered: Vec<MarketTick> = (0..3).map(|i| tick(TOKEN, "1500.25", i)).collect();
    let refs: Vec<&MarketTick> = answered.iter().collect();
    set.catch_up_all(&refs);
    assert_eq!(counts(&feed(&mut b, 2, 2)), vec![11, 12]);

    // A state the strategy refuses leaves it as it was.
    let err = b
        .partition_mut(2)
        .and_then(|s| s.get_mut("counter_p"))
        .expect("slot")
        .restore_state(b"not a state");
    assert!(err.is_err());
    assert_eq!(counts(&feed(&mut b, 2, 1)), vec![13]);
}

/// The counter strategy as a strategy-scoped one (the default scope), version `v`.
fn scoped_counter(v: i64) -> String {
    counter(v).replace("scope = \"instrument\"\n", "")
}

#[test]
fn a_strategy_scoped_strategy_runs_once_in_its_unit_and_moves_when_its_scope_changes() {
    let engine = engine();
    let mut live = LiveStrategies::new(
        StrategySet::new(engine.clone(), SlotConfig::default()),
        BrokerNamespace::Paper,
    )
    .with_units(4);
    live.drop_local();
    live.assign(0);
    live.apply(load_update(&engine, "counter", &scoped_counter(1)));
    let k = alpha_panda::topics::TopicRegistry::unit_of("counter_p", 4);
    assert_eq!(
        live.unit_plan().into_iter().collect::<Vec<_>>(),
        vec![(k, vec![("counter_p".to_owned(), vec![TOKEN])])],
        "planned in its unit"
    );
    assert!(
        feed(&mut live, 0, 1).is_empty(),
        "no instance per partition"
    );
    let unit = live.assign_unit(k);
    let ticks: Vec<MarketTick> = (0..3).map(|i| tick(TOKEN, "1", i)).collect();
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    assert_eq!(unit.process(&refs).signals.len(), 3);
    // A reload carries the unit's state over.
    live.apply(load_update(&engine, "counter", &scoped_counter(2)));
    let unit = live.unit_mut(k).expect("unit set");
    let out = unit.process(&refs[..1]);
    assert_eq!(count_of(&out.signals[0]), "4");
    // Changed to instrument scope: it leaves the unit and runs per partition,
    // from init (a state per partition cannot come from one over all of them).
    live.apply(load_update(&engine, "counter", &counter(3)));
    assert!(live.unit_plan().is_empty());
    let unit = live.unit_mut(k).expect("unit set");
    assert!(unit.process(&refs).signals.is_empty(), "gone from the unit");
    assert_eq!(counts(&feed(&mut live, 0, 2)), vec![1, 2]);
    assert_eq!(live.revoke_unit(k).map(|s| s.len()), Some(0));
}
