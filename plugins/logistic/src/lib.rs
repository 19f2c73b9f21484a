//! Sample strategy `logistic`: a logistic-regression classifier over momentum
//! features, its coefficients read from a model artifact (`[artifacts] model =
//! "models/logistic.json"` in the manifest), the way an ML strategy ships a trained
//! model beside its code.
//!
//! Shows: reading an artifact as JSON in `init` (a bad model is refused there, with
//! the reason), keeping the model out of the snapshot (a reload with a new model keeps
//! the price history and uses the new coefficients), and a deterministic `exp`
//! (`libm`), so the Wasm component signals bit for bit as the same code run natively.
//!
//! Rule, per tick of instrument `i` once `max(lookbacks) + 1` prices of `i` were seen:
//! features `x_k = (price_now - price_k_ago) / price_k_ago` for each `k` of
//! `lookbacks`; `p = 1 / (1 + exp(-(bias + Σ w_k·x_k)))`; `p > buy_above` → BUY
//! `position_size`, `p < sell_below` → SELL; confidence `|2p - 1|`; metadata
//! `probability` = `p` with 6 decimals and `model` = the model's `version`.

use alpha_panda_sdk::indicators::RollingWindow;
use alpha_panda_sdk::{
    Context, InitContext, Map, ParamError, Params, Signal, Strategy, StrategyError, Tick,
};
use serde::{Deserialize, Serialize};

/// The longest look-back a model may use (prices kept per instrument: one more).
pub const MAX_LOOKBACK: usize = 240;

/// The model artifact: `models/logistic.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Shown in each signal's metadata (`model`).
    pub version: String,
    /// Look-backs (in ticks) of the momentum features, one weight each.
    pub lookbacks: Vec<usize>,
    pub weights: Vec<f64>,
    pub bias: f64,
    pub buy_above: f64,
    pub sell_below: f64,
}

impl Model {
    /// Refuses a model this strategy cannot run, saying why.
    pub fn check(&self) -> Result<(), String> {
        if self.lookbacks.is_empty() || self.lookbacks.len() != self.weights.len() {
            return Err(format!(
                "needs as many weights as lookbacks, at least one (got {} lookbacks, {} weights)",
                self.lookbacks.len(),
                self.weights.len()
            ));
        }
        if let Some(k) = self.lookbacks.iter().find(|&&k| k == 0 || k > MAX_LOOKBACK) {
            return Err(format!("lookback {k} is not in 1..={MAX_LOOKBACK}"));
        }
        let numbers = self
            .weights
            .iter()
            .chain([&self.bias, &self.buy_above, &self.sell_below]);
        if numbers.into_iter().any(|v| !v.is_finite()) {
            return Err("weights, bias and thresholds must be finite numbers".into());
        }
        if !(0.0 < self.sell_below && self.sell_below <= self.buy_above && self.buy_above < 1.0) {
            return Err(format!(
                "needs 0 < sell_below <= buy_above < 1 (got {} and {})",
                self.sell_below, self.buy_above
            ));
        }
        Ok(())
    }

    fn history(&self) -> usize {
        self.lookbacks.iter().copied().max().unwrap_or(1) + 1
    }

    /// The probability of a rise, from the last prices (oldest first), or `None`
    /// while there are too few of them.
    pub fn probability(&self, prices: &RollingWindow<f64>) -> Option<f64> {
        let n = prices.len();
        if n < self.history() {
            return None;
        }
        let now = *prices.newest()?;
        let mut z = self.bias;
        for (&k, &w) in self.lookbacks.iter().zip(&self.weights) {
            let then = *prices.get(n - 1 - k)?;
            if then <= 0.0 {
                return None;
            }
            z += w * ((now - then) / then);
        }
        Some(1.0 / (1.0 + libm::exp(-z)))
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Logistic {
    /// From the artifact at each `init`; never part of the snapshot.
    #[serde(skip)]
    model: Option<Model>,
    position_size: u64,
    /// Per instrument, its last `MAX_LOOKBACK + 1` prices (whatever the model, so a
    /// new model with longer look-backs starts with the history it needs).
    prices: Map<u32, RollingWindow<f64>>,
}

impl Strategy for Logistic {
    fn init(params: &Params, ctx: &InitContext) -> Result<Self, ParamError> {
        let position_size = params.get_or_in("position_size", 50u64, 1..)?;
        let model: Model = ctx.artifacts.json("model")?;
        model
            .check()
            .map_err(|e| ParamError::general(format!("artifact `model`: {e}")))?;
        Ok(Self {
            model: Some(model),
            position_size,
            prices: Map::new(),
        })
    }

    fn on_tick(&mut self, tick: &Tick, out: &mut Context) -> Result<(), StrategyError> {
        let window = self
            .prices
            .entry(tick.instrument_token())
            .or_insert_with(|| RollingWindow::new(MAX_LOOKBACK + 1));
        window.push(tick.price());
        let Some(model) = self.model.as_ref() else {
            return Err(StrategyError::new("no model: init did not run"));
        };
        let Some(p) = model.probability(window) else {
            return Ok(());
        };
        let signal = if p > model.buy_above {
            Signal::buy(self.position_size)
        } else if p < model.sell_below {
            Signal::sell(self.position_size)
        } else {
            return Ok(());
        };
        out.emit(
            signal
                .price_exact(tick.last_price())
                .confidence((2.0 * p - 1.0).abs())
                .meta("probability", format!("{p:.6}"))
                .meta("model", model.version.clone()),
        );
        Ok(())
    }

    /// Takes the price history of the snapshot (the default `snapshot` encodes
    /// `self`, the model skipped); keeps this instance's model and parameters, so a
    /// reload with a new model uses the new one at once.
    fn restore(&mut self, state: &[u8]) -> Result<(), StrategyError> {
        let before: Logistic = postcard::from_bytes(state)?;
        self.prices = before.prices;
        Ok(())
    }
}

alpha_panda_sdk::export_strategy!(Logistic);
