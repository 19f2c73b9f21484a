//! Where ids come from: fresh UUIDv7 ids at the edge, and child envelopes whose
//! ids are derived deterministically from their parent.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::broker::BrokerNamespace;
use super::envelope::{EventEnvelope, VERSION};
use super::event_type::EventType;
use super::time::Timestamp;

/// A fresh UUIDv7, for ids made at the edge of the system (the feed).
pub fn new_root_id() -> String {
    Uuid::now_v7().to_string()
}

/// Which output of which strategy, in which namespace, a child event is: with the
/// parent's id, this determines the child's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lineage<'a> {
    pub namespace: BrokerNamespace,
    pub strategy_id: &'a str,
    /// The output's position among the outputs made from one parent.
    pub index: u32,
}

/// The deterministic id of a child event: a UUIDv7 whose 48-bit millisecond field
/// is the parent's time (`parent_unix_ms`, clamped to the field's range) and whose
/// other bits come from the SHA-256 of the parent id, namespace, strategy id and
/// index. The same inputs give the same id, so a message reprocessed after a crash
/// re-emits the same ids; children sort by their parent's time like fresh v7 ids.
pub fn child_id(parent_id: &str, parent_unix_ms: i64, lineage: &Lineage<'_>) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"alpha-panda/child-id/v1");
    // Length-prefix each text part so that no two part lists hash alike.
    for part in [parent_id, lineage.namespace.as_str(), lineage.strategy_id] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.update(lineage.index.to_be_bytes());
    let digest = h.finalize();
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(parent_unix_ms).unwrap_or(0).min(MAX_UNIX_MS);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// The largest value of a UUIDv7's 48-bit millisecond field.
const MAX_UNIX_MS: u64 = (1 << 48) - 1;

/// The output-specific parts of a child envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<T> {
    pub event_type: EventType,
    pub key: String,
    pub source: String,
    /// When the child is made; the caller reads the clock.
    pub ts: Timestamp,
    pub data: T,
}

impl<P> EventEnvelope<P> {
    /// Derives a child: correlation and trace inherited, `parent_trace_id` the
    /// parent's trace, `causation_id` the parent's id, `broker` the lineage's
    /// namespace, version [`VERSION`], and a deterministic id ([`child_id`], on the
    /// parent's `ts`).
    pub fn child<T>(&self, lineage: &Lineage<'_>, event: NewEvent<T>) -> EventEnvelope<T> {
        EventEnvelope {
            id: child_id(&self.id, self.ts.to_unix_millis(), lineage).to_string(),
            correlation_id: self.correlation_id.clone(),
            causation_id: Some(self.id.clone()),
            trace_id: self.trace_id.clone(),
            parent_trace_id: Some(self.trace_id.clone()),
            broker: lineage.namespace.as_str().to_owned(),
            event_type: event.event_type,
            ts: event.ts,
            key: event.key,
            source: event.source,
            version: VERSION,
            data: event.data,
        }
    }
}

impl<T> EventEnvelope<T> {
    /// A root envelope made at the edge: fresh UUIDv7 id, correlation id and
    /// trace id, no parent.
    pub fn root(broker: &str, event: NewEvent<T>) -> EventEnvelope<T> {
        EventEnvelope {
            id: new_root_id(),
            correlation_id: new_root_id(),
            causation_id: None,
            trace_id: new_root_id(),
            parent_trace_id: None,
            broker: broker.to_owned(),
            event_type: event.event_type,
            ts: event.ts,
            key: event.key,
            source: event.source,
            version: VERSION,
            data: event.data,
        }
    }
}
