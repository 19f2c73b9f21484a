//! `Decimal`: the exact prices a tick carries (`mantissa / 10^scale`). The wire's
//! decimal ([`alpha_panda_abi::Decimal`]) does the parsing, printing and arithmetic;
//! this one adds serde, so a strategy can keep prices in its state.

use std::fmt;
use std::str::FromStr;

use alpha_panda_abi::decimal as wire;
use serde::{Deserialize, Serialize};

pub use wire::ParseDecimalError;

/// An exact decimal number: `value = mantissa / 10^scale`. `"2501.55"` is `{250155, 2}`.
///
/// Equality and hashing are by representation: `2.5` (`{25, 1}`) and `2.50` (`{250, 2}`)
/// are different values that print differently. Compare numerically with [`Decimal::to_f64`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Decimal {
    mantissa: i64,
    scale: u8,
}

impl Decimal {
    /// Zero with scale 0.
    pub const ZERO: Decimal = Decimal::new(0, 0);

    /// `mantissa / 10^scale`.
    #[inline]
    pub const fn new(mantissa: i64, scale: u8) -> Self {
        Self { mantissa, scale }
    }

    /// The integer the value is a multiple of `10^-scale` of.
    #[inline]
    pub const fn mantissa(self) -> i64 {
        self.mantissa
    }

    /// How many digits follow the decimal point.
    #[inline]
    pub const fn scale(self) -> u8 {
        self.scale
    }

    /// True when the value is strictly greater than zero.
    #[inline]
    pub const fn is_positive(self) -> bool {
        self.mantissa > 0
    }

    /// The nearest `f64` (exact rounding while `|mantissa| <= 2^53` and `scale <= 22`):
    /// `"2501.55".parse::<Decimal>()?.to_f64() == 2501.55`.
    #[inline]
    pub fn to_f64(self) -> f64 {
        wire::Decimal::from(self).to_f64()
    }
}

impl From<wire::Decimal> for Decimal {
    #[inline]
    fn from(d: wire::Decimal) -> Self {
        Self::new(d.mantissa(), d.scale())
    }
}

impl From<Decimal> for wire::Decimal {
    #[inline]
    fn from(d: Decimal) -> Self {
        wire::Decimal::new(d.mantissa, d.scale)
    }
}

impl FromStr for Decimal {
    type Err = ParseDecimalError;

    /// Plain decimal notation: an optional sign, digits, optionally `.` and more digits
    /// (`"2501.55"`, `"-0.5"`, `"100"`). The scale is the number of fraction digits as
    /// written, so `"2501.50"` keeps its trailing zero. No exponents, no separators.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<wire::Decimal>().map(Self::from)
    }
}

impl fmt::Display for Decimal {
    /// Prints every digit of the scale: `{250150, 2}` is `2501.50`, `{5, 3}` is `0.005`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&wire::Decimal::from(*self), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_value_are_the_wires() {
        let d: Decimal = "2501.50".parse().unwrap();
        assert_eq!((d.mantissa(), d.scale()), (250150, 2));
        assert_eq!(d.to_string(), "2501.50");
        assert_eq!(d.to_f64(), 2501.5);
        assert_eq!(Decimal::from(wire::Decimal::from(d)), d);
        assert!("1e5".parse::<Decimal>().is_err());
    }

    #[test]
    fn serializes_as_mantissa_then_scale() {
        // Snapshots of strategies that keep a Decimal depend on this encoding.
        let d = Decimal::new(-250155, 2);
        let bytes = postcard::to_allocvec(&d).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&(-250155i64, 2u8)).unwrap());
        assert_eq!(postcard::from_bytes::<Decimal>(&bytes).unwrap(), d);
    }
}
