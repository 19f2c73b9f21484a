//! `EventType`: the closed set of event types, lower snake case on the wire.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// The `type` of an envelope. Parsed case-insensitively, written lower snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    MarketTick,
    TradingSignal,
    ValidatedSignal,
    RejectedSignal,
    OrderPlaced,
    OrderFilled,
    OrderFailed,
    PnlSnapshot,
    SystemError,
}

/// A `type` text that names no known event type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type `{value}`")]
pub struct UnknownEventType {
    /// The text as it came.
    pub value: String,
}

impl EventType {
    /// Every event type, in contract order.
    pub const ALL: [EventType; 9] = [
        EventType::MarketTick,
        EventType::TradingSignal,
        EventType::ValidatedSignal,
        EventType::RejectedSignal,
        EventType::OrderPlaced,
        EventType::OrderFilled,
        EventType::OrderFailed,
        EventType::PnlSnapshot,
        EventType::SystemError,
    ];

    /// The wire name, lower snake case.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::MarketTick => "market_tick",
            EventType::TradingSignal => "trading_signal",
            EventType::ValidatedSignal => "validated_signal",
            EventType::RejectedSignal => "rejected_signal",
            EventType::OrderPlaced => "order_placed",
            EventType::OrderFilled => "order_filled",
            EventType::OrderFailed => "order_failed",
            EventType::PnlSnapshot => "pnl_snapshot",
            EventType::SystemError => "system_error",
        }
    }

    /// Parses a wire name in any letter case (`MARKET_TICK`, `Market_Tick`).
    pub fn parse(text: &str) -> Result<EventType, UnknownEventType> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownEventType {
                value: text.to_owned(),
            })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::parse(s)
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = EventType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event type name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EventType, E> {
                EventType::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_letter_case_parses_to_the_same_type() {
        for text in ["market_tick", "MARKET_TICK", "Market_Tick"] {
            assert_eq!(EventType::parse(text), Ok(EventType::MarketTick));
        }
        for t in EventType::ALL {
            assert_eq!(EventType::parse(&t.as_str().to_uppercase()), Ok(t));
        }
    }

    #[test]
    fn unknown_type_names_the_value() {
        let err = EventType::parse("market_tock").unwrap_err();
        assert_eq!(err.value, "market_tock");
        assert!(err.to_string().contains("market_tock"));
    }

    #[test]
    fn serializes_lower_snake_case() {
        let json = serde_json::to_string(&EventType::PnlSnapshot).unwrap();
        assert_eq!(json, "\"pnl_snapshot\"");
        let back: EventType = serde_json::from_str("\"PNL_SNAPSHOT\"").unwrap();
        assert_eq!(back, EventType::PnlSnapshot);
    }
}
