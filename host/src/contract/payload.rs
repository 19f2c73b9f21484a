//! `Payload`: any one of the contract's payloads, chosen by the envelope `type`.

use serde::Serialize;

use super::downstream::{
    OrderFailed, OrderFilled, OrderPlaced, PnlSnapshot, RejectedSignal, ValidatedSignal,
};
use super::event_type::EventType;
use super::signal::TradingSignal;
use super::tick::MarketTick;

/// The typed `data` of an envelope. Written as the bare payload object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Payload {
    MarketTick(MarketTick),
    TradingSignal(TradingSignal),
    ValidatedSignal(ValidatedSignal),
    RejectedSignal(RejectedSignal),
    OrderPlaced(OrderPlaced),
    OrderFilled(OrderFilled),
    OrderFailed(OrderFailed),
    PnlSnapshot(PnlSnapshot),
    /// Dead-letter records are built by the DLQ module; kept as plain JSON here.
    SystemError(serde_json::Value),
}

impl Payload {
    /// The event type this payload belongs to.
    pub fn event_type(&self) -> EventType {
        match self {
            Payload::MarketTick(_) => EventType::MarketTick,
            Payload::TradingSignal(_) => EventType::TradingSignal,
            Payload::ValidatedSignal(_) => EventType::ValidatedSignal,
            Payload::RejectedSignal(_) => EventType::RejectedSignal,
            Payload::OrderPlaced(_) => EventType::OrderPlaced,
            Payload::OrderFilled(_) => EventType::OrderFilled,
            Payload::OrderFailed(_) => EventType::OrderFailed,
            Payload::PnlSnapshot(_) => EventType::PnlSnapshot,
            Payload::SystemError(_) => EventType::SystemError,
        }
    }
}
