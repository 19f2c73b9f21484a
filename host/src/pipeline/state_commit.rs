//! At-least-once strategy state waits for its commit off the pipeline: the
//! synchronous commit its records need runs on a blocking thread while ticks
//! keep flowing (a slow group coordinator must not hold up signals), and the
//! records are handed to the producer once it is accepted. One such commit is in
//! flight at a time per owner: the partitions together, or one strategy-scoped
//! unit.

use std::collections::BTreeMap;

use rdkafka::error::KafkaResult;
use tokio::task::JoinHandle;

use crate::state::unit::UnitRecord;
use crate::state::StateRecord;

/// Whose state waits for a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// The partitions of `market.ticks` this host owns.
    Partitions,
    /// A strategy-scoped unit.
    Unit(i32),
}

/// The records that wait for a commit.
pub(super) enum Waiting {
    /// Taken with each partition's ownership epoch.
    Partitions {
        records: Vec<StateRecord>,
        epochs: BTreeMap<i32, u64>,
    },
    /// Taken from the unit's `generation` here.
    Unit {
        k: i32,
        generation: u64,
        records: Vec<UnitRecord>,
    },
}

/// A commit whose records wait for it.
struct Flight {
    owner: Owner,
    task: JoinHandle<KafkaResult<()>>,
    waiting: Waiting,
}

/// A commit that came back, with the records that waited for it.
pub(super) struct Landed {
    /// Why the commit was not accepted, if it was not.
    pub refused: Option<String>,
    pub waiting: Waiting,
}

/// The commits with state in flight.
#[derive(Default)]
pub(super) struct StateCommits {
    flights: Vec<Flight>,
}

impl StateCommits {
    pub fn busy(&self, owner: Owner) -> bool {
        self.flights.iter().any(|f| f.owner == owner)
    }

    /// Runs `commit` (a synchronous commit) on a blocking thread; `waiting`
    /// waits for it. The owner must not be [`busy`](Self::busy).
    pub fn start(
        &mut self,
        owner: Owner,
        commit: impl FnOnce() -> KafkaResult<()> + Send + 'static,
        waiting: Waiting,
    ) {
        let task = tokio::task::spawn_blocking(commit);
        self.flights.push(Flight {
            owner,
            task,
            waiting,
        });
    }

    /// Resolves once a commit in flight comes back; never while there is none.
    /// Cancel-safe: a flight is taken only with its result.
    pub async fn landed(&mut self) -> Landed {
        if self.flights.is_empty() {
            return std::future::pending().await;
        }
        let (result, i, _) =
            futures::future::select_all(self.flights.iter_mut().map(|f| &mut f.task)).await;
        let flight = self.flights.swap_remove(i);
        landed(result, flight.waiting)
    }

    /// Waits for `owner`'s commit in flight, if there is one.
    pub async fn landed_of(&mut self, owner: Owner) -> Option<Landed> {
        let i = self.flights.iter().position(|f| f.owner == owner)?;
        let result = (&mut self.flights[i].task).await;
        let flight = self.flights.swap_remove(i);
        Some(landed(result, flight.waiting))
    }
}

fn landed(result: Result<KafkaResult<()>, tokio::task::JoinError>, waiting: Waiting) -> Landed {
    let refused = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(format!("the commit's thread failed: {e}")),
    };
    Landed { refused, waiting }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode;

    fn unit(k: i32) -> Waiting {
        Waiting::Unit {
            k,
            generation: 1,
            records: Vec::new(),
        }
    }

    #[tokio::test]
    async fn each_owner_has_its_own_flight() {
        let mut commits = StateCommits::default();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        commits.start(
            Owner::Unit(1),
            move || {
                rx.recv().ok();
                Ok(())
            },
            unit(1),
        );
        commits.start(
            Owner::Unit(2),
            || {
                Err(KafkaError::ConsumerCommit(
                    RDKafkaErrorCode::RebalanceInProgress,
                ))
            },
            unit(2),
        );
        assert!(commits.busy(Owner::Unit(1)) && commits.busy(Owner::Unit(2)));
        assert!(!commits.busy(Owner::Partitions));
        // Unit 1's commit is held: unit 2's lands first, refused.
        let first = commits.landed().await;
        assert!(matches!(first.waiting, Waiting::Unit { k: 2, .. }));
        assert!(first.refused.is_some_and(|e| e.contains("Rebalance")));
        assert!(!commits.busy(Owner::Unit(2)));
        tx.send(()).ok();
        let second = commits.landed_of(Owner::Unit(1)).await;
        assert!(second.is_some_and(|l| l.refused.is_none()));
        assert!(commits.landed_of(Owner::Unit(1)).await.is_none());
    }
}
