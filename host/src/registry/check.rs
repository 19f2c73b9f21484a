//! `alpha-panda plugin check`: everything the host checks before it runs a plugin
//! (component, WIT version, imports, manifest and its artifacts, `init` with the
//! manifest's parameters), run on one file, with the exact reason on failure.

use std::fmt;
use std::path::Path;

use super::scan::{load_plugin, PluginError, PluginFiles};
use crate::config::Config;
use crate::manifest::manifest_path_for;
use crate::strategy::StrategySlot;
use crate::wasm::{StrategyEngine, WIT_PACKAGE, WIT_VERSION};

/// A plugin that passed every check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub file: String,
    pub strategy_id: String,
    /// What it was written in (`rust`, `python`, `javascript`).
    pub language: &'static str,
    pub sha256: String,
    pub brokers: Vec<&'static str>,
    pub instruments: usize,
    pub params: Vec<String>,
    /// `(name, sha256)` of each artifact the manifest names.
    pub artifacts: Vec<(String, String)>,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ok: {} is strategy `{}` in {} for {WIT_PACKAGE}@{WIT_VERSION}\n  sha256 {}\n  brokers [{}], {} instruments, params [{}]",
            self.file,
            self.strategy_id,
            self.language,
            self.sha256,
            self.brokers.join(", "),
            self.instruments,
            self.params.join(", ")
        )?;
        for (name, sha256) in &self.artifacts {
            write!(f, "\n  artifact {name} sha256 {sha256}")?;
        }
        Ok(())
    }
}

/// Checks `wasm` with its manifest (`manifest`, or `NAME.toml` beside it).
pub fn check_plugin(
    config: &Config,
    wasm: &Path,
    manifest: Option<&Path>,
) -> Result<CheckReport, PluginError> {
    // The same engine as the host's: limits, compiled cache and allow-list.
    let engine = StrategyEngine::from_config(&config.plugins.offline()).map_err(|source| {
        PluginError::Component {
            path: wasm.to_owned(),
            source,
        }
    })?;
    let files = PluginFiles {
        name: wasm
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned(),
        wasm: wasm.to_owned(),
        manifest: manifest
            .map(Path::to_path_buf)
            .unwrap_or_else(|| manifest_path_for(wasm)),
    };
    let loaded = load_plugin(&engine, &files)?;
    StrategySlot::prepare(&engine, &loaded.component, &loaded.manifest).map_err(|source| {
        PluginError::Component {
            path: wasm.to_owned(),
            source,
        }
    })?;
    Ok(CheckReport {
        file: wasm.display().to_string(),
        strategy_id: loaded.manifest.strategy_id.clone(),
        language: loaded.component.language().as_str(),
        sha256: loaded.component.sha256().to_owned(),
        brokers: loaded.manifest.brokers.iter().map(|b| b.as_str()).collect(),
        instruments: loaded.manifest.instruments.len(),
        params: loaded.manifest.params.keys().cloned().collect(),
        artifacts: loaded
            .manifest
            .loaded_artifacts
            .iter()
            .map(|a| (a.name.clone(), a.sha256.clone()))
            .collect(),
    })
}
