// Artifacts: what `init` reads from the manifest's `[artifacts]`, and the errors that name the
// artifact (the same messages as the Rust and Python SDKs').

import assert from 'node:assert/strict';
import test from 'node:test';

import { Artifacts, InitContext, ParamError, Strategy } from '../src/index.js';
import { exportStrategy } from '../src/adapter.js';

const enc = (/** @type {string} */ s) => new TextEncoder().encode(s);

function withModel(/** @type {Uint8Array} */ data) {
  const a = new Artifacts();
  a.insert('model', 'ab12', data);
  return a;
}

test('reads bytes, text and JSON', () => {
  const model = enc('{"bias": -0.5, "weights": [1.0, 2.0]}');
  const a = withModel(model);
  assert.equal(a.get('model').sha256, 'ab12');
  assert.ok(a.text('model').startsWith('{'));
  assert.equal(a.json('model').bias, -0.5);
  assert.deepEqual(a.names(), ['model']);
  assert.deepEqual(new InitContext({ artifacts: a }).artifacts.bytes('model'), model);
});

test('errors name the artifact', () => {
  const a = withModel(new Uint8Array([0xff, 0xfe]));
  assert.throws(() => a.bytes('calendar'), (e) => e instanceof ParamError && e.param === null
    && e.reason === "artifact `calendar` is not in the manifest's [artifacts] (it names: [model])");
  assert.throws(() => a.text('model'), (e) => e instanceof ParamError
    && e.reason.startsWith('artifact `model` is not UTF-8 text'));
  assert.throws(() => withModel(enc('{')).json('model'), (e) => e instanceof ParamError
    && e.reason.startsWith('artifact `model` is not valid JSON'));
});

class ModelReader extends Strategy {
  init(_p, ctx) {
    this.factor = ctx.artifacts.json('model').factor;
  }
  onTick() {}
}

test('the export hands the WIT artifacts to init; a missing one is an init-error', () => {
  const { init } = exportStrategy({ ModelReader }, () => {});
  const config = (artifacts) => ({ strategyId: 'ml_1', instruments: [], params: [], seed: 1n, artifacts });
  assert.equal(init(config([{ name: 'model', sha256: 'ab12', data: enc('{"factor": 3}') }])), undefined);
  let thrown;
  try {
    init(config([]));
  } catch (e) {
    thrown = e;
  }
  assert.deepEqual(thrown, { param: null, message: "artifact `model` is not in the manifest's [artifacts] (it names: [])" });
});
