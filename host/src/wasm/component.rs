//! Checking a component before it may run: is it a component at all, which WIT
//! version it was built against, and does it import anything the host does not
//! give. Every refusal says exactly what was found.

use std::path::PathBuf;

use wasmtime::component::Component;

use super::bindings::PluginPre;
use super::engine::{CompileSource, StrategyEngine};
use super::language::Language;
use super::sandbox::StoreState;
use super::{WIT_PACKAGE, WIT_VERSION};

/// Interfaces of WASI 0.2 that the host links, all backed by an empty context:
/// a guest's standard library may import them and finds nothing behind them.
const WASI_ALLOWED: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
];

/// Why a plugin was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("component is {size} bytes, more than the limit of {max} (plugins.max_wasm_bytes)")]
    TooLarge { size: u64, max: u64 },
    #[error("component sha256 {sha256} is not in plugins.allowed_sha256")]
    NotAllowed { sha256: String },
    #[error("not a WebAssembly file (no `\\0asm` header)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build the plugin with `--target wasm32-wasip2` (cargo xtask plugins)"
    )]
    CoreModule,
    #[error("component does not compile: {0}")]
    Compile(String),
    #[error(
        "plugin was built against {WIT_PACKAGE}@{found}; this host implements {WIT_PACKAGE}@{WIT_VERSION}: rebuild it with the current alpha-panda-sdk"
    )]
    WrongVersion { found: String },
    #[error(
        "plugin imports `{name}`, which the host does not provide (a strategy may import only {WIT_PACKAGE}/host@{WIT_VERSION})"
    )]
    ForbiddenImport { name: String },
    #[error("plugin does not export {WIT_PACKAGE}/strategy@{WIT_VERSION}; its exports: [{found}]")]
    MissingExport { found: String },
    #[error("plugin does not link against the host: {0}")]
    Link(String),
    #[error("plugin could not be instantiated: {0}")]
    Instantiate(String),
    #[error("plugin refused its parameters: {0}")]
    Init(String),
    #[error("plugin trapped in init: {0}")]
    InitFault(String),
    #[error("plugin could not take a snapshot of its state: {0}")]
    Snapshot(String),
    #[error("plugin refused the state it was given: {0}")]
    Restore(String),
    #[error("plugin trapped replaying ticks into its restored state: {0}")]
    Replay(String),
    #[error("engine setup failed: {0}")]
    Engine(String),
}

/// A checked, compiled component, ready to instantiate many times.
#[derive(Clone)]
pub struct PluginComponent {
    pre: PluginPre<StoreState>,
    sha256: String,
    source: CompileSource,
    language: Language,
}

impl std::fmt::Debug for PluginComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginComponent")
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// Refuses bytes that are not a component before the compiler sees them.
pub fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm);
    }
    // Core modules have version 1 and layer 0; components have layer 1.
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(LoadError::CoreModule);
    }
    Ok(())
}

/// `alpha-panda:strategy/strategy@0.3.0` → `Some("0.3.0")`.
fn our_version(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@').map(|(_, v)| v)
}

/// Checks a compiled component's imports and exports against the host's world.
pub fn check_world(engine: &StrategyEngine, component: &Component) -> Result<(), LoadError> {
    let ty = component.component_type();
    for (name, _) in ty.imports(engine.engine()) {
        if let Some(version) = our_version(name) {
            if version != WIT_VERSION {
                return Err(LoadError::WrongVersion {
                    found: version.to_owned(),
                });
            }
            continue;
        }
        if WASI_ALLOWED.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        return Err(LoadError::ForbiddenImport {
            name: name.to_owned(),
        });
    }
    let exports: Vec<String> = ty
        .exports(engine.engine())
        .map(|(n, _)| n.to_owned())
        .collect();
    let expected = format!("{WIT_PACKAGE}/strategy@{WIT_VERSION}");
    if exports.contains(&expected) {
        return Ok(());
    }
    if let Some(found) = exports.iter().find_map(|e| our_version(e)) {
        return Err(LoadError::WrongVersion {
            found: found.to_owned(),
        });
    }
    Err(LoadError::MissingExport {
        found: exports.join(", "),
    })
}

impl PluginComponent {
    pub(crate) fn new(
        engine: &StrategyEngine,
        component: Component,
        sha256: String,
        source: CompileSource,
        language: Language,
    ) -> Result<Self, LoadError> {
        check_world(engine, &component)?;
        let pre = engine
            .linker()
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre = PluginPre::new(pre).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        Ok(Self {
            pre,
            sha256,
            source,
            language,
        })
    }

    /// Hex sha256 of the component file: the plugin version every signal records.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// What the strategy was written in.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Whether the code was compiled now or read from the compiled cache.
    pub fn source(&self) -> CompileSource {
        self.source
    }

    pub(crate) fn pre(&self) -> &PluginPre<StoreState> {
        &self.pre
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert_eq!(check_header(b"hello world"), Err(LoadError::NotWasm));
        assert_eq!(check_header(b"\0asm"), Err(LoadError::NotWasm));
        assert_eq!(
            check_header(b"\0asm\x01\0\0\0rest"),
            Err(LoadError::CoreModule)
        );
        assert_eq!(check_header(b"\0asm\x0d\0\x01\0rest"), Ok(()));
    }

    #[test]
    fn version_of_our_names() {
        assert_eq!(
            our_version("alpha-panda:strategy/host@0.1.0"),
            Some("0.1.0")
        );
        assert_eq!(
            our_version("alpha-panda:strategy/strategy@9.0.0"),
            Some("9.0.0")
        );
        assert_eq!(our_version("wasi:io/streams@0.2.6"), None);
        assert_eq!(our_version("alpha-panda:strategyx/host@0.1.0"), None);
    }
}
