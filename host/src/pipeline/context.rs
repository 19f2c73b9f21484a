//! The consumer's context: logs rebalances, librdkafka's own lines and refused
//! commits, keeps the assignment size for `/health`, commits the offsets held
//! for partitions before they are revoked, and queues each rebalance for the
//! pipeline, which moves strategy state at its next batch boundary.

use std::sync::{Arc, Mutex};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::held::HeldCommits;
use crate::observe::Metrics;
use crate::topics::MARKET_TICKS;

/// A change of the assignment, as `(topic, partition)` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentChange {
    Assigned(Vec<(String, i32)>),
    Revoked(Vec<(String, i32)>),
}

/// Rebalances not yet applied by the pipeline, in order.
pub type RebalanceQueue = Arc<Mutex<Vec<AssignmentChange>>>;

pub struct HostContext {
    metrics: Arc<Metrics>,
    changes: RebalanceQueue,
    held: Arc<HeldCommits>,
}

impl HostContext {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            changes: RebalanceQueue::default(),
            held: Arc::default(),
        }
    }

    /// The queue the pipeline drains.
    pub fn changes(&self) -> RebalanceQueue {
        Arc::clone(&self.changes)
    }

    /// The offsets the pipeline holds for their commit.
    pub fn held(&self) -> Arc<HeldCommits> {
        Arc::clone(&self.held)
    }

    /// Commits the offsets held for the ticks partitions in `tpl`, which are
    /// about to be revoked: their next owner starts after what was answered.
    fn commit_revoked(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let revoked: Vec<i32> = pairs(tpl)
            .into_iter()
            .filter(|(t, _)| t == MARKET_TICKS)
            .map(|(_, p)| p)
            .collect();
        let held = self.held.revoke(&revoked);
        if held.is_empty() {
            return;
        }
        let mut out = TopicPartitionList::new();
        for (&p, &(next, _)) in &held {
            if let Err(e) = out.add_partition_offset(MARKET_TICKS, p, Offset::Offset(next)) {
                tracing::warn!(error = %e, partition = p, "offset held at a revocation not committed");
            }
        }
        match consumer.commit(&out, CommitMode::Sync) {
            Ok(()) => self.metrics.commits.inc(),
            Err(e) => {
                self.metrics.commit_failures.inc();
                tracing::warn!(error = %e, partitions = ?revoked, "offset commit at a revocation refused; the next owner re-reads those ticks and dedup drops what was answered");
            }
        }
    }

    fn queue(&self, change: AssignmentChange) {
        if let Ok(mut q) = self.changes.lock() {
            q.push(change);
        }
    }
}

fn pairs(tpl: &rdkafka::TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

impl ClientContext for HostContext {
    /// librdkafka's own log lines, into the host's log. Commits are asynchronous
    /// and cumulative, and librdkafka reports a refused one only here (as
    /// `COMMITFAIL`; rust-rdkafka registers no commit callback for it): it loses
    /// nothing (the next batch's commit covers its offsets; a restart before that
    /// re-reads them and dedup drops what was answered), but it must be visible.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        if fac == "COMMITFAIL" {
            self.metrics.commit_failures.inc();
            tracing::warn!(target: "librdkafka", %message, "offset commit refused; the next commit covers it");
            return;
        }
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", facility = fac, "{message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", facility = fac, "{message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility = fac, "{message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", facility = fac, "{message}")
            }
        }
    }

    /// librdkafka statistics (every `statistics.interval.ms`): consumer lag per partition.
    fn stats(&self, statistics: rdkafka::Statistics) {
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                if *partition >= 0 && p.consumer_lag >= 0 {
                    self.metrics
                        .consumer_lag
                        .with_label_values(&[topic.as_str(), &partition.to_string()])
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for HostContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.commit_revoked(consumer, tpl);
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.metrics.rebalances.inc();
        match rebalance {
            Rebalance::Assign(tpl) => {
                let n = tpl.count();
                self.metrics.assigned_partitions.add(n as i64);
                tracing::info!(partitions = n, "partitions assigned");
                self.queue(AssignmentChange::Assigned(pairs(tpl)));
            }
            Rebalance::Revoke(tpl) => {
                let n = tpl.count();
                let left = (self.metrics.assigned_partitions.get() - n as i64).max(0);
                self.metrics.assigned_partitions.set(left);
                tracing::info!(partitions = n, "partitions revoked");
                self.queue(AssignmentChange::Revoked(pairs(tpl)));
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }
}
