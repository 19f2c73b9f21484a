// `Timers`: callbacks by tick time, a deterministic queue ordered by (due time, id). A timer fires
// before the first tick whose timestamp is at or after its due time; an id names one timer.

/** @typedef {number | bigint} TimerId a whole number 0..2^64-1 */

/**
 * @typedef {object} TimerEntry
 * @property {number} due microseconds since the epoch
 * @property {bigint} key the id as a BigInt (ordering, identity)
 * @property {TimerId} id the id as the strategy gave it
 */

const U64_MAX = (1n << 64n) - 1n;

/**
 * The id as a BigInt key, or a TypeError.
 * @param {unknown} id
 * @returns {bigint}
 */
export function timerKey(id) {
  if (typeof id === 'bigint' && id >= 0n && id <= U64_MAX) return id;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return BigInt(id);
  throw new TypeError(`timer id must be a whole number 0..2^64-1 (a safe integer or a BigInt), got ${String(id)}`);
}

/**
 * A due time as a number, or a TypeError.
 * @param {unknown} at
 * @returns {number}
 */
export function dueTime(at) {
  if (typeof at === 'bigint') return Number(at);
  if (typeof at === 'number' && Number.isFinite(at)) return at;
  throw new TypeError(`timer time must be a finite number of microseconds, got ${String(at)}`);
}

/**
 * @param {{due: number, key: bigint}} a
 * @param {{due: number, key: bigint}} b
 */
function cmp(a, b) {
  return a.due - b.due || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * Pending timers. Several due at once fire in (due, id) order; setting an id again moves it.
 */
export class Timers {
  /** @type {TimerEntry[]} sorted by (due, key) */ #queue = [];
  /** @type {Map<bigint, TimerEntry>} */ #byKey = new Map();

  /**
   * @param {number | bigint} dueUs
   * @param {TimerId} id
   */
  set(dueUs, id) {
    const key = timerKey(id);
    const due = dueTime(dueUs);
    this.#remove(key);
    const entry = { due, key, id };
    let i = this.#queue.length;
    while (i > 0 && cmp(this.#queue[i - 1], entry) > 0) i--;
    this.#queue.splice(i, 0, entry);
    this.#byKey.set(key, entry);
  }

  /**
   * @param {TimerId} id
   * @returns {boolean} false if there was no timer with this id
   */
  cancel(id) {
    return this.#remove(timerKey(id));
  }

  /** @param {bigint} key */
  #remove(key) {
    const old = this.#byKey.get(key);
    if (!old) return false;
    this.#byKey.delete(key);
    this.#queue.splice(this.#queue.indexOf(old), 1);
    return true;
  }

  /**
   * When timer `id` is due, or null.
   * @param {TimerId} id
   */
  dueOf(id) {
    return this.#byKey.get(timerKey(id))?.due ?? null;
  }

  /**
   * Takes over the timers of `other` (a restore).
   * @param {Timers} other
   */
  replaceWith(other) {
    this.#queue = [...other.#queue];
    this.#byKey = new Map(other.#byKey);
  }

  get size() {
    return this.#queue.length;
  }

  /** `[due, id]` in firing order. @returns {[number, TimerId][]} */
  list() {
    return this.#queue.map((e) => [e.due, e.id]);
  }

  /**
   * Removes and returns the first timer due at or before `nowUs` that sorts after `after` (the last
   * one fired for this tick): a timer (re)set by a callback for a time before the one firing waits
   * for the next tick instead of looping.
   * @param {number} nowUs
   * @param {TimerEntry | null} after
   * @returns {TimerEntry | null}
   */
  popDue(nowUs, after) {
    const q = this.#queue;
    let i = 0;
    if (after !== null) while (i < q.length && cmp(q[i], after) <= 0) i++;
    if (i >= q.length || q[i].due > nowUs) return null;
    const [next] = q.splice(i, 1);
    this.#byKey.delete(next.key);
    return next;
  }
}
