//! Sample strategy `momentum`: buys when an instrument's price rose by more than
//! `threshold` (a fraction) over its last `lookback` ticks, sells when it fell by as much.
//!
//! Shows: typed parameters with defaults and ranges, per-instrument state in a
//! `Map` of `RollingWindow`s (snapshotted for free), and a signal carrying the tick's
//! exact price, a confidence and metadata.
//!
//! Rule, per tick of instrument `i` once `lookback + 1` prices of `i` were seen:
//! `m = (price_now - price_lookback_ago) / price_lookback_ago`; `m > threshold` → BUY
//! `position_size`, `m < -threshold` → SELL; confidence `min(1, 5·|m|)`; metadata
//! `momentum` = `m` with 6 decimals.

use alpha_panda_sdk::indicators::RollingWindow;
use alpha_panda_sdk::{
    Context, InitContext, Map, ParamError, Params, Signal, Strategy, StrategyError, Tick,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Momentum {
    lookback: usize,
    threshold: f64,
    position_size: u64,
    /// Per instrument, its last `lookback + 1` prices.
    prices: Map<u32, RollingWindow<f64>>,
}

impl Strategy for Momentum {
    fn init(params: &Params, _ctx: &InitContext) -> Result<Self, ParamError> {
        let lookback = params.get_or_in("lookback", 20usize, 1..)?;
        let threshold = params.get_or_in("threshold", 0.01, 0.0..)?;
        let position_size = params.get_or_in("position_size", 100u64, 1..)?;
        Ok(Self {
            lookback,
            threshold,
            position_size,
            prices: Map::new(),
        })
    }

    fn on_tick(&mut self, tick: &Tick, out: &mut Context) -> Result<(), StrategyError> {
        let window = self
            .prices
            .entry(tick.instrument_token())
            .or_insert_with(|| RollingWindow::new(self.lookback + 1));
        window.push(tick.price());
        let (Some(&then), Some(&now)) = (window.oldest(), window.newest()) else {
            return Ok(());
        };
        if !window.is_full() || then <= 0.0 {
            return Ok(());
        }
        let m = (now - then) / then;
        let signal = if m > self.threshold {
            Signal::buy(self.position_size)
        } else if m < -self.threshold {
            Signal::sell(self.position_size)
        } else {
            return Ok(());
        };
        out.emit(
            signal
                .price_exact(tick.last_price())
                .confidence((5.0 * m.abs()).min(1.0))
                .meta("momentum", format!("{m:.6}")),
        );
        Ok(())
    }
}

alpha_panda_sdk::export_strategy!(Momentum);
