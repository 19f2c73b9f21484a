//! Operator events of the strategies: every load, reload, unload, refusal, fault,
//! recovery, quarantine and release is one structured log line with the fields
//! `event`, `strategy_id`, `old_sha256`, `new_sha256` ("-" when absent) and
//! `reason`, and one count in [`EventCounts`], per strategy id and event kind.
//! The counts outlive the slots: unloading a strategy never lowers them.
//!
//! A fault on a tick is logged by the pipeline, which knows the tick's event and
//! correlation ids ([`log_tick_fault`]); the slot only counts it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The kinds of operator event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Load,
    Reload,
    Unload,
    Refusal,
    Fault,
    Recovery,
    Quarantine,
    Release,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Load,
        EventKind::Reload,
        EventKind::Unload,
        EventKind::Refusal,
        EventKind::Fault,
        EventKind::Recovery,
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

/// Counts of operator events per (strategy id, kind); they only go up.
#[derive(Debug, Default)]
pub struct EventCounts {
    counts: Mutex<BTreeMap<(String, EventKind), u64>>,
}

/// Where slots and the live set report their events; shared with the metrics.
pub type EventSink = Arc<EventCounts>;

impl EventCounts {
    /// Counts an event without logging it.
    pub fn count(&self, kind: EventKind, strategy_id: &str) {
        if let Ok(mut m) = self.counts.lock() {
            *m.entry((strategy_id.to_owned(), kind)).or_insert(0) += 1;
        }
    }

    /// Logs the event's one line and counts it.
    pub fn record(&self, e: &Event<'_>) {
        log(e);
        self.count(e.kind, e.strategy_id);
    }

    /// How many `kind` events `strategy_id` had.
    pub fn get(&self, strategy_id: &str, kind: EventKind) -> u64 {
        self.counts
            .lock()
            .ok()
            .and_then(|m| m.get(&(strategy_id.to_owned(), kind)).copied())
            .unwrap_or(0)
    }

    /// How many `kind` events all strategies had.
    pub fn total(&self, kind: EventKind) -> u64 {
        self.counts
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|((_, k), _)| *k == kind)
                    .map(|(_, n)| n)
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Every count, by (strategy id, kind).
    pub fn all(&self) -> BTreeMap<(String, EventKind), u64> {
        self.counts.lock().map(|m| m.clone()).unwrap_or_default()
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
