//! The checks serde cannot make: names, URLs, security settings, limits and
//! partition counts. Each refusal names its key.

use super::{Config, ConfigError, KafkaSecurity};

type Checked = Result<(), ConfigError>;

fn bad(key: &str, message: &str) -> Checked {
    Err(ConfigError::Key {
        key: key.to_owned(),
        message: message.to_owned(),
    })
}

impl Config {
    pub(super) fn validate(&self) -> Checked {
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
        if self.compat.python_monitoring && url.is_empty() {
            return bad(
                "compat.python_monitoring",
                "needs redis.url: the Python monitor reads its keys from Redis",
            );
        }
        security(&self.kafka.security)?;
        self.limits()?;
        if self.plugins.latency_batch > self.plugins.max_batch {
            return bad(
                "plugins.latency_batch",
                "must be at most plugins.max_batch (0: off)",
            );
        }
        if self.plugins.realtime_priority > crate::sched::MAX_PRIORITY {
            return bad(
                "plugins.realtime_priority",
                "must be 0 (the normal scheduler) or a SCHED_FIFO priority from 1 to 98 \
                 (the epoch ticker runs one above it)",
            );
        }
        self.partitions()?;
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

    /// Limits that must be at least 1.
    fn limits(&self) -> Checked {
        let p = &self.plugins;
        for (key, value) in [
            ("plugins.call_timeout_ms", p.call_timeout_ms),
            ("plugins.memory_limit_mib", p.memory_limit_mib),
            ("plugins.max_artifact_bytes", p.max_artifact_bytes),
            ("redis.memory_max_keys", self.redis.memory_max_keys as u64),
            ("plugins.max_batch", p.max_batch as u64),
            ("plugins.max_pending_ticks", p.max_pending_ticks as u64),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        Ok(())
    }

    /// Every topic class has at least one partition.
    fn partitions(&self) -> Checked {
        let t = &self.topics;
        for (key, n) in [
            ("topics.market_ticks.partitions", t.market_ticks.partitions),
            ("topics.signals.partitions", t.signals.partitions),
            (
                "topics.signals_rejected.partitions",
                t.signals_rejected.partitions,
            ),
            ("topics.orders.partitions", t.orders.partitions),
        ] {
            if n < 1 {
                return bad(key, "must be at least 1");
            }
        }
        Ok(())
    }
}

/// A known protocol; with SASL, a known mechanism and both credentials.
fn security(sec: &KafkaSecurity) -> Checked {
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
    if !sasl {
        return Ok(());
    }
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
    Ok(())
}
