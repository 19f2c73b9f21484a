//! What the plugins folder asks of the running strategies ([`PluginUpdate`], made
//! by the watcher off the tick path) and what applying it did ([`Lifecycle`], one
//! short line for the terminal view).

use super::slot::Prepared;

/// A change to apply at the next tick boundary.
pub enum PluginUpdate {
    /// A new or changed plugin, checked and initialized, ready to swap in.
    Load {
        name: String,
        sha256: String,
        prepared: Box<Prepared>,
    },
    /// `NAME.wasm` was deleted.
    Remove { name: String },
    /// A file that stays broken; the running version (if any) keeps running.
    /// `strategy_id` is the manifest's when it parses, `sha256` the file's when
    /// it can be read.
    Refused {
        name: String,
        reason: String,
        strategy_id: Option<String>,
        sha256: Option<String>,
    },
}

impl std::fmt::Debug for PluginUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginUpdate::Load { name, sha256, .. } => write!(f, "Load({name}, {sha256})"),
            PluginUpdate::Remove { name } => write!(f, "Remove({name})"),
            PluginUpdate::Refused { name, reason, .. } => write!(f, "Refused({name}: {reason})"),
        }
    }
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
