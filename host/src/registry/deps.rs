//! The artifact files the watcher follows: which plugins name which files (from
//! their manifests, loaded or refused), which folders must be watched for them, and
//! which plugins a changed path concerns. A plugin whose artifact changes is loaded
//! again, like a plugin whose `.wasm` changed.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::manifest::Manifest;

/// The files plugin `manifest` names under `[artifacts]`, as paths under `dir`
/// (none when the manifest cannot be read or parsed).
pub fn artifact_paths(dir: &Path, manifest: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|text| Manifest::parse(&text).ok())
        .map(|m| m.artifacts.values().map(|rel| dir.join(rel)).collect())
        .unwrap_or_default()
}

/// Plugins by the artifact files they name.
#[derive(Debug, Default)]
pub struct ArtifactDeps {
    by_plugin: HashMap<String, Vec<PathBuf>>,
    watched: HashSet<PathBuf>,
}

impl ArtifactDeps {
    /// Records the artifact files of plugin `name` (replacing what it named before).
    pub fn set(&mut self, name: &str, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            self.by_plugin.remove(name);
        } else {
            self.by_plugin.insert(name.to_owned(), paths);
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.by_plugin.remove(name);
    }

    /// The plugins `changed` concerns: those naming it, or a file under it (a
    /// folder created or moved in).
    pub fn plugins_touched_by(&self, changed: &Path) -> BTreeSet<String> {
        self.by_plugin
            .iter()
            .filter(|(_, paths)| paths.iter().any(|p| p.starts_with(changed)))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Folders holding artifacts that exist and are not watched yet (each returned
    /// once; the caller watches them). `root` is watched already.
    pub fn folders_to_watch(&mut self, root: &Path) -> Vec<PathBuf> {
        let mut new = Vec::new();
        for path in self.by_plugin.values().flatten() {
            let Some(folder) = path.parent() else {
                continue;
            };
            if folder == root || self.watched.contains(folder) || !folder.is_dir() {
                continue;
            }
            self.watched.insert(folder.to_owned());
            new.push(folder.to_owned());
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_or_its_folder_concerns_the_plugins_naming_it() {
        let root = Path::new("/p");
        let mut deps = ArtifactDeps::default();
        deps.set("ml", vec![root.join("models/m.json")]);
        deps.set("cal", vec![root.join("cal.csv")]);
        let names = |deps: &ArtifactDeps, p: &str| deps.plugins_touched_by(Path::new(p));
        assert_eq!(
            names(&deps, "/p/models/m.json"),
            BTreeSet::from(["ml".to_owned()])
        );
        assert_eq!(names(&deps, "/p/models"), BTreeSet::from(["ml".to_owned()]));
        assert_eq!(
            names(&deps, "/p/cal.csv"),
            BTreeSet::from(["cal".to_owned()])
        );
        assert!(names(&deps, "/p/models/other.json").is_empty());
        deps.remove("ml");
        assert!(names(&deps, "/p/models/m.json").is_empty());
    }

    #[test]
    fn only_existing_unwatched_folders_are_returned_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("models")).unwrap();
        let mut deps = ArtifactDeps::default();
        deps.set(
            "ml",
            vec![
                root.join("models/m.json"),
                root.join("top.json"),
                root.join("later/x.json"),
            ],
        );
        assert_eq!(deps.folders_to_watch(root), vec![root.join("models")]);
        assert!(deps.folders_to_watch(root).is_empty(), "once");
        std::fs::create_dir(root.join("later")).unwrap();
        assert_eq!(deps.folders_to_watch(root), vec![root.join("later")]);
    }

    #[test]
    fn paths_come_from_the_manifest_relative_to_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("ml.toml");
        std::fs::write(
            &manifest,
            "strategy_id = \"a\"\nbrokers = [\"paper\"]\ninstruments = [1]\n[artifacts]\nmodel = \"models/m.json\"\n",
        )
        .unwrap();
        assert_eq!(
            artifact_paths(dir.path(), &manifest),
            vec![dir.path().join("models/m.json")]
        );
        std::fs::write(&manifest, "not toml [").unwrap();
        assert!(artifact_paths(dir.path(), &manifest).is_empty());
    }
}
