// The engine behind the export, natively (the Rust SDK's sdk/tests/runner.rs, case for case):
// timer order, per-tick error isolation, signal checks, parameter checks, the snapshot envelope.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Context, Params, Runner, Signal, Strategy, StrategyError, TickData } from '../src/index.js';

/** Does what each tick's symbol says (`;`-separated commands) and records every call. */
class Probe extends Strategy {
  /** @param {Params} params */
  init(params) {
    /** @type {string[]} */
    this.calls = [];
    this.unencodable = params.bool('unencodable', { default: false });
  }

  /** @param {import('../src/index.js').Tick} tick @param {Context} out */
  onTick(tick, out) {
    this.calls.push(`tick ${tick.price} @${out.nowUs}`);
    for (const cmd of (tick.symbol ?? '').split(';')) {
      const words = cmd.trim().split(/\s+/);
      const num = (/** @type {number} */ i) => Number(words[i] ?? 0);
      switch (words[0]) {
        case 'buy':
          out.emit(Signal.buy(1));
          break;
        case 'zero':
          out.emit(Signal.buy(0));
          break;
        case 'nan':
          out.emit(Signal.buy(1).price(NaN));
          break;
        case 'other':
          out.emit(Signal.buy(1).instrument(999));
          break;
        case 'fail':
          throw new StrategyError('tick failed');
        case 'type':
          /** @type {any} */ (undefined).x;
          break;
        case 'timer':
          out.setTimer(num(2), num(1));
          break;
        case 'cancel':
          assert.ok(out.cancelTimer(num(1)));
          break;
      }
    }
  }

  /** @param {number} id @param {number} nowUs @param {Context} out */
  onTimer(id, nowUs, out) {
    this.calls.push(`timer ${id} @${nowUs}`);
    if (id === 4) out.setTimer(nowUs, 4); // re-armed for the same time: waits a tick
    else if (id === 7) out.emit(Signal.sell(2)); // no instrument: invalid from a timer
    else if (id === 9) throw new Error('timer failed');
    else out.emit(Signal.sell(2).instrument(2));
  }

  snapshot() {
    if (this.unencodable) throw new StrategyError('cannot encode');
    return super.snapshot();
  }
}

const runner = (/** @type {Record<string, any>} */ params = {}) =>
  Runner.init(Probe, params, { strategyId: 'probe_1', instruments: [2, 1], seed: 7n });

const t = (/** @type {string} */ price, /** @type {number} */ ts, /** @type {string} */ script) => new TickData(1, price, ts).symbol(script);

/** @param {import('../src/runner.js').Output} out */
const summary = (out) => out.signals.map((s) => [s.tickIndex, s.side, s.quantity, s.instrumentToken]);

test('timers fire before the tick in due then id order', () => {
  const r = runner();
  const out = r.feedAll([t('1', 10, 'timer 3 50;timer 2 50;timer 1 40;timer 6 1000'), t('2', 45, ''), t('3', 50, 'buy')]);
  assert.deepStrictEqual(out.errors, []);
  assert.deepStrictEqual(r.strategy.calls, ['tick 1 @10', 'timer 1 @40', 'tick 2 @45', 'timer 2 @50', 'timer 3 @50', 'tick 3 @50']);
  // Timer signals answer the tick that made them fire.
  assert.deepStrictEqual(summary(out), [
    [1, 'sell', 2, 2],
    [2, 'sell', 2, 2],
    [2, 'sell', 2, 2],
    [2, 'buy', 1, 1],
  ]);
  assert.deepStrictEqual(r.pendingTimers(), [[1000, 6]]);
});

test('a timer re-armed for its own time waits for the next tick', () => {
  const r = runner();
  r.feedAll([t('1', 0, 'timer 4 5'), t('2', 10, ''), t('3', 20, '')]);
  assert.deepStrictEqual(r.strategy.calls, ['tick 1 @0', 'timer 4 @5', 'tick 2 @10', 'timer 4 @5', 'tick 3 @20']);
});

test('a failing tick loses only its own signals', () => {
  const r = runner();
  const out = r.feedAll([t('1', 0, 'buy'), t('2', 1, 'buy;timer 5 2;fail'), t('3', 2, 'buy')]);
  assert.deepStrictEqual(out.errors, [{ tickIndex: 1, message: 'tick failed' }]);
  // Tick 2 is delivered; the timer set by the failed tick still fires.
  assert.deepStrictEqual(summary(out), [
    [0, 'buy', 1, 1],
    [2, 'sell', 2, 2],
    [2, 'buy', 1, 1],
  ]);
});

test('any exception becomes a tick error with its message, never a crash', () => {
  const r = runner();
  const out = r.feedAll([t('1', 0, 'type'), t('2', 1, 'buy')]);
  assert.equal(out.errors.length, 1);
  assert.equal(out.errors[0].tickIndex, 0);
  assert.match(out.errors[0].message, /^TypeError: .*undefined/);
  assert.equal(out.signals.length, 1);
});

test('a failing timer is reported on the tick it fired before', () => {
  const r = runner();
  const out = r.feedAll([t('1', 0, 'timer 9 1;timer 10 1'), t('2', 1, 'buy')]);
  assert.deepStrictEqual(out.errors, [{ tickIndex: 1, message: 'onTimer(9): timer failed' }]);
  assert.deepStrictEqual(out.signals, []);
  assert.equal(r.strategy.calls.length, 4, 'timer 10 and the tick still ran');
});

test('invalid signals become errors of their tick', () => {
  const r = runner();
  for (const [script, expected] of [
    ['zero', 'quantity is 0'],
    ['nan', 'not finite'],
    ['other', 'instrument 999'],
  ]) {
    assert.throws(() => r.feed(t('1', 0, script)), (e) => /** @type {Error} */ (e).message.includes(expected));
  }
  assert.deepStrictEqual(r.feed(t('1', 0, 'timer 7 0')), []);
  assert.throws(() => r.feed(t('1', 0, '')), /needs .instrument/);
  assert.throws(() => r.feed(t('1', 0, 'buy;zero')), /quantity is 0/);
  assert.deepStrictEqual(r.feed(t('1', 0, 'buy')), [
    { tickIndex: 0, instrumentToken: 1, side: 'buy', quantity: 1, price: null, confidence: null, metadata: [] },
  ]);
});

test('the output checks refuse what the host would refuse', () => {
  class Emit extends Strategy {
    /** @param {any} tick @param {Context} out */
    onTick(tick, out) {
      out.emit(/** @type {any} */ (globalThis).__signal);
    }
  }
  const r = Runner.init(Emit);
  const refuse = (/** @type {any} */ s, /** @type {RegExp} */ why) => {
    /** @type {any} */ (globalThis).__signal = s;
    assert.throws(() => r.feed(new TickData(1, '1', 0)), why);
  };
  refuse(Signal.buy(1.5), /quantity 1.5 is not a whole number/);
  refuse(Signal.buy(-1), /quantity -1/);
  refuse(Signal.buy(2n ** 64n), /quantity/);
  refuse(Signal.buy(1).price(0), /price 0 is not finite and > 0/);
  refuse(Signal.buy(1).price(Infinity), /not finite/);
  refuse(Signal.buy(1).priceExact('0.00'), /price 0.00 is not > 0/);
  refuse(Signal.buy(1).confidence(1.5), /confidence 1.5 is outside 0..=1/);
  refuse(Signal.buy(1).confidence(NaN), /confidence NaN/);
  refuse(Signal.buy(1).instrument(-3), /instrument -3/);
  refuse({ side: 'buy' }, /emit\(\) takes a Signal/);
  /** @type {any} */ (globalThis).__signal = Signal.sell(2n ** 64n - 1n).priceExact('2501.50').confidence(1).meta('k', 1.5);
  const [s] = r.feed(new TickData(1, '1', 0));
  assert.equal(s.quantity, 2n ** 64n - 1n);
  assert.deepStrictEqual(s.metadata, [['k', '1.5']]);
  delete (/** @type {any} */ (globalThis).__signal);
});

test('unknown and mistyped parameters are refused by name', () => {
  assert.throws(
    () => Runner.init(Probe, { lokback: 3 }),
    (e) => {
      const err = /** @type {any} */ (e);
      assert.equal(err.param, 'lokback');
      assert.match(err.message, /unknown parameter \(this strategy reads: unencodable\)/);
      return true;
    },
  );
  assert.throws(
    () => Runner.init(Probe, { unencodable: 1 }),
    (e) => /** @type {any} */ (e).param === 'unencodable' && /boolean/.test(/** @type {Error} */ (e).message),
  );
});

test('snapshot carries state and timers', () => {
  const a = runner();
  a.feed(t('1', 0, 'timer 1 100;timer 2 200'));
  const bytes = a.snapshot();
  const b = runner();
  b.restore(bytes);
  assert.deepStrictEqual(b.strategy.calls, ['tick 1 @0']);
  assert.deepStrictEqual(b.pendingTimers(), [
    [100, 1],
    [200, 2],
  ]);
  assert.deepStrictEqual(summary(b.feedAll([t('2', 150, '')])), [[0, 'sell', 2, 2]]);
});

test('timer ids keep their type through a snapshot, BigInt ids included', () => {
  class Ids extends Strategy {
    /** @param {any} tick @param {Context} out */
    onTick(tick, out) {
      out.setTimer(10, 5);
      out.setTimer(10n, 2n ** 64n - 1n);
      out.setTimer(5, 5); // moves timer 5
    }
  }
  const a = Runner.init(Ids);
  a.feed(new TickData(1, '1', 0));
  const b = Runner.init(Ids);
  b.restore(a.snapshot());
  assert.deepStrictEqual(b.pendingTimers(), [
    [5, 5],
    [10, 2n ** 64n - 1n],
  ]);
});

test('bad snapshots are refused with a reason', () => {
  const r = runner();
  r.feed(t('1', 0, 'timer 1 100'));
  const good = r.snapshot();
  assert.throws(() => r.restore(new Uint8Array()), /not an alpha-panda JS snapshot \(0 bytes\)/);
  const wrongFormat = good.slice();
  wrongFormat[4] = 9;
  assert.throws(() => r.restore(wrongFormat), /format 9/);
  const garbled = good.slice();
  garbled[good.length - 2] = 0xff;
  assert.throws(() => r.restore(garbled), /strategy restore failed/);
  const failing = runner({ unencodable: true });
  assert.throws(() => r.restore(failing.snapshot()), /the snapshot was not taken: cannot encode/);
  // A refused snapshot leaves the instance as it was.
  assert.deepStrictEqual(r.pendingTimers(), [[100, 1]]);
  assert.deepStrictEqual(r.strategy.calls, ['tick 1 @0']);
});

test('a Context works without a runner', () => {
  const p = new Probe();
  p.init(new Params());
  const ctx = new Context();
  p.onTick(t('1', 0, 'buy;timer 3 9').asTick(), ctx);
  assert.equal(ctx.signals.length, 1);
  assert.deepStrictEqual(ctx.signals[0].toRecord().side, 'buy');
  assert.equal(ctx.timer(3), 9);
  assert.equal(ctx.takeSignals().length, 1);
  assert.equal(ctx.signals.length, 0);
});

test('a strategy without onTick fails each tick with a clear message', () => {
  class Nothing extends Strategy {}
  assert.throws(() => Runner.init(Nothing).feed(new TickData(1, '1', 0)), /Nothing does not implement onTick/);
});

test('an async callback is refused instead of losing its signals', async () => {
  class Later extends Strategy {
    async onTick(/** @type {any} */ tick, /** @type {Context} */ out) {
      out.emit(Signal.buy(1));
    }
  }
  assert.throws(() => Runner.init(Later).feed(new TickData(1, '1', 0)), /onTick returned a Promise: callbacks must be synchronous/);
  class LateInit extends Strategy {
    async init() {}
  }
  assert.throws(() => Runner.init(LateInit), /init returned a Promise/);
});
