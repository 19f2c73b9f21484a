//! The order `replay` feeds recorded ticks in: the live merge order of
//! [`crate::merge`], by event time, then partition of `market.ticks` (from the
//! instrument token, as the producers partition), then position within that
//! partition in the file. A recorded stream is close to that order already, so a
//! bounded reorder window suffices: a tick is released once [`WINDOW`] later
//! ticks were read (or at the end of the file). Live equals replay whenever each
//! instrument's ticks are in timestamp order and no tick is more than the window
//! out of place in the file.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::contract::{EventEnvelope, MarketTick};

/// Ticks held back to restore the merge order (about 50 MB of envelopes).
pub const WINDOW: usize = 100_000;

type Key = (i64, i32, u64);

/// Ticks in, ticks out in merge order.
pub struct MergeOrder<F> {
    partition_of: F,
    window: usize,
    heap: BinaryHeap<Reverse<(Key, u64)>>,
    held: HashMap<u64, EventEnvelope<MarketTick>>,
    /// Ticks read so far per partition (each tick's position within it).
    counts: HashMap<i32, u64>,
    serial: u64,
}

impl<F: Fn(u32) -> i32> MergeOrder<F> {
    /// `partition_of` maps an instrument token to its partition.
    pub fn new(partition_of: F) -> Self {
        Self::with_window(partition_of, WINDOW)
    }

    pub fn with_window(partition_of: F, window: usize) -> Self {
        Self {
            partition_of,
            window: window.max(1),
            heap: BinaryHeap::new(),
            held: HashMap::new(),
            counts: HashMap::new(),
            serial: 0,
        }
    }

    /// Takes a tick read from the file; returns one that may go now, if any.
    pub fn push(&mut self, tick: EventEnvelope<MarketTick>) -> Option<EventEnvelope<MarketTick>> {
        let p = (self.partition_of)(tick.data.instrument_token);
        let position = self.counts.entry(p).or_insert(0);
        let key = (tick.data.timestamp.to_unix_micros(), p, *position);
        *position += 1;
        self.serial += 1;
        self.heap.push(Reverse((key, self.serial)));
        self.held.insert(self.serial, tick);
        if self.held.len() > self.window {
            self.pop()
        } else {
            None
        }
    }

    /// The next held tick in merge order (to drain at the end of the file).
    pub fn pop(&mut self) -> Option<EventEnvelope<MarketTick>> {
        let Reverse((_, serial)) = self.heap.pop()?;
        self.held.remove(&serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{EventType, Timestamp, SHARED};

    fn tick(token: u32, second: i64) -> EventEnvelope<MarketTick> {
        let ts = Timestamp::from_unix_micros(second * 1_000_000).expect("time");
        let id = format!("{token}-{second}");
        EventEnvelope {
            id: id.clone(),
            correlation_id: id.clone(),
            causation_id: None,
            trace_id: id,
            parent_trace_id: None,
            broker: SHARED.to_owned(),
            event_type: EventType::MarketTick,
            ts,
            key: token.to_string(),
            source: "test".to_owned(),
            version: crate::contract::VERSION,
            data: MarketTick::new(token, rust_decimal::Decimal::ONE, ts),
        }
    }

    fn order(window: usize, ticks: Vec<EventEnvelope<MarketTick>>) -> Vec<(u32, i64)> {
        // Tokens 1 and 3 on partition 0, token 2 on partition 1.
        let mut m = MergeOrder::with_window(|t| i32::from(t == 2), window);
        let mut out = Vec::new();
        for t in ticks {
            out.extend(m.push(t));
        }
        while let Some(t) = m.pop() {
            out.push(t);
        }
        out.iter()
            .map(|e| {
                (
                    e.data.instrument_token,
                    e.data.timestamp.to_unix_micros() / 1_000_000,
                )
            })
            .collect()
    }

    #[test]
    fn ticks_go_by_time_then_partition_then_file_position() {
        let got = order(
            10,
            vec![tick(2, 5), tick(3, 5), tick(1, 4), tick(1, 5), tick(2, 3)],
        );
        // Time first; at second 5 partition 0 (tokens 3 then 1, in file order)
        // before partition 1.
        assert_eq!(got, [(2, 3), (1, 4), (3, 5), (1, 5), (2, 5)]);
    }

    #[test]
    fn the_window_bounds_how_far_back_a_tick_can_move() {
        // With a window of 1, the late tick of second 1 cannot pass two ticks.
        let got = order(1, vec![tick(1, 2), tick(1, 3), tick(2, 1)]);
        assert_eq!(got, [(1, 2), (2, 1), (1, 3)]);
    }
}
