#!/usr/bin/env node
// Writes tick batches for replaying the samples in a component harness: NAME.bin (the WIT
// tick-batch data) and NAME.json ({count, symbols}), like vectors/ticks. Deterministic price walks
// (xorshift64*) of the six instruments of plugins/momentum.toml, on a 5-paise grid, with jumps so
// both samples signal; one batch of prices chosen to make exact ties for format!("{:.6}").
//
//   node sdk-js/scripts/replay_batches.mjs OUT_DIR [BATCHES] [TICKS_PER_BATCH]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Decimal, TickData } from '../src/index.js';
import { BatchWriter } from '../src/tick_write.js';

const [outDir, batches = '4', perBatch = '400'] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node replay_batches.mjs OUT_DIR [BATCHES] [TICKS_PER_BATCH]');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const INSTRUMENTS = [738561, 81153, 2714625, 408065, 341249, 256265];
const SYMBOLS = ['RELIANCE', 'SBIN', 'ITC', 'HDFCBANK', 'ICICIBANK', 'NIFTY 50'];
let state = 0x9e3779b97f4a7c15n;
const next = () => {
  state ^= state >> 12n;
  state ^= (state << 25n) & 0xffffffffffffffffn;
  state ^= state >> 27n;
  return Number(((state * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 32n); // 0..2^32-1
};
const paise = INSTRUMENTS.map((_, i) => 50_000 * (i + 1));
let t = 1_756_442_400_000_000;

/**
 * @param {BatchWriter} w
 * @param {number} i instrument index
 * @param {number} p price in paise
 */
function push(w, i, p) {
  t += 250_000;
  const d = new TickData(INSTRUMENTS[i], new Decimal(BigInt(p), 2), t).symbol(SYMBOLS[i]).mode('quote').volumeTraded(1000 + (next() % 5000));
  w.push(d.fields);
}

for (let b = 0; b < Number(batches); b++) {
  const w = new BatchWriter();
  for (let k = 0; k < Number(perBatch); k++) {
    const i = next() % INSTRUMENTS.length;
    const r = next();
    let step = ((r % 17) - 8) * 5;
    if (r % 97 === 0) step *= 40; // a jump now and then
    paise[i] = Math.max(500, paise[i] + step);
    push(w, i, paise[i]);
  }
  const batch = w.finish();
  writeFileSync(join(outDir, `walk_${b}.bin`), batch.data);
  writeFileSync(join(outDir, `walk_${b}.json`), JSON.stringify({ count: batch.count, symbols: batch.symbols }));
}

// Ties: (129 - 128) / 128 = 0.0078125 is exactly halfway at 6 decimals (Rust writes 0.007812,
// toFixed 0.007813); (96 - 128) / 128 = -0.25 and back.
const w = new BatchWriter();
for (const p of [12800, 12900, 12800, 9600, 12800, 12900, 12900, 12800]) push(w, 0, p);
const ties = w.finish();
writeFileSync(join(outDir, 'ties.bin'), ties.data);
writeFileSync(join(outDir, 'ties.json'), JSON.stringify({ count: ties.count, symbols: ties.symbols }));
console.log(`wrote ${Number(batches)} walks of ${perBatch} ticks and ties to ${outDir}`);
