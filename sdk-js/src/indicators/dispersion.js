// `StdDev`, `ZScore`, `BollingerBands`: the spread of the last N values (population statistics,
// two passes over the window), with the Rust SDK's arithmetic step for step.

import { RollingWindow, windowSum } from './window.js';

/**
 * Mean and population standard deviation of a full window, or null.
 * @param {RollingWindow<number>} w
 * @returns {[number, number] | null}
 */
function meanSd(w) {
  if (!w.isFull()) return null;
  const n = w.length;
  const mean = windowSum(w) / n;
  const variance = windowSum(w, (x) => (x - mean) * (x - mean)) / n;
  return [mean, Math.sqrt(variance)];
}

/** Population standard deviation (divides by N) of the last `period` values. */
export class StdDev {
  /** @param {number} period (0 is taken as 1) */
  constructor(period) {
    /** @type {RollingWindow<number>} */
    this.window = new RollingWindow(period);
  }

  /**
   * @param {number} x
   * @returns {number | null}
   */
  update(x) {
    this.window.push(x);
    const m = meanSd(this.window);
    return m === null ? null : m[1];
  }
}

/**
 * How many (population) standard deviations `x` is from the mean of the last `period` values,
 * `x` included; 0 when they are all equal.
 */
export class ZScore {
  /** @param {number} period (0 is taken as 1) */
  constructor(period) {
    /** @type {RollingWindow<number>} */
    this.window = new RollingWindow(period);
  }

  /**
   * @param {number} x
   * @returns {number | null}
   */
  update(x) {
    this.window.push(x);
    const m = meanSd(this.window);
    if (m === null) return null;
    const [mean, sd] = m;
    return sd > 0 ? (x - mean) / sd : 0;
  }
}

/** @typedef {{ lower: number, middle: number, upper: number }} Bands */

/**
 * Bollinger bands: `middle` = SMA(period), `upper`/`lower` = middle ± k · population standard
 * deviation, over the last `period` values (the current one included).
 */
export class BollingerBands {
  /**
   * @param {number} period (0 is taken as 1)
   * @param {number} k
   */
  constructor(period, k) {
    /** @type {RollingWindow<number>} */
    this.window = new RollingWindow(period);
    /** @readonly */
    this.k = k;
  }

  /**
   * @param {number} x
   * @returns {Bands | null}
   */
  update(x) {
    this.window.push(x);
    const m = meanSd(this.window);
    if (m === null) return null;
    const [middle, sd] = m;
    return { lower: middle - this.k * sd, middle, upper: middle + this.k * sd };
  }
}
