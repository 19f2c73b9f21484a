//! `Timers`: callbacks by tick time, kept in a deterministic queue ordered by (due, id).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pending timers. A timer fires before the first tick whose timestamp is at or after
/// its due time, with `now_us` = its due time; several fire in (due, id) order.
/// An id names one timer: setting it again moves it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Timers {
    by_due: BTreeSet<(i64, u64)>,
    by_id: BTreeMap<u64, i64>,
}

impl Timers {
    pub(crate) fn set(&mut self, due_us: i64, id: u64) {
        if let Some(old) = self.by_id.insert(id, due_us) {
            self.by_due.remove(&(old, id));
        }
        self.by_due.insert((due_us, id));
    }

    pub(crate) fn cancel(&mut self, id: u64) -> bool {
        match self.by_id.remove(&id) {
            Some(due) => self.by_due.remove(&(due, id)),
            None => false,
        }
    }

    pub(crate) fn due_of(&self, id: u64) -> Option<i64> {
        self.by_id.get(&id).copied()
    }

    /// `(due, id)` in firing order.
    pub(crate) fn list(&self) -> Vec<(i64, u64)> {
        self.by_due.iter().copied().collect()
    }

    /// Removes and returns the first timer due at or before `now_us` that sorts after
    /// `after`, the last one fired for this tick. A timer (re)set by a callback for a
    /// time before the one firing therefore waits for the next tick instead of looping.
    #[inline]
    pub(crate) fn pop_due(&mut self, now_us: i64, after: Option<(i64, u64)>) -> Option<(i64, u64)> {
        if self.by_due.is_empty() {
            return None;
        }
        let lower = match after {
            Some(key) => Bound::Excluded(key),
            None => Bound::Unbounded,
        };
        let next = *self.by_due.range((lower, Bound::Unbounded)).next()?;
        if next.0 > now_us {
            return None;
        }
        self.by_due.remove(&next);
        self.by_id.remove(&next.1);
        Some(next)
    }
}

/// Encoded as the list of `(due, id)` in firing order.
impl Serialize for Timers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(&self.by_due)
    }
}

impl<'de> Deserialize<'de> for Timers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut t = Timers::default();
        for (due, id) in Vec::<(i64, u64)>::deserialize(d)? {
            t.set(due, id);
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_due_then_id_order_and_moves_on_reset() {
        let mut t = Timers::default();
        t.set(30, 1);
        t.set(10, 2);
        t.set(10, 1); // moves timer 1 from 30 to 10
        t.set(20, 3);
        assert_eq!(t.list(), vec![(10, 1), (10, 2), (20, 3)]);
        assert_eq!(t.pop_due(15, None), Some((10, 1)));
        assert_eq!(t.pop_due(15, Some((10, 1))), Some((10, 2)));
        assert_eq!(t.pop_due(15, Some((10, 2))), None);
        assert!(t.cancel(3));
        assert!(!t.cancel(3));
        assert!(t.list().is_empty());
    }

    #[test]
    fn a_timer_set_behind_the_cursor_waits() {
        let mut t = Timers::default();
        t.set(10, 5);
        let fired = t.pop_due(100, None);
        assert_eq!(fired, Some((10, 5)));
        t.set(10, 5); // re-armed for the same time by its own callback
        assert_eq!(t.pop_due(100, fired), None);
        assert_eq!(t.pop_due(100, None), Some((10, 5)));
    }

    #[test]
    fn survives_a_postcard_round_trip() {
        let mut t = Timers::default();
        t.set(5, 9);
        t.set(-3, 1);
        let bytes = postcard::to_allocvec(&t).unwrap();
        let back: Timers = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.due_of(9), Some(5));
    }
}
