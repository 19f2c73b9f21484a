//! Exactly-once transactions beyond a batch's own: state records written in a
//! transaction of their own (with the group's offsets at a clean stop), and what
//! happens when a transaction fails: it is aborted and every partition goes back
//! to its committed offset and state, so the batch runs again and is answered
//! once. Only a fatal error (another host has this transactional id, or the
//! producer is broken for good) stops the host.

use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::Producer;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

use super::{Host, PipelineError, TXN_TIMEOUT};
use crate::backoff::Backoff;
use crate::clock;
use crate::kafka::outbox::{deliver, OutRecord};
use crate::state::StateRecord;

/// An error no retry or abort can cure.
fn is_fatal(e: &PipelineError) -> bool {
    match e {
        PipelineError::Kafka(KafkaError::Transaction(t)) => t.is_fatal(),
        PipelineError::Encode(_) => true,
        _ => false,
    }
}

impl Host {
    /// After a batch's transaction failed (a broker outage, a group member fenced
    /// by a rebalance): aborts it, then rewinds every partition.
    pub(super) async fn recover_transaction(
        &mut self,
        e: PipelineError,
    ) -> Result<(), PipelineError> {
        if is_fatal(&e) {
            return Err(e);
        }
        tracing::warn!(error = %e, "transaction failed: aborting it; every partition goes back to its committed offset and state");
        self.abort().await?;
        self.shared.metrics.transaction_aborts.inc();
        let reads = self.states.rewind(&mut self.live);
        self.hold_and_read(reads);
        tracing::info!(
            partitions = self.states.owned().count(),
            "reading every partition's committed offset and state again after an aborted transaction"
        );
        Ok(())
    }

    /// Aborts the current transaction, trying again with a doubling wait while
    /// the broker does not answer (up to four transaction timeouts).
    async fn abort(&mut self) -> Result<(), PipelineError> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let started = clock::now();
        loop {
            match self.producer.abort_transaction(TXN_TIMEOUT) {
                Ok(()) => return Ok(()),
                // Nothing to abort: the transaction never began.
                Err(KafkaError::Transaction(t)) if t.code() == RDKafkaErrorCode::State => {
                    return Ok(())
                }
                Err(e) => {
                    let e = PipelineError::from(e);
                    if is_fatal(&e) || started.elapsed() > TXN_TIMEOUT * 4 {
                        return Err(e);
                    }
                    let wait = backoff.fail();
                    tracing::warn!(error = %e, "abort failed; trying again in {wait:?}");
                    clock::sleep(wait).await;
                }
            }
        }
    }

    /// Writes records whose offsets are committed already (exactly-once: in a
    /// transaction of their own).
    pub(super) async fn write_state_now(&mut self, records: Vec<StateRecord>) {
        if !self.eos() {
            let out = records.iter().map(|r| self.state_out(r)).collect();
            return self.spawn_records_write(out).await.unwrap_or_default();
        }
        if let Err(e) = self.state_transaction(records, None).await {
            tracing::warn!(error = %e, "state of gained partitions not written; a crash before the next write restores older state");
        }
    }

    /// Exactly-once: one transaction with the records, and the group's offsets
    /// when given. A record that cannot be written aborts it (older records stay).
    pub(super) async fn state_transaction(
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
        self.shared.metrics.state_writes.inc_by(n);
        Ok(())
    }
}
