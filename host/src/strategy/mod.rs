//! Running strategies: one [`slot::StrategySlot`] per loaded plugin (instance,
//! snapshots, fault recovery, quarantine, hot swap) and a [`set::StrategySet`] that
//! routes each tick to the strategies subscribed to its instrument.
pub mod live;
pub mod set;
pub mod slot;

pub use live::{Lifecycle, LiveStrategies, LOCAL};
pub use set::{SetOutput, StrategySet};
pub use slot::{SlotConfig, SlotStats, StrategySlot};
