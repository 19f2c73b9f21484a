//! Follows the plugins folder while the host runs. File-system events are debounced
//! (`notify-debouncer-full`); each touched plugin is then read, checked, compiled
//! and initialized on this watcher's thread, off the tick path, and handed to the
//! tick loop as a [`PluginUpdate`]. A file that fails to load while it is still being
//! written is retried once the writes settle; only a file that stays broken is
//! reported as refused. Identical content is never loaded twice. A change to a file
//! a manifest names under `[artifacts]` loads that plugin again ([`super::deps`]).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult};
use sha2::{Digest, Sha256};

use super::deps::{artifact_paths, ArtifactDeps};
use super::scan::{load_plugin, scan_dir, LoadedPlugin, PluginFiles};
use crate::manifest::Manifest;
use crate::strategy::slot::Prepared;
use crate::strategy::{PluginUpdate, StrategySlot};
use crate::wasm::StrategyEngine;

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {}: {message}", path.display())]
pub struct WatchError {
    pub path: PathBuf,
    pub message: String,
}

type Debouncer = notify_debouncer_full::Debouncer<
    notify::RecommendedWatcher,
    notify_debouncer_full::RecommendedCache,
>;

/// The running watcher; dropping it stops watching.
pub struct PluginWatcher {
    updates: Receiver<PluginUpdate>,
    /// The watching thread holds it weakly, to watch artifact folders as they appear.
    _debouncer: Arc<Mutex<Debouncer>>,
}

/// What is loaded from a plugin name: the fingerprint of its files.
type Fingerprints = HashMap<String, [u8; 32]>;

/// What the plugin's files are now: the artifacts its manifest names, and a hash of
/// its component, its manifest and those artifacts (`None` while the component
/// cannot be read). Read once per look, for the comparison and the load both.
struct Look {
    artifacts: Vec<PathBuf>,
    fingerprint: Option<[u8; 32]>,
}

fn look(dir: &Path, files: &PluginFiles) -> Look {
    let artifacts = artifact_paths(dir, &files.manifest);
    let fingerprint = fingerprint(files, &artifacts);
    Look {
        artifacts,
        fingerprint,
    }
}

/// A missing artifact hashes differently from an empty one.
fn fingerprint(files: &PluginFiles, artifacts: &[PathBuf]) -> Option<[u8; 32]> {
    let wasm = std::fs::read(&files.wasm).ok()?;
    let manifest = std::fs::read(&files.manifest).unwrap_or_default();
    let mut h = Sha256::new();
    for part in [&wasm, &manifest] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    for path in artifacts {
        match std::fs::read(path) {
            Ok(bytes) => {
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
            Err(_) => h.update(u64::MAX.to_le_bytes()),
        }
    }
    Some(h.finalize().into())
}

/// Watches the folders of artifacts that appeared since the last call.
fn watch_artifact_folders(debouncer: &Mutex<Debouncer>, dir: &Path, deps: &mut ArtifactDeps) {
    let folders = deps.folders_to_watch(dir);
    if folders.is_empty() {
        return;
    }
    let Ok(mut d) = debouncer.lock() else {
        return;
    };
    for folder in folders {
        if let Err(e) = d.watch(&folder, RecursiveMode::NonRecursive) {
            tracing::warn!(folder = %folder.display(), error = %e, "artifact folder not watched: its changes need a touch of the manifest");
        }
    }
}

fn load_and_prepare(
    engine: &StrategyEngine,
    files: &PluginFiles,
) -> Result<(LoadedPlugin, Prepared), String> {
    let loaded = load_plugin(engine, files).map_err(|e| e.to_string())?;
    let prepared = StrategySlot::prepare(engine, &loaded.component, &loaded.manifest)
        .map_err(|e| format!("{}: {e}", files.wasm.display()))?;
    Ok((loaded, prepared))
}

impl PluginWatcher {
    /// Loads every plugin in `dir` now (returned in name order), then watches `dir`.
    pub fn start(
        dir: &Path,
        engine: StrategyEngine,
        debounce: Duration,
    ) -> Result<(Vec<PluginUpdate>, PluginWatcher), WatchError> {
        let err = |m: String| WatchError {
            path: dir.to_owned(),
            message: m,
        };
        // Events name canonical paths; artifacts are matched against them.
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        let mut reg = Registered::default();
        let mut initial = Vec::new();
        for files in scan_dir(&dir).map_err(|e| err(e.to_string()))? {
            let seen = look(&dir, &files);
            initial.push(load_one(&engine, &files, seen, &mut reg));
        }
        let (event_tx, event_rx) = mpsc::channel::<DebounceEventResult>();
        let mut debouncer =
            new_debouncer(debounce, None, event_tx).map_err(|e| err(e.to_string()))?;
        debouncer
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| err(e.to_string()))?;
        let debouncer = Arc::new(Mutex::new(debouncer));
        watch_artifact_folders(&debouncer, &dir, &mut reg.deps);
        let (tx, rx) = mpsc::channel();
        let weak = Arc::downgrade(&debouncer);
        std::thread::Builder::new()
            .name("plugin-watcher".into())
            .spawn(move || watch_loop(&dir, &engine, debounce, event_rx, tx, reg, weak))
            .map_err(|e| err(e.to_string()))?;
        Ok((
            initial,
            PluginWatcher {
                updates: rx,
                _debouncer: debouncer,
            },
        ))
    }

    /// The next update, if one is ready.
    pub fn try_recv(&self) -> Option<PluginUpdate> {
        self.updates.try_recv().ok()
    }

    /// Waits up to `timeout` for an update.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<PluginUpdate> {
        self.updates.recv_timeout(timeout).ok()
    }
}

/// What the watcher knows of the folder: what each plugin was loaded from, and
/// the artifact files each names.
#[derive(Default)]
struct Registered {
    known: Fingerprints,
    deps: ArtifactDeps,
}

fn load_one(
    engine: &StrategyEngine,
    files: &PluginFiles,
    seen: Look,
    reg: &mut Registered,
) -> PluginUpdate {
    reg.deps.set(&files.name, seen.artifacts);
    match load_and_prepare(engine, files) {
        Ok((loaded, prepared)) => {
            if let Some(fp) = seen.fingerprint {
                reg.known.insert(files.name.clone(), fp);
            }
            PluginUpdate::Load {
                name: files.name.clone(),
                sha256: loaded.component.sha256().to_owned(),
                prepared: Box::new(prepared),
            }
        }
        Err(reason) => PluginUpdate::Refused {
            name: files.name.clone(),
            reason,
            strategy_id: std::fs::read_to_string(&files.manifest)
                .ok()
                .and_then(|text| Manifest::parse(&text).ok())
                .map(|m| m.strategy_id),
            sha256: std::fs::read(&files.wasm)
                .ok()
                .map(|bytes| hex::encode(Sha256::digest(bytes))),
        },
    }
}

/// The plugin name a changed path belongs to (`NAME.wasm` or `NAME.toml`).
fn plugin_name(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    if ext != "wasm" && ext != "toml" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    if stem.starts_with('.') || stem.is_empty() {
        return None;
    }
    Some(stem.to_owned())
}

/// What a change to plugin `name` means now: a removal, a (re)load or a refusal;
/// `None` when nothing changed since the last load.
fn check_plugin(
    dir: &Path,
    engine: &StrategyEngine,
    name: &str,
    reg: &mut Registered,
) -> Option<PluginUpdate> {
    let files = PluginFiles {
        name: name.to_owned(),
        wasm: dir.join(format!("{name}.wasm")),
        manifest: dir.join(format!("{name}.toml")),
    };
    if !files.wasm.exists() {
        reg.deps.remove(name);
        return reg.known.remove(name).map(|_| PluginUpdate::Remove {
            name: name.to_owned(),
        });
    }
    let seen = look(dir, &files);
    if seen.fingerprint.is_some() && reg.known.get(name) == seen.fingerprint.as_ref() {
        return None;
    }
    Some(load_one(engine, &files, seen, reg))
}

/// The plugin names the events of one debounced batch touched: plugin files in
/// `dir` and the artifacts plugins name (reading a file, our own fingerprinting
/// too, is no change).
fn touched_names(
    batch: Vec<notify_debouncer_full::DebouncedEvent>,
    dir: &Path,
    deps: &ArtifactDeps,
) -> HashSet<String> {
    let mut touched = HashSet::new();
    for ev in batch {
        if matches!(ev.kind, notify::EventKind::Access(_)) {
            continue;
        }
        for path in &ev.paths {
            touched.extend(deps.plugins_touched_by(path));
            if path.parent() == Some(dir) {
                touched.extend(plugin_name(path));
            }
        }
    }
    touched
}

fn watch_loop(
    dir: &Path,
    engine: &StrategyEngine,
    debounce: Duration,
    events: Receiver<DebounceEventResult>,
    tx: Sender<PluginUpdate>,
    mut reg: Registered,
    debouncer: Weak<Mutex<Debouncer>>,
) {
    // Names whose last load failed, with the time to try again if nothing changes.
    let settle = (debounce * 4).max(Duration::from_millis(500));
    let mut retry: HashMap<String, Instant> = HashMap::new();
    loop {
        let wait = retry
            .values()
            .min()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600));
        let touched = match events.recv_timeout(wait) {
            Ok(Ok(batch)) => touched_names(batch, dir, &reg.deps),
            Ok(Err(errors)) => {
                for e in errors {
                    tracing::warn!(error = %e, "plugin folder watch error");
                }
                HashSet::new()
            }
            Err(RecvTimeoutError::Timeout) => HashSet::new(),
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let now = Instant::now();
        let mut due_retry: Vec<String> = Vec::new();
        retry.retain(|name, at| {
            if touched.contains(name) {
                // Still being written: wait for it to settle again.
                *at = now + settle;
                true
            } else if *at <= now {
                due_retry.push(name.clone());
                false
            } else {
                true
            }
        });
        let mut names: Vec<String> = touched
            .into_iter()
            .filter(|n| !retry.contains_key(n))
            .collect();
        names.sort();
        // First attempts: a failure may be a file still being written, so it is
        // retried once the writes settle. Due retries: a failure now is reported.
        let attempts = names
            .into_iter()
            .map(|n| (n, true))
            .chain(due_retry.into_iter().map(|n| (n, false)));
        for (name, first) in attempts {
            let update = match check_plugin(dir, engine, &name, &mut reg) {
                None => continue,
                Some(PluginUpdate::Refused { name, reason, .. }) if first => {
                    tracing::debug!(plugin = %name, %reason, "plugin did not load; retrying once its files settle");
                    retry.insert(name, Instant::now() + settle);
                    continue;
                }
                Some(update) => update,
            };
            if tx.send(update).is_err() {
                return;
            }
        }
        match debouncer.upgrade() {
            Some(d) => watch_artifact_folders(&d, dir, &mut reg.deps),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_plugin_files_only() {
        assert_eq!(
            plugin_name(Path::new("p/momentum.wasm")).as_deref(),
            Some("momentum")
        );
        assert_eq!(
            plugin_name(Path::new("p/momentum.toml")).as_deref(),
            Some("momentum")
        );
        assert_eq!(plugin_name(Path::new("p/.momentum.wasm.tmp")), None);
        assert_eq!(plugin_name(Path::new("p/.cache/x.cwasm")), None);
        assert_eq!(plugin_name(Path::new("p/readme.md")), None);
    }
}
