//! Writing tick batches. [`TickWriter`] fills one tick record in place, field by
//! field (the host's `BatchBuilder` writes straight into its batch buffer with it);
//! [`level_record`] makes one depth-level record. [`BatchWriter`] builds a whole batch
//! in the canonical form: symbols in order of first use, each tick's buy levels then
//! its sell levels appended in tick order. The host's builder produces the same bytes,
//! and the golden vectors are in this form.

use crate::layout::{bit, level_off, off, LEVEL_SIZE, TICK_SIZE};
use crate::le::{len_u32, put, u32_at};
use crate::tick::{Depth, DepthLevel, Ohlc, Span, Tick, TickFields, TickMode};
use crate::Decimal;

/// One tick record being written in place. Each setter writes its field and sets
/// its presence bit; [`TickWriter::finish`] stores the presence bits. Fields left
/// unset keep the bytes the record had (zero, for a fresh record).
pub struct TickWriter<'a> {
    bytes: &'a mut [u8; TICK_SIZE],
    presence: u32,
}

impl<'a> TickWriter<'a> {
    /// Writes into a zeroed record (a fresh slot of a batch).
    #[inline]
    pub fn new(bytes: &'a mut [u8; TICK_SIZE]) -> Self {
        Self { bytes, presence: 0 }
    }

    /// Edits a written record: its presence bits are kept unless changed.
    #[inline]
    pub fn edit(bytes: &'a mut [u8; TICK_SIZE]) -> Self {
        let presence = u32_at(bytes.as_slice(), off::PRESENCE);
        Self { bytes, presence }
    }

    /// The presence bits so far.
    #[inline]
    pub fn presence(&self) -> u32 {
        self.presence
    }

    #[inline(always)]
    fn dec(&mut self, at: usize, scale_at: usize, d: Decimal) {
        put(self.bytes, at, d.mantissa().to_le_bytes());
        put(self.bytes, scale_at, [d.scale()]);
    }

    #[inline(always)]
    fn u64(&mut self, b: u32, at: usize, v: u64) {
        put(self.bytes, at, v.to_le_bytes());
        self.presence |= b;
    }

    #[inline(always)]
    fn i64(&mut self, b: u32, at: usize, v: i64) {
        put(self.bytes, at, v.to_le_bytes());
        self.presence |= b;
    }

    #[inline(always)]
    fn u32(&mut self, at: usize, v: u32) {
        put(self.bytes, at, v.to_le_bytes());
    }

    /// The fields every tick has.
    #[inline]
    pub fn required(&mut self, instrument_token: u32, timestamp_us: i64, last_price: Decimal) {
        self.u32(off::INSTRUMENT_TOKEN, instrument_token);
        put(self.bytes, off::TIMESTAMP_US, timestamp_us.to_le_bytes());
        self.dec(off::LAST_PRICE, off::LAST_PRICE_SCALE, last_price);
    }

    /// The symbol, as an index into the batch's symbols.
    #[inline]
    pub fn symbol(&mut self, index: u32) {
        self.u32(off::SYMBOL, index);
        self.presence |= bit::SYMBOL;
    }

    /// No symbol (clears the index and the bit of an edited record).
    #[inline]
    pub fn no_symbol(&mut self) {
        self.u32(off::SYMBOL, 0);
        self.presence &= !bit::SYMBOL;
    }

    #[inline]
    pub fn volume_traded(&mut self, v: u64) {
        self.u64(bit::VOLUME_TRADED, off::VOLUME_TRADED, v);
    }

    #[inline]
    pub fn last_traded_quantity(&mut self, v: u64) {
        self.u64(bit::LAST_TRADED_QUANTITY, off::LAST_TRADED_QUANTITY, v);
    }

    #[inline]
    pub fn average_traded_price(&mut self, d: Decimal) {
        self.dec(
            off::AVERAGE_TRADED_PRICE,
            off::AVERAGE_TRADED_PRICE_SCALE,
            d,
        );
        self.presence |= bit::AVERAGE_TRADED_PRICE;
    }

    #[inline]
    pub fn total_buy_quantity(&mut self, v: u64) {
        self.u64(bit::TOTAL_BUY_QUANTITY, off::TOTAL_BUY_QUANTITY, v);
    }

    #[inline]
    pub fn total_sell_quantity(&mut self, v: u64) {
        self.u64(bit::TOTAL_SELL_QUANTITY, off::TOTAL_SELL_QUANTITY, v);
    }

    #[inline]
    pub fn change(&mut self, d: Decimal) {
        self.dec(off::CHANGE, off::CHANGE_SCALE, d);
        self.presence |= bit::CHANGE;
    }

    #[inline]
    pub fn ohlc(&mut self, o: Ohlc) {
        self.dec(off::OPEN, off::OPEN_SCALE, o.open);
        self.dec(off::HIGH, off::HIGH_SCALE, o.high);
        self.dec(off::LOW, off::LOW_SCALE, o.low);
        self.dec(off::CLOSE, off::CLOSE_SCALE, o.close);
        self.presence |= bit::OHLC;
    }

    #[inline]
    pub fn oi(&mut self, v: u64) {
        self.u64(bit::OI, off::OI, v);
    }

    #[inline]
    pub fn oi_day_high(&mut self, v: u64) {
        self.u64(bit::OI_DAY_HIGH, off::OI_DAY_HIGH, v);
    }

    #[inline]
    pub fn oi_day_low(&mut self, v: u64) {
        self.u64(bit::OI_DAY_LOW, off::OI_DAY_LOW, v);
    }

    #[inline]
    pub fn last_trade_time_us(&mut self, v: i64) {
        self.i64(bit::LAST_TRADE_TIME, off::LAST_TRADE_TIME_US, v);
    }

    #[inline]
    pub fn exchange_timestamp_us(&mut self, v: i64) {
        self.i64(bit::EXCHANGE_TIMESTAMP, off::EXCHANGE_TIMESTAMP_US, v);
    }

    /// The spans of the tick's levels in the batch.
    #[inline]
    pub fn depth(&mut self, d: Depth) {
        self.u32(off::DEPTH_BUY_START, d.buy.start);
        self.u32(off::DEPTH_BUY_LEN, d.buy.len);
        self.u32(off::DEPTH_SELL_START, d.sell.start);
        self.u32(off::DEPTH_SELL_LEN, d.sell.len);
        self.presence |= bit::DEPTH;
    }

    #[inline]
    pub fn mode(&mut self, m: TickMode) {
        put(self.bytes, off::MODE, [m.byte()]);
        self.presence |= bit::MODE;
    }

    #[inline]
    pub fn tradable(&mut self, t: bool) {
        put(self.bytes, off::TRADABLE, [u8::from(t)]);
        self.presence |= bit::TRADABLE;
    }

    /// Every field of `f` (the absent ones are left as they are).
    pub fn fields(&mut self, f: &TickFields) {
        self.required(f.instrument_token, f.timestamp_us, f.last_price);
        let opt_u64 = |w: &mut Self, v: Option<u64>, set: fn(&mut Self, u64)| {
            if let Some(v) = v {
                set(w, v);
            }
        };
        opt_u64(self, f.volume_traded, Self::volume_traded);
        opt_u64(self, f.last_traded_quantity, Self::last_traded_quantity);
        opt_u64(self, f.total_buy_quantity, Self::total_buy_quantity);
        opt_u64(self, f.total_sell_quantity, Self::total_sell_quantity);
        opt_u64(self, f.oi, Self::oi);
        opt_u64(self, f.oi_day_high, Self::oi_day_high);
        opt_u64(self, f.oi_day_low, Self::oi_day_low);
        if let Some(d) = f.average_traded_price {
            self.average_traded_price(d);
        }
        if let Some(d) = f.change {
            self.change(d);
        }
        if let Some(o) = f.ohlc {
            self.ohlc(o);
        }
        if let Some(v) = f.last_trade_time_us {
            self.last_trade_time_us(v);
        }
        if let Some(v) = f.exchange_timestamp_us {
            self.exchange_timestamp_us(v);
        }
        if let Some(m) = f.mode {
            self.mode(m);
        }
        if let Some(t) = f.tradable {
            self.tradable(t);
        }
    }

    /// Stores the presence bits: the record is complete.
    #[inline]
    pub fn finish(self) {
        put(self.bytes, off::PRESENCE, self.presence.to_le_bytes());
    }
}

/// Writes `t` as a whole record: every byte of `bytes` is set (absent fields zero).
pub fn write_tick(bytes: &mut [u8; TICK_SIZE], t: &Tick) {
    bytes.fill(0);
    let mut w = TickWriter::new(bytes);
    w.fields(&t.fields);
    if let Some(i) = t.symbol {
        w.symbol(i);
    }
    if let Some(d) = t.depth {
        w.depth(d);
    }
    w.finish();
}

/// One depth-level record (padding zero).
#[inline]
pub fn level_record(l: &DepthLevel) -> [u8; LEVEL_SIZE] {
    let mut rec = [0u8; LEVEL_SIZE];
    put(&mut rec, level_off::PRICE, l.price.mantissa().to_le_bytes());
    put(&mut rec, level_off::QUANTITY, l.quantity.to_le_bytes());
    put(&mut rec, level_off::ORDERS, l.orders.to_le_bytes());
    put(&mut rec, level_off::PRICE_SCALE, [l.price.scale()]);
    rec
}

/// A whole batch as the WIT `tick-batch` carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedBatch {
    pub count: u32,
    pub data: Vec<u8>,
    pub symbols: Vec<String>,
}

/// Builds a batch in the canonical form, tick by tick.
#[derive(Debug, Default)]
pub struct BatchWriter {
    records: Vec<u8>,
    levels: Vec<u8>,
    symbols: Vec<String>,
}

impl BatchWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one tick: its fields, its symbol text (stored once per batch) and, if
    /// it carried depth, its buy and sell levels.
    pub fn push(
        &mut self,
        fields: &TickFields,
        symbol: Option<&str>,
        depth: Option<(&[DepthLevel], &[DepthLevel])>,
    ) {
        let symbol = symbol.map(|s| match self.symbols.iter().position(|x| x == s) {
            Some(i) => len_u32(i),
            None => {
                self.symbols.push(s.to_owned());
                len_u32(self.symbols.len() - 1)
            }
        });
        let depth = depth.map(|(buy, sell)| {
            let start = len_u32(self.levels.len() / LEVEL_SIZE);
            for l in buy.iter().chain(sell) {
                self.levels.extend_from_slice(&level_record(l));
            }
            let buy_len = len_u32(buy.len());
            Depth {
                buy: Span {
                    start,
                    len: buy_len,
                },
                sell: Span {
                    start: start.saturating_add(buy_len),
                    len: len_u32(sell.len()),
                },
            }
        });
        let mut record = [0u8; TICK_SIZE];
        write_tick(
            &mut record,
            &Tick {
                fields: *fields,
                symbol,
                depth,
            },
        );
        self.records.extend_from_slice(&record);
    }

    /// The batch: its records, then its levels.
    pub fn finish(self) -> EncodedBatch {
        let count = len_u32(self.records.len() / TICK_SIZE);
        let mut data = self.records;
        data.extend_from_slice(&self.levels);
        EncodedBatch {
            count,
            data,
            symbols: self.symbols,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::{read_level, read_tick, Batch};

    fn full() -> TickFields {
        let d = Decimal::new;
        TickFields {
            volume_traded: Some(1),
            last_traded_quantity: Some(2),
            average_traded_price: Some(d(3, 1)),
            total_buy_quantity: Some(4),
            total_sell_quantity: Some(5),
            change: Some(d(-6, 2)),
            ohlc: Some(Ohlc {
                open: d(7, 0),
                high: d(8, 1),
                low: d(9, 2),
                close: d(10, 3),
            }),
            oi: Some(11),
            oi_day_high: Some(12),
            oi_day_low: Some(13),
            last_trade_time_us: Some(-14),
            exchange_timestamp_us: Some(15),
            mode: Some(TickMode::Quote),
            tradable: Some(false),
            ..TickFields::new(16, d(250150, 2), 17)
        }
    }

    #[test]
    fn a_written_record_reads_back() {
        let t = Tick {
            fields: full(),
            symbol: Some(2),
            depth: Some(Depth {
                buy: Span { start: 1, len: 2 },
                sell: Span { start: 3, len: 0 },
            }),
        };
        let mut r = [0xaau8; TICK_SIZE];
        write_tick(&mut r, &t);
        assert_eq!(read_tick(&r, 3, 3), Ok(t));
        assert_eq!(&r[173..], &[0, 0, 0], "padding is zero");
        let bare = Tick {
            fields: TickFields::new(1, Decimal::new(1, 0), 0),
            symbol: None,
            depth: None,
        };
        write_tick(&mut r, &bare);
        assert_eq!(read_tick(&r, 0, 0), Ok(bare));
        assert_eq!(u32_at(&r, off::PRESENCE), 0);
    }

    #[test]
    fn edit_keeps_the_other_fields() {
        let mut r = [0u8; TICK_SIZE];
        let mut w = TickWriter::new(&mut r);
        w.fields(&full());
        w.symbol(5);
        w.finish();
        let mut w = TickWriter::edit(&mut r);
        assert_ne!(w.presence() & bit::SYMBOL, 0);
        w.no_symbol();
        w.finish();
        let t = read_tick(&r, 0, 0).unwrap();
        assert_eq!((t.fields, t.symbol), (full(), None));
    }

    #[test]
    fn batches_intern_symbols_and_append_levels_in_tick_order() {
        let level = |m: i64, q: u64| DepthLevel {
            price: Decimal::new(m, 1),
            quantity: q,
            orders: 1,
        };
        let mut w = BatchWriter::new();
        let f = TickFields::new(1, Decimal::new(1, 0), 0);
        w.push(
            &f,
            Some("A"),
            Some((&[level(1, 1)], &[level(2, 2), level(3, 3)])),
        );
        w.push(&f, Some("B"), None);
        w.push(&f, Some("A"), Some((&[], &[level(4, 4)])));
        let b = w.finish();
        assert_eq!(b.count, 3);
        assert_eq!(b.symbols, ["A", "B"]);
        assert_eq!(b.data.len(), 3 * TICK_SIZE + 4 * LEVEL_SIZE);
        let batch = Batch::parse(b.count, &b.data).unwrap();
        let n = batch.levels().len();
        let ticks: Vec<Tick> = batch
            .records()
            .iter()
            .map(|r| read_tick(r, 2, n).unwrap())
            .collect();
        assert_eq!(ticks[2].symbol, Some(0));
        assert_eq!(ticks[1].depth, None);
        let spans = ticks[2].depth.unwrap();
        assert_eq!((spans.buy.range(), spans.sell.range()), (3..3, 3..4));
        assert_eq!(read_level(&batch.levels()[3]), level(4, 4));
        assert_eq!(
            ticks[0].depth.unwrap().sell.range(),
            1..3,
            "the first tick's sell levels follow its buy levels"
        );
    }
}
