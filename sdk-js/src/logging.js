// `log`: structured logging through the host (`host.log` in the component, stderr in node).
// The component's entry installs the host function with `setLogSink`; nothing else does.

/** @typedef {'trace' | 'debug' | 'info' | 'warn' | 'error'} Level */

/** @typedef {(level: Level, message: string, fields: [string, string][]) => void} LogSink */

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** @type {LogSink} */
let sink = (level, message, fields) => {
  const line = [`[${level.toUpperCase()}] ${message}`, ...fields.map(([k, v]) => `${k}=${JSON.stringify(v)}`)];
  console.error(line.join(' '));
};

/**
 * Logs one record with key/value fields (an object or a list of pairs; values become text).
 * Each call crosses into the host: keep it off the per-tick path. The host keeps 100 lines a call.
 * @param {Level} level
 * @param {string} message
 * @param {Record<string, unknown> | Iterable<[string, unknown]>} [fields]
 */
export function log(level, message, fields = []) {
  const lvl = LEVELS.includes(level) ? level : 'info';
  const pairs = Symbol.iterator in Object(fields) ? [.../** @type {Iterable<[string, unknown]>} */ (fields)] : Object.entries(fields);
  sink(/** @type {Level} */ (lvl), String(message), pairs.map(([k, v]) => [String(k), String(v)]));
}

/**
 * Where log records go (the component's entry passes the host's `log`).
 * @param {LogSink} f
 */
export function setLogSink(f) {
  sink = f;
}
