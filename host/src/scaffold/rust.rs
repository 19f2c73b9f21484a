//! The Rust strategy `plugin new --lang rust` writes: a crate of the workspace
//! (or of its own) with a unit test under plain `cargo test`.

use std::path::{Path, PathBuf};

use super::Template;

/// The crate's files.
pub(super) fn files(name: &str, type_name: &str, dir: &Path) -> Vec<(PathBuf, String)> {
    let sdk = sdk_dependency(dir);
    vec![
        (dir.join("Cargo.toml"), cargo_toml(name, &sdk)),
        (
            dir.join("src/lib.rs"),
            LIB_RS
                .replace("{{name}}", name)
                .replace("{{Type}}", type_name),
        ),
    ]
}

/// What to run next.
pub(super) fn next(name: &str, dir: &Path, plugins: &Path) -> String {
    if sdk_dependency(dir).contains("workspace = true") {
        format!(
            "next: cargo test -p {name}          (its unit test)\n      cargo xtask plugins          (builds {}/{name}.wasm; a running host loads it)",
            plugins.display()
        )
    } else {
        format!(
            "next: cd {} && cargo test\n      cargo build --release --target wasm32-wasip2\n      cp target/wasm32-wasip2/release/{name}.wasm {}/",
            dir.display(),
            plugins.display()
        )
    }
}

pub(super) const TEMPLATE: Template = Template {
    files,
    next,
    default_folder: "",
};

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
