//! The golden vectors in `vectors/`: byte files and the JSON of what they mean, which
//! every SDK, in any language, must decode (and, for canonical ones, encode) the same.
//!
//! The cases are defined here, in Rust. With `ALPHA_PANDA_BLESS=1` this test writes
//! them (and `vectors/README.md`); otherwise it checks that the committed files are
//! exactly what the case definitions give, that the decoders give back each file's
//! meaning, and that the encoders, given only a canonical file's JSON, write its bytes.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use alpha_panda_abi::layout::{off, sig_off, SIGNAL_SIZE, TICK_SIZE};
use alpha_panda_abi::signal::{read_signals, write_signal, Price, Signal};
use alpha_panda_abi::tick::{DepthLevel, Ohlc, TickFields, TickMode};
use alpha_panda_abi::{Decimal, Side};
use common::{decode, encode, Decoded, OwnedTick};
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

fn bless() -> bool {
    std::env::var("ALPHA_PANDA_BLESS").is_ok_and(|v| v == "1")
}

fn d(s: &str) -> Decimal {
    s.parse().expect("a decimal literal")
}

fn lv(price: Decimal, quantity: u64, orders: u32) -> DepthLevel {
    DepthLevel {
        price,
        quantity,
        orders,
    }
}

// ------------------------------------------------------------------ tick meaning

fn level_json(l: &DepthLevel) -> Value {
    json!({"price": l.price.to_string(), "quantity": l.quantity, "orders": l.orders})
}

fn tick_json(t: &OwnedTick) -> Value {
    let f = &t.fields;
    let dec = |d: Option<Decimal>| d.map(|d| d.to_string());
    let levels = |ls: &[DepthLevel]| ls.iter().map(level_json).collect::<Vec<_>>();
    json!({
        "instrument_token": f.instrument_token,
        "timestamp_us": f.timestamp_us,
        "last_price": f.last_price.to_string(),
        "volume_traded": f.volume_traded,
        "last_traded_quantity": f.last_traded_quantity,
        "average_traded_price": dec(f.average_traded_price),
        "total_buy_quantity": f.total_buy_quantity,
        "total_sell_quantity": f.total_sell_quantity,
        "change": dec(f.change),
        "ohlc": f.ohlc.map(|o| json!({
            "open": o.open.to_string(),
            "high": o.high.to_string(),
            "low": o.low.to_string(),
            "close": o.close.to_string(),
        })),
        "oi": f.oi,
        "oi_day_high": f.oi_day_high,
        "oi_day_low": f.oi_day_low,
        "last_trade_time_us": f.last_trade_time_us,
        "exchange_timestamp_us": f.exchange_timestamp_us,
        "symbol": t.symbol,
        "depth": t.depth.as_ref().map(|(b, s)| json!({"buy": levels(b), "sell": levels(s)})),
        "mode": f.mode.map(TickMode::as_str),
        "tradable": f.tradable,
    })
}

fn dec_from(v: &Value, what: &str) -> Option<Decimal> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.parse().unwrap_or_else(|e| panic!("{what}: {e}"))),
        other => panic!("{what}: {other} is not a decimal string"),
    }
}

fn u64_from(v: &Value, what: &str) -> Option<u64> {
    (!v.is_null()).then(|| v.as_u64().unwrap_or_else(|| panic!("{what}: {v}")))
}

fn i64_from(v: &Value, what: &str) -> Option<i64> {
    (!v.is_null()).then(|| v.as_i64().unwrap_or_else(|| panic!("{what}: {v}")))
}

fn tick_from_json(v: &Value) -> OwnedTick {
    let dec = |k: &str| dec_from(&v[k], k);
    let u64 = |k: &str| u64_from(&v[k], k);
    let i64 = |k: &str| i64_from(&v[k], k);
    let level = |l: &Value| DepthLevel {
        price: dec_from(&l["price"], "level price").expect("a level has a price"),
        quantity: u64_from(&l["quantity"], "quantity").expect("a level has a quantity"),
        orders: u64_from(&l["orders"], "orders")
            .and_then(|o| u32::try_from(o).ok())
            .expect("a level has u32 orders"),
    };
    let side = |s: &Value| -> Vec<DepthLevel> {
        s.as_array()
            .expect("a depth side is a list")
            .iter()
            .map(level)
            .collect()
    };
    let fields = TickFields {
        instrument_token: u64("instrument_token")
            .and_then(|t| u32::try_from(t).ok())
            .expect("instrument_token"),
        timestamp_us: i64("timestamp_us").expect("timestamp_us"),
        last_price: dec("last_price").expect("last_price"),
        volume_traded: u64("volume_traded"),
        last_traded_quantity: u64("last_traded_quantity"),
        average_traded_price: dec("average_traded_price"),
        total_buy_quantity: u64("total_buy_quantity"),
        total_sell_quantity: u64("total_sell_quantity"),
        change: dec("change"),
        ohlc: (!v["ohlc"].is_null()).then(|| {
            let p = |k: &str| dec_from(&v["ohlc"][k], k).expect("ohlc prices");
            Ohlc {
                open: p("open"),
                high: p("high"),
                low: p("low"),
                close: p("close"),
            }
        }),
        oi: u64("oi"),
        oi_day_high: u64("oi_day_high"),
        oi_day_low: u64("oi_day_low"),
        last_trade_time_us: i64("last_trade_time_us"),
        exchange_timestamp_us: i64("exchange_timestamp_us"),
        mode: v["mode"].as_str().map(|m| match m {
            "ltp" => TickMode::Ltp,
            "quote" => TickMode::Quote,
            "full" => TickMode::Full,
            other => panic!("mode {other}"),
        }),
        tradable: v["tradable"].as_bool(),
    };
    OwnedTick {
        fields,
        symbol: v["symbol"].as_str().map(str::to_owned),
        depth: (!v["depth"].is_null())
            .then(|| (side(&v["depth"]["buy"]), side(&v["depth"]["sell"]))),
    }
}

/// The meaning of a decoded batch, as the vectors' JSON states it.
fn decoded_json(count: u32, symbols: &[String], decoded: &Decoded) -> Value {
    match decoded {
        Err(e) => json!({"count": count, "symbols": symbols, "error": e.kind()}),
        Ok(ticks) => {
            let ticks: Vec<Value> = ticks
                .iter()
                .map(|t| match t {
                    Ok(t) => tick_json(t),
                    Err(e) => json!({"error": e.kind()}),
                })
                .collect();
            json!({"count": count, "symbols": symbols, "ticks": ticks})
        }
    }
}

// -------------------------------------------------------------------- tick cases

/// What a tick vector must decode to.
enum Expect {
    /// Per tick: its meaning, or the kind of its record error.
    Ticks(Vec<Result<OwnedTick, &'static str>>),
    /// The kind of the batch error.
    Batch(&'static str),
}

struct TickCase {
    name: &'static str,
    about: &'static str,
    count: u32,
    data: Vec<u8>,
    symbols: Vec<String>,
    expect: Expect,
    /// The bytes are exactly what an encoder writes for the meaning.
    canonical: bool,
}

impl TickCase {
    fn valid(name: &'static str, about: &'static str, ticks: Vec<OwnedTick>) -> Self {
        let b = encode(&ticks);
        Self {
            name,
            about,
            count: b.count,
            data: b.data,
            symbols: b.symbols,
            expect: Expect::Ticks(ticks.into_iter().map(Ok).collect()),
            canonical: true,
        }
    }

    /// `ticks` encoded, then changed by `damage`; per tick the meaning or error kind.
    fn damaged(
        name: &'static str,
        about: &'static str,
        ticks: Vec<OwnedTick>,
        damage: impl FnOnce(&mut Vec<u8>),
        errors: &[(usize, &'static str)],
    ) -> Self {
        let b = encode(&ticks);
        let mut data = b.data;
        damage(&mut data);
        let expect = ticks
            .into_iter()
            .enumerate()
            .map(|(i, t)| match errors.iter().find(|(at, _)| *at == i) {
                Some((_, kind)) => Err(*kind),
                None => Ok(t),
            })
            .collect();
        Self {
            name,
            about,
            count: b.count,
            data,
            symbols: b.symbols,
            expect: Expect::Ticks(expect),
            canonical: false,
        }
    }

    fn json(&self) -> Value {
        let mut v = match &self.expect {
            Expect::Batch(kind) => {
                json!({"count": self.count, "symbols": self.symbols, "error": kind})
            }
            Expect::Ticks(ticks) => {
                let ticks: Vec<Value> = ticks
                    .iter()
                    .map(|t| match t {
                        Ok(t) => tick_json(t),
                        Err(kind) => json!({"error": kind}),
                    })
                    .collect();
                json!({"count": self.count, "symbols": self.symbols, "ticks": ticks})
            }
        };
        v["description"] = json!(self.about);
        v["canonical"] = json!(self.canonical);
        v
    }
}

fn patch(data: &mut [u8], tick: usize, at: usize, bytes: &[u8]) {
    let at = tick * TICK_SIZE + at;
    data[at..at + bytes.len()].copy_from_slice(bytes);
}

fn add_presence(data: &mut [u8], tick: usize, bits: u32) {
    let at = tick * TICK_SIZE + off::PRESENCE;
    let mut p = [0u8; 4];
    p.copy_from_slice(&data[at..at + 4]);
    let presence = u32::from_le_bytes(p) | bits;
    data[at..at + 4].copy_from_slice(&presence.to_le_bytes());
}

const TS: i64 = 1_756_442_704_000_000; // 2025-08-29T04:45:04Z

fn reliance() -> OwnedTick {
    OwnedTick::new(TickFields {
        volume_traded: Some(1_234_567),
        last_traded_quantity: Some(10),
        average_traded_price: Some(d("2498.2")),
        total_buy_quantity: Some(50_000),
        total_sell_quantity: Some(42_000),
        change: Some(d("0.46")),
        ohlc: Some(Ohlc {
            open: d("2480.0"),
            high: d("2510.0"),
            low: d("2475.5"),
            close: d("2490.0"),
        }),
        oi: Some(12_000),
        oi_day_high: Some(15_000),
        oi_day_low: Some(9_000),
        last_trade_time_us: Some(TS - 1_000_000),
        exchange_timestamp_us: Some(TS),
        mode: Some(TickMode::Full),
        tradable: Some(true),
        ..TickFields::new(738_561, d("2501.55"), TS)
    })
    .symbol("RELIANCE")
    .depth(
        vec![lv(d("2501.50"), 5, 2), lv(d("2501.45"), 12, 3)],
        vec![lv(d("2501.60"), 7, 1), lv(d("2501.65"), 30, 4)],
    )
}

fn reliance_later() -> OwnedTick {
    let mut t = reliance();
    t.fields.last_price = d("2501.60");
    t.fields.timestamp_us = TS + 250_000;
    t.fields.volume_traded = Some(1_234_600);
    t.depth = Some((
        vec![lv(d("2501.55"), 9, 1)],
        vec![lv(d("2501.60"), 4, 2), lv(d("2501.7"), 18, 5)],
    ));
    t
}

fn nifty() -> OwnedTick {
    OwnedTick::new(TickFields {
        mode: Some(TickMode::Ltp),
        tradable: Some(false),
        ..TickFields::new(256_265, d("24712.05"), TS + 1_000_000)
    })
    .symbol("NIFTY 50")
}

fn infy() -> OwnedTick {
    OwnedTick::new(TickFields {
        volume_traded: Some(880_000),
        last_traded_quantity: Some(25),
        average_traded_price: Some(d("1540.10")),
        total_buy_quantity: Some(1_200),
        total_sell_quantity: Some(900),
        change: Some(d("-0.35")),
        ohlc: Some(Ohlc {
            open: d("1545"),
            high: d("1549.95"),
            low: d("1536.2"),
            close: d("1546.40"),
        }),
        mode: Some(TickMode::Quote),
        tradable: Some(true),
        ..TickFields::new(408_065, d("1541.00"), TS + 500_000)
    })
    .symbol("INFY")
}

fn tick_cases() -> Vec<TickCase> {
    let mut infy_empty_depth = infy();
    infy_empty_depth.fields.timestamp_us += 1;
    infy_empty_depth.depth = Some((vec![], vec![]));
    let max = OwnedTick::new(TickFields {
        volume_traded: Some(u64::MAX),
        last_traded_quantity: Some(u64::MAX),
        average_traded_price: Some(Decimal::new(i64::MIN, 28)),
        total_buy_quantity: Some(u64::MAX),
        total_sell_quantity: Some(u64::MAX),
        change: Some(d("-12.75")),
        ohlc: Some(Ohlc {
            open: Decimal::new(0, 0),
            high: Decimal::new(i64::MAX, 28),
            low: Decimal::new(i64::MIN, 0),
            close: Decimal::new(-1, 28),
        }),
        oi: Some(u64::MAX),
        oi_day_high: Some(u64::MAX),
        oi_day_low: Some(0),
        last_trade_time_us: Some(-1),
        exchange_timestamp_us: Some(4_102_444_800_000_000), // 2100-01-01
        mode: Some(TickMode::Quote),
        tradable: Some(true),
        ..TickFields::new(u32::MAX, Decimal::new(i64::MAX, 0), 0)
    })
    .symbol("Ω TEST ✓")
    .depth(
        vec![lv(Decimal::new(i64::MAX, 28), u64::MAX, u32::MAX)],
        vec![lv(Decimal::new(i64::MIN, 0), 0, 0)],
    );
    let zero = OwnedTick::new(TickFields {
        change: Some(d("-5")),
        mode: Some(TickMode::Ltp),
        ..TickFields::new(0, d("0"), -1_000_000)
    });
    let wide = OwnedTick::new(TickFields {
        average_traded_price: Some(Decimal::new(i64::MAX, 29)),
        change: Some(Decimal::new(i64::MIN, 255)),
        last_trade_time_us: Some(i64::MAX),
        exchange_timestamp_us: Some(i64::MIN),
        ..TickFields::new(1, Decimal::new(1, 255), i64::MIN)
    })
    .depth(vec![], vec![lv(Decimal::new(-7, 200), 1, 1)]);

    vec![
        TickCase::valid(
            "full_depth",
            "One FULL tick with every field of the feed and two depth levels a side; \
             prices keep their trailing zeros (\"2501.50\" is scale 2).",
            vec![reliance()],
        ),
        TickCase::valid(
            "index_ltp",
            "An LTP-only index tick: the required fields, symbol, mode and tradable.",
            vec![nifty()],
        ),
        TickCase::valid(
            "several_shared",
            "Five ticks of three symbols (each stored once, in order of first use); \
             depth on three of them, one with a depth object whose sides are both empty, \
             their levels appended in tick order, buy before sell.",
            vec![
                reliance(),
                infy(),
                reliance_later(),
                nifty(),
                infy_empty_depth,
            ],
        ),
        TickCase::valid(
            "extremes",
            "Extreme values the host can write: u64::MAX quantities and OI, u32::MAX \
             instrument and orders, i64::MIN and i64::MAX mantissas at scales 0 and 28, a \
             negative change, zero price, times before 1970 and in 2100, a non-ASCII symbol.",
            vec![max, zero],
        ),
        TickCase::valid(
            "wide_scales",
            "Values a reader must take although the host never writes them: scales 29, \
             200 and 255, timestamps i64::MIN and i64::MAX, depth with no buy levels.",
            vec![wide],
        ),
        TickCase::valid(
            "empty",
            "A batch of no ticks: empty data, no symbols.",
            vec![],
        ),
        TickCase::damaged(
            "garbage_in_absent_fields",
            "Valid but not canonical: the bytes of absent fields (and the padding) are not \
             zero. They carry no meaning: a reader gives the same tick as index_ltp.",
            vec![nifty()],
            |data| {
                for (at, len) in [(24, 16), (40, 32), (72, 72), (148, 16), (165, 6), (173, 3)] {
                    patch(data, 0, at, &vec![0xab; len]);
                }
            },
            &[],
        ),
        TickCase {
            name: "short_data",
            about: "count says 2 ticks, data holds one record: the whole batch fails.",
            expect: Expect::Batch("short_data"),
            canonical: false,
            count: 2,
            ..TickCase::valid("", "", vec![nifty()])
        },
        TickCase {
            name: "bad_level_region",
            about: "The level region after the records is one byte short of whole \
                    24-byte records: the whole batch fails.",
            expect: Expect::Batch("bad_level_region"),
            canonical: false,
            ..{
                let mut c = TickCase::valid("", "", vec![reliance()]);
                c.data.pop();
                c
            }
        },
        TickCase::damaged(
            "reserved_presence_bit",
            "Presence bit 16 set on tick 0 and bit 31 on tick 2: those ticks fail, tick 1 \
             is read.",
            vec![nifty(), reliance(), nifty()],
            |data| {
                add_presence(data, 0, 1 << 16);
                add_presence(data, 2, 1 << 31);
            },
            &[(0, "reserved_presence_bit"), (2, "reserved_presence_bit")],
        ),
        TickCase::damaged(
            "symbol_out_of_range",
            "Tick 1's symbol index is 2 in a batch of 2 symbols: it fails, tick 0 is read.",
            vec![reliance(), nifty()],
            |data| patch(data, 1, off::SYMBOL, &2u32.to_le_bytes()),
            &[(1, "symbol_out_of_range")],
        ),
        TickCase::damaged(
            "depth_span_out_of_range",
            "Of 11 levels, tick 1's buy span is 10+2 and tick 2's sell span starts at \
             u32::MAX: both fail, tick 0 is read.",
            vec![reliance(), reliance_later(), reliance()],
            |data| {
                patch(data, 1, off::DEPTH_BUY_START, &10u32.to_le_bytes());
                patch(data, 1, off::DEPTH_BUY_LEN, &2u32.to_le_bytes());
                patch(data, 2, off::DEPTH_SELL_START, &u32::MAX.to_le_bytes());
            },
            &[
                (1, "depth_span_out_of_range"),
                (2, "depth_span_out_of_range"),
            ],
        ),
        TickCase::damaged(
            "mode_3",
            "The mode byte is 3 (0-2 are defined): the tick fails.",
            vec![nifty()],
            |data| patch(data, 0, off::MODE, &[3]),
            &[(0, "bad_mode")],
        ),
        TickCase::damaged(
            "tradable_2",
            "The tradable byte is 2 (0 or 1): the tick fails.",
            vec![infy()],
            |data| patch(data, 0, off::TRADABLE, &[2]),
            &[(0, "bad_tradable")],
        ),
    ]
}

// ------------------------------------------------------------------ signal cases

fn price_json(p: Option<Price>) -> Value {
    match p {
        None => Value::Null,
        Some(Price::Exact(d)) => json!({"exact": d.to_string()}),
        Some(Price::Approx(f)) => json!({"approx": f}),
    }
}

fn signal_json(s: &Signal) -> Value {
    json!({
        "tick_index": s.tick_index,
        "instrument_token": s.instrument_token,
        "side": s.side.as_str(),
        "quantity": s.quantity,
        "price": price_json(s.price),
        "confidence": s.confidence,
        "metadata": s.metadata.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
}

fn signal_from_json(v: &Value) -> Signal {
    let u32 = |k: &str| {
        v[k].as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_else(|| panic!("{k}"))
    };
    let price = match &v["price"] {
        Value::Null => None,
        p if !p["exact"].is_null() => {
            Some(Price::Exact(dec_from(&p["exact"], "exact").expect("exact")))
        }
        p => Some(Price::Approx(
            p["approx"].as_f64().expect("approx is a number"),
        )),
    };
    Signal {
        tick_index: u32("tick_index"),
        instrument_token: u32("instrument_token"),
        side: match v["side"].as_str() {
            Some("buy") => Side::Buy,
            Some("sell") => Side::Sell,
            other => panic!("side {other:?}"),
        },
        quantity: v["quantity"].as_u64().expect("quantity"),
        price,
        confidence: v["confidence"].as_f64(),
        metadata: v["metadata"]
            .as_array()
            .expect("metadata is a list")
            .iter()
            .map(|p| {
                let s = |i: usize| {
                    p[i].as_str()
                        .expect("metadata pairs are strings")
                        .to_owned()
                };
                (s(0), s(1))
            })
            .collect(),
    }
}

fn signals_decoded_json(count: u32, data: &[u8]) -> Value {
    match read_signals(count, data) {
        Ok(s) => json!({"count": count, "signals": s.iter().map(signal_json).collect::<Vec<_>>()}),
        Err(e) => json!({"count": count, "error": e.kind()}),
    }
}

struct SignalCase {
    name: &'static str,
    about: &'static str,
    count: u32,
    data: Vec<u8>,
    /// The signals, or the kind of the buffer's error.
    expect: Result<Vec<Signal>, &'static str>,
}

impl SignalCase {
    fn valid(name: &'static str, about: &'static str, signals: Vec<Signal>) -> Self {
        let mut data = Vec::new();
        for s in &signals {
            write_signal(&mut data, s);
        }
        Self {
            name,
            about,
            count: u32::try_from(signals.len()).expect("few signals"),
            data,
            expect: Ok(signals),
        }
    }

    fn broken(
        name: &'static str,
        about: &'static str,
        error: &'static str,
        damage: impl FnOnce(&mut Self),
    ) -> Self {
        let mut c = Self::valid(name, about, basic_signals());
        damage(&mut c);
        c.expect = Err(error);
        c
    }

    fn json(&self) -> Value {
        let mut v = match &self.expect {
            Ok(s) => {
                json!({"count": self.count, "signals": s.iter().map(signal_json).collect::<Vec<_>>()})
            }
            Err(kind) => json!({"count": self.count, "error": kind}),
        };
        v["description"] = json!(self.about);
        v
    }
}

fn sig(tick_index: u32, instrument_token: u32, side: Side, quantity: u64) -> Signal {
    Signal {
        tick_index,
        instrument_token,
        side,
        quantity,
        price: None,
        confidence: None,
        metadata: vec![],
    }
}

fn basic_signals() -> Vec<Signal> {
    vec![
        Signal {
            price: Some(Price::Exact(d("2501.50"))),
            confidence: Some(0.25),
            metadata: vec![
                ("momentum".into(), "0.012345".into()),
                ("reason".into(), "crossed ↑ SMA(20)".into()),
            ],
            ..sig(0, 738_561, Side::Buy, 100)
        },
        Signal {
            price: Some(Price::Approx(2501.5)),
            ..sig(0, 738_561, Side::Sell, 50)
        },
        Signal {
            confidence: Some(1.0),
            metadata: vec![("é".into(), String::new())],
            ..sig(3, 256_265, Side::Buy, 1)
        },
    ]
}

fn signal_cases() -> Vec<SignalCase> {
    let extremes = vec![
        Signal {
            price: Some(Price::Exact(Decimal::new(i64::MIN, 255))),
            confidence: Some(0.0),
            metadata: vec![
                (String::new(), String::new()),
                ("🐼".into(), "价格 2501.50".into()),
                ("nul".into(), "a\u{0}b".into()),
                ("long".into(), "x".repeat(300)),
            ],
            ..sig(u32::MAX, u32::MAX, Side::Sell, u64::MAX)
        },
        Signal {
            price: Some(Price::Approx(5e-324)),
            confidence: Some(1.0),
            ..sig(0, 0, Side::Buy, 1)
        },
        Signal {
            price: Some(Price::Approx(f64::MAX)),
            ..sig(1, 1, Side::Buy, 2)
        },
        Signal {
            price: Some(Price::Approx(-1.5e300)),
            confidence: Some(0.5),
            ..sig(1, 2, Side::Sell, 3)
        },
        Signal {
            price: Some(Price::Exact(Decimal::new(i64::MAX, 0))),
            ..sig(2, 3, Side::Buy, 4)
        },
    ];
    vec![
        SignalCase::valid(
            "basic",
            "Three signals: an exact price with confidence and metadata (one value \
             non-ASCII), an approximate price, no price with a one-pair metadata whose key \
             is non-ASCII and whose value is empty.",
            basic_signals(),
        ),
        SignalCase::valid("empty", "No signals: an empty buffer.", vec![]),
        SignalCase::valid(
            "extremes",
            "Values the wire carries although the host refuses some (a negative or \
             non-finite price is the host's to reject, not the reader's): u32::MAX and \
             u64::MAX integers, an exact price of i64::MIN at scale 255, the smallest \
             subnormal and the largest f64, confidence 0 and 1, an empty key, emoji, CJK, \
             a NUL inside a value, a 300-byte value.",
            extremes,
        ),
        SignalCase::broken(
            "truncated",
            "count says 4, the buffer holds 3 signals.",
            "truncated",
            |c| c.count = 4,
        ),
        SignalCase::broken(
            "truncated_metadata",
            "The buffer ends inside signal 0's metadata.",
            "truncated",
            |c| c.data.truncate(SIGNAL_SIZE + 10),
        ),
        SignalCase::broken(
            "trailing_bytes",
            "count says 2, the buffer holds 3 signals.",
            "trailing_bytes",
            |c| c.count = 2,
        ),
        SignalCase::broken("bad_side", "Signal 0's side byte is 2.", "bad_side", |c| {
            c.data[sig_off::SIDE] = 2
        }),
        SignalCase::broken(
            "bad_price_kind",
            "Signal 0's price-kind byte is 3.",
            "bad_price_kind",
            |c| c.data[sig_off::PRICE_KIND] = 3,
        ),
        SignalCase::broken(
            "bad_has_confidence",
            "Signal 0's has-confidence byte is 2.",
            "bad_has_confidence",
            |c| c.data[sig_off::HAS_CONFIDENCE] = 2,
        ),
        SignalCase::broken(
            "metadata_not_utf8",
            "The first byte of signal 0's first key is 0xff.",
            "metadata_not_utf8",
            |c| c.data[SIGNAL_SIZE + 4] = 0xff,
        ),
        SignalCase::broken(
            "metadata_length",
            "Signal 0 announces 1 metadata pair; its metadata bytes hold 2.",
            "metadata_length",
            |c| {
                c.data[sig_off::META_PAIRS..sig_off::META_PAIRS + 4]
                    .copy_from_slice(&1u32.to_le_bytes())
            },
        ),
    ]
}

// ------------------------------------------------------------------------ files

fn json_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON");
    s.push('\n');
    s
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (ALPHA_PANDA_BLESS=1 writes it)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_bin(path: &Path) -> Vec<u8> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (ALPHA_PANDA_BLESS=1 writes it)", path.display()))
}

/// The case's two files: written when blessing, else compared with the committed ones.
fn check_files(dir: &Path, name: &str, data: &[u8], meaning: &Value) {
    let (bin, json) = (
        dir.join(format!("{name}.bin")),
        dir.join(format!("{name}.json")),
    );
    if bless() {
        std::fs::create_dir_all(dir).expect("create the vectors folder");
        std::fs::write(&bin, data).expect("write .bin");
        std::fs::write(&json, json_text(meaning)).expect("write .json");
        return;
    }
    assert!(
        read_bin(&bin) == data,
        "{}: not what the encoder writes for case {name} (ALPHA_PANDA_BLESS=1 rewrites it)",
        bin.display()
    );
    assert_eq!(
        &read_json(&json),
        meaning,
        "{}: not the meaning of case {name}",
        json.display()
    );
}

/// The names of the vectors in `dir` (each `.bin` with its `.json`).
fn names_in(dir: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        names.insert(stem.to_owned());
    }
    names
}

fn without_description(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("description");
        o.remove("canonical");
    }
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("symbols is a list")
        .iter()
        .map(|s| s.as_str().expect("a symbol is a string").to_owned())
        .collect()
}

#[test]
fn tick_vectors() {
    let dir = root().join("ticks");
    let cases = tick_cases();
    for c in &cases {
        // The reader agrees with the case's definition.
        let decoded = decode(c.count, &c.data, &c.symbols);
        let meaning = c.json();
        assert_eq!(
            decoded_json(c.count, &c.symbols, &decoded),
            without_description(&meaning),
            "case {}: the reader disagrees with the definition",
            c.name
        );
        check_files(&dir, c.name, &c.data, &meaning);
    }
    if bless() {
        return;
    }
    let names: BTreeSet<String> = cases.iter().map(|c| c.name.to_owned()).collect();
    assert_eq!(
        names_in(&dir),
        names,
        "vectors/ticks holds exactly the cases"
    );
    // From the committed files alone, as another SDK would check itself.
    for name in &names {
        let meaning = read_json(&dir.join(format!("{name}.json")));
        let data = read_bin(&dir.join(format!("{name}.bin")));
        let count = u32::try_from(meaning["count"].as_u64().expect("count")).expect("u32 count");
        let symbols = strings(&meaning["symbols"]);
        let decoded = decode(count, &data, &symbols);
        assert_eq!(
            decoded_json(count, &symbols, &decoded),
            without_description(&meaning),
            "{name}"
        );
        if meaning["canonical"] == json!(true) {
            let ticks: Vec<OwnedTick> = meaning["ticks"]
                .as_array()
                .expect("ticks")
                .iter()
                .map(tick_from_json)
                .collect();
            let b = encode(&ticks);
            assert_eq!((b.count, &b.symbols), (count, &symbols), "{name}");
            assert!(b.data == data, "{name}: the encoder writes other bytes");
        }
    }
}

#[test]
fn signal_vectors() {
    let dir = root().join("signals");
    let cases = signal_cases();
    for c in &cases {
        let meaning = c.json();
        assert_eq!(
            signals_decoded_json(c.count, &c.data),
            without_description(&meaning),
            "case {}: the reader disagrees with the definition",
            c.name
        );
        check_files(&dir, c.name, &c.data, &meaning);
    }
    if bless() {
        return;
    }
    let names: BTreeSet<String> = cases.iter().map(|c| c.name.to_owned()).collect();
    assert_eq!(
        names_in(&dir),
        names,
        "vectors/signals holds exactly the cases"
    );
    for name in &names {
        let meaning = read_json(&dir.join(format!("{name}.json")));
        let data = read_bin(&dir.join(format!("{name}.bin")));
        let count = u32::try_from(meaning["count"].as_u64().expect("count")).expect("u32 count");
        assert_eq!(
            signals_decoded_json(count, &data),
            without_description(&meaning),
            "{name}"
        );
        if let Some(signals) = meaning["signals"].as_array() {
            let mut out = Vec::new();
            for s in signals {
                write_signal(&mut out, &signal_from_json(s));
            }
            assert!(out == data, "{name}: the encoder writes other bytes");
        }
    }
}

/// `vectors/README.md`: what each file is, from the case definitions.
fn readme() -> String {
    let mut s = String::from(README_HEAD);
    s.push_str("\n## Ticks (`ticks/`)\n\n| name | what it is |\n|---|---|\n");
    for c in tick_cases() {
        let _ = writeln!(s, "| `{}` | {} |", c.name, c.about);
    }
    s.push_str("\n## Signals (`signals/`)\n\n| name | what it is |\n|---|---|\n");
    for c in signal_cases() {
        let _ = writeln!(s, "| `{}` | {} |", c.name, c.about);
    }
    s
}

#[test]
fn readme_lists_every_vector() {
    let path = root().join("README.md");
    if bless() {
        std::fs::create_dir_all(root()).expect("create the vectors folder");
        std::fs::write(&path, readme()).expect("write README.md");
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        text == readme(),
        "{} is not what the case definitions give (ALPHA_PANDA_BLESS=1 rewrites it)",
        path.display()
    );
}

const README_HEAD: &str = r#"# Golden vectors of the plugin ABI

The bytes that cross between the alpha-panda host and a strategy plugin, with the JSON of
what they mean. Every SDK, in any language, must decode each `.bin` to its `.json` and,
for a canonical one, encode the `.json` back to exactly the `.bin`. The layout is defined
once, in the `alpha-panda-abi` crate (`abi/src/layout.rs`), and documented in
`wit/strategy.wit`.

These files are written by tests; do not edit them by hand. To regenerate after a
deliberate change of a case (or of the ABI, which also bumps the WIT package version):

```sh
ALPHA_PANDA_BLESS=1 cargo test -p alpha-panda-abi --test vectors    # ticks/, signals/, this README
ALPHA_PANDA_BLESS=1 cargo test -p alpha-panda-sdk --test indicator_vectors   # indicators.json
```

Without `ALPHA_PANDA_BLESS=1` the same tests check that the committed files are exactly
what the Rust encoders and indicators produce, and the host's tests check that its
`BatchBuilder` writes the same bytes for the same ticks.

## Formats

**`ticks/NAME.bin`** is the `data` of a WIT `tick-batch`; **`ticks/NAME.json`** holds the
rest of the batch and its meaning:

- `count`, `symbols`: the batch's other two fields;
- `ticks`: one object per tick record, with every field of the feed: `instrument_token`,
  `timestamp_us`, `last_price`, `volume_traded`, `last_traded_quantity`,
  `average_traded_price`, `total_buy_quantity`, `total_sell_quantity`, `change`,
  `ohlc` (`{open, high, low, close}`), `oi`, `oi_day_high`, `oi_day_low`,
  `last_trade_time_us`, `exchange_timestamp_us`, `symbol` (the text),
  `depth` (`{buy: [{price, quantity, orders}], sell: [...]}`), `mode` (`"ltp"`,
  `"quote"`, `"full"`), `tradable`. An absent field is `null`. Decimals are strings
  that keep their scale: `"2501.50"` is mantissa 250150, scale 2 (never a JSON number).
  Times are microseconds since the Unix epoch. Integers reach u64::MAX and i64::MIN:
  parse them exactly (in JavaScript, not as `Number`). A tick that must fail to decode is
  `{"error": KIND}` (`reserved_presence_bit`, `symbol_out_of_range`,
  `depth_span_out_of_range`, `bad_mode`, `bad_tradable`); the others still decode;
- or, instead of `ticks`, `error`: the batch as a whole fails (`short_data`,
  `bad_level_region`);
- `canonical`: whether the bytes are exactly what an encoder writes for this meaning
  (symbols stored once in order of first use; each tick's buy levels, then its sell
  levels, appended in tick order; absent fields and padding zero);
- `description`: what the case is about.

**`signals/NAME.bin`** is the `signals` buffer of a WIT `batch-output`;
**`signals/NAME.json`** holds `count` (its `signal-count`) and either `signals` or
`error` (`truncated`, `trailing_bytes`, `bad_side`, `bad_price_kind`,
`bad_has_confidence`, `metadata_not_utf8`, `metadata_length`). Each signal:
`tick_index`, `instrument_token`, `side` (`"buy"`/`"sell"`), `quantity`, `price`
(`null`, `{"exact": "2501.55"}` or `{"approx": 2501.5}`, the f64 as JSON writes it),
`confidence` (a number or `null`), `metadata` (a list of `[key, value]` pairs, in order).
Every valid signal file is canonical.

**`indicators.json`**: for each indicator of the Rust SDK (`sdk/src/indicators`), parameter
sets and input series with the outputs per step (`null` while not warmed up), for the
other-language SDKs to match (relative difference <= 1e-12). Its own `description` says
how each output is spelled.
"#;
