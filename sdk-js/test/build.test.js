// build-plugin.mjs refuses, before componentize-js runs, a strategy folder it cannot build: with the
// file, the line and the reason, a non-zero exit, and nothing written; and one full build (10-25 s on
// two cores, with the componentize-js that `npm ci` installs).

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { SDK_DIR } from './support/paths.js';

const BUILD = join(SDK_DIR, 'build-plugin.mjs');
const root = mkdtempSync(join(tmpdir(), 'alpha-panda-build-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const GOOD = `import { Signal, Strategy } from '@alpha-panda/sdk';
export default class S extends Strategy {
  onTick(tick, out) { out.emit(Signal.buy(1)); }
}
`;

let n = 0;
/**
 * A strategy folder with these files, built; resolves to the exit status and stderr.
 * @param {Record<string, string>} files relative path → content
 * @returns {Promise<{status: number | null, stderr: string, dir: string, out: string}>}
 */
async function build(files) {
  const dir = join(root, `s${n++}`, 'strategy_folder');
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  const before = listing(dir);
  const out = join(root, `out${n}.wasm`);
  const r = await new Promise((done) => {
    execFile(process.execPath, [BUILD, dir, out], { encoding: 'utf8' }, (err, _stdout, stderr) =>
      done({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
    );
  });
  assert.deepStrictEqual(listing(dir), before, 'nothing is written into the source folder');
  if (r.status !== 0) assert.ok(!existsSync(out), 'no output on failure');
  return { status: r.status, stderr: r.stderr.trim(), dir, out };
}

/** @param {string} dir */
function listing(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((f) => `${f}:${statSync(join(dir, f)).size}:${statSync(join(dir, f)).mtimeMs}`);
}

test('a syntax error is refused with its file and line', async () => {
  const r = await build({ 'strategy.js': "import { Strategy } from '@alpha-panda/sdk';\nconst x = 1;\nlet y = ;\n" });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `${join(r.dir, 'strategy.js')}:3: SyntaxError: Unexpected token ';'`);
});

test('a syntax error in an imported sibling is refused with that file', async () => {
  const r = await build({ 'strategy.js': `import { h } from './lib/helper.js';\n${GOOD}`, 'lib/helper.js': 'export const h = {\n  a: 1,\n' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `${join(r.dir, 'lib/helper.js')}:3: SyntaxError: Unexpected end of input`);
});

test('imports the sandbox lacks are refused with the file, line and import', async () => {
  const cases = [
    ["import _ from 'lodash';", "import 'lodash': the sandbox has no packages"],
    ["import { readFileSync } from 'node:fs';", "import 'node:fs': node builtins are not available"],
    ["import path from 'path';", "import 'path': node builtins are not available"],
    ["import { log } from 'alpha-panda:strategy/host@0.4.0';", 'the host interface belongs to the SDK'],
    ["import { Tick } from '@alpha-panda/sdk/src/tick.js';", "import everything from '@alpha-panda/sdk' itself"],
    ["import { x } from '../outside.js';", 'leaves the strategy folder'],
    ["import { x } from './missing.js';", "import './missing.js': no such file"],
    ["export * from './data.json';", 'only JavaScript modules'],
  ];
  const results = await Promise.all(
    cases.map(([line]) => build({ 'strategy.js': `${GOOD}\n${line}\n`, '../outside.js': 'export const x = 1;\n', 'data.json': '{}' })),
  );
  results.forEach((r, i) => {
    assert.equal(r.status, 1, cases[i][0]);
    assert.ok(r.stderr.startsWith(`${join(r.dir, 'strategy.js')}:6: `), r.stderr);
    assert.ok(r.stderr.includes(cases[i][1]), r.stderr);
  });
});

test('a dynamic import is refused', async () => {
  const r = await build({ 'strategy.js': `${GOOD}\nexport async function f() {\n  return import('./x.js');\n}\n` });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /strategy\.js:7: dynamic import\(\) is not available in the sandbox/);
});

test('a module without a Strategy subclass, or failing as it loads, is refused in a second', async () => {
  const none = await build({ 'strategy.js': "import { Signal } from '@alpha-panda/sdk';\nexport const x = Signal;\n" });
  assert.equal(none.status, 1);
  assert.equal(none.stderr, `${join(none.dir, 'strategy.js')}: strategy.js exports no subclass of Strategy: write \`export default class MyStrategy extends Strategy { ... }\``);
  const throws = await build({ 'strategy.js': `${GOOD}\nundefinedThing.call();\n` });
  assert.equal(throws.status, 1);
  assert.match(throws.stderr, /strategy\.js: undefinedThing is not defined$/);
});

test('a folder without strategy.js, and bad arguments', async () => {
  const r = await build({ 'main.js': GOOD });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /strategy\.js: not found/);
  assert.equal(spawnSync(process.execPath, [BUILD, root], { encoding: 'utf8' }).status, 2);
});

test('a full build: a component, with nothing written into the source folder', async () => {
  const r = await build({ 'strategy.js': `import { h } from './helper.js';\n${GOOD}`, 'helper.js': '// import("x") in a comment\nexport const h = "import(\'y\')";\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(statSync(r.out).size > 1 << 20);
});
