//! The one typed configuration: TOML, then `ALPHA_PANDA__SECTION__KEY` environment
//! overrides, then validation. Unknown keys are refused by their full path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::contract::BrokerNamespace;

/// The embedded profile, compiled in so `alpha-panda run` works from any folder.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../config/default.toml");

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
}

fn default_service() -> String {
    "strategy_runner".to_owned()
}

/// A secret (a password): never printed, not even by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that hands it to a client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// How clients authenticate and encrypt. The password comes from the environment
/// (`ALPHA_PANDA__KAFKA__SECURITY__SASL_PASSWORD`), never from a committed file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSecurity {
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub protocol: String,
    /// `SCRAM-SHA-256`, `SCRAM-SHA-512` or `PLAIN` (SASL protocols only).
    pub sasl_mechanism: String,
    pub sasl_username: String,
    pub sasl_password: Secret,
    /// CA certificate file for TLS (empty: the system's).
    pub ssl_ca_location: String,
}

impl Default for KafkaSecurity {
    fn default() -> Self {
        Self {
            protocol: "plaintext".to_owned(),
            sasl_mechanism: String::new(),
            sasl_username: String::new(),
            sasl_password: Secret::default(),
            ssl_ca_location: String::new(),
        }
    }
}

/// Kafka connection and librdkafka pass-through properties.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `embedded` starts an in-process broker; otherwise a `host:port` list.
    pub bootstrap_servers: String,
    /// SASL (SCRAM) and TLS for every client.
    pub security: KafkaSecurity,
    /// librdkafka producer properties, applied over the host's defaults.
    pub producer: BTreeMap<String, String>,
    /// librdkafka consumer properties, applied over the host's defaults.
    pub consumer: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            bootstrap_servers: "embedded".to_owned(),
            security: KafkaSecurity::default(),
            producer: BTreeMap::new(),
            consumer: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// True when the in-process broker is asked for.
    pub fn is_embedded(&self) -> bool {
        self.bootstrap_servers.trim() == "embedded"
    }
}

/// The dedup store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Empty: the in-process store. Else `redis://host:port/db`.
    pub url: String,
    pub dedup_ttl_secs: u64,
    /// Key prefix of dedup marks (tests isolate themselves with it).
    pub key_prefix: String,
    /// The in-process store (embedded profile, and Redis's fallback) keeps at most
    /// this many marks, the newest (about 70 bytes each).
    pub memory_max_keys: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            dedup_ttl_secs: 3600,
            key_prefix: "alpha-panda:dedup".to_owned(),
            memory_max_keys: crate::dedup::memory::DEFAULT_MAX_KEYS,
        }
    }
}

/// The plugin folder and the sandbox limits of every instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Watched for `NAME.wasm` + `NAME.toml`.
    pub dir: PathBuf,
    /// CPU deadline of one tick inside a plugin.
    pub call_timeout_ms: u64,
    /// Linear memory cap of one instance.
    pub memory_limit_mib: u64,
    /// More signals than this for one tick is a plugin fault.
    pub max_signals_per_tick: u32,
    /// Metadata of one signal larger than this (keys + values, bytes) is a plugin fault.
    pub max_metadata_bytes: usize,
    /// Ticks handed to a plugin in one call at most.
    pub max_batch: usize,
    /// Snapshot an instance after this many ticks ...
    pub snapshot_every_ticks: u64,
    /// ... or after this much time, whichever comes first.
    pub snapshot_every_ms: u64,
    /// This many faults within `fault_window_secs` quarantine a plugin.
    pub fault_limit: u32,
    pub fault_window_secs: u64,
    /// A `.wasm` larger than this is refused.
    pub max_wasm_bytes: u64,
    /// If not empty, only components whose sha256 (hex) is listed are loaded.
    pub allowed_sha256: Vec<String>,
    /// Compiled components are cached here by content hash (default
    /// `.alpha-panda/cache`, outside the watched folder).
    pub cache_dir: Option<PathBuf>,
    /// Debounce of file-system events before a plugin file is (re)loaded.
    pub debounce_ms: u64,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("plugins"),
            call_timeout_ms: 10,
            memory_limit_mib: 64,
            max_signals_per_tick: 16,
            max_metadata_bytes: 4096,
            max_batch: 512,
            snapshot_every_ticks: 10_000,
            snapshot_every_ms: 5_000,
            fault_limit: 5,
            fault_window_secs: 60,
            max_wasm_bytes: 16 * 1024 * 1024,
            allowed_sha256: Vec::new(),
            cache_dir: None,
            debounce_ms: 200,
        }
    }
}

impl PluginsConfig {
    /// Where compiled artifacts are cached.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".alpha-panda/cache"))
    }
}

/// Delivery guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    #[default]
    AtLeastOnce,
    ExactlyOnce,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    pub mode: DeliveryMode,
    /// Upper bound of a clean shutdown (drain, flush, commit, leave the group).
    pub shutdown_timeout_secs: u64,
    /// An instance id, part of the transactional id in exactly-once mode.
    pub instance_id: String,
    /// Multiplies every retry delay of the contract's table (tests use small values).
    pub retry_scale: f64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            mode: DeliveryMode::AtLeastOnce,
            shutdown_timeout_secs: 30,
            instance_id: "0".to_owned(),
            retry_scale: 1.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// `GET /metrics` and `GET /health`; empty disables the endpoint.
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9464".to_owned(),
        }
    }
}

/// Partitions and retention of one class of topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicClass {
    pub partitions: i32,
    pub retention_ms: i64,
}

/// Order and PnL topics: retention differs per broker namespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersClass {
    pub partitions: i32,
    pub retention_ms_paper: i64,
    pub retention_ms_zerodha: i64,
}

/// The topic registry's numbers (names and rules live in [`crate::topics`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// Namespaces that `topics create` / `topics check` cover.
    pub namespaces: Vec<BrokerNamespace>,
    pub replication_factor: i32,
    pub market_ticks: TopicClass,
    /// `{broker}.signals.raw` and `{broker}.signals.validated`.
    pub signals: TopicClass,
    /// `{broker}.signals.rejected`.
    pub signals_rejected: TopicClass,
    /// `{broker}.orders.*` and `{broker}.pnl.snapshots`.
    pub orders: OrdersClass,
    pub dlq_retention_ms: i64,
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

impl Default for TopicsConfig {
    fn default() -> Self {
        Self {
            namespaces: vec![BrokerNamespace::Paper, BrokerNamespace::Zerodha],
            replication_factor: 1,
            market_ticks: TopicClass {
                partitions: 12,
                retention_ms: HOUR_MS,
            },
            signals: TopicClass {
                partitions: 6,
                retention_ms: DAY_MS,
            },
            signals_rejected: TopicClass {
                partitions: 3,
                retention_ms: DAY_MS,
            },
            orders: OrdersClass {
                partitions: 3,
                retention_ms_paper: 7 * DAY_MS,
                retention_ms_zerodha: 30 * DAY_MS,
            },
            dlq_retention_ms: 7 * DAY_MS,
        }
    }
}

/// Strategy state that follows a partition (`{broker}.strategy.state`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// Write each partition's strategy state this often (and at a clean stop);
    /// 0 = never write or read it (state then starts from `init` on every host).
    pub every_ms: u64,
    /// Longest wait for reading a gained partition's state and ticks.
    pub load_timeout_ms: u64,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            every_ms: 5_000,
            load_timeout_ms: 30_000,
        }
    }
}

impl StateConfig {
    pub fn enabled(&self) -> bool {
        self.every_ms > 0
    }
}

/// The paper feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// Ticks per second (0 = as fast as the broker takes them).
    pub rate: u64,
    /// Ticks to write in all (0 = until stopped).
    pub count: u64,
    /// Seed of the random walks.
    pub seed: u64,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            rate: 200,
            count: 0,
            seed: 42,
        }
    }
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
            apply_env(&mut table, &var, &value)?;
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

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError::Key {
                key: key.to_owned(),
                message: message.to_owned(),
            })
        };
        if self.service.is_empty() || self.service.contains(|c: char| c.is_whitespace()) {
            return bad("service", "must be a non-empty name without spaces");
        }
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return bad(
                "kafka.bootstrap_servers",
                "must be `embedded` or a host:port list",
            );
        }
        let url = &self.redis.url;
        if !(url.is_empty() || url.starts_with("redis://") || url.starts_with("rediss://")) {
            return bad(
                "redis.url",
                "must be empty or start with redis:// or rediss://",
            );
        }
        let sec = &self.kafka.security;
        let sasl = match sec.protocol.as_str() {
            "plaintext" | "ssl" => false,
            "sasl_plaintext" | "sasl_ssl" => true,
            _ => {
                return bad(
                    "kafka.security.protocol",
                    "must be plaintext, ssl, sasl_plaintext or sasl_ssl",
                )
            }
        };
        if sasl {
            if !matches!(
                sec.sasl_mechanism.as_str(),
                "SCRAM-SHA-256" | "SCRAM-SHA-512" | "PLAIN"
            ) {
                return bad(
                    "kafka.security.sasl_mechanism",
                    "must be SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN with a SASL protocol",
                );
            }
            if sec.sasl_username.is_empty() || sec.sasl_password.is_empty() {
                return bad(
                    "kafka.security.sasl_password",
                    "a SASL protocol needs sasl_username and sasl_password (set ALPHA_PANDA__KAFKA__SECURITY__SASL_PASSWORD)",
                );
            }
        }
        if self.plugins.call_timeout_ms == 0 {
            return bad("plugins.call_timeout_ms", "must be at least 1");
        }
        if self.plugins.memory_limit_mib == 0 {
            return bad("plugins.memory_limit_mib", "must be at least 1");
        }
        if self.redis.memory_max_keys == 0 {
            return bad("redis.memory_max_keys", "must be at least 1");
        }
        if self.plugins.max_batch == 0 {
            return bad("plugins.max_batch", "must be at least 1");
        }
        for class in [
            (
                "topics.market_ticks.partitions",
                self.topics.market_ticks.partitions,
            ),
            ("topics.signals.partitions", self.topics.signals.partitions),
            (
                "topics.signals_rejected.partitions",
                self.topics.signals_rejected.partitions,
            ),
            ("topics.orders.partitions", self.topics.orders.partitions),
        ] {
            if class.1 < 1 {
                return bad(class.0, "must be at least 1");
            }
        }
        for hash in &self.plugins.allowed_sha256 {
            if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                return bad(
                    "plugins.allowed_sha256",
                    &format!("`{hash}` is not a 64-digit hex sha256"),
                );
            }
        }
        Ok(())
    }
}

/// Sets `ALPHA_PANDA__A__B=value` as `a.b = value` in the table. Keys below
/// `kafka.producer` / `kafka.consumer` are librdkafka properties: `_` becomes `.`.
fn apply_env(table: &mut toml::Table, var: &str, value: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = var[ENV_PREFIX.len()..]
        .split("__")
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if path.iter().any(|s| s.is_empty()) {
        return Err(ConfigError::Env {
            var: var.to_owned(),
            message: "empty key segment".to_owned(),
        });
    }
    let is_librdkafka =
        path.len() == 3 && path[0] == "kafka" && (path[1] == "producer" || path[1] == "consumer");
    let mut node = table;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if last {
            let (key, parsed) = if is_librdkafka {
                (seg.replace('_', "."), toml::Value::String(value.to_owned()))
            } else {
                (seg.clone(), parse_env_value(value))
            };
            node.insert(key, parsed);
        } else {
            let entry = node
                .entry(seg.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = match entry {
                toml::Value::Table(t) => t,
                _ => {
                    return Err(ConfigError::Env {
                        var: var.to_owned(),
                        message: format!("`{seg}` is a value, not a section"),
                    })
                }
            };
        }
    }
    Ok(())
}

/// An override is read as a TOML value (number, bool, array) when it parses as one,
/// else taken as a string.
fn parse_env_value(value: &str) -> toml::Value {
    let doc = format!("v = {value}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(value.to_owned())),
        Err(_) => toml::Value::String(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn embedded_default_loads() {
        let c = Config::from_toml_with_env(EMBEDDED_DEFAULT, "default", env(&[])).unwrap();
        assert!(c.kafka.is_embedded());
        assert_eq!(c.broker, BrokerNamespace::Paper);
        assert!(c.redis.url.is_empty());
    }

    #[test]
    fn redpanda_profile_loads() {
        let text = include_str!("../../config/redpanda.toml");
        let c = Config::from_toml_with_env(text, "redpanda", env(&[])).unwrap();
        assert_eq!(c.kafka.bootstrap_servers, "localhost:9092");
        assert!(c.redis.url.starts_with("redis://"));
    }

    #[test]
    fn shipped_profiles_write_the_topic_defaults_out() {
        let profiles = [
            ("default", EMBEDDED_DEFAULT),
            ("redpanda", include_str!("../../config/redpanda.toml")),
        ];
        for (name, text) in profiles {
            let table: toml::Table = toml::from_str(text).unwrap();
            let topics = table["topics"].as_table().unwrap();
            let mut keys: Vec<&str> = topics.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "dlq_retention_ms",
                    "market_ticks",
                    "namespaces",
                    "orders",
                    "replication_factor",
                    "signals",
                    "signals_rejected"
                ],
                "{name}: every [topics] key written out"
            );
            let c = Config::from_toml_with_env(text, name, env(&[])).unwrap();
            assert_eq!(c.topics, TopicsConfig::default(), "{name}");
        }
    }

    #[test]
    fn unknown_key_is_named_with_its_path() {
        let err = Config::from_toml_with_env(
            "broker = \"paper\"\n[kafka]\nbootstrap_serverz = \"x\"\n",
            "t",
            env(&[]),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("kafka.bootstrap_serverz"), "{msg}");
    }

    #[test]
    fn wrong_type_and_unknown_broker_are_named() {
        let err = Config::from_toml_with_env(
            "broker = \"paper\"\n[plugins]\ncall_timeout_ms = \"soon\"\n",
            "t",
            env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("plugins.call_timeout_ms"), "{err}");
        let err = Config::from_toml_with_env("broker = \"binance\"\n", "t", env(&[])).unwrap_err();
        assert!(err.to_string().contains("broker"), "{err}");
        assert!(err.to_string().contains("binance"), "{err}");
    }

    #[test]
    fn environment_overrides_apply_with_types() {
        let c = Config::from_toml_with_env(
            "broker = \"paper\"\n",
            "t",
            env(&[
                ("ALPHA_PANDA__KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
                ("ALPHA_PANDA__BROKER", "zerodha"),
                ("ALPHA_PANDA__PLUGINS__CALL_TIMEOUT_MS", "25"),
                ("ALPHA_PANDA__KAFKA__PRODUCER__LINGER_MS", "7"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.kafka.bootstrap_servers, "127.0.0.1:9092");
        assert_eq!(c.broker, BrokerNamespace::Zerodha);
        assert_eq!(c.plugins.call_timeout_ms, 25);
        assert_eq!(
            c.kafka.producer.get("linger.ms").map(String::as_str),
            Some("7")
        );
    }

    #[test]
    fn unknown_environment_key_is_refused_by_name() {
        let err = Config::from_toml_with_env(
            "broker = \"paper\"\n",
            "t",
            env(&[("ALPHA_PANDA__REDIS__URLL", "redis://x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("redis.urll"), "{err}");
    }

    #[test]
    fn invalid_values_are_refused() {
        for (text, key) in [
            (
                "broker = \"paper\"\n[redis]\nurl = \"http://x\"\n",
                "redis.url",
            ),
            (
                "broker = \"paper\"\n[plugins]\ncall_timeout_ms = 0\n",
                "plugins.call_timeout_ms",
            ),
            (
                "broker = \"paper\"\n[topics.market_ticks]\npartitions = 0\nretention_ms = 1\n",
                "topics.market_ticks.partitions",
            ),
        ] {
            let err = Config::from_toml_with_env(text, "t", env(&[])).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn sasl_settings_are_checked_and_the_password_never_printed() {
        let text = "broker = \"paper\"\n[kafka.security]\nprotocol = \"sasl_ssl\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"svc\"\n";
        let err = Config::from_toml_with_env(text, "t", env(&[])).unwrap_err();
        assert!(err.to_string().contains("sasl_password"), "{err}");
        let c = Config::from_toml_with_env(
            text,
            "t",
            env(&[(
                "ALPHA_PANDA__KAFKA__SECURITY__SASL_PASSWORD",
                "s3cr3t-value",
            )]),
        )
        .unwrap();
        assert_eq!(c.kafka.security.sasl_password.expose(), "s3cr3t-value");
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
        let err = Config::from_toml_with_env(
            "broker = \"paper\"\n[kafka.security]\nprotocol = \"kerberos\"\n",
            "t",
            env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("kafka.security.protocol"), "{err}");
    }

    #[test]
    fn syntax_error_names_the_file() {
        let err = Config::from_toml_with_env("broker = ", "my.toml", env(&[])).unwrap_err();
        assert!(err.to_string().contains("my.toml"), "{err}");
    }
}
