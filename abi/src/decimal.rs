//! `Decimal`: the exact prices the wire carries (`mantissa / 10^scale`), with text that
//! keeps the scale both ways (`"2501.50"` is mantissa 250150, scale 2, and prints back
//! as `"2501.50"`).

use std::fmt;
use std::str::FromStr;

/// An exact decimal number: `value = mantissa / 10^scale`. `"2501.55"` is `{250155, 2}`.
///
/// Equality and hashing are by representation: `2.5` (`{25, 1}`) and `2.50` (`{250, 2}`)
/// are different values that print differently. Compare numerically with [`Decimal::to_f64`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    mantissa: i64,
    scale: u8,
}

/// Why a text is not a [`Decimal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDecimalError {
    text: String,
    reason: &'static str,
}

impl fmt::Display for ParseDecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid decimal {:?}: {}", self.text, self.reason)
    }
}

impl std::error::Error for ParseDecimalError {}

/// Exact powers of ten as `f64` (every one up to 10^22 is representable).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

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
        let m = self.mantissa as f64;
        match POW10.get(usize::from(self.scale)) {
            Some(p) => m / p,
            None => {
                let mut v = m / POW10[22];
                for _ in 22..self.scale {
                    v /= 10.0;
                }
                v
            }
        }
    }
}

impl FromStr for Decimal {
    type Err = ParseDecimalError;

    /// Plain decimal notation: an optional sign, digits, optionally `.` and more digits
    /// (`"2501.55"`, `"-0.5"`, `"100"`). The scale is the number of fraction digits as
    /// written, so `"2501.50"` keeps its trailing zero. No exponents, no separators.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseDecimalError {
            text: text.to_owned(),
            reason,
        };
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int_part.is_empty() || (body.contains('.') && frac_part.is_empty()) {
            return Err(err("expected digits on both sides of '.'"));
        }
        let scale = u8::try_from(frac_part.len()).map_err(|_| err("too many fraction digits"))?;
        let mut mantissa: i64 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            if !b.is_ascii_digit() {
                return Err(err("expected only digits, a sign and one '.'"));
            }
            let digit = i64::from(b - b'0');
            let signed = if negative { -digit } else { digit };
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(signed))
                .ok_or_else(|| err("out of range for a 64-bit mantissa"))?;
        }
        Ok(Decimal { mantissa, scale })
    }
}

impl fmt::Display for Decimal {
    /// Prints every digit of the scale: `{250150, 2}` is `2501.50`, `{5, 3}` is `0.005`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        if self.mantissa < 0 {
            f.write_str("-")?;
        }
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{int}.{frac}")
        } else {
            f.write_str("0.")?;
            for _ in digits.len()..scale {
                f.write_str("0")?;
            }
            f.write_str(&digits)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_back_the_same_text() {
        for s in [
            "2501.55", "2501.50", "0.005", "-0.5", "100", "0", "-12.340", "0.0",
        ] {
            assert_eq!(d(s).to_string(), s);
        }
        assert_eq!(d("2501.55"), Decimal::new(250155, 2));
        assert_eq!(d("+7.1"), Decimal::new(71, 1));
        assert_eq!(d("-9223372036854775808").mantissa(), i64::MIN);
        assert_eq!(
            Decimal::new(i64::MIN, 0).to_string(),
            "-9223372036854775808"
        );
    }

    #[test]
    fn rejects_malformed_text() {
        for s in [
            "",
            "-",
            ".5",
            "5.",
            "1.2.3",
            "1e5",
            "12a",
            " 1",
            "9223372036854775808",
        ] {
            assert!(s.parse::<Decimal>().is_err(), "{s:?} parsed");
        }
        let e = "x1".parse::<Decimal>().unwrap_err();
        assert!(e.to_string().contains("\"x1\""), "{e}");
    }

    #[test]
    fn to_f64_is_the_nearest_double() {
        assert_eq!(d("2501.55").to_f64(), 2501.55);
        assert_eq!(d("-0.005").to_f64(), -0.005);
        assert_eq!(d("100").to_f64(), 100.0);
        assert!((Decimal::new(5, 25).to_f64() / 5e-25 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn every_scale_prints_and_parses_back() {
        for (m, s, text) in [
            (250150, 2, "2501.50"),
            (-5, 3, "-0.005"),
            (i64::MAX, 0, "9223372036854775807"),
            (i64::MIN, 19, "-0.9223372036854775808"),
            (i64::MIN, 20, "-0.09223372036854775808"),
            (0, 4, "0.0000"),
        ] {
            let dec = Decimal::new(m, s);
            assert_eq!(dec.to_string(), text);
            assert_eq!(dec, d(text));
        }
        let wide = Decimal::new(-12, 255);
        let text = wide.to_string();
        assert_eq!(text.len(), "-0.".len() + 255);
        assert!(text.ends_with("00012"), "{text}");
        assert_eq!(text.parse::<Decimal>(), Ok(wide));
        assert!(format!("0.{}", "0".repeat(256)).parse::<Decimal>().is_err());
    }
}
