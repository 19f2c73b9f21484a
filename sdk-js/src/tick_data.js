// `TickData`: a tick built field by field, what tests feed a strategy. It is encoded into a real
// batch and read back, so a strategy under test gets the same `Tick` view the component gives it.

import { TickBatch } from './batch.js';
import { Decimal } from './decimal.js';
import { BatchWriter } from './tick_write.js';

/** @typedef {import('./tick_write.js').TickFields} TickFields */
/** @typedef {import('./side.js').TickModeName} TickModeName */
/** @typedef {{ price: Decimal | string, quantity: number | bigint, orders: number }} LevelInput */

/**
 * @param {Decimal | string} d
 * @returns {Decimal}
 */
function dec(d) {
  return d instanceof Decimal ? d : Decimal.parse(d);
}

/**
 * An owned tick for tests:
 * `new TickData(738561, '2501.55', 1_700_000_000_000_000).symbol('RELIANCE').volumeTraded(1200)`.
 * Prices are Decimals or decimal text ("2501.50" keeps its scale).
 */
export class TickData {
  /** @type {TickFields} */ #f;

  /**
   * @param {number} instrumentToken
   * @param {Decimal | string} lastPrice
   * @param {number | bigint} timestampUs microseconds since the epoch
   */
  constructor(instrumentToken, lastPrice, timestampUs) {
    this.#f = { instrumentToken, lastPrice: dec(lastPrice), timestampUs };
  }

  /** Every field as the batch writer takes it (a copy). @returns {TickFields} */
  get fields() {
    return { ...this.#f };
  }

  /** @param {string} s */
  symbol(s) {
    this.#f.symbol = s;
    return this;
  }
  /** @param {number | bigint} v */
  volumeTraded(v) {
    this.#f.volumeTraded = v;
    return this;
  }
  /** @param {number | bigint} v */
  lastTradedQuantity(v) {
    this.#f.lastTradedQuantity = v;
    return this;
  }
  /** @param {Decimal | string} d */
  averageTradedPrice(d) {
    this.#f.averageTradedPrice = dec(d);
    return this;
  }
  /** @param {number | bigint} v */
  totalBuyQuantity(v) {
    this.#f.totalBuyQuantity = v;
    return this;
  }
  /** @param {number | bigint} v */
  totalSellQuantity(v) {
    this.#f.totalSellQuantity = v;
    return this;
  }
  /** @param {Decimal | string} d */
  change(d) {
    this.#f.change = dec(d);
    return this;
  }
  /** @param {{open: Decimal | string, high: Decimal | string, low: Decimal | string, close: Decimal | string}} o */
  ohlc(o) {
    this.#f.ohlc = { open: dec(o.open), high: dec(o.high), low: dec(o.low), close: dec(o.close) };
    return this;
  }
  /** @param {number | bigint} v */
  oi(v) {
    this.#f.oi = v;
    return this;
  }
  /** @param {number | bigint} v */
  oiDayHigh(v) {
    this.#f.oiDayHigh = v;
    return this;
  }
  /** @param {number | bigint} v */
  oiDayLow(v) {
    this.#f.oiDayLow = v;
    return this;
  }
  /** @param {number | bigint} v */
  lastTradeTimeUs(v) {
    this.#f.lastTradeTimeUs = v;
    return this;
  }
  /** @param {number | bigint} v */
  exchangeTimestampUs(v) {
    this.#f.exchangeTimestampUs = v;
    return this;
  }
  /**
   * Both sides of the depth, best first (and `hasDepth`).
   * @param {readonly LevelInput[]} buy
   * @param {readonly LevelInput[]} sell
   */
  depth(buy, sell) {
    const level = (/** @type {LevelInput} */ l) => ({ price: dec(l.price), quantity: l.quantity, orders: l.orders });
    this.#f.depth = { buy: buy.map(level), sell: sell.map(level) };
    return this;
  }
  /** @param {TickModeName} m */
  mode(m) {
    this.#f.mode = m;
    return this;
  }
  /** @param {boolean} t */
  tradable(t) {
    this.#f.tradable = t;
    return this;
  }

  /** The `Tick` view a strategy's `onTick` receives for this tick. */
  asTick() {
    return encodeTicks([this]).readTick(0);
  }
}

/**
 * Ticks as one batch, read back: what the host would send for them.
 * @param {readonly TickData[]} ticks
 * @returns {TickBatch}
 */
export function encodeTicks(ticks) {
  const w = new BatchWriter();
  for (const t of ticks) w.push(t.fields);
  const b = w.finish();
  return new TickBatch(b.count, b.data, b.symbols);
}
