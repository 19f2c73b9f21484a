// Sample strategy `mean_reversion_js`: the Rust sample `mean_reversion`
// (plugins/mean_reversion/src/lib.rs) in JavaScript, rule for rule and double for double. Buys an
// instrument that is oversold (RSI below 30) and below its lower Bollinger band, sells one that is
// overbought (RSI above 70) and above its upper band.
//
// Shows: SDK indicators (Rsi, BollingerBands) kept per instrument in the strategy's fields, so they
// survive a reload through the default snapshot.
//
// Per tick, the price is fed once to Wilder's RSI(rsi_period) and to the bands (SMA(lookback) ±
// std_dev population standard deviations). Quantity position_size. Confidence grows with the
// distance beyond the band, in half-band widths w = upper - middle: min(1, 0.5 + |price - middle|
// / w - 1), i.e. 0.5 at the band, 1 at 1.5·w from the middle. Metadata: `rsi` (2 decimals) and
// `band`, the band crossed (4 decimals).

import { BollingerBands, ParamError, Rsi, Signal, Strategy, formatFixed } from '@alpha-panda/sdk';

export default class MeanReversion extends Strategy {
  // The state, all of it in the default snapshot; set by init.
  lookback = 0;
  rsiPeriod = 0;
  stdDev = 0;
  positionSize = 0;
  /** @type {Map<number, {rsi: Rsi, bands: BollingerBands}>} per instrument, its indicators */
  series = new Map();

  /** @param {import('@alpha-panda/sdk').Params} params */
  init(params) {
    this.lookback = params.int('lookback', { default: 20, min: 2 });
    this.rsiPeriod = params.int('rsi_period', { default: 14, min: 1 });
    this.stdDev = params.float('std_dev', { default: 2.0 });
    this.positionSize = params.int('position_size', { default: 50, min: 1 });
    if (!(Number.isFinite(this.stdDev) && this.stdDev > 0)) throw ParamError.invalid('std_dev', 'must be finite and > 0');
  }

  /**
   * @param {import('@alpha-panda/sdk').Tick} tick
   * @param {import('@alpha-panda/sdk').Context} out
   */
  onTick(tick, out) {
    const price = tick.price;
    let s = this.series.get(tick.instrumentToken);
    if (s === undefined) {
      s = { rsi: new Rsi(this.rsiPeriod), bands: new BollingerBands(this.lookback, this.stdDev) };
      this.series.set(tick.instrumentToken, s);
    }
    const rsi = s.rsi.update(price);
    const b = s.bands.update(price);
    if (rsi === null || b === null) return;
    let signal;
    let band;
    if (rsi < 30 && price < b.lower) {
      signal = Signal.buy(this.positionSize);
      band = b.lower;
    } else if (rsi > 70 && price > b.upper) {
      signal = Signal.sell(this.positionSize);
      band = b.upper;
    } else return;
    // Strictly beyond a band implies upper > middle, so the ratio is finite (never NaN, where
    // Math.min and Rust's f64::min would differ).
    const beyond = Math.abs(price - b.middle) / (b.upper - b.middle) - 1;
    out.emit(
      signal
        .priceExact(tick.lastPrice)
        .confidence(Math.min(0.5 + beyond, 1))
        .meta('rsi', formatFixed(rsi, 2))
        .meta('band', formatFixed(band, 4)),
    );
  }
}
