//! Market ticks into the WIT `tick-batch` (0.4.0): fixed-size little-endian tick
//! records written straight into one byte buffer, followed by the batch's depth
//! levels, with the batch's distinct symbols stored once. A flat `list<u8>` crosses
//! into the guest as one copy. The layout, and the writer of one record, are the
//! `alpha-panda-abi` crate's; the tests check the result against its reader and its
//! golden vectors (`vectors/ticks`).

use std::hash::BuildHasher;

use alpha_panda_abi::layout::{bit, off};
pub use alpha_panda_abi::layout::{LEVEL_SIZE, TICK_SIZE};
use alpha_panda_abi::tick::{Depth, Ohlc, Span, TickMode};
use alpha_panda_abi::tick_write::{level_record, TickWriter};
use rust_decimal::Decimal;

use super::bindings::types::TickBatch;
use crate::contract::{self, MarketTick};

/// A value the plugin ABI cannot carry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("field `{field}`: {value} does not fit the plugin ABI (64-bit mantissa, scale <= 255)")]
pub struct ConvertError {
    pub field: &'static str,
    pub value: String,
}

/// A decimal as the plugin ABI stores it (`{mantissa, scale}`), normalized first if
/// the mantissa overflows.
#[inline]
pub fn decimal_to_wit(
    d: Decimal,
    field: &'static str,
) -> Result<alpha_panda_abi::Decimal, ConvertError> {
    // A scale is at most 28, so only the mantissa can fail to fit.
    match i64::try_from(d.mantissa()) {
        Ok(mantissa) => Ok(alpha_panda_abi::Decimal::new(mantissa, d.scale() as u8)),
        Err(_) => decimal_to_wit_normalized(d, field),
    }
}

#[cold]
fn decimal_to_wit_normalized(
    d: Decimal,
    field: &'static str,
) -> Result<alpha_panda_abi::Decimal, ConvertError> {
    let n = d.normalize();
    match (i64::try_from(n.mantissa()), u8::try_from(n.scale())) {
        (Ok(mantissa), Ok(scale)) => Ok(alpha_panda_abi::Decimal::new(mantissa, scale)),
        _ => Err(ConvertError {
            field,
            value: d.to_string(),
        }),
    }
}

fn mode(m: contract::TickMode) -> TickMode {
    match m {
        contract::TickMode::Ltp => TickMode::Ltp,
        contract::TickMode::Quote => TickMode::Quote,
        contract::TickMode::Full => TickMode::Full,
    }
}

fn get_u32(r: &[u8], at: usize) -> u32 {
    r.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_le_bytes)
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Up to this many symbols in a batch a scan finds one; past it they are looked
/// up by their text (dispatch bench, `convert/512` with 6 symbols against
/// `convert_many/512` with 128).
const SCAN_SYMBOLS: usize = 8;

/// Builds batches, reusing its buffers between calls: after warm-up a tick costs one
/// record and its levels written in place, and nothing is allocated but a new
/// symbol's text.
///
/// `data` holds `room` record slots (the first `count` written, the rest zero),
/// then the batch's level records, so that a batch of up to `room` ticks is handed
/// over as is, without moving its levels. `take()` keeps room for a batch as large
/// as the one taken; with less room the levels move up once per doubling.
#[derive(Default)]
pub struct BatchBuilder {
    batch: TickBatch,
    /// Record slots at the front of `batch.data`.
    room: usize,
    /// `batch.symbols` by their text, looked up once there are more than
    /// [`SCAN_SYMBOLS`]: a partition's batch may hold hundreds of instruments, and
    /// a scan of the symbols for every tick grew with them. Entries are indexes
    /// into the list; one a failed push took back never matches (the text decides).
    symbol_at: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

#[allow(clippy::derivable_impls)]
impl Default for TickBatch {
    fn default() -> Self {
        TickBatch {
            count: 0,
            data: Vec::new(),
            symbols: Vec::new(),
        }
    }
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the builder; its buffers and record room stay.
    pub fn clear(&mut self) {
        let written = self.len() * TICK_SIZE;
        self.batch.data.truncate(self.room * TICK_SIZE);
        if let Some(records) = self.batch.data.get_mut(..written) {
            records.fill(0);
        }
        self.batch.count = 0;
        self.batch.symbols.clear();
        self.symbol_at.clear();
    }

    /// Makes room for at least `ticks` records, so that a batch of that many is
    /// built without moving its levels. Call it on an empty builder (it is a hint:
    /// on one that holds ticks it does nothing).
    pub fn reserve_ticks(&mut self, ticks: usize) {
        if self.is_empty() && ticks > self.room {
            self.batch.data.truncate(self.room * TICK_SIZE);
            self.batch.data.resize(ticks * TICK_SIZE, 0);
            self.room = ticks;
        }
    }

    pub fn len(&self) -> usize {
        self.batch.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.batch.count == 0
    }

    /// The built batch (its records directly followed by its levels).
    pub fn batch(&mut self) -> &TickBatch {
        self.compact();
        &self.batch
    }

    /// The built batch; the builder is emptied, and its next batch starts with
    /// room for one as large as this.
    pub fn take(&mut self) -> TickBatch {
        self.compact();
        let count = self.len();
        let size = self.batch.data.len();
        let mut data = std::mem::replace(&mut self.batch.data, Vec::with_capacity(size));
        // A small batch after a large one must not keep the large buffer alive
        // (batches are journaled until the next snapshot).
        if data.capacity() > 2 * size + 4096 {
            data.shrink_to_fit();
        }
        let out = TickBatch {
            count: self.batch.count,
            data,
            symbols: std::mem::take(&mut self.batch.symbols),
        };
        self.symbol_at.clear();
        self.batch.count = 0;
        self.room = 0;
        self.reserve_ticks(count);
        out
    }

    /// Moves the levels down to the last written record (no empty slots left).
    fn compact(&mut self) {
        let count = self.len();
        if count < self.room {
            let (from, to) = (self.room * TICK_SIZE, count * TICK_SIZE);
            let len = self.batch.data.len();
            self.batch.data.copy_within(from..len, to);
            self.batch.data.truncate(len - (from - to));
            self.room = count;
        }
    }

    /// Doubles the record room, moving the levels up.
    fn grow(&mut self) {
        let room = (self.room * 2).max(16);
        let (old_end, extra) = (self.room * TICK_SIZE, (room - self.room) * TICK_SIZE);
        let len = self.batch.data.len();
        self.batch.data.resize(len + extra, 0);
        self.batch.data.copy_within(old_end..len, old_end + extra);
        if let Some(slots) = self.batch.data.get_mut(old_end..old_end + extra) {
            slots.fill(0);
        }
        self.room = room;
    }

    /// The next free record slot (zeroed), growing the room if needed.
    fn next_slot(&mut self) -> usize {
        if self.len() >= self.room {
            self.grow();
        }
        self.len() * TICK_SIZE
    }

    /// Level records written so far.
    fn level_count(&self) -> u32 {
        len_u32(self.batch.data.len().saturating_sub(self.room * TICK_SIZE) / LEVEL_SIZE)
    }

    /// The record at `at` (a slot of the room).
    fn record_at(data: &mut [u8], at: usize) -> Option<&mut [u8; TICK_SIZE]> {
        data.get_mut(at..at + TICK_SIZE)
            .and_then(|r| <&mut [u8; TICK_SIZE]>::try_from(r).ok())
    }

    /// Appends one tick. On error nothing is appended.
    pub fn push(&mut self, t: &MarketTick) -> Result<(), ConvertError> {
        let at = self.next_slot();
        let levels_before = self.batch.data.len();
        let symbols_before = self.batch.symbols.len();
        let symbol = t.symbol.as_deref().map(|s| self.symbol_index(s));
        // The spans are known before the levels are written: they go at the end.
        let spans = t.depth.as_ref().map(|d| {
            let buy = self.level_count();
            let buy_len = len_u32(d.buy.len());
            Depth {
                buy: Span {
                    start: buy,
                    len: buy_len,
                },
                sell: Span {
                    start: buy.saturating_add(buy_len),
                    len: len_u32(d.sell.len()),
                },
            }
        });
        let written = match Self::record_at(&mut self.batch.data, at) {
            Some(bytes) => write_record(bytes, t, symbol, spans),
            None => Ok(()),
        }
        .and_then(|()| match &t.depth {
            Some(d) => write_levels(&mut self.batch.data, &d.buy, &d.sell),
            None => Ok(()),
        });
        match written {
            Ok(()) => {
                self.batch.count += 1;
                Ok(())
            }
            Err(e) => {
                self.batch.data.truncate(levels_before);
                if let Some(bytes) = Self::record_at(&mut self.batch.data, at) {
                    bytes.fill(0);
                }
                // A symbol first seen on this tick goes too.
                self.batch.symbols.truncate(symbols_before);
                Err(e)
            }
        }
    }

    /// The index of `symbol` in the batch's symbols, added if new: found by a
    /// scan while there are few, by the index past them.
    #[inline]
    fn symbol_index(&mut self, symbol: &str) -> u32 {
        let symbols = &self.batch.symbols;
        let found = if symbols.len() <= SCAN_SYMBOLS {
            symbols.iter().rposition(|s| s == symbol).map(len_u32)
        } else {
            let same = |i: &u32| symbols.get(*i as usize).is_some_and(|s| s == symbol);
            let hash = self.hasher.hash_one(symbol);
            self.symbol_at.find(hash, same).copied()
        };
        found.unwrap_or_else(|| self.add_symbol(symbol))
    }

    /// Appends `symbol` to the batch's symbols and to their index.
    fn add_symbol(&mut self, symbol: &str) -> u32 {
        self.batch.symbols.push(symbol.to_owned());
        let i = len_u32(self.batch.symbols.len() - 1);
        let (symbols, hasher) = (&self.batch.symbols, &self.hasher);
        self.symbol_at
            .insert_unique(hasher.hash_one(symbol), i, |k| rehash(hasher, symbols, *k));
        i
    }

    /// Appends a record taken from another batch, with that batch's symbol and the
    /// level records its spans point at; symbol and spans are rewritten for this one.
    fn push_record(&mut self, record: &[u8], symbol: Option<&str>, buy: &[u8], sell: &[u8]) {
        let at = self.next_slot();
        let symbol = symbol.map(|s| self.symbol_index(s));
        let buy_start = self.level_count();
        let (buy_len, sell_len) = (
            len_u32(buy.len() / LEVEL_SIZE),
            len_u32(sell.len() / LEVEL_SIZE),
        );
        let Some(bytes) = Self::record_at(&mut self.batch.data, at) else {
            return;
        };
        bytes.copy_from_slice(record.get(..TICK_SIZE).unwrap_or(&[0; TICK_SIZE]));
        let mut w = TickWriter::edit(bytes);
        w.no_symbol();
        if let Some(i) = symbol {
            w.symbol(i);
        }
        let depth = w.presence() & bit::DEPTH != 0;
        if depth {
            w.depth(Depth {
                buy: Span {
                    start: buy_start,
                    len: buy_len,
                },
                sell: Span {
                    start: buy_start.saturating_add(buy_len),
                    len: sell_len,
                },
            });
        }
        w.finish();
        if depth {
            let whole = |side: &[u8]| side.len() - side.len() % LEVEL_SIZE;
            self.batch.data.extend_from_slice(&buy[..whole(buy)]);
            self.batch.data.extend_from_slice(&sell[..whole(sell)]);
        }
        self.batch.count += 1;
    }
}

/// The hash of symbol `k` of `symbols`, for the index's growth (one a failed
/// push took back hashes as the empty text: it never matches anyway).
fn rehash(hasher: &foldhash::fast::RandomState, symbols: &[String], k: u32) -> u64 {
    hasher.hash_one(symbols.get(k as usize).map_or("", String::as_str))
}

/// Appends the buy side's level records, then the sell side's: the room for both
/// is made at once and each record written in place (padding bytes zero). On
/// error the levels written so far stay (the caller truncates).
fn write_levels(
    out: &mut Vec<u8>,
    buy: &[contract::DepthLevel],
    sell: &[contract::DepthLevel],
) -> Result<(), ConvertError> {
    let start = out.len();
    out.resize(start + (buy.len() + sell.len()) * LEVEL_SIZE, 0);
    let (buy_out, sell_out) = out[start..].split_at_mut(buy.len() * LEVEL_SIZE);
    write_side(buy_out, buy, "depth.buy.price")?;
    write_side(sell_out, sell, "depth.sell.price")
}

/// One side's levels into `out`, a zeroed slot of `LEVEL_SIZE` bytes per level.
#[inline]
fn write_side(
    out: &mut [u8],
    levels: &[contract::DepthLevel],
    field: &'static str,
) -> Result<(), ConvertError> {
    for (l, rec) in levels.iter().zip(out.chunks_exact_mut(LEVEL_SIZE)) {
        rec.copy_from_slice(&level_record(&alpha_panda_abi::tick::DepthLevel {
            price: decimal_to_wit(l.price, field)?,
            quantity: l.quantity,
            orders: u32::try_from(l.orders).unwrap_or(u32::MAX),
        }));
    }
    Ok(())
}

/// Writes every field of `t` into its zeroed record; `depth` gives the spans
/// (first level, number of levels) of the buy and sell levels the caller writes.
fn write_record(
    bytes: &mut [u8; TICK_SIZE],
    t: &MarketTick,
    symbol: Option<u32>,
    depth: Option<Depth>,
) -> Result<(), ConvertError> {
    let mut w = TickWriter::new(bytes);
    if let Some(i) = symbol {
        w.symbol(i);
    }
    w.required(
        t.instrument_token,
        t.timestamp.to_unix_micros(),
        decimal_to_wit(t.last_price, "last_price")?,
    );
    if let Some(d) = t.average_traded_price {
        w.average_traded_price(decimal_to_wit(d, "average_traded_price")?);
    }
    if let Some(d) = t.change {
        w.change(decimal_to_wit(d, "change")?);
    }
    if let Some(o) = &t.ohlc {
        w.ohlc(Ohlc {
            open: decimal_to_wit(o.open, "ohlc.open")?,
            high: decimal_to_wit(o.high, "ohlc.high")?,
            low: decimal_to_wit(o.low, "ohlc.low")?,
            close: decimal_to_wit(o.close, "ohlc.close")?,
        });
    }
    if let Some(v) = t.volume_traded {
        w.volume_traded(v);
    }
    if let Some(v) = t.last_traded_quantity {
        w.last_traded_quantity(v);
    }
    if let Some(v) = t.total_buy_quantity {
        w.total_buy_quantity(v);
    }
    if let Some(v) = t.total_sell_quantity {
        w.total_sell_quantity(v);
    }
    if let Some(v) = t.oi {
        w.oi(v);
    }
    if let Some(v) = t.oi_day_high {
        w.oi_day_high(v);
    }
    if let Some(v) = t.oi_day_low {
        w.oi_day_low(v);
    }
    if let Some(x) = &t.last_trade_time {
        w.last_trade_time_us(x.to_unix_micros());
    }
    if let Some(x) = &t.exchange_timestamp {
        w.exchange_timestamp_us(x.to_unix_micros());
    }
    if let Some(d) = depth {
        w.depth(d);
    }
    if let Some(m) = t.mode {
        w.mode(mode(m));
    }
    if let Some(b) = t.tradable {
        w.tradable(b);
    }
    w.finish();
    Ok(())
}

/// A batch holding the ticks at `keep` positions of `batch`, for a per-tick re-run.
/// Positions past the batch are skipped; a symbol index or depth span that points
/// outside it is dropped or clamped (the builder never writes one).
pub fn sub_batch(batch: &TickBatch, keep: &[usize]) -> TickBatch {
    let split = (batch.count as usize)
        .saturating_mul(TICK_SIZE)
        .min(batch.data.len());
    let (records, levels) = batch.data.split_at(split);
    let whole = levels.len() - levels.len() % LEVEL_SIZE;
    // The whole level records a span points at, clamped to the batch.
    let span = |record: &[u8], start_at: usize, len_at: usize| -> &[u8] {
        let start = (get_u32(record, start_at) as usize).saturating_mul(LEVEL_SIZE);
        let len = (get_u32(record, len_at) as usize).saturating_mul(LEVEL_SIZE);
        let end = start.saturating_add(len).min(whole);
        levels.get(start.min(end)..end).unwrap_or(&[])
    };
    let mut out = BatchBuilder::new();
    out.reserve_ticks(keep.len());
    for &i in keep {
        let Some(record) = i
            .checked_mul(TICK_SIZE)
            .and_then(|at| records.get(at..at.checked_add(TICK_SIZE)?))
        else {
            continue;
        };
        let presence = get_u32(record, off::PRESENCE);
        let symbol = (presence & bit::SYMBOL != 0)
            .then(|| batch.symbols.get(get_u32(record, off::SYMBOL) as usize))
            .flatten()
            .map(String::as_str);
        let buy = span(record, off::DEPTH_BUY_START, off::DEPTH_BUY_LEN);
        let sell = span(record, off::DEPTH_SELL_START, off::DEPTH_SELL_LEN);
        out.push_record(record, symbol, buy, sell);
    }
    out.take()
}

#[cfg(test)]
mod golden;

#[cfg(test)]
mod tests;
