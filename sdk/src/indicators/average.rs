//! `Sma` and `Ema`: moving averages.

use serde::{Deserialize, Serialize};

use super::RollingWindow;

/// Simple moving average of the last `period` values.
///
/// Keeps a running sum (re-added from the window every `period` updates, so rounding
/// does not drift): O(1) per update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sma {
    window: RollingWindow<f64>,
    sum: f64,
    since_resum: usize,
}

impl Sma {
    pub fn new(period: usize) -> Self {
        Self {
            window: RollingWindow::new(period),
            sum: 0.0,
            since_resum: 0,
        }
    }

    /// Adds `x`; the mean of the last `period` values once there are that many.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let evicted = self.window.push(x).unwrap_or(0.0);
        self.since_resum += 1;
        if self.since_resum >= self.window.capacity() {
            self.sum = self.window.iter().sum();
            self.since_resum = 0;
        } else {
            self.sum += x - evicted;
        }
        self.value()
    }

    pub fn value(&self) -> Option<f64> {
        self.window
            .is_full()
            .then(|| self.sum / self.window.capacity() as f64)
    }

    pub fn period(&self) -> usize {
        self.window.capacity()
    }
}

/// Exponential moving average with `alpha = 2 / (period + 1)`.
///
/// Seeded with the simple mean of the first `period` values, which is also its first
/// value; each later value is `alpha * x + (1 - alpha) * previous`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ema {
    period: usize,
    alpha: f64,
    seen: usize,
    seed_sum: f64,
    value: Option<f64>,
}

impl Ema {
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Self {
            period,
            alpha: 2.0 / (period as f64 + 1.0),
            seen: 0,
            seed_sum: 0.0,
            value: None,
        }
    }

    /// Adds `x`; the average from the `period`-th value on.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.value = match self.value {
            Some(prev) => Some(self.alpha * x + (1.0 - self.alpha) * prev),
            None => {
                self.seen += 1;
                self.seed_sum += x;
                (self.seen == self.period).then(|| self.seed_sum / self.period as f64)
            }
        };
        self.value
    }

    pub fn value(&self) -> Option<f64> {
        self.value
    }

    pub fn alpha(&self) -> f64 {
        self.alpha
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRICES: [f64; 12] = [
        22.27, 22.19, 22.08, 22.17, 22.18, 22.13, 22.23, 22.43, 22.24, 22.29, 22.15, 22.39,
    ];

    #[test]
    fn sma_matches_a_direct_mean() {
        let mut sma = Sma::new(4);
        for (i, &x) in PRICES.iter().enumerate() {
            let got = sma.update(x);
            if i < 3 {
                assert_eq!(got, None);
            } else {
                let want = PRICES[i - 3..=i].iter().sum::<f64>() / 4.0;
                assert!(
                    (got.unwrap() - want).abs() < 1e-12,
                    "{i}: {got:?} vs {want}"
                );
            }
        }
    }

    #[test]
    fn ema_small_exact_case() {
        // alpha = 2/(3+1) = 0.5; seed = mean(1, 2, 3) = 2; then 3, 4, 5.
        let mut ema = Ema::new(3);
        let got: Vec<_> = (1..=6).map(|x| ema.update(f64::from(x))).collect();
        assert_eq!(
            got,
            vec![None, None, Some(2.0), Some(3.0), Some(4.0), Some(5.0)]
        );
    }

    #[test]
    fn ema_matches_a_reference_loop() {
        let n = 5;
        let alpha = 2.0 / (n as f64 + 1.0);
        let mut reference = PRICES[..n].iter().sum::<f64>() / n as f64;
        let mut ema = Ema::new(n);
        for (i, &x) in PRICES.iter().enumerate() {
            let got = ema.update(x);
            if i + 1 < n {
                assert_eq!(got, None);
                continue;
            }
            if i + 1 > n {
                reference = alpha * x + (1.0 - alpha) * reference;
            }
            assert!((got.unwrap() - reference).abs() < 1e-12);
        }
    }
}
