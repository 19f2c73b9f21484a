// `RollingWindow`: a fixed-capacity FIFO of the last N values (a ring buffer), what the other
// indicators are built on. Mirrors the Rust SDK's `RollingWindow`.

/**
 * The last `capacity` values pushed, oldest first.
 * @template [T=number]
 */
export class RollingWindow {
  /**
   * @param {number} capacity values kept (0 is taken as 1)
   */
  constructor(capacity) {
    /** @readonly */
    this.capacity = Math.max(1, Math.floor(capacity) || 0);
    /** @type {T[]} */
    this._buf = [];
    /** index of the oldest value in `_buf` once it is full */
    this._head = 0;
  }

  /**
   * Appends `value`; returns the value that fell out if the window was full, else undefined.
   * @param {T} value
   * @returns {T | undefined}
   */
  push(value) {
    const buf = this._buf;
    if (buf.length < this.capacity) {
      buf.push(value);
      return undefined;
    }
    const evicted = buf[this._head];
    buf[this._head] = value;
    this._head = this._head + 1 === this.capacity ? 0 : this._head + 1;
    return evicted;
  }

  /** Number of values held. */
  get length() {
    return this._buf.length;
  }

  isEmpty() {
    return this._buf.length === 0;
  }

  /** True once `capacity` values have been pushed. */
  isFull() {
    return this._buf.length === this.capacity;
  }

  /**
   * The `i`-th value, 0 being the oldest; undefined out of range.
   * @param {number} i
   * @returns {T | undefined}
   */
  get(i) {
    const n = this._buf.length;
    if (!(i >= 0 && i < n)) return undefined;
    return this._buf[(this._head + i) % n];
  }

  /** @returns {T | undefined} */
  oldest() {
    return this.get(0);
  }

  /** @returns {T | undefined} */
  newest() {
    return this.get(this._buf.length - 1);
  }

  /** Oldest first. @returns {IterableIterator<T>} */
  *[Symbol.iterator]() {
    const n = this._buf.length;
    for (let i = 0; i < n; i++) yield this._buf[(this._head + i) % n];
  }

  /** The values, oldest first. @returns {T[]} */
  toArray() {
    return [...this];
  }

  clear() {
    this._buf = [];
    this._head = 0;
  }
}

/**
 * The sum of a full window of numbers, oldest first, folded from -0 as Rust's `Iterator::sum` does
 * (so even the sign of a zero sum matches the Rust SDK).
 * @param {RollingWindow<number>} w
 * @param {(x: number) => number} [f] applied to each value first
 */
export function windowSum(w, f) {
  const buf = w._buf;
  const n = buf.length;
  let s = -0;
  for (let i = 0; i < n; i++) {
    const x = buf[(w._head + i) % n];
    s += f ? f(x) : x;
  }
  return s;
}
