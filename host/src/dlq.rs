//! Dead-letter records: a `system_error` envelope (broker `system`) that keeps
//! every byte of the original message (key, value, headers as base64, plus the
//! UTF-8 text where valid), where it came from, why it failed, and how to replay it.
//! The record is valid JSON whatever the input bytes were.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::contract::{new_root_id, EventEnvelope, EventType, Timestamp, SYSTEM, VERSION};
use crate::errors::ErrorType;

/// Where the failed message was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlqMetadata {
    pub original_topic: String,
    pub original_partition: i32,
    pub original_offset: i64,
    /// Kafka timestamp of the original message, ms since the epoch.
    pub original_timestamp_ms: Option<i64>,
    #[serde(with = "crate::contract::time::micros")]
    pub dlq_timestamp: Timestamp,
    pub service: String,
    pub consumer_group: String,
}

/// Why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureInfo {
    pub error_type: String,
    pub error_class: String,
    pub error_message: String,
    /// `processing_failed` or `max_retries_exceeded`.
    pub failure_reason: String,
    pub retry_count: u32,
}

/// One original header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderRecord {
    pub key: String,
    /// None for a header without a value.
    pub value_b64: Option<String>,
}

/// The original message, every byte of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalMessage {
    pub key_b64: Option<String>,
    pub key_text: Option<String>,
    pub value_b64: Option<String>,
    pub value_text: Option<String>,
    pub headers: Vec<HeaderRecord>,
}

/// How to replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayMetadata {
    pub can_replay: bool,
    pub suggested_delay_ms: u64,
    pub needs_manual_review: bool,
}

/// The `data` of a DLQ envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlqRecord {
    pub dlq_metadata: DlqMetadata,
    pub failure_info: FailureInfo,
    pub original_message: OriginalMessage,
    pub replay_metadata: ReplayMetadata,
}

/// Kafka headers as (key, value) pairs; a header may have no value.
pub type RawHeaders = Vec<(String, Option<Vec<u8>>)>;

/// A failed message as read from Kafka.
#[derive(Debug, Clone, Copy)]
pub struct FailedMessage<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(String, Option<Vec<u8>>)],
}

/// The failure.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error_type: ErrorType,
    pub error_class: String,
    pub message: String,
    pub retries: u32,
    pub exhausted: bool,
}

fn text(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

impl OriginalMessage {
    pub fn of(m: &FailedMessage<'_>) -> Self {
        Self {
            key_b64: m.key.map(|k| B64.encode(k)),
            key_text: m.key.and_then(text),
            value_b64: m.value.map(|v| B64.encode(v)),
            value_text: m.value.and_then(text),
            headers: m
                .headers
                .iter()
                .map(|(k, v)| HeaderRecord {
                    key: k.clone(),
                    value_b64: v.as_ref().map(|v| B64.encode(v)),
                })
                .collect(),
        }
    }

    /// The original key bytes back.
    pub fn key(&self) -> Result<Option<Vec<u8>>, base64::DecodeError> {
        self.key_b64.as_ref().map(|k| B64.decode(k)).transpose()
    }

    /// The original value bytes back.
    pub fn value(&self) -> Result<Option<Vec<u8>>, base64::DecodeError> {
        self.value_b64.as_ref().map(|v| B64.decode(v)).transpose()
    }

    /// The original headers back.
    pub fn headers(&self) -> Result<RawHeaders, base64::DecodeError> {
        self.headers
            .iter()
            .map(|h| {
                Ok((
                    h.key.clone(),
                    h.value_b64.as_ref().map(|v| B64.decode(v)).transpose()?,
                ))
            })
            .collect()
    }
}

/// Builds the DLQ envelope for `m`. Its key is the original key (bytes unchanged,
/// applied by the producer); the envelope `key` field holds its text, if any.
pub fn dlq_envelope(
    m: &FailedMessage<'_>,
    failure: &Failure,
    service: &str,
    consumer_group: &str,
    now: Timestamp,
) -> EventEnvelope<DlqRecord> {
    let poison = matches!(
        failure.error_type,
        ErrorType::Poison | ErrorType::Authentication
    );
    let record = DlqRecord {
        dlq_metadata: DlqMetadata {
            original_topic: m.topic.to_owned(),
            original_partition: m.partition,
            original_offset: m.offset,
            original_timestamp_ms: m.timestamp_ms,
            dlq_timestamp: now,
            service: service.to_owned(),
            consumer_group: consumer_group.to_owned(),
        },
        failure_info: FailureInfo {
            error_type: failure.error_type.as_str().to_owned(),
            error_class: failure.error_class.clone(),
            error_message: failure.message.clone(),
            failure_reason: if failure.exhausted {
                "max_retries_exceeded"
            } else {
                "processing_failed"
            }
            .to_owned(),
            retry_count: failure.retries,
        },
        original_message: OriginalMessage::of(m),
        replay_metadata: ReplayMetadata {
            can_replay: !poison,
            suggested_delay_ms: if poison { 0 } else { 60_000 },
            needs_manual_review: poison,
        },
    };
    let id = new_root_id();
    EventEnvelope {
        id: id.clone(),
        correlation_id: id.clone(),
        causation_id: None,
        trace_id: id,
        parent_trace_id: None,
        broker: SYSTEM.to_owned(),
        event_type: EventType::SystemError,
        ts: now,
        key: m.key.and_then(text).unwrap_or_default(),
        source: service.to_owned(),
        version: VERSION,
        data: record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(value: &[u8], key: Option<&[u8]>, headers: &[(String, Option<Vec<u8>>)]) -> Vec<u8> {
        let m = FailedMessage {
            topic: "market.ticks",
            partition: 3,
            offset: 42,
            timestamp_ms: Some(1_700_000_000_000),
            key,
            value: Some(value),
            headers,
        };
        let f = Failure {
            error_type: ErrorType::Poison,
            error_class: "not_json".into(),
            message: "not JSON".into(),
            retries: 0,
            exhausted: false,
        };
        dlq_envelope(
            &m,
            &f,
            "strategy_runner",
            "alpha-panda.strategy_runner.paper",
            Timestamp::now(),
        )
        .to_vec()
        .unwrap()
    }

    #[test]
    fn any_bytes_give_valid_json_and_come_back_whole() {
        let value: Vec<u8> = (0..=255u8).collect();
        let key = b"\xff\x00k";
        let headers = vec![
            ("bin".to_owned(), Some(vec![0u8, 159, 146, 150])),
            ("none".to_owned(), None),
            ("correlation_id".to_owned(), Some(b"abc".to_vec())),
        ];
        let bytes = build(&value, Some(key), &headers);
        let env: EventEnvelope<DlqRecord> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(env.broker, "system");
        assert_eq!(env.event_type, EventType::SystemError);
        let o = &env.data.original_message;
        assert_eq!(o.value().unwrap().unwrap(), value);
        assert_eq!(o.key().unwrap().unwrap(), key.to_vec());
        assert_eq!(o.value_text, None, "not UTF-8: no text");
        assert_eq!(o.headers().unwrap(), headers);
        let meta = &env.data.dlq_metadata;
        assert_eq!((meta.original_partition, meta.original_offset), (3, 42));
        assert_eq!(meta.consumer_group, "alpha-panda.strategy_runner.paper");
        assert_eq!(env.data.failure_info.error_type, "poison");
        assert_eq!(env.data.failure_info.failure_reason, "processing_failed");
        assert!(env.data.replay_metadata.needs_manual_review);
    }

    #[test]
    fn utf8_values_keep_their_text() {
        let bytes = build(b"{\"not\":\"a tick\"}", Some(b"738561"), &[]);
        let env: EventEnvelope<DlqRecord> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            env.data.original_message.value_text.as_deref(),
            Some("{\"not\":\"a tick\"}")
        );
        assert_eq!(env.key, "738561");
    }
}
