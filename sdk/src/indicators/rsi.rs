//! `Rsi`: Wilder's relative strength index.

use serde::{Deserialize, Serialize};

/// Wilder's RSI over `period` price changes.
///
/// The first average gain/loss is the simple mean of the first `period` changes; each
/// later one is `(previous * (period - 1) + current) / period`. The first value comes
/// with the `period`-th change, i.e. the `period + 1`-th price.
/// `RSI = 100 - 100 / (1 + avg_gain / avg_loss)`, and 100 when `avg_loss` is 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rsi {
    period: usize,
    prev: Option<f64>,
    changes: usize,
    /// Sums while seeding (`changes < period`), averages after.
    gain: f64,
    loss: f64,
}

impl Rsi {
    pub fn new(period: usize) -> Self {
        Self {
            period: period.max(1),
            prev: None,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
        }
    }

    /// Adds the next price; the RSI once `period` changes have been seen.
    pub fn update(&mut self, price: f64) -> Option<f64> {
        let prev = self.prev.replace(price)?;
        let change = price - prev;
        let (gain, loss) = (change.max(0.0), (-change).max(0.0));
        let p = self.period as f64;
        if self.changes < self.period {
            self.changes += 1;
            self.gain += gain;
            self.loss += loss;
            if self.changes < self.period {
                return None;
            }
            self.gain /= p;
            self.loss /= p;
        } else {
            self.gain = (self.gain * (p - 1.0) + gain) / p;
            self.loss = (self.loss * (p - 1.0) + loss) / p;
        }
        self.value()
    }

    pub fn value(&self) -> Option<f64> {
        if self.changes < self.period {
            return None;
        }
        Some(if self.loss == 0.0 {
            100.0
        } else {
            100.0 - 100.0 / (1.0 + self.gain / self.loss)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 14-day worked example of StockCharts' ChartSchool RSI article.
    const PRICES: [f64; 33] = [
        44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61,
        46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35,
        44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13,
    ];
    /// Its RSI column, from the 15th price on, to 2 decimals. The article's closes are
    /// shown rounded to cents while its RSI was computed from the unrounded ones, so
    /// Wilder's method on these closes lands within 0.07 of every published value (the
    /// exact check is `matches_a_straightforward_loop`).
    const PUBLISHED: [f64; 19] = [
        70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71, 50.42, 39.99,
        41.46, 41.87, 45.46, 37.30, 33.08, 37.77,
    ];

    #[test]
    fn matches_the_published_wilder_example() {
        let mut rsi = Rsi::new(14);
        let got: Vec<Option<f64>> = PRICES.iter().map(|&p| rsi.update(p)).collect();
        assert!(got[..14].iter().all(Option::is_none));
        for (i, want) in PUBLISHED.iter().enumerate() {
            let v = got[14 + i].unwrap();
            assert!((v - want).abs() < 0.08, "RSI #{i}: {v} vs {want}");
        }
    }

    #[test]
    fn matches_a_straightforward_loop() {
        let period = 5;
        let changes: Vec<f64> = PRICES.windows(2).map(|w| w[1] - w[0]).collect();
        let mut avg_gain = changes[..period].iter().map(|c| c.max(0.0)).sum::<f64>() / 5.0;
        let mut avg_loss = changes[..period].iter().map(|c| (-c).max(0.0)).sum::<f64>() / 5.0;
        let mut want = vec![100.0 - 100.0 / (1.0 + avg_gain / avg_loss)];
        for c in &changes[period..] {
            avg_gain = (avg_gain * 4.0 + c.max(0.0)) / 5.0;
            avg_loss = (avg_loss * 4.0 + (-c).max(0.0)) / 5.0;
            want.push(100.0 - 100.0 / (1.0 + avg_gain / avg_loss));
        }
        let mut rsi = Rsi::new(period);
        let got: Vec<f64> = PRICES.iter().filter_map(|&p| rsi.update(p)).collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-9, "{g} vs {w}");
        }
    }

    #[test]
    fn no_losses_is_100() {
        let mut rsi = Rsi::new(3);
        let got: Vec<_> = [1.0, 2.0, 3.0, 4.0, 4.0]
            .iter()
            .map(|&p| rsi.update(p))
            .collect();
        assert_eq!(got, vec![None, None, None, Some(100.0), Some(100.0)]);
    }
}
