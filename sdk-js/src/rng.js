// `Rng`: the strategy's own deterministic random numbers, seeded from the host's per-strategy seed
// (Math.random is fixed at build time in the sandbox). xoshiro128** seeded by splitmix64, so the
// same seed gives the same sequence natively, in the component and after a snapshot/restore.

const MASK64 = (1n << 64n) - 1n;

/**
 * splitmix64 step: the next state and its output.
 * @param {bigint} state
 * @returns {[bigint, bigint]}
 */
function splitmix64(state) {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [s, z ^ (z >> 31n)];
}

/**
 * A seeded pseudo-random generator (xoshiro128**, state seeded with two splitmix64 outputs of the
 * seed). Not for cryptography. Keep it in a field: it is part of the default snapshot.
 */
export class Rng {
  /**
   * @param {bigint | number} seed 0..2^64-1 (`ctx.seed`)
   */
  constructor(seed) {
    let s = BigInt.asUintN(64, BigInt(seed));
    /** @type {number[]} four u32 words */
    this.state = [];
    for (let i = 0; i < 2; i++) {
      const [next, out] = splitmix64(s);
      s = next;
      this.state.push(Number(out & 0xffffffffn), Number(out >> 32n));
    }
    if (!this.state.some((w) => w !== 0)) this.state[0] = 1; // xoshiro must not start all zero
  }

  /** The next 32 random bits, 0..2^32-1. */
  nextU32() {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    for (let i = 0; i < 4; i++) s[i] >>>= 0;
    return result;
  }

  /** A float in [0, 1) with 53 random bits. */
  nextFloat() {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * A whole number in [0, n), without modulo bias. n in 1..2^32.
   * @param {number} n
   */
  nextInt(n) {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`nextInt: n must be an integer 1..2^32, got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }
}

/**
 * @param {number} x
 * @param {number} k
 */
function rotl(x, k) {
  return (x << k) | (x >>> (32 - k));
}
