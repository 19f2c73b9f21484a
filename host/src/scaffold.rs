//! `alpha-panda plugin new NAME`: a strategy crate that builds to `.wasm` with
//! `cargo xtask plugins`, with a manifest and a unit test that runs under plain
//! `cargo test`.

use std::path::{Path, PathBuf};

/// Why nothing was scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "plugin name `{0}` must be lower-case letters, digits and `_`, starting with a letter"
    )]
    BadName(String),
    #[error("{} already exists: choose another name or --dir", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

/// Writes the crate into `dir` and the manifest beside the built `.wasm`
/// (`dir/../NAME.toml`). Returns a note of what was made.
pub fn scaffold(name: &str, dir: &Path) -> Result<String, ScaffoldError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ScaffoldError::BadName(name.to_owned()));
    }
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir.to_owned()));
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    let manifest = parent.join(format!("{name}.toml"));
    if manifest.exists() {
        return Err(ScaffoldError::Exists(manifest));
    }
    let sdk = sdk_dependency(dir);
    let files = [
        (dir.join("Cargo.toml"), cargo_toml(name, &sdk)),
        (dir.join("src/lib.rs"), LIB_RS.replace("{{name}}", name)),
        (manifest.clone(), MANIFEST.replace("{{name}}", name)),
    ];
    for (path, text) in &files {
        write(path, text)?;
    }
    Ok(format!(
        "created strategy crate {} and manifest {}\nnext: cargo xtask plugins   (builds {}/{name}.wasm)\n      cargo test -p {name}",
        dir.display(),
        manifest.display(),
        parent.display()
    ))
}

fn write(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    let err = |e: std::io::Error| ScaffoldError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    };
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(err)?;
    }
    std::fs::write(path, text).map_err(err)
}

/// Inside this workspace the SDK is a workspace dependency; elsewhere a path is
/// written to the SDK next to the running binary's workspace, if known.
fn sdk_dependency(dir: &Path) -> String {
    let mut here = dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if here.as_os_str().is_empty() {
        here = PathBuf::from(".");
    }
    for ancestor in here.ancestors() {
        if ancestor.join("sdk/Cargo.toml").is_file() && ancestor.join("Cargo.toml").is_file() {
            return "alpha-panda-sdk = { workspace = true }".to_owned();
        }
    }
    "alpha-panda-sdk = \"0.1\"".to_owned()
}

fn cargo_toml(name: &str, sdk: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
{sdk}
serde = {{ version = "1", features = ["derive"] }}
"#
    )
}

const LIB_RS: &str = r#"//! {{name}}: buys when the price rises `threshold` above the first price seen of
//! an instrument, sells when it falls as far below. A starting point: edit freely.

use std::collections::BTreeMap;

use alpha_panda_sdk::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Strategy {
    threshold: f64,
    quantity: u64,
    first: BTreeMap<u32, f64>,
}

impl alpha_panda_sdk::Strategy for Strategy {
    fn init(params: &Params, _ctx: &InitContext) -> Result<Self, ParamError> {
        Ok(Self {
            threshold: params.get_or("threshold", 0.01)?,
            quantity: params.get_or("quantity", 10u64)?,
            first: BTreeMap::new(),
        })
    }

    fn on_tick(&mut self, tick: &Tick, ctx: &mut Context) -> Result<(), StrategyError> {
        let price = tick.price();
        let first = *self.first.entry(tick.instrument_token()).or_insert(price);
        let change = (price - first) / first;
        if change > self.threshold {
            ctx.emit(Signal::buy(self.quantity).price_exact(tick.last_price()));
        } else if change < -self.threshold {
            ctx.emit(Signal::sell(self.quantity).price_exact(tick.last_price()));
        }
        Ok(())
    }
}

alpha_panda_sdk::export_strategy!(Strategy);

#[cfg(test)]
mod tests {
    use super::*;
    use alpha_panda_sdk::testing::run_ticks;

    #[test]
    fn buys_after_a_rise() {
        let ticks = [TickData::new(1, "100", 0), TickData::new(1, "102", 1_000_000)];
        let signals = run_ticks::<Strategy>(&[("threshold", 0.01.into())], &ticks).unwrap();
        assert_eq!(signals.len(), 1);
        assert_eq!(signals[0].1.side(), Side::Buy);
    }
}
"#;

const MANIFEST: &str = r#"# The manifest of the {{name}} plugin: read by the host beside {{name}}.wasm.
strategy_id = "{{name}}_1"
brokers = ["paper"]
instruments = [738561, 81153, 2714625, 408065, 341249, 256265]

[params]
threshold = 0.01
quantity = 10
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_names_and_existing_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            scaffold("Bad-Name", &tmp.path().join("x")),
            Err(ScaffoldError::BadName(_))
        ));
        assert!(matches!(
            scaffold("good", tmp.path()),
            Err(ScaffoldError::Exists(_))
        ));
    }

    #[test]
    fn writes_crate_and_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("plugins/my_strat");
        scaffold("my_strat", &dir).unwrap();
        assert!(dir.join("Cargo.toml").is_file());
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("export_strategy!(Strategy)"));
        let m = std::fs::read_to_string(tmp.path().join("plugins/my_strat.toml")).unwrap();
        crate::manifest::Manifest::parse(&m).unwrap();
    }
}
