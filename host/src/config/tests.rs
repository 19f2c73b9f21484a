//! The configuration read as a user writes it: profiles, overrides, refusals.

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
    let text = include_str!("../../../config/redpanda.toml");
    let c = Config::from_toml_with_env(text, "redpanda", env(&[])).unwrap();
    assert_eq!(c.kafka.bootstrap_servers, "localhost:9092");
    assert!(c.redis.url.starts_with("redis://"));
}

#[test]
fn shipped_profiles_write_the_topic_defaults_out() {
    let profiles = [
        ("default", EMBEDDED_DEFAULT),
        ("redpanda", include_str!("../../../config/redpanda.toml")),
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
            ("ALPHA_PANDA__PLUGINS__PERF_MAP", "true"),
            ("ALPHA_PANDA__PLUGINS__REALTIME_PRIORITY", "98"),
            ("ALPHA_PANDA__KAFKA__PRODUCER__LINGER_MS", "7"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.kafka.bootstrap_servers, "127.0.0.1:9092");
    assert_eq!(c.broker, BrokerNamespace::Zerodha);
    assert_eq!(c.plugins.call_timeout_ms, 25);
    assert!(c.plugins.perf_map);
    assert_eq!(c.plugins.realtime_priority, 98, "the highest allowed");
    assert_eq!(
        PluginsConfig::default().realtime_priority,
        0,
        "off unless asked for"
    );
    assert!(!PluginsConfig::default().perf_map, "off unless asked for");
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
            "broker = \"paper\"\n[plugins]\nmax_pending_ticks = 0\n",
            "plugins.max_pending_ticks",
        ),
        (
            "broker = \"paper\"\n[topics.market_ticks]\npartitions = 0\nretention_ms = 1\n",
            "topics.market_ticks.partitions",
        ),
        (
            "broker = \"paper\"\n[compat]\npython_monitoring = true\n",
            "compat.python_monitoring",
        ),
        (
            "broker = \"paper\"\n[plugins]\nrealtime_priority = 99\n",
            "plugins.realtime_priority",
        ),
        (
            "broker = \"paper\"\n[plugins]\nmax_batch = 64\nlatency_batch = 65\n",
            "plugins.latency_batch",
        ),
        (
            "broker = \"paper\"\n[plugins]\nrealtime_priority = 300\n",
            "plugins.realtime_priority",
        ),
        (
            "broker = \"paper\"\n[start]\nmax_tick_age_ms = -1\n",
            "start.max_tick_age_ms",
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

/// `config/default.toml` writes the defaults out: besides the broker (the
/// embedded one) and a few client properties, it says what the code says.
#[test]
fn the_embedded_profile_agrees_with_the_defaults() {
    let c = Config::from_toml_with_env(EMBEDDED_DEFAULT, "default", env(&[])).unwrap();
    let d = Config::from_toml_with_env("broker = \"paper\"\n", "t", env(&[])).unwrap();
    assert_eq!(format!("{:?}", c.redis), format!("{:?}", d.redis));
    assert_eq!(format!("{:?}", c.plugins), format!("{:?}", d.plugins));
    assert_eq!(format!("{:?}", c.delivery), format!("{:?}", d.delivery));
    assert_eq!(format!("{:?}", c.metrics), format!("{:?}", d.metrics));
    assert_eq!(format!("{:?}", c.feed), format!("{:?}", d.feed));
    assert_eq!(format!("{:?}", c.state), format!("{:?}", d.state));
    assert_eq!(c.topics, d.topics);
    assert_eq!(c.service, d.service);
    assert_eq!(c.kafka.bootstrap_servers, d.kafka.bootstrap_servers);
}
