// `Sma` and `Ema`: moving averages, with the Rust SDK's arithmetic step for step (same doubles).

import { RollingWindow, windowSum } from './window.js';

/**
 * Simple moving average of the last `period` values. Keeps a running sum, re-added from the
 * window every `period` updates so rounding does not drift: O(1) per update.
 */
export class Sma {
  /** @param {number} period values averaged (0 is taken as 1) */
  constructor(period) {
    /** @type {RollingWindow<number>} */
    this.window = new RollingWindow(period);
    this.sum = 0;
    this.sinceResum = 0;
  }

  /**
   * Adds `x`; the mean of the last `period` values once there are that many, else null.
   * @param {number} x
   */
  update(x) {
    const e = this.window.push(x);
    const evicted = e === undefined ? 0 : e;
    this.sinceResum += 1;
    if (this.sinceResum >= this.window.capacity) {
      this.sum = windowSum(this.window);
      this.sinceResum = 0;
    } else {
      this.sum += x - evicted;
    }
    return this.value();
  }

  /** @returns {number | null} */
  value() {
    return this.window.isFull() ? this.sum / this.window.capacity : null;
  }

  get period() {
    return this.window.capacity;
  }
}

/**
 * Exponential moving average with `alpha = 2 / (period + 1)`, seeded with the simple mean of the
 * first `period` values (also its first value); then `alpha * x + (1 - alpha) * previous`.
 */
export class Ema {
  /** @param {number} period (0 is taken as 1) */
  constructor(period) {
    /** @readonly */
    this.period = Math.max(1, Math.floor(period) || 0);
    /** @readonly */
    this.alpha = 2 / (this.period + 1);
    this.seen = 0;
    this.seedSum = 0;
    /** @type {number | null} */
    this.current = null;
  }

  /**
   * Adds `x`; the average from the `period`-th value on, else null.
   * @param {number} x
   */
  update(x) {
    if (this.current !== null) {
      this.current = this.alpha * x + (1 - this.alpha) * this.current;
    } else {
      this.seen += 1;
      this.seedSum += x;
      this.current = this.seen === this.period ? this.seedSum / this.period : null;
    }
    return this.current;
  }

  /** @returns {number | null} */
  value() {
    return this.current;
  }
}
