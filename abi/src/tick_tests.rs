//! Tests of the tick batch reader: every field from its offset, every record and batch
//! error, read through `read_tick` (which reads each field of a `TickRecord`).

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
