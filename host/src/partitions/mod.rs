//! The partitions of `market.ticks` this host owns and where each one stands: a
//! state machine with no I/O. The stream loop tells it what happened (a rebalance,
//! a state read's result, a message run, a timer), it answers what to do (read
//! this partition's state, hold or run or skip this message, write these state
//! records, seek there) and drives the strategies through [`Instances`].
//!
//! A gained partition is *read* before it runs: its strategies start from the
//! newest state records and replay, outputs suppressed, the ticks between each
//! record and the group's committed offset. Meanwhile the partition is paused and
//! its messages are held (left in the log, fetched again after the read). A read
//! that fails leaves the partition running from `init`, writing no state over the
//! records it could not read, and it is read again later with a doubling wait.
//!
//! - [`plan`]: what a read's records and ticks mean for a partition's strategies.
//! - `tests`: the machine driven without a broker.

pub mod plan;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::clock::Instant;
use crate::contract::MarketTick;
use crate::state::store::{StoreError, TickRange};
use crate::state::StateRecord;
pub use plan::{replay_from, Restored};

/// What the machine needs from the strategies of a partition.
pub trait Instances {
    /// Starts the partition's strategies from `init` (replacing any it runs).
    fn start(&mut self, partition: i32);
    /// Takes a revoked partition's strategies aside, as they are.
    fn park(&mut self, partition: i32);
    /// Puts a parked partition's strategies back; false if none are parked.
    fn reinstate(&mut self, partition: i32) -> bool;
    /// Drops a parked partition's strategies.
    fn drop_parked(&mut self, partition: i32);
    /// Stops a partition's strategies.
    fn stop(&mut self, partition: i32);
    /// Restores one strategy's state record: false if the strategy does not run
    /// here, the reason if the record was refused.
    fn restore(&mut self, partition: i32, record: &StateRecord) -> Result<bool, String>;
    /// Feeds one strategy ticks answered before (outputs dropped).
    fn replay(&mut self, partition: i32, strategy_id: &str, ticks: &[&MarketTick]);
    /// The state of each running strategy of the partition.
    fn snapshots(&mut self, partition: i32) -> Vec<Snapshot>;
}

/// One strategy's state, for a state record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub strategy_id: String,
    pub sha256: String,
    pub state: Vec<u8>,
}

/// What the stream loop does with one message of `market.ticks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Run it; `catch_up`: answered by a previous owner if the dedup store has
    /// seen it, then only fed to the strategies.
    Run { catch_up: bool },
    /// Answered, and in the restored state already: a repeat.
    Skip,
    /// Its partition's state is being read: left in the log for now.
    Hold,
    /// Not this host's partition (revoked since it was fetched).
    NotOurs,
}

/// Why a partition's state is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadKind {
    /// Just gained: its committed offset, log bounds, newest records, and the
    /// ticks from the records to the committed offset.
    Gain,
    /// Its records could not be read before: records again, and the ticks from
    /// them up to `upto`, the offset after the last tick this host ran.
    Reread { upto: i64 },
}

/// A read the stream loop should start (off the tick path), pausing the partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest {
    pub partition: i32,
    pub ticket: u64,
    pub kind: ReadKind,
}

/// What a read found.
#[derive(Debug)]
pub struct ReadResult {
    pub partition: i32,
    pub ticket: u64,
    /// The group's committed offset (gains only; `None`: nothing committed).
    pub committed: Option<i64>,
    /// The log's start and end (gains only).
    pub log: Option<(i64, i64)>,
    pub read: Result<(Vec<StateRecord>, TickRange), StoreError>,
}

/// What applying a read did, for the stream loop to finish: seek and resume the
/// partition, write its state now, count.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReadOutcome {
    pub partition: i32,
    /// Where the partition's consumption goes on (`None`: the log's start).
    pub seek: Option<i64>,
    /// The state the partition starts from, to write at once (a crash before the
    /// first periodic write then restores it, not `init`).
    pub write_now: Vec<StateRecord>,
    pub restored: Restored,
    /// The read failed: why (its strategies run from `init` meanwhile).
    pub failed: Option<String>,
    /// Assigned again with nothing committed meanwhile: its strategies kept
    /// their state.
    pub reinstated: bool,
}

/// How the machine paces its state writes and re-reads.
#[derive(Debug, Clone, Copy)]
pub struct StatePolicy {
    /// False: no state is read or written (strategies start from `init`).
    pub enabled: bool,
    /// How often each partition's state is written.
    pub every: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reading { ticket: u64, kind: ReadKind },
    Running,
}

/// Where one owned partition stands.
#[derive(Debug, Clone)]
struct Partition {
    phase: Phase,
    /// The offset after its last tick run here (its state records' `next_offset`).
    next_offset: Option<i64>,
    /// Its log end when gained: a tick below it that the dedup store has seen was
    /// answered by the previous owner after its last commit (fed, not answered).
    catch_up_until: Option<i64>,
    /// Its state records' offset when the group's offset was behind them (lost):
    /// ticks below it are answered and in the state already (skipped).
    skip_below: Option<i64>,
    /// Its records could not be read: it runs from `init` and writes none.
    unread: bool,
    /// Counts gains: a batch run before the partition was lost and gained again
    /// must not commit its (older) offsets.
    epoch: u64,
}

/// Every owned partition and its state bookkeeping.
pub struct PartitionStates {
    group: String,
    policy: StatePolicy,
    parts: BTreeMap<i32, Partition>,
    /// Revoked partitions' last offsets, while they may be assigned back.
    parked: BTreeMap<i32, Option<i64>>,
    tickets: u64,
    epochs: u64,
    state_due: Instant,
    reread_due: Instant,
    reread: Backoff,
}

impl PartitionStates {
    /// `group`: the consumer group whose offsets the state records go with.
    pub fn new(group: &str, policy: StatePolicy, now: Instant) -> Self {
        let base = policy.every.max(Duration::from_secs(1));
        Self {
            group: group.to_owned(),
            policy,
            parts: BTreeMap::new(),
            parked: BTreeMap::new(),
            tickets: 0,
            epochs: 0,
            state_due: now + policy.every,
            reread_due: now,
            reread: Backoff::new(base, base.max(Duration::from_secs(60))),
        }
    }

    fn ticket(&mut self) -> u64 {
        self.tickets += 1;
        self.tickets
    }

    /// Partitions taken away: their strategies are parked, as they are, until
    /// the new assignment is known ([`end_rebalance`](Self::end_rebalance)).
    pub fn revoked(&mut self, partitions: &[i32], inst: &mut impl Instances) {
        for p in partitions {
            let Some(part) = self.parts.remove(p) else {
                continue;
            };
            match part.phase {
                Phase::Running => {
                    inst.park(*p);
                    self.parked.insert(*p, part.next_offset);
                }
                // Nothing ran: a parked set from before the read stays parked.
                Phase::Reading { .. } => {}
            }
        }
    }

    /// Partitions given to this host: each one not owned already is read first
    /// (the stream loop pauses it and starts the read).
    pub fn assigned(&mut self, partitions: &[i32]) -> Vec<ReadRequest> {
        let mut reads = Vec::new();
        for &p in partitions {
            if self.parts.contains_key(&p) {
                continue;
            }
            let ticket = self.ticket();
            self.epochs += 1;
            self.parts.insert(
                p,
                Partition {
                    phase: Phase::Reading {
                        ticket,
                        kind: ReadKind::Gain,
                    },
                    next_offset: None,
                    catch_up_until: None,
                    skip_below: None,
                    unread: false,
                    epoch: self.epochs,
                },
            );
            reads.push(ReadRequest {
                partition: p,
                ticket,
                kind: ReadKind::Gain,
            });
        }
        reads
    }

    /// After a rebalance's changes: parked partitions not assigned back are gone
    /// for good (their state is in the committed records).
    pub fn end_rebalance(&mut self, inst: &mut impl Instances) -> Vec<i32> {
        let gone: Vec<i32> = self
            .parked
            .keys()
            .copied()
            .filter(|p| !self.parts.contains_key(p))
            .collect();
        for p in &gone {
            self.parked.remove(p);
            inst.drop_parked(*p);
        }
        gone
    }

    /// Applies a finished read; `None` if it is stale (its partition was lost or
    /// read again since).
    pub fn read_done(&mut self, r: ReadResult, inst: &mut impl Instances) -> Option<ReadOutcome> {
        let part = self.parts.get(&r.partition)?;
        let kind = match part.phase {
            Phase::Reading { ticket, kind } if ticket == r.ticket => kind,
            _ => return None,
        };
        Some(match kind {
            ReadKind::Gain => self.gained(r, inst),
            ReadKind::Reread { upto } => self.reread_in(r, upto, inst),
        })
    }

    fn gained(&mut self, r: ReadResult, inst: &mut impl Instances) -> ReadOutcome {
        let p = r.partition;
        let start = r.committed.or(r.log.map(|(low, _)| low));
        let parked = self.parked.remove(&p);
        let nothing_moved = r.committed.is_some() && parked.flatten() == r.committed;
        if nothing_moved && inst.reinstate(p) {
            self.run(p, r.committed, None, None);
            return ReadOutcome {
                partition: p,
                seek: r.committed,
                reinstated: true,
                ..Default::default()
            };
        }
        if parked.is_some() {
            inst.drop_parked(p);
        }
        inst.start(p);
        let (records, ticks) = match r.read {
            Ok(read) => read,
            Err(e) => {
                self.run(p, start, None, None);
                self.mark_unread(p);
                return ReadOutcome {
                    partition: p,
                    seek: start,
                    failed: Some(e.to_string()),
                    ..Default::default()
                };
            }
        };
        let restored = plan::restore(p, &records, &ticks, r.committed, start, inst);
        let skip_below = restored.ahead;
        let next = skip_below.or(start);
        let catch_up = r.log.map(|(_, end)| end).filter(|_| self.policy.enabled);
        self.run(p, next, catch_up, skip_below);
        // A partition with nowhere to start (no log bounds, nothing committed)
        // writes its state once it has run.
        let write_now = self.records_of(p, inst);
        ReadOutcome {
            partition: p,
            seek: next,
            write_now,
            restored,
            ..Default::default()
        }
    }

    fn reread_in(&mut self, r: ReadResult, upto: i64, inst: &mut impl Instances) -> ReadOutcome {
        let p = r.partition;
        let Ok((records, ticks)) = r.read else {
            let why = r.read.err().map(|e| e.to_string());
            if let Some(part) = self.parts.get_mut(&p) {
                part.phase = Phase::Running;
            }
            self.reread_due = crate::clock::now() + self.reread.fail();
            return ReadOutcome {
                partition: p,
                seek: Some(upto),
                failed: why,
                ..Default::default()
            };
        };
        inst.start(p);
        let restored = plan::restore(p, &records, &ticks, Some(upto), Some(upto), inst);
        if let Some(part) = self.parts.get_mut(&p) {
            part.phase = Phase::Running;
            part.unread = false;
        }
        if !self.parts.values().any(|x| x.unread) {
            self.reread.reset();
        }
        // Restored up to ticks run here, some maybe not committed yet: written
        // with the next commit, never ahead of it.
        self.state_due = crate::clock::now();
        ReadOutcome {
            partition: p,
            seek: Some(upto),
            restored,
            ..Default::default()
        }
    }

    /// Sets a read partition running from `next`.
    fn run(&mut self, p: i32, next: Option<i64>, catch_up: Option<i64>, skip: Option<i64>) {
        if let Some(part) = self.parts.get_mut(&p) {
            part.phase = Phase::Running;
            part.next_offset = next;
            part.catch_up_until = catch_up;
            part.skip_below = skip;
        }
    }

    fn mark_unread(&mut self, p: i32) {
        if !self.policy.enabled {
            return;
        }
        if !self.parts.values().any(|x| x.unread) {
            self.reread_due = crate::clock::now() + self.reread.fail();
        }
        if let Some(part) = self.parts.get_mut(&p) {
            part.unread = true;
        }
    }

    /// What to do with a message of `partition` at `offset`.
    pub fn route(&self, partition: i32, offset: i64) -> Route {
        let Some(part) = self.parts.get(&partition) else {
            return Route::NotOurs;
        };
        match part.phase {
            Phase::Reading { .. } => Route::Hold,
            Phase::Running if part.skip_below.is_some_and(|b| offset < b) => Route::Skip,
            Phase::Running => Route::Run {
                catch_up: part.catch_up_until.is_some_and(|end| offset < end),
            },
        }
    }

    /// A message was run (or skipped): its partition has run up to it.
    pub fn ran(&mut self, partition: i32, offset: i64) {
        if let Some(part) = self.parts.get_mut(&partition) {
            let next = part.next_offset.get_or_insert(offset + 1);
            *next = (*next).max(offset + 1);
        }
    }

    /// The running partitions, with the epoch of their current ownership.
    pub fn running(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.parts
            .iter()
            .filter(|(_, x)| x.phase == Phase::Running)
            .map(|(p, x)| (*p, x.epoch))
    }

    /// Whether `partition` is still owned in the same ownership as `epoch` (a
    /// batch's offsets are committed only then).
    pub fn still_owns(&self, partition: i32, epoch: u64) -> bool {
        self.parts.get(&partition).is_some_and(|x| x.epoch == epoch)
    }

    /// Every owned partition (running or being read).
    pub fn owned(&self) -> impl Iterator<Item = i32> + '_ {
        self.parts.keys().copied()
    }

    /// The offset after the last tick run of each running partition.
    pub fn positions(&self) -> BTreeMap<i32, i64> {
        self.parts
            .iter()
            .filter(|(_, x)| x.phase == Phase::Running)
            .filter_map(|(p, x)| Some((*p, x.next_offset?)))
            .collect()
    }

    /// A plugin was loaded or reloaded: its state is written with the next commit.
    pub fn state_due_now(&mut self) {
        self.state_due = crate::clock::now();
    }

    /// How long the periodic state records have been due at `now`, if they are.
    pub fn state_overdue(&self, now: Instant) -> Option<std::time::Duration> {
        (self.policy.enabled && now >= self.state_due).then(|| now - self.state_due)
    }

    /// The state period.
    pub fn state_every(&self) -> std::time::Duration {
        self.policy.every
    }

    /// The periodic state records, if they are due at `now`.
    pub fn due_state(&mut self, now: Instant, inst: &mut impl Instances) -> Vec<StateRecord> {
        if !self.policy.enabled || now < self.state_due {
            return Vec::new();
        }
        self.state_due = now + self.policy.every;
        self.all_state(inst)
    }

    /// The state records of every running partition whose state was read.
    pub fn all_state(&mut self, inst: &mut impl Instances) -> Vec<StateRecord> {
        if !self.policy.enabled {
            return Vec::new();
        }
        let ps: Vec<i32> = self.parts.keys().copied().collect();
        ps.into_iter()
            .flat_map(|p| self.records_of(p, inst))
            .collect()
    }

    fn records_of(&self, p: i32, inst: &mut impl Instances) -> Vec<StateRecord> {
        let Some(part) = self.parts.get(&p) else {
            return Vec::new();
        };
        let Some(next_offset) = part.next_offset else {
            return Vec::new();
        };
        if !self.policy.enabled || part.unread || part.phase != Phase::Running {
            return Vec::new();
        }
        inst.snapshots(p)
            .into_iter()
            .map(|s| StateRecord {
                group: self.group.clone(),
                strategy_id: s.strategy_id,
                partition: p,
                next_offset,
                sha256: s.sha256,
                state: s.state,
            })
            .collect()
    }

    /// Partitions whose state could not be read, due to be read again at `now`
    /// (the stream loop pauses them and starts the reads).
    pub fn rereads(&mut self, now: Instant) -> Vec<ReadRequest> {
        if now < self.reread_due {
            return Vec::new();
        }
        let due: Vec<(i32, i64)> = self
            .parts
            .iter()
            .filter(|(_, x)| x.unread && x.phase == Phase::Running)
            .filter_map(|(p, x)| Some((*p, x.next_offset?)))
            .collect();
        let mut reads = Vec::new();
        for (p, upto) in due {
            let ticket = self.ticket();
            let kind = ReadKind::Reread { upto };
            if let Some(part) = self.parts.get_mut(&p) {
                part.phase = Phase::Reading { ticket, kind };
            }
            reads.push(ReadRequest {
                partition: p,
                ticket,
                kind,
            });
        }
        reads
    }

    /// Partitions whose state could not be read (running from `init`).
    pub fn unread(&self) -> impl Iterator<Item = i32> + '_ {
        self.parts.iter().filter(|(_, x)| x.unread).map(|(p, _)| *p)
    }

    /// Exactly-once, after an aborted transaction: every partition's strategies
    /// stop and each partition is read again from its committed offset and state.
    pub fn rewind(&mut self, inst: &mut impl Instances) -> Vec<ReadRequest> {
        let all: Vec<i32> = self.parts.keys().copied().collect();
        for p in &all {
            if self.parts.get(p).is_some_and(|x| x.phase == Phase::Running) {
                inst.stop(*p);
            }
            self.parts.remove(p);
        }
        self.assigned(&all)
    }
}
