//! Stage 2, dedupe: a tick the dedup store has seen, one of the batches still in
//! flight, or a repeat within the batch is not answered again. A seen tick in
//! its partition's catch-up window (answered by a previous owner after its last
//! commit) is still fed to the strategies, outputs dropped, so restored state
//! misses nothing.

use std::collections::HashSet;

use super::classify::Fresh;
use super::Host;

/// A batch's ticks after dedup.
pub(super) struct Deduped {
    /// Ticks to answer.
    pub keep: Vec<Fresh>,
    /// Ticks answered before, to feed only.
    pub caught: Vec<Fresh>,
}

impl Host {
    pub(super) async fn dedupe(
        &mut self,
        fresh: Vec<Fresh>,
        pending: &[&HashSet<String>],
    ) -> Deduped {
        let (skip, answered) = {
            let ids: Vec<&str> = fresh.iter().map(|f| f.env.id.as_str()).collect();
            let seen = self.dedup.seen(&ids).await;
            (
                repeats(&ids, &seen, pending),
                answered_elsewhere(&ids, &seen, pending),
            )
        };
        let total = fresh.len();
        let mut out = Deduped {
            keep: Vec::with_capacity(total),
            caught: Vec::new(),
        };
        for ((f, skip), answered) in fresh.into_iter().zip(skip).zip(answered) {
            if !skip {
                out.keep.push(f);
            } else if answered && f.catch_up {
                out.caught.push(f);
            }
        }
        let repeats = (total - out.keep.len()) as u64;
        self.shared.metrics.dedup_hits.inc_by(repeats);
        self.summary.duplicates += repeats;
        out
    }
}

/// Which of a batch's ids to skip: those the dedup store has `seen`, those of the
/// batches still in flight (`pending`: answered, not marked yet), and every repeat
/// of an id within the batch after its first.
fn repeats(ids: &[&str], seen: &[bool], pending: &[&HashSet<String>]) -> Vec<bool> {
    let mut in_batch: HashSet<&str> = HashSet::with_capacity(ids.len());
    ids.iter()
        .zip(seen)
        .map(|(id, s)| *s || pending.iter().any(|p| p.contains(*id)) || !in_batch.insert(id))
        .collect()
}

/// Which of a batch's ids the dedup store has seen that are neither in flight
/// nor repeated in the batch: answered before, maybe by another host.
fn answered_elsewhere(ids: &[&str], seen: &[bool], pending: &[&HashSet<String>]) -> Vec<bool> {
    let mut in_batch: HashSet<&str> = HashSet::with_capacity(ids.len());
    ids.iter()
        .zip(seen)
        .map(|(id, s)| {
            let first = in_batch.insert(id);
            *s && first && !pending.iter().any(|p| p.contains(*id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_of_the_batch_in_flight_is_a_repeat() {
        let pending: HashSet<String> = ["a", "b"].into_iter().map(String::from).collect();
        let ids = ["a", "c", "d", "c", "e", "b"];
        let seen = vec![false, false, true, false, false, false];
        assert_eq!(
            repeats(&ids, &seen, &[&pending]),
            vec![true, false, true, true, false, true],
            "in flight (a, b), seen by the store (d), repeated in the batch (2nd c)"
        );
        assert_eq!(
            repeats(&ids, &seen, &[]),
            vec![false, false, true, true, false, false],
            "with nothing in flight only the store and the batch count"
        );
    }

    #[test]
    fn a_tick_of_any_batch_in_flight_is_a_repeat() {
        let older: HashSet<String> = ["a"].into_iter().map(String::from).collect();
        let newer: HashSet<String> = ["b"].into_iter().map(String::from).collect();
        let ids = ["a", "b", "c"];
        let seen = [false, false, false];
        assert_eq!(
            repeats(&ids, &seen, &[&older, &newer]),
            vec![true, true, false],
            "a is in the older batch in flight, b in the newer one"
        );
        assert_eq!(
            answered_elsewhere(&ids, &[true, true, true], &[&older, &newer]),
            vec![false, false, true],
            "what either batch in flight answers was answered here, not elsewhere"
        );
    }

    #[test]
    fn only_a_first_store_seen_tick_was_answered_elsewhere() {
        let pending: HashSet<String> = ["a"].into_iter().map(String::from).collect();
        let ids = ["a", "b", "b", "c", "d"];
        let seen = [true, true, true, false, true];
        assert_eq!(
            answered_elsewhere(&ids, &seen, &[&pending]),
            vec![false, true, false, false, true],
            "in flight (a) and a repeat in the batch (2nd b) were answered here; c is new"
        );
    }
}
