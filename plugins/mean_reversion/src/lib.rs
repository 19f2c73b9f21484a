//! Sample strategy `mean_reversion`: buys an instrument that is oversold (RSI below 30)
//! and below its lower Bollinger band, sells one that is overbought (RSI above 70) and
//! above its upper band.
//!
//! Shows: SDK indicators (`Rsi`, `BollingerBands`) kept per instrument in the
//! strategy's state, so they survive a reload through the default snapshot.
//!
//! Per tick, the price is fed once to Wilder's RSI(`rsi_period`) and to the bands
//! (SMA(`lookback`) ± `std_dev` population standard deviations). Quantity
//! `position_size`. Confidence grows with the distance beyond the band, measured in
//! half-band widths `w = upper - middle`: `min(1, 0.5 + |price - middle| / w - 1)`, i.e.
//! 0.5 at the band, 1 at 1.5·w from the middle. Metadata: `rsi` (2 decimals) and
//! `band`, the band crossed (4 decimals).

use alpha_panda_sdk::indicators::{BollingerBands, Rsi};
use alpha_panda_sdk::{
    Context, InitContext, Map, ParamError, Params, Signal, Strategy, StrategyError, Tick,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Series {
    rsi: Rsi,
    bands: BollingerBands,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MeanReversion {
    lookback: usize,
    rsi_period: usize,
    std_dev: f64,
    position_size: u64,
    series: Map<u32, Series>,
}

impl Strategy for MeanReversion {
    fn init(params: &Params, _ctx: &InitContext) -> Result<Self, ParamError> {
        let lookback = params.get_or_in("lookback", 20usize, 2..)?;
        let rsi_period = params.get_or_in("rsi_period", 14usize, 1..)?;
        let std_dev = params.get_or("std_dev", 2.0)?;
        let position_size = params.get_or_in("position_size", 50u64, 1..)?;
        if !(std_dev.is_finite() && std_dev > 0.0) {
            return Err(ParamError::invalid("std_dev", "must be finite and > 0"));
        }
        let series = Map::new();
        Ok(Self {
            lookback,
            rsi_period,
            std_dev,
            position_size,
            series,
        })
    }

    fn on_tick(&mut self, tick: &Tick, out: &mut Context) -> Result<(), StrategyError> {
        let price = tick.price();
        let s = self
            .series
            .entry(tick.instrument_token())
            .or_insert_with(|| Series {
                rsi: Rsi::new(self.rsi_period),
                bands: BollingerBands::new(self.lookback, self.std_dev),
            });
        let (Some(rsi), Some(b)) = (s.rsi.update(price), s.bands.update(price)) else {
            return Ok(());
        };
        let (signal, band) = if rsi < 30.0 && price < b.lower {
            (Signal::buy(self.position_size), b.lower)
        } else if rsi > 70.0 && price > b.upper {
            (Signal::sell(self.position_size), b.upper)
        } else {
            return Ok(());
        };
        // Strictly beyond a band implies upper > middle, so the ratio is finite.
        let beyond = (price - b.middle).abs() / (b.upper - b.middle) - 1.0;
        out.emit(
            signal
                .price_exact(tick.last_price())
                .confidence((0.5 + beyond).min(1.0))
                .meta("rsi", format!("{rsi:.2}"))
                .meta("band", format!("{band:.4}")),
        );
        Ok(())
    }
}

alpha_panda_sdk::export_strategy!(MeanReversion);
