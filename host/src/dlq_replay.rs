//! `alpha-panda dlq replay --topic T.dlq`: re-publishes each DLQ record's original
//! message (key, value and headers, byte for byte, so its event id and dedup hold)
//! onto the original topic named in the record, then commits the DLQ offsets in the
//! group `alpha-panda.dlq_replay.{broker}`. Records that cannot be replayed (not a
//! DLQ record, or poison: marked not replayable, as replaying it would only fail
//! again) are left in the DLQ and reported, each with where it is and why.

use std::fmt;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureProducer;

use crate::config::Config;
use crate::contract::EventEnvelope;
use crate::dlq::DlqRecord;
use crate::kafka::outbox::{deliver, OutRecord};
use crate::kafka::settings;
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
    #[error("no partition of {topic} was assigned within {secs} s (is another `dlq replay` running in group {group}?)")]
    NotAssigned {
        topic: String,
        group: String,
        secs: u64,
    },
}

/// How long the group join may take before a replay gives up.
const ASSIGN_LIMIT: Duration = Duration::from_secs(30);

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DlqReplayReport {
    pub replayed: u64,
    /// Records left in the DLQ: partition, offset and why.
    pub skipped: Vec<(i32, i64, String)>,
}

impl fmt::Display for DlqReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replayed {} record(s), skipped {}",
            self.replayed,
            self.skipped.len()
        )?;
        for (p, o, why) in &self.skipped {
            write!(f, "\n  left in the DLQ at partition {p} offset {o}: {why}")?;
        }
        Ok(())
    }
}

/// Why a DLQ message is not re-published, if it is not.
fn not_replayable(payload: Option<&[u8]>) -> Option<String> {
    let Some(Ok(r)) = payload.map(serde_json::from_slice::<EventEnvelope<DlqRecord>>) else {
        return Some("not a DLQ record".to_owned());
    };
    let f = &r.data.failure_info;
    if !r.data.replay_metadata.can_replay {
        return Some(format!(
            "not replayable ({}: {}: {})",
            f.error_type, f.error_class, f.error_message
        ));
    }
    if r.data.original_message.value_b64.is_none() {
        return Some("the original message had no value".to_owned());
    }
    None
}

/// Replays what is in `topic` now: joins the group, notes each assigned
/// partition's end offset, and reads until its position reaches it.
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
    let joined = Instant::now();
    let mut ends: Option<Vec<(i32, i64)>> = None;
    loop {
        if ends.is_none() {
            ends = end_offsets(&consumer, topic)?;
            if ends.is_none() && joined.elapsed() > ASSIGN_LIMIT {
                return Err(DlqReplayError::NotAssigned {
                    topic: topic.to_owned(),
                    group,
                    secs: ASSIGN_LIMIT.as_secs(),
                });
            }
        }
        if let Some(ends) = &ends {
            if reached(&consumer, topic, ends)? {
                break;
            }
        }
        let msg = match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
            Err(_) => continue,
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(m)) => m,
        };
        let why_not = not_replayable(msg.payload());
        let record = msg
            .payload()
            .and_then(|p| serde_json::from_slice::<EventEnvelope<DlqRecord>>(p).ok())
            .filter(|_| why_not.is_none());
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
                let why = why_not.unwrap_or_else(|| "its original bytes do not decode".to_owned());
                tracing::warn!(
                    offset = msg.offset(),
                    partition = msg.partition(),
                    reason = %why,
                    "DLQ record not re-published; left in place"
                );
                report.skipped.push((msg.partition(), msg.offset(), why));
            }
        }
        consumer.commit_message(&msg, CommitMode::Sync)?;
    }
    Ok(report)
}

/// The assigned partitions that hold records to replay, each with its end
/// offset now, once the group has assigned some (None before).
fn end_offsets(
    consumer: &StreamConsumer,
    topic: &str,
) -> Result<Option<Vec<(i32, i64)>>, DlqReplayError> {
    let assignment = consumer.assignment()?;
    if assignment.count() == 0 {
        return Ok(None);
    }
    let committed = consumer.committed(Duration::from_secs(10))?;
    let mut ends = Vec::new();
    for e in assignment.elements_for_topic(topic) {
        let p = e.partition();
        let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        let start = committed
            .find_partition(topic, p)
            .and_then(|c| c.offset().to_raw())
            .filter(|o| *o >= 0)
            .unwrap_or(low)
            .max(low);
        if start < high {
            ends.push((p, high));
        }
    }
    Ok(Some(ends))
}

/// True once the consumer's position (past any transaction markers) is at or
/// beyond each partition's end offset.
fn reached(
    consumer: &StreamConsumer,
    topic: &str,
    ends: &[(i32, i64)],
) -> Result<bool, DlqReplayError> {
    if ends.is_empty() {
        return Ok(true);
    }
    let position = consumer.position()?;
    Ok(ends.iter().all(|&(p, end)| {
        position
            .find_partition(topic, p)
            .and_then(|e| e.offset().to_raw())
            .is_some_and(|o| o >= end)
    }))
}
