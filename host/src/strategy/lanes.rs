//! Lanes: the calls of each (partition, strategy) run in order, one at a time, on
//! the worker pool, apart from every other lane. A strategy that loops or is slow
//! holds up only its own lane: the others' calls go on and their results come
//! back as they finish. A lane's slot is taken out of its partition's set while
//! its call runs and put back when the call returns; whoever changes the sets
//! (reloads, rebalances, state) waits until no lane is busy ([`Lanes::busy`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::live::LiveStrategies;
use super::set::{Processed, Ran};
use super::slot::{SlotOutput, StrategySlot};
use crate::wasm::bindings::types::TickBatch;

/// A lane: a partition's strategy.
type Key = (i32, String);

/// One call for a lane to run.
pub struct Call {
    /// The batch of the pipeline it belongs to.
    pub seq: u64,
    pub ticks: Arc<TickBatch>,
    /// The position among its batch's answered ticks of each tick of `ticks`;
    /// `None`: ticks answered before, fed only (outputs dropped).
    pub positions: Option<Vec<usize>>,
}

/// A finished call, its slot on the way back to its set.
pub struct Returned {
    key: Key,
    slot: Option<StrategySlot>,
    call: Call,
    output: SlotOutput,
    took: Duration,
}

/// A finished call as the pipeline sees it.
pub struct Done {
    pub seq: u64,
    /// Its signals and faults at their positions among the batch's answered
    /// ticks, and its call time (none for a call that only fed ticks).
    pub processed: Processed,
}

/// The lanes of one host.
pub struct Lanes {
    pool: Option<Arc<rayon::ThreadPool>>,
    tx: UnboundedSender<Returned>,
    rx: UnboundedReceiver<Returned>,
    /// Each lane with a call running, and the calls waiting behind it.
    queued: HashMap<Key, VecDeque<Call>>,
    per_tick: Vec<u32>,
}

impl Lanes {
    /// Lanes on `pool` (one thread per worker); without one, calls run on the
    /// caller's thread as they are submitted.
    pub fn new(pool: Option<Arc<rayon::ThreadPool>>) -> Self {
        let (tx, rx) = unbounded_channel();
        Self {
            pool,
            tx,
            rx,
            queued: HashMap::new(),
            per_tick: Vec::new(),
        }
    }

    /// Whether some call is running or waiting.
    pub fn busy(&self) -> bool {
        !self.queued.is_empty()
    }

    /// Hands `call` to the lane of `strategy_id` on `partition`: it starts at
    /// once if the lane is idle, after the lane's earlier calls otherwise.
    pub fn submit(
        &mut self,
        live: &mut LiveStrategies,
        partition: i32,
        strategy_id: &str,
        call: Call,
    ) {
        let key = (partition, strategy_id.to_owned());
        match self.queued.get_mut(&key) {
            Some(q) => q.push_back(call),
            None => {
                self.queued.insert(key.clone(), VecDeque::new());
                self.start(live, key, call);
            }
        }
    }

    /// Runs `call` on its lane's slot, taken out of its set. A slot that is not
    /// there (unloaded) returns an empty result, so its batch is not held.
    fn start(&self, live: &mut LiveStrategies, key: Key, call: Call) {
        let slot = live.partition_mut(key.0).and_then(|set| set.take(&key.1));
        let tx = self.tx.clone();
        let job = move || {
            let started = Instant::now();
            let mut slot = slot;
            let output = match (&mut slot, &call.positions) {
                (Some(s), Some(_)) => s.run(&call.ticks),
                (Some(s), None) => {
                    s.catch_up(&call.ticks);
                    SlotOutput::default()
                }
                (None, _) => SlotOutput::default(),
            };
            let took = started.elapsed();
            // The receiver lives as long as the lanes; a send fails only when
            // the host is gone, and the slot with it.
            let _ = tx.send(Returned {
                key,
                slot,
                call,
                output,
                took,
            });
        };
        match &self.pool {
            Some(pool) => pool.spawn(job),
            None => job(),
        }
    }

    /// The next finished call (cancel-safe); pass it to [`Lanes::finish`].
    /// Never resolves while no lane is busy.
    pub async fn next(&mut self) -> Option<Returned> {
        match self.next_if_busy().await {
            Some(r) => Some(r),
            None => std::future::pending().await,
        }
    }

    /// A finished call if one is waiting, without waiting.
    pub fn try_next(&mut self) -> Option<Returned> {
        self.rx.try_recv().ok()
    }

    /// The next finished call, or `None` at once if no lane is busy.
    pub async fn next_if_busy(&mut self) -> Option<Returned> {
        if !self.busy() {
            return None;
        }
        self.rx.recv().await
    }

    /// Puts a finished call's slot back, starts its lane's next call, and
    /// places its outputs among its batch's answered ticks.
    pub fn finish(&mut self, live: &mut LiveStrategies, r: Returned) -> Done {
        let Returned {
            key,
            slot,
            call,
            output,
            took,
        } = r;
        let mut processed = Processed::default();
        if let Some(slot) = slot {
            if let Some(positions) = &call.positions {
                let ran = Ran::of(&slot);
                ran.collect(output, took, positions, &mut self.per_tick, &mut processed);
            }
            if let Some(set) = live.partition_mut(key.0) {
                set.put_back(slot);
            }
        }
        let next = self.queued.get_mut(&key).and_then(VecDeque::pop_front);
        match next {
            Some(c) => self.start(live, key.clone(), c),
            None => {
                self.queued.remove(&key);
            }
        }
        Done {
            seq: call.seq,
            processed,
        }
    }
}
