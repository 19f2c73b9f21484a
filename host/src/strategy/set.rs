//! The strategies of one broker namespace, keyed by strategy id: routes each tick
//! to the strategies subscribed to its instrument, runs them, and returns their
//! signals in a deterministic order (tick, then strategy id, then signal).

use std::collections::BTreeMap;

use super::slot::{Prepared, SlotConfig, StrategySlot};
use crate::contract::MarketTick;
use crate::manifest::Manifest;
use crate::wasm::convert::{BatchBuilder, ConvertError};
use crate::wasm::output::StrategySignal;
use crate::wasm::{Fault, LoadError, PluginComponent, StrategyEngine};

/// One signal of a batch, ready to become an envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOutput {
    /// Position of the answered tick in the input slice.
    pub tick_pos: usize,
    pub strategy_id: String,
    /// Content hash of the plugin version that produced it.
    pub sha256: String,
    /// Index of this signal among the strategy's signals for that tick.
    pub index: u32,
    pub signal: StrategySignal,
}

/// A fault, attributed to a tick of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct SetFault {
    pub tick_pos: usize,
    pub strategy_id: String,
    pub sha256: String,
    pub fault: Fault,
}

/// What one `process` call produced.
#[derive(Debug, Default)]
pub struct Processed {
    pub signals: Vec<SetOutput>,
    pub faults: Vec<SetFault>,
    /// Ticks no plugin could be given (a value the ABI cannot carry): poison.
    pub unconvertible: Vec<(usize, ConvertError)>,
    /// How long each strategy's call took, with the number of ticks it was given.
    pub calls: Vec<(String, std::time::Duration, usize)>,
}

/// The loaded strategies.
pub struct StrategySet {
    engine: StrategyEngine,
    config: SlotConfig,
    slots: BTreeMap<String, StrategySlot>,
    builder: BatchBuilder,
    positions: Vec<usize>,
}

impl StrategySet {
    pub fn new(engine: StrategyEngine, config: SlotConfig) -> Self {
        Self {
            engine,
            config,
            slots: BTreeMap::new(),
            builder: BatchBuilder::new(),
            positions: Vec::new(),
        }
    }

    pub fn engine(&self) -> &StrategyEngine {
        &self.engine
    }

    /// Starts a strategy; replaces nothing (use [`StrategySet::swap`] for that).
    pub fn insert(
        &mut self,
        component: PluginComponent,
        manifest: Manifest,
    ) -> Result<(), LoadError> {
        let id = manifest.strategy_id.clone();
        let slot = StrategySlot::start(&self.engine, component, manifest, self.config.clone())?;
        self.slots.insert(id, slot);
        Ok(())
    }

    /// Swaps a prepared version into the slot of its strategy id, at this tick boundary.
    /// A new id (or a renamed strategy) starts fresh.
    pub fn swap(&mut self, prepared: Prepared) -> Result<(), LoadError> {
        let id = prepared.manifest().strategy_id.clone();
        match self.slots.get_mut(&id) {
            Some(slot) => slot.swap(prepared),
            None => {
                let slot = StrategySlot::start(
                    &self.engine,
                    prepared.component().clone(),
                    prepared.manifest().clone(),
                    self.config.clone(),
                )?;
                self.slots.insert(id, slot);
                Ok(())
            }
        }
    }

    /// Unloads a strategy; returns whether it was loaded.
    pub fn remove(&mut self, strategy_id: &str) -> bool {
        self.slots.remove(strategy_id).is_some()
    }

    pub fn get(&self, strategy_id: &str) -> Option<&StrategySlot> {
        self.slots.get(strategy_id)
    }

    pub fn get_mut(&mut self, strategy_id: &str) -> Option<&mut StrategySlot> {
        self.slots.get_mut(strategy_id)
    }

    pub fn slots(&self) -> impl Iterator<Item = &StrategySlot> {
        self.slots.values()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Runs every strategy over the ticks it subscribes to.
    pub fn process(&mut self, ticks: &[&MarketTick]) -> Processed {
        let mut out = Processed::default();
        for slot in self.slots.values_mut() {
            if slot.is_quarantined() {
                continue;
            }
            self.builder.clear();
            self.positions.clear();
            for (pos, t) in ticks.iter().enumerate() {
                if !slot.subscribes(t.instrument_token) {
                    continue;
                }
                match self.builder.push(t) {
                    Ok(()) => self.positions.push(pos),
                    Err(e) => {
                        if !out.unconvertible.iter().any(|(p, _)| *p == pos) {
                            out.unconvertible.push((pos, e));
                        }
                    }
                }
            }
            if self.builder.is_empty() {
                continue;
            }
            let given = self.builder.len();
            let started = std::time::Instant::now();
            let result = slot.run(self.builder.take());
            out.calls
                .push((slot.strategy_id().to_owned(), started.elapsed(), given));
            let mut counters: Vec<(usize, u32)> = Vec::new();
            for signal in result.signals {
                let pos = self.positions[signal.tick_index as usize];
                let index = match counters.iter_mut().find(|(p, _)| *p == pos) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        counters.push((pos, 0));
                        0
                    }
                };
                out.signals.push(SetOutput {
                    tick_pos: pos,
                    strategy_id: slot.strategy_id().to_owned(),
                    sha256: slot.sha256().to_owned(),
                    index,
                    signal,
                });
            }
            for (idx, fault) in result.faults {
                let pos = self.positions.get(idx as usize).copied().unwrap_or(0);
                out.faults.push(SetFault {
                    tick_pos: pos,
                    strategy_id: slot.strategy_id().to_owned(),
                    sha256: slot.sha256().to_owned(),
                    fault,
                });
            }
        }
        // Slots run in strategy-id order; a stable sort by tick keeps that order within a tick.
        out.signals.sort_by_key(|s| s.tick_pos);
        out
    }
}
