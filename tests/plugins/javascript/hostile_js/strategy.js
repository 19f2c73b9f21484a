// A JavaScript test plugin that misbehaves on purpose; the manifest's `mode` picks how:
// - `counter`: one BUY of 1 per tick with `count` (ticks seen, across reloads) and `version`
//   (a parameter) in its metadata;
// - `throw`: like `counter`, but throws an Error on the tick whose time is `at_us` (every tick if
//   -1): a tick error with its message, never a trap;
// - `loop`: like `counter`, but loops forever on that tick (the host's deadline traps it, and the
//   slot rebuilds the instance from its snapshot).

import { Signal, Strategy } from '@alpha-panda/sdk';

export default class Hostile extends Strategy {
  mode = 'counter';
  atUs = -1;
  version = 0;
  count = 0;

  /** @param {import('@alpha-panda/sdk').Params} params */
  init(params) {
    this.mode = params.text('mode', { default: 'counter' });
    this.atUs = params.int('at_us', { default: -1 });
    this.version = params.int('version', { default: 0 });
  }

  // Only the count, so a reload keeps its new parameters.
  snapshot() {
    return new TextEncoder().encode(String(this.count));
  }

  /** @param {Uint8Array} state */
  restore(state) {
    this.count = Number(new TextDecoder().decode(state));
  }

  /**
   * @param {import('@alpha-panda/sdk').Tick} tick
   * @param {import('@alpha-panda/sdk').Context} out
   */
  onTick(tick, out) {
    this.count += 1;
    const hit = this.atUs < 0 || tick.timestampUs === this.atUs;
    if (hit && this.mode === 'throw') throw new Error(`hostile_js refuses the tick at ${tick.timestampUs}`);
    if (hit && this.mode === 'loop') for (;;);
    out.emit(Signal.buy(1).priceExact(tick.lastPrice).meta('count', this.count).meta('version', this.version));
  }
}
