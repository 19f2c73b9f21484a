// The default snapshot: canonical (sorted keys, the same bytes for the same state), exact for
// every kind of value a strategy keeps, and refusing what it cannot restore with the value's path.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  BollingerBands, Decimal, Ema, InitContext, RollingWindow, Rsi, Sma, SnapshotError, StdDev, Strategy, TickData, ZScore,
} from '../src/index.js';

class Position {
  /** @param {number} qty */
  constructor(qty) {
    this.qty = qty;
  }
  double() {
    return this.qty * 2;
  }
}

class Keeper extends Strategy {
  static snapshotClasses = [Position];
  /** @param {any} _p @param {InitContext} ctx */
  init(_p, ctx) {
    this.z = 1;
    this.a = { y: [1, -0, NaN, Infinity, -Infinity, 0.1, undefined, null], x: 'é', $: 'dollar' };
    this.big = 2n ** 64n - 1n;
    this.neg = -(2n ** 63n);
    this.price = Decimal.parse('2501.50');
    this.map = new Map([[5, { last: Decimal.parse('1.0') }], [3, null]]);
    this.set = new Set(['b', 'a']);
    this.f64 = new Float64Array([1.5, -0]);
    this.when = new Date(1700000000000);
    this.pos = new Position(3);
    this.window = new RollingWindow(2);
    for (const x of [1, 2, 3]) this.window.push(x);
    this.ind = [new Sma(2), new Ema(2), new StdDev(2), new ZScore(2), new Rsi(2), new BollingerBands(2, 2)];
    for (const x of [1, 3, 2]) for (const i of this.ind) i.update(x);
    this.rng = ctx.rng();
    this.rng.nextU32();
  }
  onTick() {}
}

const fresh = () => {
  const s = new Keeper();
  s.init(null, new InitContext({ seed: 42n }));
  return s;
};

test('the same state gives the same bytes, keys sorted', () => {
  const a = fresh().snapshot();
  const b = fresh().snapshot();
  assert.deepStrictEqual(a, b);
  const text = new TextDecoder().decode(a);
  assert.ok(text.startsWith('{"a":{"$":"Object","v":{"$":"dollar","x":"é","y":[1,{"$":"number","v":"-0"}'), text);
  assert.ok(text.indexOf('"z":1') > text.indexOf('"window"'));
});

test('every kind of value comes back exactly', () => {
  const a = fresh();
  const b = new Keeper();
  b.restore(a.snapshot());
  assert.ok(Object.is(b.a.y[1], -0));
  assert.ok(Number.isNaN(b.a.y[2]));
  assert.deepStrictEqual(b.a, a.a);
  assert.equal(b.big, a.big);
  assert.equal(b.neg, a.neg);
  assert.ok(b.price instanceof Decimal && b.price.equals(a.price));
  assert.deepStrictEqual([...b.map.keys()], [5, 3]);
  assert.ok(b.map.get(5).last.equals(Decimal.parse('1.0')));
  assert.deepStrictEqual([...b.set], ['b', 'a']);
  assert.ok(b.f64 instanceof Float64Array && Object.is(b.f64[1], -0));
  assert.equal(b.when.getTime(), 1700000000000);
  assert.ok(b.pos instanceof Position);
  assert.equal(b.pos.double(), 6);
  assert.deepStrictEqual(b.window.toArray(), [2, 3]);
  // Indicators and the Rng continue exactly where the originals are.
  for (const [i, ind] of b.ind.entries()) assert.deepStrictEqual(ind.update(7), a.ind[i].update(7), String(i));
  assert.equal(b.rng.nextU32(), a.rng.nextU32());
  assert.deepStrictEqual(b.snapshot(), a.snapshot());
});

test('what cannot be restored is refused with its path', () => {
  const refuse = (/** @type {(s: any) => void} */ put, /** @type {RegExp} */ why) => {
    const s = fresh();
    put(s);
    assert.throws(() => s.snapshot(), (e) => e instanceof SnapshotError && why.test(e.message));
  };
  refuse((s) => (s.f = () => 1), /^this\.f: a function cannot be snapshotted/);
  refuse((s) => (s.a.t = new TickData(1, '1', 0).asTick()), /^this\.a\.t: a Tick cannot be kept in state/);
  refuse((s) => (s.m = new Map([[1, new (class Foo {})()]])), /^this\.m\.get\(1\): an instance of Foo .*snapshotClasses/);
  refuse((s) => (s.a.self = s.a), /this\.a\.self: the state refers to itself/);
  const s = new Keeper();
  assert.throws(() => s.restore(new TextEncoder().encode('{"x":{"$":"Nope","v":{}}}')), /unknown class Nope/);
  assert.throws(() => s.restore(new TextEncoder().encode('[1]')), /not an object of fields/);
  assert.throws(() => s.restore(new Uint8Array([0xff])), TypeError);
  assert.deepStrictEqual(Object.keys(s), [], 'a refused restore changes nothing');
});

test('restore replaces the snapshot fields and keeps the others', () => {
  const s = new Keeper();
  s.extra = 'kept';
  s.z = 99;
  s.restore(new TextEncoder().encode('{"z":2,"__proto__":{"$":"number","v":"-0"}}'));
  assert.equal(s.z, 2);
  assert.equal(s.extra, 'kept');
  assert.ok(s instanceof Keeper, 'a __proto__ field is a field, not a prototype');
});
