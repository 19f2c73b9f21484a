// `Strategy`: the one class an author extends (init, onTick, optional onTimer, snapshot/restore
// with a deterministic default), and `StrategyError`, what a callback throws to fail one tick.

import { classRegistry, decodeFields, encodeFields } from './snapshot.js';

/** @typedef {import('./params.js').Params} Params */
/** @typedef {import('./context.js').InitContext} InitContext */
/** @typedef {import('./context.js').Context} Context */
/** @typedef {import('./tick.js').Tick} Tick */
/** @typedef {import('./timers.js').TimerId} TimerId */

/** A failure of one callback: that tick's signals are dropped and its message reported. */
export class StrategyError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'StrategyError';
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A trading strategy: state in its fields, plus callbacks. The SDK constructs it with no
 * arguments, calls `init` once, then calls back in tick order, one call at a time.
 *
 * An exception thrown from `onTick` or `onTimer` drops the signals that tick produced and becomes
 * an error of that tick (with the exception's message); the next tick comes as usual.
 */
export class Strategy {
  /**
   * Classes of your own whose instances the default snapshot may keep (as their own fields).
   * @type {ReadonlyArray<new (...args: any[]) => object>}
   */
  static snapshotClasses = [];

  /**
   * Reads the parameters and sets up the state, before any tick. Read every parameter here (an
   * unread one is refused as unknown); refuse a bad one with `throw ParamError.invalid(name, why)`.
   * @param {Params} params
   * @param {InitContext} ctx
   * @returns {void}
   */
  // eslint-disable-next-line no-unused-vars
  init(params, ctx) {}

  /**
   * Handles one tick: emit signals with `out.emit(...)`.
   * @param {Tick} tick
   * @param {Context} out
   * @returns {void}
   */
  // eslint-disable-next-line no-unused-vars
  onTick(tick, out) {
    throw new StrategyError(`${this.constructor.name} does not implement onTick`);
  }

  /**
   * A timer set with `out.setTimer(atUs, id)` is due. Runs before the first tick at or after its
   * due time, with `nowUs` = the due time; its signals answer that tick (give them
   * `.instrument(token)`). No-op by default.
   * @param {TimerId} timerId
   * @param {number} nowUs
   * @param {Context} out
   * @returns {void}
   */
  // eslint-disable-next-line no-unused-vars
  onTimer(timerId, nowUs, out) {}

  /**
   * The strategy's state as bytes. Default: canonical JSON (sorted keys) of its own enumerable
   * fields, in UTF-8; `#private` fields are not included.
   * @returns {Uint8Array}
   */
  snapshot() {
    return utf8.encode(encodeFields(this, classRegistry(/** @type {any} */ (this.constructor).snapshotClasses)));
  }

  /**
   * Takes over state from `snapshot` bytes, after `init`. Default: every field of the snapshot
   * replaces the field of that name (parameters included); fields it does not have keep their init
   * values. Nothing changes if the bytes cannot be decoded. Override to keep the new parameters.
   * @param {Uint8Array} state
   * @returns {void}
   */
  restore(state) {
    const fields = decodeFields(fromUtf8.decode(state), classRegistry(/** @type {any} */ (this.constructor).snapshotClasses));
    for (const [k, v] of Object.entries(fields)) {
      Object.defineProperty(this, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
}
