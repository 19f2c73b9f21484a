//! Lanes: the calls of each (partition, strategy) run in order, one at a time, on
//! the worker pool, apart from every other lane. A strategy that loops or is slow
//! holds up only its own lane: the others' calls go on and their results come
//! back as they finish. A lane's slot is taken out of its partition's set while
//! its calls run and put back when the lane is idle; whoever changes the sets
//! (reloads, rebalances, state) waits until no lane is busy ([`Lanes::busy`]).
//!
//! A lane's worker runs the calls queued behind the one it ran itself, without a
//! round trip through the pipeline's thread, for up to [`CHAIN_BUDGET`]; then it
//! hands the slot and the calls left back, and they queue for a worker again
//! behind every other lane's (so a slow lane cannot keep a worker to itself).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::live::LiveStrategies;
use super::pool::Pool;
use super::set::{Processed, Ran};
use super::slot::{SlotOutput, StrategySlot};
use crate::wasm::bindings::types::TickBatch;

/// How long a worker goes on with one lane's queued calls before it hands the
/// lane back to queue behind the others.
pub const CHAIN_BUDGET: Duration = Duration::from_millis(1);

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

/// A call and when it was handed to its lane.
struct Queued {
    call: Call,
    submitted: Instant,
}

/// The calls waiting behind a lane's running call, shared with its worker.
/// Once `closed` the worker takes no more: what comes then waits for the slot.
#[derive(Default)]
struct Queue {
    calls: VecDeque<Queued>,
    closed: bool,
}

type SharedQueue = Arc<Mutex<Queue>>;

fn lock(q: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    // Nothing panics while the lock is held; a poisoned queue is still whole.
    q.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A lane's slot back with its last call, and the calls it did not run.
struct End {
    slot: Option<StrategySlot>,
    left: VecDeque<Queued>,
}

/// A finished call; pass it to [`Lanes::finish`].
pub struct Returned {
    key: Key,
    /// The strategy that ran it (`None`: not there, or fed only).
    ran: Option<Ran>,
    call: Call,
    output: SlotOutput,
    took: Duration,
    waited: Duration,
    /// When the call ended.
    ended: Instant,
    /// Set on the lane's last call before its slot comes back.
    end: Option<End>,
}

/// A finished call as the pipeline sees it.
pub struct Done {
    pub seq: u64,
    /// Its signals and faults at their positions among the batch's answered
    /// ticks, and its call time (none for a call that only fed ticks).
    pub processed: Processed,
    /// From its hand-over to the lane to the start of its call.
    pub waited: Duration,
    /// From its end to now (the pipeline taking it back).
    pub picked_up: Duration,
}

/// The lanes of one host.
pub struct Lanes {
    pool: Option<Arc<Pool>>,
    tx: UnboundedSender<Returned>,
    rx: UnboundedReceiver<Returned>,
    /// Each lane whose slot is away, with the queue its worker takes calls from.
    away: HashMap<Key, SharedQueue>,
    /// Calls for a lane whose worker closed its queue: started when its slot
    /// is back.
    waiting: HashMap<Key, VecDeque<Queued>>,
    per_tick: Vec<u32>,
}

impl Lanes {
    /// Lanes on `pool` (one thread per worker); without one, calls run on the
    /// caller's thread as they are submitted.
    pub fn new(pool: Option<Arc<Pool>>) -> Self {
        let (tx, rx) = unbounded_channel();
        Self {
            pool,
            tx,
            rx,
            away: HashMap::new(),
            waiting: HashMap::new(),
            per_tick: Vec::new(),
        }
    }

    /// Whether some call is running or waiting.
    pub fn busy(&self) -> bool {
        !self.away.is_empty()
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
        let queued = Queued {
            call,
            submitted: Instant::now(),
        };
        let Some(queue) = self.away.get(&key) else {
            self.start(live, key, VecDeque::from([queued]));
            return;
        };
        let mut q = lock(queue);
        if !q.closed {
            q.calls.push_back(queued);
            return;
        }
        drop(q);
        self.waiting.entry(key).or_default().push_back(queued);
    }

    /// Runs `calls` in order on the lane's slot, taken out of its set. A slot
    /// that is not there (unloaded) returns empty results, so no batch is held.
    fn start(&mut self, live: &mut LiveStrategies, key: Key, mut calls: VecDeque<Queued>) {
        let Some(first) = calls.pop_front() else {
            return;
        };
        let slot = live.partition_mut(key.0).and_then(|set| set.take(&key.1));
        let queue = Arc::new(Mutex::new(Queue {
            calls,
            closed: false,
        }));
        self.away.insert(key.clone(), queue.clone());
        let tx = self.tx.clone();
        let job = move || run_lane(key, slot, first, &queue, &tx);
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

    /// Places a finished call's outputs among its batch's answered ticks; with
    /// a lane's last call, puts its slot back and starts what waits for it.
    pub fn finish(&mut self, live: &mut LiveStrategies, r: Returned) -> Done {
        let Returned {
            key,
            ran,
            call,
            output,
            took,
            waited,
            ended,
            end,
        } = r;
        let picked_up = ended.elapsed();
        let mut processed = Processed::default();
        if let (Some(ran), Some(positions)) = (ran, &call.positions) {
            ran.collect(output, took, positions, &mut self.per_tick, &mut processed);
        }
        if let Some(End { slot, mut left }) = end {
            if let (Some(slot), Some(set)) = (slot, live.partition_mut(key.0)) {
                set.put_back(slot);
            }
            self.away.remove(&key);
            // The calls the worker left were handed over before those waiting.
            left.extend(self.waiting.remove(&key).unwrap_or_default());
            self.start(live, key, left);
        }
        Done {
            seq: call.seq,
            processed,
            waited,
            picked_up,
        }
    }
}

/// A lane's worker: `first`, then the calls queued behind it while the chain's
/// budget lasts; each result sent as it is done, the slot with the last.
fn run_lane(
    key: Key,
    mut slot: Option<StrategySlot>,
    first: Queued,
    queue: &Mutex<Queue>,
    tx: &UnboundedSender<Returned>,
) {
    let began = Instant::now();
    let mut next = first;
    loop {
        let Queued { call, submitted } = next;
        let started = Instant::now();
        let output = match (&mut slot, &call.positions) {
            (Some(s), Some(_)) => s.run(&call.ticks),
            (Some(s), None) => {
                s.catch_up(&call.ticks);
                SlotOutput::default()
            }
            (None, _) => SlotOutput::default(),
        };
        let took = started.elapsed();
        let ran = match (&slot, &call.positions) {
            (Some(s), Some(_)) => Some(Ran::of(s)),
            _ => None,
        };
        let after = take_next(queue, began.elapsed() < CHAIN_BUDGET);
        let mut returned = Returned {
            key: key.clone(),
            ran,
            call,
            output,
            took,
            waited: started.saturating_duration_since(submitted),
            ended: Instant::now(),
            end: None,
        };
        // The receiver lives as long as the lanes; a send fails only when the
        // host is gone, and the slot with it.
        match after {
            Ok(c) => {
                let _ = tx.send(returned);
                next = c;
            }
            Err(left) => {
                returned.end = Some(End { slot, left });
                let _ = tx.send(returned);
                return;
            }
        }
    }
}

/// The lane's next queued call if the worker may go on (`more`); otherwise,
/// or with nothing queued, the queue is closed and what it holds is returned.
fn take_next(queue: &Mutex<Queue>, more: bool) -> Result<Queued, VecDeque<Queued>> {
    let mut q = lock(queue);
    match if more { q.calls.pop_front() } else { None } {
        Some(c) => Ok(c),
        None => {
            q.closed = true;
            Err(std::mem::take(&mut q.calls))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(seq: u64) -> Queued {
        let ticks = Arc::new(crate::wasm::convert::BatchBuilder::new().take());
        Queued {
            call: Call {
                seq,
                ticks,
                positions: None,
            },
            submitted: Instant::now(),
        }
    }

    fn queue_of(seqs: &[u64]) -> Mutex<Queue> {
        Mutex::new(Queue {
            calls: seqs.iter().map(|&s| queued(s)).collect(),
            closed: false,
        })
    }

    fn seqs(calls: &VecDeque<Queued>) -> Vec<u64> {
        calls.iter().map(|q| q.call.seq).collect()
    }

    #[test]
    fn within_its_budget_a_worker_takes_the_next_call_in_order() {
        let q = queue_of(&[1, 2]);
        assert_eq!(take_next(&q, true).map(|c| c.call.seq).ok(), Some(1));
        assert_eq!(take_next(&q, true).map(|c| c.call.seq).ok(), Some(2));
        assert!(!lock(&q).closed, "open while it ran what was queued");
        match take_next(&q, true) {
            Err(left) => assert!(left.is_empty()),
            Ok(c) => panic!("took call {} from an empty queue", c.call.seq),
        }
        assert!(
            lock(&q).closed,
            "closed once empty: later calls wait for the slot"
        );
    }

    #[test]
    fn past_its_budget_a_worker_hands_back_every_queued_call_in_order() {
        let q = queue_of(&[3, 4, 5]);
        match take_next(&q, false) {
            Err(left) => assert_eq!(seqs(&left), [3, 4, 5]),
            Ok(c) => panic!("took call {} past the budget", c.call.seq),
        }
        let q = lock(&q);
        assert!(q.closed && q.calls.is_empty());
    }
}
