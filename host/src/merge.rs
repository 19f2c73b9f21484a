//! Ticks of several instruments merged by event time, the order a
//! strategy-scoped instance sees them in: each instrument's ticks stay in offset
//! order (a lane per instrument), and across instruments the head with the lowest
//! `(timestamp, partition, offset)` goes first. Lanes are per instrument, not per
//! partition: a partition holds other instruments too, perhaps written by other
//! feeds with other clocks, and their order must not hold ours back.
//!
//! An instrument with nothing buffered may still bring an earlier tick, so the
//! head waits for every such lane. One whose partition is not caught up (its
//! consumer has not reached the log's end: ticks are on their way) is waited for
//! until they come (at most [`STALL`], a safety bound). One whose partition is
//! caught up may still be written to by a producer: it is waited for `wait` after
//! the head arrived. A head that went after a wait ran out is counted: what that
//! instrument brings later may then be out of order. Kafka Streams' partition
//! groups work the same way (`max.task.idle.ms`).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::clock::Instant;

/// The longest a head waits for an instrument whose ticks are on their way.
pub const STALL: Duration = Duration::from_secs(10);

/// A lane: a partition and an instrument token.
pub type LaneId = (i32, u32);

/// A buffered tick: its key parts, when it arrived, and the item.
#[derive(Debug)]
struct Held<T> {
    timestamp_us: i64,
    offset: i64,
    arrived: Instant,
    item: T,
}

/// The merge of a set of instrument lanes.
#[derive(Debug)]
pub struct TimeMerge<T> {
    wait: Duration,
    lanes: BTreeMap<LaneId, VecDeque<Held<T>>>,
    /// Per partition: whether its consumer is at the log's end.
    caught_up: BTreeMap<i32, bool>,
    /// Ticks that went after a wait for an empty lane ran out.
    pub expired_waits: u64,
}

/// A tick released by the merge.
#[derive(Debug, PartialEq, Eq)]
pub struct Released<T> {
    pub partition: i32,
    pub instrument: u32,
    pub offset: i64,
    pub timestamp_us: i64,
    /// When it was pushed (fetched).
    pub arrived: Instant,
    pub item: T,
}

impl<T> TimeMerge<T> {
    /// A merge of `lanes`, nothing buffered, no partition known to be caught up.
    pub fn new(lanes: impl IntoIterator<Item = LaneId>, wait: Duration) -> Self {
        let mut m = Self {
            wait,
            lanes: BTreeMap::new(),
            caught_up: BTreeMap::new(),
            expired_waits: 0,
        };
        for lane in lanes {
            m.add(lane);
        }
        m
    }

    /// The lanes merged.
    pub fn lanes(&self) -> impl Iterator<Item = LaneId> + '_ {
        self.lanes.keys().copied()
    }

    /// The partitions of the lanes.
    pub fn partitions(&self) -> impl Iterator<Item = i32> + '_ {
        self.caught_up.keys().copied()
    }

    /// Merges `lane` too (nothing buffered yet).
    pub fn add(&mut self, lane: LaneId) {
        self.lanes.entry(lane).or_default();
        self.caught_up.entry(lane.0).or_insert(false);
    }

    /// Stops merging `lane`, dropping what it had buffered.
    pub fn remove(&mut self, lane: LaneId) {
        self.lanes.remove(&lane);
        if !self.lanes.keys().any(|(p, _)| *p == lane.0) {
            self.caught_up.remove(&lane.0);
        }
    }

    /// A message of `partition` came (whatever its instrument): its consumer was
    /// not at the log's end.
    pub fn saw(&mut self, partition: i32) {
        if let Some(c) = self.caught_up.get_mut(&partition) {
            *c = false;
        }
    }

    /// The consumer of `partition` reached the log's end.
    pub fn caught_up(&mut self, partition: i32) {
        if let Some(c) = self.caught_up.get_mut(&partition) {
            *c = true;
        }
    }

    /// Buffers a tick of `lane` that arrived at `now` (ticks of one lane come in
    /// offset order). False if the lane is not merged.
    pub fn push(
        &mut self,
        lane: LaneId,
        offset: i64,
        timestamp_us: i64,
        item: T,
        now: Instant,
    ) -> bool {
        let Some(queue) = self.lanes.get_mut(&lane) else {
            return false;
        };
        queue.push_back(Held {
            timestamp_us,
            offset,
            arrived: now,
            item,
        });
        true
    }

    /// The head: the lowest `(timestamp, partition, offset)` buffered, and when
    /// it arrived.
    fn head(&self) -> Option<(LaneId, Instant)> {
        let mut head: Option<((i64, i32, i64), LaneId, Instant)> = None;
        for (&lane, queue) in &self.lanes {
            if let Some(h) = queue.front() {
                let key = (h.timestamp_us, lane.0, h.offset);
                if head.is_none_or(|(k, _, _)| key < k) {
                    head = Some((key, lane, h.arrived));
                }
            }
        }
        head.map(|(_, lane, arrived)| (lane, arrived))
    }

    /// How long the head waits, from its arrival, for the empty lanes: none if
    /// every lane has a tick buffered.
    fn hold(&self) -> Option<Duration> {
        self.lanes
            .iter()
            .filter(|(_, q)| q.is_empty())
            .map(|((p, _), _)| {
                if self.caught_up.get(p).copied().unwrap_or(false) {
                    self.wait
                } else {
                    STALL
                }
            })
            .max()
    }

    /// The next tick in merge order, if it may go at `now`.
    pub fn pop(&mut self, now: Instant) -> Option<Released<T>> {
        let (lane, arrived) = self.head()?;
        if let Some(hold) = self.hold() {
            if now.saturating_duration_since(arrived) < hold {
                return None;
            }
            if !hold.is_zero() {
                self.expired_waits += 1;
            }
        }
        let h = self.lanes.get_mut(&lane)?.pop_front()?;
        Some(Released {
            partition: lane.0,
            instrument: lane.1,
            offset: h.offset,
            timestamp_us: h.timestamp_us,
            arrived: h.arrived,
            item: h.item,
        })
    }

    /// When the head, held for an empty lane, may go.
    pub fn deadline(&self) -> Option<Instant> {
        let hold = self.hold()?;
        self.head().map(|(_, arrived)| arrived + hold)
    }

    /// The lowest offset buffered of `partition` (what is not run yet).
    pub fn lowest_buffered(&self, partition: i32) -> Option<i64> {
        self.lanes
            .range((partition, 0)..=(partition, u32::MAX))
            .filter_map(|(_, q)| q.front().map(|h| h.offset))
            .min()
    }

    /// Ticks buffered in all.
    pub fn len(&self) -> usize {
        self.lanes.values().map(VecDeque::len).sum()
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
    fn full_lanes_merge_by_time_then_partition_then_offset() {
        let mut m = TimeMerge::new([(0, 1), (1, 2), (2, 3)], Duration::from_millis(50));
        let now = clock::now();
        m.push((1, 2), 10, 5, "p1@10 t5", now);
        m.push((0, 1), 7, 5, "p0@7 t5", now);
        m.push((0, 1), 8, 9, "p0@8 t9", now);
        m.push((2, 3), 3, 1, "p2@3 t1", now);
        m.push((1, 2), 11, 2, "p1@11 t2 (after t5 in its lane)", now);
        m.push((2, 3), 4, 20, "p2@4 t20", now);
        assert_eq!(
            drain(&mut m, now),
            [
                "p2@3 t1",
                "p0@7 t5",
                "p1@10 t5",
                "p1@11 t2 (after t5 in its lane)",
            ],
            "then instrument 2 is empty: p0 t9 waits for it"
        );
        assert_eq!(m.expired_waits, 0);
        assert_eq!(m.len(), 2);
        assert_eq!(m.lowest_buffered(0), Some(8));
        assert_eq!(m.lowest_buffered(1), None);
    }

    #[test]
    fn instruments_of_one_partition_do_not_hold_each_other_back() {
        // Two instruments on partition 0, written by feeds with different clocks:
        // instrument 9's late tick at offset 1 does not hold instrument 8's.
        let mut m = TimeMerge::new([(0, 8), (0, 9), (1, 7)], Duration::ZERO);
        let now = clock::now();
        m.push((0, 9), 1, 500, "i9 t500", now);
        m.push((0, 8), 2, 100, "i8 t100", now);
        m.push((1, 7), 0, 200, "i7 t200", now);
        m.push((0, 9), 3, 600, "i9 t600", now);
        m.push((0, 8), 4, 700, "i8 t700", now);
        m.push((1, 7), 5, 800, "i7 t800", now);
        m.caught_up(0);
        m.caught_up(1);
        assert_eq!(
            drain(&mut m, now),
            ["i8 t100", "i7 t200", "i9 t500", "i9 t600", "i8 t700", "i7 t800"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_caught_up_lane_is_waited_for_from_the_heads_arrival() {
        let mut m = TimeMerge::new([(0, 1), (1, 2)], Duration::from_millis(50));
        m.caught_up(1);
        m.push((0, 1), 0, 100, "p0 t100", clock::now());
        assert!(
            m.pop(clock::now()).is_none(),
            "instrument 2 may bring an earlier tick"
        );
        assert_eq!(m.deadline(), Some(clock::now() + Duration::from_millis(50)));
        tokio::time::advance(Duration::from_millis(20)).await;
        m.saw(1);
        m.push((1, 2), 0, 90, "p1 t90", clock::now());
        m.caught_up(1);
        assert_eq!(
            drain(&mut m, clock::now()),
            ["p1 t90"],
            "the earlier tick came in time; then instrument 2 is empty again"
        );
        tokio::time::advance(Duration::from_millis(30)).await;
        m.push((0, 1), 1, 110, "p0 t110", clock::now());
        assert_eq!(
            drain(&mut m, clock::now()),
            ["p0 t100"],
            "p0 t100 arrived 50 ms ago: it goes; p0 t110 just arrived and waits"
        );
        assert_eq!(m.expired_waits, 1);
        tokio::time::advance(Duration::from_millis(50)).await;
        assert_eq!(drain(&mut m, clock::now()), ["p0 t110"]);
        assert_eq!(
            m.expired_waits, 2,
            "each tick that waited it out is counted"
        );
        assert!(m.deadline().is_none() && m.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_behind_its_partitions_end_is_waited_for_until_its_ticks_come() {
        let mut m = TimeMerge::new([(0, 1), (1, 2)], Duration::from_millis(50));
        m.caught_up(0);
        m.push((0, 1), 0, 100, "p0 t100", clock::now());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(
            m.pop(clock::now()).is_none(),
            "partition 1 has not reached its end: its ticks are on their way"
        );
        assert_eq!(
            m.deadline(),
            Some(clock::now() - Duration::from_secs(1) + STALL)
        );
        m.push((1, 2), 0, 10, "p1 t10 (a backlog)", clock::now());
        assert_eq!(drain(&mut m, clock::now()), ["p1 t10 (a backlog)"]);
        tokio::time::advance(STALL).await;
        assert_eq!(
            drain(&mut m, clock::now()),
            ["p0 t100"],
            "a stall is not waited for forever"
        );
        assert_eq!(m.expired_waits, 1);
    }

    #[test]
    fn lanes_come_and_go() {
        let now = clock::now();
        let mut m = TimeMerge::new([(0, 1)], Duration::ZERO);
        assert!(!m.push((3, 4), 0, 1, "not merged", now));
        m.add((3, 4));
        assert!(m.push((3, 4), 0, 1, "p3 t1", now));
        m.push((0, 1), 0, 2, "p0 t2", now);
        m.remove((0, 1));
        assert_eq!(m.partitions().collect::<Vec<_>>(), [3]);
        assert_eq!(drain(&mut m, now), ["p3 t1"]);
    }
}
