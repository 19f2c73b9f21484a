//! The Python strategy `plugin new --lang python` writes: `strategy.py` with the
//! SDK's `Strategy`, and its pytest test (`sdk-python` is on the path through
//! `plugins/python/conftest.py`).

use std::path::{Path, PathBuf};

use super::Template;

pub(super) fn files(name: &str, type_name: &str, dir: &Path) -> Vec<(PathBuf, String)> {
    let fill = |t: &str| t.replace("{{name}}", name).replace("{{Type}}", type_name);
    vec![
        (dir.join("strategy.py"), fill(STRATEGY)),
        (dir.join(format!("test_{name}.py")), fill(TEST)),
    ]
}

pub(super) fn next(name: &str, dir: &Path, plugins: &Path) -> String {
    format!(
        "next: python3 -m pytest {}        (its test)\n      cargo xtask plugins          (builds {}/{name}.wasm; a running host loads it)",
        dir.display(),
        plugins.display()
    )
}

pub(super) const TEMPLATE: Template = Template {
    files,
    next,
    default_folder: "python",
};

const STRATEGY: &str = r#""""{{name}}: buys when the price rises `threshold` above the first price seen of
an instrument, sells when it falls as far below. A starting point: edit freely."""

from alpha_panda import Context, InitContext, Params, Signal, Strategy, Tick


class {{Type}}(Strategy):
    def init(self, params: Params, ctx: InitContext) -> None:
        self.threshold = params.get_or_in("threshold", 0.01, min=0.0)
        self.quantity = params.get_or_in("quantity", 10, min=1)
        # Per instrument, the first price seen.
        self.first: dict[int, float] = {}

    def on_tick(self, tick: Tick, out: Context) -> None:
        price = tick.price
        first = self.first.setdefault(tick.instrument_token, price)
        change = (price - first) / first
        if change > self.threshold:
            out.emit(Signal.buy(self.quantity).price_exact(tick.last_price))
        elif change < -self.threshold:
            out.emit(Signal.sell(self.quantity).price_exact(tick.last_price))
"#;

const TEST: &str = r#""""{{name}} on crafted ticks: plain pytest, the same engine the component runs."""

from pathlib import Path

from alpha_panda import Runner, Side, TickData, load_strategy

{{Type}} = load_strategy(Path(__file__).parent)


def test_buys_after_a_rise_and_sells_after_a_fall():
    r = Runner({{Type}}, {"threshold": 0.01})
    assert r.feed(TickData(1, "100", 0)) == []
    [up] = r.feed(TickData(1, "102", 1_000_000))
    assert (up.side, up.quantity) == (Side.BUY, 10)
    [down] = r.feed(TickData(1, "98.5", 2_000_000))
    assert down.side == Side.SELL
"#;
