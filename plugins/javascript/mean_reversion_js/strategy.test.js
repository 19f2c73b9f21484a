// mean_reversion_js on crafted ticks: the Rust sample's tests (plugins/mean_reversion/tests/
// signals.rs), case for case, with the same expected values.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Runner, TickData, formatFixed } from '@alpha-panda/sdk';
import MeanReversion from './strategy.js';

const A = 738561;
const B = 81153;

/** lookback 4, RSI(3), bands at 1.5 standard deviations. */
const runner = () =>
  Runner.init(MeanReversion, { lookback: 4, rsi_period: 3, std_dev: 1.5 }, { strategyId: 'mean_reversion_js_1', instruments: [A, B], seed: 1n });

/** @param {Runner} r @param {number} token @param {string[]} prices */
const feedAll = (r, token, prices) => prices.map((p, i) => r.feed(new TickData(token, p, i)));

/** @param {any} s @param {string} side @param {string} price @param {number} confidence @param {string} rsi @param {string} band */
function check(s, side, price, confidence, rsi, band) {
  assert.deepStrictEqual([s.side, s.quantity], [side, 50]);
  assert.equal(s.price.exact.toString(), price);
  assert.ok(Math.abs(s.confidence - confidence) < 1e-9, `confidence ${s.confidence} vs ${confidence}`);
  assert.deepStrictEqual(s.metadata, [
    ['rsi', rsi],
    ['band', band],
  ]);
}

test('buys when oversold below the lower band', () => {
  const out = feedAll(runner(), A, ['10.00', '10.20', '10.10', '10.00', '9.60']);
  assert.ok(out.slice(0, 4).every((s) => s.length === 0), JSON.stringify(out));
  assert.equal(out[4].length, 1);
  // RSI(3): changes +0.2, -0.1, -0.1 -> avg gain 0.2/3, avg loss 0.2/3 (RSI 50); then
  // -0.4 -> gain (0.2/3*2 + 0)/3 = 0.4/9, loss (0.2/3*2 + 0.4)/3 = 1.6/9, RS 1/4, RSI 20.
  // Bands over 10.2, 10.1, 10.0, 9.6: mean 9.975, deviations .225 .125 .025 -.375,
  // variance .2075/4 = .051875, sd .227761, half width 1.5 sd = .341641,
  // lower 9.633359 > 9.60 -> BUY. Confidence 0.5 + .375/.341641 - 1 = 0.597643.
  const half = 1.5 * Math.sqrt(0.051875);
  check(out[4][0], 'buy', '9.60', 0.5 + 0.375 / half - 1, '20.00', '9.6334');
});

test('sells when overbought above the upper band', () => {
  const out = feedAll(runner(), B, ['10', '9.8', '9.9', '10', '10.4']);
  assert.ok(out.slice(0, 4).every((s) => s.length === 0), JSON.stringify(out));
  assert.equal(out[4].length, 1);
  // The mirror image: RSI 80; mean 10.025, sd .227761, upper 10.366641 < 10.4 -> SELL.
  const half = 1.5 * Math.sqrt(0.051875);
  check(out[4][0], 'sell', '10.4', 0.5 + 0.375 / half - 1, '80.00', '10.3666');
});

/**
 * Wilder's RSI of the last price, by the textbook loop.
 * @param {number[]} prices
 * @param {number} period
 */
function wilder(prices, period) {
  const changes = prices.slice(1).map((p, i) => p - prices[i]);
  let gain = changes.slice(0, period).reduce((a, c) => a + Math.max(c, 0), 0) / period;
  let loss = changes.slice(0, period).reduce((a, c) => a + Math.max(-c, 0), 0) / period;
  for (const c of changes.slice(period)) {
    gain = (gain * (period - 1) + Math.max(c, 0)) / period;
    loss = (loss * (period - 1) + Math.max(-c, 0)) / period;
  }
  return 100 - 100 / (1 + gain / loss);
}

test('each price is counted once', () => {
  // The old Python runner fed every price to the RSI twice.
  const once = [10.0, 10.2, 10.1, 10.0, 9.6];
  const twice = once.flatMap((p) => [p, p]);
  assert.equal(formatFixed(wilder(once, 3), 2), '20.00');
  assert.equal(formatFixed(wilder(twice, 3), 2), '5.37');
  const out = feedAll(runner(), A, ['10.00', '10.20', '10.10', '10.00', '9.60']);
  assert.deepStrictEqual(out[4][0].metadata[0], ['rsi', '20.00']);
});

test('no signal inside the bands or without an extreme RSI', () => {
  // Falls steadily: RSI 0, but 9.6 sits inside bands that widen with the fall.
  const out = feedAll(runner(), A, ['10.2', '10.0', '9.8', '9.6']);
  assert.ok(out.every((s) => s.length === 0), JSON.stringify(out));
  // Bad parameters are refused by name.
  for (const [params, name] of /** @type {[Record<string, any>, string][]} */ ([
    [{ std_dev: 0 }, 'std_dev'],
    [{ std_dev: -1.5 }, 'std_dev'],
    [{ lookback: 1 }, 'lookback'],
    [{ rsi_period: 0 }, 'rsi_period'],
    [{ rsi: 14 }, 'rsi'],
  ])) {
    assert.throws(() => Runner.init(MeanReversion, params), (e) => /** @type {any} */ (e).param === name, name);
  }
});

test('indicators survive snapshot and restore', () => {
  const a = runner();
  feedAll(a, A, ['10.00', '10.20', '10.10', '10.00']);
  const b = runner();
  b.restore(a.snapshot());
  const [s] = b.feed(new TickData(A, '9.60', 4));
  assert.deepStrictEqual(s.metadata, [
    ['rsi', '20.00'],
    ['band', '9.6334'],
  ]);
});
