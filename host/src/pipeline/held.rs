//! Offsets held back from the broker, at-least-once: a finished batch's offsets
//! are held here and committed together every `delivery.commit_interval_ms`
//! (one commit request for many batches), at a revocation (the consumer's
//! context commits the revoked partitions' before they go), and at the stop.
//! Shared by the pipeline and the consumer's context.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::clock::Instant;

/// A partition's next offset to commit and its ownership epoch.
pub type Held = BTreeMap<i32, (i64, u64)>;

#[derive(Default)]
struct Inner {
    held: Held,
    /// Partitions revoked by librdkafka whose revocation the pipeline has not
    /// applied yet: a batch of theirs finishing now is no longer ours to commit.
    revoked: BTreeSet<i32>,
    /// When the oldest offset held was held.
    since: Option<Instant>,
}

/// The offsets waiting for their commit.
#[derive(Default)]
pub struct HeldCommits {
    inner: Mutex<Inner>,
}

impl HeldCommits {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while the lock is held; a poisoned map is still whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `offsets` (each partition's next offset and epoch) for the next
    /// commit; an offset never moves back, and a revoked partition's is dropped.
    pub fn hold(&self, offsets: impl IntoIterator<Item = (i32, (i64, u64))>, now: Instant) {
        let mut inner = self.lock();
        let Inner {
            held,
            revoked,
            since,
        } = &mut *inner;
        for (p, (next, epoch)) in offsets {
            if revoked.contains(&p) {
                continue;
            }
            let e = held.entry(p).or_insert((next, epoch));
            // A later ownership's offset wins, whatever its value.
            if (epoch, next) > (e.1, e.0) {
                *e = (next, epoch);
            }
            since.get_or_insert(now);
        }
    }

    /// When the offsets held are due for their commit, `every` after the
    /// oldest was held; `None` while nothing is held.
    pub fn due(&self, every: Duration) -> Option<Instant> {
        self.lock().since.map(|s| s + every)
    }

    /// Every offset held, taken for a commit.
    pub fn take(&self) -> Held {
        let mut inner = self.lock();
        inner.since = None;
        std::mem::take(&mut inner.held)
    }

    /// Librdkafka revokes `partitions`: their offsets held are taken (to commit
    /// before they go) and later ones refused until [`applied`](Self::applied).
    pub fn revoke(&self, partitions: &[i32]) -> Held {
        let mut inner = self.lock();
        inner.revoked.extend(partitions.iter().copied());
        let out: Held = partitions
            .iter()
            .filter_map(|p| inner.held.remove(p).map(|o| (*p, o)))
            .collect();
        if inner.held.is_empty() {
            inner.since = None;
        }
        out
    }

    /// The pipeline applied the revocation of `partitions`: a later batch of
    /// theirs runs in a new ownership, which the pipeline checks itself.
    pub fn applied(&self, partitions: &[i32]) {
        let mut inner = self.lock();
        for p in partitions {
            inner.revoked.remove(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[test]
    fn offsets_are_held_until_taken_and_never_move_back() {
        let h = HeldCommits::default();
        let t0 = at(0);
        assert_eq!(h.due(Duration::from_millis(100)), None);
        h.hold([(0, (10, 1)), (1, (5, 1))], t0);
        h.hold([(0, (7, 1))], at(20));
        h.hold([(1, (9, 1))], at(30));
        // Due an interval after the first offset held, not the last.
        assert_eq!(
            h.due(Duration::from_millis(100)),
            Some(t0 + Duration::from_millis(100))
        );
        assert_eq!(h.take(), Held::from([(0, (10, 1)), (1, (9, 1))]));
        assert_eq!(h.take(), Held::new());
        assert_eq!(h.due(Duration::from_millis(100)), None);
    }

    #[test]
    fn a_later_ownership_wins_over_the_offset_of_an_earlier() {
        let h = HeldCommits::default();
        h.hold([(0, (50, 1))], at(0));
        // Lost and gained again: the group may have been set back meanwhile.
        h.hold([(0, (40, 2))], at(1));
        // A batch of the old ownership finishing late does not take it back.
        h.hold([(0, (60, 1))], at(2));
        assert_eq!(h.take(), Held::from([(0, (40, 2))]));
    }

    #[test]
    fn a_revoked_partition_is_taken_and_refused_until_applied() {
        let h = HeldCommits::default();
        h.hold([(0, (10, 1)), (1, (20, 1))], at(0));
        assert_eq!(h.revoke(&[1, 2]), Held::from([(1, (20, 1))]));
        // A batch of partition 1 that finishes before the pipeline applies
        // the revocation is no longer this host's to commit.
        h.hold([(1, (30, 1)), (0, (11, 1))], at(1));
        assert_eq!(h.take(), Held::from([(0, (11, 1))]));
        h.applied(&[1]);
        h.hold([(1, (5, 2))], at(2));
        assert_eq!(h.take(), Held::from([(1, (5, 2))]));
    }

    #[test]
    fn taking_the_last_revoked_offset_leaves_nothing_due() {
        let h = HeldCommits::default();
        h.hold([(3, (1, 1))], at(0));
        h.revoke(&[3]);
        assert_eq!(h.due(Duration::ZERO), None);
    }
}
