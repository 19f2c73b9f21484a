// `Runner`: drives a Strategy tick by tick (due timers first, then onTick), turns exceptions into
// errors of their tick, tags and checks every signal, and wraps the strategy's snapshot with the
// SDK's own state (pending timers). The component's entry uses it; so do tests.

import { Context, InitContext, SET_NOW } from './context.js';
import { ParamError, Params } from './params.js';
import { signalProblem } from './signal.js';
import { Strategy } from './strategy.js';
import { encodeTicks } from './tick_data.js';
import { Timers } from './timers.js';
import { classRegistry, decodeFields, encodeFields } from './snapshot.js';
import { log } from './logging.js';

/** @typedef {import('./signal.js').SignalRecord} SignalRecord */
/** @typedef {import('./tick.js').Tick} Tick */
/** @typedef {import('./tick_data.js').TickData} TickData */
/** @typedef {{ tickIndex: number, message: string }} TickError */
/** @typedef {{ signals: SignalRecord[], errors: TickError[] }} Output */
/** @typedef {import('./params.js').ParamInput} ParamInput */

/**
 * The text of a thrown value: the message of a plain Error or StrategyError, `Name: message` of
 * other errors (TypeError, RangeError, ...), the string itself, or String(value).
 * @param {unknown} e
 * @returns {string}
 */
export function errorMessage(e) {
  if (e instanceof Error || (e !== null && typeof e === 'object' && 'message' in e && typeof e.message === 'string')) {
    const err = /** @type {Error} */ (e);
    const name = typeof err.name === 'string' ? err.name : 'Error';
    return name === 'Error' || name === 'StrategyError' || name === '' ? err.message : `${name}: ${err.message}`;
  }
  try {
    return String(e);
  } catch {
    return 'a value that cannot be shown as text was thrown';
  }
}

/**
 * Refuses a callback's Promise: nothing would wait for it (its signals would be lost and its errors
 * unreported), so callbacks must be synchronous.
 * @param {unknown} result
 * @param {string} name
 */
function notAsync(result, name) {
  if (result !== undefined && typeof (/** @type {any} */ (result)?.then) === 'function') {
    /** @type {any} */ (result).then(undefined, () => {}); // its rejection is reported here, not unhandled
    throw new Error(`${name} returned a Promise: callbacks must be synchronous (nothing awaits them)`);
  }
}

const MAGIC = [0x41, 0x50, 0x4a, 0x53]; // "APJS"
/** Snapshot layout version written by this SDK. */
const SNAPSHOT_FORMAT = 1;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A strategy instance with its SDK-side state (pending timers, subscriptions, output checks).
 *
 * ```js
 * const r = Runner.init(MyStrategy, { lookback: 2 }, { instruments: [738561] });
 * const signals = r.feed(new TickData(738561, '2501.55', 0)); // throws the tick's errors
 * ```
 * @template {Strategy} [S=Strategy]
 */
export class Runner {
  /** @type {Timers} */ #timers = new Timers();
  /** @type {Context} */ #ctx = new Context(this.#timers);
  /** @type {Set<number> | null} */ #instruments;

  /**
   * Use `Runner.init`.
   * @param {S} strategy
   * @param {readonly number[]} instruments
   */
  constructor(strategy, instruments) {
    /** The strategy instance. @readonly */
    this.strategy = strategy;
    this.#instruments = instruments.length ? new Set(instruments) : null;
  }

  /**
   * Constructs the strategy, calls `init`, then refuses any parameter it did not read.
   * @template {Strategy} T
   * @param {new () => T} StrategyClass
   * @param {Params | Record<string, ParamInput>} [params]
   * @param {InitContext | ConstructorParameters<typeof InitContext>[0]} [ctx]
   * @returns {Runner<T>}
   * @throws {ParamError} (any other exception from the strategy's constructor or init propagates)
   */
  static init(StrategyClass, params = new Params(), ctx = new InitContext()) {
    const p = params instanceof Params ? params : new Params(params);
    const c = ctx instanceof InitContext ? ctx : new InitContext(ctx);
    const strategy = new StrategyClass();
    notAsync(strategy.init(p, c), 'init');
    const unread = p.firstUnread();
    if (unread !== null) {
      const known = p.askedNames();
      throw ParamError.invalid(unread, `unknown parameter (this strategy reads: ${known.length ? known.join(', ') : 'none'})`);
    }
    return new Runner(strategy, c.instruments);
  }

  /** Pending timers as `[dueUs, id]`, in firing order. */
  pendingTimers() {
    return this.#timers.list();
  }

  /**
   * Delivers one tick: first every timer due at or before its timestamp (in (due, id) order), then
   * onTick. Signals go to `out` tagged with `tickIndex`; if any of these calls throws or emits an
   * invalid signal, the tick's signals are dropped and one error per failure is added instead.
   * @param {number} tickIndex
   * @param {Tick} tick
   * @param {Output} out
   */
  handle(tickIndex, tick, out) {
    const firstSignal = out.signals.length;
    const firstError = out.errors.length;
    const now = tick.timestampUs;
    if (this.#timers.size > 0) {
      /** @type {import('./timers.js').TimerEntry | null} */
      let cursor = null;
      for (let t = this.#timers.popDue(now, null); t !== null; t = this.#timers.popDue(now, cursor)) {
        cursor = t;
        this.#ctx[SET_NOW](t.due);
        let failure = null;
        try {
          notAsync(this.strategy.onTimer(t.id, t.due, this.#ctx), 'onTimer');
        } catch (e) {
          failure = `onTimer(${String(t.id)}): ${errorMessage(e)}`;
        }
        this.#collect(tickIndex, null, failure, out);
      }
    }
    this.#ctx[SET_NOW](now);
    let failure = null;
    try {
      notAsync(this.strategy.onTick(tick, this.#ctx), 'onTick');
    } catch (e) {
      failure = errorMessage(e);
    }
    this.#collect(tickIndex, tick.instrumentToken, failure, out);
    if (out.errors.length > firstError) out.signals.length = firstSignal;
  }

  /**
   * Moves the signals of one callback from the context to `out`, or records why not.
   * @param {number} tickIndex
   * @param {number | null} tickInstrument
   * @param {string | null} failure
   * @param {Output} out
   */
  #collect(tickIndex, tickInstrument, failure, out) {
    const emitted = this.#ctx.takeSignals();
    if (failure !== null) {
      out.errors.push({ tickIndex, message: failure });
      return;
    }
    for (const signal of emitted) {
      /** @type {string | null} */
      let problem;
      /** @type {SignalRecord | null} */
      let record = null;
      if (!(signal && typeof signal.toRecord === 'function')) {
        problem = `emit() takes a Signal (Signal.buy(qty), Signal.sell(qty)), got ${String(signal)}`;
      } else {
        const r = signal.toRecord();
        const token = r.instrumentToken ?? tickInstrument;
        if (token === null) {
          problem = 'a signal from onTimer needs .instrument(token)';
        } else if (this.#instruments !== null && !this.#instruments.has(token)) {
          problem = `signal for instrument ${token}, which the strategy is not subscribed to`;
        } else {
          record = { ...r, tickIndex, instrumentToken: token };
          problem = signalProblem(record);
        }
      }
      if (problem !== null || record === null) {
        out.errors.push({ tickIndex, message: problem ?? 'invalid signal' });
        break;
      }
      out.signals.push(record);
    }
  }

  /**
   * The strategy's state and the pending timers, as one byte string. If the strategy cannot encode
   * itself, the bytes carry the reason (logged) and `restore` reports it.
   * @returns {Uint8Array}
   */
  snapshot() {
    /** @type {Uint8Array | null} */
    let state = null;
    let failure = '';
    try {
      state = this.strategy.snapshot();
      if (!(state instanceof Uint8Array)) {
        failure = `snapshot() returned ${Object.prototype.toString.call(state)}, not a Uint8Array`;
        state = null;
      }
    } catch (e) {
      failure = errorMessage(e);
    }
    if (state === null) log('error', 'strategy snapshot failed', { error: failure });
    const timers = utf8.encode(encodeFields({ timers: this.#timers.list() }, classRegistry()));
    const body = state ?? utf8.encode(failure);
    const out = new Uint8Array(4 + 1 + 4 + timers.length + 1 + body.length);
    const view = new DataView(out.buffer);
    out.set(MAGIC, 0);
    out[4] = SNAPSHOT_FORMAT;
    view.setUint32(5, timers.length, true);
    out.set(timers, 9);
    out[9 + timers.length] = state === null ? 1 : 0;
    out.set(body, 10 + timers.length);
    return out;
  }

  /**
   * Takes over the state of `snapshot` bytes (after init). A refused snapshot leaves the timers as
   * they were (and the strategy too, with the default restore).
   * @param {Uint8Array} bytes
   * @throws {Error} with the reason
   */
  restore(bytes) {
    const notOurs = (/** @type {string} */ why) =>
      new Error(`not an alpha-panda JS snapshot (${bytes.length} bytes): ${why}`);
    if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw notOurs('no APJS header');
    if (bytes[4] !== SNAPSHOT_FORMAT) throw new Error(`snapshot format ${bytes[4]} (this SDK reads ${SNAPSHOT_FORMAT})`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = view.getUint32(5, true);
    if (10 + n > bytes.length) throw notOurs('the timers run past the end');
    /** @type {Timers} */
    const timers = new Timers();
    try {
      const { timers: list } = decodeFields(fromUtf8.decode(bytes.subarray(9, 9 + n)), classRegistry());
      for (const [due, id] of /** @type {[number, bigint | number][]} */ (list)) timers.set(due, id);
    } catch (e) {
      throw notOurs(`unreadable timers: ${errorMessage(e)}`);
    }
    const status = bytes[9 + n];
    const body = bytes.subarray(10 + n);
    if (status === 1) {
      let why;
      try {
        why = fromUtf8.decode(body);
      } catch {
        why = '(reason not readable)';
      }
      throw new Error(`the snapshot was not taken: ${why}`);
    }
    if (status !== 0) throw notOurs(`status byte ${status}`);
    try {
      this.strategy.restore(body);
    } catch (e) {
      throw new Error(`strategy restore failed: ${errorMessage(e)}`);
    }
    this.#timers.replaceWith(timers);
  }

  /**
   * Test helper: delivers one tick (as tick 0) and returns its signals; throws an Error with the
   * tick's error messages joined by "; " if it failed.
   * @param {TickData} tick
   * @returns {SignalRecord[]}
   */
  feed(tick) {
    const out = this.feedAll([tick]);
    if (out.errors.length) throw new Error(out.errors.map((e) => e.message).join('; '));
    return out.signals;
  }

  /**
   * Test helper: delivers ticks as one batch (indices from 0), through the same batch reader the
   * component uses.
   * @param {readonly TickData[]} ticks
   * @returns {Output}
   */
  feedAll(ticks) {
    const batch = encodeTicks(ticks);
    /** @type {Output} */
    const out = { signals: [], errors: [] };
    for (let i = 0; i < batch.count; i++) {
      const t = batch.readTick(i);
      if (t instanceof Error) out.errors.push({ tickIndex: i, message: t.message });
      else this.handle(i, t, out);
    }
    return out;
  }
}
