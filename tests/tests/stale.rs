//! `start.max_tick_age_ms` on a real broker: a host starting on a backlog of old
//! ticks (a new consumer group reads from the log's beginning) feeds them to its
//! strategies without a signal, in both scopes, commits them, and answers the
//! live ticks that follow from the warm state.

mod pipeline_support;

use std::collections::{BTreeMap, BTreeSet};

use alpha_panda::contract::{EventEnvelope, MarketTick};
use pipeline_support::pairs::*;
use pipeline_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_ticks_warm_state_without_a_signal_and_live_ones_answer() {
    let BothScopes {
        bootstrap,
        dir: _dir,
        lead,
        follow,
        scoped,
        per_partition,
        mut cfg,
        ..
    } = BothScopes::new("stale").await;
    cfg.start.max_tick_age_ms = 60_000;
    let producer = producer(&bootstrap);
    // The backlog: ticks of 2025, written before the host starts.
    let old = stream(&mut Ticks::new(3), lead, follow, 120, 0);
    for t in &old {
        send_checked(&producer, t).await;
    }
    let old_leads = old
        .iter()
        .filter(|t| t.data.instrument_token == lead)
        .count();
    let host = RunningHost::start(cfg.clone());
    let live: Vec<EventEnvelope<MarketTick>> = stream(&mut Ticks::live(4), lead, follow, 60, 0);
    for t in &live {
        send_checked(&producer, t).await;
    }
    let live_leads: BTreeSet<&str> = live
        .iter()
        .filter(|t| t.data.instrument_token == lead)
        .map(|t| t.id.as_str())
        .collect();
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let ids = [scoped.clone(), per_partition.clone()];
    let of = |recs: &[Rec], id: &str| -> Vec<serde_json::Value> {
        signals_of(recs, id).into_iter().map(|(_, v)| v).collect()
    };
    let done = |recs: &[Rec]| ids.iter().all(|id| of(recs, id).len() >= live_leads.len());
    assert!(
        reader.until(WAIT, done).await,
        "each strategy answers every live lead tick"
    );
    let summary = host.stop();
    for id in &ids {
        let signals = of(&reader.records, id);
        let answered: Vec<&str> = signals
            .iter()
            .map(|v| v["causation_id"].as_str().unwrap_or_default())
            .collect();
        assert!(
            answered.iter().all(|c| live_leads.contains(c)),
            "{id}: no old tick is answered: {answered:?}"
        );
        assert_eq!(answered.len(), live_leads.len(), "{id}: each live one once");
        // The pair counts the lead ticks it was given: the old ones were fed.
        let n: BTreeMap<String, u64> = signals
            .iter()
            .map(|v| {
                (v["causation_id"].as_str().unwrap_or_default().to_owned(), {
                    let n = &v["data"]["metadata"]["n"];
                    n.as_u64()
                        .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
                        .unwrap_or(0)
                })
            })
            .collect();
        let first = live
            .iter()
            .find(|t| t.data.instrument_token == lead)
            .map(|t| n.get(&t.id).copied());
        assert_eq!(
            first,
            Some(Some(old_leads as u64 + 1)),
            "{id}: the first live answer comes from state warmed by every old tick"
        );
    }
    assert_eq!(
        summary.stale,
        2 * old.len() as u64,
        "every old tick counted, once by the partition pipeline and once by the unit"
    );

    // Committed: a host of the same group starting again feeds nothing old.
    let again = RunningHost::start(cfg);
    let more = stream(&mut Ticks::live(5), lead, follow, 30, 1);
    for t in &more {
        send_checked(&producer, t).await;
    }
    let more_leads = more
        .iter()
        .filter(|t| t.data.instrument_token == lead)
        .count();
    let all = live_leads.len() + more_leads;
    assert!(
        reader
            .until(WAIT, |recs| ids.iter().all(|id| of(recs, id).len() >= all))
            .await,
        "the restarted host answers the new live ticks"
    );
    let summary = again.stop();
    assert_eq!(summary.stale, 0, "old ticks were committed, not read again");
}
