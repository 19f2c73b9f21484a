#!/usr/bin/env node
// The native twin of harness_replay.py: replays tick batches through a strategy folder's export
// object in node (the same adapter the component runs) and prints the same JSON (signals hex,
// tick-errors, snapshot after batch K), so a component's output can be diffed against node's.
//
//   node sdk-js/scripts/native_replay.mjs STRATEGY_DIR --id ID --instruments 1,2 \
//        [--param name=integer:20 ...] [--restore-after K] BATCH.bin ...

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { exportStrategy } from '../src/adapter.js';

const argv = process.argv.slice(2);
const dir = argv.shift();
/** @type {string[]} */ const batches = [];
/** @type {[string, any][]} */ const params = [];
let id = '';
let instruments = new Uint32Array();
let restoreAfter = -1;
while (argv.length) {
  const a = /** @type {string} */ (argv.shift());
  if (a === '--id') id = /** @type {string} */ (argv.shift());
  else if (a === '--instruments') instruments = Uint32Array.from(String(argv.shift()).split(',').filter(Boolean).map(Number));
  else if (a === '--restore-after') restoreAfter = Number(argv.shift());
  else if (a === '--param') {
    const [name, typed] = String(argv.shift()).split(/=(.*)/s);
    const [kind, value] = typed.split(/:(.*)/s);
    const val = kind === 'integer' ? BigInt(value) : kind === 'float' ? Number(value) : kind === 'boolean' ? value === 'true' : value;
    params.push([name, { tag: kind, val }]);
  } else batches.push(a);
}
if (!dir || !id) {
  console.error('usage: native_replay.mjs STRATEGY_DIR --id ID --instruments 1,2 [--param n=integer:1] [--restore-after K] BATCH.bin ...');
  process.exit(2);
}

const mod = await import(pathToFileURL(resolve(dir, 'strategy.js')).href);
/** @type {string[][]} */ const logs = [];
const s = exportStrategy(mod, (level, message, fields) => logs.push([level, message, JSON.stringify(fields)]));
const init = () => s.init({ strategyId: id, instruments, params, seed: 42n });
/** @param {string} path */
const run = (path) => {
  const meta = JSON.parse(readFileSync(path.replace(/\.bin$/, '.json'), 'utf8'));
  const out = s.onTicks({ count: meta.count, data: new Uint8Array(readFileSync(path)), symbols: meta.symbols });
  return {
    batch: basename(path),
    signal_count: out.signalCount,
    signals: Buffer.from(out.signals).toString('hex'),
    errors: out.errors.map((e) => [e.tickIndex, e.message]),
  };
};

/** @type {Record<string, any>} */
const result = { runs: [] };
init();
let snapshot = null;
batches.forEach((b, i) => {
  result.runs.push(run(b));
  if (i === restoreAfter) {
    snapshot = s.snapshot();
    result.snapshot_bytes = snapshot.length;
    result.snapshot_sha256 = createHash('sha256').update(snapshot).digest('hex');
  }
});
if (snapshot !== null) {
  init();
  s.restore(snapshot);
  result.after_restore = batches.slice(restoreAfter + 1).map(run);
}
result.host_log = logs;
console.log(JSON.stringify(result, null, 1));
