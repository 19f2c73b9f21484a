//! One running strategy. It owns the live instance, the last snapshot and the
//! batches fed since (the journal). A trap kills the instance; the slot rebuilds it
//! exactly (fresh instance, restore, replay the journal with outputs suppressed),
//! re-runs the failed batch one tick at a time to find the faulting tick, skips that
//! tick, and carries on. Too many faults in a window quarantine the strategy.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

pub use super::slot_config::{init_config, seed_for, SlotConfig};

use super::events::{Event, EventKind};
use crate::manifest::Manifest;
use crate::wasm::bindings::types::TickBatch;
use crate::wasm::convert::sub_batch;
use crate::wasm::output::{self, RawOutput, StrategySignal};
use crate::wasm::{Fault, Instance, LoadError, PluginComponent, StrategyEngine};

/// Counters of one slot.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SlotStats {
    pub ticks: u64,
    pub signals: u64,
    pub faults: u64,
    pub recoveries: u64,
    /// Instances rebuilt from a fresh snapshot to give back memory.
    pub recycles: u64,
    pub snapshots: u64,
    /// Journal ticks replayed into rebuilt instances (those fed since the snapshot
    /// each rebuild started from).
    pub replayed: u64,
}

/// What one batch produced.
#[derive(Debug, Default)]
pub struct SlotOutput {
    pub signals: Vec<StrategySignal>,
    pub faults: Vec<(u32, Fault)>,
}

/// A loaded strategy.
pub struct StrategySlot {
    engine: StrategyEngine,
    component: PluginComponent,
    manifest: Manifest,
    /// Shared with the set's routing while the slot is out on its lane.
    instruments: Arc<[u32]>,
    config: SlotConfig,
    instance: Instance,
    snapshot: Vec<u8>,
    /// Batches fed since the snapshot, shared with the other strategies given them.
    journal: Vec<Arc<TickBatch>>,
    journal_ticks: u64,
    snapshot_at: Instant,
    recent_faults: VecDeque<Instant>,
    quarantined: bool,
    stats: SlotStats,
}

/// A fresh instance with `init` done. Its config is built here from the manifest,
/// so the artifacts' bytes are copied only while `init` takes them.
fn instantiate(
    engine: &StrategyEngine,
    component: &PluginComponent,
    manifest: &Manifest,
    instruments: &[u32],
) -> Result<Instance, LoadError> {
    let init = init_config(manifest, instruments);
    let mut instance = Instance::new(engine, component, &init.strategy_id, init.seed)?;
    match instance.init(&init) {
        Ok(Ok(())) => Ok(instance),
        Ok(Err(msg)) => Err(LoadError::Init(msg)),
        Err(fault) => Err(LoadError::InitFault(fault.to_string())),
    }
}

impl StrategySlot {
    /// Instantiates and initializes the strategy; its first snapshot is taken at once.
    pub fn start(
        engine: &StrategyEngine,
        component: PluginComponent,
        manifest: Manifest,
        config: SlotConfig,
    ) -> Result<Self, LoadError> {
        let mut instruments = manifest.instruments.clone();
        instruments.sort_unstable();
        instruments.dedup();
        let mut instance = instantiate(engine, &component, &manifest, &instruments)?;
        let snapshot = instance
            .snapshot()
            .map_err(|f| LoadError::Snapshot(format!("first snapshot faulted: {f}")))?;
        Ok(Self {
            engine: engine.clone(),
            component,
            manifest,
            instruments: instruments.into(),
            config,
            instance,
            snapshot,
            journal: Vec::new(),
            journal_ticks: 0,
            snapshot_at: Instant::now(),
            recent_faults: VecDeque::new(),
            quarantined: false,
            stats: SlotStats::default(),
        })
    }

    pub fn strategy_id(&self) -> &str {
        &self.manifest.strategy_id
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Hex sha256 of the running component.
    pub fn sha256(&self) -> &str {
        self.component.sha256()
    }

    /// The running component (compiled; cheap to clone).
    pub fn component(&self) -> &PluginComponent {
        &self.component
    }

    /// Instruments subscribed to, sorted.
    pub fn instruments(&self) -> &[u32] {
        &self.instruments
    }

    /// The same, shared (no copy).
    pub fn shared_instruments(&self) -> Arc<[u32]> {
        Arc::clone(&self.instruments)
    }

    pub fn subscribes(&self, instrument: u32) -> bool {
        self.instruments.binary_search(&instrument).is_ok()
    }

    pub fn is_quarantined(&self) -> bool {
        self.quarantined
    }

    /// Lifts a quarantine at an operator's request (one `release` event, also when
    /// the strategy was not quarantined: the request is on record).
    pub fn release(&mut self) {
        let reason = if self.quarantined {
            "released by an operator"
        } else {
            "released by an operator (it was not quarantined)"
        };
        self.lift(reason, true);
    }

    /// Lifts a quarantine; a `release` event is recorded when one was lifted, or
    /// `always`.
    fn lift(&mut self, reason: &str, always: bool) {
        let was = std::mem::replace(&mut self.quarantined, false);
        self.recent_faults.clear();
        if was || always {
            self.event(EventKind::Release, reason);
        }
    }

    /// Logs and counts an event of this strategy's running version.
    fn event(&self, kind: EventKind, reason: &str) {
        self.config.events.record(
            &Event::new(kind, &self.manifest.strategy_id, reason)
                .new_sha(Some(self.component.sha256())),
        );
    }

    pub fn stats(&self) -> &SlotStats {
        &self.stats
    }

    /// Feeds a batch; signals carry `tick_index` into this batch. The batch is
    /// shared: the journal keeps a reference, not a copy.
    pub fn run(&mut self, batch: &Arc<TickBatch>) -> SlotOutput {
        let mut out = SlotOutput::default();
        if self.quarantined || batch.count == 0 {
            return out;
        }
        let n = batch.count as usize;
        match self.instance.on_ticks(batch) {
            Ok(result) => {
                self.accept(result, n, None, &mut out);
                self.journal_ticks += n as u64;
                self.journal.push(Arc::clone(batch));
            }
            Err(fault) => {
                self.rebuild();
                if n == 1 {
                    self.record_fault(0, fault, &mut out);
                } else {
                    self.run_one_by_one(batch, &mut out);
                }
            }
        }
        self.stats.ticks += n as u64;
        self.stats.signals += out.signals.len() as u64;
        self.maybe_snapshot();
        self.maybe_recycle();
        out
    }

    /// Rebuilds an instance that holds more memory than `recycle_at_bytes` from a
    /// snapshot taken now: the same state in a fresh store.
    fn maybe_recycle(&mut self) {
        let at = self.config.recycle_at_bytes;
        if self.quarantined || at == 0 || self.instance.memory_bytes() <= at {
            return;
        }
        let held = self.instance.memory_bytes();
        self.take_snapshot();
        if !self.journal.is_empty() || self.instance.memory_bytes() <= at {
            return; // the snapshot faulted, and the fault rebuilt the instance
        }
        match self.restore_and_replay() {
            Ok(fresh) => {
                let reason = format!(
                    "held {} KiB, now {} KiB",
                    held / 1024,
                    fresh.memory_bytes() / 1024
                );
                self.instance = fresh;
                self.stats.recycles += 1;
                self.event(EventKind::Recycle, &reason);
            }
            Err(why) => {
                tracing::warn!(strategy_id = %self.manifest.strategy_id, "instance not recycled ({why}); it keeps running")
            }
        }
    }

    fn accept(&mut self, result: RawOutput, n: usize, remap: Option<u32>, out: &mut SlotOutput) {
        let mut checked = output::check(result, n, &self.instruments, &self.config.output);
        // Faults in tick order: the one that quarantines the strategy ends its
        // batch, and what it said about later ticks is dropped with them.
        checked.faults.sort_by_key(|(idx, _)| *idx);
        let mut cut = u32::MAX;
        for (idx, fault) in checked.faults {
            self.record_fault(remap.unwrap_or(idx), fault, out);
            if self.quarantined {
                cut = idx;
                break;
            }
        }
        for mut s in checked.signals {
            if s.tick_index > cut {
                continue;
            }
            if let Some(i) = remap {
                s.tick_index = i;
            }
            out.signals.push(s);
        }
    }

    /// Finds the faulting tick(s) of a batch that trapped, running each tick alone.
    fn run_one_by_one(&mut self, batch: &TickBatch, out: &mut SlotOutput) {
        for i in 0..batch.count as usize {
            if self.quarantined {
                return;
            }
            let one = sub_batch(batch, &[i]);
            match self.instance.on_ticks(&one) {
                Ok(result) => {
                    self.accept(result, 1, Some(i as u32), out);
                    self.journal_ticks += 1;
                    self.journal.push(Arc::new(one));
                }
                Err(fault) => {
                    self.record_fault(i as u32, fault, out);
                    self.rebuild();
                }
            }
        }
    }

    /// Counts a fault; its log line is written by whoever knows the tick (the
    /// pipeline, with the tick's ids), so here it is only a debug line.
    fn record_fault(&mut self, tick_index: u32, fault: Fault, out: &mut SlotOutput) {
        self.stats.faults += 1;
        self.config
            .events
            .count(EventKind::Fault, &self.manifest.strategy_id);
        tracing::debug!(
            strategy_id = %self.manifest.strategy_id,
            sha256 = %self.component.sha256(),
            tick_index,
            kind = fault.kind(),
            "plugin fault: {fault}"
        );
        let now = Instant::now();
        self.recent_faults.push_back(now);
        while self
            .recent_faults
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.config.fault_window)
        {
            self.recent_faults.pop_front();
        }
        if self.recent_faults.len() >= self.config.fault_limit as usize && !self.quarantined {
            self.quarantined = true;
            let reason = format!(
                "{} faults within {:?}",
                self.recent_faults.len(),
                self.config.fault_window
            );
            self.event(EventKind::Quarantine, &reason);
        }
        out.faults.push((tick_index, fault));
    }

    /// Rebuilds the instance after a trap: restore the last snapshot and replay the
    /// journal with outputs and logs suppressed. If that fails, start over from
    /// `init` and say so.
    fn rebuild(&mut self) {
        self.stats.recoveries += 1;
        match self.restore_and_replay() {
            Ok(instance) => {
                self.instance = instance;
                self.stats.replayed += self.journal_ticks;
                let reason = format!(
                    "state restored from the last snapshot and {} journal ticks",
                    self.journal_ticks
                );
                self.event(EventKind::Recovery, &reason);
            }
            Err(why) => self.rebuild_from_init(&format!("state could not be rebuilt ({why})")),
        }
    }

    fn restore_and_replay(&self) -> Result<Instance, String> {
        let mut fresh = instantiate(
            &self.engine,
            &self.component,
            &self.manifest,
            &self.instruments,
        )
        .map_err(|e| e.to_string())?;
        fresh.set_logging(false);
        match fresh.restore(&self.snapshot) {
            Ok(Ok(())) => {}
            Ok(Err(msg)) => return Err(format!("restore refused: {msg}")),
            Err(f) => return Err(format!("restore faulted: {f}")),
        }
        for batch in &self.journal {
            fresh
                .on_ticks(batch)
                .map_err(|f| format!("replay faulted: {f}"))?;
        }
        fresh.set_logging(true);
        Ok(fresh)
    }

    fn maybe_snapshot(&mut self) {
        if self.quarantined {
            return;
        }
        if self.journal_ticks < self.config.snapshot_every_ticks
            && self.snapshot_at.elapsed() < self.config.snapshot_every
        {
            return;
        }
        self.take_snapshot();
    }

    /// Snapshots the instance now and clears the journal.
    pub fn take_snapshot(&mut self) {
        match self.instance.snapshot() {
            Ok(bytes) => {
                self.snapshot = bytes;
                self.journal.clear();
                self.journal_ticks = 0;
                self.snapshot_at = Instant::now();
                self.stats.snapshots += 1;
            }
            Err(fault) => {
                // No tick to attribute it to, so no pipeline line: this is its line.
                let reason = format!("snapshot faulted: {fault}");
                super::events::log(
                    &Event::new(EventKind::Fault, &self.manifest.strategy_id, &reason)
                        .new_sha(Some(self.component.sha256())),
                );
                let mut sink = SlotOutput::default();
                self.record_fault(0, fault, &mut sink);
                self.rebuild();
            }
        }
    }

    /// The live instance's state (for a hot swap).
    pub fn snapshot_now(&mut self) -> Result<Vec<u8>, Fault> {
        self.instance.snapshot()
    }

    /// Builds, off the tick path, an instance of `component` ready to take over
    /// (instantiated and initialized; state comes at [`StrategySlot::swap`]).
    pub fn prepare(
        engine: &StrategyEngine,
        component: &PluginComponent,
        manifest: &Manifest,
    ) -> Result<Prepared, LoadError> {
        let mut instruments = manifest.instruments.clone();
        instruments.sort_unstable();
        instruments.dedup();
        let instance = instantiate(engine, component, manifest, &instruments)?;
        Ok(Prepared {
            component: component.clone(),
            manifest: manifest.clone(),
            instruments,
            instance,
        })
    }

    /// Swaps in a prepared version at a tick boundary: the old instance's state is
    /// restored into the new one. On any failure the old version keeps running and
    /// the error says why.
    pub fn swap(&mut self, mut next: Prepared) -> Result<(), LoadError> {
        let state = self.hand_over(&mut next)?;
        self.install(next, state);
        Ok(())
    }

    /// The first half of a swap: restores this slot's state into `next` (and
    /// replays the journal into it if the old instance is dead). Changes nothing
    /// here, so several slots can hand over before any of them installs.
    pub fn hand_over(&mut self, next: &mut Prepared) -> Result<Vec<u8>, LoadError> {
        // A dead or quarantined old instance hands over its last snapshot, and the
        // ticks since are replayed into the new version.
        let (state, replay) = match self.instance.snapshot() {
            Ok(state) => (state, false),
            Err(_) => (self.snapshot.clone(), true),
        };
        match next.instance.restore(&state) {
            Ok(Ok(())) => {}
            Ok(Err(msg)) => {
                return Err(LoadError::Restore(format!(
                    "new version refused the old state: {msg}"
                )))
            }
            Err(f) => {
                return Err(LoadError::Restore(format!(
                    "new version faulted in restore: {f}"
                )))
            }
        }
        if !replay {
            return Ok(state);
        }
        next.instance.set_logging(false);
        for batch in &self.journal {
            next.instance
                .on_ticks(batch)
                .map_err(|f| LoadError::Replay(format!("new version faulted replaying: {f}")))?;
        }
        next.instance.set_logging(true);
        next.instance
            .snapshot()
            .map_err(|f| LoadError::Snapshot(format!("new version could not snapshot: {f}")))
    }

    /// The second half of a swap: `next`, holding the state `hand_over` gave it,
    /// takes over.
    pub fn install(&mut self, next: Prepared, state: Vec<u8>) {
        self.component = next.component;
        self.manifest = next.manifest;
        self.instruments = next.instruments.into();
        self.instance = next.instance;
        self.snapshot = state;
        self.journal.clear();
        self.journal_ticks = 0;
        self.snapshot_at = Instant::now();
        self.lift("a new version was swapped in", false);
    }

    /// Restores a state written by an earlier owner of this strategy's ticks (a
    /// host that had the partition before). On refusal the slot keeps its state.
    pub fn restore_state(&mut self, state: &[u8]) -> Result<(), LoadError> {
        match self.instance.restore(state) {
            Ok(Ok(())) => {}
            Ok(Err(msg)) => return Err(LoadError::Restore(format!("state refused: {msg}"))),
            Err(f) => {
                // The instance may be half-restored: start it again from init.
                self.rebuild_from_init(&format!(
                    "restoring a gained partition's state faulted ({f})"
                ));
                return Err(LoadError::Restore(format!("restore faulted: {f}")));
            }
        }
        self.snapshot = state.to_vec();
        self.journal.clear();
        self.journal_ticks = 0;
        self.snapshot_at = Instant::now();
        Ok(())
    }

    /// Starts the strategy over from `init` (its state is lost, and `why` says why).
    fn rebuild_from_init(&mut self, why: &str) {
        match instantiate(
            &self.engine,
            &self.component,
            &self.manifest,
            &self.instruments,
        ) {
            Ok(mut fresh) => {
                self.snapshot = fresh.snapshot().unwrap_or_default();
                self.instance = fresh;
                self.journal.clear();
                self.journal_ticks = 0;
                self.event(EventKind::Recovery, &format!("{why}; restarted from init"));
            }
            Err(e) => {
                self.quarantined = true;
                let reason = format!("{why} and a fresh instance cannot start: {e}");
                self.event(EventKind::Quarantine, &reason);
            }
        }
    }

    /// Feeds ticks that were answered before (by this host or an earlier owner)
    /// so the state catches up: outputs are dropped and the plugin's logs muted.
    pub fn catch_up(&mut self, batch: &Arc<TickBatch>) {
        self.instance.set_logging(false);
        let _ = self.run(batch);
        self.instance.set_logging(true);
    }
}

/// A new version, instantiated and initialized, waiting for its swap.
pub struct Prepared {
    component: PluginComponent,
    manifest: Manifest,
    instruments: Vec<u32>,
    instance: Instance,
}

impl Prepared {
    pub fn sha256(&self) -> &str {
        self.component.sha256()
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn component(&self) -> &PluginComponent {
        &self.component
    }
}

#[cfg(test)]
mod tests {
    use super::seed_for;

    #[test]
    fn seeds_are_stable_and_distinct() {
        assert_eq!(seed_for("momentum_1"), seed_for("momentum_1"));
        assert_ne!(seed_for("momentum_1"), seed_for("momentum_2"));
    }
}
