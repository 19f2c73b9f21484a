//! Operator events of the strategies: every load, reload, unload, refusal, fault,
//! recovery, quarantine and release is one structured log line with the fields
//! `event`, `strategy_id`, `old_sha256`, `new_sha256` ("-" when absent) and
//! `reason`, and one count in [`EventCounts`] (Prometheus counters), per strategy
//! id and event kind. The counts outlive the slots: unloading never lowers them.
//!
//! A fault on a tick is logged by the pipeline, which knows the tick's event and
//! correlation ids ([`log_tick_fault`]); the slot only counts it.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// The kinds of operator event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Load,
    Reload,
    Unload,
    Refusal,
    Fault,
    Recovery,
    Recycle,
    Quarantine,
    Release,
}

impl EventKind {
    pub const ALL: [EventKind; 9] = [
        EventKind::Load,
        EventKind::Reload,
        EventKind::Unload,
        EventKind::Refusal,
        EventKind::Fault,
        EventKind::Recovery,
        EventKind::Recycle,
        EventKind::Quarantine,
        EventKind::Release,
    ];

    /// The `event` field and metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Load => "load",
            EventKind::Reload => "reload",
            EventKind::Unload => "unload",
            EventKind::Refusal => "refusal",
            EventKind::Fault => "fault",
            EventKind::Recovery => "recovery",
            EventKind::Recycle => "recycle",
            EventKind::Quarantine => "quarantine",
            EventKind::Release => "release",
        }
    }

    fn message(self) -> &'static str {
        match self {
            EventKind::Load => "plugin loaded",
            EventKind::Reload => "plugin reloaded with its state",
            EventKind::Unload => "plugin unloaded",
            EventKind::Refusal => "plugin refused; the running version (if any) keeps running",
            EventKind::Fault => "plugin fault (no signals from this strategy for the tick; the tick is still committed)",
            EventKind::Recovery => "plugin instance rebuilt after a fault",
            EventKind::Recycle => {
                "plugin instance rebuilt from a fresh snapshot to give back memory its guest does not free"
            }
            EventKind::Quarantine => {
                "plugin quarantined; drop a new file or POST /plugins/ID/release to re-enable it"
            }
            EventKind::Release => "plugin quarantine lifted",
        }
    }
}

/// One operator event.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub kind: EventKind,
    pub strategy_id: &'a str,
    pub old_sha256: Option<&'a str>,
    pub new_sha256: Option<&'a str>,
    pub reason: &'a str,
}

impl<'a> Event<'a> {
    pub fn new(kind: EventKind, strategy_id: &'a str, reason: &'a str) -> Self {
        Self {
            kind,
            strategy_id,
            old_sha256: None,
            new_sha256: None,
            reason,
        }
    }

    pub fn old(mut self, sha256: Option<&'a str>) -> Self {
        self.old_sha256 = sha256;
        self
    }

    pub fn new_sha(mut self, sha256: Option<&'a str>) -> Self {
        self.new_sha256 = sha256;
        self
    }
}

/// Logs `$e` at `$level` with the fields every operator event carries.
macro_rules! event_line {
    ($level:ident, $e:expr) => {
        tracing::$level!(
            event = $e.kind.as_str(),
            strategy_id = %$e.strategy_id,
            old_sha256 = %$e.old_sha256.unwrap_or("-"),
            new_sha256 = %$e.new_sha256.unwrap_or("-"),
            reason = %$e.reason,
            "{}",
            $e.kind.message()
        )
    };
}

/// Writes the one log line of an event (without counting it).
pub fn log(e: &Event<'_>) {
    match e.kind {
        EventKind::Load
        | EventKind::Reload
        | EventKind::Unload
        | EventKind::Recovery
        | EventKind::Recycle
        | EventKind::Release => event_line!(info, e),
        EventKind::Fault => event_line!(warn, e),
        EventKind::Refusal | EventKind::Quarantine => event_line!(error, e),
    }
}

/// The one log line of a plugin fault on a tick, with the tick's ids (the pipeline
/// writes it; the slot that saw the fault counted it).
pub fn log_tick_fault(
    strategy_id: &str,
    sha256: &str,
    fault: &crate::wasm::Fault,
    event_id: &str,
    correlation_id: &str,
) {
    tracing::warn!(
        event = EventKind::Fault.as_str(),
        strategy_id = %strategy_id,
        old_sha256 = "-",
        new_sha256 = %sha256,
        reason = %fault,
        kind = fault.kind(),
        event_id = %event_id,
        correlation_id = %correlation_id,
        "{}",
        EventKind::Fault.message()
    );
}

/// Counts of operator events per (strategy id, kind), and the totals of loads,
/// reloads, refusals, unloads and recoveries; Prometheus counters, so they only go
/// up (unloading a strategy takes nothing back).
pub struct EventCounts {
    per: IntCounterVec,
    totals: Vec<(EventKind, IntCounter)>,
}

/// Where slots and the live set report their events; shared with the metrics.
pub type EventSink = Arc<EventCounts>;

impl std::fmt::Debug for EventCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.all()).finish()
    }
}

impl Default for EventCounts {
    /// Counts that are not exported (tests, replay).
    fn default() -> Self {
        Self::new().0
    }
}

/// The event kinds with a total of their own, and its metric name.
const TOTALS: [(EventKind, &str, &str); 5] = [
    (EventKind::Load, "plugin_loads_total", "Plugins loaded"),
    (
        EventKind::Reload,
        "plugin_reloads_total",
        "Plugins hot-reloaded with their state",
    ),
    (
        EventKind::Refusal,
        "plugin_refusals_total",
        "Plugin files refused",
    ),
    (
        EventKind::Unload,
        "plugin_unloads_total",
        "Plugins unloaded",
    ),
    (
        EventKind::Recovery,
        "plugin_recoveries_total",
        "Plugin instances rebuilt after a fault",
    ),
];

impl EventCounts {
    fn new() -> (Self, Vec<Box<dyn prometheus::core::Collector>>) {
        let per = IntCounterVec::new(
            Opts::new(
                "plugin_events_total",
                "Plugin operator events (load, reload, unload, refusal, fault, recovery, quarantine, release) per strategy",
            ),
            &["strategy_id", "event"],
        );
        let totals: Vec<(EventKind, IntCounter)> = TOTALS
            .iter()
            .filter_map(|(k, name, help)| Some((*k, IntCounter::new(*name, *help).ok()?)))
            .collect();
        let Ok(per) = per else {
            panic!("constant metric definition refused: plugin_events_total");
        };
        let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![Box::new(per.clone())];
        collectors.extend(
            totals
                .iter()
                .map(|(_, c)| Box::new(c.clone()) as Box<dyn prometheus::core::Collector>),
        );
        (Self { per, totals }, collectors)
    }

    /// Counts registered in `registry` (the host's metrics).
    pub fn registered(registry: &Registry) -> Self {
        let (counts, collectors) = Self::new();
        for c in collectors {
            if let Err(e) = registry.register(c) {
                tracing::warn!(error = %e, "an operator event metric is not exported");
            }
        }
        counts
    }

    /// Counts an event without logging it.
    pub fn count(&self, kind: EventKind, strategy_id: &str) {
        self.per
            .with_label_values(&[strategy_id, kind.as_str()])
            .inc();
        if let Some((_, total)) = self.totals.iter().find(|(k, _)| *k == kind) {
            total.inc();
        }
    }

    /// Logs the event's one line and counts it.
    pub fn record(&self, e: &Event<'_>) {
        log(e);
        self.count(e.kind, e.strategy_id);
    }

    /// How many `kind` events `strategy_id` had.
    pub fn get(&self, strategy_id: &str, kind: EventKind) -> u64 {
        self.all()
            .get(&(strategy_id.to_owned(), kind))
            .copied()
            .unwrap_or(0)
    }

    /// How many `kind` events all strategies had.
    pub fn total(&self, kind: EventKind) -> u64 {
        self.all()
            .iter()
            .filter(|((_, k), _)| *k == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// Every count, by (strategy id, kind).
    pub fn all(&self) -> BTreeMap<(String, EventKind), u64> {
        use prometheus::core::Collector as _;
        let mut out = BTreeMap::new();
        for family in self.per.collect() {
            for m in family.get_metric() {
                let label = |name: &str| {
                    m.get_label()
                        .iter()
                        .find(|l| l.name() == name)
                        .map(|l| l.value().to_owned())
                        .unwrap_or_default()
                };
                let event = label("event");
                if let Some(kind) = EventKind::ALL.iter().find(|k| k.as_str() == event) {
                    out.insert(
                        (label("strategy_id"), *kind),
                        m.get_counter().get_value() as u64,
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_kept_per_strategy_and_kind() {
        let c = EventCounts::default();
        c.count(EventKind::Fault, "a");
        c.count(EventKind::Fault, "a");
        c.record(&Event::new(
            EventKind::Quarantine,
            "a",
            "2 faults within 60s",
        ));
        c.count(EventKind::Fault, "b");
        assert_eq!(c.get("a", EventKind::Fault), 2);
        assert_eq!(c.get("a", EventKind::Quarantine), 1);
        assert_eq!(c.get("b", EventKind::Quarantine), 0);
        assert_eq!(c.total(EventKind::Fault), 3);
        assert_eq!(c.all().len(), 3);
    }

    #[test]
    fn kinds_have_distinct_names() {
        let mut names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
    }
}
