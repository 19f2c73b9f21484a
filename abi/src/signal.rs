//! The signal buffer of `batch-output`: written by the plugin (the SDK's adapter),
//! read by the host. Each signal is a [`SIGNAL_SIZE`]-byte record ([`sig_off`])
//! followed by its metadata pairs, each a u32 byte length and the UTF-8 key, then a
//! u32 byte length and the UTF-8 value. [`write_signal`] appends one signal;
//! [`read_signals`] reads a whole buffer or says why it cannot
//! ([`SignalBufferError`]).

use std::fmt;

use crate::layout::{price_kind, sig_off, SIGNAL_SIZE};
use crate::le::{len_u32, put, u32_at, u64_at, u8_at};
use crate::{Decimal, Side};

/// The price a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Price {
    /// An exact price (keeps its text, "2501.50").
    Exact(Decimal),
    /// A computed price, as the f64 the strategy gave (the host rejects NaN,
    /// infinities and values <= 0).
    Approx(f64),
}

/// One signal as it crosses the boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Index into the batch of the tick the signal answers.
    pub tick_index: u32,
    pub instrument_token: u32,
    pub side: Side,
    pub quantity: u64,
    pub price: Option<Price>,
    pub confidence: Option<f64>,
    /// Key/value pairs, in order.
    pub metadata: Vec<(String, String)>,
}

/// Appends `s` to `out`. A key or value longer than 4 GiB cannot be written and
/// would make a buffer the reader refuses.
pub fn write_signal(out: &mut Vec<u8>, s: &Signal) {
    let mut rec = [0u8; SIGNAL_SIZE];
    put(&mut rec, sig_off::TICK_INDEX, s.tick_index.to_le_bytes());
    put(
        &mut rec,
        sig_off::INSTRUMENT_TOKEN,
        s.instrument_token.to_le_bytes(),
    );
    put(&mut rec, sig_off::QUANTITY, s.quantity.to_le_bytes());
    let (kind, price, scale) = match s.price {
        None => (price_kind::NONE, [0; 8], 0u8),
        Some(Price::Exact(d)) => (price_kind::EXACT, d.mantissa().to_le_bytes(), d.scale()),
        Some(Price::Approx(f)) => (price_kind::APPROX, f.to_bits().to_le_bytes(), 0),
    };
    put(&mut rec, sig_off::PRICE, price);
    put(&mut rec, sig_off::PRICE_KIND, [kind]);
    put(&mut rec, sig_off::PRICE_SCALE, [scale]);
    if let Some(c) = s.confidence {
        put(&mut rec, sig_off::CONFIDENCE, c.to_bits().to_le_bytes());
        put(&mut rec, sig_off::HAS_CONFIDENCE, [1]);
    }
    put(&mut rec, sig_off::SIDE, [s.side.byte()]);
    let meta_bytes: usize = s.metadata.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    put(
        &mut rec,
        sig_off::META_PAIRS,
        len_u32(s.metadata.len()).to_le_bytes(),
    );
    put(
        &mut rec,
        sig_off::META_BYTES,
        len_u32(meta_bytes).to_le_bytes(),
    );
    out.reserve(SIGNAL_SIZE + meta_bytes);
    out.extend_from_slice(&rec);
    for (k, v) in &s.metadata {
        out.extend_from_slice(&len_u32(k.len()).to_le_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&len_u32(v.len()).to_le_bytes());
        out.extend_from_slice(v.as_bytes());
    }
}

/// Why a signal buffer cannot be read. Only a plugin that does not use the SDK's
/// adapter (or a broken one) can write such a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalBufferError {
    /// The buffer ends inside signal `index`.
    Truncated { index: u32, at: usize },
    /// A byte of signal `index` holds a value this version does not define.
    BadField {
        index: u32,
        field: &'static str,
        value: u8,
    },
    /// A metadata key or value of signal `index` is not UTF-8.
    NotUtf8 { index: u32 },
    /// The metadata lengths of signal `index` do not add up to its byte count.
    MetadataLength { index: u32 },
    /// Bytes are left after the announced number of signals.
    Trailing { count: u32, left: usize },
}

impl SignalBufferError {
    /// A stable name for the error (the golden vectors' `error`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::BadField { field: "side", .. } => "bad_side",
            Self::BadField {
                field: "price kind",
                ..
            } => "bad_price_kind",
            Self::BadField { .. } => "bad_has_confidence",
            Self::NotUtf8 { .. } => "metadata_not_utf8",
            Self::MetadataLength { .. } => "metadata_length",
            Self::Trailing { .. } => "trailing_bytes",
        }
    }
}

impl fmt::Display for SignalBufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { index, at } => {
                write!(f, "signal buffer ends inside signal {index} (byte {at})")
            }
            Self::BadField {
                index,
                field,
                value,
            } => write!(f, "signal {index}: `{field}` byte {value} is not defined"),
            Self::NotUtf8 { index } => write!(f, "signal {index}: metadata is not UTF-8"),
            Self::MetadataLength { index } => {
                write!(
                    f,
                    "signal {index}: metadata lengths do not match its byte count"
                )
            }
            Self::Trailing { count, left } => {
                write!(f, "{left} bytes left after the {count} announced signals")
            }
        }
    }
}

impl std::error::Error for SignalBufferError {}

/// Reads `count` signals from `data`, in order; every byte must belong to them.
pub fn read_signals(count: u32, data: &[u8]) -> Result<Vec<Signal>, SignalBufferError> {
    // A garbage count must not make the reader allocate without bound.
    let mut out = Vec::with_capacity((count as usize).min(data.len() / SIGNAL_SIZE));
    let mut at = 0usize;
    for index in 0..count {
        let truncated = SignalBufferError::Truncated { index, at };
        let rec = data
            .get(at..at.saturating_add(SIGNAL_SIZE))
            .ok_or_else(|| truncated.clone())?;
        let bad = |field: &'static str, value: u8| SignalBufferError::BadField {
            index,
            field,
            value,
        };
        let side = u8_at(rec, sig_off::SIDE);
        let side = Side::from_byte(side).ok_or_else(|| bad("side", side))?;
        let price = match u8_at(rec, sig_off::PRICE_KIND) {
            price_kind::NONE => None,
            price_kind::EXACT => Some(Price::Exact(Decimal::new(
                u64_at(rec, sig_off::PRICE) as i64,
                u8_at(rec, sig_off::PRICE_SCALE),
            ))),
            price_kind::APPROX => Some(Price::Approx(f64::from_bits(u64_at(rec, sig_off::PRICE)))),
            v => return Err(bad("price kind", v)),
        };
        let confidence = match u8_at(rec, sig_off::HAS_CONFIDENCE) {
            0 => None,
            1 => Some(f64::from_bits(u64_at(rec, sig_off::CONFIDENCE))),
            v => return Err(bad("has confidence", v)),
        };
        let pairs = u32_at(rec, sig_off::META_PAIRS);
        let meta_len = u32_at(rec, sig_off::META_BYTES) as usize;
        let meta_start = at + SIGNAL_SIZE;
        let meta = meta_start
            .checked_add(meta_len)
            .and_then(|end| data.get(meta_start..end))
            .ok_or(truncated)?;
        let metadata = read_metadata(meta, pairs, index)?;
        out.push(Signal {
            tick_index: u32_at(rec, sig_off::TICK_INDEX),
            instrument_token: u32_at(rec, sig_off::INSTRUMENT_TOKEN),
            side,
            quantity: u64_at(rec, sig_off::QUANTITY),
            price,
            confidence,
            metadata,
        });
        at = meta_start + meta_len;
    }
    if at != data.len() {
        return Err(SignalBufferError::Trailing {
            count,
            left: data.len().saturating_sub(at),
        });
    }
    Ok(out)
}

/// `pairs` key/value pairs filling exactly `meta`.
fn read_metadata(
    meta: &[u8],
    pairs: u32,
    index: u32,
) -> Result<Vec<(String, String)>, SignalBufferError> {
    let wrong = SignalBufferError::MetadataLength { index };
    let mut rest = meta;
    let mut text = || -> Result<String, SignalBufferError> {
        let len = rest
            .get(..4)
            .map(|b| u32_at(b, 0) as usize)
            .ok_or(wrong.clone())?;
        let bytes = rest
            .get(4..4usize.saturating_add(len))
            .ok_or(wrong.clone())?;
        rest = rest.get(4 + len..).unwrap_or_default();
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| SignalBufferError::NotUtf8 { index })
    };
    let mut out = Vec::with_capacity((pairs as usize).min(meta.len() / 8));
    for _ in 0..pairs {
        let k = text()?;
        let v = text()?;
        out.push((k, v));
    }
    if !rest.is_empty() {
        return Err(wrong);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(tick_index: u32, side: Side, quantity: u64) -> Signal {
        Signal {
            tick_index,
            instrument_token: 1,
            side,
            quantity,
            price: None,
            confidence: None,
            metadata: Vec::new(),
        }
    }

    fn signals() -> Vec<Signal> {
        vec![
            Signal {
                instrument_token: 256265,
                price: Some(Price::Exact(Decimal::new(250150, 2))),
                confidence: Some(0.25),
                metadata: vec![
                    ("momentum".into(), "0.012345".into()),
                    ("é".into(), String::new()),
                ],
                ..signal(0, Side::Buy, 100)
            },
            Signal {
                price: Some(Price::Approx(-1.5e300)),
                ..signal(7, Side::Sell, u64::MAX)
            },
            signal(7, Side::Buy, 1),
        ]
    }

    fn encode(s: &[Signal]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in s {
            write_signal(&mut out, e);
        }
        out
    }

    #[test]
    fn every_field_round_trips() {
        let sent = signals();
        let data = encode(&sent);
        assert_eq!(data.len(), 3 * SIGNAL_SIZE + (8 + 8 + 8) + (8 + 2));
        assert_eq!(read_signals(3, &data).unwrap(), sent);
        assert_eq!(read_signals(0, &[]).unwrap(), vec![]);
        assert_eq!(&data[44..48], &[0; 4], "reserved bytes are zero");
    }

    #[test]
    fn bad_buffers_are_errors_not_panics() {
        let data = encode(&signals());
        let err = |count: u32, data: &[u8]| read_signals(count, data).unwrap_err();
        assert!(matches!(
            err(4, &data),
            SignalBufferError::Truncated { index: 3, .. }
        ));
        assert_eq!(err(2, &data).kind(), "trailing_bytes");
        assert_eq!(
            err(u32::MAX, &data[..10]),
            SignalBufferError::Truncated { index: 0, at: 0 }
        );
        let mut side = data.clone();
        side[sig_off::SIDE] = 2;
        assert_eq!(
            err(3, &side).to_string(),
            "signal 0: `side` byte 2 is not defined"
        );
        assert_eq!(err(3, &side).kind(), "bad_side");
        let mut kind = data.clone();
        kind[sig_off::PRICE_KIND] = 9;
        assert_eq!(err(3, &kind).kind(), "bad_price_kind");
        let mut conf = data.clone();
        conf[sig_off::HAS_CONFIDENCE] = 2;
        assert_eq!(err(3, &conf).kind(), "bad_has_confidence");
        // The first pair's key bytes ("momentum") made invalid UTF-8.
        let mut utf8 = data.clone();
        utf8[SIGNAL_SIZE + 4] = 0xff;
        assert_eq!(err(3, &utf8), SignalBufferError::NotUtf8 { index: 0 });
        // A key length pointing past the signal's metadata.
        let mut len = data.clone();
        len[SIGNAL_SIZE..SIGNAL_SIZE + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(err(3, &len), SignalBufferError::MetadataLength { index: 0 });
        // One pair fewer than the bytes hold.
        let mut pairs = data.clone();
        pairs[sig_off::META_PAIRS] = 1;
        assert_eq!(err(3, &pairs).kind(), "metadata_length");
        for cut in 0..data.len() {
            assert!(read_signals(3, &data[..cut]).is_err());
        }
    }
}
