// `Decimal`: the exact prices the wire carries (mantissa / 10^scale, a signed 64-bit mantissa as a
// BigInt and a scale of 0-255), with text that keeps the scale both ways ("2501.50" stays "2501.50").

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** Exact powers of ten as doubles (every one up to 10^22 is representable). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Why a text is not a {@link Decimal}. */
export class ParseDecimalError extends Error {
  /**
   * @param {string} text
   * @param {string} reason
   */
  constructor(text, reason) {
    super(`invalid decimal ${JSON.stringify(text)}: ${reason}`);
    this.name = 'ParseDecimalError';
    this.text = text;
    this.reason = reason;
  }
}

/**
 * An exact decimal number: `value = mantissa / 10^scale`; `"2501.55"` is `{250155n, 2}`.
 *
 * Equality is by representation: `2.5` (`{25n, 1}`) and `2.50` (`{250n, 2}`) are different
 * values that print differently. Compare numerically with {@link Decimal#toNumber}.
 * Instances are immutable.
 */
export class Decimal {
  /** Zero with scale 0. */
  static ZERO = new Decimal(0n, 0);

  /**
   * @param {bigint} mantissa a signed 64-bit integer
   * @param {number} [scale] digits after the point, 0-255
   */
  constructor(mantissa, scale = 0) {
    if (typeof mantissa !== 'bigint' || mantissa < I64_MIN || mantissa > I64_MAX) {
      throw new RangeError(`Decimal mantissa must be a BigInt in the signed 64-bit range, got ${String(mantissa)}`);
    }
    if (!Number.isInteger(scale) || scale < 0 || scale > 255) {
      throw new RangeError(`Decimal scale must be an integer 0-255, got ${String(scale)}`);
    }
    /** @readonly */
    this.mantissa = mantissa;
    /** @readonly */
    this.scale = scale;
    Object.freeze(this);
  }

  /**
   * Plain decimal notation: an optional sign, digits, optionally `.` and more digits
   * (`"2501.55"`, `"-0.5"`, `"100"`). The scale is the number of fraction digits as written,
   * so `"2501.50"` keeps its trailing zero. No exponents, no separators, no spaces.
   * @param {string} text
   * @returns {Decimal}
   * @throws {ParseDecimalError}
   */
  static parse(text) {
    if (typeof text !== 'string') {
      throw new ParseDecimalError(String(text), 'expected a string');
    }
    let body = text;
    let negative = false;
    if (body.startsWith('-')) {
      negative = true;
      body = body.slice(1);
    } else if (body.startsWith('+')) {
      body = body.slice(1);
    }
    const dot = body.indexOf('.');
    const intPart = dot < 0 ? body : body.slice(0, dot);
    const fracPart = dot < 0 ? '' : body.slice(dot + 1);
    if (intPart === '' || (dot >= 0 && fracPart === '')) {
      throw new ParseDecimalError(text, "expected digits on both sides of '.'");
    }
    if (fracPart.length > 255) {
      throw new ParseDecimalError(text, 'too many fraction digits');
    }
    const digits = intPart + fracPart;
    if (!/^[0-9]+$/.test(digits)) {
      throw new ParseDecimalError(text, "expected only digits, a sign and one '.'");
    }
    const mantissa = negative ? -BigInt(digits) : BigInt(digits);
    if (mantissa < I64_MIN || mantissa > I64_MAX) {
      throw new ParseDecimalError(text, 'out of range for a 64-bit mantissa');
    }
    return new Decimal(mantissa, fracPart.length);
  }

  /**
   * The nearest double (exact rounding while |mantissa| <= 2^53 and scale <= 22), computed as
   * the Rust SDK does (`mantissa as f64 / 10^scale`), so both give the same bits:
   * `Decimal.parse("2501.55").toNumber() === 2501.55`.
   * @returns {number}
   */
  toNumber() {
    return scaleDown(Number(this.mantissa), this.scale);
  }

  /** True when the value is strictly greater than zero. */
  isPositive() {
    return this.mantissa > 0n;
  }

  /**
   * Same mantissa and same scale (`2.5` is not `2.50`).
   * @param {Decimal} other
   */
  equals(other) {
    return other instanceof Decimal && other.mantissa === this.mantissa && other.scale === this.scale;
  }

  /** Every digit of the scale: `{250150n, 2}` is `"2501.50"`, `{5n, 3}` is `"0.005"`. */
  toString() {
    const negative = this.mantissa < 0n;
    const digits = (negative ? -this.mantissa : this.mantissa).toString();
    const sign = negative ? '-' : '';
    const scale = this.scale;
    if (scale === 0) return sign + digits;
    if (digits.length > scale) {
      return `${sign}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
    }
    return `${sign}0.${'0'.repeat(scale - digits.length)}${digits}`;
  }

  /** The text, so `JSON.stringify` and template strings show "2501.50". */
  toJSON() {
    return this.toString();
  }
}

/**
 * `m / 10^scale` as the Rust SDK computes it (one division while the power is exact).
 * @param {number} m the mantissa as the nearest double
 * @param {number} scale
 */
export function scaleDown(m, scale) {
  if (scale <= 22) return m / POW10[scale];
  let v = m / POW10[22];
  for (let i = 22; i < scale; i++) v /= 10;
  return v;
}
