// @alpha-panda/sdk: trading strategies for alpha-panda as plain JavaScript classes.
//
// A strategy is a subclass of `Strategy` in a `strategy.js` ES module; `build-plugin.mjs` turns its
// folder into a sandboxed WebAssembly component (alpha-panda:strategy@0.4.0) the host loads,
// hot-reloads and snapshots. The SDK hides the ABI: the host hands ticks over in batches, the SDK
// delivers them one by one, fires timers by tick time, tags every signal with the tick it answers
// and checks it before it leaves. Tests run natively with `node --test` through `Runner`.
//
// Layout, in the order the bytes travel (wire → tick → strategy call → signal → wire):
// - layout.js: sizes, presence bits, offsets and enum bytes of the wire (abi/src/layout.rs).
// - integers.js: the wire's u32/u64/s64 for JS numbers and BigInts.
// - decimal.js: Decimal, exact prices (BigInt mantissa + scale); ParseDecimalError.
// - side.js: Side and TickMode, the wire's enum bytes as strings.
// - batch.js: TickBatch, one on-ticks batch checked and read tick by tick; BatchError, RecordError.
// - tick.js: Tick, the lazy DataView view of one tick record; DepthLevel.
// - tick_write.js / tick_data.js: BatchWriter (canonical batches); TickData, ticks tests build.
// - params.js: Params (typed getters with defaults and ranges), ParamError.
// - rng.js: Rng, the seeded generator (Math.random is fixed at build time in the sandbox).
// - artifacts.js: Artifacts, the manifest's read-only files (bytes, text, JSON).
// - context.js: InitContext (id, instruments, seed, artifacts) and Context (emit, timers, nowUs, log).
// - timers.js: the deterministic timer queue behind Context.
// - strategy.js: Strategy, the class an author extends; StrategyError.
// - snapshot.js: the default snapshot, canonical JSON of a strategy's fields.
// - signal.js: Signal (builder), SignalRecord, the output checks.
// - signal_wire.js: the flat signal buffer the host reads (writeSignals, readSignals).
// - runner.js: Runner, ticks in → timers, onTick, checked signals out; snapshot envelope.
// - format.js: formatFixed, numbers as Rust's format!("{:.N}") writes them.
// - logging.js: log through the host.
// - indicators/: RollingWindow, Sma, Ema, StdDev, ZScore, Rsi, BollingerBands.
// - adapter.js, sandbox.js (private): the componentize-js export and the sandbox's global guards.

export { Decimal, ParseDecimalError } from './decimal.js';
export { Side, TickMode } from './side.js';
export { Tick, DepthLevel } from './tick.js';
export { TickBatch, BatchError, RecordError } from './batch.js';
export { TickData } from './tick_data.js';
export { Params, ParamError } from './params.js';
export { Rng } from './rng.js';
export { Artifact, Artifacts } from './artifacts.js';
export { Context, InitContext } from './context.js';
export { Strategy, StrategyError } from './strategy.js';
export { SnapshotError } from './snapshot.js';
export { Signal } from './signal.js';
export { readSignals, writeSignals, SignalBufferError } from './signal_wire.js';
export { Runner } from './runner.js';
export { formatFixed } from './format.js';
export { log } from './logging.js';
export { RollingWindow, Sma, Ema, StdDev, ZScore, Rsi, BollingerBands } from './indicators/index.js';
