// Cross-language replay, natively in node: the JavaScript samples (plugins/javascript/momentum_js,
// mean_reversion_js) over vectors/replay/series.csv give exactly the Rust samples' signals
// (vectors/replay/*.jsonl), and the repository README's JavaScript strategy, as printed, buys
// exactly where the Rust momentum sample buys.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Runner, TickData } from '../src/index.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const REPLAY = join(REPO, 'vectors/replay');

/** The replay series as TickData, in file order. */
function series() {
  const [, ...rows] = readFileSync(join(REPLAY, 'series.csv'), 'utf8').trim().split('\n');
  return rows.map((row) => {
    const [token, price, us] = row.split(',');
    return new TickData(Number(token), price, BigInt(us));
  });
}

/** A manifest's instruments and params (the samples' manifests are flat enough for this). */
function manifest(/** @type {string} */ name) {
  const text = readFileSync(join(REPO, 'plugins', `${name}.toml`), 'utf8');
  const instruments = JSON.parse(/** @type {RegExpMatchArray} */ (text.match(/^instruments = (\[.*\])$/m))[1]);
  /** @type {Record<string, number>} */
  const params = {};
  for (const [, k, v] of text.split('[params]')[1].matchAll(/^(\w+) = (\S+)$/gm)) params[k] = Number(v);
  return { instruments, params };
}

/** @param {any} s what a signal says, in the Rust replay's JSON terms */
const said = (s) => [s.tickIndex, s.side, Number(s.quantity), s.price.exact.toString(), s.confidence];

/** @param {string} rust */
function rustSignals(rust) {
  return readFileSync(join(REPLAY, `${rust}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

for (const [js, rust] of [
  ['momentum_js', 'momentum'],
  ['mean_reversion_js', 'mean_reversion'],
]) {
  test(`${js} replays exactly as the Rust sample ${rust}`, async () => {
    const { default: S } = await import(pathToFileURL(join(REPO, 'plugins/javascript', js, 'strategy.js')).href);
    const { instruments, params } = manifest(js);
    assert.deepStrictEqual(manifest(rust), { instruments, params });
    const out = Runner.init(S, params, { strategyId: `${js}_1`, instruments, seed: 1n }).feedAll(series());
    assert.deepStrictEqual(out.errors, []);
    const want = rustSignals(rust);
    assert.ok(want.length > 20);
    assert.deepStrictEqual(
      out.signals.map((s) => [...said(s), s.metadata]),
      want.map((w) => [w.tick_index, w.side, w.quantity, w.price.exact, w.confidence, w.metadata]),
    );
  });
}

test("the README's JavaScript strategy buys exactly where the Rust momentum buys", async () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = /** @type {RegExpMatchArray} */ (readme.match(/```js\n([\s\S]*?)```/))[1];
  const sdk = pathToFileURL(join(REPO, 'sdk-js/src/index.js')).href;
  const file = join(mkdtempSync(join(tmpdir(), 'readme-js-')), 'strategy.js');
  writeFileSync(file, block.replace("'@alpha-panda/sdk'", `'${sdk}'`));
  const { default: S } = await import(pathToFileURL(file).href);
  const { instruments, params } = manifest('momentum');
  const out = Runner.init(S, params, { strategyId: 'readme_1', instruments, seed: 1n }).feedAll(series());
  assert.deepStrictEqual(out.errors, []);
  const want = rustSignals('momentum').filter((w) => w.side === 'buy');
  assert.ok(want.length > 10);
  assert.deepStrictEqual(
    out.signals.map(said),
    want.map((w) => [w.tick_index, w.side, w.quantity, w.price.exact, w.confidence]),
  );
});
