//! `topics create` and `topics check`: make the live cluster match the registry,
//! and report every drift from it.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::{settings, KafkaError};
use crate::topics::{KeyRule, TopicSpec};

const TIMEOUT: Duration = Duration::from_secs(20);
/// `max.message.bytes` of DLQ topics (the producer's `message.max.bytes` is the same).
const DLQ_MAX_MESSAGE_BYTES: &str = "16777216";

/// One difference between the registry and the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    Missing {
        topic: String,
    },
    Partitions {
        topic: String,
        expected: i32,
        found: i32,
    },
    Retention {
        topic: String,
        expected: i64,
        found: Option<i64>,
    },
    /// A compacted topic that is not (or the reverse).
    Cleanup {
        topic: String,
        expected: &'static str,
        found: String,
    },
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Missing { topic } => write!(f, "{topic}: missing"),
            Drift::Partitions {
                topic,
                expected,
                found,
            } => write!(f, "{topic}: {found} partitions, registry says {expected}"),
            Drift::Retention {
                topic,
                expected,
                found: Some(found),
            } => write!(f, "{topic}: retention.ms {found}, registry says {expected}"),
            Drift::Retention {
                topic, expected, ..
            } => write!(f, "{topic}: retention.ms unknown, registry says {expected}"),
            Drift::Cleanup {
                topic,
                expected,
                found,
            } => write!(
                f,
                "{topic}: cleanup.policy {found}, registry says {expected}"
            ),
        }
    }
}

/// The topic configs `topics check` compares.
#[derive(Debug, Default)]
struct TopicConfigs {
    retention_ms: Option<i64>,
    cleanup_policy: Option<String>,
}

/// What `topics create` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CreateReport {
    pub created: Vec<String>,
    pub existing: Vec<String>,
}

/// A connected admin client.
pub struct Admin {
    client: AdminClient<DefaultClientContext>,
}

impl Admin {
    pub fn connect(bootstrap: &str) -> Result<Self, KafkaError> {
        Self::from_settings(settings::admin(bootstrap))
    }

    /// Connects with the configuration's bootstrap servers and security.
    pub fn connect_with(config: &crate::config::Config) -> Result<Self, KafkaError> {
        Self::from_settings(settings::admin_for(config, &config.kafka.bootstrap_servers))
    }

    fn from_settings(settings: rdkafka::ClientConfig) -> Result<Self, KafkaError> {
        let client = settings.create().map_err(KafkaError::Client)?;
        Ok(Self { client })
    }

    /// Creates every missing topic of `specs`; existing ones are left alone.
    pub async fn create(
        &self,
        specs: &[TopicSpec],
        replication: i32,
    ) -> Result<CreateReport, KafkaError> {
        let retention: Vec<String> = specs.iter().map(|s| s.retention_ms.to_string()).collect();
        let new: Vec<NewTopic<'_>> = specs
            .iter()
            .zip(&retention)
            .map(|(s, r)| {
                let topic =
                    NewTopic::new(&s.name, s.partitions, TopicReplication::Fixed(replication))
                        .set("retention.ms", r);
                // A DLQ record carries the whole original (base64 and text): let it
                // be larger than the largest message the host accepts.
                let topic = if s.compacted {
                    topic.set("cleanup.policy", "compact")
                } else {
                    topic
                };
                if s.key == KeyRule::Original {
                    topic.set("max.message.bytes", DLQ_MAX_MESSAGE_BYTES)
                } else {
                    topic
                }
            })
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let results = self
            .client
            .create_topics(new.iter(), &opts)
            .await
            .map_err(|source| KafkaError::Request {
                op: "create_topics",
                source,
            })?;
        let mut report = CreateReport::default();
        for r in results {
            match r {
                Ok(name) => report.created.push(name),
                Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => report.existing.push(name),
                Err((name, code)) => {
                    return Err(KafkaError::Topic {
                        topic: name,
                        message: format!("create failed: {code}"),
                    })
                }
            }
        }
        // A broker answers CreateTopics once its controller has the topic; its
        // metadata may lag a moment behind. Return once clients can see them.
        let created: Vec<&str> = report.created.iter().map(String::as_str).collect();
        self.await_topics(&created, true).await?;
        Ok(report)
    }

    /// Waits (up to the admin timeout) until every topic of `names` is in the
    /// cluster's metadata with its partitions (`present`), or in it no more.
    pub async fn await_topics(&self, names: &[&str], present: bool) -> Result<(), KafkaError> {
        let until = std::time::Instant::now() + TIMEOUT;
        loop {
            let metadata = self
                .client
                .inner()
                .fetch_metadata(None, TIMEOUT)
                .map_err(|source| KafkaError::Request {
                    op: "metadata",
                    source,
                })?;
            let visible = |name: &str| {
                metadata.topics().iter().any(|t| {
                    t.name() == name
                        && t.error().is_none()
                        && !t.partitions().is_empty()
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            };
            let waiting = names.iter().find(|n| visible(n) != present);
            let Some(name) = waiting else {
                return Ok(());
            };
            if std::time::Instant::now() > until {
                return Err(KafkaError::Topic {
                    topic: (*name).to_owned(),
                    message: format!(
                        "still {} the cluster's metadata after {TIMEOUT:?}",
                        if present { "missing from" } else { "in" }
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every drift of the cluster from `specs`, in the order of `specs`.
    pub async fn check(&self, specs: &[TopicSpec]) -> Result<Vec<Drift>, KafkaError> {
        let (mut drift, present) = self.layout(specs, TIMEOUT)?;
        let configs = self.configs_of(&present, TIMEOUT).await?;
        for spec in present {
            let found = configs.get(&spec.name);
            let retention = found.and_then(|c| c.retention_ms);
            if retention != Some(spec.retention_ms) {
                drift.push(Drift::Retention {
                    topic: spec.name.clone(),
                    expected: spec.retention_ms,
                    found: retention,
                });
            }
            // A compacted topic must say so; for the others only a reported
            // policy other than `delete` is drift (some brokers report only the
            // configs a topic was created with).
            let policy = found.and_then(|c| c.cleanup_policy.as_deref());
            let has = |want: &str| policy.is_some_and(|p| p.split(',').any(|x| x.trim() == want));
            let drifted = if spec.compacted {
                !has("compact")
            } else {
                policy.is_some() && !has("delete")
            };
            if drifted {
                drift.push(Drift::Cleanup {
                    topic: spec.name.clone(),
                    expected: if spec.compacted { "compact" } else { "delete" },
                    found: policy.unwrap_or("unknown").to_owned(),
                });
            }
        }
        Ok(drift)
    }

    /// Missing topics and partition counts only (no configs), each request
    /// given up after `timeout`: what a host checks before it starts. Blocks on
    /// the cluster's metadata.
    pub fn layout_drift(
        &self,
        specs: &[TopicSpec],
        timeout: Duration,
    ) -> Result<Vec<Drift>, KafkaError> {
        Ok(self.layout(specs, timeout)?.0)
    }

    /// The missing topics and partition counts that differ, and the specs of the
    /// topics present.
    fn layout<'a>(
        &self,
        specs: &'a [TopicSpec],
        timeout: Duration,
    ) -> Result<(Vec<Drift>, Vec<&'a TopicSpec>), KafkaError> {
        let metadata = self
            .client
            .inner()
            .fetch_metadata(None, timeout)
            .map_err(|source| KafkaError::Request {
                op: "metadata",
                source,
            })?;
        let partitions: HashMap<String, i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
            .collect();
        let mut drift = Vec::new();
        let mut present = Vec::new();
        for spec in specs {
            match partitions.get(&spec.name) {
                None => drift.push(Drift::Missing {
                    topic: spec.name.clone(),
                }),
                Some(&found) => {
                    if found != spec.partitions {
                        drift.push(Drift::Partitions {
                            topic: spec.name.clone(),
                            expected: spec.partitions,
                            found,
                        });
                    }
                    present.push(spec);
                }
            }
        }
        Ok((drift, present))
    }

    async fn configs_of(
        &self,
        specs: &[&TopicSpec],
        timeout: Duration,
    ) -> Result<HashMap<String, TopicConfigs>, KafkaError> {
        let mut out = HashMap::new();
        if specs.is_empty() {
            return Ok(out);
        }
        let resources: Vec<ResourceSpecifier<'_>> = specs
            .iter()
            .map(|s| ResourceSpecifier::Topic(&s.name))
            .collect();
        let opts = AdminOptions::new().request_timeout(Some(timeout));
        let results = self
            .client
            .describe_configs(resources.iter(), &opts)
            .await
            .map_err(|source| KafkaError::Request {
                op: "describe_configs",
                source,
            })?;
        for (spec, result) in specs.iter().zip(results) {
            let configs = result.ok().map(|r| TopicConfigs {
                retention_ms: r
                    .get("retention.ms")
                    .and_then(|e| e.value.as_deref())
                    .and_then(|v| v.parse::<i64>().ok()),
                cleanup_policy: r.get("cleanup.policy").and_then(|e| e.value.clone()),
            });
            out.insert(spec.name.clone(), configs.unwrap_or_default());
        }
        Ok(out)
    }

    /// Deletes topics and waits until they are gone (tests use it to make drift).
    pub async fn delete(&self, names: &[&str]) -> Result<(), KafkaError> {
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let results = self
            .client
            .delete_topics(names, &opts)
            .await
            .map_err(|source| KafkaError::Request {
                op: "delete_topics",
                source,
            })?;
        for r in results {
            if let Err((name, code)) = r {
                return Err(KafkaError::Topic {
                    topic: name,
                    message: format!("delete failed: {code}"),
                });
            }
        }
        self.await_topics(names, false).await
    }
}
