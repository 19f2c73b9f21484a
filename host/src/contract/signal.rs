//! `TradingSignal`: the `trading_signal` payload the strategy host writes.

use std::fmt;

use rust_decimal::Decimal;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::decimal;
use super::time::Timestamp;

/// A signal's side: `BUY` or `SELL` on the wire. `HOLD` is never emitted and is
/// rejected on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalType {
    Buy,
    Sell,
}

impl SignalType {
    /// The wire name, upper case.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignalType::Buy => "BUY",
            SignalType::Sell => "SELL",
        }
    }
}

impl fmt::Display for SignalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SignalType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SignalType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = SignalType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`BUY` or `SELL`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SignalType, E> {
                if v.eq_ignore_ascii_case("BUY") {
                    Ok(SignalType::Buy)
                } else if v.eq_ignore_ascii_case("SELL") {
                    Ok(SignalType::Sell)
                } else if v.eq_ignore_ascii_case("HOLD") {
                    Err(E::custom(
                        "`HOLD` is not a signal: only `BUY` or `SELL` travel",
                    ))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A strategy's request to trade. `timestamp` is the tick's time, not the
/// signal's creation time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradingSignal {
    pub strategy_id: String,
    pub instrument_token: u32,
    pub signal_type: SignalType,
    /// Always positive.
    #[serde(deserialize_with = "positive_quantity")]
    pub quantity: u64,
    #[serde(default, with = "decimal::exact_option")]
    pub price: Option<Decimal>,
    pub timestamp: Timestamp,
    /// In `0..=1` when present.
    #[serde(default, deserialize_with = "unit_confidence")]
    pub confidence: Option<f64>,
    /// Free-form; `{}` when the strategy gave none (`null` reads as empty).
    #[serde(default, deserialize_with = "map_or_null")]
    pub metadata: Map<String, Value>,
}

/// A signal that breaks the payload's rules.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignalError {
    #[error("quantity must be positive")]
    ZeroQuantity,
    #[error("confidence {0} is outside 0..=1")]
    ConfidenceOutOfRange(f64),
    #[error("strategy_id is empty")]
    EmptyStrategyId,
}

impl TradingSignal {
    /// Checks the rules that decoding enforces, for signals built in code.
    pub fn validate(&self) -> Result<(), SignalError> {
        if self.quantity == 0 {
            return Err(SignalError::ZeroQuantity);
        }
        if let Some(c) = self.confidence {
            if !(0.0..=1.0).contains(&c) {
                return Err(SignalError::ConfidenceOutOfRange(c));
            }
        }
        if self.strategy_id.is_empty() {
            return Err(SignalError::EmptyStrategyId);
        }
        Ok(())
    }
}

fn positive_quantity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match u64::deserialize(deserializer)? {
        0 => Err(de::Error::custom(SignalError::ZeroQuantity)),
        q => Ok(q),
    }
}

fn unit_confidence<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(deserializer)? {
        Some(c) if !(0.0..=1.0).contains(&c) => {
            Err(de::Error::custom(SignalError::ConfidenceOutOfRange(c)))
        }
        c => Ok(c),
    }
}

fn map_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNAL: &str = r#"{"strategy_id":"momentum_1","instrument_token":738561,"signal_type":"BUY","quantity":100,"price":"2501.55","timestamp":"2025-08-29T04:45:04Z","confidence":0.0625,"metadata":{}}"#;

    #[test]
    fn contract_example_round_trips_byte_for_byte() {
        let s: TradingSignal = serde_json::from_str(SIGNAL).unwrap();
        assert_eq!(s.signal_type, SignalType::Buy);
        assert_eq!(serde_json::to_string(&s).unwrap(), SIGNAL);
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn hold_is_rejected_with_a_clear_error() {
        let text = SIGNAL.replace("\"BUY\"", "\"HOLD\"");
        let err = serde_json::from_str::<TradingSignal>(&text).unwrap_err();
        assert!(err.to_string().contains("`HOLD` is not a signal"), "{err}");
        let text = SIGNAL.replace("\"BUY\"", "\"sell\"");
        let s: TradingSignal = serde_json::from_str(&text).unwrap();
        assert_eq!(s.signal_type, SignalType::Sell);
    }

    #[test]
    fn quantity_and_confidence_are_checked() {
        let zero = SIGNAL.replace("\"quantity\":100", "\"quantity\":0");
        assert!(serde_json::from_str::<TradingSignal>(&zero).is_err());
        let neg = SIGNAL.replace("\"quantity\":100", "\"quantity\":-5");
        assert!(serde_json::from_str::<TradingSignal>(&neg).is_err());
        let high = SIGNAL.replace("0.0625", "1.5");
        assert!(serde_json::from_str::<TradingSignal>(&high).is_err());
        let none = SIGNAL.replace("0.0625", "null");
        let s: TradingSignal = serde_json::from_str(&none).unwrap();
        assert_eq!(s.confidence, None);
    }

    #[test]
    fn metadata_defaults_to_empty() {
        let text = SIGNAL.replace(",\"metadata\":{}", "");
        let s: TradingSignal = serde_json::from_str(&text).unwrap();
        assert!(s.metadata.is_empty());
        let text = SIGNAL.replace("\"metadata\":{}", "\"metadata\":null");
        let s: TradingSignal = serde_json::from_str(&text).unwrap();
        assert!(s.metadata.is_empty());
    }
}
