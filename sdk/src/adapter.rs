//! The Wasm export: turns the WIT calls (`init`, `on-ticks`, `snapshot`, `restore`) into
//! `Runner` calls, converting between generated and SDK types. Used by `export_strategy!`.

use std::cell::RefCell;

use crate::__bindings::alpha_panda::strategy::types as wit;
pub use crate::__bindings::exports::alpha_panda::strategy::strategy::Guest;
pub use wit::{BatchOutput, InitConfig, InitError, TickBatch};

use crate::runner::Output;
use crate::tick::TickCore;
use crate::{
    Decimal, DepthLevel, InitContext, Ohlc, ParamValue, Params, Price, Runner, Side, Strategy,
    Tick, TickMode,
};

/// One plugin instance: the strategy (once `init` succeeded) and reused buffers.
pub struct Instance<S> {
    runner: Option<Runner<S>>,
    levels: Vec<DepthLevel>,
    out: Output,
}

impl<S> Instance<S> {
    pub const fn new() -> Self {
        Self {
            runner: None,
            levels: Vec::new(),
            out: Output::new(),
        }
    }
}

impl<S> Default for Instance<S> {
    fn default() -> Self {
        Self::new()
    }
}

const BUSY: &str = "strategy instance re-entered";

pub fn init<S: Strategy>(cell: &RefCell<Instance<S>>, config: InitConfig) -> Result<(), InitError> {
    let mut inst = cell.try_borrow_mut().map_err(|_| InitError {
        param: None,
        message: BUSY.to_owned(),
    })?;
    inst.runner = None;
    let params = Params::from_pairs(config.params.into_iter().map(|(name, v)| {
        let v = match v {
            wit::ParamValue::Integer(i) => ParamValue::Integer(i),
            wit::ParamValue::Float(f) => ParamValue::Float(f),
            wit::ParamValue::Text(t) => ParamValue::Text(t),
            wit::ParamValue::Boolean(b) => ParamValue::Boolean(b),
        };
        (name, v)
    }));
    let ctx = InitContext {
        strategy_id: config.strategy_id,
        instruments: config.instruments,
        seed: config.seed,
    };
    let runner = params
        .and_then(|p| Runner::<S>::init(&p, &ctx))
        .map_err(|e| InitError {
            param: e.param,
            message: e.message,
        })?;
    inst.runner = Some(runner);
    Ok(())
}

pub fn on_ticks<S: Strategy>(cell: &RefCell<Instance<S>>, batch: TickBatch) -> BatchOutput {
    let Ok(mut guard) = cell.try_borrow_mut() else {
        return fail_all(&batch, BUSY);
    };
    let inst = &mut *guard;
    let Some(runner) = inst.runner.as_mut() else {
        return fail_all(&batch, "on-ticks called before a successful init");
    };
    inst.levels.clear();
    inst.levels.extend(batch.levels.iter().map(level));
    for (i, t) in batch.ticks.iter().enumerate() {
        let symbol = t
            .symbol
            .and_then(|s| batch.symbols.get(s as usize))
            .map(String::as_str);
        let (buy, sell) = if t.has_depth {
            (
                span(&inst.levels, t.depth_buy),
                span(&inst.levels, t.depth_sell),
            )
        } else {
            (&[][..], &[][..])
        };
        let tick = Tick::from_parts(core(t), symbol, buy, sell);
        runner.handle(index(i), &tick, &mut inst.out);
    }
    BatchOutput {
        signals: inst
            .out
            .signals
            .drain(..)
            .map(|e| signal(e.tick_index, e.signal))
            .collect(),
        errors: inst
            .out
            .errors
            .drain(..)
            .map(|e| wit::TickError {
                tick_index: e.tick_index,
                message: e.message,
            })
            .collect(),
    }
}

/// Empty bytes when there is no initialised strategy; `restore` of them reports it.
pub fn snapshot<S: Strategy>(cell: &RefCell<Instance<S>>) -> Vec<u8> {
    cell.try_borrow()
        .ok()
        .and_then(|i| i.runner.as_ref().map(Runner::snapshot))
        .unwrap_or_default()
}

pub fn restore<S: Strategy>(cell: &RefCell<Instance<S>>, state: Vec<u8>) -> Result<(), String> {
    let mut inst = cell.try_borrow_mut().map_err(|_| BUSY.to_owned())?;
    match inst.runner.as_mut() {
        Some(runner) => runner.restore(&state),
        None => Err("restore called before a successful init".to_owned()),
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn fail_all(batch: &TickBatch, message: &str) -> BatchOutput {
    BatchOutput {
        signals: Vec::new(),
        errors: (0..batch.ticks.len())
            .map(|i| wit::TickError {
                tick_index: index(i),
                message: message.to_owned(),
            })
            .collect(),
    }
}

/// The levels a span points at; empty if it points outside the batch.
fn span(levels: &[DepthLevel], s: wit::Span) -> &[DepthLevel] {
    let start = s.start as usize;
    start
        .checked_add(s.len as usize)
        .and_then(|end| levels.get(start..end))
        .unwrap_or(&[])
}

fn dec(d: wit::Decimal) -> Decimal {
    Decimal::new(d.mantissa, d.scale)
}

fn level(l: &wit::DepthLevel) -> DepthLevel {
    DepthLevel {
        price: dec(l.price),
        quantity: l.quantity,
        orders: l.orders,
    }
}

fn core(t: &wit::Tick) -> TickCore {
    TickCore {
        instrument_token: t.instrument_token,
        last_price: dec(t.last_price),
        timestamp_us: t.timestamp_us,
        volume_traded: t.volume_traded,
        last_traded_quantity: t.last_traded_quantity,
        average_traded_price: t.average_traded_price.map(dec),
        total_buy_quantity: t.total_buy_quantity,
        total_sell_quantity: t.total_sell_quantity,
        change: t.change.map(dec),
        ohlc: t.ohlc.map(|o| Ohlc {
            open: dec(o.open),
            high: dec(o.high),
            low: dec(o.low),
            close: dec(o.close),
        }),
        oi: t.oi,
        oi_day_high: t.oi_day_high,
        oi_day_low: t.oi_day_low,
        last_trade_time_us: t.last_trade_time_us,
        exchange_timestamp_us: t.exchange_timestamp_us,
        has_depth: t.has_depth,
        mode: t.mode.map(|m| match m {
            wit::TickMode::Ltp => TickMode::Ltp,
            wit::TickMode::Quote => TickMode::Quote,
            wit::TickMode::Full => TickMode::Full,
        }),
        tradable: t.tradable,
    }
}

fn signal(tick_index: u32, s: crate::Signal) -> wit::Signal {
    wit::Signal {
        tick_index,
        instrument_token: s.instrument_token.unwrap_or_default(),
        side: match s.side {
            Side::Buy => wit::Side::Buy,
            Side::Sell => wit::Side::Sell,
        },
        quantity: s.quantity,
        price: s.price.map(|p| match p {
            Price::Exact(d) => wit::Price::Exact(wit::Decimal {
                mantissa: d.mantissa(),
                scale: d.scale(),
            }),
            Price::Approx(f) => wit::Price::Approx(f),
        }),
        confidence: s.confidence,
        metadata: s.metadata,
    }
}
