#!/usr/bin/env node
// Times a JavaScript strategy folder under native node on the batches the host's `languages` bench
// (host/benches/languages.rs) gives its Wasm twin, and prints JSON: the per-tick CPU of `onTicks`
// to set beside the component's. The strategy runs behind the same adapter the component exports
// (`exportStrategy`), and each batch is handed over as the component receives it: count, data
// (Uint8Array), symbols.
//
//   node sdk-js/scripts/native_bench.mjs plugins/javascript/momentum_js BATCHES \
//        --id momentum_js_1 --instruments 738561,81153 --param lookback=integer:20 --seed 42 --passes 4
//
// BATCHES names two files: BATCHES.bin, the batches' data one after the other, and BATCHES.json,
// {"batches": [[count, data_bytes, [symbols...]], ...]} in order. The instance is initialised once
// and fed the whole stream --passes times; each pass is timed with process.cpuUsage() (user + system
// CPU of the whole process: V8's compiler and GC threads included) and process.hrtime (wall).
//
// Output (one JSON object): ticks (per pass), signals (per pass), cpu_s and wall_s (per pass),
// errors (tick-errors over all passes), node (version).

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { exportStrategy } from '../src/adapter.js';

const argv = process.argv.slice(2);
/** @type {string[]} */ const positional = [];
/** @type {[string, any][]} */ const params = [];
let id = '';
let instruments = new Uint32Array();
let seed = 42n;
let passes = 1;
while (argv.length) {
  const a = /** @type {string} */ (argv.shift());
  if (a === '--id') id = String(argv.shift());
  else if (a === '--instruments') instruments = Uint32Array.from(String(argv.shift()).split(',').filter(Boolean).map(Number));
  else if (a === '--seed') seed = BigInt(String(argv.shift()));
  else if (a === '--passes') passes = Math.max(1, Number(argv.shift()));
  else if (a === '--param') {
    const [name, typed] = String(argv.shift()).split(/=(.*)/s);
    const [kind, value] = typed.split(/:(.*)/s);
    const val = kind === 'integer' ? BigInt(value) : kind === 'float' ? Number(value) : kind === 'boolean' ? value === 'true' : value;
    params.push([name, { tag: kind, val }]);
  } else positional.push(a);
}
const [dir, prefix] = positional;
if (!dir || !prefix || !id) {
  console.error('usage: native_bench.mjs STRATEGY_DIR BATCHES --id ID --instruments 1,2 [--param n=integer:1] [--seed N] [--passes N]');
  process.exit(2);
}

const index = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
const blob = new Uint8Array(readFileSync(`${prefix}.bin`));
/** @type {{ count: number, data: Uint8Array, symbols: string[] }[]} */
const batches = [];
let at = 0;
for (const [count, length, symbols] of index.batches) {
  batches.push({ count, data: blob.slice(at, at + length), symbols });
  at += length;
}
if (at !== blob.length) {
  console.error(`native_bench: ${prefix}.bin holds ${blob.length} bytes, the index ${at}`);
  process.exit(1);
}

const mod = await import(pathToFileURL(resolve(dir, 'strategy.js')).href);
const s = exportStrategy(mod, (level, message) => console.error(`[${level}] ${message}`));
s.init({ strategyId: id, instruments, params, seed });

const result = {
  ticks: batches.reduce((n, b) => n + b.count, 0),
  /** @type {number[]} */ signals: [],
  /** @type {number[]} */ cpu_s: [],
  /** @type {number[]} */ wall_s: [],
  errors: 0,
  node: process.version,
};
for (let p = 0; p < passes; p++) {
  let signals = 0;
  let errors = 0;
  const wall0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (const b of batches) {
    const out = s.onTicks(b);
    signals += out.signalCount;
    errors += out.errors.length;
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = process.hrtime.bigint() - wall0;
  result.signals.push(signals);
  result.cpu_s.push((cpu.user + cpu.system) / 1e6);
  result.wall_s.push(Number(wall) / 1e9);
  result.errors += errors;
}
console.log(JSON.stringify(result));
