//! Round-trip properties of the wire: for any ticks and any signals, encode → decode
//! gives them back and encode → decode → encode gives the same bytes; decoding
//! arbitrary bytes (or a valid buffer with bytes flipped) returns, never panics.

mod common;

use alpha_panda_abi::signal::{read_signals, write_signal, Price, Signal};
use alpha_panda_abi::tick::{DepthLevel, Ohlc, TickFields, TickMode};
use alpha_panda_abi::{Decimal, Side};
use common::{decode, encode, OwnedTick};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), any::<u8>()).prop_map(|(m, s)| Decimal::new(m, s))
}

fn level() -> impl Strategy<Value = DepthLevel> {
    (decimal(), any::<u64>(), any::<u32>()).prop_map(|(price, quantity, orders)| DepthLevel {
        price,
        quantity,
        orders,
    })
}

fn mode() -> impl Strategy<Value = TickMode> {
    prop_oneof![
        Just(TickMode::Ltp),
        Just(TickMode::Quote),
        Just(TickMode::Full)
    ]
}

fn fields() -> impl Strategy<Value = TickFields> {
    let head = (
        any::<u32>(),
        any::<i64>(),
        decimal(),
        of(any::<u64>()),
        of(any::<u64>()),
    );
    let mid = (
        of(decimal()),
        of(any::<u64>()),
        of(any::<u64>()),
        of(decimal()),
        of((decimal(), decimal(), decimal(), decimal())),
    );
    let tail = (
        of(any::<u64>()),
        of(any::<u64>()),
        of(any::<u64>()),
        of(any::<i64>()),
        of(any::<i64>()),
        of(mode()),
        of(any::<bool>()),
    );
    (head, mid, tail).prop_map(|(h, m, t)| TickFields {
        instrument_token: h.0,
        timestamp_us: h.1,
        last_price: h.2,
        volume_traded: h.3,
        last_traded_quantity: h.4,
        average_traded_price: m.0,
        total_buy_quantity: m.1,
        total_sell_quantity: m.2,
        change: m.3,
        ohlc: m.4.map(|(open, high, low, close)| Ohlc {
            open,
            high,
            low,
            close,
        }),
        oi: t.0,
        oi_day_high: t.1,
        oi_day_low: t.2,
        last_trade_time_us: t.3,
        exchange_timestamp_us: t.4,
        mode: t.5,
        tradable: t.6,
    })
}

fn tick() -> impl Strategy<Value = OwnedTick> {
    // A few common symbols (so batches share them) or any text.
    let symbol = of(prop_oneof![
        Just("RELIANCE".to_owned()),
        Just("NIFTY 50".to_owned()),
        any::<String>()
    ]);
    let depth = of((vec(level(), 0..4), vec(level(), 0..4)));
    (fields(), symbol, depth).prop_map(|(fields, symbol, depth)| OwnedTick {
        fields,
        symbol,
        depth,
    })
}

fn price() -> impl Strategy<Value = Price> {
    prop_oneof![
        decimal().prop_map(Price::Exact),
        any::<f64>().prop_map(Price::Approx)
    ]
}

fn signal() -> impl Strategy<Value = Signal> {
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    (
        (any::<u32>(), any::<u32>(), side, any::<u64>()),
        of(price()),
        of(any::<f64>()),
        vec((any::<String>(), any::<String>()), 0..4),
    )
        .prop_map(
            |((tick_index, instrument_token, side, quantity), price, confidence, metadata)| {
                Signal {
                    tick_index,
                    instrument_token,
                    side,
                    quantity,
                    price,
                    confidence,
                    metadata,
                }
            },
        )
}

fn signal_bytes(signals: &[Signal]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in signals {
        write_signal(&mut out, s);
    }
    out
}

/// Equal, with floats compared by their bits (a NaN price is a NaN price).
fn same_signal(a: &Signal, b: &Signal) -> bool {
    let price_bits = |p: Option<Price>| match p {
        None => (0, 0, 0),
        Some(Price::Exact(d)) => (1, d.mantissa() as u64, d.scale()),
        Some(Price::Approx(f)) => (2, f.to_bits(), 0),
    };
    (
        a.tick_index,
        a.instrument_token,
        a.side,
        a.quantity,
        &a.metadata,
    ) == (
        b.tick_index,
        b.instrument_token,
        b.side,
        b.quantity,
        &b.metadata,
    ) && price_bits(a.price) == price_bits(b.price)
        && a.confidence.map(f64::to_bits) == b.confidence.map(f64::to_bits)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ticks_round_trip(ticks in vec(tick(), 0..8)) {
        let b = encode(&ticks);
        let back: Vec<OwnedTick> = decode(b.count, &b.data, &b.symbols)
            .expect("a batch the encoder wrote parses")
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("every record the encoder wrote reads");
        prop_assert_eq!(&back, &ticks);
        prop_assert_eq!(encode(&back), b);
    }

    #[test]
    fn signals_round_trip(signals in vec(signal(), 0..6)) {
        let data = signal_bytes(&signals);
        let count = u32::try_from(signals.len()).expect("few");
        let back = read_signals(count, &data).expect("a buffer the encoder wrote reads");
        prop_assert_eq!(back.len(), signals.len());
        for (a, b) in back.iter().zip(&signals) {
            prop_assert!(same_signal(a, b), "{:?} != {:?}", a, b);
        }
        prop_assert_eq!(signal_bytes(&back), data);
    }

    #[test]
    fn arbitrary_tick_bytes_never_panic(
        count in 0u32..6,
        data in vec(any::<u8>(), 0..1200),
        symbols in vec(any::<String>(), 0..3),
    ) {
        let _ = decode(count, &data, &symbols);
    }

    #[test]
    fn damaged_batches_never_panic(
        ticks in vec(tick(), 1..5),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
        count_delta in -1i64..2,
    ) {
        let b = encode(&ticks);
        let mut data = b.data;
        for (at, x) in flips {
            let i = at.index(data.len());
            data[i] ^= x;
        }
        let keep = data.len() - cut.index(data.len() / 4 + 1);
        data.truncate(keep);
        let count = u32::try_from(i64::from(b.count) + count_delta).unwrap_or(0);
        let _ = decode(count, &data, &b.symbols);
        let _ = decode(u32::MAX, &data, &b.symbols);
    }

    #[test]
    fn arbitrary_signal_bytes_never_panic(
        count in prop_oneof![0u32..6, Just(u32::MAX)],
        data in vec(any::<u8>(), 0..400),
    ) {
        let _ = read_signals(count, &data);
    }

    #[test]
    fn damaged_signal_buffers_never_panic(
        signals in vec(signal(), 1..4),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut data = signal_bytes(&signals);
        for (at, x) in flips {
            let i = at.index(data.len());
            data[i] ^= x;
        }
        let count = u32::try_from(signals.len()).expect("few");
        let _ = read_signals(count, &data);
    }
}
