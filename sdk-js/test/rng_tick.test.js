// The seeded Rng (a fixed sequence per seed) and the Tick view of a TickData (every field; the Rust
// SDK's tick_data_view_exposes_every_field).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Decimal, InitContext, Rng, TickData } from '../src/index.js';

test('Rng: the same seed, the same sequence; known values pin the algorithm', () => {
  const a = new InitContext({ seed: 7n }).rng();
  const b = new Rng(7);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepStrictEqual(xs, Array.from({ length: 5 }, () => b.nextU32()));
  // xoshiro128** seeded by splitmix64(7): pinned so a change of algorithm is a deliberate one.
  assert.deepStrictEqual(xs, PINNED);
  assert.notDeepStrictEqual(new Rng(8).nextU32(), xs[0]);
  const r = new Rng(2n ** 64n - 1n);
  for (let i = 0; i < 1000; i++) {
    const f = r.nextFloat();
    assert.ok(f >= 0 && f < 1);
    const k = r.nextInt(6);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 6);
  }
  assert.throws(() => r.nextInt(0), RangeError);
});

// The same five numbers from an independent Python transcription of xoshiro128** and splitmix64.
const PINNED = [1801096769, 1554325924, 2992800842, 3588980540, 2077056966];

test('a TickData view exposes every field', () => {
  const p = (/** @type {string} */ s) => Decimal.parse(s);
  const t = new TickData(7, '10.55', 42)
    .symbol('X')
    .volumeTraded(1)
    .lastTradedQuantity(2)
    .averageTradedPrice('10.1')
    .totalBuyQuantity(3)
    .totalSellQuantity(4n)
    .change('-0.2')
    .ohlc({ open: '1', high: '2', low: '0.5', close: p('1.5') })
    .oi(5)
    .oiDayHigh(6)
    .oiDayLow(7)
    .lastTradeTimeUs(40)
    .exchangeTimestampUs(41n)
    .depth([{ price: '10.5', quantity: 3, orders: 1 }], [])
    .mode('full')
    .tradable(true)
    .asTick();
  assert.equal(t.instrumentToken, 7);
  assert.equal(t.lastPrice.toString(), '10.55');
  assert.equal(t.price, 10.55);
  assert.equal(t.timestampUs, 42);
  assert.equal(t.timestampUsBig, 42n);
  assert.equal(t.symbol, 'X');
  assert.equal(t.volumeTraded, 1);
  assert.equal(t.lastTradedQuantity, 2);
  assert.equal(t.averageTradedPrice?.toString(), '10.1');
  assert.equal(t.totalBuyQuantity, 3);
  assert.equal(t.totalSellQuantity, 4);
  assert.equal(t.change?.toString(), '-0.2');
  assert.deepStrictEqual(JSON.parse(JSON.stringify(t.ohlc)), { open: '1', high: '2', low: '0.5', close: '1.5' });
  assert.deepStrictEqual([t.oi, t.oiDayHigh, t.oiDayLow], [5, 6, 7]);
  assert.equal(t.lastTradeTimeUs, 40);
  assert.equal(t.exchangeTimestampUs, 41);
  assert.ok(t.hasDepth);
  assert.equal(t.depthBuy.length, 1);
  assert.equal(t.depthBuy[0].price.toString(), '10.5');
  assert.deepStrictEqual([t.depthBuy[0].quantity, t.depthBuy[0].quantityBig, t.depthBuy[0].orders], [3, 3n, 1]);
  assert.deepStrictEqual(t.depthSell, []);
  assert.equal(t.depth?.buy, t.depthBuy, 'depth is decoded once');
  assert.equal(t.mode, 'full');
  assert.equal(t.tradable, true);
  assert.equal(JSON.parse(JSON.stringify(t)).lastPrice, '10.55');

  const bare = new TickData(1, '1', -5).asTick();
  assert.ok(!bare.hasDepth);
  assert.equal(bare.depth, null);
  assert.deepStrictEqual(bare.depthBuy, []);
  assert.equal(bare.timestampUs, -5);
  for (const f of ['symbol', 'volumeTraded', 'averageTradedPrice', 'change', 'ohlc', 'oi', 'lastTradeTimeUs', 'mode', 'tradable']) {
    assert.equal(/** @type {any} */ (bare)[f], null, f);
  }
});

test('TickData refuses values the wire cannot carry', () => {
  assert.throws(() => new TickData(-1, '1', 0).asTick(), /instrumentToken/);
  assert.throws(() => new TickData(1, '1', 0).volumeTraded(-1).asTick(), /volumeTraded/);
  assert.throws(() => new TickData(1, '1', 0).volumeTraded(2 ** 60).asTick(), /safe integer/);
  assert.throws(() => new TickData(1, '1', 0).mode(/** @type {any} */ ('fast')).asTick(), /tick mode/);
  assert.throws(() => new TickData(1, '1e3', 0), /invalid decimal/);
});
