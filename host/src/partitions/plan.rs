//! What a partition's state records and ticks mean for its strategies: which
//! records are restored, which ticks each one replays (outputs suppressed) to
//! reach the group's committed offset, and whether the records are ahead of an
//! offset the group lost. Also the replay bound a reader needs before it reads.

use std::collections::HashSet;

use super::Instances;
use crate::contract::{decode_tick, MarketTick};
use crate::state::store::TickRange;
use crate::state::StateRecord;

/// What restoring a partition did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// Records restored.
    pub records: u64,
    /// Ticks replayed into them.
    pub replayed: u64,
    /// The lowest offset of a restored record above where the partition starts:
    /// the group's offset was lost behind it, and the ticks below it are answered.
    pub ahead: Option<i64>,
    /// The ticks to replay started after the records (removed by retention).
    pub gap: bool,
}

/// The first tick offset a gain must read to replay `records` up to
/// `committed`: the lowest record offset below it (`None`: nothing to replay).
pub fn replay_from(records: &[StateRecord], committed: Option<i64>) -> Option<i64> {
    let c = committed?;
    records
        .iter()
        .map(|r| r.next_offset)
        .filter(|o| *o < c)
        .min()
}

/// Restores `records` into partition `p`'s strategies and replays `ticks` (the
/// partition's ticks from [`replay_from`] to `committed`) into each from its
/// record's offset. `start`: where the partition starts (committed, else the log's
/// start). A record that is refused leaves its strategy at `init`.
pub fn restore(
    p: i32,
    records: &[StateRecord],
    ticks: &TickRange,
    committed: Option<i64>,
    start: Option<i64>,
    inst: &mut impl Instances,
) -> Restored {
    let mut out = Restored::default();
    let mut replays: Vec<(&str, i64)> = Vec::new();
    for r in records {
        match inst.restore(p, r) {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(partition = p, strategy_id = %r.strategy_id, "state of a strategy not loaded here");
                continue;
            }
            Err(reason) => {
                tracing::warn!(partition = p, strategy_id = %r.strategy_id, state_sha256 = %r.sha256, %reason, "state record refused; the strategy starts from init on this partition");
                continue;
            }
        }
        out.records += 1;
        match (committed, start) {
            (Some(c), _) if r.next_offset < c => replays.push((&r.strategy_id, r.next_offset)),
            // A record is written only once its ticks are answered and committed:
            // a group offset behind it was lost (expired, or never written).
            (_, Some(from)) if r.next_offset > from => {
                out.ahead = Some(out.ahead.map_or(r.next_offset, |a| a.min(r.next_offset)));
            }
            _ => {}
        }
    }
    // Ticks in order, each id once (a repeat was skipped when first answered).
    let mut seen = HashSet::new();
    let decoded: Vec<(i64, MarketTick)> = ticks
        .messages
        .iter()
        .filter_map(|(o, bytes)| decode_tick(bytes).ok().map(|env| (*o, env)))
        .filter(|(_, env)| seen.insert(env.id.clone()))
        .map(|(o, env)| (o, env.data))
        .collect();
    if let Some(from) = replays.iter().map(|(_, o)| *o).min() {
        if ticks.first > from {
            out.gap = true;
            tracing::warn!(
                partition = p,
                from,
                first = ticks.first,
                "ticks to replay were removed by retention; restored state misses them"
            );
        }
    }
    for (id, from) in replays {
        let refs: Vec<&MarketTick> = decoded
            .iter()
            .filter(|(o, _)| *o >= from)
            .map(|(_, t)| t)
            .collect();
        out.replayed += refs.len() as u64;
        inst.replay(p, id, &refs);
    }
    if let Some(below) = out.ahead {
        tracing::warn!(
            partition = p,
            state_offset = below,
            start = start.unwrap_or(-1),
            "state is ahead of the group's offset (the offset was lost); ticks below the state's offset count as answered"
        );
    }
    out
}
