//! Payloads after the signal: risk-manager verdicts, order events and PnL
//! snapshots, so that every service shares one definition.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::broker::BrokerNamespace;
use super::decimal;
use super::signal::{SignalType, TradingSignal};
use super::time::Timestamp;

/// Risk rule name → passed.
pub type RiskChecks = BTreeMap<String, bool>;

/// `validated_signal`: a signal the risk manager let through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatedSignal {
    pub original_signal: TradingSignal,
    pub validated_quantity: u64,
    #[serde(default, with = "decimal::exact_option")]
    pub validated_price: Option<Decimal>,
    pub risk_checks: RiskChecks,
    pub timestamp: Timestamp,
}

/// `rejected_signal`: a signal the risk manager stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedSignal {
    pub original_signal: TradingSignal,
    /// Failed rules as `"<Rule>: <reason>"`, joined by `"; "`.
    pub rejection_reason: String,
    pub risk_checks: RiskChecks,
    pub timestamp: Timestamp,
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderStatus {
    Pending,
    Placed,
    Filled,
    Cancelled,
    Rejected,
    Failed,
}

/// `order_placed`: an order handed to the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: String,
    pub instrument_token: u32,
    pub signal_type: SignalType,
    pub quantity: u64,
    #[serde(default, with = "decimal::exact_option")]
    pub price: Option<Decimal>,
    pub timestamp: Timestamp,
    pub broker: BrokerNamespace,
    pub status: OrderStatus,
    pub strategy_id: Option<String>,
    pub execution_mode: Option<BrokerNamespace>,
}

/// `order_filled`: an order executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderFilled {
    pub order_id: String,
    pub instrument_token: u32,
    pub quantity: u64,
    #[serde(with = "decimal::exact")]
    pub fill_price: Decimal,
    pub timestamp: Timestamp,
    pub broker: BrokerNamespace,
    #[serde(default = "buy")]
    pub side: SignalType,
    pub strategy_id: Option<String>,
    pub signal_type: Option<SignalType>,
    pub execution_mode: Option<BrokerNamespace>,
    #[serde(default, with = "decimal::exact_option")]
    pub fees: Option<Decimal>,
}

fn buy() -> SignalType {
    SignalType::Buy
}

/// `order_failed`: an order that could not be placed or executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderFailed {
    pub strategy_id: String,
    pub instrument_token: u32,
    pub signal_type: SignalType,
    pub quantity: u64,
    #[serde(default, with = "decimal::exact_option")]
    pub price: Option<Decimal>,
    /// Absent when the order failed before the broker gave it an id.
    pub order_id: Option<String>,
    pub execution_mode: BrokerNamespace,
    pub error_message: String,
    pub timestamp: Timestamp,
    pub broker: BrokerNamespace,
}

/// `pnl_snapshot`: profit and loss, per instrument or (`instrument_token` null)
/// for the whole portfolio. The strategy is only in the message key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PnlSnapshot {
    pub broker: BrokerNamespace,
    pub instrument_token: Option<u32>,
    #[serde(with = "decimal::exact")]
    pub realized_pnl: Decimal,
    #[serde(with = "decimal::exact")]
    pub unrealized_pnl: Decimal,
    #[serde(with = "decimal::exact")]
    pub total_pnl: Decimal,
    pub timestamp: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_side_defaults_to_buy_and_fees_are_optional() {
        let f: OrderFilled = serde_json::from_str(
            r#"{"order_id":"o1","instrument_token":1,"quantity":5,"fill_price":"10.50","timestamp":"2025-08-29T04:45:04Z","broker":"paper"}"#,
        )
        .unwrap();
        assert_eq!(f.side, SignalType::Buy);
        assert_eq!(f.fees, None);
        assert_eq!(f.fill_price.to_string(), "10.50");
    }

    #[test]
    fn order_status_is_upper_case_and_closed() {
        let s: OrderStatus = serde_json::from_str("\"CANCELLED\"").unwrap();
        assert_eq!(s, OrderStatus::Cancelled);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"CANCELLED\"");
        assert!(serde_json::from_str::<OrderStatus>("\"LOST\"").is_err());
    }

    #[test]
    fn portfolio_snapshot_has_no_instrument() {
        let p: PnlSnapshot = serde_json::from_str(
            r#"{"broker":"zerodha","instrument_token":null,"realized_pnl":"0.0","unrealized_pnl":-1.5,"total_pnl":"-1.5","timestamp":"2025-08-29T04:45:04Z"}"#,
        )
        .unwrap();
        assert_eq!(p.instrument_token, None);
        assert_eq!(p.unrealized_pnl.to_string(), "-1.5");
    }
}
