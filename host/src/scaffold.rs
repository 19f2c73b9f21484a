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
    let type_name: String = name
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let files = [
        (dir.join("Cargo.toml"), cargo_toml(name, &sdk)),
        (
            dir.join("src/lib.rs"),
            LIB_RS
                .replace("{{name}}", name)
                .replace("{{Type}}", &type_name),
        ),
        (manifest.clone(), MANIFEST.replace("{{name}}", name)),
    ];
    for (path, text) in &files {
        write(path, text)?;
    }
    let next = if sdk.contains("workspace = true") {
        format!(
            "next: cargo test -p {name}          (its unit test)\n      cargo xtask plugins          (builds {}/{name}.wasm; a running host loads it)",
            parent.display()
        )
    } else {
        format!(
            "next: cd {} && cargo test\n      cargo build --release --target wasm32-wasip2\n      cp target/wasm32-wasip2/release/{name}.wasm {}/",
            dir.display(),
            parent.display()
        )
    };
    Ok(format!(
        "created strategy crate {} and manifest {}\n{next}",
        dir.display(),
        manifest.display()
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

/// Inside the alpha-panda workspace the SDK is a workspace dependency. Elsewhere the
/// crate is its own workspace and points at the SDK this binary was built from, if
/// that source is still there, or at the published crate.
fn sdk_dependency(dir: &Path) -> String {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let parent = std::fs::canonicalize(&parent).unwrap_or(parent);
    for ancestor in parent.ancestors() {
        if ancestor.join("sdk/Cargo.toml").is_file() && ancestor.join("Cargo.toml").is_file() {
            return "alpha-panda-sdk = { workspace = true }".to_owned();
        }
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    match std::fs::canonicalize(&built_from) {
        Ok(sdk) if sdk.join("Cargo.toml").is_file() => format!(
            "alpha-panda-sdk = {{ path = \"{}\" }}\n\n# Not part of another workspace.\n[workspace]",
            sdk.display()
        ),
        _ => "alpha-panda-sdk = \"0.1\"\n\n[workspace]".to_owned(),
    }
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
serde = {{ version = "1", features = ["derive"] }}
{sdk}
"#
    )
}

const LIB_RS: &str = r#"//! {{name}}: buys when the price rises `threshold` above the first price seen of
//! an instrument, sells when it falls as far below. A starting point: edit freely.

use alpha_panda_sdk::{
    Context, InitContext, Map, ParamError, Params, Signal, Strategy, StrategyError, Tick,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct {{Type}} {
    threshold: f64,
    quantity: u64,
    /// Per instrument, the first price seen.
    first: Map<u32, f64>,
}

impl Strategy for {{Type}} {
    fn init(params: &Params, _ctx: &InitContext) -> Result<Self, ParamError> {
        Ok(Self {
            threshold: params.get_or_in("threshold", 0.01, 0.0..)?,
            quantity: params.get_or_in("quantity", 10u64, 1..)?,
            first: Map::new(),
        })
    }

    fn on_tick(&mut self, tick: &Tick, out: &mut Context) -> Result<(), StrategyError> {
        let price = tick.price();
        let first = *self.first.entry(tick.instrument_token()).or_insert(price);
        let change = (price - first) / first;
        if change > self.threshold {
            out.emit(Signal::buy(self.quantity).price_exact(tick.last_price()));
        } else if change < -self.threshold {
            out.emit(Signal::sell(self.quantity).price_exact(tick.last_price()));
        }
        Ok(())
    }
}

alpha_panda_sdk::export_strategy!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;
    use alpha_panda_sdk::{Runner, Side, TickData};

    #[test]
    fn buys_after_a_rise_and_sells_after_a_fall() {
        let params = Params::new().with("threshold", 0.01);
        let mut r = Runner::<{{Type}}>::init(&params, &InitContext::default()).unwrap();
        assert!(r.feed(&TickData::new(1, "100", 0)).unwrap().is_empty());
        let up = r.feed(&TickData::new(1, "102", 1_000_000)).unwrap();
        assert_eq!((up.len(), up[0].side, up[0].quantity), (1, Side::Buy, 10));
        let down = r.feed(&TickData::new(1, "98.5", 2_000_000)).unwrap();
        assert_eq!(down[0].side, Side::Sell);
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
        assert!(lib.contains("export_strategy!(MyStrat)"), "{lib}");
        let m = std::fs::read_to_string(tmp.path().join("plugins/my_strat.toml")).unwrap();
        crate::manifest::Manifest::parse(&m).unwrap();
    }
}
