// `formatFixed`: a double as text with a fixed number of decimals, exactly as Rust's
// `format!("{x:.N}")` writes it, so a JS strategy's metadata matches a Rust strategy's byte for byte.

const F64 = new DataView(new ArrayBuffer(8));

/**
 * `x` with `digits` decimals, as Rust's `format!("{x:.digits$}")`: the exact value of the double
 * rounded half to even, the sign of negative zero kept (`-0.000000`), every integer digit written
 * (no exponent), `NaN`, `inf`, `-inf`.
 *
 * `Number.prototype.toFixed` differs in three ways: it rounds exact ties away from zero
 * (`(0.125).toFixed(2)` is `"0.13"`, Rust writes `"0.12"`), drops the sign of `-0`, and switches to
 * exponent notation from 1e21.
 * @param {number} x
 * @param {number} digits 0-100
 * @returns {string}
 */
export function formatFixed(x, digits) {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) {
    throw new RangeError(`formatFixed: digits must be an integer 0-100, got ${digits}`);
  }
  if (Number.isNaN(x)) return 'NaN';
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative ? '-' : '';
  if (!Number.isFinite(x)) return `${sign}inf`;
  // |x| = mant * 2^exp exactly.
  F64.setFloat64(0, Math.abs(x));
  const hi = F64.getUint32(0);
  const lo = F64.getUint32(4);
  const biased = hi >>> 20;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp;
  if (biased === 0) {
    exp = -1074; // subnormal
  } else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  // n = round_half_even(|x| * 10^digits)
  const scaled = mant * 10n ** BigInt(digits);
  let n;
  if (exp >= 0) {
    n = scaled << BigInt(exp);
  } else {
    const shift = BigInt(-exp);
    n = scaled >> shift;
    const rem = scaled - (n << shift);
    const half = 1n << (shift - 1n);
    if (rem > half || (rem === half && (n & 1n) === 1n)) n += 1n;
  }
  let text = n.toString();
  if (digits === 0) return sign + text;
  if (text.length <= digits) text = '0'.repeat(digits - text.length + 1) + text;
  return `${sign}${text.slice(0, text.length - digits)}.${text.slice(text.length - digits)}`;
}
