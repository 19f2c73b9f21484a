// Sample strategy `momentum_js`: the Rust sample `momentum` (plugins/momentum/src/lib.rs) in
// JavaScript, rule for rule and double for double, so a replay gives exactly its signals. Buys when
// an instrument's price rose by more than `threshold` (a fraction) over its last `lookback` ticks,
// sells when it fell by as much.
//
// Shows: typed parameters with defaults and ranges, per-instrument state in a Map of
// RollingWindows (snapshotted by the default snapshot), and a signal carrying the tick's exact
// price, a confidence and metadata formatted as Rust's format!("{m:.6}") writes it.
//
// Rule, per tick of instrument i once lookback + 1 prices of i were seen:
// m = (price_now - price_lookback_ago) / price_lookback_ago; m > threshold → BUY position_size,
// m < -threshold → SELL; confidence min(1, 5·|m|); metadata `momentum` = m with 6 decimals.

import { RollingWindow, Signal, Strategy, formatFixed } from '@alpha-panda/sdk';

export default class Momentum extends Strategy {
  // The state, all of it in the default snapshot; set by init.
  lookback = 0;
  threshold = 0;
  positionSize = 0;
  /** @type {Map<number, RollingWindow<number>>} per instrument, its last lookback + 1 prices */
  prices = new Map();

  /** @param {import('@alpha-panda/sdk').Params} params */
  init(params) {
    this.lookback = params.int('lookback', { default: 20, min: 1 });
    this.threshold = params.float('threshold', { default: 0.01, min: 0 });
    this.positionSize = params.int('position_size', { default: 100, min: 1 });
  }

  /**
   * @param {import('@alpha-panda/sdk').Tick} tick
   * @param {import('@alpha-panda/sdk').Context} out
   */
  onTick(tick, out) {
    let window = this.prices.get(tick.instrumentToken);
    if (window === undefined) {
      window = new RollingWindow(this.lookback + 1);
      this.prices.set(tick.instrumentToken, window);
    }
    window.push(tick.price);
    const then = /** @type {number} */ (window.oldest());
    const now = /** @type {number} */ (window.newest());
    if (!window.isFull() || then <= 0) return;
    const m = (now - then) / then;
    let signal;
    if (m > this.threshold) signal = Signal.buy(this.positionSize);
    else if (m < -this.threshold) signal = Signal.sell(this.positionSize);
    else return;
    out.emit(
      signal
        .priceExact(tick.lastPrice)
        .confidence(Math.min(5 * Math.abs(m), 1))
        .meta('momentum', formatFixed(m, 6)),
    );
  }
}
