//! The strategy host on the stream. Each batch of `market.ticks` goes through six
//! stages, each in a module of its own:
//!
//! classify → dedupe → run → encode → deliver → commit
//!
//! At-least-once, each (partition, strategy) runs its calls on a lane of its own
//! ([`crate::strategy::lanes`]): a batch's calls are handed to the lanes, and
//! each call's signals are encoded and sent as soon as it returns, so a slow
//! strategy holds up only itself. Batches whose calls or acks are pending stay
//! in flight (up to `plugins.max_pending_ticks` ticks) while the next ones are
//! classified, deduplicated (also against the ids in flight) and handed out;
//! they are committed oldest first, so commits stay in order per partition.
//! Exactly-once, a batch's strategies run side by side and its transaction is
//! committed before the next is delivered. Between batches, [`control`] applies
//! plugin updates, operator commands, rebalances and the partitions' state
//! reads, once no lane is busy.
//!
//! - [`context`]: the consumer's context: rebalances, librdkafka's log, lag.
//! - [`classify`]: each message's route (run, skip, hold) and decoding.
//! - [`dedupe`]: ticks answered before are skipped, or fed only.
//! - [`run`]: each partition's strategies over its ticks, in offset order.
//! - [`lane_run`]: the same on lanes: calls handed out, each result sent.
//! - [`encode`]: signals into envelopes, poison into DLQ records.
//! - [`commit`]: delivery, the DLQ for what could not be written, offsets, marks.
//! - [`state_commit`]: the commit periodic state waits for, off the pipeline.
//! - [`transaction`]: exactly-once transactions, and their abort and rewind.
//! - [`control`]: the work between batches.
//! - [`reads`]: partitions' state read off the tick path.
//! - [`instances`]: the strategies as the partition state machine drives them.
//! - [`units`], [`unit_run`]: strategy-scoped units: started, stopped, run.
mod batch_size;
mod classify;
mod commit;
pub mod context;
mod control;
mod dedupe;
mod encode;
mod held;
mod instances;
mod lane_run;
mod reads;
mod run;
mod stale;
mod state_commit;
mod transaction;
mod unit_run;
mod units;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, Producer};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::clock::{self, Instant};
use crate::config::{Config, DeliveryMode};
use crate::dedup::Dedup;
use crate::kafka::outbox::{OutRecord, Undelivered};
use crate::kafka::settings;
use crate::observe::{Metrics, OperatorCommand};
use crate::partitions::{PartitionStates, StatePolicy};
use crate::registry::watcher::PluginWatcher;
use crate::registry::Readiness;
use crate::state::StateRecord;
use crate::strategy::lanes::Lanes;
use crate::strategy::LiveStrategies;
use crate::topics::{TopicRegistry, MARKET_TICKS};
use crate::units::owners::Owners;
use crate::units::Units;
use context::{HostContext, RebalanceQueue};
use dedupe::InFlight;
use held::HeldCommits;
use reads::{Reads, StateSource};
use state_commit::{Owner, StateCommits};
use unit_run::UnitFlight;

const TXN_TIMEOUT: Duration = Duration::from_secs(30);

/// How often an idle pipeline does the work between batches.
const IDLE_WAKE: Duration = Duration::from_millis(100);

/// At-least-once: the most batches in flight at once, whatever their size
/// (at a low rate every tick is a batch).
const MAX_IN_FLIGHT_BATCHES: usize = 4_096;

/// Why the host stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("message {topic}/{partition}@{offset} could not be written to the DLQ: {error}")]
    DlqFailed {
        topic: String,
        partition: i32,
        offset: i64,
        error: String,
    },
    #[error("the consumer has no group metadata for the transaction")]
    NoGroupMetadata,
    #[error("cannot encode an output envelope: {0}")]
    Encode(String),
    #[error("the task writing a batch's outputs failed (nothing of it was committed): {0}")]
    Delivery(String),
}

impl From<tokio::task::JoinError> for PipelineError {
    fn from(e: tokio::task::JoinError) -> Self {
        PipelineError::Delivery(e.to_string())
    }
}

/// Totals of a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub ticks: u64,
    pub signals: u64,
    pub dlq: u64,
    pub duplicates: u64,
    /// Ticks older than `start.max_tick_age_ms`, fed without signals.
    pub stale: u64,
}

/// What the host shares with the rest of the process.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub readiness: Readiness,
    /// Operator commands (from `/plugins/ID/release`).
    pub commands: UnboundedReceiver<OperatorCommand>,
}

/// The topics a host writes besides the signals.
struct Topics {
    signals: String,
    dlq: String,
    state: String,
}

/// The running host's parts.
pub struct Host {
    config: Config,
    group: String,
    topics: Topics,
    /// Shared with `run`'s loop, whose batches borrow their messages from it.
    consumer: Arc<StreamConsumer<HostContext>>,
    producer: FutureProducer,
    dedup: Dedup,
    live: LiveStrategies,
    states: PartitionStates,
    reads: Reads,
    watcher: Option<PluginWatcher>,
    shared: Shared,
    summary: RunSummary,
    /// At-least-once: the next offset per partition this host has asked to commit,
    /// with the partition's ownership epoch: committed again synchronously at
    /// shutdown (an asynchronous commit can be refused or still in flight).
    asked: BTreeMap<i32, (i64, u64)>,
    /// Rebalances queued by the consumer's context, applied at batch boundaries.
    changes: RebalanceQueue,
    /// At-least-once: finished batches' offsets waiting for their commit
    /// (shared with the consumer's context, which commits them at a revocation).
    held: Arc<HeldCommits>,
    /// The cluster's address (units make clients of their own).
    bootstrap: String,
    /// Strategy-scoped units owned or running here.
    units: Units,
    /// At-least-once: each unit's delivery in flight.
    unit_flights: BTreeMap<i32, UnitFlight>,
    /// Notified when a unit's delivery is acked.
    flight_landed: Arc<tokio::sync::Notify>,
    stale: stale::StaleBurst,
    /// At-least-once: the lanes strategy calls run on.
    lanes: Lanes,
    /// How many ticks the next batch may take.
    batch_size: batch_size::BatchSize,
    /// At-least-once: the commits strategy state waits for, in flight.
    state_commits: StateCommits,
    /// The number of the next batch.
    seq: u64,
}

/// A batch's messages and what finishing it needs once its outputs are written.
struct Batch<M> {
    seq: u64,
    /// Its calls still running or waiting on their lanes.
    pending: usize,
    msgs: Vec<M>,
    /// Its ticks to answer, for the signals of calls still to come.
    keep: Vec<classify::Fresh>,
    /// Per partition: the offset after its last message run or skipped here, and
    /// the partition's ownership epoch when the batch ran.
    offsets: BTreeMap<i32, (i64, u64)>,
    /// State records taken right before this batch ran (at-least-once: written
    /// once its offsets are committed).
    state: Vec<StateRecord>,
    /// Each partition's ownership epoch when `state` was taken.
    state_epochs: BTreeMap<i32, u64>,
    /// Ids of the ticks it answers (each once).
    ids: dedupe::IdSet<String>,
    signals: u64,
    dlq: u64,
    /// When its first message was taken: the tick-to-signal latency of each
    /// signal is observed once it is acknowledged.
    received: Instant,
}

/// A batch run (or handed to the lanes) and encoded, nothing sent yet.
struct Prepared<M> {
    batch: Batch<M>,
    records: Vec<OutRecord>,
    /// Its signals so far per strategy, for the latency histogram.
    answered: Vec<(String, u64)>,
}

/// What could not be written, and the number of retries.
type Acked = (Vec<Undelivered>, u64);

/// A batch whose records were handed to the producer.
struct Sent<M> {
    batch: Batch<M>,
    producing: Instant,
    /// The deliveries of its records whose acks were not taken yet: one for
    /// what the batch sent at once, one per lane call that signalled.
    deliveries: Vec<tokio::task::JoinHandle<Acked>>,
    /// The acks taken so far.
    acked: Acked,
}

impl Host {
    /// Connects to `bootstrap` and subscribes to `market.ticks`.
    pub fn connect(
        config: &Config,
        bootstrap: &str,
        live: LiveStrategies,
        watcher: Option<PluginWatcher>,
        shared: Shared,
    ) -> Result<Self, PipelineError> {
        let registry = TopicRegistry::new(&config.topics);
        let group = registry.group_id(&config.service, config.broker);
        let context = HostContext::new(shared.metrics.clone());
        let changes = context.changes();
        let held = context.held();
        let settings = settings::consumer(config, bootstrap, &group);
        let consumer: StreamConsumer<HostContext> = settings.create_with_context(context)?;
        consumer.subscribe(&[MARKET_TICKS])?;
        let consumer = Arc::new(consumer);
        let producer: FutureProducer = settings::producer(config, bootstrap).create()?;
        if config.delivery.mode == DeliveryMode::ExactlyOnce {
            producer.init_transactions(TXN_TIMEOUT)?;
        }
        let state_topic = registry.strategy_state(config.broker);
        let source = StateSource {
            settings,
            topic: state_topic.clone(),
            group: group.clone(),
            timeout: Duration::from_millis(config.state.load_timeout_ms.max(1)),
            enabled: config.state.enabled(),
        };
        let policy = StatePolicy {
            enabled: config.state.enabled(),
            every: Duration::from_millis(config.state.every_ms),
        };
        // On the stream every strategy instance belongs to a partition or a unit.
        let unit_count = registry
            .topics_for(&[config.broker])
            .iter()
            .find(|t| t.name == state_topic)
            .map_or(1, |t| t.partitions);
        let mut live = live.with_units(unit_count);
        live.drop_local();
        let lanes = Lanes::new(live.workers().detached());
        let owners = Owners::join(
            &settings::owners_consumer(config, bootstrap, &format!("{group}.owners")),
            &state_topic,
        )?;
        let host = Self {
            config: config.clone(),
            topics: Topics {
                signals: registry.signals_raw(config.broker),
                dlq: registry.dlq_of(MARKET_TICKS),
                state: state_topic,
            },
            states: PartitionStates::new(&group, policy, clock::now()),
            reads: Reads::new(source, consumer.clone()),
            group,
            consumer,
            producer,
            dedup: Dedup::from_config(config)?,
            live,
            watcher,
            shared,
            summary: RunSummary::default(),
            asked: BTreeMap::new(),
            changes,
            held,
            bootstrap: bootstrap.to_owned(),
            units: Units::new(Some(owners)),
            unit_flights: BTreeMap::new(),
            flight_landed: Arc::new(tokio::sync::Notify::new()),
            stale: stale::StaleBurst::default(),
            lanes,
            batch_size: batch_size::BatchSize::from_config(&config.plugins),
            state_commits: StateCommits::default(),
            seq: 0,
        };
        host.update_readiness();
        Ok(host)
    }

    fn eos(&self) -> bool {
        self.config.delivery.mode == DeliveryMode::ExactlyOnce
    }

    /// Consumes until `shutdown` resolves, then drains: finishes the batch in hand,
    /// flushes, commits, leaves the group.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunSummary, PipelineError> {
        tokio::pin!(shutdown);
        // A batch holds its messages as librdkafka gave them (no copy); they are
        // released when the batch is done.
        let consumer = Arc::clone(&self.consumer);
        // At-least-once: the batches whose outputs are on their way to the
        // broker, oldest first.
        let mut in_flight: VecDeque<Sent<_>> = VecDeque::new();
        loop {
            self.between_batches(&mut in_flight).await?;
            self.step_units().await?;
            self.commit_held_if_due()?;
            // Idle, the work between batches (state reads back, plugin
            // updates, operator commands) is looked at every IDLE_WAKE, a
            // unit's held tick when it may go, the offsets held when due.
            let now = clock::now();
            let idle = [self.units_deadline(), self.held.due(self.commit_every())]
                .into_iter()
                .flatten()
                .map(|d| d.saturating_duration_since(now))
                .fold(IDLE_WAKE, Duration::min);
            let first = tokio::select! {
                biased;
                _ = &mut shutdown => break,
                // Its calls and acks came before the next message: commit it now.
                acked = commit::wait_acks(&mut in_flight) => {
                    acked?;
                    if let Some(sent) = in_flight.pop_front() {
                        self.finish(sent.batch, sent.producing, sent.acked).await?;
                    }
                    continue;
                }
                landed = self.state_commits.landed() => {
                    self.state_committed(landed);
                    continue;
                }
                Some(returned) = self.lanes.next() => {
                    self.lane_returned(returned, &mut in_flight)?;
                    continue;
                }
                fetched = self.units.next_fetched() => {
                    if let Some(f) = fetched {
                        self.units.accept(f, clock::now());
                    }
                    continue;
                }
                () = self.flight_landed.notified() => continue,
                m = consumer.recv() => m,
                _ = clock::sleep(idle) => continue,
            };
            // A tick's time in the host starts when it is taken from the consumer.
            let received = clock::now();
            let Some(msgs) = self.fetch(first, &consumer) else {
                continue;
            };
            // Partitions gained or lost while the batch was fetched.
            self.between_batches(&mut in_flight).await?;
            let prepared = self.prepare(msgs, received, &mut in_flight).await?;
            self.deliver(prepared, &mut in_flight).await?;
        }
        while !in_flight.is_empty() {
            self.settle_oldest(&mut in_flight).await?;
        }
        self.drain().await
    }

    /// The batch that starts with `first`: what else librdkafka has queued at
    /// once, up to the batch size (`plugins.latency_batch` or `max_batch`),
    /// without waiting for more.
    fn fetch<'c>(
        &mut self,
        first: Result<BorrowedMessage<'c>, rdkafka::error::KafkaError>,
        consumer: &'c StreamConsumer<HostContext>,
    ) -> Option<Vec<BorrowedMessage<'c>>> {
        let mut batch = match first {
            Ok(m) => vec![m],
            Err(e) => {
                tracing::warn!(error = %e, "consume error");
                return None;
            }
        };
        // Only what is queued already: waiting for more would hold the first
        // tick for the arrivals after it (at 50 000 ticks/s a batch of 512 fills
        // in 10 ms); under a backlog librdkafka's queue fills batches anyway.
        let limit = self.batch_size.limit();
        while batch.len() < limit {
            match consumer.recv().now_or_never() {
                Some(Ok(m)) => batch.push(m),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "consume error");
                    break;
                }
                None => break,
            }
        }
        self.batch_size.took(batch.len());
        let ticks = &self.shared.metrics.batch_ticks;
        ticks.observe(batch.len() as f64);
        Some(batch)
    }

    /// Classifies, deduplicates (also against the ids of the batches in
    /// flight, not marked yet), runs (exactly-once) or hands to the lanes
    /// (at-least-once), and encodes a batch.
    async fn prepare<M: Message>(
        &mut self,
        msgs: Vec<M>,
        received: Instant,
        in_flight: &mut VecDeque<Sent<M>>,
    ) -> Result<Prepared<M>, PipelineError> {
        let lanes = !self.eos();
        // At-least-once, periodic state is taken before the batch, once no lane
        // is busy, and written once the batch is committed.
        // While a commit with state is in flight the next state waits for it.
        let (mut state, state_epochs) = if lanes && !self.state_commits.busy(Owner::Partitions) {
            let state = self.state_between_calls(in_flight).await?;
            (state, self.states.running().collect())
        } else {
            (Vec::new(), BTreeMap::new())
        };
        let classified = self.classify(msgs);
        let mut deduped = {
            let pending: Vec<InFlight<'_>> = in_flight
                .iter()
                .map(|s| InFlight {
                    ids: &s.batch.ids,
                    offsets: &s.batch.offsets,
                })
                .collect();
            self.dedupe(classified.fresh, &pending).await
        };
        self.age(&mut deduped);
        let seq = self.seq;
        self.seq += 1;
        let (processed, calls) = if lanes {
            let handed =
                self.submit_partitions(seq, &classified.msgs, &deduped.keep, &deduped.caught);
            let prepare = &self.shared.metrics.in_host.prepare;
            prepare.observe(received.elapsed().as_secs_f64());
            handed
        } else {
            let p = self.run_partitions(&classified.msgs, &deduped.keep, &deduped.caught);
            (p, 0)
        };
        if let Some(c) = &self.shared.metrics.compat {
            c.processed_ticks();
        }
        let encoded = self.encode(
            &classified.msgs,
            &deduped.keep,
            &processed,
            classified.poison,
        )?;
        // Exactly-once, periodic state is taken right after the batch ran and
        // written in its transaction.
        let mut records = encoded.records;
        if !lanes {
            let due = self.states.due_state(clock::now(), &mut self.live);
            records.extend(due.iter().map(|r| self.state_out(r)));
            state.clear();
            let host = &self.shared.metrics.in_host.batch;
            host.observe(received.elapsed().as_secs_f64());
        }
        Ok(Prepared {
            batch: Batch {
                seq,
                pending: calls,
                msgs: classified.msgs,
                offsets: classified.offsets,
                state,
                state_epochs,
                ids: deduped.keep.iter().map(|f| f.env.id.clone()).collect(),
                keep: deduped.keep,
                signals: encoded.signals,
                dlq: encoded.dlq,
                received,
            },
            records,
            answered: answered_by(&processed),
        })
    }

    /// Delivers a prepared batch: at-least-once it goes in flight once the batch
    /// before is committed; exactly-once its transaction is committed now, and a
    /// failed one is aborted and every partition rewound.
    async fn deliver<M: Message>(
        &mut self,
        prepared: Prepared<M>,
        in_flight: &mut VecDeque<Sent<M>>,
    ) -> Result<(), PipelineError> {
        // Commits stay in order per partition: batches are finished (calls
        // returned, acked, DLQ'd, committed) oldest first; over the bounds, the
        // oldest are finished before the pipeline goes on.
        if !self.eos() {
            in_flight.push_back(self.send(prepared));
            while over_bounds(in_flight, self.config.plugins.max_pending_ticks) {
                self.settle_oldest(in_flight).await?;
            }
            return Ok(());
        }
        let done = match self.producer.begin_transaction() {
            Ok(()) => self.settle(self.send(prepared)).await,
            Err(e) => Err(e.into()),
        };
        match done {
            Ok(()) => Ok(()),
            Err(e) => self.recover_transaction(e).await,
        }
    }

    /// At a clean stop, once everything is settled: flushes, commits every
    /// partition up to its last tick with its state, leaves the group.
    async fn drain(mut self) -> Result<RunSummary, PipelineError> {
        tracing::info!("shutting down: flushing the producer and leaving the group");
        let started = clock::now();
        self.stop_units().await?;
        let flush = Duration::from_secs(self.config.delivery.shutdown_timeout_secs);
        self.producer.flush(flush)?;
        self.final_commit();
        self.write_state_at_stop().await?;
        self.producer.flush(flush)?;
        self.consumer.unsubscribe();
        tracing::info!(
            ticks = self.summary.ticks,
            signals = self.summary.signals,
            dlq = self.summary.dlq,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stopped cleanly"
        );
        Ok(self.summary)
    }
}

/// Whether the batches in flight hold more than `max_ticks` ticks (one batch
/// always may) or [`MAX_IN_FLIGHT_BATCHES`] batches. Each batch is committed
/// after the one before it, so commits stay in order per partition.
fn over_bounds<M>(in_flight: &VecDeque<Sent<M>>, max_ticks: usize) -> bool {
    let ticks: usize = in_flight.iter().map(|s| s.batch.msgs.len()).sum();
    in_flight.len() > MAX_IN_FLIGHT_BATCHES || (in_flight.len() > 1 && ticks > max_ticks)
}

/// Signals per strategy, for the latency histogram.
fn answered_by(processed: &crate::strategy::set::Processed) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for s in &processed.signals {
        match out.iter_mut().find(|(id, _)| *id == s.strategy_id) {
            Some(e) => e.1 += 1,
            None => out.push((s.strategy_id.clone(), 1)),
        }
    }
    out
}
