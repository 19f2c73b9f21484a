//! Whether every plugin the folder configures for this namespace is loaded: what
//! `/health` answers besides the consumer's assignment. Computed after each plugin
//! event, and while not ready, again at most once a second (some changes bring no
//! plugin update: a refused plugin's files or a lone manifest deleted).

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{self, Instant};
use crate::contract::BrokerNamespace;
use crate::manifest::Manifest;

/// How often a host that is not ready looks at the plugins folder again.
const RECHECK: Duration = Duration::from_secs(1);

/// Plugin readiness, shared between the stream loop and `/health`.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    ready: AtomicBool,
    checked: Mutex<Option<Instant>>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
    }

    /// Recomputes readiness after a plugin lifecycle event (or at start).
    pub fn update<'a>(
        &self,
        dir: &Path,
        broker: BrokerNamespace,
        loaded: impl IntoIterator<Item = &'a str>,
    ) {
        self.refresh(dir, broker, loaded, true);
    }

    /// While not ready, recomputes readiness at most once per second.
    pub fn recheck<'a>(
        &self,
        dir: &Path,
        broker: BrokerNamespace,
        loaded: impl IntoIterator<Item = &'a str>,
    ) {
        if self.is_ready() {
            return;
        }
        let due = self
            .inner
            .checked
            .lock()
            .map(|at| at.is_none_or(|t| clock::now().saturating_duration_since(t) >= RECHECK))
            .unwrap_or(true);
        if due {
            self.refresh(dir, broker, loaded, false);
        }
    }

    /// Computes and stores readiness; says why it is not ready after an event (a
    /// recheck stays quiet unless readiness changes).
    fn refresh<'a>(
        &self,
        dir: &Path,
        broker: BrokerNamespace,
        loaded: impl IntoIterator<Item = &'a str>,
        event: bool,
    ) {
        let missing = missing_plugins(dir, broker, loaded);
        let ready = matches!(&missing, Ok(m) if m.is_empty());
        if let Ok(mut at) = self.inner.checked.lock() {
            *at = Some(clock::now());
        }
        let was = self.inner.ready.swap(ready, Ordering::Relaxed);
        if ready && !was {
            tracing::info!("ready: every configured plugin is loaded");
        } else if !ready && (event || was) {
            match missing {
                Ok(missing) => tracing::info!(?missing, "not ready: configured plugins not loaded"),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "not ready: cannot list the plugins folder")
                }
            }
        }
    }
}

/// The plugins `dir` configures for `broker` that are not in `loaded`, by name.
///
/// A plugin is configured by its manifest: every visible `NAME.toml` in `dir`
/// whose manifest runs in `broker`, or cannot be read (it may). Its `NAME.wasm`
/// being absent, or refused, leaves it configured but not loaded. A folder that
/// cannot be listed is an error (the caller reports not ready).
pub fn missing_plugins<'a>(
    dir: &Path,
    broker: BrokerNamespace,
    loaded: impl IntoIterator<Item = &'a str>,
) -> std::io::Result<Vec<String>> {
    let loaded: HashSet<&str> = loaded.into_iter().collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
            continue;
        };
        let is_manifest = path.extension().is_some_and(|e| e == "toml");
        if !is_manifest || name.is_empty() || name.starts_with('.') || !path.is_file() {
            continue;
        }
        let enabled = Manifest::load(&path).map_or(true, |m| m.runs_in(broker));
        if enabled && !loaded.contains(name) {
            missing.push(name.to_owned());
        }
    }
    missing.sort();
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "strategy_id = \"s_1\"\nbrokers = [\"paper\"]\ninstruments = [1]\n";

    #[test]
    fn every_manifest_enabled_here_must_be_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        let missing =
            |loaded: &[&str]| missing_plugins(dir.path(), BrokerNamespace::Paper, loaded.to_vec());
        assert!(
            missing(&[]).unwrap().is_empty(),
            "an empty folder configures nothing"
        );

        write("a.toml", MANIFEST);
        write("a.wasm", "");
        assert_eq!(missing(&[]).unwrap(), vec!["a"]);
        assert!(missing(&["a"]).unwrap().is_empty());

        // A manifest without its component is configured, not loaded.
        write("b.toml", MANIFEST);
        assert_eq!(missing(&["a"]).unwrap(), vec!["b"]);
        // So is one that cannot be read: it may be meant for this namespace.
        write("c.toml", "strategy_id = ");
        assert_eq!(missing(&["a"]).unwrap(), vec!["b", "c"]);
        assert!(missing(&["a", "b", "c"]).unwrap().is_empty());

        // Manifests for another namespace, hidden files and other files do not count.
        write(
            "z.toml",
            "strategy_id = \"z_1\"\nbrokers = [\"zerodha\"]\ninstruments = [1]\n",
        );
        write(".d.toml", MANIFEST);
        write(".e.toml.tmp", MANIFEST);
        write("f.wasm", "");
        write("notes.txt", "");
        std::fs::create_dir(dir.path().join("g.toml")).unwrap();
        assert!(missing(&["a", "b", "c"]).unwrap().is_empty());

        assert!(missing_plugins(&dir.path().join("nope"), BrokerNamespace::Paper, []).is_err());
    }
}
