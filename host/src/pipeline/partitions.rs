//! Partitions gained and lost, and the strategy state that follows them. A gained
//! partition's strategies start from the partition's newest state records, then
//! replay (outputs suppressed) the ticks between each record and the group's
//! committed offset, so their state is exact however the previous owner stopped.
//! State records are written periodically and at a clean stop, and never cover a
//! tick that is not committed (exactly-once: in the same transaction).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::Producer;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::context::{AssignmentChange, HostContext};
use super::outbox::{deliver, OutRecord};
use super::{Fresh, Host, PipelineError, TXN_TIMEOUT};
use crate::config::DeliveryMode;
use crate::contract::{decode_tick, MarketTick};
use crate::state::store::{PartitionReader, StoreError, TickRange};
use crate::state::StateRecord;
use crate::strategy::set::Processed;
use crate::topics::MARKET_TICKS;

/// A tick of a partition in a batch: its offset, its position in the answered
/// ticks (`None`: answered before, only fed), and the tick.
type Item<'a> = (i64, Option<usize>, &'a MarketTick);

/// What was read from the cluster for one gained partition.
struct Gained {
    partition: i32,
    /// The log start and end of the partition when it was gained.
    log: Option<(i64, i64)>,
    /// The group's committed offset (`None`: nothing committed yet); for a
    /// retried read, the offset after the last tick this host ran.
    committed: Option<i64>,
    read: Result<(Vec<StateRecord>, TickRange), StoreError>,
    /// A retried read of a partition held already (its strategies run from `init`).
    retry: bool,
}

/// Where and how gained partitions' state is read.
struct StateSource {
    /// The host's consumer settings, for the group-less reader.
    settings: ClientConfig,
    /// `{broker}.strategy.state`.
    topic: String,
    /// The host's consumer group: only its records are read.
    group: String,
    /// For each request to the cluster.
    timeout: Duration,
    /// False when state is off: nothing is read but the offsets.
    enabled: bool,
}

/// State records read again in the background, per partition.
pub(super) type Reread = tokio::task::JoinHandle<Vec<(i32, Result<Vec<StateRecord>, StoreError>)>>;

/// The newest state records of each partition (blocking).
fn read_states(
    source: StateSource,
    partitions: &[i32],
) -> Vec<(i32, Result<Vec<StateRecord>, StoreError>)> {
    match PartitionReader::new(source.settings, source.timeout) {
        Ok(r) => partitions
            .iter()
            .map(|&p| (p, r.states(&source.topic, p, &source.group)))
            .collect(),
        Err(e) => {
            let e = e.to_string();
            partitions
                .iter()
                .map(|&p| (p, Err(StoreError::Setup(e.clone()))))
                .collect()
        }
    }
}

/// The ticks of partition `p` of `market.ticks` in `[from, to)` (blocking).
fn read_ticks(source: StateSource, p: i32, from: i64, to: i64) -> Result<TickRange, StoreError> {
    PartitionReader::new(source.settings, source.timeout)?.range(MARKET_TICKS, p, from, to)
}

/// Reads, off the async threads, each partition's committed offset, newest state
/// records and the ticks to replay.
fn read_gained(
    consumer: &StreamConsumer<HostContext>,
    source: StateSource,
    partitions: &[i32],
) -> Vec<Gained> {
    let StateSource {
        settings,
        topic: state_topic,
        group,
        timeout,
        enabled: with_state,
    } = source;
    let mut tpl = TopicPartitionList::new();
    for &p in partitions {
        tpl.add_partition(MARKET_TICKS, p);
    }
    let committed: BTreeMap<i32, i64> = match consumer.committed_offsets(tpl, timeout) {
        Ok(c) => c
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "committed offsets of gained partitions unknown");
            BTreeMap::new()
        }
    };
    let reader = if with_state {
        Some(PartitionReader::new(settings, timeout).map_err(|e| e.to_string()))
    } else {
        None
    };
    partitions
        .iter()
        .map(|&p| {
            let committed = committed.get(&p).copied();
            let log = consumer.fetch_watermarks(MARKET_TICKS, p, timeout).ok();
            let read = match &reader {
                None => Ok(Default::default()),
                Some(Err(e)) => Err(StoreError::Setup(e.clone())),
                Some(Ok(r)) => r.states(&state_topic, p, &group).and_then(|records| {
                    let from = records
                        .iter()
                        .map(|r| r.next_offset)
                        .filter(|o| committed.is_some_and(|c| *o < c))
                        .min();
                    let ticks = match (from, committed) {
                        (Some(f), Some(c)) => r.range(MARKET_TICKS, p, f, c)?,
                        _ => TickRange::default(),
                    };
                    Ok((records, ticks))
                }),
            };
            Gained {
                partition: p,
                log,
                committed,
                read,
                retry: false,
            }
        })
        .collect()
}

impl Host {
    /// Whether a message is below its partition's restored state (answered and in
    /// the state already, though the group's offset was lost).
    pub(super) fn in_restored_state(&self, m: &impl Message) -> bool {
        self.skip_below
            .get(&m.partition())
            .is_some_and(|&below| m.offset() < below)
    }

    /// Whether a message is in its partition's catch-up window.
    pub(super) fn in_catch_up(&self, m: &impl Message) -> bool {
        self.catch_up_until
            .get(&m.partition())
            .is_some_and(|&end| m.offset() < end)
    }

    /// Runs each partition's strategies over its ticks of the batch, in offset
    /// order: `keep` answered, `caught` (answered before) only fed, outputs
    /// dropped. Positions in the result are positions in `keep`; signals stay in
    /// tick order.
    pub(super) fn run_partitions<M: Message>(
        &mut self,
        msgs: &[M],
        keep: &[Fresh],
        caught: &[Fresh],
    ) -> Processed {
        let mut by_partition: BTreeMap<i32, Vec<Item<'_>>> = BTreeMap::new();
        for (i, f) in keep.iter().enumerate() {
            let m = &msgs[f.msg];
            by_partition
                .entry(m.partition())
                .or_default()
                .push((m.offset(), Some(i), &f.env.data));
        }
        for f in caught {
            let m = &msgs[f.msg];
            by_partition
                .entry(m.partition())
                .or_default()
                .push((m.offset(), None, &f.env.data));
        }
        let mut out = Processed::default();
        let mut caught_up = 0u64;
        for (p, mut items) in by_partition {
            items.sort_by_key(|(o, _, _)| *o);
            let Some(set) = self.live.partition_mut(p) else {
                continue;
            };
            // Consecutive runs of answered or caught-up ticks, in order.
            for run in items.chunk_by(|a, b| a.1.is_some() == b.1.is_some()) {
                let ticks: Vec<&MarketTick> = run.iter().map(|(_, _, t)| *t).collect();
                if run[0].1.is_none() {
                    caught_up += ticks.len() as u64;
                    set.catch_up_all(&ticks);
                    continue;
                }
                let at = |local: usize| run.get(local).and_then(|(_, i, _)| *i).unwrap_or(0);
                let part = set.process(&ticks);
                out.signals.extend(part.signals.into_iter().map(|mut s| {
                    s.tick_pos = at(s.tick_pos);
                    s
                }));
                out.faults.extend(part.faults.into_iter().map(|mut f| {
                    f.tick_pos = at(f.tick_pos);
                    f
                }));
                out.unconvertible
                    .extend(part.unconvertible.into_iter().map(|(i, e)| (at(i), e)));
                out.calls.extend(part.calls);
            }
        }
        if caught_up > 0 {
            self.stats
                .state_replayed_ticks
                .fetch_add(caught_up, Ordering::Relaxed);
            tracing::debug!(
                ticks = caught_up,
                "ticks answered before a rebalance fed to restored state"
            );
        }
        // Within a tick, strategies stay in id order (a stable sort).
        out.signals.sort_by_key(|s| s.tick_pos);
        out
    }

    /// Applies the rebalances queued since the last batch: lost partitions' sets
    /// are dropped (their state is in the committed state records), gained ones
    /// start from theirs. A partition revoked and assigned again with nothing
    /// committed meanwhile keeps its set as it was.
    pub(super) async fn apply_rebalances(&mut self) {
        let changes = match self.changes.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => return,
        };
        if changes.is_empty() {
            return;
        }
        let mut gained: Vec<i32> = Vec::new();
        for change in changes {
            match change {
                AssignmentChange::Revoked(parts) => {
                    for (_, p) in parts.into_iter().filter(|(t, _)| t == MARKET_TICKS) {
                        gained.retain(|g| *g != p);
                        if let Some(set) = self.live.revoke(p) {
                            self.parked.insert(p, set);
                        }
                    }
                }
                AssignmentChange::Assigned(parts) => {
                    for (_, p) in parts.into_iter().filter(|(t, _)| t == MARKET_TICKS) {
                        if !gained.contains(&p) {
                            gained.push(p);
                        }
                    }
                }
            }
        }
        gained.retain(|p| self.live.partition_mut(*p).is_none());
        if !gained.is_empty() {
            self.gain(gained).await;
        }
        for (p, _) in std::mem::take(&mut self.parked) {
            self.unread.remove(&p);
            self.next_offset.remove(&p);
            self.catch_up_until.remove(&p);
            self.skip_below.remove(&p);
            tracing::info!(
                partition = p,
                "partition lost; its strategy state stays in the state topic"
            );
        }
        self.stats.set_lifecycle(self.live.counts(), &self.live);
    }

    /// Exactly-once, after an aborted transaction: every partition's strategies are
    /// dropped and started again from the committed state records and offsets (as
    /// if gained), and the consumer is sent back to those offsets. A partition the
    /// group has taken away meanwhile is left to the rebalance that follows.
    pub(super) async fn rewind(&mut self) -> Result<(), PipelineError> {
        let parts: Vec<i32> = self.live.partitions().collect();
        for &p in &parts {
            self.live.revoke(p);
            self.unread.remove(&p);
            self.next_offset.remove(&p);
            self.catch_up_until.remove(&p);
            self.skip_below.remove(&p);
        }
        self.gain(parts.clone()).await;
        let assigned = self.consumer.assignment()?;
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            if assigned.find_partition(MARKET_TICKS, p).is_none() {
                continue;
            }
            let offset = match self.next_offset.get(&p) {
                Some(&o) => Offset::Offset(o),
                None => Offset::Beginning,
            };
            tpl.add_partition_offset(MARKET_TICKS, p, offset)?;
        }
        if tpl.count() > 0 {
            let result = self
                .consumer
                .seek_partitions(tpl, Duration::from_secs(10))?;
            for e in result.elements() {
                if let Err(err) = e.error() {
                    return Err(PipelineError::Kafka(err));
                }
            }
        }
        tracing::info!(
            partitions = self.live.partitions().count(),
            "rewound to the committed offsets and state after an aborted transaction"
        );
        self.stats.set_lifecycle(self.live.counts(), &self.live);
        Ok(())
    }

    /// Where gained partitions' state is read from.
    fn state_source(&self) -> StateSource {
        StateSource {
            settings: self.reader_settings.clone(),
            topic: self.state_topic.clone(),
            group: self.group.clone(),
            timeout: Duration::from_millis(self.config.state.load_timeout_ms.max(1)),
            enabled: self.config.state.enabled(),
        }
    }

    /// How long after a failed read the state of unread partitions is read again:
    /// a state period (at least 1 s), doubled after each failure, up to a minute.
    fn reread_after(&self) -> Duration {
        let base = Duration::from_millis(self.config.state.every_ms.max(1000));
        (base * 2u32.saturating_pow(self.reread_failures.min(6)))
            .min(base.max(Duration::from_secs(60)))
    }

    /// Reads again, in the background (the tick path does not wait for a state
    /// topic that does not answer), the state of partitions whose read failed.
    /// Once read, each record is restored and the ticks this host ran since are
    /// replayed into it (outputs suppressed): the strategies go on from the real
    /// state, not from `init`.
    pub(super) async fn retry_unread(&mut self) {
        if let Some(task) = self.reread.take() {
            if !task.is_finished() {
                self.reread = Some(task);
                return;
            }
            match task.await {
                Ok(results) => self.restore_reread(results).await,
                Err(e) => {
                    self.reread_failures += 1;
                    self.unread_retry = Instant::now() + self.reread_after();
                    tracing::warn!(error = %e, "reading state again failed");
                }
            }
            return;
        }
        if self.unread.is_empty() || Instant::now() < self.unread_retry {
            return;
        }
        let parts: Vec<i32> = self.unread.iter().copied().collect();
        tracing::info!(partitions = ?parts, "reading the state of partitions that started from init again");
        let source = self.state_source();
        self.reread = Some(tokio::task::spawn_blocking(move || {
            read_states(source, &parts)
        }));
    }

    /// Restores what a background read found, replaying each partition's ticks
    /// from its records up to the last tick this host ran.
    async fn restore_reread(&mut self, results: Vec<(i32, Result<Vec<StateRecord>, StoreError>)>) {
        let started = Instant::now();
        let mut failed = false;
        for (p, read) in results {
            // Lost meanwhile: its new owner reads it.
            if !self.unread.contains(&p) {
                continue;
            }
            let ran_to = self.next_offset.get(&p).copied();
            let read = match read {
                Ok(records) => {
                    let from = records
                        .iter()
                        .map(|r| r.next_offset)
                        .filter(|o| ran_to.is_some_and(|t| *o < t))
                        .min();
                    let ticks = match (from, ran_to) {
                        (Some(f), Some(t)) => {
                            let source = self.state_source();
                            tokio::task::spawn_blocking(move || read_ticks(source, p, f, t))
                                .await
                                .unwrap_or_else(|e| Err(StoreError::Setup(e.to_string())))
                        }
                        _ => Ok(TickRange::default()),
                    };
                    ticks.map(|t| (records, t))
                }
                Err(e) => Err(e),
            };
            let g = Gained {
                partition: p,
                log: None,
                committed: ran_to,
                read,
                retry: true,
            };
            if self.gain_one(g, started) {
                self.unread.remove(&p);
                // Restored up to ticks run here, some maybe not committed yet:
                // written with the next commit, never ahead of it.
                self.state_due = Instant::now();
            } else {
                failed = true;
            }
        }
        self.reread_failures = if failed { self.reread_failures + 1 } else { 0 };
        self.unread_retry = Instant::now() + self.reread_after();
    }

    /// Starts the strategies of gained `partitions` from their state records.
    async fn gain(&mut self, partitions: Vec<i32>) {
        let started = Instant::now();
        let consumer = Arc::clone(&self.consumer);
        let source = self.state_source();
        let parts = partitions.clone();
        let gained = match tokio::task::spawn_blocking(move || {
            read_gained(&consumer, source, &parts)
        })
        .await
        {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(error = %e, "reading gained partitions' state failed; strategies start from init");
                partitions
                    .iter()
                    .map(|&p| Gained {
                        partition: p,
                        log: None,
                        committed: None,
                        read: Err(StoreError::Setup(e.to_string())),
                        retry: false,
                    })
                    .collect()
            }
        };
        let mut written = Vec::new();
        for g in gained {
            let p = g.partition;
            // Where the partition starts for this host: its committed offset, or
            // the log start if nothing was committed.
            let start = g.committed.or(g.log.map(|(low, _)| low));
            let known = self.gain_one(g, started);
            if !self.config.state.enabled() {
                continue;
            }
            if !known {
                // A state that could not be read is not written over with `init`;
                // it is read again a state period later.
                if self.unread.is_empty() {
                    self.unread_retry = Instant::now() + self.reread_after();
                }
                self.unread.insert(p);
                continue;
            }
            self.unread.remove(&p);
            if let Some(start) = start {
                self.next_offset.entry(p).or_insert(start);
                written.push(p);
            }
        }
        // The state each gained partition starts from is written at once, so a
        // crash before the first periodic write restores it (not `init`).
        let records: Vec<StateRecord> = self
            .state_records()
            .into_iter()
            .filter(|r| written.contains(&r.partition))
            .collect();
        if let Err(e) = self.write_state_now(records).await {
            tracing::warn!(error = %e, "state of gained partitions not written; a crash before the next write restores older state");
        }
    }

    /// Starts a gained partition's strategies; false if its state could not be
    /// read (they start from `init`).
    fn gain_one(&mut self, g: Gained, started: Instant) -> bool {
        let p = g.partition;
        if g.retry {
            if let Err(e) = &g.read {
                self.stats.state_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(partition = p, error = %e, "state of the partition still cannot be read; its strategies go on from init");
                return false;
            }
        } else if let Some(set) = self.parked.remove(&p) {
            if g.committed.is_some() && g.committed == self.next_offset.get(&p).copied() {
                self.live.reinstate(p, set);
                tracing::info!(
                    partition = p,
                    "partition assigned again with nothing moved; its strategies keep their state"
                );
                return true;
            }
        }
        if !g.retry {
            self.next_offset.remove(&p);
            self.catch_up_until.remove(&p);
            self.skip_below.remove(&p);
        }
        let set = self.live.assign(p);
        let (records, ticks) = match g.read {
            Ok(r) => r,
            Err(e) => {
                self.stats.state_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(partition = p, error = %e, "state of a gained partition could not be read; its strategies start from init");
                if let Some(c) = g.committed {
                    self.next_offset.insert(p, c);
                }
                return false;
            }
        };
        let mut restored = 0u64;
        let mut replay: Vec<(String, i64)> = Vec::new();
        // Where this host starts reading: the committed offset, else the log start.
        let start = g.committed.or(g.log.map(|(low, _)| low));
        let mut ahead: Option<i64> = None;
        for r in &records {
            let Some(slot) = set.get_mut(&r.strategy_id) else {
                tracing::debug!(partition = p, strategy_id = %r.strategy_id, "state of a strategy not loaded here");
                continue;
            };
            if let Err(e) = slot.restore_state(&r.state) {
                tracing::warn!(partition = p, strategy_id = %r.strategy_id, state_sha256 = %r.sha256, sha256 = %slot.sha256(), reason = %e, "state record refused; the strategy starts from init on this partition");
                continue;
            }
            restored += 1;
            match (g.committed, start) {
                (Some(c), _) if r.next_offset < c => {
                    replay.push((r.strategy_id.clone(), r.next_offset))
                }
                // A record is written only once its ticks are answered and committed:
                // a group offset behind it was lost (expired, or a broker that keeps
                // no transactional offsets). Those ticks are not run again.
                (_, Some(from)) if r.next_offset > from => {
                    ahead = Some(ahead.map_or(r.next_offset, |a: i64| a.min(r.next_offset)));
                }
                _ => {}
            }
        }
        // Ticks in order, each id once (a repeat was skipped when first answered).
        let mut seen = HashSet::new();
        let decoded: Vec<(i64, crate::contract::MarketTick)> = ticks
            .messages
            .iter()
            .filter_map(|(o, bytes)| decode_tick(bytes).ok().map(|env| (*o, env)))
            .filter(|(_, env)| seen.insert(env.id.clone()))
            .map(|(o, env)| (o, env.data))
            .collect();
        let mut replayed = 0u64;
        if let Some(from) = replay.iter().map(|(_, o)| *o).min() {
            if ticks.first > from {
                tracing::warn!(
                    partition = p,
                    from,
                    first = ticks.first,
                    "ticks to replay were removed by retention; restored state misses them"
                );
            }
        }
        for (id, from) in &replay {
            let refs: Vec<&crate::contract::MarketTick> = decoded
                .iter()
                .filter(|(o, _)| o >= from)
                .map(|(_, t)| t)
                .collect();
            replayed += refs.len() as u64;
            set.catch_up(id, &refs);
        }
        if let Some(c) = g.committed {
            self.next_offset.insert(p, c);
        }
        if let Some(below) = ahead {
            tracing::warn!(
                partition = p,
                state_offset = below,
                start = start.unwrap_or(-1),
                "state is ahead of the group's offset (the offset was lost); ticks below the state's offset count as answered"
            );
            self.skip_below.insert(p, below);
            self.next_offset.insert(p, below);
        }
        // A retried partition's ticks up to its log end were run here already.
        if let Some((_, end)) = g.log.filter(|_| self.config.state.enabled() && !g.retry) {
            self.catch_up_until.insert(p, end);
        }
        self.stats
            .state_restores
            .fetch_add(restored, Ordering::Relaxed);
        self.stats
            .state_replayed_ticks
            .fetch_add(replayed, Ordering::Relaxed);
        tracing::info!(
            partition = p,
            restored,
            replayed,
            committed = g.committed.unwrap_or(-1),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "partition gained; strategy state restored"
        );
        true
    }

    /// Snapshots of every running, not quarantined instance of every partition
    /// whose next offset is known and whose state was read (an unread one runs
    /// from `init`: its records are not written over).
    pub(super) fn state_records(&mut self) -> Vec<StateRecord> {
        let mut out = Vec::new();
        let partitions: Vec<i32> = self
            .live
            .partitions()
            .filter(|p| !self.unread.contains(p))
            .collect();
        for p in partitions {
            let Some(&next_offset) = self.next_offset.get(&p) else {
                continue;
            };
            let Some(set) = self.live.partition_mut(p) else {
                continue;
            };
            let ids: Vec<String> = set.slots().map(|s| s.strategy_id().to_owned()).collect();
            for id in ids {
                let Some(slot) = set.get_mut(&id) else {
                    continue;
                };
                if slot.is_quarantined() {
                    continue;
                }
                match slot.snapshot_now() {
                    Ok(state) => out.push(StateRecord {
                        group: self.group.clone(),
                        strategy_id: id,
                        partition: p,
                        next_offset,
                        sha256: slot.sha256().to_owned(),
                        state,
                    }),
                    Err(f) => {
                        tracing::warn!(partition = p, strategy_id = %id, "snapshot for the state topic faulted: {f}")
                    }
                }
            }
        }
        out
    }

    /// Takes the periodic snapshots if they are due.
    pub(super) fn due_state(&mut self) -> Vec<StateRecord> {
        if !self.config.state.enabled() || Instant::now() < self.state_due {
            return Vec::new();
        }
        self.state_due = Instant::now() + Duration::from_millis(self.config.state.every_ms);
        self.state_records()
    }

    pub(super) fn state_out(&self, r: &StateRecord) -> OutRecord {
        OutRecord {
            topic: self.state_topic.clone(),
            partition: Some(r.partition),
            key: Some(r.key().into_bytes()),
            payload: r.to_json(),
            headers: Vec::new(),
            // Not an answer to an input message.
            origin: usize::MAX,
            event_id: r.key(),
            correlation_id: String::new(),
        }
    }

    /// At-least-once: commits, synchronously, every partition up to its state
    /// record, then writes the records. A refused commit writes none (a record
    /// must never be ahead of the committed offset). `offsets` are the batch's own.
    pub(super) async fn commit_with_state(
        &mut self,
        offsets: &TopicPartitionList,
        state: Vec<StateRecord>,
    ) -> Result<(), PipelineError> {
        let owned: Vec<StateRecord> = state
            .into_iter()
            .filter(|r| self.live.partitions().any(|p| p == r.partition))
            .collect();
        let mut upto: BTreeMap<i32, i64> = BTreeMap::new();
        for e in offsets.elements() {
            if let Offset::Offset(o) = e.offset() {
                upto.insert(e.partition(), o);
            }
        }
        for r in &owned {
            let e = upto.entry(r.partition).or_insert(r.next_offset);
            *e = (*e).max(r.next_offset);
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in &upto {
            tpl.add_partition_offset(MARKET_TICKS, p, Offset::Offset(o))?;
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Sync) {
            self.stats.commit_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "offset commit refused; strategy state not written this time (the next commit covers the offsets)");
            return Ok(());
        }
        let generation = self.stats.rebalances.load(Ordering::Relaxed);
        for (&p, &o) in &upto {
            self.committed
                .insert((MARKET_TICKS.to_owned(), p), (o, generation));
        }
        self.write_state(owned).await;
        Ok(())
    }

    /// Writes records whose offsets are committed already (exactly-once: in a
    /// transaction of their own).
    async fn write_state_now(&mut self, records: Vec<StateRecord>) -> Result<(), PipelineError> {
        if self.config.delivery.mode != DeliveryMode::ExactlyOnce {
            self.write_state(records).await;
            return Ok(());
        }
        self.state_transaction(records, None).await
    }

    /// Exactly-once: one transaction with the records, and the group's offsets
    /// when given. A record that cannot be written aborts it (older records stay).
    async fn state_transaction(
        &mut self,
        records: Vec<StateRecord>,
        offsets: Option<&TopicPartitionList>,
    ) -> Result<(), PipelineError> {
        if records.is_empty() {
            return Ok(());
        }
        let meta = match offsets {
            Some(_) => Some(
                self.consumer
                    .group_metadata()
                    .ok_or(PipelineError::NoGroupMetadata)?,
            ),
            None => None,
        };
        let n = records.len() as u64;
        let out: Vec<OutRecord> = records.iter().map(|r| self.state_out(r)).collect();
        self.producer.begin_transaction()?;
        let (failed, _) = deliver(&self.producer, out, self.config.delivery.retry_scale).await;
        if !failed.is_empty() {
            self.producer.abort_transaction(TXN_TIMEOUT)?;
            tracing::warn!(
                "strategy state records not written; a gaining host replays from the older ones"
            );
            return Ok(());
        }
        if let (Some(tpl), Some(meta)) = (offsets, meta) {
            self.producer
                .send_offsets_to_transaction(tpl, &meta, TXN_TIMEOUT)?;
        }
        self.producer.commit_transaction(TXN_TIMEOUT)?;
        self.stats.state_writes.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }

    async fn write_state(&mut self, records: Vec<StateRecord>) {
        if records.is_empty() {
            return;
        }
        let out: Vec<OutRecord> = records.iter().map(|r| self.state_out(r)).collect();
        let n = out.len() as u64;
        let (failed, _) = deliver(&self.producer, out, self.config.delivery.retry_scale).await;
        if let Some(f) = failed.first() {
            tracing::warn!(error = %f.error, records = failed.len(), "strategy state records not written; a gaining host replays from the older ones");
        }
        self.stats
            .state_writes
            .fetch_add(n - failed.len() as u64, Ordering::Relaxed);
    }

    /// At a clean stop, once everything is settled: commits every partition up to
    /// its last tick and writes its state with it (in one transaction in
    /// exactly-once mode), so a restart or the next owner replays nothing.
    pub(super) async fn write_state_at_stop(&mut self) -> Result<(), PipelineError> {
        if !self.config.state.enabled() {
            return Ok(());
        }
        let records = self.state_records();
        if records.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in &self.next_offset {
            tpl.add_partition_offset(MARKET_TICKS, p, Offset::Offset(o))?;
        }
        if self.config.delivery.mode == DeliveryMode::ExactlyOnce {
            return self.state_transaction(records, Some(&tpl)).await;
        }
        self.commit_with_state(&tpl, records).await
    }
}
