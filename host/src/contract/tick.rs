//! `MarketTick`: the `market_tick` payload with every field a feed sends.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::decimal;
use super::time::Timestamp;

/// One tick from `market.ticks`. Optional fields read `null` or absent as `None`
/// and are written as `null`. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketTick {
    pub instrument_token: u32,
    #[serde(with = "decimal::exact")]
    pub last_price: Decimal,
    pub timestamp: Timestamp,
    pub symbol: Option<String>,
    pub volume_traded: Option<u64>,
    pub last_traded_quantity: Option<u64>,
    #[serde(default, with = "decimal::exact_option")]
    pub average_traded_price: Option<Decimal>,
    pub total_buy_quantity: Option<u64>,
    pub total_sell_quantity: Option<u64>,
    /// Change from the previous close, in percent.
    #[serde(default, with = "decimal::exact_option")]
    pub change: Option<Decimal>,
    pub ohlc: Option<Ohlc>,
    pub oi: Option<u64>,
    pub oi_day_high: Option<u64>,
    pub oi_day_low: Option<u64>,
    pub last_trade_time: Option<Timestamp>,
    pub exchange_timestamp: Option<Timestamp>,
    pub depth: Option<Depth>,
    pub mode: Option<TickMode>,
    pub tradable: Option<bool>,
}

impl MarketTick {
    /// A tick with only the required fields set.
    pub fn new(instrument_token: u32, last_price: Decimal, timestamp: Timestamp) -> MarketTick {
        MarketTick {
            instrument_token,
            last_price,
            timestamp,
            symbol: None,
            volume_traded: None,
            last_traded_quantity: None,
            average_traded_price: None,
            total_buy_quantity: None,
            total_sell_quantity: None,
            change: None,
            ohlc: None,
            oi: None,
            oi_day_high: None,
            oi_day_low: None,
            last_trade_time: None,
            exchange_timestamp: None,
            depth: None,
            mode: None,
            tradable: None,
        }
    }
}

/// The session's open, high, low and close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ohlc {
    #[serde(with = "decimal::exact")]
    pub open: Decimal,
    #[serde(with = "decimal::exact")]
    pub high: Decimal,
    #[serde(with = "decimal::exact")]
    pub low: Decimal,
    #[serde(with = "decimal::exact")]
    pub close: Decimal,
}

/// Market depth: best bids and offers, best first (feeds send up to 5 a side).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Depth {
    #[serde(default)]
    pub buy: Vec<DepthLevel>,
    #[serde(default)]
    pub sell: Vec<DepthLevel>,
}

/// One price level of [`Depth`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepthLevel {
    #[serde(with = "decimal::exact")]
    pub price: Decimal,
    pub quantity: u64,
    pub orders: u64,
}

/// The feed's subscription mode for the instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TickMode {
    Ltp,
    Quote,
    Full,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_tick_reads_and_writes_nulls() {
        let t: MarketTick = serde_json::from_str(
            r#"{"instrument_token":81153,"last_price":3987.4,"timestamp":"2025-08-29T04:45:06Z","extra":1}"#,
        )
        .unwrap();
        assert_eq!(t.last_price.to_string(), "3987.4");
        assert_eq!(t.depth, None);
        let out = serde_json::to_string(&t).unwrap();
        assert!(out.starts_with(r#"{"instrument_token":81153,"last_price":"3987.4","timestamp":"2025-08-29T04:45:06Z","symbol":null"#), "{out}");
        assert_eq!(serde_json::from_str::<MarketTick>(&out).unwrap(), t);
    }

    #[test]
    fn mode_is_lower_case_and_closed() {
        let m: TickMode = serde_json::from_str("\"quote\"").unwrap();
        assert_eq!(m, TickMode::Quote);
        assert!(serde_json::from_str::<TickMode>("\"snapshot\"").is_err());
    }
}
