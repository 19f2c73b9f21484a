//! The strategies of one broker namespace, keyed by strategy id: routes each tick
//! to the strategies subscribed to its instrument, runs them, and returns their
//! signals in a deterministic order (tick, then strategy id, then signal).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::slot::{Prepared, SlotConfig, StrategySlot};
use crate::artifacts::Artifacts;
use crate::contract::MarketTick;
use crate::manifest::Manifest;
use crate::wasm::bindings::types::TickBatch;
use crate::wasm::convert::{sub_batch, BatchBuilder, ConvertError};
use crate::wasm::output::StrategySignal;
use crate::wasm::{Fault, LoadError, PluginComponent, StrategyEngine};

/// The most ticks one strategy call is given. A call's ticks are lowered into the
/// guest's linear memory, which keeps its high-water mark for the instance's life:
/// 512 full ticks are about 210 KiB of records, 128 about 55 KiB, in every
/// instance, while the cost per tick of a call is about the same from 64 ticks up
/// (BENCHMARKS.md, "Issue 19, session 24: memory").
pub const CALL_TICKS: usize = 128;

/// One signal of a batch, ready to become an envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOutput {
    /// Position of the answered tick in the input slice.
    pub tick_pos: usize,
    pub strategy_id: String,
    /// Content hash of the plugin version that produced it.
    pub sha256: String,
    /// The artifacts that version was given (their hashes go into the signal).
    pub artifacts: Artifacts,
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

impl Processed {
    /// Appends `part`, whose tick positions `at` turns into positions here.
    pub fn extend_at(&mut self, part: Processed, at: impl Fn(usize) -> usize) {
        self.signals.extend(part.signals.into_iter().map(|mut s| {
            s.tick_pos = at(s.tick_pos);
            s
        }));
        self.faults.extend(part.faults.into_iter().map(|mut f| {
            f.tick_pos = at(f.tick_pos);
            f
        }));
        self.unconvertible
            .extend(part.unconvertible.into_iter().map(|(i, e)| (at(i), e)));
        self.calls.extend(part.calls);
    }
}

/// A slot out on its lane: its subscription, and whether it was quarantined
/// when it left.
struct Away {
    instruments: Arc<[u32]>,
    quarantined: bool,
}

/// One strategy's call over ticks of a [`StrategySet::route`]d run.
pub struct RoutedCall {
    pub strategy_id: String,
    pub batch: Arc<TickBatch>,
    /// The position in the routed ticks of each tick of `batch`.
    pub positions: Vec<usize>,
}

/// The loaded strategies.
pub struct StrategySet {
    engine: StrategyEngine,
    config: SlotConfig,
    slots: BTreeMap<String, StrategySlot>,
    /// Slots out on their lane (a call running on a worker): what routing needs
    /// of them until they are back.
    away: BTreeMap<String, Away>,
    builder: BatchBuilder,
    /// Input positions of the ticks in the converted batch.
    converted: Vec<usize>,
    /// Per strategy: indices into the converted batch.
    /// Signals counted per tick of one strategy's batch.
    per_tick: Vec<u32>,
}

impl StrategySet {
    pub fn new(engine: StrategyEngine, config: SlotConfig) -> Self {
        Self {
            engine,
            config,
            slots: BTreeMap::new(),
            away: BTreeMap::new(),
            builder: BatchBuilder::new(),
            converted: Vec::new(),
            per_tick: Vec::new(),
        }
    }

    pub fn engine(&self) -> &StrategyEngine {
        &self.engine
    }

    pub fn slot_config(&self) -> &SlotConfig {
        &self.config
    }

    /// An empty set with the same engine and slot configuration.
    pub fn empty_like(&self) -> Self {
        Self::new(self.engine.clone(), self.config.clone())
    }

    /// Feeds every strategy ticks that were answered before (outputs dropped).
    pub fn catch_up_all(&mut self, ticks: &[&MarketTick]) {
        let ids: Vec<String> = self.slots.keys().cloned().collect();
        for id in ids {
            self.catch_up(&id, ticks);
        }
    }

    /// Feeds one strategy ticks that were answered before, so its state catches up
    /// (outputs dropped). Ticks it does not subscribe to, or that cannot be
    /// converted, are left out as they were when first answered.
    pub fn catch_up(&mut self, strategy_id: &str, ticks: &[&MarketTick]) {
        let Some(slot) = self.slots.get_mut(strategy_id) else {
            return;
        };
        for chunk in ticks.chunks(CALL_TICKS) {
            self.builder.clear();
            self.builder.reserve_ticks(chunk.len());
            for t in chunk {
                if slot.subscribes(t.instrument_token) {
                    let _ = self.builder.push(t);
                }
            }
            if !self.builder.is_empty() {
                slot.catch_up(&Arc::new(self.builder.take()));
            }
        }
    }

    /// Where this set's slots count their operator events.
    pub fn events(&self) -> &super::events::EventSink {
        &self.config.events
    }

    /// Starts a strategy; replaces nothing (use [`StrategySet::swap`] for that).
    pub fn insert(
        &mut self,
        component: PluginComponent,
        manifest: Manifest,
    ) -> Result<(), LoadError> {
        let slot = self.start(component, manifest)?;
        self.insert_slot(slot);
        Ok(())
    }

    /// A slot started with this set's engine and configuration, not yet inserted.
    pub fn start(
        &self,
        component: PluginComponent,
        manifest: Manifest,
    ) -> Result<StrategySlot, LoadError> {
        StrategySlot::start(&self.engine, component, manifest, self.config.clone())
    }

    /// Inserts a started slot (replacing one of the same strategy id).
    pub fn insert_slot(&mut self, slot: StrategySlot) {
        self.slots.insert(slot.strategy_id().to_owned(), slot);
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

    /// Unloads a strategy; returns whether it was loaded. One out on its lane
    /// is dropped when it comes back.
    pub fn remove(&mut self, strategy_id: &str) -> bool {
        let away = self.away.remove(strategy_id).is_some();
        self.slots.remove(strategy_id).is_some() || away
    }

    /// Takes a slot out to run a call on its lane; routing still counts it.
    pub fn take(&mut self, strategy_id: &str) -> Option<StrategySlot> {
        let slot = self.slots.remove(strategy_id)?;
        let away = Away {
            instruments: slot.shared_instruments(),
            quarantined: slot.is_quarantined(),
        };
        self.away.insert(strategy_id.to_owned(), away);
        Some(slot)
    }

    /// A slot back from its lane; dropped if its strategy was removed meanwhile.
    pub fn put_back(&mut self, slot: StrategySlot) {
        if self.away.remove(slot.strategy_id()).is_some() {
            self.insert_slot(slot);
        }
    }

    /// Whether `strategy_id` is quarantined (one out on its lane: when it left).
    pub fn is_quarantined(&self, strategy_id: &str) -> bool {
        match self.slots.get(strategy_id) {
            Some(s) => s.is_quarantined(),
            None => self.away.get(strategy_id).is_some_and(|a| a.quarantined),
        }
    }

    /// Whether a running strategy, here or on its lane, wants this instrument.
    fn wanted(&self, instrument: u32) -> bool {
        let here = self
            .slots
            .values()
            .any(|s| !s.is_quarantined() && s.subscribes(instrument));
        here || self
            .away
            .values()
            .any(|a| !a.quarantined && a.instruments.binary_search(&instrument).is_ok())
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
        self.slots.len() + self.away.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs every strategy over the ticks it subscribes to. Each tick some running
    /// strategy subscribes to is converted once; a strategy subscribed to every tick
    /// of the batch shares that batch, the others get a copy of their records.
    /// Runs `ticks` in order, those `fed_only` says fed to warm state with no
    /// outputs (`catch_up_all`), the others as `process` does; positions in the
    /// result are positions in `ticks`.
    pub fn process_some(&mut self, ticks: &[&MarketTick], fed_only: &[bool]) -> Processed {
        let mut out = Processed::default();
        let mut start = 0;
        while start < ticks.len() {
            let fed = fed_only.get(start).copied().unwrap_or(false);
            let len = fed_only
                .get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|f| **f == fed)
                .count()
                .max(1);
            let run = &ticks[start..(start + len).min(ticks.len())];
            if fed {
                self.catch_up_all(run);
            } else {
                out.extend_at(self.process(run), |i| i + start);
            }
            start += len;
        }
        out
    }

    /// Converts each tick some running strategy subscribes to into the builder
    /// (positions in `converted`); a tick the ABI cannot carry is poison.
    fn convert(&mut self, ticks: &[&MarketTick], poison: &mut Vec<(usize, ConvertError)>) {
        self.builder.clear();
        self.builder.reserve_ticks(ticks.len());
        self.converted.clear();
        for (pos, t) in ticks.iter().enumerate() {
            if !self.wanted(t.instrument_token) {
                continue;
            }
            match self.builder.push(t) {
                Ok(()) => self.converted.push(pos),
                // Poison: a running strategy would have been given it.
                Err(e) => poison.push((pos, e)),
            }
        }
    }

    /// The calls `ticks` make, for lanes to run: per call of at most
    /// [`CALL_TICKS`] ticks, one per running strategy (here or on its lane)
    /// subscribed to some of them, in strategy-id order. Ticks no plugin can be
    /// given go to `poison` (positions in `ticks`).
    pub fn route(
        &mut self,
        ticks: &[&MarketTick],
        poison: &mut Vec<(usize, ConvertError)>,
    ) -> Vec<RoutedCall> {
        let mut calls = Vec::new();
        for (n, chunk) in ticks.chunks(CALL_TICKS).enumerate() {
            calls.extend(self.calls_of(chunk, n * CALL_TICKS, poison));
        }
        calls
    }

    /// The calls of one call's worth of ticks (`chunk`, at most [`CALL_TICKS`],
    /// the input's ticks from `start` on): each tick converted once, and each
    /// running strategy subscribed to some of them given the whole batch or a
    /// copy of its records, in strategy-id order.
    fn calls_of(
        &mut self,
        chunk: &[&MarketTick],
        start: usize,
        poison: &mut Vec<(usize, ConvertError)>,
    ) -> Vec<RoutedCall> {
        let mut bad = Vec::new();
        self.convert(chunk, &mut bad);
        poison.extend(bad.into_iter().map(|(i, e)| (i + start, e)));
        if self.builder.is_empty() {
            return Vec::new();
        }
        let full = Arc::new(self.builder.take());
        let here = self
            .slots
            .iter()
            .map(|(id, s)| (id, s.instruments(), s.is_quarantined()));
        let away = self
            .away
            .iter()
            .map(|(id, a)| (id, &a.instruments[..], a.quarantined));
        let mut running: Vec<(&String, &[u32])> = here
            .chain(away)
            .filter(|(_, _, q)| !q)
            .map(|(id, i, _)| (id, i))
            .collect();
        running.sort_by_key(|(id, _)| *id);
        let converted = &self.converted;
        let mut calls = Vec::new();
        for (id, instruments) in running {
            let keep: Vec<usize> = (0..converted.len())
                .filter(|&i| {
                    let token = chunk[converted[i]].instrument_token;
                    instruments.binary_search(&token).is_ok()
                })
                .collect();
            if keep.is_empty() {
                continue;
            }
            let batch = if keep.len() == converted.len() {
                Arc::clone(&full)
            } else {
                Arc::new(sub_batch(&full, &keep))
            };
            let positions = keep.iter().map(|&i| converted[i] + start).collect();
            calls.push(RoutedCall {
                strategy_id: id.clone(),
                batch,
                positions,
            });
        }
        calls
    }

    /// Runs every strategy over the ticks it subscribes to, in calls of at most
    /// [`CALL_TICKS`] ticks; positions in the result are positions in `ticks`.
    pub fn process(&mut self, ticks: &[&MarketTick]) -> Processed {
        let mut out = Processed::default();
        for (n, chunk) in ticks.chunks(CALL_TICKS).enumerate() {
            let start = n * CALL_TICKS;
            out.extend_at(self.process_call(chunk), |i| i + start);
        }
        out
    }

    /// One call per strategy over `ticks`, side by side on the workers.
    fn process_call(&mut self, ticks: &[&MarketTick]) -> Processed {
        let mut out = Processed::default();
        let mut calls: BTreeMap<String, RoutedCall> = self
            .calls_of(ticks, 0, &mut out.unconvertible)
            .into_iter()
            .map(|c| (c.strategy_id.clone(), c))
            .collect();
        let jobs: Vec<(&mut StrategySlot, RoutedCall)> = self
            .slots
            .iter_mut()
            .filter_map(|(id, slot)| calls.remove(id).map(|c| (slot, c)))
            .collect();
        // Back in strategy-id order.
        let ran = self.config.workers.run_all(jobs, |(slot, call)| {
            let started = std::time::Instant::now();
            let result = slot.run(&call.batch);
            (Ran::of(slot), call.positions, result, started.elapsed())
        });
        for (who, positions, result, took) in ran {
            who.collect(result, took, &positions, &mut self.per_tick, &mut out);
        }
        // Slots run in strategy-id order; a stable sort by tick keeps that order within a tick.
        out.signals.sort_by_key(|s| s.tick_pos);
        out
    }
}

/// The strategy one call of a batch ran.
pub(crate) struct Ran {
    strategy_id: String,
    sha256: String,
    artifacts: Artifacts,
}

impl Ran {
    /// The strategy and version `slot` runs.
    pub(crate) fn of(slot: &StrategySlot) -> Self {
        Self {
            strategy_id: slot.strategy_id().to_owned(),
            sha256: slot.sha256().to_owned(),
            artifacts: slot.manifest().loaded_artifacts.clone(),
        }
    }

    /// A call's time and its signals and faults, placed at their ticks'
    /// positions in the input: tick `at` of the call is at `positions[at]`.
    pub(crate) fn collect(
        self,
        result: super::slot::SlotOutput,
        took: std::time::Duration,
        positions: &[usize],
        per_tick: &mut Vec<u32>,
        out: &mut Processed,
    ) {
        out.calls
            .push((self.strategy_id.clone(), took, positions.len()));
        let pos_of = |at: usize| positions.get(at).copied();
        // Index of each signal among this strategy's signals for its tick.
        per_tick.clear();
        per_tick.resize(positions.len(), 0);
        for signal in result.signals {
            let at = signal.tick_index as usize;
            let Some(pos) = pos_of(at) else {
                continue;
            };
            let index = per_tick[at];
            per_tick[at] += 1;
            out.signals.push(SetOutput {
                tick_pos: pos,
                strategy_id: self.strategy_id.clone(),
                sha256: self.sha256.clone(),
                artifacts: self.artifacts.clone(),
                index,
                signal,
            });
        }
        for (idx, fault) in result.faults {
            out.faults.push(SetFault {
                tick_pos: pos_of(idx as usize).unwrap_or(0),
                strategy_id: self.strategy_id.clone(),
                sha256: self.sha256.clone(),
                fault,
            });
        }
    }
}
