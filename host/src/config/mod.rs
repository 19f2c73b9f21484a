//! The one typed configuration: TOML, then `ALPHA_PANDA__SECTION__KEY` environment
//! overrides, then validation. Unknown keys are refused by their full path.
//!
//! - [`defaults`]: every default value, in one place.
//! - [`sections`]: one struct per section.
//! - `env`: the environment overrides.
//! - `validate`: the checks serde cannot make, each naming its key.

pub mod defaults;
mod env;
pub mod sections;
#[cfg(test)]
mod tests;
mod validate;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::contract::BrokerNamespace;
pub use sections::*;

/// The embedded profile, compiled in so `alpha-panda run` works from any folder.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../../config/default.toml");

/// Prefix of environment overrides; levels are separated by a double underscore.
pub const ENV_PREFIX: &str = "ALPHA_PANDA__";

/// Why a configuration could not be loaded. Every variant names the key or file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {origin} is not valid TOML: {message}")]
    Syntax { origin: String, message: String },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
    #[error("environment override {var}: {message}")]
    Env { var: String, message: String },
}

/// The whole configuration of one host process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This instance's broker namespace: `paper` or `zerodha`.
    pub broker: BrokerNamespace,
    /// The service name used in group ids and dedup keys.
    #[serde(default = "default_service")]
    pub service: String,
    #[serde(default)]
    pub kafka: KafkaConfig,
    #[serde(default)]
    pub redis: RedisConfig,
    #[serde(default)]
    pub plugins: PluginsConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub topics: TopicsConfig,
    #[serde(default)]
    pub feed: FeedConfig,
    #[serde(default)]
    pub state: StateConfig,
    #[serde(default)]
    pub start: StartConfig,
    #[serde(default)]
    pub compat: CompatConfig,
    #[serde(default)]
    pub log: LogConfig,
}

fn default_service() -> String {
    defaults::SERVICE.to_owned()
}

impl Config {
    /// Loads `path`, or the embedded default when `None`, then applies the
    /// process environment's overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_owned(),
                    source,
                })?,
                p.display().to_string(),
            ),
            None => (
                EMBEDDED_DEFAULT.to_owned(),
                "config/default.toml".to_owned(),
            ),
        };
        Self::from_toml_with_env(&text, &origin, std::env::vars())
    }

    /// Parses TOML text and applies the given `ALPHA_PANDA__…` variables.
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_owned(),
            message: e.message().to_owned(),
        })?;
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        vars.sort();
        for (var, value) in vars {
            env::apply(&mut table, &var, &value)?;
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                ConfigError::Key {
                    key: if key == "." { "(root)".to_owned() } else { key },
                    message: e.into_inner().to_string(),
                }
            })?;
        config.validate()?;
        Ok(config)
    }
}
