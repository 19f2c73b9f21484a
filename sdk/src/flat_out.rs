//! The flat signal buffer of `batch-output` in `wit/strategy.wit` (0.3.0): written by
//! the plugin adapter, read by the host. Like the tick records going in, the signals
//! coming out cross the boundary as one `list<u8>` (one copy) instead of a list of
//! records lifted field by field. Plain Rust (no bindings), so both sides share it.
//!
//! Each signal is a 48-byte record followed by its metadata pairs, each a u32 byte
//! length and the UTF-8 key, then a u32 byte length and the UTF-8 value. Integers
//! are little-endian. Offsets are in [`sig_off`].

use std::fmt;

use crate::__flat::bytes as field;
use crate::{Decimal, Emitted, Price, Side, Signal};

/// Bytes of the fixed part of one signal record.
pub const SIGNAL_SIZE: usize = 48;

/// Byte offsets of the fields of a signal record.
pub mod sig_off {
    /// u32: index into the batch of the tick the signal answers.
    pub const TICK_INDEX: usize = 0;
    /// u32.
    pub const INSTRUMENT_TOKEN: usize = 4;
    /// u64.
    pub const QUANTITY: usize = 8;
    /// s64 mantissa (exact price) or f64 bits (approximate price); 0 without a price.
    pub const PRICE: usize = 16;
    /// f64; 0 without a confidence.
    pub const CONFIDENCE: usize = 24;
    /// u32: number of metadata pairs after the record.
    pub const META_PAIRS: usize = 32;
    /// u32: bytes of metadata after the record (lengths included).
    pub const META_BYTES: usize = 36;
    /// u8: 0 buy, 1 sell.
    pub const SIDE: usize = 40;
    /// u8: 0 no price, 1 exact, 2 approximate.
    pub const PRICE_KIND: usize = 41;
    /// u8: the exact price's scale.
    pub const PRICE_SCALE: usize = 42;
    /// u8: 1 if a confidence is given, else 0.
    pub const HAS_CONFIDENCE: usize = 43;
    // 44..48: reserved, zero.
}

/// Appends `signal`, answering tick `tick_index`, to `out`. The signal's instrument
/// must be set (the runner sets it; an unset one is written as 0).
pub fn put_signal(out: &mut Vec<u8>, tick_index: u32, signal: &Signal) {
    let mut rec = [0u8; SIGNAL_SIZE];
    let mut put = |at: usize, bytes: &[u8]| {
        if let Some(dst) = rec.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    };
    put(sig_off::TICK_INDEX, &tick_index.to_le_bytes());
    put(
        sig_off::INSTRUMENT_TOKEN,
        &signal.instrument_token.unwrap_or(0).to_le_bytes(),
    );
    put(sig_off::QUANTITY, &signal.quantity.to_le_bytes());
    let (kind, price, scale) = match signal.price {
        None => (0u8, [0; 8], 0u8),
        Some(Price::Exact(d)) => (1, d.mantissa().to_le_bytes(), d.scale()),
        Some(Price::Approx(f)) => (2, f.to_bits().to_le_bytes(), 0),
    };
    put(sig_off::PRICE, &price);
    put(sig_off::PRICE_KIND, &[kind]);
    put(sig_off::PRICE_SCALE, &[scale]);
    if let Some(c) = signal.confidence {
        put(sig_off::CONFIDENCE, &c.to_bits().to_le_bytes());
        put(sig_off::HAS_CONFIDENCE, &[1]);
    }
    put(
        sig_off::SIDE,
        &[match signal.side {
            Side::Buy => 0,
            Side::Sell => 1,
        }],
    );
    let meta_bytes: usize = signal
        .metadata
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum();
    put(
        sig_off::META_PAIRS,
        &len_u32(signal.metadata.len()).to_le_bytes(),
    );
    put(sig_off::META_BYTES, &len_u32(meta_bytes).to_le_bytes());
    out.reserve(SIGNAL_SIZE + meta_bytes);
    out.extend_from_slice(&rec);
    for (k, v) in &signal.metadata {
        out.extend_from_slice(&len_u32(k.len()).to_le_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&len_u32(v.len()).to_le_bytes());
        out.extend_from_slice(v.as_bytes());
    }
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Why a signal buffer cannot be read. Only a plugin that does not use this SDK's
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
pub fn read_signals(count: u32, data: &[u8]) -> Result<Vec<Emitted>, SignalBufferError> {
    // A garbage count must not make the reader allocate without bound.
    let mut out = Vec::with_capacity((count as usize).min(data.len() / SIGNAL_SIZE));
    let mut at = 0usize;
    for index in 0..count {
        let truncated = SignalBufferError::Truncated { index, at };
        let rec = data
            .get(at..at + SIGNAL_SIZE)
            .ok_or_else(|| truncated.clone())?;
        let u32_at = |o: usize| u32::from_le_bytes(field(rec, o));
        let u64_at = |o: usize| u64::from_le_bytes(field(rec, o));
        let byte = |o: usize| rec.get(o).copied().unwrap_or(0);
        let bad = |field: &'static str, value: u8| SignalBufferError::BadField {
            index,
            field,
            value,
        };
        let side = match byte(sig_off::SIDE) {
            0 => Side::Buy,
            1 => Side::Sell,
            v => return Err(bad("side", v)),
        };
        let price = match byte(sig_off::PRICE_KIND) {
            0 => None,
            1 => Some(Price::Exact(Decimal::new(
                u64_at(sig_off::PRICE) as i64,
                byte(sig_off::PRICE_SCALE),
            ))),
            2 => Some(Price::Approx(f64::from_bits(u64_at(sig_off::PRICE)))),
            v => return Err(bad("price kind", v)),
        };
        let confidence = match byte(sig_off::HAS_CONFIDENCE) {
            0 => None,
            1 => Some(f64::from_bits(u64_at(sig_off::CONFIDENCE))),
            v => return Err(bad("has confidence", v)),
        };
        let pairs = u32_at(sig_off::META_PAIRS);
        let meta_len = u32_at(sig_off::META_BYTES) as usize;
        let meta_start = at + SIGNAL_SIZE;
        let meta = meta_start
            .checked_add(meta_len)
            .and_then(|end| data.get(meta_start..end))
            .ok_or(truncated)?;
        let metadata = read_metadata(meta, pairs, index)?;
        out.push(Emitted {
            tick_index: u32_at(sig_off::TICK_INDEX),
            signal: Signal {
                instrument_token: Some(u32_at(sig_off::INSTRUMENT_TOKEN)),
                side,
                quantity: u64_at(sig_off::QUANTITY),
                price,
                confidence,
                metadata,
            },
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
            .map(|b| u32::from_le_bytes(field(b, 0)) as usize)
            .ok_or(wrong.clone())?;
        let bytes = rest.get(4..4 + len).ok_or(wrong.clone())?;
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

    fn signals() -> Vec<Emitted> {
        vec![
            Emitted {
                tick_index: 0,
                signal: Signal::buy(100)
                    .instrument(256265)
                    .price_exact("2501.50".parse().unwrap())
                    .confidence(0.25)
                    .meta("momentum", "0.012345")
                    .meta("é", ""),
            },
            Emitted {
                tick_index: 7,
                signal: Signal::sell(u64::MAX).instrument(1).price(-1.5e300),
            },
            Emitted {
                tick_index: 7,
                signal: Signal::buy(1).instrument(2),
            },
        ]
    }

    fn encode(s: &[Emitted]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in s {
            put_signal(&mut out, e.tick_index, &e.signal);
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
    }

    #[test]
    fn bad_buffers_are_errors_not_panics() {
        let data = encode(&signals());
        assert!(matches!(
            read_signals(4, &data),
            Err(SignalBufferError::Truncated { index: 3, .. })
        ));
        assert!(matches!(
            read_signals(2, &data),
            Err(SignalBufferError::Trailing { count: 2, .. })
        ));
        assert!(matches!(
            read_signals(u32::MAX, &data[..10]),
            Err(SignalBufferError::Truncated { index: 0, at: 0 })
        ));
        let mut side = data.clone();
        side[sig_off::SIDE] = 2;
        assert_eq!(
            read_signals(3, &side).unwrap_err().to_string(),
            "signal 0: `side` byte 2 is not defined"
        );
        let mut kind = data.clone();
        kind[sig_off::PRICE_KIND] = 9;
        assert!(read_signals(3, &kind).is_err());
        // The first pair's key bytes ("momentum") made invalid UTF-8.
        let mut utf8 = data.clone();
        utf8[SIGNAL_SIZE + 4] = 0xff;
        assert_eq!(
            read_signals(3, &utf8),
            Err(SignalBufferError::NotUtf8 { index: 0 })
        );
        // A key length pointing past the signal's metadata.
        let mut len = data.clone();
        len[SIGNAL_SIZE..SIGNAL_SIZE + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(
            read_signals(3, &len),
            Err(SignalBufferError::MetadataLength { index: 0 })
        );
        // One pair fewer than the bytes hold.
        let mut pairs = data;
        pairs[sig_off::META_PAIRS] = 1;
        assert_eq!(
            read_signals(3, &pairs),
            Err(SignalBufferError::MetadataLength { index: 0 })
        );
        for cut in 0..encode(&signals()).len() {
            let data = encode(&signals());
            assert!(read_signals(3, &data[..cut]).is_err());
        }
    }
}
