//! The strategies of a running host: applies the watcher's updates at tick
//! boundaries (load, reload with state carried over, unload, refusal), keeps the
//! plugin-name → strategy-id map, and logs one structured line per lifecycle event.

use std::collections::HashMap;

use super::events::{Event, EventKind};
use super::set::{Processed, StrategySet};
use crate::contract::{BrokerNamespace, MarketTick};
use crate::registry::watcher::PluginUpdate;

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

/// Strategies that follow the plugins folder.
pub struct LiveStrategies {
    set: StrategySet,
    broker: BrokerNamespace,
    names: HashMap<String, String>,
    counts: LifecycleCounts,
}

impl LiveStrategies {
    pub fn new(set: StrategySet, broker: BrokerNamespace) -> Self {
        Self {
            set,
            broker,
            names: HashMap::new(),
            counts: LifecycleCounts::default(),
        }
    }

    pub fn set(&self) -> &StrategySet {
        &self.set
    }

    pub fn set_mut(&mut self) -> &mut StrategySet {
        &mut self.set
    }

    pub fn counts(&self) -> LifecycleCounts {
        self.counts
    }

    /// Runs the strategies over a batch of ticks.
    pub fn process(&mut self, ticks: &[&MarketTick]) -> Processed {
        self.set.process(ticks)
    }

    fn unload(&mut self, plugin: &str, reason: &str) -> Option<Lifecycle> {
        let id = self.names.remove(plugin)?;
        let old = self.set.get(&id).map(|s| s.sha256().to_owned());
        self.set.remove(&id);
        self.counts.unloads += 1;
        self.event(Event::new(EventKind::Unload, &id, reason).old(old.as_deref()));
        Some(Lifecycle::Unloaded { strategy_id: id })
    }

    fn event(&self, e: Event<'_>) {
        self.set.events().record(&e);
    }

    /// Applies one update at this tick boundary.
    pub fn apply(&mut self, update: PluginUpdate) -> Option<Lifecycle> {
        match update {
            PluginUpdate::Remove { name } => {
                self.unload(&name, &format!("{name}.wasm was deleted"))
            }
            PluginUpdate::Refused {
                name,
                reason,
                strategy_id,
                sha256,
            } => {
                self.counts.refusals += 1;
                let running = self.names.get(&name);
                let old = running
                    .and_then(|id| self.set.get(id))
                    .map(|s| s.sha256().to_owned());
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
                    let why = format!("not enabled for namespace {}", self.broker.as_str());
                    let _ = self.unload(&name, &why);
                    tracing::info!(plugin = %name, strategy_id = %id, broker = self.broker.as_str(), "plugin not enabled for this namespace");
                    return Some(Lifecycle::Skipped { plugin: name });
                }
                // Another file's strategy id: refused, not swapped into that file's slot.
                let owner = self.names.iter().find(|(p, i)| **i == id && **p != name);
                if let Some((owner, _)) = owner {
                    self.counts.refusals += 1;
                    let reason = format!("strategy id {id} is already loaded from plugin {owner}");
                    let why = format!("plugin {name}: {reason}; the running versions keep running");
                    let running = self.set.get(&id).map(|s| s.sha256().to_owned());
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
                let old = self.set.get(&id).map(|s| s.sha256().to_owned());
                match self.set.swap(*prepared) {
                    Ok(()) => {
                        // A manifest that renamed its strategy unloads the old id, once
                        // the new one runs.
                        if let Some(old_id) = self.names.insert(name.clone(), id.clone()) {
                            if old_id != id {
                                let old_sha = self.set.get(&old_id).map(|s| s.sha256().to_owned());
                                self.set.remove(&old_id);
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
                        let reason = e.to_string();
                        let why = format!("plugin {name}: {reason}; the old version keeps running");
                        // The version that keeps running (under its old id, if renamed).
                        let running = old.or_else(|| {
                            let old_id = self.names.get(&name)?;
                            self.set.get(old_id).map(|s| s.sha256().to_owned())
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
