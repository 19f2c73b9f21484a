// The component's side of the WIT (private: authors never import it). `exportStrategy` turns the
// four `strategy` calls (init, on-ticks, snapshot, restore) into Runner calls, converting the WIT
// values (componentize-js calls the methods without `this`, so the instance lives in a closure),
// and makes sure nothing a strategy throws ever traps: init failures become init-errors, tick
// failures tick-errors, restore failures a string error.

import { BatchError, RecordError, TickBatch } from './batch.js';
import { Artifacts } from './artifacts.js';
import { InitContext } from './context.js';
import { setLogSink } from './logging.js';
import { ParamError, Params } from './params.js';
import { Runner, errorMessage } from './runner.js';
import { writeSignals } from './signal_wire.js';
import { Strategy } from './strategy.js';

/** @typedef {import('./logging.js').LogSink} LogSink */
/** @typedef {{ strategyId: string, instruments: ArrayLike<number>, params: [string, import('./params.js').ParamValue][], seed: bigint, artifacts?: { name: string, sha256: string, data: Uint8Array }[] }} WitInitConfig */
/** @typedef {{ count: number, data: Uint8Array, symbols: string[] }} WitTickBatch */
/** @typedef {{ tickIndex: number, message: string }} WitTickError */
/** @typedef {{ signalCount: number, signals: Uint8Array, errors: WitTickError[] }} WitBatchOutput */

/** Most errors one unreadable batch reports (a garbage count must not allocate without bound). */
const MAX_BATCH_ERRORS = 1 << 16;

/**
 * The Strategy subclass a module exports: its default export if that is one, else its only
 * exported subclass of Strategy.
 * @param {object} mod a module namespace (or the class itself)
 * @returns {new () => Strategy}
 */
export function pickStrategy(mod) {
  const isStrategy = (/** @type {unknown} */ v) => typeof v === 'function' && v.prototype instanceof Strategy;
  if (isStrategy(mod)) return /** @type {any} */ (mod);
  const m = /** @type {Record<string, unknown>} */ (mod);
  if (isStrategy(m.default)) return /** @type {any} */ (m.default);
  const found = Object.entries(m).filter(([, v]) => isStrategy(v));
  if (found.length === 1) return /** @type {any} */ (found[0][1]);
  if (found.length === 0) {
    throw new Error('strategy.js exports no subclass of Strategy: write `export default class MyStrategy extends Strategy { ... }`');
  }
  throw new Error(`strategy.js exports ${found.length} subclasses of Strategy (${found.map(([k]) => k).join(', ')}): export the one to run as default`);
}

/**
 * @param {number} count
 * @param {string} message
 * @returns {WitBatchOutput}
 */
function failAll(count, message) {
  const n = Math.min(count, MAX_BATCH_ERRORS);
  return {
    signalCount: 0,
    signals: new Uint8Array(0),
    errors: Array.from({ length: n }, (_, tickIndex) => ({ tickIndex, message })),
  };
}

/**
 * The value of the component's `strategy` export for a strategy module.
 * @param {object} mod the author's module (or its Strategy class)
 * @param {LogSink} hostLog the host's `log` import
 */
export function exportStrategy(mod, hostLog) {
  const StrategyClass = pickStrategy(mod);
  setLogSink(hostLog);
  /** @type {Runner | null} */
  let runner = null;

  return {
    /**
     * @param {WitInitConfig} config
     * @throws {{ param: string | null, message: string }} the WIT init-error
     */
    init(config) {
      runner = null;
      try {
        const params = Params.fromPairs(config.params);
        const artifacts = new Artifacts();
        for (const a of config.artifacts ?? []) artifacts.insert(a.name, a.sha256, a.data);
        const ctx = new InitContext({
          strategyId: config.strategyId,
          instruments: Array.from(config.instruments),
          seed: config.seed,
          artifacts,
        });
        runner = Runner.init(StrategyClass, params, ctx);
      } catch (e) {
        if (e instanceof ParamError) throw { param: e.param, message: e.reason };
        throw { param: null, message: `init failed: ${errorMessage(e)}` };
      }
    },

    /**
     * @param {WitTickBatch} batch
     * @returns {WitBatchOutput}
     */
    onTicks(batch) {
      try {
        if (runner === null) return failAll(batch.count, 'on-ticks called before a successful init');
        let ticks;
        try {
          ticks = new TickBatch(batch.count, batch.data, batch.symbols);
        } catch (e) {
          return failAll(batch.count, e instanceof BatchError ? e.message : `SDK failure: ${errorMessage(e)}`);
        }
        /** @type {import('./runner.js').Output} */
        const out = { signals: [], errors: [] };
        for (let i = 0; i < ticks.count; i++) {
          const tick = ticks.readTick(i);
          if (tick instanceof RecordError) out.errors.push({ tickIndex: i, message: tick.message });
          else runner.handle(i, tick, out);
        }
        return { signalCount: out.signals.length, signals: writeSignals(out.signals), errors: out.errors };
      } catch (e) {
        return failAll(batch.count, `SDK failure: ${errorMessage(e)}`);
      }
    },

    /** @returns {Uint8Array} empty before a successful init (restoring it says so) */
    snapshot() {
      try {
        return runner === null ? new Uint8Array(0) : runner.snapshot();
      } catch (e) {
        hostLog('error', 'snapshot failed', [['error', errorMessage(e)]]);
        return new Uint8Array(0);
      }
    },

    /**
     * @param {Uint8Array} state
     * @throws {string} the WIT error
     */
    restore(state) {
      if (runner === null) throw 'restore called before a successful init';
      try {
        runner.restore(state);
      } catch (e) {
        throw errorMessage(e);
      }
    },
  };
}
