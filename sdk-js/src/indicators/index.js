// Streaming indicators: feed one value at a time with `update(x)`, which returns null until the
// indicator has seen enough values. A period of 0 is taken as 1 (validate parameters in init).
// Each is a plain-field class, so a strategy that keeps them in its fields snapshots them for free.
//
// - window.js: RollingWindow, the last N values (what the others are built on).
// - average.js: Sma, Ema.
// - dispersion.js: StdDev, ZScore, BollingerBands (population statistics).
// - rsi.js: Rsi, Wilder's relative strength index.

export { RollingWindow } from './window.js';
export { Ema, Sma } from './average.js';
export { BollingerBands, StdDev, ZScore } from './dispersion.js';
export { Rsi } from './rsi.js';
