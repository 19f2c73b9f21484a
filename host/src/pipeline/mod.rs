//! The strategy host on the stream: consume `market.ticks` in the namespace's
//! group, decode, skip duplicates, run the strategies, write signals to
//! `{broker}.signals.raw` and poison to `market.ticks.dlq`, and commit a batch's
//! offsets only once every output of it is acknowledged (in exactly-once mode, in
//! the same transaction as the outputs).
//!
//! At-least-once, one batch is in flight: while a batch's outputs wait for their
//! acks, the next batch is decoded, deduplicated (also against the ids in flight)
//! and run; the batch in flight is then finished (DLQ, commit, dedup marks) before
//! the next one goes to the producer, so commits stay in order per partition.
//! Exactly-once, each batch's transaction is committed before the next is sent.
//!
//! - [`stats`]: live counters for the display and `/metrics`.
//! - [`context`]: rebalance logging and the assignment size.
//! - [`outbox`]: producing with in-place retries.
//! - [`partitions`]: partitions gained and lost, and the strategy state that follows them.
pub mod context;
pub mod outbox;
pub mod partitions;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::{Config, DeliveryMode};
use crate::contract::{decode_tick, DecodeError, EventEnvelope, MarketTick, Timestamp};
use crate::dedup::Dedup;
use crate::dlq::{dlq_envelope, FailedMessage, Failure};
use crate::emit::signal_envelope;
use crate::errors::ErrorType;
use crate::kafka::settings;
use crate::registry::watcher::PluginWatcher;
use crate::state::StateRecord;
use crate::strategy::{Lifecycle, LiveStrategies, StrategySet};
use crate::topics::{TopicRegistry, MARKET_TICKS};
use alpha_panda_abi::Side;
use context::{HostContext, RebalanceQueue};
use outbox::{deliver, OutRecord, Undelivered};
pub use stats::PipelineStats;

const TXN_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Totals of a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub ticks: u64,
    pub signals: u64,
    pub dlq: u64,
    pub duplicates: u64,
}

/// The running host's parts.
pub struct Host {
    config: Config,
    group: String,
    signals_topic: String,
    dlq_topic: String,
    /// Shared with `run`'s loop, whose batches borrow their messages from it.
    consumer: Arc<StreamConsumer<HostContext>>,
    producer: FutureProducer,
    dedup: Dedup,
    live: LiveStrategies,
    watcher: Option<PluginWatcher>,
    stats: Arc<PipelineStats>,
    summary: RunSummary,
    /// The next offset per partition this host has asked to commit (at-least-once),
    /// with the rebalance count it was asked under: committed again synchronously
    /// at shutdown, since an asynchronous commit can be refused or still in flight
    /// when the host leaves the group.
    committed: BTreeMap<(String, i32), (i64, u64)>,
    /// Rebalances queued by the consumer's context, applied at batch boundaries.
    changes: RebalanceQueue,
    /// Per assigned partition of `market.ticks`: the offset after its last tick
    /// run (the `next_offset` of its state records).
    next_offset: BTreeMap<i32, i64>,
    /// Sets of revoked partitions, until the rebalance's new assignment is known.
    parked: BTreeMap<i32, StrategySet>,
    /// `{broker}.strategy.state`.
    state_topic: String,
    /// Per gained partition: the log end when it was gained. A tick below it that
    /// the dedup store has seen was answered by the previous owner after its last
    /// commit: it is fed to the strategies with outputs suppressed, so restored
    /// state misses nothing.
    catch_up_until: BTreeMap<i32, i64>,
    /// Per gained partition whose state record is ahead of the group's offset: the
    /// record's offset. Ticks below it are answered and in the state: skipped.
    skip_below: BTreeMap<i32, i64>,
    /// When the next periodic state records are due.
    state_due: Instant,
    /// Gained partitions whose state records could not be read: their strategies
    /// run from `init`, write no state (the records stay as they are), and the
    /// read is tried again every state period until it succeeds.
    unread: BTreeSet<i32>,
    /// When the next read of `unread` partitions' state is due.
    unread_retry: Instant,
    /// Failed reads of `unread` partitions' state in a row (the wait doubles).
    reread_failures: u32,
    /// The read of `unread` partitions' state in progress.
    reread: Option<partitions::Reread>,
    /// Settings of the group-less reader of state records and ticks.
    reader_settings: rdkafka::ClientConfig,
}

/// A decoded, not-yet-seen tick of the batch.
struct Fresh {
    msg: usize,
    env: EventEnvelope<MarketTick>,
}

/// What finishing a batch needs once its outputs are written.
struct Batch<M> {
    msgs: Vec<M>,
    /// State records taken right after this batch ran (at-least-once: written
    /// once its offsets are committed).
    state: Vec<StateRecord>,
    /// Ids of the ticks it answers (each once).
    ids: HashSet<String>,
    signal_count: u64,
    dlq_count: u64,
}

/// A batch decoded and run, its output records built, nothing sent yet.
struct Prepared<M> {
    batch: Batch<M>,
    records: Vec<OutRecord>,
}

/// A batch whose records were handed to the producer.
struct Sent<M> {
    batch: Batch<M>,
    producing: Instant,
    /// What could not be written, and the number of retries; `None` once taken.
    delivery: Option<tokio::task::JoinHandle<Acked>>,
}

type Acked = (Vec<Undelivered>, u64);

impl From<tokio::task::JoinError> for PipelineError {
    fn from(e: tokio::task::JoinError) -> Self {
        PipelineError::Delivery(e.to_string())
    }
}

/// Resolves once the batch in flight has all its acks; never if there is none.
async fn wait_acks<M>(in_flight: &mut Option<Sent<M>>) -> Result<Acked, PipelineError> {
    let Some(handle) = in_flight.as_mut().and_then(|s| s.delivery.as_mut()) else {
        return std::future::pending().await;
    };
    let acked = handle.await;
    if let Some(s) = in_flight.as_mut() {
        s.delivery = None;
    }
    Ok(acked?)
}

impl Host {
    /// Connects to `bootstrap` and subscribes to `market.ticks`.
    pub fn connect(
        config: &Config,
        bootstrap: &str,
        live: LiveStrategies,
        watcher: Option<PluginWatcher>,
        stats: Arc<PipelineStats>,
    ) -> Result<Self, PipelineError> {
        let registry = TopicRegistry::new(&config.topics);
        let group = registry.group_id(&config.service, config.broker);
        let context = HostContext::new(stats.clone());
        let changes = context.changes();
        let consumer: StreamConsumer<HostContext> =
            settings::consumer(config, bootstrap, &group).create_with_context(context)?;
        consumer.subscribe(&[MARKET_TICKS])?;
        let producer: FutureProducer = settings::producer(config, bootstrap).create()?;
        if config.delivery.mode == DeliveryMode::ExactlyOnce {
            producer.init_transactions(TXN_TIMEOUT)?;
        }
        let dedup = Dedup::from_config(config)?;
        crate::metrics::update_plugins_ready(&stats, &config.plugins.dir, &live);
        // On the stream every strategy instance belongs to a partition.
        let mut live = live;
        live.drop_local();
        Ok(Self {
            config: config.clone(),
            signals_topic: registry.signals_raw(config.broker),
            dlq_topic: registry.dlq_of(MARKET_TICKS),
            group,
            consumer: Arc::new(consumer),
            producer,
            dedup,
            live,
            watcher,
            stats,
            summary: RunSummary::default(),
            committed: BTreeMap::new(),
            changes,
            next_offset: BTreeMap::new(),
            catch_up_until: BTreeMap::new(),
            skip_below: BTreeMap::new(),
            parked: BTreeMap::new(),
            state_topic: registry.strategy_state(config.broker),
            state_due: Instant::now() + Duration::from_millis(config.state.every_ms),
            unread: BTreeSet::new(),
            unread_retry: Instant::now(),
            reread_failures: 0,
            reread: None,
            reader_settings: settings::consumer(
                config,
                bootstrap,
                &registry.group_id(&config.service, config.broker),
            ),
        })
    }

    /// Consumes until `shutdown` resolves, then drains: finishes the batch in hand,
    /// flushes, commits, leaves the group.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunSummary, PipelineError> {
        tokio::pin!(shutdown);
        let max = self.config.plugins.max_batch;
        let eos = self.config.delivery.mode == DeliveryMode::ExactlyOnce;
        // A batch holds its messages as librdkafka gave them (no copy); they are
        // released when the batch is done.
        let consumer = Arc::clone(&self.consumer);
        // At-least-once: the batch whose outputs are on their way to the broker
        // while the next one is decoded and run (one batch in flight).
        let mut in_flight: Option<Sent<_>> = None;
        loop {
            self.apply_updates();
            // An idle host takes up gained partitions (their state) at once too.
            self.apply_rebalances().await;
            self.retry_unread().await;
            let first = tokio::select! {
                biased;
                _ = &mut shutdown => break,
                // Its acks came before the next message: commit it now.
                acked = wait_acks(&mut in_flight) => {
                    if let Some(sent) = in_flight.take() {
                        self.finish(sent.batch, sent.producing, acked?).await?;
                    }
                    continue;
                }
                m = consumer.recv() => m,
                _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
            };
            let mut batch = match first {
                Ok(m) => vec![m],
                Err(e) => {
                    tracing::warn!(error = %e, "consume error");
                    continue;
                }
            };
            while batch.len() < max {
                match tokio::time::timeout(Duration::from_millis(1), consumer.recv()).await {
                    Ok(Ok(m)) => batch.push(m),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "consume error");
                        break;
                    }
                    Err(_) => break,
                }
            }
            // Partitions gained or lost while the batch was fetched.
            self.apply_rebalances().await;
            let prepared = {
                let pending = in_flight.as_ref().map(|s| &s.batch.ids);
                self.prepare(batch, pending).await?
            };
            // Commits stay in order per partition: the batch before is finished
            // (acked, DLQ'd, committed) before this one goes to the producer.
            if let Some(sent) = in_flight.take() {
                self.settle(sent).await?;
            }
            if eos {
                // A failed transaction is aborted and every partition goes back to
                // its committed offset and state; only a fatal error stops the host.
                let done = match self.send(prepared) {
                    Ok(sent) => self.settle(sent).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = done {
                    self.recover_transaction(e).await?;
                }
            } else {
                in_flight = Some(self.send(prepared)?);
            }
        }
        if let Some(sent) = in_flight.take() {
            self.settle(sent).await?;
        }
        tracing::info!("shutting down: flushing the producer and leaving the group");
        let started = Instant::now();
        self.producer.flush(Duration::from_secs(
            self.config.delivery.shutdown_timeout_secs,
        ))?;
        self.final_commit();
        self.write_state_at_stop().await?;
        self.producer.flush(Duration::from_secs(
            self.config.delivery.shutdown_timeout_secs,
        ))?;
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

    /// Exactly-once, after a batch's transaction failed (a broker outage, a group
    /// member fenced by a rebalance): aborts it and rewinds every partition to the
    /// group's committed offset and the state committed with it, so the batch is
    /// run again and answered once. A fatal error (another host took over this
    /// transactional id, or the producer is broken) stops the host.
    async fn recover_transaction(&mut self, e: PipelineError) -> Result<(), PipelineError> {
        if is_fatal(&e) {
            return Err(e);
        }
        tracing::warn!(error = %e, "transaction failed: aborting it; every partition goes back to its committed offset and state");
        let mut wait = Duration::from_millis(100);
        let started = Instant::now();
        loop {
            match self.producer.abort_transaction(TXN_TIMEOUT) {
                Ok(()) => break,
                // Nothing to abort: the transaction never began.
                Err(rdkafka::error::KafkaError::Transaction(t))
                    if t.code() == rdkafka::types::RDKafkaErrorCode::State =>
                {
                    break
                }
                Err(e) => {
                    let e = PipelineError::from(e);
                    if is_fatal(&e) || started.elapsed() > TXN_TIMEOUT * 4 {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, "abort failed; trying again in {wait:?}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.stats.txn_aborts.fetch_add(1, Ordering::Relaxed);
        self.rewind().await
    }

    /// At-least-once: commits, synchronously, the last offsets of the partitions
    /// still assigned, asked for since the last rebalance (a partition that was
    /// revoked and came back may have moved on under another owner: an older
    /// offset would send the group back).
    fn final_commit(&self) {
        if self.committed.is_empty() {
            return;
        }
        let Ok(assigned) = self.consumer.assignment() else {
            return;
        };
        let generation = self.stats.rebalances.load(Ordering::Relaxed);
        let mut tpl = TopicPartitionList::new();
        for e in assigned.elements() {
            if let Some((o, _)) = self
                .committed
                .get(&(e.topic().to_owned(), e.partition()))
                .filter(|(_, g)| *g == generation)
            {
                if tpl
                    .add_partition_offset(e.topic(), e.partition(), Offset::Offset(*o))
                    .is_err()
                {
                    return;
                }
            }
        }
        if tpl.count() == 0 {
            return;
        }
        match self.consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => self.stats.add_commit(),
            Err(e) => {
                self.stats.commit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "final offset commit refused; a restart re-reads from the last accepted commit and dedup drops what was answered");
            }
        }
    }

    /// At a tick boundary: plugin updates from the watcher and operator releases.
    fn apply_updates(&mut self) {
        if let Some(w) = &self.watcher {
            while let Some(update) = w.try_recv() {
                if let Some(event) = self.live.apply(update) {
                    // A new strategy or version has no state record of its own
                    // yet: write one with the next commit, not a period later, so
                    // a crash in between does not restart it from `init`.
                    if matches!(event, Lifecycle::Loaded { .. } | Lifecycle::Reloaded { .. }) {
                        self.state_due = Instant::now();
                    }
                    self.stats.event(event.to_string());
                }
                crate::metrics::update_plugins_ready(
                    &self.stats,
                    &self.config.plugins.dir,
                    &self.live,
                );
            }
        }
        crate::metrics::recheck_plugins_ready(&self.stats, &self.config.plugins.dir, &self.live);
        for id in self.stats.take_releases() {
            if self.live.release(&id) {
                self.stats.event(format!("released {id}"));
            } else {
                tracing::warn!(strategy_id = %id, "release asked for an unknown strategy");
            }
        }
        self.stats.set_lifecycle(self.live.counts(), &self.live);
    }

    /// Decodes, deduplicates (also against `pending`, the ids of the batch still in
    /// flight, not marked yet), runs the strategies and builds every output record.
    async fn prepare<M: Message>(
        &mut self,
        mut msgs: Vec<M>,
        pending: Option<&HashSet<String>>,
    ) -> Result<Prepared<M>, PipelineError> {
        let received = Instant::now();
        // Messages of a partition this host no longer has (fetched before it was
        // revoked) are left to its new owner: not run, not committed.
        let before = msgs.len();
        msgs.retain(|m| self.live.partitions().any(|p| p == m.partition()));
        if msgs.len() < before {
            tracing::debug!(
                dropped = before - msgs.len(),
                "messages of revoked partitions left to their new owner"
            );
        }
        for m in &msgs {
            let next = self.next_offset.entry(m.partition()).or_insert(0);
            *next = (*next).max(m.offset() + 1);
        }
        let mut fresh: Vec<Fresh> = Vec::with_capacity(msgs.len());
        let mut poison: Vec<(usize, Failure)> = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            // Answered before and in the restored state: counted as a repeat.
            if self.in_restored_state(m) {
                continue;
            }
            match m.payload() {
                None => poison.push((i, poison_failure("empty_value", "message has no value"))),
                Some(bytes) => match decode_tick(bytes) {
                    Ok(env) => fresh.push(Fresh { msg: i, env }),
                    Err(e) => poison.push((i, decode_failure(&e))),
                },
            }
        }
        self.stats.add_ticks(msgs.len() as u64);
        self.summary.ticks += msgs.len() as u64;

        // Skip what was processed before, and repeats within the batch.
        let (skip, answered) = {
            let ids: Vec<&str> = fresh.iter().map(|f| f.env.id.as_str()).collect();
            let seen = self.dedup.seen(&ids).await;
            let answered = answered_elsewhere(&ids, &seen, pending);
            (repeats(&ids, seen, pending), answered)
        };
        let mut keep: Vec<Fresh> = Vec::with_capacity(fresh.len());
        let mut caught: Vec<Fresh> = Vec::new();
        for ((f, skip), answered) in fresh.into_iter().zip(skip).zip(answered) {
            if !skip {
                keep.push(f);
            } else if answered && self.in_catch_up(&msgs[f.msg]) {
                caught.push(f);
            }
        }
        let dups = (ids_len(&msgs, &poison) - keep.len()) as u64;
        self.stats.add_duplicates(dups);
        self.summary.duplicates += dups;

        let processed = self.run_partitions(&msgs, &keep, &caught);
        self.stats.add_faults(processed.faults.len() as u64);
        for f in &processed.faults {
            if let Some(tick) = keep.get(f.tick_pos) {
                crate::strategy::events::log_tick_fault(
                    &f.strategy_id,
                    &f.sha256,
                    &f.fault,
                    &tick.env.id,
                    &tick.env.correlation_id,
                );
            }
        }
        for (id, took, _) in &processed.calls {
            self.stats
                .histograms
                .plugin_call
                .with_label_values(&[id.as_str()])
                .observe(took.as_secs_f64());
        }
        for (pos, e) in &processed.unconvertible {
            poison.push((keep[*pos].msg, poison_failure("abi_range", &e.to_string())));
        }

        let mut records = Vec::with_capacity(processed.signals.len() + poison.len());
        let now = Timestamp::now();
        // Counted per strategy and side; only the last few become display lines.
        let mut counts: Vec<(&str, &'static str, u64)> = Vec::new();
        let mut lines = Vec::new();
        let lines_from = processed.signals.len().saturating_sub(stats::RECENT);
        for (n, s) in processed.signals.iter().enumerate() {
            let f = &keep[s.tick_pos];
            let env = signal_envelope(&f.env, s, self.config.broker, &self.config.service, now);
            let payload = env
                .to_vec()
                .map_err(|e| PipelineError::Encode(e.to_string()))?;
            let side = match s.signal.side {
                Side::Buy => "BUY",
                Side::Sell => "SELL",
            };
            match counts
                .iter_mut()
                .find(|(id, sd, _)| *id == s.strategy_id && *sd == side)
            {
                Some(c) => c.2 += 1,
                None => counts.push((&s.strategy_id, side, 1)),
            }
            if n >= lines_from {
                lines.push(format!(
                    "{} {} {} {} @ {}",
                    s.strategy_id,
                    side,
                    s.signal.quantity,
                    s.signal.instrument_token,
                    s.signal
                        .price
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "market".into())
                ));
            }
            records.push(OutRecord {
                partition: None,
                topic: self.signals_topic.clone(),
                key: Some(env.key.clone().into_bytes()),
                payload,
                headers: vec![
                    (
                        "correlation_id".into(),
                        Some(env.correlation_id.clone().into_bytes()),
                    ),
                    ("trace_id".into(), Some(env.trace_id.clone().into_bytes())),
                ],
                origin: f.msg,
                event_id: env.id.clone(),
                correlation_id: env.correlation_id.clone(),
            });
        }
        self.stats.signals(&counts, lines);
        for (i, failure) in &poison {
            records.push(self.dlq_record(&msgs[*i], *i, failure, &now)?);
        }
        let signal_count = processed.signals.len() as u64;
        let dlq_count = poison.len() as u64;
        // Periodic state: taken right after this batch ran. Exactly-once writes it
        // in the batch's transaction; at-least-once once the batch is committed.
        let mut state = self.due_state();
        if self.config.delivery.mode == DeliveryMode::ExactlyOnce {
            for r in state.drain(..) {
                records.push(self.state_out(&r));
            }
        }

        self.stats
            .histograms
            .batch_host
            .observe(received.elapsed().as_secs_f64());
        Ok(Prepared {
            batch: Batch {
                msgs,
                state,
                ids: keep.into_iter().map(|f| f.env.id).collect(),
                signal_count,
                dlq_count,
            },
            records,
        })
    }

    /// Hands a prepared batch's records to the producer (in exactly-once mode, in a
    /// new transaction); their acks are awaited by `settle` or `wait_acks`.
    fn send<M: Message>(&mut self, p: Prepared<M>) -> Result<Sent<M>, PipelineError> {
        if self.config.delivery.mode == DeliveryMode::ExactlyOnce {
            self.producer.begin_transaction()?;
        }
        let producer = self.producer.clone();
        let scale = self.config.delivery.retry_scale;
        let records = p.records;
        Ok(Sent {
            batch: p.batch,
            producing: Instant::now(),
            delivery: Some(tokio::spawn(async move {
                deliver(&producer, records, scale).await
            })),
        })
    }

    /// Waits for a sent batch's acks (retries included), then finishes it.
    async fn settle<M: Message>(&mut self, mut sent: Sent<M>) -> Result<(), PipelineError> {
        let acked = match sent.delivery.take() {
            Some(handle) => handle.await?,
            None => (Vec::new(), 0),
        };
        self.finish(sent.batch, sent.producing, acked).await
    }

    /// Once a batch's acks are in: sends what could not be written to the DLQ
    /// (stopping, without a commit, if even that fails), commits its offsets and
    /// marks its ticks as answered.
    async fn finish<M: Message>(
        &mut self,
        batch: Batch<M>,
        producing: Instant,
        acked: Acked,
    ) -> Result<(), PipelineError> {
        let eos = self.config.delivery.mode == DeliveryMode::ExactlyOnce;
        let Batch {
            msgs,
            state,
            ids,
            signal_count,
            dlq_count,
        } = batch;
        let now = Timestamp::now();
        let (undelivered, retries) = acked;
        self.stats.add_retries(retries);
        let mut exhausted_dlq = 0u64;
        if !undelivered.is_empty() {
            // Inputs whose outputs could not be written go to the DLQ; if even that
            // fails, stop without committing so nothing is lost.
            let mut origins: BTreeMap<usize, (ErrorType, String, u32)> = BTreeMap::new();
            for u in &undelivered {
                if u.record.topic == self.state_topic {
                    // Not an answer to an input: the transaction fails without it.
                    tracing::warn!(error = %u.error, "a strategy state record was not written");
                    continue;
                }
                if u.record.topic == self.dlq_topic {
                    let m = &msgs[u.record.origin];
                    return Err(PipelineError::DlqFailed {
                        topic: m.topic().to_owned(),
                        partition: m.partition(),
                        offset: m.offset(),
                        error: u.error.clone(),
                    });
                }
                origins.entry(u.record.origin).or_insert((
                    u.error_type,
                    u.error.clone(),
                    u.attempts,
                ));
            }
            let mut dlq = Vec::new();
            for (i, (t, err, attempts)) in origins {
                let failure = Failure {
                    error_type: t,
                    error_class: "produce_failed".into(),
                    message: err,
                    retries: attempts,
                    exhausted: true,
                };
                dlq.push(self.dlq_record(&msgs[i], i, &failure, &now)?);
            }
            exhausted_dlq = dlq.len() as u64;
            let (still, _) = deliver(&self.producer, dlq, self.config.delivery.retry_scale).await;
            if let Some(u) = still.first() {
                let m = &msgs[u.record.origin];
                return Err(PipelineError::DlqFailed {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    offset: m.offset(),
                    error: u.error.clone(),
                });
            }
        }
        self.stats.add_dlq(dlq_count + exhausted_dlq);
        self.summary.dlq += dlq_count + exhausted_dlq;
        self.summary.signals += signal_count;

        // A partition lost since the batch ran is its new owner's to commit (it
        // re-reads those ticks; the dedup marks below make them catch-up only).
        let owned: Vec<i32> = self.live.partitions().collect();
        let offsets = next_offsets(msgs.iter().filter(|m| owned.contains(&m.partition())))?;
        if eos {
            let meta = self
                .consumer
                .group_metadata()
                .ok_or(PipelineError::NoGroupMetadata)?;
            if offsets.count() > 0 {
                self.producer
                    .send_offsets_to_transaction(&offsets, &meta, TXN_TIMEOUT)?;
            }
            self.producer.commit_transaction(TXN_TIMEOUT)?;
        } else if !state.is_empty() {
            self.commit_with_state(&offsets, state).await?;
        } else if offsets.count() > 0 {
            self.consumer.commit(&offsets, CommitMode::Async)?;
            let generation = self.stats.rebalances.load(Ordering::Relaxed);
            for e in offsets.elements() {
                if let Offset::Offset(o) = e.offset() {
                    self.committed
                        .insert((e.topic().to_owned(), e.partition()), (o, generation));
                }
            }
        }
        self.stats.add_commit();
        self.stats
            .histograms
            .commit
            .observe(producing.elapsed().as_secs_f64());
        let done: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.dedup.mark(&done).await;
        self.stats
            .redis_fallbacks
            .store(self.dedup.stats().fallbacks, Ordering::Relaxed);
        Ok(())
    }

    fn dlq_record(
        &self,
        m: &impl Message,
        origin: usize,
        failure: &Failure,
        now: &Timestamp,
    ) -> Result<OutRecord, PipelineError> {
        let headers: Vec<(String, Option<Vec<u8>>)> = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        let failed = FailedMessage {
            topic: m.topic(),
            partition: m.partition(),
            offset: m.offset(),
            timestamp_ms: m.timestamp().to_millis(),
            key: m.key(),
            value: m.payload(),
            headers: &headers,
        };
        let env = dlq_envelope(&failed, failure, &self.config.service, &self.group, *now);
        tracing::warn!(
            topic = m.topic(),
            partition = m.partition(),
            offset = m.offset(),
            dlq_event_id = %env.id,
            error_class = %failure.error_class,
            "message to the DLQ: {}",
            failure.message
        );
        let (event_id, correlation_id) = (env.id.clone(), env.correlation_id.clone());
        Ok(OutRecord {
            partition: None,
            topic: self.dlq_topic.clone(),
            key: m.key().map(<[u8]>::to_vec),
            payload: env
                .to_vec()
                .map_err(|e| PipelineError::Encode(e.to_string()))?,
            headers,
            origin,
            event_id,
            correlation_id,
        })
    }
}

/// Which of a batch's ids to skip: those the dedup store has `seen`, those of the
/// batch still in flight (`pending`: answered, not marked yet), and every repeat
/// of an id within the batch after its first.
fn repeats(ids: &[&str], seen: Vec<bool>, pending: Option<&HashSet<String>>) -> Vec<bool> {
    let mut in_batch: HashSet<&str> = HashSet::with_capacity(ids.len());
    ids.iter()
        .zip(seen)
        .map(|(id, s)| s || pending.is_some_and(|p| p.contains(*id)) || !in_batch.insert(id))
        .collect()
}

/// Which of a batch's ids the dedup store has seen that are neither in flight
/// nor repeated in the batch: answered before, maybe by another host.
fn answered_elsewhere(ids: &[&str], seen: &[bool], pending: Option<&HashSet<String>>) -> Vec<bool> {
    let mut in_batch: HashSet<&str> = HashSet::with_capacity(ids.len());
    ids.iter()
        .zip(seen)
        .map(|(id, s)| {
            let first = in_batch.insert(id);
            *s && first && !pending.is_some_and(|p| p.contains(*id))
        })
        .collect()
}

/// An error no retry or abort can cure: the transactional producer was fenced
/// (another host has its id) or failed for good.
fn is_fatal(e: &PipelineError) -> bool {
    match e {
        PipelineError::Kafka(rdkafka::error::KafkaError::Transaction(t)) => t.is_fatal(),
        PipelineError::Encode(_) => true,
        _ => false,
    }
}

fn ids_len<M: Message>(msgs: &[M], poison: &[(usize, Failure)]) -> usize {
    msgs.len() - poison.len()
}

fn poison_failure(class: &str, message: &str) -> Failure {
    Failure {
        error_type: ErrorType::Poison,
        error_class: class.to_owned(),
        message: message.to_owned(),
        retries: 0,
        exhausted: false,
    }
}

fn decode_failure(e: &DecodeError) -> Failure {
    poison_failure(e.class(), &e.to_string())
}

/// For each partition of the batch, the offset after its last message.
fn next_offsets<'a, M: Message + 'a>(
    msgs: impl Iterator<Item = &'a M>,
) -> Result<TopicPartitionList, PipelineError> {
    let mut last: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for m in msgs {
        let e = last.entry((m.topic(), m.partition())).or_insert(m.offset());
        *e = (*e).max(m.offset());
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in last {
        tpl.add_partition_offset(topic, partition, Offset::Offset(offset + 1))?;
    }
    Ok(tpl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_of_the_batch_in_flight_is_a_repeat() {
        let pending: HashSet<String> = ["a", "b"].into_iter().map(String::from).collect();
        let ids = ["a", "c", "d", "c", "e", "b"];
        let seen = vec![false, false, true, false, false, false];
        assert_eq!(
            repeats(&ids, seen.clone(), Some(&pending)),
            vec![true, false, true, true, false, true],
            "in flight (a, b), seen by the store (d), repeated in the batch (2nd c)"
        );
        assert_eq!(
            repeats(&ids, seen, None),
            vec![false, false, true, true, false, false],
            "with nothing in flight only the store and the batch count"
        );
    }

    #[test]
    fn only_a_first_store_seen_tick_was_answered_elsewhere() {
        let pending: HashSet<String> = ["a"].into_iter().map(String::from).collect();
        let ids = ["a", "b", "b", "c", "d"];
        let seen = [true, true, true, false, true];
        assert_eq!(
            answered_elsewhere(&ids, &seen, Some(&pending)),
            vec![false, true, false, false, true],
            "in flight (a) and a repeat in the batch (2nd b) were answered here; c is new"
        );
    }
}
