//! Plugin manifests (`plugins/NAME.toml` beside `NAME.wasm`): strategy id, the broker
//! namespaces it runs in, the instruments it subscribes to, its scope (one instance
//! over all its instruments, or instances per partition), its parameters and the
//! artifacts (read-only files) it hands the strategy. Unknown keys, wrong types,
//! unknown broker names and scopes, and artifact paths outside the folder are
//! refused by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::artifacts::{self, ArtifactError, Artifacts, Policy};
use crate::contract::BrokerNamespace;

/// A parameter value as written in `[params]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Text(String),
}

/// What one instance of a strategy sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One instance sees every tick of all its instruments, merged by event time,
    /// on one host at a time: what an author expects of a strategy.
    #[default]
    Strategy,
    /// One instance per partition of `market.ticks`, each seeing the instruments of
    /// its partition: for strategies whose state is per instrument (they scale out
    /// with the partitions).
    Instrument,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strategy => "strategy",
            Scope::Instrument => "instrument",
        }
    }
}

/// A parsed, validated manifest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub strategy_id: String,
    pub brokers: Vec<BrokerNamespace>,
    pub instruments: Vec<u32>,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    /// `[artifacts]`: name → file, relative to the manifest's folder.
    #[serde(default)]
    pub artifacts: BTreeMap<String, String>,
    /// The artifacts read by [`Manifest::load_artifacts`] (empty until then).
    #[serde(skip)]
    pub loaded_artifacts: Artifacts,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("manifest {path}: {source}")]
    Artifact {
        path: PathBuf,
        #[source]
        source: ArtifactError,
    },
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ManifestError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses manifest text; the error names the key at fault.
    pub fn parse(text: &str) -> Result<Self, String> {
        let de = toml::Deserializer::new(text);
        let manifest: Manifest = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            // A syntax error can carry an empty message (the detail is only in
            // the rendered error, with line and column): never say nothing.
            let msg = match inner.message().trim() {
                "" => inner.to_string().trim().to_owned(),
                m => m.to_owned(),
            };
            if path == "." {
                msg
            } else {
                format!("key `{path}`: {msg}")
            }
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), String> {
        let id = &self.strategy_id;
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(format!(
                "key `strategy_id`: `{id}` must be 1-64 characters of letters, digits, `_`, `-`, `.`"
            ));
        }
        if self.brokers.is_empty() {
            return Err("key `brokers`: list at least one of \"paper\", \"zerodha\"".into());
        }
        if self.instruments.is_empty() {
            return Err("key `instruments`: list at least one instrument token".into());
        }
        for (name, path) in &self.artifacts {
            artifacts::check_name(name).map_err(|e| format!("key `artifacts.{name}`: {e}"))?;
            artifacts::check_path(path).map_err(|e| format!("key `artifacts.{name}`: {e}"))?;
        }
        Ok(())
    }

    /// Reads the artifacts this manifest (at `path`) names, relative to its folder,
    /// all or none.
    pub fn load_artifacts(&mut self, path: &Path, policy: &Policy) -> Result<(), ManifestError> {
        let base = path.parent().unwrap_or(Path::new("."));
        self.loaded_artifacts =
            artifacts::load(base, &self.artifacts, policy).map_err(|source| {
                ManifestError::Artifact {
                    path: path.to_owned(),
                    source,
                }
            })?;
        Ok(())
    }

    /// True when this strategy runs in `broker`.
    pub fn runs_in(&self, broker: BrokerNamespace) -> bool {
        self.brokers.contains(&broker)
    }
}

/// The manifest path that belongs to `wasm` (`NAME.wasm` → `NAME.toml`).
pub fn manifest_path_for(wasm: &Path) -> PathBuf {
    wasm.with_extension("toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `manifest_parse` fuzz target: a control character in a
    /// comment is a TOML syntax error whose message was empty.
    #[test]
    fn a_syntax_error_is_never_an_empty_message() {
        let text = "# built \u{1}\u{1a} to momentum.wasm\nstrategy_id = \"m\"\nbrokers = [\"paper\"]\ninstruments = [1]\n";
        let err = Manifest::parse(text).expect_err("control characters are not TOML");
        assert!(err.contains("line 1"), "the error says where: {err:?}");
    }

    const GOOD: &str = r#"
strategy_id = "momentum_1"
brokers = ["paper"]
instruments = [738561, 2714625]
[params]
lookback = 20
threshold = 0.01
name = "x"
enabled = true
"#;

    #[test]
    fn parses_the_interface_example() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.strategy_id, "momentum_1");
        assert_eq!(m.brokers, vec![BrokerNamespace::Paper]);
        assert_eq!(m.instruments, vec![738561, 2714625]);
        assert_eq!(m.params["lookback"], ParamValue::Integer(20));
        assert_eq!(m.params["threshold"], ParamValue::Float(0.01));
        assert_eq!(m.params["name"], ParamValue::Text("x".into()));
        assert_eq!(m.params["enabled"], ParamValue::Boolean(true));
        assert!(m.runs_in(BrokerNamespace::Paper));
        assert!(!m.runs_in(BrokerNamespace::Zerodha));
        assert_eq!(m.scope, Scope::Strategy, "the default scope");
    }

    #[test]
    fn scope_is_strategy_or_instrument_and_nothing_else() {
        let with = |scope: &str| {
            Manifest::parse(&format!(
                "strategy_id = \"a\"\nbrokers = [\"paper\"]\ninstruments = [1]\nscope = {scope}\n"
            ))
        };
        assert_eq!(with("\"strategy\"").unwrap().scope, Scope::Strategy);
        assert_eq!(with("\"instrument\"").unwrap().scope, Scope::Instrument);
        let e = with("\"partition\"").unwrap_err();
        assert!(
            e.contains("scope") && e.contains("partition") && e.contains("instrument"),
            "names the key, the value and what is allowed: {e}"
        );
        assert!(with("1").unwrap_err().contains("scope"));
    }

    fn err(text: &str) -> String {
        Manifest::parse(text).unwrap_err()
    }

    const HEAD: &str = "strategy_id = \"a\"\nbrokers = [\"paper\"]\ninstruments = [1]\n";

    #[test]
    fn artifacts_are_names_to_relative_paths() {
        let m =
            Manifest::parse(&format!("{HEAD}[artifacts]\nmodel = \"models/m.json\"\n")).unwrap();
        assert_eq!(m.artifacts["model"], "models/m.json");
        assert!(m.loaded_artifacts.is_empty(), "parsing reads no file");
        let e = err(&format!("{HEAD}[artifacts]\nmodel = \"../m.json\"\n"));
        assert!(
            e.contains("artifacts.model") && e.contains("inside the plugins folder"),
            "{e}"
        );
        let e = err(&format!("{HEAD}[artifacts]\nmodel = \"/etc/passwd\"\n"));
        assert!(e.contains("artifacts.model"), "{e}");
        let e = err(&format!("{HEAD}[artifacts]\n\"a.b\" = \"m.json\"\n"));
        assert!(e.contains("artifact name `a.b`"), "{e}");
        let e = err(&format!("{HEAD}[artifacts]\nmodel = 3\n"));
        assert!(e.contains("artifacts.model"), "{e}");
    }

    #[test]
    fn loading_artifacts_reads_beside_the_manifest_and_names_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        let text = format!("{HEAD}[artifacts]\nmodel = \"m.json\"\n");
        std::fs::write(&path, &text).unwrap();
        let mut m = Manifest::load(&path).unwrap();
        let policy = Policy {
            max_bytes: 16,
            ..Policy::default()
        };
        let e = m.load_artifacts(&path, &policy).unwrap_err().to_string();
        assert!(
            e.contains("a.toml") && e.contains("artifact `model`"),
            "{e}"
        );
        std::fs::write(dir.path().join("m.json"), b"[0.5]").unwrap();
        m.load_artifacts(&path, &policy).unwrap();
        assert_eq!(&*m.loaded_artifacts.iter().next().unwrap().bytes, b"[0.5]");
    }

    #[test]
    fn refusals_name_the_key() {
        let e = err("strategy_id = \"a\"\nbrokers = [\"paper\"]\ninstruments = [1]\nlookbak = 3\n");
        assert!(e.contains("lookbak"), "{e}");
        let e = err("strategy_id = \"a\"\nbrokers = [\"binance\"]\ninstruments = [1]\n");
        assert!(e.contains("brokers") && e.contains("binance"), "{e}");
        let e = err("strategy_id = \"a\"\nbrokers = [\"paper\"]\ninstruments = [\"RELIANCE\"]\n");
        assert!(e.contains("instruments"), "{e}");
        let e = err("strategy_id = 5\nbrokers = [\"paper\"]\ninstruments = [1]\n");
        assert!(e.contains("strategy_id"), "{e}");
        let e = err("brokers = [\"paper\"]\ninstruments = [1]\n");
        assert!(e.contains("strategy_id"), "{e}");
        let e = err("strategy_id = \"a b\"\nbrokers = [\"paper\"]\ninstruments = [1]\n");
        assert!(e.contains("strategy_id"), "{e}");
        let e = err("strategy_id = \"a\"\nbrokers = []\ninstruments = [1]\n");
        assert!(e.contains("brokers"), "{e}");
        let e = err("strategy_id = \"a\"\nbrokers = [\"paper\"]\ninstruments = [-1]\n");
        assert!(e.contains("instruments"), "{e}");
    }

    #[test]
    fn manifest_sits_beside_the_wasm() {
        assert_eq!(
            manifest_path_for(Path::new("plugins/momentum.wasm")),
            PathBuf::from("plugins/momentum.toml")
        );
    }
}
