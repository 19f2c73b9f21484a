//! Stage 2, dedupe: a tick the dedup store has seen, one of the batches still in
//! flight, or a repeat within the batch is not answered again. A seen tick in
//! its partition's catch-up window (answered by a previous owner after its last
//! commit) is still fed to the strategies, outputs dropped, so restored state
//! misses nothing. A batch in flight from before its partition was lost and
//! gained again counts as such a previous owner: its answers are on their way,
//! but the restored state never had its ticks.

use std::collections::BTreeMap;

use foldhash::HashSetExt;

use super::classify::Fresh;
use super::Host;

/// A set of tick ids. foldhash, seeded per process, not SipHash: ids are hashed
/// several times a tick on the pipeline's thread, and these sets only live while
/// their batch is in flight (the dedup store keeps its own keyed fingerprints).
pub(super) type IdSet<T> = foldhash::HashSet<T>;

/// A batch in flight, as dedup sees it.
#[derive(Clone, Copy)]
pub(super) struct InFlight<'a> {
    /// Ids of the ticks it answers.
    pub ids: &'a IdSet<String>,
    /// Per partition: its offsets and the partition's ownership epoch when it ran.
    pub offsets: &'a BTreeMap<i32, (i64, u64)>,
}

/// A batch's ticks after dedup.
pub(super) struct Deduped {
    /// Ticks to answer.
    pub keep: Vec<Fresh>,
    /// Ticks answered before, to feed only.
    pub caught: Vec<Fresh>,
}

impl Host {
    pub(super) async fn dedupe(&mut self, fresh: Vec<Fresh>, pending: &[InFlight<'_>]) -> Deduped {
        let (skip, answered) = {
            let ids: Vec<&str> = fresh.iter().map(|f| f.env.id.as_str()).collect();
            let (here, before): (Vec<bool>, Vec<bool>) =
                fresh.iter().map(|f| self.in_flight(f, pending)).unzip();
            let mut seen = self.dedup.seen(&ids).await;
            for (s, b) in seen.iter_mut().zip(before) {
                *s |= b;
            }
            (
                repeats(&ids, &seen, &here),
                answered_elsewhere(&ids, &seen, &here),
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

    fn in_flight(&self, f: &Fresh, pending: &[InFlight<'_>]) -> (bool, bool) {
        in_flight(&f.env.id, f.partition, pending, |p, e| {
            self.states.still_owns(p, e)
        })
    }
}

/// Whether tick `id` of `partition` is answered by a batch in flight of the
/// partition's current ownership (`.0`), or else by one from before the partition
/// was lost and gained again (`.1`: a previous owner's answer, as if the store
/// had seen it). `owns(p, epoch)`: whether `p` is still owned as in `epoch`.
fn in_flight(
    id: &str,
    partition: i32,
    pending: &[InFlight<'_>],
    owns: impl Fn(i32, u64) -> bool,
) -> (bool, bool) {
    let (mut here, mut before) = (false, false);
    for b in pending.iter().filter(|b| b.ids.contains(id)) {
        match b.offsets.get(&partition) {
            Some(&(_, epoch)) if !owns(partition, epoch) => before = true,
            _ => here = true,
        }
    }
    (here, before && !here)
}

/// Which of a batch's ids to skip: those the dedup store has `seen`, those
/// answered by the batches still in flight (`here`: not marked yet), and every
/// repeat of an id within the batch after its first.
fn repeats(ids: &[&str], seen: &[bool], here: &[bool]) -> Vec<bool> {
    let mut in_batch: IdSet<&str> = IdSet::with_capacity(ids.len());
    ids.iter()
        .zip(seen)
        .zip(here)
        .map(|((id, s), h)| *s || *h || !in_batch.insert(id))
        .collect()
}

/// Which of a batch's ids the dedup store has seen that are neither in flight
/// here nor repeated in the batch: answered before, maybe by another host.
fn answered_elsewhere(ids: &[&str], seen: &[bool], here: &[bool]) -> Vec<bool> {
    let mut in_batch: IdSet<&str> = IdSet::with_capacity(ids.len());
    ids.iter()
        .zip(seen)
        .zip(here)
        .map(|((id, s), h)| {
            let first = in_batch.insert(id);
            *s && first && !*h
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> IdSet<String> {
        ids.iter().map(|s| String::from(*s)).collect()
    }

    #[test]
    fn a_tick_of_a_batch_in_flight_is_a_repeat() {
        let ids = ["a", "c", "d", "c", "e", "b"];
        let seen = [false, false, true, false, false, false];
        let here = [true, false, false, false, false, true];
        assert_eq!(
            repeats(&ids, &seen, &here),
            vec![true, false, true, true, false, true],
            "in flight (a, b), seen by the store (d), repeated in the batch (2nd c)"
        );
        assert_eq!(
            repeats(&ids, &seen, &[false; 6]),
            vec![false, false, true, true, false, false],
            "with nothing in flight only the store and the batch count"
        );
    }

    #[test]
    fn only_a_first_store_seen_tick_was_answered_elsewhere() {
        let ids = ["a", "b", "b", "c", "d"];
        let seen = [true, true, true, false, true];
        let here = [true, false, false, false, false];
        assert_eq!(
            answered_elsewhere(&ids, &seen, &here),
            vec![false, true, false, false, true],
            "in flight (a) and a repeat in the batch (2nd b) were answered here; c is new"
        );
    }

    #[test]
    fn a_batch_of_the_current_ownership_answers_here() {
        let (ids, offsets) = (set(&["a"]), BTreeMap::from([(0, (10, 1))]));
        let pending = [InFlight {
            ids: &ids,
            offsets: &offsets,
        }];
        let owns = |p: i32, e: u64| p == 0 && e == 1;
        assert_eq!(in_flight("a", 0, &pending, owns), (true, false));
        assert_eq!(
            in_flight("b", 0, &pending, owns),
            (false, false),
            "not in flight"
        );
    }

    #[test]
    fn a_batch_of_an_earlier_ownership_answered_as_a_previous_owner() {
        // Partition 0 was lost and gained again (epoch 1, now 2) while the batch
        // waited for its acks.
        let (old, old_offsets) = (set(&["a", "b"]), BTreeMap::from([(0, (10, 1))]));
        let (new, new_offsets) = (set(&["b"]), BTreeMap::from([(0, (12, 2))]));
        let owns = |p: i32, e: u64| p == 0 && e == 2;
        let older = InFlight {
            ids: &old,
            offsets: &old_offsets,
        };
        let newer = InFlight {
            ids: &new,
            offsets: &new_offsets,
        };
        assert_eq!(
            in_flight("a", 0, &[older], owns),
            (false, true),
            "only the old batch answers a: a previous owner's answer"
        );
        let pending = [older, newer];
        assert_eq!(
            in_flight("b", 0, &pending, owns),
            (true, false),
            "the current ownership answers b too: answered here"
        );

        // Fed inside the catch-up window, not skipped as in flight here.
        let (here, before) = in_flight("a", 0, &pending, owns);
        assert_eq!(repeats(&["a"], &[before], &[here]), vec![true]);
        assert_eq!(answered_elsewhere(&["a"], &[before], &[here]), vec![true]);
    }

    #[test]
    fn an_id_from_another_partition_in_flight_answers_here() {
        let (ids, offsets) = (set(&["a"]), BTreeMap::from([(1, (10, 1))]));
        let pending = [InFlight {
            ids: &ids,
            offsets: &offsets,
        }];
        assert_eq!(
            in_flight("a", 0, &pending, |_, _| false),
            (true, false),
            "the batch holds no offsets of partition 0: its answer of a is this ownership's"
        );
    }
}
