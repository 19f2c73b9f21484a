//! Strategy-scoped strategies on the stream: one instance per strategy, over all
//! its instruments merged by event time, on exactly one host of the namespace at
//! a time. Built on Kafka's own primitives: the owners consumer group hands out
//! the units (the partitions of the state topic; a strategy's unit comes from
//! its id), each unit's position is a committed offset of a group of its own
//! (exactly-once: in the unit's transaction, whose transactional id fences a
//! previous owner), and its strategies' state goes to the compacted state topic.
//!
//! - [`owners`]: membership of the owners group, on a thread of its own.
//! - [`unit`]: one running unit: its consumer, merge and positions.
//! - [`restore`]: what a gained unit reads before it runs (blocking).
//!
//! The host's loop drives them (`pipeline/units.rs`): [`Units`] holds their
//! state between its steps.
pub mod owners;
pub mod restore;
pub mod unit;

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::mpsc::{channel, Receiver, Sender};
use tokio::task::JoinHandle;

use owners::Owners;
use restore::{RestoreError, Restored};
use unit::{Fetched, Unit};

/// Fetched messages waiting for the loop, over all units (the forwarders wait
/// when it is full).
const FETCHED_BUFFER: usize = 8192;

/// A unit whose gain is being read.
pub struct Loading {
    pub generation: u64,
    pub read: JoinHandle<Result<Restored, RestoreError>>,
}

/// The strategy-scoped units of this host.
pub struct Units {
    pub owners: Option<Owners>,
    /// Units assigned to this host by the owners group.
    pub owned: BTreeSet<i32>,
    pub running: BTreeMap<i32, Unit>,
    pub loading: BTreeMap<i32, Loading>,
    /// Units whose read failed: when to try again.
    pub retry_at: BTreeMap<i32, crate::clock::Instant>,
    generation: u64,
    tx: Sender<Fetched>,
    rx: Receiver<Fetched>,
}

impl Units {
    pub fn new(owners: Option<Owners>) -> Self {
        let (tx, rx) = channel(FETCHED_BUFFER);
        Self {
            owners,
            owned: BTreeSet::new(),
            running: BTreeMap::new(),
            loading: BTreeMap::new(),
            retry_at: BTreeMap::new(),
            generation: 0,
            tx,
            rx,
        }
    }

    /// A new generation number for a unit (re)started.
    pub fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    pub fn sender(&self) -> Sender<Fetched> {
        self.tx.clone()
    }

    /// The next message a unit fetched; pending while there is none.
    pub async fn next_fetched(&mut self) -> Option<Fetched> {
        self.rx.recv().await
    }

    /// A message fetched, if one is waiting.
    pub fn try_fetched(&mut self) -> Option<Fetched> {
        self.rx.try_recv().ok()
    }

    /// Gives a fetched message to its unit, unless that run of the unit is over.
    pub fn accept(&mut self, (k, generation, msg): Fetched, now: crate::clock::Instant) {
        if let Some(u) = self
            .running
            .get_mut(&k)
            .filter(|u| u.generation == generation)
        {
            u.push(msg, now);
        }
    }

    /// Whether any unit runs or loads here (the loop then looks at them often).
    pub fn active(&self) -> bool {
        !self.running.is_empty() || !self.loading.is_empty()
    }
}
