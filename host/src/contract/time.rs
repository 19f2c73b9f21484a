//! `Timestamp`: an RFC 3339 UTC instant that insists on an offset when read.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// At most this much of a bad input is quoted back in an error.
const QUOTE_MAX: usize = 64;

/// An instant in UTC. Reads RFC 3339 with an offset (`Z` or `±hh:mm`, converted to
/// UTC); writes `Z` with 0, 3, 6 or 9 fractional digits as needed, so UTC text
/// with second, milli, micro or nano precision round-trips unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

/// Text that is not an RFC 3339 time with an offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("time has no UTC offset: \"{0}\"")]
    NoOffset(String),
    #[error("not an RFC 3339 time: \"{text}\" ({reason})")]
    Invalid { text: String, reason: String },
}

impl Timestamp {
    /// The current time, truncated to whole microseconds (the envelope `ts` precision).
    pub fn now() -> Timestamp {
        let now = Utc::now();
        Timestamp::from_unix_micros(now.timestamp_micros()).unwrap_or(Timestamp(now))
    }

    /// Parses RFC 3339; a time without an offset is [`TimeError::NoOffset`].
    pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
        if let Some(t) = parse_utc(text) {
            return Ok(t);
        }
        match DateTime::parse_from_rfc3339(text) {
            Ok(dt) => Ok(Timestamp(dt.with_timezone(&Utc))),
            Err(e) => {
                let shown = quote(text).to_owned();
                let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"));
                if naive.is_ok() {
                    Err(TimeError::NoOffset(shown))
                } else {
                    Err(TimeError::Invalid {
                        text: shown,
                        reason: e.to_string(),
                    })
                }
            }
        }
    }

    /// Microseconds since the Unix epoch.
    pub fn to_unix_micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    /// The instant `micros` microseconds after the Unix epoch, if representable.
    pub fn from_unix_micros(micros: i64) -> Option<Timestamp> {
        DateTime::from_timestamp_micros(micros).map(Timestamp)
    }

    /// This time plus `d`, in whole microseconds (unchanged if not representable).
    pub fn plus(&self, d: std::time::Duration) -> Timestamp {
        let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        Timestamp::from_unix_micros(self.to_unix_micros().saturating_add(micros)).unwrap_or(*self)
    }

    /// Milliseconds since the Unix epoch.
    pub fn to_unix_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Writes with [`SecondsFormat::AutoSi`](chrono::SecondsFormat::AutoSi)-style
    /// precision and `Z`: `2025-08-29T04:45:04Z`, `2025-08-29T04:45:04.512345Z`.
    pub fn auto(&self) -> impl fmt::Display + '_ {
        Rfc3339 {
            dt: &self.0,
            digits: Digits::Auto,
        }
    }

    /// Writes with exactly six fractional digits and `Z`, as envelope `ts` is:
    /// `2025-08-29T04:45:04.838356Z`. Sub-microsecond digits are dropped.
    pub fn micros(&self) -> impl fmt::Display + '_ {
        Rfc3339 {
            dt: &self.0,
            digits: Digits::Micros,
        }
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(dt: DateTime<Utc>) -> Self {
        Timestamp(dt)
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.auto().fmt(f)
    }
}

/// The shape feeds send, `YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z`, read without
/// chrono's general RFC 3339 parser (four of these a tick). `None` sends anything
/// else (offsets, `t` or `z`, a leap second, more digits) through that parser,
/// which reads what this reads the same way.
fn parse_utc(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shaped = at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':');
    if !shaped || b.last() != Some(&b'Z') {
        return None;
    }
    let nano = match b.get(19..b.len() - 1)? {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20, 20 + digits.len())?;
            n * 10u32.pow(9 - u32::try_from(digits.len()).ok()?)
        }
        _ => return None,
    };
    let second = num(17, 19)?;
    if second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    let time = NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, second, nano)?;
    Some(Timestamp(date.and_time(time).and_utc()))
}

fn quote(text: &str) -> &str {
    match text.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

#[derive(Clone, Copy)]
enum Digits {
    Auto,
    Micros,
}

/// Formats without allocating (chrono's own formatter builds a `String`).
struct Rfc3339<'a> {
    dt: &'a DateTime<Utc>,
    digits: Digits,
}

impl fmt::Display for Rfc3339<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.dt.naive_utc();
        let (mut sec, mut nano) = (t.second(), t.nanosecond());
        if nano >= 1_000_000_000 {
            // chrono's leap-second representation
            sec += 1;
            nano -= 1_000_000_000;
        }
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            sec
        )?;
        match self.digits {
            Digits::Micros => write!(f, ".{:06}", nano / 1_000)?,
            Digits::Auto if nano == 0 => {}
            Digits::Auto if nano % 1_000_000 == 0 => write!(f, ".{:03}", nano / 1_000_000)?,
            Digits::Auto if nano % 1_000 == 0 => write!(f, ".{:06}", nano / 1_000)?,
            Digits::Auto => write!(f, ".{nano:09}")?,
        }
        f.write_str("Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.auto())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time with an offset")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// `#[serde(with = "time::micros")]`: a [`Timestamp`] written with exactly six
/// fractional digits (the envelope `ts`), read like any other time.
pub mod micros {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&value.micros())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        Timestamp::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        Timestamp::parse(text).unwrap().to_string()
    }

    #[test]
    fn utc_text_round_trips() {
        for text in [
            "2025-08-29T04:45:04Z",
            "2025-08-29T04:45:04.512345Z",
            "2025-08-29T04:45:04.512Z",
            "2025-08-29T04:45:04.512345678Z",
        ] {
            assert_eq!(round_trip(text), text);
        }
        assert_eq!(
            round_trip("2025-08-29T04:45:04.700000Z"),
            "2025-08-29T04:45:04.700Z"
        );
    }

    #[test]
    fn offsets_convert_to_utc() {
        assert_eq!(
            round_trip("2025-08-29T10:15:04+05:30"),
            "2025-08-29T04:45:04Z"
        );
        assert_eq!(
            round_trip("2025-08-29T04:45:04.5-01:00"),
            "2025-08-29T05:45:04.500Z"
        );
    }

    #[test]
    fn naive_time_is_an_error_naming_it() {
        let err = Timestamp::parse("2025-08-29T04:45:04").unwrap_err();
        assert_eq!(err, TimeError::NoOffset("2025-08-29T04:45:04".to_owned()));
        assert!(err.to_string().contains("time has no UTC offset"));
        assert!(matches!(
            Timestamp::parse("2025-08-29 04:45:04.1"),
            Err(TimeError::NoOffset(_))
        ));
        assert!(matches!(
            Timestamp::parse("yesterday"),
            Err(TimeError::Invalid { .. })
        ));
        assert!(Timestamp::parse("").is_err());
    }

    /// The fast path reads what chrono's RFC 3339 parser reads, the same way, and
    /// declines only what it is not made for.
    #[test]
    fn the_feed_shape_reads_as_chrono_reads_it() {
        let mut texts: Vec<String> = [
            "2025-08-29T04:45:04Z",
            "2025-08-29T04:45:04.838356Z",
            "2025-08-29T04:45:04.8Z",
            "2025-08-29T04:45:04.123456789Z",
            "2025-08-29T04:45:04.1234567891Z",
            "2024-02-29T23:59:59Z",
            "2025-02-29T00:00:00Z",
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2025-08-29t04:45:04z",
            "2025-08-29T04:45:04+05:30",
            "2025-08-29T04:45:04.Z",
            "2025-08-29T24:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-08-29 04:45:04Z",
            "2025-8-29T04:45:04Z",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every one-byte change of two seeds, from the bytes that matter.
        for seed in ["2025-08-29T04:45:04Z", "2025-12-31T23:59:59.838356Z"] {
            for i in 0..seed.len() {
                for c in [
                    '0', '1', '2', '3', '5', '6', '9', '-', ':', '.', 'T', 'Z', '+', 'x',
                ] {
                    let mut t = seed.to_owned();
                    t.replace_range(i..i + 1, &c.to_string());
                    texts.push(t);
                }
            }
        }
        let mut fast = 0;
        for text in &texts {
            let chrono = DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|d| d.with_timezone(&Utc));
            match parse_utc(text) {
                Some(t) => {
                    fast += 1;
                    assert_eq!(Some(t.0), chrono, "{text:?}");
                }
                None => {
                    let feed_shape = text.len() >= 20
                        && text.ends_with('Z')
                        && text.as_bytes().get(10) == Some(&b'T')
                        && !text.contains(":60")
                        && text.get(19..text.len() - 1).is_some_and(|f| f.len() <= 10);
                    assert!(chrono.is_none() || !feed_shape, "{text:?}: declined");
                }
            }
            assert_eq!(Timestamp::parse(text).ok().map(|t| t.0), chrono, "{text:?}");
        }
        assert!(fast > 100, "the fast path took only {fast} texts");
    }

    #[test]
    fn micros_format_has_six_digits() {
        let t = Timestamp::parse("2025-08-29T04:45:04.838356Z").unwrap();
        assert_eq!(t.micros().to_string(), "2025-08-29T04:45:04.838356Z");
        let t = Timestamp::parse("2025-08-29T04:45:06Z").unwrap();
        assert_eq!(t.micros().to_string(), "2025-08-29T04:45:06.000000Z");
        let t = Timestamp::parse("2025-08-29T04:45:06.123456789Z").unwrap();
        assert_eq!(t.micros().to_string(), "2025-08-29T04:45:06.123456Z");
        assert_eq!(Timestamp::now().0.timestamp_subsec_nanos() % 1_000, 0);
    }

    #[test]
    fn unix_micros_round_trip() {
        let t = Timestamp::parse("2025-08-29T04:45:04.838356Z").unwrap();
        let us = t.to_unix_micros();
        assert_eq!(us, 1_756_442_704_838_356);
        assert_eq!(Timestamp::from_unix_micros(us), Some(t));
        assert_eq!(t.to_unix_millis(), 1_756_442_704_838);
    }

    #[test]
    fn serde_uses_auto_precision() {
        let t: Timestamp = serde_json::from_str("\"2025-08-29T04:45:04Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2025-08-29T04:45:04Z\""
        );
        assert!(serde_json::from_str::<Timestamp>("\"2025-08-29T04:45:04\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }
}
