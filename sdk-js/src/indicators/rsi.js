// `Rsi`: Wilder's relative strength index, with the Rust SDK's arithmetic step for step.

/**
 * `max` as Rust's `f64::max`: a NaN argument gives the other one.
 * @param {number} a
 * @param {number} b
 */
function fmax(a, b) {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a > b ? a : b;
}

/**
 * Wilder's RSI over `period` price changes. The first average gain/loss is the mean of the first
 * `period` changes; each later one is `(previous * (period - 1) + current) / period`. The first
 * value comes with the `period + 1`-th price. `RSI = 100 - 100 / (1 + gain / loss)`, 100 when the
 * average loss is 0.
 */
export class Rsi {
  /** @param {number} period (0 is taken as 1) */
  constructor(period) {
    /** @readonly */
    this.period = Math.max(1, Math.floor(period) || 0);
    /** @type {number | null} */
    this.prev = null;
    this.changes = 0;
    /** sums while seeding (changes < period), averages after */
    this.gain = 0;
    this.loss = 0;
  }

  /**
   * Adds the next price; the RSI once `period` changes have been seen, else null.
   * @param {number} price
   */
  update(price) {
    const prev = this.prev;
    this.prev = price;
    if (prev === null) return null;
    const change = price - prev;
    const gain = fmax(change, 0);
    const loss = fmax(-change, 0);
    const p = this.period;
    if (this.changes < p) {
      this.changes += 1;
      this.gain += gain;
      this.loss += loss;
      if (this.changes < p) return null;
      this.gain /= p;
      this.loss /= p;
    } else {
      this.gain = (this.gain * (p - 1) + gain) / p;
      this.loss = (this.loss * (p - 1) + loss) / p;
    }
    return this.value();
  }

  /** @returns {number | null} */
  value() {
    if (this.changes < this.period) return null;
    return this.loss === 0 ? 100 : 100 - 100 / (1 + this.gain / this.loss);
  }
}
