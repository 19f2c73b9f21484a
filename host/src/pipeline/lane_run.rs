//! Stage 3 at-least-once, on lanes: each partition's ticks routed into calls and
//! handed to the lanes of its strategies, in offset order (ticks to answer and
//! ticks only to feed kept in their order); each call's signals encoded and sent
//! the moment it returns, its faults logged and its call time observed; waiting
//! for the lanes where the pipeline must (the oldest batch, control work, state).

use std::collections::{BTreeMap, VecDeque};

use rdkafka::message::Message;

use super::classify::Fresh;
use super::run::{by_partition, runs};
use super::{answered_by, Host, PipelineError, Sent};
use crate::clock;
use crate::state::StateRecord;
use crate::strategy::lanes::{Call, Returned};
use crate::strategy::set::Processed;

impl Host {
    /// Hands the batch's calls to the lanes; returns what is known at once (the
    /// ticks no plugin can be given, positions in `keep`) and the number of calls.
    pub(super) fn submit_partitions<M: Message>(
        &mut self,
        seq: u64,
        msgs: &[M],
        keep: &[Fresh],
        caught: &[Fresh],
    ) -> (Processed, usize) {
        let mut out = Processed::default();
        let mut calls = Vec::new();
        for (p, items) in by_partition(msgs, keep, caught) {
            let Some(set) = self.live.partition_mut(p) else {
                continue;
            };
            for (ticks, at) in runs(&items) {
                if at.is_none() {
                    let replayed = &self.shared.metrics.state_replayed_ticks;
                    replayed.inc_by(ticks.len() as u64);
                }
                // The position among the batch's answered ticks of the run's tick `i`.
                let keep_pos =
                    |i: usize| at.as_ref().and_then(|at| at.get(i).copied()).unwrap_or(0);
                let mut poison = Vec::new();
                for c in set.route(&ticks, &mut poison) {
                    let positions = at
                        .is_some()
                        .then(|| c.positions.iter().map(|&i| keep_pos(i)).collect());
                    let call = Call {
                        seq,
                        ticks: c.batch,
                        positions,
                    };
                    calls.push((p, c.strategy_id, call));
                }
                if at.is_some() {
                    let poison = poison.into_iter().map(|(i, e)| (keep_pos(i), e));
                    out.unconvertible.extend(poison);
                }
            }
        }
        let n = calls.len();
        for (p, id, call) in calls {
            self.lanes.submit(&mut self.live, p, &id, call);
        }
        (out, n)
    }

    /// `first` and every other call back from its lane by now: their slots put
    /// back, their faults logged; their signals encoded and sent at once, one
    /// delivery per batch, batches in order and each batch's calls in the order
    /// they came back (so a lane's signals keep their order); each batch as many
    /// calls closer to done.
    pub(super) fn lane_returned<M: Message>(
        &mut self,
        first: Returned,
        in_flight: &mut VecDeque<Sent<M>>,
    ) -> Result<(), PipelineError> {
        let mut by_batch: BTreeMap<u64, (usize, Processed)> = BTreeMap::new();
        let mut next = Some(first);
        while let Some(r) = next {
            let done = self.lanes.finish(&mut self.live, r);
            let in_host = &self.shared.metrics.in_host;
            in_host.lane_wait.observe(done.waited.as_secs_f64());
            in_host.pickup.observe(done.picked_up.as_secs_f64());
            let (calls, processed) = by_batch.entry(done.seq).or_default();
            *calls += 1;
            processed.extend_at(done.processed, |i| i);
            next = self.lanes.try_next();
        }
        for (seq, (calls, processed)) in by_batch {
            self.batch_returned(seq, calls, &processed, in_flight)?;
        }
        Ok(())
    }

    /// `calls` of batch `seq` back, with what they produced.
    fn batch_returned<M: Message>(
        &mut self,
        seq: u64,
        calls: usize,
        processed: &Processed,
        in_flight: &mut VecDeque<Sent<M>>,
    ) -> Result<(), PipelineError> {
        // Every batch with calls out stays in flight until they are back.
        let Some(sent) = in_flight.iter_mut().find(|s| s.batch.seq == seq) else {
            tracing::warn!(
                batch = seq,
                calls,
                "strategy calls came back for no batch in flight; their outputs are dropped"
            );
            return Ok(());
        };
        sent.batch.pending = sent.batch.pending.saturating_sub(calls);
        self.observe_run(processed, &sent.batch.keep);
        if processed.signals.is_empty() {
            return Ok(());
        }
        let encoded = self.encode(&sent.batch.msgs, &sent.batch.keep, processed, Vec::new())?;
        let host = &self.shared.metrics.in_host.batch;
        host.observe(sent.batch.received.elapsed().as_secs_f64());
        sent.batch.signals += encoded.signals;
        let answered = answered_by(processed);
        let delivery = self.spawn_delivery(encoded.records, answered, sent.batch.received);
        sent.deliveries.push(delivery);
        Ok(())
    }

    /// Waits until no lane is busy, sending what their calls return.
    pub(super) async fn quiesce<M: Message>(
        &mut self,
        in_flight: &mut VecDeque<Sent<M>>,
    ) -> Result<(), PipelineError> {
        while let Some(r) = self.lanes.next_if_busy().await {
            self.lane_returned(r, in_flight)?;
        }
        Ok(())
    }

    /// Finishes the oldest batch in flight once its calls are back and its
    /// outputs acked.
    pub(super) async fn settle_oldest<M: Message>(
        &mut self,
        in_flight: &mut VecDeque<Sent<M>>,
    ) -> Result<(), PipelineError> {
        while in_flight.front().is_some_and(|s| s.batch.pending > 0) {
            match self.lanes.next_if_busy().await {
                Some(r) => self.lane_returned(r, in_flight)?,
                // No lane holds its calls: nothing more will come back.
                None => {
                    if let Some(front) = in_flight.front_mut() {
                        front.batch.pending = 0;
                    }
                }
            }
        }
        match in_flight.pop_front() {
            Some(sent) => self.settle(sent).await,
            None => Ok(()),
        }
    }

    /// The periodic state records, taken between calls: when they are due and
    /// no lane is busy, or once they are a period overdue, after waiting for the
    /// lanes (a slow strategy then holds the others up once a period).
    pub(super) async fn state_between_calls<M: Message>(
        &mut self,
        in_flight: &mut VecDeque<Sent<M>>,
    ) -> Result<Vec<StateRecord>, PipelineError> {
        let now = clock::now();
        let Some(overdue) = self.states.state_overdue(now) else {
            return Ok(Vec::new());
        };
        if self.lanes.busy() {
            if overdue < self.states.state_every() {
                return Ok(Vec::new());
            }
            self.quiesce(in_flight).await?;
        }
        Ok(self.states.due_state(clock::now(), &mut self.live))
    }
}
