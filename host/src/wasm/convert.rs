//! Market ticks into the WIT `tick-batch`: flat tick records, with the batch's
//! distinct symbols and all depth levels stored once per batch, so a call costs one
//! allocation in the guest for the ticks, not several per tick.

use rust_decimal::Decimal;

use super::bindings::types::{self, DepthLevel, Ohlc, Span, Tick, TickBatch, TickMode};
use crate::contract::{self, MarketTick};

/// A value the plugin ABI cannot carry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("field `{field}`: {value} does not fit the plugin ABI (64-bit mantissa, scale <= 255)")]
pub struct ConvertError {
    pub field: &'static str,
    pub value: String,
}

/// A decimal as `{mantissa, scale}`, normalized first if the mantissa overflows.
pub fn decimal_to_wit(d: Decimal, field: &'static str) -> Result<types::Decimal, ConvertError> {
    let fit = |d: Decimal| -> Option<types::Decimal> {
        Some(types::Decimal {
            mantissa: i64::try_from(d.mantissa()).ok()?,
            scale: u8::try_from(d.scale()).ok()?,
        })
    };
    fit(d)
        .or_else(|| fit(d.normalize()))
        .ok_or_else(|| ConvertError {
            field,
            value: d.to_string(),
        })
}

fn opt_dec(
    d: Option<Decimal>,
    field: &'static str,
) -> Result<Option<types::Decimal>, ConvertError> {
    d.map(|d| decimal_to_wit(d, field)).transpose()
}

fn mode(m: contract::TickMode) -> TickMode {
    match m {
        contract::TickMode::Ltp => TickMode::Ltp,
        contract::TickMode::Quote => TickMode::Quote,
        contract::TickMode::Full => TickMode::Full,
    }
}

/// Builds batches, reusing its buffers between calls.
#[derive(Default)]
pub struct BatchBuilder {
    batch: TickBatch,
}

#[allow(clippy::derivable_impls)]
impl Default for TickBatch {
    fn default() -> Self {
        TickBatch {
            ticks: Vec::new(),
            levels: Vec::new(),
            symbols: Vec::new(),
        }
    }
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the batch, keeping its capacity.
    pub fn clear(&mut self) {
        self.batch.ticks.clear();
        self.batch.levels.clear();
        self.batch.symbols.clear();
    }

    pub fn len(&self) -> usize {
        self.batch.ticks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.batch.ticks.is_empty()
    }

    pub fn batch(&self) -> &TickBatch {
        &self.batch
    }

    /// Takes the built batch out, leaving an empty one.
    pub fn take(&mut self) -> TickBatch {
        std::mem::take(&mut self.batch)
    }

    fn symbol_index(&mut self, symbol: &str) -> u32 {
        if let Some(i) = self.batch.symbols.iter().rposition(|s| s == symbol) {
            return i as u32;
        }
        self.batch.symbols.push(symbol.to_owned());
        (self.batch.symbols.len() - 1) as u32
    }

    fn levels(
        &mut self,
        levels: &[contract::DepthLevel],
        side: &'static str,
    ) -> Result<Span, ConvertError> {
        let start = self.batch.levels.len() as u32;
        for l in levels {
            self.batch.levels.push(DepthLevel {
                price: decimal_to_wit(l.price, side)?,
                quantity: l.quantity,
                orders: u32::try_from(l.orders).unwrap_or(u32::MAX),
            });
        }
        Ok(Span {
            start,
            len: levels.len() as u32,
        })
    }

    /// Appends one tick. On error nothing is appended.
    pub fn push(&mut self, t: &MarketTick) -> Result<(), ConvertError> {
        let levels_before = self.batch.levels.len();
        let symbols_before = self.batch.symbols.len();
        let result = self.push_inner(t);
        if result.is_err() {
            self.batch.levels.truncate(levels_before);
            self.batch.symbols.truncate(symbols_before);
        }
        result
    }

    fn push_inner(&mut self, t: &MarketTick) -> Result<(), ConvertError> {
        let empty = Span { start: 0, len: 0 };
        let (has_depth, depth_buy, depth_sell) = match &t.depth {
            Some(d) => (
                true,
                self.levels(&d.buy, "depth.buy.price")?,
                self.levels(&d.sell, "depth.sell.price")?,
            ),
            None => (false, empty, empty),
        };
        let ohlc = match &t.ohlc {
            Some(o) => Some(Ohlc {
                open: decimal_to_wit(o.open, "ohlc.open")?,
                high: decimal_to_wit(o.high, "ohlc.high")?,
                low: decimal_to_wit(o.low, "ohlc.low")?,
                close: decimal_to_wit(o.close, "ohlc.close")?,
            }),
            None => None,
        };
        let symbol = t.symbol.as_deref().map(|s| self.symbol_index(s));
        let tick = Tick {
            instrument_token: t.instrument_token,
            last_price: decimal_to_wit(t.last_price, "last_price")?,
            timestamp_us: t.timestamp.to_unix_micros(),
            symbol,
            volume_traded: t.volume_traded,
            last_traded_quantity: t.last_traded_quantity,
            average_traded_price: opt_dec(t.average_traded_price, "average_traded_price")?,
            total_buy_quantity: t.total_buy_quantity,
            total_sell_quantity: t.total_sell_quantity,
            change: opt_dec(t.change, "change")?,
            ohlc,
            oi: t.oi,
            oi_day_high: t.oi_day_high,
            oi_day_low: t.oi_day_low,
            last_trade_time_us: t.last_trade_time.as_ref().map(|x| x.to_unix_micros()),
            exchange_timestamp_us: t.exchange_timestamp.as_ref().map(|x| x.to_unix_micros()),
            has_depth,
            depth_buy,
            depth_sell,
            mode: t.mode.map(mode),
            tradable: t.tradable,
        };
        self.batch.ticks.push(tick);
        Ok(())
    }
}

/// A batch holding the ticks at `keep` positions of `batch`, for a per-tick re-run.
pub fn sub_batch(batch: &TickBatch, keep: &[usize]) -> TickBatch {
    let mut out = TickBatch::default();
    for &i in keep {
        let Some(t) = batch.ticks.get(i) else {
            continue;
        };
        let mut t = *t;
        t.depth_buy = copy_span(batch, &mut out, t.depth_buy);
        t.depth_sell = copy_span(batch, &mut out, t.depth_sell);
        t.symbol = t.symbol.and_then(|s| {
            let name = batch.symbols.get(s as usize)?;
            if let Some(p) = out.symbols.iter().position(|x| x == name) {
                return Some(p as u32);
            }
            out.symbols.push(name.clone());
            Some((out.symbols.len() - 1) as u32)
        });
        out.ticks.push(t);
    }
    out
}

fn copy_span(from: &TickBatch, to: &mut TickBatch, span: Span) -> Span {
    let start = to.levels.len() as u32;
    let s = span.start as usize;
    let e = s.saturating_add(span.len as usize).min(from.levels.len());
    if s < e {
        to.levels.extend_from_slice(&from.levels[s..e]);
    }
    Span {
        start,
        len: to.levels.len() as u32 - start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_tick() -> MarketTick {
        let text = include_str!("../../../tests/fixtures/market_tick_full.json");
        let env: serde_json::Value = serde_json::from_str(text).unwrap();
        serde_json::from_value(env["data"].clone()).unwrap()
    }

    #[test]
    fn every_field_crosses() {
        let t = full_tick();
        let mut b = BatchBuilder::new();
        b.push(&t).unwrap();
        b.push(&t).unwrap();
        let batch = b.batch();
        assert_eq!(batch.ticks.len(), 2);
        assert_eq!(
            batch.symbols,
            vec!["RELIANCE".to_owned()],
            "symbols interned"
        );
        let w = &batch.ticks[1];
        assert_eq!(w.instrument_token, 738561);
        assert_eq!((w.last_price.mantissa, w.last_price.scale), (250155, 2));
        assert_eq!(w.volume_traded, Some(1234567));
        assert_eq!(w.symbol, Some(0));
        assert!(w.has_depth);
        assert_eq!((w.depth_buy.start, w.depth_buy.len), (3, 2));
        assert_eq!((w.depth_sell.start, w.depth_sell.len), (5, 1));
        assert_eq!(batch.levels[5].quantity, 7);
        assert_eq!(w.ohlc.map(|o| o.low.mantissa), Some(24755));
        assert_eq!(w.mode, Some(TickMode::Full));
        assert_eq!(w.tradable, Some(true));
        assert_eq!(w.timestamp_us, t.timestamp.to_unix_micros());
    }

    #[test]
    fn sub_batch_keeps_depth_and_symbols() {
        let mut b = BatchBuilder::new();
        let t = full_tick();
        b.push(&MarketTick::new(1, Decimal::ONE, t.timestamp))
            .unwrap();
        b.push(&t).unwrap();
        let sub = sub_batch(b.batch(), &[1]);
        assert_eq!(sub.ticks.len(), 1);
        assert_eq!(
            (sub.ticks[0].depth_buy.start, sub.ticks[0].depth_buy.len),
            (0, 2)
        );
        assert_eq!(sub.levels.len(), 3);
        assert_eq!(sub.symbols, vec!["RELIANCE".to_owned()]);
    }

    #[test]
    fn huge_decimal_is_an_error_not_a_panic() {
        let d = Decimal::from_i128_with_scale(i128::from(i64::MAX) * 1000 + 1, 0);
        assert!(decimal_to_wit(d, "last_price").is_err());
        let d = Decimal::from_i128_with_scale(i128::from(i64::MAX) * 1000, 3);
        assert!(decimal_to_wit(d, "last_price").is_ok());
    }
}
