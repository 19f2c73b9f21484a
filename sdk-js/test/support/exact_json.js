// An exact JSON reader for the golden vectors: integer literals outside the safe range (u64::MAX,
// i64::MIN) become BigInt instead of losing digits as JSON.parse would make them; other numbers
// are JS numbers (the shortest round-trip text the Rust writer uses parses to the same double).

/**
 * @param {string} text
 * @returns {any}
 */
export function parseExact(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (/** @type {string} */ why) => {
    throw new SyntaxError(`JSON at ${i}: ${why}`);
  };
  /** @returns {any} */
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      /** @type {Record<string, any>} */
      const o = {};
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        const k = value();
        if (typeof k !== 'string') fail('key is not a string');
        ws();
        if (text[i++] !== ':') fail('expected :');
        Object.defineProperty(o, k, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return o;
        } else fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return a;
        } else fail('expected , or ]');
      }
    }
    if (c === '"') {
      const start = i;
      i++;
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      return JSON.parse(text.slice(start, i));
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m) {
      i += m[0].length;
      if (m[2] === undefined && m[3] === undefined) {
        const n = Number(m[0]);
        return Number.isSafeInteger(n) ? n : BigInt(m[0]);
      }
      return Number(m[0]);
    }
    for (const [word, v] of /** @type {[string, any][]} */ ([['true', true], ['false', false], ['null', null]])) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail(`unexpected ${c}`);
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return v;
}
