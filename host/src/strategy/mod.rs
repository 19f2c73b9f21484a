//! Running strategies: one [`slot::StrategySlot`] per loaded plugin (instance,
//! snapshots, fault recovery, quarantine, hot swap), a [`set::StrategySet`] that
//! routes each tick to the strategies subscribed to its instrument, and the
//! [`events`] every lifecycle change is logged and counted as; a batch's strategies
//! run side by side on the [`workers`], or on [`lanes`] that wait for no other.
pub mod events;
pub mod lanes;
pub mod live;
pub mod pool;
pub mod set;
pub mod slot;
pub mod slot_config;
pub mod update;
pub mod workers;

pub use events::{EventCounts, EventKind, EventSink};
pub use live::{LiveStrategies, LOCAL};
pub use set::{SetOutput, StrategySet};
pub use slot::{SlotConfig, SlotStats, StrategySlot};
pub use update::{Lifecycle, PluginUpdate};
