// vectors/indicators.json: every indicator agrees with the Rust SDK's output at every step
// (relative difference <= the file's tolerance, 1e-12; null while not warmed up).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { BollingerBands, Ema, RollingWindow, Rsi, Sma, StdDev, ZScore } from '../src/index.js';
import { parseExact } from './support/exact_json.js';
import { VECTORS } from './support/paths.js';

const FILE = parseExact(readFileSync(join(VECTORS, 'indicators.json'), 'utf8'));
const TOL = FILE.tolerance;

/** @type {Record<string, (p: any) => { update: (x: number) => any }>} */
const MAKE = {
  rolling_window: (p) => {
    const w = new RollingWindow(p.capacity);
    return { update: (x) => ({ evicted: w.push(x) ?? null, window: w.toArray() }) };
  },
  sma: (p) => new Sma(p.period),
  ema: (p) => new Ema(p.period),
  std_dev: (p) => new StdDev(p.period),
  z_score: (p) => new ZScore(p.period),
  rsi: (p) => new Rsi(p.period),
  bollinger_bands: (p) => new BollingerBands(p.period, p.k),
};

/**
 * @param {any} got
 * @param {any} want
 * @param {string} where
 */
function close(got, want, where) {
  if (want === null || typeof want !== 'number') {
    if (want !== null && typeof want === 'object') {
      assert.equal(typeof got, 'object', where);
      assert.notEqual(got, null, where);
      assert.deepStrictEqual(Object.keys(got).sort(), Object.keys(want).sort(), where);
      for (const k of Object.keys(want)) close(got[k], want[k], `${where}.${k}`);
      return;
    }
    assert.equal(got, want, where);
    return;
  }
  assert.equal(typeof got, 'number', `${where}: ${got}`);
  const scale = Math.max(Math.abs(want), Math.abs(got));
  assert.ok(got === want || Math.abs(got - want) <= TOL * scale, `${where}: ${got} vs ${want}`);
}

test('the file has cases for every indicator', () => {
  assert.deepStrictEqual([...new Set(FILE.cases.map((/** @type {any} */ c) => c.indicator))].sort(), Object.keys(MAKE).sort());
});

for (const c of FILE.cases) {
  test(`${c.indicator} ${JSON.stringify(c.params)} on ${c.series}`, () => {
    const ind = MAKE[c.indicator](c.params);
    c.input.forEach((/** @type {number} */ x, /** @type {number} */ i) => close(ind.update(x), c.output[i], `step ${i}`));
  });
}

test('the outputs are bit-identical to Rust, not only within the tolerance', () => {
  let steps = 0;
  let differ = 0;
  for (const c of FILE.cases) {
    if (c.indicator === 'rolling_window') continue;
    const ind = MAKE[c.indicator](c.params);
    c.input.forEach((/** @type {number} */ x, /** @type {number} */ i) => {
      const got = ind.update(x);
      const want = c.output[i];
      steps++;
      if (JSON.stringify(got) !== JSON.stringify(want)) differ++;
    });
  }
  assert.equal(differ, 0, `${differ} of ${steps} steps differ in the last bits`);
});
