//! Reading a partition's state records and replaying its ticks, with a consumer
//! that has no group (it assigns partitions itself and commits nothing). Blocking:
//! call from `spawn_blocking`.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::kafka::reader::ReaderContext;

use super::unit::{is_unit_record, newest_units, UnitRecord};
use super::{newest, StateRecord};

/// Why a partition's state or ticks could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("kafka: {0}")]
    Kafka(#[from] RdError),
    #[error("state reader could not be set up: {0}")]
    Setup(String),
    #[error("{topic}/{partition}: read only to offset {reached} of {wanted} within {timeout:?}")]
    Timeout {
        topic: String,
        partition: i32,
        reached: i64,
        wanted: i64,
        timeout: Duration,
    },
}

/// A group-less, read-committed consumer over one partition at a time.
pub struct PartitionReader {
    consumer: BaseConsumer<ReaderContext>,
    timeout: Duration,
}

/// What a read of ticks returned: `(offset, value)` of each message in
/// `[from, to)`, and the first offset the log still had.
#[derive(Debug, Default)]
pub struct TickRange {
    pub messages: Vec<(i64, Vec<u8>)>,
    /// Above `from` when retention removed the start of the range.
    pub first: i64,
}

impl PartitionReader {
    /// `settings` are the host's consumer settings (bootstrap, security); the
    /// reader adds what it needs and drops the group.
    pub fn new(mut settings: ClientConfig, timeout: Duration) -> Result<Self, StoreError> {
        // librdkafka assigns partitions through a group handle: the reader has a
        // group id of its own that never joins (assign only) and never commits.
        let group = settings.get("group.id").unwrap_or("alpha-panda").to_owned();
        settings.set("group.id", format!("{group}.state-reader"));
        settings.remove("group.instance.id");
        settings.set("enable.auto.commit", "false");
        settings.set("enable.partition.eof", "true");
        // An aborted transaction's state must never be restored.
        settings.set("isolation.level", "read_committed");
        let consumer: BaseConsumer<ReaderContext> = settings.create_with_context(ReaderContext)?;
        Ok(Self { consumer, timeout })
    }

    /// The newest record per strategy of `group` on `partition` of the state
    /// `topic`. Records that do not decode are logged and skipped.
    pub fn states(
        &self,
        topic: &str,
        partition: i32,
        group: &str,
    ) -> Result<Vec<StateRecord>, StoreError> {
        let (low, high) = self
            .consumer
            .fetch_watermarks(topic, partition, self.timeout)?;
        let mut records = Vec::new();
        if high <= low {
            return Ok(records);
        }
        self.read(topic, partition, low, high, |offset, key, value| {
            if is_unit_record(value) {
                return;
            }
            match StateRecord::from_json(key, value) {
                Ok(r) if r.group != group => {}
                Ok(r) if r.partition == partition => records.push(r),
                Ok(r) => tracing::warn!(topic, partition, offset, record_partition = r.partition, "state record of another partition skipped"),
                Err(e) => tracing::warn!(topic, partition, offset, error = %e, "unreadable state record skipped"),
            }
        })?;
        Ok(newest(records))
    }

    /// The newest record per strategy-scoped strategy of `group` on `unit` (a
    /// partition) of the state `topic`. Other records are skipped.
    pub fn unit_states(
        &self,
        topic: &str,
        unit: i32,
        group: &str,
    ) -> Result<Vec<UnitRecord>, StoreError> {
        let (low, high) = self.consumer.fetch_watermarks(topic, unit, self.timeout)?;
        let mut records = Vec::new();
        if high <= low {
            return Ok(records);
        }
        self.read(topic, unit, low, high, |offset, key, value| {
            if !is_unit_record(value) {
                return;
            }
            match UnitRecord::from_json(key, value) {
                Ok(r) if r.group == group => records.push(r),
                Ok(_) => {}
                Err(e) => tracing::warn!(topic, unit, offset, error = %e, "unreadable state record skipped"),
            }
        })?;
        Ok(newest_units(records))
    }

    /// The messages of `partition` of `topic` in `[from, to)`.
    pub fn range(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
        to: i64,
    ) -> Result<TickRange, StoreError> {
        let (low, high) = self
            .consumer
            .fetch_watermarks(topic, partition, self.timeout)?;
        let first = from.max(low);
        let end = to.min(high);
        let mut out = TickRange {
            messages: Vec::new(),
            first,
        };
        if end <= first {
            return Ok(out);
        }
        self.read(topic, partition, first, end, |offset, _, value| {
            out.messages.push((offset, value.to_vec()));
        })?;
        Ok(out)
    }

    /// Calls `each` for every message in `[from, to)` (transaction markers and
    /// aborted records are not messages).
    fn read(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
        to: i64,
        mut each: impl FnMut(i64, Option<&[u8]>, &[u8]),
    ) -> Result<(), StoreError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(from))?;
        self.consumer.assign(&tpl)?;
        let started = Instant::now();
        let mut reached = from;
        while reached < to {
            if started.elapsed() > self.timeout {
                return Err(StoreError::Timeout {
                    topic: topic.to_owned(),
                    partition,
                    reached,
                    wanted: to,
                    timeout: self.timeout,
                });
            }
            match self.consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Ok(m)) => {
                    reached = m.offset() + 1;
                    if m.offset() < to {
                        each(m.offset(), m.key(), m.payload().unwrap_or_default());
                    }
                }
                Some(Err(RdError::PartitionEOF(_))) => {
                    // Markers at the end of the range are not delivered.
                    if let Ok(pos) = self.consumer.position() {
                        for e in pos.elements() {
                            if let Offset::Offset(o) = e.offset() {
                                reached = reached.max(o);
                            }
                        }
                    }
                    let (_, high) =
                        self.consumer
                            .fetch_watermarks(topic, partition, self.timeout)?;
                    if reached >= high.min(to) {
                        break;
                    }
                }
                // A broker the read does not need is away (librdkafka connects
                // to every broker it knows and reports each failure): it keeps
                // reading, up to the timeout.
                Some(Err(e)) if transient(&e) => {
                    tracing::debug!(topic, partition, error = %e, "state read goes on");
                }
                Some(Err(e)) => return Err(e.into()),
            }
        }
        self.consumer.unassign()?;
        Ok(())
    }
}

/// Whether a consumer error only reports a connection librdkafka retries by
/// itself (it does not end a read).
fn transient(e: &RdError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        e,
        RdError::MessageConsumption(
            C::BrokerTransportFailure
                | C::AllBrokersDown
                | C::Resolve
                | C::RequestTimedOut
                | C::OperationTimedOut
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::types::RDKafkaErrorCode as C;

    #[test]
    fn a_broker_away_does_not_end_a_read() {
        for code in [C::BrokerTransportFailure, C::AllBrokersDown, C::Resolve] {
            assert!(transient(&RdError::MessageConsumption(code)), "{code:?}");
        }
    }

    #[test]
    fn a_refused_read_ends_it() {
        for code in [
            C::UnknownTopicOrPartition,
            C::TopicAuthorizationFailed,
            C::OffsetOutOfRange,
        ] {
            assert!(!transient(&RdError::MessageConsumption(code)), "{code:?}");
        }
        assert!(!transient(&RdError::PartitionEOF(0)));
    }
}
