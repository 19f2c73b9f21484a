//! Ticks of several partitions merged by event time, the order a strategy-scoped
//! instance sees them in: each partition's ticks stay in offset order, and across
//! partitions the head with the lowest `(timestamp, partition, offset)` goes first.
//!
//! A head may go only once every partition that may still hold an earlier tick has
//! one buffered: a partition with nothing buffered is waited for, up to `wait`
//! from when it ran empty, unless it is caught up (nothing more to read from it
//! now). A wait that runs out is counted, and the merge goes on without it (what
//! comes later from it may then be out of order). Kafka Streams' partition groups
//! work the same way (`max.task.idle.ms`).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::clock::Instant;

/// One partition's buffered ticks.
#[derive(Debug)]
struct Lane<T> {
    queue: VecDeque<(i64, i64, T)>,
    /// Nothing more can be read from the partition now (its log end is reached).
    caught_up: bool,
    /// When it last ran empty while not caught up.
    empty_since: Option<Instant>,
    /// Its wait ran out (counted once per empty spell).
    given_up: bool,
}

/// The merge of a set of partitions.
#[derive(Debug)]
pub struct TimeMerge<T> {
    wait: Duration,
    lanes: BTreeMap<i32, Lane<T>>,
    /// Waits that ran out (a partition given up on for a while).
    pub expired_waits: u64,
}

/// A tick released by the merge.
#[derive(Debug, PartialEq, Eq)]
pub struct Released<T> {
    pub partition: i32,
    pub offset: i64,
    pub timestamp_us: i64,
    pub item: T,
}

impl<T> TimeMerge<T> {
    /// A merge of `partitions`, each caught up until told otherwise.
    pub fn new(partitions: impl IntoIterator<Item = i32>, wait: Duration) -> Self {
        let lanes = partitions
            .into_iter()
            .map(|p| {
                (
                    p,
                    Lane {
                        queue: VecDeque::new(),
                        caught_up: true,
                        empty_since: None,
                        given_up: false,
                    },
                )
            })
            .collect();
        Self {
            wait,
            lanes,
            expired_waits: 0,
        }
    }

    /// Buffers a tick of `partition` (ticks of one partition come in offset order).
    pub fn push(&mut self, partition: i32, offset: i64, timestamp_us: i64, item: T) {
        if let Some(lane) = self.lanes.get_mut(&partition) {
            lane.queue.push_back((timestamp_us, offset, item));
            lane.empty_since = None;
            lane.given_up = false;
        }
    }

    /// Whether everything of `partition` is read (its log end reached) at `now`.
    pub fn set_caught_up(&mut self, partition: i32, caught_up: bool, now: Instant) {
        if let Some(lane) = self.lanes.get_mut(&partition) {
            if lane.caught_up && !caught_up && lane.queue.is_empty() {
                lane.empty_since = Some(now);
            }
            lane.caught_up = caught_up;
        }
    }

    /// The next tick in merge order, if it may go at `now`.
    pub fn pop(&mut self, now: Instant) -> Option<Released<T>> {
        let mut head: Option<(i64, i32, i64)> = None;
        for (&p, lane) in &self.lanes {
            if let Some((ts, offset, _)) = lane.queue.front() {
                let key = (*ts, p, *offset);
                if head.is_none_or(|h| key < h) {
                    head = Some(key);
                }
            }
        }
        let (_, p, _) = head?;
        for lane in self.lanes.values_mut() {
            if !lane.queue.is_empty() || lane.caught_up || lane.given_up {
                continue;
            }
            let since = *lane.empty_since.get_or_insert(now);
            if now.saturating_duration_since(since) < self.wait {
                return None;
            }
            lane.given_up = true;
            self.expired_waits += 1;
        }
        let lane = self.lanes.get_mut(&p)?;
        let (timestamp_us, offset, item) = lane.queue.pop_front()?;
        if lane.queue.is_empty() && !lane.caught_up {
            lane.empty_since = Some(now);
        }
        Some(Released {
            partition: p,
            offset,
            timestamp_us,
            item,
        })
    }

    /// When the merge, blocked on empty partitions, gives up waiting for them.
    pub fn deadline(&self) -> Option<Instant> {
        self.lanes
            .values()
            .filter(|l| l.queue.is_empty() && !l.caught_up && !l.given_up)
            .filter_map(|l| l.empty_since)
            .min()
            .map(|t| t + self.wait)
    }

    /// Ticks buffered in all.
    pub fn len(&self) -> usize {
        self.lanes.values().map(|l| l.queue.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    fn drain(m: &mut TimeMerge<&'static str>, now: Instant) -> Vec<&'static str> {
        std::iter::from_fn(|| m.pop(now).map(|r| r.item)).collect()
    }

    #[test]
    fn caught_up_partitions_merge_by_time_then_partition_then_offset() {
        let mut m = TimeMerge::new([0, 1, 2], Duration::from_millis(50));
        m.push(1, 10, 5, "p1@10 t5");
        m.push(0, 7, 5, "p0@7 t5");
        m.push(0, 8, 9, "p0@8 t9");
        m.push(2, 3, 1, "p2@3 t1");
        m.push(1, 11, 2, "p1@11 t2 (after t5 in its partition)");
        assert_eq!(
            drain(&mut m, clock::now()),
            [
                "p2@3 t1",
                "p0@7 t5",
                "p1@10 t5",
                "p1@11 t2 (after t5 in its partition)",
                "p0@8 t9"
            ]
        );
        assert_eq!(m.expired_waits, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lagging_empty_partition_is_waited_for_then_given_up_on() {
        let mut m = TimeMerge::new([0, 1], Duration::from_millis(50));
        m.set_caught_up(1, false, clock::now());
        m.push(0, 0, 100, "p0 t100");
        assert!(
            m.pop(clock::now()).is_none(),
            "partition 1 may hold an earlier tick"
        );
        assert_eq!(m.deadline(), Some(clock::now() + Duration::from_millis(50)));
        tokio::time::advance(Duration::from_millis(20)).await;
        m.push(1, 0, 90, "p1 t90");
        assert_eq!(
            drain(&mut m, clock::now()),
            ["p1 t90"],
            "then partition 1 is empty and behind again: p0 t100 waits"
        );
        // Partition 1 ran empty again and is still behind: wait anew.
        m.push(0, 1, 110, "p0 t110");
        assert!(m.pop(clock::now()).is_none());
        tokio::time::advance(Duration::from_millis(50)).await;
        assert_eq!(drain(&mut m, clock::now()), ["p0 t100", "p0 t110"]);
        assert_eq!(m.expired_waits, 1, "one wait ran out");
        assert!(m.deadline().is_none(), "given up until it has a tick again");
        m.set_caught_up(1, true, clock::now());
        assert!(m.is_empty());
    }
}
