//! Reading a tick batch: [`Batch::parse`] checks that `data` holds `count` tick records
//! and whole depth-level records after them; [`check_tick`] checks one record (its
//! symbol index and depth spans against the batch) into a [`TickRecord`] whose fields
//! are read on access, and [`read_tick`] decodes every field at once into a plain
//! [`Tick`] (decimals as mantissa and scale). A batch that fails [`Batch::parse`] fails as
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

/// A tick record whose presence, enum bytes, symbol index and depth spans were
/// checked ([`check_tick`]); each field is read from the record when asked for, so a
/// strategy that reads three fields of a full tick pays for three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TickRecord<'a> {
    r: &'a [u8; TICK_SIZE],
    presence: u32,
}

impl<'a> TickRecord<'a> {
    #[inline(always)]
    fn has(&self, b: u32) -> bool {
        self.presence & b != 0
    }
    #[inline(always)]
    fn u64_if(&self, b: u32, at: usize) -> Option<u64> {
        self.has(b).then(|| u64_at(self.r, at))
    }
    #[inline(always)]
    fn i64_if(&self, b: u32, at: usize) -> Option<i64> {
        self.has(b).then(|| i64_at(self.r, at))
    }
    #[inline(always)]
    fn dec_if(&self, b: u32, m: usize, s: usize) -> Option<Decimal> {
        self.has(b).then(|| dec_at(self.r, m, s))
    }

    #[inline]
    pub fn instrument_token(&self) -> u32 {
        u32_at(self.r, off::INSTRUMENT_TOKEN)
    }
    #[inline]
    pub fn timestamp_us(&self) -> i64 {
        i64_at(self.r, off::TIMESTAMP_US)
    }
    #[inline]
    pub fn last_price(&self) -> Decimal {
        dec_at(self.r, off::LAST_PRICE, off::LAST_PRICE_SCALE)
    }
    #[inline]
    pub fn volume_traded(&self) -> Option<u64> {
        self.u64_if(bit::VOLUME_TRADED, off::VOLUME_TRADED)
    }
    #[inline]
    pub fn last_traded_quantity(&self) -> Option<u64> {
        self.u64_if(bit::LAST_TRADED_QUANTITY, off::LAST_TRADED_QUANTITY)
    }
    #[inline]
    pub fn average_traded_price(&self) -> Option<Decimal> {
        self.dec_if(
            bit::AVERAGE_TRADED_PRICE,
            off::AVERAGE_TRADED_PRICE,
            off::AVERAGE_TRADED_PRICE_SCALE,
        )
    }
    #[inline]
    pub fn total_buy_quantity(&self) -> Option<u64> {
        self.u64_if(bit::TOTAL_BUY_QUANTITY, off::TOTAL_BUY_QUANTITY)
    }
    #[inline]
    pub fn total_sell_quantity(&self) -> Option<u64> {
        self.u64_if(bit::TOTAL_SELL_QUANTITY, off::TOTAL_SELL_QUANTITY)
    }
    #[inline]
    pub fn change(&self) -> Option<Decimal> {
        self.dec_if(bit::CHANGE, off::CHANGE, off::CHANGE_SCALE)
    }
    #[inline]
    pub fn ohlc(&self) -> Option<Ohlc> {
        self.has(bit::OHLC).then(|| Ohlc {
            open: dec_at(self.r, off::OPEN, off::OPEN_SCALE),
            high: dec_at(self.r, off::HIGH, off::HIGH_SCALE),
            low: dec_at(self.r, off::LOW, off::LOW_SCALE),
            close: dec_at(self.r, off::CLOSE, off::CLOSE_SCALE),
        })
    }
    #[inline]
    pub fn oi(&self) -> Option<u64> {
        self.u64_if(bit::OI, off::OI)
    }
    #[inline]
    pub fn oi_day_high(&self) -> Option<u64> {
        self.u64_if(bit::OI_DAY_HIGH, off::OI_DAY_HIGH)
    }
    #[inline]
    pub fn oi_day_low(&self) -> Option<u64> {
        self.u64_if(bit::OI_DAY_LOW, off::OI_DAY_LOW)
    }
    #[inline]
    pub fn last_trade_time_us(&self) -> Option<i64> {
        self.i64_if(bit::LAST_TRADE_TIME, off::LAST_TRADE_TIME_US)
    }
    #[inline]
    pub fn exchange_timestamp_us(&self) -> Option<i64> {
        self.i64_if(bit::EXCHANGE_TIMESTAMP, off::EXCHANGE_TIMESTAMP_US)
    }
    /// The mode ([`check_tick`] refused a record whose mode byte names none).
    #[inline]
    pub fn mode(&self) -> Option<TickMode> {
        self.has(bit::MODE)
            .then(|| TickMode::from_byte(u8_at(self.r, off::MODE)))
            .flatten()
    }
    /// Whether tradable ([`check_tick`] refused a byte other than 0 or 1).
    #[inline]
    pub fn tradable(&self) -> Option<bool> {
        self.has(bit::TRADABLE)
            .then(|| u8_at(self.r, off::TRADABLE) == 1)
    }

    /// Every field at once.
    pub fn fields(&self) -> TickFields {
        TickFields {
            instrument_token: self.instrument_token(),
            timestamp_us: self.timestamp_us(),
            last_price: self.last_price(),
            volume_traded: self.volume_traded(),
            last_traded_quantity: self.last_traded_quantity(),
            average_traded_price: self.average_traded_price(),
            total_buy_quantity: self.total_buy_quantity(),
            total_sell_quantity: self.total_sell_quantity(),
            change: self.change(),
            ohlc: self.ohlc(),
            oi: self.oi(),
            oi_day_high: self.oi_day_high(),
            oi_day_low: self.oi_day_low(),
            last_trade_time_us: self.last_trade_time_us(),
            exchange_timestamp_us: self.exchange_timestamp_us(),
            mode: self.mode(),
            tradable: self.tradable(),
        }
    }
}

/// One checked tick record: its fields, read on access, and its batch indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckedTick<'a> {
    pub record: TickRecord<'a>,
    /// Index into the batch's `symbols`.
    pub symbol: Option<u32>,
    /// The tick carried depth: its spans of the batch's levels.
    pub depth: Option<Depth>,
}

/// Checks one tick record of a batch that has `symbols` symbols and `levels` level
/// records: no reserved presence bit, enum bytes that name a value, a symbol index
/// and depth spans inside the batch. Absent fields are not looked at.
#[inline]
pub fn check_tick(
    r: &[u8; TICK_SIZE],
    symbols: usize,
    levels: usize,
) -> Result<CheckedTick<'_>, RecordError> {
    let presence = u32_at(r, off::PRESENCE);
    if presence & !bit::KNOWN != 0 {
        return Err(RecordError::Reserved { presence });
    }
    let has = |b: u32| presence & b != 0;
    if has(bit::MODE) {
        let m = u8_at(r, off::MODE);
        TickMode::from_byte(m).ok_or(RecordError::Mode(m))?;
    }
    if has(bit::TRADABLE) {
        match u8_at(r, off::TRADABLE) {
            0 | 1 => {}
            t => return Err(RecordError::Tradable(t)),
        }
    }
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
    Ok(CheckedTick {
        record: TickRecord { r, presence },
        symbol,
        depth,
    })
}

/// Decodes one tick record of a batch that has `symbols` symbols and `levels` level
/// records: [`check_tick`], then every field. Absent fields are `None` whatever their
/// bytes hold.
#[inline]
pub fn read_tick(r: &[u8; TICK_SIZE], symbols: usize, levels: usize) -> Result<Tick, RecordError> {
    let t = check_tick(r, symbols, levels)?;
    Ok(Tick {
        fields: t.record.fields(),
        symbol: t.symbol,
        depth: t.depth,
    })
}

#[cfg(test)]
#[path = "tick_tests.rs"]
mod tests;
