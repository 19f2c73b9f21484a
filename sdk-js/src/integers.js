// The wire's integer types (u32, u64, s64) for JS values: checks that a number or BigInt fits one
// exactly, and converts it. The writers (ticks for tests, signals for the host) go through these.

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/**
 * `v` as a u64 BigInt, or null if it is not an integer 0..2^64-1 (a number must be a safe integer).
 * @param {unknown} v
 * @returns {bigint | null}
 */
export function asU64(v) {
  if (typeof v === 'bigint') return v >= 0n && v <= U64_MAX ? v : null;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return null;
}

/**
 * `v` as an s64 BigInt, or null if it is not an integer in the signed 64-bit range.
 * @param {unknown} v
 * @returns {bigint | null}
 */
export function asI64(v) {
  if (typeof v === 'bigint') return v >= I64_MIN && v <= I64_MAX ? v : null;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return null;
}

/**
 * True when `v` is a number that is an integer 0..2^32-1.
 * @param {unknown} v
 * @returns {v is number}
 */
export function isU32(v) {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/**
 * Like {@link asU64} but throws a RangeError naming `what`.
 * @param {unknown} v
 * @param {string} what
 */
export function u64(v, what) {
  const b = asU64(v);
  if (b === null) throw new RangeError(`${what} must be an integer 0..2^64-1 (a safe integer number or a BigInt), got ${String(v)}`);
  return b;
}

/**
 * Like {@link asI64} but throws a RangeError naming `what`.
 * @param {unknown} v
 * @param {string} what
 */
export function i64(v, what) {
  const b = asI64(v);
  if (b === null) throw new RangeError(`${what} must be a signed 64-bit integer (a safe integer number or a BigInt), got ${String(v)}`);
  return b;
}

/**
 * `v` itself if it is a u32 number; else a RangeError naming `what`.
 * @param {unknown} v
 * @param {string} what
 */
export function u32(v, what) {
  if (!isU32(v)) throw new RangeError(`${what} must be an integer 0..2^32-1, got ${String(v)}`);
  return v;
}
