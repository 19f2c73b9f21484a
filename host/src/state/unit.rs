//! The state record of a strategy-scoped strategy: its snapshot after every tick
//! its [`Position`]s (per partition of `market.ticks`) cover was applied, on the
//! state topic's partition of its ownership unit. Like a partition's record it is never
//! ahead of the unit's committed offsets; the host that gains the unit restores
//! the newest and replays, in merge order, the ticks from `positions` to the
//! committed offsets with outputs suppressed.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{own_key, snapshot_of, StateError};

/// How far a strategy-scoped unit got in one partition of `market.ticks`. Its
/// ticks go in offset order per instrument, not per partition (an instrument is
/// not held back by another one's clock), so a position is an offset below which
/// every tick is done, plus, per instrument, the last tick done above it. A unit
/// commits it as its offset and the commit's metadata (`done` as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Every tick below this offset is done.
    pub offset: i64,
    /// Per instrument token: the last offset at or above `offset` that is done.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub done: BTreeMap<u32, i64>,
}

impl Position {
    /// Nothing done above `offset`.
    pub fn at(offset: i64) -> Self {
        Self {
            offset,
            done: BTreeMap::new(),
        }
    }

    /// Whether the tick of `token` at `offset` is done.
    pub fn covers(&self, offset: i64, token: u32) -> bool {
        offset < self.offset || self.done.get(&token).is_some_and(|d| offset <= *d)
    }

    /// The offset after the last tick done.
    pub fn end(&self) -> i64 {
        self.done
            .values()
            .map(|d| d + 1)
            .max()
            .unwrap_or(self.offset)
            .max(self.offset)
    }

    /// `done` as a commit's metadata (empty when nothing is done above `offset`).
    pub fn metadata(&self) -> String {
        if self.done.is_empty() {
            return String::new();
        }
        // A map of integers always serializes.
        serde_json::to_string(&self.done).unwrap_or_default()
    }

    /// The position a commit of `offset` with `metadata` says. Metadata that is
    /// not ours (another tool committed for the group) means nothing done above.
    pub fn from_commit(offset: i64, metadata: &str) -> Self {
        let done: BTreeMap<u32, i64> = serde_json::from_str(metadata).unwrap_or_default();
        Self {
            offset,
            done: done.into_iter().filter(|(_, d)| *d >= offset).collect(),
        }
    }
}

/// The `type` of a strategy-scoped state record.
pub const UNIT_RECORD_TYPE: &str = "strategy_scope_state";

/// One strategy-scoped strategy's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRecord {
    /// The consumer group of the host that wrote it (its namespace's).
    pub group: String,
    pub strategy_id: String,
    /// The ownership unit (partition of the state topic) it was written to.
    pub unit: i32,
    /// Per partition of `market.ticks`: the ticks in `state`.
    pub positions: BTreeMap<i32, Position>,
    pub sha256: String,
    pub state: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    group: String,
    strategy_id: String,
    unit: i32,
    positions: BTreeMap<i32, Position>,
    plugin_sha256: String,
    state: String,
}

impl UnitRecord {
    /// `{group}:{strategy_id}:scope`: compaction keeps the newest per strategy.
    pub fn key_of(group: &str, strategy_id: &str) -> String {
        format!("{group}:{strategy_id}:scope")
    }

    pub fn key(&self) -> String {
        Self::key_of(&self.group, &self.strategy_id)
    }

    /// How far it got, summed over partitions (offsets, then the ticks done
    /// above them): a later snapshot is further.
    pub fn covered(&self) -> (i64, i64) {
        let offsets = self.positions.values().map(|p| p.offset).sum();
        let above = self.positions.values().flat_map(|p| p.done.values()).sum();
        (offsets, above)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let wire = Wire {
            kind: UNIT_RECORD_TYPE.to_owned(),
            group: self.group.clone(),
            strategy_id: self.strategy_id.clone(),
            unit: self.unit,
            positions: self.positions.clone(),
            plugin_sha256: self.sha256.clone(),
            state: B64.encode(&self.state),
        };
        // Strings, integers and a map with integer keys always serialize.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Decodes a record; `key`, when given, must be the record's own.
    pub fn from_json(key: Option<&[u8]>, bytes: &[u8]) -> Result<Self, StateError> {
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|e| StateError::Shape(e.to_string()))?;
        let state = snapshot_of(UNIT_RECORD_TYPE, wire.kind, &wire.state)?;
        let record = UnitRecord {
            group: wire.group,
            strategy_id: wire.strategy_id,
            unit: wire.unit,
            positions: wire.positions,
            sha256: wire.plugin_sha256,
            state,
        };
        own_key(key, &record.key())?;
        Ok(record)
    }
}

/// Whether bytes on the state topic are a strategy-scoped record (by its type),
/// without decoding the snapshot.
pub fn is_unit_record(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_slice::<Kind>(bytes).is_ok_and(|k| k.kind == UNIT_RECORD_TYPE)
}

/// Keeps, per strategy, the record that covers the most ticks (on a tie the
/// later).
pub fn newest_units(records: impl IntoIterator<Item = UnitRecord>) -> Vec<UnitRecord> {
    let mut best: BTreeMap<String, UnitRecord> = BTreeMap::new();
    for r in records {
        match best.get(&r.strategy_id) {
            Some(b) if b.covered() > r.covered() => {}
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

    fn record(id: &str, positions: &[(i32, i64)], state: &[u8]) -> UnitRecord {
        UnitRecord {
            group: "alpha-panda.strategy_runner.paper".to_owned(),
            strategy_id: id.to_owned(),
            unit: 5,
            positions: positions
                .iter()
                .map(|(p, o)| (*p, Position::at(*o)))
                .collect(),
            sha256: "cd".repeat(32),
            state: state.to_vec(),
        }
    }

    #[test]
    fn a_record_round_trips_and_says_what_it_is() {
        let mut r = record("pair_1", &[(2, 40), (9, 17)], &[0, 200, 3]);
        r.positions
            .insert(4, Position::from_commit(3, r#"{"11":5}"#));
        let bytes = r.to_json();
        assert!(is_unit_record(&bytes));
        let key = "alpha-panda.strategy_runner.paper:pair_1:scope";
        assert_eq!(r.key(), key);
        assert_eq!(
            UnitRecord::from_json(Some(key.as_bytes()), &bytes).unwrap(),
            r
        );
        assert!(!is_unit_record(b"{\"type\":\"strategy_state\"}"));
        assert!(!is_unit_record(b"garbage"));
    }

    #[test]
    fn a_position_covers_what_is_done_and_travels_in_a_commits_metadata() {
        let pos = Position {
            offset: 10,
            done: [(7, 12), (8, 15)].into_iter().collect(),
        };
        assert!(pos.covers(9, 99), "below the offset: every instrument");
        assert!(pos.covers(12, 7) && !pos.covers(13, 7));
        assert!(pos.covers(14, 8) && !pos.covers(11, 9));
        assert_eq!(pos.end(), 16);
        assert_eq!(pos.metadata(), r#"{"7":12,"8":15}"#);
        assert_eq!(Position::from_commit(10, &pos.metadata()), pos);
        assert_eq!(Position::at(10).metadata(), "");
        assert_eq!(Position::from_commit(10, ""), Position::at(10));
        assert_eq!(
            Position::from_commit(10, "set by another tool"),
            Position::at(10),
            "metadata that is not ours means nothing done above the offset"
        );
        assert_eq!(
            Position::from_commit(13, &pos.metadata()).done,
            [(8, 15)].into_iter().collect(),
            "what is below the offset is dropped"
        );
    }

    #[test]
    fn bad_records_are_typed_errors() {
        let good = record("s", &[(0, 1)], b"x").to_json();
        assert!(matches!(
            UnitRecord::from_json(None, b"{}"),
            Err(StateError::Shape(_))
        ));
        let text = String::from_utf8(good.clone()).unwrap();
        let partition_record = text.replace(UNIT_RECORD_TYPE, "strategy_state");
        assert_eq!(
            UnitRecord::from_json(None, partition_record.as_bytes()),
            Err(StateError::Type("strategy_state".into()))
        );
        assert!(matches!(
            UnitRecord::from_json(Some(b"other:s:scope"), &good),
            Err(StateError::Key { .. })
        ));
    }

    #[test]
    fn the_newest_record_covers_most_ticks() {
        let picked = newest_units([
            record("a", &[(0, 10), (1, 10)], b"a20"),
            record("a", &[(0, 8), (1, 10)], b"a18-late"),
            record("b", &[(0, 3)], b"b3"),
            record("b", &[(0, 3)], b"b3-again"),
        ]);
        let states: Vec<&[u8]> = picked.iter().map(|r| r.state.as_slice()).collect();
        assert_eq!(states, [b"a20".as_slice(), b"b3-again".as_slice()]);
    }
}
