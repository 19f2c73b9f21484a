//! Finding and loading plugins: a plugin is `NAME.wasm` with its manifest
//! `NAME.toml` beside it. Hidden files (`.NAME.wasm.tmp` from atomic copies) are
//! never plugins.

use std::path::{Path, PathBuf};

use crate::manifest::{manifest_path_for, Manifest, ManifestError};
use crate::wasm::{LoadError, PluginComponent, StrategyEngine};

/// The two files of one plugin.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PluginFiles {
    /// `NAME`.
    pub name: String,
    pub wasm: PathBuf,
    pub manifest: PathBuf,
}

impl PluginFiles {
    /// The plugin `wasm` belongs to, if it is a plugin file name.
    pub fn for_wasm(wasm: &Path) -> Option<Self> {
        let name = wasm.file_stem()?.to_str()?;
        let is_wasm = wasm.extension().is_some_and(|e| e == "wasm");
        if !is_wasm || name.starts_with('.') || name.is_empty() {
            return None;
        }
        Some(Self {
            name: name.to_owned(),
            wasm: wasm.to_owned(),
            manifest: manifest_path_for(wasm),
        })
    }
}

/// Why a plugin could not be loaded; says which file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("{}: {source}", path.display())]
    Component {
        path: PathBuf,
        #[source]
        source: LoadError,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("cannot list plugin folder {}: {message}", path.display())]
    Folder { path: PathBuf, message: String },
}

/// A checked component with its manifest.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    pub files: PluginFiles,
    pub component: PluginComponent,
    pub manifest: Manifest,
}

/// Every `NAME.wasm` in `dir`, sorted by name.
pub fn scan_dir(dir: &Path) -> Result<Vec<PluginFiles>, PluginError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PluginError::Folder {
        path: dir.to_owned(),
        message: e.to_string(),
    })?;
    let mut found: Vec<PluginFiles> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| PluginFiles::for_wasm(&p))
        .collect();
    found.sort();
    Ok(found)
}

/// Reads the manifest and its artifacts, and compiles and checks the component.
pub fn load_plugin(
    engine: &StrategyEngine,
    files: &PluginFiles,
) -> Result<LoadedPlugin, PluginError> {
    let mut manifest = Manifest::load(&files.manifest)?;
    manifest.load_artifacts(&files.manifest, &engine.artifact_policy())?;
    let component = engine
        .load_file(&files.wasm)
        .map_err(|source| PluginError::Component {
            path: files.wasm.clone(),
            source,
        })?;
    Ok(LoadedPlugin {
        files: files.clone(),
        component,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_wasm_files_are_plugins() {
        assert!(PluginFiles::for_wasm(Path::new("p/momentum.wasm")).is_some());
        assert!(PluginFiles::for_wasm(Path::new("p/.momentum.wasm.tmp")).is_none());
        assert!(PluginFiles::for_wasm(Path::new("p/.momentum.wasm")).is_none());
        assert!(PluginFiles::for_wasm(Path::new("p/momentum.toml")).is_none());
        let f = PluginFiles::for_wasm(Path::new("p/momentum.wasm")).unwrap();
        assert_eq!(f.name, "momentum");
        assert_eq!(f.manifest, PathBuf::from("p/momentum.toml"));
    }
}
