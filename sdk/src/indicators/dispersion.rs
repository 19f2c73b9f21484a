//! `StdDev`, `ZScore`, `BollingerBands`: spread of the last N values (population statistics).

use serde::{Deserialize, Serialize};

use super::RollingWindow;

/// Mean and population standard deviation of a full window (two passes: exact enough
/// for prices whose spread is tiny next to their level). O(period) per call.
fn mean_sd(window: &RollingWindow<f64>) -> Option<(f64, f64)> {
    if !window.is_full() {
        return None;
    }
    let n = window.len() as f64;
    let mean = window.iter().sum::<f64>() / n;
    let var = window.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}

/// Population standard deviation (divides by N) of the last `period` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdDev {
    window: RollingWindow<f64>,
}

impl StdDev {
    pub fn new(period: usize) -> Self {
        Self {
            window: RollingWindow::new(period),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push(x);
        mean_sd(&self.window).map(|(_, sd)| sd)
    }
}

/// How many (population) standard deviations `x` is from the mean of the last `period`
/// values, `x` included; 0 when they are all equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZScore {
    window: RollingWindow<f64>,
}

impl ZScore {
    pub fn new(period: usize) -> Self {
        Self {
            window: RollingWindow::new(period),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push(x);
        let (mean, sd) = mean_sd(&self.window)?;
        Some(if sd > 0.0 { (x - mean) / sd } else { 0.0 })
    }
}

/// One reading of [`BollingerBands`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    pub lower: f64,
    pub middle: f64,
    pub upper: f64,
}

/// Bollinger bands: `middle` = SMA(period), `upper`/`lower` = middle ± k · population
/// standard deviation, over the last `period` values (the current one included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BollingerBands {
    window: RollingWindow<f64>,
    k: f64,
}

impl BollingerBands {
    pub fn new(period: usize, k: f64) -> Self {
        Self {
            window: RollingWindow::new(period),
            k,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<Bands> {
        self.window.push(x);
        let (middle, sd) = mean_sd(&self.window)?;
        Some(Bands {
            lower: middle - self.k * sd,
            middle,
            upper: middle + self.k * sd,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_std_dev_of_the_textbook_example() {
        // mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, 32/8 = 4, sd 2.
        let mut sd = StdDev::new(8);
        let mut last = None;
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            last = sd.update(x);
        }
        assert_eq!(last, Some(2.0));
        // Window slides: [4,4,4,5,5,7,9,13], mean 51/8.
        let mean = 51.0 / 8.0;
        let var = [4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, 13.0]
            .iter()
            .map(|x: &f64| (x - mean).powi(2))
            .sum::<f64>()
            / 8.0;
        assert!((sd.update(13.0).unwrap() - var.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn zscore_and_bands() {
        let mut z = ZScore::new(8);
        let mut bb = BollingerBands::new(8, 2.0);
        let (mut zs, mut bands) = (None, None);
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            zs = z.update(x);
            bands = bb.update(x);
        }
        assert_eq!(zs, Some((9.0 - 5.0) / 2.0));
        assert_eq!(
            bands,
            Some(Bands {
                lower: 1.0,
                middle: 5.0,
                upper: 9.0
            })
        );
        let mut flat = ZScore::new(3);
        for _ in 0..3 {
            flat.update(1.5);
        }
        assert_eq!(flat.update(1.5), Some(0.0));
        assert_eq!(BollingerBands::new(3, 2.0).update(1.0), None);
    }
}
