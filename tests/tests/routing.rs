//! Routing inside a strategy set: each tick is converted once and a strategy sees
//! only the instruments it subscribes to (the whole batch when it subscribes to all
//! of it, a sub-batch otherwise); a tick the plugin ABI cannot carry is poison only
//! when a running strategy subscribes to its instrument.

mod common;

use alpha_panda::contract::MarketTick;
use alpha_panda::strategy::{SetOutput, SlotConfig};
use alpha_panda_tests::paths;
use common::*;

const A: u32 = 738561;
const B: u32 = 81153;
const NOBODY: u32 = 2714625;
/// 10^24: parses as a decimal, but its mantissa does not fit 64 bits.
const TOO_BIG: &str = "1000000000000000000000000";

/// (tick position, strategy id, the counter's count) of every signal, in order.
fn trace(signals: &[SetOutput]) -> Vec<(usize, String, String)> {
    signals
        .iter()
        .map(|s| (s.tick_pos, s.strategy_id.clone(), count_of(s)))
        .collect()
}

/// `a_all` counting every tick, `b_only_b` counting B's, and `c_panics` panicking
/// on the tick at `panic_at` (unix microseconds).
fn counters_and_a_panic(panic_at: i64) -> Vec<(std::path::PathBuf, String)> {
    vec![
        (
            paths::test_wasm("hostile"),
            hostile_manifest("a_all", "counter", -1, &[A, B], ""),
        ),
        (
            paths::test_wasm("hostile"),
            hostile_manifest("b_only_b", "counter", -1, &[B], ""),
        ),
        (
            paths::test_wasm("hostile"),
            hostile_manifest("c_panics", "panic", panic_at, &[A, B], ""),
        ),
    ]
}

#[test]
fn strategies_see_their_instruments_and_unconvertible_ticks_are_poison_only_when_wanted() {
    let engine = engine();
    let mut set = set_with(
        &engine,
        SlotConfig::default(),
        &[
            (
                paths::test_wasm("hostile"),
                hostile_manifest("both", "counter", -1, &[A, B], ""),
            ),
            (
                paths::test_wasm("hostile"),
                hostile_manifest("only_a", "counter", -1, &[A], ""),
            ),
        ],
    );
    let ticks: Vec<MarketTick> = vec![
        tick(A, "10.5", 0),
        tick(B, "20.5", 1),
        tick(NOBODY, "30.5", 2),
        tick(A, TOO_BIG, 3),
        tick(NOBODY, TOO_BIG, 4),
        tick(B, "21.5", 5),
        tick(A, "11.5", 6),
    ];
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let out = set.process(&refs);

    let poison: Vec<usize> = out.unconvertible.iter().map(|(pos, _)| *pos).collect();
    assert_eq!(
        poison,
        vec![3],
        "only the subscribed instrument's tick is poison"
    );
    assert!(
        out.unconvertible[0].1.to_string().contains("last_price"),
        "{}",
        out.unconvertible[0].1
    );
    assert!(out.faults.is_empty(), "{:?}", out.faults);
    let s = |pos: usize, id: &str, count: &str| (pos, id.to_owned(), count.to_owned());
    assert_eq!(
        trace(&out.signals),
        vec![
            s(0, "both", "1"),
            s(0, "only_a", "1"),
            s(1, "both", "2"),
            s(5, "both", "3"),
            s(6, "both", "4"),
            s(6, "only_a", "2"),
        ]
    );
    // Each strategy was given exactly the ticks it subscribes to.
    let given: Vec<(String, usize)> = out
        .calls
        .iter()
        .map(|(id, _, n)| (id.clone(), *n))
        .collect();
    assert_eq!(
        given,
        vec![("both".to_owned(), 4), ("only_a".to_owned(), 2)]
    );

    // With no strategy loaded, nothing is converted and nothing is poison.
    set.remove("both");
    set.remove("only_a");
    let out = set.process(&refs);
    assert!(out.unconvertible.is_empty());
    assert!(out.signals.is_empty() && out.calls.is_empty());
}

/// The strategies of a batch run side by side on the workers (`plugins.workers`):
/// with one worker or two, the same signals and faults come out in the same order
/// (tick, then strategy id), a strategy subscribed to part of the batch included,
/// and a faulting strategy's rebuild on a worker leaves the others exact.
#[test]
fn one_worker_or_two_give_the_same_output_in_the_same_order() {
    use alpha_panda::strategy::workers::Workers;
    let run = |workers: usize| {
        let engine = engine();
        let config = SlotConfig {
            workers: Workers::new(workers),
            ..SlotConfig::default()
        };
        let mut plugins = counters_and_a_panic(1_756_442_709_000_000);
        plugins.push((
            paths::test_wasm("hostile"),
            hostile_manifest("d_all", "counter", -1, &[A, B], ""),
        ));
        let mut set = set_with(&engine, config, &plugins);
        assert_eq!(set.slot_config().workers.threads(), workers);
        let ticks: Vec<MarketTick> = (0..40)
            .map(|i| tick(if i % 3 == 0 { B } else { A }, "100.5", i))
            .collect();
        let mut out = Vec::new();
        let mut faults = Vec::new();
        for chunk in ticks.chunks(7) {
            let refs: Vec<&MarketTick> = chunk.iter().collect();
            let p = set.process(&refs);
            out.extend(trace(&p.signals));
            faults.extend(p.faults.into_iter().map(|f| (f.tick_pos, f.strategy_id)));
        }
        (out, faults)
    };
    let (one, one_faults) = run(1);
    let (two, two_faults) = run(2);
    assert_eq!(
        one_faults,
        vec![(5, "c_panics".to_owned())],
        "one fault, at its tick"
    );
    assert_eq!(one, two);
    assert_eq!(one_faults, two_faults);
    // Every strategy answered: 40 ticks × 3 for the all-instrument ones, B's for b.
    let by = |id: &str| one.iter().filter(|s| s.1 == id).count();
    assert_eq!((by("a_all"), by("d_all"), by("c_panics")), (40, 40, 39));
    assert_eq!(by("b_only_b"), 14);
}

/// A batch of more than `CALL_TICKS` ticks is given to each strategy in calls of
/// at most that many, and comes out as if it had been given in small batches:
/// the same signals at the same positions, a fault in a later call at its tick.
#[test]
fn a_large_batch_is_called_in_parts_with_positions_kept() {
    use alpha_panda::strategy::set::CALL_TICKS;
    let n = 2 * CALL_TICKS + 44;
    let panic_at = 1_756_442_704_000_000 + (CALL_TICKS as i64 + 3) * 1_000_000;
    let plugins = counters_and_a_panic(panic_at);
    let ticks: Vec<MarketTick> = (0..n as i64)
        .map(|i| tick(if i % 3 == 0 { B } else { A }, "100.5", i))
        .collect();
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let engine = engine();
    let mut whole = set_with(&engine, SlotConfig::default(), &plugins);
    let big = whole.process(&refs);
    let mut parts = set_with(&engine, SlotConfig::default(), &plugins);
    let mut small = Vec::new();
    let mut small_faults = Vec::new();
    for (k, chunk) in refs.chunks(10).enumerate() {
        let p = parts.process(chunk);
        small.extend(
            trace(&p.signals)
                .into_iter()
                .map(|(i, s, c)| (i + k * 10, s, c)),
        );
        small_faults.extend(
            p.faults
                .into_iter()
                .map(|f| (f.tick_pos + k * 10, f.strategy_id)),
        );
    }
    assert_eq!(trace(&big.signals), small);
    let big_faults: Vec<(usize, String)> = big
        .faults
        .iter()
        .map(|f| (f.tick_pos, f.strategy_id.clone()))
        .collect();
    assert_eq!(big_faults, vec![(CALL_TICKS + 3, "c_panics".to_owned())]);
    assert_eq!(big_faults, small_faults);
    // Three calls each for the strategies of every tick, none over CALL_TICKS.
    let calls = |id: &str| -> Vec<usize> {
        big.calls
            .iter()
            .filter(|c| c.0 == id)
            .map(|c| c.2)
            .collect()
    };
    assert_eq!(calls("a_all"), vec![CALL_TICKS, CALL_TICKS, 44]);
    assert!(calls("b_only_b").iter().all(|&k| k <= CALL_TICKS));
    assert_eq!(calls("b_only_b").iter().sum::<usize>(), n.div_ceil(3));
}
