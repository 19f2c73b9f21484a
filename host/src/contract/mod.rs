//! The event contract: what travels on the topics, byte for byte
//! (`shared/spec/event-contract.md`). Read in this order:
//! - [`event_type`]: `EventType`, the closed set of `type` values.
//! - [`broker`]: `BrokerNamespace` and the fixed `shared` / `system` brokers.
//! - [`decimal`]: exact decimals as JSON strings (serde `with` helpers).
//! - [`time`]: `Timestamp`, RFC 3339 UTC that insists on an offset.
//! - [`envelope`]: `EventEnvelope`, the object around every payload; encoding.
//! - [`tick`]: `MarketTick`, every field a feed sends.
//! - [`signal`]: `TradingSignal` and `SignalType`.
//! - [`downstream`]: risk verdicts, order events, PnL snapshots.
//! - [`payload`]: `Payload`, any one payload chosen by `type`.
//! - [`decode`]: bytes → typed envelope, with `DecodeError`; `fast_tick` reads
//!   the common tick shape without serde and leaves the rest to it.
//! - [`derive`]: root ids at the edge, child envelopes with deterministic ids.

pub mod broker;
pub mod decimal;
pub mod decode;
pub mod derive;
pub mod downstream;
pub mod envelope;
pub mod event_type;
mod fast_tick;
pub mod payload;
pub mod signal;
pub mod tick;
pub mod time;

pub use broker::{BrokerNamespace, UnknownBroker, SHARED, SYSTEM};
pub use decode::{decode_as, decode_envelope, decode_tick, DecodeError, MAX_MESSAGE_BYTES};
pub use derive::{child_id, new_root_id, Lineage, NewEvent};
pub use downstream::{
    OrderFailed, OrderFilled, OrderPlaced, OrderStatus, PnlSnapshot, RejectedSignal, RiskChecks,
    ValidatedSignal,
};
pub use envelope::{check_id, EncodeError, EventEnvelope, MAX_ID_CHARS, VERSION};
pub use event_type::{EventType, UnknownEventType};
pub use payload::Payload;
pub use signal::{SignalError, SignalType, TradingSignal};
pub use tick::{Depth, DepthLevel, MarketTick, Ohlc, TickMode};
pub use time::{TimeError, Timestamp};

#[cfg(test)]
mod tests;
