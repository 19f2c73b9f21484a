//! Running strategy-scoped units in the host's loop: the ticks each unit's merge
//! releases go to its strategies in merge order; their signals are delivered
//! like a batch's (at-least-once: acks awaited off the loop, then the unit's
//! offsets committed and its due state written; exactly-once: one transaction
//! with the signals, the unit's offsets and its due state). One delivery per
//! unit is in flight at a time; its merge keeps buffering meanwhile.

use std::collections::BTreeMap;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{FutureProducer, Producer};

use super::stale::is_stale;
use super::state_commit::{Owner, Waiting};
use super::{Acked, Host, PipelineError, TXN_TIMEOUT};
use crate::clock::{self, Instant};
use crate::contract::MarketTick;
use crate::emit::signal_envelope;
use crate::kafka::outbox::{deliver, OutRecord};
use crate::state::unit::UnitRecord;
use crate::strategy::set::Processed;

/// A unit's delivery in flight (at-least-once).
pub(super) struct UnitFlight {
    delivery: tokio::task::JoinHandle<Acked>,
    /// Per signal: its strategy and when its tick was fetched.
    answered: Vec<(String, Instant)>,
    /// The messages its records answer (`origin` indexes them), for the DLQ.
    msgs: Vec<OwnedMessage>,
}

impl Host {
    /// Fetched messages to their units, finished deliveries committed, and the
    /// ticks that may go run.
    pub(super) async fn step_units(&mut self) -> Result<(), PipelineError> {
        let now = clock::now();
        while let Some(f) = self.units.try_fetched() {
            self.units.accept(f, now);
        }
        let done: Vec<i32> = self
            .unit_flights
            .iter()
            .filter(|(_, f)| f.delivery.is_finished())
            .map(|(k, _)| *k)
            .collect();
        for k in done {
            if let Some(flight) = self.unit_flights.remove(&k) {
                self.finish_unit_flight(k, flight).await?;
            }
        }
        let ks: Vec<i32> = self.units.running.keys().copied().collect();
        for k in ks {
            if !self.unit_flights.contains_key(&k) {
                self.run_unit(k, now).await?;
            }
        }
        self.observe_units();
        Ok(())
    }

    /// When the loop must look at the units again, at the latest.
    pub(super) fn units_deadline(&self) -> Option<Instant> {
        self.units
            .running
            .values()
            .filter_map(|u| u.deadline())
            .min()
    }

    /// Runs the ticks unit `k` may release now and delivers their signals.
    async fn run_unit(&mut self, k: i32, now: Instant) -> Result<(), PipelineError> {
        let max = self.config.plugins.max_batch;
        let Some(unit) = self.units.running.get_mut(&k) else {
            return Ok(());
        };
        let released = unit.release(max, now);
        if released.is_empty() {
            return Ok(());
        }
        let ticks: Vec<&MarketTick> = released.iter().map(|r| &r.item.env.data).collect();
        let max_age = self.config.start.max_tick_age_ms;
        let now_us = clock::wall().to_unix_micros();
        let stale: Vec<bool> = ticks
            .iter()
            .map(|t| is_stale(t.timestamp.to_unix_micros(), now_us, max_age))
            .collect();
        let processed = match self.live.unit_mut(k) {
            Some(set) => set.process_some(&ticks, &stale),
            None => Processed::default(),
        };
        let n_stale = stale.iter().filter(|s| **s).count();
        self.count_stale(n_stale as u64, ticks.len() - n_stale);
        self.shared
            .metrics
            .units
            .ticks
            .inc_by(released.len() as u64);
        self.summary.ticks += released.len() as u64;
        let wall = clock::wall();
        let mut records = Vec::with_capacity(processed.signals.len());
        for s in &processed.signals {
            let Some(r) = released.get(s.tick_pos) else {
                continue;
            };
            let env = signal_envelope(
                &r.item.env,
                s,
                self.config.broker,
                &self.config.service,
                wall,
            );
            records.push(self.signal_out(env, s.tick_pos)?);
        }
        self.observe_unit_run(&processed, &released);
        self.summary.signals += records.len() as u64;
        let answered: Vec<(String, Instant)> = processed
            .signals
            .iter()
            .filter_map(|s| Some((s.strategy_id.clone(), released.get(s.tick_pos)?.arrived)))
            .collect();
        let msgs: Vec<OwnedMessage> = released.into_iter().map(|r| r.item.msg).collect();
        if self.eos() {
            self.unit_transaction(k, records, false).await?;
            if self.units.running.contains_key(&k) {
                self.observe_answered(&answered);
            }
            return Ok(());
        }
        let producer = self.producer.clone();
        let scale = self.config.delivery.retry_scale;
        let landed = self.flight_landed.clone();
        let delivery = tokio::spawn(async move {
            let acked = deliver(&producer, records, scale).await;
            // Wakes the loop: the unit's offsets can be committed and it runs on.
            landed.notify_one();
            acked
        });
        self.unit_flights.insert(
            k,
            UnitFlight {
                delivery,
                answered,
                msgs,
            },
        );
        Ok(())
    }

    /// Counts and logs a unit run's signals and faults, and its call times.
    fn observe_unit_run(
        &self,
        out: &Processed,
        released: &[crate::merge::Released<crate::units::unit::Buffered>],
    ) {
        self.count_signals(&out.signals);
        let metrics = &self.shared.metrics;
        metrics.plugin_faults.inc_by(out.faults.len() as u64);
        for f in &out.faults {
            if let Some(r) = released.get(f.tick_pos) {
                crate::strategy::events::log_tick_fault(
                    &f.strategy_id,
                    &f.sha256,
                    &f.fault,
                    &r.item.env.id,
                    &r.item.env.correlation_id,
                );
            }
        }
        for (id, took, _) in &out.calls {
            metrics
                .plugin_call
                .with_label_values(&[id.as_str()])
                .observe(took.as_secs_f64());
        }
    }

    /// At-least-once, once a unit's delivery is acked: what could not be written
    /// to the DLQ, the unit's offsets committed, its due state written.
    pub(super) async fn finish_unit_flight(
        &mut self,
        k: i32,
        flight: UnitFlight,
    ) -> Result<(), PipelineError> {
        let (undelivered, retries) = flight.delivery.await?;
        self.observe_answered(&flight.answered);
        self.shared.metrics.produce_retries.inc_by(retries);
        let exhausted = self.dlq_undelivered(&flight.msgs, &undelivered).await?;
        self.shared
            .metrics
            .count_dlq(crate::topics::MARKET_TICKS, exhausted);
        self.summary.dlq += exhausted;
        let Some(unit) = self.units.running.get_mut(&k) else {
            return Ok(());
        };
        let offsets = unit.offsets()?;
        if offsets.count() > 0 {
            unit.consumer().commit(&offsets, CommitMode::Async)?;
            self.shared.metrics.commits.inc();
        }
        if self.unit_state_due(k, clock::now()) {
            self.start_unit_state(k)?;
        }
        Ok(())
    }

    /// Unit `k`'s strategies' state at its positions (quarantined ones keep
    /// their last record).
    fn unit_records(&mut self, k: i32) -> Vec<UnitRecord> {
        let Some(positions) = self.units.running.get_mut(&k).map(|u| u.positions()) else {
            return Vec::new();
        };
        let group = self.group.clone();
        let Some(set) = self.live.unit_mut(k) else {
            return Vec::new();
        };
        let ids: Vec<String> = set.slots().map(|s| s.strategy_id().to_owned()).collect();
        let mut out = Vec::new();
        for id in ids {
            let Some(slot) = set.get_mut(&id).filter(|s| !s.is_quarantined()) else {
                continue;
            };
            match slot.snapshot_now() {
                Ok(state) => out.push(UnitRecord {
                    group: group.clone(),
                    sha256: slot.sha256().to_owned(),
                    strategy_id: id,
                    unit: k,
                    positions: positions.clone(),
                    state,
                }),
                Err(f) => {
                    tracing::warn!(unit = k, strategy_id = %id, "snapshot for the state topic faulted: {f}")
                }
            }
        }
        out
    }

    pub(super) fn unit_state_out(&self, r: &UnitRecord) -> OutRecord {
        self.state_record_out(r.unit, r.key(), r.to_json())
    }

    /// Unit `k` leaves this host: its state written with its offsets, even with
    /// no state due. At-least-once its commit in flight is awaited first, then
    /// the offsets are committed (synchronously), so a record is never ahead of
    /// them; exactly-once both go in one transaction. (Periodic state commits
    /// off the pipeline: [`start_unit_state`](Self::start_unit_state).)
    pub(super) async fn write_unit_state(&mut self, k: i32) -> Result<(), PipelineError> {
        if self.eos() {
            return self.unit_transaction(k, Vec::new(), true).await;
        }
        if let Some(landed) = self.state_commits.landed_of(Owner::Unit(k)).await {
            self.state_committed(landed);
        }
        let Some(unit) = self.units.running.get_mut(&k) else {
            return Ok(());
        };
        let offsets = unit.offsets()?;
        if offsets.count() > 0 {
            if let Err(e) = unit.consumer().commit(&offsets, CommitMode::Sync) {
                self.shared.metrics.commit_failures.inc();
                tracing::warn!(unit = k, error = %e, "unit offset commit refused; its state is not written this time");
                return Ok(());
            }
        }
        if !self.config.state.enabled() {
            return Ok(());
        }
        let records = self.unit_records(k);
        let out: Vec<OutRecord> = records.iter().map(|r| self.unit_state_out(r)).collect();
        self.spawn_records_write(out).await.unwrap_or_default();
        if let Some(u) = self.units.running.get_mut(&k) {
            u.last_state = clock::now();
        }
        Ok(())
    }

    /// Periodic state of unit `k`: its records taken now, its offsets committed
    /// off the pipeline, the records written once that commit is accepted. Not
    /// while its last one is in flight.
    fn start_unit_state(&mut self, k: i32) -> Result<(), PipelineError> {
        if !self.config.state.enabled() || self.state_commits.busy(Owner::Unit(k)) {
            return Ok(());
        }
        let Some(unit) = self.units.running.get_mut(&k) else {
            return Ok(());
        };
        let offsets = unit.offsets()?;
        if offsets.count() == 0 {
            return Ok(());
        }
        let (generation, consumer) = (unit.generation, unit.shared_consumer());
        let records = self.unit_records(k);
        self.state_commits.start(
            Owner::Unit(k),
            move || consumer.commit(&offsets, CommitMode::Sync),
            Waiting::Unit {
                k,
                generation,
                records,
            },
        );
        if let Some(u) = self.units.running.get_mut(&k) {
            u.last_state = clock::now();
        }
        Ok(())
    }

    /// Whether unit `k` still runs here as it did in `generation`.
    pub(super) fn unit_running(&self, k: i32, generation: u64) -> bool {
        self.units
            .running
            .get(&k)
            .is_some_and(|u| u.generation == generation)
    }

    /// Exactly-once: `records`, the unit's offsets and (when due, or `with_state`)
    /// its state in one transaction of the unit's producer. A failed transaction
    /// is aborted and the unit read again from what was committed.
    async fn unit_transaction(
        &mut self,
        k: i32,
        mut records: Vec<OutRecord>,
        with_state: bool,
    ) -> Result<(), PipelineError> {
        let now = clock::now();
        if with_state || self.unit_state_due(k, now) {
            let state = self.unit_records(k);
            records.extend(state.iter().map(|r| self.unit_state_out(r)));
            if let Some(u) = self.units.running.get_mut(&k) {
                u.last_state = now;
            }
        }
        let Some(unit) = self.units.running.get_mut(&k) else {
            return Ok(());
        };
        let Some(producer) = unit.producer.clone() else {
            return Err(PipelineError::NoGroupMetadata);
        };
        let offsets = unit.offsets()?;
        let meta = unit
            .consumer()
            .group_metadata()
            .ok_or(PipelineError::NoGroupMetadata)?;
        let scale = self.config.delivery.retry_scale;
        let committed = unit_txn(&producer, records, &offsets, &meta, scale).await;
        match committed {
            Ok(()) => {
                self.shared.metrics.commits.inc();
                Ok(())
            }
            Err(e) => {
                self.shared.metrics.transaction_aborts.inc();
                tracing::warn!(unit = k, error = %e, "unit transaction failed; aborted, and the unit is read again from its last commit");
                let _ = producer.abort_transaction(TXN_TIMEOUT);
                self.units.running.remove(&k);
                self.live.revoke_unit(k);
                Ok(())
            }
        }
    }

    /// The tick-to-signal latency of signals just acknowledged.
    fn observe_answered(&self, answered: &[(String, Instant)]) {
        let now = clock::now();
        for (id, arrived) in answered {
            self.shared
                .metrics
                .tick_to_signal
                .with_label_values(&[id.as_str()])
                .observe(now.saturating_duration_since(*arrived).as_secs_f64());
        }
    }

    /// Metrics and `/health` lines of the units running here.
    fn observe_units(&mut self) {
        let metrics = &self.shared.metrics.units;
        let plan = self.live.unit_plan();
        let mut lines = Vec::new();
        metrics.running.reset();
        for (k, unit) in &mut self.units.running {
            let waits = unit.expired_waits();
            if waits > unit.waits_counted {
                metrics
                    .align_waits
                    .with_label_values(&[&k.to_string()])
                    .inc_by(waits - unit.waits_counted);
                unit.waits_counted = waits;
            }
            let lags: BTreeMap<i32, i64> = unit.lags.lock().map(|l| l.clone()).unwrap_or_default();
            let registry = crate::topics::TopicRegistry::new(&self.config.topics);
            for (id, instruments) in plan.get(k).into_iter().flatten() {
                let mut partitions: Vec<i32> = instruments
                    .iter()
                    .map(|t| registry.tick_partition(*t))
                    .collect();
                partitions.sort_unstable();
                partitions.dedup();
                let lag: i64 = partitions.iter().filter_map(|p| lags.get(p)).sum();
                metrics
                    .running
                    .with_label_values(&[id, &k.to_string()])
                    .set(1);
                metrics.lag.with_label_values(&[id]).set(lag);
                lines.push(format!(
                    "strategy {id}: runs here (unit {k}, partitions {partitions:?}), {lag} ticks behind"
                ));
            }
        }
        if let Ok(mut p) = metrics.placements.lock() {
            *p = lines;
        }
    }
}

/// One unit transaction: begin, the records acked, the offsets, commit.
async fn unit_txn(
    producer: &FutureProducer,
    records: Vec<OutRecord>,
    offsets: &rdkafka::TopicPartitionList,
    meta: &rdkafka::consumer::ConsumerGroupMetadata,
    scale: f64,
) -> Result<(), PipelineError> {
    producer.begin_transaction()?;
    let (failed, _) = deliver(producer, records, scale).await;
    if let Some(f) = failed.first() {
        return Err(PipelineError::Delivery(f.error.clone()));
    }
    if offsets.count() > 0 {
        producer.send_offsets_to_transaction(offsets, meta, TXN_TIMEOUT)?;
    }
    producer.commit_transaction(TXN_TIMEOUT)?;
    Ok(())
}
