//! The momentum strategy linked natively, as a hand-written Rust runner would run
//! it: each decoded `MarketTick` into the SDK's owned tick, then a call through a
//! trait object. Shared by the dispatch bench and the end-to-end native runner
//! (`examples/native_runner.rs`, which includes this file by path).

use alpha_panda::contract::{self, MarketTick};
use alpha_panda::manifest::{Manifest, ParamValue};
use alpha_panda::wasm::convert::{decimal_to_wit, ConvertError};
use alpha_panda_sdk::runner::Output;
use alpha_panda_sdk::tick::{DepthLevel, Ohlc, TickMode};
use alpha_panda_sdk::{Decimal, InitContext, Params, Runner, Strategy, Tick, TickData};
use momentum::Momentum;

/// What a natively linked host would hold per strategy: a trait object it calls
/// once per tick with the SDK's borrowed view.
pub trait TickSink {
    fn on_tick(&mut self, tick_index: u32, tick: &Tick<'_>, out: &mut Output);
}

impl<S: Strategy> TickSink for Runner<S> {
    fn on_tick(&mut self, tick_index: u32, tick: &Tick<'_>, out: &mut Output) {
        self.handle(tick_index, tick, out);
    }
}

/// A decimal as the SDK holds it, converted as the host converts it for a plugin.
fn sdk_decimal(d: rust_decimal::Decimal, field: &'static str) -> Result<Decimal, ConvertError> {
    decimal_to_wit(d, field).map(Decimal::from)
}

fn sdk_level(l: &contract::DepthLevel) -> Result<DepthLevel, ConvertError> {
    Ok(DepthLevel {
        price: sdk_decimal(l.price, "depth.price")?,
        quantity: l.quantity,
        orders: u32::try_from(l.orders).unwrap_or(u32::MAX),
    })
}

fn sdk_levels(levels: &[contract::DepthLevel]) -> Result<Vec<DepthLevel>, ConvertError> {
    let mut out = Vec::with_capacity(levels.len());
    for l in levels {
        out.push(sdk_level(l)?);
    }
    Ok(out)
}

/// A decoded `MarketTick` into the SDK's owned tick, through the SDK's public API
/// (what a native host would do with the tick in hand: every field, depth included);
/// a value the SDK cannot hold is the host's error for it.
pub fn tick_data(t: &MarketTick) -> Result<TickData, ConvertError> {
    let mut d = TickData::with_price(
        t.instrument_token,
        sdk_decimal(t.last_price, "last_price")?,
        t.timestamp.to_unix_micros(),
    );
    if let Some(s) = &t.symbol {
        d = d.symbol(s);
    }
    if let Some(v) = t.volume_traded {
        d = d.volume_traded(v);
    }
    if let Some(v) = t.last_traded_quantity {
        d = d.last_traded_quantity(v);
    }
    if let Some(v) = t.average_traded_price {
        d = d.average_traded_price(sdk_decimal(v, "average_traded_price")?);
    }
    if let Some(v) = t.total_buy_quantity {
        d = d.total_buy_quantity(v);
    }
    if let Some(v) = t.total_sell_quantity {
        d = d.total_sell_quantity(v);
    }
    if let Some(v) = t.change {
        d = d.change(sdk_decimal(v, "change")?);
    }
    if let Some(o) = &t.ohlc {
        d = d.ohlc(Ohlc {
            open: sdk_decimal(o.open, "ohlc.open")?,
            high: sdk_decimal(o.high, "ohlc.high")?,
            low: sdk_decimal(o.low, "ohlc.low")?,
            close: sdk_decimal(o.close, "ohlc.close")?,
        });
    }
    if let Some(v) = t.oi {
        d = d.oi(v);
    }
    if let Some(v) = t.oi_day_high {
        d = d.oi_day_high(v);
    }
    if let Some(v) = t.oi_day_low {
        d = d.oi_day_low(v);
    }
    if let Some(v) = &t.last_trade_time {
        d = d.last_trade_time_us(v.to_unix_micros());
    }
    if let Some(v) = &t.exchange_timestamp {
        d = d.exchange_timestamp_us(v.to_unix_micros());
    }
    if let Some(depth) = &t.depth {
        d = d.depth(sdk_levels(&depth.buy)?, sdk_levels(&depth.sell)?);
    }
    if let Some(m) = t.mode {
        d = d.mode(match m {
            contract::TickMode::Ltp => TickMode::Ltp,
            contract::TickMode::Quote => TickMode::Quote,
            contract::TickMode::Full => TickMode::Full,
        });
    }
    if let Some(v) = t.tradable {
        d = d.tradable(v);
    }
    Ok(d)
}

pub fn native_runner(m: &Manifest) -> Box<dyn TickSink> {
    let mut params = Params::new();
    for (k, v) in &m.params {
        params = match v {
            ParamValue::Integer(i) => params.with(k, *i),
            ParamValue::Float(f) => params.with(k, *f),
            ParamValue::Boolean(b) => params.with(k, *b),
            ParamValue::Text(s) => params.with(k, s.as_str()),
        };
    }
    let ctx = InitContext {
        strategy_id: m.strategy_id.clone(),
        instruments: m.instruments.clone(),
        seed: alpha_panda::strategy::slot::seed_for(&m.strategy_id),
        ..Default::default()
    };
    Box::new(Runner::<Momentum>::init(&params, &ctx).expect("momentum accepts its manifest"))
}
