//! The batch builder's layout, in place writes and sub-batches, read back.

use super::*;
use alpha_panda_abi::tick::{read_level, read_tick, Batch};

fn full_tick() -> MarketTick {
    let text = include_str!("../../../../tests/fixtures/market_tick_full.json");
    let env: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut t: MarketTick = serde_json::from_value(env["data"].clone()).unwrap();
    // Distinct values, so a field read from the wrong place shows.
    t.oi = Some(901);
    t.oi_day_high = Some(902);
    t.oi_day_low = Some(903);
    t
}

fn abi(d: Decimal) -> alpha_panda_abi::Decimal {
    decimal_to_wit(d, "test").unwrap()
}

/// Decodes `batch` with the abi crate's reader (what the guest runs) and checks
/// every field of every tick against the `MarketTick` it was built from.
fn assert_crosses(batch: &TickBatch, sent: &[&MarketTick]) {
    assert_eq!(batch.count as usize, sent.len());
    let parsed = Batch::parse(batch.count, &batch.data).unwrap();
    let levels: Vec<_> = parsed.levels().iter().map(read_level).collect();
    assert_eq!(parsed.len(), sent.len());
    for (record, t) in parsed.records().iter().zip(sent) {
        let w = read_tick(record, batch.symbols.len(), levels.len()).unwrap();
        let f = w.fields;
        assert_eq!(f.instrument_token, t.instrument_token);
        assert_eq!(f.last_price, abi(t.last_price));
        assert_eq!(f.timestamp_us, t.timestamp.to_unix_micros());
        let symbol = w.symbol.map(|i| batch.symbols[i as usize].as_str());
        assert_eq!(symbol, t.symbol.as_deref());
        assert_eq!(f.volume_traded, t.volume_traded);
        assert_eq!(f.last_traded_quantity, t.last_traded_quantity);
        assert_eq!(f.average_traded_price, t.average_traded_price.map(abi));
        assert_eq!(f.total_buy_quantity, t.total_buy_quantity);
        assert_eq!(f.total_sell_quantity, t.total_sell_quantity);
        assert_eq!(f.change, t.change.map(abi));
        assert_eq!(
            f.ohlc,
            t.ohlc.as_ref().map(|o| Ohlc {
                open: abi(o.open),
                high: abi(o.high),
                low: abi(o.low),
                close: abi(o.close),
            })
        );
        assert_eq!(f.oi, t.oi);
        assert_eq!(f.oi_day_high, t.oi_day_high);
        assert_eq!(f.oi_day_low, t.oi_day_low);
        assert_eq!(
            f.last_trade_time_us,
            t.last_trade_time.as_ref().map(|x| x.to_unix_micros())
        );
        assert_eq!(
            f.exchange_timestamp_us,
            t.exchange_timestamp.as_ref().map(|x| x.to_unix_micros())
        );
        assert_eq!(w.depth.is_some(), t.depth.is_some());
        let side = |ls: &[contract::DepthLevel]| -> Vec<alpha_panda_abi::tick::DepthLevel> {
            ls.iter()
                .map(|l| alpha_panda_abi::tick::DepthLevel {
                    price: abi(l.price),
                    quantity: l.quantity,
                    orders: u32::try_from(l.orders).unwrap(),
                })
                .collect()
        };
        let (buy, sell) = t
            .depth
            .as_ref()
            .map(|d| (side(&d.buy), side(&d.sell)))
            .unwrap_or_default();
        let spans = w.depth.unwrap_or_default();
        assert_eq!(&levels[spans.buy.range()], &buy[..]);
        assert_eq!(&levels[spans.sell.range()], &sell[..]);
        assert_eq!(f.mode, t.mode.map(mode));
        assert_eq!(f.tradable, t.tradable);
    }
}

#[test]
fn every_field_crosses() {
    let t = full_tick();
    let bare = MarketTick::new(5, Decimal::new(-12345, 3), t.timestamp);
    let mut b = BatchBuilder::new();
    b.push(&t).unwrap();
    b.push(&bare).unwrap();
    b.push(&t).unwrap();
    let batch = b.batch().clone();
    assert_eq!(batch.count, 3);
    assert_eq!(
        batch.symbols,
        vec!["RELIANCE".to_owned()],
        "symbols interned"
    );
    assert_eq!(batch.data.len(), 3 * TICK_SIZE + 6 * LEVEL_SIZE);
    assert_crosses(&batch, &[&t, &bare, &t]);
    // The third tick's spans point past the first tick's levels.
    let third = &batch.data[2 * TICK_SIZE..3 * TICK_SIZE];
    assert_eq!(get_u32(third, off::DEPTH_BUY_START), 3);
    assert_eq!(get_u32(third, off::DEPTH_BUY_LEN), 2);
    assert_eq!(get_u32(third, off::DEPTH_SELL_START), 5);
    assert_eq!(get_u32(third, off::DEPTH_SELL_LEN), 1);
    assert_eq!(get_u32(third, off::PRESENCE), 0xffff, "every field present");
    assert_eq!(get_u32(&batch.data[TICK_SIZE..], off::PRESENCE), 0);
}

#[test]
fn pushing_after_batch_keeps_the_layout() {
    let t = full_tick();
    let mut b = BatchBuilder::new();
    b.push(&t).unwrap();
    let _ = b.batch();
    b.push(&t).unwrap();
    let batch = b.take();
    assert_crosses(&batch, &[&t, &t]);
    assert!(b.is_empty());
    b.push(&t).unwrap();
    assert_crosses(b.batch(), &[&t]);
}

/// Pushes `bad` onto a builder holding one full tick: it must fail on `field`
/// and leave the batch as it was. Returns the builder and its tick.
fn refused(bad: &MarketTick, field: &str) -> (BatchBuilder, MarketTick) {
    let t = full_tick();
    let mut b = BatchBuilder::new();
    b.push(&t).unwrap();
    let before = b.batch().clone();
    assert_eq!(b.push(bad).unwrap_err().field, field);
    assert_eq!(b.len(), 1);
    let after = b.batch();
    assert_eq!((after.count, &after.data), (before.count, &before.data));
    assert_eq!(after.symbols, before.symbols);
    (b, t)
}

#[test]
fn a_tick_that_does_not_fit_appends_nothing() {
    let mut bad = full_tick();
    bad.symbol = Some("NEW".into());
    // Fails after its buy levels were written.
    bad.depth.as_mut().unwrap().sell[0].price =
        Decimal::from_i128_with_scale(i128::from(i64::MAX) * 1000 + 1, 0);
    let (mut b, t) = refused(&bad, "depth.sell.price");
    b.push(&t).unwrap();
    assert_crosses(b.batch(), &[&t, &t]);
}

#[test]
fn a_bad_buy_level_appends_nothing_and_uneven_sides_keep_their_spans() {
    let mut bad = full_tick();
    bad.depth.as_mut().unwrap().buy[1].price =
        Decimal::from_i128_with_scale(i128::from(i64::MIN) * 1000 - 1, 0);
    let (mut b, t) = refused(&bad, "depth.buy.price");
    // One buy level against the sell side's five: the levels split where they should.
    let mut uneven = full_tick();
    uneven.depth.as_mut().unwrap().buy.truncate(1);
    b.push(&uneven).unwrap();
    assert_crosses(b.batch(), &[&t, &uneven]);
}

#[test]
fn hundreds_of_symbols_are_stored_once_each_and_read_back() {
    let t = full_tick();
    let ticks: Vec<MarketTick> = (0..2)
        .flat_map(|_| 0..300u32)
        .map(|i| {
            let mut x = t.clone();
            x.instrument_token = i;
            x.symbol = Some(format!("S{i}"));
            x.depth = None;
            x
        })
        .collect();
    let mut b = BatchBuilder::new();
    for x in &ticks {
        b.push(x).unwrap();
    }
    let batch = b.take();
    let once: Vec<String> = (0..300).map(|i| format!("S{i}")).collect();
    assert_eq!(batch.symbols, once, "each symbol once, in first-seen order");
    assert_crosses(&batch, &ticks.iter().collect::<Vec<_>>());
}

#[test]
fn each_tick_carries_its_own_symbol_in_a_batch_of_many() {
    let t = full_tick();
    let with = |token: u32, symbol: &str| {
        let mut x = t.clone();
        x.instrument_token = token;
        x.symbol = Some(symbol.to_owned());
        x
    };
    let mut bad = with(7, "TAKEN_BACK");
    bad.depth.as_mut().unwrap().sell[0].price =
        Decimal::from_i128_with_scale(i128::from(i64::MAX) * 1000 + 1, 0);
    let ticks = [
        with(1, "A"),
        with(2, "B"),
        with(1, "A"),
        // The instrument's symbol changes within the batch.
        with(1, "A2"),
        with(1, "A"),
        // Another instrument of an existing symbol.
        with(3, "B"),
        // A symbol from before there were too many to scan.
        with(100, "F0"),
    ];
    // More symbols than are scanned, so they are looked up by their text.
    let fillers: Vec<MarketTick> = (0..=SCAN_SYMBOLS as u32)
        .map(|i| with(100 + i, &format!("F{i}")))
        .collect();
    let mut b = BatchBuilder::new();
    for x in fillers.iter().chain(&ticks[..4]) {
        b.push(x).unwrap();
    }
    // Its new symbol is taken back with it; the index goes to the next new one.
    assert!(b.push(&bad).is_err());
    let c = with(7, "C");
    b.push(&c).unwrap();
    for x in &ticks[4..] {
        b.push(x).unwrap();
    }
    let batch = b.take();
    let mut symbols: Vec<String> = fillers.iter().filter_map(|f| f.symbol.clone()).collect();
    symbols.extend(["A", "B", "A2", "C"].map(String::from));
    assert_eq!(batch.symbols, symbols);
    let sent: Vec<&MarketTick> = fillers
        .iter()
        .chain(&ticks[..4])
        .chain([&c])
        .chain(&ticks[4..])
        .collect();
    assert_crosses(&batch, &sent);
    // A taken batch's lookups do not follow into the next one.
    for x in &fillers {
        b.push(x).unwrap();
    }
    b.push(&with(2, "D")).unwrap();
    assert_eq!(b.batch().symbols.last().map(String::as_str), Some("D"));
    let sent: Vec<MarketTick> = fillers.iter().cloned().chain([with(2, "D")]).collect();
    assert_crosses(b.batch(), &sent.iter().collect::<Vec<_>>());
}

#[test]
fn levels_move_when_the_room_grows_or_is_left_over() {
    let full = full_tick();
    let bare = MarketTick::new(5, Decimal::new(-12345, 3), full.timestamp);
    let mut bad = full_tick();
    bad.depth.as_mut().unwrap().buy[1].price =
        Decimal::from_i128_with_scale(i128::from(i64::MAX) * 1000 + 1, 0);
    // 40 ticks with no room reserved: the room doubles twice (16, 32, 64) while
    // levels are already written behind it, and one tick fails in between.
    let sent: Vec<&MarketTick> = (0..40)
        .map(|i| if i % 3 == 0 { &bare } else { &full })
        .collect();
    let mut b = BatchBuilder::new();
    for (i, t) in sent.iter().enumerate() {
        b.push(t).unwrap();
        if i == 20 {
            assert!(b.push(&bad).is_err());
        }
    }
    let batch = b.take();
    assert_eq!(batch.data.len(), 40 * TICK_SIZE + 26 * 3 * LEVEL_SIZE);
    assert_crosses(&batch, &sent);
    // The next batch has room for 40; a smaller one hands over no empty slot.
    b.push(&full).unwrap();
    b.push(&bare).unwrap();
    let small = b.take();
    assert_eq!(small.data.len(), 2 * TICK_SIZE + 3 * LEVEL_SIZE);
    assert_crosses(&small, &[&full, &bare]);
    // Reserved room, fewer ticks, cleared and reused: still the same layout.
    b.reserve_ticks(8);
    b.push(&full).unwrap();
    b.clear();
    b.push(&bare).unwrap();
    b.push(&full).unwrap();
    assert_crosses(b.batch(), &[&bare, &full]);
    assert_eq!(b.batch().data.len(), 2 * TICK_SIZE + 3 * LEVEL_SIZE);
}

#[test]
fn sub_batch_keeps_depth_and_symbols() {
    let mut b = BatchBuilder::new();
    let t = full_tick();
    let mut other = MarketTick::new(1, Decimal::ONE, t.timestamp);
    other.symbol = Some("OTHER".into());
    b.push(&other).unwrap();
    b.push(&t).unwrap();
    let sub = sub_batch(b.batch(), &[1]);
    assert_eq!(sub.count, 1);
    assert_eq!(sub.symbols, vec!["RELIANCE".to_owned()]);
    assert_eq!(sub.data.len(), TICK_SIZE + 3 * LEVEL_SIZE);
    assert_eq!(get_u32(&sub.data, off::SYMBOL), 0);
    assert_eq!(get_u32(&sub.data, off::DEPTH_BUY_START), 0);
    assert_eq!(get_u32(&sub.data, off::DEPTH_SELL_START), 2);
    assert_crosses(&sub, &[&t]);
    let both = sub_batch(b.batch(), &[1, 0, 7]);
    assert_crosses(&both, &[&t, &other]);
    assert_eq!(sub_batch(b.batch(), &[]).count, 0);
}

#[test]
fn sub_batch_of_a_damaged_batch_does_not_panic() {
    let mut b = BatchBuilder::new();
    b.push(&full_tick()).unwrap();
    let mut batch = b.take();
    batch.symbols.clear();
    batch.data.truncate(TICK_SIZE + 1);
    let sub = sub_batch(&batch, &[0, 1]);
    assert_eq!(sub.count, 1);
    assert!(sub.symbols.is_empty());
    assert_eq!(
        sub.data.len(),
        TICK_SIZE,
        "no partial level record is copied"
    );
    batch.count = u32::MAX;
    assert_eq!(sub_batch(&batch, &[0, 1, usize::MAX]).count, 1);
}

#[test]
fn huge_decimal_is_an_error_not_a_panic() {
    let d = Decimal::from_i128_with_scale(i128::from(i64::MAX) * 1000 + 1, 0);
    assert!(decimal_to_wit(d, "last_price").is_err());
    let d = Decimal::from_i128_with_scale(i128::from(i64::MAX) * 1000, 3);
    assert!(decimal_to_wit(d, "last_price").is_ok());
}
