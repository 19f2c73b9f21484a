// Decimal: text that keeps its scale both ways, the 64-bit mantissa range, and the double the
// Rust SDK computes for it (abi/src/decimal.rs's tests, case for case).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Decimal, ParseDecimalError } from '../src/index.js';

const d = (/** @type {string} */ s) => Decimal.parse(s);

test('parses and prints back the same text', () => {
  for (const s of ['2501.55', '2501.50', '0.005', '-0.5', '100', '0', '-12.340', '0.0']) assert.equal(d(s).toString(), s);
  assert.ok(d('2501.55').equals(new Decimal(250155n, 2)));
  assert.ok(d('+7.1').equals(new Decimal(71n, 1)));
  assert.equal(d('-9223372036854775808').mantissa, -(2n ** 63n));
  assert.equal(new Decimal(-(2n ** 63n), 0).toString(), '-9223372036854775808');
  assert.equal(JSON.stringify({ p: d('2501.50') }), '{"p":"2501.50"}');
  assert.equal(`${d('1.10')}`, '1.10');
});

test('rejects malformed text', () => {
  for (const s of ['', '-', '.5', '5.', '1.2.3', '1e5', '12a', ' 1', '9223372036854775808']) {
    assert.throws(() => d(s), ParseDecimalError, JSON.stringify(s));
  }
  assert.throws(() => d('x1'), /"x1"/);
  assert.throws(() => new Decimal(1n, 256), RangeError);
  assert.throws(() => new Decimal(2n ** 63n, 0), RangeError);
  assert.throws(() => new Decimal(/** @type {any} */ (5), 0), RangeError);
});

test('toNumber is the nearest double, as the Rust SDK computes it', () => {
  assert.equal(d('2501.55').toNumber(), 2501.55);
  assert.equal(d('-0.005').toNumber(), -0.005);
  assert.equal(d('100').toNumber(), 100);
  assert.ok(Math.abs(new Decimal(5n, 25).toNumber() / 5e-25 - 1) < 1e-15);
});

test('every scale prints and parses back', () => {
  for (const [m, s, text] of /** @type {[bigint, number, string][]} */ ([
    [250150n, 2, '2501.50'],
    [-5n, 3, '-0.005'],
    [2n ** 63n - 1n, 0, '9223372036854775807'],
    [-(2n ** 63n), 19, '-0.9223372036854775808'],
    [-(2n ** 63n), 20, '-0.09223372036854775808'],
    [0n, 4, '0.0000'],
  ])) {
    const dec = new Decimal(m, s);
    assert.equal(dec.toString(), text);
    assert.ok(dec.equals(d(text)));
  }
  const wide = new Decimal(-12n, 255);
  const text = wide.toString();
  assert.equal(text.length, '-0.'.length + 255);
  assert.ok(text.endsWith('00012'));
  assert.ok(d(text).equals(wide));
  assert.throws(() => d(`0.${'0'.repeat(256)}`));
});

test('equality is by representation; isPositive by sign', () => {
  assert.ok(!d('2.5').equals(d('2.50')));
  assert.equal(d('2.5').toNumber(), d('2.50').toNumber());
  assert.ok(d('0.01').isPositive());
  assert.ok(!d('0.00').isPositive());
  assert.ok(!d('-1').isPositive());
  assert.ok(Decimal.ZERO.equals(new Decimal(0n)));
});
