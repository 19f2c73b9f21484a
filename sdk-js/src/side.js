// `Side` (buy or sell) and `TickMode` (ltp, quote, full): the wire's enum bytes as the strings
// a strategy reads and writes.

import { modeByte, sideByte } from './layout.js';

/** @typedef {'buy' | 'sell'} SideName */
/** @typedef {'ltp' | 'quote' | 'full'} TickModeName */

/** Buy or sell: `Side.Buy === 'buy'`, `Side.Sell === 'sell'`. */
export const Side = Object.freeze({
  /** @type {'buy'} */ Buy: 'buy',
  /** @type {'sell'} */ Sell: 'sell',
});

/** How much of the market a tick describes: `'ltp'`, `'quote'` or `'full'`. */
export const TickMode = Object.freeze({
  /** @type {'ltp'} */ Ltp: 'ltp',
  /** @type {'quote'} */ Quote: 'quote',
  /** @type {'full'} */ Full: 'full',
});

/** @type {readonly TickModeName[]} the mode of each mode byte */
export const MODE_NAMES = Object.freeze(['ltp', 'quote', 'full']);

/**
 * The signal record's side byte.
 * @param {SideName} side
 */
export function sideToByte(side) {
  return side === 'sell' ? sideByte.SELL : sideByte.BUY;
}

/**
 * The side a side byte names, or null.
 * @param {number} byte
 * @returns {SideName | null}
 */
export function sideFromByte(byte) {
  if (byte === sideByte.BUY) return 'buy';
  if (byte === sideByte.SELL) return 'sell';
  return null;
}

/**
 * The tick record's mode byte.
 * @param {TickModeName} mode
 */
export function modeToByte(mode) {
  const b = MODE_NAMES.indexOf(mode);
  if (b < 0) throw new RangeError(`tick mode must be 'ltp', 'quote' or 'full', got ${String(mode)}`);
  return b === 0 ? modeByte.LTP : b === 1 ? modeByte.QUOTE : modeByte.FULL;
}
