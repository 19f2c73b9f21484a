//! The plugins folder: finding `NAME.wasm` + `NAME.toml` pairs, loading and checking
//! them, and (in [`watcher`]) following changes to the folder while the host runs.
pub mod scan;
pub mod watcher;

pub use scan::{load_plugin, scan_dir, LoadedPlugin, PluginError, PluginFiles};
pub mod check;
