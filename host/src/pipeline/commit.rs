//! Stages 5 and 6, deliver and commit: a batch's records go to the producer at
//! once and their acks are awaited off the loop; then what could not be written
//! goes to the DLQ (stopping, without a commit, if even that fails), the batch's
//! offsets are committed (with the due state records, or in the batch's
//! transaction) and its ticks marked as answered. Also the final commit and
//! state of a clean stop.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::task::JoinHandle;

use super::held::Held;
use super::state_commit::{Landed, Owner, Waiting};
use super::{Acked, Batch, Host, PipelineError, Prepared, Sent, TXN_TIMEOUT};
use crate::clock::{self, Instant};
use crate::dlq::Failure;
use crate::errors::ErrorType;
use crate::kafka::outbox::{deliver, deliver_enqueued, enqueue, OutRecord, Undelivered};
use crate::state::StateRecord;
use crate::topics::MARKET_TICKS;

/// Resolves once the oldest batch in flight has all its calls back and all its
/// acks (in its `acked`); never while there is none or its calls are pending.
/// Cancel-safe: acks taken stay taken.
pub(super) async fn wait_acks<M>(in_flight: &mut VecDeque<Sent<M>>) -> Result<(), PipelineError> {
    match in_flight.front_mut().filter(|s| s.batch.pending == 0) {
        Some(front) => take_acks(front).await,
        None => std::future::pending().await,
    }
}

/// Awaits each of a sent batch's deliveries into its `acked`. Cancel-safe: a
/// delivery is dropped from the list only once its acks are taken.
async fn take_acks<M>(sent: &mut Sent<M>) -> Result<(), PipelineError> {
    while let Some(handle) = sent.deliveries.last_mut() {
        let (undelivered, retries) = handle.await?;
        sent.deliveries.pop();
        sent.acked.0.extend(undelivered);
        sent.acked.1 += retries;
    }
    Ok(())
}

impl Host {
    /// Hands a prepared batch's records to the producer; their acks are awaited
    /// by `settle` or `wait_acks`.
    pub(super) fn send<M: Message>(&self, p: Prepared<M>) -> Sent<M> {
        let received = p.batch.received;
        Sent {
            batch: p.batch,
            producing: clock::now(),
            deliveries: vec![self.spawn_delivery(p.records, p.answered, received)],
            acked: (Vec::new(), 0),
        }
    }

    /// Hands `records` to the producer now, in their order, and awaits their
    /// acks (retries included) off the loop; the signals in `answered` are
    /// observed on the tick-to-signal histogram when they are acknowledged.
    pub(super) fn spawn_delivery(
        &self,
        records: Vec<OutRecord>,
        answered: Vec<(String, u64)>,
        received: Instant,
    ) -> tokio::task::JoinHandle<Acked> {
        let producer = self.producer.clone();
        let scale = self.config.delivery.retry_scale;
        let metrics = self.shared.metrics.clone();
        let enqueued = enqueue(&producer, records);
        tokio::spawn(async move {
            let acked = deliver_enqueued(&producer, enqueued, scale).await;
            metrics.observe_tick_to_signal(&answered, received.elapsed());
            acked
        })
    }

    /// Waits for a sent batch's acks (retries included), then finishes it. Its
    /// calls must all be back.
    pub(super) async fn settle<M: Message>(
        &mut self,
        mut sent: Sent<M>,
    ) -> Result<(), PipelineError> {
        take_acks(&mut sent).await?;
        self.finish(sent.batch, sent.producing, sent.acked).await
    }

    /// Once a batch's acks are in: the DLQ for what could not be written, its
    /// offsets committed, its ticks marked as answered.
    pub(super) async fn finish<M: Message>(
        &mut self,
        batch: Batch<M>,
        producing: Instant,
        (undelivered, retries): Acked,
    ) -> Result<(), PipelineError> {
        let metrics = self.shared.metrics.clone();
        metrics.produce_retries.inc_by(retries);
        let exhausted = self.dlq_undelivered(&batch.msgs, &undelivered).await?;
        metrics.count_dlq(crate::topics::MARKET_TICKS, batch.dlq + exhausted);
        self.summary.dlq += batch.dlq + exhausted;
        self.summary.signals += batch.signals;
        // A partition lost since the batch ran is its new owner's to commit (it
        // re-reads those ticks; the dedup marks below make them catch-up only).
        if self.eos() {
            let offsets = self.owned_offsets(&batch.offsets)?;
            let meta = self
                .consumer
                .group_metadata()
                .ok_or(PipelineError::NoGroupMetadata)?;
            if offsets.count() > 0 {
                self.producer
                    .send_offsets_to_transaction(&offsets, &meta, TXN_TIMEOUT)?;
            }
            self.producer.commit_transaction(TXN_TIMEOUT)?;
            metrics.commits.inc();
        } else {
            self.held.hold(batch.offsets, clock::now());
            if batch.state.is_empty() {
                self.commit_held_if_due()?;
            } else {
                // Everything held goes with the state: a later commit of an
                // older offset would set the group back behind the state.
                let state = still_owned(batch.state, &batch.state_epochs, |p, e| {
                    self.states.still_owns(p, e)
                });
                let (offsets, held) = self.take_held()?;
                self.commit_with_state(&offsets, &held, state, batch.state_epochs)?;
            }
        }
        metrics.ticks_done.inc_by(batch.msgs.len() as u64);
        metrics
            .commit_seconds
            .observe(producing.elapsed().as_secs_f64());
        let done: Vec<&str> = batch.ids.iter().map(String::as_str).collect();
        self.dedup.mark(&done).await;
        let fallbacks = self.dedup.stats().fallbacks;
        metrics
            .redis_fallbacks
            .inc_by(fallbacks.saturating_sub(metrics.redis_fallbacks.get()));
        Ok(())
    }

    /// Inputs whose outputs could not be written go to the DLQ; returns how many.
    /// A state record is not an answer (its transaction fails without it); a DLQ
    /// record that cannot be written stops the host without a commit.
    pub(super) async fn dlq_undelivered<M: Message>(
        &self,
        msgs: &[M],
        undelivered: &[Undelivered],
    ) -> Result<u64, PipelineError> {
        let dlq_failed = |u: &Undelivered| {
            let m = &msgs[u.record.origin];
            PipelineError::DlqFailed {
                topic: m.topic().to_owned(),
                partition: m.partition(),
                offset: m.offset(),
                error: u.error.clone(),
            }
        };
        let mut origins: BTreeMap<usize, (ErrorType, String, u32)> = BTreeMap::new();
        for u in undelivered {
            if u.record.topic == self.topics.state {
                tracing::warn!(error = %u.error, "a strategy state record was not written");
                continue;
            }
            if u.record.topic == self.topics.dlq {
                return Err(dlq_failed(u));
            }
            let entry = (u.error_type, u.error.clone(), u.attempts);
            origins.entry(u.record.origin).or_insert(entry);
        }
        let now = clock::wall();
        let mut dlq = Vec::new();
        for (i, (error_type, message, retries)) in origins {
            let failure = Failure {
                error_type,
                error_class: "produce_failed".into(),
                message,
                retries,
                exhausted: true,
            };
            dlq.push(self.dlq_record(&msgs[i], i, &failure, &now)?);
        }
        let n = dlq.len() as u64;
        let (still, _) = deliver(&self.producer, dlq, self.config.delivery.retry_scale).await;
        match still.first() {
            Some(u) => Err(dlq_failed(u)),
            None => Ok(n),
        }
    }

    /// The batch's offsets of the partitions still owned in the same ownership.
    fn owned_offsets(
        &self,
        offsets: &BTreeMap<i32, (i64, u64)>,
    ) -> Result<TopicPartitionList, PipelineError> {
        let mut tpl = TopicPartitionList::new();
        for (&p, &(next, epoch)) in offsets {
            if self.states.still_owns(p, epoch) {
                tpl.add_partition_offset(MARKET_TICKS, p, Offset::Offset(next))?;
            }
        }
        Ok(tpl)
    }

    /// At-least-once: how long finished batches' offsets are held before
    /// their commit.
    pub(super) fn commit_every(&self) -> Duration {
        Duration::from_millis(self.config.delivery.commit_interval_ms)
    }

    /// At-least-once: commits the offsets held once they are due.
    pub(super) fn commit_held_if_due(&mut self) -> Result<(), PipelineError> {
        match self.held.due(self.commit_every()) {
            Some(due) if due <= clock::now() => self.commit_held(),
            _ => Ok(()),
        }
    }

    /// At-least-once: commits every offset held, asynchronously.
    fn commit_held(&mut self) -> Result<(), PipelineError> {
        let (offsets, held) = self.take_held()?;
        if offsets.count() > 0 {
            self.consumer.commit(&offsets, CommitMode::Async)?;
            self.remember_asked(&offsets, &held);
            self.shared.metrics.commits.inc();
        }
        Ok(())
    }

    /// The offsets held, taken, of the partitions still owned as when their
    /// batches ran.
    fn take_held(&mut self) -> Result<(TopicPartitionList, Held), PipelineError> {
        let held: Held = self
            .held
            .take()
            .into_iter()
            .filter(|&(p, (_, epoch))| self.states.still_owns(p, epoch))
            .collect();
        let mut tpl = TopicPartitionList::new();
        for (&p, &(next, _)) in &held {
            tpl.add_partition_offset(MARKET_TICKS, p, Offset::Offset(next))?;
        }
        Ok((tpl, held))
    }

    /// At-least-once: remembers the offsets asked for, for the final commit.
    fn remember_asked(&mut self, tpl: &TopicPartitionList, epochs: &BTreeMap<i32, (i64, u64)>) {
        for e in tpl.elements() {
            if let (Offset::Offset(o), Some((_, epoch))) = (e.offset(), epochs.get(&e.partition()))
            {
                self.asked.insert(e.partition(), (o, *epoch));
            }
        }
    }

    /// At-least-once: commits every partition up to its state record (taken in
    /// `epochs`), off the pipeline; the records are written once the commit is
    /// accepted ([`state_committed`](Self::state_committed)), never ahead of it.
    /// While another such commit is in flight the records are dropped (the next
    /// period's are taken once it is back) and `offsets` (with their epochs in
    /// `ran`) are held again, as without state.
    pub(super) fn commit_with_state(
        &mut self,
        offsets: &TopicPartitionList,
        ran: &BTreeMap<i32, (i64, u64)>,
        state: Vec<StateRecord>,
        epochs: BTreeMap<i32, u64>,
    ) -> Result<(), PipelineError> {
        if self.state_commits.busy(Owner::Partitions) {
            tracing::debug!(
                records = state.len(),
                "a commit with state is still in flight: these records are skipped"
            );
            self.held.hold(ran.clone(), clock::now());
            return Ok(());
        }
        let tpl = state_offsets(offsets, &state)?;
        if tpl.count() == 0 {
            return Ok(());
        }
        self.remember_asked(&tpl, &self.running_epochs());
        self.shared.metrics.commits.inc();
        let consumer = Arc::clone(&self.consumer);
        self.state_commits.start(
            Owner::Partitions,
            move || consumer.commit(&tpl, CommitMode::Sync),
            Waiting::Partitions {
                records: state,
                epochs,
            },
        );
        Ok(())
    }

    /// A commit with state came back: its records of partitions still owned as
    /// when they were taken, or of a unit still running as then, are written (a
    /// refused commit writes none; the next commit covers its offsets).
    pub(super) fn state_committed(&mut self, landed: Landed) {
        if let Some(e) = landed.refused {
            self.shared.metrics.commit_failures.inc();
            tracing::warn!(error = %e, "offset commit refused; strategy state not written this time (the next commit covers the offsets)");
            return;
        }
        let out: Vec<OutRecord> = match landed.waiting {
            Waiting::Partitions { records, epochs } => {
                still_owned(records, &epochs, |p, e| self.states.still_owns(p, e))
                    .iter()
                    .map(|r| self.state_out(r))
                    .collect()
            }
            Waiting::Unit {
                k,
                generation,
                records,
            } if self.unit_running(k, generation) => {
                records.iter().map(|r| self.unit_state_out(r)).collect()
            }
            Waiting::Unit { .. } => Vec::new(),
        };
        drop(self.spawn_records_write(out));
    }

    /// Each running partition's ownership epoch, as `asked` keeps them.
    fn running_epochs(&self) -> BTreeMap<i32, (i64, u64)> {
        self.states
            .running()
            .map(|(p, epoch)| (p, (0, epoch)))
            .collect()
    }

    /// At-least-once: commits, synchronously, the last offsets asked for of the
    /// partitions still owned in the same ownership (one lost and gained again
    /// may have moved on under another owner: an older offset would set the
    /// group back).
    pub(super) fn final_commit(&mut self) {
        for (p, asked) in self.held.take() {
            self.asked.insert(p, asked);
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &(o, epoch)) in &self.asked {
            if self.states.still_owns(p, epoch)
                && tpl
                    .add_partition_offset(MARKET_TICKS, p, Offset::Offset(o))
                    .is_err()
            {
                return;
            }
        }
        if tpl.count() == 0 {
            return;
        }
        match self.consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => self.shared.metrics.commits.inc(),
            Err(e) => {
                self.shared.metrics.commit_failures.inc();
                tracing::warn!(error = %e, "final offset commit refused; a restart re-reads from the last accepted commit and dedup drops what was answered");
            }
        }
    }

    /// At a clean stop, once everything is settled: commits every partition up to
    /// its last tick and writes its state with it (in one transaction in
    /// exactly-once mode), so a restart or the next owner replays nothing.
    pub(super) async fn write_state_at_stop(&mut self) -> Result<(), PipelineError> {
        let records = self.states.all_state(&mut self.live);
        if records.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (p, o) in self.states.positions() {
            tpl.add_partition_offset(MARKET_TICKS, p, Offset::Offset(o))?;
        }
        if self.eos() {
            return self.state_transaction(records, Some(&tpl)).await;
        }
        // The last commit with state in flight first: its records are older.
        if let Some(landed) = self.state_commits.landed_of(Owner::Partitions).await {
            self.state_committed(landed);
        }
        let tpl = state_offsets(&tpl, &records)?;
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Sync) {
            self.shared.metrics.commit_failures.inc();
            tracing::warn!(error = %e, "offset commit at stop refused; strategy state not written (a restart replays from the older records)");
            return Ok(());
        }
        self.remember_asked(&tpl, &self.running_epochs());
        let out: Vec<OutRecord> = records.iter().map(|r| self.state_out(r)).collect();
        self.spawn_records_write(out).await.unwrap_or_default();
        Ok(())
    }

    pub(super) fn state_out(&self, r: &StateRecord) -> OutRecord {
        self.state_record_out(r.partition, r.key(), r.to_json())
    }

    /// A state record for partition `partition` of the state topic.
    pub(super) fn state_record_out(
        &self,
        partition: i32,
        key: String,
        payload: Vec<u8>,
    ) -> OutRecord {
        OutRecord {
            topic: self.topics.state.clone(),
            partition: Some(partition),
            key: Some(key.clone().into_bytes()),
            payload,
            headers: Vec::new(),
            // Not an answer to an input message.
            origin: usize::MAX,
            event_id: key,
            correlation_id: String::new(),
        }
    }

    /// At-least-once: hands state records whose offsets are committed already
    /// to the producer now (in order after everything handed before), and
    /// counts or logs their acks off the loop.
    pub(super) fn spawn_records_write(&self, out: Vec<OutRecord>) -> JoinHandle<()> {
        let n = out.len() as u64;
        let producer = self.producer.clone();
        let scale = self.config.delivery.retry_scale;
        let metrics = self.shared.metrics.clone();
        let enqueued = enqueue(&producer, out);
        tokio::spawn(async move {
            if n == 0 {
                return;
            }
            let (failed, _) = deliver_enqueued(&producer, enqueued, scale).await;
            if let Some(f) = failed.first() {
                tracing::warn!(error = %f.error, records = failed.len(), "strategy state records not written; a gaining host replays from the older ones");
            }
            metrics.state_writes.inc_by(n - failed.len() as u64);
        })
    }
}

/// `offsets` raised to each record's `next_offset`: a commit never behind the
/// state it goes with.
fn state_offsets(
    offsets: &TopicPartitionList,
    records: &[StateRecord],
) -> Result<TopicPartitionList, rdkafka::error::KafkaError> {
    let mut upto: BTreeMap<i32, i64> = BTreeMap::new();
    for e in offsets.elements() {
        if let Offset::Offset(o) = e.offset() {
            upto.insert(e.partition(), o);
        }
    }
    for r in records {
        let e = upto.entry(r.partition).or_insert(r.next_offset);
        *e = (*e).max(r.next_offset);
    }
    let mut tpl = TopicPartitionList::new();
    for (&p, &o) in &upto {
        tpl.add_partition_offset(MARKET_TICKS, p, Offset::Offset(o))?;
    }
    Ok(tpl)
}

/// The records of partitions still owned as when they were taken (`epochs`;
/// `owns(p, epoch)`): a partition lost since, maybe gained again, has newer
/// state than a record taken before, which must not be written after it.
fn still_owned(
    state: Vec<StateRecord>,
    epochs: &BTreeMap<i32, u64>,
    owns: impl Fn(i32, u64) -> bool,
) -> Vec<StateRecord> {
    state
        .into_iter()
        .filter(|r| {
            epochs
                .get(&r.partition)
                .is_some_and(|&e| owns(r.partition, e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32) -> StateRecord {
        StateRecord {
            group: "g".into(),
            strategy_id: "s".into(),
            partition,
            next_offset: 10,
            sha256: String::new(),
            state: Vec::new(),
        }
    }

    #[test]
    fn only_records_of_the_same_ownership_are_written() {
        // Partition 0 still owned as when its state was taken; 1 lost and gained
        // again since (epoch 2 now); 2 lost; 3 taken while it was not running.
        let epochs = BTreeMap::from([(0, 1), (1, 1), (2, 1)]);
        let owns = |p: i32, e: u64| matches!((p, e), (0, 1) | (1, 2) | (3, 3));
        let kept = still_owned((0..4).map(record).collect(), &epochs, owns);
        let partitions: Vec<i32> = kept.iter().map(|r| r.partition).collect();
        assert_eq!(partitions, vec![0]);
    }
}
