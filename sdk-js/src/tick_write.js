// Writing tick batches in the canonical form (`abi/src/tick_write.rs`'s `BatchWriter`): symbols
// stored once in order of first use, each tick's buy levels then sell levels appended in tick order,
// absent fields and padding zero. Tests use it (through TickData and the Runner) to send ticks
// through the same reader the component uses.

import { Decimal } from './decimal.js';
import { i64, u32, u64 } from './integers.js';
import { LEVEL_SIZE, TICK_SIZE, bit, levelOff, off } from './layout.js';
import { modeToByte } from './side.js';

/** @typedef {import('./side.js').TickModeName} TickModeName */

/**
 * A depth level as a writer takes it.
 * @typedef {object} LevelFields
 * @property {Decimal} price
 * @property {number | bigint} quantity u64
 * @property {number} orders u32
 */

/**
 * Every field of a tick, as plain values; `null` (or missing) is absent.
 * @typedef {object} TickFields
 * @property {number} instrumentToken u32
 * @property {number | bigint} timestampUs s64 microseconds since the epoch
 * @property {Decimal} lastPrice
 * @property {string | null} [symbol]
 * @property {number | bigint | null} [volumeTraded]
 * @property {number | bigint | null} [lastTradedQuantity]
 * @property {Decimal | null} [averageTradedPrice]
 * @property {number | bigint | null} [totalBuyQuantity]
 * @property {number | bigint | null} [totalSellQuantity]
 * @property {Decimal | null} [change]
 * @property {{open: Decimal, high: Decimal, low: Decimal, close: Decimal} | null} [ohlc]
 * @property {number | bigint | null} [oi]
 * @property {number | bigint | null} [oiDayHigh]
 * @property {number | bigint | null} [oiDayLow]
 * @property {number | bigint | null} [lastTradeTimeUs]
 * @property {number | bigint | null} [exchangeTimestampUs]
 * @property {{buy: readonly LevelFields[], sell: readonly LevelFields[]} | null} [depth]
 * @property {TickModeName | null} [mode]
 * @property {boolean | null} [tradable]
 */

/** @typedef {{ count: number, data: Uint8Array, symbols: string[] }} EncodedBatch */

/** @type {ReadonlyArray<[keyof TickFields, number, number]>} u64 fields: name, presence bit, offset */
const U64_FIELDS = [
  ['volumeTraded', bit.VOLUME_TRADED, off.VOLUME_TRADED],
  ['lastTradedQuantity', bit.LAST_TRADED_QUANTITY, off.LAST_TRADED_QUANTITY],
  ['totalBuyQuantity', bit.TOTAL_BUY_QUANTITY, off.TOTAL_BUY_QUANTITY],
  ['totalSellQuantity', bit.TOTAL_SELL_QUANTITY, off.TOTAL_SELL_QUANTITY],
  ['oi', bit.OI, off.OI],
  ['oiDayHigh', bit.OI_DAY_HIGH, off.OI_DAY_HIGH],
  ['oiDayLow', bit.OI_DAY_LOW, off.OI_DAY_LOW],
];

/** @type {ReadonlyArray<[keyof TickFields, number, number]>} s64 time fields */
const I64_FIELDS = [
  ['lastTradeTimeUs', bit.LAST_TRADE_TIME, off.LAST_TRADE_TIME_US],
  ['exchangeTimestampUs', bit.EXCHANGE_TIMESTAMP, off.EXCHANGE_TIMESTAMP_US],
];

/**
 * @param {unknown} d
 * @param {string} what
 * @returns {Decimal}
 */
function decimal(d, what) {
  if (!(d instanceof Decimal)) throw new TypeError(`${what} must be a Decimal, got ${String(d)}`);
  return d;
}

/** Builds a batch in the canonical form, tick by tick. */
export class BatchWriter {
  /** @type {Uint8Array[]} */ #records = [];
  /** @type {Uint8Array[]} */ #levels = [];
  /** @type {string[]} */ #symbols = [];

  /**
   * Appends one tick.
   * @param {TickFields} t
   */
  push(t) {
    const rec = new Uint8Array(TICK_SIZE);
    const v = new DataView(rec.buffer);
    let presence = 0;
    v.setUint32(off.INSTRUMENT_TOKEN, u32(t.instrumentToken, 'instrumentToken'), true);
    v.setBigInt64(off.TIMESTAMP_US, i64(t.timestampUs, 'timestampUs'), true);
    const dec = (/** @type {unknown} */ d, /** @type {number} */ m, /** @type {number} */ s, /** @type {string} */ what) => {
      const x = decimal(d, what);
      v.setBigInt64(m, x.mantissa, true);
      v.setUint8(s, x.scale);
    };
    dec(t.lastPrice, off.LAST_PRICE, off.LAST_PRICE_SCALE, 'lastPrice');
    for (const [name, b, o] of U64_FIELDS) {
      const x = t[name];
      if (x != null) {
        v.setBigUint64(o, u64(x, name), true);
        presence |= b;
      }
    }
    for (const [name, b, o] of I64_FIELDS) {
      const x = t[name];
      if (x != null) {
        v.setBigInt64(o, i64(x, name), true);
        presence |= b;
      }
    }
    if (t.averageTradedPrice != null) {
      dec(t.averageTradedPrice, off.AVERAGE_TRADED_PRICE, off.AVERAGE_TRADED_PRICE_SCALE, 'averageTradedPrice');
      presence |= bit.AVERAGE_TRADED_PRICE;
    }
    if (t.change != null) {
      dec(t.change, off.CHANGE, off.CHANGE_SCALE, 'change');
      presence |= bit.CHANGE;
    }
    if (t.ohlc != null) {
      dec(t.ohlc.open, off.OPEN, off.OPEN_SCALE, 'ohlc.open');
      dec(t.ohlc.high, off.HIGH, off.HIGH_SCALE, 'ohlc.high');
      dec(t.ohlc.low, off.LOW, off.LOW_SCALE, 'ohlc.low');
      dec(t.ohlc.close, off.CLOSE, off.CLOSE_SCALE, 'ohlc.close');
      presence |= bit.OHLC;
    }
    if (t.mode != null) {
      v.setUint8(off.MODE, modeToByte(t.mode));
      presence |= bit.MODE;
    }
    if (t.tradable != null) {
      v.setUint8(off.TRADABLE, t.tradable ? 1 : 0);
      presence |= bit.TRADABLE;
    }
    if (t.symbol != null) {
      let i = this.#symbols.indexOf(t.symbol);
      if (i < 0) i = this.#symbols.push(String(t.symbol)) - 1;
      v.setUint32(off.SYMBOL, i, true);
      presence |= bit.SYMBOL;
    }
    if (t.depth != null) {
      const start = this.#levels.length;
      for (const l of [...t.depth.buy, ...t.depth.sell]) this.#levels.push(levelRecord(l));
      v.setUint32(off.DEPTH_BUY_START, start, true);
      v.setUint32(off.DEPTH_BUY_LEN, t.depth.buy.length, true);
      v.setUint32(off.DEPTH_SELL_START, start + t.depth.buy.length, true);
      v.setUint32(off.DEPTH_SELL_LEN, t.depth.sell.length, true);
      presence |= bit.DEPTH;
    }
    v.setUint32(off.PRESENCE, presence, true);
    this.#records.push(rec);
    return this;
  }

  /** The batch: its records, then its levels. @returns {EncodedBatch} */
  finish() {
    const parts = [...this.#records, ...this.#levels];
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    return { count: this.#records.length, data, symbols: [...this.#symbols] };
  }
}

/**
 * One depth-level record (padding zero).
 * @param {LevelFields} l
 */
function levelRecord(l) {
  const rec = new Uint8Array(LEVEL_SIZE);
  const v = new DataView(rec.buffer);
  const price = decimal(l.price, 'depth level price');
  v.setBigInt64(levelOff.PRICE, price.mantissa, true);
  v.setBigUint64(levelOff.QUANTITY, u64(l.quantity, 'depth level quantity'), true);
  v.setUint32(levelOff.ORDERS, u32(l.orders, 'depth level orders'), true);
  v.setUint8(levelOff.PRICE_SCALE, price.scale);
  return rec;
}
