// `InitContext` (who the strategy is: id, instruments, seed, a seeded `Rng`, and its artifacts) and `Context`
// (what a callback can do besides changing its own state: emit signals, set timers, read the feed's
// time, log).

import { Artifacts } from './artifacts.js';
import { log as hostLog } from './logging.js';
import { Rng } from './rng.js';
import { Timers } from './timers.js';

/** @typedef {import('./signal.js').Signal} Signal */

/** How the runner sets a Context's time before each callback (not part of the API). */
export const SET_NOW = Symbol('setNow');
/** @typedef {import('./timers.js').TimerId} TimerId */
/** @typedef {import('./logging.js').Level} Level */

/** Who the strategy is, given once to `init`. */
export class InitContext {
  /**
   * @param {{ strategyId?: string, instruments?: Iterable<number>, seed?: bigint | number,
   *   artifacts?: Artifacts }} [init]
   */
  constructor({ strategyId = '', instruments = [], seed = 0n, artifacts = new Artifacts() } = {}) {
    /** The strategy id of the manifest (`"momentum_js_1"`). @readonly */
    this.strategyId = strategyId;
    /** The instruments the strategy is subscribed to (empty: any). @readonly @type {number[]} */
    this.instruments = [...instruments];
    /** The only randomness a strategy gets: fixed per strategy id, 0..2^64-1. @readonly */
    this.seed = BigInt.asUintN(64, BigInt(seed));
    /** The read-only files the manifest names under `[artifacts]`: `ctx.artifacts.json('model')`. @readonly */
    this.artifacts = artifacts;
  }

  /** A generator seeded from `seed`: the same sequence for the same strategy id, every run. */
  rng() {
    return new Rng(this.seed);
  }
}

/**
 * What a callback can do. The SDK owns it and reuses it between calls; in a test,
 * `new Context()` lets you call `onTick` directly and read `signals`.
 */
export class Context {
  /** @type {Signal[]} */ #signals = [];
  #nowUs = 0;
  /** @type {Timers} */ #timers;

  /** @param {Timers} [timers] the runner's queue */
  constructor(timers = new Timers()) {
    this.#timers = timers;
  }

  /**
   * Emits a signal. Without `.instrument(token)` it is for the tick's instrument.
   * @param {Signal} signal
   */
  emit(signal) {
    this.#signals.push(signal);
  }

  /**
   * The current time by the feed: the tick's timestamp in onTick, the timer's due time in onTimer
   * (microseconds since the epoch).
   */
  get nowUs() {
    return this.#nowUs;
  }

  /**
   * Calls `onTimer(id, atUs)` before the first tick whose timestamp is >= `atUs`. Setting an id that
   * is pending moves it. Timers are part of the snapshot.
   * @param {number | bigint} atUs microseconds since the epoch
   * @param {TimerId} id a whole number 0..2^64-1; comes back to onTimer as given
   */
  setTimer(atUs, id) {
    this.#timers.set(atUs, id);
  }

  /**
   * Cancels a pending timer; false if there was none with this id.
   * @param {TimerId} id
   */
  cancelTimer(id) {
    return this.#timers.cancel(id);
  }

  /**
   * When the pending timer `id` is due, or null.
   * @param {TimerId} id
   */
  timer(id) {
    return this.#timers.dueOf(id);
  }

  /**
   * Logs through the host.
   * @param {Level} level
   * @param {string} message
   * @param {Record<string, unknown> | Iterable<[string, unknown]>} [fields]
   */
  log(level, message, fields) {
    hostLog(level, message, fields);
  }

  /** The signals emitted since the SDK (or a test) last took them. @returns {readonly Signal[]} */
  get signals() {
    return [...this.#signals];
  }

  /** Takes the signals emitted so far. */
  takeSignals() {
    const s = this.#signals;
    this.#signals = [];
    return s;
  }

  /** @param {number} nowUs */
  [SET_NOW](nowUs) {
    this.#nowUs = nowUs;
  }
}
