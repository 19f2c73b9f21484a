// Params: typed getters with defaults and ranges; errors name the parameter and the types.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ParamError, Params } from '../src/index.js';

/** @param {() => unknown} f @param {string | null} param @param {RegExp} [message] */
function refused(f, param, message) {
  assert.throws(f, (e) => {
    assert.ok(e instanceof ParamError, String(e));
    assert.equal(e.param, param);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('typed access with defaults and ranges', () => {
  const p = new Params({ n: 20, x: 2.5, on: true, name: 'abc', neg: -1, big: 2n ** 62n });
  assert.equal(p.int('n'), 20);
  assert.equal(p.int('neg'), -1);
  assert.equal(p.bigint('big'), 2n ** 62n);
  assert.equal(p.float('n'), 20); // an integer is a valid float
  assert.equal(p.float('x'), 2.5);
  assert.equal(p.bool('on'), true);
  assert.equal(p.text('name'), 'abc');
  assert.equal(p.int('absent', { default: 7 }), 7);
  assert.equal(p.float('absent2', { optional: true }), null);
  assert.equal(p.int('n', { default: 5, min: 1 }), 20);
  assert.equal(p.float('absent3', { default: 0.5, min: 0, max: 1 }), 0.5);
  refused(() => p.float('x', { default: 0.1, min: 0, max: 1 }), 'x', /^parameter `x`: must be in 0..=1, found 2.5$/);
  refused(() => p.float('nan', { default: NaN, min: 0 }), 'nan', /must be >= 0, found NaN/);
  refused(() => p.int('absent4', { default: 0, min: 1 }), 'absent4', /must be >= 1, found 0/);
});

test('errors name the parameter and the expected type', () => {
  const p = new Params({ n: 2.5, neg: -1, big: 2n ** 60n });
  refused(() => p.int('n', { default: 20 }), 'n', /expected an integer, found float 2.5/);
  refused(() => p.int('big'), 'big', /integer 1152921504606846976 is beyond ±\(2\^53 - 1\).*params\.bigint/);
  refused(() => p.bool('n'), 'n', /expected a boolean/);
  refused(() => p.text('neg'), 'neg', /expected text, found integer -1/);
  refused(() => p.float('missing'), 'missing', /^parameter `missing`: missing \(expected a number\)$/);
  refused(() => p.int('neg', { min: 0 }), 'neg', /must be >= 0, found -1/);
});

test('the host set: explicit tags, duplicates refused, unread and asked names tracked', () => {
  const p = Params.fromPairs([
    ['a', { tag: 'integer', val: 1n }],
    ['b', { tag: 'float', val: 2 }],
  ]);
  assert.equal(p.firstUnread(), 'a');
  p.int('a', { default: 0 });
  assert.equal(p.firstUnread(), 'b');
  refused(() => p.int('b'), 'b', /found float 2/);
  p.float('c', { optional: true });
  assert.deepStrictEqual(p.askedNames(), ['a', 'b', 'c']);
  assert.equal(p.firstUnread(), null);
  refused(
    () =>
      Params.fromPairs([
        ['a', { tag: 'integer', val: 1n }],
        ['a', { tag: 'integer', val: 2n }],
      ]),
    'a',
    /given more than once/,
  );
  assert.deepStrictEqual(new Params().with('s', { tag: 'float', val: 2 }).entries(), [['s', { tag: 'float', val: 2 }]]);
  assert.equal(ParamError.general('no').param, null);
  assert.equal(ParamError.invalid('x', 'bad').reason, 'bad');
});
