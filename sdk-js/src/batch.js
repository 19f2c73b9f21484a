// Reading one `on-ticks` batch, the SDK's end of the wire: `TickBatch` checks that `data` holds
// `count` tick records and whole depth-level records after them (else the whole batch fails with a
// `BatchError`), then `readTick(i)` checks one record (a `RecordError` fails that tick alone) and
// gives its `Tick` view. Mirrors `abi/src/tick.rs`, messages included.

import { LEVEL_SIZE, TICK_SIZE, bit, off } from './layout.js';
import { Tick } from './tick.js';

/** A batch that cannot be read at all: every tick of it fails. */
export class BatchError extends Error {
  /**
   * @param {'short_data' | 'bad_level_region'} kind the golden vectors' name for it
   * @param {string} message
   */
  constructor(kind, message) {
    super(message);
    this.name = 'BatchError';
    this.kind = kind;
  }
}

/** A tick record that cannot be read: that tick fails, the others run. */
export class RecordError extends Error {
  /**
   * @param {'reserved_presence_bit' | 'symbol_out_of_range' | 'depth_span_out_of_range' | 'bad_mode' | 'bad_tradable'} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(message);
    this.name = 'RecordError';
    this.kind = kind;
  }
}

/** A tick batch as the host sent it, its shape checked. */
export class TickBatch {
  /** @type {import('./tick.js').BatchShared} */ #shared;

  /**
   * @param {number} count number of tick records (u32)
   * @param {Uint8Array} data records, then depth levels
   * @param {readonly string[]} symbols
   * @throws {BatchError}
   */
  constructor(count, data, symbols) {
    const need = count * TICK_SIZE;
    if (!(need <= data.length)) {
      throw new BatchError(
        'short_data',
        `malformed tick batch: ${count} ticks of ${TICK_SIZE} bytes do not fit in ${data.length} bytes of data`,
      );
    }
    const rest = data.length - need;
    if (rest % LEVEL_SIZE !== 0) {
      throw new BatchError(
        'bad_level_region',
        `malformed tick batch: the depth region is ${rest} bytes, not a multiple of ${LEVEL_SIZE}`,
      );
    }
    /** Number of tick records. @readonly */
    this.count = count;
    this.#shared = Object.freeze({
      view: new DataView(data.buffer, data.byteOffset, data.byteLength),
      symbols,
      levelsAt: need,
      levelCount: rest / LEVEL_SIZE,
    });
  }

  /**
   * Tick `i` (0-based), or why its record cannot be read.
   * @param {number} i
   * @returns {Tick | RecordError}
   */
  readTick(i) {
    const b = this.#shared;
    const v = b.view;
    const at = i * TICK_SIZE;
    const presence = v.getUint32(at + off.PRESENCE, true);
    if (presence & ~bit.KNOWN) {
      return new RecordError('reserved_presence_bit', `malformed tick: presence 0x${presence.toString(16)} sets reserved bits`);
    }
    if (presence & bit.MODE) {
      const m = v.getUint8(at + off.MODE);
      if (m > 2) return new RecordError('bad_mode', `malformed tick: mode ${m} (0-2 are defined)`);
    }
    if (presence & bit.TRADABLE) {
      const t = v.getUint8(at + off.TRADABLE);
      if (t > 1) return new RecordError('bad_tradable', `malformed tick: tradable ${t} (0 or 1)`);
    }
    if (presence & bit.SYMBOL) {
      const index = v.getUint32(at + off.SYMBOL, true);
      if (index >= b.symbols.length) {
        return new RecordError(
          'symbol_out_of_range',
          `malformed tick: symbol index ${index}, but the batch has ${b.symbols.length} symbols`,
        );
      }
    }
    if (presence & bit.DEPTH) {
      for (const [side, o] of SIDES) {
        const start = v.getUint32(at + o, true);
        const len = v.getUint32(at + o + 4, true);
        if (start + len > b.levelCount) {
          return new RecordError(
            'depth_span_out_of_range',
            `malformed tick: depth ${side} levels ${start}+${len}, but the batch has ${b.levelCount} levels`,
          );
        }
      }
    }
    return new Tick(b, at, presence);
  }
}

/** @type {ReadonlyArray<[string, number]>} */
const SIDES = [
  ['buy', off.DEPTH_BUY_START],
  ['sell', off.DEPTH_SELL_START],
];
