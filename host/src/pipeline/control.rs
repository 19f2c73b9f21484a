//! The work between batches: plugin updates from the watcher, operator commands,
//! rebalances handed to the partition state machine, partitions paused while
//! their state is read and resumed (from the right offset) once it is in, and
//! the plugin gauges and readiness kept current. What changes the strategy sets
//! waits until no lane is busy.

use std::collections::VecDeque;
use std::time::Duration;

use rdkafka::message::Message;

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};

use super::context::AssignmentChange;
use super::{Host, PipelineError, Sent};
use crate::clock;
use crate::observe::OperatorCommand;
use crate::partitions::{ReadOutcome, ReadRequest, ReadResult};
use crate::strategy::{Lifecycle, PluginUpdate};
use crate::topics::MARKET_TICKS;

/// How long a seek may take before the host gives up on the partition.
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

fn partitions_tpl(partitions: impl IntoIterator<Item = i32>) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition(MARKET_TICKS, p);
    }
    tpl
}

impl Host {
    /// Everything that happens at a batch boundary.
    pub(super) async fn between_batches<M: Message>(
        &mut self,
        in_flight: &mut VecDeque<Sent<M>>,
    ) -> Result<(), PipelineError> {
        // Taken first, so what arrives meanwhile waits for the next boundary.
        let updates = self.plugin_updates();
        let commands: Vec<OperatorCommand> =
            std::iter::from_fn(|| self.shared.commands.try_recv().ok()).collect();
        let changes = match self.changes.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => Vec::new(),
        };
        let reads: Vec<ReadResult> = std::iter::from_fn(|| self.reads.try_next()).collect();
        let work = !(updates.is_empty() && commands.is_empty() && changes.is_empty());
        if self.lanes.busy() && (work || !reads.is_empty()) {
            self.quiesce(in_flight).await?;
        }
        self.apply_plugin_updates(updates);
        self.apply_commands(commands);
        self.apply_rebalances(changes);
        self.apply_reads(reads).await?;
        let rereads = self.states.rereads(clock::now());
        if !rereads.is_empty() {
            tracing::info!(partitions = ?rereads.iter().map(|r| r.partition).collect::<Vec<_>>(), "reading the state of partitions that started from init again");
        }
        self.hold_and_read(rereads);
        self.manage_units().await?;
        self.shared.metrics.set_plugins(&self.live);
        Ok(())
    }

    /// The watcher's plugin updates since the last batch.
    fn plugin_updates(&self) -> Vec<PluginUpdate> {
        let Some(watcher) = &self.watcher else {
            return Vec::new();
        };
        std::iter::from_fn(|| watcher.try_recv()).collect()
    }

    /// Plugin updates from the watcher, applied at this tick boundary.
    fn apply_plugin_updates(&mut self, updates: Vec<PluginUpdate>) {
        if self.watcher.is_none() {
            return;
        }
        let changed = !updates.is_empty();
        for update in updates {
            if let Some(event) = self.live.apply(update) {
                // A new strategy or version has no state record of its own yet:
                // one is written with the next commit, not a period later, so a
                // crash in between does not restart it from `init`.
                if matches!(event, Lifecycle::Loaded { .. } | Lifecycle::Reloaded { .. }) {
                    self.states.state_due_now();
                }
                self.shared.metrics.recent.event(event.to_string());
            }
        }
        if changed {
            self.update_readiness();
        }
        let (dir, live) = (&self.config.plugins.dir, &self.live);
        self.shared
            .readiness
            .recheck(dir, live.broker(), live.loaded_plugins());
    }

    pub(super) fn update_readiness(&self) {
        let (dir, live) = (&self.config.plugins.dir, &self.live);
        self.shared
            .readiness
            .update(dir, live.broker(), live.loaded_plugins());
    }

    /// Operator commands, applied at this tick boundary.
    fn apply_commands(&mut self, commands: Vec<OperatorCommand>) {
        for command in commands {
            match command {
                OperatorCommand::Release(id) => {
                    if self.live.release(&id) {
                        self.shared.metrics.recent.event(format!("released {id}"));
                    } else {
                        tracing::warn!(strategy_id = %id, "release asked for an unknown strategy");
                    }
                }
            }
        }
    }

    /// The rebalances queued since the last batch: lost partitions' strategies are
    /// parked until the new assignment is known, gained ones are read first.
    fn apply_rebalances(&mut self, changes: Vec<AssignmentChange>) {
        if changes.is_empty() {
            return;
        }
        let mut reads = Vec::new();
        for change in changes {
            match change {
                AssignmentChange::Revoked(parts) => {
                    let ps: Vec<i32> = ticks_partitions(parts);
                    reads.retain(|r: &ReadRequest| !ps.contains(&r.partition));
                    self.states.revoked(&ps, &mut self.live);
                    // A batch of theirs finishing from now on is seen as lost.
                    self.held.applied(&ps);
                }
                AssignmentChange::Assigned(parts) => {
                    reads.extend(self.states.assigned(&ticks_partitions(parts)));
                }
            }
        }
        for p in self.states.end_rebalance(&mut self.live) {
            tracing::info!(
                partition = p,
                "partition lost; its strategy state stays in the state topic"
            );
        }
        self.hold_and_read(reads);
    }

    /// Pauses the partitions to read (their messages stay in the log) and starts
    /// the reads off the tick path.
    pub(super) fn hold_and_read(&mut self, reads: Vec<ReadRequest>) {
        if reads.is_empty() {
            return;
        }
        let tpl = partitions_tpl(reads.iter().map(|r| r.partition));
        if let Err(e) = self.consumer.pause(&tpl) {
            tracing::debug!(error = %e, "pausing partitions to read their state");
        }
        self.reads.start(reads);
    }

    /// Finished reads: each partition's strategies start from what was read, and
    /// the partition goes on from the right offset.
    async fn apply_reads(&mut self, reads: Vec<ReadResult>) -> Result<(), PipelineError> {
        for result in reads {
            let Some(out) = self.states.read_done(result, &mut self.live) else {
                continue;
            };
            self.resume(&out)?;
            self.report(&out);
            if !out.write_now.is_empty() {
                self.write_state_now(out.write_now).await;
            }
        }
        Ok(())
    }

    /// Sends a read partition's consumption to where it goes on, and resumes it.
    fn resume(&self, out: &ReadOutcome) -> Result<(), PipelineError> {
        let offset = out.seek.map_or(Offset::Beginning, Offset::Offset);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(MARKET_TICKS, out.partition, offset)?;
        let sought = self.consumer.seek_partitions(tpl, SEEK_TIMEOUT)?;
        for e in sought.elements() {
            e.error()?;
        }
        self.consumer.resume(&partitions_tpl([out.partition]))?;
        Ok(())
    }

    /// Counts and logs what a read did.
    fn report(&self, out: &ReadOutcome) {
        let metrics = &self.shared.metrics;
        let p = out.partition;
        if let Some(e) = &out.failed {
            metrics.state_failures.inc();
            tracing::error!(partition = p, error = %e, "state of the partition could not be read; its strategies run from init and it is read again later");
            return;
        }
        if out.reinstated {
            tracing::info!(
                partition = p,
                "partition assigned again with nothing moved; its strategies keep their state"
            );
            return;
        }
        metrics.state_restores.inc_by(out.restored.records);
        metrics.state_replayed_ticks.inc_by(out.restored.replayed);
        tracing::info!(
            partition = p,
            restored = out.restored.records,
            replayed = out.restored.replayed,
            from = out.seek.unwrap_or(-1),
            "partition gained; strategy state restored"
        );
    }
}

/// The partitions of `market.ticks` among a rebalance's pairs.
fn ticks_partitions(pairs: Vec<(String, i32)>) -> Vec<i32> {
    pairs
        .into_iter()
        .filter(|(t, _)| t == MARKET_TICKS)
        .map(|(_, p)| p)
        .collect()
}
