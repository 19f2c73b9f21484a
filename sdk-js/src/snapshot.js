// The default snapshot: a strategy's own fields as canonical JSON (keys sorted, one spelling per
// value) in UTF-8, and back. Handles what strategies keep: numbers (NaN, ±Infinity and -0
// included), BigInt, strings, booleans, null, undefined, arrays, plain objects, Map, Set, typed
// arrays, Date, Decimal, the SDK's indicators and Rng, and the classes a strategy lists in
// `static snapshotClasses`. Anything else is refused with the path of the value.

import { Decimal } from './decimal.js';
import { BollingerBands, Ema, RollingWindow, Rsi, Sma, StdDev, ZScore } from './indicators/index.js';
import { Rng } from './rng.js';
import { Tick } from './tick.js';

/** @typedef {new (...args: any[]) => object} Class */

/** SDK classes whose instances are kept as their own fields. */
const SDK_CLASSES = [RollingWindow, Sma, Ema, StdDev, ZScore, Rsi, BollingerBands, Rng];

const TYPED = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

/** Tags of values that are not plain JSON; a class of the registry uses its name. */
const RESERVED = new Set(['undefined', 'number', 'bigint', 'Decimal', 'Map', 'Set', 'Date', 'Object', ...Object.keys(TYPED)]);

/** Why a state cannot be encoded or decoded. */
export class SnapshotError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/**
 * The classes a state may hold, by tag: the SDK's and `extra`.
 * @param {readonly Class[]} extra
 * @returns {Map<string, Class>}
 */
export function classRegistry(extra = []) {
  /** @type {Map<string, Class>} */
  const reg = new Map();
  for (const cls of [...SDK_CLASSES, ...extra]) {
    const name = cls.name;
    if (!name || RESERVED.has(name) || (reg.has(name) && reg.get(name) !== cls)) {
      throw new SnapshotError(`snapshotClasses: class ${name || '(anonymous)'} has a name the snapshot already uses`);
    }
    reg.set(name, cls);
  }
  return reg;
}

/**
 * @param {string} s
 */
const str = (s) => JSON.stringify(s);

/**
 * @param {string} tag
 * @param {string} [v] already-encoded value
 */
const tagged = (tag, v) => (v === undefined ? `{"$":${str(tag)}}` : `{"$":${str(tag)},"v":${v}}`);

/**
 * Canonical JSON of the own enumerable fields of `obj`, keys sorted.
 * @param {object} obj
 * @param {Map<string, Class>} registry
 * @returns {string}
 */
export function encodeFields(obj, registry) {
  /** @type {Set<object>} */
  const open = new Set();
  const byClass = new Map([...registry].map(([name, cls]) => [cls, name]));

  /**
   * @param {unknown} v
   * @param {string} path
   * @returns {string}
   */
  function enc(v, path) {
    switch (typeof v) {
      case 'undefined':
        return tagged('undefined');
      case 'boolean':
        return v ? 'true' : 'false';
      case 'string':
        return str(v);
      case 'number':
        if (Number.isFinite(v) && !Object.is(v, -0)) return JSON.stringify(v);
        return tagged('number', str(Object.is(v, -0) ? '-0' : String(v)));
      case 'bigint':
        return tagged('bigint', str(v.toString()));
      case 'function':
      case 'symbol':
        throw new SnapshotError(`${path}: a ${typeof v} cannot be snapshotted`);
    }
    if (v === null) return 'null';
    const o = /** @type {object} */ (v);
    if (open.has(o)) throw new SnapshotError(`${path}: the state refers to itself (a cycle)`);
    open.add(o);
    try {
      return encObject(o, path);
    } finally {
      open.delete(o);
    }
  }

  /**
   * @param {Record<string, unknown>} o
   * @param {string} path
   */
  function fields(o, path) {
    const keys = Object.keys(o).sort();
    return `{${keys.map((k) => `${str(k)}:${enc(o[k], `${path}.${k}`)}`).join(',')}}`;
  }

  /**
   * @param {object} o
   * @param {string} path
   */
  function encObject(o, path) {
    const proto = Object.getPrototypeOf(o);
    if (Array.isArray(o) && proto === Array.prototype) {
      return `[${Array.from(o, (x, i) => enc(x, `${path}[${i}]`)).join(',')}]`;
    }
    if (proto === Object.prototype || proto === null) {
      const rec = /** @type {Record<string, unknown>} */ (o);
      return '$' in rec ? tagged('Object', fields(rec, path)) : fields(rec, path);
    }
    if (o instanceof Decimal) return tagged('Decimal', str(o.toString()));
    if (o instanceof Map) {
      return tagged('Map', `[${[...o].map(([k, x], i) => `[${enc(k, `${path}<key ${i}>`)},${enc(x, `${path}.get(${String(k)})`)}]`).join(',')}]`);
    }
    if (o instanceof Set) return tagged('Set', `[${[...o].map((x, i) => enc(x, `${path}<item ${i}>`)).join(',')}]`);
    if (o instanceof Date) return tagged('Date', enc(o.getTime(), path));
    for (const [name, T] of Object.entries(TYPED)) {
      if (o instanceof T) return tagged(name, `[${Array.from(/** @type {ArrayLike<unknown>} */ (o), (x, i) => enc(x, `${path}[${i}]`)).join(',')}]`);
    }
    const name = byClass.get(proto?.constructor);
    if (name !== undefined) return tagged(name, fields(/** @type {Record<string, unknown>} */ (o), path));
    if (o instanceof Tick) {
      throw new SnapshotError(`${path}: a Tick cannot be kept in state (it reads from its batch); keep its fields, e.g. tick.price or tick.lastPrice`);
    }
    const cls = proto?.constructor?.name ?? 'unknown';
    throw new SnapshotError(
      `${path}: an instance of ${cls} cannot be snapshotted; list the class in the strategy's static snapshotClasses, or override snapshot()/restore()`,
    );
  }

  return fields(/** @type {Record<string, unknown>} */ (obj), 'this');
}

/**
 * The fields `encodeFields` wrote, as a plain object of revived values.
 * @param {string} text
 * @param {Map<string, Class>} registry
 * @returns {Record<string, unknown>}
 */
export function decodeFields(text, registry) {
  /** @type {unknown} */
  let tree;
  try {
    tree = JSON.parse(text);
  } catch (e) {
    throw new SnapshotError(`not JSON: ${/** @type {Error} */ (e).message}`);
  }
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) throw new SnapshotError('not an object of fields');

  /**
   * @param {unknown} v
   * @param {string} path
   * @returns {unknown}
   */
  function dec(v, path) {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x, i) => dec(x, `${path}[${i}]`));
    const o = /** @type {Record<string, unknown>} */ (v);
    if (!('$' in o)) return plain(o, path);
    const tag = o.$;
    const val = o.v;
    const list = () => {
      if (!Array.isArray(val)) throw new SnapshotError(`${path}: ${String(tag)} without a list`);
      return val;
    };
    switch (tag) {
      case 'undefined':
        return undefined;
      case 'number':
        return val === '-0' ? -0 : Number(val);
      case 'bigint':
        return BigInt(/** @type {string} */ (val));
      case 'Decimal':
        return Decimal.parse(/** @type {string} */ (val));
      case 'Object':
        return plain(/** @type {Record<string, unknown>} */ (val), path);
      case 'Map':
        return new Map(list().map(([k, x], i) => [dec(k, `${path}<key ${i}>`), dec(x, `${path}<value ${i}>`)]));
      case 'Set':
        return new Set(list().map((x, i) => dec(x, `${path}<item ${i}>`)));
      case 'Date':
        return new Date(/** @type {number} */ (dec(val, path)));
    }
    if (typeof tag === 'string' && Object.hasOwn(TYPED, tag)) {
      const T = TYPED[/** @type {keyof typeof TYPED} */ (tag)];
      return new T(/** @type {any} */ (list().map((x, i) => dec(x, `${path}[${i}]`))));
    }
    const cls = typeof tag === 'string' ? registry.get(tag) : undefined;
    if (!cls) throw new SnapshotError(`${path}: unknown class ${String(tag)} (not in the SDK or the strategy's snapshotClasses)`);
    return Object.assign(Object.create(cls.prototype), plain(/** @type {Record<string, unknown>} */ (val), path));
  }

  /**
   * @param {Record<string, unknown>} o
   * @param {string} path
   */
  function plain(o, path) {
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const [k, x] of Object.entries(o)) {
      Object.defineProperty(out, k, { value: dec(x, `${path}.${k}`), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  return plain(/** @type {Record<string, unknown>} */ (tree), 'this');
}
