//! librdkafka settings: the host's defaults for each client role, with the
//! configuration's pass-through properties applied over them.

use rdkafka::ClientConfig;

use crate::config::{Config, DeliveryMode};

/// Producer defaults from the contract: idempotent, all acks, bounded in-flight,
/// Java-compatible key partitioning.
const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("enable.idempotence", "true"),
    ("acks", "all"),
    ("retries", "2147483647"),
    ("request.timeout.ms", "30000"),
    ("delivery.timeout.ms", "120000"),
    ("max.in.flight.requests.per.connection", "5"),
    ("linger.ms", "5"),
    ("compression.type", "lz4"),
    ("partitioner", "murmur2_random"),
    // A DLQ record carries the whole original message as base64 plus its text, so
    // it is about 2.4 times the original: librdkafka's 1 MB default refused the DLQ
    // record of every oversize (> 1 MiB) tick, and the host stopped on it.
    ("message.max.bytes", "16777216"),
];

/// Consumer defaults: manual commits only, start from the beginning, a bounded
/// prefetch.
const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    // librdkafka prefetches up to 64 MiB per consumer by default; a host slower
    // than its backlog fills that (10 strategies × 12 partitions: 174 MiB RSS, with
    // 4 MiB: 95 MiB; BENCHMARKS.md, "Memory"). The limit counts fetched bytes, and
    // an LZ4 fetch unpacks to several times its size: 4 MiB held 35 MiB of
    // decompressed ticks, 1 MiB holds a third as much at a throughput within
    // this machine's noise (BENCHMARKS.md, "Issue 19, session 24: memory"); still
    // thousands of ticks. A full queue pauses fetching for `fetch.queue.backoff.ms`
    // (1 s by default, which cut throughput 5×): resume as soon as the host has
    // taken some.
    ("queued.max.messages.kbytes", "1024"),
    ("fetch.queue.backoff.ms", "5"),
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("auto.offset.reset", "earliest"),
    ("statistics.interval.ms", "5000"),
    ("session.timeout.ms", "30000"),
    ("heartbeat.interval.ms", "3000"),
    ("max.poll.interval.ms", "300000"),
];

fn base(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c.set("client.id", "alpha-panda");
    // Warnings and worse reach the host's log (a refused offset commit is only
    // reported this way). rust-rdkafka otherwise derives the level from the `log`
    // crate's, which is off under `tracing`. Debug stays off: librdkafka logs its
    // configuration, secrets included, at debug level.
    c.set_log_level(rdkafka::config::RDKafkaLogLevel::Warning);
    c
}

/// SASL and TLS settings, the same for every client of a process.
fn secure(c: &mut ClientConfig, s: &crate::config::KafkaSecurity) {
    if s.protocol == "plaintext" {
        return;
    }
    c.set("security.protocol", s.protocol.as_str());
    if s.protocol.starts_with("sasl") {
        c.set("sasl.mechanism", s.sasl_mechanism.as_str());
        c.set("sasl.username", s.sasl_username.as_str());
        c.set("sasl.password", s.sasl_password.expose());
    }
    if !s.ssl_ca_location.is_empty() {
        c.set("ssl.ca.location", s.ssl_ca_location.as_str());
    }
}

/// A producer's settings. `bootstrap` is the resolved address list (the embedded
/// broker's, or the configured one).
pub fn producer(config: &Config, bootstrap: &str) -> ClientConfig {
    let mut c = base(bootstrap);
    secure(&mut c, &config.kafka.security);
    for (k, v) in PRODUCER_DEFAULTS {
        c.set(*k, *v);
    }
    if config.delivery.mode == DeliveryMode::ExactlyOnce {
        c.set("transactional.id", transactional_id(config));
        // librdkafka refuses a transactional producer whose delivery timeout
        // exceeds the transaction timeout (60 s by default).
        c.set("transaction.timeout.ms", "60000");
        c.set("delivery.timeout.ms", "60000");
    }
    for (k, v) in &config.kafka.producer {
        c.set(k, v);
    }
    c
}

/// A consumer's settings in `group`.
pub fn consumer(config: &Config, bootstrap: &str, group: &str) -> ClientConfig {
    let mut c = base(bootstrap);
    secure(&mut c, &config.kafka.security);
    for (k, v) in CONSUMER_DEFAULTS {
        c.set(*k, *v);
    }
    c.set("group.id", group);
    if config.delivery.mode == DeliveryMode::ExactlyOnce {
        c.set("isolation.level", "read_committed");
    }
    for (k, v) in &config.kafka.consumer {
        c.set(k, v);
    }
    c
}

/// The producer of a strategy-scoped unit `unit` exactly-once: its transactional
/// id names the unit, not the host, so the host that gains the unit fences the
/// one that had it.
pub fn unit_producer(config: &Config, bootstrap: &str, unit: i32) -> ClientConfig {
    let mut c = producer(config, bootstrap);
    c.set(
        "transactional.id",
        format!(
            "alpha-panda.{}.{}.unit-{unit}",
            config.service,
            config.broker.as_str()
        ),
    );
    c
}

/// The consumer of the ownership group of strategy-scoped units: it only takes
/// part in the group's assignment (cooperatively: a rebalance moves only the
/// units that change hands).
pub fn owners_consumer(config: &Config, bootstrap: &str, group: &str) -> ClientConfig {
    let mut c = consumer(config, bootstrap, group);
    c.set("partition.assignment.strategy", "cooperative-sticky");
    c
}

/// An admin client's settings (no authentication).
pub fn admin(bootstrap: &str) -> ClientConfig {
    base(bootstrap)
}

/// An admin client's settings with the configuration's security.
pub fn admin_for(config: &Config, bootstrap: &str) -> ClientConfig {
    let mut c = base(bootstrap);
    secure(&mut c, &config.kafka.security);
    c
}

/// `alpha-panda.{service}.{broker}.{instance}`: stable across restarts of the same
/// instance, so a restarted producer fences its predecessor.
pub fn transactional_id(config: &Config) -> String {
    format!(
        "alpha-panda.{}.{}.{}",
        config.service,
        config.broker.as_str(),
        config.delivery.instance_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        Config::from_toml_with_env(&format!("broker = \"zerodha\"\n{extra}"), "t", Vec::new())
            .unwrap()
    }

    #[test]
    fn producer_has_contract_defaults_and_overrides_win() {
        let c = config("[kafka.producer]\n\"linger.ms\" = \"9\"\n");
        let p = producer(&c, "h:1");
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        assert_eq!(p.get("acks"), Some("all"));
        assert_eq!(p.get("partitioner"), Some("murmur2_random"));
        assert_eq!(p.get("linger.ms"), Some("9"));
        assert_eq!(p.get("transactional.id"), None);
    }

    #[test]
    fn consumer_commits_manually_in_the_broker_group() {
        let c = config("");
        let k = consumer(&c, "h:1", "alpha-panda.strategy_runner.zerodha");
        assert_eq!(k.get("enable.auto.commit"), Some("false"));
        assert_eq!(k.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(k.get("queued.max.messages.kbytes"), Some("1024"));
        assert_eq!(k.get("fetch.queue.backoff.ms"), Some("5"));
        // librdkafka knows every property (creating a client does not connect).
        let created: Result<rdkafka::consumer::BaseConsumer, _> = k.create();
        assert!(created.is_ok(), "{:?}", created.err());
        assert_eq!(
            k.get("group.id"),
            Some("alpha-panda.strategy_runner.zerodha")
        );
    }

    #[test]
    fn exactly_once_is_transactional_and_read_committed() {
        let c = config("[delivery]\nmode = \"exactly_once\"\ninstance_id = \"a\"\n");
        assert_eq!(
            producer(&c, "h:1").get("transactional.id"),
            Some("alpha-panda.strategy_runner.zerodha.a")
        );
        assert_eq!(
            consumer(&c, "h:1", "g").get("isolation.level"),
            Some("read_committed")
        );
        // librdkafka accepts the settings (creating a client does not connect).
        let created: Result<rdkafka::producer::FutureProducer, _> = producer(&c, "h:1").create();
        assert!(created.is_ok(), "{:?}", created.err());
    }
}
