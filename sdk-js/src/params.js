// `Params`: the strategy's parameters (from its manifest), read with a type, a default and a range;
// `ParamError`, the refusal that names the parameter. Every parameter must be read during `init`:
// one nobody reads is refused as unknown, so a typo in a manifest (`lokback`) stops the load.

/**
 * One parameter value as the host sends it (the WIT `param-value`); integers are BigInt.
 * @typedef {{ tag: 'integer', val: bigint } | { tag: 'float', val: number } | { tag: 'text', val: string } | { tag: 'boolean', val: boolean }} ParamValue
 */

/**
 * A parameter value in a test: a BigInt or an integral number is an integer, any other number a
 * float, a string text, a boolean a boolean; or an explicit `ParamValue` (`{tag: 'float', val: 2}`).
 * @typedef {bigint | number | string | boolean | ParamValue} ParamInput
 */

/**
 * Options of a typed getter.
 * @template T
 * @typedef {object} GetOptions
 * @property {T} [default] the value when the parameter is not given (without it, a missing one is an error)
 * @property {boolean} [optional] a missing parameter is `null` instead of an error
 * @property {number} [min] inclusive lower bound (numbers)
 * @property {number} [max] inclusive upper bound (numbers)
 */

/** A refused parameter set: which parameter (if one is at fault) and why. Throw it from `init`. */
export class ParamError extends Error {
  /**
   * @param {string | null} param the parameter at fault, or null for the set as a whole
   * @param {string} message
   */
  constructor(param, message) {
    super(param === null ? message : `parameter \`${param}\`: ${message}`);
    this.name = 'ParamError';
    this.param = param;
    /** Why, without the parameter name. */
    this.reason = message;
  }

  /**
   * `param` has a value the strategy refuses (`"must be at least 2"`).
   * @param {string} param
   * @param {string} message
   */
  static invalid(param, message) {
    return new ParamError(param, message);
  }

  /**
   * The parameter set as a whole is refused.
   * @param {string} message
   */
  static general(message) {
    return new ParamError(null, message);
  }
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/**
 * @param {ParamInput} v
 * @param {string} name
 * @returns {ParamValue}
 */
function toParamValue(v, name) {
  if (typeof v === 'bigint') {
    if (v < I64_MIN || v > I64_MAX) throw new RangeError(`parameter ${name}: ${v} is outside the signed 64-bit range`);
    return { tag: 'integer', val: v };
  }
  if (typeof v === 'number') return Number.isInteger(v) ? { tag: 'integer', val: BigInt(v) } : { tag: 'float', val: v };
  if (typeof v === 'string') return { tag: 'text', val: v };
  if (typeof v === 'boolean') return { tag: 'boolean', val: v };
  if (v && typeof v === 'object' && 'tag' in v && ['integer', 'float', 'text', 'boolean'].includes(v.tag)) {
    return v.tag === 'integer' ? { tag: 'integer', val: BigInt(v.val) } : v;
  }
  throw new TypeError(`parameter ${name}: ${String(v)} is not a parameter value`);
}

/** @param {ParamValue} v */
function describe(v) {
  switch (v.tag) {
    case 'integer':
      return `integer ${v.val}`;
    case 'float':
      return `float ${v.val}`;
    case 'text':
      return `text ${JSON.stringify(v.val)}`;
    default:
      return `boolean ${v.val}`;
  }
}

/**
 * The parameters a strategy is started with, by name, read with typed getters:
 * `params.int('lookback', { default: 20, min: 1 })`, `params.float('threshold', { default: 0.01 })`,
 * `params.bool('verbose', { default: false })`, `params.text('mode', { optional: true })`.
 *
 * Integers convert to `int` (a safe-integer number) and `bigint`; an integer is accepted where a
 * float is asked; text and booleans only convert to `text` and `bool`.
 */
export class Params {
  /** @type {Map<string, {value: ParamValue, read: boolean}>} */ #entries = new Map();
  /** @type {string[]} every name a getter asked for, given or not */ #asked = [];

  /**
   * @param {Record<string, ParamInput>} [values] name → value (for tests)
   */
  constructor(values = {}) {
    for (const [name, v] of Object.entries(values)) this.#entries.set(name, { value: toParamValue(v, name), read: false });
  }

  /**
   * Adds (or replaces) one parameter; for tests.
   * @param {string} name
   * @param {ParamInput} value
   */
  with(name, value) {
    this.#entries.delete(name);
    this.#entries.set(name, { value: toParamValue(value, name), read: false });
    return this;
  }

  /**
   * The set the host sends; a name given twice is refused.
   * @param {Iterable<[string, ParamValue]>} pairs
   * @throws {ParamError}
   */
  static fromPairs(pairs) {
    const p = new Params();
    for (const [name, value] of pairs) {
      if (p.#entries.has(name)) throw ParamError.invalid(name, 'given more than once');
      p.#entries.set(name, { value: toParamValue(value, name), read: false });
    }
    return p;
  }

  /**
   * The raw value, if the parameter was given (marks it read).
   * @param {string} name
   * @returns {ParamValue | undefined}
   */
  raw(name) {
    if (!this.#asked.includes(name)) this.#asked.push(name);
    const e = this.#entries.get(name);
    if (!e) return undefined;
    e.read = true;
    return e.value;
  }

  /**
   * An integer parameter as a number (it must be a safe integer: |v| <= 2^53 - 1).
   * @param {string} name
   * @param {GetOptions<number>} [opts]
   * @returns {number} (null only with `optional`)
   */
  int(name, opts = {}) {
    return this.#get(name, opts, 'an integer', (v) => {
      if (v.tag !== 'integer') return undefined;
      const n = Number(v.val);
      if (!Number.isSafeInteger(n)) {
        throw ParamError.invalid(name, `integer ${v.val} is beyond ±(2^53 - 1), where numbers stop being exact (read it with params.bigint)`);
      }
      return n;
    });
  }

  /**
   * An integer parameter as a BigInt (the full signed 64-bit range).
   * @param {string} name
   * @param {GetOptions<bigint>} [opts]
   * @returns {bigint}
   */
  bigint(name, opts = {}) {
    return this.#get(name, opts, 'an integer', (v) => (v.tag === 'integer' ? v.val : undefined));
  }

  /**
   * A number parameter (an integer is accepted).
   * @param {string} name
   * @param {GetOptions<number>} [opts]
   * @returns {number}
   */
  float(name, opts = {}) {
    return this.#get(name, opts, 'a number', (v) =>
      v.tag === 'float' ? v.val : v.tag === 'integer' ? Number(v.val) : undefined,
    );
  }

  /**
   * A boolean parameter.
   * @param {string} name
   * @param {GetOptions<boolean>} [opts]
   * @returns {boolean}
   */
  bool(name, opts = {}) {
    return this.#get(name, opts, 'a boolean', (v) => (v.tag === 'boolean' ? v.val : undefined));
  }

  /**
   * A text parameter.
   * @param {string} name
   * @param {GetOptions<string>} [opts]
   * @returns {string}
   */
  text(name, opts = {}) {
    return this.#get(name, opts, 'text', (v) => (v.tag === 'text' ? v.val : undefined));
  }

  /**
   * @template T
   * @param {string} name
   * @param {GetOptions<T>} opts
   * @param {string} expected
   * @param {(v: ParamValue) => T | undefined} convert undefined: of another type (it may also throw)
   * @returns {any}
   */
  #get(name, opts, expected, convert) {
    const raw = this.raw(name);
    /** @type {any} */
    let value;
    if (raw === undefined) {
      if ('default' in opts) value = opts.default;
      else if (opts.optional) return null;
      else throw ParamError.invalid(name, `missing (expected ${expected})`);
    } else {
      value = convert(raw);
      if (value === undefined) throw ParamError.invalid(name, `expected ${expected}, found ${describe(raw)}`);
    }
    const { min, max } = opts;
    const below = min !== undefined && !(value >= min);
    const above = max !== undefined && !(value <= max);
    if (below || above) {
      const range =
        min !== undefined && max !== undefined ? `in ${min}..=${max}` : min !== undefined ? `>= ${min}` : `<= ${max}`;
      throw ParamError.invalid(name, `must be ${range}, found ${value}`);
    }
    return value;
  }

  /** Names and values, in the order given. @returns {[string, ParamValue][]} */
  entries() {
    return [...this.#entries].map(([name, e]) => [name, e.value]);
  }

  /** The first parameter no getter has read, if any. @returns {string | null} */
  firstUnread() {
    for (const [name, e] of this.#entries) if (!e.read) return name;
    return null;
  }

  /** Every name a getter asked for, in order, given or not. */
  askedNames() {
    return [...this.#asked];
  }
}
