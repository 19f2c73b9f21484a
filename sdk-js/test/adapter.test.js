// The component's export, natively: the same object componentize-js binds (methods called without
// `this`), fed the golden tick batches. Nothing a strategy throws escapes as an exception the
// bindings would turn into a trap: init → init-error, on-ticks → tick-errors, restore → a string.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { exportStrategy, pickStrategy } from '../src/adapter.js';
import { installSandboxGuards } from '../src/sandbox.js';
import { Signal, Strategy, readSignals } from '../src/index.js';
import { parseExact } from './support/exact_json.js';
import { VECTORS } from './support/paths.js';

/** Buys 1 of every tick; throws on a symbol "boom"; logs at init. */
class Echo extends Strategy {
  /** @param {import('../src/index.js').Params} p @param {import('../src/index.js').InitContext} ctx */
  init(p, ctx) {
    this.qty = p.int('qty', { default: 1, min: 1 });
    this.seen = 0;
    this.id = ctx.strategyId;
    this.instruments = ctx.instruments;
    this.seed = ctx.seed;
    if (p.bool('explode', { default: false })) throw new RangeError('exploded in init');
  }
  /** @param {import('../src/index.js').Tick} t @param {import('../src/index.js').Context} out */
  onTick(t, out) {
    this.seen++;
    if (t.symbol === 'boom') throw new Error(`boom at ${t.price}`);
    out.emit(Signal.buy(this.qty).priceExact(t.lastPrice).meta('n', this.seen));
  }
}

/** @type {any[]} */
const logs = [];
const make = () => {
  const exp = exportStrategy({ Echo }, (...a) => logs.push(a));
  // componentize-js takes the functions out of the object and calls them bare.
  const { init, onTicks, snapshot, restore } = exp;
  return { init, onTicks, snapshot, restore };
};

const config = (/** @type {[string, any][]} */ params = []) => ({
  strategyId: 's1',
  instruments: new Uint32Array([]),
  params,
  seed: 42n,
});

/** @param {string} name */
function vector(name) {
  const meaning = parseExact(readFileSync(join(VECTORS, 'ticks', `${name}.json`), 'utf8'));
  const data = new Uint8Array(readFileSync(join(VECTORS, 'ticks', `${name}.bin`)));
  return { meaning, batch: { count: meaning.count, data, symbols: meaning.symbols } };
}

test('init errors are WIT init-errors, never exceptions of another kind', () => {
  const s = make();
  assert.equal(s.init(config()), undefined);
  const thrown = (/** @type {() => void} */ f) => {
    try {
      f();
    } catch (e) {
      return e;
    }
    assert.fail('expected a throw');
  };
  assert.deepStrictEqual(thrown(() => s.init(config([['qty', { tag: 'integer', val: 0n }]]))), {
    param: 'qty',
    message: 'must be >= 1, found 0',
  });
  assert.deepStrictEqual(thrown(() => s.init(config([['qyt', { tag: 'integer', val: 2n }]]))), {
    param: 'qyt',
    message: 'unknown parameter (this strategy reads: qty, explode)',
  });
  assert.deepStrictEqual(thrown(() => s.init(config([['explode', { tag: 'boolean', val: true }]]))), {
    param: null,
    message: 'init failed: RangeError: exploded in init',
  });
  // After a failed init there is no strategy: on-ticks says so for every tick.
  const out = s.onTicks(vector('several_shared').batch);
  assert.equal(out.errors.length, 5);
  assert.match(out.errors[0].message, /before a successful init/);
  assert.throws(() => s.restore(new Uint8Array()), (e) => e === 'restore called before a successful init');
  assert.deepStrictEqual(s.snapshot(), new Uint8Array(0));
});

test('the init config arrives as componentize-js gives it (Uint32Array, BigInt seed)', () => {
  const { init, snapshot } = make();
  init({ strategyId: 'x_1', instruments: new Uint32Array([5, 3]), params: [], seed: 2n ** 64n - 1n });
  const state = new TextDecoder().decode(snapshot());
  assert.match(state, /"id":"x_1"/);
  assert.match(state, /"instruments":\[5,3\]/);
  assert.match(state, /"seed":\{"\$":"bigint","v":"18446744073709551615"\}/);
});

test('a golden batch in, the signal buffer the host reads out, bad records as tick-errors', () => {
  const s = make();
  s.init(config([['qty', { tag: 'integer', val: 3n }]]));
  const { meaning, batch } = vector('reserved_presence_bit');
  const out = s.onTicks(batch);
  assert.deepStrictEqual(
    out.errors.map((e) => e.tickIndex),
    [0, 2],
  );
  assert.match(out.errors[0].message, /^malformed tick: presence 0x1[0-9a-f]{4} sets reserved bits$/);
  assert.equal(out.signalCount, 1);
  const [sig] = readSignals(out.signalCount, out.signals);
  assert.equal(sig.tickIndex, 1);
  assert.equal(sig.instrumentToken, meaning.ticks[1].instrument_token);
  assert.equal(sig.quantity, 3n);
  assert.equal(/** @type {any} */ (sig.price).exact.toString(), '2501.55');
  assert.deepStrictEqual(sig.metadata, [['n', '1']]);
});

test('an exception in onTick comes back as a tick-error with its message', () => {
  const s = make();
  s.init(config());
  const boom = vector('index_ltp');
  boom.batch.symbols = ['boom'];
  const out = s.onTicks(boom.batch);
  assert.equal(out.signalCount, 0);
  assert.deepStrictEqual(out.errors, [{ tickIndex: 0, message: `boom at ${Number(boom.meaning.ticks[0].last_price)}` }]);
  // The instance keeps working.
  assert.equal(s.onTicks(vector('full_depth').batch).signalCount, 1);
});

test('a batch that cannot be read fails every tick it claims, bounded', () => {
  const s = make();
  s.init(config());
  for (const name of ['short_data', 'bad_level_region']) {
    const { meaning, batch } = vector(name);
    const out = s.onTicks(batch);
    assert.equal(out.errors.length, meaning.count);
    assert.match(out.errors[0].message, /^malformed tick batch/);
  }
  const huge = s.onTicks({ count: 0xffffffff, data: new Uint8Array(3), symbols: [] });
  assert.equal(huge.errors.length, 65536);
});

test('snapshot and restore through the export; a bad snapshot is a string error', () => {
  const a = make();
  a.init(config());
  a.onTicks(vector('several_shared').batch);
  const bytes = a.snapshot();
  const b = make();
  b.init(config());
  assert.equal(b.restore(bytes), undefined);
  assert.deepStrictEqual(b.snapshot(), bytes);
  let err;
  try {
    b.restore(new TextEncoder().encode('{}'));
  } catch (e) {
    err = e;
  }
  assert.equal(typeof err, 'string');
  assert.match(/** @type {string} */ (err), /not an alpha-panda JS snapshot/);
});

test('the strategy a module exports is found, or the build is told why not', () => {
  class A extends Strategy {}
  class B extends Strategy {}
  assert.equal(pickStrategy({ default: A, B }), A);
  assert.equal(pickStrategy({ A, helper: () => 1 }), A);
  assert.equal(pickStrategy(A), A);
  assert.throws(() => pickStrategy({ A, B }), /2 subclasses of Strategy \(A, B\)/);
  assert.throws(() => pickStrategy({ x: 1 }), /exports no subclass of Strategy/);
});

test('the sandbox guards make baked clocks and randomness throw, with what to use instead', () => {
  const g = { Math: { ...Math }, Date, performance: { now: () => 0 }, setTimeout, crypto: { getRandomValues() {} } };
  installSandboxGuards(g);
  assert.throws(() => g.Math.random(), /Math\.random\(\) is not available .*ctx\.rng\(\)/);
  assert.throws(() => g.Date.now(), /Date\.now\(\) is not available .*tick\.timestampUs/);
  assert.throws(() => new g.Date(), /Date\.now\(\)/);
  assert.equal(new g.Date(0).toISOString(), '1970-01-01T00:00:00.000Z');
  assert.ok(new g.Date(5) instanceof g.Date);
  assert.equal(g.Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 1));
  assert.throws(() => g.performance.now(), /performance\.now/);
  assert.throws(() => g.setTimeout(), /out\.setTimer/);
  assert.throws(() => g.crypto.getRandomValues(), /ctx\.rng/);
});
