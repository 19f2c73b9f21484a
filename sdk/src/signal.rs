//! `Signal`: what a strategy emits (side, quantity, optional price, confidence, metadata).
//! [`Side`] is the wire's own: host and SDK share the one type.

use alpha_panda_abi::signal as wire;
pub use alpha_panda_abi::Side;

use crate::Decimal;

/// The price a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Price {
    /// An exact price, e.g. the tick's own `last_price` (keeps its text, "2501.50").
    Exact(Decimal),
    /// A computed price; must be finite and > 0.
    Approx(f64),
}

impl From<Price> for wire::Price {
    fn from(p: Price) -> Self {
        match p {
            Price::Exact(d) => wire::Price::Exact(d.into()),
            Price::Approx(f) => wire::Price::Approx(f),
        }
    }
}

/// A trading signal, built fluently: `Signal::buy(100).price_exact(tick.last_price()).confidence(0.4)`.
///
/// Every field is public so tests can assert on emitted signals. A signal that is not
/// valid (quantity 0, a price that is not finite and > 0, a confidence outside `0..=1`,
/// an instrument the strategy is not subscribed to) turns into an error for the tick
/// that emitted it instead of reaching the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// `None`: the instrument of the tick being handled (required from `on_timer`).
    pub instrument_token: Option<u32>,
    pub side: Side,
    pub quantity: u64,
    pub price: Option<Price>,
    pub confidence: Option<f64>,
    /// Free-form key/value pairs, in insertion order.
    pub metadata: Vec<(String, String)>,
}

impl Signal {
    pub fn new(side: Side, quantity: u64) -> Self {
        Self {
            instrument_token: None,
            side,
            quantity,
            price: None,
            confidence: None,
            metadata: Vec::new(),
        }
    }

    pub fn buy(quantity: u64) -> Self {
        Self::new(Side::Buy, quantity)
    }

    pub fn sell(quantity: u64) -> Self {
        Self::new(Side::Sell, quantity)
    }

    /// An exact price, e.g. `tick.last_price()`.
    pub fn price_exact(mut self, price: Decimal) -> Self {
        self.price = Some(Price::Exact(price));
        self
    }

    /// A computed price.
    pub fn price(mut self, price: f64) -> Self {
        self.price = Some(Price::Approx(price));
        self
    }

    /// How sure the strategy is, in `0..=1`.
    pub fn confidence(mut self, confidence: f64) -> Self {
        self.confidence = Some(confidence);
        self
    }

    /// Adds one metadata pair.
    pub fn meta(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.metadata.push((key.into(), value.to_string()));
        self
    }

    /// Another instrument than the tick's (the strategy must be subscribed to it).
    pub fn instrument(mut self, instrument_token: u32) -> Self {
        self.instrument_token = Some(instrument_token);
        self
    }

    /// Why the host would refuse this signal, if it would.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.quantity == 0 {
            return Some("signal quantity is 0".to_owned());
        }
        match self.price {
            Some(Price::Approx(p)) if !(p.is_finite() && p > 0.0) => {
                return Some(format!("signal price {p} is not finite and > 0"));
            }
            Some(Price::Exact(d)) if !d.is_positive() => {
                return Some(format!("signal price {d} is not > 0"));
            }
            _ => {}
        }
        match self.confidence {
            Some(c) if !(0.0..=1.0).contains(&c) => {
                Some(format!("signal confidence {c} is outside 0..=1"))
            }
            _ => None,
        }
    }
}
