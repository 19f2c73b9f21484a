//! `alpha-panda import strategies --postgres URL`: the Python system's
//! `strategy_configurations` table as manifests. Each active row becomes
//! `OUT/{id}.toml` beside a copy of its plugin `OUT/{id}.wasm` (chosen by
//! `strategy_type` through a mapping), checked as `plugin check` would (the plugin
//! must accept the row's parameters) before anything is written; each file is
//! written whole (a temporary file renamed). A row that cannot be converted is
//! listed with its reason and writes nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::Config;
use crate::registry::check::check_plugin;

/// Why the table could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot connect to PostgreSQL at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("cannot read strategy_configurations: {0}")]
    Query(String),
    #[error("types file {path}: {message}")]
    Types { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The plugin of each `strategy_type` when no `--types` file says otherwise.
pub const DEFAULT_TYPES: [(&str, &str); 2] = [
    ("momentum", "momentum"),
    ("mean_reversion", "mean_reversion"),
];

/// One row of `strategy_configurations`, as read (JSON columns as text).
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub strategy_type: String,
    pub instruments: String,
    pub parameters: String,
    pub zerodha_trading_enabled: bool,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Manifests written: strategy id and file.
    pub written: Vec<(String, PathBuf)>,
    /// Rows refused: id and why.
    pub refused: Vec<(String, String)>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imported {} strategy(ies), refused {}",
            self.written.len(),
            self.refused.len()
        )?;
        for (id, path) in &self.written {
            write!(f, "\n  {id}: {}", path.display())?;
        }
        for (id, why) in &self.refused {
            write!(f, "\n  row {id} refused: {why}")?;
        }
        Ok(())
    }
}

/// The `strategy_type` → plugin mapping: the defaults, then a TOML file's
/// `[types]` table (`ml_momentum = "ml_momentum_py"`).
pub fn types(file: Option<&Path>) -> Result<BTreeMap<String, String>, ImportError> {
    let mut map: BTreeMap<String, String> = DEFAULT_TYPES
        .iter()
        .map(|(t, p)| ((*t).to_owned(), (*p).to_owned()))
        .collect();
    let Some(path) = file else {
        return Ok(map);
    };
    let bad = |message: String| ImportError::Types {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        types: BTreeMap<String, String>,
    }
    let f: File = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    map.extend(f.types);
    Ok(map)
}

/// Reads the active rows of `strategy_configurations` (blocking).
pub fn read_rows(url: &str) -> Result<Vec<Row>, ImportError> {
    let shown = redact(url);
    let mut client =
        postgres::Client::connect(url, postgres::NoTls).map_err(|e| ImportError::Connect {
            url: shown,
            message: e.to_string(),
        })?;
    let rows = client
        .query(
            "SELECT id::text, strategy_type::text, instruments::text, parameters::text, \
             zerodha_trading_enabled::bool FROM strategy_configurations \
             WHERE is_active ORDER BY id::text",
            &[],
        )
        .map_err(|e| ImportError::Query(db_message(&e)))?;
    rows.iter()
        .map(|r| {
            let text = |i: usize| -> Result<String, ImportError> {
                r.try_get::<_, Option<String>>(i)
                    .map(Option::unwrap_or_default)
                    .map_err(|e| ImportError::Query(e.to_string()))
            };
            Ok(Row {
                id: text(0)?,
                strategy_type: text(1)?,
                instruments: text(2)?,
                parameters: text(3)?,
                zerodha_trading_enabled: r
                    .try_get::<_, Option<bool>>(4)
                    .map_err(|e| ImportError::Query(e.to_string()))?
                    .unwrap_or(false),
            })
        })
        .collect()
}

/// The server's own message (`column "x" does not exist`), not the driver's
/// generic "db error".
fn db_message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_else(|| e.to_string())
}

/// `url` without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// A TOML value of a JSON parameter.
fn param(key: &str, v: &Value) -> Result<String, String> {
    let text = match v {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => toml::Value::String(s.clone()).to_string(),
        _ => {
            return Err(format!(
                "parameter `{key}` is not a number, boolean or string"
            ))
        }
    };
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_owned()
    } else {
        toml::Value::String(key.to_owned()).to_string()
    };
    Ok(format!("{key} = {text}"))
}

/// The manifest of `row`, or why there is none.
pub fn manifest_of(row: &Row) -> Result<String, String> {
    if row.id.is_empty() || row.id.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(format!("id {:?} is not a strategy id", row.id));
    }
    let instruments: Vec<u32> = serde_json::from_str(&row.instruments)
        .map_err(|e| format!("instruments is not a JSON list of tokens ({e})"))?;
    if instruments.is_empty() {
        return Err("instruments is empty".to_owned());
    }
    let params: serde_json::Map<String, Value> = match row.parameters.trim() {
        "" | "null" => serde_json::Map::new(),
        text => serde_json::from_str(text)
            .map_err(|e| format!("parameters is not a JSON object ({e})"))?,
    };
    let broker = if row.zerodha_trading_enabled {
        "zerodha"
    } else {
        "paper"
    };
    let mut out = format!(
        "# Imported from strategy_configurations (strategy_type {:?}).\n\
         strategy_id = {}\nbrokers = [\"{broker}\"]\ninstruments = {instruments:?}\n\n[params]\n",
        row.strategy_type,
        toml::Value::String(row.id.clone()),
    );
    for (k, v) in &params {
        out.push_str(&param(k, v)?);
        out.push('\n');
    }
    Ok(out)
}

/// Writes `bytes` to `path` whole: a temporary file beside it, renamed.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), ImportError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| ImportError::Write {
            path: path.to_owned(),
            source,
        })
}

/// Converts `rows` into `out`: the plugins come from `config.plugins.dir`.
pub fn import(
    config: &Config,
    rows: &[Row],
    types: &BTreeMap<String, String>,
    out: &Path,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let staging = std::env::temp_dir().join(format!("alpha-panda-import-{}", std::process::id()));
    std::fs::create_dir_all(&staging).map_err(|source| ImportError::Write {
        path: staging.clone(),
        source,
    })?;
    let result = import_into(config, rows, types, out, &staging, &mut report);
    let _ = std::fs::remove_dir_all(&staging);
    result.map(|()| report)
}

fn import_into(
    config: &Config,
    rows: &[Row],
    types: &BTreeMap<String, String>,
    out: &Path,
    staging: &Path,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    for row in rows {
        match stage(config, row, types, staging) {
            Ok((wasm, manifest)) => {
                std::fs::create_dir_all(out).map_err(|source| ImportError::Write {
                    path: out.to_owned(),
                    source,
                })?;
                let target = out.join(format!("{}.toml", row.id));
                let bytes = std::fs::read(&wasm).map_err(|source| ImportError::Write {
                    path: wasm.clone(),
                    source,
                })?;
                write_whole(&out.join(format!("{}.wasm", row.id)), &bytes)?;
                write_whole(&target, manifest.as_bytes())?;
                report.written.push((row.id.clone(), target));
            }
            Err(why) => report.refused.push((row.id.clone(), why)),
        }
    }
    Ok(())
}

/// The plugin and manifest of `row`, checked in `dir`; or why not.
fn stage(
    config: &Config,
    row: &Row,
    types: &BTreeMap<String, String>,
    dir: &Path,
) -> Result<(PathBuf, String), String> {
    let plugin = types.get(&row.strategy_type).ok_or_else(|| {
        format!(
            "no plugin for strategy_type {:?} (map it in --types)",
            row.strategy_type
        )
    })?;
    let wasm = config.plugins.dir.join(format!("{plugin}.wasm"));
    if !wasm.is_file() {
        return Err(format!("plugin {} is not built", wasm.display()));
    }
    let manifest = manifest_of(row)?;
    let staged = dir.join(format!("{}.toml", row.id));
    std::fs::write(&staged, &manifest).map_err(|e| e.to_string())?;
    check_plugin(config, &wasm, Some(&staged)).map_err(|e| e.to_string())?;
    Ok((wasm, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(instruments: &str, parameters: &str) -> Row {
        Row {
            id: "momentum_7".into(),
            strategy_type: "momentum".into(),
            instruments: instruments.into(),
            parameters: parameters.into(),
            zerodha_trading_enabled: true,
        }
    }

    #[test]
    fn a_row_becomes_a_manifest() {
        let m = manifest_of(&row(
            "[738561, 81153]",
            r#"{"lookback": 20, "threshold": 0.01, "name": "x\"y"}"#,
        ))
        .expect("converts");
        let parsed = crate::manifest::Manifest::parse(&m).expect("a manifest the host reads");
        assert_eq!(parsed.strategy_id, "momentum_7");
        assert_eq!(parsed.instruments, vec![738561, 81153]);
        assert_eq!(parsed.brokers.len(), 1);
        assert_eq!(parsed.params.len(), 3);
    }

    #[test]
    fn bad_rows_say_why() {
        assert_eq!(
            manifest_of(&row("[]", "{}")),
            Err("instruments is empty".into())
        );
        assert!(manifest_of(&row("[1,", "{}"))
            .is_err_and(|e| e.starts_with("instruments is not a JSON list")));
        assert!(manifest_of(&row("[1]", "[1]"))
            .is_err_and(|e| e.starts_with("parameters is not a JSON object")));
        assert_eq!(
            manifest_of(&row("[1]", r#"{"nested": {"a": 1}}"#)),
            Err("parameter `nested` is not a number, boolean or string".into())
        );
    }

    #[test]
    fn the_password_is_not_shown() {
        assert_eq!(
            redact("postgres://svc:s3cret@db:5432/x"),
            "postgres://svc:***@db:5432/x"
        );
        assert_eq!(redact("host=db user=x"), "host=db user=x");
    }
}
