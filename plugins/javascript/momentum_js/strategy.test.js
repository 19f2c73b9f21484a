// momentum_js on crafted ticks: the Rust sample's tests (plugins/momentum/tests/signals.rs), case for
// case, with the same expected values. Run: node --test (in plugins/, after `npm install` there).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Runner, TickData } from '@alpha-panda/sdk';
import Momentum from './strategy.js';

const RELIANCE = 738561;
const SBIN = 81153;
const MIN = 60_000_000;

const runner = (/** @type {Record<string, number>} */ params) =>
  Runner.init(Momentum, params, { strategyId: 'momentum_js_1', instruments: [RELIANCE, SBIN], seed: 1n });

/** @param {import('@alpha-panda/sdk').Runner} r @param {number} token @param {string} price @param {number} i */
const feed = (r, token, price, i) => r.feed(new TickData(token, price, i * MIN));

/** @param {any[]} signals */
function one(signals) {
  assert.equal(signals.length, 1, JSON.stringify(signals));
  return signals[0];
}

/** @param {any} s @param {string} side @param {number} qty @param {string} price @param {number} confidence @param {string} momentum */
function check(s, side, qty, price, confidence, momentum) {
  assert.deepStrictEqual([s.side, s.quantity], [side, qty]);
  assert.equal(s.price.exact.toString(), price);
  assert.ok(Math.abs(s.confidence - confidence) < 1e-12, `confidence ${s.confidence} vs ${confidence}`);
  assert.deepStrictEqual(s.metadata, [['momentum', momentum]]);
}

test('buys and sells on momentum over the lookback', () => {
  const r = runner({ lookback: 2, threshold: 0.01 });
  // Two prices are not enough for lookback 2 (it needs 3).
  assert.deepStrictEqual(feed(r, RELIANCE, '100.00', 0), []);
  assert.deepStrictEqual(feed(r, RELIANCE, '101.00', 1), []);
  // Another instrument has its own history.
  assert.deepStrictEqual(feed(r, SBIN, '500.00', 2), []);
  // (103.50 - 100) / 100 = 0.035 > 0.01: BUY 100, confidence 5 * 0.035 = 0.175.
  const s = one(feed(r, RELIANCE, '103.50', 3));
  check(s, 'buy', 100, '103.50', 0.175, '0.035000');
  assert.equal(s.instrumentToken, RELIANCE);
  // (99 - 101) / 101 = -0.0198019...: SELL, confidence 10/101 = 0.0990099...
  check(one(feed(r, RELIANCE, '99.00', 4)), 'sell', 100, '99.00', 10 / 101, '-0.019802');
  // (103.55 - 103.50) / 103.50 = 0.00048: inside the threshold, no signal.
  assert.deepStrictEqual(feed(r, RELIANCE, '103.55', 5), []);
  // (150 - 99) / 99 = 0.5151...: 5 * m > 1, so confidence is capped at 1.
  check(one(feed(r, RELIANCE, '150', 6)), 'buy', 100, '150', 1, '0.515152');
});

test('defaults and refused parameters', () => {
  const r = runner({});
  // Default lookback 20: 20 rising prices give nothing, the 21st compares with the 1st.
  for (let i = 0; i < 20; i++) assert.deepStrictEqual(r.feed(new TickData(SBIN, `${100 + i}.00`, i)), []);
  // (121 - 100) / 100 = 0.21 > 0.01: BUY the default 100, confidence min(1, 1.05) = 1.
  check(one(r.feed(new TickData(SBIN, '121.00', 20))), 'buy', 100, '121.00', 1, '0.210000');
  for (const [params, name] of /** @type {[Record<string, any>, string][]} */ ([
    [{ lookback: 0 }, 'lookback'],
    [{ lookback: 2.5 }, 'lookback'],
    [{ threshold: 'high' }, 'threshold'],
    [{ position_size: -5 }, 'position_size'],
    [{ lookbak: 5 }, 'lookbak'],
  ])) {
    assert.throws(() => Runner.init(Momentum, params), (e) => /** @type {any} */ (e).param === name, name);
  }
});

test('state survives snapshot and restore', () => {
  const params = { lookback: 1, position_size: 7 };
  const a = runner(params);
  assert.deepStrictEqual(a.feed(new TickData(RELIANCE, '200.0', 0)), []);
  const b = runner(params);
  b.restore(a.snapshot());
  // (196 - 200) / 200 = -0.02: SELL 7, confidence 0.1.
  check(one(b.feed(new TickData(RELIANCE, '196.0', 1))), 'sell', 7, '196.0', 0.1, '-0.020000');
});

test('metadata reads as Rust writes it, exact ties included', () => {
  const r = runner({ lookback: 1, threshold: 0.005 });
  feed(r, RELIANCE, '128.00', 0);
  // (129 - 128) / 128 = 0.0078125 exactly: Rust's {:.6} rounds the tie to even, 0.007812
  // (Number#toFixed would write 0.007813).
  check(one(feed(r, RELIANCE, '129.00', 1)), 'buy', 100, '129.00', 0.0390625, '0.007812');
});
