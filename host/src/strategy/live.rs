//! The strategies of a running host: applies the watcher's updates at tick
//! boundaries (load, reload with state carried over, unload, refusal), keeps the
//! plugin-name → strategy-id map, and logs one structured line per lifecycle event.
//!
//! State belongs to a partition of `market.ticks`: the host runs one
//! [`StrategySet`] per assigned partition (each strategy has an instance per
//! partition), so a partition's state can be handed to the host that gains it.
//! In-process drivers (replay, tests) feed the [`LOCAL`] set.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::events::{Event, EventKind};
use super::set::{Processed, StrategySet};
use super::slot::{SlotConfig, StrategySlot};
use crate::contract::{BrokerNamespace, MarketTick};
use crate::manifest::Manifest;
use crate::registry::watcher::PluginUpdate;
use crate::wasm::{LoadError, PluginComponent, StrategyEngine};

/// The set of ticks that come from no partition (replay, in-process drivers).
pub const LOCAL: i32 = -1;

/// Counters of lifecycle events.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleCounts {
    pub loads: u64,
    pub reloads: u64,
    pub refusals: u64,
    pub unloads: u64,
}

/// What applying an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    Loaded {
        strategy_id: String,
        sha256: String,
    },
    Reloaded {
        strategy_id: String,
        old: String,
        new: String,
    },
    Unloaded {
        strategy_id: String,
    },
    Refused {
        plugin: String,
        reason: String,
    },
    /// The plugin is not enabled for this namespace.
    Skipped {
        plugin: String,
    },
}

/// One readable line per event, for the live view: `loaded momentum_1 (3f2a…)`.
impl std::fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lifecycle::Loaded {
                strategy_id,
                sha256,
            } => write!(f, "loaded {strategy_id} ({})", short(sha256)),
            Lifecycle::Reloaded {
                strategy_id,
                old,
                new,
            } => write!(f, "reloaded {strategy_id} {} -> {}", short(old), short(new)),
            Lifecycle::Unloaded { strategy_id } => write!(f, "unloaded {strategy_id}"),
            Lifecycle::Refused { plugin, reason } => write!(f, "refused {plugin}: {reason}"),
            Lifecycle::Skipped { plugin } => {
                write!(f, "skipped {plugin} (not enabled for this namespace)")
            }
        }
    }
}

/// The first 12 hex digits of a hash.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Strategies that follow the plugins folder, one set per partition.
pub struct LiveStrategies {
    engine: StrategyEngine,
    config: SlotConfig,
    sets: BTreeMap<i32, StrategySet>,
    /// The running version of each strategy: what a newly assigned partition starts.
    versions: BTreeMap<String, (PluginComponent, Manifest)>,
    broker: BrokerNamespace,
    names: HashMap<String, String>,
    /// Plugins whose latest files were refused (a running older version included).
    refused: HashSet<String>,
    counts: LifecycleCounts,
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
            versions,
            broker,
            names: HashMap::new(),
            refused: HashSet::new(),
            counts: LifecycleCounts::default(),
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

    pub fn counts(&self) -> LifecycleCounts {
        self.counts
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
        self.sets.values().flat_map(|s| s.slots())
    }

    /// Whether a strategy is quarantined on some partition.
    pub fn is_quarantined(&self, strategy_id: &str) -> bool {
        self.sets
            .values()
            .filter_map(|s| s.get(strategy_id))
            .any(StrategySlot::is_quarantined)
    }

    /// Lifts a strategy's quarantine on every partition; false if it is not loaded.
    pub fn release(&mut self, strategy_id: &str) -> bool {
        for set in self.sets.values_mut() {
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

    pub fn partition_mut(&mut self, partition: i32) -> Option<&mut StrategySet> {
        self.sets.get_mut(&partition)
    }

    /// The set of `partition`; a new one runs every loaded strategy from `init`.
    pub fn assign(&mut self, partition: i32) -> &mut StrategySet {
        let (engine, config, versions) = (&self.engine, &self.config, &self.versions);
        self.sets.entry(partition).or_insert_with(|| {
            let mut set = StrategySet::new(engine.clone(), config.clone());
            for (id, (component, manifest)) in versions {
                if let Err(e) = set.insert(component.clone(), manifest.clone()) {
                    tracing::error!(strategy_id = %id, sha256 = %component.sha256(), partition, reason = %e, "strategy could not start on a gained partition; it does not run there");
                }
            }
            set
        })
    }

    /// Removes a partition's set (the partition was lost).
    pub fn revoke(&mut self, partition: i32) -> Option<StrategySet> {
        self.sets.remove(&partition)
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
            if set.get(id).is_none() {
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
        self.counts.unloads += 1;
        self.event(Event::new(EventKind::Unload, &id, reason).old(old.as_deref()));
        Some(Lifecycle::Unloaded { strategy_id: id })
    }

    fn event(&self, e: Event<'_>) {
        self.config.events.record(&e);
    }

    fn remove_everywhere(&mut self, strategy_id: &str) {
        self.versions.remove(strategy_id);
        for set in self.sets.values_mut() {
            set.remove(strategy_id);
        }
    }

    /// Swaps a new version into every partition that runs the strategy and starts
    /// it in those that do not, or changes nothing: every partition's instance
    /// hands its state over (or starts) before any installs.
    fn swap_everywhere(
        &mut self,
        prepared: crate::strategy::slot::Prepared,
    ) -> Result<(), LoadError> {
        let id = prepared.manifest().strategy_id.clone();
        let component = prepared.component().clone();
        let manifest = prepared.manifest().clone();
        let mut first = Some(prepared);
        let mut staged = Vec::new();
        let mut fresh = Vec::new();
        for (&p, set) in self.sets.iter_mut() {
            match set.get_mut(&id) {
                Some(slot) => {
                    let mut next = match first.take() {
                        Some(n) => n,
                        None => StrategySlot::prepare(&self.engine, &component, &manifest)?,
                    };
                    let state = slot.hand_over(&mut next)?;
                    staged.push((p, next, state));
                }
                None => fresh.push((p, set.start(component.clone(), manifest.clone())?)),
            }
        }
        // With no partition yet, the version is still started once: it must run.
        if staged.is_empty() && fresh.is_empty() {
            StrategySlot::start(
                &self.engine,
                component.clone(),
                manifest.clone(),
                self.config.clone(),
            )?;
        }
        for (p, next, state) in staged {
            if let Some(slot) = self.sets.get_mut(&p).and_then(|s| s.get_mut(&id)) {
                slot.install(next, state);
            }
        }
        for (p, slot) in fresh {
            if let Some(set) = self.sets.get_mut(&p) {
                set.insert_slot(slot);
            }
        }
        self.versions.insert(id, (component, manifest));
        Ok(())
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
                self.counts.refusals += 1;
                self.refused.insert(name.clone());
                let running = self.names.get(&name);
                let old = running.and_then(|id| self.sha256_of(id)).map(str::to_owned);
                // The manifest's id, else the running one, else the file's name.
                let id = strategy_id.as_ref().or(running).unwrap_or(&name);
                let why = format!("plugin {name}: {reason}");
                self.event(
                    Event::new(EventKind::Refusal, id, &why)
                        .old(old.as_deref())
                        .new_sha(sha256.as_deref()),
                );
                Some(Lifecycle::Refused {
                    plugin: name,
                    reason,
                })
            }
            PluginUpdate::Load {
                name,
                sha256,
                prepared,
            } => {
                let id = prepared.manifest().strategy_id.clone();
                if !prepared.manifest().runs_in(self.broker) {
                    self.refused.remove(&name);
                    let why = format!("not enabled for namespace {}", self.broker.as_str());
                    let _ = self.unload(&name, &why);
                    tracing::info!(plugin = %name, strategy_id = %id, broker = self.broker.as_str(), "plugin not enabled for this namespace");
                    return Some(Lifecycle::Skipped { plugin: name });
                }
                // Another file's strategy id: refused, not swapped into that file's slot.
                let owner = self.names.iter().find(|(p, i)| **i == id && **p != name);
                if let Some((owner, _)) = owner {
                    self.counts.refusals += 1;
                    self.refused.insert(name.clone());
                    let reason = format!("strategy id {id} is already loaded from plugin {owner}");
                    let why = format!("plugin {name}: {reason}; the running versions keep running");
                    let running = self.sha256_of(&id).map(str::to_owned);
                    self.event(
                        Event::new(EventKind::Refusal, &id, &why)
                            .old(running.as_deref())
                            .new_sha(Some(&sha256)),
                    );
                    return Some(Lifecycle::Refused {
                        plugin: name,
                        reason,
                    });
                }
                let old = self.sha256_of(&id).map(str::to_owned);
                match self.swap_everywhere(*prepared) {
                    Ok(()) => {
                        self.refused.remove(&name);
                        // A manifest that renamed its strategy unloads the old id, once
                        // the new one runs.
                        if let Some(old_id) = self.names.insert(name.clone(), id.clone()) {
                            if old_id != id {
                                let old_sha = self.sha256_of(&old_id).map(str::to_owned);
                                self.remove_everywhere(&old_id);
                                self.counts.unloads += 1;
                                let why = format!("plugin {name} renamed its strategy to {id}");
                                self.event(
                                    Event::new(EventKind::Unload, &old_id, &why)
                                        .old(old_sha.as_deref()),
                                );
                            }
                        }
                        match old {
                            Some(old) => {
                                self.counts.reloads += 1;
                                let why = format!("plugin {name} changed; state carried over");
                                self.event(
                                    Event::new(EventKind::Reload, &id, &why)
                                        .old(Some(&old))
                                        .new_sha(Some(&sha256)),
                                );
                                Some(Lifecycle::Reloaded {
                                    strategy_id: id,
                                    old,
                                    new: sha256,
                                })
                            }
                            None => {
                                self.counts.loads += 1;
                                let why = format!("plugin {name} added");
                                self.event(
                                    Event::new(EventKind::Load, &id, &why).new_sha(Some(&sha256)),
                                );
                                Some(Lifecycle::Loaded {
                                    strategy_id: id,
                                    sha256,
                                })
                            }
                        }
                    }
                    Err(e) => {
                        self.counts.refusals += 1;
                        self.refused.insert(name.clone());
                        let reason = e.to_string();
                        let why = format!("plugin {name}: {reason}; the old version keeps running");
                        // The version that keeps running (under its old id, if renamed).
                        let running = old.or_else(|| {
                            let old_id = self.names.get(&name)?;
                            self.sha256_of(old_id).map(str::to_owned)
                        });
                        self.event(
                            Event::new(EventKind::Refusal, &id, &why)
                                .old(running.as_deref())
                                .new_sha(Some(&sha256)),
                        );
                        Some(Lifecycle::Refused {
                            plugin: name,
                            reason,
                        })
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_one_short_line() {
        let sha = "0123456789abcdef0123";
        let line = |e: Lifecycle| e.to_string();
        assert_eq!(
            line(Lifecycle::Loaded {
                strategy_id: "momentum_1".into(),
                sha256: sha.into()
            }),
            "loaded momentum_1 (0123456789ab)"
        );
        assert_eq!(
            line(Lifecycle::Reloaded {
                strategy_id: "m".into(),
                old: sha.into(),
                new: "fe".into()
            }),
            "reloaded m 0123456789ab -> fe"
        );
        assert_eq!(
            line(Lifecycle::Refused {
                plugin: "p".into(),
                reason: "bad".into()
            }),
            "refused p: bad"
        );
        assert_eq!(
            line(Lifecycle::Skipped { plugin: "p".into() }),
            "skipped p (not enabled for this namespace)"
        );
        assert_eq!(
            line(Lifecycle::Unloaded {
                strategy_id: "m".into()
            }),
            "unloaded m"
        );
    }
}
