// The signal buffer of `batch-output` (`abi/src/signal.rs`): `writeSignals` turns checked signal
// records into the flat little-endian buffer the host reads; `readSignals` reads one back (tests,
// tools) or says why it cannot with a `SignalBufferError` of the golden vectors' kind.

import { Decimal } from './decimal.js';
import { asU64 } from './integers.js';
import { SIGNAL_SIZE, priceKind, sigOff } from './layout.js';
import { sideFromByte, sideToByte } from './side.js';

/** @typedef {import('./signal.js').SignalRecord} SignalRecord */

const utf8 = new TextEncoder();

/**
 * The signal buffer for `records`, in order. Each record must have passed `signalProblem`.
 * @param {readonly SignalRecord[]} records
 * @returns {Uint8Array}
 */
export function writeSignals(records) {
  /** @type {Uint8Array[][]} */
  const metas = [];
  let total = 0;
  for (const r of records) {
    const parts = [];
    for (const [k, v] of r.metadata) parts.push(utf8.encode(k), utf8.encode(v));
    metas.push(parts);
    total += SIGNAL_SIZE + parts.reduce((n, p) => n + 4 + p.length, 0);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  records.forEach((r, i) => {
    const parts = metas[i];
    const metaBytes = parts.reduce((n, p) => n + 4 + p.length, 0);
    view.setUint32(at + sigOff.TICK_INDEX, r.tickIndex, true);
    view.setUint32(at + sigOff.INSTRUMENT_TOKEN, r.instrumentToken, true);
    view.setBigUint64(at + sigOff.QUANTITY, asU64(r.quantity) ?? 0n, true);
    const p = r.price;
    if (p === null) {
      view.setUint8(at + sigOff.PRICE_KIND, priceKind.NONE);
    } else if ('exact' in p) {
      view.setBigInt64(at + sigOff.PRICE, p.exact.mantissa, true);
      view.setUint8(at + sigOff.PRICE_KIND, priceKind.EXACT);
      view.setUint8(at + sigOff.PRICE_SCALE, p.exact.scale);
    } else {
      view.setFloat64(at + sigOff.PRICE, p.approx, true);
      view.setUint8(at + sigOff.PRICE_KIND, priceKind.APPROX);
    }
    if (r.confidence !== null) {
      view.setFloat64(at + sigOff.CONFIDENCE, r.confidence, true);
      view.setUint8(at + sigOff.HAS_CONFIDENCE, 1);
    }
    view.setUint8(at + sigOff.SIDE, sideToByte(r.side));
    view.setUint32(at + sigOff.META_PAIRS, r.metadata.length, true);
    view.setUint32(at + sigOff.META_BYTES, metaBytes, true);
    at += SIGNAL_SIZE;
    for (const part of parts) {
      view.setUint32(at, part.length, true);
      out.set(part, at + 4);
      at += 4 + part.length;
    }
  });
  return out;
}

/** Why a signal buffer cannot be read. */
export class SignalBufferError extends Error {
  /**
   * @param {'truncated' | 'trailing_bytes' | 'bad_side' | 'bad_price_kind' | 'bad_has_confidence' | 'metadata_not_utf8' | 'metadata_length'} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(message);
    this.name = 'SignalBufferError';
    this.kind = kind;
  }
}

/**
 * Reads `count` signals from `data`, in order; every byte must belong to them. Quantities come
 * back as BigInt (the wire's u64, exact).
 * @param {number} count
 * @param {Uint8Array} data
 * @returns {SignalRecord[]}
 * @throws {SignalBufferError}
 */
export function readSignals(count, data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** @type {SignalRecord[]} */
  const out = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    const truncated = () => new SignalBufferError('truncated', `signal buffer ends inside signal ${index} (byte ${at})`);
    if (at + SIGNAL_SIZE > data.length) throw truncated();
    const bad = (/** @type {'side' | 'price kind' | 'has confidence'} */ field, /** @type {number} */ value) =>
      new SignalBufferError(
        field === 'side' ? 'bad_side' : field === 'price kind' ? 'bad_price_kind' : 'bad_has_confidence',
        `signal ${index}: \`${field}\` byte ${value} is not defined`,
      );
    const sideByte = view.getUint8(at + sigOff.SIDE);
    const side = sideFromByte(sideByte);
    if (side === null) throw bad('side', sideByte);
    /** @type {import('./signal.js').Price | null} */
    let price;
    const kind = view.getUint8(at + sigOff.PRICE_KIND);
    if (kind === priceKind.NONE) price = null;
    else if (kind === priceKind.EXACT) {
      price = { exact: new Decimal(view.getBigInt64(at + sigOff.PRICE, true), view.getUint8(at + sigOff.PRICE_SCALE)) };
    } else if (kind === priceKind.APPROX) price = { approx: view.getFloat64(at + sigOff.PRICE, true) };
    else throw bad('price kind', kind);
    const hasConfidence = view.getUint8(at + sigOff.HAS_CONFIDENCE);
    if (hasConfidence > 1) throw bad('has confidence', hasConfidence);
    const confidence = hasConfidence === 1 ? view.getFloat64(at + sigOff.CONFIDENCE, true) : null;
    const pairs = view.getUint32(at + sigOff.META_PAIRS, true);
    const metaLen = view.getUint32(at + sigOff.META_BYTES, true);
    const metaStart = at + SIGNAL_SIZE;
    if (metaStart + metaLen > data.length) throw truncated();
    const metadata = readMetadata(data.subarray(metaStart, metaStart + metaLen), pairs, index, strict);
    out.push({
      tickIndex: view.getUint32(at + sigOff.TICK_INDEX, true),
      instrumentToken: view.getUint32(at + sigOff.INSTRUMENT_TOKEN, true),
      side,
      quantity: view.getBigUint64(at + sigOff.QUANTITY, true),
      price,
      confidence,
      metadata,
    });
    at = metaStart + metaLen;
  }
  if (at !== data.length) {
    throw new SignalBufferError('trailing_bytes', `${data.length - at} bytes left after the ${count} announced signals`);
  }
  return out;
}

/**
 * `pairs` key/value pairs filling exactly `meta`.
 * @param {Uint8Array} meta
 * @param {number} pairs
 * @param {number} index
 * @param {TextDecoder} strict
 * @returns {[string, string][]}
 */
function readMetadata(meta, pairs, index, strict) {
  const wrong = () =>
    new SignalBufferError('metadata_length', `signal ${index}: metadata lengths do not match its byte count`);
  const view = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  let at = 0;
  const text = () => {
    if (at + 4 > meta.length) throw wrong();
    const len = view.getUint32(at, true);
    if (at + 4 + len > meta.length) throw wrong();
    const bytes = meta.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    try {
      return strict.decode(bytes);
    } catch {
      throw new SignalBufferError('metadata_not_utf8', `signal ${index}: metadata is not UTF-8`);
    }
  };
  /** @type {[string, string][]} */
  const out = [];
  for (let i = 0; i < pairs; i++) {
    const k = text();
    const v = text();
    out.push([k, v]);
  }
  if (at !== meta.length) throw wrong();
  return out;
}
