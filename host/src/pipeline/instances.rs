//! The strategies of each partition as the partition state machine drives them
//! ([`Instances`] for [`LiveStrategies`]): started, parked, restored, replayed
//! and snapshotted per partition.

use crate::contract::MarketTick;
use crate::partitions::{Instances, Snapshot};
use crate::state::StateRecord;
use crate::strategy::LiveStrategies;

impl Instances for LiveStrategies {
    fn start(&mut self, partition: i32) {
        self.restart(partition);
    }

    fn park(&mut self, partition: i32) {
        LiveStrategies::park(self, partition);
    }

    fn reinstate(&mut self, partition: i32) -> bool {
        self.unpark(partition)
    }

    fn drop_parked(&mut self, partition: i32) {
        LiveStrategies::drop_parked(self, partition);
    }

    fn stop(&mut self, partition: i32) {
        self.revoke(partition);
    }

    fn restore(&mut self, partition: i32, record: &StateRecord) -> Result<bool, String> {
        let slot = self
            .partition_mut(partition)
            .and_then(|set| set.get_mut(&record.strategy_id));
        match slot {
            None => Ok(false),
            Some(slot) => slot
                .restore_state(&record.state)
                .map(|()| true)
                .map_err(|e| e.to_string()),
        }
    }

    fn replay(&mut self, partition: i32, strategy_id: &str, ticks: &[&MarketTick]) {
        if let Some(set) = self.partition_mut(partition) {
            set.catch_up(strategy_id, ticks);
        }
    }

    fn snapshots(&mut self, partition: i32) -> Vec<Snapshot> {
        let Some(set) = self.partition_mut(partition) else {
            return Vec::new();
        };
        let ids: Vec<String> = set.slots().map(|s| s.strategy_id().to_owned()).collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(slot) = set.get_mut(&id) else {
                continue;
            };
            if slot.is_quarantined() {
                continue;
            }
            match slot.snapshot_now() {
                Ok(state) => out.push(Snapshot {
                    sha256: slot.sha256().to_owned(),
                    strategy_id: id,
                    state,
                }),
                Err(f) => {
                    tracing::warn!(partition, strategy_id = %id, "snapshot for the state topic faulted: {f}")
                }
            }
        }
        out
    }
}
