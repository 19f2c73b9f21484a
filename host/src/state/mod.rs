//! Strategy state that follows a partition: the record a host writes to the
//! compacted `{broker}.strategy.state` topic (one per consumer group, strategy and
//! partition of `market.ticks`), and the rule for reading it back.
//!
//! A record holds a strategy's snapshot after every tick of its partition below
//! `next_offset` was applied. The host writes one only once the ticks below
//! `next_offset` are committed (in exactly-once mode, in the same transaction), so
//! a record is never ahead of the group's offset. A host that gains the partition
//! restores the record with the highest `next_offset` and replays the ticks from
//! there to the committed offset with outputs suppressed: the state is exact
//! whether the previous owner stopped cleanly, crashed, or wrote late.
//!
//! - [`unit`]: the record of a strategy-scoped strategy (positions per partition).
//! - [`store`]: reading records and replaying ticks from the cluster.
pub mod unit;
pub mod store;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The `type` of every state record.
pub const RECORD_TYPE: &str = "strategy_state";

/// One strategy's state on one partition of `market.ticks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// The consumer group whose offsets the state goes with.
    pub group: String,
    pub strategy_id: String,
    pub partition: i32,
    /// Every tick of the partition below this offset is in `state`.
    pub next_offset: i64,
    /// Content hash of the plugin version that wrote the snapshot.
    pub sha256: String,
    pub state: Vec<u8>,
}

/// Why bytes on the state topic are not a state record.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error("state record is not valid JSON of the expected shape: {0}")]
    Shape(String),
    #[error("state record has type `{0}`, expected `{RECORD_TYPE}`")]
    Type(String),
    #[error("state record's `state` is not base64: {0}")]
    Base64(String),
    #[error("state record's key `{key}` does not match its strategy and partition")]
    Key { key: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    group: String,
    strategy_id: String,
    partition: i32,
    next_offset: i64,
    plugin_sha256: String,
    state: String,
}

impl StateRecord {
    /// `{group}:{strategy_id}:{partition}`: compaction keeps the newest per group,
    /// strategy and partition.
    pub fn key_of(group: &str, strategy_id: &str, partition: i32) -> String {
        format!("{group}:{strategy_id}:{partition}")
    }

    pub fn key(&self) -> String {
        Self::key_of(&self.group, &self.strategy_id, self.partition)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let wire = Wire {
            kind: RECORD_TYPE.to_owned(),
            group: self.group.clone(),
            strategy_id: self.strategy_id.clone(),
            partition: self.partition,
            next_offset: self.next_offset,
            plugin_sha256: self.sha256.clone(),
            state: B64.encode(&self.state),
        };
        // A struct of strings and integers always serializes.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Decodes a record; `key`, when given, must be the record's own.
    pub fn from_json(key: Option<&[u8]>, bytes: &[u8]) -> Result<Self, StateError> {
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|e| StateError::Shape(e.to_string()))?;
        let state = snapshot_of(RECORD_TYPE, wire.kind, &wire.state)?;
        let record = StateRecord {
            group: wire.group,
            strategy_id: wire.strategy_id,
            partition: wire.partition,
            next_offset: wire.next_offset,
            sha256: wire.plugin_sha256,
            state,
        };
        own_key(key, &record.key())?;
        Ok(record)
    }
}

/// The snapshot of a record whose wire says type `kind` and base64 `state`,
/// when `expected` is its type.
pub(crate) fn snapshot_of(
    expected: &str,
    kind: String,
    state: &str,
) -> Result<Vec<u8>, StateError> {
    if kind != expected {
        return Err(StateError::Type(kind));
    }
    B64.decode(state.as_bytes())
        .map_err(|e| StateError::Base64(e.to_string()))
}

/// A record read under `key` (when given) must be under its own key, `own`.
pub(crate) fn own_key(key: Option<&[u8]>, own: &str) -> Result<(), StateError> {
    match key {
        Some(key) if key != own.as_bytes() => Err(StateError::Key {
            key: String::from_utf8_lossy(key).into_owned(),
        }),
        _ => Ok(()),
    }
}

/// Keeps, per strategy, the record that covers the most ticks (a late write of an
/// older snapshot never replaces a newer one; on equal offsets the later wins).
pub fn newest(records: impl IntoIterator<Item = StateRecord>) -> Vec<StateRecord> {
    let mut best: std::collections::BTreeMap<String, StateRecord> = Default::default();
    for r in records {
        match best.get(&r.strategy_id) {
            Some(b) if b.next_offset > r.next_offset => {}
            _ => {
                best.insert(r.strategy_id.clone(), r);
            }
        }
    }
    best.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, next_offset: i64, state: &[u8]) -> StateRecord {
        StateRecord {
            group: "alpha-panda.strategy_runner.paper".to_owned(),
            strategy_id: id.to_owned(),
            partition: 3,
            next_offset,
            sha256: "ab".repeat(32),
            state: state.to_vec(),
        }
    }

    #[test]
    fn a_record_round_trips_with_binary_state() {
        let r = record("momentum_1", 42, &[0, 255, 7, 128]);
        let bytes = r.to_json();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"type\":\"strategy_state\""), "{text}");
        let key = "alpha-panda.strategy_runner.paper:momentum_1:3";
        assert_eq!(r.key(), key);
        assert_eq!(
            StateRecord::from_json(Some(key.as_bytes()), &bytes).unwrap(),
            r
        );
    }

    #[test]
    fn bad_records_are_typed_errors() {
        let good = record("s", 1, b"x").to_json();
        assert!(matches!(
            StateRecord::from_json(None, b"not json"),
            Err(StateError::Shape(_))
        ));
        let text = String::from_utf8(good.clone()).unwrap();
        let wrong_type = text.replace("strategy_state", "market_tick");
        assert_eq!(
            StateRecord::from_json(None, wrong_type.as_bytes()),
            Err(StateError::Type("market_tick".into()))
        );
        let bad_b64 = text.replace("\"state\":\"eA==\"", "\"state\":\"***\"");
        assert!(matches!(
            StateRecord::from_json(None, bad_b64.as_bytes()),
            Err(StateError::Base64(_))
        ));
        assert_eq!(
            StateRecord::from_json(Some(b"alpha-panda.strategy_runner.paper:s:4"), &good),
            Err(StateError::Key {
                key: "alpha-panda.strategy_runner.paper:s:4".into()
            })
        );
    }

    #[test]
    fn the_newest_record_is_the_one_that_covers_most_ticks() {
        let picked = newest([
            record("a", 10, b"a10"),
            record("b", 5, b"b5"),
            // A late write of an older snapshot.
            record("a", 7, b"a7"),
            record("b", 5, b"b5-again"),
        ]);
        assert_eq!(
            picked,
            vec![record("a", 10, b"a10"), record("b", 5, b"b5-again")]
        );
    }
}
