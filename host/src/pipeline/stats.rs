//! Live counters of a running host, shared by the pipeline, the terminal display
//! and the metrics endpoint.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::strategy::live::LifecycleCounts;
use crate::strategy::{EventKind, EventSink, LiveStrategies};

/// How many recent signals the display keeps.
/// Signal lines and lifecycle events kept for the display.
pub const RECENT: usize = 8;

/// Distributions and per-partition values, kept in their own registry.
#[derive(Debug)]
pub struct Histograms {
    pub registry: prometheus::Registry,
    /// Seconds of one plugin call (a batch), per strategy.
    pub plugin_call: prometheus::HistogramVec,
    /// Seconds from handing a batch's outputs to the producer to the offset commit.
    pub commit: prometheus::Histogram,
    /// Seconds a batch spends in the host before its outputs go to the producer
    /// (decode, dedup lookup, plugin calls, envelopes): the in-host part of every
    /// tick-to-signal latency in the batch, broker time excluded.
    pub batch_host: prometheus::Histogram,
    /// Messages behind the high watermark, per partition (librdkafka statistics).
    pub consumer_lag: prometheus::IntGaugeVec,
}

impl Default for Histograms {
    fn default() -> Self {
        use prometheus::{exponential_buckets, HistogramOpts, Opts};
        // 10 µs to ~5 s, doubling: fine enough to read a p99 off.
        let buckets = exponential_buckets(0.000_01, 2.0, 20).unwrap_or_default();
        let plugin_call = prometheus::HistogramVec::new(
            HistogramOpts::new(
                "alpha_panda_plugin_call_seconds",
                "Duration of one plugin call (a batch of ticks)",
            )
            .buckets(buckets.clone()),
            &["strategy_id"],
        )
        .expect("constant metric definition");
        let commit = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "alpha_panda_commit_seconds",
                "From producing a batch's outputs to committing its offsets",
            )
            .buckets(buckets.clone()),
        )
        .expect("constant metric definition");
        let batch_host = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "alpha_panda_batch_host_seconds",
                "Time a batch spends in the host before its outputs are produced (broker time excluded)",
            )
            .buckets(buckets),
        )
        .expect("constant metric definition");
        let consumer_lag = prometheus::IntGaugeVec::new(
            Opts::new(
                "alpha_panda_consumer_lag",
                "Messages behind the high watermark",
            ),
            &["topic", "partition"],
        )
        .expect("constant metric definition");
        let registry = prometheus::Registry::new();
        let _ = registry.register(Box::new(plugin_call.clone()));
        let _ = registry.register(Box::new(commit.clone()));
        let _ = registry.register(Box::new(batch_host.clone()));
        let _ = registry.register(Box::new(consumer_lag.clone()));
        Self {
            registry,
            plugin_call,
            commit,
            batch_host,
            consumer_lag,
        }
    }
}

#[derive(Debug, Default)]
pub struct PipelineStats {
    pub histograms: Histograms,
    pub ticks_consumed: AtomicU64,
    pub duplicates: AtomicU64,
    pub signals: AtomicU64,
    pub dlq_records: AtomicU64,
    pub plugin_faults: AtomicU64,
    pub produce_retries: AtomicU64,
    pub commits: AtomicU64,
    /// Offset commits the broker refused (a later commit covers their offsets).
    pub commit_failures: AtomicU64,
    /// Exactly-once transactions aborted (and their batches run again).
    pub txn_aborts: AtomicU64,
    pub assigned_partitions: AtomicU64,
    pub rebalances: AtomicU64,
    /// Strategy state records written, restored on a gained partition, and the
    /// ticks replayed to bring restored state up to the committed offset.
    pub state_writes: AtomicU64,
    pub state_restores: AtomicU64,
    pub state_replayed_ticks: AtomicU64,
    /// Gained partitions whose state could not be read (strategies started from init).
    pub state_failures: AtomicU64,
    pub plugins_ready: AtomicBool,
    /// When `plugins_ready` was last computed (see [`crate::metrics`]).
    pub plugins_checked: Mutex<Option<std::time::Instant>>,
    pub redis_fallbacks: AtomicU64,
    pub plugin_loads: AtomicU64,
    pub plugin_reloads: AtomicU64,
    pub plugin_refusals: AtomicU64,
    pub plugin_unloads: AtomicU64,
    pub plugin_recoveries: AtomicU64,
    pub plugins_quarantined: AtomicU64,
    pub plugins_loaded: AtomicU64,
    /// Operator events per strategy and kind, counted where they happen (give it to
    /// the strategies' `SlotConfig::with_events`); they only go up.
    pub plugin_events: EventSink,
    releases: Mutex<Vec<String>>,
    per_strategy: Mutex<BTreeMap<(String, &'static str), u64>>,
    recent: Mutex<VecDeque<String>>,
    events: Mutex<VecDeque<String>>,
}

fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

impl PipelineStats {
    pub fn add_ticks(&self, n: u64) {
        add(&self.ticks_consumed, n);
    }
    pub fn add_duplicates(&self, n: u64) {
        add(&self.duplicates, n);
    }
    pub fn add_dlq(&self, n: u64) {
        add(&self.dlq_records, n);
    }
    pub fn add_faults(&self, n: u64) {
        add(&self.plugin_faults, n);
    }
    pub fn add_retries(&self, n: u64) {
        add(&self.produce_retries, n);
    }
    pub fn add_commit(&self) {
        add(&self.commits, 1);
    }

    /// Records a batch's signals: `counts` per (strategy id, side), and display lines
    /// for the last of them (at most [`RECENT`] are kept).
    pub fn signals(&self, counts: &[(&str, &'static str, u64)], lines: Vec<String>) {
        add(&self.signals, counts.iter().map(|c| c.2).sum());
        if !counts.is_empty() {
            if let Ok(mut m) = self.per_strategy.lock() {
                for (id, side, n) in counts {
                    *m.entry(((*id).to_owned(), *side)).or_insert(0) += n;
                }
            }
        }
        if !lines.is_empty() {
            if let Ok(mut r) = self.recent.lock() {
                for line in lines {
                    if r.len() == RECENT {
                        r.pop_front();
                    }
                    r.push_back(line);
                }
            }
        }
    }

    /// Records a plugin lifecycle event for the display.
    pub fn event(&self, line: String) {
        if let Ok(mut r) = self.events.lock() {
            if r.len() == RECENT {
                r.pop_front();
            }
            r.push_back(line);
        }
    }

    /// Copies the plugin lifecycle counters (at a tick boundary).
    pub fn set_lifecycle(&self, counts: LifecycleCounts, live: &LiveStrategies) {
        let r = Ordering::Relaxed;
        self.plugin_loads.store(counts.loads, r);
        self.plugin_reloads.store(counts.reloads, r);
        self.plugin_refusals.store(counts.refusals, r);
        self.plugin_unloads.store(counts.unloads, r);
        // Counted as they happen, so an unload does not take any back.
        self.plugin_recoveries
            .store(self.plugin_events.total(EventKind::Recovery), r);
        self.plugins_quarantined.store(
            live.strategy_ids()
                .filter(|id| live.is_quarantined(id))
                .count() as u64,
            r,
        );
        self.plugins_loaded.store(live.len() as u64, r);
    }

    /// An operator asks to lift a strategy's quarantine (applied at the next boundary).
    pub fn request_release(&self, strategy_id: &str) {
        if let Ok(mut r) = self.releases.lock() {
            r.push(strategy_id.to_owned());
        }
    }

    pub fn take_releases(&self) -> Vec<String> {
        self.releases
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }

    pub fn get(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }

    /// Signals per (strategy, side).
    pub fn per_strategy(&self) -> BTreeMap<(String, &'static str), u64> {
        self.per_strategy
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    pub fn recent_signals(&self) -> Vec<String> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn recent_events(&self) -> Vec<String> {
        self.events
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_counted_per_strategy_and_side_and_the_last_lines_kept() {
        let s = PipelineStats::default();
        s.signals(
            &[("a", "BUY", 3), ("b", "SELL", 2)],
            vec!["1".into(), "2".into()],
        );
        s.signals(
            &[("a", "BUY", 1)],
            (3..=10).map(|i| i.to_string()).collect(),
        );
        assert_eq!(s.signals.load(Ordering::Relaxed), 6);
        let per = s.per_strategy();
        assert_eq!(per.get(&("a".to_owned(), "BUY")), Some(&4));
        assert_eq!(per.get(&("b".to_owned(), "SELL")), Some(&2));
        assert_eq!(per.len(), 2);
        let recent: Vec<String> = (3..=10).map(|i| i.to_string()).collect();
        assert_eq!(
            s.recent_signals(),
            recent,
            "the last {RECENT} lines, oldest first"
        );
    }
}
