//! The byte layout of the wire, defined once: sizes, presence bits and field offsets
//! of the tick record, the depth-level record and the signal record, and the values
//! of their enum bytes. `wit/strategy.wit` documents the same layout in prose; a test
//! of this crate checks the two tables agree. Every integer is little-endian.
//!
//! A tick batch's `data` is `count` tick records ([`TICK_SIZE`] bytes each), then the
//! batch's depth levels ([`LEVEL_SIZE`] bytes each). A signal buffer is a sequence of
//! signal records ([`SIGNAL_SIZE`] bytes each), each followed by its metadata pairs.

/// Bytes of one tick record.
pub const TICK_SIZE: usize = 176;
/// Bytes of one depth-level record.
pub const LEVEL_SIZE: usize = 24;
/// Bytes of the fixed part of one signal record (its metadata follows it).
pub const SIGNAL_SIZE: usize = 48;

/// Presence bits of a tick record (the u32 at [`off::PRESENCE`]): bit set = field
/// present. `instrument_token`, `timestamp_us` and `last_price` are always present;
/// the bytes of an absent field are zero and carry no meaning.
pub mod bit {
    pub const SYMBOL: u32 = 1 << 0;
    pub const VOLUME_TRADED: u32 = 1 << 1;
    pub const LAST_TRADED_QUANTITY: u32 = 1 << 2;
    pub const AVERAGE_TRADED_PRICE: u32 = 1 << 3;
    pub const TOTAL_BUY_QUANTITY: u32 = 1 << 4;
    pub const TOTAL_SELL_QUANTITY: u32 = 1 << 5;
    pub const CHANGE: u32 = 1 << 6;
    /// All four prices of the OHLC.
    pub const OHLC: u32 = 1 << 7;
    pub const OI: u32 = 1 << 8;
    pub const OI_DAY_HIGH: u32 = 1 << 9;
    pub const OI_DAY_LOW: u32 = 1 << 10;
    pub const LAST_TRADE_TIME: u32 = 1 << 11;
    pub const EXCHANGE_TIMESTAMP: u32 = 1 << 12;
    /// The tick carried a depth object (either side may still have no levels).
    pub const DEPTH: u32 = 1 << 13;
    pub const MODE: u32 = 1 << 14;
    pub const TRADABLE: u32 = 1 << 15;
    /// Every bit this version defines; the others must be zero.
    pub const KNOWN: u32 = 0xffff;
}

/// Byte offsets of the fields of a tick record. A decimal's s64 mantissa is at the
/// field's name, its u8 scale at `NAME_SCALE`. Times are s64 microseconds since the
/// Unix epoch (UTC). Bytes 173..176 are zero.
pub mod off {
    /// u32: the presence bits ([`super::bit`]).
    pub const PRESENCE: usize = 0;
    /// u32.
    pub const INSTRUMENT_TOKEN: usize = 4;
    /// s64.
    pub const TIMESTAMP_US: usize = 8;
    pub const LAST_PRICE: usize = 16;
    pub const AVERAGE_TRADED_PRICE: usize = 24;
    pub const CHANGE: usize = 32;
    pub const OPEN: usize = 40;
    pub const HIGH: usize = 48;
    pub const LOW: usize = 56;
    pub const CLOSE: usize = 64;
    /// u64.
    pub const VOLUME_TRADED: usize = 72;
    /// u64.
    pub const LAST_TRADED_QUANTITY: usize = 80;
    /// u64.
    pub const TOTAL_BUY_QUANTITY: usize = 88;
    /// u64.
    pub const TOTAL_SELL_QUANTITY: usize = 96;
    /// u64.
    pub const OI: usize = 104;
    /// u64.
    pub const OI_DAY_HIGH: usize = 112;
    /// u64.
    pub const OI_DAY_LOW: usize = 120;
    /// s64.
    pub const LAST_TRADE_TIME_US: usize = 128;
    /// s64.
    pub const EXCHANGE_TIMESTAMP_US: usize = 136;
    /// u32: index into the batch's `symbols`.
    pub const SYMBOL: usize = 144;
    /// u32: first buy level, an index into the batch's levels.
    pub const DEPTH_BUY_START: usize = 148;
    /// u32: number of buy levels, best bid first.
    pub const DEPTH_BUY_LEN: usize = 152;
    /// u32: first sell level.
    pub const DEPTH_SELL_START: usize = 156;
    /// u32: number of sell levels, best offer first.
    pub const DEPTH_SELL_LEN: usize = 160;
    pub const LAST_PRICE_SCALE: usize = 164;
    pub const AVERAGE_TRADED_PRICE_SCALE: usize = 165;
    pub const CHANGE_SCALE: usize = 166;
    pub const OPEN_SCALE: usize = 167;
    pub const HIGH_SCALE: usize = 168;
    pub const LOW_SCALE: usize = 169;
    pub const CLOSE_SCALE: usize = 170;
    /// u8: [`super::mode`].
    pub const MODE: usize = 171;
    /// u8: 0 false, 1 true.
    pub const TRADABLE: usize = 172;
}

/// Byte offsets of the fields of a depth-level record (the n-th of a batch is at
/// `TICK_SIZE * count + LEVEL_SIZE * n`). Bytes 21..24 are zero.
pub mod level_off {
    /// s64 mantissa.
    pub const PRICE: usize = 0;
    /// u64.
    pub const QUANTITY: usize = 8;
    /// u32.
    pub const ORDERS: usize = 16;
    /// u8.
    pub const PRICE_SCALE: usize = 20;
}

/// Values of a tick record's mode byte.
pub mod mode {
    pub const LTP: u8 = 0;
    pub const QUOTE: u8 = 1;
    pub const FULL: u8 = 2;
}

/// Byte offsets of the fields of a signal record. The record is followed by its
/// metadata pairs, each a u32 byte length and the UTF-8 key, then a u32 byte length
/// and the UTF-8 value. Bytes 44..48 are zero.
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
    /// u8: [`super::side`].
    pub const SIDE: usize = 40;
    /// u8: [`super::price_kind`].
    pub const PRICE_KIND: usize = 41;
    /// u8: the exact price's scale.
    pub const PRICE_SCALE: usize = 42;
    /// u8: 1 if a confidence is given, else 0.
    pub const HAS_CONFIDENCE: usize = 43;
}

/// Values of a signal record's side byte.
pub mod side {
    pub const BUY: u8 = 0;
    pub const SELL: u8 = 1;
}

/// Values of a signal record's price-kind byte.
pub mod price_kind {
    pub const NONE: u8 = 0;
    pub const EXACT: u8 = 1;
    pub const APPROX: u8 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `| off | size | type | field |` rows of the WIT's table that starts after `heading`.
    fn wit_rows(heading: &str) -> Vec<(usize, usize, String)> {
        let wit = include_str!("../../wit/strategy.wit");
        let start = wit.find(heading).expect("heading in the WIT");
        wit[start..]
            .lines()
            .skip(1)
            .map(|l| l.trim().trim_start_matches("///").trim())
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let at = cells.get(1)?.parse().ok()?;
                let size = cells.get(2)?.split_whitespace().next()?.parse().ok()?;
                Some((at, size, cells.get(4).copied().unwrap_or("").to_owned()))
            })
            .collect()
    }

    #[test]
    fn the_wit_tables_match_these_offsets() {
        let tick = wit_rows("Tick record (176 bytes)");
        let want = [
            (off::PRESENCE, 4),
            (off::INSTRUMENT_TOKEN, 4),
            (off::TIMESTAMP_US, 8),
            (off::LAST_PRICE, 8),
            (off::AVERAGE_TRADED_PRICE, 8),
            (off::CHANGE, 8),
            (off::OPEN, 8),
            (off::HIGH, 8),
            (off::LOW, 8),
            (off::CLOSE, 8),
            (off::VOLUME_TRADED, 8),
            (off::LAST_TRADED_QUANTITY, 8),
            (off::TOTAL_BUY_QUANTITY, 8),
            (off::TOTAL_SELL_QUANTITY, 8),
            (off::OI, 8),
            (off::OI_DAY_HIGH, 8),
            (off::OI_DAY_LOW, 8),
            (off::LAST_TRADE_TIME_US, 8),
            (off::EXCHANGE_TIMESTAMP_US, 8),
            (off::SYMBOL, 4),
            (off::DEPTH_BUY_START, 4),
            (off::DEPTH_BUY_LEN, 4),
            (off::DEPTH_SELL_START, 4),
            (off::DEPTH_SELL_LEN, 4),
            (off::LAST_PRICE_SCALE, 1),
            (off::AVERAGE_TRADED_PRICE_SCALE, 1),
            (off::CHANGE_SCALE, 1),
            (off::OPEN_SCALE, 1),
            (off::HIGH_SCALE, 1),
            (off::LOW_SCALE, 1),
            (off::CLOSE_SCALE, 1),
            (off::MODE, 1),
            (off::TRADABLE, 1),
            (173, 3),
        ];
        let got: Vec<(usize, usize)> = tick.iter().map(|(a, s, _)| (*a, *s)).collect();
        assert_eq!(got, want);
        assert_eq!(173 + 3, TICK_SIZE);

        let level = wit_rows("Depth level record (24 bytes)");
        let got: Vec<(usize, usize)> = level.iter().map(|(a, s, _)| (*a, *s)).collect();
        assert_eq!(
            got,
            [
                (level_off::PRICE, 8),
                (level_off::QUANTITY, 8),
                (level_off::ORDERS, 4),
                (level_off::PRICE_SCALE, 1),
                (21, 3)
            ]
        );
        assert_eq!(21 + 3, LEVEL_SIZE);
    }

    #[test]
    fn the_wit_signal_table_matches_these_offsets() {
        let wit = include_str!("../../wit/strategy.wit");
        let start = wit.find("Signal record (48 bytes)").expect("heading");
        let offsets: Vec<usize> = wit[start..]
            .lines()
            .map(|l| l.trim().trim_start_matches("///").trim())
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(1)?.trim().parse().ok())
            .collect();
        assert_eq!(
            offsets,
            [
                sig_off::TICK_INDEX,
                sig_off::INSTRUMENT_TOKEN,
                sig_off::QUANTITY,
                sig_off::PRICE,
                sig_off::CONFIDENCE,
                sig_off::META_PAIRS,
                sig_off::META_BYTES,
                sig_off::SIDE,
                sig_off::PRICE_KIND,
                sig_off::PRICE_SCALE,
                sig_off::HAS_CONFIDENCE,
                44,
            ]
        );
        assert_eq!(44 + 4, SIGNAL_SIZE);
    }

    #[test]
    fn every_field_has_its_own_bytes() {
        let fields8 = [
            off::TIMESTAMP_US,
            off::LAST_PRICE,
            off::AVERAGE_TRADED_PRICE,
            off::CHANGE,
            off::OPEN,
            off::HIGH,
            off::LOW,
            off::CLOSE,
            off::VOLUME_TRADED,
            off::LAST_TRADED_QUANTITY,
            off::TOTAL_BUY_QUANTITY,
            off::TOTAL_SELL_QUANTITY,
            off::OI,
            off::OI_DAY_HIGH,
            off::OI_DAY_LOW,
            off::LAST_TRADE_TIME_US,
            off::EXCHANGE_TIMESTAMP_US,
        ];
        let fields4 = [
            off::PRESENCE,
            off::INSTRUMENT_TOKEN,
            off::SYMBOL,
            off::DEPTH_BUY_START,
            off::DEPTH_BUY_LEN,
            off::DEPTH_SELL_START,
            off::DEPTH_SELL_LEN,
        ];
        let mut owner = [0u8; TICK_SIZE];
        let fields = fields8
            .iter()
            .map(|&a| (a, 8))
            .chain(fields4.iter().map(|&a| (a, 4)))
            .chain((off::LAST_PRICE_SCALE..=off::TRADABLE).map(|a| (a, 1)));
        for (at, size) in fields {
            for b in &mut owner[at..at + size] {
                assert_eq!(*b, 0, "byte {at} is claimed twice");
                *b = 1;
            }
        }
        assert_eq!(owner.iter().filter(|&&b| b == 0).count(), 3);
    }
}
