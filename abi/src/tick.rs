//! Reading a tick batch: [`Batch::parse`] checks that `data` holds `count` tick records
//! and whole depth-level records after them; [`read_tick`] decodes one record into a
//! plain [`Tick`] (every field, decimals as mantissa and scale), its symbol index and
//! depth spans checked against the batch. A batch that fails [`Batch::parse`] fails as
//! a whole ([`BatchError`]); a record that fails [`read_tick`] fails alone
//! ([`RecordError`]).

use std::fmt;
use std::ops::Range;

use crate::layout::{bit, level_off, mode, off, LEVEL_SIZE, TICK_SIZE};
use crate::le::{i64_at, u32_at, u64_at, u8_at};
use crate::Decimal;

/// Open, high, low and close of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ohlc {
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
}

/// One level of market depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DepthLevel {
    pub price: Decimal,
    pub quantity: u64,
    pub orders: u32,
}

/// How much of the market the tick describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickMode {
    Ltp,
    Quote,
    Full,
}

impl TickMode {
    /// The mode byte of a tick record.
    #[inline]
    pub const fn byte(self) -> u8 {
        match self {
            TickMode::Ltp => mode::LTP,
            TickMode::Quote => mode::QUOTE,
            TickMode::Full => mode::FULL,
        }
    }

    /// The mode a tick record's mode byte names, if it names one.
    #[inline]
    pub const fn from_byte(byte: u8) -> Option<TickMode> {
        match byte {
            mode::LTP => Some(TickMode::Ltp),
            mode::QUOTE => Some(TickMode::Quote),
            mode::FULL => Some(TickMode::Full),
            _ => None,
        }
    }

    /// `"ltp"`, `"quote"` or `"full"` (the feed's and the golden vectors' spelling).
    pub const fn as_str(self) -> &'static str {
        match self {
            TickMode::Ltp => "ltp",
            TickMode::Quote => "quote",
            TickMode::Full => "full",
        }
    }
}

/// Every field of a tick that is a value (not an index into its batch). Times are
/// microseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TickFields {
    pub instrument_token: u32,
    pub timestamp_us: i64,
    pub last_price: Decimal,
    pub volume_traded: Option<u64>,
    pub last_traded_quantity: Option<u64>,
    pub average_traded_price: Option<Decimal>,
    pub total_buy_quantity: Option<u64>,
    pub total_sell_quantity: Option<u64>,
    pub change: Option<Decimal>,
    pub ohlc: Option<Ohlc>,
    pub oi: Option<u64>,
    pub oi_day_high: Option<u64>,
    pub oi_day_low: Option<u64>,
    pub last_trade_time_us: Option<i64>,
    pub exchange_timestamp_us: Option<i64>,
    pub mode: Option<TickMode>,
    pub tradable: Option<bool>,
}

impl TickFields {
    /// A tick with only its required fields.
    pub const fn new(instrument_token: u32, last_price: Decimal, timestamp_us: i64) -> Self {
        Self {
            instrument_token,
            timestamp_us,
            last_price,
            volume_traded: None,
            last_traded_quantity: None,
            average_traded_price: None,
            total_buy_quantity: None,
            total_sell_quantity: None,
            change: None,
            ohlc: None,
            oi: None,
            oi_day_high: None,
            oi_day_low: None,
            last_trade_time_us: None,
            exchange_timestamp_us: None,
            mode: None,
            tradable: None,
        }
    }
}

/// A run of a batch's depth levels: `len` levels from index `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    /// The indices of the span's levels.
    pub fn range(self) -> Range<usize> {
        let start = self.start as usize;
        start..start.saturating_add(self.len as usize)
    }
}

/// Where a tick's depth levels are in its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Depth {
    /// Bids, best first.
    pub buy: Span,
    /// Offers, best first.
    pub sell: Span,
}

/// One decoded tick record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tick {
    pub fields: TickFields,
    /// Index into the batch's `symbols` (checked by [`read_tick`]).
    pub symbol: Option<u32>,
    /// The tick carried depth: its spans of the batch's levels (checked by [`read_tick`]).
    pub depth: Option<Depth>,
}

/// A batch that cannot be read at all: every tick of it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// `data` is shorter than `count` tick records.
    Short { count: u32, len: usize },
    /// What follows the tick records is not a whole number of level records.
    Levels { bytes: usize },
}

impl BatchError {
    /// A stable name for the error (the golden vectors' `error`).
    pub const fn kind(&self) -> &'static str {
        match self {
            BatchError::Short { .. } => "short_data",
            BatchError::Levels { .. } => "bad_level_region",
        }
    }
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
    /// A presence bit this version does not define is set.
    Reserved { presence: u32 },
    /// The symbol index is not one of the batch's symbols.
    Symbol { index: u32, symbols: usize },
    /// A depth span reaches past the batch's levels.
    Span {
        side: &'static str,
        start: u32,
        len: u32,
        levels: usize,
    },
    /// The mode byte is not 0, 1 or 2.
    Mode(u8),
    /// The tradable byte is not 0 or 1.
    Tradable(u8),
}

impl RecordError {
    /// A stable name for the error (the golden vectors' `error`).
    pub const fn kind(&self) -> &'static str {
        match self {
            RecordError::Reserved { .. } => "reserved_presence_bit",
            RecordError::Symbol { .. } => "symbol_out_of_range",
            RecordError::Span { .. } => "depth_span_out_of_range",
            RecordError::Mode(_) => "bad_mode",
            RecordError::Tradable(_) => "bad_tradable",
        }
    }
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

    /// The tick records, in feed order (decode each with [`read_tick`]).
    pub fn records(&self) -> &'a [[u8; TICK_SIZE]] {
        self.records
    }

    /// The level records, in order (decode each with [`read_level`]).
    pub fn levels(&self) -> &'a [[u8; LEVEL_SIZE]] {
        self.levels
    }
}

/// One depth-level record.
#[inline]
pub fn read_level(r: &[u8; LEVEL_SIZE]) -> DepthLevel {
    DepthLevel {
        price: dec_at(r, level_off::PRICE, level_off::PRICE_SCALE),
        quantity: u64_at(r, level_off::QUANTITY),
        orders: u32_at(r, level_off::ORDERS),
    }
}

#[inline(always)]
fn dec_at(r: &[u8], mantissa: usize, scale: usize) -> Decimal {
    Decimal::new(i64_at(r, mantissa), u8_at(r, scale))
}

/// A side's span, checked against the batch's `levels`.
#[inline]
fn span(r: &[u8], levels: usize, side: &'static str, at: usize) -> Result<Span, RecordError> {
    let (start, len) = (u32_at(r, at), u32_at(r, at + 4));
    (start as usize)
        .checked_add(len as usize)
        .filter(|&end| end <= levels)
        .map(|_| Span { start, len })
        .ok_or(RecordError::Span {
            side,
            start,
            len,
            levels,
        })
}

/// Decodes one tick record of a batch that has `symbols` symbols and `levels` level
/// records. Absent fields are `None` whatever their bytes hold.
#[inline]
pub fn read_tick(r: &[u8; TICK_SIZE], symbols: usize, levels: usize) -> Result<Tick, RecordError> {
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
        Some(m) => Some(TickMode::from_byte(m).ok_or(RecordError::Mode(m))?),
    };
    let tradable = match has(bit::TRADABLE).then(|| u8_at(r, off::TRADABLE)) {
        None => None,
        Some(0) => Some(false),
        Some(1) => Some(true),
        Some(t) => return Err(RecordError::Tradable(t)),
    };
    let symbol = if has(bit::SYMBOL) {
        let index = u32_at(r, off::SYMBOL);
        if index as usize >= symbols {
            return Err(RecordError::Symbol { index, symbols });
        }
        Some(index)
    } else {
        None
    };
    let depth = if has(bit::DEPTH) {
        Some(Depth {
            buy: span(r, levels, "buy", off::DEPTH_BUY_START)?,
            sell: span(r, levels, "sell", off::DEPTH_SELL_START)?,
        })
    } else {
        None
    };
    let fields = TickFields {
        instrument_token: u32_at(r, off::INSTRUMENT_TOKEN),
        timestamp_us: i64_at(r, off::TIMESTAMP_US),
        last_price: dec_at(r, off::LAST_PRICE, off::LAST_PRICE_SCALE),
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
        mode,
        tradable,
    };
    Ok(Tick {
        fields,
        symbol,
        depth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::le::put;

    /// A record with the required fields and the given presence bits.
    fn record(presence: u32) -> [u8; TICK_SIZE] {
        let mut r = [0u8; TICK_SIZE];
        put(&mut r, off::PRESENCE, presence.to_le_bytes());
        put(&mut r, off::INSTRUMENT_TOKEN, 7u32.to_le_bytes());
        put(&mut r, off::TIMESTAMP_US, 42i64.to_le_bytes());
        put(&mut r, off::LAST_PRICE, 1055i64.to_le_bytes());
        r[off::LAST_PRICE_SCALE] = 2;
        r
    }

    fn level_bytes(mantissa: i64, scale: u8, quantity: u64, orders: u32) -> [u8; LEVEL_SIZE] {
        let mut l = [0u8; LEVEL_SIZE];
        put(&mut l, level_off::PRICE, mantissa.to_le_bytes());
        put(&mut l, level_off::QUANTITY, quantity.to_le_bytes());
        put(&mut l, level_off::ORDERS, orders.to_le_bytes());
        l[level_off::PRICE_SCALE] = scale;
        l
    }

    #[test]
    fn every_field_is_read_from_its_offset() {
        let mut r = record(bit::KNOWN);
        let mut p = |at: usize, v: u64| put(&mut r, at, v.to_le_bytes());
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
        for (at, v) in [
            (off::SYMBOL, 1u32),
            (off::DEPTH_BUY_START, 0),
            (off::DEPTH_BUY_LEN, 1),
            (off::DEPTH_SELL_START, 1),
            (off::DEPTH_SELL_LEN, 1),
        ] {
            put(&mut r, at, v.to_le_bytes());
        }
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
        assert_eq!(batch.levels().len(), 2);
        let t = read_tick(&batch.records()[0], 2, batch.levels().len()).unwrap();
        let d = Decimal::new;
        let f = t.fields;
        assert_eq!(f.instrument_token, 7);
        assert_eq!(f.last_price, d(1055, 2));
        assert_eq!(f.timestamp_us, 42);
        assert_eq!(t.symbol, Some(1));
        assert_eq!(f.volume_traded, Some(11));
        assert_eq!(f.last_traded_quantity, Some(12));
        assert_eq!(f.average_traded_price, Some(d(101, 1)));
        assert_eq!(f.total_buy_quantity, Some(13));
        assert_eq!(f.total_sell_quantity, Some(14));
        assert_eq!(f.change, Some(d(-2, 1)));
        assert_eq!(
            f.ohlc,
            Some(Ohlc {
                open: d(1, 0),
                high: d(2, 0),
                low: d(3, 1),
                close: d(4, 0)
            })
        );
        assert_eq!(
            (f.oi, f.oi_day_high, f.oi_day_low),
            (Some(15), Some(16), Some(17))
        );
        assert_eq!(f.last_trade_time_us, Some(40));
        assert_eq!(f.exchange_timestamp_us, Some(41));
        assert_eq!(
            t.depth,
            Some(Depth {
                buy: Span { start: 0, len: 1 },
                sell: Span { start: 1, len: 1 }
            })
        );
        assert_eq!(
            read_level(&batch.levels()[1]),
            DepthLevel {
                price: d(106, 1),
                quantity: 4,
                orders: 2
            }
        );
        assert_eq!(f.mode, Some(TickMode::Full));
        assert_eq!(f.tradable, Some(true));
    }

    #[test]
    fn absent_fields_are_none_whatever_their_bytes() {
        let mut r = [0xffu8; TICK_SIZE];
        put(&mut r, off::PRESENCE, 0u32.to_le_bytes());
        let t = read_tick(&r, 0, 0).unwrap();
        let mut want = TickFields::new(u32::MAX, Decimal::new(-1, 255), -1);
        assert_eq!(t.fields, want);
        assert_eq!((t.symbol, t.depth), (None, None));
        want.mode = Some(TickMode::Ltp);
        assert_ne!(t.fields, want);
    }

    #[test]
    fn malformed_batches_are_errors() {
        let data = record(0).to_vec();
        assert_eq!(Batch::parse(1, &data).unwrap().len(), 1);
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
        let e = Batch::parse(1, &odd).unwrap_err();
        assert_eq!(e, BatchError::Levels { bytes: 5 });
        assert_eq!(e.kind(), "bad_level_region");
        assert!(Batch::parse(0, &[]).unwrap().is_empty());
        assert!(Batch::parse(0, &[1, 2, 3]).is_err());
    }

    #[test]
    fn malformed_records_are_errors() {
        let check = |r: [u8; TICK_SIZE]| read_tick(&r, 1, 1).map(|_| ());

        let e = check(record(1 << 16)).unwrap_err();
        assert_eq!(e.kind(), "reserved_presence_bit");
        let mut r = record(bit::SYMBOL);
        put(&mut r, off::SYMBOL, 1u32.to_le_bytes());
        assert_eq!(
            check(r),
            Err(RecordError::Symbol {
                index: 1,
                symbols: 1
            })
        );
        let mut r = record(bit::DEPTH);
        put(&mut r, off::DEPTH_SELL_START, u32::MAX.to_le_bytes());
        put(&mut r, off::DEPTH_SELL_LEN, 2u32.to_le_bytes());
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
        put(&mut r, off::DEPTH_BUY_LEN, 1u32.to_le_bytes());
        let t = read_tick(&r, 1, 1).unwrap();
        assert_eq!(t.depth.map(|d| d.buy.range()), Some(0..1));
        assert_eq!(t.depth.map(|d| d.sell.range()), Some(0..0));
        put(&mut r, off::DEPTH_BUY_START, 1u32.to_le_bytes());
        assert_eq!(check(r).unwrap_err().kind(), "depth_span_out_of_range");
    }
}
