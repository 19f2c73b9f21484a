//! The strategies of a running host: applies the watcher's updates at tick
//! boundaries (load, reload with state carried over, unload, refusal), keeps the
//! plugin-name → strategy-id map, and logs one structured line per lifecycle event.

use std::collections::{HashMap, HashSet};

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

/// Strategies that follow the plugins folder.
pub struct LiveStrategies {
    set: StrategySet,
    broker: BrokerNamespace,
    names: HashMap<String, String>,
    /// Plugins whose latest files were refused (a running older version included).
    refused: HashSet<String>,
    counts: LifecycleCounts,
}

impl LiveStrategies {
    pub fn new(set: StrategySet, broker: BrokerNamespace) -> Self {
        Self {
            set,
            broker,
            names: HashMap::new(),
            refused: HashSet::new(),
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

    /// Runs the strategies over a batch of ticks.
    pub fn process(&mut self, ticks: &[&MarketTick]) -> Processed {
        self.set.process(ticks)
    }

    fn unload(&mut self, plugin: &str) -> Option<Lifecycle> {
        let id = self.names.remove(plugin)?;
        self.set.remove(&id);
        self.counts.unloads += 1;
        tracing::info!(strategy_id = %id, plugin, "plugin unloaded");
        Some(Lifecycle::Unloaded { strategy_id: id })
    }

    /// Applies one update at this tick boundary.
    pub fn apply(&mut self, update: PluginUpdate) -> Option<Lifecycle> {
        match update {
            PluginUpdate::Remove { name } => {
                self.refused.remove(&name);
                self.unload(&name)
            }
            PluginUpdate::Refused { name, reason } => {
                self.counts.refusals += 1;
                self.refused.insert(name.clone());
                let old = self
                    .names
                    .get(&name)
                    .and_then(|id| self.set.get(id))
                    .map(|s| s.sha256().to_owned());
                tracing::error!(plugin = %name, old_sha256 = old.as_deref().unwrap_or("-"), %reason, "plugin refused; the running version (if any) keeps running");
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
                    let _ = self.unload(&name);
                    tracing::info!(plugin = %name, strategy_id = %id, broker = self.broker.as_str(), "plugin not enabled for this namespace");
                    return Some(Lifecycle::Skipped { plugin: name });
                }
                // A manifest that renamed its strategy unloads the old id.
                if let Some(old_id) = self.names.get(&name).filter(|old| **old != id).cloned() {
                    self.set.remove(&old_id);
                }
                let old = self.set.get(&id).map(|s| s.sha256().to_owned());
                match self.set.swap(*prepared) {
                    Ok(()) => {
                        self.refused.remove(&name);
                        self.names.insert(name, id.clone());
                        match old {
                            Some(old) => {
                                self.counts.reloads += 1;
                                tracing::info!(strategy_id = %id, old_sha256 = %old, new_sha256 = %sha256, "plugin reloaded with its state");
                                Some(Lifecycle::Reloaded {
                                    strategy_id: id,
                                    old,
                                    new: sha256,
                                })
                            }
                            None => {
                                self.counts.loads += 1;
                                tracing::info!(strategy_id = %id, sha256 = %sha256, "plugin loaded");
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
                        tracing::error!(strategy_id = %id, old_sha256 = old.as_deref().unwrap_or("-"), new_sha256 = %sha256, %reason, "plugin swap refused; the old version keeps running");
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
