//! What a slot is configured with (snapshot cadence, fault policy, output
//! limits, memory recycling, the worker threads) and what a strategy's `init`
//! receives.

use std::time::Duration;

use super::events::EventSink;
use super::workers::Workers;
use crate::manifest::{Manifest, ParamValue};
use crate::wasm::bindings::types::{self, InitConfig};
use crate::wasm::output::OutputLimits;

/// Snapshot cadence, fault policy and output limits of a slot, and where it
/// reports its operator events.
#[derive(Debug, Clone)]
pub struct SlotConfig {
    pub output: OutputLimits,
    pub snapshot_every_ticks: u64,
    pub snapshot_every: Duration,
    pub fault_limit: u32,
    pub fault_window: Duration,
    /// An instance holding more linear memory than this is rebuilt from a fresh
    /// snapshot between batches (0 = never).
    pub recycle_at_bytes: usize,
    /// Counts of faults, recoveries, quarantines and releases (shared by every
    /// slot made with this config, and with the metrics).
    pub events: EventSink,
    /// Where a batch's strategies run.
    pub workers: Workers,
}

impl Default for SlotConfig {
    fn default() -> Self {
        Self::from_config(&crate::config::PluginsConfig::default())
    }
}

impl SlotConfig {
    pub fn from_config(p: &crate::config::PluginsConfig) -> Self {
        Self {
            output: OutputLimits {
                max_signals_per_tick: p.max_signals_per_tick,
                max_metadata_bytes: p.max_metadata_bytes,
            },
            snapshot_every_ticks: p.snapshot_every_ticks.max(1),
            snapshot_every: Duration::from_millis(p.snapshot_every_ms.max(1)),
            fault_limit: p.fault_limit.max(1),
            fault_window: Duration::from_secs(p.fault_window_secs.max(1)),
            recycle_at_bytes: (p.memory_limit_mib as usize)
                .saturating_mul(1 << 20)
                .saturating_mul(p.recycle_memory_pct.min(100) as usize)
                / 100,
            events: EventSink::default(),
            workers: Workers::with_priority(p.workers, p.realtime_priority),
        }
    }

    /// The same config, reporting its events to `events`.
    pub fn with_events(mut self, events: EventSink) -> Self {
        self.events = events;
        self
    }
}

/// A stable seed per strategy id: the only randomness a strategy gets.
pub fn seed_for(strategy_id: &str) -> u64 {
    // FNV-1a: stable across builds and platforms.
    strategy_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What `init` receives for a manifest: its parameters, instruments, seed and
/// artifacts.
pub fn init_config(m: &Manifest, instruments: &[u32]) -> InitConfig {
    let params = m
        .params
        .iter()
        .map(|(k, v)| {
            let v = match v {
                ParamValue::Integer(i) => types::ParamValue::Integer(*i),
                ParamValue::Float(f) => types::ParamValue::Float(*f),
                ParamValue::Boolean(b) => types::ParamValue::Boolean(*b),
                ParamValue::Text(s) => types::ParamValue::Text(s.clone()),
            };
            (k.clone(), v)
        })
        .collect();
    InitConfig {
        strategy_id: m.strategy_id.clone(),
        instruments: instruments.to_vec(),
        params,
        seed: seed_for(&m.strategy_id),
        artifacts: m
            .loaded_artifacts
            .iter()
            .map(|a| types::Artifact {
                name: a.name.clone(),
                sha256: a.sha256.clone(),
                data: a.bytes.to_vec(),
            })
            .collect(),
    }
}
