//! Reading partitions' state off the tick path: for each [`ReadRequest`] of the
//! partition state machine, the group's committed offset and the log's bounds (a
//! gain), the newest state records of the host's group, and the ticks to replay
//! into them. Reads run on a blocking thread; each result comes back on a channel
//! the stream loop drains at its batch boundaries.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::context::HostContext;
use crate::partitions::{replay_from, ReadKind, ReadRequest, ReadResult};
use crate::state::store::{PartitionReader, StoreError, TickRange};
use crate::topics::MARKET_TICKS;

/// Where and how partitions' state is read.
#[derive(Clone)]
pub(super) struct StateSource {
    /// The host's consumer settings, for the group-less reader.
    pub settings: ClientConfig,
    /// `{broker}.strategy.state`.
    pub topic: String,
    /// The host's consumer group: only its records are read.
    pub group: String,
    /// For each request to the cluster.
    pub timeout: Duration,
    /// False when state is off: only offsets and log bounds are read.
    pub enabled: bool,
}

/// Reads in progress; their results arrive on `results`.
pub(super) struct Reads {
    source: StateSource,
    consumer: Arc<StreamConsumer<HostContext>>,
    tx: UnboundedSender<ReadResult>,
    results: UnboundedReceiver<ReadResult>,
}

impl Reads {
    pub fn new(source: StateSource, consumer: Arc<StreamConsumer<HostContext>>) -> Self {
        let (tx, results) = unbounded_channel();
        Self {
            source,
            consumer,
            tx,
            results,
        }
    }

    /// Starts `requests` on one blocking thread, in order.
    pub fn start(&self, requests: Vec<ReadRequest>) {
        if requests.is_empty() {
            return;
        }
        let (source, consumer, tx) = (self.source.clone(), self.consumer.clone(), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let reader = PartitionReader::new(source.settings.clone(), source.timeout)
                .map_err(|e| e.to_string());
            for req in requests {
                let result = read(&consumer, &source, &reader, req);
                if tx.send(result).is_err() {
                    return;
                }
            }
        });
    }

    /// A finished read, if one is in.
    pub fn try_next(&mut self) -> Option<ReadResult> {
        self.results.try_recv().ok()
    }
}

/// One partition's read (blocking).
fn read(
    consumer: &StreamConsumer<HostContext>,
    source: &StateSource,
    reader: &Result<PartitionReader, String>,
    req: ReadRequest,
) -> ReadResult {
    let p = req.partition;
    let (committed, log, upto) = match req.kind {
        ReadKind::Gain => {
            let committed = committed_offset(consumer, p, source.timeout);
            let log = consumer
                .fetch_watermarks(MARKET_TICKS, p, source.timeout)
                .ok();
            (committed, log, committed)
        }
        ReadKind::Reread { upto } => (None, None, Some(upto)),
    };
    let read = if !source.enabled {
        Ok((Vec::new(), TickRange::default()))
    } else {
        match reader {
            Err(e) => Err(StoreError::Setup(e.clone())),
            Ok(r) => r
                .states(&source.topic, p, &source.group)
                .and_then(|records| {
                    let ticks = match (replay_from(&records, upto), upto) {
                        (Some(from), Some(to)) => r.range(MARKET_TICKS, p, from, to)?,
                        _ => TickRange::default(),
                    };
                    Ok((records, ticks))
                }),
        }
    };
    ReadResult {
        partition: p,
        ticket: req.ticket,
        committed,
        log,
        read,
    }
}

/// The group's committed offset of partition `p` (`None`: nothing committed, or
/// the broker did not say).
fn committed_offset(
    consumer: &StreamConsumer<HostContext>,
    p: i32,
    timeout: Duration,
) -> Option<i64> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(MARKET_TICKS, p);
    match consumer.committed_offsets(tpl, timeout) {
        Ok(c) => c
            .find_partition(MARKET_TICKS, p)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            }),
        Err(e) => {
            tracing::warn!(partition = p, error = %e, "committed offset of a gained partition unknown");
            None
        }
    }
}
