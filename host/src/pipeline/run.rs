//! Stage 3, run: each partition's strategies over its ticks of the batch, in
//! offset order, ticks to answer and ticks only to feed (answered before) kept in
//! their order; partitions side by side on the workers. Faults are logged with
//! their tick's ids; call times observed.

use std::collections::BTreeMap;

use rdkafka::message::Message;

use super::classify::Fresh;
use super::Host;
use crate::contract::MarketTick;
use crate::strategy::set::Processed;
use crate::strategy::StrategySet;

/// A tick of a partition in a batch: its offset, its position among the ticks to
/// answer (`None`: answered before, only fed), and the tick.
pub(super) type Item<'a> = (i64, Option<usize>, &'a MarketTick);

/// Each partition's ticks of `keep` (answered) and `caught` (fed only), in
/// offset order.
pub(super) fn by_partition<'a, M: Message>(
    msgs: &[M],
    keep: &'a [Fresh],
    caught: &'a [Fresh],
) -> BTreeMap<i32, Vec<Item<'a>>> {
    let mut by_partition: BTreeMap<i32, Vec<Item<'_>>> = BTreeMap::new();
    let answered = keep.iter().enumerate().map(|(i, f)| (f, Some(i)));
    for (f, pos) in answered.chain(caught.iter().map(|f| (f, None))) {
        let m = &msgs[f.msg];
        by_partition
            .entry(m.partition())
            .or_default()
            .push((m.offset(), pos, &f.env.data));
    }
    for items in by_partition.values_mut() {
        items.sort_by_key(|(o, _, _)| *o);
    }
    by_partition
}

impl Host {
    /// Runs `keep` (answered) and `caught` (fed only, outputs dropped). Positions
    /// in the result are positions in `keep`; signals stay in tick order, and
    /// within a tick in strategy id order.
    pub(super) fn run_partitions<M: Message>(
        &mut self,
        msgs: &[M],
        keep: &[Fresh],
        caught: &[Fresh],
    ) -> Processed {
        let by_partition = by_partition(msgs, keep, caught);
        // Partitions side by side on the workers (their sets share nothing), then
        // put together in partition order, as one after another would.
        let replayed = self.shared.metrics.state_replayed_ticks.clone();
        let (workers, jobs) = self.live.partitions_mut(by_partition);
        let parts = workers.run_all(jobs, |(set, items)| run_partition(set, &items, &replayed));
        let mut out = Processed::default();
        for part in parts {
            out.extend_at(part, |i| i);
        }
        out.signals.sort_by_key(|s| s.tick_pos);
        self.observe_run(&out, keep);
        out
    }

    /// Counts and logs the run's faults, and observes its call times.
    pub(super) fn observe_run(&self, out: &Processed, keep: &[Fresh]) {
        let metrics = &self.shared.metrics;
        metrics.plugin_faults.inc_by(out.faults.len() as u64);
        for f in &out.faults {
            if let Some(tick) = keep.get(f.tick_pos) {
                crate::strategy::events::log_tick_fault(
                    &f.strategy_id,
                    &f.sha256,
                    &f.fault,
                    &tick.env.id,
                    &tick.env.correlation_id,
                );
            }
        }
        for (id, took, _) in &out.calls {
            metrics
                .plugin_call
                .with_label_values(&[id.as_str()])
                .observe(took.as_secs_f64());
        }
    }
}

/// One partition's consecutive runs of answered and caught-up ticks, in order;
/// positions in the result are positions among the batch's answered ticks.
fn run_partition(
    set: &mut StrategySet,
    items: &[Item<'_>],
    replayed: &prometheus::IntCounter,
) -> Processed {
    let mut out = Processed::default();
    for (ticks, at) in runs(items) {
        match at {
            None => {
                replayed.inc_by(ticks.len() as u64);
                set.catch_up_all(&ticks);
            }
            Some(at) => out.extend_at(set.process(&ticks), |i| at.get(i).copied().unwrap_or(0)),
        }
    }
    out
}

/// A partition's items as runs of consecutive ticks to answer or only to feed,
/// in order: the ticks, and for a run to answer each tick's position among the
/// batch's answered ticks (`None`: fed only).
pub(super) fn runs<'a, 'b>(
    items: &'b [Item<'a>],
) -> impl Iterator<Item = (Vec<&'a MarketTick>, Option<Vec<usize>>)> + 'b {
    items
        .chunk_by(|a, b| a.1.is_some() == b.1.is_some())
        .map(|run| {
            let ticks = run.iter().map(|(_, _, t)| *t).collect();
            (ticks, run.iter().map(|(_, at, _)| *at).collect())
        })
}
