//! Every metric of a running host, registered once in one Prometheus registry:
//! the pipeline, the consumer's context and the strategies update them where things
//! happen, and `/metrics` is the registry's `gather`. Also the recent signal and
//! plugin lines of the terminal view ([`Recent`]).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::compat::PythonMonitoring;
use super::recent::Recent;
use crate::strategy::{EventCounts, EventSink, LiveStrategies};

/// The host's metrics (names are `alpha_panda_*`).
pub struct Metrics {
    registry: Registry,
    /// `compat.python_monitoring`: the Python runner's metrics and keys too.
    pub compat: Option<PythonMonitoring>,
    pub ticks_consumed: IntCounter,
    /// Tick messages of the partitions' batches finished: every strategy call
    /// back, outputs acked, offsets committed (strategy-scoped units not counted).
    pub ticks_done: IntCounter,
    pub dedup_hits: IntCounter,
    pub signals: IntCounter,
    /// Signals per strategy id and side.
    pub strategy_signals: IntCounterVec,
    pub dlq_records: IntCounter,
    /// Live ticks older than `start.max_tick_age_ms`: fed, never signalled.
    pub stale_ticks: IntCounter,
    pub plugin_faults: IntCounter,
    pub produce_retries: IntCounter,
    pub commits: IntCounter,
    /// Offset commits the broker refused (a later commit covers their offsets).
    pub commit_failures: IntCounter,
    /// Exactly-once transactions aborted (and their batches run again).
    pub transaction_aborts: IntCounter,
    pub rebalances: IntCounter,
    pub state_writes: IntCounter,
    pub state_restores: IntCounter,
    pub state_replayed_ticks: IntCounter,
    /// Partitions whose state could not be read (strategies started from init).
    pub state_failures: IntCounter,
    pub redis_fallbacks: IntCounter,
    pub plugins_quarantined: IntGauge,
    pub plugins_loaded: IntGauge,
    pub assigned_partitions: IntGauge,
    /// Seconds of one plugin call (a batch), per strategy.
    pub plugin_call: HistogramVec,
    /// Seconds from handing a batch's outputs to the producer to its commit.
    pub commit_seconds: Histogram,
    /// Ticks a batch took from the consumer (`plugins.latency_batch` and
    /// `max_batch` bound it).
    pub batch_ticks: Histogram,
    /// A tick's time in the host and its parts.
    pub in_host: InHost,
    /// Per strategy: a tick taken from the consumer to its signal acknowledged by
    /// the broker (one observation per signal).
    pub tick_to_signal: HistogramVec,
    /// Messages behind the high watermark, per partition (librdkafka statistics).
    pub consumer_lag: IntGaugeVec,
    /// Strategy-scoped units: what this host owns and runs.
    pub units: UnitMetrics,
    /// Operator events per strategy and kind, and their totals (shared with the
    /// strategies, which count them where they happen).
    pub plugin_events: EventSink,
    /// What the terminal view shows besides the counters.
    pub recent: Recent,
}

/// A tick's time in the host (broker time excluded) and its parts, in order:
/// the batch prepared, a call's wait for its lane, the call (per strategy, in
/// [`Metrics::plugin_call`]), the pipeline taking it back.
pub struct InHost {
    /// Seconds from a batch's first message taken to its outputs handed to the
    /// producer (decode, dedup lookup, plugin calls, envelopes): the in-host part
    /// of the tick-to-signal latency. At-least-once one observation per strategy
    /// call that signalled, exactly-once one per batch.
    pub batch: Histogram,
    /// Seconds from a batch's first message taken to its calls handed out
    /// (decode, dedup lookup, routing), one observation per batch.
    pub prepare: Histogram,
    /// Seconds from a strategy call handed to its lane to its start on a
    /// worker: waiting for the lane's earlier calls or for a free worker.
    pub lane_wait: Histogram,
    /// Seconds from a strategy call's end to the pipeline taking it back (its
    /// outputs are encoded and handed to the producer then), one per call.
    pub pickup: Histogram,
}

impl InHost {
    fn registered(r: &Reg<'_>) -> Self {
        Self {
            batch: r.histogram(
                "batch_host_seconds",
                "A batch's first message taken to its outputs (a call's, at-least-once) handed to the producer",
            ),
            prepare: r.histogram(
                "batch_prepare_seconds",
                "A batch's first message taken to its calls handed out (decode, dedup, routing)",
            ),
            lane_wait: r.histogram(
                "lane_wait_seconds",
                "A strategy call handed to its lane to its start on a worker",
            ),
            pickup: r.histogram(
                "call_pickup_seconds",
                "A strategy call's end to the pipeline taking its outputs back",
            ),
        }
    }
}

/// The metrics of strategy-scoped units on this host.
pub struct UnitMetrics {
    /// Units the owners group gave this host.
    pub owned: IntGauge,
    /// Ticks released to strategy-scoped instances.
    pub ticks: IntCounter,
    /// 1 per strategy-scoped strategy running here, with its unit.
    pub running: IntGaugeVec,
    /// Per strategy-scoped strategy here: ticks behind the log end of its partitions.
    pub lag: IntGaugeVec,
    /// Ticks that went after waiting `plugins.align_wait_ms` for an empty partition.
    pub align_waits: IntCounterVec,
    /// One line per strategy-scoped strategy running here, for `/health`.
    pub placements: std::sync::Mutex<Vec<String>>,
}

/// A metric definition that is constant: it cannot fail but for a bug.
fn ok<T>(m: prometheus::Result<T>) -> T {
    match m {
        Ok(m) => m,
        Err(e) => panic!("constant metric definition refused: {e}"),
    }
}

/// Registers each metric as it is made.
struct Reg<'a>(&'a Registry);

/// Histogram bucket bounds in seconds, 10 µs to 10 s in steps of 1, 2 and 5:
/// a latency target such as 1 ms is a bound, so a quantile can be read
/// against it, and steps stay within 2.5× of each other.
fn bounds() -> Vec<f64> {
    // From whole microseconds, so each bound is the double nearest its decimal.
    let mut micros: Vec<u64> = (1..7)
        .flat_map(|e| [1, 2, 5].map(|m| m * 10u64.pow(e)))
        .collect();
    micros.push(10_000_000);
    micros.into_iter().map(|us| us as f64 / 1e6).collect()
}

impl Reg<'_> {
    fn add<C: prometheus::core::Collector + Clone + 'static>(&self, c: C) -> C {
        ok(self.0.register(Box::new(c.clone())));
        c
    }

    fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.add(ok(IntCounter::new(name, help)))
    }

    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.add(ok(IntGauge::new(name, help)))
    }

    fn opts(name: &str, help: &str) -> HistogramOpts {
        HistogramOpts::new(name, help).buckets(bounds())
    }

    fn histogram(&self, name: &str, help: &str) -> Histogram {
        self.add(ok(Histogram::with_opts(Self::opts(name, help))))
    }
}

impl UnitMetrics {
    fn registered(r: &Reg<'_>) -> Self {
        Self {
            owned: r.gauge("units_owned", "Strategy-scoped units this host owns"),
            ticks: r.counter("unit_ticks_total", "Ticks run by strategy-scoped instances"),
            running: r.add(ok(IntGaugeVec::new(
                Opts::new(
                    "scoped_strategy_running",
                    "1 per strategy-scoped strategy running on this host",
                ),
                &["strategy_id", "unit"],
            ))),
            lag: r.add(ok(IntGaugeVec::new(
                Opts::new(
                    "scoped_strategy_lag",
                    "Ticks a strategy-scoped strategy here is behind its partitions' end",
                ),
                &["strategy_id"],
            ))),
            align_waits: r.add(ok(IntCounterVec::new(
                Opts::new(
                    "align_waits_total",
                    "Ticks that went after a wait for an empty merged instrument ran out",
                ),
                &["unit"],
            ))),
            placements: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = ok(Registry::new_custom(Some("alpha_panda".into()), None));
        let r = Reg(&registry);
        let by = |name: &str, help: &str, labels: &[&str]| {
            r.add(ok(IntCounterVec::new(Opts::new(name, help), labels)))
        };
        Self {
            ticks_consumed: r.counter("ticks_consumed_total", "Tick messages consumed"),
            ticks_done: r.counter(
                "ticks_done_total",
                "Tick messages whose batch is finished: calls back, outputs acked, offsets committed",
            ),
            dedup_hits: r.counter("dedup_hits_total", "Duplicate ticks skipped"),
            signals: r.counter("signals_total", "Signals produced"),
            strategy_signals: by(
                "strategy_signals_total",
                "Signals per strategy and side",
                &["strategy_id", "side"],
            ),
            dlq_records: r.counter("dlq_records_total", "Records written to a DLQ"),
            stale_ticks: r.counter(
                "stale_ticks_total",
                "Ticks older than start.max_tick_age_ms: fed to warm state, never signalled",
            ),
            plugin_faults: r.counter("plugin_faults_total", "Plugin faults"),
            produce_retries: r.counter("produce_retries_total", "Produce retries"),
            commits: r.counter("commits_total", "Offset commits"),
            commit_failures: r.counter("commit_failures_total", "Offset commits refused"),
            transaction_aborts: r.counter("transaction_aborts_total", "Transactions aborted"),
            rebalances: r.counter("rebalances_total", "Consumer group rebalances"),
            state_writes: r.counter("state_writes_total", "State records written"),
            state_restores: r.counter("state_restores_total", "State records restored"),
            state_replayed_ticks: r.counter(
                "state_replayed_ticks_total",
                "Ticks replayed into restored state",
            ),
            state_failures: r.counter("state_failures_total", "State reads that failed"),
            redis_fallbacks: r.counter(
                "redis_fallbacks_total",
                "Redis failures answered in-process",
            ),
            plugins_quarantined: r.gauge("plugins_quarantined", "Plugins in quarantine"),
            plugins_loaded: r.gauge("plugins_loaded", "Plugins running"),
            assigned_partitions: r.gauge("assigned_partitions", "Partitions assigned to this host"),
            plugin_call: r.add(ok(HistogramVec::new(
                Reg::opts("plugin_call_seconds", "One plugin call (a batch)"),
                &["strategy_id"],
            ))),
            commit_seconds: r.histogram(
                "commit_seconds",
                "Producing a batch's outputs to its commit",
            ),
            batch_ticks: r.add(ok(Histogram::with_opts(
                HistogramOpts::new("batch_ticks", "Ticks a batch took from the consumer")
                    .buckets((0..11).map(|k| f64::from(1u32 << k)).collect()),
            ))),
            tick_to_signal: r.add(ok(HistogramVec::new(
                Reg::opts(
                    "tick_to_signal_seconds",
                    "A tick taken from the consumer to its signal acknowledged, per strategy",
                ),
                &["strategy_id"],
            ))),
            in_host: InHost::registered(&r),
            consumer_lag: r.add(ok(IntGaugeVec::new(
                Opts::new("consumer_lag", "Messages behind the high watermark"),
                &["topic", "partition"],
            ))),
            units: UnitMetrics::registered(&r),
            plugin_events: std::sync::Arc::new(EventCounts::registered(&registry)),
            recent: Recent::default(),
            registry,
            compat: None,
        }
    }

    /// The same metrics, and the Python runner's beside them.
    pub fn with_python_monitoring(mut self, compat: PythonMonitoring) -> Self {
        self.compat = Some(compat);
        self
    }

    /// Observes the tick-to-signal latency of `answered` (signals per strategy).
    pub fn observe_tick_to_signal(&self, answered: &[(String, u64)], took: std::time::Duration) {
        for (id, n) in answered {
            let h = self.tick_to_signal.with_label_values(&[id.as_str()]);
            for _ in 0..*n {
                h.observe(took.as_secs_f64());
            }
        }
    }

    /// Counts `n` records written to the DLQ of `topic`.
    pub fn count_dlq(&self, topic: &str, n: u64) {
        self.dlq_records.inc_by(n);
        if let (Some(c), true) = (&self.compat, n > 0) {
            c.dlq(topic, n);
        }
    }

    /// The `/metrics` text: every metric of the registry, as it stands.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let mut families = self.registry.gather();
        if let Some(c) = &self.compat {
            families.extend(c.registry().gather());
        }
        if let Err(e) = TextEncoder::new().encode(&families, &mut buf) {
            tracing::warn!(error = %e, "metrics could not be encoded");
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Counts a batch's signals, per strategy and side.
    pub fn count_signals<'a>(&self, signals: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut counts: Vec<(&str, &str, u64)> = Vec::new();
        for (id, side) in signals {
            match counts.iter_mut().find(|(i, s, _)| *i == id && *s == side) {
                Some(c) => c.2 += 1,
                None => counts.push((id, side, 1)),
            }
        }
        for (id, side, n) in counts {
            self.signals.inc_by(n);
            self.strategy_signals
                .with_label_values(&[id, side])
                .inc_by(n);
        }
    }

    /// The plugin gauges, from the running strategies.
    pub fn set_plugins(&self, live: &LiveStrategies) {
        let quarantined = live.strategy_ids().filter(|id| live.is_quarantined(id));
        self.plugins_quarantined.set(quarantined.count() as i64);
        self.plugins_loaded.set(live.len() as i64);
    }

    /// Signals so far per (strategy id, side), for the terminal view and summary.
    pub fn per_strategy(&self) -> Vec<(String, String, u64)> {
        let mut out = Vec::new();
        for family in self.strategy_signals.collect() {
            for m in family.get_metric() {
                let label = |name: &str| {
                    m.get_label()
                        .iter()
                        .find(|l| l.name() == name)
                        .map(|l| l.value().to_owned())
                        .unwrap_or_default()
                };
                let n = m.get_counter().get_value() as u64;
                out.push((label("strategy_id"), label("side"), n));
            }
        }
        out.sort();
        out
    }
}

use prometheus::core::Collector as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_registered_once_and_rendered_by_gather() {
        let m = Metrics::new();
        m.ticks_consumed.inc_by(3);
        m.ticks_done.inc_by(2);
        m.count_signals([("a", "BUY"), ("a", "BUY"), ("b", "SELL")]);
        m.in_host.batch.observe(0.001);
        let text = m.render();
        for line in [
            "alpha_panda_ticks_consumed_total 3",
            "alpha_panda_ticks_done_total 2",
            "alpha_panda_signals_total 3",
            "alpha_panda_strategy_signals_total{side=\"BUY\",strategy_id=\"a\"} 2",
            "alpha_panda_strategy_signals_total{side=\"SELL\",strategy_id=\"b\"} 1",
            "alpha_panda_batch_host_seconds_count 1",
            "alpha_panda_assigned_partitions 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert_eq!(
            m.per_strategy(),
            vec![
                ("a".into(), "BUY".into(), 2),
                ("b".into(), "SELL".into(), 1)
            ]
        );
        let names: Vec<String> = m
            .registry
            .gather()
            .iter()
            .map(|f| f.name().to_owned())
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "each family once");
    }

    #[test]
    fn latency_buckets_step_1_2_5_so_a_millisecond_is_a_bound() {
        let m = Metrics::new();
        m.in_host.batch.observe(0.000_9);
        m.in_host.batch.observe(0.001);
        m.in_host.batch.observe(0.001_1);
        let text = m.render();
        let bucket = |le: &str| {
            let prefix = format!("alpha_panda_batch_host_seconds_bucket{{le=\"{le}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .unwrap_or_else(|| panic!("no bucket {le} in:\n{text}"))
                .to_owned()
        };
        assert_eq!(bucket("0.0005"), "0");
        assert_eq!(bucket("0.001"), "2");
        assert_eq!(bucket("0.002"), "3");
        assert_eq!(bucket("0.00001"), "0");
        assert_eq!(bucket("10"), "3");
        assert_eq!(bounds().len(), 19);
        assert!(bounds().windows(2).all(|w| w[1] / w[0] <= 2.5 + 1e-9));
    }
}
