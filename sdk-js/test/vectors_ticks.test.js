// Golden tick vectors (vectors/ticks): every .bin decodes, through the same TickBatch and Tick view
// a strategy gets, to exactly its .json (every field, exact integers, errors by kind); every
// canonical .json encodes back to exactly its .bin.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Decimal, TickBatch } from '../src/index.js';
import { BatchWriter } from '../src/tick_write.js';
import { parseExact } from './support/exact_json.js';
import { VECTORS } from './support/paths.js';

const DIR = join(VECTORS, 'ticks');
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort();

/** An exact integer as the vector JSON holds it: a number when safe, else a BigInt. */
const exact = (/** @type {bigint | null} */ b) => (b === null ? null : Number.isSafeInteger(Number(b)) ? Number(b) : b);
const text = (/** @type {Decimal | null} */ d) => (d === null ? null : d.toString());

/**
 * A tick view spelled as the golden vectors spell a tick's meaning, from the exact getters; and a
 * check that each number getter is the nearest number to its exact twin.
 * @param {import('../src/tick.js').Tick} t
 */
function tickJson(t) {
  for (const f of ['timestampUs', 'volumeTraded', 'lastTradedQuantity', 'totalBuyQuantity', 'totalSellQuantity', 'oi', 'oiDayHigh', 'oiDayLow', 'lastTradeTimeUs', 'exchangeTimestampUs']) {
    const big = /** @type {any} */ (t)[`${f}Big`];
    assert.equal(/** @type {any} */ (t)[f], big === null ? null : Number(big), f);
  }
  assert.equal(t.price, t.lastPrice.toNumber());
  const levels = (/** @type {readonly import('../src/tick.js').DepthLevel[]} */ ls) =>
    ls.map((l) => {
      assert.equal(l.quantity, Number(l.quantityBig));
      return { orders: l.orders, price: l.price.toString(), quantity: exact(l.quantityBig) };
    });
  const o = t.ohlc;
  return {
    average_traded_price: text(t.averageTradedPrice),
    change: text(t.change),
    depth: t.hasDepth ? { buy: levels(t.depthBuy), sell: levels(t.depthSell) } : null,
    exchange_timestamp_us: exact(t.exchangeTimestampUsBig),
    instrument_token: t.instrumentToken,
    last_price: t.lastPrice.toString(),
    last_trade_time_us: exact(t.lastTradeTimeUsBig),
    last_traded_quantity: exact(t.lastTradedQuantityBig),
    mode: t.mode,
    ohlc: o && { close: text(o.close), high: text(o.high), low: text(o.low), open: text(o.open) },
    oi: exact(t.oiBig),
    oi_day_high: exact(t.oiDayHighBig),
    oi_day_low: exact(t.oiDayLowBig),
    symbol: t.symbol,
    timestamp_us: exact(t.timestampUsBig),
    total_buy_quantity: exact(t.totalBuyQuantityBig),
    total_sell_quantity: exact(t.totalSellQuantityBig),
    tradable: t.tradable,
    volume_traded: exact(t.volumeTradedBig),
  };
}

/** @param {string} name */
function load(name) {
  return {
    meaning: parseExact(readFileSync(join(DIR, `${name}.json`), 'utf8')),
    data: new Uint8Array(readFileSync(join(DIR, `${name}.bin`))),
  };
}

test('there are golden tick vectors', () => {
  assert.ok(NAMES.length >= 14, NAMES.join(' '));
});

for (const name of NAMES) {
  test(`ticks/${name} decodes to its JSON`, () => {
    const { meaning, data } = load(name);
    let batch;
    try {
      batch = new TickBatch(meaning.count, data, meaning.symbols);
    } catch (e) {
      assert.equal(/** @type {any} */ (e).kind, meaning.error, String(e));
      assert.equal(meaning.ticks, undefined);
      return;
    }
    assert.equal(meaning.error, undefined, 'the batch should have failed');
    const got = [];
    for (let i = 0; i < batch.count; i++) {
      const t = batch.readTick(i);
      got.push(t instanceof Error ? { error: /** @type {any} */ (t).kind } : tickJson(t));
    }
    assert.deepStrictEqual(got, meaning.ticks);
  });
}

/** The vector JSON of one tick as the writer's fields. @param {any} j */
function fields(j) {
  const d = (/** @type {string | null} */ s) => (s === null ? null : Decimal.parse(s));
  const level = (/** @type {any} */ l) => ({ price: Decimal.parse(l.price), quantity: l.quantity, orders: l.orders });
  return {
    instrumentToken: j.instrument_token,
    timestampUs: j.timestamp_us,
    lastPrice: Decimal.parse(j.last_price),
    symbol: j.symbol,
    volumeTraded: j.volume_traded,
    lastTradedQuantity: j.last_traded_quantity,
    averageTradedPrice: d(j.average_traded_price),
    totalBuyQuantity: j.total_buy_quantity,
    totalSellQuantity: j.total_sell_quantity,
    change: d(j.change),
    ohlc: j.ohlc && { open: d(j.ohlc.open), high: d(j.ohlc.high), low: d(j.ohlc.low), close: d(j.ohlc.close) },
    oi: j.oi,
    oiDayHigh: j.oi_day_high,
    oiDayLow: j.oi_day_low,
    lastTradeTimeUs: j.last_trade_time_us,
    exchangeTimestampUs: j.exchange_timestamp_us,
    depth: j.depth && { buy: j.depth.buy.map(level), sell: j.depth.sell.map(level) },
    mode: j.mode,
    tradable: j.tradable,
  };
}

for (const name of NAMES) {
  const { meaning } = load(name);
  if (!meaning.canonical) continue;
  test(`ticks/${name} encodes to exactly its bytes`, () => {
    const { data } = load(name);
    const w = new BatchWriter();
    for (const t of meaning.ticks) w.push(fields(t));
    const b = w.finish();
    assert.equal(b.count, meaning.count);
    assert.deepStrictEqual(b.symbols, meaning.symbols);
    assert.deepStrictEqual(b.data, data);
  });
}
