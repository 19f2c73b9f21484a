//! The flat `tick-batch` of `wit/strategy.wit` (0.3.0), read: tick and depth-level
//! records decoded with `from_le_bytes` into the SDK's [`Tick`] views. Plain Rust (no
//! bindings), so the Wasm adapter calls it and the host's tests check their encoder
//! against it. The layout is documented, offset by offset, in the WIT file.

use std::cell::OnceCell;
use std::fmt;

use crate::tick::TickCore;
use crate::{Decimal, DepthLevel, Ohlc, Tick, TickMode};

/// Bytes of one tick record.
pub const TICK_SIZE: usize = 176;
/// Bytes of one depth-level record.
pub const LEVEL_SIZE: usize = 24;

/// Presence bits of a tick record (offset [`off::PRESENCE`]).
pub mod bit {
    pub const SYMBOL: u32 = 1 << 0;
    pub const VOLUME_TRADED: u32 = 1 << 1;
    pub const LAST_TRADED_QUANTITY: u32 = 1 << 2;
    pub const AVERAGE_TRADED_PRICE: u32 = 1 << 3;
    pub const TOTAL_BUY_QUANTITY: u32 = 1 << 4;
    pub const TOTAL_SELL_QUANTITY: u32 = 1 << 5;
    pub const CHANGE: u32 = 1 << 6;
    pub const OHLC: u32 = 1 << 7;
    pub const OI: u32 = 1 << 8;
    pub const OI_DAY_HIGH: u32 = 1 << 9;
    pub const OI_DAY_LOW: u32 = 1 << 10;
    pub const LAST_TRADE_TIME: u32 = 1 << 11;
    pub const EXCHANGE_TIMESTAMP: u32 = 1 << 12;
    pub const DEPTH: u32 = 1 << 13;
    pub const MODE: u32 = 1 << 14;
    pub const TRADABLE: u32 = 1 << 15;
    /// Every bit this version defines; the others must be zero.
    pub const KNOWN: u32 = 0xffff;
}

/// Byte offsets of the fields of a tick record. `*_SCALE` is a decimal's u8 scale,
/// the name without it that decimal's s64 mantissa.
pub mod off {
    pub const PRESENCE: usize = 0;
    pub const INSTRUMENT_TOKEN: usize = 4;
    pub const TIMESTAMP_US: usize = 8;
    pub const LAST_PRICE: usize = 16;
    pub const AVERAGE_TRADED_PRICE: usize = 24;
    pub const CHANGE: usize = 32;
    pub const OPEN: usize = 40;
    pub const HIGH: usize = 48;
    pub const LOW: usize = 56;
    pub const CLOSE: usize = 64;
    pub const VOLUME_TRADED: usize = 72;
    pub const LAST_TRADED_QUANTITY: usize = 80;
    pub const TOTAL_BUY_QUANTITY: usize = 88;
    pub const TOTAL_SELL_QUANTITY: usize = 96;
    pub const OI: usize = 104;
    pub const OI_DAY_HIGH: usize = 112;
    pub const OI_DAY_LOW: usize = 120;
    pub const LAST_TRADE_TIME_US: usize = 128;
    pub const EXCHANGE_TIMESTAMP_US: usize = 136;
    pub const SYMBOL: usize = 144;
    pub const DEPTH_BUY_START: usize = 148;
    pub const DEPTH_BUY_LEN: usize = 152;
    pub const DEPTH_SELL_START: usize = 156;
    pub const DEPTH_SELL_LEN: usize = 160;
    pub const LAST_PRICE_SCALE: usize = 164;
    pub const AVERAGE_TRADED_PRICE_SCALE: usize = 165;
    pub const CHANGE_SCALE: usize = 166;
    pub const OPEN_SCALE: usize = 167;
    pub const HIGH_SCALE: usize = 168;
    pub const LOW_SCALE: usize = 169;
    pub const CLOSE_SCALE: usize = 170;
    pub const MODE: usize = 171;
    pub const TRADABLE: usize = 172;
}

/// Byte offsets of the fields of a depth-level record.
pub mod level_off {
    pub const PRICE: usize = 0;
    pub const QUANTITY: usize = 8;
    pub const ORDERS: usize = 16;
    pub const PRICE_SCALE: usize = 20;
}

/// A batch that cannot be read at all: every tick of it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// `data` is shorter than `count` tick records.
    Short { count: u32, len: usize },
    /// What follows the tick records is not a whole number of level records.
    Levels { bytes: usize },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Short { count, len } => write!(
                f,
                "malformed tick batch: {count} ticks of {TICK_SIZE} bytes do not fit in {len} bytes of data"
            ),
            BatchError::Levels { bytes } => write!(
                f,
                "malformed tick batch: the depth region is {bytes} bytes, not a multiple of {LEVEL_SIZE}"
            ),
        }
    }
}

impl std::error::Error for BatchError {}

/// A tick record that cannot be read: that tick fails, the others run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    Reserved {
        presence: u32,
    },
    Symbol {
        index: u32,
        symbols: usize,
    },
    Span {
        side: &'static str,
        start: u32,
        len: u32,
        levels: usize,
    },
    Mode(u8),
    Tradable(u8),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Reserved { presence } => {
                write!(f, "malformed tick: presence {presence:#x} sets reserved bits")
            }
            RecordError::Symbol { index, symbols } => write!(
                f,
                "malformed tick: symbol index {index}, but the batch has {symbols} symbols"
            ),
            RecordError::Span {
                side,
                start,
                len,
                levels,
            } => write!(
                f,
                "malformed tick: depth {side} levels {start}+{len}, but the batch has {levels} levels"
            ),
            RecordError::Mode(m) => write!(f, "malformed tick: mode {m} (0-2 are defined)"),
            RecordError::Tradable(t) => write!(f, "malformed tick: tradable {t} (0 or 1)"),
        }
    }
}

impl std::error::Error for RecordError {}

/// A batch's `data`, split into its tick records and its level records.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    records: &'a [[u8; TICK_SIZE]],
    levels: &'a [[u8; LEVEL_SIZE]],
}

impl<'a> Batch<'a> {
    /// Checks that `data` holds `count` tick records and whole level records after them.
    pub fn parse(count: u32, data: &'a [u8]) -> Result<Self, BatchError> {
        let short = BatchError::Short {
            count,
            len: data.len(),
        };
        let need = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(TICK_SIZE))
            .filter(|&n| n <= data.len())
            .ok_or(short)?;
        let (records, levels) = data.split_at(need);
        let (records, _) = records.as_chunks::<TICK_SIZE>();
        let (levels, rest) = levels.as_chunks::<LEVEL_SIZE>();
        if !rest.is_empty() {
            return Err(BatchError::Levels {
                bytes: data.len() - need,
            });
        }
        Ok(Self { records, levels })
    }

    /// Number of tick records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The tick records, in feed order.
    pub fn records(&self) -> &'a [[u8; TICK_SIZE]] {
        self.records
    }

    /// The batch's depth levels (a tick's spans index them), decoded on first use.
    pub fn levels(&self) -> Levels<'a> {
        Levels {
            records: self.levels,
            decoded: OnceCell::new(),
        }
    }
}

/// The depth-level records of a batch, decoded all at once the first time a tick's
/// depth is read.
#[derive(Debug)]
pub struct Levels<'a> {
    records: &'a [[u8; LEVEL_SIZE]],
    decoded: OnceCell<Vec<DepthLevel>>,
}

impl Levels<'_> {
    /// Number of level records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every level of the batch, in order.
    pub fn decoded(&self) -> &[DepthLevel] {
        self.decoded
            .get_or_init(|| self.records.iter().map(level).collect())
    }
}

/// `N` bytes of `r` at `at`, zeros if they are not all there (the callers check
/// lengths first). Shared with `flat_out`.
pub(crate) fn bytes<const N: usize>(r: &[u8], at: usize) -> [u8; N] {
    r.get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
}

fn u8_at(r: &[u8], at: usize) -> u8 {
    r.get(at).copied().unwrap_or(0)
}

fn u32_at(r: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes(r, at))
}

fn u64_at(r: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes(r, at))
}

fn i64_at(r: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(bytes(r, at))
}

fn dec_at(r: &[u8], mantissa: usize, scale: usize) -> Decimal {
    Decimal::new(i64_at(r, mantissa), u8_at(r, scale))
}

fn level(r: &[u8; LEVEL_SIZE]) -> DepthLevel {
    DepthLevel {
        price: dec_at(r, level_off::PRICE, level_off::PRICE_SCALE),
        quantity: u64_at(r, level_off::QUANTITY),
        orders: u32_at(r, level_off::ORDERS),
    }
}

/// A side's span (first level, number of levels), checked against the batch.
fn span(
    r: &[u8],
    levels: usize,
    side: &'static str,
    start_at: usize,
    len_at: usize,
) -> Result<(usize, usize), RecordError> {
    let (start, len) = (u32_at(r, start_at), u32_at(r, len_at));
    (start as usize)
        .checked_add(len as usize)
        .filter(|&end| end <= levels)
        .map(|_| (start as usize, len as usize))
        .ok_or(RecordError::Span {
            side,
            start,
            len,
            levels,
        })
}

/// One tick record as the view a strategy reads; `symbols` and `levels` are its batch's.
pub fn tick<'a>(
    r: &[u8; TICK_SIZE],
    symbols: &'a [String],
    levels: &'a Levels<'a>,
) -> Result<Tick<'a>, RecordError> {
    let presence = u32_at(r, off::PRESENCE);
    if presence & !bit::KNOWN != 0 {
        return Err(RecordError::Reserved { presence });
    }
    let has = |b: u32| presence & b != 0;
    let u64_if = |b: u32, at: usize| has(b).then(|| u64_at(r, at));
    let i64_if = |b: u32, at: usize| has(b).then(|| i64_at(r, at));
    let dec_if = |b: u32, m: usize, s: usize| has(b).then(|| dec_at(r, m, s));
    let mode = match has(bit::MODE).then(|| u8_at(r, off::MODE)) {
        None => None,
        Some(0) => Some(TickMode::Ltp),
        Some(1) => Some(TickMode::Quote),
        Some(2) => Some(TickMode::Full),
        Some(m) => return Err(RecordError::Mode(m)),
    };
    let tradable = match has(bit::TRADABLE).then(|| u8_at(r, off::TRADABLE)) {
        None => None,
        Some(0) => Some(false),
        Some(1) => Some(true),
        Some(t) => return Err(RecordError::Tradable(t)),
    };
    let symbol = if has(bit::SYMBOL) {
        let index = u32_at(r, off::SYMBOL);
        let s = symbols.get(index as usize).ok_or(RecordError::Symbol {
            index,
            symbols: symbols.len(),
        })?;
        Some(s.as_str())
    } else {
        None
    };
    let (buy, sell) = if has(bit::DEPTH) {
        let n = levels.len();
        (
            span(r, n, "buy", off::DEPTH_BUY_START, off::DEPTH_BUY_LEN)?,
            span(r, n, "sell", off::DEPTH_SELL_START, off::DEPTH_SELL_LEN)?,
        )
    } else {
        ((0, 0), (0, 0))
    };
    let core = TickCore {
        instrument_token: u32_at(r, off::INSTRUMENT_TOKEN),
        last_price: dec_at(r, off::LAST_PRICE, off::LAST_PRICE_SCALE),
        timestamp_us: i64_at(r, off::TIMESTAMP_US),
        volume_traded: u64_if(bit::VOLUME_TRADED, off::VOLUME_TRADED),
        last_traded_quantity: u64_if(bit::LAST_TRADED_QUANTITY, off::LAST_TRADED_QUANTITY),
        average_traded_price: dec_if(
            bit::AVERAGE_TRADED_PRICE,
            off::AVERAGE_TRADED_PRICE,
            off::AVERAGE_TRADED_PRICE_SCALE,
        ),
        total_buy_quantity: u64_if(bit::TOTAL_BUY_QUANTITY, off::TOTAL_BUY_QUANTITY),
        total_sell_quantity: u64_if(bit::TOTAL_SELL_QUANTITY, off::TOTAL_SELL_QUANTITY),
        change: dec_if(bit::CHANGE, off::CHANGE, off::CHANGE_SCALE),
        ohlc: has(bit::OHLC).then(|| Ohlc {
            open: dec_at(r, off::OPEN, off::OPEN_SCALE),
            high: dec_at(r, off::HIGH, off::HIGH_SCALE),
            low: dec_at(r, off::LOW, off::LOW_SCALE),
            close: dec_at(r, off::CLOSE, off::CLOSE_SCALE),
        }),
        oi: u64_if(bit::OI, off::OI),
        oi_day_high: u64_if(bit::OI_DAY_HIGH, off::OI_DAY_HIGH),
        oi_day_low: u64_if(bit::OI_DAY_LOW, off::OI_DAY_LOW),
        last_trade_time_us: i64_if(bit::LAST_TRADE_TIME, off::LAST_TRADE_TIME_US),
        exchange_timestamp_us: i64_if(bit::EXCHANGE_TIMESTAMP, off::EXCHANGE_TIMESTAMP_US),
        has_depth: has(bit::DEPTH),
        mode,
        tradable,
    };
    Ok(Tick::from_batch(core, symbol, levels, buy, sell))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(r: &mut [u8], at: usize, b: &[u8]) {
        r[at..at + b.len()].copy_from_slice(b);
    }

    /// A record with the required fields and the given presence bits.
    fn record(presence: u32) -> [u8; TICK_SIZE] {
        let mut r = [0u8; TICK_SIZE];
        put(&mut r, off::PRESENCE, &presence.to_le_bytes());
        put(&mut r, off::INSTRUMENT_TOKEN, &7u32.to_le_bytes());
        put(&mut r, off::TIMESTAMP_US, &42i64.to_le_bytes());
        put(&mut r, off::LAST_PRICE, &1055i64.to_le_bytes());
        r[off::LAST_PRICE_SCALE] = 2;
        r
    }

    fn level_bytes(mantissa: i64, scale: u8, quantity: u64, orders: u32) -> [u8; LEVEL_SIZE] {
        let mut l = [0u8; LEVEL_SIZE];
        put(&mut l, level_off::PRICE, &mantissa.to_le_bytes());
        put(&mut l, level_off::QUANTITY, &quantity.to_le_bytes());
        put(&mut l, level_off::ORDERS, &orders.to_le_bytes());
        l[level_off::PRICE_SCALE] = scale;
        l
    }

    #[test]
    fn every_field_is_read_from_its_offset() {
        let mut r = record(bit::KNOWN);
        let mut p = |at: usize, v: u64| put(&mut r, at, &v.to_le_bytes());
        p(off::AVERAGE_TRADED_PRICE, 101);
        p(off::CHANGE, (-2i64) as u64);
        p(off::OPEN, 1);
        p(off::HIGH, 2);
        p(off::LOW, 3);
        p(off::CLOSE, 4);
        p(off::VOLUME_TRADED, 11);
        p(off::LAST_TRADED_QUANTITY, 12);
        p(off::TOTAL_BUY_QUANTITY, 13);
        p(off::TOTAL_SELL_QUANTITY, 14);
        p(off::OI, 15);
        p(off::OI_DAY_HIGH, 16);
        p(off::OI_DAY_LOW, 17);
        p(off::LAST_TRADE_TIME_US, 40);
        p(off::EXCHANGE_TIMESTAMP_US, 41);
        put(&mut r, off::SYMBOL, &1u32.to_le_bytes());
        put(&mut r, off::DEPTH_BUY_START, &0u32.to_le_bytes());
        put(&mut r, off::DEPTH_BUY_LEN, &1u32.to_le_bytes());
        put(&mut r, off::DEPTH_SELL_START, &1u32.to_le_bytes());
        put(&mut r, off::DEPTH_SELL_LEN, &1u32.to_le_bytes());
        for (at, s) in [
            (off::AVERAGE_TRADED_PRICE_SCALE, 1),
            (off::CHANGE_SCALE, 1),
            (off::OPEN_SCALE, 0),
            (off::HIGH_SCALE, 0),
            (off::LOW_SCALE, 1),
            (off::CLOSE_SCALE, 0),
            (off::MODE, 2),
            (off::TRADABLE, 1),
        ] {
            r[at] = s;
        }
        let mut data = r.to_vec();
        data.extend_from_slice(&level_bytes(105, 1, 3, 1));
        data.extend_from_slice(&level_bytes(106, 1, 4, 2));
        let batch = Batch::parse(1, &data).unwrap();
        let levels = batch.levels();
        let symbols = vec!["A".to_owned(), "B".to_owned()];
        let t = tick(&batch.records()[0], &symbols, &levels).unwrap();
        let d = |m, s| Decimal::new(m, s);
        assert_eq!(t.instrument_token(), 7);
        assert_eq!(t.last_price(), d(1055, 2));
        assert_eq!(t.timestamp_us(), 42);
        assert_eq!(t.symbol(), Some("B"));
        assert_eq!(t.volume_traded(), Some(11));
        assert_eq!(t.last_traded_quantity(), Some(12));
        assert_eq!(t.average_traded_price(), Some(d(101, 1)));
        assert_eq!(t.total_buy_quantity(), Some(13));
        assert_eq!(t.total_sell_quantity(), Some(14));
        assert_eq!(t.change(), Some(d(-2, 1)));
        assert_eq!(
            t.ohlc(),
            Some(Ohlc {
                open: d(1, 0),
                high: d(2, 0),
                low: d(3, 1),
                close: d(4, 0)
            })
        );
        assert_eq!(
            (t.oi(), t.oi_day_high(), t.oi_day_low()),
            (Some(15), Some(16), Some(17))
        );
        assert_eq!(t.last_trade_time_us(), Some(40));
        assert_eq!(t.exchange_timestamp_us(), Some(41));
        assert!(t.has_depth());
        assert_eq!(
            t.depth_buy(),
            &[DepthLevel {
                price: d(105, 1),
                quantity: 3,
                orders: 1
            }]
        );
        assert_eq!(
            t.depth_sell(),
            &[DepthLevel {
                price: d(106, 1),
                quantity: 4,
                orders: 2
            }]
        );
        assert_eq!(t.mode(), Some(TickMode::Full));
        assert_eq!(t.tradable(), Some(true));
    }

    #[test]
    fn absent_fields_are_none_whatever_their_bytes() {
        let mut r = [0xffu8; TICK_SIZE];
        put(&mut r, off::PRESENCE, &0u32.to_le_bytes());
        let none = Batch::parse(0, &[]).unwrap().levels();
        let t = tick(&r, &[], &none).unwrap();
        assert_eq!(t.symbol(), None);
        assert_eq!(t.volume_traded(), None);
        assert_eq!(t.ohlc(), None);
        assert_eq!(t.mode(), None);
        assert_eq!(t.tradable(), None);
        assert!(!t.has_depth());
        assert!(t.depth_buy().is_empty() && t.depth_sell().is_empty());
        assert_eq!(t.instrument_token(), u32::MAX);
    }

    #[test]
    fn malformed_batches_are_errors() {
        let data = record(0).to_vec();
        assert!(Batch::parse(1, &data).is_ok());
        assert_eq!(
            Batch::parse(2, &data).unwrap_err(),
            BatchError::Short {
                count: 2,
                len: TICK_SIZE
            }
        );
        assert!(Batch::parse(u32::MAX, &data).is_err());
        let mut odd = data.clone();
        odd.extend_from_slice(&[0; 5]);
        assert_eq!(
            Batch::parse(1, &odd).unwrap_err(),
            BatchError::Levels { bytes: 5 }
        );
        assert_eq!(Batch::parse(0, &[]).unwrap().len(), 0);
        assert!(Batch::parse(0, &[1, 2, 3]).is_err());
    }

    #[test]
    fn malformed_records_are_errors() {
        let symbols = vec!["A".to_owned()];
        let one_level = level_bytes(1, 0, 1, 1);
        let levels = Levels {
            records: std::slice::from_ref(&one_level),
            decoded: OnceCell::new(),
        };
        let check = |r: [u8; TICK_SIZE]| tick(&r, &symbols, &levels).map(|_| ());

        assert!(matches!(
            check(record(1 << 16)),
            Err(RecordError::Reserved { .. })
        ));
        let mut r = record(bit::SYMBOL);
        put(&mut r, off::SYMBOL, &1u32.to_le_bytes());
        assert_eq!(
            check(r),
            Err(RecordError::Symbol {
                index: 1,
                symbols: 1
            })
        );
        let mut r = record(bit::DEPTH);
        put(&mut r, off::DEPTH_SELL_START, &u32::MAX.to_le_bytes());
        put(&mut r, off::DEPTH_SELL_LEN, &2u32.to_le_bytes());
        assert!(matches!(
            check(r),
            Err(RecordError::Span { side: "sell", .. })
        ));
        let mut r = record(bit::MODE);
        r[off::MODE] = 3;
        assert_eq!(check(r), Err(RecordError::Mode(3)));
        let mut r = record(bit::TRADABLE);
        r[off::TRADABLE] = 2;
        assert_eq!(check(r), Err(RecordError::Tradable(2)));
        let mut r = record(bit::DEPTH);
        put(&mut r, off::DEPTH_BUY_LEN, &1u32.to_le_bytes());
        assert!(check(r).is_ok());
        let t = tick(&r, &symbols, &levels).unwrap();
        assert_eq!(
            t.depth_buy(),
            &[DepthLevel {
                price: Decimal::new(1, 0),
                quantity: 1,
                orders: 1,
            }]
        );
        assert!(t.depth_sell().is_empty());
    }
}
