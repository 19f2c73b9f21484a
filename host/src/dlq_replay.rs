//! `alpha-panda dlq replay --topic T.dlq`: re-publishes each DLQ record's original
//! message (key, value and headers, byte for byte, so its event id and dedup hold)
//! onto the original topic named in the record, then commits the DLQ offsets in the
//! group `alpha-panda.dlq_replay.{broker}`. Records that cannot be replayed (not a
//! DLQ record, or marked not replayable) are counted and left in place.

use std::fmt;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureProducer;

use crate::config::Config;
use crate::contract::EventEnvelope;
use crate::dlq::DlqRecord;
use crate::kafka::settings;
use crate::pipeline::outbox::{deliver, OutRecord};
use crate::topics::TopicRegistry;

/// Why a DLQ replay failed.
#[derive(Debug, thiserror::Error)]
pub enum DlqReplayError {
    #[error("`{0}` is not a DLQ topic (it must end in .dlq)")]
    NotDlq(String),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("{0} record(s) could not be re-published: {1}")]
    Undelivered(usize, String),
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DlqReplayReport {
    pub replayed: u64,
    pub skipped: u64,
}

impl fmt::Display for DlqReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replayed {} record(s), skipped {}",
            self.replayed, self.skipped
        )
    }
}

/// Replays what is in `topic` now; stops once no record arrives for two seconds.
pub async fn replay(config: &Config, topic: &str) -> Result<DlqReplayReport, DlqReplayError> {
    let registry = TopicRegistry::new(&config.topics);
    let Some(original_default) = registry.original_of_dlq(topic) else {
        return Err(DlqReplayError::NotDlq(topic.to_owned()));
    };
    let bootstrap = &config.kafka.bootstrap_servers;
    let group = registry.group_id("dlq_replay", config.broker);
    let consumer: StreamConsumer = settings::consumer(config, bootstrap, &group).create()?;
    consumer.subscribe(&[topic])?;
    let producer: FutureProducer = settings::producer(config, bootstrap).create()?;
    let mut report = DlqReplayReport::default();
    loop {
        let msg = match tokio::time::timeout(Duration::from_secs(2), consumer.recv()).await {
            Err(_) => break,
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(m)) => m,
        };
        let record = msg
            .payload()
            .and_then(|p| serde_json::from_slice::<EventEnvelope<DlqRecord>>(p).ok())
            .filter(|r| {
                r.data.replay_metadata.can_replay || r.data.original_message.value_b64.is_some()
            });
        let out = record.and_then(|r| {
            let o = &r.data.original_message;
            Some(OutRecord {
                partition: None,
                topic: if r.data.dlq_metadata.original_topic.is_empty() {
                    original_default.to_owned()
                } else {
                    r.data.dlq_metadata.original_topic.clone()
                },
                key: o.key().ok()?,
                payload: o.value().ok()??,
                headers: o.headers().ok()?,
                origin: 0,
                // The DLQ record's own ids: what an operator finds in the DLQ.
                event_id: r.id.clone(),
                correlation_id: r.correlation_id.clone(),
            })
        });
        match out {
            Some(rec) => {
                let (failed, _) = deliver(&producer, vec![rec], config.delivery.retry_scale).await;
                if let Some(f) = failed.first() {
                    return Err(DlqReplayError::Undelivered(failed.len(), f.error.clone()));
                }
                report.replayed += 1;
            }
            None => {
                tracing::warn!(
                    offset = msg.offset(),
                    partition = msg.partition(),
                    "not a replayable DLQ record; left in place"
                );
                report.skipped += 1;
            }
        }
        consumer.commit_message(&msg, CommitMode::Sync)?;
    }
    Ok(report)
}
