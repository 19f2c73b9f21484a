//! Strategy-scoped units in the host's loop, between batches: ownership changes
//! from the owners group; units started (their gain read off the tick path,
//! then state restored and the ticks since replayed) and stopped (outputs,
//! offsets and state written first, so the next owner replays nothing); and each
//! running unit's lanes kept to its strategies' instruments.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Host, PipelineError};
use crate::clock::{self, Instant};
use crate::config::DeliveryMode;
use crate::contract::MarketTick;
use crate::kafka::settings;
use crate::merge::LaneId;
use crate::topics::TopicRegistry;
use crate::units::owners::OwnerEvent;
use crate::units::restore::{self, RestoreRequest, Restored};
use crate::units::unit::{Fresh, Start, Unit};
use crate::units::Loading;

/// Wait before reading a unit again after its read failed.
const RETRY_READ: Duration = Duration::from_secs(2);

impl Host {
    /// The consumer settings of unit `k`'s group.
    pub(super) fn unit_settings(&self, k: i32) -> rdkafka::ClientConfig {
        settings::consumer(
            &self.config,
            &self.bootstrap,
            &format!("{}.unit-{k}", self.group),
        )
    }

    /// Ownership changes, finished reads, and units kept in step with the plugins.
    pub(super) async fn manage_units(&mut self) -> Result<(), PipelineError> {
        self.apply_owner_events().await?;
        self.finish_unit_reads().await?;
        self.sync_units().await?;
        self.shared
            .metrics
            .units
            .owned
            .set(self.units.owned.len() as i64);
        Ok(())
    }

    async fn apply_owner_events(&mut self) -> Result<(), PipelineError> {
        while let Some(event) = self.units.owners.as_mut().and_then(|o| o.try_next()) {
            match event {
                OwnerEvent::Gained(units) => self.units.owned.extend(units),
                OwnerEvent::Lost { units, stopped } => {
                    for k in units {
                        self.units.owned.remove(&k);
                        self.stop_unit(k).await?;
                    }
                    let _ = stopped.send(());
                }
            }
        }
        Ok(())
    }

    /// The lanes of `strategies`' instruments: each with the partition of
    /// `market.ticks` that holds it.
    fn lanes_of(&self, strategies: &[(String, Vec<u32>)]) -> BTreeSet<LaneId> {
        let registry = TopicRegistry::new(&self.config.topics);
        strategies
            .iter()
            .flat_map(|(_, instruments)| instruments.iter())
            .map(|t| (registry.tick_partition(*t), *t))
            .collect()
    }

    /// Starts the owned units that have strategies, stops those that have none
    /// (or are not owned), and keeps running units' lanes to their strategies'
    /// instruments.
    async fn sync_units(&mut self) -> Result<(), PipelineError> {
        let plan = self.live.unit_plan();
        let stale: Vec<i32> = self
            .units
            .running
            .keys()
            .chain(self.units.loading.keys())
            .filter(|k| !plan.contains_key(k) || !self.units.owned.contains(k))
            .copied()
            .collect();
        for k in stale {
            self.stop_unit(k).await?;
        }
        let now = clock::now();
        for (k, strategies) in plan {
            if !self.units.owned.contains(&k) || self.units.loading.contains_key(&k) {
                continue;
            }
            let lanes = self.lanes_of(&strategies);
            if let Some(unit) = self.units.running.get_mut(&k) {
                unit.set_lanes(&lanes)?;
                continue;
            }
            if self.units.retry_at.get(&k).is_some_and(|t| now < *t) {
                continue;
            }
            self.start_unit_read(k, lanes.iter().map(|(p, _)| *p).collect());
        }
        Ok(())
    }

    /// Reads what gained unit `k` needs, off the tick path.
    fn start_unit_read(&mut self, k: i32, partitions: BTreeSet<i32>) {
        let eos = self.config.delivery.mode == DeliveryMode::ExactlyOnce;
        let req = RestoreRequest {
            unit: k,
            settings: self.unit_settings(k),
            group: self.group.clone(),
            state_topic: self.topics.state.clone(),
            with_state: self.config.state.enabled(),
            partitions: partitions.into_iter().collect(),
            timeout: Duration::from_millis(self.config.state.load_timeout_ms.max(1)),
            producer: eos.then(|| settings::unit_producer(&self.config, &self.bootstrap, k)),
        };
        let generation = self.units.next_generation();
        let read = tokio::task::spawn_blocking(move || restore::read(req));
        tracing::info!(
            unit = k,
            "strategy-scoped unit gained; reading its offsets and state"
        );
        self.units.loading.insert(k, Loading { generation, read });
    }

    /// Units whose read is done start running; a failed read is tried again.
    async fn finish_unit_reads(&mut self) -> Result<(), PipelineError> {
        let done: Vec<i32> = self
            .units
            .loading
            .iter()
            .filter(|(_, l)| l.read.is_finished())
            .map(|(k, _)| *k)
            .collect();
        for k in done {
            let Some(loading) = self.units.loading.remove(&k) else {
                continue;
            };
            match loading.read.await? {
                Ok(restored) => self.run_restored(restored, loading.generation)?,
                Err(e) => {
                    self.shared.metrics.state_failures.inc();
                    tracing::warn!(unit = k, error = %e, "strategy-scoped unit could not be read; trying again");
                    self.units.retry_at.insert(k, clock::now() + RETRY_READ);
                }
            }
        }
        Ok(())
    }

    /// Starts a gained unit: its strategies from `init`, each restored from its
    /// record and caught up on the ticks since, then its consumer at the
    /// committed offsets.
    fn run_restored(&mut self, r: Restored, generation: u64) -> Result<(), PipelineError> {
        let k = r.unit;
        self.live.revoke_unit(k);
        let set = self.live.assign_unit(k);
        let mut restored = 0u64;
        let mut replayed = 0u64;
        for record in &r.records {
            let Some(slot) = set.get_mut(&record.strategy_id) else {
                continue;
            };
            if let Err(e) = slot.restore_state(&record.state) {
                tracing::warn!(unit = k, strategy_id = %record.strategy_id, error = %e, "state record not restored; the strategy starts from init");
                continue;
            }
            restored += 1;
            let ticks: Vec<&MarketTick> = r
                .ticks
                .iter()
                .filter(|(p, o, env)| {
                    let token = env.data.instrument_token;
                    // Not in the state restored, but done before the unit moved.
                    record
                        .positions
                        .get(p)
                        .is_some_and(|s| !s.covers(*o, token))
                        && r.committed.get(p).is_some_and(|c| c.covers(*o, token))
                })
                .map(|(_, _, env)| &env.data)
                .collect();
            replayed += ticks.len() as u64;
            set.catch_up(&record.strategy_id, &ticks);
        }
        let metrics = &self.shared.metrics;
        metrics.state_restores.inc_by(restored);
        metrics.state_replayed_ticks.inc_by(replayed);
        let lanes = self
            .live
            .unit_plan()
            .get(&k)
            .map(|s| self.lanes_of(s))
            .unwrap_or_default();
        // A unit that never committed reads from the start of the retained ticks.
        let fresh = if r.committed.is_empty() {
            Fresh::Beginning
        } else {
            Fresh::End
        };
        tracing::info!(
            unit = k,
            committed = ?r.committed,
            restored,
            replayed,
            "strategy-scoped unit running"
        );
        let start = Start {
            lanes,
            committed: r.committed,
            fresh,
            align_wait: Duration::from_millis(self.config.plugins.align_wait_ms),
        };
        let unit = Unit::start(
            (k, generation),
            &self.unit_settings(k),
            start,
            r.producer,
            self.units.sender(),
            clock::now(),
        )?;
        self.units.retry_at.remove(&k);
        self.units.running.insert(k, unit);
        Ok(())
    }

    /// Stops unit `k` here: its ticks in flight delivered and committed, its
    /// state written with its offsets, its strategies dropped.
    pub(super) async fn stop_unit(&mut self, k: i32) -> Result<(), PipelineError> {
        self.units.loading.remove(&k);
        if let Some(flight) = self.unit_flights.remove(&k) {
            self.finish_unit_flight(k, flight).await?;
        }
        if self.units.running.contains_key(&k) {
            self.write_unit_state(k).await?;
        }
        self.units.running.remove(&k);
        self.live.revoke_unit(k);
        tracing::info!(unit = k, "strategy-scoped unit stopped here");
        Ok(())
    }

    /// At a clean stop: every unit stopped, then the owners group left.
    pub(super) async fn stop_units(&mut self) -> Result<(), PipelineError> {
        let ks: Vec<i32> = self
            .units
            .running
            .keys()
            .chain(self.units.loading.keys())
            .copied()
            .collect();
        for k in ks {
            self.stop_unit(k).await?;
        }
        if let Some(owners) = self.units.owners.take() {
            owners.leave();
        }
        Ok(())
    }

    /// Whether unit `k`'s state is due (`state.every_ms` since it was written).
    pub(super) fn unit_state_due(&self, k: i32, now: Instant) -> bool {
        let every = Duration::from_millis(self.config.state.every_ms);
        self.config.state.enabled()
            && self
                .units
                .running
                .get(&k)
                .is_some_and(|u| now.saturating_duration_since(u.last_state) >= every)
    }
}
