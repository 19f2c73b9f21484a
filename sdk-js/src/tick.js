// `Tick`: one market tick as a strategy reads it, a view into the batch's flat buffer that decodes
// each field with a DataView when it is read (a strategy that never reads depth never decodes it).
// Also `DepthLevel`. The batch reader (batch.js) checks a record before it makes a Tick of it.

import { Decimal, scaleDown } from './decimal.js';
import { LEVEL_SIZE, bit, levelOff, off } from './layout.js';
import { MODE_NAMES } from './side.js';

/** @typedef {import('./side.js').TickModeName} TickModeName */
/** @typedef {{ open: Decimal, high: Decimal, low: Decimal, close: Decimal }} Ohlc */

const TWO32 = 4294967296;

/** One level of market depth. `quantity` is a number (exact below 2^53); `quantityBig` is exact. */
export class DepthLevel {
  /**
   * @param {Decimal} price
   * @param {bigint} quantity u64
   * @param {number} orders u32
   */
  constructor(price, quantity, orders) {
    /** @readonly */ this.price = price;
    /** @readonly */ this.quantity = Number(quantity);
    /** @readonly */ this.quantityBig = quantity;
    /** @readonly */ this.orders = orders;
    Object.freeze(this);
  }

  toJSON() {
    return { price: this.price.toString(), quantity: this.quantity, orders: this.orders };
  }
}

/**
 * What the ticks of one batch share: the buffer, the symbols, where the levels are.
 * @typedef {object} BatchShared
 * @property {DataView} view
 * @property {readonly string[]} symbols
 * @property {number} levelsAt byte offset of the first depth level
 * @property {number} levelCount
 */

/**
 * One market tick: every field of the feed. Absent optional fields are `null`.
 *
 * Times are microseconds since the Unix epoch (UTC) as numbers, exact for every time between the
 * years 1685 and 2255 (|t| <= 2^53); 64-bit quantities are numbers, exact up to 2^53 - 1. Each
 * 64-bit field has an exact BigInt twin with the suffix `Big` (`timestampUsBig`, `volumeTradedBig`).
 * Prices are exact {@link Decimal}s that keep the feed's scale; `price` is `lastPrice` as a number.
 *
 * A Tick reads from the batch it came in; keep the values you need, not the Tick.
 */
export class Tick {
  /** @type {BatchShared} */ #b;
  /** @type {number} */ #at;
  /** @type {number} */ #presence;
  /** @type {Readonly<{buy: readonly DepthLevel[], sell: readonly DepthLevel[]}> | null | undefined} */ #depth;

  /**
   * Made by the batch reader for a record it has checked; strategies never construct one.
   * @param {BatchShared} batch
   * @param {number} at byte offset of the record
   * @param {number} presence its presence bits
   */
  constructor(batch, at, presence) {
    this.#b = batch;
    this.#at = at;
    this.#presence = presence;
  }

  /** @param {number} o */
  #u32(o) {
    return this.#b.view.getUint32(this.#at + o, true);
  }

  /** @param {number} o u64 as the nearest number */
  #u64n(o) {
    const v = this.#b.view;
    return v.getUint32(this.#at + o + 4, true) * TWO32 + v.getUint32(this.#at + o, true);
  }

  /** @param {number} o s64 as the nearest number */
  #i64n(o) {
    const v = this.#b.view;
    return v.getInt32(this.#at + o + 4, true) * TWO32 + v.getUint32(this.#at + o, true);
  }

  /** @param {number} m @param {number} s */
  #dec(m, s) {
    const v = this.#b.view;
    return new Decimal(v.getBigInt64(this.#at + m, true), v.getUint8(this.#at + s));
  }

  /** @param {number} b @param {number} o */
  #optU64(b, o) {
    return this.#presence & b ? this.#u64n(o) : null;
  }

  /** @param {number} b @param {number} o */
  #optU64Big(b, o) {
    return this.#presence & b ? this.#b.view.getBigUint64(this.#at + o, true) : null;
  }

  /** @param {number} b @param {number} o */
  #optI64(b, o) {
    return this.#presence & b ? this.#i64n(o) : null;
  }

  /** @param {number} b @param {number} o */
  #optI64Big(b, o) {
    return this.#presence & b ? this.#b.view.getBigInt64(this.#at + o, true) : null;
  }

  /** @returns {number} u32 */
  get instrumentToken() {
    return this.#u32(off.INSTRUMENT_TOKEN);
  }
  /** @returns {number} microseconds since the epoch */
  get timestampUs() {
    return this.#i64n(off.TIMESTAMP_US);
  }
  /** @returns {bigint} */
  get timestampUsBig() {
    return this.#b.view.getBigInt64(this.#at + off.TIMESTAMP_US, true);
  }
  /** The exact last traded price, as the feed wrote it ("2501.50" keeps scale 2). */
  get lastPrice() {
    return this.#dec(off.LAST_PRICE, off.LAST_PRICE_SCALE);
  }
  /** `lastPrice` as the nearest number, for arithmetic (the same double the Rust SDK computes). */
  get price() {
    return scaleDown(this.#i64n(off.LAST_PRICE), this.#b.view.getUint8(this.#at + off.LAST_PRICE_SCALE));
  }
  /** @returns {string | null} */
  get symbol() {
    return this.#presence & bit.SYMBOL ? this.#b.symbols[this.#u32(off.SYMBOL)] : null;
  }
  get volumeTraded() {
    return this.#optU64(bit.VOLUME_TRADED, off.VOLUME_TRADED);
  }
  get volumeTradedBig() {
    return this.#optU64Big(bit.VOLUME_TRADED, off.VOLUME_TRADED);
  }
  get lastTradedQuantity() {
    return this.#optU64(bit.LAST_TRADED_QUANTITY, off.LAST_TRADED_QUANTITY);
  }
  get lastTradedQuantityBig() {
    return this.#optU64Big(bit.LAST_TRADED_QUANTITY, off.LAST_TRADED_QUANTITY);
  }
  /** @returns {Decimal | null} */
  get averageTradedPrice() {
    return this.#presence & bit.AVERAGE_TRADED_PRICE
      ? this.#dec(off.AVERAGE_TRADED_PRICE, off.AVERAGE_TRADED_PRICE_SCALE)
      : null;
  }
  get totalBuyQuantity() {
    return this.#optU64(bit.TOTAL_BUY_QUANTITY, off.TOTAL_BUY_QUANTITY);
  }
  get totalBuyQuantityBig() {
    return this.#optU64Big(bit.TOTAL_BUY_QUANTITY, off.TOTAL_BUY_QUANTITY);
  }
  get totalSellQuantity() {
    return this.#optU64(bit.TOTAL_SELL_QUANTITY, off.TOTAL_SELL_QUANTITY);
  }
  get totalSellQuantityBig() {
    return this.#optU64Big(bit.TOTAL_SELL_QUANTITY, off.TOTAL_SELL_QUANTITY);
  }
  /** @returns {Decimal | null} */
  get change() {
    return this.#presence & bit.CHANGE ? this.#dec(off.CHANGE, off.CHANGE_SCALE) : null;
  }
  /** @returns {Ohlc | null} */
  get ohlc() {
    if (!(this.#presence & bit.OHLC)) return null;
    return Object.freeze({
      open: this.#dec(off.OPEN, off.OPEN_SCALE),
      high: this.#dec(off.HIGH, off.HIGH_SCALE),
      low: this.#dec(off.LOW, off.LOW_SCALE),
      close: this.#dec(off.CLOSE, off.CLOSE_SCALE),
    });
  }
  get oi() {
    return this.#optU64(bit.OI, off.OI);
  }
  get oiBig() {
    return this.#optU64Big(bit.OI, off.OI);
  }
  get oiDayHigh() {
    return this.#optU64(bit.OI_DAY_HIGH, off.OI_DAY_HIGH);
  }
  get oiDayHighBig() {
    return this.#optU64Big(bit.OI_DAY_HIGH, off.OI_DAY_HIGH);
  }
  get oiDayLow() {
    return this.#optU64(bit.OI_DAY_LOW, off.OI_DAY_LOW);
  }
  get oiDayLowBig() {
    return this.#optU64Big(bit.OI_DAY_LOW, off.OI_DAY_LOW);
  }
  get lastTradeTimeUs() {
    return this.#optI64(bit.LAST_TRADE_TIME, off.LAST_TRADE_TIME_US);
  }
  get lastTradeTimeUsBig() {
    return this.#optI64Big(bit.LAST_TRADE_TIME, off.LAST_TRADE_TIME_US);
  }
  get exchangeTimestampUs() {
    return this.#optI64(bit.EXCHANGE_TIMESTAMP, off.EXCHANGE_TIMESTAMP_US);
  }
  get exchangeTimestampUsBig() {
    return this.#optI64Big(bit.EXCHANGE_TIMESTAMP, off.EXCHANGE_TIMESTAMP_US);
  }
  /** True when the feed sent a depth object (either side may still be empty). */
  get hasDepth() {
    return (this.#presence & bit.DEPTH) !== 0;
  }
  /** Both sides, best first, or null when the tick carried no depth. */
  get depth() {
    if (this.#depth === undefined) {
      this.#depth = this.hasDepth
        ? Object.freeze({
            buy: this.#levels(off.DEPTH_BUY_START),
            sell: this.#levels(off.DEPTH_SELL_START),
          })
        : null;
    }
    return this.#depth;
  }
  /** Bids, best first (empty without depth). @returns {readonly DepthLevel[]} */
  get depthBuy() {
    return this.depth?.buy ?? EMPTY;
  }
  /** Offers, best first (empty without depth). @returns {readonly DepthLevel[]} */
  get depthSell() {
    return this.depth?.sell ?? EMPTY;
  }
  /** @returns {TickModeName | null} */
  get mode() {
    return this.#presence & bit.MODE ? MODE_NAMES[this.#b.view.getUint8(this.#at + off.MODE)] : null;
  }
  /** @returns {boolean | null} */
  get tradable() {
    return this.#presence & bit.TRADABLE ? this.#b.view.getUint8(this.#at + off.TRADABLE) === 1 : null;
  }

  /** @param {number} startOff */
  #levels(startOff) {
    const start = this.#u32(startOff);
    const len = this.#u32(startOff + 4);
    const { view, levelsAt } = this.#b;
    /** @type {DepthLevel[]} */
    const out = [];
    for (let i = start; i < start + len; i++) {
      const at = levelsAt + LEVEL_SIZE * i;
      out.push(
        new DepthLevel(
          new Decimal(view.getBigInt64(at + levelOff.PRICE, true), view.getUint8(at + levelOff.PRICE_SCALE)),
          view.getBigUint64(at + levelOff.QUANTITY, true),
          view.getUint32(at + levelOff.ORDERS, true),
        ),
      );
    }
    return Object.freeze(out);
  }

  /** A plain object of every field (Decimals as text), for logs and test failures. */
  toJSON() {
    return {
      instrumentToken: this.instrumentToken,
      timestampUs: this.timestampUs,
      lastPrice: this.lastPrice.toString(),
      symbol: this.symbol,
      volumeTraded: this.volumeTraded,
      lastTradedQuantity: this.lastTradedQuantity,
      averageTradedPrice: this.averageTradedPrice?.toString() ?? null,
      totalBuyQuantity: this.totalBuyQuantity,
      totalSellQuantity: this.totalSellQuantity,
      change: this.change?.toString() ?? null,
      ohlc: this.ohlc,
      oi: this.oi,
      oiDayHigh: this.oiDayHigh,
      oiDayLow: this.oiDayLow,
      lastTradeTimeUs: this.lastTradeTimeUs,
      exchangeTimestampUs: this.exchangeTimestampUs,
      depth: this.depth,
      mode: this.mode,
      tradable: this.tradable,
    };
  }
}

/** @type {readonly DepthLevel[]} */
const EMPTY = Object.freeze([]);
