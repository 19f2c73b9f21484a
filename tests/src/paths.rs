//! Where the workspace, the sample plugins and the test plugins are.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// `plugins/`: the sample strategies (`NAME.wasm` + `NAME.toml`).
pub fn sample_plugins() -> PathBuf {
    root().join("plugins")
}

/// Copies the named samples (`NAME.wasm` + `NAME.toml`) into `dir/plugins` and
/// returns that folder: a test that means the Rust samples does not load every
/// language's.
pub fn copy_samples(names: &[&str], dir: &Path) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins dir");
    for name in names {
        for ext in ["wasm", "toml"] {
            let from = sample_plugins().join(format!("{name}.{ext}"));
            std::fs::copy(built(from), plugins.join(format!("{name}.{ext}")))
                .expect("copy a sample");
        }
    }
    plugins
}

/// A built sample plugin; panics with the command to run when it is missing.
pub fn sample_wasm(name: &str) -> PathBuf {
    built(sample_plugins().join(format!("{name}.wasm")))
}

/// A built test plugin from `tests/plugins/`.
pub fn test_wasm(name: &str) -> PathBuf {
    built(root().join("tests/plugins").join(format!("{name}.wasm")))
}

fn built(p: PathBuf) -> PathBuf {
    assert!(
        p.is_file(),
        "{} is not built: run `cargo xtask plugins` (the test command does)",
        p.display()
    );
    p
}
