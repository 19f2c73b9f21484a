// `Signal`: what a strategy emits, built fluently (`Signal.buy(100).priceExact(tick.lastPrice)`),
// and `SignalRecord`, the plain object it becomes once the SDK has tagged and checked it.

import { Decimal } from './decimal.js';
import { asU64, isU32 } from './integers.js';

/** @typedef {import('./side.js').SideName} SideName */

/**
 * The price a signal asks for: an exact Decimal, or an approximate number (finite and > 0).
 * @typedef {{ exact: Decimal } | { approx: number }} Price
 */

/**
 * A signal as it leaves the strategy (and as tests see it).
 * @typedef {object} SignalRecord
 * @property {number} tickIndex index into the batch of the tick it answers (0 in `Runner.feed`)
 * @property {number} instrumentToken
 * @property {SideName} side
 * @property {number | bigint} quantity as the strategy gave it
 * @property {Price | null} price
 * @property {number | null} confidence
 * @property {[string, string][]} metadata key/value pairs, in order
 */

/**
 * A trading signal, built fluently: `Signal.buy(100).priceExact(tick.lastPrice).confidence(0.4)`.
 *
 * A signal that is not valid (quantity not a whole number > 0, a price that is not > 0, a confidence
 * outside 0..1, an instrument the strategy is not subscribed to) becomes an error of the tick that
 * emitted it instead of reaching the host.
 */
export class Signal {
  /** @type {SideName} */ #side;
  /** @type {number | bigint} */ #quantity;
  /** @type {number | null} */ #instrument = null;
  /** @type {Price | null} */ #price = null;
  /** @type {number | null} */ #confidence = null;
  /** @type {[string, string][]} */ #meta = [];

  /**
   * @param {SideName} side `'buy'` or `'sell'` (`Side.Buy`, `Side.Sell`)
   * @param {number | bigint} quantity a whole number > 0 (a BigInt above 2^53)
   */
  constructor(side, quantity) {
    if (side !== 'buy' && side !== 'sell') throw new TypeError(`signal side must be 'buy' or 'sell', got ${String(side)}`);
    this.#side = side;
    this.#quantity = quantity;
  }

  /** @param {number | bigint} quantity */
  static buy(quantity) {
    return new Signal('buy', quantity);
  }

  /** @param {number | bigint} quantity */
  static sell(quantity) {
    return new Signal('sell', quantity);
  }

  /**
   * An exact price, e.g. `tick.lastPrice` (keeps its text, "2501.50"); decimal text is parsed.
   * @param {Decimal | string} price
   */
  priceExact(price) {
    this.#price = { exact: price instanceof Decimal ? price : Decimal.parse(price) };
    return this;
  }

  /**
   * A computed price; must be finite and > 0.
   * @param {number} price
   */
  price(price) {
    this.#price = { approx: price };
    return this;
  }

  /**
   * How sure the strategy is, in 0..1.
   * @param {number} confidence
   */
  confidence(confidence) {
    this.#confidence = confidence;
    return this;
  }

  /**
   * Adds one metadata pair; the value is made text with `String(value)` (use `formatFixed` for
   * numbers that must read like Rust's `format!`).
   * @param {string} key
   * @param {unknown} value
   */
  meta(key, value) {
    this.#meta.push([String(key), String(value)]);
    return this;
  }

  /**
   * Another instrument than the tick's (the strategy must be subscribed to it); required from onTimer.
   * @param {number} instrumentToken
   */
  instrument(instrumentToken) {
    this.#instrument = instrumentToken;
    return this;
  }

  /**
   * The signal as a plain record; `instrumentToken` is null when not set, `tickIndex` 0.
   * @returns {Omit<SignalRecord, 'instrumentToken'> & { instrumentToken: number | null }}
   */
  toRecord() {
    return {
      tickIndex: 0,
      instrumentToken: this.#instrument,
      side: this.#side,
      quantity: this.#quantity,
      price: this.#price,
      confidence: this.#confidence,
      metadata: this.#meta.map(([k, v]) => [k, v]),
    };
  }
}

/**
 * Why the host would refuse this record, if it would (the instrument is checked by the runner).
 * @param {SignalRecord} s
 * @returns {string | null}
 */
export function signalProblem(s) {
  if (!isU32(s.instrumentToken)) return `signal instrument ${String(s.instrumentToken)} is not an integer 0..2^32-1`;
  const q = asU64(s.quantity);
  if (q === null) return `signal quantity ${String(s.quantity)} is not a whole number 0..2^64-1`;
  if (q === 0n) return 'signal quantity is 0';
  const p = s.price;
  if (p !== null) {
    if ('approx' in p) {
      if (!(typeof p.approx === 'number' && Number.isFinite(p.approx) && p.approx > 0)) {
        return `signal price ${String(p.approx)} is not finite and > 0`;
      }
    } else if (!p.exact.isPositive()) {
      return `signal price ${p.exact} is not > 0`;
    }
  }
  const c = s.confidence;
  if (c !== null && !(typeof c === 'number' && c >= 0 && c <= 1)) {
    return `signal confidence ${String(c)} is outside 0..=1`;
  }
  return null;
}
