// formatFixed writes numbers exactly as Rust's format!("{x:.N}") does (fixtures/format_fixed.json,
// written by rustc from fixtures/format_fixed.rs), where Number.prototype.toFixed does not.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { formatFixed } from '../src/index.js';

/** @type {[string, number, string][]} */
const CASES = JSON.parse(readFileSync(new URL('./fixtures/format_fixed.json', import.meta.url), 'utf8'));

const fromBits = (/** @type {string} */ hex) => new Float64Array(new BigUint64Array([BigInt(`0x${hex}`)]).buffer)[0];

test('formatFixed agrees with Rust on every fixture', () => {
  assert.ok(CASES.length > 2000);
  const wrong = CASES.filter(([hex, d, want]) => formatFixed(fromBits(hex), d) !== want);
  assert.deepStrictEqual(wrong.slice(0, 5), []);
});

test('where toFixed differs from Rust: ties, negative zero, large values', () => {
  const toFixedWrong = CASES.filter(([hex, d, want]) => fromBits(hex).toFixed(d) !== want);
  assert.ok(toFixedWrong.length > 100, `${toFixedWrong.length}`);
  assert.equal(formatFixed(0.0078125, 6), '0.007812');
  assert.equal((0.0078125).toFixed(6), '0.007813');
  assert.equal(formatFixed(0.125, 2), '0.12');
  assert.equal(formatFixed(2.5, 0), '2');
  assert.equal(formatFixed(-0, 6), '-0.000000');
  assert.equal(formatFixed(-1e-9, 4), '-0.0000');
  assert.equal(formatFixed(1e21, 1), '1000000000000000000000.0');
  assert.equal(formatFixed(Infinity, 2), 'inf');
  assert.equal(formatFixed(NaN, 2), 'NaN');
  assert.throws(() => formatFixed(1, -1), RangeError);
});
