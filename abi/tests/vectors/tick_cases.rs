//! The tick vectors, defined: valid batches built from ticks, and malformed ones made
//! by damaging a valid encoding, each with the meaning its JSON states.

use alpha_panda_abi::layout::{off, TICK_SIZE};
use alpha_panda_abi::tick::{DepthLevel, Ohlc, TickFields, TickMode};
use alpha_panda_abi::Decimal;
use serde_json::{json, Value};

use crate::common::{encode, OwnedTick};
use crate::meaning::tick_json;

pub fn d(s: &str) -> Decimal {
    s.parse().expect("a decimal literal")
}

fn lv(price: Decimal, quantity: u64, orders: u32) -> DepthLevel {
    DepthLevel {
        price,
        quantity,
        orders,
    }
}

/// What a tick vector must decode to.
pub enum Expect {
    /// Per tick: its meaning, or the kind of its record error.
    Ticks(Vec<Result<OwnedTick, &'static str>>),
    /// The kind of the batch error.
    Batch(&'static str),
}

pub struct TickCase {
    pub name: &'static str,
    pub about: &'static str,
    pub count: u32,
    pub data: Vec<u8>,
    pub symbols: Vec<String>,
    pub expect: Expect,
    /// The bytes are exactly what an encoder writes for the meaning.
    pub canonical: bool,
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

    pub fn json(&self) -> Value {
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

pub fn tick_cases() -> Vec<TickCase> {
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
