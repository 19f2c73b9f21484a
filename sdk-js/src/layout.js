// The byte layout of the wire, as `abi/src/layout.rs` defines it (and wit/strategy.wit documents):
// record sizes, presence bits, field offsets and enum byte values. Every integer is little-endian.

/** Bytes of one tick record. */
export const TICK_SIZE = 176;
/** Bytes of one depth-level record. */
export const LEVEL_SIZE = 24;
/** Bytes of the fixed part of one signal record (its metadata follows it). */
export const SIGNAL_SIZE = 48;

/** Presence bits of a tick record (the u32 at `off.PRESENCE`): bit set = field present. */
export const bit = Object.freeze({
  SYMBOL: 1 << 0,
  VOLUME_TRADED: 1 << 1,
  LAST_TRADED_QUANTITY: 1 << 2,
  AVERAGE_TRADED_PRICE: 1 << 3,
  TOTAL_BUY_QUANTITY: 1 << 4,
  TOTAL_SELL_QUANTITY: 1 << 5,
  CHANGE: 1 << 6,
  /** All four prices of the OHLC. */
  OHLC: 1 << 7,
  OI: 1 << 8,
  OI_DAY_HIGH: 1 << 9,
  OI_DAY_LOW: 1 << 10,
  LAST_TRADE_TIME: 1 << 11,
  EXCHANGE_TIMESTAMP: 1 << 12,
  /** The tick carried a depth object (either side may still have no levels). */
  DEPTH: 1 << 13,
  MODE: 1 << 14,
  TRADABLE: 1 << 15,
  /** Every bit this version defines; the others must be zero. */
  KNOWN: 0xffff,
});

/** Byte offsets of the fields of a tick record. A decimal's s64 mantissa is at its name, its u8 scale at NAME_SCALE. */
export const off = Object.freeze({
  PRESENCE: 0,
  INSTRUMENT_TOKEN: 4,
  TIMESTAMP_US: 8,
  LAST_PRICE: 16,
  AVERAGE_TRADED_PRICE: 24,
  CHANGE: 32,
  OPEN: 40,
  HIGH: 48,
  LOW: 56,
  CLOSE: 64,
  VOLUME_TRADED: 72,
  LAST_TRADED_QUANTITY: 80,
  TOTAL_BUY_QUANTITY: 88,
  TOTAL_SELL_QUANTITY: 96,
  OI: 104,
  OI_DAY_HIGH: 112,
  OI_DAY_LOW: 120,
  LAST_TRADE_TIME_US: 128,
  EXCHANGE_TIMESTAMP_US: 136,
  SYMBOL: 144,
  DEPTH_BUY_START: 148,
  DEPTH_BUY_LEN: 152,
  DEPTH_SELL_START: 156,
  DEPTH_SELL_LEN: 160,
  LAST_PRICE_SCALE: 164,
  AVERAGE_TRADED_PRICE_SCALE: 165,
  CHANGE_SCALE: 166,
  OPEN_SCALE: 167,
  HIGH_SCALE: 168,
  LOW_SCALE: 169,
  CLOSE_SCALE: 170,
  MODE: 171,
  TRADABLE: 172,
});

/** Byte offsets of the fields of a depth-level record (the n-th at TICK_SIZE * count + LEVEL_SIZE * n). */
export const levelOff = Object.freeze({
  PRICE: 0,
  QUANTITY: 8,
  ORDERS: 16,
  PRICE_SCALE: 20,
});

/** Values of a tick record's mode byte. */
export const modeByte = Object.freeze({ LTP: 0, QUOTE: 1, FULL: 2 });

/** Byte offsets of the fields of a signal record; metadata pairs follow the record. */
export const sigOff = Object.freeze({
  TICK_INDEX: 0,
  INSTRUMENT_TOKEN: 4,
  QUANTITY: 8,
  PRICE: 16,
  CONFIDENCE: 24,
  META_PAIRS: 32,
  META_BYTES: 36,
  SIDE: 40,
  PRICE_KIND: 41,
  PRICE_SCALE: 42,
  HAS_CONFIDENCE: 43,
});

/** Values of a signal record's side byte. */
export const sideByte = Object.freeze({ BUY: 0, SELL: 1 });

/** Values of a signal record's price-kind byte. */
export const priceKind = Object.freeze({ NONE: 0, EXACT: 1, APPROX: 2 });
