//! Rebuild on save for `cargo xtask run`: a watcher over the strategies' sources
//! in `plugins/` (Rust crates, `plugins/python/NAME/`, `plugins/javascript/NAME/`)
//! that rebuilds the plugins when one is saved. The running host then hot-reloads
//! the new `.wasm`; a build that fails says why and the running version keeps
//! running.

use std::path::{Component, Path};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult, DebouncedEvent};

/// Quiet time after the last write before a rebuild (an editor's save is often
/// several writes).
const QUIET: Duration = Duration::from_millis(500);

/// Folders that hold tools' output, never a strategy's source.
const NOT_SOURCE: &[&str] = &["node_modules", "__pycache__", ".pytest_cache", "target"];

/// Whether `path` (under `plugins`) is a strategy's source: inside a strategy's
/// folder (built `.wasm` files and manifests sit directly in `plugins/` and are
/// the host's to watch), not a tool's output, not an editor's hidden temp file.
pub fn is_source(plugins: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(plugins) else {
        return false;
    };
    let parts: Vec<&str> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    let Some(file) = parts.last() else {
        return false;
    };
    parts.len() >= 2
        && !file.starts_with('.')
        && !file.ends_with('~')
        && !parts.iter().any(|p| NOT_SOURCE.contains(p))
}

/// The sources among a debounced batch of events, as paths relative to `plugins`.
fn changed_sources(plugins: &Path, batch: &[DebouncedEvent]) -> Vec<String> {
    let mut changed: Vec<String> = batch
        .iter()
        .filter(|ev| !matches!(ev.kind, notify::EventKind::Access(_)))
        .flat_map(|ev| ev.paths.iter())
        .filter(|p| is_source(plugins, p))
        .filter_map(|p| p.strip_prefix(plugins).ok())
        .map(|p| p.display().to_string())
        .collect();
    changed.sort();
    changed.dedup();
    changed
}

/// Watches `plugins` and calls `rebuild` after each save of a source, on a thread
/// of its own, for as long as the returned guard lives. `rebuild` reports its
/// own failures; the watch goes on.
pub fn on_save(plugins: &Path, rebuild: impl Fn(&[String]) + Send + 'static) -> Result<impl Drop> {
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(QUIET, None, tx).context("start the source watcher")?;
    debouncer
        .watch(plugins, RecursiveMode::Recursive)
        .with_context(|| format!("watch {}", plugins.display()))?;
    let plugins = plugins.to_owned();
    std::thread::Builder::new()
        .name("rebuild-on-save".into())
        .spawn(move || {
            for batch in rx {
                let Ok(batch) = batch else { continue };
                let changed = changed_sources(&plugins, &batch);
                if !changed.is_empty() {
                    rebuild(&changed);
                }
            }
        })
        .context("start the rebuild thread")?;
    Ok(debouncer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_a_strategy_folder_are_sources() {
        let p = Path::new("/r/plugins");
        for source in [
            "/r/plugins/python/brk/strategy.py",
            "/r/plugins/javascript/brk/strategy.js",
            "/r/plugins/momentum/src/lib.rs",
            "/r/plugins/momentum/Cargo.toml",
        ] {
            assert!(is_source(p, Path::new(source)), "{source}");
        }
        for other in [
            "/r/plugins/momentum.wasm",
            "/r/plugins/momentum.toml",
            "/r/plugins/.momentum.wasm.tmp",
            "/r/plugins/javascript/node_modules/x/index.js",
            "/r/plugins/python/brk/__pycache__/strategy.cpython-311.pyc",
            "/r/plugins/python/brk/.strategy.py.swp",
            "/r/plugins/python/brk/strategy.py~",
            "/r/elsewhere/python/brk/strategy.py",
        ] {
            assert!(!is_source(p, Path::new(other)), "{other}");
        }
    }

    #[test]
    fn a_save_triggers_one_rebuild_naming_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let plugins = dir.path().join("plugins");
        let strategy = plugins.join("python/brk");
        std::fs::create_dir_all(&strategy).expect("strategy dir");
        let (tx, rx) = mpsc::channel();
        let _guard = on_save(&plugins, move |changed| {
            let _ = tx.send(changed.to_vec());
        })
        .expect("watches");
        // A built file and a manifest are the host's business: no rebuild.
        std::fs::write(plugins.join("brk.wasm"), b"\0asm").expect("write");
        std::fs::write(strategy.join("strategy.py"), "x = 1\n").expect("write");
        let changed = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a rebuild after the save");
        assert_eq!(changed, ["python/brk/strategy.py"]);
    }
}
