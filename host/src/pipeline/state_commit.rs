//! At-least-once strategy state waits for its commit off the pipeline: the
//! synchronous commit its records need runs on a blocking thread while ticks
//! keep flowing (a slow group coordinator must not hold up signals), and the
//! records are handed to the producer once it is accepted. One such commit is in
//! flight at a time.

use std::collections::BTreeMap;
use std::sync::Arc;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::TopicPartitionList;
use tokio::task::JoinHandle;

use super::context::HostContext;
use crate::state::StateRecord;

/// A commit whose state records wait for it.
struct Flight {
    task: JoinHandle<KafkaResult<()>>,
    records: Vec<StateRecord>,
    epochs: BTreeMap<i32, u64>,
}

/// A commit that came back, with the records that waited for it.
pub(super) struct Landed {
    /// Why the commit was not accepted, if it was not.
    pub refused: Option<String>,
    pub records: Vec<StateRecord>,
    /// Each partition's ownership epoch when the records were taken.
    pub epochs: BTreeMap<i32, u64>,
}

/// The commit with state in flight, if any.
#[derive(Default)]
pub(super) struct StateCommits {
    flight: Option<Flight>,
}

impl StateCommits {
    pub fn busy(&self) -> bool {
        self.flight.is_some()
    }

    /// Starts committing `offsets` synchronously on a blocking thread; `records`
    /// (taken in `epochs`) wait for it.
    pub fn start(
        &mut self,
        consumer: Arc<StreamConsumer<HostContext>>,
        offsets: TopicPartitionList,
        records: Vec<StateRecord>,
        epochs: BTreeMap<i32, u64>,
    ) {
        let task = tokio::task::spawn_blocking(move || consumer.commit(&offsets, CommitMode::Sync));
        self.flight = Some(Flight {
            task,
            records,
            epochs,
        });
    }

    /// Resolves once the commit in flight comes back; never while there is none.
    /// Cancel-safe: the flight is taken only with its result.
    pub async fn landed(&mut self) -> Landed {
        let result = match self.flight.as_mut() {
            Some(f) => (&mut f.task).await,
            None => return std::future::pending().await,
        };
        let Some(f) = self.flight.take() else {
            return std::future::pending().await;
        };
        let refused = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("the commit's thread failed: {e}")),
        };
        Landed {
            refused,
            records: f.records,
            epochs: f.epochs,
        }
    }
}
