// Golden signal vectors (vectors/signals): every valid .json encodes to exactly its .bin through the
// writer the component uses, every .bin decodes back to its .json, and each broken buffer is refused
// with its kind.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Decimal, readSignals, writeSignals } from '../src/index.js';
import { parseExact } from './support/exact_json.js';
import { VECTORS } from './support/paths.js';

const DIR = join(VECTORS, 'signals');
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort();

/** @param {string} name */
function load(name) {
  return {
    meaning: parseExact(readFileSync(join(DIR, `${name}.json`), 'utf8')),
    data: new Uint8Array(readFileSync(join(DIR, `${name}.bin`))),
  };
}

/** The vector JSON of one signal as a SignalRecord. @param {any} j */
function record(j) {
  const p = j.price;
  return {
    tickIndex: j.tick_index,
    instrumentToken: j.instrument_token,
    side: j.side,
    quantity: BigInt(j.quantity),
    price: p === null ? null : 'exact' in p ? { exact: Decimal.parse(p.exact) } : { approx: p.approx },
    confidence: j.confidence,
    metadata: j.metadata,
  };
}

/** A record with Decimals as text and f64 as their bits, for exact comparison. @param {any} r */
function comparable(r) {
  const bits = (/** @type {number | null} */ x) => (x === null ? null : new BigUint64Array(new Float64Array([x]).buffer)[0]);
  const p = r.price;
  return {
    ...r,
    price: p === null ? null : 'exact' in p ? { exact: p.exact.toString() } : { approx: bits(p.approx) },
    confidence: bits(r.confidence),
  };
}

test('there are golden signal vectors', () => {
  assert.ok(NAMES.length >= 11, NAMES.join(' '));
});

for (const name of NAMES) {
  const { meaning } = load(name);
  if (meaning.error !== undefined) {
    test(`signals/${name} is refused as ${meaning.error}`, () => {
      const { data } = load(name);
      assert.throws(() => readSignals(meaning.count, data), (e) => {
        assert.equal(/** @type {any} */ (e).kind, meaning.error, String(e));
        return true;
      });
    });
    continue;
  }
  test(`signals/${name} encodes to exactly its bytes`, () => {
    const { data } = load(name);
    const records = meaning.signals.map(record);
    assert.equal(records.length, meaning.count);
    assert.deepStrictEqual(writeSignals(records), data);
  });
  test(`signals/${name} decodes to its JSON`, () => {
    const { data } = load(name);
    const got = readSignals(meaning.count, data);
    assert.deepStrictEqual(got.map(comparable), meaning.signals.map(record).map(comparable));
  });
}

test('every prefix of a valid buffer is refused, never misread', () => {
  const { meaning, data } = load('basic');
  for (let cut = 0; cut < data.length; cut++) {
    assert.throws(() => readSignals(meaning.count, data.subarray(0, cut)));
  }
});
