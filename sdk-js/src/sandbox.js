// Inside the component only: the globals whose value would be fixed at build time (the component
// is pre-initialised, and every WASI feature is off) throw a clear error instead of quietly
// returning the same time or the same "random" numbers in every instance. The entry installs them.

/**
 * @param {string} what
 * @param {string} instead
 */
function deny(what, instead) {
  return () => {
    throw new Error(`${what} is not available in the alpha-panda sandbox (its value would be fixed at build time): ${instead}`);
  };
}

/**
 * Replaces the clock, random and timer globals of `g` with functions that throw.
 * @param {any} g the global object
 */
export function installSandboxGuards(g) {
  const clock = 'use tick.timestampUs or out.nowUs (the feed\'s time)';
  g.Math.random = deny('Math.random()', 'use ctx.rng() in init and keep the Rng in a field');
  const RealDate = g.Date;
  const now = deny('Date.now()', clock);
  const DateProxy = new Proxy(RealDate, {
    apply() {
      return now();
    },
    construct(target, args, newTarget) {
      if (args.length === 0) return now();
      return Reflect.construct(target, args, newTarget);
    },
    get(target, key, receiver) {
      return key === 'now' ? now : Reflect.get(target, key, receiver);
    },
  });
  g.Date = DateProxy;
  if (g.performance) g.performance.now = deny('performance.now()', clock);
  for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
    if (name in g) g[name] = deny(`${name}()`, 'use out.setTimer(atUs, id): timers run by tick time');
  }
  if (g.crypto) {
    g.crypto.getRandomValues = deny('crypto.getRandomValues()', 'use ctx.rng()');
    if (g.crypto.randomUUID) g.crypto.randomUUID = deny('crypto.randomUUID()', 'use ctx.rng()');
  }
  if ('fetch' in g) g.fetch = deny('fetch()', 'a strategy has no network');
}
