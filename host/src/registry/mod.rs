//! The plugins folder: finding `NAME.wasm` + `NAME.toml` pairs, loading and checking
//! them, following changes to the folder while the host runs, and whether every
//! plugin it configures is loaded.
//!
//! - [`scan`]: the pairs in the folder, each loaded and checked.
//! - [`check`]: `alpha-panda plugin check`, what the watcher would see.
//! - [`watcher`]: changes to the folder, prepared off the tick path.
//! - [`deps`]: the artifact files plugins name, followed by the watcher.
//! - [`readiness`]: every configured plugin loaded (for `/health`).
pub mod check;
pub mod deps;
pub mod readiness;
pub mod scan;
pub mod watcher;

pub use readiness::Readiness;
pub use scan::{load_plugin, scan_dir, LoadedPlugin, PluginError, PluginFiles};
