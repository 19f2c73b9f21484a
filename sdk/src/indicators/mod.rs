//! Streaming indicators: feed one value at a time with `update(x)`, which returns `None`
//! until the indicator has seen enough values. All are `Serialize + Deserialize`, so a
//! strategy that keeps them in its fields gets them in its snapshot for free.
//!
//! A period of 0 is taken as 1 (validate your parameters in `init`).
//!
//! - [`RollingWindow`]: the last N values (what the others are built on).
//! - [`Sma`], [`Ema`]: simple and exponential moving averages.
//! - [`StdDev`], [`ZScore`], [`BollingerBands`]: dispersion over a window (population).
//! - [`Rsi`]: Wilder's relative strength index.

mod average;
mod dispersion;
mod rsi;
mod window;

pub use average::{Ema, Sma};
pub use dispersion::{Bands, BollingerBands, StdDev, ZScore};
pub use rsi::Rsi;
pub use window::RollingWindow;
