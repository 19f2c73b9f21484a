//! Exact decimals on the wire: written as JSON strings keeping their scale,
//! read from a string or a JSON number.
//!
//! Use with `#[serde(with = "decimal::exact")]` on a `Decimal` field and
//! `#[serde(default, with = "decimal::exact_option")]` on an `Option<Decimal>`.

use std::fmt::{self, Write as _};

use rust_decimal::Decimal;
use serde::{de, Deserializer, Serializer};

/// At most this much of a bad input is quoted back in an error.
const QUOTE_MAX: usize = 64;

/// Parses decimal text exactly: `"2480.0"` keeps its scale of 1. Accepts
/// scientific notation (`"1.5e3"`); rejects text that would need rounding.
pub fn parse_text(text: &str) -> Result<Decimal, String> {
    let parsed = match Decimal::from_str_exact(text) {
        Ok(d) => Ok(d),
        Err(e) if text.contains(['e', 'E']) => Decimal::from_scientific(text).map_err(|_| e),
        Err(e) => Err(e),
    };
    parsed.map_err(|e| format!("not an exact decimal: \"{}\" ({e})", quote(text)))
}

/// Converts a JSON float through its shortest round-trip text, so `3987.4`
/// becomes the decimal `3987.4`, not the binary neighbour of it.
pub fn from_f64(value: f64) -> Result<Decimal, String> {
    if !value.is_finite() {
        return Err(format!("not a finite number: {value}"));
    }
    let mut buf = StackText::default();
    if write!(buf, "{value}").is_err() {
        return Err(format!("number out of decimal range: {value:e}"));
    }
    parse_text(buf.as_str())
}

fn quote(text: &str) -> &str {
    match text.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// A fixed buffer for formatting a float without allocating. Any float whose
/// plain text exceeds it is far outside `Decimal`'s range anyway.
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

struct DecimalVisitor;

impl de::Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal as a string or a number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_text(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        from_f64(v).map_err(E::custom)
    }
}

/// `Decimal` as a JSON string with its exact scale.
pub mod exact {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_any(DecimalVisitor)
    }
}

/// `Option<Decimal>`: `null` for `None`, otherwise as [`exact`]. Pair with
/// `#[serde(default)]` so an absent field reads as `None`.
pub mod exact_option {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => serializer.collect_str(d),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        struct OptVisitor;
        impl<'de> de::Visitor<'de> for OptVisitor {
            type Value = Option<Decimal>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal as a string or a number, or null")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(DecimalVisitor).map(Some)
            }
        }
        deserializer.deserialize_option(OptVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Row {
        #[serde(with = "exact")]
        price: Decimal,
        #[serde(default, with = "exact_option")]
        fees: Option<Decimal>,
    }

    fn round_trip(price_json: &str) -> String {
        let row: Row = serde_json::from_str(&format!("{{\"price\":{price_json}}}")).unwrap();
        let out = serde_json::to_string(&row).unwrap();
        let again: Row = serde_json::from_str(&out).unwrap();
        assert_eq!(row, again);
        out
    }

    #[test]
    fn strings_keep_their_scale() {
        for text in [
            "2501.55",
            "250.280077500",
            "2502.800775",
            "-130.077500",
            "2480.0",
            "0.0",
        ] {
            let out = round_trip(&format!("\"{text}\""));
            assert_eq!(out, format!("{{\"price\":\"{text}\",\"fees\":null}}"));
        }
    }

    #[test]
    fn numbers_go_through_shortest_text() {
        assert!(round_trip("3987.4").contains("\"price\":\"3987.4\""));
        assert!(round_trip("0.1").contains("\"price\":\"0.1\""));
        assert!(round_trip("42").contains("\"price\":\"42\""));
        assert!(round_trip("-7").contains("\"price\":\"-7\""));
        assert!(round_trip("18446744073709551615").contains("\"18446744073709551615\""));
    }

    #[test]
    fn scientific_text_is_accepted() {
        assert_eq!(parse_text("1.5e3").unwrap(), Decimal::from(1500));
    }

    #[test]
    fn garbage_and_out_of_range_are_errors() {
        for bad in [
            "\"\"",
            "\"abc\"",
            "\"NaN\"",
            "true",
            "1e300",
            "\"1e300\"",
            "\"99999999999999999999999999999999\"",
        ] {
            let r: Result<Row, _> = serde_json::from_str(&format!("{{\"price\":{bad}}}"));
            assert!(r.is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn long_bad_input_is_quoted_short() {
        let long = "x".repeat(10_000);
        let err = parse_text(&long).unwrap_err();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn option_reads_null_absent_and_value() {
        let r: Row = serde_json::from_str(r#"{"price":"1","fees":null}"#).unwrap();
        assert_eq!(r.fees, None);
        let r: Row = serde_json::from_str(r#"{"price":"1"}"#).unwrap();
        assert_eq!(r.fees, None);
        let r: Row = serde_json::from_str(r#"{"price":"1","fees":"0.50"}"#).unwrap();
        assert_eq!(r.fees.map(|d| d.to_string()), Some("0.50".to_owned()));
    }
}
