//! Producing a batch's outputs: every record is handed to the producer at once
//! (no waiting for one ack before sending the next); then all acks are awaited.
//! Failed records are retried in place with the contract's backoff; what is still
//! failing when the attempts run out is returned to the caller for the DLQ.

use std::time::Duration;

use futures::future::join_all;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use crate::errors::{classify_kafka, ErrorType};

/// One message to write.
#[derive(Debug, Clone)]
pub struct OutRecord {
    pub topic: String,
    /// Set for records that must land on one partition (state records); others
    /// are partitioned by key.
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Index of the input message this record answers.
    pub origin: usize,
    /// The record's envelope id and correlation id, for the log lines about it.
    pub event_id: String,
    pub correlation_id: String,
}

/// A record that could not be written.
#[derive(Debug, Clone)]
pub struct Undelivered {
    pub record: OutRecord,
    pub error_type: ErrorType,
    pub error: String,
    pub attempts: u32,
}

fn headers(h: &[(String, Option<Vec<u8>>)]) -> OwnedHeaders {
    let mut out = OwnedHeaders::new_with_capacity(h.len());
    for (k, v) in h {
        out = out.insert(Header {
            key: k,
            value: v.as_deref(),
        });
    }
    out
}

fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    0.5 + f64::from(nanos % 1000) / 2000.0
}

/// Records handed to the producer, their acks not awaited yet.
pub struct Enqueued {
    pending: Vec<(OutRecord, DeliveryFuture)>,
    failed: Vec<(OutRecord, KafkaError)>,
}

/// Hands `records` to the producer in their order, now, without waiting: records
/// enqueued before others are written before them (per partition).
pub fn enqueue(producer: &FutureProducer, records: Vec<OutRecord>) -> Enqueued {
    let mut pending = Vec::with_capacity(records.len());
    let mut failed = Vec::new();
    for r in records {
        let mut fr = FutureRecord::to(&r.topic)
            .payload(&r.payload)
            .headers(headers(&r.headers));
        if let Some(k) = &r.key {
            fr = fr.key(k);
        }
        if let Some(p) = r.partition {
            fr = fr.partition(p);
        }
        match producer.send_result(fr) {
            Ok(fut) => pending.push((r, fut)),
            Err((e, _)) => failed.push((r, e)),
        }
    }
    Enqueued { pending, failed }
}

/// Awaits the acks of enqueued records; returns the ones that failed, with
/// their error.
async fn acks(enqueued: Enqueued) -> Vec<(OutRecord, KafkaError)> {
    let Enqueued {
        pending,
        mut failed,
    } = enqueued;
    let (records, futures): (Vec<_>, Vec<_>) = pending.into_iter().unzip();
    for (r, res) in records.into_iter().zip(join_all(futures).await) {
        match res {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => failed.push((r, e)),
            Err(_) => failed.push((r, KafkaError::Canceled)),
        }
    }
    failed
}

/// Writes every record, retrying failures in place. Returns what could not be
/// written within the retry policy of its error type, and the number of retries.
pub async fn deliver(
    producer: &FutureProducer,
    records: Vec<OutRecord>,
    retry_scale: f64,
) -> (Vec<Undelivered>, u64) {
    deliver_enqueued(producer, enqueue(producer, records), retry_scale).await
}

/// [`deliver`] for records [`enqueue`]d already.
pub async fn deliver_enqueued(
    producer: &FutureProducer,
    enqueued: Enqueued,
    retry_scale: f64,
) -> (Vec<Undelivered>, u64) {
    let mut failed = acks(enqueued).await;
    let mut retries = 0u64;
    let mut attempt = 0u32;
    let mut given_up = Vec::new();
    while !failed.is_empty() {
        let mut again = Vec::new();
        for (r, e) in failed {
            let t = classify_kafka(&e);
            if attempt >= t.policy().attempts {
                tracing::error!(
                    topic = %r.topic,
                    event_id = %r.event_id,
                    correlation_id = %r.correlation_id,
                    error = %e,
                    error_type = t.as_str(),
                    attempts = attempt,
                    "produce failed for good"
                );
                given_up.push(Undelivered {
                    record: r,
                    error_type: t,
                    error: e.to_string(),
                    attempts: attempt,
                });
            } else {
                again.push((r, t));
            }
        }
        if again.is_empty() {
            break;
        }
        let delay = again
            .iter()
            .map(|(_, t)| t.policy().scaled(retry_scale).delay(attempt, jitter()))
            .max()
            .unwrap_or(Duration::ZERO);
        for (r, t) in &again {
            tracing::debug!(
                topic = %r.topic,
                event_id = %r.event_id,
                correlation_id = %r.correlation_id,
                error_type = t.as_str(),
                attempt = attempt + 1,
                "retrying produce of this record"
            );
        }
        tracing::warn!(
            records = again.len(),
            attempt = attempt + 1,
            first_event_id = %again[0].0.event_id,
            first_correlation_id = %again[0].0.correlation_id,
            ?delay,
            "retrying produce (each record at debug level)"
        );
        crate::clock::sleep(delay).await;
        retries += again.len() as u64;
        attempt += 1;
        let again = again.into_iter().map(|(r, _)| r).collect();
        failed = acks(enqueue(producer, again)).await;
    }
    (given_up, retries)
}
