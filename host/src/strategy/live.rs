//! The strategies of a running host: applies the watcher's updates at tick
//! boundaries (load, reload with state carried over, unload, refusal), keeps the
//! plugin-name → strategy-id map, and logs one structured line per lifecycle event.
//!
//! Where instances run depends on the manifest's scope. An instrument-scoped
//! strategy has an instance per assigned partition of `market.ticks` (one
//! [`StrategySet`] per partition), so a partition's state can be handed to the
//! host that gains it. A strategy-scoped strategy has one instance, in the set of
//! its ownership unit (a partition of the state topic, see
//! [`crate::topics::TopicRegistry::unit_of`]) on the host that owns the unit.
//! In-process drivers (replay, tests) feed the [`LOCAL`] set, which runs every
//! strategy whatever its scope.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::events::{Event, EventKind};
use super::set::{Processed, StrategySet};
use super::slot::{Prepared, SlotConfig, StrategySlot};
use super::update::{Lifecycle, PluginUpdate};
use super::workers::Workers;
use crate::contract::{BrokerNamespace, MarketTick};
use crate::manifest::{Manifest, Scope};
use crate::topics::TopicRegistry;
use crate::wasm::{LoadError, PluginComponent, StrategyEngine};

/// The set of ticks that come from no partition (replay, in-process drivers).
pub const LOCAL: i32 = -1;

/// What kind of set a strategy may run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Local,
    Partition,
    Unit(i32),
}

/// A set of [`LiveStrategies`]: a partition's (or [`LOCAL`]) or a unit's.
#[derive(Debug, Clone, Copy)]
enum SetKey {
    Sets(i32),
    Unit(i32),
}

/// Strategies that follow the plugins folder, one set per partition.
pub struct LiveStrategies {
    engine: StrategyEngine,
    config: SlotConfig,
    sets: BTreeMap<i32, StrategySet>,
    /// Sets of revoked partitions, until the rebalance's new assignment is known.
    parked: BTreeMap<i32, StrategySet>,
    /// The strategy-scoped strategies of each ownership unit this host runs.
    units: BTreeMap<i32, StrategySet>,
    /// How many ownership units there are (partitions of the state topic).
    unit_count: i32,
    /// The running version of each strategy: what a newly assigned partition starts.
    versions: BTreeMap<String, (PluginComponent, Manifest)>,
    broker: BrokerNamespace,
    names: HashMap<String, String>,
    /// Plugins whose latest files were refused (a running older version included).
    refused: HashSet<String>,
}

impl LiveStrategies {
    /// `set` (usually empty) becomes the [`LOCAL`] set; its engine and slot
    /// configuration are used for every partition's set.
    pub fn new(set: StrategySet, broker: BrokerNamespace) -> Self {
        let mut versions = BTreeMap::new();
        for slot in set.slots() {
            versions.insert(
                slot.strategy_id().to_owned(),
                (slot.component().clone(), slot.manifest().clone()),
            );
        }
        Self {
            engine: set.engine().clone(),
            config: set.slot_config().clone(),
            sets: BTreeMap::from([(LOCAL, set)]),
            parked: BTreeMap::new(),
            units: BTreeMap::new(),
            unit_count: 1,
            versions,
            broker,
            names: HashMap::new(),
            refused: HashSet::new(),
        }
    }

    /// Sets the number of ownership units (the state topic's partitions).
    pub fn with_units(mut self, unit_count: i32) -> Self {
        self.unit_count = unit_count.max(1);
        self
    }

    pub fn unit_count(&self) -> i32 {
        self.unit_count
    }

    /// Whether a strategy with `manifest` runs in the set at `place`.
    fn belongs(&self, place: Place, manifest: &Manifest) -> bool {
        match (place, manifest.scope) {
            (Place::Local, _) => true,
            (Place::Partition, scope) => scope == Scope::Instrument,
            (Place::Unit(k), Scope::Strategy) => {
                TopicRegistry::unit_of(&manifest.strategy_id, self.unit_count) == k
            }
            (Place::Unit(_), Scope::Instrument) => false,
        }
    }

    /// The [`LOCAL`] set, if it is there.
    pub fn local(&self) -> Option<&StrategySet> {
        self.sets.get(&LOCAL)
    }

    /// The [`LOCAL`] set, started with the running versions if it is not there.
    pub fn local_mut(&mut self) -> &mut StrategySet {
        self.assign(LOCAL)
    }

    /// Drops the [`LOCAL`] set: a host on the stream runs partitions only.
    pub fn drop_local(&mut self) {
        self.sets.remove(&LOCAL);
    }

    pub fn broker(&self) -> BrokerNamespace {
        self.broker
    }

    /// Plugin names (`NAME` of `NAME.wasm`) whose current files are running: one
    /// whose latest files were refused is not, even if an older version still runs.
    pub fn loaded_plugins(&self) -> impl Iterator<Item = &str> {
        self.names
            .keys()
            .filter(|n| !self.refused.contains(*n))
            .map(String::as_str)
    }

    /// Strategies loaded (whatever the partitions).
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    pub fn strategy_ids(&self) -> impl Iterator<Item = &str> {
        self.versions.keys().map(String::as_str)
    }

    /// Content hash of a strategy's running version.
    pub fn sha256_of(&self, strategy_id: &str) -> Option<&str> {
        self.versions.get(strategy_id).map(|(c, _)| c.sha256())
    }

    /// Every running instance, of every partition.
    pub fn slots(&self) -> impl Iterator<Item = &StrategySlot> {
        self.all_sets().flat_map(|s| s.slots())
    }

    fn all_sets(&self) -> impl Iterator<Item = &StrategySet> {
        self.sets.values().chain(self.units.values())
    }

    fn all_sets_mut(&mut self) -> impl Iterator<Item = &mut StrategySet> {
        self.sets.values_mut().chain(self.units.values_mut())
    }

    /// Whether a strategy is quarantined on some partition.
    pub fn is_quarantined(&self, strategy_id: &str) -> bool {
        self.all_sets().any(|s| s.is_quarantined(strategy_id))
    }

    /// Lifts a strategy's quarantine on every partition; false if it is not loaded.
    pub fn release(&mut self, strategy_id: &str) -> bool {
        for set in self.all_sets_mut() {
            if let Some(slot) = set.get_mut(strategy_id) {
                slot.release();
            }
        }
        self.versions.contains_key(strategy_id)
    }

    /// The partitions with a set.
    pub fn partitions(&self) -> impl Iterator<Item = i32> + '_ {
        self.sets.keys().copied().filter(|p| *p != LOCAL)
    }

    /// The worker threads strategy calls may use.
    pub fn workers(&self) -> &Workers {
        &self.config.workers
    }

    pub fn partition_mut(&mut self, partition: i32) -> Option<&mut StrategySet> {
        self.sets.get_mut(&partition)
    }

    /// The sets of the partitions `work` names, each with its work, in partition
    /// order (partitions without a set are left out), and the workers to run them on.
    pub fn partitions_mut<W>(
        &mut self,
        mut work: BTreeMap<i32, W>,
    ) -> (Workers, Vec<(&mut StrategySet, W)>) {
        let workers = self.config.workers.clone();
        let jobs = self
            .sets
            .iter_mut()
            .filter_map(|(p, set)| work.remove(p).map(|w| (set, w)))
            .collect();
        (workers, jobs)
    }

    /// The set of `partition`; a new one runs every loaded strategy from `init`.
    pub fn assign(&mut self, partition: i32) -> &mut StrategySet {
        let place = if partition == LOCAL {
            Place::Local
        } else {
            Place::Partition
        };
        if !self.sets.contains_key(&partition) {
            let set = self.fresh_set(place);
            self.sets.insert(partition, set);
        }
        let (engine, config) = (&self.engine, &self.config);
        self.sets
            .entry(partition)
            .or_insert_with(|| StrategySet::new(engine.clone(), config.clone()))
    }

    /// A set of every running version that belongs at `place`, from `init`.
    fn fresh_set(&self, place: Place) -> StrategySet {
        let mut set = StrategySet::new(self.engine.clone(), self.config.clone());
        for (id, (component, manifest)) in &self.versions {
            if !self.belongs(place, manifest) {
                continue;
            }
            if let Err(e) = set.insert(component.clone(), manifest.clone()) {
                tracing::error!(strategy_id = %id, sha256 = %component.sha256(), ?place, reason = %e, "strategy could not start; it does not run there");
            }
        }
        set
    }

    /// The units that have strategy-scoped strategies, with each one's strategies
    /// (id and instruments), whether this host runs them or not.
    pub fn unit_plan(&self) -> BTreeMap<i32, Vec<(String, Vec<u32>)>> {
        let mut plan: BTreeMap<i32, Vec<(String, Vec<u32>)>> = BTreeMap::new();
        for (id, (_, manifest)) in &self.versions {
            if manifest.scope == Scope::Strategy {
                let k = TopicRegistry::unit_of(id, self.unit_count);
                plan.entry(k)
                    .or_default()
                    .push((id.clone(), manifest.instruments.clone()));
            }
        }
        plan
    }

    /// The set of unit `k`, started from `init` with the unit's strategies if it
    /// is not there.
    pub fn assign_unit(&mut self, k: i32) -> &mut StrategySet {
        if !self.units.contains_key(&k) {
            let set = self.fresh_set(Place::Unit(k));
            self.units.insert(k, set);
        }
        let (engine, config) = (&self.engine, &self.config);
        self.units
            .entry(k)
            .or_insert_with(|| StrategySet::new(engine.clone(), config.clone()))
    }

    pub fn unit_mut(&mut self, k: i32) -> Option<&mut StrategySet> {
        self.units.get_mut(&k)
    }

    /// Removes a unit's set (the unit was lost, or has no strategy left).
    pub fn revoke_unit(&mut self, k: i32) -> Option<StrategySet> {
        self.units.remove(&k)
    }

    /// The units with a set on this host.
    pub fn units(&self) -> impl Iterator<Item = i32> + '_ {
        self.units.keys().copied()
    }

    /// Removes a partition's set (the partition was lost).
    pub fn revoke(&mut self, partition: i32) -> Option<StrategySet> {
        self.sets.remove(&partition)
    }

    /// Sets a revoked partition's strategies aside, as they are.
    pub fn park(&mut self, partition: i32) {
        if let Some(set) = self.sets.remove(&partition) {
            self.parked.insert(partition, set);
        }
    }

    /// Puts a parked partition's strategies back; false if none are parked.
    pub fn unpark(&mut self, partition: i32) -> bool {
        match self.parked.remove(&partition) {
            Some(set) => {
                self.reinstate(partition, set);
                true
            }
            None => false,
        }
    }

    /// Drops a parked partition's strategies.
    pub fn drop_parked(&mut self, partition: i32) {
        self.parked.remove(&partition);
    }

    /// Replaces a partition's strategies with new ones, started from `init`.
    pub fn restart(&mut self, partition: i32) -> &mut StrategySet {
        self.sets.remove(&partition);
        self.assign(partition)
    }

    /// Puts back a set taken with [`LiveStrategies::revoke`] (the partition came
    /// back and nothing moved meanwhile). Strategies loaded or unloaded since are
    /// started or dropped; a newer version found in it is replaced from `init`.
    pub fn reinstate(&mut self, partition: i32, mut set: StrategySet) {
        let stale: Vec<String> = set
            .slots()
            .filter(|s| {
                self.versions
                    .get(s.strategy_id())
                    .is_none_or(|(c, _)| c.sha256() != s.sha256())
            })
            .map(|s| s.strategy_id().to_owned())
            .collect();
        for id in stale {
            set.remove(&id);
        }
        for (id, (component, manifest)) in &self.versions {
            if set.get(id).is_none() && self.belongs(Place::Partition, manifest) {
                if let Err(e) = set.insert(component.clone(), manifest.clone()) {
                    tracing::error!(strategy_id = %id, partition, reason = %e, "strategy could not start on a partition");
                }
            }
        }
        self.sets.insert(partition, set);
    }

    /// Runs the strategies over ticks that come from no partition ([`LOCAL`]).
    pub fn process(&mut self, ticks: &[&MarketTick]) -> Processed {
        self.local_mut().process(ticks)
    }

    /// Runs a partition's strategies; `None` if the partition has no set.
    pub fn process_in(&mut self, partition: i32, ticks: &[&MarketTick]) -> Option<Processed> {
        self.sets.get_mut(&partition).map(|s| s.process(ticks))
    }

    fn unload(&mut self, plugin: &str, reason: &str) -> Option<Lifecycle> {
        let id = self.names.remove(plugin)?;
        let old = self.sha256_of(&id).map(str::to_owned);
        self.remove_everywhere(&id);
        self.event(Event::new(EventKind::Unload, &id, reason).old(old.as_deref()));
        Some(Lifecycle::Unloaded { strategy_id: id })
    }

    fn event(&self, e: Event<'_>) {
        self.config.events.record(&e);
    }

    fn remove_everywhere(&mut self, strategy_id: &str) {
        self.versions.remove(strategy_id);
        for set in self.all_sets_mut() {
            set.remove(strategy_id);
        }
    }

    /// Swaps a new version into every partition that runs the strategy and starts
    /// it in those that do not, or changes nothing: every partition's instance
    /// hands its state over (or starts) before any installs.
    fn swap_everywhere(&mut self, prepared: Prepared) -> Result<(), LoadError> {
        let id = prepared.manifest().strategy_id.clone();
        let component = prepared.component().clone();
        let manifest = prepared.manifest().clone();
        let mut first = Some(prepared);
        let mut staged = Vec::new();
        let mut fresh = Vec::new();
        let mut moved = Vec::new();
        let keys: Vec<(SetKey, Place)> = self
            .sets
            .keys()
            .map(|&p| {
                let place = if p == LOCAL {
                    Place::Local
                } else {
                    Place::Partition
                };
                (SetKey::Sets(p), place)
            })
            .chain(
                self.units
                    .keys()
                    .map(|&k| (SetKey::Unit(k), Place::Unit(k))),
            )
            .collect();
        let engine = self.engine.clone();
        for (key, place) in keys {
            let belongs = self.belongs(place, &manifest);
            let Some(set) = self.set_mut(key) else {
                continue;
            };
            match (set.get_mut(&id), belongs) {
                (Some(slot), true) => {
                    let mut next = match first.take() {
                        Some(n) => n,
                        None => StrategySlot::prepare(&engine, &component, &manifest)?,
                    };
                    let state = slot.hand_over(&mut next)?;
                    staged.push((key, next, state));
                }
                (None, true) => fresh.push((key, set.start(component.clone(), manifest.clone())?)),
                // A reload that changed the scope: it starts afresh where it now runs.
                (Some(_), false) => moved.push(key),
                (None, false) => {}
            }
        }
        // With no place here yet, the version is still started once: it must run.
        if staged.is_empty() && fresh.is_empty() {
            StrategySlot::start(
                &self.engine,
                component.clone(),
                manifest.clone(),
                self.config.clone(),
            )?;
        }
        for (key, next, state) in staged {
            if let Some(slot) = self.set_mut(key).and_then(|s| s.get_mut(&id)) {
                slot.install(next, state);
            }
        }
        for (key, slot) in fresh {
            if let Some(set) = self.set_mut(key) {
                set.insert_slot(slot);
            }
        }
        for key in moved {
            if let Some(set) = self.set_mut(key) {
                set.remove(&id);
            }
        }
        self.versions.insert(id, (component, manifest));
        Ok(())
    }

    fn set_mut(&mut self, key: SetKey) -> Option<&mut StrategySet> {
        match key {
            SetKey::Sets(p) => self.sets.get_mut(&p),
            SetKey::Unit(k) => self.units.get_mut(&k),
        }
    }

    /// Applies one update at this tick boundary.
    pub fn apply(&mut self, update: PluginUpdate) -> Option<Lifecycle> {
        match update {
            PluginUpdate::Remove { name } => {
                self.refused.remove(&name);
                self.unload(&name, &format!("{name}.wasm was deleted"))
            }
            PluginUpdate::Refused {
                name,
                reason,
                strategy_id,
                sha256,
            } => {
                let running = self.names.get(&name);
                let old = running.and_then(|id| self.sha256_of(id)).map(str::to_owned);
                // The manifest's id, else the running one, else the file's name.
                let id = strategy_id
                    .or_else(|| running.cloned())
                    .unwrap_or(name.clone());
                Some(self.refuse(name, &id, reason, "", (old.as_deref(), sha256.as_deref())))
            }
            PluginUpdate::Load {
                name,
                sha256,
                prepared,
            } => Some(self.load(name, sha256, *prepared)),
        }
    }

    /// Counts and logs a refusal of plugin `name` (strategy `id`); the log line
    /// adds `keeps`, what goes on running.
    fn refuse(
        &mut self,
        name: String,
        id: &str,
        reason: String,
        keeps: &str,
        (running, new): (Option<&str>, Option<&str>),
    ) -> Lifecycle {
        self.refused.insert(name.clone());
        let why = format!("plugin {name}: {reason}{keeps}");
        self.event(
            Event::new(EventKind::Refusal, id, &why)
                .old(running)
                .new_sha(new),
        );
        Lifecycle::Refused {
            plugin: name,
            reason,
        }
    }

    /// A new or changed plugin: skipped when not for this namespace, refused when
    /// another file has its strategy id or it cannot take over, else swapped in
    /// everywhere (a reload carries the state over).
    fn load(&mut self, name: String, sha256: String, prepared: Prepared) -> Lifecycle {
        let id = prepared.manifest().strategy_id.clone();
        if !prepared.manifest().runs_in(self.broker) {
            self.refused.remove(&name);
            let why = format!("not enabled for namespace {}", self.broker.as_str());
            let _ = self.unload(&name, &why);
            tracing::info!(plugin = %name, strategy_id = %id, broker = self.broker.as_str(), "plugin not enabled for this namespace");
            return Lifecycle::Skipped { plugin: name };
        }
        // Another file's strategy id: refused, not swapped into that file's slot.
        let owner = self.names.iter().find(|(p, i)| **i == id && **p != name);
        if let Some((owner, _)) = owner {
            let reason = format!("strategy id {id} is already loaded from plugin {owner}");
            let running = self.sha256_of(&id).map(str::to_owned);
            let keeps = "; the running versions keep running";
            return self.refuse(
                name,
                &id,
                reason,
                keeps,
                (running.as_deref(), Some(&sha256)),
            );
        }
        let old = self.sha256_of(&id).map(str::to_owned);
        let language = prepared.component().language();
        if let Err(e) = self.swap_everywhere(prepared) {
            // The version that keeps running (under its old id, if renamed).
            let running = old.or_else(|| {
                let old_id = self.names.get(&name)?;
                self.sha256_of(old_id).map(str::to_owned)
            });
            let keeps = "; the old version keeps running";
            let shas = (running.as_deref(), Some(sha256.as_str()));
            return self.refuse(name, &id, e.to_string(), keeps, shas);
        }
        self.refused.remove(&name);
        // A manifest that renamed its strategy unloads the old id, once the new one runs.
        if let Some(old_id) = self.names.insert(name.clone(), id.clone()) {
            if old_id != id {
                let old_sha = self.sha256_of(&old_id).map(str::to_owned);
                self.remove_everywhere(&old_id);
                let why = format!("plugin {name} renamed its strategy to {id}");
                self.event(Event::new(EventKind::Unload, &old_id, &why).old(old_sha.as_deref()));
            }
        }
        match old {
            Some(old) => {
                let why = format!("plugin {name} ({language}) changed; state carried over");
                self.event(
                    Event::new(EventKind::Reload, &id, &why)
                        .old(Some(&old))
                        .new_sha(Some(&sha256)),
                );
                Lifecycle::Reloaded {
                    strategy_id: id,
                    old,
                    new: sha256,
                }
            }
            None => {
                let why = format!("plugin {name} ({language}) added");
                self.event(Event::new(EventKind::Load, &id, &why).new_sha(Some(&sha256)));
                Lifecycle::Loaded {
                    strategy_id: id,
                    sha256,
                }
            }
        }
    }
}
