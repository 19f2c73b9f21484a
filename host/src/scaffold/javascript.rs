//! The JavaScript strategy `plugin new --lang javascript` writes: `strategy.js`
//! with the SDK's `Strategy`, and its `node --test` test (`@alpha-panda/sdk` is
//! linked by `plugins/javascript/package.json`).

use std::path::{Path, PathBuf};

use super::Template;

pub(super) fn files(name: &str, type_name: &str, dir: &Path) -> Vec<(PathBuf, String)> {
    let fill = |t: &str| t.replace("{{name}}", name).replace("{{Type}}", type_name);
    vec![
        (dir.join("strategy.js"), fill(STRATEGY)),
        (dir.join("strategy.test.js"), fill(TEST)),
    ]
}

pub(super) fn next(name: &str, dir: &Path, plugins: &Path) -> String {
    format!(
        "next: node --test {}              (its test)\n      cargo xtask plugins          (builds {}/{name}.wasm; a running host loads it)",
        dir.display(),
        plugins.display()
    )
}

pub(super) const TEMPLATE: Template = Template {
    files,
    next,
    default_folder: "javascript",
};

const STRATEGY: &str = r#"// {{name}}: buys when the price rises `threshold` above the first price seen of an
// instrument, sells when it falls as far below. A starting point: edit freely.

import { Signal, Strategy } from '@alpha-panda/sdk';

export default class {{Type}} extends Strategy {
  threshold = 0;
  quantity = 0;
  /** @type {Map<number, number>} per instrument, the first price seen */
  first = new Map();

  /** @param {import('@alpha-panda/sdk').Params} params */
  init(params) {
    this.threshold = params.float('threshold', { default: 0.01, min: 0 });
    this.quantity = params.int('quantity', { default: 10, min: 1 });
  }

  /**
   * @param {import('@alpha-panda/sdk').Tick} tick
   * @param {import('@alpha-panda/sdk').Context} out
   */
  onTick(tick, out) {
    const price = tick.price;
    if (!this.first.has(tick.instrumentToken)) this.first.set(tick.instrumentToken, price);
    const first = /** @type {number} */ (this.first.get(tick.instrumentToken));
    const change = (price - first) / first;
    if (change > this.threshold) out.emit(Signal.buy(this.quantity).priceExact(tick.lastPrice));
    else if (change < -this.threshold) out.emit(Signal.sell(this.quantity).priceExact(tick.lastPrice));
  }
}
"#;

const TEST: &str = r#"// {{name}} on crafted ticks: node's test runner, the same engine the component runs.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Runner, Side, TickData } from '@alpha-panda/sdk';
import {{Type}} from './strategy.js';

test('buys after a rise and sells after a fall', () => {
  const r = Runner.init({{Type}}, { threshold: 0.01 });
  assert.deepEqual(r.feed(new TickData(1, '100', 0)), []);
  const [up] = r.feed(new TickData(1, '102', 1_000_000));
  assert.deepEqual([up.side, up.quantity], [Side.Buy, 10]);
  const [down] = r.feed(new TickData(1, '98.5', 2_000_000));
  assert.equal(down.side, Side.Sell);
});
"#;
